"""Per-slice loss (``--by``, like SQL's GROUP BY): one CSV ``pred,label,region`` with S distinct
regions in random order, the squared error summarised per region (count, mean, population std,
min, p50/p90/p99 by linear interpolation as numpy, max). losscli against what a user writes
instead: a pandas ``groupby`` script and DuckDB's ``GROUP BY``. Same data, same run, every command
a whole process writing its result to a file in benchmarks/.cache/, interleaved round-robin (min
and median wall; peak RSS from /usr/bin/time, the largest of the runs).

    python benchmarks/bench_slices.py [--rows 10000000] [--slices 1000] [--repeats 3]

Target (issue): 10M rows x 1,000 slices, wall <= 1.0x and peak RSS <= 0.5x the faster of pandas
and DuckDB. Before timing, one untimed round (which also warms the page cache) checks every
slice's count and value (and whichever of std/min/quantiles/max the report carries) against
pandas, to 1e-9 relative; DuckDB is checked the same way, so the three do the same work.

losscli's JSON: the slices are found as the first list of records that each carry a ``count``
and a ``value`` (or ``stats.mean``), keyed by ``key``, ``region``, ``slice`` or ``by`` (a
one-entry mapping or list there is unwrapped); the script prints where it found them.
"""

import argparse
import importlib.util
import json
import statistics

import numpy as np
from common import CACHE, PY, _once, compile_package

parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
parser.add_argument("--rows", type=int, default=10_000_000, help="rows of eval.csv (default 10,000,000)")
parser.add_argument("--slices", type=int, default=1000, help="distinct regions (default 1,000)")
parser.add_argument("--repeats", type=int, default=3, help="timed runs of each tool, interleaved (default 3)")
args = parser.parse_args()
if not 1 <= args.slices <= args.rows or args.repeats < 1:
    parser.error("need 1 <= --slices <= --rows and --repeats >= 1")
missing = [m for m in ("pandas", "duckdb") if importlib.util.find_spec(m) is None]
if missing:
    raise SystemExit(f"bench_slices.py runs the pandas and DuckDB scripts with {PY}, which lacks "
                     f"{' and '.join(missing)}: pip install {' '.join(missing)}")
import pandas as pd  # after the check above, for its message

TOL = 1e-9
STATS = ("std", "min", "p50", "p90", "p99", "max")


def eval_csv(rows: int, slices: int):
    """``pred,label,region``: every region (r0000..r0999 for 1,000) the same number of times, give
    or take one, in seeded random order; the error's scale differs by region, so slices mixed up
    show. Floats in round-trip precision, as pandas' to_csv writes them (like common.cached_csv)."""
    path = CACHE / f"slices-{rows}-{slices}" / "eval.csv"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        rng = np.random.default_rng(16)
        names = np.array([f"r{k:0{len(str(slices))}d}" for k in range(slices)], dtype=object)
        region = rng.permutation(np.arange(rows) % slices)
        label = rng.normal(size=rows)
        pred = label + rng.normal(size=rows) * (0.5 + rng.random(slices))[region]
        tmp = path.with_suffix(".tmp")
        with open(tmp, "w") as fh:
            fh.write("pred,label,region\n")
            for start in range(0, rows, 1_000_000):
                part = slice(start, start + 1_000_000)
                fh.write("\n".join(f"{p!r},{t!r},{r}" for p, t, r in zip(
                    pred[part].tolist(), label[part].tolist(), names[region[part]].tolist())))
                fh.write("\n")
        tmp.rename(path)
    return path


csv = eval_csv(args.rows, args.slices)
work = csv.parent
out = {"losscli --by": work / "losscli.json", "pandas groupby": work / "pandas.csv",
       "duckdb group by": work / "duckdb.csv"}
PANDAS = f"""
import pandas as pd
d = pd.read_csv({str(csv)!r})
g = ((d.pred - d.label) ** 2).groupby(d.region)
a = g.agg(["count", "mean", "min", "max"])
a.insert(2, "std", g.std(ddof=0))
q = g.quantile([0.5, 0.9, 0.99]).unstack()
q.columns = ["p50", "p90", "p99"]
a.join(q).to_csv({str(out["pandas groupby"])!r})
"""
DUCK = f"""
import duckdb
duckdb.sql("set enable_progress_bar = false")
duckdb.sql('''copy (select region, n as count, mean, std, min, q[1] as p50, q[2] as p90, q[3] as p99, max from (
  select region, count(*) as n, avg(l) as mean, stddev_pop(l) as std, min(l) as min,
         quantile_cont(l, [0.5, 0.9, 0.99]) as q, max(l) as max
  from (select region, (pred - label) ^ 2 as l from read_csv({str(csv)!r})) group by region))
  to {str(out["duckdb group by"])!r} (header)''')
"""
cmds = {
    "losscli --by": [PY, "-m", "losscli", "compute", "mse", f"{csv}:pred", f"{csv}:label", "--by", "region",
                     "--top-slices", "0", "--format", "json", "-o", str(out["losscli --by"])],
    "pandas groupby": [PY, "-c", PANDAS],
    "duckdb group by": [PY, "-c", DUCK],
}
compile_package()


def baseline_slices(path):
    """{region: {count, value, std, ...}} from the pandas or DuckDB CSV."""
    frame = pd.read_csv(path, dtype={"region": str}).set_index("region").rename(columns={"mean": "value"})
    return frame.to_dict("index")


