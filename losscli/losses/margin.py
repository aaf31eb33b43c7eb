"""Margin (hinge-family) losses on scores: multi-class, multi-label and pairwise margins.

Conventions (``losscli info NAME`` repeats them): scores are real; labels follow the
library each loss matches (stated per loss); gradients are with respect to the scores.
At a kink each loss uses the subgradient its library's autograd gives there (stated per loss):
PyTorch's margin kernels test ``z > 0`` (subgradient 0 at z = 0), PyTorch's clamp passes the
gradient at equality, JAX's ``maximum`` and ``max`` split it evenly between tied arguments.

The last section holds a divergence (``convex_kl``) that has no better home among the modules
of this file's owner; it belongs beside ``kl`` in classification.py.
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError, ParameterError, value_text
from ..numerics import rows, sigmoid, softplus, target_rows, xlogy
from ..registry import Input, Param, register_loss

_CLASS_WEIGHTS = Param((), kind="floats", constraint=">=0",
                       help="one weight per class (comma list or a file); empty: none")
_SCORES = Input("scores", "N,C", "real", description="class scores (N, C)")
_SIGN_CONVENTION = ("Labels must be exactly -1 or +1, as the library documents; 0/1 labels are refused "
                    "(not read as 0 -> -1): the library computes something else for 0, so reading "
                    "them differently would give another number for the same file.")


def _class_weight_vector(class_weights, num_classes: int, name: str):
    """The class weights as an array of length C, or None; a count mismatch is a parameter error."""
    if not class_weights:
        return None
    if len(class_weights) != num_classes:
        raise ParameterError(f"parameter {name}.class_weights: has {len(class_weights)} values "
                             f"but the inputs have {num_classes} classes")
    return np.asarray(class_weights, dtype=np.float64)


def _half_at_tie(v: np.ndarray) -> np.ndarray:
    """d max(v, 0)/dv as JAX's autograd gives it: 1 above, 0 below, 1/2 at v = 0."""
    return np.where(v > 0, 1.0, np.where(v == 0, 0.5, 0.0))


# -- multi-class ---------------------------------------------------------------------------------
def _multi_margin_terms(scores, labels, margin):
    """z_ij = (m - s_iy) + s_ij (PyTorch's order of operations), where it is active (z > 0, j ≠ y)."""
    n = scores.shape[0]
    idx = np.arange(n), labels.astype(np.intp)
    z = (margin - scores[idx])[:, None] + scores
    active = z > 0
    active[idx] = False
    return z, active, idx


@register_loss(
    "multi_margin", aliases=("multi_margin_loss", "multimarginloss"),
    inputs=(_SCORES, Input("labels", "N", "class_index", description="class indices in [0, C)")),
    params={"p": Param(1, choices=(1, 2), help="exponent of each margin violation (1 or 2)"),
            "margin": Param(1.0, help="the margin m"),
            "class_weights": _CLASS_WEIGHTS},
    category="classification", coupling="row",
    summary="Multi-class margin loss (PyTorch MultiMarginLoss, Weston-Watkins form divided by C)",
    formula="l_i = (w_y / C) Σ_{j≠y} max(0, m - s_iy + s_ij)^p,  y = y_i  (w = 1 without class_weights)",
    gradient_formula="∂L/∂s_ij = (w_y / C) p z_ij^(p-1) for active j ≠ y (z_ij = m - s_iy + s_ij > 0);  "
                     "∂L/∂s_iy = -Σ_{j≠y} ∂L/∂s_ij",
    conventions=("As torch.nn.MultiMarginLoss: the sum over the wrong classes is divided by C (all "
                 "classes, the true one included); p is 1 or 2.",
                 "class_weights w multiply each term by the weight of the TRUE class: w_y·z^p, not "
                 "(w_y·z)^p (PyTorch's kernel; its docs print max(0, w_y(m - x_y + x_j))^p).",
                 "Mean reduction: Σ_i l_i / N, also with class_weights (unlike CrossEntropyLoss, "
                 "PyTorch does not divide by Σ w[y_i] here).",
                 "Kink (z = 0 exactly): subgradient 0, as PyTorch (its kernel tests z > 0).",
                 "Not the Crammer-Singer hinge (losscli hinge): every violating class counts, not "
                 "only the best wrong one."),
    matches=("PyTorch torch.nn.MultiMarginLoss (p, margin, weight)",),
    references=("Weston & Watkins, Support Vector Machines for Multi-Class Pattern Recognition, "
                "ESANN 1999", "PyTorch torch.nn.MultiMarginLoss"),
)
def multi_margin(scores, labels, *, p=1, margin=1.0, class_weights=()):
    """Multi-class margin: (w_y/C) Σ_{j≠y} max(0, m - s_y + s_j)^p (Weston & Watkins 1999; torch)."""
    with np.errstate(over="ignore"):  # beyond float64 (|s| ~ 1e308): inf, which the engine reports
        z, active, idx = _multi_margin_terms(scores, labels, margin)
        w = _class_weight_vector(class_weights, scores.shape[1], "multi_margin")
        h = np.where(active, z if p == 1 else z * z, 0.0)
        if w is not None:
            h = h * w[idx[1]][:, None]
        return h.sum(axis=1) / scores.shape[1]


