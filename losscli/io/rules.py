"""How rows and columns are chosen, declared once (the README's section of the same name):

- **Header** of a text file (``--header auto|yes|no``): a first line with a field that is not a
  number is a header (``--header no`` reads one that stands like the rows below it as data: text
  above text, numbers above numbers); so is pandas' numeric header (``0``, ``0,1,...``, or ``,0,1,...`` above an
  index) unless the first column below counts on from it (a guess, said on stderr).
  :func:`header_decision`.
- **Index columns** are not data unless a selector names them: an unnamed first column (pandas'
  ``to_csv()`` index, read back as ``Unnamed: 0``), the leading ``index``/``level_0`` columns of
  ``reset_index()`` (:func:`reset_index_columns`), a named first column that counts on by one
  before columns numbered 0, 1, 2, ..., without a header a first column that counts 0, 1, 2, ...
  or holds distinct integers beside non-integers (:func:`first_column_index`), the
  index columns pandas records in a Parquet/Arrow file's metadata (:func:`pandas_index_columns`),
  and the extra first field of rows that have one field more than their header (``csv.py``).
- **Id columns** (``ID_NAMES``, names with a word of ``ID_WORDS``) are not data unless named, or a file's only column
  (``table.Source.skipped``); rows are paired by position, or by a key column with ``--on``, and
  inputs whose id columns, shared keys or text row labels disagree row by row are refused
  (``pairing.py``).
- **Text that looks numeric** (decimal commas, thousands separators, percent and currency signs)
  is never skipped as text: ``hints.numeric_text_hint``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

#: the choices of ``--header``
HEADER_CHOICES = ("auto", "yes", "no")
#: ``--header`` of a dataset's later shards after a first shard whose first line was data or text
#: (``files._as_first_shard``): ``no`` for a line of numbers, but a line of text only is a header
LATER = "later"
#: the choices of ``--on-missing``: keys found in some inputs only are an error, or dropped
ON_MISSING = ("error", "drop")
#: why a --by column is not read as data (its reason among the index columns; ``io/slices.py``)
BY_REASON = "a --by slice column"
#: names of id columns (case-insensitive), and the words that make a name an id column's
#: (``PassengerId``, ``user_id``, ``userID``, ``SK_ID_CURR``, ``qid``)
ID_NAMES = ("id", "key", "index", "idx", "row")
ID_WORDS = ("id", "idx", "uid", "uuid", "guid", "qid")
#: the words of a name: snake_case, kebab-case, spaces, dots and camelCase cut (``SK_ID_CURR``: SK, ID, CURR)
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")


@dataclass(frozen=True)
class ReadRules:
    """What a run reads its inputs with (the options of one command, or one gate)."""

    header: str = "auto"
    on: str | None = None  # the key column rows are matched by (None: by position)
    on_missing: str = "error"
    #: --positional: rows pair by position, the inputs' index, id, label and partition columns not compared
    positional: bool = False
    classes: tuple[str, ...] | None = None  # class names for text labels (None: the predictions' columns)
    by: tuple[str, ...] = ()  # --by: slice key columns, kept exactly and not read as data (io/slices.py)
    #: a table of features (fit): a named first column that counts on by one is a feature (a trend,
    #: x = 0, 1, 2, ...), not pandas' index as it is before the columns of predictions or labels
    features: bool = False


def is_id_name(name: str) -> bool:
    """An id column's name: one of ``ID_NAMES``, pandas' ``level_0``, or a name with one of
    ``ID_WORDS`` as a word (``PassengerId``, ``movie_id``; not ``valid`` or ``paid``)."""
    low = name.strip().lower()
    return low in ID_NAMES or re.fullmatch(r"level_\d+", low) is not None or \
        any(w.lower() in ID_WORDS for w in _WORD.findall(name))


def slice_columns(names: list[str], rules: ReadRules, index: dict[str, str]) -> dict[str, str]:
    """The ``--by`` columns a table holds, as index entries (kept exactly, not data unless a
    selector names them or no other column is data: ``table.Source.skipped``)."""
    return {n: BY_REASON for n in rules.by if n in names and n not in index}


def key_columns(names: list[str], index: dict[str, str]) -> list[str]:
    """The columns a reader keeps exactly (as keys): id columns, index columns and the ``--on``
    key (which readers put among the index columns)."""
    return [n for n in names if is_id_name(n) or n in index]


def is_unnamed(name: str) -> bool:
    """A column pandas names itself because its header cell was blank (``Unnamed: 0``)."""
    return re.fullmatch(r"Unnamed: \d+(?:\.\d+)?", name) is not None


def unnamed_index(names: list[str]) -> list[str]:
    """The leading columns pandas named itself (``Unnamed: 0``, ``Unnamed: 1`` of a MultiIndex):
    its index, written by ``to_csv()`` (and kept by a ``read_csv`` round trip)."""
    out = []
    for name in names[:-1]:  # (a table's last column is data)
        if not is_unnamed(name):
            break
        out.append(name)
    return out


def level_columns(names: list[str]) -> dict[str, str]:
    """Columns named as pyarrow names pandas' index levels (``__index_level_0__``: ``Table.from_pandas``
    of a frame whose index is not a RangeIndex), wherever they stand: written to CSV
    (``pyarrow.csv.write_csv``) or to Feather v1, the index is a column with that name only."""
    found = [n for n in names if re.fullmatch(r"__index_level_\d+__", n)]
    return {n: "pandas' index (pyarrow's name for its level)" for n in found} if len(found) < len(names) else {}


_WHOLE = re.compile(r"\+?\d+")  # a non-negative integer as written
INTEGER = re.compile(r"[+-]?[0-9]+")  # an integer as written (class names of a predict_proba frame: -1,1)


def header_decision(first: list[str], below: list[list[str]], mode: str) -> tuple[bool, str]:
    """Whether the first line of a text file is its header, and why (for the JSON; a guess is
    also a note on stderr). ``first``: its fields; ``below``: the fields of the next lines (a
    sample). ``mode`` (``--header``) decides a first line of numbers, and ``no`` a line of text
    beside numbers that stands like the rows below it (``cat,10`` of ``to_csv(header=False)``;
    ``name,0`` is pandas' header of a series with a named index, so ``auto`` reads such a line as a
    header, but for times above times: ``2024-01-01,10``); a line with text above numbers is a
    header, and a line with text beside numbers with a fraction is data, unless each text field
    names a column of numbers, or of times it is not (:func:`_names_above`)."""
    cells = [f.strip() for f in first]
    fraction = any(_FLOAT_ONLY.fullmatch(c) for c in cells)
    text = [i for i, c in enumerate(cells) if c and not is_number(c) and not _boolean_above_booleans(i, c, below)]
    if text:
        if fraction and not _names_above(cells, below):
            return False, "no (the first line holds text beside numbers with a fraction: a row of data)"
        if fraction:
            return True, ("yes (its text stands above numbers: column names, one of them a number, as pandas writes "
                          "a column named 0.5)")
        # (text above text, numbers above numbers: a row, as asked; a line of text only, class names
        # written without a header, only where the user asked: a later shard's is its header)
        if mode in ("no", LATER) and len(text) < len(cells) and (not below or _like_the_rows_below(cells, text, below)) \
                or mode == "no" and below and _like_the_rows_below(cells, text, below):
            return False, "no (--header no)"
        if mode != "yes" and len(text) < len(cells) and all(TIME.fullmatch(cells[i]) for i in text) and \
                _like_the_rows_below(cells, text, below) and all(TIME.fullmatch(row[i].strip()) for row in below
                                                                  for i in text):
            return False, "no (its times stand above times, its numbers above numbers: a row of data)"
        return True, "yes (a field of the first line is not a number)"
    if mode == "yes":
        return True, "yes (--header yes)"
    if mode in ("no", LATER):
        return False, "no (--header no)"
    lead = next((i for i, c in enumerate(cells) if c), len(cells))  # (blank cells: above the index's levels)
    index_cell = len(cells) > 1 and 0 < lead < len(cells)
    names = cells[lead:] if index_cell else cells
    if index_cell and all(names) and below and all(len(row) > lead and all(f.strip() for f in row[:lead])
                                                   for row in below):
        return True, INDEX_HEADER
    if not below or fraction or not all(INTEGER.fullmatch(c) for c in names) or len(set(names)) < len(names):
        return False, NUMBERS
    column = [row[0].strip() if row else "" for row in below]
    if _WHOLE.fullmatch(cells[0]) and column == [str(int(cells[0]) + i) for i in range(1, len(below) + 1)]:
        return False, "no (its first column counts on from the first line)"
    if any(_FLOAT_ONLY.fullmatch(c.strip()) for row in below for c in row[-len(names):]):
        return True, GUESSED
    if names == [str(i) for i in range(len(names))]:
        return True, GUESSED_INTEGERS
    return False, NUMBERS


def second_header_line(first: list[str], below: list[list[str]], label: str) -> str | None:
    """Why a header's next line is a second header line, as pandas writes two-level (MultiIndex)
    columns (``yhat,yhat,yhat`` above ``1,2,3``, then the index's name on a line of its own: a
    pivot), with the way to flatten them; None where it is not. Read as data, ``1,2,3`` was one
    more sample. It is one where a name repeats on the first line, the line below tells the
    repeats apart with integers or text, and the rows below those hold numbers with a fraction;
    but not where a column named once has a number on that line above numbers (``p,p,label`` above
    ``1,0,1``: a frame with a repeated name, its first row; pandas leaves a level a column lacks
    empty, ``,0,1``)."""
    from .textvalues import NA_VALUES, ONE_NUMBER

    cells = [c.strip() for c in first]
    n = len(cells)
    runs = [i for i in range(n) if cells[i] and ((i and cells[i - 1] == cells[i]) or
                                                  (i + 1 < n and cells[i + 1] == cells[i]))]
    if not runs or len(below) < 2 or len(below[0]) != n:
        return None
    second = [c.strip() for c in below[0]]
    if any(not second[i] or FRACTION.fullmatch(second[i]) or second[i] in NA_VALUES for i in runs) or \
            len({(cells[i], second[i]) for i in runs}) < len(runs):
        return None
    rest = below[1:]
    named = bool(rest) and len(rest[0]) == n and rest[0][0].strip() and not any(f.strip() for f in rest[0][1:])
    data = [row for row in rest[1:] if len(row) == n] if named else [row for row in rest if len(row) == n]
    if not any(FRACTION.fullmatch(row[i]) for row in data for i in runs):
        return None
    # a column named once with a number there above numbers, and under a repeated name numbers that do
    # not count up from 0 or 1 as a frame's columns do (1,0 under p,p): a row of data; p,p,y above
    # 0,1,0 is pd.concat({"p": frame, "y": series}, axis=1)'s header as much as a row, and stays one
    counted = all(_counts_up([second[k] for k in runs if cells[k] == name]) for name in {cells[k] for k in runs})
    for i in set(range(n)) - set(runs) if not counted else ():
        if cells[i] and ONE_NUMBER.fullmatch(second[i]) and data and \
                all(ONE_NUMBER.fullmatch(row[i].strip()) or row[i].strip() in NA_VALUES for row in data):
            return None
    index = not cells[0]
    def shown(fields: list[str]) -> str:
        return ",".join(f.strip() for f in fields[:6]) + (",..." if len(fields) > 6 else "")

    return (f"{label}: its first two lines are pandas' header of two-level (MultiIndex) columns ({shown(first)} above "
            f"{shown(below[0])})"
            f"{' and its third the index' + chr(39) + 's name' if named else ''}, where losscli reads one header line; "
            f"flatten the columns, e.g. pandas: df = pd.read_csv(f, header=[0, 1]{', index_col=0' if index else ''}); "
            "df.columns = ['_'.join(map(str, c)) for c in df.columns]; "
            f"df.to_csv(out{'' if index else ', index=False'}); or --header yes if its second line is data")


def _counts_up(fields: list[str]) -> bool:
    """Whether fields are the integers k, k+1, ... from 0 or 1 (a frame's columns as a second level),
    or text (names of a level); not numbers written otherwise (``1.0,0.0``: values)."""
    from .textvalues import ONE_NUMBER

    if not all(INTEGER.fullmatch(f) for f in fields):
        return not any(ONE_NUMBER.fullmatch(f) for f in fields)
    numbers = [int(f) for f in fields]
    return numbers[0] in (0, 1) and numbers == list(range(numbers[0], numbers[0] + len(numbers)))


def _boolean_above_booleans(i: int, cell: str, below: list[list[str]]) -> bool:
    """A first line's ``True`` (or ``False``) above a column of booleans: a value, as the ones below
    it are read (1 and 0), not a column name."""
    from .textvalues import FALSE, NA_VALUES, TRUE

    return cell in TRUE + FALSE and bool(below) and all(
        len(row) > i and (row[i].strip() in TRUE + FALSE or row[i].strip() in NA_VALUES) for row in below)


def _like_the_rows_below(cells: list[str], text: list[int], below: list[list[str]]) -> bool:
    """Whether a first line of text beside integers is a row like those below it: each of its text
    fields above text only, each of its numbers above numbers only (missing values aside), in
    every row sampled (``2024-01-01,10`` above ``2024-01-02,20``: pandas' ``to_csv(header=False)``
    of a series with dates or names for its index). A header names a column of numbers with text."""
    from .textvalues import NA_VALUES

    if not below or any(len(row) != len(cells) for row in below) or not all(cells):  # (a blank: pandas' index)
        return False
    columns = [[row[i].strip() for row in below] for i in range(len(cells))]
    present = [[v for v in values if v not in NA_VALUES] for values in columns]
    return all(present[i] and not any(is_number(v) for v in present[i]) for i in text) and \
        all(all(is_number(v) for v in present[i]) for i in range(len(cells)) if i not in text)


#: times as pandas (and polars, DuckDB, spreadsheets, ``strftime``) write them in a text file:
#: dates, datetimes with a time zone, periods of a week, a month or a quarter, ISO weeks, times of
#: day, durations, dates in the orders people write them, months by name: ``2024-01-31``,
#: ``2024/01/31``, ``2024-01-31 12:00:00+00:00``, ``2024-01-01/2024-01-07``, ``2024-01``,
#: ``2024Q1``, ``2024-W01``, ``06:00:00``, ``1 days 02:00:00``, ``31/01/2024``, ``31.01.2024``,
#: ``Jan 2024``, ``31 Jan 2024``, ``January 31, 2024``
_MONTH = r"(?i:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?"
_CLOCK = r"(?:[ T]\d\d?:\d\d(?::\d\d(?:\.\d+)?)?(?: ?(?i:[ap]m))?(?:Z|[+-]\d\d:?\d\d)?)?"
TIME = re.compile(r"\d{4}(?P<s>[-/])\d\d(?:(?P=s)\d\d" + _CLOCK + ")?"
                  r"|\d{4}-\d\d-\d\d/\d{4}-\d\d-\d\d|\d{4}Q[1-4]|\d{4}-W\d\d(-[1-7])?|\d\d:\d\d(:\d\d(\.\d+)?)?"
                  r"|-?\d+ days? [+-]?\d\d:\d\d:\d\d(\.\d+)?"
                  r"|(?:\d\d?(?P<d>[/.-])\d\d?(?P=d)\d{4}|" + _MONTH + r"[ -]\d{4}|\d\d?[ -]" + _MONTH + r"[ -]\d{4}|"
                  + _MONTH + r" \d\d?,? \d{4})" + _CLOCK)


def _names_above(cells: list[str], below: list[list[str]]) -> bool:
    """Whether every field of the first line that is text names a column below it, in every row
    sampled (missing values aside): a column of numbers (``y,0.5`` of pandas' quantile frame), or
    of times the field is not (``date,0.5``: a series named 0.5 with a named index of dates). A row
    of data with text in it (``cat,0.5``, ``2024-01-01,0.5``) has text like it below its text."""
    from .textvalues import NA_VALUES

    text = [i for i, c in enumerate(cells) if c and not is_number(c)]
    if not below or any(len(row) != len(cells) for row in below):
        return False
    columns = [(cells[i], [row[i].strip() for row in below]) for i in text]
    return all(any(v not in NA_VALUES for v in values) and (
        all(is_number(v) or v in NA_VALUES for v in values)
        or (not TIME.fullmatch(name) and all(TIME.fullmatch(v) or v in NA_VALUES for v in values)))
        for name, values in columns)


#: the header decision for a first line of numbers that is data (a row one longer than another
#: input's is then worth a hint: ``pairing.row_count_mismatch``)
NUMBERS = "no (the first line holds numbers)"
#: the header decision for a first line of distinct integers that reads 0, 1, ... (pandas' header
#: of unnamed columns) or stands above numbers with a fraction (``1,2,3`` horizons, years), and
#: does not count on down its first column: a header, or data; a note on stderr says which was taken
GUESSED = ("yes (the first line reads like pandas' header of numbered columns; --header no reads it as "
           "data)")
#: the same guess for ``0`` (``0,1,...``) above integers only: as likely a row of data (np.savetxt of
#: class labels) as pandas' header (pd.Series(y).to_csv(index=False)); when every input's first line
#: is such a guess, nothing can tell, and the run is refused (``pairing.IdGuard``)
GUESSED_INTEGERS = ("yes (the first line, 0 or 0,1,... above integers, reads like pandas' header of numbered "
                    "columns; --header no reads it as data)")
GUESSES = (GUESSED, GUESSED_INTEGERS)
#: the header decision for numbers after a blank cell (``,0,1``: pandas' numbered columns with the index)
INDEX_HEADER = "yes (pandas' header: a blank cell above each level of an index, then the column names)"
#: the decisions that take a first line of numbers for a header (a later shard of the same dataset
#: has the same kind of line: ``files.FileReader``)
NUMERIC_HEADERS = (*GUESSES, INDEX_HEADER)


def reset_index_columns(names: list[str]) -> dict[str, str]:
    """The leading columns named as pandas' ``reset_index()`` names an unnamed index (``index``;
    ``level_0``, ``level_1``, ... of a MultiIndex) beside other columns: pandas' index, whose
    order the other inputs are checked against (``pairing.IdGuard``)."""
    out = {}
    for name in names[:-1]:
        low = name.strip().lower()
        if low != "index" and not re.fullmatch(r"level_\d+", low):
            break
        out[name] = f"pandas' index (a column named {name!r}, as reset_index() names an unnamed index)"
    return out


def first_column_index(names: list[str], header: bool, below: list[list[str]]) -> str | None:
    """Why the first column of a text file is an index (pandas') and not data, or None. ``below``:
    the fields of the first data lines (a sample)."""
    if len(names) < 2:
        return None
    column = [row[0].strip() for row in below if row]
    if len(column) < 3 or not all(_WHOLE.fullmatch(v) for v in column):
        return None
    if header:  # a named first column is data (an id by its name: ``is_id_name``), but for one that
        # counts on by one before columns pandas numbered 0, 1, 2, ...: pd.DataFrame(a).rename_axis(name)
        first = int(column[0])
        if names[1:] == [str(i) for i in range(len(names) - 1)] and not is_unnamed(names[0]) \
                and column == [str(first + i) for i in range(len(column))]:
            return (f"pandas' index (a first column {names[0]!r} that counts on by one, before columns numbered "
                    "0, 1, 2, ...: to_csv() of a frame with a named index)")
        if range_index(column) and not is_id_name(names[0]) and all(is_id_name(n) for n in names[1:]):
            return (f"a row number (a first column {names[0]!r} that counts 0, 1, 2, ... beside id columns only, "
                    "one of which is the data)")
        return None
    if range_index(column):
        return "pandas' index (a first column that counts 0, 1, 2, ... in a file without a header)"
    others = [v.strip() for row in below for v in row[1:]]
    if len(set(column)) == len(column) and any(_FLOAT_ONLY.fullmatch(v) for v in others):
        return ("pandas' index (in a file without a header, a first column of distinct integers beside "
                "values that are not integers)")
    return None


def counting_column(names: list[str], header: bool, below: list[list[str]], features: bool) -> str | None:
    """A named first column that counts on by one (0, 1, 2, ... or 1, 2, 3, ...) before columns of
    numbers with fractions, not an id by its name: as likely pandas' named index (``to_csv()`` of a
    series or frame whose index has a name) as data (``step,pred``), so it is data, but not beside
    other data columns without a selector (``table.Source.suspects``). Returns what it counts
    (``0, 1, 2, ...``), or None. A table of ``features`` (fit) reads it as a feature."""
    if not _may_count(names, features) or not header:
        return None
    column = [row[0].strip() for row in below if row]
    others = [row[1:] for row in below if len(row) == len(names)]
    if len(column) < 3 or not all(_WHOLE.fullmatch(v) for v in column) or not others:
        return None
    first = int(column[0])
    if column != [str(first + i) for i in range(len(column))] or \
            not all(any(FRACTION.fullmatch(row[k]) for row in others) for k in range(len(names) - 1)):
        return None
    return _counting(first)


def counting_values(names: list[str], columns: list, features: bool) -> str | None:
    """:func:`counting_column` of a Parquet/Arrow table's first rows (``columns``: each column's
    values as numbers, None for text): a first column of integers that counts on by one before
    columns of numbers with fractions (``row_number() OVER ()`` of DuckDB, polars'
    ``with_row_index('row_nr')``, before the logits)."""
    import numpy as np

    if not _may_count(names, features) or any(c is None for c in columns):
        return None
    column = columns[0]
    if column.ndim != 1 or len(column) < 3 or not np.all(np.isfinite(column)) or column[0] != int(column[0]) or \
            not np.array_equal(column, column[0] + np.arange(len(column))):
        return None
    with np.errstate(invalid="ignore"):
        if not all(np.any(np.isfinite(c) & (c != np.round(c))) for c in columns[1:]):
            return None
    return _counting(int(column[0]))


def _may_count(names: list[str], features: bool) -> bool:
    return not features and len(names) > 1 and not is_id_name(names[0]) and not is_unnamed(names[0])


def _counting(first: int) -> str:
    return f"{first}, {first + 1}, {first + 2}, ..."


#: a number with a fraction or an exponent, as written (not ``1.0``: an integer written as a float)
FRACTION = re.compile(r"\s*[+-]?(?:(?:\d*\.\d+|\d+\.\d*|\d+)[eE][+-]?\d+|\d*\.\d*[1-9]\d*)\s*")
_FLOAT_ONLY = re.compile(r"[+-]?(?:\d*\.\d*(?:[eE][+-]?\d+)?|\d+[eE][+-]?\d+|(?i:inf|infinity|nan))")


def is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def range_index(values: list[str]) -> bool:
    """Fields that read 0, 1, 2, ... (pandas' default index)."""
    return bool(values) and [v.strip() for v in values] == [str(i) for i in range(len(values))]


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


def pandas_range(metadata: dict | None) -> tuple[str | None, int, int] | None:
    """The RangeIndex, named or not, pandas keeps in a Parquet/Arrow schema's metadata only (no
    column): (name, start, step); None for another index or none."""
    if not metadata or b"pandas" not in metadata:
        return None
    try:
        found = json.loads(metadata[b"pandas"]).get("index_columns", [])
    except (ValueError, UnicodeDecodeError, AttributeError):
        return None
    if len(found) != 1 or not isinstance(found[0], dict) or found[0].get("kind") != "range":
        return None
    name, start, step = (found[0].get(k) for k in ("name", "start", "step"))
    if not isinstance(start, int) or not isinstance(step, int) or step == 0:
        return None
    return name, start, step


def column_names(fields: list[str]) -> list[str]:
    """Column names by pandas' rules (its C parser's): stripped, a blank one is 'Unnamed: i', a
    repeated one gets '.1', '.2', ..., skipping any name the header itself holds (``a,a,a.1`` is
    a, a.2, a.1), so a file pandas wrote reads with the names pandas gives it. A CSV header's
    fields, and an Arrow schema's names (pyarrow writes ``p, p`` without a word) alike."""
    header = [raw.strip() or f"Unnamed: {i}" for i, raw in enumerate(fields)]
    names = list(header)
    counts: dict[str, int] = {}
    # the named columns first, then the unnamed ones: a given name keeps its spelling
    for i in sorted(range(len(header)), key=lambda i: not fields[i].strip()):
        name = header[i]
        seen = counts.get(name, 0)
        if seen:
            base = name
            while seen:
                counts[base] = seen + 1
                name = f"{base}.{seen}"
                seen = seen + 1 if name in header else counts.get(name, 0)
        counts[name] = seen + 1
        names[i] = name
    return names
