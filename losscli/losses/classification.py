"""Classification losses on probabilities or logits.

Conventions (``losscli info NAME`` repeats them):
- probabilities fed to a logarithm are clipped to [eps, 1 - eps] (eps = 1e-7, as Keras); the
  gradient is that of the clipped function, so it is 0 where the clip is active;
- logit-based losses use log-sum-exp / softplus forms and need no clipping;
- class labels are either indices (N,) or rows (N, C) (one-hot or soft), told apart by shape.
"""

from __future__ import annotations

import numpy as np

from ..errors import ParameterError
from ..numerics import (PROB_EPS, log_sigmoid, log_softmax, logsumexp, nll_at, rows, sigmoid, softmax,
                        softmax_minus_onehot, softplus, target_rows, xlogy)
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
def bce(predictions, labels, *, eps=PROB_EPS):
    """Binary cross-entropy: -(y log p + (1-y) log(1-p)), p clipped to [eps, 1-eps] (Cox 1958)."""
    c = np.clip(predictions, eps, 1.0 - eps)
    return -rows(labels * np.log(c) + (1.0 - labels) * np.log1p(-c)).mean(axis=1)


@bce.gradient
def _bce_grad(predictions, labels, *, eps=PROB_EPS):
    c = np.clip(predictions, eps, 1.0 - eps)
    active = (predictions > eps) & (predictions < 1.0 - eps)
    g = np.where(active, (c - labels) / (c * (1.0 - c)), 0.0)
    return {"predictions": g / rows(g).shape[1]}


def _log_grad(weight: np.ndarray, p: np.ndarray, eps: float) -> np.ndarray:
    """∂/∂p of -Σ weight·log(max(p, eps)): -weight/p where p > eps, 0 where the clip holds it."""
    active = p > eps
    return np.where(active, -weight / np.where(active, p, 1.0), 0.0)


_SMOOTHING = Param(0.0, constraint="[0,1]", help="targets become (1 - ε)·y + ε/C")
_CLASS_WEIGHTS = Param((), kind="floats", constraint=">=0",
                       help="one weight per class (comma list or a file); empty: none")
_CE_CONVENTIONS = (
    "label_smoothing ε: targets become (1 - ε)·y + ε/C, as PyTorch CrossEntropyLoss.",
    "class_weights w: l_i = -Σ_k w_k y_k log p_k. With class-index labels the mean reduction is "
    "PyTorch's weighted mean Σ_i l_i / Σ_i w[y_i]; with label rows it is Σ_i l_i / N.",
)


def _class_targets(labels, num_classes, label_smoothing, class_weights, name):
    """a_ik = w_k · t_ik: the (smoothed) target rows times the class weights."""
    t = target_rows(labels, num_classes)
    if label_smoothing:
        t = (1.0 - label_smoothing) * t + label_smoothing / num_classes
    if class_weights:
        if len(class_weights) != num_classes:
            raise ParameterError(f"parameter {name}.class_weights: has {len(class_weights)} values "
                                 f"but the inputs have {num_classes} classes")
        t = t * np.asarray(class_weights, dtype=np.float64)
    return t


def _class_weight_normaliser(arrays, params):
    """PyTorch's weighted mean over class-index labels divides by Σ w[y_i]."""
    labels = arrays["labels"]
    if not params["class_weights"] or labels.ndim != 1:
        return None
    return np.asarray(params["class_weights"], dtype=np.float64)[labels.astype(np.intp)]


