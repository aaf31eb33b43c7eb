"""gradcheck speed, side by side with torch.autograd.gradcheck (slow mode, every element).

    pip install -e . && pip install torch==2.13.0
    python benchmarks/bench_gradcheck.py           # everything
    TORCH_PYTHON=/path/to/venv/bin/python python benchmarks/bench_gradcheck.py batch
                                                   # the batch section; torch from another venv
    python benchmarks/bench_gradcheck.py whole     # issue 17's whole-process figures

Targets (issue 4): a full per-element check of an elementwise loss on 1,000,000 elements under 2 s;
softmax_ce on 1000x10 logits at least 50x faster than torch.autograd.gradcheck slow mode while
checking every element. Issue 17 (the batch section): every element of InfoNCE, MNRL and GE2E at
N = 256, D = 8 checked at least 5x faster than torch slow mode, whole processes against whole
processes, and one element off by 1e-3 relative caught and named.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from losscli import get_loss
from losscli.gradcheck import Options
from losscli.gradcheck.check import check_loss


def best_of(fn, repeat=3):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def main() -> None:
    rng = np.random.default_rng(0)
    rows = []

    # 1. elementwise, 1,000,000 elements: the library call and the whole CLI on NPY files
    p, t = rng.normal(size=1_000_000), rng.normal(size=1_000_000)
    for name in ("mse", "huber", "focal"):
        loss = get_loss(name)
        labels = (t > 0).astype(float) if name == "focal" else t
        arrays = dict(zip([r.name for r in loss.inputs], (p, labels)))
        secs, r = best_of(lambda: check_loss(loss, arrays, {}, Options()))
        rows.append((f"{name}, 1e6 elements (API)", secs, f"{r.checked} checked, {r.evaluations} evals, "
                     f"passed={r.passed}"))
    with tempfile.TemporaryDirectory() as d:
        np.save(Path(d) / "p.npy", p)
        np.save(Path(d) / "t.npy", t)
        cmd = [sys.executable, "-m", "losscli", "gradcheck", "mse", f"{d}/p.npy", f"{d}/t.npy", "--format", "json"]
        secs, _ = best_of(lambda: subprocess.run(cmd, check=True, capture_output=True))
        rows.append(("mse, 1e6 elements (CLI, incl. start-up and loading)", secs, ""))

    # 2. softmax_ce on 1000x10: losscli vs torch slow mode on the same input
    z = rng.normal(size=(1000, 10))
    y = rng.integers(0, 10, 1000)
    ce = get_loss("softmax_ce")
    ours, r = best_of(lambda: check_loss(ce, {"logits": z, "labels": y}, {}, Options()))
    rows.append(("softmax_ce 1000x10, losscli", ours, f"{r.checked} checked, {r.evaluations} evals, passed={r.passed}"))
    try:
        import torch
        import torch.nn.functional as F

        zt = torch.tensor(z, requires_grad=True)
        yt = torch.tensor(y)
        fn = lambda x: F.cross_entropy(x, yt, reduction="sum")  # noqa: E731
        theirs, ok = best_of(lambda: torch.autograd.gradcheck(fn, (zt,), fast_mode=False), repeat=1)
        rows.append(("softmax_ce 1000x10, torch.autograd.gradcheck slow mode", theirs,
                     f"{z.size} checked, {2 * z.size} evals, passed={ok}"))
        fast, ok = best_of(lambda: torch.autograd.gradcheck(fn, (zt,), fast_mode=True))
        rows.append(("softmax_ce 1000x10, torch fast mode (one projection)", fast, f"passed={ok}"))
        ratio = theirs / ours
    except ImportError:
        ratio = None

    width = max(len(r[0]) for r in rows)
    print(f"{'case':<{width}}  {'seconds':>9}  notes")
    for name, secs, note in rows:
        print(f"{name:<{width}}  {secs:9.4f}  {note}")
    if ratio is not None:
        print(f"\nlosscli vs torch slow mode on softmax_ce 1000x10: {ratio:.0f}x faster (target >= 50x)")
    print(f"elementwise 1e6 full check: {rows[0][1]:.3f} s (target < 2 s)")


# -- batch-coupled losses (issue 17): every element at N = 256, D = 8, against torch slow mode -------------
#: torch.autograd.gradcheck(fast_mode=False) on the same .npy inputs, float64, the loss written as a
#: torch user writes it (a scalar: the sum of the per-sample losses, whose gradient losscli checks)
TORCH_SCRIPT = """
import sys
import numpy as np
import torch
import torch.nn.functional as F

