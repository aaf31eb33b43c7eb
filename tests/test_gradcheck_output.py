"""What a researcher sees of a gradient check: which element is wrong, by how much (plainly and
in units of the numeric error bound) and why each verdict was given, in the table, Markdown,
JUnit and JSON; kinks reported as kinks (with their one-sided slopes), never as an error of 1;
tables whole at any width, and no escape codes where colour is off."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from losscli.render.values import fmt

from .terminal import ESCAPE, in_terminal, screen_lines

ROOT = Path(__file__).parent.parent
PLUGIN = ROOT / "examples" / "my_losses.py"
CAUCHY = ["--plugin", PLUGIN, "gradcheck", "cauchy", "--dim", "1"]  # a factor 2 too many in its gradient: 8 of 8 fail


@pytest.fixture
def at_kinks(tmp_path):
    """Files that put hinge on its margin (y·s = 1, twice) and huber on ±delta (twice)."""
    np.save(tmp_path / "s.npy", np.array([1.0, -1.0, 3.0]))
    np.save(tmp_path / "y.npy", np.array([1.0, -1.0, 1.0]))
    np.save(tmp_path / "p.npy", np.array([1.0, -1.0, 0.4, 0.2]))
    np.save(tmp_path / "t.npy", np.zeros(4))
    return {"hinge": ["gradcheck", "hinge", tmp_path / "s.npy", tmp_path / "y.npy"],
            "huber": ["gradcheck", "huber", tmp_path / "p.npy", tmp_path / "t.npy"]}


def _json(run, *args) -> dict:
    out = run(*args, "--format", "json")
    assert out.exit_code in (0, 1), out.stderr
    return json.loads(out.stdout)["results"][0]


def _table(text: str, title: str) -> list[dict]:
    """The rows of the ASCII table printed under the line ``title`` as {header: cell}, the parts
    of a table split for the width (titled ``title (...)``) merged back."""
    lines = text.splitlines()
    rows: list[dict] = []
    for start in [i for i, line in enumerate(lines) if line == title or line.startswith(title + " (")]:
        header, part = None, []
        for line in lines[start + 1:]:
            if not line.startswith(("|", "+")):
                break
            if line.startswith(("|-", "+")):
                continue
            cells = [c.strip() for c in line.strip("|").split("|")]
            if header is None:
                header = cells
            elif part and not cells[0]:  # a wrapped cell's next line
                part[-1] = {k: f"{v} {c}".strip() for (k, v), c in zip(part[-1].items(), cells)}
            else:
                part.append(dict(zip(header, cells)))
        rows = part if not rows else [{**a, **b} for a, b in zip(rows, part)]
    assert rows, (title, text)
    return rows


# -- the table -------------------------------------------------------------------------------------
def test_the_failure_count_is_the_elements_that_fail(run, tmp_path):
    """cauchy at d = 0 has gradient 0 however wrong the factor: 3 of the 4 elements fail."""
    np.save(tmp_path / "p.npy", np.array([0.0, 0.5, 1.0, 2.0]))
    np.save(tmp_path / "t.npy", np.zeros(4))
    out = run(*CAUCHY, tmp_path / "p.npy", tmp_path / "t.npy")
    assert out.exit_code == 1
    [summary] = _table(out.stdout, "Gradient check")
    assert (summary["verdict"], summary["checked"], summary["FAIL"]) == ("FAIL", "4/4", "3")
    rows = _table(out.stdout, "cauchy: worst elements")
    assert sorted((r["index"], r["status"]) for r in rows) == [("(0,)", "ok"), ("(1,)", "FAIL"), ("(2,)", "FAIL"),
                                                                ("(3,)", "FAIL")]


def test_a_failing_loss_shows_its_failure_count_and_the_bad_elements_by_how_much(run):
    rec = _json(run, *CAUCHY)
    out = run(*CAUCHY)
    assert out.exit_code == 1
    [summary] = _table(out.stdout, "Gradient check")
    assert (summary["loss"], summary["verdict"], summary["checked"], summary["FAIL"]) == ("cauchy", "FAIL", "8/8", "8")
    assert summary["max rel diff"] == "0.5" == fmt(rec["max_rel_difference"], 3)
    assert summary["max diff/bound"] == fmt(rec["max_error_ratio"], 3) and rec["max_error_ratio"] > 1e6
    assert (summary["inconclusive"], summary["kinks"], summary["below noise"]) == ("0", "0", "0")
    assert "cauchy: FAIL: 8 of 8 elements fail: analytic and numeric differ by up to 0.5 relative" in \
        " ".join(out.stdout.split())
    worst = _table(out.stdout, "cauchy: worst elements")
    assert len(worst) == len(rec["worst"]) == 8
    for row, w in zip(worst, rec["worst"]):
        assert (row["index"], row["status"]) == (str(tuple(w["index"])), "FAIL")
        assert (row["analytic"], row["numeric"]) == (fmt(w["analytic"], 8), fmt(w["numeric"], 8))
        assert row["diff"] == fmt(abs(w["analytic"] - w["numeric"]), 3) and row["rel diff"] == "0.5"
        assert w["analytic"] == pytest.approx(2 * w["numeric"])  # the planted factor 2, there to see


def test_a_passing_loss_with_kinks_shows_no_error_of_1(run, at_kinks):
    """hinge on its margin: the central difference there is half a slope, a relative error of 1
    by the old measure; the verdict rests on the verified elements, the kinks are apart."""
    rec = _json(run, *at_kinks["hinge"])
    # (max_rel_error, the older key, is now the same plain measure over the judged elements)
    assert rec["passed"] and rec["kinks"] == 2 and rec["max_rel_error"] == rec["max_rel_difference"] == 0.0
    assert rec["max_rel_difference"] == 0 and rec["max_error_ratio"] == 0
    out = run(*at_kinks["hinge"])
    assert out.exit_code == 0
    [summary] = _table(out.stdout, "Gradient check")
    assert (summary["verdict"], summary["FAIL"], summary["max rel diff"], summary["max diff/bound"]) == \
        ("PASS", "0", "0", "0")
    assert summary["kinks"] == "2"
    kinks = [r for r in _table(out.stdout, "hinge: worst elements") if r["status"] == "kink"]
    assert len(kinks) == 2 and all(r["diff"] == r["rel diff"] == "-" for r in kinks)
    assert "2 at kinks with a valid subgradient" in " ".join(out.stdout.split())


def test_kink_brackets_in_the_table_markdown_and_junit(run, at_kinks):
    rec = _json(run, *at_kinks["huber"])
    kinks = [w for w in rec["worst"] if w["status"] == "kink"]
    assert [w["index"] for w in kinks] == [[0], [1]]
    brackets = [f"[{fmt(w['left_slope'], 8)}, {fmt(w['right_slope'], 8)}]" for w in kinks]
    assert brackets[0].endswith(", 1]") and brackets[1].startswith("[-1, ")  # huber's slopes at ±delta
    table = run(*at_kinks["huber"])
    assert table.exit_code == 0 and all(b in table.stdout for b in brackets)
    md = run(*at_kinks["huber"], "--format", "markdown").stdout
    assert all(b.replace("[", "\\[").replace("]", "\\]") in md for b in brackets)
    system_out = ET.fromstring(run(*at_kinks["huber"], "--format", "junit").stdout).find(".//system-out").text
    assert "predictions(0,) kink:" in system_out and "one-sided slopes [" in system_out


# -- Markdown, JUnit, JSON --------------------------------------------------------------------------
def test_markdown_lists_the_failing_elements_under_the_summary(run):
    rec = _json(run, *CAUCHY, "--top", "3")
    md = run(*CAUCHY, "--top", "3", "--format", "markdown").stdout
    lines = md.splitlines()
    assert lines[0] == ("| loss | verdict | checked | FAIL | inconclusive | kinks | max rel diff | max diff/bound "
                        "| evaluations |")
    assert lines[2].startswith("| `cauchy` | ❌ FAIL | 8/8 | 8 | 0 | 0 | 0.5 | ")
    assert "- 8 of 8 elements fail: analytic and numeric differ by up to 0.5 relative" in md
    assert "- Taylor remainder order for predictions: 1.00 (2 = right, 1 = wrong)" in md
    head = lines.index("| role | index | status | analytic | numeric | diff | rel diff | bound | diff/bound "
                       "| one-sided slopes | reason |")
    rows = [line.strip("|").split(" | ") for line in lines[head + 2:head + 5]]
    assert len(rows) == 3 == len(rec["worst"])
    for row, w in zip(rows, rec["worst"]):
        assert [c.strip() for c in row[:7]] == ["predictions", str(tuple(w["index"])), "FAIL", fmt(w["analytic"], 8),
                                                fmt(w["numeric"], 8), fmt(w["abs_error"], 3), "0.5"]
        assert row[7].strip() == fmt(w["error_estimate"], 3) and "times the numeric error bound apart" in row[10]


def test_junit_failure_carries_every_listed_element(run):
    rec = _json(run, *CAUCHY, "--top", "4")
    case = ET.fromstring(run(*CAUCHY, "--top", "4", "--format", "junit").stdout).find(".//testcase")
    failure = case.find("failure")
    assert failure.get("message").startswith("cauchy: FAIL: 8 of 8 elements fail: analytic and numeric differ")
    lines = failure.text.splitlines()
    assert len(lines) == 4
    for line, w in zip(lines, rec["worst"]):
        assert line.startswith(f"predictions{tuple(w['index'])} FAIL: analytic {w['analytic']!r} "
                               f"numeric {w['numeric']!r} diff {w['abs_error']!r}")
        assert f"bound {w['error_estimate']!r}" in line and "one-sided slopes [" in line


def test_json_adds_plain_differences_verdicts_and_reasons_and_keeps_the_old_keys(run):
    rec = _json(run, *CAUCHY)
    assert rec["max_rel_error"] == pytest.approx(0.5) and rec["failures"] == 8  # old keys
    assert rec["verdict"] == "FAIL" and rec["inconclusive"] == 0 and rec["verified"] == 0
    assert rec["max_rel_difference"] == pytest.approx(0.5) and rec["max_difference"] == rec["max_abs_error"]
    assert rec["declared_coupling"] == "elementwise"
    assert rec["reasons"][1] == "Taylor remainder order for predictions: 1.00 (2 = right, 1 = wrong)"
    for w in rec["worst"]:
        assert w["rel_difference"] == pytest.approx(abs(w["analytic"] - w["numeric"]) / abs(w["analytic"]))
        assert w["error_ratio"] == pytest.approx(w["abs_error"] / w["error_estimate"])
        assert w["reason"].endswith(f": {w['error_ratio']:.3g} times the numeric error bound apart")


def test_precision_and_measured_coupling_are_shown_when_they_differ(run, monkeypatch):
    """The checker reports the precision a loss computes in and the coupling it measured: the
    table says so in a line under the loss when they are not float64 and the declaration."""
    import losscli.commands.gradcheck as command

    real = command.check_loss

    def check(*args, **kw):
        r = real(*args, **kw)
        r.precision, r.couplings, r.noise = "float32", {"predictions": "batch"}, {"predictions": 3e-8}
        return r

    monkeypatch.setattr(command, "check_loss", check)
    rec = _json(run, "gradcheck", "mse")
    assert (rec["precision"], rec["couplings"], rec["noise"]) == ("float32", {"predictions": "batch"},
                                                                 {"predictions": 3e-8})
    text = " ".join(run("gradcheck", "mse").stdout.split())
    assert "mse: computes in float32 (not float64)" in text
    assert "mse: predictions is batch-coupled as measured (declared elementwise)" in text
    monkeypatch.setattr(command, "check_loss", real)
    plain = " ".join(run("gradcheck", "mse").stdout.split())
    assert "computes in" not in plain and "coupled as measured" not in plain


# -- any width, no escape codes ---------------------------------------------------------------------
def _shown_values(rec: dict) -> list[str]:
    """Every verdict, count and number the table must show whole."""
    values = [rec["verdict"], f"{rec['checked']}/{rec['elements']}", fmt(rec["max_rel_difference"], 3),
              fmt(rec["max_error_ratio"], 3)]
    for w in rec["worst"]:
        values += [w["status"], fmt(w["analytic"], 8), fmt(w["numeric"], 8), fmt(w["error_estimate"], 3)]
        if w["status"] == "kink":
            values.append(f"[{fmt(w['left_slope'], 8)}, {fmt(w['right_slope'], 8)}]")
    return values


@pytest.mark.parametrize("columns", [60, 80, 120, 200])
@pytest.mark.parametrize("case", ["cauchy", "hinge", "huber"])
def test_gradcheck_tables_are_whole_at_any_width(run, at_kinks, case, columns):
    args = [str(a) for a in (CAUCHY if case == "cauchy" else at_kinks[case])]
    rec = _json(run, *args)
    code, seen, err = in_terminal(args, columns)
    assert code == (1 if case == "cauchy" else 0), err
    lines = screen_lines(seen)
    assert "…" not in seen and "..." not in seen
    assert max(len(line) for line in lines) <= columns
    shown = "\n".join(lines)
    for value in _shown_values(rec):
        assert value in shown, (value, columns, shown)
    if case == "cauchy" and "Gradient check: loss=cauchy" in lines:  # (narrow: one small table per loss)
        fields = {c[0]: c[1] for line in lines if len(c := [x.strip() for x in line.strip("│").split("│")]) == 2}
        assert [fields["verdict"], fields["checked"], fields["FAIL"]] == ["FAIL", "8/8", "8"], seen
    elif case == "cauchy":  # the verdict and the FAIL count beside the loss, in the first table
        row = next(line for line in lines if line.startswith("│ cauchy"))
        assert [c.strip() for c in row.strip("│").split("│")][:4] == ["cauchy", "FAIL", "8/8", "8"], row


def test_no_escape_codes_with_no_color_or_in_a_pipe(run, at_kinks):
    code, seen, _ = in_terminal([str(a) for a in CAUCHY], 80, env={"NO_COLOR": "1"})
    assert code == 1 and not ESCAPE.search(seen) and "8/8" in seen
    for args in (CAUCHY, at_kinks["huber"]):
        piped = run(*args)
        assert not ESCAPE.search(piped.stdout) and "\x1b" not in piped.stdout
        assert set("┏┃━").isdisjoint(piped.stdout)  # ASCII rules off a terminal


def test_markdown_says_why_a_check_that_verified_nothing_is_inconclusive(run):
    """An inconclusive verdict with no undecided element ("nothing verified": every element below the
    noise) printed only its summary row in Markdown, without the reason the table, JSON and JUnit give
    (review 61 F5)."""
    out = run("gradcheck", "exponential", "--samples", "2", "--seed", "0", "--format", "markdown")
    assert "⚠️ inconclusive" in out.stdout
    assert "`exponential`: inconclusive\n\n- nothing verified: all 2 elements lie below the numeric noise" in out.stdout
