"""Embedding, ranking and verification losses: inputs are vectors (N, D) or scores.

Conventions (``losscli info NAME`` repeats them):
- a vector is normalised as ``x / max(‖x‖, floor)``: floor 1e-12 (torch.nn.functional.normalize,
  as sentence-transformers, pytorch-metric-learning and torch use it) for the in-batch losses
  (infonce, mnrl, nt_xent, ge2e); a zero vector then has cosine 0 with everything. Below the
  floor the divisor is the constant floor, so the gradient there is g/floor;
- cosine_embedding adds 1e-12 to each squared norm, as PyTorch's CosineEmbeddingLoss;
  cosine_distance floors the squared norm at ``epsilon`` (optax), cosine_similarity the norm at
  ``epsilon`` = 1e-7 (Keras 3);
- hinges pass the gradient at exactly 0 (PyTorch's clamp_min does: its subgradient is 1);
- batch-coupled losses (infonce, mnrl, nt_xent, ge2e) take the gradient's ``cotangent`` directly,
  so weighted reductions are exact for them too.
"""

from __future__ import annotations

from typing import TypedDict

import numpy as np

from ..errors import InputError
from ..numerics import nll_at, nll_shifted, norm, sigmoid, softmax_minus_onehot
from ..registry import Input, Param, register_loss

#: the norm floor of torch.nn.functional.normalize (eps = 1e-12), used by the in-batch losses
NORM_FLOOR = 1e-12
#: in-batch logits scale·cos are shifted by |scale| (their bound) up to this scale, by each row's
#: maximum beyond it: e^{-2·100} is a normal double, far from underflow
BOUNDED_SHIFT = 100.0
#: PyTorch's CosineEmbeddingLoss adds this to each squared norm: aten's EPSILON, the float32 1e-12
#: (9.99999996e-13 as a double; a double 1e-12 differs from PyTorch by 3e-10 at norms near 1e-7)
COSINE_EMBEDDING_EPS = float(np.float32(1e-12))


def _normalise(x: np.ndarray, floor: float = NORM_FLOOR) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """x / max(‖x‖, floor) along the last axis: (the result, the divisor, where ‖x‖ is the divisor)."""
    r = norm(x, axis=-1, keepdims=True)
    free = r >= floor  # (torch's clamp_min passes the gradient at equality)
    n = np.where(free, r, floor)
    return x / n, n, free


def _sum_sq_rows(x: np.ndarray) -> np.ndarray:
    """Σ_d x_d² over the last axis in one einsum: no x² temporary, no reduction along short rows
    (stacked embeddings (32, 256, 8): 66 µs, np.sum(x * x, axis=-1) 217 µs)."""
    with np.errstate(over="ignore", under="ignore"):
        return np.einsum("...d,...d->...", x, x)


def _unit_rows(x: np.ndarray, floor: float = NORM_FLOOR) -> np.ndarray:
    """The first result of :func:`_normalise`, x / max(‖x‖, floor), faster for the stacked copies
    gradcheck evaluates: rows whose plain norm over- or underflows go through numerics.norm's
    scaled path (via _normalise), exactly as there."""
    if x.shape[-1] == 0:
        return _normalise(x, floor)[0]
    s = _sum_sq_rows(x)
    if s.size and floor * floor <= s.min() and s.max() < np.inf:  # (False for a NaN)
        return x / np.sqrt(s)[..., None]  # every row's norm is finite and above the floor
    r = np.sqrt(s)[..., None]
    if not np.all(np.isfinite(r) & ((r >= 1e-150) | ~(r >= 0))):
        return _normalise(x, floor)[0]
    return x / np.where(r >= floor, r, floor)


def _normalise_backward(g: np.ndarray, u: np.ndarray, n: np.ndarray, free: np.ndarray) -> np.ndarray:
    """Gradient through x -> x / max(‖x‖, floor): (g - x̂(x̂·g))/‖x‖ where ‖x‖ is the divisor, g/floor
    where the floor is (a constant)."""
    proj = np.where(free, u * np.sum(u * g, axis=-1, keepdims=True), 0.0)
    return (g - proj) / n


