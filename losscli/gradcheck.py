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

import math
from dataclasses import dataclass, field

import numpy as np

from .errors import LossCliError
from .registry import Loss

EPS = np.finfo(np.float64).eps
H_SCALE = EPS ** (1.0 / 3.0)  # central differences: truncation h² balances rounding ε/h
COMPLEX_H = 1e-20
DEFAULT_RTOL = 1e-6  # float64 built-ins sit near 1e-10; a 1e-4 relative error in one element fails
DEFAULT_ATOL = 1e-12  # gradients smaller than this are not told apart from 0
ERR_SAFETY = 8.0  # the error bound is a heuristic; widen it before judging
METHODS = ("richardson", "central", "complex")
STATUSES = ("ok", "below-noise", "kink", "FAIL")


@dataclass
class Options:
    method: str = "richardson"
    rtol: float = DEFAULT_RTOL
    atol: float = DEFAULT_ATOL
    max_elements: int = 2000
    probes: int = 8
    seed: int = 0
    top: int = 10


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
    status: np.ndarray = None  # filled by _classify
    rel_err: np.ndarray = None
    abs_err: np.ndarray = None


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
def _steps(x: np.ndarray) -> np.ndarray:
    return H_SCALE * np.maximum(1.0, np.abs(x))


def _richardson(f0, fp, fm, fp2, fm2, h, sensitivity=0.0):
    """Estimate, error bound and one-sided slopes from f(x), f(x±h), f(x±h/2) (elementwise).

    ``sensitivity`` (|x|·|∂f/∂x|) is a floor for the magnitude of what f is computed from: the
    rounding of f is at least that of its inputs, even when f itself is small (|p - t| in L1)."""
    d1 = (fp - fm) / (2 * h)
    d2 = (fp2 - fm2) / h
    estimate = (4 * d2 - d1) / 3
    scale = np.maximum.reduce([np.abs(f0), np.abs(fp), np.abs(fm), sensitivity + 0 * f0])
    rounding = EPS * scale / h
    err = ERR_SAFETY * (np.abs(d2 - d1) / 3 + 4 * rounding)
    right, left = (fp2 - f0) / (h / 2), (f0 - fm2) / (h / 2)
    right_h, left_h = (fp - f0) / h, (f0 - fm) / h
    # a kink of the loss: the one-sided slopes do not come together as the step halves
    gap, gap_h = np.abs(right - left), np.abs(right_h - left_h)
    kink = (gap > 64 * rounding + 1e-8 * np.maximum(np.abs(right), np.abs(left))) & (gap > 0.75 * gap_h)
    # a kink of the gradient (Huber at ±δ): the one-sided curvatures jump
    curv_r = (fp - 2 * fp2 + f0) / (h / 2) ** 2
    curv_l = (f0 - 2 * fm2 + fm) / (h / 2) ** 2
    jump = np.abs(curv_r - curv_l)
    curv_noise = 16 * EPS * scale / (h / 2) ** 2
    kink |= (jump > 0.25 * np.maximum(np.abs(curv_r), np.abs(curv_l))) & (jump > 256 * curv_noise)
    return estimate, err, left, right, kink


def _central(f0, fp, fm, h, sensitivity=0.0):
    estimate = (fp - fm) / (2 * h)
    scale = np.maximum.reduce([np.abs(f0), np.abs(fp), np.abs(fm), sensitivity + 0 * f0])
    rounding = EPS * scale / h
    right, left = (fp - f0) / h, (f0 - fm) / h
    # truncation of a central difference is ~h²f'''/6: bounded here by the one-sided spread·h
    err = ERR_SAFETY * (4 * rounding + np.abs(right - left) * 1e-3)
    kink = np.abs(right - left) > np.maximum(1e-3 * np.maximum(np.abs(right), np.abs(left)), 64 * rounding)
    return estimate, err, left, right, kink