@multi_margin.gradient
def _multi_margin_grad(scores, labels, *, p=1, margin=1.0, class_weights=()):
    with np.errstate(over="ignore"):
        z, active, idx = _multi_margin_terms(scores, labels, margin)
        w = _class_weight_vector(class_weights, scores.shape[1], "multi_margin")
        g = np.where(active, 1.0 if p == 1 else 2.0 * z, 0.0) / scores.shape[1]
        if w is not None:
            g = g * w[idx[1]][:, None]
        g[idx] = -g.sum(axis=1)
    return {"scores": g}


@register_loss(
    "categorical_hinge", aliases=(),
    inputs=(Input("scores", "N,C", "real", description="class scores (Keras y_pred)"),
            Input("labels", "N|N,C", "target",
                  description="one-hot rows (N, C) (Keras y_true), or class indices (N,)")),
    category="classification", coupling="row",
    summary="Categorical hinge (Keras categorical_hinge)",
    formula="l_i = max(0, 1 + max_k (1 - y_ik) s_ik - Σ_k y_ik s_ik)",
    gradient_formula="∂L/∂s_ik = a_i [(1 - y_ik) t_ik / T_i - y_ik],  a = 1 if h > 0, 1/2 if h = 0, else 0; "
                     "t_ik = 1 where (1 - y_ik) s_ik attains the max, T_i their count",
    conventions=("Keras's formula as written: neg = max_k (1 - y_k) s_k includes the 0 that the true "
                 "class contributes, so with one-hot rows l = max(0, 1 + max(0, max_{j≠y} s_j) - s_y); "
                 "when every wrong score is negative this is NOT the Crammer-Singer hinge "
                 "(losscli hinge): scores (-1, -0.5, -2) with class 1 give 1.5 here, 0.5 there.",
                 "Labels: one-hot rows (N, C) as Keras takes them, or class indices (N,), told apart "
                 "by shape (an (N,) column cannot be a row of C > 1 classes) and read as one-hot rows. "
                 "Soft probability rows are accepted and go through the same formula as in Keras; "
                 "Keras's {-1, +1} rows are refused.",
                 "Kinks, as Keras on the JAX backend (jax.grad): at h = 0 the hinge passes half the "
                 "gradient; tied maxima of (1 - y) s share it equally.",
                 "Mean reduction: Σ_i l_i / N (Keras CategoricalHinge, sum_over_batch_size)."),
    matches=("Keras keras.losses.categorical_hinge / CategoricalHinge (JAX backend)",),
    references=("Crammer & Singer, On the Algorithmic Implementation of Multiclass Kernel-based "
                "Vector Machines, JMLR 2, 2001", "Keras keras.losses.categorical_hinge"),
)
def categorical_hinge(scores, labels):
    """Keras categorical hinge: max(0, 1 + max((1 - y) s) - Σ y s) (after Crammer & Singer 2001)."""
    y = target_rows(labels, scores.shape[1])
    with np.errstate(over="ignore"):
        pos = np.sum(y * scores, axis=1)
        neg = np.max((1.0 - y) * scores, axis=1)
        return np.maximum(neg - pos + 1.0, 0.0)


