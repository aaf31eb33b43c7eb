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
  shows a kink, is estimated again at h/16 and h/256 (and h/4096 where h/256 alone is clean);
  one that passes only by a bound wide from truncation goes down the same ladder. It FAILs only
  when two step sizes agree with each other and both disagree with the analytic value beyond
  their bounds; a kink must persist as the step shrinks (a clamp next to x is not a kink at x).
  Where the estimates keep disagreeing with each other, or the loss is not finite a step away, the
  element is ``inconclusive``, with the reason: never a FAIL the checker cannot stand behind.
- **Kinks are classified, not failed.** At a kink the analytic value must be a valid
  subgradient: inside the one-sided slopes, element by element and along the joint direction of
  the kinks of one row (a row max that gives 1 to both tied entries is caught).
- **Checks that need no tolerance.** Declared consistency checks and a Taylor-remainder test
  along an independent random direction (inconclusive elements left still).
- **A slice where no element is judged.** Beyond 16,384 rows, a loss declared row-local has its
  coupling, its precision and the Taylor test of its row-local roles measured on a random slice
  of rows (``evaluator.py``), with the slice's own gradient; every element is still checked on
  every row, and the record says so.

Tolerance: an element passes when |a - n| <= max(rtol·max(|a|, |n|), error bound, atol); it is
``ok`` when that holds at the relative tolerance, ``below-noise`` when only the error bound or
``--atol`` (absolute) covers it.
"""

from __future__ import annotations

import numpy as np

from ..engine.block import require_finite, require_numbers, require_per_sample
from ..errors import LossCliError
from ..loss import Loss
from . import Options
from . import steps as stepping
from .batch import copies_for, detect_coupling, estimate_elements
from .draws import Draws
from .evaluator import Evaluator, row_slice
from .complex_step import trust as complex_trust
from .kinks import joint_kinks
from .ladder import check_columns
from .probes import consistency, probe, sample_elements, taylor
from .result import FAIL, FINER_THAN_SCALE, INCONCLUSIVE, KINK, LossCheck, RoleResult, classify, finish


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
    bad, resolved, trusted = complex_trust(c, r, rerr, opts)
    if trusted:
        return out
    if bad.any():
        notes.append(f"{role}: complex step disagrees with richardson at {int(bad.sum())} of {sample.size} "
                     "sampled elements (non-analytic code: abs, maximum, comparisons): used richardson")
    else:
        notes.append(f"{role}: richardson resolves {int(resolved.sum())} of {sample.size} sampled elements, too few "
                     "to confirm the complex step: used richardson")
    return estimate_elements(ev, role, x, "richardson", base_sum, flat_idx, **kw)


def _unchecked_keys(loss: Loss, grads: dict) -> list[str]:
    """Notes for what a gradient dict holds beyond the differentiable inputs: nothing checks it.
    (A key beside a missing one is named by the missing one's note.)"""
    checked = set(loss.differentiable) | set(loss.differentiable_params)
    complete = all(r in grads for r in loss.differentiable)
    notes = []
    for key in [k for k in grads if k not in checked]:
        if key in loss.input_names:
            notes.append(f"the analytic gradient's {key!r} is not checked: {loss.name} declares "
                         f"{', '.join(repr(r) for r in loss.differentiable)} differentiable (register_loss(..., "
                         f"differentiable=(...)) names the inputs to check)")
        elif complete:
            notes.append(f"the analytic gradient's {key!r} is not an input of {loss.name} (its inputs: "
                         f"{', '.join(repr(r) for r in loss.input_names)}): ignored")
    return notes


def _complex_usable(ev: Evaluator, role: str, x: np.ndarray) -> str | None:
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


def _fingerprints(arrays: dict) -> dict:
    """A digest of each input's bytes (no copy of a large input is kept to compare with)."""
    import hashlib

    return {k: hashlib.blake2b(np.ascontiguousarray(v).reshape(-1).view(np.uint8).data).digest()
            for k, v in arrays.items()}


def _refuse_changed_inputs(loss: Loss, arrays: dict, prints: dict, which: str) -> None:
    """A loss or gradient function that writes into its inputs: every later evaluation would start
    from other inputs than the ones checked (a loss that scales its input in place passed as kinks)."""
    changed = [k for k, d in _fingerprints(arrays).items() if d != prints[k]]
    if changed:
        raise LossCliError(f"{loss.name}: the {which} function changed its input {changed[0]!r} in place; a gradient "
                           "check evaluates the loss at inputs it moves itself, and needs them left as they are (work on "
                           "a copy: x = x.copy(), or out-of-place operations)")


def _refuse_unrepeatable(loss: Loss, base: np.ndarray, again: np.ndarray) -> None:
    """A loss whose values differ between two calls at the same inputs (random noise, state kept
    between calls): its differences measure the randomness, and a verdict on them is none."""
    a, b = np.asarray(base, dtype=np.float64), np.asarray(again, dtype=np.float64)
    if a.shape == b.shape:
        with np.errstate(invalid="ignore"):
            apart = np.abs(a - b) > REPEAT_RTOL * np.maximum(1.0, np.maximum(np.abs(a), np.abs(b)))
            apart |= np.isnan(a) != np.isnan(b)
        if not apart.any():
            return
    with np.errstate(invalid="ignore"):
        gap = float(np.nanmax(np.abs(a - b))) if a.shape == b.shape else float("nan")
    raise LossCliError(f"{loss.name}: the loss function returned other values when called again with the same "
                       f"inputs (by up to {gap:.3g}): numeric derivatives of it measure that randomness, not a "
                       "gradient; fix its random state (a seed, no state kept between calls; on a GPU, "
                       "torch.use_deterministic_algorithms(True)) to check it")


#: two calls of a loss at the same inputs may differ by this much, relative (a sum taken in another
#: order rounds otherwise: 1e-13 at values near 1); more is randomness
REPEAT_RTOL = 1e-12


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
            f"ε = {eps:.3g}; expect most elements below-noise at --rtol {{rtol:g}} (--rtol {_rtol_for(eps):g} "
            "suits its precision)")


