"""Regression losses: functions of the residual between predictions p and targets t.

Conventions (``losscli info NAME`` repeats them):
- inputs of any shape (N, ...) with one sample per row; a sample's loss is the mean over its
  elements (``l2`` is the sum), so the ``mean`` reduction equals PyTorch's element mean;
- d = p - t for the error losses; quantile and mbe use r = t - p as their references do;
- gradients are with respect to the predictions.
"""

from __future__ import annotations

import math
from typing import TypedDict

import numpy as np

from ..numerics import rows
from ..registry import Input, Param, register_loss

_PRED = Input("predictions", "N,...", "real", description="model outputs")
_LABELS = Input("labels", "=predictions", "real", description="targets, same shape as predictions")


class _Declaration(TypedDict):
    """The register_loss keywords every regression loss shares."""

    inputs: tuple[Input, ...]
    differentiable: tuple[str, ...]
    category: str
    coupling: str


_REGRESSION: _Declaration = dict(inputs=(_PRED, _LABELS), differentiable=("predictions",),
                                 category="regression", coupling="elementwise")


def _row_mean(term: np.ndarray) -> np.ndarray:
    # one element per sample (the common case) needs no reduction: skip the (N, 1) mean
    return term if term.ndim == 1 else rows(term).mean(axis=1)


def _per_element(grad_term: np.ndarray) -> np.ndarray:
    """Gradient of a row mean: each element's derivative divided by the elements in its row."""
    return grad_term if grad_term.ndim == 1 else grad_term / rows(grad_term).shape[1]


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
def l2(predictions, labels, *, half=False):
    """Sum of squared errors: l_i = s Σ_j (p_ij - t_ij)^2, s = 1/2 when half (Bishop 2006, eq. 1.2)."""
    scale = 0.5 if half else 1.0
    return scale * rows((predictions - labels) ** 2).sum(axis=1)


@l2.gradient
def _l2_grad(predictions, labels, *, half=False):
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
def huber(predictions, labels, *, delta=1.0):
    """Huber loss: ½d² if |d| < δ else δ(|d| - ½δ) (Huber 1964; torch.nn.HuberLoss)."""
    a = np.abs(np.subtract(predictions, labels))
    q = np.minimum(a, delta)  # q(a - q/2) is ½a² below δ and δ(a - δ/2) above, bit for bit
    a -= 0.5 * q
    a *= q
    return _row_mean(a)


@huber.gradient
def _huber_grad(predictions, labels, *, delta=1.0):
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
def smooth_l1(predictions, labels, *, beta=1.0):
    """Smooth L1: ½d²/β if |d| < β else |d| - ½β (Girshick 2015; torch.nn.SmoothL1Loss)."""
    a = np.abs(predictions - labels)
    if beta == 0:
        return _row_mean(a)
    return _row_mean(np.where(a < beta, 0.5 * a * a / beta, a - 0.5 * beta))


@smooth_l1.gradient
def _smooth_l1_grad(predictions, labels, *, beta=1.0):
    d = predictions - labels
    if beta == 0:
        return {"predictions": _per_element(np.sign(d))}
    return {"predictions": _per_element(np.clip(d / beta, -1.0, 1.0))}


#: below this |d| log cosh d = d²/2 - d⁴/12 + d⁶/45 (next term 17d⁸/2520: < 1e-20 relative)
LOG_COSH_SERIES_BELOW = 1e-3


