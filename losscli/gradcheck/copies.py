"""Perturbed copies of a batch-coupled role, and the noise of its total.

- **Copies at once.** When the loss broadcasts over a leading axis (checked: a stacked call must
  return what separate calls return), P perturbed copies are one call: the Python and dispatch
  cost of a call is paid once per P copies, P tuned by timing.
- **Differences of per-sample losses.** Σ_i (l_i(x + d) - l_i(x)) for each copy: samples the move
  does not reach contribute exactly 0, and no total of N losses is rounded.
- **The noise of the total**, from ECnoise per sample on a table of its losses (Moré–Wild), both
  ways along one direction: a table that crosses a jump or kink beside x measures that, not noise.
"""

from __future__ import annotations

import time
import weakref

import numpy as np

from .methods import EPS, median, steps as default_steps
from . import steps as stepping
from .draws import Draws
from .noise import ecnoise

#: elements (role size × copies) one stacked call may hold at most: an O(N²) loss's temporaries
#: stay tens of MB; within it the number of copies per call is tuned by timing (see Copies.sums)
STACK_ELEMENTS = 1 << 17
#: at most this many copies in one stacked call
MAX_STACK = 64
#: copies per call: every power of two from 2 up to the stack is timed over TUNE_CALLS calls (while
#: a call takes less than CALL_SECONDS), then the one with the cheapest copy is kept. Larger
#: stacks save Python's cost per call, but their temporaries leave the cache: infonce at N = 256
#: is fastest at 4-8 copies a call, ge2e at 16, both 1.2-1.4x slower at 64. (The timed calls do
#: the check's own work: nothing is evaluated twice.)
TUNE_CALLS = 2
CALL_SECONDS = 0.005
#: relative spacing of the noise table (2^-26 ≈ 1.5e-8: the smooth part's third differences vanish)
NOISE_SPACING = 2.0 ** -26
NOISE_POINTS = 8
#: a sample's noise table this many times its table the other way crossed a jump or kink: not noise
DISCONTINUITY = 16.0


