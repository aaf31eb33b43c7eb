"""`compare` and `check` at their boundaries (review 112): labels read in one model's column order for
the other, NaN in one model's rows, --significant on a handful of samples, a change shown as its
tolerance, and config errors whose way out did not work."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest


def _models(tmp_path, b, c, y) -> None:
    """A baseline's, a candidate's and the labels' values, one column each (b.csv, c.csv, y.csv)."""
    for name, v in (("b", b), ("c", c), ("y", y)):
        pd.DataFrame({"v": v}).to_csv(tmp_path / f"{name}.csv", index=False)


def _significant(run, tmp_path, loss: str = "mse", candidate: str = "c"):
    """compare of _models' files under --fail-if-worse 0 --significant: the run and its gate (JSON)."""
    out = run("compare", loss, tmp_path / "b.csv", tmp_path / f"{candidate}.csv", tmp_path / "y.csv",
              "--fail-if-worse", "0", "--significant", "--format", "json")
    return out, json.loads(out.stdout)["results"][0]["gate"]


@pytest.fixture
def multi(tmp_path):
    """Two models of a two-output regression (price, qty), the candidate written with its columns
    in the other order, as pandas writes them (with the index)."""
    rng = np.random.default_rng(0)
    y = pd.DataFrame({"price": rng.normal(size=100), "qty": rng.normal(0, 100, 100)})
    b = y + rng.normal(0, [1.0, 1.0], (100, 2))
    c = y + rng.normal(0, [1.1, 1.1], (100, 2))
    y.to_csv(tmp_path / "y.csv")
    b.to_csv(tmp_path / "b.csv")
    c[["qty", "price"]].to_csv(tmp_path / "c.csv")
    mse = {k: float(np.mean((m.to_numpy() - y.to_numpy()) ** 2)) for k, m in (("b", b), ("c", c))}
    return tmp_path, mse


def test_the_labels_are_read_in_each_models_order_in_compare(run, multi):
    """The labels were read once in the baseline's column order and reused for the candidate written
    qty,price: its mse 10195.6 for 1.1069, +987825% and FAIL, exit 1."""
    tmp_path, mse = multi
    out = run("compare", "mse", tmp_path / "b.csv", tmp_path / "c.csv", tmp_path / "y.csv", "--format", "json")
    assert out.exit_code == 0, out.stderr
    r = json.loads(out.stdout)["results"][0]
    assert r["baseline"] == pytest.approx(mse["b"], rel=1e-12) and r["candidate"] == pytest.approx(mse["c"], rel=1e-12)
    assert f"losscli: note: {tmp_path}/y.csv: columns read in the order of the columns of {tmp_path}/c.csv (qty, price), " \
           "not as written (price, qty)\n" in out.stderr
    swapped = json.loads(run("compare", "mse", tmp_path / "c.csv", tmp_path / "b.csv", tmp_path / "y.csv",
                             "--format", "json").stdout)["results"][0]
    assert (swapped["baseline"], swapped["candidate"]) == pytest.approx((mse["c"], mse["b"]), rel=1e-12)


def test_the_labels_are_read_in_each_models_order_in_check(run, multi):
    tmp_path, mse = multi
    (tmp_path / "two.toml").write_text('[[gate]]\nloss = "mse"\ninputs = ["b.csv", "y.csv"]\nmax = 2\n'
                                       '[[gate]]\nloss = "mse"\ninputs = ["c.csv", "y.csv"]\nmax = 2\n'
                                       '[[gate]]\nloss = "mse"\ninputs = ["c.csv", "y.csv"]\nbaseline = "b.csv"\n'
                                       'max_increase = "5%"\n')
    out = run("check", tmp_path / "two.toml", "--format", "json")
    gates = json.loads(out.stdout)["gates"]
    assert [g["value"] for g in gates] == pytest.approx([mse["b"], mse["c"], mse["c"]], rel=1e-12)
    assert gates[2]["comparison"]["baseline"] == pytest.approx(mse["b"], rel=1e-12)
    # +7.26%: the baseline gate fails (it passed at -99.99%), the bounds hold (gate 2 failed at 10195.6)
    assert [g["passed"] for g in gates] == [True, True, False] and out.exit_code == 1


