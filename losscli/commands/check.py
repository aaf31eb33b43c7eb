"""The ``check`` command: declarative loss gates from ``losscli.toml`` or ``[tool.losscli]`` in pyproject.toml.

    [[gate]]
    name = "house prices"                    # optional
    loss = "huber"
    inputs = ["preds.csv:pred", "labels.csv:label"]
    params = { delta = 2.0 }                 # optional
    reduction = "mean"                       # optional: mean | sum
    weights = "weights.csv"                  # optional
    max = 0.5                                # a bound: max and/or min ...
    baseline = "old_preds.csv:pred"          # ... and/or a comparison: the baseline replaces inputs[0]
    max_increase = "2%"                      # absolute, or relative with %
    significant = true                       # only fail when the bootstrap interval is wholly worse
    bootstrap = 1000                         # optional, with confidence = 0.95, seed = 0
    on = "id"                                # optional: rows paired by this key column (on_missing = "drop");
                                             # or positional = true: by position, no index or id compared
    by = "region"                            # optional: every bound also holds for each slice (by_file = "FILE",
                                             # min_slice_size = 30: smaller slices are reported, not gated)
    header = "auto"                          # optional, as --header; classes = ["cat", "dog"]; prob_tol = 1e-3;
                                             # nan_policy = "omit" (as --nan-policy)

Paths are relative to the config file (URLs are read as they are). Every distinct input is read once for all gates.
"""

from __future__ import annotations

import math
import os
import sys
import time
from pathlib import Path

from typing import Any

from ..errors import LossCliError
from ..io.cache import InputCache
from ..io.rules import HEADER_CHOICES, ON_MISSING
from ..io.spec import is_url, reads_stdin
from ..render.values import exact, real
from ..stats.accumulator import Evaluation
from ..stats.bootstrap import too_few_resamples
from ..stats.rounding import at_least, at_most
from .compare import compare_slices
from .slicing import SliceView, listed, ranked, slice_summary
from ..vocabulary import (BOOTSTRAP, BOOTSTRAP_SEED, CONFIDENCE, MAX_BOOTSTRAP, NAN_POLICIES, ROW_SUM_TOL,
                          SCALAR_REDUCTIONS)

KEYS: dict[str, type | tuple[type, ...]] = {
    "name": str, "loss": str, "inputs": list, "params": dict, "reduction": str, "weights": str,
    "max": (int, float), "min": (int, float), "baseline": str, "max_increase": (str, int, float),
    "significant": bool, "bootstrap": int, "confidence": (int, float), "seed": int,
    "on": str, "on_missing": str, "positional": bool, "header": str, "classes": list, "prob_tol": (int, float),
    "by": (str, list), "by_file": str, "min_slice_size": int, "nan_policy": str,
}
REQUIRED = ("loss", "inputs")


class ConfigError(LossCliError):
    """A malformed gate config (exit 2)."""



def bound_checks(value: float | None, bounds: dict) -> list[dict]:
    """A value held to a gate's ``max`` and ``min`` (at a bound within rounding: stats.rounding)."""
    v = math.nan if value is None else value
    return [{"check": f"value {sign} {exact(bounds[key])}", "passed": judge(v, bounds[key])}
            for key, sign, judge in (("max", "<=", at_most), ("min", ">=", at_least)) if key in bounds]


def baseline_check(cmp: dict, own: int | None = None) -> dict:
    """A baseline gate's check, with what it was judged on (``measured``): the two values, the
    change (absolute and relative) and its bootstrap interval; and the samples both models kept,
    where they are fewer than the gate's ``own`` (nan_policy = "omit": the gate's value and bounds
    are the candidate's on its rows, the comparison's on the rows both kept)."""
    gate = cmp["gate"]
    from ..render.values import judged_change, judged_interval

    change, rel = judged_change(cmp, signed=True)
    measured = (f"{cmp['baseline']:.6g} -> {cmp['candidate']:.6g}, change {change}"
                + (f" ({rel})" if cmp.get("relative_change") is not None else ""))
    boot = cmp.get("bootstrap")
    if boot and boot.get("interval") and not all(x is None or math.isnan(x) for x in boot["interval"]):
        measured += f", {boot['confidence']:.0%} CI {judged_interval(cmp, signed=True)}"  # (none: bootstrap = 0)
    if own is not None and cmp["count"] != own:
        measured += f", on the {cmp['count']} samples both models kept"
    return {"check": f"increase over baseline <= {gate['tolerance']}" + (" (significant)" if gate["significant"] else ""),
            "passed": gate["passed"], "measured": measured,
            **({"undecided": gate["undecided"]} if "undecided" in gate else {})}

