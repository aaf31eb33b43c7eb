"""Reference vectors for the angular-margin and contrastive losses (losscli/losses/angular.py and
contrastive.py): cosface, sphereface, subcenter_arcface, circle, supcon, cosent.

    KERAS_BACKEND=jax /tmp/refvenv/bin/python tests/reference/generate_angular_reference.py

(torch 2.13.0 CPU, pytorch-metric-learning 2.9.0) writes tests/data/angular_reference.{npz,json} in
the common format of ``reference_files.py``.

Sources:
- pytorch-metric-learning (pml) CosFaceLoss, SphereFaceLoss, SubCenterArcFaceLoss: pml learns the
  class centres W inside the loss; losscli takes the cosines (and, for SphereFace, the embedding
  norms). Each case builds emb and W, computes pml's own cosines ``loss.distance(emb, W.t())`` (and
  ``torch.norm(emb)``), and runs pml's compute_loss with those tensors substituted as leaves
  (``distance`` returns the cosine leaf; SphereFace's ``scale_logits`` multiplies by the norm
  leaf, as its one line does), so autograd gives the gradient w.r.t. losscli's inputs. Each such
  case is also run through unmodified pml and checked (same mean; the chain rule from the leaf
  gradients gives pml's own gradients w.r.t. emb and W).
- pml CircleLoss, SupConLoss: per-sample = compute_loss's per-anchor losses; mean = pml's reducer
  (AvgNonZeroReducer). CircleLoss detaches its weights α, so its autograd is not the derivative of
  its value: circle gradients come from the torch loop below (the value is checked against pml's).
- torch loops from the papers (one sample, one pair at a time; autograd for the gradient), for every
  loss; for cosent also a torch copy of sentence-transformers CoSENTLoss.forward (not installed
  here), whose value is the mean.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from reference_files import write

torch.set_num_threads(1)
DT = torch.float64
GENERATOR = "tests/reference/generate_angular_reference.py"


def T(x, grad=False):
    return torch.tensor(np.asarray(x, dtype=np.float64), dtype=DT, requires_grad=grad)


def _np(t):
    return t.detach().numpy().copy()


def rel_err(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


class _Fixed(torch.nn.Module):
    """Stands in for pml's distance: returns the given cosine leaf."""

    def __init__(self, value):
        super().__init__()
        self.value = value

    def forward(self, *args, **kwargs):
        return self.value


# -- pml large-margin softmax losses -----------------------------------------------------------------
def _pml_margin(kind, emb, w, labels, pml_kwargs):
    from pytorch_metric_learning import losses

    d, c_total = w.shape
    cls = {"cosface": losses.CosFaceLoss, "sphereface": losses.SphereFaceLoss,
           "subcenter_arcface": losses.SubCenterArcFaceLoss}[kind]
    classes = c_total // pml_kwargs.get("sub_centers", 3) if kind == "subcenter_arcface" else c_total
    inst = cls(num_classes=classes, embedding_size=d, **pml_kwargs)
    inst.W.data = T(w)
    return inst


