"""FAILs that a loss moving in jumps coarser than the ladder's steps may have made, judged at larger
steps: a staircase (-log(1 - σ(x)) at logits of 24, where 1 - σ(x) rounds to 2^-53 in 4e-11 and the
loss to jumps of 5.9e-6; a loss logged rounded to 1e-3) is flat at steps below a jump, whatever its
slope, and a flat loss at two steps is no evidence against a gradient; at steps of a few jumps its
estimates are off by up to 1.5 jumps over the step, which no noise table at dyadic steps shows.

Only FAILs whose difference times their step is within 1.5 jumps are looked at (the loss's own moves at
half the FAIL's step bound the jump: a sign error or a factor 2 under a smooth loss costs nothing here).
The element is probed on both sides at steps growing by 2 from h/256 (or the FAIL's step, if smaller)
while the loss has not moved, then by sqrt(2), up to 131072h (about the element's scale, inside its
room), until each side has moved 4 times and by 32 jumps. It is quantised where both sides move, the
values within 5 jumps of f(x) lie whole multiples of the smallest jump J between neighbouring values
from it (to a tenth of one), and the loss stands still somewhere (two neighbouring probes on one side at
the same nonzero level, or the smallest probes on both sides at f(x) itself: a staircase's treads; a
linear piece beyond a clamp or a dead zone never ties). There, where every value within 64 jumps of
f(x) lies within 2J of the line the analytic slope draws through f(x) (its curvature fitted away), the
data cannot tell that gradient from the loss's: the FAIL becomes undecided (reason 27). Elsewhere the
FAIL stands: a clamp (relu's flat side, a hinge's wrong side) never moves on one side; a wrong slope
through a staircase (a factor 2, a sign) leaves the line by many jumps within 32 jumps of x."""

from __future__ import annotations

import numpy as np

from .result import FAIL, INCONCLUSIVE

#: probes grow by 2 from h/SMALLEST (or the FAIL's step, if smaller) while the loss has not moved, then by
#: sqrt(2) (two or more land on each tread of a staircase's first levels), up to LARGEST·h (~0.8 of the
#: element's scale: h = ε^(1/3)·scale)
HIGHEST, LARGEST, SMALLEST = 32, 131072, 256
#: probes moved on each side, and the jumps the largest move spans, after which an element's probing stops
ENOUGH, REACH = 4, 32
#: values within this many jumps of f(x) are judged (the loss's curvature is negligible there)
NEAR = 64
#: whole multiples of J to this fraction of a jump, over the values within FEW jumps of f(x)
WHOLE, FEW = 0.1, 5
#: a value within this many jumps of the analytic line is consistent with it
WITHIN = 2.0
#: values each off by up to J/2 move a Richardson estimate at step s by up to 1.5·J/s
BOUND = 1.5
#: the reason code of an element undecided here
STAIRS = 27


def stepped(col, j, xj, a_all, h_all, side, room, f0_all, opts, est, err, left, right, step, status, reason,
            notes: list, role: str) -> None:
    """Column j's FAILs (central) that jumps of the loss may explain, probed at larger steps: undecided
    (``STAIRS``) where the loss is a staircase the analytic slope runs through, with a note of its jumps."""
    with np.errstate(invalid="ignore"):
        sel = np.flatnonzero((status[:, j] == FAIL) & (side == 0) & np.isfinite(a_all) & np.isfinite(h_all)
                             & (h_all > 0) & np.isfinite(est[:, j]) & np.isfinite(step[:, j]))
    if not sel.size:
        return
    # The loss's moves at half the FAIL's step (its one-sided slopes there) bound the jump J from above
    # where both are nonzero: a FAIL whose difference no jump that small explains stands, unprobed (a
    # sign error or a factor 2 under a smooth loss costs no evaluation here)
    moves = _moves(a_all[sel], est[sel, j], left[sel, j], right[sel, j], step[sel, j])
    sel = sel[np.abs(a_all[sel] - est[sel, j]) * step[sel, j] <= BOUND * moves]
    if not sel.size:
        return
    moves = _moves(a_all[sel], est[sel, j], left[sel, j], right[sel, j], step[sel, j])
    n = xj.size
    h, f0, a, space = h_all[sel], f0_all[sel], a_all[sel], room[sel]
    # (from the ladder's smallest steps, where a staircase coarser than them is flat, or the FAIL's own)
    low = h / SMALLEST
    flat = np.where(np.isfinite(step[sel, j]) & (step[sel, j] > 0), np.minimum(step[sel, j], low), low)
    ds, vs = [], []
    moved = np.zeros((2, sel.size), dtype=int)
    reach = np.zeros((2, sel.size))  # the largest move on each side
    least = np.full(sel.size, np.inf)  # the smallest move (an upper bound of the jump)
    d = flat.copy()
    for _ in range(4 * HIGHEST):
        # each side moved ENOUGH times and by REACH jumps: the analytic line is judged over that many
        enough = (moved.min(axis=0) >= ENOUGH) & (reach.min(axis=0) >= REACH * least)
        live = (d < space) & (d <= LARGEST * h) & ~enough
        if not live.any():
            break
        for s, sign in enumerate((1.0, -1.0)):
            full = np.zeros(n)
            full[sel[live]] = sign * d[live]
            v = np.full(sel.size, np.nan)
            v[live] = col.at(j, xj, full)[sel[live]]
            ds.append(np.where(live, sign * d, np.nan))
            vs.append(v)
            moved[s] += live & np.isfinite(v) & (v != f0)
            with np.errstate(invalid="ignore"):
                m = np.abs(v - f0)
                reach[s] = np.fmax(reach[s], np.where(live & np.isfinite(m), m, 0.0))
                least = np.fmin(least, np.where(live & np.isfinite(m) & (m > 0), m, np.inf))
        # (by 2 while the loss has moved on neither side: a flat stretch is crossed in few probes)
        d = d * np.where(moved.max(axis=0) > 0, np.sqrt(2.0), 2.0)
    d = np.stack(ds)  # (probes, elements)
    v = np.stack(vs)
    undecided = _staircase(d, v, f0, a)
    # and only where the FAIL's own difference is one the staircase makes at its step: values each off by
    # up to J/2 move a Richardson estimate at step s by up to 1.5·J/s (a FAIL at steps where the loss moves
    # by many jumps resolved the slope, and stands)
    with np.errstate(invalid="ignore"):
        undecided &= np.abs(a - est[sel, j]) * step[sel, j] <= BOUND * np.fmin(_jump(d, v, f0)[0], moves)
    if not undecided.any():
        return
    rows = sel[undecided]
    status[rows, j], reason[rows, j] = INCONCLUSIVE, STAIRS
    jumps = _jump(d, v, f0)[0][undecided]
    notes.append(f"{role}: {rows.size} element(s) of column {j} rest on a loss flat at the ladder's steps that moves "
                 f"in jumps of {np.min(jumps):.3g} to {np.max(jumps):.3g} at larger steps (quantised at that scale): "
                 "undecided")


