"""--save-grad written as the blocks are computed (issue 14): the file holds what the Python API's
in-memory gradient holds, for every way the reported value's scale is found (known before the run,
found at the end, found otherwise than predicted), in .npy and .npz, to a regular file, standard
output and a device; memory stays at a block; a run that fails part-way leaves the previous file."""

from __future__ import annotations

import io
import json
import os
import stat
import subprocess
import sys

import numpy as np
import pytest

from losscli.api import evaluate


@pytest.fixture
def data(tmp_path):
    rng = np.random.default_rng(7)
    n, c = 97, 5
    logits = rng.normal(size=(n, c)) * 3
    labels = rng.integers(0, c, n)
    ignored = labels.copy()
    ignored[::9] = -100  # out of the mean's denominator: the prescale 1/N is not the scale
    np.save(tmp_path / "z.npy", logits)
    np.save(tmp_path / "y.npy", labels)
    np.save(tmp_path / "yi.npy", ignored)
    np.savetxt(tmp_path / "z.csv", logits, delimiter=",", fmt="%.17g")
    np.savetxt(tmp_path / "y.csv", labels, fmt="%d")
    w = rng.uniform(0.1, 2.0, n)
    np.save(tmp_path / "w.npy", w)
    p = rng.normal(size=n)
    t = p + rng.normal(size=n) * 0.1
    p[5] = np.nan
    np.save(tmp_path / "p.npy", p)
    np.save(tmp_path / "t.npy", t)
    return tmp_path, logits, labels, ignored, w, p, t


def _saved(run, path, *args):
    out = run("compute", *args, "--format", "value", "--block-rows", "10", "--save-grad", path)
    assert out.exit_code == 0, out.stderr
    if str(path).endswith(".npy"):
        return {"": np.load(path)}
    with np.load(path) as npz:
        return dict(npz)


@pytest.mark.filterwarnings("ignore:--nan-policy omit dropped")
@pytest.mark.parametrize("suffix", [".npy", ".npz"])
@pytest.mark.parametrize("case", ["npy mean", "csv mean", "weighted", "sum", "none", "ignored labels",
                                  "omitted rows", "root"])
def test_saved_gradient_is_the_in_memory_one(run, data, case, suffix):
    d, logits, labels, ignored, w, p, t = data
    exact = True
    if case == "npy mean":  # rows known from the header: written times 1/N as they come, nothing left at the end
        args, ref = ("softmax_ce", d / "z.npy", d / "y.npy"), evaluate("softmax_ce", logits, labels)
    elif case == "csv mean":  # rows unknown before the run: the header's shape written at the end
        args, ref = ("softmax_ce", d / "z.csv", d / "y.csv"), evaluate("softmax_ce", logits, labels)
    elif case == "weighted":
        args = ("softmax_ce", d / "z.npy", d / "y.npy", "--weights", d / "w.npy")
        ref = evaluate("softmax_ce", logits, labels, weights=w)
    elif case in ("sum", "none"):
        args = ("softmax_ce", d / "z.npy", d / "y.npy", "--reduction", case)
        ref = evaluate("softmax_ce", logits, labels, reduction=case)
    elif case == "ignored labels":  # predicted 1/97, the mean divides by the 86 kept: rescaled at the end
        args, ref = ("softmax_ce", d / "z.npy", d / "yi.npy"), evaluate("softmax_ce", logits, ignored)
        exact = False
    elif case == "omitted rows":
        args = ("mse", d / "p.npy", d / "t.npy", "--nan-policy", "omit")
        ref = evaluate("mse", p, t, nan_policy="omit")
    else:
        args, ref = ("rmse", d / "p.npy", d / "t.npy", "--nan-policy", "omit"), evaluate("rmse", p, t, nan_policy="omit")
    saved = _saved(run, d / f"g{suffix}", *args)
    (role, expected), = ref.gradients.items()
    got = saved[""] if suffix == ".npy" else saved[role]
    assert got.shape == expected.shape and got.dtype == np.float64
    if exact:
        np.testing.assert_array_equal(got, expected)
    else:
        np.testing.assert_allclose(got, expected, rtol=4 * np.finfo(float).eps, atol=0)
        assert np.array_equal(got == 0, expected == 0)


