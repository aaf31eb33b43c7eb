"""Every clip / clamp / floor / branch of every loss, on each side: the value against an independent
reference written here from the documented formula, the analytic gradient against the documented
gradient formula, and (on smooth sides, with a step that stays on that side) against central
differences of the public ``loss(...)``. Flat (clamped) sides must have a zero gradient: the
gradient of the clamped function, as the module docstrings promise.

Public API only: ``losscli.get_loss(name)``, ``loss(...)``, ``loss.grad(...)``."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import mpmath
import numpy as np
import pytest

import losscli

mpmath.mp.dps = 50
A = np.asarray


def _f(x):
    return A(x, dtype=np.float64)


def sigmoid(x):
    return np.exp(-np.logaddexp(0.0, -x))


def softplus(x):
    return np.logaddexp(0.0, x)


def mp_softmax_rows(z):
    """Softmax rows and log-sum-exp in 50 digits (independent of numpy's rounding)."""
    out, lses = [], []
    for row in z:
        lse = mpmath.log(mpmath.fsum(mpmath.exp(mpmath.mpf(float(v))) for v in row))
        lses.append(lse)
        out.append([mpmath.exp(mpmath.mpf(float(v)) - lse) for v in row])
    return out, lses


def mp_nll(z, y):
    s, lses = mp_softmax_rows(z)
    return np.array([float(lses[i] - mpmath.mpf(float(z[i][y[i]]))) for i in range(len(z))])


def mp_softmax(z):
    s, _ = mp_softmax_rows(z)
    return np.array([[float(v) for v in row] for row in s])


@dataclass
class Case:
    id: str
    loss: str
    args: tuple
    value: np.ndarray
    grad: dict | None = None  # role -> expected gradient (None: not differentiable)
    params: dict = field(default_factory=dict)
    fd: dict = field(default_factory=dict)  # role -> step h that keeps every element on its side
    rtol: float = 1e-12


CASES: list[Case] = []


def case(*a, **k):
    CASES.append(Case(*a, **k))


# == regression =====================================================================================
# huber: q = min(|d|, δ) (value), clip(d, -δ, δ) (gradient)
d = _f([-3.0, -1.5, 2.5])
case("huber |d|>delta", "huber", (d, 0 * d), np.abs(d) - 0.5, {"predictions": np.sign(d)}, fd={"predictions": 1e-6})
d = _f([-0.4, 0.0, 0.3])
case("huber |d|<delta", "huber", (d, 0 * d), 0.5 * d * d, {"predictions": d}, fd={"predictions": 1e-6})
d = _f([-1.0, 1.0])
case("huber |d|=delta (kink: slope delta)", "huber", (d, 0 * d), _f([0.5, 0.5]), {"predictions": d})
d = _f([0.2, 0.7, -0.7])
case("huber delta=0.5 both sides", "huber", (d, 0 * d), np.where(np.abs(d) < 0.5, 0.5 * d * d, 0.5 * (np.abs(d) - 0.25)),
     {"predictions": np.clip(d, -0.5, 0.5)}, params={"delta": 0.5}, fd={"predictions": 1e-6})
P = _f([[3.0, 0.5], [-0.2, -4.0]])
case("huber rows (M=2): mean over the row", "huber", (P, 0 * P),
     _f([(2.5 + 0.125) / 2, (0.02 + 3.5) / 2]), {"predictions": np.clip(P, -1, 1) / 2}, fd={"predictions": 1e-6})

# smooth_l1: where(|d| < β, ½d²/β, |d| - ½β); gradient clip(d/β, -1, 1); β = 0 is L1
d = _f([-2.0, 3.0])
case("smooth_l1 |d|>beta", "smooth_l1", (d, 0 * d), np.abs(d) - 0.5, {"predictions": np.sign(d)}, fd={"predictions": 1e-6})
d = _f([-0.5, 0.25])
case("smooth_l1 |d|<beta", "smooth_l1", (d, 0 * d), 0.5 * d * d, {"predictions": d}, fd={"predictions": 1e-6})
d = _f([0.3, 0.6, -0.9])
case("smooth_l1 beta=0.5 both sides", "smooth_l1", (d, 0 * d), np.where(np.abs(d) < 0.5, d * d, np.abs(d) - 0.25),
     {"predictions": np.clip(d / 0.5, -1, 1)}, params={"beta": 0.5}, fd={"predictions": 1e-6})
d = _f([-2.0, 0.5])
case("smooth_l1 beta=0 is L1", "smooth_l1", (d, 0 * d), np.abs(d), {"predictions": np.sign(d)}, params={"beta": 0.0},
     fd={"predictions": 1e-6})
d = _f([0.0])
case("smooth_l1 beta=0 at d=0 (subgradient 0)", "smooth_l1", (d, d), _f([0.0]), {"predictions": _f([0.0])},
     params={"beta": 0.0})

# mae: |d|, sign(d) with 0 at d = 0
d = _f([-2.0, 1.5])
case("mae d!=0", "mae", (d, 0 * d), np.abs(d), {"predictions": np.sign(d)}, fd={"predictions": 1e-6})
case("mae d=0 (subgradient 0)", "mae", (_f([0.0]), _f([0.0])), _f([0.0]), {"predictions": _f([0.0])})

# quantile: max(τr, (τ-1)r), r = t - p
case("quantile r>0 (under-prediction)", "quantile", (_f([0.0, 1.0]), _f([2.0, 4.0])), _f([1.6, 2.4]),
     {"predictions": _f([-0.8, -0.8])}, params={"tau": 0.8}, fd={"predictions": 1e-6})
case("quantile r<0 (over-prediction)", "quantile", (_f([4.0, 0.0]), _f([2.0, -1.0])), _f([0.4, 0.2]),
     {"predictions": _f([0.2, 0.2])}, params={"tau": 0.8}, fd={"predictions": 1e-6})
case("quantile r=0 (subgradient 0)", "quantile", (_f([2.0]), _f([2.0])), _f([0.0]), {"predictions": _f([0.0])},
     params={"tau": 0.8})

# log_cosh: d + softplus(-2d) - ln 2 (max(x, 0) inside softplus: both signs, and |d| where cosh overflows)
d = _f([-3.0, -0.5, 0.0, 0.5, 3.0])
case("log_cosh moderate, both signs", "log_cosh", (d, 0 * d), np.log(np.cosh(d)), {"predictions": np.tanh(d)},
     fd={"predictions": 1e-6})
d = _f([-800.0, 800.0])
case("log_cosh |d|=800 (cosh overflows)", "log_cosh", (d, 0 * d), np.abs(d) - math.log(2.0),
     {"predictions": np.sign(d)}, fd={"predictions": 1e-3})

# poisson_nll: log_input branch and the rate branch with eps inside the log
p, t = _f([-2.0, 0.0, 1.5]), _f([0.0, 3.0, 2.0])
case("poisson_nll log_input=true", "poisson_nll", (p, t), np.exp(p) - t * p, {"predictions": np.exp(p) - t},
     fd={"predictions": 1e-6})
p, t = _f([2.0, 0.5]), _f([2.0, 3.0])
case("poisson_nll rates", "poisson_nll", (p, t), p - t * np.log(p + 1e-8), {"predictions": 1 - t / (p + 1e-8)},
     params={"log_input": False}, fd={"predictions": 1e-6})
p, t = _f([0.0, 1e-9]), _f([3.0, 1.0])
case("poisson_nll rate 0 (eps keeps log finite)", "poisson_nll", (p, t), p - t * np.log(p + 1e-8),
     {"predictions": 1 - t / (p + 1e-8)}, params={"log_input": False}, fd={"predictions": 1e-11}, rtol=1e-10)

# gaussian_nll: v = max(var, eps); ∂/∂var = 0 where var <= eps
mu, t = _f([0.3, -1.0]), _f([0.1, 0.5])
var = _f([0.25, 2.0])
case("gaussian_nll var>eps", "gaussian_nll", (mu, t, var), 0.5 * (np.log(var) + (t - mu) ** 2 / var),
     {"mean": (mu - t) / var, "var": 0.5 * (1 / var - (t - mu) ** 2 / var ** 2)}, fd={"mean": 1e-6, "var": 1e-7})
var = _f([0.0, 5e-7])
case("gaussian_nll var<eps (clamped)", "gaussian_nll", (mu, t, var), 0.5 * (math.log(1e-6) + (t - mu) ** 2 / 1e-6),
     {"mean": (mu - t) / 1e-6, "var": _f([0.0, 0.0])}, fd={"mean": 1e-9, "var": 1e-10}, rtol=1e-10)

# == classification =================================================================================
# bce: c = clip(p, eps, 1 - eps); gradient (c - y)/(c(1 - c)) inside, 0 where the clip holds
EPS = 1e-7
p, y = _f([0.3, 0.7, 1e-6]), _f([1.0, 0.0, 1.0])
case("bce inside (eps, 1-eps)", "bce", (p, y), -(y * np.log(p) + (1 - y) * np.log(1 - p)),
     {"predictions": (p - y) / (p * (1 - p))}, fd={"predictions": 1e-9})
p, y = _f([0.0, 1e-9, 5e-8]), _f([1.0, 1.0, 0.0])
case("bce p<=eps (clipped)", "bce", (p, y), -(y * math.log(EPS) + (1 - y) * math.log1p(-EPS)),
     {"predictions": _f([0.0, 0.0, 0.0])}, fd={"predictions": 1e-10})
p, y = _f([1.0, 1 - 1e-9]), _f([0.0, 1.0])
case("bce p>=1-eps (clipped)", "bce", (p, y), -(y * math.log1p(-EPS) + (1 - y) * math.log(EPS)),
     {"predictions": _f([0.0, 0.0])}, fd={"predictions": 1e-10}, rtol=1e-8)
p, y = _f([0.005, 0.995, 0.02]), _f([1.0, 0.0, 1.0])
c = np.clip(p, 0.01, 0.99)
case("bce eps=0.01 both sides", "bce", (p, y), -(y * np.log(c) + (1 - y) * np.log(1 - c)),
     {"predictions": np.where((p > 0.01) & (p < 0.99), (p - y) / (p * (1 - p)), 0.0)}, params={"eps": 0.01},
     fd={"predictions": 1e-5})

# ce: -Σ a log(clip(p, eps, 1)); ∂ = -a/p where p > eps, else 0
P = _f([[0.2, 0.5, 0.3], [0.6, 0.3, 0.1]])
case("ce target p>eps", "ce", (P, _f([2, 0])), -np.log(_f([0.3, 0.6])),
     {"predictions": _f([[0, 0, -1 / 0.3], [-1 / 0.6, 0, 0]])}, fd={"predictions": 1e-7})
P = _f([[0.0, 0.4, 0.6], [1e-9, 0.5, 0.5 - 1e-9]])
case("ce target p<=eps (clipped)", "ce", (P, _f([0, 0])), _f([-math.log(EPS)] * 2), {"predictions": np.zeros((2, 3))},
     fd={"predictions": 1e-10})
P, Y = _f([[0.0, 0.4, 0.6]]), _f([[0.2, 0.3, 0.5]])
case("ce soft labels, one entry clipped", "ce", (P, Y), _f([-(0.2 * math.log(EPS) + 0.3 * math.log(0.4) + 0.5 * math.log(0.6))]),
     {"predictions": _f([[0.0, -0.3 / 0.4, -0.5 / 0.6]])}, fd={"predictions": 1e-10})
P = _f([[0.2, 0.5, 0.3]])
a = 0.9 * _f([[0, 1, 0]]) + 0.1 / 3
case("ce label_smoothing=0.1", "ce", (P, _f([1])), -np.sum(a * np.log(P), axis=1), {"predictions": -a / P},
     params={"label_smoothing": 0.1}, fd={"predictions": 1e-7})
case("ce class_weights", "ce", (P, _f([1])), _f([-2.0 * math.log(0.5)]), {"predictions": _f([[0, -2.0 / 0.5, 0]])},
     params={"class_weights": (1.0, 2.0, 3.0)}, fd={"predictions": 1e-7})

# kl: max(0, Σ p (ln p - ln q̃)), q̃ = max(q, min(eps, p)), 0·ln 0 = 0; ∂/∂q = -p/q where q >= min(eps, p)
# and the sum is not below 0, else 0
Q, Pt = _f([[0.25, 0.25, 0.5]]), _f([[0.5, 0.5, 0.0]])
case("kl q>eps, a zero target entry", "kl", (Q, Pt), _f([math.log(2.0)]), {"predictions": _f([[-2.0, -2.0, 0.0]])},
     fd={"predictions": 1e-7})
Q, Pt = _f([[0.0, 0.5, 0.5]]), _f([[0.2, 0.3, 0.5]])
case("kl q<eps (clipped)", "kl", (Q, Pt),
     _f([0.2 * (math.log(0.2) - math.log(EPS)) + 0.3 * (math.log(0.3) - math.log(0.5))]),
     {"predictions": _f([[0.0, -0.6, -1.0]])}, fd={"predictions": 1e-10})
Q, Pt = _f([[0.0, 0.5, 0.5]]), _f([[0.0, 0.5, 0.5]])
case("kl p=q with zeros", "kl", (Q, Pt), _f([0.0]), {"predictions": _f([[0.0, -1.0, -1.0]])})
# a class below eps in both (float32 softmax rows): p = q gives 0, not p ln(p/eps) = -4.6e-9
Q = _f([[1e-9, 1 - 1e-9]])
case("kl p=q below eps", "kl", (Q, Q), _f([0.0]), {"predictions": _f([[-1.0, -1.0]])})
# q below p below eps: clipped to p (its term 0), the other term -9e-10: the sum is held at 0, gradient 0
Q, Pt = _f([[1e-10, 1 - 1e-10]]), _f([[1e-9, 1 - 1e-9]])
case("kl q<p<eps", "kl", (Q, Pt), _f([0.0]), {"predictions": _f([[0.0, 0.0]])})

# softmax_ce: index labels (target the row max: log1p form; not the max), label rows, smoothing, weights
Z, y = _f([[4.0, -4.0, 3.0], [2.0, 3.0, 4.0], [1e4, -1e4, 0.0], [30.0, 0.0, 0.0]]), np.array([0, 1, 0, 0])
S = mp_softmax(Z)
case("softmax_ce index: target max and not max", "softmax_ce", (Z, y), mp_nll(Z, y),
     {"logits": S - np.eye(3)[y]}, rtol=1e-11)
Z2, y2 = Z[:2], y[:2]
case("softmax_ce index (finite differences)", "softmax_ce", (Z2, y2), mp_nll(Z2, y2), {"logits": mp_softmax(Z2) - np.eye(3)[y2]},
     fd={"logits": 1e-6})
Y = _f([[0.2, 0.3, 0.5], [0.0, 1.0, 0.0]])
case("softmax_ce label rows", "softmax_ce", (Z2, Y), -np.sum(Y * np.log(mp_softmax(Z2)), axis=1),
     {"logits": mp_softmax(Z2) - Y}, fd={"logits": 1e-6}, rtol=1e-11)
T = 0.7 * np.eye(3)[y2] + 0.1
case("softmax_ce label_smoothing=0.3", "softmax_ce", (Z2, y2), -np.sum(T * np.log(mp_softmax(Z2)), axis=1),
     {"logits": mp_softmax(Z2) - T}, params={"label_smoothing": 0.3}, fd={"logits": 1e-6}, rtol=1e-11)
W = _f([1.0, 0.5, 2.0])
case("softmax_ce class_weights", "softmax_ce", (Z2, y2), W[y2] * mp_nll(Z2, y2),
     {"logits": W[y2][:, None] * (mp_softmax(Z2) - np.eye(3)[y2])}, params={"class_weights": tuple(W)},
     fd={"logits": 1e-6})

# bce_logits: softplus (max(x, 0) branch) and sigmoid (where(x >= 0) branch), both signs, extremes
x, y = _f([-3.0, -0.5, 0.0, 2.0]), _f([1.0, 0.0, 1.0, 0.3])
case("bce_logits both signs", "bce_logits", (x, y), y * softplus(-x) + (1 - y) * softplus(x),
     {"logits": (1 - y) * sigmoid(x) - y * sigmoid(-x)}, fd={"logits": 1e-6})
x, y = _f([-800.0, 800.0, -800.0, 800.0]), _f([1.0, 1.0, 0.0, 0.0])
case("bce_logits |x|=800", "bce_logits", (x, y), _f([800.0, 0.0, 0.0, 800.0]), {"logits": _f([-1.0, 0.0, 0.0, 1.0])},
     fd={"logits": 1e-3})
x, y = _f([-1.0, 2.0]), _f([1.0, 0.0])
case("bce_logits pos_weight", "bce_logits", (x, y), 2.5 * y * softplus(-x) + (1 - y) * softplus(x),
     {"logits": (1 - y) * sigmoid(x) - 2.5 * y * sigmoid(-x)}, params={"pos_weight": 2.5}, fd={"logits": 1e-6})


# focal: α_t (1 - p_t)^γ CE; log(0) branch of _log_pos for hard labels, both finite for soft ones;
# α < 0 disables the weighting; γ = 0 drops the second term of the gradient
def focal_ref(x, y, alpha, gamma):
    ce = y * softplus(-x) + (1 - y) * softplus(x)
    q = y * sigmoid(-x) + (1 - y) * sigmoid(x)
    at = 1.0 if alpha < 0 else alpha * y + (1 - alpha) * (1 - y)
    return at * q ** gamma * ce


x, y = _f([-3.0, 0.5, 2.0, 4.0, -1.0]), _f([0.0, 1.0, 0.0, 1.0, 0.3])
for alpha, gamma in ((0.25, 2.0), (-1.0, 2.0), (0.25, 0.5), (0.7, 0.0)):
    g0 = None
    if gamma == 0.0:
        at = 1.0 if alpha < 0 else alpha * y + (1 - alpha) * (1 - y)
        g0 = {"logits": at * ((1 - y) * sigmoid(x) - y * sigmoid(-x))}
    case(f"focal alpha={alpha} gamma={gamma}", "focal", (x, y), focal_ref(x, y, alpha, gamma), g0,
         params={"alpha": alpha, "gamma": gamma}, fd={"logits": 1e-6}, rtol=1e-11)


# softmax_focal: -α (1 - p_t)^γ log p_t; γ = 0 is α·CE (its own branch in the gradient)
def sfocal_ref(z, y, alpha, gamma):
    s = mp_softmax(z)
    pt = s[np.arange(len(y)), y]
    return -alpha * (1 - pt) ** gamma * np.log(pt)


Z, y = _f([[1.0, 2.0, 0.5], [0.3, -1.0, 2.0]]), np.array([1, 0])
for alpha, gamma in ((1.0, 2.0), (0.5, 0.0), (2.0, 0.5)):
    g0 = {"logits": alpha * (mp_softmax(Z) - np.eye(3)[y])} if gamma == 0.0 else None
    case(f"softmax_focal alpha={alpha} gamma={gamma}", "softmax_focal", (Z, y), sfocal_ref(Z, y, alpha, gamma), g0,
         params={"alpha": alpha, "gamma": gamma}, fd={"logits": 1e-6}, rtol=1e-11)

# poly1: CE + ε(1 - p_t); class-index branch (expm1 form) and label-row branch
Z, y = _f([[1.0, 2.0, 0.5], [0.3, -1.0, 2.0]]), np.array([1, 0])
S = mp_softmax(Z)
pt = S[np.arange(2), y]
case("poly1 index labels", "poly1", (Z, y), -np.log(pt) + 2.0 * (1 - pt),
     {"logits": S - np.eye(3)[y] - 2.0 * S * (np.eye(3)[y] - pt[:, None])}, fd={"logits": 1e-6}, rtol=1e-11)
Y = _f([[0.2, 0.3, 0.5], [1.0, 0.0, 0.0]])
ptr = np.sum(Y * S, axis=1)
case("poly1 label rows, epsilon=-0.5", "poly1", (Z, Y), -np.sum(Y * np.log(S), axis=1) - 0.5 * (1 - ptr),
     {"logits": S * Y.sum(axis=1, keepdims=True) - Y + 0.5 * S * (Y - ptr[:, None])}, params={"epsilon": -0.5},
     fd={"logits": 1e-6}, rtol=1e-11)

# hinge / squared_hinge: max(0, v), binary v = m - y f; Crammer-Singer v = m + max_{j≠y} s_j - s_y
f, y = _f([0.5, -1.0, 0.2]), _f([1.0, 1.0, -1.0])
v = 1 - y * f  # 0.5, 2, 1.2: active
case("hinge binary active", "hinge", (f, y), v, {"scores": -y}, fd={"scores": 1e-6})
case("squared_hinge binary active", "squared_hinge", (f, y), v * v, {"scores": -2 * v * y}, fd={"scores": 1e-6})
f, y = _f([2.0, -3.0]), _f([1.0, -1.0])  # v = -1, -2: inactive
case("hinge binary inactive", "hinge", (f, y), _f([0.0, 0.0]), {"scores": _f([0.0, 0.0])}, fd={"scores": 1e-6})
case("squared_hinge binary inactive", "squared_hinge", (f, y), _f([0.0, 0.0]), {"scores": _f([0.0, 0.0])},
     fd={"scores": 1e-6})
case("hinge binary at the margin (subgradient 0)", "hinge", (_f([1.0]), _f([1.0])), _f([0.0]), {"scores": _f([0.0])})
S, y = _f([[2.0, 1.5, -1.0], [0.0, 3.0, 1.0]]), np.array([0, 0])  # v = 0.5, 4: active
case("hinge Crammer-Singer active", "hinge", (S, y), _f([0.5, 4.0]), {"scores": _f([[-1, 1, 0], [-1, 1, 0]])},
     fd={"scores": 1e-6})
case("squared_hinge Crammer-Singer active", "squared_hinge", (S, y), _f([0.25, 16.0]),
     {"scores": _f([[-1.0, 1.0, 0.0], [-8.0, 8.0, 0.0]])}, fd={"scores": 1e-6})
S, y = _f([[3.0, 0.0, 1.5]]), np.array([0])  # v = 1 + 1.5 - 3 = -0.5: inactive
case("hinge Crammer-Singer inactive", "hinge", (S, y), _f([0.0]), {"scores": np.zeros((1, 3))}, fd={"scores": 1e-6})
case("squared_hinge Crammer-Singer inactive", "squared_hinge", (S, y), _f([0.0]), {"scores": np.zeros((1, 3))},
     fd={"scores": 1e-6})

# zero_one (not differentiable): threshold and sign comparisons on each side, argmax ties
case("zero_one threshold both sides", "zero_one", (_f([0.5, 0.49, 0.7, 0.2]), _f([1, 1, 0, 0])), _f([0, 1, 1, 0]),
     params={"mode": "threshold"})
case("zero_one threshold=0.3", "zero_one", (_f([0.31, 0.29]), _f([1, 1])), _f([0, 1]),
     params={"mode": "threshold", "threshold": 0.3})
case("zero_one sign, y·f<=0 is an error", "zero_one", (_f([2.0, -1.0, 0.0]), _f([1, 1, -1])), _f([0, 1, 1]),
     params={"mode": "sign"})
case("zero_one argmax tie -> lowest class", "zero_one", (_f([[1.0, 1.0], [0.2, 0.9]]), _f([1, 1])), _f([1, 0]))

# == embedding ======================================================================================
# triplet: max(0, ‖a-p+eps‖ - ‖a-n+eps‖ + m)
a, pp, n = _f([[0.0, 0.0], [1.0, 1.0]]), _f([[0.6, 0.8], [1.0, 2.0]]), _f([[1.0, 0.0], [1.0, 1.5]])
u, w = a - pp + 1e-6, a - n + 1e-6
nu, nw = np.linalg.norm(u, axis=1, keepdims=True), np.linalg.norm(w, axis=1, keepdims=True)
val = nu[:, 0] - nw[:, 0] + 1.0
case("triplet active", "triplet", (a, pp, n), val, {"anchor": u / nu - w / nw, "positive": -u / nu, "negative": w / nw},
     fd={"anchor": 1e-6, "positive": 1e-6, "negative": 1e-6})
a, pp, n = _f([[0.0, 0.0]]), _f([[0.1, 0.0]]), _f([[5.0, 0.0]])
case("triplet inactive", "triplet", (a, pp, n), _f([0.0]),
     {"anchor": np.zeros((1, 2)), "positive": np.zeros((1, 2)), "negative": np.zeros((1, 2))},
     fd={"anchor": 1e-6, "positive": 1e-6, "negative": 1e-6})
a, pp, n = _f([[1.0, 2.0]]), _f([[1.0, 2.0]]), _f([[1.3, 2.4]])  # a = p, eps = 0: ‖u‖ floored, u/‖u‖ = 0
case("triplet a=p with eps=0 (norm floor)", "triplet", (a, pp, n), _f([1.0 - 0.5]),
     {"anchor": _f([[0.6, 0.8]]), "positive": np.zeros((1, 2)), "negative": _f([[-0.6, -0.8]])}, params={"eps": 0.0})

# contrastive: ½[y d² + (1 - y) max(0, m - d)²]
x1, x2 = _f([[0.0, 0.0], [0.0, 0.0], [0.0, 0.0]]), _f([[0.3, 0.4], [0.3, 0.4], [3.0, 4.0]])
lab = _f([1.0, 0.0, 0.0])  # similar; dissimilar inside the margin (d = 0.5 < 1); dissimilar beyond it (d = 5)
g1 = _f([[-0.3, -0.4], [0.5 / 0.5 * 0.3, 0.5 / 0.5 * 0.4], [0.0, 0.0]])  # [y - (1-y)(m-d)/d](x1 - x2)
case("contrastive similar / pushed / beyond margin", "contrastive", (x1, x2, lab), _f([0.125, 0.125, 0.0]),
     {"x1": g1, "x2": -g1}, fd={"x1": 1e-6, "x2": 1e-6})
case("contrastive dissimilar at d=0 (subgradient 0)", "contrastive", (_f([[1.0, 1.0]]), _f([[1.0, 1.0]]), _f([0.0])),
     _f([0.5]), {"x1": np.zeros((1, 2)), "x2": np.zeros((1, 2))})

# margin_ranking: max(0, -y(x1 - x2) + m)
x1, x2, s = _f([2.0, 1.0, 0.5]), _f([1.0, 2.0, 0.5]), _f([1.0, 1.0, -1.0])
case("margin_ranking inactive / active / active", "margin_ranking", (x1, x2, s), _f([0.0, 1.5, 0.5]),
     {"x1": _f([0.0, -1.0, 1.0]), "x2": _f([0.0, 1.0, -1.0])}, params={"margin": 0.5}, fd={"x1": 1e-6, "x2": 1e-6})


# cosine_embedding: 1 - cos (y = 1); max(0, cos - m) (y = -1); PyTorch's EPSILON (the float32 1e-12)
# added to each squared norm
TORCH_EPS = float(np.float32(1e-12))


def cos_parts(x1, x2):
    n1 = np.sqrt(np.sum(x1 * x1, axis=1, keepdims=True) + TORCH_EPS)
    n2 = np.sqrt(np.sum(x2 * x2, axis=1, keepdims=True) + TORCH_EPS)
    c = np.sum(x1 * x2, axis=1) / (n1[:, 0] * n2[:, 0])
    d1 = x2 / (n1 * n2) - c[:, None] * x1 / n1 ** 2  # ∂cos/∂x1
    d2 = x1 / (n1 * n2) - c[:, None] * x2 / n2 ** 2
    return c, d1, d2


x1, x2 = _f([[1.0, 2.0], [1.0, 0.2], [1.0, 0.0]]), _f([[2.0, 1.0], [1.0, 0.0], [-1.0, 0.5]])
lab = _f([1.0, -1.0, -1.0])  # y = 1; y = -1 with cos > m (active); y = -1 with cos < m (inactive)
c, d1, d2 = cos_parts(x1, x2)
m = 0.3
sel = np.where(lab > 0, -1.0, (c > m).astype(float))[:, None]
case("cosine_embedding y=1 / y=-1 active / y=-1 inactive", "cosine_embedding", (x1, x2, lab),
     np.where(lab > 0, 1 - c, np.maximum(c - m, 0)), {"x1": sel * d1, "x2": sel * d2}, params={"margin": m},
     fd={"x1": 1e-6, "x2": 1e-6})
u2 = _f([[0.6, 0.8]])
case("cosine_embedding zero vector (eps in the squared norms: cos = 0)", "cosine_embedding",
     (np.zeros((1, 2)), 5 * u2, _f([1.0])), _f([1.0]),
     {"x1": -5 * u2 / np.sqrt(TORCH_EPS * (25 + TORCH_EPS)), "x2": np.zeros((1, 2))}, fd={"x1": 1e-10})


# arcface: φ = cos(θ+m) if cos θ_y > cos(π - m) (main) else cos θ_y - m sin m (fallback);
# sin θ = sqrt(clip(1 - cos², 0, 1)), floored at 1e-12 in φ'
def arcface_ref(cosm, y, s, m):
    n = np.arange(len(y))
    cy = cosm[n, y]
    sin = np.sqrt(np.clip(1 - cy * cy, 0, 1))
    main = cy > math.cos(math.pi - m)
    phi = np.where(main, np.cos(np.arccos(cy) + m), cy - m * math.sin(m))
    dphi = np.where(main, math.cos(m) + math.sin(m) * cy / np.maximum(sin, 1e-12), 1.0)
    logits = s * cosm
    logits[n, y] = s * phi
    sm = mp_softmax(logits)
    g = s * sm
    g[n, y] = s * (sm[n, y] - 1) * dphi
    return mp_nll(logits, y), g


C, y = _f([[0.5, 0.2, -0.3], [0.1, 0.6, 0.3]]), np.array([0, 2])
v_, g_ = arcface_ref(C, y, 4.0, 0.5)
case("arcface main branch", "arcface", (C, y), v_, {"cosine": g_}, params={"scale": 4.0}, fd={"cosine": 1e-7}, rtol=1e-10)
C, y = _f([[-0.95, 0.2, -0.3]]), np.array([0])
v_, g_ = arcface_ref(C, y, 4.0, 0.5)
case("arcface fallback (theta > pi - m)", "arcface", (C, y), v_, {"cosine": g_}, params={"scale": 4.0},
     fd={"cosine": 1e-7}, rtol=1e-10)
C, y = _f([[1.0, 0.2, -0.3], [-1.0, 0.1, 0.0]]), np.array([0, 0])
v_, g_ = arcface_ref(C, y, 4.0, 0.5)
case("arcface |cos|=1 (sin clipped to 0, floored in the derivative)", "arcface", (C, y), v_, {"cosine": g_},
     params={"scale": 4.0}, rtol=1e-9)

# infonce: a zero query has cosine 0 with every key (norm floor): the loss is log N
Q, K = _f([[0.0, 0.0], [1.0, 0.5], [-0.3, 0.8]]), _f([[1.0, 0.0], [0.2, 1.0], [-1.0, 1.0]])
kn = K / np.linalg.norm(K, axis=1, keepdims=True)
logits = (Q / np.maximum(np.linalg.norm(Q, axis=1, keepdims=True), 1e-12)) @ kn.T / 0.5
case("infonce zero query (norm floor)", "infonce", (Q, K), mp_nll(logits, np.arange(3)), None,
     params={"temperature": 0.5}, fd={"query": 1e-16}, rtol=1e-12)


def _sum_loss(loss, args, params, i, x):
    call = list(args)
    call[i] = x
    return math.fsum(loss.fn(*call, **loss.resolve_params(params)))


def _central(loss, args, params, i, h):
    x = np.array(args[i], dtype=np.float64)
    g = np.zeros_like(x)
    flat, gflat = x.reshape(-1), g.reshape(-1)
    for k in range(flat.size):
        old = flat[k]
        flat[k] = old + h
        up = _sum_loss(loss, args, params, i, x)
        flat[k] = old - h
        down = _sum_loss(loss, args, params, i, x)
        flat[k] = old
        gflat[k] = (up - down) / (2 * h)
    return g


@pytest.mark.parametrize("c", CASES, ids=[c.id for c in CASES])
def test_branch_value_and_gradient(c):
    # the raw per-sample function and its gradient at each branch (calling the loss validates the
    # inputs, which may renormalise a row or refuse a finite-difference step out of the domain)
    loss = losscli.get_loss(c.loss)
    params = loss.resolve_params(c.params)
    with np.errstate(over="raise", divide="raise", invalid="raise"):  # no inf/NaN from finite inputs
        value = loss.fn(*c.args, **params)
        np.testing.assert_allclose(value, c.value, rtol=c.rtol, atol=1e-300, err_msg="value")
        if not loss.has_gradient:
            assert c.grad is None and not c.fd
            return
        grads = loss.gradient_of(dict(zip(loss.input_names, c.args)), params)
    for role, expected in (c.grad or {}).items():
        scale = max(float(np.max(np.abs(expected))), 1.0)
        np.testing.assert_allclose(grads[role], expected, rtol=1e-10, atol=1e-14 * scale, err_msg=f"d/d{role}")
    order = [r.name for r in loss.inputs]
    for role, h in c.fd.items():
        i = order.index(role)
        numeric = _central(loss, c.args, c.params, i, h)
        scale = max(float(np.max(np.abs(numeric))), 1.0)
        np.testing.assert_allclose(grads[role], numeric, rtol=1e-6, atol=1e-7 * scale, err_msg=f"fd d/d{role}")