@register_loss(
    "ce", aliases=("cross_entropy", "categorical_cross_entropy", "categorical_crossentropy"),
    inputs=(Input("predictions", "N,C", "prob_rows", description="class probabilities, rows sum to 1"),
            _TARGET),
    params={"eps": _EPS, "label_smoothing": _SMOOTHING, "class_weights": _CLASS_WEIGHTS},
    category="classification", coupling="row", mean_normaliser=_class_weight_normaliser,
    summary="Cross-entropy on class probabilities",
    formula="l_i = -Σ_k w_k y_ik log(clip(p_ik, eps, 1))   (w = 1 without class_weights)",
    gradient_formula="∂L/∂p_ik = -w_k y_ik / p_ik where p_ik > eps, else 0",
    conventions=("Takes probabilities (e.g. softmax outputs), not logits: use softmax_ce for logits.",
                 "Index labels y_i are read as one-hot rows.") + _CE_CONVENTIONS,
    references=("Shannon, A Mathematical Theory of Communication, 1948 (cross-entropy)",
                "Keras categorical_crossentropy (from_logits=False)"),
)
def ce(predictions, labels, *, eps=PROB_EPS, label_smoothing=0.0, class_weights=()):
    """Cross-entropy on probabilities: -Σ_k w_k y_k log(clip(p_k, eps, 1)) (Shannon 1948)."""
    a = _class_targets(labels, predictions.shape[1], label_smoothing, class_weights, "ce")
    return -np.sum(a * np.log(np.clip(predictions, eps, 1.0)), axis=1)


@ce.gradient
def _ce_grad(predictions, labels, *, eps=PROB_EPS, label_smoothing=0.0, class_weights=()):
    a = _class_targets(labels, predictions.shape[1], label_smoothing, class_weights, "ce")
    return {"predictions": _log_grad(a, predictions, eps)}


@register_loss(
    "softmax_ce", aliases=("softmax_cross_entropy", "softmax_loss", "cross_entropy_with_logits"),
    inputs=(Input("logits", "N,C", "real", description="unnormalised class scores"), _TARGET),
    params={"label_smoothing": _SMOOTHING, "class_weights": _CLASS_WEIGHTS},
    grad_checks=("rows_sum_to_zero:logits",), category="classification", coupling="row", mean_normaliser=_class_weight_normaliser,
    summary="Softmax cross-entropy on logits (log-sum-exp form)",
    formula="l_i = Σ_k w_k y_ik (logsumexp(z_i) - z_ik)",
    gradient_formula="∂L/∂z_ik = softmax(z_i)_k Σ_j a_ij - a_ik,  a = w·y   (= softmax(z_i) - y_i "
                     "for unweighted label rows summing to 1)",
    conventions=("Matches torch.nn.CrossEntropyLoss on logits with index or probability targets, "
                 "label_smoothing and weight.",) + _CE_CONVENTIONS,
    references=("Bridle, Probabilistic Interpretation of Feedforward Classification Network "
                "Outputs, 1990", "PyTorch torch.nn.CrossEntropyLoss"),
)
def softmax_ce(logits, labels, *, label_smoothing=0.0, class_weights=()):
    """Softmax cross-entropy: logsumexp(z) - z_y, via log_softmax (Bridle 1990)."""
    a = _class_targets(labels, logits.shape[1], label_smoothing, class_weights, "softmax_ce")
    if labels.ndim == 1 and not label_smoothing:  # one target per row: the cancellation-free form
        return a[np.arange(labels.shape[0]), labels.astype(np.intp)] * nll_at(logits, labels)
    return -np.sum(a * log_softmax(logits, axis=1), axis=1)


@softmax_ce.gradient
def _softmax_ce_grad(logits, labels, *, label_smoothing=0.0, class_weights=()):
    a = _class_targets(labels, logits.shape[1], label_smoothing, class_weights, "softmax_ce")
    if labels.ndim == 1 and not label_smoothing:  # w_y (softmax - onehot), target entry exact
        w_y = a[np.arange(labels.shape[0]), labels.astype(np.intp)]
        return {"logits": w_y[:, None] * softmax_minus_onehot(logits, labels)}
    return {"logits": softmax(logits, axis=1) * a.sum(axis=1, keepdims=True) - a}


# -- logits, binary / multi-label ------------------------------------------------------------------
_LOGITS = Input("logits", "N,...", "real", description="unnormalised scores (logits)")
_BIN_LABELS = Input("labels", "=logits", "probability", description="targets in [0, 1] (usually {0, 1})")


