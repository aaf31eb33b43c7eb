"""Where numeric derivatives may step: the domain of each input, the scale of each element, and
the precision the loss actually computes in.

- **Domains.** A role declares its domain (``Input(name, shape, domain)``); a step never leaves
  it. Near a boundary (a probability of 1e-7, a variance near 0) the step shrinks with the
  distance to the boundary; on the boundary itself it is one-sided, into the domain.
- **Scale.** Steps scale with the element: h = ε^(1/3)·s, s = max(|x|, the column's typical
  |x|, or the row's root mean square where that is smaller: a row of norm 1e-5 among rows of
  norm 1 is normalised at its own scale), but at most the distance to the domain's boundary. Steps are powers of two, so x ± h and
  x ± h/2 are exact in binary (the step taken is the step written), and never below a few ulps.
- **Precision.** A loss that casts its inputs to float32 (PyTorch's default dtype) cannot see a
  perturbation below float32's resolution: moving every element by a relative 2^-38 leaves
  its values bit for bit unchanged. Such a loss gets float32's ε in its steps and error bounds.
"""

from __future__ import annotations

import numpy as np

from .. import domains

#: machine epsilons of the precisions a loss may compute in, finest first
PRECISIONS: tuple[tuple[str, float], ...] = (("float64", 2.0 ** -52), ("float32", 2.0 ** -23),
                                             ("float16", 2.0 ** -10), ("bfloat16", 2.0 ** -7))
EPS_OF = dict(PRECISIONS)
#: each precision's smallest subnormal: the least step any of its values takes, so a value's noise is of
#: its order however small the value (1e-315·x² moves by nothing below it: its noise is not ε·|l| = 1e-331)
SUBNORMAL_OF = {"float64": 2.0 ** -1074, "float32": 2.0 ** -149, "float16": 2.0 ** -24, "bfloat16": 2.0 ** -133}


def subnormal(eps: float) -> float:
    """The smallest subnormal of the precision whose machine epsilon is ``eps`` (float64's for another)."""
    return next((SUBNORMAL_OF[name] for name, e in PRECISIONS if e == eps), SUBNORMAL_OF["float64"])
#: the ladder of step sizes: each rung divides the step by this
RUNG_FACTOR = 16.0

#: concrete domain -> (lower, upper) bound of the values (closed or open does not matter here:
#: a step never reaches a bound, and an element on one steps away from it)
_BOUNDS = {
    "probability": (0.0, 1.0), "prob_rows": (0.0, 1.0), "prob_rows_as_given": (0.0, 1.0),
    "unit_interval_signed": (-1.0, 1.0), "nonnegative": (0.0, np.inf), "positive": (0.0, np.inf),
    "log_probability": (-np.inf, 0.0), "log_prob_rows": (-np.inf, 0.0),
}


def bounds(loss, role: str, ndim: int, params: dict) -> tuple[float, float]:
    """The interval the values of ``role`` live in, from its declared domain (the one a parameter
    chooses, for a parameter-dependent domain: ``from_logits``, ``log_target``, ``log_input``)."""
    try:
        name = domains.resolve(domains.of_role(loss, role, params), ndim, False).name
    except KeyError:  # a plugin's own domain name: no bound known
        return (-np.inf, np.inf)
    return _BOUNDS.get(name, (-np.inf, np.inf))


def pow2_floor(v: np.ndarray) -> np.ndarray:
    """The largest power of two <= v (v > 0)."""
    v = np.ascontiguousarray(v, dtype=np.float64)
    # a normal number's power of two is its exponent bits alone (one pass, not frexp and ldexp)
    out = (v.view(np.uint64) & np.uint64(0x7FF0000000000000)).view(np.float64)
    tiny = out == 0  # (subnormal: its exponent bits are 0)
    if tiny.any():
        m, e = np.frexp(v[tiny])
        out[tiny] = np.ldexp(np.ones_like(m), e - 1)
    return out


def ulp(x: np.ndarray, eps: float) -> np.ndarray:
    """The spacing of numbers near x at machine epsilon ``eps`` (float64's smallest normal at 0)."""
    return pow2_floor(np.maximum(np.abs(x), np.finfo(np.float64).tiny)) * eps


def floor(x: np.ndarray, eps: float) -> np.ndarray:
    """The smallest step worth taking at x: 4 ulps of the precision."""
    return 4.0 * ulp(x, eps)


