"""Shared helpers for the benchmarks: seeded cached data, timed subprocess runs with peak RSS."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from pathlib import Path

import numpy as np

CACHE = Path(__file__).parent / ".cache"
PY = sys.executable


def cached_csv(name: str, rows: int, seed: int, column: str) -> Path:
    """A single-column CSV of `rows` normal values with a header, written once."""
    CACHE.mkdir(exist_ok=True)
    path = CACHE / f"{name}-{rows}.csv"
    if not path.exists():
        rng = np.random.default_rng(seed)
        tmp = path.with_suffix(".tmp")
        with open(tmp, "w") as fh:
            fh.write(column + "\n")
            for start in range(0, rows, 1_000_000):
                block = rng.normal(size=min(1_000_000, rows - start))
                fh.write("\n".join(f"{v:.10g}" for v in block))
                fh.write("\n")
        tmp.rename(path)
    return path


def cached_npy(name: str, shape: tuple, seed: int, kind: str = "normal") -> Path:
    CACHE.mkdir(exist_ok=True)
    path = CACHE / f"{name}-{'x'.join(map(str, shape))}.npy"
    if not path.exists():
        rng = np.random.default_rng(seed)
        data = rng.normal(size=shape) if kind == "normal" else rng.integers(0, shape[-1] if len(shape) > 1 else 100, shape[0]).astype(np.int64)
        np.save(path, data)
    return path


def run(cmd: list[str], repeat: int = 3) -> tuple[float, float, str]:
    """Median wall seconds and max peak RSS (MB) over `repeat` runs, with the last stdout."""
    walls, rss, out = [], [], ""
    for _ in range(repeat):
        res = subprocess.run(["/usr/bin/time", "-f", "%e %M", *cmd], capture_output=True, text=True,
                             env={**os.environ, "NO_COLOR": "1"})
        if res.returncode != 0:
            raise SystemExit(f"failed: {' '.join(cmd)}\n{res.stderr}")
        wall, kb = res.stderr.strip().splitlines()[-1].split()
        walls.append(float(wall))
        rss.append(int(kb) / 1024)
        out = res.stdout
    return statistics.median(walls), max(rss), out.strip()


def table(rows: list[tuple], baseline: str) -> None:
    """Print wall/RSS with ratios against the named baseline row."""
    base = next(r for r in rows if r[0] == baseline)
    width = max(len(r[0]) for r in rows)
    print(f"{'what':<{width}}  {'wall s':>8}  {'peak MB':>8}  {'wall x':>7}  {'RSS x':>6}  output")
    for name, wall, rss, out in rows:
        print(f"{name:<{width}}  {wall:8.3f}  {rss:8.0f}  {wall / base[1]:7.2f}  {rss / base[2]:6.2f}  {out[:40]}")
