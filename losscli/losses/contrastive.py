"""Pair- and batch-based contrastive losses on embeddings (Circle loss, supervised
contrastive, CoSENT): every sample's loss depends on the other samples of the batch.

Conventions (``losscli info NAME`` repeats them):
- similarities are cosines x̂_i·x̂_j with norms floored at 1e-12 (as ``embedding``: a zero vector
  has cosine 0 with everything; pytorch-metric-learning's and sentence-transformers'
  ``F.normalize`` use the same floor);
- in a batch of labelled embeddings, the positives of anchor i are the other samples with its
  label (never i itself), the negatives those with another label;
- the gradients take the ``cotangent`` directly (weighted reductions are exact), and are the exact
  derivatives of the values (gradcheck verifies them).
"""

from __future__ import annotations

import numpy as np

from ..numerics import sigmoid, softplus
from ..registry import Input, Param, register_loss
from .angular import quiet_overflow
from .embedding import _ones, _unit, _unit_backward

_EMBEDDINGS = Input("embeddings", "N,D", "real", description="one embedding per sample (normalised inside)")
_IDS = Input("labels", "N", "integer", description="class ids: equal ids are positives of each other")


def _masks(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(positive, negative) pair masks: same label but not the sample itself; another label."""
    same = labels[:, None] == labels[None, :]
    pos = same.copy()
    np.fill_diagonal(pos, False)
    return pos, ~same


def _masked_lse(z: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row-wise log Σ_{mask} e^z (-inf for an empty row) and the softmax weights over the mask
    (0 outside it, and in empty rows); exp only ever sees arguments <= 0 (for finite z)."""
    top = np.max(np.where(mask, z, -np.inf), axis=1, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    e = np.where(mask, np.exp(np.where(mask, z, top) - top), 0.0)
    total = e.sum(axis=1)
    has = total > 0  # (0 for an empty row, or one whose entries are all -inf)
    lse = np.full(z.shape[0], -np.inf)
    lse[has] = top[has, 0] + np.log(total[has])
    return lse, e / np.where(has, total, 1.0)[:, None]


def _similarities(embeddings):
    u, n = _unit(embeddings)
    return u @ u.T, u, n


def _similarity_backward(g_s: np.ndarray, u: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Gradient through S = Û Ûᵀ and the normalisation."""
    return _unit_backward((g_s + g_s.T) @ u, u, n)


def _anchor_sampler(*, rng, samples, classes, dim, **_):
    """Labels in which every anchor has a positive and a negative: at least 2 classes of at least 2
    samples each (N is raised to 4 if smaller), embeddings clustered around class centres."""
    n = max(samples, 4)
    k = max(2, min(classes, n // 2))
    labels = (np.arange(n) % k).astype(np.float64)
    rng.shuffle(labels)
    centres = rng.standard_normal((k, dim + 1))
    emb = centres[labels.astype(np.intp)] + 0.7 * rng.standard_normal((n, dim + 1))
    return {"embeddings": emb, "labels": labels}


# -- Circle loss -------------------------------------------------------------------------------------
def _circle_parts(embeddings, labels, m, gamma):
    s, u, n = _similarities(embeddings)
    pos, neg = _masks(labels)
    alpha_p = np.maximum(1.0 + m - s, 0.0)
    alpha_n = np.maximum(s + m, 0.0)
    # the exponents, computed in pml's order: -γ α_p (s_p - Δ_p) and γ α_n (s_n - Δ_n)
    a = -gamma * alpha_p * (s - (1.0 - m))
    b = gamma * alpha_n * (s - m)
    lse_p, w_p = _masked_lse(a, pos)
    lse_n, w_n = _masked_lse(b, neg)
    z = lse_p + lse_n  # -inf for an anchor without positives or without negatives
    return z, (s, u, n, alpha_p, alpha_n, w_p, w_n)


def _circle_normaliser(arrays, params):
    """pml's AvgNonZeroReducer averages over the anchors with a positive and a negative."""
    pos, neg = _masks(arrays["labels"])
    valid = pos.any(axis=1) & neg.any(axis=1)
    return valid.astype(np.float64) if valid.any() else None  # none valid: the mean is 0, as pml's


@register_loss(
    "circle", aliases=("circle_loss",),
    inputs=(_EMBEDDINGS, _IDS), differentiable=("embeddings",), category="embedding", coupling="batch",
    params={"m": Param(0.4, constraint=">=0", help="relaxation margin"),
            "gamma": Param(80.0, constraint=">0", help="scale")},
    sampler=_anchor_sampler, mean_normaliser=_circle_normaliser,
    summary="Circle loss: self-paced weighting of in-batch positive and negative cosine similarities",
    formula="l_i = softplus( log Σ_{n} e^{γ α_n (s_in - m)} + log Σ_{p} e^{-γ α_p (s_ip - 1 + m)} ),  "
            "α_p = [1 + m - s_ip]_+,  α_n = [s_in + m]_+;  0 without positives or negatives",
    gradient_formula="g = c_i σ(l-argument)·softmax weights;  ∂/∂s_ip = -γ(α_p - (s_ip - 1 + m)·1[α_p > 0])·g_p,  "
                     "∂/∂s_in = γ(α_n + (s_in - m)·1[α_n > 0])·g_n;  then through S = X̂X̂ᵀ (both rows)",
    conventions=("As pytorch-metric-learning CircleLoss (m = 0.4, γ = 80; all pairs of the batch, cosine "
                 "similarity): per-sample = each anchor's loss; an anchor without a positive or without a "
                 "negative has loss 0.",
                 "Mean reduction: over the anchors that have a positive and a negative, as pml's "
                 "AvgNonZeroReducer; with no valid anchor the mean is 0, as pml's. (pml also drops a valid anchor "
                 "whose loss underflows to exactly 0; losscli keeps it.)",
                 "Gradient: the exact derivative of the value, including that of α_p and α_n. pml and the widely "
                 "copied reference implementation detach α (a training surrogate, not the derivative): their "
                 "gradient lacks the terms (s_ip - 1 + m) and (s_in - m) above (20-30% apart at the defaults).",
                 "softplus is computed exactly; pml's torch.nn.Softplus returns its argument unchanged above "
                 "20 (an absolute difference below e^-20 = 2.1e-9).",
                 "At s_in = -m (the kink of α_n) the subgradient uses 1[α_n > 0] = 0, as torch's relu."),
    references=("Sun et al., Circle Loss: A Unified Perspective of Pair Similarity Optimization, CVPR 2020, "
                "arXiv:2002.10857",
                "pytorch-metric-learning losses.CircleLoss"),
    matches=("pytorch-metric-learning losses.CircleLoss (values and its AvgNonZeroReducer mean; not its "
             "gradient, which detaches α)",),
)
@quiet_overflow
def circle(embeddings, labels, *, m=0.4, gamma=80.0):
    """Circle loss softplus(lse_n γα_n(s_n - m) + lse_p -γα_p(s_p - 1 + m)) per anchor
    (Sun et al. 2020, arXiv:2002.10857)."""
    z, _ = _circle_parts(embeddings, labels, m, gamma)
    return softplus(z)


@circle.gradient
@quiet_overflow
def _circle_grad(embeddings, labels, *, m=0.4, gamma=80.0, cotangent=None):
    z, (s, u, n, alpha_p, alpha_n, w_p, w_n) = _circle_parts(embeddings, labels, m, gamma)
    outer = _ones(cotangent, s.shape[0]) * sigmoid(z)
    da = -gamma * (alpha_p - (s - (1.0 - m)) * (alpha_p > 0))
    db = gamma * (alpha_n + (s - m) * (alpha_n > 0))
    g_s = outer[:, None] * (w_p * da + w_n * db)
    return {"embeddings": _similarity_backward(g_s, u, n)}


# -- supervised contrastive --------------------------------------------------------------------------
def _supcon_parts(embeddings, labels, temperature):
    s, u, n = _similarities(embeddings)
    pos, neg = _masks(labels)
    z = s / temperature
    others = pos | neg  # every j != i
    lse, w = _masked_lse(z, others)
    count = pos.sum(axis=1)
    has = count > 0
    mean_pos = np.where(pos, z, 0.0).sum(axis=1) / np.maximum(count, 1)
    return z, (s, u, n, pos, others, lse, w, count, has, mean_pos)


def _supcon_normaliser(arrays, params):
    """pml's AvgNonZeroReducer averages over the anchors that have a positive."""
    pos, _ = _masks(arrays["labels"])
    has = pos.any(axis=1)
    return has.astype(np.float64) if has.any() else None  # no positives at all: the mean is 0, as pml's


@register_loss(
    "supcon", aliases=("supervised_contrastive", "supcon_loss"),
    inputs=(_EMBEDDINGS, _IDS), differentiable=("embeddings",), category="embedding", coupling="batch",
    params={"temperature": Param(0.1, constraint=">0", help="τ, divides the cosine similarities")},
    sampler=_anchor_sampler, mean_normaliser=_supcon_normaliser,
    summary="Supervised contrastive loss (SupCon, L_out): every same-label sample is a positive",
    formula="l_i = -(1/|P(i)|) Σ_{p∈P(i)} log( e^{s_ip/τ} / Σ_{a≠i} e^{s_ia/τ} )  "
            "= log Σ_{a≠i} e^{s_ia/τ} - mean_{p∈P(i)} s_ip/τ;  0 when P(i) is empty",
    gradient_formula="∂l_i/∂s_ij = c_i (softmax_{a≠i}(s_i/τ)_j - 1[j∈P(i)]/|P(i)|)/τ, then through S = X̂X̂ᵀ",
    conventions=("As pytorch-metric-learning SupConLoss (τ = 0.1, cosine similarity): the L_out form (the "
                 "mean over positives outside the log); the denominator runs over every other sample of the "
                 "batch.",
                 "An anchor without positives has loss 0; the mean reduction averages over the anchors that "
                 "have one, as pml's AvgNonZeroReducer (with none the mean is 0, as pml's). The reference "
                 "code (HobbitLong/SupContrast) divides by N instead: use --reduction sum and divide by N; it "
                 "also multiplies by τ/base_τ (1 with its defaults).",
                 "A batch with a single class still has the formula's value here; pml returns 0 when the "
                 "batch has no negative pair.",
                 "pml's AvgNonZeroReducer also drops anchors whose loss rounds to exactly 0 (a positive far "
                 "more similar than every other sample at a tiny τ); losscli keeps them in the mean."),
    references=("Khosla et al., Supervised Contrastive Learning, NeurIPS 2020, arXiv:2004.11362",
                "pytorch-metric-learning losses.SupConLoss"),
    matches=("pytorch-metric-learning losses.SupConLoss",),
)
@quiet_overflow
def supcon(embeddings, labels, *, temperature=0.1):
    """Supervised contrastive loss: -mean_p log softmax_{a≠i}(s_i/τ)_p (Khosla et al. 2020,
    arXiv:2004.11362)."""
    z, (_s, _u, _n, pos, others, lse, _w, count, has, mean_pos) = _supcon_parts(embeddings, labels, temperature)
    rows_ = np.arange(z.shape[0])
    # one positive that is also the most similar: log1p(Σ_{a≠p} e^{z_a - z_p}), exact when tiny
    p = np.argmax(np.where(pos, z, -np.inf), axis=1)
    zp = z[rows_, p]
    top = np.max(np.where(others, z, -np.inf), axis=1)
    single = has & (count == 1) & (zp >= top)
    shift = np.where(single, zp, np.where(np.isfinite(top), top, 0.0))[:, None]  # exp sees <= 0 only
    rest = np.where(others, np.exp(np.where(others, z, shift) - shift), 0.0)
    rest[rows_, p] = 0.0
    tiny = np.log1p(np.where(single, rest.sum(axis=1), 0.0))
    general = np.where(has, lse, 0.0) - mean_pos  # lse >= max >= mean: a sum of non-negative terms
    return np.where(has, np.where(single, tiny, general), 0.0)


@supcon.gradient
@quiet_overflow
def _supcon_grad(embeddings, labels, *, temperature=0.1, cotangent=None):
    z, (_s, u, n, pos, _others, _lse, w, count, has, _mean) = _supcon_parts(embeddings, labels, temperature)
    c = _ones(cotangent, z.shape[0]) * has
    g_z = c[:, None] * (w - pos / np.maximum(count, 1)[:, None])
    return {"embeddings": _similarity_backward(g_z / temperature, u, n)}


# -- CoSENT ------------------------------------------------------------------------------------------
def _cosent_parts(x1, x2, labels, scale):
    u1, n1 = _unit(x1)
    u2, n2 = _unit(x2)
    cos = np.sum(u1 * u2, axis=1)
    s = scale * cos
    ordered = labels[:, None] < labels[None, :]  # pair (i, j): sample i should score below sample j
    d = s[:, None] - s[None, :]
    lse, w = _masked_lse(d.reshape(1, -1), ordered.reshape(1, -1))
    w = w.reshape(d.shape)
    share = 0.5 * (w.sum(axis=1) + w.sum(axis=0))  # each pair's share split between its two samples
    return lse[0], w, share, (cos, u1, n1, u2, n2)


@register_loss(
    "cosent", aliases=("cosent_loss", "cosine_sentence"),
    inputs=(Input("x1", "N,D", "real", description="first embedding of each pair"),
            Input("x2", "N,D", "real", description="second embedding of each pair"),
            Input("labels", "N", "real", description="gold similarity score of each pair (any scale)")),
    differentiable=("x1", "x2"), category="embedding", coupling="batch",
    params={"scale": Param(20.0, constraint=">0", help="multiplies the cosine similarities")},
    summary="CoSENT: a batch-level ranking loss of pair cosines against gold similarity scores",
    formula="L = log(1 + Σ_{(i,j): y_i < y_j} e^{λ(cos_i - cos_j)}),  cos_i = cos(x1_i, x2_i);  "
            "l_i = N·L·a_i,  a_i = ½ Σ_{pairs ∋ i} e^{d_pair} / Σ_pairs e^{d_pair}",
    gradient_formula="with w = softmax over the ordered pairs of d_ij = λ(cos_i - cos_j), C_ij = c_i + c_j, "
                     "A = ½ Σ C w, σ = T/(1+T):  ∂/∂d_ij = N[Aσ + L(C_ij/2 - A)] w_ij;  "
                     "∂/∂cos_i = λ(Σ_j ∂/∂d_ij - Σ_j ∂/∂d_ji), then through the cosines",
    conventions=("CoSENT is one number per batch, L (sentence-transformers CoSENTLoss returns it). Its "
                 "per-sample values attribute it: each ordered pair carries the share e^{d}/Σ e^{d} of L, "
                 "split equally between its two samples, times N; so the mean reduction is L and the sum N·L, "
                 "whose gradient is N·∇L. When every gold score is equal there is no ordered pair: L = 0 and every "
                 "l_i = 0.",
                 "Weights reweight those shares (Σ w_i l_i / Σ w_i); with equal weights the mean is L.",
                 "scale λ = 20 and pairwise cosine with F.normalize's 1e-12 floor, as sentence-transformers; "
                 "its mask (-1e12 on the pairs not ordered) contributes exactly 0 in float64, as here.",
                 "Pairs with equal gold scores are not compared (strict y_i < y_j)."),
    references=("Su, CoSENT: a more efficient sentence vector scheme than Sentence-BERT, 2022, "
                "https://kexue.fm/archives/8847",
                "sentence-transformers losses.CoSENTLoss"),
)
@quiet_overflow
def cosent(x1, x2, labels, *, scale=20.0):
    """CoSENT: L = log(1 + Σ_{y_i < y_j} e^{λ(cos_i - cos_j)}) (Su 2022), attributed to the samples
    by their share of the pair terms, N·L·a_i."""
    lse, _w, share, _ = _cosent_parts(x1, x2, labels, scale)
    return x1.shape[0] * softplus(lse) * share


@cosent.gradient
@quiet_overflow
def _cosent_grad(x1, x2, labels, *, scale=20.0, cotangent=None):
    lse, w, _share, (cos, u1, n1, u2, n2) = _cosent_parts(x1, x2, labels, scale)
    n = x1.shape[0]
    c = _ones(cotangent, n)
    pair_c = c[:, None] + c[None, :]
    a = 0.5 * np.sum(pair_c * w)
    g_d = n * (a * sigmoid(lse) + softplus(lse) * (0.5 * pair_c - a)) * w
    g_cos = (scale * (g_d.sum(axis=1) - g_d.sum(axis=0)))[:, None]
    c_ = cos[:, None]
    return {"x1": g_cos * (u2 - c_ * u1) / n1, "x2": g_cos * (u1 - c_ * u2) / n2}