def test_several_losses_and_the_penalty_in_one_npz(run, data):
    d, logits, labels, *_ = data
    np.save(d / "theta.npy", np.array([[0.5, -2.0], [0.0, 1.5]]))
    saved = _saved(run, d / "g.npz", "softmax_ce,softmax_focal", d / "z.npy", d / "y.npy",
                   "--params", d / "theta.npy", "--l2", "0.1")
    assert list(saved) == ["softmax_ce.logits", "softmax_focal.logits", "params"]
    np.testing.assert_array_equal(saved["softmax_ce.logits"], evaluate("softmax_ce", logits, labels).gradients["logits"])
    np.testing.assert_array_equal(saved["softmax_focal.logits"],
                                  evaluate("softmax_focal", logits, labels).gradients["logits"])
    assert saved["params"].shape == (2, 2)


@pytest.mark.parametrize("suffix", [".npy", ".npz"])
def test_to_standard_output_and_a_device(data, suffix):
    d, logits, labels, *_ = data
    expected = evaluate("softmax_ce", logits, labels).gradients["logits"]
    cmd = [sys.executable, "-m", "losscli", "compute", "softmax_ce", str(d / "z.npy"), str(d / "y.npy"),
           "--format", "value", "-o", str(d / "v.txt"), "--block-rows", "10"]
    piped = subprocess.run(cmd + ["--save-grad", "-"], capture_output=True, timeout=60)
    assert piped.returncode == 0, piped.stderr
    with np.load(io.BytesIO(piped.stdout)) as npz:
        np.testing.assert_array_equal(npz["logits"], expected)
    # a FIFO's reader gets the file once the run has succeeded (nothing before: it is not seekable)
    fifo = d / "fifo"
    os.mkfifo(fifo)
    os.symlink(fifo, d / f"link{suffix}")  # (named .npy/.npz; the link is followed, written in place)
    proc = subprocess.Popen(cmd + ["--save-grad", str(d / f"link{suffix}")], stderr=subprocess.PIPE)
    with open(fifo, "rb") as fh:
        body = fh.read()
    assert proc.wait(timeout=60) == 0, proc.stderr.read() if proc.stderr else ""
    got = np.load(io.BytesIO(body)) if suffix == ".npy" else np.load(io.BytesIO(body))["logits"]
    np.testing.assert_array_equal(got, expected)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode) and os.path.islink(d / f"link{suffix}")


@pytest.mark.parametrize("suffix", [".npy", ".npz"])
def test_a_run_that_fails_after_blocks_were_written_keeps_the_previous_file(run, tmp_path, suffix):
    n = 50_000
    p = np.linspace(-1, 1, n)
    p[-1] = np.nan  # the last block's last row: every block before it has been written
    np.save(tmp_path / "p.npy", p)
    np.save(tmp_path / "t.npy", np.zeros(n))
    target = tmp_path / f"g{suffix}"
    target.write_bytes(b"previous")
    os.chmod(target, 0o640)
    out = run("compute", "mse", tmp_path / "p.npy", tmp_path / "t.npy", "--block-rows", "1000",
              "--save-grad", target)
    assert out.exit_code == 2
    assert "NaN" in out.stderr and "row 49999" in out.stderr
    assert target.read_bytes() == b"previous" and (os.stat(target).st_mode & 0o777) == 0o640
    assert sorted(os.listdir(tmp_path)) == ["g" + suffix, "p.npy", "t.npy"]  # no temporary file left


