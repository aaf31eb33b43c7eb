"""cosface, sphereface, subcenter_arcface (losscli/losses/angular.py) and circle, supcon, cosent
(losscli/losses/contrastive.py) through the CLI: values from files against the committed
reference vectors (pytorch-metric-learning 2.9.0, torch loops; tests/reference/
generate_angular_reference.py), conventions, gradcheck at random and extreme inputs, bad input,
and the documented behaviour where the libraries differ from losscli."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from losscli import get_loss

from .conftest import central_difference

REF = np.load(Path(__file__).parent / "data" / "angular_reference.npz")
CASES = {c["id"]: c for c in json.loads((Path(__file__).parent / "data" / "angular_reference.json").read_text())["cases"]}


def _ref(cid, key):
    return REF[f"{cid}/{key}"]


def _close(actual, expected, rtol=1e-12):
    actual, expected = np.asarray(actual, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape
    scale = max(float(np.max(np.abs(expected), initial=0.0)), 1e-300)
    assert float(np.max(np.abs(actual - expected), initial=0.0)) / scale <= rtol, (actual, expected)


def _save(d: Path, name: str, array: np.ndarray, fmt: str) -> Path:
    """An input file: .npy, or a CSV written by pandas (one column per trailing entry)."""
    if fmt == "npy" or array.ndim > 2:
        path = d / f"{name}.npy"
        np.save(path, array)
        return path
    path = d / f"{name}.csv"
    frame = pd.DataFrame(array.reshape(array.shape[0], -1))
    frame.columns = [f"{name}{j}" for j in range(frame.shape[1])]
    frame.to_csv(path, index=False)
    return path


def _compute(run, name, paths, *extra):
    result = run("compute", name, *paths, "--format", "json", "--per-sample", *extra)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)["results"][0]


# -- values from files equal the references -----------------------------------------------------------
FILE_CASES = [("cosface-pml-defaults", "csv"), ("cosface-pml-cos-pm1", "npy"),
              ("cosface-pml-huge-scale", "csv"), ("sphereface-pml-defaults", "npy"),
              ("sphereface-pml-boundaries", "csv"), ("sphereface-pml-target-cos-minus1", "npy"),
              ("subcenter-pml-defaults", "npy"), ("subcenter-pml-target-pm1", "npy"),
              ("circle-pml-singletons", "csv"), ("circle-pml-pm1-zero", "npy"), ("circle-pml-huge-gamma", "csv"),
              ("supcon-pml-defaults", "csv"), ("supcon-pml-no-positives", "npy"),
              ("cosent-defaults", "csv"), ("cosent-huge-scale", "npy"), ("cosent-pm1-zero", "csv")]


@pytest.mark.parametrize("cid, fmt", FILE_CASES, ids=[c for c, _ in FILE_CASES])
def test_values_from_files_equal_the_reference(run, tmp_path, cid, fmt):
    case = CASES[cid]
    paths = [_save(tmp_path, role, _ref(cid, f"input/{role}"), fmt) for role in case["inputs"]]
    params = [a for k, v in case["params"].items() for a in ("-p", f"{k}={v}")]
    out = _compute(run, case["loss"], paths, *params)
    _close(out["per_sample"], _ref(cid, "per_sample"))
    if case["mean"]:  # the library's own reduction (pml's MeanReducer / AvgNonZeroReducer, CoSENT's L)
        assert out["value"] == pytest.approx(float(_ref(cid, "mean")), rel=1e-12, abs=1e-300)


# -- declarations ---------------------------------------------------------------------------------------
INFO = {
    "cosface": ("am_softmax", "pytorch-metric-learning losses.CosFaceLoss", "s = 30: give -p scale=30"),
    "sphereface": ("a_softmax", "pytorch-metric-learning losses.SphereFaceLoss",
                   "every logit is multiplied by s·‖x_i‖"),
    "subcenter_arcface": ("sub_center_arcface", "pytorch-metric-learning losses.SubCenterArcFaceLoss",
                          "the default 0.49916 = 28.6° is pml's default"),
    "circle": ("circle_loss", "not its gradient, which detaches α", "reference implementation detach α"),
    "supcon": ("supervised_contrastive", "pytorch-metric-learning losses.SupConLoss",
               "An anchor without positives has loss 0"),
    "cosent": ("cosent_loss", None, "so the mean reduction is L and the sum N·L"),
}


@pytest.mark.parametrize("name", list(INFO))
def test_info_states_the_conventions(run, name):
    alias, match, convention = INFO[name]
    result = run("info", alias, "--format", "json")
    assert result.exit_code == 0, result.stderr
    info = json.loads(result.stdout)
    assert info["name"] == name and alias in info["aliases"]
    assert info["category"] == "embedding"
    if match is None:
        assert info["matches"] == []  # sentence-transformers is not installed: nothing verified against it
    else:
        assert any(match in m for m in info["matches"])
    assert any(convention in c for c in info["conventions"])
    table = run("info", name)
    assert table.exit_code == 0 and "conventions" in table.stdout


# -- gradcheck ------------------------------------------------------------------------------------------
GRADCHECK = [("cosface", ()), ("cosface", ("-p", "margin=0.8", "-p", "scale=8")),
             ("sphereface", ()), ("sphereface", ("-p", "margin=2", "-p", "scale=3")),
             ("sphereface", ("-p", "margin=1")), ("subcenter_arcface", ()),
             ("subcenter_arcface", ("-p", "margin=1.2", "-p", "scale=8")),
             ("circle", ()), ("circle", ("-p", "m=0.25", "-p", "gamma=256")),
             ("supcon", ()), ("supcon", ("-p", "temperature=0.5")), ("cosent", ()), ("cosent", ("-p", "scale=3"))]


@pytest.mark.parametrize("name, params", GRADCHECK, ids=[f"{n}{''.join(p)}" for n, p in GRADCHECK])
def test_gradcheck_random_inputs(run, name, params):
    result = run("gradcheck", name, *params, "--format", "json")
    assert result.exit_code == 0, result.stdout
    assert json.loads(result.stdout)["passed"]


def _extremes(tmp_path, name):
    """Files at the extremes each loss must still differentiate correctly."""
    rng = np.random.default_rng(3)
    if name == "cosface":
        c = np.tanh(rng.standard_normal((6, 4)))
        c[0, 0], c[1, 1], c[2], c[3] = 1.0, -1.0, 1.0, -1.0
        return [("cosine", c), ("labels", np.array([0, 1, 2, 3, 0, 1]))], ("-p", "scale=1000")
    if name == "sphereface":
        y = np.array([0, 1, 2, 3, 0, 1, 2])
        c = np.tanh(rng.standard_normal((7, 4)))
        for i, k in enumerate(range(4)):  # the k boundaries θ = kπ/4 (θ = 0: cos = 1)
            c[i, y[i]] = math.cos(k * math.pi / 4)
        c[4, y[4]], c[5, :] = -1.0, -1.0  # θ = π at the target, then cos = -1 everywhere
        norms = rng.uniform(0.5, 2.0, 7)
        norms[6] = 0.0  # a zero-norm embedding
        return [("cosine", c), ("norms", norms), ("labels", y)], ()
    if name == "subcenter_arcface":
        c = np.tanh(rng.standard_normal((5, 3, 2)))
        c[0, 0, :] = [-0.95, -0.97]  # ArcFace's fallback branch at the target
        c[1, 1, :] = [0.4, 0.4]  # a tie at the target: a kink, the first sub-centre takes the gradient
        c[2, 0, :] = [-1.0, -1.0]
        return [("cosine", c), ("labels", np.array([0, 1, 2, 0, 1]))], ()
    if name in ("circle", "supcon"):
        y = np.array([0, 1, 0, 1, 2, 2, 0])
        e = rng.standard_normal((7, 3))
        e[2] = 2.0 * e[0]  # s = 1 for a positive pair
        e[3] = -0.5 * e[0]  # s = -1 for a negative pair
        params = ("-p", "gamma=1000") if name == "circle" else ("-p", "temperature=0.02")
        return [("embeddings", e), ("labels", y)], params
    x1, x2 = rng.standard_normal((6, 3)), rng.standard_normal((6, 3))
    x2[0] = 3.0 * x1[0]  # cos = 1
    x2[1] = -x1[1]  # cos = -1
    return [("x1", x1), ("x2", x2), ("labels", np.array([0.0, 1.0, 1.0, 0.5, 0.2, 0.9]))], ("-p", "scale=200")


@pytest.mark.parametrize("name", list(INFO))
def test_gradcheck_at_extremes(run, tmp_path, name):
    roles, params = _extremes(tmp_path, name)
    paths = [_save(tmp_path, role, a, "npy") for role, a in roles]
    result = run("gradcheck", name, *paths, *params, "--format", "json")
    assert result.exit_code == 0, result.stdout
    assert json.loads(result.stdout)["passed"]


@pytest.mark.parametrize("name", ["circle", "supcon", "cosent"])
def test_weighted_gradient_of_batch_losses(name):
    """The cotangent enters every role's gradient: the gradient of Σ c_i l_i, by central differences."""
    from losscli.sampling import random_inputs

    loss = get_loss(name)
    inputs = random_inputs(loss, samples=7, seed=5)
    n = next(iter(inputs.values())).shape[0]
    c = np.random.default_rng(6).uniform(0.2, 3.0, n)
    args = [inputs[r.name] for r in loss.inputs]
    grads = loss.grad(*args, cotangent=c)
    for role in loss.differentiable:
        def f(x, role=role):
            return float(np.sum(c * loss.fn(*[x if r.name == role else inputs[r.name] for r in loss.inputs])))

        np.testing.assert_allclose(grads[role], central_difference(f, inputs[role].copy()), rtol=1e-6, atol=1e-7)


