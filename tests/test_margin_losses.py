"""The margin (hinge-family) and ranking losses through the CLI: values and gradients from files
equal the library references (tests/data/margin_reference.*, written by
tests/reference/generate_margin_reference.py), ``info`` states the conventions, ``gradcheck``
passes at random and at extreme inputs, the subgradients at kinks are the libraries', the
extremes the references leave out behave as documented, and bad input is exit 2 with one line."""

from __future__ import annotations

import json
import math
from pathlib import Path

import mpmath
import numpy as np
import pandas as pd
import pytest

from losscli import get_loss

from .test_library_references import param_options, save_inputs

DATA = Path(__file__).parent / "data"
META = json.loads((DATA / "margin_reference.json").read_text())
ARRAYS = np.load(DATA / "margin_reference.npz")
CASES = {c["id"]: c for c in META["cases"]}
NAMES = ("multi_margin", "soft_margin", "hinge_embedding", "multilabel_soft_margin", "multilabel_margin",
         "categorical_hinge", "perceptron", "ranking_softmax", "convex_kl")


def _ids(loss: str, text: str = "") -> list[str]:
    return [cid for cid, c in CASES.items() if c["loss"] == loss and text in c["source"]]


#: for every loss: its first case, and every case at extremes or ties; plus parameter and input variants
CLI_CASES = sorted({ids[0] for ids in (_ids(n) for n in NAMES)}
                   | {cid for n in NAMES for key in ("1e4", "tie", "exactly", "f = 0") for cid in _ids(n, key)}
                   | {cid for cid, c in CASES.items() if c["params"].get("p") == 2 or c["params"].get("class_weights")}
                   | set(_ids("ranking_softmax", "where")) | set(_ids("categorical_hinge", "indices"))
                   | set(_ids("categorical_hinge", "soft")))




