"""Target 6: start-up. `losscli --help`, `list`, `info` <= 0.2 s; `compute` on a 1,000-row NPY
pair <= 0.25 s; and which heavy modules each command imports.

    python benchmarks/bench_startup.py
"""

import subprocess

from common import PY, cached_npy, compile_package, run

a, b = cached_npy("preds", (1000,), 1), cached_npy("labels", (1000,), 2)
compile_package()
cases = [("--help", ["--help"]), ("list", ["list"]), ("info huber", ["info", "huber"]),
         ("compute mse (1,000-row NPY)", ["compute", "mse", str(a), str(b), "--format", "value"]),
         ("gradcheck mse", ["gradcheck", "mse", "--format", "json"])]
print(f"{'command':<30} {'wall s (median of 5)':>20}  heavy modules imported")
for name, args in cases:
    wall, rss, _ = run([PY, "-m", "losscli", *args], repeat=5)
    probe = ("import sys, runpy; sys.argv = ['losscli', *%r]\n"
             "try:\n    runpy.run_module('losscli', run_name='__main__')\nexcept SystemExit:\n    pass\n"
             "print(sorted(m for m in ('pandas', 'pyarrow', 'matplotlib', 'torch', 'datasketches', 'rich.table', 'importlib.metadata')"
             " if m in sys.modules), file=sys.stderr)") % (args,)
    heavy = subprocess.run([PY, "-c", probe], capture_output=True, text=True).stderr.strip().splitlines()[-1]
    print(f"{name:<30} {wall:>20.3f}  {heavy}")
