"""gradcheck verdicts (issue 17): no false alarm on correct gradients (steps inside the domain, noise
in the error bound, float32 code, complex step, measured coupling), every planted bug still caught,
and an element the checker cannot decide is inconclusive with its reason, never a FAIL."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from losscli import Input, get_loss, unregister_loss
from losscli.gradcheck import Options
from losscli.gradcheck.check import check_loss
from losscli.gradcheck.result import REASONS

from .conftest import squared_error as _sq
from losscli.sampling import random_inputs

ROOT = Path(__file__).parent.parent

PLUGIN = '''
import numpy as np
from losscli import Input, register_loss


def _reg(name, fn, grad, **kw):
    loss = register_loss(name, formula="test", references=("test",), **kw)(fn)
    loss.gradient(grad)


_reg("v_neglogp", lambda p: -np.log(p), lambda p: {"p": -1.0 / p},
     inputs=(Input("p", "N", "probability"),), coupling="elementwise")
# TensorFlow's sigmoid_cross_entropy_with_logits: log(1 + e^-|x|) rounds to a staircase near 0
_reg("v_tf_logistic", lambda x, z: np.maximum(x, 0) - x * z + np.log(1 + np.exp(-np.abs(x))),
     lambda x, z: {"logits": 1.0 / (1.0 + np.exp(-x)) - z},
     inputs=(Input("logits", "N"), Input("labels", "N", "probability")), coupling="elementwise")
_reg("v_sq32", lambda p, t: (np.float32(1) * (p.astype(np.float32) - t.astype(np.float32))) ** 2,
     lambda p, t: {"predictions": 2 * (p - t)}, coupling="elementwise")
_reg("v_sq32_cast_back", lambda p, t: ((p.astype(np.float32) - t.astype(np.float32)) ** 2).astype(np.float64),
     lambda p, t: {"predictions": 2 * (p - t)}, coupling="elementwise")
_reg("v_sq32_bug", lambda p, t: (p.astype(np.float32) - t.astype(np.float32)) ** 2,
     lambda p, t: {"predictions": 4 * (p - t)}, coupling="elementwise")
# float32 after a float64 difference (the step moves d = p - t in float32 where |d| < |p|)
_reg("v_cauchy32", lambda p, t: np.log1p(np.square((p - t).astype(np.float32))),
     lambda p, t: {"predictions": 2 * (p - t) / (1 + (p - t) ** 2)}, coupling="elementwise")
_reg("v_cauchy32_rows", lambda p, t: np.log1p(np.square((p - t).astype(np.float32))).reshape(len(p), -1).sum(axis=1),
     lambda p, t: {"predictions": 2 * (p - t) / (1 + (p - t) ** 2)}, coupling="row")
_reg("v_absmix", lambda p, t: (p - t) ** 2 + 0.5 * np.abs(p),
     lambda p, t: {"predictions": 2 * (p - t) + 0.5 * np.sign(p)}, coupling="elementwise")
# batch-coupled (every row sees the batch mean) but left at the default coupling "row"
_reg("v_centered", lambda x: ((x - x.mean(axis=0)) ** 2).sum(axis=1), lambda x: {"x": 2 * (x - x.mean(axis=0))},
     inputs=(Input("x", "N,D"),))
# the row max, with a gradient of 1 on every tied maximum (not a subgradient: it sums to 2)
_reg("v_rowmax_ties", lambda x: x.max(axis=1), lambda x: {"x": (x == x.max(axis=1, keepdims=True)).astype(float)},
     inputs=(Input("x", "N,D"),))
_reg("v_rowmax", lambda x: x.max(axis=1),
     lambda x: {"x": np.eye(x.shape[1])[np.argmax(x, axis=1)]}, inputs=(Input("x", "N,D"),))
# values in float64's subnormal range (1e-315 scale): their changes below its smallest step (5e-324) are 0
_reg("v_subnormal_batch", lambda x: 1e-315 * (x - x.mean()) ** 2, lambda x: {"x": 2e-315 * (x - x.mean())},
     inputs=(Input("x", "N"),), coupling="batch")
_reg("v_subnormal_batch_bug", lambda x: 1e-315 * (x - x.mean()) ** 2, lambda x: {"x": -2e-315 * (x - x.mean())},
     inputs=(Input("x", "N"),), coupling="batch")
# x², declared batch-coupled though it is elementwise, its gradient's sign flipped below |x| = 10 (review 86)
_reg("v_sq_batch_bugsign", lambda x: x ** 2, lambda x: {"x": np.where(np.abs(x) < 10, -2 * x, 2 * x)},
     inputs=(Input("x", "N"),), coupling="batch")
# gradient off by 1e-7 everywhere: what --atol is for
_reg("v_offset", lambda p, t: (p - t) ** 2, lambda p, t: {"predictions": 2 * (p - t) + 1e-7}, coupling="elementwise")
# undefined on one side of the point: sqrt(p - t) at p = t
_reg("v_sqrt", lambda p, t: np.sqrt(p - t),
     lambda p, t: {"predictions": np.where(p > t, 0.5 / np.sqrt(np.maximum(p - t, 1e-300)), 0.0)},
     coupling="elementwise")
# flat within 1 of 2^20 (derivative 0 there), then cliffs near float64's largest value where gradcheck's
# steps at 2^20 land (±4 and ±2): one-sided slopes that differ (a kink) and differences that overflow
_reg("v_cliff", lambda x: np.select([x - 2.0 ** 20 >= 3, x - 2.0 ** 20 >= 1, x - 2.0 ** 20 > -1, x - 2.0 ** 20 > -3],
                                    [1.7e308, 1.65e308, 0.0, -1.02e308], -1.5e308),
     lambda x: {"x": np.zeros_like(x)}, inputs=(Input("x", "N"),), coupling="batch")
# a large constant hides every step: the gradient is sign-flipped, and nothing can show it
_reg("v_hidden_flip", lambda x: 1e12 + (x ** 2).sum(axis=1), lambda x: {"x": -2 * x}, inputs=(Input("x", "N,D"),),
     coupling="elementwise")
# the same constant, the gradient 0 (forgotten): where no step moves the loss, 0 agrees with 0
_reg("v_hidden_zero", lambda x: 1e12 + (x ** 2).sum(axis=1), lambda x: {"x": np.zeros_like(x)},
     inputs=(Input("x", "N,D"),), coupling="elementwise")
_reg("v_hidden_zero_batch", lambda x: 1e12 + (x ** 2).sum(axis=1) + 0.0 * x.sum(), lambda x: {"x": np.zeros_like(x)},
     inputs=(Input("x", "N,D"),), coupling="batch")
# (p - y)^2 on probabilities at 1e-12, gradient tripled: steps held below 1e-12 by the bound see nothing
# x·|x| beside a constant of 1e10: a complex step sees |x| (abs drops the imaginary part), the
# derivative is 2|x|, and Richardson's bounds (~1e10·ε/h) can neither confirm nor deny the complex estimate
_reg("v_cx_row", lambda x: 1e10 + (x * np.abs(x)).sum(axis=1), lambda x: {"x": 2 * np.abs(x)},
     inputs=(Input("x", "N,D"),), coupling="elementwise")
_reg("v_cx_batch", lambda x: 1e10 + (x * np.abs(x)).sum(axis=1) + 1e-3 * x.sum() ** 2,
     lambda x: {"x": 2 * np.abs(x) + 2e-3 * x.sum() * x.shape[0]},
     inputs=(Input("x", "N,D"),), coupling="batch")
# clip to [0, 1] with the gradient 1 on the closed interval (PyTorch's clamp): valid at both bounds
_reg("v_clip01", lambda x: np.clip(x, 0, 1).sum(axis=1), lambda x: {"x": ((x >= 0) & (x <= 1)).astype(float)},
     inputs=(Input("x", "N,D"),), coupling="elementwise")
# linear with a slope of 1e8 at x = 1 + 1e-9: rounding x + t·d moves the loss by 1e8·ε, far above ε·|l|
_reg("v_steep", lambda x: (1e8 * (x - 1) + 1e-6 * (x - 1) ** 2).sum(axis=1), lambda x: {"x": 1e8 + 2e-6 * (x - 1)},
     inputs=(Input("x", "N,D"),), coupling="elementwise")
_reg("v_steep_bug", lambda x: (1e8 * (x - 1) + 1e-6 * (x - 1) ** 2).sum(axis=1),
     lambda x: {"x": 1e8 * (1 + 1e-5) + 2e-6 * (x - 1)}, inputs=(Input("x", "N,D"),), coupling="elementwise")
# |x| in a batch-coupled loss, at x = 0 exactly: sign(0) = 0 is a subgradient, 2 is not
_reg("v_absbatch", lambda x: np.abs(x).sum(axis=1) + 1e-3 * x.sum() ** 2,
     lambda x: {"x": np.sign(x) + 2e-3 * x.sum() * x.shape[0]}, inputs=(Input("x", "N,D"),), coupling="batch")
_reg("v_absbatch_bug", lambda x: np.abs(x).sum(axis=1) + 1e-3 * x.sum() ** 2,
     lambda x: {"x": np.where(x == 0, 2.0, np.sign(x)) + 2e-3 * x.sum() * x.shape[0]}, inputs=(Input("x", "N,D"),),
     coupling="batch")
# singular at 0: an element at -3e-12 beside O(1) values of its column is stepped across 0
_reg("v_sqrt_abs", lambda x: np.sqrt(np.abs(x)).sum(axis=1), lambda x: {"x": np.sign(x) * 0.5 / np.sqrt(np.abs(x))},
     inputs=(Input("x", "N,D"),), coupling="elementwise")
_reg("v_sqrt_abs_tiny_bug", lambda x: np.sqrt(np.abs(x)).sum(axis=1),
     lambda x: {"x": np.sign(x) * 0.5 / np.sqrt(np.abs(x)) * np.where(np.abs(x) < 1e-10, 1.1, 1.0)},
     inputs=(Input("x", "N,D"),), coupling="elementwise")
_reg("v_cbrt", lambda x: np.cbrt(x).sum(axis=1), lambda x: {"x": 1 / (3 * np.cbrt(x) ** 2)},
     inputs=(Input("x", "N,D"),), coupling="elementwise")
# PyTorch's relu convention: 0 at x == 0
_reg("v_relu", lambda x: np.maximum(x, 0).sum(axis=1), lambda x: {"x": (x > 0).astype(float)},
     inputs=(Input("x", "N,D"),), coupling="elementwise")
_reg("v_bound_x3", lambda p, y: ((p - y) ** 2).sum(axis=1), lambda p, y: {"p": 6 * (p - y)},
     inputs=(Input("p", "N,C", "probability"), Input("y", "N,C", "probability")), coupling="elementwise")
# binary cross-entropy clipped at 1e-7 (Keras' epsilon), with its gradient 0 where the clip holds: flat
# on [0, 1e-7], which a one-sided step of 1e-6 from p = 0 crosses (a bound of 3e7 covered any gradient)
_CLIP = 1e-7


def _bce(p, y):
    c = np.clip(p, _CLIP, 1 - _CLIP)
    return (-(y * np.log(c) + (1 - y) * np.log(1 - c))).sum(axis=1)


def _bce_grad(p, y):
    c = np.clip(p, _CLIP, 1 - _CLIP)
    return np.where((p > _CLIP) & (p < 1 - _CLIP), (c - y) / (c * (1 - c)), 0.0)


_P_Y = (Input("p", "N,C", "probability"), Input("y", "N,C", "probability"))
_reg("v_clip_bce", _bce, lambda p, y: {"p": _bce_grad(p, y)}, inputs=_P_Y, coupling="elementwise")
_reg("v_clip_bce_bug", _bce, lambda p, y: {"p": np.where(p == 0, 12345.0, _bce_grad(p, y))}, inputs=_P_Y,
     coupling="elementwise")
# the same, batch-coupled (every row also sees the batch's sum): its elements are estimated one by one
_reg("v_clip_bce_batch", lambda p, y: _bce(p, y) + 1e-3 * p.sum() ** 2,
     lambda p, y: {"p": _bce_grad(p, y) + 2e-3 * p.sum() * len(p)}, inputs=_P_Y, coupling="batch")
_reg("v_clip_bce_batch_bug", lambda p, y: _bce(p, y) + 1e-3 * p.sum() ** 2,
     lambda p, y: {"p": np.where(p == 0, 12345.0, _bce_grad(p, y) + 2e-3 * p.sum() * len(p))}, inputs=_P_Y,
     coupling="batch")
# a jump (x² + 1000 above 1) and a kink (3·max(x, 1)) 1e-7 below x = 1 + 1e-7: the steps h and h/16
# cross them, h/256 alone does not; the bugs are wrong within 1e-3 of 1. The same batch-coupled (every
# row also sees the batch's sum), as v_jump_batch, v_kink1_batch and their bugs
_NEAR_1 = {"jump": (lambda x: (x ** 2 + 1000.0 * (x > 1)).sum(axis=1), lambda x: 2 * x, 5.0),
           "kink1": (lambda x: (3 * np.maximum(x, 1.0)).sum(axis=1), lambda x: 3.0 * (x > 1), 1.5)}
for _kind, (_f, _g, _wrong) in _NEAR_1.items():
    for _tag, _coupling, _sum in (("", "elementwise", 0.0), ("_batch", "batch", 1e-3)):
        _reg(f"v_{_kind}{_tag}", lambda x, f=_f, c=_sum: f(x) + c * x.sum() ** 2,
             lambda x, g=_g, c=_sum: {"x": g(x) + 2 * c * x.sum() * len(x)}, inputs=(Input("x", "N,D"),),
             coupling=_coupling)
        _reg(f"v_{_kind}{_tag}_bug", lambda x, f=_f, c=_sum: f(x) + c * x.sum() ** 2,
             lambda x, g=_g, c=_sum, w=_wrong: {"x": np.where(np.abs(x - 1) < 1e-3, w, g(x)) + 2 * c * x.sum() * len(x)},
             inputs=(Input("x", "N,D"),), coupling=_coupling)
# a loss of ~1e-9 (an L2 penalty of weight 1e-7): no O(1) intermediate whose rounding would hide 1%
_reg("v_small_l2", lambda x: 1e-7 * (x ** 2).sum(axis=1), lambda x: {"x": 2e-7 * x}, inputs=(Input("x", "N,D"),),
     coupling="elementwise")
_reg("v_small_l2_bug", lambda x: 1e-7 * (x ** 2).sum(axis=1),
     lambda x: {"x": 2e-7 * x * np.where(np.arange(x.size).reshape(x.shape) == 3, 1.01, 1.0)},
     inputs=(Input("x", "N,D"),), coupling="elementwise")
# an ordered weighted average (sample i's loss w[rank i]·x_i), batch-coupled through the ranks; the
# bug doubles the gradient at x = 1.5, away from the ties at 0.3 and -1
def _owa(x):
    w = np.linspace(0.1, 1.0, len(x))[np.argsort(np.argsort(x, kind="stable"), kind="stable")]
    return w * x, w


_reg("v_owa", lambda x: _owa(x)[0], lambda x: {"x": _owa(x)[1]}, inputs=(Input("x", "N"),), coupling="batch")
_reg("v_owa_bug", lambda x: _owa(x)[0], lambda x: {"x": _owa(x)[1] * np.where(x == 1.5, 2.0, 1.0)},
     inputs=(Input("x", "N"),), coupling="batch")
# a hinge in float32, its bug on the wrong side of the kink (x <= 1 + 1e-4): at x = 1 + 2e-6 the loss is
# exactly 0 on both sides a step away
def _h32(x):
    return np.maximum(np.float32(1) - x.astype(np.float32), np.float32(0)).astype(np.float64)


_reg("v_h32", _h32, lambda x: {"x": -(x < 1).astype(np.float64)}, inputs=(Input("x", "N"),), coupling="elementwise")
_reg("v_h32_bug", _h32, lambda x: {"x": -(x <= 1 + 1e-4).astype(np.float64)}, inputs=(Input("x", "N"),),
     coupling="elementwise")
# sqrt + log without a declared domain, at x = 1e-300 among others: a step of any size leaves the domain
_reg("v_sqrt_log", lambda x: np.sqrt(x) + np.log(x), lambda x: {"x": 0.5 / np.sqrt(x) + 1 / x},
     inputs=(Input("x", "N"),), coupling="elementwise")
_reg("v_sqrt_log_bug", lambda x: np.sqrt(x) + np.log(x),
     lambda x: {"x": (0.5 / np.sqrt(x) + 1 / x) * np.where(x == 2.0, 1.001, 1.0)},
     inputs=(Input("x", "N"),), coupling="elementwise")
# |x - 1| smoothed over 1e-12 with a tilt inside the bend: smooth, slope -3 at x = 1, while every
# step of the ladder (>= 1e-8) sees a kink with slopes -1 and 1
_BEND = 1e-12


def _bend(x):
    u = (x - 1.0) / _BEND
    return _BEND * np.logaddexp(u, -u) - 3 * _BEND * np.tanh(u)


_reg("v_bend", _bend, lambda x: {"x": np.tanh((x - 1.0) / _BEND) - 3 / np.cosh((x - 1.0) / _BEND) ** 2},
     inputs=(Input("x", "N"),), coupling="elementwise")
_reg("v_bend_bug", _bend, lambda x: {"x": np.tanh((x - 1.0) / _BEND) - 6 / np.cosh((x - 1.0) / _BEND) ** 2},
     inputs=(Input("x", "N"),), coupling="elementwise")
_reg("v_abs_bug", lambda x: np.abs(x - 1.0), lambda x: {"x": np.sign(x - 1.0) + 2.0 * (x == 1.0)},
     inputs=(Input("x", "N"),), coupling="elementwise")


# review 99 #3: textbook softmax cross-entropy (max-shifted log-sum-exp minus the true logit, as
# PyTorch's F.cross_entropy and JAX's log_softmax compute it): in a confident row the loss is the log of
# a sum near 1, rounded to 2^-52 before the log, whole levels no exact quantum shows
def _textbook_ce(logits, labels):
    z = logits - logits.max(axis=1, keepdims=True)
    return np.log(np.exp(z).sum(axis=1)) - z[np.arange(len(z)), labels.astype(int)]


def _textbook_ce_grad(logits, labels, factor=1.0):
    z = logits - logits.max(axis=1, keepdims=True)
    s = np.exp(z)
    s /= s.sum(axis=1, keepdims=True)
    s[np.arange(len(z)), labels.astype(int)] -= 1.0
    s[:, 0] *= factor
    return {"logits": s}


_CE_ROLES = (Input("logits", "N,C", "real"), Input("labels", "N", "class_index"))
_reg("v_textbook_ce", _textbook_ce, _textbook_ce_grad, inputs=_CE_ROLES, coupling="row")
_reg("v_textbook_ce_bug", _textbook_ce, lambda z, y: _textbook_ce_grad(z, y, 2.0), inputs=_CE_ROLES, coupling="row")
_reg("v_textbook_ce_1e4", _textbook_ce, lambda z, y: _textbook_ce_grad(z, y, 1 + 1e-4), inputs=_CE_ROLES,
     coupling="row")


# review 99 #2: losses that move in jumps coarser than the step: -log(1 - σ(x)) at logits of 20..30
# (1 - σ(x) rounds to 2^-53), and a loss rounded to 1e-3
def _naive_bce(x, y):
    p = 1 / (1 + np.exp(-x))
    return -(y * np.log(p) + (1 - y) * np.log(1 - p))


_BCE_ROLES = (Input("logits", "N", "real"), Input("labels", "N", "probability"))
_reg("v_naive_bce", _naive_bce, lambda x, y: {"logits": 1 / (1 + np.exp(-x)) - y}, inputs=_BCE_ROLES,
     coupling="elementwise")
_reg("v_naive_bce_bug", _naive_bce, lambda x, y: {"logits": 2 * (1 / (1 + np.exp(-x)) - y)}, inputs=_BCE_ROLES,
     coupling="elementwise")
_reg("v_naive_bce_sign", _naive_bce,
     lambda x, y: {"logits": np.where(x > 25, -1.0, 1.0) * (1 / (1 + np.exp(-x)) - y)}, inputs=_BCE_ROLES,
     coupling="elementwise")
_reg("v_rounded_sq", lambda p, t: (np.round((p - t) ** 2 * 1e3) / 1e3).reshape(len(p), -1).sum(axis=1),
     lambda p, t: {"predictions": 2 * (p - t)}, coupling="elementwise")
_reg("v_rounded_sq_bug", lambda p, t: (np.round((p - t) ** 2 * 1e3) / 1e3).reshape(len(p), -1).sum(axis=1),
     lambda p, t: {"predictions": 4 * (p - t)}, coupling="elementwise")
'''


@pytest.fixture
def plugin(tmp_path):
    path = tmp_path / "verdict_losses.py"
    path.write_text(PLUGIN)
    yield path
    for name in ("v_neglogp", "v_tf_logistic", "v_sq32", "v_sq32_cast_back", "v_sq32_bug", "v_cauchy32", "v_cauchy32_rows", "v_absmix", "v_centered",
                 "v_rowmax_ties", "v_rowmax", "v_offset", "v_sqrt", "v_cliff", "v_hidden_flip", "v_hidden_zero", "v_hidden_zero_batch", "v_bound_x3",
                 "v_cx_row", "v_cx_batch", "v_clip01", "v_steep", "v_steep_bug", "v_absbatch", "v_absbatch_bug", "v_sqrt_abs", "v_sqrt_abs_tiny_bug", "v_cbrt", "v_relu",
                 "v_clip_bce", "v_clip_bce_bug", "v_clip_bce_batch", "v_clip_bce_batch_bug", "v_jump", "v_jump_bug", "v_kink1", "v_kink1_bug", "v_jump_batch", "v_jump_batch_bug", "v_kink1_batch",
                 "v_kink1_batch_bug", "v_sqrt_log", "v_sqrt_log_bug", "v_small_l2", "v_small_l2_bug", "v_owa", "v_owa_bug", "v_h32", "v_h32_bug",
                 "v_bend", "v_bend_bug", "v_abs_bug", "v_sq_batch_bugsign", "v_textbook_ce", "v_textbook_ce_bug",
                 "v_textbook_ce_1e4", "v_naive_bce", "v_naive_bce_bug", "v_naive_bce_sign", "v_rounded_sq",
                 "v_rounded_sq_bug"):
        try:
            unregister_loss(name)
        except Exception:
            pass


def _gradcheck(run, *args):
    result = run(*args, "--format", "json")
    data = json.loads(result.stdout)
    return result.exit_code, data["results"]


def _save(tmp_path, **arrays):
    out = []
    for name, value in arrays.items():
        np.save(tmp_path / f"{name}.npy", value)
        out.append(tmp_path / f"{name}.npy")
    return out


# -- steps inside the domain ------------------------------------------------------------------------
def _classifier(n=1000, c=10, seed=17):
    """Softmax outputs of a confident 10-class classifier (probabilities down to ~1e-14)."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, c)) * 4.0
    z[np.arange(n), rng.integers(0, c, n)] += 8
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True), rng


