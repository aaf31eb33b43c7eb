"""The ``compute`` command: evaluate losses on inputs, render the results, write gradients;
and its result record (the JSON object every format renders)."""

from __future__ import annotations

import math
import os
import sys
from contextlib import ExitStack
from typing import Any

import numpy as np

from ..engine import engine_function
from ..engine.block import Warnings
from ..errors import InputError, LossCliError
from ..io.cache import InputCache
from ..io.output import is_terminal
from ..io.replace import together
from ..render.values import apart, exact, key_text, real
from ..resources import PY_FLOAT, require
from ..stats.accumulator import Evaluation
from ..io.rules import ReadRules
from ..vocabulary import ROW_SUM_TOL
from ..io.slices import SliceSpec
from .common import (add_roles, main_output, parse_param_options, provenance, refuse_overwriting_inputs, report_outputs,
                     select_losses)
from .slicing import Bootstrap, SliceView, compute_slices, failed, gated, slice_header


def result_record(ev: Evaluation, top: int, penalty=None, per_sample: bool = True) -> dict:
    """One loss's result as JSON types (the schema in the README)."""
    rec: dict[str, Any] = {
        "loss": ev.loss.name,
        "params": {k: (list(v) if isinstance(v, tuple) else v) for k, v in ev.params.items()},
        "reduction": ev.reduction,
        "value": None if ev.value is None else real(ev.value),
        "count": ev.count,
        "omitted": ev.omitted,
        "stats": {k: real(v) for k, v in ev.stats.items()},
        "worst": [{"index": row, "loss": real(v)} for row, v in ev.worst[:top]],
    }
    if ev.loss.root:  # (rmse: stats, worst and per-sample values are the squared errors under the root)
        rec["root"] = True
    if ev.loss.source != "built-in":  # a user's loss; with --allow-override it may carry a built-in's name
        rec["source"] = ev.loss.source
    if not ev.quantiles_exact:
        rec["quantiles"] = {"exact": False, "method": "Apache DataSketches KLL",
                            "normalized_rank_error": ev.quantile_rank_error}
    if ev.per_sample is not None and (per_sample or ev.value is None):  # (--ci keeps them too)
        rec["per_sample"] = [real(v) for v in ev.per_sample]
        if ev.rows is not None:  # (--nan-policy omit leaves rows out: each value's row says which it is)
            rec["per_sample_index"] = ev.rows.tolist()
    if penalty is not None and ev.value is not None:  # structural risk = empirical risk + penalty
        rec["empirical_risk"] = rec["value"]
        rec["penalty"] = {k: (real(v) if isinstance(v, float) else v) for k, v in penalty.record().items()}
        rec["objective"] = real(ev.value + penalty.value)
    return rec


def raw_values(ev: Evaluation, penalty=None) -> list[float]:
    """What ``--format value`` prints for one loss, unrounded and not made JSON-safe (``inf`` for
    a sum beyond float64 stays ``inf``): the per-sample losses with reduction none, else the
    value, and with a penalty the empirical risk, the penalty and the objective."""
    if ev.value is None:
        return [] if ev.per_sample is None else ev.per_sample.tolist()
    if penalty is not None:
        return [ev.value, penalty.value, ev.value + penalty.value]
    return [ev.value]


def _require_top(top: int, cache: InputCache, specs) -> None:
    from ..io.spec import split_spec

    readers = [cache.reader(split_spec(s)[0]) for s in specs if s]
    rows = readers[0].row_estimate() if readers else None
    kept = top if rows is None else min(top, rows)
    width = sum(r.row_width() for r in readers)
    require(kept * (400 + 2 * PY_FLOAT * width), "--top", f"the {kept:,} worst samples with their inputs")


#: what an option asks for (render.COMPUTE_SHOWS's names): the option, and the words for it
_ASKED = {"ci": ("--ci", "the confidence interval"), "per_sample": ("--per-sample", "every sample's loss"),
          "worst": ("--top", "the worst samples"), "slices": ("--by", "the loss per slice")}


