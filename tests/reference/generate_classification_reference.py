"""Reference vectors for the classification losses, from the libraries that have them.

    KERAS_BACKEND=jax /tmp/refvenv/bin/python tests/reference/generate_classification_reference.py

(torch 2.13.0 CPU, scikit-learn 1.9.1, jax 0.10.2 + optax 0.2.8 in float64, keras 3.15.1 on jax in
float64) writes tests/data/classification_reference.{npz,json} in the common format
(tests/reference/reference_files.py); tests/test_library_references.py checks losscli against it.

Per case: the library's per-sample values, the gradient of their SUM (autograd / jax.grad) and the
library's own mean reduction (None where the library has none: optax; or where it is undefined:
PyTorch's nan when every sample is ignored). scikit-learn has no gradients: its cases take the
gradient from torch autograd of the same clipped formula, and say so in "source". torchvision is
not installed: its sigmoid_focal_loss is written out in torch as torchvision writes it.

Inputs are random (seeded) and extreme: logits of ±1e4, probabilities exactly 0 and 1 where the
library and losscli clip alike, ignored samples (and a batch of them only), index and one-hot
labels. Cases stay off the kinks (hinge at a violation of 0) and off the clip boundaries, where a
library's subgradient choice or clamp differs; tests/test_classification_losses.py checks
losscli's documented behaviour there.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from reference_files import write  # noqa: E402

os.environ.setdefault("KERAS_BACKEND", "jax")
SEED = 20240518


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


# -- PyTorch ----------------------------------------------------------------------------------------
def _leaf(x):
    import torch

    return torch.tensor(np.asarray(x, dtype=np.float64), requires_grad=True)


def _torch(per_sample_of, inputs: dict, grads: tuple[str, ...], mean=None):
    """Per-sample values, the gradient of their sum w.r.t. ``grads``, and ``mean()`` (or None)."""
    leaves = {r: _leaf(inputs[r]) for r in grads}
    values = per_sample_of(leaves)
    values.sum().backward()
    out = {"per_sample": values.detach().numpy(), "grads": {r: leaves[r].grad.numpy() for r in grads}}
    out["mean"] = None if mean is None else float(mean())
    return out


def torch_cases(rng):
    import torch
    import torch.nn.functional as F

    out = []

    def add(cid, loss, params, inputs, result, source):
        out.append(({"id": cid, "loss": loss, "params": params, "inputs": inputs, "source": source}, result))

    t = lambda x: torch.tensor(np.asarray(x))  # noqa: E731

    # bce = BCELoss inside (1e-7, 1 - 1e-7) (its log clamp at -100 is inactive there)
    for k, shape in enumerate([(12,), (6, 4)]):
        p, y = rng.uniform(0.001, 0.999, shape), rng.integers(0, 2, shape).astype(float)
        res = _torch(lambda L: F.binary_cross_entropy(L["predictions"], t(y), reduction="none").reshape(shape[0], -1)
                     .mean(1), {"predictions": p}, ("predictions",),
                     lambda: F.binary_cross_entropy(t(p), t(y)))
        add(f"bce-torch-{k}", "bce", {}, {"predictions": p, "labels": y}, res,
            "torch.nn.functional.binary_cross_entropy")

    # nll = NLLLoss: weights, ignore_index (default -100 and another), all ignored (torch's mean: nan)
    c = 5
    logp = np.log(_softmax(rng.normal(0, 2, (10, c))))
    v = np.array([1e4, -1e4, 0.0, 1.0, 2.0])
    logp[0] = v - v.max() - np.log(np.exp(v - v.max()).sum())  # log-probabilities down to -2e4
    y = rng.integers(0, c, 10)
    y[[2, 7]] = -100
    w = rng.uniform(0.2, 3.0, c)
    for k, (params, labels) in enumerate([({}, y), ({"class_weights": list(w)}, y),
                                         ({"ignore_index": 3}, np.where(y < 0, 3, y)),
                                         ({"class_weights": list(w), "ignore_index": 255}, np.where(y < 0, 255, y))]):
        ii = params.get("ignore_index", -100)
        wt = t(w) if "class_weights" in params else None
        res = _torch(lambda L: F.nll_loss(L["log_probs"], t(labels), weight=wt, ignore_index=ii, reduction="none"),
                     {"log_probs": logp}, ("log_probs",),
                     lambda: F.nll_loss(t(logp), t(labels), weight=wt, ignore_index=ii))
        add(f"nll-torch-{k}", "nll", params, {"log_probs": logp, "labels": labels}, res, "torch.nn.NLLLoss")
    none = np.full(4, -100)
    res = _torch(lambda L: F.nll_loss(L["log_probs"], t(none), reduction="none"), {"log_probs": logp[:4]},
                 ("log_probs",))
    add("nll-torch-all-ignored", "nll", {}, {"log_probs": logp[:4], "labels": none}, res,
        "torch.nn.NLLLoss (every sample ignored: per-sample 0, gradient 0; torch's mean is nan, not stored)")

    # ce on probabilities = NLLLoss(log p) with index labels (weights, ignore_index)
    probs = _softmax(rng.normal(0, 1.5, (10, c)))
    for k, params in enumerate([{}, {"class_weights": list(w)}]):
        wt = t(w) if params else None
        res = _torch(lambda L: F.nll_loss(torch.log(L["predictions"]), t(y), weight=wt, reduction="none"),
                     {"predictions": probs}, ("predictions",), lambda: F.nll_loss(torch.log(t(probs)), t(y), weight=wt))
        add(f"ce-torch-{k}", "ce", params, {"predictions": probs, "labels": y}, res,
            "torch.nn.functional.nll_loss(torch.log(p)) (ignore_index -100)")

    # softmax_ce = CrossEntropyLoss: ignore_index with label_smoothing and weight, logits of ±1e4
    z = rng.normal(0, 2, (10, c))
    z[1] = [1e4, -1e4, 0.0, 3.0, -2.0]
    z[3] = [-1e4, 1e4, 1e4, 0.0, 1.0]
    for k, params in enumerate([{}, {"label_smoothing": 0.2}, {"class_weights": list(w)},
                                {"class_weights": list(w), "label_smoothing": 0.1}]):
        wt = t(w) if "class_weights" in params else None
        ls = params.get("label_smoothing", 0.0)
        res = _torch(lambda L: F.cross_entropy(L["logits"], t(y), weight=wt, label_smoothing=ls, reduction="none"),
                     {"logits": z}, ("logits",), lambda: F.cross_entropy(t(z), t(y), weight=wt, label_smoothing=ls))
        add(f"softmax_ce-torch-ignore-{k}", "softmax_ce", params, {"logits": z, "labels": y}, res,
            "torch.nn.CrossEntropyLoss (ignore_index=-100)")
    res = _torch(lambda L: F.cross_entropy(L["logits"], t(none), label_smoothing=0.1, reduction="none"),
                 {"logits": z[:4]}, ("logits",))
    add("softmax_ce-torch-all-ignored", "softmax_ce", {"label_smoothing": 0.1}, {"logits": z[:4], "labels": none},
        res, "torch.nn.CrossEntropyLoss (every sample ignored; torch's mean is nan, not stored)")

    # kl = KLDivLoss(log q, p), batchmean; log_target; zero target entries
    q = _softmax(rng.normal(0, 1, (8, c)))
    p = _softmax(rng.normal(0, 1, (8, c)))
    p[2] = [0.0, 0.5, 0.5, 0.0, 0.0]
    res = _torch(lambda L: F.kl_div(torch.log(L["predictions"]), t(p), reduction="none").sum(1),
                 {"predictions": q}, ("predictions",), lambda: F.kl_div(torch.log(t(q)), t(p), reduction="batchmean"))
    add("kl-torch-0", "kl", {}, {"predictions": q, "labels": p}, res, "torch.nn.KLDivLoss (reduction='batchmean')")
    logp_t = np.log(_softmax(rng.normal(0, 3, (8, c))))
    res = _torch(lambda L: F.kl_div(torch.log(L["predictions"]), t(logp_t), reduction="none", log_target=True).sum(1),
                 {"predictions": q}, ("predictions",),
                 lambda: F.kl_div(torch.log(t(q)), t(logp_t), reduction="batchmean", log_target=True))
    add("kl-torch-log-target", "kl", {"log_target": True}, {"predictions": q, "labels": logp_t}, res,
        "torch.nn.KLDivLoss (log_target=True, reduction='batchmean')")

    # bce_logits = BCEWithLogitsLoss at ±1e4
    x = np.concatenate([rng.normal(0, 3, 10), [1e4, -1e4, 1e4, -1e4]])
    yb = np.concatenate([rng.integers(0, 2, 10), [1, 1, 0, 0]]).astype(float)
    res = _torch(lambda L: F.binary_cross_entropy_with_logits(L["logits"], t(yb), reduction="none"),
                 {"logits": x}, ("logits",), lambda: F.binary_cross_entropy_with_logits(t(x), t(yb)))
    add("bce_logits-torch-extremes", "bce_logits", {}, {"logits": x, "labels": yb}, res,
        "torch.nn.BCEWithLogitsLoss")

    # focal: torchvision.ops.sigmoid_focal_loss as torchvision writes it (torchvision is not installed)
    def tv_focal(xx, yy, alpha, gamma):
        pr = torch.sigmoid(xx)
        ce_loss = F.binary_cross_entropy_with_logits(xx, yy, reduction="none")
        p_t = pr * yy + (1 - pr) * (1 - yy)
        loss = ce_loss * ((1 - p_t) ** gamma)
        if alpha >= 0:
            loss = (alpha * yy + (1 - alpha) * (1 - yy)) * loss
        return loss

    xf = np.concatenate([rng.normal(0, 2, 10), [1e4, -1e4, 1e4, -1e4]])
    for k, (alpha, gamma) in enumerate([(0.25, 2.0), (-1.0, 1.0), (0.7, 3.0)]):
        params = {} if (alpha, gamma) == (0.25, 2.0) else {"alpha": alpha, "gamma": gamma}
        res = _torch(lambda L: tv_focal(L["logits"], t(yb), alpha, gamma), {"logits": xf}, ("logits",),
                     lambda: tv_focal(t(xf), t(yb), alpha, gamma).mean())
        add(f"focal-torchvision-{k}", "focal", params, {"logits": xf, "labels": yb}, res,
            "torchvision.ops.sigmoid_focal_loss, written out in torch (reduction='mean' for the mean)")

    # log_loss and brier: gradients of scikit-learn's formula by torch autograd (values: see sklearn_cases)
    return out


def torch_grad(fn, x):
    import torch

    leaf = _leaf(x)
    fn(leaf, torch).sum().backward()
    return leaf.grad.numpy()


# -- scikit-learn ------------------------------------------------------------------------------------
def sklearn_cases(rng):
    from sklearn.metrics import brier_score_loss, hinge_loss, log_loss, zero_one_loss

    eps = np.finfo(np.float64).eps
    out = []

    def add(cid, loss, params, inputs, per_sample, mean, source, grads=None):
        out.append(({"id": cid, "loss": loss, "params": params, "inputs": inputs, "source": source},
                    {"per_sample": np.asarray(per_sample, dtype=float), "mean": mean, "grads": grads or {}}))

    def ll_grad_rows(p, onehot):
        return torch_grad(lambda L, torch: -(torch.tensor(onehot) * torch.log(torch.clamp(L, eps, 1 - eps))).sum(1), p)

    # log_loss, binary (N,), with p exactly 0 and 1 (right and wrong)
    p = np.concatenate([rng.uniform(0.01, 0.99, 12), [0.0, 1.0, 0.0, 1.0]])
    y = np.concatenate([rng.integers(0, 2, 12), [0, 1, 1, 0]])
    per = [log_loss([yi], [pi], labels=[0, 1]) for yi, pi in zip(y, p)]
    g = torch_grad(lambda L, torch: -(torch.tensor(y) * torch.log(torch.clamp(L, eps, 1 - eps))
                                      + torch.tensor(1 - y) * torch.log(torch.clamp(1 - L, eps, 1 - eps))), p)
    add("log_loss-binary", "log_loss", {}, {"predictions": p, "labels": y.astype(float)}, per, log_loss(y, p),
        "sklearn.metrics.log_loss (values, mean); gradient: torch autograd of its clipped formula", {"predictions": g})
    # log_loss, multi-class rows with index and one-hot labels; rows with exact 0 and 1 entries
    c = 4
    rows = _softmax(rng.normal(0, 1.5, (12, c)))
    rows[0] = [0.0, 1.0, 0.0, 0.0]
    rows[1] = [0.0, 0.0, 0.5, 0.5]
    yi = rng.integers(0, c, 12)
    yi[0], yi[1] = 1, 0  # p_y = 1 exactly; p_y = 0 exactly
    onehot = np.eye(c)[yi]
    per = [log_loss([a], [b], labels=np.arange(c)) for a, b in zip(yi, rows)]
    g = ll_grad_rows(rows, onehot)
    for kind, labels in (("index", yi), ("onehot", onehot)):
        add(f"log_loss-rows-{kind}", "log_loss", {}, {"predictions": rows, "labels": labels}, per,
            log_loss(yi, rows, labels=np.arange(c)),
            "sklearn.metrics.log_loss (multi-class; values, mean); gradient: torch autograd", {"predictions": g})
    # the rows of the bug report: one-hot labels, where bce's mean of C binary losses gave 0.4298
    pl = np.array([[0.7, 0.2, 0.1], [0.1, 0.6, 0.3], [0.2, 0.2, 0.6]])
    yl = np.eye(3)[[0, 2, 2]]
    add("log_loss-issue-rows", "log_loss", {}, {"predictions": pl, "labels": yl},
        [log_loss([a], [b], labels=[0, 1, 2]) for a, b in zip([0, 2, 2], pl)], log_loss(yl, pl),
        "sklearn.metrics.log_loss (0.6905 on the rows bce gave 0.4298 for); gradient: torch autograd",
        {"predictions": ll_grad_rows(pl, yl)})

    # brier: binary (N,) (scale_by_half auto and false), (N, 2), (N, C) rows
    pb = np.concatenate([rng.uniform(0, 1, 12), [0.0, 1.0, 0.0, 1.0]])
    yb = np.concatenate([rng.integers(0, 2, 12), [0, 1, 1, 0]])
    for half, name in ((None, "auto"), (False, "false"), (True, "true")):
        kw = {} if half is None else {"scale_by_half": half}
        params = {} if half is None else {"scale_by_half": name}
        s = 0.5 if half in (None, True) else 1.0
        per = [brier_score_loss([a], [b], labels=[0, 1], **kw) for a, b in zip(yb, pb)]
        g = torch_grad(lambda L, torch: 2 * s * (L - torch.tensor(yb)) ** 2, pb)
        add(f"brier-binary-{name}", "brier", params, {"predictions": pb, "labels": yb.astype(float)}, per,
            brier_score_loss(yb, pb, **kw), "sklearn.metrics.brier_score_loss (binary; values, mean); "
            "gradient: torch autograd", {"predictions": g})
    p2 = np.stack([1 - pb, pb], axis=1)
    per = [brier_score_loss([a], [b], labels=[0, 1]) for a, b in zip(yb, p2)]
    add("brier-two-columns", "brier", {}, {"predictions": p2, "labels": yb}, per,
        brier_score_loss(yb, p2, labels=[0, 1]), "sklearn.metrics.brier_score_loss ((N, 2): halved by 'auto'); "
        "gradient: torch autograd",
        {"predictions": torch_grad(lambda L, torch: 0.5 * ((L - torch.tensor(np.eye(2)[yb])) ** 2).sum(1), p2)})
    for half, name in ((None, "auto"), (True, "true")):
        kw = {} if half is None else {"scale_by_half": True}
        s = 1.0 if half is None else 0.5
        per = [brier_score_loss([a], [b], labels=np.arange(c), **kw) for a, b in zip(yi, rows)]
        g = torch_grad(lambda L, torch: s * ((L - torch.tensor(onehot)) ** 2).sum(1), rows)
        for kind, labels in (("index", yi), ("onehot", onehot)):
            add(f"brier-rows-{name}-{kind}", "brier", {} if half is None else {"scale_by_half": "true"},
                {"predictions": rows, "labels": labels}, per, brier_score_loss(yi, rows, labels=np.arange(c), **kw),
                "sklearn.metrics.brier_score_loss (multi-class; values, mean); gradient: torch autograd",
                {"predictions": g})

    # hinge: binary and Crammer-Singer; zero_one_loss: argmax, threshold, sign (values only)
    f = np.concatenate([rng.normal(0, 1.5, 14), [1e4, -1e4]])
    f[np.abs(1 - np.abs(f)) < 1e-3] += 0.01  # off the kink
    ys = np.concatenate([rng.choice([-1, 1], 14), [1, 1]])
    add("hinge-sklearn-binary", "hinge", {}, {"scores": f, "labels": ys.astype(float)},
        [hinge_loss(ys, f, sample_weight=np.eye(len(f))[i]) for i in range(len(f))], hinge_loss(ys, f),
        "sklearn.metrics.hinge_loss (binary; a sample's value: sample_weight one-hot on it)")
    s = rng.normal(0, 1.5, (14, c))
    yc = rng.integers(0, c, 14)
    yc[:c] = np.arange(c)
    add("hinge-sklearn-multiclass", "hinge", {}, {"scores": s, "labels": yc},
        [hinge_loss([a], b[None], labels=np.arange(c)) for a, b in zip(yc, s)], hinge_loss(yc, s, labels=np.arange(c)),
        "sklearn.metrics.hinge_loss (multi-class: Crammer-Singer)")
    add("zero_one-sklearn-argmax", "zero_one", {}, {"scores": s, "labels": yc},
        [zero_one_loss([a], [b]) for a, b in zip(yc, s.argmax(1))], zero_one_loss(yc, s.argmax(1)),
        "sklearn.metrics.zero_one_loss(y, argmax(scores))")
    add("zero_one-sklearn-threshold", "zero_one", {"mode": "threshold"}, {"scores": pb, "labels": yb.astype(float)},
        [zero_one_loss([a], [b]) for a, b in zip(yb, pb >= 0.5)], zero_one_loss(yb, (pb >= 0.5).astype(int)),
        "sklearn.metrics.zero_one_loss(y, p >= 0.5)")
    add("zero_one-sklearn-sign", "zero_one", {"mode": "sign"}, {"scores": f, "labels": ys.astype(float)},
        [zero_one_loss([a], [b]) for a, b in zip(ys, np.where(f > 0, 1, -1))],
        zero_one_loss(ys, np.where(f > 0, 1, -1)), "sklearn.metrics.zero_one_loss(y, sign(f))")
    return out


# -- optax and Keras (jax, float64) ----------------------------------------------------------------
def _jax_case(fn, inputs: dict, role: str, mean=None):
    import jax
    import jax.numpy as jnp

    x = jnp.asarray(inputs[role])
    per = np.asarray(fn(x))
    g = np.asarray(jax.grad(lambda v: jnp.sum(fn(v)))(x))
    return {"per_sample": per, "grads": {role: g}, "mean": None if mean is None else float(mean())}


def jax_cases(rng):
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    import keras
    import optax

    keras.config.set_floatx("float64")
    # Keras 3.15.1's ops.mean on the jax backend computes in result_type(x, "float32"), which rounds
    # float64 values to float32 precision (binary_crossentropy, hinge, ... average over the last
    # axis with it): the same mean in float64, or the references would only hold to ~1e-8
    import keras.src.backend.jax.numpy as keras_jax_numpy

    keras_jax_numpy.mean = lambda x, axis=None, keepdims=False: jnp.mean(jnp.asarray(x), axis=axis, keepdims=keepdims)
    out = []

    def add(cid, loss, params, inputs, result, source):
        out.append(({"id": cid, "loss": loss, "params": params, "inputs": inputs, "source": source}, result))

    c = 4
    z = rng.normal(0, 2, (12, c))
    z[0] = [1e4, -1e4, 0.0, 1.0]
    z[1] = [-1e4, 1e4, 1e4, 0.0]
    y = rng.integers(0, c, 12)
    onehot = np.eye(c)[y]
    soft = _softmax(rng.normal(0, 1, (12, c)))

    # softmax_ce: optax (rows, integer labels), Keras (categorical, sparse; from_logits=True)
    add("softmax_ce-optax-rows", "softmax_ce", {}, {"logits": z, "labels": soft},
        _jax_case(lambda v: optax.losses.softmax_cross_entropy(v, soft), {"logits": z}, "logits"),
        "optax.losses.softmax_cross_entropy")
    add("softmax_ce-optax-index", "softmax_ce", {}, {"logits": z, "labels": y},
        _jax_case(lambda v: optax.losses.softmax_cross_entropy_with_integer_labels(v, y), {"logits": z}, "logits"),
        "optax.losses.softmax_cross_entropy_with_integer_labels")
    add("softmax_ce-keras-categorical", "softmax_ce", {"label_smoothing": 0.1}, {"logits": z, "labels": onehot},
        _jax_case(lambda v: keras.losses.categorical_crossentropy(onehot, v, from_logits=True, label_smoothing=0.1),
                  {"logits": z}, "logits",
                  lambda: keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1)(onehot, z)),
        "keras.losses.categorical_crossentropy(from_logits=True, label_smoothing=0.1)")
    add("softmax_ce-keras-sparse", "softmax_ce", {}, {"logits": z, "labels": y},
        _jax_case(lambda v: keras.losses.sparse_categorical_crossentropy(y, v, from_logits=True), {"logits": z},
                  "logits", lambda: keras.losses.SparseCategoricalCrossentropy(from_logits=True)(y, z)),
        "keras.losses.sparse_categorical_crossentropy(from_logits=True)")

    # poly1 = optax poly_loss_cross_entropy (epsilon 2.0 = its default)
    add("poly1-optax", "poly1", {}, {"logits": z, "labels": onehot},
        _jax_case(lambda v: optax.losses.poly_loss_cross_entropy(v, onehot), {"logits": z}, "logits"),
        "optax.losses.poly_loss_cross_entropy")

    # softmax_focal = Keras CategoricalFocalCrossentropy(from_logits=True) (p_t inside the 1e-7 clip)
    zf = rng.normal(0, 1.5, (12, c))
    for k, (alpha, gamma) in enumerate([(0.25, 2.0), (1.0, 0.5), (0.6, 0.0)]):
        params = {} if k == 0 else {"alpha": alpha, "gamma": gamma}
        add(f"softmax_focal-keras-{k}", "softmax_focal", params, {"logits": zf, "labels": y},
            _jax_case(lambda v: keras.losses.categorical_focal_crossentropy(onehot, v, alpha=alpha, gamma=gamma,
                                                                             from_logits=True),
                      {"logits": zf}, "logits",
                      lambda: keras.losses.CategoricalFocalCrossentropy(alpha=alpha, gamma=gamma, from_logits=True)(
                          onehot, zf)),
            "keras.losses.CategoricalFocalCrossentropy(from_logits=True)")

    # sparsemax = optax multiclass_sparsemax_loss (integer labels); one-hot rows give the same
    zs = rng.normal(0, 1, (12, c))
    zs[0] = [1e4, -1e4, 0.0, 1.0]
    zs[1] = [-1e4, 1e4, 1e4 - 0.5, 0.0]
    zs[2] = [0.3, 0.3, 0.3, 0.3]
    res = _jax_case(lambda v: optax.losses.multiclass_sparsemax_loss(v, y), {"logits": zs}, "logits")
    for kind, labels in (("index", y), ("onehot", onehot)):
        add(f"sparsemax-optax-{kind}", "sparsemax", {}, {"logits": zs, "labels": labels}, res,
            "optax.losses.multiclass_sparsemax_loss")

    # binary_sparsemax = optax sparsemax_loss; bce_logits = optax sigmoid_binary_cross_entropy and Keras
    x = np.concatenate([rng.normal(0, 1.5, 12), [1e4, -1e4, 1e4, -1e4]])
    yb = np.concatenate([rng.integers(0, 2, 12), [1, 1, 0, 0]]).astype(float)
    add("binary_sparsemax-optax", "binary_sparsemax", {}, {"logits": x, "labels": yb},
        _jax_case(lambda v: optax.losses.sparsemax_loss(v, yb), {"logits": x}, "logits"),
        "optax.losses.sparsemax_loss (binary)")
    xm, ym = rng.normal(0, 2, (6, 3)), rng.integers(0, 2, (6, 3)).astype(float)
    add("binary_sparsemax-optax-rows", "binary_sparsemax", {}, {"logits": xm, "labels": ym},
        _jax_case(lambda v: optax.losses.sparsemax_loss(v, ym).mean(axis=1), {"logits": xm}, "logits"),
        "optax.losses.sparsemax_loss, elementwise values averaged over each row")
    add("bce_logits-optax", "bce_logits", {}, {"logits": x, "labels": yb},
        _jax_case(lambda v: optax.losses.sigmoid_binary_cross_entropy(v, yb), {"logits": x}, "logits"),
        "optax.losses.sigmoid_binary_cross_entropy")
    add("bce_logits-keras-rows", "bce_logits", {}, {"logits": xm, "labels": ym},
        _jax_case(lambda v: keras.losses.binary_crossentropy(ym, v, from_logits=True), {"logits": xm}, "logits",
                  lambda: keras.losses.BinaryCrossentropy(from_logits=True)(ym, xm)),
        "keras.losses.binary_crossentropy(from_logits=True)")

    # focal = optax sigmoid_focal_loss(alpha=0.25) (optax's default alpha=None is alpha=-1 here)
    for k, (alpha, gamma) in enumerate([(0.25, 2.0), (None, 0.5)]):
        params = {} if k == 0 else {"alpha": -1.0, "gamma": gamma}
        add(f"focal-optax-{k}", "focal", params, {"logits": x, "labels": yb},
            _jax_case(lambda v: optax.losses.sigmoid_focal_loss(v, yb, alpha=alpha, gamma=gamma), {"logits": x},
                      "logits"),
            f"optax.losses.sigmoid_focal_loss(alpha={alpha}, gamma={gamma})")

    # bce = Keras binary_crossentropy (probabilities; its clip is losscli's: p exactly 0 and 1 agree)
    pb = np.concatenate([rng.uniform(0.001, 0.999, 12), [0.0, 1.0, 0.0, 1.0]])
    add("bce-keras", "bce", {}, {"predictions": pb, "labels": yb},
        _jax_case(lambda v: keras.losses.binary_crossentropy(yb[:, None], v[:, None]), {"predictions": pb},
                  "predictions", lambda: keras.losses.BinaryCrossentropy()(yb[:, None], pb[:, None])),
        "keras.losses.binary_crossentropy (from_logits=False)")

    # binary_focal = Keras BinaryFocalCrossentropy: probabilities (0 and 1 included), logits (±1e4),
    # class balancing, label smoothing, multi-label rows
    pf = np.concatenate([rng.uniform(0.01, 0.99, 12), [0.0, 1.0, 0.0, 1.0]])
    for k, (kw, data, lab) in enumerate([
            ({}, pf, yb), ({"from_logits": True}, x, yb),
            ({"apply_class_balancing": True, "alpha": 0.4, "gamma": 1.5}, pf, yb),
            ({"from_logits": True, "label_smoothing": 0.2, "gamma": 0.5}, x, yb),
            ({"apply_class_balancing": True, "gamma": 3.0, "label_smoothing": 0.1}, rng.uniform(0, 1, (6, 3)), ym)]):
        two_d = data.ndim == 2
        lab_k = lab if two_d else lab[:, None]
        def fn(v, kw=kw, lab_k=lab_k, two_d=two_d):
            return keras.losses.binary_focal_crossentropy(lab_k, v if two_d else v[:, None], **kw)

        res = _jax_case(fn, {"predictions": data}, "predictions",
                        lambda kw=kw, lab_k=lab_k, data=data, two_d=two_d: keras.losses.BinaryFocalCrossentropy(**kw)(
                            lab_k, data if two_d else data[:, None]))
        add(f"binary_focal-keras-{k}", "binary_focal", kw, {"predictions": data, "labels": lab}, res,
            f"keras.losses.BinaryFocalCrossentropy({', '.join(f'{a}={b}' for a, b in kw.items())})")

    # hinge / squared_hinge: optax (binary, multi-class) and Keras (binary); off the kinks
    f = rng.normal(0, 1.5, 14)
    f[np.abs(1 - np.abs(f)) < 1e-3] += 0.01
    ys = rng.choice([-1.0, 1.0], 14)
    add("hinge-optax-binary", "hinge", {}, {"scores": f, "labels": ys},
        _jax_case(lambda v: optax.losses.hinge_loss(v, ys), {"scores": f}, "scores"), "optax.losses.hinge_loss")
    s = rng.normal(0, 1.5, (14, c))
    yc = rng.integers(0, c, 14)
    add("hinge-optax-multiclass", "hinge", {}, {"scores": s, "labels": yc},
        _jax_case(lambda v: optax.losses.multiclass_hinge_loss(v, yc), {"scores": s}, "scores"),
        "optax.losses.multiclass_hinge_loss")
    add("hinge-keras-binary", "hinge", {}, {"scores": f, "labels": ys},
        _jax_case(lambda v: keras.losses.hinge(ys[:, None], v[:, None]), {"scores": f}, "scores",
                  lambda: keras.losses.Hinge()(ys[:, None], f[:, None])), "keras.losses.hinge")
    add("squared_hinge-keras-binary", "squared_hinge", {}, {"scores": f, "labels": ys},
        _jax_case(lambda v: keras.losses.squared_hinge(ys[:, None], v[:, None]), {"scores": f}, "scores",
                  lambda: keras.losses.SquaredHinge()(ys[:, None], f[:, None])), "keras.losses.squared_hinge")
    return out


def main() -> None:
    import jax

    jax.config.update("jax_enable_x64", True)  # before Keras makes any array
    import keras
    import optax
    import sklearn
    import torch

    rng = np.random.default_rng(SEED)
    computed = torch_cases(rng) + sklearn_cases(rng) + jax_cases(rng)
    for case, result in computed:  # float64 everywhere; class indices as integers
        case["inputs"] = {k: np.asarray(v) for k, v in case["inputs"].items()}
        result["per_sample"] = np.asarray(result["per_sample"], dtype=np.float64)
    write("classification", computed, generator="tests/reference/generate_classification_reference.py",
          library_versions={"torch": torch.__version__, "scikit-learn": sklearn.__version__, "jax": jax.__version__,
                            "optax": optax.__version__, "keras": keras.__version__})


if __name__ == "__main__":
    main()