@pytest.mark.parametrize("limit", [4 << 20, 15_999_000])
@pytest.mark.parametrize("suffix", [".npy", ".npz"])
def test_a_disk_that_fills_up_part_way_is_a_clean_error_and_keeps_the_previous_file(tmp_path, suffix, limit):
    """The blocks are written on a thread of their own while the next is computed: a write that
    fails there (past a file-size limit, as on a full disk: early, or inside the last block, where
    a buffered file keeps what it could not write for its close to fail on) is one line naming the
    file (or the temporary directory, for .npz), exit 2, the previous file kept, no temporary left."""
    rng = np.random.default_rng(0)
    np.save(tmp_path / "z.npy", rng.normal(size=(200_000, 10)))  # a 16 MB gradient
    np.save(tmp_path / "y.npy", rng.integers(0, 10, 200_000))
    target = tmp_path / f"g{suffix}"
    target.write_bytes(b"previous")
    limited = (f"import resource, subprocess, sys; resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit})); "
               "sys.exit(subprocess.run(sys.argv[1:]).returncode)")
    out = subprocess.run([sys.executable, "-c", limited, sys.executable, "-m", "losscli", "compute", "softmax_ce",
                          "z.npy", "y.npy", "--format", "value", "--save-grad", target.name, "--block-rows", "20000"],
                         capture_output=True, text=True, timeout=120, cwd=tmp_path,
                         env={**os.environ, "TMPDIR": str(tmp_path)})
    assert out.returncode == 2 and out.stdout == ""
    why = f"File too large: this process may write files of at most {limit:,} bytes (the shell's ulimit -f); " \
        "raise that limit, or write less\n"
    expected = (f"Error: g.npy: cannot write: {why}" if suffix == ".npy" else
                f"Error: --save-grad: cannot write a temporary file in {tmp_path}: {why}")
    assert out.stderr == expected
    assert target.read_bytes() == b"previous"
    assert sorted(os.listdir(tmp_path)) == sorted(["g" + suffix, "y.npy", "z.npy"])


@pytest.mark.parametrize("suffix", [".npy", ".npz"])
def test_memory_is_a_block_not_the_gradient(tmp_path, suffix):
    """300,000 x 100 logits: the gradient is 240 MB. Held in memory (as before this test), the
    run peaked at 318 MB; streamed, at 107 MB, and it stays at the blocks whatever the size."""
    n, c = 300_000, 100
    rng = np.random.default_rng(0)
    np.save(tmp_path / "z.npy", rng.normal(size=(n, c)))
    np.save(tmp_path / "y.npy", rng.integers(0, c, n))
    script = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True); "
              "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    out = subprocess.run([sys.executable, "-c", script, sys.executable, "-m", "losscli", "compute", "softmax_ce",
                          str(tmp_path / "z.npy"), str(tmp_path / "y.npy"), "--format", "value",
                          "--save-grad", str(tmp_path / f"g{suffix}")], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    peak_mb = int(out.stdout.split()[-1]) / 1024
    assert peak_mb < 240, f"peak {peak_mb:.0f} MB: the gradient (240 MB) was held"
    g = np.load(tmp_path / "g.npy", mmap_mode="r") if suffix == ".npy" else None
    if g is not None:
        assert g.shape == (n, c) and abs(float(g[:1000].sum())) < 1e-12


