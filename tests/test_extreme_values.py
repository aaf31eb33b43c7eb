"""Values at the edges of float64 through the CLI, against mpmath at high precision (an outside
review's cases, 2026-11-23): logits sharing a large offset, statistics of losses near float64's
largest value, terms that overflow only when formed in the wrong order."""

from __future__ import annotations

import json
import math

import mpmath
import numpy as np
import pandas as pd
import pytest

ALPHA, GAMMA, EPSILON, SMOOTHING = 0.25, 2.0, 2.0, 0.1

#: rows of logits that share an offset: equal logits of 1e17 (log C), integers beside 1e16, 1e8 + (0, 1, -1),
#: 1e12 + noise, a row of 1e300 with one 0
LOGITS = np.array([[1e17, 1e17, 1e17], [1e16, 1e16 + 2, 1e16], 1e8 + np.array([0.0, 1.0, -1.0]),
                   1e12 + np.array([0.37, -1.21, 2.5]), [1e300, 1e300, 0.0], [-1e300, -1e300, -1e300]])
LABELS = np.array([1, 1, 0, 2, 0, 2])


def _per_sample(run, tmp_path, loss, *arrays, params=()):
    paths = []
    for i, a in enumerate(arrays):
        paths.append(tmp_path / f"in{i}.npy")
        np.save(paths[-1], a)
    out = run("compute", loss, *paths, *params, "--per-sample", "--format", "json")
    assert out.exit_code == 0, out.stderr
    assert out.stderr == ""
    return json.loads(out.stdout)["results"][0]["per_sample"]


def _log_softmax(row) -> list:
    """log softmax of one row of float64 logits, exactly enough: relative to its maximum at 2,000 digits."""
    with mpmath.workdps(2000):
        z = [mpmath.mpf(float(v)) for v in row]
        m = max(z)
        lse = mpmath.log(sum(mpmath.exp(v - m) for v in z))
        return [v - m - lse for v in z]


def _reference(loss: str, row, label: int) -> float:
    ls = _log_softmax(row)
    with mpmath.workdps(2000):
        c = len(ls)
        if loss == "softmax_ce, one-hot rows":
            return float(-ls[label])
        if loss == "softmax_ce, smoothing":
            return float(-sum(((1 - SMOOTHING) * (k == label) + mpmath.mpf(SMOOTHING) / c) * v for k, v in enumerate(ls)))
        if loss == "poly1, one-hot rows":
            return float(-ls[label] + EPSILON * (1 - mpmath.exp(ls[label])))
        p_t = mpmath.exp(ls[label])
        return float(-ALPHA * (1 - p_t) ** GAMMA * ls[label])


@pytest.mark.parametrize("loss", ["softmax_ce, one-hot rows", "softmax_ce, smoothing", "poly1, one-hot rows",
                                  "softmax_focal"])
def test_logits_sharing_a_large_offset(run, tmp_path, loss):
    """Each row relative to its maximum: softmax_ce on label rows or with label smoothing, poly1 on
    label rows and softmax_focal's (1 - p_t)^γ computed z - logsumexp(z), which adds the offset back
    and loses what lies below its precision: equal logits of 1e17 gave 0 for log 3, 1e8 + (0, 1, -1)
    lost 2.5e-9 of the value, softmax_focal's factor was 1 where it is (2/3)²."""
    name = loss.split(",")[0]
    labels = np.eye(3)[LABELS] if "one-hot" in loss else LABELS
    params = {"softmax_ce, smoothing": ("-p", f"label_smoothing={SMOOTHING}"),
              "softmax_focal": ("-p", f"alpha={ALPHA}", "-p", f"gamma={GAMMA}"),
              "poly1, one-hot rows": ("-p", f"epsilon={EPSILON}")}.get(loss, ())
    got = _per_sample(run, tmp_path, name, LOGITS, labels, params=params)
    expected = [_reference(loss, row, int(y)) for row, y in zip(LOGITS, LABELS)]
    assert got == pytest.approx(expected, rel=1e-14, abs=0)


