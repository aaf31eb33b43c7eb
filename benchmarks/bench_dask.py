"""Issue 21: --engine dask on a real cluster (a `dask scheduler` and `dask worker` processes on
127.0.0.1, no nanny), against the local engine, in one interleaved run:

- a 50M-row CSV pair (two inputs, ~1 GB each, as pandas writes float64) as one file per input,
  and the same rows as 20 shards per input;
- local engine; dask with 1 worker; dask with 2 workers (1 thread each);
- wall time (median of the rounds), peak RSS of the client and of each worker, the efficiency
  (local wall / (dask wall x workers)), and from the scheduler's task stream the time per
  partition, the throughput of one partition and the merge and quantile tasks, which give what a
  bigger cluster would take.

    pip install -e '.[dask]' && python benchmarks/bench_dask.py [ROWS] [ROUNDS]
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from common import CACHE, PY, cached_csv, compile_package

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.dask_cluster import RealCluster  # noqa: E402

SHARDS = 20


def sharded(path: Path, shards: int) -> Path:
    """The CSV's rows as `shards` files of (nearly) equal rows, each with the header."""
    out = path.with_suffix(f".{shards}shards")
    if out.exists():
        return out
    tmp = out.with_suffix(".tmp")
    tmp.mkdir(parents=True, exist_ok=True)
    with open(path) as fh:
        header = fh.readline()
        rows = sum(1 for _ in fh)
    per = -(-rows // shards)
    with open(path) as fh:
        fh.readline()
        for i in range(shards):
            with open(tmp / f"part-{i:03d}.csv", "w") as dst:
                dst.write(header)
                for _, line in zip(range(per), fh):
                    dst.write(line)
    tmp.rename(out)
    return out


def timed(cmd: list[str]) -> tuple[float, float, str]:
    t0 = time.perf_counter()
    res = subprocess.run(["/usr/bin/time", "-f", "%M", *cmd], capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if res.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{res.stderr}")
    return wall, int(res.stderr.strip().splitlines()[-1]) / 1024, res.stdout


def worker_peaks(client) -> list[float]:
    return sorted(client.run(lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024).values())


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000_000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    compile_package()
    preds, labels = cached_csv("preds", rows, 1, "pred"), cached_csv("labels", rows, 2, "label")
    layouts = {"one file": (preds, labels), f"{SHARDS} shards": (sharded(preds, SHARDS), sharded(labels, SHARDS))}
    gb = (preds.stat().st_size + labels.stat().st_size) / 1e9
    print(f"{rows:,} rows x 2 inputs ({gb:.2f} GB of CSV); {os.cpu_count()} cores; rounds: {rounds}")

    from distributed import Client

    clusters = {w: RealCluster(CACHE / f"cluster-{w}", workers=w) for w in (1, 2)}
    clients = {w: Client(c.address, set_as_default=False) for w, c in clusters.items()}
    try:
        for client in clients.values():  # (the task stream is recorded from the first call on)
            client.get_task_stream()
        runs: dict[tuple[str, str], list] = {}
        streams: dict[tuple[str, str], list] = {}
        for _ in range(rounds):
            for layout, (p, y) in layouts.items():
                base = [PY, "-m", "losscli", "compute", "mse,huber", str(p), str(y), "--format", "json"]
                for engine in ("local", "dask 1 worker", "dask 2 workers"):
                    cmd = base if engine == "local" else \
                        base + ["--engine", "dask", "--scheduler", clusters[int(engine[5])].address]
                    t_start = time.time()
                    wall, client_mb, out = timed(cmd)
                    runs.setdefault((layout, engine), []).append((wall, client_mb, json.loads(out)["results"]))
                    if engine != "local":
                        streams[(layout, engine)] = clients[int(engine[5])].get_task_stream(start=t_start)
        print(f"\n{'layout':<10} {'engine':<15} {'wall s':>7} {'x local':>8} {'client MB':>10} {'worker MB':>12} "
              f"{'efficiency':>10}  value (mse)")
        for (layout, engine), rs in runs.items():
            wall = statistics.median(r[0] for r in rs)
            local = statistics.median(r[0] for r in runs[(layout, "local")])
            workers = 0 if engine == "local" else int(engine[5])
            peaks = "-" if not workers else ",".join(f"{v:.0f}" for v in worker_peaks(clients[workers]))
            eff = "-" if not workers else f"{local / (wall * workers):.2f}"
            print(f"{layout:<10} {engine:<15} {wall:7.2f} {wall / local:8.2f} {max(r[1] for r in rs):10.0f} "
                  f"{peaks:>12} {eff:>10}  {rs[-1][2][0]['value']!r}")
        exact = {json.dumps([{k: res["stats"][k] for k in ("min", "p50", "p90", "p99", "max")} | {"count": res["count"]}
                             for res in r[2]]) for rs in runs.values() for r in rs}
        spread = max(abs(r[2][0]["value"] / runs[("one file", "local")][0][2][0]["value"] - 1)
                     for rs in runs.values() for r in rs)
        print(f"\ncount, min, p50, p90, p99, max identical in all {sum(map(len, runs.values()))} runs: "
              f"{len(exact) == 1}; values within {spread:.1e} of the local engine's")
        print("\nfrom the scheduler's task stream (last round): seconds of compute per task kind")
        for key, stream in streams.items():
            kinds: dict[str, list[float]] = {}
            for t in stream:
                name = t["key"].split("-")[0] if isinstance(t["key"], str) else str(t["key"][0]).split("-")[0]
                for ss in t["startstops"]:
                    if ss["action"] == "compute":
                        kinds.setdefault(name, []).append(ss["stop"] - ss["start"])
            parts = kinds.get("_partition", [])
            per_part = statistics.median(parts) if parts else float("nan")
            rate = rows / sum(parts) if parts else float("nan")
            other = {k: sum(v) for k, v in kinds.items() if k != "_partition"}
            print(f"  {key[0]:<10} {key[1]:<15} {len(parts)} partitions, median {per_part:.2f} s, "
                  f"{rate / 1e6:.1f} M rows/s per worker; "
                  + ", ".join(f"{k} {v:.2f} s" for k, v in sorted(other.items())))
    finally:
        for c in clients.values():
            c.close()
        for c in clusters.values():
            c.stop()


if __name__ == "__main__":
    main()
