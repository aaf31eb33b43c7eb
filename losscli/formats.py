"""Output formats. Every command first builds plain records (dicts of JSON types); each format
renders those records, so the formats can never disagree about a number.

Add a format: write a function that returns text (machine formats) or a list of rich
renderables (human formats) and list it in the command's ``*_FORMATS`` mapping below; the CLI's
``--format`` choices come from those mappings and :func:`emit` prints or writes either kind.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from typing import Any

import numpy as np

from .evaluate import STAT_KEYS, Evaluation
from .registry import DOMAINS, Loss


# -- records --------------------------------------------------------------------------------------
def dump_json(payload) -> str:
    """Indented JSON; NaN/inf were already turned into null (JSON has no spelling for them)."""
    return json.dumps(payload, indent=2, allow_nan=False) + "\n"


def number(x: Any) -> float | None:
    """A JSON-safe float: NaN and ±inf become null (JSON has no spelling for them)."""
    x = float(x)
    return x if math.isfinite(x) else None


def result_record(ev: Evaluation, top: int, penalty=None) -> dict:
    rec = {
        "loss": ev.loss.name,
        "params": {k: (list(v) if isinstance(v, tuple) else v) for k, v in ev.params.items()},
        "reduction": ev.reduction,
        "value": None if ev.value is None else number(ev.value),
        "count": ev.count,
        "omitted": ev.omitted,
        "stats": {k: number(v) for k, v in ev.stats.items()},
        "worst": [{"index": row, "loss": number(v)} for row, v in ev.worst[:top]],
    }
    if not ev.quantiles_exact:
        rec["quantiles"] = {"exact": False, "method": "Apache DataSketches KLL",
                            "normalized_rank_error": ev.quantile_rank_error}
    if ev.per_sample is not None:
        rec["per_sample"] = [number(v) for v in ev.per_sample]
    if penalty is not None and ev.value is not None:  # structural risk = empirical risk + penalty
        rec["empirical_risk"] = rec["value"]
        rec["penalty"] = {k: (number(v) if isinstance(v, float) else v) for k, v in penalty.record().items()}
        rec["objective"] = number(ev.value + penalty.value)
    return rec


def loss_record(loss: Loss) -> dict:
    return {
        "name": loss.name, "aliases": list(loss.aliases), "category": loss.category,
        "summary": loss.summary, "coupling": loss.coupling,
        "inputs": [{"name": i.name, "shape": i.shape_text(), "domain": i.domain,
                    "expects": DOMAINS[i.domain], "optional": i.optional,
                    "differentiable": i.name in loss.differentiable, "description": i.description}
                   for i in loss.inputs],
        "params": {k: {"default": (list(p.default) if isinstance(p.default, tuple) else p.default),
                       "type": p.kind, "constraint": p.constraint or None,
                       "choices": list(p.choices) or None, "help": p.help}
                   for k, p in loss.params.items()},
        "differentiable": loss.has_gradient,
        "not_differentiable_reason": loss.not_differentiable_reason or None,
        "formula": loss.formula, "gradient": loss.gradient_formula,
        "conventions": list(loss.conventions), "references": list(loss.references),
        "source": loss.source,
    }


def fmt(x: float | None, digits: int = 6) -> str:
    if x is None:
        return "-"
    return f"{x:.{digits}g}"


def params_text(params: dict) -> str:
    return ", ".join(f"{k}={_param_value(v)}" for k, v in params.items()) or "-"


def _param_value(v) -> str:
    if isinstance(v, (list, tuple)):
        return ",".join(f"{x:g}" for x in v)
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


# -- rich plumbing --------------------------------------------------------------------------------
def console(file=None, width: int | None = None):
    """A rich Console: colour only on a terminal and never with NO_COLOR; files get plain text."""
    from rich.console import Console

    if file is not None:
        return Console(file=file, width=width or 120, color_system=None, highlight=False,
                       force_terminal=False, soft_wrap=False)
    import sys

    if width is None and not sys.stdout.isatty():
        width = 160  # a pipe or file has no width; 80 columns would wrap the tables
    return Console(highlight=False, width=width, no_color="NO_COLOR" in os.environ or None)


def render_rich(renderables, width: int | None = None) -> str:
    """Render rich objects to plain text (for ``--output`` files and tests)."""
    buf = io.StringIO()
    con = console(buf, width)
    for r in renderables:
        con.print(r)
    return buf.getvalue()


def emit(rendered, output: str | None = None) -> None:
    """Print to stdout (rich objects through a console: colour only on a terminal), or write
    atomically to ``output`` as plain text."""
    if output is not None:
        from .atomic import write_text_atomic

        text = rendered if isinstance(rendered, str) else render_rich(rendered, width=160)
        write_text_atomic(output, text)
        return
    if isinstance(rendered, str):
        import sys

        sys.stdout.write(rendered)
        sys.stdout.flush()
        return
    con = console()
    for r in rendered:
        con.print(r)


# -- compute -------------------------------------------------------------------------------------
def _cell_text(values: np.ndarray, limit: int = 4) -> str:
    flat = np.ravel(values)
    shown = ", ".join(f"{v:.4g}" for v in flat[:limit])
    if flat.size == 1:
        return shown
    return f"[{shown}{', …' if flat.size > limit else ''}]"


def compute_tables(payload: dict, context: dict) -> list:
    from rich.table import Table

    out = []
    summary = Table(title="Loss", title_justify="left")
    for col in ("loss", "value", "reduction", "params", "N") + STAT_KEYS:
        summary.add_column(col, justify="left" if col in ("loss", "reduction", "params") else "right")
    penalised = any("objective" in r for r in payload["results"])
    if penalised:
        summary.add_column("penalty", justify="right")
        summary.add_column("objective", justify="right")
    for rec in payload["results"]:
        n = str(rec["count"]) + (f" ({rec['omitted']} omitted)" if rec["omitted"] else "")
        extra = (fmt(rec["penalty"]["value"], 10), fmt(rec["objective"], 10)) if penalised else ()
        summary.add_row(rec["loss"], fmt(rec["value"], 10), rec["reduction"], params_text(rec["params"]),
                        n, *(fmt(rec["stats"][k]) for k in STAT_KEYS), *extra)
    out.append(summary)
    inputs = context.get("inputs", {})
    for rec in payload["results"]:
        if not rec["worst"]:
            continue
        roles = inputs.get(rec["loss"], {})
        t = Table(title=f"{rec['loss']}: worst {len(rec['worst'])} samples", title_justify="left")
        t.add_column("rank", justify="right")
        t.add_column("index", justify="right")
        t.add_column("loss", justify="right")
        for role in roles:
            t.add_column(role)
        for rank, w in enumerate(rec["worst"], 1):
            t.add_row(str(rank), str(w["index"]), fmt(w["loss"]),
                      *(_cell_text(np.asarray(a[rank - 1])) for a in roles.values()))
        out.append(t)
    if "gradient_file" in context:
        from rich.text import Text

        out.append(Text(f"gradients written to {context['gradient_file']}"))
    return out


def _compute_json(payload: dict, context: dict) -> str:
    return dump_json(payload)


def _compute_ndjson(payload: dict, context: dict) -> str:
    return "".join(json.dumps(rec, allow_nan=False) + "\n" for rec in payload["results"])


def _compute_csv(payload: dict, context: dict) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    results = payload["results"]
    if any("per_sample" in r for r in results):  # one row per sample, one column per loss
        cols = [r for r in results if "per_sample" in r]
        index = [w_ for w_ in context["rows"]]
        w.writerow(["index"] + [r["loss"] for r in cols])
        for i, row in enumerate(index):
            w.writerow([row] + [_csv_num(r["per_sample"][i]) for r in cols])
        return buf.getvalue()
    penalised = any("objective" in r for r in results)
    extra_cols = ["penalty", "objective"] if penalised else []
    w.writerow(["loss", "reduction", "value", "count", "omitted", *STAT_KEYS, "params", *extra_cols])
    for r in results:
        extra = [_csv_num(r["penalty"]["value"]), _csv_num(r["objective"])] if penalised else []
        w.writerow([r["loss"], r["reduction"], _csv_num(r["value"]), r["count"], r["omitted"],
                    *(_csv_num(r["stats"][k]) for k in STAT_KEYS), params_text(r["params"]), *extra])
    return buf.getvalue()


def _csv_num(x) -> str:
    return "" if x is None else repr(float(x))


def _compute_value(payload: dict, context: dict) -> str:
    lines = []
    for r in payload["results"]:
        values = r["per_sample"] if r["value"] is None else [r["value"]]
        if "objective" in r:  # empirical risk, penalty, objective: one per line
            values = [r["value"], r["penalty"]["value"], r["objective"]]
        lines.extend("nan" if v is None else repr(float(v)) for v in values)
    return "\n".join(lines) + "\n"


#: formats that print the loss values only: quantiles and worst samples are not computed for them
LOSS_ONLY_FORMATS = frozenset({"value"})

COMPUTE_FORMATS = {
    "table": compute_tables,
    "json": _compute_json,
    "csv": _compute_csv,
    "ndjson": _compute_ndjson,
    "value": _compute_value,
}


# -- list / info ---------------------------------------------------------------------------------
def _params_with_defaults(loss: Loss) -> str:
    return ", ".join(f"{k}={_param_value(p.default)}" for k, p in loss.params.items()) or "-"


def list_table(losses: list[Loss]):
    from rich.table import Table

    t = Table(title=f"{len(losses)} losses", title_justify="left")
    for col in ("name", "aliases", "category", "inputs", "parameters", "gradient"):
        t.add_column(col)
    for l in losses:
        t.add_row(l.name, ", ".join(l.aliases) or "-", l.category, l.describe_inputs(),
                  _params_with_defaults(l), "yes" if l.has_gradient else "no")
    return [t]


LIST_FORMATS = {
    "table": list_table,
    "json": lambda losses: json.dumps({"losses": [loss_record(l) for l in losses]}, indent=2) + "\n",
    "names": lambda losses: "".join(l.name + "\n" for l in losses),
}


def info_renderables(loss: Loss) -> list:
    from rich.table import Table
    from rich.text import Text

    rec = loss_record(loss)
    head = Text()
    head.append(f"{loss.name}", style="bold")
    head.append(f"  ({loss.category}; {loss.coupling} coupling)\n")
    head.append(loss.summary + "\n")
    if loss.aliases:
        head.append("aliases: " + ", ".join(loss.aliases) + "\n")
    head.append("\nformula:   " + (loss.formula or "-") + "\n")
    if loss.has_gradient:
        head.append("gradient:  " + (loss.gradient_formula or "(analytic gradient registered)") + "\n")
    else:
        head.append("gradient:  none — " + loss.no_gradient_message() + "\n")
    roles = Table(title="inputs (in order)", title_justify="left")
    for col in ("role", "shape", "expects", "differentiable", "description"):
        roles.add_column(col)
    for i in rec["inputs"]:
        roles.add_row(i["name"] + (" (optional)" if i["optional"] else ""), i["shape"],
                      i["expects"], "yes" if i["differentiable"] else "no", i["description"])
    out = [head, roles]
    if loss.params:
        params = Table(title="parameters (-p NAME=VALUE)", title_justify="left")
        for col in ("name", "default", "type", "help"):
            params.add_column(col)
        for k, p in loss.params.items():
            params.add_row(k, _param_value(p.default), p.describe(), p.help)
        out.append(params)
    tail = Text()
    if loss.conventions:
        tail.append("conventions:\n")
        for c in loss.conventions:
            tail.append(f"  - {c}\n")
    if loss.references:
        tail.append("references:\n")
        for r in loss.references:
            tail.append(f"  - {r}\n")
    if loss.source != "built-in":
        tail.append(f"defined in: {loss.source}\n")
    out.append(tail)
    return out


INFO_FORMATS = {
    "text": info_renderables,
    "json": lambda loss: json.dumps(loss_record(loss), indent=2) + "\n",
}


# -- gradcheck -----------------------------------------------------------------------------------
def gradcheck_tables(payload: dict) -> list:
    from rich.table import Table
    from rich.text import Text

    summary = Table(title="Gradient check", title_justify="left")
    for col in ("loss", "inputs", "checked", "evaluations", "max abs err", "max rel err", "kinks",
                "below noise", "status"):
        summary.add_column(col, justify="left" if col in ("loss", "inputs", "status") else "right")
    out = [summary]
    for r in payload["results"]:
        inputs = ", ".join(f"{k}{tuple(v)}" for k, v in r["inputs"].items())
        checked = f"{r['checked']}/{r['elements']}"
        summary.add_row(r["loss"], inputs, checked, str(r["evaluations"]), fmt(r["max_abs_error"], 3),
                        fmt(r["max_rel_error"], 3), str(r["kinks"]), str(r["below_noise"]),
                        "PASS" if r["passed"] else "FAIL")
    for r in payload["results"]:
        lines = Text()
        for c in r["consistency"]:
            lines.append(f"{r['loss']}: {c['check']}: residual {c['residual']:.3g} "
                         f"{'ok' if c['passed'] else 'FAIL'}\n")
        for t in r["taylor"]:
            order = "-" if t["order"] is None else f"{t['order']:.2f}"
            lines.append(f"{r['loss']}: Taylor remainder order for {t['role']}: {order} (2 = right, 1 = wrong)"
                         f"{' ' + t['note'] if t.get('note') else ''} {'ok' if t['passed'] else 'FAIL'}\n")
        for p in r["probes"]:
            if not p["passed"]:
                lines.append(f"{r['loss']}: probe {p['probe']} of {p['role']} failed: analytic "
                             f"{p['analytic']:.6g}, numeric {p['numeric']:.6g}; localised to "
                             f"{p.get('localised')}\n")
        for n in r["notes"]:
            lines.append(f"{r['loss']}: note: {n}\n")
        if lines:
            out.append(lines)
        if r["worst"] and (not r["passed"] or r["kinks"]):
            t = Table(title=f"{r['loss']}: worst elements", title_justify="left")
            for col in ("role", "index", "analytic", "numeric", "abs err", "rel err", "err est", "status"):
                t.add_column(col, justify="left" if col in ("role", "index", "status") else "right")
            for w in r["worst"]:
                t.add_row(w["role"], str(tuple(w["index"])), fmt(w["analytic"], 10), fmt(w["numeric"], 10),
                          fmt(w["abs_error"], 3), fmt(w["rel_error"], 3), fmt(w["error_estimate"], 3), w["status"])
            out.append(t)
    return out


GRADCHECK_FORMATS = {
    "table": gradcheck_tables,
    "json": dump_json,
}


# -- reports CI systems read: JUnit XML and GitHub-flavoured Markdown -----------------------------------
def junit_xml(suite: str, cases: list[dict]) -> str:
    """JUnit XML as CI servers parse it: <testsuites><testsuite><testcase> with <failure> carrying
    the numbers. Each case: {"name", "classname", "failure": None | (message, details),
    "output": text for <system-out>}."""
    import xml.etree.ElementTree as ET

    failures = sum(1 for c in cases if c.get("failure"))
    root = ET.Element("testsuites", name="losscli", tests=str(len(cases)), failures=str(failures), errors="0")
    ts = ET.SubElement(root, "testsuite", name=suite, tests=str(len(cases)), failures=str(failures),
                       errors="0", skipped="0", time="0")
    for c in cases:
        tc = ET.SubElement(ts, "testcase", classname=c["classname"], name=c["name"], time="0")
        if c.get("failure"):
            message, details = c["failure"]
            f = ET.SubElement(tc, "failure", message=message, type="LossCheckFailed")
            f.text = details
        if c.get("output"):
            ET.SubElement(tc, "system-out").text = c["output"]
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def markdown_table(header: list[str], rows: list[list]) -> str:
    def cell(v) -> str:
        return str(v).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _compute_junit(payload: dict, context: dict) -> str:
    limit = context.get("fail_above")
    cases = []
    for r in payload["results"]:
        value = r.get("objective", r["value"]) if r["value"] is not None else r["stats"]["max"]
        failed = limit is not None and not (value is not None and value <= limit)
        cases.append({"classname": "losscli.compute", "name": f"{r['loss']} ({params_text(r['params'])})",
                      "failure": (f"{r['loss']} = {value!r} > --fail-above {limit!r}",
                                  json.dumps(r, allow_nan=False)) if failed else None,
                      "output": f"value={r['value']!r} count={r['count']}"})
    return junit_xml("compute", cases)


def _compute_markdown(payload: dict, context: dict) -> str:
    rows = [[f"`{r['loss']}`", fmt(r["value"], 10), r["reduction"], params_text(r["params"]), r["count"],
             *(fmt(r["stats"][k]) for k in STAT_KEYS)] for r in payload["results"]]
    return markdown_table(["loss", "value", "reduction", "params", "N", *STAT_KEYS], rows)


COMPUTE_FORMATS["junit"] = _compute_junit
COMPUTE_FORMATS["markdown"] = _compute_markdown


def _pct(x) -> str:
    return "-" if x is None else f"{100 * x:+.2f}%"


def compare_tables(payload: dict) -> list:
    from rich.table import Table

    t = Table(title=f"candidate {payload['candidate']} vs baseline {payload['baseline']}", title_justify="left")
    for col in ("loss", "baseline", "candidate", "change", "rel", "better", "worse", "equal", "CI of change", "gate"):
        t.add_column(col, justify="left" if col in ("loss", "gate") else "right")
    out = [t]
    for r in payload["results"]:
        lo, hi = r["bootstrap"]["interval"]
        gate = "-" if "gate" not in r else ("PASS" if r["gate"]["passed"] else "FAIL")
        t.add_row(r["loss"], fmt(r["baseline"], 8), fmt(r["candidate"], 8), fmt(r["change"], 4),
                  _pct(r["relative_change"]), f"{100 * r['better']:.1f}%", f"{100 * r['worse']:.1f}%",
                  f"{100 * r['equal']:.1f}%", f"[{fmt(lo, 4)}, {fmt(hi, 4)}] ({100 * r['bootstrap']['confidence']:g}%)",
                  gate)
        if r["worst_regressions"]:
            w = Table(title=f"{r['loss']}: worst regressions", title_justify="left")
            for col in ("index", "baseline", "candidate"):
                w.add_column(col, justify="right")
            for x in r["worst_regressions"]:
                w.add_row(str(x["index"]), fmt(x["baseline"]), fmt(x["candidate"]))
            out.append(w)
    return out


def _compare_junit(payload: dict) -> str:
    cases = []
    for r in payload["results"]:
        gate = r.get("gate")
        failed = gate is not None and not gate["passed"]
        msg = (f"{r['loss']}: candidate {r['candidate']!r} vs baseline {r['baseline']!r}, change {r['change']!r}, "
               f"{100 * r['bootstrap']['confidence']:g}% CI {r['bootstrap']['interval']}, allowed "
               f"{gate['allowed_increase'] if gate else None!r}")
        cases.append({"classname": "losscli.compare", "name": r["loss"],
                      "failure": (msg, json.dumps(r, allow_nan=False)) if failed else None, "output": msg})
    return junit_xml("compare", cases)


def _compare_markdown(payload: dict) -> str:
    rows = []
    for r in payload["results"]:
        lo, hi = r["bootstrap"]["interval"]
        gate = "" if "gate" not in r else ("✅" if r["gate"]["passed"] else "❌")
        rows.append([f"`{r['loss']}`", fmt(r["baseline"], 8), fmt(r["candidate"], 8), fmt(r["change"], 4),
                     _pct(r["relative_change"]), f"{100 * r['better']:.1f}% / {100 * r['worse']:.1f}%",
                     f"[{fmt(lo, 4)}, {fmt(hi, 4)}]", gate])
    return markdown_table(["loss", "baseline", "candidate", "change", "relative", "better / worse",
                           f"{100 * payload['results'][0]['bootstrap']['confidence']:g}% CI", "gate"], rows)


COMPARE_FORMATS = {
    "table": compare_tables,
    "json": dump_json,
    "junit": _compare_junit,
    "markdown": _compare_markdown,
}


def check_tables(payload: dict) -> list:
    from rich.table import Table

    t = Table(title=f"gates from {payload['config']}", title_justify="left")
    for col in ("gate", "loss", "value", "checks", "status"):
        t.add_column(col, justify="right" if col == "value" else "left")
    for g in payload["gates"]:
        checks = "; ".join(f"{c['check']} {'ok' if c['passed'] else 'FAILED'}" for c in g["checks"])
        t.add_row(g["gate"], g["loss"], fmt(g["value"], 8), checks, "PASS" if g["passed"] else "FAIL")
    return [t]


def _check_junit(payload: dict) -> str:
    cases = []
    for g in payload["gates"]:
        failed = [c["check"] for c in g["checks"] if not c["passed"]]
        msg = f"{g['loss']} = {g['value']!r}; failed: {', '.join(failed)}" if failed else None
        cases.append({"classname": "losscli.check", "name": g["gate"],
                      "failure": (msg, json.dumps(g, allow_nan=False)) if failed else None,
                      "output": f"{g['loss']} = {g['value']!r}"})
    return junit_xml("check", cases)


def _check_markdown(payload: dict) -> str:
    rows = [[g["gate"], f"`{g['loss']}`", fmt(g["value"], 8),
             "<br>".join(f"{'✅' if c['passed'] else '❌'} {c['check']}" for c in g["checks"])]
            for g in payload["gates"]]
    return markdown_table(["gate", "loss", "value", "checks"], rows)


CHECK_FORMATS = {
    "table": check_tables,
    "json": dump_json,
    "junit": _check_junit,
    "markdown": _check_markdown,
}


def _gradcheck_junit(payload: dict) -> str:
    cases = []
    for r in payload["results"]:
        worst = "\n".join(f"{w['role']}{tuple(w['index'])}: analytic {w['analytic']!r} numeric {w['numeric']!r} "
                          f"rel {w['rel_error']!r} {w['status']}" for w in r["worst"])
        msg = (f"{r['loss']}: {r['failures']} of {r['checked']} elements fail; max rel error "
               f"{r['max_rel_error']!r}")
        cases.append({"classname": "losscli.gradcheck", "name": r["loss"],
                      "failure": (msg, worst) if not r["passed"] else None,
                      "output": f"checked {r['checked']} elements with {r['evaluations']} evaluations"})
    return junit_xml("gradcheck", cases)


def _gradcheck_markdown(payload: dict) -> str:
    rows = [[f"`{r['loss']}`", f"{r['checked']}/{r['elements']}", r["evaluations"], fmt(r["max_abs_error"], 3),
             fmt(r["max_rel_error"], 3), r["kinks"], "✅" if r["passed"] else "❌"] for r in payload["results"]]
    return markdown_table(["loss", "checked", "evaluations", "max abs err", "max rel err", "kinks", "status"], rows)


GRADCHECK_FORMATS["junit"] = _gradcheck_junit
GRADCHECK_FORMATS["markdown"] = _gradcheck_markdown


# -- plot / fit ---------------------------------------------------------------------------------------
def _plot_csv(data: dict) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["series", "loss", "x", "loss_value", "derivative"])
    for s in data["series"]:
        deriv = s["derivative"] or [None] * len(s["x"])
        for x, v, g in zip(s["x"], s["loss_values"], deriv):
            w.writerow([s["label"], s["loss"], repr(x), _csv_num(v), "" if g is None else _csv_num(g)])
    return buf.getvalue()


def _plot_json(data: dict) -> str:
    clean = {**data, "series": [{**s, "loss_values": [number(v) for v in s["loss_values"]],
                                 "derivative": None if s["derivative"] is None else [number(v) for v in s["derivative"]]}
                                for s in data["series"]]}
    return json.dumps(clean, indent=1, allow_nan=False) + "\n"


def _plot_terminal(data: dict) -> str:
    from .plot import terminal_chart

    return terminal_chart(data)


PLOT_FORMATS = {"terminal": _plot_terminal, "csv": _plot_csv, "json": _plot_json}


def fit_tables(payload: dict) -> list:
    from rich.markup import escape
    from rich.table import Table
    from rich.text import Text

    t = Table(title=f"fit: {payload['loss']}, {payload['epochs']} epochs, {payload['schedule']} lr {payload['lr']:g}",
              title_justify="left")
    t.add_column("parameter")
    t.add_column("value", justify="right")
    for name, c in zip(payload["features"], payload["coef"]):
        t.add_row(escape(f"coef[{name}]"), ", ".join(f"{v:.8g}" for v in c) if isinstance(c, list) else f"{c:.8g}")
    icpt = payload["intercept"]
    t.add_row("intercept", ", ".join(f"{v:.8g}" for v in icpt) if isinstance(icpt, list) else f"{icpt:.8g}")
    t.add_row("final loss", f"{payload['final_loss']:.10g}")
    from .plot import terminal_chart

    h = payload["history"]
    chart = terminal_chart({"axis": "epoch", "series": [{
        "label": payload["loss"], "x": [e["epoch"] for e in h], "loss_values": [e["risk"] + e["penalty"] for e in h],
        "derivative": [e["lr"] for e in h]}]}, height=16, titles=("loss", "learning rate"), color=False)
    return [t, Text(chart)]


def _fit_csv(payload: dict) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["epoch", "lr", "risk", "penalty", "objective"])
    for e in payload["history"]:
        w.writerow([e["epoch"], repr(e["lr"]), repr(e["risk"]), repr(e["penalty"]), repr(e["risk"] + e["penalty"])])
    return buf.getvalue()


FIT_FORMATS = {
    "table": fit_tables,
    "json": dump_json,
    "csv": _fit_csv,
}