@register_loss(
    "bce_logits", aliases=("sigmoid_cross_entropy", "binary_cross_entropy_with_logits", "bce_with_logits"),
    inputs=(_LOGITS, _BIN_LABELS),
    params={"pos_weight": Param(1.0, constraint=">=0", help="weight of the positive term")},
    category="classification", coupling="elementwise",
    summary="Binary cross-entropy on logits (stable softplus form)",
    formula="l_i = (1/M) Σ_j [w_p y softplus(-x) + (1 - y) softplus(x)];  w_p = 1: max(x,0) - x·y + log1p(e^-|x|)",
    gradient_formula="∂L/∂x = [(1 - y) σ(x) - w_p y σ(-x)] / M",
    conventions=("Matches torch.nn.BCEWithLogitsLoss (pos_weight as a scalar). No clipping: the "
                 "softplus form is finite for any finite logit.",),
    references=("Cox, The Regression Analysis of Binary Sequences, JRSS-B 20(2), 1958",
                "PyTorch torch.nn.BCEWithLogitsLoss"),
)
def bce_logits(logits, labels, *, pos_weight=1.0):
    """BCE on logits: w_p·y·softplus(-x) + (1-y)·softplus(x) (torch BCEWithLogitsLoss)."""
    return rows(pos_weight * labels * softplus(-logits) + (1.0 - labels) * softplus(logits)).mean(axis=1)


@bce_logits.gradient
def _bce_logits_grad(logits, labels, *, pos_weight=1.0):
    g = (1.0 - labels) * sigmoid(logits) - pos_weight * labels * sigmoid(-logits)
    return {"logits": g / rows(g).shape[1]}


def _log_pos(x: np.ndarray) -> np.ndarray:
    """log x for x >= 0, with log 0 = -inf and no warning."""
    out = np.full(x.shape, -np.inf)
    np.log(x, out=out, where=x > 0)
    return out


def _focal_parts(logits, labels):
    """ce, log q = log(1 - p_t) and ∂q/∂x, all from stable forms (no 1 - p cancellation)."""
    ce = labels * softplus(-logits) + (1.0 - labels) * softplus(logits)
    # q = 1 - p_t = y σ(-x) + (1 - y) σ(x); in logs: logaddexp of the two weighted terms
    with np.errstate(divide="ignore"):
        log_q = np.logaddexp(_log_pos(labels) + log_sigmoid(-logits),
                             _log_pos(1.0 - labels) + log_sigmoid(logits))
    return ce, log_q


def _alpha_t(labels, alpha):
    return 1.0 if alpha < 0 else alpha * labels + (1.0 - alpha) * (1.0 - labels)


@register_loss(
    "focal", aliases=("sigmoid_focal", "sigmoid_focal_loss", "focal_loss"),
    inputs=(_LOGITS, _BIN_LABELS),
    params={"alpha": Param(0.25, constraint="<=1", help="weight of positives; < 0 disables weighting"),
            "gamma": Param(2.0, constraint=">=0", help="focusing exponent")},
    category="classification", coupling="elementwise",
    summary="Sigmoid focal loss on logits (torchvision convention)",
    formula="l_i = (1/M) Σ_j α_t (1 - p_t)^γ CE(x, y),  p = σ(x), p_t = p y + (1-p)(1-y), "
            "α_t = α y + (1-α)(1-y)",
    gradient_formula="∂L/∂x = α_t [(σ(x) - y) q^γ + γ CE q^(γ-1) (1 - 2y) σ(x)σ(-x)] / M,  q = 1 - p_t",
    conventions=("torchvision.ops.sigmoid_focal_loss convention: alpha weights the positive class "
                 "(α_t = α for y = 1, 1 - α for y = 0); alpha < 0 disables the weighting.",
                 "q = 1 - p_t and the term q^(γ-1) are evaluated in log space, so the gradient "
                 "stays finite for |x| up to 1e4 and any γ >= 0, including γ in (0, 1).",
                 "Multi-label rows (N, K): a sample's loss is the mean over its K outputs."),
    references=("Lin et al., Focal Loss for Dense Object Detection, ICCV 2017, arXiv:1708.02002",
                "torchvision.ops.sigmoid_focal_loss"),
)
def focal(logits, labels, *, alpha=0.25, gamma=2.0):
    """Focal loss: -α_t (1 - p_t)^γ log p_t (Lin et al. 2017, arXiv:1708.02002; torchvision)."""
    ce, log_q = _focal_parts(logits, labels)
    return rows(_alpha_t(labels, alpha) * ce * np.exp(gamma * log_q)).mean(axis=1)


