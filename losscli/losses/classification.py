"""Classification losses on probabilities or logits.

Conventions (``losscli info NAME`` repeats them):
- probabilities fed to a logarithm are clipped to [eps, 1 - eps] (eps = 1e-7, as Keras); the
  gradient is that of the clipped function, so it is 0 where the clip is active;
- logit-based losses use log-sum-exp / softplus forms and need no clipping;
- class labels are either indices (N,) or rows (N, C) (one-hot or soft), told apart by shape;
- class-index labels equal to ``ignore_index`` (ce, softmax_ce, nll; -100 by default, as PyTorch)
  are skipped: loss 0, gradient 0, and no share of the mean's denominator.
"""

from __future__ import annotations

import numpy as np

from ..domains import chosen, judge
from ..errors import ParameterError
from ..numerics import (PROB_EPS, log_softmax, logsumexp, nll_and_softmax_minus_onehot, nll_at, rows, shifted_by_max,
                        sigmoid_both, softmax, softmax_minus_onehot, softplus_both, target_rows, xlogy)
from ..registry import Input, Param, register_loss

_TARGET = Input("labels", "N|N,C", "target",
                description="class indices (N,) or one-hot / soft label rows (N, C)")
_EPS = Param(PROB_EPS, constraint="(0,0.5)", help="probabilities are clipped below at eps")
#: clipped on both sides: 1 - eps must be below 1 in float64 (eps > 2^-54; 1e-17 left p = 1 at 1, log(0))
_EPS_BOTH = Param(PROB_EPS, constraint=f"({2.0 ** -54!r},0.5)",
                  help="probabilities are clipped to [eps, 1 - eps]; eps > 2^-54, at or below which 1 - eps is 1")


