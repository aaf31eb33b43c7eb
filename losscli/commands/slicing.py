"""Slices in the commands' records (``--by``): each slice's value, count, statistics, worst
samples and, with ``--ci``, a bootstrap interval (``compute``); each slice's comparison
(``compare``, ``check``'s baselines); the order they are shown in and the gates they are held to.

One rule for every command: a slice of fewer than ``--min-slice-size`` rows is reported but not
ranked and not gated (too few rows to say much about a model); the others are ranked worst first
(by value, or by the change in ``compare``) and every gate of the run holds for each of them as
it does for the overall value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from ..errors import LossCliError
from ..io.cache import InputCache
from ..io.slices import SliceSpec
from ..render.values import real
from ..stats.accumulator import Evaluation
from ..stats.bootstrap import bootstrap_interval
from ..vocabulary import MIN_SLICE_SIZE, TABLE_TOP_SLICES


@dataclass(frozen=True)
class SliceView:
    """How slices are reported: the smallest ranked slice, and how many of each kind are listed
    (0: all)."""

    min_size: int
    top_slices: int = 0


@dataclass(frozen=True)
class Bootstrap:
    samples: int
    confidence: float
    seed: int


def ranked(s, view: SliceView) -> bool:
    """Whether a slice is ranked and gated: it has ``min_size`` rows, and weight (a weighted
    mean over weights that are all 0 is undefined: such a slice is reported, not judged)."""
    return s.count >= view.min_size and not unweighted(s)


def gated(reduction: str, root: bool, largest: float | None, value: float | None) -> float | None:
    """What --fail-above judges: the value, or with reduction none the largest per-sample loss (for
    a loss that reports a root, rmse, the root of it: a residual's size, as its value is a root)."""
    if reduction != "none":
        return value
    return None if largest is None else math.sqrt(largest) if root and largest >= 0 else largest


def unweighted(s) -> bool:
    """A slice whose weights are all 0 (its weighted mean, NaN, is undefined; under --reduction sum
    it has no value, as it has no sample)."""
    return s.denominator == 0 and (s.value is None and s.count == 0 or s.value is not None and math.isnan(s.value))


def slice_header(spec: SliceSpec, view: SliceView | None) -> dict:
    """The JSON's top-level ``by``: what the run grouped by, and how slices are listed."""
    return {"columns": list(spec.columns), "file": spec.file, "min_slice_size": None if view is None else view.min_size,
            "top_slices": None if view is None else view.top_slices or None}


def segments(codes: np.ndarray) -> dict[int, np.ndarray]:
    """Each slice's positions among the kept samples, in file order."""
    order = np.argsort(codes, kind="stable")
    sorted_codes = codes[order]
    starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]]) if codes.size else np.empty(0, int)
    ends = np.r_[starts[1:], codes.size].astype(int)
    return {int(sorted_codes[a]): order[a:b] for a, b in zip(starts.tolist(), ends.tolist())}


def _worst_first(value, magnitude: bool) -> tuple:
    """Sort key: NaN first (worst), then the largest value (or |value|: ``Loss.ranked_by``)."""
    return (0, 0.0) if value is None or math.isnan(value) else (1, -abs(value) if magnitude else -value)


def failed(rec: dict) -> bool:
    """Whether a slice's record failed its gate (compute's ``passed``, compare's ``gate``)."""
    return rec.get("passed", rec.get("gate", {}).get("passed", True)) is False


def listed(records: list[dict], measure: Callable[[dict], float | None], view: SliceView,
           magnitude: bool = False) -> list[dict]:
    """Ranked slices worst first by ``measure`` (those that failed a gate first of all; with
    ``magnitude``, by its absolute value), then those too small to rank (largest first), each list
    cut to ``top_slices``; a slice that failed a gate is always listed."""
    judged = sorted((r for r in records if r["ranked"]),
                    key=lambda r: (not failed(r), _worst_first(measure(r), magnitude)))
    small = sorted((r for r in records if not r["ranked"]), key=lambda r: -r["count"])
    k = view.top_slices or len(records)
    return judged[:k] + [r for r in judged[k:] if failed(r)] + small[:k]


