"""The ``compute`` job, and the pieces other commands share: selecting losses by a comma list,
parsing ``-p`` parameters, reading and validating the inputs of each loss."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

import numpy as np

from .errors import InputError, LossCliError, ParameterError
from .evaluate import Accumulator, Evaluation, block_gradient, block_losses
from .readers import BLOCK_BYTES, MIN_BLOCK_ROWS, Array, InputCache, split_spec
from .registry import Loss, get_loss
from .validation import Validated, bind, validate_inputs, validate_weights


def select_losses(names: str) -> list[Loss]:
    """``mse,mae,huber`` -> the losses, in order, each once (aliases collapse)."""
    out: list[Loss] = []
    for name in names.split(","):
        if not name.strip():
            raise LossCliError(f"empty loss name in {names!r}")
        loss = get_loss(name)
        if loss not in out:
            out.append(loss)
    return out


def parse_param_options(losses: list[Loss], items) -> dict[str, dict]:
    """``-p NAME=VALUE`` sets NAME on every selected loss that has it; ``-p LOSS.NAME=VALUE``
    on that loss only. A name no selected loss has is an error listing the valid ones."""
    by_loss: dict[str, dict] = {l.name: {} for l in losses}
    names = {n: l for l in losses for n in (l.name,) + l.aliases}
    for item in items:
        if "=" not in item:
            raise ParameterError(f"-p {item!r}: expected NAME=VALUE or LOSS.NAME=VALUE")
        key, text = item.split("=", 1)
        key = key.strip()
        targets = losses
        if "." in key:
            loss_name, key = key.rsplit(".", 1)
            target = names.get(loss_name.strip().lower().replace("-", "_"))
            if target is None:
                raise ParameterError(f"-p {item!r}: {loss_name!r} is not one of the selected losses "
                                     f"({', '.join(by_loss)})")
            targets = [target]
        matched = [l for l in targets if key in l.params]
        if not matched:
            many = len(targets) > 1
            valid = sorted({f"{l.name}.{p}" if many else p for l in targets for p in l.params})
            where = "no selected loss has" if many else f"{targets[0].name} has no"
            raise ParameterError(f"-p {item!r}: {where} parameter {key!r} "
                                 f"(valid: {', '.join(valid) or 'none'})")
        for l in matched:
            by_loss[l.name][key] = l.params[key].parse(text, f"parameter {l.name}.{key}")
    return by_loss


def refuse_overwriting_inputs(outputs, specs) -> None:
    """``--output`` or ``--save-grad`` naming one of the inputs is refused before anything runs."""
    for out in filter(None, outputs):
        for spec in filter(None, specs):
            path = split_spec(spec)[0]
            try:
                same = os.path.exists(out) and os.path.exists(path) and os.path.samefile(out, path)
            except OSError:
                same = False
            if same:
                raise LossCliError(f"{out}: is also an input ({spec}); refusing to overwrite an input")


@dataclass
class Prepared:
    """One loss's inputs, read whole and validated (gradcheck; batch-coupled checks)."""

    loss: Loss
    bound: dict[str, Array]
    checked: Validated


def prepare(losses: list[Loss], specs, cache: InputCache, nan_policy: str,
            params: dict[str, dict]) -> list[Prepared]:
    arrays = [cache.load(spec) for spec in specs]
    out = []
    for loss in losses:
        bound = bind(loss, arrays)
        checked = validate_inputs(loss, bound, nan_policy, params.get(loss.name))
        out.append(Prepared(loss, bound, checked))
    return out


