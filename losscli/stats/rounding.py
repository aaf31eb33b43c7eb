"""When a computed value is at a threshold: within the rounding its computation carries.

A loss value is a float64 computed from decimals rounded to float64: the mean absolute error of 0.1
and 0.2 is 0.15000000000000002, and 0.33 against a baseline of 0.3 is an increase of
0.030000000000000027, 10% and 2.7e-17. A gate that failed either at a bound of 0.15, or at 10%,
would fail a value the user's numbers put exactly at it. A value beyond its bound by no more than
:data:`ROUNDING_ULPS` × 2^-52 of the larger of the two (plus a ``slack`` its caller knows of: the
rounding of the per-sample losses a change is computed from) is at the bound. The rounding of the
inputs themselves (labels of 1e6 carry 1.2e-10 each) is not covered: it is the inputs' own."""

from __future__ import annotations

import math
import sys

#: how far beyond a bound a value is still at it, in 2^-52 of the larger of the two (64: 1.4e-14
#: relative; a mean of a million values carries ~20 of its own)
ROUNDING_ULPS = 64
#: the rounding a per-sample loss carries, in 2^-52 of its size: a difference and a square, ε/2 + ε
#: (4 let one row of 1e20 whose losses differ by 4e4 allow 178 in a mean of 1,000: a change of 131.7 passed)
LOSS_ULPS = 1.5
EPS = sys.float_info.epsilon


def at_most(value: float, bound: float, slack: float = 0.0) -> bool:
    """``value <= bound``, where a value above the bound by no more than the rounding of the two
    (and ``slack``) is at the bound. NaN is at most nothing; an infinite value or bound is compared
    as it is."""
    if value <= bound:
        return True
    if not (math.isfinite(value) and math.isfinite(bound)):
        return False
    return value - bound <= ROUNDING_ULPS * EPS * max(abs(value), abs(bound)) + slack


def at_least(value: float, bound: float, slack: float = 0.0) -> bool:
    """``value >= bound`` within rounding, as :func:`at_most`."""
    return at_most(-value, -bound, slack)