def test_one_hot_labels_in_each_models_order_across_gates(run, tmp_path):
    rng = np.random.default_rng(1)
    names = rng.choice(["bird", "cat", "dog"], 150)
    onehot = pd.get_dummies(pd.Series(names)).astype(int)  # bird, cat, dog
    a = pd.DataFrame(rng.dirichlet([1, 1, 1], 150), columns=["bird", "cat", "dog"])
    b = pd.DataFrame(rng.dirichlet([1, 1, 1], 150), columns=["cat", "dog", "bird"])
    onehot.to_csv(tmp_path / "onehot.csv", index=False)
    a.to_csv(tmp_path / "a.csv", index=False)
    b.to_csv(tmp_path / "b.csv", index=False)
    (tmp_path / "ce.toml").write_text('[[gate]]\nloss = "ce"\ninputs = ["a.csv", "onehot.csv"]\nmax = 5\n'
                                      '[[gate]]\nloss = "ce"\ninputs = ["b.csv", "onehot.csv"]\nmax = 5\n')
    gates = json.loads(run("check", tmp_path / "ce.toml", "--format", "json").stdout)["gates"]
    for g, m in zip(gates, (a, b)):
        p = m[["bird", "cat", "dog"]].to_numpy()
        assert g["value"] == pytest.approx(-np.mean(np.log(np.sum(p * onehot.to_numpy(), axis=1))), rel=1e-12)


def test_a_gate_sliced_by_a_column_no_input_holds_is_an_error_and_the_report_is_written(run, tmp_path):
    """check crashed (exit 3, TypeError) rebuilding the error of a missing --by column, before the
    report the README's CI recipe reads was written."""
    pd.DataFrame({"pred": [0.1, 0.2], "region": ["n", "s"]}).to_csv(tmp_path / "p.csv", index=False)
    pd.DataFrame({"label": [0.0, 0.5]}).to_csv(tmp_path / "y.csv", index=False)
    (tmp_path / "c.toml").write_text('[[gate]]\nloss = "mae"\ninputs = ["p.csv:pred", "y.csv"]\nmax = 1\n'
                                     'by = "regoin"\n')
    out = run("check", tmp_path / "c.toml", "--report", f"junit:{tmp_path}/j.xml")
    assert out.exit_code == 2 and (tmp_path / "j.xml").exists()
    assert out.stderr.endswith(f"Error: {tmp_path}/c.toml: gate 1: --by regoin: no column 'regoin' in the inputs "
                               f"({tmp_path}/p.csv: pred, region; {tmp_path}/y.csv: label); --by-file FILE[:COLUMN] "
                               "groups by a column of another file with one row per sample (in a gate: --by is the "
                               "key 'by', --by-file is the key 'by_file')\n")


@pytest.fixture
def nan_models(tmp_path):
    rng = np.random.default_rng(2)
    y = rng.normal(size=200)
    b, c = y + rng.normal(0, 0.4, 200), y + rng.normal(0, 0.5, 200)
    c[[6, 50]], b[99] = np.nan, np.nan
    region = np.where(np.arange(200) % 2 == 0, "north", "south")
    with np.errstate(invalid="ignore"):  # (pandas 2.0, the lowest supported, warns in its own to_csv of NaN)
        pd.DataFrame({"pred": b}).to_csv(tmp_path / "b.csv")
        pd.DataFrame({"pred": c}).to_csv(tmp_path / "c.csv")
    pd.DataFrame({"label": y, "region": region}).to_csv(tmp_path / "y.csv")
    return tmp_path, b, c, y, region