class Warnings:
    """Warnings that are not errors: gathered over all blocks and losses, printed once each."""

    def __init__(self):
        self.renormalised: dict[str, dict] = {}  # label -> {block start: (rows, deviation)}
        self.omitted: dict[str, list] = {}

    def add(self, loss: Loss, checked: Validated, start: int = 0) -> None:
        for label, count, dev in checked.warnings or ():
            self.renormalised.setdefault(label, {})[start] = (count, dev)  # once per block, any loss
        o = self.omitted.setdefault(loss.name, [0, 0])
        o[0] += checked.omitted
        o[1] += checked.n_rows

    def print(self) -> None:
        from .validation import ROW_SUM_TOL

        for label, blocks in self.renormalised.items():
            count = sum(c for c, _ in blocks.values())
            dev = max(d for _, d in blocks.values())
            print(f"losscli: warning: {label}: renormalised {count} probability rows whose sums "
                  f"differed from 1 by up to {dev:.2g} (within the tolerance {ROW_SUM_TOL:g})", file=sys.stderr)
        for dropped, total in dict.fromkeys(tuple(v) for v in self.omitted.values()):
            if dropped:
                print(f"losscli: warning: --nan-policy omit dropped {dropped} of {total} rows with NaN "
                      "or infinite values", file=sys.stderr)