@pytest.mark.parametrize("loss, labels", [("ce", "index"), ("ce", "rows"), ("kl", "rows")])
def test_ce_and_kl_at_a_confident_classifiers_softmax_outputs_pass(run, tmp_path, loss, labels):
    probs, rng = _classifier()
    assert (probs < 6e-6).mean() > 0.2  # (the regime of the issue: steps of 6e-6 left the domain)
    y = rng.integers(0, 10, 1000) if labels == "index" else rng.dirichlet(np.ones(10), 1000)
    code, (rec,) = _gradcheck(run, "gradcheck", loss, *_save(tmp_path, p=probs, y=y))
    assert code == 0 and rec["failures"] == 0 and rec["inconclusive"] == 0, rec["worst"][:2]
    assert rec["checked"] == 10_000


@pytest.mark.parametrize("loss, arrays", [
    ("bce", lambda rng: dict(p=np.exp(rng.uniform(np.log(1.3e-7), np.log(3e-6), 1000)),
                             y=rng.integers(0, 2, 1000).astype(float))),
    ("gaussian_nll", lambda rng: dict(m=(m := rng.normal(size=1000)), t=m + 1e-3 * rng.normal(size=1000),
                                      v=rng.uniform(1.3e-6, 1e-5, 1000))),
    ("log_cosh", lambda rng: dict(p=(p := rng.normal(size=2000)),
                                  t=p - rng.uniform(1e-7, 7e-6, 2000) * rng.choice([-1, 1], 2000))),
])
def test_builtins_pass_near_the_bounds_of_their_domains(run, tmp_path, loss, arrays):
    code, (rec,) = _gradcheck(run, "gradcheck", loss, *_save(tmp_path, **arrays(np.random.default_rng(5))))
    assert code == 0 and rec["failures"] == 0, rec["worst"][:2]


@pytest.mark.parametrize("args", [
    ("cosine_distance", "--seed", "2"), ("mnrl", "--seed", "3"), ("nt_xent", "--seed", "2"),
    ("infonce", "--seed", "3"), ("cosent", "--seed", "2"), ("cosine_distance", "--seed", "2", "--method", "central"),
    ("nt_xent", "cosent", "--seed", "2", "--samples", "8", "--method", "central"),
])
def test_rows_of_tiny_norm_in_normalised_losses_pass(run, args):
    """300 random embeddings include rows of norm 1e-5..1e-4 among rows of norm ~2: a cosine
    curves at the row's own scale, so a step set by the other rows (~4e-6) made correct gradients
    FAIL (2 to 5 elements a run, by 1.5 to 24 times the error bound; torch and mpmath agreed with
    the analytic values)."""
    extra = () if "--samples" in args else ("--samples", "300", "--dim", "5")
    code, recs = _gradcheck(run, "gradcheck", *args, *extra)
    assert code == 0 and all(r["failures"] == 0 for r in recs), [r["worst"][:2] for r in recs]


@pytest.mark.parametrize("name", ["v_hidden_zero", "v_hidden_zero_batch"])
def test_a_forgotten_gradient_of_0_where_the_loss_cannot_move_is_inconclusive_not_pass(run, tmp_path, plugin, name):
    """1e12 + x² with a gradient of 0 at x ~ 0.01: no step the check takes moves the loss (its
    rounding is 1.2e-4), so numeric 0 agreed exactly with analytic 0 and every element counted as
    verified: PASS, with 2x ~ 0.02 the true gradient. A 0 agreed under a bound of ~1e3 verifies
    nothing: below the noise, and the verdict says nothing was verified. The same loss at x ~ 100,
    where the steps move it, FAILs."""
    x = np.random.default_rng(0).normal(size=(8, 1))
    code, (rec,) = _gradcheck(run, "--plugin", plugin, "gradcheck", name, *_save(tmp_path, x=0.01 * x))
    assert (code, rec["verdict"], rec["verified"], rec["below_noise"]) == (0, "inconclusive", 0, 8), rec["reasons"]
    assert rec["reasons"][0].startswith("nothing verified: all 8 elements lie below the numeric noise")
    code, (rec,) = _gradcheck(run, "--plugin", plugin, "gradcheck", name, *_save(tmp_path, x=100 * x))
    assert (code, rec["verdict"], rec["failures"]) == (1, "FAIL", 8), rec["reasons"]


