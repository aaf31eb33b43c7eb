"""Machine output: JSON, NDJSON, CSV and bare values, one function per command and format."""

from __future__ import annotations

import csv
import io
import json

from ..stats.accumulator import STAT_KEYS
from .values import dump_json, json_safe, json_text, key_text, number, params_text, stamp


def to_json(payload) -> str:
    """Any command's record, as indented JSON."""
    return dump_json(payload)


def compute_json(payload: dict, context: dict) -> str:
    return dump_json(payload)


def compute_ndjson(payload: dict, context: dict) -> str:
    """One line per loss, each carrying the top-level keys (schema_version, version, inputs)."""
    top = {k: v for k, v in payload.items() if k != "results"}
    return "".join(json_text({**top, **rec}) + "\n" for rec in payload["results"])


def compute_csv(payload: dict, context: dict) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    results = payload["results"]
    if any("per_sample" in r for r in results):  # one row per sample, one column per loss
        cols = [r for r in results if "per_sample" in r]
        index, keys = cols[0]["per_sample_index"], cols[0].get("per_sample_key")  # (keys: with --on)
        sliced = context.get("slice_keys")  # --by: each row's slice
        by = unique_names(payload["by"]["columns"], ["index", "key", *(r["loss"] for r in cols)]) if sliced else []
        w.writerow(["index"] + (["key"] if keys else []) + by + [r["loss"] for r in cols])
        for i, row in enumerate(index):
            w.writerow([row] + ([keys[i]] if keys else []) + ([_csv_key(v) for v in sliced[i]] if sliced else [])
                       + [_csv_num(r["per_sample"][i]) for r in cols])
        return buf.getvalue()
    penalised = any("objective" in r for r in results)
    extra_cols = ["penalty", "objective"] if penalised else []
    by = payload["by"]["columns"] if "by" in payload else []
    with_ci = any("ci" in r for r in results)
    gated = any("gate" in r for r in results)  # --fail-above: passed, per loss and per slice judged
    # --by: after each loss's overall row (slice "all"), one row per slice listed, its key in the
    # by columns (by.NAME for a name the CSV has a column of); ranked: judged (--min-slice-size rows)
    own = ["loss", "slice", "ranked", "reduction", "value", "count", "omitted", *STAT_KEYS, "ci_low", "ci_high",
           "params", *extra_cols, "passed"]
    slice_cols = ["slice", *unique_names(by, own), "ranked"] if by else []
    w.writerow(["loss", *slice_cols, "reduction", "value", "count", "omitted", *STAT_KEYS,
                *(["ci_low", "ci_high"] if with_ci else []), "params", *extra_cols, *(["passed"] if gated else [])])
    for r in results:
        extra = [_csv_num(r["penalty"]["value"]), _csv_num(r["objective"])] if penalised else []
        passed = [_csv_bool(r["gate"]["passed"] if "gate" in r else None)] if gated else []
        rows = [(["all", *[""] * len(by), ""] if by else [], r, r.get("ci", {}).get("interval"), extra + passed)]
        rows += [([key_text(s["key"], ";"), *(_csv_key(s["key"][c]) for c in by), str(s["ranked"]).lower()], s,
                  s.get("ci"), [""] * len(extra) + ([_csv_bool(s.get("passed"))] if gated else []))
                 for s in r.get("slices", [])]
        for key_cells, rec, ci, more in rows:
            omitted = rec.get("omitted", "")
            w.writerow([r["loss"], *key_cells, r["reduction"], _csv_num(rec["value"]), rec["count"], omitted,
                        *(_csv_num(rec["stats"][k]) for k in STAT_KEYS),
                        *([_csv_num(x) for x in ci or (None, None)] if with_ci else []), params_text(r["params"]), *more])
    return buf.getvalue()


def _csv_bool(value: bool | None) -> str:
    """true / false, or empty (not judged)."""
    return "" if value is None else str(bool(value)).lower()


def unique_names(by: list[str], own: list[str]) -> list[str]:
    """The --by columns' CSV names: ``by.NAME`` (``by.by.NAME``...) for a name the CSV already has."""
    named: list[str] = []
    for i, c in enumerate(by):
        while c in own or c in named or c in by[i + 1:]:
            c = f"by.{c}"
        named.append(c)
    return named


def _csv_key(value) -> str:
    """A slice key's value in a CSV cell: as written; a missing value is an empty cell."""
    return "" if value is None else str(value)


def _csv_num(x) -> str:
    return "" if x is None else repr(float(x))


def compute_value(payload: dict, context: dict) -> str:
    """One number per line, as Python writes a float (``inf``, ``nan`` included)."""
    return "".join(repr(float(v)) + "\n" for values in context["values"] for v in values)


def plot_csv(data: dict) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["series", "loss", "x", "loss_value", "derivative"])
    for s in data["series"]:
        deriv = s["derivative"] or [None] * len(s["x"])
        for x, v, g in zip(s["x"], s["loss_values"], deriv):
            w.writerow([s["label"], s["loss"], repr(x), _csv_num(v), "" if g is None else _csv_num(g)])
    return buf.getvalue()


def plot_json(data: dict) -> str:
    clean = {**stamp(), **data, "series": [{**s, "loss_values": [number(v) for v in s["loss_values"]],
                                 "derivative": None if s["derivative"] is None else [number(v) for v in s["derivative"]]}
                                for s in data["series"]]}
    return json.dumps(json_safe(clean), indent=1, allow_nan=False) + "\n"  # (NaN, ±inf anywhere: null)


def plot_terminal(data: dict) -> list:
    """The chart: colour and box-drawing rules on a terminal, ASCII in a pipe or a file."""
    from .chart import Chart, terminal_chart

    return [Chart(lambda color, width: terminal_chart(data, width, color=color))]


def fit_csv(payload: dict) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["epoch", "lr", "risk", "penalty", "objective"])
    for e in payload["history"]:
        w.writerow([e["epoch"], repr(e["lr"]), repr(e["risk"]), repr(e["penalty"]), repr(e["objective"])])
    return buf.getvalue()


def list_json(losses) -> str:
    from ..commands.catalogue import loss_record

    return json.dumps({**stamp(), "losses": [loss_record(l) for l in losses]}, indent=2) + "\n"


def list_names(losses) -> str:
    return "".join(l.name + "\n" for l in losses)


def info_json(loss) -> str:
    from ..commands.catalogue import loss_record

    return json.dumps({**stamp(), **loss_record(loss)}, indent=2) + "\n"
