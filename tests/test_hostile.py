"""Hostile input, one case at a time through the CLI: exit 2, nothing on stdout, one line on
stderr naming the file, the place, what was found and what was expected."""

import os

import numpy as np
import pytest

from .conftest import write_csv


@pytest.fixture
def d(tmp_path):
    write_csv(tmp_path / "p.csv", ["pred"], [[0.1], [0.2], [0.9]])
    write_csv(tmp_path / "y.csv", ["label"], [[0], [1], [1]])
    write_csv(tmp_path / "probs.csv", ["a", "b", "c"], [[0.2, 0.3, 0.5], [0.1, 0.1, 0.8], [0.3, 0.3, 0.4]])
    np.save(tmp_path / "logits.npy", np.arange(9.0).reshape(3, 3))
    return tmp_path


def check(run, args, expected, input=None):
    result = run(*args, input=input)
    assert (result.exit_code, result.stdout) == (2, ""), (result.exit_code, result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert lines[0] == "Error: " + expected
    return lines[0]


def raw(path, content: bytes):
    path.write_bytes(content)
    return path


CASES = {
    "missing file": (lambda d: ["compute", "mse", d / "nope.csv", d / "y.csv"], "{d}/nope.csv: no such file"),
    "empty directory": (lambda d: ["compute", "mse", _empty_dir(d), d / "y.csv"],
                        "{d}/empty: is a directory with no files (a sharded input needs at least one)"),
    "empty file": (lambda d: ["compute", "mse", raw(d / "e.csv", b""), d / "y.csv"], "{d}/e.csv: empty file"),
    "header only": (lambda d: ["compute", "mse", raw(d / "h.csv", b"pred\n"), d / "y.csv"],
                    "{d}/h.csv: has a header but no data rows"),
    "non-numeric cell": (lambda d: ["compute", "mse", raw(d / "n.csv", b"pred\n1\n2\nabc\n"), d / "y.csv"],
                         "{d}/n.csv, line 4, column 'pred': expected a number, found 'abc'"),
    "ragged rows": (lambda d: ["compute", "mse", raw(d / "r.csv", b"a,b\n1,2\n3,4,5\n6,7\n"), d / "y.csv"],
                    "{d}/r.csv, line 3: expected 2 fields, found 3 (ragged rows, or a delimiter other than ',')"),
    "wrong delimiter (decimal commas)": (
        lambda d: ["compute", "mse", raw(d / "w.csv", b"pred;label\n0,5;1,0\n1,5;2,0\n2,5;3,0\n"), d / "y.csv"],
        "{d}/w.csv: no numeric columns (columns: pred, label); line 2, column 'pred' holds '0,5'; it looks "
        "like a decimal comma: losscli reads '.' as the decimal separator"),
    "non-UTF-8": (lambda d: ["compute", "mse", raw(d / "u.csv", b"pred\n1\n\xe9\n"), d / "y.csv"],
                  "{d}/u.csv, line 3: not UTF-8 text (byte 0xe9); expected a UTF-8 CSV file"),
    "binary junk named .csv": (lambda d: ["compute", "mse", raw(d / "j.csv", bytes(range(256))), d / "y.csv"],
                               "{d}/j.csv: looks like a binary file (NUL bytes), expected CSV text"),
    "pickled NPY": (lambda d: ["compute", "mse", _pickled(d), d / "y.csv"],
                    "{d}/obj.npy: holds an object (pickled) array; refused, losscli never unpickles "
                    "(save a numeric array instead)"),
    "truncated NPY": (lambda d: ["compute", "mse", _truncated(d), d / "y.csv"], None),
    "NPZ without the key": (lambda d: ["compute", "softmax_ce", _npz(d) + ":nope", d / "y.csv"],
                            "{d}/z.npz: no array named 'nope' (keys: logits, labels)"),
    "selector names a missing column": (lambda d: ["compute", "mse", f"{d}/p.csv:prd", d / "y.csv"],
                                        "{d}/p.csv: no column 'prd' (columns: pred)"),
    "row-count mismatch": (lambda d: ["compute", "mse", d / "p.csv", write_csv(d / "s.csv", ["l"], [[1], [2]])],
                           "{d}/s.csv has 2 rows but {d}/p.csv has 3 (every input needs one row per sample)"),
    "column-count mismatch": (lambda d: ["compute", "kl", d / "probs.csv", f"{d}/probs.csv:a,b"],
                              "{d}/probs.csv:a,b (kl labels): has shape (3, 2) but {d}/probs.csv has (3, 3) (expected the same shape)"),
    "probability outside [0, 1]": (
        lambda d: ["compute", "bce", write_csv(d / "pp.csv", ["p"], [[0.5], [1.5], [0.1]]), d / "y.csv"],
        "{d}/pp.csv, line 3, column 'p': found 1.5 (bce predictions expects probabilities in [0, 1])"),
    "rows not summing to 1": (
        lambda d: ["compute", "ce", write_csv(d / "rs.csv", ["a", "b"], [[0.5, 0.5], [0.5, 0.3], [1, 0]]), d / "y.csv"],
        "{d}/rs.csv, line 3: row sums to 0.8 (ce predictions expects rows of probabilities in [0, 1] that "
        "sum to 1; tolerance 0.0001)"),
    "class index out of range": (
        lambda d: ["compute", "softmax_ce", d / "logits.npy", write_csv(d / "ci.csv", ["y"], [[0], [5], [1]])],
        "{d}/ci.csv, line 3, column 'y': found 5 (softmax_ce labels expects an integer class index in 0..2)"),
    "class index not an integer": (
        lambda d: ["compute", "softmax_ce", d / "logits.npy", write_csv(d / "cf.csv", ["y"], [[0], [1.5], [1]])],
        "{d}/cf.csv, line 3, column 'y': found 1.5 (softmax_ce labels expects an integer class index in 0..2)"),
    "labels outside {0, 1}": (
        lambda d: ["compute", "dice", d / "p.csv", write_csv(d / "b.csv", ["y"], [[0], [2], [1]])],
        "{d}/b.csv, line 3, column 'y': found 2 (dice labels expects labels in {{0, 1}})"),
    "labels outside {-1, +1}": (
        lambda d: ["compute", "margin_ranking", d / "p.csv", d / "p.csv", write_csv(d / "s2.csv", ["y"], [[1], [0], [-1]])],
        "{d}/s2.csv, line 3, column 'y': found 0 (margin_ranking labels expects labels in {{-1, +1}})"),
    "hinge labels mixing -1 and 0": (
        lambda d: ["compute", "hinge", d / "p.csv", write_csv(d / "m.csv", ["y"], [[1], [0], [-1]])],
        "{d}/m.csv, line 3, column 'y': found a mix of -1 and 0 labels (hinge labels expects labels in "
        "{{-1, +1}} (or {{0, 1}}) for (N,) scores; class indices for (N, C) scores)"),
    "negative weight": (
        lambda d: ["compute", "mse", d / "p.csv", d / "y.csv", "--weights", write_csv(d / "w.csv", ["w"], [[1], [-1], [1]])],
        "{d}/w.csv, line 3, column 'w': found -1 (weights must be finite and >= 0)"),
    "all-zero weights": (
        lambda d: ["compute", "mse", d / "p.csv", d / "y.csv", "--weights", write_csv(d / "z.csv", ["w"], [[0], [0], [0]])],
        "{d}/z.csv (weights): all weights are zero; the weighted mean is undefined"),
    "NaN in inputs": (
        lambda d: ["compute", "mse", raw(d / "nan.csv", b"pred\n1\nnan\n3\n"), d / "y.csv"],
        "{d}/nan.csv, line 3, column 'pred': found NaN (an empty or missing value), expected a finite number "
        "(--nan-policy omit drops such rows)"),
    "inf in inputs": (
        lambda d: ["compute", "mse", raw(d / "inf.csv", b"pred\n1\n2\n-inf\n"), d / "y.csv"],
        "{d}/inf.csv, line 4, column 'pred': found -inf (an infinite value), expected a finite number "
        "(--nan-policy omit drops such rows)"),
    "unknown loss": (lambda d: ["compute", "hubber", d / "p.csv", d / "y.csv"], None),
    "unknown parameter": (lambda d: ["compute", "huber", d / "p.csv", d / "y.csv", "-p", "delt=1"],
                          "-p 'delt=1': huber has no parameter 'delt' (valid: delta)"),
    "ill-typed parameter": (lambda d: ["compute", "l2", d / "p.csv", d / "y.csv", "-p", "half=maybe"],
                            "parameter l2.half: expected true or false, got 'maybe'"),
    "parameter out of its domain": (lambda d: ["compute", "focal", d / "p.csv", d / "y.csv", "-p", "gamma=-1"],
                                    "parameter focal.gamma: must be >=0, got -1.0"),
    "--output equal to an input": (
        lambda d: ["compute", "mse", d / "p.csv", d / "y.csv", "-o", d / "y.csv"],
        "{d}/y.csv: is also an input ({d}/y.csv); refusing to overwrite an input"),
    "loss overflows float64": (
        lambda d: ["compute", "exponential", write_csv(d / "big.csv", ["f"], [[1.0], [-1e4], [2.0]]),
                   write_csv(d / "sg.csv", ["y"], [[1], [1], [-1]])],
        "exponential: the loss overflows float64 at row 1 (1 of 3 rows) although the inputs are finite: "
        "the values are too extreme for this loss"),
}


def _empty_dir(d):
    (d / "empty").mkdir()
    return d / "empty"


def _pickled(d):
    np.save(d / "obj.npy", np.array([object(), 1], dtype=object), allow_pickle=True)
    return d / "obj.npy"


def _truncated(d):
    np.save(d / "t.npy", np.arange(100.0))
    data = (d / "t.npy").read_bytes()
    return raw(d / "trunc.npy", data[:200])


def _npz(d):
    np.savez(d / "z.npz", logits=np.zeros((3, 3)), labels=np.zeros(3))
    return str(d / "z.npz")


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_bad_input_case(run, d, case):
    make_args, expected = CASES[case]
    args = make_args(d)
    if expected is None:  # message checked loosely: it quotes a numpy/difflib text
        result = run(*args)
        assert result.exit_code == 2 and result.stdout == "" and len(result.stderr.splitlines()) == 1
        return
    check(run, args, expected.format(d=d))


def test_unreadable_file(run, d, monkeypatch):
    import losscli.io.cache as readers

    def deny(*a, **k):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(readers, "open", deny, raising=False)
    check(run, ["compute", "mse", d / "p.csv", d / "y.csv"], f"{d}/p.csv: permission denied (cannot read the file)")


def test_bom_and_crlf_simply_work(run, d):
    raw(d / "bom.csv", "\ufeffpred\r\n0.1\r\n0.2\r\n0.9\r\n".encode())
    result = run("compute", "mse", d / "bom.csv", d / "y.csv", "--format", "value")
    assert result.exit_code == 0 and float(result.stdout) == pytest.approx((0.01 + 0.64 + 0.01) / 3)


def test_renormalisation_warns_once_on_stderr(run, d):
    write_csv(d / "near.csv", ["a", "b"], [[0.5, 0.50003], [0.3, 0.7], [0.2, 0.8]])
    result = run("compute", "ce,kl", d / "near.csv", d / "near.csv", "--format", "value")
    assert result.exit_code == 0
    assert result.stderr == (f"losscli: warning: {d}/near.csv: renormalised 1 probability rows whose sums "
                             "differed from 1 by up to 3e-05 (within the tolerance 0.0001)\n")


def test_failed_run_leaves_previous_output_and_no_temp_files(run, d):
    out = d / "out.json"
    out.write_text("previous")
    run("compute", "mse", d / "nope.csv", d / "y.csv", "-o", out)
    assert out.read_text() == "previous"
    assert not [p for p in os.listdir(d) if p.endswith(".tmp")]


def test_interrupted_write_leaves_previous_file(d, monkeypatch):
    from losscli.io.atomic import write_text_atomic

    target = d / "report.txt"
    target.write_text("previous")

    class Interrupt(BaseException):
        pass

    def write(fh):
        fh.write(b"partial")
        raise Interrupt

    from losscli.io import atomic

    with pytest.raises(Interrupt):
        atomic.write_atomic(str(target), write)
    assert target.read_text() == "previous"
    assert not [p for p in os.listdir(d) if p.endswith(".tmp")]
    write_text_atomic(str(target), "new")
    assert target.read_text() == "new"


def test_inputs_are_never_modified(run, d):
    before = {p: p.read_bytes() for p in d.iterdir()}
    run("compute", "mse", d / "p.csv", d / "y.csv", "--save-grad", d / "g.npz", "-o", d / "o.txt")
    for p, content in before.items():
        assert p.read_bytes() == content
