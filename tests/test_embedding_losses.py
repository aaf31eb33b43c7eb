"""The embedding losses through the CLI: values, gradients and means from files equal the library
references (tests/data/embedding_reference.*, written by tests/reference/generate_embedding_reference.py
from PyTorch, optax, Keras, pytorch-metric-learning and loops written from sentence-transformers'
source), ``info`` states the conventions, ``gradcheck`` passes at random and at extreme inputs, the
boundaries the references leave out behave as documented, mnrl takes k hard negatives per anchor
((k·N, D), from .npy and CSV), and bad input is exit 2 with one line."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import losscli
from losscli import get_loss
from losscli.errors import InputError
from losscli.sampling import random_inputs

from .test_library_references import param_options, save_inputs

DATA = Path(__file__).parent / "data"
META = json.loads((DATA / "embedding_reference.json").read_text())
ARRAYS = np.load(DATA / "embedding_reference.npz")
CASES = {c["id"]: c for c in META["cases"]}
NAMES = ("triplet", "margin_ranking", "cosine_embedding", "cosine_distance", "cosine_similarity", "infonce",
         "mnrl", "nt_xent", "arcface")


def _ids(loss: str, text: str = "", **params) -> list[str]:
    return [cid for cid, c in CASES.items() if c["loss"] == loss and text in c["source"]
            and all(c["params"].get(k) == v for k, v in params.items())]




def _negatives(cid: str) -> bool:
    return "negatives" in CASES[cid]["inputs"]


#: every loss's first case, the extremes, and every parameter variant once (hard negatives: below)
CLI_CASES = sorted({ids[0] for ids in (_ids(n) for n in NAMES)}
                   | {cid for n in NAMES for key in ("zero", "1e100", "1e60", "0.005", "scale 200", "exactly", "tie",
                                                     "swap", "fallback")
                      for cid in _ids(n, key) if not _negatives(cid)}
                   | {ids[0] for ids in (_ids("triplet", p=p) for p in (1.0, 1.5, 3.0)) if ids}
                   | set(_ids("infonce", symmetric=True)[:2]) | set(_ids("mnrl", symmetric=True)[:1])
                   | set(_ids("nt_xent", "optax")[:2]) | set(_ids("cosine_similarity", "epsilon"))
                   | set(_ids("cosine_distance", epsilon=0.5)))
NEGATIVE_CASES = [cid for cid in CASES if CASES[cid]["loss"] == "mnrl" and _negatives(cid)]




def _csv(tmp_path, name, array, prefix) -> str:
    array = np.asarray(array)
    frame = pd.DataFrame(array.reshape(array.shape[0], -1) if array.ndim > 1 else array[:, None],
                         columns=[f"{prefix}{j}" for j in range(int(np.prod(array.shape[1:], dtype=int)))])
    frame.to_csv(tmp_path / name, index=False)
    return str(tmp_path / name)


def _assert_close(actual, expected, what):
    actual, expected = np.asarray(actual, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape, (what, actual.shape, expected.shape)
    scale = max(float(np.max(np.abs(expected), initial=0.0)), 1e-300)
    assert np.max(np.abs(actual - expected), initial=0.0) / scale <= 1e-12, (what, actual, expected)


def _check_cli_case(run, tmp_path, cid, files):
    case = CASES[cid]
    params = param_options(case["params"])
    out = run("compute", case["loss"], *files, *params, "--reduction", "none", "--per-sample", "--format", "json")
    assert out.exit_code == 0, out.stderr
    per = json.loads(out.stdout)["results"][0]["per_sample"]
    _assert_close(per, ARRAYS[f"{cid}/per_sample"], "per-sample")  # one value per sample (anchor), N of them
    if case["grads"]:
        grad = tmp_path / "grad.npz"
        out = run("compute", case["loss"], *files, *params, "--format", "json", "--reduction", "sum",
                  "--save-grad", grad)
        assert out.exit_code == 0, out.stderr
        with np.load(grad) as saved:
            for role in case["grads"]:
                _assert_close(saved[role], ARRAYS[f"{cid}/grad/{role}"], f"gradient of {role}")
    if case["mean"]:
        out = run("compute", case["loss"], *files, *params, "--format", "json")
        assert out.exit_code == 0, out.stderr
        assert json.loads(out.stdout)["results"][0]["value"] == pytest.approx(
            float(ARRAYS[f"{cid}/mean"]), rel=1e-12, abs=1e-300), case["source"]


@pytest.mark.parametrize("cid", CLI_CASES)
def test_cli_values_and_gradients_from_npy_equal_the_library(run, tmp_path, cid):
    _check_cli_case(run, tmp_path, cid, save_inputs(tmp_path, ARRAYS, CASES[cid]))


@pytest.mark.parametrize("loss", [n for n in NAMES if n != "arcface"])
def test_cli_value_from_csv_written_by_pandas(run, tmp_path, loss):
    """The first reference case of each loss, every input as a CSV table with a header."""
    case = CASES[_ids(loss)[0]]
    files = [_csv(tmp_path, f"{role}.csv", ARRAYS[f"{case['id']}/input/{role}"], role[:1])
             for role in case["inputs"]]
    out = run("compute", loss, *files, *param_options(case["params"]), "--format", "json")
    assert out.exit_code == 0, out.stderr
    assert json.loads(out.stdout)["results"][0]["value"] == pytest.approx(
        float(ARRAYS[f"{case['id']}/mean"]), rel=1e-12)


# -- mnrl: k hard negatives per anchor, (k·N, D) ------------------------------------------------------
@pytest.mark.parametrize("cid", NEGATIVE_CASES)
def test_mnrl_hard_negatives_from_npy_equal_the_reference(run, tmp_path, cid):
    """N anchors and positives, k·N negatives: read whole beside the others, N per-sample losses, the
    negatives' gradient (k·N, D)."""
    _check_cli_case(run, tmp_path, cid, save_inputs(tmp_path, ARRAYS, CASES[cid]))


