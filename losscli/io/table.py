"""Selected inputs: a block of a file (:class:`Source`, named columns or named arrays) and what a
selector picks from it (:class:`Array`, the data plus what is needed to point at a cell).

A selector picks columns by name or 0-based index (``pred``, ``p0,p1``, ``2-11``), the same for
the columns of a 2-D NPY, or the array of an NPZ.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

import numpy as np

from ..arrays import Array, Lines
from ..errors import InputError
from .hints import NUMERIC_TEXT, hint_suffix, numeric_text_hint
from .rules import BY_REASON, FRACTION, GUESSES, is_id_name
from .spec import partition_key_hint


class ClassNames(Protocol):
    """How labels are read through class names (``classes.Classes``), as a block's selection uses it."""

    @property
    def text(self) -> bool: ...
    @property
    def integers(self) -> bool: ...
    def reads(self, src: Source, chosen) -> str | None: ...
    def indices(self, src: Source, column: str) -> np.ndarray: ...
    def array_indices(self, arr: Array, row_offset: int) -> Array: ...


@dataclass
class Source:
    """One block of rows of a file: a table of named columns or a mapping of named arrays."""

    label: str
    rows: int
    columns: dict[str, np.ndarray] = field(default_factory=dict)  # tables: numeric columns
    text_columns: dict[str, str] = field(default_factory=dict)  # tables: name -> first value
    text_rows: dict[str, int] = field(default_factory=dict)  # ... and its row in the block (if not 0)
    order: list[str] = field(default_factory=list)  # tables: every column name, in file order
    first_line: Lines | None = None  # text: the file line of each data row
    arrays: dict[str, np.ndarray] | None = None  # NPY ("" key) / NPZ
    row_offset: int = 0
    index: dict[str, str] = field(default_factory=dict)  # tables: columns that are not data -> why
    #: tables: a first column that counts on by one as pandas' index does -> what it counts; data, but
    #: not beside other data columns unless a selector names them (``rules.counting_column``)
    suspects: dict[str, str] = field(default_factory=dict)
    keys: dict[str, Any] = field(default_factory=dict)  # tables: id/key columns' exact values (Arrow)
    text_values: dict[str, Any] = field(default_factory=dict)  # tables: text columns' values (Arrow)
    pending: dict[str, Callable[[], None]] = field(default_factory=dict)  # key columns read as numbers when named
    header: str | None = None  # text: whether the first line was a header, and why
    dataset: str | None = None  # a shard's: the input it is part of (what a selector is written after)
    range_index: str | None = None  # Parquet/Arrow: the name of a RangeIndex pandas kept as metadata (in keys)
    #: Parquet/Arrow: a RangeIndex (named or not) pandas kept as metadata: its value at this block's
    #: first row, and its step (a dataset's shards numbered in order, or each from 0: ``pairing``)
    pandas_range: tuple[int, int] | None = None
    booleans: set[str] = field(default_factory=set)  # tables: columns written as booleans (True/False), read as 1/0
    #: tables: per column of numbers or booleans, its kind ("numbers", "booleans"), the row of its first
    #: present value and that value as written; ``guard`` (its reader's ``kinds.KindGuard``) refuses
    #: a switch of kind from the blocks read before, as a key column read as numbers later is recorded
    kinds: dict[str, tuple[str, int, str]] = field(default_factory=dict)
    guard: Any = None
    sep: str | None = None  # text files: the delimiter

    @property
    def selects(self) -> str:
        """The input as a selector names it: a shard's dataset, else the file."""
        return self.dataset or self.label

    def cut(self, n: int) -> tuple["Source", "Source"]:
        """Its first ``n`` rows and the rest, as two blocks (a block of one input paired with a shard
        of another: ``cache.InputCache.lockstep``). Key columns read lazily are read first."""
        for name in list(self.pending):
            self.pending.pop(name)()
        return self._rows(0, n), self._rows(n, self.rows)

    def _rows(self, lo: int, hi: int) -> "Source":
        from dataclasses import replace

        from .buffers import validity

        texts, at = {}, {}
        for name, values in self.text_values.items():  # (the first value of a text column, for messages)
            part = values.slice(lo, hi - lo)
            present = np.flatnonzero(validity(part)) if part.null_count else np.arange(min(len(part), 1))
            texts[name] = str(part[int(present[0])].as_py()) if present.size else ""
            at[name] = int(present[0]) if present.size else 0
        ranged = None if self.pandas_range is None else (self.pandas_range[0] + self.pandas_range[1] * lo,
                                                          self.pandas_range[1])
        return replace(self, rows=hi - lo, row_offset=self.row_offset + lo, pandas_range=ranged,
                       columns={k: v[lo:hi] for k, v in self.columns.items()},
                       arrays=None if self.arrays is None else {k: v[lo:hi] for k, v in self.arrays.items()},
                       keys={k: v.slice(lo, hi - lo) for k, v in self.keys.items()},
                       text_values={k: v.slice(lo, hi - lo) for k, v in self.text_values.items()},
                       text_columns={**self.text_columns, **texts}, text_rows={**self.text_rows, **at}, pending={},
                       kinds={})  # (checked whole by its reader)

    def _at(self, column: str) -> str:
        """Where a text column's first value is (its line, or its row)."""
        return self.place(self.row_offset + self.text_rows.get(column, 0))

    def place(self, row: int) -> str:
        """Where a row of the file is, for messages: its line (text), or its row."""
        return f"line {self.first_line.line(row)}" if self.first_line is not None else f"row {row}"

    def of_kind(self, name: str, kind: str, row: int, value: str) -> None:
        """Column ``name`` holds ``kind`` from ``row`` of the block on (``value`` there): recorded, and
        checked against the blocks read before once the block is its reader's (``guard``)."""
        self.kinds[name] = (kind, row, value)
        if self.guard is not None:
            self.guard.see(name, (kind, self.label, self.place(self.row_offset + row), value))

    def hint(self, column: str, value: str) -> str:
        """``hints.hint_suffix`` for a value of ``column`` not read as a number, as this file is read:
        its delimiter, and its header (none where the column's name is such a value too: ``0,5`` on
        a first line of data)."""
        header = (self.header or "yes").startswith("yes") and numeric_text_hint(column) is None
        if header and self.first_line is not None and value.strip().lstrip("\ufeff") == column.strip():
            # (with a byte-order mark before it where each part was written with encoding='utf-8-sig')
            return (" (the column's name again: a file appended to with to_csv(mode='a') repeats its header "
                    "at each append; write the appends with header=False, or remove those lines)")
        return hint_suffix(value, self.first_line is not None, self.sep, header)

    def kind(self, column: str) -> str:
        """What a column that is not numbers holds, for messages: "text", or its Arrow type where it
        is another (``timestamp[us]``, ``struct<a: double>``)."""
        import pyarrow as pa

        type_ = getattr(self.text_values.get(column), "type", None)
        if type_ is not None and pa.types.is_dictionary(type_):  # a categorical column: its values
            type_ = type_.value_type
        if type_ is None or str(type_) in ("string", "large_string", "string_view"):
            return "text"
        return str(type_)

    def select(self, selector: str | None, classes: ClassNames | None = None) -> Array:
        """The selected data; with ``classes``, one text column of class names as class indices."""
        if self.arrays is not None:
            arr = self._select_array(self.arrays, selector)
            if classes is not None and classes.integers and arr.data.ndim == 1:  # integer labels named by classes
                return classes.array_indices(arr, self.row_offset)
            return arr
        return self._select_columns(selector, classes)

    def skipped(self) -> dict[str, str]:
        """The columns that are not data without a selector naming them, and why."""
        out = {n: why for n, why in self.index.items() if why != BY_REASON}
        rest = [n for n in self.order if n not in out]
        for n in rest if len(rest) > 1 else ():  # (a file's only column is its data, whatever its name)
            if is_id_name(n) and not self._fractions(n):
                out[n] = "an id column (rows are paired by position; --on NAME pairs them by key)"
        for n in self.order:
            if n not in out and n in self.text_columns:
                out[n] = "text"
        return out  # (a --by column is data as it would be without --by: naming it never changes what is read)

    def _fractions(self, name: str) -> bool:
        """Whether a column holds a number with a fraction or an exponent (``0.25``, ``1e-3``): data,
        whatever its name (a gene ``ID1``, a class ``id``), since ids are integers or text."""
        values = self.keys.get(name)
        if values is not None and str(values.type) not in ("double", "float", "halffloat"):
            # text (a CSV's key columns) or integers: the first values tell (no Arrow compute on a CSV run)
            return any(isinstance(v, str) and FRACTION.fullmatch(v) for v in values.slice(0, 100).to_pylist())
        col = self.columns.get(name) if values is None else values.to_numpy(zero_copy_only=False)
        if col is None:
            return False
        with np.errstate(invalid="ignore"):  # (a missing value is no fraction)
            return bool(np.any(np.isfinite(col) & (col != np.round(col))))

    def _refuse_numeric_text(self, name: str) -> None:
        """A text column with a value written as a number for people (``1.234,5``, ``12%``) is an
        error naming the first such value, not a column silently left out."""
        import pyarrow.compute as pc

        from .buffers import bits

        values = self.text_values.get(name)
        if values is None or self.kind(name) != "text":
            return  # (a struct, a timestamp, a list of text: no number written for people hides in it)
        if hasattr(values, "dictionary_decode"):  # a categorical column
            values = values.dictionary_decode()
        looks = np.flatnonzero(bits(pc.match_substring_regex(values.cast("string"), NUMERIC_TEXT), null=False))
        if looks.size:
            row = int(looks[0])
            value = str(values[row].as_py())
            at = f"line {self.first_line.line(self.row_offset + row)}" if self.first_line is not None else \
                f"row {self.row_offset + row}"
            raise InputError(f"{self.label}, {at}, column {name!r}: found {value!r}, which is not read as a number"
                             f"{self.hint(name, value)}")

    def _select_columns(self, selector: str | None, classes: ClassNames | None = None) -> Array:
        order = self.order
        if selector is None:
            for n in [n for n in self.pending if n not in self.skipped()]:  # a file's only column, say
                self.pending.pop(n)()
            skipped = self.skipped()
            for n in order:  # text that looks like numbers is never skipped silently
                if skipped.get(n) == "text":
                    self._refuse_numeric_text(n)
            chosen = [n for n in order if n in self.columns and n not in skipped]
            for n in [n for n in chosen if n in self.suspects] if len(chosen) > 1 else ():
                rest = [c for c in chosen if c != n]
                like = "as pandas writes an index with a name (to_csv() of a series or frame)" if \
                    self.first_line is not None else "as a row number does (row_number() of SQL, polars' " \
                    "with_row_index(), pandas' index)"
                raise InputError(
                    f"{self.label}: column {n!r} counts on by one ({self.suspects[n]}) {like}, before "
                    f"{', '.join(map(repr, rest))}: name the "
                    f"data columns ({self.selects}:{','.join(rest)}), or every column if {n!r} is data too "
                    f"({self.selects}:{','.join(chosen)})")
            text = [n for n in order if skipped.get(n) == "text"]
            ids = [n for n in order if skipped.get(n, "").startswith("an id column")]
            if not chosen and not text and ids:  # id columns only (image_id, class_id): the last is the data
                for n in [n for n in ids if n in self.pending]:
                    self.pending.pop(n)()
                chosen = [n for n in ids if n in self.columns][-1:]
            if not chosen and classes is not None and classes.text and len(text) == 1:  # a column of class names
                chosen = text
            elif not chosen and ids:
                raise InputError(f"{self.label}: no data column beside its id columns ({', '.join(ids)}) and text "
                                 f"({', '.join(text)}); name the column to read: {self.selects}:COLUMN")
            elif not chosen:
                if not any(n in self.text_columns for n in order):
                    reasons: dict[str, list[str]] = {}
                    for n, reason in skipped.items():
                        reasons.setdefault(reason, []).append(n)
                    why = "".join(f"; not data: {', '.join(ns)}, {reason}" for reason, ns in reasons.items())
                    raise InputError(f"{self.label}: no data columns (columns: {names_text(order)}{why}); "
                                     "name the column to read: FILE:COLUMN")
                first = next(n for n in order if n in self.text_columns)
                kind = self.kind(first)
                hint = self.hint(first, self.text_columns[first]) or \
                    (_CLASS_HINT if len(text) == 1 and kind == "text" else "")
                what = "" if kind == "text" else f" (the column is {kind})"
                raise InputError(f"{self.label}: no numeric columns (columns: {names_text(order)}); "
                                 f"{self._at(first)}, column {first!r} holds {self.text_columns[first]!r}{what}{hint}")
        else:
            chosen = resolve_columns(selector, order, self.label)
        for n in chosen:
            if n in self.pending:
                self.pending.pop(n)()
        label = self.label if selector is None else f"{self.label}:{selector}"
        if classes is not None and classes.reads(self, chosen) is not None:
            return Array(classes.indices(self, chosen[0]), label, tuple(chosen), self.first_line, self.row_offset)
        for n in chosen:
            if n in self.text_columns:
                kind = self.kind(n)
                hint = self.hint(n, self.text_columns[n]) or \
                    (_CLASS_HINT if len(chosen) == 1 and kind == "text" else "")
                raise InputError(
                    f"{self.label}, {self._at(n)}, column {n!r}: expected a "
                    f"number, found {self.text_columns[n]!r} (the column is {kind}){hint}")
        data = self.columns[chosen[0]] if len(chosen) == 1 else np.column_stack(
            [self.columns[n] for n in chosen])
        return Array(data, label, tuple(chosen), self.first_line, self.row_offset,
                     positional=bool(self.header and self.header.startswith("no")))

    def _select_array(self, arrays: dict[str, np.ndarray], selector: str | None) -> Array:
        if "" in arrays:  # NPY: the selector, if any, picks columns of a 2-D array
            if selector is None:
                return Array(arrays[""], self.label, row_offset=self.row_offset)
            return self._array_columns(arrays[""], self.label, selector)
        if selector is None:
            if len(arrays) == 1:
                return Array(next(iter(arrays.values())), self.label, row_offset=self.row_offset)
            raise InputError(f"{self.label}: holds several arrays, name one as "
                             f"{self.label}:KEY (keys: {names_text(arrays)})")
        key, columns = npz_member(selector, arrays)
        if key not in arrays:
            raise InputError(f"{self.label}: no array named {selector!r} (keys: {names_text(arrays)})")
        if columns is not None:  # KEY:COLUMNS, columns of a 2-D member
            return self._array_columns(arrays[key], f"{self.label}:{key}", columns)
        return Array(arrays[key], f"{self.label}:{key}", row_offset=self.row_offset)

    def _array_columns(self, data: np.ndarray, label: str, selector: str) -> Array:
        """Columns of a 2-D array (NPY, an NPZ member) by their indices (``0,2``, ``1-3``)."""
        if data.ndim != 2:
            raise InputError(f"{label}: a column selector needs a 2-D array, this one has shape {data.shape}")
        names = [str(i) for i in range(data.shape[1])]
        idx = [int(c) for c in resolve_columns(selector, names, label)]
        picked = data[:, idx[0]] if len(idx) == 1 else data[:, idx]
        return Array(picked, f"{label}:{selector}", row_offset=self.row_offset)