def _moves(a, e, left, right, step):
    """The smaller nonzero move of the loss at ± half the FAIL's step (from its one-sided slopes; inf where
    neither moved): an upper bound of the jump J of a staircase."""
    with np.errstate(invalid="ignore"):
        m = np.abs(np.stack([left, right])) * step / 2
        m = np.where(np.isfinite(m) & (m > 0), m, np.inf)
    return np.min(m, axis=0)


def _jump(d, v, f0):
    """Per element, the smallest nonzero difference between values at neighbouring probes (x included)."""
    dd = np.concatenate([d, np.zeros((1, d.shape[1]))])
    vv = np.concatenate([v, f0[None]])
    order = np.argsort(np.where(np.isfinite(dd), dd, np.inf), axis=0)
    ds, vs = np.take_along_axis(dd, order, 0), np.take_along_axis(vv, order, 0)
    with np.errstate(invalid="ignore"):
        gaps = np.abs(np.diff(vs, axis=0))
        gaps = np.where(np.isfinite(gaps) & (gaps > 0), gaps, np.inf)
    return np.min(gaps, axis=0), ds, vs


def _staircase(d, v, f0, a):
    """Where the probes (``d`` steps, ``v`` values; NaN where not probed) show a staircase that the
    line f(x) + a·d runs through, to WITHIN jumps."""
    J, ds, vs = _jump(d, v, f0)
    with np.errstate(invalid="ignore", divide="ignore"):
        fin = np.isfinite(ds) & np.isfinite(vs)
        delta = vs - f0[None]
        up = np.any(fin & (ds > 0) & (delta != 0), axis=0)
        down = np.any(fin & (ds < 0) & (delta != 0), axis=0)
        near = fin & (np.abs(delta) <= NEAR * J[None])
        k = delta / J[None]
        # (over the first few levels: a staircase's spacing may drift further out, 1/850 a level at 1 - σ(30))
        whole = np.all(~(fin & (np.abs(k) <= FEW)) | (np.abs(k - np.round(k)) <= WHOLE), axis=0)
        # a nonzero tread: neighbouring probes on one side at the same nonzero value
        same = (np.diff(vs, axis=0) == 0) & (delta[1:] != 0) & fin[1:] & fin[:-1] \
            & (np.sign(ds[1:]) == np.sign(ds[:-1]))
        tread = np.any(same, axis=0)
        # or the tread at f(x) itself: the smallest probe on each side unmoved, both sides moving further out
        cols = np.arange(ds.shape[1])
        at0 = np.argmax(fin & (ds == 0), axis=0)
        below, above = np.maximum(at0 - 1, 0), np.minimum(at0 + 1, ds.shape[0] - 1)
        beside = (ds[below, cols] < 0) & (ds[above, cols] > 0) & fin[below, cols] & fin[above, cols]
        tread |= beside & (delta[below, cols] == 0) & (delta[above, cols] == 0)
        # the analytic line, its curvature fitted away (an even term: no odd error hides in it)
        r = np.where(near, delta - a[None] * ds, 0.0)
        d2 = np.where(near, ds * ds, 0.0)
        c = np.sum(r * d2, axis=0) / np.sum(d2 * d2, axis=0)
        c = np.where(np.isfinite(c), c, 0.0)
        resid = np.where(near, np.abs(r - c[None] * d2), 0.0)
        on_line = np.max(resid, axis=0) <= WITHIN * J
    return np.isfinite(J) & up & down & whole & tread & on_line