def test_mnrl_hard_negatives_from_csv(run, tmp_path):
    cid = next(c for c in NEGATIVE_CASES if "3 hard negatives" in CASES[c]["source"])
    case = CASES[cid]
    assert ARRAYS[f"{cid}/input/negatives"].shape[0] == 3 * ARRAYS[f"{cid}/input/anchors"].shape[0]
    files = [_csv(tmp_path, f"{role}.csv", ARRAYS[f"{cid}/input/{role}"], "d") for role in case["inputs"]]
    out = run("compute", "mnrl", *files, *param_options(case["params"]), "--format", "json", "--per-sample")
    assert out.exit_code == 0, out.stderr
    result = json.loads(out.stdout)["results"][0]
    assert result["value"] == pytest.approx(float(ARRAYS[f"{cid}/mean"]), rel=1e-12)
    _assert_close(result["per_sample"], ARRAYS[f"{cid}/per_sample"], "per-sample")
    # the negatives from a CSV beside anchors and positives from .npy files
    npy = save_inputs(tmp_path, ARRAYS, case)
    out = run("compute", "mnrl", npy[0], npy[1], files[2], *param_options(case["params"]), "--format", "value")
    assert out.exit_code == 0, out.stderr
    assert float(out.stdout) == pytest.approx(float(ARRAYS[f"{cid}/mean"]), rel=1e-12)


def test_mnrl_hard_negatives_from_python():
    cid = next(c for c in NEGATIVE_CASES if "3 hard negatives" in CASES[c]["source"])
    a, p, n = (ARRAYS[f"{cid}/input/{r}"] for r in ("anchors", "positives", "negatives"))
    params = CASES[cid]["params"]
    result = losscli.evaluate("mnrl", a, p, n, **params)
    _assert_close(result.per_sample, ARRAYS[f"{cid}/per_sample"], "per-sample")
    _assert_close(result.gradients["negatives"] * a.shape[0], ARRAYS[f"{cid}/grad/negatives"], "negatives")


@pytest.fixture
def d(tmp_path):
    rng = np.random.default_rng(7)
    np.save(tmp_path / "a.npy", rng.normal(size=(4, 3)))
    np.save(tmp_path / "p.npy", rng.normal(size=(4, 3)))
    np.save(tmp_path / "n7.npy", rng.normal(size=(7, 3)))
    np.save(tmp_path / "n8.npy", rng.normal(size=(8, 3)))
    np.save(tmp_path / "n8d4.npy", rng.normal(size=(8, 4)))
    nan = rng.normal(size=(8, 3))
    nan[5, 1] = np.nan
    np.save(tmp_path / "nnan.npy", nan)
    anan = rng.normal(size=(4, 3))
    anan[2, 0] = np.nan
    np.save(tmp_path / "anan.npy", anan)
    np.save(tmp_path / "v4.npy", rng.normal(size=(4, 4)))
    np.save(tmp_path / "y0.npy", np.array([1.0, 0.0, -1.0, 1.0]))
    np.save(tmp_path / "y.npy", np.array([1.0, -1.0, -1.0, 1.0]))
    return tmp_path


def test_mnrl_negatives_not_a_multiple_of_the_anchors_is_one_line(run, d):
    out = run("compute", "mnrl", d / "a.npy", d / "p.npy", d / "n7.npy")
    assert out.exit_code == 2 and out.stdout == ""
    assert out.stderr == (f"Error: {d}/n7.npy has 7 rows; mnrl negatives expects a multiple of the 4 anchors "
                          "(k hard negatives per anchor)\n")
    with pytest.raises(InputError, match=r"has 7 rows; mnrl negatives expects a multiple of the 4 anchors"):
        get_loss("mnrl")(np.load(d / "a.npy"), np.load(d / "p.npy"), np.load(d / "n7.npy"))
    pd.DataFrame(np.load(d / "n7.npy"), columns=["x", "y", "z"]).to_csv(d / "n7.csv", index=False)
    out = run("compute", "mnrl", d / "a.npy", d / "p.npy", d / "n7.csv")
    assert out.exit_code == 2
    assert out.stderr == (f"Error: {d}/n7.csv has 7 rows; mnrl negatives expects a multiple of the 4 anchors "
                          "(k hard negatives per anchor)\n")


