"""The ``compute`` job, and the pieces other commands share: selecting losses by a comma list,
parsing ``-p`` parameters, reading and validating the inputs of each loss."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

import numpy as np

from .errors import LossCliError, ParameterError
from .evaluate import Evaluation, evaluate
from .readers import Array, InputCache, split_spec
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
    """One loss's inputs, read and validated."""

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


def run_compute(losses: str, inputs, *, params=(), reduction="mean", weights=None, top=5,
                per_sample=False, fmt="table", output=None, save_grad=None, fail_above=None,
                nan_policy="raise", stdin=None) -> int:
    """Evaluate, render, write; returns the exit code (0, or 1 when --fail-above trips)."""
    from .formats import COMPUTE_FORMATS, emit, result_record

    selected = select_losses(losses)
    by_loss = parse_param_options(selected, params)
    refuse_overwriting_inputs((output, save_grad), tuple(inputs) + (weights,))
    if save_grad:
        for loss in selected:
            if not loss.has_gradient:
                raise LossCliError(f"--save-grad: {loss.no_gradient_message()}")
    cache = InputCache(stdin=stdin)
    prepared = prepare(selected, inputs, cache, nan_policy, by_loss)
    weight_array = cache.load(weights) if weights else None

    evaluations: list[Evaluation] = []
    for p in prepared:
        w = None
        if weight_array is not None:
            w = validate_weights(weight_array, p.checked.n_rows, p.checked.kept)
        evaluations.append(evaluate(
            p.loss, p.checked.arrays, by_loss[p.loss.name], reduction, w, gradient=bool(save_grad),
            rows=p.checked.kept, omitted=p.checked.omitted, strict=nan_policy != "propagate"))

    payload = {"results": [result_record(ev, top, per_sample) for ev in evaluations]}
    context = {
        "inputs": {p.loss.name: {r: a.data for r, a in p.bound.items()} for p in prepared},
        "rows": [evaluations[0].row_of(i) for i in range(evaluations[0].count)],
    }
    if save_grad:
        from .atomic import write_npz_atomic

        write_npz_atomic(save_grad, gradient_arrays(evaluations, prepared))
        context["gradient_file"] = save_grad
    report_warnings(prepared)
    emit(COMPUTE_FORMATS[fmt](payload, context), output)
    return threshold_exit_code(evaluations, fail_above)


def report_warnings(prepared: list[Prepared]) -> None:
    """Warnings that are not errors go to stderr, each once however many losses share an input."""
    seen = set()
    for p in prepared:
        messages = list(p.checked.warnings or ())
        if p.checked.omitted:
            messages.append(f"--nan-policy omit dropped {p.checked.omitted} of {p.checked.n_rows} rows "
                            "with NaN or infinite values")
        for m in messages:
            if m not in seen:
                seen.add(m)
                print(f"losscli: warning: {m}", file=sys.stderr)


def gradient_arrays(evaluations: list[Evaluation], prepared: list[Prepared]) -> dict[str, np.ndarray]:
    """One array per differentiable role (``LOSS.ROLE`` when several losses are computed), in
    the shape of the file's input; rows dropped by --nan-policy omit get NaN."""
    out = {}
    for ev, p in zip(evaluations, prepared):
        for role, g in ev.gradients.items():
            key = role if len(evaluations) == 1 else f"{ev.loss.name}.{role}"
            if ev.rows is not None:
                full = np.full((p.checked.n_rows,) + g.shape[1:], np.nan)
                full[ev.rows] = g
                g = full
            out[key] = g
    return out


def threshold_exit_code(evaluations: list[Evaluation], fail_above: float | None) -> int:
    if fail_above is None:
        return 0
    failed = False
    for ev in evaluations:
        worst_value = float(np.max(ev.per_sample)) if ev.value is None else ev.value
        what = "largest per-sample loss" if ev.value is None else f"{ev.reduction} loss"
        if not worst_value <= fail_above:  # NaN fails too
            print(f"losscli: {ev.loss.name}: {what} {worst_value:.10g} is above --fail-above "
                  f"{fail_above:g}", file=sys.stderr)
            failed = True
    return 1 if failed else 0