@focal.gradient
def _focal_grad(logits, labels, *, alpha=0.25, gamma=2.0):
    ce, log_q = _focal_parts(logits, labels)
    log_s = log_sigmoid(logits) + log_sigmoid(-logits)  # log σ(x)σ(-x)
    # γ·CE·q^(γ-1)·σσ' assembled in log space: CE and σσ' vanish where q^(γ-1) would overflow
    with np.errstate(divide="ignore"):
        second = gamma * np.exp(_log_pos(ce) + log_s + (gamma - 1.0) * log_q) if gamma else 0.0
    # σ(x) - y written as (1 - y)σ(x) - yσ(-x): no cancellation where σ(x) rounds to y
    residual = (1.0 - labels) * sigmoid(logits) - labels * sigmoid(-logits)
    g = _alpha_t(labels, alpha) * (residual * np.exp(gamma * log_q) + second * (1.0 - 2.0 * labels))
    return {"logits": g / rows(g).shape[1]}


# -- logits, multi-class ---------------------------------------------------------------------------
_CLASS = Input("labels", "N", "class_index", description="class indices in [0, C)")
_MC_LOGITS = Input("logits", "N,C", "real", description="unnormalised class scores")


def _true_class_logs(logits, labels):
    """log p_t and log(1 - p_t) for p_t = softmax(z)_y, both without cancellation."""
    n = logits.shape[0]
    lse = logsumexp(logits, axis=1)
    idx = np.arange(n), labels.astype(np.intp)
    log_p = -nll_at(logits, labels)
    others = logits.copy()
    others[idx] = -np.inf
    with np.errstate(invalid="ignore"):  # a row with one class has no "others": log(1 - p_t) = -inf
        log_q = logsumexp(others, axis=1) - lse if logits.shape[1] > 1 else np.full(n, -np.inf)
    return log_p, log_q


@register_loss(
    "softmax_focal", aliases=("multiclass_focal", "focal_softmax"),
    inputs=(_MC_LOGITS, _CLASS),
    params={"alpha": Param(1.0, constraint=">0", help="overall weight"),
            "gamma": Param(2.0, constraint=">=0", help="focusing exponent")},
    grad_checks=("rows_sum_to_zero:logits",), category="classification", coupling="row",
    summary="Multi-class (softmax) focal loss on logits",
    formula="l_i = -α (1 - p_t)^γ log p_t,  p_t = softmax(z_i)_{y_i}",
    gradient_formula="∂L/∂z_ij = A_i (δ_{j,y_i} - softmax(z_i)_j),  A = α[γ p_t log p_t (1 - p_t)^(γ-1) - (1 - p_t)^γ]",
    conventions=("alpha is a single scalar weight (default 1: no weighting); γ = 0 is α·softmax_ce.",
                 "1 - p_t is computed as Σ_{k≠y} softmax_k in log space (no cancellation near p_t = 1)."),
    references=("Lin et al., Focal Loss for Dense Object Detection, ICCV 2017, arXiv:1708.02002",),
)
def softmax_focal(logits, labels, *, alpha=1.0, gamma=2.0):
    """Softmax focal loss: -α (1 - p_t)^γ log p_t, p_t = softmax(z)_y (Lin et al. 2017)."""
    log_p, log_q = _true_class_logs(logits, labels)
    return -alpha * np.exp(gamma * log_q) * log_p


@softmax_focal.gradient
def _softmax_focal_grad(logits, labels, *, alpha=1.0, gamma=2.0):
    log_p, log_q = _true_class_logs(logits, labels)
    p = np.exp(log_p)
    with np.errstate(divide="ignore"):
        # γ p log p q^(γ-1) = -γ p |log p| q^(γ-1), in log space (|log p| -> 0 as q -> 0)
        first = -gamma * p * np.exp(_log_pos(-log_p) + (gamma - 1.0) * log_q) if gamma else 0.0
    a = alpha * (first - np.exp(gamma * log_q))
    s = softmax(logits, axis=1)
    g = -a[:, None] * s
    idx = np.arange(logits.shape[0]), labels.astype(np.intp)
    g[idx] = a * np.exp(log_q)  # δ - s_y = 1 - p_t, exactly
    return {"logits": g}


