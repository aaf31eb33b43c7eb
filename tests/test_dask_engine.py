"""--engine dask on a real cluster: a `dask scheduler` and two `dask worker` processes on
127.0.0.1, the workers in their own working directories, stopped by PID (``dask_cluster.py``).
Results equal the local engine's (reductions to 1e-12, the top-K with global rows, the quantiles
exactly); relative paths, a single large file cut across the workers, and every way a cluster
fails end in bounded time with exit 2 and one line."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("distributed")

from .conftest import write_csv  # noqa: E402
from .dask_cluster import RealCluster  # noqa: E402

# runs that fail wait at most this long for the cluster (the defaults are minutes)
FAST = ["--connect-timeout", "3", "--worker-timeout", "3"]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    c = RealCluster(tmp_path_factory.mktemp("cluster"), workers=2, dashboard=True)
    yield c
    c.stop()


@pytest.fixture(autouse=True)
def _sessions_closed():
    yield
    from losscli.engine.cluster import close_sessions

    close_sessions()


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    d = tmp_path_factory.mktemp("shards")
    rng = np.random.default_rng(0)
    for name in ("preds", "labels", "weights"):
        (d / name).mkdir()
    for i in range(7):
        n = 500 + 61 * i
        p, t = rng.normal(size=n), rng.normal(size=n)
        p[i] = 30.0 + i  # worst samples spread over the shards
        write_csv(d / "preds" / f"part-{i:03d}.csv", ["pred"], [[f"{v:.17g}"] for v in p])
        write_csv(d / "labels" / f"part-{i:03d}.csv", ["label"], [[f"{v:.17g}"] for v in t])
        write_csv(d / "weights" / f"part-{i:03d}.csv", ["w"], [[f"{v:.6f}"] for v in rng.uniform(0, 2, n)])
    return d


@pytest.fixture(scope="module")
def large(tmp_path_factory):
    """One file per input, 120,000 rows, as pandas, pyarrow and numpy write them by default: a
    CSV with pandas' index column and a text column, a CSV without, Parquet in row groups of
    7,000 rows, and an NPY array."""
    import pandas as pd

    d = tmp_path_factory.mktemp("large")
    rng = np.random.default_rng(5)
    n = 120_000
    p, t = rng.normal(size=n), rng.normal(size=n)
    p[[17, 60_001, 119_998]] = [40.0, 55.0, 47.0]
    p[33_333] = np.nan  # written as an empty field
    region = rng.choice(["north", "south", "east", "west"], n, p=[0.4, 0.3, 0.2, 0.1])
    with np.errstate(invalid="ignore"):  # (pandas 2.0, the lowest supported, warns in its own to_csv of NaN)
        pd.DataFrame({"pred": p, "region": region}).to_csv(d / "preds.csv")
    pd.DataFrame({"label": t}).to_csv(d / "labels.csv", index=False)
    pd.DataFrame({"label": t}).to_parquet(d / "labels.parquet", row_group_size=7_000)
    np.save(d / "labels.npy", t)
    return d


def _json(run, *args):
    out = run(*args, "--format", "json")
    assert out.exit_code == 0, out.stderr
    return json.loads(out.stdout)


def _same(local: dict, dask: dict, rel=1e-12):
    assert dask["count"] == local["count"] and dask["omitted"] == local["omitted"]
    assert dask["value"] == pytest.approx(local["value"], rel=rel)
    assert dask["worst"] == local["worst"]  # exact, with global row numbers
    for k in ("mean", "std", "min", "max"):
        assert dask["stats"][k] == pytest.approx(local["stats"][k], rel=rel)
    for k in ("p50", "p90", "p99"):  # exact, as the local engine's
        assert dask["stats"][k] == local["stats"][k]
    assert "quantiles" not in dask  # (said only when they are not exact)


@pytest.mark.parametrize("extra", [[], ["--weights", "WEIGHTS"], ["--reduction", "sum"]])
def test_dask_equals_local(run, shards, cluster, extra):
    extra = [str(shards / "weights") if e == "WEIGHTS" else e for e in extra]
    args = ["compute", "mse,mae,huber,log_cosh,rmse", shards / "preds", shards / "labels", "--top", "10", *extra]
    local = _json(run, *args)
    dask = _json(run, *args, "--engine", "dask", "--scheduler", cluster.address)
    for a, b in zip(local["results"], dask["results"]):
        assert b["count"] == sum(500 + 61 * i for i in range(7))
        _same(a, b)
    assert [i["partitions"] for i in dask["inputs"]] == [7] * len(dask["inputs"])


def test_a_signed_measure_ranks_its_worst_samples_by_size_on_the_cluster(run, shards, cluster):
    """mbe's worst samples are its largest biases either way: each shard's over-prediction of 30 and
    more (l <= -28) comes first, merged across the workers' partial states as in one process."""
    args = ["compute", "mbe", shards / "preds", shards / "labels", "--top", "10"]
    local = _json(run, *args)["results"][0]
    dask = _json(run, *args, "--engine", "dask", "--scheduler", cluster.address)["results"][0]
    read = [np.loadtxt(shards / d / f"part-{i:03d}.csv", skiprows=1) for d in ("preds", "labels") for i in range(7)]
    r = np.concatenate(read[7:]) - np.concatenate(read[:7])
    expected = np.argsort(-np.abs(r), kind="stable")[:10].tolist()
    assert [w["index"] for w in dask["worst"]] == [w["index"] for w in local["worst"]] == expected
    assert all(w["loss"] < -28 for w in dask["worst"][:7])


