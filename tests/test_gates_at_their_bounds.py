"""Review 94: compare and check judge what the user's numbers say (a change beside a large loss, a value at
its bound exactly), refuse keys and names that would mislead a report, and say options in gate words;
fit's loss is the one compute reports, and plot draws only curves that are the loss's."""

import json

import numpy as np
import pandas as pd
import pytest


def _csv(path, name, values):
    pd.DataFrame({name: values}).to_csv(path, index=False)
    return path


def _toml(path, *gates):
    lines = []
    for g in gates:
        lines.append("[[gate]]")
        lines += [f"{k} = {json.dumps(v)}" for k, v in g.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_the_change_beside_a_large_loss_is_the_mean_of_the_paired_differences(run, tmp_path):
    y = _csv(tmp_path / "y.csv", "label", [0.0, 0.0, 0.0])
    b = _csv(tmp_path / "b.csv", "pred", [1e8, 1.0, 1.0])
    c = _csv(tmp_path / "c.csv", "pred", [1e8, 1.0, 1.1])
    res = run("compare", "mse,rmse,mae", b, c, y, "--fail-if-worse", "0.1", "--format", "json")
    by = {r["loss"]: r for r in json.loads(res.stdout)["results"]}
    d = np.array([1e8, 1, 1.1]) ** 2 - np.array([1e8, 1, 1.0]) ** 2
    assert by["mse"]["change"] == pytest.approx(d.mean(), rel=1e-12)  # 0.07, not 0.5 (1e16/3 rounded)
    lo, hi = by["mse"]["bootstrap"]["interval"]
    assert lo <= by["mse"]["change"] <= hi
    assert by["mae"]["change"] == pytest.approx(0.1 / 3, rel=1e-12)
    # rmse: (C - B) / (√C + √B), C and B the means of the squared errors
    mb, mc = (np.array([1e8, 1, 1.0]) ** 2).mean(), (np.array([1e8, 1, 1.1]) ** 2).mean()
    assert by["rmse"]["change"] == pytest.approx(d.mean() / (np.sqrt(mb) + np.sqrt(mc)), rel=1e-9)
    assert by["mse"]["gate"]["passed"] and res.exit_code == 0


def test_mbe_change_of_its_size_beside_a_large_bias(run, tmp_path):
    y = _csv(tmp_path / "y.csv", "label", [0.0, 0.0, 0.0])
    b = _csv(tmp_path / "b.csv", "pred", [-1e16, 1.0, 1.0])
    c = _csv(tmp_path / "c.csv", "pred", [-1e16, 1.0, 4.0])
    r = json.loads(run("compare", "mbe", b, c, y, "--format", "json").stdout)["results"][0]
    # mbe = mean(y - p): 1e16/3 - 2/3 and 1e16/3 - 5/3 (both positive): its size fell by 1
    assert r["change"] == pytest.approx(-1.0, rel=1e-12) and r["change_of"] == "|value|"


def test_a_change_exactly_at_the_tolerance_passes(run, tmp_path):
    y = _csv(tmp_path / "y.csv", "label", [0.0] * 10)
    b = _csv(tmp_path / "b.csv", "pred", [0.3] * 10)
    c = _csv(tmp_path / "c.csv", "pred", [0.33] * 10)
    for tol in ("10%", "0.03"):
        res = run("compare", "mae", b, c, y, "--fail-if-worse", tol, "--format", "json")
        assert res.exit_code == 0, (tol, res.stdout)
        assert json.loads(res.stdout)["results"][0]["gate"]["tolerance"] == tol
    below = run("compare", "mae", b, c, y, "--fail-if-worse", "9.9999999%", "--format", "json")
    assert below.exit_code == 1
    assert json.loads(below.stdout)["results"][0]["gate"]["tolerance"] == "9.9999999%"  # not "10%"
    cfg = _toml(tmp_path / "g.toml", {"loss": "mae", "inputs": ["c.csv", "y.csv"], "baseline": "b.csv",
                                      "max_increase": "10%"},
                {"loss": "mae", "inputs": ["c.csv", "y.csv"], "baseline": "b.csv", "max_increase": 0.03})
    assert run("check", cfg).exit_code == 0


@pytest.mark.parametrize("bound,expected", [({"max": 0.15}, 0), ({"min": 0.15}, 0), ({"max": 0.1499999}, 1)])
def test_a_value_at_its_bound_passes(run, tmp_path, bound, expected):
    # mae 0.15000000000000002 in float64, overall and in the one slice
    pd.DataFrame({"pred": [0.1, 0.2], "label": [0.0, 0.0], "g": ["a", "a"]}).to_csv(tmp_path / "d.csv", index=False)
    cfg = _toml(tmp_path / "g.toml", {"loss": "mae", "inputs": ["d.csv:pred", "d.csv:label"], "by": "g",
                                      "min_slice_size": 1, **bound})
    res = run("check", cfg, "--format", "json")
    assert res.exit_code == expected, res.stdout


@pytest.mark.parametrize("key,value", [("significant", True), ("confidence", 0.9), ("bootstrap", 100), ("seed", 3)])
def test_comparison_keys_without_a_baseline_are_refused(run, tmp_path, key, value):
    _csv(tmp_path / "p.csv", "pred", [0.1, 0.2])
    _csv(tmp_path / "y.csv", "label", [0.0, 0.0])
    cfg = _toml(tmp_path / "g.toml", {"loss": "mae", "inputs": ["p.csv", "y.csv"], "max": 1, key: value})
    res = run("check", cfg)
    assert res.exit_code == 2
    assert res.stderr == f"Error: {cfg}: gate 1: key {key!r} needs a 'baseline' (it judges the change from one)\n"


def test_gates_have_names_of_their_own(run, tmp_path):
    _csv(tmp_path / "p.csv", "pred", [0.1, 0.2])
    _csv(tmp_path / "y.csv", "label", [0.0, 0.0])
    twice = _toml(tmp_path / "twice.toml", {"name": "g", "loss": "mae", "inputs": ["p.csv", "y.csv"], "max": 1},
                  {"name": "g", "loss": "mse", "inputs": ["p.csv", "y.csv"], "max": 1})
    res = run("check", twice)
    assert res.exit_code == 2
    assert res.stderr == (f"Error: {twice}: gate 2 ('g'): key 'name': gate 1 has this name too; give each gate its "
                          "own name (reports tell gates apart by name)\n")
    alike = _toml(tmp_path / "alike.toml", {"loss": "mae", "inputs": ["p.csv", "y.csv"], "max": 1},
                  {"loss": "mae", "inputs": ["p.csv", "y.csv"], "max": 0.5})
    report = tmp_path / "r.xml"
    assert run("check", alike, "--report", f"junit:{report}").exit_code == 0
    names = [tc.get("name") for tc in __import__("xml.etree.ElementTree").etree.ElementTree.parse(report).iter("testcase")]
    assert names == ["mae on p.csv (gate 1)", "mae on p.csv (gate 2)"]


def test_gate_errors_name_the_gate_keys_and_nan_policy_is_one(run, tmp_path):
    (tmp_path / "d.csv").write_text("pred,label\n0.5,0\nnan,1\n0.25,1\n")
    cfg = _toml(tmp_path / "g.toml", {"loss": "mae", "inputs": ["d.csv:pred", "d.csv:label"], "max": 1})
    res = run("check", cfg)
    assert res.exit_code == 2 and res.stderr.endswith(
        "(--nan-policy omit drops such rows) (in a gate: --nan-policy is the key 'nan_policy')\n")
    omit = _toml(tmp_path / "o.toml", {"loss": "mae", "inputs": ["d.csv:pred", "d.csv:label"], "max": 1,
                                       "nan_policy": "omit", "weights": "w.csv"})
    _csv(tmp_path / "w.csv", "w", [1.0, 1.0, 3.0])
    d = json.loads(run("check", omit, "--format", "json").stdout)
    assert d["gates"][0]["value"] == pytest.approx((0.5 + 3 * 0.75) / 4, rel=1e-15) and d["gates"][0]["count"] == 2
    assert [i["roles"] for i in d["inputs"] if i["path"].endswith("w.csv")] == [["weights"]]


def test_slices_none_of_which_is_judged_say_so(run, tmp_path):
    pd.DataFrame({"pred": [0.1, 0.2], "label": [0.0, 0.0], "g": ["a", "b"]}).to_csv(tmp_path / "d.csv", index=False)
    cfg = _toml(tmp_path / "g.toml", {"loss": "mae", "inputs": ["d.csv:pred", "d.csv:label"], "max": 1, "by": "g"})
    d = json.loads(run("check", cfg, "--format", "json").stdout)
    assert d["gates"][0]["checks"][-1]["check"] == "slices by g (30+ rows): none has as many rows, none judged"


def _fit(run, *args):
    res = run("fit", *args, "--format", "json")
    assert res.exit_code == 0, res.stderr
    return json.loads(res.stdout), res.stderr


@pytest.fixture
def classes(tmp_path):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(120, 2))
    k = (X @ np.array([[1.0, -1, 0.5], [0.5, 1, -1]]) + rng.normal(0, 1, (120, 3))).argmax(1)
    pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "cls": k}).to_csv(tmp_path / "mc.csv", index=False)
    ign = k.copy()
    ign[::4] = -100
    pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "cls": ign}).to_csv(tmp_path / "ign.csv", index=False)
    return tmp_path


