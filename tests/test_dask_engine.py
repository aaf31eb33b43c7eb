"""--engine dask on a LocalCluster of 2 worker processes on 127.0.0.1: the same results as the
local engine (reductions to 1e-12, identical top-K with global rows), shard errors named."""

import json

import numpy as np
import pytest

pytest.importorskip("distributed")

from .conftest import write_csv  # noqa: E402


@pytest.fixture(scope="module")
def scheduler():
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster:
        yield cluster.scheduler_address


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


def _json(run, *args):
    out = run(*args, "--format", "json")
    assert out.exit_code == 0, out.stderr
    return json.loads(out.stdout)


@pytest.mark.parametrize("extra", [[], ["--weights", "WEIGHTS"], ["--reduction", "sum"]])
def test_dask_equals_local(run, shards, scheduler, extra):
    extra = [str(shards / "weights") if e == "WEIGHTS" else e for e in extra]
    args = ["compute", "mse,mae,huber,log_cosh", shards / "preds", shards / "labels", "--top", "10", *extra]
    local = _json(run, *args)
    dask = _json(run, *args, "--engine", "dask", "--scheduler", scheduler)
    for a, b in zip(local["results"], dask["results"]):
        assert b["value"] == pytest.approx(a["value"], rel=1e-12)
        assert b["count"] == a["count"] == sum(500 + 61 * i for i in range(7))
        assert b["worst"] == a["worst"]  # exact, with global row numbers
        for k in ("mean", "std", "min", "max"):
            assert b["stats"][k] == pytest.approx(a["stats"][k], rel=1e-12)
        assert b["quantiles"]["method"] == "Apache DataSketches KLL"


def test_dask_per_sample_order_and_compare(run, shards, scheduler):
    local = _json(run, "compute", "mse", shards / "preds", shards / "labels", "--per-sample")
    dask = _json(run, "compute", "mse", shards / "preds", shards / "labels", "--per-sample", "--engine", "dask",
                 "--scheduler", scheduler)
    assert dask["results"][0]["per_sample"] == local["results"][0]["per_sample"]
    cmp_local = _json(run, "compare", "mse", shards / "preds", shards / "labels", shards / "labels")
    cmp_dask = _json(run, "compare", "mse", shards / "preds", shards / "labels", shards / "labels", "--engine", "dask",
                     "--scheduler", scheduler)
    assert cmp_dask["results"][0]["bootstrap"] == cmp_local["results"][0]["bootstrap"]


def test_misaligned_shards_are_named(run, shards, scheduler, tmp_path):
    (tmp_path / "short").mkdir()
    for i in range(7):
        src = (shards / "labels" / f"part-{i:03d}.csv").read_text().splitlines()
        keep = src if i != 3 else src[:-1]
        (tmp_path / "short" / f"part-{i:03d}.csv").write_text("\n".join(keep) + "\n")
    out = run("compute", "mse", shards / "preds", tmp_path / "short", "--engine", "dask", "--scheduler", scheduler)
    assert out.exit_code == 2
    assert out.stderr == (f"Error: shards do not line up: {tmp_path}/short/part-003.csv has 682 rows but "
                          f"{shards}/preds/part-003.csv has 683 (the shards of sharded inputs must have the "
                          "same sizes, in sorted order)\n")
    (tmp_path / "few").mkdir()
    (tmp_path / "few" / "part-000.csv").write_text((shards / "labels" / "part-000.csv").read_text())
    out = run("compute", "mse", shards / "preds", tmp_path / "few", "--engine", "dask", "--scheduler", scheduler)
    assert out.exit_code == 2 and "shards do not line up" in out.stderr and "has 7" in out.stderr


def test_engine_errors(run, shards):
    out = run("compute", "infonce", shards / "preds", shards / "labels", "--engine", "dask")
    assert out.exit_code == 2 and "couple samples across the whole batch" in out.stderr
    out = run("compute", "mse", shards / "preds", shards / "labels", "--scheduler", "tcp://127.0.0.1:1")
    assert out.exit_code == 2 and out.stderr == "Error: --scheduler goes with --engine dask\n"


def test_dask_reads_fsspec_urls(run, shards, scheduler):
    local = _json(run, "compute", "mse", shards / "preds", shards / "labels")
    url = _json(run, "compute", "mse", f"file://{shards}/preds", f"file://{shards}/labels/part-*.csv",
                "--engine", "dask", "--scheduler", scheduler)
    assert url["results"][0]["value"] == pytest.approx(local["results"][0]["value"], rel=1e-12)


def test_dask_slices_equal_local(run, shards, scheduler, tmp_path):
    """--by on Dask: each partition groups its rows, the reduction tree merges the slices (keys met
    in any order on any worker); values, counts, moments and worst samples as the local engine's,
    and compare per slice too. The slice column comes from a sharded --by-file."""
    (tmp_path / "slices").mkdir()
    rng = np.random.default_rng(3)
    for i in range(7):
        n = 500 + 61 * i
        keys = rng.choice(["a", "b", "c", f"only-in-{i}"], n, p=[0.4, 0.3, 0.29, 0.01])
        write_csv(tmp_path / "slices" / f"part-{i:03d}.csv", ["region"], [[k] for k in keys])
    args = ["compute", "mse", shards / "preds", shards / "labels", "--by-file", f"{tmp_path / 'slices'}:region",
            "--top", "4", "--min-slice-size", "1"]
    local = _json(run, *args)["results"][0]
    dask = _json(run, *args, "--engine", "dask", "--scheduler", scheduler)["results"][0]
    assert [s["key"] for s in dask["slices"]] == [s["key"] for s in local["slices"]]
    assert len(local["slices"]) == 3 + 7
    for a, b in zip(local["slices"], dask["slices"]):
        assert a["count"] == b["count"] and a["worst"] == b["worst"]
        assert b["value"] == pytest.approx(a["value"], rel=1e-12)
        for k in ("mean", "std", "min", "max"):
            assert b["stats"][k] == pytest.approx(a["stats"][k], rel=1e-12)
        assert b["quantiles_exact"] is False  # sketched on Dask, as the overall quantiles
    cmp = ["compare", "mse", shards / "preds", shards / "labels", shards / "labels", "--by-file",
           f"{tmp_path / 'slices'}:region"]
    cl, cd = _json(run, *cmp)["results"][0], _json(run, *cmp, "--engine", "dask", "--scheduler", scheduler)["results"][0]
    assert [(s["key"], s["bootstrap"]) for s in cd["slices"]] == [(s["key"], s["bootstrap"]) for s in cl["slices"]]
