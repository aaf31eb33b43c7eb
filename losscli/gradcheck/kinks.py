"""Kinks the ladder's steps see, judged: whether they are kinks at all (``narrower``: a bend or jump
narrower than every step has slopes that bracket nothing) and, for a row with several tied kinks,
whether the analytic gradient lies between the one-sided slopes along their joint direction
(``joint_kinks``)."""

from __future__ import annotations

import numpy as np

from . import Options
from .result import FAIL, INCONCLUSIVE, KINK, in_bracket


def narrower(lefts, rights, moves, f0, sens, eps):
    """Where the loss has structure narrower than every move tried. ``lefts``, ``rights``: the
    loss's change over three moves ``moves`` (each smaller) to either side, as f0 - f(x - d) and
    f(x + d) - f0. On each side the change is a line c = R·d + J; its offset J, fitted from the two
    larger moves and again from the two smaller, repeats itself (to 1e-3) only where the loss bends
    or jumps within the smallest move: a kink at x has J = 0 on both sides, curvature makes J shrink
    with d, rounding does not repeat. J_left + J_right is the jump between the two sides' lines at x,
    which no rounding of f0 makes (it shifts them oppositely): structure when above the rounding of
    f0; a J on one side alone counts when above the rounding of the loss's largest intermediate
    (|x|·|gradient|). poly1 at equal logits of 1e17: float64's spacing there is 16, the steps 1e9,
    and the loss falls by 2.4 within the first."""
    offsets = []
    with np.errstate(all="ignore"):
        (d0, d1, d2) = moves
        for c0, c1, c2 in (lefts, rights):
            r_a, r_b = (c0 - c1) / (d0 - d1), (c1 - c2) / (d1 - d2)
            offsets.append((c1 - r_a * d1, c2 - r_b * d2))
        (la, lb), (ra, rb) = offsets
        low, high = (64 * eps * np.maximum.reduce([np.ones_like(f0), np.abs(f0), s]) for s in (0 * f0, sens))

        def repeats(ja, jb, floor):
            return (np.abs(ja - jb) <= 1e-3 * np.abs(jb)) & (np.abs(jb) > floor)

        return repeats(la + ra, lb + rb, low) | repeats(la, lb, high) | repeats(ra, rb, high)


#: the largest step a check may take, in units of the first step h: 16h, and room around it
_LARGEST = 24


def joint_kinks(ev, role, x, g, base, status, reason, step, err, eps, opts: Options, left=None,
                right=None) -> None:
    """Rows with two or more kinks (ties of a max, of a sort): the analytic gradient along their
    joint direction must lie between the one-sided directional slopes there (two evaluations),
    within the elements' own numeric error bounds ``err`` along it (a smooth row whose curvature
    at the step scale made its slopes differ is no invalid subgradient).

    Only rows whose kinks all bend the same way (each element's one-sided ``left`` <= ``right``,
    or all >=): there the joint slopes bracket every sum of valid subgradients. A clamp at both of
    its bounds in one row (slopes [1, 0] and [0, 1]) has joint slopes 1 and 1, while 1 + 1 is a
    valid choice (PyTorch's): such a row is judged element by element."""
    n = x.shape[0]
    st2 = status.reshape(n, -1)
    at_kink = st2 == KINK
    if left is not None and right is not None:
        bend = np.sign(np.asarray(right, dtype=np.float64) - np.asarray(left, dtype=np.float64)).reshape(n, -1)
        mixed = (at_kink & (bend > 0)).any(axis=1) & (at_kink & (bend < 0)).any(axis=1)
        at_kink = at_kink & ~mixed[:, None]
    multi = at_kink.sum(axis=1) >= 2
    if not multi.any():
        return
    v = np.where(at_kink & multi[:, None], step.reshape(n, -1) / 2, 0.0)
    f0 = np.asarray(base, dtype=np.float64).reshape(-1)
    fp = np.asarray(ev(role, x + v.reshape(x.shape)), dtype=np.float64).reshape(-1)
    fm = np.asarray(ev(role, x - v.reshape(x.shape)), dtype=np.float64).reshape(-1)
    right, left = fp - f0, f0 - fm
    slope = np.sum(np.asarray(g, dtype=np.float64).reshape(n, -1) * v, axis=1)
    noise = 64 * eps * np.maximum.reduce([np.abs(f0), np.abs(fp), np.abs(fm)]) \
        + np.sum(np.abs(v) * np.nan_to_num(np.asarray(err, dtype=np.float64).reshape(n, -1), posinf=0.0), axis=1)
    ok = in_bracket(slope, left, right, noise, opts) | ~multi
    if ok.all():
        return
    # the same slopes at half the move must agree with these (sides resolved: a kink, not a bend
    # narrower than the step); where they do not, the row's kinks are undecided, not invalid
    # the loss at half and a quarter of the move: where the row's loss bends or jumps within them,
    # its slopes bracket nothing, and the row's kinks are undecided, not invalid
    at = [np.asarray(ev(role, x + (c * v).reshape(x.shape)), dtype=np.float64).reshape(-1) - f0
          for c in (0.5, -0.5, 0.25, -0.25)]
    moves = [np.ones(n), np.full(n, 0.5), np.full(n, 0.25)]
    sens = np.sum(np.abs(x.reshape(n, -1) * np.asarray(g, dtype=np.float64).reshape(n, -1)) * (v != 0), axis=1)
    firm = ~narrower([left, -at[1], -at[3]], [right, at[0], at[2]], moves, f0, sens, eps)
    re2 = reason.reshape(n, -1)
    for rows, code, why in ((~ok & firm, FAIL, 3), (~ok & ~firm, INCONCLUSIVE, 19)):
        bad = rows[:, None] & at_kink
        st2[bad], re2[bad] = code, why
