"""Pairing rows by key (issue 15, ``--on``): a submission whose rows are shuffled against a truth
file, both ``id,value`` CSVs with integer ids, MSE over the matched rows. losscli against what a
user writes instead: pandas ``merge``, DuckDB's join, polars' join. Same data, same run, every
command a whole process, interleaved round-robin (medians; peak RSS from /usr/bin/time).

    python benchmarks/bench_join.py [ROWS ...]      # default: 1000000 10000000

Two kinds of ids: 7 apart (losscli sorts them) and consecutive (looked up in a table); both
shuffled in the submission.

What losscli holds: every input whole, its key column as Arrow strings (a CSV's keys are
compared as written) plus its selected values as float64, and one int64 row index per input.
"""

import sys

import numpy as np

from common import CACHE, PY, compare, compile_package, table

sizes = [int(a) for a in sys.argv[1:]] or [1_000_000, 10_000_000]
compile_package()


def files(rows: int, step: int):
    kind = "" if step == 7 else f"-step{step}"
    sub, truth = CACHE / f"join-sub-{rows}{kind}.csv", CACHE / f"join-truth-{rows}{kind}.csv"
    if not truth.exists():
        CACHE.mkdir(exist_ok=True)
        rng = np.random.default_rng(15)
        ids = np.arange(rows) * step + 1_000_003
        label, pred = rng.normal(size=rows), rng.normal(size=rows)
        order = rng.permutation(rows)
        for path, idx, name, values in ((truth, np.arange(rows), "label", label), (sub, order, "pred", pred)):
            with open(path.with_suffix(".tmp"), "w") as fh:
                fh.write(f"id,{name}\n")
                for start in range(0, rows, 1_000_000):
                    part = idx[start:start + 1_000_000]
                    fh.write("\n".join(f"{i},{v!r}" for i, v in zip(ids[part].tolist(), values[part].tolist())))
                    fh.write("\n")
            path.with_suffix(".tmp").rename(path)
    return sub, truth


for rows, step in [(r, st) for r in sizes for st in (7, 1)]:
    s, t = files(rows, step)
    PANDAS = (f"import pandas as pd; m = pd.read_csv('{s}').merge(pd.read_csv('{t}'), on='id'); "
              "print(float(((m.pred - m.label) ** 2).mean()))")
    DUCK = (f"import duckdb; duckdb.sql('set enable_progress_bar = false'); print(duckdb.sql(\"select avg((s.pred - t.label) ** 2) from read_csv('{s}') s "
            f"join read_csv('{t}') t using (id)\").fetchall()[0][0])")
    POLARS = (f"import polars as pl; print(pl.scan_csv('{s}').join(pl.scan_csv('{t}'), on='id')"
              ".select(((pl.col('pred') - pl.col('label')) ** 2).mean()).collect().item())")
    cmds = {
        "losscli --on id": [PY, "-m", "losscli", "compute", "mse", str(s), str(t), "--on", "id", "--format", "value"],
        "pandas merge": [PY, "-c", PANDAS],
        "duckdb join": [PY, "-c", DUCK],
        "polars join": [PY, "-c", POLARS],
    }
    results = compare(cmds, repeat=5)
    mb = (s.stat().st_size + t.stat().st_size) / 1e6
    print(f"\n{rows:,} rows: two id,value CSVs of {mb:.0f} MB together, ids {step} apart, shuffled; median of 5 "
          "interleaved runs")
    table(results, "pandas merge")
    values = {float(out) for _, _, _, out in results}
    assert max(values) - min(values) <= 1e-9 * max(abs(v) for v in values), values