def test_relative_paths_reach_the_workers(run, shards, cluster, monkeypatch, tmp_path):
    """The workers run in other directories: the client sends absolute paths (compute, compare,
    check, --weights, --by-file)."""
    monkeypatch.chdir(shards)
    args = ["compute", "mse", "preds", "labels/part-*.csv", "--weights", "weights"]
    local = _json(run, *args)["results"][0]
    dask = _json(run, *args, "--engine", "dask", "--scheduler", cluster.address)["results"][0]
    _same(local, dask)
    (tmp_path / "keys").mkdir()
    for i in range(7):
        write_csv(tmp_path / "keys" / f"part-{i}.csv", ["k"], [["a" if j % 3 else "b"] for j in range(500 + 61 * i)])
    cmp = ["compare", "mse", "preds", "labels", "labels", "--by-file", f"{os.path.relpath(tmp_path)}/keys:k"]
    local_cmp = _json(run, *cmp)["results"][0]
    dask_cmp = _json(run, *cmp, "--engine", "dask", "--scheduler", cluster.address)["results"][0]
    assert dask_cmp["bootstrap"] == local_cmp["bootstrap"] and dask_cmp["slices"] == local_cmp["slices"]
    (shards / "gates.toml").write_text('[[gate]]\nloss = "mse"\ninputs = ["preds", "labels"]\nmax = 10.0\n'
                                       '[[gate]]\nloss = "mae"\ninputs = ["preds", "labels"]\nmax = 0.01\n')
    out = run("check", "gates.toml", "--engine", "dask", "--scheduler", cluster.address, "--format", "json")
    assert out.exit_code == 1, out.stderr
    gates = json.loads(out.stdout)["gates"]
    local_gates = json.loads(run("check", "gates.toml", "--format", "json").stdout)["gates"]
    assert [g["passed"] for g in gates] == [g["passed"] for g in local_gates] == [True, False]
    assert [g["value"] for g in gates] == pytest.approx([g["value"] for g in local_gates], rel=1e-12)


def test_scheduler_file(run, shards, cluster, tmp_path):
    args = ["compute", "mse", shards / "preds", shards / "labels"]
    local = _json(run, *args)["results"][0]
    dask = _json(run, *args, "--engine", "dask", "--scheduler-file", cluster.scheduler_file)["results"][0]
    _same(local, dask)
    out = run(*args, "--engine", "dask", "--scheduler-file", tmp_path / "nope.json")
    assert out.exit_code == 2
    assert out.stderr == (f"Error: --scheduler-file {tmp_path}/nope.json: no such file (the scheduler writes it "
                          "when started with --scheduler-file; is it running, on this file system?)\n")
    out = run(*args, "--engine", "dask", "--scheduler-file", cluster.scheduler_file, "--scheduler", cluster.address)
    assert out.exit_code == 2 and "give one of them" in out.stderr


@pytest.mark.parametrize("labels", ["labels.csv", "labels.parquet", "labels.npy"])
def test_one_large_file_is_cut_across_the_workers(run, large, cluster, labels):
    """One file per input: cut into row ranges (CSV by counted lines, Parquet by row groups, NPY
    by rows) so that both workers share it; every result as the local engine's, slices too."""
    args = ["compute", "mse,huber", f"{large}/preds.csv:pred", large / labels, "--nan-policy", "omit", "--by",
            "region", "--top", "6"]
    local = _json(run, *args)
    out = run(*args, "--engine", "dask", "--scheduler", cluster.address, "--partition-size", "256K",
              "--format", "json")
    assert out.exit_code == 0, out.stderr
    assert out.stderr == "losscli: warning: --nan-policy omit dropped 1 of 120000 rows with NaN or infinite values\n"
    dask = json.loads(out.stdout)
    assert min(i["partitions"] for i in dask["inputs"]) >= 8
    for a, b in zip(local["results"], dask["results"]):
        _same(a, b)
        assert [s["key"] for s in b["slices"]] == [s["key"] for s in a["slices"]]
        for sa, sb in zip(a["slices"], b["slices"]):
            assert sb["count"] == sa["count"] and sb["worst"] == sa["worst"]
            assert sb["value"] == pytest.approx(sa["value"], rel=1e-12)
            assert sb["stats"]["p90"] == sa["stats"]["p90"] and "quantiles_exact" not in sb  # (said when not)


@pytest.mark.parametrize("missing", ["", '""'])
def test_missing_values_where_a_file_is_cut(run, cluster, tmp_path, missing):
    """A missing value in a one-column CSV is a blank line (polars' write_csv) or "" (pandas'
    to_csv): a row either way, wherever a range of the file begins or ends (every other row
    here, so ranges end on them), and a quote pair on one line does not stop the cut."""
    rng = np.random.default_rng(4)
    write_csv(tmp_path / "y.csv", ["y"], [[f"{v:.17g}" if i % 2 == 0 else missing]
                                          for i, v in enumerate(rng.normal(size=40_001))])
    write_csv(tmp_path / "p.csv", ["p"], [[f"{v:.17g}"] for v in rng.normal(size=40_001)])
    args = ["compute", "mse", tmp_path / "p.csv", tmp_path / "y.csv", "--nan-policy", "omit"]
    local = run(*args, "--format", "json")
    dask = run(*args, "--format", "json", "--engine", "dask", "--scheduler", cluster.address, "--partition-size", "32K")
    assert dask.exit_code == 0, dask.stderr
    assert dask.stderr == local.stderr == ("losscli: warning: --nan-policy omit dropped 20000 of 40001 rows with NaN "
                                           "or infinite values\n")
    assert json.loads(dask.stdout)["inputs"][0]["partitions"] >= 8
    _same(json.loads(local.stdout)["results"][0], json.loads(dask.stdout)["results"][0])


def test_errors_in_a_cut_file_name_its_own_line(run, cluster, tmp_path):
    """A bad value deep inside a file cut into ranges is named at its line in the whole file,
    as the local engine names it; so is a file shorter than the others."""
    rng = np.random.default_rng(2)
    rows = [[f"{v:.17g}"] for v in rng.normal(size=50_000)]
    write_csv(tmp_path / "y.csv", ["y"], rows)
    write_csv(tmp_path / "short.csv", ["y"], rows[:-3])
    rows[41_234] = ["oops"]
    write_csv(tmp_path / "p.csv", ["p"], rows)
    said = {"p.csv": f"Error: {tmp_path}/p.csv, line 41236, column 'p': expected a number, found 'oops'\n",
            "short.csv": f"Error: {tmp_path}/short.csv has 49997 rows but {tmp_path}/y.csv has 50000 (every input "
                         "needs one row per sample)\n"}
    for bad, message in said.items():
        args = ["compute", "mse", tmp_path / ("y.csv" if bad == "short.csv" else bad), tmp_path / "y.csv"]
        if bad == "short.csv":
            args[2] = tmp_path / bad
        local = run(*args)
        dask = run(*args, "--engine", "dask", "--scheduler", cluster.address, "--partition-size", "64K")
        assert local.exit_code == dask.exit_code == 2
        assert dask.stderr == local.stderr == message


