"""How rows and columns are chosen (issue "No silent wrong numbers"): files as pandas writes them
by default, numeric headers, index and id columns, pairing by key, class names, tolerances and
the provenance in the JSON. Every case goes through the CLI and checks the value or the exact
error; expected values are computed from the arrays in memory."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.ipc as ipc
import pytest

from losscli.io.pairing import POSITIONAL
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from .conftest import compute_json as _result
from .conftest import compute_value as _value

RNG = np.random.default_rng(15)
N = 100
X, Y = RNG.random(N), RNG.random(N)
MSE = float(np.mean((X - Y) ** 2))
LOGITS = RNG.standard_normal((N, 4))
CLASSES = RNG.integers(0, 4, N)


def softmax_ce(z, y):
    z = z - z.max(axis=1, keepdims=True)
    return float(np.mean(np.log(np.exp(z).sum(axis=1)) - z[np.arange(len(y)), y]))




def _note(path, column, why):
    return f"losscli: note: {path}: column {column!r} is not read as data: {why}; a selector naming it reads it\n"


# -- index columns ---------------------------------------------------------------------------------

def test_to_csv_with_its_default_index_is_read_without_it(run, tmp_path):
    pd.DataFrame(LOGITS).to_csv(tmp_path / "logits.csv")
    pd.Series(CLASSES, name="y").to_csv(tmp_path / "y.csv")
    data, err = _result(run, "softmax_ce", tmp_path / "logits.csv", tmp_path / "y.csv")
    assert data["results"][0]["value"] == pytest.approx(softmax_ce(LOGITS, CLASSES), rel=1e-12)
    assert err == (_note(tmp_path / "logits.csv", "Unnamed: 0", "pandas' index (an unnamed column)")
                   + _note(tmp_path / "y.csv", "Unnamed: 0", "pandas' index (an unnamed column)"))
    pd.DataFrame({"pred": X}).to_csv(tmp_path / "p.csv")
    pd.DataFrame({"label": Y}).to_csv(tmp_path / "l.csv")
    assert _value(run, "mse", tmp_path / "p.csv", tmp_path / "l.csv") == pytest.approx(MSE, rel=1e-12)


def test_a_selector_naming_the_index_reads_it(run, tmp_path):
    pd.DataFrame({"pred": X}).to_csv(tmp_path / "p.csv")
    out = run("compute", "mae", f"{tmp_path}/p.csv:0", f"{tmp_path}/p.csv:pred", "--format", "value")
    assert float(out.stdout) == pytest.approx(np.mean(np.abs(np.arange(N) - X)), rel=1e-12)
    assert out.stderr == ""


def test_parquet_and_arrow_files_leave_the_pandas_index_out(run, tmp_path):
    df = pd.DataFrame({"pred": X, "label": Y})
    kept = df[df.pred > 0.3]  # a filtered frame: its index is stored as __index_level_0__
    kept.to_parquet(tmp_path / "f.parquet")
    expected = float(np.mean((kept.pred - kept.label) ** 2))
    data, err = _result(run, "mse", f"{tmp_path}/f.parquet:pred", f"{tmp_path}/f.parquet:label")
    assert data["results"][0]["value"] == pytest.approx(expected, rel=1e-12)
    table = pa.Table.from_pandas(kept[["pred"]].set_index(kept.index.rename("row")))
    with ipc.new_file(tmp_path / "p.arrow", table.schema) as writer:
        writer.write_table(table)
    pd.DataFrame({"label": kept.label.to_numpy()}).to_csv(tmp_path / "l.csv", index=False)
    data, err = _result(run, "mse", tmp_path / "p.arrow", tmp_path / "l.csv")
    assert data["results"][0]["value"] == pytest.approx(expected, rel=1e-12)
    assert err == _note(tmp_path / "p.arrow", "row", "pandas' index (recorded in the file's metadata)")
    assert data["inputs"][0]["skipped"] == {"row": "pandas' index (recorded in the file's metadata)"}


def test_without_header_a_counting_first_column_is_the_index(run, tmp_path):
    pd.DataFrame({"p": X}).to_csv(tmp_path / "p.csv", header=False)
    pd.DataFrame({"y": Y}).to_csv(tmp_path / "y.csv", header=False)
    assert _value(run, "mse", tmp_path / "p.csv", tmp_path / "y.csv") == pytest.approx(MSE, rel=1e-12)


# -- headers ---------------------------------------------------------------------------------------

GUESS_NOTE = ("losscli: note: {}: its first line, all numbers, is read as pandas' header of numbered columns; --header no reads it "
              "as data, --header yes says it is a header\n")


@pytest.mark.parametrize("write", [
    lambda df, p: df.to_csv(p, index=False),  # header 0,1,2,3
    lambda df, p: df.to_csv(p),  # ,0,1,2,3 above an index
])
def test_pandas_numeric_headers(run, tmp_path, write):
    write(pd.DataFrame(LOGITS), tmp_path / "logits.csv")
    pd.Series(CLASSES).to_csv(tmp_path / "y.csv", index=False)  # header "0" above integers that do not count on
    data, err = _result(run, "softmax_ce", tmp_path / "logits.csv", tmp_path / "y.csv")
    assert data["results"][0]["value"] == pytest.approx(softmax_ce(LOGITS, CLASSES), rel=1e-12)
    assert data["results"][0]["count"] == N
    assert GUESS_NOTE.format(f"{tmp_path}/y.csv") in err
    data, err = _result(run, "softmax_ce", tmp_path / "logits.csv", tmp_path / "y.csv", "--header", "yes")
    assert data["results"][0]["count"] == N and "first line" not in err


def test_a_guessed_header_is_named_when_the_rows_do_not_add_up(run, tmp_path):
    """np.savetxt of integer labels starting with 0 and predictions without a header: the labels'
    first line taken for pandas' header shows in the row-count error, with the way out."""
    y = np.r_[0, CLASSES[1:]]
    np.savetxt(tmp_path / "y.csv", y, fmt="%d")
    np.savetxt(tmp_path / "p.csv", LOGITS)
    out = run("compute", "softmax_ce", tmp_path / "p.csv", tmp_path / "y.csv")
    assert out.stderr.endswith(f"{tmp_path}/y.csv has {N - 1} rows but {tmp_path}/p.csv has {N} (every input needs "
                               f"one row per sample); {tmp_path}/y.csv's first line was read as pandas' header of "
                               "numbered columns (--header no reads it as data)\n")
    assert _value(run, "softmax_ce", tmp_path / "p.csv", tmp_path / "y.csv", "--header", "no") == \
        pytest.approx(softmax_ce(LOGITS, y), rel=1e-12)
    (tmp_path / "count.csv").write_text("".join(f"{i}\n" for i in range(10)))  # counts on from 0: data
    data, err = _result(run, "mae", tmp_path / "count.csv", tmp_path / "count.csv")
    assert (data["results"][0]["count"], err) == (10, "")


def test_a_series_header_above_floats_is_a_header(run, tmp_path):
    pd.Series(X).to_csv(tmp_path / "x.csv", index=False)
    pd.Series(Y).to_csv(tmp_path / "y.csv", index=False)
    data, err = _result(run, "mse", tmp_path / "x.csv", tmp_path / "y.csv")
    assert (data["results"][0]["count"], err) == (N, GUESS_NOTE.format(tmp_path / "x.csv") + GUESS_NOTE.format(tmp_path / "y.csv"))
    assert data["results"][0]["value"] == pytest.approx(MSE, rel=1e-12)
    assert data["inputs"][0]["header"] == ("yes (the first line reads like pandas' header of numbered columns; "
                                           "--header no reads it as data)")
    data, _ = _result(run, "mse", tmp_path / "x.csv", tmp_path / "y.csv", "--header", "no")
    assert data["results"][0]["count"] == N + 1
    assert data["inputs"][0]["header"] == "no (--header no)"


def test_one_field_more_than_the_header(run, tmp_path):
    (tmp_path / "t.csv").write_text("pred\n1,000\n2,500\n3,250\n")
    (tmp_path / "y.csv").write_text("y\n1\n2\n3\n")
    out = run("compute", "mse", tmp_path / "t.csv", tmp_path / "y.csv")
    assert (out.exit_code, out.stderr) == (2, (
        f"Error: {tmp_path}/t.csv, line 2: 2 fields under a header of 1 (pred): if '1,000' is one number written "
        "with a thousands or decimal separator, losscli does not read those (write plain numbers, e.g. pandas: "
        "pd.read_csv(f, sep=';', thousands=',').to_csv(out, index=False)); if the first field is an index, give it "
        "a header cell\n"))
    # a decimal comma (3,84 under p, as to_csv(sep=';', decimal=',') writes one column): the line it names
    # converts the file (review 67 F6: pandas read 3,84 as an index 3 and a value 84)
    (tmp_path / "d.csv").write_text("p\n3,84\n1,5\n2,25\n")
    out = run("compute", "mse", tmp_path / "d.csv", tmp_path / "y.csv")
    assert out.exit_code == 2 and "pd.read_csv(f, sep=';', decimal=',').to_csv(out, index=False)" in out.stderr
    pd.read_csv(tmp_path / "d.csv", sep=";", decimal=",").to_csv(tmp_path / "d2.csv", index=False)
    assert _value(run, "mse", tmp_path / "d2.csv", tmp_path / "y.csv") == pytest.approx(
        float(np.mean((np.array([3.84, 1.5, 2.25]) - np.array([1, 2, 3])) ** 2)), rel=1e-12)
    pd.DataFrame({"pred": X}).to_csv(tmp_path / "p.csv", index_label=False)  # pandas' implicit index
    pd.DataFrame({"y": Y}).to_csv(tmp_path / "l.csv", index=False)
    data, err = _result(run, "mse", tmp_path / "p.csv", tmp_path / "l.csv")
    assert data["results"][0]["value"] == pytest.approx(MSE, rel=1e-12)
    assert err == _note(tmp_path / "p.csv", "Unnamed: 0", "pandas' index (every row has one field more than the header)")


# -- text that looks numeric -----------------------------------------------------------------------

@pytest.mark.parametrize("cell, hint", [
    ("0,2", "it looks like a decimal comma"),
    ('"1,234.5"', "it looks like a number with thousands separators"),
    ("12%", "it looks like a percentage"),
])
def test_numeric_looking_text_is_never_skipped(run, tmp_path, cell, hint):
    sep = ";" if cell == "0,2" else ","
    (tmp_path / "p.csv").write_text(f"id{sep}pred{sep}n\n1{sep}{cell}{sep}3\n2{sep}{cell}{sep}4\n")
    (tmp_path / "y.csv").write_text("y\n1\n2\n")
    out = run("compute", "mse", tmp_path / "p.csv", tmp_path / "y.csv")
    assert out.exit_code == 2
    assert out.stderr.startswith(f"Error: {tmp_path}/p.csv, line 2, column 'pred': found {cell.strip(chr(34))!r}, "
                                 f"which is not read as a number; {hint}")


# -- pairing by key --------------------------------------------------------------------------------

