"""gradcheck: negative controls are caught and localised, kinks are classified, the CLI reports."""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

import losscli
from losscli import Input, get_loss, unregister_loss
from losscli.gradcheck import Options
from losscli.gradcheck.check import check_loss
from losscli.vocabulary import JSON_SCHEMA_VERSION

from .conftest import squared_error as _sq

ROOT = Path(__file__).parent.parent
MSE = get_loss("mse")




def _mutated(k, fn):
    def grad(p, t):
        g = 2 * (p - t)
        g.reshape(-1)[k] = fn(g.reshape(-1)[k])
        return {"predictions": g}

    return grad


def _fails(result):
    return [(w["role"], tuple(w["index"])) for w in result.worst(50) if w["status"] == "FAIL"]


def test_sign_error_in_one_element_of_a_million_is_localised(custom):
    rng = np.random.default_rng(0)
    p, t = rng.normal(size=1_000_000), rng.normal(size=1_000_000)
    loss = custom("bad_sign", _sq, _mutated(123_456, lambda v: -v), coupling="elementwise",
                  references=("test",), formula="test")
    r = check_loss(loss, {"predictions": p, "labels": t}, {}, Options())
    assert not r.passed
    assert r.counts["FAIL"] == 1 and _fails(r) == [("predictions", (123_456,))]
    # every element, in a number of evaluations that does not grow with N: the element pass, the
    # probes on a slice, the Taylor test's at most 6 + 12 (shrinking t) + 4 (its two sides), and one
    # rung of 6 at the smallest steps, which sees the slope the FAIL rested on (not bends finer than h)
    assert r.checked == 1_000_000 and r.evaluations <= 42


def test_relative_error_1e4_in_one_element_fails(custom):
    rng = np.random.default_rng(1)
    p, t = rng.normal(size=(500, 3)), rng.normal(size=(500, 3))
    loss = custom("bad_1e4", _sq, _mutated(777, lambda v: v * (1 + 1e-4)), coupling="row")
    r = check_loss(loss, {"predictions": p, "labels": t}, {}, Options())
    assert _fails(r) == [("predictions", (259, 0))]  # flat 777 of (500, 3)
    assert r.max_rel_error == pytest.approx(1e-4, rel=1e-2)


def test_gradient_of_the_mean_declared_as_sum_fails_everywhere(custom):
    rng = np.random.default_rng(2)
    p, t = rng.normal(size=50), rng.normal(size=50)
    loss = custom("bad_mean", _sq, lambda p, t: {"predictions": 2 * (p - t) / len(p)}, coupling="elementwise")
    r = check_loss(loss, {"predictions": p, "labels": t}, {}, Options())
    assert r.counts["FAIL"] == 50
    assert all(t_["passed"] is False for t_ in r.taylor)  # the Taylor test agrees, with no tolerance


@pytest.mark.parametrize("n, c", [(6, 4), (4, 4)])
def test_transposed_gradient_fails(custom, n, c):
    ce = get_loss("softmax_ce")
    loss = custom(f"bad_transpose_{n}", lambda z, y: ce(z, y),
                  lambda z, y: {"logits": ce.grad(z, y)["logits"].T.copy()},
                  inputs=(Input("logits", "N,C"), Input("labels", "N", "class_index")), coupling="row")
    rng = np.random.default_rng(3)
    r = check_loss(loss, {"logits": rng.normal(size=(n, c)), "labels": rng.integers(0, c, n)}, {}, Options())
    assert not r.passed and r.counts["FAIL"] > 0
    if n != c:
        assert r.notes == [f"logits: the analytic gradient returned shape ({c}, {n}), expected shape ({n}, {c})"]


