"""Partial results as picklable snapshots: what an engine that evaluates partitions elsewhere
(Dask) ships back and merges."""

from __future__ import annotations

from typing import Any


class Snapshot:
    """``state()`` is a dict of the attributes named in ``_STATE``; ``from_state(state, *args)``
    builds the statistic with ``args`` and restores them."""

    _STATE: tuple[str, ...] = ()

    def state(self) -> dict:
        return {k: getattr(self, k) for k in self._STATE}

    @classmethod
    def from_state(cls, state: dict, *args: Any):
        obj = cls(*args)
        for k in cls._STATE:
            setattr(obj, k, state[k])
        return obj