def find_config(path: str | None) -> tuple[Path, list]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # Python 3.10
        import tomli as tomllib

    if path is None:
        for candidate in ("losscli.toml", "pyproject.toml"):
            if os.path.exists(candidate):
                path = candidate
                break
        else:
            raise ConfigError("no losscli.toml or pyproject.toml here; name the config file: losscli check CONFIG")
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"{path}: no such file")
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    if p.name == "pyproject.toml":
        data = data.get("tool", {}).get("losscli")
        if data is None:
            raise ConfigError(f"{path}: no [tool.losscli] table")
    # every top-level key is read or refused: a gate under a key nothing reads ([[gates]] beside
    # [[gate]], a typo) would never run, and the check would pass without it
    where = f"{path}: [tool.losscli]" if p.name == "pyproject.toml" else str(path)
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a table of [[gate]] tables")
    unknown = [k for k in data if k not in ("gate", "gates")]
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r}: gates are [[gate]] tables (or [[gates]]), and "
                          "nothing else is read from the file")
    if "gate" in data and "gates" in data:
        raise ConfigError(f"{where}: both [[gate]] and [[gates]] tables: write every gate as [[gate]]")
    gates = data.get("gate", data.get("gates"))
    table = "tool.losscli.gate" if p.name == "pyproject.toml" else "gate"  # (as the file names a gate)
    if isinstance(gates, dict):  # ([gate]: one table, where gates are an array of them)
        raise ConfigError(f"{where}: [{table}] is one table; gates are an array of tables, written with two brackets: "
                          f"[[{table}]]")
    if not isinstance(gates, list) or not gates:
        raise ConfigError(f"{path}: no gates: add [[{table}]] tables (see 'losscli check --help')")
    return p, gates


def validate_gate(i: int, gate, where: str) -> dict:
    label = f"{where}: gate {i + 1}" + (f" ({gate.get('name')!r})" if isinstance(gate, dict) and gate.get("name") else "")
    if not isinstance(gate, dict):
        raise ConfigError(f"{label}: expected a table of keys")
    for key, value in gate.items():
        if key not in KEYS:
            raise ConfigError(f"{label}: unknown key {key!r} (valid: {', '.join(KEYS)})")
        expected = KEYS[key]
        types = expected if isinstance(expected, tuple) else (expected,)
        if isinstance(value, bool) and bool not in types or not isinstance(value, types):
            kinds = " or ".join(t.__name__ for t in types)
            raise ConfigError(f"{label}: key {key!r} must be {kinds}, got {value!r}")
    for key in REQUIRED:
        if key not in gate:
            raise ConfigError(f"{label}: missing key {key!r}")
    if not gate["inputs"] or not all(isinstance(x, str) for x in gate["inputs"]):
        raise ConfigError(f"{label}: key 'inputs' must be a non-empty list of PATH[:SELECTOR] strings")
    if not any(k in gate for k in ("max", "min", "baseline")):
        raise ConfigError(f"{label}: needs a bound ('max' and/or 'min') or a 'baseline' to compare with")
    if gate.get("significant") and gate.get("bootstrap", 1) == 0:
        raise ConfigError(f"{label}: key 'significant' judges by the bootstrap interval: it needs 'bootstrap' > 0")
    few = too_few_resamples(gate.get("bootstrap", BOOTSTRAP), gate.get("confidence", CONFIDENCE)) \
        if "baseline" in gate and 0 < gate.get("confidence", CONFIDENCE) < 1 else None
    if few:
        raise ConfigError(f"{label}: key 'bootstrap': {_in_gate_words(few)}")
    # (keys of a comparison, on a gate without one: nothing would read them, and the gate would be
    # judged on its plain value while the config says otherwise)
    for key, default in BASELINE_KEYS.items():  # (a default written out changes nothing: accepted, as before)
        if key in gate and "baseline" not in gate and (default is None or gate[key] != default):
            raise ConfigError(f"{label}: key {key!r} needs a 'baseline' (it judges the change from one)")
    if gate.get("reduction", SCALAR_REDUCTIONS[0]) not in SCALAR_REDUCTIONS:
        raise ConfigError(f"{label}: key 'reduction' must be {' or '.join(map(repr, SCALAR_REDUCTIONS))}, "
                          f"got {gate['reduction']!r}")
    for key, words in _CHOICES:
        if key in gate and gate[key] not in words:
            raise ConfigError(f"{label}: key {key!r} must be {' or '.join(map(repr, words))}, got {gate[key]!r}")
    if "classes" in gate and not all(isinstance(c, str) for c in gate["classes"]):
        raise ConfigError(f"{label}: key 'classes' must be a list of class names (strings)")
    for key, ok, must in _RANGES:
        value = gate.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and not ok(value):
            raise ConfigError(f"{label}: key {key!r} must be {must}, got {value!r}")
    if "min" in gate and "max" in gate and gate["min"] > gate["max"]:  # (no value passes: a typo, not a check)
        raise ConfigError(f"{label}: key 'min' ({gate['min']!r}) is above key 'max' ({gate['max']!r}): no value "
                          "can pass")
    if "name" in gate and not gate["name"].strip():
        raise ConfigError(f"{label}: key 'name' is empty (it names the gate in every report: leave it out for the "
                          "loss and first input)")
    return {**gate, "_label": label}


