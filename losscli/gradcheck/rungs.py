"""One rung of the ladder of steps, for every row's element j of a row-local role at once: the
loss with column j moved (``Column``), the Richardson (or one-sided) estimates at a step h and h/2
(``rung``), the noise σ measured from a table of equally spaced values (``column_noise``), and the
estimates judged again with that σ (``rejudge``). ``ladder.py`` and ``finer.py`` go down rungs."""

from __future__ import annotations

import numpy as np

from .methods import one_sided_from, richardson_from
from .noise import ecnoise


class Column:
    """Evaluations of the loss with one trailing position (column j) of every row moved."""

    def __init__(self, ev, role: str, x: np.ndarray):
        self.ev, self.role, self.shape = ev, role, x.shape
        self.buf = x.reshape(x.shape[0], -1).copy()

    def at(self, j: int, xj: np.ndarray, delta: np.ndarray, scale: float = 1.0) -> np.ndarray:
        """Per-sample losses with column j at xj + scale·delta (scale·delta is exact: a power of
        two times ±1, ±1/2, ±3/2; no array of moves is made for it)."""
        col = self.buf[:, j]
        np.multiply(delta, scale, out=col)
        col += xj
        try:
            return np.asarray(self.ev(self.role, self.buf.reshape(self.shape)), dtype=np.float64).reshape(-1)
        finally:
            self.buf[:, j] = xj


def rung(col: Column, j, xj, rows, h, side, f0, sens, noise, eps, extra: bool):
    """Estimates at step h for ``rows`` of column j (central where side == 0, one-sided
    elsewhere); with ``extra``, two more evaluations complete a table of equally spaced values
    for the noise estimate. Returns (estimate, err, left, right, kink, values, table)."""
    n = xj.size
    central = side == 0
    every = bool(central.all())
    fwd = np.where(side < 0, -1.0, 1.0)
    # per rung: central x±h, x±h/2; one-sided x+h, x+h/4, x+h/2 (and x itself) into the domain
    plan: list[tuple[np.ndarray, float]]
    if every:
        plan = [(h, c) for c in (1.0, -1.0, 0.5, -0.5) + ((1.5, -1.5) if extra else ())]
    else:
        moves = [np.where(central, h, fwd * h), np.where(central, -h, fwd * h / 4),
                 np.where(central, h / 2, fwd * h / 2), np.where(central, -h / 2, 0.0)]
        if extra:
            moves += [np.where(central, 1.5 * h, fwd * 0.75 * h), np.where(central, -1.5 * h, 0.0)]
        plan = [(d, 1.0) for d in moves]
    vals = []
    for d, c in plan:
        if rows is None:
            full = d
        else:
            full = np.zeros(n)
            full[rows] = d
        out = col.at(j, xj, full, c)
        vals.append(out if rows is None else out[rows])
    fA, fB, fC, fD = vals[:4]
    table = None
    if extra:
        fE, fF = vals[4:]
        # central: x-3h/2 .. x+3h/2 at spacing h/2; one-sided: x .. x+h at spacing h/4
        table = np.where(central, np.stack([fF, fB, fD, f0, fC, fA, fE]),
                         np.stack([f0, fB, fC, fE, fA, fA, fA]))
    est, err, left, right, kink = richardson_from(f0, fA, fB, fC, fD, h, sens, noise=noise, eps=eps)
    if not every:
        o = one_sided_from(f0, fA, fC, fB, fwd * h, sens, noise=noise, eps=eps)
        est, err, left, right, kink = (np.where(central, c, s) for c, s in zip((est, err, left, right, kink), o))
    return est, err, left, right, kink, vals[:4], table


def column_noise(table: np.ndarray, side: np.ndarray) -> np.ndarray:
    """σ per element from its table (7 points central, 5 one-sided)."""
    sigma = ecnoise(table)
    one = side != 0
    if one.any():
        sigma = np.where(one, ecnoise(table[:5]), sigma)
    return sigma


def rejudge(table, f0, h, side, sens, sigma, eps):
    """Rung-1 estimates from its table of values with the measured noise σ."""
    fF, fB, fD, _, fC, fA, fE = table
    out = richardson_from(f0, fA, fB, fC, fD, h, sens, noise=sigma, eps=eps)
    if (side != 0).any():
        fwd = np.where(side < 0, -1.0, 1.0)
        # one-sided table: f0, f(h/4), f(h/2), f(3h/4), f(h)
        t0, t4, t2, _, t1 = table[:5]
        o = one_sided_from(t0, t1, t2, t4, fwd * h, sens, noise=sigma, eps=eps)
        out = tuple(np.where(side == 0, c, s) for c, s in zip(out, o))
    return out