@register_loss(
    "bce", aliases=("binary_cross_entropy", "binary_crossentropy"),
    inputs=(Input("predictions", "N,...", "probability", description="predicted P(y = 1)"),
            Input("labels", "=predictions", "probability", description="targets in [0, 1]")),
    params={"eps": _EPS_BOTH}, category="classification", coupling="elementwise",
    summary="Binary cross-entropy on probabilities",
    formula="l_i = -(1/M) Σ_j [y log c + (1 - y) log(1 - c)],  c = clip(p, eps, 1 - eps)",
    gradient_formula="∂L/∂p = (c - y) / (c (1 - c)) / M where eps < p < 1 - eps, else 0",
    conventions=("Probabilities are clipped to [eps, 1-eps] with eps = 1e-7 (Keras); PyTorch's "
                 "BCELoss instead clamps each log term at -100. The two agree for p in (1e-7, 1-1e-7).",
                 "Multi-label rows (N, K): a sample's loss is the mean over its K outputs (each column "
                 "its own binary problem).",
                 "Not scikit-learn's log_loss, which is the loss log_loss: eps there is float64's machine "
                 "epsilon, and (N, C) probability rows are one multi-class problem (a mean of C binary "
                 "losses gives 0.4298 where log_loss gives 0.6905 on the same rows)."),
    matches=("PyTorch torch.nn.BCELoss (p in (1e-7, 1 - 1e-7))",
             "Keras keras.losses.binary_crossentropy (from_logits=False)"),
    references=("Cox, The Regression Analysis of Binary Sequences, JRSS-B 20(2), 1958",
                "PyTorch torch.nn.BCELoss; Keras keras.losses.binary_crossentropy"),
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
_IGNORE = Param(-100, help="class-index labels equal to this are skipped: loss 0, gradient 0, no share of "
                           "the mean (PyTorch's default -100)")
_CE_CONVENTIONS = (
    "label_smoothing ε: targets become (1 - ε)·y + ε/C, as PyTorch CrossEntropyLoss.",
    "class_weights w: l_i = -Σ_k w_k y_k log p_k. With class-index labels the mean reduction is "
    "PyTorch's weighted mean Σ_i l_i / Σ_i w[y_i] over the samples not skipped; with label rows it "
    "is Σ_i l_i / N.",
    "ignore_index (class-index labels only, default -100 as PyTorch): a sample whose label equals it "
    "has loss 0 and gradient 0 and is left out of the mean's denominator, with or without "
    "label_smoothing (PyTorch divides both the NLL and the smoothing term by Σ w[y_i] over the "
    "samples kept). Every sample skipped: the mean is 0/0 (PyTorch returns nan); losscli refuses "
    "it (exit 2) and --reduction sum gives 0. Any integer may be ignore_index, e.g. 255 for void "
    "pixels; other labels must be in [0, C).",
)


def _skipped(labels, ignore_index):
    """(kept mask, the labels with skipped ones read as class 0) for class-index labels; label
    rows have no ignore_index: (None, rows)."""
    if labels.ndim != 1:
        return None, labels
    keep = labels != ignore_index
    return keep, np.where(keep, labels, 0).astype(np.intp)


def _class_targets(labels, num_classes, label_smoothing, class_weights, name, ignore_index=-100):
    """a_ik = w_k · t_ik: the (smoothed) target rows times the class weights; 0 for skipped samples."""
    keep, labels = _skipped(labels, ignore_index)
    t = target_rows(labels, num_classes)
    if label_smoothing:
        t = (1.0 - label_smoothing) * t + label_smoothing / num_classes
    t = t * _class_weights(class_weights, num_classes, name)
    return t if keep is None else t * keep[:, None]


def _target_weights(labels, num_classes, class_weights, name, ignore_index):
    """For class-index labels without smoothing: (each sample's class, a_i at that class = w_{y_i},
    0 for skipped samples), without building the (N, C) target rows."""
    keep, safe = _skipped(labels, ignore_index)
    return safe, _class_weights(class_weights, num_classes, name)[safe] * keep


def _class_weights(class_weights, num_classes, name):
    if not class_weights:
        return np.ones(num_classes)
    if len(class_weights) != num_classes:
        raise ParameterError(f"parameter {name}.class_weights: has {len(class_weights)} values "
                             f"but the inputs have {num_classes} classes")
    return np.asarray(class_weights, dtype=np.float64)


def _class_weight_normaliser(arrays, params):
    """PyTorch's mean over class-index labels divides by Σ w[y_i] over the samples not skipped."""
    labels = arrays["labels"]
    if labels.ndim != 1:
        return None
    keep, safe = _skipped(labels, params.get("ignore_index", -100))
    if not params["class_weights"] and keep.all():
        return None
    w = np.asarray(params["class_weights"], dtype=np.float64)[safe] if params["class_weights"] else 1.0
    return np.where(keep, w, 0.0)


def _judge_index_labels(arrays, params):
    """Class-index labels checked as the class_index domain checks them (the file position in the
    message), except those equal to ignore_index: a domain cannot see a parameter."""
    labels = arrays["labels"]
    if labels.ndim != 1:
        return arrays
    ignore = params["ignore_index"]
    keep = labels != ignore
    judged = judge("class_index", labels, np.where(keep, labels, 0.0))
    return {**arrays, "labels": np.where(keep, judged, ignore).astype(np.intp)}


_RENORMALISED_ROWS = ("Predicted rows within --prob-tol of summing to 1 (but not within 1e-12) are divided by their "
                      "sum by the validator, with a warning, and the value is that of the renormalised row q = p/Σp. "
                      "The saved gradient is that value's gradient w.r.t. the row as given, J^T g = (g - (g·q))/Σp "
                      "(as torch through p / p.sum()); gradcheck checks g at q.")
_TARGET_OR_IGNORED = Input("labels", "N|N,C", "target_or_ignored",
                           description="class indices (N,) (ignore_index skips a sample) or one-hot / soft "
                                       "label rows (N, C)")


@register_loss(
    "ce", aliases=("cross_entropy", "categorical_cross_entropy", "categorical_crossentropy"),
    inputs=(Input("predictions", "N,C", "prob_rows", description="class probabilities, rows sum to 1"),
            _TARGET_OR_IGNORED),
    params={"eps": _EPS, "label_smoothing": _SMOOTHING, "class_weights": _CLASS_WEIGHTS, "ignore_index": _IGNORE},
    category="classification", coupling="row", mean_normaliser=_class_weight_normaliser,
    validate=_judge_index_labels,
    summary="Cross-entropy on class probabilities",
    formula="l_i = -Σ_k w_k y_ik log(clip(p_ik, eps, 1))   (w = 1 without class_weights)",
    gradient_formula="∂L/∂p_ik = -w_k y_ik / p_ik where p_ik > eps, else 0",
    conventions=("Takes probabilities (e.g. softmax outputs), not logits: use softmax_ce for logits.",
                 "Index labels y_i are read as one-hot rows.",
                 "Clipped below only, at eps = 1e-7: p = 1 costs 0. Keras' categorical_crossentropy also "
                 "clips above (1 - 1e-7) and divides every row by its sum inside the loss, so its "
                 "gradient differs from this one by a constant per row (the all-ones direction).",
                 _RENORMALISED_ROWS) + _CE_CONVENTIONS,
    matches=("PyTorch torch.nn.NLLLoss on torch.log(p) (class-index labels, weight, ignore_index; p_y >= 1e-7)",),
    references=("Shannon, A Mathematical Theory of Communication, 1948 (cross-entropy)",
                "PyTorch torch.nn.NLLLoss; Keras categorical_crossentropy (from_logits=False)"),
)
def ce(predictions, labels, *, eps=PROB_EPS, label_smoothing=0.0, class_weights=(), ignore_index=-100):
    """Cross-entropy on probabilities: -Σ_k w_k y_k log(clip(p_k, eps, 1)) (Shannon 1948)."""
    a = _class_targets(labels, predictions.shape[1], label_smoothing, class_weights, "ce", ignore_index)
    return -np.sum(a * np.log(np.clip(predictions, eps, 1.0)), axis=1)


@ce.gradient
def _ce_grad(predictions, labels, *, eps=PROB_EPS, label_smoothing=0.0, class_weights=(), ignore_index=-100):
    a = _class_targets(labels, predictions.shape[1], label_smoothing, class_weights, "ce", ignore_index)
    return {"predictions": _log_grad(a, predictions, eps)}


@register_loss(
    "softmax_ce", aliases=("softmax_cross_entropy", "softmax_loss", "cross_entropy_with_logits"),
    inputs=(Input("logits", "N,C", "real", description="unnormalised class scores"), _TARGET_OR_IGNORED),
    params={"label_smoothing": _SMOOTHING, "class_weights": _CLASS_WEIGHTS, "ignore_index": _IGNORE},
    grad_checks=("rows_sum_to_zero:logits",), category="classification", coupling="row",
    mean_normaliser=_class_weight_normaliser, validate=_judge_index_labels,
    summary="Softmax cross-entropy on logits (log-sum-exp form)",
    formula="l_i = Σ_k w_k y_ik (logsumexp(z_i) - z_ik)",
    gradient_formula="∂L/∂z_ik = softmax(z_i)_k Σ_j a_ij - a_ik,  a = w·y   (= softmax(z_i) - y_i "
                     "for unweighted label rows summing to 1)",
    conventions=("Matches torch.nn.CrossEntropyLoss on logits with index or probability targets, "
                 "label_smoothing, weight and ignore_index.",) + _CE_CONVENTIONS,
    matches=("PyTorch torch.nn.CrossEntropyLoss", "optax.losses.softmax_cross_entropy (label rows)",
             "optax.losses.softmax_cross_entropy_with_integer_labels",
             "Keras keras.losses.categorical_crossentropy (from_logits=True)",
             "Keras keras.losses.sparse_categorical_crossentropy (from_logits=True)"),
    references=("Bridle, Probabilistic Interpretation of Feedforward Classification Network "
                "Outputs, 1990", "PyTorch torch.nn.CrossEntropyLoss"),
)
def softmax_ce(logits, labels, *, label_smoothing=0.0, class_weights=(), ignore_index=-100):
    """Softmax cross-entropy: logsumexp(z) - z_y, via log_softmax (Bridle 1990)."""
    if labels.ndim == 1 and not label_smoothing:  # one target per row: the cancellation-free form
        safe, w_y = _target_weights(labels, logits.shape[1], class_weights, "softmax_ce", ignore_index)
        return w_y * nll_at(logits, safe)
    a = _class_targets(labels, logits.shape[1], label_smoothing, class_weights, "softmax_ce", ignore_index)
    return -np.sum(a * log_softmax(logits, axis=1), axis=1)


@softmax_ce.gradient
def _softmax_ce_grad(logits, labels, *, label_smoothing=0.0, class_weights=(), ignore_index=-100):
    if labels.ndim == 1 and not label_smoothing:  # w_y (softmax - onehot), target entry exact
        safe, w_y = _target_weights(labels, logits.shape[1], class_weights, "softmax_ce", ignore_index)
        g = softmax_minus_onehot(logits, safe)
        if not (w_y == 1.0).all():
            g *= w_y[:, None]
        return {"logits": g}
    a = _class_targets(labels, logits.shape[1], label_smoothing, class_weights, "softmax_ce", ignore_index)
    return {"logits": softmax(logits, axis=1) * a.sum(axis=1, keepdims=True) - a}


@softmax_ce.value_and_gradient
def _softmax_ce_value_and_grad(logits, labels, *, label_smoothing=0.0, class_weights=(), ignore_index=-100):
    """Both from one e^x where there is one target per row (what --save-grad costs otherwise: the
    softmax twice); the two functions above, bit for bit."""
    params = {"label_smoothing": label_smoothing, "class_weights": class_weights, "ignore_index": ignore_index}
    if labels.ndim != 1 or label_smoothing:
        return softmax_ce.fn(logits, labels, **params), _softmax_ce_grad(logits, labels, **params)
    safe, w_y = _target_weights(labels, logits.shape[1], class_weights, "softmax_ce", ignore_index)
    nll, g = nll_and_softmax_minus_onehot(logits, safe)
    if not (w_y == 1.0).all():
        g *= w_y[:, None]
    return w_y * nll, {"logits": g}


@register_loss(
    "nll", aliases=("nll_loss", "nllloss", "negative_log_likelihood"),
    inputs=(Input("log_probs", "N,C", "log_probability", description="log-probabilities, e.g. log_softmax outputs"),
            Input("labels", "N", "class_index_or_ignored", description="class indices in [0, C), or ignore_index")),
    params={"class_weights": _CLASS_WEIGHTS, "ignore_index": _IGNORE},
    category="classification", coupling="row", mean_normaliser=_class_weight_normaliser,
    validate=_judge_index_labels,
    summary="Negative log-likelihood of the true class, on log-probabilities (PyTorch NLLLoss)",
    formula="l_i = -w_{y_i} x_{i, y_i}   (0 where y_i = ignore_index; w = 1 without class_weights)",
    gradient_formula="∂L/∂x_ik = -w_k 1[k = y_i]   (0 for a skipped sample)",
    conventions=("Takes log-probabilities (values <= 0), e.g. log_softmax outputs; they are not "
                 "checked to normalise (PyTorch does not either). softmax_ce is this after log_softmax.",
                 "class_weights w: the mean reduction is PyTorch's Σ_i l_i / Σ_i w[y_i] over the samples "
                 "not skipped.") + _CE_CONVENTIONS[2:],
    matches=("PyTorch torch.nn.NLLLoss (weight, ignore_index)",),
    references=("Bishop, Pattern Recognition and Machine Learning, 2006, §4.3.4 (the negative "
                "log-likelihood of multi-class logistic regression)", "PyTorch torch.nn.NLLLoss"),
)
def nll(log_probs, labels, *, class_weights=(), ignore_index=-100):
    """Negative log-likelihood -w_y x_y of log-probabilities x (PyTorch NLLLoss; Bishop 2006 §4.3.4)."""
    keep, safe = _skipped(labels, ignore_index)
    w = _class_weights(class_weights, log_probs.shape[1], "nll")[safe] * keep
    picked = log_probs[np.arange(labels.shape[0]), safe]
    return np.where(keep, -w * picked, 0.0)


@nll.gradient
def _nll_grad(log_probs, labels, *, class_weights=(), ignore_index=-100):
    keep, safe = _skipped(labels, ignore_index)
    g = np.zeros_like(log_probs, dtype=np.float64)
    g[np.arange(labels.shape[0]), safe] = -_class_weights(class_weights, log_probs.shape[1], "nll")[safe] * keep
    return {"log_probs": g}


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
                 "softplus form is finite for any finite logit.",
                 "Multi-label rows (N, K): a sample's loss is the mean over its K outputs (optax returns "
                 "the K elementwise values; Keras averages over the last axis, as here).",),
    matches=("PyTorch torch.nn.BCEWithLogitsLoss", "optax.losses.sigmoid_binary_cross_entropy",
             "Keras keras.losses.binary_crossentropy (from_logits=True)"),
    references=("Cox, The Regression Analysis of Binary Sequences, JRSS-B 20(2), 1958",
                "PyTorch torch.nn.BCEWithLogitsLoss"),
)
def bce_logits(logits, labels, *, pos_weight=1.0):
    """BCE on logits: w_p·y·softplus(-x) + (1-y)·softplus(x) (torch BCEWithLogitsLoss)."""
    sp_pos, sp_neg, _ = softplus_both(logits)
    return rows(pos_weight * labels * sp_neg + (1.0 - labels) * sp_pos).mean(axis=1)


