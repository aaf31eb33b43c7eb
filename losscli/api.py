"""The Python API for notebooks and scripts: :func:`evaluate` gives the numbers the CLI prints,
through the same validation and the same per-block step, for arrays already in memory.

    >>> import numpy as np, losscli
    >>> r = losscli.evaluate("mse", np.array([1.0, 2.0]), np.array([0.0, 1.0]))
    >>> r.value, r.per_sample.tolist(), r.worst[0]
    (1.0, [1.0, 1.0], (0, 1.0))
"""

from __future__ import annotations

import numbers
import warnings as _warnings
from dataclasses import dataclass

import numpy as np

from .arrays import Array
from .catalogue import get_loss
from .engine.block import Warnings, block_gradient, evaluate_block, finish
from .errors import InputError, in_python_words, python_words
from .frames import as_inputs, params_by_index
from .loss import Loss
from .stats.accumulator import Accumulator, Evaluation
from .validation import validate_weights
from .vocabulary import DEFAULT_TOP, NAN_POLICIES, REDUCTIONS, ROW_SUM_TOL


@dataclass(frozen=True)
class Result:
    """One loss evaluated on in-memory inputs: the same numbers as ``losscli compute --format json``.

    ``value``: the reduced loss (None for ``reduction="none"``); ``per_sample``: every kept
    sample's loss (N,); ``rows``: the input row of each (rows with NaN are dropped by
    ``nan_policy="omit"``); ``stats``: mean, std, min, p50, p90, p99, max of the per-sample
    losses; ``worst``: [(row, loss)], largest first; ``gradients``: role -> gradient of
    ``value`` w.r.t. that input (of the sum for ``reduction="none"``; NaN in omitted rows)."""

    loss: str
    params: dict
    reduction: str
    value: float | None
    count: int
    omitted: int
    per_sample: np.ndarray
    rows: np.ndarray
    stats: dict
    worst: list
    gradients: dict

    def to_dict(self) -> dict:
        """The result as the CLI's JSON record (``losscli compute --format json --per-sample``)."""
        from .commands.compute import result_record

        ev = Evaluation(get_loss(self.loss), self.params, self.reduction, self.value, self.count,
                        self.omitted, self.stats, self.worst, {}, self.per_sample, self.rows)
        from .render.values import json_safe

        return json_safe(result_record(ev, len(self.worst)))


def evaluate(loss: str | Loss, *inputs, reduction: str = "mean", weights=None, top: int = DEFAULT_TOP,
             nan_policy: str = "raise", gradients: bool = True, prob_tol: float = ROW_SUM_TOL, **params) -> Result:
    """Evaluate ``loss`` (a name, an alias or a :class:`Loss`) on ``inputs`` given in the loss's
    role order (``losscli info NAME`` lists them): numpy arrays, lists, pandas Series or
    DataFrames, pyarrow arrays or tables. Hyper-parameters are keywords (``delta=2.0``).

    Inputs are lined up as the CLI lines up files: pandas objects (weights too) by their index
    (the same labels in another order are reordered to the first's; other labels are refused);
    an id column beside values is refused; tables with the same column names in another order
    are read in the first's order; labels beside predictions whose columns name classes (text, or
    integers other than 0..K-1 as ``predict_proba`` frames have) are read as those names. A masked
    array's masked entries are missing values. A parameter given as a pandas Series
    (``class_weights``) is read by its index. ``rows`` and ``worst`` give places in that order.

    Runs the validation the CLI runs (shapes, domains, non-finite values per ``nan_policy``,
    probability rows summing to 1 within ``prob_tol``) and raises :class:`losscli.InputError` (a
    ``ValueError``) with the same message text, its remedies in keywords. ``gradients=False``
    skips the gradient (losses without one need it off)."""
    with in_python_words():
        return _evaluate(loss, inputs, reduction, weights, top, nan_policy, gradients, prob_tol, params)


def _evaluate(loss: str | Loss, inputs: tuple, reduction: str, weights, top: int, nan_policy: str, gradients: bool,
              prob_tol: float, params: dict) -> Result:
    loss = loss if isinstance(loss, Loss) else get_loss(loss)
    if reduction not in REDUCTIONS:
        raise InputError(f"reduction: expected one of {', '.join(REDUCTIONS)}, got {reduction!r}")
    if nan_policy not in NAN_POLICIES:
        raise InputError(f"nan_policy: expected one of {', '.join(NAN_POLICIES)}, got {nan_policy!r}")
    if not (isinstance(top, numbers.Integral) and not isinstance(top, bool) and top >= 0):
        raise InputError(f"top: expected a count >= 0, got {top!r}")
    if not isinstance(gradients, bool):
        raise InputError(f"gradients: expected True or False, got {gradients!r}")
    if isinstance(prob_tol, bool) or not isinstance(prob_tol, (int, float, np.floating)) or not 0 <= prob_tol <= 1:
        raise InputError(f"prob_tol: expected a number in [0, 1], got {prob_tol!r}")
    params = loss.resolve_params(params_by_index(params, list(inputs)))
    arrays: list[Array] = as_inputs(loss, inputs, weights)
    weights_array = arrays.pop() if weights is not None else None
    bound, checked, rows, values, normaliser, computed = evaluate_block(loss, arrays, 0, params, nan_policy, set(),
                                                                        float(prob_tol), with_gradient=gradients)
    found = Warnings()
    found.add(loss, checked)
    for message in found.messages():
        _warnings.warn(python_words(message), UserWarning, stacklevel=3)
    w = None
    if weights_array is not None:
        w = validate_weights(weights_array, checked.n_rows, checked.kept)
    acc = Accumulator(loss, params, reduction, top, keep_per_sample=True)
    shown = {role: (a.data if checked.kept is None else a.data[checked.kept]) for role, a in bound.items()}
    acc.add(values, rows, w, normaliser, inputs=shown)
    if gradients:
        g = block_gradient(loss, checked.arrays, params, None if reduction == "none" else w, rows,
                           nan_policy != "propagate", computed)
        if checked.kept is not None:
            g = {k: checked.rows_given(v) for k, v in g.items()}
        acc.add_gradient(g)
    ev = finish(acc, checked.omitted, "weights" if weights is not None else None)
    assert ev.per_sample is not None and ev.rows is not None  # keep_per_sample=True
    return Result(loss.name, ev.params, reduction, ev.value, ev.count, ev.omitted, ev.per_sample, ev.rows,
                  ev.stats, ev.worst, ev.gradients or {})