def test_mnrl_negatives_of_another_width_is_one_line(run, d):
    out = run("compute", "mnrl", d / "a.npy", d / "p.npy", d / "n8d4.npy")
    assert out.exit_code == 2 and out.stdout == ""
    assert out.stderr == f"Error: {d}/n8d4.npy (mnrl negatives): has 4 columns but {d}/a.npy has 3\n"


def test_mnrl_negatives_are_not_dropped_by_nan_policy_omit(run, d):
    expect = ("expected a finite number (--nan-policy omit cannot drop rows of mnrl while negatives holds several "
              "rows per sample)")
    out = run("compute", "mnrl", d / "a.npy", d / "p.npy", d / "nnan.npy", "--nan-policy", "omit")
    assert out.exit_code == 2
    assert out.stderr == f"Error: {d}/nnan.npy, index [5, 1]: found NaN (an empty or missing value), {expect}\n"
    out = run("compute", "mnrl", d / "anan.npy", d / "p.npy", d / "n8.npy", "--nan-policy", "omit")
    assert out.exit_code == 2
    assert out.stderr == f"Error: {d}/anan.npy, index [2, 0]: found NaN (an empty or missing value), {expect}\n"
    # without negatives, omit drops the row as before
    out = run("compute", "mnrl", d / "anan.npy", d / "p.npy", "--nan-policy", "omit", "--format", "json")
    assert out.exit_code == 0, out.stderr
    assert json.loads(out.stdout)["results"][0]["omitted"] == 1


def test_mnrl_hard_negatives_in_the_shape_language():
    loss = get_loss("mnrl")
    neg = next(r for r in loss.inputs if r.name == "negatives")
    assert neg.shape == "kN,D" and neg.shape_text() == "(k·N, D)"
    # the sampler draws k·N rows (k = 2), so gradcheck and the registry tests exercise them
    inputs = random_inputs(loss, samples=5, optional=True)
    assert inputs["negatives"].shape == (10, 3)


# -- info, aliases, gradcheck ----------------------------------------------------------------------------
CONVENTION = {
    "triplet": "optax.losses.triplet_margin_loss differs",
    "margin_ranking": "At the kink (-y(x1 - x2) + m = 0 exactly, e.g. x1 = x2 with m = 0) the gradient passes",
    "cosine_embedding": "1e-12 is added to each squared norm (aten's EPSILON, a float32",
    "cosine_distance": "ε floors each SQUARED norm",
    "cosine_similarity": "Sign: as Keras's loss, -cos in [-1, 1]",
    "infonce": "symmetric = true averages it with keys against queries, as CLIP's loss",
    "mnrl": "row j·N + i the j-th negative of anchor i",
    "nt_xent": "the 2N - 2 remaining views of the batch, of both sides, as negatives",
    "arcface": "takes the margin in degrees",
    "contrastive": "None of them is this loss exactly.",
    "ge2e": "No installed library has GE2E",
}
MATCHES = {
    "triplet": ["PyTorch torch.nn.TripletMarginLoss"], "margin_ranking": ["PyTorch torch.nn.MarginRankingLoss"],
    "cosine_embedding": ["PyTorch torch.nn.CosineEmbeddingLoss"],
    "cosine_distance": ["optax optax.losses.cosine_distance"],
    "cosine_similarity": ["Keras keras.losses.CosineSimilarity"],
    "infonce": ["pytorch-metric-learning NTXentLoss"],
    "mnrl": ["sentence-transformers MultipleNegativesRankingLoss",
             "sentence-transformers MultipleNegativesSymmetricRankingLoss", "pytorch-metric-learning NTXentLoss"],
    "nt_xent": ["optax optax.losses.ntxent", "pytorch-metric-learning NTXentLoss"],
    "arcface": ["pytorch-metric-learning ArcFaceLoss"], "contrastive": [], "ge2e": [],
}


@pytest.mark.parametrize("loss", sorted(CONVENTION))
def test_info_states_the_conventions_and_what_it_matches(run, loss):
    out = run("info", loss, "--format", "json")
    assert out.exit_code == 0, out.stderr
    record = json.loads(out.stdout)
    assert any(CONVENTION[loss] in c for c in record["conventions"]), record["conventions"]
    assert [m for m in record["matches"] if any(m.startswith(x) for x in MATCHES[loss])] == record["matches"]
    assert all(any(m.startswith(x) for m in record["matches"]) for x in MATCHES[loss])
    table = run("info", loss)
    assert table.exit_code == 0 and CONVENTION[loss][:30] in " ".join(table.stdout.split())


