"""Batch-coupled roles: which coupling a role really has (measured, not declared), and each
element's derivative of the total with an error bound, at two evaluations per element.

- **Coupling, measured.** Moving half of a role's rows and watching the per-sample losses of the
  other half (then the other way round) tells a row-local role (InfoNCE's queries: l_i sees only
  q_i among the queries) from a batch-coupled one (its keys: every l_i sees every key). A change
  counts only when it is above the loss's rounding and flips sign with the step (a derivative
  does; rounding noise does not).
- **Perturbed copies at once.** When the loss broadcasts over a leading axis (checked: a stacked
  call must return what separate calls return), P perturbed copies are one call: the Python and
  dispatch cost of a call is paid once per P copies.
- **Two evaluations per element.** A central difference at h for every element; the noise of the
  loss (Moré–Wild's ECnoise on a table of its values) and the truncation (Richardson at h/2 on a
  sample of elements: how far a central difference at h is from the limit, per h²) bound its
  error. Elements whose estimate disagrees with the analytic value, or whose curvature looks like
  a kink, get the h/2 evaluations too: the Richardson estimate and its kink test decide them.
- **Differences of per-sample losses.** The derivative of the total is Σ_i (l_i(x + h) - l_i(x - h))/2h:
  samples the step does not reach contribute exactly 0, and no total of N losses is rounded.
"""

from __future__ import annotations

import time
import weakref

import numpy as np

from .methods import (COMPLEX_H, EPS, ERR_SAFETY, NOISE_SIGMAS, median, steps as default_steps,
                      one_sided_from, richardson_from)
from . import steps as stepping
from .draws import Draws
from .noise import ecnoise

#: elements (role size × copies) one stacked call may hold at most: an O(N²) loss's temporaries
#: stay tens of MB; within it the number of copies per call is tuned by timing (see Copies.sums)
STACK_ELEMENTS = 1 << 17
#: at most this many copies in one stacked call
MAX_STACK = 64
#: copies per call: every power of two from 2 up to the stack is timed over TUNE_CALLS calls (while
#: a call takes less than CALL_SECONDS), then the one with the cheapest copy is kept. Larger
#: stacks save Python's cost per call, but their temporaries leave the cache: infonce at N = 256
#: is fastest at 4-8 copies a call, ge2e at 16, both 1.2-1.4x slower at 64. (The timed calls do
#: the check's own work: nothing is evaluated twice.)
TUNE_CALLS = 2
CALL_SECONDS = 0.005
#: elements of the sample the truncation of a central difference is measured on
TRUNCATION_SAMPLE = 48
#: a central difference's noise, in units of σ/h: (f(x+h) - f(x-h))/2h weighs each value by 1/2h
CENTRAL_NOISE = 0.5 ** 0.5
#: noise of d(h/2) - d(h), in units of σ/h: weights 1/h on f(x ± h/2), 1/2h on f(x ± h): sqrt(2.5)
SPREAD_NOISE = 2.5 ** 0.5
#: relative spacing of the noise table (2^-26 ≈ 1.5e-8: the smooth part's third differences vanish)
NOISE_SPACING = 2.0 ** -26
NOISE_POINTS = 8