@pytest.fixture
def kaggle(tmp_path):
    """A submission sorted differently from the truth file, and the pandas merge's answer."""
    ids = RNG.permutation(np.arange(1000, 1000 + N))
    truth = pd.DataFrame({"id": ids, "label": (RNG.random(N) < 0.4).astype(int)})
    p = np.clip(truth.label * 0.5 + RNG.random(N) * 0.5, 0.01, 0.99)
    sub = pd.DataFrame({"id": ids, "pred": p}).sample(frac=1, random_state=3)
    truth.to_csv(tmp_path / "truth.csv", index=False)
    sub.to_csv(tmp_path / "sub.csv", index=False)
    m = sub.merge(truth, on="id")
    bce = float(-np.mean(m.label * np.log(m.pred) + (1 - m.label) * np.log(1 - m.pred)))
    return tmp_path, sub, truth, bce


def test_positional_pairing_is_refused_when_ids_disagree(run, kaggle):
    d, sub, truth, _ = kaggle
    out = run("compute", "bce", f"{d}/sub.csv:pred", f"{d}/truth.csv:label")
    assert out.exit_code == 2
    assert out.stderr == (
        f"Error: {d}/sub.csv and {d}/truth.csv: their id columns disagree at row 0 ({d}/sub.csv id "
        f"{str(sub.id.iloc[0])!r}, {d}/truth.csv id {str(truth.id.iloc[0])!r}): rows are paired by position, so "
        "these are not the same samples; --on id pairs them by key (if these columns are data, name them in a "
        "selector; " + POSITIONAL + ")\n")


def test_ids_that_agree_say_nothing(run, kaggle):
    d, sub, truth, _ = kaggle
    truth.set_index("id").loc[sub.id].reset_index().to_csv(d / "aligned.csv", index=False)
    data, err = _result(run, "bce", f"{d}/sub.csv:pred", f"{d}/aligned.csv:label")
    assert err == ""


def test_on_pairs_rows_by_key(run, kaggle):
    d, sub, truth, bce = kaggle
    assert _value(run, "bce", f"{d}/sub.csv:pred", f"{d}/truth.csv:label", "--on", "id") == pytest.approx(bce, rel=1e-12)
    data, err = _result(run, "bce", f"{d}/sub.csv", f"{d}/truth.csv", "--on", "id")  # the key is not data
    assert data["results"][0]["value"] == pytest.approx(bce, rel=1e-12)
    assert err == ""
    assert [(i["columns"], i["on"], i["unmatched"]) for i in data["inputs"]] == [(["pred"], "id", 0), (["label"], "id", 0)]
    sub.to_parquet(d / "sub.parquet")  # int64 ids meet a CSV's text ids
    assert _value(run, "bce", f"{d}/sub.parquet:pred", f"{d}/truth.csv:label", "--on", "id") == pytest.approx(bce, rel=1e-12)


def test_on_with_different_keys(run, kaggle):
    d, sub, truth, _ = kaggle
    short = sub.iloc[3:]
    short.to_csv(d / "short.csv", index=False)
    out = run("compute", "bce", f"{d}/short.csv:pred", f"{d}/truth.csv:label", "--on", "id")
    missing = [k for k in truth.id if k not in set(short.id)]
    assert (out.exit_code, out.stderr) == (2, (
        f"Error: --on id: the inputs hold different keys: 3 keys of {d}/truth.csv not in {d}/short.csv ("
        + ", ".join(repr(str(k)) for k in missing) + "). --on-missing drop evaluates the keys they share\n"))
    data, err = _result(run, "bce", f"{d}/short.csv:pred", f"{d}/truth.csv:label", "--on", "id", "--on-missing", "drop")
    m = short.merge(truth, on="id")
    expected = float(-np.mean(m.label * np.log(m.pred) + (1 - m.label) * np.log(1 - m.pred)))
    assert data["results"][0]["value"] == pytest.approx(expected, rel=1e-12)
    assert err == (f"losscli: note: --on id: dropped the rows whose key is not in every input: 0 of {N - 3} rows of "
                   f"{d}/short.csv; 3 of {N} rows of {d}/truth.csv\n")
    assert [i["unmatched"] for i in data["inputs"]] == [0, 3]


def test_on_refuses_duplicate_and_missing_keys_and_columns(run, kaggle, tmp_path):
    d, sub, truth, _ = kaggle
    dup = pd.concat([sub, sub.iloc[[5]]])
    dup.to_csv(d / "dup.csv", index=False)
    out = run("compute", "bce", f"{d}/dup.csv:pred", f"{d}/truth.csv:label", "--on", "id")
    assert out.stderr == (f"Error: {d}/dup.csv, column 'id': the key {str(sub.id.iloc[5])!r} is in rows 5 and {N} "
                          "(--on needs each key once per input)\n")
    out = run("compute", "bce", f"{d}/sub.csv:pred", f"{d}/truth.csv:label", "--on", "key")
    assert out.stderr == f"Error: {d}/sub.csv: no column 'key' to match rows by (--on; columns: id, pred)\n"
    np.save(d / "p.npy", sub.pred.to_numpy())
    out = run("compute", "bce", d / "p.npy", f"{d}/truth.csv:label", "--on", "id")
    assert out.stderr == (f"Error: {d}/p.npy: --on id matches the rows of tables (CSV, Parquet, Arrow); this input "
                          "has no columns\n")
    out = run("compute", "bce", d / "sub.csv", d / "truth.csv", "--on-missing", "drop")
    assert (out.exit_code, out.stderr) == (2, "Error: --on-missing goes with --on\n")


def test_compare_and_check_pair_by_key(run, kaggle):
    d, sub, truth, bce = kaggle
    other = sub.sample(frac=1, random_state=9).assign(pred=lambda f: np.clip(f.pred * 0.9 + 0.05, 0.01, 0.99))
    other.to_csv(d / "other.csv", index=False)
    m = other.merge(truth, on="id")
    bce2 = float(-np.mean(m.label * np.log(m.pred) + (1 - m.label) * np.log(1 - m.pred)))
    out = run("compare", "bce", f"{d}/sub.csv:pred", f"{d}/other.csv:pred", f"{d}/truth.csv:label", "--on", "id",
              "--format", "json")
    rec = json.loads(out.stdout)["results"][0]
    assert (rec["baseline"], rec["candidate"]) == (pytest.approx(bce, rel=1e-12), pytest.approx(bce2, rel=1e-12))
    # paired by key: the share of samples where the candidate is better is the merged frame's
    both = sub.merge(other, on="id", suffixes=("_a", "_b")).merge(truth, on="id")
    la = -(both.label * np.log(both.pred_a) + (1 - both.label) * np.log(1 - both.pred_a))
    lb = -(both.label * np.log(both.pred_b) + (1 - both.label) * np.log(1 - both.pred_b))
    assert rec["better"] == pytest.approx(float(np.mean(lb < la)), abs=1e-12)
    (d / "losscli.toml").write_text(f'[[gate]]\nloss = "bce"\ninputs = ["sub.csv:pred", "truth.csv:label"]\n'
                                    f'on = "id"\nmax = {bce + 1e-9}\n')
    out = run("check", d / "losscli.toml", "--format", "json")
    assert out.exit_code == 0, out.stderr
    assert json.loads(out.stdout)["gates"][0]["value"] == pytest.approx(bce, rel=1e-12)
    (d / "bad.toml").write_text('[[gate]]\nloss = "bce"\ninputs = ["sub.csv:pred", "truth.csv:label"]\nmax = 1\n')
    out = run("check", d / "bad.toml")
    assert out.exit_code == 2 and "their id columns disagree at row 0" in out.stderr
    # a baseline gate's worst regressions name their keys, as compare's do (they had no key)
    (d / "vs.toml").write_text('[[gate]]\nloss = "bce"\ninputs = ["other.csv:pred", "truth.csv:label"]\n'
                               'baseline = "sub.csv:pred"\non = "id"\nmax_increase = "100%"\n')
    out = run("check", d / "vs.toml", "--format", "json")
    gated = json.loads(out.stdout)["gates"][0]["comparison"]["worst_regressions"]
    out = run("compare", "bce", f"{d}/sub.csv:pred", f"{d}/other.csv:pred", f"{d}/truth.csv:label", "--on", "id",
              "--top", "3", "--format", "json")
    compared = json.loads(out.stdout)["results"][0]["worst_regressions"]
    assert gated == compared and len(gated) == 3
    by_key = {str(k): (a, b) for k, a, b in zip(both.id, la, lb)}
    for w in gated:  # each key's own losses, the baseline's and the candidate's
        assert (w["baseline"], w["candidate"]) == pytest.approx(by_key[str(w["key"])], rel=1e-12)


# -- class names, tolerances, hints ----------------------------------------------------------------

NAMES = np.array(["cat", "dog", "bird"])


@pytest.fixture
def named(tmp_path):
    z = LOGITS[:, :3]
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    y = CLASSES % 3
    pd.DataFrame(p, columns=NAMES).to_csv(tmp_path / "probs.csv", index=False)
    pd.DataFrame(p).to_csv(tmp_path / "plain.csv", index=False)
    pd.DataFrame({"label": NAMES[y]}).to_csv(tmp_path / "y.csv", index=False)
    return tmp_path, p, y


def test_class_names_map_to_the_predictions_columns(run, named):
    d, p, y = named
    expected = float(-np.mean(np.log(p[np.arange(N), y])))
    assert _value(run, "ce", d / "probs.csv", d / "y.csv") == pytest.approx(expected, rel=1e-12)
    assert _value(run, "ce", d / "plain.csv", d / "y.csv", "--classes", "cat,dog,bird") == pytest.approx(expected, rel=1e-12)
    out = run("compute", "ce", d / "plain.csv", d / "y.csv", "--classes", "cat,dog")
    first_bird = int(np.flatnonzero(y == 2)[0])
    assert out.stderr.splitlines()[-1] == (f"Error: {d}/y.csv, line {first_bird + 2}, column 'label': 'bird' is not "
                                           "a class name (classes, --classes: cat, dog)")
    out = run("compute", "ce", d / "probs.csv", d / "y.csv", "--classes", "bird,cat,dog")  # the columns say otherwise
    assert out.stderr == (f"Error: --classes bird,cat,dog: the columns of {d}/probs.csv name the classes otherwise "
                          "(cat, dog, bird); give the classes in the order of the columns, or leave --classes out\n")
    out = run("compute", "ce", d / "plain.csv", d / "y.csv")
    assert out.stderr.splitlines(keepends=True)[-1] == (f"Error: {d}/y.csv: no numeric columns (columns: label); line 2, column 'label' holds "
                          f"{str(NAMES[y[0]])!r}; if it holds class names, --classes NAME,... (or predictions whose columns "
                          "are named after the classes) reads them as class indices\n")
    out = run("compute", "ce", d / "plain.csv", d / "y.csv", "--classes", "cat,dog,cat")
    assert out.stderr == "Error: --classes: the class 'cat' is named twice\n"


