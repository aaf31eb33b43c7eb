"""``gradcheck --order 2``: a framework loss's second derivatives (Hessian-vector products from its
own double backward, as ``torch.autograd.gradgradcheck`` and ``jax.test_util.check_grads(order=2)``
check them) against differences of its own gradient.

For a direction v, the framework's H·v is compared element by element with the derivative of the
gradient along v, (g(x + hv) - g(x - hv)) / 2h at h and h/2, Richardson-extrapolated, with an error
bound and a kink test (a kink of the gradient, as ReLU's, is classified "kink", not failed). The
directions:

- per differentiable role a, its "columns": v = 1 at trailing position j of every row, 0 elsewhere
  (for a parameter: v = 1). Row i of H·v is then column j of sample i's Hessian block, so for
  elementwise and row-coupled losses every second derivative ∂²l_i/∂a_ik∂a_ij is checked; results
  go to the role ``"b×a"`` of shape (b's shape) + (columns of a,), entry [..., j] = (H e_j)[...] in b.
  Beyond ``MAX_COLUMNS`` columns a sample of them is checked (and noted).
- ``RANDOM_DIRECTIONS`` random directions over every differentiable role and parameter at once
  (cross terms included): role ``"b×random"``, shape (directions,) + b's shape.
"""

from __future__ import annotations

import numpy as np

from ..errors import LossCliError
from ..loss import Loss
from . import Options
from .result import LossCheck, RoleResult, classify
from .steps import bounds
from .draws import Draws
from .methods import richardson_from
from .parameters import loss_epsilon

MAX_COLUMNS = 64
RANDOM_DIRECTIONS = 4


def refuse_without_framework(loss: Loss) -> None:
    """``--order 2`` needs the framework's second derivatives: a clear error for a numpy loss."""
    if loss.bridge is None:
        raise LossCliError(f"gradcheck --order 2: {loss.name} is a numpy loss; second derivatives come from the "
                           "framework's double backward, so --order 2 needs a loss registered with "
                           "backend='torch' or backend='jax'")


def check_second_order(loss: Loss, arrays: dict, params: dict, opts: Options, result: LossCheck,
                       precision: str = "float64") -> None:
    """Append the second-order results of ``loss`` at ``arrays`` to ``result`` (see the module doc)."""
    refuse_without_framework(loss)
    with np.errstate(all="ignore"):
        _check(loss, arrays, loss.resolve_params(params), opts, result, precision)


def _check(loss: Loss, arrays: dict, params: dict, opts: Options, result: LossCheck, precision: str) -> None:
    bridge = loss.bridge
    wrt = tuple(r for r in loss.differentiable if r in arrays) + loss.differentiable_params
    point = {n: (np.asarray(arrays[n], dtype=np.float64) if n in arrays else np.float64(params[n])) for n in wrt}
    # the interval each input's values live in (a parameter is unbounded): a step must not leave it
    within = {n: bounds(loss, n, np.ndim(point[n]), params) if n in arrays else (-np.inf, np.inf) for n in wrt}
    eps = loss_epsilon(precision)
    rng = Draws(opts.seed, 2)
    calls = 0

    def gradient_at(shift: dict) -> dict:
        nonlocal calls
        calls += 1
        moved = {**arrays, **{n: point[n] + shift[n] for n in wrt if n in arrays}}
        moved_params = {**params, **{n: float(point[n] + shift[n]) for n in wrt if n not in arrays}}
        return bridge.gradients(moved, moved_params, wrt)

    g0 = gradient_at({n: 0.0 for n in wrt})
    # the gradient's rounding: at least the loss's precision on the largest gradient of each output
    sensitivity = {n: float(np.max(np.abs(g0[n]))) if np.size(g0[n]) else 0.0 for n in wrt}
    notes: set[str] = set()

    def along(direction: dict) -> tuple[dict, dict]:
        """Framework H·v and the numeric estimate (estimate, err, left, right, kink) per output."""
        nonlocal calls
        hv, why = bridge.hvp(arrays, params, wrt, direction)
        calls += 1
        notes.update(why)
        h = _step(point, direction, within, eps)
        gp, gm = gradient_at(_scaled(direction, h)), gradient_at(_scaled(direction, -h))
        gp2, gm2 = gradient_at(_scaled(direction, h / 2)), gradient_at(_scaled(direction, -h / 2))
        numeric = {n: _differences(g0[n], gp[n], gm[n], gp2[n], gm2[n], h, sensitivity[n], eps) for n in wrt}
        return {n: np.asarray(hv[n], dtype=np.float64) for n in wrt}, numeric

    # per role (and parameter): its columns
    for a in wrt:
        shape_a = np.shape(point[a])
        columns = int(np.prod(shape_a[1:])) if len(shape_a) > 1 else 1
        chosen = np.arange(columns)
        if columns > MAX_COLUMNS:
            chosen = rng.subset(columns, MAX_COLUMNS)
            result.notes.append(f"second order: {a} has {columns} columns > {MAX_COLUMNS}: checked H·v along a "
                                f"random sample of {MAX_COLUMNS} of them")
        parts: dict = {b: [] for b in wrt}
        for j in chosen:
            d: dict = {n: np.zeros_like(point[n]) for n in wrt}
            if np.ndim(point[a]) == 0:
                d[a] = np.float64(1.0)
            else:
                d[a].reshape(shape_a[0], -1)[:, j] = 1.0
            analytic, numeric = along(d)
            for b in wrt:
                parts[b].append((analytic[b], numeric[b]))
        for b in wrt:
            _append(result, f"{b}×{a}", np.shape(point[b]) + (columns,), chosen, parts[b], opts, last=True)
    # random directions over everything at once: cross terms
    parts = {b: [] for b in wrt}
    for _ in range(RANDOM_DIRECTIONS):
        d = {n: rng.standard_normal(np.shape(point[n])) for n in wrt}
        analytic, numeric = along(d)
        for b in wrt:
            parts[b].append((analytic[b], numeric[b]))
    for b in wrt:
        _append(result, f"{b}×random", (RANDOM_DIRECTIONS,) + np.shape(point[b]), np.arange(RANDOM_DIRECTIONS),
                parts[b], opts, last=False)
    result.evaluations += calls
    result.notes.extend(sorted(notes))
    result.notes.append(f"second order: {loss.backend}'s H·v along each column of {', '.join(wrt)} (roles b×a) and "
                        f"{RANDOM_DIRECTIONS} random directions (b×random), against differences of its gradient")


