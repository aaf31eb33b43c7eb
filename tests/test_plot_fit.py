"""plot: sampled points equal the loss functions, images are valid; fit: gradient descent recovers
lines, is robust with robust losses, and follows the documented learning-rate schedules."""

import csv
import io
import json
import math
import os
import re
import struct
import subprocess
import sys

import numpy as np
import pytest

from losscli import get_loss
from losscli.schedules import learning_rate
from losscli.training import fit

from .conftest import write_csv


def _points(run, *args):
    out = run("plot", *args, "--format", "csv")
    assert out.exit_code == 0, out.stderr
    return list(csv.DictReader(io.StringIO(out.stdout)))


def test_residual_curves_are_the_losses(run):
    rows = _points(run, "mse,huber,quantile", "--range", "-2:2", "--points", "9", "-p", "huber.delta=0.5",
                   "-p", "tau=0.9")
    for row in rows:
        r = float(row["x"])
        want = {"mse": r * r, "huber": 0.5 * r * r if abs(r) < 0.5 else 0.5 * (abs(r) - 0.25),
                "quantile": max(0.9 * r, -0.1 * r)}[row["loss"]]
        dwant = {"mse": 2 * r, "huber": max(-0.5, min(0.5, r)),
                 "quantile": 0.9 if r > 0 else (-0.1 if r < 0 else 0.0)}[row["loss"]]
        assert float(row["loss_value"]) == pytest.approx(want, abs=1e-12)
        assert float(row["derivative"]) == pytest.approx(dwant, abs=1e-12)


def test_margin_and_probability_axes(run):
    rows = _points(run, "hinge,exponential,bce_logits,zero_one", "--range", "-1:1", "--points", "5")
    by = {(r["loss"], float(r["x"])): r for r in rows}
    assert float(by[("hinge", -1.0)]["loss_value"]) == 2.0 and float(by[("hinge", 1.0)]["loss_value"]) == 0.0
    assert float(by[("exponential", 0.5)]["derivative"]) == pytest.approx(-math.exp(-0.5))
    assert float(by[("bce_logits", 0.0)]["loss_value"]) == pytest.approx(math.log(2))
    assert by[("zero_one", 0.0)]["loss_value"] == "1.0" and by[("zero_one", 0.0)]["derivative"] == ""
    bce = _points(run, "bce", "--points", "3", "--range", "0.25:0.75")
    labels = {r["series"] for r in bce}
    assert labels == {"bce y=1", "bce y=0"}
    y1 = next(r for r in bce if r["series"] == "bce y=1" and float(r["x"]) == 0.25)
    assert float(y1["loss_value"]) == pytest.approx(-math.log(0.25))
    assert float(y1["derivative"]) == pytest.approx(-1 / 0.25)


def test_focal_sweep_over_gamma(run):
    rows = _points(run, "focal", "--sweep", "gamma=0,0.5,2", "-p", "alpha=-1", "--points", "5")
    assert {r["series"] for r in rows} == {"focal gamma=0", "focal gamma=0.5", "focal gamma=2"}
    for r in rows:
        pt, g = float(r["x"]), float(r["series"].split("=")[1])
        assert float(r["loss_value"]) == pytest.approx(-((1 - pt) ** g) * math.log(pt), rel=1e-9)
        d = -((1 - pt) ** g) / pt + (g * (1 - pt) ** (g - 1) * math.log(pt) if g else 0.0)
        assert float(r["derivative"]) == pytest.approx(d, rel=1e-7)


def test_terminal_chart_and_json(run):
    out = run("plot", "mse,mae")
    assert out.exit_code == 0 and "residual r = y - f(x)" in out.stdout and "\x1b[" not in out.stdout
    data = json.loads(run("plot", "log_cosh", "--format", "json", "--points", "3").stdout)
    assert data["axis"] == "residual r = y - f(x)" and len(data["series"][0]["x"]) == 3


def test_bce_beside_focal_is_drawn_against_p_t(run):
    """-log p_t, one curve (either label gives it), its derivative -1/p_t: Lin et al. 2017, fig. 1."""
    rows = _points(run, "bce,focal", "--points", "5", "--range", "0.2:0.8")
    bce = [r for r in rows if r["loss"] == "bce"]
    assert {r["series"] for r in bce} == {"bce"} and len(bce) == 5
    for r in bce:
        pt = float(r["x"])
        assert float(r["loss_value"]) == pytest.approx(-math.log(pt)) and float(r["derivative"]) == pytest.approx(-1 / pt)


