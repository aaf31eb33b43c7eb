"""Evaluate a loss on validated inputs, one block of rows at a time: per-sample losses,
reductions, statistics, worst samples and gradients.

Everything is accumulated block by block (:class:`Accumulator`), so a file larger than memory
and an in-memory array take the same path, and the results do not depend on the block size:
sums are combined with ``math.fsum`` over numpy's pairwise block sums, the standard deviation
with Chan's parallel update, the top-K with a total order (largest loss, then lowest row), and
quantiles are exact while the per-sample values fit ``QUANTILE_BUDGET``, then come from an
Apache DataSketches KLL sketch; for inputs that can be read again (``two_pass``) they are exact
at any size in bounded memory: bracketed after a warm-up and selected among the values inside
the brackets (:class:`Selection`), with a second read only when the data drifted out of one.

This module knows nothing of files or formats; ``readers.py`` reads, ``validation.py`` checks,
``formats.py`` renders.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .errors import InputError
from .registry import Loss

STAT_KEYS = ("mean", "std", "min", "p50", "p90", "p99", "max")
QUANTILES = (0.5, 0.9, 0.99)
#: per-sample values kept, per loss, for exact quantiles (8 bytes each: 80 MB); beyond it an
#: Apache DataSketches KLL sketch takes over
QUANTILE_BUDGET = 10_000_000
#: KLL accuracy parameter: normalised rank error 0.036% (99% confidence) at k = 8192
KLL_K = 8192
#: per-sample values held before the quantiles are bracketed, for inputs that can be read again
WARMUP = 1 << 20


@dataclass
class Evaluation:
    """What one loss produced over all its rows."""

    loss: Loss
    params: dict
    reduction: str
    value: float | None  # None for reduction "none"
    count: int
    omitted: int
    stats: dict
    worst: list  # [(file row, loss)], largest first
    worst_inputs: dict  # role -> [values of that worst row]
    per_sample: np.ndarray | None = None  # kept with --per-sample / reduction none
    rows: np.ndarray | None = None  # file row of each kept per-sample value
    gradients: dict[str, np.ndarray] | None = None
    quantiles_exact: bool = True
    quantile_rank_error: float | None = None
    weights: np.ndarray | None = None  # per kept sample: w_i (1 without --weights)
    shares: np.ndarray | None = None  # per kept sample: w_i·n_i, its part of the mean's denominator
    extra: dict = field(default_factory=dict)  # command-specific additions (penalty, comparison)


class Accumulator:
    """Streams per-sample losses of one loss into reductions, statistics and the top-K."""

    def __init__(self, loss: Loss, params: dict, reduction: str = "mean", top: int = 5,
                 keep_per_sample: bool = False, quantile_budget: int | None = None,
                 summary: bool = True, expected_rows: int | None = None, two_pass: bool = False):
        self.loss, self.params, self.reduction, self.top = loss, params, reduction, top
        self.keep = keep_per_sample or reduction == "none"
        self.budget = QUANTILE_BUDGET if quantile_budget is None else quantile_budget
        self.summary = summary  # std and quantiles (off for outputs that print the loss only)
        self.count = 0
        self.omitted = 0
        self._plain: list[float] = []  # Σ l per block (the statistics are unweighted)
        self._num: list[float] = []  # Σ w·l per block
        self._den: list[float] = []  # Σ w·n per block
        self._mean = 0.0
        self._m2 = 0.0
        self._min = math.inf
        self._max = -math.inf
        self._nan = False
        self._top_vals = np.empty(0)
        self._top_rows = np.empty(0, dtype=np.int64)
        self._top_inputs: dict[str, np.ndarray] = {}
        # exact quantiles: the per-sample values in one buffer (sized from expected_rows when
        # known, grown by half when not), selected in place at the end
        self._exact = True
        self._buf: np.ndarray | None = None
        self._stored = 0
        self._expected = expected_rows
        self._sketch = None
        # two_pass (inputs that can be read again): hold the first WARMUP values, bracket each
        # quantile from them, then keep only the values inside the brackets (Selection) as the
        # rest streams by; a bracket that missed (data that drifts) means reading the inputs again
        self.two_pass = bool(two_pass and summary and self.budget > 0)
        self._warmup = min(WARMUP, self.budget)
        self._sample: list[np.ndarray] = []
        self._stride = max(1, (expected_rows or 0) // 131072)
        self._seen = 0
        self._selection: Selection | None = None
        self._passes = 0
        self._fed = 0
        self._found: dict[int, float] | None = None
        self._per_sample: list[np.ndarray] = []
        self._rows: list[np.ndarray] = []
        self._weights: list[np.ndarray] = []  # w_i of kept samples
        self._shares: list[np.ndarray] = []  # w_i·n_i: each sample's part of the mean's denominator
        self._grads: dict[str, list] = {}

    # -- feeding ----------------------------------------------------------------------------------
    def add(self, per_sample: np.ndarray, rows: np.ndarray | range, weights: np.ndarray | None = None,
            normaliser: np.ndarray | None = None, inputs: dict | None = None) -> None:
        """One block: its per-sample losses and their file rows (an array, or a range for a
        block of consecutive rows, turned into an array only where rows are kept)."""
        n = per_sample.shape[0]
        if n == 0:
            return
        w = weights
        self._plain.append(float(np.sum(per_sample)))
        self._num.append(self._plain[-1] if w is None else float(np.sum(w * per_sample)))
        if w is None and normaliser is None:
            self._den.append(float(n))
        else:
            self._den.append(float(np.sum((np.ones(n) if w is None else w) *
                                          (1.0 if normaliser is None else normaliser))))
        if self.summary:  # Chan et al.'s parallel update of the mean and the sum of squared deviations
            block_mean = self._plain[-1] / n
            dev = np.subtract(per_sample, block_mean)
            block_m2 = float(np.sum(np.square(dev, out=dev)))  # not dev @ dev: BLAS threads would
            # compete with the parser threads for the cores
            delta = block_mean - self._mean
            self._m2 += block_m2 + delta * delta * self.count * n / (self.count + n)
            self._mean += delta * n / (self.count + n)
        self.count += n
        lo, hi = float(np.min(per_sample)), float(np.max(per_sample))
        if math.isnan(lo):  # min and max propagate NaN
            self._nan = True
        else:
            self._min, self._max = min(self._min, lo), max(self._max, hi)
        self._add_top(per_sample, rows, inputs or {})
        self._add_quantiles(per_sample)
        if self.keep:
            self._per_sample.append(np.asarray(per_sample, dtype=np.float64))
            self._rows.append(_rows_at(rows, slice(None)))
            ones = np.ones(n)
            w_ = ones if w is None else np.asarray(w, dtype=np.float64)
            self._weights.append(w_)
            self._shares.append(w_ * (ones if normaliser is None else normaliser))

    def _add_top(self, per_sample, rows, inputs) -> None:
        if self.top <= 0:
            return
        if self._top_vals.size >= self.top:
            # only a loss above the current k-th largest (or NaN) can enter; an equal one too when
            # these rows are not all after the kept ones (ties go to the lower row)
            thr = self._top_vals[-1]
            if np.isnan(thr):
                return
            after = int(_rows_at(rows, [0])[0]) > int(self._top_rows.max())
            cand = np.flatnonzero(~(per_sample <= thr) if after else ~(per_sample < thr))
            if cand.size == 0:
                return
            idx = cand[worst(per_sample[cand], self.top)]
        else:
            idx = worst(per_sample, self.top)
        vals = np.concatenate([self._top_vals, per_sample[idx]])
        rws = np.concatenate([self._top_rows, _rows_at(rows, idx)])
        key = np.where(np.isnan(vals), np.inf, vals)
        order = np.lexsort((rws, -key))[: self.top]  # largest first, then the lower row
        for role, arr in inputs.items():
            block = np.asarray(arr)[idx]
            prev = self._top_inputs.get(role)
            both = block if prev is None else np.concatenate([prev, block])
            self._top_inputs[role] = both[order]
        self._top_vals, self._top_rows = vals[order], rws[order]

    def _add_quantiles(self, per_sample) -> None:
        if not self.summary:
            return
        if self.two_pass:
            # a sample of it all (every stride-th value), for a later pass: ~131,072 values
            self._sample.append(per_sample[(-self._seen) % self._stride::self._stride].copy())
            self._seen += per_sample.size
            if sum(s.size for s in self._sample) > 1 << 18:  # more rows than expected: thin it
                self._sample, self._stride = [np.concatenate(self._sample)[::2]], 2 * self._stride
            if self._selection is not None:
                self._selection.feed(per_sample)
            elif self._stored + per_sample.size <= self._warmup:
                self._store(per_sample)
            else:  # the warm-up is full: bracket the quantiles from it, keep only what falls inside
                head = self._buf[: self._stored] if self._stored else per_sample
                self._selection = Selection(QUANTILES, _sample_of(head))
                if self._stored:
                    self._selection.feed(self._buf[: self._stored])
                self._selection.feed(per_sample)
                self._buf, self._stored = None, 0
            return
        if self._exact and self._stored + per_sample.size <= self.budget:
            self._store(per_sample)
            return
        self._to_sketch()
        self._sketch.update(np.ascontiguousarray(per_sample[np.isfinite(per_sample)], dtype=np.float64))

    def _store(self, values: np.ndarray) -> None:
        end = self._stored + values.size
        if self._buf is None or end > self._buf.size:
            grown = int(1.5 * self._buf.size) if self._buf is not None else max(self._expected or 0, 0)
            new = np.empty(min(self._warmup if self.two_pass else self.budget, max(end, grown)))
            if self._stored:
                new[: self._stored] = self._buf[: self._stored]
            self._buf = new
        self._buf[self._stored:end] = values
        self._stored = end

    def _to_sketch(self) -> None:
        """From here on quantiles come from the KLL sketch; the values stored so far go into it."""
        if self._sketch is not None:
            return
        try:
            from datasketches import kll_doubles_sketch
        except ImportError:  # pragma: no cover - a declared dependency
            raise InputError("more per-sample values than the exact-quantile budget and the "
                             "datasketches package is not installed (pip install datasketches)")
        self._sketch = kll_doubles_sketch(KLL_K)
        if self._stored:
            v = self._buf[: self._stored]
            self._sketch.update(np.ascontiguousarray(v[np.isfinite(v)]))
        self._exact, self._buf, self._stored = False, None, 0

    # -- later passes: exact quantiles of inputs read again --------------------------------------
    def _ranks(self) -> list[int]:
        below, above, _ = quantile_ranks(self.count, QUANTILES)
        return sorted(set(below.tolist()) | set(above.tolist()))

    def wants_pass(self) -> bool:
        """Whether the inputs must be read once more for the exact quantiles: at the end of the
        first pass, when a bracket set from the warm-up missed (the data drifted)."""
        if not self.two_pass or self.count == 0 or self._nan or self._found is not None:
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

    def feed_pass(self, per_sample: np.ndarray) -> None:
        self._fed += per_sample.size
        if self._selection is not None:
            self._selection.feed(per_sample)
        else:
            self._sketch.update(np.ascontiguousarray(per_sample[np.isfinite(per_sample)], dtype=np.float64))

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

    # -- partial results, for engines that evaluate partitions elsewhere (dask) -------------------
    _STATE = ("count", "_plain", "_num", "_den", "_mean", "_m2", "_min", "_max", "_nan", "_top_vals",
              "_top_rows", "_top_inputs", "_exact", "_per_sample", "_rows", "_weights", "_shares")

    def state(self) -> dict:
        """A picklable snapshot (the KLL sketch serialised); the loss itself is not included."""
        out = {k: getattr(self, k) for k in self._STATE}
        out["_values"] = None if self._buf is None else self._buf[: self._stored].copy()
        out["_sketch"] = None if self._sketch is None else bytes(self._sketch.serialize())
        return out

    def load_state(self, state: dict) -> "Accumulator":
        for k in self._STATE:
            setattr(self, k, state[k])
        self._buf, self._stored = state["_values"], 0 if state["_values"] is None else state["_values"].size
        if state["_sketch"] is not None:
            from datasketches import kll_doubles_sketch

            self._sketch = kll_doubles_sketch.deserialize(state["_sketch"])
        return self

    def merge(self, other: "Accumulator") -> "Accumulator":
        """Fold in the partial result of rows that come after this one's (order matters only for
        the kept per-sample values; sums, moments, top-K and sketches are order-free)."""
        if other.count == 0:
            return self
        n, m = self.count, other.count
        total = n + m
        delta = other._mean - self._mean
        self._m2 += other._m2 + delta * delta * n * m / total
        self._mean += delta * m / total
        self.count = total
        self._plain += other._plain
        self._num += other._num
        self._den += other._den
        self._min, self._max = min(self._min, other._min), max(self._max, other._max)
        self._nan = self._nan or other._nan
        if self.top > 0:
            vals = np.concatenate([self._top_vals, other._top_vals])
            rws = np.concatenate([self._top_rows, other._top_rows])
            key = np.where(np.isnan(vals), np.inf, vals)
            order = np.lexsort((rws, -key))[: self.top]
            for role in set(self._top_inputs) | set(other._top_inputs):
                parts = [x[role] for x in (self, other) if role in x._top_inputs]
                self._top_inputs[role] = np.concatenate(parts)[order]
            self._top_vals, self._top_rows = vals[order], rws[order]
        if self.summary:
            if self._exact and other._exact and self._stored + other._stored <= self.budget:
                if other._stored:
                    self._store(other._buf[: other._stored])
            else:
                self._to_sketch()
                other._to_sketch()
                self._sketch.merge(other._sketch)
        self._per_sample += other._per_sample
        self._rows += other._rows
        self._weights += other._weights
        self._shares += other._shares
        return self

    def add_gradient(self, grads: dict) -> None:
        for role, g in grads.items():
            self._grads.setdefault(role, []).append(np.asarray(g, dtype=np.float64))

    # -- results ----------------------------------------------------------------------------------
    @property
    def denominator(self) -> float:
        return math.fsum(self._den)

    def value(self) -> float | None:
        if self.reduction == "none" or self.count == 0:
            return None
        total = math.fsum(self._num)
        return total if self.reduction == "sum" else total / self.denominator

    def gradient_scale(self) -> float:
        """Blocks hold the gradient of Σ w·l; the reported mean divides by Σ w·n."""
        return 1.0 / self.denominator if self.reduction == "mean" else 1.0

    def stats(self) -> tuple[dict, bool, float | None]:
        nan = math.nan
        if self.count == 0:
            return {k: nan for k in STAT_KEYS}, True, None
        if self._nan:
            mean = std = lo = hi = nan
        else:
            mean, lo, hi = math.fsum(self._plain) / self.count, self._min, self._max
            std = math.sqrt(max(self._m2, 0.0) / self.count) if self.summary else nan
        if not self.summary:  # not asked for (an output that prints the loss only)
            qs, exact, err = [nan] * len(QUANTILES), True, None
        elif self.two_pass:
            if self._nan:
                qs = [nan] * len(QUANTILES)
            elif self._found is not None:
                qs = interpolate(self._found, *quantile_ranks(self.count, QUANTILES))
            else:  # fewer values than the warm-up: all held
                qs = exact_quantiles(self._buf[: self._stored], QUANTILES)
            exact, err = True, None
        elif self._exact:
            qs = [nan] * len(QUANTILES) if self._nan else exact_quantiles(self._buf[: self._stored], QUANTILES)
            exact, err = True, None
        else:
            qs = [float(self._sketch.get_quantile(q)) for q in QUANTILES]
            exact, err = False, float(self._sketch.normalized_rank_error(False))
        return dict(zip(STAT_KEYS, [mean, std, lo, *qs, hi])), exact, err

    def finish(self, omitted: int = 0, join_gradients: bool = True) -> Evaluation:
        """The results. join_gradients=False leaves the gradient as scaled blocks (a dict of
        lists) for writers that stream them, instead of one concatenated copy."""
        stats, exact, err = self.stats()
        grads = None
        if self._grads:
            scale = self.gradient_scale()
            for blocks in self._grads.values():
                for b in blocks:
                    b *= scale
            grads = ({k: np.concatenate(v) for k, v in self._grads.items()} if join_gradients
                     else self._grads)
        per = rows = weights = shares = None
        if self.keep:
            join = lambda parts, dt=np.float64: np.concatenate(parts) if parts else np.empty(0, dtype=dt)  # noqa: E731
            per, rows = join(self._per_sample), join(self._rows, np.int64)
            weights, shares = join(self._weights), join(self._shares)
        return Evaluation(
            self.loss, self.params, self.reduction, self.value(), self.count, omitted, stats,
            [(int(r), float(v)) for r, v in zip(self._top_rows, self._top_vals)],
            {k: list(v) for k, v in self._top_inputs.items()}, per, rows, grads, exact, err,
            weights, shares)


def quantile_ranks(n: int, qs) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """np.quantile's linear method: the order statistics below and above each quantile, and the
    weight between them."""
    virtual = (n - 1) * np.asarray(qs, dtype=np.float64)
    below = np.floor(virtual)
    return below.astype(np.intp), np.minimum(below.astype(np.intp) + 1, n - 1), virtual - below


def interpolate(found: dict[int, float], below: np.ndarray, above: np.ndarray, gamma: np.ndarray) -> list[float]:
    """The quantiles from their order statistics, with numpy's arithmetic (its ``_lerp``)."""
    a = np.array([found[k] for k in below.tolist()])
    b = np.array([found[k] for k in above.tolist()])
    with np.errstate(invalid="ignore"):  # between -inf and inf the quantile is NaN, as numpy's
        diff = b - a
        out = np.where(gamma >= 0.5, b - diff * (1 - gamma), a + diff * gamma)
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
        found = Selection(ps, _sample_of(x)).feed(x).resolve(ks)
    rest = [k for k in ks if k not in found]
    if rest:
        x.partition(rest)
        found.update({k: float(x[k]) for k in rest})
    return interpolate(found, below, above, gamma)


