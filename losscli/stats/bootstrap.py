"""Bootstrap confidence intervals of a reduced value (``compare``'s change, ``compute --ci``)."""

from __future__ import annotations

import math

import numpy as np

#: rows drawn at once when bootstrapping (bounds the index matrix to ~64 MB)
BOOTSTRAP_CELLS = 8_000_000


def too_few_resamples(n_boot: int, confidence: float) -> str | None:
    """Why ``n_boot`` resamples give no ``confidence`` interval, or None. Each tail, (1 - confidence)/2
    of the resamples, must hold one at least (40 for 95%): one resample made a "95% interval" of a
    point that excluded the change itself, and a --significant gate FAILed an improvement. 0 asks
    for no interval."""
    from decimal import Decimal

    from ..vocabulary import MAX_BOOTSTRAP

    tail = (1 - Decimal(repr(confidence))) / 2  # (as written: 0.99999999999 leaves 1e-11, not 1.0000000827e-11)
    need = math.ceil(1 / tail)
    if 0 < n_boot < need:
        resamples = f"{n_boot} resample" + (" gives" if n_boot == 1 else "s give")
        most = (f", more than --bootstrap allows ({MAX_BOOTSTRAP:,}): the most its resamples give is --confidence "
                f"{1 - 2 / MAX_BOOTSTRAP:.10g}" if need > MAX_BOOTSTRAP else " or more")
        percent = f"{Decimal(repr(confidence)) * 100:f}".rstrip("0").rstrip(".")
        return (f"{resamples} no {percent}% interval: each tail ({float(tail) * 100:.10g}% of them) "
                f"must hold one resample at least, so it needs {need:,}{most}")
    return None


def too_few_samples(n: int, confidence: float) -> str | None:
    """Why ``n`` paired samples whose loss got worse (a one-sided sign test's) cannot show a
    change at ``confidence``, or None: even when every one is worse, the chance of that under no
    change (2^-n) is above the (1 - confidence)/2 of a tail, so an interval excluding 0 says nothing
    (one sample made a "95% interval" [0.03, 0.03], and a --significant gate FAILed on it); 6
    samples at 95%, 8 at 99%."""
    tail = (1.0 - confidence) / 2.0
    need = max(1, math.ceil(round(math.log2(1.0 / tail), 9)))
    if n >= need:
        return None
    return (f"{n} sample{'s' if n != 1 else ''} whose loss got worse cannot show a change at {confidence * 100:g}%: "
            "even all worse, "
            f"their chance under no change is 2^-{n} = {2.0 ** -n:.3g}, above the {tail * 100:g}% of a tail; it "
            f"needs {need} samples or more")


def bootstrap_interval(weights: np.ndarray, losses: np.ndarray, shares: np.ndarray, reduction: str, n_boot: int,
                       confidence: float, seed: int, *, root: bool = False, size: bool = False,
                       base: np.ndarray | None = None) -> tuple[float, float]:
    """Percentile interval, over rows resampled with replacement, of the reported value
    T(l) = Σ w_i l_i / Σ s_i (mean) or Σ w_i l_i (sum), its square root for a loss that reports one
    (``root``: rmse), or its size |T| (``size``: a signed measure, mbe, whose either sign is bad);
    with ``base``, of the change T(l) - T(base) (``compare``: the candidate's and the baseline's
    losses, resampled together; where T is linear, pass l - base alone).
    Rows of no share in the mean (s_i = 0: weight 0, an ignored label) are no samples: not resampled.

    Weights and shares are each divided by a power of two that brings their largest to about 1,
    and losses by one that keeps n of them within range (exact: the products and sums round as
    unscaled ones would), so neither w·l nor the sums overflow where the value itself does not
    (weights of 1e306, or of 1e200 beside losses of 1e200), nor do subnormal weights lose digits;
    each resample's T is scaled back."""
    counts = shares != 0
    if not counts.all():
        weights, losses, shares = weights[counts], losses[counts], shares[counts]
        base = None if base is None else base[counts]
    n = losses.shape[0]
    if n_boot <= 0 or n == 0:
        return math.nan, math.nan
    e_w, e_s = _exponent(weights), _exponent(shares)
    # losses only as far down as n of them must go to sum within range: scaled to 1, losses 1e300
    # below the largest underflowed (an interval of [0, 1e199] for losses from 1e-200 to 1e100)
    top = _exponent(losses) if base is None else max(_exponent(losses), _exponent(base))
    e_l = max(0, top + n.bit_length() - 1000)
    with np.errstate(over="ignore", under="ignore"):
        num = np.ldexp(weights, -e_w) * np.ldexp(losses, -e_l)
        num_base = None if base is None else np.ldexp(weights, -e_w) * np.ldexp(base, -e_l)
        shares = np.ldexp(shares, -e_s)
    # T = T'·2^k, T' of the scaled values: Σ w'l' (sum) or Σ w'l' / Σ s' (mean)
    k = e_w + e_l - (0 if reduction == "sum" else e_s)
    rng = np.random.default_rng(seed)
    stats = np.empty(n_boot)
    per = max(1, BOOTSTRAP_CELLS // n)
    for start in range(0, n_boot, per):
        b = min(per, n_boot - start)
        idx = rng.integers(0, n, size=(b, n))
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):  # (a slice whose weights are all 0: NaN)
            den = None if reduction == "sum" else shares[idx].sum(axis=1)
            stats[start:start + b] = _reported(num[idx].sum(axis=1), den, k, root, size)
            if num_base is not None:
                stats[start:start + b] -= _reported(num_base[idx].sum(axis=1), den, k, root, size)
    alpha = (1.0 - confidence) / 2.0
    if np.isnan(stats).any():  # (NaN resamples: the interval is NaN, as numpy's)
        return math.nan, math.nan
    # numpy's quantiles of finite values; beside an infinite loss, order statistics (inf, not inf·0)
    from .quantiles import exact_quantiles

    lo, hi = exact_quantiles(stats, [alpha, 1.0 - alpha])
    return float(lo), float(hi)


def _exponent(values: np.ndarray) -> int:
    """The power of two that brings the largest finite |value| to [0.5, 1) (0 for none, or all 0)."""
    finite = np.abs(values[np.isfinite(values)])
    top = float(finite.max()) if finite.size else 0.0
    return math.frexp(top)[1] if top > 0 else 0


def _reported(total: np.ndarray, den: np.ndarray | None, k: int, root: bool, size: bool) -> np.ndarray:
    """Each resample's reported value from its scaled sums: (total / den)·2^k, its square root, or
    its size."""
    value = np.ldexp(total if den is None else total / den, k)
    return np.sqrt(value) if root else np.abs(value) if size else value