def test_batch_coupled_sampling_and_probes_localise_a_bad_element(custom):
    info = get_loss("infonce")
    bad = 37

    def grad(q, k):  # (the keys: InfoNCE's queries are row-coupled, measured, and checked in full)
        g = info.grad(q, k)
        g["key"].reshape(-1)[bad] *= -1
        return g

    loss = custom("bad_infonce", lambda q, k: info(q, k), grad, inputs=(Input("query", "N,D"), Input("key", "N,D")),
                  differentiable=("query", "key"), coupling="batch")
    rng = np.random.default_rng(4)
    arrays = {"query": rng.normal(size=(40, 8)), "key": rng.normal(size=(40, 8))}
    r = check_loss(loss, arrays, {}, Options(max_elements=30, probes=4, seed=1))
    assert not r.passed
    assert any("stratified sample of" in n for n in r.notes)
    assert "query: declared coupling 'batch', but the loss is row-coupled" in r.notes[0]
    failed = [p for p in r.probes if not p["passed"]]
    assert failed and all(p["role"] == "key" for p in failed)
    assert all(list(np.unravel_index(bad, (40, 8))) in p["localised"] for p in failed)


# -- many rows: a slice stands in where no element is judged -------------------------------------------
def _json(run, *args):
    result = run(*args, "--format", "json")
    return result.exit_code, json.loads(result.stdout)["results"][0]


def test_many_rows_measure_coupling_precision_and_taylor_on_a_slice(run, custom, tmp_path):
    """Beyond 16,384 rows the coupling, the precision and the Taylor test run on 16,384 random rows,
    and the record says so; every element is still checked on every row. A loss whose values depend
    on the batch size (pre-divided by N) passes: the slice's Taylor test uses the slice's gradient."""
    custom("per_n", lambda p, t: (p - t) ** 2 / len(p), lambda p, t: {"predictions": 2 * (p - t) / len(p)},
           coupling="elementwise")
    rng = np.random.default_rng(5)
    for name in ("p", "t"):
        np.save(tmp_path / f"{name}.npy", rng.normal(size=20_000))
    code, rec = _json(run, "gradcheck", "per_n", tmp_path / "p.npy", tmp_path / "t.npy")
    assert code == 0 and rec["checked"] == 20_000 and rec["verified"] + rec["below_noise"] == 20_000
    (taylor,) = rec["taylor"]
    assert taylor["passed"] and taylor["rows"] == 16_384 and 1.8 < taylor["order"] < 2.2 and "note" not in taylor
    assert rec["notes"] == ["measured on 16384 random rows of 20000 (10 of the 16 evaluations): the coupling; the "
                            "precision and the Taylor test of predictions; every element is checked on every row"]


