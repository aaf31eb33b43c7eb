"""rmse: per-sample squared errors, the reported value their root-mean; every number derived from
the reported value (interval, comparison, gradient, slices, gates) is the root's."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

# scikit-learn 1.9.1 root_mean_squared_error(t, p) and torch.sqrt(F.mse_loss(p, t)) on these
P = [-0.8019314252534474, -1.324358995628145, -0.24836162209524854, 0.4204452380655215, 1.1360465324896427,
     0.10970639932180819, -0.5526473205362324, -0.7847803553442784, 0.7487457707345911, 1.6347830429585775,
     0.27276877584472176, -1.2333286640307717]
T = [-0.9582652054360887, 1.6000190889991115, 0.2028824405086084, -1.7321348424395848, -0.08369619281702581,
     -1.1632259734447485, -0.6292880940615545, -0.48800582327685743, -0.7133133716322436, 0.5533784703532895,
     -0.06308597192528916, -0.5894312580326048]
SKLEARN = 1.3054431807756548
TORCH_GRAD_HEAD = [0.009979610914570313, -0.18667849915470083, -0.028805291901951476]


@pytest.fixture
def files(tmp_path):
    group = ["a", "b", "a", "b", "a", "b", "a", "b", "a", "b", "a", "a"]
    (tmp_path / "p.csv").write_text("id,g,pred\n" + "".join(f"{i},{g},{v!r}\n" for i, (g, v) in enumerate(zip(group, P))))
    (tmp_path / "q.csv").write_text("pred\n" + "".join(f"{v + 0.3 * (i % 3)!r}\n" for i, v in enumerate(P)))
    (tmp_path / "t.csv").write_text("label\n" + "".join(f"{v!r}\n" for v in T))
    return tmp_path


def _json(run, *args):
    out = run(*args, "--format", "json")
    assert out.exit_code == 0, out.stderr
    return json.loads(out.stdout)


def test_value_is_scikit_learns_and_per_sample_values_are_squared_errors(run, files):
    rec = _json(run, "compute", "rmse", f"{files}/p.csv:pred", f"{files}/t.csv", "--per-sample")["results"][0]
    assert rec["value"] == pytest.approx(SKLEARN, rel=1e-15)
    d = np.subtract(P, T)
    assert rec["per_sample"] == pytest.approx((d ** 2).tolist(), rel=1e-15)
    assert rec["stats"]["mean"] == pytest.approx(SKLEARN ** 2, rel=1e-14)  # statistics are of the squared errors


def test_every_output_says_its_statistics_are_of_the_term_under_the_root(run, files):
    """rmse's statistics and worst samples (squared errors, 2.9 beside a value of 1.3) are not its
    value's units: the JSON marks the record, the table says so; mse's says nothing."""
    recs = _json(run, "compute", "rmse,mse", f"{files}/p.csv:pred", f"{files}/t.csv")["results"]
    assert [r.get("root") for r in recs] == [True, None]
    table = run("compute", "rmse,mse", f"{files}/p.csv:pred", f"{files}/t.csv").stdout
    assert ("rmse: the statistics and the samples' losses are of the term under the root (squared errors); "
            "the value is the root of their reduction") in " ".join(table.split())
    assert "term under the root" not in run("compute", "mse", f"{files}/p.csv:pred", f"{files}/t.csv").stdout


def test_sum_is_the_root_of_the_sum(run, files):
    rec = _json(run, "compute", "rmse", f"{files}/p.csv:pred", f"{files}/t.csv", "--reduction", "sum")["results"][0]
    assert rec["value"] == pytest.approx(math.sqrt(np.sum(np.subtract(P, T) ** 2)), rel=1e-15)


def test_saved_gradient_is_of_the_root(run, files):
    out = run("compute", "rmse", f"{files}/p.csv:pred", f"{files}/t.csv", "--save-grad", f"{files}/g.npy")
    assert out.exit_code == 0, out.stderr
    g = np.load(files / "g.npy")
    np.testing.assert_allclose(g, np.subtract(P, T) / (len(P) * SKLEARN), rtol=1e-14)
    np.testing.assert_allclose(g[:3], TORCH_GRAD_HEAD, rtol=1e-14)


def test_without_a_reduction_the_gradient_is_of_the_per_sample_sum(run, files):
    """--reduction none reports the per-sample squared errors, so --save-grad is the gradient of
    their sum, as mse's (not the root's, which is not reported)."""
    out = run("compute", "rmse", f"{files}/p.csv:pred", f"{files}/t.csv", "--reduction", "none",
              "--save-grad", f"{files}/g.npy", "--format", "json")
    assert out.exit_code == 0, out.stderr
    np.testing.assert_allclose(np.load(files / "g.npy"), 2 * np.subtract(P, T), rtol=1e-15)


def test_interval_is_of_the_root(run, files):
    """Each resample takes its own root (not mse's interval, and not its endpoints' roots: the
    percentile interpolates between resamples)."""
    args = (f"{files}/p.csv:pred", f"{files}/t.csv", "--ci", "--seed", "3", "--bootstrap", "300")
    rec = _json(run, "compute", "rmse", *args)["results"][0]
    d2 = np.subtract(P, T) ** 2
    idx = np.random.default_rng(3).integers(0, len(P), size=(300, len(P)))
    expected = np.quantile(np.sqrt(d2[idx].mean(axis=1)), [0.025, 0.975])
    assert rec["ci"]["interval"] == pytest.approx(expected.tolist(), rel=1e-13)
    lo, hi = rec["ci"]["interval"]
    assert lo < rec["value"] < hi


def test_comparison_is_of_the_roots(run, files):
    """The change is rmse(candidate) - rmse(baseline), and its interval resamples both roots."""
    rec = _json(run, "compare", "rmse", f"{files}/p.csv:pred", f"{files}/q.csv", f"{files}/t.csv",
                "--bootstrap", "200", "--seed", "1")["results"][0]
    base = np.subtract(P, T) ** 2
    cand = (np.array(P) + 0.3 * (np.arange(len(P)) % 3) - T) ** 2
    assert rec["change"] == pytest.approx(math.sqrt(cand.mean()) - math.sqrt(base.mean()), rel=1e-13)
    idx = np.random.default_rng(1).integers(0, len(P), size=(200, len(P)))
    stats = np.sqrt(cand[idx].mean(axis=1)) - np.sqrt(base[idx].mean(axis=1))
    assert rec["bootstrap"]["interval"] == pytest.approx(np.quantile(stats, [0.025, 0.975]).tolist(), rel=1e-12)


def test_slices_report_their_own_root(run, files):
    rec = _json(run, "compute", "rmse", f"{files}/p.csv:pred", f"{files}/t.csv", "--by", "g")["results"][0]
    d2 = np.subtract(P, T) ** 2
    g = np.array(["a", "b", "a", "b", "a", "b", "a", "b", "a", "b", "a", "a"])
    values = {s["key"]["g"]: s["value"] for s in rec["slices"]}
    assert values == pytest.approx({k: math.sqrt(d2[g == k].mean()) for k in ("a", "b")}, rel=1e-14)


def test_gate_and_value_output_use_the_root(run, files):
    args = ("compute", "rmse", f"{files}/p.csv:pred", f"{files}/t.csv")
    assert float(run(*args, "--format", "value").stdout) == pytest.approx(SKLEARN, rel=1e-15)
    assert run(*args, "--fail-above", "1.31").exit_code == 0
    assert run(*args, "--fail-above", "1.30").exit_code == 1  # the MSE, 1.70, would fail both


def test_info_states_the_convention_and_gradcheck_passes(run):
    out = run("info", "rmse")
    assert out.exit_code == 0 and "squared error" in out.stdout and "root_mean_squared_error" in out.stdout
    assert run("gradcheck", "rmse").exit_code == 0


def test_fit_minimises_the_root_and_reports_it(run):
    """fit rmse descends the root's gradient (∇mse / 2·rmse) and reports the root; at the optimum
    it is mse's, whose risk is the square."""
    args = ("sample_data/regression/outliers.csv", "--target", "price", "--lr", "0.5", "--format", "json")
    rmse, mse = (json.loads(run("fit", name, *args).stdout) for name in ("rmse", "mse"))
    assert rmse["final_loss"] == pytest.approx(math.sqrt(mse["final_loss"]), rel=1e-9)
    assert rmse["coef"] == pytest.approx(mse["coef"], rel=1e-6)
    assert rmse["history"][0]["risk"] == pytest.approx(math.sqrt(mse["history"][0]["risk"]), rel=1e-12)


