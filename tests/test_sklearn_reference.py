"""losscli against scikit-learn values committed in tests/data (scikit-learn is not needed)."""

import json
from pathlib import Path

import numpy as np
import pytest

from losscli import get_loss
from .conftest import evaluate_dict as evaluate
from losscli.arrays import Array
from losscli.validation import bind, validate_inputs

CASES = json.loads((Path(__file__).parent / "data" / "sklearn_reference.json").read_text())["cases"]


@pytest.mark.parametrize("case", CASES, ids=[f"{c['loss']}-{i}" for i, c in enumerate(CASES)])
def test_mean_matches_sklearn(case):
    loss = get_loss(case["loss"])
    arrays = [Array(np.asarray(v, dtype=float), k) for k, v in case["inputs"].items()]
    checked = validate_inputs(loss, bind(loss, arrays), params=case["params"])  # labels mapped as the CLI does
    value = evaluate(loss, checked.arrays, case["params"], "mean").value
    assert value == pytest.approx(case["value"], rel=1e-12, abs=1e-15), case["sklearn"]
