"""Hand-worked values, slow loop-based references and extreme inputs for the catalogue."""

import math

import mpmath
import numpy as np
import pytest

from losscli import get_loss
from .conftest import evaluate_dict as evaluate

from .conftest import central_difference

mpmath.mp.dps = 50


def L(name, *arrays, **params):
    return get_loss(name)(*(np.asarray(a, dtype=float) for a in arrays), **params)


# -- regression ------------------------------------------------------------------------------------
def test_log_cosh_is_overflow_safe_and_exact():
    d = np.array([0.0, 0.5, -3.0, 800.0, -1e5])
    expected = [float(mpmath.log(mpmath.cosh(mpmath.mpf(x)))) for x in d]
    np.testing.assert_allclose(L("log_cosh", d, 0 * d), expected, rtol=1e-14, atol=1e-300)


def test_quantile_hand_worked():
    # r = t - p = 2 (under-prediction): tau * r; r = -2: (tau - 1) * r
    assert L("quantile", [0.0, 4.0], [2.0, 2.0], tau=0.9).tolist() == pytest.approx([1.8, 0.2])
    assert L("pinball", [1.0], [3.0])[0] == pytest.approx(1.0)  # tau = 0.5: half the absolute error


def test_mbe_is_signed_mean_residual():
    p, t = np.array([[1.0, 2.0], [3.0, 3.0]]), np.array([[2.0, 4.0], [1.0, 3.0]])
    loop = [sum(t[i][j] - p[i][j] for j in range(2)) / 2 for i in range(2)]
    assert L("mbe", p, t).tolist() == loop == [1.5, -1.0]


def test_poisson_and_gaussian_hand_worked():
    assert L("poisson_nll", [math.log(2.0)], [3.0])[0] == pytest.approx(2.0 - 3.0 * math.log(2.0))
    assert L("poisson_nll", [2.0], [3.0], log_input=False)[0] == pytest.approx(2.0 - 3.0 * math.log(2.0 + 1e-8))
    assert L("gaussian_nll", [1.0], [3.0], [2.0])[0] == pytest.approx(0.5 * (math.log(2.0) + 2.0))
    # the variance is clamped at eps
    assert L("gaussian_nll", [0.0], [0.0], [0.0])[0] == pytest.approx(0.5 * math.log(1e-6))


# -- classification --------------------------------------------------------------------------------
def test_exponential_loop_reference_and_label_mapping():
    f, y = np.array([0.5, -2.0, 1.0]), np.array([1.0, 1.0, -1.0])
    loop = [math.exp(-yi * fi) for fi, yi in zip(f, y)]
    np.testing.assert_allclose(L("exponential", f, y), loop, rtol=1e-15)


def _tversky_loop(p, y, alpha, beta, smooth):
    out = []
    for pr, yr in zip(p.reshape(len(p), -1), y.reshape(len(y), -1)):
        tp = sum(a * b for a, b in zip(pr, yr))
        fp = sum(a * (1 - b) for a, b in zip(pr, yr))
        fn = sum((1 - a) * b for a, b in zip(pr, yr))
        out.append(1 - (tp + smooth) / (tp + alpha * fp + beta * fn + smooth))
    return out


def test_tversky_loop_reference_and_dice_special_case():
    rng = np.random.default_rng(3)
    p, y = rng.uniform(size=(4, 2, 5)), rng.integers(0, 2, (4, 2, 5)).astype(float)
    np.testing.assert_allclose(L("tversky", p, y, alpha=0.3, beta=0.7, smooth=0.5),
                               _tversky_loop(p, y, 0.3, 0.7, 0.5), rtol=1e-13)
    # α = β = ½ is Dice with the smoothing halved: (TP + s/2)/(U/2 + s/2) = (2TP + s)/(U + s)
    np.testing.assert_allclose(L("tversky", p, y, smooth=0.5), L("dice", p, y, smooth=1.0), rtol=1e-13)


def test_dice_hand_worked():
    # 2·(0.5) + 1 over (1.5 + 1 + 1): 1 - 2/3.5
    assert L("dice", [[1.0, 0.5, 0.0]], [[0.0, 1.0, 0.0]])[0] == pytest.approx(1 - 2 / 3.5)
    assert L("dice", [[0.0, 0.0]], [[0.0, 0.0]])[0] == 0.0  # empty vs empty is perfect with smooth = 1


def test_zero_one_modes():
    assert L("zero_one", [[0.1, 0.9], [0.8, 0.2]], [1, 1]).tolist() == [0.0, 1.0]  # argmax
    assert L("zero_one", [0.7, 0.4, 0.5], [1, 1, 0], mode="threshold").tolist() == [0.0, 1.0, 1.0]  # threshold 0.5
    assert L("zero_one", [2.0, -1.0, 0.0], [1, 1, -1], mode="sign").tolist() == [0.0, 1.0, 1.0]  # y·f <= 0 errs
    assert L("zero_one", [0.7, 0.4], [1, 1], mode="threshold", threshold=0.3).tolist() == [0.0, 0.0]


