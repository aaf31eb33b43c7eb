"""Target 2: `losscli compute mse` on two 10,000,000-row NPY files against the np.load script
(wall <= 1.5x, peak RSS <= 0.5x: losscli reads blocks of rows, never the whole file). Round-robin,
7 runs each (medians); `--format value` prints what the script prints, the table adds the
standard deviation, exact quantiles (8 bytes a row) and the worst samples.

    python benchmarks/bench_npy.py [ROWS]
"""

import sys

from common import PY, cached_npy, compare, compile_package, table

rows = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000_000
a, b = cached_npy("preds", (rows,), 1), cached_npy("labels", (rows,), 2)
compile_package()
NUMPY = f"import numpy as np; p = np.load('{a}'); t = np.load('{b}'); print(float(np.mean((p - t) ** 2)))"
LOSSCLI = [PY, "-m", "losscli", "compute", "mse", str(a), str(b)]
results = compare({"np.load + numpy script": [PY, "-c", NUMPY],
                   "losscli compute mse --format value": LOSSCLI + ["--format", "value"],
                   "losscli compute mse (table)": LOSSCLI}, repeat=7)
print(f"two {rows:,}-row NPY files, median of 7 interleaved runs")
table(results, "np.load + numpy script")