def test_a_row_of_tiny_norm_does_not_widen_every_batch_elements_bound(run):
    """cosent at seed 2 holds a row of tiny norm: the noise table moved it by 2^-26 of the other
    rows' scale, its curvature read as noise, and every element's bound came out ~114 (4 times
    gradients that the estimates matched to 1e-9): 39 of 48 elements below noise, nothing checked."""
    code, (rec,) = _gradcheck(run, "gradcheck", "cosent", "--seed", "2", "--samples", "8", "--top", "48")
    assert code == 0 and rec["failures"] == 0
    assert max(w["error_estimate"] / max(1.0, abs(w["analytic"])) for w in rec["worst"] if w["role"] == "x1") < 1e-2
    assert rec["verified"] >= 18


@pytest.mark.parametrize("name, inputs", [
    ("v_hidden_flip", ()), ("v_bound_x3", ("p", "y")),
])
def test_a_gradient_no_step_can_see_is_inconclusive_not_pass(run, tmp_path, plugin, name, inputs):
    """Wrong gradients (sign-flipped, tripled) where the loss does not change at any step tried: the
    verdict says nothing was verified, and why, instead of PASS."""
    files = _save(tmp_path, p=np.full((4, 3), 1e-12), y=np.full((4, 3), 0.5)) if inputs else ()
    code, (rec,) = _gradcheck(run, "--plugin", plugin, "gradcheck", name, *files)
    assert code == 0 and rec["verdict"] == "inconclusive", rec["reasons"]
    assert rec["verified"] == 0 and rec["reasons"][0].startswith("nothing verified: at ")
    assert "elements with a nonzero analytic gradient the loss did not change at any step tried" in rec["reasons"][0]


@pytest.mark.parametrize("atol", [[], ["--atol", "0"]])
@pytest.mark.parametrize("n", [8, 100])
def test_a_loss_of_subnormal_values_is_inconclusive_not_fail(run, tmp_path, plugin, atol, n):
    """Review 81 D4: a batch-coupled loss of subnormal values (1e-315·(x - mean)²) whose changes fall
    below float64's smallest step: the bounds were ε·|l| = 1e-331, under that step, and a correct
    gradient FAILed with --atol 0 (6 of 8 elements: the numeric slope 0), and PASSed with nothing
    verified without it, as did a sign-flipped one. A value's noise is at least the smallest step its
    precision takes: nothing is verified, and the verdict says so; the flipped sign still FAILs
    where the steps resolve it (--atol 0)."""
    x = _save(tmp_path, x=np.random.default_rng(3).normal(size=n) * (1 if n == 8 else 10))
    code, (rec,) = _gradcheck(run, "--plugin", plugin, "gradcheck", "v_subnormal_batch", *x, *atol)
    assert (code, rec["verdict"], rec["failures"], rec["verified"]) == (0, "inconclusive", 0, 0), rec["reasons"]
    assert rec["reasons"][0].startswith("nothing verified: all ")
    code, (rec,) = _gradcheck(run, "--plugin", plugin, "gradcheck", "v_subnormal_batch_bug", *x, *atol)
    assert (code, rec["verdict"]) == ((1, "FAIL") if atol else (0, "inconclusive")), rec["reasons"]


def test_a_role_declared_batch_coupled_but_row_local_is_checked_element_by_element(run, tmp_path, plugin):
    """Review 86 G1: checking every role declared batch-coupled on the total (a first version of this
    stop's) buried small elements under the noise of a total of 1e16: x² with its gradient's sign flipped
    at x ~ 1 beside x ~ 1e8 PASSed (37 -> 6,186 evaluations at N = 3,010). A role no row of which moves
    another's loss is checked element by element, as before: FAIL."""
    x = _save(tmp_path, x=np.array([1e8, 1.2e8, 1.4e8, 1.6e8, 1.8e8, 1, -1.5, 2, -2.5, 1.2, -1.8, 2.2, -1.1, 1.7,
                                    -2.9]))
    code, (rec,) = _gradcheck(run, "--plugin", plugin, "gradcheck", "v_sq_batch_bugsign", *x)
    assert (code, rec["verdict"], rec["failures"]) == (1, "FAIL", 10), rec["reasons"]


def test_a_zero_gradient_where_the_loss_is_flat_verifies_nothing_beside_it(run, tmp_path, plugin):
    """Review 70 #4: 1e12 + x² with a sign-flipped gradient at x = 0, 1, -1. The loss does not move at
    1 and -1 (nothing seen), and x = 0, a gradient of exactly 0 where the loss is flat, counted as
    verified: the verdict was PASS. Its bound (~1e3) tells nothing of gradients below it, so that 0
    is below the noise too. Alone, zeros where the loss is exactly flat are a verified check (a hinge
    whose margins all hold, whose gradient a wrong nonzero value would FAIL): PASS."""
    code, (rec,) = _gradcheck(run, "--plugin", plugin, "gradcheck", "v_hidden_flip",
                              *_save(tmp_path, x=np.array([[0.0], [1.0], [-1.0]])))
    assert (code, rec["verdict"], rec["verified"], rec["below_noise"]) == (0, "inconclusive", 0, 3), rec["reasons"]
    assert rec["reasons"][0].startswith("nothing verified: at 2 elements with a nonzero analytic gradient")
    (tmp_path / "h.csv").write_text("p,t\n3,1\n-5,-1\n2,1\n")  # (the hinge's loss is exactly 0: nothing hides)
    code, (rec,) = _gradcheck(run, "gradcheck", "hinge", f"{tmp_path}/h.csv:p", f"{tmp_path}/h.csv:t")
    assert (code, rec["verdict"], rec["verified"]) == (0, "PASS", 3)


@pytest.mark.parametrize("loss", ["dice", "tversky"])
def test_a_loss_rounded_above_its_value_is_no_taylor_failure(run, loss):
    """dice at p = 1.3e-7, y = 0 is 1 - s/(p + s): it moves in steps of 1e-16, a billion times its
    ε·|l|, so the Taylor remainders are rounding; they read order 1.00 and FAILed a right gradient.
    (log_loss at p = 1 - 1e-8, whose log(1 - c) loses 8 digits, read order 1.26 the same way.)"""
    code, (rec,) = _gradcheck(run, "gradcheck", loss, "--seed", "123", "--samples", "1", "--dim", "1")
    assert code == 0 and rec["verdict"] == "PASS", rec["reasons"]
    assert rec["taylor"][0]["passed"] and "within the loss's noise along the probe" in rec["taylor"][0]["note"]


def test_log_loss_near_its_clip_is_no_taylor_failure(run):
    code, (rec,) = _gradcheck(run, "gradcheck", "log_loss", "--seed", "42", "--samples", "300")
    assert code == 0 and rec["failures"] == 0 and all(t["passed"] for t in rec["taylor"]), rec["reasons"]


@pytest.mark.parametrize("args", [("arcface", "--seed", "37", "--samples", "2"),
                                  ("subcenter_arcface", "--seed", "37", "--samples", "2", "--dim", "1")])
def test_the_rounding_of_the_moved_point_is_no_taylor_order(run, args):
    """arcface with a target cosine of 1 - 1.4e-7 (gradient -57384): rounding x + t·d to float64
    moves the loss by 57384·ε ~ 1e-11, ten times the summed losses' rounding the Taylor test
    allowed, and remainders of that size read order 0.12: FAIL on a gradient the elements verify."""
    code, (rec,) = _gradcheck(run, "gradcheck", *args)
    assert code == 0 and rec["verdict"] == "PASS" and rec["failures"] == 0, rec["reasons"]
    assert rec["taylor"][0]["order"] is None and "that of the moved point" in rec["taylor"][0]["note"]


def test_a_steep_linear_loss_reads_no_random_order_and_its_bug_fails(run, tmp_path, plugin):
    x = _save(tmp_path, x=1 + 1e-9 * np.random.default_rng(0).normal(size=(6, 4)))
    for seed in "0", "1", "2":
        code, (rec,) = _gradcheck(run, "--plugin", plugin, "gradcheck", "v_steep", *x, "--seed", seed)
        assert code == 0 and rec["verdict"] == "PASS" and rec["taylor"][0]["order"] is None, rec["taylor"]
        code, (rec,) = _gradcheck(run, "--plugin", plugin, "gradcheck", "v_steep_bug", *x, "--seed", seed)
        assert code == 1 and rec["failures"] == 24


def test_a_gradient_within_atol_is_no_taylor_failure(run):
    """poly1 at a loss of 4e-19: its gradient (torch's, to the last bit) is 6e-18 off along the probe,
    which the Taylor test read as order 1.00 and FAILed while --atol (1e-12) covers it; the elements
    lie below --atol, so nothing is verified: inconclusive. A smaller --atol is a FAIL again."""
    args = ("gradcheck", "poly1", "--seed", "55", "--samples", "1", "--classes", "2")
    code, (rec,) = _gradcheck(run, *args)
    assert code == 0 and rec["verdict"] == "inconclusive" and rec["taylor"][0]["passed"], rec["taylor"]
    assert "is within --atol 1e-12 and --rtol 1e-06 per element along the probe" in rec["taylor"][0]["note"]
    assert rec["reasons"][0].startswith("nothing verified: all 2 elements lie below the numeric noise or --atol")
    code, (rec,) = _gradcheck(run, *args, "--atol", "1e-20")
    assert code == 1 and not rec["taylor"][0]["passed"]


@pytest.mark.parametrize("method", ["central", "richardson"])
def test_batch_kinks_are_judged_by_their_one_sided_slopes_with_every_method(run, tmp_path, plugin, method):
    """--method central on a batch-coupled loss had both one-sided slopes of every element and
    ignored them: mnrl at dim 1 (a cosine that jumps at 0) FAILed its right gradient 0 beside slopes
    [106290, 0] at seed 13. A subgradient between the slopes is a kink; one outside them FAILs."""
    code, (rec,) = _gradcheck(run, "gradcheck", "mnrl", "--method", method, "--seed", "13", "--samples", "1",
                              "--dim", "1")
    assert code == 0 and rec["failures"] == 0 and rec["kinks"] == 1, rec["worst"][:1]
    x = np.random.default_rng(0).normal(size=(5, 3))
    x[1, 2] = x[3, 0] = 0.0
    files = _save(tmp_path, x=x)
    code, (rec,) = _gradcheck(run, "--plugin", plugin, "gradcheck", "v_absbatch", *files, "--method", method)
    assert code == 0 and rec["verdict"] == "PASS" and rec["kinks"] == 2 and rec["verified"] == 13
    code, (rec,) = _gradcheck(run, "--plugin", plugin, "gradcheck", "v_absbatch_bug", *files, "--method", method)
    assert code == 1 and rec["failures"] == 2 and {tuple(w["index"]) for w in rec["worst"][:2]} == {(1, 2), (3, 0)}


XNEAR = "a,b,c\n1e-9,0.3,-0.2\n0.5,-3e-12,0.1\n2e-7,1.0,-1e-6\n"


@pytest.mark.parametrize("name", ["v_sqrt_abs", "v_cbrt"])
def test_an_element_the_steps_dwarf_is_judged_at_its_own_scale(run, tmp_path, plugin, name):
    """x = -3e-12 in a column of O(1) values: steps of 4e-9 (the column's scale) cross the
    singularity at 0, the one-sided slopes straddle it and a right gradient FAILed as an invalid
    subgradient (sqrt|x|, cbrt); x = -1e-6 was called a kink. At steps of the element's own scale
    they are smooth points; a gradient wrong only there still FAILs."""
    (tmp_path / "x.csv").write_text(XNEAR)
    code, (rec,) = _gradcheck(run, "--plugin", plugin, "gradcheck", name, f"{tmp_path / 'x.csv'}:a,b,c")
    assert code == 0 and rec["failures"] == 0 and rec["kinks"] == 0, rec["worst"][:2]
    tiny = next(w for w in rec["worst"] if w["index"] == [1, 1])
    assert tiny["status"] in ("ok", "below-noise") and tiny["step"] < 1e-16
    if name == "v_sqrt_abs":
        code, (rec,) = _gradcheck(run, "--plugin", plugin, "gradcheck", "v_sqrt_abs_tiny_bug",
                                  f"{tmp_path / 'x.csv'}:a,b,c")
        assert code == 1 and rec["failures"] == 1 and rec["worst"][0]["index"] == [1, 1]


def test_a_clip_inside_the_one_sided_step_is_resolved_by_smaller_steps(run, tmp_path, plugin):
    """bce clipped at 1e-7, at p = 0: the one-sided step (1e-6) crosses the clip, its bound was
    3e7 wide and a gradient of 12345 there passed as below-noise. Steps of 6e-8 and 4e-9 stay on the
    flat part: the right 0 agrees under a bound of 1e-5 (below the noise still: the loss's rounding
    over such steps hides gradients of up to 1e-5, more than rtol times the others), and 12345 FAILs there. Batch-coupled,
    the one estimate across the clip (-4e6, bound 1.4e6) FAILed the right gradient."""
    (tmp_path / "b.csv").write_text("p1,p2,t1,t2\n0.0,0.3,1,0\n0.3,0.6,1,0\n0.8,0.1,1,0\n")
    files = (f"{tmp_path / 'b.csv'}:p1,p2", f"{tmp_path / 'b.csv'}:t1,t2")
    code, (rec,) = _gradcheck(run, "--plugin", plugin, "gradcheck", "v_clip_bce", *files)
    assert code == 0 and rec["verdict"] == "PASS" and rec["below_noise"] == 1 and rec["verified"] == 5, rec["worst"]
    at0 = next(w for w in rec["worst"] if w["index"] == [0, 0])
    assert at0["status"] == "below-noise" and at0["numeric"] == 0.0 and at0["step"] < 1e-7
    assert at0["error_estimate"] < 2e-5
    code, (rec,) = _gradcheck(run, "--plugin", plugin, "gradcheck", "v_clip_bce_bug", *files)
    assert code == 1 and rec["failures"] == 1 and rec["worst"][0]["index"] == [0, 0], rec["worst"][:2]
    assert rec["worst"][0]["reason"].startswith(REASONS[1])
    code, (rec,) = _gradcheck(run, "--plugin", plugin, "gradcheck", "v_clip_bce_batch", *files)
    assert code == 0 and rec["failures"] == rec["inconclusive"] == 0 and rec["couplings"] == {"p": "batch"}, \
        rec["worst"][:2]
    code, (rec,) = _gradcheck(run, "--plugin", plugin, "gradcheck", "v_clip_bce_batch_bug", *files)
    assert code == 1 and rec["failures"] == 1 and rec["worst"][0]["index"] == [0, 0], rec["worst"][:2]


