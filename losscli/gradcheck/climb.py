"""Above the ladder: elements whose FAIL at the ladder's steps the loss's noise covers, judged at steps
larger than h, where that noise weighs less (an intermediate near 1 whose rounding the loss
amplifies: σ(x) at logits of 15, where 1 - σ(x) ~ 3e-7 rounds to 1.1e-16), as long as the tables at
those steps show no structure the noise at the element's own scale does not; and passes below the
noise at h, judged at 4h and 16h."""

from __future__ import annotations

import numpy as np

from .result import ABOVE, DOUBTED, FAIL, INCONCLUSIVE, OK, passes, tolerance
from .methods import NOISE_SIGMAS, RICHARDSON_NOISE
from .rungs import column_noise, rejudge, rung

#: the largest step, in units of the first step h
LARGEST = 1024
#: the first step above h, and the larger of the two the steps that did not climb are judged at
FIRST, NEXT = 4, 16
#: the step of the table the noise of larger steps is held against (not a power of two: rounding that
#: moves by near whole units at dyadic steps, alike across a table, does not move so at this one)
FINE = 0.3
#: the steps above 4h are 16h, 64h, ... times this (not powers of two either)
ODD = 0.7


def above(col, j, xj, a_all, h_all, side, room, f0_all, sens_all, eps, opts, est, err, left, right, step, status,
          reason) -> None:
    """Elements of column j whose FAIL the noise covers (``DOUBTED``: the ladder's tables at its
    smallest step, at steps no power of two, measure noise that covers the difference), where a
    step up to LARGEST·h could verify the value: differenced centrally at 4h, then at 16h·ODD,
    64h·ODD, ... while the bound is wider than --rtol, each step with a table that measures the
    noise there. A table that measures more than 4x the noise of a table at FINE·h sees structure
    between the two scales, which steps that large would average away, and the steps stop there.
    ok (``ABOVE``) where two steps next to each other are free of kinks and structure, agree with
    each other and with the analytic value, and one's bound is within --rtol (binary_focal's
    log(1 - σ(x)) at logits of 15, where 1 - σ(x) rounds to 1.1e-16 in 3e-7: a correct gradient
    FAILed at h/16 and h/256, whose tables round alike); a FAIL where two such steps both reject it
    and agree; undecided otherwise.

    Nothing else climbs: passes below the noise, undecided elements and kinks climbed in a first
    version, and steps that large FAILed correct gradients of losses with structure finer than
    they are and verified wrong ones (review 77, 78: 1e4 + x² + 1e-11·sin(2e5·x)). Passes below the
    noise are judged at 4h and 16h (``_plain``), as before."""
    e_all, r_all = est[:, j], err[:, j]
    with np.errstate(invalid="ignore"):
        mag = np.maximum(np.abs(a_all), np.abs(e_all))
        doubted = (status[:, j] == INCONCLUSIVE) & (reason[:, j] == DOUBTED)
        # (only where the largest step may verify: the noise part of a bound falls as the step grows,
        # and the element's bound times its step bounds it)
        reach = r_all * step[:, j] / (LARGEST * ODD * h_all) <= opts.rtol * mag
        sel = np.flatnonzero(doubted & np.isfinite(a_all) & (side == 0) & (1.5 * NEXT * h_all < room) & reach)
    if sel.size:
        _climb(col, j, xj, a_all, h_all, room, f0_all, sens_all, eps, opts, est, err, left, right, step, status,
               reason, sel)
    _plain(col, j, xj, a_all, h_all, side, room, f0_all, sens_all, eps, opts, est, err, step, status, reason)


