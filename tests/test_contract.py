"""The exit-code contract for every command, file and environment: a usage, input or environment
problem is one line on stderr and exit 2, never 3 (a bug) nor 1 (a failed check); nonsense values
are refused; plugins cannot take losscli over; pipes, full disks and encodings end cleanly."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
import zipfile

import numpy as np
import pytest

from .conftest import write_csv


@pytest.fixture
def d(tmp_path):
    write_csv(tmp_path / "p.csv", ["pred"], [[0.1], [0.2], [0.9]])
    write_csv(tmp_path / "y.csv", ["label"], [[0], [1], [1]])
    write_csv(tmp_path / "pr.csv", ["a", "b"], [[0.1, 0.9], [0.5, 0.5], [0.2, 0.8]])
    write_csv(tmp_path / "yn.csv", ["label"], [[""], [1], [1]])
    with zipfile.ZipFile(tmp_path / "model.pt", "w") as z:  # what torch.save writes: a ZIP of pickles
        z.writestr("archive/data.pkl", b"\x80\x04N.")
    return tmp_path


def _npy(d, name, values):
    np.save(d / name, np.asarray(values, dtype=np.float64))
    return d / name


def gate(d, name, body):
    path = d / f"{name}.toml"
    path.write_text('[[gate]]\nloss = "mse"\ninputs = ["p.csv", "y.csv"]\n' + body)
    return path


def plugin(d, name, body):
    path = d / (name if "." in name else f"{name}.py")
    path.write_text(textwrap.dedent(body))
    return path


SQUARED = """
from losscli import register_loss

@register_loss({name!r}, coupling="elementwise"{extra})
def f(predictions, labels):
    \"\"\"Squared error (a plugin).\"\"\"
    {body}
    return 10.0 * (predictions - labels) ** 2
