"""The worst samples: the K largest per-sample losses with their file rows (and the inputs of
those rows, for the table), largest first, ties to the lower row, NaN counted as worst. The
answer is unique, so it is the same however the rows were cut into blocks or partitions."""

from __future__ import annotations

import numpy as np

from .snapshot import Snapshot


def rows_at(rows: np.ndarray | range, idx) -> np.ndarray:
    """File rows at positions ``idx`` of a block (a range for consecutive rows)."""
    if isinstance(rows, range):
        return np.arange(rows.start, rows.stop)[idx] if isinstance(idx, slice) else rows.start + np.asarray(idx)
    return np.asarray(rows)[idx]


def worst(per_sample: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k largest per-sample losses, largest first; ties go to the lower index."""
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


class TopK(Snapshot):
    _STATE = ("values", "rows", "inputs")

    def __init__(self, k: int):
        self.k = k
        self.values = np.empty(0)
        self.rows = np.empty(0, dtype=np.int64)
        self.inputs: dict[str, np.ndarray] = {}

    def add(self, x: np.ndarray, rows: np.ndarray | range, inputs: dict | None = None) -> None:
        if self.k <= 0:
            return
        if self.values.size >= self.k:
            # only a loss above the current k-th largest (or NaN) can enter; an equal one too when
            # these rows are not all after the kept ones (ties go to the lower row)
            thr = self.values[-1]
            if np.isnan(thr):
                return
            after = int(rows_at(rows, [0])[0]) > int(self.rows.max())
            cand = np.flatnonzero(~(x <= thr) if after else ~(x < thr))
            if cand.size == 0:
                return
            idx = cand[worst(x[cand], self.k)]
        else:
            idx = worst(x, self.k)
        new_inputs = {role: np.asarray(arr)[idx] for role, arr in (inputs or {}).items()}
        self._keep(x[idx], rows_at(rows, idx), new_inputs)

    def merge(self, other: "TopK") -> None:
        if self.k > 0:
            self._keep(other.values, other.rows, other.inputs)

    def _keep(self, values: np.ndarray, rows: np.ndarray, inputs: dict) -> None:
        vals = np.concatenate([self.values, values])
        rws = np.concatenate([self.rows, rows])
        key = np.where(np.isnan(vals), np.inf, vals)
        order = np.lexsort((rws, -key))[: self.k]  # largest first, then the lower row
        for role in dict.fromkeys([*self.inputs, *inputs]):  # roles in their order
            parts = [d[role] for d in (self.inputs, inputs) if role in d]
            self.inputs[role] = np.concatenate(parts)[order]
        self.values, self.rows = vals[order], rws[order]

    def map_rows(self, fn) -> None:
        """Renumber the rows (an engine's partition-local keys -> rows of the whole input)."""
        self.rows = fn(self.rows)

    def items(self) -> list[tuple[int, float]]:
        return [(int(r), float(v)) for r, v in zip(self.rows, self.values)]