@register_loss(
    "log_cosh", aliases=("logcosh",), **_REGRESSION,
    summary="Log-cosh loss",
    formula="l_i = (1/M) Σ_j log cosh(d_ij),  computed as d + softplus(-2d) - ln 2,  d = p - t",
    gradient_formula="∂L/∂p_ij = tanh(d_ij) / M",
    conventions=("cosh overflows for |d| > 710; the form d + softplus(-2d) - ln 2 does not.",),
    references=("Chen et al., Log Hyperbolic Cosine Loss Improves Variational Auto-Encoder, 2019",
                "Keras keras.losses.LogCosh"),
)
def log_cosh(predictions, labels):
    """Log-cosh: log(cosh(d)) = d + softplus(-2d) - ln 2 (Keras LogCosh; Chen et al. 2019),
    evaluated as |d| + log1p(e^{-2|d|}) - ln 2 (the same, with e^x only for x <= 0), in place."""
    d = np.subtract(predictions, labels)
    a = np.abs(d)
    out = np.multiply(a, -2.0)
    np.exp(out, out=out)
    np.log1p(out, out=out)
    out += a
    out -= math.log(2.0)
    # near 0 the stable form cancels (1e-16 absolute where the loss is ~d²/2): the series there
    small = a < LOG_COSH_SERIES_BELOW
    if small.any():
        d2 = np.square(d[small])
        out[small] = d2 * (0.5 - d2 * (1.0 / 12.0 - d2 / 45.0))
    return _row_mean(out)


@log_cosh.gradient
def _log_cosh_grad(predictions, labels):
    return {"predictions": _per_element(np.tanh(predictions - labels))}


@register_loss(
    "quantile", aliases=("pinball",), **_REGRESSION,
    params={"tau": Param(0.5, constraint="(0,1)", help="the quantile level")},
    summary="Quantile (pinball) loss",
    formula="l_i = (1/M) Σ_j max(τ r_ij, (τ - 1) r_ij),  r = t - p",
    gradient_formula="∂L/∂p_ij = (-τ if r > 0, 1 - τ if r < 0, 0 at r = 0) / M",
    conventions=("r = t - p (target minus prediction), so τ > 0.5 penalises under-prediction more; "
                 "τ = 0.5 is half the absolute error. At r = 0 the subgradient 0 is used.",),
    references=("Koenker & Bassett, Regression Quantiles, Econometrica 46(1), 1978",
                "scikit-learn sklearn.metrics.mean_pinball_loss (alpha = τ)"),
)
def quantile(predictions, labels, *, tau=0.5):
    """Pinball loss: max(τr, (τ-1)r), r = t - p (Koenker & Bassett 1978)."""
    r = labels - predictions
    return _row_mean(np.maximum(tau * r, (tau - 1.0) * r))


@quantile.gradient
def _quantile_grad(predictions, labels, *, tau=0.5):
    r = labels - predictions
    return {"predictions": _per_element(np.where(r > 0, -tau, np.where(r < 0, 1.0 - tau, 0.0)))}


@register_loss(
    "mbe", aliases=("mean_bias_error", "bias"), **_REGRESSION, nonnegative=False,
    summary="Mean bias error (signed; a bias measure, not a risk)",
    formula="l_i = (1/M) Σ_j (t_ij - p_ij)",
    gradient_formula="∂L/∂p_ij = -1 / M",
    conventions=("Signed: positive when the model under-predicts on average. Errors of opposite "
                 "sign cancel, so it measures bias, not accuracy; do not minimise it.",),
    references=("Willmott, On the validation of models, Physical Geography 2(2), 1981",),
)
def mbe(predictions, labels):
    """Mean bias error: mean of r = t - p (Willmott 1981)."""
    return _row_mean(labels - predictions)


@mbe.gradient
def _mbe_grad(predictions, labels):
    return {"predictions": _per_element(-np.ones_like(predictions))}


def _poisson_validate(arrays, params):
    if not params["log_input"] and (arrays["predictions"] < 0).any():
        from ..errors import InputError

        i = int(np.argwhere(arrays["predictions"] < 0)[0][0])
        raise InputError(f"poisson_nll predictions, row {i}: found a negative rate "
                         f"{float(rows(arrays['predictions'])[i].min()):g}; with log_input=false the "
                         "predictions are rates >= 0 (use log_input=true for log-rates)")
    return arrays