#: (key, test, what it must be): numbers a gate may hold, checked before anything runs
_RANGES = (
    ("max", math.isfinite, "a finite number"),
    ("min", math.isfinite, "a finite number"),
    ("max_increase", lambda v: math.isfinite(v) and v >= 0, "a finite number >= 0"),
    ("confidence", lambda v: 0 < v < 1, "in (0, 1)"),
    ("bootstrap", lambda v: 0 <= v <= MAX_BOOTSTRAP, f"an integer in [0, {MAX_BOOTSTRAP:,}]"),
    ("seed", lambda v: v >= 0, "an integer >= 0"),
    ("prob_tol", lambda v: 0 <= v <= 1, "in [0, 1]"),
    ("min_slice_size", lambda v: v >= 1, "an integer >= 1"),
)
#: keys read only by a gate's comparison with its baseline
BASELINE_KEYS = {"max_increase": None, "significant": False, "confidence": CONFIDENCE, "bootstrap": BOOTSTRAP,
                 "seed": BOOTSTRAP_SEED}
#: keys whose value is one of a list of words
_CHOICES = (("header", HEADER_CHOICES), ("on_missing", ON_MISSING), ("nan_policy", NAN_POLICIES))


def _resolve(base: Path, spec: str) -> str:
    """A gate's PATH[:SELECTOR], relative to the config file's directory; standard input, an
    absolute path and a URL (``file:///abs/p.csv``, ``s3://...``: read as ``compute`` reads them)
    as they are."""
    if is_url(spec) and "::" in spec:  # (zip://p.csv::../a.zip: the archive, a path, relative to the config too)
        head, last = spec.rsplit("::", 1)
        return f"{head}::{_resolve(base, last)}"
    return spec if reads_stdin(spec) or os.path.isabs(spec) or is_url(spec) else str(base / spec)


def _param_items(gate: dict) -> list[str]:
    """A gate's ``params`` table as ``-p`` items."""
    return [f"{k}={','.join(map(str, v)) if isinstance(v, list) else v}" for k, v in gate.get("params", {}).items()]


