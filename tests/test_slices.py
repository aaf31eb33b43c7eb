"""Slices (``--by``): the loss by group in compute, compare and check. Every value, count and
statistic is checked against pandas ``groupby`` on the same data (1e-12 relative), every interval
against the command run on the slice's rows alone, every error by its exact text; inputs are
written by pandas and pyarrow as users write them."""

from __future__ import annotations

import datetime
import json
import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

N = 600
STATS = ("mean", "std", "min", "p50", "p90", "p99", "max")


@pytest.fixture(autouse=True)
def _quiet_to_csv(monkeypatch):
    """pandas 2.0 (the lowest supported) warns inside its own to_csv of a float column with NaN:
    silenced where the tests write their data, never in losscli."""
    original = pd.DataFrame.to_csv

    def to_csv(self, *args, **kwargs):
        with np.errstate(invalid="ignore"):
            return original(self, *args, **kwargs)

    monkeypatch.setattr(pd.DataFrame, "to_csv", to_csv)


def _frame(n=N, seed=19) -> pd.DataFrame:
    """An evaluation frame of ``n`` rows, the same for every test that asks for it (a generator of
    its own per call: a test's data does not depend on which tests ran before it)."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"pred": rng.normal(size=n), "label": rng.normal(size=n),
                       "region": rng.choice(["EU", "US", "APAC"], n), "device": rng.integers(0, 3, n),
                       "w": rng.uniform(0, 2, n)})
    df.loc[:4, "region"] = "MARS"  # a slice of 5 rows: too small to rank
    return df


def _json(run, *args, code=0):
    out = run(*args, "--format", "json")
    assert out.exit_code == code, out.stderr
    return json.loads(out.stdout)


def _expected(df: pd.DataFrame, by: list[str], loss, weights=None) -> dict:
    """pandas' groupby of the per-sample losses: key tuple -> count, value, statistics."""
    df = df.assign(l=loss(df))
    out = {}
    for key, g in df.groupby(by, dropna=False, sort=False):
        key = key if isinstance(key, tuple) else (key,)
        l = g["l"].to_numpy()
        value = float((g[weights] * g["l"]).sum() / g[weights].sum()) if weights else float(g["l"].mean())
        q = g["l"].quantile([0.5, 0.9, 0.99]).to_numpy()
        out[tuple(None if isinstance(k, float) and math.isnan(k) else k for k in key)] = {
            "count": len(g), "value": value,
            "stats": dict(zip(STATS, [g["l"].mean(), g["l"].std(ddof=0), l.min(), *q, l.max()]))}
    return out


def _mse(df):
    return (df["pred"] - df["label"]) ** 2


def _close(a, b, rel=1e-12):
    assert a == pytest.approx(b, rel=rel, abs=1e-300), (a, b)


def _check_against(slices: list[dict], expected: dict, by: list[str]):
    assert len(slices) == len(expected)
    for s in slices:
        e = expected[tuple(s["key"][c] for c in by)]
        assert s["count"] == e["count"]
        _close(s["value"], e["value"])
        for k in STATS:
            _close(s["stats"][k], e["stats"][k])


# -- values against pandas groupby ------------------------------------------------------------------
@pytest.mark.parametrize("by", [["region"], ["device"], ["region", "device"]])
def test_slices_equal_pandas_groupby(run, tmp_path, by):
    df = _frame()
    df.to_csv(tmp_path / "eval.csv", index=False)
    out = _json(run, "compute", "mse", f"{tmp_path}/eval.csv:pred", f"{tmp_path}/eval.csv:label",
                "--by", ",".join(by))
    rec = out["results"][0]
    _check_against(rec["slices"], _expected(df, by, _mse), by)
    _close(rec["value"], float(_mse(df).mean()))  # the overall value stays beside the slices
    assert out["by"] == {"columns": by, "file": None, "min_slice_size": 30, "top_slices": None}


def test_weights_nan_omit_and_blocks(run, tmp_path):
    """Weighted means, rows dropped by --nan-policy omit, and blocks of 7 rows (slices spread
    over many blocks): still pandas' numbers."""
    df = _frame()
    df.loc[[10, 50, 51], "pred"] = np.nan
    df.to_csv(tmp_path / "eval.csv", index=False)
    out = _json(run, "compute", "mse", f"{tmp_path}/eval.csv:pred", f"{tmp_path}/eval.csv:label", "--by",
                "region,device", "--weights", f"{tmp_path}/eval.csv:w", "--nan-policy", "omit", "--block-rows", "7")
    kept = df.dropna(subset=["pred"])
    _check_against(out["results"][0]["slices"], _expected(kept, ["region", "device"], _mse, "w"), ["region", "device"])


def test_per_class_loss_of_a_classifier(run, tmp_path):
    """--by label: the loss of each class, from the label column that is also the data."""
    rng = np.random.default_rng(25)
    logits = rng.standard_normal((N, 3))
    y = rng.integers(0, 3, N)
    pd.DataFrame(logits, columns=["a", "b", "c"]).to_csv(tmp_path / "logits.csv", index=False)
    pd.DataFrame({"label": y}).to_csv(tmp_path / "labels.csv", index=False)
    out = _json(run, "compute", "softmax_ce", tmp_path / "logits.csv", tmp_path / "labels.csv", "--by", "label")
    z = logits - logits.max(axis=1, keepdims=True)
    per = np.log(np.exp(z).sum(axis=1)) - z[np.arange(N), y]
    for s in out["results"][0]["slices"]:
        _close(s["value"], float(per[y == s["key"]["label"]].mean()))
        assert s["count"] == int((y == s["key"]["label"]).sum())
    _close(out["results"][0]["value"], float(per.mean()))


