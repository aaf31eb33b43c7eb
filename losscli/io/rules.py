"""How rows and columns are chosen, declared once (the README's section of the same name):

- **Header** of a text file (``--header auto|yes|no``): a first line with a field that is not a
  number is a header; so is pandas' numeric header (``0``, ``0,1,...``, or ``,0,1,...`` above an
  index) when the rows below are not integers like it. :func:`header_decision`.
- **Index columns** are not data unless a selector names them: an unnamed first column (pandas'
  ``to_csv()`` index, read back as ``Unnamed: 0``), the index columns pandas records in a
  Parquet/Arrow file's metadata, and the extra first field of rows that have one field more than
  their header (pandas' ``index_label=False``).
- **Id columns** (``id``, ``key``, ``index``, ``*_id``) are not data unless named either; rows are
  paired by position, or by a key column with ``--on``, and two inputs whose id columns disagree
  row by row are refused (``cache.py``).
- **Text that looks numeric** (decimal commas, thousands separators, percent signs) is never
  skipped as text: :func:`numeric_text_hint`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

#: the choices of ``--header``
HEADER_CHOICES = ("auto", "yes", "no")
#: the choices of ``--on-missing``: keys found in some inputs only are an error, or dropped
ON_MISSING = ("error", "drop")
#: names of id columns (case-insensitive); and any name ending in ``_id``
ID_NAMES = ("id", "key", "index")


@dataclass(frozen=True)
class ReadRules:
    """What a run reads its inputs with (the options of one command, or one gate)."""

    header: str = "auto"
    on: str | None = None  # the key column rows are matched by (None: by position)
    on_missing: str = "error"
    classes: tuple[str, ...] | None = None  # class names for text labels (None: the predictions' columns)


def is_id_name(name: str) -> bool:
    low = name.strip().lower()
    return low in ID_NAMES or low.endswith("_id")


def is_unnamed(name: str) -> bool:
    """A column pandas names itself because its header cell was blank (``Unnamed: 0``)."""
    return re.fullmatch(r"Unnamed: \d+", name) is not None


_INT = re.compile(r"[+-]?\d+")
_FLOAT_ONLY = re.compile(r"[+-]?(?:\d*\.\d*(?:[eE][+-]?\d+)?|\d+[eE][+-]?\d+|(?i:inf|infinity|nan))")


def header_decision(first: list[str], below: list[list[str]], mode: str) -> tuple[bool, str]:
    """Whether the first line of a text file is its header, and why (for the JSON and notes).
    ``first``: its fields; ``below``: the fields of the next lines (a sample)."""
    if mode == "yes":
        return True, "yes (--header yes)"
    if mode == "no":
        return False, "no (--header no)"
    cells = [f.strip() for f in first]
    if any(c and not _is_number(c) for c in cells):
        return True, "yes (a field of the first line is not a number)"
    numbered = cells[1:] if cells and cells[0] == "" and len(cells) > 1 else cells
    if not (numbered and [c for c in numbered] == [str(i) for i in range(len(numbered))]):
        return False, "no (the first line holds numbers)"
    # pandas' header of a frame with unnamed columns: 0,1,...,k-1 (,0,1,... above an index)
    if numbered is not cells:
        filled = [row for row in below if row and row[0].strip()]
        if filled and len(filled) == len(below):
            return True, "yes (pandas' header: a blank cell above an index, then 0, 1, ...)"
    if any(_FLOAT_ONLY.fullmatch(c.strip()) for row in below for c in row[-len(numbered):]):
        return True, "yes (pandas' numeric header: 0, 1, ... above values that are not integers)"
    if not below:
        return False, "no (a single line of numbers)"
    return False, AMBIGUOUS


#: the header decision for a first line that may be pandas' numeric header or integer data
AMBIGUOUS = ("no (the first line reads 0, 1, ... like pandas' header, but the rows below are integers too; "
             "--header yes if it is a header)")


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def range_index(values: list[str]) -> bool:
    """Fields that read 0, 1, 2, ... (pandas' default index)."""
    return bool(values) and [v.strip() for v in values] == [str(i) for i in range(len(values))]


_HINTS = (
    (re.compile(r"[-+]?\d+,\d+"), "it looks like a decimal comma: losscli reads '.' as the decimal separator; "
     "convert the file, e.g. pandas: pd.read_csv(f, sep=';', decimal=',').to_csv(out, index=False)"),
    (re.compile(r"[-+]?\d{1,3}(?:,\d{3})+(?:\.\d*)?"), "it looks like a number with thousands separators, "
     "which losscli does not read; write plain numbers, e.g. pandas: pd.read_csv(f, thousands=',')"
     ".to_csv(out, index=False)"),
    (re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)\s*%"), "it looks like a percentage, which losscli does not read; "
     "write fractions (12% as 0.12)"),
    (re.compile(r"[$€£¥]\s*[-+]?\d[\d,]*(?:\.\d*)?|[-+]?\d[\d,]*(?:\.\d*)?\s*[$€£¥]"),
     "it looks like an amount with a currency sign, which losscli does not read; write plain numbers"),
)


def numeric_text_hint(value: str) -> str | None:
    """Why a text value that looks like a number is not read as one, and how to fix the file."""
    text = value.strip()
    for pattern, hint in _HINTS:
        if pattern.fullmatch(text):
            return hint
    return None


def pandas_index_columns(metadata: dict | None) -> list[str]:
    """The index columns pandas records in a Parquet/Arrow schema's ``b'pandas'`` metadata
    (``__index_level_0__``, or the index's own name); a RangeIndex stored as metadata only has
    no column."""
    if not metadata or b"pandas" not in metadata:
        return []
    try:
        info = json.loads(metadata[b"pandas"])
    except (ValueError, UnicodeDecodeError):
        return []
    return [c for c in info.get("index_columns", []) if isinstance(c, str)]