@pytest.mark.parametrize("name", ["v_jump", "v_kink1"])
def test_a_jump_or_kink_just_beside_x_is_resolved_at_two_smaller_steps(run, tmp_path, plugin, name):
    """x = 1 + 1e-7, beside a jump or a kink at 1: the steps h and h/16 cross it, h/256 does not, so
    one clean step size stood behind the estimate and a wrong gradient there was inconclusive. A
    fourth rung (h/4096) gives the second: the wrong value FAILs there, the right one passes. At
    1 + 1e-9 every rung of the ladder crosses it and the element was a kink with any value between
    the slopes; below the ladder two clean steps that agree judge it. At x = 1 the kink stands."""
    x = np.array([[1.0, 0.5], [1.0005, 2.0], [0.9999, 1.5], [1.0000001, 0.2], [1 + 1e-9, 0.7]])
    files = _save(tmp_path, x=x)
    code, (rec,) = _gradcheck(run, "--plugin", plugin, "gradcheck", name, *files)
    assert code == 0 and rec["failures"] == 0 and rec["inconclusive"] == 0 and rec["kinks"] == 1, rec["worst"][:3]
    code, (rec,) = _gradcheck(run, "--plugin", plugin, "gradcheck", f"{name}_bug", *files)
    failed = {tuple(w["index"]) for w in rec["worst"] if w["status"] == "FAIL"}
    assert code == 1 and rec["inconclusive"] == 0 and failed == {(1, 0), (2, 0), (3, 0), (4, 0)}, rec["worst"][:5]
    assert next(w for w in rec["worst"] if w["index"] == [0, 0])["status"] == "kink"


@pytest.mark.parametrize("name", ["v_jump_batch", "v_kink1_batch"])
def test_a_jump_or_kink_beside_x_in_a_batch_coupled_role(run, tmp_path, plugin, name):
    """The same, batch-coupled. The noise table of the total moves every element at once: at x = 1.0
    it crossed the jump, its σ was the jump's, and every element was below-noise under it, so
    gradients wrong by 3 at 1.0005 and 0.9999 passed (exit 0). Each sample is now measured both
    ways and a table 16x the other is a discontinuity, not noise. Elements 1e-7 and 1e-9 above the
    jump or kink were kinks with any value between the slopes accepted: they go down the steps
    (h/16 ... h/2^20) until two that agree judge them, FAIL at two steps, reported at the smaller."""
    x = np.array([[1.0, 0.5], [1.0005, 2.0], [0.9999, 1.5], [1.0000001, 0.2], [1 + 1e-9, 0.7]])
    files = _save(tmp_path, x=x)
    code, (rec,) = _gradcheck(run, "--plugin", plugin, "gradcheck", name, *files)
    assert code == 0 and rec["couplings"] == {"x": "batch"}, rec["worst"][:3]
    assert rec["failures"] == rec["inconclusive"] == 0 and rec["kinks"] == 1, rec["worst"][:3]
    code, (rec,) = _gradcheck(run, "--plugin", plugin, "gradcheck", f"{name}_bug", *files)
    failed = {tuple(w["index"]): w for w in rec["worst"] if w["status"] == "FAIL"}
    assert code == 1 and rec["inconclusive"] == 0 and set(failed) == {(1, 0), (2, 0), (3, 0), (4, 0)}, rec["worst"][:5]
    for near in (3, 0), (4, 0):
        assert failed[near]["reason"].startswith(REASONS[1]) and failed[near]["step"] < 1e-7, failed[near]
    assert next(w for w in rec["worst"] if w["index"] == [0, 0])["status"] == "kink"


@pytest.mark.parametrize("method", ["complex", "richardson"])
def test_relu_at_zero_beside_tiny_values_is_no_failure(run, tmp_path, plugin, method):
    """relu at x = 0 beside x = 1e-10: the first step saw the kink, the noise floor of an O(1)
    intermediate then hid it, and the complex step (maximum(0 + ih, 0) = ih: slope 1) FAILed
    PyTorch's 0 there. No complex step where a kink was seen."""
    code, (rec,) = _gradcheck(run, "--plugin", plugin, "gradcheck", "v_relu", *_save(tmp_path, x=[[0.0], [1e-10]]),
                              "--method", method)
    assert code == 0 and rec["failures"] == 0 and rec["verified"] == 1, rec["worst"]


def test_a_plugins_neg_log_at_tiny_probabilities_passes(run, tmp_path, plugin):
    p = np.exp(np.random.default_rng(6).uniform(np.log(1e-9), np.log(6e-6), 1000))
    code, (rec,) = _gradcheck(run, "--plugin", plugin, "gradcheck", "v_neglogp", *_save(tmp_path, p=p))
    assert code == 0 and rec["verified"] == 1000, rec["worst"][:2]  # every element verified, none NaN


# -- noise in the error bound, --atol absolute -------------------------------------------------------
def test_losses_that_round_internally_pass(run, tmp_path, plugin):
    rng = np.random.default_rng(7)
    p = rng.normal(size=1000)
    t = p - rng.uniform(1e-7, 7e-6, 1000) * rng.choice([-1, 1], 1000)
    code, (rec,) = _gradcheck(run, "--plugin", ROOT / "examples" / "my_losses.py", "gradcheck", "pseudo_huber",
                              *_save(tmp_path, p=p, t=t))
    assert code == 0 and rec["failures"] == 0 and rec["inconclusive"] == 0
    assert rec["precision"] == "float64"  # (cancellation is not float32 code)
    # residuals of 1e-9: sqrt(1 + d²) - 1 is exactly 0, along every step and the Taylor probe, whose
    # remainder was t·gᵀd, order 1, and FAILed the right gradient. Nothing can be verified there.
    p = rng.normal(size=50) * 1e-9
    code, (rec,) = _gradcheck(run, "--plugin", ROOT / "examples" / "my_losses.py", "gradcheck", "pseudo_huber",
                              *_save(tmp_path, p=p, t=np.zeros(50)))
    assert (code, rec["verdict"], rec["failures"], rec["verified"]) == (0, "inconclusive", 0, 0)
    assert rec["taylor"][0]["passed"] and rec["taylor"][0]["order"] is None
    assert rec["taylor"][0]["note"].startswith("the summed loss did not change along the probe at any t")
    x = rng.uniform(20, 34, 1000) * rng.choice([-1, 1], 1000)
    code, (rec,) = _gradcheck(run, "--plugin", plugin, "gradcheck", "v_tf_logistic",
                              *_save(tmp_path, x=x, z=(x > 0).astype(float)))
    assert code == 0 and rec["failures"] == 0 and rec["kinks"] == 0, rec["worst"][:2]


def test_atol_is_an_absolute_tolerance(run, tmp_path, plugin):
    rng = np.random.default_rng(8)
    p = rng.normal(size=200)
    files = _save(tmp_path, p=p, t=p - 1e-5 * rng.normal(size=200))  # gradients ~2e-5, each off by 1e-7
    code, (rec,) = _gradcheck(run, "--plugin", plugin, "gradcheck", "v_offset", *files)
    assert code == 1 and rec["failures"] == 200
    code, (rec,) = _gradcheck(run, "--plugin", plugin, "gradcheck", "v_offset", *files, "--atol", "1e-6")
    assert code == 0 and rec["failures"] == 0 and rec["below_noise"] == 200
    assert "Absolute tolerance: an element passes when" in run("gradcheck", "--help").stdout


# -- float32 code ------------------------------------------------------------------------------------
@pytest.mark.parametrize("rows", [10_000, 20_000])
@pytest.mark.parametrize("name", ["v_sq32", "v_sq32_cast_back", "v_cauchy32"])
def test_a_float32_loss_passes_with_its_precision_reported(run, tmp_path, plugin, name, rows):
    """Also beyond 16,384 rows, where the precision is measured on a slice of the rows: the slice's
    losses, widened to float64, were taken for a float64 loss's, and v_cauchy32 FAILed 14,566 of
    16,385 correct elements ("numeric 0"; review 99 #1)."""
    rng = np.random.default_rng(9)
    files = _save(tmp_path, p=rng.normal(size=rows), t=rng.normal(size=rows))
    code, (rec,) = _gradcheck(run, "--plugin", plugin, "gradcheck", name, *files)
    assert code == 0 and rec["failures"] == 0 and rec["kinks"] == 0
    assert rec["precision"] == "float32" and any("computes in float32" in n for n in rec["notes"])
    (taylor,) = rec["taylor"]
    assert taylor["passed"] and 1.8 < taylor["order"] < 2.2 and "note" not in taylor  # measured, not waived
    code, (bug,) = _gradcheck(run, "--plugin", plugin, "gradcheck", "v_sq32_bug", *files)
    assert code == 1 and bug["failures"] > 0.99 * rows


@pytest.mark.parametrize("seed", [5, 9])
def test_a_float32_losss_taylor_remainder_within_its_precision_is_no_fail(run, plugin, seed):
    """A correct float32 gradient FAILed on the Taylor test alone (order 1.25, no element failing)
    on 3% of seeds (review 99 #6): its remainder's linear part is within what float32 resolves
    (1e-3 relative per element), the --rtol its note suggests. Not a FAIL; a factor 2 still is."""
    code, (rec,) = _gradcheck(run, "--plugin", plugin, "gradcheck", "v_cauchy32_rows", "--samples", "16", "--dim", "7",
                              "--seed", str(seed))
    assert code == 0 and rec["failures"] == 0 and all(t["passed"] for t in rec["taylor"]), rec["taylor"]


# -- complex step, per element --------------------------------------------------------------------------
def test_complex_step_falls_back_where_the_code_is_not_analytic(run, tmp_path, plugin):
    rng = np.random.default_rng(10)
    code, (rec,) = _gradcheck(run, "--plugin", plugin, "gradcheck", "v_absmix",
                              *_save(tmp_path, p=rng.normal(size=1000), t=rng.normal(size=1000)), "--method", "complex")
    assert code == 0 and rec["failures"] == 0
    assert "complex step disagrees with richardson at 1000 of 1000 elements" in rec["notes"][0]
    code, recs = _gradcheck(run, "gradcheck", "log_cosh", "bce_logits", "cosine_embedding", "infonce", "mnrl", "ge2e",
                            "--method", "complex", "--samples", "16", "--seed", "3")
    assert code == 0 and all(r["passed"] for r in recs), [(r["loss"], r["notes"]) for r in recs if not r["passed"]]


def test_a_complex_step_confirmed_by_richardson_is_held_to_richardsons_bound(run):
    """bce_logits' code takes |x| and max(x, 0): for complex input it drops the e^-|x| term, 3e-7
    at x = -15. Richardson confirmed that complex estimate within its own bound and the complex
    step's ε-sized bound was then used: the right gradient FAILed by 5.8e8 times it (outside review)."""
    code, (rec,) = _gradcheck(run, "gradcheck", "bce_logits", "--seed", "3", "--samples", "64", "--classes", "10",
                              "--dim", "16", "--method", "complex")
    assert code == 0 and rec["failures"] == 0 and rec["max_error_ratio"] <= 1, rec["worst"][:2]
    assert any("complex step is kept at the" in n for n in rec["notes"])


@pytest.mark.parametrize("seed, samples", [(2, "8"), (0, "64"), (5, "64")])
def test_a_complex_step_richardson_cannot_confirm_is_not_used(run, seed, samples):
    """cosent's code drops the imaginary part of x1 (every complex estimate ~0); Richardson's bounds
    there are wide, so 'no disagreement' was read as confirmation and the right gradient FAILed at
    24 of 48 elements by 4.5e15 times the complex step's bound (`--all --method complex` sweep)."""
    code, (rec,) = _gradcheck(run, "gradcheck", "cosent", "--seed", str(seed), "--samples", samples,
                              "--method", "complex")
    assert code == 0 and rec["failures"] == 0, rec["worst"][:2]
    assert any(n.startswith("x1: ") and n.endswith("used richardson") for n in rec["notes"]), rec["notes"]


@pytest.mark.parametrize("name, note", [
    ("v_cx_row", "x: richardson resolves too few elements to confirm the complex step: used richardson"),
    ("v_cx_batch", "x: richardson resolves 0 of 16 sampled elements, too few to confirm the complex step: used "
                   "richardson"),
])
def test_a_complex_step_nothing_can_confirm_is_not_trusted(run, plugin, name, note):
    """Wide Richardson bounds everywhere showed no disagreement, and a complex step that drops a
    term (|x| for 2|x|) was trusted with its ε-sized bounds: a right gradient FAILed."""
    code, (rec,) = _gradcheck(run, "--plugin", plugin, "gradcheck", name, "--method", "complex")
    assert code == 0 and rec["failures"] == 0 and rec["verdict"] == "inconclusive", rec["worst"][:2]
    assert note in rec["notes"]