# -- evaluating perturbed copies -------------------------------------------------------------------
class Copies:
    """Per-sample losses at perturbed copies of one role, summed as differences from the base.

    ``stack`` is how many copies one call may hold: 1 unless the loss was seen to broadcast over
    a leading axis (a stacked call returning, copy by copy, what separate calls return). The
    copies per call are tuned by timing (see :meth:`_tune`)."""

    def __init__(self, ev, role: str, x: np.ndarray, base: np.ndarray, eps: float = EPS):
        self.ev, self.role, self.x = ev, role, x
        self.base = np.asarray(base)
        self.eps = eps
        self._sigma: float | None = None
        #: the median over the samples of each one's noise relative to its loss (what the record
        #: reports as the role's noise), once measured
        self.rel_noise: float | None = None
        self.stack = self._stack_size()
        self._chunk = min(2, self.stack)
        self._tuned = self._chunk == self.stack
        #: copies per call -> the seconds per copy of each call timed at that size
        self._timed: dict[int, list[float]] = {}

    def _stack_size(self) -> int:
        x = self.x
        cap = min(MAX_STACK, STACK_ELEMENTS // max(x.size, 1))
        if cap < 2 or x.ndim == 0:
            return 1
        step = default_steps(x)
        trial = x[None] + step[None] * Draws(7).signs((3,) + x.shape)
        try:
            stacked = np.asarray(self.ev(self.role, trial))
        except Exception:  # the loss's code refuses a stacked input: one copy per call
            return 1
        self.ev.count += 2  # one call, three copies
        if stacked.shape != (3,) + self.base.shape:
            return 1
        singles = np.stack([np.asarray(self.ev(self.role, t)) for t in trial])
        if singles.shape != stacked.shape:
            return 1
        scale = np.abs(singles) + np.mean(np.abs(singles))
        same = (np.abs(stacked - singles) <= 1e3 * self.eps * scale) | (
            np.isnan(stacked) & np.isnan(singles)) | (stacked == singles)
        return cap if bool(np.all(same)) else 1

    def sums(self, directions) -> np.ndarray:
        """Σ_i (l_i(x + d) - l_i(x)) for each direction d in ``directions`` (P, *x.shape), or
        for single-element moves given as ``(flat_index, delta)`` arrays."""
        if isinstance(directions, tuple):
            idx, delta = directions
            count = idx.size
        else:
            count = directions.shape[0]
        dtype = np.result_type(self.x, delta if isinstance(directions, tuple) else directions)
        out = np.empty(count, dtype=np.complex128 if np.iscomplexobj(np.zeros(0, dtype)) else np.float64)
        base = self.base.astype(out.dtype)
        start = 0
        while start < count:
            stop = min(count, start + self._chunk)
            began = time.perf_counter()
            if isinstance(directions, tuple):
                pert = np.broadcast_to(self.x, (stop - start,) + self.x.shape).astype(dtype)
                flat = pert.reshape(stop - start, -1)
                flat[np.arange(stop - start), idx[start:stop]] += delta[start:stop]
            else:
                pert = self.x[None] + directions[start:stop]
            vals = self._evaluate(pert)
            diff = vals.reshape(stop - start, -1) - base.reshape(1, -1)
            out[start:stop] = diff.sum(axis=1)
            if not self._tuned and stop - start == self._chunk:
                self._tune(time.perf_counter() - began)
            start = stop
        return out

    def _evaluate(self, pert: np.ndarray) -> np.ndarray:
        """Per-sample losses of each copy in ``pert`` (P, *x.shape): one call when the loss stacks,
        else one call per copy (also when a stacked call of another dtype, complex, fails)."""
        if self.stack > 1:
            try:
                vals = np.asarray(self.ev(self.role, pert))
            except Exception:  # stacks real copies but not these (complex): one at a time from now
                vals = None
            if vals is not None and vals.shape == (pert.shape[0],) + self.base.shape:
                self.ev.count += pert.shape[0] - 1
                return vals
            self.stack = self._chunk = 1
            self._tuned = True  # (one copy a call from now: nothing left to tune)
        return np.stack([np.asarray(self.ev(self.role, p)) for p in pert])

    def _tune(self, per_call: float) -> None:
        """Time TUNE_CALLS calls at each power of two of copies per call, doubling while a call
        takes less than CALL_SECONDS, then keep the size whose cheapest call was cheapest per copy:
        Python's cost per call is amortised until the temporaries of an O(N²) loss outgrow the
        cache. (Single timings on a shared machine vary by 2x: each size gets its best of two.)"""
        times = self._timed.setdefault(self._chunk, [])
        times.append(per_call / self._chunk)
        if len(times) < TUNE_CALLS:
            return
        if min(times) * self._chunk < CALL_SECONDS and 2 * self._chunk <= self.stack:
            self._chunk *= 2
            return
        self._chunk = min(self._timed, key=lambda size: min(self._timed[size]))
        self._tuned = True

    def noise(self, side: np.ndarray | None = None) -> float:
        """σ of the total (cached: see :meth:`_noise`)."""
        if self._sigma is None or side is not None:
            sigma = self._noise(side)
            if side is not None:
                return sigma
            self._sigma = sigma
        return self._sigma

    def _noise(self, side: np.ndarray | None = None) -> float:
        """σ of the total Σ_i l_i from one evaluation: ECnoise per sample on a table of the losses
        along one direction (every element moved, by 2^-26 of its magnitude), combined as
        independent; an upper bound for a step that moves one element (what it does not reach
        does not change at all)."""
        x = self.x
        # each element at its own scale, as the steps are (a row of norm 1e-10 is moved by 2^-26 of
        # its norm, not of the other rows': else its curvature reads as noise, 1e4 times the real)
        mag = stepping.scales(x.reshape(x.shape[0], -1), -np.inf, np.inf)[0].reshape(x.shape) if x.ndim else \
            np.maximum(np.abs(x), 1.0)
        mag = np.where(mag > 0, mag, 1.0)
        sign = np.where(np.arange(x.size).reshape(x.shape) % 2 == 0, 1.0, -1.0)
        if side is not None:
            sign = np.where(side.reshape(x.shape) != 0, side.reshape(x.shape), sign)
        d = NOISE_SPACING * mag * sign
        points = np.arange(NOISE_POINTS, dtype=np.float64)
        directions = points.reshape((-1,) + (1,) * x.ndim) * d[None]
        table = np.empty((NOISE_POINTS, self.base.size))
        start = 0
        while start < NOISE_POINTS:
            stop = min(NOISE_POINTS, start + self.stack)
            vals = self._evaluate(x[None] + directions[start:stop])
            table[start:stop] = np.real(vals).reshape(stop - start, -1)
            start = stop
        if not np.all(np.isfinite(table)):
            return float(self.eps * np.sum(np.abs(self.base)))
        sigma = ecnoise(table)
        with np.errstate(all="ignore"):
            rel = sigma / np.abs(np.real(self.base).reshape(-1))
        rel = rel[np.isfinite(rel)]
        self.rel_noise = float(median(rel)) if rel.size else 0.0
        # at least the rounding of the losses themselves (a table can come out exactly smooth)
        floor = self.eps * np.sqrt(np.sum(np.abs(self.base.reshape(-1)) ** 2))
        return float(max(np.sqrt(np.sum(sigma ** 2)), floor))


_COPIES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def copies_for(ev, role: str, x: np.ndarray, base=None, eps: float = EPS) -> Copies:
    """The :class:`Copies` of ``role`` for this evaluator, made once (its stacking test and noise
    table are paid once per role, whoever asks: the element estimates, the probes)."""
    per_ev = _COPIES.setdefault(ev, {})
    got = per_ev.get(role)
    if got is None or got.x.shape != x.shape or not np.array_equal(got.x, x) or got.eps != eps:
        # (a proxy: the cache must not keep the evaluator, its arrays, alive)
        got = Copies(weakref.proxy(ev), role, x, ev() if base is None else base, eps)
        per_ev[role] = got
    return got


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
def estimate_elements(ev, role: str, x: np.ndarray, method: str, base_sum: float, flat_idx: np.ndarray, *,
                      steps=None, side=None, opts=None, analytic=None, base=None, noise=None,
                      eps: float = EPS):
    """Batch coupling: each element's derivative of the total, with an error bound.

    Returns [estimate, error bound, left slope, right slope, kink, undecided] as arrays over
    ``flat_idx`` (undecided: estimates at smaller steps disagree, see ``_one_sided_ladder``).
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
        return [*_complex(copies, x, flat_idx), np.zeros(flat_idx.size, dtype=bool)]
    sigma = copies.noise(None if side is None else _full(side, x)) if noise is None else noise
    sigma_e = np.broadcast_to(np.asarray(sigma, dtype=np.float64), flat_idx.shape) if np.ndim(sigma) else \
        np.full(flat_idx.size, float(sigma))

    m = flat_idx.size
    est, err = np.empty(m), np.empty(m)
    left, right = np.empty(m), np.empty(m)
    kink, undecided = np.zeros(m, dtype=bool), np.zeros(m, dtype=bool)
    central = np.flatnonzero(sd == 0)
    one_sided = np.flatnonzero(sd != 0)

    if one_sided.size:
        hs = hh[one_sided] * sd[one_sided]
        idx = flat_idx[one_sided]
        f1, f2, f4 = (copies.sums((idx, hs / q)) for q in (1.0, 2.0, 4.0))
        e, r, lft, rgt, k = one_sided_from(np.zeros(idx.size), f1, f2, f4, hs, noise=sigma_e[one_sided], eps=eps)
        if analytic is not None:
            a = np.asarray(analytic, dtype=np.float64).reshape(-1)[one_sided]
            e, r, undecided[one_sided] = _one_sided_ladder(copies, x, idx, hs, a, e, r, sigma_e[one_sided], eps,
                                                           rtol, 1e-12 if opts is None else opts.atol)
            lft, rgt = e, e
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
            a = np.asarray(analytic, dtype=np.float64).reshape(-1)[central]
            refine |= np.abs(a - d1) > rtol * np.maximum(np.abs(a), np.abs(d1)) + err[central]
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
            where = central[todo]
            est[where], err[where], left[where], right[where], kink[where] = e, r, lft, rgt, k
    return [est, err, left, right, kink, undecided]


def _one_sided_ladder(copies, x, idx, hs, a, e, r, sigma, eps, rtol, atol):
    """One-sided elements (on or next to a bound) whose one estimate cannot stand alone: it
    rejects the analytic value, or its bound is wider than --rtol (a clip inside the step: bce
    clipped at 1e-7, at p = 0, under a step of 1e-6). Their estimates at h/16, h/256, h/4096 (three
    evaluations each, above 4 ulps): a rejection stands where the estimate at h/16 agrees with it;
    otherwise the first two agreeing smaller steps give the estimate (for a wide bound: only when
    they bound it 4x tighter). Returns (estimates, bounds, undecided: a rejection no two steps
    stood behind)."""
    e, r = e.copy(), r.copy()
    undecided = np.zeros(e.size, dtype=bool)
    with np.errstate(invalid="ignore"):
        mag = np.maximum(np.abs(a), np.abs(e))
        rejects = ~(np.abs(a - e) <= np.maximum(np.maximum(rtol * mag, r), atol))
        wide = ~rejects & (r > rtol * mag) & (r > atol)
    todo = np.flatnonzero(rejects | wide)
    if not todo.size:
        return e, r, undecided
    floor = stepping.floor(x.reshape(-1)[idx[todo]], eps)
    chain = [(e[todo], r[todo])]
    live = np.ones(todo.size, dtype=bool)
    for level in (1, 2, 3):
        h = np.sign(hs[todo]) * np.maximum(np.abs(hs[todo]) / 16.0 ** level, floor)
        f1, f2, f4 = (copies.sums((idx[todo], h / q)) for q in (1.0, 2.0, 4.0))
        chain.append(one_sided_from(np.zeros(todo.size), f1, f2, f4, h, noise=sigma[todo], eps=eps)[:2])
        (ep, rp), (ec, rc) = chain[-2], chain[-1]
        with np.errstate(invalid="ignore"):
            agree = live & np.isfinite(ep) & np.isfinite(ec) & (np.abs(ep - ec) <= rp + rc)
            if level == 1:  # (h/16 confirms the first step's rejection; a wide bound goes finer)
                agree &= rejects[todo]
            else:
                agree &= ~wide[todo] | (4 * np.maximum(rp, rc) <= r[todo])
        tighter = rp <= rc
        at = todo[agree]
        e[at], r[at] = np.where(tighter, ep, ec)[agree], np.where(tighter, rp, rc)[agree]
        live &= ~agree
    undecided[todo[live & rejects[todo]]] = True
    return e, r, undecided


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


def _complex(copies: Copies, x, flat_idx):
    """Complex step for every element, one evaluation each: Im f(x + ih)/h, exact to rounding for
    analytic code."""
    hc = COMPLEX_H * np.maximum(1.0, np.abs(x.reshape(-1)[flat_idx]))
    est = np.imag(copies.sums((flat_idx, 1j * hc))) / hc
    err = ERR_SAFETY * EPS * np.abs(est) + 1e-300
    return [est, err, est.copy(), est.copy(), np.zeros(est.size, dtype=bool)]
