"""Inputs that can be read once: standard input, named pipes, process substitution
(``<(cmd)``, ``/dev/fd/N``), ``/dev/stdin``. Each is opened once, streamed in blocks (never held
whole unless its format needs random access), and never hangs."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import numpy as np
import pytest

RNG = np.random.default_rng(21)
P, T = RNG.normal(size=3000), RNG.normal(size=3000)
EXPECTED = repr(float(np.mean((P - T) ** 2))) + "\n"
LOSSCLI = [sys.executable, "-m", "losscli"]


@pytest.fixture
def files(tmp_path):
    (tmp_path / "p.csv").write_text("p\n" + "".join(f"{v!r}\n" for v in P.tolist()))
    (tmp_path / "t.csv").write_text("t\n" + "".join(f"{v!r}\n" for v in T.tolist()))
    (tmp_path / "pt.csv").write_text("p,t\n" + "".join(f"{a!r},{b!r}\n" for a, b in zip(P.tolist(), T.tolist())))
    np.save(tmp_path / "p.npy", P)
    import pyarrow as pa

    # an Arrow IPC stream of 240 KB in batches of 999 rows: past the 64 KB a stream's head is sniffed from
    table = pa.table({"p": P, "t": T, **{f"pad{i}": np.zeros(P.size) for i in range(8)}})
    with pa.ipc.new_stream(tmp_path / "pt.arrows", table.schema) as writer:
        for batch in table.to_batches(max_chunksize=999):
            writer.write_batch(batch)
    return tmp_path


def _bash(script: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60, cwd=cwd,
                          env={**os.environ, "LOSSCLI": " ".join(LOSSCLI)})


def test_the_files_themselves(files):
    out = subprocess.run([*LOSSCLI, "compute", "mse", files / "p.csv", files / "t.csv", "--format", "value"],
                         capture_output=True, text=True, timeout=60)
    assert out.stdout == EXPECTED


@pytest.mark.parametrize("script", [
    "$LOSSCLI compute mse <(cat p.csv) <(cat t.csv) --format value",
    "cat p.csv | $LOSSCLI compute mse /dev/stdin t.csv --format value",
    "cat p.csv | $LOSSCLI compute mse - t.csv --format value",
    "cat pt.csv | $LOSSCLI compute mse -:p -:t --format value",  # one stream, two selectors
    "cat pt.csv | $LOSSCLI compute mse -:p /dev/stdin:t --format value",  # one stream, two names of it
    "cat pt.csv | $LOSSCLI compute mse /dev/stdin:p /dev/fd/0:t --format value",
    "$LOSSCLI compute mse <(cat pt.csv):p <(cat pt.csv):t --format value",
    "$LOSSCLI compute mse <(gzip -c p.csv) <(cat t.csv) --format value",  # compressed, through a pipe
    "cat p.npy | $LOSSCLI compute mse - t.csv --format value",  # NPY needs random access: held
    "cat pt.arrows | $LOSSCLI compute mse -:p -:t --format value",  # an IPC stream: streamed
    "$LOSSCLI compute mse <(cat pt.arrows):p t.csv --format value",
    "$LOSSCLI compute mse <(cat pt.csv):p <(cat pt.csv):t --format json --block-rows 500 > /dev/null && "
    "$LOSSCLI compute mse <(cat pt.csv):p <(cat pt.csv):t --format value",  # quantiles: no second pass
], ids=["process substitution", "/dev/stdin", "-", "-:p -:t", "-:p /dev/stdin:t", "/dev/stdin /dev/fd/0",
        "<(cmd):sel", "<(gzip -c)", "NPY on stdin", "IPC stream on stdin", "IPC stream <(cmd)",
        "table output"])
def test_read_once_inputs_give_the_files_value(files, script):
    out = _bash(script, files)
    assert (out.returncode, out.stdout, out.stderr) == (0, EXPECTED, "")


def test_a_named_pipe(files):
    fifo = files / "fifo.csv"
    os.mkfifo(fifo)
    writer = threading.Thread(target=lambda: fifo.write_bytes((files / "p.csv").read_bytes()))
    writer.start()
    out = subprocess.run([*LOSSCLI, "compute", "mse", fifo, files / "t.csv", "--format", "value"],
                         capture_output=True, text=True, timeout=60)
    writer.join(timeout=10)
    assert (out.returncode, out.stdout, out.stderr) == (0, EXPECTED, "")


def test_gradcheck_reads_a_stream_whole_once_for_two_selectors(files):
    out = _bash("cat pt.csv | $LOSSCLI gradcheck mse -:p -:t --format json > /dev/null", files)
    assert out.returncode == 0, out.stderr


def test_standard_input_is_streamed_not_held(tmp_path):
    """A 160 MB CSV stream (8M rows x 2 columns) through a pipe: the process holds blocks, not the
    stream (it held the whole stream, 335 MB for a 190 MB one, before)."""
    rows = 8_000_000
    script = (f"{sys.executable} -c \"import sys; sys.stdout.write('p,t\\\\n' + '0.125,1.125\\\\n' * {rows})\" | "
              f"/usr/bin/time -f %M {' '.join(LOSSCLI)} compute mse -:p -:t --format value")
    out = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "1.0\n"
    assert int(out.stderr.strip().splitlines()[-1]) / 1024 < 180


REENCODE = ("expected a UTF-8 CSV file: re-encode it from the encoding it was written in (Latin-1: iconv -f LATIN1 "
            "-t UTF-8, or pandas: pd.read_csv(f, encoding='latin-1').to_csv(out, index=False))")


def test_text_that_is_not_utf8_far_into_a_file_or_a_stream(tmp_path):
    """A Latin-1 byte on line 1,200,002 of a 26 MB file: a file names the line (found 1 MB at a
    time); standard input, past what it keeps to read again, was told 'a pipe ... can be read only
    once ... save it to a file first' (review 105 #3): it is told the file is not UTF-8."""
    rows = ["p"] + [f"{i}.{i * 7919 % 10**9:09d}" for i in range(1_300_000)]
    rows[1_200_001] = "0.5\xe9"
    (tmp_path / "p.csv").write_bytes(("\n".join(rows) + "\n").encode("latin-1"))
    (tmp_path / "y.csv").write_text("y\n" + "1\n" * 1_300_000)
    out = subprocess.run([sys.executable, "-m", "losscli", "compute", "mse", tmp_path / "p.csv", tmp_path / "y.csv"],
                         capture_output=True, text=True, timeout=300)
    assert (out.returncode, out.stdout, out.stderr) == (
        2, "", f"Error: {tmp_path / 'p.csv'}, line 1200002: not UTF-8 text (byte 0xe9); {REENCODE}\n")
    with open(tmp_path / "p.csv", "rb") as stdin:
        out = subprocess.run([sys.executable, "-m", "losscli", "compute", "mse", "-", tmp_path / "y.csv"], stdin=stdin,
                             capture_output=True, text=True, timeout=300)
    assert (out.returncode, out.stdout, out.stderr) == (2, "", f"Error: <stdin>: not UTF-8 text; {REENCODE}\n")