def test_reduction_sum_and_none(run, tmp_path):
    df = _frame()
    df.to_csv(tmp_path / "eval.csv", index=False)
    args = ["compute", "mse", f"{tmp_path}/eval.csv:pred", f"{tmp_path}/eval.csv:label", "--by", "region"]
    sums = _json(run, *args, "--reduction", "sum")["results"][0]["slices"]
    e = df.assign(l=_mse(df)).groupby("region")["l"].sum()
    for s in sums:
        _close(s["value"], float(e[s["key"]["region"]]))
    none = _json(run, *args, "--reduction", "none")["results"][0]["slices"]
    assert all(s["value"] is None for s in none)
    means = df.assign(l=_mse(df)).groupby("region")["l"].mean()
    ranked = [s["key"]["region"] for s in none if s["ranked"]]
    assert ranked == sorted(ranked, key=lambda r: -means[r])  # by the mean, with reduction none


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_property_any_keys_any_blocks(run, tmp_path, data):
    """Keys of any text, integers and missing values, in any block size: pandas' groupby."""
    n = data.draw(st.integers(1, 60))
    keys = data.draw(st.lists(st.sampled_from(["a", "b", " c", "d e", "", "ünï", "1x"]), min_size=n, max_size=n))
    ints = data.draw(st.lists(st.integers(-3, 3), min_size=n, max_size=n))
    rng = np.random.default_rng(data.draw(st.integers(0, 1000)))
    df = pd.DataFrame({"pred": rng.normal(size=n), "label": rng.normal(size=n), "k": keys, "i": ints})
    df.to_csv(tmp_path / "p.csv", index=False)
    block = data.draw(st.integers(1, 70))
    out = _json(run, "compute", "mse", f"{tmp_path}/p.csv:pred", f"{tmp_path}/p.csv:label", "--by", "k,i",
                "--block-rows", block, "--min-slice-size", 1)
    back = pd.read_csv(tmp_path / "p.csv", keep_default_na=False, na_values=[""])  # as the file holds them
    _check_against(out["results"][0]["slices"], _expected(back, ["k", "i"], _mse), ["k", "i"])


# -- ranking, small slices, listing ---------------------------------------------------------------
def test_worst_first_small_slices_not_ranked_top_slices(run, tmp_path):
    df = _frame()
    df.to_csv(tmp_path / "eval.csv", index=False)
    args = ["compute", "mse", f"{tmp_path}/eval.csv:pred", f"{tmp_path}/eval.csv:label", "--by", "region,device"]
    rec = _json(run, *args)["results"][0]
    values = [s["value"] for s in rec["slices"] if s["ranked"]]
    assert values == sorted(values, reverse=True)
    small = [s for s in rec["slices"] if not s["ranked"]]
    assert small and all(s["count"] < 30 for s in small) and all(s["key"]["region"] == "MARS" for s in small)
    assert rec["slices"][-len(small):] == small  # after the ranked ones
    sizes = df.groupby(["region", "device"]).size()
    assert rec["slice_counts"] == {"total": len(sizes), "ranked": int((sizes >= 30).sum()),
                                   "small": int((sizes < 30).sum()), "shown": len(sizes), "failed": 0}
    top = _json(run, *args, "--top-slices", "2", "--min-slice-size", "60")["results"][0]
    ranked = [s for s in top["slices"] if s["ranked"]]
    big = [s["value"] for s in rec["slices"] if s["count"] >= 60]
    assert [s["value"] for s in ranked] == big[:2] and all(s["count"] >= 60 for s in ranked)
    assert top["slice_counts"]["shown"] == len(top["slices"]) == 2 + min(2, int((sizes < 60).sum()))


def test_worst_samples_of_each_slice(run, tmp_path):
    df = _frame()
    df.to_csv(tmp_path / "eval.csv", index=False)
    rec = _json(run, "compute", "mse", f"{tmp_path}/eval.csv:pred", f"{tmp_path}/eval.csv:label", "--by", "region",
                "--top", "3", "--block-rows", "50")["results"][0]
    l = _mse(df).to_numpy()
    for s in rec["slices"]:
        rows = np.flatnonzero(df["region"].to_numpy() == s["key"]["region"])
        best = rows[np.lexsort((rows, -l[rows]))][:3]
        assert [w["index"] for w in s["worst"]] == best.tolist()
        assert [w["loss"] for w in s["worst"]] == l[best].tolist()


# -- intervals: the slice's rows alone ---------------------------------------------------------------
def test_ci_per_slice_equals_the_slice_alone(run, tmp_path):
    df = _frame()
    df.to_csv(tmp_path / "eval.csv", index=False)
    rec = _json(run, "compute", "mse", f"{tmp_path}/eval.csv:pred", f"{tmp_path}/eval.csv:label", "--by", "region",
                "--ci", "--bootstrap", "300", "--weights", f"{tmp_path}/eval.csv:w")["results"][0]
    assert "per_sample" not in rec and rec["ci"]["samples"] == 300
    for s in rec["slices"]:
        part = df[df["region"] == s["key"]["region"]]
        part.to_csv(tmp_path / "part.csv", index=False)
        alone = _json(run, "compute", "mse", f"{tmp_path}/part.csv:pred", f"{tmp_path}/part.csv:label", "--ci",
                      "--bootstrap", "300", "--weights", f"{tmp_path}/part.csv:w")["results"][0]
        assert s["ci"] == alone["ci"]["interval"]
        _close(s["value"], alone["value"])


def test_compare_per_slice_equals_compare_on_the_slice_alone(run, tmp_path):
    rng = np.random.default_rng(26)  # (the candidate 2.7% worse in all, 8.8% in EU)
    df = _frame()
    df["cand"] = df["pred"] + np.where(df["region"] == "EU", 0.6, 0.0) * rng.normal(size=N)
    df.to_csv(tmp_path / "eval.csv", index=False)
    e = f"{tmp_path}/eval.csv"
    out = _json(run, "compare", "mse", f"{e}:pred", f"{e}:cand", f"{e}:label", "--by", "region",
                "--fail-if-worse", "5%", code=1)
    rec = out["results"][0]
    assert rec["gate"]["passed"] and not out["passed"]  # the whole passes, a slice does not
    assert rec["slices"][0]["key"] == {"region": "EU"} and not rec["slices"][0]["gate"]["passed"]
    changes = [s["change"] for s in rec["slices"] if s["ranked"]]
    assert changes == sorted(changes, reverse=True)
    for s in rec["slices"]:
        part = df[df["region"] == s["key"]["region"]]
        part.to_csv(tmp_path / "part.csv", index=False)
        p = f"{tmp_path}/part.csv"
        alone = _json(run, "compare", "mse", f"{p}:pred", f"{p}:cand", f"{p}:label", "--fail-if-worse", "5%",
                      code=0 if s["key"]["region"] != "EU" else 1)["results"][0]
        assert s["bootstrap"] == alone["bootstrap"]
        for k in ("baseline", "candidate", "change", "better", "worse"):
            _close(s[k], alone[k])
        assert ("gate" in s) == s["ranked"]  # too small: not gated


