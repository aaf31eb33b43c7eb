"""The reported value of a loss: mean (Σ w_i l_i / Σ w_i n_i), sum (Σ w_i l_i) or none; the
square root of that for a loss declared with ``root=True`` (rmse: per-sample values are squared
errors, the reported value the root of their mean).

w are the user's sample weights (default 1), n the loss's own normaliser (default 1; PyTorch's
class-weighted cross-entropy divides by Σ w[y_i])."""

from __future__ import annotations

import math

import numpy as np

from ..vocabulary import REDUCTIONS
from .snapshot import Snapshot
from .sums import Part, block_sum, ratio, total, value


class Reduction(Snapshot):
    """Σ w·l and Σ w·n per block, as sums that do not overflow (``sums.py``): the mean, their
    ratio, is exact for any weights and losses; a sum beyond float64 is ±inf."""

    _STATE = ("num", "den")

    def __init__(self, reduction: str = "mean", root: bool = False):
        if reduction not in REDUCTIONS:
            raise ValueError(f"reduction must be one of {', '.join(REDUCTIONS)}, got {reduction!r}")
        self.reduction, self.root = reduction, root
        self.num: list[Part] = []  # Σ w·l per block
        self.den: list[Part] = []  # Σ w·n per block

    def add(self, x: np.ndarray, plain_sum: Part, weights: np.ndarray | None = None,
            normaliser: np.ndarray | None = None) -> None:
        """One block; ``plain_sum`` is Σ l (Moments computed it)."""
        n = x.shape[0]
        self.num.append(plain_sum if weights is None else block_sum(x, weights))
        if normaliser is None:
            self.den.append((float(n), 0) if weights is None else block_sum(weights))
        else:
            self.den.append(block_sum(normaliser, weights))

    def merge(self, other: "Reduction") -> None:
        self.num += other.num
        self.den += other.den

    @property
    def denominator(self) -> float:
        return value(total(self.den))

    def value(self) -> float | None:
        if self.reduction == "none" or not self.num:
            return None
        num = total(self.num)
        reduced = value(num) if self.reduction == "sum" else ratio(num, total(self.den))
        return rooted(reduced) if self.root else reduced

    def gradient_scale(self) -> float:
        """Blocks hold the gradient of Σ w·l; the reported mean divides by Σ w·n; a root
        multiplies by d√v/dv = 1/(2√v) (0 where v = 0: every residual is 0, and so is the
        subgradient losscli reports)."""
        scale = ratio((1.0, 0), total(self.den)) if self.reduction == "mean" else 1.0
        if self.root and self.reduction != "none":  # (none: per-sample values, the gradient of their sum)
            reported = self.value()
            scale = scale / (2.0 * reported) if reported else 0.0
        return scale


def rooted(v: float) -> float:
    """The square root of a reduced value (NaN stays NaN; a negative cannot occur for sums of
    squares)."""
    return math.sqrt(v) if v >= 0 else math.nan


def reduce(per_sample: np.ndarray, reduction: str, weights: np.ndarray | None = None,
           normaliser: np.ndarray | None = None, root: bool = False) -> float | None:
    """One-shot reduction of in-memory per-sample losses."""
    r = Reduction(reduction, root)
    if per_sample.shape[0]:
        r.add(per_sample, block_sum(per_sample), weights, normaliser)
    return r.value()
