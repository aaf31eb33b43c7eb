"""plot draws what the command line names, or says why not: a root loss is drawn as the value one
sample gets (review 109 F6), the axis is finite and inside the range asked (F7), a loss whose probe
cannot run is not taken for a function of the residual (F8), every loss of the catalogue is drawn or
refused in one line (F10), and an output or parameter plot cannot honour is refused (minor)."""

import csv
import io
import json
import warnings

import numpy as np
import pytest


def _csv(run, *args):
    out = run("plot", *args, "--format", "csv")
    assert out.exit_code == 0, out.stderr
    return list(csv.DictReader(io.StringIO(out.stdout)))


def _ours(seen) -> list[str]:
    """The warnings a run let through, but a plotting library's own deprecations at its import
    (matplotlib 3.7 beside a newer pyparsing: 'parseString' deprecated)."""
    return [str(w.message) for w in seen if not issubclass(w.category, (DeprecationWarning, PendingDeprecationWarning))]


def _refused(result) -> str:
    """The one line of a refusal (exit 2, no traceback, nothing on standard output)."""
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr)
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1, result.stderr
    assert "internal error" not in result.stderr and result.stdout == ""
    return result.stderr.strip()


# -- F6: a root loss is drawn as one sample's reported value ------------------------------------------
def test_rmse_is_drawn_as_the_value_of_one_sample(run, tmp_path):
    """rmse of one residual r is √(r²) = |r| and its gradient sign(r) (0 at r = 0): what compute
    reports and --save-grad writes for one sample, not mse's r² and 2r."""
    rows = _csv(run, "rmse", "--range", "-3:3", "--points", "3")
    assert [(float(r["x"]), float(r["loss_value"]), float(r["derivative"])) for r in rows] == [
        (-3.0, 3.0, -1.0), (0.0, 0.0, 0.0), (3.0, 3.0, 1.0)]
    for r in (-3.0, 0.0, 2.5):  # the same as compute of one sample at prediction 0, label r
        (tmp_path / "one.csv").write_text(f"p,y\n0,{r}\n")
        grad = tmp_path / "g.npy"
        out = run("compute", "rmse", f"{tmp_path / 'one.csv'}:p", f"{tmp_path / 'one.csv'}:y", "--format", "value",
                  "--save-grad", grad)
        assert out.exit_code == 0, out.stderr
        drawn = _csv(run, "rmse", "--range", f"{r}:{r + 1}", "--points", "2")[0]
        assert float(drawn["loss_value"]) == float(out.stdout) == abs(r)
        assert float(drawn["derivative"]) == -float(np.load(grad)[0])  # dL/dr = -dL/df
    data = json.loads(run("plot", "rmse,mse", "--format", "json", "--points", "5").stdout)
    rmse, mse = data["series"]
    assert rmse["legend"] == "rmse" and rmse["loss_values"] == [3.0, 1.5, 0.0, 1.5, 3.0]
    assert mse["loss_values"] == [9.0, 2.25, 0.0, 2.25, 9.0]


# -- F7a: a finite range gives finite points; an infinite one is refused -------------------------------
@pytest.mark.parametrize("span", ["-inf:inf", "-inf:0", "0:inf", "nan:1", "0:nan", "-1e309:0"])
def test_a_range_with_an_end_that_is_not_finite_is_refused(run, span):
    assert _refused(run("plot", "mse", f"--range={span}", "--format", "json")) == (
        f"Error: --range: expected finite LO < HI, got {span!r}")


@pytest.mark.parametrize("span", ["-1e308:1.7e308", "-1.7976931348623157e308:1.7976931348623157e308",
                                  "1.7e308:1.7976931348623157e308", "-1e-320:1e-320"])
def test_a_huge_or_tiny_finite_range_gives_finite_points_in_it(run, span):
    lo, hi = (float(v) for v in span.split(":"))
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        rows = _csv(run, "mse,mae", f"--range={span}", "--points", "5")
        out = run("plot", "mse", f"--range={span}", "--points", "5", "--format", "json")
        chart = run("plot", "mse,mae", f"--range={span}", "--points", "50")
    assert not _ours(seen)
    x = [float(r["x"]) for r in rows if r["loss"] == "mse"]
    assert x[0] == lo and x[-1] == hi and all(lo <= a <= b <= hi for a, b in zip(x, x[1:]))
    with np.errstate(over="ignore"):
        squares = [float(np.float64(v) ** 2) for v in x]
    for r in rows:
        want = abs(float(r["x"])) if r["loss"] == "mae" else squares[x.index(float(r["x"]))]
        assert float(r["loss_value"]) == want  # (inf where r² overflows: the CSV writes inf, as compute's)
    assert out.exit_code == 0, out.stderr
    series = json.loads(out.stdout)["series"][0]
    assert series["x"] == x  # JSON writes a loss beyond float64 as null, as every losscli JSON
    assert series["loss_values"] == [v if np.isfinite(v) else None for v in squares]
    assert _refused(chart) == (f"Error: --range {span}: a chart cannot draw an axis with points beyond ±1e+300 or, "
                               "but 0, below 1e-290 in size: narrow it, or write the points with --format csv "
                               "or json")


