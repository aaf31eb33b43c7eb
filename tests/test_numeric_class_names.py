"""Integer labels that are class names: predictions whose columns are named by integers other than
0..K-1 (``predict_proba`` as a frame with ``columns=clf.classes_ = [1, 2, 3]``, ``pd.get_dummies``)
or ``--classes 1,2,3`` map label v to the column named v, not to index v (issue: labels 1, 2
against columns 1, 2, 3 were read as indices 1, 2 and gave a wrong value without a word). Every case
goes through the CLI with files pandas writes; values are checked against numpy on the arrays in
memory."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from .conftest import compute_json as _result
from .conftest import compute_value as _value

RNG = np.random.default_rng(41)
N = 60
P = RNG.dirichlet([1.0, 1.0, 1.0], N)  # class probabilities, 3 classes
Z = RNG.standard_normal((N, 3))  # logits
NAMES = np.array([1, 2, 3])
Y123 = RNG.choice(NAMES, N)  # labels naming every class
Y12 = RNG.choice(NAMES[:2], N)  # labels 1, 2 only: also valid 0-based indices (the silent case)
Y12[:2] = [1, 2]
W = RNG.integers(1, 4, N)  # integer weights: never class names
GUESSED = ("losscli: note: {}: its first line, all numbers, is read as pandas' header of numbered columns; "
           "--header no reads it as data, --header yes says it is a header\n")


def ce(p, idx):
    return float(-np.mean(np.log(p[np.arange(len(idx)), idx])))


def softmax_ce(z, idx):
    z = z - z.max(axis=1, keepdims=True)
    return float(np.mean(np.log(np.exp(z).sum(axis=1)) - z[np.arange(len(idx)), idx]))


def multi_margin(s, idx):
    c = s.shape[1]
    margins = np.maximum(0.0, 1.0 - s[np.arange(len(idx)), idx][:, None] + s)
    margins[np.arange(len(idx)), idx] = 0.0
    return float(np.mean(margins.sum(axis=1) / c))


def note(labels, column, names, source):
    return (f"losscli: note: {labels}: column {column!r}: integer labels read as class names {names} ({source}): "
            "a label v is the class named v, not class index v\n")




@pytest.fixture
def files(tmp_path):
    d = tmp_path
    pd.DataFrame(P, columns=NAMES).to_csv(d / "probs.csv", index=False)  # header 1,2,3
    pd.DataFrame(np.log(P), columns=NAMES).to_csv(d / "logp.csv", index=False)
    pd.DataFrame(Z, columns=NAMES).to_csv(d / "logits.csv", index=False)
    pd.DataFrame(P).to_csv(d / "plain.csv", index=False)  # header 0,1,2
    pd.DataFrame(P, columns=["cat", "dog", "bird"]).to_csv(d / "named.csv", index=False)
    pd.DataFrame({"y": Y123}).to_csv(d / "y123.csv", index=False)
    pd.DataFrame({"y": Y12}).to_csv(d / "y12.csv", index=False)
    pd.DataFrame({"w": W}).to_csv(d / "w.csv", index=False)
    return d


# -- columns named 1, 2, 3 -------------------------------------------------------------------------

def test_labels_naming_some_of_the_columns_are_names_not_indices(run, files):
    d = files
    data, err = _result(run, "ce", d / "probs.csv", d / "y12.csv")
    assert data["results"][0]["value"] == pytest.approx(ce(P, Y12 - 1), rel=1e-12)
    assert err == GUESSED.format(d / "probs.csv") + note(d / "y12.csv", "y", "1, 2, 3", f"the columns of {d}/probs.csv")
    assert ce(P, Y12 - 1) != pytest.approx(ce(P, Y12), rel=1e-3)  # (what was read before: indices 1, 2)
    assert _value(run, "nll", d / "logp.csv", d / "y12.csv") == pytest.approx(ce(P, Y12 - 1), rel=1e-12)
    assert _value(run, "softmax_ce", d / "logits.csv", d / "y12.csv") == pytest.approx(softmax_ce(Z, Y12 - 1), rel=1e-12)


def test_labels_naming_every_column(run, files):
    d = files
    assert _value(run, "ce", d / "probs.csv", d / "y123.csv") == pytest.approx(ce(P, Y123 - 1), rel=1e-12)
    assert _value(run, "nll", d / "logp.csv", d / "y123.csv") == pytest.approx(ce(P, Y123 - 1), rel=1e-12)
    assert _value(run, "softmax_ce", d / "logits.csv", d / "y123.csv") == \
        pytest.approx(softmax_ce(Z, Y123 - 1), rel=1e-12)
    assert _value(run, "multi_margin", d / "logits.csv", d / "y123.csv") == \
        pytest.approx(multi_margin(Z, Y123 - 1), rel=1e-12)


def test_the_json_records_the_class_names(run, files):
    d = files
    data, _ = _result(run, "ce", d / "probs.csv", d / "y12.csv")
    assert data["inputs"][1]["classes"] == {"names": ["1", "2", "3"], "from": f"the columns of {d}/probs.csv",
                                            "labels": "integers"}
    assert "classes" not in data["inputs"][0]


def test_sparse_and_signed_class_names(run, files, tmp_path):
    d = files
    ids = np.array([0, 2, 5])  # class ids with gaps: 0 is the first column, 2 the second, 5 the third
    y = RNG.choice(ids, N)
    pd.DataFrame(P, columns=ids).to_csv(d / "gaps.csv", index=False)
    pd.DataFrame({"y": y}).to_csv(d / "ygaps.csv", index=False)
    assert _value(run, "ce", d / "gaps.csv", d / "ygaps.csv") == pytest.approx(ce(P, np.searchsorted(ids, y)), rel=1e-12)
    # -1, 1: a header CSV's auto-detection reads as data (not pandas' numbered columns): --header yes
    z2 = Z[:, :2]
    s = RNG.choice([-1, 1], N)
    pd.DataFrame(z2, columns=[-1, 1]).to_csv(d / "pm.csv", index=False)
    pd.DataFrame({"y": s}).to_csv(d / "ypm.csv", index=False)
    expected = softmax_ce(z2, (s + 1) // 2)
    assert _value(run, "softmax_ce", d / "pm.csv", d / "ypm.csv", "--header", "yes") == pytest.approx(expected, rel=1e-12)
    pd.DataFrame(z2, columns=[-1, 1]).to_parquet(d / "pm.parquet")  # Parquet keeps the names, as text
    assert _value(run, "softmax_ce", d / "pm.parquet", d / "ypm.csv") == pytest.approx(expected, rel=1e-12)
    assert _value(run, "multi_margin", d / "pm.parquet", d / "ypm.csv") == \
        pytest.approx(multi_margin(z2, (s + 1) // 2), rel=1e-12)


def test_parquet_with_integer_column_names(run, files):
    d = files
    pd.DataFrame(P, columns=NAMES).to_parquet(d / "probs.parquet")
    pd.DataFrame({"y": Y12}).to_parquet(d / "y12.parquet")
    data, err = _result(run, "ce", d / "probs.parquet", d / "y12.parquet")
    assert data["results"][0]["value"] == pytest.approx(ce(P, Y12 - 1), rel=1e-12)
    assert err == note(d / "y12.parquet", "y", "1, 2, 3", f"the columns of {d}/probs.parquet")


def test_many_blocks_and_pairing_by_key(run, files):
    d = files
    data, err = _result(run, "ce", d / "probs.csv", d / "y12.csv", "--block-rows", "7")
    assert data["results"][0]["value"] == pytest.approx(ce(P, Y12 - 1), rel=1e-12)
    assert err.count("integer labels read as class names") == 1  # once per run, not per block
    order = RNG.permutation(N)
    pd.DataFrame(P, columns=NAMES).assign(id=np.arange(N)).to_csv(d / "pid.csv", index=False)
    pd.DataFrame({"id": order, "y": Y12[order]}).to_csv(d / "yid.csv", index=False)
    assert _value(run, "ce", d / "pid.csv", d / "yid.csv", "--on", "id") == pytest.approx(ce(P, Y12 - 1), rel=1e-12)


def test_a_label_that_names_no_column_is_an_error(run, files):
    d = files
    y = Y12.copy()
    y[5] = 4
    pd.DataFrame({"y": y}).to_csv(d / "y4.csv", index=False)
    out = run("compute", "ce", d / "probs.csv", d / "y4.csv")
    assert out.exit_code == 2
    assert out.stderr == GUESSED.format(d / "probs.csv") + (
        f"Error: {d}/y4.csv, line 7, column 'y': 4 is not a class name (classes, the columns of {d}/probs.csv: "
        "1, 2, 3)\n")
    y[5] = 0  # an index, not a name
    pd.DataFrame({"y": y}).to_csv(d / "y0.csv", index=False)
    out = run("compute", "ce", d / "probs.csv", d / "y0.csv", "--block-rows", "4")  # (in the second block)
    assert out.exit_code == 2
    assert out.stderr.splitlines()[-1] == (f"Error: {d}/y0.csv, line 7, column 'y': 0 is not a class name (classes, "
                                           f"the columns of {d}/probs.csv: 1, 2, 3); if the labels are class indices "
                                           "0 to 2, --classes 0,1,2 reads them so")
    out = run("compute", "ce", d / "plain.csv", d / "y4.csv", "--classes", "1,2,3")
    assert out.exit_code == 2
    assert out.stderr.splitlines()[-1] == (f"Error: {d}/y4.csv, line 7, column 'y': 4 is not a class name (classes, "
                                           "--classes: 1, 2, 3)")


# -- --classes -------------------------------------------------------------------------------------

def test_classes_option_maps_integer_labels(run, files):
    d = files
    data, err = _result(run, "ce", d / "plain.csv", d / "y12.csv", "--classes", "1,2,3")
    assert data["results"][0]["value"] == pytest.approx(ce(P, Y12 - 1), rel=1e-12)
    assert err.endswith(note(d / "y12.csv", "y", "1, 2, 3", "--classes"))
    assert data["inputs"][1]["classes"] == {"names": ["1", "2", "3"], "from": "--classes", "labels": "integers"}
    assert _value(run, "ce", d / "probs.csv", d / "y12.csv", "--classes", "1,2,3") == pytest.approx(ce(P, Y12 - 1), rel=1e-12)
    assert _value(run, "ce", d / "plain.csv", d / "y12.csv", "--classes", "3,2,1") == pytest.approx(ce(P, 3 - Y12), rel=1e-12)
    out = run("compute", "ce", d / "probs.csv", d / "y12.csv", "--classes", "3,2,1")  # the columns say otherwise
    assert out.exit_code == 2
    assert out.stderr.splitlines()[-1] == (f"Error: --classes 3,2,1: the columns of {d}/probs.csv name the classes "
                                           "otherwise (1, 2, 3); give the classes in the order of the columns, or "
                                           "leave --classes out")
    s = RNG.choice([-1, 1], N)
    pd.DataFrame({"y": s}).to_csv(d / "ypm.csv", index=False)
    pd.DataFrame(P[:, :2] / P[:, :2].sum(axis=1, keepdims=True)).to_csv(d / "two.csv", index=False)
    p2 = pd.read_csv(d / "two.csv").to_numpy()
    assert _value(run, "ce", d / "two.csv", d / "ypm.csv", "--classes", "-1,1") == \
        pytest.approx(ce(p2, (s + 1) // 2), rel=1e-12)


# -- what does not change --------------------------------------------------------------------------

def test_numbered_columns_keep_labels_as_indices(run, files):
    d = files
    data, err = _result(run, "ce", d / "plain.csv", d / "y12.csv")  # columns 0, 1, 2: label 1 is index 1
    assert data["results"][0]["value"] == pytest.approx(ce(P, Y12), rel=1e-12)
    assert "classes" not in data["inputs"][1] and "class names" not in err
    out = run("compute", "ce", d / "plain.csv", d / "y123.csv")
    assert out.exit_code == 2 and "expects an integer class index in 0..2" in out.stderr


def test_text_named_columns_keep_integer_labels_as_indices(run, files):
    d = files
    data, err = _result(run, "ce", d / "named.csv", d / "y12.csv")
    assert data["results"][0]["value"] == pytest.approx(ce(P, Y12), rel=1e-12)
    assert "classes" not in data["inputs"][1] and err == ""
    # and --classes of words against columns 1, 2, 3 reads integer labels as indices, as before
    assert _value(run, "ce", d / "probs.csv", d / "y12.csv", "--classes", "a,b,c") == pytest.approx(ce(P, Y12), rel=1e-12)


def test_weights_are_not_class_names(run, files):
    d = files
    w = W.astype(float)
    losses = -np.log(P[np.arange(N), Y12 - 1])
    assert _value(run, "ce", d / "probs.csv", d / "y12.csv", "--weights", d / "w.csv") == \
        pytest.approx(float(np.sum(w * losses) / np.sum(w)), rel=1e-12)


def test_binary_labels_are_untouched(run, tmp_path):
    p = RNG.uniform(0.05, 0.95, N)
    y = RNG.integers(0, 2, N)
    pd.DataFrame({"pred": p}).to_csv(tmp_path / "p.csv", index=False)
    pd.DataFrame({"label": y}).to_csv(tmp_path / "y.csv", index=False)
    expected = float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))
    data, err = _result(run, "bce", tmp_path / "p.csv", tmp_path / "y.csv")
    assert data["results"][0]["value"] == pytest.approx(expected, rel=1e-12)
    assert err == "" and "classes" not in data["inputs"][1]
    # predict_proba's column 1 (the positive class), kept as a frame: one column named 1, labels 0/1
    pd.DataFrame(np.column_stack([1 - p, p])).iloc[:, [1]].to_csv(tmp_path / "p1.csv", index=False)
    data, err = _result(run, "bce", tmp_path / "p1.csv", tmp_path / "y.csv")
    assert data["inputs"][0]["columns"] == ["1"]
    assert data["results"][0]["value"] == pytest.approx(expected, rel=1e-12)
    assert "class names" not in err and "classes" not in data["inputs"][1]


def test_only_the_class_label_role_is_read_through_names(run, tmp_path):
    # sphereface(cosine, norms, labels): integer norms 1, 2, 3 beside cosine columns named 1, 2, 3 are norms,
    # not class names; the labels (third input) are
    cos = np.clip(RNG.uniform(-0.9, 0.9, (N, 3)), -1, 1)
    norms = RNG.integers(1, 4, N)
    pd.DataFrame(cos, columns=NAMES).to_csv(tmp_path / "cos.csv", index=False)
    pd.DataFrame(cos).to_csv(tmp_path / "cos0.csv", index=False)
    pd.DataFrame({"n": norms}).to_csv(tmp_path / "n.csv", index=False)
    pd.DataFrame({"y": Y123}).to_csv(tmp_path / "y.csv", index=False)
    pd.DataFrame({"y": Y123 - 1}).to_csv(tmp_path / "y0.csv", index=False)
    named, err = _result(run, "sphereface", tmp_path / "cos.csv", tmp_path / "n.csv", tmp_path / "y.csv")
    indexed, _ = _result(run, "sphereface", tmp_path / "cos0.csv", tmp_path / "n.csv", tmp_path / "y0.csv")
    assert named["results"][0]["value"] == pytest.approx(indexed["results"][0]["value"], rel=1e-12)
    assert "classes" not in named["inputs"][1] and named["inputs"][2]["classes"]["labels"] == "integers"
    assert f"{tmp_path / 'n.csv'}" not in err


def test_ignore_index_passes_through_class_names(run, files):
    # ce skips labels equal to ignore_index (-100) whatever the classes are named
    d = files
    y = Y123.copy()
    y[4] = -100
    pd.DataFrame({"y": y}).to_csv(d / "yi.csv", index=False)
    keep = y != -100
    expected = float(-np.mean(np.log(P[keep][np.arange(keep.sum()), y[keep] - 1])))
    assert _value(run, "ce", d / "probs.csv", d / "yi.csv") == pytest.approx(expected, rel=1e-12)
    # another negative label is the loss's to refuse, not a class name
    out = run("compute", "ce", d / "probs.csv", d / "yi.csv", "-p", "ignore_index=-1")
    assert out.exit_code == 2 and "not a class name" not in out.stderr and "-100" in out.stderr


def test_signed_class_names_are_a_header_without_header_yes(run, tmp_path):
    # predict_proba of an SVM-style model (classes_ = [-1, 1]) kept as a frame: its header '-1,1' above probabilities
    p2 = np.column_stack([1 - P[:, 0], P[:, 0]])
    y = np.where(RNG.random(N) < 0.5, -1, 1)
    pd.DataFrame(p2, columns=[-1, 1]).to_csv(tmp_path / "p.csv", index=False)
    pd.DataFrame({"y": y}).to_csv(tmp_path / "y.csv", index=False)
    assert _value(run, "ce", tmp_path / "p.csv", tmp_path / "y.csv") == \
        pytest.approx(ce(p2, (y + 1) // 2), rel=1e-12)


def test_float_class_names_are_the_integer_labels_classes(run, tmp_path):
    """predict_proba of a classifier fitted on float labels: columns 1.0, 2.0, 3.0, 4.0 and labels 1..4.
    Its first line is read as data (the row count says --header yes); with --header yes the labels
    were indices ('found 4, expects 0..3'), and --classes 1,2,3,4 was refused as naming the classes
    otherwise: no option reached the value (review 63). Whole numbers written as floats are the
    integer names they are."""
    rng = np.random.default_rng(5)
    z = rng.normal(size=(40, 4))
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    y = rng.integers(1, 5, 40)
    pd.DataFrame(p, columns=[1.0, 2.0, 3.0, 4.0]).to_csv(tmp_path / "p.csv", index=False)
    pd.Series(y, name="y").to_csv(tmp_path / "y.csv", index=False)
    expected = float(np.mean(-np.log(p[np.arange(40), y - 1])))
    out = run("compute", "ce", tmp_path / "p.csv", tmp_path / "y.csv")
    assert out.exit_code == 2 and "--header yes reads it as a header" in out.stderr
    for extra in ([], ["--classes", "1,2,3,4"]):
        out = run("compute", "ce", tmp_path / "p.csv", tmp_path / "y.csv", "--header", "yes", *extra,
                  "--format", "value")
        assert out.exit_code == 0, out.stderr
        assert float(out.stdout) == pytest.approx(expected, rel=1e-12)
    out = run("compute", "ce", tmp_path / "p.csv", tmp_path / "y.csv", "--header", "yes", "--classes", "4,3,2,1")
    assert out.exit_code == 2 and "name the classes otherwise (1.0, 2.0, 3.0, 4.0)" in out.stderr


# -- columns named by a word and a number: class_1, class_0, class_2 ----------------------------------

@pytest.mark.parametrize("prefix", ["class_", "p", "logit-", "proba class "])
def test_columns_named_by_numbers_in_another_order_name_integer_labels(run, tmp_path, prefix):
    """Logits whose columns are class_1, class_0, class_2 (a frame reordered, or pd.get_dummies on
    labels sorted as text) beside 0-based labels: label 0 was read as the first column, class_1
    (review 63 #12: a wrong value, exit 0). The numbers the names end in name the labels, with a
    note; numbers counting up by one (class_0, class_1, ...; p1, p2, p3) stay the columns' places."""
    rng = np.random.default_rng(63)
    z, y = rng.normal(size=(50, 3)), rng.integers(0, 3, 50)
    order = [1, 0, 2]
    names = [f"{prefix}{k}" for k in order]
    pd.DataFrame(z[:, order], columns=names).to_csv(tmp_path / "z.csv", index=False)
    pd.DataFrame(z[:, order], columns=names).to_parquet(tmp_path / "z.parquet")
    pd.Series(y, name="y").to_csv(tmp_path / "y.csv", index=False)
    expected = softmax_ce(z, y)
    assert expected != pytest.approx(softmax_ce(z[:, order], y), rel=1e-3)  # (what was read by place)
    shown = ", ".join(names)
    for preds in (tmp_path / "z.csv", tmp_path / "z.parquet"):
        data, err = _result(run, "softmax_ce", preds, tmp_path / "y.csv")
        assert data["results"][0]["value"] == pytest.approx(expected, rel=1e-12)
        assert err == (f"losscli: note: {tmp_path / 'y.csv'}: column 'y': integer labels read as class names {shown} "
                       f"(the columns of {preds}): a label v is the class whose name ends in the number v (class 1 is "
                       f"{names[0]!r}), not class index v\n")
        assert data["inputs"][1]["classes"] == {"names": names, "from": f"the columns of {preds}", "labels": "integers"}
    # --classes naming the same numbers in the columns' order agrees; in another order it is refused
    assert _value(run, "softmax_ce", tmp_path / "z.csv", tmp_path / "y.csv", "--classes", "1,0,2") == \
        pytest.approx(expected, rel=1e-12)
    out = run("compute", "softmax_ce", tmp_path / "z.csv", tmp_path / "y.csv", "--classes", "0,1,2")
    assert out.exit_code == 2 and f"name the classes otherwise ({shown})" in out.stderr, out.stderr
    # a label no name ends in is refused, naming the classes
    pd.Series(np.r_[y[:-1], 3], name="y").to_csv(tmp_path / "y3.csv", index=False)
    out = run("compute", "softmax_ce", tmp_path / "z.csv", tmp_path / "y3.csv")
    assert out.exit_code == 2 and f"line 51, column 'y': 3 is not a class name (classes, the columns of " \
        f"{tmp_path / 'z.csv'}: {shown})" in out.stderr, out.stderr


def test_columns_named_by_numbers_with_gaps_name_integer_labels(run, tmp_path):
    """predict_proba of a classifier that saw classes 0, 2, 5, its columns prefixed (p_0, p_2, p_5):
    by place label 2 read the column p_5, and label 5 was out of range."""
    rng = np.random.default_rng(7)
    p, k = rng.dirichlet(np.ones(3), 40), rng.integers(0, 3, 40)
    classes = np.array([0, 2, 5])
    pd.DataFrame(p, columns=[f"p_{c}" for c in classes]).to_csv(tmp_path / "p.csv", index=False)
    pd.Series(classes[k], name="y").to_csv(tmp_path / "y.csv", index=False)
    assert _value(run, "ce", tmp_path / "p.csv", tmp_path / "y.csv") == pytest.approx(ce(p, k), rel=1e-12)


@pytest.mark.parametrize("names", [["class_0", "class_1", "class_2"], ["p1", "p2", "p3"], ["a1", "b0", "c2"],
                                   ["class_1", "class_1b", "class_0"]])
def test_columns_of_places_or_of_other_words_stay_places(run, tmp_path, names):
    """Numbers counting up by one from the first are the columns' places (p1, p2, p3 beside labels
    0..2), and names of different words are not numbers: integer labels stay 0-based indices."""
    rng = np.random.default_rng(8)
    z, y = rng.normal(size=(30, 3)), rng.integers(0, 3, 30)
    pd.DataFrame(z, columns=names).to_csv(tmp_path / "z.csv", index=False)
    pd.Series(y, name="y").to_csv(tmp_path / "y.csv", index=False)
    data, err = _result(run, "softmax_ce", tmp_path / "z.csv", tmp_path / "y.csv")
    assert data["results"][0]["value"] == pytest.approx(softmax_ce(z, y), rel=1e-12) and err == ""


def test_targets_named_by_the_same_numbers_in_another_order_are_read_by_them(run, tmp_path):
    """One-hot targets y_1, y_0, y_2 (or 1, 0, 2) beside probabilities p_0, p_1, p_2: paired by
    place, ce, brier and mse compared other classes. They are read in the predictions' order by
    their numbers, with a note."""
    rng = np.random.default_rng(9)
    p, k = rng.dirichlet(np.ones(3), 40), rng.integers(0, 3, 40)
    hot = np.eye(3)[k]
    pd.DataFrame(p, columns=["p_0", "p_1", "p_2"]).to_csv(tmp_path / "p.csv", index=False)
    brier = float(np.mean(((p - hot) ** 2).sum(axis=1)))
    for names in (["y_1", "y_0", "y_2"], ["1", "0", "2"]):
        pd.DataFrame(hot[:, [1, 0, 2]], columns=names).to_csv(tmp_path / "t.csv", index=False)
        out = run("compute", "ce,brier", tmp_path / "p.csv", tmp_path / "t.csv", "--format", "json")
        assert out.exit_code == 0, out.stderr
        values = [r["value"] for r in json.loads(out.stdout)["results"]]
        assert values == pytest.approx([ce(p, k), brier], rel=1e-12)
        ordered = ", ".join(names[i] for i in (1, 0, 2))
        assert (f"losscli: note: {tmp_path / 't.csv'}: columns read in the order of the columns of "
                f"{tmp_path / 'p.csv'} ({ordered}), not as written ({', '.join(names)})") in out.stderr


def test_integer_labels_in_an_npy_are_class_names_too(run, files):
    """Labels 1, 2 saved with np.save beside probabilities whose columns are 1, 2, 3 were read as
    indices 1, 2 (1.45 for 1.54, exit 0), and --classes 3,5,9 was ignored for them (review 66 F5):
    an array of labels is read through the class names as a column is."""
    d = files
    np.save(d / "y12.npy", Y12)
    np.savez(d / "y.npz", y=Y12, other=np.zeros(3))
    for labels in (d / "y12.npy", f"{d}/y.npz:y"):
        data, err = _result(run, "ce", d / "probs.csv", labels)
        assert data["results"][0]["value"] == pytest.approx(ce(P, Y12 - 1), rel=1e-12)
        name = str(labels).rsplit("/", 1)[1]
        assert (f"losscli: note: {str(labels).split(':')[0]}: array {str(labels)!r}: integer labels read as class "
                f"names 1, 2, 3 (the columns of {d}/probs.csv)") in err, (err, name)
    np.save(d / "p3.npy", P)
    np.save(d / "y359.npy", np.array([3, 5, 9])[Y123 - 1])
    assert _value(run, "ce", d / "p3.npy", d / "y359.npy", "--classes", "3,5,9") == \
        pytest.approx(ce(P, Y123 - 1), rel=1e-12)
    np.save(d / "y4.npy", np.r_[np.array([3, 5, 9])[Y123[:-1] - 1], 4])
    out = run("compute", "ce", d / "p3.npy", d / "y4.npy", "--classes", "3,5,9")
    assert out.exit_code == 2 and out.stderr == (f"Error: {d}/y4.npy, row {N - 1}: 4 is not a class name (classes, "
                                                 "--classes: 3, 5, 9)\n"), out.stderr
    # weights beside them are no labels
    np.save(d / "w.npy", W.astype(float))
    assert _value(run, "ce", d / "probs.csv", d / "y12.npy", "--weights", d / "w.npy") == pytest.approx(
        float(np.sum(W * -np.log(P[np.arange(N), Y12 - 1])) / np.sum(W)), rel=1e-12)


@pytest.mark.parametrize("names", [(-1, 1), (1, 2)])
@pytest.mark.parametrize("loss", ["bce", "bce_logits", "log_loss", "brier"])
def test_binary_labels_of_two_other_values_name_their_way(run, tmp_path, names, loss):
    """0/1 labels written as -1/1 or 1/2: the error said only 'expects labels in {0, 1}', and
    --classes -1,1 was refused or ignored for bce, bce_logits (review 66 F6). The error names
    --classes, which reads them as 0 and 1 for every binary loss."""
    rng = np.random.default_rng(6)
    s, y = rng.random(40), rng.integers(0, 2, 40)
    pd.Series(s, name="p").to_csv(tmp_path / "p.csv", index=False)
    pd.Series(np.array(names)[y], name="y").to_csv(tmp_path / "y.csv", index=False)
    out = run("compute", loss, tmp_path / "p.csv", tmp_path / "y.csv")
    a, b = names
    assert out.exit_code == 2 and out.stderr.rstrip().endswith(
        f"; labels of two other values ({a}, {b}): --classes {a},{b} reads {a} as 0 and {b} as 1"), out.stderr
    value = _value(run, loss, tmp_path / "p.csv", tmp_path / "y.csv", "--classes", f"{a},{b}")
    p = 1 / (1 + np.exp(-s)) if loss == "bce_logits" else s
    clipped = np.clip(p, 1e-7, 1 - 1e-7) if loss != "log_loss" else np.clip(p, np.finfo(float).eps,
                                                                             1 - np.finfo(float).eps)
    expected = float(np.mean((p - y) ** 2)) if loss == "brier" else \
        float(-np.mean(y * np.log(clipped) + (1 - y) * np.log(1 - clipped)))
    assert value == pytest.approx(expected, rel=1e-9)


def test_text_group_labels_beside_embeddings_take_classes(run, tmp_path):
    """supcon's speaker names beside embeddings with columns e0..e3: the embedding's columns were taken
    for class names ("'ann' is not a class name (classes, the columns of emb.csv: e0, ...)"), and
    --classes was refused as naming them otherwise (review 66 F8). Columns name classes only where
    the predictions are class scores; --classes names the groups."""
    rng = np.random.default_rng(8)
    emb = rng.normal(size=(12, 4))
    who = np.array(["ann", "bob", "cy"])[np.arange(12) % 3]
    pd.DataFrame(emb, columns=["e0", "e1", "e2", "e3"]).to_csv(tmp_path / "emb.csv", index=False)
    pd.Series(who, name="who").to_csv(tmp_path / "who.csv", index=False)
    pd.Series(np.arange(12) % 3, name="who").to_csv(tmp_path / "ids.csv", index=False)
    expected = _value(run, "supcon", tmp_path / "emb.csv", tmp_path / "ids.csv")
    assert _value(run, "supcon", tmp_path / "emb.csv", tmp_path / "who.csv", "--classes", "ann,bob,cy") == expected
    out = run("compute", "supcon", tmp_path / "emb.csv", tmp_path / "who.csv")
    assert out.exit_code == 2 and "column 'who' holds 'ann'; if it holds class names, --classes" in out.stderr


@pytest.mark.parametrize("names, labels", [(["p_0", "p_2", "p_5"], "csv"), (["1", "2", "3"], "npy")])
def test_label_indices_beside_columns_named_by_other_numbers_have_a_way(run, tmp_path, names, labels):
    """A LabelEncoder's labels 0..2 beside columns p_0, p_2, p_5 (or 1, 2, 3): the labels are read
    as class names and refused, and nothing reached the value: --classes 0,1,2 was refused as naming
    the classes otherwise (review 67 F3). The error names it, and it reads the labels as indices."""
    rng = np.random.default_rng(67)
    z, y = rng.normal(size=(40, 3)), rng.integers(0, 3, 40)
    y[0] = 0
    pd.DataFrame(z, columns=names).to_csv(tmp_path / "z.csv", index=False)
    path = tmp_path / f"y.{labels}"
    pd.Series(y, name="y").to_csv(path, index=False) if labels == "csv" else np.save(path, y)
    out = run("compute", "softmax_ce", tmp_path / "z.csv", path)
    assert out.exit_code == 2 and out.stderr.rstrip().endswith(
        "; if the labels are class indices 0 to 2, --classes 0,1,2 reads them so"), out.stderr
    assert _value(run, "softmax_ce", tmp_path / "z.csv", path, "--classes", "0,1,2") == \
        pytest.approx(softmax_ce(z, y), rel=1e-12)


def test_string_labels_saved_with_np_save_have_a_way(run, tmp_path, monkeypatch):
    """np.save(y_test) of a classifier's string classes: refused as 'dtype <U1, expected a numeric
    array' with no way out (review 66 F5). The error names the pandas line that writes them as text;
    run as written, it gives a file the class names read."""
    rng = np.random.default_rng(5)
    names = np.array(["cat", "dog", "eel"])
    k = rng.integers(0, 3, 30)
    p = rng.dirichlet(np.ones(3), 30)
    np.save(tmp_path / "p.npy", p)
    np.save(tmp_path / "y.npy", names[k])
    out = run("compute", "ce", tmp_path / "p.npy", tmp_path / "y.npy", "--classes", "cat,dog,eel")
    assert out.exit_code == 2 and "if it holds class names (np.save of string labels), write them as text" in \
        out.stderr, out.stderr
    line = out.stderr.split("e.g. ")[1].split(", and --classes")[0]
    monkeypatch.chdir(tmp_path)
    exec(line.replace("np.load(f)", "np.load('y.npy')"), {"pd": pd, "np": np})
    assert _value(run, "ce", tmp_path / "p.npy", tmp_path / "labels.csv", "--classes", "cat,dog,eel") == \
        pytest.approx(ce(p, k), rel=1e-12)


def test_labels_counting_from_1_beside_places_have_a_way(run, tmp_path):
    """Columns p1, p2, p3 (places) with labels 1..3: 'found 3 (expects an integer class index in 0..2)'
    named no way (review 67 F9), and --classes 1,2,3 was refused as naming the classes otherwise. The
    error names it, and it reads label v as the v-th class; another order is still refused."""
    rng = np.random.default_rng(9)
    z, y = rng.normal(size=(20, 3)), rng.integers(1, 4, 20)
    y[0] = 3
    pd.DataFrame(z, columns=["p1", "p2", "p3"]).to_csv(tmp_path / "z.csv", index=False)
    pd.Series(y, name="y").to_csv(tmp_path / "y.csv", index=False)
    out = run("compute", "softmax_ce", tmp_path / "z.csv", tmp_path / "y.csv")
    assert out.exit_code == 2 and out.stderr.rstrip().endswith(
        "; if the labels count from 1 (1 to 3), --classes 1,2,3 reads label v as the v-th class"), out.stderr
    assert _value(run, "softmax_ce", tmp_path / "z.csv", tmp_path / "y.csv", "--classes", "1,2,3") == \
        pytest.approx(softmax_ce(z, y - 1), rel=1e-12)
    out = run("compute", "softmax_ce", tmp_path / "z.csv", tmp_path / "y.csv", "--classes", "2,1,3")
    assert out.exit_code == 2 and "name the classes otherwise (p1, p2, p3)" in out.stderr