def refuse_unshown(asked: set[str], fmt: str, reports=(), reduction: str = "mean", named: str | None = None) -> None:
    """An option asking for what no output of the run shows is refused before anything runs, naming
    the formats that show it (``--ci --format value`` printed the value alone, without a word).
    ``named``: how the user chose the format, where not by ``--format`` (``-o x.csv``)."""
    from ..render import COMPUTE_SHOWS

    if reduction == "none":
        asked = asked - {"ci"}  # (refused for itself: an interval needs one value, run_compute says)

    def shows(f: str) -> frozenset:
        if f == "csv" and "per_sample" in asked:
            return COMPUTE_SHOWS[f] - {"ci"}  # (a row a sample)
        if f == "value" and reduction == "none":
            return COMPUTE_SHOWS[f] | {"per_sample"}
        return COMPUTE_SHOWS[f]

    outputs = [fmt, *(f for f, _ in reports)]
    for what, (option, words) in _ASKED.items():
        if what in asked and not any(what in shows(f) for f in outputs):
            able = sorted((f for f in COMPUTE_SHOWS if what in shows(f)), key=lambda f: f != "json")
            where = (named or f"--format {fmt}") + (" with --per-sample" if fmt == "csv" and what == "ci" else "")
            raise LossCliError(f"{option}: {where} does not show {words} (--format {', '.join(able[:-1])} or "
                               f"{able[-1]} does; or add --report json:FILE)")