def test_statistics_and_intervals_of_losses_near_the_largest_double(run, tmp_path):
    """Per-sample losses of 1e306–1.5e308 are finite, and so are their statistics: the std of three
    equal values of 1.5e308 was null (δ² · 0 in the first block's update), and --ci's interval was
    [null, null] with numpy's overflow and invalid-value warnings on stderr. Scaled by an exact power
    of two, the same losses give the same interval, scaled."""
    np.save(tmp_path / "p3.npy", np.full(3, 1.5e308))
    np.save(tmp_path / "zero.npy", np.zeros(3))
    out = run("compute", "mae", tmp_path / "p3.npy", tmp_path / "zero.npy", "--format", "json")
    stats = json.loads(out.stdout)["results"][0]["stats"]
    assert (stats["mean"], stats["std"], out.stderr) == (1.5e308, 0.0, "")
    big = np.random.default_rng(0).uniform(1e306, 1e307, 40)
    np.save(tmp_path / "zero.npy", np.zeros(40))
    intervals = []
    for k, values in ((0, big), (1000, big / 2.0 ** 1000)):
        np.save(tmp_path / "p.npy", values)
        out = run("compute", "mae", tmp_path / "p.npy", tmp_path / "zero.npy", "--ci", "--format", "json")
        assert (out.exit_code, out.stderr) == (0, "")
        rec = json.loads(out.stdout)["results"][0]
        intervals.append([v * 2.0 ** k for v in rec["ci"]["interval"]])
        assert rec["stats"]["std"] * 2.0 ** k == pytest.approx(float(np.std(big / 1e300)) * 1e300, rel=1e-13)
    assert intervals[0] == intervals[1]
    assert intervals[0][0] < float(np.mean(big / 1e300)) * 1e300 < intervals[0][1]


@pytest.mark.parametrize("w_scale, l_scale", [(2.0 ** 1017, 1.0), (2.0 ** 664, 2.0 ** 664), (2.0 ** -1070, 1.0),
                                              (2.0 ** -600, 2.0 ** -500)])
def test_intervals_with_weights_near_the_ends_of_float64_are_those_of_unit_weights(run, tmp_path, w_scale, l_scale):
    """Weights of ~1e306 overflowed Σw in each resample (an interval of [0, 0], a --significant gate
    that passed a regression); weights of 1e200 beside losses of 1e200 overflowed w·l (an interval
    of [nan, nan] with numpy's warnings, a gate that failed an improvement); subnormal weights lost
    digits. Scaled by exact powers of two, the weights leave a mean's interval bit for bit as it is,
    and the losses scale it."""
    rng = np.random.default_rng(11)
    n = 200
    w, y = rng.integers(1, 4, n) / 2.0, rng.standard_normal(n)  # (0.5, 1, 1.5: exact at 2^-1070 too)
    base, cand = y + rng.standard_normal(n), y + 0.9 * rng.standard_normal(n)
    intervals = {}
    for case, (ws, ls) in {"unit": (1.0, 1.0), "scaled": (w_scale, l_scale)}.items():
        k = math.sqrt(ls)  # (mse scales by the square of the values)
        pd.DataFrame({"b": base * k, "c": cand * k, "y": y * k, "w": w * ws}).to_csv(tmp_path / "f.csv", index=False)
        f = tmp_path / "f.csv"
        ci = run("compute", "mse", f"{f}:c", f"{f}:y", "--weights", f"{f}:w", "--ci", "--format", "json")
        cmp = run("compare", "mse", f"{f}:b", f"{f}:c", f"{f}:y", "--weights", f"{f}:w", "--fail-if-worse",
                  "--significant", "--format", "json")
        assert (ci.exit_code, ci.stderr, cmp.stderr) == (0, "", ""), ci.stderr + cmp.stderr
        intervals[case] = ([v / ls for v in json.loads(ci.stdout)["results"][0]["ci"]["interval"]],
                           [v / ls for v in json.loads(cmp.stdout)["results"][0]["bootstrap"]["interval"]],
                           cmp.exit_code)
    assert intervals["scaled"] == intervals["unit"]
    assert all(np.isfinite(v) for part in intervals["unit"][:2] for v in part)


def test_an_interval_of_losses_spanning_300_decades_keeps_its_small_end(run, tmp_path):
    """Losses from 1e-200 to 1e100 (one of 1e100 among 39 of ~1e-200): every resample's mean is > 0,
    and so is the interval's lower end; scaled down so that the largest was 1, the small losses
    underflowed and the interval began at 0.0 (review 75 #4)."""
    d = np.full(40, 1e-100) * np.sqrt(np.linspace(1, 2, 40))
    d[1] = 1e100
    np.save(tmp_path / "p.npy", d)
    np.save(tmp_path / "y.npy", np.zeros(40))
    out = run("compute", "mse", tmp_path / "p.npy", tmp_path / "y.npy", "--ci", "--bootstrap", 2000, "--format", "json")
    lo, hi = json.loads(out.stdout)["results"][0]["ci"]["interval"]
    assert 1e-200 < lo < 2e-200 and hi == pytest.approx(1e199, rel=1e-12)


