"""Regression losses: functions of the residual between predictions p and targets t.

Conventions (``losscli info NAME`` repeats them):
- inputs of any shape (N, ...) with one sample per row; a sample's loss is the mean over its
  elements (``l2`` is the sum), so the ``mean`` reduction equals PyTorch's element mean;
- d = p - t for the error losses; quantile and mbe use r = t - p as their references do;
- gradients are with respect to the predictions;
- msle, mape and the deviances are scikit-learn's metrics (values to 1e-12 of scikit-learn 1.9.1),
  their inputs in losscli's order (predictions, labels) where scikit-learn takes y_true first.
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
    conventions=("Per sample: the mean over the sample's elements, so the mean reduction is the mean "
                 "over all elements (PyTorch's, scikit-learn's uniform average, Keras's).",),
    references=("Gauss, Theoria motus corporum coelestium, 1809 (least squares)",
                "PyTorch torch.nn.MSELoss", "scikit-learn sklearn.metrics.mean_squared_error"),
    matches=("PyTorch torch.nn.MSELoss", "scikit-learn sklearn.metrics.mean_squared_error",
             "Keras keras.losses.MeanSquaredError", "optax optax.losses.squared_error"),
)
def mse(predictions, labels):
    """Mean squared error: l_i = mean_j (p_ij - t_ij)^2 (Gauss 1809; torch.nn.MSELoss)."""
    return _row_mean((predictions - labels) ** 2)


@mse.gradient
def _mse_grad(predictions, labels):
    return {"predictions": _per_element(2.0 * (predictions - labels))}


@register_loss(
    "rmse", aliases=("root_mean_squared_error",), **_REGRESSION, root=True,
    summary="Root mean squared error: the square root of the reduced squared errors",
    formula="value = √(Σ_i w_i l_i / Σ_i w_i),  l_i = (1/M) Σ_j (p_ij - t_ij)²   (per-sample values: l_i)",
    gradient_formula="∂value/∂p_ij = (p_ij - t_ij) / (M · Σ_i w_i · value) · w_i   (gradcheck checks ∂Σl_i/∂p_ij = "
                     "2 (p_ij - t_ij) / M)",
    conventions=("Per-sample values (--per-sample, statistics, worst samples) are each sample's squared error "
                 "l_i, the term under the root; the reported value is √(mean of l_i), and with --reduction sum "
                 "√(Σ l_i), the residuals' L2 norm.",
                 "Confidence intervals, compare's change, slices and --fail-above are of the root (each "
                 "bootstrap resample takes its own root); --save-grad is the gradient of the root (0 where "
                 "every residual is 0).",
                 "(N, K) targets: the root of the mean over all N·K elements, as torch.sqrt(MSELoss()); "
                 "scikit-learn's default multioutput='uniform_average' instead averages the K columns' roots."),
    references=("scikit-learn sklearn.metrics.root_mean_squared_error",),
    matches=("scikit-learn root_mean_squared_error (1-D targets)",),
)
def rmse(predictions, labels):
    """Root mean squared error: √(mean_i l_i), l_i = mean_j (p_ij - t_ij)^2 per sample
    (scikit-learn root_mean_squared_error); the root is taken by the reduction."""
    return _row_mean((predictions - labels) ** 2)


@rmse.gradient
def _rmse_grad(predictions, labels):
    return {"predictions": _per_element(2.0 * (predictions - labels))}


@register_loss(
    "l2", aliases=("sse", "sum_squared_error"), **_REGRESSION,
    params={"half": Param(False, help="multiply by 1/2 (the textbook form ½Σ(y - t)²)")},
    summary="Sum of squared errors per sample (optionally halved)",
    formula="l_i = s · Σ_j (p_ij - t_ij)²,  s = 1/2 if half else 1",
    gradient_formula="∂L/∂p_ij = 2 s (p_ij - t_ij)",
    conventions=("half=false is the plain sum of squares; half=true is the textbook ½Σ(y - t)² "
                 "whose gradient is simply (y - t).",
                 "half=true is optax.losses.l2_loss (elementwise ½(p - t)²) summed over a sample's elements.",),
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
    conventions=("At d = 0 the subgradient 0 is used, as PyTorch's autograd of |d| gives (Keras on "
                 "jax gives -1 there: jax differentiates |x| at 0 as 1).",),
    references=("Laplace, 1774 (least absolute deviations)", "PyTorch torch.nn.L1Loss",
                "scikit-learn sklearn.metrics.mean_absolute_error"),
    matches=("PyTorch torch.nn.L1Loss", "scikit-learn sklearn.metrics.mean_absolute_error",
             "Keras keras.losses.MeanAbsoluteError"),
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
                 "is ½d² whatever δ, the linear part has slope δ. Keras Huber and optax huber_loss "
                 "are the same function (δ = 1 by default in all three).",),
    references=("Huber, Robust Estimation of a Location Parameter, Ann. Math. Statist. 35(1), 1964",
                "PyTorch torch.nn.HuberLoss"),
    matches=("PyTorch torch.nn.HuberLoss", "Keras keras.losses.Huber", "optax optax.losses.huber_loss"),
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
    matches=("PyTorch torch.nn.SmoothL1Loss",),
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
    conventions=("cosh overflows for |d| > 710; the form d + softplus(-2d) - ln 2 does not.",
                 "For |d| < 1e-3 the series d²/2 - d⁴/12 + d⁶/45 is used: Keras LogCosh and optax "
                 "log_cosh subtract ln 2 from ~ln 2 there and keep only ~1e-16 absolute accuracy "
                 "(at d = 1e-8 they return 0 or 1.1e-16 where the loss is 5e-17; at d = 1e-5 they are "
                 "2e-6 off). For 1e-3 <= |d| < 1 it is log1p(2 sinh²(d/2)) (the form above cancels there "
                 "too: 1e-10 relative at |d| = 1e-3).",),
    references=("Chen et al., Log Hyperbolic Cosine Loss Improves Variational Auto-Encoder, 2019",
                "Keras keras.losses.LogCosh", "optax optax.losses.log_cosh"),
    matches=("Keras keras.losses.LogCosh", "optax optax.losses.log_cosh"),
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
    # below 1 the stable form cancels (1e-16 absolute where the loss is ~d²/2: 1e-10 relative at
    # |d| = 1e-3): log1p(cosh d - 1) = log1p(2 sinh²(d/2)) there, and the series below 1e-3
    mid = a < 1.0
    if mid.any():
        half = np.sinh(0.5 * a[mid])
        out[mid] = np.log1p(2.0 * half * half)
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
                 "τ = 0.5 is half the absolute error. At r = 0 the subgradient 0 is used "
                 "(scikit-learn defines no gradient; autograd of its formula would give -τ there).",
                 "Per sample: the mean over the sample's elements, so the mean reduction is "
                 "scikit-learn's mean_pinball_loss (uniform average over outputs).",),
    references=("Koenker & Bassett, Regression Quantiles, Econometrica 46(1), 1978",
                "scikit-learn sklearn.metrics.mean_pinball_loss (alpha = τ)"),
    matches=("scikit-learn sklearn.metrics.mean_pinball_loss (alpha = τ)",),
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
    "mbe", aliases=("mean_bias_error", "bias"), **_REGRESSION, nonnegative=False, ranked_by="magnitude",
    summary="Mean bias error (signed; a bias measure, not a risk)",
    formula="l_i = (1/M) Σ_j (t_ij - p_ij)",
    gradient_formula="∂L/∂p_ij = -1 / M",
    conventions=("Signed: positive when the model under-predicts on average. Errors of opposite "
                 "sign cancel, so it measures bias, not accuracy; do not minimise it.",
                 "Its worst samples and slices are those of the largest bias either way, |l_i| (an "
                 "over-prediction of 5 before an under-prediction of 1), and compare (and a baseline gate) "
                 "judges the change of its size, |value|: a bias from -0.47 to -0.01 is better. Bounds "
                 "(--fail-above, a gate's max and min) read the signed value: bound both sides with min and max.",),
    references=("Willmott, On the validation of models, Physical Geography 2(2), 1981",),
)
def mbe(predictions, labels):
    """Mean bias error: mean of r = t - p (Willmott 1981)."""
    return _row_mean(labels - predictions)


@mbe.gradient
def _mbe_grad(predictions, labels):
    return {"predictions": _per_element(-np.ones_like(predictions))}


def _poisson_validate(arrays, params, at=None):
    if not params["log_input"] and (arrays["predictions"] < 0).any():
        _refuse("poisson_nll", "predictions", arrays["predictions"], arrays["predictions"] < 0,
                "a negative rate; with log_input=false the predictions are rates >= 0 (use log_input=true "
                "for log-rates)", at)
    return arrays


@register_loss(
    "poisson_nll", aliases=("poisson",),
    inputs=(Input("predictions", "N,...", "rate_or_log_rate", description="log-rates (log_input=true) or rates"),
            Input("labels", "=predictions", "nonnegative", description="observed counts >= 0")),
    differentiable=("predictions",), category="regression", coupling="elementwise",
    params={"log_input": Param(True, help="predictions are log-rates"),
            "eps": Param(1e-8, constraint=">0", help="added to the rate inside log when log_input=false"),
            "full": Param(False, help="add the Stirling term t·log t - t + ½log(2πt) (where t > 1), "
                                      "as PyTorch full=True")},
    validate=_poisson_validate, nonnegative=False,
    summary="Poisson negative log-likelihood (PyTorch PoissonNLLLoss)",
    formula="l_i = (1/M) Σ_j [exp(p) - t·p + S(t)]  (log_input);  [p - t·log(p + eps) + S(t)]  (rates);  "
            "S(t) = t·log t - t + ½log(2πt) if full and t > 1, else 0",
    gradient_formula="∂L/∂p = (exp(p) - t) / M  (log_input);  (1 - t/(p + eps)) / M  (rates)",
    conventions=("As PyTorch PoissonNLLLoss: with full=false (the default) the constant log(t!) is "
                 "left out, so values can be negative.",
                 "full=true adds PyTorch's Stirling approximation of log(t!), t·log t - t + ½log(2πt), "
                 "only where t > 1 (0 for t <= 1, including non-integer t in (0, 1]); it does not "
                 "depend on p, so the gradient is the same. It approximates log(t!) "
                 "(t = 2: 0.6518 vs log 2 = 0.6931), so full=true is still not the exact NLL.",
                 "Keras keras.losses.Poisson is this loss with log_input=false and eps=1e-7.",),
    references=("McCullagh & Nelder, Generalized Linear Models, 2nd ed., 1989, ch. 6",
                "PyTorch torch.nn.PoissonNLLLoss"),
    matches=("PyTorch torch.nn.PoissonNLLLoss",),
)
def poisson_nll(predictions, labels, *, log_input=True, eps=1e-8, full=False):
    """Poisson NLL: exp(p) - t·p, or p - t·log(p + eps), plus with full the Stirling term
    t·log t - t + ½log(2πt) where t > 1 (torch.nn.PoissonNLLLoss)."""
    if log_input:
        term = np.exp(predictions) - labels * predictions
    else:
        term = predictions - labels * np.log(predictions + eps)
    if full:
        term = term + _stirling(labels)
    return _row_mean(term)


def _stirling(t: np.ndarray) -> np.ndarray:
    """PyTorch's full=True term: t·log t - t + ½log(2πt) where t > 1, else 0."""
    big = t > 1
    safe = np.where(big, t, 1.0)
    log_t = np.log(safe)
    return np.where(big, safe * log_t - safe + 0.5 * np.log(2.0 * math.pi * safe), 0.0)


