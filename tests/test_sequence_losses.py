"""The CTC loss through the CLI: files written with np.save and pandas, values and gradients
against PyTorch's reference vectors (tests/data/sequence_reference.*, written by
tests/reference/generate_sequence_reference.py), the gradient convention (the derivative of the
value, not torch's backward), reductions, and the one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from losscli import get_loss

from .conftest import central_difference

DATA = Path(__file__).parent / "data"
REF = np.load(DATA / "sequence_reference.npz")
CASES = {c["id"]: c for c in json.loads((DATA / "sequence_reference.json").read_text())["cases"]}
ROLES = ("log_probs", "targets", "input_lengths", "target_lengths")


def ref(cid: str, what: str) -> np.ndarray:
    return REF[f"{cid}/{what}"]


def inputs(cid: str) -> dict:
    return {role: ref(cid, f"input/{role}") for role in CASES[cid]["inputs"]}


def close(actual, expected, rtol=1e-12):
    actual, expected = np.asarray(actual, float), np.asarray(expected, float)
    assert actual.shape == expected.shape
    scale = max(np.max(np.abs(expected)), 1e-300)
    assert np.max(np.abs(actual - expected)) <= rtol * scale, np.max(np.abs(actual - expected)) / scale


def save(d: Path, arrays: dict, csv: bool = True) -> list[Path]:
    """log_probs as .npy (N, T, C); targets and lengths as CSV files written by pandas (or all
    as .npy), integers where the values are."""
    paths = []
    for role in ROLES:
        if role not in arrays:
            continue
        value = np.asarray(arrays[role])
        if role != "log_probs" and np.all(value == np.round(value)):
            value = value.astype(np.int64)
        if role == "log_probs" or not csv:
            paths.append(d / f"{role}.npy")
            np.save(paths[-1], value)
        else:
            table = value.reshape(value.shape[0], -1)
            names = [f"y{j}" for j in range(table.shape[1])] if role == "targets" else [role]
            paths.append(d / f"{role}.csv")
            pd.DataFrame(table, columns=names).to_csv(paths[-1], index=False)
    return paths


def params(cid: str) -> list[str]:
    out = []
    for k, v in CASES[cid]["params"].items():
        out += ["-p", f"{k}={str(v).lower() if isinstance(v, bool) else v}"]
    return out


def per_sample(run, *args) -> np.ndarray:
    result = run("compute", "ctc", *args, "--reduction", "none", "--format", "json")
    assert result.exit_code == 0, result.stderr
    return np.array(json.loads(result.stdout)["results"][0]["per_sample"], dtype=float)


def one_line_error(result) -> str:
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr)
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


# -- values and gradients from files --------------------------------------------------------------------
FILE_CASES = ["random-0", "random-3", "blank-last", "minimal-frames", "repeats", "empty-targets",
              "default-lengths", "padding-blank", "one-label", "unnormalised-above", "peaked-1e4",
              "zero-infinity", "normalize-target-length"]


@pytest.mark.parametrize("cid", FILE_CASES)
def test_values_and_gradient_from_files_match_torch(run, tmp_path, cid):
    paths = save(tmp_path, inputs(cid), csv=cid != "random-3")  # random-3: every input as .npy
    close(per_sample(run, *paths, *params(cid)), ref(cid, "per_sample"))
    result = run("compute", "ctc", *paths, *params(cid), "--reduction", "sum", "--save-grad", tmp_path / "g.npy")
    assert result.exit_code == 0, result.stderr
    close(np.load(tmp_path / "g.npy"), ref(cid, "grad/log_probs"))


def test_torch_time_major_layout(run, tmp_path):
    """torch's (T, N, C) array, transposed to (N, T, C), gives torch's values; the (T, N, C) file
    as it is is refused (T ≠ N here), since losscli's rows are samples."""
    arrays = inputs("random-0")
    torch_layout = arrays["log_probs"].transpose(1, 0, 2).copy()  # what F.ctc_loss took
    assert torch_layout.shape == (8, 4, 4)
    paths = save(tmp_path, {**arrays, "log_probs": torch_layout.transpose(1, 0, 2)})
    close(per_sample(run, *paths), ref("random-0", "per_sample"))
    np.save(tmp_path / "lp_tnc.npy", torch_layout)
    error = one_line_error(run("compute", "ctc", tmp_path / "lp_tnc.npy", *paths[1:]))
    assert error == f"Error: {tmp_path / 'targets.csv'} has 4 rows but {tmp_path / 'lp_tnc.npy'} has 8 " \
                    "(every input needs one row per sample)"