# -- what a figure says: labels, title, legends with parameters, the derivative's view ---------------
def _svg_texts(path):
    """The texts of a matplotlib SVG, one string (its glyphs are paths; each line of a text is also
    kept in a comment)."""
    return "| " + " | ".join(re.findall(r"<!-- (.*?) -->", path.read_text())).replace(" | (", " (") + " |"


def test_image_says_what_it_shows(run, tmp_path):
    pytest.importorskip("matplotlib")
    assert run("plot", "huber,mae", "-o", tmp_path / "a.svg").exit_code == 0
    texts = _svg_texts(tmp_path / "a.svg")
    for want in ("huber, mae against the residual r = y - f(x)", "loss L(r)", "huber (delta=1)", "mae",
                 "derivative dL/dr w.r.t. the residual r (= -dL/df)"):  # (wrapped before its parenthesis)
        assert f"| {want} |" in texts, want
    assert run("plot", "focal", "--sweep", "gamma=0,1,2", "-o", tmp_path / "f.svg").exit_code == 0
    texts = _svg_texts(tmp_path / "f.svg")
    for want in ("focal for gamma = 0, 1, 2 against the probability of the true class p_t",
                 "focal (gamma=0, alpha=0.25)", "focal (gamma=1, alpha=0.25)", "focal (gamma=2, alpha=0.25)",
                 "loss L(p_t)", "derivative dL/dp_t w.r.t. p_t"):
        assert f"| {want} |" in texts, want


