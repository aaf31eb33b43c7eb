"""gradcheck where a loss's rounding is far above ε·|l|: an intermediate near 1 (σ(x) at large logits)
whose rounding the loss amplifies. Steps smaller than the first magnify such noise, and rounding alike
across a small step's table biases its estimate with no sign in the table; steps larger than the first,
where the noise weighs less, judge such elements. A correct gradient is never a FAIL there, and a
wrong one still is."""

import json

import numpy as np
import pytest

from losscli import unregister_loss

WRAPPERS = '''
import functools

import numpy as np
from losscli import Input, get_loss, register_loss


def wrap(name, base, k):
    """The built-in loss ``base`` under another name, its gradient times k."""
    b = get_loss(base)
    fn = functools.wraps(b.fn)(lambda *a, **kw: b.fn(*a, **kw))
    loss = register_loss(name, inputs=b.inputs, coupling=b.coupling, params=b.params, validate=b.validate,
                         formula="test", references=("test",))(fn)
    loss.gradient(functools.wraps(b.grad_fn)(lambda *a, **kw: {r: v * k for r, v in b.grad_fn(*a, **kw).items()}))


for k, tag in ((1.00001, "bug5"), (1.0001, "bug4"), (1.001, "bug3")):
    wrap("n_focal_" + tag, "binary_focal", k)
    wrap("n_exp_" + tag, "exponential", k)



def plain(name, fn, grad):
    register_loss(name, inputs=(Input("x", "N"),), coupling="elementwise", formula="test",
                  references=("test",))(fn).gradient(grad)


# structure finer than steps far above h, under a noise that hides it at h (review 77): a wiggle of 1e-10
# at a period of 6e-5 under 1e4 + x², with its slope and without; a gate 1e-7 wide at 1, its slope missing
plain("n_wiggle", lambda x: 1e4 + x ** 2 + 1e-10 * np.sin(1e5 * x), lambda x: {"x": 2 * x + 1e-5 * np.cos(1e5 * x)})
plain("n_wiggle_bug", lambda x: 1e4 + x ** 2 + 1e-10 * np.sin(1e5 * x), lambda x: {"x": 2 * x})
plain("n_wiggle4h", lambda x: 1e4 + x ** 2 + 1e-11 * np.sin(2e5 * x), lambda x: {"x": 2 * x + 2e-6 * np.cos(2e5 * x)})
plain("n_gate_bug", lambda x: x ** 2 + 1e-10 * 0.5 * (1 + np.tanh((x - 1) / 2e-7)), lambda x: {"x": 2 * x})


# batch-coupled and computed in float32 (review 81 D1): l_i = logsumexp(x) - x_i, whose gradient
# N·softmax(x) - 1 is exact; and one a temperature's factor off (a bug that matters: 1.1x)
def _lse32(x):
    x = x.astype(np.float32)
    m = x.max()
    return (m + np.log(np.sum(np.exp(x - m), dtype=np.float32))) - x


def _softmax_n(x, k=1.0):
    e = np.exp(x - x.max())
    return k * len(x) * e / e.sum() - 1


register_loss("n_batch32", inputs=(Input("x", "N"),), coupling="batch", formula="test",
              references=("test",))(_lse32).gradient(lambda x: {"x": _softmax_n(x)})
register_loss("n_batch32_bug", inputs=(Input("x", "N"),), coupling="batch", formula="test",
              references=("test",))(_lse32).gradient(lambda x: {"x": _softmax_n(x, 1.1)})
# a large constant, one element's gradient 1e-4 off (review 81 D3): no element verifies, and the
# Taylor order along random directions cannot see one element
plain("n_offset_one", lambda x: 1e6 + x ** 2, lambda x: {"x": 2 * x * np.where(np.arange(len(x)) == 3, 1.0001, 1.0)})
# batch-coupled through a mean, in float32 (review 83): its samples round apart, sqrt(N) times one's,
# and one element's gradient wrong (sign flipped, 10% off) must still FAIL
def _centered32(x):
    x = x.astype(np.float32)
    return ((x - x.mean(axis=0)) ** 2).sum(axis=1)


def _centered_grad(x, k):
    g = 2 * (x - x.mean(axis=0))
    g.reshape(-1)[3] *= k
    return {"x": g}


for k, tag in ((1.0, ""), (-1.0, "_flip"), (1.1, "_e10")):
    register_loss("n_center32" + tag, inputs=(Input("x", "N,D"),), coupling="batch", formula="test",
                  references=("test",))(_centered32).gradient(lambda x, k=k: _centered_grad(x, k))
# sigmoid, its gradient doubled near 0 (review 81 D2): steps that follow |x| at x = 1e-12 move no loss
plain("n_sig_small_bug", lambda x: 1 / (1 + np.exp(-x)),
      lambda x: {"x": np.exp(-x) / (1 + np.exp(-x)) ** 2 * np.where(np.abs(x) < 1e-6, 2.0, 1.0)})
# relu with a gradient of 2 at 0, and the right one (0 there): steps at 0 follow the inputs of 1e-12 beside it
plain("n_relu_at0_bug", lambda x: np.maximum(x, 0), lambda x: {"x": np.where(x == 0, 2.0, (x > 0) * 1.0)})
plain("n_relu", lambda x: np.maximum(x, 0), lambda x: {"x": (x > 0) * 1.0})
# |x| + x²/2 per element, rows summed in float32 (review 85 #3), and its gradient with the sign flipped
register_loss("n_l1l2_32", inputs=(Input("x", "N,D"),), coupling="elementwise", formula="test", references=("test",))(
    lambda x: (np.abs(x.astype(np.float32)) + 0.5 * x.astype(np.float32) ** 2).sum(axis=1)).gradient(
    lambda x: {"x": np.sign(x) + x})
register_loss("n_l1l2_32_bug", inputs=(Input("x", "N,D"),), coupling="elementwise", formula="test",
              references=("test",))(
    lambda x: (np.abs(x.astype(np.float32)) + 0.5 * x.astype(np.float32) ** 2).sum(axis=1)).gradient(
    lambda x: {"x": -(np.sign(x) + x)})
'''
NAMES = [f"n_{b}_{t}" for b in ("focal", "exp") for t in ("bug5", "bug4", "bug3")] + ["n_wiggle", "n_wiggle_bug",
                                                                                    "n_wiggle4h", "n_gate_bug",
                                                                                    "n_batch32", "n_batch32_bug",
                                                                                    "n_offset_one", "n_sig_small_bug",
                                                                                    "n_center32", "n_center32_flip",
                                                                                    "n_center32_e10",
                                                                                    "n_relu_at0_bug", "n_relu",
                                                                                    "n_l1l2_32", "n_l1l2_32_bug"]