def _sample_of(x: np.ndarray) -> np.ndarray:
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


def _rows_at(rows: np.ndarray | range, idx) -> np.ndarray:
    if isinstance(rows, range):
        return np.arange(rows.start, rows.stop)[idx] if isinstance(idx, slice) else rows.start + np.asarray(idx)
    return np.asarray(rows)[idx]


# -- one block ---------------------------------------------------------------------------------------
def _require_finite(loss: Loss, values: np.ndarray, what: str, rows: np.ndarray) -> None:
    bad = ~np.isfinite(values)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        kind = "overflows float64" if np.isinf(values[i]) else "is undefined (NaN)"
        raise InputError(f"{loss.name}: the {what} {kind} at row {int(rows[i])} ({int(bad.sum())} of "
                         f"{values.size} rows) although the inputs are finite: the values are too "
                         "extreme for this loss")


def block_losses(loss: Loss, arrays: dict, params: dict, rows: np.ndarray, strict: bool = True):
    """Per-sample losses of one block, and the loss's mean normaliser for it (or None).

    ``strict``: the inputs are finite here, so a non-finite loss means the values are beyond
    float64 for this loss (exp(1e4) in the exponential loss): an InputError naming the row,
    never a silent inf/NaN. ``--nan-policy propagate`` turns it off."""
    args = [arrays[r.name] for r in loss.inputs if r.name in arrays]
    with np.errstate(all="ignore"):  # judged by the results, row by row
        per_sample = np.asarray(loss.fn(*args, **params), dtype=np.float64)
    n = args[0].shape[0]
    if per_sample.shape != (n,):
        raise InputError(f"{loss.name}: the loss function returned shape {per_sample.shape}, "
                         f"expected one value per sample ({n},)")
    if strict:
        _require_finite(loss, per_sample, "loss", rows)
    normaliser = loss.mean_normaliser(arrays, params) if loss.mean_normaliser is not None else None
    return per_sample, normaliser