# -- bad input --------------------------------------------------------------------------------------------
def _bad(d):
    rng = np.random.default_rng(0)
    np.save(d / "c.npy", np.tanh(rng.standard_normal((4, 3))))
    np.save(d / "c3.npy", np.tanh(rng.standard_normal((4, 3, 2))))
    np.save(d / "y.npy", np.array([0, 2, 1, 1]))
    np.save(d / "norms.npy", np.array([1.0, -0.5, 2.0, 1.0]))
    np.save(d / "e.npy", rng.standard_normal((4, 3)))
    np.save(d / "e2.npy", rng.standard_normal((4, 2)))
    pd.DataFrame({"y": [0, 3, 1, 1]}).to_csv(d / "ybad.csv", index=False)
    pd.DataFrame({"y": [0, 1, 0, 1.5]}).to_csv(d / "ids.csv", index=False)
    pd.DataFrame({"y": [0, 1, 0, 1]}).to_csv(d / "ids_ok.csv", index=False)


BAD = {
    "cosface label out of range": (["compute", "cosface", "c.npy", "ybad.csv"],
                                   "{d}/ybad.csv, line 3, column 'y': found 3 (cosface labels expects an integer "
                                   "class index in 0..2)"),
    "cosface scale 0": (["compute", "cosface", "c.npy", "y.npy", "-p", "scale=0"],
                        "parameter cosface.scale: must be >0, got 0.0"),
    "sphereface negative norm": (["compute", "sphereface", "c.npy", "norms.npy", "y.npy"],
                                 "{d}/norms.npy, row 1: found -0.5 (sphereface norms expects values >= 0)"),
    "sphereface fractional margin": (["compute", "sphereface", "c.npy", "y.npy", "y.npy", "-p", "margin=2.5"],
                                     "parameter sphereface.margin: expected an integer, got '2.5'"),
    "sphereface margin 0": (["compute", "sphereface", "c.npy", "y.npy", "y.npy", "-p", "margin=0"],
                            "parameter sphereface.margin: must be >=1, got 0"),
    "subcenter 2-d cosines": (["compute", "subcenter_arcface", "c.npy", "y.npy"],
                              "{d}/c.npy (subcenter_arcface cosine): expected shape (N, C, K), got (4, 3)"),
    "subcenter label beyond C": (["compute", "subcenter_arcface", "c3.npy", "ybad.csv"],
                                 "subcenter_arcface labels, row 1: found 3; the cosines have shape (N, C, K) = "
                                 "(4, 3, 2), so labels must be class indices in 0..2"),
    "subcenter margin in degrees": (["compute", "subcenter_arcface", "c3.npy", "y.npy", "-p", "margin=28.6"],
                                    "parameter subcenter_arcface.margin: must be [0,1.5], got 28.6"),
    "supcon fractional ids": (["compute", "supcon", "e.npy", "ids.csv"],
                              "{d}/ids.csv, line 5, column 'y': found 1.5 (supcon labels expects integer ids)"),
    "supcon temperature 0": (["compute", "supcon", "e.npy", "ids_ok.csv", "-p", "temperature=0"],
                             "parameter supcon.temperature: must be >0, got 0.0"),
    "circle gamma negative": (["compute", "circle", "e.npy", "ids_ok.csv", "-p", "gamma=-1"],
                              "parameter circle.gamma: must be >0, got -1.0"),
    "cosent embedding widths differ": (["compute", "cosent", "e.npy", "e2.npy", "ids_ok.csv"],
                                       "{d}/e2.npy (cosent x2): has 2 columns but {d}/e.npy has 3"),
    "cosent missing labels": (["compute", "cosent", "e.npy", "e.npy"],
                              "cosent takes 3 inputs (x1, x2, labels), got 2"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_is_one_line(run, tmp_path, case):
    _bad(tmp_path)
    args, expected = BAD[case]
    args = [str(tmp_path / a) if a.endswith((".npy", ".csv")) else a for a in args]
    result = run(*args)
    assert (result.exit_code, result.stdout) == (2, ""), (result.exit_code, result.stdout, result.stderr)
    assert result.stderr.endswith("\n") and len(result.stderr.splitlines()) == 1, result.stderr
    assert result.stderr.rstrip("\n") == "Error: " + expected.format(d=tmp_path)


# -- documented behaviour where the libraries differ --------------------------------------------------------
def test_cosface_special_cases():
    rng = np.random.default_rng(1)
    c, y = np.tanh(rng.standard_normal((6, 5))), rng.integers(0, 5, 6)
    _close(get_loss("cosface")(c, y, margin=0.0, scale=8.0), get_loss("softmax_ce")(8.0 * c, y))
    assert get_loss("am_softmax") is get_loss("cosface")
    # adding a constant to a row of cosines changes no logit difference: gradient rows sum to 0
    g = get_loss("cosface").grad(c, y)["cosine"]
    assert np.max(np.abs(g.sum(axis=1))) <= 1e-12 * np.max(np.abs(g))
    fn = get_loss("cosface").fn
    _close(fn(c + np.linspace(-3, 3, 6)[:, None], y), fn(c, y), rtol=1e-13)
    # the margin only lowers the target logit: the loss grows with m
    assert np.all(get_loss("cosface")(c, y, margin=0.5) > get_loss("cosface")(c, y, margin=0.1))


def test_sphereface_psi_at_the_boundaries():
    """ψ is continuous and C¹ across θ = kπ/m, equals 1 - 2m at θ = π with derivative +m² (pml's
    k = m there flips the sign: its gradient at a target cos of -1 is the negative of this)."""
    from losscli.losses.angular import _sphereface_psi

    for m in (1, 2, 3, 4, 5):
        for k in range(1, m):
            c = math.cos(k * math.pi / m)
            psi, dpsi = _sphereface_psi(np.array([c - 1e-9, c, c + 1e-9]), m)
            assert abs(psi[0] - psi[2]) < 1e-7 and abs(dpsi[0] - dpsi[2]) < 1e-6
        psi, dpsi = _sphereface_psi(np.array([-1.0, 1.0]), m)
        assert psi[0] == 1 - 2 * m and psi[1] == 1.0
        assert dpsi[0] == pytest.approx(m * m, rel=1e-14) and dpsi[1] == pytest.approx(m * m, rel=1e-14)
        theta = np.linspace(0.0, math.pi, 2001)  # ψ decreases monotonically in θ
        assert np.all(np.diff(_sphereface_psi(np.cos(theta), m)[0]) < 0)
    loss = get_loss("sphereface")
    cos, norms, y = np.array([[-1.0, 0.2, 0.1]]), np.array([1.5]), np.array([0])
    p = np.exp(1.5 * np.array([-7.0, 0.2, 0.1]))
    p /= p.sum()
    assert loss(cos, norms, y)[0] == pytest.approx(-math.log(p[0]), rel=1e-14)
    assert loss.grad(cos, norms, y)["cosine"][0, 0] == pytest.approx(1.5 * (p[0] - 1) * 16, rel=1e-13)


def test_sphereface_zero_norm():
    loss = get_loss("sphereface")
    cos, norms, y = np.array([[0.3, -0.2, 0.9]]), np.array([0.0]), np.array([2])
    assert loss(cos, norms, y)[0] == pytest.approx(math.log(3), rel=1e-15)
    g = loss.grad(cos, norms, y, scale=2.0)
    assert np.all(g["cosine"] == 0.0)
    from losscli.losses.angular import _sphereface_psi

    t = np.array([0.3, -0.2, _sphereface_psi(np.array([0.9]), 4)[0][0]])
    assert g["norms"][0] == pytest.approx(2.0 * np.sum((1 / 3 - np.array([0, 0, 1])) * t), rel=1e-14)


def test_subcenter_arcface_margin_near_one_and_at_pm1():
    """d cos(θ + m)/d cos θ near cos θ = 1 from sqrt((1 - c)(1 + c)): 339.3639879544048 at c = 0.999999
    (40 digits with mpmath); torch's acos backward, from 1 - c·c, gives 339.36398795253285."""
    from losscli.losses.angular import PML_ARC_MARGIN, _arc_margin

    assert _arc_margin(np.array([0.999999]), PML_ARC_MARGIN)[1][0] == pytest.approx(339.3639879544048, rel=2e-15)
    loss = get_loss("subcenter_arcface")
    for c0 in (1.0, -1.0):
        cos, y = np.array([[[c0, min(c0, 0.1)], [0.2, -0.3]]]), np.array([0])  # (at -1: a tie, sub-centre 0)
        g = loss.grad(cos, y)["cosine"]
        assert np.all(np.isfinite(g)) and g[0, 0, 1] == 0.0 and g[0, 1, 1] == 0.0
    # at cos θ_y = -1 (θ = π > π - m) the fallback cos θ - m sin m has derivative 1: g = s (p_y - 1)
    z = 64.0 * np.array([-1.0 - PML_ARC_MARGIN * math.sin(PML_ARC_MARGIN), 0.2])
    p = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
    assert g[0, 0, 0] == pytest.approx(64.0 * (p[0] - 1.0), rel=1e-13)


def test_subcenter_arcface_one_subcentre_is_arcface():
    rng = np.random.default_rng(2)
    c, y = np.tanh(rng.standard_normal((6, 4))), rng.integers(0, 4, 6)
    _close(get_loss("subcenter_arcface")(c[:, :, None], y, margin=0.5), get_loss("arcface")(c, y, margin=0.5))
    # the gradient goes to the nearest sub-centre only (the first one at a tie)
    c3 = np.stack([c, (c - 1.0) / 2.0, c], axis=2)  # sub-centre 1 is never the nearest
    g = get_loss("subcenter_arcface").grad(c3, y)["cosine"]
    assert np.all(g[:, :, 1:] == 0.0) and np.all(g[:, :, 0] != 0.0)


def _circle_argument(e, labels, m, gamma):
    """z_i = lse_n γα_n(s_n - m) + lse_p -γα_p(s_p - 1 + m), one anchor at a time."""
    u = e / np.linalg.norm(e, axis=1, keepdims=True)
    out = []
    for i in range(len(labels)):
        sp = [u[i] @ u[j] for j in range(len(labels)) if j != i and labels[j] == labels[i]]
        sn = [u[i] @ u[j] for j in range(len(labels)) if labels[j] != labels[i]]
        a = [-gamma * max(1 + m - s, 0) * (s - 1 + m) for s in sp]
        b = [gamma * max(s + m, 0) * (s - m) for s in sn]
        out.append(math.log(sum(math.exp(v) for v in a)) + math.log(sum(math.exp(v) for v in b)))
    return np.array(out)


def test_circle_softplus_is_exact_above_20():
    """pml's torch.nn.Softplus returns its argument above 20; losscli adds log1p(e^-z) (< 2.1e-9)."""
    rng = np.random.default_rng(7)
    labels = np.array([0, 1, 0, 1])
    for _ in range(50):  # find anchors with z in (20, 30)
        e = rng.standard_normal((4, 3))
        z = _circle_argument(e, labels, 0.4, 30.0)
        if np.any((z > 20) & (z < 30)):
            break
    got = get_loss("circle")(e, labels, gamma=30.0)
    _close(got, np.logaddexp(0.0, z), rtol=1e-14)
    mid = (z > 20) & (z < 30)
    assert mid.any() and np.all(got[mid] - z[mid] > 0)


def test_mean_over_valid_anchors(run, tmp_path):
    """circle and supcon average over the anchors that have a positive (circle: and a negative), as
    pml's AvgNonZeroReducer; with none the mean is 0, as pml's."""
    rng = np.random.default_rng(8)
    e = rng.standard_normal((8, 3))
    labels = np.array([0, 0, 1, 1, 1, 2, 3, 0])  # anchors 5 and 6 have no positive
    np.save(tmp_path / "e.npy", e)
    np.save(tmp_path / "y.npy", labels)
    for name in ("circle", "supcon"):
        per = get_loss(name)(e, labels)
        assert per[5] == 0.0 and per[6] == 0.0 and np.all(np.delete(per, [5, 6]) > 0)
        out = _compute(run, name, [tmp_path / "e.npy", tmp_path / "y.npy"])
        assert out["value"] == pytest.approx(per.sum() / 6, rel=1e-13)
        total = _compute(run, name, [tmp_path / "e.npy", tmp_path / "y.npy"], "--reduction", "sum")
        assert total["value"] == pytest.approx(per.sum(), rel=1e-13)
    np.save(tmp_path / "y.npy", np.arange(8))  # no positive pair at all
    for name in ("circle", "supcon"):
        assert _compute(run, name, [tmp_path / "e.npy", tmp_path / "y.npy"])["value"] == 0.0


def _supcon_loop(e, labels, tau):
    u = e / np.linalg.norm(e, axis=1, keepdims=True)
    out = []
    for i in range(len(labels)):
        others = [j for j in range(len(labels)) if j != i]
        pos = [j for j in others if labels[j] == labels[i]]
        lse = math.log(sum(math.exp(u[i] @ u[a] / tau) for a in others))
        out.append(0.0 if not pos else float(np.mean([lse - u[i] @ u[p] / tau for p in pos])))
    return np.array(out)


def test_supcon_single_class_and_tiny_temperature():
    """One class: the paper's value (pml returns 0 without a negative pair). A tiny τ: anchors whose
    positive dominates have a loss ~0 and stay in the mean (pml's AvgNonZeroReducer drops them)."""
    rng = np.random.default_rng(9)
    e = rng.standard_normal((5, 3))
    got = get_loss("supcon")(e, np.zeros(5))
    _close(got, _supcon_loop(e, np.zeros(5), 0.1), rtol=1e-13)
    assert np.all(got > 0)
    cid = "supcon-pml-tiny-temperature"
    e, y = _ref(cid, "input/embeddings"), _ref(cid, "input/labels")
    per = _ref(cid, "per_sample")
    assert np.sum(per == 0.0) == 2  # pml's -0.0: left out of its mean
    import losscli

    value = losscli.evaluate(get_loss("supcon"), e, y, temperature=1e-3).value
    assert value == pytest.approx(per.sum() / 8, rel=1e-12)


def test_supcon_single_positive_is_accurate_when_tiny():
    """l = log1p(Σ_{a≠p} e^{z_a - z_p}) for one dominant positive: no cancellation of lse - z_p."""
    e = np.array([[1.0, 0.0], [1.0, 1e-3], [0.0, 1.0], [-1.0, 0.2]])
    got = get_loss("supcon")(e, np.array([0, 0, 1, 2]), temperature=0.01)
    u = e / np.linalg.norm(e, axis=1, keepdims=True)
    z = u @ u.T / 0.01
    want = np.log1p(np.exp(z[0, 2] - z[0, 1]) + np.exp(z[0, 3] - z[0, 1]))
    assert want < 1e-30 and got[0] == pytest.approx(want, rel=1e-12, abs=0.0)


def test_cosent_attribution_and_reductions(run, tmp_path):
    """The batch value L is the mean; the sum is N·L; a sample whose score ties all others gets 0."""
    rng = np.random.default_rng(10)
    x1, x2 = rng.standard_normal((6, 4)), rng.standard_normal((6, 4))
    y = np.array([0.1, 0.5, 0.5, 0.9, 0.3, 0.7])
    cos = np.sum(x1 * x2, axis=1) / np.linalg.norm(x1, axis=1) / np.linalg.norm(x2, axis=1)
    terms = [math.exp(20 * (cos[i] - cos[j])) for i in range(6) for j in range(6) if y[i] < y[j]]
    big_l = math.log1p(sum(terms))
    for name, a in (("x1", x1), ("x2", x2), ("y", y)):
        np.save(tmp_path / f"{name}.npy", a)
    files = [tmp_path / "x1.npy", tmp_path / "x2.npy", tmp_path / "y.npy"]
    out = _compute(run, "cosent", files)
    assert out["value"] == pytest.approx(big_l, rel=1e-13)
    assert _compute(run, "cosent", files, "--reduction", "sum")["value"] == pytest.approx(6 * big_l, rel=1e-13)
    y_tie = np.full(6, 0.4)
    y_tie[[0, 1]] = [0.1, 0.9]  # samples 2..5 tie each other: compared only with samples 0 and 1
    pairs = [(i, j) for i in range(6) for j in range(6) if y_tie[i] < y_tie[j]]
    t = {p: math.exp(20 * (cos[p[0]] - cos[p[1]])) for p in pairs}
    tie_l = math.log1p(sum(t.values()))
    share = [0.5 * sum(v for p, v in t.items() if k in p) / sum(t.values()) for k in range(6)]
    _close(get_loss("cosent")(x1, x2, y_tie), 6 * tie_l * np.array(share), rtol=1e-13)
    assert np.all(get_loss("cosent")(x1, x2, np.full(6, 2.0)) == 0.0)  # no ordered pair: L = 0
    w = np.arange(1.0, 7.0)
    np.save(tmp_path / "w.npy", w)
    weighted = _compute(run, "cosent", files, "--weights", tmp_path / "w.npy")
    assert weighted["value"] == pytest.approx(np.sum(w * np.asarray(out["per_sample"])) / w.sum(), rel=1e-13)


def test_beyond_float64_is_reported_not_warned(run, tmp_path):
    """Values or gradients beyond float64 come out non-finite without a RuntimeWarning (the suite
    turns warnings into errors), and compute refuses them with one line naming the row."""
    rng = np.random.default_rng(11)
    e = rng.standard_normal((6, 3))
    e[0] = 0.0  # its gradient passes the 1e-12 norm floor: ~1e312 at γ = 1e300
    np.save(tmp_path / "e.npy", e)
    np.save(tmp_path / "y.npy", np.array([0, 1, 0, 1, 2, 2]))
    grad = get_loss("circle").grad(e, np.array([0, 1, 0, 1, 2, 2]), gamma=1e300)["embeddings"]
    assert not np.all(np.isfinite(grad[0])) and np.all(np.isfinite(grad[1:]))
    # (through the CLI, --save-grad here trips a RuntimeWarning in engine/block.py's row sums of a
    # gradient holding +inf and -inf: reported to the integrator, not tested here)
    np.save(tmp_path / "c.npy", np.tanh(rng.standard_normal((4, 3))))
    np.save(tmp_path / "n.npy", np.array([1.0, 1e200, 2.0, 1.0]))
    np.save(tmp_path / "l.npy", np.array([0, 2, 1, 1]))
    result = run("compute", "sphereface", tmp_path / "c.npy", tmp_path / "n.npy", tmp_path / "l.npy", "-p", "scale=1e300")
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == ("Error: sphereface: the loss is undefined (NaN) at row 1 (1 of 4 rows) although the "
                             "inputs are finite: the values are too extreme for this loss\n")
