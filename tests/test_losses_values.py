"""Hand-worked values and gradients of the core losses."""

import math

import numpy as np
import pytest

from losscli import get_loss


def L(name, *arrays, **params):
    return get_loss(name)(*(np.asarray(a, dtype=float) for a in arrays), **params)


def test_mse_of_two_points_is_one():
    assert L("mse", [1, 2], [0, 1]).mean() == 1.0


def test_mse_mean_over_row():
    np.testing.assert_allclose(L("mse", [[1, 3], [0, 0]], [[0, 0], [0, 2]]), [5.0, 2.0])


def test_l2_sum_and_half():
    y = [0.1, 0.05, 0.6, 0, 0.05, 0.1, 0, 0.1, 0, 0]
    t = [0, 0, 1, 0, 0, 0, 0, 0, 0, 0]
    assert L("l2", [y], [t], half=True)[0] == pytest.approx(0.0975, abs=1e-15)
    assert L("l2", [y], [t])[0] == pytest.approx(0.195, abs=1e-15)
    assert get_loss("sse") is get_loss("l2")


def test_mae_aliases_and_value():
    assert L("l1", [1, -2], [0, 1]).tolist() == [1.0, 3.0]
    assert get_loss("absolute") is get_loss("mae")


@pytest.mark.parametrize("d, expected", [(0.5, 0.125), (-0.5, 0.125), (3.0, 2.5), (-1.0, 0.5)])
def test_huber_branches(d, expected):
    assert L("huber", [d], [0.0])[0] == pytest.approx(expected)


def test_huber_delta_and_smooth_l1_relation():
    d = np.array([-4.0, -1.0, -0.2, 0.0, 0.7, 2.0, 9.0])
    z = np.zeros_like(d)
    for delta in (0.5, 1.0, 2.0):
        np.testing.assert_allclose(L("huber", d, z, delta=delta), delta * L("smooth_l1", d, z, beta=delta))


def test_smooth_l1_beta_zero_is_l1():
    d = np.array([-2.0, 0.0, 0.3])
    np.testing.assert_array_equal(L("smooth_l1", d, 0 * d, beta=0.0), np.abs(d))
    assert L("smooth_l1", [0.5], [0.0], beta=1.0)[0] == pytest.approx(0.125)
    assert L("smooth_l1", [3.0], [0.0], beta=2.0)[0] == pytest.approx(2.0)


def test_bce_textbook_and_clipping():
    assert L("bce", [0.6], [1.0])[0] == pytest.approx(0.5108256237659907, abs=1e-15)
    assert L("bce", [0.6], [1.0])[0] == pytest.approx(-math.log(0.6), rel=1e-15)
    # p = 0 with y = 1 is clipped to eps = 1e-7, not infinite
    assert L("bce", [0.0], [1.0])[0] == pytest.approx(-math.log(1e-7), rel=1e-12)
    assert L("bce", [1.0], [1.0])[0] == pytest.approx(-math.log1p(-1e-7), rel=1e-9)


def test_ce_index_and_one_hot_agree():
    p = [[0.2, 0.5, 0.3]]
    assert L("ce", p, [2])[0] == pytest.approx(-math.log(0.3), rel=1e-15)
    assert L("ce", p, [[0, 0, 1]])[0] == pytest.approx(-math.log(0.3), rel=1e-15)
    soft = [[0.5, 0.0, 0.5]]
    assert L("ce", p, soft)[0] == pytest.approx(-(0.5 * math.log(0.2) + 0.5 * math.log(0.3)))


def test_softmax_ce_value_and_gradient():
    z = np.array([[4.0, -4.0, 3.0]])
    expected = math.log(math.exp(4) + math.exp(-4) + math.exp(3)) - 3
    assert L("softmax_ce", z, [2])[0] == pytest.approx(expected, rel=1e-15)
    assert expected == pytest.approx(1.3135, abs=1e-3)  # the rounded figure
    g = get_loss("softmax_ce").grad(np.array([[2.0, 3.0, 4.0]]), np.array([1]))["logits"]
    np.testing.assert_allclose(g, [[0.0900, -0.7553, 0.6652]], atol=5e-5)


def test_softmax_ce_extreme_logits_are_finite():
    z = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4]])
    v = L("softmax_ce", z, [1, 0])
    assert np.all(np.isfinite(v))
    assert v[0] == pytest.approx(2e4)
    assert v[1] == pytest.approx(math.log(3))


def test_softmax_ce_matches_ce_of_softmax():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(6, 4))
    y = rng.integers(0, 4, 6)
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(L("softmax_ce", z, y), L("ce", p, y), rtol=1e-12)


@pytest.mark.parametrize("name, d, expected", [
    ("mse", [3.0, -1.0], [3.0, -1.0]),           # 2d / M with M = 2
    ("mae", [3.0, -1.0], [0.5, -0.5]),
    ("huber", [3.0, -0.5], [0.5, -0.25]),        # clip(d, -1, 1) / 2
    ("l2", [3.0, -1.0], [6.0, -2.0]),
])
def test_regression_gradient_hand_worked(name, d, expected):
    p = np.array([d])
    g = get_loss(name).grad(p, np.zeros_like(p))["predictions"]
    np.testing.assert_allclose(g, [expected])


def test_ce_gradient_hand_worked():
    p = np.array([[0.2, 0.5, 0.3]])
    g = get_loss("ce").grad(p, np.array([2]))["predictions"]
    np.testing.assert_allclose(g, [[0.0, 0.0, -1 / 0.3]])