@pytest.mark.parametrize("data,extra", [("mc.csv", ("-p", "class_weights=1,3,0.5")), ("ign.csv", ())])
def test_fit_reports_the_loss_compute_reports(run, classes, data, extra):
    d, _ = _fit(run, "softmax_ce", classes / data, *extra, "--lr", "1", "--epochs", "400")
    X = pd.read_csv(classes / data)[["a", "b"]].to_numpy()
    pd.DataFrame(X @ np.array(d["coef"]) + np.array(d["intercept"]), columns=["c0", "c1", "c2"]).to_csv(
        classes / "f.csv", index=False)
    value = run("compute", "softmax_ce", classes / "f.csv", f"{classes / data}:cls", *extra, "--format", "value")
    assert d["final_loss"] == pytest.approx(float(value.stdout), rel=1e-12)


@pytest.fixture
def line(tmp_path):
    rng = np.random.default_rng(2)
    x = rng.uniform(0, 10, 100)
    pd.DataFrame({"x": x, "y": 2 + 0.5 * x + rng.normal(0, 1, 100)}).to_csv(tmp_path / "line.csv", index=False)
    return tmp_path / "line.csv"


def test_a_fit_that_does_not_move_says_so(run, line):
    # lr 1 on mse of a standardised feature: steps of exactly 2/λ, a mirror image and back, the loss unmoved
    d, err = _fit(run, "mse", line, "--target", "y", "--lr", "1", "--epochs", "300")
    assert d["warnings"] and d["warnings"][0].startswith("fit: the loss did not move in 300 epochs")
    assert err.startswith("losscli: warning: fit: the loss did not move")
    ok, err = _fit(run, "mse", line, "--target", "y", "--lr", "0.1", "--epochs", "300")
    assert ok["warnings"] == [] and err == ""