@register_loss(
    "poly1", aliases=("polyloss", "poly_loss"),
    inputs=(_MC_LOGITS, _TARGET),
    params={"epsilon": Param(2.0, constraint=">=-1", help="weight of the first polynomial term")},
    grad_checks=("rows_sum_to_zero:logits",), category="classification", coupling="row",
    summary="Poly-1 loss: softmax cross-entropy plus ε(1 - p_t)",
    formula="l_i = CE(z_i, y_i) + ε (1 - p_t),  p_t = Σ_k y_ik softmax(z_i)_k",
    gradient_formula="∂L/∂z_ik = s_k Σ_j y_ij - y_ik - ε s_k (y_ik - p_t)",
    conventions=("ε >= -1 keeps the loss non-negative; the paper's default for classification is ε = 1, "
                 "losscli's default ε = 2 follows this project's catalogue.",),
    references=("Leng et al., PolyLoss: A Polynomial Expansion Perspective of Classification Loss "
                "Functions, ICLR 2022, arXiv:2204.12511",),
)
def poly1(logits, labels, *, epsilon=2.0):
    """Poly-1: CE + ε(1 - p_t) (Leng et al. 2022, arXiv:2204.12511)."""
    if labels.ndim == 1:
        nll = nll_at(logits, labels)
        return nll - epsilon * np.expm1(-nll)  # 1 - p_t = -expm1(-CE), exact near p_t = 1
    y = target_rows(labels, logits.shape[1])
    ls = log_softmax(logits, axis=1)
    return -np.sum(y * ls, axis=1) + epsilon * (1.0 - np.sum(y * np.exp(ls), axis=1))


@poly1.gradient
def _poly1_grad(logits, labels, *, epsilon=2.0):
    y = target_rows(labels, logits.shape[1])
    s = softmax(logits, axis=1)
    pt = np.sum(y * s, axis=1, keepdims=True)
    return {"logits": s * y.sum(axis=1, keepdims=True) - y - epsilon * s * (y - pt)}


# -- margin losses -------------------------------------------------------------------------------------
_SCORES = Input("scores", "N|N,C", "real", description="decision values f(x): (N,) binary or (N, C)")
_MARGIN_LABELS = Input("labels", "N", "sign_or_class",
                       description="±1 (or 0/1) for (N,) scores; class indices for (N, C) scores")
_MARGIN_CONVENTIONS = (
    "Binary: labels in {-1, +1}; labels in {0, 1} are accepted and read as 0 -> -1.",
    "Multi-class (N, C) scores with class-index labels: Crammer-Singer, the margin violation of the "
    "best wrong class (scikit-learn's multi-class hinge_loss).",
)


def _margin_violation(scores, labels, margin):
    """(m - y f) for binary scores; (m + max_{j≠y} s_j - s_y) and the argmax j for (N, C)."""
    if scores.ndim == 1:
        return margin - labels * scores, None
    n = scores.shape[0]
    idx = np.arange(n), labels.astype(np.intp)
    others = scores.copy()
    others[idx] = -np.inf
    j = np.argmax(others, axis=1)
    return margin + others[np.arange(n), j] - scores[idx], j


def _margin_grad(scores, labels, dloss):
    """Chain a per-sample derivative w.r.t. the violation into the scores."""
    if scores.ndim == 1:
        return -labels * dloss
    _, j = _margin_violation(scores, labels, 0.0)
    g = np.zeros_like(scores)
    n = np.arange(scores.shape[0])
    g[n, j] += dloss
    g[n, labels.astype(np.intp)] -= dloss
    return g


