"""Evaluate a loss on validated inputs: per-sample losses, reduction, statistics, gradients.

This module knows nothing of files or formats; ``cli.py`` reads, ``validation.py`` checks,
``formats.py`` renders.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .errors import InputError
from .registry import Loss

REDUCTIONS = ("mean", "sum", "none")
STAT_KEYS = ("mean", "std", "min", "p50", "p90", "p99", "max")


@dataclass
class Evaluation:
    loss: Loss
    params: dict
    reduction: str
    per_sample: np.ndarray  # (N,) unweighted per-sample losses of the evaluated rows
    value: float | None  # None for reduction "none"
    rows: np.ndarray | None = None  # file row of each evaluated sample (None: 0..N-1)
    weights: np.ndarray | None = None
    gradients: dict[str, np.ndarray] | None = None
    omitted: int = 0
    extra: dict = field(default_factory=dict)

    @property
    def count(self) -> int:
        return int(self.per_sample.shape[0])

    def row_of(self, i: int) -> int:
        return int(self.rows[i]) if self.rows is not None else int(i)


def _denominator(n: int, weights: np.ndarray | None, normaliser: np.ndarray | None) -> float:
    if weights is None and normaliser is None:
        return float(n)
    w = np.ones(n) if weights is None else weights
    return float(np.sum(w if normaliser is None else w * normaliser))


def reduce(per_sample: np.ndarray, reduction: str, weights: np.ndarray | None = None,
           normaliser: np.ndarray | None = None) -> float | None:
    """mean: Σ w_i l_i / Σ w_i n_i; sum: Σ w_i l_i; none: None. w are the user's sample
    weights (default 1), n the loss's own normaliser (default 1; PyTorch's class weights w[y_i]).

    numpy's sum is pairwise, so its rounding error grows like log N, not N."""
    if reduction == "none":
        return None
    total = float(np.sum(per_sample if weights is None else weights * per_sample))
    if reduction == "sum":
        return total
    return total / _denominator(per_sample.shape[0], weights, normaliser)


def cotangent(n: int, reduction: str, weights: np.ndarray | None,
              normaliser: np.ndarray | None = None) -> np.ndarray | None:
    """d(reported value)/d(l_i); None means all ones (the gradient of the plain sum)."""
    if reduction == "none":
        return None
    if reduction == "sum":
        return weights
    w = np.ones(n) if weights is None else weights
    return w / _denominator(n, weights, normaliser)


def evaluate(loss: Loss, arrays: dict[str, np.ndarray], params: dict, reduction: str = "mean",
             weights: np.ndarray | None = None, gradient: bool = False,
             rows: np.ndarray | None = None, omitted: int = 0, strict: bool = True) -> Evaluation:
    """Per-sample losses, the reduced value and (optionally) the gradient of that value.

    ``strict``: the inputs are finite here, so a non-finite loss or gradient means the values
    are beyond float64 for this loss (exp(1e4) in the exponential loss): an InputError naming
    the row, never a silent inf/NaN. ``--nan-policy propagate`` turns it off."""
    params = loss.resolve_params(params)
    args = [arrays[r.name] for r in loss.inputs if r.name in arrays]
    with np.errstate(all="ignore"):  # judged by the results below, row by row
        per_sample = np.asarray(loss.fn(*args, **params), dtype=np.float64)
    n = args[0].shape[0]
    if per_sample.shape != (n,):
        raise InputError(f"{loss.name}: the loss function returned shape {per_sample.shape}, "
                         f"expected one value per sample ({n},)")
    if strict:
        _require_finite(loss, per_sample, "loss", rows)
    normaliser = None
    if loss.mean_normaliser is not None:
        normaliser = loss.mean_normaliser(dict(zip([r.name for r in loss.inputs], args)), params)
    ev = Evaluation(loss, params, reduction, per_sample,
                    reduce(per_sample, reduction, weights, normaliser),
                    rows=rows, weights=weights, omitted=omitted)
    if gradient:
        ct = cotangent(n, reduction, weights, normaliser)
        with np.errstate(all="ignore"):
            grads = loss.grad(*args, cotangent=ct, **params)
        ev.gradients = {k: np.asarray(v, dtype=np.float64) for k, v in grads.items()}
        for role, g in ev.gradients.items():
            if role not in arrays or g.shape != arrays[role].shape:
                raise InputError(f"{loss.name}: the gradient for {role!r} has shape {g.shape}, "
                                 f"expected the input's shape {arrays.get(role, np.empty(0)).shape}")
            if strict:
                _require_finite(loss, g.reshape(n, -1).sum(axis=1), f"gradient w.r.t. {role}", rows)
    return ev


def _require_finite(loss: Loss, values: np.ndarray, what: str, rows: np.ndarray | None) -> None:
    bad = ~np.isfinite(values)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        row = int(rows[i]) if rows is not None else i
        kind = "overflows float64" if np.isinf(values[i]) else "is undefined (NaN)"
        raise InputError(f"{loss.name}: the {what} {kind} at row {row} ({int(bad.sum())} of {values.size} rows) "
                         "although the inputs are finite: the values are too extreme for this loss")


def stats(per_sample: np.ndarray) -> dict[str, float]:
    """Distribution of the per-sample losses (unweighted; std is the population std)."""
    p50, p90, p99 = np.percentile(per_sample, [50, 90, 99])
    return {
        "mean": float(np.mean(per_sample)), "std": float(np.std(per_sample)),
        "min": float(np.min(per_sample)), "p50": float(p50), "p90": float(p90),
        "p99": float(p99), "max": float(np.max(per_sample)),
    }


def worst(per_sample: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k largest per-sample losses, largest first; ties go to the lower index,
    so the answer is unique (and the same however the rows were chunked)."""
    n = per_sample.shape[0]
    k = min(k, n)
    if k <= 0:
        return np.empty(0, dtype=np.intp)
    key = np.where(np.isnan(per_sample), np.inf, per_sample)  # NaN losses count as worst
    if k < n:
        threshold = np.partition(key, n - k)[n - k]  # the k-th largest value
        above = np.flatnonzero(key > threshold)
        tied = np.flatnonzero(key == threshold)[: k - above.size]
        candidates = np.concatenate([above, tied])
    else:
        candidates = np.arange(n)
    return candidates[np.lexsort((candidates, -key[candidates]))]
