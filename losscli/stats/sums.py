"""Sums that do not overflow: a sum is kept as ``(m, e)``, meaning m·2^e. ``e`` is 0 unless the
plain float64 sum overflows (per-sample losses near 1e308, or huge weights times losses); then
the terms are scaled by powers of two, which is exact, and summed again. A mean, a ratio of two
such sums, is a float64 whenever the true mean is one (within an ulp or two of it, as an
unscaled mean is); a sum beyond float64 is ±inf, honestly."""

from __future__ import annotations

import math

import numpy as np

Part = tuple[float, int]  # m·2^e


def block_sum(x: np.ndarray, weights: np.ndarray | None = None) -> Part:
    """Σ x, or Σ w·x, of one block (numpy's pairwise sum), scaled only when it overflows: the
    weights by their largest power of two (each w·x then stays within |x|), and the terms by
    2^-k for a block of fewer than 2^k rows (their sum then stays within float64); or when a
    weighted sum is below ``TINY``, its products rounded to subnormals (:func:`_raised`)."""
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        s = float(np.sum(x if weights is None else weights * x, dtype=np.float64))  # (float32 weights: in float64)
    if weights is not None and math.isfinite(s) and abs(s) < TINY:
        return _raised(x, weights)
    if math.isfinite(s) or math.isnan(s) and _has_nan(x, weights):
        return s, 0
    if _exponent(x) is None or weights is not None and _exponent(weights) is None:
        return s, 0  # an infinite term: the sum is infinite (or NaN) for real
    terms, e = x, 0
    if weights is not None:
        e = _exponent(weights) or 0
        terms = np.ldexp(weights, -e) * x
    k = max(1, int(x.shape[0]).bit_length())
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        s = float(np.sum(np.ldexp(terms, -k), dtype=np.float64))
    return s, e + k


#: below it a weighted sum may have lost bits: products w·x rounded to subnormals (weights of
#: 5e-324, exp-decay weights far down their tail), each with fewer than float64's 53 bits
TINY = 2.0 ** -969


def _raised(x: np.ndarray, weights: np.ndarray) -> Part:
    """Σ w·x with the weights and the terms each raised by the power of two of their largest (exact):
    every product is then a normal float64, and the sum is kept at its true scale."""
    ew, ex = _exponent(weights) or 0, _exponent(x) or 0
    with np.errstate(under="ignore"):
        return float(np.sum(np.ldexp(weights, -ew) * np.ldexp(x, -ex), dtype=np.float64)), ew + ex


def total(parts: list[Part]) -> Part:
    """The exactly rounded sum of parts (``math.fsum``), at the largest part's scale."""
    if not parts:
        return 0.0, 0
    top = max(e for _, e in parts)
    values = [math.ldexp(m, e - top) for m, e in parts]
    if not all(math.isfinite(v) for v in values):
        return sum(values), top  # inf (or NaN for inf - inf), as the terms say
    try:
        return math.fsum(values), top
    except OverflowError:  # the parts are finite, their sum is not: one more scaling step
        return math.fsum(math.ldexp(v, -64) for v in values), top + 64


def value(part: Part) -> float:
    """m·2^e as a float (±inf beyond the float64 range)."""
    m, e = part
    try:
        return math.ldexp(m, e)
    except OverflowError:
        return math.copysign(math.inf, m)


def ratio(num: Part, den: Part) -> float:
    """(m1·2^e1) / (m2·2^e2), rounded once, whatever the scales."""
    (m1, e1), (m2, e2) = num, den
    if not (math.isfinite(m1) and math.isfinite(m2)) or m1 == 0 or m2 == 0:
        with np.errstate(divide="ignore", invalid="ignore"):
            return float(np.float64(value(num)) / np.float64(value(den)))
    f1, x1 = math.frexp(m1)
    f2, x2 = math.frexp(m2)
    return value((f1 / f2, x1 + e1 - x2 - e2))


def _exponent(a: np.ndarray) -> int | None:
    """The power of two at or above the largest magnitude in ``a`` (None if it is infinite)."""
    big = float(np.max(np.abs(a))) if a.size else 0.0
    return math.frexp(big)[1] if math.isfinite(big) else None


def _has_nan(x: np.ndarray, weights: np.ndarray | None) -> bool:
    return bool(np.isnan(x).any() or (weights is not None and np.isnan(weights).any()))
