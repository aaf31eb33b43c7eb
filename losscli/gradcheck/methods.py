"""Numeric derivatives, one declaration per method: add a method by writing an estimator and
listing it in ``METHODS`` (the CLI's ``--method`` choices come from it).

An estimator takes ``at(delta)`` (the function's values with the checked element(s) moved by
``delta``, an array over rows; complex when the method needs it), ``f0`` (the values at the
point), ``x`` (the element(s)) and ``sensitivity`` (|x·∂f/∂x|, a floor for the magnitude f is
computed from), and returns (estimate, error bound, left slope, right slope, kink) elementwise.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    import numpy as np

EPS = sys.float_info.epsilon  # float64's machine epsilon (numpy is imported only where it computes)
H_SCALE = EPS ** (1.0 / 3.0)  # central differences: truncation h² balances rounding ε/h
COMPLEX_H = 1e-20
ERR_SAFETY = 8.0  # the error bound is a heuristic; widen it before judging


def steps(x: np.ndarray) -> np.ndarray:
    import numpy as np

    return H_SCALE * np.maximum(1.0, np.abs(x))


def richardson_from(f0, fp, fm, fp2, fm2, h, sensitivity=0.0):
    """Estimate, error bound and one-sided slopes from f(x), f(x±h), f(x±h/2) (elementwise).

    ``sensitivity`` (|x|·|∂f/∂x|) is a floor for the magnitude of what f is computed from: the
    rounding of f is at least that of its inputs, even when f itself is small (|p - t| in L1)."""
    import numpy as np

    d1 = (fp - fm) / (2 * h)
    d2 = (fp2 - fm2) / h
    estimate = (4 * d2 - d1) / 3
    scale = np.maximum.reduce([np.abs(f0), np.abs(fp), np.abs(fm), sensitivity + 0 * f0])
    rounding = EPS * scale / h
    err = ERR_SAFETY * (np.abs(d2 - d1) / 3 + 4 * rounding)
    right, left = (fp2 - f0) / (h / 2), (f0 - fm2) / (h / 2)
    right_h, left_h = (fp - f0) / h, (f0 - fm) / h
    # a kink of the loss: the one-sided slopes do not come together as the step halves
    gap, gap_h = np.abs(right - left), np.abs(right_h - left_h)
    kink = (gap > 64 * rounding + 1e-8 * np.maximum(np.abs(right), np.abs(left))) & (gap > 0.75 * gap_h)
    # a kink of the gradient (Huber at ±δ): the one-sided curvatures jump
    curv_r = (fp - 2 * fp2 + f0) / (h / 2) ** 2
    curv_l = (f0 - 2 * fm2 + fm) / (h / 2) ** 2
    jump = np.abs(curv_r - curv_l)
    curv_noise = 16 * EPS * scale / (h / 2) ** 2
    kink |= (jump > 0.25 * np.maximum(np.abs(curv_r), np.abs(curv_l))) & (jump > 256 * curv_noise)
    return estimate, err, left, right, kink


def central_from(f0, fp, fm, h, sensitivity=0.0):
    import numpy as np

    estimate = (fp - fm) / (2 * h)
    scale = np.maximum.reduce([np.abs(f0), np.abs(fp), np.abs(fm), sensitivity + 0 * f0])
    rounding = EPS * scale / h
    right, left = (fp - f0) / h, (f0 - fm) / h
    # truncation of a central difference is ~h²f'''/6: bounded here by the one-sided spread·h
    err = ERR_SAFETY * (4 * rounding + np.abs(right - left) * 1e-3)
    kink = np.abs(right - left) > np.maximum(1e-3 * np.maximum(np.abs(right), np.abs(left)), 64 * rounding)
    return estimate, err, left, right, kink


def richardson(at: Callable, f0, x, sensitivity=0.0):
    """Richardson extrapolation of central differences at h and h/2, h = ε^(1/3)·max(1, |x|)."""
    h = steps(x)
    return richardson_from(f0, at(h), at(-h), at(h / 2), at(-h / 2), h, sensitivity)


def central(at: Callable, f0, x, sensitivity=0.0):
    """A plain central difference at h = ε^(1/3)·max(1, |x|)."""
    h = steps(x)
    return central_from(f0, at(h), at(-h), h, sensitivity)


def complex_step(at: Callable, f0, x, sensitivity=0.0):
    """Complex step: Im f(x + ih)/h, exact to rounding for analytic code (no subtraction)."""
    import numpy as np

    hc = COMPLEX_H * np.maximum(1.0, np.abs(x))
    est = np.imag(at(1j * hc)) / hc
    err = ERR_SAFETY * EPS * np.abs(est) + 1e-300
    return est, err, est, est, np.zeros(np.shape(est), dtype=bool)


#: name -> (estimator, help text)
METHODS: dict[str, tuple[Callable, str]] = {
    "richardson": (richardson, "Richardson-extrapolated central differences (error estimate per element)"),
    "central": (central, "plain central differences"),
    "complex": (complex_step, "complex step (analytic code only; falls back to richardson)"),
}