def pml_margin_case(kind, cid, emb, w, labels, pml_kwargs=None, params=None, cos=None, norms=None,
                    grads=True, check_unpatched=True, note=""):
    """A pml CosFace / SphereFace / SubCenterArcFace case with losscli's inputs as leaves.
    ``cos`` / ``norms`` override pml's own (exact ±1 cosines, zero norms)."""
    pml_kwargs = pml_kwargs or {}
    params = params or {}
    y = torch.tensor(labels, dtype=torch.long)
    e = T(emb)
    inst = _pml_margin(kind, emb, w, labels, pml_kwargs)
    with torch.no_grad():
        own_cos = inst.distance(e, inst.W.t())
    cos_leaf = T(_np(own_cos) if cos is None else cos, grad=True)
    inst.distance = _Fixed(cos_leaf)
    norm_leaf = None
    if kind == "sphereface":
        norm_leaf = T(_np(torch.norm(e, p=2, dim=1)) if norms is None else norms, grad=True)
        inst.scale_logits = lambda logits, embeddings: logits * norm_leaf.unsqueeze(1) * inst.scale
    per = inst.compute_loss(e, y, None, e, y)["loss"]["losses"]
    mean = inst(e, y).item()
    out = {"per_sample": _np(per), "mean": mean}
    if grads:
        per.sum().backward()
        g = {"cosine": _np(cos_leaf.grad)}
        if norm_leaf is not None:
            g["norms"] = _np(norm_leaf.grad)
        if not (np.all(np.isfinite(g["cosine"])) and all(np.all(np.isfinite(v)) for v in g.values())):
            raise AssertionError(f"{cid}: pml's gradient is not finite; drop grads for this case")
        out["grads"] = g
    if check_unpatched and cos is None and norms is None:
        _check_unpatched(kind, cid, emb, w, labels, pml_kwargs, out)
    inputs = {"cosine": _np(cos_leaf)}
    if kind == "subcenter_arcface":
        k = pml_kwargs.get("sub_centers", 3)
        inputs["cosine"] = inputs["cosine"].reshape(len(labels), -1, k)
        if grads:
            out["grads"]["cosine"] = out["grads"]["cosine"].reshape(len(labels), -1, k)
    if kind == "sphereface":
        inputs["norms"] = _np(norm_leaf)
    inputs["labels"] = np.asarray(labels, dtype=np.int64)
    name = {"cosface": "CosFaceLoss", "sphereface": "SphereFaceLoss",
            "subcenter_arcface": "SubCenterArcFaceLoss"}[kind]
    kw = ", ".join(f"{k}={v}" for k, v in pml_kwargs.items())
    case = {"id": cid, "loss": kind, "params": params, "inputs": inputs,
            "source": f"pytorch_metric_learning.losses.{name}({kw}) given its cosines" + (f"; {note}" if note else "")}
    return case, out


def _check_unpatched(kind, cid, emb, w, labels, pml_kwargs, out):
    """Unmodified pml: the same mean, and its gradients w.r.t. emb and W are the chain rule of
    the leaf gradients (so 'given its cosines' loses nothing)."""
    y = torch.tensor(labels, dtype=torch.long)
    inst = _pml_margin(kind, emb, w, labels, pml_kwargs)
    e = T(emb, grad=True)
    assert abs(inst(e, y).item() - out["mean"]) <= 1e-14 * max(1.0, abs(out["mean"])), cid
    if "grads" not in out:
        return
    inst.zero_grad()
    per = inst.compute_loss(e, y, None, e, y)["loss"]["losses"]
    per.sum().backward()
    e2, w2 = T(emb, grad=True), T(w, grad=True)
    cos = inst.distance(e2, w2.t())
    outs, gouts = [cos], [T(out["grads"]["cosine"])]
    if kind == "sphereface":
        outs.append(torch.norm(e2, p=2, dim=1))
        gouts.append(T(out["grads"]["norms"]))
    ge, gw = torch.autograd.grad(outs, (e2, w2), gouts)
    assert rel_err(_np(ge), _np(e.grad)) < 1e-11, (cid, rel_err(_np(ge), _np(e.grad)))
    assert rel_err(_np(gw), _np(inst.W.grad)) < 1e-11, (cid, rel_err(_np(gw), _np(inst.W.grad)))


# -- torch loops from the papers --------------------------------------------------------------------
def _ce(logits, y):
    return torch.logsumexp(logits, dim=0) - logits[y]


def loop_cosface(cos, labels, s, m):
    leaf = T(cos, grad=True)
    out = []
    for i, y in enumerate(labels):
        row = [s * (leaf[i, j] - m) if j == y else s * leaf[i, j] for j in range(cos.shape[1])]
        out.append(_ce(torch.stack(row), y))
    return torch.stack(out), {"cosine": leaf}


def loop_sphereface(cos, norms, labels, s, m):
    leaf, nleaf = T(cos, grad=True), T(norms, grad=True)
    out = []
    for i, y in enumerate(labels):
        row = []
        for j in range(cos.shape[1]):
            c = leaf[i, j]
            if j == y:
                theta = torch.acos(c)
                k = min(math.floor(theta.item() * m / math.pi), m - 1)
                c = (-1) ** k * torch.cos(m * theta) - 2 * k
            row.append(s * nleaf[i] * c)
        out.append(_ce(torch.stack(row), y))
    return torch.stack(out), {"cosine": leaf, "norms": nleaf}