def slice_summary(records: list[dict], shown: list[dict]) -> dict:
    return {"total": len(records), "ranked": sum(r["ranked"] for r in records),
            "small": sum(not r["ranked"] for r in records), "shown": len(shown),
            "failed": sum(failed(r) for r in records)}


def compute_slices(ev: Evaluation, cache: InputCache, view: SliceView, top: int,
                   ci: Bootstrap | None = None, limit: float | None = None) -> tuple[list[dict], dict]:
    """(the slices listed, their summary) of one loss: key, count, value, statistics, worst
    samples (with their keys under ``--on``), with ``ci`` the bootstrap interval of the value
    over the slice's own rows, and with ``limit`` (``--fail-above``) whether each ranked slice
    passed it (its value; with reduction none its largest per-sample loss)."""
    assert ev.slices is not None and cache.slice_keys is not None
    segs = segments(ev.codes) if ci is not None and ev.codes is not None else {}
    records = []
    for s in ev.slices:
        rec: dict[str, Any] = {
               "key": cache.slice_keys.key_record(s.code), "count": s.count, "omitted": s.omitted,
               "value": None if s.value is None else real(s.value),
               "ranked": ranked(s, view), "stats": {k: real(v) for k, v in s.stats.items()},
               "worst": [{"index": row, "loss": real(v)} for row, v in s.worst[:top]]}
        cache.name_rows(rec["worst"])
        if not s.quantiles_exact:
            rec["quantiles_exact"] = False
        if unweighted(s) and s.omitted:
            rec["note"] = (f"no row has a share in the mean ({s.omitted:,} dropped by --nan-policy omit; any others "
                           "have weight 0 or an ignored label): its value is undefined")
        elif unweighted(s):
            rec["note"] = "no row has a share in the mean (every weight is 0, or every label ignored): its value is " \
                "undefined"
        if ci is not None and s.value is not None:
            idx = segs[s.code]
            assert ev.per_sample is not None and ev.weights is not None and ev.shares is not None
            lo, hi = bootstrap_interval(ev.weights[idx], ev.per_sample[idx], ev.shares[idx], ev.reduction,
                                        ci.samples, ci.confidence, ci.seed, root=ev.loss.root)
            rec["ci"] = [real(lo), real(hi)]
        if limit is not None and rec["ranked"]:  # (NaN fails, as it does overall)
            measured = gated(ev.reduction, ev.loss.root, rec["stats"]["max"], rec["value"])
            rec["passed"] = measured is not None and measured <= limit
        records.append(rec)
    # ranked by the value (with reduction none, the mean loss)
    shown = listed(records, lambda r: r["value"] if ev.value is not None else r["stats"]["mean"], view,
                   ev.loss.ranked_by == "magnitude")
    return shown, slice_summary(records, shown)


def slicing(by: str | list | None, by_file: str | None, min_size: int | None = None,
            top_slices: int | None = None, fmt: str = "json", gate: bool = False, reports=()):
    """``--by``/``--by-file`` (or a gate's keys) as what is grouped by and how slices are
    listed: (SliceSpec, SliceView), or (None, None) without slices. The table lists the worst
    ``TABLE_TOP_SLICES`` by default, unless a ``--report`` in a machine format is written from
    the same run (every output lists the same slices)."""
    spec = SliceSpec.parse(by, by_file, "key 'by'" if gate else "--by")
    if spec is None:
        for given, name in ((top_slices, "top-slices"), (min_size, "min-slice-size")):
            if given is not None:
                raise LossCliError(f"key {name.replace('-', '_')!r} goes with key 'by'" if gate else
                                   f"--{name} goes with --by")
        return None, None
    if min_size is None:
        min_size = MIN_SLICE_SIZE
    if top_slices is None:
        top_slices = TABLE_TOP_SLICES if fmt == "table" and all(f == "table" for f, _ in reports) else 0
    return spec, SliceView(min_size, top_slices)


def bootstrap(asked: bool, samples: int, confidence: float, seed: int):
    """``--ci`` with its bootstrap options, or None."""
    from ..stats.bootstrap import too_few_resamples

    few = too_few_resamples(samples, confidence) if asked else None
    if few:
        raise LossCliError(f"--bootstrap {samples}: {few}")
    return Bootstrap(samples, confidence, seed) if asked else None