def _unit(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """x / max(‖x‖, 1e-12) and the divisor (torch.nn.functional.normalize); contrastive.py uses it."""
    u, n, _ = _normalise(x)
    return u, n


def _unit_backward(g_unit: np.ndarray, unit: np.ndarray, norm_: np.ndarray) -> np.ndarray:
    """Gradient through :func:`_unit`: (g - x̂(x̂·g))/‖x‖, or g/1e-12 where the floor is the divisor."""
    return _normalise_backward(g_unit, unit, norm_, norm_ > NORM_FLOOR)


def _ones(cotangent, n):
    return np.ones(n) if cotangent is None else cotangent


class _InputKind(TypedDict):
    """The Input keywords of a vector role."""

    shape: str
    domain: str


_VEC: _InputKind = dict(shape="N,D", domain="real")


# -- triplet / contrastive / ranking ---------------------------------------------------------------
def _pnorm(v: np.ndarray, p: float) -> np.ndarray:
    """‖v‖_p along the last axis, scaled by the largest magnitude (no overflow, no underflow)."""
    if p == 2:
        return norm(v, axis=-1)
    a = np.abs(v)
    m = a.max(axis=-1)
    safe = np.where(m > 0, m, 1.0)
    with np.errstate(over="ignore"):  # (inf only where the distance itself is beyond float64)
        if p == 1:
            return safe * np.sum(a / safe[..., None], axis=-1)
        return np.where(m > 0, safe * np.sum((a / safe[..., None]) ** p, axis=-1) ** (1.0 / p), 0.0)


def _pnorm_grad(v: np.ndarray, d: np.ndarray, p: float) -> np.ndarray:
    """∂‖v‖_p/∂v with PyTorch's subgradients: 0 where ‖v‖ = 0, sign(0) = 0 for p = 1."""
    if p == 1:
        return np.sign(v)
    d = d[..., None]
    pos = d > 0
    safe = np.where(pos, d, 1.0)
    if p == 2:
        return np.where(pos, v / safe, 0.0)
    return np.where(pos, np.sign(v) * (np.abs(v) / safe) ** (p - 1.0), 0.0)


def _triplet_terms(anchor, positive, negative, margin, p, eps, swap):
    """The hinge's argument, and what its gradient needs: each difference, its distance, and the
    share of the gradient that goes through d(a, n) and (with swap) d(p, n)."""
    u, v = anchor - positive + eps, anchor - negative + eps
    d_ap, d_an = _pnorm(u, p), _pnorm(v, p)
    if swap:
        w = positive - negative + eps
        d_pn = _pnorm(w, p)
        d_neg = np.minimum(d_an, d_pn)
        share_an = np.where(d_an < d_pn, 1.0, np.where(d_an > d_pn, 0.0, 0.5))  # a tie: half each, as torch.minimum
    else:
        w, d_pn, d_neg, share_an = None, None, d_an, np.ones_like(d_an)
    return margin + d_ap - d_neg, (u, v, w, d_ap, d_an, d_pn, share_an)


@register_loss(
    "triplet", aliases=("triplet_margin", "triplet_margin_loss"),
    inputs=(Input("anchor", **_VEC), Input("positive", **_VEC), Input("negative", **_VEC)),
    differentiable=("anchor", "positive", "negative"), grad_checks=("roles_sum_to_zero:anchor,positive,negative",),
    category="embedding", coupling="row",
    params={"margin": Param(1.0, constraint=">=0"),
            "p": Param(2.0, constraint=">=1", help="the degree of the norm"),
            "eps": Param(1e-6, constraint=">=0", help="added to the difference before the norm"),
            "swap": Param(False, help="distance swap: the negative's distance is min(d(a, n), d(p, n))")},
    summary="Triplet margin loss (PyTorch TripletMarginLoss)",
    formula="l_i = max(0, m + d(a_i, p_i) - d_neg),  d(x, y) = ‖x - y + eps‖_p,  "
            "d_neg = d(a_i, n_i), or min(d(a_i, n_i), d(p_i, n_i)) with swap",
    gradient_formula="∂d(x, y)/∂x = g(x - y + eps), g(v) = sign(v)(|v|/‖v‖_p)^(p-1); ∂/∂a = g(u) - α g(v), "
                     "∂/∂p = -g(u) - β g(w), ∂/∂n = α g(v) + β g(w) where the hinge is active; u = a - p + eps, "
                     "v = a - n + eps, w = p - n + eps, α = 1, β = 0 (swap: the branch min takes; ½, ½ at a tie)",
    conventions=("As torch.nn.TripletMarginLoss(margin, p, eps, swap): eps = 1e-6 is added to the "
                 "difference before the norm (torch's pairwise_distance), which keeps the gradient finite "
                 "when a = p. optax.losses.triplet_margin_loss differs: it adds eps to the sum of powers, "
                 "(Σ(a - p)^p + eps)^(1/p), and does not take |a - p| (so odd p is not a norm there).",
                 "p >= 1, finite (a norm; PyTorch also takes p < 1 and p = inf, which losscli's numeric "
                 "parameters do not). Subgradients as PyTorch: 0 where a difference vector is exactly 0, "
                 "sign(0) = 0 for p = 1. The p-norm is computed scaled by the largest magnitude (no "
                 "overflow of |v|^p).",
                 "swap (Balntas et al. 2016): the negative's distance is the smaller of d(a, n) and "
                 "d(p, n); at a tie the gradient goes half through each, as torch.minimum.",
                 "At the hinge's kink (m + d_ap - d_neg = 0 exactly) the gradient passes (PyTorch's "
                 "clamp_min subgradient 1). margin = 0 is allowed here; torch's functional refuses it.",
                 "The three gradients sum to 0 in every row. Mean reduction: Σ_i l_i / N."),
    matches=("PyTorch torch.nn.TripletMarginLoss (margin > 0, p, eps, swap)",),
    references=("Schroff et al., FaceNet, CVPR 2015, arXiv:1503.03832",
                "Weinberger & Saul, Distance Metric Learning for Large Margin Nearest Neighbor "
                "Classification, JMLR 10, 2009",
                "Balntas, Riba, Ponsa & Mikolajczyk, Learning local feature descriptors with triplets "
                "and shallow convolutional neural networks, BMVC 2016 (distance swap)",
                "PyTorch torch.nn.TripletMarginLoss"),
)
def triplet(anchor, positive, negative, *, margin=1.0, p=2.0, eps=1e-6, swap=False):
    """Triplet loss max(0, m + ‖a-p+eps‖_p - ‖a-n+eps‖_p) (Schroff et al. 2015, arXiv:1503.03832),
    with the distance swap of Balntas et al. (2016) as torch.nn.TripletMarginLoss."""
    h, _ = _triplet_terms(anchor, positive, negative, margin, p, eps, swap)
    return np.maximum(h, 0.0)


@triplet.gradient
def _triplet_grad(anchor, positive, negative, *, margin=1.0, p=2.0, eps=1e-6, swap=False):
    h, (u, v, w, d_ap, d_an, d_pn, share_an) = _triplet_terms(anchor, positive, negative, margin, p, eps, swap)
    active = (h >= 0.0)[:, None]
    gu = np.where(active, _pnorm_grad(u, d_ap, p), 0.0)
    gv = np.where(active, share_an[:, None] * _pnorm_grad(v, d_an, p), 0.0)
    out = {"anchor": gu - gv, "positive": -gu, "negative": gv}
    if swap:
        gw = np.where(active, (1.0 - share_an)[:, None] * _pnorm_grad(w, d_pn, p), 0.0)
        out["positive"] = out["positive"] - gw
        out["negative"] = out["negative"] + gw
    return out


@register_loss(
    "contrastive", aliases=("contrastive_loss", "siamese"),
    inputs=(Input("x1", **_VEC), Input("x2", **_VEC),
            Input("labels", "N", "binary", description="1 = similar pair, 0 = dissimilar")),
    differentiable=("x1", "x2"), grad_checks=("roles_sum_to_zero:x1,x2",), category="embedding", coupling="row",
    params={"margin": Param(1.0, constraint=">=0")},
    summary="Contrastive loss for pairs (Hadsell, Chopra & LeCun 2006)",
    formula="l_i = ½[y_i d_i² + (1 - y_i) max(0, m - d_i)²],  d_i = ‖x1_i - x2_i‖₂",
    gradient_formula="∂L/∂x1 = [y - (1 - y) max(0, m - d)/d] (x1 - x2),  ∂L/∂x2 = -∂L/∂x1",
    conventions=("The paper's formula (eq. 4) with its label flipped: here y = 1 marks a similar pair "
                 "(pulled together), y = 0 a dissimilar one (pushed beyond the margin); the paper's Y = 0 "
                 "is similar. sentence-transformers' ContrastiveLoss uses this label convention and formula "
                 "but, by default, the cosine distance 1 - cos with margin 0.5 (its EUCLIDEAN metric is "
                 "torch's pairwise_distance, which adds 1e-6 to the difference); pytorch-metric-learning's "
                 "ContrastiveLoss has no squares or ½ and normalises the embeddings; TF Addons' "
                 "contrastive_loss takes the distances and has no ½. None of them is this loss exactly.",
                 "A dissimilar pair with d = 0 gets the subgradient 0 (no direction to push), as autograd "
                 "through torch's norm.",
                 "Mean reduction: Σ_i l_i / N."),
    references=("Hadsell, Chopra & LeCun, Dimensionality Reduction by Learning an Invariant "
                "Mapping, CVPR 2006",),
)
def contrastive(x1, x2, labels, *, margin=1.0):
    """Contrastive: ½[y d² + (1-y) max(0, m - d)²] (Hadsell, Chopra & LeCun 2006)."""
    d = norm(x1 - x2, axis=1)
    # each term only where its label weight is not 0: a margin beyond 1e154 squares to inf, and 0·inf
    # would make a similar pair's loss NaN
    pull = np.where(labels != 0, labels * d * d, 0.0)
    return 0.5 * (pull + np.where(labels != 1, (1.0 - labels) * np.maximum(margin - d, 0.0) ** 2, 0.0))


@contrastive.gradient
def _contrastive_grad(x1, x2, labels, *, margin=1.0):
    diff = x1 - x2
    d = norm(diff, axis=1)
    push = np.where((d > 0) & (labels != 1), np.maximum(margin - d, 0.0) / np.where(d > 0, d, 1.0), 0.0)
    g = (labels - (1.0 - labels) * push)[:, None] * diff
    return {"x1": g, "x2": -g}


_SIGN = Input("labels", "N", "sign", description="+1: x1 should rank higher (or be similar); -1: the reverse")


@register_loss(
    "margin_ranking", aliases=("ranking", "margin_ranking_loss"),
    inputs=(Input("x1", "N", "real"), Input("x2", "N", "real"), _SIGN),
    differentiable=("x1", "x2"), grad_checks=("roles_sum_to_zero:x1,x2",), category="embedding", coupling="elementwise",
    params={"margin": Param(0.0, constraint=">=0")},
    summary="Margin ranking loss (PyTorch MarginRankingLoss)",
    formula="l_i = max(0, -y_i (x1_i - x2_i) + m)",
    gradient_formula="∂L/∂x1 = -y·1[-y(x1 - x2) + m >= 0],  ∂L/∂x2 = y·1[...]",
    conventions=("Labels must be exactly ±1 (0 is refused: it would silently zero the loss).",
                 "At the kink (-y(x1 - x2) + m = 0 exactly, e.g. x1 = x2 with m = 0) the gradient passes, "
                 "as PyTorch's clamp_min.", "Mean reduction: Σ_i l_i / N."),
    matches=("PyTorch torch.nn.MarginRankingLoss (margin)",),
    references=("Herbrich, Graepel & Obermayer, Large Margin Rank Boundaries for Ordinal "
                "Regression, 2000", "PyTorch torch.nn.MarginRankingLoss"),
)
def margin_ranking(x1, x2, labels, *, margin=0.0):
    """Margin ranking: max(0, -y(x1 - x2) + m) (torch.nn.MarginRankingLoss)."""
    return np.maximum(-labels * (x1 - x2) + margin, 0.0)


@margin_ranking.gradient
def _margin_ranking_grad(x1, x2, labels, *, margin=0.0):
    active = (-labels * (x1 - x2) + margin >= 0).astype(np.float64)
    return {"x1": -labels * active, "x2": labels * active}


# -- cosine losses on pairs -------------------------------------------------------------------------
def _cosine_partial(u, v, n, rest):
    """(v - (u·v)u)/n, the derivative of u·v through u = x/n. Where u and v point nearly the same way
    (u·v > 1/2) it cancels; there it is written with the difference w = v - u as (w - (u·w)u + rest·u)/n,
    rest = 1 - ‖u‖² (0 for a unit u, ε/n² for PyTorch's u = x/sqrt(‖x‖² + ε)): exactly 0 for identical
    vectors. Elsewhere the plain form is exact where it should be (0 for a zero v)."""
    dot = np.sum(u * v, axis=-1, keepdims=True)
    w = v - u
    close = (w - np.sum(u * w, axis=-1, keepdims=True) * u + rest * u) / n
    return np.where(dot > 0.5, close, (v - dot * u) / n)


def _one_minus_dot(u, v, rest_u, rest_v):
    """1 - u·v as ½‖u - v‖² + ½(1 - ‖u‖²) + ½(1 - ‖v‖²) (rest = 1 - ‖·‖², given exactly): a sum of
    non-negative terms, so 1 - cos keeps its digits when the vectors are nearly parallel (1 - cos
    ~ 1e-12 is not the rounding of 1 - 0.999999999999); 1 - u·v itself where u·v <= 1/2."""
    dot = np.sum(u * v, axis=-1)
    w = u - v
    return np.where(dot > 0.5, 0.5 * np.sum(w * w, axis=-1) + 0.5 * (rest_u + rest_v), 1.0 - dot)


def _cosine_embedding_parts(x1, x2):
    """cos = x1·x2 / sqrt((‖x1‖² + ε)(‖x2‖² + ε)), ε = 1e-12, as PyTorch (each factor from a scaled norm,
    so no square overflows), with u = x/sqrt(‖x‖² + ε) and those divisors."""
    n1 = np.hypot(norm(x1, axis=1, keepdims=True), np.sqrt(COSINE_EMBEDDING_EPS))
    n2 = np.hypot(norm(x2, axis=1, keepdims=True), np.sqrt(COSINE_EMBEDDING_EPS))
    u1, u2 = x1 / n1, x2 / n2
    return np.sum(u1 * u2, axis=1), (u1, n1, u2, n2)


@register_loss(
    "cosine_embedding", aliases=("cosine_embedding_loss",),
    inputs=(Input("x1", **_VEC), Input("x2", **_VEC), _SIGN),
    differentiable=("x1", "x2"), category="embedding", coupling="row",
    params={"margin": Param(0.0, constraint="[-1,1]")},
    summary="Cosine embedding loss (PyTorch CosineEmbeddingLoss)",
    formula="l_i = 1 - cos_i if y_i = 1;  max(0, cos_i - m) if y_i = -1;  "
            "cos = x1·x2 / sqrt((‖x1‖² + 1e-12)(‖x2‖² + 1e-12))",
    gradient_formula="∂cos/∂x1 = (u2 - cos·u1)/n1 with n = sqrt(‖x‖² + 1e-12), u = x/n; ∂L/∂x = -∂cos/∂x "
                     "(y = 1) or ∂cos/∂x·1[cos - m >= 0] (y = -1)",
    conventions=("As PyTorch's CosineEmbeddingLoss: 1e-12 is added to each squared norm (aten's EPSILON, a "
                 "float32: 9.99999996e-13 as a double), not a floor on the norm. A zero vector has cos = 0, "
                 "and the gradient there is finite: ∂cos/∂x1 = x2/(1e-6·sqrt(‖x2‖² + 1e-12)) ≈ 1e6·x̂2 "
                 "(a floor of 1e-12 on the norm, as torch's normalize, would give 1e12·x̂2).",
                 "Vectors beyond ~1e77 (squared norms whose product overflows) are evaluated correctly "
                 "here (scaled norms); PyTorch's product overflows to inf there and returns cos = 0.",
                 "At the kink (y = -1, cos = m exactly) the gradient passes, as PyTorch's clamp_min.",
                 "Labels must be exactly ±1 (PyTorch gives 0 for any other label). Mean reduction: "
                 "Σ_i l_i / N."),
    matches=("PyTorch torch.nn.CosineEmbeddingLoss (margin)",),
    references=("PyTorch torch.nn.CosineEmbeddingLoss",
                "Bromley et al., Signature Verification using a Siamese Time Delay Neural Network, NIPS 1993"),
)
def cosine_embedding(x1, x2, labels, *, margin=0.0):
    """Cosine embedding: 1 - cos for y = 1; max(0, cos - m) for y = -1 (torch CosineEmbeddingLoss)."""
    cos, (u1, n1, u2, n2) = _cosine_embedding_parts(x1, x2)
    rest1, rest2 = COSINE_EMBEDDING_EPS / n1[:, 0] / n1[:, 0], COSINE_EMBEDDING_EPS / n2[:, 0] / n2[:, 0]
    return np.where(labels > 0, _one_minus_dot(u1, u2, rest1, rest2), np.maximum(cos - margin, 0.0))


@cosine_embedding.gradient
def _cosine_embedding_grad(x1, x2, labels, *, margin=0.0):
    cos, (u1, n1, u2, n2) = _cosine_embedding_parts(x1, x2)
    dcos = np.where(labels > 0, -1.0, (cos - margin >= 0).astype(np.float64))[:, None]
    rest1, rest2 = COSINE_EMBEDDING_EPS / n1 / n1, COSINE_EMBEDDING_EPS / n2 / n2  # 1 - ‖u‖² (no overflow)
    return {"x1": dcos * _cosine_partial(u1, u2, n1, rest1), "x2": dcos * _cosine_partial(u2, u1, n2, rest2)}


def _floored_cosine(x, y, floor):
    """cos = x/max(‖x‖, floor) · y/max(‖y‖, floor), and what its gradient needs."""
    ux, nx, fx = _normalise(x, floor)
    uy, ny, fy = _normalise(y, floor)
    return np.sum(ux * uy, axis=1), (ux, nx, fx, uy, ny, fy)


def _floored_rest(x, n, free):
    """1 - ‖x/max(‖x‖, floor)‖²: 0 where the norm is the divisor, (1 - r)(1 + r), r = ‖x‖/floor, below."""
    r = norm(x, axis=-1) / n[:, 0]
    return np.where(free[:, 0], 0.0, (1.0 - r) * (1.0 + r))


def _floored_cosine_grad(x, y, floor, scale):
    """scale[:, None] · (∂cos/∂x, ∂cos/∂y) of :func:`_floored_cosine`."""
    _, (ux, nx, fx, uy, ny, fy) = _floored_cosine(x, y, floor)
    s = scale[:, None]
    gx = np.where(fx, _cosine_partial(ux, uy, nx, 0.0), uy / nx)  # (below the floor: x/floor, linear)
    gy = np.where(fy, _cosine_partial(uy, ux, ny, 0.0), ux / ny)
    return s * gx, s * gy


_PAIR = (Input("predictions", **_VEC), Input("targets", **_VEC))


@register_loss(
    "cosine_distance", aliases=(),
    inputs=_PAIR, differentiable=("predictions", "targets"), category="embedding", coupling="row",
    params={"epsilon": Param(1e-12, constraint=">0",
                             help="floor of each SQUARED norm (optax's epsilon): norms below sqrt(epsilon) "
                                  "count as sqrt(epsilon)")},
    summary="Cosine distance 1 - cos (optax cosine_distance)",
    formula="l_i = 1 - x̂_i·ŷ_i,  x̂ = x / sqrt(max(‖x‖², ε))",
    gradient_formula="∂L/∂x = -(ŷ - cos·x̂)/‖x‖ where ‖x‖² > ε;  -ŷ/sqrt(ε) where the floor holds",
    conventions=("Sign: a distance in [0, 2], 0 for vectors pointing the same way (optax's "
                 "cosine_similarity is +cos, Keras's cosine_similarity loss is -cos: losscli "
                 "cosine_similarity).",
                 "As optax.losses.cosine_distance(epsilon=ε): ε floors each SQUARED norm (sqrt(clip(‖x‖², ε))), "
                 "so norms below sqrt(ε) = 1e-6 count as 1e-6; a zero vector has cos = 0 and gradient "
                 "-ŷ/1e-6. optax's default ε = 0 divides a zero vector by 0 (NaN); losscli needs ε > 0 "
                 "and agrees with optax's default wherever every norm is at least sqrt(ε).",
                 "Vectors beyond ~1e154 (whose squared norm overflows) are evaluated correctly here; "
                 "optax's squared norm is inf there and the cosine 0.",
                 "Mean reduction: Σ_i l_i / N (optax returns the per-sample values)."),
    matches=("optax optax.losses.cosine_distance (epsilon)",),
    references=("optax optax.losses.cosine_distance",
                "Wikipedia, Cosine similarity: cosine distance"),
)
def cosine_distance(predictions, targets, *, epsilon=1e-12):
    """Cosine distance 1 - cos(x, y), norms floored at sqrt(ε) (optax.losses.cosine_distance)."""
    floor = np.sqrt(epsilon)
    _, (ux, nx, fx, uy, ny, fy) = _floored_cosine(predictions, targets, floor)
    return _one_minus_dot(ux, uy, _floored_rest(predictions, nx, fx), _floored_rest(targets, ny, fy))


@cosine_distance.gradient
def _cosine_distance_grad(predictions, targets, *, epsilon=1e-12):
    gx, gy = _floored_cosine_grad(predictions, targets, np.sqrt(epsilon), -np.ones(predictions.shape[0]))
    return {"predictions": gx, "targets": gy}


#: Keras 3's backend.epsilon(): keras.ops.normalize floors the norm at it
KERAS_EPSILON = 1e-7


@register_loss(
    "cosine_similarity", aliases=(),
    inputs=_PAIR, differentiable=("predictions", "targets"), category="embedding", coupling="row",
    params={"epsilon": Param(KERAS_EPSILON, constraint=">0", help="floor of each norm (Keras backend.epsilon())")},
    nonnegative=False,
    summary="Negative cosine similarity -cos (Keras CosineSimilarity loss)",
    formula="l_i = -x̂_i·ŷ_i,  x̂ = x / max(‖x‖, ε)",
    gradient_formula="∂L/∂x = -(ŷ - cos·x̂)/‖x‖ where ‖x‖ > ε;  -ŷ/ε where the floor holds",
    conventions=("Sign: as Keras's loss, -cos in [-1, 1], -1 for vectors pointing the same way (minimised "
                 "by aligning them). torch.nn.functional.cosine_similarity and optax's cosine_similarity "
                 "return +cos (a similarity, not a loss); optax's loss is cosine_distance = 1 - cos.",
                 "Norms are floored at ε = 1e-7: Keras 3's keras.ops.normalize is x·min(1/‖x‖, 1/ε) with "
                 "ε = backend.epsilon() (tf.keras 2 used tf.math.l2_normalize: 1e-12 on the squared "
                 "norm, i.e. 1e-6 on the norm). A zero vector has cos = 0; its gradient here is the limit "
                 "from the floor, -ŷ/ε (Keras on JAX gives NaN at an exactly zero vector: rsqrt(0) = inf).",
                 "Mean reduction: Σ_i l_i / N (Keras's sum_over_batch_size)."),
    matches=("Keras keras.losses.CosineSimilarity / cosine_similarity (JAX backend; axis=-1)",),
    references=("Keras keras.losses.CosineSimilarity", "Wikipedia, Cosine similarity"),
)
def cosine_similarity(predictions, targets, *, epsilon=KERAS_EPSILON):
    """Keras's cosine similarity loss: -cos(x, y), norms floored at ε (keras.losses.cosine_similarity)."""
    return -_floored_cosine(predictions, targets, epsilon)[0]


@cosine_similarity.gradient
def _cosine_similarity_grad(predictions, targets, *, epsilon=KERAS_EPSILON):
    gx, gy = _floored_cosine_grad(predictions, targets, epsilon, -np.ones(predictions.shape[0]))
    return {"predictions": gx, "targets": gy}


# -- in-batch contrastive: InfoNCE, MNRL, NT-Xent -------------------------------------------------------
def _in_batch_logits(anchors, candidates, scale):
    """scale·cos(a_i, c_j) (..., N, M), the vectors normalised with the 1e-12 floor, and what the
    gradient needs. Leading axes broadcast (gradcheck evaluates stacked perturbed copies at once)."""
    ua, na, fa = _normalise(anchors)
    uc, nc, fc = _normalise(candidates)
    logits = np.matmul(ua, np.swapaxes(uc, -1, -2))
    logits *= scale  # (in place: one N×M temporary fewer; the same values as scale·(ua @ ucᵀ))
    return logits, (ua, na, fa, uc, nc, fc)


def _in_batch_ce(anchors, candidates, scale, symmetric):
    """Per-sample CE of the logits S = scale·cos(a_i, c_j) with target j = i; symmetric: the mean of
    it and the CE of candidate i (one of the first N) against the anchors, column i of S[:, :N].

    A cosine is at most 1, so S - |scale| <= 0 everywhere: for |scale| <= BOUNDED_SHIFT the
    logits are shifted by that bound instead of each row's maximum (e^{S - |scale|} >= e^{-2·100}
    cannot underflow), and the shifted logits come out of one product, [scale·â, -|scale|]·[ĉ, 1]ᵀ.
    No row maximum, no scaling or subtraction pass over the N×M logits, and one e^x serves both
    directions of the symmetric loss."""
    ua, uc = _unit_rows(anchors), _unit_rows(candidates)
    n = anchors.shape[-2]
    bound = abs(float(scale))
    if not 0.0 < bound <= BOUNDED_SHIFT:  # each row (and column) shifted by its own maximum
        logits = np.matmul(ua, np.swapaxes(uc, -1, -2))
        logits *= scale  # (the values of _in_batch_logits)
        # (the columns first: the rows are then worked on in place)
        backward = nll_at(np.swapaxes(logits[..., :n], -1, -2)) if symmetric else None
        forward = nll_at(logits, overwrite=True)
        return forward if backward is None else 0.5 * (forward + backward)
    left = np.concatenate([ua * scale, np.full(ua.shape[:-1] + (1,), -bound)], axis=-1)
    right = np.concatenate([uc, np.ones(uc.shape[:-1] + (1,))], axis=-1)
    e = np.matmul(left, np.swapaxes(right, -1, -2))  # S - |scale|
    i = np.arange(n)
    zy = e[..., i, i]  # (a copy: fancy indexing)
    np.exp(e, out=e)
    forward = nll_shifted(e, zy)
    if not symmetric:
        return forward
    return 0.5 * (forward + nll_shifted(np.swapaxes(e[..., :n], -1, -2), zy))


def _in_batch_ce_grad(anchors, candidates, scale, symmetric, cotangent):
    """(∂/∂anchors, ∂/∂candidates) of Σ c_i l_i for :func:`_in_batch_ce`."""
    logits, (ua, na, fa, uc, nc, fc) = _in_batch_logits(anchors, candidates, scale)
    n = anchors.shape[0]
    c = _ones(cotangent, n) * (0.5 if symmetric else 1.0)
    target = np.arange(n)
    g = softmax_minus_onehot(logits, target) * c[:, None]
    if symmetric:
        g[:, :n] += (softmax_minus_onehot(np.ascontiguousarray(logits[:, :n].T), target) * c[:, None]).T
    g *= scale
    return _normalise_backward(g @ uc, ua, na, fa), _normalise_backward(g.T @ ua, uc, nc, fc)


#: the smallest τ whose 1/τ is finite (5.56e-309, subnormal): below it, cosines of 1 over τ overflow float64
#: and the softmax is inf - inf (NaN); supcon computes z - max(z) first and needs no floor
_TAU_FLOOR = float(np.nextafter(1.0 / np.finfo(np.float64).max, 1.0))
_TEMPERATURE = Param(0.07, constraint=f">={_TAU_FLOOR!r}",
                     help="τ, divides the cosine similarities (at least 5.56e-309, whose 1/τ is finite)")

_SYMMETRIC = Param(False, help="also the reverse direction (each key/positive against the queries/anchors); "
                               "the per-sample loss is the mean of both")


@register_loss(
    "infonce", aliases=("info_nce",),
    inputs=(Input("query", **_VEC), Input("key", **_VEC, description="positive key of each query")),
    differentiable=("query", "key"), category="embedding", coupling="batch",
    params={"temperature": _TEMPERATURE, "symmetric": _SYMMETRIC},
    summary="InfoNCE: in-batch contrastive loss, the other keys are negatives",
    formula="l_i = -log softmax_j(S_ij)_i,  S_ij = cos(q_i, k_j)/τ;  symmetric: "
            "½[-log softmax_j(S_ij)_i - log softmax_j(S_ji)_i]",
    gradient_formula="G = c_i(softmax(S) - I)/τ by rows (symmetric: ½ of it plus ½ of the same by columns); "
                     "∂/∂q̂ = G k̂, ∂/∂k̂ = Gᵀ q̂, then through the normalisation",
    conventions=("One direction by default (queries against the N keys), as CPC and MoCo; symmetric = true "
                 "averages it with keys against queries, as CLIP's loss (with a fixed temperature). Neither "
                 "is NT-Xent: SimCLR also uses the other view's samples of the same side as negatives "
                 "(losscli nt_xent).",
                 "τ = 0.07 as MoCo and pytorch-metric-learning's NTXentLoss; cosines from vectors "
                 "normalised with torch's 1e-12 norm floor.",
                 "Mean reduction: Σ_i l_i / N."),
    matches=("pytorch-metric-learning NTXentLoss (temperature; embeddings = query, ref_emb = key, labels = "
             "ref_labels = 0..N-1; symmetric: the mean of it and the same with query and key swapped)",),
    references=("van den Oord, Li & Vinyals, Representation Learning with Contrastive Predictive "
                "Coding, 2018, arXiv:1807.03748", "He et al., MoCo, CVPR 2020, arXiv:1911.05722",
                "Radford et al., Learning Transferable Visual Models From Natural Language Supervision "
                "(CLIP), ICML 2021, arXiv:2103.00020 (the symmetric form)"),
)
def infonce(query, key, *, temperature=0.07, symmetric=False):
    """InfoNCE: -log softmax(cos(q_i, k_j)/τ)_i over the batch (van den Oord et al. 2018); symmetric:
    averaged with the key-to-query direction (CLIP, Radford et al. 2021)."""
    return _in_batch_ce(query, key, 1.0 / temperature, symmetric)


@infonce.gradient
def _infonce_grad(query, key, *, temperature=0.07, symmetric=False, cotangent=None):
    gq, gk = _in_batch_ce_grad(query, key, 1.0 / temperature, symmetric, cotangent)
    return {"query": gq, "key": gk}


def _mnrl_candidates(positives, negatives):
    """[positives; negatives] by rows (leading axes of either broadcast)."""
    if negatives is None:
        return positives
    lead = np.broadcast_shapes(positives.shape[:-2], negatives.shape[:-2])
    return np.concatenate([np.broadcast_to(positives, lead + positives.shape[-2:]),
                           np.broadcast_to(negatives, lead + negatives.shape[-2:])], axis=-2)


@register_loss(
    "mnrl", aliases=("multiple_negatives_ranking", "multiple_negatives_ranking_loss"),
    inputs=(Input("anchors", **_VEC), Input("positives", **_VEC),
            Input("negatives", "kN,D", "real", optional=True, description="k hard negatives per anchor")),
    differentiable=("anchors", "positives", "negatives"), category="embedding", coupling="batch",
    params={"scale": Param(20.0, constraint=">0", help="multiplies the cosine similarities (1/temperature)"),
            "symmetric": _SYMMETRIC},
    summary="Multiple negatives ranking loss (sentence-transformers)",
    formula="l_i = f_i = -log softmax_j(S_ij)_i,  S_ij = scale · cos(a_i, c_j),  c = [positives; negatives];  "
            "symmetric: l_i = ½(f_i + b_i),  b_i = -log softmax_j(S_ji)_i over the N anchors j",
    gradient_formula="as infonce with 1/τ = scale and candidates c; the gradient of c splits into "
                     "positives and negatives",
    conventions=("As sentence-transformers MultipleNegativesRankingLoss (cos_sim, scale = 20): every other "
                 "positive and every hard negative is a negative for each anchor.",
                 "Hard negatives: k per anchor, k·N rows, row j·N + i the j-th negative of anchor i "
                 "(sentence-transformers' order: its negative columns one after the other). Every "
                 "negative is a candidate for every anchor, so only the count is checked: a multiple of "
                 "N. They are read whole, beside the anchors, and --nan-policy omit cannot drop samples "
                 "while they are given; the per-sample losses are the N anchors'.",
                 "symmetric = true: sentence-transformers MultipleNegativesSymmetricRankingLoss (= its "
                 "MultipleNegativesRankingLoss with directions=('query_to_doc', 'doc_to_query'), "
                 "partition_mode='per_direction'): the mean of the forward loss (over positives and hard "
                 "negatives) and the backward loss of each positive against the N anchors (no negatives).",
                 "Mean reduction: Σ_i l_i / N, sentence-transformers' CrossEntropyLoss mean."),
    matches=("sentence-transformers MultipleNegativesRankingLoss (scale; loop reference written from its source)",
             "sentence-transformers MultipleNegativesSymmetricRankingLoss (symmetric=true; loop reference)",
             "pytorch-metric-learning NTXentLoss (temperature = 1/scale; embeddings = anchors, ref_emb = "
             "[positives; negatives], labels 0..N-1, every negative a label of its own)"),
    references=("Henderson et al., Efficient Natural Language Response Suggestion for Smart Reply, "
                "2017, arXiv:1705.00652", "sentence-transformers MultipleNegativesRankingLoss, "
                "MultipleNegativesSymmetricRankingLoss"),
)
def mnrl(anchors, positives, negatives=None, *, scale=20.0, symmetric=False):
    """MNRL: CE over scale·cos(a_i, [p; n]) with target p_i (Henderson et al. 2017; sentence-transformers)."""
    return _in_batch_ce(anchors, _mnrl_candidates(positives, negatives), scale, symmetric)


@mnrl.gradient
def _mnrl_grad(anchors, positives, negatives=None, *, scale=20.0, symmetric=False, cotangent=None):
    ga, gc = _in_batch_ce_grad(anchors, _mnrl_candidates(positives, negatives), scale, symmetric, cotangent)
    n = positives.shape[0]
    out = {"anchors": ga, "positives": gc[:n]}
    if negatives is not None:
        out["negatives"] = gc[n:]
    return out


def _nt_xent_logits(view1, view2, temperature):
    """S = cos(z_k, z_m)/τ over the 2N views z = [view1; view2], the diagonal -inf (no self-pairs), and
    each view's positive: k ± N."""
    z = np.concatenate([view1, view2], axis=0)
    u, nz, fz = _normalise(z)
    s = (u @ u.T) / temperature
    np.fill_diagonal(s, -np.inf)
    n = view1.shape[0]
    return s, np.concatenate([np.arange(n, 2 * n), np.arange(n)]), (u, nz, fz)


@register_loss(
    "nt_xent", aliases=("ntxent", "ntxent_loss"),
    inputs=(Input("view1", **_VEC, description="first view of each sample"),
            Input("view2", **_VEC, description="second view of each sample: the positive of view1's row")),
    differentiable=("view1", "view2"), category="embedding", coupling="batch",
    params={"temperature": _TEMPERATURE},
    summary="NT-Xent (SimCLR): both views against all 2N - 2 other views",
    formula="ℓ(k) = -log[exp(S_k,p(k)) / Σ_{m≠k} exp(S_km)],  S = cos(z_k, z_m)/τ over z = [view1; view2], "
            "p(k) = k ± N;  l_i = ½[ℓ(i) + ℓ(i + N)]",
    gradient_formula="G = ½c(softmax(S) - P)/τ by rows (the diagonal excluded); ∂/∂ẑ = (G + Gᵀ) ẑ, then "
                     "through the normalisation",
    conventions=("SimCLR's loss (Chen et al. 2020, eq. 1): each of the 2N views has its other view as the "
                 "positive and the 2N - 2 remaining views of the batch, of both sides, as negatives; a "
                 "sample's loss is the mean of its two views' terms, so the mean over samples is SimCLR's "
                 "L = (1/2N) Σ_k ℓ(k). (SimCLR's TensorFlow code reports loss_a + loss_b, twice this.)",
                 "τ = 0.07, the default of optax.losses.ntxent and pytorch-metric-learning's NTXentLoss "
                 "(the SimCLR paper used 0.1 on ImageNet, 0.5 on CIFAR-10).",
                 "Vectors are normalised with torch's 1e-12 norm floor, as pytorch-metric-learning; "
                 "optax floors the squared norm at float64's eps (norms below 1.5e-8 count as 1.5e-8), "
                 "so the two agree wherever every norm is at least 1.5e-8.",
                 "pytorch-metric-learning computes log(num/den + tiny), which saturates at -log(tiny) = 708 "
                 "for a hopeless positive; losscli's log-sum-exp does not.",
                 "Not infonce: infonce (also symmetric) uses only the other side's N - 1 samples as "
                 "negatives. Mean reduction: Σ_i l_i / N."),
    matches=("optax optax.losses.ntxent (embeddings = [view1; view2], labels = [0..N-1, 0..N-1]; norms >= 1.5e-8)",
             "pytorch-metric-learning NTXentLoss (temperature; the same embeddings and labels)"),
    references=("Chen, Kornblith, Norouzi & Hinton, A Simple Framework for Contrastive Learning of "
                "Visual Representations (SimCLR), ICML 2020, arXiv:2002.05709",
                "Sohn, Improved Deep Metric Learning with Multi-class N-pair Loss Objective, NIPS 2016",
                "optax optax.losses.ntxent; pytorch-metric-learning NTXentLoss"),
)
def nt_xent(view1, view2, *, temperature=0.07):
    """NT-Xent (Chen et al. 2020, arXiv:2002.05709): each view against its positive and the 2N - 2
    other views, at temperature τ; a sample's loss is the mean of its two views' terms."""
    s, pos, _ = _nt_xent_logits(view1, view2, temperature)
    terms = nll_at(s, pos)
    n = view1.shape[0]
    return 0.5 * (terms[:n] + terms[n:])


@nt_xent.gradient
def _nt_xent_grad(view1, view2, *, temperature=0.07, cotangent=None):
    s, pos, (u, nz, fz) = _nt_xent_logits(view1, view2, temperature)
    n = view1.shape[0]
    c = np.tile(0.5 * _ones(cotangent, n), 2)
    g = softmax_minus_onehot(s, pos) * (c / temperature)[:, None]
    gz = _normalise_backward((g + g.T) @ u, u, nz, fz)
    return {"view1": gz[:n], "view2": gz[n:]}


# -- GE2E ------------------------------------------------------------------------------------------
#: the labels _ge2e_groups saw last and what it found: gradcheck evaluates thousands of perturbed
#: copies of the embeddings with the same labels (np.unique costs ~0.1 ms a call)
_LAST_GROUPS: list = [None, None]


def _ge2e_groups(labels):
    """Speaker index of each utterance, the number of speakers K and utterances per speaker M."""
    seen, found = _LAST_GROUPS
    if seen is not None and seen.shape == np.shape(labels) and np.array_equal(seen, labels):
        return found
    speakers, index, counts = np.unique(labels, return_inverse=True, return_counts=True)
    index.flags.writeable = False  # (shared by the calls that get it from here)
    found = (index, speakers.size, int(counts[0]))
    _LAST_GROUPS[:] = [np.array(labels, copy=True), found]
    return found


def _ge2e_validate(arrays, params):
    labels = arrays["labels"]
    speakers, counts = np.unique(labels, return_counts=True)
    if speakers.size < 2:
        raise InputError(f"ge2e labels: found {speakers.size} speaker, expected at least 2")
    if np.any(counts != counts[0]):
        k = int(np.flatnonzero(counts != counts[0])[0])
        raise InputError(f"ge2e labels: speaker {speakers[0]:g} has {counts[0]} utterances but speaker "
                         f"{speakers[k]:g} has {counts[k]}; every speaker needs the same number M >= 2")
    if counts[0] < 2:
        raise InputError("ge2e labels: every speaker has 1 utterance; GE2E needs M >= 2 per speaker")
    return arrays


def _ge2e_sampler(*, rng, samples, classes, dim, **_):
    """K speakers with M utterances each, K·M as close to ``samples`` as K, M >= 2 allow."""
    speakers = max(2, min(classes, samples // 2))
    per = max(2, samples // speakers)
    labels = np.repeat(np.arange(speakers), per).astype(np.float64)
    rng.shuffle(labels)
    centres = rng.standard_normal((speakers, dim + 1))
    emb = centres[labels.astype(np.intp)] + 0.7 * rng.standard_normal((labels.size, dim + 1))
    return {"embeddings": emb, "labels": labels}


def _ge2e_scores(embeddings, labels, w, b):
    """Sᵀ: S_ik = w·cos(e_i, c_k) + b laid out (..., K, N) (leading axes broadcast), and each
    utterance's speaker.

    Every utterance shares the K speaker centroids; only its own centroid differs (it leaves the
    utterance out), so the cosines are one (K, D)·(D, N) product plus N own-centroid cosines,
    not N·K centroid normalisations. Speakers run down the rows so that the reductions over them
    are elementwise over long rows of utterances (fast for the few speakers of a batch). The
    values of :func:`_ge2e_forward` to ~1e-15 relative (sums in another order)."""
    idx, k, m = _ge2e_groups(labels)
    order = np.argsort(idx, kind="stable")
    grouped = np.take(embeddings, order, axis=-2)
    grouped = grouped.reshape(grouped.shape[:-2] + (k, m, grouped.shape[-1]))
    sums = grouped[..., 0, :]
    for j in range(1, m):  # utterance by utterance, in row order, as np.add.at sums them
        sums = sums + grouped[..., j, :]
    own = (np.take(sums, idx, axis=-2) - embeddings) / (m - 1)  # own speaker without the utterance
    ue, uc, uo = _unit_rows(embeddings), _unit_rows(sums / m), _unit_rows(own)
    cos = np.matmul(uc, np.swapaxes(ue, -1, -2))
    rows_ = np.arange(embeddings.shape[-2])
    cos[..., idx, rows_] = np.einsum("...nd,...nd->...n", ue, uo)
    cos *= w  # in place: the values of w·cos + b
    cos += b
    return cos, idx


def _ge2e_forward(embeddings, labels, w, b):
    idx, k, m = _ge2e_groups(labels)
    n = embeddings.shape[0]
    sums = np.zeros((k, embeddings.shape[1]))
    np.add.at(sums, idx, embeddings)
    centroids = np.broadcast_to(sums / m, (n, k, embeddings.shape[1])).copy()
    rows_ = np.arange(n)
    centroids[rows_, idx] = (sums[idx] - embeddings) / (m - 1)  # own speaker without the utterance
    ue, ne, fe = _normalise(embeddings)
    uc, nc, fc = _normalise(centroids)
    cos = np.einsum("nd,nkd->nk", ue, uc)
    return w * cos + b, (idx, k, m, (ue, ne, fe), (uc, nc, fc), cos)


@register_loss(
    "ge2e", aliases=("generalized_end_to_end",),
    inputs=(Input("embeddings", **_VEC, description="utterance embeddings"),
            Input("labels", "N", "integer", description="speaker ids; every speaker has M >= 2 utterances")),
    differentiable=("embeddings",), category="embedding", coupling="batch",
    params={"w": Param(10.0, constraint=">0", help="similarity scale"),
            "b": Param(-5.0, help="similarity offset"),
            "method": Param("softmax", choices=("softmax", "contrast"))},
    validate=_ge2e_validate, sampler=_ge2e_sampler,
    summary="Generalized end-to-end speaker-verification loss",
    formula="S_ik = w·cos(e_i, c_k) + b, own centroid c_{y_i}^(-i) excludes e_i;  softmax: "
            "l_i = -S_iy + log Σ_k exp(S_ik);  contrast: l_i = 1 - σ(S_iy) + max_{k≠y} σ(S_ik)",
    gradient_formula="back-propagated by hand through S, the cosines, the normalisations and the "
                     "centroids (each utterance reaches every centroid it belongs to)",
    conventions=("w and b are fixed parameters here (learned in the paper, where w > 0 is enforced); b cancels "
                 "in the softmax form (a common shift of every score) and matters only for contrast.",
                 "Samples may come in any order; speakers are grouped by label.",
                 "contrast: at a tie for the most similar other speaker the first is used.",
                 "Cosines from vectors normalised with torch's 1e-12 norm floor. No installed library has "
                 "GE2E: the reference vectors are a loop written from the paper (one utterance and one "
                 "speaker at a time, autograd for the gradient)."),
    references=("Wan, Wang, Papir & Lopez Moreno, Generalized End-to-End Loss for Speaker "
                "Verification, ICASSP 2018, arXiv:1710.10467",),
)
def ge2e(embeddings, labels, *, w=10.0, b=-5.0, method="softmax"):
    """GE2E loss (Wan et al. 2018, arXiv:1710.10467), softmax or contrast form."""
    if method == "softmax":
        # b cancels in a softmax: the scores w·cos, shifted by their bound w (or, beyond
        # BOUNDED_SHIFT, by each utterance's maximum), over the speakers (axis -2)
        bounded = 0.0 < w <= BOUNDED_SHIFT
        st, idx = _ge2e_scores(embeddings, labels, w, -w if bounded else 0.0)  # (..., K, N)
        per_utterance = np.swapaxes(st, -1, -2)
        if not bounded:
            return nll_at(per_utterance, idx, overwrite=True)
        zy = st[..., idx, np.arange(st.shape[-1])]
        np.exp(st, out=st)
        return nll_shifted(per_utterance, zy, idx)
    st, idx = _ge2e_scores(embeddings, labels, w, b)  # (..., K, N)
    n = np.arange(st.shape[-1])
    sig = sigmoid(st)
    sig_y = sig[..., idx, n]
    sig[..., idx, n] = -np.inf
    return 1.0 - sig_y + sig.max(axis=-2)


@ge2e.gradient
def _ge2e_grad(embeddings, labels, *, w=10.0, b=-5.0, method="softmax", cotangent=None):
    # (b cancels in a softmax: left out there, as the value leaves it out)
    s, (idx, k, m, (ue, ne, fe), (uc, nc, fc), cos) = _ge2e_forward(embeddings, labels, w,
                                                                     0.0 if method == "softmax" else b)
    n = s.shape[0]
    rows_ = np.arange(n)
    if method == "softmax":
        g_s = softmax_minus_onehot(s, idx)
    else:
        sig = sigmoid(s)
        dsig = sig * sigmoid(-s)
        others = sig.copy()
        others[rows_, idx] = -np.inf
        g_s = np.zeros_like(s)
        g_s[rows_, np.argmax(others, axis=1)] = dsig[rows_, np.argmax(others, axis=1)]
        g_s[rows_, idx] = -dsig[rows_, idx]
    g_cos = w * g_s * _ones(cotangent, n)[:, None]
    # cos = ê·ĉ: into the embedding directly, and into each centroid
    g_e = _normalise_backward(np.einsum("nk,nkd->nd", g_cos, uc), ue, ne, fe)
    g_c = _normalise_backward(g_cos[:, :, None] * ue[:, None, :], uc, nc, fc)  # (N, K, D)
    # centroid k = mean of its M utterances, own centroid = (sum - e_i)/(M - 1)
    own = g_c[rows_, idx]
    g_c[rows_, idx] = 0.0
    to_speaker = g_c.sum(axis=0) / m  # (K, D): every utterance of speaker k receives this
    own_total = np.zeros((k, embeddings.shape[1]))
    np.add.at(own_total, idx, own / (m - 1))
    g_e += to_speaker[idx] + own_total[idx] - own / (m - 1)
    return {"embeddings": g_e}


# -- ArcFace ---------------------------------------------------------------------------------------
#: where the derivative of cos(θ + m) w.r.t. cos θ is unbounded (|cos θ| = 1), sin θ is floored here
SIN_FLOOR = 1e-12


def _arcface_target(cos_y, margin):
    """cos(θ + m) with the fallback cos θ - m·sin m once θ + m passes π, and its derivative."""
    sin = np.sqrt(np.clip(1.0 - cos_y * cos_y, 0.0, 1.0))
    main = cos_y * np.cos(margin) - sin * np.sin(margin)
    use_main = cos_y > np.cos(np.pi - margin)  # θ < π - m
    phi = np.where(use_main, main, cos_y - margin * np.sin(margin))
    dphi = np.where(use_main, np.cos(margin) + np.sin(margin) * cos_y / np.maximum(sin, SIN_FLOOR), 1.0)
    return phi, dphi


def _arcface_logits(cosine, labels, scale, margin):
    n = np.arange(cosine.shape[0])
    y = labels.astype(np.intp)
    phi, dphi = _arcface_target(cosine[n, y], margin)
    logits = scale * cosine
    logits[n, y] = scale * phi
    return logits, dphi, (n, y)


@register_loss(
    "arcface", aliases=("additive_angular_margin", "aam_softmax"),
    inputs=(Input("cosine", "N,C", "unit_interval_signed",
                  description="cosine logits cos θ_ij between embeddings and class centres"),
            Input("labels", "N", "class_index", description="class indices")),
    differentiable=("cosine",), category="embedding", coupling="row",
    params={"scale": Param(64.0, constraint=">0"), "margin": Param(0.5, constraint="[0,1.5]", help="radians")},
    summary="ArcFace additive angular margin loss on cosine logits",
    formula="l_i = CE(s·[cos θ_ij (j ≠ y), φ(θ_iy)], y_i),  φ = cos(θ + m) if θ ≤ π - m else cos θ - m·sin m",
    gradient_formula="∂L/∂cos_ij = s·softmax_j (j ≠ y);  s·(softmax_y - 1)·φ'(cos θ_y),  "
                     "φ' = cos m + sin m·cos θ / sin θ (main branch) or 1",
    conventions=("Inputs are the cosines themselves (normalised embedding · normalised class centre), "
                 "as insightface's ArcFace head with easy_margin=False: past θ = π - m the target logit "
                 "falls back to cos θ - m·sin m (monotonic in θ).",
                 "pytorch-metric-learning's ArcFaceLoss has the same formula and fallback but takes the "
                 "margin in degrees (default 28.6°, 0.499 rad, where losscli's default is 0.5 rad) and "
                 "computes the cosines from the embeddings and its own class weights; fed these cosines "
                 "and margin = degrees(m) it gives these values (it takes the main branch at θ = π - m "
                 "exactly, insightface and losscli the fallback).",
                 f"At |cos θ_y| = 1 the derivative of cos(θ + m) is unbounded; sin θ is floored at {SIN_FLOOR:g} "
                 "(pytorch-metric-learning's acos gives an infinite gradient there).",
                 "Mean reduction: Σ_i l_i / N."),
    matches=("pytorch-metric-learning ArcFaceLoss (margin in degrees = degrees(margin), scale; on its cosines, "
             "|cos θ_y| < 1)",),
    references=("Deng et al., ArcFace: Additive Angular Margin Loss for Deep Face Recognition, "
                "CVPR 2019, arXiv:1801.07698", "pytorch-metric-learning ArcFaceLoss"),
)
def arcface(cosine, labels, *, scale=64.0, margin=0.5):
    """ArcFace: softmax CE with target logit s·cos(θ_y + m) (Deng et al. 2019, arXiv:1801.07698)."""
    logits, _, idx = _arcface_logits(cosine, labels, scale, margin)
    return nll_at(logits, labels)


@arcface.gradient
def _arcface_grad(cosine, labels, *, scale=64.0, margin=0.5):
    logits, dphi, idx = _arcface_logits(cosine, labels, scale, margin)
    g = scale * softmax_minus_onehot(logits, labels)
    g[idx] *= dphi
    return {"cosine": g}
