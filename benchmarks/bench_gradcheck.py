"""gradcheck speed, side by side with torch.autograd.gradcheck (slow mode, every element).

    pip install -e . && pip install torch==2.13.0
    python benchmarks/bench_gradcheck.py

Targets (issue 4): a full per-element check of an elementwise loss on 1,000,000 elements under 2 s;
softmax_ce on 1000x10 logits at least 50x faster than torch.autograd.gradcheck slow mode while
checking every element.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from losscli import get_loss
from losscli.gradcheck import Options
from losscli.gradcheck.check import check_loss


def best_of(fn, repeat=3):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def main() -> None:
    rng = np.random.default_rng(0)
    rows = []

    # 1. elementwise, 1,000,000 elements: the library call and the whole CLI on NPY files
    p, t = rng.normal(size=1_000_000), rng.normal(size=1_000_000)
    for name in ("mse", "huber", "focal"):
        loss = get_loss(name)
        labels = (t > 0).astype(float) if name == "focal" else t
        arrays = dict(zip([r.name for r in loss.inputs], (p, labels)))
        secs, r = best_of(lambda: check_loss(loss, arrays, {}, Options()))
        rows.append((f"{name}, 1e6 elements (API)", secs, f"{r.checked} checked, {r.evaluations} evals, "
                     f"passed={r.passed}"))
    with tempfile.TemporaryDirectory() as d:
        np.save(Path(d) / "p.npy", p)
        np.save(Path(d) / "t.npy", t)
        cmd = [sys.executable, "-m", "losscli", "gradcheck", "mse", f"{d}/p.npy", f"{d}/t.npy", "--format", "json"]
        secs, _ = best_of(lambda: subprocess.run(cmd, check=True, capture_output=True))
        rows.append(("mse, 1e6 elements (CLI, incl. start-up and loading)", secs, ""))

    # 2. softmax_ce on 1000x10: losscli vs torch slow mode on the same input
    z = rng.normal(size=(1000, 10))
    y = rng.integers(0, 10, 1000)
    ce = get_loss("softmax_ce")
    ours, r = best_of(lambda: check_loss(ce, {"logits": z, "labels": y}, {}, Options()))
    rows.append(("softmax_ce 1000x10, losscli", ours, f"{r.checked} checked, {r.evaluations} evals, passed={r.passed}"))
    try:
        import torch
        import torch.nn.functional as F

        zt = torch.tensor(z, requires_grad=True)
        yt = torch.tensor(y)
        fn = lambda x: F.cross_entropy(x, yt, reduction="sum")  # noqa: E731
        theirs, ok = best_of(lambda: torch.autograd.gradcheck(fn, (zt,), fast_mode=False), repeat=1)
        rows.append(("softmax_ce 1000x10, torch.autograd.gradcheck slow mode", theirs,
                     f"{z.size} checked, {2 * z.size} evals, passed={ok}"))
        fast, ok = best_of(lambda: torch.autograd.gradcheck(fn, (zt,), fast_mode=True))
        rows.append(("softmax_ce 1000x10, torch fast mode (one projection)", fast, f"passed={ok}"))
        ratio = theirs / ours
    except ImportError:
        ratio = None

    width = max(len(r[0]) for r in rows)
    print(f"{'case':<{width}}  {'seconds':>9}  notes")
    for name, secs, note in rows:
        print(f"{name:<{width}}  {secs:9.4f}  {note}")
    if ratio is not None:
        print(f"\nlosscli vs torch slow mode on softmax_ce 1000x10: {ratio:.0f}x faster (target >= 50x)")
    print(f"elementwise 1e6 full check: {rows[0][1]:.3f} s (target < 2 s)")


if __name__ == "__main__":
    main()