def _estimate_columns(ev: _Counter, role: str, x: np.ndarray, method: str, base: np.ndarray,
                      analytic: np.ndarray):
    """Row/elementwise coupling: perturb one trailing position of every row at a time."""
    n = x.shape[0]
    flat = x.reshape(n, -1)
    sens = np.abs(flat * analytic.reshape(n, -1))
    k = flat.shape[1]
    est = np.empty((n, k))
    err = np.empty((n, k))
    left = np.empty((n, k))
    right = np.empty((n, k))
    kinks = np.zeros((n, k), dtype=bool)
    for j in range(k):
        h = _steps(flat[:, j])

        def at(delta, j=j):
            pert = flat.copy()
            pert[:, j] = pert[:, j] + delta
            return ev(role, pert.reshape(x.shape))

        if method == "complex":
            pert = flat.astype(np.complex128)
            hc = COMPLEX_H * np.maximum(1.0, np.abs(flat[:, j]))
            pert[:, j] += 1j * hc
            est[:, j] = np.imag(ev(role, pert.reshape(x.shape))) / hc
            err[:, j] = ERR_SAFETY * EPS * np.abs(est[:, j]) + 1e-300
            left[:, j] = right[:, j] = est[:, j]
            continue
        fp, fm = at(h), at(-h)
        if method == "central":
            e, r, lo, hi, kk = _central(base, fp, fm, h, sens[:, j])
        else:
            e, r, lo, hi, kk = _richardson(base, fp, fm, at(h / 2), at(-h / 2), h, sens[:, j])
        est[:, j], err[:, j], left[:, j], right[:, j], kinks[:, j] = e, r, lo, hi, kk
    return [a.reshape(x.shape) for a in (est, err, left, right, kinks)]


def _estimate_elements(ev: _Counter, role: str, x: np.ndarray, method: str, base_sum: float,
                       flat_idx: np.ndarray):
    """Batch coupling: one element at a time, the derivative of the total."""
    m = flat_idx.size
    out = np.empty((5, m))
    kinks = np.zeros(m, dtype=bool)
    flat = x.reshape(-1)
    for t, idx in enumerate(flat_idx):
        h = float(_steps(flat[idx]))

        def total(delta, idx=idx):
            pert = flat.copy()
            pert[idx] += delta
            return float(np.sum(ev(role, pert.reshape(x.shape))))

        if method == "complex":
            pert = flat.astype(np.complex128)
            hc = COMPLEX_H * max(1.0, abs(flat[idx]))
            pert[idx] += 1j * hc
            e = float(np.imag(np.sum(ev(role, pert.reshape(x.shape))))) / hc
            out[:, t] = (e, ERR_SAFETY * EPS * abs(e) + 1e-300, e, e, 0.0)
            continue
        f0, fp, fm = np.array([base_sum]), np.array([total(h)]), np.array([total(-h)])
        if method == "central":
            e, r, lo, hi, kk = _central(f0, fp, fm, np.array([h]))
        else:
            e, r, lo, hi, kk = _richardson(f0, fp, fm, np.array([total(h / 2)]), np.array([total(-h / 2)]),
                                           np.array([h]))
        out[:, t] = (e[0], r[0], lo[0], hi[0], 0.0)
        kinks[t] = kk[0]
    return out[0], out[1], out[2], out[3], kinks


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
    if not loss.has_gradient:
        raise LossCliError(f"gradcheck: {loss.no_gradient_message()}")
    params = loss.resolve_params(params)
    ev = _Counter(loss, arrays, params)
    result = LossCheck(loss.name, params, {k: tuple(v.shape) for k, v in arrays.items()}, method=opts.method)
    args = [arrays[r] for r in ev.order]
    with np.errstate(all="ignore"):
        grads = loss.grad(*args, **params)
    base = ev()
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
        if loss.coupling in ("elementwise", "row"):
            est, err, left, right, kinks = _estimate_columns(ev, role, x, method, base, g)
            flat_idx = np.arange(x.size)
            rr = RoleResult(role, x.shape, flat_idx, g.reshape(-1), est.reshape(-1), err.reshape(-1),
                            left.reshape(-1), right.reshape(-1))
            _classify(rr, kinks.reshape(-1), opts)
        else:
            flat_idx = _sample_elements(x.shape, opts.max_elements, rng)
            if flat_idx.size < x.size:
                result.notes.append(f"{role}: batch-coupled, {x.size} elements > --max-elements "
                                    f"{opts.max_elements}: checked a stratified sample of {flat_idx.size} "
                                    f"plus {opts.probes} random-direction probes")
            est, err, left, right, kinks = _estimate_elements(ev, role, x, method, float(np.sum(base)), flat_idx)
            rr = RoleResult(role, x.shape, flat_idx, g.reshape(-1)[flat_idx], est, err, left, right)
            _classify(rr, kinks, opts)
            if flat_idx.size < x.size:
                result.probes.extend(_probe(ev, role, x, g, opts, rng, float(np.sum(base))))
        result.checked += rr.flat_index.size
        result.roles.append(rr)
    result.consistency = _consistency(loss, grads, arrays)
    result.taylor = [_taylor(ev, role, np.asarray(arrays[role], dtype=np.float64), grads[role], rng)
                     for role in loss.differentiable
                     if role in arrays and role in grads and np.shape(grads[role]) == np.shape(arrays[role])]
    if result.counts["kink"]:  # a probe that crosses a kink shrinks like t: not a wrong gradient
        for t in result.taylor:
            if not t["passed"]:
                t["passed"], t["note"] = True, "informational: the probe crosses the kinks found"
    result.evaluations = ev.count
    return result


