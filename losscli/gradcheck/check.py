"""Element-by-element verification of a loss's analytic gradient against numeric derivatives.

What it does that torch.autograd.gradcheck does not:

- **Every element, few evaluations.** For ``elementwise`` and ``row`` losses (the coupling is
  measured, not taken on trust), sample i's loss depends on row i only, so perturbing one
  trailing position (a "column") of *all* rows at once and reading the per-sample losses gives
  that column's derivative in every row: a full check costs 4·K + a few evaluations (K =
  elements per row), independent of N. ``batch`` losses are estimated in ``batch.py``.
- **Steps that respect the data** (``steps.py``): scaled with the element, inside the role's
  declared domain (shrunk near a bound, one-sided on one), chosen for the precision the loss
  computes in (float32 code is detected).
- **An error bound per element**: Richardson extrapolation of central differences at h and
  h/2; the bound adds the truncation estimate and the rounding noise of the loss, measured for
  the elements that need it with a table of differences (``noise.py``, ECnoise).
- **A ladder of steps for the elements not settled at once.** An element that disagrees, or
  shows a kink, is estimated again at h/16 and h/256. It FAILs only when two step sizes agree
  with each other and both disagree with the analytic value beyond their bounds; a kink must
  persist as the step shrinks (a clamp next to x is not a kink at x). Where the estimates keep
  disagreeing with each other, or the loss is not finite a step away, the element is
  ``inconclusive``, with the reason: never a FAIL the checker cannot stand behind.
- **Kinks are classified, not failed.** At a kink the analytic value must be a valid
  subgradient: inside the one-sided slopes, element by element and along the joint direction of
  the kinks of one row (a row max that gives 1 to both tied entries is caught).
- **Checks that need no tolerance.** Declared consistency checks and a Taylor-remainder test
  along an independent random direction.

Tolerance: an element passes when |a - n| <= max(rtol·max(|a|, |n|), error bound, atol); it is
``ok`` when that holds at the relative tolerance, ``below-noise`` when only the error bound or
``--atol`` (absolute) covers it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..engine.block import require_finite, require_per_sample
from ..errors import LossCliError
from ..registry import Loss
from . import Options
from . import steps as stepping
from .batch import detect_coupling, estimate_elements
from .methods import EPS, ERR_SAFETY, one_sided_from, richardson_from
from .noise import ecnoise, quantum, staircase
from .probes import consistency, probe, sample_elements, taylor

STATUSES = ("ok", "below-noise", "kink", "inconclusive", "FAIL")
OK, BELOW, KINK, INCONCLUSIVE, FAIL = range(len(STATUSES))
_NAMES = np.array(STATUSES)

#: why an element got its status (codes stored per element; text in ``worst``)
REASONS = {
    0: "",
    1: "numeric and analytic differ beyond the tolerance, at two step sizes that agree with each other",
    2: "at a kink, the analytic value is outside the one-sided slopes: not a valid subgradient",
    3: "at tied kinks of one row, the analytic gradient along their joint direction is outside its "
       "one-sided slopes: not a valid subgradient",
    4: "the loss is not finite a step away from x (NaN/inf at every step size): no numeric derivative",
    5: "numeric estimates at step sizes h, h/16, h/256 disagree with each other beyond their error "
       "bounds (noise, or structure of the loss at the step scale): undecided",
    6: "the analytic gradient is not finite",
    7: "the analytic gradient has the wrong shape",
    8: "numeric and analytic differ beyond the tolerance (one estimate per element)",
    9: "below the error bound or --atol: agrees within it, not verified to --rtol",
    10: "one-sided slopes differ (a kink); the analytic value lies between them",
    11: "numeric and analytic agree within the tolerance",
    12: "on a bound of its domain: the analytic value lies between the slope beyond the bound (where "
        "the loss clamps) and the slope inside",
}
#: rungs of the step ladder (h, h/16, h/256)
RUNGS = 3


@dataclass
class RoleResult:
    """Per-element results of one input role, as flat arrays over the checked elements."""

    role: str
    shape: tuple
    flat_index: np.ndarray
    analytic: np.ndarray
    numeric: np.ndarray
    err_est: np.ndarray
    left: np.ndarray
    right: np.ndarray
    status: np.ndarray | None = None  # names from STATUSES (fixed-width strings)
    rel_err: np.ndarray | None = None
    abs_err: np.ndarray | None = None
    tolerance: np.ndarray | None = None  # max(rtol·|g|, error bound, atol) per element
    step: np.ndarray | None = None  # the step the numeric value comes from
    reason: np.ndarray | None = None  # codes into REASONS
    codes: np.ndarray | None = None  # the status as indices into STATUSES (what counting uses)

    def status_codes(self) -> np.ndarray:
        """The status of each element as an index into STATUSES."""
        if self.codes is None:
            names = np.asarray(self.status).astype(str)
            self.codes = np.zeros(names.shape, dtype=np.int8)
            for i, s in enumerate(STATUSES):
                self.codes[names == s] = i
        return self.codes


@dataclass
class LossCheck:
    loss: str
    params: dict
    inputs: dict  # role -> shape
    checked: int = 0
    total_elements: int = 0
    evaluations: int = 0
    roles: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    consistency: list = field(default_factory=list)
    taylor: list = field(default_factory=list)
    probes: list = field(default_factory=list)
    method: str = "richardson"
    #: the precision the loss computes in, as detected ("float64", "float32", ...)
    precision: str = "float64"
    #: role -> the coupling measured ("elementwise" | "row" | "batch")
    couplings: dict = field(default_factory=dict)
    #: role -> the loss's noise level relative to |l| (median over the elements it was measured at)
    noise: dict = field(default_factory=dict)

    @property
    def counts(self) -> dict:
        out = {s: 0 for s in STATUSES}
        for r in self.roles:
            c = np.bincount(r.status_codes(), minlength=len(STATUSES))
            for i, s in enumerate(STATUSES):
                out[s] += int(c[i])
        return out

    @property
    def passed(self) -> bool:
        return (self.counts["FAIL"] == 0 and all(c["passed"] for c in self.consistency)
                and all(t["passed"] for t in self.taylor) and all(p["passed"] for p in self.probes))

    def _max(self, attr) -> float:
        """Largest value over the elements judged at the relative tolerance (ok, FAIL): a
        below-noise or kink element's relative difference says nothing about the gradient."""
        vals = []
        for r in self.roles:
            codes = r.status_codes()
            judged = (codes == OK) | (codes == FAIL)
            if judged.any():
                vals.append(float(np.max(getattr(r, attr)[judged])))
        return max(vals) if vals else 0.0

    @property
    def max_abs_error(self) -> float:
        return self._max("abs_err")

    @property
    def max_rel_error(self) -> float:
        return self._max("rel_err")

    def worst(self, k: int) -> list[dict]:
        """The k elements most worth a look: FAIL first, then inconclusive, kink, below-noise, ok;
        within a status, the largest |a - n| / tolerance."""
        rank_of = np.array([3, 3, 2, 1, 0])  # ok, below-noise, kink, inconclusive, FAIL
        rows = []
        for r in self.roles:
            if not r.rel_err.size or k <= 0:
                continue
            codes = r.status_codes()
            ranks = rank_of[codes]
            order_parts = []
            for level in range(4):  # the best k of each rank, without sorting every element
                idx = np.flatnonzero(ranks == level)
                if not idx.size:
                    continue
                with np.errstate(all="ignore"):
                    ex = r.abs_err[idx] / np.maximum(r.tolerance[idx], 1e-300)
                ex = np.where(np.isfinite(ex), ex, np.inf)
                if idx.size > k:
                    part = np.argpartition(-ex, k - 1)[:k]
                    idx, ex = idx[part], ex[part]
                order_parts.append(idx[np.argsort(-ex, kind="stable")])
                if sum(p.size for p in order_parts) >= k:
                    break
            tol = np.maximum(r.tolerance, 1e-300)
            for i in np.concatenate(order_parts)[:k] if order_parts else []:
                excess = float(r.abs_err[i] / tol[i]) if np.isfinite(r.abs_err[i]) else np.inf
                rows.append((int(ranks[i]), -excess, {
                    "role": r.role,
                    "index": [int(v) for v in np.unravel_index(int(r.flat_index[i]), r.shape)],
                    "analytic": float(r.analytic[i]), "numeric": float(r.numeric[i]),
                    "abs_error": float(r.abs_err[i]), "rel_error": float(r.rel_err[i]),
                    "error_estimate": float(r.err_est[i]), "tolerance": float(r.tolerance[i]),
                    "step": float(r.step[i]) if r.step is not None else float("nan"),
                    "status": STATUSES[int(codes[i])],
                    "left_slope": float(r.left[i]), "right_slope": float(r.right[i]),
                    "reason": REASONS[int(r.reason[i])] if r.reason is not None else "",
                }))
        rows.sort(key=lambda w: (w[0], w[1]))
        return [w[2] for w in rows[:k]]