def test_documented_invocation(run, tmp_path):
    """``losscli compute ctc lp.npy targets.npy in_len.csv tgt_len.csv``."""
    arrays = inputs("random-1")
    np.save(tmp_path / "lp.npy", arrays["log_probs"])
    np.save(tmp_path / "targets.npy", arrays["targets"].astype(np.int64))
    pd.DataFrame({"input_length": arrays["input_lengths"].astype(int)}).to_csv(tmp_path / "in_len.csv", index=False)
    pd.DataFrame({"target_length": arrays["target_lengths"].astype(int)}).to_csv(tmp_path / "tgt_len.csv", index=False)
    got = per_sample(run, *(tmp_path / f for f in ("lp.npy", "targets.npy", "in_len.csv", "tgt_len.csv")))
    close(got, ref("random-1", "per_sample"))


def test_blocks_of_rows_give_the_same_values(run, tmp_path):
    paths = save(tmp_path, inputs("random-4"))
    close(per_sample(run, *paths, "--block-rows", "2"), ref("random-4", "per_sample"))


# -- reductions ------------------------------------------------------------------------------------------------
def test_mean_is_torch_mean_with_normalize_target_length(run, tmp_path):
    cid = "normalize-target-length"
    paths = save(tmp_path, inputs(cid))
    result = run("compute", "ctc", *paths, "-p", "normalize=target_length", "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["results"][0]["value"] == pytest.approx(float(ref(cid, "mean")), rel=1e-12)
    # normalize=none: torch's reduction='none' per sample, and the mean is their plain mean
    # (torch's 'sum' / N), not torch's 'mean'
    raw = per_sample(run, *paths)
    tl = np.maximum(inputs(cid)["target_lengths"], 1)
    close(raw / tl, ref(cid, "per_sample"))
    plain = json.loads(run("compute", "ctc", *paths, "--format", "json").stdout)["results"][0]["value"]
    assert plain == pytest.approx(raw.mean(), rel=1e-12)
    assert plain != pytest.approx(float(ref(cid, "mean")), rel=1e-3)


# -- the gradient convention ---------------------------------------------------------------------------------
def test_gradient_is_the_derivative_of_the_value_not_torchs_backward():
    loss = get_loss("ctc")
    arrays = inputs("unnormalised-below")  # frames whose probabilities sum to e^-0.7
    args = [arrays[r] for r in ROLES]
    grad = loss.grad(*args)["log_probs"]

    def value(x):
        return float(np.sum(loss.fn(x, *args[1:])))

    np.testing.assert_allclose(grad, central_difference(value, arrays["log_probs"].copy()), rtol=1e-6, atol=1e-8)
    # normalised frames: -γ sums to -1 over the classes of every frame t < L (torch's
    # exp(log_probs) - γ sums to 0), and to 0 beyond L
    arrays = inputs("random-2")
    grad = loss.grad(*[arrays[r] for r in ROLES])["log_probs"]
    used = np.arange(grad.shape[1])[None, :] < arrays["input_lengths"][:, None]
    np.testing.assert_allclose(grad.sum(axis=2), np.where(used, -1.0, 0.0), atol=1e-12)
    torch_backward = grad + np.exp(arrays["log_probs"]) * used[:, :, None]
    np.testing.assert_allclose(torch_backward.sum(axis=2), 0.0, atol=1e-12)


def test_both_conventions_agree_through_a_log_softmax():
    """With respect to logits z (log_probs = log_softmax(z)), chaining losscli's gradient gives
    softmax - γ, which is torch's backward, and the derivative of the value."""
    loss = get_loss("ctc")
    arrays = inputs("random-0")
    z = np.random.default_rng(3).normal(0, 2, arrays["log_probs"].shape)

    def log_softmax(x):
        return x - np.log(np.exp(x - x.max(-1, keepdims=True)).sum(-1, keepdims=True)) - x.max(-1, keepdims=True)

    rest = [arrays[r] for r in ROLES[1:]]
    g = loss.grad(log_softmax(z), *rest)["log_probs"]
    soft = np.exp(log_softmax(z))
    chained = g - soft * g.sum(axis=2, keepdims=True)
    used = (np.arange(z.shape[1])[None, :] < arrays["input_lengths"][:, None])[:, :, None]
    np.testing.assert_allclose(chained, (g + soft) * used, atol=1e-12)
    numeric = central_difference(lambda x: float(np.sum(loss.fn(log_softmax(x), *rest))), z.copy())
    np.testing.assert_allclose(chained, numeric, rtol=1e-6, atol=1e-8)


# -- no alignment -------------------------------------------------------------------------------------------------
def _short(tmp_path):
    """The "repeats" case with row 0 (labels 1 1 1: 5 frames needed) given 4 frames."""
    return save(tmp_path, {**inputs("repeats"), "input_lengths": np.array([4.0, 3.0, 7.0, 6.0])})


def test_no_alignment_is_an_error_naming_the_row(run, tmp_path):
    paths = _short(tmp_path)
    assert one_line_error(run("compute", "ctc", *paths)) == (
        f"Error: {tmp_path}/input_lengths.csv, line 2, column 'input_lengths': 4 frames cannot align the 3 target labels, which with 2 repeats "
        "need at least 5: the loss is +inf (-p zero_infinity=true counts such rows as 0, as torch's zero_infinity)")


def test_no_alignment_with_zero_infinity_is_zero_with_zero_gradient(run, tmp_path):
    paths = _short(tmp_path)
    values = per_sample(run, *paths, "-p", "zero_infinity=true")
    assert values[0] == 0.0
    close(values[1:], ref("repeats", "per_sample")[1:])
    result = run("compute", "ctc", *paths, "-p", "zero_infinity=true", "--reduction", "sum",
                 "--save-grad", tmp_path / "g.npy")
    assert result.exit_code == 0, result.stderr
    g = np.load(tmp_path / "g.npy")
    assert np.all(g[0] == 0.0)
    close(g[1:], ref("repeats", "grad/log_probs")[1:])


def test_the_function_itself_returns_inf_as_torch():
    """loss.fn (unvalidated) is torch's F.ctc_loss: +inf for a row without an alignment (its
    gradient: 0, where torch's backward gives NaN)."""
    loss = get_loss("ctc")
    arrays = inputs("repeats")
    args = [arrays["log_probs"], arrays["targets"], np.array([4.0, 3.0, 7.0, 6.0]), arrays["target_lengths"]]
    values = loss.fn(*args)
    assert values[0] == np.inf
    close(values[1:], ref("repeats", "per_sample")[1:])
    grad = loss.grad_fn(*args)["log_probs"]
    assert np.all(grad[0] == 0.0) and np.all(np.isfinite(grad))
    with pytest.raises(Exception, match="4 frames cannot align the 3 target labels"):
        loss(*args)


def test_empty_target_is_the_all_blank_path_and_no_frames_no_labels_is_zero():
    arrays = inputs("empty-targets")
    values = get_loss("ctc")(*[arrays[r] for r in ROLES])
    close(values, ref("empty-targets", "per_sample"))
    assert values[2] == 0.0  # input length 0, target length 0
    assert values[0] == pytest.approx(-arrays["log_probs"][0, :, 0].sum(), rel=1e-14)


def test_a_loss_beyond_float64_is_an_overflow_not_a_warning(run, tmp_path):
    """Log-probabilities near -1e308 are valid but the loss exceeds float64: +inf from the
    function (no RuntimeWarning: the suite makes them errors), refused by the CLI."""
    huge = {**inputs("default-lengths"), "log_probs": np.full((5, 7, 4), -1e308)}
    assert np.all(get_loss("ctc").fn(huge["log_probs"], huge["targets"]) == np.inf)
    assert one_line_error(run("compute", "ctc", *save(tmp_path, huge))) == (
        "Error: ctc: the loss overflows float64 at row 0 (5 of 5 rows) although the inputs are finite: "
        "the values are too extreme for this loss")


# -- gradcheck ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("extra", [[], ["-p", "normalize=target_length"], ["-p", "zero_infinity=true"],
                                   ["--samples", "3", "--classes", "2", "--dim", "4"]])
