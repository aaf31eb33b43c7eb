"""Numeric derivatives, one declaration per method: add a method by writing an estimator and
listing it in ``METHODS`` (the CLI's ``--method`` choices come from it).

An estimator takes ``at(delta)`` (the function's values with the checked element(s) moved by
``delta``, an array over rows; complex when the method needs it), ``f0`` (the values at the
point), ``x`` (the element(s)) and ``sensitivity`` (|x·∂f/∂x|, a floor for the magnitude f is
computed from), and returns (estimate, error bound, left slope, right slope, kink) elementwise.
Keyword arguments: ``h`` the steps (default: ε^(1/3)·max(1, |x|); ``steps.plan`` chooses
domain-aware ones), ``noise`` the measured noise σ of f per element (``noise.ecnoise``), ``eps``
the machine epsilon of the precision the loss computes in.

Error bounds: ERR_SAFETY times the truncation estimate, plus NOISE_SIGMAS standard deviations of
the noise the estimator's weights carry (σ·weights/h), plus a few ulps of the estimate itself.

Also the helpers the estimators and the judging share: ``chunks``/``in_chunks`` (a million
elements worked on a cache-sized chunk at a time) and ``median`` (without numpy.ma).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    import numpy as np

EPS = sys.float_info.epsilon  # float64's machine epsilon (numpy is imported only where it computes)
H_SCALE = EPS ** (1.0 / 3.0)  # central differences: truncation h² balances rounding ε/h
COMPLEX_H = 1e-20
ERR_SAFETY = 8.0  # the truncation estimate is a heuristic; widen it before judging
#: standard deviations of the Richardson estimate per unit of noise σ/h: (4·d2 - d1)/3 weighs
#: f(x ± h/2) by 4/(3h) and f(x ± h) by 1/(6h): sqrt(2·16/9 + 2/36) = 1.9
RICHARDSON_NOISE = 1.9
#: one-sided: 2·D(h/4) - D(h/2) = (8 f(h/4) - 2 f(h/2) - 6 f(0))/h: sqrt(64 + 4 + 36) = 10.2
ONE_SIDED_NOISE = 10.2
#: standard deviations of noise an error bound allows (the noise estimate itself is rough)
NOISE_SIGMAS = 16.0
#: elements an estimator works on at a time: its dozens of temporaries then stay in the cache
#: (a million elements at once run 2-4x slower, from memory)
CHUNK = 1 << 15


def chunks(n: int):
    """Slices of at most CHUNK elements covering range(n)."""
    return (slice(i, min(n, i + CHUNK)) for i in range(0, n, CHUNK))


def in_chunks(fn: Callable, args: tuple, kwargs: dict):
    """``fn(*args, **kwargs)`` evaluated CHUNK elements at a time over the 1-D arrays of the
    arguments' common length (scalars and other arguments are passed whole), each output (an
    array, or a tuple of them) written into its place in arrays of that length."""
    import numpy as np

    n = max(np.size(a) for a in args)

    def part(v, s):
        return v[s] if isinstance(v, np.ndarray) and v.ndim == 1 and v.size == n else v

    outs: list = []
    single = False
    for s in chunks(n):
        got = fn(*(part(a, s) for a in args), **{k: part(v, s) for k, v in kwargs.items()})
        if not outs:
            single = not isinstance(got, tuple)
            outs = [np.empty(n, dtype=np.asarray(v).dtype) for v in ((got,) if single else got)]
        for out, v in zip(outs, (got,) if single else got):
            out[s] = v
    return outs[0] if single else tuple(outs)


def median(a, axis: int | None = None):
    """``np.median`` (NaN where a NaN is among the values), without the import of numpy.ma that
    np.median makes on its first call (11 ms of a whole run)."""
    import numpy as np

    a = np.asarray(a, dtype=np.float64)
    if axis is None:
        a, axis = a.reshape(-1), 0
    n = a.shape[axis]
    if n == 0:
        return np.float64(np.nan) if a.ndim == 1 else np.full(np.delete(a.shape, axis), np.nan)
    lo, hi = (n - 1) // 2, n // 2
    part = np.partition(a, sorted({lo, hi}), axis=axis)
    mid = (np.take(part, lo, axis=axis) + np.take(part, hi, axis=axis)) / 2
    return np.where(np.isnan(a).any(axis=axis), np.nan, mid)[()]


def large(v) -> bool:
    """A 1-D array worth working on in chunks."""
    import numpy as np

    return isinstance(v, np.ndarray) and v.ndim == 1 and v.size > CHUNK


def steps(x: np.ndarray) -> np.ndarray:
    """Unconstrained steps scaled with max(1, |x|): the default of the estimators when no steps
    are given (``steps.plan`` chooses domain-aware steps for the element checks)."""
    import numpy as np

    return H_SCALE * np.maximum(1.0, np.abs(x))


def _sigma(f0, values, sensitivity, noise, eps):
    """Noise of one value of f: the measured σ where given, at least ε·(the magnitudes involved)
    and the precision's smallest subnormal (``steps.subnormal``)."""
    import numpy as np

    from .steps import subnormal

    scale = np.abs(f0)
    for v in values:
        scale = np.maximum(scale, np.abs(v))
    scale = np.maximum(eps * np.maximum(scale, sensitivity), subnormal(eps))
    return scale if noise is None else np.fmax(scale, noise)


