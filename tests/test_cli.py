"""The CLI end to end through CliRunner: commands, formats, selectors, stdin, exit codes, errors."""

import csv
import io
import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from losscli import list_losses
from losscli.cli import main

from .conftest import write_csv


@pytest.fixture
def reg(tmp_path):
    write_csv(tmp_path / "preds.csv", ["pred"], [[1], [2], [3]])
    write_csv(tmp_path / "labels.csv", ["label"], [[0], [1], [5]])
    write_csv(tmp_path / "eval.csv", ["id", "pred", "label"], [["a", 1, 0], ["b", 2, 1], ["c", 3, 5]])
    return tmp_path


@pytest.fixture
def multi(tmp_path):
    logits = np.array([[4.0, -4.0, 3.0], [2.0, 3.0, 4.0]])
    np.save(tmp_path / "logits.npy", logits)
    np.savez(tmp_path / "eval.npz", logits=logits, labels=np.array([2, 1]))
    write_csv(tmp_path / "idx.csv", ["label"], [[2], [1]])
    write_csv(tmp_path / "onehot.csv", ["y0", "y1", "y2"], [[0, 0, 1], [0, 1, 0]])
    write_csv(tmp_path / "probs.csv", ["p0", "p1", "p2"], [[0.2, 0.5, 0.3], [0.1, 0.1, 0.8]])
    return tmp_path


# -- commands and help ---------------------------------------------------------------------------
def test_every_command_has_help(run):
    for name, cmd in main.commands.items():
        assert cmd.help, name
        result = run(name, "--help")
        assert result.exit_code == 0 and "Usage:" in result.stdout


def test_version_reads_package_metadata(run):
    from importlib.metadata import version

    result = run("--version")
    assert result.exit_code == 0
    assert result.stdout == f"losscli {version('losscli')}\n"


def test_python_dash_m_works():
    out = subprocess.run([sys.executable, "-m", "losscli", "list", "--format", "names"],
                         capture_output=True, text=True, check=True)
    assert "mse\n" in out.stdout and out.stderr == ""


def test_list_table_and_json(run):
    result = run("list")
    assert result.exit_code == 0
    for name in ("mse", "huber", "softmax_ce", "delta=1"):
        assert name in result.stdout
    data = json.loads(run("list", "--format", "json").stdout)
    huber = next(l for l in data["losses"] if l["name"] == "huber")
    assert huber["params"]["delta"] == {"default": 1.0, "type": "float", "constraint": ">0",
                                        "choices": None, "help": "where the quadratic turns linear"}
    assert [i["name"] for i in huber["inputs"]] == ["predictions", "labels"]
    names = run("list", "--category", "regression", "--format", "names").stdout.split()
    assert names[:5] == ["mse", "rmse", "l2", "mae", "huber"]
    assert "softmax_ce" not in names and len(names) == len(list_losses("regression"))


def test_info_text_and_json(run):
    result = run("info", "smooth-l1")
    assert result.exit_code == 0
    assert "SmoothL1Loss" in result.stdout and "beta" in result.stdout and "Girshick" in result.stdout
    data = json.loads(run("info", "softmax_cross_entropy", "--format", "json").stdout)
    assert data["name"] == "softmax_ce" and data["coupling"] == "row"
    assert data["inputs"][1]["shape"] == "(N,) or (N, C)"


# -- compute ---------------------------------------------------------------------------------------
def test_compute_several_losses_json_schema(run_json, reg):
    data = run_json("compute", "mse,mae,huber", reg / "preds.csv", reg / "labels.csv", "--top", "2")
    assert [r["loss"] for r in data["results"]] == ["mse", "mae", "huber"]
    mse = data["results"][0]
    assert set(mse) == {"loss", "params", "reduction", "value", "count", "omitted", "stats", "worst"}
    assert mse["value"] == 2.0 and mse["count"] == 3 and mse["reduction"] == "mean"
    assert set(mse["stats"]) == {"mean", "std", "min", "p50", "p90", "p99", "max"}
    assert mse["worst"] == [{"index": 2, "loss": 4.0}, {"index": 0, "loss": 1.0}]
    assert data["results"][2]["params"] == {"delta": 1.0}