def block_rows(losses: list[Loss], cache: InputCache, specs) -> int | None:
    """Rows per block: None (everything at once) when a loss couples the whole batch; else as
    many rows as keep one block of all inputs near readers.BLOCK_BYTES."""
    if any(l.coupling == "batch" for l in losses):
        return None
    width = sum(cache.reader(split_spec(s)[0]).row_width() for s in dict.fromkeys(specs))
    itemsize = np.dtype(cache.dtype).itemsize
    return int(min(max(BLOCK_BYTES // max(1, width * itemsize), MIN_BLOCK_ROWS), 1_000_000))


def stream_evaluations(selected: list[Loss], inputs, by_loss: dict, *, cache: InputCache, reduction="mean",
                       weights=None, top=5, per_sample=False, gradients=False, nan_policy="raise",
                       chunk_rows: int | None | str = "auto", warnings: Warnings | None = None,
                       quantile_budget: int | None = None, summary: bool = True) -> list[Evaluation]:
    """Read the inputs block by block, in lockstep, and evaluate every selected loss on each block.
    summary=False skips the standard deviation and quantiles (outputs that print the loss only)."""
    specs = list(inputs) + ([weights] if weights else [])
    if chunk_rows == "auto" or any(l.coupling == "batch" for l in selected):
        chunk_rows = block_rows(selected, cache, specs)  # batch-coupled losses see every row at once
    params = {l.name: l.resolve_params(by_loss.get(l.name, {})) for l in selected}
    from . import evaluate as _ev

    # the exact-quantile budget is shared by the losses of one run: memory stays bounded
    budget = _ev.QUANTILE_BUDGET if quantile_budget is None else quantile_budget
    share = budget // len(selected)
    readers = [cache.reader(split_spec(s)[0]) for s in specs]
    expected = readers[0].row_estimate()  # sizes the exact-quantile buffer
    # files that can be read again get exact quantiles in bounded memory: bracketed after a
    # warm-up, read a second time only if the data drifted out of a bracket; standard input and
    # URLs hold the values up to the budget, then sketch
    again = chunk_rows is not None and all(r.rereadable() for r in readers)
    accs = {l.name: Accumulator(l, params[l.name], reduction, top, per_sample, share, summary,
                                expected, two_pass=again)
            for l in selected}
    omitted = {l.name: 0 for l in selected}
    warnings = warnings if warnings is not None else Warnings()
    strict = nan_policy != "propagate"
    n_inputs = len(inputs)
    progress = _progress(cache, specs)
    for start, arrays in progress(cache.lockstep(specs, chunk_rows)):
        weight_block = arrays[n_inputs] if weights else None
        finite: set = set()  # input blocks found finite, checked once for all the losses
        for loss in selected:
            bound, checked, rows, values, normaliser = _block(loss, arrays[:n_inputs], start, params[loss.name],
                                                              nan_policy, finite)
            warnings.add(loss, checked, start)
            kept = checked.kept
            w = validate_weights(weight_block, checked.n_rows, kept) if weight_block is not None else None
            shown = {role: (a.data if kept is None else a.data[kept]) for role, a in bound.items()}
            accs[loss.name].add(values, rows, w, normaliser, inputs=shown)
            omitted[loss.name] += checked.omitted
            if gradients:
                cot = None if reduction == "none" else w
                g = block_gradient(loss, checked.arrays, params[loss.name], cot, rows, strict)
                if kept is not None:  # rows dropped by --nan-policy omit get NaN
                    g = {k: _fill_rows(v, kept, checked.n_rows) for k, v in g.items()}
                accs[loss.name].add_gradient(g)
    while again and any(a.wants_pass() for a in accs.values()):
        _quantile_pass([l for l in selected if accs[l.name].wants_pass()], accs, cache, specs, n_inputs,
                       chunk_rows, params, nan_policy)
    results = []
    for loss in selected:
        acc = accs[loss.name]
        if weights and reduction != "none" and acc.count and acc.denominator == 0:
            raise InputError(f"{weights} (weights): all weights are zero; the weighted mean is undefined")
        results.append(acc.finish(omitted[loss.name], join_gradients=False))
    return results


def _block(loss: Loss, arrays: list, start: int, params: dict, nan_policy: str, finite: set):
    """One loss on one block: (bound inputs, validated ones, file rows, per-sample losses,
    the loss's mean normaliser). ``finite``: input blocks already checked, shared by the losses."""
    bound = bind(loss, arrays)
    checked = validate_inputs(loss, bound, nan_policy, params, finite)
    rows = range(start, start + checked.n_rows) if checked.kept is None else start + checked.kept
    values, normaliser = block_losses(loss, checked.arrays, params, rows, nan_policy != "propagate")
    return bound, checked, rows, values, normaliser


def _quantile_pass(losses: list[Loss], accs: dict, cache: InputCache, specs, n_inputs: int, chunk_rows,
                   params: dict, nan_policy: str) -> None:
    """Read the inputs again and feed each loss's per-sample values to its quantile selection
    (validated as in the first pass; warnings were given then)."""
    for loss in losses:
        accs[loss.name].begin_pass()
    for start, arrays in _progress(cache, specs, "rows (exact quantiles)")(cache.lockstep(specs, chunk_rows)):
        finite: set = set()
        for loss in losses:
            accs[loss.name].feed_pass(_block(loss, arrays[:n_inputs], start, params[loss.name], nan_policy, finite)[3])
    for loss in losses:
        accs[loss.name].end_pass()


def engine_function(engine: str, scheduler: str | None = None):
    """The evaluation engine: the embedded single-process one, or Dask (one partition per shard)."""
    if engine == "local":
        if scheduler:
            raise LossCliError("--scheduler goes with --engine dask")
        return stream_evaluations
    from functools import partial

    from .dask_engine import dask_evaluations

    return partial(dask_evaluations, scheduler=scheduler)


def _progress(cache: InputCache, specs, label: str = "rows"):
    """A rich progress bar (rows, rows/s, ETA) on stderr when stderr is a terminal; in pipes and
    CI nothing at all. The total is known for NPY inputs; for text it is estimated from bytes."""
    if not sys.stderr.isatty() or os.environ.get("CI"):
        return lambda blocks: blocks

    def wrap(blocks):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        total = cache.reader(split_spec(specs[0])[0]).row_estimate()
        columns = (TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
        with Progress(*columns, transient=True, console=_stderr_console()) as bar:
            task = bar.add_task("rows", total=total)
            for start, arrays in blocks:
                yield start, arrays
                bar.update(task, completed=start + (arrays[0].data.shape[0] if arrays else 0))

    return wrap


def _stderr_console():
    from rich.console import Console

    return Console(stderr=True)


def _fill_rows(g: np.ndarray, kept: np.ndarray, n: int) -> np.ndarray:
    full = np.full((n,) + g.shape[1:], np.nan)
    full[kept] = g
    return full


def run_compute(losses: str, inputs, *, params=(), reduction="mean", weights=None, top=5,
                per_sample=False, fmt="table", output=None, save_grad=None, fail_above=None,
                nan_policy="raise", stdin=None, dtype="float64", chunk_rows="auto",
                quantile_budget=None, model_params=None, l1=0.0, l2=0.0, engine="local",
                scheduler=None) -> int:
    """Evaluate, render, write; returns the exit code (0, or 1 when --fail-above trips)."""
    from .formats import COMPUTE_FORMATS, LOSS_ONLY_FORMATS, emit, result_record

    selected = select_losses(losses)
    by_loss = parse_param_options(selected, params)
    refuse_overwriting_inputs((output, save_grad), tuple(inputs) + (weights, model_params))
    if (l1 or l2) and not model_params:
        raise LossCliError("--l1/--l2 need --params FILE (the model's parameters to penalise)")
    if save_grad:
        for loss in selected:
            if not loss.has_gradient:
                raise LossCliError(f"--save-grad: {loss.no_gradient_message()}")
    warnings = Warnings()
    cache = InputCache(stdin=stdin, dtype=np.dtype(dtype).type)
    summary = fmt not in LOSS_ONLY_FORMATS  # statistics and worst samples are printed
    evaluations = engine_function(engine, scheduler)(
        selected, inputs, by_loss, cache=cache, reduction=reduction, weights=weights,
        top=top if summary else 0, per_sample=per_sample, gradients=bool(save_grad), nan_policy=nan_policy,
        chunk_rows=chunk_rows, warnings=warnings, quantile_budget=quantile_budget, summary=summary)
    penalty = None
    if model_params:
        from .penalty import Penalty

        arr = cache.load(model_params).data
        if not np.all(np.isfinite(arr)):
            raise InputError(f"{model_params} (--params): holds NaN or infinite values")
        penalty = Penalty(float(l1), float(l2), np.asarray(arr, dtype=np.float64).ravel(), model_params)
        for ev in evaluations:
            ev.extra["penalty"] = penalty.value  # the objective is judged by --fail-above
    payload = {"results": [result_record(ev, top, penalty) for ev in evaluations]}
    context = {"inputs": {ev.loss.name: ev.worst_inputs for ev in evaluations}, "fail_above": fail_above,
               "rows": [] if evaluations[0].rows is None else evaluations[0].rows.tolist()}
    if save_grad:
        from .atomic import write_npz_atomic

        arrays = gradient_arrays(evaluations)
        if penalty is not None:
            arrays["params"] = penalty.gradient().reshape(cache.load(model_params).data.shape)
        write_npz_atomic(save_grad, arrays)
        context["gradient_file"] = save_grad
    warnings.print()
    emit(COMPUTE_FORMATS[fmt](payload, context), output)
    return threshold_exit_code(evaluations, fail_above)


def report_warnings(prepared: list[Prepared]) -> None:
    """Warnings of whole-input validations (gradcheck at files), printed once each."""
    w = Warnings()
    for p in prepared:
        w.add(p.loss, p.checked)
    w.print()


def gradient_arrays(evaluations: list[Evaluation]) -> dict[str, np.ndarray]:
    """One array per differentiable role (``LOSS.ROLE`` when several losses are computed), in
    the shape of the file's input; rows dropped by --nan-policy omit hold NaN."""
    out = {}
    for ev in evaluations:
        for role, g in ev.gradients.items():
            out[role if len(evaluations) == 1 else f"{ev.loss.name}.{role}"] = g
    return out


def threshold_exit_code(evaluations: list[Evaluation], fail_above: float | None) -> int:
    if fail_above is None:
        return 0
    failed = False
    for ev in evaluations:
        worst_value = ev.stats["max"] if ev.value is None else ev.value + ev.extra.get("penalty", 0.0)
        what = "largest per-sample loss" if ev.value is None else f"{ev.reduction} loss"
        if not worst_value <= fail_above:  # NaN fails too
            print(f"losscli: {ev.loss.name}: {what} {worst_value:.10g} is above --fail-above "
                  f"{fail_above:g}", file=sys.stderr)
            failed = True
    return 1 if failed else 0
