"""Behaviour a reviewer found the rest of the suite did not pin down (each test names the mutation
it kills). Only the CLI (``losscli.cli.main`` through the ``run`` fixtures, or a subprocess) and
the public Python API (``losscli.get_loss``, ``register_loss`` through ``--plugin`` files,
``unregister_loss``) are used: no private module is imported."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import losscli

from .conftest import write_csv


def _column(path, name, values):
    """One-column CSV written with every digit (repr round-trips float64 exactly)."""
    return write_csv(path, [name], [[repr(float(v))] for v in values])


@pytest.fixture
def plugin(tmp_path):
    """Write a --plugin file; the losses it registers are removed after the test, so the
    process-wide registry (``gradcheck --all``, ``list``) is the same for every other test."""
    registered: list[str] = []

    def make(filename, source, names):
        path = tmp_path / filename
        path.write_text(textwrap.dedent(source))
        registered.extend(names)
        return path

    yield make
    for name in registered:
        try:
            losscli.unregister_loss(name)
        except losscli.UnknownLossError:
            pass


# -- 1. compare --significant judges the LOWER end of the interval --------------------------------
@pytest.fixture
def noisy_models(tmp_path):
    """A candidate about as good as the baseline: the bootstrap interval of the change straddles 0
    while the change itself is > 0. A second candidate is clearly worse (whole interval > 0)."""
    rng = np.random.default_rng(12)
    n = 400
    t = rng.normal(size=n)
    base = t + rng.normal(0, 1.0, n)
    same = t + rng.normal(0, 1.0, n)
    worse = t + 1.5 * (base - t)
    for name, v in (("labels", t), ("base", base), ("same", same), ("worse", worse)):
        _column(tmp_path / f"{name}.csv", name, v)
    return tmp_path


def test_significant_gate_uses_the_lower_bound_of_the_interval(run, noisy_models):
    d = noisy_models
    args = ["compare", "mae", d / "base.csv", d / "same.csv", d / "labels.csv", "--format", "json"]
    plain = run(*args, "--fail-if-worse")
    rec = json.loads(plain.stdout)["results"][0]
    lo, hi = rec["bootstrap"]["interval"]
    assert rec["change"] > 0 and lo < 0 < hi, "fixture must straddle 0 with a positive change"
    assert plain.exit_code == 1 and rec["gate"]["passed"] is False  # the change alone is worse
    sig = run(*args, "--fail-if-worse", "--significant")
    srec = json.loads(sig.stdout)["results"][0]
    # lo < 0 = allowed: not significantly worse, whatever hi is
    assert (sig.exit_code, srec["gate"]["passed"], srec["gate"]["significant"]) == (0, True, True)
    # a tolerance between lo and hi: judged on lo (passes); judged on hi it would fail
    tol = (max(lo, 0.0) + hi) / 2
    assert run(*args, "--fail-if-worse", repr(tol), "--significant").exit_code == 0
    # a tolerance below lo: the whole interval is worse -> exit 1
    bad = run("compare", "mae", d / "base.csv", d / "worse.csv", d / "labels.csv", "--format", "json",
              "--fail-if-worse", "--significant")
    brec = json.loads(bad.stdout)["results"][0]
    assert brec["bootstrap"]["interval"][0] > 0
    assert (bad.exit_code, brec["gate"]["passed"]) == (1, False)


# -- 2. the bootstrap's denominator is the resampled rows' own Σ shares --------------------------
def _zeros_and_change(d, n, change):
    _column(d / "zero.csv", "p", np.zeros(n))
    _column(d / "labels.csv", "t", np.zeros(n))
    _column(d / "cand.csv", "p", change)


def test_bootstrap_of_a_constant_weighted_change_is_a_point(run_json, tmp_path):
    """Every row's loss grows by exactly 0.5 (mae, |0.5| - |0|): the weighted mean change of ANY
    resample is Σ w·0.5 / Σ w = 0.5, so the interval is [0.5, 0.5]. Dividing by n (mean weight
    ~7.9 here) or by the weights of the original rows (a resample's Σ w varies) moves it."""
    n = 60
    w = np.r_[np.full(n - 5, 0.1), np.full(5, 90.0)]  # very unequal weights
    _zeros_and_change(tmp_path, n, np.full(n, 0.5))
    _column(tmp_path / "w.csv", "w", w)
    rec = run_json("compare", "mae", tmp_path / "zero.csv", tmp_path / "cand.csv", tmp_path / "labels.csv",
                   "--weights", tmp_path / "w.csv", "--bootstrap", "300")["results"][0]
    assert rec["change"] == 0.5
    assert rec["bootstrap"]["interval"] == [0.5, 0.5]


def test_bootstrap_with_class_weights_normalises_by_the_resampled_class_weights(run_json, tmp_path):
    """softmax_ce with class_weights: l_i = w[y_i]·nll_i and the mean divides by Σ w[y_i]. Base
    logits 0 (nll = ln 2), candidate logits with the same nll in every row: every resample's
    change is exactly nll_cand - ln 2."""
    n = 40
    y = np.array([0] * 30 + [1] * 10)
    z = np.zeros((n, 2))
    cand = np.where(np.arange(2)[None, :] == y[:, None], -1.0, 0.0)  # target logit -1: same nll per row
    np.save(tmp_path / "base.npy", z)
    np.save(tmp_path / "cand.npy", cand)
    _column(tmp_path / "y.csv", "y", y)
    rec = run_json("compare", "softmax_ce", tmp_path / "base.npy", tmp_path / "cand.npy", tmp_path / "y.csv",
                   "-p", "class_weights=0.2,25", "--bootstrap", "300")["results"][0]
    expected = (math.log1p(math.exp(1.0)) - math.log(2.0))  # nll of [-1, 0] at the -1, minus ln 2
    assert rec["change"] == pytest.approx(expected, rel=1e-12)
    lo, hi = rec["bootstrap"]["interval"]
    assert lo == pytest.approx(expected, rel=1e-12) and hi == pytest.approx(expected, rel=1e-12)


def _independent_bootstrap(d, w, boots, seed, confidence):
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, d.size, size=(boots, d.size))
    stat = (w[idx] * d[idx]).sum(axis=1) / w[idx].sum(axis=1)
    a = (1 - confidence) / 2
    return np.quantile(stat, [a, 1 - a])