def _key(rec):
    for name in ("key", "region", "slice", "by"):
        if name in rec:
            key = rec[name]
            if isinstance(key, dict) and len(key) == 1:
                key = next(iter(key.values()))
            if isinstance(key, list) and len(key) == 1:
                key = key[0]
            return str(key)
    return None


def _find(node, where):
    """(where, records) of the first list of slice records in losscli's JSON, depth first."""
    if isinstance(node, list) and node and all(isinstance(r, dict) and "count" in r and _key(r) is not None
                                               and ("value" in r or "mean" in r.get("stats", {})) for r in node):
        return where, node
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for k, v in items:
        found = _find(v, f"{where}[{k}]" if isinstance(k, int) else f"{where}.{k}")
        if found:
            return found
    return None


def losscli_slices(path):
    found = _find(json.loads(path.read_text()), "")
    if not found:
        raise SystemExit(f"no per-slice records (count, value and a key) found in {path}")
    where, records = found
    print(f"  losscli's slices: {len(records):,} records at {where.lstrip('.')}")
    slices = {}
    for r in records:
        stats = r.get("stats", {})
        row = {"count": r["count"], "value": r.get("value", stats.get("mean"))}
        row.update({s: stats.get(s, r.get(s)) for s in STATS if stats.get(s, r.get(s)) is not None})
        slices[_key(r)] = row
    return slices


def check(name, got, want):
    """Largest relative difference per field over every slice; exits past TOL or on other keys."""
    if set(got) != set(want):
        extra, lost = sorted(set(got) - set(want)), sorted(set(want) - set(got))
        raise SystemExit(f"{name}: {len(got):,} slices vs pandas' {len(want):,}; not in pandas: {extra[:5]}, "
                         f"missing: {lost[:5]}")
    worst = {}
    for key, row in got.items():
        for field, x in row.items():
            y = want[key][field]
            rel = abs(x - y) / max(abs(x), abs(y)) if x != y else 0.0
            if rel >= worst.get(field, (-1.0,))[0]:
                worst[field] = (rel, key, x, y)
    print(f"  {name} vs pandas, largest relative difference over {len(got):,} slices: " + ", ".join(
        f"{f} {rel:.1e}" + (f" ({key})" if rel else "") for f, (rel, key, _, _) in worst.items()))
    bad = {f: w for f, w in worst.items() if w[0] > TOL}
    if bad:
        raise SystemExit(f"{name} differs from pandas beyond {TOL:g}: " + "; ".join(
            f"{f} of {key}: {x!r} vs {y!r}" for f, (_, key, x, y) in bad.items()))


mb = csv.stat().st_size / 1e6
print(f"{args.rows:,} rows x {args.slices:,} slices: {csv} ({mb:.0f} MB), mse per region")
print("check round (untimed):")
failed = {}
for name, cmd in cmds.items():
    out[name].unlink(missing_ok=True)
    try:
        _once(cmd)
    except SystemExit as err:
        if name != "losscli --by":
            raise
        failed[name] = str(err).strip().splitlines()[-3:]
want = baseline_slices(out["pandas groupby"])
check("duckdb group by", baseline_slices(out["duckdb group by"]), want)
if failed:
    print("  losscli failed, its check is skipped and it is not timed:\n    " + "\n    ".join(failed["losscli --by"]))
else:
    check("losscli --by", losscli_slices(out["losscli --by"]), want)

runs = {name: [] for name in cmds if name not in failed}
for _ in range(args.repeats):
    for name, rs in runs.items():
        if name in failed:
            continue
        try:
            rs.append(_once(cmds[name]))
        except SystemExit as err:
            if name != "losscli --by":
                raise
            failed[name] = str(err).strip().splitlines()[-3:]
            print(f"{name} failed in a timed run:\n    " + "\n    ".join(failed[name]))

print(f"\n{args.repeats} interleaved run(s) each, after the check round")
summary = {name: (min(r[0] for r in rs), statistics.median(r[0] for r in rs), max(r[1] for r in rs))
           for name, rs in runs.items() if rs and name not in failed}
width = max(map(len, cmds))
print(f"{'what':<{width}}  {'min s':>7}  {'median s':>8}  {'peak MB':>8}")
for name in cmds:
    if name in summary:
        lo, med, rss = summary[name]
        print(f"{name:<{width}}  {lo:7.2f}  {med:8.2f}  {rss:8.0f}")
    else:
        print(f"{name:<{width}}  {'failed':>7}")
if "losscli --by" in summary:
    fast = min(("pandas groupby", "duckdb group by"), key=lambda n: summary[n][1])
    mine = summary["losscli --by"]
    for other in ("pandas groupby", "duckdb group by"):
        print(f"losscli / {other}{' (the faster)' if other == fast else ''}: "
              f"{mine[1] / summary[other][1]:.2f}x wall (median), {mine[2] / summary[other][2]:.2f}x peak RSS")
    wall_x, rss_x = mine[1] / summary[fast][1], mine[2] / summary[fast][2]
    print(f"losscli / the faster ({fast}): wall {wall_x:.2f}x, target <= 1.0x {'met' if wall_x <= 1.0 else 'not met'}; "
          f"peak RSS {rss_x:.2f}x, target <= 0.5x {'met' if rss_x <= 0.5 else 'not met'}")
else:
    print("losscli --by failed: no ratios")