# -- value and gradient from one call (Loss.value_and_gradient) -----------------------------------
@pytest.mark.parametrize("given", [{}, {"class_weights": [0.5, 1.0, 2.0, 1.0, 3.0]}, {"label_smoothing": 0.1}])
@pytest.mark.parametrize("labels, weights", [("y.npy", False), ("yi.npy", False), ("y.npy", True)])
def test_softmax_ce_value_and_gradient_from_one_softmax_are_the_two_apart_bit_for_bit(run, data, given, labels,
                                                                                     weights):
    """--save-grad takes softmax_ce's per-sample losses and gradient from one e^x: the same bits as
    the loss function and its gradient function give, called apart (ignored labels, class weights,
    label smoothing, per-sample weights)."""
    from losscli import get_loss

    d = data[0]
    extra = ["--weights", d / "w.npy"] if weights else []
    params = [a for k, v in given.items() for a in ("-p", f"{k}={','.join(map(str, v)) if isinstance(v, list) else v}")]
    out = run("compute", "softmax_ce", d / "z.npy", d / labels, *params, *extra, "--reduction", "sum",
              "--per-sample", "--format", "json", "--save-grad", d / "g.npy")
    assert out.exit_code == 0, out.stderr
    loss = get_loss("softmax_ce")
    arrays, resolved = loss.validated((np.load(d / "z.npy"), np.load(d / labels)), given)
    cotangent = np.load(d / "w.npy") if weights else None
    expected_grad = loss.gradient_of(arrays, resolved, cotangent)["logits"]
    expected = np.asarray(loss.fn(*arrays.values(), **resolved))
    assert np.array_equal(np.asarray(json.loads(out.stdout)["results"][0]["per_sample"]), expected)
    assert np.array_equal(np.load(d / "g.npy"), expected_grad)


def test_save_grad_calls_a_loss_s_value_and_gradient_once_per_block(run, tmp_path):
    """A loss registered with .value_and_gradient: compute --save-grad calls it instead of the loss
    and its gradient (one call for the block); compute without --save-grad calls the loss alone."""
    from losscli import register_loss, unregister_loss

    calls: list[str] = []

    @register_loss("sq_once", inputs=("predictions", "labels"))
    def sq_once(p, t):
        calls.append("loss")
        return (p - t) ** 2

    @sq_once.gradient
    def _sq_grad(p, t):
        calls.append("gradient")
        return {"predictions": 2 * (p - t)}

    @sq_once.value_and_gradient
    def _sq_both(p, t):
        calls.append("both")
        d = p - t
        return d * d, {"predictions": 2 * d}

    try:
        rng = np.random.default_rng(3)
        p, t = rng.normal(size=50), rng.normal(size=50)
        np.save(tmp_path / "p.npy", p)
        np.save(tmp_path / "t.npy", t)
        out = run("compute", "sq_once", tmp_path / "p.npy", tmp_path / "t.npy", "--format", "value",
                  "--save-grad", tmp_path / "g.npy")
        assert out.exit_code == 0, out.stderr
        assert calls == ["both"]
        np.testing.assert_allclose(np.load(tmp_path / "g.npy"), 2 * (p - t) / 50, rtol=1e-15)
        calls.clear()
        assert run("compute", "sq_once", tmp_path / "p.npy", tmp_path / "t.npy", "--format", "value").exit_code == 0
        assert calls == ["loss"]
    finally:
        unregister_loss("sq_once")


def test_a_batch_coupled_loss_cannot_register_value_and_gradient():
    from losscli import register_loss, unregister_loss
    from losscli.errors import RegistrationError

    @register_loss("batch_once", inputs=("predictions", "labels"), coupling="batch")
    def batch_once(p, t):
        return (p - t.mean()) ** 2

    try:
        with pytest.raises(RegistrationError, match="batch-coupled loss's weighted gradient needs its cotangent"):
            batch_once.value_and_gradient(lambda p, t: (None, None))
    finally:
        unregister_loss("batch_once")


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("suffix", [".npy", ".npz"])
def test_gradient_blocks_in_any_layout_or_memory_are_saved_as_given(run, tmp_path, reduction, suffix, order):
    """The blocks are written on a thread of their own after the loss has moved on: a gradient
    returned in Fortran order, or in a buffer the loss overwrites at its next call, is saved as it
    was when returned (mean: each block scaled, sum: copied)."""
    from losscli import Input, register_loss, unregister_loss

    reused = {}

    @register_loss("sq_layout", inputs=(Input("predictions", "N,C"), Input("labels", "=predictions")))
    def sq_layout(p, t):
        return ((p - t) ** 2).sum(axis=1)

    @sq_layout.gradient
    def _grad(p, t):
        buffer = reused.setdefault(p.shape, np.empty(p.shape, order=order))  # the same memory each call
        np.multiply(p - t, 2.0, out=buffer)
        return {"predictions": buffer}

    try:
        rng = np.random.default_rng(5)
        p, t = rng.normal(size=(5000, 3)), rng.normal(size=(5000, 3))
        np.save(tmp_path / "p.npy", p)
        np.save(tmp_path / "t.npy", t)
        out = run("compute", "sq_layout", tmp_path / "p.npy", tmp_path / "t.npy", "--reduction", reduction,
                  "--block-rows", "700", "--format", "value", "--save-grad", tmp_path / f"g{suffix}")
        assert out.exit_code == 0, out.stderr
        saved = np.load(tmp_path / f"g{suffix}")
        saved = saved if suffix == ".npy" else saved[saved.files[0]]
        np.testing.assert_allclose(saved, 2 * (p - t) / (5000 if reduction == "mean" else 1), rtol=1e-15, atol=0)
    finally:
        unregister_loss("sq_layout")