# -- where the key columns come from -------------------------------------------------------------------
def test_by_file_by_position_and_by_key(run, tmp_path):
    df = _frame()
    df[["pred"]].to_csv(tmp_path / "preds.csv", index=False)
    df[["label"]].to_csv(tmp_path / "labels.csv", index=False)
    df[["region"]].to_csv(tmp_path / "slices.csv")  # with pandas' index, as to_csv() writes it
    expected = _expected(df, ["region"], _mse)
    out = _json(run, "compute", "mse", tmp_path / "preds.csv", tmp_path / "labels.csv",
                "--by-file", f"{tmp_path}/slices.csv:region")
    _check_against(out["results"][0]["slices"], expected, ["region"])
    assert out["by"]["file"] == f"{tmp_path}/slices.csv:region"
    assert {"path": f"{tmp_path}/slices.csv", "roles": ["slices"]}.items() <= {
        "path": out["inputs"][-1]["path"], "roles": out["inputs"][-1]["roles"]}.items()
    # by key: every file in its own order, the slices' file too
    df["id"] = np.arange(N) * 7 + 1000
    df.sample(frac=1, random_state=1)[["id", "pred"]].to_csv(tmp_path / "preds.csv", index=False)
    df.sample(frac=1, random_state=2)[["id", "label"]].to_csv(tmp_path / "labels.csv", index=False)
    df.sample(frac=1, random_state=3)[["id", "region"]].to_csv(tmp_path / "slices.csv", index=False)
    out = _json(run, "compute", "mse", f"{tmp_path}/preds.csv:pred", f"{tmp_path}/labels.csv:label", "--on", "id",
                "--by", "region", "--by-file", tmp_path / "slices.csv")
    _check_against(out["results"][0]["slices"], expected, ["region"])
    worst = out["results"][0]["slices"][0]["worst"][0]
    assert df.loc[df["id"] == worst["key"], "region"].item() == out["results"][0]["slices"][0]["key"]["region"]


def test_key_column_in_the_labels_with_on(run, tmp_path):
    df = _frame()
    df["id"] = np.arange(N)
    df.sample(frac=1, random_state=4)[["id", "pred"]].to_csv(tmp_path / "preds.csv", index=False)
    df[["id", "label", "region"]].to_csv(tmp_path / "labels.csv", index=False)
    out, = [_json(run, "compute", "mse", f"{tmp_path}/preds.csv:pred", f"{tmp_path}/labels.csv:label",
                  "--on", "id", "--by", "region")]
    _check_against(out["results"][0]["slices"], _expected(df, ["region"], _mse), ["region"])


def test_parquet_categorical_bool_and_missing_keys(run, tmp_path):
    df = _frame()
    df["region"] = df["region"].astype("category")
    df["flag"] = df["device"] == 1
    df.loc[7:9, "region"] = None
    df.to_parquet(tmp_path / "eval.parquet")
    out = _json(run, "compute", "mse", f"{tmp_path}/eval.parquet:pred", f"{tmp_path}/eval.parquet:label",
                "--by", "region,flag", "--min-slice-size", "1")
    slices = out["results"][0]["slices"]
    assert {(s["key"]["region"], s["key"]["flag"]) for s in slices} >= {(None, True), ("EU", False)}
    plain = df.assign(region=df["region"].astype(object))
    _check_against(slices, _expected(plain, ["region", "flag"], _mse), ["region", "flag"])


def test_naming_a_slice_column_never_changes_what_is_read(run, tmp_path):
    """A --by column is data as it would be without --by: a file read whole keeps it (an error
    when it makes two columns, never a different column silently), a selector picks around it."""
    df = _frame()
    df[["pred", "device"]].to_csv(tmp_path / "preds.csv", index=False)
    df[["label", "device"]].to_csv(tmp_path / "labels.csv", index=False)
    out = run("compute", "mse", f"{tmp_path}/preds.csv:pred", tmp_path / "labels.csv", "--by", "label")
    assert out.exit_code == 2 and "labels.csv (mse labels): has shape (600, 2) (columns 'label', 'device') but" in out.stderr
    out = run("compute", "mse", f"{tmp_path}/preds.csv:pred", f"{tmp_path}/labels.csv:label", "--by", "device",
              "--format", "json")
    assert out.exit_code == 0, out.stderr
    assert "device" not in out.stderr  # no note: the user named it
    _check_against(json.loads(out.stdout)["results"][0]["slices"], _expected(df, ["device"], _mse), ["device"])


# -- errors -------------------------------------------------------------------------------------------
def test_compare_names_where_a_slice_column_is(run, tmp_path):
    """compare slices both models by the same rows, read with each: a --by column only the baseline's
    file holds was named as missing from the candidate's file and the labels, which it was, without a
    word of the file that holds it (review 73). Said so, with the --by-file that reads it, which
    compares per slice; a column no file holds is named as missing from the baseline's and the labels."""
    df = _frame()
    df[["pred", "device"]].to_csv(tmp_path / "base.csv", index=False)
    (df[["pred"]] + 0.5).to_csv(tmp_path / "cand.csv", index=False)
    df[["label"]].to_csv(tmp_path / "y.csv", index=False)
    b, c, y = tmp_path / "base.csv", tmp_path / "cand.csv", tmp_path / "y.csv"
    out = run("compare", "mse", f"{b}:pred", f"{c}:pred", y, "--by", "device")
    assert out.exit_code == 2 and out.stdout == ""
    assert out.stderr == (f"Error: --by device: only the baseline's file holds column 'device', not the candidate's or "
                          f"the labels ({c}: pred; {y}: label); both models are sliced by the same rows: name the file "
                          f"(--by-file {b}:device)\n")
    out = run("compare", "mse", f"{b}:pred", f"{c}:pred", y, "--by-file", f"{b}:device", "--format", "json")
    assert out.exit_code == 0 and {s["key"]["device"] for s in json.loads(out.stdout)["results"][0]["slices"]} \
        == set(df["device"])
    out = run("compare", "mse", f"{c}:pred", f"{c}:pred", y, "--by", "country")
    assert out.exit_code == 2
    assert out.stderr == (f"Error: --by country: no column 'country' in the baseline's file or the labels ({c}: pred; "
                          f"{y}: label); both models are sliced by the same rows: keep the column in the labels, or "
                          "name its file (--by-file FILE:country)\n")