def test_a_loss_below_zero_that_converged_is_not_said_to_overshoot(run, tmp_path):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(200, 2))
    y = rng.poisson(np.exp(1 + X @ np.array([0.5, -0.3])))
    pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "y": y}).to_csv(tmp_path / "p.csv", index=False)
    d, err = _fit(run, "poisson_nll", tmp_path / "p.csv", "--lr", "0.1", "--epochs", "3000")
    assert d["final_loss"] < 0 and d["warnings"] == [] and err == ""


def test_a_feature_named_twice_or_the_target_is_refused(run, line):
    twice = run("fit", "mse", line, "--target", "y", "--features", "x,x")
    assert twice.exit_code == 2 and twice.stderr == "Error: --features: 'x' is named twice; name each feature once\n"
    target = run("fit", "mse", line, "--target", "y", "--features", "x,y")
    assert target.exit_code == 2 and target.stderr == (
        "Error: --features: 'y' is the target; leave it out of the features (or choose another --target)\n")


@pytest.mark.parametrize("loss", ["poisson_nll", "msle", "mape", "poisson_deviance", "gamma_deviance"])
def test_losses_of_more_than_the_residual_have_no_residual_curve(run, loss):
    res = run("plot", loss, "--format", "csv")
    assert res.exit_code == 2 and res.stdout == ""
    assert res.stderr.startswith(f"Error: plot: {loss} has no 1-D natural axis (it is not a function of the residual "
                                 "y - f alone)")


