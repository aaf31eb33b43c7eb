"""What a gradient check finds: each element's status and the reason for it (``STATUSES``,
``REASONS``), the per-role and per-loss results, and the rules that judge an estimate against the
analytic value (tolerances, brackets at kinks)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import Options
from .methods import chunks, in_chunks, large

STATUSES = ("ok", "below-noise", "kink", "inconclusive", "FAIL")
OK, BELOW, KINK, INCONCLUSIVE, FAIL = range(len(STATUSES))
_NAMES = np.array(STATUSES)

#: the reason of an element verified only at steps far below its scale (``finer.averaged``)
FINER_THAN_SCALE = 20
#: the reason of a FAIL that the noise covers (``ladder``), undecided unless steps larger than the
#: first judge it (``climb``), and of an element those verify
DOUBTED, ABOVE = 23, 22

#: why an element got its status (codes stored per element; text in ``worst``)
REASONS = {
    0: "",
    1: "numeric and analytic differ beyond the tolerance, at two step sizes that agree with each other",
    2: "at a kink, the analytic value is outside the one-sided slopes: not a valid subgradient",
    3: "at tied kinks of one row, the analytic gradient along their joint direction is outside its "
       "one-sided slopes: not a valid subgradient",
    4: "the loss is not finite a step away from x (NaN/inf at every step size): no numeric derivative",
    5: "numeric estimates at step sizes h, h/16, h/256 (h/4096) disagree with each other beyond their error "
       "bounds (noise, or structure of the loss at the step scale): undecided",
    6: "the analytic gradient is not finite",
    7: "the analytic gradient is missing or has the wrong shape",
    8: "numeric and analytic differ beyond the tolerance (one estimate per element)",
    9: "below the error bound or --atol: agrees within it, not verified to --rtol",
    10: "one-sided slopes differ (a kink); the analytic value lies between them",
    11: "numeric and analytic agree within the tolerance",
    13: "numeric and analytic differ beyond the error bound at step h, and no other step size confirms "
        "it (smaller steps are too noisy to see the difference): undecided",
    14: "numeric and analytic differ beyond the tolerance at two steps larger than h (4h to 1024h), which agree "
        "with each other (and with step h, where the loss's noise hid the difference)",
    15: "the loss does not change at any step tried (the element's effect is below the loss's rounding): "
        "covered by the error bound, not compared",
    17: "the loss is exactly 0 at x and a step away on either side, where the analytic value predicts a "
        "change of at least 4 rounding levels: the loss is flat there (a clamp at 0), and the analytic value "
        "is not 0",
    16: "one-sided slopes differ at steps larger than the element itself (|x| below 64 steps), and at steps "
        "of its own scale the estimates neither agree with the analytic value nor confirm a difference: "
        "undecided",
    18: "at a kink, the loss changes by the same amount on one side at three step sizes: it jumps or bends "
        "within the smallest step tried (steps follow |x|, and so does float64's spacing), and slopes taken "
        "across that bracket nothing: undecided",
    19: "at tied kinks of one row, the loss changes by the same amount along their joint direction at three "
        "step sizes: it jumps or bends within the smallest, and slopes taken across that bracket nothing: "
        "undecided",
    20: "at the steps set by |x| the estimates averaged the slope over bends of the loss finer than the step "
        "(and rejected the analytic value, or saw a kink); at the smallest steps float64 resolves at x, two "
        "estimates 2x apart both agree with it within the tolerance",
    21: "at the steps set by |x| the estimates averaged the slope over bends of the loss finer than the step "
        "(and rejected the analytic value, or saw a kink); at the smallest steps float64 resolves at x, the "
        "estimates differ from those and neither verify nor reject it (its spacing there is too coarse for "
        "the loss's bends): undecided",
    22: "the ladder's steps rejected the analytic value by less than the loss's noise measured at its smallest "
        "step (rounding alike across their tables can bias them alike); at two larger steps (4h to 1024h), where "
        "the noise weighs less, estimates free of kinks agree with each other and with the analytic value "
        "within the tolerance",
    23: "the estimates reject the analytic value by less than 64 times the tolerance (or step h, which saw a "
        "kink, agrees within that), and tables at the smallest step, at steps no power of two, measure noise "
        "that covers the difference (rounding alike across the steps' tables can bias them alike); larger "
        "steps neither verify nor reject it: undecided",
    24: "the loss does not change at any step tried, while the analytic value is as large as the role's "
        "others (rtol times its largest, or more): the steps, which follow |x|, are too small for the loss to "
        "show it (x = 1e-12 in sigmoid(x)); not compared",
    25: "the numeric error bound is as wide as the role's largest gradient, while the analytic value is as "
        "large as the role's others (rtol times its largest, or more): at steps that follow |x| (x = 0 beside "
        "inputs of 1e-12) the rounding an O(1) intermediate may add, which the loss did not refute, covers any "
        "slope; not compared",
    26: "the gradient is beyond float64's range here: the analytic value is infinite, and the numeric "
        "estimates are not finite, with its sign: nothing to compare",
    27: "the loss moves in jumps coarser than the ladder's steps (flat at the smallest, seen at larger steps up "
        "to 131072h on both sides): it is quantised at that scale (a staircase: an intermediate rounded coarser "
        "than the step, or a rounded loss); the difference is what those jumps make at its step, and every "
        "value lies within two jumps of the line the analytic slope draws through x: undecided",
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
    rel_err: np.ndarray | None = None
    abs_err: np.ndarray | None = None
    tolerance: np.ndarray | None = None  # max(rtol·|g|, error bound, atol) per element
    step: np.ndarray | None = None  # the step the numeric value comes from
    reason: np.ndarray | None = None  # codes into REASONS
    codes: np.ndarray | None = None  # the status as indices into STATUSES (set by ``finish``)

    @property
    def status(self) -> np.ndarray | None:
        """The status of each element by name (from STATUSES; made when asked, not stored)."""
        return None if self.codes is None else _NAMES[self.codes]

    def status_codes(self) -> np.ndarray:
        """The status of each element as an index into STATUSES."""
        assert self.codes is not None, "finish() gives a role's statuses"
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
            codes = r.status_codes()
            for i, s in enumerate(STATUSES):
                out[s] += int(np.count_nonzero(codes == i))
        return out

    @property
    def unseen(self) -> int:
        """Elements with a nonzero analytic gradient at which the loss did not change at any step
        tried (reason 15): nothing tells their gradient from a wrong one."""
        return sum(int(np.count_nonzero(((r.reason == 15) | (r.reason == 24)) & (r.analytic != 0)))
                   for r in self.roles if r.reason is not None)

    @property
    def hidden(self) -> int:
        """Elements whose analytic gradient is as large as their role's others that the loss never
        showed (reason 24) or showed under a bound as wide as the role's largest gradient (25): a
        verdict cannot rest on the elements beside them (sigmoid's gradient doubled at x = 1e-12,
        where steps that follow |x| move no loss, PASSed beside x = 1, -1, 0.5; relu's gradient of 2
        at 0 beside inputs of 1e-12, under a bound of 486)."""
        return sum(int(np.count_nonzero((r.reason == 24) | (r.reason == 25))) for r in self.roles
                   if r.reason is not None)

    @property
    def trivial(self) -> int:
        """Elements verified only as a gradient of exactly 0 where the loss did not move (numeric 0):
        they verify that 0, and nothing of the nonzero gradients beside them."""
        return sum(int(np.count_nonzero((r.status_codes() == OK) & (r.analytic == 0) & (r.numeric == 0)))
                   for r in self.roles)

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
                vals.append(float(np.max(getattr(r, attr), where=judged, initial=-np.inf)))
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
        rank_of = np.array([3, 3, 2, 1, 0], dtype=np.int8)  # ok, below-noise, kink, inconclusive, FAIL
        rows = []
        for r in self.roles:
            if not r.rel_err.size or k <= 0:
                continue
            codes = r.status_codes()
            ranks = rank_of[codes]
            order_parts = []
            for level in range(4):  # the best k of each rank, without sorting every element
                mask = ranks == level
                count = int(np.count_nonzero(mask))
                if not count:
                    continue
                # (every element of one rank, the common case: no index arrays of a million)
                pos = None if count == ranks.size else np.flatnonzero(mask)
                sel = slice(None) if pos is None else pos
                with np.errstate(all="ignore"):
                    ex = r.abs_err[sel] / np.maximum(r.tolerance[sel], 1e-300)
                ex[~np.isfinite(ex)] = np.inf
                idx = np.arange(count) if count <= k else np.argpartition(-ex, k - 1)[:k]
                ex = ex[idx]
                if pos is not None:
                    idx = pos[idx]
                order_parts.append(idx[np.argsort(-ex, kind="stable")])
                if sum(p.size for p in order_parts) >= k:
                    break
            for i in np.concatenate(order_parts)[:k] if order_parts else []:
                tol = max(float(r.tolerance[i]), 1e-300)
                excess = float(r.abs_err[i] / tol) if np.isfinite(r.abs_err[i]) else np.inf
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
    """Finite, no kink, and within the tolerance."""
    if large(n):
        return in_chunks(passes, (a, n, err, kink), {"opts": opts})
    diff, _, tol = tolerance(a, n, err, opts)
    return np.isfinite(n) & ~kink & (diff <= tol)


def in_bracket(a, left, right, err, opts: Options):
    lo, hi = np.minimum(left, right), np.maximum(left, right)
    slack = opts.rtol * np.maximum(np.abs(lo), np.abs(hi)) + err + opts.atol
    return (a >= lo - slack) & (a <= hi + slack)


# -- numeric estimates, one column of all rows at a time -----------------------------------------
def finish(rr: RoleResult, status: np.ndarray, reason: np.ndarray, opts: Options, assumed: bool = False) -> None:
    """Errors, tolerances and the final status: a pass is ``ok`` when it holds at the relative
    tolerance, ``below-noise`` when only the error bound or --atol covers it. An exact agreement is
    ``ok``; at 0 (a gradient of 0 where the loss did not move) only under a bound that tells apart
    gradients of rtol times the role's largest, or rtol where they are all below 1 (or --atol): at
    1e12 + x² the loss does not move for steps below 1e-4, and a gradient of 0 there agreed with
    anything up to a bound of 1e3. ``assumed``: the bounds hold the rounding of an O(1) intermediate,
    assumed where the loss did not refute it (a row-local role's ladder), and a below-noise element
    whose bound is as wide as the role's largest gradient, with a gradient as large as the others',
    was told nothing (reason 25); a batch-coupled role's bounds are the total's measured noise."""
    n = np.size(rr.analytic)
    with np.errstate(all="ignore"):
        scale = max((float(np.max(np.abs(v), where=np.isfinite(v), initial=0.0)) for v in (rr.analytic, rr.numeric)),
                    default=0.0)
    resolved = max(opts.rtol * max(scale, 1.0), opts.atol)
    rr.abs_err, rr.rel_err, rr.tolerance = np.empty(n), np.empty(n), np.empty(n)
    rr.codes, rr.reason = np.asarray(status).astype(np.int8), np.asarray(reason).astype(np.int8)
    for s in chunks(n):  # (a chunk at a time: a million elements' temporaries would leave the cache)
        a, num = rr.analytic[s], rr.numeric[s]
        with np.errstate(all="ignore"):
            diff, mag, tol = tolerance(a, num, rr.err_est[s], opts)
            rr.abs_err[s] = np.where(np.isfinite(diff), diff, np.inf)
            rr.rel_err[s] = np.where(diff == 0, 0.0, np.where(np.isfinite(diff), diff / np.where(mag > 0, mag, 1.0),
                                                              np.inf))
        rr.tolerance[s] = tol
        verified = (opts.rtol * mag >= np.maximum(rr.err_est[s], opts.atol)) \
            | ((diff == 0) & ((a != 0) | (rr.err_est[s] <= resolved)))
        codes, why = rr.codes[s], rr.reason[s]
        below = (codes == OK) & ~verified
        codes[below], why[below] = BELOW, 9
        # a numeric derivative of exactly 0 under a bound wider than the analytic value: the loss did
        # not move at any step (its change lost in its rounding), and the reason says so
        why[below & (num == 0) & (np.abs(a) > opts.atol)] = 15
        large = np.abs(a) > max(opts.rtol * scale, opts.atol)
        why[below & (num == 0) & large] = 24
        if assumed:
            why[below & (num != 0) & large & (rr.err_est[s] >= scale)] = 25
        bad_a = ~np.isfinite(a) & (why != 7)  # (a gradient of the wrong shape says so, not "not finite")
        codes[bad_a], why[bad_a] = FAIL, 6
        # ±inf where the slopes are not finite either (NaN, or ±inf of its sign: gamma_deviance at
        # p = 1e-160, whose gradient -2e320 rounds to -inf): nothing to compare, not a wrong value. (A
        # finite slope, however large, is compared: exp(p + 1)/2 for exp(p)/2 at p = 709 is inf where
        # the slope is 4.1e307: review 103 #2)
        beyond = bad_a & np.isinf(a) & (np.isnan(num) | (np.isinf(num) & (np.sign(num) == np.sign(a))))
        codes[beyond], why[beyond] = INCONCLUSIVE, 26


def classify(rr: RoleResult, kinks: np.ndarray, opts: Options, undecided=None, agreed=None) -> None:
    """Status, reason and errors of single estimates per element (rr.numeric, rr.err_est, the
    one-sided slopes; ``kinks`` where they disagree), for the checks that have one estimate per
    element (batch-coupled roles, parameters, second derivatives), in this order: ``ok`` within the
    tolerance; ``kink`` for a valid subgradient; ``inconclusive`` without a finite numeric value
    (also at a kink: with no finite estimate nothing stands behind a FAIL), or where ``undecided``
    (estimates at smaller steps disagree: nothing stands behind the rejection); ``FAIL`` otherwise
    (said to rest on two step sizes where ``agreed``)."""
    a, est = rr.analytic, rr.numeric
    kinks = np.asarray(kinks, dtype=bool)
    ok = passes(a, est, rr.err_est, kinks, opts)
    bracket = kinks & in_bracket(a, rr.left, rr.right, rr.err_est, opts)
    lost = ~np.isfinite(est)
    torn = np.zeros(np.shape(est), dtype=bool) if undecided is None else np.asarray(undecided, dtype=bool)
    status = np.select([ok, bracket, lost, torn], [OK, KINK, INCONCLUSIVE, INCONCLUSIVE], FAIL)
    twice = np.zeros(np.shape(est), dtype=bool) if agreed is None else np.asarray(agreed, dtype=bool)
    why = np.select([ok, bracket, lost, torn, kinks, twice], [11, 10, 4, 5, 2, 1], 8)
    if rr.step is None:
        rr.step = np.full(np.shape(est), np.nan)
    finish(rr, status, why, opts)
