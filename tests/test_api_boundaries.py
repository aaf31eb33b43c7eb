"""The Python API at its boundaries (review 108): what a notebook passes is lined up as the CLI lines
up the same data written to files, or refused with the CLI's message in keywords; never paired by
accident. pandas indexes, column names, id columns, class names, masked entries, parameters given
as Series, the registry before the catalogue is loaded, rows nan_policy="omit" drops."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import losscli
from losscli.errors import InputError, LossCliError, ParameterError, UnknownLossError


def _cli_value(run, tmp_path, loss, *frames, index=False):
    paths = []
    for i, frame in enumerate(frames):
        path = tmp_path / f"in{i}.csv"
        frame.to_csv(path, index=index)
        paths.append(path)
    result = run("compute", loss, *paths, "--format", "json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)["results"][0]["value"]


# -- pandas indexes ----------------------------------------------------------------------------

def test_series_with_the_same_labels_in_another_order_are_paired_by_label(run, tmp_path):
    p = pd.Series([0.9, 0.1, 0.8], index=["c", "a", "b"], name="p")
    y = pd.Series([1.0, 0.0, 1.0], index=["a", "b", "c"], name="y")
    aligned = losscli.evaluate("bce", p.sort_index(), y.sort_index()).value
    assert losscli.evaluate("bce", p, y).value == aligned  # (by place: 0.1446)
    assert losscli.get_loss("bce")(p, y).tolist() == losscli.get_loss("bce")(p, y.reindex(p.index)).tolist()
    w = pd.Series([1.0, 2.0, 3.0], index=["b", "c", "a"])
    assert losscli.evaluate("bce", p, y, weights=w).value == \
        losscli.evaluate("bce", p.to_numpy(), y.reindex(p.index).to_numpy(), weights=w.reindex(p.index).to_numpy()).value


@pytest.mark.parametrize("case, message", [
    ("other labels", "predictions and labels: their pandas indexes hold different labels (labels has 0, predictions "
                     "has not; 5 and 5 rows): pass .to_numpy() to pair rows by position, or align them "
                     "(labels.reindex(predictions.index))"),
    ("a label twice", "predictions: its pandas index holds 1 twice, so its rows cannot be paired with labels's by "
                      "index: pass .to_numpy() to pair rows by position, or give each row its own label"),
    ("weights", "predictions and weights: their pandas indexes hold different labels (weights has 9, predictions "
                "has not; 5 and 5 rows): pass .to_numpy() to pair rows by position, or align them "
                "(weights.reindex(predictions.index))"),
])
def test_series_with_other_index_labels_are_refused(case, message):
    p = pd.Series([0.0, 1, 2, 3, 4], index=range(5, 10))
    y = pd.Series([0.0, 1, 2, 3, 4])
    kwargs = {}
    if case == "a label twice":
        p, y = pd.Series([0.0, 1, 2, 3, 4], index=[0, 1, 1, 2, 3]), y
    elif case == "weights":
        p, kwargs = y, {"weights": pd.Series([1.0] * 5, index=[0, 1, 2, 3, 9])}
    with pytest.raises(InputError) as info:
        losscli.evaluate("mse", p, y, **kwargs)
    assert str(info.value) == message


# -- column names ------------------------------------------------------------------------------

def test_tables_with_one_set_of_column_names_are_read_in_the_first_ones_order(run, tmp_path):
    logits = pd.DataFrame({"cat": [5.0, 0.0], "dog": [0.0, 5.0]})
    onehot = pd.DataFrame({"dog": [0.0, 1.0], "cat": [1.0, 0.0]})
    want = _cli_value(run, tmp_path, "softmax_ce", logits, onehot)
    assert losscli.evaluate("softmax_ce", logits, onehot).value == pytest.approx(want, rel=1e-15) == 0.006715348489117967
    assert losscli.evaluate("softmax_ce", pa.Table.from_pandas(logits), pa.Table.from_pandas(onehot)).value == \
        pytest.approx(want, rel=1e-15)


def test_integer_labels_beside_columns_named_by_classes_name_them_as_in_the_cli(run, tmp_path):
    proba = pd.DataFrame([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.2, 0.2, 0.6]], columns=[1, 2, 3])  # classes_=[1,2,3]
    y = pd.Series([1, 2, 1], name="y")
    want = _cli_value(run, tmp_path, "ce", proba, y)
    assert losscli.evaluate("ce", proba, y).value == pytest.approx(want, rel=1e-15)
    assert want == pytest.approx(-np.mean(np.log([0.7, 0.8, 0.2])), rel=1e-15)
    with pytest.raises(InputError) as info:
        losscli.evaluate("ce", proba, pd.Series([0, 2, 1]))
    assert str(info.value) == ("labels, row 0: 0 is not a class name (classes, the columns of predictions: 1, 2, 3); "
                               "if the labels are class indices 0 to 2, pass the predictions without their column "
                               "names (frame.to_numpy()) to read them so")
    assert losscli.evaluate("ce", proba.to_numpy(), [0, 2, 1]).value == pytest.approx(-np.mean(np.log([0.7, 0.1, 0.2])))


def test_text_labels_beside_columns_named_by_classes_are_read_through_the_names():
    proba = pd.DataFrame([[0.7, 0.3], [0.2, 0.8]], columns=["cat", "dog"])
    assert losscli.evaluate("ce", proba, ["dog", "cat"]).value == pytest.approx(-np.mean(np.log([0.3, 0.2])), rel=1e-15)
    assert losscli.evaluate("ce", proba, pd.Series(["dog", "dog"], dtype="string")).value == \
        pytest.approx(-np.mean(np.log([0.3, 0.8])), rel=1e-15)
    with pytest.raises(InputError) as info:
        losscli.evaluate("ce", proba, pd.Series(["dog", "bird"]))
    assert str(info.value) == "labels, row 1: 'bird' is not a class name (classes, the columns of predictions: cat, dog)"
    # a missing label (None, NaN) in a list or an object array, names as bytes, spaces around a name
    for labels in ([" dog", float("nan"), "cat"], np.array([b"dog", None, b"cat"], dtype=object)):
        with pytest.warns(UserWarning, match="dropped 1 of 3 rows"):
            r = losscli.evaluate("ce", pd.concat([proba, proba.iloc[:1]]), labels, nan_policy="omit")
        assert r.value == pytest.approx(-np.mean(np.log([0.3, 0.7])), rel=1e-15)
    with pytest.raises(InputError, match='every one of the 2 rows has a NaN or infinite value; nothing is left to '
                                         'evaluate after nan_policy="omit"'), \
            pytest.warns(UserWarning, match="dropped 2 of 2 rows"):  # (review 114 #7: "dtype object")
        losscli.evaluate("ce", proba, [None, None], nan_policy="omit")


@pytest.mark.parametrize("kind", ["pandas", "pyarrow"])
def test_an_id_column_beside_values_is_refused(kind):
    p, y = {"id": [1, 2], "p": [1.0, 2.0]}, {"id": [2, 1], "y": [2.0, 1.0]}
    make = pd.DataFrame if kind == "pandas" else pa.table
    with pytest.raises(InputError) as info:
        losscli.evaluate("mse", make(p), make(y))
    assert str(info.value) == ("predictions: the column 'id' is an id, not a value (the CLI keeps it as a key): pass the "
                               "value columns only (frame.drop(columns='id')), make it the index "
                               "(frame.set_index('id')) to pair the inputs by it, or pass frame.to_numpy() if it holds "
                               "values")
    # ... and as the index it pairs the rows (mse 0 by id; 1.0 by place)
    assert losscli.evaluate("mse", pd.DataFrame(p).set_index("id"), pd.DataFrame(y).set_index("id")).value == 0.0


# -- parameters, masked arrays, omitted rows ---------------------------------------------------

def test_class_weights_given_as_a_series_are_read_by_its_index():
    y = pd.Series([2, 2, 2, 0, 1, 2])
    w = 1.0 / y.value_counts()  # index 2, 0, 1 (by count)
    r = losscli.evaluate("softmax_ce", np.zeros((6, 3)), y, class_weights=w)
    assert r.params["class_weights"] == (1.0, 1.0, 0.25)
    named = pd.DataFrame(np.zeros((6, 3)), columns=["a", "b", "c"])
    assert losscli.evaluate("softmax_ce", named, y.to_numpy(), class_weights=pd.Series([3.0, 1.0, 2.0],
                            index=["c", "a", "b"])).params["class_weights"] == (1.0, 2.0, 3.0)
    with pytest.raises(ParameterError) as info:
        losscli.evaluate("softmax_ce", np.zeros((6, 3)), y, class_weights=pd.Series([1.0, 2, 3], index=[5, 6, 7]))
    assert str(info.value) == ("parameter class_weights: a pandas Series is read by its index, which holds 5, 6, 7: "
                               "expected the class indices 0 to 2 (or pass a list in class order)")


def test_masked_entries_are_missing_values():
    p = np.ma.masked_array([1.0, 100.0, 3.0], mask=[0, 1, 0])
    with pytest.raises(InputError) as info:
        losscli.evaluate("mse", p, np.zeros(3))
    assert str(info.value) == ('predictions, row 1: found NaN (an empty or missing value), expected a finite number '
                               '(nan_policy="omit" drops such rows)')
    with pytest.warns(UserWarning, match='nan_policy="omit" dropped 1 of 3 rows'):
        assert losscli.evaluate("mse", p, np.zeros(3), nan_policy="omit").value == 5.0
    assert np.array_equal(losscli.get_loss("mse")(p, np.zeros(3), nan_policy="omit"), [1.0, np.nan, 9.0],
                          equal_nan=True)


def test_rows_omitted_are_nan_in_a_loss_called_directly_and_its_gradient():
    mse = losscli.get_loss("mse")
    p, y = np.array([1.0, np.nan, 3.0]), np.zeros(3)
    assert np.array_equal(mse(p, y, nan_policy="omit"), [1.0, np.nan, 9.0], equal_nan=True)
    assert np.array_equal(mse.grad(p, y, nan_policy="omit")["predictions"], [2.0, np.nan, 6.0], equal_nan=True)
    assert np.array_equal(mse.grad(p, y, nan_policy="omit", cotangent=[1.0, 2.0, 3.0])["predictions"],
                          [2.0, np.nan, 18.0], equal_nan=True)


def test_every_row_omitted_is_the_clis_error_with_or_without_gradients():
    for gradients in (True, False):
        with pytest.warns(UserWarning), pytest.raises(InputError) as info:
            losscli.evaluate("mse", [np.nan, np.nan], [0.0, 0.0], nan_policy="omit", gradients=gradients)
        assert str(info.value) == ('every one of the 2 rows has a NaN or infinite value; nothing is left to evaluate '
                                   'after nan_policy="omit"')


def test_probability_rows_take_prob_tol_and_the_message_says_so():
    with pytest.raises(InputError) as info:
        losscli.evaluate("ce", [[0.333, 0.333, 0.333]], [1])
    assert str(info.value) == ("predictions, row 0: row sums to 0.999 (ce predictions expects rows of probabilities in "
                               "[0, 1] that sum to 1; tolerance 0.0001, prob_tol sets it)")
    with pytest.warns(UserWarning, match="renormalised 1 probability rows"):
        assert losscli.evaluate("ce", [[0.333, 0.333, 0.333]], [1], prob_tol=0.01).value == pytest.approx(np.log(3))
    with pytest.raises(InputError, match=r"prob_tol: expected a number in \[0, 1\], got 2"):
        losscli.evaluate("ce", [[0.333, 0.333, 0.333]], [1], prob_tol=2)


def test_a_torch_tensor_that_requires_grad_is_an_input_error():
    torch = pytest.importorskip("torch")
    with pytest.raises(InputError, match=r"^predictions: cannot be read as an array of numbers \(.*detach"):
        losscli.evaluate("mse", torch.tensor([1.0, 2.0], requires_grad=True), [0.0, 0.0])


# -- the registry ------------------------------------------------------------------------------

def test_a_loss_registered_before_the_catalogue_loads_cannot_take_a_built_ins_name():
    """In a fresh process: the user's loss named 'huber' (or the alias 'bias') was registered before the
    built-ins, the catalogue failed half-loaded, and the next call ran the user's function as huber."""
    code = textwrap.dedent("""
        import numpy as np, losscli
        for name, kw in (("huber", {}), ("my_bias", {"aliases": ("bias",)})):
            try:
                losscli.register_loss(name, **kw)(lambda predictions, labels: 100 * np.abs(predictions - labels))
            except losscli.LossCliError as exc:
                print(type(exc).__name__, exc)
        print(losscli.evaluate("huber", [1.0, 2.0], [0.0, 0.0], gradients=False).value)
        print(len(losscli.list_losses()), losscli.get_loss("bias").name)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "LOSSCLI_NO_PLUGINS": "1"})
    assert out.returncode == 0, out.stderr
    n = len(losscli.list_losses())
    assert out.stdout.splitlines() == [
        "RegistrationError loss name 'huber' is already registered (by huber): choose another name (replace=True "
        "replaces the built-in one, with losscli --allow-override)",
        "RegistrationError loss name 'bias' is already registered (by mbe): choose another name",
        "1.0", f"{n} mbe"]


def test_the_registry_refuses_what_it_cannot_look_up():
    with pytest.raises(LossCliError, match="^category: expected one of regression, classification, ranking, "
                                           "embedding, sequence, custom, got 'Regression'$"):
        losscli.list_losses("Regression")
    with pytest.raises(UnknownLossError, match=r"^a loss name is text \(or a Loss\), got None$"):
        losscli.get_loss(None)
    assert losscli.get_loss(losscli.get_loss("l1")).name == "mae"


def test_a_message_keeps_the_users_own_text_as_it_is():
    """Options are written as keywords in the message's own words, never in a value it quotes (a label
    '--top' was shown as 'top': review 110 #4)."""
    proba = pd.DataFrame([[0.7, 0.3], [0.2, 0.8]], columns=["a", "b"])
    with pytest.raises(InputError) as info:
        losscli.evaluate("ce", proba, pd.Series(["a", "--top"]))
    assert str(info.value) == "labels, row 1: '--top' is not a class name (classes, the columns of predictions: a, b)"


def test_a_users_loss_registered_twice_is_told_about_replace():
    loss = losscli.register_loss("api_boundary_twice")(lambda predictions, labels: predictions - labels)
    try:
        with pytest.raises(LossCliError) as info:
            losscli.register_loss("api_boundary_twice")(lambda predictions, labels: labels - predictions)
        assert str(info.value) == ("loss name 'api_boundary_twice' is already registered (by api_boundary_twice): "
                                   "choose another name (replace=True replaces a loss of yours)")
    finally:
        losscli.unregister_loss(loss)
