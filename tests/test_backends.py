"""Losses written in PyTorch or JAX (``register_loss(..., backend=...)``), through the CLI: values as
the numpy built-ins', the framework's own backward checked (custom Function / custom_vjp included),
differentiable parameters, float32 reported, ``--order 2``, kinks at ties, batch-coupled losses
(every element checked), and the error without the extra.

Each planted bug lives in examples/torch_losses.py and examples/jax_losses.py (``*_bug_*``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
PLUGINS = {"torch": ROOT / "examples" / "torch_losses.py", "jax": ROOT / "examples" / "jax_losses.py"}
BACKENDS = pytest.mark.parametrize("backend", ["torch", "jax"])


@pytest.fixture
def inputs(tmp_path):
    """(6, 3) logits and {0, 1} labels in .npy files; the labels array for the assertions."""
    rng = np.random.default_rng(7)
    logits = rng.standard_normal((6, 3)) * 2
    labels = (rng.random((6, 3)) > 0.5).astype(np.float64)
    np.save(tmp_path / "logits.npy", logits)
    np.save(tmp_path / "labels.npy", labels)
    return tmp_path / "logits.npy", tmp_path / "labels.npy", labels


def _gradcheck(run, backend, loss, *args):
    pytest.importorskip(backend)
    result = run("--plugin", PLUGINS[backend], "gradcheck", f"{backend}_{loss}", *args, "--format", "json",
                 "--top", "500")
    assert result.exit_code in (0, 1), result.stderr
    payload = json.loads(result.stdout)
    (record,) = payload["results"]
    return result.exit_code, record


def _failing(record):
    return sorted((w["role"], tuple(w["index"])) for w in record["worst"] if w["status"] == "FAIL")


@BACKENDS
def test_a_correct_focal_loss_passes_and_equals_the_builtin(run, inputs, tmp_path, backend):
    logits, labels, _ = inputs
    code, record = _gradcheck(run, backend, "focal", logits, labels)
    assert code == 0 and record["passed"] and record["failures"] == 0
    assert record["checked"] == 18 + 1  # every logit, and gamma
    assert not [n for n in record["notes"] if "computes in" in n]  # float64 throughout: nothing to report
    # compute: the same values and the same gradient as the numpy built-in, to 1e-12
    result = run("--plugin", PLUGINS[backend], "compute", f"focal,{backend}_focal", logits, labels, "--per-sample",
                 "--format", "json", "--save-grad", tmp_path / "g.npz")
    assert result.exit_code == 0, result.stderr
    builtin, framework = json.loads(result.stdout)["results"]
    np.testing.assert_allclose(framework["per_sample"], builtin["per_sample"], rtol=0, atol=1e-12)
    assert abs(framework["value"] - builtin["value"]) <= 1e-12
    grads = np.load(tmp_path / "g.npz")
    np.testing.assert_allclose(grads[f"{backend}_focal.logits"], grads["focal.logits"], rtol=0, atol=1e-12)


@BACKENDS
def test_a_wrong_custom_backward_is_caught_at_each_wrong_element(run, inputs, backend):
    """The custom backward (torch.autograd.Function / jax.custom_vjp) forgets the focusing term for
    positives: exactly the elements whose label is 1 fail."""
    logits, labels_path, labels = inputs
    code, record = _gradcheck(run, backend, "bug_positives", logits, labels_path)
    assert code == 1 and not record["passed"]
    expected = sorted(("logits", tuple(int(i) for i in idx)) for idx in np.argwhere(labels == 1))
    assert _failing(record) == expected and record["failures"] == len(expected)


@BACKENDS
def test_a_sign_flip_in_one_element_is_named(run, inputs, backend):
    logits, labels, _ = inputs
    code, record = _gradcheck(run, backend, "bug_sign", logits, labels)
    assert code == 1
    assert _failing(record) == [("logits", (1, 0))]  # flat element 3 of (6, 3)
    worst = record["worst"][0]
    assert worst["analytic"] == pytest.approx(-worst["numeric"], rel=1e-6)


@BACKENDS
def test_a_sign_flip_in_one_of_a_million_elements_is_named(run, tmp_path, backend):
    """The same planted flip (flat element 3) among 10^6 logits: every element gets a verdict and
    the one wrong element, alone, is named."""
    rng = np.random.default_rng(11)
    np.save(tmp_path / "z.npy", rng.standard_normal((100_000, 10)) * 2)
    np.save(tmp_path / "y.npy", (rng.random((100_000, 10)) > 0.5).astype(np.float64))
    code, record = _gradcheck(run, backend, "bug_sign", tmp_path / "z.npy", tmp_path / "y.npy")
    assert code == 1 and record["checked"] == 10**6  # every logit
    assert record["failures"] == 1 and _failing(record) == [("logits", (0, 3))]


#: bug -> the relative error planted in flat element 3 (as the examples' _RELATIVE)
RELATIVE = {"relative": 1e-5, "relative_1e_4": 1e-4, "relative_1e_3": 1e-3}


@BACKENDS
@pytest.mark.parametrize("bug", [*RELATIVE, "column", "layout", "branch"])
def test_each_planted_bug_fails_exactly_its_wrong_elements(run, inputs, backend, bug):
    """One element off by 1e-5, 1e-4 or 1e-3 relative; one class column off by 1%; the gradient
    transposed and put back in the input's shape; a rare branch (logits above 2.5: 1 of 18) halved:
    FAIL at exactly the elements the bug changes, every other element passes."""
    logits_path, labels_path, _ = inputs
    x = np.load(logits_path)
    wrong = {**{b: np.arange(x.size).reshape(x.shape) == 3 for b in RELATIVE},
             "column": np.arange(x.shape[1])[None, :].repeat(x.shape[0], 0) == 1,
             "branch": x > 2.5}.get(bug)
    code, record = _gradcheck(run, backend, f"bug_{bug}", logits_path, labels_path)
    assert code == 1 and not record["passed"]
    failing = _failing(record)
    if wrong is None:  # the layout bug: an element is wrong where the transposed value differs
        assert len(failing) >= x.size // 2, failing
    else:
        assert wrong.any()
        assert failing == sorted(("logits", tuple(int(i) for i in idx)) for idx in np.argwhere(wrong))
    if bug in RELATIVE:  # the error reported is the one planted
        (row,) = [w for w in record["worst"] if w["status"] == "FAIL"]
        assert row["rel_error"] == pytest.approx(RELATIVE[bug], rel=0.01)


@BACKENDS
def test_a_gradient_of_one_on_every_tied_maximum_fails_and_one_hot_passes(run, tmp_path, backend):
    """The row max with a custom backward, at a tie of two in row 7: 1 on both tied entries sums
    to 2 along their joint direction (no subgradient): FAIL at exactly those two; one-hot at the
    first maximum is a subgradient: both kinks, the loss passes."""
    x = np.random.default_rng(11).normal(size=(50, 4))
    x[7, 0] = x[7, 3] = x[7].max() + 1.0  # a tie, exactly
    np.save(tmp_path / "x.npy", x)
    code, record = _gradcheck(run, backend, "bug_tied_max", tmp_path / "x.npy")
    assert code == 1 and record["failures"] == 2 and record["checked"] == x.size
    assert _failing(record) == [("x", (7, 0)), ("x", (7, 3))]
    fails = [w for w in record["worst"] if w["status"] == "FAIL"]
    assert all(w["analytic"] == 1.0 and w["numeric"] == pytest.approx(0.5) for w in fails)
    assert all("joint direction" in w["reason"] and "not a valid subgradient" in w["reason"] for w in fails)
    code, record = _gradcheck(run, backend, "rowmax", tmp_path / "x.npy")
    assert code == 0 and record["failures"] == 0 and record["kinks"] == 2
    kinks = {tuple(w["index"]): w["analytic"] for w in record["worst"] if w["status"] == "kink"}
    assert kinks == {(7, 0): 1.0, (7, 3): 0.0}


@pytest.fixture
def embeddings(tmp_path):
    """(16, 4) queries and keys with unit rows (so that q·k is the cosine the built-in infonce uses)."""
    rng = np.random.default_rng(3)
    paths = []
    for name in ("query", "key"):
        v = rng.normal(size=(16, 4))
        np.save(tmp_path / f"{name}.npy", v / np.linalg.norm(v, axis=1, keepdims=True))
        paths.append(tmp_path / f"{name}.npy")
    return paths


@BACKENDS
def test_a_batch_coupled_loss_is_checked_element_by_element_and_passes(run, embeddings, tmp_path, backend):
    """InfoNCE with a custom backward, registered coupling="batch": every element of both roles
    gets a verdict (no sampling), the keys measured batch-coupled, the queries row-local; its
    values are the built-in infonce's (unit rows: q·k is the cosine)."""
    code, record = _gradcheck(run, backend, "infonce", *embeddings)
    assert code == 0 and record["passed"] and record["failures"] == 0, _failing(record)
    assert record["checked"] == record["elements"] == 2 * 16 * 4
    assert record["couplings"] == {"query": "row", "key": "batch"}
    assert record["probes"] == []
    result = run("--plugin", PLUGINS[backend], "compute", f"infonce,{backend}_infonce", *embeddings,
                 "-p", "temperature=0.5", "--per-sample", "--format", "json")
    assert result.exit_code == 0, result.stderr
    builtin, framework = json.loads(result.stdout)["results"]
    np.testing.assert_allclose(framework["per_sample"], builtin["per_sample"], rtol=0, atol=1e-12)