@bce_logits.gradient
def _bce_logits_grad(logits, labels, *, pos_weight=1.0):
    s_pos, s_neg = sigmoid_both(logits, np.exp(-np.abs(logits)))
    g = (1.0 - labels) * s_pos - pos_weight * labels * s_neg
    return {"logits": g / rows(g).shape[1]}


def _log_pos(x: np.ndarray) -> np.ndarray:
    """log x for x >= 0, with log 0 = -inf and no warning."""
    out = np.full(x.shape, -np.inf)
    np.log(x, out=out, where=x > 0)
    return out


def _focal_parts(logits, labels):
    """ce, log q = log(1 - p_t), softplus(±x) and e^{-|x|}, all from stable forms (no 1 - p
    cancellation), from one exponential and one log1p."""
    sp_pos, sp_neg, e = softplus_both(logits)  # softplus(x) = -log σ(-x), softplus(-x) = -log σ(x)
    ce = labels * sp_neg + (1.0 - labels) * sp_pos
    # q = 1 - p_t = y σ(-x) + (1 - y) σ(x); in logs: logaddexp of the two weighted terms, which for
    # labels 0 and 1 is one of them exactly
    if np.all((labels == 0) | (labels == 1)):
        log_q = np.where(labels == 1, -sp_pos, -sp_neg)
    else:
        with np.errstate(divide="ignore"):
            log_q = np.logaddexp(_log_pos(labels) - sp_pos, _log_pos(1.0 - labels) - sp_neg)
    return ce, log_q, sp_pos, sp_neg, e


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
                 "Multi-label rows (N, K): a sample's loss is the mean over its K outputs.",
                 "optax.losses.sigmoid_focal_loss defaults to alpha=None (no weighting): that is alpha=-1 "
                 "here. Keras' BinaryFocalCrossentropy is the loss binary_focal (probabilities by default, "
                 "a clipped log, and no alpha unless apply_class_balancing)."),
    matches=("torchvision.ops.sigmoid_focal_loss", "optax.losses.sigmoid_focal_loss(alpha=0.25)"),
    references=("Lin et al., Focal Loss for Dense Object Detection, ICCV 2017, arXiv:1708.02002",
                "torchvision.ops.sigmoid_focal_loss"),
)
def focal(logits, labels, *, alpha=0.25, gamma=2.0):
    """Focal loss: -α_t (1 - p_t)^γ log p_t (Lin et al. 2017, arXiv:1708.02002; torchvision)."""
    ce, log_q, *_ = _focal_parts(logits, labels)
    return rows(_alpha_t(labels, alpha) * ce * np.exp(gamma * log_q)).mean(axis=1)