def _rtol_for(eps: float) -> float:
    """A relative tolerance the estimates in a precision of ``eps`` reach, measured: ε^(1/2) rounded
    up to a power of ten (1e-3 for float32: sin in float32 verified 8 of 12 elements there, none at
    1e-4; 1e-1 for float16)."""
    return float(10.0 ** np.ceil(np.log10(eps ** 0.5)))


#: elements whose checks stepped within this many times 4 ulps of x stay still in the Taylor probe
_NEAR_FLOOR = 256


def _undecided(rr: RoleResult, rows: np.ndarray | None, finest: np.ndarray | None = None) -> np.ndarray | None:
    """Where the role's inconclusive elements are, in its shape (its ``rows`` only, when given);
    None when there are none. The Taylor probe leaves them still: no derivative was found there.
    So does it the elements ``finest`` judged at (or near) the smallest steps float64 resolves (sin
    at x = 1e12): no move of the probe is both smaller than their bends and larger than their spacing."""
    undecided = np.asarray(rr.status_codes() == INCONCLUSIVE)
    if finest is not None:
        undecided |= finest
    if not undecided.any():
        return None
    flat = np.zeros(int(np.prod(rr.shape)), dtype=bool)
    flat[rr.flat_index[undecided]] = True
    return flat.reshape(rr.shape) if rows is None else flat.reshape(rr.shape)[rows]


