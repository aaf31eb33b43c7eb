"""Review 92 (the catalogue at its extremes, through the CLI) and review 93 #3 (float32 weights)."""

import numpy as np
import pandas as pd
import pytest


def _value(run, *args):
    res = run("compute", *args, "--format", "value")
    assert res.exit_code == 0, res.stderr
    return [float(v) for v in res.stdout.split()]


def test_kl_of_a_distribution_with_itself_is_zero_below_the_clip(run, tmp_path):
    """p = q with classes below eps = 1e-7 (float32 softmax rows have them): 0, not p ln(p/eps) = -4.6e-9."""
    same = np.array([[1e-9, 1 - 1e-9], [0.0, 1.0], [3e-8, 1 - 3e-8]])
    np.save(tmp_path / "q.npy", same)
    assert _value(run, "kl", tmp_path / "q.npy", tmp_path / "q.npy", "--reduction", "none") == [0.0, 0.0, 0.0]
    rng = np.random.default_rng(0)
    z = rng.normal(0, 12, size=(200, 10)).astype(np.float32)
    p = np.exp(z - z.max(1, keepdims=True))
    p = (p / p.sum(1, keepdims=True)).astype(np.float32)
    assert (p < 1e-7).any()
    np.save(tmp_path / "p32.npy", p)
    assert set(_value(run, "kl", tmp_path / "p32.npy", tmp_path / "p32.npy", "--reduction", "none")) == {0.0}


def test_kl_is_never_below_zero_and_is_torchs_above_the_clip(run, tmp_path):
    """(q below p below eps: the clipped class's term is 0 and the others fall short; the sum is held at 0.)"""
    rng = np.random.default_rng(1)
    q = rng.dirichlet(np.full(6, 0.05), size=300)  # many classes far below 1e-7
    p = rng.dirichlet(np.full(6, 0.05), size=300)
    q[:100] = p[:100] * (1 + rng.normal(0, 1e-3, (100, 6)))  # near-equal rows
    q[:100] /= q[:100].sum(1, keepdims=True)
    np.save(tmp_path / "q.npy", q)
    np.save(tmp_path / "p.npy", p)
    values = np.array(_value(run, "kl", tmp_path / "q.npy", tmp_path / "p.npy", "--reduction", "none"))
    assert (values >= 0).all()
    above = (q >= np.minimum(1e-7, p)).all(axis=1)  # no clip: KL exactly as torch's kl_div(log q, p)
    with np.errstate(divide="ignore", invalid="ignore"):
        exact = np.sum(np.where(p > 0, p * (np.log(p) - np.log(q)), 0.0), axis=1)
    np.testing.assert_allclose(values[above], exact[above], rtol=1e-12, atol=1e-15)
    assert 30 < above.sum() < 300  # (both kinds of row)


def test_bce_eps_is_one_that_1_minus_eps_can_hold(run, tmp_path):
    np.save(tmp_path / "p.npy", np.array([1.0, 0.0]))
    np.save(tmp_path / "y.npy", np.array([1.0, 0.0]))
    res = run("compute", "bce", tmp_path / "p.npy", tmp_path / "y.npy", "-p", "eps=1e-17")
    assert res.exit_code == 2 and res.stderr == (
        "Error: parameter bce.eps: must be (5.551115123125783e-17,0.5), got 1e-17\n")
    # (1e-16 > 2^-54: 1 - 1e-16 rounds to 1 - 2^-53 < 1, and p = 1 with y = 1 costs -log(1 - 2^-53))
    assert _value(run, "bce", tmp_path / "p.npy", tmp_path / "y.npy", "-p", "eps=1e-16",
                  "--reduction", "none") == [-np.log1p(-2.0 ** -53), -np.log1p(-1e-16)]


def test_kl_of_log_targets_that_underflow_beside_q_0_is_0(run, tmp_path):
    """Review 96 #1: log p = -1000 (exp underflows to 0) beside q = 0 was 0·inf = NaN (exit 2)."""
    np.save(tmp_path / "q.npy", np.array([[0.0, 1.0]]))
    np.save(tmp_path / "lp.npy", np.array([[-1000.0, 0.0]]))
    assert _value(run, "kl", tmp_path / "q.npy", tmp_path / "lp.npy", "-p", "log_target=true") == [0.0]
    assert _value(run, "kl", tmp_path / "q.npy", tmp_path / "lp.npy", "-p", "log_target=true", "--dtype",
                  "float32") == [0.0]


def test_a_loss_beyond_float32_is_said_to_overflow_float32(run, tmp_path):
    np.save(tmp_path / "p.npy", np.array([1e20]))
    np.save(tmp_path / "y.npy", np.array([0.0]))
    res = run("compute", "mse", tmp_path / "p.npy", tmp_path / "y.npy", "--dtype", "float32")
    assert res.exit_code == 2 and res.stderr == (
        "Error: mse: the loss is infinite in float32 (--dtype float32 computes per-sample losses in it) at row 0 (1 of 1 "
        "rows) although the inputs are finite: --dtype float64 computes it\n")
    assert _value(run, "mse", tmp_path / "p.npy", tmp_path / "y.npy") == [1e40]


