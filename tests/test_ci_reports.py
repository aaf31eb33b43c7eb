"""compare, check, JUnit and Markdown reports, and the structural-risk penalty, through the CLI."""

import json
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from .conftest import write_csv


@pytest.fixture
def models(tmp_path):
    rng = np.random.default_rng(0)
    n = 300
    t = rng.normal(size=n)
    base = t + rng.normal(0, 0.5, n)
    better = t + 0.5 * (base - t)  # strictly closer to the labels on every sample
    worse = t + 1.5 * (base - t)
    for name, v in (("labels", t), ("base", base), ("better", better), ("worse", worse)):
        write_csv(tmp_path / f"{name}.csv", [name], [[f"{x:.17g}"] for x in v])
    return tmp_path


def test_identical_files_give_zero_change_and_an_interval_containing_zero(run_json, models):
    d = run_json("compare", "mse,mae", models / "base.csv", models / "base.csv", models / "labels.csv")
    for r in d["results"]:
        assert r["change"] == 0 and r["equal"] == 1.0
        lo, hi = r["bootstrap"]["interval"]
        assert lo <= 0 <= hi


def test_strictly_better_candidate(run, models):
    result = run("compare", "mse,mae", models / "base.csv", models / "better.csv", models / "labels.csv",
                 "--fail-if-worse", "--format", "json")
    assert result.exit_code == 0
    for r in json.loads(result.stdout)["results"]:
        assert r["better"] == 1.0 and r["worse"] == 0.0 and r["change"] < 0
        assert r["bootstrap"]["interval"][1] < 0 and r["gate"]["passed"]
        assert r["worst_regressions"] == []


def test_regression_beyond_tolerance_exits_1(run, models):
    args = ["compare", "mse", models / "base.csv", models / "worse.csv", models / "labels.csv", "--format", "json"]
    bad = run(*args, "--fail-if-worse", "5%")
    assert bad.exit_code == 1
    r = json.loads(bad.stdout)["results"][0]
    assert r["relative_change"] == pytest.approx(1.25, rel=1e-12)  # (1.5² - 1) on squared residuals
    assert r["gate"] == {"tolerance": "5%", "allowed_increase": pytest.approx(0.05 * r["baseline"]),
                         "significant": False, "passed": False}
    assert run(*args, "--fail-if-worse", "200%").exit_code == 0
    assert run(*args, "--fail-if-worse", "10", "--significant").exit_code == 0  # absolute tolerance


def test_bootstrap_is_reproducible_with_the_seed(run_json, models):
    args = ["compare", "mae", models / "base.csv", models / "worse.csv", models / "labels.csv"]
    a, b = run_json(*args, "--seed", "3"), run_json(*args, "--seed", "3")
    c = run_json(*args, "--seed", "4")
    assert a["results"][0]["bootstrap"] == b["results"][0]["bootstrap"]
    assert a["results"][0]["bootstrap"]["interval"] != c["results"][0]["bootstrap"]["interval"]


# -- check ------------------------------------------------------------------------------------------
CONFIG = """
[[gate]]
name = "mse under 1"
loss = "mse"
inputs = ["base.csv", "labels.csv"]
max = 1.0

[[gate]]
name = "huber no worse than baseline"
loss = "huber"
params = {{ delta = 0.5 }}
inputs = ["{candidate}.csv", "labels.csv"]
baseline = "base.csv"
max_increase = "1%"
"""


@pytest.mark.parametrize("candidate, code", [("better", 0), ("worse", 1)])
def test_check_gates_pass_and_fail(run, models, candidate, code):
    cfg = models / "losscli.toml"
    cfg.write_text(CONFIG.format(candidate=candidate))
    result = run("check", cfg, "--format", "json")
    assert result.exit_code == code, result.stderr
    data = json.loads(result.stdout)
    assert [g["gate"] for g in data["gates"]] == ["mse under 1", "huber no worse than baseline"]
    assert data["gates"][0]["passed"] is True
    assert data["gates"][1]["passed"] is (code == 0)
    assert data["gates"][1]["comparison"]["params"] == {"delta": 0.5}


