"""The Python API: losscli.evaluate gives the CLI's numbers, validates as the CLI does, accepts
what notebooks hold (lists, pandas, pyarrow), and every loss explains itself in help()."""

from __future__ import annotations

import inspect
import json
import pydoc

import numpy as np
import pytest

import losscli
from losscli.sampling import random_inputs

LOSSES = losscli.list_losses()


def _files(tmp_path, loss, inputs):
    paths = []
    for role in loss.inputs:
        if role.name in inputs:
            path = tmp_path / f"{role.name}.npy"
            np.save(path, inputs[role.name])
            paths.append(str(path))
    return paths


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("loss", LOSSES, ids=[l.name for l in LOSSES])
def test_evaluate_gives_the_numbers_of_the_cli_json(run, tmp_path, loss, reduction):
    inputs = random_inputs(loss, samples=7, seed=3)  # (mnrl's (N·k, D) negatives: a later issue)
    args = [inputs[r.name] for r in loss.inputs if r.name in inputs]
    files = _files(tmp_path, loss, inputs)
    cli = ["compute", loss.name, *files, "--format", "json", "--per-sample", "--top", "3", "--reduction", reduction]
    if loss.has_gradient:
        cli += ["--save-grad", tmp_path / "g.npz"]
    out = run(*cli)
    assert out.exit_code == 0, out.stderr
    record = json.loads(out.stdout)["results"][0]
    result = losscli.evaluate(loss.name, *args, reduction=reduction, top=3, gradients=loss.has_gradient)
    assert result.to_dict() == record  # the same numbers, bit for bit, through the same record
    assert result.value == record["value"] and result.worst == [(w["index"], w["loss"]) for w in record["worst"]]
    if loss.has_gradient:
        with np.load(tmp_path / "g.npz") as saved:
            assert set(saved.files) == set(result.gradients)
            for role, g in result.gradients.items():
                np.testing.assert_array_equal(g, saved[role])


def test_evaluate_accepts_lists_pandas_and_pyarrow():
    pd = pytest.importorskip("pandas")
    pa = pytest.importorskip("pyarrow")
    p, t = [0.5, 2.0, -1.0], [0.0, 1.0, 1.0]
    want = losscli.evaluate("mse", np.array(p), np.array(t)).value
    assert want == pytest.approx(np.mean((np.array(p) - np.array(t)) ** 2), rel=1e-15)
    for pp, tt in [(p, t), (pd.Series(p), pd.Series(t)), (pa.array(p), pa.array(t)),
                   (pd.DataFrame({"a": p}), pd.DataFrame({"b": t})), (pa.table({"a": p}), pa.table({"b": t}))]:
        assert losscli.evaluate("mse", pp, tt).value == want
    logits = pd.DataFrame({"cat": [2.0, 0.1], "dog": [0.5, 3.0]})
    r = losscli.evaluate("softmax_ce", logits, pd.Series([0, 1]))
    assert r.value == pytest.approx(losscli.evaluate("softmax_ce", logits.to_numpy(), [0, 1]).value, rel=0)


@pytest.mark.parametrize("call, message", [
    (lambda: losscli.evaluate("mse", np.ones(3), np.ones(4)),
     "labels (mse labels): has 4 rows but predictions has 3"),
    (lambda: losscli.get_loss("mse")(np.ones(3), np.ones((3, 2))),
     "labels (mse labels): has shape (3, 2) but predictions has (3,) (expected the same shape)"),
    (lambda: losscli.get_loss("bce")(np.array([0.2, 2.0]), np.array([0.0, 1.0])),
     "predictions, row 1: found 2 (bce predictions expects probabilities in [0, 1]); these look like logits: "
     "bce_logits (logits) takes them"),
    (lambda: losscli.get_loss("softmax_ce")(np.zeros((2, 3)), np.array([0, 3])),
     "labels, row 1: found 3 (softmax_ce labels expects an integer class index in 0..2)"),
    (lambda: losscli.evaluate("mse", [1.0, np.nan], [1.0, 2.0]),
     "predictions, row 1: found NaN (an empty or missing value), expected a finite number "
     "(nan_policy=\"omit\" drops such rows)"),
    (lambda: losscli.evaluate("mse", [1.0, 2.0], [1.0, 2.0], weights=[1.0, -1.0]),
     "weights, row 1: found -1 (weights must be finite and >= 0)"),
    (lambda: losscli.evaluate("huber", [1.0], [2.0], delta=-1.0), "parameter huber.delta: must be >0, got -1.0"),
    (lambda: losscli.evaluate("mse", ["a", "b"], [1.0, 2.0]), "predictions: expected numbers, got an array of dtype <U1"),
])
def test_bad_input_raises_input_error_with_the_cli_text(call, message):
    with pytest.raises(ValueError) as info:  # InputError / ParameterError are ValueErrors
        call()
    assert isinstance(info.value, losscli.LossCliError)
    assert str(info.value) == message


def test_the_cli_says_the_same_after_the_label(run, tmp_path):
    np.save(tmp_path / "a.npy", np.ones(3))
    np.save(tmp_path / "b.npy", np.ones((3, 2)))
    out = run("compute", "mse", tmp_path / "a.npy", tmp_path / "b.npy")
    assert out.exit_code == 2
    assert out.stderr.strip() == (f"Error: {tmp_path}/b.npy (mse labels): has shape (3, 2) but {tmp_path}/a.npy "
                                  "has (3,) (expected the same shape)")