class _Counter:
    """Wraps the per-sample function and counts evaluations."""

    def __init__(self, loss: Loss, arrays: dict, params: dict):
        self.loss, self.arrays, self.params = loss, arrays, params
        self.count = 0
        self.order = [r.name for r in loss.inputs if r.name in arrays]

    def __call__(self, role: str | None = None, value=None) -> np.ndarray:
        self.count += 1
        args = [value if name == role else self.arrays[name] for name in self.order]
        with np.errstate(all="ignore"):
            out = np.asarray(self.loss.fn(*args, **self.params))
        if value is not None and np.may_share_memory(out, value):  # a view of the buffer we perturb
            out = out.copy()
        return out


# -- tolerance -----------------------------------------------------------------------------------
def _tolerance(a, n, err, opts: Options):
    """|a - n|, max(|a|, |n|) and the tolerance max(rtol·max(|a|, |n|), err, atol)."""
    diff = np.abs(a - n)
    mag = np.maximum(np.abs(a), np.abs(n))
    tol = np.maximum(np.maximum(opts.rtol * mag, err), opts.atol)
    return diff, mag, tol


def _passes(a, n, err, kink, opts: Options):
    diff, _, tol = _tolerance(a, n, err, opts)
    return np.isfinite(n) & ~kink & (diff <= tol)


