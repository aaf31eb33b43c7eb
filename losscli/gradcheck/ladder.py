"""Row-local roles, column by column: every row's element j moved at once, the per-sample losses
read (4·K + a few evaluations for K elements per row, whatever N); the elements a first step does
not settle go down a ladder of steps (h/16, h/256, h/4096) with the loss's measured noise in their
bound, and so do the ones that pass only by a bound wide from truncation (a clip inside the step);
elements on a domain bound are differenced into the domain (tied kinks of a row: ``kinks.py``)."""

from __future__ import annotations

import numpy as np

from . import Options
from . import complex_step
from . import steps as stepping
from .climb import above, confirmed
from .finer import averaged, descend, finer
from .kinks import narrower
from .methods import NOISE_SIGMAS, RICHARDSON_NOISE, median, one_sided_from, richardson_from
from .noise import levelled, quantum, refutes_intermediate, staircase
from .result import DOUBTED, FAIL, INCONCLUSIVE, KINK, OK, in_bracket, passes, tolerance
from .rungs import Column, column_noise, rejudge, rung
from .stairs import stepped


def check_columns(ev, role, x, g, base, method, lo, hi, eps, opts: Options, notes: list):
    """Every element of a row-local role, column by column, down the ladder of steps where needed.
    Returns per-element arrays (estimate, err, left, right, status, reason, step) and the
    measured relative noise of the loss."""
    n = x.shape[0]
    x2 = x.reshape(n, -1)
    g2 = np.asarray(g, dtype=np.float64).reshape(n, -1)
    k = x2.shape[1]
    f0 = np.asarray(base, dtype=np.float64).reshape(-1)
    h0, side0, floor0 = stepping.plan(x2, lo, hi, eps)
    room0 = stepping.scales(x2, lo, hi)[1]  # (the distance to the nearer bound of the domain)
    shape2 = (n, k)
    # (one column: its first rung's arrays become the role's, no copies of a million elements)
    est, err, left, right, step = (np.empty(shape2 if k > 1 else 0) for _ in range(5))
    status = np.full(shape2, OK, dtype=np.int8)
    reason = np.full(shape2, 11, dtype=np.int8)
    col = Column(ev, role, x)
    rel_noise: list[float] = []
    cbuf: np.ndarray | None = None
    cest = np.empty(shape2) if method == "complex" else np.empty(0)
    # elements whose first step saw a kink (before any noise floor widened the bound): no complex step
    # there, non-analytic code branches at exactly such points (maximum(x, 0) at 0 takes 0 + ih)
    seen_kink = np.zeros(shape2, dtype=bool) if method == "complex" else np.zeros(0, dtype=bool)
    for j in range(k):
        xj, a = x2[:, j], g2[:, j]
        sens = np.abs(xj * a)
        h, side, floor = h0[:, j], side0[:, j], floor0[:, j]
        e0, r0, l0, rt0, k0, v0, _ = rung(col, j, xj, None, h, side, f0, sens, None, eps, False)
        if k > 1:
            est[:, j], err[:, j], left[:, j], right[:, j], step[:, j] = e0, r0, l0, rt0, h
        else:
            est, err, left, right, step = (v.reshape(n, 1) for v in (e0, r0, l0, rt0, h.copy()))
        rel_noise.append(_pooled_noise(v0, f0, side))
        done = passes(a, e0, r0, k0, opts)
        und = np.flatnonzero(~done)
        room = room0[:, j]
        if und.size:
            _settle(col, j, xj, a, und, h, side, floor, room, f0, sens, eps, opts,
                    (e0, r0, l0, rt0, k0, v0), est, err, left, right, step, status, reason)
            _on_bound(col, j, xj, a, und, h, f0, sens, eps, opts, (xj == lo) | (xj == hi),
                      est, err, left, right, step, status, reason)
        finer(col, j, xj, a, side, f0, sens, eps, opts, est, err, left, right, step, status, reason)
        above(col, j, xj, a, h, side, room, f0, sens, eps, opts, est, err, left, right, step, status, reason)
        averaged(col, j, xj, a, side, f0, sens, floor, eps, opts, est, err, left, right, step, status, reason)
        _unmoved(a, f0, sens, eps, opts, est[:, j], left[:, j], right[:, j], step[:, j], status[:, j], reason[:, j])
        # FAILs on a loss flat at the ladder's steps: a staircase coarser than them, seen at larger steps
        stepped(col, j, xj, a, h, side, room0[:, j], f0, opts, est, err, left, right, step, status, reason, notes, role)
        if method == "complex":
            seen_kink[:, j] = k0
            if cbuf is None:
                cbuf = x2.astype(np.complex128)
            cest[:, j] = complex_step.column(ev, role, x, cbuf, j, xj, h)
    if method == "complex":
        complex_step.adopt(role, x.size, cest.reshape(-1), g2.reshape(-1), est.reshape(-1), err.reshape(-1),
                           left.reshape(-1), right.reshape(-1), status.reshape(-1), reason.reshape(-1), opts,
                           seen_kink.reshape(-1), notes)
    return est, err, left, right, status, reason, step, (float(median(rel_noise)) if rel_noise else 0.0)


