"""Target 2: `losscli compute mse` on two 10,000,000-row NPY files against the np.load script
(wall <= 1.5x, peak RSS <= 0.5x: losscli memory-maps and reads blocks).

    python benchmarks/bench_npy.py [ROWS]
"""

import sys

from common import PY, cached_npy, run, table

rows = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000_000
a, b = cached_npy("preds", (rows,), 1), cached_npy("labels", (rows,), 2)
NUMPY = f"import numpy as np; p = np.load('{a}'); t = np.load('{b}'); print(float(np.mean((p - t) ** 2)))"
results = [("np.load + numpy script", *run([PY, "-c", NUMPY])),
           ("losscli compute mse", *run([PY, "-m", "losscli", "compute", "mse", str(a), str(b), "--format", "value"]))]
print(f"two {rows:,}-row NPY files")
table(results, "np.load + numpy script")