def run_check(config: str | None, *, fmt="table", output=None, engine="local", cluster=None, reports=()) -> int:
    """Evaluate every gate; a gate that cannot be evaluated (a missing input, ...) is reported
    as an error beside the others, then the run ends with that error (exit 2)."""
    from ..engine import engine_function
    from ..engine.block import Warnings
    from ..io.cache import InputCache
    from ..io.replace import together
    from ..render import Timing, publish
    from .common import (add_roles, main_output, parse_param_options, provenance, refuse_overwriting_inputs, report_outputs,
                         select_losses)
    from .compare import Tolerance, compare_record, on_common_rows, undecided_notes
    from .slicing import slice_header

    timing = Timing()
    path, raw_gates = find_config(config)
    gates = [validate_gate(i, g, str(path)) for i, g in enumerate(raw_gates)]
    base_dir = path.parent
    read = [str(path)] + [_resolve(base_dir, s) for g in gates
                          for s in (*g["inputs"], g.get("baseline"), g.get("weights"), g.get("by_file")) if s is not None]
    refuse_overwriting_inputs([main_output(output, fmt), *report_outputs(reports)], read,
                              [item for g in gates for item in _param_items(g)], cluster, report=("check", fmt))
    for gate in gates:  # a malformed gate (its loss, parameters, reading or slice keys) is the config's error
        try:
            if len(select_losses(gate["loss"])) != 1:
                raise ConfigError("key 'loss' names one loss per gate")
            parse_param_options(select_losses(gate["loss"]), _param_items(gate))
            _rules_and_slices(gate, base_dir)
            Tolerance.parse(gate.get("max_increase", 0), "key 'max_increase'")
        except LossCliError as exc:
            raise type(exc)(f"{gate['_label']}: {_in_gate_words(str(exc))}") from None
    _name_gates(gates)
    # standard input is read once, by one reading (its rules, --on's order): gates that read it otherwise
    # would find it empty ('gate 2: <stdin>: empty file')
    readings = {_reading(g, base_dir): g["_label"] for g in gates
                if any(reads_stdin(str(s)) for s in [*g["inputs"], g.get("weights"), g.get("baseline")])}
    if len(readings) > 1:
        raise ConfigError(f"standard input is read by {' and '.join(readings.values())} with other reading keys "
                          "(header, on, by, ...), and it can be read once: write it to a file and name the file in the "
                          "gates, or read it alike in every gate")
    caches: dict = {}  # each distinct input is read once for all gates (that read it by the same rules)
    stream_evaluations = engine_function(engine, cluster)
    results = []
    roles: dict[str, list[str]] = {}

    def evaluate_gate(gate: dict) -> dict:
        """One gate's record; raises when it cannot be evaluated."""
        _, by_file, (_, view) = _rules_and_slices(gate, base_dir)
        reading = _reading(gate, base_dir)
        rules, order_by, models, slices = reading  # (models: compared on the keys both share)
        cache = caches.setdefault(reading, InputCache(memoize=True, rules=rules, order_by=order_by, companions=models,
                                                      slices=slices))
        losses = select_losses(gate["loss"])
        loss = losses[0]
        by_loss = parse_param_options(losses, _param_items(gate))
        inputs = [_resolve(base_dir, s) for s in gate["inputs"]]
        weights = _resolve(base_dir, gate["weights"]) if "weights" in gate else None
        reduction = gate.get("reduction", SCALAR_REDUCTIONS[0])
        kw = dict(cache=cache, reduction=reduction, weights=weights, top=3, chunk_rows=None,
                  per_sample="baseline" in gate, prob_tol=gate.get("prob_tol", ROW_SUM_TOL),
                  nan_policy=gate.get("nan_policy", NAN_POLICIES[0]))
        add_roles(roles, (by_file, "slices"), (weights, "weights"),
                  *((spec, loss.inputs[i].name if i < len(loss.inputs) else "input") for i, spec in enumerate(inputs)))
        told = Warnings(), Warnings()  # (what compute says of the rows: renormalised, omitted)
        ev = stream_evaluations(losses, inputs, by_loss, **kw, warnings=told[0])[0]
        rec = {"gate": gate["_name"], "loss": loss.name,
               "value": real(ev.value), "reduction": reduction, "count": ev.count, "omitted": ev.omitted, "checks": []}
        rec["checks"] += bound_checks(ev.value, gate)
        base = None
        if "baseline" in gate:
            base_inputs = [_resolve(base_dir, gate["baseline"])] + inputs[1:]
            add_roles(roles, (base_inputs[0], "baseline"))
            base = stream_evaluations(losses, base_inputs, by_loss, **kw, warnings=told[1])[0]
            cache.refuse_other_class_readings(base_inputs[0], inputs[0])
            tol = Tolerance.parse(gate.get("max_increase", 0), "key 'max_increase'")
            settings = dict(n_boot=gate.get("bootstrap", BOOTSTRAP), confidence=gate.get("confidence", CONFIDENCE),
                            seed=gate.get("seed", BOOTSTRAP_SEED), tolerance=tol,
                            significant=gate.get("significant", False), top=3)
            trimmed_base, trimmed, common = on_common_rows(base, ev)  # (nan_policy omit: on the rows both kept)
            cmp = compare_record(trimmed_base, trimmed, cache, **settings)  # type: ignore[arg-type]
            for line in ([common] if common else []) + undecided_notes(cmp):
                print(f"losscli: note: {gate['_label']}: {line}", file=sys.stderr, flush=True)
            rec["comparison"] = cmp
            rec["checks"].append(baseline_check(cmp, own=ev.count))
        if slices is not None:  # every gate holds for each slice big enough to rank
            assert view is not None
            bounds = {k: gate[k] for k in ("max", "min") if k in gate}
            rec["slices"], rec["slice_counts"] = gate_slices(ev, cache, view, bounds, base,
                                                             **(settings if base is not None else {}))
            rec["by"] = slice_header(slices, view)
            counts = rec["slice_counts"]
            judged = (f"{counts['failed']} of {counts['ranked']} failed" if counts["ranked"]
                      else "none has as many rows, none judged") + \
                (f", {counts['undecided']} undecided" if counts.get("undecided") else "")
            rec["checks"].append({"check": f"slices by {slices.text()} ({view.min_size}+ rows): {judged}",
                                  "passed": counts["failed"] == 0})
        rec["passed"] = all(c["passed"] for c in rec["checks"])
        _undecided(rec)
        small = rec.get("slice_counts", {}).get("undecided", 0)
        if small:  # (its slices of too few samples for --significant: said, as the whole is)
            print(f"losscli: note: {gate['_label']}: {small} slice{'s' if small > 1 else ''} too small for "
                  "significant = true to judge (their gates are not tripped)", file=sys.stderr, flush=True)
        told[0].print(told[1], prefix=f"{gate['_label']}: ", words=_in_gate_words)
        return rec

    errors: list[LossCliError] = []
    for gate in gates:  # a gate that cannot be evaluated is reported as an error; the others still run
        since = time.perf_counter()
        try:
            rec = evaluate_gate(gate)
        except LossCliError as exc:
            errors.append(_reworded(exc, f"{gate['_label']}: {_in_gate_words(str(exc))}"))
            rec = {"gate": gate["_name"], "loss": select_losses(gate["loss"])[0].name,
                   "value": None, "reduction": gate.get("reduction", SCALAR_REDUCTIONS[0]), "count": 0, "omitted": 0,
                   "checks": [],
                   "error": str(errors[-1]), "passed": False}
        timing.case(rec["gate"], since)
        results.append(rec)
    payload = {**provenance(list(caches.values()), roles), "config": str(path), "passed": all(r["passed"] for r in results), "gates": results}
    with together():  # (the report files and -o: all of them, or none)
        publish("check", fmt, output, reports, payload, timing=timing)
    if errors:  # (after the reports: they name every gate, this one included)
        more = f" (and {len(errors) - 1} more gate{'s' if len(errors) > 2 else ''} could not be evaluated)" \
            if len(errors) > 1 else ""
        raise type(errors[0])(f"{errors[0]}{more}")
    return 0 if payload["passed"] else 1


