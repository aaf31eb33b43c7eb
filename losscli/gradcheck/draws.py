"""Reproducible random draws for the checker (directions, samples of elements and rows): one
numpy ``Generator`` per stream, a stream named by integers (the seed, then what it is for) through
numpy's ``SeedSequence``, so streams are independent of each other and of the order in which they
are used; and the few kinds of draw the checker makes, named."""

from __future__ import annotations

import numpy as np


class Draws:
    """One stream of random draws, named by integers: ``Draws(seed, 17, 2)``."""

    def __init__(self, *key: int):
        self._rng = np.random.default_rng([int(k) for k in key])

    def random(self, size) -> np.ndarray:
        """Uniform on [0, 1), ``size`` an int or a shape."""
        return self._rng.random(size)

    def standard_normal(self, shape) -> np.ndarray:
        return self._rng.standard_normal(shape)

    def integers(self, low: int, high, size) -> np.ndarray:
        """Integers in [low, high) (``high`` an int or an array of them), ``size`` of them."""
        return self._rng.integers(low, high, size)

    def permutation(self, n: int) -> np.ndarray:
        """A random order of range(n)."""
        return self._rng.permutation(n)

    def signs(self, shape) -> np.ndarray:
        """-1.0 or 1.0, equally likely."""
        return np.where(self._rng.random(shape) < 0.5, -1.0, 1.0)

    def subset(self, n: int, k: int) -> np.ndarray:
        """``k`` distinct integers of range(n) (k <= n), sorted."""
        return np.sort(self._rng.choice(n, size=k, replace=False))

    def subset_of(self, values: np.ndarray, k: int) -> np.ndarray:
        """``k`` of ``values`` at random (all when there are no more)."""
        if values.size <= k:
            return values
        return values[self._rng.permutation(values.size)[:k]]
