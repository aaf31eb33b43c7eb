"""`fit` at its boundaries (review 113): runs it accepted and returned as results without a word,
each now right, refused with the way out, or said on stderr and in the JSON's warnings."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

OUTLIERS = ["sample_data/regression/outliers.csv", "--target", "price"]


@pytest.fixture
def data(tmp_path):
    """y = 1.5a - 0.7b + 2 + noise, 40 rows, as pandas writes it (review 113's reg.csv)."""
    rng = np.random.default_rng(0)
    a, b = rng.normal(3, 2, 40), rng.uniform(-5, 10, 40)
    frame = pd.DataFrame({"a": a, "b": b, "y": 1.5 * a - 0.7 * b + 2 + rng.normal(0, 1, 40)})
    frame.to_csv(tmp_path / "reg.csv", index=False)
    return tmp_path, frame


def _fit(run, *args):
    out = run("fit", *args, "--format", "json")
    assert out.exit_code == 0, out.stderr
    return json.loads(out.stdout), out.stderr


def _least_squares(frame: pd.DataFrame, features: list[str]) -> np.ndarray:
    A = np.c_[frame[features].to_numpy(), np.ones(len(frame))]
    return np.linalg.lstsq(A, frame["y"].to_numpy(), rcond=None)[0]


@pytest.mark.parametrize("value", [0.1, 0.7, 3.3])
def test_a_column_of_one_value_gets_coefficient_zero(run, data, value):
    """A constant column (a tax rate) had a spread of 1e-17 by rounding, not 0: coefficients of
    -5.6e16 and a model whose loss was 1.9995, reported as 0.909, exit 0."""
    tmp_path, frame = data
    frame.insert(2, "rate", value)
    frame.to_csv(tmp_path / "const.csv", index=False)
    d, err = _fit(run, "mse", tmp_path / "const.csv", "--epochs", "2000", "--lr", "0.5")
    ls = _least_squares(frame, ["a", "b"])
    np.testing.assert_allclose(d["coef"], [ls[0], ls[1], 0.0], rtol=1e-10, atol=0)
    assert d["coef"][2] == 0.0 and d["intercept"] == pytest.approx(ls[2], rel=1e-10)
    model = frame[["a", "b", "rate"]].to_numpy() @ np.array(d["coef"]) + d["intercept"]
    assert d["final_loss"] == pytest.approx(np.mean((model - frame["y"]) ** 2), rel=1e-12)
    note = (f"fit: column 'rate' holds one value in every row ({value:g}): its coefficient is 0 (the intercept "
            "carries it)")
    assert err == f"losscli: warning: {note}\n" and d["warnings"] == [note]


@pytest.mark.parametrize("epochs", [1, 5, 19])
def test_a_short_run_that_grows_every_epoch_is_diverging(run, data, epochs):
    """The check waited for 20 epochs of growth: 5 epochs at lr 1.5 ended at 208,757 from 40.57, exit 0."""
    tmp_path, _ = data
    out = run("fit", "mse", tmp_path / "reg.csv", "--lr", "1.5", "--epochs", str(epochs))
    assert (out.exit_code, out.stdout) == (2, "")
    assert re.fullmatch(rf"Error: fit: diverging at epoch {epochs}: the loss grew in every one of the {epochs} "
                        rf"epochs? run \(loss 40\.5673 at the start, \S+ now\); lower --lr \(it is 1\.5\)\n", out.stderr)
    d, err = _fit(run, "mse", tmp_path / "reg.csv", "--lr", "0.5", "--epochs", str(epochs))  # (falling: kept)
    assert d["final_loss"] < 40.5673


@pytest.mark.parametrize("args, message", [
    (["bce"], "fit: bce takes probabilities in [0, 1] as predictions, and a linear model's outputs are any real "
              "number: fit bce_logits (logits)"),
    (["binary_focal"], "fit: binary_focal takes probabilities in [0, 1] as predictions, and a linear model's outputs "
                       "are any real number: fit binary_focal with -p from_logits=true"),
    (["dice"], "fit: dice takes probabilities in [0, 1] as predictions, and a linear model's outputs are any real "
               "number: fit a loss that takes any real number as predictions (losscli list)"),
    (["nll", "--target", "k"], "fit: nll takes log-probabilities (values <= 0) as log_probs, and a linear model's "
                               "outputs are any real number: fit softmax_ce (logits, one row per sample)"),
    (["ce", "--target", "k"], "fit: ce takes rows of probabilities in [0, 1] that sum to 1 as predictions, and a "
                              "linear model's outputs are any real number: fit softmax_ce (logits, one row per "
                              "sample)"),
    (["kl", "--target", "k"], "fit: kl takes rows of probabilities in [0, 1] that sum to 1 as predictions, and a "
                              "linear model's outputs are any real number: fit a loss that takes any real number as "
                              "predictions (losscli list)"),
    (["cosine_distance"], "fit: cosine_distance takes predictions of shape (N,D), and fit's linear model gives one "
                          "output a sample (or one a class): fit a loss of predictions and labels"),
    (["poisson_deviance", "--target", "n"], "fit: poisson_deviance takes values > 0 as predictions, and a linear "
                                            "model's outputs are any real number: fit poisson_nll (log-rates)"),
    (["tweedie_deviance", "-p", "power=1.5", "--target", "n"],
     "fit: a linear model's outputs are any real number, which tweedie_deviance refuses at its start, 0, as predictions "
     "(tweedie_deviance with power=1.5 needs labels >= 0 and predictions > 0): fit tweedie_deviance -p power=0, or "
     "poisson_nll (log-rates)"),
    (["mbe"], "fit: mbe is a signed measure, bad either way, with no minimum (a descent lowers it without end): fit a "
              "loss of the residual's size, such as mse or mae"),
])
def test_a_loss_a_linear_model_cannot_feed_is_refused_with_its_form(run, tmp_path, args, message):
    """bce and log_loss sat at their clipped start (coef 0, exit 0), nll, dice and mbe fell without
    end (-3322.8 and on), the deviances were told "predictions, row 0: found 0" of predictions the
    user never gave, kl that "predictions has (40, 3)"."""
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=40), rng.normal(size=40)
    pd.DataFrame({"a": a, "b": b, "k": rng.integers(0, 3, 40), "n": rng.poisson(2.0, 40) + 1,
                  "y": (a + b > 0).astype(int)}).to_csv(tmp_path / "d.csv", index=False)
    name, *rest = args
    features = [] if "--target" in rest else ["--features", "a,b"]
    out = run("fit", name, tmp_path / "d.csv", *rest, *features)
    assert (out.exit_code, out.stdout, out.stderr) == (2, "", f"Error: {message}\n")