@pytest.fixture
def wrappers(tmp_path):
    path = tmp_path / "noise_losses.py"
    path.write_text(WRAPPERS)
    yield path
    for name in NAMES:
        try:
            unregister_loss(name)
        except Exception:
            pass


def _gradcheck(run, *args):
    result = run(*args, "--format", "json", "--top", "300")
    return result.exit_code, json.loads(result.stdout)["results"][0]


def _logits(tmp_path, n=200, seed=0):
    """A confident binary classifier's logits, ~N(15, 1), and labels 0 or 1 (1 - σ(x) ~ 3e-7)."""
    rng = np.random.default_rng(seed)
    x, y = rng.normal(15.0, 1.0, n), (rng.random(n) < 0.5).astype(float)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    return tmp_path / "x.npy", tmp_path / "y.npy"


def test_binary_focal_at_large_logits_fails_no_correct_gradient(run, tmp_path):
    """binary_focal from logits clips log(1 - σ(x)), where 1 - σ(x) ~ 3e-7 rounds to 1.1e-16: noise
    of 2e-10 in a loss of 15. Its correct gradient FAILed at one element (0.0116% off, 271 times a
    bound that assumed rounding of 3e-15): steps h/16 and h/256, whose tables round alike, agreed on
    a biased slope. Tables at steps no power of two measure the noise that covers it, and larger steps
    verify the element; no element FAILs (14 stay undecided, as before)."""
    x, y = _logits(tmp_path)
    code, rec = _gradcheck(run, "gradcheck", "binary_focal", x, y, "-p", "from_logits=true")
    assert (code, rec["failures"]) == (0, 0) and rec["inconclusive"] <= 14, rec["worst"][:3]
    larger = [w for w in rec["worst"] if w["status"] == "ok" and "larger steps" in w["reason"]]
    assert [w["index"] for w in larger] == [[163]] and larger[0]["step"] >= 4 * 6.1e-5


