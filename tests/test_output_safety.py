"""Outputs that must not harm what the user owns, beyond the paths ``test_outputs.py`` covers: the
file behind a redirected standard input, an empty path, a file the user may not write, the owner,
setuid/setgid bits, extended attributes, ACLs and inode flags (chattr) of a replaced file, an
immutable or append-only file, another user's file, a file with other hard links, and a run that
fails or is stopped after one of its outputs was written."""

from __future__ import annotations

import json
import os
import resource
import shlex
import shutil
import signal
import stat
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from .conftest import write_csv
from .test_outputs import NAMES, commands, d  # noqa: F401 (the fixture)

ROOT = os.geteuid() == 0
ROOT_DIR = Path(__file__).parent.parent
#: capabilities that let root write what its owner could not: without them root is a plain user
#: (uid 0, owning nothing here) for file permissions
USER_CAPS = "dac_override,fowner,dac_read_search,chown,fsetid"
NOBODY = 65534


def losscli(*args, stdin=None, user=False, limit=None, **kw):
    """Run losscli in a process of its own; ``user``: as a user without root's file privileges;
    ``limit``: the largest file it may write (RLIMIT_FSIZE, bytes)."""
    cmd = [sys.executable, "-m", "losscli", *map(str, args)]
    if user:
        if not ROOT:
            pass  # already a plain user
        elif shutil.which("setpriv") is None:
            pytest.skip("setpriv is needed to drop root's file privileges")
        else:
            drop = ",".join(f"-{c}" for c in USER_CAPS.split(","))
            cmd = ["setpriv", f"--bounding-set={drop}", f"--inh-caps={drop}", *cmd]

    def preexec():
        if limit is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return subprocess.run(cmd, stdin=stdin, capture_output=True, text=True, timeout=120, preexec_fn=preexec, **kw)


def refused_input(path, label: str = "standard input") -> str:
    return f"Error: {path}: is also an input ({label}); refusing to overwrite an input\n"


# -- B1: the file standard input is redirected from -------------------------------------------------
@pytest.mark.parametrize("how", ["-o", "--save-grad", "--report", "symlink", "/dev/stdin", "/proc/self/fd/0",
                                 "hardlink"])
def test_the_file_behind_standard_input_is_never_an_output(d, how):  # noqa: F811
    before = (d / "p.csv").read_bytes()
    (d / "p.link").symlink_to(d / "p.csv")
    os.link(d / "p.csv", d / "p.hard")
    target = {"symlink": d / "p.link", "hardlink": d / "p.hard", "/dev/stdin": "/dev/stdin",
              "/proc/self/fd/0": "/proc/self/fd/0"}.get(how, d / "p.csv")
    option = {"--save-grad": ["--save-grad"], "--report": ["--report", f"json:{target}"]}.get(how, ["-o"])
    args = option if how == "--report" else [*option, target]
    with open(d / "p.csv", "rb") as stdin:
        out = losscli("compute", "mse", "-", d / "y.csv", "--format", "value", *args, stdin=stdin)
    assert (out.returncode, out.stdout, out.stderr) == (2, "", refused_input(target, "standard input, -"))
    assert (d / "p.csv").read_bytes() == before


@pytest.mark.parametrize("command, redirect", [
    *((c, r) for c in ("compute", "gradcheck", "compare", "fit", "check") for r in (">>", "1<>", "3>>", "3<>")),
    ("compute", ">> shard"), ("fit -o curve.png", ">>"), ("fit -o curve.png", "1<>")])
def test_a_stream_the_shell_opened_on_an_input_is_never_an_output(d, command, redirect):  # noqa: F811
    """`losscli compute mse p.csv y.csv >> p.csv`, `-o /dev/fd/3 3<> p.csv`: an output sent to a
    stream was never compared with the inputs, and the report was appended to the predictions (or
    written over their first lines): exit 0, the input corrupted, as `cat f >> f` refuses to do.
    ``fit -o curve.png`` draws the curve and still prints its table: that standard output was not
    checked (only the image was), and the table was appended to the data."""
    (d / "sh").mkdir()
    (d / "sh" / "part-0.csv").write_bytes((d / "p.csv").read_bytes())
    (d / "gates.toml").write_text(f'[[gate]]\nloss = "mse"\ninputs = ["{d / "p.csv"}", "{d / "y.csv"}"]\nmax = 10\n')
    (d / "xy.csv").write_text("x,y\n1,2\n2,4\n3,6\n")
    args = {"compute": ["compute", "mse", d / "p.csv", d / "y.csv"],
            "gradcheck": ["gradcheck", "mse", f"{d / 'p.csv'}:pred", f"{d / 'y.csv'}:0"],
            "compare": ["compare", "mse", d / "p.csv", d / "p.csv", d / "y.csv"],
            "fit": ["fit", "mse", d / "xy.csv", "--epochs", "2"],
            "fit -o curve.png": ["fit", "mse", d / "xy.csv", "--epochs", "2", "-o", d / "curve.png"],
            "check": ["check", d / "gates.toml"]}[command]
    target = {"fit": d / "xy.csv", "fit -o curve.png": d / "xy.csv", "check": d / "p.csv"}.get(command, d / "p.csv")
    if redirect == ">> shard":
        args, target = ["compute", "mse", d / "sh", d / "y.csv"], d / "sh" / "part-0.csv"
    before = target.read_bytes()
    fd = 3 if redirect.startswith("3") else 1
    shell = redirect.split()[0] + ' "$T"'  # (the shell opens the input for writing, as a user's script would)
    script = f'"$@" {shell}' if fd == 1 else f'"$@" -o /dev/fd/3 {shell}'
    out = subprocess.run(["bash", "-c", script, "_", sys.executable, "-m", "losscli", *map(str, args)],
                         stdout=subprocess.PIPE if fd == 3 else None, stderr=subprocess.PIPE, text=True, timeout=120,
                         env={**os.environ, "T": str(target)})
    stream = "standard output" if fd == 1 else "descriptor 3"
    assert out.returncode == 2, out.stderr
    assert f": {stream} is an input (" in out.stderr and out.stderr.endswith(
        "): refusing to write into an input; send the output to another file\n") and len(out.stderr.splitlines()) == 1
    assert target.read_bytes() == before


def test_the_file_behind_standard_input_is_refused_even_when_not_read(d):  # noqa: F811
    """``< FILE`` in a script: losscli does not read it here, but the file is the user's input."""
    before = (d / "b.csv").read_bytes()
    for args, read in ((["compute", "mse", d / "p.csv", d / "y.csv"], ""),
                       (["gradcheck", "mse", "-:pred", d / "y.csv"], ", -:pred")):
        with open(d / "b.csv", "rb") as stdin:
            out = losscli(*args, "-o", d / "b.csv", stdin=stdin)
        assert (out.returncode, out.stdout) == (2, "")
        assert out.stderr == refused_input(d / "b.csv", f"standard input{read}")
        assert (d / "b.csv").read_bytes() == before


# -- C3: an empty path ----------------------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_an_empty_output_path_is_named_as_such(run, d, name):  # noqa: F811
    args, _ = commands(d)[name]
    out = run(*args, "-o", "")
    assert (out.exit_code, out.stdout) == (2, "")
    assert out.stderr == "Error: --output: an empty path; name a file to write, or - for standard output\n"


def test_an_empty_save_grad_path_is_named_as_such(run, d):  # noqa: F811
    out = run("compute", "mse", d / "p.csv", d / "y.csv", "--save-grad", "")
    assert (out.exit_code, out.stdout) == (2, "")
    assert out.stderr == "Error: --save-grad: an empty path; name a file to write, or - for standard output\n"


# -- B2: a file the user may not write ------------------------------------------------------------
@pytest.mark.parametrize("option", ["-o", "--save-grad", "--report"])
def test_a_read_only_file_is_refused_as_the_shell_refuses_it(d, option):  # noqa: F811
    target = d / ("ro.npy" if option == "--save-grad" else "ro.txt")
    target.write_bytes(b"previous")
    target.chmod(0o444)
    if ROOT:
        os.chown(target, NOBODY, NOBODY)  # (not the plain user's file either)
    args = ["--report", f"json:{target}"] if option == "--report" else [option, target]
    out = losscli("compute", "mse", d / "p.csv", d / "y.csv", "--format", "value", *args, user=True)
    assert (out.returncode, out.stdout, out.stderr) == (2, "", f"Error: {target}: cannot write: Permission denied\n")
    assert target.read_bytes() == b"previous"
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o444
    assert not [p for p in os.listdir(d) if p.endswith(".tmp")]


@pytest.mark.skipif(not ROOT, reason="root's privilege")
def test_root_may_replace_a_read_only_file_as_the_shell_does(run, d):  # noqa: F811
    target = d / "ro.txt"
    target.write_text("previous")
    target.chmod(0o444)
    out = run("compute", "mse", d / "p.csv", d / "y.csv", "--format", "value", "-o", target)
    assert out.exit_code == 0, out.stderr
    assert float(target.read_text()) == pytest.approx((0.25 + 1.0 + 4.0) / 3)
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o444


def test_a_new_file_in_a_directory_the_user_cannot_write_is_refused_before_the_run(d):  # noqa: F811
    (d / "locked").mkdir()
    (d / "locked").chmod(0o555)
    # (an input that does not exist: the refusal comes before anything is read)
    out = losscli("compute", "mse", d / "p.csv", d / "missing.csv", "-o", d / "locked" / "new.txt", user=True)
    assert (out.returncode, out.stdout) == (2, "")
    assert out.stderr == f"Error: {d / 'locked' / 'new.txt'}: cannot write: Permission denied\n"


# -- B3: what a replaced file keeps -----------------------------------------------------------------
def _acl(entries) -> bytes:
    """A ``system.posix_acl_access`` value: (tag, permissions, id) entries, version 2."""
    return struct.pack("<I", 2) + b"".join(struct.pack("<HHI", t, p, i) for t, p, i in entries)


ANY = 0xFFFFFFFF
#: user::rwx user:1234:r-- group::r-x mask::r-x other::r-x (mode 0755 with one named user)
ACL = _acl([(0x01, 7, ANY), (0x02, 4, 1234), (0x04, 5, ANY), (0x10, 5, ANY), (0x20, 5, ANY)])


def _attributes(path):
    return {n: os.getxattr(path, n) for n in os.listxattr(path)}