@register_loss(
    "hinge", aliases=("svm", "multiclass_hinge", "crammer_singer"),
    inputs=(_SCORES, _MARGIN_LABELS), params={"margin": Param(1.0, constraint=">=0")},
    category="classification", coupling="row",
    summary="Hinge loss (binary, or Crammer-Singer multi-class)",
    formula="binary: l_i = max(0, m - y_i f_i);  (N, C): l_i = max(0, m + max_{j≠y} s_ij - s_iy)",
    gradient_formula="binary: ∂L/∂f = -y·1[m - y f > 0];  (N, C): +1 at the best wrong class, -1 at y, where active",
    conventions=_MARGIN_CONVENTIONS + ("At the kink (violation = 0) the subgradient 0 is used.",),
    references=("Cortes & Vapnik, Support-Vector Networks, Machine Learning 20, 1995",
                "Crammer & Singer, On the Algorithmic Implementation of Multiclass Kernel-based "
                "Vector Machines, JMLR 2, 2001", "scikit-learn sklearn.metrics.hinge_loss"),
)
def hinge(scores, labels, *, margin=1.0):
    """Hinge: max(0, m - y f); Crammer-Singer for (N, C) scores (Cortes & Vapnik 1995)."""
    v, _ = _margin_violation(scores, labels, margin)
    return np.maximum(v, 0.0)


@hinge.gradient
def _hinge_grad(scores, labels, *, margin=1.0):
    v, _ = _margin_violation(scores, labels, margin)
    return {"scores": _margin_grad(scores, labels, (v > 0).astype(np.float64))}


@register_loss(
    "squared_hinge", aliases=("l2_svm",),
    inputs=(_SCORES, _MARGIN_LABELS), params={"margin": Param(1.0, constraint=">=0")},
    category="classification", coupling="row",
    summary="Squared hinge loss",
    formula="l_i = max(0, v_i)²,  v_i = m - y_i f_i  (or Crammer-Singer's violation for (N, C))",
    gradient_formula="∂L/∂f = 2 max(0, v) ∂v/∂f",
    conventions=_MARGIN_CONVENTIONS,
    references=("Keras keras.losses.SquaredHinge",
                "Lee & Mangasarian, SSVM: A Smooth Support Vector Machine, 2001"),
)
def squared_hinge(scores, labels, *, margin=1.0):
    """Squared hinge: max(0, m - y f)^2 (Keras SquaredHinge; Lee & Mangasarian 2001)."""
    v, _ = _margin_violation(scores, labels, margin)
    return np.maximum(v, 0.0) ** 2


@squared_hinge.gradient
def _squared_hinge_grad(scores, labels, *, margin=1.0):
    v, _ = _margin_violation(scores, labels, margin)
    return {"scores": _margin_grad(scores, labels, 2.0 * np.maximum(v, 0.0))}


@register_loss(
    "exponential", aliases=("exp", "adaboost", "exp_loss"),
    inputs=(Input("scores", "N", "real", description="decision values f(x)"),
            Input("labels", "N", "sign_or_binary", description="±1 (or 0/1, read as 0 -> -1)")),
    category="classification", coupling="elementwise",
    summary="Exponential loss (AdaBoost)",
    formula="l_i = exp(-y_i f_i)",
    gradient_formula="∂L/∂f_i = -y_i exp(-y_i f_i)",
    conventions=("Labels in {-1, +1}; {0, 1} accepted and read as 0 -> -1.",),
    references=("Freund & Schapire, A Decision-Theoretic Generalization of On-Line Learning and "
                "an Application to Boosting, JCSS 55, 1997",),
)
def exponential(scores, labels):
    """Exponential loss exp(-y f) (Freund & Schapire 1997, AdaBoost)."""
    return np.exp(-labels * scores)


@exponential.gradient
def _exponential_grad(scores, labels):
    return {"scores": -labels * np.exp(-labels * scores)}