@pytest.fixture
def figures(monkeypatch):
    """The matplotlib figures the command saves, kept to be inspected."""
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    saved, savefig = [], Figure.savefig

    def keep(fig, *args, **kwargs):
        saved.append(fig)
        return savefig(fig, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", keep)
    return saved


@pytest.mark.parametrize("losses", [["bce"], ["focal"], ["bce,focal"], ["focal", "--sweep", "gamma=0,1,2"]])
def test_spiky_derivatives_are_clipped_and_say_so(run, tmp_path, figures, losses):
    """bce's ±1/p reaches ±1000 and focal's -α/p_t -250 at the ends of the axis: the derivative
    panel's y view keeps where the curves differ, and says it is clipped (image and terminal)."""
    data = json.loads(run("plot", *losses, "--format", "json").stdout)
    a, b = data["derivative_view"]
    values = np.array([v for s in data["series"] for v in s["derivative"]])
    assert values.min() < 5 * a and -20 <= a < b <= 20
    assert np.mean((values >= a) & (values <= b)) > 0.85  # most of every curve is in view
    assert run("plot", *losses, "-o", tmp_path / "c.png").exit_code == 0
    deriv = figures[-1].axes[1]
    assert deriv.get_ylim() == pytest.approx((a, b))
    assert f"y clipped to [{a:g}, {b:g}]; the curves go beyond" in [t.get_text() for t in deriv.get_legend().texts]
    chart = run("plot", *losses).stdout
    assert f"y clipped to [{a:g}, {b:g}]" in chart
    panel = chart[chart.index("y clipped to"):].splitlines()
    # (not a terminal: the frame in ASCII rules, +---+ above and below, | beside the tick labels)
    top, bottom = [i for i, l in enumerate(panel) if re.match(r"^\s*\+-{10,}", l)][:2]
    ticks = [(i, float(m[1])) for i, l in enumerate(panel) if (m := re.match(r"^\s*([-+.\de]+)\|", l))]
    assert a <= min(t for _, t in ticks) and max(t for _, t in ticks) <= b  # the view's ticks ...
    assert ticks[-1][0] - ticks[0][0] >= 0.6 * (bottom - top)  # ... spread over the panel: it shows the view


def test_smooth_derivatives_are_not_clipped(run, tmp_path, figures):
    data = json.loads(run("plot", "huber,mae,mse", "--format", "json").stdout)
    assert data["derivative_view"] is None
    run("plot", "huber,mae,mse", "-o", tmp_path / "c.png")
    low, high = figures[-1].axes[1].get_ylim()
    assert low <= -6 and high >= 6 and "clipped" not in run("plot", "huber,mae,mse").stdout


def _legend_markers(chart: str) -> dict:
    """legend entry -> its marker, in each panel of a terminal chart (a legend line: ' XX label')."""
    panels = chart.split("\n\n")
    found = []
    for panel in panels:
        entries = re.findall(r"[│┤|] (\S)\1 (.+?)\s+(?=\S*[│|])", panel)
        found.append({label.strip(): marker for marker, label in entries})
    return found


def test_terminal_series_have_their_own_markers_and_legends(run):
    out = run("plot", "focal", "--sweep", "gamma=0,1,2", "-p", "alpha=0.5")
    assert out.exit_code == 0
    panels = [p for p in _legend_markers(out.stdout) if p]
    want = {"focal (gamma=0, alpha=0.5)", "focal (gamma=1, alpha=0.5)", "focal (gamma=2, alpha=0.5)"}
    assert len(panels) == 2
    for legend in panels:
        assert set(legend) == want and len(set(legend.values())) == 3
        for marker in legend.values():  # each marker is drawn, not only in the legend
            assert sum(line.count(marker) for line in out.stdout.splitlines()) > 20
    assert "loss L(p_t)" in out.stdout and "derivative dL/dp_t w.r.t. p_t" in out.stdout
    assert "\nL(p_t) " in out.stdout and "\ndL/dp_t " in out.stdout  # plotext's y labels


@pytest.mark.parametrize("command", [["plot", "mse,mae"], ["fit", "huber", "sample_data/regression/outliers.csv",
                                                           "--target", "price", "--epochs", "50"]])
def test_charts_colour_and_frame_only_on_a_terminal(command, tmp_path):
    """On a terminal: colour (unless NO_COLOR) and box-drawing frames; in a pipe or a file:
    neither, the frame in ASCII rules as the tables'."""
    from tests.terminal import in_terminal

    box = re.compile("[\u2500-\u257f]")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    code, shown, _ = in_terminal(command, 120, cwd=root)
    assert code == 0 and box.search(shown)
    assert "\x1b[" in shown
    code, shown, _ = in_terminal(command, 120, env={"NO_COLOR": "1"}, cwd=root)
    assert code == 0 and "\x1b[" not in shown and box.search(shown)
    code, _, _ = in_terminal([*command, "-o", tmp_path / "chart.txt"], 120, cwd=root)
    written = (tmp_path / "chart.txt").read_text()
    assert code == 0 and "\x1b[" not in written and not box.search(written) and "+----" in written
    piped = subprocess.run([sys.executable, "-m", "losscli", *command], capture_output=True, text=True, cwd=root,
                           env={k: v for k, v in os.environ.items() if k != "NO_COLOR"})
    assert piped.returncode == 0 and "\x1b[" not in piped.stdout and not box.search(piped.stdout)
    assert "+----" in piped.stdout and "|" in piped.stdout


def _png_size(path):
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR"
    return struct.unpack(">II", head[16:24])


def test_images_are_written(run, tmp_path):
    pytest.importorskip("matplotlib")
    png, svg = tmp_path / "c.png", tmp_path / "c.svg"
    assert run("plot", "focal", "--sweep", "gamma=0,1,2", "-o", png).exit_code == 0
    w, h = _png_size(png)
    assert (w, h) == (1000, 420) and 20_000 < png.stat().st_size < 120_000
    assert run("plot", "hinge,exponential", "-o", svg).exit_code == 0
    assert svg.read_text().lstrip().startswith("<?xml") and "<svg" in svg.read_text()


def test_plot_errors(run):
    r = run("plot", "softmax_ce")
    assert r.exit_code == 2 and r.stderr.startswith("Error: plot: softmax_ce has no 1-D natural axis (plottable: ")
    r = run("plot", "mse,hinge")
    assert r.exit_code == 2 and "different axes" in r.stderr
    assert run("plot", "huber", "--sweep", "gamma=1").exit_code == 2


# -- fit --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["mse", "l2", "huber", "log_cosh", "smooth_l1"])
def test_smooth_losses_recover_a_noiseless_line(name):
    rng = np.random.default_rng(0)
    X = rng.uniform(-5, 5, (200, 2))
    y = X @ np.array([1.5, -0.7]) + 3.0
    r = fit(get_loss(name), X, y, {}, lr=0.5, epochs=4000)
    np.testing.assert_allclose(r.coef, [1.5, -0.7], atol=1e-6)
    assert float(r.intercept) == pytest.approx(3.0, abs=1e-6)


@pytest.mark.parametrize("name", ["mae", "quantile"])
def test_nonsmooth_losses_recover_the_line_with_step_decay(name):
    """Subgradient steps oscillate around the optimum at the scale of the learning rate; a step
    schedule (×0.7 every 100 epochs) shrinks that scale geometrically."""
    rng = np.random.default_rng(1)
    X = rng.uniform(-5, 5, (200, 2))
    y = X @ np.array([2.0, -0.5]) - 1.0
    r = fit(get_loss(name), X, y, {}, lr=1.0, epochs=6000, schedule="step", step_size=100, factor=0.7)
    np.testing.assert_allclose(r.coef, [2.0, -0.5], atol=1e-6)
    assert float(r.intercept) == pytest.approx(-1.0, abs=1e-6)


def test_robust_losses_resist_the_outliers(run):
    slopes = {}
    for name in ("mse", "mae", "huber"):
        out = run("fit", name, "sample_data/regression/outliers.csv", "--target", "price", "--lr", "0.5",
                  "--epochs", "3000", "--format", "json")
        slopes[name] = json.loads(out.stdout)["coef"][0]
    assert abs(slopes["mae"] - 0.02) < abs(slopes["mse"] - 0.02)
    assert abs(slopes["huber"] - 0.02) < abs(slopes["mse"] - 0.02)


def test_schedules_give_the_documented_rates():
    assert [learning_rate("step", 1.0, t, step_size=10, factor=0.5) for t in (0, 9, 10, 25)] == [1, 1, 0.5, 0.25]
    assert learning_rate("exponential", 2.0, 10, decay=0.1) == pytest.approx(2 * math.exp(-1))
    assert learning_rate("inverse", 2.0, 10, decay=0.1) == pytest.approx(1.0)
    assert learning_rate("constant", 0.3, 99) == 0.3
    r = fit(get_loss("mse"), np.arange(10.0)[:, None], np.arange(10.0), {}, lr=0.1, epochs=30, schedule="step",
            step_size=10, factor=0.1)
    assert [h[1] for h in r.history[::10]] == pytest.approx([0.1, 0.01, 0.001, 0.0001])


def test_linear_classifier_and_penalty(run, tmp_path):
    rng = np.random.default_rng(2)
    X = rng.normal(size=(200, 2))
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int)
    write_csv(tmp_path / "cls.csv", ["a", "b", "y"], [[f"{u:.8f}", f"{v:.8f}", c] for (u, v), c in zip(X, y)])
    for loss in ("bce_logits", "hinge"):
        d = json.loads(run("fit", loss, tmp_path / "cls.csv", "--format", "json", "--lr", "0.5").stdout)
        score = X @ np.array(d["coef"]) + d["intercept"]
        assert np.mean((score > 0) == (y == 1)) >= 0.98, loss
    plain = json.loads(run("fit", "bce_logits", tmp_path / "cls.csv", "--format", "json").stdout)
    shrunk = json.loads(run("fit", "bce_logits", tmp_path / "cls.csv", "--format", "json", "--l2", "1").stdout)
    assert np.linalg.norm(shrunk["coef"]) < np.linalg.norm(plain["coef"])
    assert shrunk["history"][-1]["penalty"] > 0