def test_compared_models_meet_the_labels_as_the_same_classes(run, named):
    """compare and a baseline gate scored two copies of one model as 44% apart (a --significant FAIL):
    the candidate's columns named the classes in another order, and integer labels are column
    places. Nor may one model read the labels as class names (columns 1,2,3) and the other as
    indices (an NPY). Refused, naming the way to read both alike; text labels, read by name, pair
    by name whatever the order."""
    d, p, y = named
    pd.DataFrame(p[:, [2, 0, 1]], columns=NAMES[[2, 0, 1]]).to_csv(d / "reordered.csv", index=False)
    pd.DataFrame({"label": y}).to_csv(d / "yi.csv", index=False)
    out = run("compare", "ce", d / "reordered.csv", d / "probs.csv", d / "yi.csv", "--fail-if-worse", "--significant")
    why = (f"Error: the baseline {d}/reordered.csv has the columns bird, cat, dog and the candidate {d}/probs.csv "
           "cat, dog, bird: the labels meet the columns by their places, so the models would be scored on different classes; "
           "write the candidate's columns in the baseline's order (pandas: frame[['bird', 'cat', 'dog']])\n")
    assert (out.exit_code, out.stdout, out.stderr) == (2, "", why)
    (d / "gate.toml").write_text('[[gate]]\nloss = "ce"\ninputs = ["probs.csv", "yi.csv"]\nbaseline = "reordered.csv"\n'
                                 'max_increase = "1%"\n')
    out = run("check", d / "gate.toml", "--format", "json")
    assert out.exit_code == 2 and json.loads(out.stdout)["gates"][0]["error"] == f"{d}/gate.toml: gate 1: " + why[7:-1]
    same = run("compare", "ce", d / "reordered.csv", d / "probs.csv", d / "y.csv", "--format", "json")  # text labels
    assert json.loads(same.stdout)["results"][0]["change"] == 0.0
    pd.DataFrame(p, columns=["1", "2", "3"]).to_csv(d / "named.csv", index=False)
    np.save(d / "plain.npy", p)
    y12 = np.where(y == 2, 1, y)  # (classes 1 and 2 only: read as indices too, they are in range)
    pd.DataFrame({"label": y12 + 1}).to_csv(d / "y123.csv", index=False)
    out = run("compare", "ce", d / "named.csv", d / "plain.npy", d / "y123.csv")
    assert (out.exit_code, out.stderr.splitlines()[-1]) == (2, (
        f"Error: the labels are read as class names (1, 2, 3) beside the baseline {d}/named.csv, and as column places "
        f"(0..K-1) beside the candidate {d}/plain.npy: the models would be scored on different classes; --classes "
        "NAME,... (each column's class, in order) reads them alike for both"))
    out = run("compare", "ce", d / "named.csv", d / "plain.npy", d / "y123.csv", "--classes", "1,2,3", "--format", "json")
    rec = json.loads(out.stdout)["results"][0]
    expected = float(-np.mean(np.log(p[np.arange(N), y12])))
    assert (rec["baseline"], rec["candidate"]) == (pytest.approx(expected, rel=1e-12), pytest.approx(expected, rel=1e-12))
    # columns that name other things (p0,p1,p2 beside q0,q1,q2), one-hot label tables, and columns 0,1,2
    # beside 1-based names are compared as before (review 75 #1: they were refused)
    pd.DataFrame(p, columns=["p0", "p1", "p2"]).to_csv(d / "pa.csv", index=False)
    pd.DataFrame(p[:, [1, 0, 2]], columns=["q0", "q1", "q2"]).to_csv(d / "qb.csv", index=False)
    pd.DataFrame(np.eye(3)[y], columns=["y0", "y1", "y2"]).to_csv(d / "onehot.csv", index=False)
    pd.DataFrame(p, columns=["0", "1", "2"]).to_csv(d / "places.csv", index=False)
    pd.DataFrame(p[:, [2, 1, 0]], columns=["2", "1", "0"]).to_csv(d / "names.csv", index=False)
    for files in (("pa.csv", "qb.csv", "yi.csv"), ("pa.csv", "qb.csv", "onehot.csv"), ("places.csv", "names.csv", "yi.csv")):
        out = run("compare", "ce", *(d / f for f in files), "--format", "json")
        assert out.exit_code == 0, (files, out.stderr)
    rec = json.loads(out.stdout)["results"][0]  # (label v is the column named v in both)
    assert rec["baseline"] == pytest.approx(rec["candidate"], rel=1e-12)
    # columns that number the classes, in order beside out of order (class_0,... beside class_1,class_0,...):
    # both read label v as class v (review 76 F3: refused)
    pd.DataFrame(p, columns=["class_0", "class_1", "class_2"]).to_csv(d / "inorder.csv", index=False)
    pd.DataFrame(p[:, [1, 0, 2]], columns=["class_1", "class_0", "class_2"]).to_csv(d / "swapped.csv", index=False)
    rec = json.loads(run("compare", "ce", d / "inorder.csv", d / "swapped.csv", d / "yi.csv", "--format", "json").stdout
                     )["results"][0]
    truth = float(-np.mean(np.log(p[np.arange(N), y])))
    assert (rec["baseline"], rec["candidate"]) == (pytest.approx(truth, rel=1e-12), pytest.approx(truth, rel=1e-12))
    # a label table of one-hot rows named by class beside models whose columns are in other orders: it was
    # lined up to one model's columns and met the other's by place, silently (review 76 F1): refused too
    pd.DataFrame(np.eye(3)[y], columns=NAMES).to_csv(d / "named_onehot.csv", index=False)
    out = run("compare", "ce", d / "probs.csv", d / "reordered.csv", d / "named_onehot.csv")
    assert out.exit_code == 2 and "the labels meet the columns by their places" in out.stderr


def test_prob_tol_and_logit_hints(run, named):
    d, p, y = named
    rounded = p.round(3)
    pd.DataFrame(rounded, columns=NAMES).to_csv(d / "r.csv", index=False)
    out = run("compute", "ce", d / "r.csv", d / "y.csv")
    row = int(np.flatnonzero(np.abs(rounded.sum(axis=1) - 1) > 1e-4)[0])
    assert out.stderr.startswith(f"Error: {d}/r.csv, line {row + 2}: row sums to ")
    assert out.stderr.endswith("tolerance 0.0001, --prob-tol sets it)\n")
    data, err = _result(run, "ce", d / "r.csv", d / "y.csv", "--prob-tol", "2e-3")
    renorm = rounded / rounded.sum(axis=1, keepdims=True)
    assert data["results"][0]["value"] == pytest.approx(float(-np.mean(np.log(renorm[np.arange(N), y]))), rel=1e-12)
    assert err.endswith("(within the tolerance 0.002)\n")
    pd.DataFrame(LOGITS[:, :3], columns=NAMES).to_csv(d / "z.csv", index=False)
    out = run("compute", "cross_entropy", d / "z.csv", d / "y.csv")
    assert out.stderr.endswith("; these look like logits: softmax_ce (logits, one row per sample) takes them\n")
    assert _value(run, "softmax_ce", d / "z.csv", d / "y.csv") == pytest.approx(softmax_ce(LOGITS[:, :3], y % 3), rel=1e-12)


# -- provenance ------------------------------------------------------------------------------------

def test_json_and_ndjson_name_what_was_read(run, tmp_path):
    import losscli

    pd.DataFrame({"id": np.arange(N), "pred": X, "note": ["x"] * N}).to_csv(tmp_path / "p.csv")
    pd.DataFrame({"label": Y}).to_csv(tmp_path / "l.csv", index=False)
    data, _ = _result(run, "mse,mae", tmp_path / "p.csv", f"{tmp_path}/l.csv:label")
    assert (data["schema_version"], data["version"]) == (2, losscli.__version__)
    assert data["inputs"] == [
        {"path": f"{tmp_path}/p.csv", "selector": None, "roles": ["predictions"], "format": "table",
         "columns": ["pred"], "rows": N, "shape": [], "dtype": "float64", "on": None,
         "header": "yes (a field of the first line is not a number)",
         "skipped": {"Unnamed: 0": "pandas' index (an unnamed column)",
                     "id": "an id column (rows are paired by position; --on NAME pairs them by key)", "note": "text"}},
        {"path": f"{tmp_path}/l.csv", "selector": "label", "roles": ["labels"], "format": "table",
         "columns": ["label"], "rows": N, "shape": [], "dtype": "float64", "on": None, "skipped": {},
         "header": "yes (a field of the first line is not a number)"}]
    out = run("compute", "mse,mae", tmp_path / "p.csv", f"{tmp_path}/l.csv:label", "--format", "ndjson")
    lines = [json.loads(x) for x in out.stdout.splitlines()]
    assert [(x["loss"], x["schema_version"], x["inputs"]) for x in lines] == [
        ("mse", 2, data["inputs"]), ("mae", 2, data["inputs"])]
    out = run("compute", "mse", tmp_path / "p.csv", f"{tmp_path}/l.csv:label", "--top", "0")
    tail = " ".join(out.stdout.rstrip().rsplit("+\n", 1)[1].split())  # after the table, lines unwrapped
    assert tail == (f"predictions: {tmp_path}/p.csv, columns pred, {N} rows; not data: Unnamed: 0 (pandas' index), "
                    f"id (an id column) labels: {tmp_path}/l.csv:label, columns label, {N} rows")


def test_json_keeps_every_role_of_a_file_given_twice(run, tmp_path):
    """One file in two roles (a model compared with itself, predictions used as their own labels,
    weights read from the labels' file) is listed once with both roles, in every command's JSON."""
    pd.DataFrame({"pred": X}).to_csv(tmp_path / "p.csv", index=False)
    pd.DataFrame({"label": Y, "w": np.abs(Y) + 1}).to_csv(tmp_path / "l.csv", index=False)
    p, lab, w = str(tmp_path / "p.csv"), f"{tmp_path}/l.csv:label", f"{tmp_path}/l.csv:w"

    def roles(*args):
        out = run(*args, "--format", "json")
        assert out.exit_code == 0, out.stderr
        return [(i["path"], i["selector"], i["roles"]) for i in json.loads(out.stdout)["inputs"]]

    assert roles("compute", "mse", p, p) == [(p, None, ["predictions", "labels"])]
    assert roles("compare", "mse", p, p, lab) == [(p, None, ["baseline", "candidate"]),
                                                  (lab.split(":")[0], "label", ["labels"])]
    assert roles("compute", "mse", p, lab, "--weights", lab) == [(p, None, ["predictions"]),
                                                               (lab.split(":")[0], "label", ["labels", "weights"])]
    assert roles("compare", "mse", p, lab, lab, "--weights", w)[1:] == [
        (lab.split(":")[0], "label", ["candidate", "labels"]), (lab.split(":")[0], "w", ["weights"])]
    (tmp_path / "losscli.toml").write_text(f'[[gate]]\nloss = "mse"\ninputs = ["{p}", "{p}"]\nbaseline = "{p}"\n'
                                           'max_increase = "1%"\n')
    assert roles("check", tmp_path / "losscli.toml") == [(p, None, ["predictions", "labels", "baseline"])]


# -- the property: any way pandas writes a frame, the value of the frame in memory ---------------

@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(index=st.booleans(), header=st.booleans(), named_columns=st.booleans(), integer_labels=st.booleans(),
       shuffled=st.booleans(), filtered=st.booleans(), parquet=st.booleans(), n=st.integers(3, 40),
       seed=st.integers(0, 2**31))
