"""plot: sampled points equal the loss functions, images are valid; fit: gradient descent recovers
lines, is robust with robust losses, and follows the documented learning-rate schedules."""

import csv
import io
import json
import math
import struct

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
    assert out.exit_code == 0 and "residual y - f(x)" in out.stdout and "\x1b[" not in out.stdout
    data = json.loads(run("plot", "log_cosh", "--format", "json", "--points", "3").stdout)
    assert data["axis"] == "residual y - f(x)" and len(data["series"][0]["x"]) == 3


def _png_size(path):
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR"
    return struct.unpack(">II", head[16:24])


def test_images_are_written(run, tmp_path):
    pytest.importorskip("matplotlib")
    png, svg = tmp_path / "c.png", tmp_path / "c.svg"
    assert run("plot", "focal", "--sweep", "gamma=0,1,2", "-o", png).exit_code == 0
    w, h = _png_size(png)
    assert (w, h) == (1210, 462) and png.stat().st_size > 20_000
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