@poisson_nll.gradient
def _poisson_nll_grad(predictions, labels, *, log_input=True, eps=1e-8, full=False):
    if log_input:
        return {"predictions": _per_element(np.exp(predictions) - labels)}
    return {"predictions": _per_element(1.0 - labels / (predictions + eps))}


@register_loss(
    "gaussian_nll", aliases=("gaussian", "normal_nll"),
    inputs=(Input("mean", "N,...", "real", description="predicted means"),
            Input("target", "=mean", "real", description="observed values"),
            Input("var", "=mean", "nonnegative", description="predicted variances >= 0")),
    differentiable=("mean", "var"), category="regression", coupling="elementwise",
    params={"eps": Param(1e-6, constraint=">0", help="variances are clamped below at eps"),
            "full": Param(False, help="add the constant ½log(2π), as PyTorch full=True")},
    nonnegative=False,
    summary="Gaussian negative log-likelihood (PyTorch GaussianNLLLoss)",
    formula="l_i = (1/M) Σ_j ½[log v + (t - μ)²/v] (+ ½log 2π if full),  v = max(var, eps)",
    gradient_formula="∂L/∂μ = (μ - t)/(v M);  ∂L/∂var = ½(1/v - (t - μ)²/v²)/M where var > eps, else 0",
    conventions=("As PyTorch GaussianNLLLoss: full=false (the default) leaves out ½log 2π; full=true "
                 "adds it (≈ 0.9189385), the exact Gaussian NLL. Where var < eps the "
                 "clamp is active and losscli's gradient w.r.t. var is 0, the clamped function's; "
                 "PyTorch passes the gradient through its clamp.",),
    references=("Nix & Weigend, Estimating the mean and variance of the target probability "
                "distribution, ICNN 1994", "PyTorch torch.nn.GaussianNLLLoss"),
    matches=("PyTorch torch.nn.GaussianNLLLoss (gradient w.r.t. var where var > eps)",),
)
def gaussian_nll(mean, target, var, *, eps=1e-6, full=False):
    """Gaussian NLL: ½(log v + (t-μ)²/v), v = max(var, eps), plus ½log 2π with full
    (Nix & Weigend 1994; torch GaussianNLLLoss)."""
    v = np.maximum(var, eps)
    d = target - mean
    term = 0.5 * (np.log(v) + (d / v) * d)  # (not d²/v: d² overflows beyond 1e154 where d²/v need not)
    if full:
        term += HALF_LOG_2PI
    return _row_mean(term)