def test_any_pandas_export_gives_the_in_memory_value(run, tmp_path_factory, index, header, named_columns,
                                                     integer_labels, shuffled, filtered, parquet, n, seed):
    d = tmp_path_factory.mktemp("prop")
    rng = np.random.default_rng(seed)
    preds = pd.DataFrame(rng.standard_normal((n, 2)) * 10, columns=["a", "b"] if named_columns else None)
    labels = pd.DataFrame(rng.integers(-5, 5, (n, 2)) if integer_labels else rng.standard_normal((n, 2)),
                          columns=preds.columns)
    if filtered:  # rows dropped before writing: the index has gaps
        more = pd.DataFrame(rng.standard_normal((2 * n, 2)) * 10, columns=preds.columns)
        preds = more[np.arange(2 * n) % 4 != 1][:n]
        labels = labels.set_axis(preds.index)
        # (integers beside an index with gaps, without a header: nothing tells the index from data;
        # losscli stops there on the shapes, it does not guess)
        assume(not (integer_labels and index and not header and not shuffled))
    expected = float(np.mean((preds.to_numpy() - labels.to_numpy()) ** 2))
    args = []
    if shuffled:  # rows in another order, matched by an id column
        ids = rng.permutation(n) + 100
        preds.insert(0, "id", ids)
        labels.insert(0, "id", ids)
        labels = labels.sample(frac=1, random_state=seed % 1000)
        args = ["--on", "id"]
        header = True  # (a key is named)
    paths = []
    for name, frame in (("p", preds), ("l", labels)):
        if parquet and name == "p":
            frame.columns = [str(c) for c in frame.columns]
            frame.to_parquet(d / "p.parquet", index=index)
            paths.append(d / "p.parquet")
        else:
            frame.to_csv(d / f"{name}.csv", index=index, header=header)
            paths.append(d / f"{name}.csv")
    if integer_labels and not header and not index and not shuffled:
        args += ["--header", "no"]  # (integers under no header: nothing to tell them from data by)
    if integer_labels and header and not named_columns and not shuffled:
        args += ["--header", "yes"]  # 0,1 above integers: pandas' header or data, the user says which
    out = run("compute", "mse", *paths, *args, "--format", "json")
    assert out.exit_code == 0, out.stderr
    result = json.loads(out.stdout)["results"][0]
    assert (result["count"], result["value"]) == (n, pytest.approx(expected, rel=1e-12, abs=1e-12))


def test_keys_compare_as_integers_or_as_text(run, tmp_path):
    """Integer keys as integers (007 is 7, as pandas, polars and DuckDB read them); other keys as
    text, trimmed; a key column that turns to text part-way (past the first 2 MB piece) is text."""
    (tmp_path / "p.csv").write_text("id,p\n007,0.5\n8,0.25\n")
    (tmp_path / "y.csv").write_text("id,y\n8,0\n7,1\n")
    assert _value(run, "mse", tmp_path / "p.csv", tmp_path / "y.csv", "--on", "id") == pytest.approx((0.25 + 0.0625) / 2)
    (tmp_path / "tp.csv").write_text("id,p\nb7 ,0.5\n a8,0.25\n")
    (tmp_path / "ty.csv").write_text("id,y\na8,0\nb7,1\n")
    assert _value(run, "mse", tmp_path / "tp.csv", tmp_path / "ty.csv", "--on", "id") == pytest.approx((0.25 + 0.0625) / 2)
    n = 300_000  # ~3.6 MB: integers first, a text key at the very end
    ids = [str(i) for i in range(n - 1)] + ["last"]
    (tmp_path / "lp.csv").write_text("id,p\n" + "".join(f"{k},{i % 7}\n" for i, k in enumerate(ids)))
    (tmp_path / "ly.csv").write_text("id,y\n" + "".join(f"{k},{i % 7}\n" for i, k in reversed(list(enumerate(ids)))))
    data, _ = _result(run, "mse", tmp_path / "lp.csv", tmp_path / "ly.csv", "--on", "id")
    assert (data["results"][0]["value"], data["results"][0]["count"]) == (0.0, n)


@pytest.mark.parametrize("first", [True, False])
@pytest.mark.parametrize("kind", ["int", "text"])
def test_a_repeated_key_in_either_input(run, tmp_path, first, kind):
    keys = [f"k{i}" if kind == "text" else str(i) for i in range(5)]
    twice = keys[:3] + [keys[1]] + keys[4:]
    (tmp_path / "a.csv").write_text("id,p\n" + "".join(f"{k},0.5\n" for k in (twice if first else keys)))
    (tmp_path / "b.csv").write_text("id,y\n" + "".join(f"{k},1\n" for k in (keys if first else twice)))
    out = run("compute", "mse", tmp_path / "a.csv", tmp_path / "b.csv", "--on", "id")
    name = "a.csv" if first else "b.csv"
    assert (out.exit_code, out.stderr) == (2, f"Error: {tmp_path}/{name}, column 'id': the key {keys[1]!r} is in rows 1 "
                                              "and 3 (--on needs each key once per input)\n")


def test_the_worst_samples_carry_their_key_with_on(run, kaggle):
    d, sub, truth, _ = kaggle
    data, _ = _result(run, "bce", f"{d}/sub.csv", f"{d}/truth.csv", "--on", "id", "--top", "3")
    m = sub.merge(truth, on="id")
    m["loss"] = -(m.label * np.log(m.pred) + (1 - m.label) * np.log(1 - m.pred))
    top = m.sort_values("loss", ascending=False).head(3)
    assert [(w["key"], w["index"]) for w in data["results"][0]["worst"]] == list(zip(top.id.tolist(), top.index.tolist()))


def test_fit_leaves_the_index_out_of_the_features(run, tmp_path):
    x = RNG.uniform(20, 100, 80)
    frame = pd.DataFrame({"size": x, "price": 0.02 * x + 0.5}).sample(frac=1, random_state=2)
    frame.to_csv(tmp_path / "flats.csv")
    out = run("fit", "mse", tmp_path / "flats.csv", "--target", "price", "--format", "json")
    assert out.exit_code == 0, out.stderr
    assert json.loads(out.stdout)["features"] == ["size"]


@pytest.mark.parametrize("spread", [1, 3, 1000, 10**12])  # a table of keys (narrow ranges), or sorting
def test_integer_keys_dense_or_sparse(run, tmp_path, spread):
    ids = RNG.permutation(N) * spread - 7 * spread
    order = RNG.permutation(N)
    pd.DataFrame({"id": ids, "p": X}).to_csv(tmp_path / "p.csv", index=False)
    pd.DataFrame({"id": ids[order], "y": Y[order]}).iloc[:-2].to_csv(tmp_path / "y.csv", index=False)
    extra = pd.DataFrame({"id": [ids.max() + spread, ids.min() - spread], "y": [0.5, 0.5]})
    pd.concat([pd.read_csv(tmp_path / "y.csv"), extra]).to_csv(tmp_path / "y.csv", index=False)
    keep = np.isin(ids, ids[order][:-2])
    data, err = _result(run, "mse", tmp_path / "p.csv", tmp_path / "y.csv", "--on", "id", "--on-missing", "drop")
    assert data["results"][0]["value"] == pytest.approx(float(np.mean((X[keep] - Y[keep]) ** 2)), rel=1e-12)
    assert [i["unmatched"] for i in data["inputs"]] == [2, 2]
    twice = pd.DataFrame({"id": np.r_[ids, ids[4]], "p": np.r_[X, 0.5]})
    twice.to_csv(tmp_path / "t.csv", index=False)
    for first, second in (("t.csv", "y.csv"), ("y.csv", "t.csv")):  # in the reference, or in the other
        out = run("compute", "mse", tmp_path / first, tmp_path / second, "--on", "id")
        assert out.stderr == (f"Error: {tmp_path}/t.csv, column 'id': the key {str(ids[4])!r} is in rows 4 and {N} "
                              "(--on needs each key once per input)\n")


def test_id_named_columns_of_different_names_are_no_pair(run, tmp_path):
    """A label column named like an id (``class_id``) is a file's data when it is its only column,
    and is not compared with another file's ``sample_id``."""
    pd.DataFrame({"sample_id": np.arange(N) + 500, "p0": X, "p1": 1 - X}).to_csv(tmp_path / "p.csv", index=False)
    y = (Y > 0.5).astype(int)
    pd.DataFrame({"class_id": y}).to_csv(tmp_path / "y.csv", index=False)
    data, err = _result(run, "ce", tmp_path / "p.csv", tmp_path / "y.csv")
    p = np.column_stack([X, 1 - X])
    assert data["results"][0]["value"] == pytest.approx(float(-np.mean(np.log(p[np.arange(N), y]))), rel=1e-12)
    assert data["inputs"][1]["columns"] == ["class_id"]


# -- cases from review: each a silent wrong number, a false alarm or a crash before ---------------

def test_integer_series_with_pandas_header_on_both_sides(run, tmp_path):
    """'0' above integers in every input: pandas' header (pd.Series(y).to_csv(index=False)) or the
    first row of np.savetxt(y, fmt='%d'), and the files cannot tell: refused, --header decides."""
    y, p = (RNG.random(N) < 0.4).astype(int), (RNG.random(N) < 0.5).astype(int)
    pd.Series(p).to_csv(tmp_path / "p.csv", index=False)
    pd.Series(y).to_csv(tmp_path / "y.csv", index=False)
    out = run("compute", "zero_one", tmp_path / "p.csv", tmp_path / "y.csv", "-p", "mode=threshold")
    assert (out.exit_code, out.stderr.splitlines()[-1]) == (2, (
        f"Error: {tmp_path}/p.csv and {tmp_path}/y.csv: the first line of each, 0 (or 0,1,...) above integers, may be "
        "pandas' header of numbered columns (pd.Series(y).to_csv(index=False)) or a row of data (np.savetxt(y, "
        "fmt='%d')), and the files cannot tell which: --header yes, or --header no"))
    data, _ = _result(run, "zero_one", tmp_path / "p.csv", tmp_path / "y.csv", "-p", "mode=threshold",
                      "--header", "yes")
    assert (data["results"][0]["count"], data["results"][0]["value"]) == (N, pytest.approx(float(np.mean(p != y))))
    # np.savetxt of labels starting with 0 on both sides: once silently one row short
    p[0] = y[0] = 0
    np.savetxt(tmp_path / "p.txt", p, fmt="%d")
    np.savetxt(tmp_path / "y.txt", y, fmt="%d")
    out = run("compute", "zero_one", tmp_path / "p.txt", tmp_path / "y.txt", "-p", "mode=threshold")
    assert out.exit_code == 2 and "the files cannot tell which: --header yes, or --header no" in out.stderr
    data, _ = _result(run, "zero_one", tmp_path / "p.txt", tmp_path / "y.txt", "-p", "mode=threshold",
                      "--header", "no")
    assert (data["results"][0]["count"], data["results"][0]["value"]) == (N, pytest.approx(float(np.mean(p != y))))
    # a header of floats above beside it decides nothing for the other; one input guessed alone is read as before
    pd.Series(RNG.random(N)).to_csv(tmp_path / "f.csv", index=False)
    data, err = _result(run, "bce", tmp_path / "f.csv", tmp_path / "y.csv")
    assert data["results"][0]["count"] == N


def _refused_as_a_header_or_a_sample(run, tmp_path, p, y, shown, what, example, line=None):
    """``p`` and ``y`` written with to_csv(index=False): refused, naming --header; --header yes reads them."""
    p.to_csv(tmp_path / "p.csv", index=False)
    y.to_csv(tmp_path / "y.csv", index=False)
    out = run("compute", "mse", tmp_path / "p.csv", tmp_path / "y.csv")
    assert (out.exit_code, out.stdout) == (2, "")
    assert out.stderr == (
        f"Error: {tmp_path}/p.csv and {tmp_path}/y.csv: the first line of each is {shown}, {line or 'distinct ' + what} above "
        f"numbers: pandas' header of columns named by {what} ({example}; to_csv(index=False)), or one sample predicted "
        "exactly, and the files cannot tell which: --header yes, or --header no\n")
    data, _ = _result(run, "mse", tmp_path / "p.csv", tmp_path / "y.csv", "--header", "yes")
    assert (data["results"][0]["count"], data["results"][0]["value"]) == (
        len(p), pytest.approx(float(np.mean((p.to_numpy() - y.to_numpy()) ** 2.0)), rel=1e-12))


