"""What a value outside its input's domain is told beside the refusal: the logit form of the loss,
clipping for probabilities off [0, 1] by rounding, ``--classes`` for labels of two other values,
the selector that leaves out a fold or count column. ``domains.py`` refuses; this says how to go on."""

from __future__ import annotations

import numpy as np

#: how far outside [0, 1] probabilities are said to be rounding rather than logits
NEAR_UNIT = 1e-6


#: the loss that takes logits where a loss takes probabilities as its predictions, for the hint
#: when it is given values outside [0, 1]
LOGIT_FORMS = {"ce": "softmax_ce (logits, one row per sample)", "bce": "bce_logits (logits)",
               "log_loss": "bce_logits (binary logits) or softmax_ce (logits, one row per sample)",
               "binary_focal": "binary_focal with -p from_logits=true"}


def whole_column_hint(data: np.ndarray, r: int, columns, label: str, prob_tol: float) -> str:
    """A row whose other columns sum to 1 beside a column of a whole number (a fold, a count: a
    file sorted by it holds 0 in its first rows, read as a class's score of 0 there): that column
    named, with the selector that leaves it out (``columns``: the file's, ``label`` its name)."""
    if data.ndim != 2 or not columns or len(columns) != data.shape[1]:
        return ""
    row = data[r]
    for j in range(row.size):
        rest = np.delete(row, j)
        if row[j] >= 1 and row[j] == np.floor(row[j]) and abs(float(np.sum(rest)) - 1.0) <= prob_tol + 1e-12:
            others = ",".join(c for k, c in enumerate(columns) if k != j)
            return (f"; column {columns[j]!r} holds {row[j]:g} there and the other columns sum to 1: a fold or count "
                    f"column (0 in the rows before)? name the score columns ({label}:{others})")
    return ""


def logits_hint(data: np.ndarray, loss: str, role: str) -> str:
    """When predictions given to a loss that has a logit form hold values outside [0, 1]."""
    form = LOGIT_FORMS.get(loss) if role == "predictions" else None
    finite = data[np.isfinite(data)]
    outside = finite[(finite < 0) | (finite > 1)]
    if not outside.size:
        return ""
    beyond = float(np.max(np.maximum(-outside, outside - 1.0)))
    if beyond <= NEAR_UNIT:  # rounding, not logits (1 + 1e-12 from a sum or a float32 sigmoid)
        return (f"; the values outside [0, 1] lie within {beyond:.2g} of it: rounding? clip them to [0, 1] "
                "(np.clip(p, 0, 1))")
    return "" if form is None else f"; these look like logits: {form} takes them"


def two_labels_hint(data: np.ndarray) -> str:
    """When 0/1 labels are written as two other integers ({-1, 1}, {1, 2}): how --classes reads them."""
    finite = data[np.isfinite(data)]
    values = np.unique(finite) if finite.size and (finite == np.round(finite)).all() else np.empty(0)
    if values.size != 2 or set(values.tolist()) <= {0.0, 1.0}:
        return ""
    a, b = (int(v) for v in values)
    return f"; labels of two other values ({a}, {b}): --classes {a},{b} reads {a} as 0 and {b} as 1"