def test_a_loss_coupling_rows_in_pairs_is_found_batch_coupled_on_the_slice(run, custom, tmp_path):
    """Rows sharing a group id (pairs, declared row-local) see each other: a random slice of 16,384 of
    20,000 rows holds thousands of whole pairs and the coupling test splits them; checked as
    batch-coupled, no FAIL. (A slice of one row of each pair would miss it, and FAIL every element.)"""
    def group_sums(x, groups):
        ids = groups.astype(np.intp)
        return np.bincount(ids, weights=x, minlength=int(ids.max()) + 1)[ids]

    custom("pairs", lambda x, groups: group_sums(x, groups) ** 2,
           lambda x, groups: {"x": 4 * group_sums(x, groups)}, inputs=(Input("x", "N"), Input("groups", "N")),
           differentiable=("x",))
    np.save(tmp_path / "x.npy", np.random.default_rng(6).normal(size=20_000))
    np.save(tmp_path / "groups.npy", np.arange(20_000) // 2.0)
    code, rec = _json(run, "gradcheck", "pairs", tmp_path / "x.npy", tmp_path / "groups.npy", "--max-elements", "64",
                      "--probes", "2")
    assert code == 0 and rec["failures"] == 0 and rec["couplings"] == {"x": "batch"}
    assert rec["notes"][0].startswith("x: declared coupling 'row', but the loss is batch-coupled")
    assert rec["notes"][-1].startswith("measured on 16384 random rows of 20000 (") and rec["notes"][-1].endswith(
        "): the coupling; every element is checked on every row")  # (precision and Taylor test: on every row)


# -- kinks ------------------------------------------------------------------------------------------
def test_kinks_are_classified_when_the_subgradient_is_valid():
    huber = check_loss(get_loss("huber"), {"predictions": np.array([1.0, -1.0, 0.4]), "labels": np.zeros(3)},
                       {}, Options())
    mae = check_loss(get_loss("mae"), {"predictions": np.array([0.0, 2.0]), "labels": np.zeros(2)}, {}, Options())
    hinge = check_loss(get_loss("hinge"), {"scores": np.array([1.0, -1.0, 3.0]),
                                           "labels": np.array([1.0, -1.0, 1.0])}, {}, Options())
    assert (huber.passed, huber.counts["kink"]) == (True, 2)  # at ±delta
    assert (mae.passed, mae.counts["kink"]) == (True, 1)  # at 0
    assert (hinge.passed, hinge.counts["kink"]) == (True, 2)  # at the margin


def test_an_invalid_subgradient_at_a_kink_fails(custom):
    def abs_loss(p, t):
        """|p - t| (test loss)."""
        return np.abs(p - t)

    loss = custom("bad_kink", abs_loss, lambda p, t: {"predictions": np.where(p == t, 2.0, np.sign(p - t))},
                  coupling="elementwise")
    r = check_loss(loss, {"predictions": np.array([0.0, 1.0]), "labels": np.zeros(2)}, {}, Options())
    assert _fails(r) == [("predictions", (0,))]


def test_complex_step_where_it_applies_and_a_note_where_it_does_not():
    rng = np.random.default_rng(5)
    arrays = {"predictions": rng.normal(size=20), "labels": rng.normal(size=20)}
    r = check_loss(MSE, arrays, {}, Options(method="complex"))
    assert r.passed and r.notes == [] and r.max_rel_error < 1e-13
    r = check_loss(get_loss("mae"), arrays, {}, Options(method="complex"))
    assert r.passed and "complex-step does not apply" in r.notes[0] and "used richardson" in r.notes[0]


def test_consistency_checks_are_reported():
    from losscli.sampling import random_inputs

    r = check_loss(get_loss("triplet"), random_inputs(get_loss("triplet"), seed=2), {}, Options())
    assert r.consistency == [{"check": "gradients of anchor + positive + negative sum to 0",
                              "residual": pytest.approx(0, abs=1e-15), "passed": True}]


# -- CLI ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("extra", [[], ["--samples", "20", "--classes", "6", "--dim", "5", "--seed", "3"],
                                   ["--samples", "3", "--classes", "2", "--dim", "1", "--seed", "9"]])
def test_all_builtins_pass(run, extra):
    result = run("gradcheck", "--all", "--format", "json", *extra)
    data = json.loads(result.stdout)
    failing = [(r["loss"], r["worst"][:2]) for r in data["results"] if not r["passed"]]
    assert result.exit_code == 0 and data["passed"], failing
    assert {r["loss"] for r in data["results"]} >= {"mse", "softmax_ce", "focal", "infonce", "ge2e", "arcface"}


def test_json_schema(run):
    data = json.loads(run("gradcheck", "softmax_ce", "--format", "json", "--top", "2").stdout)
    assert list(data) == ["schema_version", "version", "passed", "results"]  # (every command's JSON starts so)
    assert (data["schema_version"], data["version"]) == (JSON_SCHEMA_VERSION, losscli.__version__)
    rec = data["results"][0]
    assert {"loss", "passed", "checked", "evaluations", "max_abs_error", "max_rel_error", "kinks",
            "worst"} <= set(rec)
    # 4·C per column, not per element, plus the base, coupling (2), precision (1) and Taylor (6), and 8
    # in a column where the noise at the first step hides the comparison (4h and 16h)
    assert rec["checked"] == 32 and 4 * 4 < rec["evaluations"] <= 4 * 4 + 10 + 4 * 8
    assert set(rec["worst"][0]) >= {"role", "index", "analytic", "numeric", "abs_error", "rel_error",
                                    "error_estimate", "status"}