def _pooled_noise(vals, f0, side) -> float:
    """The loss's typical noise relative to |l| along one column, from the fourth difference of
    the five first-rung values (one sample per element, pooled by its median) on <= 4096 rows."""
    fA, fB, fC, fD = (v[:: max(1, v.size // 4096)] for v in vals)
    f = f0[:: max(1, f0.size // 4096)]
    c = side[:: max(1, side.size // 4096)] == 0
    with np.errstate(all="ignore"):
        d4 = np.abs(fB - 4 * fD + 6 * f - 4 * fC + fA) / np.sqrt(70.0) / 0.6745
        rel = d4 / np.abs(f)
    rel = rel[c & np.isfinite(rel)]
    return float(median(rel)) if rel.size else 0.0


def _settle(col, j, xj, a_all, und, h_all, side_all, floor_all, room_all, f0_all, sens_all, eps, opts, first,
            est, err, left, right, step, status, reason):
    """The elements ``und`` of column j that the first rung did not settle: noise measured, the
    ladder h/16, h/256 (h/4096 where h/256 alone is clean), and a verdict that two step sizes
    stand behind."""
    a, side, f0, sens = a_all[und], side_all[und], f0_all[und], sens_all[und]
    floor = np.maximum(floor_all[und], stepping.floor(xj[und], eps))
    v0 = [v[und] for v in first[5]]
    rungs = []
    # rung 1 with the noise table: σ measured per element, then the first rung judged again with it
    h1 = np.maximum(h_all[und] / stepping.RUNG_FACTOR, floor)
    e1, r1, l1, rt1, k1, _, table = rung(col, j, xj, und, h1, side, f0, sens, None, eps, True)
    h0 = h_all[und]
    fA, fB, fC, fD = v0
    # noise: differences of the table (ECnoise), at least half the quantum of quantised values,
    # half the level spacing of a staircase (values that tie at distinct points), and the rounding
    # of an O(1) intermediate (the 1 in log(1 + e^-|x|), sqrt(1 + d²) - 1), which a staircase
    # sampled one level per step hides from all three
    values = np.concatenate([table, np.stack(v0)])
    intermediate = eps * np.maximum.reduce([np.ones_like(f0), np.abs(f0), sens])
    # At a kink (as first seen) the table's differences and ties measure the kink, not noise:
    # there only the intermediate's rounding counts. A quantum counts when neighbouring values
    # lie many quanta apart (exact dyadic steps of a linear piece are no quantisation).
    ordered = np.where(side == 0, table, np.concatenate([table[:5], table[3:5]]))  # one-sided: 5 points
    gap = median(np.abs(np.diff(ordered, axis=0)), axis=0)
    q_all = quantum(values)
    q = np.where(16 * q_all <= gap, q_all, 0.0)
    measured = np.fmax(column_noise(table, side), 0.5 * np.fmax(q, staircase(ordered, values, 4 * intermediate)))
    # That intermediate is assumed, not seen: estimates at h and h/16 that agree 1e4 times closer
    # than its rounding would let them (both nonzero, no kink) refute it, and there the loss's own
    # scale stands (a loss of 1e-9 with no 1 inside it: a 1% error passed under the assumed 1's rounding).
    # Not where the values are quantised (q_all, one level a step or not): differences of such values
    # at steps of powers of two are exact multiples of the quantum, and agree exactly whatever
    # the intermediate's rounding hid (tversky's 1 - A/B at p = 3e-8: a correct gradient FAILed)
    # (nor where the values lie whole levels of the intermediate's spacing from f0, quantised before a
    # smooth function made them no exact multiples: log of a softmax's sum near 1)
    on_levels = levelled(values, f0, intermediate)
    refuted = refutes_intermediate(first[0][und], e1, h1, first[4][und] | k1, intermediate,
                                   np.where(on_levels, np.inf, q_all))
    intermediate = np.where(refuted, eps * np.fmax(np.abs(f0), sens), intermediate)
    sigma = np.fmax(np.where(first[4][und], 0.0, measured), intermediate)
    redo0 = richardson_from(f0, fA, fB, fC, fD, h0, sens, noise=sigma, eps=eps)
    if (side != 0).any():
        fwd = np.where(side < 0, -1.0, 1.0)
        o = one_sided_from(f0, fA, fC, fB, fwd * h0, sens, noise=sigma, eps=eps)
        redo0 = tuple(np.where(side == 0, c, s) for c, s in zip(redo0, o))
    rungs.append(redo0 + (h0,))
    # rung 1 again with σ (no new evaluations: the same values, a wider bound)
    e1, r1, l1, rt1, k1 = rejudge(table, f0, h1, side, sens, sigma, eps)
    rungs.append((e1, r1, l1, rt1, k1, h1))
    verdict = np.full(und.size, -1, dtype=np.int8)
    pick = np.zeros(und.size, dtype=np.intp)
    contested = np.zeros(und.size, dtype=bool)

    def decide(i_rung):
        e, r, l_, rt, kk, hh = rungs[i_rung]
        ok = (verdict < 0) & passes(a, e, r, kk, opts)
        # A smaller step's wider bound that merely covers what a larger step resolves is no pass:
        # where a larger step rejects the analytic value and the smaller one agrees with it, the
        # difference stands (a 1e-5 error under a loss of 1000, float32 code).
        for p in range(i_rung):
            ep, rp, _, _, kp, _ = rungs[p]
            dp, _, tp = tolerance(a, ep, rp, opts)
            with np.errstate(invalid="ignore"):
                held = ok & np.isfinite(ep) & ~kp & (dp > tp) & (np.abs(ep - e) <= rp + r)
            contested[held] = True
            ok &= ~held
        verdict[ok] = OK
        pick[ok] = i_rung

    def confirm(p, q):
        ep, rp, _, _, kp, _ = rungs[p]
        eq, rq, _, _, kq, _ = rungs[q]
        both = np.isfinite(ep) & np.isfinite(eq) & ~kp & ~kq
        agree = np.abs(ep - eq) <= rp + rq
        dp, _, tp = tolerance(a, ep, rp, opts)
        dq, _, tq = tolerance(a, eq, rq, opts)
        bad = (verdict < 0) & both & agree & (dp > tp) & (dq > tq)
        verdict[bad] = FAIL
        pick[bad] = p if np.all(rp <= rq) else np.where(rp[bad] <= rq[bad], p, q)

    decide(0)
    decide(1)
    confirm(0, 1)
    def rung_at(h, rows):
        """The next rung, at steps ``h``, for the elements ``rows`` (NaN elsewhere)."""
        e, r, l_, rt = (np.full(und.size, np.nan) for _ in range(4))
        k = np.zeros(und.size, dtype=bool)
        out = rung(col, j, xj, und[rows], h[rows], side[rows], f0[rows], sens[rows], sigma[rows], eps, False)
        e[rows], r[rows], l_[rows], rt[rows], k[rows] = out[:5]
        rungs.append((e, r, l_, rt, k, h))

    if (verdict < 0).any():
        h2 = np.maximum(h1 / stepping.RUNG_FACTOR, floor)
        rung_at(h2, np.flatnonzero(verdict < 0))
        decide(2)
        confirm(1, 2)
        confirm(0, 2)
    ladder = len(rungs)  # (the rungs every undecided element went down)
    # A kink or jump just beside x (1e-7 away) that h and h/16 cross and h/256 does not: one clean
    # rung is no verdict that two step sizes stand behind, so a fourth, h/4096, gives the second.
    if ladder == 3:
        h3 = np.maximum(h2 / stepping.RUNG_FACTOR, floor)
        more = np.flatnonzero((verdict < 0) & np.isfinite(rungs[2][0]) & ~rungs[2][4] & (h3 < h2))
        if more.size:
            rung_at(h3, more)
            decide(3)
            confirm(2, 3)
    if (contested & (verdict < 0)).any():
        sel = np.flatnonzero(contested & (verdict < 0) & (side == 0) & (_LARGEST * h0 < room_all[und]))
        bad = confirmed(col, j, xj, und[sel], a[sel], h0[sel], f0[sel], sens[sel], sigma[sel], eps, opts,
                         rungs[0][0][sel], rungs[0][1][sel], (4,))[0]
        verdict[sel[bad]] = FAIL
        pick[sel[bad]] = 0  # (the first step's estimate: the smaller bound of the two that agree)
    # a kink seen at the first rung whose estimate agrees anyway: the gradient is continuous
    # there and only the curvature jumps (Huber at ±δ); a kink, with a valid derivative. (Agrees
    # to a bound near --rtol: a jump beside x gives the first rung a bound that covers anything.)
    e0, r0 = rungs[0][0], rungs[0][1]
    curv = (verdict == OK) & rungs[0][4] & passes(a, e0, r0, np.zeros(und.size, dtype=bool), opts)
    with np.errstate(invalid="ignore"):
        curv &= r0 <= 64 * np.maximum(opts.rtol * np.maximum(np.abs(a), np.abs(e0)), opts.atol)
    verdict[curv] = KINK
    pick[curv] = 0
    # what is left: a persisting kink, a loss not finite around x, or estimates that disagree
    e_l, r_l, l_l, rt_l, k_l, h_l = rungs[ladder - 1]
    kinked = k_l & (rungs[ladder - 2][4] | rungs[0][4])
    finite_any = np.zeros(und.size, dtype=bool)
    for rg in rungs:
        finite_any |= np.isfinite(rg[0])
    left_over = verdict < 0
    in_br = in_bracket(a, l_l, rt_l, r_l, opts)
    sel = left_over & kinked
    verdict[sel & in_br] = KINK
    verdict[sel & ~in_br] = FAIL
    pick[sel] = ladder - 1
    why = np.where(sel & ~in_br, 2, np.where(sel | curv, 10, 0)).astype(np.int8)
    near = np.flatnonzero((sel | curv) & (side == 0) & (xj[und] != 0) & (np.abs(xj[und]) < _OWN * h_l))
    if near.size:
        _own_scale(col, j, xj, und, near, curv[near], a, f0, sens, sigma, eps, opts, rungs, verdict, pick, why)
    # a FAIL at steps that dwarf the element, set by its column's typical |x| (sin at x = 1.5 beside
    # x = 1e12 was stepped by 2e6, where the slopes of every period cancel): judged again at its own
    # scale, where a pass stands; anything else leaves the FAIL (a wrong gradient at x = 1e-12 of a
    # loss that curves at scale 1 is lost in the rounding at steps of 1e-17)
    dwarfed = np.flatnonzero((verdict == FAIL) & (side == 0) & (xj[und] != 0) & (_OWN * np.abs(xj[und]) < h0))
    if dwarfed.size:
        _own_scale(col, j, xj, und, dwarfed, np.ones(dwarfed.size, dtype=bool), a, f0, sens, None, eps, opts,
                   rungs, verdict, pick, why, clean=True)
    # a kink that persists down the ladder may still lie beside x, not at it (3·max(x, 1) at
    # x = 1 + 1e-9): below the ladder, two clean steps that agree judge the element
    beside = np.flatnonzero(sel & (np.abs(xj[und]) >= _OWN * h_l))
    if beside.size:
        ok, bad, found = descend(col, j, xj, und[beside], a[beside], h_l[beside], side[beside], f0[beside],
                                  sens[beside], eps, opts)
        if (ok | bad).any():
            full = [np.full(und.size, np.nan) for _ in range(5)]
            for arr, v in zip(full, found):
                arr[beside] = v
            rungs.append((*full[:4], np.zeros(und.size, dtype=bool), full[4]))
            for m, v, w in ((ok, OK, 0), (bad, FAIL, 1)):
                verdict[beside[m]], pick[beside[m]], why[beside[m]] = v, len(rungs) - 1, w
    # a FAIL at a kink holds only where the kink is one: a bend or jump narrower than every step
    # (poly1 at equal logits of 1e17) has slopes that bracket nothing. Steps go down to float64's
    # spacing for it; two clean ones that agree judge it, else it is undecided
    cand = np.flatnonzero((verdict == FAIL) & (why == 2))
    if cand.size and ladder >= 3:
        three = rungs[ladder - 3:ladder]
        moves = [rg[5][cand] / 2 for rg in three]  # (a slope at h/2 times h/2 is the change there)
        sides = [[rg[i][cand] * d for rg, d in zip(three, moves)] for i in (2, 3)]
        cand = cand[narrower(*sides, moves, f0[cand], sens[cand], eps)]
    else:
        cand = cand[:0]
    if cand.size:
        ok, bad, found = descend(col, j, xj, und[cand], a[cand], h_l[cand], side[cand], f0[cand], sens[cand], eps,
                                 opts, levels=_DEEPEST)
        full = [np.full(und.size, np.nan) for _ in range(5)]
        for arr, v in zip(full, found):
            arr[cand] = v
        rungs.append((*full[:4], np.zeros(und.size, dtype=bool), full[4]))
        for m, v, w in ((ok, OK, 0), (bad, FAIL, 1), (~ok & ~bad, INCONCLUSIVE, 18)):
            verdict[cand[m]], why[cand[m]] = v, w
        pick[cand[ok | bad]] = len(rungs) - 1
    nonfinite = left_over & ~sel & ~finite_any
    verdict[nonfinite] = INCONCLUSIVE
    why[nonfinite] = 4
    unstable = (verdict < 0)
    verdict[unstable] = INCONCLUSIVE
    why[unstable] = np.where(contested[unstable], 13, 5)
    # the best rung of an undecided element: the smallest finite error bound
    if unstable.any():
        errs = np.stack([np.where(np.isfinite(rg[0]) & np.isfinite(rg[1]), rg[1], np.inf) for rg in rungs])
        pick[unstable] = np.argmin(errs[:, unstable], axis=0)
    # A FAIL within 64x the tolerance (or where step h, which saw a kink, agreed to that) may rest on
    # steps whose tables round alike: 1 - σ(x) at x = 15 moves by near whole units of its spacing across
    # a table at dyadic steps, which biases their estimates alike, a noise no such table shows. Where
    # tables at the smallest step tried, at steps no power of two, measure noise that covers the
    # FAIL's difference, it is undecided here, and steps larger than the first judge it
    # (``climb.above``); elsewhere it stands (a gate 1e-7 wide that h sees as a kink and h/256
    # resolves shows no noise there, and its missing slope FAILs).
    e_p = np.choose(pick, [rg[0] for rg in rungs])
    with np.errstate(invalid="ignore"):
        near = np.abs(a - e_p) <= 64 * opts.rtol * np.maximum(np.abs(a), np.abs(e_p))
        # (or step h, which saw a kink, agreed with it to 64x the tolerance)
        near |= rungs[0][4] & passes(a, e0, r0, np.zeros(und.size, dtype=bool), opts) \
            & (r0 <= 64 * opts.rtol * np.maximum(np.abs(a), np.abs(e0)))
        doubted = (verdict == FAIL) & (why <= 1) & near
    if doubted.any():
        idx = np.flatnonzero(doubted)
        steps = np.stack([np.where(np.isfinite(rg[0]), rg[5], np.nan) for rg in rungs])[:, idx]
        smallest = np.nanmin(np.where(np.isnan(steps), np.inf, steps), axis=0)
        zeros = np.zeros(idx.size, dtype=np.int8)
        heard = np.zeros(idx.size)
        for odd in (0.7, 0.45):
            *_, table = rung(col, j, xj, und[idx], odd * smallest, zeros, f0[idx], sens[idx], None, eps, True)
            heard = np.fmax(heard, column_noise(table, zeros))
        h_p = np.choose(pick[idx], [rg[5][idx] for rg in rungs])
        with np.errstate(invalid="ignore"):
            doubted[idx] = np.abs(a[idx] - e_p[idx]) <= NOISE_SIGMAS * RICHARDSON_NOISE * heard / h_p
    verdict[doubted], why[doubted], pick[doubted] = INCONCLUSIVE, DOUBTED, 0
    failed = (verdict == FAIL) & (why == 0)
    why[failed] = 1
    rows = und
    for i_rung, rg in enumerate(rungs):
        m = pick == i_rung
        if not m.any():
            continue
        r_idx = rows[m]
        est[r_idx, j], err[r_idx, j], left[r_idx, j], right[r_idx, j] = rg[0][m], rg[1][m], rg[2][m], rg[3][m]
        step[r_idx, j] = rg[5][m]
    status[rows, j] = np.where(verdict == OK, OK, verdict)
    reason[rows, j] = np.where(verdict == OK, 11, why)


#: the largest step a check may take, in units of the first step h: 16h, and room around it
_LARGEST = 24
#: how far below the ladder a bend narrower than its steps is followed: h/16^12 (float64's spacing
#: stops it first: 4 ulps of x)
_DEEPEST = 12
#: a kink judged with steps above 1/_OWN of the element's own |x| is judged again at its own scale
_OWN = 64


def _own_scale(col, j, xj, und, near, agreed, a, f0, sens, sigma, eps, opts, rungs, verdict, pick,
               why, clean: bool = False) -> None:
    """Kinks seen at elements ``near`` that the steps dwarf (sqrt|x| at x = -3e-12 beside O(1)
    values of its column is stepped by 4e-9, across 0; relu at x = 1e-300): judged again at steps
    of the element's own scale, ε^(1/3)·|x| and a sixteenth of it (two rungs appended to
    ``rungs``). Smooth there and within the tolerance: ok; smooth at both, agreeing with each other
    and both rejecting the analytic value: FAIL; a kink at both: the kink's verdict stands; anything
    else: undecided (a verdict on slopes taken across a point the element is not at is none).
    ``agreed``: kinks whose estimate agreed with the analytic value; they become ok or stay kinks.
    ``clean``: ok only where the bound at the element's scale verifies the value to --rtol (a FAIL
    judged again: a bound wide from the rounding at its tiny steps would cover a wrong value).
    ``sigma`` None: the noise is measured at each of those steps."""
    rows = und[near]
    x = xj[rows]
    floor = stepping.floor(x, eps)
    h1 = np.maximum(stepping.pow2_floor(eps ** (1.0 / 3.0) * np.abs(x)), floor)
    h2 = np.maximum(h1 / stepping.RUNG_FACTOR, floor)
    zeros = np.zeros(near.size, dtype=np.int8)
    seen = []
    for h in (h1, h2):
        if sigma is None:  # (measured at this step: the noise the ladder's larger steps saw is the loss's shape)
            *_, table = rung(col, j, xj, rows, h, zeros, f0[near], sens[near], None, eps, True)
            least = eps * np.maximum.reduce([np.ones(near.size), np.abs(f0[near]), sens[near]])
            e, r, l_, rt, k = rejudge(table, f0[near], h, zeros, sens[near], np.fmax(column_noise(table, zeros), least),
                                      eps)
        else:
            e, r, l_, rt, k, values, _ = rung(col, j, xj, rows, h, zeros, f0[near], sens[near], sigma[near], eps,
                                              False)
        seen.append([e, r, l_, rt, k, h] + ([] if sigma is None else [values]))
    if sigma is not None:
        # the bound the ladder's steps assumed, the rounding of an O(1) intermediate, refuted at these
        # steps as at the ladder's (x³ at x = 5e-4 beside x = 1e6: a sign-flipped gradient -7.5e-7
        # passed under a bound of 3.6e-6 that estimates agreeing to 1e-18 deny)
        assumed = eps * np.maximum.reduce([np.ones(near.size), np.abs(f0[near]), sens[near]])
        (e1, *_), (e2, _, _, _, k2, _, v2) = seen
        q = quantum(np.concatenate([np.stack(seen[0][6]), np.stack(v2), f0[near][None]]))
        q = np.where(levelled(np.concatenate([np.stack(seen[0][6]), np.stack(v2)]), f0[near], assumed), np.inf, q)
        refuted = refutes_intermediate(e1, e2, h2, seen[0][4] | k2, assumed, q) & (sigma[near] <= assumed)
        if refuted.any():
            own = np.where(refuted, eps * np.fmax(np.abs(f0[near]), sens[near]), sigma[near])
            for s in seen:
                fA, fB, fC, fD = s[6]
                s[:5] = richardson_from(f0[near], fA, fB, fC, fD, s[5], sens[near], noise=own, eps=eps)
    for e, r, l_, rt, k, h, *_ in seen:
        full = [np.full(und.size, np.nan) for _ in range(4)]
        kk, hh = np.zeros(und.size, dtype=bool), np.full(und.size, np.nan)
        for arr, v in zip(full + [kk, hh], (e, r, l_, rt, k, h)):
            arr[near] = v
        rungs.append((*full, kk, hh))
    (e1, r1, _, _, k1, *_), (e2, r2, _, _, k2, *_) = seen
    an = a[near]
    ok = passes(an, e1, r1, k1, opts)
    if clean:
        ok &= r1 <= np.maximum(opts.rtol * np.maximum(np.abs(an), np.abs(e1)), opts.atol)
    d1, _, t1 = tolerance(an, e1, r1, opts)
    d2, _, t2 = tolerance(an, e2, r2, opts)
    with np.errstate(invalid="ignore"):
        bad = (~ok & np.isfinite(e1) & np.isfinite(e2) & ~k1 & ~k2 & (np.abs(e1 - e2) <= r1 + r2)
               & (d1 > t1) & (d2 > t2))
    bad &= ~agreed
    undecided = ~ok & ~bad & ~(k1 & k2) & ~agreed
    first = len(rungs) - 2
    for m, v, w in ((ok, OK, 0), (bad, FAIL, 1), (undecided, INCONCLUSIVE, 16)):
        verdict[near[m]], pick[near[m]], why[near[m]] = v, first, w


def _unmoved(a, f0, sens, eps, opts, est, left, right, step, status, reason) -> None:
    """Elements that pass only by their bound while the loss is exactly 0 at x and a step away on
    either side (numeric 0, both slopes 0), where the analytic value predicts a change of at least 4
    rounding levels of an O(1) intermediate: a clamp at 0 (relu, a hinge's flat side) made that 0, not
    rounding, and a nonzero analytic value FAILs (a hinge's wrong side 17 float32 ulps from its kink
    passed under a bound of 3.8). A loss that is not 0 there may hold larger intermediates whose
    rounding hides such a change (triplet's distances), and is left as it is."""
    with np.errstate(invalid="ignore"):
        level = eps * np.maximum(1.0, sens)
        flat = (status == OK) & (f0 == 0) & (est == 0) & (left == 0) & (right == 0) \
            & (np.abs(a) * step >= 4 * level) & (np.abs(a) > opts.atol)
    status[flat], reason[flat] = FAIL, 17


def _on_bound(col, j, xj, a_all, und, h_all, f0_all, sens_all, eps, opts, at_bound,
              est, err, left, right, step, status, reason) -> None:
    """Elements exactly on a bound of their domain whose one-sided estimate was not accepted:
    a clamp closer to the bound than any step (log_loss clips at 2.2e-16 above 0) is invisible
    from inside. Where the loss is defined beyond the bound (a clip makes it so), a central
    stencil sees the bound as a kink; an analytic value between the slope outside and the slope
    inside is a valid one-sided subgradient there."""
    sel = und[at_bound[und] & (status[und, j] != OK)]
    if not sel.size:
        return
    h, f0, sens, a = h_all[sel], f0_all[sel], sens_all[sel], a_all[sel]
    e, r, lft, rgt, k, _, _ = rung(col, j, xj, sel, h, np.zeros(sel.size, dtype=np.int8), f0, sens, None, eps, False)
    fine = np.isfinite(lft) & np.isfinite(rgt) & in_bracket(a, lft, rgt, r, opts) & k
    rows = sel[fine]
    est[rows, j], err[rows, j], left[rows, j], right[rows, j], step[rows, j] = e[fine], r[fine], lft[fine], rgt[fine], h[fine]
    status[rows, j] = KINK
    reason[rows, j] = 12
