"""What the commands share: selecting losses by a comma list, parsing ``-p`` parameters,
refusing outputs that would overwrite inputs, reading and validating whole inputs."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Iterable

import numpy as np

from ..arrays import Array
from ..catalogue import get_loss
from ..engine.block import Warnings
from ..errors import LossCliError, ParameterError
from ..io.cache import InputCache
from ..io.output import refuse_clobbering
from ..io.rules import ReadRules
from ..io.spec import STDIN_PREFIX, archive_file, is_url, local_file, shards_of, split_spec
from ..loss import Loss
from ..render.values import stamp
from ..validation import Validated, bind, validate_inputs


def select_losses(names: str) -> list[Loss]:
    """``mse,mae,huber`` -> the losses, in order. A loss listed twice (by a name or an alias) is
    refused: its parameters are set per loss name, so a second entry could only repeat the first,
    and a reader of the output would find one result where it counted two."""
    out: list[Loss] = []
    given: dict[str, str] = {}
    for name in names.split(","):
        if not name.strip():
            raise LossCliError(f"empty loss name in {names!r}")
        name = name.strip()
        loss = get_loss(name)
        if loss.name in given:
            first = given[loss.name]
            said = (f"'{name}' is listed twice" if first == name
                    else f"'{first}' and '{name}' are one loss ({loss.name})")
            raise LossCliError(f"{said} in {names!r}: list each loss once (for two settings of one "
                               "loss, run once per setting)")
        given[loss.name] = name
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
            spec = l.params[key]
            value = _file_values(text, f"parameter {l.name}.{key}") if spec.kind == "floats" else text
            by_loss[l.name][key] = spec.parse(value, f"parameter {l.name}.{key}")
    return by_loss


def _file_values(text: str, where: str) -> str:
    """A list-valued parameter may name a file (CSV/NPY... with one number per class): its values
    as a comma list; any other text is returned as it is."""
    if not (os.path.exists(text.split(":")[0]) or os.path.exists(text)):
        return text
    data = InputCache().load(text).data
    if data.ndim != 1 or not np.all(np.isfinite(data)):
        raise ParameterError(f"{where}: {text} must hold one finite number per class, got shape {data.shape}")
    return ",".join(repr(float(v)) for v in data)


def reading_rules(header: str = "auto", on: str | None = None, on_missing: str = "error",
                  classes: str | list[str] | None = None, gate: bool = False, positional: bool = False) -> ReadRules:
    """The options of ``options.reading_options`` (or a gate's keys, ``gate``: then messages
    name the keys) as the rules inputs are read by."""
    def name(option: str) -> str:
        return f"key {option.replace('-', '_')!r}" if gate else f"--{option}"

    names = None
    if classes is not None:
        names = tuple(c.strip() for c in (classes.split(",") if isinstance(classes, str) else classes))
        if not all(names):
            raise LossCliError(f"{name('classes')} {classes!r}: expected class names, none of them empty")
        repeated = [n for n in names if names.count(n) > 1]
        if repeated:
            raise LossCliError(f"{name('classes')}: the class {repeated[0]!r} is named twice")
    if on is not None and not on.strip():
        raise LossCliError(f"{name('on')}: expected a column name")
    if on_missing != "error" and on is None:
        raise LossCliError(f"{name('on-missing')} goes with {name('on')}")
    if positional and on is not None:
        raise LossCliError(f"{name('positional')} and {name('on')} pair rows two ways: give one")
    return ReadRules(header=header, on=on.strip() if on else None, on_missing=on_missing, classes=names,
                     positional=positional)


def add_roles(roles: dict[str, list[str]], *pairs: tuple[str | None, str]) -> dict[str, list[str]]:
    """``roles`` with each (input spec, role) pair added once, in order: one file given for two
    roles (a model compared with itself, predictions that are their own labels) keeps both."""
    for spec, role in pairs:
        if spec and role not in roles.setdefault(spec, []):
            roles[spec].append(role)
    return roles


def provenance(caches: InputCache | list[InputCache], roles: dict[str, list[str]]) -> dict:
    """The JSON's top-level keys besides the results: the layout's version, losscli's, and what
    was read of each input (in the order first read), with the roles it was given."""
    seen: dict[str, dict] = {}  # (check: an input read by the caches of several gates is listed once)
    for cache in caches if isinstance(caches, list) else [caches]:
        for spec, rec in cache.inputs.items():
            seen.setdefault(spec, {"path": rec["path"], "selector": rec["selector"], "roles": roles.get(spec, []),
                                   **{k: v for k, v in rec.items() if k not in ("path", "selector")}})
    inputs = list(seen.values())
    return {**stamp(), "inputs": inputs}


def refuse_overwriting_inputs(outputs: Iterable[tuple[str, str | None]], specs: Iterable[str | None] = (),
                              params: Iterable[str] = (), cluster=None, report: tuple[str, str] | None = None) -> None:
    """Before anything runs: refuse an output (``(option, path)``) that is one of the files the
    command reads (input specs and ``-p NAME=FILE`` values, with the files of sharded ones; users'
    loss code: ``--plugin`` files and modules, installed plugins; ``--scheduler-file``) or the same
    file as another output, by path, symbolic link or hard link; then ``--output`` named for
    another format than the command's ``report`` = (command, format) writes (``render.misnamed``)."""
    from ..plugins import user_code_files
    from ..render import misnamed

    outputs = list(outputs)

    inputs: list[tuple[str, str]] = []
    datasets: list[tuple[str, str]] = []  # (spec, its directory or glob): a new file there joins it
    named = [(spec, spec) for spec in filter(None, specs)]
    for item in params:  # (-p NAME=FILE, or a dataset directory: read as an input is)
        text = item.split("=", 1)[-1].strip()
        if os.path.exists(split_spec(text)[0]):
            named.append((item, text))
    for label, spec in named:
        path = local_file(split_spec(spec)[0])  # (an input named by a file:// URL is that file)
        if path == "-":  # (whatever file the shell gave as standard input: `- < p.csv >> p.csv`)
            shown = "-" + label[len(STDIN_PREFIX):] if label.startswith(STDIN_PREFIX) else label  # (-:pred)
            inputs.append((f"standard input, {shown}", "/dev/stdin"))
            continue
        if is_url(path):
            if (archive := archive_file(path)) is not None:  # (zip://p.csv::a.zip reads a.zip)
                inputs.append((label, archive))
            continue
        try:
            files = shards_of(path)
        except LossCliError:
            files = None  # an empty shard directory, a glob matching nothing: the read reports it
        if files is not None or not os.path.isfile(path):
            datasets.append((label, path))
        inputs += [(label, f) for f in files or [path]]
    inputs += user_code_files()
    if cluster is not None and cluster.scheduler_file:
        inputs.append((f"--scheduler-file {cluster.scheduler_file}", cluster.scheduler_file))
    refuse_clobbering(outputs, inputs, datasets)
    if report is None:
        return
    command, fmt = report
    for option, target in outputs:
        why = None
        if option == "--output" and target:
            why = misnamed(command, target, fmt)
        elif option.startswith("--report ") and target:  # (--report FORMAT:FILE: the format given with it)
            given = option.split()[1].split(":", 1)[0]
            why = misnamed(command, target, given, where=option, given=f"--report {given}")
        if why is not None:
            raise LossCliError(why)


def main_output(output: str | None, fmt: str) -> tuple[str, str]:
    """A command's main output as ``refuse_overwriting_inputs`` checks it: ``--output FILE``, or
    standard output (which may be a file the shell opened: ``>> preds.csv``)."""
    from ..io.output import STDOUT

    return ("--output", output) if output is not None else (f"the report (--format {fmt})", STDOUT)


def report_outputs(reports) -> list[tuple[str, str]]:
    """``--report FORMAT:FILE`` as the outputs ``refuse_overwriting_inputs`` checks."""
    return [(f"--report {fmt}:{path}", path) for fmt, path in reports]


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


def report_warnings(prepared: list[Prepared]) -> None:
    """Warnings of whole-input validations (gradcheck at files), printed once each."""
    w = Warnings()
    for p in prepared:
        w.add(p.loss, p.checked)
    w.print()