def _in_bracket(a, left, right, err, opts: Options):
    lo, hi = np.minimum(left, right), np.maximum(left, right)
    slack = opts.rtol * np.maximum(np.abs(lo), np.abs(hi)) + err + opts.atol
    return (a >= lo - slack) & (a <= hi + slack)


# -- numeric estimates, one column of all rows at a time -----------------------------------------
class _Column:
    """Evaluations of the loss with one trailing position (column j) of every row moved."""

    def __init__(self, ev, role: str, x: np.ndarray):
        self.ev, self.role, self.shape = ev, role, x.shape
        self.buf = x.reshape(x.shape[0], -1).copy()

    def at(self, j: int, xj: np.ndarray, delta: np.ndarray) -> np.ndarray:
        np.add(xj, delta, out=self.buf[:, j])
        try:
            return np.asarray(self.ev(self.role, self.buf.reshape(self.shape)), dtype=np.float64).reshape(-1)
        finally:
            self.buf[:, j] = xj


def _rung(col: _Column, j, xj, rows, h, side, f0, sens, noise, eps, extra: bool):
    """Estimates at step h for ``rows`` of column j (central where side == 0, one-sided
    elsewhere); with ``extra``, two more evaluations complete a table of equally spaced values
    for the noise estimate. Returns (estimate, err, left, right, kink, values, table)."""
    n = xj.size
    central = side == 0
    every = bool(central.all())
    fwd = np.where(side < 0, -1.0, 1.0)
    # per rung: central x±h, x±h/2; one-sided x+h, x+h/4, x+h/2 (and x itself) into the domain
    if every:
        plan = [h, -h, h / 2, -h / 2] + ([1.5 * h, -1.5 * h] if extra else [])
    else:
        plan = [np.where(central, h, fwd * h), np.where(central, -h, fwd * h / 4),
                np.where(central, h / 2, fwd * h / 2), np.where(central, -h / 2, 0.0)]
        if extra:
            plan += [np.where(central, 1.5 * h, fwd * 0.75 * h), np.where(central, -1.5 * h, 0.0)]
    vals = []
    for d in plan:
        if rows is None:
            full = d
        else:
            full = np.zeros(n)
            full[rows] = d
        out = col.at(j, xj, full)
        vals.append(out if rows is None else out[rows])
    fA, fB, fC, fD = vals[:4]
    table = None
    if extra:
        fE, fF = vals[4:]
        # central: x-3h/2 .. x+3h/2 at spacing h/2; one-sided: x .. x+h at spacing h/4
        table = np.where(central, np.stack([fF, fB, fD, f0, fC, fA, fE]),
                         np.stack([f0, fB, fC, fE, fA, fA, fA]))
    est, err, left, right, kink = richardson_from(f0, fA, fB, fC, fD, h, sens, noise=noise, eps=eps)
    if not every:
        o = one_sided_from(f0, fA, fC, fB, fwd * h, sens, noise=noise, eps=eps)
        est, err, left, right, kink = (np.where(central, c, s) for c, s in zip((est, err, left, right, kink), o))
    return est, err, left, right, kink, vals[:4], table


def _column_noise(table: np.ndarray, side: np.ndarray) -> np.ndarray:
    """σ per element from its table (7 points central, 5 one-sided)."""
    sigma = ecnoise(table)
    one = side != 0
    if one.any():
        sigma = np.where(one, ecnoise(table[:5]), sigma)
    return sigma