def test_compute_table_is_plain_when_piped(run, reg):
    result = run("compute", "mse", reg / "preds.csv", reg / "labels.csv")
    assert result.exit_code == 0
    assert "\x1b[" not in result.stdout
    assert "mse" in result.stdout and "worst 3 samples" in result.stdout
    assert result.stderr == ""


def test_selectors_by_name_and_index(run_json, reg):
    by_name = run_json("compute", "mse", f"{reg}/eval.csv:pred", f"{reg}/eval.csv:label")
    by_index = run_json("compute", "mse", f"{reg}/eval.csv:1", f"{reg}/eval.csv:2")
    assert by_name["results"][0]["value"] == by_index["results"][0]["value"] == 2.0


def test_multiclass_forms_agree(run, multi):
    values = set()
    for args in ([f"{multi}/logits.npy", f"{multi}/idx.csv"], [f"{multi}/logits.npy", f"{multi}/onehot.csv"],
                 [f"{multi}/eval.npz:logits", f"{multi}/eval.npz:labels"]):
        result = run("compute", "softmax_ce", *args, "--format", "value")
        assert result.exit_code == 0, result.stderr
        values.add(result.stdout)
    assert len(values) == 1
    result = run("compute", "ce", f"{multi}/probs.csv:0-2", f"{multi}/idx.csv", "--format", "value")
    assert float(result.stdout) == pytest.approx((-np.log(0.3) - np.log(0.1)) / 2)


def test_stdin_with_selectors(run, reg):
    text = (reg / "eval.csv").read_text()
    result = run("compute", "mse", "-:pred", "-:label", "--format", "value", input=text)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "2.0\n"


def test_formats_csv_ndjson_value(run, reg):
    args = ["compute", "mse,mae", reg / "preds.csv", reg / "labels.csv"]
    rows = list(csv.DictReader(io.StringIO(run(*args, "--format", "csv").stdout)))
    assert [r["loss"] for r in rows] == ["mse", "mae"] and float(rows[0]["value"]) == 2.0
    lines = run(*args, "--format", "ndjson").stdout.splitlines()
    assert [json.loads(l)["loss"] for l in lines] == ["mse", "mae"]
    assert run(*args, "--format", "value").stdout == "2.0\n1.3333333333333333\n"
    per = list(csv.reader(io.StringIO(run(*args, "--format", "csv", "--per-sample").stdout)))
    assert per == [["index", "mse", "mae"], ["0", "1.0", "1.0"], ["1", "1.0", "1.0"], ["2", "4.0", "2.0"]]


def test_reductions_weights_and_per_sample(run_json, run, reg):
    write_csv(reg / "w.csv", ["w"], [[1], [1], [2]])
    mean_w = run_json("compute", "mse", reg / "preds.csv", reg / "labels.csv", "--weights", reg / "w.csv")
    assert mean_w["results"][0]["value"] == pytest.approx((1 + 1 + 8) / 4)
    total = run_json("compute", "mse", reg / "preds.csv", reg / "labels.csv", "--reduction", "sum")
    assert total["results"][0]["value"] == 6.0
    none = run_json("compute", "mse", reg / "preds.csv", reg / "labels.csv", "--reduction", "none")
    assert none["results"][0]["value"] is None and none["results"][0]["per_sample"] == [1.0, 1.0, 4.0]
    assert run("compute", "mse", reg / "preds.csv", reg / "labels.csv", "--reduction", "none",
               "--format", "value").stdout == "1.0\n1.0\n4.0\n"
    per = run_json("compute", "mse", reg / "preds.csv", reg / "labels.csv", "--per-sample")
    assert per["results"][0]["per_sample"] == [1.0, 1.0, 4.0]


def test_params_global_and_targeted(run_json, reg):
    data = run_json("compute", "huber,smooth_l1", reg / "preds.csv", reg / "labels.csv",
                    "-p", "huber.delta=2", "-p", "beta=0")
    assert data["results"][0]["params"] == {"delta": 2.0}
    assert data["results"][1]["params"] == {"beta": 0.0}
    assert data["results"][1]["value"] == pytest.approx(4 / 3)  # beta=0 is L1