@BACKENDS
@pytest.mark.parametrize("bug, wrong", [("row", [(7, j) for j in range(4)]), ("element", [(5, 3)])])
def test_a_batch_coupled_loss_fails_exactly_its_wrong_key_elements(run, embeddings, backend, bug, wrong):
    """Key row 7, or key element [5, 3], off by 1e-3 relative in the custom backward of a
    batch-coupled loss: FAIL at exactly those elements, named, every other element passes."""
    code, record = _gradcheck(run, backend, f"bug_infonce_{bug}", *embeddings)
    assert code == 1 and record["checked"] == record["elements"] == 2 * 16 * 4
    assert record["couplings"] == {"query": "row", "key": "batch"}
    assert _failing(record) == [("key", idx) for idx in wrong] and record["failures"] == len(wrong)
    assert all(w["rel_error"] == pytest.approx(1e-3, rel=0.01) for w in record["worst"] if w["status"] == "FAIL")


SMALLEST = ("--samples", "2", "--dim", "1")  # logits of shape (2,), query and key (2, 1)


@BACKENDS
@pytest.mark.parametrize("bug, args, wrong", [
    ("infonce_element", (), [("key", (5, 2))]),  # the default 8 × 3: [5, 3] clipped to the last column
    ("infonce_row", (), [("key", (7, j)) for j in range(3)]),
    ("infonce_element", SMALLEST, [("key", (1, 0))]),
    ("infonce_row", SMALLEST, [("key", (1, 0))]),
    ("sign", SMALLEST, [("logits", (1,))]),  # flat element 3 clipped to the last of 2
    ("column", SMALLEST, [("logits", (0,)), ("logits", (1,))]),  # a 1-D input is one column
])
def test_a_planted_bug_is_there_at_every_size_gradcheck_may_use(run, backend, bug, args, wrong):
    """gradcheck's own random inputs, at the default size and the smallest (``--dim 1``): each planted
    index is clipped to the array, so the bug FAILs at exactly that element; not an IndexError
    (torch, exit 2), nor a PASS because JAX dropped an out-of-range update."""
    code, record = _gradcheck(run, backend, f"bug_{bug}", *args)
    assert code == 1 and not record["passed"]
    assert _failing(record) == sorted(wrong) and record["failures"] == len(wrong)