name, a_path, b_path = sys.argv[1:4]
a = torch.tensor(np.load(a_path), dtype=torch.float64, requires_grad=True)
b_np = np.load(b_path)


def in_batch(x, y, scale):
    s = F.normalize(x, dim=-1) @ F.normalize(y, dim=-1).T * scale
    return F.cross_entropy(s, torch.arange(x.shape[0]), reduction="sum")


if name in ("infonce", "mnrl"):
    b = torch.tensor(b_np, dtype=torch.float64, requires_grad=True)
    scale = 1 / 0.07 if name == "infonce" else 20.0
    ok = torch.autograd.gradcheck(lambda x, y: in_batch(x, y, scale), (a, b), fast_mode=False)
else:  # ge2e: speaker centroids, each utterance's own centroid without it, softmax over speakers
    labels = torch.tensor(np.unique(b_np, return_inverse=True)[1])
    k = int(labels.max()) + 1
    m = a.shape[0] // k

    def ge2e(e, w=10.0, bias=-5.0):
        sums = torch.zeros(k, e.shape[1], dtype=e.dtype).index_add(0, labels, e)
        own = (sums[labels] - e) / (m - 1)
        ue, uc, uo = F.normalize(e, dim=-1), F.normalize(sums / m, dim=-1), F.normalize(own, dim=-1)
        cos = (ue @ uc.T).scatter(1, labels[:, None], (ue * uo).sum(-1, keepdim=True))
        return F.cross_entropy(w * cos + bias, labels, reduction="sum")

    ok = torch.autograd.gradcheck(ge2e, (a,), fast_mode=False)
print(ok)
"""

#: a copy of infonce whose gradient has one element (key [5, 3]) off by 1e-3 relative
PLANTED = """
from losscli import Input, register_loss
from losscli.catalogue import get_loss

INFONCE = get_loss("infonce")


@register_loss("infonce_planted", inputs=(Input("query", "N,D", "real"), Input("key", "N,D", "real")),
               differentiable=("query", "key"), coupling="batch", formula="test", references=("test",))
def infonce_planted(query, key, *, temperature=0.07):
    return INFONCE.fn(query, key, temperature=temperature)


@infonce_planted.gradient
def _(query, key, *, temperature=0.07, cotangent=None):
    g = INFONCE.grad_fn(query, key, temperature=temperature, cotangent=cotangent)
    g["key"][5, 3] *= 1 + 1e-3
    return g
"""


def _torch_python() -> str | None:
    """The interpreter with torch: $TORCH_PYTHON, else this one if it has torch."""
    import os

    exe = os.environ.get("TORCH_PYTHON") or sys.executable
    probe = subprocess.run([exe, "-c", "import torch"], capture_output=True)
    return exe if probe.returncode == 0 else None


def _whole_processes():
    """Set-up shared by the whole-process sections: threads pinned to 1 for every child (losscli
    and torch alike), the package byte-compiled; returns common.compare and torch's python."""
    import os

    sys.path.insert(0, str(Path(__file__).parent))
    from common import compare, compile_package

    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
        os.environ[var] = "1"
    compile_package()
    return compare, _torch_python()


