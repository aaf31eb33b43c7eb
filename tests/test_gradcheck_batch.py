"""gradcheck of batch-coupled losses, through the CLI: every element of the in-batch losses gets a
verdict (two evaluations per element, copies stacked), the coupling a role really has is measured
(InfoNCE's queries are row-local, its keys are not; a plugin that declares "row" but couples the
batch is caught), one wrong element or row is failed and named, and a failing probe never comes
back localised to nothing.

N = 64 keeps each test fast; benchmarks/bench_gradcheck.py runs the issue's N = 256 case against
torch.autograd.gradcheck."""

from __future__ import annotations

import json
import textwrap

import numpy as np
import pytest

N, D = 64, 8

PLUGIN = textwrap.dedent('''
    import numpy as np
    from losscli import Input, register_loss
    from losscli.catalogue import get_loss

    INFONCE = get_loss("infonce")
    VEC = dict(shape="N,D", domain="real")


    def _infonce(query, key, *, temperature=0.07):
        return INFONCE.fn(query, key, temperature=temperature)


    def _register(name, mutate):
        loss = register_loss(name, inputs=(Input("query", **VEC), Input("key", **VEC)),
                             differentiable=("query", "key"), coupling="batch", formula="test",
                             references=("test",))(_infonce)

        @loss.gradient
        def _grad(query, key, *, temperature=0.07, cotangent=None):
            g = INFONCE.grad_fn(query, key, temperature=temperature, cotangent=cotangent)
            mutate(g["key"])
            return g


    def _one_element(g):
        g[5, 3] *= 1 + 1e-3


    def _one_row(g):
        g[7] *= 1 + 1e-3


    _register("infonce_one_element", _one_element)
    _register("infonce_one_row", _one_row)


    @register_loss("centred_sq", inputs=(Input("x", **VEC),), differentiable=("x",), coupling="row",
                   formula="sum_d (x_id - mean_j x_jd)^2", references=("test",))
    def centred_sq(x):
        """Declares row coupling, but every sample's loss sees the batch mean."""
        c = x - x.mean(axis=0)
        return (c ** 2).sum(axis=-1)


    @centred_sq.gradient
    def _(x):
        c = x - x.mean(axis=0)
        return {"x": 2 * c - 2 * c.sum(axis=0) / x.shape[0]}


    @register_loss("relu_centred", inputs=(Input("x", "N,D", "real"),), differentiable=("x",), coupling="batch",
                   formula="max(x_i0, 0) + 1e-3 (x_i1 - mean_j x_j1)^2", references=("test",))
    def relu_centred(x):
        """A kink at x_i0 = 0 (subgradient 1 there, as torch's relu) in a batch-coupled loss."""
        return np.maximum(x[:, 0], 0.0) + 1e-3 * (x[:, 1] - x[:, 1].mean()) ** 2


    @relu_centred.gradient
    def _(x):
        g = np.zeros_like(x)
        g[:, 0] = (x[:, 0] >= 0).astype(float)
        c = x[:, 1] - x[:, 1].mean()
        g[:, 1] = 2e-3 * (c - c.sum() / x.shape[0])
        return {"x": g}
''')


@pytest.fixture
def plugin(tmp_path):
    path = tmp_path / "batch_plugin.py"
    path.write_text(PLUGIN)
    return path


def _save(tmp_path, name, array):
    path = tmp_path / f"{name}.npy"
    np.save(path, array)
    return path


