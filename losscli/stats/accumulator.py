"""Everything accumulated for one loss over its rows, and the :class:`Evaluation` it produces."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from .moments import Moments
from .quantiles import QUANTILE_KEYS, Quantiles
from .reduction import Reduction
from .slices import STAT_KEYS, SliceResult, SliceStats  # (STAT_KEYS: every output's order of the statistics)
from .sums import block_sum
from .store import GradientBlocks, PerSample
from .topk import TopK, rows_at

if TYPE_CHECKING:
    from ..loss import Loss



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
    gradients: dict | None = None
    quantiles_exact: bool = True
    quantile_rank_error: float | None = None
    weights: np.ndarray | None = None  # per kept sample: w_i (1 without --weights)
    shares: np.ndarray | None = None  # per kept sample: w_i·n_i, its part of the mean's denominator
    slices: list[SliceResult] | None = None  # --by: every slice's results, in code order
    codes: np.ndarray | None = None  # --by, per kept sample: its slice's code
    extra: dict = field(default_factory=dict)  # command-specific additions (penalty, comparison)


def counted(weights: np.ndarray | None, normaliser: np.ndarray | None) -> np.ndarray | None:
    """Which rows have a share in the mean's denominator (w·n > 0), or None when every row has:
    a row of weight 0 ("to leave the row out, give it weight 0"), or whose label is the loss's
    ``ignore_index`` or of a class weighted 0, is evaluated for the reduction (where it adds 0) and
    kept among the per-sample values (torch's reduction="none" gives an ignored row 0), but is no
    sample of the count, the statistics, the worst samples, the slices or the gates."""
    if weights is None and normaliser is None:
        return None
    share = weights if normaliser is None else normaliser if weights is None else weights * normaliser
    keep = np.asarray(share) != 0
    return None if bool(keep.all()) else keep


class Accumulator:
    """Streams per-sample losses of one loss into its reduction, statistics, top-K and (when
    kept) per-sample values and gradients. ``summary=False`` skips the spread and quantiles
    (outputs that print the loss only); ``two_pass``: the inputs can be read again, so the
    quantiles are exact at any size (see ``quantiles.py``); ``quantiles=False``: the overall
    quantiles are found elsewhere (a Dask partition: the engine selects them from the values its
    workers hold); ``gradient_stream``: where the gradient blocks go instead of memory
    (``--save-grad``'s file, ``io.gradients``)."""

    def __init__(self, loss: Loss | None, params: dict, reduction: str = "mean", top: int = 5,
                 keep_per_sample: bool = False, quantile_budget: int | None = None,
                 summary: bool = True, expected_rows: int | None = None, two_pass: bool = False,
                 sliced: bool = False, quantiles: bool = True, gradient_stream=None):
        self.loss, self.params, self.top = loss, params, top
        root = loss is not None and loss.root
        self.reduction = Reduction(reduction, root)
        self.moments = Moments(spread=summary)
        magnitude = loss is not None and loss.ranked_by == "magnitude"
        self.topk = TopK(top, magnitude)
        self.quantiles = Quantiles(quantile_budget, expected_rows, two_pass) if summary and quantiles else None
        self.per_sample = PerSample() if keep_per_sample or reduction == "none" else None
        self.gradients = GradientBlocks(gradient_stream)
        self.slices = SliceStats(reduction, top, summary, quantile_budget, root, magnitude) if sliced else None

    @property
    def count(self) -> int:
        return self.moments.count

    # -- feeding ----------------------------------------------------------------------------------
    def add(self, per_sample: np.ndarray, rows: np.ndarray | range, weights: np.ndarray | None = None,
            normaliser: np.ndarray | None = None, inputs: dict | None = None,
            codes: np.ndarray | None = None) -> np.ndarray:
        """One block: its per-sample losses and their file rows (an array, or a range for a
        block of consecutive rows, turned into an array only where rows are kept); with
        ``--by``, each row's slice code. Rows of no share in the mean (``counted``: weight 0, an
        ``ignore_index`` label) go into the reduction and the per-sample values only. Returns the
        values that count (what a second pass of exact quantiles is fed)."""
        if per_sample.shape[0] == 0:
            return per_sample
        if self.per_sample is not None:  # (every row evaluated: torch's reduction="none" has ignored rows as 0)
            self.per_sample.add(per_sample, rows, weights, normaliser, codes)
        keep = counted(weights, normaliser)
        if keep is not None:  # (their w·l and w·n are 0: the reduction is the same with them)
            self.reduction.add(per_sample, block_sum(per_sample), weights, normaliser)
            if self.slices is not None:
                assert codes is not None
                self.slices.add_left_out(codes[~keep])
            at = np.flatnonzero(keep)
            per_sample, rows = per_sample[at], rows_at(rows, at)
            weights, normaliser = (None if v is None else v[at] for v in (weights, normaliser))
            inputs = None if inputs is None else {k: v[at] for k, v in inputs.items()}
            codes = None if codes is None else codes[at]
            if per_sample.shape[0] == 0:
                return per_sample
            self.moments.add(per_sample)
        else:
            self.reduction.add(per_sample, self.moments.add(per_sample), weights, normaliser)
        self.topk.add(per_sample, rows, inputs)
        if self.quantiles is not None:
            self.quantiles.add(per_sample)
        if self.slices is not None:
            assert codes is not None  # (a sliced run gives every block's codes)
            self.slices.add(per_sample, codes, rows_at(rows, slice(None)), weights, normaliser)
        return per_sample

    def add_omitted(self, codes: np.ndarray, kept: np.ndarray) -> None:
        """--by with --nan-policy omit: the slices of a block's dropped rows (``codes``: every
        row's, ``kept``: the positions kept)."""
        if self.slices is not None:
            dropped = np.ones(codes.shape[0], dtype=bool)
            dropped[kept] = False
            self.slices.add_omitted(codes[dropped])

    def add_gradient(self, grads: dict) -> None:
        self.gradients.add(grads)

    # -- reading the inputs again for exact quantiles -----------------------------------------------
    def wants_pass(self) -> bool:
        return self.quantiles is not None and self.quantiles.wants_pass(self.moments.nan)

    # (called only after wants_pass() said yes, which needs quantiles)
    def begin_pass(self) -> None:
        assert self.quantiles is not None
        self.quantiles.begin_pass()

    def feed_pass(self, per_sample: np.ndarray, weights: np.ndarray | None = None,
                  normaliser: np.ndarray | None = None) -> None:
        """The values of the first pass again (``add``'s return), or a block read again with its
        weights and normaliser (the rows that count are kept as ``add`` kept them)."""
        assert self.quantiles is not None
        keep = counted(weights, normaliser)
        self.quantiles.feed_pass(per_sample if keep is None else per_sample[keep])

    def end_pass(self) -> None:
        assert self.quantiles is not None
        self.quantiles.end_pass()

    # -- partial results, for engines that evaluate partitions elsewhere (dask) -------------------
    def state(self) -> dict:
        """A picklable snapshot; the loss itself is not included."""
        return {"reduction": self.reduction.state(), "moments": self.moments.state(),
                "topk": self.topk.state(),
                "quantiles": None if self.quantiles is None else self.quantiles.state(),
                "per_sample": None if self.per_sample is None else self.per_sample.state(),
                "slices": self.slices}

    def load_state(self, state: dict) -> "Accumulator":
        self.reduction = Reduction.from_state(state["reduction"], self.reduction.reduction, self.reduction.root)
        self.moments = Moments.from_state(state["moments"], self.moments.spread)
        self.topk = TopK.from_state(state["topk"], self.top)
        if state["quantiles"] is not None:
            self.quantiles = Quantiles.from_state(state["quantiles"], self.quantiles.budget
                                                  if self.quantiles is not None else None)
        if state["per_sample"] is not None:
            self.per_sample = PerSample.from_state(state["per_sample"])
        self.slices = state["slices"]
        return self

    def merge(self, other: "Accumulator", remap: np.ndarray | None = None) -> "Accumulator":
        """Fold in the partial result of rows that come after this one's (order matters only for
        the kept per-sample values; sums, moments, top-K and sketches are order-free). ``remap``:
        with ``--by``, the other's slice codes as this one's."""
        if other.count == 0:
            return self
        if self.slices is not None and other.slices is not None:
            assert remap is not None
            self.slices.merge(other.slices, remap)
            if other.per_sample is not None:
                other.per_sample.map_codes(remap)
        self.moments.merge(other.moments)
        self.reduction.merge(other.reduction)
        self.topk.merge(other.topk)
        if self.quantiles is not None and other.quantiles is not None:
            self.quantiles.merge(other.quantiles)
        if self.per_sample is not None and other.per_sample is not None:
            self.per_sample.merge(other.per_sample)
        return self

    def map_rows(self, fn) -> None:
        """Renumber every kept row (partition-local keys -> rows of the whole input)."""
        self.topk.map_rows(fn)
        if self.slices is not None:
            self.slices.map_rows(fn)
        if self.per_sample is not None:
            self.per_sample.map_rows(fn)

    # -- results ----------------------------------------------------------------------------------
    @property
    def denominator(self) -> float:
        return self.reduction.denominator

    def value(self) -> float | None:
        return self.reduction.value()

    def stats(self) -> tuple[dict, bool, float | None]:
        mean, std, lo, hi = self.moments.result()
        if self.quantiles is None:  # not asked for (an output that prints the loss only)
            qs, exact, err = [np.nan] * len(QUANTILE_KEYS), True, None
        else:
            qs, exact, err = self.quantiles.result(self.moments.nan)
        return dict(zip(STAT_KEYS, [mean, std, lo, *qs, hi])), exact, err

    def finish(self, omitted: int = 0) -> Evaluation:
        """The results (a gradient sent to a stream is not among them: its file holds it)."""
        assert self.loss is not None  # an accumulator without a loss only merges partial states (dask)
        stats, exact, err = self.stats()
        grads = self.gradients.scaled(self.reduction.gradient_scale())
        per = rows = weights = shares = codes = None
        if self.per_sample is not None:
            per, rows, weights, shares, codes = self.per_sample.joined()
        return Evaluation(
            self.loss, self.params, self.reduction.reduction, self.value(), self.count, omitted, stats,
            self.topk.items(), {k: list(v) for k, v in self.topk.inputs.items()}, per, rows, grads, exact,
            err, weights, shares, None if self.slices is None else self.slices.results(self.loss.name), codes)