def block_gradient(loss: Loss, arrays: dict, params: dict, cotangent: np.ndarray | None,
                   rows: np.ndarray, strict: bool = True) -> dict:
    """Gradient of Σ c_i l_i over one block (c = cotangent, default ones)."""
    args = [arrays[r.name] for r in loss.inputs if r.name in arrays]
    with np.errstate(all="ignore"):
        grads = loss.grad(*args, cotangent=cotangent, **params)
    out = {}
    for role, g in grads.items():
        g = np.asarray(g, dtype=np.float64)
        if role not in arrays or g.shape != arrays[role].shape:
            raise InputError(f"{loss.name}: the gradient for {role!r} has shape {g.shape}, "
                             f"expected the input's shape {arrays.get(role, np.empty(0)).shape}")
        if strict:
            _require_finite(loss, g.reshape(g.shape[0], -1).sum(axis=1), f"gradient w.r.t. {role}", rows)
        out[role] = g
    return out


def evaluate(loss: Loss, arrays: dict[str, np.ndarray], params: dict, reduction: str = "mean",
             weights: np.ndarray | None = None, gradient: bool = False, top: int = 5,
             per_sample: bool = True) -> Evaluation:
    """One-shot evaluation of in-memory arrays (the Python API); the CLI streams blocks."""
    params = loss.resolve_params(params)
    n = next(iter(arrays.values())).shape[0]
    rows = np.arange(n)
    acc = Accumulator(loss, params, reduction, top, keep_per_sample=per_sample)
    values, normaliser = block_losses(loss, arrays, params, rows)
    acc.add(values, rows, weights, normaliser, inputs=arrays)
    if gradient:
        acc.add_gradient(block_gradient(loss, arrays, params, None if reduction == "none" else weights, rows))
    return acc.finish()


def reduce(per_sample: np.ndarray, reduction: str, weights: np.ndarray | None = None,
           normaliser: np.ndarray | None = None) -> float | None:
    """mean: Σ w_i l_i / Σ w_i n_i; sum: Σ w_i l_i; none: None. w are the user's sample
    weights (default 1), n the loss's own normaliser (default 1; PyTorch's class weights w[y_i])."""
    acc = Accumulator(None, {}, reduction, top=0, summary=False)
    acc.add(per_sample, np.arange(per_sample.shape[0]), weights, normaliser)
    return acc.value()


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
