"""Generate reference vectors for the embedding losses.

    KERAS_BACKEND=jax /tmp/refvenv/bin/python tests/reference/generate_embedding_reference.py

(torch 2.13.0 CPU, pytorch-metric-learning 2.9.0, jax 0.10.2 + optax 0.2.8 in float64, keras 3.15.1
on the JAX backend) writes tests/data/embedding_reference.{npz,json} in the common format
(``reference_files.py``). Per-sample values, the gradient of their sum, and the library's own mean:

- PyTorch: TripletMarginLoss (triplet: p, eps, swap), MarginRankingLoss (margin_ranking),
  CosineEmbeddingLoss (cosine_embedding); reduction='none', autograd, the module's mean;
- optax: cosine_distance (jax.grad; jnp.mean of its per-sample values) and ntxent (a scalar:
  its mean, and jax.grad of N·mean for the gradient of the per-sample sum; the per-sample
  values of those cases come from pytorch-metric-learning's NTXentLoss on the same inputs);
- Keras: keras.losses.cosine_similarity (jax.grad; CosineSimilarity() for the mean);
- pytorch-metric-learning: NTXentLoss (nt_xent on [view1; view2] with labels [0..N-1, 0..N-1];
  infonce and mnrl through ref_emb), per pair with DoNothingReducer, mapped to samples, its
  MeanReducer for the mean; ArcFaceLoss (arcface) fed the cosines through get_cosine;
- sentence-transformers is not installed: MultipleNegativesRankingLoss and
  MultipleNegativesSymmetricRankingLoss are written here from its source (sentence_transformers/
  losses/, v3-v5: cos_sim = F.normalize then mm, scale 20, CrossEntropyLoss(mean); the symmetric
  loss averages the forward CE over [positives; negatives] with the backward CE of each positive
  against the anchors): per-sample values by a loop over anchors (autograd for the gradient), the
  mean by its vectorised formula; the symmetric infonce (CLIP) the same way.

Extremes: zero-norm rows, norms 1e-8 and 1e100, identical embeddings, temperature 0.005, exact
ties (swap, p = inf). Where a library's convention differs at an extreme (Keras's NaN gradient at
an exactly zero vector, optax's 1.5e-8 norm floor in ntxent, PyTorch's overflow of squared norms
beyond 1e77), the case keeps only what agrees and the boundary is tested in
tests/test_embedding_losses.py.
"""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path

import numpy as np

os.environ.setdefault("KERAS_BACKEND", "jax")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from reference_files import write  # noqa: E402


def _t(x, grad=True):
    import torch

    return torch.tensor(np.asarray(x, dtype=np.float64), dtype=torch.float64, requires_grad=grad)


def _result(per, leaves, mean):
    """per-sample values, the autograd gradient of their sum, the library's mean."""
    per.sum().backward()
    return {"per_sample": per.detach().numpy().copy(),
            "grads": {role: leaf.grad.numpy().copy() for role, leaf in leaves.items()},
            "mean": None if mean is None else float(mean)}


# -- PyTorch --------------------------------------------------------------------------------------------
def torch_case(loss, inputs, params):
    import torch
    import torch.nn as nn

    p = params
    if loss == "triplet":
        leaves = {r: _t(inputs[r]) for r in ("anchor", "positive", "negative")}
        kw = dict(margin=p.get("margin", 1.0), p=p.get("p", 2.0), eps=p.get("eps", 1e-6), swap=p.get("swap", False))
        per = nn.TripletMarginLoss(reduction="none", **kw)(*leaves.values())
        mean = nn.TripletMarginLoss(**kw)(*(v.detach() for v in leaves.values())).item()
        return _result(per, leaves, mean)
    leaves = {r: _t(inputs[r]) for r in ("x1", "x2")}
    y = torch.tensor(inputs["labels"], dtype=torch.float64)
    mod = {"margin_ranking": nn.MarginRankingLoss, "cosine_embedding": nn.CosineEmbeddingLoss}[loss]
    kw = dict(margin=p.get("margin", 0.0))
    per = mod(reduction="none", **kw)(leaves["x1"], leaves["x2"], y)
    mean = mod(**kw)(leaves["x1"].detach(), leaves["x2"].detach(), y).item()
    return _result(per, leaves, mean)


