"""Reference vectors for the sequence losses (CTC) from PyTorch.

    KERAS_BACKEND=jax /tmp/refvenv/bin/python tests/reference/generate_sequence_reference.py

writes tests/data/sequence_reference.{npz,json} (format: ``reference_files.py``).

Per case, with log_probs stored sample-major (N, T, C) as losscli reads them (PyTorch gets the
time-major transpose):

- ``per_sample``: ``torch.nn.functional.ctc_loss(..., reduction='none', zero_infinity=...)``,
  divided by ``clamp(target_lengths, min=1)`` for ``normalize=target_length``;
- ``mean``: ``ctc_loss(..., reduction='mean')`` for ``normalize=target_length`` (losscli's mean
  of those per-sample values), None for ``normalize=none`` (torch has no mean of raw losses);
- ``grads``: the gradient of the per-sample sum with respect to log_probs AS GIVEN. PyTorch's
  CTC backward returns exp(log_probs) - γ on the frames t < L_i of every sample it computed (the
  gradient it would pass on through a log_softmax); the true derivative of the value with
  respect to its input is -γ. The stored gradient is torch's backward minus exp(log_probs) on
  those frames (times the row's normalisation), and it is checked here, to 1e-12 of its largest
  entry, against autograd of an independent loop-level forward recursion written from Graves et
  al. (2006) in torch, which differentiates the value itself (to 1e-12, or where losses reach
  3e4, to the rounding of log-space terms of that size, 64·ε·max loss).

Cases: seeded random batches (several C, T, S, lengths, blanks), repeated labels at the minimal
feasible input length, empty targets, input length 0, 1-D targets, padding defaults (no length
inputs), unnormalised frames, very peaked frames (log-probabilities 0 and -1e4, on and off the
target path), zero_infinity with rows that have no alignment, and normalize=target_length.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from reference_files import write

SOURCE = ("torch.nn.functional.ctc_loss (values, reduction='mean'); gradient: torch's backward minus "
          "exp(log_probs) on frames t < L_i, = autograd of a loop-level forward recursion in torch")


def _padding_lengths(targets, padding=-1):
    is_pad = targets == padding
    return np.where(is_pad.any(axis=1), np.argmax(is_pad, axis=1), targets.shape[1])


def _loop_log_likelihood(lp, labels, length, blank):
    """log p(labels | lp[:length]) by the forward recursion, one state at a time (torch scalars,
    so autograd differentiates it); unreachable states are None, never -inf (no NaN gradients)."""
    import torch

    ext = [blank]
    for k in labels:
        ext += [int(k), blank]
    u_count = len(ext)
    if length == 0:
        return torch.zeros((), dtype=torch.float64) if len(labels) == 0 else None
    alpha = [None] * u_count
    alpha[0] = lp[0, ext[0]]
    if u_count > 1:
        alpha[1] = lp[0, ext[1]]
    for t in range(1, length):
        new = [None] * u_count
        for u in range(u_count):
            prev = [alpha[u]]
            if u >= 1:
                prev.append(alpha[u - 1])
            if u >= 2 and ext[u] != ext[u - 2]:
                prev.append(alpha[u - 2])
            prev = [p for p in prev if p is not None]
            if prev:
                new[u] = lp[t, ext[u]] + torch.logsumexp(torch.stack(prev), dim=0)
        alpha = new
    ends = [a for a in alpha[-2:] if a is not None] if u_count > 1 else [a for a in alpha if a is not None]
    return torch.logsumexp(torch.stack(ends), dim=0) if ends else None


def compute(case):
    import torch
    import torch.nn.functional as F

    inp, prm = case["inputs"], case["params"]
    lp_ntc = np.asarray(inp["log_probs"], dtype=np.float64)
    n, t, _ = lp_ntc.shape
    targets = np.asarray(inp["targets"]).reshape(n, -1).astype(np.int64)
    il = np.asarray(inp.get("input_lengths", np.full(n, t))).astype(np.int64)
    tl = np.asarray(inp["target_lengths"]).astype(np.int64) if "target_lengths" in inp else \
        _padding_lengths(targets, prm.get("padding", -1))
    blank, zi = prm.get("blank", 0), prm.get("zero_infinity", False)
    normalised = prm.get("normalize", "none") == "target_length"
    scale = 1.0 / np.maximum(tl, 1) if normalised else np.ones(n)

    x = torch.tensor(lp_ntc.transpose(1, 0, 2).copy(), requires_grad=True)
    args = (torch.tensor(targets), torch.tensor(il), torch.tensor(tl))
    per = F.ctc_loss(x, *args, blank=blank, reduction="none", zero_infinity=zi)
    if normalised:  # as torch's reduction='mean' does before averaging
        per = per / torch.tensor(tl).clamp_min(1)
    per.sum().backward()
    torch_grad = x.grad.numpy().transpose(1, 0, 2)
    # the rows torch's backward computed (it returns 0 for rows zero_infinity zeroed)
    computed = ~torch.isinf(F.ctc_loss(x.detach(), *args, blank=blank, reduction="none")).numpy()
    frames = (np.arange(t)[None, :] < il[:, None]) & computed[:, None]
    grad = torch_grad - np.exp(lp_ntc) * (frames * scale[:, None])[:, :, None]

    # the independent check: autograd of the loop-level value
    leaf = torch.tensor(lp_ntc, requires_grad=True)
    total = torch.zeros((), dtype=torch.float64)
    loop_values = []
    for i in range(n):
        ll = _loop_log_likelihood(leaf[i], targets[i, :tl[i]], int(il[i]), blank)
        if ll is None:
            loop_values.append(0.0 if zi else np.inf)
            continue
        total = total - ll * scale[i]
        loop_values.append(-ll.item() * scale[i])
    if total.requires_grad:
        total.backward()
    loop_grad = leaf.grad.numpy() if leaf.grad is not None else np.zeros_like(lp_ntc)
    values = per.detach().numpy()
    assert np.array_equal(np.isinf(values), np.isinf(loop_values)), (case["id"], values, loop_values)
    fin = np.isfinite(values)
    vscale = max(np.max(np.abs(values[fin]), initial=0.0), 1e-300)
    assert np.max(np.abs(values[fin] - np.asarray(loop_values)[fin]), initial=0.0) <= 1e-12 * vscale, case["id"]
    # γ = exp(log α + log β - log p) carries the rounding of its log-space terms: with losses of
    # 3e4 (peaked frames off the target path) that is ~1e-12 relative in any implementation
    gscale = max(np.max(np.abs(grad)), 1e-300)
    gerr = np.max(np.abs(grad - loop_grad)) / gscale
    assert gerr <= max(1e-12, 64 * np.finfo(float).eps * vscale), (case["id"], gerr)
    mean = F.ctc_loss(x.detach(), *args, blank=blank, reduction="mean", zero_infinity=zi).item() if normalised else None
    return {"per_sample": values, "grads": {"log_probs": grad}, "mean": mean}


def _log_softmax(z):
    m = z.max(axis=-1, keepdims=True)
    return z - m - np.log(np.exp(z - m).sum(axis=-1, keepdims=True))


def _labels(rng, n, s, c, blank):
    choices = np.array([k for k in range(c) if k != blank])
    return choices[rng.integers(0, choices.size, (n, s))]


def _repeats(labels, tl):
    return np.array([sum(labels[i, j] == labels[i, j - 1] for j in range(1, tl[i])) for i in range(len(tl))])


def cases() -> list[dict]:
    rng = np.random.default_rng(2006)
    out = []

    def add(cid, inputs, params=None):
        out.append({"id": cid, "loss": "ctc", "params": params or {}, "grads": ["log_probs"],
                    "inputs": inputs, "source": SOURCE})

    def random_batch(n, t, c, s, blank=0, scale=2.0, min_frames=False, junk=True):
        lp = _log_softmax(scale * rng.standard_normal((n, t, c)))
        labels = _labels(rng, n, s, c, blank)
        tl = rng.integers(0, s + 1, n)
        tl[0] = s
        need = tl + _repeats(labels, tl)
        il = need.copy() if min_frames else rng.integers(need, t + 1)
        pad = rng.integers(-1, c, (n, s)) if junk else np.full((n, s), -1)
        targets = np.where(np.arange(s)[None, :] < tl[:, None], labels, pad)
        return {"log_probs": lp, "targets": targets.astype(np.float64),
                "input_lengths": il.astype(np.float64), "target_lengths": tl.astype(np.float64)}

    # seeded random batches, explicit lengths (padding beyond them arbitrary, blank included)
    for k, (n, t, c, s) in enumerate([(4, 8, 4, 3), (3, 12, 6, 4), (5, 6, 3, 2), (2, 10, 2, 3), (6, 9, 5, 4)]):
        add(f"random-{k}", random_batch(n, t, c, s))
    # other blanks: the last class (TensorFlow/Keras' default position) and one in the middle
    add("blank-last", random_batch(4, 8, 5, 3, blank=4), {"blank": 4})
    add("blank-middle", random_batch(4, 8, 5, 3, blank=2), {"blank": 2})
    # every sample at its minimal feasible input length (S + repeats)
    add("minimal-frames", random_batch(5, 10, 3, 4, min_frames=True))
    # repeated labels: 1 1 1 needs 5 frames; 2 2 needs 3; at and above the minimum
    lp = _log_softmax(rng.standard_normal((4, 7, 3)))
    add("repeats", {"log_probs": lp, "targets": np.array([[1, 1, 1], [2, 2, -1], [1, 1, 1], [2, 2, -1]], float),
                    "input_lengths": np.array([5, 3, 7, 6], float), "target_lengths": np.array([3, 2, 3, 2], float)})
    # empty targets (the loss is -Σ_t log y_t(blank)), input length 0 with an empty target (loss 0)
    lp = _log_softmax(rng.standard_normal((4, 5, 4)))
    add("empty-targets", {"log_probs": lp, "targets": np.array([[-1, -1], [3, -1], [-1, -1], [1, 2]], float),
                          "input_lengths": np.array([5, 4, 0, 2], float), "target_lengths": np.array([0, 1, 0, 2], float)})
    # defaults: no length inputs (every frame; labels before the first -1)
    b = random_batch(5, 7, 4, 3, junk=False)
    add("default-lengths", {"log_probs": b["log_probs"], "targets": b["targets"]})
    # blank-padded targets read with padding=0
    b = random_batch(4, 8, 4, 3, junk=False)
    add("padding-blank", {"log_probs": b["log_probs"], "targets": np.where(b["targets"] < 0, 0, b["targets"])},
        {"padding": 0})
    # 1-D targets: one label per sample
    lp = _log_softmax(rng.standard_normal((5, 4, 3)))
    add("one-label", {"log_probs": lp, "targets": np.array([1, 2, 2, 1, 2], float)})
    # unnormalised frames: probabilities summing to less than 1, and to more than 1
    b = random_batch(4, 8, 4, 3)
    add("unnormalised-below", dict(b, log_probs=b["log_probs"] - 0.7))
    b = random_batch(4, 6, 4, 2)
    add("unnormalised-above", dict(b, log_probs=-rng.uniform(0.0, 0.3, b["log_probs"].shape)))
    # very peaked frames: log-probabilities 0 and -1e4 (the argmax path spells the target, and not)
    n, t, c = 3, 7, 4
    best = rng.integers(0, c, (n, t))
    peaked = np.where(np.arange(c)[None, None, :] == best[:, :, None], 0.0, -1e4)
    best[0] = [0, 1, 1, 0, 2, 0, 0]  # collapses to 1 2: on the path
    peaked[0] = np.where(np.arange(c)[None, :] == best[0][:, None], 0.0, -1e4)
    add("peaked-1e4", {"log_probs": peaked, "targets": np.array([[1, 2, -1], [3, 1, 2], [2, 2, -1]], float),
                       "input_lengths": np.array([7, 7, 5], float), "target_lengths": np.array([2, 3, 2], float)})
    peaked_ties = np.where(np.arange(c)[None, None, :] < 2, -np.log(2.0), -1e4) + np.zeros((n, t, 1))
    add("peaked-ties", {"log_probs": peaked_ties, "targets": np.array([[1, -1], [1, 1], [-1, -1]], float),
                        "input_lengths": np.array([7, 3, 4], float), "target_lengths": np.array([1, 2, 0], float)})
    b = random_batch(4, 9, 5, 3, scale=40.0)
    add("sharp-logits", b)
    # zero_infinity: rows without an alignment count 0 (gradient 0); the others as usual
    b = random_batch(5, 6, 4, 3)
    b["input_lengths"] = np.array([6, 1, 2, 0, 6], float)
    b["targets"][1:] = [[1, 1, 2], [3, -1, -1], [2, 3, 1], [3, 1, 0]]
    b["target_lengths"] = np.array([3, 2, 1, 1, 2], float)
    add("zero-infinity", b, {"zero_infinity": True})
    # normalize=target_length: torch's reduction='mean' (empty targets divided by 1)
    add("normalize-target-length", random_batch(5, 9, 4, 3), {"normalize": "target_length"})
    add("normalize-zero-infinity", dict(b), {"normalize": "target_length", "zero_infinity": True})
    add("normalize-defaults", {"log_probs": _log_softmax(rng.standard_normal((4, 6, 3))),
                               "targets": np.array([[1, 2], [2, -1], [-1, -1], [1, 1]], float)},
        {"normalize": "target_length"})
    return out


def main() -> None:
    import torch

    torch.set_default_dtype(torch.float64)
    computed = [(case, compute(case)) for case in cases()]
    write("sequence", computed, generator="tests/reference/generate_sequence_reference.py",
          library_versions={"torch": torch.__version__})


if __name__ == "__main__":
    main()