def test_a_penalised_fit_reports_its_objective_and_penalties_in_every_format(run, tmp_path):
    """The JSON history carries what the descent lowers (risk + penalty) as the CSV does, and the
    penalties that made it (review 101: the JSON had only risk and penalty, and no l1 or l2)."""
    args = ["fit", "huber", *OUTLIERS, "--epochs", "40", "--l1", "0.25", "--l2", "0.5"]
    d = json.loads(run(*args, "--format", "json").stdout)
    assert (d["l1"], d["l2"]) == (0.25, 0.5)
    h = d["history"]
    assert all(e["objective"] == e["risk"] + e["penalty"] for e in h) and h[-1]["penalty"] > 0
    assert d["final_loss"] == h[-1]["objective"] > h[-1]["risk"]
    rows = list(csv.DictReader(io.StringIO(run(*args, "--format", "csv").stdout)))
    assert [float(r["objective"]) for r in rows] == [e["objective"] for e in h]
    plain = json.loads(run("fit", "huber", *OUTLIERS, "--epochs", "40", "--format", "json").stdout)
    assert (plain["l1"], plain["l2"]) == (0.0, 0.0)
    assert all(e["objective"] == e["risk"] and e["penalty"] == 0 for e in plain["history"])


def test_fit_outputs(run, tmp_path):
    args = ["fit", "huber", "sample_data/regression/outliers.csv", "--target", "price", "--epochs", "50"]
    table = run(*args)
    assert table.exit_code == 0 and "coef[size_m2]" in table.stdout and "learning rate" in table.stdout
    run(*args, "-o", tmp_path / "curve.csv")
    rows = list(csv.DictReader((tmp_path / "curve.csv").open()))
    assert len(rows) == 51 and set(rows[0]) == {"epoch", "lr", "risk", "penalty", "objective"}
    pytest.importorskip("matplotlib")
    run(*args, "-o", tmp_path / "curve.png")
    assert _png_size(tmp_path / "curve.png")[0] > 500
    bad = run("fit", "infonce", "sample_data/regression/outliers.csv")
    assert bad.exit_code == 2 and "not a prediction/label loss" in bad.stderr


