"""Tests that catch mutations no other test caught after the package was split into
commands/, stats/, engine/, io/, render/ and gradcheck/. Only the CLI and the public API are used:
they keep working whichever module the code moves to.

- a FIFO in a temporary directory is written in place (``io/output.py``), with a reader that
  never blocks, so a broken build fails instead of hanging;
- ties among the worst samples go to the lower row, however the rows are cut into blocks
  (``stats/topk.py``);
- the standard deviation merged over several blocks is the population std of all the rows
  (Chan's update, ``stats/moments.py``);
- the ``positive`` domain refuses 0 and accepts the smallest positive values (``domains.py``).
"""

from __future__ import annotations

import json
import os
import stat

import numpy as np
import pytest
from click.testing import CliRunner

import losscli
from losscli.cli import main


def _run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def _column(path, name, values):
    path.write_text(name + "\n" + "".join(f"{v!r}\n" for v in values))
    return path


# -- io/output.py: a FIFO is written in place, not replaced by a regular file ---------------------
@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_output_to_a_fifo_in_a_temporary_directory_is_written_in_place(tmp_path):
    p = _column(tmp_path / "p.csv", "p", [0.5, 2.0, -1.0])
    t = _column(tmp_path / "t.csv", "t", [0.0, 1.0, 1.0])
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    # a non-blocking reader: the writer's open succeeds at once, and if the FIFO were replaced
    # instead, the read below returns b"" (no writer) rather than waiting for ever
    fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        out = _run("compute", "mse", p, t, "--format", "value", "-o", fifo)
        assert out.exit_code == 0, out.stderr
        assert stat.S_ISFIFO(os.lstat(fifo).st_mode), "the FIFO was replaced"
        try:
            got = os.read(fd, 65536)
        except BlockingIOError:
            got = b""
    finally:
        os.close(fd)
    assert float(got.decode()) == pytest.approx((0.25 + 1.0 + 4.0) / 3)
    assert not [n for n in os.listdir(tmp_path) if n.endswith(".tmp")]


# -- stats/topk.py: ties among the worst samples go to the lower row -----------------------------
TIED = [1.0, 3.0, 3.0, 0.0, 3.0, 3.0, 2.0, 3.0, 3.0, 0.5]  # |p - 0| for mae: six rows tie at 3


@pytest.mark.parametrize("blocks", [[], ["--block-rows", "1"], ["--block-rows", "2"], ["--block-rows", "3"]])
def test_tied_worst_samples_are_the_lowest_rows_in_row_order(tmp_path, blocks):
    p = _column(tmp_path / "p.csv", "p", TIED)
    t = _column(tmp_path / "t.csv", "t", [0.0] * len(TIED))
    for top, rows in [(3, [1, 2, 4]), (5, [1, 2, 4, 5, 7]), (8, [1, 2, 4, 5, 7, 8, 6, 0])]:
        out = _run("compute", "mae", p, t, "--format", "json", "--top", top, *blocks)
        assert out.exit_code == 0, out.stderr
        worst = json.loads(out.stdout)["results"][0]["worst"]
        assert [w["index"] for w in worst] == rows, (top, blocks)


def test_tied_worst_samples_from_the_api_are_the_lowest_rows():
    r = losscli.evaluate("mae", np.array(TIED), np.zeros(len(TIED)), top=4, gradients=False)
    assert [i for i, _ in r.worst] == [1, 2, 4, 5]


# -- stats/moments.py: Chan's merge over several blocks ------------------------------------------
@pytest.mark.parametrize("block_rows", [None, 1, 2, 3, 4, 7])
def test_std_over_several_blocks_is_the_std_of_all_rows(tmp_path, block_rows):
    # blocks with very different means: a merge with the wrong weights is far off
    values = [0.0, 1.0, 2.0, 10.0, 11.0, 12.0, 50.0, 51.0, 49.0, 100.0, 3.0]
    p = _column(tmp_path / "p.csv", "p", values)
    t = _column(tmp_path / "t.csv", "t", [0.0] * len(values))
    extra = [] if block_rows is None else ["--block-rows", block_rows]
    out = _run("compute", "mae", p, t, "--format", "json", *extra)
    assert out.exit_code == 0, out.stderr
    stats = json.loads(out.stdout)["results"][0]["stats"]
    assert stats["std"] == pytest.approx(float(np.std(values)), rel=1e-12)  # population std
    assert stats["mean"] == pytest.approx(float(np.mean(values)), rel=1e-12)


# -- domains.py: ``positive`` means > 0 ----------------------------------------------------------
@pytest.fixture
def positive_loss():
    name = "layout_positive_only"

    @losscli.register_loss(name, inputs=(losscli.Input("predictions", "N", "positive"),
                                         losscli.Input("labels", "=predictions")))
    def _(predictions, labels):
        """log p - t per sample."""
        return np.log(predictions) - labels

    yield name
    losscli.unregister_loss(name)


def test_positive_domain_refuses_zero(positive_loss):
    with pytest.raises(losscli.InputError) as exc:
        losscli.evaluate(positive_loss, np.array([1.0, 0.0]), np.zeros(2), gradients=False)
    assert str(exc.value) == f"predictions, row 1: found 0 ({positive_loss} predictions expects values > 0)"


def test_positive_domain_accepts_tiny_positive_values(positive_loss):
    r = losscli.evaluate(positive_loss, np.array([5e-324, 1.0]), np.zeros(2), gradients=False)
    assert r.per_sample[1] == 0.0 and np.isfinite(r.per_sample[0])


def test_positive_domain_refuses_negative_values(positive_loss):
    with pytest.raises(losscli.InputError, match=r"row 0: found -1 "):
        losscli.evaluate(positive_loss, np.array([-1.0, 1.0]), np.zeros(2), gradients=False)
