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


def check(run, args, expected):
    result = run(*args)
    assert result.exit_code == 2, result.stdout
    assert result.stdout == ""
    assert result.stderr == f"Error: {expected}\n"


def test_unreadable_file(run, d, monkeypatch):
    import losscli.io.files as readers

    def deny(*a, **k):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(readers, "open", deny, raising=False)
    check(run, ["compute", "mse", d / "p.csv", d / "y.csv"], f"{d}/p.csv: permission denied (cannot read the file)")


def test_bom_and_crlf_simply_work(run, d):
    (d / "bom.csv").write_bytes("\ufeffpred\r\n0.1\r\n0.2\r\n0.9\r\n".encode())
    result = run("compute", "mse", d / "bom.csv", d / "y.csv", "--format", "value")
    assert result.exit_code == 0 and float(result.stdout) == pytest.approx((0.01 + 0.64 + 0.01) / 3)


def test_interrupted_write_leaves_previous_file(d, monkeypatch):
    from losscli.io.output import write_output, write_text

    target = d / "report.txt"
    target.write_text("previous")

    class Interrupt(BaseException):
        pass

    def write(fh):
        fh.write(b"partial")
        raise Interrupt


    with pytest.raises(Interrupt):
        write_output(str(target), write)
    assert target.read_text() == "previous"
    assert not [p for p in os.listdir(d) if p.endswith(".tmp")]
    write_text(str(target), "new")
    assert target.read_text() == "new"


def test_inputs_are_never_modified(run, d):
    before = {p: p.read_bytes() for p in d.iterdir()}
    run("compute", "mse", d / "p.csv", d / "y.csv", "--save-grad", d / "g.npz", "-o", d / "o.txt")
    for p, content in before.items():
        assert p.read_bytes() == content