def test_the_gate_of_rmse_per_sample_values_is_of_the_root(run, tmp_path):
    """rmse --reduction none --fail-above X compared the largest squared error with X (20.25 above
    1.5 for a residual of 4.5; review 65 M1); rmse's gates are documented as of the root: with
    reduction none, of the largest residual, per slice too."""
    (tmp_path / "p.csv").write_text("p,g\n0,a\n1,a\n5,b\n")
    (tmp_path / "y.csv").write_text("y\n0\n0\n0.5\n")
    args = ["compute", "rmse", f"{tmp_path}/p.csv:p", tmp_path / "y.csv", "--reduction", "none", "--format", "value"]
    out = run(*args, "--fail-above", 1.5)
    assert out.exit_code == 1 and out.stderr == "losscli: rmse: root of the largest per-sample loss 4.5 is above " \
                                                "--fail-above 1.5\n"
    assert run(*args, "--fail-above", 5).exit_code == 0  # (20.25 > 5: the squares are not what is judged)
    out = run(*args[:-2], "--by", "g", "--by-file", f"{tmp_path}/p.csv:g", "--min-slice-size", 1, "--fail-above", 4,
              "--format", "json")
    assert out.exit_code == 1 and "slice g=b: root of the largest per-sample loss 4.5 is above --fail-above 4" in \
        out.stderr, out.stderr
