"""Scoring rules and Fenchel-Young losses under scikit-learn's, Keras' and optax's conventions.

- ``log_loss`` and ``brier``: scikit-learn's log_loss and brier_score_loss: binary (N,)
  probabilities of the positive class, or (N, C) class-probability rows used as given (never
  renormalised), with class-index or one-hot labels;
- ``binary_focal``: Keras' BinaryFocalCrossentropy (probabilities by default, clipped log);
- ``sparsemax`` and ``binary_sparsemax``: the sparsemax losses (Martins & Astudillo 2016), the
  Fenchel-Young losses of the Gini entropy, whose scoring rule is Brier's (optax's
  multiclass_sparsemax_loss and sparsemax_loss).
"""

from __future__ import annotations

import numpy as np

from ..domains import chosen, judge
from ..numerics import PROB_EPS, log_sigmoid, rows, sigmoid, target_rows
from ..registry import Input, Param, register_loss
from .classification import _TARGET, _log_pos

#: scikit-learn's clipping constant for float64 probabilities: np.finfo(float64).eps (the eps="auto"
#: of earlier versions; scikit-learn 1.9.1 has no eps argument)
SKLEARN_EPS = float(np.finfo(np.float64).eps)

_PROBS = Input("predictions", "N|N,C", "probability_or_rows",
               description="P(y = 1) (N,), or class-probability rows (N, C)")
_LABELS = Input("labels", "N|=predictions", "binary_or_class",
                description="0/1 for (N,) probabilities; class indices (N,) or one-hot rows (N, C) for rows")
_AS_GIVEN = ("(N,) predictions are P(y = 1) with labels in {0, 1}; (N, C) rows are one multi-class problem, "
             "with class-index labels or one-hot rows (scikit-learn refuses soft label rows; multi-hot rows, "
             "which it sums over, are refused here). (N, 1) predictions are refused: give (N,).",
             "Rows are used as given, never renormalised (scikit-learn 1.9.1 warns when a row's sum is off by "
             "more than ~1.5e-8 relative and computes on it as given; older versions divided by the sum); a "
             "row further than --prob-tol from summing to 1 is refused.",
             "Mean reduction: Σ l_i / N, as scikit-learn; --weights gives its sample_weight mean.")


# -- proper scoring rules on probabilities ---------------------------------------------------------
@register_loss(
    "log_loss", aliases=("logloss",),
    inputs=(_PROBS, _LABELS), category="classification", coupling="row",
    summary="scikit-learn's log loss: binary on (N,) probabilities, multi-class on (N, C) rows",
    formula="(N,): l_i = -[y log c + (1 - y) log(1 - c)];  (N, C): l_i = -Σ_k y_ik log c_ik;  "
            "c = clip(p, ε, 1 - ε), ε = 2.22e-16",
    gradient_formula="(N,): ∂L/∂p = (p - y)/(p(1 - p));  (N, C): ∂L/∂p_ik = -y_ik / p_ik;  0 where the clip holds p",
    conventions=("scikit-learn 1.9.1 sklearn.metrics.log_loss: probabilities are clipped to [ε, 1 - ε] with "
                 "ε = np.finfo(float64).eps = 2.22e-16 (the eps='auto' of earlier versions; 1.9.1 has no eps "
                 "argument): p = 0 for the true class costs -log ε = 36.04, p = 1 costs 2.2e-16.",
                 "Not bce: bce clips at 1e-7 and treats (N, C) rows as C binary problems (0.4298 where "
                 "log_loss gives 0.6905 on the same one-hot rows).") + _AS_GIVEN,
    matches=("scikit-learn sklearn.metrics.log_loss (values)",),
    references=("Good, Rational Decisions, JRSS-B 14(1), 1952 (the logarithmic scoring rule)",
                "scikit-learn sklearn.metrics.log_loss"),
)
def log_loss(predictions, labels):
    """Log loss -Σ y log clip(p, ε, 1 - ε), ε = float64 eps (Good 1952; sklearn.metrics.log_loss)."""
    c = np.clip(predictions, SKLEARN_EPS, 1.0 - SKLEARN_EPS)
    if predictions.ndim == 1:
        return -(labels * np.log(c) + (1.0 - labels) * np.log1p(-c))
    return -np.sum(target_rows(labels, c.shape[1]) * np.log(c), axis=1)