@pytest.mark.parametrize("args", [["mse", "--range=-1.3e154:1.3e154"], ["exponential", "--range=-709:0"],
                                  ["mse,mae", "--range=1:1.0000000000000004"], ["mae", "--range=1e-200:2e-200"],
                                  ["mse", "--range=0:1e-160"], ["exponential", "--range=-250:0"],
                                  ["mse", "--range=-1e300:1e300"], ["exponential", "--range=1e-5:1.00000000001e-5"]])
def test_a_chart_of_huge_or_tiny_values_is_drawn(run, args, tmp_path):
    """Values beyond what plotext and matplotlib draw are said not drawn (as inf is not), those near
    float64's smallest drawn at 0; ticks of huge values are written short (2.6e+154, not 155 digits).
    A derivative 1e100 times its clipped view drew for ever (plotext walks every cell of a line:
    exponential at -250:0, review 111 F1); ±1e300 and a span of 1e-16 relative are drawn (#2, #4)."""
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        chart = run("plot", *args, "--points", "50")
        image = run("plot", *args, "--points", "50", "-o", tmp_path / "c.png") if args[0] != "mse,mae" else chart
    assert not _ours(seen)
    assert chart.exit_code == 0 and chart.stderr == "", chart.stderr
    assert image.exit_code == 0 and image.stderr == "", image.stderr
    assert max(len(line) for line in chart.stdout.splitlines()) <= 100
    assert chart.stdout.count("*") > 40  # the curves are drawn, not squeezed out by their tick labels
    if args[1] in ("--range=-1.3e154:1.3e154",):
        assert "loss L(r): no value to draw; values beyond ±1e+300 not drawn" in chart.stdout
        assert "2.6e+154|" in chart.stdout  # (short ticks: plotext writes 155 digits)
    if args == ["exponential", "--range=-709:0"]:
        assert "loss L(m); values beyond ±1e+300 not drawn" in chart.stdout
    if args[1] == "--range=0:1e-160":
        assert "loss L(r); values below 1e-290 in size drawn at 0" in chart.stdout


# -- F7b: a probability axis is never drawn outside the range asked ------------------------------------
@pytest.mark.parametrize("span, shown", [("0:1e-7", "0:1e-07"), ("1e-320:2e-320", "1e-320:2e-320"),
                                         ("0:1e-6", "0:1e-06"), ("0.9999995:1", "0.9999995:1"),
                                         ("0.9999999:1", "0.9999999:1")])
def test_a_probability_range_outside_its_drawn_ends_is_refused(run, span, shown):
    assert _refused(run("plot", "bce", "--range", span, "--points", "3", "--format", "csv")) == (
        f"Error: --range: bce is drawn against a probability, from 1e-06 to 1 - 1e-06; {shown} has no point "
        "there: give LO < HI with HI > 1e-06 and LO < 1 - 1e-06")


def test_a_probability_range_is_drawn_inside_what_was_asked(run):
    for args in (["bce", "--range", "0:0.5"], ["bce", "--range", "0.5:1"], ["focal", "--range", "0:1e-5"]):
        rows = _csv(run, *args, "--points", "3")
        lo, hi = (float(v) for v in args[2].split(":"))
        for series in {r["series"] for r in rows}:
            x = [float(r["x"]) for r in rows if r["series"] == series]
            assert len(x) == 3 and all(lo <= a < b <= hi for a, b in zip(x, x[1:])), x


# -- F8: a probe that cannot run is not a yes ----------------------------------------------------------
REL = """
import numpy as np
from losscli import register_loss
@register_loss("rel_err", category="regression")
def rel_err(predictions, labels):
    if np.any(labels <= 0): raise ValueError("labels must be positive")
    return np.abs(predictions - labels) / labels
@rel_err.gradient
def _(predictions, labels): return {"predictions": np.sign(predictions - labels) / labels}
@register_loss("nan_err", category="regression")
def nan_err(predictions, labels):
    return np.full(predictions.shape, np.nan)
"""