def test_a_loss_defined_on_part_of_the_reals_is_fitted_where_its_start_is_in_it(run, tmp_path):
    """msle takes predictions > -1: the model starts at 0, inside, and a count target keeps it there
    (review 114 #4: a probe at -2 refused it, where it fitted to its optimum)."""
    rng = np.random.default_rng(4)
    x = rng.uniform(0, 3, 200)
    pd.DataFrame({"x": x, "n": rng.poisson(np.exp(0.5 * x))}).to_csv(tmp_path / "cnt.csv", index=False)
    d, err = _fit(run, "msle", tmp_path / "cnt.csv", "--epochs", "3000", "--lr", "0.5")
    assert err == ""
    n = pd.read_csv(tmp_path / "cnt.csv")["n"].to_numpy()

    def msle(w):
        return np.mean((np.log1p(w[0] * x + w[1]) - np.log1p(n)) ** 2)

    best = min((msle(np.array([d["coef"][0] + u, d["intercept"] + v])) for u in (-1e-4, 0, 1e-4)
                for v in (-1e-4, 0, 1e-4)))
    assert d["final_loss"] == pytest.approx(msle(np.array([d["coef"][0], d["intercept"]])), rel=1e-12)
    assert d["final_loss"] <= best + 1e-12  # (a minimum: no step of 1e-4 either way is lower)


def test_the_logit_forms_are_fitted(run, tmp_path):
    rng = np.random.default_rng(2)
    X = rng.normal(size=(200, 2))
    y = (X[:, 0] - X[:, 1] + rng.logistic(size=200) * 0.3 > 0).astype(int)
    pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "y": y}).to_csv(tmp_path / "d.csv", index=False)
    for args in (["bce_logits"], ["binary_focal", "-p", "from_logits=true"]):
        d, _ = _fit(run, *args, tmp_path / "d.csv", "--lr", "0.5", "--epochs", "300")
        assert np.mean(((X @ np.array(d["coef"]) + d["intercept"]) > 0) == (y == 1)) >= 0.85


def test_a_run_still_falling_at_its_end_says_so(run, tmp_path):
    """mae on prices in currency units: a bounded gradient moves the intercept by at most lr an epoch;
    after 500 epochs slope 2.8e-16 and intercept 50 (least absolute deviations: slope ~1974), exit 0."""
    rng = np.random.default_rng(3)
    size = rng.uniform(40, 160, 60)
    pd.DataFrame({"size": size, "price": 2000 * size + 50_000 + rng.normal(0, 5000, 60)}).to_csv(
        tmp_path / "houses.csv", index=False)
    d, err = _fit(run, "mae", tmp_path / "houses.csv")
    assert err.startswith("losscli: warning: fit: the loss was still falling at the end: 10% of its fall came in the "
                          "last tenth of the epochs (") and err.endswith(
        "); more --epochs or a larger --lr would lower it further\n")
    assert d["warnings"] == [err[len("losscli: warning: "):-1]]