def test_fail_above_gate(run, reg):
    args = ["compute", "mse", reg / "preds.csv", reg / "labels.csv", "--format", "value"]
    ok = run(*args, "--fail-above", "2.0")
    assert ok.exit_code == 0 and ok.stdout == "2.0\n"
    bad = run(*args, "--fail-above", "1.5")
    assert bad.exit_code == 1 and bad.stdout == "2.0\n"
    assert bad.stderr == "losscli: mse: mean loss 2 is above --fail-above 1.5\n"


def test_output_and_save_grad(run, reg):
    out, grad = reg / "out.json", reg / "grad.npz"
    result = run("compute", "mse", reg / "preds.csv", reg / "labels.csv", "--format", "json",
                 "-o", out, "--save-grad", grad)
    assert result.exit_code == 0 and result.stdout == ""
    assert json.loads(out.read_text())["results"][0]["value"] == 2.0
    with np.load(grad) as g:
        assert g.files == ["predictions"]
        np.testing.assert_allclose(g["predictions"], [2 * 1 / 3, 2 * 1 / 3, 2 * -2 / 3])
    run("compute", "mse,mae", reg / "preds.csv", reg / "labels.csv", "--save-grad", grad)
    with np.load(grad) as g:
        assert sorted(g.files) == ["mae.predictions", "mse.predictions"]
    assert [p.name for p in reg.iterdir() if p.name.startswith(".")] == []  # no temp files left


def test_table_output_file_is_plain_text(run, reg):
    out = reg / "report.txt"
    assert run("compute", "mse", reg / "preds.csv", reg / "labels.csv", "-o", out).exit_code == 0
    text = out.read_text()
    assert "mse" in text and "\x1b[" not in text


# -- errors: exit 2, one line on stderr, nothing on stdout -------------------------------------------
def test_nan_policy_omit_drops_the_rows(run, reg):
    write_csv(reg / "gap.csv", ["pred"], [[1], [""], [3]])
    result = run("compute", "mse", reg / "gap.csv", reg / "labels.csv", "--nan-policy", "omit", "--format", "json")
    assert result.exit_code == 0
    rec = json.loads(result.stdout)["results"][0]
    assert rec["count"] == 2 and rec["omitted"] == 1 and rec["value"] == 2.5
    assert rec["worst"][0] == {"index": 2, "loss": 4.0}
    assert "dropped 1 of 3 rows" in result.stderr


@pytest.mark.parametrize("fmt", ["json", "ndjson"])
def test_per_sample_values_under_omit_name_their_rows_and_keys(run, tmp_path, fmt):
    """JSON's per_sample listed the kept rows' values alone, so a reader pairing them with the rows by
    position put row 2's loss on row 1. Each value's row (and with --on its key) is beside it, as the
    per-sample CSV has it."""
    (tmp_path / "p.csv").write_text("id,p\nb,1.0\na,\nc,3.0\nd,5.0\n")  # (row 1 has no value)
    (tmp_path / "y.csv").write_text("id,y\nd,9.0\na,0.0\nc,0.0\nb,0.0\n")
    out = run("compute", "mse,mae", tmp_path / "p.csv", tmp_path / "y.csv", "--on", "id", "--nan-policy", "omit",
              "--per-sample", "--format", fmt)
    assert out.exit_code == 0, out.stderr
    records = [json.loads(line) for line in out.stdout.splitlines()] if fmt == "ndjson" else json.loads(out.stdout)["results"]
    assert [(r["loss"], r["per_sample_index"], r["per_sample_key"], r["per_sample"]) for r in records] == [
        ("mse", [0, 2, 3], ["b", "c", "d"], [1.0, 9.0, 16.0]), ("mae", [0, 2, 3], ["b", "c", "d"], [1.0, 3.0, 4.0])]
    csv_rows = run("compute", "mse,mae", tmp_path / "p.csv", tmp_path / "y.csv", "--on", "id", "--nan-policy", "omit",
                   "--per-sample", "--format", "csv").stdout.splitlines()
    assert csv_rows == ["index,key,mse,mae", "0,b,1.0,1.0", "2,c,9.0,3.0", "3,d,16.0,4.0"]


