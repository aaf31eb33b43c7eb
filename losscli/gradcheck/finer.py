"""Below the ladder: elements whose estimate is wide from truncation (a clip or a kink inside the
step), or whose kink persists down the ladder, followed three rungs further (h/16, h/256, h/4096
below their step, each with its noise measured), until two rungs free of kinks agree."""

from __future__ import annotations

import numpy as np

from . import steps as stepping
from .methods import NOISE_SIGMAS, ONE_SIDED_NOISE, RICHARDSON_NOISE
from .result import FAIL, OK, passes, tolerance
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
