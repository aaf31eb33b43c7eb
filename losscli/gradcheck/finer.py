"""Below the ladder: elements whose estimate is wide from truncation (a clip or a kink inside the
step), or whose kink persists down the ladder, followed three rungs further (h/16, h/256, h/4096
below their step, each with its noise measured), until two rungs free of kinks agree."""

from __future__ import annotations

import numpy as np

from . import steps as stepping
from .methods import NOISE_SIGMAS, ONE_SIDED_NOISE, RICHARDSON_NOISE
from .result import FAIL, FINER_THAN_SCALE, INCONCLUSIVE, KINK, OK, passes, tolerance
from .rungs import column_noise, rejudge, rung


#: a pass whose bound is this many times the noise part of it is wide from truncation: the loss
#: bends (or clips, or jumps) within the step, and smaller steps may resolve it
TRUNCATED = 8


def finer(col, j, xj, a_all, side_all, f0_all, sens_all, eps, opts, est, err, left, right, step, status,
          reason) -> None:
    """Elements of column j that pass only because their bound is wide, and wide from truncation,
    not noise: a clip or a kink inside the step (bce's clip at 1e-7 above p = 0 is crossed by a
    one-sided step of 1e-6: a bound of 3e7 covers any gradient). Judged where two smaller steps
    agree with bounds 4x tighter (``descend``): ok where the value passes, FAIL where both reject
    it; unchanged otherwise."""
    e_all, r_all, h_all = est[:, j], err[:, j], step[:, j]
    with np.errstate(invalid="ignore", divide="ignore"):
        mag = np.maximum(np.abs(a_all), np.abs(e_all))
        weight = np.where(side_all == 0, RICHARDSON_NOISE, ONE_SIDED_NOISE)
        rounding = NOISE_SIGMAS * weight * eps * np.maximum.reduce([np.ones_like(f0_all), np.abs(f0_all), sens_all])
        sel = np.flatnonzero((status[:, j] == OK) & np.isfinite(e_all) & (r_all > opts.rtol * mag) & (r_all > opts.atol)
                             & (r_all > TRUNCATED * rounding / h_all))
    if not sel.size:
        return
    ok, bad, found = descend(col, j, xj, sel, a_all[sel], h_all[sel], side_all[sel], f0_all[sel], sens_all[sel],
                             eps, opts, r_all[sel] / 4)
    done = ok | bad
    rows = sel[done]
    for arr, v in zip((est, err, left, right, step), found):
        arr[rows, j] = v[done]
    status[rows, j] = np.where(bad[done], FAIL, OK)
    reason[rows, j] = np.where(bad[done], 1, 11)