# -- coupling, Taylor direction, ties -------------------------------------------------------------------
def test_a_batch_coupled_plugin_left_at_the_default_row_coupling(run, plugin):
    """(The measurement is ``batch.detect_coupling``'s.)"""
    code, (rec,) = _gradcheck(run, "--plugin", plugin, "gradcheck", "v_centered", "--samples", "12")
    assert code == 0 and rec["failures"] == 0
    assert rec["couplings"] == {"x": "batch"}
    assert "x: declared coupling 'row', but the loss is batch-coupled" in rec["notes"][0]


@pytest.mark.parametrize("name", ["infonce", "mnrl", "cosine_embedding"])
def test_the_taylor_direction_is_not_the_random_input(run, name):
    code, (rec,) = _gradcheck(run, "gradcheck", name)
    assert code == 0
    # (a number, not None: the remainder moves; 2 at most inputs, 3 where the curvature along the probe is ~0)
    assert all(t["order"] is not None and t["order"] > 1.5 for t in rec["taylor"]), rec["taylor"]


@pytest.mark.parametrize("scores, labels", [
    ([[1, 0, 0, 0], [2, 1, 1, -3], [0, 0, 0, 0], [3, 2, 2, 2]], [0, 0, 1, 0]),
    ([[3, 2, 2, 2], [2, 1, 1, -3]], [0, 0]),
])
def test_a_hinge_exactly_at_its_margin_is_not_read_as_bfloat16(run, tmp_path, scores, labels):
    """Every row of categorical_hinge at its margin, with ties in the max: the precision probe (all
    elements up by a quarter of a coarser spacing) leaves such rows flat, read as bfloat16, whose
    wide bounds then ended in a Taylor FAIL of the right gradient (outside review)."""
    files = _save(tmp_path, s=np.array(scores, dtype=float), y=np.array(labels))
    code, (rec,) = _gradcheck(run, "gradcheck", "categorical_hinge", *files)
    assert code == 0 and rec["verdict"] == "PASS" and rec["precision"] == "float64", rec["reasons"]
    assert rec["failures"] == 0 and rec["below_noise"] == 0 and rec["kinks"] > 0


def test_a_clamp_at_both_bounds_in_one_row_is_no_tied_kink(run, tmp_path, plugin):
    """A row with kinks that bend opposite ways (clip at 1 and at 0: one-sided slopes [1, 0] and
    [0, 1]) has joint slopes 1 and 1, while PyTorch's gradient 1 + 1 is a valid subgradient: the
    joint test FAILed it (outside review). Each element is judged on its own."""
    x = np.array([[1.0, -1.0, 0.0], [0.5, 1.0, 0.0], [0.25, 2.0, 0.75]])
    code, (rec,) = _gradcheck(run, "--plugin", plugin, "gradcheck", "v_clip01", *_save(tmp_path, x=x))
    assert code == 0 and rec["verdict"] == "PASS" and rec["failures"] == 0, rec["worst"][:3]
    assert rec["kinks"] == 4


def test_a_gradient_of_one_on_every_tied_maximum_fails(run, tmp_path, plugin):
    x = np.random.default_rng(11).normal(size=(50, 4))
    x[7, 0] = x[7, 3] = x[7].max() + 1.0  # a tie of two
    files = _save(tmp_path, x=x)
    code, (rec,) = _gradcheck(run, "--plugin", plugin, "gradcheck", "v_rowmax_ties", *files)
    assert code == 1 and rec["failures"] == 2
    assert {tuple(w["index"]) for w in rec["worst"] if w["status"] == "FAIL"} == {(7, 0), (7, 3)}
    assert "joint direction" in rec["worst"][0]["reason"]
    code, (rec,) = _gradcheck(run, "--plugin", plugin, "gradcheck", "v_rowmax", *files)  # one-hot: a subgradient
    assert code == 0 and rec["kinks"] == 2


def test_a_bend_narrower_than_the_ladders_steps_is_followed_down_to_it(run, tmp_path, plugin):
    """A smooth bend 1e-12 wide at x = 1: every rung of the ladder (steps >= 1e-8) saw a kink with
    slopes -1 and 1, and the right -3 FAILed as outside them. The loss changes by the same amount at
    three step sizes there (a bend within the smallest), so the steps go on down: at 2.3e-13 two that
    agree pass -3 and FAIL -6. A kink that is one (|x - 1| with a gradient of 2) still FAILs as one."""
    files = _save(tmp_path, x=np.array([1.0, 0.5, 2.0]))
    code, (rec,) = _gradcheck(run, "--plugin", plugin, "gradcheck", "v_bend", *files)
    assert code == 0 and rec["verdict"] == "PASS" and rec["failures"] == rec["inconclusive"] == 0, rec["worst"]
    at1 = next(w for w in rec["worst"] if w["index"] == [0])
    assert at1["step"] < 1e-12 and abs(at1["numeric"] + 3) < 1e-3, at1
    code, (rec,) = _gradcheck(run, "--plugin", plugin, "gradcheck", "v_bend_bug", *files)
    (bad,) = [w for w in rec["worst"] if w["status"] == "FAIL"]
    assert code == 1 and bad["index"] == [0] and bad["reason"].startswith(REASONS[1]), rec["worst"]
    code, (rec,) = _gradcheck(run, "--plugin", plugin, "gradcheck", "v_abs_bug", *files)
    (bad,) = [w for w in rec["worst"] if w["status"] == "FAIL"]
    assert code == 1 and bad["index"] == [0] and bad["reason"].startswith(REASONS[2]), rec["worst"]


@pytest.mark.parametrize("loss", ["poly1", "softmax_ce"])
def test_a_bend_narrower_than_floats_spacing_is_undecided_not_a_fail(run, tmp_path, loss):
    """Equal logits of 1e17: float64's spacing there is 16, the steps 1e9, and poly1 (ε = 2, not
    convex) bends within 1 of x: its slopes at any step are -1 and 0 on the target, while its right
    derivative -10/9 lies outside them. poly1 FAILed its correct gradient (exit 1) at every element.
    Now nothing FAILs: the loss falls by the same 2.4 at three step sizes, a bend narrower than any
    step float64 allows, and the tied kinks of each row are undecided along their joint direction too."""
    z, y = np.full((3, 3), 1e17), np.array([0, 1, 2])
    code, (rec,) = _gradcheck(run, "gradcheck", loss, *_save(tmp_path, logits=z, labels=y))
    assert code == 0 and rec["failures"] == 0, rec["worst"]
    if loss == "poly1":
        assert rec["verdict"] == "inconclusive" and rec["inconclusive"] == 6, rec["worst"]
        # (undecided along the tied kinks' joint direction, or at the smallest steps float64 allows)
        assert {w["reason"] for w in rec["worst"] if w["status"] == "inconclusive"} <= {REASONS[19], REASONS[21]}


# -- undecidable: inconclusive, never FAIL ---------------------------------------------------------------
def test_a_loss_undefined_a_step_away_is_inconclusive(run, tmp_path, plugin):
    p = np.array([0.5, 1.0, 2.0])
    code, (rec,) = _gradcheck(run, "--plugin", plugin, "gradcheck", "v_sqrt", *_save(tmp_path, p=p, t=np.array([0.1, 1.0, 0.3])))
    assert code == 0 and rec["failures"] == 0 and rec["inconclusive"] == 1
    (row,) = [w for w in rec["worst"] if w["status"] == "inconclusive"]
    assert row["index"] == [1] and "not finite a step away" in row["reason"]


def test_no_finite_numeric_derivative_at_a_kink_is_inconclusive(run, tmp_path, plugin):
    """A jump at x whose numeric derivative is not finite at any step: inconclusive (one rule,
    result.classify, for batch-coupled roles, parameters and second derivatives), not a FAIL of the
    correct 0. Where the cliffs are 1 away on both sides (x = 2^20, the steps 4 and 2 cross them),
    the flat part between them is measured at a smaller step: 0, verified."""
    code, (rec,) = _gradcheck(run, "--plugin", plugin, "gradcheck", "v_cliff",
                              *_save(tmp_path, x=np.array([2.0 ** 20 + 1])))
    assert code == 0 and rec["verdict"] == "inconclusive" and rec["failures"] == 0 and rec["inconclusive"] == 1
    (row,) = rec["worst"]
    assert row["status"] == "inconclusive" and row["numeric"] is None and row["step"] == 4.0
    assert row["reason"] == "the loss is not finite a step away from x (NaN/inf at every step size): no numeric derivative"
    assert row["left_slope"] != row["right_slope"]  # (the kink the old order FAILed it for)
    code, (rec,) = _gradcheck(run, "--plugin", plugin, "gradcheck", "v_cliff", *_save(tmp_path, x=np.array([2.0 ** 20])))
    assert code == 0 and rec["verdict"] == "PASS" and rec["inconclusive"] == 0, rec["worst"]
    (row,) = rec["worst"]
    assert row["status"] == "ok" and row["numeric"] == 0.0 and row["step"] == 0.25


# -- planted bugs are still caught ------------------------------------------------------------------------


def _fails(r):
    return [(w["role"], tuple(w["index"])) for w in r.worst(50) if w["status"] == "FAIL"]


@pytest.mark.parametrize("rel", [1e-5, 1e-4, 1e-3])
def test_a_small_relative_error_in_one_element_of_a_million(custom, rel):
    """1e-5 relative is caught: the bound there (rtol 1e-6 and a numeric error of ~1e-10) is far below it."""
    rng = np.random.default_rng(12)
    p, t = rng.normal(size=1_000_000), rng.normal(size=1_000_000)
    k = 654_321

    def grad(p, t):
        g = 2 * (p - t)
        g[k] *= 1 + rel
        return {"predictions": g}

    loss = custom(f"bad_rel_{round(-np.log10(rel))}", _sq, grad, coupling="elementwise")
    r = check_loss(loss, {"predictions": p, "labels": t}, {}, Options())
    assert _fails(r) == [("predictions", (k,))] and r.counts["inconclusive"] == 0


def test_a_rare_branch_and_one_class_column_are_caught(custom):
    rng = np.random.default_rng(13)
    p, t = rng.normal(size=5000), rng.normal(size=5000)
    rare = custom("bad_branch", _sq, lambda p, t: {"predictions": np.where(p - t > 3.5, 2.2 * (p - t), 2 * (p - t))},
                  coupling="elementwise")
    r = check_loss(rare, {"predictions": p, "labels": t}, {}, Options())
    assert sorted(_fails(r)) == sorted(("predictions", (int(i),)) for i in np.flatnonzero(p - t > 3.5))
    ce = get_loss("softmax_ce")

    def column(z, y):
        g = ce.grad(z, y)["logits"].copy()
        g[:, 2] *= 1.01
        return {"logits": g}

    bad = custom("bad_column", lambda z, y: ce(z, y), column,
                 inputs=(Input("logits", "N,C"), Input("labels", "N", "class_index")), coupling="row")
    z, y = rng.normal(size=(300, 5)), rng.integers(0, 5, 300)
    r = check_loss(bad, {"logits": z, "labels": y}, {}, Options())
    assert r.counts["FAIL"] == 300 and {i[1] for _, i in _fails(r)} == {2}


# -- random inputs over the whole domain --------------------------------------------------------------------
def test_random_inputs_fill_trailing_dims_and_reach_the_bounds():
    dice = random_inputs(get_loss("dice"), samples=50, dim=6, seed=0, trailing=(6,), boundary=0.5)
    assert dice["predictions"].shape == (50, 6)
    p = dice["predictions"]
    assert p.min() < 1e-5 and p.max() > 1 - 1e-5 and ((p > 0) & (p < 1)).all()
    var = random_inputs(get_loss("gaussian_nll"), samples=200, seed=1, boundary=0.25)["var"]
    assert var.min() < 1e-6 and (var > 0).all()
    plain = random_inputs(get_loss("bce"), samples=200, seed=1)["predictions"]  # the default keeps away from them
    assert plain.min() >= 0.05


@pytest.mark.parametrize("seed", range(5))
def test_every_builtin_passes_at_random_inputs_near_its_bounds(run, seed):
    """``gradcheck --all`` at random inputs, a quarter of the rows near the domain's bounds
    (probabilities to 1e-8 of 0 and 1, variances near 0): no FAIL at any size; roles shaped
    N,... get --dim elements per sample (dice and tversky are not one pixel per sample)."""
    for n, c, d in [(8, 4, 3), (20, 6, 5), (3, 2, 1)]:
        r = run("gradcheck", "--all", "--seed", seed, "--samples", n, "--classes", c, "--dim", d, "--format", "json")
        results = json.loads(r.stdout)["results"]
        assert r.exit_code == 0, [(x["loss"], x["failures"], x["worst"][:1]) for x in results if not x["passed"]]
        want = [n, d] if d > 1 else [n]  # (--dim 1: one value per sample)
        assert {x["loss"]: x["inputs"]["predictions"] for x in results if x["loss"] in ("dice", "tversky")} == \
            {"dice": want, "tversky": want}


