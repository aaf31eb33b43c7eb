"""Batch-coupled roles: each element's derivative of the total, and which coupling a role
really has (measured, not declared)."""

from __future__ import annotations

import numpy as np

from .methods import METHODS


def detect_coupling(ev, role: str, x: np.ndarray, declared: str) -> str:
    """The coupling ``role`` has at ``x``: the declared one until measured (see issue 17)."""
    return declared


def estimate_elements(ev, role: str, x: np.ndarray, method: str, base_sum: float, flat_idx: np.ndarray):
    """Batch coupling: one element at a time, the derivative of the total."""
    m = flat_idx.size
    out = [np.empty(m) for _ in range(4)] + [np.zeros(m, dtype=bool)]
    flat = x.reshape(-1)
    estimate = METHODS[method][0]
    f0 = np.array([base_sum])
    for t, idx in enumerate(flat_idx):
        def at(delta, idx=idx):
            pert = flat.astype(np.result_type(flat, delta))
            pert[idx] += delta[0]
            return np.array([np.sum(ev(role, pert.reshape(x.shape)))])

        for arr, v in zip(out, estimate(at, f0, flat[idx:idx + 1])):
            arr[t] = v[0]
    return out