def _check_columns(ev, role, x, g, base, method, lo, hi, eps, opts: Options, notes: list):
    """Every element of a row-local role, column by column, down the ladder of steps where needed.
    Returns per-element arrays (estimate, err, left, right, status, reason, step) and the
    measured relative noise of the loss."""
    n = x.shape[0]
    x2 = x.reshape(n, -1)
    g2 = np.asarray(g, dtype=np.float64).reshape(n, -1)
    k = x2.shape[1]
    f0 = np.asarray(base, dtype=np.float64).reshape(-1)
    h0, side0, floor0 = stepping.plan(x2, lo, hi, eps)
    shape2 = (n, k)
    est, err, left, right, step = (np.empty(shape2) for _ in range(5))
    status = np.full(shape2, OK, dtype=np.int8)
    reason = np.full(shape2, 11, dtype=np.int8)
    col = _Column(ev, role, x)
    rel_noise: list[float] = []
    cbuf: np.ndarray | None = None
    cest = np.empty(shape2) if method == "complex" else np.empty(0)
    for j in range(k):
        xj, a = x2[:, j], g2[:, j]
        sens = np.abs(xj * a)
        h, side, floor = h0[:, j], side0[:, j], floor0[:, j]
        e0, r0, l0, rt0, k0, v0, _ = _rung(col, j, xj, None, h, side, f0, sens, None, eps, False)
        est[:, j], err[:, j], left[:, j], right[:, j], step[:, j] = e0, r0, l0, rt0, h
        rel_noise.append(_pooled_noise(v0, f0, side))
        done = _passes(a, e0, r0, k0, opts)
        und = np.flatnonzero(~done)
        if und.size:
            _settle(col, j, xj, a, und, h, side, floor, f0, sens, eps, opts,
                    (e0, r0, l0, rt0, k0, v0), est, err, left, right, step, status, reason)
            _on_bound(col, j, xj, a, und, h, f0, sens, eps, opts, (xj == lo) | (xj == hi),
                      est, err, left, right, step, status, reason)
        if method == "complex":
            if cbuf is None:
                cbuf = x2.astype(np.complex128)
            cest[:, j] = _complex_column(ev, role, x, cbuf, j, xj, h)
    if method == "complex":
        used, off = _adopt_complex(cest.reshape(-1), g2.reshape(-1), est.reshape(-1), err.reshape(-1),
                                   left.reshape(-1), right.reshape(-1), status.reshape(-1), reason.reshape(-1), opts)
        if off:
            where = (f"complex step is kept at the {used} elements where richardson resolves and confirms it, "
                     "richardson is used elsewhere" if used else "used richardson")
            notes.append(f"{role}: complex step disagrees with richardson at {off} of {x.size} elements "
                         f"(non-analytic code: abs, maximum, comparisons): {where}")
    return est, err, left, right, status, reason, step, (float(np.median(rel_noise)) if rel_noise else 0.0)


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
    return float(np.median(rel)) if rel.size else 0.0