# -- found by an outside review: a wider bound at smaller steps, small losses, float32, complex step ------
REVIEW_PLUGIN = '''
import numpy as np
from losscli import Input, register_loss

X = (Input("x", "N,D"),)


def _reg(name, fn, grad, inputs=X, coupling="elementwise"):
    loss = register_loss(name, formula="test", references=("test",), inputs=inputs, coupling=coupling)(fn)
    loss.gradient(grad)


def _one_off(g, rel, at=(1, 1)):
    g = g.copy()
    g[at] *= 1 + rel
    return g


_offset = lambda x: (1000.0 + 0.5 * x * x + 2.0 * x).sum(axis=1)
_reg("r_offset", _offset, lambda x: {"x": x + 2.0})
_reg("r_offset_bug", _offset, lambda x: {"x": _one_off(x + 2.0, 1e-5)})
_big = lambda x: (1e6 + x).sum(axis=1)
_reg("r_big", _big, lambda x: {"x": np.ones_like(x)})
_reg("r_big_bug", _big, lambda x: {"x": _one_off(np.ones_like(x), 1e-2)})
_f32 = lambda x: (x.astype(np.float32) ** 2).sum(axis=1)
_reg("r_f32", _f32, lambda x: {"x": 2 * x})
_reg("r_f32_bug", _f32, lambda x: {"x": _one_off(2 * x, 1e-2)})
_small = lambda p, t: (p - t) ** 2
_reg("r_small", _small, lambda p, t: {"predictions": 2 * (p - t)}, inputs=None)
_reg("r_small_bug", _small, lambda p, t: {"predictions": 4 * (p - t)}, inputs=None)
_rowexp = lambda x: np.exp(x).sum(axis=1)
_reg("r_rowexp", _rowexp, lambda x: {"x": np.exp(x)}, coupling="row")
_reg("r_shape", lambda x: (x * x).sum(axis=1), lambda x: {"x": 2 * x[:, :1]})
_reg("r_key", lambda x: (x * x).sum(axis=1), lambda x: {"X": 2 * x})
'''
REVIEW_NAMES = ("r_offset", "r_offset_bug", "r_big", "r_big_bug", "r_f32", "r_f32_bug", "r_small", "r_small_bug",
                "r_rowexp", "r_shape", "r_key")


@pytest.fixture
def review_plugin(tmp_path):
    path = tmp_path / "review_losses.py"
    path.write_text(REVIEW_PLUGIN.replace("inputs=None", "inputs=(Input('predictions', 'N'), Input('labels', "
                                                                      "'=predictions'))"))
    yield path
    for name in REVIEW_NAMES:
        try:
            unregister_loss(name)
        except Exception:
            pass


@pytest.mark.parametrize("name, seed", [("r_offset", 0), ("r_offset", 2), ("r_big", 2), ("r_f32", 9), ("r_f32", 1)])
def test_one_element_off_under_noise_fails_at_that_element(run, review_plugin, name, seed):
    """A smaller step's wider bound no longer passes what the first step shows: under a loss of
    1000 (1e-5 off), of 1e6 + x (1% off) and in float32 code (1% off), exactly the planted element
    FAILs; the right gradient passes."""
    code, (rec,) = _gradcheck(run, "--plugin", review_plugin, "gradcheck", name, "--seed", seed)
    assert code == 0 and rec["failures"] == 0, rec["worst"][:2]
    code, (rec,) = _gradcheck(run, "--plugin", review_plugin, "gradcheck", f"{name}_bug", "--seed", seed)
    assert code == 1 and rec["failures"] == 1, rec["worst"][:2]
    (row,) = [w for w in rec["worst"] if w["status"] == "FAIL"]
    assert row["index"] == [1, 1]
    assert row["reason"].startswith((REASONS[1], REASONS[14]))


def test_a_doubled_gradient_of_a_small_loss_fails(run, review_plugin, tmp_path):
    """Values near 1e-12: every element is below the bound of an O(1) intermediate's rounding, and
    the Taylor test (order 1) fails the loss, at --atol 0 and at the default."""
    rng = np.random.default_rng(0)
    files = _save(tmp_path, p=rng.normal(size=50) * 1e-6, t=rng.normal(size=50) * 1e-6)
    for atol in ([], ["--atol", "0"]):
        code, (rec,) = _gradcheck(run, "--plugin", review_plugin, "gradcheck", "r_small", *files, *atol)
        assert code == 0 and rec["verdict"] == "PASS", rec["reasons"]
        code, (rec,) = _gradcheck(run, "--plugin", review_plugin, "gradcheck", "r_small_bug", *files, *atol)
        assert code == 1 and rec["verdict"] == "FAIL"
        assert [t["passed"] for t in rec["taylor"]] == [False] and 0.9 < rec["taylor"][0]["order"] < 1.1


def test_an_element_lost_in_the_losss_rounding_says_so(run, review_plugin, tmp_path):
    x = np.array([[40.0, 0.0], [40.0, 0.5], [40.0, -1.0]])
    code, (rec,) = _gradcheck(run, "--plugin", review_plugin, "gradcheck", "r_rowexp", *_save(tmp_path, x=x))
    lost = [w for w in rec["worst"] if w["index"][1] == 1]
    assert code == 0 and len(lost) == 3 and all(w["numeric"] == 0 for w in lost)
    assert {w["reason"] for w in lost} == {REASONS[15]} and {w["status"] for w in lost} == {"below-noise"}