def _write_frame(frame, path, fmt: str) -> None:
    if fmt == "csv":
        import warnings

        with warnings.catch_warnings():  # (pandas 2.0 with numpy 1.24 warns casting NaN to text)
            warnings.simplefilter("ignore", RuntimeWarning)
            frame.to_csv(path, index=False)
    elif fmt == "parquet":
        frame.to_parquet(path, row_group_size=4)
    else:
        np.save(path, frame.to_numpy())


@pytest.mark.parametrize("fmt", ["csv", "npy", "parquet"])
@pytest.mark.parametrize("where", ["first block", "middle block"])
@pytest.mark.parametrize("engine", ["local", "dask"])
def test_nan_policy_omit_with_a_block_of_nan_only(run, tmp_path, fmt, where, engine):
    """A block whose every row --nan-policy omit drops is no error: the run was refused with "every
    one of the 4 rows has a NaN" while 8 of 14 rows held values. The refusal stands where every row
    of every block is dropped, counting them all."""
    p = np.linspace(-1.0, 1.0, 14)
    y = np.cos(np.arange(14.0))
    gap = slice(0, 4) if where == "first block" else slice(4, 10)
    p[gap] = np.nan
    path = tmp_path / f"d.{fmt}"
    _write_frame(pd.DataFrame({"p": p, "y": y}), path, fmt)
    cols = ("0", "1") if fmt == "npy" else ("p", "y")
    args = ["compute", "mse", f"{path}:{cols[0]}", f"{path}:{cols[1]}", "--nan-policy", "omit", "--block-rows", "4",
            "--engine", engine]
    saving = ("--save-grad", tmp_path / "g.npz") if engine == "local" else ()  # (not with Dask)
    out = run(*args, "--format", "json", "--per-sample", *saving)
    assert out.exit_code == 0, out.stderr
    rec = json.loads(out.stdout)["results"][0]
    keep = ~np.isnan(p)
    assert (rec["count"], rec["omitted"]) == (int(keep.sum()), int((~keep).sum()))
    # each per-sample value names its row: the omitted ones are left out
    assert rec["per_sample_index"] == np.flatnonzero(keep).tolist()
    np.testing.assert_allclose(rec["per_sample"], (p[keep] - y[keep]) ** 2, rtol=1e-15)
    assert rec["value"] == pytest.approx(float(np.mean((p[keep] - y[keep]) ** 2)), rel=1e-15)
    assert out.stderr == f"losscli: warning: --nan-policy omit dropped {(~keep).sum()} of 14 rows with NaN or infinite values\n"
    if saving:
        saved = np.load(tmp_path / "g.npz")["predictions"]
        np.testing.assert_array_equal(np.isnan(saved), ~keep)
        np.testing.assert_allclose(saved[keep], 2 * (p[keep] - y[keep]) / keep.sum(), rtol=1e-15)
    _write_frame(pd.DataFrame({"p": np.nan, "y": y}), path, fmt)
    out = run(*args)
    assert (out.exit_code, out.stderr) == (2, "Error: every one of the 14 rows has a NaN or infinite value; nothing "
                                              "is left to evaluate after --nan-policy omit\n")


def test_debug_shows_traceback(run, reg):
    result = run("--debug", "compute", "mse", reg / "nope.csv", reg / "labels.csv")
    assert result.exit_code == 2 and "Traceback" in result.stderr


def test_bare_losscli_shows_the_help_as_help_does(run):
    """No command: the help itself on stderr (stdout stays clean), laid out as --help lays it
    out, exit 2; not folded into one error line."""
    bare, helped = run(), run("--help")
    assert (bare.exit_code, bare.stdout) == (2, "")
    assert bare.stderr == helped.stdout
    assert bare.stderr.startswith("Usage: losscli [OPTIONS] COMMAND [ARGS]...\n\n")


def test_no_help_text_shows_a_placeholder_bound(run):
    """Every command's --help states real defaults and bounds: never ``None`` (an unbounded
    range once showed ``[x<=None]``)."""
    for name in main.commands:
        text = run(name, "--help").stdout
        assert "None" not in text, (name, [line for line in text.splitlines() if "None" in line])