@pytest.mark.parametrize("alias, name", [("ntxent", "nt_xent"), ("NT-Xent", "nt_xent"), ("ntxent_loss", "nt_xent"),
                                         ("info_nce", "infonce"), ("triplet_margin_loss", "triplet"),
                                         ("cosine_embedding_loss", "cosine_embedding"),
                                         ("multiple_negatives_ranking_loss", "mnrl")])
def test_aliases(alias, name):
    assert get_loss(alias).name == name


def test_nt_xent_is_no_longer_an_alias_of_infonce():
    assert "nt_xent" not in get_loss("infonce").aliases and "ntxent" not in get_loss("infonce").aliases
    q = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    k = np.array([[1.0, 0.2], [0.1, 1.0], [-1.0, 1.0]])
    assert not np.allclose(get_loss("nt_xent")(q, k), get_loss("infonce")(q, k))


@pytest.mark.parametrize("loss", NAMES + ("contrastive", "ge2e"))
def test_gradcheck_passes_at_random_inputs(run, loss):
    out = run("gradcheck", loss, "--format", "json")
    assert out.exit_code == 0, out.stdout + out.stderr
    assert json.loads(out.stdout)["results"][0]["passed"]


@pytest.mark.parametrize("loss, params", [("triplet", ["-p", "p=1.5", "-p", "swap=true"]), ("triplet", ["-p", "p=3"]),
                                          ("infonce", ["-p", "symmetric=true"]), ("mnrl", ["-p", "symmetric=true"]),
                                          ("cosine_embedding", ["-p", "margin=-0.5"])])
def test_gradcheck_passes_with_parameters(run, loss, params):
    out = run("gradcheck", loss, *params, "--format", "json")
    assert out.exit_code == 0, out.stdout + out.stderr


#: extremes where finite differences can see the function (not norms of 1e-8 or exact zeros: the
#: steps are larger than the scale the function changes on there; the references check those)
EXTREME_CASES = (_ids("triplet", "a = p: d(a, n)") + _ids("triplet", "p = 3, a zero difference")
                 + _ids("margin_ranking", "exactly") + _ids("infonce", "0.005") + _ids("nt_xent", "0.005")
                 + _ids("mnrl", "scale 200") + _ids("arcface", "fallback"))


@pytest.mark.parametrize("cid", EXTREME_CASES)
def test_gradcheck_passes_at_the_extreme_reference_inputs(run, tmp_path, cid):
    case = CASES[cid]
    out = run("gradcheck", case["loss"], *save_inputs(tmp_path, ARRAYS, case), *param_options(case["params"]),
              "--format", "json")
    assert out.exit_code == 0, out.stdout + out.stderr


def test_gradcheck_at_huge_norms_and_identical_vectors(run, tmp_path):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(5, 3))
    big = np.vstack([1e60 * x[:2], x[2:]])
    np.save(tmp_path / "x1.npy", big)
    np.save(tmp_path / "x2.npy", np.vstack([1e60 * x[:1], 1e60 * x[2:3], x[2:3], rng.normal(size=(2, 3))]))
    np.save(tmp_path / "y.npy", np.array([1.0, -1.0, 1.0, -1.0, 1.0]))
    for loss, files in (("cosine_embedding", ["x1.npy", "x2.npy", "y.npy"]), ("cosine_distance", ["x1.npy", "x2.npy"]),
                        ("cosine_similarity", ["x1.npy", "x2.npy"]), ("nt_xent", ["x1.npy", "x2.npy"]),
                        ("infonce", ["x1.npy", "x2.npy"])):
        out = run("gradcheck", loss, *[tmp_path / f for f in files], "--format", "json")
        assert out.exit_code == 0, (loss, out.stdout + out.stderr)


# -- the boundaries, by hand --------------------------------------------------------------------------------
TORCH_EPS = float(np.float32(1e-12))  # aten's EPSILON in CosineEmbeddingLoss


def test_cosine_embedding_at_a_zero_vector_has_the_torch_gradient_not_1e12():
    x2 = np.array([[3.0, 4.0], [3.0, 4.0]])
    x1 = np.zeros((2, 2))
    y = np.array([1.0, -1.0])
    loss = get_loss("cosine_embedding")
    np.testing.assert_array_equal(loss(x1, x2, y, margin=-0.5), [1.0, 0.5])
    g = loss.grad(x1, x2, y, margin=-0.5)
    dcos = x2[0] / (math.sqrt(TORCH_EPS) * math.sqrt(25.0 + TORCH_EPS))  # ≈ 1e6 x̂2 (PyTorch: -600000.0012, ...)
    np.testing.assert_allclose(g["x1"], [-dcos, dcos], rtol=1e-15)
    assert np.abs(g["x1"]).max() < 1e6  # not x̂2/1e-12
    np.testing.assert_array_equal(g["x2"], np.zeros((2, 2)))
    # both zero: cos = 0, gradient 0
    g = loss.grad(np.zeros((1, 2)), np.zeros((1, 2)), np.array([1.0]))
    assert np.all(g["x1"] == 0) and np.all(g["x2"] == 0)