def npz_member(selector: str, keys) -> tuple[str, str | None]:
    """An NPZ selector as (member, columns of it or None): ``logits``, or ``pred:0`` (column 0 of
    the 2-D member ``pred``) where no member is named ``pred:0``."""
    if selector in keys or ":" not in selector:
        return selector, None
    key, columns = selector.rsplit(":", 1)
    return (key, columns) if key in keys else (selector, None)


_CLASS_HINT = ("; if it holds class names, --classes NAME,... (or predictions whose columns are named after the "
               "classes) reads them as class indices")


def names_text(items) -> str:
    items = [str(i) for i in items]
    if any("," in i for i in items):  # (a name with a comma: each quoted, or the list reads as more names)
        items = [repr(i) for i in items]
    shown = ", ".join(items[:20])
    return shown + (f", ... ({len(items)} in all)" if len(items) > 20 else "")


def resolve_columns(selector: str, names: list[str], label: str) -> list[str]:
    """Column names for ``a,b``, ``0,2``, ``2-11`` (inclusive range); names win over indices, in a
    range too: ``0-1`` of pandas' header ``,0,1`` is the columns named 0 to 1, as ``0,1`` is."""
    chosen: list[str] = []
    parts = selector.split(",")
    known = set(names)
    longest = 1 + max((n.count(",") for n in names), default=0)  # (parts a name with commas spans, at most)
    at = 0
    while at < len(parts):
        # (a name with commas, "pred, v1" as pandas writes it quoted: the longest run of parts that names one)
        run = next((k for k in range(min(len(parts) - at, longest), 1, -1)
                    if ",".join(parts[at:at + k]).strip() in known), 1)
        part = ",".join(parts[at:at + run]).strip()
        at += run
        if part in known:
            chosen.append(part)
            continue
        m = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if m and m.group(2) is not None and m.group(1) in names and m.group(2) in names \
                and names.index(m.group(1)) <= names.index(m.group(2)):
            chosen.extend(names[names.index(m.group(1)):names.index(m.group(2)) + 1])
            continue
        if m:
            lo = int(m.group(1))
            hi = int(m.group(2)) if m.group(2) is not None else lo
            if lo <= hi < len(names):
                chosen.extend(names[lo:hi + 1])
                continue
            raise InputError(f"{label}: column index {part} is out of range "
                             f"(the file has {len(names)} columns, 0-{len(names) - 1})")
        raise InputError(f"{label}: no column {part!r} (columns: {names_text(names)}){partition_key_hint(label, part)}")
    return chosen