def test_a_value_that_fails_a_bound_is_never_printed_equal_to_it(run, tmp_path):
    """mse 0.29000000004 against --fail-above 0.29 (or a gate's max = 0.29) was printed 0.29 in the
    message, the table and markdown beside a failed verdict (review 65 F4): a failing value is
    printed with the digits that set it apart from its bound."""
    (tmp_path / "p.csv").write_text(f"pred\n{0.29000000004 ** 0.5!r}\n")
    (tmp_path / "y.csv").write_text("label\n0\n")
    (tmp_path / "g.toml").write_text('[[gate]]\nname = "edge"\nloss = "mse"\ninputs = ["p.csv", "y.csv"]\nmax = 0.29\n')
    out = run("compute", "mse", tmp_path / "p.csv", tmp_path / "y.csv", "--fail-above", 0.29, "--format", "value")
    assert out.exit_code == 1
    assert out.stderr == "losscli: mse: mean loss 0.29000000004 is above --fail-above 0.29\n"
    for fmt in ("table", "markdown"):
        for args in (["compute", "mse", tmp_path / "p.csv", tmp_path / "y.csv", "--fail-above", 0.29],
                     ["check", tmp_path / "g.toml"]):
            out = run(*args, "--format", fmt)
            assert out.exit_code == 1 and "0.29000000004" in out.stdout, out.stdout
    out = run("compute", "mse", tmp_path / "p.csv", tmp_path / "y.csv", "--fail-above", 0.3)
    assert out.exit_code == 0 and "| 0.29 " in out.stdout  # (a value that passes keeps its short form)
    # nor rounded to a value that is above its bound by far more than it is: a mean 1 ulp above
    # 1.658058893250862 was printed 1.65806, which reads 1.1e-6 above it, a slice's too
    value = float(np.nextafter(1.658058893250862, 2.0))
    (tmp_path / "q.csv").write_text(f"pred,label,k\n{value!r},0,a\n")
    q = tmp_path / "q.csv"
    out = run("compute", "mae", f"{q}:pred", f"{q}:label", "--by", "k", "--min-slice-size", 1, "--fail-above",
              1.658058893250862, "--format", "value")
    assert out.exit_code == 1 and out.stderr.splitlines() == [
        f"losscli: mae: {what} 1.6580588932508622 is above --fail-above 1.658058893250862"
        for what in ("mean loss", "slice k=a: mean loss")]


def test_check_gates_reading_standard_input_share_one_read_or_are_refused(run, tmp_path):
    """Review 87: two gates reading standard input (-:pred) with other reading keys (header = "yes" in
    one): the second found it read already and blamed the data ('gate 2: <stdin>: empty file'). Gates
    that read it alike share the one read; read otherwise, the config is refused before anything is
    read, saying why. And -:pred is standard input, not a file named - beside the config."""
    text = "pred,label\n1,2\n3,3\n2,0\n"
    (tmp_path / "sub").mkdir()
    gate = '[[gate]]\nloss = "{}"\ninputs = ["-:pred", "-:label"]\nmax = 5\n{}'
    (tmp_path / "sub" / "same.toml").write_text(gate.format("mse", "") + "\n" + gate.format("mae", ""))
    out = run("check", tmp_path / "sub" / "same.toml", "--format", "json", input=text)
    assert out.exit_code == 0, out.stderr
    assert [g["value"] for g in json.loads(out.stdout)["gates"]] == [5 / 3, 1.0]
    (tmp_path / "sub" / "other.toml").write_text(gate.format("mse", "") + "\n" + gate.format("mae", 'header = "yes"\n'))
    out = run("check", tmp_path / "sub" / "other.toml", input=text)
    label = f"{tmp_path / 'sub' / 'other.toml'}: gate"
    assert (out.exit_code, out.stdout, out.stderr) == (2, "", (
        f"Error: standard input is read by {label} 1 and {label} 2 with other reading keys (header, on, by, ...), and "
        "it can be read once: write it to a file and name the file in the gates, or read it alike in every gate\n"))
