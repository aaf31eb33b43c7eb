"""Block-by-block evaluation gives the one-shot answers: reductions to 1e-12, identical top-K and
per-sample values; quantiles exact within the budget and within the sketch's bound beyond it;
sharded inputs, NPY memory-mapping, Parquet, float32."""

import io
import json
import re

import numpy as np
import pytest

from losscli import get_loss
from losscli.engine.local import stream_evaluations
from losscli.stats.accumulator import Accumulator
from losscli.io.cache import InputCache

from .conftest import write_csv


@pytest.fixture
def data(tmp_path):
    rng = np.random.default_rng(0)
    n = 5003
    p, t = rng.normal(size=n), rng.normal(size=n)
    p[[17, 4000]] = 40.0  # clear worst samples, and ties below
    t[100:110] = p[100:110] + 3.0
    write_csv(tmp_path / "p.csv", ["pred"], [[f"{v:.17g}"] for v in p])
    write_csv(tmp_path / "t.csv", ["label"], [[f"{v:.17g}"] for v in t])
    np.save(tmp_path / "p.npy", p)
    np.save(tmp_path / "t.npy", t)
    w = rng.uniform(0, 2, n)
    np.save(tmp_path / "w.npy", w)
    logits = rng.normal(size=(n, 7))
    np.save(tmp_path / "z.npy", logits)
    np.save(tmp_path / "y.npy", rng.integers(0, 7, n).astype(float))
    return tmp_path


def _run(losses, specs, chunk, **kw):
    return stream_evaluations([get_loss(n) for n in losses], specs, {}, cache=InputCache(), top=8,
                              per_sample=True, chunk_rows=chunk, **kw)


@pytest.mark.parametrize("chunk", [7, 1000, 4096])
@pytest.mark.parametrize("fmt", ["csv", "npy"])
def test_blocks_equal_one_shot(data, chunk, fmt):
    specs = [str(data / f"p.{fmt}"), str(data / f"t.{fmt}")]
    names = ["mse", "mae", "huber", "log_cosh"]
    one = _run(names, specs, None, weights=str(data / "w.npy"))
    many = _run(names, specs, chunk, weights=str(data / "w.npy"))
    for a, b in zip(one, many):
        assert b.value == pytest.approx(a.value, rel=1e-12)
        assert b.count == a.count
        for k in a.stats:
            assert b.stats[k] == pytest.approx(a.stats[k], rel=1e-12), k
        assert b.worst == a.worst  # identical rows, values and order
        np.testing.assert_array_equal(b.per_sample, a.per_sample)


def test_row_coupled_loss_in_blocks(data):
    specs = [str(data / "z.npy"), str(data / "y.npy")]
    one, many = _run(["softmax_ce", "poly1"], specs, None), _run(["softmax_ce", "poly1"], specs, 333)
    for a, b in zip(one, many):
        assert b.value == pytest.approx(a.value, rel=1e-12) and b.worst == a.worst


def test_gradients_in_blocks_equal_one_shot(data, run):
    """--save-grad streams blocks of 100 rows (51 of them) into the file: the same gradient as one
    block of all 5,003 rows, weighted (the scale is found at the end)."""
    args = ["compute", "huber", data / "p.npy", data / "t.npy", "--weights", data / "w.npy", "--format", "value"]
    assert run(*args, "--block-rows", "100", "--save-grad", data / "many.npy").exit_code == 0
    assert run(*args, "--block-rows", "100000", "--save-grad", data / "one.npy").exit_code == 0
    np.testing.assert_allclose(np.load(data / "many.npy"), np.load(data / "one.npy"), rtol=1e-13, atol=0)
    assert np.load(data / "many.npy").shape == (5003,)


def test_quantiles_exact_within_budget_and_sketched_beyond():
    rng = np.random.default_rng(1)
    values = rng.exponential(size=200_000)
    exact = np.percentile(values, [50, 90, 99])
    loss = get_loss("mse")
    acc = Accumulator(loss, {}, quantile_budget=50_000)
    for i in range(0, values.size, 10_000):
        acc.add(values[i:i + 10_000], np.arange(i, min(i + 10_000, values.size)))
    ev = acc.finish()
    assert not ev.quantiles_exact and ev.quantile_rank_error < 0.001
    for q, got, want in zip((0.5, 0.9, 0.99), (ev.stats["p50"], ev.stats["p90"], ev.stats["p99"]), exact):
        rank = np.mean(values <= got)
        assert abs(rank - q) <= 3 * ev.quantile_rank_error, (q, got, want)
    assert ev.stats["mean"] == pytest.approx(values.mean(), rel=1e-12)
    assert ev.stats["max"] == values.max()