@pytest.mark.parametrize("size", [1e200, 3e307, 1e-200])
def test_features_of_any_magnitude_are_fitted_alike(run, tmp_path, size):
    """Review 87: features of 1e200 overflowed the spread's squares (std inf, the feature all zeros):
    coef 0 with exit 0 and numpy's RuntimeWarning on stderr. A feature scaled by a power of ten fits
    the coefficient scaled back, and nothing is said on stderr."""
    x = np.array([1.0, 2.0, 3.0, 5.0])
    y = 2 * x + 1
    (tmp_path / "a.csv").write_text("x,y\n" + "".join(f"{float(v)!r},{float(t)!r}\n" for v, t in zip(x, y)))
    (tmp_path / "b.csv").write_text("x,y\n" + "".join(f"{float(v * size)!r},{float(t)!r}\n" for v, t in zip(x, y)))
    fits = []
    for name in ("a.csv", "b.csv"):
        out = run("fit", "mse", tmp_path / name, "--epochs", "400", "--format", "json")
        assert (out.exit_code, out.stderr) == (0, "")
        fits.append(json.loads(out.stdout))
    assert list(fits[0])[:2] == ["schema_version", "version"]  # (as every command's JSON starts)
    assert fits[0]["coef"][0] == pytest.approx(2.0, rel=1e-6)
    assert fits[1]["coef"][0] == pytest.approx(fits[0]["coef"][0] / size, rel=1e-12)
    assert fits[1]["intercept"] == pytest.approx(fits[0]["intercept"], rel=1e-12)


OUTLIERS = ["sample_data/regression/outliers.csv", "--target", "price"]


def test_a_diverging_fit_stops_early_with_the_way_out(run):
    from losscli.training import DIVERGENCE_EPOCHS

    r = run("fit", "mse", *OUTLIERS, "--lr", "5", "--epochs", "200000")
    assert r.exit_code == 2 and r.stdout == "" and r.stderr.count("\n") == 1
    m = re.fullmatch(r"Error: fit: diverging at epoch (\d+): the loss grew for (\d+) epochs in a row "
                     r"\(loss (\S+) at the start, (\S+) now\); lower --lr \(it is 5\)\n", r.stderr)
    assert m, r.stderr
    assert int(m[1]) == DIVERGENCE_EPOCHS and int(m[2]) == DIVERGENCE_EPOCHS
    assert float(m[4]) > 1e6 * float(m[3])