def run_compute(losses: str, inputs, *, params=(), reduction="mean", weights=None, top=5,
                per_sample=False, fmt="table", output=None, save_grad=None, fail_above=None,
                nan_policy="raise", stdin=None, dtype="float64", chunk_rows="auto",
                quantile_budget=None, model_params=None, l1=0.0, l2=0.0, engine="local",
                cluster=None, rules: ReadRules = ReadRules(), prob_tol: float = ROW_SUM_TOL,
                slices: SliceSpec | None = None, view: SliceView | None = None, ci: Bootstrap | None = None,
                reports=()) -> int:
    """Evaluate, render, write; returns the exit code (0, or 1 when --fail-above trips, overall
    or in a slice)."""
    from ..render import LOSS_ONLY_FORMATS, Timing, publish

    timing = Timing()

    selected = select_losses(losses)
    by_loss = parse_param_options(selected, params)
    refuse_overwriting_inputs([main_output(output, fmt), ("--save-grad", save_grad), *report_outputs(reports)],
                              [*inputs, weights, model_params, slices.file if slices else None], params,
                              cluster, report=("compute", fmt))
    if ci is not None and reduction == "none":
        raise LossCliError("--ci needs --reduction mean or sum (an interval of one value)")
    if reduction == "none" and len(selected) > 1 and "value" in (fmt, *(f for f, _ in reports)):
        raise LossCliError("--format value with --reduction none prints one column of numbers: the values of "
                           f"{len(selected)} losses would follow each other in it, with nothing to tell where one "
                           "ends; --format csv writes a column per loss (or compute one loss)")
    if save_grad and is_terminal(save_grad):  # (-, /dev/stdout, /dev/tty)
        raise LossCliError(f"--save-grad {save_grad}: the gradients are a binary NPZ file, not for a terminal; "
                           "redirect standard output to a file or a pipe, or name a file")
    if (l1 or l2) and not model_params:
        raise LossCliError("--l1/--l2 need --params FILE (the model's parameters to penalise)")
    if save_grad:
        for loss in selected:
            if not loss.has_gradient:
                raise LossCliError(f"--save-grad: {loss.no_gradient_message()}")
        suffix = os.path.splitext(os.path.basename(save_grad))[1].lower()
        if suffix not in ("", ".npz", ".npy"):  # (grads.csv would hold a zip archive)
            raise LossCliError(f"--save-grad {save_grad}: writes NumPy's binary files, .npz (every gradient) or .npy "
                               "(one array); name a .npz or .npy file")
        if suffix == ".npy" and (len(selected) > 1 or model_params):
            raise LossCliError(f"--save-grad {save_grad}: an .npy file holds one array, and this run has a gradient "
                               f"per loss{' and one for --params' if model_params else ''}; name an .npz file")
    warnings = Warnings()
    cache = InputCache(stdin=stdin, dtype=np.dtype(dtype).type, rules=rules, slices=slices)
    if top > 1000:  # each worst sample keeps its inputs' values for the table and a JSON record
        _require_top(top, cache, [*inputs, weights])
    # statistics and worst samples are printed (slices are gated whatever the format)
    summary = any(f not in LOSS_ONLY_FORMATS for f in [fmt, *(f for f, _ in reports)]) or slices is not None
    # --save-grad: the gradient is written as its blocks are computed; every file of the run
    # (gradients, reports, -o) is put in place only once all of them are written: an error or a
    # signal before that leaves every previous file as it was
    with together(), ExitStack() as stack:
        gradient_file = None
        if save_grad:
            from ..io.gradients import GradientFile

            gradient_file = stack.enter_context(GradientFile(save_grad))
        evaluations = engine_function(engine, cluster)(
            selected, inputs, by_loss, cache=cache, reduction=reduction, weights=weights,
            top=top if summary else 0, per_sample=per_sample or ci is not None, gradients=gradient_file,
            nan_policy=nan_policy,
            chunk_rows=chunk_rows, warnings=warnings, quantile_budget=quantile_budget, summary=summary,
            prob_tol=prob_tol)
        penalty = None
        if model_params:
            from ..penalty import Penalty

            arr = cache.load(model_params).data
            if not np.all(np.isfinite(arr)):
                raise InputError(f"{model_params} (--params): holds NaN or infinite values")
            penalty = Penalty(float(l1), float(l2), np.asarray(arr, dtype=np.float64).ravel(), model_params)
            for ev in evaluations:
                ev.extra["penalty"] = penalty.value  # the objective is judged by --fail-above
        roles = add_roles({}, *((spec, l.inputs[i].name) for i, spec in enumerate(inputs)
                                for l in selected if i < len(l.inputs)),
                          (weights, "weights"), (slices.file if slices is not None else None, "slices"))
        payload = {**provenance(cache, roles), "results": [result_record(ev, top, penalty, per_sample)
                                                           for ev in evaluations]}
        for rec in payload["results"]:  # (with --on, each worst sample's key and its row in the first input)
            cache.name_rows(rec["worst"])
            if cache.rules.on and "per_sample_index" in rec:  # (each value's key, its row in the first input)
                rows = rec["per_sample_index"]
                rec["per_sample_key"], rec["per_sample_index"] = [cache.key_of(r) for r in rows], \
                    [cache.file_row(r) for r in rows]
        for rec, ev in zip(payload["results"], evaluations):
            if ci is not None:
                rec["ci"] = interval_record(ev, ci)
            if slices is not None and summary:
                assert view is not None
                rec["slices"], rec["slice_counts"] = compute_slices(ev, cache, view, top, ci, fail_above)
        if slices is not None:
            payload["by"] = slice_header(slices, view)
        if fail_above is not None:  # each loss's verdict, in every format (the exit code is 1 when one fails)
            for rec, ev in zip(payload["results"], evaluations):
                measured, _, passed = verdict(ev, fail_above)
                rec["gate"] = {"max": fail_above, "measured": real(measured), "passed": passed}
            payload["passed"] = all(r["gate"]["passed"] and not any(failed(s) for s in r.get("slices", []))
                                    for r in payload["results"])
        context = {"inputs": {ev.loss.name: ev.worst_inputs for ev in evaluations}, "fail_above": fail_above,
                   "values": [raw_values(ev, penalty) for ev in evaluations],
                   # --by with per-sample rows: each row's slice key (its values, one per --by column)
                   "slice_keys": None if evaluations[0].codes is None or cache.slice_keys is None else
                   [cache.slice_keys.key_values(int(c)) for c in evaluations[0].codes.tolist()]}
        if gradient_file is not None:  # (the blocks are in its file already)
            for loss in selected if cache.rules.on else ():  # (each input's gradient in its own rows' order)
                for spec, role in zip(inputs, loss.inputs):
                    record = cache.inputs[spec]
                    gradient_file.place(loss.name, role.name, cache.matched_rows[spec],
                                        record["rows"] + record["unmatched"])
            if penalty is not None:
                gradient_file.add_array("params", penalty.gradient().reshape(cache.load(model_params).data.shape))
            gradient_file.close()
            context["gradient_file"] = save_grad
        warnings.print()
        sketched = [ev for ev in evaluations if not ev.quantiles_exact and fmt not in ("json", "ndjson", "value")]
        for ev in sketched[:1]:  # (the JSON says it in "quantiles"; the other formats have no place for it)
            print(f"losscli: note: p50, p90 and p99 are sketched, not exact (normalised rank error up to "
                  f"{ev.quantile_rank_error:.2g}): more values than --exact-quantiles holds from an input read once "
                  "(standard input, a URL), or --exact-quantiles 0", file=sys.stderr, flush=True)
        publish("compute", fmt, output, reports, payload, context, timing=timing)
    code = threshold_exit_code(evaluations, fail_above)
    for rec in payload["results"] if fail_above is not None else ():
        for s in rec.get("slices", []):
            if failed(s):
                root = next(ev.loss.root for ev in evaluations if ev.loss.name == rec["loss"])
                what = f"{rec['reduction']} loss" if rec["reduction"] != "none" else \
                    "root of the largest per-sample loss" if root else "largest per-sample loss"
                judged = gated(rec["reduction"], root, s["stats"]["max"], s["value"])
                print(f"losscli: {rec['loss']}: slice {key_text(s['key'])}: {what} "
                      f"{'nan' if judged is None else apart(judged, fail_above)} is above --fail-above "
                      f"{exact(fail_above)}", file=sys.stderr, flush=True)
                code = 1
    return code