@focal.gradient
def _focal_grad(logits, labels, *, alpha=0.25, gamma=2.0):
    ce, log_q, sp_pos, sp_neg, e = _focal_parts(logits, labels)
    log_s = -sp_neg + -sp_pos  # log σ(x)σ(-x)
    # γ·CE·q^(γ-1)·σσ' assembled in log space: CE and σσ' vanish where q^(γ-1) would overflow
    with np.errstate(divide="ignore"):
        second = gamma * np.exp(_log_pos(ce) + log_s + (gamma - 1.0) * log_q) if gamma else 0.0
    # σ(x) - y written as (1 - y)σ(x) - yσ(-x): no cancellation where σ(x) rounds to y
    s_pos, s_neg = sigmoid_both(logits, e)
    residual = (1.0 - labels) * s_pos - labels * s_neg
    g = _alpha_t(labels, alpha) * (residual * np.exp(gamma * log_q) + second * (1.0 - 2.0 * labels))
    return {"logits": g / rows(g).shape[1]}


# -- logits, multi-class ---------------------------------------------------------------------------
_CLASS = Input("labels", "N", "class_index", description="class indices in [0, C)")
_MC_LOGITS = Input("logits", "N,C", "real", description="unnormalised class scores")


def _true_class_logs(logits, labels):
    """log p_t and log(1 - p_t) for p_t = softmax(z)_y, both without cancellation."""
    n = logits.shape[0]
    _, others = shifted_by_max(logits, axis=1)  # (relative to the row's maximum: see log_softmax)
    lse = logsumexp(others, axis=1)
    idx = np.arange(n), labels.astype(np.intp)
    log_p = -nll_at(logits, labels)
    others[idx] = -np.inf
    with np.errstate(invalid="ignore"):  # a row with one class has no "others": log(1 - p_t) = -inf
        log_q = logsumexp(others, axis=1) - lse if logits.shape[1] > 1 else np.full(n, -np.inf)
    return log_p, log_q