def typical(x2d: np.ndarray) -> np.ndarray:
    """Per column (trailing position), the typical magnitude of its elements: the median |x| of
    the nonzero ones, 1 for a column of zeros. Computed on at most 4096 rows."""
    a = np.abs(x2d[:: max(1, x2d.shape[0] // 4096)])
    if not a.size:
        return np.ones(x2d.shape[1])
    # the median of the nonzero values: zeros sorted last (as inf), the middle of the others read
    v = np.sort(np.where(a > 0, a, np.inf), axis=0)
    count = np.count_nonzero(a > 0, axis=0)
    cols = np.arange(a.shape[1])
    med = (v[np.maximum(count - 1, 0) // 2, cols] + v[count // 2 - (count == 0), cols]) / 2
    return np.where((count > 0) & np.isfinite(med) & (med > 0), med, 1.0)


def row_scale(x2d: np.ndarray) -> np.ndarray:
    """Per row of an (N, K) array with K >= 2, the root mean square of its elements, as an (N, 1)
    column (inf for K = 1, or a row of zeros: no limit). A row far smaller than its columns' typical
    values (an embedding of norm 1e-5 among norms near 1) is its own scale: a loss that normalises
    rows curves at that scale, and a step set by the other rows would be larger than the row."""
    if x2d.shape[1] < 2:
        return np.full((x2d.shape[0], 1), np.inf)
    with np.errstate(over="ignore"):
        rms = np.sqrt(np.mean(np.square(x2d), axis=1, keepdims=True))
    return np.where(rms > 0, rms, np.inf)


def scales(x2d: np.ndarray, lo: float, hi: float) -> tuple:
    """Per element of an (N, K) array: its scale s = max(|x|, the column's typical |x|), the room
    around it inside [lo, hi] (the distance to the nearer bound) and the distances to each bound."""
    s = np.maximum(np.abs(x2d), np.minimum(typical(x2d)[None, :], row_scale(x2d)))
    if np.isinf(lo) and np.isinf(hi):
        inf = np.broadcast_to(np.inf, x2d.shape)  # (read-only: no memory for a million infs)
        return s, inf, (inf, inf)
    dist_lo, dist_hi = x2d - lo, hi - x2d
    return s, np.minimum(dist_lo, dist_hi), (dist_lo, dist_hi)


def plan(x2d: np.ndarray, lo: float, hi: float, eps: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Steps of the first rung, the side each element is differenced on (0 central, +1 forward,
    -1 backward), and the smallest step worth taking (4 ulps; 0 where the domain is unbounded
    and ``floor`` computes it for the few elements that need it), for an (N, K) array.

    Central steps stay inside [lo, hi] with room to spare (h <= ε^(1/3)·distance); an element on
    a bound, or too close to one for a central step of 4 ulps, is differenced one-sided away from
    the nearer bound."""
    s, dist, (dist_lo, dist_hi) = scales(x2d, lo, hi)
    cube = eps ** (1.0 / 3.0)
    if np.isinf(lo) and np.isinf(hi):  # s >= |x|: ε^(1/3)·s is far above 4 ulps
        return pow2_floor(cube * s), np.zeros(x2d.shape, dtype=np.int8), np.zeros(x2d.shape)
    floor = 4.0 * ulp(x2d, eps)
    h = pow2_floor(np.maximum(cube * np.where(dist > 0, np.minimum(s, dist), s), floor))
    # an element on a bound, or with no room for a central step: one-sided, into the domain
    side = np.where(h >= 0.5 * dist, np.where(dist_lo <= dist_hi, 1, -1), 0).astype(np.int8)
    if side.any():
        room = np.where(side > 0, dist_hi, dist_lo)  # the one-sided stencil reaches x ± h
        h = np.where(side != 0, pow2_floor(np.maximum(np.minimum(cube * s, 0.5 * room), floor)), h)
    return h, side, floor


def _round_bits(x: np.ndarray, eps: float) -> tuple[np.ndarray, np.ndarray]:
    """x rounded to the mantissa of machine epsilon ``eps`` (range aside), and that precision's
    spacing of numbers at x."""
    m, e = np.frexp(x)
    bits = round(-np.log2(eps)) + 1
    rounded = np.ldexp(np.round(np.ldexp(m, bits)), e - bits)
    return rounded, np.ldexp(np.full(x.shape, eps / 2), e)


def detect_precision(ev, role: str, x: np.ndarray, g: np.ndarray, base: np.ndarray,
                     row_local: bool, out_dtype=None) -> str:
    """The precision the loss computes in, as seen from ``role``: the output's dtype, then probes.

    A loss that casts its inputs to float32 sees x and x' = (x rounded to float32) + a quarter of
    float32's spacing as the same number and returns its values bit for bit; a loss that computes
    in float64 sees a move of ~3e-8·|x| (far above its rounding, even where it cancels). Only
    rows where the move would be visible at the finer precision count (|Σ_j g_ij (x'_ij - x_ij)|
    above its rounding); for a batch-coupled role, the total.

    A row that does not move may sit at a kink instead (a hinge exactly at its margin, ties in a
    max: flat along this one direction). So a probe that sees nothing is checked against a control
    move of 4 coarse spacings, which the coarser precision sees: only rows the control moves count,
    and where it moves none, nothing is learnt and the precision stays. One evaluation for a
    float64 loss, three for a float32 one (probe, control, the next probe). ``out_dtype``: the
    dtype of the loss's own output where ``base`` was widened (a slice's losses)."""
    out_dtype = np.asarray(base).dtype if out_dtype is None else np.dtype(out_dtype)
    level = 0
    if np.issubdtype(out_dtype, np.floating):
        out_eps = float(np.finfo(out_dtype).eps)
        # (finer than float64, as long double: the probes decide from float64 on)
        level = max((i for i, (_, e) in enumerate(PRECISIONS) if e <= out_eps * 1.0000001), default=0)
    f0 = np.asarray(base, dtype=np.float64).reshape(-1)
    n = x.shape[0] if x.ndim else 1
    tiny = np.finfo(np.float64).tiny
    # row-local: a strided sample of <= 4096 rows is moved (the others stay), enough to decide
    rows = np.arange(0, n, max(1, n // 4096)) if row_local and x.ndim else None
    x2 = x.reshape(n, -1)
    xs = x2[rows] if rows is not None else x2
    gs = np.asarray(g).reshape(n, -1)[rows] if rows is not None else np.asarray(g).reshape(n, -1)
    while level + 1 < len(PRECISIONS):
        fine, coarse = PRECISIONS[level][1], PRECISIONS[level + 1][1]
        rounded, spacing = _round_bits(xs, coarse)
        moved_s = np.where(xs != 0, rounded + spacing / 4, xs)
        change = gs * (moved_s - xs)
        if rows is not None:
            expected = np.abs(change.sum(axis=1))
            visible = expected > 256.0 * fine * np.maximum(np.abs(f0[rows]), tiny)
        else:
            visible = np.array([abs(float(np.sum(change))) > 256.0 * fine * max(float(np.sum(np.abs(f0))), tiny)])
        if not visible.any():
            break
        changed = _changed(ev, role, x, x2, rows, moved_s, f0)
        if changed is None:
            break
        seen = changed[rows][visible].mean() if rows is not None else float(changed.any())
        if seen >= 0.1:
            break
        # the control: rows that a move the coarser precision sees does move
        control = _changed(ev, role, x, x2, rows, np.where(xs != 0, rounded + 4.0 * spacing, xs), f0)
        if control is None:
            break
        counted = control[rows][visible] if rows is not None else np.array([control.any()])
        if not counted.any():  # flat along this direction (kinks): no evidence of a coarse precision
            break
        if (changed[rows][visible] if rows is not None else np.array([changed.any()]))[counted].mean() >= 0.1:
            break
        level += 1
    return PRECISIONS[level][0]


def _changed(ev, role: str, x: np.ndarray, x2: np.ndarray, rows, moved_s: np.ndarray,
             f0: np.ndarray) -> np.ndarray | None:
    """Which values of the loss change when the probed rows (``rows``, or all) of ``role`` move to
    ``moved_s``; None if the loss returns another shape there."""
    moved_x = x2.copy()
    if rows is not None:
        moved_x[rows] = moved_s
    else:
        moved_x = moved_s
    moved = np.asarray(ev(role, moved_x.reshape(x.shape)), dtype=np.float64).reshape(-1)
    return None if moved.shape != f0.shape else moved != f0