def test_a_parameter_that_makes_the_loss_depend_on_the_label_is_refused(run):
    assert run("plot", "tweedie_deviance", "--format", "csv").exit_code == 0  # power 0: (y - μ)²
    res = run("plot", "tweedie_deviance", "-p", "power=1.5", "--format", "csv")
    assert res.exit_code == 2 and res.stderr == (
        "Error: plot: tweedie_deviance (power=1.5) is not a function of the residual y - f alone: it has no curve of "
        "the residual with these parameters\n")


@pytest.mark.parametrize("span", ["1.5:2", "-1:0.5", "0.5:1.5"])
def test_a_probability_axis_outside_0_1_is_refused(run, span):
    for loss in ("bce", "focal"):
        res = run("plot", loss, "--range", span, "--format", "csv")
        assert res.exit_code == 2 and "is drawn against a probability, in [0, 1]" in res.stderr


def test_the_ends_of_the_probability_axis_are_drawn_inside_it(run):
    res = run("plot", "bce", "--range", "0:1", "--points", "3", "--format", "csv")
    assert res.exit_code == 0
    x = pd.read_csv(__import__("io").StringIO(res.stdout))["x"]
    assert x.min() == 1e-6 and x.max() == 1 - 1e-6


def test_a_row_both_models_give_a_huge_loss_does_not_widen_the_tolerance(run, tmp_path):
    """Review 95 #1: the rounding allowance scaled with the values, so one broken row of 1e18 in both models
    let every other row get worse by 9 (a change of 8.99 passed --fail-if-worse 0)."""
    rng = np.random.default_rng(7)
    y = rng.normal(size=1000)
    b = y + rng.normal(0, 0.1, 1000)
    b[0] = 1e9
    c = b + 3.0
    c[0] = 1e9
    for name, v in (("y", y), ("b", b), ("c", c)):
        _csv(tmp_path / f"{name}.csv", name, v)
    for extra in ([], ["--significant"], ["--reduction", "sum"]):
        res = run("compare", "mse", tmp_path / "b.csv", tmp_path / "c.csv", tmp_path / "y.csv", "--fail-if-worse", "0",
                  *extra, "--format", "json")
        assert res.exit_code == 1, (extra, res.stdout)
    cfg = _toml(tmp_path / "g.toml", {"loss": "mse", "inputs": ["c.csv", "y.csv"], "baseline": "b.csv",
                                      "max_increase": 0})
    assert run("check", cfg).exit_code == 1


def test_a_slice_of_no_sample_has_no_change(run, tmp_path):
    pd.DataFrame({"pred": [0.1, 0.2, 0.3, 0.4], "cand": [0.2, 0.2, 0.1, 0.4], "label": [0.0] * 4,
                  "g": ["a", "a", "b", "b"], "w": [1.0, 1.0, 0.0, 0.0]}).to_csv(tmp_path / "d.csv", index=False)
    d = tmp_path / "d.csv"
    out = json.loads(run("compare", "mse", f"{d}:pred", f"{d}:cand", f"{d}:label", "--by", "g", "--weights", f"{d}:w",
                         "--reduction", "sum", "--format", "json").stdout)
    by = {s["key"]["g"]: s for s in out["results"][0]["slices"]}
    assert by["a"]["change"] == pytest.approx(0.04 - 0.01) and by["b"]["change"] is None  # (NaN: JSON null)