def _focusing(log_q, gamma: float):
    """(1 - p_t)^γ from log(1 - p_t); 0^0 = 1 (a row of one class, 1 - p_t = 0, at γ = 0)."""
    return np.exp(gamma * log_q) if gamma else np.ones_like(log_q)


@register_loss(
    "softmax_focal", aliases=("multiclass_focal", "focal_softmax"),
    inputs=(_MC_LOGITS, _CLASS),
    params={"alpha": Param(0.25, constraint=">0", help="overall weight (Keras' default 0.25; 1: unweighted)"),
            "gamma": Param(2.0, constraint=">=0", help="focusing exponent")},
    grad_checks=("rows_sum_to_zero:logits",), category="classification", coupling="row",
    summary="Multi-class (softmax) focal loss on logits",
    formula="l_i = -α (1 - p_t)^γ log p_t,  p_t = softmax(z_i)_{y_i}",
    gradient_formula="∂L/∂z_ij = A_i (δ_{j,y_i} - softmax(z_i)_j),  A = α[γ p_t log p_t (1 - p_t)^(γ-1) - (1 - p_t)^γ]",
    conventions=("alpha is a single scalar weight, default 0.25 as Keras' CategoricalFocalCrossentropy "
                 "(the only major library with a softmax focal loss; torchvision's and optax's focal losses "
                 "are sigmoid/binary, see focal). It was 1 before issue 18: values are now a quarter of what "
                 "they were; pass alpha=1 for the unweighted -(1 - p_t)^γ log p_t. "
                 "γ = 0 is α·softmax_ce.",
                 "Keras takes probabilities unless from_logits=True and clips them to [1e-7, 1 - 1e-7]; on "
                 "logits this loss is exact: the two agree while p_t is in (1e-7, 1 - 1e-7).",
                 "1 - p_t is computed as Σ_{k≠y} softmax_k in log space (no cancellation near p_t = 1)."),
    matches=("Keras keras.losses.CategoricalFocalCrossentropy (from_logits=True; p_t in (1e-7, 1 - 1e-7))",),
    references=("Lin et al., Focal Loss for Dense Object Detection, ICCV 2017, arXiv:1708.02002",
                "Keras keras.losses.CategoricalFocalCrossentropy"),
)
def softmax_focal(logits, labels, *, alpha=0.25, gamma=2.0):
    """Softmax focal loss: -α (1 - p_t)^γ log p_t, p_t = softmax(z)_y (Lin et al. 2017)."""
    log_p, log_q = _true_class_logs(logits, labels)
    return -alpha * _focusing(log_q, gamma) * log_p


