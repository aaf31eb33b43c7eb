"""Embedding, ranking and verification losses: inputs are vectors (N, D) or scores.

Conventions (``losscli info NAME`` repeats them):
- cosine similarity is x·y / (‖x‖‖y‖) with norms floored at 1e-12 (a zero vector has cosine 0);
- batch-coupled losses (infonce, mnrl, ge2e) take the gradient's ``cotangent`` directly, so
  weighted reductions are exact for them too.
"""

from __future__ import annotations

from typing import TypedDict

import numpy as np

from ..errors import InputError
from ..numerics import nll_at, norm, sigmoid, softmax_minus_onehot
from ..registry import Input, Param, register_loss

NORM_FLOOR = 1e-12


def _norms(x: np.ndarray) -> np.ndarray:
    return np.maximum(norm(x, axis=-1, keepdims=True), NORM_FLOOR)


def _unit(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = _norms(x)
    return x / n, n


def _unit_backward(g_unit: np.ndarray, unit: np.ndarray, norm: np.ndarray) -> np.ndarray:
    """Gradient through x -> x/‖x‖: (g - x̂ (x̂·g)) / ‖x‖."""
    return (g_unit - unit * np.sum(unit * g_unit, axis=-1, keepdims=True)) / norm


def _ones(cotangent, n):
    return np.ones(n) if cotangent is None else cotangent


class _InputKind(TypedDict):
    """The Input keywords of a vector role."""

    shape: str
    domain: str


_VEC: _InputKind = dict(shape="N,D", domain="real")


# -- triplet / contrastive / ranking ---------------------------------------------------------------
@register_loss(
    "triplet", aliases=("triplet_margin",),
    inputs=(Input("anchor", **_VEC), Input("positive", **_VEC), Input("negative", **_VEC)),
    differentiable=("anchor", "positive", "negative"), grad_checks=("roles_sum_to_zero:anchor,positive,negative",), category="embedding", coupling="row",
    params={"margin": Param(1.0, constraint=">=0"),
            "eps": Param(1e-6, constraint=">=0", help="added to the difference before the norm")},
    summary="Triplet margin loss (PyTorch TripletMarginLoss, p = 2)",
    formula="l_i = max(0, d(a_i, p_i) - d(a_i, n_i) + m),  d(x, y) = ‖x - y + eps‖₂",
    gradient_formula="∂/∂a = u/‖u‖ - v/‖v‖, ∂/∂p = -u/‖u‖, ∂/∂n = v/‖v‖ where active; "
                     "u = a - p + eps, v = a - n + eps",
    conventions=("As torch.nn.TripletMarginLoss(p=2, swap=False): eps is added to the difference "
                 "(pairwise_distance), which keeps the gradient finite when a = p.",
                 "The three gradients sum to 0 in every row."),
    references=("Schroff et al., FaceNet, CVPR 2015, arXiv:1503.03832",
                "Weinberger & Saul, Distance Metric Learning for Large Margin Nearest Neighbor "
                "Classification, JMLR 10, 2009", "PyTorch torch.nn.TripletMarginLoss"),
)
def triplet(anchor, positive, negative, *, margin=1.0, eps=1e-6):
    """Triplet loss max(0, ‖a-p+eps‖ - ‖a-n+eps‖ + m) (Schroff et al. 2015, arXiv:1503.03832)."""
    d_ap = norm(anchor - positive + eps, axis=1)
    d_an = norm(anchor - negative + eps, axis=1)
    return np.maximum(d_ap - d_an + margin, 0.0)


@triplet.gradient
def _triplet_grad(anchor, positive, negative, *, margin=1.0, eps=1e-6):
    u, v = anchor - positive + eps, anchor - negative + eps
    nu, nv = _norms(u), _norms(v)
    active = ((nu - nv)[:, 0] + margin > 0)[:, None]
    gu, gv = np.where(active, u / nu, 0.0), np.where(active, v / nv, 0.0)
    return {"anchor": gu - gv, "positive": -gu, "negative": gv}


@register_loss(
    "contrastive", aliases=("contrastive_loss", "siamese"),
    inputs=(Input("x1", **_VEC), Input("x2", **_VEC),
            Input("labels", "N", "binary", description="1 = similar pair, 0 = dissimilar")),
    differentiable=("x1", "x2"), grad_checks=("roles_sum_to_zero:x1,x2",), category="embedding", coupling="row",
    params={"margin": Param(1.0, constraint=">=0")},
    summary="Contrastive loss for pairs (Hadsell, Chopra & LeCun 2006)",
    formula="l_i = ½[y_i d_i² + (1 - y_i) max(0, m - d_i)²],  d_i = ‖x1_i - x2_i‖₂",
    gradient_formula="∂L/∂x1 = [y - (1 - y) max(0, m - d)/d] (x1 - x2),  ∂L/∂x2 = -∂L/∂x1",
    conventions=("y = 1 marks a similar pair (pulled together), y = 0 a dissimilar one (pushed "
                 "beyond the margin). Some libraries use the opposite label convention.",
                 "A dissimilar pair with d = 0 gets the subgradient 0 (no direction to push).",),
    references=("Hadsell, Chopra & LeCun, Dimensionality Reduction by Learning an Invariant "
                "Mapping, CVPR 2006",),
)
def contrastive(x1, x2, labels, *, margin=1.0):
    """Contrastive: ½[y d² + (1-y) max(0, m - d)²] (Hadsell, Chopra & LeCun 2006)."""
    d = norm(x1 - x2, axis=1)
    return 0.5 * (labels * d * d + (1.0 - labels) * np.maximum(margin - d, 0.0) ** 2)


@contrastive.gradient
def _contrastive_grad(x1, x2, labels, *, margin=1.0):
    diff = x1 - x2
    d = norm(diff, axis=1)
    push = np.where(d > 0, np.maximum(margin - d, 0.0) / np.where(d > 0, d, 1.0), 0.0)
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
    gradient_formula="∂L/∂x1 = -y·1[active],  ∂L/∂x2 = y·1[active]",
    conventions=("Labels must be exactly ±1 (0 is refused: it would silently zero the loss).",),
    references=("Herbrich, Graepel & Obermayer, Large Margin Rank Boundaries for Ordinal "
                "Regression, 2000", "PyTorch torch.nn.MarginRankingLoss"),
)
def margin_ranking(x1, x2, labels, *, margin=0.0):
    """Margin ranking: max(0, -y(x1 - x2) + m) (torch.nn.MarginRankingLoss)."""
    return np.maximum(-labels * (x1 - x2) + margin, 0.0)