# -- pytorch-metric-learning -------------------------------------------------------------------------------
def _pml_pairs(emb, labels, temperature, ref_emb=None, ref_labels=None):
    """NTXentLoss per positive pair (DoNothingReducer): (losses, anchor index of each), and the mean
    of the default reducer."""
    import torch
    from pytorch_metric_learning.losses import NTXentLoss
    from pytorch_metric_learning.reducers import DoNothingReducer

    labels = torch.as_tensor(labels)
    # (a copy: pytorch-metric-learning drops the diagonal when ref_labels *is* labels)
    kw = {} if ref_emb is None else dict(ref_emb=ref_emb, ref_labels=torch.as_tensor(ref_labels).clone())
    out = NTXentLoss(temperature=temperature, reducer=DoNothingReducer())(emb, labels, **kw)["loss"]
    mean = NTXentLoss(temperature=temperature)(emb.detach(), labels,
                                               **{k: (v.detach() if k == "ref_emb" else v) for k, v in kw.items()})
    return out["losses"], out["indices"][0], mean.item()


def _by_anchor(losses, anchors, n):
    """Per-pair losses as one value per anchor 0..n-1 (each anchor has exactly one positive here)."""
    import torch

    order = torch.argsort(anchors)
    assert torch.equal(anchors[order], torch.arange(n)), "one positive pair per anchor"
    return losses[order]


def pml_case(loss, inputs, params):
    import torch

    if loss == "nt_xent":
        leaves = {"view1": _t(inputs["view1"]), "view2": _t(inputs["view2"])}
        n = leaves["view1"].shape[0]
        emb = torch.cat([leaves["view1"], leaves["view2"]])
        labels = torch.cat([torch.arange(n), torch.arange(n)])
        losses, anchors, mean = _pml_pairs(emb, labels, params.get("temperature", 0.07))
        per_view = _by_anchor(losses, anchors, 2 * n)
        return _result(0.5 * (per_view[:n] + per_view[n:]), leaves, mean)
    if loss == "infonce":
        q, k = _t(inputs["query"]), _t(inputs["key"])
        n = q.shape[0]
        tau = params.get("temperature", 0.07)
        lab = torch.arange(n)
        fwd, a_f, mean_f = _pml_pairs(q, lab, tau, ref_emb=k, ref_labels=lab)
        per = _by_anchor(fwd, a_f, n)
        mean = mean_f
        if params.get("symmetric"):
            bwd, a_b, mean_b = _pml_pairs(k, lab, tau, ref_emb=q, ref_labels=lab)
            per = 0.5 * (per + _by_anchor(bwd, a_b, n))
            mean = 0.5 * (mean_f + mean_b)
        return _result(per, {"query": q, "key": k}, mean)
    if loss == "mnrl":
        leaves = {r: _t(inputs[r]) for r in ("anchors", "positives", "negatives") if r in inputs}
        n = leaves["anchors"].shape[0]
        ref = torch.cat([leaves["positives"]] + ([leaves["negatives"]] if "negatives" in leaves else []))
        ref_labels = torch.cat([torch.arange(n), -1 - torch.arange(ref.shape[0] - n)])  # a label per negative
        losses, anchors, mean = _pml_pairs(leaves["anchors"], torch.arange(n), 1.0 / params.get("scale", 20.0),
                                           ref_emb=ref, ref_labels=ref_labels)
        return _result(_by_anchor(losses, anchors, n), leaves, mean)
    if loss == "arcface":
        from pytorch_metric_learning.losses import ArcFaceLoss
        from pytorch_metric_learning.reducers import DoNothingReducer

        cos = _t(inputs["cosine"])
        y = torch.tensor(inputs["labels"], dtype=torch.long)
        n, c = cos.shape
        kw = dict(num_classes=c, embedding_size=2, margin=math.degrees(params.get("margin", 0.5)),
                  scale=params.get("scale", 64.0))
        emb = torch.zeros((n, 2), dtype=torch.float64)  # (its cosines are replaced by the given ones)
        per_fn = ArcFaceLoss(reducer=DoNothingReducer(), **kw)
        mean_fn = ArcFaceLoss(**kw)
        per_fn.get_cosine = lambda _emb: cos
        mean_fn.get_cosine = lambda _emb: cos.detach()
        per = per_fn(emb, y)["loss"]["losses"]
        return _result(per, {"cosine": cos}, mean_fn(emb, y).item())
    raise KeyError(loss)