def test_cli_reports_sketched_quantiles(run, data, monkeypatch):

    monkeypatch.setattr("losscli.engine.local.QUANTILE_BUDGET", 1000)
    # standard input cannot be read twice: beyond the budget, the sketch
    out = run("compute", "mse", "-", data / "t.csv", "--format", "json", "--block-rows", "500",
              input=(data / "p.csv").read_bytes())
    rec = json.loads(out.stdout)["results"][0]
    assert rec["quantiles"]["exact"] is False and rec["quantiles"]["method"] == "Apache DataSketches KLL"
    # a local CSV is parsed again instead: exact
    out = run("compute", "mse", data / "p.csv", data / "t.csv", "--format", "json", "--block-rows", "500")
    rec = json.loads(out.stdout)["results"][0]
    per = (np.load(data / "p.npy") - np.load(data / "t.npy")) ** 2
    assert "quantiles" not in rec
    assert [rec["stats"][k] for k in ("p50", "p90", "p99")] == np.quantile(per, [0.5, 0.9, 0.99]).tolist()


@pytest.mark.parametrize("misses, passes", [(0, 0), (1, 1), (3, 3), (4, 4)])
def test_local_files_get_exact_quantiles_in_bounded_memory(run, data, monkeypatch, misses, passes):
    """Beyond the warm-up (here the budget, 1000 values) each quantile is bracketed and only the
    values inside are kept: exact (np.quantile's bits) in one pass. A bracket that misses (data
    that drifts) means reading the files again with wider brackets; after three more misses the
    sketch answers."""
    import losscli.engine.local as C
    import losscli.stats.quantiles as E

    monkeypatch.setattr("losscli.engine.local.QUANTILE_BUDGET", 1000)
    real_resolve, real_pass = E.Selection.resolve, C._spilled_pass
    resolves, reads = [], []

    def resolve(self, ks):
        resolves.append(1)
        return {} if len(resolves) <= misses else real_resolve(self, ks)

    def counted_pass(*args):
        reads.append(1)
        real_pass(*args)

    monkeypatch.setattr(E.Selection, "resolve", resolve)
    monkeypatch.setattr(C, "_spilled_pass", counted_pass)
    p, t = np.load(data / "p.npy"), np.load(data / "t.npy")
    for inputs in ((data / "p.npy", data / "t.npy"), (data / "p.csv", data / "t.csv")):
        resolves.clear()
        reads.clear()
        out = run("compute", "mse", *inputs, "--format", "json", "--block-rows", "300")
        rec = json.loads(out.stdout)["results"][0]
        assert len(reads) == passes
        if misses < 4:
            assert "quantiles" not in rec  # exact
            assert [rec["stats"][k] for k in ("p50", "p90", "p99")] == np.quantile((p - t) ** 2, [0.5, 0.9, 0.99]).tolist()
        else:
            assert rec["quantiles"]["exact"] is False


def test_several_losses_share_the_reads(run, data, monkeypatch):

    monkeypatch.setattr("losscli.engine.local.QUANTILE_BUDGET", 1000)
    p, t = np.load(data / "p.npy"), np.load(data / "t.npy")
    out = run("compute", "mse,mae,huber", data / "p.csv", data / "t.csv", "--format", "json")
    recs = json.loads(out.stdout)["results"]
    d = p - t
    a = np.abs(d)
    for rec, per in zip(recs, (d * d, a, np.where(a < 1, 0.5 * a * a, a - 0.5))):
        assert [rec["stats"][k] for k in ("p50", "p90", "p99")] == np.quantile(per, [0.5, 0.9, 0.99]).tolist()