@categorical_hinge.gradient
def _categorical_hinge_grad(scores, labels):
    y = target_rows(labels, scores.shape[1])
    u = (1.0 - y) * scores
    neg = np.max(u, axis=1)
    with np.errstate(over="ignore"):
        a = _half_at_tie(neg - np.sum(y * scores, axis=1) + 1.0)
    tie = (u == neg[:, None]).astype(np.float64)
    share = tie / tie.sum(axis=1, keepdims=True)
    return {"scores": a[:, None] * ((1.0 - y) * share - y)}


# -- binary, elementwise -------------------------------------------------------------------------
_BIN_SCORES = Input("scores", "N,...", "real", description="decision values f(x)")
_BIN_SIGNS = Input("labels", "=scores", "sign", description="labels -1 or +1")


@register_loss(
    "soft_margin", aliases=("soft_margin_loss", "softmarginloss"),
    inputs=(_BIN_SCORES, _BIN_SIGNS),
    category="classification", coupling="elementwise",
    summary="Soft margin (two-class logistic) loss on ±1 labels (PyTorch SoftMarginLoss)",
    formula="l_i = (1/M) Σ_j log(1 + exp(-y_ij f_ij)),  computed as softplus(-y f)",
    gradient_formula="∂L/∂f = -y σ(-y f) / M",
    conventions=(_SIGN_CONVENTION,
                 "A sample's loss is the mean over its M elements; PyTorch's mean (the mean over "
                 "every element) is then the mean over samples.",
                 "Stable softplus form: finite for every finite score. PyTorch computes "
                 "log1p(exp(-y f)) literally, which is inf (and its gradient NaN) once -y f > 709.78; "
                 "losscli gives -y f there (1e4 for y f = -1e4) and gradient -y."),
    matches=("PyTorch torch.nn.SoftMarginLoss (where -y·f < 709)",),
    references=("Cox, The Regression Analysis of Binary Sequences, JRSS-B 20(2), 1958",
                "PyTorch torch.nn.SoftMarginLoss"),
)
def soft_margin(scores, labels):
    """Soft margin: log(1 + e^{-y f}) as softplus(-y f), mean over a row (torch SoftMarginLoss)."""
    return rows(softplus(-labels * scores)).mean(axis=1)


@soft_margin.gradient
def _soft_margin_grad(scores, labels):
    g = -labels * sigmoid(-labels * scores)
    return {"scores": g / rows(g).shape[1]}


@register_loss(
    "hinge_embedding", aliases=("hinge_embedding_loss", "hingeembeddingloss"),
    inputs=(Input("distances", "N,...", "nonnegative",
                  description="distances between the two items of a pair (>= 0), e.g. L1 distances"),
            Input("labels", "=distances", "sign", description="+1 similar pair, -1 dissimilar pair")),
    params={"margin": Param(1.0, help="dissimilar pairs closer than this are penalised")},
    category="classification", coupling="elementwise",
    summary="Hinge embedding loss on pair distances (PyTorch HingeEmbeddingLoss)",
    formula="l_i = (1/M) Σ_j [x_ij if y_ij = 1;  max(0, m - x_ij) if y_ij = -1]",
    gradient_formula="∂L/∂x = 1/M for y = 1;  -1[x <= m]/M for y = -1",
    conventions=(_SIGN_CONVENTION,
                 "The inputs are distances, so they must be >= 0 (PyTorch takes any real x, and a "
                 "negative distance of a similar pair would make the loss negative).",
                 "Kink (x = m exactly, y = -1): subgradient -1, as PyTorch (its clamp_min passes the "
                 "gradient at equality).",
                 "A sample's loss is the mean over its M elements; PyTorch's mean is the mean over "
                 "every element."),
    matches=("PyTorch torch.nn.HingeEmbeddingLoss (margin)",),
    references=("Hadsell, Chopra & LeCun, Dimensionality Reduction by Learning an Invariant "
                "Mapping, CVPR 2006", "PyTorch torch.nn.HingeEmbeddingLoss"),
)
def hinge_embedding(distances, labels, *, margin=1.0):
    """Hinge embedding: x for similar pairs, max(0, m - x) for dissimilar ones (torch)."""
    with np.errstate(over="ignore"):
        return rows(np.where(labels == 1, distances, np.maximum(margin - distances, 0.0))).mean(axis=1)