@margin_ranking.gradient
def _margin_ranking_grad(x1, x2, labels, *, margin=0.0):
    active = (-labels * (x1 - x2) + margin > 0).astype(np.float64)
    return {"x1": -labels * active, "x2": labels * active}


def _cosine(x1, x2):
    u1, n1 = _unit(x1)
    u2, n2 = _unit(x2)
    return np.sum(u1 * u2, axis=1), (u1, n1, u2, n2)


@register_loss(
    "cosine_embedding", aliases=("cosine_embedding_loss",),
    inputs=(Input("x1", **_VEC), Input("x2", **_VEC), _SIGN),
    differentiable=("x1", "x2"), category="embedding", coupling="row",
    params={"margin": Param(0.0, constraint="[-1,1]")},
    summary="Cosine embedding loss (PyTorch CosineEmbeddingLoss)",
    formula="l_i = 1 - cos(x1_i, x2_i) if y_i = 1;  max(0, cos(x1_i, x2_i) - m) if y_i = -1",
    gradient_formula="∂cos/∂x1 = (x̂2 - cos·x̂1)/‖x1‖; ∂L/∂x = -∂cos/∂x (y = 1) or ∂cos/∂x·1[cos > m] (y = -1)",
    conventions=("Norms are floored at 1e-12; PyTorch adds 1e-12 to the squared norms. The two agree "
                 "to ~1e-12 relative for vectors of ordinary length.",),
    references=("PyTorch torch.nn.CosineEmbeddingLoss",
                "Bromley et al., Signature Verification using a Siamese Time Delay Neural Network, NIPS 1993"),
)
def cosine_embedding(x1, x2, labels, *, margin=0.0):
    """Cosine embedding: 1 - cos for y = 1; max(0, cos - m) for y = -1 (torch CosineEmbeddingLoss)."""
    cos, _ = _cosine(x1, x2)
    return np.where(labels > 0, 1.0 - cos, np.maximum(cos - margin, 0.0))


