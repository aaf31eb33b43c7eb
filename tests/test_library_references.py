"""losscli against every reference file written in the common format
(``tests/reference/reference_files.py``): per-sample values, gradients and the library's own
mean, generated from PyTorch, scikit-learn, optax, Keras or pytorch-metric-learning and committed,
so the libraries are not needed here."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from losscli import get_loss
from .conftest import evaluate_dict as evaluate

DATA = Path(__file__).parent / "data"
RTOL = 1e-12
FILES = sorted(p for p in DATA.glob("*_reference.json")
               if json.loads(p.read_text()).get("schema") == "losscli-reference/1")
CASES = [(path.stem, case) for path in FILES for case in json.loads(path.read_text())["cases"]]
ARRAYS = {path.stem: np.load(path.with_suffix(".npz")) for path in FILES}


def _ids(cases):
    return [f"{stem.removesuffix('_reference')}:{case['id']}" for stem, case in cases]


def _inputs(stem, case):
    return [ARRAYS[stem][f"{case['id']}/input/{role}"] for role in case["inputs"]]


def _close(actual, expected, what, case):
    """Relative to the largest magnitude in the array (an element that is a cancellation of much
    larger terms cannot carry 1e-12 of its own)."""
    actual, expected = np.asarray(actual, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} vs {expected.shape}"
    assert np.array_equal(np.isfinite(actual), np.isfinite(expected)), f"{what}: non-finite entries differ"
    finite = np.isfinite(expected)
    scale = max(np.max(np.abs(expected[finite]), initial=0.0), 1e-300)
    err = np.max(np.abs(actual[finite] - expected[finite]), initial=0.0) / scale
    assert err <= RTOL, f"{what} ({case.get('source')}): max relative error {err:.3g} > {RTOL:g}"


@pytest.mark.parametrize("stem, case", CASES, ids=_ids(CASES))
def test_value_matches_the_library(stem, case):
    got = get_loss(case["loss"])(*_inputs(stem, case), **case["params"])
    _close(got, ARRAYS[stem][f"{case['id']}/per_sample"], "per-sample loss", case)


GRAD_CASES = [(s, c) for s, c in CASES if c["grads"]]


@pytest.mark.parametrize("stem, case", GRAD_CASES, ids=_ids(GRAD_CASES))
def test_gradient_matches_the_library(stem, case):
    grads = get_loss(case["loss"]).grad(*_inputs(stem, case), **case["params"])
    for role in case["grads"]:
        _close(grads[role], ARRAYS[stem][f"{case['id']}/grad/{role}"], f"gradient of {role}", case)


MEAN_CASES = [(s, c) for s, c in CASES if c["mean"]]


@pytest.mark.parametrize("stem, case", MEAN_CASES, ids=_ids(MEAN_CASES))
def test_mean_reduction_matches_the_library(stem, case):
    loss = get_loss(case["loss"])
    value = evaluate(loss, dict(zip(case["inputs"], _inputs(stem, case))), case["params"], "mean").value
    assert value == pytest.approx(float(ARRAYS[stem][f"{case['id']}/mean"]), rel=RTOL, abs=1e-300), case["source"]


def covered_losses() -> set[str]:
    """Every loss some reference file (this format's, PyTorch's or scikit-learn's) checks."""
    names = {case["loss"] for _, case in CASES}
    for legacy in ("torch_reference.json", "sklearn_reference.json"):
        names |= {c["loss"] for c in json.loads((DATA / legacy).read_text())["cases"]}
    return names


def param_options(params: dict) -> list[str]:
    """A reference case's parameters as the CLI's ``-p NAME=VALUE`` options."""
    out = []
    for k, v in params.items():
        value = str(v).lower() if isinstance(v, bool) else ",".join(repr(x) for x in v) if isinstance(v, list) else v
        out += ["-p", f"{k}={value}"]
    return out


def save_inputs(tmp_path, arrays, case) -> list[str]:
    """A reference case's inputs saved as ROLE.npy files (``arrays``: its .npz), in role order."""
    paths = []
    for role in case["inputs"]:
        path = tmp_path / f"{role}.npy"
        np.save(path, arrays[f"{case['id']}/input/{role}"])
        paths.append(str(path))
    return paths