def test_sharded_directory_and_glob(run, data, tmp_path):
    p = np.load(data / "p.npy")
    t = np.load(data / "t.npy")
    for name, arr in (("preds", p), ("labels", t)):
        (tmp_path / name).mkdir()
        for i, part in enumerate(np.array_split(arr, 4)):
            write_csv(tmp_path / name / f"part-{i:03d}.csv", [name], [[f"{v:.17g}"] for v in part])
    whole = json.loads(run("compute", "mse", data / "p.csv", data / "t.csv", "--format", "json").stdout)
    by_dir = json.loads(run("compute", "mse", tmp_path / "preds", tmp_path / "labels", "--format", "json",
                            "--block-rows", "300").stdout)
    by_glob = run("compute", "mse", f"{tmp_path}/preds/part-*.csv", f"{tmp_path}/labels/part-*.csv", "--format", "json")
    assert by_dir["results"][0]["value"] == pytest.approx(whole["results"][0]["value"], rel=1e-12)
    assert by_dir["results"][0]["worst"] == whole["results"][0]["worst"]
    assert json.loads(by_glob.stdout)["results"][0]["value"] == pytest.approx(whole["results"][0]["value"], rel=1e-12)


def test_shards_pair_by_their_place_in_the_whole_input(run, tmp_path):
    """Datasets cut differently, and a dataset against one file (Spark's predictions against a truth
    CSV), pair row by row in the order of the whole input; they were refused as shards that do not
    line up. A different total is named where one input ends."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    write_csv(tmp_path / "a" / "0.csv", ["p"], [[1], [2], [3]])
    write_csv(tmp_path / "a" / "1.csv", ["p"], [[1], [2]])
    write_csv(tmp_path / "b" / "0.csv", ["t"], [[1], [2]])
    write_csv(tmp_path / "b" / "1.csv", ["t"], [[1], [2], [3]])
    write_csv(tmp_path / "t.csv", ["t"], [[1], [2], [1], [2], [3]])
    p, t = np.array([1, 2, 3, 1, 2.0]), np.array([1, 2, 1, 2, 3.0])
    for labels in (tmp_path / "b", tmp_path / "t.csv"):
        for extra in ((), ("--block-rows", "2")):
            result = run("compute", "mse", tmp_path / "a", labels, "--per-sample", "--format", "json", *extra)
            assert result.exit_code == 0, result.stderr
            rec = json.loads(result.stdout)["results"][0]
            assert (rec["value"], rec["per_sample"]) == (float(np.mean((p - t) ** 2)), ((p - t) ** 2).tolist())
        result = run("compute", "mse", labels, tmp_path / "a", "--format", "value")
        assert float(result.stdout) == float(np.mean((p - t) ** 2))
    write_csv(tmp_path / "t.csv", ["t"], [[1], [2], [1], [2]])
    result = run("compute", "mse", tmp_path / "a", tmp_path / "t.csv")
    assert (result.exit_code, result.stderr) == (2, f"Error: {tmp_path}/t.csv ends after 4 rows but {tmp_path}/a "
                                                    "has more (inputs must have the same number of rows)\n")


def test_row_count_mismatch_in_a_later_block(run, tmp_path):
    write_csv(tmp_path / "a.csv", ["p"], [[i] for i in range(1000)])
    write_csv(tmp_path / "b.csv", ["t"], [[i] for i in range(999)])
    result = run("compute", "mse", tmp_path / "a.csv", tmp_path / "b.csv", "--block-rows", "100")
    assert result.exit_code == 2
    assert result.stderr == f"Error: {tmp_path}/b.csv has 999 rows but {tmp_path}/a.csv has 1000 (every input needs one row per sample)\n"


def test_error_lines_are_file_lines_in_later_blocks(run, tmp_path):
    write_csv(tmp_path / "a.csv", ["p"], [[i] for i in range(500)] + [["x"]] + [[1]] * 10)
    write_csv(tmp_path / "b.csv", ["t"], [[i] for i in range(511)])
    result = run("compute", "mse", tmp_path / "a.csv", tmp_path / "b.csv", "--block-rows", "64")
    assert result.stderr == f"Error: {tmp_path}/a.csv, line 502, column 'p': expected a number, found 'x'\n"


def test_parquet_input(run, data, tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    p, t = np.load(data / "p.npy"), np.load(data / "t.npy")
    pq.write_table(pa.table({"pred": p, "label": t, "id": [f"r{i}" for i in range(p.size)]}),
                   tmp_path / "eval.parquet", row_group_size=1000)
    res = json.loads(run("compute", "mse", f"{tmp_path}/eval.parquet:pred", f"{tmp_path}/eval.parquet:label",
                         "--format", "json", "--block-rows", "777").stdout)
    assert res["results"][0]["value"] == pytest.approx(float(np.mean((p - t) ** 2)), rel=1e-12)
    bad = run("compute", "mse", f"{tmp_path}/eval.parquet:id", f"{tmp_path}/eval.parquet:label")
    assert bad.exit_code == 2 and "column 'id'" in bad.stderr


def test_float32_dtype(run, data):
    res64 = json.loads(run("compute", "mse", data / "p.npy", data / "t.npy", "--format", "json").stdout)
    res32 = json.loads(run("compute", "mse", data / "p.npy", data / "t.npy", "--format", "json",
                           "--dtype", "float32").stdout)
    assert res32["results"][0]["value"] == pytest.approx(res64["results"][0]["value"], rel=1e-6)
    assert res32["results"][0]["value"] != res64["results"][0]["value"]


def test_fsspec_urls(run, tmp_path):
    fsspec = pytest.importorskip("fsspec")
    fs = fsspec.filesystem("memory")
    for i, (p, t) in enumerate((([1, 2], [0, 0]), ([3], [1]))):
        with fs.open(f"/u/p/part-{i}.csv", "w") as f:
            f.write("pred\n" + "\n".join(map(str, p)) + "\n")
        with fs.open(f"/u/t/part-{i}.csv", "w") as f:
            f.write("label\n" + "\n".join(map(str, t)) + "\n")
    out = run("compute", "mse", "memory:///u/p", "memory:///u/t/part-*.csv:label", "--format", "value")
    assert out.exit_code == 0 and out.stdout == f"{(1 + 4 + 4) / 3!r}\n"
    np.save(tmp_path / "x.npy", np.array([1.0, 2.0, 3.0]))
    np.save(tmp_path / "y.npy", np.zeros(3))
    out = run("compute", "mae", f"file://{tmp_path}/x.npy", f"file://{tmp_path}/y.npy", "--format", "value")
    assert out.stdout == "2.0\n"
    missing = run("compute", "mse", "memory:///u/nope.csv", "memory:///u/p")
    assert missing.exit_code == 2 and missing.stderr == "Error: memory:///u/nope.csv: no such file\n"


@pytest.mark.parametrize("how", ["{d}/parts", "file://{d}/parts", "file://{d}/parts/*.csv", "memory:///n/parts",
                                 "memory:///n/parts/data-*.csv"])
def test_shards_behind_a_url_are_read_in_natural_order(run, tmp_path, how):
    """Review 84: Dask's to_csv(name_function=str) writes data-0 ... data-11; a local directory is read
    in natural order (data-2 before data-10), a URL's in text order (data-10 before data-2), which
    paired every row by position with another's: 145.5 for 0.0097, exit 0. A URL's directory is read
    as a local one: in natural order, without _SUCCESS."""
    import fsspec

    rng = np.random.default_rng(0)
    y = rng.normal(size=12)
    p = y + rng.normal(size=12)
    (tmp_path / "parts").mkdir()
    fs = fsspec.filesystem("memory")
    for i in range(12):
        text = "pred\n" + f"{float(p[i])!r}\n"
        (tmp_path / "parts" / f"data-{i}.csv").write_text(text)
        with fs.open(f"/n/parts/data-{i}.csv", "w") as f:
            f.write(text)
    (tmp_path / "parts" / "_SUCCESS").write_text("")
    with fs.open("/n/parts/_SUCCESS", "w") as f:
        f.write("")
    np.save(tmp_path / "y.npy", y)
    out = run("compute", "mse", how.format(d=tmp_path), tmp_path / "y.npy", "--format", "value")
    assert (out.exit_code, float(out.stdout)) == (0, pytest.approx(float(np.mean((p - y) ** 2)), rel=1e-12)), out.stderr


@pytest.mark.parametrize("url", ["zip://run/p.csv::{d}/run.zip", "zip://run/p.csv::{d}/run.zip:pred",
                                 "zip://run/p.csv::file://{d}/run.zip", "tar://run/p.csv::{d}/run.tar:pred",
                                 "tar://run/part-*.csv::{d}/run.tar", "tar://run/parts::{d}/run.tar:pred"])
def test_a_member_of_an_archive_by_a_chained_url(run, tmp_path, url):
    """``zip://MEMBER::ARCHIVE`` (fsspec's chained URLs): the archive's filesystem was collected under
    the member being read (exit 3, ValueError: seek of closed file), a URL without a selector was cut
    at its last colon, and the shards of a glob or folder inside an archive lost the archive. The
    archive is one of the inputs: an output may not replace it."""
    pytest.importorskip("fsspec")
    import tarfile
    import zipfile

    members = {"run/p.csv": "pred\n1\n2\n3\n", "run/part-0.csv": "pred\n1\n2\n", "run/part-1.csv": "pred\n3\n",
               "run/parts/0.csv": "pred\n1\n", "run/parts/1.csv": "pred\n2\n3\n"}
    with zipfile.ZipFile(tmp_path / "run.zip", "w") as z:
        for name, text in members.items():
            z.writestr(name, text)
    with tarfile.open(tmp_path / "run.tar", "w") as t:
        for name, text in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(text)
            t.addfile(info, io.BytesIO(text.encode()))
    write_csv(tmp_path / "y.csv", ["label"], [(0,), (0,), (1,)])
    url = url.format(d=tmp_path)
    out = run("compute", "mse", url, tmp_path / "y.csv", "--format", "value")
    assert (out.exit_code, out.stdout) == (0, f"{(1 + 4 + 4) / 3!r}\n"), out.stderr
    archive = tmp_path / ("run.zip" if url.startswith("zip") else "run.tar")
    before = archive.read_bytes()
    out = run("compute", "mse", url, tmp_path / "y.csv", "-o", archive)
    assert (out.exit_code, out.stderr) == (2, f"Error: {archive}: is also an input ({url}); refusing to overwrite "
                                              "an input\n")
    assert archive.read_bytes() == before
    # in a gate, the archive's path is relative to the config file, as every path there is (it was read
    # from the current directory: another archive of that name there, silently)
    (tmp_path / "cfg").mkdir()
    rel = url.replace(f"::{tmp_path}/", "::../").replace(f"::file://{tmp_path}/", "::file://" + str(tmp_path) + "/")
    (tmp_path / "cfg" / "g.toml").write_text(f'[[gate]]\nloss = "mse"\ninputs = ["{rel}", "../y.csv"]\nmax = 10\n')
    out = run("check", tmp_path / "cfg" / "g.toml", "--format", "json")
    assert out.exit_code == 0, out.stderr
    assert json.loads(out.stdout)["gates"][0]["value"] == (1 + 4 + 4) / 3


@pytest.mark.parametrize("url, why", [
    # (the oldest fsspec supported does not know dir:// at all: it says so, exit 2 as well)
    ("dir://{d}/p.csv", ("fsspec cannot open this filesystem from a URL alone; name a URL it opens by itself (file://, "
                         "s3://, memory://, zip://MEMBER::ARCHIVE, tar://MEMBER::ARCHIVE) or the local file",
                         "no fsspec filesystem for this URL (Protocol not known: dir)")),
    ("zip://p.csv::{d}/none.zip", ("cannot read {d}/none.zip: No such file or directory",))])
def test_a_url_whose_filesystem_cannot_open_is_an_input_error(run, tmp_path, url, why):
    """``dir:///x`` (a filesystem that needs its options) was exit 3 (AttributeError)."""
    pytest.importorskip("fsspec")
    write_csv(tmp_path / "p.csv", ["pred"], [(1,)])
    url = url.format(d=tmp_path)
    out = run("compute", "mse", url, tmp_path / "p.csv")
    assert (out.exit_code, out.stdout) == (2, "")
    assert out.stderr in [f"Error: {url}: {w.format(d=tmp_path)}\n" for w in why]


