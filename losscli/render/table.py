"""Human output: rich tables, one function per command (``--format table``, ``info``'s text)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from ..exits import printable
from ..stats.accumulator import STAT_KEYS
from ..vocabulary import PER_SAMPLE_ROWS
from .sheet import Column, Sheet
from .values import (check_text, exact, fmt, interval_text, judged, judged_change, judged_interval, key_text, key_value,
                     param_value, params_text, said, slice_verdict)

if TYPE_CHECKING:
    from rich.console import RenderableType

    from ..loss import Loss


def _cell_text(values: np.ndarray, limit: int = 4) -> str:
    flat = np.ravel(values)
    shown = ", ".join(f"{v:.4g}" for v in flat[:limit])
    if flat.size == 1:
        return shown
    return f"[{shown}{', …' if flat.size > limit else ''}]"


def input_lines(payload: dict) -> list:
    """One dim line per input: its roles, the columns read, what was left out (not text) and the
    key rows were paired by."""
    from rich.text import Text

    out = []
    for rec in payload.get("inputs", []):
        where = rec["path"] + (f":{rec['selector']}" if rec["selector"] else "")
        used = f"columns {', '.join(rec['columns'])}" if rec.get("columns") else "the array"
        left = [f"{n} ({why.split(' (')[0]})" for n, why in rec.get("skipped", {}).items()
                if why not in ("text", "the --on key")]
        line = f"{', '.join(rec['roles']) or 'input'}: {where}, {used}, {rec['rows']:,} rows"
        if rec.get("on"):
            line += f", matched on {rec['on']}"
        if left:
            line += f"; not data: {', '.join(left)}"
        out.append(Text(printable(line), style="dim"))
    return out


def compute_tables(payload: dict, context: dict) -> list:
    out: list[RenderableType] = []
    penalised = any("objective" in r for r in payload["results"])
    with_ci = any("ci" in r for r in payload["results"])
    gated = any("gate" in r for r in payload["results"])  # --fail-above
    # the verdict, the value and its interval first: a narrow terminal moves the rest to more tables
    columns = [Column("loss", "left", key=True), *([Column("gate", "left")] if gated else []), Column("value"),
               *([Column("CI")] if with_ci else []), Column("N"), Column("reduction", "left"),
               Column("params", "left", wrap=True)]
    if penalised:
        columns += [Column("penalty"), Column("objective")]
    columns += [Column(k, group="statistics") for k in STAT_KEYS]
    summary = Sheet("Loss", columns)
    for rec in payload["results"]:
        n = str(rec["count"]) + (f" ({rec['omitted']} omitted)" if rec["omitted"] else "")
        extra: tuple[str, ...] = (fmt(rec["penalty"]["value"], 10), fmt(rec["objective"], 10)) if penalised else ()
        interval: tuple[str, ...] = ()
        if with_ci:
            interval = (_with_confidence(interval_text(rec["ci"]["interval"]), rec["ci"]["confidence"]),)
        value = exact(rec["value"]) if gated and rec.get("gate", {}).get("passed") is False else fmt(rec["value"], 10)
        summary.add_row(rec["loss"], *([status(rec["gate"])] if gated else []), value, *interval,
                        n, rec["reduction"], params_text(rec["params"]), *extra,
                        *(fmt(rec["stats"][k]) for k in STAT_KEYS))
    out.append(summary)
    inputs = context.get("inputs", {})
    for rec in payload["results"]:
        if not rec["worst"]:
            continue
        roles = inputs.get(rec["loss"], {})
        keyed = "key" in rec["worst"][0]  # --on: the key of each row
        t = Sheet(f"{rec['loss']}: worst {len(rec['worst'])} samples",
                  [Column("rank", key=True), Column("index"), *([Column("key")] if keyed else []), Column("loss"),
                   *(Column(role, "left", group="inputs") for role in roles)])
        for rank, w in enumerate(rec["worst"], 1):
            t.add_row(str(rank), str(w["index"]), *([str(w["key"])] if keyed else []), fmt(w["loss"]),
                      *(_cell_text(np.asarray(a[rank - 1])) for a in roles.values()))
        out.append(t)
    if any("per_sample" in r for r in payload["results"]):
        out += per_sample_table(payload, context)
    for rec in payload["results"]:
        if "slices" in rec:
            out += slice_table(rec["loss"], rec["slices"], rec["slice_counts"], payload["by"],
                               [("value", 10, _slice_value),
                                *(((k, 6, lambda s, k=k: s["stats"][k]) for k in ("p50", "p90", "max")))],
                               ci="ci" in rec)
    rooted = [r["loss"] for r in payload["results"] if r.get("root")]
    if rooted:
        from rich.text import Text

        out.append(Text(f"{', '.join(rooted)}: the statistics and the samples' losses are of the term under the root "
                        "(squared errors); the value is the root of their reduction", style="dim"))
    if "gradient_file" in context:
        from rich.text import Text

        out.append(Text(printable(f"gradients written to {context['gradient_file']}")))
    return out + input_lines(payload)


def per_sample_table(payload: dict, context: dict) -> list:
    """``--per-sample`` in a table: the first ``PER_SAMPLE_ROWS`` samples in row order, every loss a
    column, and a line saying how many more there are and how to get them all."""
    from rich.text import Text

    cols = [r for r in payload["results"] if "per_sample" in r]
    total = len(cols[0]["per_sample"])
    shown = min(total, PER_SAMPLE_ROWS)
    rows, keys = cols[0]["per_sample_index"], cols[0].get("per_sample_key")  # (keys: with --on)
    t = Sheet(f"per-sample losses (the first {shown:,} of {total:,} rows)" if shown < total else "per-sample losses",
              [Column("index", key=True), *([Column("key")] if keys else []), *(Column(r["loss"]) for r in cols)])
    for i in range(shown):
        t.add_row(str(rows[i]), *([str(keys[i])] if keys else []), *(fmt(r["per_sample"][i]) for r in cols))
    out: list = [t]
    if shown < total:
        out.append(Text(f"{total - shown:,} more samples not shown (in row order, each row beside its neighbours; "
                        "the worst are in the tables above, --top K for more): --format csv (or json, ndjson) "
                        "--per-sample lists every one", style="dim"))
    return out


def status(record: dict | None) -> str:
    """A verdict's cell: PASS, FAIL, ERROR for a gate that could not be evaluated, undecided for a
    --significant one of too few samples (not tripped), - for none."""
    if record is not None and "error" in record:
        return "ERROR"
    if record is not None and "undecided" in record:
        return "undecided"
    if record is None or record.get("passed") is None:
        return "-"
    return "PASS" if record["passed"] else "FAIL"


def _slice_value(s: dict) -> float:
    """A slice's value for the table: its mean with --reduction none, NaN where every weight is 0
    (the JSON's null and note: the unweighted mean stood there)."""
    if s["value"] is not None:
        return s["value"]
    return math.nan if "note" in s else s["stats"]["mean"]


def slice_table(loss: str, slices: list[dict], counts: dict, by: dict, columns: list, ci: bool = False,
                title: str = "") -> list:
    """One row per slice listed: its key, its row count and ``columns`` ((name, digits, value of
    a slice record)); slices too small to rank are dim; a line says what is not listed."""
    from rich.text import Text

    names = by["columns"]
    gated = any("passed" in s or "gate" in s for s in slices)
    t = Sheet(title or f"{loss} by {', '.join(names)}",
              [*(Column(n, "left", key=True) for n in names), *([Column("gate", "left")] if gated else []),
               Column("N"), *(Column(name) for name, _, _ in columns), *([Column("CI")] if ci else [])])
    for s in slices:
        cells = [key_value(s["key"][n]) for n in names]
        if gated:
            cells.append(status(slice_verdict(s)))
        cells += [f"{s['count']:,}"] + [v if isinstance(v := get(s), str) else fmt(v, d) for _, d, get in columns]
        if ci:  # (compute's --ci, or a comparison's interval: judged_interval)
            cells.append(interval_text(s["ci"]) if s.get("ci") else judged_interval(s))
        t.add_row(*cells, style=None if s["ranked"] else "dim")
    out: list = [t]
    notes = []
    if counts["small"]:
        # (a slice listed with a note has rows but no sample: weights of 0, labels ignored, rows dropped)
        empty = " or no sample" if any("note" in s for s in slices) else ""
        notes.append(f"{counts['small']:,} slice{'s' if counts['small'] != 1 else ''} of fewer than "
                     f"{by['min_slice_size']:,} rows{empty} (dim) not ranked")
    if counts["shown"] < counts["total"]:
        notes.append(f"{counts['total'] - counts['shown']:,} more not listed (--top-slices 0 lists all)")
    if notes:
        out.append(Text(printable("; ".join(notes)), style="dim"))
    return out


def _params_with_defaults(loss: Loss) -> str:
    return ", ".join(f"{k}={param_value(p.default)}" for k, p in loss.params.items()) or "-"


def list_table(losses: list[Loss]):
    t = Sheet(f"{len(losses)} losses", [Column("name", "left", key=True),
                                         *(Column(col, "left", wrap=True) for col in
                                           ("aliases", "category", "inputs", "parameters", "gradient"))])
    for l in losses:
        t.add_row(l.name, ", ".join(l.aliases) or "-", l.category, l.describe_inputs(),
                  _params_with_defaults(l), "yes" if l.has_gradient else "no")
    return [t]


def info_renderables(loss: Loss) -> list:
    from rich.text import Text

    from ..commands.catalogue import loss_record

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
    roles = Sheet("inputs (in order)", [Column("role", "left", key=True),
                                        *(Column(col, "left", wrap=True) for col in
                                          ("shape", "expects", "differentiable", "description"))])
    for i in rec["inputs"]:
        roles.add_row(i["name"] + (" (optional)" if i["optional"] else ""), i["shape"],
                      i["expects"], "yes" if i["differentiable"] else "no", i["description"])
    out = [head, roles]
    if loss.params:
        params = Sheet("parameters (-p NAME=VALUE)", [Column("name", "left", key=True),
                                                      *(Column(col, "left", wrap=True) for col in
                                                        ("default", "type", "help"))])
        for k, p in loss.params.items():
            params.add_row(k, param_value(p.default), p.describe(), p.help)
        out.append(params)
    tail = Text()
    if loss.matches:
        tail.append("matches:\n")
        for m in loss.matches:
            tail.append(f"  - {m}\n")
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


def _gradcheck_verdict(r: dict) -> str:
    """A loss's verdict cell: PASS, FAIL or inconclusive (passed, some elements undecided)."""
    from ..gradcheck.record import verdict

    return r.get("verdict") or verdict(r)


def _gradcheck_findings(r: dict) -> list[str]:
    """The lines under the summary for one loss: its verdict and why (unless every element was
    verified), what it was found to compute in and how it couples when that differs from float64
    and its declaration, then the passing checks and the notes."""
    from ..gradcheck.record import reasons

    name = r["loss"]
    why = r.get("reasons") or reasons(r)
    plain = _gradcheck_verdict(r) == "PASS" and not (r["kinks"] or r["below_noise"])  # (the row says it all)
    out = [] if plain else [f"{name}: {_gradcheck_verdict(r)}: {'; '.join(why)}"]
    if r.get("precision") not in (None, "float64"):
        out.append(f"{name}: computes in {r['precision']} (not float64)")
    declared = r.get("declared_coupling")
    for role, measured in (r.get("couplings") or {}).items():
        if declared and measured != declared:
            out.append(f"{name}: {role} is {measured}-coupled as measured (declared {declared})")
    for c in r["consistency"]:
        if c["passed"]:
            out.append(f"{name}: {c['check']}: residual {c['residual']:.3g} ok")
    for t in r["taylor"]:
        if t["passed"]:
            order = "-" if t["order"] is None else f"{t['order']:.2f}"
            out.append(f"{name}: Taylor remainder order for {t['role']}: {order} (2 = right, 1 = wrong)"
                       f"{' ' + t['note'] if t.get('note') else ''} ok")
    out += [f"{name}: note: {n}" for n in r["notes"]]
    return out


def gradcheck_tables(payload: dict) -> list:
    """The summary (a verdict, the element counts and how far apart analytic and numeric are,
    in plain relative terms and in units of the numeric error bound), why each verdict was
    given, and the worst elements of every loss that failed, has kinks or undecided elements."""
    from rich.text import Text

    summary = Sheet("Gradient check", [
        Column("loss", "left", key=True), Column("verdict", "left"), Column("checked"), Column("FAIL"),
        Column("max rel diff"), Column("max diff/bound"),
        *(Column(col, group="details") for col in ("inconclusive", "kinks", "below noise", "evaluations")),
        Column("inputs", "left", group="details", wrap=True)])
    out: list[RenderableType] = [summary]
    for r in payload["results"]:
        inputs = ", ".join(f"{k}{tuple(v)}" for k, v in r["inputs"].items())
        summary.add_row(r["loss"], _gradcheck_verdict(r), f"{r['checked']}/{r['elements']}", str(r["failures"]),
                        fmt(r.get("max_rel_difference"), 3), fmt(r.get("max_error_ratio"), 3),
                        str(r.get("inconclusive", 0)), str(r["kinks"]), str(r["below_noise"]), str(r["evaluations"]),
                        inputs)
    for r in payload["results"]:
        findings = _gradcheck_findings(r)
        if findings:
            out.append(Text("\n".join(printable(f) for f in findings)))
        if r["worst"] and (not r["passed"] or r["kinks"] or r.get("inconclusive")):
            t = Sheet(f"{r['loss']}: worst elements", [
                Column("role", "left", key=True), Column("index", "left", key=True), Column("status", "left"),
                *(Column(col) for col in ("analytic", "numeric", "diff", "rel diff")),
                *(Column(col, group="error bound") for col in ("bound", "diff/bound")),
                Column("one-sided slopes", "left", group="one-sided slopes"), Column("reason", "left", group="reason", wrap=True)])
            for w in r["worst"]:
                cells = gradcheck_element_cells(w)
                t.add_row(w["role"], str(tuple(w["index"])), w["status"], *cells)
            out.append(t)
    return out


def gradcheck_element_cells(w: dict) -> list[str]:
    """One listed element's cells after role, index and status: analytic, numeric, |a - n|, the
    relative difference, the numeric error bound, |a - n| / bound, the one-sided slopes (at a
    kink, a failure or an undecided element) and the reason. At a kink the central difference is
    no comparison (the analytic value is judged against the slopes): its differences show "-"."""
    from ..gradcheck.record import slopes_text

    kink = w["status"] == "kink"
    diff = None if kink or w["analytic"] is None or w["numeric"] is None else abs(w["analytic"] - w["numeric"])
    return [fmt(w["analytic"], 8), fmt(w["numeric"], 8), fmt(diff, 3),
            fmt(None if kink else w.get("rel_difference"), 3), fmt(w["error_estimate"], 3),
            fmt(None if kink else w.get("error_ratio"), 3),
            slopes_text(w) if w["status"] in ("kink", "FAIL", "inconclusive") else "-", w.get("reason") or "-"]


def compare_tables(payload: dict) -> list:
    t = Sheet(f"candidate {payload['candidate']} vs baseline {payload['baseline']}", [
        Column("loss", "left", key=True), Column("gate", "left"), Column("baseline"), Column("candidate"),
        Column("change"), Column("rel"), Column("CI of change"),
        *(Column(col, group="samples") for col in ("better", "worse", "equal"))])
    out: list = [t]
    for r in payload["results"]:
        gate = status(r.get("gate"))
        t.add_row(r["loss"], gate, fmt(r["baseline"], 8), fmt(r["candidate"], 8), *judged_change(r),
                  _with_confidence(judged_interval(r), r["bootstrap"]["confidence"]),
                  f"{100 * r['better']:.1f}%", f"{100 * r['worse']:.1f}%", f"{100 * r['equal']:.1f}%")
        if "slices" in r:
            out += slice_table(r["loss"], r["slices"], r["slice_counts"], payload["by"],
                               [("baseline", 6, lambda s: s["baseline"]), ("candidate", 6, lambda s: s["candidate"]),
                                ("change", 4, lambda s: judged_change(s)[0])], ci=True,
                               title=f"{r['loss']} by {', '.join(payload['by']['columns'])}, largest change first")
        if r["worst_regressions"]:
            keyed = "key" in r["worst_regressions"][0]  # --on: the key of each row
            w = Sheet(f"{r['loss']}: worst regressions", [Column("index", key=True), *([Column("key")] if keyed else []),
                                                           Column("baseline"), Column("candidate")])
            for x in r["worst_regressions"]:
                w.add_row(str(x["index"]), *([str(x["key"])] if keyed else []), fmt(x["baseline"]), fmt(x["candidate"]))
            out.append(w)
    sized = [r["loss"] for r in payload["results"] if r.get("change_of")]
    if sized:  # (a signed bias: worse when larger either way)
        from rich.text import Text

        out.append(Text(f"{', '.join(sized)}: change, rel, its interval and the shares are of the size |value| "
                        "(a bias either way is worse when larger)", style="dim"))
    return out + input_lines(payload)


def check_tables(payload: dict) -> list:
    t = Sheet(f"gates from {payload['config']}", [Column("gate", "left", key=True, wrap=True), Column("status", "left"),
                                                   Column("loss", "left"), Column("value"),
                                                   Column("checks", "left", wrap=True)])
    for g in payload["gates"]:
        checks = g.get("error") or "; ".join(f"{check_text(c)} {said(c)}" for c in g["checks"])
        t.add_row(g["gate"], status(g), g["loss"], judged(g["value"], g.get("checks", [])), checks)
    out: list = [t]
    failing = [(g, sl) for g in payload["gates"] for sl in g.get("slices", []) if sl.get("passed") is False]
    if failing:
        f = Sheet("slices that failed", [Column("gate", "left", key=True, wrap=True), Column("slice", "left", key=True),
                                         Column("N"), Column("value"), Column("failed checks", "left", wrap=True)])
        for g, sl in failing:
            f.add_row(g["gate"], key_text(sl["key"]), f"{sl['count']:,}", exact(sl["value"]),
                      "; ".join(check_text(c) for c in sl["checks"] if not c["passed"]))
        out.append(f)
    return out + input_lines(payload)


def fit_tables(payload: dict) -> list:

    t = Sheet(f"fit: {payload['loss']}, target {payload['target']}, {payload['epochs']} epochs, "
              f"{payload['schedule']} lr {payload['lr']:g}",
              [Column("parameter", "left", key=True), Column("value", wrap=True)])
    for name, c in zip(payload["features"], payload["coef"]):
        t.add_row(f"coef[{name}]", ", ".join(f"{v:.8g}" for v in c) if isinstance(c, list) else f"{c:.8g}")
    icpt = payload["intercept"]
    t.add_row("intercept", ", ".join(f"{v:.8g}" for v in icpt) if isinstance(icpt, list) else f"{icpt:.8g}")
    t.add_row("final loss", f"{payload['final_loss']:.10g}")
    from .chart import fit_chart

    return [t, fit_chart(payload)]


def _with_confidence(text: str, confidence: float) -> str:
    return text if text == "-" else f"{text} ({100 * confidence:g}%)"
