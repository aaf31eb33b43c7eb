"""What the strings of a text column mean, as pandas reads them: numbers (quoted or not), a
missing value (one of pandas' NA spellings), a boolean (``True``/``False``: 1 and 0), or text.

``textparse.py`` reads a column as float64 where it can and hands the others here as Arrow
strings; :func:`classify` says what they are, with Arrow's compute functions only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from .buffers import bits, floats

#: the spellings of a missing value, as pandas' read_csv has them by default
NA_VALUES = ("", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
             "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null")
#: what a number looks like (RE2 syntax, as Arrow's cast to float64 reads it; no "1_000", no hex)
NUMBER = r"^[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|(?i:inf|infinity|nan))$"
#: the spellings of a boolean read as 1 or 0 (pandas reads these three spellings)
TRUE, FALSE = ("True", "TRUE", "true"), ("False", "FALSE", "false")


@dataclass
class Text:
    """A column that is not numeric: the first present value, at ``at``; and when the column
    starts with a number, the first cell that is not one (``row``, its ``value``); when it starts
    with booleans, the first number (a column of both is neither)."""

    first: str
    at: int
    row: int | None = None
    value: str = ""


@dataclass(frozen=True)
class Booleans:
    """A column of boolean spellings, as 1 and 0 (NaN where missing)."""

    values: np.ndarray


def classify(col) -> np.ndarray | Booleans | Text:
    """An Arrow string column as numbers (float64, NaN where missing) when each present value is
    a number, or as :class:`Booleans` when each is a boolean spelling; else what :class:`Text` says. (Arrow's compute
    functions only: converting Arrow arrays to numpy through ``to_numpy`` would import pandas.)"""
    import pyarrow.compute as pc

    stripped = pc.utf8_trim_whitespace(col)
    missing_np = bits(pc.match_substring_regex(stripped, _NA_PATTERN), null=True)
    present = np.flatnonzero(~missing_np)
    if present.size == 0:
        return np.full(len(col), np.nan)
    first = stripped[int(present[0])].as_py()
    if first in TRUE + FALSE:
        flags = bits(pc.match_substring_regex(stripped, _BOOL_PATTERN))
        if flags[present].all():
            out = np.full(len(col), np.nan)
            out[present] = bits(pc.match_substring_regex(stripped, _TRUE_PATTERN))[present]
            return Booleans(out)
        bad = int(present[np.flatnonzero(~flags[present])[0]])
        if ONE_NUMBER.fullmatch(stripped[bad].as_py()):  # (booleans, then a number: neither; words: text)
            return Text(first, int(present[0]), bad, stripped[bad].as_py())
    if not ONE_NUMBER.fullmatch(first):
        return Text(first, int(present[0]))
    is_number = bits(pc.match_substring_regex(stripped, NUMBER))
    if is_number[present].all():
        import pyarrow as pa

        values = floats(pc.cast(pc.replace_substring_regex(stripped, _NA_PATTERN, "nan"), pa.float64()))
        values[missing_np] = np.nan
        return values
    bad = int(present[np.flatnonzero(~is_number[present])[0]])
    return Text(first, int(present[0]), bad, stripped[bad].as_py())


def _alternatives(words) -> str:
    return "^(?:" + "|".join(re.escape(w) for w in words) + ")$"


_NA_PATTERN = _alternatives(NA_VALUES)
_BOOL_PATTERN = _alternatives(TRUE + FALSE)
_TRUE_PATTERN = _alternatives(TRUE)
ONE_NUMBER = re.compile(NUMBER)  # the same pattern, for one value in Python
