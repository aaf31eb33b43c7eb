"""The ``compare`` command: did the candidate's loss get worse than the baseline's, beyond noise?

Both prediction files are evaluated against the same labels (and other inputs). Per loss: both
values, the absolute and relative change, the share of samples where the candidate is better /
worse / equal, and a paired bootstrap confidence interval of the change in the reported value
(the same resampled rows for both models, so shared difficulty cancels). The gate
(``--fail-if-worse``) is absolute, or relative with a ``%`` suffix, and with ``--significant``
trips only when the whole interval is worse.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass

import numpy as np

from dataclasses import replace

from ..errors import InputError, LossCliError
from ..io.cache import InputCache
from ..io.slices import MissingSliceColumn
from ..io.spec import split_spec
from ..render.values import exact, real
from ..stats.accumulator import Evaluation
from ..stats.bootstrap import bootstrap_interval, too_few_resamples, too_few_samples
from ..stats.rounding import EPS, LOSS_ULPS, at_most
from .slicing import SliceView, listed, ranked, segments, slice_summary

@dataclass
class Tolerance:
    value: float
    relative: bool
    written: float = 0.0  # the number as given (10 for 10%), shown as it was written

    @classmethod
    def parse(cls, text: str | float | int | None, where: str = "--fail-if-worse") -> "Tolerance":
        if text is None or text == "":
            return cls(0.0, False)
        raw = str(text).strip()
        relative = raw.endswith("%")
        try:
            value = float(raw[:-1] if relative else raw)
        except ValueError:
            raise LossCliError(f"{where}: expected a number or a percentage like 2%, got {text!r}") from None
        if not math.isfinite(value) or value < 0:
            raise LossCliError(f"{where}: expected a tolerance >= 0, got {text!r}")
        return cls(value / 100.0 if relative else value, relative, value)

    def allowed(self, baseline: float) -> float:
        """The largest increase of the reported value that is not a regression."""
        return self.value * abs(baseline) if self.relative else self.value

    def text(self) -> str:
        """As written, with every digit it was given (9.9999999%, never 10%)."""
        return exact(self.written) + ("%" if self.relative else "")


def compare_record(base: Evaluation, cand: Evaluation, cache: InputCache, *, n_boot: int, confidence: float,
                   seed: int, tolerance: Tolerance | None, significant: bool, top: int) -> dict:
    """The comparison of two evaluations of one loss on the same rows (``cache``: their inputs; with
    --on, each worst regression gets its key and its row in the first input)."""
    # both evaluated (run_compare, check's baseline gates) with per-sample values kept and a mean
    # or sum reduction, on inputs with rows: every one of these is there
    base, cand, _ = on_common_rows(base, cand)
    assert base.per_sample is not None and base.rows is not None and base.weights is not None
    assert base.shares is not None and cand.per_sample is not None and cand.rows is not None
    assert base.value is not None and cand.value is not None
    # a signed measure whose either sign is bad (mbe: ranked_by magnitude) is worse when larger in size:
    # its change, shares, interval and regressions are of |l| and |value|
    size = base.loss.ranked_by == "magnitude"
    d = np.abs(cand.per_sample) - np.abs(base.per_sample) if size else cand.per_sample - base.per_sample
    change = _change(base, cand, cand.per_sample - base.per_sample if size else d)
    noise = _rounding(base, cand)
    rel = change / abs(base.value) if base.value else (0.0 if change == 0 else math.copysign(math.inf, change))
    if base.loss.root or size:  # the change of √mean or of |mean|: both values per resample
        lo, hi = bootstrap_interval(base.weights, cand.per_sample, base.shares, base.reduction, n_boot, confidence,
                                    seed, root=base.loss.root, size=size, base=base.per_sample)
    else:  # linear in the per-sample losses: the change is the reduction of the differences
        lo, hi = bootstrap_interval(base.weights, d, base.shares, base.reduction, n_boot, confidence, seed)
    counts = base.shares != 0  # the samples: rows of no share in the mean (weight 0, an ignored label) are none
    dc = d[counts]
    order = np.lexsort((base.rows, -d))
    order = order[counts[order]][:top]
    regressions = [{"index": int(base.rows[i]), "baseline": real(base.per_sample[i]),
                    "candidate": real(cand.per_sample[i])} for i in order if d[i] > 0]
    cache.name_rows(regressions)
    rec = {
        "loss": base.loss.name, "params": {k: (list(v) if isinstance(v, tuple) else v) for k, v in base.params.items()},
        "reduction": base.reduction, "count": base.count,
        "baseline": real(base.value), "candidate": real(cand.value),
        "change": real(change), "relative_change": real(rel), **({"change_of": "|value|"} if size else {}),
        # (no sample in a slice whose weights are all 0: its shares are undefined, null)
        **{k: float(np.mean(m)) if dc.size else math.nan for k, m in (("better", dc < 0), ("worse", dc > 0),
                                                                       ("equal", dc == 0))},
        "bootstrap": {"samples": n_boot, "confidence": confidence, "seed": seed,
                      "interval": [real(lo), real(hi)]},
        "worst_regressions": regressions,
    }
    if tolerance is not None:
        allowed = tolerance.allowed(base.value)
        measure = lo if significant else change
        # (a NaN change, of NaN losses, fails, as NaN fails every gate)
        regressed = not at_most(measure, allowed, noise)
        # an interval beyond the tolerance from fewer samples whose loss got worse than a sign test needs
        # to show any change is no verdict: undecided, not tripped, and said (a gate that passes has no doubt)
        undecided = too_few_samples(_worse(base, cand, counts, size), confidence) \
            if regressed and significant and math.isfinite(change) else None
        regressed = regressed and undecided is None
        rec["gate"] = {"tolerance": tolerance.text(), "allowed_increase": real(allowed),
                       "significant": significant, "passed": not regressed,
                       **({"undecided": f"--significant: {undecided}"} if undecided else {})}
    return rec


def _worse(base: Evaluation, cand: Evaluation, counts: np.ndarray, size: bool) -> int:
    """The samples (``counts``) whose loss got worse beyond the rounding of the two: what a one-sided
    sign test counts (rows alike, and rows that improved, show no regression: 5 worse rows beside 95
    alike, or beside 20 better, are 5). By the per-sample losses themselves; for a signed measure
    (``size``: mbe), its errors moved the way the value's size grew (a row whose error flips sign
    changed). (A prediction moved by an ulp moves its loss beyond the loss's rounding: the rounding of
    the inputs is not covered.)"""
    assert base.per_sample is not None and cand.per_sample is not None
    b, c = base.per_sample[counts], cand.per_sample[counts]
    way = 1.0 if not size else math.copysign(1.0, cand.value if cand.value else (base.value or 1.0))
    with np.errstate(invalid="ignore", over="ignore"):
        return int(np.count_nonzero(way * (c - b) > LOSS_ULPS * EPS * (np.abs(c) + np.abs(b))))


def undecided_notes(rec: dict) -> list[str]:
    """What a comparison's --significant gate could not judge (too few samples), the whole and its
    slices: a line each (the gate is not tripped: nothing showed the change)."""
    out = [f"{rec['loss']}: {rec['gate']['undecided']}; not judged worse"] if "undecided" in rec.get("gate", {}) else []
    slices = [s for s in rec.get("slices", []) if "undecided" in s.get("gate", {})]
    if slices:
        out.append(f"{rec['loss']}: {len(slices)} slice{'s' if len(slices) > 1 else ''} undecided: an interval beyond "
                   "the tolerance from too few samples whose loss got worse for --significant to judge (their gates "
                   "are not tripped; each slice's gate says why)")
    return out


def on_common_rows(base: Evaluation, cand: Evaluation) -> tuple[Evaluation, Evaluation, str | None]:
    """Both models on the rows both kept: where ``--nan-policy omit`` dropped a row of one model (its
    prediction is NaN), the other model's is dropped too, and both values (and their slices') are of
    the rows left, with a note saying so (None when they kept the same rows). (A model was refused
    with "kept different rows", and the message of its NaN named an option compare did not have.)"""
    assert base.rows is not None and cand.rows is not None
    if np.array_equal(base.rows, cand.rows):
        return base, cand, None
    keep_b, keep_c = np.isin(base.rows, cand.rows), np.isin(cand.rows, base.rows)
    if not np.array_equal(base.rows[keep_b], cand.rows[keep_c]):  # (the two models' rows in two orders)
        raise LossCliError(f"{base.loss.name}: the baseline's and the candidate's rows came in different orders; "
                           "compare needs the same samples")
    b, c = _kept(base, keep_b), _kept(cand, keep_c)
    lost = {"baseline": int(np.count_nonzero(~keep_c)), "candidate": int(np.count_nonzero(~keep_b))}  # (by whose NaN)
    other = {"candidate": "baseline", "baseline": "candidate"}
    why = "; ".join(f"the {who}'s NaN left out {n} row{'s' if n > 1 else ''} of the {other[who]}'s" for who, n in lost.items()
                    if n)
    return b, c, f"{base.loss.name}: compared on the {b.count} samples both models kept ({why})"


def _kept(ev: Evaluation, keep: np.ndarray) -> Evaluation:
    """``ev`` on the rows ``keep`` marks: its value, count and slices of those rows alone."""
    from ..stats.reduction import rooted

    assert ev.per_sample is not None and ev.rows is not None and ev.weights is not None and ev.shares is not None

    def valued(sub: Evaluation) -> Evaluation:
        assert sub.per_sample is not None and sub.shares is not None
        with np.errstate(all="ignore"):  # (a slice left without rows: NaN, as its mean is)
            v = _reduced(sub, sub.per_sample)
        return replace(sub, value=rooted(v) if sub.loss.root else v, count=int(np.count_nonzero(sub.shares)))

    out = valued(replace(ev, per_sample=ev.per_sample[keep], rows=ev.rows[keep], weights=ev.weights[keep],
                         shares=ev.shares[keep], codes=None if ev.codes is None else ev.codes[keep]))
    if ev.slices is not None and out.codes is not None:
        parts = [(s, valued(_subset(out, np.flatnonzero(out.codes == s.code), None, 0))) for s in ev.slices]
        out = replace(out, slices=[replace(s, count=p.count, value=p.value,
                                           denominator=float(np.sum(p.shares if p.shares is not None else 0.0)))
                                   for s, p in parts])
    return out


def _change(base: Evaluation, cand: Evaluation, d: np.ndarray) -> float:
    """The change of the reported value, from the per-sample differences ``d`` (candidate minus
    baseline): the reduction of d where the value is linear in the losses (not the difference of two
    values, which loses the change beside a large loss: 1e16 + 1.21 vs 1e16 + 1 differ by 0 or 2 in
    float64); for a root (rmse), (C - B) / (√C + √B); for a size (mbe), ±(C - B) where both values
    have one sign."""
    assert base.value is not None and cand.value is not None
    if not (math.isfinite(base.value) and math.isfinite(cand.value)):  # (NaN or inf: as the values say)
        return cand.value - base.value
    linear = _reduced(base, d)
    if base.loss.root:
        b, c = base.value, cand.value  # (√ of the means whose change is ``linear``)
        return linear / (b + c) if b + c > 0 else c - b
    if base.loss.ranked_by == "magnitude":
        if base.value >= 0 and cand.value >= 0:
            return linear
        if base.value <= 0 and cand.value <= 0:
            return -linear
        return abs(cand.value) - abs(base.value)
    return linear


def _rounding(base: Evaluation, cand: Evaluation) -> float:
    """The rounding of what the change is computed from: the reduction of ``LOSS_ULPS`` × 2^-52 ×
    (|c_i| + |b_i|) over the rows whose losses differ (a row both models give one loss adds exactly 0,
    however large: a broken row of 1e18 in both must not widen the tolerance of the others), in the
    change's own units (divided by √C + √B for a root). A change beyond its allowance by no more than
    this (and the rounding of the two numbers, stats/rounding.py) is at it: a row of 9e16 whose losses
    differ by 60 allows 0.05 in a mean of 1,000, not the 2.56 of 64 ulps."""
    assert base.per_sample is not None and cand.per_sample is not None
    assert base.value is not None and cand.value is not None
    # (each term scaled by the rounding first: |c| + |b| near 1e308 would overflow, and an infinite
    # allowance passed any change)
    with np.errstate(invalid="ignore", over="ignore"):
        terms = np.where(cand.per_sample != base.per_sample,
                         LOSS_ULPS * EPS * np.abs(cand.per_sample) + LOSS_ULPS * EPS * np.abs(base.per_sample), 0.0)
    size = _reduced(base, terms, absolute=True)
    if base.loss.root and base.value + cand.value > 0:
        size /= base.value + cand.value
    return size if math.isfinite(size) else 0.0


def _reduced(ev: Evaluation, x: np.ndarray, absolute: bool = False) -> float:
    """Per-sample values ``x`` of ``ev``'s rows reduced as its value is: Σ w·x, over Σ w·n for a mean
    (``absolute``: with |w|)."""
    from ..stats.sums import block_sum, ratio, value

    assert ev.weights is not None and ev.shares is not None
    num = block_sum(x, np.abs(ev.weights) if absolute else ev.weights)
    return value(num) if ev.reduction == "sum" else ratio(num, block_sum(ev.shares))


def run_compare(losses: str, baseline: str, candidate: str, others, *, params=(), reduction="mean",
                weights=None, n_boot=1000, confidence=0.95, seed=0, fail_if_worse=None,
                significant=False, top=5, fmt="table", output=None, nan_policy="raise", engine="local",
                cluster=None, rules=None, prob_tol=None, slicing=(None, None), reports=()) -> int:
    from ..engine import engine_function
    from ..engine.block import Warnings
    from ..io.cache import InputCache
    from ..io.replace import together
    from ..render import Timing, publish
    from ..io.rules import ReadRules
    from ..vocabulary import ROW_SUM_TOL
    from .common import (add_roles, main_output, parse_param_options, provenance, refuse_overwriting_inputs, report_outputs,
                         select_losses)
    from ..render.values import key_text
    from .slicing import failed, slice_header

    timing = Timing()
    if reduction == "none":
        raise LossCliError("compare needs --reduction mean or sum (a single value per model)")
    if not 0 < confidence < 1:
        raise LossCliError(f"--confidence: expected a number in (0, 1), got {confidence:g}")
    if significant and n_boot == 0:
        raise LossCliError("--significant judges by the bootstrap interval: it needs --bootstrap N > 0")
    few = too_few_resamples(n_boot, confidence)
    if few:
        raise LossCliError(f"--bootstrap {n_boot}: {few}")
    tolerance = None if fail_if_worse is None else Tolerance.parse(fail_if_worse)
    selected = select_losses(losses)
    by_loss = parse_param_options(selected, params)
    slices, view = slicing
    refuse_overwriting_inputs([main_output(output, fmt), *report_outputs(reports)], [baseline, candidate, *others, weights, slices.file if slices else None],
                              params, cluster, report=("compare", fmt))
    # with --on, both models' rows come in the labels' order, over the keys all three share: the
    # paired bootstrap pairs them
    cache = InputCache(rules=rules or ReadRules(), order_by=others[0], companions=(baseline, candidate), slices=slices)
    kw = dict(cache=cache, reduction=reduction, weights=weights, top=0, per_sample=True, nan_policy=nan_policy,
              prob_tol=ROW_SUM_TOL if prob_tol is None else prob_tol)
    evaluate = engine_function(engine, cluster)
    told = Warnings(), Warnings()  # (what compute says of the rows: renormalised, omitted)
    try:
        base = evaluate(selected, [baseline, *others], by_loss, **kw, warnings=told[0])
    except MissingSliceColumn as e:  # (both models are sliced by the same rows: say where the column may be)
        raise InputError(f"--by {e.name}: no column {e.name!r} in the baseline's file or the labels ({e.seen}); both "
                         f"models are sliced by the same rows: keep the column in the labels, or name its file "
                         f"(--by-file FILE:{e.name}){e.hint}") from None
    try:
        cand = evaluate(selected, [candidate, *others], by_loss, **kw, warnings=told[1])
    except MissingSliceColumn as e:  # (the baseline's file held it: the labels do not)
        raise InputError(f"--by {e.name}: only the baseline's file holds column {e.name!r}, not the candidate's or "
                         f"the labels ({e.seen}); both models are sliced by the same rows: name the file "
                         f"(--by-file {split_spec(baseline)[0]}:{e.name}){e.hint}") from None
    cache.refuse_other_class_readings(baseline, candidate)
    told[0].print(told[1])
    pairs = [on_common_rows(b, c) for b, c in zip(base, cand)]  # (--nan-policy omit: both on the rows both kept)
    for note in (p[2] for p in pairs if p[2]):
        print(f"losscli: note: {note}", file=sys.stderr, flush=True)
    base, cand = [p[0] for p in pairs], [p[1] for p in pairs]
    settings = dict(n_boot=n_boot, confidence=confidence, seed=seed, tolerance=tolerance, significant=significant,
                    top=top)
    records = [compare_record(b, c, cache, **settings) for b, c in zip(base, cand)]  # type: ignore[arg-type]
    for rec, b, c in zip(records, base, cand) if slices is not None else ():
        rec["slices"], rec["slice_counts"] = compare_slices(b, c, cache, view, **settings)
    passed = all(r.get("gate", {}).get("passed", True) and not any(failed(s) for s in r.get("slices", []))
                 for r in records)
    for r in records:
        for line in undecided_notes(r):
            print(f"losscli: note: {line}", file=sys.stderr, flush=True)
    for r in records:  # each slice that regressed, named
        for s in (s for s in r.get("slices", []) if failed(s)):
            print(f"losscli: {r['loss']}: slice {key_text(s['key'])}: candidate {s['candidate']!r} vs baseline "
                  f"{s['baseline']!r}, change {s['change']!r} (allowed {s['gate']['allowed_increase']!r}"
                  f"{', significant' if significant else ''})", file=sys.stderr, flush=True)
    roles = add_roles({}, (baseline, "baseline"), (candidate, "candidate"), *((s, "labels") for s in others),
                      (weights, "weights"), (slices.file if slices is not None else None, "slices"))
    payload = {**provenance(cache, roles), "baseline": baseline, "candidate": candidate, "passed": passed,
               "results": records, **({"by": slice_header(slices, view)} if slices is not None else {})}
    with together():  # (the report files and -o: all of them, or none)
        publish("compare", fmt, output, reports, payload, timing=timing)
    return 0 if passed else 1


def compare_slices(base: Evaluation, cand: Evaluation, cache: InputCache, view: SliceView,
                   **compare: object) -> tuple[list[dict], dict]:
    """Each slice compared as ``compare`` compares the whole (``compare_record`` on the slice's
    rows alone: the same bootstrap, seed and gate), ranked by the change."""
    base, cand, _ = on_common_rows(base, cand)
    assert base.slices is not None and cand.slices is not None and base.codes is not None
    assert cache.slice_keys is not None and cand.codes is not None
    if not np.array_equal(base.codes, cand.codes):  # each model's file held the column, differently
        row = int(np.flatnonzero(base.codes != cand.codes)[0]) if base.codes.shape == cand.codes.shape else 0
        raise InputError(f"--by {cache.slice_keys.spec.text()}: the baseline's and the candidate's files both hold the "
                         f"slice column{'s' if len(cache.slice_keys.spec.columns) > 1 else ''} and disagree at row "
                         f"{cache.file_row(int(base.rows[row])) if base.rows is not None else row}; name the file the "
                         "slices come from: --by-file FILE:COLUMN (or keep the column in the labels only)")
    segs = segments(base.codes)
    cand_by_code = {s.code: s for s in cand.slices}
    records = []
    for s in base.slices:
        idx = segs.get(s.code, np.empty(0, dtype=np.intp))  # (none: --nan-policy omit dropped every row of it)
        big = ranked(s, view)
        kw = dict(compare)
        if not big:
            kw["tolerance"] = None  # too few rows to gate
        # (a slice of no sample, every weight 0 under --reduction sum, has no value: NaN, as a mean's)
        b, c = (_subset(ev, idx, math.nan if v is None else v, s.count)
                for ev, v in ((base, s.value), (cand, cand_by_code[s.code].value)))
        rec = compare_record(b, c, cache, **kw)  # type: ignore[arg-type]
        for k in ("loss", "params", "reduction"):
            rec.pop(k)
        records.append({"key": cache.slice_keys.key_record(s.code), "ranked": big, **rec})
    shown = listed(records, lambda r: r["change"], view)
    return shown, slice_summary(records, shown)


def _subset(ev: Evaluation, idx: np.ndarray, value: float | None, count: int) -> Evaluation:
    assert ev.per_sample is not None and ev.rows is not None and ev.weights is not None and ev.shares is not None
    return replace(ev, value=value, count=count, per_sample=ev.per_sample[idx], rows=ev.rows[idx],
                   weights=ev.weights[idx], shares=ev.shares[idx], slices=None, codes=None)