def loop_subcenter(cos3, labels, s, m):
    leaf = T(cos3, grad=True)
    out = []
    for i, y in enumerate(labels):
        row = []
        for j in range(cos3.shape[1]):
            c = max((leaf[i, j, k] for k in range(cos3.shape[2])), key=lambda t: t.item())
            if j == y:
                theta = torch.acos(c)
                c = torch.cos(theta + m) if theta.item() <= math.pi - m else c - m * math.sin(m)
            row.append(s * c)
        out.append(_ce(torch.stack(row), y))
    return torch.stack(out), {"cosine": leaf}


def _cos(a, b):
    return torch.dot(a, b) / (torch.clamp(torch.linalg.vector_norm(a), min=1e-12)
                              * torch.clamp(torch.linalg.vector_norm(b), min=1e-12))


def _softplus(z):
    return torch.logaddexp(torch.zeros((), dtype=DT), z)


def loop_circle(emb, labels, m, gamma):
    leaf = T(emb, grad=True)
    out = []
    n = len(labels)
    for i in range(n):
        pos = [j for j in range(n) if j != i and labels[j] == labels[i]]
        neg = [j for j in range(n) if labels[j] != labels[i]]
        if not pos or not neg:
            out.append(torch.zeros((), dtype=DT) * leaf.sum())
            continue
        sp = [_cos(leaf[i], leaf[j]) for j in pos]
        sn = [_cos(leaf[i], leaf[j]) for j in neg]
        lp = torch.logsumexp(torch.stack([-gamma * torch.relu(1 + m - s) * (s - (1 - m)) for s in sp]), dim=0)
        ln = torch.logsumexp(torch.stack([gamma * torch.relu(s + m) * (s - m) for s in sn]), dim=0)
        out.append(_softplus(lp + ln))
    return torch.stack(out), {"embeddings": leaf}


def loop_supcon(emb, labels, tau):
    leaf = T(emb, grad=True)
    out = []
    n = len(labels)
    for i in range(n):
        pos = [j for j in range(n) if j != i and labels[j] == labels[i]]
        if not pos:
            out.append(torch.zeros((), dtype=DT) * leaf.sum())
            continue
        denom = torch.logsumexp(torch.stack([_cos(leaf[i], leaf[a]) / tau for a in range(n) if a != i]), dim=0)
        out.append(-sum(_cos(leaf[i], leaf[p]) / tau - denom for p in pos) / len(pos))
    return torch.stack(out), {"embeddings": leaf}


def loop_cosent(x1, x2, labels, scale):
    """Per-sample attribution N·L·a_i from the pair list, one pair at a time."""
    l1, l2 = T(x1, grad=True), T(x2, grad=True)
    n = len(labels)
    s = [scale * _cos(l1[i], l2[i]) for i in range(n)]
    pairs = [(i, j) for i in range(n) for j in range(n) if labels[i] < labels[j]]
    if not pairs:
        return torch.zeros(n, dtype=DT) * (l1.sum() + l2.sum()), {"x1": l1, "x2": l2}
    d = torch.stack([s[i] - s[j] for i, j in pairs])
    lse = torch.logsumexp(d, dim=0)
    big_l = _softplus(lse)
    share = [torch.zeros((), dtype=DT) for _ in range(n)]
    for (i, j), dp in zip(pairs, d):
        w = torch.exp(dp - lse)
        share[i] = share[i] + 0.5 * w
        share[j] = share[j] + 0.5 * w
    return torch.stack([n * big_l * a for a in share]), {"x1": l1, "x2": l2}


def st_cosent(x1, x2, labels, scale):
    """sentence-transformers CoSENTLoss.forward with pairwise_cos_sim, copied (not installed here)."""
    a, b = T(x1), T(x2)
    scores = (F.normalize(a, p=2, dim=1) * F.normalize(b, p=2, dim=1)).sum(dim=-1)
    scores = scores * scale
    scores = scores[:, None] - scores[None, :]
    lab = T(labels)
    lab = (lab[:, None] < lab[None, :]).to(DT)
    scores = scores - (1 - lab) * 1e12
    scores = torch.cat((torch.zeros(1, dtype=DT), scores.view(-1)), dim=0)
    return torch.logsumexp(scores, dim=0).item()


def loop_case(cid, loss, inputs, params, fn, *args, mean=None, source):
    per, leaves = fn(*args)
    per.sum().backward()
    grads = {r: _np(l.grad) for r, l in leaves.items()}
    return ({"id": cid, "loss": loss, "params": params, "inputs": inputs, "source": source},
            {"per_sample": _np(per), "grads": grads, "mean": mean})