def test_log_cosh_is_exact_where_its_stable_form_cancels(run, tmp_path):
    """Just above the series (|d| >= 1e-3) |d| + log1p(e^-2|d|) - ln 2 still subtracts ~ln 2 from
    ~ln 2: 5e-11 relative at 1e-3, 1e-10 at 1.0001e-3."""
    d = np.array([1e-3, 1.0001e-3, 1.5e-3, 3e-3, 0.01, 0.1, 0.5, 0.999, 1.0, 3.0, -0.25])
    got = _per_sample(run, tmp_path, "log_cosh", d, np.zeros_like(d))
    with mpmath.workdps(50):
        expected = [float(mpmath.log(mpmath.cosh(mpmath.mpf(float(v))))) for v in d]
    assert got == pytest.approx(expected, rel=4e-16, abs=0)


def test_gaussian_nll_where_the_square_overflows_but_the_loss_does_not(run, tmp_path):
    """(t - μ)²/v with t - μ = 1e200 and v = 1e200 is 1e200: formed as d² first it overflowed, and a
    finite loss was refused as "overflows float64". Its gradient w.r.t. v, (1/v - d²/v²)/2, was 1/(2v)
    where v² overflowed."""
    mean, target, var = np.array([1e200, 3.0]), np.array([0.0, 1.0]), np.array([1e200, 2.0])
    got = _per_sample(run, tmp_path, "gaussian_nll", mean, target, var)
    with mpmath.workdps(50):
        expected = [float(0.5 * (mpmath.log(v) + (mpmath.mpf(t) - m) ** 2 / v)) for m, t, v in zip(mean, target, var)]
    assert got == pytest.approx(expected, rel=1e-15)
    out = run("compute", "gaussian_nll", *(tmp_path / f"in{i}.npy" for i in range(3)), "--reduction", "sum",
              "--save-grad", tmp_path / "g.npz", "--format", "value")
    assert out.exit_code == 0, out.stderr
    grad = np.load(tmp_path / "g.npz")["var"]
    assert grad.tolist() == pytest.approx([0.5 * (1 / 1e200 - 1.0), 0.5 * (1 / 2.0 - 1.0)], rel=1e-15)


def test_contrastive_with_a_margin_beyond_1e154(run, tmp_path):
    """A similar pair (y = 1) does not see the margin, whatever it is: (1 - y)·max(0, m - d)² was 0·inf
    for m > 1.34e154, and the loss was refused as undefined (NaN)."""
    x1, x2 = np.array([[0.0, 0.0], [1.0, 2.0], [3.0, 4.0]]), np.array([[0.0, 0.0], [1.0, 2.0], [0.0, 0.0]])
    got = _per_sample(run, tmp_path, "contrastive", x1, x2, np.ones(3), params=("-p", "margin=1e155"))
    assert got == [0.0, 0.0, 12.5]


@pytest.mark.parametrize("extra", [(), ("--block-rows", "7"), ("--engine", "dask", "--block-rows", "7")])
def test_slices_of_losses_near_the_largest_double(run, tmp_path, extra):
    """--by: a slice's value, mean and std of losses of 1e306–1e307 were inf or null (its sums and
    squares passed float64); a slice of small losses beside it keeps its precision (each slice is
    scaled alone, by a power of two)."""
    import pandas as pd

    rng = np.random.default_rng(1)
    p = np.r_[rng.uniform(1e306, 1e307, 30), rng.uniform(0.1, 0.2, 30)]
    g = np.r_[np.zeros(30, dtype=int), np.ones(30, dtype=int)]
    order = rng.permutation(60)
    pd.DataFrame({"p": p[order], "y": 0.0, "g": g[order]}).to_csv(tmp_path / "d.csv", index=False)
    out = run("compute", "mae", f"{tmp_path}/d.csv:p", f"{tmp_path}/d.csv:y", "--by", "g", "--format", "json", *extra)
    assert (out.exit_code, out.stderr) == (0, "")
    slices = {s["key"]["g"]: s for s in json.loads(out.stdout)["results"][0]["slices"]}
    for k, scale in ((0, 1e300), (1, 1.0)):
        v = p[g == k] / scale
        assert slices[k]["value"] == pytest.approx(float(np.mean(v)) * scale, rel=1e-14)
        assert slices[k]["stats"]["mean"] == pytest.approx(float(np.mean(v)) * scale, rel=1e-14)
        assert slices[k]["stats"]["std"] == pytest.approx(float(np.std(v)) * scale, rel=1e-12)