def test_check_reads_pyproject(run, models, monkeypatch):
    (models / "pyproject.toml").write_text("[tool.losscli]\n" + CONFIG.format(candidate="better").replace(
        "[[gate]]", "[[tool.losscli.gate]]"))
    monkeypatch.chdir(models)
    assert run("check").exit_code == 0
    # ([[tool.losscli.gates]] beside [[tool.losscli.gate]]: a second key, whose gates never ran)
    with open(models / "pyproject.toml", "a") as f:
        f.write('[[tool.losscli.gates]]\nloss = "mse"\ninputs = ["base.csv", "labels.csv"]\nmax = 1e-9\n')
    result = run("check")
    assert (result.exit_code, result.stderr) == (2, "Error: pyproject.toml: [tool.losscli]: both [[gate]] and [[gates]] "
                                                    "tables: write every gate as [[gate]]\n")


@pytest.mark.parametrize("body, message", [
    ('[[gate]]\nloss = "mse"\ninputs = ["base.csv", "labels.csv"]\nmaxx = 1\n',
     "gate 1: unknown key 'maxx' (valid: name, loss, inputs, params, reduction, weights, max, min, baseline, "
     "max_increase, significant, bootstrap, confidence, seed, on, on_missing, positional, header, classes, prob_tol, by, by_file, min_slice_size, nan_policy)"),
    ('[[gate]]\nname = "g"\ninputs = ["base.csv"]\nmax = 1\n', "gate 1 ('g'): missing key 'loss'"),
    ('[[gate]]\nloss = "mse"\ninputs = ["base.csv", "labels.csv"]\nmax = "low"\n',
     "gate 1: key 'max' must be int or float, got 'low'"),
    ('[[gate]]\nloss = "mse"\ninputs = ["base.csv", "labels.csv"]\n',
     "gate 1: needs a bound ('max' and/or 'min') or a 'baseline' to compare with"),
    ('[[gate]]\nloss = "msee"\ninputs = ["base.csv", "labels.csv"]\nmax = 1\n',
     "gate 1: unknown loss 'msee'; did you mean mse, rmse, msle?"),
    ('gate = [\n', "not valid TOML"),
    # (review 101: a gate no value passes exited 1 as a failed check; an empty name made an empty JUnit name)
    ('[[gate]]\nloss = "mse"\ninputs = ["base.csv", "labels.csv"]\nmin = 2\nmax = 1\n',
     "gate 1: key 'min' (2) is above key 'max' (1): no value can pass"),
    ('[[gate]]\nname = " "\nloss = "mse"\ninputs = ["base.csv", "labels.csv"]\nmax = 1\n',
     "key 'name' is empty (it names the gate in every report: leave it out for the loss and first input)"),
    ('[[gate]]\nloss = "mse"\ninputs = ["base.csv", "labels.csv"]\nbaseline = "base.csv"\nmax_increase = "2 percent"\n',
     "gate 1: key 'max_increase'"),
    # a gate under a key nothing reads never ran, and the check passed without it
    ('[[gate]]\nloss = "mse"\ninputs = ["base.csv", "labels.csv"]\nmax = 1e9\n'
     '[[gat]]\nloss = "mse"\ninputs = ["base.csv", "labels.csv"]\nmax = 1e-9\n',
     "bad.toml: unknown key 'gat': gates are [[gate]] tables (or [[gates]]), and nothing else is read from the file"),
    ('[[gate]]\nloss = "mse"\ninputs = ["base.csv", "labels.csv"]\nmax = 1e9\n'
     '[[gates]]\nloss = "mse"\ninputs = ["base.csv", "labels.csv"]\nmax = 1e-9\n',
     "bad.toml: both [[gate]] and [[gates]] tables: write every gate as [[gate]]"),
])
def test_malformed_config(run, models, body, message):
    cfg = models / "bad.toml"
    cfg.write_text(body)
    result = run("check", cfg)
    assert result.exit_code == 2 and result.stdout == ""
    assert message in result.stderr and len(result.stderr.splitlines()) == 1