# -- pml pair losses -----------------------------------------------------------------------------------
def pml_pair(kind, emb, labels, pml_kwargs):
    from pytorch_metric_learning import losses

    inst = {"circle": losses.CircleLoss, "supcon": losses.SupConLoss}[kind](**pml_kwargs)
    e = T(emb, grad=True)
    y = torch.tensor(labels, dtype=torch.long)
    out = inst.compute_loss(e, y, None, e, y)["loss"]["losses"]
    per = out if torch.is_tensor(out) else torch.zeros(len(labels), dtype=DT)
    mean = inst(e, y)
    mean = mean.item() if torch.is_tensor(mean) else float(mean)
    grad = None
    if per.requires_grad:
        per.sum().backward()
        grad = _np(e.grad)
    return _np(per).reshape(-1), mean, grad


# -- the cases ----------------------------------------------------------------------------------------
def angular_cases(rng):
    out = []
    n, c, d = 8, 5, 4

    def data(n=n, c=c, d=d, k=1):
        emb = rng.standard_normal((n, d)) * rng.uniform(0.5, 3.0, (n, 1))
        w = rng.standard_normal((d, c * k))
        return emb, w, rng.integers(0, c, n)

    # CosFace
    emb, w, y = data()
    out.append(pml_margin_case("cosface", "cosface-pml-defaults", emb, w, y))
    emb, w, y = data()
    out.append(pml_margin_case("cosface", "cosface-pml-m0.1-s16", emb, w, y, dict(margin=0.1, scale=16),
                               dict(margin=0.1, scale=16.0)))
    emb, w, y = data()
    out.append(pml_margin_case("cosface", "cosface-pml-m0-s30", emb, w, y, dict(margin=0.0, scale=30),
                               dict(margin=0.0, scale=30.0)))
    emb, w, y = data()
    emb[2] = 0.0  # zero-norm embedding: a row of cosines 0
    out.append(pml_margin_case("cosface", "cosface-pml-zero-embedding", emb, w, y, note="row 2 is a zero embedding"))
    emb, w, y = data()
    out.append(pml_margin_case("cosface", "cosface-pml-huge-scale", emb, w, y, dict(scale=1e4), dict(scale=1e4)))
    emb, w, y = data(n=6)
    cos = np.tanh(rng.standard_normal((6, c)))
    cos[0, y[0]] = 1.0
    cos[1, y[1]] = -1.0
    cos[2, :] = -1.0
    cos[2, y[2]] = 1.0
    cos[3, :] = 1.0
    cos[4, (y[4] + 1) % c] = 1.0
    out.append(pml_margin_case("cosface", "cosface-pml-cos-pm1", emb, w[:, :c], y, cos=cos,
                               note="exact cos = ±1 entries"))
    cos = np.tanh(rng.standard_normal((7, 6)))
    y = rng.integers(0, 6, 7)
    out.append(loop_case("cosface-loop-am-softmax", "cosface", {"cosine": cos, "labels": y}, {"scale": 30.0},
                         loop_cosface, cos, y, 30.0, 0.35, source="torch loop from Wang et al. 2018 (AM-Softmax s=30)"))

    # SphereFace
    emb, w, y = data()
    out.append(pml_margin_case("sphereface", "sphereface-pml-defaults", emb, w, y))
    for m in (1, 2, 3):
        emb, w, y = data()
        out.append(pml_margin_case("sphereface", f"sphereface-pml-m{m}-s1.5", emb, w, y, dict(margin=m, scale=1.5),
                                   dict(margin=m, scale=1.5)))
    emb, w, y = data()
    emb[1] = 0.0
    out.append(pml_margin_case("sphereface", "sphereface-pml-zero-norm", emb, w, y, note="row 1 is a zero embedding"))
    emb, w, y = data()
    out.append(pml_margin_case("sphereface", "sphereface-pml-huge-scale", emb * 30, w, y, dict(scale=100),
                               dict(scale=100.0)))
    emb, w, y = data(n=7)
    cos = np.tanh(rng.standard_normal((7, c)))
    bounds = [math.cos(k * math.pi / 4) for k in range(4)]  # θ = kπ/4: the k boundaries (1 at k = 0)
    for i, b in enumerate(bounds):
        cos[i, y[i]] = b
    cos[4, :] = -1.0  # non-target cosines at -1
    cos[4, y[4]] = 0.3
    cos[5, y[5]] = 1.0
    norms = rng.uniform(0.5, 3.0, 7)
    norms[6] = 0.0
    out.append(pml_margin_case("sphereface", "sphereface-pml-boundaries", emb, w, y, cos=cos, norms=norms,
                               note="target θ = kπ/4, cos = ±1 off the target, a zero norm"))
    cos = np.tanh(rng.standard_normal((5, c)))
    y5 = rng.integers(0, c, 5)
    cos[0, y5[0]] = -1.0  # θ = π at the target: pml's k = m flips the derivative's sign, so no gradient
    out.append(pml_margin_case("sphereface", "sphereface-pml-target-cos-minus1", emb[:5], w, y5, cos=cos,
                               norms=rng.uniform(0.5, 3.0, 5), grads=False,
                               note="target cos = -1: value only (pml's k = m there)"))
    cos = np.tanh(rng.standard_normal((6, 4)))
    norms = rng.uniform(0.2, 4.0, 6)
    y = rng.integers(0, 4, 6)
    out.append(loop_case("sphereface-loop-m3-s2", "sphereface", {"cosine": cos, "norms": norms, "labels": y},
                         {"margin": 3, "scale": 2.0}, loop_sphereface, cos, norms, y, 2.0, 3,
                         source="torch loop from Liu et al. 2017 (ψ with k in 0..m-1)"))

    # sub-center ArcFace
    emb, w, y = data(k=3)
    out.append(pml_margin_case("subcenter_arcface", "subcenter-pml-defaults", emb, w, y))
    emb, w, y = data(k=2)
    out.append(pml_margin_case("subcenter_arcface", "subcenter-pml-k2-s30", emb, w, y, dict(sub_centers=2, scale=30),
                               dict(scale=30.0)))
    emb, w, y = data(k=1)
    deg = math.degrees(0.5)
    out.append(pml_margin_case("subcenter_arcface", "subcenter-pml-k1-is-arcface", emb, w, y,
                               dict(sub_centers=1, margin=deg), dict(margin=float(np.radians(deg)))))
    emb, w, y = data(k=3)
    emb[3] = 0.0
    out.append(pml_margin_case("subcenter_arcface", "subcenter-pml-zero-embedding", emb, w, y,
                               note="row 3 is a zero embedding"))
    emb, w, y = data(k=3)
    out.append(pml_margin_case("subcenter_arcface", "subcenter-pml-huge-scale", emb, w, y, dict(scale=1e4),
                               dict(scale=1e4)))
    emb, w, y = data(n=6, k=3)
    cos = np.tanh(rng.standard_normal((6, c * 3)))
    cos3 = cos.reshape(6, c, 3)
    cos3[0, y[0], :] = 0.4  # a three-way tie at the target: the gradient goes to sub-centre 0
    cos3[1, (y[1] + 1) % c, 1:] = 0.7  # a tie off the target
    cos3[2, y[2], :] = [-0.95, -0.97, -0.99]  # θ > π - m: ArcFace's fallback branch
    cos3[3, y[3], :] = [-0.2, 0.93, 0.1]
    cos3[4, :, :] = -1.0  # every other cosine at -1
    cos3[4, y[4], 0] = 0.2
    out.append(pml_margin_case("subcenter_arcface", "subcenter-pml-ties-branches", emb, w, y, cos=cos,
                               note="ties, the fallback branch, cosines at -1"))
    cos = np.tanh(rng.standard_normal((5, c * 3)))
    cos3 = cos.reshape(5, c, 3)
    y5 = rng.integers(0, c, 5)
    cos3[0, y5[0], 1] = 1.0
    cos3[1, y5[1], :] = -1.0
    # near cos = 1 torch's acos backward, 1/sqrt(1 - c·c), loses 5e-12 relative to the cancellation
    # in 1 - c·c; losscli's sqrt((1 - c)(1 + c)) is exact there (tests/test_angular_losses.py)
    cos3[2, y5[2], :] = [-0.2, 0.999999, 0.1]
    out.append(pml_margin_case("subcenter_arcface", "subcenter-pml-target-pm1", emb[:5], w, y5, cos=cos, grads=False,
                               note="target cos = ±1 and 0.999999: value only (pml's autograd gives inf/NaN at ±1, loses digits near 1)"))
    cos3 = np.tanh(rng.standard_normal((6, 4, 2)))
    y = rng.integers(0, 4, 6)
    cos3[0, y[0], :] = [-0.96, -0.99]
    out.append(loop_case("subcenter-loop-k2-m0.5", "subcenter_arcface", {"cosine": cos3, "labels": y},
                         {"margin": 0.5, "scale": 16.0}, loop_subcenter, cos3, y, 16.0, 0.5,
                         source="torch loop from Deng et al. 2020 (max over sub-centres, then ArcFace)"))
    return out