def test_a_loss_whose_residual_probe_raises_is_refused(run, tmp_path):
    (tmp_path / "rel.py").write_text(REL)
    plugin = ("--plugin", tmp_path / "rel.py")
    assert _refused(run(*plugin, "plot", "rel_err", "--points", "3", "--format", "csv")) == (
        "Error: plot: cannot tell whether rel_err is a function of the residual y - f alone: at prediction c, "
        "label c + r (r from -3 to 3) it raised ValueError: labels must be positive")
    # where the probe cannot run, the residuals drawn are probed: there rel_err is seen to depend on the label
    assert _refused(run(*plugin, "plot", "rel_err", "--range", "1:3", "--points", "3", "--format", "csv")) == (
        "Error: plot: rel_err is not a function of the residual y - f alone: it has no curve of the residual "
        "with these parameters")
    assert _refused(run(*plugin, "plot", "nan_err", "--format", "csv")) == (
        "Error: plot: cannot tell whether nan_err is a function of the residual y - f alone: at prediction c, "
        "label c + r (r from -3 to 3) it gave no finite value")


GAP = """
import numpy as np
from losscli import register_loss

@register_loss("gap_raise", category="regression")
def gap_raise(predictions, labels):
    if np.any(labels < predictions):
        raise ValueError("labels must be >= predictions")
    return np.sqrt(labels - predictions)

@gap_raise.gradient
def _(predictions, labels):
    return {"predictions": -0.5 / np.sqrt(labels - predictions)}
"""


def test_a_loss_of_the_residual_defined_only_on_the_range_drawn_is_drawn(run, tmp_path):
    """sqrt(y - f) raises for y < f: the probe's residuals, -3 to 3, cannot tell, the range drawn can
    (review 111 #5: refused since the probe's refusal, drawn before it)."""
    (tmp_path / "gap.py").write_text(GAP)
    out = run("--plugin", tmp_path / "gap.py", "plot", "gap_raise", "--range", "0.5:3", "--points", "3", "--format", "csv")
    assert out.exit_code == 0, out.stderr
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    assert [(float(r["x"]), float(r["loss_value"]), float(r["derivative"])) for r in rows] == [
        (x, np.sqrt(x), 0.5 / np.sqrt(x)) for x in (0.5, 1.75, 3.0)]


def test_a_root_losss_derivative_is_nan_where_its_value_overflows(run):
    rows = _csv(run, "rmse", "--range=1e154:1.5e154", "--points", "3")
    assert [(r["loss_value"], r["derivative"]) for r in rows] == [("1e+154", "1.0"), ("1.2500000000000002e+154", "1.0"),
                                                                 ("inf", "nan")]


# -- F10: every loss of the catalogue is drawn, or refused in one line --------------------------------
@pytest.mark.parametrize("name", ["multi_margin", "categorical_hinge", "multilabel_margin"])
def test_losses_of_class_score_rows_are_refused_and_not_listed(run, name):
    assert _refused(run("plot", name)).startswith(
        f"Error: plot: {name} takes (N, C) rows of class scores: it has no 1-D natural axis (plottable: ")
    listed = _refused(run("plot", "ranking_softmax"))
    assert name not in listed.split("plottable: ")[1]


def test_every_loss_of_the_catalogue_is_drawn_or_refused(run):
    names = run("list", "--format", "names").stdout.split()
    assert len(names) > 50
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        for name in names:
            for fmt in ([], ["--format", "csv"]):
                out = run("plot", name, *fmt)
                assert "Traceback" not in out.stderr and "internal error" not in out.stderr, (name, out.stderr)
                assert out.exit_code in (0, 2), (name, out.exit_code)
                if out.exit_code == 2:
                    _refused(out)
                else:
                    assert out.stderr == "", (name, out.stderr)
    assert not [(str(w.message), w.filename) for w in seen]


# -- minor: an output or a parameter plot cannot honour ------------------------------------------------
@pytest.mark.parametrize("suffix, what", [(".tiff", "an image"), (".tif", "an image"), (".bmp", "an image"),
                                          (".html", "a web page"), (".webp", "an image")])
def test_an_output_suffix_plot_does_not_write_is_refused(run, tmp_path, suffix, what):
    out = tmp_path / f"x{suffix}"
    assert _refused(run("plot", "mse", "-o", out)).startswith(
        f"Error: -o {out}: its name ({suffix}) says {what}, which plot does not write; ")
    assert not out.exists()


@pytest.mark.parametrize("param", ["mode=threshold", "mode=argmax", "threshold=0.3"])
def test_a_zero_one_parameter_the_margin_cannot_honour_is_refused(run, param):
    assert _refused(run("plot", "zero_one", "-p", param, "--format", "csv")) == (
        f"Error: plot: zero_one is drawn against the margin, with mode=sign; -p {param} does not apply to a margin: "
        "leave it out")
    assert _refused(run("plot", "zero_one", "--sweep", param.replace("=", "=sign,") if param.startswith("mode")
                        else "threshold=0.3,0.5", "--format", "csv")).startswith("Error: plot: zero_one is drawn")
    assert run("plot", "zero_one", "-p", "mode=sign", "--format", "csv").exit_code == 0
