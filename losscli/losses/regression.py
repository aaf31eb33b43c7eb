"""Regression losses: functions of the residual between predictions p and targets t.

Conventions (``losscli info NAME`` repeats them):
- inputs of any shape (N, ...) with one sample per row; a sample's loss is the mean over its
  elements (``l2`` is the sum), so the ``mean`` reduction equals PyTorch's element mean;
- d = p - t for the error losses; quantile and mbe use r = t - p as their references do;
- gradients are with respect to the predictions.
"""

from __future__ import annotations

import numpy as np

from ..numerics import rows
from ..registry import Input, Param, register_loss

_PRED = Input("predictions", "N,...", "real", description="model outputs")
_LABELS = Input("labels", "=predictions", "real", description="targets, same shape as predictions")
_REGRESSION = dict(inputs=(_PRED, _LABELS), differentiable=("predictions",), category="regression",
                   coupling="elementwise")


def _row_mean(term: np.ndarray) -> np.ndarray:
    return rows(term).mean(axis=1)


def _per_element(grad_term: np.ndarray) -> np.ndarray:
    """Gradient of a row mean: each element's derivative divided by the elements in its row."""
    return grad_term / rows(grad_term).shape[1]


@register_loss(
    "mse", aliases=("mean_squared_error", "squared_error"), **_REGRESSION,
    summary="Mean squared error",
    formula="l_i = (1/M) Σ_j (p_ij - t_ij)²   (M = elements per sample)",
    gradient_formula="∂L/∂p_ij = 2 (p_ij - t_ij) / M",
    references=("Gauss, Theoria motus corporum coelestium, 1809 (least squares)",
                "PyTorch torch.nn.MSELoss"),
)
def mse(predictions, labels):
    """Mean squared error: l_i = mean_j (p_ij - t_ij)^2 (Gauss 1809; torch.nn.MSELoss)."""
    return _row_mean((predictions - labels) ** 2)


@mse.gradient
def _mse_grad(predictions, labels):
    return {"predictions": _per_element(2.0 * (predictions - labels))}


@register_loss(
    "l2", aliases=("sse", "sum_squared_error"), **_REGRESSION,
    params={"half": Param(False, help="multiply by 1/2 (the textbook form ½Σ(y - t)²)")},
    summary="Sum of squared errors per sample (optionally halved)",
    formula="l_i = s · Σ_j (p_ij - t_ij)²,  s = 1/2 if half else 1",
    gradient_formula="∂L/∂p_ij = 2 s (p_ij - t_ij)",
    conventions=("half=false is the plain sum of squares; half=true is the textbook ½Σ(y - t)² "
                 "whose gradient is simply (y - t).",),
    references=("Bishop, Pattern Recognition and Machine Learning, 2006, eq. 1.2",),
)
def l2(predictions, labels, half=False):
    """Sum of squared errors: l_i = s Σ_j (p_ij - t_ij)^2, s = 1/2 when half (Bishop 2006, eq. 1.2)."""
    scale = 0.5 if half else 1.0
    return scale * rows((predictions - labels) ** 2).sum(axis=1)


@l2.gradient
def _l2_grad(predictions, labels, half=False):
    return {"predictions": (1.0 if half else 2.0) * (predictions - labels)}


@register_loss(
    "mae", aliases=("l1", "absolute", "mean_absolute_error"), **_REGRESSION,
    summary="Mean absolute error",
    formula="l_i = (1/M) Σ_j |p_ij - t_ij|",
    gradient_formula="∂L/∂p_ij = sign(p_ij - t_ij) / M   (0 at d = 0, a valid subgradient)",
    references=("Laplace, 1774 (least absolute deviations)", "PyTorch torch.nn.L1Loss"),
)
def mae(predictions, labels):
    """Mean absolute error: l_i = mean_j |p_ij - t_ij| (torch.nn.L1Loss)."""
    return _row_mean(np.abs(predictions - labels))


@mae.gradient
def _mae_grad(predictions, labels):
    return {"predictions": _per_element(np.sign(predictions - labels))}


@register_loss(
    "huber", **_REGRESSION,
    params={"delta": Param(1.0, constraint=">0", help="where the quadratic turns linear")},
    summary="Huber loss (PyTorch HuberLoss convention)",
    formula="l_i = (1/M) Σ_j h(d_ij),  h(d) = ½d² if |d| < δ else δ(|d| - ½δ),  d = p - t",
    gradient_formula="∂L/∂p_ij = (d if |d| < δ else δ·sign(d)) / M",
    conventions=("PyTorch HuberLoss convention: huber(δ) = δ · smooth_l1(β=δ); the quadratic part "
                 "is ½d² whatever δ, the linear part has slope δ.",),
    references=("Huber, Robust Estimation of a Location Parameter, Ann. Math. Statist. 35(1), 1964",
                "PyTorch torch.nn.HuberLoss"),
)
def huber(predictions, labels, delta=1.0):
    """Huber loss: ½d² if |d| < δ else δ(|d| - ½δ) (Huber 1964; torch.nn.HuberLoss)."""
    a = np.abs(predictions - labels)
    return _row_mean(np.where(a < delta, 0.5 * a * a, delta * (a - 0.5 * delta)))


@huber.gradient
def _huber_grad(predictions, labels, delta=1.0):
    d = predictions - labels
    return {"predictions": _per_element(np.clip(d, -delta, delta))}


@register_loss(
    "smooth_l1", aliases=("smoothl1",), **_REGRESSION,
    params={"beta": Param(1.0, constraint=">=0", help="width of the quadratic zone; 0 gives L1")},
    summary="Smooth L1 loss (PyTorch SmoothL1Loss convention)",
    formula="l_i = (1/M) Σ_j s(d_ij),  s(d) = ½d²/β if |d| < β else |d| - ½β;  β = 0: |d|",
    gradient_formula="∂L/∂p_ij = (d/β if |d| < β else sign(d)) / M",
    conventions=("PyTorch SmoothL1Loss convention: the linear part has slope 1 whatever β, so "
                 "smooth_l1(β) = huber(δ=β)/β; β = 0 is exactly the L1 loss.",),
    references=("Girshick, Fast R-CNN, ICCV 2015, arXiv:1504.08083", "PyTorch torch.nn.SmoothL1Loss"),
)
def smooth_l1(predictions, labels, beta=1.0):
    """Smooth L1: ½d²/β if |d| < β else |d| - ½β (Girshick 2015; torch.nn.SmoothL1Loss)."""
    a = np.abs(predictions - labels)
    if beta == 0:
        return _row_mean(a)
    return _row_mean(np.where(a < beta, 0.5 * a * a / beta, a - 0.5 * beta))


@smooth_l1.gradient
def _smooth_l1_grad(predictions, labels, beta=1.0):
    d = predictions - labels
    if beta == 0:
        return {"predictions": _per_element(np.sign(d))}
    return {"predictions": _per_element(np.clip(d / beta, -1.0, 1.0))}