def test_nan_in_one_models_rows_compares_both_on_the_rows_both_kept(run, nan_models):
    """compare named --nan-policy omit, which it did not have; a gate with nan_policy = "omit" was
    refused with "kept different rows", naming no file and no way out."""
    tmp_path, b, c, y, region = nan_models
    args = ["compare", "mae,rmse", tmp_path / "b.csv", tmp_path / "c.csv", tmp_path / "y.csv"]
    out = run(*args)
    assert out.exit_code == 2 and out.stderr.endswith(f"Error: {tmp_path}/b.csv, line 101, column 'pred': found NaN (an "
                                                      "empty or missing value), expected a finite number "
                                                      "(--nan-policy omit drops such rows)\n")
    out = run(*args, "--nan-policy", "omit", "--by", "region", "--min-slice-size", "1", "--format", "json")
    assert out.exit_code == 0, out.stderr
    keep = ~np.isnan(b) & ~np.isnan(c)
    for r in json.loads(out.stdout)["results"]:
        f = (lambda p, k: np.mean(np.abs(p - y)[k])) if r["loss"] == "mae" else \
            (lambda p, k: np.sqrt(np.mean(((p - y) ** 2)[k])))
        assert r["count"] == 197
        assert (r["baseline"], r["candidate"]) == pytest.approx((f(b, keep), f(c, keep)), rel=1e-12)
        for s in r["slices"]:
            k = keep & (region == s["key"]["region"])
            assert s["count"] == int(k.sum())
            assert (s["baseline"], s["candidate"]) == pytest.approx((f(b, k), f(c, k)), rel=1e-12)
        assert f"losscli: note: {r['loss']}: compared on the 197 samples both models kept (the baseline's NaN left " \
               "out 1 row of the candidate's; the candidate's NaN left out 2 rows of the baseline's)\n" in out.stderr
    (tmp_path / "g.toml").write_text('[[gate]]\nloss = "mae"\ninputs = ["c.csv", "y.csv:label"]\nbaseline = "b.csv"\n'
                                     'max_increase = "50%"\nnan_policy = "omit"\n')
    out = run("check", tmp_path / "g.toml", "--format", "json")
    assert out.exit_code == 0, out.stderr
    gate = json.loads(out.stdout)["gates"][0]
    cmp = gate["comparison"]
    assert (cmp["baseline"], cmp["candidate"]) == pytest.approx((np.mean(np.abs(b - y)[keep]),
                                                                np.mean(np.abs(c - y)[keep])), rel=1e-12)
    # (the gate's own value is the candidate's on its 198 rows; its check says where the comparison was made)
    assert gate["value"] == pytest.approx(np.nanmean(np.abs(c - y)), rel=1e-12) and gate["count"] == 198
    assert gate["checks"][0]["measured"].endswith(", on the 197 samples both models kept")


@pytest.mark.parametrize("n, verdict, code", [(1, "undecided", 0), (5, "undecided", 0), (6, "FAIL", 1)])
def test_significant_on_too_few_samples_is_undecided(run, tmp_path, n, verdict, code):
    """One sample made "CI [0.03, 0.03] (95%)" and a --significant FAIL: a sign test of n samples all
    worse has chance 2^-n under no change, above the 2.5% of a tail below 6."""
    pd.DataFrame({"pred": np.zeros(n)}).to_csv(tmp_path / "b.csv", index=False)
    pd.DataFrame({"pred": np.full(n, 0.1)}).to_csv(tmp_path / "c.csv", index=False)
    pd.DataFrame({"label": np.full(n, -0.2)}).to_csv(tmp_path / "y.csv", index=False)
    out = run("compare", "mae", tmp_path / "b.csv", tmp_path / "c.csv", tmp_path / "y.csv", "--fail-if-worse",
              "--significant", "--top", "0")
    assert out.exit_code == code and re.search(rf"\| mae\s+\| {verdict}\s+\|", out.stdout)
    note = (f"losscli: note: mae: --significant: {n} sample{'s' if n > 1 else ''} whose loss got worse cannot show a "
            "change at 95%: even "
            f"all worse, their chance under no change is 2^-{n} = {2.0 ** -n:.3g}, above the 2.5% of a tail; it needs 6 "
            "samples or more; not judged worse\n")
    assert (note in out.stderr) == (verdict == "undecided")


def test_a_change_just_past_its_tolerance_is_not_shown_as_it(run, tmp_path):
    """+10.0000003% beside a 10% tolerance read "+10.00%" beside FAIL (table, markdown, check)."""
    pd.DataFrame({"pred": [0.3]}).to_csv(tmp_path / "b.csv", index=False)
    pd.DataFrame({"pred": [0.3300000001]}).to_csv(tmp_path / "c.csv", index=False)
    pd.DataFrame({"label": [0.0]}).to_csv(tmp_path / "y.csv", index=False)
    args = ["compare", "mae", tmp_path / "b.csv", tmp_path / "c.csv", tmp_path / "y.csv", "--fail-if-worse", "10%"]
    for fmt in ("table", "markdown"):
        out = run(*args, "--format", fmt)
        assert out.exit_code == 1 and "0.0300000001" in out.stdout and "+10.00000003%" in out.stdout
    (tmp_path / "g.toml").write_text('[[gate]]\nloss = "mae"\ninputs = ["c.csv", "y.csv"]\nbaseline = "b.csv"\n'
                                     'max_increase = "10%"\n')
    out = run("check", tmp_path / "g.toml", "--format", "json")
    assert "0.3 -> 0.33, change +0.0300000001 (+10.00000003%)" in json.loads(out.stdout)["gates"][0]["checks"][0][
        "measured"]
    pd.DataFrame({"pred": [0.32]}).to_csv(tmp_path / "c.csv", index=False)  # (far from it: as before)
    assert re.search(r"\| 0\.02 \| \+6\.67% \|", run(*args[:-2], "--fail-if-worse", "10%", "--format", "markdown").stdout)


