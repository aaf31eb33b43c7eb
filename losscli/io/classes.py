"""Class names: how the labels of a classification loss name classes, and which classes: the
predictions' columns (``cat,dog,bird``; integers ``1,2,3`` from ``predict_proba`` kept as a frame;
one word and a number, ``class_1,class_0``) or ``--classes``; and the labels read through them, text
or integers, from a table's column or a 1-D array (:class:`Classes`, :func:`column_classes`)."""

from __future__ import annotations

import re
from typing import Any
from dataclasses import dataclass

import numpy as np

from ..arrays import Array
from ..errors import InputError
from .rules import INTEGER
from .table import Source, names_text


@dataclass(frozen=True)
class Classes:
    """Class names in index order (from ``--classes``, or the predictions' columns: ``source``),
    and the labels read through them: a text column (``text``), a column of integers (``integers``:
    label v is the class named v, not index v; only with integer names)."""

    names: tuple[str, ...]
    source: str
    text: bool = True
    integers: bool = False
    #: the integers the names end in, when they are one word and numbers other than consecutive
    #: ones in ascending order (``class_1,class_0,class_2``, ``p_0,p_2,p_5``): integer labels name
    #: those (``numbered_names``)
    numbers: tuple[int, ...] | None = None

    def as_integers(self) -> list[int] | None:
        """The integers the classes are named by (``1,2,3``; ``class_1,class_0``), or None."""
        return list(self.numbers) if self.numbers is not None else integer_names(self.names)

    def reads(self, src: Source, chosen) -> str | None:
        """How the selected columns are read through the names: "text", "integers", or None (one
        column only; as given)."""
        if len(chosen) != 1:
            return None
        if chosen[0] in src.text_columns:
            return "text" if self.text else None
        return "integers" if self.integers and chosen[0] in src.columns else None

    def indices(self, src: Source, column: str) -> np.ndarray:
        """A column of labels (``reads``) as class indices (NaN where missing); a label that names
        no class is an error naming it, its line and the classes (but a negative integer one, kept:
        ``ignore_index``)."""
        if column in src.text_columns:
            found, unknown, text = self.text_indices(src.text_values[column])

            def shown(row: int) -> str:
                return repr(text[row].as_py())
        else:
            data = np.asarray(src.columns[column], dtype=np.float64)
            found, unknown = self._numbered(data)

            def shown(row: int) -> str:
                value = float(data[row])
                return str(int(value)) if value.is_integer() else f"{value:g}"
        if unknown.size:
            row = int(unknown[0])
            at_row = f"line {src.first_line.line(src.row_offset + row)}" if src.first_line is not None else \
                f"row {src.row_offset + row}"
            # not one value a class name, and the file has more columns: the labels are likely another one
            others = [c for c in src.order if c != column and c not in src.index]
            hint = (f"; no value of column {column!r} is a class name: if the labels are another column, select "
                    f"it ({src.selects}:{others[0]})" if others and np.isnan(found).all() else "")
            hint = hint or self._indices_hint(np.asarray(src.columns[column], dtype=np.float64)
                                              if column in src.columns else None)
            raise InputError(f"{src.label}, {at_row}, column {column!r}: {shown(row)} is not a class name "
                             f"(classes, {self.source}: {names_text(self.names)}){hint}")
        return found

    def text_indices(self, values) -> tuple[np.ndarray, np.ndarray, Any]:
        """An Arrow column of text labels (a categorical one too) as class indices (NaN where
        missing), the rows of those that name no class, and the labels as compared (stripped)."""
        import pyarrow as pa
        import pyarrow.compute as pc

        from .buffers import bits, floats, strings

        if pa.types.is_dictionary(values.type):  # a categorical column
            values = values.dictionary_decode()
        text = pc.utf8_trim_whitespace(values.cast(pa.string()))
        index = pc.index_in(text, value_set=strings(self.names))
        return floats(index), np.flatnonzero(bits(pc.and_(pc.is_null(index), pc.is_valid(text)))), text

    def _numbered(self, data: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Integer labels as the indices of the classes they name, and the rows of those that name none."""
        numbers = np.asarray(self.as_integers(), dtype=np.float64)
        order = np.argsort(numbers, kind="stable")  # (a name given twice: its first column)
        at = np.minimum(np.searchsorted(numbers[order], data), len(order) - 1)
        hit = numbers[order][at] == data
        # a negative label that names no class passes as it is: an ignore_index (-100) the loss skips,
        # or an index its validation refuses
        passed = ~hit & (data < 0)
        found = np.where(hit, order[at], np.where(passed, data, np.nan))
        return found, np.flatnonzero(~hit & ~passed & ~np.isnan(data))

    def array_indices(self, arr: Array, row_offset: int, python: bool = False) -> Array:
        """A 1-D array of integer labels (NPY, an NPZ member; ``python``: a Python caller's) as
        class indices, as a column's are."""
        found, unknown = self._numbered(np.asarray(arr.data, dtype=np.float64))
        if unknown.size:
            row = int(unknown[0])
            value = float(arr.data[row])
            raise InputError(f"{arr.label}, row {row_offset + row}: "
                             f"{int(value) if value.is_integer() else format(value, 'g')} is not a class name "
                             f"(classes, {self.source}: {names_text(self.names)}){self._indices_hint(arr.data, python)}")
        return Array(found, arr.label, row_offset=row_offset)

    def _indices_hint(self, data: np.ndarray | None, python: bool = False) -> str:
        """Integer labels that are all class indices 0..K-1 (a LabelEncoder's) beside columns named by
        other numbers: how to read them so."""
        k = len(self.names)
        if data is None or self.source == "--classes" or sorted(self.as_integers() or range(k)) == list(range(k)):
            return ""
        present = data[np.isfinite(data) & (data >= 0)]
        if not ((present == np.round(present)).all() and (present < k).all()):
            return ""
        if python:
            return f"; if the labels are class indices 0 to {k - 1}, pass the predictions without their column names " \
                   "(frame.to_numpy()) to read them so"
        return f"; if the labels are class indices 0 to {k - 1}, --classes {','.join(map(str, range(k)))} reads them so"

    def positions(self, given: Classes) -> bool:
        """Whether ``--classes`` (``given``) is 0, 1, ..., K-1 for these K columns, whose numbers are
        others (1, 2, 3; p_0, p_2, p_5): labels are the columns' places. (Columns numbered 0..K-1 in
        another order say otherwise than 0, 1, ..., K-1: refused.)"""
        k = list(range(len(self.names)))
        return integer_names(given.names) == k and sorted(self.as_integers() or k) != k

    def differs(self, given: Classes) -> bool:
        """Whether ``--classes`` (``given``) names the classes otherwise than these columns do:
        text names, in another order; columns of digits (``1,2,3``, not ``text``), when ``given``
        are integers too, as other integers (``--classes a,b,c`` stays theirs to give)."""
        # (p1,p2,p3: places named by numbers counting up, which --classes 1,2,3 names the same)
        theirs, ours = integer_names(given.names), self.as_integers() or numbered_names(self.names)
        if theirs is not None and ours is not None:  # (1,2 given for columns named 1.0,2.0: the same classes)
            return theirs != ours
        return self.text and given.names != self.names


#: a whole number written as a float (``1.0``: pandas' name of a column named by a float class, as
#: ``predict_proba`` frames of a classifier fitted on float labels have)
_WHOLE_FLOAT = re.compile(r"[+-]?[0-9]+\.0*")


def integer_names(names) -> list[int] | None:
    """The names as integers (``1``, ``-1``, ``+2``, ``1.0``), or None if one is not."""
    if not all(INTEGER.fullmatch(n.strip()) or _WHOLE_FLOAT.fullmatch(n.strip()) for n in names):
        return None
    return [int(float(n)) for n in names]


#: a name of one word and a number (``class_10``, ``prob1``): the word, and the number
_NUMBERED = re.compile(r"(.*[^0-9])([0-9]+)")


def numbered_names(names) -> list[int] | None:
    """The numbers names of one word and a number end in (``class_1,class_0,class_2``: 1, 0, 2), when
    the word is the same in every name and the numbers are distinct; else None."""
    found = [_NUMBERED.fullmatch(n.strip()) for n in names]
    if not found or not all(found) or len({m.group(1) for m in found if m}) != 1:
        return None
    numbers = [int(m.group(2)) for m in found if m]
    return numbers if len(set(numbers)) == len(numbers) else None


def class_numbers(names) -> list[int] | None:
    """The numbers columns are named by: integers (``1,0``) or one word and a number (``p_1,p_0``)."""
    numbers = integer_names(names)
    return numbers if numbers is not None and len(set(numbers)) == len(numbers) else numbered_names(names)


def column_classes(arr: Array | None) -> Classes | None:
    """The classes a table of predictions names by its columns: text names (``cat,dog``, ``-1,1``)
    for text labels, and for integer labels when they are integers; names of digits other than
    0, 1, ..., K-1 (``1,2,3``, ``0,2,5``) for integer labels only. None: an input without column
    names, or numbered 0..K-1 (pandas' numbered columns: integer labels are indices), or by their
    places in a file without a header (``1,2,3`` once its first column, an index, is left out).
    Names of one word and a number (``class_1,class_0,class_2``: columns reordered; ``p_0,p_2,p_5``:
    a classifier's classes 0, 2, 5) name integer labels by their numbers, unless the numbers count up
    by one from the first (``class_0,class_1``, ``p1,p2,p3``: the columns' places, as written). By
    place, label 0 would read the column ``class_1``, and label 2 the column ``p_5``."""
    if arr is None or arr.data.ndim != 2 or not arr.columns or len(arr.columns) != arr.data.shape[1] or \
            arr.positional:
        return None  # (a list column of logits is one name for C columns: no class names)
    source = f"the columns of {arr.label}"
    if not all(c.isdigit() for c in arr.columns):
        numbers = numbered_names(arr.columns) if integer_names(arr.columns) is None else None  # (-1,1: integers)
        if numbers is not None and numbers != list(range(numbers[0], numbers[0] + len(numbers))):
            return Classes(tuple(arr.columns), source, numbers=tuple(numbers))
        return Classes(tuple(arr.columns), source)
    numbers = integer_names(arr.columns)
    if numbers is None or numbers == list(range(len(numbers))):
        return None
    return Classes(tuple(arr.columns), source, text=False)


def label_reading(arrays: list, hows: list, class_labels: frozenset) -> tuple:
    """How one model's inputs met the labels: (the names of the predictions' columns when they name
    classes, or None: no names, or names that are no classes' such as an NPY's; per class-label
    input, "name" (read through those names) or "place" (integer labels, or a table of one-hot or
    probability rows, met column by column))."""
    first = arrays[0] if arrays else None
    columns = list(first.columns or ()) if first is not None and first.data.ndim == 2 and not first.positional else []
    named = len(columns) == first.data.shape[1] if first is not None and columns else False
    names = tuple(columns) if named and (column_classes(first) is not None or columns == [
        str(i) for i in range(len(columns))]) else None
    return names, tuple("name" if h else "place" for i, h in enumerate(hows) if i in class_labels)


def _in_order(names) -> bool:
    """Whether column names number the classes 0..K-1 in order (0,1,2; class_0,class_1; p0,p1,p2)."""
    numbers = class_numbers(names) if names else None
    return numbers == list(range(len(names))) if numbers is not None else False


def refuse_other_readings(baseline: tuple, candidate: tuple, label_a: str, label_b: str) -> None:
    """Two models (``label_reading``) must meet the labels as the same classes. Labels met by place
    (integer labels, or the columns of a one-hot table) meet a candidate whose columns name the
    classes in another order (bird,cat,dog beside cat,dog,bird) as other classes; and labels read as
    class names beside one model (columns 1,2,3) and as places beside the other (an NPY) are two
    labellings, unless the names are the numbers 0..K-1 and the places count them in order. Columns
    that name other things (p0,p1,p2 beside q0,q1,q2) cannot be compared: left alone."""
    (names_a, how_a), (names_b, how_b) = baseline, candidate
    for a, b in zip(how_a, how_b):
        shared = set(names_a or ()) & set(names_b or ())
        if a == b == "place" and shared and any(names_a.index(n) != names_b.index(n) for n in shared):
            raise InputError(f"the baseline {label_a} has the columns {', '.join(names_a)} and the candidate "
                             f"{label_b} {', '.join(names_b)}: the labels meet the columns by their places, so the "
                             f"models would be scored on different classes; write the candidate's columns in the "
                             f"baseline's order (pandas: frame[{list(names_a)!r}])")
        if {a, b} == {"name", "place"}:
            named, placed = ((names_a, label_a, "baseline"), (names_b, label_b, "candidate")) if a == "name" else \
                ((names_b, label_b, "candidate"), (names_a, label_a, "baseline"))
            numbers = class_numbers(named[0]) if named[0] else None
            if numbers is None or sorted(numbers) != list(range(len(numbers))) or \
                    (placed[0] is not None and not _in_order(placed[0])):
                raise InputError(f"the labels are read as class names ({', '.join(named[0] or ())}) beside the "
                                 f"{named[2]} {named[1]}, and as column places (0..K-1) beside the {placed[2]} "
                                 f"{placed[1]}: the models would be scored on different classes; --classes "
                                 "NAME,... (each column's class, in order) reads them alike for both")