def test_float32_weights_are_summed_in_float64(run, tmp_path):
    """Review 93 #3: Σw of float32 weights was summed in float32 within each block: the value moved with
    --block-rows (8e-8 relative) and the engine."""
    rng = np.random.default_rng(2)
    n = 100_000
    frame = pd.DataFrame({"pred": rng.normal(size=n), "label": rng.normal(size=n), "w": rng.uniform(0, 3, n)})
    frame.to_csv(tmp_path / "d.csv", index=False)
    f32 = {c: frame[c].to_numpy().astype(np.float32) for c in frame}
    loss = ((f32["pred"] - f32["label"]) ** 2).astype(np.float64)  # (float32 losses, as --dtype float32 computes)
    w = f32["w"].astype(np.float64)
    right = float(np.sum(loss * w) / np.sum(w))
    got = {br: _value(run, "mse", f"{tmp_path}/d.csv:pred", f"{tmp_path}/d.csv:label", "--weights",
                      f"{tmp_path}/d.csv:w", "--dtype", "float32", "--block-rows", br)[0]
           for br in ("1000", "4096", "100000")}
    for v in got.values():
        assert v == pytest.approx(right, rel=1e-14)


@pytest.mark.parametrize("loss", ["infonce", "nt_xent"])
def test_a_temperature_whose_inverse_overflows_is_refused(run, tmp_path, loss):
    np.save(tmp_path / "e.npy", np.eye(2))
    res = run("compute", loss, tmp_path / "e.npy", tmp_path / "e.npy", "-p", "temperature=5e-309")
    assert res.exit_code == 2 and res.stderr == (
        f"Error: parameter {loss}.temperature: must be >=5.56268464626801e-309, got 5e-309\n")
    assert _value(run, loss, tmp_path / "e.npy", tmp_path / "e.npy", "-p", "temperature=5.57e-309") == [0.0]


def test_a_zero_loss_is_never_written_negative(run, tmp_path):
    """-cos of zero vectors, a perfect alignment: 0, not -0.0, in every output."""
    import json
    import re

    def numbers(x):
        if isinstance(x, dict):
            return [n for v in x.values() for n in numbers(v)]
        if isinstance(x, list):
            return [n for v in x for n in numbers(v)]
        return [x] if isinstance(x, float) else []

    np.save(tmp_path / "z.npy", np.zeros((2, 3)))
    args = ["compute", "cosine_similarity", tmp_path / "z.npy", tmp_path / "z.npy"]
    for extra in ([], ["--reduction", "none"]):
        values = numbers(json.loads(run(*args, *extra, "--format", "json").stdout))
        assert values and not any(v == 0 and np.signbit(v) for v in values)
        for fmt in ("csv", "value"):
            out = run(*args, *extra, "--format", fmt).stdout
            assert not re.search(r"(^|[,\s])-0(\.0*)?($|[,\s])", out), (fmt, out)


def test_a_plugins_float32_code_is_not_told_to_use_dtype(run, tmp_path):
    """Review 96 #5: a plugin returning float32 on float64 inputs was told '--dtype float64 computes it'."""
    (tmp_path / "p32.py").write_text(
        "import numpy as np\nfrom losscli import register_loss, Input\n"
        "@register_loss('sq32', inputs=(Input('predictions', 'N'), Input('labels', 'N')), category='regression')\n"
        "def sq32(predictions, labels):\n    return ((predictions - labels) ** 2).astype(np.float32)\n")
    np.save(tmp_path / "p.npy", np.array([1e20, 1.0]))
    np.save(tmp_path / "y.npy", np.array([0.0, 0.0]))
    res = run("--plugin", tmp_path / "p32.py", "compute", "sq32", tmp_path / "p.npy", tmp_path / "y.npy")
    assert res.exit_code == 2 and res.stderr == (
        "Error: sq32: the loss is infinite in float32, the precision the loss's code returned at row 0 (1 of 2 rows) "
        "although the inputs are finite: compute it in float64\n")


def test_kl_rows_equal_but_for_rounding_keep_torchs_gradient(run, tmp_path):
    """Review 97 #2: rows with q = p within a few ulps sum to -1e-17; held at 0, their saved gradient was 0
    where torch's (and the documented formula's, no clip there) is -p/q/N."""
    rng = np.random.default_rng(3)
    p = rng.dirichlet(np.ones(5), size=400)
    q = p * (1 + rng.integers(-3, 4, size=p.shape) * 2.0**-52)
    np.save(tmp_path / "q.npy", q)
    np.save(tmp_path / "p.npy", p)
    res = run("compute", "kl", tmp_path / "q.npy", tmp_path / "p.npy", "--save-grad", tmp_path / "g.npz",
              "--format", "value")
    assert res.exit_code == 0, res.stderr
    g = np.load(tmp_path / "g.npz")["predictions"]
    assert np.abs(q.sum(axis=1) - 1).max() < 1e-12  # (rows used as given: none renormalised)
    np.testing.assert_allclose(g, -p / q / len(p), rtol=1e-12)  # torch's kl_div(log q, p, 'batchmean')
    assert float(res.stdout) >= 0


def test_kl_off_the_simplex_by_an_ulp_keeps_torchs_gradient_on_unclipped_classes(run, tmp_path):
    """Review 98 #5: q one ulp above p in one class and one below p (< 1e-7) in the other: the row was held at
    0 with a zero gradient; torch's sum is below 0 too (q sums to 1 + 1 ulp), so only the clipped class is 0."""
    p = np.array([[1 - 3e-8, 3e-8]])
    q = np.array([[np.nextafter(p[0, 0], 2.0), np.nextafter(p[0, 1], 0.0)]])
    np.save(tmp_path / "q.npy", q)
    np.save(tmp_path / "p.npy", p)
    res = run("compute", "kl", tmp_path / "q.npy", tmp_path / "p.npy", "--save-grad", tmp_path / "g.npz")
    assert res.exit_code == 0, res.stderr
    g = np.load(tmp_path / "g.npz")["predictions"]
    assert g[0, 0] == pytest.approx(-p[0, 0] / q[0, 0], rel=1e-15) and g[0, 1] == 0.0