@BACKENDS
def test_the_gradient_of_the_mean_for_a_sum_fails_everywhere(run, inputs, backend):
    logits, labels, _ = inputs
    code, record = _gradcheck(run, backend, "bug_mean", logits, labels)
    assert code == 1 and record["failures"] == 18
    assert record["max_rel_error"] == pytest.approx(1 - 1 / 6, rel=1e-6)  # analytic = numeric / N


@BACKENDS
def test_a_loss_computing_in_float32_is_reported_and_passes(run, inputs, backend):
    """Given float64 tensors the function casts down: said once, and its right gradient (and
    second derivatives) pass at float32's resolution."""
    logits, labels, _ = inputs
    code, record = _gradcheck(run, backend, "float32", logits, labels, "--order", "2")
    assert code == 0 and record["failures"] == 0
    assert record["precision"] == "float32"
    assert len([n for n in record["notes"] if n.startswith("the loss computes in float32")]) == 1


@BACKENDS
def test_a_differentiable_parameter_is_checked(run, inputs, backend):
    logits, labels, _ = inputs
    _, record = _gradcheck(run, backend, "focal", logits, labels)
    (gamma,) = [w for w in record["worst"] if w["role"] == "gamma"]
    assert gamma["index"] == [] and gamma["status"] == "ok"
    assert gamma["analytic"] == pytest.approx(gamma["numeric"], rel=1e-7) and gamma["analytic"] != 0


@BACKENDS
def test_a_wrong_parameter_gradient_is_caught(run, backend):
    code, record = _gradcheck(run, backend, "bug_temperature")
    assert code == 1
    assert _failing(record) == [("temperature", ())]  # the logits' gradients are right
    (t,) = [w for w in record["worst"] if w["role"] == "temperature"]
    assert t["analytic"] == pytest.approx(-t["numeric"], rel=1e-6)


