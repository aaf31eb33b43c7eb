"""GitHub-flavoured Markdown tables (a CI job summary)."""

from __future__ import annotations

import re

from ..stats.accumulator import STAT_KEYS
from .values import (check_text, exact, fmt, judged, judged_change, judged_interval, params_text,
                     slice_verdict)


#: characters Markdown would read as table cells, HTML or emphasis, escaped in every cell
_MARKUP = re.compile(r"[|<>*_`\\\[\]]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class Md(str):
    """Markdown written here on purpose (a code span, a line break): a table cell keeps it as is."""


def escape(text) -> str:
    """Text as one line of literal Markdown: its markup characters escaped."""
    escaped = _MARKUP.sub(lambda m: "\\" + m.group(), " ".join(str(text).split()))
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", escaped)


def code(name: str) -> Md:
    return Md(f"`{name}`" if "`" not in name else escape(name))


def markdown_table(header: list[str], rows: list[list]) -> str:
    def cell(v) -> str:
        return v if isinstance(v, Md) else escape(v)

    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def compute(payload: dict, context: dict) -> str:
    gated = any("gate" in r for r in payload["results"])  # --fail-above: each loss's verdict
    rows = [[code(r["loss"]), exact(r["value"]) if gated and r["gate"]["passed"] is False else fmt(r["value"], 10),
             r["reduction"], params_text(r["params"]), r["count"],
             *(fmt(r["stats"][k]) for k in STAT_KEYS), *([_mark(r["gate"]["passed"])] if gated else [])]
            for r in payload["results"]]
    limit = f"≤ {exact(context['fail_above'])}" if gated else ""
    out = markdown_table(["loss", "value", "reduction", "params", "N", *STAT_KEYS,
                          *([escape(f"gate (--fail-above: {limit})")] if gated else [])], rows)
    for r in payload["results"]:
        if "slices" in r:
            out += "\n" + _slices(r["loss"], r["slices"], payload["by"], ["value", "p50", "p90", "max"],
                                   lambda s: [fmt(s["value"], 10), *(fmt(s["stats"][k]) for k in ("p50", "p90", "max"))])
    return out


def _mark(passed: bool) -> str:
    return "✅" if passed else "❌"


def _slices(loss: str, slices: list[dict], by: dict, header: list[str], cells) -> str:
    """One table of slices: key, N, ``cells(slice)``, and its gate when it has one."""
    gated = any("passed" in s or "gate" in s for s in slices)
    rows = []
    for s in slices:
        verdict = slice_verdict(s)
        mark = "" if verdict["passed"] is None else "⚠️ undecided" if "undecided" in verdict else \
            "✅" if verdict["passed"] else "❌"
        rows.append([*(s["key"][c] for c in by["columns"]), f"{s['count']:,}" + ("" if s["ranked"] else " (not ranked)"),
                     *cells(s), *([mark] if gated else [])])
    return f"{code(loss)} by {escape(', '.join(by['columns']))}\n\n" + markdown_table(
        [*(escape(c) for c in by["columns"]), "N", *header, *(["gate"] if gated else [])], rows)


def compare(payload: dict) -> str:
    rows = []
    for r in payload["results"]:
        gate = "" if "gate" not in r else "⚠️ undecided" if "undecided" in r["gate"] else \
            ("✅" if r["gate"]["passed"] else "❌")
        rows.append([code(r["loss"]), fmt(r["baseline"], 8), fmt(r["candidate"], 8), *judged_change(r),
                     f"{100 * r['better']:.1f}% / {100 * r['worse']:.1f}%",
                     judged_interval(r), gate])
    out = markdown_table(["loss", "baseline", "candidate", "change", "relative", "better / worse",
                          f"{100 * payload['results'][0]['bootstrap']['confidence']:g}% CI", "gate"], rows)
    for r in payload["results"]:
        if "slices" in r:
            out += "\n" + _slices(r["loss"], r["slices"], payload["by"], ["baseline", "candidate", "change", "CI"],
                                   lambda s: [fmt(s["baseline"], 8), fmt(s["candidate"], 8), judged_change(s)[0],
                                              judged_interval(s)])
    return out


def check(payload: dict) -> str:
    rows = [[g["gate"], code(g["loss"]), judged(g["value"], g.get("checks", [])),
             Md(f"⚠️ error: {escape(g['error'])}" if "error" in g else
                "<br>".join(f"{'⚠️' if c.get('undecided') else '✅' if c['passed'] else '❌'} {escape(check_text(c))}"
                            for c in g["checks"]))]
            for g in payload["gates"]]
    out = markdown_table(["gate", "loss", "value", "checks"], rows)
    for g in payload["gates"]:  # each gate's slices, the failed ones among them (as the table and JUnit name them)
        if g.get("slices"):
            out += f"\n{escape(g['gate'])}: " + _slices(g["loss"], g["slices"], g["by"], ["value"],
                                                       lambda s: [fmt(s["value"], 10)])
    return out


def gradcheck(payload: dict) -> str:
    """The summary table (a verdict and counts per loss, how far apart analytic and numeric are),
    then for every loss that failed, has kinks or undecided elements: why, and its worst elements
    with their numbers, one-sided slopes and reasons."""
    from ..gradcheck.record import reasons, verdict
    from .table import gradcheck_element_cells

    mark = {"PASS": "✅ PASS", "FAIL": "❌ FAIL", "inconclusive": "⚠️ inconclusive"}
    rows = [[code(r["loss"]), mark[r.get("verdict") or verdict(r)], f"{r['checked']}/{r['elements']}", r["failures"],
             r.get("inconclusive", 0), r["kinks"], fmt(r.get("max_rel_difference"), 3),
             fmt(r.get("max_error_ratio"), 3), r["evaluations"]] for r in payload["results"]]
    out = markdown_table(["loss", "verdict", "checked", "FAIL", "inconclusive", "kinks", "max rel diff",
                          "max diff/bound", "evaluations"], rows)
    for r in payload["results"]:
        said = r.get("verdict") or verdict(r)
        if said == "PASS" and not r["kinks"] and not r.get("inconclusive"):
            continue  # (an inconclusive verdict with nothing undecided, "nothing verified", says why too)
        why = r.get("reasons") or reasons(r)
        out += f"\n{code(r['loss'])}: {escape(said)}\n\n"
        out += "".join(f"- {escape(line)}\n" for line in [*why, *(f"note: {n}" for n in r["notes"])])
        if r["worst"]:
            out += "\n" + markdown_table(
                ["role", "index", "status", "analytic", "numeric", "diff", "rel diff", "bound", "diff/bound",
                 "one-sided slopes", "reason"],
                [[w["role"], str(tuple(w["index"])), w["status"], *gradcheck_element_cells(w)] for w in r["worst"]])
    return out