def batch_section(repeat: int = 3) -> None:
    """InfoNCE, MNRL and GE2E at N = 256, D = 8: whole processes (start-up and imports included),
    threads pinned alike, runs interleaved round-robin, medians; the ratio against torch slow mode."""
    import json

    compare, torch_py = _whole_processes()
    rng = np.random.default_rng(0)
    n, d = 256, 8
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        np.save(t / "a.npy", rng.normal(size=(n, d)))
        np.save(t / "b.npy", rng.normal(size=(n, d)))
        labels = np.repeat(np.arange(n // 8), 8).astype(np.float64)
        rng.shuffle(labels)
        np.save(t / "labels.npy", labels)
        (t / "torch_check.py").write_text(TORCH_SCRIPT)
        (t / "planted.py").write_text(PLANTED)
        cases = {"infonce": ("a.npy", "b.npy"), "mnrl": ("a.npy", "b.npy"), "ge2e": ("a.npy", "labels.npy")}
        print(f"batch-coupled losses, N = {n}, D = {d}, every element; whole processes, threads pinned to 1, "
              f"median of {repeat} interleaved runs")
        print(f"{'loss':<8}  {'losscli s':>9}  {'torch s':>8}  {'ratio':>6}  losscli's record")
        for name, (fa, fb) in cases.items():
            cmds = {"losscli": [sys.executable, "-m", "losscli", "gradcheck", name, str(t / fa), str(t / fb),
                                "--max-elements", "100000", "--format", "json"]}
            if torch_py:
                cmds["torch"] = [torch_py, str(t / "torch_check.py"), name, str(t / fa), str(t / fb)]
            rows = {r[0]: r for r in compare(cmds, repeat)}
            rec = json.loads(rows["losscli"][3])["results"][0]
            ours = rows["losscli"][1]
            theirs = rows["torch"][1] if torch_py else float("nan")
            assert torch_py is None or rows["torch"][3] == "True", rows["torch"][3]
            note = (f"{rec['checked']} of {rec['elements']} checked, {rec['evaluations']} evaluations, "
                    f"{rec.get('verified', '?')} verified, passed={rec['passed']}, couplings={rec.get('couplings')}")
            print(f"{name:<8}  {ours:9.2f}  {theirs:8.2f}  {theirs / ours:5.1f}x  {note}")
        planted = subprocess.run([sys.executable, "-m", "losscli", "--plugin", str(t / "planted.py"), "gradcheck",
                                  "infonce_planted", str(t / "a.npy"), str(t / "b.npy"), "--max-elements",
                                  "100000", "--format", "json", "--top", "1"], capture_output=True, text=True)
        worst = json.loads(planted.stdout)["results"][0]["worst"][0]
        print(f"planted: key[5, 3] off by 1e-3 relative -> exit {planted.returncode}, worst element "
              f"{worst['role']}{worst['index']} {worst['status']} (relative error {worst['rel_error']:.3g})")
    if torch_py is None:
        print("torch not found (set TORCH_PYTHON to an interpreter with torch==2.13.0): no ratio")


#: torch.autograd.gradcheck slow mode on softmax_ce as a torch user writes it (float64, a scalar sum)
TORCH_CE_SCRIPT = """
import sys
import numpy as np
import torch
import torch.nn.functional as F

z = torch.tensor(np.load(sys.argv[1]), dtype=torch.float64, requires_grad=True)
y = torch.tensor(np.load(sys.argv[2]).astype(np.int64))
print(torch.autograd.gradcheck(lambda x: F.cross_entropy(x, y, reduction="sum"), (z,), fast_mode=False))
"""


def _startup_floor(args: list[str]) -> list[str]:
    """A command that imports every module ``losscli ARGS`` imports except gradcheck's own
    (losscli/gradcheck/, losscli/commands/gradcheck.py) and loads its .npy inputs: the start-up no
    change to gradcheck can remove."""
    import json

    probe = ("import contextlib, io, json, runpy, sys\n"
             "sys.argv = ['losscli', *json.loads(sys.argv[1])]\n"
             "with contextlib.redirect_stdout(io.StringIO()):\n"
             "    try:\n"
             "        runpy.run_module('losscli', run_name='__main__')\n"
             "    except SystemExit:\n"
             "        pass\n"
             "print(json.dumps(sorted(m for m in sys.modules if m.startswith('losscli'))))")
    seen = subprocess.run([sys.executable, "-c", probe, json.dumps(args)], capture_output=True, text=True, check=True)
    own = ("losscli.gradcheck", "losscli.commands.gradcheck")
    code = "import numpy as np\n" + "".join(f"import {m}\n" for m in json.loads(seen.stdout) if not m.startswith(own))
    code += "".join(f"np.load({a!r})\n" for a in args if a.endswith(".npy"))
    return [sys.executable, "-c", code]


def whole_section(repeat: int = 5) -> None:
    """Issue 17's end-to-end figures, whole processes (start-up, imports and loading included),
    threads pinned to 1 alike, interleaved, medians (min-max): a 1,000,000-element elementwise
    check (target <= 1 s) and softmax_ce on 1000x10 against torch slow mode (target >= 50x), with
    the floors: python with numpy, and losscli's start-up for that command without gradcheck's own
    modules and work."""
    import json

    compare, torch_py = _whole_processes()
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        np.save(t / "p.npy", rng.normal(size=1_000_000))
        np.save(t / "t.npy", rng.normal(size=1_000_000))
        np.save(t / "y01.npy", (rng.normal(size=1_000_000) > 0).astype(np.float64))
        np.save(t / "z.npy", rng.normal(size=(1000, 10)))
        np.save(t / "y.npy", rng.integers(0, 10, 1000).astype(np.float64))
        (t / "torch_ce.py").write_text(TORCH_CE_SCRIPT)
        ours = [sys.executable, "-m", "losscli", "gradcheck"]
        ce_args = ["gradcheck", "softmax_ce", str(t / "z.npy"), str(t / "y.npy"), "--format", "json"]
        cmds = {"mse 1e6 (losscli)": [*ours, "mse", str(t / "p.npy"), str(t / "t.npy"), "--format", "json"],
                "focal 1e6 (losscli)": [*ours, "focal", str(t / "p.npy"), str(t / "y01.npy"), "--format", "json"],
                "softmax_ce 1000x10 (losscli)": [*ours, "softmax_ce", str(t / "z.npy"), str(t / "y.npy"),
                                                 "--format", "json"],
                "python -c 'import numpy' (the floor)": [sys.executable, "-c", "import numpy"],
                "python -c 'import numpy, click'": [sys.executable, "-c", "import numpy, click"],
                "softmax_ce's start-up without gradcheck (its floor)": _startup_floor(ce_args)}
        if torch_py:
            cmds["softmax_ce 1000x10 (torch slow mode)"] = [torch_py, str(t / "torch_ce.py"), str(t / "z.npy"),
                                                            str(t / "y.npy")]
            cmds["python -c 'import torch' (torch's floor)"] = [torch_py, "-c", "import torch"]
        rows = compare(cmds, repeat)
        print(f"whole processes, threads pinned to 1, median of {repeat} interleaved runs")
        width = max(len(r[0]) for r in rows)
        for name, wall, rss, out in rows:
            note = ""
            if "losscli" in name:
                rec = json.loads(out)["results"][0]
                note = f"{rec['checked']} checked, {rec['evaluations']} evaluations, verdict {rec['verdict']}"
            print(f"{name:<{width}}  {wall:7.3f} s  {rss:6.0f} MB  {note}")
        by = {r[0]: r[1] for r in rows}
        if torch_py:
            theirs = by["softmax_ce 1000x10 (torch slow mode)"]
            floor, numpy_only = by["softmax_ce's start-up without gradcheck (its floor)"], by[
                "python -c 'import numpy' (the floor)"]
            with_click = by["python -c 'import numpy, click'"]
            print(f"softmax_ce 1000x10: torch slow mode / losscli = {theirs / by['softmax_ce 1000x10 (losscli)']:.1f}x; "
                  f"at most {theirs / floor:.1f}x with gradcheck free, {theirs / with_click:.1f}x "
                  f"for a process that only imports numpy and click, {theirs / numpy_only:.1f}x for one that only "
                  "imports numpy")

if __name__ == "__main__":
    if sys.argv[1:2] == ["batch"]:  # batch [RUNS]: medians of RUNS interleaved runs (3)
        batch_section(*(int(a) for a in sys.argv[2:3]))
    elif sys.argv[1:2] == ["whole"]:  # whole [RUNS] (5)
        whole_section(*(int(a) for a in sys.argv[2:3]))
    else:
        main()
        whole_section()
        batch_section()
