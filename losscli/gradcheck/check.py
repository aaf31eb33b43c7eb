"""Element-by-element verification of a loss's analytic gradient against numeric derivatives.

What it does that torch.autograd.gradcheck does not:

- **Every element, few evaluations.** The loss declares how it couples elements. For
  ``elementwise`` and ``row`` losses, sample i's loss depends on row i only, so perturbing one
  trailing position (a "column") of *all* rows at once and reading the per-sample losses gives
  that column's derivative in every row: a full check costs 4·K + 1 evaluations (K = elements
  per row), independent of N. Only ``batch`` losses (InfoNCE, GE2E) need evaluations per
  element; above ``max_elements`` they get a stratified sample plus random-direction probes,
  and a failing probe is bisected down to the offending elements.
- **An error estimate per element.** Richardson extrapolation of central differences at h and
  h/2 (h = ε^(1/3)·max(1, |x|)); the difference of the two estimates, and the rounding error
  ε·|l|/h, give an absolute error bound; the relative error is
  |a - n| / max(|a|, |n|, floor) with floor = error bound / rtol.
- **Kinks are classified, not failed.** One-sided slopes at h and h/2 that stay apart (a
  smooth function's shrink with the step) mark a kink; there an analytic value inside
  [left slope, right slope] is a valid subgradient and reported as ``kink``.
- **Checks that need no tolerance.** Declared consistency checks (softmax gradients sum to 0
  over a row, triplet gradients sum to 0 over the roles) and a Taylor-remainder test:
  |f(x + t d) - f(x) - t gᵀd| shrinks like t² when g is right and like t when it is wrong.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..engine.block import require_finite
from ..errors import LossCliError
from ..registry import Loss
from . import Options
from .methods import METHODS
from .batch import detect_coupling, estimate_elements
from .probes import consistency, probe, sample_elements, taylor

STATUSES = ("ok", "below-noise", "kink", "FAIL")


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
    status: np.ndarray | None = None  # filled by _classify
    rel_err: np.ndarray | None = None
    abs_err: np.ndarray | None = None


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

    @property
    def counts(self) -> dict:
        out = {s: 0 for s in STATUSES}
        for r in self.roles:
            for s in STATUSES:
                out[s] += int(np.sum(r.status == s))
        return out

    @property
    def passed(self) -> bool:
        return (self.counts["FAIL"] == 0 and all(c["passed"] for c in self.consistency)
                and all(t["passed"] for t in self.taylor) and all(p["passed"] for p in self.probes))

    def _max(self, attr) -> float:
        vals = [float(np.max(getattr(r, attr))) for r in self.roles if getattr(r, attr).size]
        return max(vals) if vals else 0.0

    @property
    def max_abs_error(self) -> float:
        return self._max("abs_err")

    @property
    def max_rel_error(self) -> float:
        return self._max("rel_err")

    def worst(self, k: int) -> list[dict]:
        rows = []
        rank = {"FAIL": 0, "kink": 1, "below-noise": 2, "ok": 2}
        for r in self.roles:
            if not r.rel_err.size:
                continue
            order = np.lexsort((-r.rel_err, [rank[s] for s in r.status]))[:k]
            for i in order:
                rows.append({
                    "role": r.role,
                    "index": [int(v) for v in np.unravel_index(int(r.flat_index[i]), r.shape)],
                    "analytic": float(r.analytic[i]), "numeric": float(r.numeric[i]),
                    "abs_error": float(r.abs_err[i]), "rel_error": float(r.rel_err[i]),
                    "error_estimate": float(r.err_est[i]), "status": str(r.status[i]),
                    "left_slope": float(r.left[i]), "right_slope": float(r.right[i]),
                })
        rows.sort(key=lambda w: (rank[w["status"]], -w["rel_error"]))
        return rows[:k]


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
            return np.asarray(self.loss.fn(*args, **self.params))


# -- numeric estimates ---------------------------------------------------------------------------
def _estimate_columns(ev: _Counter, role: str, x: np.ndarray, method: str, base: np.ndarray,
                      analytic: np.ndarray):
    """Row/elementwise coupling: perturb one trailing position of every row at a time."""
    n = x.shape[0]
    flat = x.reshape(n, -1)
    sens = np.abs(flat * analytic.reshape(n, -1))
    k = flat.shape[1]
    out = [np.empty((n, k)) for _ in range(4)] + [np.zeros((n, k), dtype=bool)]
    estimate = METHODS[method][0]
    for j in range(k):
        def at(delta, j=j):
            pert = flat.astype(np.result_type(flat, delta))
            pert[:, j] = pert[:, j] + delta
            return ev(role, pert.reshape(x.shape))

        for arr, col in zip(out, estimate(at, base, flat[:, j], sens[:, j])):
            arr[:, j] = col
    return [a.reshape(x.shape) for a in out]


def _classify(r: RoleResult, kinks: np.ndarray, opts: Options) -> None:
    a, n = r.analytic, r.numeric
    r.abs_err = np.abs(a - n)
    floor = np.maximum(r.err_est / opts.rtol, opts.atol)
    mag = np.maximum(np.abs(a), np.abs(n))
    with np.errstate(invalid="ignore", divide="ignore"):
        r.rel_err = r.abs_err / np.maximum(mag, floor)
    r.rel_err = np.where(np.isfinite(r.rel_err), r.rel_err, np.inf)
    ok = r.rel_err <= opts.rtol
    lo, hi = np.minimum(r.left, r.right), np.maximum(r.left, r.right)
    slack = opts.rtol * np.maximum(np.abs(lo), np.abs(hi)) + r.err_est
    subgradient = kinks & (a >= lo - slack) & (a <= hi + slack)
    verified = (mag >= floor) | (r.abs_err == 0)  # exact agreement (e.g. both 0) needs no floor
    status = np.where(ok, np.where(verified, "ok", "below-noise"), "FAIL")
    # at a kink the analytic value must be a valid subgradient: inside the one-sided slopes
    status = np.where(kinks, np.where(subgradient, "kink", "FAIL"), status)
    r.status = status.astype(object)


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


def _check(loss: Loss, arrays: dict, params: dict, opts: Options) -> LossCheck:
    if not loss.has_gradient:
        raise LossCliError(f"gradcheck: {loss.no_gradient_message()}")
    params = loss.resolve_params(params)
    ev = _Counter(loss, arrays, params)
    result = LossCheck(loss.name, params, {k: tuple(v.shape) for k, v in arrays.items()}, method=opts.method)
    grads = loss.gradient_of(arrays, params)
    base = ev()
    # a loss that is not finite at the inputs has no derivative to check: say so, as compute does
    require_finite(loss, np.asarray(base, dtype=np.float64).reshape(-1), "loss", range(np.size(base)))
    rng = np.random.default_rng(opts.seed)
    for role in [r for r in loss.differentiable if r in arrays]:
        x = np.asarray(arrays[role], dtype=np.float64)
        g = np.asarray(grads.get(role)) if role in grads else None
        if g is None or g.shape != x.shape:
            got = "nothing" if g is None else f"shape {g.shape}"
            result.notes.append(f"{role}: the analytic gradient returned {got}, expected shape {x.shape}")
            bad = RoleResult(role, x.shape, np.arange(x.size), np.full(x.size, np.nan), np.zeros(x.size),
                             np.zeros(x.size), np.zeros(x.size), np.zeros(x.size))
            bad.status = np.full(x.size, "FAIL", dtype=object)
            bad.rel_err, bad.abs_err = np.full(x.size, np.inf), np.full(x.size, np.inf)
            result.roles.append(bad)
            result.total_elements += x.size
            result.checked += x.size
            continue
        method = opts.method
        if method == "complex":
            reason = _complex_usable(ev, role, x)
            if reason:
                result.notes.append(f"{role}: complex-step does not apply ({reason}); used richardson")
                method = "richardson"
        result.total_elements += x.size
        coupling = detect_coupling(ev, role, x, loss.coupling)
        if coupling in ("elementwise", "row"):
            est, err, left, right, kinks = _estimate_columns(ev, role, x, method, base, g)
            flat_idx = np.arange(x.size)
            rr = RoleResult(role, x.shape, flat_idx, g.reshape(-1), est.reshape(-1), err.reshape(-1),
                            left.reshape(-1), right.reshape(-1))
            _classify(rr, kinks.reshape(-1), opts)
        else:
            flat_idx = sample_elements(x.shape, opts.max_elements, rng)
            if flat_idx.size < x.size:
                result.notes.append(f"{role}: batch-coupled, {x.size} elements > --max-elements "
                                    f"{opts.max_elements}: checked a stratified sample of {flat_idx.size} "
                                    f"plus {opts.probes} random-direction probes")
            est, err, left, right, kinks = estimate_elements(ev, role, x, method, float(np.sum(base)), flat_idx)
            rr = RoleResult(role, x.shape, flat_idx, g.reshape(-1)[flat_idx], est, err, left, right)
            _classify(rr, kinks, opts)
            if flat_idx.size < x.size:
                result.probes.extend(probe(ev, role, x, g, opts, rng, float(np.sum(base))))
        result.checked += rr.flat_index.size
        result.roles.append(rr)
    result.consistency = consistency(loss, grads, arrays)
    result.taylor = [taylor(ev, role, np.asarray(arrays[role], dtype=np.float64), grads[role], rng)
                     for role in loss.differentiable
                     if role in arrays and role in grads and np.shape(grads[role]) == np.shape(arrays[role])]
    if result.counts["kink"]:  # a probe that crosses a kink shrinks like t: not a wrong gradient
        for t in result.taylor:
            if not t["passed"]:
                t["passed"], t["note"] = True, "informational: the probe crosses the kinks found"
    result.evaluations = ev.count
    return result


