"""Selected inputs: a block of a file (:class:`Source`, named columns or named arrays) and what a
selector picks from it (:class:`Array`, the data plus what is needed to point at a cell).

A selector picks columns by name or 0-based index (``pred``, ``p0,p1``, ``2-11``), the same for
the columns of a 2-D NPY, or the array of an NPZ.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from ..arrays import Array
from ..errors import InputError


@dataclass
class Source:
    """One block of rows of a file: a table of named columns or a mapping of named arrays."""

    label: str
    rows: int
    columns: dict[str, np.ndarray] = field(default_factory=dict)  # tables: numeric columns
    text_columns: dict[str, str] = field(default_factory=dict)  # tables: name -> first value
    text_rows: dict[str, int] = field(default_factory=dict)  # ... and its row in the block (if not 0)
    order: list[str] = field(default_factory=list)  # tables: every column name, in file order
    first_line: int | None = None
    arrays: dict[str, np.ndarray] | None = None  # NPY ("" key) / NPZ
    row_offset: int = 0

    def _at(self, column: str) -> str:
        """Where a text column's first value is (its line, or its row)."""
        row = self.row_offset + self.text_rows.get(column, 0)
        return f"line {self.first_line + row}" if self.first_line is not None else f"row {row}"

    def select(self, selector: str | None) -> Array:
        if self.arrays is not None:
            return self._select_array(self.arrays, selector)
        return self._select_columns(selector)

    def _select_columns(self, selector: str | None) -> Array:
        order = self.order
        if selector is None:
            chosen = [n for n in order if n in self.columns]
            if not chosen:
                first = order[0]
                raise InputError(f"{self.label}: no numeric columns (columns: {names_text(order)}); "
                                 f"{self._at(first)}, column {first!r} holds "
                                 f"{self.text_columns[first]!r}{_decimal_comma_hint(self.text_columns[first])}")
        else:
            chosen = resolve_columns(selector, order, self.label)
        for n in chosen:
            if n in self.text_columns:
                raise InputError(
                    f"{self.label}, {self._at(n)}, column {n!r}: expected a "
                    f"number, found {self.text_columns[n]!r} (the column is text)"
                    f"{_decimal_comma_hint(self.text_columns[n])}")
        data = self.columns[chosen[0]] if len(chosen) == 1 else np.column_stack(
            [self.columns[n] for n in chosen])
        label = self.label if selector is None else f"{self.label}:{selector}"
        return Array(data, label, tuple(chosen), self.first_line, self.row_offset)

    def _select_array(self, arrays: dict[str, np.ndarray], selector: str | None) -> Array:
        if "" in arrays:  # NPY: the selector, if any, picks columns of a 2-D array
            data = arrays[""]
            if selector is None:
                return Array(data, self.label, row_offset=self.row_offset)
            if data.ndim != 2:
                raise InputError(f"{self.label}: a column selector needs a 2-D array, "
                                 f"this one has shape {data.shape}")
            names = [str(i) for i in range(data.shape[1])]
            idx = [int(c) for c in resolve_columns(selector, names, self.label)]
            picked = data[:, idx[0]] if len(idx) == 1 else data[:, idx]
            return Array(picked, f"{self.label}:{selector}", row_offset=self.row_offset)
        if selector is None:
            if len(arrays) == 1:
                return Array(next(iter(arrays.values())), self.label, row_offset=self.row_offset)
            raise InputError(f"{self.label}: holds several arrays, name one as "
                             f"{self.label}:KEY (keys: {names_text(arrays)})")
        if selector not in arrays:
            raise InputError(f"{self.label}: no array named {selector!r} (keys: {names_text(arrays)})")
        return Array(arrays[selector], f"{self.label}:{selector}", row_offset=self.row_offset)


def _decimal_comma_hint(value: str) -> str:
    if re.fullmatch(r"\s*[-+]?\d+,\d+\s*", value):
        return "; it looks like a decimal comma: losscli reads '.' as the decimal separator"
    return ""


def names_text(items) -> str:
    items = list(items)
    shown = ", ".join(items[:20])
    return shown + (f", ... ({len(items)} in all)" if len(items) > 20 else "")


def resolve_columns(selector: str, names: list[str], label: str) -> list[str]:
    """Column names for ``a,b``, ``0,2``, ``2-11`` (inclusive range); names win over indices."""
    chosen: list[str] = []
    for part in selector.split(","):
        part = part.strip()
        if part in names:
            chosen.append(part)
            continue
        m = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if m:
            lo = int(m.group(1))
            hi = int(m.group(2)) if m.group(2) is not None else lo
            if lo <= hi < len(names):
                chosen.extend(names[lo:hi + 1])
                continue
            raise InputError(f"{label}: column index {part} is out of range "
                             f"(the file has {len(names)} columns, 0-{len(names) - 1})")
        raise InputError(f"{label}: no column {part!r} (columns: {names_text(names)})")
    return chosen




def wanted_columns(wanted, names: list[str], label: str) -> list[str]:
    """The columns a set of selectors names (``wanted``; None: all of them), in file order: what a
    reader converts."""
    if wanted is None:
        return list(names)
    chosen = {n for selector in wanted for n in resolve_columns(selector, names, label)}
    return [n for n in names if n in chosen]