def _climb(col, j, xj, a_all, h_all, room, f0_all, sens_all, eps, opts, est, err, left, right, step, status, reason,
           sel) -> None:
    """The climb of ``above`` for its elements ``sel``."""
    h, f0, sens, a, space = h_all[sel], f0_all[sel], sens_all[sel], a_all[sel], room[sel]
    zeros = np.zeros(sel.size, dtype=np.int8)
    least = eps * np.maximum.reduce([np.ones_like(f0), np.abs(f0), sens])
    # the noise at the element's own scale, from a table at a step no power of two (rounding that
    # moves by near whole units at dyadic steps, alike across a table, does not move so at this one),
    # measured where a rung's table shows more than 4x the rounding of an O(1) intermediate
    floor = 4 * least
    fine_seen = np.zeros(sel.size, dtype=bool)
    # Steps climb by 4 (4h, then 16h·ODD, 64h·ODD, ..., not powers of two, so no period divides them
    # all), each with its table: a table that measures more than 4x the noise at the element's scale
    # sees structure (a wiggle of 1e-10 at a period of 6e-5 under 1e4 + x², which larger steps
    # average away, FAILed the right gradient and verified the one without it), and the climb stops.
    rungs: list[tuple] = []
    smooth = np.ones(sel.size, dtype=bool)
    good, bad = np.zeros(sel.size, dtype=bool), np.zeros(sel.size, dtype=bool)
    noise = least.copy()
    factor = FIRST
    while factor <= LARGEST:
        hh = factor * h * (1.0 if factor == FIRST else ODD)
        if rungs:
            prev = rungs[-1]
            with np.errstate(invalid="ignore"):
                live = smooth & ~good & ~bad & (1.5 * hh < space) & np.isfinite(prev[0]) \
                    & (prev[1] > _tight(a, prev[0], opts)) & (_tight(a, prev[0], opts) >= opts.atol)
        else:
            live = np.ones(sel.size, dtype=bool)
        if not live.any():
            break
        at = np.flatnonzero(live)
        *_, t = rung(col, j, xj, sel[at], hh[at], zeros[at], f0[at], sens[at], None, eps, True)
        measured = column_noise(t, zeros[at])
        want = at[(measured > floor[at]) & ~fine_seen[at]]
        if want.size:
            *_, fine = rung(col, j, xj, sel[want], FINE * h[want], zeros[want], f0[want], sens[want], None, eps, True)
            floor[want] = 4 * np.fmax(column_noise(fine, zeros[want]), least[want])
            fine_seen[want] = True
        smooth[at] &= measured <= floor[at]
        noise[at] = np.fmax(noise[at], measured)
        cur = [np.full(sel.size, np.nan) for _ in range(4)] + [np.zeros(sel.size, dtype=bool), hh]
        for arr, v in zip(cur, rejudge(t, f0[at], hh[at], zeros[at], sens[at], noise[at], eps)):
            arr[at] = v
        cur[4] |= ~smooth  # (structure at this step: no estimate of the slope at x)
        rungs.append(tuple(cur))
        if len(rungs) == 1:  # (no climb where even LARGEST·h leaves the noise part of the bound above --rtol:
            # no step there verifies; a pass below the noise is judged at 4h and 16h, as before)
            with np.errstate(invalid="ignore", divide="ignore"):
                smooth &= NOISE_SIGMAS * RICHARDSON_NOISE * noise / (LARGEST * ODD * h) <= _tight(a, cur[0], opts)
        if len(rungs) >= 2:
            one, two = rungs[-2], rungs[-1]
            good |= live & _verified(a, one, two, opts)
            # a FAIL: two steps next to each other reject the analytic value and agree
            with np.errstate(invalid="ignore"):
                now = live & ~good & (np.abs(one[0] - two[0]) <= one[1] + two[1])
                for e, r, _, _, k, _ in (one, two):
                    d, _, tt = tolerance(a, e, r, opts)
                    now &= np.isfinite(e) & ~k & (d > tt)
                now &= _within_sign(xj[sel], two[5])
            rows = sel[now]
            est[rows, j], err[rows, j], left[rows, j], right[rows, j] = (v[now] for v in one[:4])
            step[rows, j], status[rows, j], reason[rows, j] = one[5][now], FAIL, 14
            bad |= now
        factor *= 4
    for rg in rungs:  # (an ok reports the first step whose bound is within --rtol)
        with np.errstate(invalid="ignore"):
            at_ = good & (rg[1] <= _tight(a, rg[0], opts)) & (_tight(a, rg[0], opts) >= opts.atol)
        good &= ~at_
        rows = sel[at_]
        est[rows, j], err[rows, j], left[rows, j], right[rows, j] = (v[at_] for v in rg[:4])
        step[rows, j], status[rows, j], reason[rows, j] = rg[5][at_], OK, ABOVE


def _plain(col, j, xj, a_all, h_all, side, room, f0_all, sens_all, eps, opts, est, err, step, status, reason) -> None:
    """Passes below the noise that no climb decided: differenced at 4h and 16h at the rounding of an
    O(1) intermediate, a FAIL where both reject the analytic value and agree with each other and
    with the first estimate (a 1e-5 error under a loss of 1000, float32 code)."""
    e_all, r_all = est[:, j], err[:, j]
    with np.errstate(invalid="ignore"):
        mag = np.maximum(np.abs(a_all), np.abs(e_all))
        sel = np.flatnonzero((status[:, j] == OK) & (reason[:, j] != ABOVE) & (side == 0) & (r_all > opts.rtol * mag)
                             & (r_all > opts.atol) & (1.5 * NEXT * h_all < room) & np.isfinite(e_all))
    if not sel.size:
        return
    f0, sens = f0_all[sel], sens_all[sel]
    least = eps * np.maximum.reduce([np.ones_like(f0), np.abs(f0), sens])
    bad, e4, r4 = confirmed(col, j, xj, sel, a_all[sel], h_all[sel], f0, sens, least, eps, opts, e_all[sel],
                            r_all[sel], (FIRST, NEXT))
    bad &= _within_sign(xj[sel], NEXT * h_all[sel])
    rows = sel[bad]
    est[rows, j], err[rows, j], step[rows, j] = e4[bad], r4[bad], FIRST * h_all[rows]
    status[rows, j], reason[rows, j] = FAIL, 14


def confirmed(col, j, xj, rows, a, h, f0, sens, sigma, eps, opts, e0, r0, factors):
    """Central estimates at larger steps (``factors`` times h) for ``rows`` of column j, where the
    noise weighs less: True where each rejects the analytic value and they agree with each other
    and with the estimate at h (e0 ± r0), whose noise hid the difference. Returns (that, the
    estimate and bound at the first factor)."""
    zeros = np.zeros(rows.size, dtype=np.int8)
    bad = np.ones(rows.size, dtype=bool)
    first = None
    prev = (e0, r0)
    for f in factors:
        e, r, _, _, k, _, _ = rung(col, j, xj, rows, f * h, zeros, f0, sens, sigma, eps, False)
        d, _, t = tolerance(a, e, r, opts)
        with np.errstate(invalid="ignore"):
            bad &= np.isfinite(e) & ~k & (d > t) & (np.abs(e - prev[0]) <= r + prev[1])
        first = first or (e, r)
        prev = (e, r)
    return bad, *first


def _within_sign(x, h):
    """Whether steps up to ``h`` keep x's sign (or x is 0): a FAIL at steps larger than the ladder's
    stands only there. Steps set by a column's typical magnitude reach across 0 from an element far
    smaller (x = -0.054 in a column of 1e4: steps of 8 and 32), where most kinks lie (|x|, relu, a
    hinge's margin): a central difference across a kink that close averages its slopes, both steps
    agree on that average, and a right gradient FAILed (|x| + x²/2 in float32: 0.06 against -1.05)."""
    return (1.5 * h < np.abs(x)) | (x == 0)


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