def test_nan_policy_omit_and_weights_in_the_api():
    with pytest.warns(UserWarning, match="^nan_policy=\"omit\" dropped 1 of 3 rows with NaN or infinite values$"):
        r = losscli.evaluate("mse", [1.0, np.nan, 3.0], [0.0, 0.0, 0.0], nan_policy="omit", weights=[1.0, 5.0, 3.0])
    assert r.count == 2 and r.omitted == 1 and r.rows.tolist() == [0, 2]
    assert r.value == pytest.approx((1 * 1 + 3 * 9) / 4, rel=1e-15)
    g = r.gradients["predictions"]
    assert np.isnan(g[1]) and g[0] == pytest.approx(2 * 1 * 1 / 4) and g[2] == pytest.approx(2 * 3 * 3 / 4)


def test_loss_call_is_validated_and_grad_is_of_the_sum():
    mse = losscli.get_loss("mse")
    np.testing.assert_array_equal(mse([1.0, 2.0], [0.0, 1.0]), [1.0, 1.0])
    np.testing.assert_array_equal(mse.grad([1.0, 2.0], [0.0, 1.0])["predictions"], [2.0, 2.0])
    hinge = losscli.get_loss("hinge")  # {0, 1} labels are read as ±1 exactly as the CLI reads them
    np.testing.assert_array_equal(hinge([0.5, 0.5], [0, 1]), hinge([0.5, 0.5], [-1, 1]))


@pytest.mark.parametrize("loss", LOSSES, ids=[l.name for l in LOSSES])
def test_hyper_parameters_are_keyword_only(loss):
    for fn in (loss.fn, loss.grad_fn):
        if fn is None:
            continue
        sig = inspect.signature(fn).parameters
        for name in loss.params:
            assert sig[name].kind is inspect.Parameter.KEYWORD_ONLY, (loss.name, fn.__name__, name)


@pytest.mark.parametrize("loss", LOSSES, ids=[l.name for l in LOSSES])
def test_help_shows_formula_parameters_conventions_and_references(loss):
    text = pydoc.render_doc(loss, renderer=pydoc.plaintext)
    assert f"{loss.name}: {loss.summary}" in text
    assert loss.formula.split()[0] in text
    for name, p in loss.params.items():
        assert f"{name} = {p.default!r}" in text
    for item in (*loss.conventions, *loss.references):
        assert item[:40] in text


WRONG_TYPES = [  # (loss, keyword, value, the message's tail): refused, never converted
    ("huber", "delta", "2", "parameter huber.delta: expected a number, got '2'"),
    ("huber", "delta", True, "parameter huber.delta: expected a number, got True"),
    ("huber", "delta", np.bool_(True), "parameter huber.delta: expected a number, got True"),
    ("huber", "delta", [2.0], "parameter huber.delta: expected a number, got [2.0]"),
    ("huber", "delta", float("nan"), "parameter huber.delta: expected a finite number, got nan"),
    ("l2", "half", 1, "parameter l2.half: expected true or false, got 1"),
    ("l2", "half", "yes", "parameter l2.half: expected true or false, got 'yes'"),
    ("softmax_ce", "class_weights", [1.0, "2"], "parameter softmax_ce.class_weights: expected a comma-separated "
                                                "list of numbers, got [1.0, '2']"),
    ("softmax_ce", "class_weights", [1.0, np.inf], "parameter softmax_ce.class_weights: expected finite numbers, "
                                                   "got (1.0, inf)"),
]


@pytest.mark.parametrize("loss, key, value, message", WRONG_TYPES, ids=[f"{c[1]}={c[2]!r}" for c in WRONG_TYPES])
def test_a_parameter_of_the_wrong_type_is_refused(loss, key, value, message):
    inputs = ([[1.0, 2.0], [0.0, 1.0]], [0, 1]) if loss == "softmax_ce" else ([1.0, 2.0], [0.0, 0.0])
    with pytest.raises(losscli.ParameterError) as info:
        losscli.evaluate(loss, *inputs, **{key: value})
    assert str(info.value) == message


@pytest.mark.parametrize("kw, message", [
    (dict(top=1.5), "top: expected a count >= 0, got 1.5"),
    (dict(top=True), "top: expected a count >= 0, got True"),
    (dict(top=-1), "top: expected a count >= 0, got -1"),
    (dict(gradients="no"), "gradients: expected True or False, got 'no'"),
])
def test_evaluate_options_of_the_wrong_type_are_refused(kw, message):
    with pytest.raises(losscli.InputError) as info:
        losscli.evaluate("mse", [1.0, 2.0], [0.0, 0.0], **kw)
    assert str(info.value) == message


def test_numpy_scalars_and_arrays_are_parameters_like_python_values():
    a = losscli.evaluate("huber", [1.0, 3.0], [0.0, 0.0], delta=np.float32(2.0), top=np.int64(1))
    assert a.value == losscli.evaluate("huber", [1.0, 3.0], [0.0, 0.0], delta=2.0).value == (0.5 + 4.0) / 2
    b = losscli.evaluate("softmax_ce", [[1.0, 2.0], [0.0, 1.0]], [0, 1], class_weights=np.array([1, 2]))
    assert b.value == losscli.evaluate("softmax_ce", [[1.0, 2.0], [0.0, 1.0]], [0, 1], class_weights=(1.0, 2.0)).value


def test_a_parameter_beyond_float64_is_a_parameter_error():
    with pytest.raises(losscli.ParameterError) as info:
        losscli.evaluate("huber", [1.0], [0.0], delta=10**400)
    assert str(info.value).startswith("parameter huber.delta: expected a finite number, got 1000")