@BACKENDS
@pytest.mark.parametrize("loss", ["logistic", "focal"])
def test_order_2_passes_for_right_second_derivatives(run, inputs, backend, loss):
    logits, labels, _ = inputs
    code, record = _gradcheck(run, backend, loss, logits, labels, "--order", "2")
    assert code == 0 and record["failures"] == 0, _failing(record)
    roles = {w["role"] for w in record["worst"]}
    assert {"logits×logits", "logits×random"} <= roles
    # every entry of each sample's Hessian block: (6, 3) logits, 3 columns -> 6·3·3 entries
    assert sum(w["role"] == "logits×logits" for w in record["worst"]) == 54
    if loss == "focal":
        assert {"gamma×logits", "logits×gamma", "gamma×gamma"} <= roles


@BACKENDS
def test_order_2_catches_a_backward_whose_own_derivative_is_wrong(run, inputs, backend):
    logits, labels, _ = inputs
    code, _ = _gradcheck(run, backend, "bug_second_order", logits, labels)
    assert code == 0  # the first derivatives are right
    code, record = _gradcheck(run, backend, "bug_second_order", logits, labels, "--order", "2")
    assert code == 1
    fails = _failing(record)
    # σ'(x) missing: the framework says every second derivative is 0; only the off-diagonal
    # entries of each sample's block (which are 0) agree
    diagonal = [("logits×logits", (i, j, j)) for i in range(6) for j in range(3)]
    assert set(diagonal) <= set(fails)
    assert not [f for f in fails if f[0] == "logits×logits" and f[1][1] != f[1][2]]
    assert all(w["analytic"] == 0 for w in record["worst"] if w["status"] == "FAIL")


def test_order_2_of_a_loss_with_abs_is_zero_not_an_internal_error(run, tmp_path):
    """torch's double backward of abs gives its second derivatives as a ZeroTensor, which has no
    storage: converting it crashed (exit 3, 'Cannot convert a ZeroTensor to numpy'; review 99 #5).
    Its Hessian is 0 away from the kink: PASS."""
    pytest.importorskip("torch")
    plugin = tmp_path / "l1.py"
    plugin.write_text("from losscli import register_loss\n\n@register_loss('torch_l1', backend='torch', "
                      "coupling='elementwise')\ndef torch_l1(predictions, labels):\n"
                      "    return (predictions - labels).abs().reshape(predictions.shape[0], -1).sum(1)\n")
    result = run("--plugin", plugin, "gradcheck", "torch_l1", "--order", "2", "--format", "json", "--top", "500")
    assert result.exit_code == 0, result.stderr
    (record,) = json.loads(result.stdout)["results"]
    second = [w for w in record["worst"] if "×" in w["role"]]
    assert second and all(w["analytic"] == 0 for w in second) and record["failures"] == 0


def test_order_2_needs_a_framework_loss(run):
    result = run("gradcheck", "mse", "--order", "2")
    assert result.exit_code == 2
    assert result.stderr == ("Error: gradcheck --order 2: mse is a numpy loss; second derivatives come from the "
                             "framework's double backward, so --order 2 needs a loss registered with "
                             "backend='torch' or backend='jax'\n")


MISSING = """
import sys
sys.modules[{module!r}] = None  # as if it were not installed
from losscli.cli import main
main({args!r}, prog_name="losscli")
"""


