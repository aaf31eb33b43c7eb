"""Random values of each input domain, for ``gradcheck``'s random inputs and the registry-driven
tests: typical ones, and ones near the domain's bounds (where clamps and cancellation live) for
boundary sampling. :mod:`losscli.domains` names them in its table, one row per domain.

A sampler is ``f(shape, rng, classes) -> array``: ``rng`` a numpy Generator, ``classes`` the
C of class-index domains.
"""

from __future__ import annotations

import numpy as np


# -- typical values -----------------------------------------------------------------------------------
def standard_normal(shape, rng, classes):
    return rng.standard_normal(shape)


def binary(shape, rng, classes):
    return rng.integers(0, 2, shape).astype(np.float64)


def integer_ids(shape, rng, classes):
    return rng.integers(0, max(classes, 2), shape).astype(np.float64)


def softmax_rows(shape, rng, classes):
    z = rng.standard_normal(shape)
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def log_softmax_last(shape, rng, classes):
    """log-probabilities: log-softmax over the last axis (the classes)."""
    z = rng.standard_normal(shape)
    m = z.max(axis=-1, keepdims=True)
    return z - m - np.log(np.exp(z - m).sum(axis=-1, keepdims=True))


def one_hot_rows(shape, rng, classes):
    return np.eye(shape[1])[rng.integers(0, shape[1], shape[0])]


def indices(shape, rng, classes):
    return rng.integers(0, classes, shape).astype(np.intp)


def one_of(values):
    return lambda shape, rng, classes: rng.choice(values, shape)


def uniform(lo, hi):
    return lambda shape, rng, classes: rng.uniform(lo, hi, shape)


# -- near the bounds ----------------------------------------------------------------------------------
def _near_edges(shape, rng):
    """Distances to a bound, log-uniform in [1e-8, 1e-2]."""
    return 10.0 ** rng.uniform(-8.0, -2.0, shape)


def peaked_rows(shape, rng, classes):
    """Rows of a confident classifier: softmax of logits scaled by 5..18 (entries down to ~1e-30)."""
    z = rng.standard_normal(shape) * rng.uniform(5.0, 18.0, (shape[0],) + (1,) * (len(shape) - 1))
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def peaked_log_rows(shape, rng, classes):
    z = rng.standard_normal(shape) * rng.uniform(5.0, 18.0, (shape[0],) + (1,) * (len(shape) - 1))
    m = z.max(axis=-1, keepdims=True)
    return z - m - np.log(np.exp(z - m).sum(axis=-1, keepdims=True))


def extreme_reals(shape, rng, classes):
    """Large logits (|x| in 8..30) and tiny values (|x| in 1e-8..1e-3), half each, either sign."""
    sign = rng.choice([-1.0, 1.0], shape)
    big = rng.uniform(8.0, 30.0, shape)
    tiny = 10.0 ** rng.uniform(-8.0, -3.0, shape)
    return sign * np.where(rng.random(shape) < 0.5, big, tiny)


def near_zero(shape, rng, classes):
    """Values within 1e-8..1e-2 above 0 (variances, scales near their bound)."""
    return _near_edges(shape, rng)


def near_zero_or_one(shape, rng, classes):
    """Probabilities within 1e-8..1e-2 of 0 or of 1, half each."""
    return np.where(rng.random(shape) < 0.5, _near_edges(shape, rng), 1.0 - _near_edges(shape, rng))


def near_plus_minus_one(shape, rng, classes):
    """Values within 1e-8..1e-2 of -1 or of +1 (cosines, correlations)."""
    return rng.choice([-1.0, 1.0], shape) * (1.0 - _near_edges(shape, rng))