def descend(col, j, xj, rows, a, h_from, side, f0, sens, eps, opts, within=None, levels=3):
    """Rows ``rows`` of column j down the ladder below their steps ``h_from``: h/16, h/256, h/4096
    (``levels`` of them, above 4 ulps), each rung with its noise measured from its own table. The first two
    consecutive rungs free of kinks that agree with each other (and bound the derivative ``within``
    where given) judge the analytic value ``a``: ok where the tighter passes, FAIL where both
    reject it. Returns (ok, bad, (estimate, bound, left, right, step) of the tighter rung)."""
    n = rows.size
    ok, bad = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
    found = [np.full(n, np.nan) for _ in range(5)]
    live = np.arange(n)
    prev = None
    floor = stepping.floor(xj[rows], eps)
    for level in range(1, levels + 1):
        if not live.size:
            break
        f, s, sn = f0[live], side[live], sens[live]
        h = np.maximum(h_from[live] / stepping.RUNG_FACTOR ** level, floor[live])
        *_, table = rung(col, j, xj, rows[live], h, s, f, sn, None, eps, True)
        least = eps * np.maximum.reduce([np.ones_like(f), np.abs(f), sn])
        sigma = np.fmax(column_noise(table, s), least)
        e, r, lft, rgt, k = rejudge(table, f, h, s, sn, sigma, eps)
        # (kinks are told with the least noise: at a kink the table's differences measure the kink)
        cur = (e, r, lft, rgt, k | rejudge(table, f, h, s, sn, least, eps)[4], h, sigma)
        if prev is not None:
            ep, rp, _, _, kp, _, _ = prev
            e, r, k = cur[0], cur[1], cur[4]
            with np.errstate(invalid="ignore"):
                pair = np.isfinite(ep) & np.isfinite(e) & ~kp & ~k & (np.abs(ep - e) <= rp + r)
                if within is not None:
                    pair &= np.maximum(rp, r) <= within[live]
            best = [np.where(rp <= r, u, v) for u, v in zip(prev, cur)]  # (the tighter of the two)
            al = a[live]
            good = pair & passes(al, best[0], best[1], np.zeros(live.size, dtype=bool), opts)
            dp, _, tp = tolerance(al, ep, rp, opts)
            dc, _, tc = tolerance(al, e, r, opts)
            wrong = pair & ~good & (dp > tp) & (dc > tc)
            # The tighter rejects and the other, wider, merely covers it (the truncation of the larger
            # step, the noise of the smaller: log-cosh of p - t at p = 5e7, where the loss curves at
            # scale 1, rejected a 0.1% error at h = 1/256 alone, and passed as a kink): a rung
            # between them, 4x from the tighter, is the second step size that rejects, or not.
            db, _, tb = tolerance(al, best[0], best[1], opts)
            maybe = np.flatnonzero(pair & ~good & ~wrong & (db > tb))
            if maybe.size:
                hb = best[5][maybe]
                mid = np.where(hb < np.maximum(prev[5][maybe], cur[5][maybe]), 4 * hb, hb / 4)
                at = live[maybe]
                em, rm, _, _, km, _, _ = rung(col, j, xj, rows[at], mid, side[at], f0[at], sens[at],
                                               best[6][maybe], eps, False)
                dm, _, tm = tolerance(al[maybe], em, rm, opts)
                with np.errstate(invalid="ignore"):
                    wrong[maybe] = np.isfinite(em) & ~km & (dm > tm) & (np.abs(em - best[0][maybe]) <= rm + best[1][maybe])
            done = good | wrong
            ok[live[good]], bad[live[wrong]] = True, True
            for out, i in zip(found, (0, 1, 2, 3, 5)):
                out[live[done]] = best[i][done]
            keep = ~done & (h > floor[live])
            live, cur = live[keep], tuple(v[keep] for v in cur)
        prev = cur
    return ok, bad, found