#: ½log(2π), PyTorch's 0.5 * math.log(2 * math.pi)
HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


@gaussian_nll.gradient
def _gaussian_nll_grad(mean, target, var, *, eps=1e-6, full=False):
    v = np.maximum(var, eps)
    d = mean - target
    return {"mean": _per_element(d / v),
            "var": _per_element(np.where(var > eps, 0.5 * (1.0 / v - (d / v) ** 2), 0.0))}


# -- scikit-learn's regression metrics as losses ---------------------------------------------------
# sklearn's functions take (y_true, y_pred); losscli's files come in role order (predictions, labels).


def _refuse(loss: str, role: str, data: np.ndarray, mask: np.ndarray, rule: str, at=None):
    """InputError at the first flagged element: ``at(role, row, col)`` names its place in the file
    where the engine passes one (see _position); else ``LOSS ROLE, row R`` as poisson_nll does."""
    from ..errors import InputError, value_text

    r, c = (int(i) for i in np.argwhere(rows(mask))[0])
    value = float(rows(data)[r, c])
    col = c if data.ndim > 1 else None
    if at is not None:
        place = at(role, r, col)
    else:
        place = f"{loss} {role}, " + (f"row {r}" if col is None else f"index [{r}, {col}]")
    raise InputError(f"{place}: found {value_text(value)} ({rule})")