def test_default_comparison_keys_on_a_bound_gate_change_nothing_and_are_accepted(run, tmp_path):
    _csv(tmp_path / "p.csv", "pred", [0.1, 0.2])
    _csv(tmp_path / "y.csv", "label", [0.0, 0.0])
    cfg = _toml(tmp_path / "g.toml", {"loss": "mae", "inputs": ["p.csv", "y.csv"], "max": 1, "significant": False,
                                      "confidence": 0.95, "bootstrap": 1000, "seed": 0})
    assert run("check", cfg).exit_code == 0


def test_a_given_name_that_is_another_gates_numbered_name_is_refused(run, tmp_path):
    _csv(tmp_path / "p.csv", "pred", [0.1, 0.2])
    _csv(tmp_path / "y.csv", "label", [0.0, 0.0])
    g = {"loss": "mae", "inputs": ["p.csv", "y.csv"], "max": 1}
    cfg = _toml(tmp_path / "g.toml", g, g, {**g, "name": "mae on p.csv (gate 2)"})
    res = run("check", cfg)
    assert res.exit_code == 2 and res.stderr == (
        f"Error: {cfg}: gate 3 ('mae on p.csv (gate 2)'): key 'name': gate 2, unnamed, is named so in reports too; "
        "give each gate its own name\n")


def test_a_fit_at_its_floor_or_with_tiny_steps_is_told_the_truth(run, tmp_path):
    """Review 95 #3, #4: a perceptron at loss 0 on separable data got the 'overshoot' warning; lr 1e-12 was told
    to lower --lr."""
    x = np.linspace(-1, 1, 40)
    pd.DataFrame({"x": x, "y": np.where(x > 0, 1, -1)}).to_csv(tmp_path / "sep.csv", index=False)
    d, err = _fit(run, "perceptron", tmp_path / "sep.csv", "--target", "y", "--epochs", "50")
    assert d["warnings"] == [] and err == ""
    rng = np.random.default_rng(8)
    x = rng.uniform(0, 10, 100)
    pd.DataFrame({"x": x, "y": 2 + 0.5 * x}).to_csv(tmp_path / "line.csv", index=False)
    d, err = _fit(run, "mse", tmp_path / "line.csv", "--target", "y", "--lr", "1e-12", "--epochs", "100")
    assert len(d["warnings"]) == 1 and d["warnings"][0].startswith("fit: the loss did not move in 100 epochs")
    assert d["warnings"][0].endswith("; raise --lr (it is 1e-12)") and "too small" in d["warnings"][0]


def test_the_default_target_named_as_a_feature_says_it_is_the_default(run, tmp_path):
    pd.DataFrame({"x": [1.0, 2, 3], "y": [2.0, 3, 5]}).to_csv(tmp_path / "d.csv", index=False)
    res = run("fit", "mse", tmp_path / "d.csv", "--features", "x,y")
    assert res.exit_code == 2 and res.stderr == (
        "Error: --features: 'y' is the target (the last column, as no --target was given); leave it out of the "
        "features (or choose another --target)\n")


def test_residual_losses_undefined_at_some_residuals_are_still_drawn(run):
    """Review 95 #2: examples/my_losses.py's sqrt_gap (a root of the residual: NaN on one side) was refused."""
    import pathlib

    plugin = pathlib.Path(__file__).parent.parent / "examples" / "my_losses.py"
    res = run("--plugin", plugin, "plot", "sqrt_gap", "--points", "3", "--format", "csv")
    assert res.exit_code == 0, res.stderr
    assert res.stdout.splitlines()[1].startswith("sqrt_gap,sqrt_gap,-3.0,1.7320508075688772,")


