"""The regression losses from scikit-learn (msle, mape, poisson_deviance, gamma_deviance,
tweedie_deviance) and PyTorch's full=True (poisson_nll, gaussian_nll): through the CLI against the
committed reference vectors (tests/reference/generate_regression_reference.py), their documented
conventions at the boundaries where the libraries disagree, accuracy against mpmath where
scikit-learn's own float64 formula cancels, and bad input as one-line exit-2 errors."""

from __future__ import annotations

import json
import math
from pathlib import Path

import mpmath
import numpy as np
import pandas as pd
import pytest

import losscli
from losscli.errors import InputError
from losscli.losses import regression

DATA = Path(__file__).parent / "data"
META = json.loads((DATA / "regression_reference.json").read_text())
REF = np.load(DATA / "regression_reference.npz")
NEW = ("msle", "mape", "poisson_deviance", "gamma_deviance", "tweedie_deviance")
EPS = np.finfo(np.float64).eps

mpmath.mp.dps = 400  # scikit-learn's three-term deviance cancels; mpmath must not


def _param_text(value) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else repr(value)


def _cases(predicate):
    return [c for c in META["cases"] if predicate(c)]


# the CLI reads each file the user would have: every scikit-learn case of the new losses and every
# PyTorch full=True case, from .npy; the 1-D and 2-D ones also from CSV written by pandas
CLI_CASES = _cases(lambda c: c["loss"] in NEW or "-torch-" in c["id"])
CSV_CASES = [c for c in CLI_CASES if REF[f"{c['id']}/input/{c['inputs'][0]}"].ndim <= 2]


def _cli_args(case, tmp_path, fmt):
    paths = []
    for role in case["inputs"]:
        data = REF[f"{case['id']}/input/{role}"]
        if fmt == "npy":
            path = tmp_path / f"{role}.npy"
            np.save(path, data)
        else:
            path = tmp_path / f"{role}.csv"
            pd.DataFrame(data.reshape(data.shape[0], -1),
                         columns=[f"{role}{j}" for j in range(int(np.prod(data.shape[1:], dtype=int)))]
                         ).to_csv(path, index=False)
        paths.append(path)
    params = [a for k, v in case["params"].items() for a in ("-p", f"{k}={_param_text(v)}")]
    return ["compute", case["loss"], *paths, *params, "--format", "json"]


def _value(result) -> float:
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)["results"][0]["value"]


@pytest.mark.parametrize("case", CLI_CASES, ids=[c["id"] for c in CLI_CASES])
def test_cli_value_from_npy_files_is_the_libraries_mean(run, tmp_path, case):
    got = _value(run(*_cli_args(case, tmp_path, "npy")))
    assert got == pytest.approx(float(REF[f"{case['id']}/mean"]), rel=1e-12, abs=1e-300), case["source"]


@pytest.mark.parametrize("case", CSV_CASES, ids=[c["id"] for c in CSV_CASES])
def test_cli_value_from_csv_files_is_the_libraries_mean(run, tmp_path, case):
    got = _value(run(*_cli_args(case, tmp_path, "csv")))
    assert got == pytest.approx(float(REF[f"{case['id']}/mean"]), rel=1e-12, abs=1e-300), case["source"]


def test_every_new_loss_and_power_has_reference_cases():
    covered = {(c["loss"], c["params"].get("power")) for c in META["cases"]}
    for name in NEW:
        assert any(loss == name for loss, _ in covered), name
    assert {p for loss, p in covered if loss == "tweedie_deviance"} >= {0.0, 1.0, 1.5, 2.0, 3.0, -1.0}
    full = {(c["loss"], c["params"].get("log_input", True)) for c in META["cases"] if c["params"].get("full")}
    assert full == {("poisson_nll", True), ("poisson_nll", False), ("gaussian_nll", True)}


# -- declarations: names, aliases, matches, conventions ----------------------------------------------
@pytest.mark.parametrize("alias, name", [
    ("mean_squared_log_error", "msle"), ("mean_absolute_percentage_error", "mape"),
    ("mean_poisson_deviance", "poisson_deviance"), ("mean_gamma_deviance", "gamma_deviance"),
    ("mean_tweedie_deviance", "tweedie_deviance")])