def test_cosine_embedding_beyond_torch_overflow():
    """PyTorch multiplies the squared norms: at 1e100 the product overflows and its cos is 0 (loss 1);
    the cosine of parallel vectors is 1 however long they are."""
    u = np.array([[1e100, 2e100], [1e200, -1e200]])
    loss = get_loss("cosine_embedding")
    np.testing.assert_allclose(loss(u, 3 * u, np.array([1.0, 1.0])), [0.0, 0.0], atol=1e-15)
    np.testing.assert_allclose(loss(u, -u, np.array([-1.0, -1.0])), [0.0, 0.0], atol=1e-15)


def test_cosine_embedding_kink_passes_the_gradient():
    # y = -1 at cos = m exactly (orthogonal vectors, m = 0): clamp_min's subgradient is 1
    g = get_loss("cosine_embedding").grad(np.array([[1.0, 0.0]]), np.array([[0.0, 2.0]]), np.array([-1.0]))
    np.testing.assert_allclose(g["x1"], [[0.0, 1.0]], rtol=1e-11)


def test_cosine_similarity_sign_and_the_keras_floor():
    loss = get_loss("cosine_similarity")
    x = np.array([[1.0, 2.0], [1.0, 2.0], [1.0, 0.0]])
    y = np.array([[2.0, 4.0], [-1.0, -2.0], [0.0, 3.0]])
    np.testing.assert_allclose(loss(x, y), [-1.0, 1.0, 0.0], atol=1e-15)  # -cos: -1 when aligned
    assert not loss.nonnegative
    np.testing.assert_allclose(get_loss("cosine_distance")(x, y), [0.0, 2.0, 1.0], atol=1e-15)  # 1 - cos
    # below the floor Keras normalises x·(1/ε): a zero vector has cos 0, its gradient is the limit -ŷ/ε
    # (Keras on JAX: NaN at exactly zero, -ŷ/ε at 1e-9·u, which losscli matches at both)
    yhat = np.array([[0.6, 0.8]])
    for scale in (0.0, 1e-9):
        xs = scale * np.array([[1.0, -1.0]])
        g = loss.grad(xs, 5 * yhat)
        np.testing.assert_allclose(g["predictions"], -yhat / 1e-7, rtol=1e-12)
        assert loss(xs, 5 * yhat)[0] == pytest.approx(-scale * (1.0 * 0.6 - 0.8) / 1e-7, rel=1e-14, abs=1e-300)


def test_cosine_distance_floors_the_squared_norm():
    loss = get_loss("cosine_distance")
    yhat = np.array([[0.6, 0.8]])
    g = loss.grad(np.zeros((1, 2)), 2 * yhat)
    np.testing.assert_allclose(g["predictions"], -yhat / 1e-6, rtol=1e-12)  # sqrt(1e-12)
    assert loss(np.zeros((1, 2)), yhat)[0] == 1.0
    # epsilon = 0.25: norms below 0.5 count as 0.5
    assert loss(np.array([[0.1, 0.0]]), np.array([[1.0, 0.0]]), epsilon=0.25)[0] == pytest.approx(1 - 0.1 / 0.5)


def _nt_xent_loop(v1, v2, tau):
    """SimCLR's eq. 1, one view at a time, plain numpy."""
    z = np.concatenate([v1, v2])
    z = z / np.maximum(np.linalg.norm(z, axis=1, keepdims=True), 1e-12)
    n = len(v1)
    terms = []
    for k in range(2 * n):
        pos = (k + n) % (2 * n)
        others = [m for m in range(2 * n) if m != k]
        s = np.array([z[k] @ z[m] / tau for m in others])
        top = s.max()
        terms.append(top + math.log(sum(math.exp(v - top) for v in s)) - z[k] @ z[pos] / tau)
    return np.array([(terms[i] + terms[i + n]) / 2 for i in range(n)])


def test_nt_xent_is_simclr():
    rng = np.random.default_rng(11)
    v1, v2 = rng.normal(size=(5, 4)), rng.normal(size=(5, 4))
    for tau in (0.07, 0.5, 1.0):
        np.testing.assert_allclose(get_loss("nt_xent")(v1, v2, temperature=tau), _nt_xent_loop(v1, v2, tau),
                                   rtol=1e-12)
    # one pair: each view's only other view is its positive
    assert get_loss("nt_xent")(v1[:1], v2[:1]).tolist() == [0.0]
    # a hopeless positive at a small temperature: the exact value, where pytorch-metric-learning's
    # log(num/den + tiny) saturates at 708.4
    e = np.array([[1.0, 0.0], [0.0, 1.0]])
    got = get_loss("nt_xent")(e, -e, temperature=0.001)
    np.testing.assert_allclose(got, _nt_xent_loop(e, -e, 0.001), rtol=1e-12)
    assert got[0] > 1000