def test_a_learning_rate_that_reaches_zero_says_where_the_fit_stopped(run, data):
    tmp_path, _ = data
    for schedule in (["--schedule", "step", "--factor", "0", "--step-size", "1"],
                     ["--schedule", "exponential", "--decay", "1e10"]):
        d, err = _fit(run, "mse", tmp_path / "reg.csv", *schedule)
        assert err == ("losscli: warning: fit: the learning rate is 0 from epoch 1 on (the --schedule's --factor or "
                       f"--decay took it there): the fit stopped at epoch 1, loss {d['final_loss']:.6g}\n")


@pytest.mark.parametrize("args", [
    ["huber", *OUTLIERS, "--lr", "0.5"],  # sample_data/README.md's example
    ["mse", *OUTLIERS, "--lr", "0.99", "--epochs", "1000"],
    ["mae", *OUTLIERS, "--lr", "1", "--epochs", "2000", "--schedule", "step", "--step-size", "100", "--factor", "0.7"],
    ["log_cosh", *OUTLIERS, "--lr", "0.5", "--epochs", "3000"],
])
def test_a_converged_run_has_nothing_to_say(run, args):
    d, err = _fit(run, *args)
    assert (err, d["warnings"]) == ("", [])


@pytest.mark.parametrize("last, value", [("y", "high"), ("note", "x")])
def test_a_last_column_of_text_is_not_passed_over_for_another(run, data, last, value):
    """A target of high/low (the last column) fitted column b on column a, exit 0: the default
    target was the last column of numbers, and no output said which."""
    tmp_path, frame = data
    frame = frame.assign(y=np.where(frame["y"] > 5, "high", "low")) if last == "y" else frame.assign(note="x")
    frame.to_csv(tmp_path / "t.csv", index=False)
    out = run("fit", "mse", tmp_path / "t.csv")
    numbers = "b" if last == "y" else "y"
    assert (out.exit_code, out.stdout) == (2, "")
    assert out.stderr == (f"Error: {tmp_path}/t.csv: the last column, {last!r}, holds text ({frame[last][0]!r}), and "
                          f"fit's target is the last column unless --target names one: --target {numbers} fits the "
                          "last column of numbers\n")


def test_the_result_names_its_target(run, data):
    tmp_path, _ = data
    d, _ = _fit(run, "mse", tmp_path / "reg.csv", "--epochs", "5")
    assert (d["target"], d["features"]) == ("y", ["a", "b"])
    out = run("fit", "mse", tmp_path / "reg.csv", "--target", "a", "--epochs", "5")
    assert out.stdout.startswith("fit: mse, target a, 5 epochs, constant lr 0.1\n")


def test_a_coefficient_beyond_float64_is_refused(run, data):
    """A column of values near 1e-309: its weight over its spread overflowed to inf (null in the
    JSON) with a RuntimeWarning, exit 0."""
    tmp_path, frame = data
    frame.assign(b=frame["b"] * 1e-309).to_csv(tmp_path / "sub.csv", index=False)
    out = run("fit", "mse", tmp_path / "sub.csv", "--epochs", "200")
    assert (out.exit_code, out.stdout) == (2, "")
    assert re.fullmatch(r"Error: fit: the coefficient of column 'b' is beyond float64's range in its units \(the "
                        r"column spreads \S+ around its mean\): rescale it \(multiply it by a power of ten\)\n",
                        out.stderr)


def test_missing_values_are_named_without_options_fit_lacks(run, data):
    """A NaN target was told "--nan-policy omit drops such rows" (fit has no such option); a NaN
    feature's column was not named."""
    tmp_path, frame = data
    frame.loc[5, "b"] = np.nan
    with np.errstate(invalid="ignore"):  # (pandas 2.0, the lowest supported, warns in its own to_csv of NaN)
        frame.to_csv(tmp_path / "nan.csv", index=False)
    out = run("fit", "mse", tmp_path / "nan.csv")
    assert (out.exit_code, out.stderr) == (2, f"Error: {tmp_path}/nan.csv:a,b, line 7, column 'b': a feature is NaN "
                                              "(missing); fit reads complete rows: drop or fill the rows without it "
                                              "first\n")
    frame.loc[5, "b"], frame.loc[3, "y"] = 1.0, np.nan
    with np.errstate(invalid="ignore"):
        frame.to_csv(tmp_path / "nan.csv", index=False)
    out = run("fit", "mse", tmp_path / "nan.csv")
    assert (out.exit_code, out.stderr) == (2, f"Error: {tmp_path}/nan.csv:y, line 5, column 'y': the target is "
                                              "missing (NaN); fit reads complete rows: drop the rows without one "
                                              "first (frame.dropna(subset=['y']))\n")