@register_loss(
    "zero_one", aliases=("0-1", "01", "misclassification", "error_rate"),
    inputs=(_SCORES, Input("labels", "N", "sign_or_class",
                           description="0/1 or ±1 labels for (N,) inputs; class indices for (N, C)")),
    params={"mode": Param("auto", choices=("auto", "argmax", "threshold", "sign")),
            "threshold": Param(0.5, help="probability threshold in threshold mode")},
    category="classification", coupling="row",
    not_differentiable_reason="the 0-1 loss is piecewise constant: its gradient is 0 almost "
                              "everywhere and undefined at the decision boundary",
    summary="Zero-one loss (misclassification indicator); its mean is the error rate",
    formula="argmax: 1[argmax_k s_ik ≠ y_i];  threshold: 1[(p_i ≥ t) ≠ (y_i = 1)];  sign: 1[y_i f_i ≤ 0]",
    conventions=("mode=auto: argmax for (N, C) scores; threshold for (N,) inputs all in [0, 1] "
                 "(probabilities); otherwise sign (margins, with y_i f_i = 0 counted as an error).",
                 "Ties in argmax go to the lowest class index, as numpy.argmax.",),
    references=("Duda, Hart & Stork, Pattern Classification, 2nd ed., 2001, §2.3",
                "scikit-learn sklearn.metrics.zero_one_loss"),
)
def zero_one(scores, labels, *, mode="auto", threshold=0.5):
    """Zero-one loss 1[prediction ≠ label] (Duda, Hart & Stork 2001)."""
    if mode == "auto":
        mode = "argmax" if scores.ndim == 2 else (
            "threshold" if np.all((scores >= 0) & (scores <= 1)) else "sign")
    if mode == "argmax":
        if scores.ndim != 2:
            raise ParameterError("zero_one: mode=argmax needs (N, C) scores")
        return (np.argmax(scores, axis=1) != labels).astype(np.float64)
    if scores.ndim != 1:
        raise ParameterError(f"zero_one: mode={mode} needs (N,) scores")
    if mode == "threshold":
        return ((scores >= threshold) != (labels == 1)).astype(np.float64)
    return (labels * scores <= 0).astype(np.float64)


# -- distributions and overlaps ------------------------------------------------------------------
@register_loss(
    "kl", aliases=("kl_divergence", "relative_entropy", "kld"),
    inputs=(Input("predictions", "N,C", "prob_rows", description="model distribution q"),
            Input("labels", "=predictions", "prob_rows", description="target distribution p")),
    params={"eps": _EPS}, category="classification", coupling="row",
    summary="Kullback-Leibler divergence KL(labels ‖ predictions)",
    formula="l_i = Σ_k p_ik (ln p_ik - ln max(q_ik, eps)),  0·ln 0 = 0",
    gradient_formula="∂L/∂q_ik = -p_ik / q_ik where q_ik > eps, else 0",
    conventions=("Argument order: KL(labels ‖ predictions) = KL(p ‖ q), the divergence of the model "
                 "q from the target p, as torch.nn.functional.kl_div(log q, p).",
                 "Mean reduction is the mean per-sample KL, PyTorch's reduction='batchmean', not "
                 "its per-element 'mean'.", "Predictions are clipped below at eps = 1e-7."),
    references=("Kullback & Leibler, On Information and Sufficiency, Ann. Math. Statist. 22(1), 1951",
                "PyTorch torch.nn.KLDivLoss (reduction='batchmean')"),
)
def kl(predictions, labels, *, eps=PROB_EPS):
    """KL(p ‖ q) = Σ p (ln p - ln q), 0 ln 0 = 0 (Kullback & Leibler 1951)."""
    q = np.maximum(predictions, eps)
    return np.sum(xlogy(labels, labels) - xlogy(labels, q), axis=1)


@kl.gradient
def _kl_grad(predictions, labels, *, eps=PROB_EPS):
    return {"predictions": _log_grad(labels, predictions, eps)}


_MASK_P = Input("predictions", "N,...", "probability", description="predicted foreground probabilities")
_MASK_Y = Input("labels", "=predictions", "binary", description="binary masks {0, 1}")


def _confusion(predictions, labels, keepdims=False):
    """Soft true positives, false positives and false negatives per sample (row)."""
    p, y = rows(predictions), rows(labels)
    return (np.sum(p * y, axis=1, keepdims=keepdims), np.sum(p * (1 - y), axis=1, keepdims=keepdims),
            np.sum((1 - p) * y, axis=1, keepdims=keepdims))


def _positive_denominator(name, denominator):
    """A validate hook: an empty prediction of an empty mask with smooth = 0 is 0/0."""

    def check(arrays, params):
        if np.any(denominator(*_confusion(arrays["predictions"], arrays["labels"]), params) <= 0):
            raise ParameterError(f"{name}: a sample with an empty prediction and an empty mask "
                                 f"needs smooth > 0 (got smooth={params['smooth']:g})")
        return arrays

    return check