def _positive_pairs(*, rng, samples, **_):
    """predictions and labels in [0.1, 2]: valid for every Tweedie power."""
    return {"predictions": rng.uniform(0.1, 2.0, samples), "labels": rng.uniform(0.1, 2.0, samples)}


def _msle_sample(*, rng, samples, **_):
    """values in (-1, 3): log1p's whole domain but its edge, negatives included."""
    return {"predictions": rng.uniform(-0.9, 3.0, samples), "labels": rng.uniform(-0.9, 3.0, samples)}


def _msle_validate(arrays, params, at=None):
    for role in ("predictions", "labels"):
        bad = arrays[role] <= -1
        if bad.any():
            _refuse("msle", role, arrays[role], bad,
                    "msle expects values > -1: log(1 + x) is undefined at x <= -1", at)
    return arrays


def _log1p_difference(predictions, labels):
    """log(1 + p) - log(1 + t) for p, t > -1. Where (1 + p)/(1 + t) = 1 + u is within [1/2, 2]
    it is log1p(u), u = (p - t)/(1 + t) (p - t is exact there, so no cancellation when p ≈ t);
    elsewhere |difference| > ln 2 and log1p(p) - log1p(t) (scikit-learn's form) loses nothing."""
    with np.errstate(over="ignore"):  # u overflows only where 1 + u is far outside [1/2, 2]
        u = (predictions - labels) / (1.0 + labels)
    near = (u >= -0.5) & (u <= 1.0)
    return np.where(near, np.log1p(np.where(near, u, 0.0)), np.log1p(predictions) - np.log1p(labels))


@register_loss(
    "msle", aliases=("mean_squared_log_error",), **_REGRESSION,
    validate=_msle_validate, sampler=_msle_sample,
    summary="Mean squared logarithmic error (scikit-learn mean_squared_log_error)",
    formula="l_i = (1/M) Σ_j (log(1 + p_ij) - log(1 + t_ij))²,  p, t > -1",
    gradient_formula="∂L/∂p_ij = 2 (log(1 + p_ij) - log(1 + t_ij)) / ((1 + p_ij) M)",
    conventions=(
        "scikit-learn's mean_squared_log_error: inputs must be > -1 (log1p's domain), as scikit-learn "
        ">= 1.6 requires; scikit-learn before 1.6 refused every negative value. A value <= -1 is "
        "exit 2 naming the row.",
        "Per sample: the mean over the sample's elements, so the mean reduction equals "
        "scikit-learn's uniform average over outputs.",
        "log(1 + p) - log(1 + t) is computed as log1p((p - t)/(1 + t)) where the ratio (1+p)/(1+t) is "
        "within [1/2, 2] (exact when p ≈ t), as log1p(p) - log1p(t) elsewhere.",
        "Keras MeanSquaredLogarithmicError differs: it clips both inputs below at 1e-7 and takes "
        "log(x + 1), so it equals msle only where p, t >= 1e-7, and there to ~1e-16/x relative "
        "(x = 1e-7: 1e-9); Keras returns 0 for p = -0.5, t = 0 where msle gives 0.4805.",
        "Inputs in losscli's order: predictions then labels (scikit-learn's functions take y_true first).",
    ),
    references=("scikit-learn sklearn.metrics.mean_squared_log_error",
                "Keras keras.losses.MeanSquaredLogarithmicError (clips at 1e-7)"),
    matches=("scikit-learn sklearn.metrics.mean_squared_log_error",),
)
def msle(predictions, labels):
    """Mean squared log error: (log1p(p) - log1p(t))² (scikit-learn mean_squared_log_error)."""
    return _row_mean(np.square(_log1p_difference(predictions, labels)))