# -- JUnit and Markdown -------------------------------------------------------------------------------
def _junit(text):
    root = ET.fromstring(text)
    assert root.tag == "testsuites"
    suite = root.find("testsuite")
    cases = suite.findall("testcase")
    assert int(suite.get("tests")) == len(cases)
    assert int(suite.get("failures")) == sum(1 for c in cases if c.find("failure") is not None)
    return suite, cases


def test_junit_from_every_command(run, models):
    cfg = models / "losscli.toml"
    cfg.write_text(CONFIG.format(candidate="worse"))
    suite, cases = _junit(run("check", cfg, "--format", "junit").stdout)
    assert [c.get("name") for c in cases] == ["mse under 1", "huber no worse than baseline"]
    failure = cases[1].find("failure")
    assert failure is not None and "increase over baseline <= 1%" in failure.get("message")

    out = run("compare", "mse", models / "base.csv", models / "worse.csv", models / "labels.csv",
              "--fail-if-worse", "--format", "junit")
    assert out.exit_code == 1
    _, cases = _junit(out.stdout)
    assert "candidate" in cases[0].find("failure").get("message")

    out = run("compute", "mse,mae", models / "base.csv", models / "labels.csv", "--format", "junit",
              "--fail-above", "0.3")
    _, cases = _junit(out.stdout)
    assert [c.find("failure") is not None for c in cases] == [False, True]  # mse ~0.25 passes, mae ~0.4 fails

    _, cases = _junit(run("gradcheck", "mse,huber", "--format", "junit").stdout)
    assert [c.get("name") for c in cases] == ["mse", "huber"] and all(c.find("failure") is None for c in cases)


def test_markdown_tables(run, models):
    md = run("compare", "mse", models / "base.csv", models / "better.csv", models / "labels.csv", "--format",
             "markdown", "--fail-if-worse").stdout
    lines = md.splitlines()
    assert lines[0].startswith("| loss | baseline | candidate |") and lines[1].startswith("|---|")
    assert "`mse`" in lines[2] and "✅" in lines[2]
    assert run("compute", "mse", models / "base.csv", models / "labels.csv", "--format", "markdown").stdout.startswith(
        "| loss | value |")


# -- structural risk --------------------------------------------------------------------------------
def test_penalty_in_every_format(run, run_json, models, tmp_path):
    np.save(tmp_path / "w.npy", np.array([[0.5, -2.0], [0.0, 1.0]]))
    args = ["compute", "mse", models / "base.csv", models / "labels.csv", "--params", tmp_path / "w.npy",
            "--l1", "0.1", "--l2", "0.2"]
    rec = run_json(*args)["results"][0]
    penalty = 0.1 * 3.5 + 0.2 * 0.5 * (0.25 + 4 + 1)
    assert rec["penalty"]["value"] == pytest.approx(penalty)
    assert rec["objective"] == pytest.approx(rec["value"] + penalty) and rec["empirical_risk"] == rec["value"]
    values = run(*args, "--format", "value").stdout.split()
    assert float(values[1]) == pytest.approx(penalty) and float(values[2]) == pytest.approx(rec["objective"])
    assert "objective" in run(*args, "--format", "csv").stdout.splitlines()[0]
    assert "objective" in run(*args).stdout
    run(*args, "--save-grad", tmp_path / "g.npz")
    with np.load(tmp_path / "g.npz") as g:
        np.testing.assert_allclose(g["params"], 0.1 * np.sign([[0.5, -2.0], [0.0, 1.0]]) + 0.2 * np.array(
            [[0.5, -2.0], [0.0, 1.0]]))
    bad = run("compute", "mse", models / "base.csv", models / "labels.csv", "--l2", "1")
    assert bad.exit_code == 2 and "--l1/--l2 need --params FILE" in bad.stderr