class Copies:
    """Per-sample losses at perturbed copies of one role, summed as differences from the base.

    ``stack`` is how many copies one call may hold: 1 unless the loss was seen to broadcast over
    a leading axis (a stacked call returning, copy by copy, what separate calls return). The
    copies per call are tuned by timing (see :meth:`_tune`)."""

    def __init__(self, ev, role: str, x: np.ndarray, base: np.ndarray, eps: float = EPS):
        self.ev, self.role, self.x = ev, role, x
        self.base = np.asarray(base)
        self.eps = eps
        self._sigma: float | None = None
        #: the median over the samples of each one's noise relative to its loss (what the record
        #: reports as the role's noise), once measured
        self.rel_noise: float | None = None
        #: in code of lower precision than float64 (float32), the total's noise measured at steps that
        #: precision resolves: a bound no agreement of estimates at steps of powers of two refutes
        #: (quantised values agree exactly there)
        self.coarse = 0.0
        self.stack = self._stack_size()
        self._chunk = min(2, self.stack)
        self._tuned = self._chunk == self.stack
        #: copies per call -> the seconds per copy of each call timed at that size
        self._timed: dict[int, list[float]] = {}

    def _stack_size(self) -> int:
        x = self.x
        cap = min(MAX_STACK, STACK_ELEMENTS // max(x.size, 1))
        if cap < 2 or x.ndim == 0:
            return 1
        step = default_steps(x)
        trial = x[None] + step[None] * Draws(7).signs((3,) + x.shape)
        try:
            stacked = np.asarray(self.ev(self.role, trial))
        except Exception:  # the loss's code refuses a stacked input: one copy per call
            return 1
        self.ev.count += 2  # one call, three copies
        if stacked.shape != (3,) + self.base.shape:
            return 1
        singles = np.stack([np.asarray(self.ev(self.role, t)) for t in trial])
        if singles.shape != stacked.shape:
            return 1
        scale = np.abs(singles) + np.mean(np.abs(singles))
        same = (np.abs(stacked - singles) <= 1e3 * self.eps * scale) | (
            np.isnan(stacked) & np.isnan(singles)) | (stacked == singles)
        return cap if bool(np.all(same)) else 1

    def sums(self, directions) -> np.ndarray:
        """Σ_i (l_i(x + d) - l_i(x)) for each direction d in ``directions`` (P, *x.shape), or
        for single-element moves given as ``(flat_index, delta)`` arrays."""
        if isinstance(directions, tuple):
            idx, delta = directions
            count = idx.size
        else:
            count = directions.shape[0]
        dtype = np.result_type(self.x, delta if isinstance(directions, tuple) else directions)
        out = np.empty(count, dtype=np.complex128 if np.iscomplexobj(np.zeros(0, dtype)) else np.float64)
        base = self.base.astype(out.dtype)
        start = 0
        while start < count:
            stop = min(count, start + self._chunk)
            began = time.perf_counter()
            if isinstance(directions, tuple):
                pert = np.broadcast_to(self.x, (stop - start,) + self.x.shape).astype(dtype)
                flat = pert.reshape(stop - start, -1)
                flat[np.arange(stop - start), idx[start:stop]] += delta[start:stop]
            else:
                pert = self.x[None] + directions[start:stop]
            vals = self._evaluate(pert)
            diff = vals.reshape(stop - start, -1) - base.reshape(1, -1)
            out[start:stop] = diff.sum(axis=1)
            if not self._tuned and stop - start == self._chunk:
                self._tune(time.perf_counter() - began)
            start = stop
        return out

    def _evaluate(self, pert: np.ndarray) -> np.ndarray:
        """Per-sample losses of each copy in ``pert`` (P, *x.shape): one call when the loss stacks,
        else one call per copy (also when a stacked call of another dtype, complex, fails)."""
        if self.stack > 1:
            try:
                vals = np.asarray(self.ev(self.role, pert))
            except Exception:  # stacks real copies but not these (complex): one at a time from now
                vals = None
            if vals is not None and vals.shape == (pert.shape[0],) + self.base.shape:
                self.ev.count += pert.shape[0] - 1
                return vals
            self.stack = self._chunk = 1
            self._tuned = True  # (one copy a call from now: nothing left to tune)
        return np.stack([np.asarray(self.ev(self.role, p)) for p in pert])

    def _tune(self, per_call: float) -> None:
        """Time TUNE_CALLS calls at each power of two of copies per call, doubling while a call
        takes less than CALL_SECONDS, then keep the size whose cheapest call was cheapest per copy:
        Python's cost per call is amortised until the temporaries of an O(N²) loss outgrow the
        cache. (Single timings on a shared machine vary by 2x: each size gets its best of two.)"""
        times = self._timed.setdefault(self._chunk, [])
        times.append(per_call / self._chunk)
        if len(times) < TUNE_CALLS:
            return
        if min(times) * self._chunk < CALL_SECONDS and 2 * self._chunk <= self.stack:
            self._chunk *= 2
            return
        self._chunk = min(self._timed, key=lambda size: min(self._timed[size]))
        self._tuned = True

    def noise(self, side: np.ndarray | None = None) -> float:
        """σ of the total (cached: see :meth:`_noise`)."""
        if self._sigma is None or side is not None:
            sigma = self._noise(side)
            if side is not None:
                return sigma
            self._sigma = sigma
        return self._sigma

    def _noise(self, side: np.ndarray | None = None) -> float:
        """σ of the total Σ_i l_i from one evaluation: ECnoise per sample on a table of the losses
        along one direction (every element moved, by 2^-26 of its magnitude), combined as
        independent; an upper bound for a step that moves one element (what it does not reach
        does not change at all). A table that crosses a jump or kink of one sample (an element a
        hair below it) measures that, not noise, and would bury every element's estimate under
        it: each sample is measured along the opposite direction too (elements with a side keep
        theirs), and where one table is DISCONTINUITY times the other, the smaller stands."""
        x = self.x
        # each element at its own scale, as the steps are (a row of norm 1e-10 is moved by 2^-26 of
        # its norm, not of the other rows': else its curvature reads as noise, 1e4 times the real)
        mag = stepping.scales(x.reshape(x.shape[0], -1), -np.inf, np.inf)[0].reshape(x.shape) if x.ndim else \
            np.maximum(np.abs(x), 1.0)
        mag = np.where(mag > 0, mag, 1.0)
        sign = np.where(np.arange(x.size).reshape(x.shape) % 2 == 0, 1.0, -1.0)
        sided = np.zeros(x.shape, dtype=bool) if side is None else side.reshape(x.shape) != 0
        if side is not None:
            sign = np.where(sided, side.reshape(x.shape), sign)
        d = NOISE_SPACING * mag * sign
        table = self._table(d)
        if table is None:
            return float(self.eps * np.sum(np.abs(self.base)))
        sigma = ecnoise(table)
        if not sided.all():
            back = self._table(np.where(sided, d, -d))
            if back is not None:
                other = ecnoise(back)
                sigma = np.where(sigma > DISCONTINUITY * other, other, sigma)
        with np.errstate(all="ignore"):
            rel = sigma / np.abs(np.real(self.base).reshape(-1))
        rel = rel[np.isfinite(rel)]
        self.rel_noise = float(median(rel)) if rel.size else 0.0
        # at least the rounding of the losses themselves (a table can come out exactly smooth); in
        # code of lower precision (float32) at least the total's noise measured at steps it resolves:
        # the table's steps (2^-26 of each element) are lost when the inputs are cast to float32, and
        # the samples' roundings may move together (a batch's logsumexp in each l_i)
        floor = max(self.eps * np.sqrt(np.sum(np.abs(self.base.reshape(-1)) ** 2)),
                    stepping.subnormal(self.eps) * np.sqrt(self.base.size))  # (subnormal losses: 1e-315·x²)
        if self.eps > EPS:
            self.coarse = self._coarse_noise(mag, sign)
        return float(max(np.sqrt(np.sum(sigma ** 2)), floor, self.coarse))

    def _coarse_noise(self, mag: np.ndarray, sign: np.ndarray) -> float:
        """σ of the total of a loss computed in a precision coarser than float64 (float32), measured
        on a table of the total at steps its precision resolves (ε^(1/2) of each element: the
        table's 2^-26 is lost in the cast): where the samples round together (a batch's logsumexp
        in each l_i) it is N times a sample's rounding, where they round apart (x - mean(x)) about
        sqrt(N) times, and the total's own differences tell which."""
        table = self._table(np.sqrt(self.eps) * mag * sign)
        if table is None:
            return float(self.eps * np.sum(np.abs(self.base)))  # (the table leaves the domain: the sum bounds it)
        return float(ecnoise(table.sum(axis=1, keepdims=True))[0])

    def _table(self, d: np.ndarray) -> np.ndarray | None:
        """The per-sample losses at x + k·d, k = 0..NOISE_POINTS-1 (points × samples); None where
        one is not finite (the table leaves the domain)."""
        points = np.arange(NOISE_POINTS, dtype=np.float64)
        directions = points.reshape((-1,) + (1,) * self.x.ndim) * d[None]
        table = np.empty((NOISE_POINTS, self.base.size))
        start = 0
        while start < NOISE_POINTS:
            stop = min(NOISE_POINTS, start + self.stack)
            vals = self._evaluate(self.x[None] + directions[start:stop])
            table[start:stop] = np.real(vals).reshape(stop - start, -1)
            start = stop
        return table if np.all(np.isfinite(table)) else None


_COPIES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def copies_for(ev, role: str, x: np.ndarray, base=None, eps: float = EPS) -> Copies:
    """The :class:`Copies` of ``role`` for this evaluator, made once (its stacking test and noise
    table are paid once per role, whoever asks: the element estimates, the probes)."""
    per_ev = _COPIES.setdefault(ev, {})
    got = per_ev.get(role)
    if got is None or got.x.shape != x.shape or not np.array_equal(got.x, x) or got.eps != eps:
        # (a proxy: the cache must not keep the evaluator, its arrays, alive)
        got = Copies(weakref.proxy(ev), role, x, ev() if base is None else base, eps)
        per_ev[role] = got
    return got
