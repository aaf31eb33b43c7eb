"""Above the ladder: elements the steps h, h/16, h/256 leave below the noise, undecided, at a kink
whose slopes may be noise, or FAILed against what step h saw, judged at steps larger than h, where
the loss's noise weighs less (an intermediate near 1 whose rounding the loss amplifies: σ(x) at
logits of 15, where 1 - σ(x) ~ 3e-7 rounds to 1.1e-16)."""

from __future__ import annotations

import numpy as np

from .methods import NOISE_SIGMAS, RICHARDSON_NOISE
from .result import ABOVE, DOUBTED, FAIL, INCONCLUSIVE, KINK, OK, passes, tolerance
from .rungs import column_noise, rejudge, rung

#: the largest step, in units of the first step h
LARGEST = 1024
#: the first step above h (its table measures the noise), and the least of the next
FIRST, NEXT = 4, 16


def above(col, j, xj, a_all, h_all, side, room, f0_all, sens_all, eps, opts, est, err, left, right, step, status,
          reason) -> None:
    """Elements of column j that pass only because the error bound at their step is wider than
    --rtol (a loss of 1e6 + x, float32 code: the noise over h), that the ladder left undecided (its
    estimates disagreed, or step h alone rejected the analytic value), whose FAIL at smaller steps
    contradicts step h (``DOUBTED``), or that it called kinks (slopes apart, the analytic value
    between them): differenced centrally at 4h, its table measuring the noise σ there, then at F·h
    and 4F·h, F the power of 4 (16 to 256) where the noise part of the bound falls to a quarter of
    --rtol.

    ok (``ABOVE``) where two of those steps next to each other are free of kinks, agree with each
    other and with the analytic value, and one's bound is within --rtol (binary_focal's log(1 - σ(x))
    at logits of 15: noise of 2e-10 left 185 of 200 correct elements below the noise and 2 undecided,
    and one FAILed). A FAIL where two of those steps next to each other both reject the analytic
    value and agree with each other and, for a pass, the smaller with the estimate at h (a
    ``DOUBTED`` FAIL without; undecided and kink elements are never FAILed here: steps this large
    average structure finer than they are). As they were otherwise. Costs 10 evaluations of the
    loss in a column with such elements, 14 where some of them need 4F·h."""
    e_all, r_all = est[:, j], err[:, j]
    with np.errstate(invalid="ignore"):
        mag = np.maximum(np.abs(a_all), np.abs(e_all))
        wide = (status[:, j] == OK) & (r_all > opts.rtol * mag) & (r_all > opts.atol) & np.isfinite(e_all)
        doubted = (status[:, j] == INCONCLUSIVE) & (reason[:, j] == DOUBTED)
        torn = doubted | (status[:, j] == INCONCLUSIVE) & np.isin(reason[:, j], (5, 13)) \
            | (status[:, j] == KINK) & (reason[:, j] == 10)
        sel = np.flatnonzero((wide | torn & np.isfinite(a_all)) & (side == 0) & (1.5 * NEXT * h_all < room))
    if not sel.size:
        return
    h, f0, sens, a, space = h_all[sel], f0_all[sel], sens_all[sel], a_all[sel], room[sel]
    zeros = np.zeros(sel.size, dtype=np.int8)
    *_, table = rung(col, j, xj, sel, FIRST * h, zeros, f0, sens, None, eps, True)
    sigma = np.fmax(column_noise(table, zeros), eps * np.maximum.reduce([np.ones_like(f0), np.abs(f0), sens]))
    first = (*rejudge(table, f0, FIRST * h, zeros, sens, sigma, eps), FIRST * h)
    with np.errstate(invalid="ignore", divide="ignore"):
        # the step whose noise part (NOISE_SIGMAS·RICHARDSON_NOISE·σ/step) is a quarter of --rtol
        need = 4 * NOISE_SIGMAS * RICHARDSON_NOISE * sigma / (_tight(a, first[0], opts) * h)
        factor = np.exp2(2 * np.ceil(np.log2(np.where(np.isfinite(need) & (need > NEXT), need, NEXT)) / 2))
        factor = np.minimum(factor, LARGEST / 4)
        while np.any(over := (factor > NEXT) & (1.5 * 4 * factor * h >= space)):
            factor = np.where(over, factor / 4, factor)
    second = _at(col, j, xj, sel, factor * h, zeros, f0, sens, sigma, eps, np.ones(sel.size, dtype=bool))
    good = _verified(a, first, second, opts)
    # (4F·h only where it may verify what F·h has not: a bound within --rtol of it is above --atol)
    with np.errstate(invalid="ignore"):
        more = ~good & (1.5 * 4 * factor * h < space) & np.isfinite(second[0]) & (_tight(a, second[0], opts) >= opts.atol)
    third = _at(col, j, xj, sel, 4 * factor * h, zeros, f0, sens, sigma, eps, more)
    good |= _verified(a, second, third, opts)
    # a FAIL: two steps next to each other reject the analytic value and agree, the smaller with the
    # estimate at h too (where its noise hid the difference), but for a doubted FAIL
    near = np.where(doubted[sel], np.inf, r_all[sel])
    for one, two in ((first, second), (second, third)):
        with np.errstate(invalid="ignore"):
            bad = ~good & (~torn[sel] | doubted[sel]) & (status[sel, j] != FAIL)
            bad &= (np.abs(one[0] - two[0]) <= one[1] + two[1]) & ~(np.abs(one[0] - e_all[sel]) > one[1] + near)
            for e, r, _, _, k, _ in (one, two):
                d, _, t = tolerance(a, e, r, opts)
                bad &= np.isfinite(e) & ~k & (d > t)
        rows = sel[bad]
        est[rows, j], err[rows, j], left[rows, j], right[rows, j] = (v[bad] for v in one[:4])
        step[rows, j], status[rows, j], reason[rows, j] = one[5][bad], FAIL, 14
    for rg in (first, second, third):  # (an ok reports the first step whose bound is within --rtol)
        with np.errstate(invalid="ignore"):
            at = good & (rg[1] <= _tight(a, rg[0], opts)) & (_tight(a, rg[0], opts) >= opts.atol)
        good &= ~at
        rows = sel[at]
        est[rows, j], err[rows, j], left[rows, j], right[rows, j] = (v[at] for v in rg[:4])
        step[rows, j], status[rows, j], reason[rows, j] = rg[5][at], OK, ABOVE