@pytest.mark.parametrize("names", [[2021, 2022], [7, 14, 28]])
def test_columns_named_by_the_same_integers_above_integers_are_refused(run, tmp_path, names):
    """Counts by year (columns 2021, 2022) predicted and observed, written with to_csv(index=False):
    the header, distinct integers above integers, was read as a sample predicted exactly (mse 0.25
    for 0.333, exit 0). The same first line in both cannot tell a header from that sample: refused,
    and --header yes (or no) reads it."""
    rng = np.random.default_rng(21)
    p, y = rng.integers(0, 9, (N, len(names))), rng.integers(0, 9, (N, len(names)))
    _refused_as_a_header_or_a_sample(run, tmp_path, pd.DataFrame(p, columns=names), pd.DataFrame(y, columns=names),
                                     ",".join(map(str, names)), "integers", "years, horizons")
    # first lines that differ are data, and so are two selectors of one file
    np.savetxt(tmp_path / "a.csv", p, fmt="%d", delimiter=",")
    np.savetxt(tmp_path / "b.csv", y, fmt="%d", delimiter=",")
    data, _ = _result(run, "mse", tmp_path / "a.csv", tmp_path / "b.csv")
    assert data["results"][0]["value"] == pytest.approx(np.mean((p - y) ** 2.0))
    np.savetxt(tmp_path / "ab.csv", np.c_[p[:, 0], p[:, 0] + 1], fmt="%d", delimiter=",")
    assert _value(run, "mse", f"{tmp_path}/ab.csv:0", f"{tmp_path}/ab.csv:1") == 1.0


def test_columns_named_by_the_same_fractions_above_numbers_are_refused(run, tmp_path):
    """Review 79: spectra with wavelength columns (400.0, 400.5, ...) predicted and measured, written
    with to_csv(index=False): the header, numbers above numbers, was read as a sample (mse 0.0861 for
    0.0844, no word). The same first line in both, whose next lines differ, cannot tell a header from
    that sample: refused, naming --header; copies of one file (their second lines alike) are read."""
    rng = np.random.default_rng(3)
    wl = np.arange(400.0, 410.0, 0.5)
    y = pd.DataFrame(rng.normal(size=(N, wl.size)), columns=wl)
    p = y + rng.normal(scale=0.3, size=y.shape)
    _refused_as_a_header_or_a_sample(run, tmp_path, p, y, "400,400.5,401,401.5,402,402.5,...", "numbers",
                                     "quantiles, wavelengths")
    (tmp_path / "copy.csv").write_bytes((tmp_path / "y.csv").read_bytes())
    assert _value(run, "mse", tmp_path / "y.csv", tmp_path / "copy.csv") == 0.0


def test_one_column_named_by_the_same_fraction_is_refused(run, tmp_path):
    """Review 88 F2: df[0.5].to_csv(index=False) of a quantile's predictions and of its truth, one
    column each: the header 0.5 was read as a sample predicted exactly (1.0048 for 1.1053, nothing on
    stderr), where two such columns were refused. Refused alike where the line is written with fewer
    digits than the numbers below it, as a name is; one column whose first line is the same integer (a
    class predicted exactly), or a number written as those below it are, is data."""
    rng = np.random.default_rng(8)
    p, y = rng.normal(size=N), rng.normal(size=N)
    _refused_as_a_header_or_a_sample(run, tmp_path, pd.Series(p, name=0.5), pd.Series(y, name=0.5), "0.5",
                                     "numbers", "quantiles, wavelengths", line="a number")
    data, _ = _result(run, "mse", tmp_path / "p.csv", tmp_path / "y.csv", "--header", "yes")
    assert (data["results"][0]["count"], data["results"][0]["value"]) == (N, pytest.approx(np.mean((p - y) ** 2)))
    c, t = rng.integers(0, 5, N), rng.integers(0, 5, N)
    c[0] = t[0] = 3
    np.savetxt(tmp_path / "c.txt", c, fmt="%d")
    np.savetxt(tmp_path / "t.txt", t, fmt="%d")
    assert _value(run, "mse", tmp_path / "c.txt", tmp_path / "t.txt") == pytest.approx(np.mean((c - t) ** 2.0))
    # (review 90: 0.5 above predictions in full whose first is exact in both files: refused, as without it)
    p[0] = y[0] = 0.123456789
    pd.Series(p, name=0.5).to_csv(tmp_path / "p.csv", index=False)
    pd.Series(y, name=0.5).to_csv(tmp_path / "y.csv", index=False)
    out = run("compute", "mse", tmp_path / "p.csv", tmp_path / "y.csv")
    assert out.exit_code == 2 and "the first line of each is 0.5, a number above numbers" in out.stderr
    # (review 89: a first sample predicted exactly among values written alike, halves: data, in any writer)
    h, g = np.round(rng.random(N) * 10) / 2, np.round(rng.random(N) * 10) / 2
    h[0] = g[0] = 3.5
    for name, write in (("savetxt", lambda v, f: np.savetxt(f, v)), ("fmt", lambda v, f: np.savetxt(f, v, fmt="%.1f")),
                        ("series", lambda v, f: pd.Series(v).to_csv(f, index=False, header=False))):
        write(h, tmp_path / f"h{name}.csv")
        write(g, tmp_path / f"g{name}.csv")
        assert _value(run, "mse", tmp_path / f"h{name}.csv", tmp_path / f"g{name}.csv") == \
            pytest.approx(np.mean((h - g) ** 2.0))


@pytest.mark.parametrize("columns", [1, 2])
def test_whole_first_lines_above_fractions_in_every_input_are_refused(run, tmp_path, columns):
    """Review 88 F1: np.savetxt(fmt='%g') writes 3.0 as 3; two files whose first values were whole
    (3 and 2, above fractions) had their first lines read as pandas' headers: one sample dropped,
    1.2016 for 1.1814, exit 0 with a note. Nothing tells a header of columns named 3 from that
    sample: refused, naming --header; --header no gives the value. pandas' own numbering (0 above
    fractions: pd.Series(p).to_csv(index=False)) is read as a header, as before."""
    rng = np.random.default_rng(9)
    p, y = rng.normal(size=(N, columns)).round(3), rng.normal(size=(N, columns)).round(3)
    p[0], y[0] = np.arange(3, 3 + columns), np.arange(1, 1 + columns)
    np.savetxt(tmp_path / "p.csv", p, fmt="%g", delimiter=",")
    np.savetxt(tmp_path / "y.csv", y, fmt="%g", delimiter=",")
    out = run("compute", "mse", tmp_path / "p.csv", tmp_path / "y.csv")
    assert (out.exit_code, out.stdout) == (2, "")
    shown = {1: ("3", "1"), 2: ("3,4", "1,2")}[columns]
    assert out.stderr.splitlines()[-1] == (
        f"Error: {tmp_path}/p.csv and {tmp_path}/y.csv: the first line of each holds whole numbers above numbers with "
        f"a fraction ({tmp_path}/p.csv's is {shown[0]} and {tmp_path}/y.csv's is {shown[1]}): a header of columns "
        "named by integers, or a sample whose values are whole (np.savetxt(y, fmt='%g') writes 3.0 as 3), and the "
        "files cannot tell which: --header yes, or --header no")
    data, _ = _result(run, "mse", tmp_path / "p.csv", tmp_path / "y.csv", "--header", "no")
    assert (data["results"][0]["count"], data["results"][0]["value"]) == (N, pytest.approx(np.mean((p - y) ** 2)))
    # (review 91: the same line in both is a header: a Series named 3 above probabilities and 0/1 truths)
    pd.Series(np.linspace(0.05, 0.95, N), name=3).to_csv(tmp_path / "s3.csv", index=False)
    pd.Series((np.arange(N) % 2).astype(float), name=3).to_csv(tmp_path / "t3.csv", index=False)
    assert _value(run, "mse", tmp_path / "s3.csv", tmp_path / "t3.csv") == \
        pytest.approx(np.mean((np.linspace(0.05, 0.95, N) - np.arange(N) % 2) ** 2))
    pd.DataFrame(p).to_csv(tmp_path / "pp.csv", index=False)
    pd.DataFrame(y).to_csv(tmp_path / "py.csv", index=False)
    data, _ = _result(run, "mse", tmp_path / "pp.csv", tmp_path / "py.csv")
    assert (data["results"][0]["count"], data["results"][0]["value"]) == (N, pytest.approx(np.mean((p - y) ** 2)))


def test_one_file_of_integers_read_by_two_selectors_is_refused_like_two(run, tmp_path):
    """np.savetxt(np.c_[y, p], fmt='%d') with a first row 0 1, read as :1 and :0: the guess that
    the line is pandas' header was taken silently (one row short: mse 0.571 for 0.625), because the
    refusal compared files and this is one."""
    y, p = (RNG.random(N) < 0.4).astype(int), (RNG.random(N) < 0.5).astype(int)
    y[0], p[0] = 0, 1
    np.savetxt(tmp_path / "yp.txt", np.c_[y, p], fmt="%d")
    out = run("compute", "mse", f"{tmp_path}/yp.txt:1", f"{tmp_path}/yp.txt:0")
    assert (out.exit_code, out.stderr.splitlines()[-1]) == (2, (
        f"Error: {tmp_path}/yp.txt: its first line, 0 (or 0,1,...) above integers, may be pandas' header of numbered "
        "columns (pd.Series(y).to_csv(index=False)) or a row of data (np.savetxt(y, fmt='%d')), and the file cannot "
        "tell which: --header yes, or --header no"))
    data, _ = _result(run, "mse", f"{tmp_path}/yp.txt:1", f"{tmp_path}/yp.txt:0", "--header", "no")
    assert (data["results"][0]["count"], data["results"][0]["value"]) == (N, pytest.approx(np.mean((p - y) ** 2.0)))


def test_a_number_that_names_a_column_at_another_position_is_ambiguous(run, tmp_path):
    """np.savetxt(np.c_[y, p], delimiter=',', fmt='%g') whose first row is 1,2 above fractions: the
    line is guessed to be a header, :1 named its first column and :0 is the first column too, so
    the loss compared a column with itself (mse 0.0)."""
    y, p = RNG.random(N) * 4, RNG.random(N) * 4
    y[0], p[0] = 1, 2
    np.savetxt(tmp_path / "yp.csv", np.c_[y, p], delimiter=",", fmt="%.17g")
    out = run("compute", "mse", f"{tmp_path}/yp.csv:1", f"{tmp_path}/yp.csv:0")
    assert (out.exit_code, out.stderr.splitlines()[-1]) == (2, (
        f"Error: {tmp_path}/yp.csv: the first line (1,2) was guessed to be a header of numbered columns, so :1 is "
        "ambiguous: the column named 1 (position 0), or the column at position 1; --header yes reads the line as "
        "names, --header no as data (then :1 is the column at that position)"))
    data, _ = _result(run, "mse", f"{tmp_path}/yp.csv:1", f"{tmp_path}/yp.csv:0", "--header", "no")
    assert data["results"][0]["value"] == pytest.approx(np.mean((p - y) ** 2), rel=1e-14)
    # pandas' numbered columns (names equal to positions) are no ambiguity
    pd.DataFrame(np.c_[y, p] + 0.5).to_csv(tmp_path / "pd.csv", index=False)
    data, _ = _result(run, "mse", f"{tmp_path}/pd.csv:1", f"{tmp_path}/pd.csv:0")
    assert data["results"][0]["value"] == pytest.approx(np.mean((p - y) ** 2), rel=1e-14)