def test_symmetric_in_batch_losses_average_both_directions():
    rng = np.random.default_rng(5)
    q, k, neg = rng.normal(size=(6, 3)), rng.normal(size=(6, 3)), rng.normal(size=(12, 3))
    info = get_loss("infonce")
    np.testing.assert_allclose(info(q, k, symmetric=True), 0.5 * (info(q, k) + info(k, q)), rtol=1e-13)
    # mnrl: the backward direction is the positives against the anchors only, without the negatives
    mnrl = get_loss("mnrl")
    np.testing.assert_allclose(mnrl(q, k, neg, symmetric=True, scale=5.0),
                               0.5 * (mnrl(q, k, neg, scale=5.0) + info(k, q, temperature=0.2)), rtol=1e-13)
    assert not np.allclose(info(q, k, symmetric=True), get_loss("nt_xent")(q, k))


def test_triplet_swap_tie_and_p1_subgradients_are_torch():
    loss = get_loss("triplet")
    a, n = np.array([[1.0, 2.0]]), np.array([[3.0, -2.0]])
    # a = p: d(a, n) = d(p, n) exactly, the gradient goes half through each (torch.minimum)
    g = loss.grad(a, a.copy(), n, margin=10.0, swap=True)
    u = np.full(2, 1e-6) / np.linalg.norm(np.full(2, 1e-6))
    v = (a - n + 1e-6)[0] / np.linalg.norm(a - n + 1e-6)
    np.testing.assert_allclose(g["anchor"][0], u - 0.5 * v, rtol=1e-12)
    np.testing.assert_allclose(g["positive"][0], -u - 0.5 * v, rtol=1e-12)
    np.testing.assert_allclose(g["negative"][0], v, rtol=1e-12)
    # p = 1 with eps = 0: sign(0) = 0 where a difference is exactly 0 (PyTorch: [[1, 1]] below)
    g = loss.grad(np.array([[1.0, -1.0]]), np.array([[1.0, -1.0]]), np.array([[10.0, 10.0]]), margin=50.0, p=1.0,
                  eps=0.0)
    np.testing.assert_array_equal(g["anchor"], [[1.0, 1.0]])
    # the hinge's kink (m + d_ap - d_an = 0): the gradient passes, as clamp_min
    g = loss.grad(np.array([[0.0, 0.0]]), np.array([[1.0, 0.0]]), np.array([[2.0, 0.0]]), margin=1.0, eps=0.0)
    np.testing.assert_array_equal(g["anchor"], [[0.0, 0.0]])
    np.testing.assert_array_equal(g["positive"], [[1.0, 0.0]])
    assert loss(np.array([[0.0, 0.0]]), np.array([[1.0, 0.0]]), np.array([[2.0, 0.0]]), margin=1.0, eps=0.0)[0] == 0


def test_margin_ranking_kink_passes_the_gradient():
    g = get_loss("margin_ranking").grad(np.array([1.0]), np.array([1.0]), np.array([1.0]))
    assert g["x1"].tolist() == [-1.0] and g["x2"].tolist() == [1.0]


# -- bad input ---------------------------------------------------------------------------------------------
BAD = [
    (("nt_xent", "a.npy", "v4.npy"), "{d}/v4.npy (nt_xent view2): has 4 columns but {d}/a.npy has 3"),
    (("cosine_embedding", "a.npy", "p.npy", "y0.npy"),
     "{d}/y0.npy, row 1: found 0 (cosine_embedding labels expects labels in {{-1, +1}})"),
    (("triplet", "a.npy", "p.npy", "p.npy", "-p", "p=0.5"), "parameter triplet.p: must be >=1, got 0.5"),
    (("triplet", "a.npy", "p.npy", "p.npy", "-p", "swap=maybe"),
     "parameter triplet.swap: expected true or false, got 'maybe'"),
    (("cosine_distance", "a.npy", "p.npy", "-p", "epsilon=0"),
     "parameter cosine_distance.epsilon: must be >0, got 0.0"),
    (("cosine_similarity", "a.npy", "v4.npy"),
     "{d}/v4.npy (cosine_similarity targets): has 4 columns but {d}/a.npy has 3"),
    (("infonce", "a.npy", "p.npy", "-p", "temperature=0"), "parameter infonce.temperature: must be >=5.56268464626801e-309, got 0.0"),
    (("nt_xent", "a.npy"), "nt_xent takes 2 inputs (view1, view2), got 1"),
]


@pytest.mark.parametrize("args, message", BAD, ids=[f"{a[0]}-{i}" for i, (a, _) in enumerate(BAD)])
def test_bad_input_is_one_line_exit_2(run, d, args, message):
    loss, *rest = args
    out = run("compute", loss, *[f"{d}/{a}" if a.endswith(".npy") else a for a in rest])
    assert out.exit_code == 2 and out.stdout == ""
    assert out.stderr == f"Error: {message.format(d=d)}\n"


