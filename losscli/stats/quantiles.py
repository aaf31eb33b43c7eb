"""Quantiles (p50, p90, p99) of per-sample losses, streamed.

Exact (bit for bit ``np.quantile``, linear interpolation) while the values fit the budget, then an
Apache DataSketches KLL sketch. For inputs that can be read again (``two_pass``) they are exact
at any size in bounded memory: the first ``WARMUP`` values are held, each quantile is bracketed
from them, and only the values inside the brackets are kept (:class:`Selection`) while the rest
streams by; when the data drifted out of a bracket, the inputs are read again with brackets from a
sample of all of it, wider each time (``wants_pass`` / ``begin_pass`` / ``feed_pass`` / ``end_pass``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..errors import InputError
from ..vocabulary import QUANTILE_BUDGET

QUANTILES = (0.5, 0.9, 0.99)
QUANTILE_KEYS = ("p50", "p90", "p99")
#: KLL accuracy parameter: normalised rank error 0.036% (99% confidence) at k = 8192
KLL_K = 8192
#: per-sample values held before the quantiles are bracketed, for inputs that can be read again
WARMUP = 1 << 20


class Quantiles:
    _STATE = ("count", "exact")

    def __init__(self, budget: int | None = None, expected_rows: int | None = None, two_pass: bool = False):
        self.budget = QUANTILE_BUDGET if budget is None else budget
        self.count = 0
        # exact quantiles: the per-sample values in one buffer (sized from expected_rows when
        # known, grown by half when not), selected in place at the end
        self.exact = True
        self._buf: np.ndarray | None = None
        self._stored = 0
        self._expected = expected_rows
        self._sketch: Any | None = None  # a datasketches kll_doubles_sketch, once not exact
        self.two_pass = bool(two_pass and self.budget > 0)
        self._warmup = min(WARMUP, self.budget)
        self._sample: list[np.ndarray] = []
        self._stride = max(1, (expected_rows or 0) // 131072)
        self._selection: Selection | None = None
        self._passes = 0
        self._fed = 0
        self._found: dict[int, float] | None = None

    def add(self, x: np.ndarray) -> None:
        if self.two_pass:
            # a sample of it all (every stride-th value), for a later pass: ~131,072 values
            self._sample.append(x[(-self.count) % self._stride::self._stride].copy())
            self.count += x.size
            if sum(s.size for s in self._sample) > 1 << 18:  # more rows than expected: thin it
                self._sample, self._stride = [np.concatenate(self._sample)[::2]], 2 * self._stride
            if self._selection is not None:
                self._selection.feed(x)
            elif self._stored + x.size <= self._warmup:
                self._store(x)
            else:  # the warm-up is full: bracket the quantiles from it, keep only what falls inside
                head = self._held() if self._stored else x
                self._selection = Selection(QUANTILES, sample_of(head))
                if self._stored:
                    self._selection.feed(self._held())
                self._selection.feed(x)
                self._buf, self._stored = None, 0
            return
        self.count += x.size
        if self.exact and self._stored + x.size <= self.budget:
            self._store(x)
            return
        self._to_sketch().update(np.ascontiguousarray(x[np.isfinite(x)], dtype=np.float64))

    def _held(self) -> np.ndarray:
        """The values stored so far (called only when there is a buffer: ``_stored`` > 0, or
        every value of an exact result is held)."""
        assert self._buf is not None
        return self._buf[: self._stored]

    def _store(self, values: np.ndarray) -> None:
        end = self._stored + values.size
        if self._buf is None or end > self._buf.size:
            grown = int(1.5 * self._buf.size) if self._buf is not None else max(self._expected or 0, 0)
            new = np.empty(min(self._warmup if self.two_pass else self.budget, max(end, grown)))
            if self._stored:
                new[: self._stored] = self._held()
            self._buf = new
        self._buf[self._stored:end] = values
        self._stored = end

    def _to_sketch(self) -> Any:
        """From here on quantiles come from the KLL sketch; the values stored so far go into it.
        Returns the sketch."""
        if self._sketch is not None:
            return self._sketch
        try:
            from datasketches import kll_doubles_sketch
        except ImportError:  # pragma: no cover - a declared dependency
            raise InputError("more per-sample values than the exact-quantile budget and the "
                             "datasketches package is not installed (pip install datasketches)")
        self._sketch = kll_doubles_sketch(KLL_K)
        if self._stored:
            v = self._held()
            self._sketch.update(np.ascontiguousarray(v[np.isfinite(v)]))
        self.exact, self._buf, self._stored = False, None, 0
        return self._sketch

    # -- later passes: exact quantiles of inputs read again ---------------------------------------
    def _ranks(self) -> list[int]:
        below, above, _ = quantile_ranks(self.count, QUANTILES)
        return sorted(set(below.tolist()) | set(above.tolist()))

    def wants_pass(self, nan: bool) -> bool:
        """Whether the inputs must be read once more for the exact quantiles: at the end of the
        first pass, when a bracket set from the warm-up missed (the data drifted). ``nan``: a
        value was NaN (the quantiles are NaN, nothing to select)."""
        if not self.two_pass or self.count == 0 or nan or self._found is not None:
            return False
        if self._passes == 0:  # the first pass just ended
            if self._selection is None:
                return False  # every value is held: exact in memory
            found = self._selection.resolve(self._ranks())
            self._selection = None
            self._passes = 1
            if all(k in found for k in self._ranks()):
                self._found, self._sample = found, []
                return False
        return True

    def begin_pass(self) -> None:
        """Brackets from a sample of all the values (wider each time one missed); after three
        misses, a pass that feeds the KLL sketch instead, and the quantiles are reported as not
        exact."""
        ks = self._ranks()
        self._fed = 0
        if self._passes < 4:
            self._selection = Selection([k / max(self.count - 1, 1) for k in ks],
                                        np.sort(np.concatenate(self._sample)), 4.0 ** (self._passes - 1))
        else:
            self._selection = None
            self.two_pass = False
            self._to_sketch()

    def feed_pass(self, x: np.ndarray) -> None:
        self._fed += x.size
        if self._selection is not None:
            self._selection.feed(x)
        else:
            assert self._sketch is not None  # begin_pass went to the sketch
            self._sketch.update(np.ascontiguousarray(x[np.isfinite(x)], dtype=np.float64))

    def end_pass(self) -> None:
        self._passes += 1
        if self._fed != self.count:
            raise InputError(f"the inputs changed while losscli read them ({self.count} rows the first "
                             f"time, {self._fed} the next): quantiles would be wrong")
        if self._selection is None:
            return
        found = self._selection.resolve(self._ranks())
        if all(k in found for k in self._ranks()):
            self._found, self._sample = found, []
        self._selection = None

    # -- merging partial results -----------------------------------------------------------------
    def merge(self, other: "Quantiles") -> None:
        self.count += other.count
        if self.exact and other.exact and self._stored + other._stored <= self.budget:
            if other._stored:
                self._store(other._held())
        else:
            self._to_sketch().merge(other._to_sketch())

    @classmethod
    def selected(cls, count: int, found: dict[int, float]) -> "Quantiles":
        """Exact quantiles of ``count`` values from their order statistics (``found``: rank ->
        value, selected elsewhere: by the Dask engine from the values its workers hold)."""
        q = cls(0)
        q.count, q.two_pass, q._found = count, True, found
        return q

    def state(self) -> dict:
        """A picklable snapshot (the KLL sketch serialised)."""
        return {"count": self.count, "exact": self.exact,
                "values": None if self._buf is None else self._buf[: self._stored].copy(),
                "sketch": None if self._sketch is None else bytes(self._sketch.serialize())}

    @classmethod
    def from_state(cls, state: dict, budget: int | None = None) -> "Quantiles":
        q = cls(budget)
        q.count, q.exact = state["count"], state["exact"]
        q._buf, q._stored = state["values"], 0 if state["values"] is None else state["values"].size
        if state["sketch"] is not None:
            from datasketches import kll_doubles_sketch

            q._sketch = kll_doubles_sketch.deserialize(state["sketch"])
        return q

    # -- results ----------------------------------------------------------------------------------
    def result(self, nan: bool) -> tuple[list[float], bool, float | None]:
        """(p50, p90, p99), whether they are exact, and the sketch's rank error when not."""
        if self.count == 0 or nan:
            return [math.nan] * len(QUANTILES), True, None
        if self.two_pass:
            if self._found is not None:
                return interpolate(self._found, *quantile_ranks(self.count, QUANTILES)), True, None
            return exact_quantiles(self._held(), QUANTILES), True, None  # all held
        if self.exact:
            return exact_quantiles(self._held(), QUANTILES), True, None
        sketch = self._sketch
        assert sketch is not None  # not exact: the values went to the sketch
        return ([float(sketch.get_quantile(q)) for q in QUANTILES], False,
                float(sketch.normalized_rank_error(False)))


