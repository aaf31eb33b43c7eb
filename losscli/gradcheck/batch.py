"""Batch-coupled roles: which coupling a role really has (measured, not declared), and each
element's derivative of the total with an error bound, at two evaluations per element.

- **Coupling, measured.** Moving half of a role's rows and watching the per-sample losses of the
  other half (then the other way round) tells a row-local role (InfoNCE's queries: l_i sees only
  q_i among the queries) from a batch-coupled one (its keys: every l_i sees every key). A change
  counts only when it is above the loss's rounding and flips sign with the step (a derivative
  does; rounding noise does not).
- **Perturbed copies at once** (``copies.py``): P perturbed copies in one call where the loss
  broadcasts, and the noise of the total.
- **Two evaluations per element.** A central difference at h for every element; the noise of the
  loss (Moré–Wild's ECnoise on a table of its values) and the truncation (Richardson at h/2 on a
  sample of elements: how far a central difference at h is from the limit, per h²) bound its
  error. Elements whose estimate disagrees with the analytic value, or whose curvature looks like
  a kink, get the h/2 evaluations too: the Richardson estimate and its kink test decide them.
- **Below the first step.** An element differenced one-sided whose one estimate rejects the
  analytic value or bounds it loosely, and one that is a kink at h while x is away from 0 (a kink
  or jump beside it), go down smaller steps until two agree (``_one_sided_ladder``,
  ``_beside_kinks``); the step an estimate was taken at is reported.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .methods import (COMPLEX_H, EPS, ERR_SAFETY, NOISE_SIGMAS, steps as default_steps, one_sided_from,
                      richardson_from)
from . import steps as stepping
from .copies import Copies, copies_for
from .draws import Draws
from .result import passes, tolerance


#: elements of the sample the truncation of a central difference is measured on
TRUNCATION_SAMPLE = 48
#: a central difference's noise, in units of σ/h: (f(x+h) - f(x-h))/2h weighs each value by 1/2h
CENTRAL_NOISE = 0.5 ** 0.5
#: noise of d(h/2) - d(h), in units of σ/h: weights 1/h on f(x ± h/2), 1/2h on f(x ± h): sqrt(2.5)
SPREAD_NOISE = 2.5 ** 0.5


# -- coupling ----------------------------------------------------------------------------------------
def detect_coupling(ev, role: str, x: np.ndarray, declared: str, *, base=None, steps=None,
                    eps: float = EPS) -> str:
    """The coupling ``role`` has at ``x``: "batch" when moving some rows changes the per-sample
    losses of the others (by more than rounding; for a loss declared row-local, also with the
    sign of the step, so rounding is not read as coupling), "row" when it changes only their own; "elementwise" for a row-local role whose rows are single elements
    (or one declared elementwise: that is not refuted cheaply).

    Two evaluations for a loss declared row-local: a random half of the rows moved while the other
    half is watched, then the other way round, one more to confirm a change is a derivative; to
    find a declared batch-coupled role row-local, 2·log2(N), so that every pair of rows is split
    once (any change of another row's loss then keeps it batch-coupled). One for ``base`` when
    not given. The
    declared coupling when nothing can be measured (no loss moved, or every move leaves the
    domain)."""
    x = np.asarray(x, dtype=np.float64)
    if base is None:
        base = ev()
    base = np.asarray(base, dtype=np.float64)
    base = base.reshape(base.shape[0] if base.ndim else 1, -1)
    if x.ndim == 0:
        return "batch"
    n = x.shape[0]
    if base.shape[0] != n:  # its rows are not the samples (mnrl's k·N negatives)
        return "batch"
    if n < 2:
        return declared
    h = default_steps(x) if steps is None else np.broadcast_to(np.asarray(steps, dtype=np.float64), x.shape)
    flat = x.reshape(n, -1)
    rng = Draws(11)
    # random magnitudes, not ±h: steps in proportion to |x| with equal signs would move a row along
    # itself, which a scale-invariant loss (cosine similarities) does not see at all
    pattern = rng.standard_normal(flat.shape) * h.reshape(n, -1)
    # groups of rows moved while the others are watched: for a loss declared row-local, a random
    # half and the other half; to claim a declared batch-coupled role is row-local, every pair of
    # rows split at least once (the bits of a random numbering: 2·log2(N) groups), as a pair may
    # be coupled strongly while others barely are (softmax weights of e^-20)
    order = rng.permutation(n)
    bits = 1 if declared != "batch" else max(1, int(np.ceil(np.log2(n))))
    groups = [g for b in range(bits) for g in (((order >> b) & 1) == 1, ((order >> b) & 1) == 0)]
    seen = False
    for moved_rows in groups:
        d = np.where(moved_rows[:, None], pattern, 0.0).reshape(x.shape)
        up = _delta(ev, role, x, d, base)
        if up is None:  # outside the domain that way: the other way
            d = -d
            up = _delta(ev, role, x, d, base)
        if up is None:
            continue
        tol = 64.0 * eps * np.maximum(np.abs(base), np.abs(base + up)).max(axis=1)
        changed = np.abs(up).max(axis=1) > tol
        seen |= bool(changed[moved_rows].any())
        others = changed & ~moved_rows
        if not others.any():
            continue
        if declared == "batch":  # a row-local role is claimed only when nothing else moved at all
            return "batch"  # (a coupling read as "row" would fail correct gradients: never on a doubt)
        down = _delta(ev, role, x, -d, base)
        if down is None:
            continue
        # a derivative flips with the step and its second-order part is small; rounding does not
        up_o, down_o = up[others].max(axis=1), down[others].max(axis=1)
        odd = np.abs(up_o - down_o)
        if np.any((np.sign(up_o) == -np.sign(down_o)) & (np.abs(up_o + down_o) < 0.5 * odd)
                  & (odd > 2 * tol[others])):
            return "batch"
    if not seen:
        return declared
    if declared == "elementwise" or flat.shape[1] == 1:
        return "elementwise"
    return "row"


def _delta(ev, role, x, d, base):
    """Per-sample change of the losses (N, outputs per sample) when ``role`` moves by ``d``;
    None where the moved point is outside the loss's domain (non-finite losses)."""
    out = np.asarray(ev(role, x + d), dtype=np.float64)
    if out.size != base.size or not np.all(np.isfinite(out)):
        return None
    return out.reshape(base.shape) - base


# -- per-element estimates ----------------------------------------------------------------------------
class Estimates(NamedTuple):
    """A batch-coupled role's derivative estimates, as arrays over the elements asked for."""

    estimate: np.ndarray
    bound: np.ndarray
    left: np.ndarray
    right: np.ndarray
    kink: np.ndarray
    #: a rejection no two step sizes stood behind (``_one_sided_ladder``): nothing decides
    undecided: np.ndarray
    #: the step each estimate was taken at
    step: np.ndarray
    #: taken where two step sizes below the first agree: what they reject is rejected twice
    agreed: np.ndarray


def estimate_elements(ev, role: str, x: np.ndarray, method: str, base_sum: float, flat_idx: np.ndarray, *,
                      steps=None, side=None, opts=None, analytic=None, base=None, noise=None,
                      eps: float = EPS):
    """Batch coupling: each element's derivative of the total, with an error bound.

    Returns the :class:`Estimates` over ``flat_idx``.
    ``steps``/``side`` (steps and sides: 0 central, ±1 one-sided; over the whole role or over
    ``flat_idx``) come from the caller's domain-aware plan; ``noise`` is σ of the total (measured
    here when absent); ``analytic`` (over ``flat_idx``; by default the evaluator's loss's) with
    ``opts.rtol`` lets elements that disagree with it be refined at h/2, so that no verdict
    against the analytic value rests on the two-evaluation estimate alone. Complex step: one
    evaluation per element (the caller compares a sample with Richardson and falls back)."""
    rtol = 1e-6 if opts is None else opts.rtol
    x = np.asarray(x, dtype=np.float64)
    flat_idx = np.asarray(flat_idx, dtype=np.intp)
    if analytic is None and method != "complex":
        analytic = _analytic_of(ev, role, x, flat_idx)
    copies = copies_for(ev, role, x, base, eps)
    hh = _over(steps, x, flat_idx, default_steps(x).reshape(-1)[flat_idx])
    sd = _over(side, x, flat_idx, np.zeros(flat_idx.size)).astype(np.int8) if side is not None else \
        np.zeros(flat_idx.size, dtype=np.int8)
    if method == "complex":
        return _complex(copies, x, flat_idx, hh)
    sigma = copies.noise(None if side is None else _full(side, x)) if noise is None else noise
    sigma_e = np.broadcast_to(np.asarray(sigma, dtype=np.float64), flat_idx.shape) if np.ndim(sigma) else \
        np.full(flat_idx.size, float(sigma))

    m = flat_idx.size
    est, err = np.empty(m), np.empty(m)
    left, right = np.empty(m), np.empty(m)
    kink, undecided, agreed = np.zeros(m, dtype=bool), np.zeros(m, dtype=bool), np.zeros(m, dtype=bool)
    taken = hh.copy()
    if analytic is not None:
        analytic = np.asarray(analytic, dtype=np.float64).reshape(-1)
    central = np.flatnonzero(sd == 0)
    one_sided = np.flatnonzero(sd != 0)

    if one_sided.size:
        hs = hh[one_sided] * sd[one_sided]
        idx = flat_idx[one_sided]
        f1, f2, f4 = (copies.sums((idx, hs / q)) for q in (1.0, 2.0, 4.0))
        e, r, lft, rgt, k = one_sided_from(np.zeros(idx.size), f1, f2, f4, hs, noise=sigma_e[one_sided], eps=eps)
        if analytic is not None:
            e, r, undecided[one_sided], agreed[one_sided], h_at = _one_sided_ladder(
                copies, x, idx, hs, analytic[one_sided], e, r, sigma_e[one_sided], eps, rtol,
                1e-12 if opts is None else opts.atol)
            lft, rgt, taken[one_sided] = e, e, np.abs(h_at)
        est[one_sided], err[one_sided], left[one_sided], right[one_sided], kink[one_sided] = e, r, lft, rgt, k

    if central.size:
        c_idx, c_h = flat_idx[central], hh[central]
        both = copies.sums((np.repeat(c_idx, 2), np.stack([c_h, -c_h], axis=1).reshape(-1)))
        fp, fm = both[0::2], both[1::2]
        d1 = (fp - fm) / (2 * c_h)
        curv = (fp + fm) / c_h ** 2  # f(x+h) + f(x-h) - 2f(x), the base differenced out
        # the truncation of a central difference at h, per h², measured on a sample at h/2
        in_sample = np.zeros(central.size, dtype=bool)  # (not np.unique: it imports numpy.ma, 10-20 ms)
        in_sample[np.linspace(0, central.size - 1, min(TRUNCATION_SAMPLE, central.size)).astype(np.intp)] = True
        sample = np.flatnonzero(in_sample)
        half = copies.sums((np.repeat(c_idx[sample], 2),
                            np.stack([c_h[sample] / 2, -c_h[sample] / 2], axis=1).reshape(-1)))
        d2 = (half[0::2] - half[1::2]) / c_h[sample]
        smooth = ~richardson_from(np.zeros(sample.size), fp[sample], fm[sample], half[0::2], half[1::2],
                                  c_h[sample], noise=sigma_e[central][sample], eps=eps)[4]
        # (less three standard deviations of the noise the difference carries)
        spread = np.abs(d2 - d1[sample]) - 3 * SPREAD_NOISE * sigma_e[central][sample] / c_h[sample]
        coeff = 4.0 / 3.0 * np.maximum(spread, 0.0) / c_h[sample] ** 2
        trunc_coeff = float(np.max(coeff[smooth])) if smooth.any() else float(np.max(coeff, initial=0.0))
        curv_bound = float(np.max(np.abs(curv[sample][smooth]))) if smooth.any() else np.inf
        noise_term = NOISE_SIGMAS * CENTRAL_NOISE * sigma_e[central] / c_h
        est[central] = d1
        err[central] = ERR_SAFETY * (trunc_coeff * c_h ** 2 + 4 * EPS * np.abs(d1)) + noise_term
        right[central], left[central] = fp / c_h, -fm / c_h
        # refine: the sample (already evaluated), elements whose curvature is beyond any smooth
        # one's (a kink's second difference grows like 1/h), and those that disagree with the
        # analytic value
        refine = in_sample.copy()
        gap_noise = NOISE_SIGMAS * sigma_e[central] / c_h ** 2
        refine |= (np.abs(curv) > 16.0 * curv_bound) & (np.abs(curv) > gap_noise)
        if analytic is not None:
            a = analytic[central]
            refine |= np.abs(a - d1) > rtol * np.maximum(np.abs(a), np.abs(d1)) + err[central]
            # and those whose bound is too wide to verify them: their own estimates at h/2 may show
            # the total's σ is not theirs (below)
            refine |= noise_term > rtol * np.maximum(np.abs(a), np.abs(d1))
        if method == "central":  # plain central differences, as asked: a kink (or jump) is told by the
            # one-sided slopes it already has, its second difference beyond any smooth element's
            # (and the sample's Richardson test), instead of failing a valid one-sided derivative
            jump = (np.abs(curv) > 16.0 * curv_bound) & (np.abs(curv) > gap_noise)
            jump[sample] |= ~smooth
            kink[central] = jump
            refine[:] = False
        todo = np.flatnonzero(refine)
        if todo.size:
            fresh = np.flatnonzero(refine & ~in_sample)
            fp2, fm2 = np.empty(central.size), np.empty(central.size)
            fp2[sample], fm2[sample] = half[0::2], half[1::2]
            if fresh.size:
                more = copies.sums((np.repeat(c_idx[fresh], 2),
                                    np.stack([c_h[fresh] / 2, -c_h[fresh] / 2], axis=1).reshape(-1)))
                fp2[fresh], fm2[fresh] = more[0::2], more[1::2]
            e, r, lft, rgt, k = richardson_from(np.zeros(todo.size), fp[todo], fm[todo], fp2[todo], fm2[todo],
                                                c_h[todo], noise=sigma_e[central][todo], eps=eps)
            # The total's σ is measured moving every element at once, and ties elsewhere that swap
            # make it jump: an element whose own central differences at h and h/2 agree a million
            # times closer than that σ allows refutes it, and is bounded by its own spread (a gradient
            # doubled beside ties, in an ordered weighted average, passed below a bound of 15369)
            half_d = (fp2[todo] - fm2[todo]) / c_h[todo]
            own = np.abs(d1[todo] - half_d) * c_h[todo]
            with np.errstate(invalid="ignore"):
                refuted = (d1[todo] * half_d > 0) & ~k & (own <= 1e-6 * sigma_e[central][todo])
            if refuted.any():
                sub = np.flatnonzero(refuted)
                floor = np.maximum(np.maximum(own[sub], EPS * abs(base_sum)), copies.coarse)
                e[sub], r[sub], lft[sub], rgt[sub], k[sub] = richardson_from(
                    np.zeros(sub.size), fp[todo][sub], fm[todo][sub], fp2[todo][sub], fm2[todo][sub], c_h[todo][sub],
                    noise=floor, eps=eps)
            where = central[todo]
            est[where], err[where], left[where], right[where], kink[where] = e, r, lft, rgt, k
            agreed[where[refuted]] = True
        # a kink beside x, not at it (a jump at 1 under x = 1 + 1e-9; relu's at x = 0 is at it)
        beside = central[kink[central] & (np.abs(x.reshape(-1)[c_idx]) >= 64 * c_h)]
        if beside.size and analytic is not None and opts is not None:
            settled, e, r, h_at = _beside_kinks(copies, x, flat_idx[beside], hh[beside], analytic[beside],
                                                sigma_e[beside], eps, opts)
            at = beside[settled]
            est[at], err[at], left[at], right[at], taken[at] = e[settled], r[settled], e[settled], e[settled], \
                h_at[settled]
            kink[at], agreed[at] = False, True
    return Estimates(est, err, left, right, kink, undecided, taken, agreed)


def _beside_kinks(copies, x, idx, h, a, sigma, eps, opts):
    """Elements whose central estimate at h (and h/2) crossed a kink or jump beside x: followed
    down central rungs h/16, h/256, ... h/2^20 (above 4 ulps; Richardson at each, four evaluations
    an element, with the total's noise), until two consecutive rungs free of kinks agree. Judged
    there as ``finer.descend`` judges row-local elements: settled where the tighter rung passes,
    or where both reject the analytic value; a kink still otherwise. Returns (settled, estimate,
    bound, step)."""
    n = idx.size
    settled = np.zeros(n, dtype=bool)
    found = [np.full(n, np.nan) for _ in range(3)]
    live = np.arange(n)
    floor = stepping.floor(x.reshape(-1)[idx], eps)
    prev = None
    for level in range(1, 6):
        if not live.size:
            break
        hl = np.maximum(h[live] / stepping.RUNG_FACTOR ** level, floor[live])
        moves = np.stack([hl, -hl, hl / 2, -hl / 2], axis=1).reshape(-1)
        fp, fm, fp2, fm2 = copies.sums((np.repeat(idx[live], 4), moves)).reshape(-1, 4).T
        e, r, _, _, k = richardson_from(np.zeros(live.size), fp, fm, fp2, fm2, hl, noise=sigma[live], eps=eps)
        cur = (e, r, hl, k)
        if prev is not None:
            ep, rp, _, kp = prev
            with np.errstate(invalid="ignore"):
                pair = np.isfinite(ep) & np.isfinite(e) & ~kp & ~k & (np.abs(ep - e) <= rp + r)
            best = [np.where(rp <= r, u, v) for u, v in zip(prev[:3], cur[:3])]  # (the tighter of the two)
            al = a[live]
            good = pair & passes(al, best[0], best[1], np.zeros(live.size, dtype=bool), opts)
            dp, _, tp = tolerance(al, ep, rp, opts)
            dc, _, tc = tolerance(al, e, r, opts)
            done = good | (pair & (dp > tp) & (dc > tc))
            settled[live[done]] = True
            for out, v in zip(found, best):
                out[live[done]] = v[done]
            keep = ~done & (hl > floor[live])
            live, cur = live[keep], tuple(v[keep] for v in cur)
        prev = cur
    return settled, *found


def _one_sided_ladder(copies, x, idx, hs, a, e, r, sigma, eps, rtol, atol):
    """One-sided elements (on or next to a bound) whose one estimate cannot stand alone: it
    rejects the analytic value, or its bound is wider than --rtol (a clip inside the step: bce
    clipped at 1e-7, at p = 0, under a step of 1e-6). Their estimates at h/16, h/256, h/4096 (three
    evaluations each, above 4 ulps): a rejection stands where the estimate at h/16 agrees with it;
    otherwise the first two agreeing smaller steps give the estimate (for a wide bound: only when
    they bound it 4x tighter). Returns (estimates, bounds, undecided: a rejection no two steps
    stood behind, agreed: taken where two steps agree, steps the estimates were taken at)."""
    e, r, taken = e.copy(), r.copy(), hs.copy()
    undecided, agreed = np.zeros(e.size, dtype=bool), np.zeros(e.size, dtype=bool)
    with np.errstate(invalid="ignore"):
        mag = np.maximum(np.abs(a), np.abs(e))
        rejects = ~(np.abs(a - e) <= np.maximum(np.maximum(rtol * mag, r), atol))
        wide = ~rejects & (r > rtol * mag) & (r > atol)
    todo = np.flatnonzero(rejects | wide)
    if not todo.size:
        return e, r, undecided, agreed, taken
    floor = stepping.floor(x.reshape(-1)[idx[todo]], eps)
    chain = [(e[todo], r[todo], hs[todo])]
    live = np.ones(todo.size, dtype=bool)
    for level in (1, 2, 3):
        h = np.sign(hs[todo]) * np.maximum(np.abs(hs[todo]) / 16.0 ** level, floor)
        f1, f2, f4 = (copies.sums((idx[todo], h / q)) for q in (1.0, 2.0, 4.0))
        chain.append((*one_sided_from(np.zeros(todo.size), f1, f2, f4, h, noise=sigma[todo], eps=eps)[:2], h))
        (ep, rp, hp), (ec, rc, hc) = chain[-2], chain[-1]
        with np.errstate(invalid="ignore"):
            agree = live & np.isfinite(ep) & np.isfinite(ec) & (np.abs(ep - ec) <= rp + rc)
            if level == 1:  # (h/16 confirms the first step's rejection; a wide bound goes finer)
                agree &= rejects[todo]
            else:
                agree &= ~wide[todo] | (4 * np.maximum(rp, rc) <= r[todo])
        tighter = rp <= rc
        at = todo[agree]
        e[at], r[at], taken[at] = (np.where(tighter, p, c)[agree] for p, c in ((ep, ec), (rp, rc), (hp, hc)))
        agreed[at] = True
        live &= ~agree
    undecided[todo[live & rejects[todo]]] = True
    return e, r, undecided, agreed, taken


def _analytic_of(ev, role, x, flat_idx):
    """The analytic gradient over ``flat_idx`` from the evaluator's own loss (check.py's counter
    carries it), so that disagreeing elements are refined even when the caller does not pass it;
    None when the evaluator carries no loss or the gradient has another shape."""
    loss, arrays, params = (getattr(ev, a, None) for a in ("loss", "arrays", "params"))
    if loss is None or arrays is None:
        return None
    try:
        g = np.asarray(loss.gradient_of(arrays, params or {}).get(role), dtype=np.float64)
    except Exception:  # no gradient to compare with: the estimates stand alone
        return None
    return g.reshape(-1)[flat_idx] if g.shape == x.shape else None


def _over(v, x, flat_idx, default):
    """``v`` (over the whole role, or already over ``flat_idx``) as an array over ``flat_idx``."""
    if v is None:
        return default
    a = np.asarray(v)
    if a.size == x.size and a.size != flat_idx.size:
        return a.reshape(-1)[flat_idx].astype(np.float64)
    if a.size == flat_idx.size:
        return a.reshape(-1).astype(np.float64)
    return np.broadcast_to(a.astype(np.float64), flat_idx.shape).copy()


def _full(v, x):
    a = np.asarray(v)
    return a.reshape(x.shape) if a.size == x.size else None


def _complex(copies: Copies, x, flat_idx, h) -> Estimates:
    """Complex step for every element, one evaluation each: Im f(x + ih)/h, exact to rounding for
    analytic code (reported at the real step ``h`` it is compared with Richardson at, as
    row-local roles report it)."""
    hc = COMPLEX_H * np.maximum(1.0, np.abs(x.reshape(-1)[flat_idx]))
    est = np.imag(copies.sums((flat_idx, 1j * hc))) / hc
    err = ERR_SAFETY * EPS * np.abs(est) + 1e-300
    none = np.zeros(est.size, dtype=bool)
    return Estimates(est, err, est.copy(), est.copy(), none, none, h, none)
