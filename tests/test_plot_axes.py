"""plot draws what the command line names, or says why not: a root loss is drawn as the value one
sample gets (review 109 F6), the axis is finite and inside the range asked (F7), a loss whose probe
cannot run is not taken for a function of the residual (F8), every loss of the catalogue is drawn or
refused in one line (F10), and an output or parameter plot cannot honour is refused (minor)."""

import csv
import io
import json
import warnings

import numpy as np
import pytest


def _csv(run, *args):
    out = run("plot", *args, "--format", "csv")
    assert out.exit_code == 0, out.stderr
    return list(csv.DictReader(io.StringIO(out.stdout)))


def _refused(result) -> str:
    """The one line of a refusal (exit 2, no traceback, nothing on standard output)."""
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr)
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1, result.stderr
    assert "internal error" not in result.stderr and result.stdout == ""
    return result.stderr.strip()


# -- F6: a root loss is drawn as one sample's reported value ------------------------------------------
def test_rmse_is_drawn_as_the_value_of_one_sample(run, tmp_path):
    """rmse of one residual r is √(r²) = |r| and its gradient sign(r) (0 at r = 0): what compute
    reports and --save-grad writes for one sample, not mse's r² and 2r."""
    rows = _csv(run, "rmse", "--range", "-3:3", "--points", "3")
    assert [(float(r["x"]), float(r["loss_value"]), float(r["derivative"])) for r in rows] == [
        (-3.0, 3.0, -1.0), (0.0, 0.0, 0.0), (3.0, 3.0, 1.0)]
    for r in (-3.0, 0.0, 2.5):  # the same as compute of one sample at prediction 0, label r
        (tmp_path / "one.csv").write_text(f"p,y\n0,{r}\n")
        grad = tmp_path / "g.npy"
        out = run("compute", "rmse", f"{tmp_path / 'one.csv'}:p", f"{tmp_path / 'one.csv'}:y", "--format", "value",
                  "--save-grad", grad)
        assert out.exit_code == 0, out.stderr
        drawn = _csv(run, "rmse", "--range", f"{r}:{r + 1}", "--points", "2")[0]
        assert float(drawn["loss_value"]) == float(out.stdout) == abs(r)
        assert float(drawn["derivative"]) == -float(np.load(grad)[0])  # dL/dr = -dL/df
    data = json.loads(run("plot", "rmse,mse", "--format", "json", "--points", "5").stdout)
    rmse, mse = data["series"]
    assert rmse["legend"] == "rmse" and rmse["loss_values"] == [3.0, 1.5, 0.0, 1.5, 3.0]
    assert mse["loss_values"] == [9.0, 2.25, 0.0, 2.25, 9.0]
