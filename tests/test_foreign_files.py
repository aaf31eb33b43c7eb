"""Files pandas and other libraries write in formats losscli does not read as text: a ZIP of one CSV
(pandas' ``to_csv('x.zip')``) is read, the value checked; the others are one line naming the format
and how to convert the file, exit 2 (never "binary file (NUL bytes)" or a column of JSON)."""

import sqlite3
import subprocess
import sys
import zipfile

import numpy as np
import pandas as pd
import pytest

P, T = [1.5, 2.0, 3.0, -0.25], [1.0, 2.0, 3.5, 0.0]
MSE = float(np.mean((np.array(P) - np.array(T)) ** 2))


@pytest.fixture
def frame():
    return pd.DataFrame({"pred": P, "label": T})


@pytest.mark.parametrize("name, kwargs", [("d.zip", {}), ("d.csv.zip", {"index": False}),
                                          ("d.zip", {"compression": "zip", "sep": "\t"})])
def test_a_zip_of_one_csv_is_read(run, tmp_path, frame, name, kwargs):
    frame.to_csv(tmp_path / name, **kwargs)
    out = run("compute", "mse", f"{tmp_path / name}:pred", f"{tmp_path / name}:label", "--format", "value")
    assert out.exit_code == 0, out.stderr
    assert float(out.stdout) == MSE


def test_a_zip_of_one_csv_on_standard_input(tmp_path, frame):
    frame[["pred"]].to_csv(tmp_path / "d.zip", index=False)
    frame[["label"]].to_csv(tmp_path / "t.csv", index=False)
    with open(tmp_path / "d.zip", "rb") as fh:
        proc = subprocess.run([sys.executable, "-m", "losscli", "compute", "mse", "-", "t.csv", "--format", "value"],
                              stdin=fh, capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert float(proc.stdout) == MSE


def test_a_zip_of_several_files_is_refused_naming_them(run, tmp_path):
    with zipfile.ZipFile(tmp_path / "two.zip", "w") as z:
        z.writestr("a.csv", "p\n1\n")
        z.writestr("b.csv", "p\n2\n")
    out = run("compute", "mse", f"{tmp_path}/two.zip:p", f"{tmp_path}/two.zip:p")
    assert out.exit_code == 2
    assert out.stderr == (f"Error: {tmp_path}/two.zip: a ZIP archive of 2 files (a.csv, b.csv); losscli reads a ZIP "
                          "that holds one text file (pandas' to_csv('x.zip')) or .npy arrays (NPZ): extract the file "
                          "to read\n")


def _write(kind, frame, path):
    if kind == "utf-16":
        frame.to_csv(path, encoding="utf-16", index=False)
    elif kind == "utf-16-be":
        path.write_bytes(frame.to_csv(index=False).encode("utf-16-be"))
    elif kind == "json":
        frame.to_json(path)
    elif kind == "json-lines":
        frame.to_json(path, orient="records", lines=True)
    elif kind == "json-records":
        frame.to_json(path, orient="records")
    elif kind == "pickle":
        frame.to_pickle(path)
    elif kind == "tar":
        frame.to_csv(path, index=False)  # (path ends .tar.gz: pandas writes a tar archive, gzipped)
    elif kind == "stata":
        frame.to_stata(path)
    elif kind == "sqlite":
        with sqlite3.connect(path) as con:
            frame.to_sql("t", con)
        con.close()
    elif kind == "orc":
        pytest.importorskip("pyarrow.orc")
        frame.to_orc(path)
    elif kind == "xlsx":  # (an .xlsx is a ZIP whose first member is [Content_Types].xml)
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr("[Content_Types].xml", "<Types/>")
            z.writestr("xl/workbook.xml", "<workbook/>")
    elif kind == "hdf5":  # (h5py is not a dependency: the signature every HDF5 file starts with)
        path.write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(504))


@pytest.mark.parametrize("kind, name, says", [
    ("utf-16", "d.csv", "text in UTF-16"), ("utf-16-be", "d.csv", "text in UTF-16"),
    ("json", "d.json", "JSON (pandas' to_json?)"), ("json-lines", "d.json", "JSON (pandas' to_json?)"),
    ("json-records", "d.json", "JSON (pandas' to_json?)"),
    ("pickle", "d.pkl", "a Python pickle (pandas' to_pickle?)"),
    ("tar", "d.csv.tar.gz", "a tar archive (pandas' to_csv('x.tar.gz') writes one)"),
    ("stata", "d.dta", "a Stata file"), ("sqlite", "d.db", "an SQLite database"), ("orc", "d.orc", "an ORC file"),
    ("xlsx", "d.xlsx", "an Office document (an Excel workbook?)"), ("hdf5", "d.h5", "an HDF5 file"),
])
def test_a_format_losscli_does_not_read_is_named(run, tmp_path, frame, kind, name, says):
    path = tmp_path / name
    _write(kind, frame, path)
    out = run("compute", "mse", f"{path}:pred", f"{path}:label")
    assert out.exit_code == 2 and out.stdout == ""
    assert out.stderr.startswith(f"Error: {path}: {says}") and out.stderr.count("\n") == 1, out.stderr


@pytest.mark.parametrize("first", ["PAR1", "ARROW1", "FEA1", "ORC", "ORCA_pred", "PAR1x"])
@pytest.mark.parametrize("name", ["d.csv", "d.txt", "d"])
def test_text_whose_first_bytes_are_a_binary_formats_magic_is_text(run, tmp_path, frame, first, name):
    """A column named PAR1 (a parameter), ORC..., ARROW1: the file began with Parquet's, ORC's or
    Arrow's magic bytes and was refused as 'not a readable Parquet file' or 'an ORC file', .csv or
    not. Those files have a NUL byte at once; text never does."""
    path = tmp_path / name
    frame.rename(columns={"pred": first}).to_csv(path, index=False)
    out = run("compute", "mse", f"{path}:{first}", f"{path}:label", "--format", "value")
    assert (out.exit_code, out.stderr) == (0, "")
    assert float(out.stdout) == pytest.approx(MSE, rel=1e-15)