def test_missing_column_and_bad_options(run, tmp_path):
    df = _frame()
    df[["pred"]].to_csv(tmp_path / "preds.csv", index=False)
    df[["label"]].to_csv(tmp_path / "labels.csv", index=False)
    p, l = tmp_path / "preds.csv", tmp_path / "labels.csv"
    out = run("compute", "mse", p, l, "--by", "country")
    assert out.exit_code == 2 and out.stdout == ""
    assert out.stderr == (f"Error: --by country: no column 'country' in the inputs ({p}: pred; {l}: label); "
                          "--by-file FILE[:COLUMN] groups by a column of another file with one row per sample\n")
    out = run("compute", "mse", p, l, "--by", "region,region")
    assert out.exit_code == 2 and out.stderr == "Error: --by: the column 'region' is named twice\n"
    out = run("compute", "mse", p, l, "--top-slices", "3")
    assert out.exit_code == 2 and out.stderr == "Error: --top-slices goes with --by\n"
    out = run("compute", "mse", p, l, "--by-file", l)
    assert out.exit_code == 2 and "name the columns to group by" in out.stderr
    df[["region"]].iloc[:-1].to_csv(tmp_path / "short.csv", index=False)
    out = run("compute", "mse", p, l, "--by", "region", "--by-file", tmp_path / "short.csv")
    assert out.exit_code == 2 and "rows" in out.stderr and "short.csv" in out.stderr


def test_too_many_distinct_keys_names_the_column(run, tmp_path, monkeypatch):
    """A float column given by mistake: an error naming it, before memory runs out."""
    import losscli.io.slices

    monkeypatch.setattr(losscli.io.slices, "MAX_SLICES", 100)
    df = _frame()
    df.to_csv(tmp_path / "eval.csv", index=False)
    out = run("compute", "mse", f"{tmp_path}/eval.csv:pred", f"{tmp_path}/eval.csv:label", "--by", "w")
    assert out.exit_code == 2
    assert out.stderr == (f"Error: --by w ({tmp_path}/eval.csv): more than 100 distinct keys; slices are groups of "
                          "rows that share a value (a country, a device, a class), not a value per row: is it the "
                          "column you meant?\n")


# -- gates and reports ----------------------------------------------------------------------------------
def test_fail_above_holds_for_each_ranked_slice(run, tmp_path):
    df = _frame()
    df.to_csv(tmp_path / "eval.csv", index=False)
    e = f"{tmp_path}/eval.csv"
    per = df.assign(l=_mse(df)).groupby("region")["l"].mean()
    limit = float(per.drop("MARS").sort_values().iloc[1])  # between the ranked slices
    out = run("compute", "mse", f"{e}:pred", f"{e}:label", "--by", "region", "--fail-above", limit,
              "--format", "json")
    assert out.exit_code == 1
    worst = per.drop("MARS").idxmax()
    assert f"losscli: mse: slice region={worst}: mean loss {per[worst]:.6g} is above --fail-above {limit!r}" \
        in out.stderr
    slices = json.loads(out.stdout)["results"][0]["slices"]
    assert [s.get("passed") for s in slices if s["ranked"]] == [False, True, True]
    junit = run("compute", "mse", f"{e}:pred", f"{e}:label", "--by", "region", "--fail-above", limit,
                "--format", "junit").stdout
    assert f'name="mse (-) [region={worst}]"' in junit and 'failures="1"' in junit


def test_csv_one_row_per_slice(run, tmp_path):
    df = _frame()
    df.to_csv(tmp_path / "eval.csv", index=False)
    out = run("compute", "mse,mae", f"{tmp_path}/eval.csv:pred", f"{tmp_path}/eval.csv:label", "--by",
              "region,device", "--format", "csv")
    table = pd.read_csv(__import__("io").StringIO(out.stdout), keep_default_na=False)
    assert list(table.columns[:5]) == ["loss", "slice", "region", "device", "ranked"]
    assert len(table) == 2 * (1 + len(df.groupby(["region", "device"]).size()))
    row = table[(table["loss"] == "mse") & (table["slice"] == "region=EU;device=1")].iloc[0]
    _close(float(row["value"]), _expected(df, ["region", "device"], _mse)[("EU", 1)]["value"])
    assert table[table["slice"] == "all"]["region"].tolist() == ["", ""]


def test_check_gates_every_slice(run, tmp_path):
    rng = np.random.default_rng(23)
    df = _frame()
    df["cand"] = df["pred"] + np.where(df["region"] == "US", 0.8, 0.0) * rng.normal(size=N)
    df.to_csv(tmp_path / "eval.csv", index=False)
    per = df.assign(l=(df["cand"] - df["label"]) ** 2).groupby("region")["l"].mean()
    (tmp_path / "losscli.toml").write_text(f'''
[[gate]]
name = "per region"
loss = "mse"
inputs = ["eval.csv:cand", "eval.csv:label"]
max = {float(per.drop(["MARS", "US"]).max()) + 1e-9}
by = "region"

[[gate]]
name = "no regression"
loss = "mse"
inputs = ["eval.csv:cand", "eval.csv:label"]
baseline = "eval.csv:pred"
max_increase = "5%"
by = ["region"]
min_slice_size = 10
''')
    out = run("check", tmp_path / "losscli.toml", "--format", "json")
    assert out.exit_code == 1, out.stderr
    gates = json.loads(out.stdout)["gates"]
    for g in gates:
        failing = [s["key"]["region"] for s in g["slices"] if s.get("passed") is False]
        assert failing == ["US"], g
        assert g["checks"][-1] == {"check": f"slices by region ({g['by']['min_slice_size']}+ rows): 1 of 3 failed",
                                   "passed": False}
    assert all("passed" not in s for s in gates[0]["slices"] if s["key"]["region"] == "MARS")
    junit = run("check", tmp_path / "losscli.toml", "--format", "junit").stdout
    assert 'name="per region [region=US]"' in junit and 'name="no regression [region=US]"' in junit
    assert 'failures="4"' in junit  # two gates, and one slice in each
    # markdown names the failing slices too (it said "1 of 3 failed" and never which)
    md = run("check", tmp_path / "losscli.toml", "--format", "markdown").stdout
    for name in ("per region", "no regression"):
        part = md.split(f"\n{name}: ")[1].split("\n\n", 2)[1]  # that gate's slice table
        rows = {r.split(" | ")[0].strip("| "): r for r in part.splitlines()[2:]}
        assert rows["US"].endswith("| ❌ |") and all(rows[k].endswith("| ✅ |") for k in ("EU", "APAC"))