def _in_gate_words(message: str) -> str:
    """An error of a gate whose way out names ``compute``'s options (``--on id pairs them``,
    ``--nan-policy omit``), with the gate keys that say it in a config."""
    import re

    named = dict.fromkeys(m.replace("-", "_") for m in re.findall(r"--([a-z][a-z-]*[a-z])", message))
    keys = [k for k in named if k in KEYS]
    said = ", ".join(f"--{k.replace('_', '-')} is the key {k!r}" for k in keys)
    return f"{message} (in a gate: {said})" if keys else message


def _name_gates(gates: list[dict]) -> None:
    """Each gate's name in reports (``_name``): its ``name``, else its loss (canonical) on its first
    input, numbered where two gates would share it. A CI server merges test cases of one name (JUnit),
    hiding a gate: a name given twice is refused."""
    from .common import select_losses

    given = [g["name"] for g in gates if g.get("name")]
    twice = next((n for n in given if given.count(n) > 1), None)
    if twice is not None:
        first, second = [i + 1 for i, g in enumerate(gates) if g.get("name") == twice][:2]
        label = gates[second - 1]["_label"]
        raise ConfigError(f"{label}: key 'name': gate {first} has this name too; give each gate its own name "
                          "(reports tell gates apart by name)")
    names = [g.get("name") or f"{select_losses(g['loss'])[0].name} on {g['inputs'][0]}" for g in gates]
    for i, (gate, name) in enumerate(zip(gates, names)):
        gate["_name"] = f"{name} (gate {i + 1})" if names.count(name) > 1 and not gate.get("name") else name
    final = [g["_name"] for g in gates]
    clash = next((i for i, n in enumerate(final) if final.count(n) > 1 and gates[i].get("name")), None)
    if clash is not None:  # (a name given as another gate's numbered one)
        other = next(i for i, n in enumerate(final) if n == final[clash] and i != clash)
        raise ConfigError(f"{gates[clash]['_label']}: key 'name': gate {other + 1}, unnamed, is named so in reports "
                          "too; give each gate its own name")


