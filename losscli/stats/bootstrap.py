"""Bootstrap confidence intervals of a reduced value (``compare``'s change, ``compute --ci``)."""

from __future__ import annotations

import math

import numpy as np

#: rows drawn at once when bootstrapping (bounds the index matrix to ~64 MB)
BOOTSTRAP_CELLS = 8_000_000


def bootstrap_interval(num: np.ndarray, shares: np.ndarray, reduction: str, n_boot: int,
                       confidence: float, seed: int, *, root: bool = False,
                       base: np.ndarray | None = None) -> tuple[float, float]:
    """Percentile interval, over rows resampled with replacement, of the reported value
    T(a) = Σ a_i / Σ s_i (mean) or Σ a_i (sum), its square root for a loss that reports one
    (``root``: rmse), a_i = w_i l_i; with ``base``, of the change T(a) - T(base) (``compare``:
    a = w·l_cand, base = w·l_base, resampled together; where T is linear, pass a - base alone).
    Rows of no share in the mean (s_i = 0: weight 0, an ignored label) are no samples: not resampled."""
    counts = shares != 0
    if not counts.all():
        num, shares, base = num[counts], shares[counts], None if base is None else base[counts]
    n = num.shape[0]
    if n_boot <= 0 or n == 0:
        return math.nan, math.nan
    # values whose sums would pass float64's range are resampled divided by a power of two (exact)
    big = max(_largest(num), 0.0 if base is None else _largest(base))
    scale = math.ldexp(1.0, math.frexp(big)[1]) if big * n > 1e300 else 1.0
    if scale != 1.0:
        num = num / scale
        base = None if base is None else base / scale
    rng = np.random.default_rng(seed)
    stats = np.empty(n_boot)
    per = max(1, BOOTSTRAP_CELLS // n)
    for start in range(0, n_boot, per):
        b = min(per, n_boot - start)
        idx = rng.integers(0, n, size=(b, n))
        with np.errstate(invalid="ignore", divide="ignore"):  # (a slice whose weights are all 0: NaN)
            den = None if reduction == "sum" else shares[idx].sum(axis=1)
            stats[start:start + b] = _reported(num[idx].sum(axis=1), den, root)
            if base is not None:
                stats[start:start + b] -= _reported(base[idx].sum(axis=1), den, root)
    alpha = (1.0 - confidence) / 2.0
    if np.isnan(stats).any():  # (NaN resamples: the interval is NaN, as numpy's)
        lo, hi = math.nan, math.nan
    else:  # numpy's quantiles of finite values; beside an infinite loss, order statistics (inf, not inf·0)
        from .quantiles import exact_quantiles

        lo, hi = exact_quantiles(stats, [alpha, 1.0 - alpha])
    if scale != 1.0:  # (a reported value: as it is, or its square root for rmse)
        lo, hi = (lo * math.sqrt(scale), hi * math.sqrt(scale)) if root else (lo * scale, hi * scale)
    return float(lo), float(hi)


def _largest(values: np.ndarray) -> float:
    finite = np.abs(values[np.isfinite(values)])
    return float(finite.max()) if finite.size else 0.0


def _reported(total: np.ndarray, den: np.ndarray | None, root: bool) -> np.ndarray:
    value = total if den is None else total / den
    return np.sqrt(value) if root else value
