"""Per-sample values and gradient blocks, kept when asked for (``--per-sample``, ``--reduction
none``, ``compare``'s paired bootstrap, ``--save-grad``)."""

from __future__ import annotations

import numpy as np

from .snapshot import Snapshot

from .topk import rows_at


class PerSample(Snapshot):
    """Each kept sample's loss, file row, weight w_i and share w_i·n_i of the mean's denominator."""

    _STATE = ("values", "rows", "weights", "shares", "codes")

    def __init__(self) -> None:
        self.values: list[np.ndarray] = []
        self.rows: list[np.ndarray] = []
        self.weights: list[np.ndarray] = []
        self.shares: list[np.ndarray] = []
        self.codes: list[np.ndarray] = []  # --by: each sample's slice code

    def add(self, x: np.ndarray, rows, weights: np.ndarray | None, normaliser: np.ndarray | None,
            codes: np.ndarray | None = None) -> None:
        n = x.shape[0]
        if codes is not None:
            self.codes.append(codes)
        self.values.append(np.asarray(x, dtype=np.float64))
        self.rows.append(rows_at(rows, slice(None)))
        ones = np.ones(n)
        w = ones if weights is None else np.asarray(weights, dtype=np.float64)
        self.weights.append(w)
        self.shares.append(w * (ones if normaliser is None else normaliser))

    def merge(self, other: "PerSample") -> None:
        """Rows of ``other`` come after these (the order of the kept values is the file's)."""
        for k in self._STATE:
            getattr(self, k).extend(getattr(other, k))

    def map_rows(self, fn) -> None:
        self.rows = [fn(r) for r in self.rows]

    def map_codes(self, remap: np.ndarray) -> None:
        self.codes = [remap[c] for c in self.codes]

    def joined(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
        """(values, rows, weights, shares, slice codes or None), each one array."""
        def join(parts, dtype=np.float64):
            return np.concatenate(parts) if parts else np.empty(0, dtype=dtype)

        codes = join(self.codes, np.int64) if self.codes else None
        return join(self.values), join(self.rows, np.int64), join(self.weights), join(self.shares), codes




class GradientBlocks:
    """The gradient of Σ w·l, block by block, per differentiable role: kept in memory, or sent to a
    ``stream`` as it comes (``io.gradients.GradientStream``: ``--save-grad`` writes the blocks to
    its file and keeps none)."""

    def __init__(self, stream=None) -> None:
        self.blocks: dict[str, list[np.ndarray]] = {}
        self.stream = stream

    def add(self, grads: dict) -> None:
        for role, g in grads.items():
            g = np.asarray(g, dtype=np.float64)
            if self.stream is not None:
                self.stream.add(role, g)
            else:
                self.blocks.setdefault(role, []).append(g)

    def scaled(self, scale: float) -> dict | None:
        """Scaled in place (the reported mean divides by its denominator) and joined into one
        array per role; a stream is told the scale instead (and None is returned: its file holds
        the gradient)."""
        if self.stream is not None:
            self.stream.rescale(scale)
            return None
        if not self.blocks:
            return None
        for blocks in self.blocks.values():
            for b in blocks:
                b *= scale
        return {k: np.concatenate(v) for k, v in self.blocks.items()}