def _at(col, j, xj, sel, h, zeros, f0, sens, sigma, eps, where):
    """(estimate, bound, left, right, kink, step) at steps ``h`` for the elements ``where`` (NaN elsewhere)."""
    out = [np.full(sel.size, np.nan) for _ in range(4)] + [np.zeros(sel.size, dtype=bool), h]
    if where.any():
        got = rung(col, j, xj, sel[where], h[where], zeros[where], f0[where], sens[where], sigma[where], eps, False)
        for arr, v in zip(out, got[:5]):
            arr[where] = v
    return tuple(out)


def _tight(a, e, opts):
    """The bound a verified value needs: --rtol of the larger of the two (``record`` counts no value
    verified whose --rtol lies below --atol)."""
    with np.errstate(invalid="ignore"):
        return opts.rtol * np.maximum(np.abs(a), np.abs(e))


def _verified(a, one, two, opts):
    """Two rungs (estimate, bound, left, right, kink, step) free of kinks that agree with each other
    and with the analytic value ``a``, one's bound within --rtol (and --rtol above --atol)."""
    e1, r1, _, _, k1 = one[:5]
    e2, r2, _, _, k2 = two[:5]
    with np.errstate(invalid="ignore"):
        t1, t2 = _tight(a, e1, opts), _tight(a, e2, opts)
        return (np.isfinite(e1) & np.isfinite(e2) & ~k1 & ~k2 & (np.abs(e1 - e2) <= r1 + r2)
                & passes(a, e1, r1, k1, opts) & passes(a, e2, r2, k2, opts)
                & (((r1 <= t1) & (t1 >= opts.atol)) | ((r2 <= t2) & (t2 >= opts.atol))))