@pytest.mark.parametrize("line, message", [
    ('by = [1]', "key 'by' [1]: expected column names, none of them empty"),
    ('by = ""', "key 'by' '': expected column names, none of them empty"),
    ('by_file = "eval.csv"', "key 'by_file' {d}/eval.csv: name the columns to group by: key 'by' COLUMN, or "
                             "{d}/eval.csv:COLUMN[,COLUMN...]"),
    ('by = "region"\nmin_slice_size = 0', "key 'min_slice_size' must be an integer >= 1, got 0"),
    ('by = 3', "key 'by' must be str or list, got 3"),
])
def test_gate_slice_keys_are_checked(run, tmp_path, line, message):
    _frame().to_csv(tmp_path / "eval.csv", index=False)
    (tmp_path / "losscli.toml").write_text(
        f'[[gate]]\nloss = "mse"\ninputs = ["eval.csv:pred", "eval.csv:label"]\nmax = 9\n{line}\n')
    out = run("check", tmp_path / "losscli.toml")
    assert out.exit_code == 2 and out.stdout == ""
    assert out.stderr == f"Error: {tmp_path}/losscli.toml: gate 1: {message.format(d=tmp_path)}\n"


# -- found by review: each a class of silent or misleading result -------------------------------------
def test_value_format_still_gates_every_slice(run, tmp_path):
    df = _frame()
    df.to_csv(tmp_path / "eval.csv", index=False)
    per = df.assign(l=_mse(df)).groupby("region")["l"].mean().drop("MARS").sort_values()
    # (a limit between the two best slices: one equal to a slice's mean would rest on its last bit,
    # where a sum in another order may differ)
    out = run("compute", "mse", f"{tmp_path}/eval.csv:pred", f"{tmp_path}/eval.csv:label", "--by", "region",
              "--fail-above", float(per.iloc[:2].mean()), "--format", "value")
    assert out.exit_code == 1 and float(out.stdout) == pytest.approx(float(_mse(df).mean()), rel=1e-12)
    assert out.stderr.count("losscli: mse: slice region=") == len(per) - 1


def test_integer_keys_in_one_shard_and_text_in_another_are_one_slice(run, tmp_path):
    (tmp_path / "d").mkdir()
    df = _frame(200)
    df["k"] = np.where(np.arange(200) % 2, "1", "2").astype(object)
    df.loc[150, "k"] = "x"
    df.iloc[:100][["pred", "label", "k"]].to_csv(tmp_path / "d" / "part-0.csv", index=False)  # integers only
    df.iloc[100:][["pred", "label", "k"]].to_csv(tmp_path / "d" / "part-1.csv", index=False)  # and an x
    out = _json(run, "compute", "mse", f"{tmp_path}/d:pred", f"{tmp_path}/d:label", "--by", "k",
                "--min-slice-size", 1)
    counts = {str(s["key"]["k"]): s["count"] for s in out["results"][0]["slices"]}
    assert counts == {"1": 100, "2": 99, "x": 1}


def test_nan_and_unweighted_slices(run, tmp_path):
    df = _frame()
    df.loc[df.index[df["region"] == "US"][:1], "pred"] = np.nan
    df["w0"] = np.where(df["region"] == "EU", 0.0, 1.0)
    df.to_csv(tmp_path / "eval.csv", index=False)
    e = f"{tmp_path}/eval.csv"
    out = run("compute", "mse", f"{e}:pred", f"{e}:label", "--by", "region", "--nan-policy", "propagate",
              "--fail-above", 100, "--format", "json")
    assert out.exit_code == 1  # NaN fails, as it does overall, and is said as the whole's is
    assert "losscli: mse: slice region=US: mean loss nan is above --fail-above 100" in out.stderr
    out = run("compute", "mse", f"{e}:pred", f"{e}:label", "--by", "region", "--nan-policy", "omit",
              "--weights", f"{e}:w0", "--fail-above", 100, "--format", "json")
    assert out.exit_code == 0, out.stderr  # a slice without weight is reported, not judged
    eu = next(s for s in json.loads(out.stdout)["results"][0]["slices"] if s["key"]["region"] == "EU")
    assert eu["value"] is None and not eu["ranked"] and "every weight is 0" in eu["note"]
    # the table says so too: it showed the slice's unweighted mean as its value (review 60)
    out = run("compute", "mse", f"{e}:pred", f"{e}:label", "--by", "region", "--nan-policy", "omit",
              "--weights", f"{e}:w0", "--format", "table")
    row = next(line for line in out.stdout.splitlines() if line.startswith("| EU "))
    assert row.split("|")[3].strip() == "nan", row


def test_slices_whose_rows_were_all_omitted_are_reported(run, tmp_path):
    df = _frame()
    df.loc[df["region"] == "MARS", "pred"] = np.nan
    df.loc[[10, 11], "pred"] = np.nan
    df.to_csv(tmp_path / "eval.csv", index=False)
    rec = _json(run, "compute", "mse", f"{tmp_path}/eval.csv:pred", f"{tmp_path}/eval.csv:label", "--by", "region",
                "--nan-policy", "omit", "--block-rows", 64)["results"][0]
    mars = next(s for s in rec["slices"] if s["key"]["region"] == "MARS")
    assert mars["count"] == 0 and mars["omitted"] == 5 and mars["value"] is None and not mars["ranked"]
    assert sum(s["omitted"] for s in rec["slices"]) == rec["omitted"] == 7