@register_loss(
    "dice", aliases=("dice_loss", "soft_dice"),
    inputs=(_MASK_P, _MASK_Y), params={"smooth": Param(1.0, constraint=">=0")},
    category="classification", coupling="row",
    validate=_positive_denominator("dice", lambda tp, fp, fn, prm: 2 * tp + fp + fn + prm["smooth"]),
    summary="Soft Dice loss, one sample per row (trailing dimensions flattened)",
    formula="l_i = 1 - (2 Σ_j p_ij y_ij + s) / (Σ_j p_ij + Σ_j y_ij + s)",
    gradient_formula="∂L/∂p_ij = -(2 y_ij (U_i + s) - (2 I_i + s)) / (U_i + s)²,  I = Σ p y, U = Σ p + Σ y",
    conventions=("Each row (an image, flattened) is one sample; smooth s = 1 keeps empty masks finite "
                 "(an empty prediction of an empty mask scores 0).",),
    references=("Milletari et al., V-Net, 3DV 2016, arXiv:1606.04797",
                "Sudre et al., Generalised Dice overlap, DLMIA 2017, arXiv:1707.03237"),
)
def dice(predictions, labels, *, smooth=1.0):
    """Soft Dice: 1 - (2Σpy + s)/(Σp + Σy + s) (Milletari et al. 2016, arXiv:1606.04797)."""
    p, y = rows(predictions), rows(labels)
    inter, union = np.sum(p * y, axis=1), np.sum(p, axis=1) + np.sum(y, axis=1)
    return 1.0 - (2.0 * inter + smooth) / (union + smooth)


@dice.gradient
def _dice_grad(predictions, labels, *, smooth=1.0):
    p, y = rows(predictions), rows(labels)
    inter = np.sum(p * y, axis=1, keepdims=True)
    denom = np.sum(p, axis=1, keepdims=True) + np.sum(y, axis=1, keepdims=True) + smooth
    g = -(2.0 * y * denom - (2.0 * inter + smooth)) / (denom * denom)
    return {"predictions": g.reshape(predictions.shape)}


@register_loss(
    "tversky", aliases=("tversky_loss",),
    inputs=(_MASK_P, _MASK_Y),
    params={"alpha": Param(0.5, constraint=">=0", help="weight of false positives"),
            "beta": Param(0.5, constraint=">=0", help="weight of false negatives"),
            "smooth": Param(1.0, constraint=">=0")},
    category="classification", coupling="row",
    validate=_positive_denominator(
        "tversky", lambda tp, fp, fn, prm: tp + prm["alpha"] * fp + prm["beta"] * fn + prm["smooth"]),
    summary="Tversky loss (Dice with separate false-positive / false-negative weights)",
    formula="l_i = 1 - (TP + s)/(TP + α FP + β FN + s),  TP = Σ p y, FP = Σ p (1 - y), FN = Σ (1 - p) y",
    gradient_formula="∂L/∂p_j = -[y_j B - A (y_j + α(1 - y_j) - β y_j)] / B²,  A = TP + s, B = TP + αFP + βFN + s",
    conventions=("α = β = 0.5 is the Dice loss with smooth halved; α = β = 1 is the Jaccard (IoU) loss.",),
    references=("Salehi et al., Tversky loss function for image segmentation using 3D fully "
                "convolutional deep networks, MLMI 2017, arXiv:1706.05721",),
)
def tversky(predictions, labels, *, alpha=0.5, beta=0.5, smooth=1.0):
    """Tversky: 1 - (TP + s)/(TP + αFP + βFN + s) (Salehi et al. 2017, arXiv:1706.05721)."""
    tp, fp, fn = _confusion(predictions, labels)
    return 1.0 - (tp + smooth) / (tp + alpha * fp + beta * fn + smooth)


@tversky.gradient
def _tversky_grad(predictions, labels, *, alpha=0.5, beta=0.5, smooth=1.0):
    y = rows(labels)
    tp, fp, fn = _confusion(predictions, labels, keepdims=True)
    a, b = tp + smooth, tp + alpha * fp + beta * fn + smooth
    g = -(y * b - a * (y + alpha * (1 - y) - beta * y)) / (b * b)
    return {"predictions": g.reshape(predictions.shape)}