def richardson_from(f0, fp, fm, fp2, fm2, h, sensitivity=0.0, *, noise=None, eps=EPS):
    """Estimate, error bound and one-sided slopes from f(x), f(x±h), f(x±h/2) (elementwise).

    ``sensitivity`` (|x|·|∂f/∂x|) is a floor for the magnitude of what f is computed from: the
    rounding of f is at least that of its inputs, even when f itself is small (|p - t| in L1).

    Kinks: the one-sided slopes at h/2 stay apart as the step halves (a kink of the loss), or the
    one-sided curvatures jump (a kink of the gradient, Huber at ±δ). Both tests run on the
    elements a cheap screen cannot clear: a smooth function's even differences shrink 4× as the
    step halves and its odd third difference is small beside its curvature."""
    import numpy as np

    if large(fp):
        return in_chunks(richardson_from, (f0, fp, fm, fp2, fm2, h, sensitivity), {"noise": noise, "eps": eps})
    inv = 1.0 / h
    dh = fp - fm
    dh2 = fp2 - fm2
    d1 = dh * (0.5 * inv)
    d2 = dh2 * inv
    estimate = (4 * d2 - d1) / 3
    sigma = _sigma(f0, (fp, fm), sensitivity, noise, eps)
    rounding = sigma * inv
    err = np.abs(d2 - d1)
    err *= ERR_SAFETY / 3
    err += ERR_SAFETY * 4 * EPS * np.abs(estimate)
    err += (NOISE_SIGMAS * RICHARDSON_NOISE) * rounding
    right = (fp2 - f0) * (2 * inv)
    left = (f0 - fm2) * (2 * inv)
    # screen: e1 = f(x+h) + f(x-h) - 2f(x), e2 the same at h/2, d3 the odd third difference
    e1 = fp + fm - 2 * f0
    e2 = fp2 + fm2 - 2 * f0
    d3 = dh - 2 * dh2
    kink = np.zeros(np.shape(estimate), dtype=bool)
    cand = (np.abs(e2) > 0.375 * np.abs(e1)) | (np.abs(d3) > 0.125 * np.abs(e1 - 2 * e2))
    idx = np.flatnonzero(cand)
    if idx.size:
        def at(v):
            return v[idx] if np.ndim(v) else v

        r_, l_, rnd, hh = right[idx], left[idx], at(rounding), at(h)
        fp_, fm_, fp2_, fm2_, f0_ = fp[idx], fm[idx], fp2[idx], fm2[idx], at(f0)
        right_h, left_h = (fp_ - f0_) / hh, (f0_ - fm_) / hh
        # a kink of the loss: the one-sided slopes do not come together as the step halves
        gap, gap_h = np.abs(r_ - l_), np.abs(right_h - left_h)
        k = (gap > 64 * rnd + 1e-8 * np.maximum(np.abs(r_), np.abs(l_))) & (gap > 0.75 * gap_h)
        # a kink of the gradient (Huber at ±δ): the one-sided curvatures jump
        curv_r = (fp_ - 2 * fp2_ + f0_) / (hh / 2) ** 2
        curv_l = (f0_ - 2 * fm2_ + fm_) / (hh / 2) ** 2
        jump = np.abs(curv_r - curv_l)
        curv_noise = 16 * at(sigma) / (hh / 2) ** 2
        k |= (jump > 0.25 * np.maximum(np.abs(curv_r), np.abs(curv_l))) & (jump > 256 * curv_noise)
        kink[idx] = k
    return estimate, err, left, right, kink


