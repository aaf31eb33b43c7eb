"""Target 1 (and 3): `losscli compute mse` on two 10,000,000-row CSVs against the hand-written
pandas/numpy script and scikit-learn, same data, same run: wall <= 1.0x and peak RSS <= 0.5x the
pandas script. Target 3: `mse,mae,huber,log_cosh` costs <= 1.3x a single loss.

    python benchmarks/bench_csv.py [ROWS]
"""

import sys

from common import PY, cached_csv, run, table

rows = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000_000
a = cached_csv("preds", rows, 1, "pred")
b = cached_csv("labels", rows, 2, "label")

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
results = [("pandas + numpy script", *run([PY, "-c", PANDAS]))]
try:
    import sklearn  # noqa: F401

    results.append(("pandas + sklearn mean_squared_error", *run([PY, "-c", SKLEARN])))
except ImportError:
    pass
results.append(("losscli compute mse", *run([PY, "-m", "losscli", "compute", "mse", str(a), str(b), "--format", "value"])))
results.append(("losscli compute mse,mae,huber,log_cosh",
                *run([PY, "-m", "losscli", "compute", "mse,mae,huber,log_cosh", str(a), str(b), "--format", "value"])))
print(f"two {rows:,}-row single-column CSVs ({a.stat().st_size * 2 / 1e6:.0f} MB)")
table(results, "pandas + numpy script")
single = next(r for r in results if r[0] == "losscli compute mse")
multi = next(r for r in results if r[0].startswith("losscli compute mse,"))
print(f"\nfour losses / one loss: {multi[1] / single[1]:.2f}x wall (target <= 1.3x)")