@softmax_focal.gradient
def _softmax_focal_grad(logits, labels, *, alpha=0.25, gamma=2.0):
    log_p, log_q = _true_class_logs(logits, labels)
    p = np.exp(log_p)
    with np.errstate(divide="ignore", invalid="ignore"):
        # γ p log p q^(γ-1) = -γ p |log p| q^(γ-1), in log space (|log p| -> 0 as q -> 0); 0 where
        # p_t = 1 exactly (a row of one class: log p = 0 beside q^(γ-1) = inf for γ < 1)
        first = -gamma * p * np.exp(_log_pos(-log_p) + (gamma - 1.0) * log_q) if gamma else 0.0
        first = np.where(log_p == 0.0, 0.0, first)
    a = alpha * (first - _focusing(log_q, gamma))
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
                 "losscli's default ε = 2 is optax's.",),
    matches=("optax.losses.poly_loss_cross_entropy",),
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
    conventions=_MARGIN_CONVENTIONS + ("At the kink (violation = 0) the subgradient 0 is used (jax.grad of "
                                       "optax's hinge gives half the slope there).",),
    matches=("scikit-learn sklearn.metrics.hinge_loss (values)", "optax.losses.hinge_loss ((N,) scores)",
             "optax.losses.multiclass_hinge_loss ((N, C) scores)", "Keras keras.losses.hinge ((N,) scores)"),
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
    matches=("Keras keras.losses.squared_hinge ((N,) scores)",),
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


_ZERO_ONE_AMBIGUOUS = ("zero_one: (N,) scores need an explicit mode: -p mode=threshold for probabilities "
                       "(an error where p >= threshold differs from y = 1) or -p mode=sign for margins "
                       "(an error where y·f <= 0)")


def _zero_one_mode(scores, mode):
    """The mode by the declared meaning of the input's shape, never by its values."""
    if mode == "auto":
        if scores.ndim != 2:
            raise ParameterError(_ZERO_ONE_AMBIGUOUS)
        return "argmax"
    if mode == "argmax" and scores.ndim != 2:
        raise ParameterError("zero_one: mode=argmax needs (N, C) scores")
    if mode != "argmax" and scores.ndim != 1:
        raise ParameterError(f"zero_one: mode={mode} needs (N,) scores")
    return mode


def _zero_one_validate(arrays, params):
    _zero_one_mode(arrays["scores"], params["mode"])
    return arrays


def _zero_one_sampler(*, rng, samples, classes, **_):
    """(N, C) scores with class indices: the one shape mode=auto decides by itself."""
    return {"scores": rng.standard_normal((samples, classes)), "labels": rng.integers(0, classes, samples)}