def test_a_confidence_no_bootstrap_reaches_says_the_most_there_is(run, tmp_path):
    """--confidence 0.999999 was told to take 2000000 resamples, past --bootstrap's 1,000,000, and
    0.99999999999 was called a "100% interval" needing 199999983452 (2e11)."""
    pd.DataFrame({"p": np.arange(10.0), "y": np.arange(10.0) + 1}).to_csv(tmp_path / "e.csv", index=False)
    e = f"{tmp_path}/e.csv"
    out = run("compare", "mse", f"{e}:p", f"{e}:p", f"{e}:y", "--confidence", "0.99999999999", "--bootstrap", "1000000")
    assert (out.exit_code, out.stderr) == (2, "Error: --bootstrap 1000000: 1000000 resamples give no 99.999999999% "
                                              "interval: each tail (5e-10% of them) must hold one resample at least, "
                                              "so it needs 200,000,000,000, more than --bootstrap allows (1,000,000): "
                                              "the most its resamples give is --confidence 0.999998\n")


@pytest.mark.parametrize("name, table", [("pyproject.toml", "tool.losscli.gate"), ("losscli.toml", "gate")])
def test_a_gate_written_with_one_bracket_is_told_two(run, tmp_path, name, table):
    """[tool.losscli.gate] in a pyproject was told "add [[gate]] tables", which a pyproject does not read."""
    (tmp_path / name).write_text(f'[{table}]\nloss = "mae"\ninputs = ["p.csv", "y.csv"]\nmax = 1\n')
    out = run("check", tmp_path / name)
    where = f"{tmp_path}/{name}" + (": [tool.losscli]" if name == "pyproject.toml" else "")
    assert (out.exit_code, out.stderr) == (2, f"Error: {where}: [{table}] is one table; gates are an array of "
                                              f"tables, written with two brackets: [[{table}]]\n")


def test_a_slice_whose_rows_one_models_nan_all_took_is_listed_empty(run, tmp_path):
    """Review 114 #1: the candidate NaN on every row of slice a: KeyError, exit 3 (compare, and a gate)."""
    rng = np.random.default_rng(5)
    g = np.repeat(["a", "b", "c"], 20)
    y = rng.normal(size=60)
    c = y + rng.normal(0, 0.3, 60)
    c[g == "a"] = np.nan
    pd.DataFrame({"pred": y + rng.normal(0, 0.3, 60), "g": g}).to_csv(tmp_path / "b.csv", index=False)
    with np.errstate(invalid="ignore"):  # (pandas 2.0 warns in its own to_csv of NaN)
        pd.DataFrame({"pred": c}).to_csv(tmp_path / "c.csv", index=False)
    pd.DataFrame({"y": y}).to_csv(tmp_path / "y.csv", index=False)
    out = run("compare", "mse", f"{tmp_path}/b.csv:pred", tmp_path / "c.csv", tmp_path / "y.csv", "--by-file",
              f"{tmp_path}/b.csv:g", "--by", "g", "--nan-policy", "omit", "--format", "json")
    assert out.exit_code == 0, out.stderr
    r = json.loads(out.stdout)["results"][0]
    assert r["count"] == 40 and {s["key"]["g"]: s["count"] for s in r["slices"]} == {"a": 0, "b": 20, "c": 20}
    (tmp_path / "g.toml").write_text('[[gate]]\nloss = "mse"\ninputs = ["c.csv", "y.csv"]\nbaseline = "b.csv:pred"\n'
                                     'max_increase = "50%"\nnan_policy = "omit"\nby = "g"\nby_file = "b.csv:g"\n')
    out = run("check", tmp_path / "g.toml")
    assert out.exit_code in (0, 1) and "Traceback" not in out.stderr and "internal error" not in out.stderr


