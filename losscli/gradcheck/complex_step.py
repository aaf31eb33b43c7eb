"""The complex step for row-local roles: one evaluation per column (Im f(x + ih)/h, exact to
rounding for analytic code), kept only where Richardson's ladder confirms it. Non-analytic code
(abs, maximum, comparisons) gives a wrong imaginary part without a sign of it, so a role whose
complex estimates disagree with Richardson's anywhere keeps them only where Richardson resolves
the derivative itself, and never where a kink was seen."""

from __future__ import annotations

import numpy as np

from . import Options
from .methods import EPS, ERR_SAFETY
from .result import FAIL, INCONCLUSIVE, KINK, OK, passes


def column(ev, role, x, cbuf, j, xj, h):
    """Complex-step estimates of column j of every row (one evaluation)."""
    hc = h * 2.0 ** -50  # any step far below rounding: nothing is subtracted
    cbuf[:, j] = xj + 1j * hc
    try:
        out = np.asarray(ev(role, cbuf.reshape(x.shape))).reshape(-1)
    finally:
        cbuf[:, j] = xj
    with np.errstate(all="ignore"):
        return np.imag(out) / hc if np.iscomplexobj(out) else np.zeros(out.shape)


def trust(cest, est, err, opts: Options, settled=True) -> tuple[np.ndarray, np.ndarray, bool]:
    """Complex-step estimates ``cest`` against Richardson's ``est`` (bound ``err``), element by
    element where ``settled``: (where they disagree, where Richardson resolves the derivative and
    agrees, whether the complex step is trusted for the whole role). Trusted: no disagreement, and
    Richardson resolves at least a quarter of the elements; where its bounds are wide everywhere it
    confirms nothing (cosent's code drops the imaginary part of one input: every complex estimate
    0, every one within Richardson's wide bounds)."""
    with np.errstate(all="ignore"):
        mag = np.maximum(np.abs(cest), np.abs(est))
        disagree = settled & ~(np.abs(cest - est) <= err + opts.rtol * mag)
        resolved = settled & ~disagree & (err <= opts.rtol * mag)
    compared = int(np.count_nonzero(np.broadcast_to(settled, np.shape(cest))))
    trusted = not disagree.any() and compared > 0 and 4 * int(resolved.sum()) >= compared
    return disagree, resolved, trusted


def adopt(role: str, size: int, cest, g, est, err, left, right, status, reason, opts: Options, seen_kink,
          notes: list) -> None:
    """Where complex step is trusted, it replaces Richardson (in the flat arrays ``est`` ..
    ``reason``, in place). Trusted: everywhere the role shows no disagreement between the two;
    once one element does (non-analytic code), only where Richardson itself resolves the
    derivative and agrees, and there the complex step is known only as well as Richardson confirms
    it (its bound plus the gap between the two: code that drops an e^-|x| term for complex input
    agrees to 1e-6, not to ε). Never where a kink was seen (``seen_kink``), even one the noise
    floor later hid. What was done goes to ``notes`` where it is not the plain case."""
    settled = np.isfinite(est) & (status != KINK) & (status != INCONCLUSIVE) & ~seen_kink
    disagree, resolved, trusted = trust(cest, est, err, opts, settled)
    use = np.isfinite(cest) & (status != KINK) & ~seen_kink
    with np.errstate(all="ignore"):
        bound = ERR_SAFETY * EPS * np.abs(cest) + 1e-300
        if not trusted:
            use &= ~disagree & resolved
            bound = np.maximum(bound, err + np.abs(cest - est))
    # where Richardson settled nothing (the loss not finite a step away, estimates that never
    # agreed), the complex step confirms an analytic value, but never fails one: its step may be
    # beyond what the loss allows there (x = 1e-300 under sqrt: a step of 1e-28 is not small)
    confirms = passes(g, cest, bound, np.zeros(np.shape(g), dtype=bool), opts)
    use &= settled | confirms
    est[use], err[use] = cest[use], bound[use]
    left[use], right[use] = cest[use], cest[use]
    ok = passes(g[use], cest[use], err[use], np.zeros(int(use.sum()), dtype=bool), opts)
    status[use] = np.where(ok, OK, FAIL)
    reason[use] = np.where(ok, 11, 8)
    used, off = int(use.sum()), int(disagree.sum())
    where = (f"complex step is kept at the {used} elements where richardson resolves and confirms it, "
             "richardson is used elsewhere" if used else "used richardson")
    if off:
        notes.append(f"{role}: complex step disagrees with richardson at {off} of {size} elements "
                     f"(non-analytic code: abs, maximum, comparisons): {where}")
    elif not trusted:
        notes.append(f"{role}: richardson resolves too few elements to confirm the complex step: {where}")