@cosine_embedding.gradient
def _cosine_embedding_grad(x1, x2, labels, *, margin=0.0):
    cos, (u1, n1, u2, n2) = _cosine(x1, x2)
    dcos = np.where(labels > 0, -1.0, (cos > margin).astype(np.float64))[:, None]
    return {"x1": dcos * (u2 - cos[:, None] * u1) / n1, "x2": dcos * (u1 - cos[:, None] * u2) / n2}


# -- in-batch contrastive: InfoNCE and MNRL -----------------------------------------------------------
def _in_batch_ce(anchors, candidates, scale):
    """Per-sample CE of scale·cos(a_i, c_j) with target j = i, and what the gradient needs."""
    ua, na = _unit(anchors)
    uc, nc = _unit(candidates)
    logits = scale * (ua @ uc.T)
    per_sample = nll_at(logits, np.arange(anchors.shape[0]))
    return per_sample, (ua, na, uc, nc, logits)


def _in_batch_ce_grad(anchors, candidates, scale, cotangent):
    _, (ua, na, uc, nc, logits) = _in_batch_ce(anchors, candidates, scale)
    n = anchors.shape[0]
    g_logits = softmax_minus_onehot(logits, np.arange(n)) * (_ones(cotangent, n)[:, None] * scale)
    return _unit_backward(g_logits @ uc, ua, na), _unit_backward(g_logits.T @ ua, uc, nc)


@register_loss(
    "infonce", aliases=("info_nce", "nt_xent", "ntxent"),
    inputs=(Input("query", **_VEC), Input("key", **_VEC, description="positive key of each query")),
    differentiable=("query", "key"), category="embedding", coupling="batch",
    params={"temperature": Param(0.07, constraint=">0")},
    summary="InfoNCE: in-batch contrastive loss, the other keys are negatives",
    formula="l_i = -log softmax_j(cos(q_i, k_j)/τ)_i",
    gradient_formula="G = (softmax(S) - I)/τ with S_ij = cos(q_i, k_j)/τ; ∂/∂q̂ = G k̂, ∂/∂k̂ = Gᵀ q̂, "
                     "then through the normalisation",
    conventions=("One direction (queries against keys), as in CPC / MoCo; SimCLR's NT-Xent also adds "
                 "the key-to-query direction and same-view negatives.", "τ = 0.07 as MoCo."),
    references=("van den Oord, Li & Vinyals, Representation Learning with Contrastive Predictive "
                "Coding, 2018, arXiv:1807.03748", "He et al., MoCo, CVPR 2020, arXiv:1911.05722"),
)
def infonce(query, key, *, temperature=0.07):
    """InfoNCE: -log softmax(cos(q_i, k_j)/τ)_i over the batch (van den Oord et al. 2018)."""
    return _in_batch_ce(query, key, 1.0 / temperature)[0]


@infonce.gradient
def _infonce_grad(query, key, *, temperature=0.07, cotangent=None):
    gq, gk = _in_batch_ce_grad(query, key, 1.0 / temperature, cotangent)
    return {"query": gq, "key": gk}


def _mnrl_candidates(positives, negatives):
    return positives if negatives is None else np.concatenate([positives, negatives], axis=0)


