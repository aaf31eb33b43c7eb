"""Checks beyond one element at a time: a stratified sample of a batch-coupled loss's elements,
random-direction probes bisected down to the bad elements, declared gradient identities
(checked without a tolerance) and the Taylor-remainder order."""

from __future__ import annotations

import numpy as np

from ..loss import Loss
from .draws import Draws
from .methods import EPS, H_SCALE, median, richardson_from


def sample_elements(shape: tuple, budget: int, rng: Draws) -> np.ndarray:
    """All elements within the budget; else a sample stratified over rows (every row when it can)."""
    total = int(np.prod(shape))
    if total <= budget:
        return np.arange(total)
    n = shape[0]
    per_row = total // n
    rows = np.linspace(0, n - 1, min(n, budget)).astype(np.intp)
    picks = rows * per_row + rng.integers(0, per_row, rows.size)
    extra = budget - picks.size
    if extra > 0:
        picks = np.concatenate([picks, rng.subset(total, extra)])
    return np.unique(picks)


def _directional(copies, x: np.ndarray, v: np.ndarray, sigma: float):
    """Richardson estimate of the directional derivative of the total along v, and its error
    bound (the loss's noise σ included): four copies, one call when the loss stacks them."""
    h = _scale(copies.eps) * max(1.0, float(np.max(np.abs(x))))
    fp, fm, fp2, fm2 = copies.sums(np.stack([h * v, -h * v, h / 2 * v, -h / 2 * v]))
    e, err, *_ = richardson_from(np.zeros(1), np.array([fp]), np.array([fm]), np.array([fp2]), np.array([fm2]),
                                 np.array([h]), noise=np.array([sigma]), eps=copies.eps)
    return float(e[0]), float(err[0])


def _agrees(analytic: float, numeric: float, err: float, rtol: float) -> bool:
    return abs(analytic - numeric) <= rtol * max(abs(analytic), abs(numeric)) + err


def _scale(eps: float) -> float:
    """A probe's step per unit of |x|: ε^(1/3) of the precision the loss computes in."""
    return H_SCALE if eps == EPS else eps ** (1.0 / 3.0)


def probe(ev, role, x, g, opts, rng, base_sum, plan=None, eps: float = EPS) -> list[dict]:
    """Random-direction probes; a failing probe is bisected down to the bad elements.

    A probe moves every element by a random multiple of one step h = ε^(1/3)·max(1, max |x|) (near
    0 the elements' own steps would be as blind as the element checks). Elements whose own first
    step (``plan``: the element checks' steps and sides over the role) is below h/64, and below
    1/64 of the other elements' own steps, are moved beyond the scale the loss bends at: a row of norm 1.4e-7 among rows of norm 1.7, which nt_xent
    normalises, was moved 150 times its norm, and the right gradient FAILed. Where a probe
    disagrees and such elements are in it, it is taken again without them, and they are probed
    apart at their own steps: each part judged, and bisected, at its steps.

    A failing probe always says what it found: the elements (``localised``), or, when no
    element of the bisected support fails on its own, ``status`` "inconclusive" with the
    ``reason`` (the discrepancy is spread below each element's tolerance, or the probe's error
    bound is too small) — never an empty list."""
    from .batch import copies_for

    copies = copies_for(ev, role, x, eps=eps)
    sigma = copies.noise()
    h = _scale(eps) * max(1.0, float(np.max(np.abs(x))))
    own = small = None
    if plan is not None:
        own = np.where(plan[1] == 0, plan[0], h).reshape(-1)
        # (small beside the probe's step and beside the other elements' own steps: a column of values
        # near 0 all have small steps, and the loss bends at the probe's scale, not theirs)
        small = (own < h / _SMALL) & (own < float(np.median(own)) / _SMALL)
        if not small.any():
            own = small = None
    out = []
    for p in range(opts.probes):
        v = rng.standard_normal(x.shape)
        numeric, err = _directional(copies, x, v, sigma)
        analytic = float(np.sum(g * v))
        ok = _agrees(analytic, numeric, err, opts.rtol)
        rec = {"role": role, "probe": p, "analytic": analytic, "numeric": numeric, "error_estimate": err,
               "passed": bool(ok)}
        parts: list = [(v.reshape(-1), np.arange(x.size), None)]
        if not ok and small is not None:
            flat = v.reshape(-1)
            parts = [(np.where(small, 0.0, flat), np.flatnonzero(~small), None),
                     (np.where(small, flat * own / h, 0.0), np.flatnonzero(small), own)]
            ok = True
            for d, _, steps in parts:
                n_d, e_d = _directional(copies, x, d.reshape(x.shape), sigma)
                ok &= _agrees(float(np.sum(g.reshape(-1) * d)), n_d, e_d, opts.rtol)
            if ok:
                rec["passed"] = True
                rec["note"] = (f"agrees when the {int(small.sum())} elements whose own steps are below 1/{_SMALL} "
                               "of the probe's step move by their own steps (the probe's step moved them beyond "
                               "the scale the loss bends at)")
        if not ok:
            found: list[list[int]] = []
            reason = None
            for d, support, steps in parts:
                got, reason = _bisect(ev, copies, x, g, d, support, opts, sigma, steps)
                found.extend(got)
            if found:
                rec["localised"] = found[:LOCALISED_MAX]
            else:
                rec["passed"], rec["status"], rec["reason"] = True, "inconclusive", reason
        out.append(rec)
    return out