@pytest.mark.skipif(not ROOT, reason="giving a file to another user takes root")
@pytest.mark.parametrize("mode", [0o2775, 0o4755, 0o6755, 0o2664])
def test_root_replacing_another_users_file_keeps_owner_setid_bits_and_attributes(run, d, mode):  # noqa: F811
    target = d / "shared.txt"
    target.write_text("previous")
    os.chown(target, NOBODY, NOBODY)
    os.chmod(target, mode)
    try:
        os.setxattr(target, "user.origin", b"kept")
    except OSError:
        pytest.skip("no extended attributes on this file system")
    out = run("compute", "mse", d / "p.csv", d / "y.csv", "--format", "value", "-o", target)
    assert out.exit_code == 0, out.stderr
    st = os.stat(target)
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (NOBODY, NOBODY, mode)
    assert _attributes(target) == {"user.origin": b"kept"}
    assert target.read_text() != "previous"


@pytest.mark.parametrize("output", ["-o", "--save-grad"])
def test_a_replaced_file_keeps_its_acl_and_user_attributes(run, d, output):  # noqa: F811
    target = d / ("g.npy" if output == "--save-grad" else "r.txt")
    target.write_text("previous")
    target.chmod(0o755)
    try:
        os.setxattr(target, "system.posix_acl_access", ACL)
        os.setxattr(target, "user.origin", b"kept")
    except OSError:
        pytest.skip("no ACLs or user attributes on this file system")
    expected = _attributes(target)
    out = run("compute", "mse", d / "p.csv", d / "y.csv", "--format", "value", output, target)
    assert out.exit_code == 0, out.stderr
    assert _attributes(target) == expected
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o755
    assert target.read_bytes() != b"previous"


def _chattr(flags: str, path) -> None:
    """``chattr`` as users run it (skips where the tool or the file system has no such flags)."""
    if shutil.which("chattr") is None:
        pytest.skip("chattr is needed")
    out = subprocess.run(["chattr", flags, str(path)], capture_output=True, text=True)
    if out.returncode != 0:
        pytest.skip(f"chattr {flags}: {out.stderr.strip()}")


def _lsattr(path) -> set[str]:
    return set(subprocess.run(["lsattr", "-d", str(path)], capture_output=True, text=True,
                              check=True).stdout.split()[0]) - {"-", "e"}


@pytest.mark.parametrize("output", ["-o", "--save-grad", "--report"])
def test_a_replaced_file_keeps_its_inode_flags(run, d, output):  # noqa: F811
    """chattr's no-dump, no-atime and synchronous flags survive the rename that replaces the file;
    so does DAX (direct access, x: lost, review 104 #9), where the file system takes it."""
    target = d / {"-o": "r.txt", "--save-grad": "g.npy", "--report": "r.json"}[output]
    target.write_text("previous")
    _chattr("+dAS", target)
    dax = subprocess.run(["chattr", "+x", str(target)], capture_output=True).returncode == 0
    args = ["--report", f"json:{target}"] if output == "--report" else [output, target]
    out = run("compute", "mse", d / "p.csv", d / "y.csv", "--format", "value", *args)
    assert out.exit_code == 0, out.stderr
    assert _lsattr(target) == {"d", "A", "S", *("x" * dax)}
    assert target.read_bytes() != b"previous"
    (d / "plain.json").write_text("previous")  # (and a file without them gets none from its directory)
    _chattr("+A", d)
    try:
        _chattr("-A", d / "plain.json")
        assert run("compute", "mse", d / "p.csv", d / "y.csv", "-o", d / "plain.json", "--format", "json").exit_code == 0
        assert _lsattr(d / "plain.json") == set()
    finally:
        _chattr("-A", d)


@pytest.mark.skipif(not ROOT, reason="chattr +i and +a take root")
@pytest.mark.parametrize("flag, what", [("i", "immutable (chattr +i)"), ("a", "append only (chattr +a)")])
@pytest.mark.parametrize("output", ["-o", "--save-grad"])
def test_an_immutable_or_append_only_file_is_refused_before_the_run(run, d, flag, what, output):  # noqa: F811
    target = d / ("g.npy" if output == "--save-grad" else "r.txt")
    target.write_text("previous")
    _chattr(f"+{flag}", target)
    try:
        # (an input that does not exist: the refusal comes before anything is read)
        out = run("compute", "mse", d / "p.csv", d / "missing.csv", output, target)
        assert (out.exit_code, out.stdout) == (2, "")
        assert out.stderr == f"Error: {target}: cannot write: the file is {what}; lift that with chattr, or write elsewhere\n"
        assert target.read_text() == "previous"
        assert not [p for p in os.listdir(d) if p.endswith(".tmp")]
    finally:
        _chattr(f"-{flag}", target)


@pytest.mark.skipif(not ROOT, reason="a file of another user takes root to make")
@pytest.mark.parametrize("sticky", [False, True])
def test_a_user_writes_another_users_writable_file_in_place(d, sticky):  # noqa: F811
    """As the shell's ``>``: a new file would be this user's (and in a sticky directory could not
    be renamed over it), so the file itself is written: same inode, owner and group."""
    where = d / "dir"
    where.mkdir()
    where.chmod(0o1777 if sticky else 0o777)
    target = where / "shared.txt"
    target.write_text("previous")
    os.chown(target, NOBODY, NOBODY)
    target.chmod(0o666)
    before = os.stat(target)
    out = losscli("compute", "mse", d / "p.csv", d / "y.csv", "--format", "value", "-o", target, user=True)
    assert out.returncode == 0, out.stderr
    after = os.stat(target)
    assert (after.st_ino, after.st_uid, after.st_gid, stat.S_IMODE(after.st_mode)) == \
        (before.st_ino, NOBODY, NOBODY, 0o666)
    assert float(target.read_text()) == pytest.approx((0.25 + 1.0 + 4.0) / 3)
    assert not [p for p in os.listdir(where) if p.endswith(".tmp")]


# -- hard links: written in place, and only once the output is complete ---------------------------
@pytest.fixture
def big(tmp_path):
    """Inputs whose per-sample CSV (~25 MB) is far bigger than their gradient (1.6 MB)."""
    rng = np.random.default_rng(0)
    n = 200_000
    np.save(tmp_path / "bp.npy", rng.normal(size=n))
    np.save(tmp_path / "bt.npy", rng.normal(size=n))
    return tmp_path


LIMIT = 4 * 2**20  # bytes: the gradients fit, the per-sample CSV does not
#: what a write past LIMIT says
TOO_LARGE = ("File too large: this process may write files of at most 4,194,304 bytes (the shell's ulimit -f); raise "
             "that limit, or write less")


def test_a_hard_linked_output_that_cannot_be_written_keeps_its_content(big):
    target, other = big / "out.csv", big / "also.csv"
    target.write_text("previous")
    os.link(target, other)
    out = losscli("compute", "mse", big / "bp.npy", big / "bt.npy", "--format", "csv", "--per-sample",
                  "-o", target, limit=LIMIT)
    assert (out.returncode, out.stderr) == (2, f"Error: {target}: cannot write: {TOO_LARGE}\n")
    assert target.read_text() == other.read_text() == "previous"
    assert os.stat(target).st_ino == os.stat(other).st_ino


def test_a_hard_linked_save_grad_npy_updates_every_name(run, d):  # noqa: F811
    target, other = d / "g.npy", d / "g2.npy"
    target.write_text("previous")
    os.link(target, other)
    out = run("compute", "mse", d / "p.csv", d / "y.csv", "--format", "value", "--save-grad", target)
    assert out.exit_code == 0, out.stderr
    np.testing.assert_allclose(np.load(other), 2 * np.array([0.5, 1.0, -2.0]) / 3)
    assert os.stat(target).st_ino == os.stat(other).st_ino


# -- B4: the outputs of one run are committed together ----------------------------------------------
def _previous(*paths):
    for p in paths:
        p.write_bytes(b"previous " + p.name.encode())


def _all_previous(*paths):
    return all(p.read_bytes() == b"previous " + p.name.encode() for p in paths)


@pytest.mark.parametrize("grad", ["g.npz", "g.npy"])
def test_a_failed_output_leaves_every_previous_output(big, grad):
    outputs = [big / "out.csv", big / grad, big / "r.json"]
    _previous(*outputs)
    out = losscli("compute", "mse", big / "bp.npy", big / "bt.npy", "--format", "csv", "--per-sample",
                  "-o", outputs[0], "--save-grad", outputs[1], "--report", f"json:{outputs[2]}", limit=LIMIT)
    # (the report, written before -o, is the first that cannot be: the run ends there)
    assert (out.returncode, out.stderr) == (2, f"Error: --report json:{outputs[2]}: cannot write: {TOO_LARGE}\n")
    assert _all_previous(*outputs)
    assert not [p for p in os.listdir(big) if p.endswith(".tmp")]


def test_a_failed_report_leaves_every_previous_output(big):
    outputs = [big / "small.txt", big / "g.npz", big / "out.csv"]
    _previous(*outputs)
    out = losscli("compute", "mse", big / "bp.npy", big / "bt.npy", "--format", "value", "-o", outputs[0],
                  "--save-grad", outputs[1], "--report", f"csv:{outputs[2]}", "--per-sample", limit=LIMIT)
    assert out.returncode == 2
    assert out.stderr == f"Error: --report csv:{outputs[2]}: cannot write: {TOO_LARGE}\n"
    assert _all_previous(*outputs)


ENDING = [signal.SIGQUIT, signal.SIGALRM, signal.SIGUSR1, signal.SIGUSR2, signal.SIGXCPU, signal.SIGVTALRM,
          signal.SIGPROF, signal.SIGIO, signal.SIGRTMIN + 1]


@pytest.mark.parametrize("sig, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130), (signal.SIGHUP, 129),
                                       *((s, 128 + s) for s in ENDING)])
def test_a_signal_after_some_outputs_are_written_leaves_every_previous_output(d, sig, code):  # noqa: F811
    """The gradient and the report are written; the main output waits for a reader of its FIFO
    when the signal comes. Every signal that ends a process ends it so: SIGQUIT, SIGUSR1, SIGALRM,
    SIGXCPU... left a partial temporary file beside its target (only SIGTERM and SIGHUP were handled)."""
    outputs = [d / "g.npz", d / "r.json"]
    _previous(*outputs)
    proc = _waiting_on_a_fifo(d, outputs)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    if sig != signal.SIGINT:
        name = "SIGRTMIN+1" if sig == signal.SIGRTMIN + 1 else signal.Signals(sig).name
        assert err == f"losscli: terminated by {name}\n"
    assert _all_previous(*outputs)
    assert not [p for p in os.listdir(d) if p.endswith(".tmp")]