"""

CASES = {
    # -- nonsense values: refused, not compared with NaN -------------------------------------------
    "compute --fail-above nan": (lambda d: ["compute", "mse", d / "p.csv", d / "y.csv", "--fail-above", "nan"],
                                 "Error: Invalid value for '--fail-above': expected a finite number, got 'nan' "
                                 "(see 'losscli compute --help')"),
    "gradcheck --rtol nan": (lambda d: ["gradcheck", "mse", "--rtol", "nan"],
                             "Error: Invalid value for '--rtol': expected a finite number, got 'nan' "
                             "(see 'losscli gradcheck --help')"),
    "gradcheck --atol inf": (lambda d: ["gradcheck", "mse", "--atol", "inf"],
                             "Error: Invalid value for '--atol': expected a finite number, got 'inf' "
                             "(see 'losscli gradcheck --help')"),
    "compare --seed -1": (lambda d: ["compare", "mse", d / "p.csv", d / "p.csv", d / "y.csv", "--seed", "-1"],
                          "Error: Invalid value for '--seed': -1 is not in the range x>=0. "
                          "(see 'losscli compare --help')"),
    "compare --bootstrap beyond the bound": (
        lambda d: ["compare", "mse", d / "p.csv", d / "p.csv", d / "y.csv", "--bootstrap", "1000000000000"],
        "Error: Invalid value for '--bootstrap': 1000000000000 is not in the range 0<=x<=1000000. "
        "(see 'losscli compare --help')"),
    "plot --sweep with no values": (lambda d: ["plot", "focal", "--sweep", "gamma="],
                                    "Error: --sweep: expected NAME=V1,V2,... with at least one value, got 'gamma='"),
    "check: max = nan": (lambda d: ["check", gate(d, "g1", "max = nan\n")],
                         "Error: {d}/g1.toml: gate 1: key 'max' must be a finite number, got nan"),
    "check: bootstrap = -5": (lambda d: ["check", gate(d, "g2", 'baseline = "p.csv"\nbootstrap = -5\n')],
                              "Error: {d}/g2.toml: gate 1: key 'bootstrap' must be an integer in [0, 1,000,000], "
                              "got -5"),
    "check: confidence = 2.0": (lambda d: ["check", gate(d, "g3", 'baseline = "p.csv"\nconfidence = 2.0\n')],
                                "Error: {d}/g3.toml: gate 1: key 'confidence' must be in (0, 1), got 2.0"),
    # -- inputs that used to end as internal errors ------------------------------------------------
    "a ZIP that is not an NPZ": (lambda d: ["compute", "mse", d / "model.pt", d / "y.csv"],
                                 "Error: {d}/model.pt: not an NPZ archive: its member 'archive/data.pkl' is not an "
                                 ".npy array (a ZIP of other files, such as a torch.save checkpoint?)"),
    "a missing id with --nan-policy propagate": (
        lambda d: ["compute", "supcon", write_csv(d / "emb.csv", ["e0", "e1"], [[1, 0], [0, 1], [1, 1]]),
                   write_csv(d / "ids.csv", ["id"], [[1], [""], [1]]), "--nan-policy", "propagate"],
        "Error: {d}/ids.csv, line 3, column 'id': found nan, a missing id (supcon labels expects integer ids; "
        "--nan-policy propagate cannot pass it on: --nan-policy omit drops such rows)"),
    "a missing binary label with --nan-policy propagate": (
        lambda d: ["compute", "contrastive", write_csv(d / "x1.csv", ["a", "b"], [[1.0, -1.0], [0.5, 2.0]]),
                   write_csv(d / "x2.csv", ["a", "b"], [[1.0, 0.0], [0.0, 1.0]]),
                   write_csv(d / "sim.csv", ["similar"], [[""], [1]]), "--nan-policy", "propagate"],
        "Error: {d}/sim.csv, line 2, column 'similar': found nan, a missing label (contrastive labels expects "
        "labels in {{0, 1}}; --nan-policy propagate cannot pass it on: --nan-policy omit drops such rows)"),
    "a missing class label with --nan-policy propagate": (
        lambda d: ["compute", "ce", d / "pr.csv", d / "yn.csv", "--nan-policy", "propagate"],
        "Error: {d}/yn.csv, line 2, column 'label': found nan, a missing class label (ce labels expects integer "
        "class indices in [0, C); --nan-policy propagate cannot pass it on: --nan-policy omit drops such rows)"),
    "a malformed --scheduler": (lambda d: ["compute", "mse", d / "p.csv", d / "y.csv", "--engine", "dask",
                                           "--scheduler", "tcp://::::"],
                                "Error: --scheduler tcp://::::: not a scheduler address (an IPv6 host needs "
                                "brackets, as in tcp://[::1]:8786)"),
    "a file name too long": (lambda d: ["compute", "mse", d / ("a" * 300 + ".csv"), d / "y.csv"],
                             "Error: {d}/" + "a" * 300 + ".csv: File name too long"),
    "class weights that are all zero, with the mean": (
        lambda d: ["compute", "softmax_ce", _npy(d, "lg.npy", [[1.0, 2.0], [0.5, 0.1]]), _npy(d, "ix.npy", [0.0, 1.0]),
                   "-p", "class_weights=0,0"],
        "Error: softmax_ce: the mean's denominator is 0 (every sample's share of it, such as the class weight of "
        "its class, is 0); the mean is undefined: give non-zero weights, or use --reduction sum"),
    # -- plugins -----------------------------------------------------------------------------------
    "--plugin that is not Python": (lambda d: ["--plugin", plugin(d, "notes.md", "# notes\n"), "list"],
                                    "Error: Invalid value for '--plugin': not a Python file (name a .py file or a "
                                    "module) (see 'losscli --help')"),
    "--plugin that calls sys.exit(0) when loaded": (
        lambda d: ["--plugin", plugin(d, "quits", "import sys\nsys.exit(0)\n"), "list"],
        "Error: Invalid value for '--plugin': failed to load: it called sys.exit(0) (a plugin cannot end losscli "
        "or choose its exit code) (see 'losscli --help')"),
    "--plugin replacing a built-in without --allow-override": (
        lambda d: ["--plugin", plugin(d, "shadow", SQUARED.format(name="mse", extra=", replace=True", body="")),
                   "list"],
        "Error: Invalid value for '--plugin': losscli_plugin_{n}_shadow replaces the built-in loss 'mse'; allow it "
        "with losscli --allow-override, or choose another name (see 'losscli --help')"),
    "a loss that calls sys.exit(0) while a gate fails": (
        lambda d: ["--plugin", plugin(d, "exits", SQUARED.format(name="exits_sq", extra="",
                                                                  body="import sys; sys.exit(0)")),
                   "check", _gate_with(d, "g4", "exits_sq")],
        "Error: a loss called sys.exit(0) while losscli ran; a plugin cannot end losscli or choose its exit code"),
}


def _gate_with(d, name, loss):
    path = d / f"{name}.toml"
    path.write_text(f'[[gate]]\nloss = "{loss}"\ninputs = ["p.csv", "y.csv"]\nmax = 0.0\n')
    return path


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_problem_is_one_line_and_exit_2(run, d, case):
    make_args, expected = CASES[case]
    args = make_args(d)
    result = run(*args)
    assert (result.exit_code, result.stdout) == (2, ""), result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    if "{n}" in expected:  # the plugin's module name carries a counter
        prefix, suffix = expected.split("{n}")
        assert lines[0].startswith(prefix) and lines[0].endswith(suffix.split("_", 1)[1]), lines[0]
    else:
        assert lines[0] == expected.format(d=d)


def test_allow_override_says_so_and_uses_the_plugin(run, d):
    path = plugin(d, "shadow2", SQUARED.format(name="mse", extra=", replace=True", body=""))
    result = run("--allow-override", "--plugin", path, "compute", "mse", d / "p.csv", d / "y.csv",
                 "--format", "json")
    assert result.exit_code == 0, result.stderr
    record = __import__("json").loads(result.stdout)["results"][0]
    assert record["value"] == pytest.approx(10 * np.mean([0.01, 0.64, 0.01]))
    assert record["source"].endswith("_shadow2")
    assert result.stderr.splitlines() == [
        f"losscli: warning: {result.stderr.split('warning: ')[1].split(' ')[0]} replaces the built-in loss mse "
        "(--allow-override)"]


def _installed_plugin(tmp_path, body):
    """A real installed distribution declaring the entry-point group, on PYTHONPATH."""
    (tmp_path / "broken_losses.py").write_text(body)
    dist = tmp_path / "broken_losses-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-losses\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[losscli.losses]\nbroken = broken_losses\n")
    return {**os.environ, "PYTHONPATH": str(tmp_path)}


def _cli(*args, env=None, **kw):
    return subprocess.run([sys.executable, "-m", "losscli", *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=120, **kw)


def test_a_broken_installed_plugin_is_reported_once_and_stops_nothing(tmp_path, d):
    env = _installed_plugin(tmp_path, "raise RuntimeError('half-installed')\n")
    out = _cli("compute", "mse", d / "p.csv", d / "y.csv", "--format", "value", env=env)
    assert out.returncode == 0
    assert float(out.stdout) == pytest.approx(np.mean([0.01, 0.64, 0.01]))
    assert out.stderr.splitlines() == [
        "losscli: warning: plugin entry point broken (broken_losses) failed to load: RuntimeError: half-installed; "
        "its losses are unavailable (LOSSCLI_NO_PLUGINS=1 turns installed plugins off)"]
    quiet = _cli("list", "--format", "names", env={**env, "LOSSCLI_NO_PLUGINS": "1"})
    assert quiet.returncode == 0 and quiet.stderr == "" and "mse" in quiet.stdout.split()
    flag = _cli("--no-plugins", "list", "--format", "names", env=env)
    assert flag.returncode == 0 and flag.stderr == ""


@pytest.mark.parametrize("fmt", ["table", "json", "csv", "ndjson", "value"])
def test_a_closed_pipe_exits_141_silently(tmp_path, fmt):
    np.save(tmp_path / "p.npy", np.linspace(0, 1, 200_000))
    np.save(tmp_path / "t.npy", np.zeros(200_000))
    proc = subprocess.Popen([sys.executable, "-m", "losscli", "compute", "mse", tmp_path / "p.npy", tmp_path / "t.npy",
                             "--reduction", "none", "--per-sample", "--format", fmt],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0)
    with proc:
        proc.stdout.read(1)
        proc.stdout.close()  # the reader goes away, as `| head -c 1` does, with megabytes still to come
        err = proc.stderr.read().decode()
        assert proc.wait(timeout=60) == 141
    assert err == ""


def test_a_full_disk_on_stdout_is_exit_2(d):
    with open("/dev/full", "w") as full:
        out = subprocess.run([sys.executable, "-m", "losscli", "compute", "mse", d / "p.csv", d / "y.csv"],
                             stdout=full, stderr=subprocess.PIPE, text=True, timeout=60)
    assert out.returncode == 2
    assert out.stderr == "Error: standard output: No space left on device\n"


CLOSED_STDOUT = ("Error: standard output: it is closed (>&-: write the output to a file with -o, or send it to "
                 "/dev/null)\n")


@pytest.mark.parametrize("args", [
    ("compute", "mse", "{d}/p.csv", "{d}/y.csv"),
    ("compute", "mse", "{d}/p.csv", "{d}/y.csv", "--format", "json"),
    ("compute", "mse", "{d}/p.csv", "{d}/y.csv", "--save-grad", "-", "-o", "{d}/out.txt"),
    ("gradcheck", "mse", "--format", "junit"),
    ("list",),
    ("--help",),
    ("--version",),
])
def test_a_closed_stdout_is_exit_2_with_one_line(d, args):
    """Started with standard output closed (`>&-`), Python has no sys.stdout: every command ended
    in 'internal error: AttributeError' (exit 3). Nothing can be written: exit 2, one line."""
    out = subprocess.run([sys.executable, "-m", "losscli", *(a.format(d=d) for a in args)], stderr=subprocess.PIPE,
                         text=True, timeout=120, preexec_fn=lambda: os.close(1))
    assert (out.returncode, out.stderr) == (2, CLOSED_STDOUT)


def test_a_closed_stdout_is_no_matter_when_the_output_goes_to_a_file(d):
    out = subprocess.run([sys.executable, "-m", "losscli", "compute", "mse", d / "p.csv", d / "y.csv", "--format",
                          "value", "-o", d / "v.txt"], stderr=subprocess.PIPE, text=True, timeout=120,
                         preexec_fn=lambda: os.close(1))
    assert (out.returncode, out.stderr) == (0, "") and (d / "v.txt").read_text() == "0.22000000000000006\n"


def test_a_closed_stdin_read_as_dash_is_exit_2_with_one_line(d):
    out = subprocess.run([sys.executable, "-m", "losscli", "compute", "mse", "-", d / "y.csv"], capture_output=True,
                         text=True, timeout=120, preexec_fn=lambda: os.close(0))
    assert (out.returncode, out.stdout) == (2, "")
    assert out.stderr == ("Error: <stdin>: cannot read: it is closed (<&-: there is nothing to read as '-'; give a "
                          "file instead)\n")


@pytest.mark.parametrize("args", [("--help",), ("--version",), ("compute", "mse", "{d}/p.csv", "{d}/y.csv",
                                                                 "--save-grad", "-", "-o", "{d}/out.txt")])
def test_a_full_disk_under_help_version_and_gradients_names_stdout(d, args):
    with open("/dev/full", "w") as full:
        out = subprocess.run([sys.executable, "-m", "losscli", *(a.format(d=d) for a in args)], stdout=full,
                             stderr=subprocess.PIPE, text=True, timeout=60)
    assert (out.returncode, out.stderr) == (2, "Error: standard output: No space left on device\n")


def test_an_encoding_that_cannot_print_the_output_is_exit_2():
    out = _cli("info", "huber", env={**os.environ, "PYTHONIOENCODING": "latin-1"})
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr == ("Error: the output cannot be written in the latin-1 encoding (it holds '\\u03a3'): "
                          "set PYTHONIOENCODING=utf-8, or write a file with -o\n")


def test_unreadable_files_are_exit_2(d, tmp_path):
    """Real permission checks: root without the capabilities that let it read any file (setpriv
    drops CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH), so the files' own modes apply."""
    import shutil

    if os.geteuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("needs root and setpriv to drop the capability to read every file")
    unreadable = tmp_path / "unreadable.csv"
    write_csv(unreadable, ["pred"], [[0.1], [0.2], [0.9]])
    unreadable.chmod(0o000)
    shut = tmp_path / "shut"  # a directory that cannot be searched
    shut.mkdir()
    write_csv(shut / "p.csv", ["pred"], [[0.1], [0.2], [0.9]])
    shards = tmp_path / "shards"  # a shard directory that cannot be listed
    shards.mkdir()
    write_csv(shards / "part-0.csv", ["pred"], [[0.1], [0.2], [0.9]])
    config = tmp_path / "gates.toml"
    config.write_text(f'[[gate]]\nloss = "mse"\ninputs = ["{d}/p.csv", "{d}/y.csv"]\nmax = 1\n')
    config.chmod(0o000)
    shut.chmod(0o600)
    shards.chmod(0o300)
    cases = {
        "an unreadable file": (["compute", "mse", unreadable, d / "y.csv"],
                               f"Error: {unreadable}: permission denied (cannot read the file)"),
        "a file in a directory that cannot be searched": (["compute", "mse", shut / "p.csv", d / "y.csv"],
                                                           f"Error: {shut}/p.csv: Permission denied"),
        "a shard directory that cannot be listed": (["compute", "mse", shards, d / "y.csv"],
                                                    f"Error: {shards}: Permission denied"),
        "an unreadable config": (["check", config], f"Error: {config}: Permission denied"),
    }
    try:
        for name, (args, expected) in cases.items():
            out = subprocess.run(["setpriv", "--bounding-set=-dac_override,-dac_read_search", sys.executable, "-m",
                                  "losscli", *map(str, args)], capture_output=True, text=True, timeout=60)
            assert (out.returncode, out.stdout, out.stderr) == (2, "", expected + "\n"), name
    finally:
        shut.chmod(0o700)
        shards.chmod(0o700)