def test_l1_gives_exact_zeros_at_the_lasso_optimum(run, tmp_path):
    """Subgradient steps swung around 0 (0.0126 at lr 0.1 where the lasso's weight is 0): proximal
    steps give the lasso's solution, checked against coordinate descent on the standardised data."""
    rng = np.random.default_rng(3)
    a, junk = rng.normal(size=50), rng.normal(size=50)
    y = 2 * a + 0.5 + rng.normal(0, 0.5, 50)
    pd.DataFrame({"a": a, "junk": junk, "y": y}).to_csv(tmp_path / "l1.csv", index=False)
    X = np.c_[a, junk]
    mu, sd = X.mean(0), X.std(0)
    Z, yc, lam = (X - mu) / sd, y - y.mean(), 0.3
    w = np.zeros(2)
    for _ in range(2000):  # coordinate descent: min mean((Zw - yc)^2) + lam |w|_1
        for j in range(2):
            rho = 2 * Z[:, j] @ (yc - Z @ w + Z[:, j] * w[j]) / 50
            w[j] = np.sign(rho) * max(abs(rho) - lam, 0) / (2 * Z[:, j] @ Z[:, j] / 50)
    assert w[1] == 0.0
    d, err = _fit(run, "mse", tmp_path / "l1.csv", "--l1", str(lam), "--lr", "0.1", "--epochs", "2000")
    assert d["coef"][1] == 0.0 and err == ""
    assert d["coef"][0] == pytest.approx(w[0] / sd[0], rel=1e-9)
    assert d["final_loss"] == pytest.approx(np.mean((Z @ w - yc) ** 2) + lam * np.abs(w).sum(), rel=1e-12)


def test_the_readmes_fit_table_is_what_the_command_gives(run):
    """README's table of slopes and intercepts on outliers.csv, row by row, from the flags it names."""
    text = Path("README.md").read_text()
    flags = re.search(r"Fitted with `(--lr [^`]+)`", text).group(1).split()
    rows = re.findall(r"^\| `(\w+)` \| ([\d.]+) \| ([\d.]+) \| ([\d.]+)% \|$", text, re.M)
    assert [r[0] for r in rows] == ["mse", "mae", "huber", "log_cosh"]
    for name, slope, intercept, error in rows:
        d, err = _fit(run, name, *OUTLIERS, *flags)
        assert err == ""
        assert f"{d['coef'][0]:#.4g}" == slope and f"{d['intercept']:#.4g}" == intercept, name
        assert f"{abs(d['coef'][0] - 0.02) / 0.02:.1%}".rstrip("%") == error or \
            f"{abs(d['coef'][0] - 0.02) / 0.02:.2%}".rstrip("%") == error, name


@pytest.mark.parametrize("epochs", [3, 5, 19])
def test_a_short_run_that_ends_above_its_start_says_its_steps_overshoot(run, epochs):
    """Review 115 #6: mae at lr 10 for 3 to 19 epochs ended at 7.307 from 2.693, exit 0, silent."""
    d, err = _fit(run, "mae", *OUTLIERS, "--lr", "10", "--epochs", str(epochs))
    assert err == ("losscli: warning: fit: the loss ended above its start (7.30699; 2.69301 at the start, 2.69301 at "
                   "its best, epoch 0): the steps overshoot; lower --lr (it is 10) or let a --schedule decay it\n")
    assert d["warnings"] == [err[len("losscli: warning: "):-1]]


def test_a_run_that_loses_most_of_its_gain_by_its_end_says_so(run, tmp_path):
    """Review 116 #4: a slowly diverging direction under a converging one (|1 - lr·λ| = 1.05): best
    0.0045 at epoch 37, 23.4 at epoch 180 (32.9 at the start), exit 0 and silent (the warning wanted
    its best within the first tenth; the stop, 20 epochs of growth above the start, came at 190)."""
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=400), rng.normal(size=400)
    x1, x2 = a, 0.9 * a + np.sqrt(1 - 0.81) * b
    z1, z2 = (x1 - x1.mean()) / x1.std(), (x2 - x2.mean()) / x2.std()
    pd.DataFrame({"x1": x1, "x2": x2, "y": 3 + 10 * (z1 - z2) + 0.01 * (z1 + z2)}).to_csv(
        tmp_path / "d.csv", index=False, float_format="%.17g")
    d, err = _fit(run, "mse", tmp_path / "d.csv", "--lr", "0.54", "--epochs", "180")
    assert re.fullmatch(r"losscli: warning: fit: the loss has not improved since epoch 3\d \(0\.00\d+; 23\.\d+ at the "
                        r"end, 32\.\d+ at the start\): the steps overshoot; lower --lr \(it is 0\.54\) or let a "
                        r"--schedule decay it\n", err), err