def test_keys_held_by_several_inputs_must_agree(run, tmp_path):
    df = _frame()
    df[["pred", "region"]].to_csv(tmp_path / "p.csv", index=False)
    df[["label", "region"]].to_csv(tmp_path / "l.csv", index=False)
    moved = df.assign(region=df["region"].str.lower())
    moved[["pred", "region"]].to_csv(tmp_path / "c.csv", index=False)
    out = _json(run, "compute", "mse", f"{tmp_path}/p.csv:pred", f"{tmp_path}/l.csv:label", "--by", "region")
    _check_against(out["results"][0]["slices"], _expected(df, ["region"], _mse), ["region"])
    out = run("compute", "mse", f"{tmp_path}/c.csv:pred", f"{tmp_path}/l.csv:label", "--by", "region")
    assert out.exit_code == 2
    assert out.stderr == (f"Error: --by region: {tmp_path}/c.csv and {tmp_path}/l.csv both hold column 'region' and "
                          f"disagree at row 0 ('mars' and 'MARS'); name the file the slices come from (--by-file "
                          "FILE:region, by_file in a gate)\n")
    df[["label"]].to_csv(tmp_path / "l.csv", index=False)  # the models' files only hold it
    out = run("compare", "mse", f"{tmp_path}/p.csv:pred", f"{tmp_path}/c.csv:pred", tmp_path / "l.csv", "--by", "region")
    assert out.exit_code == 2 and "the baseline's and the candidate's files both hold the slice column and disagree " \
        "at row 0" in out.stderr


def test_keys_of_any_type_in_every_format(run, tmp_path):
    n = 90
    rng = np.random.default_rng(5)
    t = pa.table({"pred": rng.normal(size=n), "label": rng.normal(size=n),
                  "f": pa.array([float("nan") if i % 3 == 0 else float(i % 2) for i in range(n)]),
                  "day": pa.array([datetime.date(2026, 1, 1 + i % 2) for i in range(n)]),
                  "raw": pa.array([b"ab" if i % 2 else b"\xff" for i in range(n)]),
                  "markup": pa.array(["[/]" if i % 2 else "[bold]US" for i in range(n)])})
    pq.write_table(t, tmp_path / "k.parquet")
    p = f"{tmp_path}/k.parquet"
    out = _json(run, "compute", "mse", f"{p}:pred", f"{p}:label", "--by", "f", "--block-rows", 7)
    assert {json.dumps(s["key"]["f"]): s["count"] for s in out["results"][0]["slices"]} == \
        {"null": 30, "0.0": 30, "1.0": 30}  # NaN is one slice (missing), in every block
    out = _json(run, "compute", "mse", f"{p}:pred", f"{p}:label", "--by", "day,raw")
    assert {(s["key"]["day"], s["key"]["raw"]) for s in out["results"][0]["slices"]} == \
        {("2026-01-01", "\\xff"), ("2026-01-02", "ab")}
    table = run("compute", "mse", f"{p}:pred", f"{p}:label", "--by", "markup", "--min-slice-size", 1)
    assert table.exit_code == 0, table.stderr
    assert "[/]" in table.stdout and "[bold]US" in table.stdout  # text, never rich markup


def test_bad_slice_files_are_named(run, tmp_path):
    df = _frame()
    df.to_csv(tmp_path / "eval.csv", index=False)
    df[["region"]].to_csv(tmp_path / "reg.csv", index=False)
    np.savez(tmp_path / "keys.npz", dev=df["device"].to_numpy())
    e = f"{tmp_path}/eval.csv"
    out = run("compute", "mse", f"{e}:pred", f"{e}:label", "--by-file", f"{tmp_path}/reg.csv:country")
    assert out.exit_code == 2 and out.stderr == f"Error: {tmp_path}/reg.csv: no column 'country' (columns: region)\n"
    out = run("compute", "mse", f"{e}:pred", f"{e}:label", "--by-file", f"{tmp_path}/keys.npz:dev")
    assert out.exit_code == 2 and "it holds arrays, not columns" in out.stderr
    out = run("compute", "mse", f"{e}:pred", f"{e}:label", "--min-slice-size", 5)
    assert out.exit_code == 2 and out.stderr == "Error: --min-slice-size goes with --by\n"


def test_csv_never_writes_a_column_name_twice(run, tmp_path):
    df = _frame().rename(columns={"region": "count", "device": "slice"})
    df.to_csv(tmp_path / "eval.csv", index=False)
    out = run("compute", "mse", f"{tmp_path}/eval.csv:pred", f"{tmp_path}/eval.csv:label", "--by", "count,slice",
              "--format", "csv")
    header = out.stdout.splitlines()[0].split(",")
    assert len(header) == len(set(header)) and header[:5] == ["loss", "slice", "by.count", "by.slice", "ranked"]


def test_check_lists_failing_slices_first_and_inputs_once(run, tmp_path):
    df = _frame()
    df.to_csv(tmp_path / "eval.csv", index=False)
    values = {s["key"]["region"]: s["value"] for s in _json(
        run, "compute", "mbe", f"{tmp_path}/eval.csv:pred", f"{tmp_path}/eval.csv:label", "--by", "region")[
        "results"][0]["slices"] if s["ranked"]}
    bias = pd.Series(values)
    (tmp_path / "losscli.toml").write_text(f'''
[[gate]]
loss = "mbe"
inputs = ["eval.csv:pred", "eval.csv:label"]
min = {float(bias.sort_values().iloc[1]) - 1e-12}
by = "region"

[[gate]]
loss = "mse"
inputs = ["eval.csv:pred", "eval.csv:label"]
max = 100
''')
    out = run("check", tmp_path / "losscli.toml", "--format", "json")
    assert out.exit_code == 1
    payload = json.loads(out.stdout)
    first = payload["gates"][0]["slices"][0]
    assert first["key"]["region"] == bias.idxmin() and first["passed"] is False
    assert len(payload["inputs"]) == len({(i["path"], i["selector"]) for i in payload["inputs"]}) == 2