@pytest.mark.parametrize("write", [
    lambda s, path: s.to_csv(path, header=False),  # a filtered Series, its index on, no header
    lambda s, path: s.rename_axis("idx").reset_index().to_csv(path, index=False),  # a named index column
    lambda s, path: s.to_frame().to_csv(path, index_label=False),  # one field more than the header
])
def test_index_columns_of_filtered_frames(run, tmp_path, write):
    frame = pd.DataFrame({"pred": X, "label": Y})
    kept = frame[frame.pred > 0.2]
    write(kept.pred, tmp_path / "p.csv")
    write(kept.label, tmp_path / "y.csv")
    assert _value(run, "mse", tmp_path / "p.csv", tmp_path / "y.csv") == \
        pytest.approx(float(np.mean((kept.pred - kept.label) ** 2)), rel=1e-12)


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_a_reordered_pandas_index_beside_inputs_without_one(run, tmp_path, suffix):
    frame = pd.DataFrame({"pred": X, "label": Y})
    shuffled = frame.sample(frac=1, random_state=4)
    if suffix == "csv":
        shuffled[["pred"]].to_csv(tmp_path / "p.csv")
        frame[["label"]].to_csv(tmp_path / "y.csv", index=False)
        column = "Unnamed: 0"
    else:
        shuffled[["pred"]].to_parquet(tmp_path / "p.parquet")
        frame[["label"]].to_parquet(tmp_path / "y.parquet")  # a RangeIndex: metadata only
        column = "__index_level_0__"
    out = run("compute", "mse", tmp_path / f"p.{suffix}", tmp_path / f"y.{suffix}")
    idx = shuffled.index.to_numpy()
    k = int(np.flatnonzero(idx[1:] < idx[:-1])[0])
    assert (out.exit_code, out.stderr.splitlines()[-1]) == (2, (
        f"Error: {tmp_path}/p.{suffix}, row {k + 1}: its pandas index (column {column!r}) goes down from {idx[k]} to "
        f"{idx[k + 1]}: the rows are not in the order pandas numbered them, and the other inputs carry no index of "
        "that name to pair them by; write every input in the same order (or each with its index, and pair them with "
        "--on); if the others are in this file's order, write them with this column too, or this file without it (" + POSITIONAL + ")"))
    frame[["pred"]].to_csv(tmp_path / "in_order.csv")  # in order: fine
    if suffix == "csv":
        assert _value(run, "mse", tmp_path / "in_order.csv", tmp_path / "y.csv") == pytest.approx(MSE, rel=1e-12)


@pytest.mark.parametrize("names", [("Id", "id"), ("sample_id", "id")])
def test_id_columns_spelled_differently_are_compared(run, kaggle, names):
    d, sub, truth, _ = kaggle
    sub.rename(columns={"id": names[0]}).to_csv(d / "s.csv", index=False)
    truth.rename(columns={"id": names[1]}).to_csv(d / "t.csv", index=False)
    out = run("compute", "bce", d / "s.csv", d / "t.csv")
    assert out.exit_code == 2 and "their id columns disagree at row 0" in out.stderr
    assert out.stderr.endswith(f"--on NAME, once the key column has one name in every input ({names[0]!r}, "
                               f"{names[1]!r}) pairs them by key (if these columns are data, name them in a selector; " + POSITIONAL + ")\n")


def test_a_selected_id_named_column_is_data_not_a_key(run, tmp_path):
    a, b = RNG.integers(0, 2, N), RNG.integers(0, 2, N)
    pd.DataFrame({"class_id": a, "x": X}).to_csv(tmp_path / "p.csv", index=False)
    pd.DataFrame({"class_id": b}).to_csv(tmp_path / "y.csv", index=False)
    assert _value(run, "zero_one", f"{tmp_path}/p.csv:class_id", f"{tmp_path}/y.csv:class_id", "-p", "mode=threshold") == \
        pytest.approx(float(np.mean(a != b)))


def test_ids_beyond_int64_and_whole_floats(run, tmp_path):
    big = np.arange(N) * 1e17 + 1e19  # floats that are whole numbers, beyond int64
    pd.DataFrame({"id": big, "p": X}).to_parquet(tmp_path / "p.parquet")
    pd.DataFrame({"id": big, "y": Y}).to_parquet(tmp_path / "y.parquet")
    assert _value(run, "mse", tmp_path / "p.parquet", tmp_path / "y.parquet") == pytest.approx(MSE, rel=1e-12)
    ids = np.arange(N) + 10
    order = RNG.permutation(N)
    pd.DataFrame({"id": ids[order], "p": X[order]}).to_csv(tmp_path / "p.csv", index=False)
    (tmp_path / "y.csv").write_text("id,y\n" + "".join(f"{float(i)},{float(v)!r}\n" for i, v in zip(ids, Y)))  # 10.0
    assert _value(run, "mse", tmp_path / "p.csv", tmp_path / "y.csv", "--on", "id") == pytest.approx(MSE, rel=1e-12)


@pytest.mark.parametrize("rows, cell", [
    ("week;pred\n1;1.234,5\n2;2.345,5\n", "1.234,5"),  # German
    ("week;pred\n1;1 234,5\n2;2 345,5\n", "1 234,5"),  # French
    ('week,pred\n1,?\n2,"0,25"\n', "0,25"),  # the first value is not the one that looks numeric
])
def test_numbers_written_for_people_anywhere_in_a_column(run, tmp_path, rows, cell):
    (tmp_path / "p.csv").write_text(rows)
    (tmp_path / "y.csv").write_text("y\n1\n2\n")
    out = run("compute", "mse", tmp_path / "p.csv", tmp_path / "y.csv")
    line = 2 if cell != "0,25" else 3
    assert out.stderr.startswith(f"Error: {tmp_path}/p.csv, line {line}, column 'pred': found {cell!r}, which is not "
                                 "read as a number; it looks like a decimal comma")


def test_no_logits_hint_for_probabilities_that_do_not_sum_to_one(run, tmp_path):
    pd.DataFrame(1 / (1 + np.exp(-LOGITS[:, :3]))).to_csv(tmp_path / "sig.csv", index=False, header=["a", "b", "c"])
    pd.DataFrame({"y": CLASSES % 3}).to_csv(tmp_path / "y.csv", index=False)
    out = run("compute", "ce", tmp_path / "sig.csv", tmp_path / "y.csv")
    assert out.exit_code == 2 and "row sums to" in out.stderr and "look like logits" not in out.stderr


def test_more_messages(run, kaggle, tmp_path):
    d, sub, truth, _ = kaggle
    other = truth.assign(id=truth.id + 10**6)
    other.to_csv(d / "other.csv", index=False)
    out = run("compute", "bce", f"{d}/sub.csv", f"{d}/other.csv", "--on", "id", "--on-missing", "drop")
    assert out.stderr.startswith(f"Error: --on id: the inputs share no key ({d}/sub.csv: ")
    (d / "gap.csv").write_text("id,pred\n1,0.5\n,0.25\n")
    out = run("compute", "bce", d / "gap.csv", f"{d}/truth.csv", "--on", "id")
    assert out.stderr == f"Error: {d}/gap.csv, row 1, column 'id': a missing key (every row needs one to be matched with --on)\n"
    assert run("compute", "bce", d / "sub.csv", d / "truth.csv", "--on", " ").stderr == "Error: --on: expected a column name\n"
    assert run("compute", "ce", d / "sub.csv", d / "truth.csv", "--classes", "a,,b").stderr == \
        "Error: --classes 'a,,b': expected class names, none of them empty\n"
    (tmp_path / "ids.csv").write_text("file_name,category_id\na.png,2\nb.png,4\n")
    out = run("compute", "mse", tmp_path / "ids.csv", tmp_path / "ids.csv")
    assert out.stderr.splitlines()[-1] == (f"Error: {tmp_path}/ids.csv: no data column beside its id columns "
                                           f"(category_id) and text (file_name); name the column to read: "
                                           f"{tmp_path}/ids.csv:COLUMN")
    (tmp_path / "labels.csv").write_text("image_id,class_id\n7,2\n9,4\n")  # id columns only: the last is data
    data, _ = _result(run, "mae", tmp_path / "labels.csv", tmp_path / "labels.csv")
    assert data["inputs"][0]["columns"] == ["class_id"]
    (tmp_path / "cur.csv").write_text("n,pred\n1,$12.50\n")
    out = run("compute", "mse", tmp_path / "cur.csv", tmp_path / "cur.csv")
    assert out.stderr.endswith("found '$12.50', which is not read as a number; it looks like an amount with a currency "
                               "sign, which losscli does not read; write plain numbers\n")
    out = run("compute", "bce", d / "sub.csv", d / "truth.csv", "--on", "id", "--engine", "dask")
    assert out.stderr == ("Error: --on is not available with --engine dask (the inputs are matched whole, in one process); "
                          "use the local engine\n")
    (d / "g.toml").write_text('[[gate]]\nloss = "bce"\ninputs = ["sub.csv:pred", "truth.csv:label"]\n'
                              'on_missing = "drop"\nmax = 1\n')
    assert run("check", d / "g.toml").stderr == f"Error: {d}/g.toml: gate 1: key 'on_missing' goes with key 'on'\n"
    (d / "g.toml").write_text('[[gate]]\nloss = "bce"\ninputs = ["sub.csv:pred", "truth.csv:label"]\n'
                              'on = "id"\nmax = 1\n')
    out = run("check", d / "g.toml")
    assert out.stdout.splitlines()[-2:] == [f"predictions: {d}/sub.csv:pred, columns pred, {N} rows, matched on id",
                                            f"labels: {d}/truth.csv:label, columns label, {N} rows, matched on id"]


def test_compare_drops_the_keys_any_input_lacks(run, kaggle):
    d, sub, truth, _ = kaggle
    other = sub.assign(pred=lambda f: np.clip(f.pred * 0.8 + 0.1, 0.01, 0.99))
    sub.iloc[3:].to_csv(d / "a.csv", index=False)
    other.iloc[:-3].sample(frac=1, random_state=5).to_csv(d / "b.csv", index=False)
    out = run("compare", "bce", d / "a.csv", d / "b.csv", d / "truth.csv", "--on", "id", "--on-missing", "drop",
              "--format", "json")
    shared = set(sub.id.iloc[3:]) & set(other.id.iloc[:-3])
    m = truth[truth.id.isin(shared)].merge(sub, on="id").merge(other, on="id", suffixes=("_a", "_b"))

    def bce(p):
        return float(-np.mean(m.label * np.log(p) + (1 - m.label) * np.log(1 - p)))

    rec = json.loads(out.stdout)["results"][0]
    assert (rec["baseline"], rec["candidate"]) == (pytest.approx(bce(m.pred_a), rel=1e-12), pytest.approx(bce(m.pred_b), rel=1e-12))
    assert out.stderr.count("dropped the rows") == 1


# -- second review --------------------------------------------------------------------------------