@register_loss(
    "zero_one", aliases=("0-1", "01", "misclassification", "error_rate"),
    inputs=(_SCORES, Input("labels", "N", "sign_or_class",
                           description="0/1 or ±1 labels for (N,) inputs; class indices for (N, C)")),
    params={"mode": Param("auto", choices=("auto", "argmax", "threshold", "sign")),
            "threshold": Param(0.5, help="probability threshold in threshold mode")},
    category="classification", coupling="row", validate=_zero_one_validate, sampler=_zero_one_sampler,
    not_differentiable_reason="the 0-1 loss is piecewise constant: its gradient is 0 almost "
                              "everywhere and undefined at the decision boundary",
    summary="Zero-one loss (misclassification indicator); its mean is the error rate",
    formula="argmax: 1[argmax_k s_ik ≠ y_i];  threshold: 1[(p_i ≥ t) ≠ (y_i = 1)];  sign: 1[y_i f_i ≤ 0]",
    conventions=("mode=auto decides by shape, never by the values: argmax for (N, C) scores; (N,) scores "
                 "are refused (exit 2) until mode=threshold (probabilities, p >= threshold counts as "
                 "class 1) or mode=sign (margins, y_i f_i <= 0 counts as an error) says what they are. "
                 "(Deciding by the values read margins that happen to lie in [0, 1] as probabilities.)",
                 "Ties in argmax go to the lowest class index, as numpy.argmax.",),
    matches=("scikit-learn sklearn.metrics.zero_one_loss (values, on the predicted labels)",),
    references=("Duda, Hart & Stork, Pattern Classification, 2nd ed., 2001, §2.3",
                "scikit-learn sklearn.metrics.zero_one_loss"),
)
def zero_one(scores, labels, *, mode="auto", threshold=0.5):
    """Zero-one loss 1[prediction ≠ label] (Duda, Hart & Stork 2001)."""
    mode = _zero_one_mode(scores, mode)
    if mode == "argmax":
        return (np.argmax(scores, axis=1) != labels).astype(np.float64)
    if mode == "threshold":
        return ((scores >= threshold) != (labels == 1)).astype(np.float64)
    return (labels * scores <= 0).astype(np.float64)


# -- distributions and overlaps ------------------------------------------------------------------
def _kl_labels(arrays, params):
    """Probability rows, or log-probability rows with log_target (the domain the parameter chooses)."""
    return {**arrays, "labels": judge(chosen("prob_or_log_rows", params), arrays["labels"])}


def _kl_clip(predictions, target, eps):
    """Where the clip holds q: below eps and below the target's own p (q̃ = max(q, min(eps, p)))."""
    return predictions < np.minimum(eps, target)


@register_loss(
    "kl", aliases=("kl_divergence", "relative_entropy", "kld"),
    inputs=(Input("predictions", "N,C", "prob_rows", description="model distribution q"),
            Input("labels", "=predictions", "prob_or_log_rows", description="target distribution p (or log p)")),
    params={"eps": _EPS, "log_target": Param(False, help="labels are log-probabilities log p, as PyTorch "
                                                         "KLDivLoss(log_target=True)")},
    validate=_kl_labels, category="classification", coupling="row",
    summary="Kullback-Leibler divergence KL(labels ‖ predictions)",
    formula="l_i = max(0, Σ_k p_ik (ln p_ik - ln q̃_ik)),  q̃ = max(q, min(eps, p)),  0·ln 0 = 0;  "
            "log_target: p = exp(labels)",
    gradient_formula="∂L/∂q_ik = -p_ik / q_ik where q_ik >= min(eps, p_ik), else 0; 0 in a row only the clip took "
                     "below 0",
    conventions=("Argument order: KL(labels ‖ predictions) = KL(p ‖ q), the divergence of the model "
                 "q from the target p, as torch.nn.functional.kl_div(log q, p).",
                 "Predictions are probabilities q, not PyTorch's log q; log_target=true reads the labels "
                 "as log p (values <= 0, their exponentials summing to 1 within --prob-tol), as PyTorch's "
                 "log_target=True.",
                 "Mean reduction is the mean per-sample KL, PyTorch's reduction='batchmean', not "
                 "its per-element 'mean'.", "Predictions below eps = 1e-7 are clipped up to eps, or to the "
                 "target's own p where that is smaller (PyTorch gives inf for q = 0 where p > 0): the value "
                 "is that of torch wherever q >= min(eps, p), and 0 for p = q (a clip to eps alone gave "
                 "-4.6e-9 for p = q = (1e-9, 1 - 1e-9)); a sum the clip leaves below 0 (q below p below "
                 "eps in a class: its term is 0, the others' fall short by p - q) is 0, as a divergence is, "
                 "with a gradient of 0; so is a sum below 0 that torch's would share (q off the simplex by "
                 "ulps: p = q within rounding), whose gradient stays torch's.",
                 _RENORMALISED_ROWS + " Log-probability labels that drift are shifted by log Σ exp."),
    matches=("PyTorch torch.nn.KLDivLoss on torch.log(q) (reduction='batchmean'; log_target; q >= min(1e-7, p))",),
    references=("Kullback & Leibler, On Information and Sufficiency, Ann. Math. Statist. 22(1), 1951",
                "PyTorch torch.nn.KLDivLoss (reduction='batchmean')"),
)
def kl(predictions, labels, *, eps=PROB_EPS, log_target=False):
    """KL(p ‖ q) = Σ p (ln p - ln q), 0 ln 0 = 0 (Kullback & Leibler 1951), q clipped to
    q̃ = max(q, min(eps, p)): 0 for p = q (a class below eps in both, as float32 softmax rows have, was
    -4.6e-9 at p = 1e-9), and never below 0."""
    return np.maximum(_kl_terms(predictions, labels, eps, log_target)[0].sum(axis=1), 0.0)


