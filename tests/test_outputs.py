"""Nothing the user owns is destroyed by an output: regular files are replaced atomically with
their mode kept, devices, FIFOs and ``/dev/stdout`` are written in place, symlinks are followed,
and no command writes onto one of its own inputs or its other output, for every command."""

from __future__ import annotations

import io
import json
import os
import shlex
import signal
import stat
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from .conftest import write_csv

ROWS = [(0.5, 0.0), (2.0, 1.0), (-1.0, 1.0)]


@pytest.fixture
def d(tmp_path):
    write_csv(tmp_path / "p.csv", ["pred"], [(r[0],) for r in ROWS])
    write_csv(tmp_path / "y.csv", ["label"], [(r[1],) for r in ROWS])
    write_csv(tmp_path / "b.csv", ["pred"], [(r[0] + 0.1,) for r in ROWS])
    write_csv(tmp_path / "fit.csv", ["x", "y"], [(i, 2 * i + 1) for i in range(6)])
    (tmp_path / "g.toml").write_text('[[gate]]\nloss = "mse"\ninputs = ["p.csv", "y.csv"]\nmax = 10\n')
    np.save(tmp_path / "logits.npy", np.array([0.3, -1.2, 2.0]))
    np.save(tmp_path / "lab.npy", np.array([1.0, 0.0, 1.0]))
    return tmp_path


def commands(d):
    """Every command that writes ``-o``, with its arguments, and the files it reads."""
    return {
        "compute": (["compute", "mse", d / "p.csv", d / "y.csv", "--format", "json"], [d / "p.csv", d / "y.csv"]),
        "compare": (["compare", "mse", d / "b.csv", d / "p.csv", d / "y.csv", "--format", "json"],
                    [d / "b.csv", d / "p.csv", d / "y.csv"]),
        "check": (["check", d / "g.toml", "--format", "json"], [d / "g.toml", d / "p.csv", d / "y.csv"]),
        "gradcheck": (["gradcheck", "bce_logits", d / "logits.npy", d / "lab.npy", "--format", "json"],
                      [d / "logits.npy", d / "lab.npy"]),
        "plot": (["plot", "mse", "--format", "csv", "--points", "3"], []),
        "fit": (["fit", "mse", d / "fit.csv", "--format", "json", "--epochs", "3"], [d / "fit.csv"]),
    }


NAMES = ["compute", "compare", "check", "gradcheck", "plot", "fit"]


@pytest.mark.parametrize("name", NAMES)
def test_output_through_a_symlink_replaces_the_target_and_keeps_the_link(run, d, name):
    args, _ = commands(d)[name]
    target = d / "real.out"
    target.write_text("old")
    link = d / "link.out"
    link.symlink_to(target)
    out = run(*args, "-o", link)
    assert out.exit_code == 0, out.stderr
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_text() != "old" and target.read_text().strip()


@pytest.mark.parametrize("name", NAMES)
def test_output_to_a_fifo_is_written_in_place(run, d, name):
    args, _ = commands(d)[name]
    fifo = d / "pipe"
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(open(fifo, "rb").read()), daemon=True)
    reader.start()
    out = run(*args, "-o", fifo)
    reader.join(10)
    assert out.exit_code == 0, out.stderr
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert got and got[0].strip()


