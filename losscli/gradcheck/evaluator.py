"""The loss as the checker calls it: per-sample losses with one role's array replaced, every call
counted; and the same loss on a slice of its rows, for the measurements that need no full batch
(the coupling, the precision, the Taylor test of a row-local role: see ``check.py``)."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from ..loss import Loss
from ..shapes import alternatives_of
from .draws import Draws

#: a role checked row by row on more rows than this has its coupling, precision and Taylor test
#: measured on a random slice of this many rows (its elements are all checked on every row).
#: A loss coupling rows in pairs still shows it: a random slice of 16,384 of 10^6 rows holds
#: ~134 pairs, and the coupling test splits half of them.
SLICE_ROWS = 1 << 14
_COMPLEX_WARNING = getattr(np, "exceptions", np).ComplexWarning  # (numpy.exceptions from numpy 1.25)


class Evaluator:
    """Wraps the per-sample function and counts evaluations (``count``: the calls of the loss,
    a slice's included; ``calls``: this evaluator's own)."""

    def __init__(self, loss: Loss, arrays: dict, params: dict, tally: list | None = None):
        self.loss, self.arrays, self.params = loss, arrays, params
        self._tally = [0] if tally is None else tally
        self.calls = 0
        self.order = [r.name for r in loss.inputs if r.name in arrays]

    @property
    def count(self) -> int:
        return self._tally[0]

    @count.setter
    def count(self, value: int) -> None:
        self._tally[0] = value

    def __call__(self, role: str | None = None, value=None) -> np.ndarray:
        self.count += 1
        self.calls += 1
        args = [value if name == role else self.arrays[name] for name in self.order]
        with np.errstate(all="ignore"), warnings.catch_warnings():
            # complex step: code that stores into a real array drops the imaginary part with a
            # ComplexWarning; the estimate then disagrees with Richardson, which decides (a note says so)
            warnings.simplefilter("ignore", _COMPLEX_WARNING)
            out = np.asarray(self.loss.fn(*args, **self.params))
        if value is not None and np.may_share_memory(out, value):  # a view of the buffer we perturb
            out = out.copy()
        return out

    def on_rows(self, rows: np.ndarray) -> Evaluator | None:
        """The same loss on the samples ``rows`` only (every input sliced alike), or None when an
        input does not hold one row per sample (it cannot be sliced)."""
        n = np.shape(self.arrays[self.order[0]])[0] if np.ndim(self.arrays[self.order[0]]) else None
        declared = {r.name: r.shape for r in self.loss.inputs}
        if n is None or not all(_one_row_per_sample(declared, name) and np.ndim(a) and np.shape(a)[0] == n
                                for name, a in self.arrays.items()):
            return None
        return Evaluator(self.loss, {k: np.asarray(v)[rows] for k, v in self.arrays.items()}, self.params, self._tally)


def _one_row_per_sample(declared: dict, name: str, seen: frozenset = frozenset()) -> bool:
    """Whether every alternative of the role's declared shape starts with N (``=role``: that role's)."""
    if name not in declared or name in seen:
        return False
    for alt in alternatives_of(declared[name]):
        if len(alt) == 1 and alt[0].startswith("="):
            if not _one_row_per_sample(declared, alt[0][1:], seen | {name}):
                return False
        elif alt[0] != "N":
            return False
    return True


@dataclass
class RowSlice:
    """A random slice of a loss's rows: the evaluator on it, its per-sample losses, and its own
    analytic gradient (computed on the slice, so a loss whose values depend on the batch size
    stays consistent with it)."""

    ev: Evaluator
    rows: np.ndarray
    #: the rows of the whole batch
    total: int
    base: np.ndarray
    grads: dict

    def gradient(self, role: str, shape: tuple) -> np.ndarray | None:
        """The analytic gradient of ``role`` on the slice; None when it has not ``shape``."""
        g = self.grads.get(role)
        return None if g is None or np.shape(g) != shape else np.asarray(g, dtype=np.float64)


def row_slice(ev: Evaluator, n: int, rng: Draws) -> RowSlice | None:
    """SLICE_ROWS of the ``n`` rows drawn at random (sorted), the loss and its gradient evaluated
    on them; None when there are not more rows than that, or the slice cannot stand in for the
    batch (an input not one row per sample; the loss or its gradient failing on the slice, or
    the loss not finite there)."""
    if n <= SLICE_ROWS:
        return None
    rows = rng.subset(n, SLICE_ROWS)
    sub = ev.on_rows(rows)
    if sub is None:
        return None
    try:
        grads = dict(sub.loss.gradient_of(sub.arrays, sub.params))
        base = np.asarray(sub(), dtype=np.float64)
    except Exception:  # code written for the batch it was given (indices beyond the slice)
        return None
    if base.shape[:1] != (rows.size,) or not np.all(np.isfinite(base)):
        return None
    return RowSlice(sub, rows, n, base, grads)
