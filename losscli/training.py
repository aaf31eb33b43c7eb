"""Gradient descent for ``fit``: a linear model (regression losses) or a linear classifier (classification losses)
to a CSV by full-batch gradient descent on any registered loss, with its analytic gradient.

The loop every course describes: initialise (zeros), predict f = Xw + b, compute the loss,
back-propagate (∂L/∂w = Xᵀg/N, ∂L/∂b = Σg/N, g = the loss's gradient w.r.t. its predictions),
step w -= lr(t)·∂L/∂w, repeat. Features are standardised internally (zero mean, unit variance) so
one learning rate suits every column; the reported coefficients are mapped back to the original
units. An optional penalty λ₁‖w‖₁ + λ₂·½‖w‖² applies to the standardised weights (not the
intercept), as scikit-learn does after a StandardScaler.

Learning-rate schedules: ``schedules.py``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .errors import LossCliError
from .registry import Loss
from .schedules import learning_rate
from .shapes import is_class_table

@dataclass
class FitResult:
    loss: str
    features: list
    coef: np.ndarray  # (F,) or (F, C), original units
    intercept: np.ndarray
    history: list = field(default_factory=list)  # (epoch, lr, risk, penalty)

    @property
    def final_loss(self) -> float:
        return self.history[-1][2] + self.history[-1][3]


def require_fittable(loss: Loss) -> None:
    if not loss.has_gradient:
        raise LossCliError(f"fit: {loss.no_gradient_message()}")
    if loss.coupling == "batch" or len(loss.required_inputs) != 2:
        raise LossCliError(f"fit: {loss.name} is not a prediction/label loss (inputs: {loss.describe_inputs()})")


def fit(loss: Loss, X: np.ndarray, y: np.ndarray, params: dict, *, lr: float = 0.1, epochs: int = 200,
        schedule: str = "constant", step_size: int = 10, factor: float = 0.1, decay: float = 0.01,
        l1: float = 0.0, l2: float = 0.0, features=None, progress=None) -> FitResult:
    require_fittable(loss)
    params = loss.resolve_params(params)
    n, f = X.shape
    mu, sd = X.mean(axis=0), X.std(axis=0)
    sd = np.where(sd > 0, sd, 1.0)
    Z = (X - mu) / sd
    multiclass = is_class_table(loss.inputs[0].shape)
    W: np.ndarray  # (F,) or (F, C)
    b: np.ndarray | float
    if multiclass:
        classes = int(y.max()) + 1
        W, b = np.zeros((f, classes)), np.zeros(classes)
    else:
        W, b = np.zeros(f), 0.0
    role = loss.inputs[0].name
    history = []
    for t in range(epochs + 1):
        pred = Z @ W + b
        with np.errstate(all="ignore"):
            risk = float(np.mean(loss.fn(pred, y, **params)))
        pen = float(l1 * np.abs(W).sum() + l2 * 0.5 * (W * W).sum())
        rate = learning_rate(schedule, lr, t, step_size=step_size, factor=factor, decay=decay)
        if not math.isfinite(risk):
            raise LossCliError(f"fit: the loss diverged at epoch {t} (lr {rate:g}); lower --lr or use a schedule")
        history.append((t, rate, risk, pen))
        if progress:
            progress(t)
        if t == epochs:
            break
        with np.errstate(all="ignore"):
            g = loss.gradient_of({role: pred, loss.inputs[1].name: y}, params)[role] / n
        gW = Z.T @ g + l1 * np.sign(W) + l2 * W
        gb = g.sum(axis=0)
        W = W - rate * gW
        b = b - rate * gb
    coef = (W.T / sd).T
    intercept = np.asarray(b - (mu / sd) @ W)
    return FitResult(loss.name, list(features or range(f)), coef, intercept, history)