def test_output_to_a_character_device_is_written_in_place(run, d):
    dev = d / "null"
    try:
        os.mknod(dev, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # a /dev/null of our own
    except (PermissionError, OSError):
        pytest.skip("cannot create a device node here")
    for name in NAMES:
        args, _ = commands(d)[name]
        out = run(*args, "-o", dev)
        assert out.exit_code == 0, (name, out.stderr)
        assert stat.S_ISCHR(os.stat(dev).st_mode), name
    assert not [p for p in os.listdir(d) if p.endswith(".tmp")]


@pytest.mark.parametrize("name", ["g.npz", "g.npy", "g"])
def test_gradients_to_a_character_device_are_written_as_they_come(run, d, name):
    """`--save-grad /dev/null`: the device says it is seekable and tells 0, and the NPZ's archive
    ended in zipfile's 'argument out of range' (exit 3). Written as a stream now, as to a FIFO."""
    dev = d / name
    try:
        os.mknod(dev, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # a /dev/null of our own
    except (PermissionError, OSError):
        pytest.skip("cannot create a device node here")
    out = run("compute", "mse", d / "p.csv", d / "y.csv", "--format", "value", "--save-grad", dev)
    assert (out.exit_code, out.stderr) == (0, ""), out.stderr
    assert stat.S_ISCHR(os.stat(dev).st_mode) and not [p for p in os.listdir(d) if p.endswith(".tmp")]


def test_an_output_path_ending_in_a_slash_is_refused(run, d):
    """`-o new.json/` wrote a file named new.json (open() drops the slash): a name that says
    directory is not taken for a file, as cp and touch refuse it."""
    out = run("compute", "mse", d / "p.csv", d / "y.csv", "-o", f"{d / 'new.json'}/")
    assert (out.exit_code, out.stdout) == (2, "")
    assert out.stderr == f"Error: --output {d / 'new.json'}/: names a directory (it ends with /); expected a file name\n"
    assert not (d / "new.json").exists()


def test_a_descriptor_open_for_reading_is_named_when_it_cannot_be_written(d):
    out = subprocess.run(["bash", "-c", '"$@" -o /proc/self/fd/4 4</dev/null', "_", sys.executable, "-m", "losscli",
                          "compute", "mse", str(d / "p.csv"), str(d / "y.csv")], capture_output=True, text=True,
                         timeout=60)
    assert (out.returncode, out.stdout) == (2, "")
    assert out.stderr == "Error: /proc/self/fd/4: cannot write: Bad file descriptor\n"


def test_output_dash_is_standard_output(run, d):
    out = run("compute", "mse", d / "p.csv", d / "y.csv", "--format", "value", "-o", "-")
    assert out.exit_code == 0
    assert float(out.stdout) == pytest.approx(np.mean([(a - b) ** 2 for a, b in ROWS]))
    assert not (d / "-").exists() and not os.path.exists("-")


def test_dev_stdout_is_written_not_replaced(d):
    """A real process: /dev/stdout is a link to fd 1, a pipe here; it must stay what it is."""
    before = os.lstat("/dev/stdout")
    proc = subprocess.run([sys.executable, "-m", "losscli", "compute", "mse", str(d / "p.csv"), str(d / "y.csv"),
                           "--format", "value", "-o", "/dev/stdout"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert float(proc.stdout) == pytest.approx(np.mean([(a - b) ** 2 for a, b in ROWS]))
    after = os.lstat("/dev/stdout")
    assert stat.S_ISLNK(after.st_mode) == stat.S_ISLNK(before.st_mode) and after.st_ino == before.st_ino


@pytest.mark.parametrize("via", ["-o /dev/stdout", "-o /proc/self/fd/1", "-o link", "--report csv:/dev/stderr",
                                 "--report csv:/dev/fd/3"])
def test_a_stream_named_by_a_path_is_written_through_not_replaced(d, via):
    """``>> run.log`` with ``-o /dev/stdout`` (or /dev/fd/N, or a link to one): the result is appended
    to the file the shell opened, which keeps its inode and what it held."""
    option, arg = via.split(" ")
    fd = 3 if arg.endswith("/3") else 2 if "stderr" in arg else 1
    if arg == "link":
        (d / "out.link").symlink_to("/dev/stdout")
        arg = str(d / "out.link")
    log = d / "run.log"
    log.write_text("LOG LINE 1\nLOG LINE 2\n")
    inode = os.stat(log).st_ino
    command = [sys.executable, "-m", "losscli", "compute", "mse", d / "p.csv", d / "y.csv", "--format", "value",
               option, arg]
    proc = subprocess.run(["sh", "-c", f"{' '.join(shlex.quote(str(a)) for a in command)} {fd}>> {log}"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert os.stat(log).st_ino == inode
    lines = log.read_text().splitlines()
    assert lines[:2] == ["LOG LINE 1", "LOG LINE 2"] and len(lines) > 2, lines
    assert str(np.mean([(a - b) ** 2 for a, b in ROWS])) in "\n".join(lines[2:])


def test_standard_output_by_its_path_carries_one_output(d):
    """``--save-grad /dev/stdout`` beside the report on standard output: the two would be mixed."""
    proc = subprocess.run([sys.executable, "-m", "losscli", "compute", "mse", str(d / "p.csv"), str(d / "y.csv"),
                           "--save-grad", "/dev/stdout"], capture_output=True, text=True, timeout=60)
    assert (proc.returncode, proc.stdout) == (2, "")
    assert proc.stderr == ("Error: --save-grad /dev/stdout: standard output is already taken by the report (--format "
                           "table); send one of them to a file\n")


@pytest.mark.parametrize("name", NAMES)
def test_an_existing_file_keeps_its_mode(run, d, name):
    args, _ = commands(d)[name]
    target = d / "report.out"
    target.write_text("old")
    target.chmod(0o644)
    out = run(*args, "-o", target)
    assert out.exit_code == 0, out.stderr
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o644
    assert target.read_text() != "old"


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_a_new_file_is_created_per_the_umask(run, d, umask, mode):
    old = os.umask(umask)
    try:
        out = run("compute", "mse", d / "p.csv", d / "y.csv", "-o", d / "new.txt",
                  "--save-grad", d / "new.npz")
    finally:
        os.umask(old)
    assert out.exit_code == 0, out.stderr
    assert stat.S_IMODE(os.stat(d / "new.txt").st_mode) == mode
    assert stat.S_IMODE(os.stat(d / "new.npz").st_mode) == mode


def test_a_hard_linked_output_updates_every_name(run, d):
    target = d / "report.json"
    target.write_text("old")
    other = d / "also.json"
    os.link(target, other)
    out = run("compute", "mse", d / "p.csv", d / "y.csv", "--format", "json", "-o", target)
    assert out.exit_code == 0, out.stderr
    assert other.read_text() == target.read_text() != "old"
    assert os.stat(other).st_ino == os.stat(target).st_ino


def _aliases(d, path):
    """The same file by its path, a symlink and a hard link."""
    link = d / f"{path.name}.symlink"
    link.symlink_to(path)
    hard = d / f"{path.name}.hardlink"
    os.link(path, hard)
    return [path, link, hard]


@pytest.mark.parametrize("name", [n for n in NAMES if n != "plot"])
def test_no_command_overwrites_one_of_its_inputs(run, d, name):
    args, inputs = commands(d)[name]
    for source in inputs:
        before = source.read_bytes()
        for alias in _aliases(d, source):
            out = run(*args, "-o", alias)
            assert out.exit_code == 2, (name, alias, out.stdout)
            assert out.stdout == ""
            assert out.stderr.startswith(f"Error: {alias}: is also an input ("), out.stderr
            assert out.stderr.rstrip().endswith("refusing to overwrite an input")
            assert source.read_bytes() == before
        for p in d.glob(f"{source.name}.*link"):
            p.unlink()


@pytest.mark.parametrize("output", ["-o", "--save-grad"])
def test_an_input_named_by_a_file_url_is_not_overwritten(run, d, output):
    before = (d / "logits.npy").read_bytes()
    url = f"file://{d / 'logits.npy'}"
    out = run("compute", "bce_logits", url, d / "lab.npy", output, d / "logits.npy")
    assert out.exit_code == 2
    assert out.stderr.strip() == f"Error: {d / 'logits.npy'}: is also an input ({url}); refusing to overwrite an input"
    assert (d / "logits.npy").read_bytes() == before


def test_compute_refuses_to_overwrite_a_parameter_file(run, d):
    np.save(d / "logits2.npy", np.array([[0.1, 0.2], [1.0, -1.0]]))
    np.save(d / "idx.npy", np.array([0.0, 1.0]))
    write_csv(d / "cw.csv", ["w"], [(1.0,), (2.0,)])
    before = (d / "cw.csv").read_bytes()
    out = run("compute", "softmax_ce", d / "logits2.npy", d / "idx.npy", "-p", f"class_weights={d / 'cw.csv'}",
              "-o", d / "cw.csv")
    assert out.exit_code == 2
    assert out.stderr.strip() == (f"Error: {d / 'cw.csv'}: is also an input (class_weights={d / 'cw.csv'}); "
                                  "refusing to overwrite an input")
    assert (d / "cw.csv").read_bytes() == before


def test_output_and_save_grad_must_differ(run, d):
    (d / "same.npz").write_text("old")
    out = run("compute", "mse", d / "p.csv", d / "y.csv", "-o", d / "same.npz", "--save-grad", d / "same.npz")
    assert out.exit_code == 2
    assert out.stderr.strip() == (f"Error: --save-grad {d / 'same.npz'}: is the same file as --output "
                                  f"{d / 'same.npz'}; give two different files")
    assert (d / "same.npz").read_text() == "old"


@pytest.mark.parametrize("report", [[], ["-o", "-"]])
def test_one_stream_carries_one_output(run, d, report):
    """The binary gradients and the report cannot share standard output; a file for either works."""
    out = run("compute", "mse", d / "p.csv", d / "y.csv", *report, "--save-grad", "-")
    assert (out.exit_code, out.stdout) == (2, "")
    taken = "--output" if report else "the report (--format table)"
    assert out.stderr == (f"Error: --save-grad -: standard output is already taken by {taken}; send one of them "
                          "to a file\n")
    piped = subprocess.run([sys.executable, "-m", "losscli", "compute", "mse", d / "p.csv", d / "y.csv",
                            "-o", d / "report.json", "--format", "json", "--save-grad", "-"],
                           capture_output=True, timeout=60)
    assert piped.returncode == 0, piped.stderr
    with np.load(io.BytesIO(piped.stdout)) as grads:
        assert grads["predictions"].shape == (3,)
    assert json.loads((d / "report.json").read_text())["results"][0]["loss"] == "mse"


def test_sigterm_during_a_write_leaves_no_temporary_file(d):
    n = 4_000_000
    np.save(d / "big_p.npy", np.linspace(-1, 1, n))
    np.save(d / "big_t.npy", np.zeros(n))
    proc = subprocess.Popen([sys.executable, "-m", "losscli", "compute", "mse", str(d / "big_p.npy"),
                             str(d / "big_t.npy"), "--format", "value", "--save-grad", str(d / "g.npz")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while time.time() < deadline and proc.poll() is None:
        if any(p.startswith(".g.npz.") for p in os.listdir(d)):
            proc.send_signal(signal.SIGTERM)
            break
        time.sleep(0.001)
    out, err = proc.communicate(timeout=60)
    if proc.returncode == 0:
        pytest.skip("the write finished before the signal could be sent")
    assert proc.returncode == 128 + signal.SIGTERM
    assert err.strip().splitlines()[-1] == "losscli: terminated by SIGTERM"
    assert len(err.strip().splitlines()) == 1
    assert not [p for p in os.listdir(d) if p.endswith(".tmp")]
    assert not (d / "g.npz").exists()


def test_save_grad_as_npy_is_the_npz_member(run, tmp_path):
    np.save(tmp_path / "lg.npy", np.random.default_rng(2).normal(size=(50, 4)))
    np.save(tmp_path / "ix.npy", np.arange(50) % 4)
    args = ("compute", "softmax_ce", tmp_path / "lg.npy", tmp_path / "ix.npy", "--format", "value")
    assert run(*args, "--save-grad", tmp_path / "g.npy").exit_code == 0
    assert run(*args, "--save-grad", tmp_path / "g.npz").exit_code == 0
    with np.load(tmp_path / "g.npz") as npz:
        np.testing.assert_array_equal(np.load(tmp_path / "g.npy"), npz["logits"])
    out = run("compute", "softmax_ce,softmax_focal", tmp_path / "lg.npy", tmp_path / "ix.npy", "--save-grad",
              tmp_path / "two.npy")
    assert (out.exit_code, out.stdout) == (2, "")
    assert out.stderr == (f"Error: --save-grad {tmp_path / 'two.npy'}: an .npy file holds one array, and this run "
                          "has a gradient per loss; name an .npz file\n")
    assert not (tmp_path / "two.npy").exists()


#: the formats each command writes by the suffix of -o (others: its default, a table or a chart)
BY_SUFFIX = {"compute": {"json", "csv", "junit", "markdown"}, "compare": {"json", "junit", "markdown"},
             "check": {"json", "junit", "markdown"}, "gradcheck": {"json", "junit", "markdown"},
             "plot": {"json", "csv"}, "fit": {"json", "csv"}}


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("suffix, fmt", [(".json", "json"), (".JSON", "json"), (".xml", "junit"), (".md", "markdown"),
                                         (".csv", "csv"), (".txt", None)])
def test_the_suffix_of_o_names_the_format_when_format_is_not_given(run, d, name, suffix, fmt):
    """`-o run.json` wrote a rich table into a file named .json (fit's help even promised JSON). A
    suffix that names a format the command does not write (compare -o cmp.csv), or another format
    than --format gives, wrote the default format under that name, exit 0 (review 62): refused."""
    args, _ = commands(d)[name]
    i = args.index("--format")
    args = args[:i] + args[i + 2:]
    out = d / f"out{suffix}"
    result = run(*args, "-o", out)
    if fmt is not None and fmt not in BY_SUFFIX[name]:
        assert (result.exit_code, result.stdout) == (2, "") and not out.exists()
        assert result.stderr.startswith(f"Error: -o {out}: its name ({suffix.lower()}) says {fmt} output, which {name} "
                                        "does not write;"), result.stderr
        return
    assert result.exit_code == 0 and result.stdout == "", result.stderr
    text = out.read_text()
    written = {"{": "json", "<": "junit"}.get(text[:1]) or ("markdown" if text.startswith("| ") else
                                                           "csv" if "," in text.split("\n", 1)[0] and "+--" not in text else "default")
    assert written == (fmt or "default"), text[:300]
    default = "table" if name != "plot" else "terminal"
    if fmt is not None:  # --format given against the suffix: refused, the file left as it was
        result = run(*args, "--format", default, "-o", out)
        assert result.exit_code == 2 and f"says {fmt} output, and --format {default} writes {default}" in result.stderr
        assert out.read_text() == text


@pytest.mark.parametrize("name, output", [("compute", "c.npz"), ("gradcheck", "g.npy"), ("compute", "x.json.gz"),
                                          ("fit", "fit.parquet"), ("check", "r.png"), ("compare", "r.xlsx")])
def test_an_output_named_as_a_file_no_report_is_is_refused(run, d, name, output):
    """-o grads.npy, -o run.json.gz, -o r.png: a table or plain JSON was written under the name, exit
    0 (review 62), for whatever opens it next to fail on. Refused before anything runs."""
    args, _ = commands(d)[name]
    i = args.index("--format")
    result = run(*(args[:i] + args[i + 2:]), "-o", d / output)
    assert (result.exit_code, result.stdout) == (2, "") and not (d / output).exists()
    assert f"Error: -o {d / output}: its name (.{output.rsplit('.', 1)[1]}) says " in result.stderr


def test_plot_draws_a_jpeg_by_its_name(run, d):
    """matplotlib draws JPEG as well as PNG, SVG and PDF; -o plot.jpg wrote a text chart (review 62)."""
    pytest.importorskip("matplotlib")
    result = run("plot", "mse", "--points", "5", "-o", d / "p.jpg")
    assert result.exit_code == 0, result.stderr
    assert (d / "p.jpg").read_bytes()[:3] == b"\xff\xd8\xff"


@pytest.mark.parametrize("args, refused", [
    (["-o", "r.yaml", "--format", "json"], False),  # (JSON is YAML)
    (["-o", "loss.csv", "--format", "value"], False),  # (one number is a CSV)
    (["-o", "r.json", "--format", "ndjson"], False),
    (["--report", "table:r2.npy"], True),  # (review 64: --report was not checked)
    (["--report", "json:r.json.gz"], True),
])
def test_what_a_name_may_hold_beside_the_format_it_names(run, d, args, refused):
    """The refusal of -o named for another format (review 62) refused files that hold the format well
    (review 64), and --report FORMAT:FILE, whose name can mislead as much, was not checked."""
    base, _ = commands(d)["compute"]
    i = base.index("--format")
    args = [a if not a.endswith((".yaml", ".csv", ".json", ".npy", ".gz")) or ":" in a else d / a for a in args]
    args = [f"{a.split(':')[0]}:{d / a.split(':')[1]}" if isinstance(a, str) and ":" in a else a for a in args]
    out = run(*(base[:i] + base[i + 2:]), *args)
    assert out.exit_code == (2 if refused else 0), out.stderr
    if refused:
        assert out.stderr.startswith(f"Error: {args[0]} {args[1]}: its name (."), out.stderr
        given = args[1].split(":")[0]
        assert out.stderr.endswith(f", and --report {given} into a file named otherwise (.txt, say)\n")


def test_what_an_option_asks_for_is_shown_somewhere(run, tmp_path):
    """An option's output may go to a report beside a format that does not show it; --by with a
    gate judges the slices in every format; --per-sample with --reduction none is what value prints."""
    write_csv(tmp_path / "e.csv", ["g", "pred", "label"], [["a", 1, 0], ["b", 2, 1], ["a", 3, 5], ["b", 0, 0]])
    p, y = f"{tmp_path}/e.csv:pred", f"{tmp_path}/e.csv:label"
    r = run("compute", "mse", p, y, "--ci", "--format", "junit", "--report", f"json:{tmp_path}/r.json")
    assert r.exit_code == 0, r.stderr
    assert "interval" in json.loads((tmp_path / "r.json").read_text())["results"][0]["ci"]
    r = run("compute", "mse", p, y, "--by", "g", "--min-slice-size", "1", "--format", "value", "--fail-above", "2")
    assert (r.exit_code, r.stdout) == (1, "1.5\n")
    assert "mse: slice g=a: mean loss 2.5 is above --fail-above 2" in r.stderr and "g=b" not in r.stderr
    r = run("compute", "mse", p, y, "--per-sample", "--reduction", "none", "--format", "value")
    assert (r.exit_code, r.stdout) == (0, "1.0\n1.0\n4.0\n0.0\n")
    r = run("compute", "mse", p, y, "--top", "0", "--format", "csv")
    assert r.exit_code == 0, r.stderr
