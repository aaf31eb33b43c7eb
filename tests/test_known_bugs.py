"""Bugs found while writing test_mutations.py / test_clamps.py / test_bad_input.py. Each test states
the behaviour that should hold and is marked xfail(strict=True): it fails today, and the suite will
say so (XPASS -> failure) the day the bug is fixed, so the marker gets removed with the fix; the
tests without a marker are such bugs, fixed since."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import numpy as np
import pytest

import losscli

from .conftest import write_csv

README = (Path(__file__).parent.parent / "README.md").read_text()


@pytest.mark.parametrize("gamma", ["0", "0.5", "1", "2"])
def test_softmax_focal_single_class_is_zero_with_zero_gradient(run, tmp_path, gamma):
    """Logits of one class (an (N, 1) array): p_t = 1, so -α (1 - 1)^γ log 1 = 0 with gradient 0, as
    softmax_ce gives; it was refused as "too extreme" (0^0 and 0·inf of the log-space forms)."""
    np.save(tmp_path / "z.npy", np.array([[0.7], [-2.0]]))
    write_csv(tmp_path / "y.csv", ["y"], [[0], [0]])
    result = run("compute", "softmax_focal", tmp_path / "z.npy", tmp_path / "y.csv", "-p", f"gamma={gamma}",
                 "--format", "value", "--save-grad", tmp_path / "g.npy")
    assert (result.exit_code, result.stdout, result.stderr) == (0, "0.0\n", "")
    assert np.load(tmp_path / "g.npy").tolist() == [[0.0], [0.0]]


NAN_IDENTITY = """
    import numpy as np
    from losscli import Input, register_loss

    @register_loss("kb_nan_rows", inputs=(Input("logits", "N,C"), Input("labels", "N", "class_index")),
                   differentiable=("logits",), coupling="row", grad_checks=("rows_sum_to_zero:logits",),
                   formula="0", references=("test",))
    def kb_nan_rows(logits, labels):
        \"\"\"Zero loss whose (wrong) gradient holds a NaN.\"\"\"
        return np.zeros(logits.shape[0])

    @kb_nan_rows.gradient
    def _(logits, labels):
        g = np.zeros_like(logits)
        g[0, 0] = np.nan
        return {"logits": g}
"""


def test_gradcheck_json_reports_a_nan_gradient_as_a_failure(run, tmp_path):
    path = tmp_path / "kb_nan.py"
    path.write_text(textwrap.dedent(NAN_IDENTITY))
    try:
        result = run("--plugin", path, "gradcheck", "kb_nan_rows", "--format", "json")
    finally:
        losscli.unregister_loss("kb_nan_rows")
    assert result.exit_code == 1, result.stderr
    rec = json.loads(result.stdout)["results"][0]
    assert rec["passed"] is False and rec["failures"] >= 1


def test_negative_rate_error_names_the_same_place_whatever_the_block_size(run, tmp_path):
    write_csv(tmp_path / "r.csv", ["p"], [[1], [2], [3], [4], [-5], [6]])
    write_csv(tmp_path / "c.csv", ["y"], [[1]] * 6)
    args = ["compute", "poisson_nll", tmp_path / "r.csv", tmp_path / "c.csv", "-p", "log_input=false"]
    whole, blocks = run(*args), run(*args, "--block-rows", "2")
    assert whole.exit_code == blocks.exit_code == 2
    assert blocks.stderr == whole.stderr
    assert "line 6" in whole.stderr  # the file's line, as every other input error gives it


def test_readme_quotes_one_catalogue_size(run):
    n = len(run("list", "--format", "names").stdout.split())
    assert set(re.findall(r"for all (\d+) losses", README)) == {str(n)}