def test_echoed_content_is_escaped_and_cut(run, d):
    (d / "big.csv").write_text("pred\n" + "9" * 5000 + "x\n0.2\n0.9\n")
    out = run("compute", "mse", d / "big.csv", d / "y.csv")
    assert out.exit_code == 2 and len(out.stderr.splitlines()) == 1
    assert len(out.stderr) < 1200 and "characters cut" in out.stderr
    out = run("info", "x" * 100_000)
    assert out.exit_code == 2 and len(out.stderr) < 1200 and len(out.stderr.splitlines()) == 1
    out = run("compute", "mse", d / "a\x1b[31mb.csv", d / "y.csv")
    assert out.stderr == f"Error: {d}/a\\x1b[31mb.csv: no files match this pattern\n"


def test_junit_is_valid_xml_and_markdown_escapes_whatever_the_names(run, d):
    (d / "g.toml").write_text('[[gate]]\nname = "a\\u001b|b <i>*c*_d_"\nloss = "mse"\n'
                              'inputs = ["p.csv", "y.csv"]\nmax = 0.01\n')
    junit = run("check", d / "g.toml", "--format", "junit")
    assert junit.exit_code == 1
    case = ET.fromstring(junit.stdout.split("\n", 1)[1]).find(".//testcase")
    assert case.get("name") == "a\\x1b|b <i>*c*_d_"
    md = run("check", d / "g.toml", "--format", "markdown")
    row = md.stdout.splitlines()[2]
    assert row.startswith("| a\\x1b\\|b \\<i\\>\\*c\\*\\_d\\_ | `mse` |"), row