@pytest.mark.parametrize("kind", ["normal", "few distinct", "sorted", "reversed", "periodic", "heavy tail",
                                  "infinities", "sample misleads"])
@pytest.mark.parametrize("n", [1, 2, 17, 1000, (1 << 20) + 7])
def test_exact_quantiles_are_numpys_bit_for_bit(kind, n):
    from losscli.stats.quantiles import QUANTILES, exact_quantiles

    rng = np.random.default_rng(n)
    x = {"normal": lambda: rng.normal(size=n),
         "few distinct": lambda: rng.integers(0, 5, n).astype(float),
         "sorted": lambda: np.sort(rng.random(n)),
         "reversed": lambda: np.sort(rng.random(n))[::-1].copy(),
         "periodic": lambda: np.tile(rng.random(1000), n // 1000 + 1)[:n],
         "heavy tail": lambda: rng.pareto(0.5, n),
         "infinities": lambda: np.r_[[np.inf, -np.inf], np.full(n, 2.0)][:n],
         # the strided sample sees only zeros, the rest is positive: every bracket misses
         "sample misleads": lambda: np.where(np.arange(n) % max(n // 65536, 1) == 0, 0.0, rng.random(n) + 1),
         }[kind]()
    with np.errstate(invalid="ignore"):
        expected = np.quantile(x, QUANTILES)
    if kind == "infinities":  # numpy's lerp gives NaN beside an inf (inf·0, inf - inf): an order statistic
        s = np.sort(x)  # taken whole (gamma 0, or equal neighbours) is itself; any weight on ±inf is ±inf
        for i, q in enumerate(QUANTILES):
            lo = int(np.floor(q * (n - 1)))
            a, b, gamma = s[lo], s[min(lo + 1, n - 1)], q * (n - 1) - lo
            if gamma == 0 or a == b:
                expected[i] = a
            elif np.isinf(a) or np.isinf(b):
                expected[i] = np.nan if np.isinf(a) and np.isinf(b) else a if np.isinf(a) else b
    assert np.array_equal(exact_quantiles(x.copy(), QUANTILES), expected, equal_nan=True)


def test_when_brackets_miss_the_inputs_are_read_once(run, tmp_path, monkeypatch):
    """A CSV sorted by loss (the first values' brackets miss) is parsed once: the second pass reads the per-sample values back from a temporary file, and the quantiles are
    exactly np.quantile's."""
    import losscli.engine.local as local
    import losscli.io.cache as cache_module

    monkeypatch.setattr("losscli.engine.local.QUANTILE_BUDGET", 1000)  # brackets from the smallest values
    monkeypatch.setattr(local.Spill, "HELD", 1000)  # (past it, the values go to a temporary file)
    passes = []
    real_pass = local._spilled_pass
    monkeypatch.setattr(local, "_spilled_pass", lambda *a: passes.append(1) or real_pass(*a))
    reads = []
    real = cache_module.InputCache.lockstep

    def counted(self, specs, chunk_rows, **kw):
        reads.append(list(specs))
        return real(self, specs, chunk_rows, **kw)

    monkeypatch.setattr(cache_module.InputCache, "lockstep", counted)
    p = np.sort(np.random.default_rng(5).normal(size=50_000)) * 3
    (tmp_path / "sorted.csv").write_text("p,t\n" + "".join(f"{v!r},0.0\n" for v in p.tolist()))
    result = run("compute", "mse,mae", f"{tmp_path}/sorted.csv:p", f"{tmp_path}/sorted.csv:t", "--format", "json",
                 "--block-rows", "4096")
    assert result.exit_code == 0, result.stderr
    assert len(reads) == 1 and len(passes) >= 1  # a second pass, and yet the inputs were read once
    for rec, per_sample in zip(json.loads(result.stdout)["results"], (p ** 2, np.abs(p))):
        assert [rec["stats"][k] for k in ("p50", "p90", "p99")] == np.quantile(per_sample, [0.5, 0.9, 0.99]).tolist()


def test_without_room_for_the_spill_the_inputs_are_read_again(run, tmp_path, monkeypatch):
    """TMPDIR unusable (full, or missing): the second pass reads the inputs; the same exact
    quantiles, no error."""
    import tempfile

    import losscli.engine.local as local

    monkeypatch.setattr("losscli.engine.local.QUANTILE_BUDGET", 1000)
    monkeypatch.setattr(local.Spill, "HELD", 1000)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "no such directory"))
    p = np.sort(np.random.default_rng(6).normal(size=20_000))
    (tmp_path / "sorted.csv").write_text("p,t\n" + "".join(f"{v!r},0.0\n" for v in p.tolist()))
    result = run("compute", "mse", f"{tmp_path}/sorted.csv:p", f"{tmp_path}/sorted.csv:t", "--format", "json",
                 "--block-rows", "4096")
    assert result.exit_code == 0, result.stderr
    rec = json.loads(result.stdout)["results"][0]
    assert [rec["stats"][k] for k in ("p50", "p90", "p99")] == np.quantile(p ** 2, [0.5, 0.9, 0.99]).tolist()


def test_progress_bar_goes_to_a_terminal_stderr_only(tmp_path):
    """A rich bar on stderr when stderr is a terminal (rows, rows/s, ETA); stdout stays the bare value;
    with stderr in a pipe, nothing at all."""
    import os
    import subprocess
    import sys

    from .terminal import ESCAPE, on_terminal

    rng = np.random.default_rng(3)
    np.save(tmp_path / "p.npy", rng.normal(size=200_000))
    np.save(tmp_path / "t.npy", rng.normal(size=200_000))
    cmd = [sys.executable, "-m", "losscli", "compute", "mse", str(tmp_path / "p.npy"), str(tmp_path / "t.npy"),
           "--format", "value", "--block-rows", "2000"]
    code, seen, stdout = on_terminal(cmd, streams="stderr")
    assert code == 0
    assert stdout.strip() == repr(float(np.mean((np.load(tmp_path / "p.npy") - np.load(tmp_path / "t.npy")) ** 2)))
    assert "rows" in seen and "/200000 rows" in seen.replace(",", "") and " rows/s" in seen
    assert re.search(r"rows/s \d+:\d\d:\d\d", ESCAPE.sub("", seen))  # the time left
    # NO_COLOR: the same bar on one line redrawn after a carriage return, without any escape code
    # (long enough a run for it to be redrawn with a speed: 10 times a second)
    np.save(tmp_path / "p2.npy", rng.normal(size=3_000_000))
    np.save(tmp_path / "t2.npy", rng.normal(size=3_000_000))
    slow = [*cmd[:5], str(tmp_path / "p2.npy"), str(tmp_path / "t2.npy"), *cmd[7:]]
    code, seen, stdout = on_terminal(slow, streams="stderr", env={"NO_COLOR": "1"})
    assert code == 0 and float(stdout) > 0
    assert "\x1b" not in seen and "\r" in seen and " rows/s" in seen and "/3000000 rows" in seen.replace(",", "")
    assert seen.endswith("\r") and seen.split("\r")[-2].strip() == ""  # wiped at the end
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    piped = subprocess.run(cmd, capture_output=True, env=env, timeout=120)
    assert piped.returncode == 0 and piped.stderr == b""


def test_sketched_quantiles_are_said_in_every_format(run, tmp_path):
    """Quantiles sketched (standard input beyond --exact-quantiles) were marked in the JSON only; the
    table, CSV and markdown printed 17 digits of a p50 right to 3 (review 65 F3). A note on stderr
    says so where the output has no place for it."""
    rng = np.random.default_rng(6)
    a, b = rng.normal(size=5000), rng.normal(size=5000)
    text = "pred,label\n" + "".join(f"{float(x)!r},{float(y)!r}\n" for x, y in zip(a, b))
    for fmt in ("table", "csv", "markdown", "json"):
        out = run("compute", "mse", "-:pred", "-:label", "--exact-quantiles", 100, "--format", fmt, input=text)
        assert out.exit_code == 0, out.stderr
        said = "losscli: note: p50, p90 and p99 are sketched, not exact" in out.stderr
        assert said == (fmt != "json"), (fmt, out.stderr)
    out = run("compute", "mse", "-:pred", "-:label", "--format", "csv", input=text)
    assert "sketched" not in out.stderr
