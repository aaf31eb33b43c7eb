"""Reference values from scikit-learn for the losses it defines (values only; no gradients).

    pip install scikit-learn
    python tests/reference/generate_sklearn_reference.py

writes tests/data/sklearn_reference.json; test_sklearn_reference.py checks losscli against it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parent.parent / "data"


def cases() -> list[dict]:
    from sklearn.metrics import hinge_loss, log_loss, mean_pinball_loss, zero_one_loss

    rng = np.random.default_rng(777)
    out = []

    def add(loss, params, inputs, value, library_call):
        out.append({"loss": loss, "params": params, "value": float(value), "sklearn": library_call,
                    "inputs": {k: np.asarray(v).tolist() for k, v in inputs.items()}})

    for c in (3, 6):
        scores = rng.normal(0, 1.5, (20, c))
        labels = rng.integers(0, c, 20)
        add("hinge", {}, {"scores": scores, "labels": labels},
            hinge_loss(labels, scores, labels=np.arange(c)), "hinge_loss (multi-class: Crammer-Singer)")
        add("zero_one", {}, {"scores": scores, "labels": labels},
            zero_one_loss(labels, scores.argmax(axis=1)), "zero_one_loss(y, argmax)")
    f = rng.normal(0, 1.5, 25)
    y = rng.choice([-1, 1], 25)
    add("hinge", {}, {"scores": f, "labels": y}, hinge_loss(y, f), "hinge_loss (binary)")
    add("zero_one", {"mode": "sign"}, {"scores": f, "labels": y},
        zero_one_loss(y, np.where(f > 0, 1, -1)), "zero_one_loss(y, sign f)")
    p = rng.uniform(0.02, 0.98, 30)
    yb = rng.integers(0, 2, 30)
    add("bce", {}, {"predictions": p, "labels": yb}, log_loss(yb, p), "log_loss (binary)")
    add("zero_one", {"mode": "threshold"}, {"scores": p, "labels": yb}, zero_one_loss(yb, (p >= 0.5).astype(int)),
        "zero_one_loss(y, p >= 0.5)")
    probs = rng.dirichlet(np.ones(4), 30)
    yc = rng.integers(0, 4, 30)
    add("ce", {}, {"predictions": probs, "labels": yc}, log_loss(yc, probs, labels=np.arange(4)),
        "log_loss (multi-class)")
    t, pr = rng.normal(size=40), rng.normal(size=40)
    for tau in (0.1, 0.5, 0.95):
        add("quantile", {"tau": tau}, {"predictions": pr, "labels": t},
            mean_pinball_loss(t, pr, alpha=tau), f"mean_pinball_loss(alpha={tau})")
    return out


def main() -> None:
    import sklearn

    meta = {"generator": "tests/reference/generate_sklearn_reference.py", "sklearn": sklearn.__version__,
            "cases": cases()}
    DATA.mkdir(parents=True, exist_ok=True)
    (DATA / "sklearn_reference.json").write_text(json.dumps(meta, indent=1) + "\n")
    print(f"wrote {len(meta['cases'])} cases with scikit-learn {sklearn.__version__}")


if __name__ == "__main__":
    main()