def test_a_nan_change_fails_a_significant_gate_of_few_samples(run, tmp_path):
    """Review 114 #2: a NaN candidate (propagate) on 5 rows was undecided, exit 0; NaN fails every gate."""
    pd.DataFrame({"pred": np.zeros(5)}).to_csv(tmp_path / "b.csv", index=False)
    with np.errstate(invalid="ignore"):  # (pandas 2.0 warns in its own to_csv of NaN)
        pd.DataFrame({"pred": [0.1, 0.1, np.nan, 0.1, 0.1]}).to_csv(tmp_path / "c.csv", index=False)
    pd.DataFrame({"label": np.zeros(5)}).to_csv(tmp_path / "y.csv", index=False)
    out = run("compare", "mse", tmp_path / "b.csv", tmp_path / "c.csv", tmp_path / "y.csv", "--fail-if-worse",
              "--significant", "--nan-policy", "propagate", "--top", "0")
    assert out.exit_code == 1 and re.search(r"\| mse\s+\| FAIL\s+\|", out.stdout)


def test_an_undecided_gate_is_said_so_in_every_format(run, tmp_path):
    """Review 114 #3: a 5-row slice whose mse went 0.04 -> 8.8 showed PASS (table), a tick (markdown), a
    passing testcase (JUnit); check's gate showed PASS/ok."""
    rng = np.random.default_rng(6)
    g = np.array(["tiny"] * 5 + ["big"] * 55)
    y = rng.normal(size=60)
    b = y + rng.normal(0, 0.2, 60)
    c = b.copy()
    c[:5] += 3.0
    pd.DataFrame({"pred": b}).to_csv(tmp_path / "b.csv", index=False)
    pd.DataFrame({"pred": c}).to_csv(tmp_path / "c.csv", index=False)
    pd.DataFrame({"y": y, "g": g}).to_csv(tmp_path / "y.csv", index=False)
    args = ["compare", "mse", tmp_path / "b.csv", tmp_path / "c.csv", f"{tmp_path}/y.csv:y", "--by-file",
            f"{tmp_path}/y.csv:g", "--by", "g", "--min-slice-size", "1", "--fail-if-worse", "0", "--significant"]
    assert re.search(r"\| tiny \| undecided \|", run(*args).stdout)
    assert "| tiny | ⚠️ undecided |" in run(*args, "--format", "markdown").stdout or \
        re.search(r"tiny \|.*⚠️ undecided", run(*args, "--format", "markdown").stdout)
    junit = run(*args, "--format", "junit").stdout
    assert re.search(r'name="mse \[g=tiny\]"[^>]*>\s*<skipped message="undecided: --significant: 5 samples', junit)
    (tmp_path / "g.toml").write_text('[[gate]]\nloss = "mse"\ninputs = ["c.csv", "y.csv:y"]\nbaseline = "b.csv"\n'
                                     'max_increase = 0\nsignificant = true\n')
    pd.DataFrame({"pred": b[:5]}).to_csv(tmp_path / "b.csv", index=False)
    pd.DataFrame({"pred": c[:5]}).to_csv(tmp_path / "c.csv", index=False)
    pd.DataFrame({"y": y[:5]}).to_csv(tmp_path / "y.csv", index=False)
    out = run("check", tmp_path / "g.toml", "--format", "json")
    gate = json.loads(out.stdout)["gates"][0]
    assert out.exit_code == 0 and gate["passed"]
    assert gate["undecided"].startswith("--significant: 5 samples whose loss got worse cannot")
    assert re.search(r"\| mse on c\.csv \| undecided \|", run("check", tmp_path / "g.toml").stdout)
    assert '<skipped message="undecided: --significant: 5 samples' in run("check", tmp_path / "g.toml", "--format",
                                                                          "junit").stdout


def test_rows_both_models_score_alike_are_no_samples_of_significance(run, tmp_path):
    """Review 115 #1: 95 rows alike and 5 worse FAILed --significant, while those 5 alone were
    undecided: a sign test leaves ties out; 5 changed samples show nothing at 95%."""
    y = np.zeros(100)
    b = np.full(100, 0.1)
    c = b.copy()
    c[:5] = 0.3
    _models(tmp_path, b, c, y)
    out, gate = _significant(run, tmp_path)
    assert out.exit_code == 0 and gate["undecided"].startswith("--significant: 5 samples whose loss got worse cannot")
    c[:6] = 0.3
    _models(tmp_path, b, c, y)
    out, gate = _significant(run, tmp_path)
    assert out.exit_code == 1 and "undecided" not in gate