def _differences(g0, gp, gm, gp2, gm2, h: float, sensitivity: float, eps: float) -> tuple:
    """(estimate, error bound, left, right, kink, step) of the derivative of one gradient along v,
    elementwise, each of the gradient's shape (the estimator works on flat arrays)."""
    shape = np.shape(g0)
    f0, fp, fm, fp2, fm2 = (np.asarray(g, dtype=np.float64).reshape(-1) for g in (g0, gp, gm, gp2, gm2))
    out = richardson_from(f0, fp, fm, fp2, fm2, h, sensitivity, eps=eps)
    return tuple(np.asarray(o).reshape(shape) for o in out) + (np.full(shape, h),)


def _scaled(direction: dict, t: float) -> dict:
    return {n: t * v for n, v in direction.items()}


def _step(point: dict, direction: dict, within: dict, eps: float) -> float:
    """h for the gradient differences: ε^(1/3) times the largest element moved (at least 1), shrunk so
    that x ± h·v stays inside every declared bounded domain."""
    scale, limit = 1.0, np.inf
    for n, v in direction.items():
        v = np.asarray(v, dtype=np.float64)
        moved = v != 0
        if not moved.any():
            continue
        x = np.asarray(point[n], dtype=np.float64)
        vmax = float(np.max(np.abs(v[moved])))
        scale = max(scale, float(np.max(np.abs(x[moved]))) / vmax) if x.ndim else max(scale, abs(float(x)) / vmax)
        lo, hi = within[n]
        if np.isfinite(lo) or np.isfinite(hi):
            room = np.minimum(x - lo, hi - x)[moved] / np.abs(v[moved])
            if room.size and np.min(room) > 0:
                limit = min(limit, float(np.min(room)) / 2)
    return min(eps ** (1.0 / 3.0) * scale, limit)


def _append(result: LossCheck, label: str, shape: tuple, chosen: np.ndarray, parts: list, opts: Options,
            last: bool) -> None:
    """One RoleResult from per-direction (analytic, numeric) pairs stacked along the last axis
    (columns, ``last``) or the first (random directions)."""
    if not parts:
        return
    axis = -1 if last else 0
    analytic = np.stack([np.asarray(a, dtype=np.float64).reshape(np.shape(a)) for a, _ in parts], axis=axis)
    fields = [np.stack([np.broadcast_to(np.asarray(num[k]), np.shape(a)) for a, num in parts], axis=axis)
              for k in range(6)]  # estimate, error bound, left, right, kink, step
    index = np.indices(analytic.shape).reshape(analytic.ndim, -1)
    if last:  # columns: the position of each checked column j in the full shape
        index[-1] = chosen[index[-1]]
    flat = np.asarray(np.ravel_multi_index(tuple(index), shape), dtype=np.intp).reshape(-1)
    rr = RoleResult(label, shape, flat, analytic.reshape(-1), fields[0].reshape(-1), fields[1].reshape(-1),
                    fields[2].reshape(-1), fields[3].reshape(-1), step=fields[5].reshape(-1).astype(np.float64))
    classify(rr, fields[4].reshape(-1).astype(bool), opts)
    result.roles.append(rr)
    result.total_elements += int(np.prod(shape))
    result.checked += flat.size