def _clustered(rng, labels, d=4, spread=0.6):
    k = int(max(labels)) + 1
    centres = rng.standard_normal((k, d))
    return centres[np.asarray(labels)] + spread * rng.standard_normal((len(labels), d))


def _pair_case(kind, cid, emb, labels, pml_kwargs, params, rng_note="", mean=True, pml_grad=True, check=None):
    per, pml_mean, grad = pml_pair(kind, emb, labels, pml_kwargs)
    loop = {"circle": lambda: loop_circle(emb, labels, pml_kwargs.get("m", 0.4), pml_kwargs.get("gamma", 80)),
            "supcon": lambda: loop_supcon(emb, labels, pml_kwargs.get("temperature", 0.1))}[kind]
    lper, leaves = loop()
    lper.sum().backward()
    lgrad = _np(leaves["embeddings"].grad)
    err = rel_err(_np(lper), per)
    assert err < 1e-12, (cid, "loop vs pml value", err)
    inputs = {"embeddings": emb, "labels": np.asarray(labels, dtype=np.int64)}
    name = {"circle": "CircleLoss", "supcon": "SupConLoss"}[kind]
    kw = ", ".join(f"{k}={v}" for k, v in pml_kwargs.items())
    if kind == "supcon" and grad is not None:
        assert rel_err(grad, lgrad) < 1e-11, (cid, "supcon loop vs pml gradient", rel_err(grad, lgrad))
    if kind == "circle":
        source = (f"pytorch_metric_learning.losses.CircleLoss({kw}): values and mean; gradient: torch loop "
                  "from Sun et al. 2020 (pml detaches α)")
        if grad is not None:
            DETACH_NOTES.append((cid, rel_err(grad, lgrad)))
        g = lgrad
    else:
        source = f"pytorch_metric_learning.losses.{name}({kw})"
        if grad is None:
            source += "; gradient: torch loop (pml returns a constant 0 here)"
        g = grad if grad is not None else lgrad
    source += rng_note
    return ({"id": cid, "loss": kind, "params": params, "inputs": inputs, "source": source},
            {"per_sample": per, "grads": {"embeddings": g}, "mean": pml_mean if mean else None})