# -- found by the second review ---------------------------------------------------------------------
def test_a_key_reads_the_same_in_every_piece_of_a_big_file(run, tmp_path):
    """Codes written with leading zeros, integers with one stray text value near the end, two
    key columns: one slice per key however the file is cut into pieces (pandas' groupby)."""
    n = 150_000  # (several pieces of the parser)
    rng = np.random.default_rng(7)
    df = pd.DataFrame({"pred": rng.normal(size=n).round(3), "label": rng.normal(size=n).round(3),
                       "code": rng.choice(["007", "012", "123"], n), "k": rng.choice(["1", "2", "3"], n),
                       "k2": rng.integers(0, 2, n)})
    df.loc[n - 3, "code"], df.loc[n - 2, "k"] = "A12", "x"
    df.to_csv(tmp_path / "big.csv", index=False)
    e = f"{tmp_path}/big.csv"
    back = pd.read_csv(e, dtype={"code": str, "k": str})
    for by in (["code"], ["k", "k2"]):
        out = _json(run, "compute", "mse", f"{e}:pred", f"{e}:label", "--by", ",".join(by), "--min-slice-size", 1)
        slices = out["results"][0]["slices"]
        expected = back.groupby(by).size()
        assert len(slices) == len(expected)
        for s in slices:
            key = tuple(str(s["key"][c]) if c != "k2" else s["key"][c] for c in by)
            assert s["count"] == expected[key if len(by) > 1 else key[0]]
    assert {s["key"]["code"] for s in _json(run, "compute", "mse", f"{e}:pred", f"{e}:label", "--by", "code",
                                             "--min-slice-size", 1)["results"][0]["slices"]} == {"007", "012", 123, "A12"}


def test_missing_keys_are_one_slice_whatever_the_spelling(run, tmp_path):
    df = _frame(200)
    df["region"] = np.array(["EU", "NA", "nan", "", "null"], dtype=object)[np.arange(200) % 5]
    df.to_csv(tmp_path / "plain.csv", index=False)
    df.assign(note="text")[["pred", "region", "note"]].to_csv(tmp_path / "noted.csv", index=False)
    out = _json(run, "compute", "mse", f"{tmp_path}/plain.csv:pred", f"{tmp_path}/plain.csv:label", "--by", "region")
    assert {json.dumps(s["key"]["region"]): s["count"] for s in out["results"][0]["slices"]} == {'"EU"': 40, "null": 160}
    out = run("compare", "mse", f"{tmp_path}/noted.csv:pred", f"{tmp_path}/plain.csv:pred", f"{tmp_path}/plain.csv:label",
              "--by", "region", "--format", "json")
    assert out.exit_code == 0, out.stderr  # the same keys, read with or without a text column beside them


def test_float_keys_with_nan_null_and_signed_zero_in_small_blocks(run, tmp_path):
    rng = np.random.default_rng(22)
    k = [np.nan, None, 0.0, -0.0, 2.0, 6.0, 2.0, 2.0] * 6
    n = len(k)
    t = pa.table({"pred": rng.normal(size=n), "label": rng.normal(size=n), "k": pa.array(k, type=pa.float64())})
    pq.write_table(t, tmp_path / "k.parquet")
    p = f"{tmp_path}/k.parquet"
    for block in (3, 4, 8, 1000):
        out = _json(run, "compute", "mse", f"{p}:pred", f"{p}:label", "--by", "k", "--block-rows", block,
                    "--min-slice-size", 1)
        counts = {json.dumps(s["key"]["k"]): s["count"] for s in out["results"][0]["slices"]}
        assert counts == {"null": 12, "0.0": 12, "2.0": 18, "6.0": 6}, (block, counts)