def test_the_element_that_failed_is_verified_alone(run, tmp_path):
    """The element that FAILed, alone: its steps h/16 and h/256 agreed on a slope 1.2e-4 off (1 - σ(x)
    moves by near whole units of its spacing across each of their tables, so no table shows the
    noise), while step h, which saw a kink there, agreed with the analytic value."""
    x, y = _logits(tmp_path)
    np.save(tmp_path / "x1.npy", np.load(x)[163:164])
    np.save(tmp_path / "y1.npy", np.load(y)[163:164])
    code, rec = _gradcheck(run, "gradcheck", "binary_focal", tmp_path / "x1.npy", tmp_path / "y1.npy",
                           "-p", "from_logits=true")
    assert (code, rec["verdict"]) == (0, "PASS"), rec["worst"]
    (w,) = rec["worst"]
    assert w["status"] == "ok" and abs(w["numeric"] - w["analytic"]) < 1e-6 and w["step"] > 6.1e-5


@pytest.mark.parametrize("bug", ["bug5", "bug4", "bug3"])
def test_a_wrong_gradient_at_large_logits_still_fails(run, wrappers, tmp_path, bug):
    """The same logits, the gradient 0.001%, 0.01% or 0.1% off: still a FAIL (where the noise covers
    the difference at the ladder's steps, larger steps, where it weighs less, see it)."""
    x, y = _logits(tmp_path)
    code, rec = _gradcheck(run, "--plugin", wrappers, "gradcheck", f"n_focal_{bug}", x, y, "-p", "from_logits=true")
    assert (code, rec["verdict"]) == (1, "FAIL") and rec["failures"] >= 1


@pytest.mark.parametrize("bug", ["bug5", "bug4", "bug3"])
def test_a_wrong_gradient_below_the_noise_still_fails(run, wrappers, bug):
    """exponential at its random inputs (seed 0), where both elements lie below the noise at step h,
    the gradient 0.001%, 0.01% or 0.1% off: a FAIL, as before."""
    code, rec = _gradcheck(run, "--plugin", wrappers, "gradcheck", f"n_exp_{bug}", "--samples", "2", "--seed", "0")
    assert (code, rec["verdict"]) == (1, "FAIL") and rec["failures"] >= 1



def test_a_correct_gradient_of_a_finer_wiggle_is_never_failed_at_larger_steps(run, wrappers, tmp_path):
    """1e4 + x² + 1e-10·sin(1e5·x): the wiggle's slope (1e-5) lies below the noise at h; steps 256 times
    larger average it away. A first version that climbed there FAILed the right gradient at 45 of 50
    elements and verified the one without the wiggle (review 77 #1, #2): passes below the noise no
    longer climb. Both stay below the noise."""
    x = tmp_path / "x.npy"
    np.save(x, np.random.default_rng(0).uniform(-2, 2, 50))
    code, rec = _gradcheck(run, "--plugin", wrappers, "gradcheck", "n_wiggle", x)
    assert (code, rec["failures"]) == (0, 0)
    code, rec = _gradcheck(run, "--plugin", wrappers, "gradcheck", "n_wiggle_bug", x)
    assert not [w for w in rec["worst"] if w["status"] == "ok" and "larger steps" in w["reason"]]
    # a wiggle just under what a table at a larger step tells from noise, its period near 4h (review 78 #3)
    code, rec = _gradcheck(run, "--plugin", wrappers, "gradcheck", "n_wiggle4h", x)
    assert (code, rec["failures"]) == (0, 0)


def test_a_gate_that_smaller_steps_resolve_still_fails(run, wrappers, tmp_path):
    """x² plus a gate 1e-7 wide at 1 (height 1e-10), its slope missing from the gradient: step h sees a
    kink there and agrees within 64x the tolerance, h/16 and h/256 resolve the gate and FAIL it.
    Read as noise, larger steps averaged the gate and verified the wrong value (review 77 #3): the
    tables at the smallest step, at steps no power of two, show no noise, and the FAIL stands."""
    x = tmp_path / "x.npy"
    np.save(x, np.array([1.0]))
    code, rec = _gradcheck(run, "--plugin", wrappers, "gradcheck", "n_gate_bug", x)
    assert (code, rec["verdict"]) == (1, "FAIL")