def quantile_ranks(n: int, qs) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """np.quantile's linear method: the order statistics below and above each quantile, and the
    weight between them."""
    virtual = (n - 1) * np.asarray(qs, dtype=np.float64)
    below = np.floor(virtual)
    return below.astype(np.intp), np.minimum(below.astype(np.intp) + 1, n - 1), virtual - below


def interpolate(found: dict[int, float], below: np.ndarray, above: np.ndarray, gamma: np.ndarray) -> list[float]:
    """The quantiles from their order statistics, with numpy's arithmetic (its ``_lerp``) between
    finite ones. Beside an infinite loss, not numpy's NaN: the median of 0, 0, inf is 0 (an order
    statistic, gamma 0), its p90 inf (any weight on inf); only between -inf and inf is it NaN."""
    a = np.array([found[k] for k in below.tolist()])
    b = np.array([found[k] for k in above.tolist()])
    with np.errstate(invalid="ignore"):
        diff = b - a
        out = np.where(gamma >= 0.5, b - diff * (1 - gamma), a + diff * gamma)
        out = np.where(np.isinf(diff), np.where(np.isinf(a), a, b), out)  # (any weight on an infinite one)
        out = np.where(np.isinf(a) & np.isinf(b) & (a != b), np.nan, out)
        out = np.where((gamma == 0) | (a == b), a, np.where(gamma == 1, b, out))
    return [float(v) for v in out]