def test_the_multiple_in_the_shape_language_agrees_across_roles():
    """``kN``: a whole multiple of N, the multiplier k shared by the roles that name it."""
    from losscli.arrays import Array
    from losscli.loss import Input
    from losscli.shapes import check_shapes, multiple_rows, whole_inputs

    roles = (Input("a", "N,D"), Input("n1", "kN,D"), Input("n2", "kN,D"))
    arrays = {"a": Array(np.zeros((3, 2)), "a.npy"), "n1": Array(np.zeros((6, 2)), "n1.npy"),
              "n2": Array(np.zeros((9, 2)), "n2.npy")}
    with pytest.raises(InputError) as err:
        check_shapes("demo", roles, arrays)
    assert str(err.value) == "n2.npy (demo n2): has 9 rows, 3 per N, but n1.npy has 2 per N"
    arrays["n2"] = Array(np.zeros((6, 2)), "n2.npy")
    assert {k: v.shape for k, v in check_shapes("demo", roles, arrays).items()} == {
        "a": (3, 2), "n1": (6, 2), "n2": (6, 2)}
    assert multiple_rows("kN,D") and not multiple_rows("N,D") and not multiple_rows("N|kN")
    assert whole_inputs([get_loss("mnrl")], 3) == {2} and whole_inputs([get_loss("mnrl")], 2) == frozenset()


def test_only_a_batch_coupled_loss_may_declare_several_rows_per_sample():
    from losscli import register_loss
    from losscli.errors import RegistrationError
    from losscli.loss import Input

    with pytest.raises(RegistrationError, match=r"role extra: a shape of several rows per sample \('kN,D'\) "
                                                r"needs coupling='batch'"):
        @register_loss("rowwise_with_extra_rows", inputs=(Input("x", "N,D"), Input("extra", "kN,D")), coupling="row")
        def _(x, extra):
            return x.sum(axis=1)


# -- digits of every per-sample loss, tiny ones included, on both sides of the shifted log-sum-exp -----
# infonce, mnrl and ge2e shift their logits by the bound |scale| (a cosine is at most 1) up to a
# scale of 100 and by each row's maximum beyond; a loss far below log 2 goes through log1p of the
# others. The reference is the formula in 80-digit decimal arithmetic.
def _dec_unit(v):
    from decimal import Decimal
    row = [Decimal(float(a)) for a in v]
    n = sum(a * a for a in row).sqrt()
    return [a / max(n, Decimal("1e-12")) for a in row]


def _dec_nll(logits_row, target):
    """-log softmax(row)[target], each term relative to the target's (no cancellation at 80 digits)."""
    return sum((s - logits_row[target]).exp() for s in logits_row).ln()


def _dec_in_batch(anchors, candidates, scale, symmetric):
    from decimal import Decimal, localcontext
    with localcontext() as ctx:
        ctx.prec = 80
        ua, uc = [_dec_unit(v) for v in anchors], [_dec_unit(v) for v in candidates]
        s = [[Decimal(scale) * sum(x * y for x, y in zip(a, c)) for c in uc] for a in ua]
        n = len(ua)
        out = [_dec_nll(s[i], i) for i in range(n)]
        if symmetric:
            out = [(f + _dec_nll([s[j][i] for j in range(n)], i)) / 2 for i, f in enumerate(out)]
        return np.array([float(v) for v in out])


def _dec_ge2e(emb, labels, w):
    from decimal import Decimal, localcontext
    with localcontext() as ctx:
        ctx.prec = 80
        speakers = sorted(set(labels.tolist()))
        rows = [[Decimal(float(a)) for a in e] for e in emb]
        members = {k: [i for i, lab in enumerate(labels) if lab == k] for k in speakers}
        out = []
        for i, e in enumerate(rows):
            scores = []
            for k in speakers:
                others = [j for j in members[k] if j != i]
                c = [sum(rows[j][d] for j in others) / len(others) for d in range(len(e))]
                ue, uc = _dec_unit([float(a) for a in e]), _dec_unit([float(a) for a in c])  # (as floats, as given)
                scores.append(Decimal(w) * sum(x * y for x, y in zip(ue, uc)))
            out.append(_dec_nll(scores, speakers.index(labels[i])))
        return np.array([float(v) for v in out])


def _per_sample(run, loss, files, *params):
    out = run("compute", loss, *files, *[a for p in params for a in ("-p", p)], "--reduction", "none",
              "--per-sample", "--format", "json")
    assert out.exit_code == 0, out.stderr
    return np.array(json.loads(out.stdout)["results"][0]["per_sample"])


def _near_dominant(d):
    """A query, its key, and a key at cosine 0.93 to it: at scale 99 the loss is ~1e-3, above the
    tiny losses and below log 2 (where the log1p form takes over)."""
    e1, e2 = np.eye(d)[0], np.eye(d)[1]
    return np.vstack([e1, -e2]), np.vstack([e1, 0.93 * e1 + np.sqrt(1 - 0.93 ** 2) * e2])