@pytest.mark.parametrize("n", [64, 10_000])
def test_a_batch_coupled_float32_loss_fails_no_correct_gradient(run, wrappers, tmp_path, n):
    """A batch's logsumexp computed in float32: every sample's loss rounds with it, together, to
    multiples of 2^-21, so the total's noise is N times a sample's, not sqrt(N) times, and estimates
    at h and h/2 agree exactly (quantised alike at steps of powers of two). The correct gradient
    FAILed (3 of 64 elements, 234 times a bound of 3.5e-6; at N = 10^4 a probe, 145.8 against
    293.3): now every element is below the noise and nothing is verified. A gradient 1.1x off
    still FAILs."""
    x = tmp_path / "x.npy"
    np.save(x, np.random.default_rng(3).normal(0.0, 2.0, n))
    code, rec = _gradcheck(run, "--plugin", wrappers, "gradcheck", "n_batch32", x)
    assert (code, rec["verdict"], rec["failures"]) == (0, "inconclusive", 0), rec["reasons"]
    assert all(p["passed"] for p in rec["probes"])
    assert rec["reasons"][0].startswith("nothing verified: all ")
    code, rec = _gradcheck(run, "--plugin", wrappers, "gradcheck", "n_batch32_bug", x)
    assert (code, rec["verdict"]) == (1, "FAIL")


def test_a_taylor_order_verifies_no_element_one_by_one(run, wrappers, tmp_path):
    """1e6 + x² with one element's gradient 1e-4 off: every element below the noise at its steps,
    and the Taylor test measured order 2.00 along random directions (one element among eight moves
    it by 1e-5 of its linear part): PASS on no verified element. Inconclusive, and the reason says
    what the Taylor order does not check."""
    x = tmp_path / "x.npy"
    np.save(x, np.random.default_rng(3).normal(size=8))  # (x[3] = -0.568: its bound 3.6e-3 against 1.1e-4)
    code, rec = _gradcheck(run, "--plugin", wrappers, "gradcheck", "n_offset_one", x)
    assert (code, rec["verdict"], rec["verified"]) == (0, "inconclusive", 0), rec["reasons"]
    assert rec["reasons"][0].startswith(f"nothing verified: all {rec['checked']} elements lie below the numeric "
                                        "noise or --atol, and the Taylor test measured order 2.00 along random "
                                        "directions, which checks the gradient as a whole, not element by element")


def test_elements_the_steps_cannot_move_leave_the_verdict_undecided(run, wrappers, tmp_path):
    """sigmoid with its gradient doubled at |x| < 1e-6, at x = 1e-12, 2e-12, ... beside 1, -1, 0.5:
    the steps follow |x| (1.4e-17 at 1e-12), the loss did not move, and the elements beside them
    verified: PASS. An element whose gradient is as large as the others' and that no step moved
    verifies nothing: inconclusive, saying so. Where the steps move it (x ~ 0.1), the bug FAILs."""
    x = tmp_path / "x.npy"
    np.save(x, np.array([1e-12, 2e-12, -1e-12, 3e-13, 3e-12, 1.0, -1.0, 0.5]))
    code, rec = _gradcheck(run, "--plugin", wrappers, "gradcheck", "n_sig_small_bug", x)
    assert (code, rec["verdict"], rec["failures"], rec["verified"]) == (0, "inconclusive", 0, 3), rec["reasons"]
    assert rec["reasons"][0].startswith("not verified: at ")
    assert {w["reason"] for w in rec["worst"] if w["status"] == "below-noise" and w["numeric"] == 0} == {
        "the loss does not change at any step tried, while the analytic value is as large as the role's others "
        "(rtol times its largest, or more): the steps, which follow |x|, are too small for the loss to show it "
        "(x = 1e-12 in sigmoid(x)); not compared"}
    np.save(x, np.array([1e-7, 2e-7, -1e-7, 1.0, -1.0, 0.5]))
    code, rec = _gradcheck(run, "--plugin", wrappers, "gradcheck", "n_sig_small_bug", x)
    assert (code, rec["verdict"]) == (1, "FAIL")