def test_trailing_blank_lines_and_late_numbers(run, cluster, tmp_path):
    """Blank lines after the data of a file of several columns are not rows, wherever the file is
    cut; after the data of a file of one column each is a row of a missing value (as polars and
    DuckDB write one: review 105 #1); "all numeric columns" is what the first rows decide (a column
    of names that later holds numbers stays out), as the local engine reads it."""
    rng = np.random.default_rng(6)
    y = [f"{v:.17g}" for v in rng.normal(size=7000)]
    (tmp_path / "y.csv").write_text("y\n" + "\n".join(y) + "\n" * 3001)
    (tmp_path / "yz.csv").write_text("y,z\n" + "\n".join(f"{v},1" for v in y) + "\n" * 3001)
    (tmp_path / "long.csv").write_text("y\n" + "\n".join(y + y[:3000]) + "\n")
    names = [f"x{i}" for i in range(5)] + [str(i) for i in range(6995)]
    write_csv(tmp_path / "mixed.csv", ["name", "p"], [[n, v] for n, v in zip(names, reversed(y))])
    cases = (["mse", tmp_path / "long.csv", tmp_path / "y.csv"],
             ["mse", tmp_path / "long.csv", tmp_path / "y.csv", "--nan-policy", "omit"],
             ["mse", tmp_path / "long.csv", f"{tmp_path / 'yz.csv'}:y"],
             ["mse", tmp_path / "mixed.csv", f"{tmp_path / 'yz.csv'}:y"])
    for args in cases:
        local = run("compute", *args, "--format", "json")
        dask = run("compute", *args, "--format", "json", "--engine", "dask", "--scheduler", cluster.address,
                   "--partition-size", "16K")
        assert (dask.exit_code, dask.stderr) == (local.exit_code, local.stderr)
        if local.exit_code == 0:
            assert json.loads(dask.stdout)["inputs"][0]["partitions"] >= 8
            _same(json.loads(local.stdout)["results"][0], json.loads(dask.stdout)["results"][0])
    assert json.loads(run("compute", *cases[1], "--format", "json").stdout)["results"][0]["count"] == 7000
    assert "line 7002, column 'y': found NaN" in run("compute", *cases[0]).stderr
    assert "yz.csv has 7000 rows but" in run("compute", *cases[2]).stderr