# -- one run, every report -------------------------------------------------------------------------------
def test_reports_beside_the_main_output_from_one_evaluation(run, models, tmp_path):
    """--report FORMAT:FILE writes more reports of the same run; the verdict of --fail-above is in
    every one of them, and the exit code is still 1."""
    out = run("compute", "mse,mae", models / "base.csv", models / "labels.csv", "--fail-above", "0.3",
              "--format", "json", "--report", f"junit:{tmp_path / 'r.xml'}", "--report", f"markdown:{tmp_path / 's.md'}",
              "--report", f"csv:{tmp_path / 'r.csv'}")
    assert out.exit_code == 1
    rec = json.loads(out.stdout)
    assert [r["gate"]["passed"] for r in rec["results"]] == [True, False] and rec["passed"] is False
    assert rec["results"][1]["gate"] == {"max": 0.3, "measured": rec["results"][1]["value"], "passed": False}
    suite, cases = _junit((tmp_path / "r.xml").read_text())
    assert [c.find("failure") is not None for c in cases] == [False, True]
    assert "--fail-above 0.3: PASS" in cases[0].find("system-out").text
    md = (tmp_path / "s.md").read_text().splitlines()
    assert md[0].endswith("| gate (--fail-above: ≤ 0.3) |") and md[2].endswith("| ✅ |") and md[3].endswith("| ❌ |")
    csv_lines = (tmp_path / "r.csv").read_text().splitlines()
    assert csv_lines[0].startswith("loss,reduction,value") and csv_lines[0].endswith(",passed")
    assert [line.rsplit(",", 1)[1] for line in csv_lines[1:]] == ["true", "false"]
    table = run("compute", "mse,mae", models / "base.csv", models / "labels.csv", "--fail-above", "0.3").stdout
    assert [line.split("|")[2].strip() for line in table.splitlines() if line.startswith(("| mse", "| mae"))][:2] \
        == ["PASS", "FAIL"]


@pytest.mark.parametrize("value, message", [
    ("xml:r.xml", "expected FORMAT:FILE with FORMAT one of table, json, csv, ndjson, value, junit, markdown; got 'xml:r.xml'"),
    ("junit", "expected FORMAT:FILE with FORMAT one of table, json, csv, ndjson, value, junit, markdown; got 'junit'"),
    ("junit:-", "'junit:-': a report goes to a file; standard output carries --format's output"),
])
def test_report_option_is_checked(run, models, value, message):
    out = run("compute", "mse", models / "base.csv", models / "labels.csv", "--report", value)
    assert out.exit_code == 2
    assert out.stderr == f"Error: Invalid value for '--report': {message} (see 'losscli compute --help')\n"


def test_a_report_that_cannot_be_written_is_refused_before_the_run(run, models, tmp_path):
    """A report into a missing directory is refused before anything is read or written: no main
    output, no other report (the files of one run are put in place together, or none)."""
    bad = tmp_path / "no such dir" / "r.xml"
    out = run("compute", "mse", models / "base.csv", models / "labels.csv", "--format", "value",
              "--report", f"junit:{bad}", "--report", f"markdown:{tmp_path / 's.md'}")
    assert out.exit_code == 2 and out.stdout == ""
    assert not (tmp_path / "s.md").exists()
    assert out.stderr == f"Error: {bad}: cannot write, directory {bad.parent} does not exist\n"


def test_every_report_lists_the_slices_its_format_lists(run, tmp_path):
    """The table lists 10 slices by default; a machine report beside it lists every one, as its
    own --format would (the table then too: one run, one list)."""
    rng = np.random.default_rng(1)
    write_csv(tmp_path / "e.csv", ["p", "t", "g"],
              [[repr(float(a)), repr(float(b)), f"g{i % 30}"] for i, (a, b) in enumerate(rng.normal(size=(600, 2)))])
    args = ["compute", "mse", f"{tmp_path}/e.csv:p", f"{tmp_path}/e.csv:t", "--by", "g", "--min-slice-size", "5"]
    alone = run(*args, "--format", "json")
    out = run(*args, "--report", f"json:{tmp_path / 'r.json'}")
    assert len(json.loads((tmp_path / "r.json").read_text())["results"][0]["slices"]) == 30
    assert json.loads((tmp_path / "r.json").read_text())["results"] == json.loads(alone.stdout)["results"]
    assert "more not listed" not in out.stdout
    assert "20 more not listed" in run(*args).stdout