WRITTEN_BY = __import__("pathlib").Path(__file__).parent / "data" / "written_by"


@pytest.mark.parametrize("writer", ["polars", "duckdb"])
@pytest.mark.parametrize("how", ["file", "stdin", "gzip"])
def test_a_missing_value_in_the_last_row_of_one_column_is_a_row(tmp_path, writer, how):
    """polars and DuckDB write a missing value of a one-column CSV as a line with nothing on it: a
    missing last value ends the file with a blank line, which was dropped as not data (review 105
    #1): --nan-policy raise gave a value over the other rows, exit 0, and against a file of the
    full count the counts differed. It is a row of a missing value."""
    import gzip

    source = WRITTEN_BY / f"{writer}_null_last.csv"
    (tmp_path / "y.csv").write_text("y\n0\n1\n2\n")
    spec, stdin = str(source), None
    if how == "gzip":
        spec = str(tmp_path / "p.csv.gz")
        with gzip.open(spec, "wb") as fh:
            fh.write(source.read_bytes())
    elif how == "stdin":
        spec, stdin = "-", source.read_bytes()
    run = lambda *more: subprocess.run([sys.executable, "-m", "losscli", "compute", "mse", spec, tmp_path / "y.csv",
                                        "--format", "value", *more], input=stdin, capture_output=True, timeout=120)
    out = run()
    label = "<stdin>" if how == "stdin" else spec
    assert (out.returncode, out.stdout) == (2, b"")
    assert out.stderr.decode() == (f"Error: {label}, line 4, column 'p': found NaN (an empty or missing value), expected "
                                   "a finite number (--nan-policy omit drops such rows)\n")
    out = run("--nan-policy", "omit")
    assert (out.returncode, out.stdout) == (0, b"0.25\n")  # ((0.5 - 0)^2 + (1.5 - 1)^2) / 2