def _check(loss: Loss, arrays: dict, params: dict, opts: Options) -> LossCheck:
    if not loss.has_gradient:
        raise LossCliError(f"gradcheck: {loss.no_gradient_message()}")
    params = loss.resolve_params(params)
    ev = Evaluator(loss, arrays, params)
    result = LossCheck(loss.name, params, {k: tuple(v.shape) for k, v in arrays.items()}, method=opts.method)
    prints = _fingerprints(arrays)
    grads = loss.gradient_of(arrays, params)
    _refuse_changed_inputs(loss, arrays, prints, "gradient")
    result.notes.extend(_unchecked_keys(loss, grads))
    base = ev()
    _refuse_changed_inputs(loss, arrays, prints, "loss")
    require_numbers(loss, base)
    _refuse_unrepeatable(loss, base, ev())
    # one value per sample, finite (else there is no derivative to check): said as compute says it
    require_per_sample(loss, base, np.shape(arrays[ev.order[0]])[0])
    require_finite(loss, np.asarray(base, dtype=np.float64).reshape(-1), "loss", range(np.size(base)))
    # independent streams: the sample of elements, the probes, the Taylor direction, the slice of
    # rows (never the stream random inputs were drawn from with the same seed)
    rng_sample, rng_probe, rng_taylor, rng_slice = (Draws(opts.seed, 17, i) for i in range(4))
    # a loss declared row-local on many rows: what needs no full batch is measured on a slice
    part = row_slice(ev, np.shape(base)[0], rng_slice) if loss.coupling != "batch" else None
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
            if g is None:
                keys = ", ".join(repr(k) for k in grads) or "none"
                result.notes.append(f"{role}: the analytic gradient has no {role!r} (its keys: {keys}; one per "
                                    f"differentiable input: {', '.join(repr(r) for r in loss.differentiable)})")
            else:
                result.notes.append(f"{role}: the analytic gradient returned shape {g.shape}, expected shape {x.shape}")
            bad = RoleResult(role, x.shape, np.arange(x.size), np.full(x.size, np.nan), np.zeros(x.size),
                             np.zeros(x.size), np.zeros(x.size), np.zeros(x.size), step=np.zeros(x.size))
            finish(bad, np.full(x.size, FAIL), np.full(x.size, 7), opts)
            result.roles.append(bad)
            result.checked += x.size
            continue
        if g.dtype.kind == "f" and g.dtype.itemsize < 8:
            result.notes.append(f"{role}: the analytic gradient is {g.dtype} (ε {np.finfo(g.dtype).eps:.1e}): "
                                "its rounding is part of what is compared")
        g = g.astype(np.float64)
        xs = x[part.rows] if part is not None else x
        coupling = detect_coupling(part.ev if part is not None else ev, role, xs, loss.coupling,
                                   base=part.base if part is not None else base)
        result.couplings[role] = coupling
        if coupling != loss.coupling:
            result.notes.append(f"{role}: declared coupling '{loss.coupling}', but the loss is {coupling}-coupled "
                                f"(measured by perturbing rows and watching the others): checked as {coupling}")
        row_local = coupling in ("elementwise", "row")
        gs = part.gradient(role, xs.shape) if part is not None and row_local else None
        # (a row-local role on the slice: each row's elements are checked on every row below)
        at = (part.ev, xs, gs, part.base) if part is not None and gs is not None else (ev, x, g, base)
        # (the slice's losses are widened to float64: the loss's own dtype is the batch's)
        prec = stepping.detect_precision(at[0], role, at[1], at[2], at[3], row_local, np.asarray(base).dtype)
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
            est, err, left, right, status, why, step, rel_noise = check_columns(
                ev, role, x, g, base, method, lo, hi, eps, opts, result.notes)
            flat_idx = np.arange(x.size)
            rr = RoleResult(role, x.shape, flat_idx, g.reshape(-1), est.reshape(-1), err.reshape(-1),
                            left.reshape(-1), right.reshape(-1), step=step.reshape(-1))
            status, why = status.reshape(-1), why.reshape(-1)
            joint_kinks(ev, role, x, g, base, status, why, rr.step, rr.err_est, eps, opts, rr.left, rr.right)
            result.noise[role] = rel_noise
        else:
            flat_idx = sample_elements(x.shape, opts.max_elements, rng_sample)
            if flat_idx.size < x.size:
                result.notes.append(f"{role}: batch-coupled, {x.size} elements > --max-elements "
                                    f"{opts.max_elements}: checked a stratified sample of {flat_idx.size} "
                                    f"plus {opts.probes} random-direction probes")
            h, side, _ = stepping.plan(x.reshape(x.shape[0], -1), lo, hi, eps)
            h, side = h.reshape(-1), side.reshape(-1)
            est, err, left, right, kinks, undecided, taken, agreed = (np.asarray(v) for v in _batch_estimates(
                ev, role, x, method, base_sum, flat_idx, (h, side), opts, result.notes,
                analytic=g.reshape(-1)[flat_idx], base=base, eps=eps))
            rr = RoleResult(role, x.shape, flat_idx, g.reshape(-1)[flat_idx], est, err, left, right, step=taken)
            classify(rr, kinks, opts, undecided, agreed)
            measured = copies_for(ev, role, x, base, eps).rel_noise
            if measured is not None:
                result.noise[role] = measured
            if flat_idx.size < x.size:
                result.probes.extend(probe(ev, role, x, g, opts, rng_probe, base_sum, (h, side), eps))
        finest = None
        if row_local:
            # (before finish, where one within its bound only becomes below-noise): judged at the smallest
            # steps, or stepped within 1024 ulps of x by the ladder (exp(-(p - t)²) at p = 1e13, bending at
            # scale 1/2, where the spacing is 1/512)
            finest = (why == FINER_THAN_SCALE) | (rr.step <= _NEAR_FLOOR * stepping.floor(x.reshape(-1), eps))
            finish(rr, status, why, opts, assumed=True)
        if np.any(rr.codes == KINK):
            kinked_roles.add(role)
        result.checked += rr.flat_index.size
        result.roles.append(rr)
        rows = part.rows if part is not None and at[0] is not ev else None
        taylor_args.append((role, at, lo, hi, eps, _undecided(rr, rows, finest)))
    result.precision = precision
    if precision != "float64":
        result.notes.append(_precision_note(precision, np.asarray(base).dtype).format(rtol=opts.rtol))
    result.consistency = consistency(loss, grads, arrays)
    for role, (on, x, g, b), lo, hi, eps, still in taylor_args:
        # (a coarser precision resolves gradients to _rtol_for(eps) only: a float32 loss's correct gradient
        # read order 1.25 on 3% of seeds; review 99 #6)
        t = taylor(on, role, x, g, rng_taylor, base=b, bounds=(lo, hi), eps=eps, still=still, atol=opts.atol,
                   rtol=opts.rtol, resolved=_rtol_for(eps) if eps > stepping.EPS_OF["float64"] else 0.0)
        if on is not ev:
            t["rows"] = int(x.shape[0])
        if not t["passed"] and role in kinked_roles:  # a probe that crosses a kink shrinks like t
            t["passed"], t["note"] = True, "informational: the probe crosses the kinks found"
        result.taylor.append(t)
    if part is not None:
        sliced = [role for role, at, *_ in taylor_args if at[0] is not ev]
        also = f"; the precision and the Taylor test of {', '.join(sliced)}" if sliced else ""
        result.notes.append(f"measured on {part.rows.size} random rows of {part.total} ({part.ev.calls} of the "
                            f"{ev.count} evaluations): the coupling{also}; every element is checked on every row")
    result.evaluations = ev.count
    return result