def _reading(gate: dict, base_dir: Path) -> tuple:
    """How a gate reads its inputs (its rules, the input --on orders rows by, the models a baseline's
    keys are matched with, its slicing): gates that read alike share one read of each input."""
    rules, _, (slices, _) = _rules_and_slices(gate, base_dir)
    order_by = _resolve(base_dir, gate["inputs"][1]) if rules.on and len(gate["inputs"]) > 1 else None
    models = (_resolve(base_dir, gate["inputs"][0]), _resolve(base_dir, gate["baseline"])) \
        if rules.on and "baseline" in gate else ()
    return rules, order_by, models, slices


def _rules_and_slices(gate: dict, base_dir: Path) -> tuple:
    """A gate's reading rules, its --by-file and its slicing (checked here: a malformed key is a
    ConfigError before anything is read)."""
    from .common import reading_rules
    from .slicing import slicing

    rules = reading_rules(gate.get("header", "auto"), gate.get("on"), gate.get("on_missing", "error"),
                          gate.get("classes"), gate=True, positional=gate.get("positional", False))
    by_file = _resolve(base_dir, gate["by_file"]) if "by_file" in gate else None
    return rules, by_file, slicing(gate.get("by"), by_file, gate.get("min_slice_size"), gate=True)


def gate_slices(ev: Evaluation, cache: InputCache, view: SliceView, bounds: dict, base: Evaluation | None = None,
                **compare: object) -> tuple[list[dict], dict]:
    """A ``check`` gate's slices: each ranked slice held to the gate's ``bounds`` (``max``,
    ``min``) and, with a ``base`` evaluation, to its ``max_increase`` over the baseline's slice."""
    assert ev.slices is not None and cache.slice_keys is not None
    records: dict[int, dict[str, Any]] = {}
    for s in ev.slices:
        rec: dict[str, Any] = {"key": cache.slice_keys.key_record(s.code), "count": s.count,
                               "value": None if s.value is None else real(s.value),
                               "ranked": ranked(s, view), "checks": []}
        if rec["ranked"]:
            rec["checks"] += bound_checks(s.value, bounds)
        records[s.code] = rec
    if base is not None:
        compared, _ = compare_slices(base, ev, cache, SliceView(view.min_size), **compare)
        by_key = {tuple(r["key"].values()): r for r in records.values()}
        for cmp in compared:
            rec = by_key[tuple(cmp["key"].values())]
            rec["comparison"] = {k: v for k, v in cmp.items() if k not in ("key", "ranked", "count")}
            if "gate" in cmp:
                rec["checks"].append(baseline_check(cmp))
    for rec in records.values():
        if rec["ranked"]:
            rec["passed"] = all(c["passed"] for c in rec["checks"])
            _undecided(rec)
    shown = listed(list(records.values()), lambda r: r["value"], view, ev.loss.ranked_by == "magnitude")
    counts = slice_summary(list(records.values()), shown)
    undecided = sum(1 for r in records.values() if r.get("undecided"))
    return shown, {**counts, **({"undecided": undecided} if undecided else {})}


def _undecided(rec: dict) -> None:
    """A gate (or slice) that passed with a check undecided (significant = true on too few samples)
    says so: ``undecided`` beside ``passed``, the status every format shows."""
    why = next((c["undecided"] for c in rec["checks"] if c.get("undecided")), None)
    if why and rec["passed"]:
        rec["undecided"] = why


def _reworded(exc: LossCliError, message: str) -> LossCliError:
    """``exc`` (of its own class: an error's exit code is its class's) saying ``message`` (an error
    whose class takes more than a message was rebuilt from one: TypeError, exit 3, no report)."""
    out = type(exc).__new__(type(exc), message)
    out.__dict__.update(exc.__dict__)
    out.args = (message,)
    return out
