"""Reference vectors for rmse: scikit-learn's root_mean_squared_error (1-D targets) and
torch.sqrt(MSELoss()) ((N, K) targets) as the reported mean; per-sample values (each sample's
squared error, the term under the root) and the gradient of their sum from torch autograd.

    pip install torch==2.13.0 scikit-learn
    python tests/reference/generate_rmse_reference.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from reference_files import write  # noqa: E402


def cases() -> list[dict]:
    rng = np.random.default_rng(2026)
    out = []
    shapes = [(12,), (7,), (6, 3), (5, 2)]
    scales = [1.0, 1.0, 1.0, 1.0, 1e150, 1e-150]
    for i, scale in enumerate(scales):
        shape = shapes[i % len(shapes)]
        p, t = rng.normal(size=shape) * scale, rng.normal(size=shape) * scale
        out.append({"id": f"rmse-{len(out)}", "loss": "rmse", "params": {}, "inputs": {"predictions": p, "labels": t},
                    "grads": ["predictions"]})
    same = rng.normal(size=5)  # every residual 0: the root of 0
    out.append({"id": f"rmse-{len(out)}", "loss": "rmse", "params": {},
                "inputs": {"predictions": same, "labels": same.copy()}, "grads": ["predictions"]})
    return out


def compute(case: dict) -> dict:
    import torch
    from sklearn.metrics import root_mean_squared_error

    p = torch.tensor(case["inputs"]["predictions"], dtype=torch.float64, requires_grad=True)
    t = torch.tensor(case["inputs"]["labels"], dtype=torch.float64)
    per = ((p - t) ** 2).reshape(p.shape[0], -1).mean(dim=1)
    per.sum().backward()
    if p.ndim == 1:
        mean = root_mean_squared_error(case["inputs"]["labels"], case["inputs"]["predictions"])
        case["source"] = "scikit-learn root_mean_squared_error; per-sample squared errors and gradient: torch autograd"
    else:
        mean = torch.sqrt(torch.nn.functional.mse_loss(p, t)).item()
        case["source"] = "torch.sqrt(MSELoss()) over all elements; per-sample and gradient: torch autograd"
    return {"per_sample": per.detach().numpy(), "grads": {"predictions": p.grad.numpy()}, "mean": mean}


def main() -> None:
    import sklearn
    import torch

    torch.set_num_threads(1)
    computed = [(case, compute(case)) for case in cases()]
    write("rmse", computed, generator="tests/reference/generate_rmse_reference.py",
          library_versions={"torch": torch.__version__, "scikit-learn": sklearn.__version__})


if __name__ == "__main__":
    main()