@register_loss(
    "mnrl", aliases=("multiple_negatives_ranking", "multiple_negatives_ranking_loss"),
    inputs=(Input("anchors", **_VEC), Input("positives", **_VEC),
            Input("negatives", "M,D", "real", optional=True,
                  description="optional hard negatives, e.g. (N·k, D)")),
    differentiable=("anchors", "positives", "negatives"), category="embedding", coupling="batch",
    params={"scale": Param(20.0, constraint=">0", help="multiplies the cosine similarities")},
    summary="Multiple negatives ranking loss (sentence-transformers)",
    formula="l_i = -log softmax_j(scale · cos(a_i, c_j))_i,  c = [positives; negatives]",
    gradient_formula="as infonce with 1/τ = scale and candidates c; the gradient of c splits into "
                     "positives and negatives",
    conventions=("As sentence-transformers MultipleNegativesRankingLoss: every other positive and "
                 "every hard negative is a negative for each anchor; scale = 20.",),
    references=("Henderson et al., Efficient Natural Language Response Suggestion for Smart Reply, "
                "2017, arXiv:1705.00652", "sentence-transformers MultipleNegativesRankingLoss"),
)
def mnrl(anchors, positives, negatives=None, *, scale=20.0):
    """MNRL: CE over scale·cos(a_i, [p; n]) with target p_i (Henderson et al. 2017)."""
    return _in_batch_ce(anchors, _mnrl_candidates(positives, negatives), scale)[0]


@mnrl.gradient
def _mnrl_grad(anchors, positives, negatives=None, *, scale=20.0, cotangent=None):
    ga, gc = _in_batch_ce_grad(anchors, _mnrl_candidates(positives, negatives), scale, cotangent)
    n = positives.shape[0]
    out = {"anchors": ga, "positives": gc[:n]}
    if negatives is not None:
        out["negatives"] = gc[n:]
    return out


# -- GE2E ------------------------------------------------------------------------------------------
def _ge2e_groups(labels):
    """Speaker index of each utterance, the number of speakers K and utterances per speaker M."""
    speakers, index, counts = np.unique(labels, return_inverse=True, return_counts=True)
    return index, speakers.size, int(counts[0])


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


def _ge2e_forward(embeddings, labels, w, b):
    idx, k, m = _ge2e_groups(labels)
    n = embeddings.shape[0]
    sums = np.zeros((k, embeddings.shape[1]))
    np.add.at(sums, idx, embeddings)
    centroids = np.broadcast_to(sums / m, (n, k, embeddings.shape[1])).copy()
    rows_ = np.arange(n)
    centroids[rows_, idx] = (sums[idx] - embeddings) / (m - 1)  # own speaker without the utterance
    ue, ne = _unit(embeddings)
    uc, nc = _unit(centroids)
    cos = np.einsum("nd,nkd->nk", ue, uc)
    return w * cos + b, (idx, k, m, ue, ne, uc, nc, cos)


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
    conventions=("w and b are fixed parameters here (learned in the paper, where w > 0 is enforced).",
                 "Samples may come in any order; speakers are grouped by label.",
                 "contrast: at a tie for the most similar other speaker the first is used."),
    references=("Wan, Wang, Papir & Lopez Moreno, Generalized End-to-End Loss for Speaker "
                "Verification, ICASSP 2018, arXiv:1710.10467",),
)
def ge2e(embeddings, labels, *, w=10.0, b=-5.0, method="softmax"):
    """GE2E loss (Wan et al. 2018, arXiv:1710.10467), softmax or contrast form."""
    s, (idx, *_rest) = _ge2e_forward(embeddings, labels, w, b)
    n = np.arange(s.shape[0])
    if method == "softmax":
        return nll_at(s, idx)
    sig = sigmoid(s)
    others = sig.copy()
    others[n, idx] = -np.inf
    return 1.0 - sig[n, idx] + others.max(axis=1)


@ge2e.gradient
def _ge2e_grad(embeddings, labels, *, w=10.0, b=-5.0, method="softmax", cotangent=None):
    s, (idx, k, m, ue, ne, uc, nc, cos) = _ge2e_forward(embeddings, labels, w, b)
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
    g_e = _unit_backward(np.einsum("nk,nkd->nd", g_cos, uc), ue, ne)
    g_c = _unit_backward(g_cos[:, :, None] * ue[:, None, :], uc, nc)  # (N, K, D)
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
                 "as insightface's ArcFace head with easy_margin=False.",
                 f"At |cos θ_y| = 1 the derivative of cos(θ + m) is unbounded; sin θ is floored at {SIN_FLOOR:g}."),
    references=("Deng et al., ArcFace: Additive Angular Margin Loss for Deep Face Recognition, "
                "CVPR 2019, arXiv:1801.07698",),
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