DETACH_NOTES: list = []


def pair_cases(rng):
    out = []
    lab10 = [0, 1, 2, 0, 1, 2, 0, 1, 2, 0]
    for kind, defaults, other in (("circle", {}, dict(m=0.25, gamma=256.0)),
                                  ("supcon", {}, dict(temperature=0.5))):
        out.append(_pair_case(kind, f"{kind}-pml-defaults", _clustered(rng, lab10), lab10, defaults, {}))
        out.append(_pair_case(kind, f"{kind}-pml-{'-'.join(f'{k}{v:g}' for k, v in other.items())}",
                              _clustered(rng, lab10), lab10, other, other))
        lab = [0, 0, 1, 1, 1, 2, 3, 0]  # samples 5 and 6 have no positive: loss 0, left out of the mean
        out.append(_pair_case(kind, f"{kind}-pml-singletons", _clustered(rng, lab), lab, {}, {},
                              "; anchors 5 and 6 have no positive"))
        lab = [0, 1, 0, 1, 2, 2, 0]
        e = _clustered(rng, lab)
        e[1] = e[3]  # identical pair: s = 1
        e[4] = -2.5 * e[0]  # opposite directions: s = -1
        e[6] = 0.0  # zero-norm embedding
        out.append(_pair_case(kind, f"{kind}-pml-pm1-zero", e, lab, {}, {},
                              "; s = ±1 pairs and a zero embedding (row 6)"))
        lab = [0, 1, 2, 3, 4]  # no positive pair at all: every loss 0, pml's mean 0
        out.append(_pair_case(kind, f"{kind}-pml-no-positives", _clustered(rng, lab), lab, {}, {}))
    lab = [0, 1, 0, 1, 2, 2, 1]
    out.append(_pair_case("circle", "circle-pml-huge-gamma", _clustered(rng, lab), lab, dict(gamma=1e4),
                          dict(gamma=1e4)))
    out.append(_pair_case("supcon", "supcon-pml-t0.07", _clustered(rng, lab), lab, dict(temperature=0.07),
                          dict(temperature=0.07)))
    # a tiny temperature: pml's AvgNonZeroReducer drops anchors whose loss rounds to 0, losscli keeps
    # them in the mean (documented), so the mean is left out; values and gradients still agree
    lab = [0, 1, 0, 1, 2, 2, 1, 0]
    e = _clustered(rng, lab, spread=0.05)
    out.append(_pair_case("supcon", "supcon-pml-tiny-temperature", e, lab, dict(temperature=1e-3),
                          dict(temperature=1e-3), "; mean left out (pml drops zero losses)", mean=False))
    lab = [3, 1, 3, 1, 7, 7, 1, 3, 7]
    e = rng.standard_normal((9, 5))
    out.append(loop_case("circle-loop-m0.1", "circle", {"embeddings": e, "labels": np.asarray(lab)},
                         {"m": 0.1, "gamma": 32.0}, loop_circle, e, lab, 0.1, 32.0,
                         source="torch loop from Sun et al. 2020 (exact softplus, α not detached)"))
    out.append(loop_case("supcon-loop-t0.3", "supcon", {"embeddings": e, "labels": np.asarray(lab)},
                         {"temperature": 0.3}, loop_supcon, e, lab, 0.3,
                         source="torch loop from Khosla et al. 2020 (L_out)"))
    return out


