"""Readers (issue 14): `losscli compute` on two single-column CSVs (as pandas' to_csv writes
float64) and on the same data as Parquet, against the one-liners a user would write instead:
polars `scan_csv`, DuckDB's positional join, pyarrow and pandas. Same data, same run, every
command a whole process, interleaved round-robin (medians; peak RSS from /usr/bin/time).

    python benchmarks/bench_readers.py [ROWS ...]      # default: 1000000 10000000

Targets: CSV wall <= 1.0x polars at 10M and more, <= 1.2x at 1M; RSS <= 0.5x polars; four losses
<= 1.3x one loss; Parquet wall and RSS <= 1.0x DuckDB. LOSSCLI_OLD=/path/to/a/checkout adds that
version of losscli as a row (before/after a change).
"""

import os
import sys

from common import PY, cached_csv, compare, compile_package, table

sizes = [int(a) for a in sys.argv[1:]] or [1_000_000, 10_000_000]
compile_package()
FOUR = "mse,mae,huber,log_cosh"


def parquet_of(csv_path, column):
    path = csv_path.with_suffix(".parquet")
    if not path.exists():
        import pyarrow.csv as pacsv
        import pyarrow.parquet as pq

        pq.write_table(pacsv.read_csv(csv_path), path)
    return path


for rows in sizes:
    a, b = cached_csv("preds", rows, 1, "pred"), cached_csv("labels", rows, 2, "label")
    pa_, pb = parquet_of(a, "pred"), parquet_of(b, "label")
    POLARS = (f"import polars as pl; p = pl.scan_csv('{a}'); t = pl.scan_csv('{b}'); "
              "print(pl.concat([p, t], how='horizontal').select(((pl.col('pred') - pl.col('label')) ** 2)"
              ".mean()).collect().item())")
    POLARS4 = (f"import polars as pl; p = pl.scan_csv('{a}'); t = pl.scan_csv('{b}'); d = pl.col('pred') - "
               "pl.col('label'); print(pl.concat([p, t], how='horizontal').select((d ** 2).mean().alias('mse'), d.abs().mean().alias('mae'), "
               "pl.when(d.abs() <= 1).then(0.5 * d ** 2).otherwise(d.abs() - 0.5).mean().alias('huber'), "
               "(d.abs() + (-2 * d.abs()).exp().log1p() - 0.6931471805599453).mean().alias('log_cosh')).collect().row(0))")
    DUCK = (f"import duckdb; print(duckdb.sql(\"select avg((p.pred - t.label) ** 2) from read_csv('{a}') p "
            f"positional join read_csv('{b}') t\").fetchall()[0][0])")
    PYARROW = (f"import pyarrow.csv as c, numpy as np; p = c.read_csv('{a}')['pred'].to_numpy(); "
               f"t = c.read_csv('{b}')['label'].to_numpy(); print(float(np.mean((p - t) ** 2)))")
    PANDAS = (f"import pandas as pd, numpy as np; p = pd.read_csv('{a}')['pred'].to_numpy(); "
              f"t = pd.read_csv('{b}')['label'].to_numpy(); print(float(np.mean((p - t) ** 2)))")
    DUCK_PQ = (f"import duckdb; print(duckdb.sql(\"select avg((p.pred - t.label) ** 2) from '{pa_}' p "
               f"positional join '{pb}' t\").fetchall()[0][0])")
    POLARS_PQ = (f"import polars as pl; p = pl.scan_parquet('{pa_}'); t = pl.scan_parquet('{pb}'); "
                 "print(pl.concat([p, t], how='horizontal').select(((pl.col('pred') - pl.col('label')) ** 2)"
                 ".mean()).collect().item())")
    L = [PY, "-m", "losscli", "compute"]
    cmds = {
        "losscli mse": L + ["mse", str(a), str(b), "--format", "value"],
        "losscli 4 losses": L + [FOUR, str(a), str(b), "--format", "value"],
        "losscli mse (table)": L + ["mse", str(a), str(b)],
        "polars scan_csv": [PY, "-c", POLARS],
        "polars scan_csv, 4 losses": [PY, "-c", POLARS4],
        "duckdb positional join": [PY, "-c", DUCK],
        "pyarrow read_csv": [PY, "-c", PYARROW],
        "pandas read_csv": [PY, "-c", PANDAS],
        "losscli mse, parquet": L + ["mse", str(pa_), str(pb), "--format", "value"],
        "duckdb, parquet": [PY, "-c", DUCK_PQ],
        "polars, parquet": [PY, "-c", POLARS_PQ],
    }
    if os.environ.get("LOSSCLI_OLD"):
        cmds["losscli mse (LOSSCLI_OLD)"] = ["env", f"PYTHONPATH={os.environ['LOSSCLI_OLD']}"] + cmds["losscli mse"]
    results = compare(cmds, repeat=5)
    mb = (a.stat().st_size + b.stat().st_size) / 1e6
    print(f"\n{rows:,} rows: two CSVs of {mb:.0f} MB together, median of 5 interleaved runs")
    table(results, "polars scan_csv")
    wall = {name: (w, rss) for name, w, rss, _ in results}
    print(f"  four losses / one: {wall['losscli 4 losses'][0] / wall['losscli mse'][0]:.2f}x (target <= 1.3x); "
          f"parquet vs duckdb: {wall['losscli mse, parquet'][0] / wall['duckdb, parquet'][0]:.2f}x wall, "
          f"{wall['losscli mse, parquet'][1] / wall['duckdb, parquet'][1]:.2f}x RSS (target <= 1.0x)")
