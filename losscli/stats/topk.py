"""The worst samples: the K largest per-sample losses (for a signed measure, ``Loss.ranked_by``:
the largest in magnitude) with their file rows (and the inputs of those rows, for the table),
worst first, ties to the lower row, NaN counted as worst. The
answer is unique, so it is the same however the rows were cut into blocks or partitions."""

from __future__ import annotations

import numpy as np

from .snapshot import Snapshot


def rows_at(rows: np.ndarray | range, idx) -> np.ndarray:
    """File rows at positions ``idx`` of a block (a range for consecutive rows)."""
    if isinstance(rows, range):
        return np.arange(rows.start, rows.stop)[idx] if isinstance(idx, slice) else rows.start + np.asarray(idx)
    return np.asarray(rows)[idx]


def badness(values: np.ndarray, magnitude: bool = False) -> np.ndarray:
    """How bad each loss is, for ranking: the value, or with ``magnitude`` its absolute value (a
    signed measure whose either sign is bad: ``Loss.ranked_by``); NaN counts as worst (inf)."""
    key = np.abs(values) if magnitude else values
    return np.where(np.isnan(key), np.inf, key)


def worst(per_sample: np.ndarray, k: int, magnitude: bool = False) -> np.ndarray:
    """Indices of the k worst per-sample losses (``badness``), worst first; ties go to the lower index."""
    n = per_sample.shape[0]
    k = min(k, n)
    if k <= 0:
        return np.empty(0, dtype=np.intp)
    key = badness(per_sample, magnitude)
    if k < n:
        threshold = np.partition(key, n - k)[n - k]  # the k-th largest value
        above = np.flatnonzero(key > threshold)
        tied = np.flatnonzero(key == threshold)[: k - above.size]
        candidates = np.concatenate([above, tied])
    else:
        candidates = np.arange(n)
    return candidates[np.lexsort((candidates, -key[candidates]))]


class TopK(Snapshot):
    _STATE = ("values", "rows", "inputs", "magnitude")

    def __init__(self, k: int, magnitude: bool = False):
        self.k, self.magnitude = k, magnitude
        self.values = np.empty(0)
        self.rows = np.empty(0, dtype=np.int64)
        self.inputs: dict[str, np.ndarray] = {}

    def add(self, x: np.ndarray, rows: np.ndarray | range, inputs: dict | None = None) -> None:
        if self.k <= 0:
            return
        if self.values.size >= self.k:
            # only a loss worse than the current k-th worst (or NaN) can enter; an equal one too when
            # these rows are not all after the kept ones (ties go to the lower row)
            thr = badness(self.values[-1:], self.magnitude)[0]
            after = int(rows_at(rows, [0])[0]) > int(self.rows.max())
            key = badness(x, self.magnitude)
            cand = np.flatnonzero(key > thr if after else key >= thr)
            if cand.size == 0:
                return
            idx = cand[worst(x[cand], self.k, self.magnitude)]
        else:
            idx = worst(x, self.k, self.magnitude)
        new_inputs = {role: np.asarray(arr)[idx] for role, arr in (inputs or {}).items()}
        self._keep(x[idx], rows_at(rows, idx), new_inputs)

    def merge(self, other: "TopK") -> None:
        self.magnitude |= other.magnitude  # (built without the loss, to merge partial states: rank as they do)
        if self.k > 0:
            self._keep(other.values, other.rows, other.inputs)

    def _keep(self, values: np.ndarray, rows: np.ndarray, inputs: dict) -> None:
        vals = np.concatenate([self.values, values])
        rws = np.concatenate([self.rows, rows])
        order = np.lexsort((rws, -badness(vals, self.magnitude)))[: self.k]  # worst first, then the lower row
        for role in dict.fromkeys([*self.inputs, *inputs]):  # roles in their order
            parts = [d[role] for d in (self.inputs, inputs) if role in d]
            self.inputs[role] = np.concatenate(parts)[order]
        self.values, self.rows = vals[order], rws[order]

    def map_rows(self, fn) -> None:
        """Renumber the rows (an engine's partition-local keys -> rows of the whole input)."""
        self.rows = fn(self.rows)

    def items(self) -> list[tuple[int, float]]:
        return [(int(r), float(v)) for r, v in zip(self.rows, self.values)]