def exact_quantiles(x: np.ndarray, qs) -> list[float]:
    """``np.quantile(x, qs)`` (linear interpolation, bit for bit) of values without NaN, which
    the caller lets this function reorder. The order statistics are bracketed from a strided
    sample of ~65,000 values and selected among the few inside (:class:`Selection`); a bracket
    that misses, or a small x, falls back to partitioning x itself: exact either way."""
    below, above, gamma = quantile_ranks(x.size, qs)
    ks = sorted(set(below.tolist()) | set(above.tolist()))
    found: dict[int, float] = {}
    if x.size >= 1 << 20:
        ps = [k / (x.size - 1) for k in ks]
        found = Selection(ps, sample_of(x)).feed(x).resolve(ks)
    rest = [k for k in ks if k not in found]
    if rest:
        x.partition(rest)
        found.update({k: float(x[k]) for k in rest})
    return interpolate(found, below, above, gamma)


def sample_of(x: np.ndarray) -> np.ndarray:
    """A sorted strided sample of ~65,000 of x's values (all of them if fewer)."""
    return np.sort(x[:: max(1, x.size // 65536)])


class Selection:
    """Order statistics of values seen block by block, with memory for a few tens of thousands:
    each probability p gets a bracket [lo, hi] of values from a sorted sample of the data (its
    sample rank ± 6 binomial standard deviations × ``widen``); feeding a block counts its
    values below each bracket and keeps those inside. ``resolve(ks)`` gives every k-th smallest
    (0-based) whose rank fell inside a bracket: all of them unless the sample misrepresents the
    data (then the caller looks again, wider, or otherwise)."""

    def __init__(self, ps, sample: np.ndarray, widen: float = 1.0):
        m = sample.size
        bounds = []
        for p in ps:
            spread = widen * (6 * math.sqrt(m * p * (1 - p)) + 32)
            lo_i, hi_i = int(p * (m - 1) - spread), int(p * (m - 1) + spread) + 1
            lo = float(sample[lo_i]) if lo_i > 0 else -math.inf
            hi = float(sample[hi_i]) if hi_i < m - 1 else math.inf
            bounds.append((lo, hi))
        self.brackets = list(dict.fromkeys(bounds))
        self.below = [0] * len(self.brackets)
        self.inside: list[list[np.ndarray]] = [[] for _ in self.brackets]

    @classmethod
    def of(cls, brackets: list) -> "Selection":
        """A selection with another one's brackets (values fed elsewhere: a Dask worker's)."""
        sel = cls([], np.empty(0))
        sel.brackets = list(brackets)
        sel.below, sel.inside = [0] * len(sel.brackets), [[] for _ in sel.brackets]
        return sel

    def absorb(self, other: "Selection") -> "Selection":
        """Fold in a selection of the same brackets that was fed other values."""
        for i in range(len(self.brackets)):
            self.below[i] += other.below[i]
            self.inside[i].extend(other.inside[i])
        return self

    def feed(self, x: np.ndarray) -> "Selection":
        for i, (lo, hi) in enumerate(self.brackets):
            below = x < lo
            self.below[i] += int(np.count_nonzero(below))
            mask = x <= hi
            mask ^= below  # lo <= x <= hi, as lo <= hi (x < lo implies x <= hi)
            self.inside[i].append(x[mask])
        return self

    def resolve(self, ks) -> dict[int, float]:
        found: dict[int, float] = {}
        for below, parts in zip(self.below, self.inside):
            inside = np.concatenate(parts) if parts else np.empty(0)
            wanted = sorted({k - below for k in ks if k not in found and 0 <= k - below < inside.size})
            if wanted:
                inside.partition(wanted)
                found.update({j + below: float(inside[j]) for j in wanted})
        return found