@log_loss.gradient
def _log_loss_grad(predictions, labels):
    active = (predictions > SKLEARN_EPS) & (predictions < 1.0 - SKLEARN_EPS)
    p = np.where(active, predictions, 0.5)
    if predictions.ndim == 1:
        g = (p - labels) / (p * (1.0 - p))
    else:
        g = -target_rows(labels, p.shape[1]) / p
    return {"predictions": np.where(active, g, 0.0)}


def _brier_scale(predictions, scale_by_half):
    """scikit-learn's scale_by_half: "auto" halves (N,) and two-column inputs only."""
    if scale_by_half == "auto":
        return 0.5 if predictions.ndim == 1 or predictions.shape[1] < 3 else 1.0
    return 0.5 if scale_by_half == "true" else 1.0


@register_loss(
    "brier", aliases=("brier_score", "brier_score_loss"),
    inputs=(_PROBS, _LABELS), category="classification", coupling="row",
    params={"scale_by_half": Param("auto", choices=("auto", "true", "false"),
                                   help="halve the score; auto: binary and two-class inputs only (scikit-learn)")},
    summary="Brier score (scikit-learn's brier_score_loss): squared error of class probabilities",
    formula="l_i = s Σ_k (p_ik - y_ik)²  over the classes (binary (N,): the two classes (1 - p, p), so "
            "2s (p_i - y_i)²);  s = 1/2 (scale_by_half) or 1",
    gradient_formula="∂L/∂p_ik = 2 s (p_ik - y_ik);  binary (N,): 4 s (p_i - y_i)",
    conventions=("scikit-learn 1.9.1 sklearn.metrics.brier_score_loss with scale_by_half='auto': binary "
                 "(N,) and (N, 2) inputs are halved, so a binary sample scores (p - y)² in [0, 1]; (N, C) "
                 "rows with C >= 3 are not: Σ_k (p_k - y_k)² in [0, 2] (Brier's original definition).",
                 "No clipping: the score is a polynomial.") + _AS_GIVEN,
    matches=("scikit-learn sklearn.metrics.brier_score_loss (values)",),
    references=("Brier, Verification of Forecasts Expressed in Terms of Probability, Monthly Weather "
                "Review 78(1), 1950", "scikit-learn sklearn.metrics.brier_score_loss"),
)
def brier(predictions, labels, *, scale_by_half="auto"):
    """Brier score s Σ_k (p_k - y_k)² (Brier 1950; sklearn.metrics.brier_score_loss)."""
    s = _brier_scale(predictions, scale_by_half)
    if predictions.ndim == 1:
        return 2.0 * s * (predictions - labels) ** 2
    d = predictions - target_rows(labels, predictions.shape[1])
    return s * np.sum(d * d, axis=1)


@brier.gradient
def _brier_grad(predictions, labels, *, scale_by_half="auto"):
    s = _brier_scale(predictions, scale_by_half)
    if predictions.ndim == 1:
        return {"predictions": 4.0 * s * (predictions - labels)}
    return {"predictions": 2.0 * s * (predictions - target_rows(labels, predictions.shape[1]))}


# -- Keras binary focal cross-entropy -------------------------------------------------------------
def _judge_focal_predictions(arrays, params):
    """Probabilities in [0, 1] unless from_logits (the domain the parameter chooses)."""
    return {**arrays, "predictions": judge(chosen("probability_or_logit", params), arrays["predictions"])}


