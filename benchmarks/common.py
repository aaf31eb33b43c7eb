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
    """A single-column CSV of `rows` normal values with a header, written once, each value in
    full round-trip precision (as pandas' to_csv writes float64: ~19.5 bytes a row)."""
    CACHE.mkdir(exist_ok=True)
    path = CACHE / f"{name}-{rows}-repr.csv"
    if not path.exists():
        rng = np.random.default_rng(seed)
        tmp = path.with_suffix(".tmp")
        with open(tmp, "w") as fh:
            fh.write(column + "\n")
            for start in range(0, rows, 1_000_000):
                block = rng.normal(size=min(1_000_000, rows - start))
                fh.write("\n".join(map(repr, block.tolist())))
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


def compile_package() -> None:
    """Byte-compile losscli as `pip install` does, so an editable checkout (or
    PYTHONDONTWRITEBYTECODE=1) does not recompile its modules on every timed run."""
    import compileall

    compileall.compile_dir(str(Path(__file__).resolve().parent.parent / "losscli"), quiet=1)


def _once(cmd: list[str]) -> tuple[float, float, str]:
    res = subprocess.run(["/usr/bin/time", "-f", "%e %M", *cmd], capture_output=True, text=True,
                         env={**os.environ, "NO_COLOR": "1"})
    if res.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{res.stderr}")
    wall, kb = res.stderr.strip().splitlines()[-1].split()
    return float(wall), int(kb) / 1024, res.stdout.strip()


def run(cmd: list[str], repeat: int = 3) -> tuple[float, float, str]:
    """Median wall seconds and max peak RSS (MB) over `repeat` runs, with the last stdout."""
    return compare({"": cmd}, repeat)[0][1:]


def compare(cmds: dict[str, list[str]], repeat: int = 5) -> list[tuple[str, float, float, str]]:
    """Run the commands round-robin `repeat` times (so drift in the machine's speed hits them all
    alike): (name, median wall s, max peak RSS MB, last stdout) for each."""
    runs: dict[str, list] = {name: [] for name in cmds}
    for _ in range(repeat):
        for name, cmd in cmds.items():
            runs[name].append(_once(cmd))
    return [(name, statistics.median(r[0] for r in rs), max(r[1] for r in rs), rs[-1][2])
            for name, rs in runs.items()]


def table(rows: list[tuple], baseline: str) -> None:
    """Print wall/RSS with ratios against the named baseline row."""
    base = next(r for r in rows if r[0] == baseline)
    width = max(len(r[0]) for r in rows)
    print(f"{'what':<{width}}  {'wall s':>8}  {'peak MB':>8}  {'wall x':>7}  {'RSS x':>6}  output")
    for name, wall, rss, out in rows:
        shown = out.splitlines()[0][:40] if out else ""
        print(f"{name:<{width}}  {wall:8.3f}  {rss:8.0f}  {wall / base[1]:7.2f}  {rss / base[2]:6.2f}  {shown}")