def _assert_close(actual, expected, what):
    actual, expected = np.asarray(actual, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape, what
    scale = max(float(np.max(np.abs(expected), initial=0.0)), 1e-300)
    assert np.max(np.abs(actual - expected), initial=0.0) / scale <= 1e-12, (what, actual, expected)


@pytest.mark.parametrize("cid", CLI_CASES)
def test_cli_values_and_gradient_from_npy_equal_the_library(run, tmp_path, cid):
    case = CASES[cid]
    files = save_inputs(tmp_path, ARRAYS, case)
    params = param_options(case["params"])
    out = run("compute", case["loss"], *files, *params, "--reduction", "none", "--per-sample", "--format", "json")
    assert out.exit_code == 0, out.stderr
    _assert_close(json.loads(out.stdout)["results"][0]["per_sample"], ARRAYS[f"{cid}/per_sample"], "per-sample")
    grad = tmp_path / "grad.npz"
    out = run("compute", case["loss"], *files, *params, "--format", "json", "--reduction", "sum",
              "--save-grad", grad)
    assert out.exit_code == 0, out.stderr
    role = case["grads"][0]
    _assert_close(np.load(grad)[role], ARRAYS[f"{cid}/grad/{role}"], f"gradient of {role}")
    out = run("compute", case["loss"], *files, *params, "--format", "json")
    assert out.exit_code == 0, out.stderr
    assert json.loads(out.stdout)["results"][0]["value"] == pytest.approx(
        float(ARRAYS[f"{cid}/mean"]), rel=1e-12, abs=1e-300), case["source"]


def _csv(tmp_path, name, array, prefix):
    frame = pd.DataFrame(np.asarray(array).reshape(len(array), -1),
                         columns=[f"{prefix}{j}" for j in range(int(np.prod(np.shape(array)[1:], dtype=int)))])
    frame.to_csv(tmp_path / name, index=False)
    return str(tmp_path / name)


@pytest.mark.parametrize("loss", NAMES)
def test_cli_value_from_csv_written_by_pandas(run, tmp_path, loss):
    """The first reference case of each loss, every input as a CSV table with a header."""
    case = next(c for c in META["cases"] if c["loss"] == loss and np.ndim(ARRAYS[f"{c['id']}/input/{c['inputs'][0]}"]) <= 2)
    files = [_csv(tmp_path, f"{role}.csv", ARRAYS[f"{case['id']}/input/{role}"], role[:1])
             for role in case["inputs"]]
    out = run("compute", loss, *files, *param_options(case["params"]), "--format", "json")
    assert out.exit_code == 0, out.stderr
    assert json.loads(out.stdout)["results"][0]["value"] == pytest.approx(
        float(ARRAYS[f"{case['id']}/mean"]), rel=1e-12)


def test_categorical_hinge_reads_index_labels_from_one_csv_column(run, tmp_path):
    cid = _ids("categorical_hinge", "indices")[0]
    scores = ARRAYS[f"{cid}/input/scores"]
    table = pd.DataFrame(scores, columns=[f"s{j}" for j in range(scores.shape[1])])
    table["label"] = ARRAYS[f"{cid}/input/labels"]
    table.to_csv(tmp_path / "eval.csv", index=False)
    cols = ",".join(f"s{j}" for j in range(scores.shape[1]))
    out = run("compute", "categorical_hinge", f"{tmp_path}/eval.csv:{cols}", f"{tmp_path}/eval.csv:label",
              "--format", "json")
    assert out.exit_code == 0, out.stderr
    assert json.loads(out.stdout)["results"][0]["value"] == pytest.approx(float(ARRAYS[f"{cid}/mean"]), rel=1e-12)


# -- info, gradcheck ----------------------------------------------------------------------------------
#: one convention per loss that a user must be told (the libraries disagree, or the choice is losscli's)
CONVENTION = {
    "multi_margin": "class_weights w multiply each term by the weight of the TRUE class: w_y·z^p",
    "soft_margin": "losscli gives -y f there (1e4 for y f = -1e4) and gradient -y.",
    "hinge_embedding": "Kink (x = m exactly, y = -1): subgradient -1, as PyTorch",
    "multilabel_soft_margin": "the row is still divided by C",
    "multilabel_margin": "a class listed twice (PyTorch counts it twice)",
    "categorical_hinge": "scores (-1, -0.5, -2) with class 1 give 1.5 here, 0.5 there.",
    "perceptron": "Kink (f = 0, e.g. a model initialised at zero): subgradient -y/2",
    "ranking_softmax": "Labels are used as they are, NOT normalised to sum to 1",
    "convex_kl": "Argument order as optax: log-predictions first, targets second",
}
MATCHES = {
    "multi_margin": "PyTorch torch.nn.MultiMarginLoss", "soft_margin": "PyTorch torch.nn.SoftMarginLoss",
    "hinge_embedding": "PyTorch torch.nn.HingeEmbeddingLoss",
    "multilabel_soft_margin": "PyTorch torch.nn.MultiLabelSoftMarginLoss",
    "multilabel_margin": "PyTorch torch.nn.MultiLabelMarginLoss",
    "categorical_hinge": "Keras keras.losses.categorical_hinge", "perceptron": "optax optax.losses.perceptron_loss",
    "ranking_softmax": "optax optax.losses.ranking_softmax_loss",
    "convex_kl": "optax optax.losses.convex_kl_divergence",
}


@pytest.mark.parametrize("loss", NAMES)
def test_info_states_the_conventions_and_what_it_matches(run, loss):
    out = run("info", loss, "--format", "json")
    assert out.exit_code == 0, out.stderr
    record = json.loads(out.stdout)
    assert any(CONVENTION[loss] in c for c in record["conventions"]), record["conventions"]
    assert any(m.startswith(MATCHES[loss]) for m in record["matches"]), record["matches"]
    table = run("info", loss)
    assert table.exit_code == 0 and CONVENTION[loss][:40] in " ".join(table.stdout.split())


@pytest.mark.parametrize("alias, name", [("multi_margin_loss", "multi_margin"), ("MultiMarginLoss", "multi_margin"),
                                         ("soft_margin_loss", "soft_margin"),
                                         ("hinge_embedding_loss", "hinge_embedding"),
                                         ("multilabel_soft_margin_loss", "multilabel_soft_margin"),
                                         ("multilabel_margin_loss", "multilabel_margin"),
                                         ("perceptron_loss", "perceptron"),
                                         ("ranking_softmax_loss", "ranking_softmax"),
                                         ("convex_kl_divergence", "convex_kl"),
                                         ("generalized_kl_divergence", "convex_kl")])
def test_aliases(alias, name):
    assert get_loss(alias).name == name


@pytest.mark.parametrize("loss", NAMES)
def test_gradcheck_passes_at_random_inputs(run, loss):
    out = run("gradcheck", loss, "--format", "json")
    assert out.exit_code == 0, out.stdout + out.stderr
    assert json.loads(out.stdout)["results"][0]["passed"]


EXTREME_CASES = [cid for n in NAMES for cid in _ids(n, "1e4")] + _ids("convex_kl", "700")


@pytest.mark.parametrize("cid", sorted(set(EXTREME_CASES)))
def test_gradcheck_passes_at_the_extreme_reference_inputs(run, tmp_path, cid):
    """Scores ±1e4 and exact ties: smooth losses pass outright, kinks are recognised as kinks."""
    case = CASES[cid]
    out = run("gradcheck", case["loss"], *save_inputs(tmp_path, ARRAYS, case), *param_options(case["params"]),
              "--format", "json")
    assert out.exit_code == 0, out.stdout + out.stderr


# -- kinks: the libraries' subgradients, by hand ----------------------------------------------------
def test_kink_subgradients_are_the_libraries():
    # PyTorch margin kernels test z > 0: at z = 0 exactly the subgradient is 0
    g = get_loss("multi_margin").grad(np.array([[1.0, 2.0, 0.0]]), np.array([1]))["scores"]
    assert g.tolist() == [[0.0, 0.0, 0.0]]  # z = 1 - 2 + 1 = 0 for class 0
    g = get_loss("multilabel_margin").grad(np.array([[1.0, 2.0, 0.0]]), np.array([[1, -1, -1]]))["scores"]
    assert g.tolist() == [[0.0, 0.0, 0.0]]
    # PyTorch's clamp_min passes the gradient at equality: x = margin, y = -1 gives -1
    g = get_loss("hinge_embedding").grad(np.array([2.0, 2.0]), np.array([-1.0, 1.0]), margin=2.0)["distances"]
    assert g.tolist() == [-1.0, 1.0]
    # jax.grad of jnp.maximum(0, v) at v = 0 is 1/2: the perceptron at f = 0
    g = get_loss("perceptron").grad(np.array([0.0, 0.0, -0.0]), np.array([1.0, -1.0, -1.0]))["scores"]
    assert g.tolist() == [-0.5, 0.5, 0.5]
    # Keras (JAX): h = 0 passes half, and tied maxima of (1 - y)s (the true class's 0 among them) share it
    g = get_loss("categorical_hinge").grad(np.array([[0.0, 1.0, 0.0]]), np.array([1]))["scores"]
    np.testing.assert_allclose(g, [[1 / 6, -0.5, 1 / 6]], rtol=0, atol=1e-17)


def test_categorical_hinge_is_keras_not_crammer_singer_when_wrong_scores_are_negative():
    s, y = np.array([[-1.0, -0.5, -2.0]]), np.array([1])
    assert get_loss("categorical_hinge")(s, y).tolist() == [1.5]
    assert get_loss("hinge")(s, y).tolist() == [0.5]


# -- extremes the references leave out -----------------------------------------------------------------
def test_soft_margin_is_finite_where_pytorch_overflows(run, tmp_path):
    """PyTorch's log1p(exp(-y f)) is inf beyond -y f = 709.78 (gradient NaN); losscli is exact."""
    f = np.array([-1e4, 710.0, -800.0, 1e4])
    y = np.array([1.0, -1.0, 1.0, 1.0])
    loss = get_loss("soft_margin")
    np.testing.assert_array_equal(loss(f, y), [1e4, 710.0, 800.0, 0.0])
    np.testing.assert_array_equal(loss.grad(f, y)["scores"], [-1.0, 1.0, -1.0, -0.0])
    np.save(tmp_path / "f.npy", f)
    np.save(tmp_path / "y.npy", y)
    out = run("compute", "soft_margin", tmp_path / "f.npy", tmp_path / "y.npy", "--format", "value")
    assert out.exit_code == 0 and float(out.stdout) == pytest.approx((1e4 + 710 + 800) / 4, rel=1e-15)


H = 1.7e308
AT_THE_EDGE = {  # finite inputs whose losses (or gradients) are beyond float64
    "multi_margin": ((np.array([[H, -H, 0.0]]), np.array([1])), {"p": 2}),
    "categorical_hinge": ((np.array([[H, -H, 0.0]]), np.array([1])), {}),
    "soft_margin": ((np.array([H, -H]), np.array([1.0, 1.0])), {}),
    "hinge_embedding": ((np.array([H, 0.0]), np.array([-1.0, 1.0])), {"margin": -H}),
    "perceptron": ((np.array([H, -H]), np.array([1.0, 1.0])), {}),
    "multilabel_soft_margin": ((np.array([[H, -H]]), np.array([[0.0, 1.0]])), {"class_weights": [H, H]}),
    "multilabel_margin": ((np.array([[H, -H, 0.0]]), np.array([[1, -1, -1]])), {}),
    "convex_kl": ((np.array([[1e10, -1e300]]), np.array([[1e300, 1e300]])), {}),
    "ranking_softmax": ((np.array([[H, -H, 0.0]]), np.array([[1e300, 1e300, 1.0]]), np.ones((1, 3)),
                         np.array([[1e300, 1e300, 1.0]])), {}),
}


@pytest.mark.parametrize("loss", NAMES)
def test_no_runtime_warning_at_the_edge_of_float64(loss):
    """(pytest turns RuntimeWarning into an error.) Values beyond float64 are inf, never NaN;
    the engine turns them into an error naming the row."""
    args, params = AT_THE_EDGE[loss]
    fn = get_loss(loss)
    values = fn.fn(*args, **params)
    assert not np.isnan(values).any()
    fn.grad_fn(*args, **params)


def test_overflow_beyond_float64_is_an_error_naming_the_row(run, tmp_path):
    np.save(tmp_path / "s.npy", np.array([[0.0, 1.0, 2.0], [1e200, -1e200, 0.0]]))
    np.save(tmp_path / "y.npy", np.array([0, 1]))
    out = run("compute", "multi_margin", tmp_path / "s.npy", tmp_path / "y.npy", "-p", "p=2")
    assert out.exit_code == 2 and out.stdout == ""
    assert out.stderr == ("Error: multi_margin: the loss overflows float64 at row 1 (1 of 2 rows) although the "
                          "inputs are finite: the values are too extreme for this loss\n")


def test_multilabel_soft_margin_at_extremes_is_bce_logits():
    x = np.array([[1e4, -1e4, 0.0, 745.0], [-745.0, 30.0, -40.0, 1e-8]])
    y = np.array([[0.0, 1.0, 1.0, 0.0], [1.0, 0.0, 1.0, 0.0]])
    np.testing.assert_allclose(get_loss("multilabel_soft_margin")(x, y), get_loss("bce_logits")(x, y), rtol=1e-15)


mpmath.mp.dps = 60


def test_convex_kl_keeps_its_digits_when_the_prediction_is_almost_the_target():
    """optax's literal form t log t - t lq - t + e^lq loses every digit here (values down to ~1e-19):
    one element per sample, so each value is checked on its own scale. (t = 1 for the tiny gaps: for
    other t the rounding of ln t itself, ~1e-16, bounds the relative accuracy to ~1e-16·|ln t|/|r|.)"""
    t = np.array([1.0, 1.0, 1.0, 0.3, 1e-5, 4.0, 0.0])[:, None]
    lq = np.log(np.where(t > 0, t, 1.0)) + np.array([1e-9, -3e-8, 1e-4, 0.05, -0.7, 2.0, -1.0])[:, None]
    loss = get_loss("convex_kl")
    values, grads = loss(lq, t), loss.grad(lq, t)["log_predictions"][:, 0]
    for i in range(t.shape[0]):
        tk, lk = mpmath.mpf(float(t[i, 0])), mpmath.mpf(float(lq[i, 0]))
        exact = (tk * (mpmath.log(tk) - lk) if tk else 0) - tk + mpmath.exp(lk)
        assert values[i] == pytest.approx(float(exact), rel=1e-13, abs=0), i
        assert grads[i] == pytest.approx(float(mpmath.exp(lk) - tk), rel=1e-13, abs=0), i


def test_convex_kl_of_probability_rows_is_kl():
    rng = np.random.default_rng(5)
    q, p = rng.dirichlet(np.ones(5), 6), rng.dirichlet(np.ones(5), 6)
    p[0, 1:] = p[0, 1:] / p[0, 1:].sum()
    p[0, 0] = 0.0
    np.testing.assert_allclose(get_loss("convex_kl")(np.log(q), p), get_loss("kl")(q, p), rtol=1e-12, atol=1e-15)


def test_convex_kl_overflow_is_an_error_naming_the_row(run, tmp_path):
    np.save(tmp_path / "lq.npy", np.array([[0.0, 1.0], [0.5, 1e4]]))
    np.save(tmp_path / "t.npy", np.ones((2, 2)))
    out = run("compute", "convex_kl", tmp_path / "lq.npy", tmp_path / "t.npy")
    assert out.exit_code == 2 and out.stdout == ""
    assert out.stderr == ("Error: convex_kl: the loss overflows float64 at row 1 (1 of 2 rows) although the inputs "
                          "are finite: the values are too extreme for this loss\n")


def test_ranking_softmax_keeps_its_digits_when_one_item_dominates():
    z, y = np.array([[40.0, 0.0, 0.0, -3.0]]), np.array([[1.0, 0.0, 0.0, 0.0]])
    loss = get_loss("ranking_softmax")
    e = [mpmath.exp(mpmath.mpf(v)) for v in z[0]]
    total = mpmath.fsum(e)
    assert loss(z, y)[0] == pytest.approx(float(mpmath.log(total) - 40), rel=1e-13, abs=0)
    g = loss.grad(z, y)["logits"][0]
    assert g[0] == pytest.approx(float(e[0] / total - 1), rel=1e-13, abs=0)
    assert g[3] == pytest.approx(float(e[3] / total), rel=1e-13, abs=0)


def test_ranking_softmax_masked_lists(run, tmp_path):
    """Lists with no item left have loss 0 and no share of the mean; a batch of only those has no mean."""
    z = np.array([[1.0, 2.0, 0.5], [0.3, 0.1, 0.2], [1.0, -1.0, 0.0]])
    y = np.array([[2.0, 0.0, 1.0], [1.0, 1.0, 0.0], [0.0, 1.0, 0.0]])
    where = np.array([[1.0, 1.0, 0.0], [0.0, 0.0, 0.0], [1.0, 1.0, 1.0]])
    loss = get_loss("ranking_softmax")
    per = loss(z, y, where)
    assert per[1] == 0.0
    assert per[0] == pytest.approx(2 * (np.logaddexp(1.0, 2.0) - 1.0), rel=1e-15)
    for name, array in (("z", z), ("y", y), ("w", where), ("none", np.zeros_like(where))):
        np.save(tmp_path / f"{name}.npy", array)
    out = run("compute", "ranking_softmax", tmp_path / "z.npy", tmp_path / "y.npy", tmp_path / "w.npy",
              "--format", "value")
    assert out.exit_code == 0 and float(out.stdout) == pytest.approx((per[0] + per[2]) / 2, rel=1e-15)
    out = run("compute", "ranking_softmax", tmp_path / "z.npy", tmp_path / "y.npy", tmp_path / "none.npy")
    assert out.exit_code == 2 and out.stderr.count("\n") == 1
    assert "the mean's denominator is 0" in out.stderr
    out = run("compute", "ranking_softmax", tmp_path / "z.npy", tmp_path / "y.npy", tmp_path / "none.npy",
              "--reduction", "sum", "--format", "value")
    assert out.exit_code == 0 and float(out.stdout) == 0.0


def test_multilabel_margin_ignores_nothing_and_counts_each_target_once():
    s = np.array([[0.3, 0.9, -0.2, 0.5]])
    loss = get_loss("multilabel_margin")
    assert loss(s, np.array([[1, 3, -1, -1]])).tolist() == [0.375]  # PyTorch: 0.375
    assert loss(s, np.array([[-1, -1, -1, -1]])).tolist() == [0.0]
    assert loss(s, np.array([[0, 1, 2, 3]])).tolist() == [0.0]  # no non-target class


def test_multilabel_margin_in_chunks_of_rows_equals_the_reference(monkeypatch):
    """Large C: the (rows, C, C) table is built a few rows at a time; here one and two rows."""
    from losscli.losses import margin

    loss = get_loss("multilabel_margin")
    for cid in _ids("multilabel_margin"):
        s, t = ARRAYS[f"{cid}/input/scores"], ARRAYS[f"{cid}/input/labels"]
        for rows_per_chunk in (1, 2):
            monkeypatch.setattr(margin, "_CHUNK_ELEMENTS", rows_per_chunk * s.shape[1] ** 2)
            _assert_close(loss(s, t), ARRAYS[f"{cid}/per_sample"], "per-sample")
            _assert_close(loss.grad(s, t)["scores"], ARRAYS[f"{cid}/grad/scores"], "gradient")


def test_multilabel_margin_works_in_blocks_of_rows(run, tmp_path):
    rng = np.random.default_rng(3)
    s = rng.normal(size=(50, 7))
    t = np.full((50, 7), -1)
    for i in range(50):
        k = rng.integers(0, 8)
        t[i, :k] = rng.permutation(7)[:k]
    np.save(tmp_path / "s.npy", s)
    np.save(tmp_path / "t.npy", t)
    whole = run("compute", "multilabel_margin", tmp_path / "s.npy", tmp_path / "t.npy", "--format", "value")
    blocks = run("compute", "multilabel_margin", tmp_path / "s.npy", tmp_path / "t.npy", "--format", "value",
                 "--block-rows", "3")
    assert whole.exit_code == blocks.exit_code == 0
    assert float(whole.stdout) == pytest.approx(float(blocks.stdout), rel=1e-14)
    assert float(whole.stdout) == pytest.approx(float(np.mean(get_loss("multilabel_margin")(s, t))), rel=1e-14)


# -- bad input: exit 2, one line naming the file or option and what was expected -----------------------
@pytest.fixture
def d(tmp_path):
    np.save(tmp_path / "s.npy", np.array([[0.3, 0.9, -0.2, 0.5], [1.0, 2.0, 0.0, 1.5]]))
    np.save(tmp_path / "y.npy", np.array([1, 0]))
    np.save(tmp_path / "y5.npy", np.array([1, 5]))
    np.save(tmp_path / "f.npy", np.array([0.5, 1.0, 2.0]))
    np.save(tmp_path / "f01.npy", np.array([1.0, -1.0, 0.0]))
    np.save(tmp_path / "dist.npy", np.array([0.5, -1.0, 2.0]))
    np.save(tmp_path / "late.npy", np.array([[1, 3, -1, -1], [0, -1, 2, -1]]))
    np.save(tmp_path / "twice.npy", np.array([[1, 1, 0, 0], [0, 1, 1, 0]]))
    np.save(tmp_path / "range.npy", np.array([[1, 7, -1, -1], [0, -1, -1, -1]]))
    np.save(tmp_path / "frac.npy", np.array([[1, 1.5, -1, -1], [0, -1, -1, -1]]))
    np.save(tmp_path / "pm.npy", np.array([[1.0, -1, -1, -1], [-1, 1, -1, -1]]))
    np.save(tmp_path / "rel.npy", np.array([[1.0, -1, 0, 2], [0, 1, 2, 3]]))
    np.save(tmp_path / "where2.npy", np.array([[1.0, 2, 0, 1], [0, 1, 1, 1]]))
    np.save(tmp_path / "one.npy", np.array([0.3, 0.9]))
    return tmp_path


EXPECT_LISTS = ("expected class indices in 0..3, each target once, then -1 to the end of the row, "
                "as torch.nn.MultiLabelMarginLoss")
BAD = [
    (("multi_margin", "s.npy", "y5.npy"), "{d}/y5.npy, row 1: found 5 (multi_margin labels expects an integer "
                                          "class index in 0..3)"),
    (("multi_margin", "s.npy", "y.npy", "-p", "class_weights=1,2,3"),
     "parameter multi_margin.class_weights: has 3 values but the inputs have 4 classes"),
    (("multi_margin", "s.npy", "y.npy", "-p", "p=3"), "parameter multi_margin.p: expected one of 1, 2, got 3"),
    (("multi_margin", "one.npy", "y.npy"), "{d}/one.npy (multi_margin scores): expected shape (N, C), got (2,)"),
    (("soft_margin", "f.npy", "f01.npy"), "{d}/f01.npy, row 2: found 0 (soft_margin labels expects labels in {{-1, +1}})"),
    (("perceptron", "f.npy", "f01.npy"), "{d}/f01.npy, row 2: found 0 (perceptron labels expects labels in {{-1, +1}})"),
    (("hinge_embedding", "dist.npy", "f01.npy"),
     "{d}/dist.npy, row 1: found -1 (hinge_embedding distances expects values >= 0)"),
    (("multilabel_margin", "s.npy", "late.npy"),
     "multilabel_margin labels: the row (0, -1, 2, -1) lists class 2 after the -1 that ends its targets, which "
     "PyTorch would ignore (" + EXPECT_LISTS + ")"),
    (("multilabel_margin", "s.npy", "twice.npy"),
     "multilabel_margin labels: the row (1, 1, 0, 0) lists class 0 2 times (" + EXPECT_LISTS + "); these look "
     "like 0/1 indicator rows: multilabel_soft_margin takes those"),
    (("multilabel_margin", "s.npy", "range.npy"),
     "multilabel_margin labels: found 7 in the row (1, 7, -1, -1) (" + EXPECT_LISTS + ")"),
    (("multilabel_margin", "s.npy", "frac.npy"),
     "{d}/frac.npy, index [0, 1]: found 1.5 (multilabel_margin labels expects integer ids)"),
    (("multilabel_margin", "s.npy", "y.npy"),
     "{d}/y.npy (multilabel_margin labels): has shape (2,) but {d}/s.npy has (2, 4) (expected the same shape)"),
    (("multilabel_soft_margin", "s.npy", "late.npy"),
     "{d}/late.npy, index [0, 1]: found 3 (multilabel_soft_margin labels expects probabilities in [0, 1])"),
    (("categorical_hinge", "s.npy", "pm.npy"),
     "{d}/pm.npy, index [0, 1]: found -1 (categorical_hinge labels expects class indices (N,) or probability "
     "rows (N, C) (one-hot or soft))"),
    (("ranking_softmax", "s.npy", "rel.npy"), "{d}/rel.npy, index [0, 1]: found -1 (ranking_softmax labels "
                                              "expects values >= 0)"),
    (("ranking_softmax", "s.npy", "twice.npy", "where2.npy"),
     "{d}/where2.npy, index [0, 1]: found 2 (ranking_softmax where expects labels in {{0, 1}})"),
]


@pytest.mark.parametrize("args, message", BAD, ids=[f"{a[0]}-{i}" for i, (a, _) in enumerate(BAD)])
def test_bad_input_is_one_line_exit_2(run, d, args, message):
    loss, *rest = args
    out = run("compute", loss, *[f"{d}/{a}" if a.endswith(".npy") else a for a in rest])
    assert out.exit_code == 2 and out.stdout == ""
    assert out.stderr == f"Error: {message.format(d=d)}\n"


def test_validation_is_the_same_from_python():
    with pytest.raises(ValueError, match=r"lists class 2 after the -1"):
        get_loss("multilabel_margin")(np.zeros((1, 4)), np.array([[0, -1, 2, -1]]))
    with pytest.raises(ValueError, match=r"class_weights: has 2 values but the inputs have 3 classes"):
        get_loss("multilabel_soft_margin")(np.zeros((1, 3)), np.zeros((1, 3)), class_weights=[1.0, 2.0])
    assert math.isfinite(get_loss("multi_margin")(np.zeros((1, 3)), np.array([2]), p=2, margin=-1.0)[0])