def interval_record(ev: Evaluation, ci: Bootstrap) -> dict:
    """``--ci``: the bootstrap interval of the reported value over all kept rows."""
    from ..stats.bootstrap import bootstrap_interval

    assert ev.per_sample is not None and ev.weights is not None and ev.shares is not None
    lo, hi = bootstrap_interval(ev.weights, ev.per_sample, ev.shares, ev.reduction, ci.samples, ci.confidence,
                                ci.seed, root=ev.loss.root)
    return {"samples": ci.samples, "confidence": ci.confidence, "seed": ci.seed, "interval": [real(lo), real(hi)]}


def verdict(ev: Evaluation, fail_above: float) -> tuple[float, str, bool]:
    """``--fail-above``: (what is judged, its name, whether it passed): the reported value (with
    a penalty, the objective), or the largest per-sample loss with reduction none. NaN fails."""
    largest = gated(ev.reduction, ev.loss.root, ev.stats["max"], None)
    measured = (math.nan if largest is None else largest) if ev.value is None else \
        ev.value + ev.extra.get("penalty", 0.0)
    what = ("root of the largest per-sample loss" if ev.loss.root else "largest per-sample loss") if ev.value is None \
        else f"{ev.reduction} loss"
    return measured, what, bool(measured <= fail_above)


def threshold_exit_code(evaluations: list[Evaluation], fail_above: float | None) -> int:
    if fail_above is None:
        return 0
    failed = False
    for ev in evaluations:
        measured, what, passed = verdict(ev, fail_above)
        if not passed:
            print(f"losscli: {ev.loss.name}: {what} {apart(measured, fail_above)} is above --fail-above "
                  f"{exact(fail_above)}", file=sys.stderr, flush=True)
            failed = True
    return 1 if failed else 0
