"""Generate reference vectors for the margin (hinge-family) and ranking losses.

    KERAS_BACKEND=jax /tmp/refvenv/bin/python tests/reference/generate_margin_reference.py

(torch 2.13.0 CPU, jax 0.10.2 + optax 0.2.8 in float64, keras 3.15.1 on the JAX backend) writes
tests/data/margin_reference.{npz,json} in the common format (``reference_files.py``):

- PyTorch: MultiMarginLoss (multi_margin), SoftMarginLoss (soft_margin), HingeEmbeddingLoss
  (hinge_embedding), MultiLabelSoftMarginLoss (multilabel_soft_margin), MultiLabelMarginLoss
  (multilabel_margin); per-sample = reduction='none' (row mean of the elementwise values for the
  elementwise losses), gradients by autograd, mean = the module's default reduction='mean';
- Keras: keras.losses.categorical_hinge, gradients by jax.grad, mean = CategoricalHinge()
  (sum_over_batch_size);
- optax: perceptron_loss, ranking_softmax_loss (reduce_fn=None per list, default jnp.mean for the
  mean), convex_kl_divergence; gradients by jax.grad; optax returns unreduced values for the
  first and last, whose jnp.mean is the mean.

Extremes (scores ±1e4, exact ties at the margin) are included where the library's value and
autograd subgradient are deterministic; where the library overflows (SoftMarginLoss beyond
-y·f = 709.78) the case is left out here and the documented behaviour is tested in
tests/test_margin_losses.py.
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

import numpy as np

os.environ.setdefault("KERAS_BACKEND", "jax")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from reference_files import write  # noqa: E402

TORCH = "torch.nn.{} (torch {})"


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _one_hot(y, c):
    out = np.zeros((y.shape[0], c))
    out[np.arange(y.shape[0]), y] = 1.0
    return out


def _target_lists(rng, n, c, ks=None):
    """Rows of k distinct class indices then -1 (PyTorch's MultiLabelMarginLoss layout)."""
    out = np.full((n, c), -1, dtype=np.int64)
    for i in range(n):
        k = int(rng.integers(0, c + 1)) if ks is None else ks[i]
        out[i, :k] = rng.permutation(c)[:k]
    return out


# -- the libraries -----------------------------------------------------------------------------------
def torch_case(loss, inputs, params):
    import torch
    from torch import nn

    first = {"multilabel_soft_margin": "logits", "hinge_embedding": "distances"}.get(loss, "scores")
    x = torch.tensor(inputs[first], dtype=torch.float64, requires_grad=True)
    labels = inputs["labels"]
    w = params.get("class_weights")
    weight = torch.tensor(w, dtype=torch.float64) if w else None
    if loss == "multi_margin":
        kw = {"p": params.get("p", 1), "margin": params.get("margin", 1.0), "weight": weight}
        mod, y = nn.MultiMarginLoss, torch.tensor(labels, dtype=torch.long)
    elif loss == "soft_margin":
        kw, mod, y = {}, nn.SoftMarginLoss, torch.tensor(labels, dtype=torch.float64)
    elif loss == "hinge_embedding":
        kw = {"margin": params.get("margin", 1.0)}
        mod, y = nn.HingeEmbeddingLoss, torch.tensor(labels, dtype=torch.float64)
    elif loss == "multilabel_soft_margin":
        kw, mod, y = {"weight": weight}, nn.MultiLabelSoftMarginLoss, torch.tensor(labels, dtype=torch.float64)
    elif loss == "multilabel_margin":
        kw, mod, y = {}, nn.MultiLabelMarginLoss, torch.tensor(labels, dtype=torch.long)
    else:
        raise KeyError(loss)
    per = mod(reduction="none", **kw)(x, y)
    if per.dim() > 1:  # elementwise losses: a sample's loss is the mean over its elements
        per = per.reshape(per.shape[0], -1).mean(dim=1)
    per.sum().backward()
    mean = mod(**kw)(x.detach(), y).item()
    return {"per_sample": per.detach().numpy(), "grads": {first: x.grad.numpy()}, "mean": mean}


def jax_case(loss, inputs, params):
    import jax
    import jax.numpy as jnp
    import keras
    import optax

    if loss == "categorical_hinge":
        s = jnp.asarray(inputs["scores"])
        lab = np.asarray(inputs["labels"])
        y = jnp.asarray(_one_hot(lab, s.shape[1]) if lab.ndim == 1 else lab)

        def per_fn(s_):
            return keras.losses.categorical_hinge(y, s_)

        mean = float(keras.losses.CategoricalHinge()(y, s))
        first = "scores"
    elif loss == "perceptron":
        s, y = jnp.asarray(inputs["scores"]), jnp.asarray(inputs["labels"])

        def per_fn(s_):
            v = optax.losses.perceptron_loss(s_, y)
            return v.reshape(v.shape[0], -1).mean(axis=1)

        mean = float(jnp.mean(optax.losses.perceptron_loss(s, y)))
        first = "scores"
    elif loss == "ranking_softmax":
        s, y = jnp.asarray(inputs["logits"]), jnp.asarray(inputs["labels"])
        kw = {}
        if "where" in inputs:
            kw["where"] = jnp.asarray(inputs["where"]) != 0
        if "weights" in inputs:
            kw["weights"] = jnp.asarray(inputs["weights"])

        def per_fn(s_):
            return optax.losses.ranking_softmax_loss(s_, y, reduce_fn=None, **kw)

        mean = float(optax.losses.ranking_softmax_loss(s, y, **kw))
        first = "logits"
    elif loss == "convex_kl":
        s, t = jnp.asarray(inputs["log_predictions"]), jnp.asarray(inputs["targets"])

        def per_fn(s_):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                return optax.losses.convex_kl_divergence(s_, t)

        mean = float(jnp.mean(per_fn(s)))
        first = "log_predictions"
    else:
        raise KeyError(loss)
    per = per_fn(s)
    grad = jax.grad(lambda s_: jnp.sum(per_fn(s_)))(s)
    return {"per_sample": np.asarray(per, dtype=np.float64), "grads": {first: np.asarray(grad, dtype=np.float64)},
            "mean": mean}


# -- the cases ---------------------------------------------------------------------------------------
def cases() -> list[dict]:
    rng = np.random.default_rng(20250218)
    out: list[dict] = []

    def add(loss, inputs, source, **params):
        out.append({"id": f"{loss}-{len(out)}", "loss": loss, "params": params, "inputs": inputs,
                    "source": source})

    # multi_margin (torch.nn.MultiMarginLoss)
    src = "torch.nn.MultiMarginLoss"
    for c in (2, 3, 5):
        s = rng.normal(0, 1.5, (8, c))
        y = rng.integers(0, c, 8)
        w = [float(v) for v in np.round(rng.uniform(0.2, 3.0, c), 3)]
        add("multi_margin", {"scores": s, "labels": y}, src)
        add("multi_margin", {"scores": s, "labels": y}, src, p=2)
        add("multi_margin", {"scores": s, "labels": y}, src, margin=0.3)
        add("multi_margin", {"scores": s, "labels": y}, src, p=2, margin=2.5)
        add("multi_margin", {"scores": s, "labels": y}, src, class_weights=w)
        add("multi_margin", {"scores": s, "labels": y}, src, p=2, margin=0.7, class_weights=w)
    # exact ties z = m - s_y + s_j = 0 (PyTorch: z > 0, subgradient 0) and ±1e4 scores
    tie = np.array([[1.0, 2.0, 0.0, 1.5], [0.0, 0.0, -1.0, 0.5], [3.0, 2.0, 2.0, 4.0],
                    [1e4, -1e4, 0.0, 1e4], [-1e4, 1e4, 1e4 - 1.0, 0.0], [0.25, 0.25, 0.25, 0.25]])
    ty = np.array([1, 0, 0, 0, 1, 2])
    add("multi_margin", {"scores": tie, "labels": ty}, src + " (ties at the margin, ±1e4)")
    add("multi_margin", {"scores": tie, "labels": ty}, src + " (ties, ±1e4)", p=2,
        class_weights=[0.5, 2.0, 1.0, 0.0])
    add("multi_margin", {"scores": tie, "labels": ty}, src + " (ties at margin 0.5)", margin=0.5)

    # soft_margin (torch.nn.SoftMarginLoss); -y·f kept below 709 where PyTorch is finite
    src = "torch.nn.SoftMarginLoss"
    for shape in ((9,), (4, 3), (3, 2, 2)):
        add("soft_margin", {"scores": rng.normal(0, 2, shape), "labels": rng.choice([-1.0, 1.0], shape)}, src)
    ext = np.array([1e4, -1e4, 700.0, -700.0, 0.0, 30.0, -30.0, 1e-9])
    add("soft_margin", {"scores": ext, "labels": np.array([1.0, -1.0, -1.0, 1.0, 1.0, -1.0, 1.0, -1.0])},
        src + " (y·f = +1e4, -y·f up to 700)")

    # hinge_embedding (torch.nn.HingeEmbeddingLoss)
    src = "torch.nn.HingeEmbeddingLoss"
    for shape in ((9,), (4, 3)):
        d = rng.uniform(0, 3, shape)
        y = rng.choice([-1.0, 1.0], shape)
        for margin in (1.0, 0.5, 2.5):
            add("hinge_embedding", {"distances": d, "labels": y}, src, margin=margin)
    d = np.array([0.0, 1.0, 1.0, 2.5, 2.5, 1e4, 1e4, 0.0])
    y = np.array([-1.0, -1.0, 1.0, -1.0, 1.0, -1.0, 1.0, 1.0])
    add("hinge_embedding", {"distances": d, "labels": y}, src + " (x = margin exactly, 0, 1e4)")
    add("hinge_embedding", {"distances": d, "labels": y}, src + " (x = margin exactly)", margin=2.5)

    # multilabel_soft_margin (torch.nn.MultiLabelSoftMarginLoss)
    src = "torch.nn.MultiLabelSoftMarginLoss"
    for c in (3, 5):
        x = rng.normal(0, 2, (7, c))
        y = rng.integers(0, 2, (7, c)).astype(np.float64)
        w = [float(v) for v in np.round(rng.uniform(0.0, 3.0, c), 3)]
        add("multilabel_soft_margin", {"logits": x, "labels": y}, src)
        add("multilabel_soft_margin", {"logits": x, "labels": y}, src, class_weights=w)
        add("multilabel_soft_margin", {"logits": x, "labels": rng.uniform(0, 1, (7, c))}, src + " (soft targets)")
    x = np.array([[1e4, -1e4, 0.0, 745.0], [-1e4, 1e4, -745.0, 30.0], [1e-8, -40.0, 40.0, 0.5]])
    y = np.array([[1.0, 0.0, 1.0, 0.0], [1.0, 1.0, 0.0, 1.0], [0.0, 0.0, 1.0, 1.0]])
    add("multilabel_soft_margin", {"logits": x, "labels": y}, src + " (±1e4)")
    add("multilabel_soft_margin", {"logits": x, "labels": y}, src + " (±1e4)", class_weights=[2.0, 0.5, 1.0, 0.0])

    # multilabel_margin (torch.nn.MultiLabelMarginLoss)
    src = "torch.nn.MultiLabelMarginLoss"
    for c in (2, 4, 6):
        s = rng.normal(0, 1, (8, c))
        add("multilabel_margin", {"scores": s, "labels": _target_lists(rng, 8, c)}, src)
    s = np.array([[1.0, 0.0, 2.0, 1.0], [0.5, 1.5, 0.5, -0.5], [1e4, -1e4, 0.0, 1e4],
                  [-1e4, 1e4, 3.0, 0.0], [0.0, 0.0, 0.0, 0.0], [2.0, 1.0, 0.0, -1.0]])
    t = np.array([[0, -1, -1, -1], [1, -1, -1, -1], [1, 2, -1, -1], [3, 0, 1, 2], [-1, -1, -1, -1],
                  [3, 1, -1, -1]])
    add("multilabel_margin", {"scores": s, "labels": t}, src + " (ties z = 0, ±1e4, full and empty rows)")

    # categorical_hinge (keras.losses.categorical_hinge, JAX backend)
    src = "keras.losses.categorical_hinge (JAX backend)"
    for c in (2, 3, 5):
        s = rng.normal(0, 1.5, (8, c))
        y = rng.integers(0, c, 8)
        add("categorical_hinge", {"scores": s, "labels": _one_hot(y, c)}, src + " (one-hot)")
        add("categorical_hinge", {"scores": s, "labels": y}, src + " (indices, as one-hot rows)")
        add("categorical_hinge", {"scores": s, "labels": _softmax(rng.normal(0, 1, (8, c)))}, src + " (soft rows)")
    # every wrong score negative (the max picks the true class's 0), h = 0 exactly, tied maxima
    s = np.array([[-1.0, -0.5, -2.0], [0.0, 1.0, 0.0], [0.5, 1.5, 0.5], [2.0, 1.0, 1.0], [1e4, -1e4, 0.0],
                  [-1e4, 1e4, -1e4], [0.0, 0.0, 0.0], [3.0, -1.0, 2.0]])
    y = np.array([1, 1, 1, 0, 1, 1, 2, 0])
    add("categorical_hinge", {"scores": s, "labels": y}, src + " (negative wrong scores, h = 0, ties, ±1e4)")
    add("categorical_hinge", {"scores": s, "labels": _one_hot(y, 3)}, src + " (one-hot; h = 0, ties, ±1e4)")

    # perceptron (optax.losses.perceptron_loss)
    src = "optax.losses.perceptron_loss"
    for shape in ((9,), (4, 3)):
        add("perceptron", {"scores": rng.normal(0, 1, shape), "labels": rng.choice([-1.0, 1.0], shape)}, src)
    f = np.array([1e4, -1e4, 1e4, -1e4, 0.0, 0.0, -0.0, 2.5])
    add("perceptron", {"scores": f, "labels": np.array([1.0, 1.0, -1.0, -1.0, 1.0, -1.0, 1.0, -1.0])},
        src + " (±1e4, f = 0: jax.grad's half subgradient)")

    # ranking_softmax (optax.losses.ranking_softmax_loss)
    src = "optax.losses.ranking_softmax_loss"
    for n, l in ((6, 5), (4, 8), (5, 1)):
        s = rng.normal(0, 1.5, (n, l))
        graded = rng.integers(0, 4, (n, l)).astype(np.float64)
        binary = rng.integers(0, 2, (n, l)).astype(np.float64)
        add("ranking_softmax", {"logits": s, "labels": graded}, src + " (graded labels, not normalised)")
        add("ranking_softmax", {"logits": s, "labels": binary}, src + " (binary labels)")
        where = (rng.uniform(size=(n, l)) < 0.7).astype(np.float64)
        where[0] = 0.0  # a list with no item left
        where[1] = 0.0
        where[1, 0] = 1.0  # a list with one item
        add("ranking_softmax", {"logits": s, "labels": graded, "where": where}, src + " (where)")
        add("ranking_softmax", {"logits": s, "labels": graded, "where": np.ones((n, l)),
                                "weights": rng.uniform(0, 2, (n, l))}, src + " (weights)")
        add("ranking_softmax", {"logits": s, "labels": graded, "where": where,
                                "weights": rng.uniform(0, 2, (n, l))}, src + " (where and weights)")
    s = np.array([[1e4, -1e4, 0.0, 5.0], [-1e4, 1e4, 1e4, 0.0], [3.0, 3.0, 3.0, 3.0], [0.0, 1.0, 2.0, 3.0]])
    y = np.array([[1.0, 0.0, 2.0, 0.0], [0.0, 1.0, 1.0, 0.0], [1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]])
    add("ranking_softmax", {"logits": s, "labels": y}, src + " (±1e4, ties, an all-zero list)")

    # convex_kl (optax.losses.convex_kl_divergence)
    src = "optax.losses.convex_kl_divergence"
    for c in (3, 6):
        lp = rng.normal(0, 1, (7, c))
        add("convex_kl", {"log_predictions": lp, "targets": rng.uniform(0, 2, (7, c))}, src + " (unnormalised)")
        t = _softmax(rng.normal(0, 1, (7, c)))
        t[0, 0] = 0.0
        t[1, :2] = 0.0
        add("convex_kl", {"log_predictions": np.log(_softmax(rng.normal(0, 1, (7, c)))), "targets": t},
            src + " (probability rows, zeros in the targets)")
    lp = np.array([[-1e4, 0.0, 1.0, -3.0], [700.0, -1e4, 0.5, 0.0], [0.0, np.log(0.5), np.log(2.0), -1.0],
                   [-20.0, 20.0, -0.5, 0.25]])
    t = np.array([[1.0, 0.0, 2.0, 0.5], [0.0, 3.0, 0.0, 1.0], [1.0, 0.5, 2.0, 0.0], [1e-9, 1e9, 0.25, 1.0]])
    add("convex_kl", {"log_predictions": lp, "targets": t}, src + " (lq = -1e4 and 700, exact matches)")
    return out


def compute(all_cases):
    import torch

    torch.set_num_threads(1)
    results = []
    for case in all_cases:
        fn = jax_case if case["loss"] in ("categorical_hinge", "perceptron", "ranking_softmax", "convex_kl") \
            else torch_case
        result = fn(case["loss"], case["inputs"], case["params"])
        results.append((case, result))
    return results


def main() -> None:
    import jax

    jax.config.update("jax_enable_x64", True)
    import keras
    import optax
    import torch

    keras.config.set_floatx("float64")  # Keras would otherwise cast the loss objects' results to float32

    results = compute(cases())
    write("margin", results, generator="tests/reference/generate_margin_reference.py",
          library_versions={"torch": torch.__version__, "jax": jax.__version__, "optax": optax.__version__,
                            "keras": keras.__version__, "keras_backend": keras.backend.backend()})


if __name__ == "__main__":
    main()