def test_weighted_bootstrap_interval_matches_an_independent_paired_bootstrap(run_json, tmp_path):
    """Very unequal weights, a noisy change: the CLI's percentile interval agrees with a numpy
    paired bootstrap of Σ w·d / Σ w (different seed, many resamples) within Monte-Carlo error,
    and brackets the change."""
    rng = np.random.default_rng(5)
    n = 300
    w = rng.lognormal(0.0, 1.5, n)
    d = 1.0 + 0.3 * rng.standard_normal(n)
    d = np.abs(d)  # mae of a zero baseline: the change is |cand|
    _zeros_and_change(tmp_path, n, d)
    _column(tmp_path / "w.csv", "w", w)
    rec = run_json("compare", "mae", tmp_path / "zero.csv", tmp_path / "cand.csv", tmp_path / "labels.csv",
                   "--weights", tmp_path / "w.csv", "--bootstrap", "4000", "--confidence", "0.9")["results"][0]
    true_change = float(np.sum(w * d) / np.sum(w))
    assert rec["change"] == pytest.approx(true_change, rel=1e-12)
    lo, hi = rec["bootstrap"]["interval"]
    ref_lo, ref_hi = _independent_bootstrap(d, w, 40_000, 123, 0.9)
    width = ref_hi - ref_lo
    assert lo < true_change < hi
    assert lo == pytest.approx(ref_lo, abs=0.1 * width)
    assert hi == pytest.approx(ref_hi, abs=0.1 * width)
    assert hi - lo == pytest.approx(width, rel=0.1)