def test_unusual_columns_and_options_are_named(run, tmp_path):
    rng = np.random.default_rng(21)
    n = 40
    t = pa.table({"pred": rng.normal(size=n), "label": rng.normal(size=n),
                  "lst": pa.array([[1, 2]] * n), "x[/]": pa.array(["a", "b"] * (n // 2))})
    pq.write_table(t, tmp_path / "t.parquet")
    p = f"{tmp_path}/t.parquet"
    out = run("compute", "mse", f"{p}:pred", f"{p}:label", "--by", "lst")
    assert out.exit_code == 2 and out.stderr.startswith("Error: --by lst (") and "cannot be a slice key" in out.stderr
    out = run("compute", "mse", f"{p}:pred", f"{p}:label", "--by", "x[/]", "--min-slice-size", 1)
    assert out.exit_code == 0 and "x[/]" in out.stdout, out.stderr  # a column name is text, never rich markup
    out = run("compute", "mse", f"{p}:pred", f"{p}:label", "--by", "x[/]", "--by-file", f"{p}:lst")
    assert out.exit_code == 2 and "name different columns" in out.stderr


def test_significant_needs_a_bootstrap(run, tmp_path):
    """--significant with no resamples would judge by a NaN interval: refused, in compare and in a gate."""
    df = _frame()
    df.to_csv(tmp_path / "eval.csv", index=False)
    e = f"{tmp_path}/eval.csv"
    out = run("compare", "mse", f"{e}:pred", f"{e}:pred", f"{e}:label", "--by", "region", "--fail-if-worse",
              "--significant", "--bootstrap", 0)
    assert out.exit_code == 2
    assert out.stderr == "Error: --significant judges by the bootstrap interval: it needs --bootstrap N > 0\n"
    (tmp_path / "losscli.toml").write_text('''[[gate]]
loss = "mse"
inputs = ["eval.csv:pred", "eval.csv:label"]
baseline = "eval.csv:pred"
significant = true
bootstrap = 0
by = "region"
''')
    out = run("check", tmp_path / "losscli.toml")
    assert out.exit_code == 2 and "key 'significant' judges by the bootstrap interval" in out.stderr


@pytest.mark.parametrize("samples, confidence, need", [(1, 0.95, 40), (39, 0.95, 40), (199, 0.99, 200)])
def test_an_interval_needs_a_resample_in_each_tail(run, tmp_path, samples, confidence, need):
    """One resample made compare's "95% interval" a point that excluded the change itself, and a
    --significant gate FAILed an improvement: each tail ((1 - confidence)/2 of the resamples) must hold
    one, in compute --ci, compare and a gate alike; that many or more, or none (--bootstrap 0), run."""
    df = _frame()
    df.to_csv(tmp_path / "eval.csv", index=False)
    e = f"{tmp_path}/eval.csv"
    tails = f"{(1 - confidence) * 50:g}%"
    plural = "1 resample gives" if samples == 1 else f"{samples} resamples give"
    why = f"{plural} no {confidence * 100:g}% interval: each tail ({tails} of them) must hold one resample at least, " \
        f"so it needs {need} or more"
    opts = ["--bootstrap", samples, "--confidence", confidence]
    out = run("compute", "mse", f"{e}:pred", f"{e}:label", "--ci", *opts)
    assert (out.exit_code, out.stdout, out.stderr) == (2, "", f"Error: --bootstrap {samples}: {why}\n")
    out = run("compare", "mse", f"{e}:pred", f"{e}:pred", f"{e}:label", "--fail-if-worse", "--significant", *opts)
    assert (out.exit_code, out.stdout, out.stderr) == (2, "", f"Error: --bootstrap {samples}: {why}\n")
    (tmp_path / "losscli.toml").write_text(f'[[gate]]\nloss = "mse"\ninputs = ["eval.csv:pred", "eval.csv:label"]\n'
                                           f'baseline = "eval.csv:pred"\nmax_increase = 0\nsignificant = true\n'
                                           f'bootstrap = {samples}\nconfidence = {confidence}\n')
    out = run("check", tmp_path / "losscli.toml")
    assert (out.exit_code, out.stderr) == (2, f"Error: {tmp_path / 'losscli.toml'}: gate 1: key 'bootstrap': {why}\n")
    out = run("compare", "mse", f"{e}:pred", f"{e}:pred", f"{e}:label", "--fail-if-worse", "--significant",
              "--bootstrap", need, "--confidence", confidence, "--format", "json")
    assert out.exit_code == 0 and json.loads(out.stdout)["results"][0]["bootstrap"]["interval"] == [0.0, 0.0]


def test_reports_name_the_right_numbers(run, tmp_path):
    df = _frame()
    df["w"] = np.where(df["region"] == "EU", 0.0, 1.0)
    df.to_csv(tmp_path / "eval.csv", index=False)
    e = f"{tmp_path}/eval.csv"
    top = float(_mse(df)[df["region"] == "US"].max())
    junit = run("compute", "mse", f"{e}:pred", f"{e}:label", "--by", "region", "--reduction", "none",
                "--fail-above", 1.0, "--format", "junit").stdout
    assert f"[region=US] mse = {top!r} &gt; --fail-above 1.0" in junit
    out = run("compute", "mse", f"{e}:pred", f"{e}:label", "--by", "region", "--weights", f"{e}:w", "--ci",
              "--bootstrap", 50)
    assert out.exit_code == 0 and "Warning" not in out.stderr, out.stderr
    out = run("compute", "mse", f"{e}:pred", f"{e}:label", "--by", "region", "--per-sample", "--format", "csv")
    rows = pd.read_csv(__import__("io").StringIO(out.stdout), keep_default_na=False)
    assert list(rows.columns) == ["index", "region", "mse"] and (rows["region"] == df["region"]).all()


def test_a_slice_whose_rows_nan_policy_dropped_says_so(run, tmp_path):
    """Review 93 #8: the slice of one NaN row dropped by --nan-policy omit was said to have weights of 0,
    and the table's footer counted it among slices 'of fewer than 1 rows'."""
    pd.DataFrame({"pred": [0.5, np.nan, 0.25, 0.75], "label": [0.0, 1.0, 1.0, 0.0], "g": ["a", "b", "a", "c"],
                  "w": [1.0, 1.0, 1.0, 0.0]}).to_parquet(tmp_path / "d.parquet", index=False)
    args = ["compute", "mse", f"{tmp_path}/d.parquet:pred", f"{tmp_path}/d.parquet:label", "--by", "g", "--weights",
            f"{tmp_path}/d.parquet:w", "--nan-policy", "omit", "--min-slice-size", "1"]
    out = json.loads(run(*args, "--format", "json").stdout)
    notes = {s["key"]["g"]: s.get("note") for s in out["results"][0]["slices"]}
    assert notes == {"a": None, "b": "no row has a share in the mean (1 dropped by --nan-policy omit; any others have "
                                     "weight 0 or an ignored label): its value is undefined",
                     "c": "no row has a share in the mean (every weight is 0, or every label ignored): its value is "
                          "undefined"}
    assert "2 slices of fewer than 1 rows or no sample (dim) not ranked" in run(*args).stdout


def test_typed_float_keys_are_their_integers_at_any_size(run, tmp_path):
    """Review 96 #7: a float shard's 2.0**53 beside an int shard's 2**53 is one group (the float is exact)."""
    (tmp_path / "ds").mkdir()
    big = 2**53
    pd.DataFrame({"pred": [1.0, 2.0, 3.0], "label": [0.0] * 3, "g": [big, big + 2, 7]}).to_parquet(
        tmp_path / "ds" / "part-0.parquet", index=False)
    pd.DataFrame({"pred": [4.0, 5.0, 6.0], "label": [0.0] * 3, "g": [float(big), float(big + 2), np.nan]}).to_parquet(
        tmp_path / "ds" / "part-1.parquet", index=False)
    d = tmp_path / "ds"
    out = json.loads(run("compute", "mse", f"{d}:pred", f"{d}:label", "--by", "g", "--format", "json").stdout)
    got = {s["key"]["g"]: (s["count"], s["value"]) for s in out["results"][0]["slices"]}
    assert got == {big: (2, 8.5), big + 2: (2, 14.5), 7: (1, 9.0), None: (1, 36.0)}


def test_a_key_a_csv_reads_as_missing_and_parquet_as_text_is_explained(run, tmp_path):
    frame = pd.DataFrame({"pred": [0.1, 0.2, 0.3], "label": [0.0, 0.1, 0.2], "k": ["a", "NA", "b"]})
    frame.to_csv(tmp_path / "c.csv", index=False)
    frame.to_parquet(tmp_path / "c.parquet", index=False)
    res = run("compute", "mse", f"{tmp_path}/c.csv:pred", f"{tmp_path}/c.parquet:label", "--by", "k")
    assert res.exit_code == 2
    assert res.stderr == (
        f"Error: --by k: {tmp_path}/c.csv and {tmp_path}/c.parquet both hold column 'k' and disagree at row 1 ('NA' "
        f"and 'NA': {tmp_path}/c.csv, a text file, reads 'NA' as a missing value, as pandas does, and "
        f"{tmp_path}/c.parquet holds it as text); name the file the slices come from (--by-file FILE:k, by_file in a "
        "gate)\n")
