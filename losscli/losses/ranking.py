"""Listwise ranking losses: scores over a list of items and their relevance labels.

One sample is one list: a row of L item scores (``logits``) with a row of relevance labels.
Lists of different lengths are padded to a common L and the padding masked out with the
optional ``where`` input (1 = a real item, 0 = padding), as optax's ``where``.
"""

from __future__ import annotations

import numpy as np

from ..registry import Input, register_loss


def _masked_nll(logits: np.ndarray, valid: np.ndarray):
    """-log softmax over each row's valid items, (N, L) (0 at masked items), and the softmax itself.

    lse - s_k is (m - s_k) + log Σ e^{s - m}, a sum of non-negative terms; at the row's maximum it
    is log1p(Σ_{j≠k} e^{s_j - m}), which keeps its digits when that item dominates (as nll_at).
    Also returns, per row, 1 - softmax at the maximum (the sum of the others, no cancellation)."""
    n = logits.shape[0]
    has = valid.any(axis=1)
    z = np.where(valid, logits, -np.inf)
    m = np.where(has, np.max(z, axis=1), 0.0)
    with np.errstate(over="ignore"):  # a gap beyond float64 underflows to e = 0, as it should
        e = np.exp(z - m[:, None])  # exp(-inf) = 0 at masked items
    top = np.argmax(z, axis=1)
    at_top = np.arange(n), top
    total = e.sum(axis=1)
    others = e.copy()
    others[at_top] = 0.0
    others = others.sum(axis=1)
    safe_total = np.where(has, total, 1.0)
    with np.errstate(over="ignore"):  # a gap beyond float64 (|s| ~ 1e308) is inf: the engine reports it
        nll = (m[:, None] - logits) + np.log(safe_total)[:, None]
    nll[at_top] = np.log1p(others)
    nll = np.where(valid, nll, 0.0)
    soft = e / safe_total[:, None]
    return nll, soft, top, others / safe_total


def _effective_labels(labels, where, weights):
    """optax's order: labels zeroed outside ``where``, then multiplied by ``weights``."""
    y = labels if where is None else np.where(where != 0, labels, 0.0)
    return y if weights is None else y * weights


def _valid(logits, where):
    return np.ones(logits.shape, dtype=bool) if where is None else where != 0


def _lists_with_items(arrays, params):
    """optax's mean skips lists whose items are all masked out: their share of the mean is 0."""
    where = arrays.get("where")
    return None if where is None else np.any(where != 0, axis=1).astype(np.float64)


@register_loss(
    "ranking_softmax", aliases=("ranking_softmax_loss",),
    inputs=(Input("logits", "N,L", "real", description="scores of the L items of each list (one list per row)"),
            Input("labels", "=logits", "nonnegative", description="relevance labels >= 0 (grades or 0/1)"),
            Input("where", "=logits", "binary", optional=True,
                  description="1 = a real item, 0 = padding left out of the list (optax's where)"),
            Input("weights", "=logits", "nonnegative", optional=True,
                  description="per-item weights, multiplying the labels (optax's weights)")),
    differentiable=("logits",), category="ranking", coupling="row",
    grad_checks=("rows_sum_to_zero:logits",), mean_normaliser=_lists_with_items,
    summary="Listwise softmax cross-entropy over each list's items (optax ranking_softmax_loss)",
    formula="l_i = -Σ_k a_ik log softmax(s_i)_k over the list's valid items,  a = y·[where]·weights "
            "(labels NOT normalised)",
    gradient_formula="∂L/∂s_ik = softmax(s_i)_k Σ_j a_ij - a_ik at valid items, 0 at masked ones",
    conventions=("Labels are used as they are, NOT normalised to sum to 1: optax 0.2.8 multiplies "
                 "log softmax by the raw labels (its Rax ancestor and TF-Ranking divide by Σ y), so "
                 "relevance grades (0, 1, 2) give l = -Σ y log p, and a list whose labels are all 0 has "
                 "loss 0. Divide the labels by their row sum first for the normalised variant.",
                 "where (optional, (N, L), 1 = item, 0 = padding): masked items are left out of the "
                 "softmax and of the sum, as optax's where; a list with no item left has loss 0, and "
                 "the mean divides by the number of lists with at least one item (optax's masked "
                 "mean). If every list is empty losscli's mean is an error (optax returns 0).",
                 "weights (optional, (N, L), >= 0) multiply the labels after masking, as optax. "
                 "Inputs are positional: to give weights without a mask, give a where file of ones.",
                 "Labels must be >= 0 (optax does not check; negative labels would make the loss "
                 "negative). Per sample: the list's loss; the mean is optax's default reduce_fn=jnp.mean."),
    matches=("optax optax.losses.ranking_softmax_loss (where, weights)",),
    references=("Cao et al., Learning to Rank: From Pairwise Approach to Listwise Approach (ListNet), "
                "ICML 2007",
                "Bruch et al., An Analysis of the Softmax Cross Entropy Loss for Learning-to-Rank "
                "with Binary Relevance, ICTIR 2019",
                "optax optax.losses.ranking_softmax_loss"),
)
def ranking_softmax(logits, labels, where=None, weights=None):
    """Listwise softmax loss -Σ_k y_k log softmax(s)_k per list (Cao et al. 2007; optax)."""
    nll, _, _, _ = _masked_nll(logits, _valid(logits, where))
    with np.errstate(over="ignore", invalid="ignore"):  # nll = 0 terms stay 0 when labels·weights overflow
        a = _effective_labels(labels, where, weights)
        return np.sum(np.where(nll > 0, a * nll, 0.0), axis=1)


@ranking_softmax.gradient
def _ranking_softmax_grad(logits, labels, where=None, weights=None):
    valid = _valid(logits, where)
    _, soft, top, rest = _masked_nll(logits, valid)
    with np.errstate(over="ignore", invalid="ignore"):  # labels·weights beyond float64: reported
        a = _effective_labels(labels, where, weights)
        total = a.sum(axis=1)
        g = soft * total[:, None] - a
    n = logits.shape[0]
    at_top = np.arange(n), top
    # at the top item: p·A - a_top = (A - a_top) - (1 - p)·A, both parts without cancellation
    a_rest = a.copy()
    a_rest[at_top] = 0.0
    with np.errstate(over="ignore", invalid="ignore"):
        g[at_top] = a_rest.sum(axis=1) - rest * total
    return {"logits": np.where(valid, g, 0.0)}