@pytest.mark.parametrize("suffix, several", [(".npz", False), (".npy", False), (".npz", True)])
def test_rows_paired_by_key_are_saved_in_each_input_s_own_order(run, tmp_path, suffix, several):
    """Review 87: with --on, the rows come in the first input's order, less those --on-missing drop
    leaves out; the gradient of every input was saved in that order: a second input's array was in
    the first one's key order, and a dropped row shifted every later one (g[7] was row 8's). Each
    input's gradient is saved in its own file's order, its own length, NaN where no row was computed."""
    rng = np.random.default_rng(11)
    n = 9
    ids = rng.permutation(n) + 100  # (x1.csv's rows: ids in no order)
    a, b, y = rng.normal(size=n), rng.normal(size=n), np.where(rng.random(n) < 0.5, -1.0, 1.0)
    keep = np.flatnonzero(ids != 104)  # (x2.csv has no row for id 104)
    order = rng.permutation(keep)  # (x2.csv's rows, in another order)

    def write(name, rows, values):
        (tmp_path / name).write_text("id,v\n" + "".join(f"{ids[k]},{float(values[k])!r}\n" for k in rows))

    write("x1.csv", range(n), a)
    write("x2.csv", order, b)
    write("y.csv", range(n)[::-1], y)
    if suffix == ".npy" or several:  # (one differentiable input: predictions, paired with x2's rows as targets)
        args = ["mse,mae" if several else "mse", tmp_path / "x1.csv", tmp_path / "x2.csv"]
    else:
        args = ["margin_ranking", tmp_path / "x1.csv", tmp_path / "x2.csv", tmp_path / "y.csv", "-p", "margin=10"]
    out = run("compute", *args, "--on", "id", "--on-missing", "drop", "--save-grad", tmp_path / f"g{suffix}",
              "--format", "value")
    assert out.exit_code == 0, out.stderr
    saved = np.load(tmp_path / f"g{suffix}")
    arrays = {"predictions": saved} if suffix == ".npy" else dict(saved)
    first, second = np.full(n, np.nan), np.full(n, np.nan)  # (in x1.csv's order; x2.csv's, below)
    if suffix == ".npy" or several:
        first[keep] = 2 * (a[keep] - b[keep]) / keep.size
        name = "mse.predictions" if several else "predictions"
    else:  # (margin 10: every row's hinge is active, d/dx1 = -y/N, d/dx2 = y/N)
        first[keep], second[keep] = -y[keep] / keep.size, y[keep] / keep.size
        name = "x1"
    got = arrays[name]
    assert got.shape == (n,) and np.isnan(got[ids == 104]).all()  # (the row --on-missing drop left out)
    np.testing.assert_allclose(got, first, rtol=1e-14)
    if several:
        np.testing.assert_allclose(arrays["mae.predictions"], np.sign(first) / keep.size, rtol=1e-14)
    elif suffix == ".npz":
        np.testing.assert_allclose(arrays["x2"], second[order], rtol=1e-14)  # (x2.csv's own order)