# -- running: choose losses and inputs, check, report ----------------------------------------------
def split_names_and_inputs(args) -> tuple[list[str], list[str]]:
    """Leading arguments that name registered losses (and are not files) are losses; the rest
    are inputs: ``gradcheck focal softmax_ce`` vs ``gradcheck focal logits.npy labels.csv``."""
    import os

    from .errors import UnknownLossError
    from .readers import STDIN_PREFIX
    from .registry import get_loss

    names: list[str] = []
    for i, arg in enumerate(args):
        if arg == "-" or arg.startswith(STDIN_PREFIX) or os.path.exists(arg.split(":")[0]) or (
                names and (":" in arg or "." in arg or "/" in arg)):
            return names, list(args[i:])
        try:
            for part in arg.split(","):
                get_loss(part)
        except UnknownLossError:
            if names:  # not a loss, not a file: let the reader say "no such file"
                return names, list(args[i:])
            raise
        names.append(arg)
    return names, []


def result_record(r: LossCheck, top: int) -> dict:
    from .formats import number

    counts = r.counts
    return {
        "loss": r.loss, "passed": r.passed, "params": {k: (list(v) if isinstance(v, tuple) else v)
                                                       for k, v in r.params.items()},
        "inputs": {k: list(v) for k, v in r.inputs.items()}, "method": r.method,
        "checked": r.checked, "elements": r.total_elements, "evaluations": r.evaluations,
        "max_abs_error": number(r.max_abs_error) if math.isfinite(r.max_abs_error) else None,
        "max_rel_error": number(r.max_rel_error) if math.isfinite(r.max_rel_error) else None,
        "kinks": counts["kink"], "failures": counts["FAIL"], "below_noise": counts["below-noise"],
        "consistency": r.consistency, "taylor": r.taylor, "probes": r.probes, "notes": r.notes,
        "worst": [{k: (number(v) if isinstance(v, float) else v) for k, v in w.items()}
                  for w in r.worst(top)],
    }


def run_gradcheck(names, inputs, *, all_losses=False, params=(), samples=8, classes=4, dim=3,
                  seed=0, opts: Options | None = None, fmt="table", output=None, stdin=None) -> int:
    """The ``gradcheck`` command: returns 0 when every loss passes, 1 otherwise."""
    from .compute import parse_param_options, prepare, report_warnings, select_losses
    from .formats import GRADCHECK_FORMATS, emit
    from .readers import InputCache
    from .registry import list_losses
    from .sampling import random_inputs

    opts = opts or Options(seed=seed)
    if all_losses:
        if names:
            raise LossCliError("give loss names or --all, not both")
        losses = [l for l in list_losses() if l.has_gradient]
    else:
        if not names:
            raise LossCliError("name at least one loss, or use --all")
        losses = select_losses(",".join(names))
    by_loss = parse_param_options(losses, params)
    results = []
    if inputs:
        prepared = prepare(losses, inputs, InputCache(stdin=stdin), "raise", by_loss)
        report_warnings(prepared)
        for p in prepared:
            results.append(check_loss(p.loss, p.checked.arrays, by_loss[p.loss.name], opts))
    else:
        for loss in losses:
            if not loss.has_gradient:
                raise LossCliError(f"gradcheck: {loss.no_gradient_message()}")
            arrays = random_inputs(loss, samples=samples, classes=classes, dim=dim, seed=seed, optional=True)
            results.append(check_loss(loss, arrays, by_loss[loss.name], opts))
    payload = {"passed": all(r.passed for r in results),
               "results": [result_record(r, opts.top) for r in results]}
    emit(GRADCHECK_FORMATS[fmt](payload), output)
    return 0 if payload["passed"] else 1