@BACKENDS
def test_without_the_framework_the_error_names_the_extra(tmp_path, backend):
    plugin = tmp_path / "mine.py"
    plugin.write_text("from losscli import register_loss\n\n"
                      f"@register_loss('mine', backend={backend!r})\n"
                      "def mine(predictions, labels):\n    return (predictions - labels) ** 2\n")
    args = ["--plugin", str(plugin), "gradcheck", "mine"]
    proc = subprocess.run([sys.executable, "-c", MISSING.format(module=backend, args=args)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr == (f"Error: Invalid value for '--plugin': backend={backend!r} needs {backend}, which is "
                           f"not installed: pip install 'losscli[{backend}]' (see 'losscli --help')\n")


@BACKENDS
def test_a_plugin_importing_a_missing_framework_is_told_the_extra(tmp_path, backend):
    """``import torch`` at a plugin's top, torch not installed: the line names the extra, as a
    file and as a module."""
    (tmp_path / "imports_it.py").write_text(f"import {backend}\n")
    for spec, how in ((str(tmp_path / "imports_it.py"), "failed to load: "), ("imports_it", "")):
        args = ["--plugin", spec, "list"]
        proc = subprocess.run([sys.executable, "-c", MISSING.format(module=backend, args=args)], capture_output=True,
                              text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(tmp_path)})
        assert proc.returncode == 2
        assert proc.stderr == (f"Error: Invalid value for '--plugin': {how}backend={backend!r} needs "
                               f"{backend}, which is not installed: pip install 'losscli[{backend}]' "
                               "(see 'losscli --help')\n")


def test_numpy_commands_never_import_a_framework(tmp_path):
    (tmp_path / "p.csv").write_text("p\n0.5\n0.25\n")
    (tmp_path / "t.csv").write_text("t\n1\n0\n")
    probe = ("import sys\nfrom losscli.cli import main\n"
             "try:\n    main({args!r}, prog_name='losscli')\nexcept SystemExit as exc:\n    assert exc.code in (0, None)\n"
             "print(','.join(m for m in ('torch', 'jax') if m in sys.modules), file=sys.stderr)\n")
    for args in (["--help"], ["gradcheck", "focal"], ["compute", "mse", str(tmp_path / "p.csv"),
                                                       str(tmp_path / "t.csv")]):
        proc = subprocess.run([sys.executable, "-c", probe.format(args=args)], capture_output=True, text=True,
                              timeout=120)
        assert proc.returncode == 0, proc.stderr
        assert proc.stderr.strip().splitlines()[-1:] in ([], [""]), (args, proc.stderr)


def test_registration_refuses_what_a_backend_cannot_mean(run, tmp_path):
    pytest.importorskip("torch")
    cases = {
        "param_numpy": ("@register_loss('x1', params={'t': 1.0}, differentiable=('predictions', 't'))\n"
                        "def x1(predictions, labels, t=1.0):\n    return predictions\n",
                        "x1: differentiable names the parameter 't': only a loss with backend='torch' or 'jax' "
                        "can differentiate a parameter (the framework's gradient w.r.t. it)"),
        "int_param": ("@register_loss('x2', params={'k': 1}, differentiable=('predictions', 'k'), backend='torch')\n"
                      "def x2(predictions, labels, k=1):\n    return predictions\n",
                      "x2: differentiable parameter 'k' must be a float, not int"),
        "own_gradient": ("@register_loss('x3', backend='torch')\ndef x3(predictions, labels):\n    return predictions\n"
                         "@x3.gradient\ndef _(predictions, labels):\n    return {}\n",
                         "x3: a torch loss's gradient is torch's own backward; define a custom one inside the "
                         "function (torch.autograd.Function)"),
        "backend": ("@register_loss('x4', backend='tensorflow')\ndef x4(predictions, labels):\n    return predictions\n",
                    "x4: backend must be one of numpy, torch, jax, got 'tensorflow'"),
    }
    for name, (body, message) in cases.items():
        plugin = tmp_path / f"{name}.py"
        plugin.write_text("from losscli import register_loss\n\n" + body)
        result = run("--plugin", plugin, "list")
        assert result.exit_code == 2, name
        assert result.stderr == f"Error: Invalid value for '--plugin': {message} (see 'losscli --help')\n", name


def test_a_framework_loss_returning_the_wrong_shape_is_an_input_error(run, tmp_path):
    pytest.importorskip("torch")
    plugin = tmp_path / "shape.py"
    plugin.write_text("from losscli import register_loss\n\n@register_loss('summed', backend='torch')\n"
                      "def summed(predictions, labels):\n    return ((predictions - labels) ** 2).sum()\n")
    result = run("--plugin", plugin, "gradcheck", "summed")
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: summed (torch): the loss function returned shape (), expected one "
                                    "value per sample (8,)")
    (tmp_path / "p.csv").write_text("p\n0.5\n0.25\n")
    (tmp_path / "t.csv").write_text("t\n1\n0\n")
    result = run("--plugin", plugin, "compute", "summed", tmp_path / "p.csv", tmp_path / "t.csv")
    assert result.exit_code == 2
    assert result.stderr == ("Error: summed (torch): the loss function returned shape (), expected one value per "
                             "sample (2,)\n")


def test_a_framework_loss_cannot_register_value_and_gradient():
    """Its gradient is the framework's own backward: neither .gradient nor .value_and_gradient."""
    pytest.importorskip("torch")
    from losscli import register_loss, unregister_loss
    from losscli.errors import RegistrationError

    @register_loss("torch_value_and_grad", inputs=("predictions", "labels"), backend="torch")
    def torch_value_and_grad(p, t):
        return (p - t) ** 2

    try:
        with pytest.raises(RegistrationError, match="torch loss's gradient is torch's own backward"):
            torch_value_and_grad.value_and_gradient(lambda p, t: (None, None))
    finally:
        unregister_loss("torch_value_and_grad")