RESOURCES = {
    "gradcheck --samples": (["gradcheck", "mse", "--samples", "100000000"],
                            "Error: --samples/--classes/--dim: checking mse at random inputs of N=100000000, C=4, D=3 "
                            "would take about 71.5 GB, more than the 1.0 GB this run may use (lower it, or raise "
                            "--max-memory)"),
    "gradcheck infonce --samples": (["gradcheck", "infonce", "--samples", "100000"],
                                    "Error: --samples/--classes/--dim: checking infonce at random inputs of N=100000, "
                                    "C=4, D=3 would take about 596.1 GB, more than the 1.0 GB this run may use "
                                    "(lower it, or raise --max-memory)"),
    "plot --points": (["plot", "mse", "--points", "100000000"],
                      "Error: --points: 2 curves of 100,000,000 points would take about 26.8 GB, more than the "
                      "1.0 GB this run may use (lower it, or raise --max-memory)"),
    "compute --top": (["compute", "mse", "{d}/big_p.npy", "{d}/big_t.npy", "--top", "5000000"],
                      "Error: --top: the 3,000,000 worst samples with their inputs would take about 1.5 GB, more "
                      "than the 1.0 GB this run may use (lower it, or raise --max-memory)"),
}


@pytest.mark.parametrize("case", list(RESOURCES), ids=list(RESOURCES))
def test_memory_an_option_implies_is_refused_before_it_is_spent(run, d, case):
    write_csv(d / "fit.csv", ["x", "y"], [(i, 2 * i + 1) for i in range(6)])
    if case == "compute --top":
        np.save(d / "big_p.npy", np.zeros(3_000_000))
        np.save(d / "big_t.npy", np.zeros(3_000_000))
    args, expected = RESOURCES[case]
    started = __import__("time").perf_counter()
    result = run("--max-memory", "1G", *[a.format(d=d) for a in args])
    assert (result.exit_code, result.stdout, result.stderr) == (2, "", expected + "\n")
    assert __import__("time").perf_counter() - started < 5  # refused before anything is allocated