def one_sided_from(f0, f1, f2, f4, h, sensitivity=0.0, *, noise=None, eps=EPS):
    """One-sided estimate from f(x), f(x+h), f(x+h/2), f(x+h/4) (h < 0: backward), for an element
    on (or next to) a bound of its domain: the Richardson extrapolation 2·D(h/4) - D(h/2) of the
    difference quotients D(s) = (f(x+s) - f(x))/s, bounded by its distance to 2·D(h/2) - D(h)."""
    import numpy as np

    if large(f1):
        return in_chunks(one_sided_from, (f0, f1, f2, f4, h, sensitivity), {"noise": noise, "eps": eps})
    d1, d2, d4 = (f1 - f0) / h, (f2 - f0) / (h / 2), (f4 - f0) / (h / 4)
    coarse, fine = 2 * d2 - d1, 2 * d4 - d2
    rounding = _sigma(f0, (f1, f2, f4), sensitivity, noise, eps) / np.abs(h)
    err = ERR_SAFETY * (np.abs(fine - coarse) + 4 * EPS * np.abs(fine)) + NOISE_SIGMAS * ONE_SIDED_NOISE * rounding
    return fine, err, fine, fine, np.zeros(np.shape(fine), dtype=bool)


def richardson(at: Callable, f0, x, sensitivity=0.0, *, h=None, noise=None, eps=EPS):
    """Richardson extrapolation of central differences at h and h/2."""
    h = steps(x) if h is None else h
    return richardson_from(f0, at(h), at(-h), at(h / 2), at(-h / 2), h, sensitivity, noise=noise, eps=eps)


def central_from(f0, fp, fm, h, sensitivity=0.0, *, noise=None, eps=EPS):
    """A plain central difference from f(x), f(x±h)."""
    import numpy as np

    estimate = (fp - fm) / (2 * h)
    rounding = _sigma(f0, (fp, fm), sensitivity, noise, eps) / h
    right, left = (fp - f0) / h, (f0 - fm) / h
    # truncation of a central difference is ~h²f'''/6: bounded here by the one-sided spread·h
    err = ERR_SAFETY * (np.abs(right - left) * 1e-3 + 4 * EPS * np.abs(estimate)) + NOISE_SIGMAS * rounding
    kink = np.abs(right - left) > np.maximum(1e-3 * np.maximum(np.abs(right), np.abs(left)), 64 * rounding)
    return estimate, err, left, right, kink


def central(at: Callable, f0, x, sensitivity=0.0, *, h=None, noise=None, eps=EPS):
    """A plain central difference."""
    h = steps(x) if h is None else h
    return central_from(f0, at(h), at(-h), h, sensitivity, noise=noise, eps=eps)


def complex_step(at: Callable, f0, x, sensitivity=0.0, *, h=None, noise=None, eps=EPS):
    """Complex step: Im f(x + ih)/h, exact to rounding for analytic code (no subtraction)."""
    import numpy as np

    hc = COMPLEX_H * (np.maximum(1.0, np.abs(x)) if h is None else h / H_SCALE)
    est = np.imag(at(1j * hc)) / hc
    err = ERR_SAFETY * EPS * np.abs(est) + 1e-300
    return est, err, est, est, np.zeros(np.shape(est), dtype=bool)


#: name -> (estimator, help text)
METHODS: dict[str, tuple[Callable, str]] = {
    "richardson": (richardson, "Richardson-extrapolated central differences (error estimate per element)"),
    "central": (central, "plain central differences"),
    "complex": (complex_step, "complex step, checked against richardson: elements where the two "
                "disagree (non-analytic code: abs, maximum, comparisons) fall back to richardson"),
}
