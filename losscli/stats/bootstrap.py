"""Bootstrap confidence intervals of a reduced value (``compare``'s change, ``compute --ci``)."""

from __future__ import annotations

import math

import numpy as np

#: rows drawn at once when bootstrapping (bounds the index matrix to ~64 MB)
BOOTSTRAP_CELLS = 8_000_000


def bootstrap_interval(diff_num: np.ndarray, shares: np.ndarray, reduction: str, n_boot: int,
                       confidence: float, seed: int) -> tuple[float, float]:
    """Percentile interval of Σ a_i / Σ s_i (mean) or Σ a_i (sum) over rows resampled with
    replacement, a_i = w_i (l_cand - l_base)."""
    n = diff_num.shape[0]
    if n_boot <= 0 or n == 0:
        return math.nan, math.nan
    rng = np.random.default_rng(seed)
    stats = np.empty(n_boot)
    per = max(1, BOOTSTRAP_CELLS // n)
    for start in range(0, n_boot, per):
        b = min(per, n_boot - start)
        idx = rng.integers(0, n, size=(b, n))
        num = diff_num[idx].sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):  # (a slice whose weights are all 0: NaN)
            stats[start:start + b] = num if reduction == "sum" else num / shares[idx].sum(axis=1)
    alpha = (1.0 - confidence) / 2.0
    lo, hi = np.quantile(stats, [alpha, 1.0 - alpha])
    return float(lo), float(hi)