def test_numbers_at_the_extremes_stay_finite_and_accurate(run_json, tmp_path):
    def save(name, array):
        np.save(tmp_path / name, np.asarray(array, dtype=np.float64))
        return tmp_path / name

    # the standard deviation of per-sample losses beyond 1e154 (their squares overflow)
    big = [1e200, 3e200, -2e200]
    rec = run_json("compute", "mae", save("p.npy", big), save("t.npy", np.zeros(3)))["results"][0]
    assert rec["stats"]["std"] == pytest.approx(np.std([1.0, 3.0, 2.0]) * 1e200, rel=1e-14, abs=0)
    # weights of 1e308: the weighted mean is a ratio, and stays one
    w = [1e308, 1e308, 5e307]
    rec = run_json("compute", "mae", save("p3.npy", [0.1, 0.8, 0.1]), save("t3.npy", np.zeros(3)), "--weights",
                   save("w.npy", w))["results"][0]
    assert rec["value"] == pytest.approx((0.1 + 0.8 + 0.05) / 2.5, rel=1e-14, abs=0)
    # per-sample losses near the top of float64: their sum overflows, their mean does not
    near_max = [1.7e308, 1.6e308, 1.0]
    rec = run_json("compute", "mae", save("p4.npy", near_max), save("t4.npy", np.zeros(3)))["results"][0]
    assert rec["value"] == rec["stats"]["mean"] == pytest.approx(1.1e308, rel=1e-15, abs=0)
    assert rec["stats"]["std"] == pytest.approx(float(np.std(np.array(near_max) / 1e200)) * 1e200, rel=1e-14, abs=0)
    # ... and with weights that multiply them past it
    rec = run_json("compute", "mae", save("p5.npy", near_max), save("t5.npy", np.zeros(3)), "--weights",
                   save("w5.npy", [4.0, 4.0, 8.0]))["results"][0]
    assert rec["value"] == pytest.approx(1.7e308 / 4 + 1.6e308 / 4 + 8.0 / 16, rel=1e-15, abs=0)
    # log_cosh near 0, where the stable form cancels: the series (mpmath: 5e-17 and 4.5e-18)
    rec = run_json("compute", "log_cosh", save("d.npy", [1e-8, -3e-9]), save("z.npy", np.zeros(2)),
                   "--per-sample")["results"][0]
    assert rec["per_sample"] == pytest.approx([5e-17, 4.5e-18], rel=1e-14, abs=0)
    # embeddings whose norms pass 1e154: distances and cosines as for the same vectors scaled down
    a, p, n = np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([[2.0, 1.0], [0.0, 3.0]]), np.array([[5.0, 0.0], [0.0, -1.0]])
    for loss, extra in (("triplet", [n]), ("cosine_embedding", [np.array([1.0, -1.0])])):
        scaled = run_json("compute", loss, save("a.npy", a * 1e200), save("b.npy", p * 1e200),
                          save("c.npy", extra[0] * (1e200 if extra[0].ndim == 2 else 1)), "--per-sample",
                          "-p", "margin=0" if loss == "triplet" else "margin=0.5")["results"][0]
        # (cosine_embedding's torch ε = 1e-12 on squared norms shifts unit-length vectors by ~5e-13:
        # its plain vectors are of length ~1e6, where ε is below rounding)
        s = 1.0 if loss == "triplet" else 1e6
        plain = run_json("compute", loss, save("a1.npy", a * s), save("b1.npy", p * s), save("c1.npy", extra[0]),
                         "--per-sample", "-p", "margin=0" if loss == "triplet" else "margin=0.5")["results"][0]
        factor = 1e200 if loss == "triplet" else 1.0
        assert scaled["per_sample"] == pytest.approx([v * factor for v in plain["per_sample"]], rel=1e-14, abs=0), loss


