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
    with_slices(d / "eval.csv", region=regions(n, outliers))


def regions(n: int, outliers: np.ndarray) -> np.ndarray:
    """Where each house is (a slice column, --by region): four districts; the five outliers are the
    harbour's (a slice too small to rank)."""
    r = np.random.default_rng(19)  # (its own generator: the values above do not change)
    out = r.choice(np.array(["north", "south", "east", "west"], dtype=object), n, p=[0.3, 0.3, 0.2, 0.2])
    out[outliers] = "harbour"
    return out


def with_slices(path: Path, **columns: np.ndarray) -> None:
    """Add text columns (slice keys) to a CSV written above, as pandas writes them."""
    import pandas as pd

    df = pd.read_csv(path, dtype=str, keep_default_na=False)  # the numbers stay as written
    for name, values in columns.items():
        df[name] = values
    df.to_csv(path, index=False)


def binary() -> None:
    # A spam classifier: logits, the matching probabilities, and 0/1 labels.
    n = 300
    labels = (rng.uniform(size=n) < 0.35).astype(float)
    logits = rng.normal(1.6 * (2 * labels - 1), 1.4)
    probs = 1 / (1 + np.exp(-logits))
    write_csv(HERE / "binary" / "eval.csv", ["logit", "prob", "label"], [logits, probs, labels], fmt="%.8g")
    # the device each message was read on (--by device); the filter is weakest on watches
    r = np.random.default_rng(20)
    device = r.choice(np.array(["phone", "desktop", "tablet"], dtype=object), n, p=[0.5, 0.35, 0.15])
    hard = np.abs(logits) < 1.0  # the messages it is least sure of
    device[hard & (r.uniform(size=n) < 0.6)] = "watch"
    with_slices(HERE / "binary" / "eval.csv", device=device)


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


def embeddings() -> None:
    # Sentence embeddings: 64 anchors, a paraphrase of each (positive), an unrelated sentence (negative),
    # plus similar/dissimilar pair labels for contrastive and cosine-embedding losses.
    n, d = 64, 16
    anchor = rng.normal(size=(n, d))
    positive = anchor + rng.normal(0, 0.6, (n, d))
    negative = rng.normal(size=(n, d))
    similar = (rng.uniform(size=n) < 0.5).astype(np.int64)
    other = np.where(similar[:, None] == 1, positive, negative)
    out = HERE / "embeddings"
    out.mkdir(parents=True, exist_ok=True)
    np.savez(out / "triplets.npz", anchor=anchor, positive=positive, negative=negative,
             other=other, similar=similar, sign=2 * similar - 1)


def speakers() -> None:
    # Speaker verification: 8 speakers x 6 utterances, 32-dim embeddings, shuffled.
    k, m, d = 8, 6, 32
    centres = rng.normal(size=(k, d))
    labels = np.repeat(np.arange(100, 100 + k), m)
    rng.shuffle(labels)
    emb = centres[labels - 100] + rng.normal(0, 0.8, (k * m, d))
    np.savez(HERE / "embeddings" / "speakers.npz", embeddings=emb, speakers=labels)


def segmentation() -> None:
    # 12 predicted 16x16 foreground masks (probabilities) and their binary ground truth.
    n, h = 12, 16
    yy, xx = np.mgrid[0:h, 0:h]
    masks, probs = [], []
    for _ in range(n):
        cy, cx, r = rng.uniform(4, 12), rng.uniform(4, 12), rng.uniform(2, 5)
        truth = ((yy - cy) ** 2 + (xx - cx) ** 2 <= r * r).astype(float)
        shifted = ((yy - cy - rng.normal(0, 1)) ** 2 + (xx - cx - rng.normal(0, 1)) ** 2) / (r * r)
        probs.append(1 / (1 + np.exp(4 * (shifted - 1))))
        masks.append(truth)
    out = HERE / "segmentation"
    out.mkdir(parents=True, exist_ok=True)
    np.savez(out / "masks.npz", probs=np.array(probs), masks=np.array(masks))


def faces() -> None:
    # ArcFace head outputs: cosines between 40 face embeddings and 10 identity centres.
    n, c, d = 40, 10, 24
    centres = rng.normal(size=(c, d))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    labels = rng.integers(0, c, n)
    emb = centres[labels] + rng.normal(0, 0.15, (n, d))
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    np.savez(HERE / "embeddings" / "faces.npz", cosine=emb @ centres.T, labels=labels)


def counts() -> None:
    # Daily bike rentals (counts) with a model's log-rate and a predicted mean/variance.
    n = 120
    log_rate = rng.normal(3.0, 0.5, n)
    observed = rng.poisson(np.exp(log_rate + rng.normal(0, 0.1, n)))
    mean = np.exp(log_rate)
    var = mean * rng.uniform(0.8, 1.5, n)
    write_csv(HERE / "regression" / "counts.csv", ["log_rate", "mean", "var", "observed"],
              [log_rate, mean, var, observed], fmt="%.6g")