def refuse_name_or_position(selector: str, block: Source) -> None:
    """A user's selector on a first line of numbers guessed to be a header (``1,2`` of np.savetxt
    above fractions): ``:1`` is the column named 1 at position 0, while ``:0`` is the column at
    position 0 too, and two roles read one column. A whole number that names a column at another
    position is refused, with both readings."""
    if block.arrays is not None or block.header not in GUESSES:
        return
    names, label = block.order, block.label
    for part in (p.strip() for p in selector.split(",")):
        if part in names and part.isdigit() and names.index(part) != int(part) and int(part) < len(names):
            raise InputError(
                f"{label}: the first line ({','.join(names)}) was guessed to be a header of numbered columns, so "
                f":{part} is ambiguous: the column named {part} (position {names.index(part)}), or the column at "
                f"position {part}; --header yes reads the line as names, --header no as data (then :{part} is "
                "the column at that position)")


def wanted_columns(wanted, names: list[str], label: str, extra=()) -> list[str]:
    """The columns a set of selectors names (``wanted``; None: all of them) and the ``extra``
    ones, in file order: what a reader converts."""
    if wanted is None:
        return list(names)
    chosen = {n for selector in wanted for n in resolve_columns(selector, names, label)} | set(extra)
    return [n for n in names if n in chosen]
