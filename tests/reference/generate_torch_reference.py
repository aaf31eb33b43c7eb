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
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parent.parent / "data"


def _t(x):
    import torch

    return torch.tensor(x, dtype=torch.float64, requires_grad=True)


def _per_row(v):
    return v.reshape(v.shape[0], -1).mean(dim=1)


def torch_per_sample(loss: str, inputs: dict, params: dict):
    """(per-sample losses, {role: tensor with grad}) computed with torch."""
    import torch
    import torch.nn.functional as F

    p = params
    if loss in ("mse", "l2", "mae", "huber", "smooth_l1"):
        x, t = _t(inputs["predictions"]), torch.tensor(inputs["labels"])
        elem = {
            "mse": lambda: F.mse_loss(x, t, reduction="none"),
            "l2": lambda: F.mse_loss(x, t, reduction="none"),
            "mae": lambda: F.l1_loss(x, t, reduction="none"),
            "huber": lambda: F.huber_loss(x, t, reduction="none", delta=p.get("delta", 1.0)),
            "smooth_l1": lambda: F.smooth_l1_loss(x, t, reduction="none", beta=p.get("beta", 1.0)),
        }[loss]()
        if loss == "l2":
            out = elem.reshape(elem.shape[0], -1).sum(dim=1) * (0.5 if p.get("half") else 1.0)
        else:
            out = _per_row(elem)
        return out, {"predictions": x}
    if loss == "bce":
        x, t = _t(inputs["predictions"]), torch.tensor(inputs["labels"])
        return _per_row(F.binary_cross_entropy(x, t, reduction="none")), {"predictions": x}
    if loss == "ce":
        x, y = _t(inputs["predictions"]), inputs["labels"]
        logp = torch.log(x)
        if y.ndim == 1:
            out = F.nll_loss(logp, torch.tensor(y, dtype=torch.long), reduction="none")
        else:
            out = -(torch.tensor(y) * logp).sum(dim=1)
        return out, {"predictions": x}
    if loss == "softmax_ce":
        z, y = _t(inputs["logits"]), inputs["labels"]
        target = torch.tensor(y, dtype=torch.long) if y.ndim == 1 else torch.tensor(y)
        return F.cross_entropy(z, target, reduction="none"), {"logits": z}
    raise KeyError(loss)


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
    return out


def compute(all_cases: list[dict]) -> tuple[dict, list[dict]]:
    arrays, index = {}, []
    for case in all_cases:
        per_sample, leaves = torch_per_sample(case["loss"], case["inputs"], case["params"])
        per_sample.sum().backward()
        cid = case["id"]
        for role, value in case["inputs"].items():
            arrays[f"{cid}/input/{role}"] = np.asarray(value)
        arrays[f"{cid}/per_sample"] = per_sample.detach().numpy()
        for role, leaf in leaves.items():
            arrays[f"{cid}/grad/{role}"] = leaf.grad.numpy()
        index.append({"id": cid, "loss": case["loss"], "params": case["params"],
                      "inputs": list(case["inputs"]), "grads": list(leaves)})
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