def _binary_focal_parts(x, labels, from_logits, label_smoothing):
    """Keras' pieces: smoothed targets t, p, the clipped c, BCE(c), log u with u = 1 - p_t of the
    unclipped p, and log dp/dx (0 for probabilities)."""
    t = labels * (1.0 - label_smoothing) + 0.5 * label_smoothing if label_smoothing else labels
    with np.errstate(divide="ignore", invalid="ignore"):
        if from_logits:
            p, log_dp = sigmoid(x), log_sigmoid(x) + log_sigmoid(-x)
            log_u = np.logaddexp(_log_pos(t) + log_sigmoid(-x), _log_pos(1.0 - t) + log_sigmoid(x))
        else:
            p, log_dp = x, 0.0
            log_u = _log_pos(t * (1.0 - x) + (1.0 - t) * x)
    c = np.clip(p, PROB_EPS, 1.0 - PROB_EPS)
    return t, p, c, -(t * np.log(c) + (1.0 - t) * np.log1p(-c)), log_u, log_dp


def _power_of_log(log_u, gamma):
    """u^γ from log u, with u^0 = 1 also where u = 0 (γ log u may overflow to -inf: u^γ = 0)."""
    if not gamma:
        return np.ones_like(log_u)
    with np.errstate(over="ignore"):
        return np.exp(gamma * log_u)


def _balance(t, alpha, apply_class_balancing):
    return alpha * t + (1.0 - alpha) * (1.0 - t) if apply_class_balancing else 1.0


@register_loss(
    "binary_focal", aliases=("binary_focal_crossentropy",),
    inputs=(Input("predictions", "N,...", "probability_or_logit",
                  description="P(y = 1), or logits with from_logits=true"),
            Input("labels", "=predictions", "probability", description="targets in [0, 1] (usually {0, 1})")),
    params={"from_logits": Param(False, help="predictions are logits (sigmoid applied first)"),
            "gamma": Param(2.0, constraint=">=0", help="focusing exponent"),
            "apply_class_balancing": Param(False, help="weight positives by alpha, negatives by 1 - alpha"),
            "alpha": Param(0.25, constraint="[0,1]", help="used only with apply_class_balancing"),
            "label_smoothing": Param(0.0, constraint="[0,1]", help="targets become y(1 - ε) + ε/2")},
    validate=_judge_focal_predictions, category="classification", coupling="elementwise",
    summary="Binary focal cross-entropy, Keras convention (probabilities by default)",
    formula="l_i = (1/M) Σ_j w (1 - p_t)^γ BCE(c, t),  c = clip(p, 1e-7, 1 - 1e-7), p_t = t p + (1-t)(1-p), "
            "t = y(1 - ε) + ε/2,  w = α t + (1-α)(1-t) with apply_class_balancing, else 1",
    gradient_formula="∂L/∂p = w [γ (1 - 2t) u^(γ-1) BCE + u^γ (c - t)/(c(1 - c)) 1[eps < p < 1 - eps]] / M,  "
                     "u = 1 - p_t;  with from_logits: × σ(x)σ(-x)",
    conventions=("Keras keras.losses.BinaryFocalCrossentropy: predictions are probabilities unless "
                 "from_logits=true; log terms use p clipped to [1e-7, 1 - 1e-7] (also after the sigmoid), "
                 "while (1 - p_t)^γ uses the unclipped p.",
                 "Differs from focal (torchvision): focal takes logits and its log term is exact (softplus, "
                 "no clip: at x = -30, y = 1 its cross-entropy is 30, here -log(1e-7) = 16.118); focal weights "
                 "by alpha = 0.25 by default, this only with apply_class_balancing (so out of the box this is "
                 "4x focal wherever neither clips); label_smoothing is Keras' (y(1 - ε) + ε/2).",
                 "With 0 < γ < 1 the derivative at p exactly equal to a hard label (p_t = 1) is infinite.",
                 "Multi-label rows (N, K): a sample's loss is the mean over its K outputs (Keras: the last axis)."),
    matches=("Keras keras.losses.BinaryFocalCrossentropy",),
    references=("Lin et al., Focal Loss for Dense Object Detection, ICCV 2017, arXiv:1708.02002",
                "Keras keras.losses.BinaryFocalCrossentropy"),
)
def binary_focal(predictions, labels, *, from_logits=False, gamma=2.0, apply_class_balancing=False, alpha=0.25,
                 label_smoothing=0.0):
    """Binary focal cross-entropy w (1 - p_t)^γ BCE (Lin et al. 2017; Keras BinaryFocalCrossentropy)."""
    t, _, _, bce, log_u, _ = _binary_focal_parts(predictions, labels, from_logits, label_smoothing)
    w = _balance(t, alpha, apply_class_balancing)
    return rows(w * _power_of_log(log_u, gamma) * bce).mean(axis=1)