def test_gradcheck_random_inputs_pass(run, extra):
    result = run("gradcheck", "ctc", *extra)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "PASS" in result.stdout


@pytest.mark.parametrize("cid", ["peaked-1e4", "minimal-frames", "zero-infinity", "unnormalised-above",
                                 "sharp-logits"])
def test_gradcheck_at_extremes_passes(run, tmp_path, cid):
    result = run("gradcheck", "ctc", *save(tmp_path, inputs(cid)), *params(cid))
    assert result.exit_code == 0, result.stdout + result.stderr


# -- the declaration ------------------------------------------------------------------------------------------
def test_info_states_the_conventions(run):
    result = run("info", "ctc", "--format", "json")
    assert result.exit_code == 0
    info = json.loads(result.stdout)
    text = " ".join(info["conventions"])
    assert "(N, T, C)" in text and "x.transpose(1, 0, 2)" in text
    assert "torch's CTC backward returns exp(log_probs) - γ" in text
    assert "normalize=target_length divides each loss by max(1, S_i)" in text
    assert "zero_infinity=true, which counts it as 0 with gradient 0" in text
    assert "-1 by default" in text
    for alias in ("connectionist_temporal_classification", "ctc_loss"):
        assert get_loss(alias) is get_loss("ctc")


# -- bad input: exit 2, one line naming the input and what was expected ---------------------------------
TARGETS = np.array([[1, 2, 2], [3, 1, 2], [2, 2, 1], [1, 3, 3]], float)  # random-0's shape (4, 3)