def test_aliases_are_the_scikit_learn_names(alias, name):
    assert losscli.get_loss(alias).name == name


MATCHES = {
    "mse": {"PyTorch torch.nn.MSELoss", "scikit-learn sklearn.metrics.mean_squared_error",
            "Keras keras.losses.MeanSquaredError", "optax optax.losses.squared_error"},
    "mae": {"PyTorch torch.nn.L1Loss", "scikit-learn sklearn.metrics.mean_absolute_error",
            "Keras keras.losses.MeanAbsoluteError"},
    "huber": {"PyTorch torch.nn.HuberLoss", "Keras keras.losses.Huber", "optax optax.losses.huber_loss"},
    "smooth_l1": {"PyTorch torch.nn.SmoothL1Loss"},
    "log_cosh": {"Keras keras.losses.LogCosh", "optax optax.losses.log_cosh"},
    "quantile": {"scikit-learn sklearn.metrics.mean_pinball_loss (alpha = τ)"},
    "poisson_nll": {"PyTorch torch.nn.PoissonNLLLoss"},
    "gaussian_nll": {"PyTorch torch.nn.GaussianNLLLoss (gradient w.r.t. var where var > eps)"},
    "msle": {"scikit-learn sklearn.metrics.mean_squared_log_error"},
    "mape": {"scikit-learn sklearn.metrics.mean_absolute_percentage_error"},
    "poisson_deviance": {"scikit-learn sklearn.metrics.mean_poisson_deviance"},
    "gamma_deviance": {"scikit-learn sklearn.metrics.mean_gamma_deviance"},
    "tweedie_deviance": {"scikit-learn sklearn.metrics.mean_tweedie_deviance"},
    "l2": set(), "mbe": set(),
}


@pytest.mark.parametrize("name", sorted(MATCHES))
def test_matches_are_the_libraries_the_references_check(name):
    assert set(losscli.get_loss(name).matches) == MATCHES[name]


def test_every_claimed_library_has_reference_vectors():
    """Each library a regression loss claims to match has cases of that loss in a reference file."""
    torch_meta = json.loads((DATA / "torch_reference.json").read_text())
    by_library = {"PyTorch": {c["loss"] for c in torch_meta["cases"]} | {c["loss"] for c in META["cases"] if "-torch-" in c["id"]}}
    for lib, key in (("scikit-learn", "-sklearn-"), ("Keras", "-keras-"), ("optax", "-optax-")):
        by_library[lib] = {c["loss"] for c in META["cases"] if key in c["id"]}
    for name, claimed in MATCHES.items():
        for match in claimed:
            assert name in by_library[match.split()[0]], (name, match)