def cosent_cases(rng):
    out = []

    def add(cid, x1, x2, y, scale=None, note=""):
        params = {} if scale is None else {"scale": scale}
        s = 20.0 if scale is None else scale
        case, res = loop_case(cid, "cosent", {"x1": x1, "x2": x2, "labels": np.asarray(y, dtype=np.float64)},
                              params, loop_cosent, x1, x2, y, s,
                              source="sentence-transformers CoSENTLoss.forward (torch copy; the library is not "
                                     "installed) for the mean; per-sample attribution N·L·a_i and gradient: "
                                     "torch loop" + note)
        res["mean"] = st_cosent(x1, x2, y, s)
        assert abs(res["per_sample"].mean() - res["mean"]) <= 1e-13 * max(1.0, res["mean"]), cid
        out.append((case, res))

    n = 8
    add("cosent-defaults", rng.standard_normal((n, 4)), rng.standard_normal((n, 4)), rng.uniform(0, 1, n))
    y = rng.integers(0, 6, 10).astype(float)  # integer scores 0..5 with ties
    add("cosent-ties-scale5", rng.standard_normal((10, 3)), rng.standard_normal((10, 3)), y, 5.0)
    x1, x2 = rng.standard_normal((7, 4)), rng.standard_normal((7, 4))
    x1[2] = 0.0  # zero-norm: cos 0
    x2[3] = 3.0 * x1[3]  # cos = 1
    x2[4] = -x1[4]  # cos = -1
    add("cosent-pm1-zero", x1, x2, rng.uniform(-1, 1, 7), note="; cos = ±1 pairs and a zero embedding")
    add("cosent-huge-scale", rng.standard_normal((6, 4)), rng.standard_normal((6, 4)), rng.uniform(0, 5, 6), 1e4)
    add("cosent-all-equal-labels", rng.standard_normal((5, 3)), rng.standard_normal((5, 3)), [2.0] * 5,
        note="; no ordered pair: L = 0")
    return out


def main() -> None:
    import pytorch_metric_learning

    rng = np.random.default_rng(20240618)
    computed = angular_cases(rng) + pair_cases(rng) + cosent_cases(rng)
    write("angular", computed, generator=GENERATOR,
          library_versions={"torch": torch.__version__, "pytorch-metric-learning": pytorch_metric_learning.__version__,
                            "sentence-transformers": "not installed: CoSENTLoss.forward copied into torch"})
    for cid, err in DETACH_NOTES:
        print(f"{cid}: pml's detached-α gradient vs the exact one: max relative difference {err:.3g}")


if __name__ == "__main__":
    main()