def test_a_fit_whose_steps_overshoot_back_and_forth_says_so(run):
    """mae at --lr 5 swings between two losses from the first epoch on and ends where it started
    (neither growth nor convergence): exit 0 with its result, and a warning with the way out
    (stderr and the JSON); a run that converges gets none."""
    r = run("fit", "mae", *OUTLIERS, "--lr", "5", "--epochs", "2000", "--format", "json")
    assert r.exit_code == 0 and json.loads(r.stdout)["warnings"] == [r.stderr.removeprefix("losscli: warning: ")[:-1]]
    assert re.fullmatch(r"losscli: warning: fit: the loss has not improved since epoch 1 \(2\.30699; 2\.69301 at the "
                        r"end, 2\.69301 at the start\): the steps overshoot; lower --lr \(it is 5\) or let a "
                        r"--schedule decay it\n", r.stderr), r.stderr
    for args in (["huber", "--lr", "0.05", "--epochs", "300"], ["mse", "--lr", "0.05", "--epochs", "300"],
                 ["mae", "--lr", "0.5", "--epochs", "3000", "--schedule", "step", "--step-size", "100",
                  "--factor", "0.7"]):
        r = run("fit", args[0], *OUTLIERS, *args[1:], "--format", "json")
        assert r.exit_code == 0 and r.stderr == "" and json.loads(r.stdout)["warnings"] == [], args


def test_a_non_finite_loss_stops_the_fit(run, tmp_path):
    r = run("fit", "poisson_nll", *OUTLIERS, "--lr", "5")  # exp(log rate) overflows at the second step
    assert r.exit_code == 2 and r.stderr.count("\n") == 1
    assert r.stderr == ("Error: fit: diverging at epoch 2: the loss became inf (loss 1 at the start, inf now); "
                        "lower --lr (it is 5)\n")
    write_csv(tmp_path / "big.csv", ["x", "y"], [[i, 1e160 * (-1) ** i] for i in range(10)])
    r = run("fit", "mse", tmp_path / "big.csv", "--lr", "0.1")  # inf before any step: no --lr helps
    assert r.exit_code == 2 and r.stderr == ("Error: fit: the loss is inf at the start, before any step: the "
                                             "target's values overflow it; rescale the target\n")


def test_a_loss_below_zero_is_drawn_on_a_linear_axis(run, tmp_path, figures):
    args = ["fit", "poisson_nll", *OUTLIERS, "--lr", "0.5", "--epochs", "100"]
    assert json.loads(run(*args, "--format", "json").stdout)["final_loss"] < 0
    assert "loss; linear scale: the loss goes below 0" in run(*args).stdout
    run(*args, "-o", tmp_path / "curve.png")
    assert figures[-1].axes[0].get_yscale() == "linear"


@pytest.mark.parametrize("args", [
    ["huber", *OUTLIERS, "--lr", "0.5"],  # sample_data/README.md's example
    ["huber", *OUTLIERS, "--lr", "0.5", "--epochs", "3000", "--schedule", "step", "--step-size", "1000",
     "--factor", "0.5"],  # README's
    ["mse", *OUTLIERS, "--lr", "0.99", "--epochs", "1000"],  # just below the stable step (1 on standardised data)
    ["mae", *OUTLIERS, "--lr", "2", "--epochs", "2000"],  # subgradient steps: noisy, never settling
    ["mae", *OUTLIERS, "--lr", "1", "--epochs", "2000", "--schedule", "step", "--step-size", "100", "--factor", "0.7"],
])
def test_converging_fits_are_not_stopped(run, args):
    r = run("fit", *args, "--format", "json")
    assert r.exit_code == 0, r.stderr
    h = json.loads(r.stdout)["history"]
    assert h[-1]["risk"] < h[0]["risk"]


def test_only_growth_epoch_after_epoch_is_divergence():
    """A loss that goes up and down, even above its start, is noise; DIVERGENCE_EPOCHS rises in a
    row above the start are not."""
    from losscli.errors import LossCliError
    from losscli.training import DIVERGENCE_EPOCHS, _Divergence

    watch = _Divergence(lr=1.0, epochs=10**6)
    for t, loss in enumerate([1.0] + [2.0 + t % 2 + t / 100 for t in range(1, 200)]):  # a sawtooth drifting up
        watch.check(t, loss)
    watch = _Divergence(lr=1.0, epochs=10**6)
    rises = [1.0] + [0.5 + t / 100 for t in range(1, 100)]  # growing in a row, above the start from epoch 51
    with pytest.raises(LossCliError, match=f"diverging at epoch 51: the loss grew for {DIVERGENCE_EPOCHS} epochs"):
        for t, loss in enumerate(rises):
            watch.check(t, loss)


def test_mse_past_its_stable_step_is_stopped(run):
    """On standardised features mse's steps are stable below lr = 1: at 1.01 the loss grows slowly,
    and is stopped all the same."""
    r = run("fit", "mse", *OUTLIERS, "--lr", "1.01", "--epochs", "2000")
    assert r.exit_code == 2 and "diverging at epoch 20" in r.stderr


