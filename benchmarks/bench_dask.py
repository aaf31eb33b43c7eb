"""Issue 9: 20 CSV shards totalling 20M rows (two inputs), local engine vs --engine dask with 1 and
2 workers on this machine: wall time and peak RSS of the client and of each worker.

    pip install -e '.[dask]' && python benchmarks/bench_dask.py [ROWS]
"""

import resource
import subprocess
import sys
import time

import numpy as np

from common import CACHE, PY, run

def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000_000
    root = CACHE / f"shards-{rows}"
    if not root.exists():
        rng = np.random.default_rng(9)
        for name in ("preds", "labels"):
            (root / name).mkdir(parents=True)
        per = rows // 20
        for i in range(20):
            for name in ("preds", "labels"):
                v = rng.normal(size=per)
                with open(root / name / f"part-{i:03d}.csv", "w") as fh:
                    fh.write(name + "\n" + "\n".join(f"{x:.10g}" for x in v) + "\n")

    args = ["-m", "losscli", "compute", "mse,huber", str(root / "preds"), str(root / "labels"), "--format", "value"]
    wall, rss, out = run([PY, *args], repeat=1)
    print(f"{'engine':<24} {'wall s':>8} {'client MB':>10} {'worker peak MB':>16}  value")
    print(f"{'local':<24} {wall:8.2f} {rss:10.0f} {'-':>16}  {out.splitlines()[0]}")

    from distributed import Client, LocalCluster

    for workers in (1, 2):
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                          host="127.0.0.1") as cluster, Client(cluster) as client:
            t0 = time.perf_counter()
            res = subprocess.run(["/usr/bin/time", "-f", "%M", PY, *args, "--engine", "dask", "--scheduler",
                                  cluster.scheduler_address], capture_output=True, text=True, check=True)
            wall = time.perf_counter() - t0
            client_mb = int(res.stderr.strip().splitlines()[-1]) / 1024
            peaks = client.run(lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
            print(f"{'dask, %d worker(s)' % workers:<24} {wall:8.2f} {client_mb:10.0f} "
                  f"{', '.join(f'{v:.0f}' for v in peaks.values()):>16}  {res.stdout.splitlines()[0]}")


if __name__ == "__main__":
    main()