# -- 3. --fail-above with --reduction none judges every sample ------------------------------------
def test_fail_above_with_reduction_none_fails_on_one_sample_above_the_limit(run, tmp_path):
    p = _column(tmp_path / "p.csv", "p", [0.0, 0.0, 0.0, 3.0])  # per-sample mse 0, 0, 0, 9: mean 2.25
    t = _column(tmp_path / "t.csv", "t", [0.0, 0.0, 0.0, 0.0])
    args = ["compute", "mse", p, t, "--reduction", "none", "--format", "value"]
    bad = run(*args, "--fail-above", "5")
    assert bad.exit_code == 1
    assert bad.stdout == "0.0\n0.0\n0.0\n9.0\n"  # the output still prints
    assert bad.stderr == "losscli: mse: largest per-sample loss 9 is above --fail-above 5\n"
    ok = run(*args, "--fail-above", "9")  # every sample at or below the limit
    assert (ok.exit_code, ok.stderr) == (0, "")


# -- 4. NaN weights are refused -------------------------------------------------------------------
@pytest.mark.parametrize("cell, shown", [("nan", "nan"), ("", "nan"), ("inf", "inf")])
def test_non_finite_weight_exits_2_with_the_exact_message(run, tmp_path, cell, shown):
    p = _column(tmp_path / "p.csv", "p", [1.0, 2.0, 3.0])
    t = _column(tmp_path / "t.csv", "t", [0.0, 0.0, 0.0])
    (tmp_path / "w.csv").write_text(f"w\n1\n{cell}\n2\n")
    for reduction in ("mean", "sum"):
        result = run("compute", "mse", p, t, "--weights", tmp_path / "w.csv", "--reduction", reduction)
        assert (result.exit_code, result.stdout) == (2, "")
        how = ("; to leave the row out, give it weight 0 (--nan-policy omit drops rows whose inputs are NaN, not whose "
               "weight is)") if shown == "nan" else ""
        assert result.stderr == (f"Error: {tmp_path}/w.csv, line 3, column 'w': found {shown} "
                                 f"(weights must be finite and >= 0){how}\n")


# -- 5. open and closed bounds of parameter constraints -------------------------------------------
def _inputs_for(d, loss):
    write_csv(d / "p.csv", ["p"], [[0.2], [0.7], [0.4]])
    write_csv(d / "y.csv", ["y"], [[0], [1], [1]])
    write_csv(d / "s.csv", ["y"], [[1], [-1], [1]])
    write_csv(d / "v.csv", ["a", "b"], [[0.5, 0.1], [0.2, -0.3], [0.0, 0.9]])
    write_csv(d / "c.csv", ["y"], [[0], [1], [1]])
    write_csv(d / "q.csv", ["a", "b"], [[0.5, 0.5], [0.2, 0.8], [1.0, 0.0]])
    return {
        "quantile": [d / "p.csv", d / "y.csv"],
        "bce": [d / "p.csv", d / "y.csv"],
        "softmax_ce": [d / "v.csv", d / "c.csv"],
        "ce": [d / "q.csv", d / "c.csv"],
        "cosine_embedding": [d / "v.csv", d / "v.csv", d / "s.csv"],
        "arcface": [d / "v.csv", d / "c.csv"],
        "smooth_l1": [d / "p.csv", d / "y.csv"],
    }[loss]


