"""Classification losses through the real CLI: the values, means and saved gradients of the library
reference cases (tests/data/classification_reference.*) read back from .npy and CSV files, each
convention ``losscli info`` states, gradcheck at random and extreme inputs, the behaviour at the
boundaries where the libraries disagree, and exit 2 with one line naming the file or option."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from losscli import domains, get_loss

DATA = Path(__file__).parent / "data"
META = {c["id"]: c for c in json.loads((DATA / "classification_reference.json").read_text())["cases"]}
REF = np.load(DATA / "classification_reference.npz")
EPS64 = float(np.finfo(np.float64).eps)


def _params(params: dict) -> list[str]:
    out = []
    for k, v in params.items():
        if isinstance(v, list):
            v = ",".join(repr(float(x)) for x in v)
        out += ["-p", f"{k}={str(v).lower() if isinstance(v, bool) else v}"]
    return out


def _saved(tmp_path, cid):
    case = META[cid]
    paths = []
    for role in case["inputs"]:
        path = tmp_path / f"{role}.npy"
        np.save(path, REF[f"{cid}/input/{role}"])
        paths.append(path)
    return case, paths


def _value(result) -> float:
    assert result.exit_code == 0, result.stderr
    return float(result.stdout)


def _info(run, name) -> dict:
    """``losscli info NAME --format json``, with its conventions joined for searching."""
    result = run("info", name, "--format", "json")
    assert result.exit_code == 0, result.stderr
    info = json.loads(result.stdout)
    info["text"] = " ".join(info["conventions"])
    return info


def _close(actual, expected, rtol=1e-12):
    actual, expected = np.asarray(actual, dtype=float), np.asarray(expected, dtype=float)
    assert actual.shape == expected.shape
    scale = max(float(np.max(np.abs(expected))), 1e-300)
    assert float(np.max(np.abs(actual - expected))) <= rtol * scale


# -- the reference cases, from files --------------------------------------------------------------
MEAN_CASES = [cid for cid, c in META.items() if c["mean"]]
GRAD_CASES = [cid for cid, c in META.items() if c["grads"]]


@pytest.mark.parametrize("cid", MEAN_CASES)
def test_mean_from_npy_files_is_the_library_mean(run, tmp_path, cid):
    case, paths = _saved(tmp_path, cid)
    value = _value(run("compute", case["loss"], *paths, *_params(case["params"]), "--format", "value"))
    assert value == pytest.approx(float(REF[f"{cid}/mean"]), rel=1e-12, abs=1e-300), case["source"]


@pytest.mark.parametrize("cid", GRAD_CASES)
def test_saved_gradient_of_the_sum_is_the_library_gradient(run, tmp_path, cid):
    case, paths = _saved(tmp_path, cid)
    result = run("compute", case["loss"], *paths, *_params(case["params"]), "--reduction", "sum",
                 "--save-grad", tmp_path / "g.npz", "--format", "value")
    assert _value(result) == pytest.approx(float(np.sum(REF[f"{cid}/per_sample"])), rel=1e-12, abs=1e-300)
    with np.load(tmp_path / "g.npz") as g:
        for role in case["grads"]:
            _close(g[role], REF[f"{cid}/grad/{role}"])


@pytest.mark.parametrize("cid", ["log_loss-rows-onehot", "brier-rows-auto-index", "softmax_ce-torch-ignore-3",
                                 "binary_focal-keras-0", "nll-torch-3"])
def test_per_sample_values_from_csv_written_by_pandas(run, tmp_path, cid):
    case = META[cid]
    paths = []
    for role in case["inputs"]:
        x = REF[f"{cid}/input/{role}"]
        frame = pd.DataFrame(x.reshape(len(x), -1), columns=[f"{role}{j}" for j in range(x[0].size)])
        frame.to_csv(tmp_path / f"{role}.csv", index=False)
        paths.append(tmp_path / f"{role}.csv")
    result = run("compute", case["loss"], *paths, *_params(case["params"]), "--reduction", "none", "--format", "json")
    assert result.exit_code == 0, result.stderr
    _close(_per_sample(json.loads(result.stdout)), REF[f"{cid}/per_sample"])


def _per_sample(record):
    """The per-sample values of the one loss of a ``compute --format json`` record."""
    (result,) = record["results"]
    return result["per_sample"]


# -- 1. log_loss is scikit-learn's log_loss; bce no longer answers to that name ------------------
ISSUE_ROWS = np.array([[0.7, 0.2, 0.1], [0.1, 0.6, 0.3], [0.2, 0.2, 0.6]])


def test_log_loss_on_one_hot_rows_is_multiclass_not_a_mean_of_binary_losses(run, tmp_path):
    np.save(tmp_path / "p.npy", ISSUE_ROWS)
    np.save(tmp_path / "y.npy", np.eye(3)[[0, 2, 2]])
    np.save(tmp_path / "i.npy", np.array([0, 2, 2]))
    expected = -np.mean(np.log([0.7, 0.3, 0.6]))  # 0.6905, as sklearn.metrics.log_loss and ce
    for labels in ("y.npy", "i.npy"):
        assert _value(run("compute", "log_loss", tmp_path / "p.npy", tmp_path / labels, "--format", "value")) == \
            pytest.approx(expected, rel=1e-15)
    assert _value(run("compute", "ce", tmp_path / "p.npy", tmp_path / "i.npy", "--format", "value")) == \
        pytest.approx(expected, rel=1e-15)
    bce = _value(run("compute", "bce", tmp_path / "p.npy", tmp_path / "y.npy", "--format", "value"))
    assert bce == pytest.approx(0.4297684210181218, rel=1e-12)  # C binary problems per row: bce's own meaning
    assert get_loss("log_loss").name == "log_loss" and "log_loss" not in get_loss("bce").aliases


def test_log_loss_clips_at_float64_eps_as_scikit_learn(run, tmp_path):
    np.save(tmp_path / "p.npy", np.array([0.0, 1.0, 1.0, 0.0]))
    np.save(tmp_path / "y.npy", np.array([1.0, 1.0, 0.0, 0.0]))
    result = run("compute", "log_loss", tmp_path / "p.npy", tmp_path / "y.npy", "--reduction", "none",
                 "--save-grad", tmp_path / "g.npz", "--format", "json")
    per = _per_sample(json.loads(result.stdout))
    assert per[0] == per[2] == pytest.approx(-math.log(EPS64), rel=1e-15)  # 36.04365338911715
    assert per[1] == per[3] == pytest.approx(EPS64, rel=1e-6)  # log(1 - eps), not 0
    with np.load(tmp_path / "g.npz") as g:
        assert g["predictions"].tolist() == [0.0] * 4  # the clip holds p: the gradient is 0 there


def test_bce_and_log_loss_info_say_what_each_name_means(run):
    bce = _info(run, "bce")
    assert "Not scikit-learn's log_loss" in bce["text"]
    assert bce["aliases"] == ["binary_cross_entropy", "binary_crossentropy"]
    log_loss = _info(run, "log_loss")
    for text in ("np.finfo(float64).eps = 2.22e-16", "never renormalised", "(0.4298 where log_loss gives 0.6905"):
        assert text in log_loss["text"]
    assert log_loss["matches"] == ["scikit-learn sklearn.metrics.log_loss (values)"]


# -- 2. renormalised rows: the gradient w.r.t. the row as given ------------------------------------
Q = np.array([[0.2, 0.3, 0.50005], [0.1, 0.1, 0.8]])  # row 0 sums to 1 + 5e-5: renormalised
T = np.array([[0.1, 0.6, 0.3], [0.3, 0.3, 0.4]])


def test_chain_rule_through_renormalisation_gives_torch_gradient():
    """J^T g = (g - (g·q))/Σp on the renormalised row; the row left alone keeps g (= torch's -p/q)."""
    sums = Q.sum(axis=1)
    q = Q / sums[:, None]
    g = -T / q  # ∂KL/∂q
    recorded = np.where(np.abs(sums - 1) > domains.RENORMALISE_ABOVE, sums, 1.0)
    chained = domains.through_renormalisation(g, q, recorded)
    # torch: autograd of kl_div(log(p / p.sum()), t) on row 0: [0.49995, -1.00005, 0.40001]
    np.testing.assert_allclose(chained[0], [0.4999500024998751, -1.000049997500125, 0.4000099965004751], rtol=1e-12)
    np.testing.assert_array_equal(chained[1], g[1])  # torch on the row as given: [-3, -3, -0.5]
    checked = get_loss("kl").validated([Q, T], {})[0]
    np.testing.assert_array_equal(domains.renormalised_sums(checked["predictions"]), recorded)


def test_saved_gradient_of_a_renormalised_row_is_taken_wrt_the_row_as_given(run, tmp_path):
    np.save(tmp_path / "q.npy", Q)
    np.save(tmp_path / "t.npy", T)
    result = run("compute", "kl", tmp_path / "q.npy", tmp_path / "t.npy", "--reduction", "sum",
                 "--save-grad", tmp_path / "g.npz", "--format", "value")
    assert result.exit_code == 0
    with np.load(tmp_path / "g.npz") as g:
        np.testing.assert_allclose(g["predictions"][0], [0.4999500024998751, -1.000049997500125, 0.4000099965004751],
                                   rtol=1e-12)


# -- 3. zero_one decides by shape ------------------------------------------------------------------
def test_zero_one_auto_refuses_one_dimensional_scores_and_modes_decide(run, tmp_path):
    np.save(tmp_path / "m.npy", np.array([0.2, 0.7, 0.9]))  # margins in [0, 1] or probabilities?
    np.save(tmp_path / "y.npy", np.array([-1.0, 1.0, -1.0]))
    result = run("compute", "zero_one", tmp_path / "m.npy", tmp_path / "y.npy")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr == ("Error: zero_one: (N,) scores need an explicit mode: -p mode=threshold for "
                             "probabilities (an error where p >= threshold differs from y = 1) or -p mode=sign "
                             "for margins (an error where y·f <= 0)\n")
    sign = run("compute", "zero_one", tmp_path / "m.npy", tmp_path / "y.npy", "-p", "mode=sign", "--format", "value")
    assert _value(sign) == pytest.approx(2 / 3)  # y·f <= 0 at rows 0 and 2
    threshold = run("compute", "zero_one", tmp_path / "m.npy", tmp_path / "y.npy", "-p", "mode=threshold",
                    "--format", "value")
    assert _value(threshold) == pytest.approx(1 / 3)  # 0.9 >= 0.5 but y = -1
    np.save(tmp_path / "s.npy", np.array([[0.2, 0.8], [0.9, 0.1]]))
    np.save(tmp_path / "c.npy", np.array([1, 1]))
    assert _value(run("compute", "zero_one", tmp_path / "s.npy", tmp_path / "c.npy", "--format", "value")) == 0.5
    assert "decides by shape, never by the values" in _info(run, "zero_one")["text"]


# -- 4. softmax_focal's alpha is Keras' 0.25 --------------------------------------------------------
def test_softmax_focal_default_alpha_is_keras_and_alpha_one_is_unweighted(run, tmp_path):
    z = np.array([[1.0, 2.0, 0.5], [0.3, -1.0, 2.0]])
    np.save(tmp_path / "z.npy", z)
    np.save(tmp_path / "y.npy", np.array([1, 0]))
    s = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    pt = s[[0, 1], [1, 0]]
    unweighted = -np.mean((1 - pt) ** 2 * np.log(pt))
    default = _value(run("compute", "softmax_focal", tmp_path / "z.npy", tmp_path / "y.npy", "--format", "value"))
    assert default == pytest.approx(0.25 * unweighted, rel=1e-13)
    one = run("compute", "softmax_focal", tmp_path / "z.npy", tmp_path / "y.npy", "-p", "alpha=1", "--format", "value")
    assert _value(one) == pytest.approx(unweighted, rel=1e-13)
    info = _info(run, "softmax_focal")
    assert info["params"]["alpha"]["default"] == 0.25
    assert "default 0.25 as Keras' CategoricalFocalCrossentropy" in info["text"]
    assert "values are now a quarter of what they were" in info["text"]


def test_softmax_focal_is_exact_where_keras_clips(run):
    loss = get_loss("softmax_focal")
    z, y = np.array([[40.0, 0.0, 0.0]]), np.array([0])
    q = 2 * math.exp(-40.0)  # 1 - p_t; Keras clips p_t to 1 - 1e-7 and reports 0.25·1e-14·1e-7
    assert loss(z, y)[0] == pytest.approx(0.25 * q ** 2 * math.log1p(q), rel=1e-12)


# -- 5, 6. nll and ignore_index (PyTorch's mean over the samples kept) -----------------------------
def test_ignore_index_mean_with_smoothing_and_weights_is_torchs(run, tmp_path):
    case, paths = _saved(tmp_path, "softmax_ce-torch-ignore-3")
    labels = REF["softmax_ce-torch-ignore-3/input/labels"]
    assert (labels == -100).sum() == 2
    value = _value(run("compute", "softmax_ce", *paths, *_params(case["params"]), "--format", "value"))
    per, w = REF["softmax_ce-torch-ignore-3/per_sample"], np.array(case["params"]["class_weights"])
    kept = labels != -100
    assert value == pytest.approx(per.sum() / w[labels[kept]].sum(), rel=1e-12)  # not / N, not / Σ w over all
    assert per[~kept].tolist() == [0.0, 0.0]


@pytest.mark.parametrize("loss, inputs", [
    ("nll", lambda: np.log(np.array([[0.2, 0.3, 0.5], [0.1, 0.1, 0.8]]))),
    ("softmax_ce", lambda: np.array([[1.0, 2.0, 0.5], [0.3, -1.0, 2.0]])),
    ("ce", lambda: np.array([[0.2, 0.3, 0.5], [0.1, 0.1, 0.8]]))])
def test_every_sample_ignored_is_refused_for_the_mean_and_zero_for_the_sum(run, tmp_path, loss, inputs):
    np.save(tmp_path / "x.npy", inputs())
    np.save(tmp_path / "y.npy", np.array([-100, -100]))
    result = run("compute", loss, tmp_path / "x.npy", tmp_path / "y.npy")
    assert result.exit_code == 2 and result.stdout == "" and result.stderr.count("\n") == 1
    assert result.stderr == (f"Error: {loss}: the mean's denominator is 0 (every sample's share of it, such as the "
                             "class weight of its class, is 0); the mean is undefined: give non-zero weights, or "
                             "use --reduction sum\n")
    summed = run("compute", loss, tmp_path / "x.npy", tmp_path / "y.npy", "--reduction", "sum",
                 "--save-grad", tmp_path / "g.npz", "--format", "value")
    assert _value(summed) == 0.0
    with np.load(tmp_path / "g.npz") as g:
        assert not np.any(next(iter(g.values())))


def test_ignore_index_may_be_any_integer_and_other_labels_stay_checked(run, tmp_path):
    np.save(tmp_path / "z.npy", np.array([[1.0, 2.0, 0.5], [0.3, -1.0, 2.0], [0.0, 0.0, 1.0]]))
    np.save(tmp_path / "y.npy", np.array([0, 255, 1]))
    value = _value(run("compute", "softmax_ce", tmp_path / "z.npy", tmp_path / "y.npy", "-p", "ignore_index=255",
                       "--format", "value"))
    z = np.array([[1.0, 2.0, 0.5], [0.0, 0.0, 1.0]])
    ls = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    assert value == pytest.approx(-(ls[0, 0] + ls[1, 1]) / 2, rel=1e-14)
    for label in (-7, 255):  # neither a class nor the ignore_index in force (-100)
        (tmp_path / "y.csv").write_text(f"y\n0\n{label}\n1\n")
        result = run("compute", "softmax_ce", tmp_path / "z.npy", tmp_path / "y.csv")
        assert result.exit_code == 2 and result.stdout == ""
        assert result.stderr == (f"Error: {tmp_path}/y.csv, line 3, column 'y': found {label} (softmax_ce labels "
                                 "expects an integer class index in 0..2)\n")


# -- 7. kl with log targets ------------------------------------------------------------------------
def test_kl_log_target_equals_kl_of_the_probabilities(run, tmp_path):
    np.save(tmp_path / "q.npy", Q[1:])
    np.save(tmp_path / "t.npy", T[1:])
    np.save(tmp_path / "lt.npy", np.log(T[1:]))
    plain = _value(run("compute", "kl", tmp_path / "q.npy", tmp_path / "t.npy", "--format", "value"))
    logged = _value(run("compute", "kl", tmp_path / "q.npy", tmp_path / "lt.npy", "-p", "log_target=true",
                        "--format", "value"))
    assert logged == pytest.approx(plain, rel=1e-14)
    assert plain == pytest.approx(float(np.sum(T[1] * np.log(T[1] / Q[1]))), rel=1e-14)


# -- 8. brier's scale_by_half ----------------------------------------------------------------------
def test_brier_halves_binary_and_two_class_inputs_only(run, tmp_path):
    np.save(tmp_path / "p.npy", np.array([0.9, 0.2]))
    np.save(tmp_path / "y.npy", np.array([1.0, 1.0]))
    assert _value(run("compute", "brier", tmp_path / "p.npy", tmp_path / "y.npy", "--format", "value")) == \
        pytest.approx((0.01 + 0.64) / 2, rel=1e-14)
    np.save(tmp_path / "r.npy", np.array([[0.8, 0.1, 0.1], [0.2, 0.7, 0.1]]))
    np.save(tmp_path / "c.npy", np.array([0, 2]))
    assert _value(run("compute", "brier", tmp_path / "r.npy", tmp_path / "c.npy", "--format", "value")) == \
        pytest.approx((0.04 + 0.01 + 0.01 + 0.04 + 0.49 + 0.81) / 2, rel=1e-14)  # [0, 2] range: not halved
    assert "with scale_by_half='auto': binary (N,) and (N, 2) inputs are halved" in _info(run, "brier")["text"]


# -- 9. binary_focal (Keras) against focal (torchvision) ---------------------------------------------
def test_binary_focal_differs_from_focal_as_stated(run, tmp_path):
    np.save(tmp_path / "x.npy", np.array([-30.0, 0.5]))
    np.save(tmp_path / "y.npy", np.array([1.0, 1.0]))
    out = run("compute", "binary_focal,focal", tmp_path / "x.npy", tmp_path / "y.npy", "-p",
              "binary_focal.from_logits=true", "-p", "focal.alpha=-1", "-p", "gamma=0", "--reduction", "none",
              "--format", "json")
    assert out.exit_code == 0, out.stderr
    keras_like, torchvision = (r["per_sample"] for r in json.loads(out.stdout)["results"])
    assert keras_like[0] == pytest.approx(-math.log(1e-7), rel=1e-12)  # Keras clips the sigmoid
    assert torchvision[0] == pytest.approx(30.0 + math.log1p(math.exp(-30.0)), rel=1e-15)
    assert keras_like[1] == pytest.approx(torchvision[1], rel=1e-14)  # inside the clip they agree
    info = _info(run, "binary_focal")["text"]
    assert "Differs from focal (torchvision)" in info and "4x focal" in info


# -- 10. sparsemax ---------------------------------------------------------------------------------
def test_sparsemax_is_zero_when_the_projection_hits_the_label_and_its_gradient_is_p_minus_y(run, tmp_path):
    z = np.array([[3.0, 0.0, 0.1], [0.5, 0.2, 0.1], [1e4, -1e4, 0.0]])
    np.save(tmp_path / "z.npy", z)
    np.save(tmp_path / "y.npy", np.array([0, 1, 1]))
    result = run("compute", "sparsemax", tmp_path / "z.npy", tmp_path / "y.npy", "--reduction", "none",
                 "--save-grad", tmp_path / "g.npz", "--format", "json")
    per = _per_sample(json.loads(result.stdout))
    assert per[0] == 0.0  # sparsemax([3, 0, 0.1]) = [1, 0, 0]
    assert per[2] == pytest.approx(2e4, rel=1e-15)  # (p - y)·z: 1e4 - (-1e4), exact at ±1e4
    p1 = np.array([17, 8, 5]) / 30  # all three in the support: τ = (0.8 - 1)/3
    assert per[1] == pytest.approx(p1 @ z[1] - z[1, 1] + 0.5 * (1 - p1 @ p1), rel=1e-14)
    with np.load(tmp_path / "g.npz") as g:
        np.testing.assert_allclose(g["logits"], np.array([[1, 0, 0], p1, [1, 0, 0]]) - np.eye(3)[[0, 1, 1]], atol=1e-15)
    assert "optax's sparsemax_loss is the binary one, here binary_sparsemax" in _info(run, "sparsemax")["text"]
    assert get_loss("sparsemax_loss").name == "binary_sparsemax"


# -- gradcheck at random inputs and at the extremes ----------------------------------------------------
NEW_AND_CHANGED = ["log_loss", "brier", "nll", "binary_focal", "sparsemax", "binary_sparsemax", "ce", "softmax_ce",
                   "kl", "softmax_focal", "bce", "bce_logits", "focal", "hinge", "poly1"]


@pytest.mark.parametrize("name", NEW_AND_CHANGED)
def test_gradcheck_passes_at_random_inputs(run, name):
    result = run("gradcheck", name, "--format", "json")
    assert result.exit_code == 0, result.stdout


@pytest.mark.parametrize("cid", ["softmax_ce-torch-ignore-1", "nll-torch-3", "log_loss-binary", "log_loss-rows-index",
                                 "sparsemax-optax-index", "binary_sparsemax-optax", "binary_focal-keras-0",
                                 "binary_focal-keras-1", "focal-torchvision-0", "bce_logits-torch-extremes",
                                 "brier-rows-auto-onehot", "kl-torch-log-target"])
def test_gradcheck_passes_at_the_reference_extremes(run, tmp_path, cid):
    case, paths = _saved(tmp_path, cid)
    result = run("gradcheck", case["loss"], *paths, *_params(case["params"]), "--format", "json")
    assert result.exit_code == 0, result.stdout


# -- bad input: exit 2, one line naming the file or option ---------------------------------------------
BAD = {
    "soft label rows for log_loss": (
        ["log_loss", "rows.npy", "soft.npy"],
        "{d}/soft.npy, index [0, 0]: found 0.3 (log_loss labels expects labels in {{0, 1}} for (N,) probabilities; "
        "class indices (N,) or one-hot rows (N, C) for (N, C) rows)"),
    "multi-hot rows for log_loss": (
        ["log_loss", "rows.npy", "multi.npy"],
        "{d}/multi.npy, row 1: found a row with 2 ones (log_loss labels expects labels in {{0, 1}} for (N,) "
        "probabilities; class indices (N,) or one-hot rows (N, C) for (N, C) rows)"),
    "one column of probabilities": (
        ["brier", "col.npy", "y01.npy"],
        "{d}/col.npy (brier predictions): one column of probabilities; give the probabilities of the positive "
        "class as (N,) (a 1-D array or one selected column), or rows of C >= 2 class probabilities"),
    "rows that do not sum to 1": (
        ["log_loss", "off.npy", "y01.npy"],
        "{d}/off.npy, row 0: row sums to 0.9 (log_loss predictions expects probabilities of the positive class "
        "(N,), or rows of class probabilities (N, C) that sum to 1 (used as given, not renormalised); tolerance "
        "0.0001, --prob-tol sets it)"),
    "scale_by_half not a choice": (
        ["brier", "p.npy", "y01.npy", "-p", "scale_by_half=maybe"],
        "parameter brier.scale_by_half: expected one of auto, true, false, got 'maybe'"),
    "log targets above 0": (
        ["kl", "rows.npy", "rows.npy", "-p", "log_target=true"],
        "{d}/rows.npy, index [0, 0]: found 0.2 (kl labels expects rows of log-probabilities (values <= 0) whose "
        "exponentials sum to 1)"),
    "class index out of range for sparsemax": (
        ["sparsemax", "rows.npy", "y5.npy"],
        "{d}/y5.npy, row 1: found 5 (sparsemax labels expects an integer class index in 0..2)"),
    "probabilities given to nll": (
        ["nll", "rows.npy", "y01.npy"],
        "{d}/rows.npy, index [0, 0]: found 0.2 (nll log_probs expects log-probabilities (values <= 0))"),
    "probabilities above 1 for binary_focal": (
        ["binary_focal", "logit.csv", "y01.npy"],
        "{d}/logit.csv, line 3, column 'p': found 1.5 (binary_focal predictions expects probabilities in [0, 1]); "
        "these look like logits: binary_focal with -p from_logits=true takes them"),
    "negative label other than ignore_index for nll": (
        ["nll", "logp.npy", "yneg.npy", "-p", "ignore_index=-1"],
        "{d}/yneg.npy, row 2: found -100 (nll labels expects an integer class index in 0..2)"),
    "gamma below 0": (["binary_focal", "p.npy", "y01.npy", "-p", "gamma=-1"],
                      "parameter binary_focal.gamma: must be >=0, got -1.0"),
}


@pytest.fixture
def bad_files(tmp_path):
    rows = np.array([[0.2, 0.3, 0.5], [0.1, 0.1, 0.8], [0.3, 0.3, 0.4]])
    np.save(tmp_path / "rows.npy", rows)
    np.save(tmp_path / "logp.npy", np.log(rows))
    np.save(tmp_path / "soft.npy", np.array([[0.3, 0.7, 0.0], [0, 1, 0], [1, 0, 0]]))
    np.save(tmp_path / "multi.npy", np.array([[1.0, 0, 0], [0, 1, 1], [1, 0, 0]]))
    np.save(tmp_path / "col.npy", np.array([[0.2], [0.5], [0.9]]))
    np.save(tmp_path / "y01.npy", np.array([0, 1, 1]))
    np.save(tmp_path / "p.npy", np.array([0.2, 0.5, 0.9]))
    np.save(tmp_path / "off.npy", np.array([[0.2, 0.3, 0.4], [0.1, 0.1, 0.8], [0.3, 0.3, 0.4]]))
    np.save(tmp_path / "y5.npy", np.array([0, 5, 1]))
    np.save(tmp_path / "yneg.npy", np.array([0, -1, -100]))
    (tmp_path / "logit.csv").write_text("p\n0.2\n1.5\n0.3\n")
    return tmp_path


@pytest.mark.parametrize("name", BAD)
def test_bad_input_is_one_line_naming_the_file_or_option(run, bad_files, name):
    args, message = BAD[name]
    args = [a if not a.endswith((".npy", ".csv")) else str(bad_files / a) for a in args]
    result = run("compute", *args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == f"Error: {message.format(d=bad_files)}\n"


@pytest.mark.parametrize("engine", ["local", "dask"])
def test_probabilities_given_as_logits_are_warned_of(run, tmp_path, engine):
    """softmax_ce (and every loss of logits) given rows of probabilities took them as logits without a
    word (review 63): ce given logits says so, the other way round said nothing. Every row in [0, 1]
    and summing to 1: a warning naming np.log(p) and ce; the value is what was asked for."""
    import pandas as pd

    rng = np.random.default_rng(3)
    z = rng.normal(size=(30, 3))
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    y = rng.integers(0, 3, 30)
    pd.DataFrame(p, columns=["a", "b", "c"]).to_csv(tmp_path / "p.csv", index=False)
    pd.Series(y, name="y").to_csv(tmp_path / "y.csv", index=False)
    out = run("compute", "softmax_ce", tmp_path / "p.csv", tmp_path / "y.csv", "--format", "value", "--engine", engine)
    assert out.exit_code == 0
    assert out.stderr == (f"losscli: warning: {tmp_path / 'p.csv'}: every row is a probability distribution (in [0, 1], "
                          "summing to 1), where softmax_ce takes logits: give np.log(p) (log-probabilities are logits "
                          "whose softmax is p), or a loss that takes probabilities (ce)\n")
    s = p - p.max(axis=1, keepdims=True)
    assert float(out.stdout) == pytest.approx(float(np.mean(np.log(np.exp(s).sum(axis=1)) - s[np.arange(30), y])),
                                              rel=1e-12)
    pd.DataFrame(np.log(p), columns=["a", "b", "c"]).to_csv(tmp_path / "logp.csv", index=False)
    out = run("compute", "softmax_ce", tmp_path / "logp.csv", tmp_path / "y.csv", "--format", "value")
    assert out.stderr == "" and float(out.stdout) == pytest.approx(float(np.mean(-np.log(p[np.arange(30), y]))),
                                                                   rel=1e-12)