def outliers() -> None:
    # Flat prices ($100k) against size (m²): true line price = 0.02·size + 0.5, noise 0.1, and 6
    # gross data-entry errors on the largest flats (prices entered in the wrong unit).
    n = 120
    size = rng.uniform(30, 200, n)
    price = 0.02 * size + 0.5 + rng.normal(0, 0.1, n)
    big = np.argsort(size)[-6:]
    price[big] = price[big] / 10.0
    write_csv(HERE / "regression" / "outliers.csv", ["size_m2", "price"], [size, price], fmt="%.6g")


def submission() -> None:
    # A Kaggle-style pair: the truth sorted by id, a submission as pandas wrote it from a shuffled
    # frame (its default index on), rows in another order: pair them with --on id.
    import pandas as pd

    r = np.random.default_rng(15)  # (its own generator: the files above do not change)
    n = 300
    ids = np.sort(r.choice(np.arange(10_000, 99_999), n, replace=False))
    labels = (r.uniform(size=n) < 0.4).astype(int)
    probs = np.clip(1 / (1 + np.exp(-r.normal(1.5 * (2 * labels - 1), 1.2))), 1e-4, 1 - 1e-4).round(6)
    d = HERE / "binary"
    pd.DataFrame({"id": ids, "label": labels}).to_csv(d / "truth.csv", index=False)
    pd.DataFrame({"id": ids, "prob": probs}).sample(frac=1, random_state=7).to_csv(d / "submission.csv")


def sequences() -> None:
    # A small speech recogniser's CTC head: 6 utterances x 12 frames x 5 classes (0 = blank,
    # 1-4 = the letters a-d), frames aligned to the words abbc, da, cc, bda, a, dbca.
    r = np.random.default_rng(18)  # (its own generator: the files above do not change)
    words = [[1, 2, 2, 3], [4, 1], [3, 3], [2, 4, 1], [1], [4, 2, 3, 1]]
    lengths = [12, 9, 7, 10, 5, 12]
    n, t, c, s = len(words), 12, 5, 4
    z = r.normal(0, 1, (n, t, c))
    z[:, :, 0] += 1.0  # blanks are common
    for i, (word, frames) in enumerate(zip(words, lengths)):
        path = []  # each label over a run of frames, a blank between repeats
        for j, label in enumerate(word):
            if j and word[j - 1] == label:
                path.append(0)
            path += [label] * max(1, (frames - len(word)) // len(word))
        path += [0] * (frames - len(path))
        z[i, np.arange(frames), path[:frames]] += 4.0
    log_probs = z - z.max(axis=2, keepdims=True)
    log_probs -= np.log(np.exp(log_probs).sum(axis=2, keepdims=True))
    d = HERE / "sequence"
    d.mkdir(parents=True, exist_ok=True)
    np.save(d / "log_probs.npy", log_probs)
    targets = np.full((n, s), -1)
    for i, word in enumerate(words):
        targets[i, :len(word)] = word
    write_csv(d / "targets.csv", [f"y{j}" for j in range(s)], list(targets.T), fmt="%d")
    write_csv(d / "input_lengths.csv", ["input_length"], [np.array(lengths)], fmt="%d")
    write_csv(d / "target_lengths.csv", ["target_length"], [np.array([len(w) for w in words])], fmt="%d")


def multilabel() -> None:
    # A movie tagger: 12 movies x 6 genres, the tagger's logits and the true genres (1-3 each)
    # as multi-hot rows and as torch's index lists padded with -1.
    import pandas as pd

    r = np.random.default_rng(41)  # (its own generator: the files above do not change)
    genres = ["action", "comedy", "drama", "horror", "romance", "scifi"]
    n, c = 12, len(genres)
    tags = np.zeros((n, c), dtype=int)
    for i in range(n):
        tags[i, r.choice(c, int(r.integers(1, 4)), replace=False)] = 1
    logits = (2.5 * (2 * tags - 1) + r.normal(0, 1.4, (n, c))).round(3)
    movies = [f"m{i + 1:02d}" for i in range(n)]
    d = HERE / "multilabel"
    d.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(logits, columns=genres).assign(movie=movies)[["movie", *genres]].to_csv(d / "logits.csv", index=False)
    pd.DataFrame(tags, columns=genres).assign(movie=movies)[["movie", *genres]].to_csv(d / "labels.csv", index=False)
    targets = np.full((n, c), -1)
    for i in range(n):
        on = np.flatnonzero(tags[i])
        targets[i, :on.size] = on
    frame = pd.DataFrame(targets, columns=[f"target{j}" for j in range(c)])
    frame.insert(0, "movie", movies)
    frame.to_csv(d / "targets.csv", index=False)


if __name__ == "__main__":
    regression()
    binary()
    multiclass()
    embeddings()
    speakers()
    segmentation()
    faces()
    counts()
    outliers()
    submission()
    sequences()
    multilabel()
