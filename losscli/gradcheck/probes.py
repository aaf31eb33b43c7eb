"""Checks beyond one element at a time: a stratified sample of a batch-coupled loss's elements,
random-direction probes bisected down to the bad elements, declared gradient identities
(checked without a tolerance) and the Taylor-remainder order."""

from __future__ import annotations

import numpy as np

from ..registry import Loss
from .methods import EPS, H_SCALE, richardson_from


def sample_elements(shape: tuple, budget: int, rng: np.random.Generator) -> np.ndarray:
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


def _directional(ev, role: str, x: np.ndarray, v: np.ndarray, base_sum: float):
    """Richardson estimate of the directional derivative of the total along v, and its error."""
    h = H_SCALE * max(1.0, float(np.max(np.abs(x))))
    vals = [float(np.sum(ev(role, x + s * v))) for s in (h, -h, h / 2, -h / 2)]
    fp, fm, fp2, fm2 = (np.array([v_]) for v_ in vals)
    e, err, *_ = richardson_from(np.array([base_sum]), fp, fm, fp2, fm2, np.array([h]))
    return float(e[0]), float(err[0])


def probe(ev, role, x, g, opts, rng, base_sum) -> list[dict]:
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


def taylor(ev, role: str, x: np.ndarray, g: np.ndarray, rng) -> dict:
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