@hinge_embedding.gradient
def _hinge_embedding_grad(distances, labels, *, margin=1.0):
    g = np.where(labels == 1, 1.0, np.where(distances <= margin, -1.0, 0.0))
    return {"distances": g / rows(g).shape[1]}


@register_loss(
    "perceptron", aliases=("perceptron_loss",),
    inputs=(_BIN_SCORES, _BIN_SIGNS),
    category="classification", coupling="elementwise",
    summary="Perceptron loss max(0, -y f) (optax perceptron_loss)",
    formula="l_i = (1/M) Σ_j max(0, -y_ij f_ij)",
    gradient_formula="∂L/∂f = -y·a / M,  a = 1 if y f < 0, 1/2 if y f = 0, else 0",
    conventions=(_SIGN_CONVENTION + " (optax: 'Target values should be strictly in the set {-1, 1}'; "
                 "a 0 label gives loss 0 there.)",
                 "Kink (f = 0, e.g. a model initialised at zero): subgradient -y/2, as jax.grad of "
                 "optax's jnp.maximum(0, -f·y) (JAX splits the gradient of a tie evenly); the "
                 "classic perceptron update would use -y.",
                 "A sample's loss is the mean over its M elements; optax returns elementwise "
                 "values, whose jnp.mean is then the mean over samples."),
    matches=("optax optax.losses.perceptron_loss",),
    references=("Rosenblatt, The Perceptron: A Probabilistic Model for Information Storage and "
                "Organization in the Brain, Psychological Review 65(6), 1958",
                "optax optax.losses.perceptron_loss"),
)
def perceptron(scores, labels):
    """Perceptron loss max(0, -y f) (Rosenblatt 1958; optax perceptron_loss)."""
    return rows(np.maximum(-scores * labels, 0.0)).mean(axis=1)


@perceptron.gradient
def _perceptron_grad(scores, labels):
    g = -labels * _half_at_tie(-scores * labels)
    return {"scores": g / rows(g).shape[1]}


# -- multi-label ---------------------------------------------------------------------------------
@register_loss(
    "multilabel_soft_margin", aliases=("multilabel_soft_margin_loss", "multilabelsoftmarginloss"),
    inputs=(Input("logits", "N,C", "real", description="one logit per class (N, C)"),
            Input("labels", "=logits", "probability",
                  description="multi-hot targets (N, C) in {0, 1} (soft targets in [0, 1] allowed)")),
    params={"class_weights": _CLASS_WEIGHTS},
    category="classification", coupling="elementwise",
    summary="Multi-label one-versus-all logistic loss (PyTorch MultiLabelSoftMarginLoss)",
    formula="l_i = (1/C) Σ_k w_k [y_ik softplus(-x_ik) + (1 - y_ik) softplus(x_ik)]",
    gradient_formula="∂L/∂x_ik = w_k [(1 - y_ik) σ(x_ik) - y_ik σ(-x_ik)] / C",
    conventions=("Targets are multi-hot rows (1 = the sample has that label), not index lists "
                 "(those are multilabel_margin's); values in [0, 1] are accepted, as PyTorch's "
                 "formula takes them.",
                 "class_weights w scale each class's term; the row is still divided by C, and the "
                 "mean reduction is Σ_i l_i / N, as PyTorch.",
                 "Stable softplus form (PyTorch uses logsigmoid): finite for every finite logit. "
                 "Without class_weights it equals bce_logits on the same rows."),
    matches=("PyTorch torch.nn.MultiLabelSoftMarginLoss (weight)",),
    references=("Cox, The Regression Analysis of Binary Sequences, JRSS-B 20(2), 1958",
                "PyTorch torch.nn.MultiLabelSoftMarginLoss"),
)
def multilabel_soft_margin(logits, labels, *, class_weights=()):
    """One-versus-all logistic loss, mean over classes (torch MultiLabelSoftMarginLoss)."""
    terms = labels * softplus(-logits) + (1.0 - labels) * softplus(logits)
    w = _class_weight_vector(class_weights, logits.shape[1], "multilabel_soft_margin")
    with np.errstate(over="ignore"):
        if w is not None:
            terms = terms * w
        return terms.sum(axis=1) / logits.shape[1]