def test_check_and_compare_join_the_same_files_twice(run, kaggle):
    d, sub, truth, bce = kaggle
    sub.sample(frac=1, random_state=8).to_csv(d / "old.csv", index=False)
    (d / "two.toml").write_text('[[gate]]\nloss = "bce"\ninputs = ["sub.csv", "truth.csv"]\non = "id"\nmax = 9\n'
                                '[[gate]]\nloss = "bce"\ninputs = ["sub.csv", "truth.csv"]\non = "id"\n'
                                'baseline = "old.csv"\nmax_increase = "1%"\n')
    out = run("check", d / "two.toml", "--format", "json")
    assert out.exit_code == 0, out.stderr
    assert [g["value"] for g in json.loads(out.stdout)["gates"]] == [pytest.approx(bce, rel=1e-12)] * 2
    out = run("compare", "bce", "-", d / "sub.csv", d / "truth.csv", "--on", "id", "--format", "json",
              input=(d / "old.csv").read_text())
    rec = json.loads(out.stdout)["results"][0]
    assert (rec["baseline"], rec["candidate"]) == (pytest.approx(bce, rel=1e-12), pytest.approx(bce, rel=1e-12))


@pytest.mark.parametrize("index", [False, True])
def test_numbered_columns_other_than_0_1_2(run, tmp_path, index):
    pd.DataFrame(LOGITS[:, :3], columns=[1, 2, 3]).to_csv(tmp_path / "p.csv", index=index)
    pd.DataFrame(LOGITS[:, 1:], columns=[1, 2, 3]).to_csv(tmp_path / "y.csv", index=index)
    data, _ = _result(run, "mse", tmp_path / "p.csv", tmp_path / "y.csv")
    assert (data["results"][0]["count"], data["results"][0]["value"]) == \
        (N, pytest.approx(float(np.mean((LOGITS[:, :3] - LOGITS[:, 1:]) ** 2)), rel=1e-12))


@pytest.mark.parametrize("write", [
    lambda f, p: f.set_index(pd.MultiIndex.from_arrays([np.arange(N) % 3, np.arange(N)])).to_csv(p),  # Unnamed: 0, 1
    lambda f, p: pd.read_csv(io.StringIO(f.to_csv())).to_parquet(p.with_suffix(".parquet")),  # a real Unnamed: 0
    lambda f, p: f.rename_axis("row").to_csv(p),
    lambda f, p: f.reset_index().reset_index().to_csv(p, index=False),  # level_0, index
])
def test_more_index_columns(run, tmp_path, write):
    for name, values in (("p", X), ("y", Y)):
        write(pd.DataFrame({name: values}), tmp_path / f"{name}.csv")
    suffix = "parquet" if (tmp_path / "p.parquet").exists() else "csv"
    assert _value(run, "mse", tmp_path / f"p.{suffix}", tmp_path / f"y.{suffix}") == pytest.approx(MSE, rel=1e-12)


def test_a_shuffled_export_beside_a_truth_file_with_ids(run, tmp_path):
    pd.DataFrame({"pred": X}).sample(frac=1, random_state=6).to_csv(tmp_path / "p.csv")
    pd.DataFrame({"id": np.arange(N), "label": Y}).to_csv(tmp_path / "t.csv", index=False)
    out = run("compute", "mse", tmp_path / "p.csv", tmp_path / "t.csv")
    assert out.exit_code == 2 and "its pandas index (column 'Unnamed: 0') goes down" in out.stderr


def test_shards_each_numbered_from_zero_are_in_order(run, tmp_path):
    (tmp_path / "p").mkdir()
    (tmp_path / "y").mkdir()
    for k in range(3):
        pd.DataFrame({"pred": X[k * 30:(k + 1) * 30]}).to_csv(tmp_path / "p" / f"part-{k}.csv")
        pd.DataFrame({"label": Y[k * 30:(k + 1) * 30]}).to_csv(tmp_path / "y" / f"part-{k}.csv", index=False)
    assert _value(run, "mse", tmp_path / "p", tmp_path / "y") == pytest.approx(float(np.mean((X[:90] - Y[:90]) ** 2)))


def test_a_headerless_text_index_is_data(run, tmp_path):
    names = [f"img_{i:03d}.png" for i in range(N)]
    pd.Series(X, index=names).to_csv(tmp_path / "p.csv", header=False)
    pd.Series(Y, index=names).to_csv(tmp_path / "y.csv", header=False)
    data, err = _result(run, "mse", tmp_path / "p.csv", tmp_path / "y.csv")
    assert (data["results"][0]["count"], data["results"][0]["value"]) == (N, pytest.approx(MSE, rel=1e-12))
    assert err == "".join(f"losscli: note: {tmp_path}/{f}: column '0' holds text ('img_000.png'), not numbers: it "
                          "is not read\n" for f in ("p.csv", "y.csv"))


@pytest.mark.parametrize("cell, hint", [("1'038.5", "thousands separators"), ("0,38E-3", "decimal comma"),
                                        ("\u22120.38", "minus sign"), ("(0.38)", "in parentheses")])
def test_more_numbers_written_for_people(run, tmp_path, cell, hint):
    (tmp_path / "p.csv").write_text(f"score;pred\n1;{cell}\n2;{cell}\n", encoding="utf-8")
    out = run("compute", "mse", tmp_path / "p.csv", tmp_path / "p.csv")
    assert out.exit_code == 2 and f"found {cell!r}, which is not read as a number; it looks like" in out.stderr
    assert hint in out.stderr


def test_dropped_keys_leave_file_rows_as_indices(run, tmp_path):
    (tmp_path / "p.csv").write_text("id,p\n9,0.5\n3,0.0\n5,0.25\n7,1.0\n")
    (tmp_path / "y.csv").write_text("id,y\n3,1.0\n5,0.0\n7,1.0\n")
    data, _ = _result(run, "mse", tmp_path / "p.csv", tmp_path / "y.csv", "--on", "id", "--on-missing", "drop", "--top", "1")
    assert data["results"][0]["worst"] == [{"index": 1, "loss": 1.0, "key": 3}]
    (tmp_path / "q.csv").write_text("id,p\n3,0.5\n,0.0\n")
    (tmp_path / "z.csv").write_text("id,y\n3,1.0\n4,0.0\n")
    out = run("compute", "mse", tmp_path / "q.csv", tmp_path / "z.csv")
    assert "(" + f"{tmp_path}/q.csv id a missing value, {tmp_path}/z.csv id '4')" in out.stderr


def test_per_sample_csv_names_each_rows_key_with_on(run, tmp_path):
    (tmp_path / "p.csv").write_text("id,p\nb,0.5\na,0.25\nc,1.0\n")
    (tmp_path / "y.csv").write_text("id,y\na,0\nb,1\n")
    out = run("compute", "mse", tmp_path / "p.csv", tmp_path / "y.csv", "--on", "id", "--on-missing", "drop",
              "--per-sample", "--format", "csv")
    assert out.stdout == "index,key,mse\n0,b,0.25\n1,a,0.0625\n"
    out = run("compute", "mse", f"{tmp_path}/p.csv:p", f"{tmp_path}/p.csv:p", "--per-sample", "--format", "csv")
    assert out.stdout.splitlines()[0] == "index,mse"


def test_keys_beyond_int64_stay_apart(run, tmp_path):
    """20-digit ids (unsigned 64-bit hashes) are not int64: compared as text, never through a
    float64 that would make neighbours one id; uint64 Parquet ids likewise."""
    ids = [str(18_000_000_000_000_000_000 + k) for k in range(4)]  # neighbours: one float64
    (tmp_path / "p.csv").write_text("id,p\n" + "".join(f"{k},{v}\n" for k, v in zip(ids, [0.0, 1.0, 2.0, 3.0])))
    (tmp_path / "y.csv").write_text("id,y\n" + "".join(f"{k},{v}\n" for k, v in zip(ids[::-1], [3.0, 2.0, 1.0, 0.0])))
    assert _value(run, "mse", tmp_path / "p.csv", tmp_path / "y.csv", "--on", "id") == 0.0
    near = [f"{2**53 + k}.0" for k in range(4)]  # text (".0") past 2**53: a float64 would merge neighbours
    (tmp_path / "p.csv").write_text("id,p\n" + "".join(f"{k},{v}\n" for k, v in zip(near, [0.0, 1.0, 2.0, 3.0])))
    (tmp_path / "y.csv").write_text("id,y\n" + "".join(f"{k},{v}\n" for k, v in zip(near[::-1], [3.0, 2.0, 1.0, 0.0])))
    assert _value(run, "mse", tmp_path / "p.csv", tmp_path / "y.csv", "--on", "id") == 0.0
    u = pa.array([int(k) for k in ids], pa.uint64())
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"id": u, "p": [0.0, 1.0, 2.0, 3.0]}), tmp_path / "p.parquet")
    pq.write_table(pa.table({"id": u[::-1], "y": [3.0, 2.0, 1.0, 0.0]}), tmp_path / "y.parquet")
    assert _value(run, "mse", tmp_path / "p.parquet", tmp_path / "y.parquet", "--on", "id") == 0.0


# -- a first line of text beside integers, a first line the inputs share (review 51) ------------------

@pytest.mark.parametrize("index", [pd.date_range("2024-01-01", periods=N), [f"img_{i:03d}.png" for i in range(N)]],
                         ids=["dates", "file names"])
def test_a_series_with_a_text_index_written_without_a_header(run, tmp_path, index):
    """pandas' to_csv(header=False) of integers indexed by dates or names: the first line, text above
    text and an integer above integers, is as likely that as pandas' header of a series with a named
    index (name,0), so it stays a header by default; --header no reads it as the row it is (it did
    nothing for a line with text in it). A date above dates names no column: a row by default."""
    p, y = RNG.integers(0, 50, N), RNG.integers(0, 50, N)
    pd.Series(p, index=index).to_csv(tmp_path / "p.csv", header=False)
    pd.Series(y, index=index).to_csv(tmp_path / "y.csv", header=False)
    data, _ = _result(run, "mse", tmp_path / "p.csv", tmp_path / "y.csv", "--header", "no")
    assert (data["results"][0]["value"], data["results"][0]["count"]) == \
        (pytest.approx(float(np.mean((p - y) ** 2.0)), rel=1e-15), N)
    assert data["inputs"][0]["header"] == "no (--header no)"
    data, _ = _result(run, "mse", tmp_path / "p.csv", tmp_path / "y.csv")
    dates = isinstance(index, pd.DatetimeIndex)
    assert data["results"][0]["count"] == (N if dates else N - 1)
    assert data["inputs"][0]["header"] == ("no (its times stand above times, its numbers above numbers: a row of data)"
                                           if dates else "yes (a field of the first line is not a number)")
    # pandas' default header of such a series with a named index stays a header
    pd.Series(p, index=pd.Index(index, name="name")).to_csv(tmp_path / "p.csv")
    pd.Series(y, index=pd.Index(index, name="name")).to_csv(tmp_path / "y.csv")
    assert _value(run, "mse", tmp_path / "p.csv", tmp_path / "y.csv") == pytest.approx(float(np.mean((p - y) ** 2.0)))


def test_boolean_labels_written_without_a_header(run, tmp_path):
    """pd.Series(bools).to_csv(index=False, header=False): a first line True is a label, as the ones
    below it are read (1, 0); it was taken for a header, and --header yes (the advice then) gave a
    wrong value with exit 0."""
    p, y = X.copy(), Y > 0.5
    pd.Series(p).to_csv(tmp_path / "p.csv", index=False, header=False)
    pd.Series(y).to_csv(tmp_path / "y.csv", index=False, header=False)
    expected = float(np.mean(-(y * np.log(p) + (1 - y) * np.log(1 - p))))
    assert _value(run, "bce", tmp_path / "p.csv", tmp_path / "y.csv") == pytest.approx(expected, rel=1e-14)