def test_kl_conventions():
    p, q = np.array([[0.5, 0.5, 0.0]]), np.array([[0.25, 0.25, 0.5]])
    assert L("kl", q, p)[0] == pytest.approx(math.log(2.0))  # KL(labels ‖ predictions), 0·ln0 = 0
    assert L("kl", p, p)[0] == 0.0


def test_bce_logits_matches_bce_on_probabilities():
    x = np.array([-3.0, 0.2, 4.0])
    y = np.array([0.0, 1.0, 1.0])
    np.testing.assert_allclose(L("bce_logits", x, y), L("bce", 1 / (1 + np.exp(-x)), y), rtol=1e-12)


def test_ce_on_probabilities_equals_softmax_ce_on_log_probabilities():
    rng = np.random.default_rng(5)
    z = rng.normal(size=(6, 4))
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    y = rng.integers(0, 4, 6)
    for kw in ({}, {"label_smoothing": 0.2}, {"class_weights": (1.0, 2.0, 0.5, 3.0)}):
        np.testing.assert_allclose(L("ce", p, y, **kw), L("softmax_ce", np.log(p), y, **kw), rtol=1e-12)
        assert evaluate(get_loss("ce"), {"predictions": p, "labels": y}, kw).value == pytest.approx(
            evaluate(get_loss("softmax_ce"), {"logits": np.log(p), "labels": y}, kw).value, rel=1e-12)


def _focal_mp(x, y, alpha, gamma):
    x, y = mpmath.mpf(x), mpmath.mpf(y)
    p, not_p = 1 / (1 + mpmath.exp(-x)), 1 / (1 + mpmath.exp(x))  # σ(x), 1 - σ(x) without cancelling
    pt = p * y + not_p * (1 - y)
    qt = not_p * y + p * (1 - y)
    at = alpha * y + (1 - alpha) * (1 - y)
    return -at * qt ** gamma * mpmath.log(pt)


@pytest.mark.parametrize("gamma", [0.0, 0.3, 0.5, 0.9, 2.0])
def test_focal_extreme_logits_finite_and_exact(gamma):
    x = np.array([-1e4, -700.0, -40.0, -1.0, 0.0, 1.0, 40.0, 700.0, 1e4] * 2)
    y = np.array([0.0] * 9 + [1.0] * 9)
    focal = get_loss("focal")
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        v = focal(x, y, gamma=gamma)
        g = focal.grad(x, y, gamma=gamma)["logits"]
    assert np.all(np.isfinite(v)) and np.all(np.isfinite(g))
    for xi, yi, vi, gi in zip(x, y, v, g):
        ref = _focal_mp(xi, yi, 0.25, gamma)
        dref = mpmath.diff(lambda t: _focal_mp(t, yi, 0.25, gamma), mpmath.mpf(xi))
        assert vi == pytest.approx(float(ref), rel=1e-12, abs=1e-300)
        assert gi == pytest.approx(float(dref), rel=1e-9, abs=1e-300)


def test_softmax_focal_gamma_zero_is_weighted_ce_and_extremes_finite():
    z = np.array([[1e4, -1e4, 0.0], [0.0, 1e4, 0.0], [1.0, 2.0, 3.0]])
    y = np.array([0, 0, 2])
    np.testing.assert_allclose(L("softmax_focal", z, y, gamma=0.0, alpha=0.5),
                               0.5 * L("softmax_ce", z, y), rtol=1e-14)
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        for gamma in (0.5, 2.0):
            g = get_loss("softmax_focal").grad(z, y, gamma=gamma)["logits"]
            assert np.all(np.isfinite(g))


def test_crammer_singer_hinge_hand_worked():
    s = np.array([[2.0, 1.5, -1.0], [0.0, 3.0, 1.0]])
    # row 0: 1 + 1.5 - 2 = 0.5; row 1 (label 0): 1 + 3 - 0 = 4
    assert L("hinge", s, [0, 0]).tolist() == [0.5, 4.0]
    assert L("squared_hinge", s, [0, 0]).tolist() == [0.25, 16.0]
    g = get_loss("hinge").grad(s, np.array([0, 0]))["scores"]
    assert g.tolist() == [[-1.0, 1.0, 0.0], [-1.0, 1.0, 0.0]]


# -- embedding -------------------------------------------------------------------------------------
def test_triplet_hand_worked_and_gradients_sum_to_zero():
    a, p, n = np.array([[0.0, 0.0]]), np.array([[3.0, 4.0]]), np.array([[1.0, 0.0]])
    v = L("triplet", a, p, n, eps=0.0)[0]
    assert v == pytest.approx(5.0 - 1.0 + 1.0)
    rng = np.random.default_rng(1)
    a, p, n = (rng.normal(size=(5, 3)) for _ in range(3))
    g = get_loss("triplet").grad(a, p, n)
    np.testing.assert_allclose(g["anchor"] + g["positive"] + g["negative"], 0, atol=1e-15)