# -- sentence-transformers, written from its source (not installed) -------------------------------------------
def _cos_sim(a, b):
    """sentence_transformers.util.cos_sim: F.normalize(p=2, dim=1) of both, then a @ b.T."""
    import torch.nn.functional as F

    return F.normalize(a, p=2, dim=1) @ F.normalize(b, p=2, dim=1).T


def st_case(loss, inputs, params):
    """MultipleNegatives(Symmetric)RankingLoss: per-sample by a loop over the anchors, the mean by the
    library's vectorised forward; infonce(symmetric) = CLIP's loss with scale 1/τ, the same way."""
    import torch
    import torch.nn.functional as F

    if loss == "mnrl":
        leaves = {r: _t(inputs[r]) for r in ("anchors", "positives", "negatives") if r in inputs}
        a, pos = leaves["anchors"], leaves["positives"]
        negs = [leaves["negatives"]] if "negatives" in leaves else []
        scale = params.get("scale", 20.0)
    else:  # infonce, symmetric: MNSRL with scale 1/τ and no negatives is CLIP's loss
        leaves = {"query": _t(inputs["query"]), "key": _t(inputs["key"])}
        a, pos, negs = leaves["query"], leaves["key"], []
        scale = 1.0 / params.get("temperature", 0.07)
    symmetric = params.get("symmetric", False)
    candidates = torch.cat([pos] + negs)
    n = a.shape[0]
    per = []
    for i in range(n):  # one anchor at a time: its scores against every candidate, then one CE
        s = torch.stack([scale * torch.dot(F.normalize(a[i], dim=0), F.normalize(c, dim=0)) for c in candidates])
        forward = torch.logsumexp(s, dim=0) - s[i]
        if symmetric:  # positive i against every anchor
            b = torch.stack([scale * torch.dot(F.normalize(pos[i], dim=0), F.normalize(x, dim=0)) for x in a])
            forward = 0.5 * (forward + torch.logsumexp(b, dim=0) - b[i])
        per.append(forward)
    per = torch.stack(per)
    with torch.no_grad():  # the library's forward, vectorised
        scores = _cos_sim(a, candidates) * scale
        labels = torch.arange(n)
        mean = F.cross_entropy(scores, labels)
        if symmetric:
            mean = (mean + F.cross_entropy(scores[:, :n].T, labels)) / 2
    return _result(per, leaves, mean.item())


# -- optax and Keras ------------------------------------------------------------------------------------------
def jax_case(loss, inputs, params, grads=True):
    import jax
    import jax.numpy as jnp
    import keras
    import optax

    if loss == "cosine_distance":
        x, y = jnp.asarray(inputs["predictions"]), jnp.asarray(inputs["targets"])
        eps = params.get("epsilon", 1e-12)

        def per_fn(x_, y_):
            return optax.losses.cosine_distance(x_, y_, epsilon=eps)

        mean = float(jnp.mean(per_fn(x, y)))
    elif loss == "cosine_similarity":
        x, y = jnp.asarray(inputs["predictions"]), jnp.asarray(inputs["targets"])
        old = keras.config.epsilon()
        keras.config.set_epsilon(params.get("epsilon", 1e-7))  # what keras.ops.normalize floors the norm at
        try:
            def per_fn(x_, y_):
                return keras.losses.cosine_similarity(y_, x_)  # (y_true, y_pred)

            per = per_fn(x, y)
            gx, gy = jax.grad(lambda a, b: jnp.sum(per_fn(a, b)), argnums=(0, 1))(x, y) if grads else (None, None)
            mean = float(keras.losses.CosineSimilarity()(y, x))
        finally:
            keras.config.set_epsilon(old)
        out = {"per_sample": np.asarray(per, dtype=np.float64), "mean": mean}
        if grads:
            out["grads"] = {"predictions": np.asarray(gx, dtype=np.float64),
                            "targets": np.asarray(gy, dtype=np.float64)}
        return out
    elif loss == "nt_xent":  # optax: the mean and its gradient (per-sample values: pytorch-metric-learning)
        v1, v2 = jnp.asarray(inputs["view1"]), jnp.asarray(inputs["view2"])
        n = v1.shape[0]
        labels = jnp.concatenate([jnp.arange(n), jnp.arange(n)])
        tau = params.get("temperature", 0.07)

        def total(a, b):  # Σ_i l_i = N · optax's mean over the 2N positive pairs
            return n * optax.losses.ntxent(jnp.concatenate([a, b]), labels, temperature=tau)

        out = pml_case("nt_xent", inputs, params)
        out["mean"] = float(total(v1, v2)) / n
        if grads:
            g1, g2 = jax.grad(total, argnums=(0, 1))(v1, v2)
            out["grads"] = {"view1": np.asarray(g1, dtype=np.float64), "view2": np.asarray(g2, dtype=np.float64)}
        else:
            del out["grads"]
        return out
    else:
        raise KeyError(loss)
    per = per_fn(x, y)
    gx, gy = jax.grad(lambda a, b: jnp.sum(per_fn(a, b)), argnums=(0, 1))(x, y)
    return {"per_sample": np.asarray(per, dtype=np.float64),
            "grads": {"predictions": np.asarray(gx, dtype=np.float64), "targets": np.asarray(gy, dtype=np.float64)},
            "mean": mean}


