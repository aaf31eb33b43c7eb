"""Where a piece of CSV text the parser refused stops being a table: an unclosed quote, a row
with the wrong number of fields, or a line the csv module cannot split. Only the error path
comes here; lines are counted from the piece's first line."""

from __future__ import annotations

import csv
import io
import re
from typing import Any, Iterable, Iterator

QUOTE = b'"'
#: the delimiter of whitespace-separated text (np.savetxt's spaces, tabs): a run of them
WHITESPACE = r"\s+"


class ParseError(Exception):
    """A piece that is not a table: ``line`` is 1-based within the piece (None if unknown);
    ``kind`` is ``fields`` (then ``expected``/``found`` say how many), ``quote``, or ``split``
    (the csv module could not split the line: ``why``); ``fields`` the line's fields."""

    def __init__(self, kind: str, line: int | None, expected: int = 0, found: int = 0, why: str = "",
                 fields: tuple[str, ...] = ()):
        super().__init__(kind)
        self.kind, self.line, self.expected, self.found, self.why = kind, line, expected, found, why
        self.fields = fields


def locate(data: bytes, sep: str, ncols: int) -> ParseError:
    """Where a piece Arrow refused stops being a table: an unclosed quote, or the first row with
    the wrong number of fields (blank lines are fine)."""
    if data.count(QUOTE) % 2:
        quoted, opened = False, None
        for number, line in enumerate(data.split(b"\n"), 1):
            if line.count(QUOTE) % 2:
                quoted = not quoted
                opened = number if quoted else None
        return ParseError("quote", opened)
    text = data.decode("utf-8", errors="replace")
    if '"' not in text:  # (split by hand: the csv module refuses a field over 131072 characters)
        rows: Iterable[tuple[int, list[str]]] = ((at, line.split(sep)) for at, line in enumerate(_LINES.split(text), 1))
    else:
        rows = _quoted_rows(text, sep)
    for at, fields in rows:
        if isinstance(fields, csv.Error):
            return ParseError("split", at, why=str(fields))
        if len(fields) > 1 and len(fields) != ncols or len(fields) == 1 and fields[0].strip() and ncols != 1:
            return ParseError("fields", at, ncols, len(fields), fields=tuple(fields))
    return ParseError("fields", None, ncols, 0)


_LINES = re.compile(r"\r\n|\r|\n")


def _quoted_rows(text: str, sep: str) -> Iterator[tuple[int, Any]]:
    """(the line each row starts on, its fields) by the csv module's quoting rules; the last
    one is (line, the csv.Error) if the module cannot split a line."""
    reader, at = csv.reader(io.StringIO(text, newline=""), delimiter=sep), 1
    try:
        for fields in reader:
            yield at, fields
            at = reader.line_num + 1
    except csv.Error as exc:
        yield at, exc
