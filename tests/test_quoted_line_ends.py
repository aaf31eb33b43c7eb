"""Text columns whose values hold line ends (the notes, reviews or prompts a pipeline keeps beside
its predictions; pandas quotes them): such a row is several lines. The file is read by its rows
(the sniffer split it at every line end, found no delimiter and refused the file pandas wrote
by default: "no column 'pred' (columns: 'id,note,pred')"), and an error names the line its row
starts on (every line number below such a row was off by its line ends: review 105)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from .conftest import write_csv


def _frame(n: int, bad_row: int, bad_value) -> pd.DataFrame:
    """Rows with a note of 1 to 3 lines (pandas quotes them), one prediction per row."""
    notes = ["\n".join(f"line {k} of note {i}" for k in range(i % 3 + 1)) for i in range(n)]
    pred = np.linspace(0.1, 0.9, n).astype(object)
    pred[bad_row] = bad_value
    return pd.DataFrame({"id": range(n), "note": notes, "pred": pred})


def _line_of(path, row: int) -> int:
    """The 1-based line data row ``row`` starts on, counted by the csv module (header on line 1)."""
    import csv

    with open(path, newline="") as fh:
        reader = csv.reader(fh)
        next(reader)
        start = reader.line_num + 1
        for i, _ in enumerate(reader):
            if i == row:
                return start
            start = reader.line_num + 1
    raise AssertionError(row)


@pytest.mark.parametrize("writer", ["to_csv()", "to_csv(index=False)", "to_csv(sep='\\t')", "to_csv(sep=';')"])
def test_a_file_pandas_wrote_with_line_ends_in_its_text_is_read(run, tmp_path, writer):
    frame = _frame(40, 0, 0.5)
    frame["pred"] = frame["pred"].astype(float)
    frame.loc[3, "note"] = 'a "quoted" word, a comma;\n\nand a blank line'
    path = tmp_path / "preds.csv"
    kwargs = {"to_csv()": {}, "to_csv(index=False)": {"index": False}, "to_csv(sep='\\t')": {"sep": "\t"},
              "to_csv(sep=';')": {"sep": ";"}}[writer]
    frame.to_csv(path, **kwargs)
    y = np.linspace(0.0, 1.0, 40)
    write_csv(tmp_path / "y.csv", ["y"], [[repr(float(v))] for v in y])
    result = run("compute", "mse", f"{path}:pred", tmp_path / "y.csv", "--format", "value")
    assert (result.exit_code, result.stderr) == (0, "")
    assert float(result.stdout) == np.mean((frame["pred"].to_numpy() - y) ** 2)


@pytest.mark.parametrize("n, bad_row", [(12, 7), (300_000, 299_990)])
@pytest.mark.parametrize("bad_value, message", [
    ("abc", "column 'pred': expected a number, found 'abc'"),
    (None, "column 'pred': found NaN (an empty or missing value), expected a finite number (--nan-policy omit "
           "drops such rows)"),
])
def test_a_value_below_quoted_line_ends_is_named_by_its_line(run, tmp_path, n, bad_row, bad_value, message):
    path = tmp_path / "preds.csv"
    _frame(n, bad_row, bad_value).to_csv(path, index=False)
    write_csv(tmp_path / "y.csv", ["y"], [[0.5]] * n)
    line = _line_of(path, bad_row)
    assert line > bad_row + 2  # (the notes above it hold line ends)
    result = run("compute", "mse", f"{path}:pred", tmp_path / "y.csv")
    selector = ":pred" if bad_value is None else ""
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == f"Error: {path}{selector}, line {line}, {message}\n"


def test_a_ragged_row_below_quoted_line_ends_is_named_by_its_line(run, tmp_path):
    path = tmp_path / "preds.csv"
    _frame(10, 0, 0.5).to_csv(path, index=False)
    line = _line_of(path, 6)
    lines = path.read_text().split("\n")
    lines[line - 1] += ",9"
    path.write_text("\n".join(lines))
    write_csv(tmp_path / "y.csv", ["y"], [[0.5]] * 10)
    result = run("compute", "mse", f"{path}:pred", tmp_path / "y.csv")
    assert (result.exit_code, result.stderr) == (
        2, f"Error: {path}, line {line}: expected 3 fields, found 4 (ragged rows, or a delimiter other than ',')\n")


def test_a_class_name_below_quoted_line_ends_is_named_by_its_line(run, tmp_path):
    frame = _frame(10, 0, 0.5)
    frame["y"] = ["cat", "dog"] * 5
    frame.loc[8, "y"] = "7"
    path = tmp_path / "labels.csv"
    frame.to_csv(path, index=False)
    pd.DataFrame({"cat": [0.5] * 10, "dog": [0.5] * 10}).to_csv(tmp_path / "p.csv", index=False)
    result = run("compute", "softmax_ce", tmp_path / "p.csv", f"{path}:y")
    assert (result.exit_code, result.stderr) == (
        2, f"Error: {path}, line {_line_of(path, 8)}, column 'y': '7' is not a class name (classes, the columns "
           f"of {tmp_path}/p.csv: cat, dog)\n")


@pytest.mark.parametrize("rows, bad_line", [
    # a quote inside a field (an inch mark) is a character, not a quoted field's start: no line end is inside
    (['1,2,5" screen', '3,4,plain', '5,6,7" tablet', 'x,8,plain'], 5),
    (['1,2,5" screen', '3,4,"two\nlines"', '5,6,7" tablet', 'x,8,plain'], 6),
    (['1,2,"a ""quoted""\nword"', '3,4,12" x 9"', 'x,8,plain'], 5),
])
def test_quotes_inside_fields_do_not_shift_the_lines_named(run, tmp_path, rows, bad_line):
    """Review 110 #1: every quote character was taken for a quoted field's edge, so a line end between two
    inch marks counted as inside quotes and every line below was named too low (line 7 for line 5)."""
    path = tmp_path / "q.csv"
    path.write_text("pred,y,note\n" + "\n".join(rows) + "\n")
    assert "".join(path.read_text().splitlines(keepends=True)[bad_line - 1]).startswith("x,")
    result = run("compute", "mse", f"{path}:pred", f"{path}:y", "--format", "value")
    assert (result.exit_code, result.stderr) == (
        2, f"Error: {path}, line {bad_line}, column 'pred': expected a number, found 'x'\n")


@pytest.mark.parametrize("head", ["# run 3\n# the \"best model\n# pred y\n", "# a \"b\n# c\" d\n# pred y\n"])
def test_quotes_in_comment_lines_above_the_data_are_text(run, tmp_path, head):
    """np.savetxt's header lines are comments, quotes and all (review 110 #2: a quote in the second one
    joined the lines below it into one row, and the file was refused: no column 'y')."""
    path = tmp_path / "s.txt"
    path.write_text(head + "1 2\n3 5\n")
    result = run("compute", "mse", f"{path}:pred", f"{path}:y", "--format", "value")
    assert (result.exit_code, result.stdout, result.stderr) == (0, "2.5\n", "")