def averaged(col, j, xj, a_all, side_all, f0_all, sens_all, floor_all, eps, opts, est, err, left, right, step,
             status, reason) -> None:
    """FAILs and kinks of column j at steps set by |x| that may only have averaged the slope over
    bends finer than the step: sin at x = 1e12 is stepped by 4e6, a million periods, where every
    estimate is ~0 and two of them agree (or see kinks), while its derivative cos(x) is 0.79;
    log-cosh of p - t at p = 1e11 is |d| at steps of 8192, a kink whose slopes ±1 bracket any
    gradient, a wrong one too.

    Judged again at the smallest steps where the loss's rounding still resolves --rtol (4 ulps of
    x at least), and twice that: where both estimates are within --rtol of the analytic value (or
    the smaller is, and the larger converges to it) it is ok (a wrong value cannot sit within
    --rtol of two estimates of the derivative itself, or be what they converge to); where they
    agree with each other and both reject it, a FAIL these steps stand behind; where the smaller
    differs from the estimate the FAIL rested on beyond a bound with x's rounding in it, and they
    decide nothing, undecided; else as it was. Costs one rung where an element FAILs and the
    smallest steps confirm it, two elsewhere."""
    with np.errstate(invalid="ignore", divide="ignore"):
        # the smallest step whose rounding leaves --rtol visible: a few ε·|l| over h below rtol·|a|
        useful = 4 * NOISE_SIGMAS * eps * np.maximum(1.0, np.abs(f0_all)) / np.maximum(opts.rtol * np.abs(a_all),
                                                                                       opts.atol)
        lowest = np.maximum(np.maximum(floor_all, stepping.floor(xj, eps)), useful)
        lowest = np.where(np.isfinite(lowest), lowest, 1.0)
        fine = stepping.pow2_floor(lowest)
        fine = np.where(fine < lowest, 2 * fine, fine)  # (a power of two at or above it: exact moves)
        # (kinks whose slopes bracket more than the tolerance: Huber's at ±δ, where only the curvature
        # jumps, brackets nothing a wrong gradient could hide in, and stays a kink)
        wide = np.abs(right[:, j] - left[:, j]) > _APART * np.maximum(opts.rtol * np.abs(a_all), opts.atol)
        doubtful = (((status[:, j] == FAIL) & np.isin(reason[:, j], (1, 2)))
                    | ((status[:, j] == KINK) & (reason[:, j] == 10) & wide))
        sel = np.flatnonzero(doubtful & (side_all == 0) & np.isfinite(a_all) & (16 * _APART * fine <= step[:, j]))
    if not sel.size:
        return

    def judged(rows, h):
        """Estimates at steps h for the elements ``rows``, with the noise measured there, at least ε·|l|
        (not |x·a|'s rounding, which x ± h, exact, does not carry into sin(x)), the noise's part, and
        the bound with |x·a|'s rounding in it (sin(100·x) carries it: 100·x rounds at 100 ulps of x)."""
        f0, zeros, none = f0_all[rows], np.zeros(rows.size, dtype=np.int8), np.zeros(rows.size)
        *_, table = rung(col, j, xj, rows, h, zeros, f0, 0.0, None, eps, True)
        sigma = np.fmax(column_noise(table, zeros), eps * np.maximum(1.0, np.abs(f0)))
        carried = rejudge(table, f0, h, zeros, sens_all[rows], sigma, eps)[1]
        return (*rejudge(table, f0, h, zeros, none, sigma, eps), NOISE_SIGMAS * RICHARDSON_NOISE * sigma / h, carried)

    # the smallest steps first: where their estimate agrees with the one the FAIL rested on, the FAIL
    # stands (a wrong gradient costs one rung); elsewhere the steps twice as large decide with them
    e2, r2, l2, rt2, k2, noise2, w2 = judged(sel, fine[sel])
    a, e0, r0, none = a_all[sel], est[sel, j], err[sel, j], np.zeros(sel.size)
    with np.errstate(invalid="ignore"):
        near = passes(a, e2, none, k2, opts)
        # the smallest step sees another slope than the FAIL's, beyond a bound that counts the rounding
        # a loss may carry from x (a FAIL of sin(100·x)·1.01 at x = 1e6, at steps of 1e-4, is right:
        # steps of 1e-9 are 4% off there, beyond their ε·|l| bound)
        moved = np.isfinite(e2) & ~k2 & ~near & (np.abs(e2 - e0) > w2 + r0)
    more = near | moved | (status[sel, j] == KINK)  # (a kink's estimate is its slopes' mean: no FAIL to confirm)
    sel, a, e2, r2, l2, rt2, k2, noise2, e0, r0, moved = (
        v[more] for v in (sel, a, e2, r2, l2, rt2, k2, noise2, e0, r0, moved))
    if not sel.size:
        return
    e1, r1, _, _, k1, _, _ = judged(sel, _APART * fine[sel])
    none = np.zeros(sel.size)
    with np.errstate(invalid="ignore"):
        smooth = np.isfinite(e1) & np.isfinite(e2) & ~k1 & ~k2
        # within --rtol at the smaller step, and at the larger too, or converging to it there as
        # Richardson's estimates do, their error falling 16x as the step halves (exp(-d²) at d = 4,
        # whose bends at scale 1/8 leave steps of 1/64 5e-6 off, 1/128 3.5e-7): a wrong value, off
        # by more than --rtol, keeps the two at the same distance
        towards = np.abs(e1 - a) >= _APART ** 2 * np.abs(e2 - a)
        close = smooth & passes(a, e2, none, k2, opts) & (passes(a, e1, none, k1, opts) | towards)
        d1, _, t1 = tolerance(a, e1, r1, opts)
        d2, _, t2 = tolerance(a, e2, r2, opts)
        wrong = smooth & ~close & (np.abs(e1 - e2) <= r1 + r2) & (d1 > t1) & (d2 > t2)
        # (moved: the smaller's estimate is not the one the FAIL rested on, and nothing is decided)
        moved &= ~close & ~wrong
        # the bound of a verified value: how far the estimate moved from the step twice as large (Richardson's
        # error falls as h^4: the larger step's own error is most of it) where that is below the
        # truncation estimate (8x the change of plain central differences), and the noise over the step
        bound = np.where(close, np.minimum(r2, np.maximum(np.abs(e2 - e1), noise2) + 4 * eps * np.abs(e2)), r2)
    for m, code, verdict in ((close, FINER_THAN_SCALE, OK), (wrong, 1, FAIL), (moved, 21, INCONCLUSIVE)):
        rows = sel[m]
        est[rows, j], err[rows, j], left[rows, j], right[rows, j] = e2[m], bound[m], l2[m], rt2[m]
        step[rows, j], status[rows, j], reason[rows, j] = fine[rows], verdict, code


#: the two steps ``averaged`` judges at are this factor apart
_APART = 2.0
