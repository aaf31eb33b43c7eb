"""The noise level of a computed function, from a table of its values at equally spaced points
(Moré & Wild, "Estimating computational noise", SIAM J. Sci. Comput. 33(3), 2011; their ECnoise).

Rounding inside a loss (cancellation in sqrt(1 + d²) - 1, log(1 + e^-|x|) near 1, a float32
computation) makes f(x) = smooth + noise. High-order differences of a smooth function along small
steps vanish while those of noise do not: for independent noise of standard deviation σ,
E[(Δ^k f)²] = C(2k, k)·σ². Each element gets its own table (one evaluation per point, vectorised
over the rows of a column), so the estimate follows the element: absolute 1e-16 where a loss
cancels, 1e-7 relative where it computes in float32.
"""

from __future__ import annotations

from math import comb

import numpy as np

#: orders of differences used: 3 and above, so that the smooth part of f (up to its curvature)
#: is gone at the small spacing of the table
MIN_ORDER = 3


def ecnoise(table: np.ndarray) -> np.ndarray:
    """σ per element from ``table`` (m values at equally spaced points, axis 0; m >= 4).

    The largest of the estimates sqrt(mean((Δ^k f)²) / C(2k, k)) over the orders k >= 3 the
    table holds: a single table's estimate of one order can come out several times too small,
    the largest of a few rarely does (2.5% of tables below σ/4 with 7 points)."""
    d = np.diff(table, n=MIN_ORDER - 1, axis=0)
    best = np.zeros(table.shape[1:])
    for k in range(MIN_ORDER, table.shape[0]):
        d = np.diff(d, axis=0)
        est = np.sqrt(np.mean(d * d, axis=0) / comb(2 * k, k))
        best = np.fmax(best, est)
    return best


#: values whose lowest set bit lies this many bits above their own resolution are quantised
QUANTUM_BITS = 8


def quantum(values: np.ndarray) -> np.ndarray:
    """Per element (axis 1), the quantum of its values (axis 0) when they are quantised, else 0.

    sqrt(1 + u²) - 1, log(1 + e^-|x|) and float32 code return values that are multiples of a
    power of two far above their own resolution (2.2e-16 for values of 1e-13): along a short
    table such values can lie exactly on a polynomial, and differences see no noise at all,
    while a derivative from them is still off by up to a quantum per step. The quantum is the
    largest power of two every value is a multiple of; it counts when it lies QUANTUM_BITS bits
    above the resolution of the largest value."""
    v = np.where(np.isfinite(values), values, 0.0)
    m, e = np.frexp(v)
    mant = np.ldexp(m, 53).astype(np.int64)
    low = mant & -mant  # the lowest set bit of each mantissa (0 for a value of 0)
    with np.errstate(divide="ignore"):
        bit = np.where(low != 0, np.ldexp(low.astype(np.float64), e - 53), np.inf)
    q = np.min(bit, axis=0)
    top = np.max(np.abs(v), axis=0)
    resolution = np.ldexp(np.ones_like(top), np.frexp(top)[1] - 53)
    return np.where(np.isfinite(q) & (q >= 2.0 ** QUANTUM_BITS * resolution), q, 0.0)


def staircase(table: np.ndarray, values: np.ndarray, floor: np.ndarray) -> np.ndarray:
    """Per element (axis 1), the level spacing of a staircase: values that tie at neighbouring
    points of ``table`` (ordered along x) although the points differ (log(1 + e^-|x|) where
    e^-|x| moves by less than 1 + ε resolves). The smallest nonzero gap between the levels among
    all the element's ``values``; ``floor`` where every value is the same (the loss moved by
    less than its rounding across all the points: the rounding of an O(1) intermediate, given by
    the caller, is what it could hide). 0 where no neighbours tie (ties of mirror points, |x| at
    x ± h, are no staircase)."""
    ties = np.any(np.diff(table, axis=0) == 0, axis=0)
    v = np.sort(np.where(np.isfinite(values), values, np.nan), axis=0)
    gaps = np.diff(v, axis=0)
    smallest = np.min(np.where(gaps > 0, gaps, np.inf), axis=0)
    return np.where(ties, np.where(np.isfinite(smallest), smallest, floor), 0.0)


#: differences from the base value within this fraction of a whole number of levels count as on the levels
LEVEL_SLACK = 0.01
#: at least this many of an element's values must lie a whole (nonzero) number of levels from the base
LEVEL_POINTS = 3


def levelled(values: np.ndarray, f0: np.ndarray, intermediate: np.ndarray) -> np.ndarray:
    """Per element (axis 1), whether its values (axis 0) lie a whole number of levels of the assumed
    intermediate's spacing (its ulp: the power of two at ``intermediate`` = ε·magnitude) from the base
    value ``f0``, to LEVEL_SLACK of a level: exactly equal, or at least LEVEL_POINTS of them a nonzero
    whole number of levels away, none a fraction of one. The intermediate is then seen, not refuted:
    a smooth function applied after its rounding (log of a sum near 1, rounded to 2^-52: softmax
    cross-entropy of a confident row) keeps the levels but makes the values no exact multiples of a
    quantum, and estimates at steps of powers of two count the same whole levels (8 at h/16, 128 at
    h): they agree exactly whatever the rounding hid (a correct gradient FAILed, 0.5% off at 2^-28).
    A smooth loss's differences fall on whole levels by chance with odds of 2% a value."""
    unit = stepping_ulp(intermediate)
    with np.errstate(all="ignore"):
        k = (values - f0[None]) / unit[None]
        whole = np.round(k)
        on = np.abs(k - whole) <= LEVEL_SLACK * np.maximum(1.0, np.abs(whole) / 64.0)
        moved = whole != 0
        ok = np.all(np.isfinite(k) & (on | (k == 0)) & (moved | (k == 0)), axis=0)
    return ok & (np.sum(moved, axis=0) >= LEVEL_POINTS)


def stepping_ulp(v: np.ndarray) -> np.ndarray:
    """The power of two at or below ``v`` (> 0), as ``steps.pow2_floor``: the spacing an intermediate's
    rounding moves a value by, given ε·|intermediate|."""
    from .steps import pow2_floor

    return pow2_floor(np.maximum(np.asarray(v, dtype=np.float64), np.finfo(np.float64).tiny))


def refutes_intermediate(e_big, e_small, h_small, kinks, intermediate, q):
    """Where estimates at steps h and h/16 (``h_small``) agree 1e4 times closer than the rounding of
    an assumed O(1) intermediate (``intermediate``, ε·max(1, |f|)) would let them (both nonzero, of
    one sign, no kink): there is no such intermediate, and the loss's own scale stands. Not where
    the values are quantised (``q`` > 0): differences of such values at steps of powers of two are
    exact multiples of the quantum, and agree exactly whatever the intermediate's rounding hid
    (tversky's 1 - A/B at p = 3e-8: a correct gradient FAILed)."""
    with np.errstate(all="ignore"):
        return np.isfinite(e_big) & np.isfinite(e_small) & (e_big * e_small > 0) & ~kinks \
            & (np.abs(e_big - e_small) * h_small <= 1e-4 * intermediate) & (q == 0)