def test_the_history_is_bounded_and_evenly_spaced(run, tmp_path):
    from losscli.training import HISTORY_LIMIT

    args = ["fit", "huber", *OUTLIERS, "--lr", "0.5", "--epochs", "5003"]
    d = json.loads(run(*args, "--format", "json").stdout)
    epochs = [e["epoch"] for e in d["history"]]
    k = d["history_every"]
    assert d["epochs"] == 5003 and len(epochs) <= HISTORY_LIMIT and k == 6
    assert epochs[0] == 0 and epochs[-1] == 5003 and epochs[:-1] == list(range(0, 5003, k))
    assert d["final_loss"] == d["history"][-1]["risk"]
    run(*args, "-o", tmp_path / "curve.csv")
    rows = list(csv.DictReader((tmp_path / "curve.csv").open()))
    assert [int(r["epoch"]) for r in rows] == epochs
    whole = json.loads(run("fit", "huber", *OUTLIERS, "--epochs", "1000", "--format", "json").stdout)
    assert whole["history_every"] == 1 and len(whole["history"]) == 1001


def _y_ticks(chart: str) -> list[str]:
    return re.findall(r"^\s*([-+.\deE]+)[┤|]", chart, re.M)


def test_the_fit_curve_is_on_a_log_axis(run, tmp_path, figures):
    args = ["fit", "huber", *OUTLIERS, "--lr", "0.05", "--epochs", "300"]
    out = run(*args).stdout
    loss_panel = out[out.index("loss, log scale"):out.index("learning rate")]
    ticks = [float(t) for t in _y_ticks(loss_panel)]
    assert ticks and all(float(f"{t:.0e}".split("e")[0]) in (1, 2, 5) for t in ticks), ticks  # 1-2-5 steps
    assert "huber (delta=1)" in loss_panel
    run(*args, "-o", tmp_path / "curve.png")
    loss_ax, lr_ax = figures[-1].axes
    assert loss_ax.get_yscale() == "log" and lr_ax.get_yscale() == "linear"
    assert loss_ax.get_ylabel() == "loss, log scale" and lr_ax.get_ylabel() == "learning rate"
    assert [t.get_text() for t in loss_ax.get_legend().texts] == ["huber (delta=1)"]


def test_a_loss_of_zero_is_floored_on_the_log_axis(run, tmp_path, figures):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(100, 2))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    X += np.where(y == 1, 0.5, -0.5)[:, None]  # separable with room: the hinge loss reaches 0
    write_csv(tmp_path / "sep.csv", ["a", "b", "y"], [[f"{u:.6f}", f"{v:.6f}", c] for (u, v), c in zip(X, y)])
    args = ["fit", "hinge", tmp_path / "sep.csv", "--lr", "0.5", "--epochs", "300"]
    d = json.loads(run(*args, "--format", "json").stdout)
    risks = [e["risk"] for e in d["history"]]
    floor = min(r for r in risks if r > 0) / 10
    assert d["final_loss"] == 0
    assert f"a loss of 0 or below is drawn at {floor:.2g}" in run(*args).stdout
    run(*args, "-o", tmp_path / "curve.png")
    ax = figures[-1].axes[0]
    assert ax.get_yscale() == "log" and min(ax.get_lines()[0].get_ydata()) == pytest.approx(floor)
    assert f"a loss of 0 or below is drawn at {floor:.2g}" in [t.get_text() for t in ax.get_legend().texts]



def test_the_progress_bar_shows_the_loss(run, monkeypatch):
    """On a terminal (stderr; a pipe or CI gets no bar), beside the epochs: the current loss."""
    from losscli.render import progress

    notes = []
    monkeypatch.setattr(progress, "shown", lambda: True)
    monkeypatch.setattr(progress.Bar, "update", lambda bar, done, note=None: notes.append((done, note)))
    d = json.loads(run("fit", "huber", *OUTLIERS, "--lr", "0.5", "--epochs", "20", "--format", "json").stdout)
    assert [n[0] for n in notes] == list(range(21))
    assert notes[-1][1] == f"loss {d['final_loss']:.6g}" and notes[0][1] == f"loss {d['history'][0]['risk']:.6g}"