def _sample_elements(shape: tuple, budget: int, rng: np.random.Generator) -> np.ndarray:
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
        picks = np.concatenate([picks, rng.choice(total, extra, replace=False)])
    return np.unique(picks)


def _directional(ev: _Counter, role: str, x: np.ndarray, v: np.ndarray, base_sum: float):
    """Richardson estimate of the directional derivative of the total along v, and its error."""
    h = H_SCALE * max(1.0, float(np.max(np.abs(x))))
    vals = [float(np.sum(ev(role, x + s * v))) for s in (h, -h, h / 2, -h / 2)]
    e, err, *_ = _richardson(np.array([base_sum]), *(np.array([v_]) for v_ in vals), np.array([h]))
    return float(e[0]), float(err[0])


def _probe(ev, role, x, g, opts, rng, base_sum) -> list[dict]:
    """Random-direction probes; a failing probe is bisected down to the bad elements."""
    out = []
    for p in range(opts.probes):
        v = rng.standard_normal(x.shape)
        numeric, err = _directional(ev, role, x, v, base_sum)
        analytic = float(np.sum(g * v))
        ok = abs(analytic - numeric) <= opts.rtol * max(abs(analytic), abs(numeric)) + err
        rec = {"role": role, "probe": p, "analytic": analytic, "numeric": numeric, "passed": bool(ok)}
        if not ok:
            rec["localised"] = _bisect(ev, role, x, g, v.reshape(-1), np.arange(x.size), opts, base_sum)
        out.append(rec)
    return out


def _bisect(ev, role, x, g, v, support, opts, base_sum, depth=0) -> list[list[int]]:
    if support.size <= 1 or depth > 60:
        return [[int(i) for i in np.unravel_index(int(support[0]), x.shape)]] if support.size else []
    found = []
    for half in (support[: support.size // 2], support[support.size // 2:]):
        d = np.zeros(x.size)
        d[half] = v[half]
        d = d.reshape(x.shape)
        numeric, err = _directional(ev, role, x, d, base_sum)
        analytic = float(np.sum(g * d))
        if abs(analytic - numeric) > opts.rtol * max(abs(analytic), abs(numeric)) + err:
            found.extend(_bisect(ev, role, x, g, v, half, opts, base_sum, depth + 1))
    return found


# -- checks that need no tolerance -----------------------------------------------------------------
def _consistency(loss: Loss, grads: dict, arrays: dict) -> list[dict]:
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


def _taylor(ev: _Counter, role: str, x: np.ndarray, g: np.ndarray, rng) -> dict:
    """Observed order of |f(x + t d) - f(x) - t gᵀd| as t halves: 2 right, 1 wrong."""
    d = rng.standard_normal(x.shape)
    d /= max(np.linalg.norm(d), 1e-300)
    f0 = float(np.sum(ev(role, x)))
    slope = float(np.sum(g * d))
    ts = 1e-3 * 0.5 ** np.arange(6)
    rem = np.array([abs(float(np.sum(ev(role, x + t * d))) - f0 - t * slope) for t in ts])
    noise = 64 * EPS * max(abs(f0), 1.0)
    usable = rem > noise
    if usable.sum() < 2:
        return {"role": role, "order": None, "passed": True,
                "note": "remainder at rounding level: the loss is linear along the probe"}
    r = rem[usable]
    t = ts[usable]
    orders = np.log2(r[:-1] / r[1:]) / np.log2(t[:-1] / t[1:])
    order = float(np.median(orders)) if orders.size else None
    passed = order is None or order > 1.5 or _linear_rem(r, slope, t)
    return {"role": role, "order": order, "passed": bool(passed)}


def _linear_rem(r, slope, t) -> bool:
    """Order ~1 with a tiny remainder (a kink crossed by the probe) is not a wrong gradient."""
    return bool(np.all(r < 1e-6 * max(abs(slope), 1.0) * t))
