"""The reported value of a loss: mean (Σ w_i l_i / Σ w_i n_i), sum (Σ w_i l_i) or none.

w are the user's sample weights (default 1), n the loss's own normaliser (default 1; PyTorch's
class-weighted cross-entropy divides by Σ w[y_i])."""

from __future__ import annotations

import math

import numpy as np

from ..vocabulary import REDUCTIONS
from .snapshot import Snapshot


class Reduction(Snapshot):
    """Σ w·l and Σ w·n per block. Weights beyond 1e150 (whose products would overflow) are scaled
    by a power of two per block, recorded in ``scales``: the mean, a ratio, stays exact."""

    _STATE = ("num", "den", "scales")

    def __init__(self, reduction: str = "mean"):
        if reduction not in REDUCTIONS:
            raise ValueError(f"reduction must be one of {', '.join(REDUCTIONS)}, got {reduction!r}")
        self.reduction = reduction
        self.num: list[float] = []  # Σ w·l per block, divided by its scale
        self.den: list[float] = []  # Σ w·n per block, divided by its scale
        self.scales: list[float] = []  # 1, or a power of two for blocks of huge weights

    def add(self, x: np.ndarray, plain_sum: float, weights: np.ndarray | None = None,
            normaliser: np.ndarray | None = None) -> None:
        n = x.shape[0]
        scale = 1.0
        if weights is not None:
            big = float(np.max(weights)) if n else 0.0
            if big > 1e150 and math.isfinite(big):
                scale = math.ldexp(1.0, math.frexp(big)[1] - 1)  # a power of two <= big
                weights = weights / scale
        self.scales.append(scale)
        self.num.append(plain_sum if weights is None else float(np.sum(weights * x)))
        if weights is None and normaliser is None:
            self.den.append(float(n))
        else:
            self.den.append(float(np.sum((np.ones(n) if weights is None else weights) *
                                         (1.0 if normaliser is None else normaliser))))

    def merge(self, other: "Reduction") -> None:
        self.num += other.num
        self.den += other.den
        self.scales += other.scales

    def _sums(self) -> tuple[float, float, float]:
        """(Σ w·l, Σ w·n) both divided by the largest scale, and that scale (powers of two:
        the rescaling is exact)."""
        top = max(self.scales, default=1.0)
        if top == 1.0:
            return math.fsum(self.num), math.fsum(self.den), 1.0
        return (math.fsum(v * (s / top) for v, s in zip(self.num, self.scales)),
                math.fsum(v * (s / top) for v, s in zip(self.den, self.scales)), top)

    @property
    def denominator(self) -> float:
        _, den, top = self._sums()
        return den * top

    def value(self) -> float | None:
        if self.reduction == "none" or not self.num:
            return None
        num, den, top = self._sums()
        return num * top if self.reduction == "sum" else num / den

    def gradient_scale(self) -> float:
        """Blocks hold the gradient of Σ w·l; the reported mean divides by Σ w·n."""
        return 1.0 / self.denominator if self.reduction == "mean" else 1.0




def reduce(per_sample: np.ndarray, reduction: str, weights: np.ndarray | None = None,
           normaliser: np.ndarray | None = None) -> float | None:
    """One-shot reduction of in-memory per-sample losses."""
    r = Reduction(reduction)
    if per_sample.shape[0]:
        r.add(per_sample, float(np.sum(per_sample)), weights, normaliser)
    return r.value()