def _settle(col, j, xj, a_all, und, h_all, side_all, floor_all, f0_all, sens_all, eps, opts, first,
            est, err, left, right, step, status, reason):
    """The elements ``und`` of column j that the first rung did not settle: noise measured, the
    ladder h/16, h/256, and a verdict that two step sizes stand behind."""
    a, side, f0, sens = a_all[und], side_all[und], f0_all[und], sens_all[und]
    floor = np.maximum(floor_all[und], stepping.floor(xj[und], eps))
    v0 = [v[und] for v in first[5]]
    rungs = []
    # rung 1 with the noise table: σ measured per element, then the first rung judged again with it
    h1 = np.maximum(h_all[und] / stepping.RUNG_FACTOR, floor)
    e1, r1, l1, rt1, k1, _, table = _rung(col, j, xj, und, h1, side, f0, sens, None, eps, True)
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
    gap = np.median(np.abs(np.diff(ordered, axis=0)), axis=0)
    q = quantum(values)
    q = np.where(16 * q <= gap, q, 0.0)
    measured = np.fmax(_column_noise(table, side), 0.5 * np.fmax(q, staircase(ordered, values, 4 * intermediate)))
    sigma = np.fmax(np.where(first[4][und], 0.0, measured), intermediate)
    redo0 = richardson_from(f0, fA, fB, fC, fD, h0, sens, noise=sigma, eps=eps)
    if (side != 0).any():
        fwd = np.where(side < 0, -1.0, 1.0)
        o = one_sided_from(f0, fA, fC, fB, fwd * h0, sens, noise=sigma, eps=eps)
        redo0 = tuple(np.where(side == 0, c, s) for c, s in zip(redo0, o))
    rungs.append(redo0 + (h0,))
    # rung 1 again with σ (no new evaluations: the same values, a wider bound)
    e1, r1, l1, rt1, k1 = _rejudge(table, f0, h1, side, sens, sigma, eps)
    rungs.append((e1, r1, l1, rt1, k1, h1))
    verdict = np.full(und.size, -1, dtype=np.int8)
    pick = np.zeros(und.size, dtype=np.intp)

    def decide(i_rung):
        e, r, l_, rt, kk, hh = rungs[i_rung]
        ok = (verdict < 0) & _passes(a, e, r, kk, opts)
        verdict[ok] = OK
        pick[ok] = i_rung

    def confirm(p, q):
        ep, rp, _, _, kp, _ = rungs[p]
        eq, rq, _, _, kq, _ = rungs[q]
        both = np.isfinite(ep) & np.isfinite(eq) & ~kp & ~kq
        agree = np.abs(ep - eq) <= rp + rq
        dp, _, tp = _tolerance(a, ep, rp, opts)
        dq, _, tq = _tolerance(a, eq, rq, opts)
        bad = (verdict < 0) & both & agree & (dp > tp) & (dq > tq)
        verdict[bad] = FAIL
        pick[bad] = p if np.all(rp <= rq) else np.where(rp[bad] <= rq[bad], p, q)

    decide(0)
    decide(1)
    confirm(0, 1)
    if (verdict < 0).any():
        rest = np.flatnonzero(verdict < 0)
        h2 = np.maximum(h1 / stepping.RUNG_FACTOR, floor)
        e2, r2, l2, rt2, k2 = (np.full(und.size, np.nan) for _ in range(5))
        k2 = np.zeros(und.size, dtype=bool)
        out = _rung(col, j, xj, und[rest], h2[rest], side[rest], f0[rest], sens[rest], sigma[rest], eps, False)
        e2[rest], r2[rest], l2[rest], rt2[rest], k2[rest] = out[:5]
        rungs.append((e2, r2, l2, rt2, k2, h2))
        decide(2)
        confirm(1, 2)
        confirm(0, 2)
    # a kink seen at the first rung whose estimate agrees anyway: the gradient is continuous
    # there and only the curvature jumps (Huber at ±δ); a kink, with a valid derivative
    e0, r0 = rungs[0][0], rungs[0][1]
    curv = (verdict == OK) & rungs[0][4] & _passes(a, e0, r0, np.zeros(und.size, dtype=bool), opts)
    verdict[curv] = KINK
    pick[curv] = 0
    # what is left: a persisting kink, a loss not finite around x, or estimates that disagree
    last = rungs[-1]
    e_l, r_l, l_l, rt_l, k_l, h_l = last
    kinked = k_l & (rungs[-2][4] | rungs[0][4])
    finite_any = np.zeros(und.size, dtype=bool)
    for rg in rungs:
        finite_any |= np.isfinite(rg[0])
    left_over = verdict < 0
    in_br = _in_bracket(a, l_l, rt_l, r_l, opts)
    sel = left_over & kinked
    verdict[sel & in_br] = KINK
    verdict[sel & ~in_br] = FAIL
    pick[sel] = len(rungs) - 1
    why = np.where(sel & ~in_br, 2, np.where(sel | curv, 10, 0)).astype(np.int8)
    nonfinite = left_over & ~sel & ~finite_any
    verdict[nonfinite] = INCONCLUSIVE
    why[nonfinite] = 4
    unstable = (verdict < 0)
    verdict[unstable] = INCONCLUSIVE
    why[unstable] = 5
    # the best rung of an undecided element: the smallest finite error bound
    if unstable.any():
        errs = np.stack([np.where(np.isfinite(rg[0]) & np.isfinite(rg[1]), rg[1], np.inf) for rg in rungs])
        pick[unstable] = np.argmin(errs[:, unstable], axis=0)
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
    e, r, lft, rgt, k, _, _ = _rung(col, j, xj, sel, h, np.zeros(sel.size, dtype=np.int8), f0, sens, None, eps, False)
    fine = np.isfinite(lft) & np.isfinite(rgt) & _in_bracket(a, lft, rgt, r, opts) & k
    rows = sel[fine]
    est[rows, j], err[rows, j], left[rows, j], right[rows, j], step[rows, j] = e[fine], r[fine], lft[fine], rgt[fine], h[fine]
    status[rows, j] = KINK
    reason[rows, j] = 12


def _rejudge(table, f0, h, side, sens, sigma, eps):
    """Rung-1 estimates from its table of values with the measured noise σ."""
    fF, fB, fD, _, fC, fA, fE = table
    out = richardson_from(f0, fA, fB, fC, fD, h, sens, noise=sigma, eps=eps)
    if (side != 0).any():
        fwd = np.where(side < 0, -1.0, 1.0)
        # one-sided table: f0, f(h/4), f(h/2), f(3h/4), f(h)
        t0, t4, t2, _, t1 = table[:5]
        o = one_sided_from(t0, t1, t2, t4, fwd * h, sens, noise=sigma, eps=eps)
        out = tuple(np.where(side == 0, c, s) for c, s in zip(out, o))
    return out