@pytest.mark.parametrize("scale", [14.285714285714286, 99.0, 101.0])  # 1/0.07; each side of the bound 100
@pytest.mark.parametrize("symmetric", [False, True])
def test_in_batch_losses_agree_with_an_80_digit_reference_at_tiny_and_ordinary_losses(run, tmp_path, scale,
                                                                                       symmetric):
    rng = np.random.default_rng(17)
    q = rng.normal(size=(9, 5))
    k = np.vstack([q[:5] + 10.0 ** rng.uniform(-4, -1, (5, 1)) * rng.normal(size=(5, 5)),  # near: tiny losses
                   rng.normal(size=(4, 5))])
    q2, k2 = _near_dominant(5)
    q, k = np.vstack([q, q2]), np.vstack([k, k2])
    np.save(tmp_path / "q.npy", q)
    np.save(tmp_path / "k.npy", k)
    expected = _dec_in_batch(q, k, scale, symmetric)
    assert expected.min() < 1e-2 and expected.max() > 1.0  # both regimes are there (log1p below log 2)
    sym = f"symmetric={str(symmetric).lower()}"
    for got in (_per_sample(run, "infonce", [tmp_path / "q.npy", tmp_path / "k.npy"], f"temperature={1 / scale!r}", sym),
                _per_sample(run, "mnrl", [tmp_path / "q.npy", tmp_path / "k.npy"], f"scale={scale!r}", sym)):
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=0)


@pytest.mark.parametrize("scale", [20.0, 101.0])
@pytest.mark.parametrize("n", [1, 3])
def test_mnrl_symmetric_with_hard_negatives_against_the_reference(run, tmp_path, scale, n):
    """Both directions with k = 2 hard negatives per anchor, down to a batch of one (whose backward
    term is 0: one anchor), on both sides of the shift bound."""
    rng = np.random.default_rng(n)
    a, p, neg = rng.normal(size=(n, 4)), rng.normal(size=(n, 4)), rng.normal(size=(2 * n, 4))
    for name, x in (("a", a), ("p", p), ("n", neg)):
        np.save(tmp_path / f"{name}.npy", x)
    got = _per_sample(run, "mnrl", [tmp_path / "a.npy", tmp_path / "p.npy", tmp_path / "n.npy"], f"scale={scale!r}",
                      "symmetric=true")
    np.testing.assert_allclose(got, _dec_in_batch(a, np.vstack([p, neg]), scale, True), rtol=1e-12, atol=0)
    out = run("gradcheck", "mnrl", tmp_path / "a.npy", tmp_path / "p.npy", tmp_path / "n.npy", "-p", f"scale={scale!r}",
              "-p", "symmetric=true", "--format", "json")
    assert out.exit_code == 0, out.stdout


@pytest.mark.parametrize("w", [10.0, 150.0])
def test_ge2e_softmax_does_not_depend_on_b_and_its_gradient_neither(run, tmp_path, w):
    """b shifts every score alike: it cancels in the softmax form, in the value and in the gradient,
    whatever its size (a b of 1e15 would swallow w·cos's digits)."""
    rng = np.random.default_rng(2)
    labels = np.repeat(np.arange(3), 2).astype(np.float64)
    np.save(tmp_path / "e.npy", rng.normal(size=(6, 4)))
    np.save(tmp_path / "y.npy", labels)
    files = [tmp_path / "e.npy", tmp_path / "y.npy"]
    values = [_per_sample(run, "ge2e", files, f"w={w!r}", f"b={b!r}") for b in (0.0, -5.0, 1e15)]
    assert np.array_equal(values[0], values[1]) and np.array_equal(values[0], values[2])
    out = run("gradcheck", "ge2e", *files, "-p", f"w={w!r}", "-p", "b=1e15", "--format", "json")
    assert out.exit_code == 0, out.stdout


@pytest.mark.parametrize("w", [10.0, 99.0, 101.0])
def test_ge2e_keeps_every_digit_and_follows_its_labels(run, tmp_path, w):
    rng = np.random.default_rng(5)
    labels = np.repeat(np.arange(3), 3).astype(np.float64)
    rng.shuffle(labels)
    centres = 5.0 * rng.normal(size=(3, 4))
    emb = centres[labels.astype(int)] + 10.0 ** rng.uniform(-3, 0, (9, 1)) * rng.normal(size=(9, 4))
    np.save(tmp_path / "e.npy", emb)
    np.save(tmp_path / "y.npy", labels)
    expected = _dec_ge2e(emb, labels, w)
    got = _per_sample(run, "ge2e", [tmp_path / "e.npy", tmp_path / "y.npy"], f"w={w!r}", "b=-3.0")
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=0)
    # the same embeddings in the same process with other labels (of the same shape, and the first
    # array changed in place): the speakers are those of the labels given
    other = np.roll(labels, 1)
    for given in (other, labels):
        fresh = _dec_ge2e(emb, given, w)
        np.testing.assert_allclose(get_loss("ge2e")(emb, given, w=w), fresh, rtol=1e-12, atol=0)
    labels[[0, 1]] = labels[[1, 0]]
    np.testing.assert_allclose(get_loss("ge2e")(emb, labels, w=w), _dec_ge2e(emb, labels, w),
                               rtol=1e-12, atol=0)