def test_a_report_never_overwrites_an_input_or_another_output(run, models):
    out = run("compute", "mse", models / "base.csv", models / "labels.csv", "--report", f"csv:{models / 'labels.csv'}")
    assert out.exit_code == 2 and "labels.csv: is also an input" in out.stderr
    assert (models / "labels.csv").read_text().startswith("labels\n")
    out = run("compute", "mse", models / "base.csv", models / "labels.csv", "-o", models / "x.json",
              "--report", f"junit:{models / 'x.json'}")
    assert out.exit_code == 2 and not (models / "x.json").exists()
    plugin = models / "plug.py"
    plugin.write_text("# a user's plugin\n")
    out = run("--plugin", plugin, "compute", "mse", models / "base.csv", models / "labels.csv",
              "--report", f"csv:{plugin}")
    assert out.exit_code == 2 and "is also an input (--plugin" in out.stderr
    assert plugin.read_text() == "# a user's plugin\n"


def test_junit_carries_real_time_and_timestamp(run, models):
    import datetime

    before = datetime.datetime.now().replace(microsecond=0)
    suite, cases = _junit(run("gradcheck", "mse,focal", "--format", "junit").stdout)
    started = datetime.datetime.fromisoformat(suite.get("timestamp"))
    assert before - datetime.timedelta(seconds=1) <= started <= datetime.datetime.now()
    assert float(suite.get("time")) > 0
    assert all(float(c.get("time")) > 0 for c in cases)  # each loss is checked, and timed, on its own
    assert float(suite.get("time")) >= sum(float(c.get("time")) for c in cases) - 0.002


def test_check_reports_a_gate_that_cannot_be_evaluated_and_still_the_others(run, models, tmp_path):
    cfg = models / "losscli.toml"
    cfg.write_text(CONFIG.format(candidate="worse") + '\n[[gate]]\nname = "gone"\nloss = "mae"\n'
                   'inputs = ["missing.csv", "labels.csv"]\nmax = 1\n')
    out = run("check", cfg, "--format", "json", "--report", f"junit:{tmp_path / 'r.xml'}",
              "--report", f"markdown:{tmp_path / 's.md'}")
    assert out.exit_code == 2
    assert out.stderr == f"Error: {cfg}: gate 3 ('gone'): {models / 'missing.csv'}: no such file\n"
    gates = json.loads(out.stdout)["gates"]
    assert [g["gate"] for g in gates] == ["mse under 1", "huber no worse than baseline", "gone"]
    assert [g["passed"] for g in gates] == [True, False, False] and gates[2]["error"] == out.stderr[7:-1]
    root = ET.fromstring((tmp_path / "r.xml").read_text())
    assert root.get("errors") == "1" and root.find("testsuite").get("failures") == "1"
    assert root.find("testsuite").findall("testcase")[2].find("error").get("message") == gates[2]["error"]
    assert "⚠️ error: " in (tmp_path / "s.md").read_text().splitlines()[-1]


def _readme_ci_scripts() -> list[str]:
    """The README's CI example: the GitHub Actions step's script and the plain shell script."""
    import re
    from pathlib import Path

    text = Path(__file__).parent.parent.joinpath("README.md").read_text()
    section = text[text.index("### Reports CI systems read"):]
    yaml = re.search(r"```yaml\n(.*?)```", section, re.S).group(1)
    step = yaml[yaml.index("run: |\n") + len("run: |\n"):]
    lines = []
    for line in step.splitlines():
        if not line.startswith("    "):
            break
        lines.append(line[4:])
    shell = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    return ["\n".join(lines) + "\n", shell]


