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


@pytest.mark.parametrize("body, message", [
    ('[[gate]]\nloss = "mse"\ninputs = ["base.csv", "labels.csv"]\nmaxx = 1\n',
     "gate 1: unknown key 'maxx' (valid: name, loss, inputs, params, reduction, weights, max, min, baseline, "
     "max_increase, significant, bootstrap, confidence, seed, on, on_missing, header, classes, prob_tol, by, by_file, min_slice_size)"),
    ('[[gate]]\nname = "g"\ninputs = ["base.csv"]\nmax = 1\n', "gate 1 ('g'): missing key 'loss'"),
    ('[[gate]]\nloss = "mse"\ninputs = ["base.csv", "labels.csv"]\nmax = "low"\n',
     "gate 1: key 'max' must be int or float, got 'low'"),
    ('[[gate]]\nloss = "mse"\ninputs = ["base.csv", "labels.csv"]\n',
     "gate 1: needs a bound ('max' and/or 'min') or a 'baseline' to compare with"),
    ('[[gate]]\nloss = "msee"\ninputs = ["base.csv", "labels.csv"]\nmax = 1\n',
     "gate 1: unknown loss 'msee'; did you mean mse?"),
    ('gate = [\n', "not valid TOML"),
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
