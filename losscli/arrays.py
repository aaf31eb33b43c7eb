"""Labelled arrays: an input's values plus what is needed to point at a cell in an error message
("preds.csv, line 4, column 'p1'", "x.npy, index [3, 1]", "predictions, row 3"), and the
conversion of what Python users pass (numpy arrays, lists, pandas Series/DataFrames, pyarrow
arrays and tables) into them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import InputError


class Lines:
    """The line of a text file each data row starts on: ``first`` (data row 0's) plus one a row,
    plus the line ends inside quoted fields of the rows above it (a text with a line end in it
    makes one row of several lines). The reader adds those as it parses, in order, so every row a
    message names has its rows above counted."""

    def __init__(self, first: int):
        self.first = first
        self._rows: list[np.ndarray] = []  # the rows that hold line ends inside quotes, ascending
        self._counts: list[np.ndarray] = []  # how many each holds
        self._joined: tuple[np.ndarray, np.ndarray] | None = None  # (rows, line ends up to each)

    def add(self, rows: np.ndarray, counts: np.ndarray) -> None:
        """``rows`` (file rows, after every row added before) hold ``counts`` line ends inside quotes."""
        self._rows.append(rows)
        self._counts.append(counts)
        self._joined = None

    def line(self, row: int) -> int:
        """The 1-based line data row ``row`` (of the file) starts on."""
        if not self._rows:
            return self.first + row
        if self._joined is None:
            self._joined = np.concatenate(self._rows), np.cumsum(np.concatenate(self._counts))
        rows, above = self._joined
        i = int(np.searchsorted(rows, row))  # (rows above ``row`` only: its own line ends come after its start)
        return self.first + row + (int(above[i - 1]) if i else 0)


@dataclass
class Array:
    """A selected input (or one block of it): data plus what is needed to point at a cell."""

    data: np.ndarray
    label: str
    columns: tuple[str, ...] | None = None  # names of the selected table columns
    first_line: Lines | None = None  # the file line of each data row (text tables only)
    row_offset: int = 0  # row of the file (or shard) that this block's row 0 is
    file_rows: np.ndarray | None = None  # rows matched by key (--on): the file row of each row
    positional: bool = False  # the columns' names are their places (a text file without a header), not names

    def where(self, row: int, col: int | None = None) -> str:
        """'preds.csv, line 4, column "p1"' or 'x.npy, index [3, 1]' (row: within the block)."""
        row = int(self.file_rows[row]) if self.file_rows is not None else row + self.row_offset
        if self.first_line is not None:
            text = f"{self.label}, line {self.first_line.line(row)}"
            if self.columns and (self.data.ndim == 1 or col is not None):
                name = self.columns[col] if col is not None and self.data.ndim > 1 else self.columns[0]
                text += f", column {name!r}"
            return text
        if col is None or self.data.ndim == 1:
            return f"{self.label}, row {row}"
        return f"{self.label}, index [{row}, {col}]"


def as_array(value, label: str, dtype=np.float64) -> Array:
    """A user's value as a labelled float array (class indices stay exact: they are validated
    as integers). pandas and pyarrow objects are converted through their public ``to_numpy``;
    a DataFrame or Table keeps its column names for messages."""
    if isinstance(value, Array):
        return value
    columns = None
    if hasattr(value, "columns") and hasattr(value, "to_numpy"):  # pandas DataFrame
        columns = tuple(str(c) for c in value.columns)
        value = value.to_numpy()
    elif hasattr(value, "column_names") and hasattr(value, "to_pandas"):  # pyarrow Table / RecordBatch
        columns = tuple(value.column_names)
        value = np.column_stack([_arrow_numpy(c) for c in value.columns]) if columns else np.empty((0, 0))
    elif hasattr(value, "to_numpy") and type(value).__module__.startswith("pyarrow"):  # pyarrow Array
        value = _arrow_numpy(value)
    elif hasattr(value, "to_numpy"):  # pandas Series / Index
        value = value.to_numpy()
    if np.ma.isMaskedArray(value):  # masked entries are missing values (--nan-policy decides), not their data
        value = np.ma.filled(np.ma.asarray(value, dtype=np.float64), np.nan)
    try:
        data = np.asarray(value)
    except (ValueError, TypeError, RuntimeError) as exc:  # (RuntimeError: a torch tensor that requires grad)
        raise InputError(f"{label}: cannot be read as an array of numbers ({exc})") from None
    if data.dtype.kind == "b":
        data = data.astype(dtype)
    if data.dtype.kind not in "iuf":
        raise InputError(f"{label}: expected numbers, got an array of dtype {data.dtype}")
    if data.ndim == 0:
        raise InputError(f"{label}: got a scalar, expected an array with one row per sample")
    return Array(np.asarray(data, dtype=dtype), label, columns)


def _arrow_numpy(col) -> np.ndarray:
    return col.to_numpy(zero_copy_only=False)