#: elements whose own first step is below 1/_SMALL of a probe's step are probed apart, at their steps
_SMALL = 64
#: a support this small is checked element by element instead of halved further
PER_ELEMENT_SUPPORT = 16
#: a probe names at most this many elements (a gradient wrong everywhere would otherwise be
#: bisected element by element)
LOCALISED_MAX = 16


def _bisect(ev, copies, x, g, v, support, opts, sigma, steps=None) -> tuple[list[list[int]], str | None]:
    """Halve a failing probe's support until the failing elements are found: each half is a
    probe of its own; a support of PER_ELEMENT_SUPPORT elements is checked element by element
    (Richardson with its error bound), so what is returned is confirmed per element.

    When neither half fails on its own (the discrepancy is spread over both), the search goes on
    in the half with the larger share of it. Returns (the elements as index lists, None), or
    ([], the reason) when no element fails on its own."""
    if support.size <= PER_ELEMENT_SUPPORT:
        return _per_element(ev, copies, x, g, support, opts, sigma, steps)
    halves = (support[: support.size // 2], support[support.size // 2:])
    shares = []
    found: list[list[int]] = []
    failing = False
    for half in halves:
        d = np.zeros(x.size)
        d[half] = v[half]
        numeric, err = _directional(copies, x, d.reshape(x.shape), sigma)
        analytic = float(np.sum(g.reshape(-1)[half] * v[half]))
        tol = opts.rtol * max(abs(analytic), abs(numeric)) + err
        shares.append(abs(analytic - numeric) / tol if tol > 0 else np.inf)
        if shares[-1] > 1.0:
            failing = True
            if len(found) < LOCALISED_MAX:
                got, _ = _bisect(ev, copies, x, g, v, half, opts, sigma, steps)
                found.extend(got)
    if found:
        return found[:LOCALISED_MAX], None
    if not failing:
        got, _ = _bisect(ev, copies, x, g, v, halves[int(np.argmax(shares))], opts, sigma, steps)
        if got:
            return got, None
    return [], (f"the probe disagrees with the analytic gradient beyond its error bound, but no element "
                f"of its support fails on its own (bisected to {PER_ELEMENT_SUPPORT} elements, each "
                "checked): the discrepancy is spread below each element's tolerance, or the probe's "
                "error bound is too small")


def _per_element(ev, copies, x, g, support, opts, sigma, steps=None) -> tuple[list[list[int]], str | None]:
    """The elements of ``support`` whose own derivative disagrees with the analytic one (at a
    kink: whose analytic value is outside the one-sided slopes), at ``steps`` (over the role) where
    given."""
    from .batch import estimate_elements

    idx = np.sort(support)
    a = g.reshape(-1)[idx]
    est, err, left, right, kink, *_ = estimate_elements(ev, copies.role, x, "richardson", 0.0, idx, analytic=a,
                                                       opts=opts, base=copies.base, noise=sigma, eps=copies.eps,
                                                       steps=steps)
    bad = np.abs(a - est) > opts.rtol * np.maximum(np.abs(a), np.abs(est)) + err
    lo, hi = np.minimum(left, right), np.maximum(left, right)
    slack = opts.rtol * np.maximum(np.abs(lo), np.abs(hi)) + err
    bad = np.where(kink, (a < lo - slack) | (a > hi + slack), bad)
    found = [[int(i) for i in np.unravel_index(int(k), x.shape)] for k in idx[bad]]
    return found, None if found else "no element of the support fails on its own"


# -- checks that need no tolerance -----------------------------------------------------------------
def consistency(loss: Loss, grads: dict, arrays: dict) -> list[dict]:
    out = []
    for check in getattr(loss, "grad_checks", ()):
        kind, _, roles = check.partition(":")
        names = roles.split(",")
        if not all(n in grads for n in names):
            continue
        if kind == "rows_sum_to_zero":
            g = np.asarray(grads[names[0]])
            resid = float(np.max(np.abs(g.sum(axis=1)))) if g.ndim == 2 else 0.0
            scale = float(np.max(np.abs(g))) if g.size else 0.0
            text = f"gradient rows of {names[0]} sum to 0"
        elif kind == "roles_sum_to_zero":
            total = sum(np.asarray(grads[n]) for n in names)
            resid = float(np.max(np.abs(total)))
            scale = max(float(np.max(np.abs(grads[n]))) for n in names)
            text = f"gradients of {' + '.join(names)} sum to 0"
        else:
            continue
        out.append({"check": text, "residual": resid, "passed": bool(resid <= 1e-10 * max(scale, 1.0))})
    return out


def taylor(ev, role: str, x: np.ndarray, g: np.ndarray, rng, *, base: np.ndarray | None = None,
           bounds: tuple = (-np.inf, np.inf), eps: float = EPS, still: np.ndarray | None = None,
           atol: float = 0.0, rtol: float = 0.0, resolved: float = 0.0) -> dict:
    """Observed order of |f(x + t d) - f(x) - t gᵀd| as t halves: 2 right, 1 wrong.

    ``rng`` must be a stream of its own (not the one random inputs were drawn from: a direction
    equal to the input is exactly flat for scale-invariant losses, and the test says nothing).
    Each element moves in proportion to its scale and inside its domain (``bounds``: an element
    on a bound moves into the domain); the largest t grows with the precision's ε and the
    number of elements, so the remainder stands above the rounding of the summed losses.
    ``base``: the per-sample losses at x, when already known (saves an evaluation). ``still``:
    elements the probe leaves where they are (inconclusive ones: no derivative was found there,
    and a probe through sqrt(0) would read order 1/2 off a correct gradient; or ones judged at
    or near the smallest steps float64 resolves). ``atol``: gradient
    errors this small per element are not told apart from 0 (--atol); ``rtol``: nor errors of this
    fraction of each element's gradient (--rtol): a linear remainder within atol·Σ|d| +
    rtol·Σ|g·d| is no wrong gradient, as the element checks would not call it one; nor within
    ``resolved``·Σ|g·d|, the relative error a coarser precision's estimates resolve (float32: 1e-3)."""
    from .steps import scales

    x2 = x.reshape(x.shape[0], -1) if x.ndim else x.reshape(1, 1)
    s, room, (dist_lo, dist_hi) = scales(x2, *bounds)
    z = rng.standard_normal(x2.shape)
    on_bound = room <= 0
    if on_bound.any():
        z = np.where(on_bound, np.abs(z) * np.where(dist_lo <= dist_hi, 1.0, -1.0), z)
    reach = np.where(on_bound, s, np.minimum(s, room))
    if still is not None:
        if still.all():
            return {"role": role, "order": None, "passed": True,
                    "note": "every element is inconclusive, or judged at (or near) the smallest steps float64 "
                            "resolves (where no move of the probe is both smaller than the loss's bends and "
                            "larger than the spacing of x): no direction left to probe"}
        z = np.where(still.reshape(x2.shape), 0.0, z)
    n = x2.size
    d = (z * reach / max(np.sqrt(n), 1.25 * float(np.max(np.abs(z))))).reshape(x.shape)
    base = np.asarray(ev(role, x) if base is None else base, dtype=np.float64)
    f0 = float(np.sum(base))
    slope = float(np.sum(g * d))
    # the rounding of the summed losses, and of the moved point itself: x + t·d is rounded to the
    # loss's precision, which moves the loss by up to |g|·ε|x| per element (57384 × 1.1e-16 at
    # arcface's cos = 1 - 1.4e-7: ten times the first term there)
    noise = (64 * eps * float(np.sqrt(np.sum(base * base))) + 4 * EPS * float(np.sum(np.abs(base)))
             + eps * float(np.sum(np.abs(g * x))))
    t0 = min(1.0, max(1e-3, 625.0 * np.sqrt(eps * n)))
    ts = list(t0 * 0.5 ** np.arange(6))

    sums: list[float] = []

    def remainder(t):
        sums.append(float(np.sum(ev(role, x + t * d))))
        return abs(sums[-1] - f0 - t * slope)

    rem = [remainder(t) for t in ts]
    if not np.all(np.isfinite(rem)):  # (the probe left where the loss is defined: no order to read)
        return {"role": role, "order": None, "passed": True,
                "note": "the loss is not finite along the probe: no order measured"}
    order = _order(np.array(ts), np.array(rem), noise)
    if order is None:
        return {"role": role, "order": None, "passed": True,
                "note": f"the remainders are at the rounding level ({noise:.3g}: the summed losses' and that of the "
                        "moved point): the loss is linear along the probe, or curves less than its rounding; "
                        "no order to read, the element checks decide"}
    passed = order > 1.5 or _linear_rem(np.array(rem), float(np.sum(np.abs(g * d))), np.array(ts))
    if passed:
        return {"role": role, "order": order, "passed": True}
    # The summed loss did not move at all, at any t, while the change the gradient predicts is below
    # the rounding of the O(1) intermediates each sample's loss is computed from (sqrt(1 + d²) - 1 is
    # exactly 0 for |d| < 1e-8): the remainder is t·gᵀd by construction, order 1 whatever the gradient.
    # (A clamp, a loss exactly flat where the gradient says it moves by more, still FAILs.)
    level = 4 * eps * max(float(base.size), float(np.sum(np.abs(g * x))))
    if all(v == f0 for v in sums) and ts[0] * abs(slope) <= level:
        return {"role": role, "order": None, "passed": True,
                "note": f"the summed loss did not change along the probe at any t: the change its gradient "
                        f"predicts (at most {ts[0] * abs(slope):.3g}) is below the rounding of the O(1) "
                        f"intermediates it is computed from ({level:.3g}); no order to read, the element "
                        "checks decide"}
    allowed = atol * float(np.sum(np.abs(d))) + max(rtol, resolved) * float(np.sum(np.abs(g * d)))
    if rem[-1] <= allowed * ts[-1]:  # a gradient off by at most --atol, or --rtol, per element explains it
        within = f"--atol {atol:g} and --rtol {rtol:g}" if resolved <= rtol else \
            f"--atol {atol:g} and {resolved:g} relative (what the loss's precision resolves)"
        return {"role": role, "order": order, "passed": True,
                "note": f"the remainder's linear part ({rem[-1] / ts[-1]:.3g}·t) is within "
                        f"{within} per element along the probe ({allowed:.3g}·t): gradient "
                        "errors this small are not told apart from 0"}
    # The summed loss's own noise along the probe (ECnoise of 7 values at a spacing far below the
    # t's): a loss with cancellations (log(1 - c) at c = 1 - 1e-8 loses 8 digits) is noisy far
    # above ε·|l|, and remainders at that level read a random order.
    from .noise import ecnoise

    tau = ts[-1] / 64
    table = np.array([[float(np.sum(ev(role, x + k * tau * d))) if k else f0] for k in range(-3, 4)])
    measured = max(noise, 16 * float(ecnoise(table)[0]))
    seen = _order(np.array(ts), np.array(rem), measured)
    if seen is None:
        return {"role": role, "order": None, "passed": True,
                "note": f"the remainders are within the loss's noise along the probe ({measured:.3g}): no order to "
                        "read; the element checks decide"}
    if seen > 1.5:
        return {"role": role, "order": seen, "passed": True}
    # (otherwise the measured noise may be the loss's structure at x itself, a log at a bound: the
    # kink tests below keep the rounding estimate)
    # Order ~1: a wrong gradient, or kinks near x that the probe crosses (|p - t| of 1e-8 in L1).
    # Shrink t (4× a step): crossings stop below the nearest kink's distance and the linear part
    # of the remainder vanishes; a wrong gradient keeps rem/t at |Δg·d| down to the rounding.
    t, below = ts[-1], 0
    for _ in range(12):
        t /= 4
        ts.append(t)
        rem.append(remainder(t))
        below = below + 1 if rem[-1] <= noise else 0
        recent = _order(np.array(ts[-3:]), np.array(rem[-3:]), noise)
        if below >= 2 or (recent is not None and recent > 1.5):
            break
    ratios = [r / t_ for r, t_ in zip(rem, ts) if r > noise]
    # crossings: the remainder falls faster than t (to rounding) once t is below the kinks
    faded = bool(ratios) and ratios[-1] < 0.5 * ratios[0]
    # ... or drops from well above the rounding to it in one step (a linear remainder, 4× per step,
    # cannot: from 64× the rounding it reaches 16×)
    faded |= any(rem[i] > 64 * noise and rem[i + 1] <= noise for i in range(len(rem) - 1))
    if (recent is not None and recent > 1.5) or faded:
        return {"role": role, "order": order, "passed": True,
                "note": f"order {order:.2f} at t >= {ts[5]:.3g} from kinks near x crossed by the probe; "
                        f"by t = {ts[-1]:.3g} the linear part of the remainder is gone"}
    width = _kink_on_x(lambda t, sign: float(np.sum(ev(role, x + sign * t * d))) - f0 - sign * t * slope,
                       [t_ for t_, r in zip(ts, rem) if r > 64 * noise], noise)
    if width is not None:
        return {"role": role, "order": order, "passed": True,
                "note": f"order {order:.2f} from a kink at x itself, which no t is small enough to avoid: the "
                        f"remainders on the probe's two sides share a linear part ({width:.3g}·t, a kink's width "
                        "that no gradient removes; a wrong gradient gives them opposite signs): the Taylor test "
                        "cannot decide here, the element checks do"}
    return {"role": role, "order": order, "passed": False}


def _kink_on_x(signed, ts: list, noise: float) -> float | None:
    """A kink on x itself (an input exactly at the 0 of max(x, 0), a subgradient on one side):
    the remainders r±(t) = f(x ± t d) - f(x) ∓ t gᵀd. A wrong gradient Δg gives r± = ±t Δg·d + O(t²):
    their sum is O(t²). A kink on x adds the same t·(D(d) + D(-d)) to both, linear in t, at least
    half their difference. Returns that width per unit t, or None (not a kink on x); two
    evaluations at each of the two smallest t with a remainder well above the rounding."""
    if len(ts) < 2:
        return None
    sums = []
    for t in ts[-2:]:
        plus, minus = signed(t, 1.0), signed(t, -1.0)
        if not (np.isfinite(plus) and np.isfinite(minus)):
            return None
        width = plus + minus
        if abs(width) <= 16 * noise or abs(width) < 0.5 * abs(plus - minus):
            return None
        sums.append((t, width))
    (t1, w1), (t2, w2) = sums
    ratio = (w1 / w2) / (t1 / t2)  # 1 when the width is linear in t (a kink), t1/t2 for curvature
    return w2 / t2 if 0.8 <= ratio <= 1.25 else None


def _order(ts: np.ndarray, rem: np.ndarray, noise: float):
    """The median observed order of the remainders above ``noise`` (None with fewer than two)."""
    usable = rem > noise
    if usable.sum() < 2:
        return None
    r, t = rem[usable], ts[usable]
    orders = np.log2(r[:-1] / r[1:]) / np.log2(t[:-1] / t[1:])
    return float(median(orders))


def _linear_rem(r, scale, t) -> bool:
    """Order ~1 with a tiny remainder (a kink crossed by the probe) is not a wrong gradient: tiny
    beside ``scale``, Σ|g·d|, the size of the slope's terms. (Not beside an absolute 1: a loss of
    values near 1e-12 has a remainder far below 1 whatever its gradient, a doubled one too.)"""
    return bool(np.all(r < 1e-6 * scale * t))