@register_loss(
    "poisson_nll", aliases=("poisson",),
    inputs=(Input("predictions", "N,...", "real", description="log-rates (log_input=true) or rates"),
            Input("labels", "=predictions", "nonnegative", description="observed counts >= 0")),
    differentiable=("predictions",), category="regression", coupling="elementwise",
    params={"log_input": Param(True, help="predictions are log-rates"),
            "eps": Param(1e-8, constraint=">0", help="added to the rate inside log when log_input=false")},
    validate=_poisson_validate, nonnegative=False,
    summary="Poisson negative log-likelihood (PyTorch PoissonNLLLoss, full=false)",
    formula="l_i = (1/M) Σ_j [exp(p) - t·p]  (log_input);  [p - t·log(p + eps)]  (rates)",
    gradient_formula="∂L/∂p = (exp(p) - t) / M  (log_input);  (1 - t/(p + eps)) / M  (rates)",
    conventions=("As PyTorch PoissonNLLLoss with full=false: the constant log(t!) is left out, so "
                 "values can be negative.",),
    references=("McCullagh & Nelder, Generalized Linear Models, 2nd ed., 1989, ch. 6",
                "PyTorch torch.nn.PoissonNLLLoss"),
)
def poisson_nll(predictions, labels, *, log_input=True, eps=1e-8):
    """Poisson NLL: exp(p) - t·p, or p - t·log(p + eps) (torch.nn.PoissonNLLLoss, full=False)."""
    if log_input:
        return _row_mean(np.exp(predictions) - labels * predictions)
    return _row_mean(predictions - labels * np.log(predictions + eps))


@poisson_nll.gradient
def _poisson_nll_grad(predictions, labels, *, log_input=True, eps=1e-8):
    if log_input:
        return {"predictions": _per_element(np.exp(predictions) - labels)}
    return {"predictions": _per_element(1.0 - labels / (predictions + eps))}


@register_loss(
    "gaussian_nll", aliases=("gaussian", "normal_nll"),
    inputs=(Input("mean", "N,...", "real", description="predicted means"),
            Input("target", "=mean", "real", description="observed values"),
            Input("var", "=mean", "nonnegative", description="predicted variances >= 0")),
    differentiable=("mean", "var"), category="regression", coupling="elementwise",
    params={"eps": Param(1e-6, constraint=">0", help="variances are clamped below at eps")},
    nonnegative=False,
    summary="Gaussian negative log-likelihood (PyTorch GaussianNLLLoss, full=false)",
    formula="l_i = (1/M) Σ_j ½[log v + (t - μ)²/v],  v = max(var, eps)",
    gradient_formula="∂L/∂μ = (μ - t)/(v M);  ∂L/∂var = ½(1/v - (t - μ)²/v²)/M where var > eps, else 0",
    conventions=("As PyTorch GaussianNLLLoss with full=false (no ½log 2π). Where var < eps the "
                 "clamp is active and losscli's gradient w.r.t. var is 0, the clamped function's; "
                 "PyTorch passes the gradient through its clamp.",),
    references=("Nix & Weigend, Estimating the mean and variance of the target probability "
                "distribution, ICNN 1994", "PyTorch torch.nn.GaussianNLLLoss"),
)
def gaussian_nll(mean, target, var, *, eps=1e-6):
    """Gaussian NLL: ½(log v + (t-μ)²/v), v = max(var, eps) (Nix & Weigend 1994; torch GaussianNLLLoss)."""
    v = np.maximum(var, eps)
    return _row_mean(0.5 * (np.log(v) + (target - mean) ** 2 / v))


@gaussian_nll.gradient
def _gaussian_nll_grad(mean, target, var, *, eps=1e-6):
    v = np.maximum(var, eps)
    d = mean - target
    return {"mean": _per_element(d / v),
            "var": _per_element(np.where(var > eps, 0.5 * (1.0 / v - d * d / (v * v)), 0.0))}