@binary_focal.gradient
def _binary_focal_grad(predictions, labels, *, from_logits=False, gamma=2.0, apply_class_balancing=False,
                       alpha=0.25, label_smoothing=0.0):
    t, p, c, bce, log_u, log_dp = _binary_focal_parts(predictions, labels, from_logits, label_smoothing)
    active = (p > PROB_EPS) & (p < 1.0 - PROB_EPS)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        first = 0.0
        if gamma:  # γ (1 - 2t) u^(γ-1) BCE dp/dx, in logs (u^(γ-1) overflows where dp/dx vanishes)
            exponent = (gamma - 1.0) * log_u if gamma != 1.0 else 0.0
            first = gamma * (1.0 - 2.0 * t) * np.exp(np.log(bce) + exponent + log_dp)
        if from_logits:  # (c - t)/(c(1 - c)) · σ(x)σ(-x) = σ(x) - t, written without cancellation
            slope = (1.0 - t) * p - t * sigmoid(-predictions)
        else:
            slope = (c - t) / (c * (1.0 - c))
        second = _power_of_log(log_u, gamma) * np.where(active, slope, 0.0)
        w = _balance(t, alpha, apply_class_balancing) * np.ones_like(t)
        g = np.where(w == 0, 0.0, w * (first + second))
    return {"predictions": g / rows(g).shape[1]}


# -- the sparsemax losses (Fenchel-Young losses of the Gini entropy) ------------------------------
def sparsemax_projection(z: np.ndarray) -> np.ndarray:
    """Euclidean projection of each row onto the probability simplex (Martins & Astudillo 2016,
    Algorithm 1), on the row minus its maximum (the projection is shift-invariant)."""
    n, k = z.shape
    with np.errstate(over="ignore"):  # |z| near 1.8e308: -inf is a class far off the support
        shifted = z - np.max(z, axis=1, keepdims=True)
        ordered = -np.sort(-shifted, axis=1)
        cumulative = np.cumsum(ordered, axis=1)
        size = np.sum(1.0 + np.arange(1, k + 1) * ordered > cumulative, axis=1)  # the support, k(z) >= 1
    tau = (cumulative[np.arange(n), size - 1] - 1.0) / size
    return np.maximum(shifted - tau[:, None], 0.0)


