"""Values at the edges of float64 through the CLI, against mpmath at high precision (an outside
review's cases, 2026-11-23): logits sharing a large offset, statistics of losses near float64's
largest value, terms that overflow only when formed in the wrong order."""

from __future__ import annotations

import json

import mpmath
import numpy as np
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