def test_contrastive_and_margin_ranking_hand_worked():
    x1, x2 = np.array([[0.0, 0.0], [0.0, 0.0]]), np.array([[3.0, 4.0], [0.3, 0.4]])
    assert L("contrastive", x1, x2, [1.0, 0.0]).tolist() == pytest.approx([12.5, 0.125])
    assert L("margin_ranking", [2.0, 1.0], [1.0, 2.0], [1.0, 1.0], margin=0.5).tolist() == [0.0, 1.5]


def _infonce_loop(q, k, tau):
    out = []
    for i in range(len(q)):
        sims = [float(np.dot(q[i], k[j]) / (np.linalg.norm(q[i]) * np.linalg.norm(k[j]))) / tau
                for j in range(len(k))]
        out.append(-(sims[i] - math.log(sum(math.exp(s) for s in sims))))
    return out


def test_infonce_loop_reference_and_mnrl_relation():
    rng = np.random.default_rng(2)
    q, k = rng.normal(size=(5, 4)), rng.normal(size=(5, 4))
    np.testing.assert_allclose(L("infonce", q, k, temperature=0.5), _infonce_loop(q, k, 0.5), rtol=1e-12)
    np.testing.assert_allclose(L("mnrl", q, k, scale=2.0), L("infonce", q, k, temperature=0.5), rtol=1e-12)


def _ge2e_loop(e, labels, w, b, method):
    speakers = sorted(set(labels))
    out = []
    for i in range(len(e)):
        sims = []
        for s in speakers:
            members = [e[j] for j in range(len(e)) if labels[j] == s and (s != labels[i] or j != i)]
            c = np.mean(members, axis=0)
            sims.append(w * float(np.dot(e[i], c) / (np.linalg.norm(e[i]) * np.linalg.norm(c))) + b)
        own = speakers.index(labels[i])
        if method == "softmax":
            out.append(-sims[own] + math.log(sum(math.exp(s) for s in sims)))
        else:
            sig = [1 / (1 + math.exp(-s)) for s in sims]
            out.append(1 - sig[own] + max(sig[k] for k in range(len(sig)) if k != own))
    return out


@pytest.mark.parametrize("method", ["softmax", "contrast"])
def test_ge2e_loop_reference_and_gradient(method):
    rng = np.random.default_rng(4)
    labels = np.array([7, 3, 7, 5, 3, 5, 7, 3, 5], dtype=float)  # 3 speakers x 3, shuffled ids
    e = rng.normal(size=(9, 4))
    loss = get_loss("ge2e")
    np.testing.assert_allclose(loss(e, labels, method=method), _ge2e_loop(e, labels, 10.0, -5.0, method),
                               rtol=1e-12)
    ct = rng.uniform(0.5, 2.0, 9)
    g = loss.grad(e, labels, method=method, cotangent=ct)["embeddings"]
    numeric = central_difference(lambda x: float(np.sum(ct * loss(x, labels, method=method))), e.copy())
    np.testing.assert_allclose(g, numeric, rtol=1e-6, atol=1e-8)


def test_arcface_with_zero_margin_is_scaled_softmax_ce():
    rng = np.random.default_rng(6)
    c = np.tanh(rng.normal(size=(5, 4)))
    y = rng.integers(0, 4, 5)
    np.testing.assert_allclose(L("arcface", c, y, margin=0.0, scale=8.0), L("softmax_ce", 8.0 * c, y), rtol=1e-12)


@pytest.mark.parametrize("name, params", [
    ("ge2e", {"method": "contrast", "w": 3.0, "b": 1.0}), ("mnrl", {"scale": 3.0}),
    ("infonce", {"temperature": 0.3}), ("focal", {"alpha": -1.0, "gamma": 0.5}),
    ("softmax_ce", {"label_smoothing": 0.3, "class_weights": (1.0, 0.5, 2.0, 1.5)}),
    ("ce", {"label_smoothing": 0.1, "class_weights": (1.0, 0.5, 2.0, 1.5)}),
    ("tversky", {"alpha": 0.2, "beta": 0.9, "smooth": 0.1}), ("arcface", {"margin": 1.2, "scale": 4.0}),
    ("poisson_nll", {"log_input": False}), ("quantile", {"tau": 0.8}), ("bce_logits", {"pos_weight": 2.5}),
    ("poly1", {"epsilon": -0.7}), ("squared_hinge", {"margin": 0.2}), ("cosine_embedding", {"margin": 0.3}),
])
def test_gradients_with_non_default_parameters(name, params):
    from losscli.sampling import random_inputs

    loss = get_loss(name)
    inputs = random_inputs(loss, samples=6, seed=11, optional=True)
    if name == "poisson_nll":
        inputs["predictions"] = np.abs(inputs["predictions"]) + 0.1
    args = [inputs[r.name] for r in loss.inputs if r.name in inputs]
    grads = loss.grad(*args, **params)
    for role, g in grads.items():
        def f(x, role=role):
            # the raw function: a perturbed probability row is not renormalised
            return float(np.sum(loss.fn(*[x if r.name == role else inputs[r.name]
                                          for r in loss.inputs if r.name in inputs], **loss.resolve_params(params))))
        np.testing.assert_allclose(g, central_difference(f, inputs[role].copy()), rtol=1e-6, atol=1e-8,
                                   err_msg=f"{name} d/d{role}")