def test_plugin_losses_are_checked_and_failures_exit_1(run):
    plugin = ROOT / "examples" / "my_losses.py"
    ok = run("--plugin", plugin, "gradcheck", "pseudo_huber")
    assert ok.exit_code == 0, ok.stdout
    bad = run("--plugin", plugin, "gradcheck", "pseudo_huber", "cauchy", "--format", "json")
    assert bad.exit_code == 1
    data = json.loads(bad.stdout)
    assert [r["passed"] for r in data["results"]] == [True, False]
    # (N,... roles at random: 8 samples of --dim 3 elements)
    assert data["results"][1]["failures"] == 24 and data["results"][1]["max_rel_error"] == pytest.approx(0.5)


def test_gradcheck_at_user_files(run, tmp_path):
    np.save(tmp_path / "logits.npy", np.array([[1.0, 2.0, 0.5], [0.1, -1.0, 2.0]]))
    (tmp_path / "y.csv").write_text("label\n1\n2\n")
    result = run("gradcheck", "softmax_ce", tmp_path / "logits.npy", tmp_path / "y.csv", "--format", "json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["results"][0]["inputs"] == {"logits": [2, 3], "labels": [2]}


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="torch is not installed")
def test_torch_fast_mode_misses_what_losscli_catches(custom):
    """torch.autograd.gradcheck(fast_mode=True) checks one projection vᵀJu; a 1e-4 relative error
    in one element of 10,000 hides in it. losscli's per-element check finds and localises it."""
    import torch

    rng = np.random.default_rng(6)
    p, t = rng.normal(size=10_000), rng.normal(size=10_000)
    k = 4321

    class Sq(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return ((x - torch.from_numpy(t)) ** 2).sum()

        @staticmethod
        def backward(ctx, grad_out):
            (x,) = ctx.saved_tensors
            g = 2 * (x - torch.from_numpy(t))
            g[k] = g[k] * (1 + 1e-4)
            return grad_out * g

    x = torch.tensor(p, requires_grad=True)
    assert torch.autograd.gradcheck(Sq.apply, (x,), fast_mode=True, raise_exception=False)  # missed

    loss = custom("bad_fast", _sq, _mutated(k, lambda v: v * (1 + 1e-4)), coupling="elementwise")
    r = check_loss(loss, {"predictions": p, "labels": t}, {}, Options())
    assert _fails(r) == [("predictions", (k,))]


def test_entry_point_plugins_are_loaded(monkeypatch, tmp_path):
    """Installed packages register through the entry-point group losscli.losses."""
    import losscli.catalogue as catalogue
    from losscli import list_losses

    plugin = tmp_path / "ep_losses.py"
    plugin.write_text(
        "import numpy as np\nfrom losscli import register_loss\n\n"
        "@register_loss('ep_test_sq', coupling='elementwise', formula='(p - t)^2', references=('test',))\n"
        "def ep_test_sq(predictions, labels):\n    \"\"\"Squared error (entry-point test).\"\"\"\n"
        "    return (predictions - labels) ** 2\n\n"
        "@ep_test_sq.gradient\ndef _(predictions, labels):\n    return {'predictions': 2 * (predictions - labels)}\n")

    # a real installed distribution on sys.path that declares the group, found by
    # importlib.metadata exactly as pip's would be
    dist = tmp_path / "ep_losses-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: ep-losses\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[losscli.losses]\nep = ep_losses\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(catalogue, "_loaded", False)
    try:
        assert "ep_test_sq" in [l.name for l in list_losses()]
        loss = get_loss("ep_test_sq")
        assert loss.source == "ep_losses"
        r = check_loss(loss, {"predictions": np.array([1.0, 2.0]), "labels": np.zeros(2)}, {}, Options())
        assert r.passed
    finally:
        unregister_loss("ep_test_sq")