def test_a_header_of_numbered_columns_above_one_input_only_says_both_ways(run, tmp_path):
    """Float predictions with columns 1,2,3 (a header: numbers with a fraction below) and integer
    labels with the same header (read as data): one row apart. The advice was --header no, which
    read both first lines as data (a wrong value, exit 0); both ways are named now."""
    cols = [1, 2, 3]
    pd.DataFrame(LOGITS[:, :3], columns=cols).to_csv(tmp_path / "p.csv", index=False)
    labels = RNG.integers(0, 5, (N, 3))
    pd.DataFrame(labels, columns=cols).to_csv(tmp_path / "y.csv", index=False)
    out = run("compute", "mse", tmp_path / "p.csv", tmp_path / "y.csv")
    assert out.stderr.endswith(f"{tmp_path}/p.csv's first line was read as pandas' header of numbered columns and "
                               f"{tmp_path}/y.csv's as data: --header yes reads both as headers, --header no both as "
                               "data\n")
    assert _value(run, "mse", tmp_path / "p.csv", tmp_path / "y.csv", "--header", "yes") == \
        pytest.approx(float(np.mean((LOGITS[:, :3] - labels) ** 2)), rel=1e-14)


def test_a_range_of_column_names_is_read_by_name_as_a_list_is(run, tmp_path):
    """pandas' to_csv() of a frame with columns 0, 1 writes the header ,0,1: :0,1 read the columns
    named 0 and 1, while :0-1 read positions 0 and 1 (the index and column 0), a wrong value with exit
    0. A range whose ends both name columns is read by name; other ranges stay positions."""
    p, y = RNG.random((N, 2)), RNG.random((N, 2))
    pd.DataFrame(p).to_csv(tmp_path / "p.csv")
    pd.DataFrame(y).to_csv(tmp_path / "y.csv")
    expected = float(np.mean((p - y) ** 2))
    for sel in ("0,1", "0-1"):
        assert _value(run, "mse", f"{tmp_path}/p.csv:{sel}", f"{tmp_path}/y.csv:{sel}") == pytest.approx(expected, rel=1e-14)
    pd.DataFrame({"a": p[:, 0], "b": p[:, 1]}).to_csv(tmp_path / "q.csv", index=False)
    pd.DataFrame({"a": y[:, 0], "b": y[:, 1]}).to_csv(tmp_path / "z.csv", index=False)
    assert _value(run, "mse", f"{tmp_path}/q.csv:0-1", f"{tmp_path}/z.csv:0-1") == pytest.approx(expected, rel=1e-14)


@pytest.mark.parametrize("how", ["one column with the index", "two columns"])
def test_decimal_commas_without_a_header_are_never_read_as_integers(run, tmp_path, how):
    """pandas' to_csv(sep=';', decimal=',', header=False) with the index: ';' and ',' once a line,
    ',' was taken for the delimiter (6050.0, exit 0). ';' is the delimiter where the fields between
    the ';' are numbers with a decimal comma, and the decimal comma is named; a file of two integer
    columns still reads. (One column without the index has no ';' at all: 0,25 is two integers there,
    as any reader takes it.)"""
    p, y = [0.25, 1.5, -0.75, 2.125], [0.5, 1.0, -1.25, 2.0]
    frame = pd.DataFrame({"p": p, "q": y}) if how == "two columns" else pd.Series(p)
    frame.to_csv(tmp_path / "p.csv", sep=";", decimal=",", header=False, index=how.endswith("index"))
    out = run("compute", "mse", tmp_path / "p.csv", tmp_path / "p.csv")
    assert out.exit_code == 2 and out.stdout == ""
    assert "decimal comma" in out.stderr and out.stderr.count("\n") == 1
    (tmp_path / "i.csv").write_text("3,5\n1,2\n-4,7\n")
    assert _value(run, "mae", f"{tmp_path}/i.csv:0", f"{tmp_path}/i.csv:1") == pytest.approx(14 / 3)


@pytest.mark.parametrize("how", ["file", "stdin", "dask"])
def test_one_table_given_twice_without_a_selector_is_refused(run, tmp_path, how):
    """mse eval.csv eval.csv (predictions and labels in one file, no selectors): both inputs read both
    columns and the loss was 0.0, exit 0 (review 63). A file of one column given twice is left alone."""
    path = tmp_path / "ev.csv"
    path.write_text("pred,label\n1,2\n2,4\n3,3\n")
    if how == "stdin":
        out = run("compute", "mse", "-", "-", input=path.read_text())
        name = "-"
    else:
        out = run("compute", "mse", path, path, *(["--engine", "dask"] if how == "dask" else []))
        name = str(path)
    assert (out.exit_code, out.stdout) == (2, "")
    assert out.stderr == (f"Error: {name} is given for two inputs without a selector: both read its columns pred, label, "
                          f"so the loss would compare them with themselves; name each one's columns ({name}:pred and "
                          f"{name}:label)\n")
    assert run("compute", "mse", f"{path}:pred", f"{path}:label", "--format", "value").stdout == f"{5 / 3!r}\n"
    out = run("compute", "mse", path, tmp_path / "." / "ev.csv")  # (one file, however named: review 64)
    assert out.exit_code == 2 and "is given for two inputs without a selector" in out.stderr
    # probabilities against themselves are their entropy (ce), not 0: left alone
    (tmp_path / "pr.csv").write_text("a,b\n0.25,0.75\n0.5,0.5\n")
    out = run("compute", "ce", tmp_path / "pr.csv", tmp_path / "pr.csv", "--format", "value")
    assert out.exit_code == 0 and float(out.stdout) == pytest.approx(-(0.25 * np.log(0.25) + 0.75 * np.log(0.75)
                                                                       + np.log(0.5)) / 2, rel=1e-12)
    (tmp_path / "one.csv").write_text("y\n1\n2\n")
    assert run("compute", "mse", tmp_path / "one.csv", tmp_path / "one.csv", "--format", "value").stdout == "0.0\n"


def test_a_column_name_with_a_comma_is_selected_by_its_name(run, tmp_path):
    """Review 79: pandas quotes a name with a comma ("pred, v1"); a selector split at every comma
    could not name it, and the error listed it as two columns (columns: pred, v1, x)."""
    pd.DataFrame({"pred, v1": X, "x": X + 1, "a,b": X - 1}).to_csv(tmp_path / "p.csv", index=False)
    pd.DataFrame({"label": Y}).to_csv(tmp_path / "y.csv", index=False)
    for sel, col in (("pred, v1", X), ("x", X + 1), ("a,b", X - 1)):
        data, _ = _result(run, "mse", f"{tmp_path}/p.csv:{sel}", tmp_path / "y.csv")
        assert data["results"][0]["value"] == pytest.approx(float(np.mean((col - Y) ** 2)), rel=1e-12)
    data, _ = _result(run, "mae", f"{tmp_path}/p.csv:x,pred, v1", f"{tmp_path}/p.csv:a,b,x")  # (two columns each)
    assert data["inputs"][0]["columns"] == ["x", "pred, v1"] and data["inputs"][1]["columns"] == ["a,b", "x"]
    out = run("compute", "mse", f"{tmp_path}/p.csv:pred", tmp_path / "y.csv")
    assert (out.exit_code, out.stderr) == (2, f"Error: {tmp_path}/p.csv: no column 'pred' (columns: 'pred, v1', "
                                              "'x', 'a,b')\n")


@pytest.mark.parametrize("blocks", [None, "500", "300"])
@pytest.mark.parametrize("booleans_first", [False, True])
def test_a_column_of_numbers_then_booleans_is_refused_wherever_blocks_fall(run, tmp_path, blocks, booleans_first):
    """Labels written 1.0/0.0, then True/False from row 500 (two writes put together): refused when
    one block held both, read as 1/0 when the switch fell on a block's start (review 105 #2); the
    other way round, the error named the block's first line. Refused wherever the blocks fall,
    naming the line of the switch."""
    flags = np.random.default_rng(1).random(1000) < 0.5
    numbers = ["1.0" if v else "0.0" for v in flags]
    words = ["True" if v else "False" for v in flags]
    rows = (words[:500] + numbers[500:]) if booleans_first else (numbers[:500] + words[500:])
    (tmp_path / "y.csv").write_text("y\n" + "\n".join(rows) + "\n")
    (tmp_path / "p.csv").write_text("p\n" + "0.5\n" * 1000)
    out = run("compute", "mse", tmp_path / "p.csv", tmp_path / "y.csv", *(["--block-rows", blocks] if blocks else []))
    assert (out.exit_code, out.stdout) == (2, "")
    expected, held = ("a boolean (True or False)", "booleans") if booleans_first else ("a number", "numbers")
    assert out.stderr == (f"Error: {tmp_path / 'y.csv'}, line 502, column 'y': expected {expected}, found "
                          f"{rows[500]!r} (the lines above hold {held}: a column of numbers and booleans is neither)\n")


@pytest.mark.parametrize("writer", ["csv", "parquet"])
def test_a_dataset_of_numbers_in_one_shard_and_booleans_in_the_next_is_refused(run, tmp_path, writer):
    """A dataset whose first part holds numbers and whose second holds booleans (two writes of a
    column, one of them True/False) was read as numbers and 1/0, exit 0, where the same rows in one
    file are refused: refused, naming the shard and line (or row) of the switch and where the
    numbers were."""
    import pandas as pd

    (tmp_path / "y").mkdir()
    parts = [pd.DataFrame({"y": [0.25, 0.75, 0.5]}), pd.DataFrame({"y": [None, True, False]}, dtype="object")]
    for i, part in enumerate(parts):
        if writer == "csv":
            part.to_csv(tmp_path / "y" / f"part-{i}.csv", index=False)
        else:
            part.astype("float64" if i == 0 else "boolean").to_parquet(tmp_path / "y" / f"part-{i}.parquet")
    pd.DataFrame({"p": np.linspace(0.1, 0.6, 6)}).to_csv(tmp_path / "p.csv", index=False)
    out = run("compute", "mse", tmp_path / "p.csv", tmp_path / "y")
    assert (out.exit_code, out.stdout) == (2, "")
    where = ("line 3", "line 2") if writer == "csv" else ("row 1", "row 0")
    assert out.stderr == (f"Error: {tmp_path}/y/part-1.{writer}, {where[0]}, column 'y': expected a number, found "
                          f"'True' ({tmp_path}/y/part-0.{writer}, {where[1]} holds a number, "
                          "'0.25': a column of numbers and booleans is neither)\n")
    parts[1] = pd.DataFrame({"y": [1.0, 0.0, 1.0]})  # (numbers in both: read)
    parts[1].to_csv(tmp_path / "y" / "part-1.csv", index=False) if writer == "csv" else \
        parts[1].to_parquet(tmp_path / "y" / "part-1.parquet")
    out = run("compute", "mse", tmp_path / "p.csv", tmp_path / "y", "--format", "value")
    y = np.array([0.25, 0.75, 0.5, 1.0, 0.0, 1.0])
    assert out.exit_code == 0 and float(out.stdout) == pytest.approx(np.mean((np.linspace(0.1, 0.6, 6) - y) ** 2))
