"""Numerically careful building blocks shared by the loss modules.

Every function here is vectorised, float64-friendly and raises no RuntimeWarning for finite
input: exponentials only ever see non-positive arguments, logarithms only positive ones.
"""

from __future__ import annotations

import numpy as np

#: Default clipping constant for probabilities fed to a logarithm (bce, ce): 1e-7, as Keras.
PROB_EPS = 1e-7


def rows(x: np.ndarray) -> np.ndarray:
    """View (N, ...) as (N, M): one row per sample, the trailing dimensions flattened."""
    return x.reshape(x.shape[0], -1)


def softplus(x: np.ndarray) -> np.ndarray:
    """log(1 + e^x) as max(x, 0) + log1p(e^{-|x|}): no overflow for large |x|."""
    return np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))


def sigmoid(x: np.ndarray) -> np.ndarray:
    """1 / (1 + e^{-x}) computed from e^{-|x|} <= 1 on both branches: no overflow."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def softplus_both(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(softplus(x), softplus(-x), e^{-|x|}) from one exponential and one log1p: bit for bit the
    separate calls (-softplus(∓x) is log σ(±x)); e gives both sigmoids (:func:`sigmoid_both`)."""
    e = np.exp(-np.abs(x))
    l = np.log1p(e)
    return np.maximum(x, 0.0) + l, np.maximum(-x, 0.0) + l, e