# -- the cases ---------------------------------------------------------------------------------------------------
def cases() -> list[dict]:
    rng = np.random.default_rng(20250301)
    out: list[dict] = []

    def add(loss, inputs, library, source, grads=True, **params):
        out.append({"id": f"{loss}-{len(out)}", "loss": loss, "params": params, "inputs": inputs,
                    "library": library, "source": source, "with_grads": grads})

    # triplet (torch.nn.TripletMarginLoss): p, eps, swap, margin
    src = "torch.nn.TripletMarginLoss"
    for d in (3, 6):
        a, po, ne = rng.normal(size=(7, d)), rng.normal(size=(7, d)), rng.normal(size=(7, d))
        trip = {"anchor": a, "positive": a + 0.6 * po, "negative": ne}
        add("triplet", trip, "torch", src)
        for p in (1.0, 1.5, 3.0):
            add("triplet", trip, "torch", src, p=p)
            add("triplet", trip, "torch", src, p=p, swap=True)
        add("triplet", trip, "torch", src, swap=True, margin=0.3)
        add("triplet", trip, "torch", src, margin=2.5, eps=0.0)
        add("triplet", {"anchor": a, "positive": po, "negative": a + 0.3 * ne}, "torch",
            src + " (swap chooses d(p, n))",
            swap=True, margin=3.0)
    a = rng.normal(size=(5, 4))
    ext = {"anchor": np.vstack([a[:2], np.zeros((1, 4)), 1e6 * a[3:4], 1e-8 * a[4:5]]),
           "positive": np.vstack([a[0:1], a[1:2] + 1e-3, np.zeros((1, 4)), 1e6 * a[4:5], 1e-8 * a[3:4]]),
           "negative": np.vstack([a[0:1], a[1:2] - 2.0, np.ones((1, 4)), 1e6 * a[1:2], np.zeros((1, 4))])}
    add("triplet", ext, "torch", src + " (a = p = n, a = p = 0, norms 1e6 and 1e-8)", margin=0.5)
    add("triplet", ext, "torch", src + " (a = p: d(a, n) = d(p, n) ties, half through each)", swap=True, margin=0.5)
    add("triplet", ext, "torch", src + " (p = 1 at zero differences)", p=1.0, eps=0.0, margin=0.5)
    ints = {"anchor": np.array([[1.0, -1.0, 2.0], [0.0, 3.0, -3.0], [2.0, 2.0, 0.0]]),
            "positive": np.array([[0.0, 0.0, 0.0], [1.0, 1.0, 1.0], [2.0, 2.0, 0.0]]),
            "negative": np.array([[3.0, 3.0, -3.0], [2.0, 0.0, 0.0], [5.0, -5.0, 5.0]])}
    add("triplet", ints, "torch", src + " (p = 3, a zero difference, exact components)", p=3.0, eps=0.0, margin=4.0)
    add("triplet", ints, "torch", src + " (p = 1.5, swap)", p=1.5, eps=0.0, margin=4.0, swap=True)

    # margin_ranking (torch.nn.MarginRankingLoss), the kink x1 = x2 with margin 0
    src = "torch.nn.MarginRankingLoss"
    x1, x2 = rng.normal(size=9), rng.normal(size=9)
    sign = rng.choice([-1.0, 1.0], 9)
    for m in (0.0, 0.5, 2.0):
        add("margin_ranking", {"x1": x1, "x2": x2, "labels": sign}, "torch", src, margin=m)
    k1, k2 = np.array([1.0, 1.0, 0.0, 1e4, -1e4, 2.5]), np.array([1.0, 0.5, 0.0, -1e4, 1e4, 3.0])
    add("margin_ranking", {"x1": k1, "x2": k2, "labels": np.array([1.0, -1.0, -1.0, -1.0, 1.0, 1.0])}, "torch",
        src + " (x1 = x2 at margin 0: the gradient passes; ±1e4)")
    add("margin_ranking", {"x1": k1, "x2": k2, "labels": np.array([1.0, -1.0, -1.0, -1.0, 1.0, 1.0])}, "torch",
        src + " (-y(x1 - x2) + m = 0 exactly)", margin=0.5)

    # cosine_embedding (torch.nn.CosineEmbeddingLoss): 1e-12 in the squared norms
    src = "torch.nn.CosineEmbeddingLoss"
    for d in (3, 8):
        x1, x2 = rng.normal(size=(8, d)), rng.normal(size=(8, d))
        y = rng.choice([-1.0, 1.0], 8)
        for m in (0.0, -0.2, 0.5):
            add("cosine_embedding", {"x1": x1, "x2": x1 + 0.8 * x2, "labels": y}, "torch", src, margin=m)
    u = rng.normal(size=(8, 3))
    x1 = np.vstack([np.zeros((1, 3)), u[1:2], np.zeros((1, 3)), 1e-8 * u[3:4], 1e-7 * u[4:5], 1e60 * u[5:6],
                    u[6:7], 3 * u[7:8]])
    x2 = np.vstack([u[0:1], np.zeros((1, 3)), np.zeros((1, 3)), 1e-8 * u[4:5], u[4:5], 1e60 * u[6:7], u[6:7], u[7:8]])
    for y in (np.ones(8), -np.ones(8)):
        add("cosine_embedding", {"x1": x1, "x2": x2, "labels": y}, "torch",
            src + " (zero vectors, norms 1e-8, 1e-7 and 1e60, identical and parallel vectors)", margin=-0.5)

    # cosine_distance (optax.losses.cosine_distance, with its epsilon)
    src = "optax.losses.cosine_distance"
    for d in (3, 8):
        x, y = rng.normal(size=(8, d)), rng.normal(size=(8, d))
        add("cosine_distance", {"predictions": x, "targets": x + y}, "jax", src)
        add("cosine_distance", {"predictions": x, "targets": x + y}, "jax", src, epsilon=0.5)
    ext = {"predictions": np.vstack([np.zeros((1, 3)), 1e-8 * u[1:2], 1e-6 * u[2:3], 1e100 * u[3:4], u[4:5], u[5:6]]),
           "targets": np.vstack([u[0:1], u[2:3], 1e-3 * u[3:4], u[4:5], u[4:5], -2 * u[5:6]])}
    add("cosine_distance", ext, "jax", src + " (a zero vector, norms 1e-8, 1e-6, 1e100, identical, opposite)")
    add("cosine_distance", ext, "jax", src + " (the same, epsilon 1e-4)", epsilon=1e-4)

    # cosine_similarity (keras.losses.cosine_similarity, -cos, keras.ops.normalize's epsilon)
    src = "keras.losses.cosine_similarity (JAX backend)"
    for d in (3, 8):
        x, y = rng.normal(size=(8, d)), rng.normal(size=(8, d))
        add("cosine_similarity", {"predictions": x, "targets": x - 0.5 * y}, "jax", src)
        add("cosine_similarity", {"predictions": x, "targets": x - 0.5 * y}, "jax", src + " (backend epsilon 0.5)",
            epsilon=0.5)
    small = {"predictions": np.vstack([1e-8 * u[0:1], 1e-7 * u[1:2], 1e100 * u[2:3], u[3:4], u[4:5]]),
             "targets": np.vstack([u[0:1], u[2:3], u[2:3], u[3:4], -u[4:5]])}
    add("cosine_similarity", small, "jax", src + " (norms 1e-8 (floored: x/1e-7), 1e-7, 1e100, identical, opposite)")
    zero = {"predictions": np.vstack([np.zeros((1, 3)), u[1:2]]), "targets": np.vstack([u[0:1], np.zeros((1, 3))])}
    add("cosine_similarity", zero, "jax", src + " (zero vectors: the value; Keras's gradient is NaN there)",
        grads=False)

    # infonce: pytorch-metric-learning NTXentLoss with ref_emb (one direction; symmetric: both, averaged);
    # symmetric also as CLIP's loss written out
    for n, d in ((6, 3), (8, 5)):
        q, k = rng.normal(size=(n, d)), rng.normal(size=(n, d))
        src = "pytorch_metric_learning.losses.NTXentLoss (ref_emb = key)"
        for tau in (0.07, 0.5):
            add("infonce", {"query": q, "key": q + 0.5 * k}, "pml", src, temperature=tau)
            add("infonce", {"query": q, "key": q + 0.5 * k}, "pml", src + ", both directions averaged",
                temperature=tau, symmetric=True)
        add("infonce", {"query": q, "key": q + 0.5 * k}, "st",
            "CLIP's symmetric loss written out (loop over queries), mean as sentence-transformers MNSRL",
            symmetric=True, temperature=0.1)
        add("infonce", {"query": q, "key": k}, "pml", src + " (temperature 0.005: logits ±200)", temperature=0.005)
    q = rng.normal(size=(5, 3))
    k = np.vstack([np.zeros((1, 3)), q[1:2], 1e100 * q[2:3], 1e-8 * q[3:4], q[4:5]])
    add("infonce", {"query": q, "key": k}, "pml",
        "pytorch_metric_learning.losses.NTXentLoss (a zero key, identical, norms 1e100 and 1e-8)")
    add("infonce", {"query": q, "key": k}, "pml", "pytorch_metric_learning.losses.NTXentLoss (the same, symmetric)",
        symmetric=True)
    same = np.tile(q[:1], (4, 1))
    add("infonce", {"query": same, "key": same}, "pml", "pytorch_metric_learning.losses.NTXentLoss (identical rows: "
                                                      "the value log N; the gradient is 0 up to rounding)", grads=False)

    # mnrl: sentence-transformers (written from its source) and pytorch-metric-learning (temperature 1/scale)
    for n, d in ((5, 3), (8, 6)):
        a, p = rng.normal(size=(n, d)), rng.normal(size=(n, d))
        pair = {"anchors": a, "positives": a + 0.4 * p}
        src = "sentence-transformers MultipleNegativesRankingLoss (written from its source)"
        add("mnrl", pair, "st", src)
        add("mnrl", pair, "st", src.replace("RankingLoss", "SymmetricRankingLoss"), symmetric=True)
        for k in (1, 3):
            trip = dict(pair, negatives=rng.normal(size=(k * n, d)))
            add("mnrl", trip, "st", src + f" ({k} hard negatives per anchor)")
            add("mnrl", trip, "st", "sentence-transformers MultipleNegativesSymmetricRankingLoss (written from its "
                                    f"source; {k} hard negatives per anchor)", symmetric=True, scale=5.0)
            add("mnrl", trip, "pml", "pytorch_metric_learning.losses.NTXentLoss (temperature 1/scale, ref_emb = "
                                     f"[positives; negatives]; {k} per anchor)", scale=5.0)
        add("mnrl", pair, "pml", "pytorch_metric_learning.losses.NTXentLoss (temperature 1/scale)")
        add("mnrl", {"anchors": a, "positives": p}, "st", src + " (scale 200)", scale=200.0)
    a = rng.normal(size=(4, 3))
    ext = {"anchors": np.vstack([np.zeros((1, 3)), a[1:2], 1e100 * a[2:3], a[3:4]]),
           "positives": np.vstack([a[0:1], a[1:2], a[2:3], 1e-8 * a[3:4]]),
           "negatives": np.vstack([a[1:2], np.zeros((1, 3)), a[3:4], -a[0:1], a[0:1], a[1:2], a[2:3], a[3:4]])}
    add("mnrl", ext, "st", "sentence-transformers MultipleNegativesRankingLoss (a zero anchor and negative, identical "
                           "rows, norms 1e100 and 1e-8; 2 negatives per anchor)", scale=1.0)
    add("mnrl", ext, "st", "sentence-transformers MultipleNegativesSymmetricRankingLoss (the same)", symmetric=True,
        scale=1.0)

    # nt_xent: pytorch-metric-learning NTXentLoss on [view1; view2]; optax.losses.ntxent (mean and gradient)
    for n, d in ((4, 3), (6, 5)):
        v1, v2 = rng.normal(size=(n, d)), rng.normal(size=(n, d))
        views = {"view1": v1, "view2": v1 + 0.5 * v2}
        src = "pytorch_metric_learning.losses.NTXentLoss (labels [0..N-1, 0..N-1])"
        for tau in (0.07, 0.5):
            add("nt_xent", views, "pml", src, temperature=tau)
            add("nt_xent", views, "jax", "optax.losses.ntxent (mean, gradient); per-sample: " + src, temperature=tau)
        add("nt_xent", {"view1": v1, "view2": v2}, "pml", src + " (temperature 0.005: logits ±200)", temperature=0.005)
        add("nt_xent", {"view1": v1, "view2": v2}, "jax", "optax.losses.ntxent (temperature 0.005)",
            temperature=0.005)
    v = rng.normal(size=(4, 3))
    ext = {"view1": np.vstack([np.zeros((1, 3)), v[1:2], 1e100 * v[2:3], v[3:4]]),
           "view2": np.vstack([v[0:1], v[1:2], v[2:3], 1e-8 * v[3:4]])}
    add("nt_xent", ext, "pml", "pytorch_metric_learning.losses.NTXentLoss (a zero view, identical views, norms "
                               "1e100 and 1e-8)")
    ext = dict(ext, view2=np.vstack([v[0:1], v[1:2], v[2:3], 1e-6 * v[3:4]]))
    add("nt_xent", ext, "jax", "optax.losses.ntxent (a zero view, identical views, norms 1e100 and 1e-6: value and "
                               "mean; its gradient at the zero view comes from its 1.5e-8 norm floor)", grads=False)
    same = {"view1": np.tile(v[:1], (3, 1)), "view2": np.tile(v[:1], (3, 1))}
    add("nt_xent", same, "pml", "pytorch_metric_learning.losses.NTXentLoss (every view identical)")

    # arcface: pytorch-metric-learning ArcFaceLoss on the given cosines (margin in degrees)
    src = "pytorch_metric_learning.losses.ArcFaceLoss (get_cosine = the cosines; margin = degrees(m))"
    for c in (3, 5):
        cos = np.tanh(rng.normal(0, 1, (8, c)))
        y = rng.integers(0, c, 8)
        for s_, m_ in ((64.0, 0.5), (30.0, 0.2), (10.0, 1.2), (64.0, 0.0)):
            add("arcface", {"cosine": cos, "labels": y}, "pml", src, scale=s_, margin=m_)
    cos = np.array([[-0.99, 0.2, 0.1], [0.999999, -0.5, 0.0], [-0.95, 0.9, -0.9], [0.0, 0.0, 0.0]])
    add("arcface", {"cosine": cos, "labels": np.array([0, 0, 0, 1])}, "pml",
        src + " (θ past π - m: the fallback; cos θ_y = 0.999999)", scale=64.0, margin=0.5)
    return out