def _bad(tmp_path, csv=True, **change):
    return save(tmp_path, {**inputs("random-0"), **change}, csv=csv)


def _with_label(r, j, value):
    targets = TARGETS.copy()
    targets[r, j] = value
    return targets


def _flat_log_probs(d):
    paths = _bad(d)
    np.save(d / "lp2.npy", np.zeros((4, 3)))
    return [d / "lp2.npy", *paths[1:]]


BAD = {
    "blank in a target": (
        lambda d: _bad(d, targets=_with_label(0, 1, 0)), [],
        "Error: {d}/targets.csv, line 2, column 'y1': found 0, the blank index (expected class indices in 0..3 other "
        "than the blank 0 within the target length 3; pad with -1 or give target_lengths)"),
    "target length beyond the target columns": (
        lambda d: _bad(d, target_lengths=np.array([3, 4, 1, 0], float)), [],
        "Error: {d}/target_lengths.csv, line 3, column 'target_lengths': found 4, more than the 3 target columns (expected a length in 0..3)"),
    "input length beyond the frames": (
        lambda d: _bad(d, input_lengths=np.array([8, 9, 5, 8], float)), [],
        "Error: {d}/input_lengths.csv, line 3, column 'input_lengths': found 9, more than the 8 frames of log_probs (expected a length in 0..8)"),
    "negative input length": (
        lambda d: _bad(d, input_lengths=np.array([8, -1, 5, 8], float)), [],
        "Error: {d}/input_lengths.csv, line 3, column 'input_lengths': found -1 (expected a length in 0..8)"),
    "label out of range": (
        lambda d: _bad(d, targets=_with_label(0, 1, 4)), [],
        "Error: {d}/targets.csv, line 2, column 'y1': found 4 (expected class indices in 0..3 other than the blank 0; "
        "the padding value is -1)"),
    "fractional label": (
        lambda d: _bad(d, csv=False, targets=_with_label(0, 1, 1.5)), [],
        "Error: {d}/targets.npy, index [0, 1]: found 1.5 (ctc targets expects integer ids)"),
    "padding before a label": (
        lambda d: save(d, {"log_probs": inputs("random-0")["log_probs"], "targets": _with_label(0, 1, -1)}), [],
        "Error: {d}/targets.csv, line 2, column 'y2': found 2 after the padding value -1 at position 1; padding must "
        "only follow a sample's labels (or give target_lengths)"),
    "blank beyond the classes": (
        _bad, ["-p", "blank=4"], "Error: parameter ctc.blank: is 4 but log_probs has 4 classes (expected 0..3)"),
    "unknown normalize": (
        _bad, ["-p", "normalize=mean"],
        "Error: parameter ctc.normalize: expected one of none, target_length, got 'mean'"),
    "log_probs without a time axis": (
        _flat_log_probs, [], "Error: {d}/lp2.npy (ctc log_probs): expected shape (N, T, C), got (4, 3)"),
    "positive log-probability": (
        lambda d: _bad(d, log_probs=np.abs(inputs("random-0")["log_probs"])), [],
        "Error: {d}/log_probs.npy, index [0, 0]: found {v} (ctc log_probs expects log-probabilities (values <= 0))"),
}


@pytest.mark.parametrize("case", BAD, ids=list(BAD))
def test_bad_input(run, tmp_path, case):
    make, extra, expected = BAD[case]
    error = one_line_error(run("compute", "ctc", *make(tmp_path), *extra))
    v = repr(abs(float(inputs('random-0')['log_probs'][0, 0, 0])))  # (every digit: 1.19409 is not the value)
    assert error == expected.format(d=tmp_path, v=v)