def sigmoid_both(x: np.ndarray, e: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(σ(x), σ(-x)) from e = e^{-|x|}: bit for bit ``sigmoid(x)``, ``sigmoid(-x)``."""
    big, small = 1.0 / (1.0 + e), e / (1.0 + e)
    return np.where(x >= 0, big, small), np.where(x <= 0, big, small)


def log_sigmoid(x: np.ndarray) -> np.ndarray:
    """log σ(x) = -softplus(-x), accurate for very negative x where σ(x) underflows."""
    return -softplus(-x)


def logsumexp(z: np.ndarray, axis: int = -1, keepdims: bool = False) -> np.ndarray:
    """log Σ exp(z) with the row maximum subtracted first, so exp never overflows."""
    m, shifted = shifted_by_max(z, axis)
    out = m + np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))
    return out if keepdims else np.squeeze(out, axis=axis)


def shifted_by_max(z: np.ndarray, axis: int = -1) -> tuple[np.ndarray, np.ndarray]:
    """(m, z - m), m the maximum along ``axis`` (kept as an axis of 1; 0 where it is not finite)."""
    m = np.max(z, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    return m, z - m


def log_softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    """(z - m) - log Σ e^{z - m}: both terms relative to the row maximum m. z - logsumexp(z) would
    add m back first and lose what it holds beyond m's precision: logits 1e8 + (0, 1, -1) lost 2.5e-9
    of the value, equal logits of 1e17 gave 0 for log C."""
    _, shifted = shifted_by_max(z, axis)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    e = _exp_in_place(z - np.max(z, axis=axis, keepdims=True))
    e /= np.sum(e, axis=axis, keepdims=True)
    return e


def _exp_in_place(x: np.ndarray) -> np.ndarray:
    """e^x, in x's own memory where x holds floats (a fresh array no one else sees)."""
    return np.exp(x, out=x) if x.dtype.kind == "f" else np.exp(x)


def one_hot(index: np.ndarray, num_classes: int) -> np.ndarray:
    out = np.zeros((index.shape[0], num_classes))
    out[np.arange(index.shape[0]), index.astype(np.intp)] = 1.0
    return out


def xlogy(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """x·log(y) with 0·log(anything) = 0 (the information-theory convention), no warnings."""
    safe = np.where(x == 0, 1.0, y)
    return np.where(x == 0, 0.0, x * np.log(safe))


def target_rows(labels: np.ndarray, num_classes: int) -> np.ndarray:
    """Class-index labels (N,) as one-hot rows; rows (N, C) are returned as they are."""
    return one_hot(labels, num_classes) if labels.ndim == 1 else labels


def nll_at(z: np.ndarray, index: np.ndarray | None = None, *, overwrite: bool = False) -> np.ndarray:
    """-log softmax(z_i)[y_i] over the last axis of z (..., N, C), y = ``index`` (N,) (default: i,
    the diagonal), without cancellation when the loss is tiny (see :func:`nll_shifted`): each row
    shifted by its maximum. ``overwrite``: z (floats) may serve as the work space."""
    return nll_shifted(*_row_max_shifted(z, index, overwrite))


def nll_and_softmax_minus_onehot(z: np.ndarray, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`nll_at` (z, index) and :func:`softmax_minus_onehot` (z, index) of (N, C) logits from
    one e^{z - max}, bit for bit what the two give apart (the same operations, once)."""
    e, zy, target = _row_max_shifted(z, index)
    nll = nll_shifted(e, zy, target)  # (e is read, not changed)
    e /= np.sum(e, axis=1, keepdims=True)
    return nll, _minus_onehot(e, target)


def _row_max_shifted(z: np.ndarray, index: np.ndarray | None, overwrite: bool = False):
    """(e^{z - m}, z_y - m, y) over the last axis, m each row's maximum, y = index (default: i)."""
    m = np.max(z, axis=-1, keepdims=True)
    e = np.subtract(z, m, out=z if overwrite and z.dtype.kind == "f" else None)
    rows = np.arange(z.shape[-2])
    target = rows if index is None else np.asarray(index).astype(np.intp)
    zy = e[..., rows, target]  # (a copy: fancy indexing)
    return _exp_in_place(e), zy, target


def nll_shifted(e: np.ndarray, zy: np.ndarray, target: np.ndarray | None = None) -> np.ndarray:
    """-log(e_iy / Σ_k e_ik) over the last axis of e = e^{z - s} (..., N, C), y = ``target`` (N,)
    (default: i), given zy = z_iy - s, for any shift s that keeps the row's terms finite and not
    all zero (each row's maximum; or a bound of every logit: the in-batch losses' |scale|).

    log Σ_k e_ik - zy, except where the target holds at least half of the row: the loss is then
    below log 2 and would cancel (lse and z_y large, their difference ~e^{-(z_y - z_k)}), so it is
    log1p(Σ_{k≠y} e_ik / e_iy), the others summed without the target's term."""
    total = np.sum(e, axis=-1)
    out = np.log(total) - zy
    ey = np.exp(zy)
    small = ey >= 0.5 * total
    if small.any():
        rows = e[small]  # (a copy of those rows)
        at = np.nonzero(small)[-1]
        rows[np.arange(rows.shape[0]), at if target is None else target[at]] = 0.0
        out[small] = np.log1p(np.sum(rows, axis=-1) / ey[small])
    return out


def softmax_minus_onehot(z: np.ndarray, index: np.ndarray) -> np.ndarray:
    """softmax(z) - onehot(index), with the target entry computed as -Σ_{k≠y} softmax_k."""
    return _minus_onehot(softmax(z, axis=1), index.astype(np.intp))


def _minus_onehot(s: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Softmax rows s (N, C) minus onehot(target), in place: the target's entry is minus the sum of
    the others (exact where the target holds nearly all of the row, where 1 - s_y would cancel)."""
    idx = np.arange(s.shape[0]), target
    s[idx] = 0.0
    s[idx] = -np.sum(s, axis=1)  # (the others' sum, the target's own entry now 0)
    return s


def norm(x: np.ndarray, axis: int = -1, keepdims: bool = False) -> np.ndarray:
    """Euclidean norm along ``axis`` that neither overflows nor underflows: rows whose plain
    sqrt(Σx²) is not finite or below 1e-150 (|x| beyond ~1e154, or tiny) are recomputed scaled by
    their largest magnitude; every other row is bit for bit ``np.linalg.norm``."""
    with np.errstate(over="ignore", under="ignore"):
        r = np.sqrt(np.sum(x * x, axis=axis, keepdims=True))
    bad = ~np.isfinite(r) | ((r < 1e-150) & (r >= 0))
    if bad.any():
        m = np.max(np.abs(x), axis=axis, keepdims=True)
        safe = np.where(np.isfinite(m) & (m > 0), m, 1.0)
        with np.errstate(over="ignore", under="ignore", invalid="ignore"):
            scaled = safe * np.sqrt(np.sum((x / safe) ** 2, axis=axis, keepdims=True))
        r = np.where(bad & np.isfinite(m), scaled, r)
    return r if keepdims else np.squeeze(r, axis=axis)