def test_a_huge_row_whose_losses_differ_by_rounding_does_not_hide_a_regression(run, tmp_path):
    """Review 97 #1: a row of 9e16 in both models, its predictions 1e-7 apart, widened a tolerance of 0 by
    2.56 (64 ulps of the mean of |c| + |b|), and a change of 0.89 on the other 999 rows passed."""
    rng = np.random.default_rng(9)
    y = rng.normal(size=1000)
    b = y + rng.normal(0, 0.1, 1000)
    c = y + rng.normal(0, 1.0, 1000)
    y[0], b[0], c[0] = 0.0, 3e8, 3e8 - 1e-7
    for name, v in (("y", y), ("b", b), ("c", c)):
        _csv(tmp_path / f"{name}.csv", name, [repr(float(x)) for x in v])
    res = run("compare", "mse", tmp_path / "b.csv", tmp_path / "c.csv", tmp_path / "y.csv", "--fail-if-worse", "0",
              "--format", "json")
    r = json.loads(res.stdout)["results"][0]
    assert r["change"] > 0.5 and res.exit_code == 1


def test_a_fit_that_starts_at_its_optimum_is_left_alone(run, tmp_path):
    """Review 97 #3: y of mean 0 orthogonal to x: the zero model is the optimum; 'raise --lr' was said."""
    pd.DataFrame({"x": [5.0, -4.0, -1.0], "y": [0.1, 0.2, -0.3]}).to_csv(tmp_path / "orth.csv", index=False)
    d, err = _fit(run, "mse", tmp_path / "orth.csv", "--target", "y", "--epochs", "50")
    assert d["warnings"] == [] and err == ""


def test_a_row_of_1e20_whose_losses_differ_does_not_hide_a_hundredfold_regression(run, tmp_path):
    """Review 98 #2: 999 rows whose squared error goes 1 -> 100 and one of 1e20 whose losses differ by 4e4;
    4 ulps of |c| + |b| allowed 178 and a change of 131.7 passed --fail-if-worse 0."""
    n = 1000
    y, b, c = np.zeros(n), np.ones(n), np.full(n, 10.0)
    b[0], c[0] = 1e10, 1e10 + 2e-6
    for name, v in (("y", y), ("b", b), ("c", c)):
        _csv(tmp_path / f"{name}.csv", name, [repr(float(x)) for x in v])
    assert run("compare", "mse", tmp_path / "b.csv", tmp_path / "c.csv", tmp_path / "y.csv", "--fail-if-worse", "0",
               "--bootstrap", "0").exit_code == 1


@pytest.mark.parametrize("loss,pb,pc,w", [("mse", [9.0e153] * 2, [1.3e154] * 2, None),
                                         ("mae", [0.9e8], [0.95e8], [1e300])])
def test_losses_near_the_float64_limit_do_not_make_the_allowance_infinite(run, tmp_path, loss, pb, pc, w):
    """Review 98 #1: |c| + |b| overflowed to inf while both values were finite: any regression passed."""
    _csv(tmp_path / "b.csv", "p", pb)
    _csv(tmp_path / "c.csv", "p", pc)
    _csv(tmp_path / "y.csv", "y", [0.0] * len(pb))
    extra = [] if w is None else ["--weights", _csv(tmp_path / "w.csv", "w", w), "--reduction", "sum"]
    res = run("compare", loss, tmp_path / "b.csv", tmp_path / "c.csv", tmp_path / "y.csv", "--fail-if-worse", "0",
              "--bootstrap", "0", *extra, "--format", "json")
    r = json.loads(res.stdout)["results"][0]
    assert np.isfinite(r["baseline"]) and np.isfinite(r["candidate"]) and res.exit_code == 1


def test_a_fit_that_starts_within_1e_10_of_its_optimum_is_left_alone(run, tmp_path):
    """Review 98 #3: a target of ±1 + 1e-5, unrelated to x: the loss goes from 1 + 1e-10 to 1; 'raise --lr'."""
    x = np.arange(1, 9.0)
    y = np.array([1, -1, -1, 1, 1, -1, -1, 1.0]) + 1e-5
    pd.DataFrame({"x": x, "y": y}).to_csv(tmp_path / "n.csv", index=False)
    d, err = _fit(run, "mse", tmp_path / "n.csv", "--target", "y", "--lr", "0.1", "--epochs", "100")
    assert d["warnings"] == [] and err == ""
