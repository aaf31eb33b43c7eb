"""Rows of no share in the mean (weight 0, the loss's ``ignore_index`` label) are evaluated for the
reduction, where they add nothing, and kept among the per-sample values (torch's reduction="none"
gives an ignored row 0), but are no samples: not in the count, the statistics, the worst samples,
the gates, the slices' sizes, compare's better/worse shares or the bootstrap (review 65 F1, F2: a
row left out with weight 0, as losscli's own error advises, failed --fail-above and led the worst
list; void pixels counted in N and the median)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from .conftest import compute_json as _result


@pytest.fixture
def weighted(tmp_path):
    pd.DataFrame({"pred": [1000.0, 1, 2, 3]}).to_csv(tmp_path / "p.csv", index=False)
    pd.DataFrame({"pred": [1000.0, 1.1, 2.1, 3.1]}).to_csv(tmp_path / "c.csv", index=False)
    pd.DataFrame({"pred": [0.0, 1, 2, 3]}).to_csv(tmp_path / "b.csv", index=False)
    pd.DataFrame({"label": [0.0, 1.5, 2.5, 2]}).to_csv(tmp_path / "y.csv", index=False)
    pd.DataFrame({"w": [0.0, 1, 1, 1]}).to_csv(tmp_path / "w.csv", index=False)
    return tmp_path


@pytest.mark.parametrize("engine", ["local", "dask"])
def test_a_row_of_weight_0_is_no_sample(run, weighted, engine):
    d = weighted
    data, _ = _result(run, "mse", d / "p.csv", d / "y.csv", "--weights", d / "w.csv", "--engine", engine)
    rec = data["results"][0]
    assert (rec["value"], rec["count"]) == (0.5, 3)
    assert rec["stats"]["max"] == 1.0 and rec["stats"]["mean"] == 0.5
    assert [w["index"] for w in rec["worst"]] == [3, 1, 2]
    # the gate of --reduction none judges the rows that count; the per-sample values are every row's
    out = run("compute", "mse", d / "p.csv", d / "y.csv", "--weights", d / "w.csv", "--reduction", "none",
              "--format", "value", "--fail-above", 5, "--engine", engine)
    assert (out.exit_code, out.stdout.split()) == (0, ["1000000.0", "0.25", "0.25", "1.0"]), out.stderr
    out = run("compute", "mse", d / "p.csv", d / "y.csv", "--weights", d / "w.csv", "--fail-above", 0.4)
    assert out.exit_code == 1 and "mean loss 0.5 is above --fail-above 0.4" in out.stderr


def test_compare_shares_and_regressions_leave_a_row_of_weight_0_out(run, weighted):
    d = weighted
    out = run("compare", "mse", d / "b.csv", d / "c.csv", d / "y.csv", "--weights", d / "w.csv", "--format", "json")
    assert out.exit_code == 0, out.stderr
    rec = json.loads(out.stdout)["results"][0]
    assert (rec["count"], rec["better"], rec["worse"]) == (3, pytest.approx(2 / 3), pytest.approx(1 / 3))
    assert [r["index"] for r in rec["worst_regressions"]] == [3]
    assert all(v is not None for v in rec["bootstrap"]["interval"])
    # a slice of weight-0 rows only has no sample: its shares are undefined (numpy's "Mean of empty
    # slice" and "invalid value" warnings reached stderr)
    pd.DataFrame({"g": ["zero", "rest", "rest", "rest"]}).to_csv(d / "g.csv", index=False)
    out = run("compare", "mse", d / "b.csv", d / "c.csv", d / "y.csv", "--weights", d / "w.csv", "--by-file",
              f"{d / 'g.csv'}:g", "--min-slice-size", 1, "--format", "json")
    assert (out.exit_code, out.stderr) == (0, "")
    by_key = {s["key"]["g"]: s for s in json.loads(out.stdout)["results"][0]["slices"]}
    assert [by_key["zero"][k] for k in ("better", "worse", "equal")] == [None, None, None]
    assert (by_key["rest"]["better"], by_key["rest"]["worse"]) == (pytest.approx(2 / 3), pytest.approx(1 / 3))
    # under --reduction sum that slice has no value at all: compare asserted one (exit 3) and the --ci table
    # read an interval it does not have (exit 3, KeyError)
    for fmt in ("json", "table", "markdown", "junit"):
        out = run("compare", "mse", d / "b.csv", d / "c.csv", d / "y.csv", "--weights", d / "w.csv", "--by-file",
                  f"{d / 'g.csv'}:g", "--min-slice-size", 1, "--reduction", "sum", "--format", fmt)
        assert (out.exit_code, out.stderr) == (0, ""), (fmt, out.stderr)
        ci = ["--ci"] if fmt in ("json", "table") else []  # (markdown and junit show no interval: --ci is refused)
        out = run("compute", "mse", d / "b.csv", d / "y.csv", "--weights", d / "w.csv", "--by-file", f"{d / 'g.csv'}:g",
                  "--min-slice-size", 1, "--reduction", "sum", *ci, "--format", fmt)
        assert (out.exit_code, out.stderr) == (0, ""), (fmt, out.stderr)
    zero = {s["key"]["g"]: s for s in json.loads(run("compute", "mse", d / "b.csv", d / "y.csv", "--weights", d / "w.csv",
            "--by-file", f"{d / 'g.csv'}:g", "--reduction", "sum", "--ci", "--format", "json").stdout)["results"][0]["slices"]}["zero"]
    assert (zero["value"], zero["ranked"]) == (None, False) and "no row has a share" in zero["note"]


@pytest.mark.parametrize("engine", ["local", "dask"])
def test_ignored_labels_are_no_samples(run, tmp_path, engine):
    """Segmentation-style labels with ignore_index rows: N, the statistics and each slice's size are
    those of the labelled rows; a slice of ignored rows only is reported, not judged."""
    rng = np.random.default_rng(65)
    z, y = rng.normal(size=(60, 3)), rng.integers(0, 3, 60)
    y[30:59] = -100
    np.save(tmp_path / "z.npy", z)
    np.save(tmp_path / "y.npy", y)
    pd.DataFrame({"g": ["a"] * 30 + ["b"] * 30}).to_csv(tmp_path / "g.csv", index=False)
    z0 = z - z.max(axis=1, keepdims=True)
    per = np.log(np.exp(z0).sum(axis=1)) - z0[np.arange(60), np.where(y < 0, 0, y)]
    kept = y >= 0
    data, _ = _result(run, "softmax_ce", tmp_path / "z.npy", tmp_path / "y.npy", "--by", "g", "--by-file",
                      tmp_path / "g.csv", "--per-sample", "--engine", engine)
    rec = data["results"][0]
    assert rec["count"] == 31 and rec["value"] == pytest.approx(per[kept].mean(), rel=1e-12)
    assert rec["stats"]["mean"] == pytest.approx(rec["value"], rel=1e-12)
    assert rec["stats"]["min"] == pytest.approx(per[kept].min(), rel=1e-12)
    assert rec["stats"]["p50"] == pytest.approx(np.quantile(per[kept], 0.5), rel=1e-12)
    assert len(rec["per_sample"]) == 60 and rec["per_sample"][30] == 0.0  # (as torch's reduction="none")
    slices = {s["key"]["g"]: s for s in rec["slices"]}
    assert (slices["a"]["count"], slices["b"]["count"], slices["b"]["ranked"]) == (30, 1, False)
    y[30:] = -100
    np.save(tmp_path / "y.npy", y)
    data, _ = _result(run, "softmax_ce", tmp_path / "z.npy", tmp_path / "y.npy", "--by", "g", "--by-file",
                      tmp_path / "g.csv", "--engine", engine)
    b = next(s for s in data["results"][0]["slices"] if s["key"]["g"] == "b")
    assert (b["count"], b["value"], b["ranked"]) == (0, None, False)
    assert b["note"] == "no row has a share in the mean (every weight is 0, or every label ignored): its value is " \
                        "undefined"