def _complex_column(ev, role, x, cbuf, j, xj, h):
    """Complex-step estimates of column j of every row (one evaluation)."""
    hc = h * 2.0 ** -50  # any step far below rounding: nothing is subtracted
    cbuf[:, j] = xj + 1j * hc
    try:
        out = np.asarray(ev(role, cbuf.reshape(x.shape))).reshape(-1)
    finally:
        cbuf[:, j] = xj
    with np.errstate(all="ignore"):
        return np.imag(out) / hc if np.iscomplexobj(out) else np.zeros(out.shape)


def _adopt_complex(cest, g, est, err, left, right, status, reason, opts: Options) -> tuple[int, int]:
    """Where complex step is trusted, it replaces Richardson. Trusted: everywhere the role shows no
    disagreement between the two; once one element does (non-analytic code), only where
    Richardson itself resolves the derivative and agrees. Returns (elements using complex step,
    elements where the two disagree)."""
    with np.errstate(all="ignore"):
        mag = np.maximum(np.abs(cest), np.abs(est))
        settled = np.isfinite(est) & (status != KINK) & (status != INCONCLUSIVE)
        disagree = settled & ~(np.abs(cest - est) <= err + opts.rtol * mag)
        use = np.isfinite(cest) & (status != KINK)
        if disagree.any():
            use &= ~disagree & settled & (err <= opts.rtol * mag)
    est[use], err[use] = cest[use], ERR_SAFETY * EPS * np.abs(cest[use]) + 1e-300
    left[use], right[use] = cest[use], cest[use]
    ok = _passes(g[use], cest[use], err[use], np.zeros(int(use.sum()), dtype=bool), opts)
    status[use] = np.where(ok, OK, FAIL)
    reason[use] = np.where(ok, 11, 8)
    return int(use.sum()), int(disagree.sum())


def _joint_kinks(ev, role, x, g, base, status, reason, step, eps, opts: Options) -> None:
    """Rows with two or more kinks (ties of a max, of a sort): the analytic gradient along their
    joint direction must lie between the one-sided directional slopes there (two evaluations)."""
    n = x.shape[0]
    st2 = status.reshape(n, -1)
    at_kink = st2 == KINK
    multi = at_kink.sum(axis=1) >= 2
    if not multi.any():
        return
    v = np.where(at_kink & multi[:, None], step.reshape(n, -1) / 2, 0.0)
    f0 = np.asarray(base, dtype=np.float64).reshape(-1)
    fp = np.asarray(ev(role, x + v.reshape(x.shape)), dtype=np.float64).reshape(-1)
    fm = np.asarray(ev(role, x - v.reshape(x.shape)), dtype=np.float64).reshape(-1)
    right, left = fp - f0, f0 - fm
    slope = np.sum(np.asarray(g, dtype=np.float64).reshape(n, -1) * v, axis=1)
    noise = 64 * eps * np.maximum.reduce([np.abs(f0), np.abs(fp), np.abs(fm)])
    ok = _in_bracket(slope, left, right, noise, opts) | ~multi
    bad = (~ok)[:, None] & at_kink
    st2[bad] = FAIL
    reason.reshape(n, -1)[bad] = 3


