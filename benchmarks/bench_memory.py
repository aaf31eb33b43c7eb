"""Target 5: a 50,000,000-row CSV pair evaluated with peak RSS under 300 MB; the same losses on
the same data give the same reductions and top-K as a block size of 1/10 (streamed = one-shot up
to block size). Slow to generate the first time (about 1 GB of CSV per file, cached).

    python benchmarks/bench_memory.py [ROWS]
"""

import json
import sys

from common import PY, cached_csv, compile_package, run, table

rows = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000_000
a, b = cached_csv("preds", rows, 5, "pred"), cached_csv("labels", rows, 6, "label")
compile_package()
cmd = [PY, "-m", "losscli", "compute", "mse,huber", str(a), str(b), "--format", "json"]
r1 = run(cmd, repeat=1)
r2 = run(cmd + ["--block-rows", "100000"], repeat=1)
table([("losscli mse,huber (default blocks)", *r1[:2], ""), ("losscli mse,huber (100k-row blocks)", *r2[:2], "")],
      "losscli mse,huber (default blocks)")
j1, j2 = json.loads(r1[2]), json.loads(r2[2])
for x, y in zip(j1["results"], j2["results"]):
    print(f"{x['loss']}: value {x['value']!r} vs {y['value']!r}, same top-K: {x['worst'] == y['worst']}, "
          f"quantiles: {x.get('quantiles', {'exact': True})}")
print(f"peak RSS {r1[1]:.0f} MB for {rows:,} rows (target < 300 MB)")