def _kl_terms(predictions, labels, eps, log_target):
    """Each class's p (ln p - ln q̃), p, and where the clip holds q."""
    p = np.exp(labels) if log_target else labels
    clipped = _kl_clip(predictions, p, eps)
    q = np.where(clipped, np.minimum(eps, p), predictions)
    if log_target:  # (p = exp(log p) may underflow to 0 beside q = 0: 0·ln 0 = 0, not 0·inf)
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(p > 0, p * (labels - np.log(np.where(p > 0, q, 1.0))), 0.0)
    else:
        terms = xlogy(p, p) - xlogy(p, q)
    return terms, p, clipped


@kl.gradient
def _kl_grad(predictions, labels, *, eps=PROB_EPS, log_target=False):
    terms, p, clipped = _kl_terms(predictions, labels, eps, log_target)
    # (a row is held at 0 for its clip: q below p below eps, where torch's sum, with q unclipped, is not below 0;
    # a sum below 0 without the clip too, q off the simplex by ulps, keeps torch's gradient)
    with np.errstate(divide="ignore", invalid="ignore"):
        torch_sum = np.sum(np.where(clipped, p * (np.log(np.where(clipped, p, 1.0)) - np.log(predictions)), 0.0)
                           + terms, axis=1, keepdims=True)
    held = clipped.any(axis=1, keepdims=True) & (terms.sum(axis=1, keepdims=True) < 0) & ~(torch_sum < 0)
    live = ~clipped & (p > 0) & ~held
    return {"predictions": np.where(live, -p / np.where(live, predictions, 1.0), 0.0)}


_MASK_P = Input("predictions", "N,...", "probability", description="predicted foreground probabilities")
_MASK_Y = Input("labels", "=predictions", "binary", description="binary masks {0, 1}")


def _confusion(predictions, labels, keepdims=False):
    """Soft true positives, false positives and false negatives per sample (row)."""
    p, y = rows(predictions), rows(labels)
    return (np.sum(p * y, axis=1, keepdims=keepdims), np.sum(p * (1 - y), axis=1, keepdims=keepdims),
            np.sum((1 - p) * y, axis=1, keepdims=keepdims))


def _positive_denominator(name, denominator, text):
    """A validate hook: a sample whose denominator (``text``) is 0 with smooth = 0 is 0/0: an empty
    prediction of an empty mask, or for tversky α = β = 0 without a true positive."""

    def check(arrays, params, at=None):
        zero = np.flatnonzero(denominator(*_confusion(arrays["predictions"], arrays["labels"]), params) <= 0)
        if zero.size:
            where = at("predictions", int(zero[0])) if at is not None else f"row {int(zero[0])}"
            raise ParameterError(f"{name}: {where}: the denominator {text} is 0, so the loss is 0/0; it needs "
                                 f"smooth > 0 (got smooth={params['smooth']:g})")
        return arrays

    return check


@register_loss(
    "dice", aliases=("dice_loss", "soft_dice"),
    inputs=(_MASK_P, _MASK_Y), params={"smooth": Param(1.0, constraint=">=0")},
    category="classification", coupling="row",
    validate=_positive_denominator("dice", lambda tp, fp, fn, prm: 2 * tp + fp + fn + prm["smooth"],
                                   "2·TP + FP + FN + smooth (an empty prediction of an empty mask)"),
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
        "tversky", lambda tp, fp, fn, prm: tp + prm["alpha"] * fp + prm["beta"] * fn + prm["smooth"],
        "TP + α·FP + β·FN + smooth"),
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