@msle.gradient
def _msle_grad(predictions, labels):
    return {"predictions": _per_element(2.0 * _log1p_difference(predictions, labels) / (1.0 + predictions))}


#: scikit-learn's MAPE denominator floor: np.finfo(np.float64).eps = 2.220446049250313e-16
MAPE_EPS = float(np.finfo(np.float64).eps)


@register_loss(
    "mape", aliases=("mean_absolute_percentage_error",), **_REGRESSION,
    summary="Mean absolute percentage error, as a fraction (scikit-learn convention)",
    formula="l_i = (1/M) Σ_j |p_ij - t_ij| / max(|t_ij|, ε),  ε = 2.220446049250313e-16",
    gradient_formula="∂L/∂p_ij = sign(p_ij - t_ij) / (max(|t_ij|, ε) M)   (0 at p = t)",
    conventions=(
        "scikit-learn's mean_absolute_percentage_error: a fraction, not a percentage (0.25 is 25%), "
        "and ε = np.finfo(float64).eps = 2.220446049250313e-16 floors the denominator, so t = 0 gives "
        "|p|/ε ≈ 4.5e15·|p|, as in scikit-learn (beyond float64's range, |p - t| > 4e292, scikit-learn gives inf; "
        "losscli refuses the input, exit 2, naming the row).",
        "Keras MeanAbsolutePercentageError (also named mean_absolute_percentage_error) is 100 × this "
        "with ε = 1e-7: it equals 100·mape only where |t| >= 1e-7. The alias here means scikit-learn's.",
        "Per sample: the mean over the sample's elements, so the mean reduction equals "
        "scikit-learn's uniform average over outputs. Gradient w.r.t. predictions only; the "
        "subgradient 0 at p = t.",
    ),
    references=("de Myttenaere et al., Mean Absolute Percentage Error for regression models, "
                "Neurocomputing 192, 2016, arXiv:1605.02541",
                "scikit-learn sklearn.metrics.mean_absolute_percentage_error"),
    matches=("scikit-learn sklearn.metrics.mean_absolute_percentage_error",),
)
def mape(predictions, labels):
    """MAPE as a fraction: |p - t| / max(|t|, eps), eps = float64 eps (scikit-learn;
    de Myttenaere et al. 2016)."""
    with np.errstate(over="ignore"):  # |p - t|/eps beyond float64's range is inf, as in scikit-learn
        return _row_mean(np.abs(predictions - labels) / np.maximum(np.abs(labels), MAPE_EPS))


@mape.gradient
def _mape_grad(predictions, labels):
    return {"predictions": _per_element(np.sign(predictions - labels) / np.maximum(np.abs(labels), MAPE_EPS))}


# -- Tweedie deviances ----------------------------------------------------------------------------
#: coefficients of ψ(x) = (e^x - 1 - x)/x² = Σ_k x^k/(k+2)!; 20 terms: the remainder at |x| <= 1
#: is below 1e-20 of ψ
_PSI = tuple(1.0 / math.factorial(k + 2) for k in range(20))
#: |a·s| up to which F(a, s) = (e^{as} - 1 - as)/a is summed as a series (beyond it the direct
#: form loses at most a factor ~4 to cancellation)
TWEEDIE_SERIES_BELOW = 1.0


def _psi(x: np.ndarray) -> np.ndarray:
    """(e^x - 1 - x)/x² for |x| <= 1, by its Taylor series (Horner)."""
    acc = np.full_like(x, _PSI[-1])
    for c in _PSI[-2::-1]:
        acc *= x
        acc += c
    return acc