CONSTRAINTS = [
    # (loss, parameter, value, constraint or None when the value is accepted)
    ("quantile", "tau", "0", "(0,1)"),  # open lower bound: the bound itself is refused
    ("quantile", "tau", "1", "(0,1)"),  # open upper bound
    ("quantile", "tau", "1e-9", None),
    ("quantile", "tau", "0.999999", None),
    ("bce", "eps", "0", "(5.551115123125783e-17,0.5)"),  # (1 - eps < 1 in float64: eps > 2^-54)
    ("bce", "eps", "0.5", "(5.551115123125783e-17,0.5)"),
    ("bce", "eps", "5.551115123125783e-17", "(5.551115123125783e-17,0.5)"),
    ("bce", "eps", "5.551115123125784e-17", None),
    ("ce", "eps", "1e-300", None),  # (clipped below only: no floor but 0)
    ("ce", "eps", "0", "(0,0.5)"),
    ("softmax_ce", "label_smoothing", "0", None),  # closed bounds: the bound itself is accepted
    ("softmax_ce", "label_smoothing", "1", None),
    ("softmax_ce", "label_smoothing", "1.0000001", "[0,1]"),
    ("cosine_embedding", "margin", "-1", None),
    ("cosine_embedding", "margin", "1", None),
    ("cosine_embedding", "margin", "-1.5", "[-1,1]"),
    ("arcface", "margin", "0", None),
    ("arcface", "margin", "1.5", None),
    ("arcface", "margin", "1.6", "[0,1.5]"),
    ("smooth_l1", "beta", "0", None),  # >=0 accepts 0 (huber's >0 refusing 0 is in test_cli.py)
]


@pytest.mark.parametrize("loss, name, value, constraint", CONSTRAINTS,
                         ids=[f"{c[0]}.{c[1]}={c[2]}" for c in CONSTRAINTS])
def test_parameter_bounds_open_and_closed(run, tmp_path, loss, name, value, constraint):
    result = run("compute", loss, *_inputs_for(tmp_path, loss), "-p", f"{name}={value}", "--format", "value")
    if constraint is None:
        assert result.exit_code == 0, result.stderr
        return
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == f"Error: parameter {loss}.{name}: must be {constraint}, got {float(value)!r}\n"


def test_constraints_shown_by_list_and_info(run_json, run):
    listed = {l["name"]: l for l in json.loads(run("list", "--format", "json").stdout)["losses"]}
    assert listed["quantile"]["params"]["tau"]["constraint"] == "(0,1)"
    assert listed["bce"]["params"]["eps"]["constraint"] == "(5.551115123125783e-17,0.5)"
    assert listed["kl"]["params"]["eps"]["constraint"] == "(0,0.5)"
    info = json.loads(run("info", "cosine_embedding", "--format", "json").stdout)
    assert info["params"]["margin"]["constraint"] == "[-1,1]"


HALF_OPEN = """
    import numpy as np
    from losscli import Param, register_loss

    @register_loss("half_open_scale", coupling="elementwise", formula="s·(p - t)²", references=("test",),
                   params={"s": Param(0.5, constraint="(0,1]")})
    def half_open_scale(predictions, labels, s=0.5):
        \"\"\"s·(p - t)².\"\"\"
        return s * (predictions - labels) ** 2
"""


@pytest.mark.parametrize("value, code", [("0", 2), ("1e-300", 0), ("1", 0), ("1.0000001", 2)])
def test_plugin_parameter_with_a_half_open_constraint(run, plugin, tmp_path, value, code):
    path = plugin("half_open.py", HALF_OPEN, ["half_open_scale"])
    p = _column(tmp_path / "p.csv", "p", [1.0, 2.0])
    t = _column(tmp_path / "t.csv", "t", [0.0, 0.0])
    result = run("--plugin", path, "compute", "half_open_scale", p, t, "-p", f"s={value}", "--format", "value")
    assert result.exit_code == code, result.stderr
    if code == 2:
        assert result.stdout == ""
        assert result.stderr == f"Error: parameter half_open_scale.s: must be (0,1], got {float(value)!r}\n"
    else:
        assert float(result.stdout) == pytest.approx(float(value) * 2.5)