def test_propagated_nan_prints_nan_in_every_machine_format(run, d):
    write_csv(d / "pn.csv", ["pred"], [[0.1], [""], [0.9]])
    args = ["compute", "mse", d / "pn.csv", d / "y.csv", "--nan-policy", "propagate"]
    value = run(*args, "--format", "value")
    assert (value.exit_code, value.stdout, value.stderr) == (0, "nan\n", "")
    for fmt in ("json", "csv", "ndjson", "junit", "markdown", "table"):
        out = run(*args, "--format", fmt)
        assert out.exit_code == 0 and out.stderr == "", (fmt, out.stderr)


def test_a_sum_beyond_float64_is_refused_and_inf_is_printed_as_inf(run, d):
    np.save(d / "p.npy", np.array([1.7e308, 1.7e308, 1.0]))
    np.save(d / "t.npy", np.zeros(3))
    out = run("compute", "mae", d / "p.npy", d / "t.npy", "--reduction", "sum", "--format", "value")
    assert (out.exit_code, out.stdout) == (2, "")
    assert out.stderr == ("Error: mae: the sum of the per-sample losses overflows float64 (beyond 1.8e308) although "
                          "each of them is finite; use --reduction mean, or none for the per-sample values\n")
    # an infinite input, propagated on purpose, is printed as what it is (not as nan)
    np.save(d / "inf.npy", np.array([np.inf, 1.0]))
    for reduction, expected in [("sum", "inf\n"), ("mean", "inf\n"), ("none", "inf\n1.0\n")]:
        np.save(d / "t2.npy", np.zeros(2))
        out = run("compute", "mae", d / "inf.npy", d / "t2.npy", "--nan-policy", "propagate", "--reduction",
                  reduction, "--format", "value")
        assert (out.exit_code, out.stdout) == (0, expected), out.stderr