def _log_ratio(mu: np.ndarray, y: np.ndarray) -> np.ndarray:
    """log(μ/y) for μ, y > 0: log1p((μ - y)/y) where μ/y is within [1/2, 2] (μ - y exact there),
    log(μ/y) where the ratio is a normal number, log μ - log y where it over- or underflows."""
    with np.errstate(over="ignore", under="ignore"):
        r = mu / y
        u = (mu - y) / y
    near = (r >= 0.5) & (r <= 2.0)
    normal = np.isfinite(r) & (r >= np.finfo(np.float64).tiny)
    out = np.log(mu) - np.log(y)
    out = np.where(normal, np.log(np.where(normal, r, 1.0)), out)
    return np.where(near, np.log1p(np.where(near, u, 0.0)), out)


def _tweedie_half_deviance(mu: np.ndarray, y: np.ndarray, power: float) -> np.ndarray:
    """d_ρ(y, μ)/2 elementwise for validated inputs (ρ = power, not in (0, 1)).

    y > 0: y^{a1}[F(a1, s) - F(a2, s)] with a1 = 2 - ρ, a2 = 1 - ρ, s = log(μ/y) and
    F(a, s) = (e^{as} - 1 - as)/a (F(0, s) = 0): algebraically scikit-learn's
    y^{a1}/(a1 a2) - y μ^{a2}/a2 + μ^{a1}/a1, but with no cancellation at μ ≈ y or ρ ≈ 1, 2.
    Each F term is a·ψ(as)·(y^{a1/2} s)² for |as| <= 1, else (E_a - y^{a1}(1 + as))/a with
    E_{a1} = μ^{a1}, E_{a2} = y μ^{a2} (y^{a1} e^{as}, without forming e^{as}; E_{a2} as
    (y μ^{a2/2}) μ^{a2/2}, finite wherever the product is). Where both terms are direct, their
    ∓y^{a1}·s cancel exactly and the three-term form E1/a1 - E2/a2 + y^{a1}/(a1 a2) is used (no
    cancellation there: |a1 s|, |a2 s| > 1).
    y <= 0 (ρ < 2 only): μ^{a1}/a1 - y μ^{a2}/a2 (the first term of scikit-learn's form is 0)."""
    a1, a2 = 2.0 - power, 1.0 - power
    pos = y > 0
    ys = np.where(pos, y, 1.0)
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        s = _log_ratio(mu, ys)
        ya1 = ys ** a1
        root = ys ** (a1 / 2.0) * s
        mu_half_a2 = mu ** (a2 / 2.0)  # y μ^{a2} as (y μ^{a2/2}) μ^{a2/2}: μ^{a2} alone may overflow
        e1, e2 = mu ** a1, (ys * mu_half_a2) * mu_half_a2
        half = np.zeros(np.broadcast(mu, y).shape)
        both_direct = np.ones(half.shape, dtype=bool)
        for a, e_a, sign in ((a1, e1, 1.0), (a2, e2, -1.0)):
            if a == 0.0:
                both_direct[...] = False
                continue
            x = a * s
            small = np.abs(x) <= TWEEDIE_SERIES_BELOW
            both_direct &= ~small
            series = a * _psi(np.where(small, x, 0.0)) * root * root
            direct = (e_a - ya1 * (1.0 + x)) / a
            half += sign * np.where(small, series, direct)
        if both_direct.any():  # the ±y^{a1}·s of the two direct terms cancel: leave them out
            half = np.where(both_direct, e1 / a1 - e2 / a2 + ya1 / (a1 * a2), half)
        # a deviance beyond float64's range: inf - inf in the direct form; the deviance is >= 0
        half = np.where(np.isnan(half) & np.isfinite(mu) & np.isfinite(y), np.inf, half)
        if power < 2.0:
            nonpos = mu ** a1 / a1
            if power < 1.0:
                nonpos = nonpos - y * mu ** a2 / a2
        else:  # y <= 0 is outside the domain (the validator refuses it)
            nonpos = np.full_like(half, np.nan)
        half = np.where(pos, half, nonpos)
    return np.where(mu == y, 0.0, half)


def _tweedie_deviance(mu: np.ndarray, y: np.ndarray, power: float) -> np.ndarray:
    if power == 0.0:
        return np.square(mu - y)
    return 2.0 * _tweedie_half_deviance(mu, y, power)


def _tweedie_grad(mu: np.ndarray, y: np.ndarray, power: float) -> np.ndarray:
    """∂d_ρ/∂μ = 2 (μ - y) μ^{-ρ}, as 2((μ - y) μ^{-ρ/2}) μ^{-ρ/2}: no spurious overflow of μ^{-ρ}."""
    if power == 0.0:
        return 2.0 * (mu - y)
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):  # (0·inf at μ = y: set to 0)
        half_power = mu ** (-power / 2.0)
        g = 2.0 * ((mu - y) * half_power) * half_power
    return np.where(mu == y, 0.0, g)