@pytest.mark.parametrize("name, phrase", [
    ("msle", "inputs must be > -1 (log1p's domain), as scikit-learn >= 1.6 requires"),
    ("msle", "Keras returns 0 for p = -0.5, t = 0 where msle gives 0.4805"),
    ("mape", "ε = np.finfo(float64).eps = 2.220446049250313e-16"),
    ("mape", "is 100 × this with ε = 1e-7"),
    ("tweedie_deviance", "0 < ρ < 1 is refused"),
    ("tweedie_deviance", "1 <= ρ < 2: labels >= 0, predictions > 0; ρ >= 2: both > 0"),
    ("poisson_deviance", "y = 0 gives 2μ (0·log 0 = 0"),
    ("gamma_deviance", "Scale-free"),
    ("poisson_nll", "only where t > 1 (0 for t <= 1"),
    ("poisson_nll", "Keras keras.losses.Poisson is this loss with log_input=false and eps=1e-7."),
    ("gaussian_nll", "full=true adds it (≈ 0.9189385)"),
])
def test_info_states_the_convention(run, name, phrase):
    result = run("info", name, "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert any(phrase in c for c in json.loads(result.stdout)["conventions"]), phrase


# -- gradcheck ------------------------------------------------------------------------------------
GRADCHECK_RANDOM = [("msle", ()), ("mape", ()), ("poisson_deviance", ()), ("gamma_deviance", ()),
                    *[("tweedie_deviance", ("-p", f"power={p}")) for p in (0, 1, 1.5, 2, 3, -1, -0.5, 2.5)],
                    ("poisson_nll", ("-p", "full=true")), ("gaussian_nll", ("-p", "full=true"))]
# (poisson_nll -p log_input=false draws its rates from the real line, negative ones included: at random
# inputs it is undefined with or without full; the file case below checks it)


@pytest.mark.parametrize("name, params", GRADCHECK_RANDOM, ids=[f"{n}{''.join(p)}" for n, p in GRADCHECK_RANDOM])
def test_gradcheck_passes_at_random_inputs(run, name, params):
    result = run("gradcheck", name, *params)
    assert result.exit_code == 0, result.stdout + result.stderr


EXTREMES = [  # (loss, predictions, labels, params): values gradcheck's numeric steps stay inside
    ("msle", [-0.999, -0.5, 0.0, 1e-8, 5.0, 1e3], [0.3, 0.0, -0.9, 2.0, 5.5, 1e-3], ()),
    ("mape", [0.5, 1.0, 2.0, 7.0, -3.0], [0.0, 1e-20, -3.0, 1e-3, 1e6], ()),
    ("poisson_deviance", [1e-3, 2.0, 5.5, 900.0], [0.0, 0.0, 5.0, 1e3], ()),
    ("gamma_deviance", [1e-3, 1e3, 2.0], [2e-3, 5e2, 2.5], ()),
    ("tweedie_deviance", [1e-3, 4.0, 0.3, 1e3, 2.0], [0.0, 1e-3, 0.0, 2e3, 2.0 + 1e-9], ("-p", "power=1.5")),
    ("tweedie_deviance", [1e-3, 4.0, 0.3, 1e3, 2.0], [0.0, 1e-3, 0.0, 2e3, 2.0 + 1e-9], ("-p", "power=1")),
    ("tweedie_deviance", [1e-3, 1e3, 2.0], [2e-3, 5e2, 2.5], ("-p", "power=3")),
    ("tweedie_deviance", [1e-3, 4.0, 0.3, 1e3, 2.0], [-2.0, 1e-3, 0.0, -2e3, 2.0], ("-p", "power=-1")),
    ("poisson_nll", [0.3, -2.0, 4.0, 1.0], [0.0, 1.0, 1e6, 2.0], ("-p", "full=true")),
    ("poisson_nll", [0.3, 2.0, 4.0, 1.0], [0.0, 1.0, 1e6, 2.0], ("-p", "full=true", "-p", "log_input=false")),
]


@pytest.mark.parametrize("name, p, t, params", EXTREMES, ids=[f"{e[0]}{''.join(e[3])}" for e in EXTREMES])
def test_gradcheck_passes_at_extremes(run, tmp_path, name, p, t, params):
    np.save(tmp_path / "p.npy", np.array(p))
    np.save(tmp_path / "t.npy", np.array(t))
    result = run("gradcheck", name, tmp_path / "p.npy", tmp_path / "t.npy", *params)
    assert result.exit_code == 0, result.stdout + result.stderr


# -- bad input: one line, exit 2 ------------------------------------------------------------------
def _csv(path, column, values):
    pd.DataFrame({column: values}).to_csv(path, index=False)
    return path


BAD = [
    ("msle", [1.0, -1.5, 3.0], [1.0, 2.0, 3.0], (),
     "{d}/p.csv, line 3, column 'p': found -1.5 (msle expects values > -1: log(1 + x) is undefined at x <= -1)"),
    ("msle", [1.0, 2.0, 3.0], [-1.0, 2.0, 3.0], (),
     "{d}/t.csv, line 2, column 't': found -1 (msle expects values > -1: log(1 + x) is undefined at x <= -1)"),
    ("tweedie_deviance", [1.0, 2.0, 3.0], [1.0, 0.0, -1.0], ("-p", "power=1.5"),
     "{d}/t.csv, line 4, column 't': found -1 (tweedie_deviance with power=1.5 needs labels >= 0 and predictions > 0)"),
    ("tweedie_deviance", [1.0, 2.0, 3.0], [1.0, 0.0, 1.0], ("-p", "power=2"),
     "{d}/t.csv, line 3, column 't': found 0 (tweedie_deviance with power=2 needs labels > 0 and predictions > 0)"),
    ("tweedie_deviance", [1.0, 0.0, 3.0], [-1.0, 0.0, 1.0], ("-p", "power=-1"),
     "{d}/p.csv, line 3, column 'p': found 0 (tweedie_deviance with power=-1 needs predictions > 0)"),
    ("tweedie_deviance", [1.0, -2.0, 3.0], [1.0, 0.0, 1.0], ("-p", "power=1"),
     "{d}/p.csv, line 3, column 'p': found -2 (tweedie_deviance with power=1 needs labels >= 0 and predictions > 0)"),
    ("tweedie_deviance", [1.0, 2.0, 3.0], [1.0, 0.0, 1.0], ("-p", "power=0.5"),
     "parameter tweedie_deviance.power: must be <= 0 or >= 1 (no Tweedie distribution has 0 < power < 1), got 0.5"),
    ("tweedie_deviance", [1.0, 2.0, 3.0], [1.0, 0.0, 1.0], ("-p", "power=abc"),
     "parameter tweedie_deviance.power: expected a number, got 'abc'"),
    ("poisson_deviance", [1.0, 2.0, 3.0], [1.0, -1.0, 1.0], (),
     "{d}/t.csv, line 3, column 't': found -1 (poisson_deviance labels expects values >= 0)"),
    ("poisson_deviance", [1.0, 0.0, 3.0], [1.0, 0.0, 1.0], (),
     "{d}/p.csv, line 3, column 'p': found 0 (poisson_deviance predictions expects values > 0)"),
    ("gamma_deviance", [1.0, 2.0, 3.0], [1.0, 2.0, 0.0], (),
     "{d}/t.csv, line 4, column 't': found 0 (gamma_deviance labels expects values > 0)"),
    ("poisson_nll", [1.0, 2.0, 3.0], [1.0, 2.0, 1.0], ("-p", "full=maybe"),
     "parameter poisson_nll.full: expected true or false, got 'maybe'"),
    ("mape", [1.0, 2.0, 3.0], [1.0, 2.0, 1.0, 4.0], (),
     "{d}/p.csv has 3 rows but {d}/t.csv has 4 (every input needs one row per sample)"),
]


@pytest.mark.parametrize("name, p, t, params, message", BAD, ids=[f"{b[0]}-{i}" for i, b in enumerate(BAD)])
def test_bad_input_is_one_line_exit_2(run, tmp_path, name, p, t, params, message):
    result = run("compute", name, _csv(tmp_path / "p.csv", "p", p), _csv(tmp_path / "t.csv", "t", t), *params)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == f"Error: {message.format(d=tmp_path)}\n"


def test_a_bad_element_of_a_table_is_named_by_row_and_column(run, tmp_path):
    np.save(tmp_path / "p.npy", np.ones((2, 3)))
    np.save(tmp_path / "t.npy", np.array([[1.0, 2.0, 3.0], [1.0, 2.0, -3.0]]))
    result = run("compute", "tweedie_deviance", tmp_path / "p.npy", tmp_path / "t.npy", "-p", "power=2")
    assert result.exit_code == 2
    assert result.stderr == (f"Error: {tmp_path}/t.npy, index [1, 2]: found -3 (tweedie_deviance with "
                             "power=2 needs labels > 0 and predictions > 0)\n")


def test_power_zero_takes_any_reals_and_is_the_squared_error(run, tmp_path):
    p, t = [1.0, -2.0, 0.0], [-1.0, 0.0, 3.0]
    args = (_csv(tmp_path / "p.csv", "p", p), _csv(tmp_path / "t.csv", "t", t))
    assert _value(run("compute", "tweedie_deviance", *args, "--format", "json")) == pytest.approx(
        _value(run("compute", "mse", *args, "--format", "json")), rel=1e-15)


def test_validate_hooks_name_the_file_place_when_the_engine_gives_one():
    """The hooks take an optional at(role, row, col) -> 'file, line L, column C' (see the report):
    with it, the message leads with the file position instead of the array row."""
    def at(role, row, col):
        return f"{role}.csv, line {row + 2}" + ("" if col is None else f", column {col}")

    with pytest.raises(InputError, match=r"^labels\.csv, line 3: found -1 \(tweedie_deviance with power=3"):
        regression._tweedie_validate({"predictions": np.ones(2), "labels": np.array([1.0, -1.0])},
                                     {"power": 3.0}, at=at)
    with pytest.raises(InputError, match=r"^predictions\.csv, line 2, column 1: found -2 \(msle expects"):
        regression._msle_validate({"predictions": np.array([[0.0, -2.0]]), "labels": np.zeros((1, 2))}, {}, at=at)


# -- documented behaviour at the boundaries -------------------------------------------------------
def L(name, *arrays, **params):
    return losscli.get_loss(name)(*[np.asarray(a, dtype=np.float64) for a in arrays], **params)


def G(name, *arrays, **params):
    return losscli.get_loss(name).grad(*[np.asarray(a, dtype=np.float64) for a in arrays], **params)["predictions"]


def test_mape_denominator_is_floored_at_float64_eps():
    p = np.array([0.3, -2.0, 5.0, 1.0, 2.0, 1e-3])
    t = np.array([0.0, 1e-20, -1e-17, EPS, -EPS, 4e-16])
    expected = np.abs(p - t) / np.array([EPS, EPS, EPS, EPS, EPS, 4e-16])
    np.testing.assert_array_equal(L("mape", p, t), expected)
    assert L("mape", [0.3], [0.0])[0] == 0.3 / 2.220446049250313e-16
    np.testing.assert_array_equal(G("mape", p, t), np.sign(p - t) / np.maximum(np.abs(t), EPS))


def test_mape_is_a_fraction_and_zero_with_zero_gradient_at_p_equal_t():
    assert L("mape", [1.25, 3.0], [1.0, 3.0]).tolist() == [0.25, 0.0]
    assert G("mape", [1.25, 3.0], [1.0, 3.0]).tolist() == [1.0, 0.0]


def test_mape_beyond_float64_is_inf_without_a_warning():
    assert L("mape", [1e300, 1.0], [0.0, 2.0]).tolist() == [math.inf, 0.5]


def test_msle_negative_inputs_down_to_minus_one():
    assert L("msle", [-0.5], [0.0])[0] == pytest.approx(math.log(0.5) ** 2, rel=1e-15)  # Keras: 0
    assert L("msle", [-0.5], [0.0])[0] == pytest.approx(0.4805, abs=5e-5)
    p = -1.0 + 1e-12
    assert L("msle", [p], [0.0])[0] == pytest.approx(math.log1p(p) ** 2, rel=1e-15)
    assert G("msle", [p], [0.0])[0] == pytest.approx(2 * math.log1p(p) / (1 + p), rel=1e-12)


@pytest.mark.parametrize("p, t", [(1.0, 1.0 + 1e-10), (1e-12, 2e-12), (-0.5, -0.5 + 1e-13), (1e300, 1.5e300),
                                  (1e300, 1e-300), (-1 + 1e-15, 3.0), (2.0, 2.0), (1.7e308, -1 + 1e-16),
                                  (-1 + 1e-16, 1.7e308)])
def test_msle_against_mpmath(p, t):
    d = mpmath.log1p(mpmath.mpf(p)) - mpmath.log1p(mpmath.mpf(t))
    got, grad = L("msle", [p], [t])[0], G("msle", [p], [t])[0]
    assert got == pytest.approx(float(d ** 2), rel=1e-14, abs=0)
    assert grad == pytest.approx(float(2 * d / (1 + mpmath.mpf(p))), rel=1e-14, abs=0)


def _mp_tweedie(mu, y, power):
    mu, y, p = mpmath.mpf(mu), mpmath.mpf(y), mpmath.mpf(power)
    if p == 0:
        return (y - mu) ** 2
    if p == 1:
        return 2 * ((y * mpmath.log(y / mu) if y > 0 else 0) - y + mu)
    if p == 2:
        return 2 * (mpmath.log(mu / y) + y / mu - 1)
    return 2 * ((y if y > 0 else 0) ** (2 - p) / ((1 - p) * (2 - p)) - y * mu ** (1 - p) / (1 - p)
                + mu ** (2 - p) / (2 - p))


TWEEDIE_POINTS = [(1 + 1e-7, 1.0), (1 + 1e-9, 1.0), (1.0, 1 + 1e-12), (3.7, 2.1), (1e-3, 5e2), (5e2, 1e-3),
                  (1e100, 1e100 * (1 + 1e-8)), (1e-100, 3e-100), (2.0, 0.0), (0.5, -3.0)]


@pytest.mark.parametrize("power", [0.0, 1.0, 1 + 1e-9, 1.5, 2.0, 2.5, 3.0, -1.0, -0.5, 5.0])
def test_tweedie_deviance_against_mpmath(power):
    """Relative 1e-14 everywhere, including μ ≈ y where scikit-learn's float64 form has no digit left."""
    for mu, y in TWEEDIE_POINTS:
        if (y < 0 and power >= 1) or (y == 0 and power >= 2):
            continue
        exact = _mp_tweedie(mu, y, power)
        got = L("tweedie_deviance", [mu], [y], power=power)[0]
        assert got == pytest.approx(float(exact), rel=1e-14, abs=1e-300), (mu, y)
        grad = G("tweedie_deviance", [mu], [y], power=power)[0]
        exact_grad = 2 * (mpmath.mpf(mu) - mpmath.mpf(y)) * mpmath.mpf(mu) ** (-mpmath.mpf(power))
        assert grad == pytest.approx(float(exact_grad), rel=1e-14, abs=1e-300), (mu, y)


def test_scikit_learns_form_cancels_where_losscli_does_not():
    """The documented example: ρ = 1.5, y = 1, μ = 1 + 1e-7 — the three-term form in float64 is 7%
    off; losscli's agrees with mpmath."""
    mu, y, p = 1 + 1e-7, 1.0, 1.5
    three_term = 2 * (y ** (2 - p) / ((1 - p) * (2 - p)) - y * mu ** (1 - p) / (1 - p) + mu ** (2 - p) / (2 - p))
    exact = float(_mp_tweedie(mu, y, p))
    assert abs(three_term - exact) / exact > 0.05
    assert L("tweedie_deviance", [mu], [y], power=p)[0] == pytest.approx(exact, rel=1e-15)


def test_tweedie_special_powers_are_the_named_deviances():
    rng = np.random.default_rng(3)
    mu, y = rng.uniform(0.1, 5, (6, 2)), rng.uniform(0.1, 5, (6, 2))
    np.testing.assert_allclose(L("tweedie_deviance", mu, y, power=0.0), L("mse", mu, y), rtol=1e-15)
    np.testing.assert_allclose(L("tweedie_deviance", mu, y, power=1.0), L("poisson_deviance", mu, y), rtol=1e-15)
    np.testing.assert_allclose(L("tweedie_deviance", mu, y, power=2.0), L("gamma_deviance", mu, y), rtol=1e-15)
    # the limits are continuous: ρ = 1 ± 1e-9 and 2 ± 1e-9 are within 1e-8 of the named deviances
    for p0, name in ((1.0, "poisson_deviance"), (2.0, "gamma_deviance")):
        for dp in (-1e-9, 1e-9):
            if 0 < p0 + dp < 1:
                continue
            np.testing.assert_allclose(L("tweedie_deviance", mu, y, power=p0 + dp), L(name, mu, y), rtol=1e-8)


def test_poisson_deviance_is_twice_the_nll_above_its_minimum():
    mu, y = np.array([0.5, 2.0, 7.0, 3.0]), np.array([0.0, 3.0, 7.0, 1.0])
    nll = L("poisson_nll", mu, y, log_input=False, eps=1e-300)
    at_min = L("poisson_nll", np.where(y > 0, y, 1.0), y, log_input=False, eps=1e-300) * (y > 0)
    np.testing.assert_allclose(L("poisson_deviance", mu, y), 2 * (nll - at_min), rtol=1e-13, atol=1e-15)
    assert L("poisson_deviance", [0.5], [0.0])[0] == 1.0  # y = 0: 2μ


def test_gamma_deviance_is_scale_free():
    mu, y = np.array([0.5, 2.0, 7.0]), np.array([1.0, 3.0, 7.0])
    for c in (1e-200, 1e-5, 1e5, 1e200):
        np.testing.assert_allclose(L("gamma_deviance", c * mu, c * y), L("gamma_deviance", mu, y), rtol=1e-14)


def test_deviances_at_the_range_limits_are_finite_or_inf_never_nan():
    mu = np.array([1e-300, 1e300, 1e300, 1e-300, 1.0])
    y = np.array([1e300, 1e-300, 1e300, 1e-300, 1e-300])
    for power in (-1.0, 1.0, 1.5, 2.0, 3.0, 5.0):
        values = L("tweedie_deviance", mu, y, power=power)
        assert not np.isnan(values).any(), power
        assert (values >= 0).all(), power
        assert not np.isnan(G("tweedie_deviance", mu, y, power=power)).any(), power
    for power in (3.0, 5.0, -3.0):  # μ = y: 0 even where y^(2-ρ) alone is beyond float64
        assert L("tweedie_deviance", [1e-300, 1e300], [1e-300, 1e300], power=power).tolist() == [0.0, 0.0]
        assert G("tweedie_deviance", [1e-300, 1e300], [1e-300, 1e300], power=power).tolist() == [0.0, 0.0]


def test_poisson_nll_full_adds_pytorchs_stirling_term_above_one():
    z, t = np.array([0.3, 0.3, 0.3, 0.3, 0.3]), np.array([0.0, 0.5, 1.0, 2.0, 1e6])
    stirling = np.array([0.0, 0.0, 0.0] + [v * math.log(v) - v + 0.5 * math.log(2 * math.pi * v) for v in (2.0, 1e6)])
    np.testing.assert_allclose(L("poisson_nll", z, t, full=True) - L("poisson_nll", z, t), stirling, rtol=1e-12)
    assert stirling[3] == pytest.approx(0.6518, abs=5e-5)  # log 2! = 0.6931: an approximation
    np.testing.assert_array_equal(G("poisson_nll", z, t, full=True), G("poisson_nll", z, t))
    np.testing.assert_array_equal(G("poisson_nll", np.exp(z), t, full=True, log_input=False),
                                  G("poisson_nll", np.exp(z), t, log_input=False))


def test_gaussian_nll_full_adds_half_log_two_pi():
    mu, t, var = np.array([0.0, 1.0]), np.array([0.5, -1.0]), np.array([2.0, 1e-9])
    np.testing.assert_allclose(L("gaussian_nll", mu, t, var, full=True),
                               L("gaussian_nll", mu, t, var) + 0.5 * math.log(2 * math.pi), rtol=1e-15)
    assert regression.HALF_LOG_2PI == 0.9189385332046727
    g_full = losscli.get_loss("gaussian_nll").grad(mu, t, var, full=True)
    g = losscli.get_loss("gaussian_nll").grad(mu, t, var)
    for role in ("mean", "var"):
        np.testing.assert_array_equal(g_full[role], g[role])


def test_defaults_unchanged_full_is_false():
    assert losscli.get_loss("poisson_nll").params["full"].default is False
    assert losscli.get_loss("gaussian_nll").params["full"].default is False
    assert L("gaussian_nll", [0.0], [0.0], [1.0])[0] == 0.0


@pytest.mark.parametrize("power", [1e-12, 0.5, 1 - 1e-12])
def test_every_power_strictly_between_zero_and_one_is_refused(power):
    loss = losscli.get_loss("tweedie_deviance")
    for call in (loss, loss.grad, loss.fn):  # also without validation (gradcheck's random inputs)
        with pytest.raises(losscli.errors.ParameterError, match="must be <= 0 or >= 1"):
            call(np.ones(2), np.ones(2), power=power)


def test_mbe_ranks_its_worst_samples_and_slices_by_the_size_of_the_bias(run, tmp_path):
    """mbe is signed and either sign is a bias: its "worst" samples were the largest signed values,
    so an over-prediction of 40 (l = -40) came last. Samples, slices and each slice's samples are
    now ranked by |l|, across blocks (--block-rows 3) as in one."""
    rng = np.random.default_rng(4)
    p, t = rng.normal(size=40), rng.normal(size=40)
    p[[7, 23]], p[31] = (40.0, 25.0), -12.0  # l = t - p: two large negatives, one positive
    g = np.where(np.arange(40) % 4 == 0, "over", np.where(np.arange(40) % 4 == 1, "under", "rest"))
    p[g == "over"] += 5.0  # a slice of mean bias about -5, beside slices of about 0
    p[g == "under"] -= 1.0
    pd.DataFrame({"p": p, "g": g}).to_csv(tmp_path / "p.csv", index=False)
    pd.DataFrame({"t": t}).to_csv(tmp_path / "t.csv", index=False)
    out = run("compute", "mbe", f"{tmp_path / 'p.csv'}:p", tmp_path / "t.csv", "--by-file", f"{tmp_path / 'p.csv'}:g",
              "--top", "6", "--block-rows", "3", "--min-slice-size", "5", "--format", "json")
    assert out.exit_code == 0, out.stderr
    rec = json.loads(out.stdout)["results"][0]
    r = t - p
    by_size = np.argsort(-np.abs(r), kind="stable")
    assert [w["index"] for w in rec["worst"]] == by_size[:6].tolist()
    assert rec["worst"][0] == {"index": 7, "loss": r[7]}
    means = {k: float(np.mean(r[g == k])) for k in ("over", "under", "rest")}
    assert [(s["key"]["g"], s["ranked"]) for s in rec["slices"]] == [(k, True) for k in sorted(means, key=lambda k: -abs(means[k]))]
    for s in rec["slices"]:
        rows = np.flatnonzero(g == s["key"]["g"])
        assert [w["index"] for w in s["worst"]] == rows[np.argsort(-np.abs(r[rows]), kind="stable")][:6].tolist()


def test_compare_judges_mbe_by_the_size_of_the_bias(run, tmp_path):
    """compare read a larger signed bias as worse: a candidate whose bias went from -0.47 to -0.01 was
    "worse 86%" and FAILed --fail-if-worse, and one that went to -1.96 PASSed. Its change, shares,
    interval and worst regressions are of |l| and |value|, in compare and in a baseline gate alike."""
    rng = np.random.default_rng(8)
    y = rng.normal(size=200)
    over, fair, worse = y + 0.5 + 0.3 * rng.normal(size=200), y + 0.3 * rng.normal(size=200), y + 2 + rng.normal(size=200)
    for name, values in (("y", y), ("over", over), ("fair", fair), ("worse", worse)):
        pd.DataFrame({"v": values}).to_csv(tmp_path / f"{name}.csv", index=False)
    for cand, code in (("fair", 0), ("worse", 1)):
        out = run("compare", "mbe", tmp_path / "over.csv", tmp_path / f"{cand}.csv", tmp_path / "y.csv",
                  "--fail-if-worse", "--format", "json")
        assert out.exit_code == code, out.stderr
        rec = json.loads(out.stdout)["results"][0]
        rb, rc = y - over, y - {"fair": fair, "worse": worse}[cand]
        assert rec["change"] == pytest.approx(abs(rc.mean()) - abs(rb.mean()), rel=1e-12)
        assert (rec["better"], rec["worse"], rec["change_of"]) == (np.mean(np.abs(rc) < np.abs(rb)),
                                                                   np.mean(np.abs(rc) > np.abs(rb)), "|value|")
        lo, hi = rec["bootstrap"]["interval"]
        assert lo <= rec["change"] <= hi and (hi < 0 if cand == "fair" else lo > 0)
        (tmp_path / "gate.toml").write_text(f'[[gate]]\nloss = "mbe"\ninputs = ["{cand}.csv", "y.csv"]\n'
                                            'baseline = "over.csv"\nmax_increase = 0\n')
        assert run("check", tmp_path / "gate.toml").exit_code == code