def test_an_element_under_a_bound_wider_than_every_gradient_leaves_the_verdict_undecided(run, wrappers, tmp_path):
    """Review 81 D2: relu with a gradient of 2 at x = 0, beside inputs of 1e-12: the steps at 0 follow
    them (1.4e-17), the rounding an O(1) intermediate may add bounds the slopes by 486, and the 2
    (slopes 0 and 1) passed below it beside verified elements: PASS. An element whose bound is as wide
    as the role's largest gradient, and whose analytic value is as large as the others', verifies
    nothing: inconclusive, saying so. The right gradient (0 at 0) passes; at 0 beside 1, the bug FAILs."""
    x = tmp_path / "x.npy"
    np.save(x, np.array([1e-12, 2e-12, -1e-12, 0.0, 3e-12, 1.0, -1.0, 0.5]))
    code, rec = _gradcheck(run, "--plugin", wrappers, "gradcheck", "n_relu_at0_bug", x)
    assert (code, rec["verdict"], rec["failures"]) == (0, "inconclusive", 0), rec["reasons"]
    assert rec["reasons"][0].startswith("not verified: at 1 elements with an analytic gradient as large as the "
                                        "others' the loss did not change at any step tried, or changed under a bound")
    (at0,) = [w for w in rec["worst"] if w["index"] == [3]]
    assert at0["status"] == "below-noise" and at0["reason"].startswith("the numeric error bound is as wide as the "
                                                                       "role's largest gradient")
    code, rec = _gradcheck(run, "--plugin", wrappers, "gradcheck", "n_relu", x)
    assert (code, rec["verdict"]) == (0, "PASS"), rec["reasons"]
    np.save(x, np.array([0.0, 1.0, -1.0, 0.5]))
    code, rec = _gradcheck(run, "--plugin", wrappers, "gradcheck", "n_relu_at0_bug", x)
    assert (code, rec["verdict"]) == (1, "FAIL")


def test_steps_above_the_ladder_that_reach_across_zero_fail_nothing(run, wrappers, tmp_path):
    """Review 85 #3: |x| + x²/2 summed in float32 over rows of 1e3 to 1e7, x = -0.054 in a column of
    1e4: the steps above the ladder's (8 and 32, set by the column) reach across |x|'s kink at 0, both
    averaged its slopes to ~0 against the right -1.05 and agreed: FAIL. A FAIL at such steps stands
    only where they keep x's sign: undecided there now; a flipped sign at the other elements FAILs."""
    x = tmp_path / "x.npy"
    np.save(x, np.array([[-5.97630147e+07, -1.39163623e-07, -1.92822823e+03, -2.07233288e+04],
                         [1.14815027e+00, 3.13462062e+02, -5.43214502e-08, 7.25448317e+04],
                         [-6.05096092e+00, 1.76653467e-07, 1.47728905e+03, -5.43863550e-02],
                         [-4.23693149e+05, -4.84815235e+00, 1.35887891e-08, 2.82199646e-01],
                         [-3.31805763e-02, -1.34113659e-03, 4.14524449e+03, 1.81854432e+05],
                         [2.68753157e+06, -3.00136645e+00, -6.44428742e+04, -7.82883352e-07]]))
    code, rec = _gradcheck(run, "--plugin", wrappers, "gradcheck", "n_l1l2_32", x)
    assert (code, rec["failures"]) == (0, 0), rec["reasons"]
    code, rec = _gradcheck(run, "--plugin", wrappers, "gradcheck", "n_l1l2_32_bug", x)
    assert (code, rec["verdict"]) == (1, "FAIL"), rec["reasons"]


def test_one_wrong_element_of_a_float32_batch_loss_still_fails(run, wrappers, tmp_path):
    """Summing every sample's float32 rounding into the batch total's noise (first fix of review 81
    D1) widened the bounds of losses whose samples round apart (x - mean(x)) to 14 times their real
    noise: a flipped sign or one element 10% off went FAIL -> inconclusive (review 83). The total's
    noise is measured at steps float32 resolves instead: they FAIL, and the right one does not."""
    x = tmp_path / "x.npy"
    np.save(x, np.random.default_rng(3).normal(size=(64, 4)))
    code, rec = _gradcheck(run, "--plugin", wrappers, "gradcheck", "n_center32", x)
    assert (code, rec["failures"]) == (0, 0), rec["reasons"]
    for bug in ("n_center32_flip", "n_center32_e10"):
        code, rec = _gradcheck(run, "--plugin", wrappers, "gradcheck", bug, x)
        assert (code, rec["verdict"]) == (1, "FAIL"), (bug, rec["reasons"])
        assert [w["index"] for w in rec["worst"] if w["status"] == "FAIL"] == [[0, 3]]
