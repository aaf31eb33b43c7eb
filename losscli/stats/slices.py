"""The statistics of every slice at once (``--by``): each block's rows carry their slice's code
(``io/slices.py``), and every statistic is kept per code, vectorised over the codes rather than
looping over slices: counts and sums by ``np.bincount``, min and max by ``np.minimum.at``, the
spread by Chan et al.'s parallel update (as ``moments.py``), the worst samples by one sort of the
rows above each slice's current K-th largest. Quantiles are exact (``np.quantile``'s linear
method): the values are staged, grouped by slice with one sort of their codes every
``STAGE`` rows, and held per slice up to the exact-quantile budget; beyond it each slice's
values go to a KLL sketch, as the overall quantiles do (reported as not exact).

Memory: a few numbers per slice, plus the values held for exact quantiles (8 bytes a row, up to
the budget), never the rows otherwise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..vocabulary import QUANTILE_BUDGET
from .quantiles import KLL_K, QUANTILE_KEYS, QUANTILES, exact_quantiles

#: values staged before they are grouped by slice (one sort of their codes)
STAGE = 1 << 22


@dataclass
class SliceResult:
    """One slice of one loss."""

    code: int
    count: int
    value: float | None  # the reduced value (None with reduction none)
    denominator: float
    stats: dict  # mean, std, min, p50, p90, p99, max
    worst: list  # [(row, loss)], largest first
    quantiles_exact: bool = True


class SliceStats:
    """Per-slice count, reduction (Σ w·l, Σ w·n), moments, min/max, quantiles and worst samples."""

    _ARRAYS = ("count", "num", "den", "total", "mean", "m2", "lo", "hi", "nan")

    def __init__(self, reduction: str, top: int = 5, summary: bool = True, budget: int | None = None):
        self.reduction, self.top, self.summary = reduction, top, summary
        self.budget = QUANTILE_BUDGET if budget is None else budget
        self.size = 0
        self.count = np.zeros(0, dtype=np.int64)
        self.num = np.zeros(0)  # Σ w·l
        self.den = np.zeros(0)  # Σ w·n
        self.total = np.zeros(0)  # Σ l
        self.mean = np.zeros(0)
        self.m2 = np.zeros(0)
        self.lo = np.zeros(0)
        self.hi = np.zeros(0)
        self.nan = np.zeros(0, dtype=bool)
        # the worst samples: flat arrays, sorted by (code, -loss, row); threshold per slice
        self.k_codes = np.empty(0, dtype=np.int64)
        self.k_values = np.empty(0)
        self.k_rows = np.empty(0, dtype=np.int64)
        self.k_floor = np.zeros(0)  # a slice's K-th largest loss once it has K (else -inf)
        # quantiles: staged (values, codes), then per slice held (exact) or sketched
        self.staged: list[tuple[np.ndarray, np.ndarray]] = []
        self.staged_rows = 0
        self.held: dict[int, list[np.ndarray]] = {}
        self.held_rows = 0
        self.sketches: dict | None = None  # code -> KLL sketch, once beyond the budget

    def _grow(self, size: int) -> None:
        if size <= self.size:
            return
        new = max(size, 2 * self.size, 16)
        fill = {"lo": math.inf, "hi": -math.inf}
        for name in self._ARRAYS:
            old = getattr(self, name)
            arr = np.full(new, fill.get(name, 0), dtype=old.dtype)
            arr[: old.size] = old
            setattr(self, name, arr)
        floor = np.full(new, -math.inf)
        floor[: self.k_floor.size] = self.k_floor
        self.k_floor = floor
        self.size = new

    # -- feeding ----------------------------------------------------------------------------------
    def add(self, x: np.ndarray, codes: np.ndarray, rows: np.ndarray, weights: np.ndarray | None = None,
            normaliser: np.ndarray | None = None) -> None:
        """One block: per-sample losses, their slice codes and file rows."""
        if x.shape[0] == 0:
            return
        self._grow(int(codes.max()) + 1)
        size = self.size
        with np.errstate(all="ignore"):  # (NaN and inf losses propagate, as the overall statistics)
            c = np.bincount(codes, minlength=size)
            s = np.bincount(codes, weights=x, minlength=size)
            wl = s if weights is None else np.bincount(codes, weights=weights * x, minlength=size)
            shares = normaliser if weights is None else weights if normaliser is None else weights * normaliser
            wn = c.astype(np.float64) if shares is None else np.bincount(codes, weights=shares, minlength=size)
            self.num += wl
            self.den += wn
            self.total += s
            self.nan |= np.bincount(codes, weights=np.isnan(x), minlength=size) > 0
            np.minimum.at(self.lo, codes, x)
            np.maximum.at(self.hi, codes, x)
            if self.summary:
                present = c > 0
                block_mean = np.divide(s, c, out=np.zeros(size), where=present)
                dev = x - block_mean[codes]
                block_m2 = np.bincount(codes, weights=dev * dev, minlength=size)
                n = self.count.astype(np.float64)
                both = n + c
                frac = np.divide(c, both, out=np.zeros(size), where=present)
                delta = block_mean - self.mean
                self.m2 += np.where(present, block_m2 + delta * delta * n * frac, 0.0)
                self.mean += np.where(present, delta * frac, 0.0)
        self.count += c
        self._add_worst(x, codes, rows)
        if self.summary:
            self.staged.append((np.array(x, dtype=np.float64), codes))
            self.staged_rows += x.shape[0]
            if self.staged_rows >= STAGE:
                self._flush()

    def _add_worst(self, x: np.ndarray, codes: np.ndarray, rows: np.ndarray) -> None:
        if self.top <= 0:
            return
        key = np.where(np.isnan(x), np.inf, x)  # NaN counts as worst
        cand = np.flatnonzero(key > self.k_floor[codes])  # rows come in order: a tie stays out
        if cand.size:
            self._keep_worst(codes[cand], x[cand], np.asarray(rows)[cand])

    def _keep_worst(self, codes: np.ndarray, values: np.ndarray, rows: np.ndarray) -> None:
        codes = np.concatenate([self.k_codes, codes])
        values = np.concatenate([self.k_values, values])
        rows = np.concatenate([self.k_rows, rows])
        key = np.where(np.isnan(values), np.inf, values)
        order = np.lexsort((rows, -key, codes))  # by slice, largest first, then the lower row
        codes, values, rows, key = codes[order], values[order], rows[order], key[order]
        starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
        rank = np.arange(codes.size) - np.repeat(starts, np.diff(np.r_[starts, codes.size]))
        keep = rank < self.top
        self.k_codes, self.k_values, self.k_rows = codes[keep], values[keep], rows[keep]
        full = rank == self.top - 1
        self.k_floor[codes[full]] = key[full]

    def _flush(self) -> None:
        """Group the staged values by slice: held whole, or into each slice's sketch."""
        if not self.staged:
            return
        values = np.concatenate([v for v, _ in self.staged])
        codes = np.concatenate([c for _, c in self.staged])
        self.staged, self.staged_rows = [], 0
        small = np.uint16 if self.size <= 1 << 16 else np.int64  # (16-bit codes sort in linear time)
        order = np.argsort(codes.astype(small), kind="stable")
        codes, values = codes[order], values[order]
        starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
        ends = np.r_[starts[1:], codes.size]
        if self.sketches is None and self.held_rows + values.size > self.budget:
            self._to_sketches()
        for a, b in zip(starts.tolist(), ends.tolist()):
            code = int(codes[a])
            if self.sketches is None:
                self.held.setdefault(code, []).append(values[a:b])
            else:
                self._sketch(code).update(np.ascontiguousarray(values[a:b][np.isfinite(values[a:b])]))
        if self.sketches is None:
            self.held_rows += values.size

    def _sketch(self, code: int):
        assert self.sketches is not None
        if code not in self.sketches:
            from datasketches import kll_doubles_sketch

            self.sketches[code] = kll_doubles_sketch(KLL_K)
        return self.sketches[code]

    def _to_sketches(self) -> None:
        self.sketches = {}
        for code, parts in self.held.items():
            for v in parts:
                self._sketch(code).update(np.ascontiguousarray(v[np.isfinite(v)]))
        self.held, self.held_rows = {}, 0

    # -- merging partial results (dask), whose codes map to this one's through ``remap`` ---------
    def merge(self, other: "SliceStats", remap: np.ndarray) -> None:
        other._flush()
        self._flush()
        if other.size == 0:
            return
        used = np.flatnonzero(other.count[: remap.size] > 0)
        if used.size == 0:
            return
        self._grow(int(remap.max()) + 1)
        to = remap[used]
        n, m = self.count[to].astype(np.float64), other.count[used].astype(np.float64)
        with np.errstate(all="ignore"):
            delta = other.mean[used] - self.mean[to]
            frac = m / (n + m)
            self.m2[to] += other.m2[used] + delta * delta * n * frac
            self.mean[to] += delta * frac
            for name in ("num", "den", "total"):
                getattr(self, name)[to] += getattr(other, name)[used]
        self.count[to] += other.count[used]
        self.lo[to] = np.minimum(self.lo[to], other.lo[used])
        self.hi[to] = np.maximum(self.hi[to], other.hi[used])
        self.nan[to] |= other.nan[used]
        if other.k_codes.size:
            self._keep_worst(remap[other.k_codes], other.k_values, other.k_rows)
        if other.sketches is not None and self.sketches is None:
            self._to_sketches()
        if self.sketches is None and self.held_rows + other.held_rows > self.budget:
            self._to_sketches()
        if self.sketches is None:
            assert other.sketches is None
            for code, parts in other.held.items():
                self.held.setdefault(int(remap[code]), []).extend(parts)
            self.held_rows += other.held_rows
        else:
            for code, parts in other.held.items():
                for v in parts:
                    self._sketch(int(remap[code])).update(np.ascontiguousarray(v[np.isfinite(v)]))
            for code, sketch in (other.sketches or {}).items():
                self._sketch(int(remap[code])).merge(sketch)

    def map_rows(self, fn) -> None:
        self.k_rows = fn(self.k_rows)

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        if self.sketches is not None:
            state["sketches"] = {c: bytes(s.serialize()) for c, s in self.sketches.items()}
        return state

    def __setstate__(self, state: dict) -> None:
        if state.get("sketches") is not None:
            from datasketches import kll_doubles_sketch

            state["sketches"] = {c: kll_doubles_sketch.deserialize(b) for c, b in state["sketches"].items()}
        self.__dict__.update(state)

    # -- results ----------------------------------------------------------------------------------
    def results(self, name: str = "the loss") -> list[SliceResult]:
        """Every slice with rows, in code order."""
        self._flush()
        out = []
        worst_at = np.searchsorted(self.k_codes, np.arange(self.size + 1))
        for code in np.flatnonzero(self.count[: self.size] > 0).tolist():
            n = int(self.count[code])
            nan = bool(self.nan[code])
            lo, hi = float(self.lo[code]), float(self.hi[code])
            if self.reduction == "none":
                value = None
            elif self.reduction == "sum":
                value = float(self.num[code])
            else:
                value = float(self.num[code] / self.den[code]) if self.den[code] != 0 else math.nan
            if value is not None and math.isinf(value) and math.isfinite(lo) and math.isfinite(hi):
                raise InputError(f"{name}: the {self.reduction} of a slice's per-sample losses overflows float64 "
                                 "(beyond 1.8e308) although each of them is finite; use --reduction mean")
            exact = True
            if nan:
                qs = [math.nan] * len(QUANTILES)
            elif not self.summary:
                qs = [math.nan] * len(QUANTILES)
            elif self.sketches is not None:
                sketch = self.sketches.get(code)
                qs = [float(sketch.get_quantile(q)) for q in QUANTILES] if sketch is not None and not \
                    sketch.is_empty() else [math.nan] * len(QUANTILES)
                exact = False
            else:
                parts = self.held.get(code, [])
                qs = exact_quantiles(np.concatenate(parts) if len(parts) > 1 else parts[0].copy(), QUANTILES)
            mean = math.nan if nan else float(self.total[code] / n)
            std = math.nan if nan or not self.summary else math.sqrt(max(float(self.m2[code]), 0.0) / n)
            stats = {"mean": mean, "std": std, "min": math.nan if nan else lo, **dict(zip(QUANTILE_KEYS, qs)),
                     "max": math.nan if nan else hi}
            a, b = int(worst_at[code]), int(worst_at[code + 1])
            worst = [(int(r), float(v)) for r, v in zip(self.k_rows[a:b], self.k_values[a:b])]
            out.append(SliceResult(code, n, value, float(self.den[code]), stats, worst, exact))
        return out