def compute(all_cases):
    import torch

    torch.set_num_threads(1)  # reductions in a fixed order: reproducible output
    results = []
    for case in all_cases:
        lib = case.pop("library")
        grads = case.pop("with_grads")
        if lib == "torch":
            result = torch_case(case["loss"], case["inputs"], case["params"])
        elif lib == "pml":
            result = pml_case(case["loss"], case["inputs"], case["params"])
        elif lib == "st":
            result = st_case(case["loss"], case["inputs"], case["params"])
        else:
            result = jax_case(case["loss"], case["inputs"], case["params"], grads=grads)
        if not grads:
            result.pop("grads", None)
        results.append((case, result))
    return results


def main() -> None:
    import jax

    jax.config.update("jax_enable_x64", True)
    import keras
    import optax
    import pytorch_metric_learning
    import torch

    keras.config.set_floatx("float64")  # Keras would otherwise cast the loss objects' results to float32
    results = compute(cases())
    write("embedding", results, generator="tests/reference/generate_embedding_reference.py",
          library_versions={"torch": torch.__version__, "pytorch-metric-learning": pytorch_metric_learning.__version__,
                            "jax": jax.__version__, "optax": optax.__version__, "keras": keras.__version__,
                            "keras_backend": keras.backend.backend(),
                            "sentence-transformers": "not installed: written from its source"})


if __name__ == "__main__":
    main()