@multilabel_soft_margin.gradient
def _multilabel_soft_margin_grad(logits, labels, *, class_weights=()):
    g = (1.0 - labels) * sigmoid(logits) - labels * sigmoid(-logits)
    w = _class_weight_vector(class_weights, logits.shape[1], "multilabel_soft_margin")
    if w is not None:
        g = g * w
    return {"logits": g / logits.shape[1]}


def _row_text(row: np.ndarray) -> str:
    shown = ", ".join(f"{v:g}" for v in row[:12])
    return f"({shown}{', ...' if row.size > 12 else ''})"


def _multilabel_margin_validate(arrays, params):
    """Each row: distinct class indices in [0, C), then -1 to the end (PyTorch's layout). The
    messages quote the row (a validate hook sees one block of rows, not the file's row numbers)."""
    labels = arrays["labels"]
    y = np.where(np.isfinite(labels), labels, -1.0)  # a missing label (--nan-policy propagate) ends the row
    c = arrays["scores"].shape[1]
    expected = (f"expected class indices in 0..{c - 1}, each target once, then -1 to the end of the row, "
                "as torch.nn.MultiLabelMarginLoss")
    bad = (y < -1) | (y >= c)
    if bad.any():
        r, k = (int(i) for i in np.argwhere(bad)[0])
        raise InputError(f"multilabel_margin labels: found {value_text(y[r, k])} in the row {_row_text(y[r])} ({expected})")
    padded = np.maximum.accumulate(y == -1, axis=1)
    late = padded & (y != -1)
    if late.any():
        r, k = (int(i) for i in np.argwhere(late)[0])
        raise InputError(f"multilabel_margin labels: the row {_row_text(y[r])} lists class {y[r, k]:g} after "
                         f"the -1 that ends its targets, which PyTorch would ignore ({expected})")
    counts = _target_counts(y, c)
    twice = counts > 1
    if twice.any():
        r, k = (int(i) for i in np.argwhere(twice)[0])
        hint = ("; these look like 0/1 indicator rows: multilabel_soft_margin takes those"
                if c > 2 and np.all((y == 0) | (y == 1)) else "")
        raise InputError(f"multilabel_margin labels: the row {_row_text(y[r])} lists class {k} "
                         f"{int(counts[r, k])} times ({expected}){hint}")
    return arrays


def _target_counts(labels, num_classes):
    """How often each class is listed in the row's targets (the entries before the first -1)."""
    y = np.where(np.isfinite(labels), labels, -1).astype(np.intp)  # (NaN: --nan-policy propagate)
    listed = ~np.maximum.accumulate(y < 0, axis=1)
    counts = np.zeros((y.shape[0], num_classes))
    r, _ = np.nonzero(listed)
    np.add.at(counts, (r, y[listed]), 1.0)
    return counts


#: elements of the (rows, C, C) margin table held at once: rows are processed in chunks of this size
_CHUNK_ELEMENTS = 4_000_000


