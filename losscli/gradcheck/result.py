"""What a gradient check finds: each element's status and the reason for it (``STATUSES``,
``REASONS``), the per-role and per-loss results, and the rules that judge an estimate against the
analytic value (tolerances, brackets at kinks)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import Options

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


def tolerance(a, n, err, opts: Options):
    """|a - n|, max(|a|, |n|) and the tolerance max(rtol·max(|a|, |n|), err, atol)."""
    diff = np.abs(a - n)
    mag = np.maximum(np.abs(a), np.abs(n))
    tol = np.maximum(np.maximum(opts.rtol * mag, err), opts.atol)
    return diff, mag, tol


def passes(a, n, err, kink, opts: Options):
    diff, _, tol = tolerance(a, n, err, opts)
    return np.isfinite(n) & ~kink & (diff <= tol)


def in_bracket(a, left, right, err, opts: Options):
    lo, hi = np.minimum(left, right), np.maximum(left, right)
    slack = opts.rtol * np.maximum(np.abs(lo), np.abs(hi)) + err + opts.atol
    return (a >= lo - slack) & (a <= hi + slack)


# -- numeric estimates, one column of all rows at a time -----------------------------------------
def finish(rr: RoleResult, status: np.ndarray, reason: np.ndarray, opts: Options) -> None:
    """Errors, tolerances and the final status: a pass is ``ok`` when it holds at the relative
    tolerance, ``below-noise`` when only the error bound or --atol covers it."""
    a, n = rr.analytic, rr.numeric
    with np.errstate(all="ignore"):
        diff, mag, tol = tolerance(a, n, rr.err_est, opts)
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
    ok = passes(a, est, rr.err_est, kinks, opts)
    in_br = in_bracket(a, rr.left, rr.right, rr.err_est, opts)
    nonfinite = ~np.isfinite(est)
    status = np.select([ok, kinks & in_br, kinks, nonfinite], [OK, KINK, FAIL, INCONCLUSIVE], FAIL)
    why = np.select([ok, kinks & in_br, kinks, nonfinite], [11, 10, 2, 4], 8)
    if rr.step is None:
        rr.step = np.full(np.shape(est), np.nan)
    finish(rr, status, why, opts)