def test_complex_step_lets_no_warning_through(tmp_path):
    (tmp_path / "reg.csv").write_text("p,t\n0,0\n1,0\n-1,0\n1e-300,0\n2,1\n0.5,0.5\n")
    proc = subprocess.run([sys.executable, "-m", "losscli", "gradcheck", "log_cosh", "reg.csv:p", "reg.csv:t",
                           "--method", "complex", "--format", "json"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    assert json.loads(proc.stdout)["results"][0]["verdict"] == "PASS"


def test_a_gradient_of_the_wrong_shape_says_so_at_every_element(run, review_plugin):
    code, (rec,) = _gradcheck(run, "--plugin", review_plugin, "gradcheck", "r_shape")
    assert code == 1 and rec["failures"] == rec["checked"] == 24
    assert rec["notes"] == ["x: the analytic gradient returned shape (8, 1), expected shape (8, 3)"]
    assert {w["reason"] for w in rec["worst"]} == {REASONS[7]}


def test_a_gradient_under_another_name_says_which_key_is_missing(run, review_plugin):
    code, (rec,) = _gradcheck(run, "--plugin", review_plugin, "gradcheck", "r_key")
    assert code == 1 and rec["failures"] == rec["checked"] == 24
    assert rec["notes"] == ["x: the analytic gradient has no 'x' (its keys: 'X'; one per differentiable input: 'x')"]
    assert rec["reasons"] == ["24 of 24 elements fail: the analytic gradient is missing or has the wrong shape"]


CONTRACT_PLUGIN = '''
import numpy as np
from losscli import Input, register_loss

X = (Input("x", "N,D"),)


def _reg(name, fn, grad):
    register_loss(name, formula="test", references=("test",), inputs=X, coupling="elementwise")(fn).gradient(grad)


_reg("k_grad_none", lambda x: (x * x).sum(axis=1), lambda x: None)
_reg("k_grad_array", lambda x: (x * x).sum(axis=1), lambda x: 2 * x)
_reg("k_loss_text", lambda x: np.array(["a"] * len(x)), lambda x: {"x": 2 * x})
_reg("k_loss_none", lambda x: None, lambda x: {"x": 2 * x})
_reg("k_loss_complex", lambda x: (x * x).sum(axis=1).astype(complex), lambda x: {"x": 2 * x})
_reg("k_loss_longdouble", lambda x: (x * x).sum(axis=1).astype(np.longdouble), lambda x: {"x": 2 * x})
_reg("k_grad_nan", lambda x: (x * x).sum(axis=1), lambda x: {"x": np.where(x > 0.5, np.nan, 2 * x)})
# 1% wrong under a constant of 1e8: every element below the noise, no Taylor order measurable
_reg("k_offset_wrong", lambda x: (1e8 + x ** 2).sum(axis=1), lambda x: {"x": 2.02 * x})
_reg("k_grad_complex", lambda x: (x * x).sum(axis=1), lambda x: {"x": (2 * x).astype(complex)})
_reg("k_grad_value_none", lambda x: (x * x).sum(axis=1), lambda x: {"x": None})
_reg("k_neg_log", lambda x: -np.log(x).sum(axis=1), lambda x: {"x": -1.0 / x})
_reg("k_grad_float32", lambda x: (x * x).sum(axis=1), lambda x: {"x": (2 * x).astype(np.float32)})
_reg("k_grad_extra", lambda x: (x * x).sum(axis=1), lambda x: {"x": 2 * x, "X": 2 * x})
register_loss("k_grad_undeclared", formula="test", references=("test",), inputs=(Input("x", "N,D"), Input("y", "N,D")),
              coupling="elementwise")(lambda x, y: (x * y).sum(axis=1)).gradient(lambda x, y: {"x": y, "y": 3 * x})
'''


@pytest.mark.parametrize("name, message", [
    ("k_grad_none", "k_grad_none: the gradient function returned NoneType, expected a dict of one array per "
                    "differentiable input ('x')"),
    ("k_grad_array", "k_grad_array: the gradient function returned ndarray, expected a dict of one array per "
                     "differentiable input ('x')"),
    ("k_loss_text", "k_loss_text: the loss function returned values of dtype <U1, expected one real number per "
                    "sample"),
    ("k_loss_none", "k_loss_none: the loss function returned None, expected one real number per sample"),
    ("k_loss_complex", "k_loss_complex: the loss function returned values of dtype complex128, expected one real "
                       "number per sample"),
    ("k_grad_complex", "k_grad_complex: the gradient function returned values of dtype complex128 for 'x', expected "
                       "real numbers"),
    ("k_grad_value_none", "k_grad_value_none: the gradient function returned None for 'x', expected real numbers"),
])
def test_a_plugin_that_breaks_the_contract_is_told_so(run, tmp_path, name, message):
    """What a user's loss or gradient function returns, refused in one line, exit 2 (was exit 3:
    'argument of type NoneType is not iterable', 'could not convert string to float')."""
    (tmp_path / "contract.py").write_text(CONTRACT_PLUGIN)
    out = run("--plugin", tmp_path / "contract.py", "gradcheck", name)
    assert (out.exit_code, out.stdout, out.stderr) == (2, "", f"Error: {message}\n")
    out = run("--plugin", tmp_path / "contract.py", "compute", name, *_save(tmp_path, x=np.ones((3, 2))),
              "--save-grad", tmp_path / "g.npy")
    assert (out.exit_code, out.stderr) == (2, f"Error: {message}\n")


def test_a_users_log_of_0_is_not_called_an_overflow(run, tmp_path):
    """-log(x) at x = 0 was refused as 'the loss overflows float64 ... the values are too extreme for
    this loss' (review 52): a user's code may take a log or a quotient at 0; built-in losses cannot."""
    (tmp_path / "contract.py").write_text(CONTRACT_PLUGIN)
    files = _save(tmp_path, x=np.array([[1.0, 2.0], [0.0, 1.0]]))
    for command in ("compute", "gradcheck"):
        out = run("--plugin", tmp_path / "contract.py", command, "k_neg_log", *files)
        assert (out.exit_code, out.stderr) == (2, "Error: k_neg_log: the loss is infinite at row 1 (1 of 2 rows) although "
                                                  "the inputs are finite: an overflow beyond float64, or a log or a "
                                                  "division at 0 in the loss's code\n")


@pytest.mark.parametrize("loss, p, params", [("gamma_deviance", 1e-160, ()),
                                              ("tweedie_deviance", 1e-300, ("-p", "power=1.5"))])
def test_a_gradient_beyond_float64_where_the_loss_is_finite_is_not_a_fail(run, tmp_path, loss, p, params):
    """gamma_deviance at a prediction of 1e-160: its gradient 2(p - y)/p² is -2e320, which float64
    rounds to -inf, and the slopes overflow too: FAILed as 'not finite' (review 99 #7). Nothing to
    compare: inconclusive, saying why; the other elements are checked, and a gradient that is inf
    where the slopes are finite still FAILs."""
    (tmp_path / "g.csv").write_text(f"p,t\n{p!r},1\n0.5,1\n2,1\n")
    code, (rec,) = _gradcheck(run, "gradcheck", loss, f"{tmp_path}/g.csv:p", f"{tmp_path}/g.csv:t", *params)
    assert (code, rec["verdict"], rec["failures"], rec["inconclusive"]) == (0, "inconclusive", 0, 1), rec["reasons"]
    assert any("the gradient is beyond float64's range here" in r for r in rec["reasons"]), rec["reasons"]
    # a gradient e times too large, inf at p = 709 where the slope is a finite 4.1e307: FAIL (review 103 #2)
    (tmp_path / "big.py").write_text(
        "import numpy as np\nfrom losscli import register_loss\n\n"
        "@register_loss('half_exp_wrong', coupling='elementwise', formula='exp(p)/2', references=('test',))\n"
        "def half_exp_wrong(predictions, labels):\n    return 0.5 * np.exp(predictions)\n\n"
        "@half_exp_wrong.gradient\ndef _(predictions, labels):\n"
        "    with np.errstate(over='ignore'):\n        return {'predictions': np.exp(predictions + 1.0) / 2}\n")
    (tmp_path / "e.csv").write_text("p,t\n709.0,0\n708.0,0\n")
    try:
        code, (rec,) = _gradcheck(run, "--plugin", tmp_path / "big.py", "gradcheck", "half_exp_wrong",
                                  f"{tmp_path}/e.csv:p", f"{tmp_path}/e.csv:t")
    finally:
        unregister_loss("half_exp_wrong")
    assert code == 1 and rec["failures"] == 1 and "not finite there" in rec["reasons"][0], rec["reasons"]


def test_what_a_plugin_returns_that_is_not_a_wrong_gradient_says_what_it_is(run, tmp_path):
    (tmp_path / "contract.py").write_text(CONTRACT_PLUGIN)
    code, (rec,) = _gradcheck(run, "--plugin", tmp_path / "contract.py", "gradcheck", "k_loss_longdouble")
    assert code == 0 and rec["verdict"] == "PASS"  # (long double: finer than float64, checked as float64)
    code, (rec,) = _gradcheck(run, "--plugin", tmp_path / "contract.py", "gradcheck", "k_grad_nan")
    assert code == 1 and rec["reasons"][0].endswith(" elements fail: the analytic gradient is not finite there")
    rng = np.random.default_rng(1)
    code, (rec,) = _gradcheck(run, "--plugin", tmp_path / "contract.py", "gradcheck", "k_offset_wrong",
                              *_save(tmp_path, x=rng.normal(size=(6, 4))))
    assert code == 0 and rec["verdict"] == "inconclusive" and rec["verified"] == 0
    assert rec["reasons"][0].startswith("nothing verified: all 24 elements lie below the numeric noise or --atol, and "
                                        "the Taylor test could not measure an order")


def test_what_a_gradient_holds_beyond_its_checked_inputs_is_said(run, tmp_path):
    """A float32 gradient, a key no input has (a typo beside the right one), and a gradient for an
    input the loss does not declare differentiable were accepted without a word: the last is never
    checked, whatever it holds (3·x here, where y's true gradient is x)."""
    (tmp_path / "contract.py").write_text(CONTRACT_PLUGIN)
    code, (rec,) = _gradcheck(run, "--plugin", tmp_path / "contract.py", "gradcheck", "k_grad_float32")
    assert code == 0 and "x: the analytic gradient is float32 (ε 1.2e-07): its rounding is part of what is compared" \
        in rec["notes"]
    code, (rec,) = _gradcheck(run, "--plugin", tmp_path / "contract.py", "gradcheck", "k_grad_extra")
    assert code == 0 and "the analytic gradient's 'X' is not an input of k_grad_extra (its inputs: 'x'): ignored" \
        in rec["notes"]
    code, (rec,) = _gradcheck(run, "--plugin", tmp_path / "contract.py", "gradcheck", "k_grad_undeclared")
    assert code == 0 and ("the analytic gradient's 'y' is not checked: k_grad_undeclared declares 'x' differentiable "
                          "(register_loss(..., differentiable=(...)) names the inputs to check)") in rec["notes"]


@pytest.mark.parametrize("method", ["richardson", "complex"])
def test_the_complex_step_never_fails_where_richardson_settled_nothing(run, plugin, tmp_path, method):
    """sqrt(x) + log(x) at x = 1e-300: every step leaves the domain, so Richardson says so
    (inconclusive). The complex step, trusted for the role by the other elements, replaced that
    with an estimate of 1.6e28 at a step of 1e-28 and FAILed the right derivative 1e300 (exit 1). It
    now confirms such an element or leaves it inconclusive; a wrong value elsewhere still FAILs."""
    x = _save(tmp_path, x=np.array([1e-12, 2.0, 1e-300, 0.5, 3e-8]))[0]
    code, results = _gradcheck(run, "--plugin", plugin, "gradcheck", "v_sqrt_log", x, "--method", method)
    assert (code, results[0]["verdict"]) == (0, "inconclusive")
    tiny = next(e for e in results[0]["worst"] if e["index"] == [2])
    assert tiny["status"] == "inconclusive" and tiny["reason"].startswith("the loss is not finite a step away")
    code, results = _gradcheck(run, "--plugin", plugin, "gradcheck", "v_sqrt_log_bug", x, "--method", method)
    assert (code, results[0]["verdict"]) == (1, "FAIL")
    assert [e["index"] for e in results[0]["worst"] if e["status"] == "FAIL"] == [[1]]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_small_loss_is_judged_at_its_own_scale(run, plugin, seed):
    """1e-7·x²: a gradient 1% wrong at one element passed (below-noise, bound 3.5e-9 against a gradient
    of 2e-8) under the rounding assumed for an O(1) intermediate the loss does not have. Estimates at
    h and h/16 that agree far closer than that rounding allows now refute it: the bug FAILs, at two
    step sizes that agree, and the right gradient does not (PASS, or with every element below the
    noise, inconclusive: a Taylor order along random directions verifies no element)."""
    code, results = _gradcheck(run, "--plugin", plugin, "gradcheck", "v_small_l2", "v_small_l2_bug", "--seed", seed)
    assert code == 1
    assert [r["verdict"] for r in results] == ["inconclusive" if seed == 0 else "PASS", "FAIL"]
    failed = [e for e in results[1]["worst"] if e["status"] == "FAIL"]
    assert [e["index"] for e in failed] == [[1, 0]]
    assert failed[0]["reason"].startswith("numeric and analytic differ beyond the tolerance, at two step sizes")


@pytest.mark.parametrize("loss, args", [("tversky", ("--samples", "200", "--dim", "2", "--seed", "2")),
                                        ("tversky", ("--samples", "200", "--dim", "2", "--seed", "7")),
                                        ("dice", ("--samples", "200", "--dim", "2", "--seed", "3")),
                                        ("tversky", ("--samples", "100", "--dim", "4", "--classes", "6", "--seed", "6"))])
def test_a_loss_computed_as_1_minus_a_ratio_is_not_failed_by_its_quantised_values(run, loss, args):
    """tversky and dice (1 - A/B) at p = 3e-8: every value a multiple of 2^-49, so differences at steps
    of powers of two came out exactly 0.5 at h and at h/16, and that exact agreement 'refuted' the
    rounding of the 1 inside; the loss's own scale (3e-5·ε) left a bound of 2e-6 against a staircase
    error of 6e-5, and a correct gradient FAILed (review 61 F3). Quantised values refute nothing."""
    code, results = _gradcheck(run, "gradcheck", loss, *args)
    assert (code, [r["verdict"] for r in results]) == (0, ["PASS"]), results[0]["reasons"]


def test_ties_elsewhere_in_a_batch_hide_no_wrong_element(run, plugin, tmp_path):
    """The total's noise is measured moving every element at once; tied ranks that swap make it
    jump, so every element had a bound of ~1.5e4 and a gradient doubled at x = 1.5 (no tie near it)
    passed as below-noise. That element's own differences at h and h/2 agree to 1e-11: the total's
    noise is not its, and it FAILs at two step sizes that agree; the right gradient is verified."""
    x = _save(tmp_path, x=np.array([0.3, 0.3, -1.0, 2.0, 0.3, 1.5, -1.0, 0.0]))[0]
    code, results = _gradcheck(run, "--plugin", plugin, "gradcheck", "v_owa", "v_owa_bug", x)
    assert code == 1
    assert [r["verdict"] for r in results] == ["PASS", "FAIL"]
    right = next(e for e in results[0]["worst"] if e["index"] == [5])
    assert right["status"] == "ok" and right["error_estimate"] < 1e-6
    failed = [e for e in results[1]["worst"] if e["status"] == "FAIL"]
    assert [e["index"] for e in failed] == [[5]]
    assert failed[0]["reason"].startswith("numeric and analytic differ beyond the tolerance, at two step sizes")


def test_a_loss_that_does_not_move_at_all_is_flat_not_rounding(run, plugin, tmp_path):
    """float32 code, x = 1 + 2e-6 beside a hinge's kink at 1: the loss is exactly 0 a step away on
    both sides, where a gradient of -1 predicts a change of 8 float32 rounding levels. The wrong side
    passed under a bound of 3.8 ("below the loss's rounding"); it FAILs, and the right side passes."""
    x = _save(tmp_path, x=np.array([1 + 2e-6, 0.5, 2.0, -0.3, 0.1, 1.5]))[0]
    code, results = _gradcheck(run, "--plugin", plugin, "gradcheck", "v_h32", "v_h32_bug", x)
    assert code == 1
    assert [r["verdict"] for r in results] == ["PASS", "FAIL"]
    failed = [e for e in results[1]["worst"] if e["status"] == "FAIL"]
    assert [(e["index"], e["numeric"]) for e in failed] == [([0], 0.0)]
    assert failed[0]["reason"].startswith("the loss is exactly 0 at x and a step away on either side")


@pytest.mark.parametrize("seed, samples", [(4, 8), (3, 64)])
def test_a_loss_that_rounds_larger_intermediates_is_not_called_flat(run, seed, samples):
    """triplet at tiny inputs: its distances (~5) round a change of 1e-15 away, so the loss does not
    move a step of 2e-13 away although its gradient is 0.007 there. That is rounding, not a flat loss
    (only a loss exactly 0, a clamp, is judged flat): no FAIL."""
    code, results = _gradcheck(run, "gradcheck", "triplet", "--seed", seed, "--samples", samples, "--classes", 10,
                               "--dim", 16)
    assert code == 0 and results[0]["verdict"] in ("PASS", "inconclusive")


SCALES_PLUGIN = '''
import numpy as np
from losscli import Input, register_loss

def _reg(name, f, g, inputs):
    loss = register_loss(name, inputs=inputs, coupling="elementwise")(f)
    loss.gradient(g)

_reg("s_sin", lambda x: np.sin(x), lambda x: {"x": np.cos(x)}, (Input("x", "N"),))
_reg("s_sq_bug", lambda x: (x - 1.0) ** 2, lambda x: {"x": 2.0002 * (x - 1.0)}, (Input("x", "N"),))
_reg("s_cos", lambda x: np.cos(x), lambda x: {"x": -np.sin(x)}, (Input("x", "N"),))
_reg("s_cos_bug", lambda x: np.cos(x), lambda x: {"x": -1.01 * np.sin(x)}, (Input("x", "N"),))
_reg("s_gauss", lambda p, t: np.exp(-(p - t) ** 2), lambda p, t: {"predictions": -2 * (p - t) * np.exp(-(p - t) ** 2)},
     (Input("predictions", "N"), Input("labels", "N")))
for name, k in (("s_cube", 1.0), ("s_cube_flip", -1.0), ("s_cube_off", 1.01)):  # (wrong only where |x| < 1e-3)
    _reg(name, lambda x: x ** 3, lambda x, k=k: {"x": 3 * x ** 2 * np.where(np.abs(x) < 1e-3, k, 1.0)},
         (Input("x", "N"),))
for name, k in (("s_logcosh", 1.0), ("s_logcosh_bug", 1.001)):
    _reg(name, lambda p, t: np.logaddexp(p - t, t - p) - np.log(2),
         lambda p, t, k=k: {"predictions": k * np.tanh(p - t)}, (Input("predictions", "N"), Input("labels", "N")))
'''


@pytest.fixture
def scales_plugin(tmp_path):
    path = tmp_path / "scales_losses.py"
    path.write_text(SCALES_PLUGIN)
    yield path
    for name in ("s_sin", "s_sq_bug", "s_cos", "s_cos_bug", "s_gauss", "s_logcosh", "s_logcosh_bug", "s_cube",
                 "s_cube_flip", "s_cube_off"):
        try:
            unregister_loss(name)
        except Exception:
            pass


@pytest.mark.parametrize("big", [1e9, 1e12])
def test_an_element_beside_a_huge_one_is_judged_at_its_own_scale(run, scales_plugin, tmp_path, big):
    """sin at x = 1.5 beside x = 1e9: its steps followed the column's typical |x| (2048), where the
    slopes of every period cancel, and its correct gradient FAILed at two step sizes that agree (review
    61 F2). A FAIL at steps that dwarf the element is judged again at its own scale: ok there."""
    (tmp_path / "x.csv").write_text(f"x\n{big}\n1.5\n")  # (the column's typical |x|: their mean, 5e8)
    code, results = _gradcheck(run, "--plugin", scales_plugin, "gradcheck", "s_sin", f"{tmp_path}/x.csv:x")
    statuses = {e["index"][0]: e["status"] for e in results[0]["worst"]}
    assert statuses[1] == "ok"
    # where the element's own steps cannot verify the value (x = 1e-9 of a loss that curves at scale
    # 1: its rounding over steps of 6e-15 covers a 0.01% error), a FAIL at the column's steps stands
    (tmp_path / "z.csv").write_text("x\n1e-9\n0.7\n1.3\n2.1\n")
    code, results = _gradcheck(run, "--plugin", scales_plugin, "gradcheck", "s_sq_bug", f"{tmp_path}/z.csv:x")
    assert code == 1 and {e["index"][0]: e["status"] for e in results[0]["worst"]}[0] == "FAIL"


def test_a_loss_bending_far_below_the_scale_of_x_is_judged_at_the_smallest_steps(run, scales_plugin, tmp_path):
    """sin at x = 1e12 alone: its steps follow |x| (4e6, a million periods), where two estimates of ~0
    agreed, and its correct gradient FAILed. Steps down to float64's spacing at x (1e-3) verify it.
    A gradient 1% off still FAILs at those steps, at every scale. (Where that spacing is too coarse
    for the bends, cos at 1e15, spacing 0.125, the FAIL stands: nothing there tells it from a loss
    that rounds 100·x, whose FAIL at steps of 1e-4 is right.)"""
    (tmp_path / "one.csv").write_text("x\n1e12\n")
    code, results = _gradcheck(run, "--plugin", scales_plugin, "gradcheck", "s_sin", f"{tmp_path}/one.csv:x")
    assert (code, results[0]["verdict"]) == (0, "PASS")
    assert results[0]["worst"][0]["status"] == "ok" and results[0]["worst"][0]["reason"] == REASONS[20]
    xs = [1e12, 3e9, -7e13, 12345678.9]
    (tmp_path / "big.csv").write_text("x\n" + "\n".join(map(repr, xs)) + "\n")
    code, results = _gradcheck(run, "--plugin", scales_plugin, "gradcheck", "s_cos", f"{tmp_path}/big.csv:x")
    assert code == 0 and results[0]["failures"] == 0 and results[0]["verdict"] in ("PASS", "inconclusive")
    code, results = _gradcheck(run, "--plugin", scales_plugin, "gradcheck", "s_cos_bug", f"{tmp_path}/big.csv:x")
    assert (code, results[0]["verdict"]) == (1, "FAIL")
    assert {e["index"][0] for e in results[0]["worst"] if e["status"] == "FAIL"} == {0, 1, 2, 3}


@pytest.mark.parametrize("bug", ["s_cube_flip", "s_cube_off"])
def test_a_wrong_gradient_beside_a_huge_element_is_not_covered_by_an_assumed_rounding(run, scales_plugin, tmp_path,
                                                                                          bug):
    """x³ at x = 5e-4 beside x = 1e6 (review 70 #2): the column's steps see a kink there, and at the
    element's own steps its bound assumed the rounding of an O(1) intermediate inside the loss, 3.6e-6
    against a gradient of 7.5e-7, so a sign-flipped gradient PASSed. Two estimates there agreeing to
    1e-18 deny such an intermediate, as they do at the ladder's steps: a wrong gradient FAILs, and
    the right one passes."""
    (tmp_path / "x.csv").write_text("x\n0.0005\n1000000\n")
    code, results = _gradcheck(run, "--plugin", scales_plugin, "gradcheck", bug, f"{tmp_path}/x.csv:x")
    assert (code, results[0]["verdict"]) == (1, "FAIL")
    assert [e["index"] for e in results[0]["worst"] if e["status"] == "FAIL"] == [[0]]
    code, results = _gradcheck(run, "--plugin", scales_plugin, "gradcheck", "s_cube", f"{tmp_path}/x.csv:x")
    assert (code, results[0]["verdict"]) == (0, "PASS")


@pytest.mark.parametrize("rows", [["10000000000001,10000000000000.5"],
                                  ["10000000000002,10000000000000", "10000000000000,10000000000004",
                                   "10000000000001,10000000000000.5"]])
def test_a_bump_far_narrower_than_x_is_never_a_fail(run, scales_plugin, tmp_path, rows):
    """exp(-(p - t)²) at p, t ~ 1e13 (review 70 #5): it bends at scale 1/4 where float64's spacing is
    1/512. Its right gradient FAILed as a kink's invalid subgradient (steps of 1e5 agree on ~0) and
    by the Taylor test's order 1 (a probe moving x in proportion to |x|). Where the smallest steps
    float64 allows cannot decide: undecided. (At 1e15, spacing 1/8, the FAIL stands, as for cos.)"""
    (tmp_path / "g.csv").write_text("p,t\n" + "\n".join(rows) + "\n")
    g = tmp_path / "g.csv"
    code, results = _gradcheck(run, "--plugin", scales_plugin, "gradcheck", "s_gauss", f"{g}:p", f"{g}:t")
    assert code == 0 and results[0]["failures"] == 0 and all(t["passed"] for t in results[0]["taylor"])


@pytest.mark.parametrize("scale", [1e10, 1e11, 1e13])
def test_a_kink_seen_at_steps_set_by_x_is_judged_at_the_smallest_steps(run, scales_plugin, tmp_path, scale):
    """log-cosh of p - t at p, t ~ 1e11 (review 70 #1): steps of 8192 see |d|, a kink whose slopes ±1
    bracket any gradient: a wrong one (0.1% off, or 0) PASSed as a valid subgradient. At the smallest
    steps float64 resolves there the loss is smooth: a wrong gradient FAILs, the right one passes."""
    (tmp_path / "lc.csv").write_text(f"p,t\n{scale + 1!r},{scale!r}\n{scale!r},{scale + 0.375!r}\n")
    lc = tmp_path / "lc.csv"
    code, results = _gradcheck(run, "--plugin", scales_plugin, "gradcheck", "s_logcosh_bug", f"{lc}:p", f"{lc}:t")
    assert (code, results[0]["verdict"], results[0]["failures"]) == (1, "FAIL", 2)
    code, results = _gradcheck(run, "--plugin", scales_plugin, "gradcheck", "s_logcosh", f"{lc}:p", f"{lc}:t")
    assert code == 0 and results[0]["failures"] == 0 and results[0]["kinks"] == 0


def test_a_wrong_gradient_at_large_inputs_whose_difference_is_small_fails(run, scales_plugin, tmp_path):
    """log-cosh of p - t with p and t near 5e7 (house prices): steps of |p|'s scale (256) see log-cosh as
    |d|, a kink, and a gradient 0.1% wrong passed as 'kinks with a valid subgradient' (review 61 F1).
    Below the ladder one step resolved it and its neighbours' bounds were wide: a rung between them
    is the second step size. The right gradient does not FAIL."""
    (tmp_path / "hp.csv").write_text("p,t\n55190537.015,55190538.108\n51794209.766,51794208.309\n"
                                     "40000000.3,40000000\n47000001.2,47000000.5\n")
    hp = tmp_path / "hp.csv"
    code, results = _gradcheck(run, "--plugin", scales_plugin, "gradcheck", "s_logcosh_bug", f"{hp}:p", f"{hp}:t")
    assert (code, results[0]["verdict"]) == (1, "FAIL")
    assert all(e["status"] == "FAIL" for e in results[0]["worst"])
    code, results = _gradcheck(run, "--plugin", scales_plugin, "gradcheck", "s_logcosh", f"{hp}:p", f"{hp}:t")
    assert code == 0 and results[0]["failures"] == 0


STATEFUL_PLUGIN = '''
import numpy as np
from losscli import Input, register_loss

def _reg(name, f, g):
    loss = register_loss(name, inputs=(Input("x", "N,D"),), coupling="elementwise")(f)
    loss.gradient(g)

_noise = np.random.default_rng(0)
_reg("st_noisy_bug", lambda x: (x ** 2).sum(axis=1) + 1e-8 * _noise.standard_normal(len(x)), lambda x: {"x": 2.02 * x})
_reg("st_scales_input", lambda x: (x.__imul__(1.0000001) ** 2).sum(axis=1), lambda x: {"x": 2 * x})
_reg("st_grad_scales_input", lambda x: (x ** 2).sum(axis=1), lambda x: {"x": x.__imul__(2)})
_order = np.random.default_rng()
_reg("st_shuffled_sum", lambda x: (x[:, _order.permutation(x.shape[1])] ** 2 * 1.37).sum(axis=1),
     lambda x: {"x": 2.74 * x})
'''


@pytest.mark.parametrize("name, message", [
    ("st_noisy_bug", "st_noisy_bug: the loss function returned other values when called again with the same inputs "
                     "(by up to "),
    ("st_scales_input", "st_scales_input: the loss function changed its input 'x' in place; a gradient check "),
    ("st_grad_scales_input", "st_grad_scales_input: the gradient function changed its input 'x' in place; a gradient "
                             "check "),
])
def test_a_loss_that_is_random_or_writes_into_its_inputs_is_refused(run, tmp_path, name, message):
    """x² + 1e-8 noise per call with a gradient 1% wrong PASSed as kinks on one run and FAILed on the
    next; a loss that scales its input in place PASSed as kinks; a gradient that doubles its input in
    place FAILed a right value (review 61 F4). Two calls at the same inputs, and the inputs' bytes
    after each function, are compared first: exit 2, saying which and how to fix it."""
    (tmp_path / "stateful.py").write_text(STATEFUL_PLUGIN)
    try:
        for seed in ("0", "1"):
            out = run("--plugin", tmp_path / "stateful.py", "gradcheck", name, "--seed", seed)
            assert (out.exit_code, out.stdout) == (2, "") and out.stderr.startswith(f"Error: {message}"), out.stderr
        # a sum taken in another order at each call rounds otherwise (1e-16 apart): no randomness (review 64)
        out = run("--plugin", tmp_path / "stateful.py", "gradcheck", "st_shuffled_sum", "--dim", "16")
        assert out.exit_code == 0, out.stderr
    finally:
        for n in ("st_noisy_bug", "st_scales_input", "st_grad_scales_input", "st_shuffled_sum"):
            try:
                unregister_loss(n)
            except Exception:
                pass


def test_a_gradient_within_rtol_is_no_taylor_failure(run, tmp_path):
    """x² with a gradient of 2.02x under --rtol 0.5: every element passed and the Taylor test, which
    --rtol did not reach, FAILed the check with no failing element (review 61 F6; --atol reached it).
    Within the tolerance the user gives, the probe's linear remainder is no wrong gradient either;
    at the default --rtol it FAILs as before."""
    (tmp_path / "w.py").write_text(
        "import numpy as np\nfrom losscli import Input, register_loss\n"
        "@register_loss('w_1p01', inputs=(Input('x', 'N,D'),), coupling='elementwise')\n"
        "def L(x):\n    return (x ** 2).sum(axis=1)\n"
        "@L.gradient\ndef G(x):\n    return {'x': 2.02 * x}\n")
    try:
        code, (rec,) = _gradcheck(run, "--plugin", tmp_path / "w.py", "gradcheck", "w_1p01", "--rtol", "0.5")
        assert (code, rec["verdict"], rec["failures"]) == (0, "PASS", 0) and rec["taylor"][0]["passed"]
        code, (rec,) = _gradcheck(run, "--plugin", tmp_path / "w.py", "gradcheck", "w_1p01")
        assert (code, rec["verdict"]) == (1, "FAIL") and not rec["taylor"][0]["passed"]
    finally:
        unregister_loss("w_1p01")


# -- review 99 #2, #3: the loss's own rounding and quantisation in the bound ---------------------------
_CE8 = np.array([[4.6091461386352136e-07, -24.97188199490235, 19.413330483592944, -3.3103316493048174e-08],
                 [0.1257302210933933, -0.1321048632913019, 0.6404226504432821, 0.10490011715303971],
                 [-0.535669373161111, 0.36159505490948474, 1.3040000451301372, 0.9470809631292422],
                 [-0.7037352358069926, -1.2654214710460525, -0.6232744625373522, 0.0413259793472436],
                 [-2.3250307746388343, -0.21879166393254573, -1.2459109472530652, -0.7322673547034516],
                 [-0.5442589828573099, -0.31630015636915454, 0.4116305363741328, 1.0425133694426776],
                 [-0.12853466294403426, 1.3664634705496859, -0.6651946734866135, 0.3515100700930197],
                 [-0.0007117183215388833, -17.122910305672196, -8.366220387493933e-08, -1.3983895166788097e-05]])
_CE8_LABELS = np.array([2, 3, 0, 2, 2, 3, 2, 2])


@pytest.mark.parametrize("args", [("CE8",), ("--samples", "4096", "--seed", "2"), ("--samples", "4096", "--seed", "5")])
def test_textbook_softmax_ce_of_a_confident_row_is_not_failed(run, tmp_path, plugin, args):
    """The loss of a confident row is log(s), s = 1 + 7e-9 rounded to 2^-52: whole levels of the rounding
    of an O(1) intermediate, which the log makes no exact multiples of a quantum. Estimates at steps of
    powers of two count the same levels (128 at h, 8 at h/16) and agreed exactly, 0.5% off the right
    gradient: the rounding was taken as refuted and the right gradient FAILed (review 99 #3)."""
    if args == ("CE8",):
        args = tuple(_save(tmp_path, z=_CE8, y=_CE8_LABELS))
    code, (rec,) = _gradcheck(run, "--plugin", plugin, "gradcheck", "v_textbook_ce", *args)
    assert code == 0 and rec["failures"] == 0, rec["worst"][:2]


@pytest.mark.parametrize("name", ["v_textbook_ce_bug", "v_textbook_ce_1e4"])
def test_a_wrong_textbook_softmax_ce_gradient_still_fails(run, plugin, name):
    code, (rec,) = _gradcheck(run, "--plugin", plugin, "gradcheck", name, "--samples", "64")
    assert code == 1 and rec["failures"] >= 1


_BIG_LOGITS = np.array([20.0, 22.0, 24.0, 26.0, 28.0, 30.0, 0.5, -1.0])
_BIG_LABELS = np.array([0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0])


@pytest.mark.parametrize("name, args", [
    ("v_naive_bce", "BIG"), ("v_naive_bce", ("--seed", "1", "--samples", "8")), ("v_rounded_sq", ()),
    ("v_rounded_sq", ("--seed", "1")), ("v_rounded_sq", ("--seed", "3"))])
def test_a_loss_quantised_coarser_than_the_steps_is_inconclusive_not_fail(run, tmp_path, plugin, name, args):
    """-log(1 - σ(x)) at logits of 24 is flat at steps of 5e-7 and jumps by 5.9e-6 at 8e-6 (1 - σ(x)
    rounds to 2^-53); a loss rounded to 1e-3 is flat at every step of the ladder. Both FAILed their right
    gradients on two flat rungs (review 99 #2): the jumps, seen at larger steps on both sides, with the
    analytic line through them, make such an element undecided, with the reason."""
    if args == "BIG":
        args = tuple(_save(tmp_path, x=_BIG_LOGITS, y=_BIG_LABELS))
    code, (rec,) = _gradcheck(run, "--plugin", plugin, "gradcheck", name, *args, "--top", "48")
    assert code == 0 and rec["failures"] == 0, rec["worst"][:2]
    assert rec["verdict"] == "inconclusive"
    assert any("quantised at that scale" in w["reason"] for w in rec["worst"])


@pytest.mark.parametrize("name, args", [("v_naive_bce_bug", "BIG"), ("v_naive_bce_sign", "BIG"),
                                        ("v_rounded_sq_bug", ()), ("v_rounded_sq_bug", ("--seed", "1"))])
def test_a_wrong_gradient_through_a_staircase_still_fails(run, tmp_path, plugin, name, args):
    """A factor 2, or a sign on one branch, leaves the staircase's line by many jumps: still a FAIL."""
    if args == "BIG":
        args = tuple(_save(tmp_path, x=_BIG_LOGITS, y=_BIG_LABELS))
    code, (rec,) = _gradcheck(run, "--plugin", plugin, "gradcheck", name, *args)
    assert code == 1 and rec["failures"] >= 1
    if name == "v_naive_bce_sign":  # (the flipped branch: logits 26, 28, 30)
        assert {tuple(w["index"]) for w in rec["worst"] if w["status"] == "FAIL"} >= {(3,), (4,), (5,)}
