"""Target 1 (and 3): `losscli compute mse` on two 10,000,000-row CSVs against the hand-written
pandas/numpy script and scikit-learn, same data, same run: wall <= 1.0x and peak RSS <= 0.5x the
pandas script. Target 3: `mse,mae,huber,log_cosh` costs <= 1.3x a single loss.

The commands run round-robin, 7 times each (medians), so the machine's drift hits them alike.
`--format value` prints what the script prints (the loss); the default table also computes the
standard deviation, exact quantiles and the worst samples, and is shown on its own rows.

    python benchmarks/bench_csv.py [ROWS]
"""

import sys

from common import PY, cached_csv, compare, compile_package, table

rows = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000_000
a = cached_csv("preds", rows, 1, "pred")
b = cached_csv("labels", rows, 2, "label")
compile_package()

PANDAS = f"""
import pandas as pd, numpy as np
p = pd.read_csv('{a}')['pred'].to_numpy(); t = pd.read_csv('{b}')['label'].to_numpy()
print(float(np.mean((p - t) ** 2)))
"""
SKLEARN = f"""
import pandas as pd
from sklearn.metrics import mean_squared_error
p = pd.read_csv('{a}')['pred']; t = pd.read_csv('{b}')['label']
print(mean_squared_error(t, p))
"""
LOSSCLI = [PY, "-m", "losscli", "compute"]
FOUR = "mse,mae,huber,log_cosh"
cmds = {"pandas + numpy script": [PY, "-c", PANDAS]}
try:
    import sklearn  # noqa: F401

    cmds["pandas + sklearn mean_squared_error"] = [PY, "-c", SKLEARN]
except ImportError:
    pass
cmds.update({
    "losscli compute mse --format value": LOSSCLI + ["mse", str(a), str(b), "--format", "value"],
    f"losscli compute {FOUR} --format value": LOSSCLI + [FOUR, str(a), str(b), "--format", "value"],
    "losscli compute mse (table)": LOSSCLI + ["mse", str(a), str(b)],
    f"losscli compute {FOUR} (table)": LOSSCLI + [FOUR, str(a), str(b)],
})
results = compare(cmds, repeat=7)
print(f"two {rows:,}-row single-column CSVs ({(a.stat().st_size + b.stat().st_size) / 1e6:.0f} MB), "
      "median of 7 interleaved runs")
table(results, "pandas + numpy script")
wall = {name: w for name, w, _, _ in results}
for kind in ("--format value", "(table)"):
    print(f"four losses / one loss, {kind}: "
          f"{wall[f'losscli compute {FOUR} {kind}'] / wall[f'losscli compute mse {kind}']:.2f}x wall (target <= 1.3x)")