def _inputs(tmp_path, loss):
    rng = np.random.default_rng(3)
    if loss == "ge2e":
        labels = np.repeat(np.arange(N // 8), 8).astype(float)
        rng.shuffle(labels)
        return [_save(tmp_path, "e", rng.normal(size=(N, D))), _save(tmp_path, "labels", labels)]
    return [_save(tmp_path, "a", rng.normal(size=(N, D))), _save(tmp_path, "b", rng.normal(size=(N, D)))]


def _gradcheck(run, *args):
    result = run(*args, "--format", "json", "--top", "20")
    return result, json.loads(result.stdout)["results"][0]


@pytest.mark.parametrize("loss, couplings", [
    ("infonce", {"query": "row", "key": "batch"}),
    ("mnrl", {"anchors": "row", "positives": "batch"}),
    ("ge2e", {"embeddings": "batch"}),
])
def test_every_element_of_an_in_batch_loss_gets_a_verdict(run, tmp_path, loss, couplings):
    result, rec = _gradcheck(run, "gradcheck", loss, *_inputs(tmp_path, loss))
    assert result.exit_code == 0, rec["worst"][:3]
    assert rec["passed"] and rec["failures"] == 0
    assert rec["checked"] == rec["elements"] == N * D * len(couplings)
    assert rec["couplings"] == couplings
    assert rec["probes"] == []  # every element checked: no sampling, no probes
    # two evaluations per element of a batch-coupled role, a constant number for a row-local one
    batch_elements = N * D * sum(c == "batch" for c in couplings.values())
    assert rec["evaluations"] <= 2 * batch_elements + 300
    # the error bounds are tight enough to verify nearly every element to --rtol 1e-6
    assert rec["verified"] >= 0.9 * rec["elements"]
    # the loss's measured noise relative to its per-sample values, batch-coupled roles included
    # (float64 code with a sum over the batch: a few ulps)
    assert set(rec["noise"]) == set(couplings) and all(1e-18 < v < 1e-14 for v in rec["noise"].values())


def test_one_element_off_by_1e_3_relative_is_failed_and_named(run, tmp_path, plugin):
    result, rec = _gradcheck(run, "--plugin", plugin, "gradcheck", "infonce_one_element", *_inputs(tmp_path, "x"))
    assert result.exit_code == 1
    assert rec["couplings"] == {"query": "row", "key": "batch"}
    assert rec["checked"] == rec["elements"] and rec["failures"] == 1
    worst = rec["worst"][0]
    assert (worst["role"], worst["index"], worst["status"]) == ("key", [5, 3], "FAIL")
    assert worst["rel_error"] == pytest.approx(1e-3, rel=0.01)


def test_one_wrong_row_is_failed_element_by_element(run, tmp_path, plugin):
    result, rec = _gradcheck(run, "--plugin", plugin, "gradcheck", "infonce_one_row", *_inputs(tmp_path, "x"))
    assert result.exit_code == 1
    assert rec["failures"] == D
    failed = sorted(tuple(w["index"]) for w in rec["worst"] if w["status"] == "FAIL")
    assert failed == [(7, j) for j in range(D)]
    assert {w["role"] for w in rec["worst"] if w["status"] == "FAIL"} == {"key"}


def test_a_plugin_declaring_row_that_couples_the_batch_is_measured_and_passes(run, tmp_path, plugin):
    x = _save(tmp_path, "x", np.random.default_rng(5).normal(size=(N, D)))
    result, rec = _gradcheck(run, "--plugin", plugin, "gradcheck", "centred_sq", x)
    assert result.exit_code == 0, rec["worst"][:3]
    assert rec["couplings"] == {"x": "batch"}
    assert rec["failures"] == 0 and rec["checked"] == rec["elements"] == N * D
    assert any("declared coupling 'row', but the loss is batch-coupled" in n for n in rec["notes"])


def test_builtins_declared_batch_are_measured(run):
    """nt_xent couples both views across the batch (each view is a negative of every other)."""
    rec = _gradcheck(run, "gradcheck", "nt_xent", "--samples", "12")[1]
    assert rec["couplings"] == {"view1": "batch", "view2": "batch"}


def test_a_failing_probe_is_localised_to_the_element(run, tmp_path, plugin):
    """Sampled (--max-elements below the role's size): the probes find the element the sample
    may have missed, confirmed element by element."""
    result, rec = _gradcheck(run, "--plugin", plugin, "gradcheck", "infonce_one_element", *_inputs(tmp_path, "x"),
                             "--max-elements", "40", "--probes", "3")
    assert result.exit_code == 1
    failed = [p for p in rec["probes"] if not p["passed"]]
    assert failed and all(p["role"] == "key" and p["localised"] == [[5, 3]] for p in failed)


@pytest.mark.parametrize("loss, seed", [("nt_xent", 7), ("cosent", 7), ("mnrl", 7), ("cosent", 2)])
def test_probes_move_each_element_at_its_own_scale(run, loss, seed):
    """Sampled built-ins (review 70 #7): a random row of norm 1.4e-7 among rows of norm 1.7 (the
    random inputs' boundary cases) was moved by the probes' one step (set by the largest |x|, 2e-5),
    150 times its norm, where the loss, which normalises rows, is nothing like its gradient; probes
    disagreed 300x and their bisection 'localised' the row's correct elements at such steps. Every
    element is checked when not sampled, and passes: so does the sampled check."""
    result, rec = _gradcheck(run, "gradcheck", loss, "--seed", str(seed), "--samples", "300",
                             "--max-elements", "16")
    assert result.exit_code == 0 and all(p["passed"] for p in rec["probes"]), rec["probes"]


NEAR_ZERO_PLUGIN = """
import numpy as np
from losscli import Input, register_loss

def lse(x):
    m = x.max()
    return m + np.log(np.exp(x - m).sum()) - x

def lse_grad(x):
    p = np.exp(x - x.max())
    return len(x) * p / p.sum() - 1

for name, wrong in (("lse_ok", lambda g: g), ("lse_one", lambda g: np.where(np.arange(g.size) == 85, 1.01 * g, g))):
    register_loss(name, inputs=(Input("x", "N"),), coupling="batch")(lse).gradient(
        lambda x, wrong=wrong: {"x": wrong(lse_grad(np.asarray(x)))})
for name, extra in (("bound_ok", 0.0), ("bound_one", 2e-3)):
    register_loss(name, inputs=(Input("x", "N", "nonnegative"),), coupling="batch")(
        lambda x: (x - x.mean()) ** 2 + x).gradient(
        lambda x, extra=extra: {"x": 2 * (x - x.mean()) + 1 + np.where(np.arange(x.size) == 2158, extra, 0.0)})
"""


def test_probes_still_see_what_the_elements_own_steps_cannot(run, tmp_path):
    """Review 71 #1, #2 (of the probes moving each element by its own step): values near 0 of a loss
    bending at scale 1 (logsumexp of x ~ 1e-4) have own steps as blind as the element checks, and
    an element on its domain's bound (x = 0, differenced one-sided) was left still; a wrong gradient
    of one sampled-out element there was FAILed before and went through. The probes' one step
    finds both again; the right gradients do not FAIL."""
    (tmp_path / "near_zero.py").write_text(NEAR_ZERO_PLUGIN)
    rng = np.random.default_rng(0)
    x = _save(tmp_path, "x", rng.normal(size=256) * 1e-4)
    nn = rng.uniform(0, 2, 4096)
    nn[rng.choice(4096, 1000, replace=False)] = 0.0
    nn[2158] = 0.0
    xb = _save(tmp_path, "nn", nn)
    for name, data, bad in (("lse", x, [85]), ("bound", xb, [2158])):
        result, rec = _gradcheck(run, "--plugin", tmp_path / "near_zero.py", "gradcheck", f"{name}_one", data,
                                 "--max-elements", "16")
        assert result.exit_code == 1, (name, rec["probes"])
        assert any(bad in p.get("localised", []) for p in rec["probes"]), (name, rec["probes"])
        result, rec = _gradcheck(run, "--plugin", tmp_path / "near_zero.py", "gradcheck", f"{name}_ok", data,
                                 "--max-elements", "16")
        assert result.exit_code == 0, (name, rec["probes"])


@pytest.mark.parametrize("seed", range(5))
def test_inputs_exactly_on_kinks_never_fail_the_taylor_test(run, tmp_path, plugin, seed):
    """max(x, 0) at x = 0 (subgradient 1, as torch's relu) on rows the element sample may miss: the
    Taylor probe crosses those kinks whatever its direction and no t is small enough, but its two
    sides share the kinks' width (a wrong gradient would give them opposite signs): the Taylor test
    says it cannot decide, and a correct gradient passes, at every seed's direction."""
    x = np.random.default_rng(8).normal(size=(40, 2))
    x[::3, 0] = 0.0  # 14 kinks on x
    result, rec = _gradcheck(run, "--plugin", plugin, "gradcheck", "relu_centred", _save(tmp_path, "x", x),
                             "--max-elements", "20", "--probes", "4", "--seed", str(seed))
    assert result.exit_code == 0, (rec["taylor"], rec["reasons"])
    (taylor,) = rec["taylor"]
    assert taylor["passed"] and "from a kink at x itself" in taylor["note"], taylor


def test_bisection_never_comes_back_empty(run, tmp_path, plugin):
    """A probe that crosses a kink disagrees with gᵀv (the central difference averages the two
    slopes), but no element is wrong: the probe says inconclusive, with the reason, and the loss
    passes — it is never 'localised to []'."""
    x = np.random.default_rng(8).normal(size=(40, 2))
    x[3, 0] = 0.0  # on the kink of max(x, 0)
    result, rec = _gradcheck(run, "--plugin", plugin, "gradcheck", "relu_centred", _save(tmp_path, "x", x),
                             "--max-elements", "20", "--probes", "4")
    assert result.exit_code == 0, rec["probes"]
    assert rec["couplings"] == {"x": "batch"}
    assert all(p.get("localised") != [] for p in rec["probes"])
    unsure = [p for p in rec["probes"] if p.get("status") == "inconclusive"]
    assert unsure and all("no element of its support fails on its own" in p["reason"] for p in unsure)
