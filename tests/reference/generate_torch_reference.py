"""Generate PyTorch reference vectors for the losses PyTorch also has.

    pip install torch==2.13.0        # CPU build
    python tests/reference/generate_torch_reference.py

writes tests/data/torch_reference.npz (arrays) and tests/data/torch_reference.json (cases).
Each case stores its inputs, PyTorch's per-sample losses and the gradient of their SUM w.r.t. each
differentiable input, all float64. The test suite compares losscli against these files without
needing torch; ``test_torch_reference.py::test_committed_reference_is_current`` re-runs this
script in memory when torch is installed and checks the committed files still match it.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parent.parent / "data"


def _t(x):
    import torch

    return torch.tensor(x, dtype=torch.float64, requires_grad=True)


def _per_row(v):
    return v.reshape(v.shape[0], -1).mean(dim=1)


def _cos_rows(x, y):
    import torch.nn.functional as F

    return (F.normalize(x, dim=1, eps=1e-12) * F.normalize(y, dim=1, eps=1e-12)).sum(dim=1)


def _in_batch(a, c, scale):
    import torch
    import torch.nn.functional as F

    logits = scale * F.normalize(a, dim=1, eps=1e-12) @ F.normalize(c, dim=1, eps=1e-12).T
    return F.cross_entropy(logits, torch.arange(a.shape[0]), reduction="none")


def torch_per_sample(loss: str, inputs: dict, params: dict):
    """(per-sample losses, {role: leaf tensor}, torch's own mean-reduced value or None)."""
    import torch
    import torch.nn.functional as F

    p = params
    leaves = {}

    def leaf(role):
        leaves[role] = _t(inputs[role])
        return leaves[role]

    def const(role, dtype=torch.float64):
        return torch.tensor(inputs[role], dtype=dtype)

    mean = None
    if loss in ("mse", "l2", "mae", "huber", "smooth_l1", "log_cosh", "quantile", "poisson_nll", "bce",
                "bce_logits", "focal"):
        first = "logits" if loss in ("bce_logits", "focal") else "predictions"
        x, t = leaf(first), const("labels")
        elem = {
            "mse": lambda: F.mse_loss(x, t, reduction="none"),
            "l2": lambda: F.mse_loss(x, t, reduction="none"),
            "mae": lambda: F.l1_loss(x, t, reduction="none"),
            "huber": lambda: F.huber_loss(x, t, reduction="none", delta=p.get("delta", 1.0)),
            "smooth_l1": lambda: F.smooth_l1_loss(x, t, reduction="none", beta=p.get("beta", 1.0)),
            "log_cosh": lambda: torch.log(torch.cosh(x - t)),
            "quantile": lambda: torch.maximum(p.get("tau", 0.5) * (t - x), (p.get("tau", 0.5) - 1) * (t - x)),
            "poisson_nll": lambda: F.poisson_nll_loss(x, t, log_input=p.get("log_input", True), full=False,
                                                      eps=p.get("eps", 1e-8), reduction="none"),
            "bce": lambda: F.binary_cross_entropy(x, t, reduction="none"),
            "bce_logits": lambda: F.binary_cross_entropy_with_logits(
                x, t, reduction="none", pos_weight=torch.tensor(p.get("pos_weight", 1.0), dtype=torch.float64)),
            "focal": lambda: _torchvision_focal(x, t, p.get("alpha", 0.25), p.get("gamma", 2.0)),
        }[loss]()
        if loss == "l2":
            out = elem.reshape(elem.shape[0], -1).sum(dim=1) * (0.5 if p.get("half") else 1.0)
        else:
            out = _per_row(elem)
            mean = elem.mean()
        return out, leaves, mean
    if loss == "gaussian_nll":
        mu, t, var = leaf("mean"), const("target"), leaf("var")
        elem = F.gaussian_nll_loss(mu, t, var, full=False, eps=p.get("eps", 1e-6), reduction="none")
        return _per_row(elem), leaves, F.gaussian_nll_loss(mu, t, var, full=False, eps=p.get("eps", 1e-6))
    if loss in ("ce", "softmax_ce", "poly1", "softmax_focal"):
        first = "predictions" if loss == "ce" else "logits"
        z = leaf(first)
        y = inputs["labels"]
        target = torch.tensor(y, dtype=torch.long) if y.ndim == 1 else torch.tensor(y)
        if loss == "ce":  # on probabilities: -Σ w_k t_k log p_k, written out (no softmax inside)
            c = z.shape[1]
            t = F.one_hot(target, c).double() if y.ndim == 1 else target
            eps_ls = p.get("label_smoothing", 0.0)
            t = (1 - eps_ls) * t + eps_ls / c
            w = torch.tensor(p["class_weights"], dtype=torch.float64) if p.get("class_weights") else torch.ones(c, dtype=torch.float64)
            per = -(w * t * torch.log(z)).sum(dim=1)
            denom = w[target].sum() if (y.ndim == 1 and p.get("class_weights")) else per.shape[0]
            return per, leaves, per.sum() / denom
        if loss == "softmax_ce":
            logits = z
            kw = dict(label_smoothing=p.get("label_smoothing", 0.0))
            if p.get("class_weights"):
                kw["weight"] = torch.tensor(p["class_weights"], dtype=torch.float64)
            return (F.cross_entropy(logits, target, reduction="none", **kw), leaves,
                    F.cross_entropy(logits, target, reduction="mean", **kw))
        logp = F.log_softmax(z, dim=1)
        if loss == "poly1":
            onehot = F.one_hot(target, z.shape[1]).double() if y.ndim == 1 else target
            pt = (onehot * logp.exp()).sum(dim=1)
            return F.cross_entropy(z, target, reduction="none") + p.get("epsilon", 2.0) * (1 - pt), leaves, None
        logpt = logp.gather(1, target[:, None])[:, 0]
        return -p.get("alpha", 1.0) * (1 - logpt.exp()) ** p.get("gamma", 2.0) * logpt, leaves, None
    if loss in ("hinge", "squared_hinge"):
        f, y = leaf("scores"), inputs["labels"]
        m = p.get("margin", 1.0)
        if f.ndim == 1:
            v = m - torch.tensor(y) * f
        else:
            idx = torch.tensor(y, dtype=torch.long)
            true = f.gather(1, idx[:, None])[:, 0]
            others = f.masked_fill(F.one_hot(idx, f.shape[1]).bool(), float("-inf"))
            v = m + others.max(dim=1).values - true
        h = torch.clamp(v, min=0)
        return (h if loss == "hinge" else h ** 2), leaves, None
    if loss == "exponential":
        f = leaf("scores")
        return torch.exp(-const("labels") * f), leaves, None
    if loss == "kl":
        q, pr = leaf("predictions"), const("labels")
        return (F.kl_div(torch.log(q), pr, reduction="none").sum(dim=1), leaves,
                F.kl_div(torch.log(q), pr, reduction="batchmean"))
    if loss in ("dice", "tversky"):
        pr, y = leaf("predictions"), const("labels")
        pf, yf = pr.reshape(pr.shape[0], -1), y.reshape(y.shape[0], -1)
        s = p.get("smooth", 1.0)
        tp = (pf * yf).sum(1)
        if loss == "dice":
            return 1 - (2 * tp + s) / (pf.sum(1) + yf.sum(1) + s), leaves, None
        fp, fn = (pf * (1 - yf)).sum(1), ((1 - pf) * yf).sum(1)
        return 1 - (tp + s) / (tp + p.get("alpha", 0.5) * fp + p.get("beta", 0.5) * fn + s), leaves, None
    if loss == "triplet":
        a, po, ne = leaf("anchor"), leaf("positive"), leaf("negative")
        kw = dict(margin=p.get("margin", 1.0), eps=p.get("eps", 1e-6))
        return (F.triplet_margin_loss(a, po, ne, reduction="none", **kw), leaves,
                F.triplet_margin_loss(a, po, ne, **kw))
    if loss == "contrastive":
        x1, x2, y = leaf("x1"), leaf("x2"), const("labels")
        d = (x1 - x2).norm(dim=1)
        m = p.get("margin", 1.0)
        return 0.5 * (y * d ** 2 + (1 - y) * torch.clamp(m - d, min=0) ** 2), leaves, None
    if loss in ("margin_ranking", "cosine_embedding"):
        x1, x2, y = leaf("x1"), leaf("x2"), const("labels")
        fn = F.margin_ranking_loss if loss == "margin_ranking" else F.cosine_embedding_loss
        m = p.get("margin", 0.0)
        return fn(x1, x2, y, margin=m, reduction="none"), leaves, fn(x1, x2, y, margin=m)
    if loss == "infonce":
        q, k = leaf("query"), leaf("key")
        return _in_batch(q, k, 1.0 / p.get("temperature", 0.07)), leaves, None
    if loss == "mnrl":
        a, po = leaf("anchors"), leaf("positives")
        cands = torch.cat([po, leaf("negatives")]) if "negatives" in inputs else po
        return _in_batch(a, cands, p.get("scale", 20.0)), leaves, None
    if loss == "ge2e":
        return _torch_ge2e(leaf("embeddings"), inputs["labels"], p), leaves, None
    if loss == "arcface":
        c, y = leaf("cosine"), torch.tensor(inputs["labels"], dtype=torch.long)
        s, m = p.get("scale", 64.0), p.get("margin", 0.5)
        cy = c.gather(1, y[:, None])[:, 0]
        theta = torch.acos(cy)
        phi = torch.where(theta <= torch.pi - m, torch.cos(theta + m), cy - m * math.sin(m))
        logits = s * c.scatter(1, y[:, None], phi[:, None])
        return F.cross_entropy(logits, y, reduction="none"), leaves, None
    raise KeyError(loss)


def _torchvision_focal(x, t, alpha, gamma):
    """torchvision.ops.sigmoid_focal_loss, reduction='none' (torchvision has no CPU wheel here)."""
    import torch.nn.functional as F

    prob = x.sigmoid()
    ce = F.binary_cross_entropy_with_logits(x, t, reduction="none")
    p_t = prob * t + (1 - prob) * (1 - t)
    loss = ce * ((1 - p_t) ** gamma)
    if alpha >= 0:
        loss = (alpha * t + (1 - alpha) * (1 - t)) * loss
    return loss


def _torch_ge2e(emb, labels, p):
    """GE2E written the slow way, one utterance and one speaker at a time (autograd does the rest)."""
    import torch
    import torch.nn.functional as F

    w, b, method = p.get("w", 10.0), p.get("b", -5.0), p.get("method", "softmax")
    speakers = sorted(set(labels.tolist()))
    out = []
    for i in range(emb.shape[0]):
        sims = []
        for spk in speakers:
            members = [j for j in range(emb.shape[0]) if labels[j] == spk and (spk != labels[i] or j != i)]
            centroid = emb[members].mean(dim=0)
            sims.append(w * F.cosine_similarity(emb[i], centroid, dim=0, eps=1e-12) + b)
        s = torch.stack(sims)
        own = speakers.index(labels[i])
        if method == "softmax":
            out.append(-s[own] + torch.logsumexp(s, dim=0))
        else:
            sig = torch.sigmoid(s)
            others = torch.cat([sig[:own], sig[own + 1:]])
            out.append(1 - sig[own] + others.max())
    return torch.stack(out)


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def cases() -> list[dict]:
    """Seeded inputs: ordinary, multi-dimensional, and extreme scales."""
    rng = np.random.default_rng(12345)
    out = []

    def add(loss, inputs, **params):
        out.append({"id": f"{loss}-{len(out)}", "loss": loss, "params": params, "inputs": inputs})

    for shape in [(7,), (5, 3), (4, 2, 3)]:
        p, t = rng.normal(size=shape), rng.normal(size=shape)
        add("mse", {"predictions": p, "labels": t})
        add("l2", {"predictions": p, "labels": t})
        add("l2", {"predictions": p, "labels": t}, half=True)
        add("mae", {"predictions": p, "labels": t})
        for delta in (1.0, 0.3, 2.5):
            add("huber", {"predictions": 2 * p, "labels": t}, delta=delta)
        for beta in (1.0, 0.3, 0.0):
            add("smooth_l1", {"predictions": 2 * p, "labels": t}, beta=beta)
    big_p, big_t = rng.normal(0, 1e6, (6,)), rng.normal(0, 1e6, (6,))
    tiny_p, tiny_t = rng.normal(0, 1e-8, (6,)), rng.normal(0, 1e-8, (6,))
    for loss in ("mse", "mae", "huber", "smooth_l1", "l2"):
        add(loss, {"predictions": big_p, "labels": big_t})
        add(loss, {"predictions": tiny_p, "labels": tiny_t})
    for shape in [(9,), (4, 3)]:
        add("bce", {"predictions": rng.uniform(0.01, 0.99, shape), "labels": rng.integers(0, 2, shape) * 1.0})
        add("bce", {"predictions": rng.uniform(1e-6, 1 - 1e-6, shape), "labels": rng.uniform(0, 1, shape)})
    for c in (2, 5):
        probs = _softmax(rng.normal(0, 2, (8, c)))
        add("ce", {"predictions": probs, "labels": rng.integers(0, c, 8)})
        add("ce", {"predictions": probs, "labels": _softmax(rng.normal(size=(8, c)))})
        for scale in (1.0, 30.0, 1e4):
            z = rng.normal(0, scale, (8, c))
            add("softmax_ce", {"logits": z, "labels": rng.integers(0, c, 8)})
            add("softmax_ce", {"logits": z, "labels": _softmax(rng.normal(size=(8, c)))})
    # -- the rest of the catalogue
    for shape in [(7,), (4, 3)]:
        p, t = rng.normal(size=shape), rng.normal(size=shape)
        add("log_cosh", {"predictions": 3 * p, "labels": t})
        for tau in (0.5, 0.1, 0.9):
            add("quantile", {"predictions": p, "labels": t}, tau=tau)
        add("poisson_nll", {"predictions": p, "labels": rng.poisson(2.0, shape) * 1.0})
        add("poisson_nll", {"predictions": rng.uniform(0.1, 4, shape), "labels": rng.poisson(2.0, shape) * 1.0},
            log_input=False)
        add("gaussian_nll", {"mean": p, "target": t, "var": rng.uniform(0.05, 3, shape)})
        x = rng.normal(0, 3, shape)
        y = rng.integers(0, 2, shape) * 1.0
        for pw in (1.0, 3.0):
            add("bce_logits", {"logits": x, "labels": y}, pos_weight=pw)
        for alpha, gamma in ((0.25, 2.0), (-1.0, 2.0), (0.6, 0.5), (0.25, 0.0)):
            add("focal", {"logits": x, "labels": y}, alpha=alpha, gamma=gamma)
        add("focal", {"logits": x, "labels": rng.uniform(0, 1, shape)})
    for c in (3, 5):
        z = rng.normal(0, 2, (8, c))
        y = rng.integers(0, c, 8)
        soft = _softmax(rng.normal(size=(8, c)))
        probs = _softmax(rng.normal(0, 2, (8, c)))
        w = list(np.round(rng.uniform(0.2, 3.0, c), 3))
        for kw in (dict(label_smoothing=0.1), dict(class_weights=w), dict(class_weights=w, label_smoothing=0.2)):
            add("softmax_ce", {"logits": z, "labels": y}, **kw)
            add("softmax_ce", {"logits": z, "labels": soft}, **kw)
            add("ce", {"predictions": probs, "labels": y}, **kw)
        for gamma in (2.0, 0.5, 0.0):
            add("softmax_focal", {"logits": z, "labels": y}, gamma=gamma, alpha=0.7)
        add("poly1", {"logits": z, "labels": y})
        add("poly1", {"logits": z, "labels": soft}, epsilon=-0.5)
        for loss in ("hinge", "squared_hinge"):
            add(loss, {"scores": z, "labels": y})
            add(loss, {"scores": z, "labels": y}, margin=0.3)
        add("kl", {"predictions": probs, "labels": soft})
        cos = np.tanh(rng.normal(0, 1, (8, c)))
        for s_, m_ in ((64.0, 0.5), (30.0, 0.2), (10.0, 1.2)):
            add("arcface", {"cosine": cos, "labels": y}, scale=s_, margin=m_)
    f = rng.normal(0, 1.5, 9)
    sign = rng.choice([-1.0, 1.0], 9)
    for loss in ("hinge", "squared_hinge", "exponential"):
        add(loss, {"scores": f, "labels": sign})
    for shape in [(5, 6), (4, 3, 3)]:
        pr, mask = rng.uniform(0, 1, shape), rng.integers(0, 2, shape) * 1.0
        add("dice", {"predictions": pr, "labels": mask})
        add("dice", {"predictions": pr, "labels": mask}, smooth=0.0)
        add("tversky", {"predictions": pr, "labels": mask}, alpha=0.3, beta=0.7)
    for d in (3, 8):
        a, po, ne = rng.normal(size=(7, d)), rng.normal(size=(7, d)), rng.normal(size=(7, d))
        add("triplet", {"anchor": a, "positive": a + 0.5 * po, "negative": ne})
        add("triplet", {"anchor": a, "positive": po, "negative": ne}, margin=0.2)
        lab = rng.integers(0, 2, 7) * 1.0
        add("contrastive", {"x1": a, "x2": po, "labels": lab}, margin=4.0)
        add("cosine_embedding", {"x1": a, "x2": po, "labels": rng.choice([-1.0, 1.0], 7)}, margin=-0.2)
        add("infonce", {"query": a, "key": a + 0.3 * po})
        add("infonce", {"query": a, "key": po}, temperature=0.5)
        add("mnrl", {"anchors": a, "positives": a + 0.3 * po})
        add("mnrl", {"anchors": a, "positives": po, "negatives": rng.normal(size=(14, d))}, scale=5.0)
    x1, x2 = rng.normal(size=9), rng.normal(size=9)
    add("margin_ranking", {"x1": x1, "x2": x2, "labels": sign})
    add("margin_ranking", {"x1": x1, "x2": x2, "labels": sign}, margin=0.5)
    speakers = np.repeat(np.arange(4), 3).astype(float)
    rng.shuffle(speakers)
    emb = rng.normal(size=(4, 5))[speakers.astype(int)] + 0.6 * rng.normal(size=(12, 5))
    for method in ("softmax", "contrast"):
        add("ge2e", {"embeddings": emb, "labels": speakers}, method=method)
        add("ge2e", {"embeddings": emb, "labels": speakers}, method=method, w=3.0, b=-1.0)
    return out


def compute(all_cases: list[dict]) -> tuple[dict, list[dict]]:
    import torch

    torch.set_num_threads(1)  # one thread: reductions in a fixed order, so the output is reproducible
    arrays, index = {}, []
    for case in all_cases:
        per_sample, leaves, mean = torch_per_sample(case["loss"], case["inputs"], case["params"])
        per_sample.sum().backward()
        cid = case["id"]
        for role, value in case["inputs"].items():
            arrays[f"{cid}/input/{role}"] = np.asarray(value)
        arrays[f"{cid}/per_sample"] = per_sample.detach().numpy()
        if mean is not None:  # torch's own mean reduction, to check losscli's reduction semantics
            arrays[f"{cid}/mean"] = np.asarray(mean.item())
        for role, leaf in leaves.items():
            arrays[f"{cid}/grad/{role}"] = leaf.grad.numpy()
        index.append({"id": cid, "loss": case["loss"], "params": case["params"],
                      "inputs": list(case["inputs"]), "grads": list(leaves), "mean": mean is not None})
    return arrays, index


def main() -> None:
    import torch

    arrays, index = compute(cases())
    DATA.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(DATA / "torch_reference.npz", **arrays)
    meta = {"generator": "tests/reference/generate_torch_reference.py", "torch": torch.__version__,
            "cases": index}
    (DATA / "torch_reference.json").write_text(json.dumps(meta, indent=1) + "\n")
    print(f"wrote {len(index)} cases ({len(arrays)} arrays) with torch {torch.__version__}")


if __name__ == "__main__":
    main()
