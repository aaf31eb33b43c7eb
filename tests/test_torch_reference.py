"""losscli against PyTorch reference vectors committed in tests/data (torch is not needed)."""

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from losscli import get_loss, list_losses
from .conftest import evaluate_dict as evaluate
from .test_library_references import covered_losses

DATA = Path(__file__).parent / "data"
META = json.loads((DATA / "torch_reference.json").read_text())
ARRAYS = np.load(DATA / "torch_reference.npz")
CASES = META["cases"]
RTOL = 1e-10


def _inputs(case):
    return [ARRAYS[f"{case['id']}/input/{role}"] for role in case["inputs"]]


def _close(actual, expected, what):
    # relative to the largest magnitude in the array: an element-wise rtol would demand
    # digits beyond float64 for elements that are cancellations of much larger terms
    scale = max(np.max(np.abs(expected)), 1e-300)
    err = np.max(np.abs(actual - expected)) / scale
    assert err <= RTOL, f"{what}: max relative error {err:.3g} > {RTOL:g}"


NO_LIBRARY_HAS_IT = {"mbe"}  # checked against hand-worked values in test_catalogue_values.py


def test_reference_covers_the_catalogue():
    """Every built-in loss is checked against some outside reference: PyTorch's, scikit-learn's,
    or one in the common format (optax, Keras, pytorch-metric-learning, or a loop written from
    the paper where no library installs here)."""
    missing = {l.name for l in list_losses() if l.source == "built-in"} - covered_losses() - NO_LIBRARY_HAS_IT
    assert not missing, f"losses without an outside reference: {sorted(missing)}"


@pytest.mark.parametrize("case", [c for c in CASES if c["mean"]], ids=[c["id"] for c in CASES if c["mean"]])
def test_mean_reduction_matches_torch(case):
    """Reduction semantics: PyTorch's class-weighted mean, KL's batchmean, the element mean."""
    loss = get_loss(case["loss"])
    inputs = dict(zip(case["inputs"], _inputs(case)))
    value = evaluate(loss, inputs, case["params"], "mean").value
    expected = float(ARRAYS[f"{case['id']}/mean"])
    assert value == pytest.approx(expected, rel=RTOL, abs=1e-300)


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_value_matches_torch(case):
    loss = get_loss(case["loss"])
    got = loss(*_inputs(case), **case["params"])
    _close(got, ARRAYS[f"{case['id']}/per_sample"], "per-sample loss")


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_gradient_matches_torch(case):
    loss = get_loss(case["loss"])
    grads = loss.grad(*_inputs(case), **case["params"])
    for role in case["grads"]:
        _close(grads[role], ARRAYS[f"{case['id']}/grad/{role}"], f"gradient of {role}")


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="torch is not installed")
def test_committed_reference_is_current():
    sys.path.insert(0, str(Path(__file__).parent / "reference"))
    try:
        import generate_torch_reference as gen
    finally:
        sys.path.pop(0)
    arrays, index = gen.compute(gen.cases())
    assert index == CASES
    # (the same torch release on another CPU takes other vector paths: last digits of the array's
    # largest element, more in an element that cancels, never more than that)
    for key, value in arrays.items():
        scale = max(float(np.max(np.abs(ARRAYS[key]))), 1e-300) if np.size(value) else 1.0
        assert np.max(np.abs(value - ARRAYS[key]), initial=0.0) <= 1e-12 * scale, key