@pytest.mark.parametrize("ends", [b"\r", b"\r\n"])
def test_lines_that_end_with_cr_from_some_line_on(run, cluster, tmp_path, ends):
    """A file whose lines end with a lone CR from some line on (the reader, pandas and Arrow end
    lines there) was cut by counting LF only: refused with a row count that was not the file's
    (review 105 #5). Such a file is not cut (one partition reads it); CRLF is cut as before."""
    rng = np.random.default_rng(7)
    p, y = (rng.normal(size=7000) for _ in range(2))
    text = ("p\n" + "".join(f"{float(v)!r}\n" for v in p)).encode()
    cut = text.index(b"\n", len(text) // 3) + 1
    (tmp_path / "p.csv").write_bytes(text[:cut] + text[cut:].replace(b"\n", ends))
    (tmp_path / "y.csv").write_text("y\n" + "".join(f"{float(v)!r}\n" for v in y))
    args = ["compute", "mse", tmp_path / "p.csv", tmp_path / "y.csv", "--format", "json"]
    local = run(*args)
    dask = run(*args, "--engine", "dask", "--scheduler", cluster.address, "--partition-size", "16K")
    assert (local.exit_code, dask.exit_code, dask.stderr) == (0, 0, local.stderr)
    _same(json.loads(local.stdout)["results"][0], json.loads(dask.stdout)["results"][0])
    assert (json.loads(dask.stdout)["inputs"][0]["partitions"] > 1) == (ends == b"\r\n")


def test_list_columns_of_two_widths_across_a_cut(run, cluster, tmp_path):
    """A Parquet list column whose width changes where the file is cut: exit 2, as locally."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [[0.1, 0.2, 0.7]] * 2000 + [[0.1, 0.2, 0.3, 0.4]] * 2000
    pq.write_table(pa.table({"p": rows}), tmp_path / "p.parquet", row_group_size=500)
    np.save(tmp_path / "y.npy", np.zeros(4000, dtype=np.int64))
    args = ["compute", "ce", tmp_path / "p.parquet:p", tmp_path / "y.npy"]
    assert run(*args).exit_code == 2
    total = (tmp_path / "p.parquet").stat().st_size + (tmp_path / "y.npy").stat().st_size
    for size in (total // 2 + 1, total // 4 + 1, 4096):  # 2 and 4 partitions: a cut at row 2000 exactly
        out = run(*args, "--engine", "dask", "--scheduler", cluster.address, "--partition-size", size, "--top", "0")
        assert out.exit_code == 2 and out.stderr.count("\n") == 1, out.stderr
        assert "row 2000" in out.stderr and ("has 3" in out.stderr or "shape (3,)" in out.stderr), out.stderr


def test_check_records_each_inputs_own_rows(run, shards, cluster, tmp_path):
    write_csv(tmp_path / "p.csv", ["p"], [[i / 10] for i in range(100)])
    write_csv(tmp_path / "y.csv", ["y"], [[i / 11] for i in range(100)])
    (tmp_path / "two.toml").write_text(
        f'[[gate]]\nloss = "mse"\ninputs = ["{tmp_path}/p.csv", "{tmp_path}/y.csv"]\nmax = 10.0\n'
        f'[[gate]]\nloss = "mse"\ninputs = ["{shards}/preds", "{shards}/labels"]\nmax = 10.0\n')
    local = json.loads(run("check", tmp_path / "two.toml", "--format", "json").stdout)
    dask = json.loads(run("check", tmp_path / "two.toml", "--format", "json", "--engine", "dask", "--scheduler",
                          cluster.address).stdout)
    assert [i["rows"] for i in dask["inputs"]] == [i["rows"] for i in local["inputs"]] == [100, 100, 4781, 4781]


def test_parity_dtype_and_budget(run, shards, cluster):
    """Every option the local engine honours is honoured: --dtype float32, --exact-quantiles
    (beyond it the quantiles are still exact, selected from the workers' values; 0: the sketch)."""
    args = ["compute", "mse,mae", shards / "preds", shards / "labels"]
    for extra in (["--dtype", "float32"], ["--exact-quantiles", "1000"]):
        local = _json(run, *args, *extra)
        dask = _json(run, *args, *extra, "--engine", "dask", "--scheduler", cluster.address)
        for a, b in zip(local["results"], dask["results"]):
            assert b["value"] == pytest.approx(a["value"], rel=1e-15)
            assert b["stats"]["p99"] == a["stats"]["p99"] and "quantiles" not in b
        assert {i["dtype"] for i in dask["inputs"]} == {extra[1] if extra[0] == "--dtype" else "float64"}
    dask = _json(run, *args, "--exact-quantiles", "0", "--engine", "dask", "--scheduler", cluster.address)
    local = _json(run, *args, "--exact-quantiles", "0")
    for a, b in zip(local["results"], dask["results"]):
        assert b["quantiles"] == a["quantiles"] and b["quantiles"]["exact"] is False
        assert b["stats"]["p50"] == pytest.approx(a["stats"]["p50"], rel=0.05)


def test_quantiles_are_the_same_on_every_run(run, large, cluster):
    args = ["compute", "mse", f"{large}/preds.csv:pred", f"{large}/labels.npy", "--nan-policy", "omit",
            "--exact-quantiles", "5000", "--engine", "dask", "--scheduler", cluster.address, "--partition-size", "512K"]
    runs = [_json(run, *args)["results"][0]["stats"] for _ in range(3)]
    assert runs[0] == runs[1] == runs[2]


def test_misaligned_shards_are_named(run, shards, cluster, tmp_path):
    (tmp_path / "short").mkdir()
    for i in range(7):
        src = (shards / "labels" / f"part-{i:03d}.csv").read_text().splitlines()
        keep = src if i != 3 else src[:-1]
        (tmp_path / "short" / f"part-{i:03d}.csv").write_text("\n".join(keep) + "\n")
    out = run("compute", "mse", shards / "preds", tmp_path / "short", "--engine", "dask", "--scheduler", cluster.address)
    assert out.exit_code == 2
    assert out.stderr == (f"Error: {tmp_path}/short/part-003.csv ends after 682 rows but {shards}/preds/part-003.csv "
                          "has more (inputs must have the same number of rows)\n")
    (tmp_path / "few").mkdir()
    (tmp_path / "few" / "part-000.csv").write_text((shards / "labels" / "part-000.csv").read_text())
    out = run("compute", "mse", shards / "preds", tmp_path / "few", "--engine", "dask", "--scheduler", cluster.address)
    assert out.exit_code == 2 and "shards do not line up" in out.stderr and "has 7" in out.stderr


def test_engine_errors(run, shards):
    out = run("compute", "infonce", shards / "preds", shards / "labels", "--engine", "dask")
    assert out.exit_code == 2 and "couple samples across the whole batch" in out.stderr
    out = run("compute", "mse", shards / "preds", shards / "labels", "--scheduler", "tcp://127.0.0.1:1")
    assert out.exit_code == 2 and out.stderr == "Error: --scheduler goes with --engine dask\n"
    out = run("compute", "mse", shards / "preds", shards / "labels", "--stall-timeout", "5")
    assert out.exit_code == 2 and out.stderr == "Error: --stall-timeout goes with --engine dask\n"
    out = run("compute", "mse", shards / "preds", shards / "labels", "--engine", "dask", "--partition-size", "lots")
    assert out.exit_code == 2 and out.stderr == ("Error: Invalid value for '--partition-size': expected a size such as "
                                                 "512M or 4G, got 'lots' (see 'losscli compute --help')\n")
    out = run("check", "--engine", "dask", "--connect-timeout", "0")
    assert out.exit_code == 2 and "Invalid value for '--connect-timeout': 0.0 is not in the range 0<x<=1000000.0" in out.stderr


def test_dask_reads_fsspec_urls(run, shards, cluster):
    local = _json(run, "compute", "mse", shards / "preds", shards / "labels")
    url = _json(run, "compute", "mse", f"file://{shards}/preds", f"file://{shards}/labels/part-*.csv",
                "--engine", "dask", "--scheduler", cluster.address)
    assert url["results"][0]["value"] == pytest.approx(local["results"][0]["value"], rel=1e-12)


def test_dask_slices_equal_local(run, shards, cluster, tmp_path):
    """--by on Dask: each partition groups its rows, the merge tree merges the slices (keys met
    in any order on any worker); values, counts, moments, quantiles and worst samples as the
    local engine's, and compare per slice too. The slice column comes from a sharded --by-file."""
    (tmp_path / "slices").mkdir()
    rng = np.random.default_rng(3)
    for i in range(7):
        n = 500 + 61 * i
        keys = rng.choice(["a", "b", "c", f"only-in-{i}"], n, p=[0.4, 0.3, 0.29, 0.01])
        write_csv(tmp_path / "slices" / f"part-{i:03d}.csv", ["region"], [[k] for k in keys])
    args = ["compute", "mse", shards / "preds", shards / "labels", "--by-file", f"{tmp_path / 'slices'}:region",
            "--top", "4", "--min-slice-size", "1"]
    local = _json(run, *args)["results"][0]
    dask = _json(run, *args, "--engine", "dask", "--scheduler", cluster.address)["results"][0]
    assert [s["key"] for s in dask["slices"]] == [s["key"] for s in local["slices"]]
    assert len(local["slices"]) == 3 + 7
    for a, b in zip(local["slices"], dask["slices"]):
        assert a["count"] == b["count"] and a["worst"] == b["worst"]
        assert b["value"] == pytest.approx(a["value"], rel=1e-12)
        for k in ("mean", "std", "min", "max"):
            assert b["stats"][k] == pytest.approx(a["stats"][k], rel=1e-12)
        assert b["stats"]["p50"] == a["stats"]["p50"] and "quantiles_exact" not in b  # (said when not)
    cmp = ["compare", "mse", shards / "preds", shards / "labels", shards / "labels", "--by-file",
           f"{tmp_path / 'slices'}:region"]
    cl = _json(run, *cmp)["results"][0]
    cd = _json(run, *cmp, "--engine", "dask", "--scheduler", cluster.address)["results"][0]
    assert [(s["key"], s["bootstrap"]) for s in cd["slices"]] == [(s["key"], s["bootstrap"]) for s in cl["slices"]]


def test_one_local_cluster_per_command(run, shards, monkeypatch):
    """Without --scheduler, check starts one local cluster for all its gates (not one per gate)."""
    import distributed

    started = []
    real = distributed.LocalCluster

    def counting(*args, **kwargs):
        started.append(1)
        return real(*args, **{**kwargs, "n_workers": 1})

    monkeypatch.setattr(distributed, "LocalCluster", counting)
    monkeypatch.delenv("DASK_SCHEDULER_ADDRESS", raising=False)
    gates = "".join(f'[[gate]]\nloss = "{loss}"\ninputs = ["{shards}/preds", "{shards}/labels"]\nmax = 10.0\n'
                    for loss in ("mse", "mae", "huber"))
    (shards / "three.toml").write_text(gates)
    out = run("check", shards / "three.toml", "--engine", "dask", "--format", "json")
    assert out.exit_code == 0, out.stderr
    assert len(started) == 1 and out.stderr == ""


# -- a cluster that fails: bounded time, exit 2, one line ------------------------------------------
def _timed(run, *args):
    t0 = time.monotonic()
    out = run(*args)
    return out, time.monotonic() - t0


def test_addresses_that_are_not_a_scheduler(run, shards, cluster):
    base = ["compute", "mse", shards / "preds", shards / "labels", "--engine", "dask", *FAST]
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        free = s.getsockname()[1]
    banner = _banner_server(b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n")
    cases = {
        f"http://127.0.0.1:{cluster.dashboard_port}": "a web address (the dashboard's?)",
        f"tcp://127.0.0.1:{cluster.dashboard_port}": "did not answer as a Dask scheduler within 3 s",
        f"tcp://127.0.0.1:{banner}": "not a Dask scheduler (it answered something else",
        f"tcp://127.0.0.1:{free}": "nothing listens there (connection refused)",
        "tcp://127.0.0.1:99999": "port 99999 is outside 1-65535",
        "tcp://no-such-host.invalid:8786": "the host 'no-such-host.invalid' is not known",
        "tcp://127.0.0.1": "expected both the host and the port: tcp://HOST:PORT",
        cluster.address.replace("tcp://", "tls://"): "a tls:// scheduler needs Dask's TLS settings",
    }
    for address, said in cases.items():
        out, took = _timed(run, *base, "--scheduler", address)
        assert out.exit_code == 2, (address, out.stderr)
        assert out.stderr.startswith(f"Error: --scheduler {address}: ") and said in out.stderr, out.stderr
        assert out.stderr.count("\n") == 1 and took < 20, (address, took)


def _banner_server(banner: bytes) -> int:
    """A service that greets with a banner (as SSH does) on a free port; returns the port."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()

    def serve():
        while True:
            try:
                conn, _ = srv.accept()
                conn.sendall(banner)
            except OSError:
                return

    threading.Thread(target=serve, daemon=True).start()
    return srv.getsockname()[1]


def test_a_scheduler_without_workers(run, shards, tmp_path):
    lonely = RealCluster(tmp_path / "lonely", workers=0)
    try:
        out, took = _timed(run, "compute", "mse", shards / "preds", shards / "labels", "--engine", "dask",
                           "--scheduler", lonely.address, *FAST)
    finally:
        lonely.stop()
    assert out.exit_code == 2 and took < 20
    assert out.stderr == (f"Error: --scheduler {lonely.address}: no worker joined within 3 s; start one with `dask "
                          f"worker {lonely.address}`, or wait longer with --worker-timeout\n")


@pytest.mark.parametrize("older", [False, True])
def test_a_worker_running_another_losscli_is_refused(run, shards, tmp_path, older):
    """A worker whose losscli differs from the client's (an older install, a stale editable copy) can
    give other numbers under the same version: its partitions are refused, naming it, not merged.
    Here the worker's mse is doubled; without the check the run gave twice the value, exit 0."""
    import losscli

    other = tmp_path / "other"
    shutil.copytree(Path(losscli.__file__).parent, other / "losscli", ignore=shutil.ignore_patterns("__pycache__"))
    regression = other / "losscli" / "losses" / "regression.py"
    text = regression.read_text()
    mse = '    """Mean squared error: l_i = mean_j (p_ij - t_ij)^2 (Gauss 1809; torch.nn.MSELoss)."""\n    return '
    assert text.count(mse) == 1
    regression.write_text(text.replace(mse, mse + "2 * "))
    if older:  # (a losscli from before the check: no question for the client to ask, none in its tasks)
        for name, old, new in (("engine/code.py", "def where_and_what()", "def _gone()"),
                               ("engine/dask.py", 'if task["code"] != code_version():', "if False:")):
            path = other / "losscli" / name
            assert path.read_text().count(old) == 1
            path.write_text(path.read_text().replace(old, new))
    c = RealCluster(tmp_path / "c", workers=0)
    try:
        c.add_worker(env={**c.env, "PYTHONPATH": str(other)})
        c.wait_for_workers(1)
        out = run("compute", "mse", shards / "preds", shards / "labels", "--engine", "dask", "--scheduler", c.address,
                  "--format", "json", *FAST)
    finally:
        from losscli.engine.cluster import close_sessions

        close_sessions()  # (before its scheduler goes: a client closed after it left the next one's loop started)
        c.stop()
    assert out.exit_code == 2 and out.stdout == "", out.stdout
    if older:
        assert out.stderr.startswith(f"Error: --scheduler {c.address}: a worker cannot run this losscli's check of its "
                                     "code (") and out.stderr.count("\n") == 1, out.stderr
        assert out.stderr.endswith(f"install losscli {losscli.__version__} (the client's) on every worker and "
                                   "restart them\n")
        return
    assert out.stderr.startswith("Error: the worker at tcp://127.0.0.1:") and out.stderr.count("\n") == 1
    assert f"runs losscli {losscli.__version__} (code " in out.stderr and f"from {other / 'losscli'}, this client " \
        f"{losscli.__version__} (code " in out.stderr
    assert out.stderr.endswith(": install the client's losscli on every worker and restart them\n")


SLOW_PLUGIN = '''
import time
from pathlib import Path
from losscli import register_loss

@register_loss({name!r}, coupling="elementwise")
def slow_se(predictions, labels):
    """Squared error, slowly (a plugin for the tests)."""
    Path({marker!r}).touch()
    time.sleep({pause})
    return (predictions - labels) ** 2
'''


def _slow_run(tmp_path, shards, address, *extra, pause=0.3, name="slow_se"):
    """losscli in its own process on a slow plugin loss (17 blocks of ``pause`` s each),
    started; returns the process once a worker has begun."""
    marker = tmp_path / "started"
    plugin = tmp_path / "slow.py"
    tmp_path.mkdir(exist_ok=True)
    plugin.write_text(SLOW_PLUGIN.format(marker=str(marker), pause=pause, name=name))
    env = {k: v for k, v in os.environ.items() if not k.startswith("DASK_")}
    # Ctrl-C as at a terminal, even when these tests run in the background, where a shell starts
    # jobs with SIGINT ignored: a handled signal is default again after exec (no preexec_fn, which
    # would run Python in the forked child of a multithreaded process, as jax's warning says)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        proc = subprocess.Popen([sys.executable, "-m", "losscli", "--plugin", plugin, "compute", name,
                                 shards / "preds", shards / "labels", "--engine", "dask", "--scheduler", address,
                                 "--block-rows", "400", "--format", "json", *extra],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    finally:
        signal.signal(signal.SIGINT, previous)
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.05)
    return proc


def _finish(proc, limit: float = 60):
    t0 = time.monotonic()
    out, err = proc.communicate(timeout=limit)
    return proc.returncode, out, err, time.monotonic() - t0


def _harmed(tmp_path, shards, harm):
    """A slow run on a cluster of its own (a scheduler and 2 workers), ``harm(cluster)`` done to
    it once a worker has begun: (exit code, stdout, stderr, seconds it took then, address)."""
    c = RealCluster(tmp_path / "c", workers=2)
    try:
        proc = _slow_run(tmp_path, shards, c.address, *FAST)
        harm(c)
        code, out, err, took = _finish(proc)
    finally:
        os.kill(c.procs["scheduler"].pid, signal.SIGCONT)  # (in case it was stopped)
        c.stop()
    return code, out, err, took, c.address


def test_a_killed_worker_is_survived(run, shards, tmp_path):
    """Killed once it has finished partitions (Dask computes them again) and while it works."""

    def kill_one(c):
        time.sleep(1.5)  # (a partition takes 0.6 to 0.9 s)
        c.kill("worker0")

    code, out, err, _, _ = _harmed(tmp_path, shards, kill_one)
    assert code == 0, err
    local = _json(run, "compute", "mse", shards / "preds", shards / "labels")["results"][0]
    _same(local, json.loads(out)["results"][0])


def test_every_worker_killed(shards, tmp_path):
    code, out, err, took, address = _harmed(tmp_path, shards, lambda c: [c.kill(w) for w in c.workers()])
    assert code == 2 and out == "" and took < 30
    assert err.startswith(f"Error: --scheduler {address}: every worker left and none joined within 3 s, with ")
    assert err.endswith(" partitions to go; --worker-timeout waits longer\n") and err.count("\n") == 1


@pytest.mark.parametrize("signal_", [signal.SIGKILL, signal.SIGSTOP], ids=["killed", "frozen"])
def test_the_scheduler_killed_or_frozen(shards, tmp_path, signal_):
    """A scheduler that dies, or stops answering (SIGSTOP: a hung host, a dropped network), ends
    the run within --connect-timeout."""
    code, out, err, took, address = _harmed(tmp_path, shards, lambda c: os.kill(c.procs["scheduler"].pid, signal_))
    assert code == 2 and out == "" and took < 30, err
    assert err.startswith(f"Error: --scheduler {address}: lost the connection to the scheduler while ")
    assert err.endswith(" were done; is it still running?\n") and err.count("\n") == 1


def test_ctrl_c_ends_cleanly(shards, cluster, tmp_path):
    proc = _slow_run(tmp_path, shards, cluster.address)
    proc.send_signal(signal.SIGINT)
    code, out, err, took = _finish(proc)
    assert (code, out, err) == (130, "", "Aborted.\n") and took < 20


def test_stalls_are_told_from_long_partitions(shards, cluster, tmp_path):
    """A partition that keeps reading is not a stall, however long it takes; one that reads
    nothing for --stall-timeout is."""
    proc = _slow_run(tmp_path, shards, cluster.address, "--stall-timeout", "4", pause=0.5, name="long_se")
    code, out, err, _ = _finish(proc)
    assert code == 0, err
    stuck = RealCluster(tmp_path / "c", workers=1)  # (its worker sleeps on: stopped after)
    try:
        proc = _slow_run(tmp_path / "stuck", shards, stuck.address, "--stall-timeout", "2", pause=30, name="stuck_se")
        code, out, err, took = _finish(proc)
    finally:
        stuck.stop()
    assert code == 2 and took < 20
    assert err == (f"Error: --scheduler {stuck.address}: no partition finished or read a row in 2 s (0 of 7 done); "
                   "the workers may be stuck or overloaded; --stall-timeout waits longer\n")


def test_the_progress_bar_counts_rows_and_partitions(large, cluster):
    """On a terminal, the Dask bar shows rows read on the workers (of the input's estimate) and
    the partitions done; stdout (a pipe) gets the value only."""
    from .terminal import ESCAPE, on_terminal

    code, seen, stdout = on_terminal([sys.executable, "-m", "losscli", "compute", "mse", f"{large}/preds.csv:pred",
                                      large / "labels.csv", "--nan-policy", "omit", "--engine", "dask", "--scheduler",
                                      cluster.address, "--partition-size", "256K", "--format", "value"],
                                     streams="stderr")
    assert code == 0 and len(stdout.split()) == 1
    text = ESCAPE.sub("", seen).replace(",", "")
    assert "/~" in text and " rows" in text
    done = re.findall(r"(\d+)/(\d+) partitions", text)
    assert done and done[-1][0] == done[-1][1] and int(done[-1][1]) >= 8
    assert max(int(r) for r in re.findall(r"(\d+)/~\d+ rows", text)) == 120_000  # every row, counted on the workers


@pytest.mark.parametrize("writer", ["savetxt", "pandas_index"])
@pytest.mark.parametrize("cut", [None, "4K"])
def test_later_shards_read_their_first_line_as_the_first_shard_does(run, tmp_path, cluster, writer, cut):
    """np.savetxt part files (no header in any) whose later parts begin with 0: each partition
    guessed its own shard's header, and --engine dask asked for --header where the local engine
    reads the set. The client's first shard now decides for every partition, cut or not."""
    import pandas as pd

    rng = np.random.default_rng(0)
    y, p = rng.integers(0, 4, 6000).astype(float), rng.integers(0, 4, 6000).astype(float)
    y[0], y[2000], y[4000], p[0], p[2000], p[4000] = 1, 0, 0, 2, 0, 1  # parts 1 and 2 begin with 0
    for name, v in (("p", p), ("y", y)):
        (tmp_path / name).mkdir()
        for i, part in enumerate(np.array_split(v, 3)):
            path = tmp_path / name / f"part-{i:05d}.csv"
            if writer == "savetxt":
                np.savetxt(path, part, fmt="%d")
            else:
                pd.Series(part).to_csv(path)
    args = ["compute", "mse", f"{tmp_path / 'p'}:0", f"{tmp_path / 'y'}:0"]
    local = _json(run, *args)
    dask = _json(run, *args, "--engine", "dask", "--scheduler", cluster.address,
                 *(("--partition-size", cut) if cut else ()))
    assert [i["rows"] for i in local["inputs"]] == [6000, 6000]
    assert local["results"][0]["value"] == pytest.approx(np.mean((p - y) ** 2), rel=1e-15, abs=0)
    assert dask["results"][0]["value"] == pytest.approx(local["results"][0]["value"], rel=1e-14, abs=0)
    assert dask["results"][0]["count"] == 6000
    assert len({i["partitions"] for i in dask["inputs"]}) == 1
    assert dask["inputs"][0]["partitions"] == 3 if cut is None else dask["inputs"][0]["partitions"] > 3


@pytest.mark.parametrize("fmt", ["parquet", "csv", "csv_header_in_first"])
def test_a_column_chosen_by_position_is_the_first_shards_in_every_shard(run, tmp_path, cluster, fmt):
    """A dataset whose later files order their columns differently (part-1 written y, p): `:0` was
    resolved in each file, so rows of y were read as p, silently (MSE 0.93 for 1.73). Position 0 is
    the first shard's column 0 in every shard, by name; locally and on the cluster. Where later
    files have no header (written in chunks, p, y in each), position 0 is theirs."""
    import pandas as pd

    rng = np.random.default_rng(1)
    p, y = rng.normal(size=3000), rng.normal(size=3000)
    (tmp_path / "d").mkdir()
    (tmp_path / "t").mkdir()
    for i, (cols, rows) in enumerate(((["p", "y"], slice(0, 1500)), (["y", "p"], slice(1500, 3000)))):
        if fmt == "csv_header_in_first":
            cols = ["p", "y"]
        frame = pd.DataFrame({"p": p[rows], "y": y[rows]})[cols]
        labels = pd.DataFrame({"y": y[rows]})
        if fmt == "parquet":
            frame.to_parquet(tmp_path / "d" / f"part-{i}.parquet", index=False)
            labels.to_parquet(tmp_path / "t" / f"part-{i}.parquet", index=False)
        else:
            frame.to_csv(tmp_path / "d" / f"part-{i}.csv", index=False, header=i == 0 or fmt == "csv")
            labels.to_csv(tmp_path / "t" / f"part-{i}.csv", index=False, header=i == 0 or fmt == "csv")
    want = float(np.mean((p - y) ** 2))
    for first in ("0", "p") if fmt != "csv_header_in_first" else ("0",):
        args = ["compute", "mse", f"{tmp_path / 'd'}:{first}", f"{tmp_path / 't'}:0"]
        local = _json(run, *args)
        dask = _json(run, *args, "--engine", "dask", "--scheduler", cluster.address)
        assert local["results"][0]["value"] == pytest.approx(want, rel=1e-14, abs=0), first
        assert dask["results"][0]["value"] == pytest.approx(want, rel=1e-14, abs=0), first
        assert local["inputs"][0]["rows"] == 3000 and dask["results"][0]["count"] == 3000
    assert _json(run, "compute", "mse", f"{tmp_path / 'd'}:1", f"{tmp_path / 't'}:0")["results"][0]["value"] == 0.0


def test_a_note_about_an_input_is_said_once_with_dask(run, tmp_path):
    """The client says what it read of an input; each worker said it again, under the file's absolute
    name (a header of numbered columns was noted twice). Workers' partitions say nothing."""
    (tmp_path / "p.csv").write_text("0,1\n" + "".join(f"{i / 10},{i / 7}\n" for i in range(50)))
    (tmp_path / "y.csv").write_text("0,1\n" + "".join(f"{i / 9},{i / 8}\n" for i in range(50)))
    out = subprocess.run([sys.executable, "-m", "losscli", "compute", "mse", "p.csv", "y.csv", "--engine", "dask",
                          "--format", "value"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stderr.count("its first line, all numbers, is read as pandas' header of numbered columns") == 2, \
        out.stderr
    assert out.stderr.count("losscli: note: p.csv: its first line") == 1


@pytest.mark.parametrize("preserve_index", [None, True])
def test_shards_out_of_pandas_order_are_refused_across_partitions(run, cluster, tmp_path, preserve_index):
    """Each partition reads one shard of each input, so the local engine's check that a dataset's
    shards are in the order pandas numbered their rows (write_to_dataset names files by random ids)
    saw one shard at a time: 20-29 read before 0-9 gave 1.68 for 2.02, exit 0. The partitions' shards
    are checked in order on the client: refused as locally; in order, the value."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(0)
    p, t = rng.normal(size=40), rng.normal(size=40)
    labels = pd.DataFrame({"label": t})
    for name, order in (("mixed", [2, 0, 3, 1]), ("ordered", [0, 1, 2, 3])):
        (tmp_path / name).mkdir()
        for k, b in enumerate(order):
            table = pa.Table.from_pandas(labels.iloc[b * 10:(b + 1) * 10], preserve_index=preserve_index)
            pq.write_table(table, tmp_path / name / f"part-{k}.parquet")
    (tmp_path / "preds").mkdir()
    for k in range(4):
        pd.DataFrame({"pred": p[k * 10:(k + 1) * 10]}).to_csv(tmp_path / "preds" / f"part-{k}.csv", index=False)
    dask = ["--engine", "dask", "--scheduler", cluster.address]
    local = run("compute", "mse", tmp_path / "preds", tmp_path / "mixed")
    out = run("compute", "mse", tmp_path / "preds", tmp_path / "mixed", *dask)
    assert (local.exit_code, out.exit_code, out.stdout) == (2, 2, "")
    what = "column '__index_level_0__'" if preserve_index else "a RangeIndex in the files' metadata"
    assert out.stderr.splitlines()[-1] == local.stderr.splitlines()[-1]
    assert f"the pandas index ({what}) of shard {tmp_path}/mixed/part-1.parquet starts at 0, below shard " \
           f"{tmp_path}/mixed/part-0.parquet, which held its rows 20 to 29" in out.stderr
    value = _json(run, "compute", "mse", tmp_path / "preds", tmp_path / "ordered", *dask)["results"][0]["value"]
    assert value == pytest.approx(float(np.mean((p - t) ** 2)), rel=1e-12)


def _slices(d: dict) -> dict:
    return {tuple(s["key"].values()): (s["count"], s["value"]) for s in d["results"][0]["slices"]}


def test_an_empty_partition_dask_wrote_is_read_by_both_engines(run, cluster, tmp_path):
    """A filter that empties a partition: Dask writes it (a header-only CSV, a Parquet file of 0 rows);
    review 93 #4: the Dask engine refused it (exit 2), the local engine read it."""
    dd = pytest.importorskip("dask.dataframe")
    import pandas as pd

    rng = np.random.default_rng(5)
    frame = pd.DataFrame({"pred": rng.normal(size=400), "label": rng.normal(size=400)})
    frame["keep"] = np.r_[np.ones(300, bool), np.zeros(100, bool)]  # the last partition emptied
    kept = dd.from_pandas(frame, npartitions=4)
    kept = kept[kept.keep][["pred", "label"]]
    kept.to_csv(str(tmp_path / "csv" / "part-*.csv"), index=False)
    kept.to_parquet(str(tmp_path / "pq"), write_index=False)
    assert (tmp_path / "csv" / "part-3.csv").read_text().strip() == "pred,label"  # (the empty partition)
    right = float(((frame.pred - frame.label) ** 2)[frame.keep].mean())
    for data in ("csv", "pq"):
        d = tmp_path / data
        for engine in ([], ["--engine", "dask", "--scheduler", cluster.address]):
            out = _json(run, "compute", "mse", f"{d}:pred", f"{d}:label", *engine)
            assert out["results"][0]["value"] == pytest.approx(right, rel=1e-12) and out["results"][0]["count"] == 300


def test_slice_keys_are_those_pandas_reads_in_every_shard(run, cluster, tmp_path):
    """Review 93 #1, #2: in Parquet, 'NA', 'nan', '' are text (only a CSV's NA spellings are missing); a
    shard whose integer key column pandas made float for its NaN (1.0) is the same group as 1."""
    import pandas as pd

    (tmp_path / "ds").mkdir()
    rng = np.random.default_rng(6)
    a = pd.DataFrame({"pred": rng.normal(size=40), "label": rng.normal(size=40), "g": np.tile([1, 2], 20),
                      "t": np.tile(["NA", "nan", "", "x"], 10)})
    b = pd.DataFrame({"pred": rng.normal(size=30), "label": rng.normal(size=30),
                      "g": np.tile([1.0, 2.0, np.nan], 10), "t": np.tile(["null", "x", None], 10)})
    a.to_parquet(tmp_path / "ds" / "part-0.parquet", index=False)
    b.to_parquet(tmp_path / "ds" / "part-1.parquet", index=False)
    assert str(b.g.dtype) == "float64"
    whole = pd.read_parquet(tmp_path / "ds")
    loss = (whole.pred - whole.label) ** 2
    d = tmp_path / "ds"
    for engine in ([], ["--engine", "dask", "--scheduler", cluster.address]):
        for by in ("g", "t"):
            got = _slices(_json(run, "compute", "mse", f"{d}:pred", f"{d}:label", "--by", by, *engine))
            want = {(None if k != k or k is None else int(k) if by == "g" else k,): (len(v), v.mean())
                    for k, v in loss.groupby(whole[by], dropna=False)}
            assert got.keys() == want.keys(), (by, engine)
            for k, (n, v) in want.items():
                assert got[k][0] == n and got[k][1] == pytest.approx(v, rel=1e-12), (by, k, engine)


@pytest.mark.parametrize("option", ["--scheduler", "--scheduler-file"])
def test_an_empty_scheduler_is_refused_not_a_local_cluster(run, shards, option):
    """``--scheduler $(cat addr)`` of a missing file: not a local cluster started in its place."""
    out = run("compute", "mse", shards / "preds", shards / "labels", "--engine", "dask", option, "")
    assert out.exit_code == 2 and out.stdout == ""
    assert out.stderr == (f"Error: {option}: empty; name a scheduler (tcp://HOST:PORT), or leave the option out for a "
                          "local cluster\n")


def test_numbers_in_one_partition_and_booleans_in_a_later_one_are_refused(run, cluster, tmp_path):
    """A column of numbers whose later rows are booleans (True/False) is refused by the local
    engine wherever its blocks fall; on the cluster it was refused only where one partition held
    both, and read as 1/0 where the switch fell between partitions (a dataset's shards always):
    refused whatever the cut, with the local engine's message."""
    rng = np.random.default_rng(8)
    flags = rng.random(20_000) < 0.5
    rows = ["1.0" if v else "0.0" for v in flags[:10_000]] + ["True" if v else "False" for v in flags[10_000:]]
    write_csv(tmp_path / "y.csv", ["y"], [[r] for r in rows])
    write_csv(tmp_path / "p.csv", ["p"], [[f"{v:.17g}"] for v in rng.random(20_000)])
    (tmp_path / "ys").mkdir()
    (tmp_path / "ps").mkdir()
    for i in range(2):  # (the same rows as a dataset of two shards, the switch between them)
        write_csv(tmp_path / "ys" / f"part-{i}.csv", ["y"], [[r] for r in rows[i * 10_000:(i + 1) * 10_000]])
        write_csv(tmp_path / "ps" / f"part-{i}.csv", ["p"], [["0.5"]] * 10_000)
    for p, y, size in (("p.csv", "y.csv", "16K"), ("p.csv", "y.csv", "64K"), ("ps", "ys", "1M")):
        args = ["compute", "mse", tmp_path / p, tmp_path / y]
        local = run(*args)
        dask = run(*args, "--engine", "dask", "--scheduler", cluster.address, "--partition-size", size)
        assert (dask.exit_code, dask.stdout) == (local.exit_code, local.stdout) == (2, "")
        assert dask.stderr == local.stderr
    assert local.stderr == (f"Error: {tmp_path}/ys/part-1.csv, line 2, column 'y': expected a number, found "
                            f"{rows[10_000]!r} ({tmp_path}/ys/part-0.csv, line 2 holds a number, {rows[0]!r}: a "
                            "column of numbers and booleans is neither)\n")
