"""Regenerate the sample data (seeded, deterministic): python sample_data/generate.py"""

from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
rng = np.random.default_rng(20261121)


def write_csv(path: Path, header: list[str], columns: list[np.ndarray], fmt: str = "%.6f") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    table = np.column_stack(columns)
    np.savetxt(path, table, delimiter=",", header=",".join(header), comments="", fmt=fmt)


def regression() -> None:
    # House prices (in $100k) from a linear model with noise; 5 gross outliers in the labels.
    n = 200
    size = rng.uniform(50, 250, n)
    labels = 0.02 * size + 0.5 + rng.normal(0, 0.3, n)
    preds = 0.02 * size + 0.5 + rng.normal(0, 0.05, n)
    outliers = rng.choice(n, 5, replace=False)
    labels[outliers] += rng.choice([-1, 1], 5) * rng.uniform(4, 8, 5)
    d = HERE / "regression"
    write_csv(d / "preds.csv", ["pred"], [preds])
    write_csv(d / "labels.csv", ["label"], [labels])
    ids = np.arange(1000, 1000 + n)
    write_csv(d / "eval.csv", ["id", "size_m2", "pred", "label"], [ids, size, preds, labels], fmt="%.6g")


def binary() -> None:
    # A spam classifier: logits, the matching probabilities, and 0/1 labels.
    n = 300
    labels = (rng.uniform(size=n) < 0.35).astype(float)
    logits = rng.normal(1.6 * (2 * labels - 1), 1.4)
    probs = 1 / (1 + np.exp(-logits))
    write_csv(HERE / "binary" / "eval.csv", ["logit", "prob", "label"], [logits, probs, labels], fmt="%.8g")


def multiclass() -> None:
    # 5-class classifier on 150 samples: logits, softmax probabilities, index and one-hot labels.
    n, c = 150, 5
    labels = rng.integers(0, c, n)
    logits = rng.normal(0, 1.0, (n, c))
    logits[np.arange(n), labels] += rng.normal(2.0, 1.5, n)
    z = logits - logits.max(axis=1, keepdims=True)
    probs = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    d = HERE / "multiclass"
    d.mkdir(parents=True, exist_ok=True)
    np.save(d / "logits.npy", logits)
    np.savez(d / "eval.npz", logits=logits, labels=labels.astype(np.int64))
    names = [f"p{k}" for k in range(c)]
    write_csv(d / "probs.csv", names, [probs[:, k] for k in range(c)], fmt="%.9f")
    write_csv(d / "labels_index.csv", ["label"], [labels], fmt="%d")
    onehot = np.eye(c)[labels]
    write_csv(d / "labels_onehot.csv", [f"y{k}" for k in range(c)], [onehot[:, k] for k in range(c)], fmt="%d")


if __name__ == "__main__":
    regression()
    binary()
    multiclass()
