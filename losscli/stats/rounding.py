"""When a computed value is at a threshold: within the rounding its computation carries.

A loss value is a float64 computed from decimals rounded to float64: the mean absolute error of 0.1
and 0.2 is 0.15000000000000002, and 0.33 against a baseline of 0.3 is an increase of
0.030000000000000027, 10% and 2.7e-17. A gate that failed either at a bound of 0.15, or at 10%,
would fail a value the user's numbers put exactly at it. A value beyond its bound by no more than
:data:`ROUNDING_ULPS` units in the last place of the numbers compared is at the bound."""

from __future__ import annotations

import math
import sys

#: how far beyond a bound a value is still at it, in units in the last place of the largest number
#: compared (64: 1.4e-14 relative; a mean of a million values carries ~20 of its own)
ROUNDING_ULPS = 64


def at_most(value: float, bound: float, *magnitudes: float | None) -> bool:
    """``value <= bound``, where a value above the bound by less than the rounding of the numbers it
    was computed from (``magnitudes``, besides the value and the bound) is at the bound. NaN is at
    most nothing; an infinite value or bound is compared as it is."""
    if value <= bound:
        return True
    if not (math.isfinite(value) and math.isfinite(bound)):
        return False
    size = max(abs(value), abs(bound), *(abs(m) for m in magnitudes if m is not None and math.isfinite(m)))
    return value - bound <= ROUNDING_ULPS * sys.float_info.epsilon * size


def at_least(value: float, bound: float, *magnitudes: float | None) -> bool:
    """``value >= bound`` within rounding, as :func:`at_most`."""
    return at_most(-value, -bound, *(None if m is None else -m for m in magnitudes))