def _check_power(power: float) -> None:
    if 0.0 < power < 1.0:
        from ..errors import ParameterError

        raise ParameterError(f"parameter tweedie_deviance.power: must be <= 0 or >= 1 (no Tweedie "
                             f"distribution has 0 < power < 1), got {power!r}")


def _tweedie_rule(power: float) -> tuple[str | None, str | None, str]:
    """(labels' rule, predictions' rule, the sentence) for a power, as scikit-learn checks them."""
    if power < 0:
        return None, ">0", f"tweedie_deviance with power={power:g} needs predictions > 0"
    if power == 0:
        return None, None, ""
    if power < 2:
        return ">=0", ">0", f"tweedie_deviance with power={power:g} needs labels >= 0 and predictions > 0"
    return ">0", ">0", f"tweedie_deviance with power={power:g} needs labels > 0 and predictions > 0"


def _tweedie_validate(arrays, params, at=None):
    power = params["power"]
    _check_power(power)
    label_rule, pred_rule, text = _tweedie_rule(power)
    for role, rule in (("predictions", pred_rule), ("labels", label_rule)):
        if rule is None:
            continue
        data = arrays[role]
        bad = data <= 0 if rule == ">0" else data < 0
        if bad.any():
            _refuse("tweedie_deviance", role, data, bad, text, at)
    return arrays


_TWEEDIE_DOMAINS = (
    "power (ρ) < 0: predictions > 0, labels any real; ρ = 0: any reals; 1 <= ρ < 2: labels >= 0, "
    "predictions > 0; ρ >= 2: both > 0; 0 < ρ < 1 is refused (no Tweedie distribution there). "
    "These are scikit-learn's rules; a value that breaks them is exit 2 naming the row and the rule.")
_TWEEDIE_FORM = (
    "Evaluated as 2·y^(2-ρ)[F(2-ρ, s) - F(1-ρ, s)], s = log(μ/y), F(a, s) = (e^(as) - 1 - as)/a "
    "(a series where |as| <= 1): the same function as scikit-learn's three-term form without its "
    "cancellation at μ ≈ y or ρ near 1 and 2 (ρ = 1.5, y = 1, μ = 1 + 1e-7: scikit-learn's float64 "
    "value is 7% off, losscli's < 1e-15; at μ = 1 + 1e-9 scikit-learn returns 0 for 1.0e-18). A value "
    "beyond float64's range is refused (exit 2, naming the row), not returned as inf.")
_PER_SAMPLE = ("Per sample: the mean over the sample's elements, so the mean reduction equals "
               "scikit-learn's value on the flattened arrays (its deviances take 1-D inputs only).")


@register_loss(
    "tweedie_deviance", aliases=("mean_tweedie_deviance",),
    inputs=(Input("predictions", "N,...", "real", description="predicted means μ (> 0 unless power = 0)"),
            Input("labels", "=predictions", "real", description="targets y (domain set by power)")),
    differentiable=("predictions",), category="regression", coupling="elementwise",
    params={"power": Param(0.0, help="Tweedie power ρ, <= 0 or >= 1: 0 squared error, 1 Poisson, "
                                     "2 Gamma, 3 inverse Gaussian")},
    validate=_tweedie_validate, sampler=_positive_pairs,
    summary="Tweedie deviance (scikit-learn mean_tweedie_deviance)",
    formula="l_i = (1/M) Σ_j d_ρ(y_ij, μ_ij),  d_ρ = 2[max(y,0)^(2-ρ)/((1-ρ)(2-ρ)) - y·μ^(1-ρ)/(1-ρ) + "
            "μ^(2-ρ)/(2-ρ)];  ρ = 0: (y - μ)²;  ρ = 1: 2[y·log(y/μ) - y + μ];  ρ = 2: 2[log(μ/y) + y/μ - 1]",
    gradient_formula="∂L/∂μ_ij = 2 (μ_ij - y_ij) μ_ij^(-ρ) / M   (every ρ)",
    conventions=(
        "scikit-learn's mean_tweedie_deviance with power = ρ (default 0, the squared error); "
        "μ = predictions, y = labels, inputs in that order (scikit-learn takes y_true first).",
        _TWEEDIE_DOMAINS, _PER_SAMPLE, _TWEEDIE_FORM,
        "ρ = 1 is poisson_deviance, ρ = 2 gamma_deviance. Gradient w.r.t. predictions only.",
    ),
    references=("Jørgensen, Exponential dispersion models, J. R. Statist. Soc. B 49(2), 1987",
                "scikit-learn sklearn.metrics.mean_tweedie_deviance"),
    matches=("scikit-learn sklearn.metrics.mean_tweedie_deviance",),
)
def tweedie_deviance(predictions, labels, *, power=0.0):
    """Tweedie deviance with power ρ (Jørgensen 1987; scikit-learn mean_tweedie_deviance):
    2[max(y,0)^(2-ρ)/((1-ρ)(2-ρ)) - y μ^(1-ρ)/(1-ρ) + μ^(2-ρ)/(2-ρ)], ρ = 0, 1, 2 as limits."""
    _check_power(power)
    return _row_mean(_tweedie_deviance(predictions, labels, power))