@pytest.mark.parametrize("fmt", ["table", "json", "csv", "ndjson", "markdown"])
def test_an_infinite_loss_propagated_lets_no_warning_through(run, d, fmt):
    """An inf prediction under --nan-policy propagate: the spread's inf - inf let numpy's 'invalid
    value encountered in subtract' reach stderr in every format that shows statistics. (pytest
    makes a RuntimeWarning an error here: exit 3 before the fix.)"""
    np.save(d / "inf.npy", np.array([np.inf, 1.0, 2.0]))
    np.save(d / "t3.npy", np.zeros(3))
    out = run("compute", "mse", d / "inf.npy", d / "t3.npy", "--nan-policy", "propagate", "--format", fmt)
    assert (out.exit_code, out.stderr) == (0, ""), out.stderr


def test_gradcheck_at_inputs_of_1e300_says_what_it_can(d):
    """No RuntimeWarning reaches stderr; a loss that overflows at the inputs is an input error, as
    in compute; one that stays finite is checked."""
    np.save(d / "g1.npy", np.array([1e300, -2e300, 3.0]))
    np.save(d / "g0.npy", np.zeros(3))
    out = _cli("gradcheck", "mse", d / "g1.npy", d / "g0.npy")
    assert (out.returncode, out.stdout) == (2, "")
    assert out.stderr == ("Error: mse: the loss overflows float64 at row 0 (2 of 3 rows) although the inputs are "
                          "finite: the values are too extreme for this loss\n")
    for loss in ("huber", "mae", "log_cosh"):
        out = _cli("gradcheck", loss, d / "g1.npy", d / "g0.npy", "--format", "json")
        assert out.returncode == 0 and out.stderr == "", (loss, out.stderr)


def test_allow_override_works_from_the_real_command_line(tmp_path, d):
    """In a fresh process the built-ins are registered before the plugin (not after it, which
    made every override collide); without the flag the same plugin is refused."""
    path = plugin(d, "shadow3", SQUARED.format(name="mse", extra=", replace=True", body=""))
    out = _cli("--allow-override", "--plugin", path, "compute", "mse", d / "p.csv", d / "y.csv", "--format", "value")
    assert out.returncode == 0, out.stderr
    assert float(out.stdout) == pytest.approx(10 * np.mean([0.01, 0.64, 0.01]))
    assert out.stderr.endswith("replaces the built-in loss mse (--allow-override)\n")
    refused = _cli("--plugin", path, "compute", "mse", d / "p.csv", d / "y.csv", "--format", "value")
    assert refused.returncode == 2 and refused.stdout == ""
    assert "replaces the built-in loss 'mse'; allow it with losscli --allow-override" in refused.stderr


RAISING_PLUGIN = '''
import numpy as np
from losscli import Input, register_loss


@register_loss("raises_in_gradient", inputs=(Input("x", "N,D"),), coupling="elementwise", formula="test",
               references=("test",))
def raises_in_gradient(x):
    return (x ** 2).sum(axis=1)


@raises_in_gradient.gradient
def _(x):
    raise ValueError("boom")


@register_loss("raises_in_value", inputs=(Input("x", "N"), Input("y", "N")), formula="test", references=("test",))
def raises_in_value(x, y):
    return {}["missing"]
'''


WRITING_PLUGIN = '''
from losscli import register_loss


@register_loss("doubles_its_input", formula="test", references=("test",))
def doubles_its_input(predictions, labels):
    predictions *= 2
    return (predictions - labels) ** 2
'''


@pytest.mark.parametrize("api", [False, True])
def test_a_loss_cannot_change_the_inputs_other_losses_read(run, tmp_path, api):
    """A plugin's loss that wrote into its inputs (predictions *= 2) changed the numbers of every
    loss evaluated after it in the run: mse 0.0729 for 0.0009, exit 0 (review 101 #3). The inputs
    a loss is given are read-only: the write is refused, naming the file and line and the way out."""
    from losscli import unregister_loss

    plugin = tmp_path / "writing.py"
    plugin.write_text(WRITING_PLUGIN)
    p, y = np.array([0.3, 0.3, 0.5]), np.array([0.27, 0.33, 0.5])
    np.save(tmp_path / "p.npy", p)
    np.save(tmp_path / "y.npy", y)
    try:
        if api:
            import losscli
            from losscli.plugins import load_plugin

            load_plugin(str(plugin))
            with pytest.raises(ValueError, match="read-only"):
                losscli.evaluate("doubles_its_input", p, y)
            assert losscli.evaluate("mse", p, y).value == pytest.approx(float(np.mean((p - y) ** 2)), rel=1e-15)
            return
        out = run("--plugin", plugin, "compute", "doubles_its_input,mse", tmp_path / "p.npy", tmp_path / "y.npy")
    finally:
        unregister_loss("doubles_its_input")
    line = WRITING_PLUGIN.splitlines().index("    predictions *= 2") + 1
    assert (out.exit_code, out.stdout) == (2, "")
    assert out.stderr == (f"Error: your loss code raised ValueError: output array is read-only ({plugin}, line {line}; "
                          "a loss's inputs are read-only (every loss reads the same arrays): write into a copy "
                          "(predictions = predictions * 2, not *=); rerun as losscli --debug COMMAND ... for a "
                          "traceback)\n")