def _multilabel_margin_parts(scores, labels):
    """Yield (row slice, counts, active, z) in chunks of rows: z[r, j, i] = (1 - s_rj) + s_ri for
    each listed target j and non-target i (PyTorch's order of operations), active where z > 0."""
    n, c = scores.shape
    step = max(1, _CHUNK_ELEMENTS // max(1, c * c))
    for start in range(0, n, step):
        sl = slice(start, min(n, start + step))
        x = scores[sl]
        counts = _target_counts(labels[sl], c)
        with np.errstate(over="ignore"):
            z = (1.0 - x)[:, :, None] + x[:, None, :]
        active = (z > 0) & (counts > 0)[:, :, None] & (counts == 0)[:, None, :]
        yield sl, counts, active, z


def _multilabel_margin_sampler(*, rng, samples, classes, dim, **_):
    """Scores and target lists: k distinct classes (0 <= k <= C) per row, then -1."""
    scores = rng.standard_normal((samples, classes))
    labels = np.full((samples, classes), -1.0)
    for i in range(samples):
        k = int(rng.integers(0, classes + 1))
        labels[i, :k] = rng.permutation(classes)[:k]
    return {"scores": scores, "labels": labels}


@register_loss(
    "multilabel_margin", aliases=("multilabel_margin_loss", "multilabelmarginloss"),
    inputs=(_SCORES,
            Input("labels", "=scores", "integer",
                  description="target class indices, then -1 padding, one row per sample (PyTorch layout)")),
    category="classification", coupling="row",
    validate=_multilabel_margin_validate, sampler=_multilabel_margin_sampler,
    summary="Multi-label margin loss on target index lists (PyTorch MultiLabelMarginLoss)",
    formula="l_i = (1/C) Σ_{j ∈ T_i} Σ_{k ∉ T_i} max(0, 1 - (s_ij - s_ik)),  T_i = the row's targets",
    gradient_formula="∂L/∂s_ik = (1/C)·#{j ∈ T_i: z_jk > 0} for k ∉ T_i;  "
                     "∂L/∂s_ij = -(1/C)·#{k ∉ T_i: z_jk > 0} for j ∈ T_i;  z_jk = 1 - s_ij + s_ik",
    conventions=("Labels as PyTorch lays them out: row i lists its target classes, then -1 fills the "
                 "rest of the row (shape (N, C), like the scores). losscli refuses what PyTorch "
                 "would silently read differently: a class after the first -1 (PyTorch ignores it) "
                 "and a class listed twice (PyTorch counts it twice). A row of -1 (no target) has loss 0.",
                 "The margin is 1 and the row is divided by C, as PyTorch (no parameters).",
                 "Kink (z = 0 exactly): subgradient 0, as PyTorch (its kernel tests z > 0).",
                 "For multi-hot 0/1 target rows use multilabel_soft_margin."),
    matches=("PyTorch torch.nn.MultiLabelMarginLoss",),
    references=("Weston, Watkins et al.; Crammer & Singer, A Family of Additive Online Algorithms "
                "for Category Ranking, JMLR 3, 2003", "PyTorch torch.nn.MultiLabelMarginLoss"),
)
def multilabel_margin(scores, labels):
    """Multi-label margin: (1/C) Σ_{j∈T} Σ_{k∉T} max(0, 1 - s_j + s_k) (torch MultiLabelMarginLoss)."""
    out = np.zeros(scores.shape[0])
    for sl, counts, active, z in _multilabel_margin_parts(scores, labels):
        with np.errstate(over="ignore"):
            out[sl] = np.sum(counts * np.sum(np.where(active, z, 0.0), axis=2), axis=1)
    out[~np.isfinite(labels).all(axis=1)] = np.nan  # a missing label (--nan-policy propagate)
    return out / scores.shape[1]


@multilabel_margin.gradient
def _multilabel_margin_grad(scores, labels):
    g = np.zeros_like(scores, dtype=np.float64)
    for sl, counts, active, _ in _multilabel_margin_parts(scores, labels):
        weighted = active * counts[:, :, None]
        g[sl] = weighted.sum(axis=1) - weighted.sum(axis=2)
    g[~np.isfinite(labels).all(axis=1)] = np.nan
    return {"scores": g / scores.shape[1]}


# -- divergences -------------------------------------------------------------------------------------
# (convex_kl's natural home is classification.py, beside kl; it is here because that module has
# another owner.)
def _convex_kl_parts(log_predictions, targets):
    """Per element: t log(t/q) - t + q and its derivative q - t, q = e^{lp}, in forms that keep
    their digits when q ≈ t: with r = log t - lp, the term is t·(r + expm1(-r)) (a series for
    |r| < 0.1) and the derivative t·expm1(-r) where |r| <= 1; elsewhere there is no cancellation
    and the plain forms are used. t = 0 gives q and q."""
    t, lp = targets, log_predictions
    with np.errstate(over="ignore"):  # q beyond float64 (lp > 709.78) is inf: the engine reports it
        q = np.exp(lp)
    pos = t > 0
    with np.errstate(divide="ignore"):
        log_t = np.log(np.where(pos, t, 1.0))
    r = log_t - lp
    near = pos & (np.abs(r) <= 1.0)
    rn = np.where(near, r, 0.0)
    em = np.expm1(-rn)
    small = np.abs(rn) < 0.1
    series = np.zeros_like(rn)  # r + expm1(-r) = Σ_{k>=2} (-r)^k / k!
    term = np.ones_like(rn)
    for k in range(1, 13):
        term = term * (-rn) / k
        if k >= 2:
            series = series + term
    g_near = np.where(small, series, rn + em)
    with np.errstate(over="ignore", invalid="ignore"):  # (inf - inf only where q = inf: value inf)
        plain = xlogy(t, t) - t * lp - t + q
        value = np.where(near, t * g_near, np.where(np.isinf(q), np.inf, np.where(pos, plain, q)))
        grad = np.where(near, t * em, q - t)
    return value, grad


@register_loss(
    "convex_kl", aliases=("convex_kl_divergence", "generalized_kl_divergence", "generalized_kl"),
    inputs=(Input("log_predictions", "N,C", "real",
                  description="log of the predicted (possibly unnormalised) measure q, one row per sample"),
            Input("targets", "=log_predictions", "nonnegative",
                  description="target (possibly unnormalised) measure p >= 0")),
    differentiable=("log_predictions",), category="classification", coupling="elementwise",
    summary="Generalised (convex) KL divergence of unnormalised measures (optax convex_kl_divergence)",
    formula="l_i = Σ_k [p_ik (ln p_ik - lq_ik) - p_ik + exp(lq_ik)],  0·ln 0 = 0",
    gradient_formula="∂L/∂lq_ik = exp(lq_ik) - p_ik",
    conventions=("Argument order as optax: log-predictions first, targets second; the value is "
                 "KL(targets ‖ predictions) plus Σ (q - p), the Bregman divergence of x ln x - x, so "
                 "neither input needs to sum to 1. Where both rows sum to 1 it equals kl on "
                 "exp(log_predictions) (above kl's 1e-7 clip).",
                 "Per sample: the sum over the last axis (optax's axis=-1 default) of an (N, C) table. "
                 "optax returns that per-sample vector (no reduction); the mean is its mean.",
                 "optax 0.2.8 deprecates convex_kl_divergence in favour of generalized_kl_divergence, "
                 "the same function (both names are aliases here).",
                 "Predictions come in log space (any real); exp(lq) beyond float64 (lq > 709.78) "
                 "makes the loss overflow, which losscli reports as an error naming the row.",
                 "Targets may be 0 (0·ln 0 = 0, as optax's where(t == 0, 0, log t)). Only the "
                 "log-predictions are differentiated (∂/∂p at p = 0 is -inf)."),
    matches=("optax optax.losses.convex_kl_divergence / generalized_kl_divergence",),
    references=("Bregman, The relaxation method of finding the common point of convex sets, USSR "
                "Comput. Math. & Math. Phys. 7(3), 1967",
                "Boyd & Vandenberghe, Convex Optimization, 2004, p. 90",
                "optax optax.losses.convex_kl_divergence"),
)
def convex_kl(log_predictions, targets):
    """Generalised KL Σ p ln(p/q) - p + q, q = e^{lq} (Bregman 1967; optax convex_kl_divergence)."""
    value, _ = _convex_kl_parts(log_predictions, targets)
    with np.errstate(over="ignore"):
        return value.sum(axis=1)


@convex_kl.gradient
def _convex_kl_grad(log_predictions, targets):
    _, grad = _convex_kl_parts(log_predictions, targets)
    return {"log_predictions": grad}