# -- 6. gradcheck's tolerance-free consistency checks can fail -----------------------------------
CONSISTENCY = """
    import numpy as np
    from losscli import Input, register_loss

    @register_loss("cons_rows", inputs=(Input("logits", "N,C"), Input("labels", "N", "class_index")),
                   differentiable=("logits",), coupling="row", grad_checks=("rows_sum_to_zero:logits",),
                   formula="½ Σ_k z_ik²", references=("test",))
    def cons_rows(logits, labels):
        \"\"\"½ Σ z² per row: a right gradient whose rows do not sum to 0.\"\"\"
        return 0.5 * np.sum(logits ** 2, axis=1)

    @cons_rows.gradient
    def _(logits, labels):
        return {"logits": logits.copy()}

    @register_loss("cons_roles", inputs=(Input("x1", "N,D"), Input("x2", "N,D")),
                   differentiable=("x1", "x2"), coupling="row", grad_checks=("roles_sum_to_zero:x1,x2",),
                   formula="½‖x1‖² + ½‖x2‖²", references=("test",))
    def cons_roles(x1, x2):
        \"\"\"½‖x1‖² + ½‖x2‖²: right gradients that do not cancel.\"\"\"
        return 0.5 * np.sum(x1 ** 2 + x2 ** 2, axis=1)

    @cons_roles.gradient
    def _(x1, x2):
        return {"x1": x1.copy(), "x2": x2.copy()}
"""


@pytest.mark.parametrize("name, check", [("cons_rows", "gradient rows of logits sum to 0"),
                                         ("cons_roles", "gradients of x1 + x2 sum to 0")])
def test_declared_identity_that_does_not_hold_fails_gradcheck(run, plugin, name, check):
    path = plugin("consistency.py", CONSISTENCY, ["cons_rows", "cons_roles"])
    result = run("--plugin", path, "gradcheck", name, "--format", "json")
    assert result.exit_code == 1, result.stdout
    data = json.loads(result.stdout)
    rec = data["results"][0]
    assert data["passed"] is False and rec["passed"] is False
    # every element and the Taylor test agree with the (right) gradient: only the identity fails
    assert rec["failures"] == 0 and all(t["passed"] for t in rec["taylor"])
    assert [(c["check"], c["passed"]) for c in rec["consistency"]] == [(check, False)]
    assert rec["consistency"][0]["residual"] > 0.1


def test_declared_identities_of_builtins_pass(run):
    data = json.loads(run("gradcheck", "softmax_ce", "triplet", "--format", "json").stdout)
    assert data["passed"] is True
    assert [[c["passed"] for c in r["consistency"]] for r in data["results"]] == [[True], [True]]


# -- 7. `losscli --help` stays light -------------------------------------------------------------
HELP_PROBE = """
import sys
from losscli.cli import main
try:
    main([{args}], prog_name="losscli")
except SystemExit as exc:
    assert exc.code in (0, None), exc.code
heavy = ("numpy", "pandas", "pyarrow", "losscli.registry", "losscli.catalogue", "losscli.io.cache", "losscli.engine.local",
         "losscli.commands.compute", "losscli.stats.accumulator", "asyncio", "logging", "traceback",
         "losscli.io.spec")
print(",".join(m for m in heavy if m in sys.modules), file=sys.stderr)
"""