def test_a_killed_run_leaves_no_temporary_file(d):  # noqa: F811
    """SIGKILL (the out-of-memory killer, a CI step's timeout) cannot be handled: the temporary
    files of the outputs written so far were left beside them, hidden, for good (288 MB for a large
    gradient: review 104 #8). They have no name until they are put in place."""
    outputs = [d / "g.npz", d / "r.json"]
    _previous(*outputs)
    proc = _waiting_on_a_fifo(d, outputs)
    try:
        assert len(_unnamed_files(proc.pid, d)) >= 2  # (written, waiting: unnamed where the system allows)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
    assert _all_previous(*outputs)
    assert not [p for p in os.listdir(d) if p.endswith(".tmp")]


def test_a_signal_ignored_when_the_run_starts_stays_ignored(d):  # noqa: F811
    """``nohup losscli ...``: SIGHUP, ignored by the user's choice, does not end the run."""
    outputs = [d / "g.npz", d / "r.json"]
    _previous(*outputs)
    proc = _waiting_on_a_fifo(d, outputs, ignored=signal.SIGHUP)
    proc.send_signal(signal.SIGHUP)
    time.sleep(0.3)
    assert proc.poll() is None, proc.communicate()
    with open(d / "main.pipe") as reader:  # (the run goes on: the report is written to the FIFO)
        assert json.loads(reader.read())["results"][0]["loss"] == "mse"
    _, err = proc.communicate(timeout=60)
    assert (proc.returncode, err) == (0, "")
    assert not _all_previous(*outputs)


def _as_at_a_terminal(ignored=None) -> None:
    """In the child before exec: every signal the test sends at its default action, as a terminal
    starts a command (``nohup`` and a shell's background jobs start it ignoring SIGHUP, SIGINT and
    SIGQUIT, which losscli then leaves ignored), but ``ignored``."""
    for sig in (signal.SIGTERM, signal.SIGHUP, *ENDING):
        signal.signal(sig, signal.SIG_IGN if sig == ignored else signal.SIG_DFL)


def _waiting_on_a_fifo(folder, outputs, ignored=None):
    """``compute`` with the gradient and a report in ``outputs``, its main output a FIFO no one
    reads yet: returned once the report's temporary file is written (the open of the FIFO blocks).
    ``ignored``: a signal the process starts ignoring, as ``nohup`` starts it."""
    fifo = folder / "main.pipe"
    os.mkfifo(fifo)
    # Ctrl-C as at a terminal, even when the tests run in the background, where a shell starts jobs
    # with SIGINT ignored (and the child would inherit it): a handled signal is default after exec
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        proc = subprocess.Popen([sys.executable, "-m", "losscli", "compute", "mse", str(folder / "p.csv"),
                                 str(folder / "y.csv"), "--save-grad", str(outputs[0]), "--report", f"json:{outputs[1]}",
                                 "-o", str(fifo), "--format", "json"], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, preexec_fn=lambda: _as_at_a_terminal(ignored))
    finally:
        signal.signal(signal.SIGINT, previous)
    deadline = time.time() + 60
    while time.time() < deadline and _all_previous(*outputs) and not any(p.startswith(".r.json.")
                                                                          for p in os.listdir(folder)) \
            and len(_unnamed_files(proc.pid, folder)) < 2:
        time.sleep(0.01)
    time.sleep(0.3)  # (the report's temporary file is complete; the open of the FIFO blocks)
    return proc


def _unnamed_files(pid: int, folder) -> list[str]:
    """The files process ``pid`` holds open in ``folder`` that have no name (O_TMPFILE, or
    removed): how its temporary files look until they are put in place."""
    found = []
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if link.startswith(f"{folder}/") and link.endswith(" (deleted)"):
                found.append(link)
    except OSError:
        pass
    return found


def test_gradcheck_reports_are_committed_together(d):  # noqa: F811
    """The JSON report (3 kB) cannot be written: the JUnit one and the main output (< 1 kB) are not
    written either."""
    outputs = [d / "r.json", d / "r.xml"]
    _previous(*outputs)
    out = losscli("gradcheck", "bce_logits", d / "logits.npy", d / "lab.npy", "--report", f"json:{outputs[0]}",
                  "--report", f"junit:{outputs[1]}", "-o", d / "main.md", "--format", "markdown", limit=1000)
    assert out.returncode == 2
    assert _all_previous(*outputs)
    assert not (d / "main.md").exists()


# -- review 56: files the command reads that are not inputs; one file behind two outputs ------------
@pytest.mark.parametrize("command", ["compute", "compare", "check"])
def test_the_scheduler_file_is_never_an_output(d, command):  # noqa: F811
    """`--scheduler-file s.json -o s.json`: the file the Dask scheduler wrote was replaced by the
    report (exit 0), and the next run could not find its cluster. Refused before anything connects."""
    (d / "s.json").write_text('{"address": "tcp://127.0.0.1:1"}')
    args, _ = commands(d)[command]
    out = losscli(*args, "--engine", "dask", "--scheduler-file", d / "s.json", "-o", d / "s.json")
    assert (out.returncode, out.stdout) == (2, ""), out.stderr
    assert out.stderr == (f"Error: {d / 's.json'}: is also an input (--scheduler-file {d / 's.json'}); "
                          "refusing to overwrite an input\n")
    assert (d / "s.json").read_text() == '{"address": "tcp://127.0.0.1:1"}'


def test_a_plugin_named_as_a_module_is_never_an_output(d):  # noqa: F811
    """`--plugin plugmod -o plugmod.py` replaced the plugin's source by the report (exit 0); its file
    given as a path was refused, its module name was not."""
    source = (ROOT_DIR / "examples" / "my_losses.py").read_text()
    (d / "plugmod.py").write_text(source)
    out = losscli("--plugin", "plugmod", "compute", "mse", d / "p.csv", d / "y.csv", "-o", d / "plugmod.py",
                  env={**os.environ, "PYTHONPATH": os.pathsep.join([str(d), str(ROOT_DIR)])}, cwd=d)
    assert (out.returncode, out.stdout) == (2, ""), out.stderr
    assert out.stderr == f"Error: {d / 'plugmod.py'}: is also an input (--plugin plugmod); refusing to overwrite an input\n"
    assert (d / "plugmod.py").read_text() == source


def test_an_installed_plugin_whose_loss_is_decorated_elsewhere_is_never_an_output(d):  # noqa: F811
    """An installed plugin (entry point ``losscli.losses``) whose loss function is wrapped by a
    decorator of another module: the wrapper's file was protected, not the plugin's module, and
    ``-o instplug/losses.py`` replaced it with the report (exit 0). The module that registered the
    loss is the user's code too."""
    pkg = d / "site" / "instplug"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "deco.py").write_text("import functools\n\n\ndef traced(fn):\n    @functools.wraps(fn)\n"
                                 "    def wrapper(*a, **k):\n        return fn(*a, **k)\n    return wrapper\n")
    source = ("import losscli\nfrom .deco import traced\n\n\n"
              "@losscli.register_loss('ip_l2', inputs=('predictions', 'labels'), coupling='elementwise')\n"
              "@traced\ndef ip_l2(predictions, labels):\n    \"\"\"Squared error.\"\"\"\n"
              "    return (predictions - labels) ** 2\n")
    (pkg / "losses.py").write_text(source)
    dist = d / "site" / "instplug-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: instplug\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[losscli.losses]\nip = instplug.losses\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(d / "site"), str(ROOT_DIR)])}
    assert losscli("compute", "ip_l2", d / "p.csv", d / "y.csv", "--format", "value", env=env).returncode == 0
    out = losscli("compute", "ip_l2", d / "p.csv", d / "y.csv", "-o", pkg / "losses.py", env=env)
    assert (out.returncode, out.stdout) == (2, ""), out.stderr
    assert out.stderr == (f"Error: {pkg / 'losses.py'}: is also an input (the code of loss 'ip_l2'); "
                          "refusing to overwrite an input\n")
    assert (pkg / "losses.py").read_text() == source


@pytest.mark.parametrize("script, message", [
    ('"$@" --format value --report "json:$T" >> "$T"',
     'Error: --report json:{T}: is the same file as standard output (the report (--format value)), which the shell '
     'redirected to it; give two different files\n'),
    ('"$@" --format json -o "$T" --save-grad /dev/fd/3 3>> "$T"',
     'Error: --save-grad /dev/fd/3: descriptor 3 is redirected to the same file as --output {T}; give two different '
     'files\n'),
])
def test_a_stream_redirected_to_another_outputs_file_is_refused(d, script, message):  # noqa: F811
    """`--report json:r.json >> r.json`: the report replaced the file the shell appends standard output
    to, and the value printed there was lost with what the file held (exit 0)."""
    target = d / "r.json"
    target.write_text("PRIOR\n")
    out = subprocess.run(["bash", "-c", script, "_", sys.executable, "-m", "losscli", "compute", "mse", d / "p.csv",
                          d / "y.csv"], stderr=subprocess.PIPE, text=True, timeout=120, env={**os.environ, "T": str(target)})
    assert (out.returncode, out.stderr) == (2, message.format(T=target))
    assert target.read_text() == "PRIOR\n"


