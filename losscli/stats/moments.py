"""Count, mean, standard deviation, min and max of per-sample losses, streamed."""

from __future__ import annotations

import math

import numpy as np

from .snapshot import Snapshot
from .sums import Part, block_sum, ratio, total


class Moments(Snapshot):
    """Sums are combined with ``math.fsum`` over numpy's pairwise block sums, scaled where they
    would overflow (``sums.py``); the spread with
    Chan et al.'s parallel update of the mean and the sum of squared deviations (``spread``:
    off for outputs that print the loss only)."""

    _STATE = ("count", "sums", "mean", "m2", "scale", "lo", "hi", "nan")

    def __init__(self, spread: bool = True):
        self.spread = spread
        self.count = 0
        self.sums: list[Part] = []  # Σ l per block
        self.mean = 0.0
        self.m2 = 0.0  # Σ (x - mean)², divided by scale² (scale is 1 unless deviations pass 1e150)
        self.scale = 1.0
        self.lo = math.inf
        self.hi = -math.inf
        self.nan = False

    def add(self, x: np.ndarray) -> Part:
        """One block; returns its sum (the unweighted reduction reuses it)."""
        n = x.shape[0]
        part = block_sum(x)
        self.sums.append(part)
        if self.spread:
            block_mean = ratio(part, (n, 0))
            with np.errstate(invalid="ignore"):  # (an infinite loss: inf - inf; the spread is NaN, said as such)
                dev = np.subtract(x, block_mean)
            if self.scale != 1.0:
                dev /= self.scale
            with np.errstate(over="ignore", invalid="ignore"):
                block_m2 = float(np.sum(np.square(dev, out=dev)))  # not dev @ dev: BLAS threads would
                # compete with the parser threads for the cores
            if not math.isfinite(block_m2) and math.isfinite(block_mean):
                # the squares overflowed (deviations beyond ~1e154): keep M2 scaled by a power of two
                dev = np.subtract(x, block_mean)
                big = float(np.max(np.abs(dev)))
                if math.isfinite(big):  # (a deviation beyond float64 itself leaves the spread infinite)
                    self._rescale(math.ldexp(1.0, math.frexp(big)[1] - 1))  # a power of two <= big
                    dev /= self.scale
                    block_m2 = float(np.sum(np.square(dev, out=dev)))
            self._combine(n, block_mean, block_m2)
        self.count += n
        lo, hi = float(np.min(x)), float(np.max(x))
        if math.isnan(lo):  # min and max propagate NaN
            self.nan = True
        else:
            self.lo, self.hi = min(self.lo, lo), max(self.hi, hi)
        return part

    def _rescale(self, scale: float) -> None:
        if scale > self.scale:
            self.m2 *= (self.scale / scale) ** 2
            self.scale = scale

    def _combine(self, m: int, mean: float, m2: float) -> None:
        """Chan et al.'s update with a block of m values, its mean and its (scaled) M2."""
        n = self.count
        if n == 0:  # (the first block: δ² n m/(n + m) is inf · 0 where the mean is beyond ~1e154)
            self.m2, self.mean = m2, mean
            return
        delta = (mean - self.mean) / self.scale
        if not math.isfinite(delta * delta) and math.isfinite(delta):  # means ~1e154 apart: scale M2 further
            old = self.scale
            self._rescale(math.ldexp(1.0, math.frexp(abs(mean - self.mean))[1]))
            m2 *= (old / self.scale) ** 2  # (given at the old scale)
            delta = (mean - self.mean) / self.scale
        self.m2 += m2 + delta * delta * n * m / (n + m)
        self.mean += (mean - self.mean) * m / (n + m)

    def merge(self, other: "Moments") -> None:
        if other.count == 0:
            return
        scale = max(self.scale, other.scale)
        self._rescale(scale)
        self._combine(other.count, other.mean, other.m2 * (other.scale / scale) ** 2)
        self.count += other.count
        self.sums += other.sums
        self.lo, self.hi = min(self.lo, other.lo), max(self.hi, other.hi)
        self.nan = self.nan or other.nan

    def result(self) -> tuple[float, float, float, float]:
        """(mean, std, min, max); NaN when a value was NaN (std NaN when not asked for)."""
        nan = math.nan
        if self.count == 0 or self.nan:
            return nan, nan, nan, nan
        std = self.scale * math.sqrt(max(self.m2, 0.0) / self.count) if self.spread else nan
        return ratio(total(self.sums), (self.count, 0)), std, self.lo, self.hi