def _batch_estimates(ev, role, x, method, base_sum, flat_idx, plan, opts: Options, notes: list, **extra):
    """Batch coupling: the per-element estimates of ``batch.py`` (given the domain-aware steps and
    sides, the options, the analytic values, the base losses and the precision, where it takes
    them); complex step checked against Richardson on a sample of elements."""
    kw = {"steps": plan[0], "side": plan[1], "opts": opts, **extra}
    out = estimate_elements(ev, role, x, method, base_sum, flat_idx, **kw)
    if method != "complex":
        return out
    sample = flat_idx[:: max(1, flat_idx.size // 16)][:16]
    pos = np.searchsorted(flat_idx, sample)
    ref = estimate_elements(ev, role, x, "richardson", base_sum, sample, **kw)
    c, r, rerr = np.asarray(out[0])[pos], np.asarray(ref[0]), np.asarray(ref[1])
    with np.errstate(all="ignore"):
        bad = ~(np.abs(c - r) <= rerr + opts.rtol * np.maximum(np.abs(c), np.abs(r)))
    if bad.any():
        notes.append(f"{role}: complex step disagrees with richardson at {int(bad.sum())} of {sample.size} "
                     "sampled elements (non-analytic code: abs, maximum, comparisons): used richardson")
        return estimate_elements(ev, role, x, "richardson", base_sum, flat_idx, **kw)
    return out


def _finish(rr: RoleResult, status: np.ndarray, reason: np.ndarray, opts: Options) -> None:
    """Errors, tolerances and the final status: a pass is ``ok`` when it holds at the relative
    tolerance, ``below-noise`` when only the error bound or --atol covers it."""
    a, n = rr.analytic, rr.numeric
    with np.errstate(all="ignore"):
        diff, mag, tol = _tolerance(a, n, rr.err_est, opts)
        rr.abs_err = np.where(np.isfinite(diff), diff, np.inf)
        rr.rel_err = np.where(diff == 0, 0.0, np.where(np.isfinite(diff), diff / np.where(mag > 0, mag, 1.0), np.inf))
    rr.tolerance = tol
    verified = (opts.rtol * mag >= np.maximum(rr.err_est, opts.atol)) | (diff == 0)
    below = (status == OK) & ~verified
    status = np.where(below, BELOW, status)
    reason = np.where(below, 9, reason)
    bad_a = ~np.isfinite(a)
    status = np.where(bad_a, FAIL, status)
    reason = np.where(bad_a, 6, reason)
    rr.codes, rr.reason = status.astype(np.int8), reason.astype(np.int8)
    rr.status = _NAMES[rr.codes]


def classify(rr: RoleResult, kinks: np.ndarray, opts: Options) -> None:
    """Status, reason and errors of single estimates per element (rr.numeric, rr.err_est, the
    one-sided slopes; ``kinks`` where they disagree): for checks that have one estimate per
    element (batch-coupled roles, parameters, second derivatives)."""
    a, est = rr.analytic, rr.numeric
    kinks = np.asarray(kinks, dtype=bool)
    ok = _passes(a, est, rr.err_est, kinks, opts)
    in_br = _in_bracket(a, rr.left, rr.right, rr.err_est, opts)
    nonfinite = ~np.isfinite(est)
    status = np.select([ok, kinks & in_br, kinks, nonfinite], [OK, KINK, FAIL, INCONCLUSIVE], FAIL)
    why = np.select([ok, kinks & in_br, kinks, nonfinite], [11, 10, 2, 4], 8)
    if rr.step is None:
        rr.step = np.full(np.shape(est), np.nan)
    _finish(rr, status, why, opts)


_classify = classify  # (the name other modules of this package imported first)


# -- the check of one loss -----------------------------------------------------------------------
def _complex_usable(ev: _Counter, role: str, x: np.ndarray) -> str | None:
    """None when complex-step applies to this loss; otherwise the reason it does not."""
    try:
        with np.errstate(all="ignore"):
            out = ev(role, x.astype(np.complex128) + 0j)
    except Exception as exc:  # the loss's numpy code refuses complex input
        return f"the loss's code fails on complex input ({type(exc).__name__}: {exc})"
    if not np.iscomplexobj(out):
        return ("the loss's code returns real values for complex input: a non-analytic operation "
                "(abs, maximum, clip, a comparison) drops the imaginary part")
    return None


def check_loss(loss: Loss, arrays: dict, params: dict, opts: Options) -> LossCheck:
    """Check every differentiable role of ``loss`` at ``arrays``."""
    # numeric derivatives at extreme inputs over- or underflow in intermediate steps: they are
    # judged by their results, never printed as warnings
    with np.errstate(all="ignore"):
        return _check(loss, arrays, params, opts)


def _precision_note(precision: str, out_dtype) -> str:
    eps = stepping.EPS_OF[precision]
    how = (f"its output is {out_dtype}" if np.dtype(out_dtype) != np.float64 else
           f"its values do not move when the inputs move by less than {precision}'s resolution")
    return (f"the loss computes in {precision} ({how}): steps ε^(1/3)·scale and error bounds with "
            f"ε = {eps:.3g}; expect most elements below-noise at --rtol {{rtol:g}}")


def _check(loss: Loss, arrays: dict, params: dict, opts: Options) -> LossCheck:
    if not loss.has_gradient:
        raise LossCliError(f"gradcheck: {loss.no_gradient_message()}")
    params = loss.resolve_params(params)
    ev = _Counter(loss, arrays, params)
    result = LossCheck(loss.name, params, {k: tuple(v.shape) for k, v in arrays.items()}, method=opts.method)
    grads = loss.gradient_of(arrays, params)
    base = ev()
    # one value per sample, finite (else there is no derivative to check): said as compute says it
    require_per_sample(loss, base, np.shape(arrays[ev.order[0]])[0])
    require_finite(loss, np.asarray(base, dtype=np.float64).reshape(-1), "loss", range(np.size(base)))
    # independent streams: the sample of elements, the probes, the Taylor direction (never the
    # stream random inputs were drawn from with the same seed)
    rng_sample, rng_probe, rng_taylor = (np.random.default_rng(s)
                                         for s in np.random.SeedSequence([opts.seed, 17]).spawn(3))
    base_sum = float(np.sum(np.asarray(base, dtype=np.float64)))
    levels = [name for name, _ in stepping.PRECISIONS]
    precision = "float64"
    kinked_roles = set()
    taylor_args = []
    for role in [r for r in loss.differentiable if r in arrays]:
        x = np.asarray(arrays[role], dtype=np.float64)
        g = np.asarray(grads.get(role)) if role in grads else None
        result.total_elements += x.size
        if g is None or g.shape != x.shape:
            got = "nothing" if g is None else f"shape {g.shape}"
            result.notes.append(f"{role}: the analytic gradient returned {got}, expected shape {x.shape}")
            bad = RoleResult(role, x.shape, np.arange(x.size), np.full(x.size, np.nan), np.zeros(x.size),
                             np.zeros(x.size), np.zeros(x.size), np.zeros(x.size), step=np.zeros(x.size))
            _finish(bad, np.full(x.size, FAIL), np.full(x.size, 7), opts)
            result.roles.append(bad)
            result.checked += x.size
            continue
        g = g.astype(np.float64)
        coupling = detect_coupling(ev, role, x, loss.coupling, base=base)
        result.couplings[role] = coupling
        if coupling != loss.coupling:
            result.notes.append(f"{role}: declared coupling '{loss.coupling}', but the loss is {coupling}-coupled "
                                f"(measured by perturbing rows and watching the others): checked as {coupling}")
        row_local = coupling in ("elementwise", "row")
        prec = stepping.detect_precision(ev, role, x, g, base, row_local)
        if levels.index(prec) > levels.index(precision):
            precision = prec
        eps = stepping.EPS_OF[prec]
        lo, hi = stepping.bounds(loss, role, x.ndim, params)
        method = opts.method
        if method == "complex":
            reason = _complex_usable(ev, role, x)
            if reason:
                result.notes.append(f"{role}: complex-step does not apply ({reason}); used richardson")
                method = "richardson"
        if row_local:
            est, err, left, right, status, why, step, rel_noise = _check_columns(
                ev, role, x, g, base, method, lo, hi, eps, opts, result.notes)
            flat_idx = np.arange(x.size)
            rr = RoleResult(role, x.shape, flat_idx, g.reshape(-1), est.reshape(-1), err.reshape(-1),
                            left.reshape(-1), right.reshape(-1), step=step.reshape(-1))
            status, why = status.reshape(-1), why.reshape(-1)
            _joint_kinks(ev, role, x, g, base, status, why, rr.step, eps, opts)
            result.noise[role] = rel_noise
        else:
            flat_idx = sample_elements(x.shape, opts.max_elements, rng_sample)
            if flat_idx.size < x.size:
                result.notes.append(f"{role}: batch-coupled, {x.size} elements > --max-elements "
                                    f"{opts.max_elements}: checked a stratified sample of {flat_idx.size} "
                                    f"plus {opts.probes} random-direction probes")
            h, side, _ = stepping.plan(x.reshape(x.shape[0], -1), lo, hi, eps)
            h, side = h.reshape(-1), side.reshape(-1)
            est, err, left, right, kinks = (np.asarray(v) for v in _batch_estimates(
                ev, role, x, method, base_sum, flat_idx, (h, side), opts, result.notes,
                analytic=g.reshape(-1)[flat_idx], base=base, eps=eps))
            rr = RoleResult(role, x.shape, flat_idx, g.reshape(-1)[flat_idx], est, err, left, right,
                            step=h[flat_idx])
            classify(rr, kinks, opts)
            if flat_idx.size < x.size:
                result.probes.extend(probe(ev, role, x, g, opts, rng_probe, base_sum))
        if row_local:
            _finish(rr, status, why, opts)
        if np.any(rr.codes == KINK):
            kinked_roles.add(role)
        result.checked += rr.flat_index.size
        result.roles.append(rr)
        taylor_args.append((role, x, g, lo, hi, eps))
    result.precision = precision
    if precision != "float64":
        result.notes.append(_precision_note(precision, np.asarray(base).dtype).format(rtol=opts.rtol))
    result.consistency = consistency(loss, grads, arrays)
    for role, x, g, lo, hi, eps in taylor_args:
        t = taylor(ev, role, x, g, rng_taylor, base=base, bounds=(lo, hi), eps=eps)
        if not t["passed"] and role in kinked_roles:  # a probe that crosses a kink shrinks like t
            t["passed"], t["note"] = True, "informational: the probe crosses the kinks found"
        result.taylor.append(t)
    result.evaluations = ev.count
    return result