@pytest.mark.parametrize("which", ["github", "shell"])
@pytest.mark.parametrize("case, code", [("pass", 0), ("fail", 1), ("broken", 2), ("malformed", 2)])
def test_the_readme_ci_example_runs_under_set_euo_pipefail(models, tmp_path, which, case, code):
    """The README's CI script, run by bash as CI runs it: every report written and the step's exit
    code losscli's, whether the gates pass, one fails, or one cannot be evaluated."""
    import os
    import shutil
    import subprocess
    import sys

    script = _readme_ci_scripts()[0 if which == "github" else 1]
    assert "set -euo pipefail" in script
    work = tmp_path / "job"
    work.mkdir()
    for name in ("base", "better", "worse", "labels"):
        shutil.copy(models / f"{name}.csv", work)
    body = CONFIG.format(candidate="worse" if case == "fail" else "better")
    if case == "broken":
        body += '\n[[gate]]\nname = "gone"\nloss = "mae"\ninputs = ["missing.csv", "labels.csv"]\nmax = 1\n'
    if case == "malformed":
        body += '\n[[gate]]\nloss = "mse"\ninputs = ["base.csv", "labels.csv"]\nmaxx = 1\n'
    (work / "losscli.toml").write_text(body)
    (work / "losscli-summary.md").write_text("| an earlier run's summary |\n")
    summary = work / "step-summary.md"
    summary.write_text("# earlier steps\n")
    bindir = tmp_path / "bin"  # `losscli` on PATH: this interpreter's
    bindir.mkdir()
    (bindir / "losscli").write_text(f"#!/bin/sh\nexec {sys.executable} -m losscli \"$@\"\n")
    (bindir / "losscli").chmod(0o755)
    env = {**os.environ, "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}", "GITHUB_STEP_SUMMARY": str(summary)}
    proc = subprocess.run(["bash", "-c", script], cwd=work, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == code, proc.stderr
    if case == "malformed":  # refused before anything runs: no report, no stale one taken for it
        assert "unknown key 'maxx'" in proc.stderr and not (work / "losscli-summary.md").exists()
        assert summary.read_text() == "# earlier steps\n"
        return
    _, cases = _junit((work / "losscli-junit.xml").read_text())
    assert len(cases) == (3 if case == "broken" else 2)
    md = (work / "losscli-summary.md").read_text()
    assert md.startswith("| gate | loss | value | checks |") and ("❌" in md) == (case == "fail")
    if which == "github":
        assert summary.read_text() == "# earlier steps\n" + md
    if case == "broken":
        assert "missing.csv: no such file" in proc.stderr and "⚠️ error" in md


def test_a_baseline_gate_shows_what_it_was_judged_on_in_every_format(run, tmp_path):
    """The two values, the change (absolute and relative) and its interval beside the baseline
    gate's check: in the table at any width, in Markdown and in JUnit's output, not only JSON."""
    from .terminal import in_terminal, screen_lines

    config = "sample_data/losscli.toml"
    gate = next(g for g in json.loads(run("check", config, "--format", "json").stdout)["gates"] if "comparison" in g)
    cmp = gate["comparison"]
    lo, hi = cmp["bootstrap"]["interval"]
    numbers = [f"{cmp['baseline']:.6g}", f"{cmp['candidate']:.6g}", f"{cmp['change']:+.4g}",
               f"{cmp['relative_change']:+.2%}", f"{lo:+.4g}, {hi:+.4g}"]
    assert gate["checks"][0]["measured"] == (f"{numbers[0]} -> {numbers[1]}, change {numbers[2]} ({numbers[3]}), "
                                             f"95% CI [{numbers[4]}]")
    for columns in (60, 80, 200):
        code, shown, _ = in_terminal(["check", config], columns)
        flat = " ".join(line.strip(" │┃|") for line in screen_lines(shown))
        assert code == 0 and all(n in flat.replace("  ", " ") or n in shown for n in numbers), (columns, shown)
    markdown = run("check", config, "--format", "markdown").stdout
    assert all(n in markdown for n in numbers)
    run("check", config, "--report", f"junit:{tmp_path / 'j.xml'}")
    case = next(c for c in ET.parse(tmp_path / "j.xml").getroot().iter("testcase") if c.get("name") == gate["gate"])
    assert all(n in case.find("system-out").text for n in numbers)


def test_a_slice_too_small_to_gate_is_a_skipped_testcase(run):
    """The harbour (5 rows, under the gate's 30) is not judged: JUnit says skipped, and why,
    rather than a passing case; the suite counts it."""
    root = ET.fromstring(run("check", "sample_data/losscli.toml", "--format", "junit").stdout)
    suite = root.find("testsuite")
    skipped = [c for c in suite.iter("testcase") if c.find("skipped") is not None]
    assert [c.get("name") for c in skipped] == ["house prices: Huber under 0.25 in every district [region=harbour]"]
    assert skipped[0].find("skipped").get("message") == "5 rows: too few to rank or gate"
    assert suite.get("skipped") == "1" and suite.get("failures") == "0"


@pytest.mark.parametrize("by", [False, True])
def test_without_a_bootstrap_no_interval_is_printed_in_any_format(run, tmp_path, by):
    """--bootstrap 0 asks for no interval: it is '-' in tables, 'no CI' in JUnit and null in JSON,
    never '[nan, nan]' beside a change a reader would take it for."""
    rng = np.random.default_rng(1)
    t = rng.normal(size=40)
    write_csv(tmp_path / "b.csv", ["p", "g"], [[f"{x:.17g}", i % 2] for i, x in enumerate(t + 0.1)])
    write_csv(tmp_path / "c.csv", ["p", "g"], [[f"{x:.17g}", i % 2] for i, x in enumerate(t + 0.2)])
    write_csv(tmp_path / "y.csv", ["y"], [[f"{x:.17g}"] for x in t])
    args = ("compare", "mse", tmp_path / "b.csv:p", tmp_path / "c.csv:p", tmp_path / "y.csv", "--bootstrap", "0",
            *(("--by-file", f"{tmp_path / 'b.csv'}:g") if by else ()))
    for fmt in ("table", "markdown", "junit"):
        out = run(*args, "--format", fmt)
        assert out.exit_code == 0 and "nan" not in out.stdout.lower(), (fmt, out.stdout)
    assert "no CI" in run(*args, "--format", "junit").stdout
    d = json.loads(run(*args, "--format", "json").stdout)
    assert d["results"][0]["bootstrap"]["interval"] == [None, None]
    assert "| - |" in run(*args, "--format", "markdown").stdout


def test_compare_and_check_say_what_compute_says_of_the_rows(run, tmp_path):
    """A row dropped by --nan-policy omit, probability rows renormalised within --prob-tol: compute
    warns on stderr; compare and check said nothing, and check's JSON had no 'omitted' beside a
    count of 2 of 3 rows (review 101 #2)."""
    write_csv(tmp_path / "n.csv", ["p", "t"], [[1, 0], ["nan", 1], [3, 0]])
    write_csv(tmp_path / "pr.csv", ["a", "b"], [[0.5, 0.50001], [0.2, 0.8]])
    write_csv(tmp_path / "py.csv", ["y"], [[0], [1]])
    (tmp_path / "c.toml").write_text('[[gate]]\nname = "omit"\nloss = "mse"\ninputs = ["n.csv:p", "n.csv:t"]\n'
                                     'max = 100\nnan_policy = "omit"\n')
    dropped = "--nan-policy omit dropped 1 of 3 rows with NaN or infinite values\n"
    out = run("compute", "mse", f"{tmp_path}/n.csv:p", f"{tmp_path}/n.csv:t", "--nan-policy", "omit")
    assert out.exit_code == 0 and out.stderr == "losscli: warning: " + dropped
    out = run("check", tmp_path / "c.toml", "--format", "json")
    assert out.exit_code == 0 and out.stderr == (f"losscli: warning: {tmp_path / 'c.toml'}: gate 1 ('omit'): "
                                                 + dropped.rstrip("\n") + " (in a gate: --nan-policy is the key "
                                                 "'nan_policy')\n")
    (gate,) = json.loads(out.stdout)["gates"]
    assert (gate["count"], gate["omitted"]) == (2, 1)
    out = run("compare", "ce", tmp_path / "pr.csv", tmp_path / "pr.csv", tmp_path / "py.csv", "--prob-tol", "1e-3")
    assert out.exit_code == 0 and out.stderr == (f"losscli: warning: {tmp_path / 'pr.csv'}: renormalised 1 probability "
                                                 "rows whose sums differed from 1 by up to 1e-05 (within the tolerance "
                                                 "0.001)\n")


def test_parameters_are_written_with_every_digit_they_need(run, tmp_path):
    """-p delta=1.2345681 and delta=1.2345679 give two values but were both written delta=1.23457 in
    CSV, JUnit test names, tables and markdown (review 101 #7); a short value stays short."""
    write_csv(tmp_path / "p.csv", ["p"], [[0.5], [3.0], [-1.0]])
    write_csv(tmp_path / "y.csv", ["y"], [[0.0], [0.0], [0.0]])
    for delta in ("1.2345681", "1.2345679", "1"):
        args = ("compute", "huber", tmp_path / "p.csv", tmp_path / "y.csv", "-p", f"delta={delta}")
        csv_out = run(*args, "--format", "csv").stdout
        assert csv_out.splitlines()[1].endswith(f",delta={delta}")
        names = [c.get("name") for c in ET.fromstring(run(*args, "--format", "junit", "--fail-above", "9").stdout).iter(
            "testcase")]
        assert names == [f"huber (delta={delta})"]
        assert f"delta={delta} " in run(*args, "--format", "markdown").stdout


def test_a_baseline_gate_without_a_bootstrap_prints_no_interval(run, models):
    """bootstrap = 0 in a gate printed 'CI [+nan, +nan]' beside the change (review 101)."""
    cfg = models / "b0.toml"
    cfg.write_text('[[gate]]\nloss = "mse"\ninputs = ["better.csv", "labels.csv"]\nbaseline = "base.csv"\n'
                   'bootstrap = 0\n')
    for fmt in ("table", "markdown", "junit", "json"):
        out = run("check", cfg, "--format", fmt)
        assert out.exit_code == 0 and "nan" not in out.stdout.lower() and "CI [" not in out.stdout, (fmt, out.stdout)


def test_no_python_none_in_text_outputs(run, tmp_path):
    """A missing slice key was 'k=None' in CSV, --reduction none 'value=None' in JUnit (review 101):
    written as the tables write them, (missing) and -."""
    write_csv(tmp_path / "p.csv", ["p", "k"], [[0.5, "a"], [1.0, ""], [2.0, "a"], [0.1, ""]])
    write_csv(tmp_path / "y.csv", ["y"], [[0.0], [1.0], [3.0], [0.0]])
    out = run("compute", "mse", f"{tmp_path}/p.csv:p", tmp_path / "y.csv", "--by-file", f"{tmp_path}/p.csv:k",
              "--min-slice-size", "1", "--format", "csv")
    assert out.exit_code == 0 and "None" not in out.stdout and "k=(missing)" in out.stdout, out.stdout
    out = run("compute", "mse", f"{tmp_path}/p.csv:p", tmp_path / "y.csv", "--reduction", "none", "--format", "junit")
    assert out.exit_code == 0 and "None" not in out.stdout and "value=- count=4" in out.stdout, out.stdout
    out = run("compare", "mse", f"{tmp_path}/p.csv:p", f"{tmp_path}/p.csv:p", tmp_path / "y.csv", "--format", "junit")
    assert out.exit_code == 0 and "None" not in out.stdout and ", allowed -" in out.stdout, out.stdout