@pytest.mark.parametrize("case", ["slice change", "interval low end", "at the tolerance"])
def test_what_a_gate_judged_is_never_shown_as_its_bound_against_the_verdict(run, tmp_path, case):
    """Review 115 #3-#5: a slice's change of 0.5000001 read 0.5 beside FAIL (tolerance 0.5); with
    --significant the interval's low end 0.0500001 read 0.05 beside FAIL; and a change at its
    tolerance within rounding (1.0 -> 1.1, 10%) sprouted 17 digits beside PASS."""
    n = 40
    y = np.zeros(n)
    if case == "slice change":
        b, c, args = np.zeros(n), np.full(n, np.sqrt(0.5000001)), ["--fail-if-worse", "0.5", "--by-file",
                                                                 f"{tmp_path}/g.csv", "--by", "g"]
    elif case == "interval low end":
        b, c, args = np.zeros(n), np.full(n, np.sqrt(0.0500001)), ["--fail-if-worse", "0.05", "--significant"]
    else:
        b, c, args = np.ones(n), np.full(n, np.sqrt(1.1)), ["--fail-if-worse", "10%"]
    _models(tmp_path, b, c, y)
    pd.DataFrame({"g": ["a"] * n}).to_csv(tmp_path / "g.csv", index=False)
    base = ["compare", "mse", tmp_path / "b.csv", tmp_path / "c.csv", tmp_path / "y.csv", *args]
    table, md = run(*base).stdout, run(*base, "--format", "markdown").stdout
    if case == "at the tolerance":
        assert "| `mse` | 1 | 1.1 | 0.1 | +10.00% |" in md and re.search(r"\|\s+0\.1 \| \+10\.00% \|", table)
        assert run(*base).exit_code == 0
    elif case == "slice change":
        assert run(*base).exit_code == 1
        assert re.search(r"\| a\s+\| FAIL\s+\|\s+40 \|.*\| 0\.5000001 \|", table) and "| 0.5000001 |" in md
    else:
        assert run(*base).exit_code == 1 and "[0.0500001, " in table and "\\[0.0500001, " in md


def test_a_significant_gate_is_undecided_only_where_it_would_have_failed(run, tmp_path):
    """Review 116: identical models (change 0) were undecided ("2^-0 = 1"), and mbe's errors flipping
    sign at one size counted as unchanged: a regression of 50 rows all one way was undecided, exit 0."""
    y = np.zeros(100)
    b = np.where(np.arange(100) % 2 == 0, 1.0, -1.0)  # mbe 0: errors of ±1
    c = -np.ones(100)  # mbe -1: the same sizes, one sign
    _models(tmp_path, b, c, y)
    same, gate = _significant(run, tmp_path, candidate="b")
    assert same.exit_code == 0 and gate["passed"] and "undecided" not in gate
    flips, gate = _significant(run, tmp_path, "mbe")
    assert flips.exit_code == 1 and not gate["passed"] and "undecided" not in gate


def test_a_passing_change_never_reads_above_its_tolerance(run, tmp_path):
    """Review 116 #5: 0.123455 read 0.1235 beside PASS at a tolerance of 0.12346."""
    _models(tmp_path, [1.0], [1.123455], [0.0])
    out = run("compare", "mae", tmp_path / "b.csv", tmp_path / "c.csv", tmp_path / "y.csv", "--fail-if-worse",
              "0.12346", "--top", "0")
    assert out.exit_code == 0 and re.search(r"\| PASS \|\s+1 \|\s+1\.123455 \| 0\.123455 \|", out.stdout)


def test_rows_that_improved_are_no_evidence_of_a_regression(run, tmp_path):
    """Review 117 #2: 5 rows worse beside 20 better FAILed --significant where the same 5 alone were
    undecided: a one-sided sign test counts the rows that got worse."""
    y = np.zeros(100)
    b = np.full(100, 0.5)
    c = b.copy()
    c[:5] += 2.0  # worse
    c[5:25] *= 0.9  # better
    _models(tmp_path, b, c, y)
    out, gate = _significant(run, tmp_path)
    assert out.exit_code == 0 and gate["undecided"].startswith("--significant: 5 samples whose loss got worse cannot")