@pytest.mark.parametrize("args", ['"--help"', '"-h"', '"list", "--help"', '"info", "--help"'])
def test_help_imports_neither_numpy_nor_the_registry(args):
    proc = subprocess.run([sys.executable, "-c", HELP_PROBE.format(args=args)], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "Usage: losscli" in proc.stdout
    assert proc.stderr.strip() == "", f"--help imported: {proc.stderr.strip()}"


# -- 8. defaults: gradcheck --rtol 1e-6, compute --top 5, --exact-quantiles 10,000,000 -------------
RTOL = """
    import numpy as np
    from losscli import register_loss

    def _make(name, factor):
        def f(predictions, labels):
            \"\"\"Σ (p - t)² per sample.\"\"\"
            return np.sum((predictions - labels) ** 2, axis=1)
        loss = register_loss(name, coupling="row", formula="Σ (p - t)²", references=("test",))(f)

        @loss.gradient
        def _(predictions, labels):
            g = 2.0 * (predictions - labels)
            g[0, 0] *= factor  # one element off by a relative (factor - 1)
            return {"predictions": g}

    _make("off_by_2e_6", 1 + 2e-6)
    _make("off_by_5e_7", 1 + 5e-7)
"""


def test_gradcheck_default_rtol_is_1e_6(run, plugin, tmp_path):
    path = plugin("rtol.py", RTOL, ["off_by_2e_6", "off_by_5e_7"])
    p = tmp_path / "p.npy"
    np.save(p, np.array([[1.5, -0.5], [0.25, 2.0]]))
    np.save(tmp_path / "t.npy", np.zeros((2, 2)))

    def failures(name, *extra):
        result = run("--plugin", path, "gradcheck", name, p, tmp_path / "t.npy", "--format", "json", *extra)
        return json.loads(result.stdout)["results"][0]["failures"]

    assert failures("off_by_2e_6") == 1  # 2e-6 > default rtol
    assert failures("off_by_5e_7") == 0  # 5e-7 < default rtol
    assert failures("off_by_2e_6", "--rtol", "1e-6") == 1 and failures("off_by_5e_7", "--rtol", "1e-6") == 0
    assert failures("off_by_2e_6", "--rtol", "1e-5") == 0  # controls: the verdict does follow --rtol
    assert failures("off_by_5e_7", "--rtol", "1e-7") == 1


def test_compute_shows_the_five_worst_samples_by_default(run_json, run, tmp_path):
    p = _column(tmp_path / "p.csv", "p", [3.0, 1.0, 7.0, 0.0, 5.0, 2.0, 6.0, 4.0])
    t = _column(tmp_path / "t.csv", "t", [0.0] * 8)
    rec = run_json("compute", "mae", p, t)["results"][0]
    assert [w["index"] for w in rec["worst"]] == [2, 6, 4, 7, 0]
    assert "mae: worst 5 samples" in run("compute", "mae", p, t).stdout


QUANTILE_LOSSES = 100
MANY = f"""
    from losscli import Input, register_loss

    for i in range({QUANTILE_LOSSES}):
        def sq(x):
            \"\"\"x² per sample.\"\"\"
            return x * x
        register_loss(f"qb{{i:03d}}", inputs=(Input("x", "N"),), coupling="elementwise", formula="x²",
                      references=("test",))(sq)
"""


def test_exact_quantile_budget_default_is_ten_million_values(run, plugin):
    """Standard input holds per-sample values for exact quantiles up to the budget, shared by the
    losses of a run: 10,000,000 / 100 losses = 100,000 values each. 100,000 rows are exact,
    100,001 are sketched."""
    names = [f"qb{i:03d}" for i in range(QUANTILE_LOSSES)]
    path = plugin("many.py", MANY, names)
    x = (np.arange(100_001) * 7919 % 1000) / 1000.0
    for n, exact in ((100_000, True), (100_001, False)):
        text = "x\n" + "\n".join(repr(float(v)) for v in x[:n]) + "\n"
        result = run("--plugin", path, "compute", ",".join(names), "-", "--format", "json", "--top", "0",
                     input=text)
        assert result.exit_code == 0, result.stderr
        recs = json.loads(result.stdout)["results"]
        assert len(recs) == QUANTILE_LOSSES
        if exact:
            assert "quantiles" not in recs[0]
            per = x[:n] ** 2
            assert [recs[0]["stats"][k] for k in ("p50", "p90", "p99")] == np.quantile(per, [0.5, 0.9, 0.99]).tolist()
        else:
            assert recs[0]["quantiles"]["exact"] is False


def test_help_documents_the_defaults(run):
    compute = " ".join(run("compute", "--help").stdout.split())
    assert "[default: 5;" in compute.split("--top", 1)[1].split("--", 1)[0]
    assert "default 10,000,000" in compute
    grad = " ".join(run("gradcheck", "--help").stdout.split())
    assert "[default: 1e-06" in grad.split("--rtol", 1)[1].split("--", 1)[0]


# -- 9. gaussian_nll through its variance clamp ----------------------------------------------------
def test_gaussian_nll_gradient_and_value_below_and_above_the_variance_clamp():
    loss = losscli.get_loss("gaussian_nll")
    eps = 1e-6
    mu = np.array([0.3, 0.3, 0.3, 0.3])
    t = np.array([0.1, 0.1, 0.1, 0.1])
    var = np.array([0.0, 1e-8, 5e-7, 0.25])  # three below eps, one well above
    v = np.maximum(var, eps)
    value = loss(mu, t, var)
    np.testing.assert_allclose(value, 0.5 * (np.log(v) + (t - mu) ** 2 / v), rtol=1e-14)
    assert value[0] == value[1] == value[2]  # the clamp: every var < eps is eps
    g = loss.grad(mu, t, var)
    assert g["var"][:3].tolist() == [0.0, 0.0, 0.0]  # the clamped function is flat in var
    np.testing.assert_allclose(g["var"][3], 0.5 * (1 / 0.25 - 0.04 / 0.25 ** 2), rtol=1e-14)
    np.testing.assert_allclose(g["mean"], (mu - t) / v, rtol=1e-14)  # the mean's gradient uses eps too
    # the finite difference agrees on both sides (a step that stays on its side)
    for i, h in ((1, 1e-10), (3, 1e-7)):
        up, down = var.copy(), var.copy()
        up[i] += h
        down[i] -= h
        fd = (loss(mu, t, up)[i] - loss(mu, t, down)[i]) / (2 * h)
        assert g["var"][i] == pytest.approx(fd, abs=1e-6)
    # eps is a parameter: with eps = 1e-9 the same var = 5e-7 is on the smooth side
    g2 = loss.grad(mu, t, var, eps=1e-9)["var"][2]
    assert g2 == pytest.approx(0.5 * (1 / 5e-7 - 0.04 / 5e-7 ** 2), rel=1e-12)


# -- 10. bce in its clipped regions ----------------------------------------------------------------
def test_bce_gradient_is_zero_where_the_clip_holds_and_exact_elsewhere():
    loss = losscli.get_loss("bce")
    eps = 1e-7
    p = np.array([0.0, 1e-9, 0.3, 1 - 1e-9, 1.0, 1.0, 0.0, 1e-6])
    y = np.array([1.0, 1.0, 1.0, 0.0, 0.0, 1.0, 0.0, 1.0])
    c = np.clip(p, eps, 1 - eps)
    np.testing.assert_allclose(loss(p, y), -(y * np.log(c) + (1 - y) * np.log(1 - c)), rtol=1e-9)
    assert loss(p[:1], y[:1])[0] == pytest.approx(-math.log(eps), rel=1e-12)
    assert loss(p[4:5], y[4:5])[0] == pytest.approx(-math.log(eps), rel=1e-6)
    g = loss.grad(p, y)["predictions"]
    clipped = (p <= eps) | (p >= 1 - eps)
    assert g[clipped].tolist() == [0.0] * int(clipped.sum())
    ps, ys = p[~clipped], y[~clipped]
    np.testing.assert_allclose(g[~clipped], (ps - ys) / (ps * (1 - ps)), rtol=1e-12)


# -- 11. probability rows within the tolerance are renormalised, with one warning -----------------
def test_near_probability_rows_are_renormalised_for_ce_and_kl(run, tmp_path):
    q = np.array([[0.2, 0.30005, 0.5], [0.1, 0.1, 0.8], [0.25, 0.25, 0.5]])  # row 0 sums to 1 + 5e-5
    target = np.array([[0.1, 0.6, 0.3], [0.3, 0.3, 0.4], [0.5, 0.25, 0.25]])
    y = np.array([1, 2, 0])
    write_csv(tmp_path / "q.csv", ["a", "b", "c"], [[repr(float(v)) for v in r] for r in q])
    write_csv(tmp_path / "p.csv", ["a", "b", "c"], [[repr(float(v)) for v in r] for r in target])
    _column(tmp_path / "y.csv", "y", y)
    qn = q / q.sum(axis=1, keepdims=True)
    ce_ref = float(np.mean(-np.log(qn[np.arange(3), y])))
    kl_ref = float(np.mean(np.sum(target * (np.log(target) - np.log(qn)), axis=1)))
    warning = (f"losscli: warning: {tmp_path}/q.csv: renormalised 1 probability rows whose sums differed "
               "from 1 by up to 5e-05 (within the tolerance 0.0001)\n")
    for loss, labels, ref in (("ce", tmp_path / "y.csv", ce_ref), ("kl", tmp_path / "p.csv", kl_ref)):
        result = run("compute", loss, tmp_path / "q.csv", labels, "--format", "value")
        assert result.exit_code == 0
        assert float(result.stdout) == pytest.approx(ref, rel=1e-12)
        unnormalised = float(np.mean(-np.log(q[np.arange(3), y]))) if loss == "ce" else \
            float(np.mean(np.sum(target * (np.log(target) - np.log(q)), axis=1)))
        assert abs(float(result.stdout) - unnormalised) > 1e-6  # the test can tell the two apart
        assert result.stderr == warning
    both = run("compute", "ce,kl", tmp_path / "q.csv", tmp_path / "p.csv", "--format", "value")
    assert both.stderr == warning  # one line for the file, not one per loss
    ce_soft = float(np.mean(-np.sum(target * np.log(qn), axis=1)))
    assert [float(v) for v in both.stdout.split()] == pytest.approx([ce_soft, kl_ref], rel=1e-12)


# -- 12. --save-grad with --nan-policy omit: NaN in the omitted rows ---------------------------------
def test_saved_gradient_holds_nan_in_rows_omitted_for_nan(run, tmp_path):
    (tmp_path / "p.csv").write_text("p\n1\nnan\n3\n-2\n")
    _column(tmp_path / "t.csv", "t", [0.0, 0.0, 1.0, 0.0])
    result = run("compute", "mse", tmp_path / "p.csv", tmp_path / "t.csv", "--nan-policy", "omit",
                 "--save-grad", tmp_path / "g.npz", "--format", "value")
    assert result.exit_code == 0
    assert result.stderr == "losscli: warning: --nan-policy omit dropped 1 of 4 rows with NaN or infinite values\n"
    with np.load(tmp_path / "g.npz") as g:
        grad = g["predictions"]
    assert grad.shape == (4,) and np.isnan(grad[1])
    np.testing.assert_allclose(grad[[0, 2, 3]], 2 * np.array([1.0, 2.0, -2.0]) / 3, rtol=1e-15)


def test_saved_gradient_of_2d_input_holds_nan_rows(run, tmp_path):
    z = np.array([[1.0, 2.0, 0.5], [np.inf, 0.0, 0.0], [0.1, -1.0, 2.0]])
    np.save(tmp_path / "z.npy", z)
    _column(tmp_path / "y.csv", "y", [1, 0, 2])
    result = run("compute", "softmax_ce", tmp_path / "z.npy", tmp_path / "y.csv", "--nan-policy", "omit",
                 "--save-grad", tmp_path / "g.npz", "--format", "value")
    assert result.exit_code == 0, result.stderr
    with np.load(tmp_path / "g.npz") as g:
        grad = g["logits"]
    assert np.isnan(grad[1]).all() and np.isfinite(grad[[0, 2]]).all()
    kept = z[[0, 2]]
    s = np.exp(kept) / np.exp(kept).sum(axis=1, keepdims=True)
    s[[0, 1], [1, 2]] -= 1
    np.testing.assert_allclose(grad[[0, 2]], s / 2, rtol=1e-12)
