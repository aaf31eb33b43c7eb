"""Classification losses on probabilities or logits.

Conventions (``losscli info NAME`` repeats them):
- probabilities fed to a logarithm are clipped to [eps, 1 - eps] (eps = 1e-7, as Keras); the
  gradient is that of the clipped function, so it is 0 where the clip is active;
- logit-based losses use log-sum-exp / softplus forms and need no clipping;
- class labels are either indices (N,) or rows (N, C) (one-hot or soft), told apart by shape.
"""

from __future__ import annotations

import numpy as np

from ..numerics import PROB_EPS, log_softmax, rows, softmax, target_rows
from ..registry import Input, Param, register_loss

_TARGET = Input("labels", "N|N,C", "target",
                description="class indices (N,) or one-hot / soft label rows (N, C)")
_EPS = Param(PROB_EPS, constraint="(0,0.5)", help="probabilities are clipped to [eps, 1 - eps]")


@register_loss(
    "bce", aliases=("binary_cross_entropy", "log_loss", "binary_crossentropy"),
    inputs=(Input("predictions", "N,...", "probability", description="predicted P(y = 1)"),
            Input("labels", "=predictions", "probability", description="targets in [0, 1]")),
    params={"eps": _EPS}, category="classification", coupling="elementwise",
    summary="Binary cross-entropy on probabilities",
    formula="l_i = -(1/M) Σ_j [y log c + (1 - y) log(1 - c)],  c = clip(p, eps, 1 - eps)",
    gradient_formula="∂L/∂p = (c - y) / (c (1 - c)) / M where eps < p < 1 - eps, else 0",
    conventions=("Probabilities are clipped to [eps, 1-eps] with eps = 1e-7 (Keras); PyTorch's "
                 "BCELoss instead clamps each log term at -100. The two agree for p in (1e-7, 1-1e-7).",
                 "Multi-label rows (N, K): a sample's loss is the mean over its K outputs."),
    references=("Cox, The Regression Analysis of Binary Sequences, JRSS-B 20(2), 1958",
                "PyTorch torch.nn.BCELoss; scikit-learn sklearn.metrics.log_loss"),
)
def bce(predictions, labels, eps=PROB_EPS):
    """Binary cross-entropy: -(y log p + (1-y) log(1-p)), p clipped to [eps, 1-eps] (Cox 1958)."""
    c = np.clip(predictions, eps, 1.0 - eps)
    return -rows(labels * np.log(c) + (1.0 - labels) * np.log1p(-c)).mean(axis=1)


@bce.gradient
def _bce_grad(predictions, labels, eps=PROB_EPS):
    c = np.clip(predictions, eps, 1.0 - eps)
    active = (predictions > eps) & (predictions < 1.0 - eps)
    g = np.where(active, (c - labels) / (c * (1.0 - c)), 0.0)
    return {"predictions": g / rows(g).shape[1]}


@register_loss(
    "ce", aliases=("cross_entropy", "categorical_cross_entropy", "categorical_crossentropy"),
    inputs=(Input("predictions", "N,C", "prob_rows", description="class probabilities, rows sum to 1"),
            _TARGET),
    params={"eps": _EPS}, category="classification", coupling="row",
    summary="Cross-entropy on class probabilities",
    formula="l_i = -Σ_k y_ik log(clip(p_ik, eps, 1))",
    gradient_formula="∂L/∂p_ik = -y_ik / p_ik where p_ik > eps, else 0",
    conventions=("Takes probabilities (e.g. softmax outputs), not logits: use softmax_ce for logits.",
                 "Index labels y_i are read as one-hot rows."),
    references=("Shannon, A Mathematical Theory of Communication, 1948 (cross-entropy)",
                "Keras categorical_crossentropy (from_logits=False)"),
)
def ce(predictions, labels, eps=PROB_EPS):
    """Cross-entropy on probabilities: -Σ_k y_k log(clip(p_k, eps, 1)) (Shannon 1948)."""
    y = target_rows(labels, predictions.shape[1])
    return -np.sum(y * np.log(np.clip(predictions, eps, 1.0)), axis=1)


@ce.gradient
def _ce_grad(predictions, labels, eps=PROB_EPS):
    y = target_rows(labels, predictions.shape[1])
    safe = np.where(predictions > eps, predictions, 1.0)
    return {"predictions": np.where(predictions > eps, -y / safe, 0.0)}


@register_loss(
    "softmax_ce", aliases=("softmax_cross_entropy", "softmax_loss", "cross_entropy_with_logits"),
    inputs=(Input("logits", "N,C", "real", description="unnormalised class scores"), _TARGET),
    category="classification", coupling="row",
    summary="Softmax cross-entropy on logits (log-sum-exp form)",
    formula="l_i = Σ_k y_ik (logsumexp(z_i) - z_ik)",
    gradient_formula="∂L/∂z_ik = (Σ_j y_ij) softmax(z_i)_k - y_ik   (= softmax(z_i) - y_i for label rows summing to 1)",
    conventions=("Matches torch.nn.CrossEntropyLoss on logits with index or probability targets.",),
    references=("Bridle, Probabilistic Interpretation of Feedforward Classification Network "
                "Outputs, 1990", "PyTorch torch.nn.CrossEntropyLoss"),
)
def softmax_ce(logits, labels):
    """Softmax cross-entropy: logsumexp(z) - z_y, via log_softmax (Bridle 1990)."""
    y = target_rows(labels, logits.shape[1])
    return -np.sum(y * log_softmax(logits, axis=1), axis=1)


@softmax_ce.gradient
def _softmax_ce_grad(logits, labels):
    y = target_rows(labels, logits.shape[1])
    return {"logits": softmax(logits, axis=1) * y.sum(axis=1, keepdims=True) - y}