@register_loss(
    "sparsemax", aliases=("sparsemax_multiclass", "multiclass_sparsemax", "multiclass_sparsemax_loss"),
    inputs=(Input("logits", "N,C", "real", description="unnormalised class scores"), _TARGET),
    grad_checks=("rows_sum_to_zero:logits",), category="classification", coupling="row",
    summary="Sparsemax loss (Martins & Astudillo 2016) on logits: the sparse counterpart of softmax_ce",
    formula="l_i = Σ_k (p_ik - q_ik) z_ik + ½(‖q_i‖² - ‖p_i‖²),  p = sparsemax(z) (projection onto the simplex), "
            "q = the one-hot (or soft) label row",
    gradient_formula="∂L/∂z_i = sparsemax(z_i) - q_i",
    conventions=("Multi-class, as optax.losses.multiclass_sparsemax_loss (integer labels); optax's "
                 "sparsemax_loss is the binary one, here binary_sparsemax.",
                 "Label rows (N, C) may be soft: the loss is then the Fenchel-Young loss of the Gini "
                 "entropy at q (Martins & Astudillo's multi-label form takes q = y / ‖y‖₁).",
                 "Zero exactly when sparsemax(z) = q; computed on z minus its row maximum (shift-invariant), "
                 "so logits of ±1e4 are exact; rounding below 0 is clipped to 0."),
    matches=("optax.losses.multiclass_sparsemax_loss",),
    references=("Martins & Astudillo, From Softmax to Sparsemax: A Sparse Model of Attention and "
                "Multi-Label Classification, ICML 2016, arXiv:1602.02068",
                "Blondel, Martins & Niculae, Learning with Fenchel-Young Losses, JMLR 21, 2020"),
)
def sparsemax(logits, labels):
    """Sparsemax loss (p - q)·z + ½(‖q‖² - ‖p‖²), p = sparsemax(z) (Martins & Astudillo 2016)."""
    q = target_rows(labels, logits.shape[1])
    p = sparsemax_projection(logits)
    with np.errstate(over="ignore", invalid="ignore"):
        z = logits - np.max(logits, axis=1, keepdims=True)
        linear = np.sum(np.where(p == q, 0.0, (p - q) * z), axis=1)  # (0·(-inf) is no term)
    return np.maximum(linear + 0.5 * (np.sum(q * q, axis=1) - np.sum(p * p, axis=1)), 0.0)


@sparsemax.gradient
def _sparsemax_grad(logits, labels):
    return {"logits": sparsemax_projection(logits) - target_rows(labels, logits.shape[1])}


def _sparse_plus(logits, labels):
    """sparse_plus(s) and its slope at s = -z for y = 1, s = z for y = 0 (values of s beyond ±1
    never enter the square: no overflow)."""
    s = np.where(labels == 1, -logits, logits)
    t = np.clip(s, -1.0, 1.0)
    return np.where(s >= 1.0, s, 0.25 * (t + 1.0) ** 2), 0.5 * (t + 1.0)


@register_loss(
    "binary_sparsemax", aliases=("sparsemax_loss", "binary_sparsemax_loss"),
    inputs=(Input("logits", "N,...", "real", description="unnormalised scores (logits)"),
            Input("labels", "=logits", "binary", description="labels in {0, 1}")),
    category="classification", coupling="elementwise",
    summary="Binary sparsemax loss (optax sparsemax_loss): sparse_plus of the signed logit",
    formula="l_i = (1/M) Σ_j sparse_plus(s),  s = -x (y = 1) or x (y = 0);  sparse_plus(s) = 0 (s <= -1), "
            "(s + 1)²/4 (|s| < 1), s (s >= 1)",
    gradient_formula="∂L/∂x = ±clip((s + 1)/2, 0, 1) / M  (- for y = 1)",
    conventions=("optax.losses.sparsemax_loss is this binary loss (optax's name; the multi-class sparsemax "
                 "loss is sparsemax here, optax's multiclass_sparsemax_loss). Zero iff the sparse sigmoid "
                 "of x equals y: |x| >= 1 on the right side.",
                 "Once differentiable everywhere (no kinks): the slope is continuous at s = ±1.",
                 "Multi-label rows (N, K): a sample's loss is the mean over its K outputs."),
    matches=("optax.losses.sparsemax_loss",),
    references=("Blondel, Martins & Niculae, Learning with Fenchel-Young Losses, JMLR 21, 2020, §4.4",
                "optax.losses.sparsemax_loss"),
)
def binary_sparsemax(logits, labels):
    """Binary sparsemax loss sparse_plus(∓x) (Blondel et al. 2020 §4.4; optax.losses.sparsemax_loss)."""
    return rows(_sparse_plus(logits, labels)[0]).mean(axis=1)


@binary_sparsemax.gradient
def _binary_sparsemax_grad(logits, labels):
    g = _sparse_plus(logits, labels)[1] * np.where(labels == 1, -1.0, 1.0)
    return {"logits": g / rows(g).shape[1]}