@pytest.mark.parametrize("command", [["gradcheck", "raises_in_gradient"], ["compute", "raises_in_value", "X", "Y"]])
def test_an_exception_in_the_users_loss_code_is_theirs_not_an_internal_error(run, tmp_path, command):
    """Exit 3 is for losscli's own bugs: what a plugin's loss raises is named with its file and line, exit 2."""
    from losscli import unregister_loss

    plugin = tmp_path / "raising.py"
    plugin.write_text(RAISING_PLUGIN)
    np.save(tmp_path / "x.npy", np.arange(3.0))
    args = [str(tmp_path / "x.npy") if a in ("X", "Y") else a for a in command]
    try:
        out = run("--plugin", plugin, *args)
    finally:
        for name in ("raises_in_gradient", "raises_in_value"):
            unregister_loss(name)
    raising = '    raise ValueError("boom")' if command[0] == "gradcheck" else '    return {}["missing"]'
    line = RAISING_PLUGIN.splitlines().index(raising) + 1
    assert (out.exit_code, out.stdout) == (2, "")
    kind = "ValueError: boom" if command[0] == "gradcheck" else "KeyError: 'missing'"
    assert out.stderr == (f"Error: your loss code raised {kind} ({plugin}, line {line}; rerun as losscli --debug "
                          "COMMAND ... for a traceback)\n")


@pytest.mark.parametrize("command", [["list"], ["info", "huber"], ["plot", "huber"], ["gradcheck", "mse"],
                                     ["compute", "mse", "P", "Y"], ["compare", "mse", "P", "P", "Y"]])
def test_every_commands_json_starts_with_the_layouts_version_and_losscli_s(run, tmp_path, command):
    """The README: every command's JSON result starts with schema_version and version; list, info
    and plot's did not (review 101 #8)."""
    import json

    import losscli
    from losscli.vocabulary import JSON_SCHEMA_VERSION

    np.save(tmp_path / "p.npy", np.array([0.5, 1.0, 2.0]))
    np.save(tmp_path / "y.npy", np.array([0.0, 1.0, 3.0]))
    args = [str(tmp_path / ("p.npy" if a == "P" else "y.npy")) if a in ("P", "Y") else a for a in command]
    out = run(*args, "--format", "json")
    assert out.exit_code == 0, out.stderr
    data = json.loads(out.stdout)
    assert list(data)[:2] == ["schema_version", "version"]
    assert (data["schema_version"], data["version"]) == (JSON_SCHEMA_VERSION, losscli.__version__)


PRINTING_PLUGIN = '''
from losscli import register_loss

print("loading my losses")


@register_loss("chatty", formula="test", references=("test",))
def chatty(predictions, labels):
    print("computing")
    return ((predictions - labels) ** 2).reshape(len(predictions), -1).sum(axis=1)


@chatty.gradient
def _(predictions, labels):
    print("differentiating")
    return {"predictions": 2 * (predictions - labels)}
'''


@pytest.mark.parametrize("command", [["compute", "chatty", "P", "Y", "--format", "json"],
                                     ["compute", "chatty", "P", "Y", "--format", "value"],
                                     ["gradcheck", "chatty", "--format", "json"]])
def test_what_a_plugin_prints_goes_to_stderr(tmp_path, command):
    """A plugin's print() came before the JSON on stdout, which no longer parsed (review 101 #4):
    stdout carries results only; what the user's code prints goes to stderr."""
    plugin = tmp_path / "chatty.py"
    plugin.write_text(PRINTING_PLUGIN)
    np.save(tmp_path / "p.npy", np.array([0.5, 1.0, 2.0]))
    np.save(tmp_path / "y.npy", np.array([0.0, 1.0, 3.0]))
    args = [str(tmp_path / ("p.npy" if a == "P" else "y.npy")) if a in ("P", "Y") else a for a in command]
    proc = subprocess.run([sys.executable, "-m", "losscli", "--plugin", str(plugin), *args], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "loading my losses" in proc.stderr and "computing" in proc.stderr and "computing" not in proc.stdout
    if "value" in command:
        assert float(proc.stdout) == pytest.approx(1.25 / 3, rel=1e-15)
    else:
        import json

        json.loads(proc.stdout)