@pytest.mark.parametrize("command", ["compute", "weights", "gradcheck", "fit", "check"])
@pytest.mark.parametrize("script", ['"$@" >> "$T" < "$T"', '"$@" 1<> "$T" < "$T"', '"$@" -o /dev/fd/3 3>> "$T" < "$T"'])
def test_a_stream_on_the_file_read_as_standard_input_is_refused(d, command, script):  # noqa: F811
    """Review 87: an input read as - is the file the shell gave as standard input; a stream the shell
    opened on that same file (`compute mse - y.csv >> p.csv < p.csv`) was written into it, exit 0,
    where the input named by its path is refused. Refused alike, the input intact."""
    (d / "g-.toml").write_text('[[gate]]\nloss = "mse"\ninputs = ["-:pred", "y.csv"]\nmax = 10\n')
    args = {"compute": ["compute", "mse", "-", d / "y.csv"],
            "weights": ["compute", "mse", d / "b.csv", d / "y.csv", "--weights", "-"],
            "gradcheck": ["gradcheck", "mse", "-:pred", f"{d / 'y.csv'}:label"],
            "fit": ["fit", "mse", "-", "--epochs", "2"],
            "check": ["check", d / "g-.toml"]}[command]
    target = d / ("fit.csv" if command == "fit" else "p.csv")
    before = target.read_bytes()
    out = subprocess.run(["bash", "-c", script, "_", sys.executable, "-m", "losscli", *map(str, args)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120,
                         env={**os.environ, "T": str(target)})
    assert out.returncode == 2, out.stderr
    assert out.stderr.endswith("): refusing to write into an input; send the output to another file\n")
    assert "is an input (standard input, -" in out.stderr and len(out.stderr.splitlines()) == 1
    assert target.read_bytes() == before


@pytest.mark.parametrize("fd", [1, 2])
def test_an_output_on_the_file_a_stream_is_redirected_to_is_refused(d, fd):  # noqa: F811
    """Review 87: `-o run.log 2>> run.log` replaced the log the shell appends standard error to: what
    it held was lost, and the run's warnings went to the replaced file (exit 0). Refused; the
    refusal itself is appended to the log, as the user asked of standard error."""
    target = d / "run.log"
    target.write_text("PRIOR\n")
    out = subprocess.run(["bash", "-c", f'"$@" -o "$T" {fd}>> "$T"', "_", sys.executable, "-m", "losscli", "compute",
                          "mse", d / "p.csv", d / "y.csv"], stderr=subprocess.PIPE if fd == 1 else None, text=True,
                         timeout=120, env={**os.environ, "T": str(target)})
    stream = {1: "standard output", 2: "standard error"}[fd]
    message = (f"Error: --output {target}: {stream} is redirected to this file, which the output replaces (what "
               f"{stream} says would be lost); give two different files\n")
    assert out.returncode == 2
    assert target.read_text() == "PRIOR\n" + (message if fd == 2 else "")
    assert fd == 2 or out.stderr == message


def test_two_outputs_on_one_named_pipe_are_refused(d):  # noqa: F811
    """`-o ff --report json:ff` on a FIFO: its reader took the first output and went, and the second
    write waited for a reader forever."""
    os.mkfifo(d / "ff")
    out = losscli("compute", "mse", d / "p.csv", d / "y.csv", "--format", "value", "-o", d / "ff",
                  "--report", f"json:{d / 'ff'}")
    assert (out.returncode, out.stdout) == (2, "")
    assert out.stderr == f"Error: --report json:{d / 'ff'}: is the same file as --output {d / 'ff'}; give two different files\n"


@pytest.mark.parametrize("path", ["/dev/stdout", "/dev/fd/1"])
def test_a_closed_pipe_behind_dev_stdout_ends_as_quietly_as_behind_dash(d, path):  # noqa: F811
    """`-o /dev/stdout | head -c1`: exit 2 and 'cannot write: Broken pipe', where `-o -` ends with 141
    and nothing on stderr."""
    np.save(d / "bp.npy", np.linspace(0, 1, 200_000))
    np.save(d / "by.npy", np.zeros(200_000))
    script = '"$@" | head -c1 > /dev/null; exit ${PIPESTATUS[0]}'
    out = subprocess.run(["bash", "-c", script, "_", sys.executable, "-m", "losscli", "compute", "mse", d / "bp.npy",
                          d / "by.npy", "--per-sample", "--format", "json", "-o", path],
                         stderr=subprocess.PIPE, text=True, timeout=120)
    assert (out.returncode, out.stderr) == (141, "")


def test_the_reports_of_a_run_whose_reader_went_away_are_written(d):  # noqa: F811
    """Review 87: `--report junit:results.xml ... | head -3`: the reader of standard output went away
    (exit 141) and the report, written in full by then, was thrown away: results.xml stayed the
    previous run's, which a CI step without pipefail publishes as this one's. The run's finished
    files are put in place; the exit code is 141 as before."""
    np.save(d / "bp.npy", np.linspace(0, 1, 200_000))
    np.save(d / "by.npy", np.zeros(200_000))
    (d / "results.xml").write_text("<stale/>")
    (d / "g.npy").write_bytes(b"previous")
    script = '"$@" | head -c1 > /dev/null; exit ${PIPESTATUS[0]}'
    out = subprocess.run(["bash", "-c", script, "_", sys.executable, "-m", "losscli", "compute", "mse", d / "bp.npy",
                          d / "by.npy", "--per-sample", "--format", "csv", "--report", f"junit:{d / 'results.xml'}",
                          "--fail-above", "0.1", "--save-grad", d / "g.npy"],
                         stderr=subprocess.PIPE, text=True, timeout=120)
    assert (out.returncode, out.stderr) == (141, "")
    assert '<testsuites name="losscli" tests="1" failures="1"' in (d / "results.xml").read_text()
    np.testing.assert_allclose(np.load(d / "g.npy"), 2 * np.linspace(0, 1, 200_000) / 200_000)


def test_a_report_that_cannot_be_written_writes_nothing_to_standard_output(d):  # noqa: F811
    """Review 87: `--report json:/dev/full > o.csv`: the report failed, the CSV was still written to
    standard output in full, then exit 2 (which says nothing is there). Nothing is written."""
    with open(d / "o.csv", "w") as stdout:
        out = subprocess.run([sys.executable, "-m", "losscli", "compute", "mse", d / "p.csv", d / "y.csv",
                              "--format", "csv", "--report", "json:/dev/full"], stdout=stdout,
                             stderr=subprocess.PIPE, text=True, timeout=120)
    assert (out.returncode, out.stderr) == (2, "Error: --report json:/dev/full: cannot write: No space left on device\n")
    assert (d / "o.csv").read_text() == ""


def test_a_long_legal_file_name_is_written(run, d):  # noqa: F811
    """A 250-byte name is legal; its temporary file `.NAME.xxxxxxxx.tmp` was not, and the run ended
    with 'File name too long'."""
    for name in ("a" * 245 + ".json", "é" * 122 + ".npz"):
        target = d / name
        out = run("compute", "mse", d / "p.csv", d / "y.csv", "--format", "json", "-o", target,
                  *(["--save-grad", target] if name.endswith(".npz") else []))
        if name.endswith(".npz"):
            assert out.exit_code == 2 and "is the same file as" in out.stderr  # (one file, two outputs)
            out = run("compute", "mse", d / "p.csv", d / "y.csv", "--format", "json", "--save-grad", target)
        assert out.exit_code == 0, out.stderr
        assert target.stat().st_size > 0
    assert sorted(p.name for p in d.iterdir() if p.name.startswith(".")) == []


def test_a_new_file_gets_the_mode_a_default_acl_gives_as_with_the_shell(run, d):  # noqa: F811
    """In a directory with a default ACL, the kernel ignores the umask: a file the shell creates there
    gets group write from the ACL (0664, mask rw-), while losscli's got 0644 with mask r--."""
    folder = d / "shared"
    folder.mkdir()
    #: user::rwx group::rwx other::r-x, and the same as the default for new files
    acl = _acl([(0x01, 7, ANY), (0x04, 7, ANY), (0x20, 5, ANY)])
    try:
        os.setxattr(folder, "system.posix_acl_access", acl)
        os.setxattr(folder, "system.posix_acl_default", acl)
    except OSError:
        pytest.skip("no ACLs on this file system")
    with open(folder / "by_shell.txt", "w"):
        pass
    for option, name in (("-o", "r.json"), ("--save-grad", "g.npz")):
        out = run("compute", "mse", d / "p.csv", d / "y.csv", "--format", "json", option, folder / name)
        assert out.exit_code == 0, out.stderr
        assert stat.S_IMODE(os.stat(folder / name).st_mode) == stat.S_IMODE(os.stat(folder / "by_shell.txt").st_mode)
        assert _attributes(folder / name) == _attributes(folder / "by_shell.txt")


def test_ctrl_c_while_the_cli_is_being_imported_is_no_traceback(tmp_path):
    """Ctrl-C in the first tenth of a second (while click and the CLI's modules are imported) printed
    a KeyboardInterrupt traceback; it ends as any interrupt does: exit 130, 'Aborted.'."""
    (tmp_path / "click").mkdir()
    (tmp_path / "click" / "__init__.py").write_text("raise KeyboardInterrupt\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT_DIR)])}
    for cmd in ([sys.executable, "-m", "losscli", "--help"], [sys.executable, "-c", "from losscli.start import main; main()"]):
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=env)
        assert (out.returncode, out.stdout, out.stderr) == (130, "", "Aborted.\n")


def test_an_output_named_for_another_format_is_refused_not_written_otherwise(run, d):  # noqa: F811
    """`plot -o plot.png --format csv` wrote a PNG, `--save-grad grads.csv` a zip archive: exit 0 both."""
    out = run("plot", "mse", "--points", "3", "-o", d / "plot.png", "--format", "csv")
    assert (out.exit_code, out.stderr) == (2, f"Error: -o {d / 'plot.png'}: names an image, and --format csv writes "
                                              f"text: leave out --format to draw the image, or name a .csv file\n")
    out = run("compute", "mse", d / "p.csv", d / "y.csv", "--save-grad", d / "grads.csv")
    assert (out.exit_code, out.stderr) == (2, f"Error: --save-grad {d / 'grads.csv'}: writes NumPy's binary files, "
                                              ".npz (every gradient) or .npy (one array); name a .npz or .npy file\n")
    assert not (d / "plot.png").exists() and not (d / "grads.csv").exists()
    for name in ("grads", "grads.NPZ"):  # (no suffix, or a capital one: NPZ as before)
        out = run("compute", "mse", d / "p.csv", d / "y.csv", "--format", "value", "--save-grad", d / name)
        assert out.exit_code == 0, out.stderr
        assert (d / name).read_bytes()[:2] == b"PK"


@pytest.mark.parametrize("where", ["a new file in the directory", "in a partition below it", "a name the glob matches",
                                   "the gradient beside the shards"])
@pytest.mark.parametrize("engine", ["local", "dask"])
def test_an_output_inside_a_sharded_input_is_refused(run, tmp_path, where, engine):
    """An output named inside a dataset directory, or by a name its glob matches, was written there
    (exit 0), and every later run read it as one more shard: the user's dataset was broken. Only
    shards that already existed were refused."""
    (tmp_path / "shards" / "k=1").mkdir(parents=True)  # (a partition, empty so far)
    (tmp_path / "ys").mkdir()
    for k, (p, y) in enumerate([("0.5\n1.5\n", "1\n1\n"), ("2.5\n", "2\n")]):
        (tmp_path / "shards" / f"part-{k}.csv").write_text("pred\n" + p)
        (tmp_path / "ys" / f"part-{k}.csv").write_text("label\n" + y)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    source = tmp_path / "shards" if where != "a name the glob matches" else tmp_path / "shards" / "part-*.csv"
    option, target = {"a new file in the directory": ("-o", "shards/report.csv"),
                      "in a partition below it": ("-o", "shards/k=1/part-9.csv"),
                      "a name the glob matches": ("-o", "shards/part-9.csv"),
                      "the gradient beside the shards": ("--save-grad", "shards/g.npz")}[where]
    out = run("compute", "mse", source, tmp_path / "ys", option, tmp_path / target, "--engine", engine)
    assert (out.exit_code, out.stdout) == (2, "")
    named = "--output" if option == "-o" else option
    assert out.stderr == (f"Error: {named} {tmp_path / target}: is inside a sharded input ({source}): written there, "
                          "it would be read as one of its shards from then on; write it elsewhere\n")
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before
    if (engine, option) != ("dask", "--save-grad"):  # (the local engine's only)
        elsewhere = tmp_path / ("elsewhere.csv" if option == "-o" else "elsewhere.npz")
        out = run("compute", "mse", source, tmp_path / "ys", option, elsewhere, "--engine", engine)
        assert out.exit_code == 0, out.stderr


@pytest.mark.skipif(not ROOT or shutil.which("mount") is None, reason="mounting a small file system takes root")
def test_a_full_disk_while_outputs_are_put_in_place_leaves_every_previous_output(tmp_path):
    """Two outputs copied in place (hard-linked targets) on a disk that holds their temporary files
    but not both new lengths: the gradient was put in place, then the report failed for space, and
    the run's outputs were half new (review 62). Every new length is reserved before any target
    changes."""
    disk = tmp_path / "disk"
    disk.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", disk], capture_output=True).returncode:
        pytest.skip("this machine does not let a test mount a tmpfs")
    try:
        rng = np.random.default_rng(0)
        for name in ("p", "y"):
            np.savetxt(tmp_path / f"{name}.csv", rng.random(5000), header=name, comments="", fmt="%.17g")
        outputs = [disk / "rep.csv", disk / "g.npy"]
        _previous(*outputs)
        for p in outputs:
            os.link(p, p.with_name("also_" + p.name))  # (another name: written in place, not renamed)
        (disk / "fill").write_bytes(bytes(290 * 1024))
        out = losscli("compute", "mse", tmp_path / "p.csv", tmp_path / "y.csv", "--per-sample", "--format", "csv",
                      "-o", outputs[0], "--save-grad", outputs[1])
        assert (out.returncode, out.stderr) == (2, f"Error: {outputs[0]}: cannot write: No space left on device\n")
        assert _all_previous(*outputs)
        assert sorted(os.listdir(disk)) == ["also_g.npy", "also_rep.csv", "fill", "g.npy", "rep.csv"]
    finally:
        subprocess.run(["umount", disk], capture_output=True)


def _mounted(args: list, disk: Path) -> None:
    disk.mkdir()
    if subprocess.run(["mount", *map(str, args), str(disk)], capture_output=True).returncode:
        pytest.skip(f"this machine does not let a test mount {args[-1]}")


def _mounted_image(tmp_path, mkfs: list, megabytes: int) -> Path:
    """A file system of ``megabytes`` made by ``mkfs`` in a file, mounted by a loop device (unmount
    it when done); skipped where that cannot be done here."""
    image, disk = tmp_path / "fs.img", tmp_path / "disk"
    with open(image, "wb") as fh:
        fh.truncate(megabytes * 2**20)
    if subprocess.run([*mkfs, str(image)], capture_output=True).returncode:
        pytest.skip(f"{mkfs[0]} failed")
    _mounted(["-o", "loop", image], disk)
    return disk


def _pair(tmp_path, rows: int) -> tuple[Path, Path]:
    rng = np.random.default_rng(1)
    for name in ("p", "y"):
        np.savetxt(tmp_path / f"{name}.csv", rng.standard_normal(rows), header=name, comments="", fmt="%.17g")
    return tmp_path / "p.csv", tmp_path / "y.csv"


@pytest.mark.skipif(not ROOT or shutil.which("mount") is None, reason="mounting a small file system takes root")
def test_a_full_disk_leaves_a_sparse_file_written_in_place_as_it_was(tmp_path):
    """A hard-linked (so copied in place) report of 1 MiB holding 1 KiB of text and holes, on a
    nearly full disk: its new content was shorter, so nothing was reserved, and writing into the
    holes ran out of space half-way: truncated JSON, then NULs, the previous text gone (review 104
    #1). The new length is reserved whatever the old one was."""
    disk = tmp_path / "disk"
    _mounted(["-t", "tmpfs", "-o", "size=320k", "tmpfs"], disk)
    try:
        p, y = _pair(tmp_path, 5000)
        report = disk / "r.json"
        with open(report, "wb") as fh:
            fh.write(b"PREVIOUS REPORT " * 64)
            fh.truncate(2**20)
        before = report.read_bytes()
        os.link(report, disk / "also.json")
        out = losscli("compute", "mse", p, y, "--per-sample", "-o", report)
        assert (out.returncode, out.stdout, out.stderr) == (2, "", f"Error: {report}: cannot write: No space left "
                                                                   "on device\n")
        assert report.read_bytes() == before and sorted(os.listdir(disk)) == ["also.json", "r.json"]
    finally:
        subprocess.run(["umount", disk], capture_output=True)


@pytest.mark.skipif(not ROOT or shutil.which("mount") is None, reason="mounting a small file system takes root")
@pytest.mark.parametrize("option", ["--report", "--save-grad"])
def test_a_file_that_cannot_be_put_in_place_leaves_nothing_on_standard_output(tmp_path, option):
    """A report (or gradient) copied in place (hard-linked) failed for space when it was put in
    place, after the value had gone to standard output: `v=$(losscli ...)` took a value from a
    run that exited 2 (review 104 #7). The files are put in place before the output is written."""
    disk = tmp_path / "disk"  # (room for the new file once, not twice: its temporary file fits, its copy does not)
    _mounted(["-t", "tmpfs", "-o", "size=320k" if option == "--report" else "size=256k", "tmpfs"], disk)
    try:
        p, y = _pair(tmp_path, 5000 if option == "--report" else 20_000)
        target = disk / ("r.json" if option == "--report" else "g.npy")
        target.write_bytes(b"previous")
        os.link(target, disk / "also")
        more = ["--per-sample", "--report", f"json:{target}"] if option == "--report" else ["--save-grad", target]
        out = losscli("compute", "mse", p, y, "--format", "value", *more)  # (a 211 kB report, a 160 kB gradient)
        assert (out.returncode, out.stdout) == (2, ""), out.stderr
        assert out.stderr == f"Error: {target}: cannot write: No space left on device\n"
        assert target.read_bytes() == b"previous"
    finally:
        subprocess.run(["umount", disk], capture_output=True)


@pytest.mark.skipif(not ROOT or shutil.which("mount") is None, reason="mounting a file system takes root")
@pytest.mark.parametrize("name", ["r.txt", "new.txt"])
def test_a_read_only_file_system_is_named(d, name):  # noqa: F811
    """An output on a file system mounted read-only was refused as 'Permission denied' (review 104
    #11): the shell says 'Read-only file system', and so does losscli."""
    disk = d / "disk"
    _mounted(["-t", "tmpfs", "-o", "size=64k", "tmpfs"], disk)
    try:
        (disk / "r.txt").write_text("previous")
        subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
        out = losscli("compute", "mse", d / "p.csv", d / "y.csv", "-o", disk / name)
        assert (out.returncode, out.stdout) == (2, "")
        assert out.stderr == f"Error: {disk / name}: cannot write: Read-only file system\n"
        assert (disk / "r.txt").read_text() == "previous"
    finally:
        subprocess.run(["umount", disk], capture_output=True)


def test_a_file_copied_in_place_is_unchanged_while_standard_output_blocks(tmp_path):
    """The blocks of a file copied in place are reserved before the result goes to standard output:
    they were reserved by lengthening it, so while a full pipe held the run up its readers saw the
    old content and 850 kB of NULs, and SIGKILL left it so (review 106 #3). Its length is kept."""
    p, y = _pair(tmp_path, 20_000)
    report = tmp_path / "r.json"
    report.write_text('{"old": "report"}')
    os.link(report, tmp_path / "also.json")  # (written in place)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    held = os.open(fifo, os.O_RDWR)  # (a reader that never reads: the pipe fills and the write blocks)
    try:
        with open(fifo, "wb") as stdout:
            proc = subprocess.Popen([sys.executable, "-m", "losscli", "compute", "mse", str(p), str(y), "--per-sample",
                                     "--format", "csv", "--report", f"json:{report}"], stdout=stdout,
                                    stderr=subprocess.PIPE)
        deadline = time.time() + 60
        while time.time() < deadline and "w" not in _state(proc.pid):
            time.sleep(0.05)
        time.sleep(0.5)
        assert report.read_text() == '{"old": "report"}'
        proc.kill()
        proc.communicate(timeout=60)
    finally:
        os.close(held)
    assert report.read_text() == '{"old": "report"}'


def _state(pid: int) -> str:
    """'w' once process ``pid`` waits in a write to a pipe (its wait channel names pipe_write)."""
    try:
        with open(f"/proc/{pid}/wchan") as fh:
            return "w" if "pipe" in fh.read() else ""
    except OSError:
        return ""


@pytest.mark.skipif(not ROOT or shutil.which("mkfs.ext2") is None, reason="an ext2 file system mounted from a file "
                    "takes root")
def test_a_file_system_without_allocation_is_written_in_place_again_and_again(tmp_path):
    """ext2 has no fallocate: glibc's stand-in reads the file, which is open to write only, and a
    file copied in place (hard-linked) failed to be rewritten with a report no longer than before
    ('Bad file descriptor', exit 2: review 106 #2). Nothing is reserved where nothing can be."""
    disk = _mounted_image(tmp_path, ["mkfs.ext2", "-q", "-F"], 8)
    try:
        p, y = _pair(tmp_path, 100)
        report = disk / "r.json"
        report.write_text("previous")
        os.link(report, disk / "also.json")
        for _ in range(3):
            out = losscli("compute", "mse", p, y, "-o", report, "--format", "json")
            assert (out.returncode, out.stderr) == (0, "")
        assert json.loads((disk / "also.json").read_text())["results"][0]["loss"] == "mse"
    finally:
        subprocess.run(["umount", disk], capture_output=True)


@pytest.mark.skipif(not ROOT or shutil.which("mkfs.ext4") is None, reason="an ext4 file system mounted from a file "
                    "takes root")
def test_a_reservation_a_full_disk_stops_gives_its_blocks_back(tmp_path):
    """The blocks of a file copied in place are reserved past its end; a disk that filled part-way
    through kept what was reserved (4.4 MB of a 15 MB disk, for a 4-byte file: review 107 #2). They
    are given back."""
    disk = _mounted_image(tmp_path, ["mkfs.ext4", "-q", "-F"], 24)
    try:
        p, y = _pair(tmp_path, 300_000)
        args = ["compute", "mse", p, y, "--per-sample", "--format", "csv", "-o"]
        assert losscli(*args, tmp_path / "size.csv").returncode == 0
        size = (tmp_path / "size.csv").stat().st_size  # (~7 MB)
        target = disk / "t.csv"
        target.write_text("old\n")
        os.link(target, disk / "also.csv")
        st = os.statvfs(disk)
        with open(disk / "fill", "wb") as fh:  # (room for the temporary file, and half the copy; root's reserve too)
            fh.write(bytes(max(st.f_bfree * st.f_frsize - size - size // 2, 0)))
        subprocess.run(["sync"])
        before = os.statvfs(disk).f_bavail
        out = losscli(*args, target)
        assert (out.returncode, out.stdout) == (2, ""), out.stderr
        assert target.read_text() == "old\n" and target.stat().st_blocks * 512 <= 64 * 1024
        subprocess.run(["sync"])
        assert os.statvfs(disk).f_bavail >= before - 16
    finally:
        subprocess.run(["umount", disk], capture_output=True)


@pytest.mark.skipif(not ROOT or shutil.which("mount") is None, reason="mounting a small file system takes root")
def test_a_new_file_an_append_only_directory_cannot_hold_is_not_made(tmp_path):
    """In an append-only directory nothing made can be removed: a new output was made when its
    space was reserved, and a full disk then left it there, empty, for good (review 106 #5)."""
    disk = tmp_path / "disk"
    _mounted(["-t", "tmpfs", "-o", "size=512k", "tmpfs"], disk)
    try:
        p, y = _pair(tmp_path, 20_000)
        (disk / "ao").mkdir()
        _chattr("+a", disk / "ao")
        try:
            out = losscli("compute", "mse", p, y, "--per-sample", "-o", disk / "ao" / "new.json")
            assert (out.returncode, out.stdout) == (2, "")
            assert out.stderr.startswith(f"Error: {disk / 'ao' / 'new.json'}: cannot write: No space left on device")
            assert os.listdir(disk / "ao") == []
        finally:
            _chattr("-a", disk / "ao")
    finally:
        subprocess.run(["umount", disk], capture_output=True)


@pytest.mark.skipif(not ROOT or shutil.which("mkfs.btrfs") is None, reason="a btrfs file system (btrfs-progs) "
                    "mounted from a file takes root")
def test_a_file_written_in_place_on_btrfs_is_whole_old_or_whole_new(tmp_path):
    """btrfs writes every changed block anew: a hard-linked report rewritten in place on a nearly
    full btrfs ran out of space half-way, new JSON over the old text's first 16,000 lines (review
    104 #1; posix_fallocate reserves nothing there). It shares the new content's blocks in one
    step (FICLONE), and is refused where it cannot and the space is short."""
    disk = _mounted_image(tmp_path, ["mkfs.btrfs", "-q", "-f", "--mixed"], 256)
    try:
        p, y = _pair(tmp_path, 100_000)
        report = disk / "r.json"
        report.write_bytes(b"PREVIOUS REPORT LINE\n" * 250_000)  # (5.25 MB: longer than the new 4.3 MB)
        os.link(report, disk / "also.json")
        out = losscli("compute", "mse", p, y, "--per-sample", "-o", report)
        assert (out.returncode, out.stderr) == (0, "")
        new = json.loads((disk / "also.json").read_text())  # (the other name sees it: the same file)
        assert len(new["results"][0]["per_sample"]) == 100_000
        os.unlink(disk / "also.json")
        report.write_bytes(b"PREVIOUS REPORT LINE\n" * 250_000)
        os.link(report, disk / "also.json")
        subprocess.run(["sync"])
        free = os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize
        with open(disk / "fill", "wb") as fh:  # (about 6 MB left: the temporary file fits, a rewrite does not)
            fh.write(bytes(max(free - 6_500_000, 0)))
        subprocess.run(["sync"])
        out = losscli("compute", "mse", p, y, "--per-sample", "-o", report)
        assert report.read_bytes() == b"PREVIOUS REPORT LINE\n" * 250_000 or (out.returncode, out.stderr) == (0, "")
        if out.returncode:
            assert out.returncode == 2 and "No space left on device" in out.stderr, out.stderr
        else:
            assert len(json.loads(report.read_text())["results"][0]["per_sample"]) == 100_000
    finally:
        subprocess.run(["umount", disk], capture_output=True)


@pytest.mark.parametrize("option", ["-o", "--save-grad", "--report"])
def test_a_file_one_may_write_but_not_read_is_written(d, option):  # noqa: F811
    """Mode 0200, as the shell's > writes it: -o and --save-grad refused it ("File 'wo.txt' is not
    readable": click's check of an input), --report wrote it (review 104 #10)."""
    target = d / ("wo.npy" if option == "--save-grad" else "wo.txt")
    target.write_text("previous")
    target.chmod(0o200)
    args = ["--report", f"value:{target}"] if option == "--report" else [option, target]
    out = losscli("compute", "mse", d / "p.csv", d / "y.csv", "--format", "value", *args, user=True)
    assert (out.returncode, out.stderr, stat.S_IMODE(target.stat().st_mode)) == (0, "", 0o200)
    target.chmod(0o600)
    assert target.read_bytes() != b"previous"


@pytest.mark.parametrize("name", ["-", "/dev/stdout", "/dev/fd/1", "PTS"])
def test_gradients_are_never_written_to_a_terminal(d, name):  # noqa: F811
    """``--save-grad -`` on a terminal was refused, ``--save-grad /dev/stdout`` (or /dev/fd/1)
    wrote the binary NPZ onto it, exit 0 (review 104 #11); so did naming the terminal itself."""
    import pty

    main_fd, terminal = pty.openpty()
    try:
        target = os.ttyname(terminal) if name == "PTS" else name
        out = subprocess.run([sys.executable, "-m", "losscli", "compute", "mse", d / "p.csv", d / "y.csv",
                              "-o", d / "out.txt", "--save-grad", target], stdout=terminal, stderr=subprocess.PIPE, text=True,
                             stdin=subprocess.DEVNULL, timeout=120)
    finally:
        os.close(terminal)
        os.close(main_fd)
    assert (out.returncode, out.stderr) == (2, f"Error: --save-grad {target}: the gradients are a binary NPZ file, "
                                               "not for a terminal; redirect standard output to a file or a pipe, "
                                               "or name a file\n")


@pytest.mark.skipif(not ROOT, reason="mount --bind takes root")
def test_two_new_outputs_through_a_bind_mount_are_one_file(d):  # noqa: F811
    """`-o A/r.txt --report json:B/r.txt` with B bind-mounted on A and no r.txt yet: both were
    written, the table last, and the JSON report asked for was lost, exit 0 (review 104 #6)."""
    (d / "A").mkdir()
    (d / "B").mkdir()
    if subprocess.run(["mount", "--bind", str(d / "A"), str(d / "B")], capture_output=True).returncode:
        pytest.skip("mount --bind is not allowed here")
    try:
        out = losscli("compute", "mse", d / "p.csv", d / "y.csv", "-o", d / "A" / "r.txt",
                      "--report", f"json:{d / 'B' / 'r.txt'}")
    finally:
        subprocess.run(["umount", str(d / "B")], check=True)
    assert (out.returncode, out.stdout) == (2, "")
    assert out.stderr == (f"Error: --report json:{d / 'B' / 'r.txt'}: is the same file as --output "
                          f"{d / 'A' / 'r.txt'}; give two different files\n")
    assert os.listdir(d / "A") == []


def test_a_report_on_the_fifo_standard_output_is_sent_to_is_refused(d):  # noqa: F811
    """`--report json:ff > ff`: the FIFO's reader got the report and the value after it, not JSON,
    exit 0 (review 104 #6); a regular file so named was refused."""
    fifo = d / "ff"
    os.mkfifo(fifo)
    got: list = []
    reader = threading.Thread(target=lambda: got.append(open(fifo, "rb").read()))
    reader.start()
    with open(fifo, "wb") as stdout:
        out = subprocess.run([sys.executable, "-m", "losscli", "compute", "mse", d / "p.csv", d / "y.csv",
                              "--format", "value", "--report", f"json:{fifo}"], stdout=stdout,
                             stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True, timeout=120)
    reader.join(timeout=60)
    assert (out.returncode, got) == (2, [b""])
    assert out.stderr == (f"Error: --report json:{fifo}: is the same file as standard output (the report "
                          "(--format value)), which the shell redirected to it; give two different files\n")


@pytest.mark.parametrize("how", ["a link to a folder", "a bind mount", "a hard link of a shard"])
def test_a_new_output_that_would_join_a_dataset_by_another_way_is_refused(d, how):  # noqa: F811
    """The dataset's reader walks into a folder through a symbolic link (ds/more -> ../ext), or the
    output names the dataset's folder through a bind mount, or is a hard link of an empty shard:
    the output was written, exit 0, and every later run read it as a shard (review 104 #5)."""
    (d / "ds").mkdir()
    (d / "ext").mkdir()
    for i, folder in enumerate(["ds", "ds", "ext"]):
        write_csv(d / folder / f"part-{i}.csv", ["pred"], [[0.1 * i], [0.2], [0.3]])
    write_csv(d / "ys.csv", ["label"], [[0.0]] * 9)
    os.symlink("../ext", d / "ds" / "more")
    if how == "a link to a folder":
        target = d / "ext" / "part-3.csv"
    elif how == "a bind mount":
        if not ROOT:
            pytest.skip("mount --bind takes root")
        (d / "alias").mkdir()
        if subprocess.run(["mount", "--bind", str(d / "ds"), str(d / "alias")], capture_output=True).returncode:
            pytest.skip("mount --bind is not allowed here")
        target = d / "alias" / "part-9.csv"
    else:
        (d / "ds" / "part-5.csv").write_bytes(b"")
        os.link(d / "ds" / "part-5.csv", d / "out.csv")
        target = d / "out.csv"
    try:
        out = losscli("compute", "mse", d / "ds", d / "ys.csv", "--format", "csv", "-o", target)
    finally:
        if how == "a bind mount":
            subprocess.run(["umount", str(d / "alias")], check=True)
    assert (out.returncode, out.stdout) == (2, "")
    assert out.stderr == (f"Error: --output {target}: is inside a sharded input ({d / 'ds'}): written there, it "
                          "would be read as one of its shards from then on; write it elsewhere\n")


@pytest.mark.skipif(not ROOT, reason="chattr +a takes root")
@pytest.mark.parametrize("option", ["-o", "--save-grad", "--report"])
@pytest.mark.parametrize("existing", [True, False])
def test_an_append_only_directory_is_written_in_place(d, option, existing):  # noqa: F811
    """A directory that is append only (chattr +a) takes new names but lets none be renamed over or
    removed: every run failed (exit 2) and left a temporary file there that nobody could delete,
    where the shell's > writes (review 104 #4). The output is written in place, from a temporary
    file elsewhere."""
    folder = d / "adir"
    folder.mkdir()
    target = folder / ("g.npy" if option == "--save-grad" else "r.json")
    if existing:
        target.write_text("previous")
    _chattr("+a", folder)
    try:
        args = ["--report", f"json:{target}"] if option == "--report" else [option, target]
        if option == "-o":
            args += ["--format", "json"]
        out = losscli("compute", "mse", d / "p.csv", d / "y.csv", *args)
        assert (out.returncode, out.stderr) == (0, "")
        assert os.listdir(folder) == [target.name]
        if option == "--save-grad":
            assert np.load(target).shape == (3,)
        else:
            assert json.loads(target.read_text())["results"][0]["loss"] == "mse"
    finally:
        _chattr("-a", folder)


def test_a_report_to_standard_error_beside_standard_output_on_one_pipe(d):  # noqa: F811
    """``2>&1 | tee log`` with ``--report table:/dev/stderr``: both reach the pipe's one reader, as
    asked; refused as 'the same file' once named FIFOs were (review 106 #6)."""
    out = subprocess.run(f"{shlex.quote(sys.executable)} -m losscli compute mse {d / 'p.csv'} {d / 'y.csv'} "
                         "--format value --report table:/dev/stderr 2>&1 | cat", shell=True, capture_output=True,
                         text=True, timeout=120, executable="/bin/bash")
    assert out.returncode == 0 and out.stdout.count("mse") >= 1 and out.stdout.strip().splitlines()[-1][0].isdigit()


@pytest.mark.parametrize("name", ["_reports", ".cache"])
def test_a_folder_the_dataset_reader_skips_is_not_the_dataset(d, name):  # noqa: F811
    """``ds/_reports -> ../reports``: the reader never walks a folder named with _ or . (not data),
    but the check of outputs that would join a dataset did, and refused ``-o reports/run.json``
    (review 106 #7)."""
    (d / "ds").mkdir()
    (d / "reports").mkdir()
    write_csv(d / "ds" / "part-0.csv", ["pred"], [[0.1], [0.2], [0.9]])
    os.symlink("../reports", d / "ds" / name)
    out = losscli("compute", "mse", d / "ds", d / "y.csv", "-o", d / "reports" / "run.json")
    assert (out.returncode, out.stderr) == (0, "")
    assert json.loads((d / "reports" / "run.json").read_text())["results"][0]["count"] == 3


@pytest.mark.skipif(not ROOT, reason="making a device node takes root")
@pytest.mark.parametrize("option", ["-o", "--save-grad", "--report"])
def test_a_block_device_is_never_written(d, option):  # noqa: F811
    """``-o /dev/loop0`` wrote the report over the disk's first bytes, its partition table (review 104
    #2): a block device is refused, whichever output names it. (A node of an unused loop device.)"""
    node = d / "disk"
    os.mknod(node, stat.S_IFBLK | 0o600, os.makedev(7, 200))
    target = f"json:{node}" if option == "--report" else str(node)
    out = losscli("compute", "mse", d / "p.csv", d / "y.csv", option, target)
    named = {"-o": "--output"}.get(option, option)
    assert (out.returncode, out.stdout) == (2, "")
    assert out.stderr == (f"Error: {named} {target}: is a block device (a disk or a partition): refusing to write "
                          "over it; name a file\n")


@pytest.mark.parametrize("args, what", [(["list", "--format", "names"], "the report (--format names)"),
                                        (["info", "mse"], "the report (--format text)"),
                                        (["completion", "bash"], "the completion script")])
def test_list_info_and_completion_do_not_write_into_a_plugin(tmp_path, args, what):
    """``losscli --plugin pl.py list >> pl.py`` appended 66 lines of names to the user's loss code
    (its next run: exit 2, NameError); compute and plot refused it, list, info and completion did
    not check (review 104 #3)."""
    plugin = tmp_path / "pl.py"
    plugin.write_text("from losscli import register_loss\n\n\n@register_loss('pl_se')\n"
                      "def pl_se(predictions, labels):\n    return (predictions - labels) ** 2\n")
    before = plugin.read_bytes()
    with open(plugin, "ab") as out:
        done = subprocess.run([sys.executable, "-m", "losscli", "--plugin", str(plugin), *args], stdout=out,
                              stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, timeout=120)
    assert (done.returncode, plugin.read_bytes()) == (2, before)
    assert done.stderr.decode() == (f"Error: {what}: standard output is an input (--plugin {plugin}): refusing to "
                                    "write into an input; send the output to another file\n")


@pytest.mark.parametrize("args", [["compute", "hubber", "P", "Y"], ["compute", "mse", "P", "Y", "--bogus"],
                                  ["compute", "mse", "P", "Y", "-p", "delta=2"], ["compute", "mse", "P", "Y", "--reduction", "foo"],
                                  ["compute", "mse", "P:pred", "Y"], ["--plugin", "nope.py", "compute", "mse", "P", "Y"],
                                  ["compute", "mse", "DIR", "Y"]])
def test_standard_error_on_an_input_is_refused_before_anything_is_said(d, args):  # noqa: F811
    """``2>> preds.csv`` was refused only once the command line was parsed, the losses named and the
    plugins loaded: "Error: unknown loss 'hubber'", click's "No such option" and a broken plugin's
    warning were appended to the input first (review 72 #4). An argument naming the file standard
    error is on, or a dataset directory holding it, is refused first, and nothing is written."""
    (d / "ds").mkdir()
    (d / "ds" / "part-0.csv").write_bytes((d / "p.csv").read_bytes())
    target = d / "ds" / "part-0.csv" if "DIR" in args else d / "p.csv"
    before = target.read_bytes()
    cmd = [str(d / "ds") if a == "DIR" else str(d / "p.csv") if a == "P" else f"{d / 'p.csv'}:pred" if a == "P:pred"
           else str(d / "y.csv") if a == "Y" else a for a in args]
    with open(target, "ab") as err:
        out = subprocess.run([sys.executable, "-m", "losscli", *cmd], stdout=subprocess.PIPE, stderr=err,
                             stdin=subprocess.DEVNULL, timeout=120, start_new_session=True, cwd=d)
    assert (out.returncode, out.stdout, target.read_bytes()) == (2, b"", before)


def test_standard_error_opened_on_an_input_is_refused_and_the_input_kept(d):  # noqa: F811
    """``2>> preds.csv``: notes, warnings and errors were appended to the input (the next read failed at
    'Error: ...' on its last line; review 62). Refused, exit 2, and nothing written into it: the refusal
    goes to the terminal if there is one."""
    before = (d / "p.csv").read_bytes()
    with open(d / "p.csv", "ab") as err:
        out = subprocess.run([sys.executable, "-m", "losscli", "compute", "mse", d / "p.csv", d / "y.csv", "--format",
                              "value"], stdout=subprocess.PIPE, stderr=err, stdin=subprocess.DEVNULL, timeout=120,
                             start_new_session=True)  # (no terminal: nowhere else to say it)
    assert (out.returncode, out.stdout) == (2, b"")
    assert (d / "p.csv").read_bytes() == before
    with open(d / "elsewhere.txt", "ab") as err:  # (another file: the run is the run)
        out = subprocess.run([sys.executable, "-m", "losscli", "compute", "mse", d / "p.csv", d / "y.csv", "--format",
                              "value"], stdout=subprocess.PIPE, stderr=err, timeout=120)
    assert out.returncode == 0


@pytest.mark.parametrize("key", ["inputs", "baseline", "weights", "by_file"])
def test_a_gate_input_given_as_a_url_is_read_and_never_an_output(run, d, key):  # noqa: F811
    """``inputs = ["file:///abs/p.csv", ...]`` in a gate: the URL was joined onto the config's folder
    (``cfg/file:/abs/p.csv``), the gate could not read it and ``--report json:/abs/p.csv`` (written
    even when a gate errors) overwrote the input. A URL is read as ``compute`` reads it, and refused
    as an output like any input; so are ``baseline``, ``weights`` and ``by_file``."""
    (d / "w.csv").write_text("w\n1\n2\n3\n")  # (three rows, as p.csv and y.csv)
    (d / "s.csv").write_text("g\n0\n1\n1\n")
    (d / "cfg").mkdir()
    url = {k: f"file://{d / f}" for k, f in (("inputs", "p.csv"), ("baseline", "b.csv"), ("weights", "w.csv"),
                                              ("by_file", "s.csv"))}
    extra = {"baseline": f'baseline = "{url["baseline"]}"\nmax_increase = 100\n', "weights": f'weights = "{url["weights"]}"\n',
             "by_file": f'by_file = "{url["by_file"]}"\nby = "g"\nmin_slice_size = 1\n', "inputs": ""}[key]
    (d / "cfg" / "g.toml").write_text(f'[[gate]]\nloss = "mse"\ninputs = ["{url["inputs"]}", "{d / "y.csv"}"]\n'
                                      f'max = 100\n{extra}')
    out = run("check", d / "cfg" / "g.toml", "--format", "json")
    assert out.exit_code == 0, out.stderr
    target = d / url[key].rsplit("/", 1)[1]
    before = target.read_bytes()
    out = run("check", d / "cfg" / "g.toml", "--report", f"json:{target}")
    assert (out.exit_code, out.stderr) == (2, f"Error: {target}: is also an input ({url[key]}); "
                                              "refusing to overwrite an input\n")
    assert target.read_bytes() == before


@pytest.mark.parametrize("target", ["part-1.csv", "part-2.csv"])
def test_a_parameter_naming_a_dataset_directory_is_protected_as_an_input(run, d, target):  # noqa: F811
    """``-p class_weights=wdir`` (wdir/part-0.csv, part-1.csv): the directory was protected, not its
    shards, and ``-o wdir/part-1.csv`` overwrote one. Every file inside it is an input, and a new file
    there (read as a shard from then on) is refused, as for a dataset given as an input."""
    (d / "P.csv").write_text("a,b,c\n0.2,0.3,0.5\n0.6,0.3,0.1\n0.1,0.1,0.8\n")
    (d / "lab.csv").write_text("label\n2\n0\n1\n")
    (d / "wdir").mkdir()
    (d / "wdir" / "part-0.csv").write_text("w\n1.0\n2.0\n")
    (d / "wdir" / "part-1.csv").write_text("w\n0.5\n")
    args = ["compute", "ce", d / "P.csv", d / "lab.csv", "-p", f"class_weights={d / 'wdir'}", "--format", "csv"]
    assert run(*args).exit_code == 0
    out = run(*args, "-o", d / "wdir" / target)
    assert (out.exit_code, out.stdout) == (2, "")
    assert out.stderr == (f"Error: --output {d / 'wdir' / target}: is inside a sharded input (class_weights="
                          f"{d / 'wdir'}): written there, it would be read as one of its shards from then on; "
                          "write it elsewhere\n")
    assert sorted(os.listdir(d / "wdir")) == ["part-0.csv", "part-1.csv"]
    assert (d / "wdir" / "part-1.csv").read_text() == "w\n0.5\n"


# -- B6: closed and failing standard streams, and a file mounted on its name -------------------------
def _with_fds(*args, close=(), stderr_to=None, stdin=None, cwd=None):
    """losscli with descriptors ``close`` closed in the child (as the shell's ``>&-``, ``2>&-``),
    or standard error sent to ``stderr_to`` (``/dev/full``)."""
    def preexec():
        for fd in close:
            os.close(fd)

    err = open(stderr_to, "w") if stderr_to else subprocess.PIPE
    try:
        return subprocess.run([sys.executable, "-m", "losscli", *map(str, args)], stdin=stdin, stdout=subprocess.PIPE,
                              stderr=err, text=True, timeout=120, preexec_fn=preexec, cwd=cwd)
    finally:
        if stderr_to:
            err.close()


@pytest.mark.parametrize("how", ["2>&-", "2>/dev/full"])
def test_a_closed_or_full_standard_error_never_changes_the_exit_code_or_the_outputs(d, how):  # noqa: F811
    """With stderr closed Python leaves sys.stderr None: compute, compare, check and fit ended with
    an AttributeError nobody saw and exit 1 (a failed check's code) on runs that had passed, and
    -o was not written; on /dev/full a note or warning ended the run with exit 2."""
    kw = {"close": (2,)} if how == "2>&-" else {"stderr_to": "/dev/full"}
    (d / "n.csv").write_text("pred\nnan\n2\n3\n")
    value = (0.25 + 1.0 + 4.0) / 3
    out = _with_fds("compute", "mse", d / "p.csv", d / "y.csv", "--format", "value", **kw)
    assert (out.returncode, float(out.stdout)) == (0, pytest.approx(value))
    out = _with_fds("compute", "mse", d / "p.csv", d / "y.csv", "--format", "value", "--fail-above", "0.1", **kw)
    assert (out.returncode, float(out.stdout)) == (1, pytest.approx(value))
    out = _with_fds("compute", "mse", d / "n.csv", d / "y.csv", "--nan-policy", "omit", "-o", d / "r.json",
                    "--format", "json", **kw)  # (a warning: a row omitted)
    assert (out.returncode, out.stdout) == (0, "")
    assert json.loads((d / "r.json").read_text())["results"][0]["count"] == 2
    for name in NAMES:
        args, _ = commands(d)[name]
        out = _with_fds(*args, **kw)
        assert out.returncode == 0, name
        assert out.stdout.strip(), name
        if "json" in args:
            json.loads(out.stdout)


def test_a_signal_with_standard_error_closed_still_ends_with_its_code(d):  # noqa: F811
    r, w = os.pipe()
    try:
        def preexec():
            os.close(2)

        proc = subprocess.Popen([sys.executable, "-m", "losscli", "compute", "mse", d / "p.csv", "-", "--format",
                                 "value"], stdin=r, stdout=subprocess.PIPE, preexec_fn=preexec)
        time.sleep(3)  # (imported and waiting for standard input)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 128 + signal.SIGTERM
    finally:
        os.close(r)
        os.close(w)


@pytest.fixture
def wide(tmp_path):
    rng = np.random.default_rng(0)
    np.save(tmp_path / "mp.npy", rng.normal(size=(50_000, 5)))
    np.save(tmp_path / "my.npy", rng.integers(0, 5, 50_000).astype(float))
    return tmp_path


@pytest.mark.parametrize("closed, path", [(1, "/dev/stdout"), (0, "/dev/stdin"), (1, "/proc/self/fd/1")])
def test_an_output_named_by_a_closed_standard_descriptor_is_refused(wide, closed, path):
    """A closed descriptor's number goes to the next file opened: --save-grad /dev/stdout with >&-
    wrote the gradient into the temporary file of -o's report (exit 0, the gradient lost), and -o
    /dev/stdout the table into that of a hard-linked --report (written over the report's content
    before it was truncated back)."""
    label, redirect = {0: ("standard input", "<&-"), 1: ("standard output", ">&-")}[closed]
    message = f"Error: {path}: cannot write: {label} is closed ({redirect}); name a file, or send it to /dev/null\n"
    out = _with_fds("compute", "softmax_ce", wide / "mp.npy", wide / "my.npy", "--save-grad", path,
                    "-o", wide / "r.json", close=(closed,))
    assert (out.returncode, out.stderr) == (2, message)
    assert not (wide / "r.json").exists()
    (wide / "hr.json").write_text("previous")
    os.link(wide / "hr.json", wide / "hr2.json")
    out = _with_fds("compute", "softmax_ce", wide / "mp.npy", wide / "my.npy", "--report", f"json:{wide / 'hr.json'}",
                    "-o", path, close=(closed,))
    assert (out.returncode, out.stderr) == (2, message)
    assert (wide / "hr.json").read_text() == (wide / "hr2.json").read_text() == "previous"


def test_an_output_named_by_a_descriptor_not_open_at_the_start_is_refused(wide):
    out = _with_fds("compute", "softmax_ce", wide / "mp.npy", wide / "my.npy", "--save-grad", "/dev/fd/7",
                    "-o", wide / "r.json")
    assert (out.returncode, out.stderr) == (2, "Error: /dev/fd/7: cannot write: descriptor 7 was not open when "
                                               "losscli started\n")
    with open(wide / "fd7.npy", "wb") as fh:  # (and one the shell opened is written through)
        out = subprocess.run([sys.executable, "-m", "losscli", "compute", "mse", wide / "mp.npy", wide / "mp.npy",
                              "--save-grad", f"/dev/fd/{fh.fileno()}", "--format", "value"], pass_fds=(fh.fileno(),),
                             capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    with np.load(wide / "fd7.npy") as grads:  # (a name without .npy: an archive, one member a role)
        assert grads["predictions"].shape == (50_000, 5)


@pytest.mark.skipif(not ROOT, reason="mount takes root")
@pytest.mark.parametrize("option", ["-o", "--save-grad", "--report"])
def test_a_file_mounted_on_its_name_is_written_in_place(run, d, option):  # noqa: F811
    """docker run -v $PWD/r.json:/w/r.json: the output's name is a mount point, and renaming over it
    fails (EBUSY: 'Device or resource busy', exit 2, where the shell's > writes it). It is written
    in place, into the mounted file."""
    name = {"-o": "r.txt", "--save-grad": "g.npy", "--report": "r.json"}[option]
    source, target = d / f"source-{name}", d / name
    source.write_text("previous")
    target.write_text("mount point")
    if subprocess.run(["mount", "--bind", str(source), str(target)], capture_output=True).returncode != 0:
        pytest.skip("mount --bind is not allowed here")
    try:
        args = ["--report", f"json:{target}"] if option == "--report" else [option, target]
        out = run("compute", "mse", d / "p.csv", d / "y.csv", "--format", "value", *args)
        assert out.exit_code == 0, out.stderr
        assert source.read_bytes() != b"previous"
        if option == "--save-grad":
            np.testing.assert_allclose(np.load(source), 2 * np.array([0.5, 1.0, -2.0]) / 3)
    finally:
        subprocess.run(["umount", str(target)], check=True)
    assert target.read_text() == "mount point"


@pytest.mark.parametrize("how", [">/dev/full", ">&-"])
def test_fit_keeps_the_previous_image_when_its_table_cannot_be_written(d, how):  # noqa: F811
    image = d / "curve.png"
    image.write_bytes(b"previous")
    args = ["fit", "mse", d / "fit.csv", "--epochs", "3", "-o", image]
    if how == ">&-":
        out = _with_fds(*args, close=(1,))
    else:
        with open("/dev/full", "w") as full:
            out = subprocess.run([sys.executable, "-m", "losscli", *map(str, args)], stdout=full,
                                 stderr=subprocess.PIPE, text=True, timeout=120)
    assert out.returncode == 2
    assert image.read_bytes() == b"previous"
    assert not [p for p in os.listdir(d) if p.endswith(".tmp")]