@tweedie_deviance.gradient
def _tweedie_deviance_grad(predictions, labels, *, power=0.0):
    _check_power(power)
    return {"predictions": _per_element(_tweedie_grad(predictions, labels, power))}


@register_loss(
    "poisson_deviance", aliases=("mean_poisson_deviance",),
    inputs=(Input("predictions", "N,...", "positive", description="predicted means μ > 0"),
            Input("labels", "=predictions", "nonnegative", description="observed counts y >= 0")),
    differentiable=("predictions",), category="regression", coupling="elementwise",
    summary="Poisson deviance (scikit-learn mean_poisson_deviance)",
    formula="l_i = (1/M) Σ_j 2[y·log(y/μ) - y + μ],  0·log 0 = 0 (xlogy)",
    gradient_formula="∂L/∂μ_ij = 2 (1 - y_ij/μ_ij) / M",
    conventions=(
        "scikit-learn's mean_poisson_deviance (tweedie_deviance with power=1): y >= 0, μ > 0; y = 0 "
        "gives 2μ (0·log 0 = 0, as scipy's xlogy). Inputs: predictions μ, then labels y.",
        _PER_SAMPLE,
        "Evaluated as 2y(e^s - 1 - s), s = log(μ/y), with a series near s = 0: no cancellation "
        "at μ ≈ y (scikit-learn's xlogy(y, y/μ) - y + μ has none left there).",
        "2 × (poisson_nll with log_input=false and eps=0, minus its minimum at μ = y): the "
        "deviance is 0 at μ = y, poisson_nll is not.",
    ),
    references=("McCullagh & Nelder, Generalized Linear Models, 2nd ed., 1989, §2.3",
                "scikit-learn sklearn.metrics.mean_poisson_deviance"),
    matches=("scikit-learn sklearn.metrics.mean_poisson_deviance",),
)
def poisson_deviance(predictions, labels):
    """Poisson deviance 2[y log(y/μ) - y + μ] (McCullagh & Nelder 1989; scikit-learn
    mean_poisson_deviance)."""
    return _row_mean(_tweedie_deviance(predictions, labels, 1.0))


@poisson_deviance.gradient
def _poisson_deviance_grad(predictions, labels):
    return {"predictions": _per_element(_tweedie_grad(predictions, labels, 1.0))}


@register_loss(
    "gamma_deviance", aliases=("mean_gamma_deviance",),
    inputs=(Input("predictions", "N,...", "positive", description="predicted means μ > 0"),
            Input("labels", "=predictions", "positive", description="targets y > 0")),
    differentiable=("predictions",), category="regression", coupling="elementwise",
    summary="Gamma deviance (scikit-learn mean_gamma_deviance)",
    formula="l_i = (1/M) Σ_j 2[log(μ/y) + y/μ - 1]",
    gradient_formula="∂L/∂μ_ij = 2 (μ_ij - y_ij) / (μ_ij² M)",
    conventions=(
        "scikit-learn's mean_gamma_deviance (tweedie_deviance with power=2): y > 0, μ > 0. "
        "Scale-free: the same for (cμ, cy). Inputs: predictions μ, then labels y.",
        _PER_SAMPLE,
        "Evaluated as 2(e^(-s) - 1 + s), s = log(μ/y), with a series near s = 0: no cancellation "
        "at μ ≈ y.",
    ),
    references=("McCullagh & Nelder, Generalized Linear Models, 2nd ed., 1989, ch. 8",
                "scikit-learn sklearn.metrics.mean_gamma_deviance"),
    matches=("scikit-learn sklearn.metrics.mean_gamma_deviance",),
)
def gamma_deviance(predictions, labels):
    """Gamma deviance 2[log(μ/y) + y/μ - 1] (McCullagh & Nelder 1989; scikit-learn
    mean_gamma_deviance)."""
    return _row_mean(_tweedie_deviance(predictions, labels, 2.0))


@gamma_deviance.gradient
def _gamma_deviance_grad(predictions, labels):
    return {"predictions": _per_element(_tweedie_grad(predictions, labels, 2.0))}
