"""Delimited text (CSV, TSV, TXT): delimiter and comment lines sniffed (``sniff.py``),
header detected (a first line with any non-numeric field is a header), UTF-8 with or without BOM,
CRLF; cut into pieces at line ends and parsed on a thread pool by Arrow's CSV reader
(``textparse.py``), then regrouped into blocks of exactly the rows asked for. Without a selector
a table contributes its numeric columns; a column is *text* when its first value is not a number,
and a column that starts numeric but holds a non-number is an error naming the line and column.
Blank lines inside the data are missing values; blank lines at the end are not data, but in a file
of one column, where each is a missing value (polars and DuckDB write one so); a row with too few
or too many fields is an error naming its line.
"""

from __future__ import annotations

import io
import re
from collections import deque
from dataclasses import dataclass, field
from functools import partial
from typing import Iterator

import numpy as np

from ..arrays import Lines
from ..errors import InputError
from .buffers import as_dtype
from .filtered import Filtered
from .hints import numeric_text_hint, refuse_decimal_commas
from .kinds import first_present
from .rules import (NUMBERS, ReadRules, column_names, counting_column, first_column_index, header_decision,
                    key_columns, level_columns, reset_index_columns, second_header_line, slice_columns, unnamed_index)
from .sniff import COMMENT_HEADER, EXCEL_SEP, comments, delimiter, records, sniffing_head, split_fields, uncomment
from .table import Source, wanted_columns

#: what a file in another encoding (Latin-1, Windows-1252: to_csv(encoding='latin-1')) is told
_REENCODE = ("expected a UTF-8 CSV file: re-encode it from the encoding it was written in (Latin-1: iconv -f "
             "LATIN1 -t UTF-8, or pandas: pd.read_csv(f, encoding='latin-1').to_csv(out, index=False))")


def _decode_error(fh, label: str) -> InputError | None:
    """The first byte of ``fh`` that is not UTF-8, with its line; read in 1 MB pieces (a file of
    gigabytes is not held whole to find it)."""
    line, carry = 1, b""
    while True:
        chunk = fh.read(2**20)
        data = carry + chunk
        try:
            data.decode("utf-8")
            carry = b""
        except UnicodeDecodeError as exc:
            if chunk and exc.reason == "unexpected end of data":  # (a character cut by the piece's end)
                carry = data[exc.start:]
                data = data[:exc.start]
            else:
                line += data[: exc.start].count(b"\n")
                return InputError(f"{label}, line {line}: not UTF-8 text (byte 0x{data[exc.start]:02x}); {_REENCODE}")
        line += data.count(b"\n")
        if not chunk:
            return None


def text_blocks(opener, label, chunk_rows, dtype, head, wanted=None, rules: ReadRules = ReadRules(),
                window=None) -> Iterator[Source]:
    """``window``: only those rows (a :class:`~losscli.io.windows.Window` of a local file)."""
    from . import textparse

    if b"\x00" in head[:8192]:
        raise InputError(f"{label}: looks like a binary file (NUL bytes), expected CSV text")
    head, whole = sniffing_head(opener, head)
    if b"\n" not in head and (_LONE_CR.search(head[:-1]) or whole and head.endswith(b"\r")):
        # classic Mac OS line ends (CR only), as pandas reads them
        opener, head = _cr_to_lf(opener), head.replace(b"\r", b"\n")
    text = head.decode("utf-8-sig", errors="ignore")  # for sniffing only
    lines = text.splitlines()
    if not whole and not head.endswith(b"\n"):
        lines = lines[:-1]  # the last line may be cut
    lines = [ln for ln in records(lines, whole) if ln.strip()]
    if not lines:
        raise InputError(f"{label}: empty file (no data rows)")
    skip, comment = comments(lines)
    # Excel's delimiter hint (``sep=;``, the first line of a CSV Excel exports for another locale)
    hint = EXCEL_SEP.fullmatch(lines[0]) if not skip and len(lines) > 1 else None
    skip += hint is not None
    lines = lines[skip:]
    if comment:
        lines[0] = uncomment(lines[0])
    sep = hint.group(1) if hint else delimiter(lines, label)
    first, below = split_fields(lines[0], sep, label), _sample_rows(lines[1:], sep, label)
    has_header, decision = (True, COMMENT_HEADER) if comment else header_decision(first, below, rules.header)
    levels = second_header_line(first, below, label) if has_header and rules.header != "yes" else None
    if levels is not None:
        raise InputError(levels)
    if not has_header and sep == "," and wanted is None:  # (a selector names columns: the user's word)
        refuse_decimal_commas(lines, label)
    implicit_index = has_header and bool(below) and all(len(row) == len(first) + 1 for row in below)
    if implicit_index:
        _check_implicit_index(first, below, label, sep)
    try:
        with opener() as fh:
            names, first_line, rest = _text_preamble(fh, sep, has_header, implicit_index, label, skip, comment)
            # (blank lines at the end of a file of one column are missing values, as polars and DuckDB
            # write a missing value: a line with nothing on it; in other files they are not data)
            tail = len(names) == 1
            if window is not None:  # rows [start, stop) of a local file (the planner cut only those)
                from .windows import byte_range

                begin, end = byte_range(fh, window, first_line)
                raw = textparse.file_pieces(fh, max(begin, fh.tell() - len(rest)), stop=end, blank_tail=tail)
            elif isinstance(fh, (io.BufferedReader, io.FileIO)):  # a local file: cut from a memory map
                raw = textparse.file_pieces(fh, fh.tell() - len(rest), blank_tail=tail)
            else:  # standard input, a URL, a decompressing stream: read on from what the header left
                raw = textparse.line_pieces(fh, rest, blank_tail=tail)
            rows = below if has_header else [first, *below]  # the first data lines
            index = _index_columns(names, implicit_index, rules, first_column_index(names, has_header, rows))
            keys = key_columns(names, index)
            try:
                chosen = wanted_columns(wanted, names, label, extra=keys)
            except InputError as exc:
                raise _header_hint(exc, wanted, first, decision) from None
            include = None if wanted is None else [names.index(n) for n in chosen]
            pieces = textparse.parse_pieces(raw, sep, len(names), include, keys=[names.index(n) for n in keys],
                                            categories=[names.index(n) for n in rules.by if n in names])
            counts = None if index else counting_column(names, has_header, rows, rules.features)
            layout = _Layout(names, chosen, label, Lines(first_line), dtype, index, set(keys), decision, frozenset(rules.by),
                             {names[0]: counts} if counts else {}, sep)
            yield from _row_blocks(pieces, chunk_rows, layout, sep, 0 if window is None else window.start)
    except (UnicodeDecodeError, textparse.Utf8Error):
        try:
            with opener() as fh:
                err = _decode_error(fh, label)
        except (InputError, OSError):  # (standard input, a pipe: read once, it cannot be read again for the line)
            err = None
        raise err or InputError(f"{label}: not UTF-8 text; {_REENCODE}") from None


def _header_hint(exc: InputError, wanted, first: list[str], decision: str) -> InputError:
    """A selector naming a field of a first line read as data (``:0.5`` of a file whose first line
    is ``0.1,0.5,0.9``): the error says how to read that line as the header."""
    fields = {f.strip() for f in first}
    if decision != NUMBERS or not any(part.strip() in fields for sel in wanted or () for part in sel.split(",")):
        return exc
    return InputError(f"{exc}; its first line, all numbers, was read as data: --header yes reads it as the header")


@dataclass
class _Layout:
    """What every block of a text file shares: its columns, the ones converted, where its data
    starts, its index and key columns, and the header decision."""

    names: list[str]
    chosen: list[str]
    label: str
    first_line: Lines  # the file line of each data row
    dtype: type
    index: dict[str, str]
    keys: set[str]
    header: str
    slices: frozenset = frozenset()  # --by columns: keys, but data by the usual rules when named as data
    suspects: dict = field(default_factory=dict)  # a first column that counts like pandas' index (rules.counting_column)
    sep: str = ","  # the delimiter


def _index_columns(names: list[str], implicit_index: bool, rules: ReadRules, first: str | None) -> dict[str, str]:
    """The columns that are an index, not data (unless a selector names them). ``first``: why the
    first column is one (``rules.first_column_index``), if it is."""
    index = {n: "pandas' index (an unnamed column)" for n in unnamed_index(names)} or reset_index_columns(names)
    index.update(level_columns(names))
    if implicit_index:
        index[names[0]] = "pandas' index (every row has one field more than the header)"
    elif first is not None and not index:
        index[names[0]] = first
    if rules.on is not None and rules.on in names:
        index[rules.on] = "the --on key"
    index.update(slice_columns(names, rules, index))
    return index


def _sample_rows(lines: list[str], sep: str, label: str) -> list[list[str]]:
    """The fields of the lines after the first, up to one the csv module cannot split (a field over
    its limit: the parser names that line when it reaches it)."""
    rows = []
    for line in lines:
        try:
            rows.append(split_fields(line, sep, label))
        except InputError:
            break
    return rows


def _check_implicit_index(first: list[str], below: list[list[str]], label: str, sep: str) -> None:
    """Rows with one field more than the header are read as pandas reads them (the first field
    is the index: ``to_csv(index_label=False)``) when those first fields are distinct integers
    >= 0; not when every other field is digits only under a comma (``1,000``: more likely a
    thousands or decimal separator), nor anything else."""
    index = [row[0].strip() for row in below]
    separated = sep == "," and all(f.strip().isdigit() for row in below for f in row[1:])
    if all(v.isdigit() for v in index) and len(set(index)) == len(index) and not separated:
        return
    what = f"{len(first) + 1} fields under a header of {len(first)} ({', '.join(first)})"
    if separated:
        sample = ",".join(below[0])
        # (three digits after every comma: thousands, 1,000; else a decimal comma, 3,84; the file's one
        # column is read whole with a delimiter it does not hold)
        kind = "thousands=','" if all(len(f.strip()) == 3 for row in below for f in row[1:]) else "decimal=','"
        raise InputError(f"{label}, line 2: {what}: if {sample!r} is one number written with a thousands or "
                         "decimal separator, losscli does not read those (write plain numbers, e.g. pandas: "
                         f"pd.read_csv(f, sep=';', {kind}).to_csv(out, index=False)); if the first field is an "
                         "index, give it a header cell")
    raise InputError(f"{label}, line 2: {what}: if the first field is an index, give it a header cell "
                     "(pandas: to_csv() without index_label=False)")


_LONE_CR = re.compile(rb"\r(?!\n)")
_LINE_END = re.compile(rb"\r\n|\r|\n")


def _cr_to_lf(opener):
    """An opener whose files read CR line ends as LF (the same length: offsets stay right)."""
    return lambda: Filtered(opener(), lambda inner, n: inner.read(n).replace(b"\r", b"\n"))


def _text_preamble(fh, sep: str, has_header: bool, implicit_index: bool = False, label: str = "input",
                   skip: int = 0, comment: bool = False) -> tuple[list[str], int, bytes]:
    """(column names, file line of the first data row, the bytes read past the header). Names
    come from the header, or are the 0-based indices of the fields of the first non-blank line
    after ``skip`` comment lines (``comment``: the header is a comment line, np.savetxt's).
    Lines end at LF, CRLF or a lone CR, as pandas' parser ends them."""
    data = fh.read(65536)
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    start = 0
    for k in range(skip + 1):
        start = start + len(data[start:]) - len(data[start:].lstrip(b" \t\r\n"))  # blank lines
        start = max(data.rfind(b"\n", 0, start), data.rfind(b"\r", 0, start)) + 1
        # read on while the line is longer than what was read, or its CR may be a CRLF's
        while (found := _LINE_END.search(data, start)) is None or found.end() == len(data) and data.endswith(b"\r"):
            more = fh.read(65536)
            if not more:
                break
            data += more
        end = found.end() if found else len(data)
        if k < skip:
            start = end
    line = data[start:end].decode("utf-8").rstrip("\r\n")
    fields = split_fields(uncomment(line) if comment else line, sep, label)
    at = len(_LINE_END.findall(data, 0, start)) + 1  # the file line of the header / first data line
    if has_header:
        return column_names([""] * implicit_index + fields), at + 1, data[end:]
    return [str(i) for i in range(len(fields))], at, data[start:] if skip else data


def _row_blocks(pieces, chunk_rows, layout: _Layout, sep, first_row: int = 0) -> Iterator[Source]:
    """Parsed pieces regrouped into blocks of exactly chunk_rows rows (the last one shorter;
    None: one block), so every input of a lockstep read cuts its blocks at the same rows.
    ``first_row``: the data row the pieces begin at (a window of the file)."""
    from .textlocate import ParseError
    from .textparse import concat

    buffered: deque = deque()
    have = 0
    offset = parsed = first_row

    def take(k: int) -> list:
        parts: list[list] = [[] for _ in layout.chosen]
        while k:
            cols = buffered[0]
            n = len(cols[0])
            if n <= k:
                buffered.popleft()
            else:
                buffered[0] = [c[k:] for c in cols]
                cols = [c[:k] for c in cols]
            for part, c in zip(parts, cols):
                part.append(c)
            k -= min(n, k)
        return [concat(p) for p in parts]

    try:
        for cols, quoted_line_ends in pieces:
            if quoted_line_ends is not None:  # (rows of several lines: a text with a line end in it)
                layout.first_line.add(parsed + quoted_line_ends[0], quoted_line_ends[1])
            n = len(cols[0])
            parsed += n
            buffered.append(cols)
            have += n
            while chunk_rows and have >= chunk_rows:
                yield _columns_block(take(chunk_rows), layout, offset)
                offset += chunk_rows
                have -= chunk_rows
    except ParseError as exc:
        raise _parser_error(exc, layout.label, layout.first_line.line(parsed), sep) from None
    if have:
        yield _columns_block(take(have), layout, offset)


def _parser_error(exc, label: str, line0: int, sep: str) -> InputError:
    """What is wrong with a piece, at its line in the file (line0: the piece's first line)."""
    where = f"{label}, line {line0 + exc.line - 1}" if exc.line is not None else label
    if exc.kind == "quote":
        return InputError(f"{where}: a quoted field is never closed")
    if exc.kind == "split":
        return InputError(f"{where}: cannot split into fields ({exc.why})")
    if len(exc.fields) == 1 and (hint := numeric_text_hint(exc.fields[0], sep)):  # (a Ctrl-Z line, 1,5 beside ,)
        return InputError(f"{where}: found {exc.fields[0]!r}; {hint}")
    return InputError(f"{where}: expected {exc.expected} fields, found {exc.found} (ragged rows, or a "
                      f"delimiter other than {sep!r})")


def _columns_block(cols, layout: _Layout, offset: int) -> Source:
    label, first_line = layout.label, layout.first_line
    src = Source(label, len(cols[0]), first_line=first_line, order=layout.names, row_offset=offset,
                 index=layout.index, header=layout.header, suspects=layout.suspects, sep=layout.sep)
    for name, col in zip(layout.chosen, cols):
        if name in layout.keys:  # read as text; as numbers only if a selector names it
            src.keys[name] = col
            src.pending[name] = partial(_column, src, layout, offset, name, col)
            continue
        _column(src, layout, offset, name, col)
    return src


def _column(src: Source, layout: _Layout, offset: int, name: str, col) -> None:
    """One parsed column into the block: numbers, or a text column (its first value and where)."""
    from .textparse import plain_text
    from .textvalues import FALSE, TRUE, Booleans, Text, classify

    from .buffers import floats

    label, lines = layout.label, layout.first_line
    if not isinstance(col, np.ndarray):
        col = plain_text(col)  # (a --by column, read as a dictionary, named as data too)
    values = col if isinstance(col, np.ndarray) else floats(col) if str(col.type) == "int64" else classify(col)
    if not isinstance(values, Text):
        _kind(src, name, col, "booleans" if isinstance(values, Booleans) else "numbers",
              values.values if isinstance(values, Booleans) else values)
    if isinstance(values, Booleans):
        src.booleans.add(name)
        values = values.values
    if isinstance(values, Text):
        if values.row is None or name in layout.keys - layout.slices:  # starts with a non-number: a text column
            src.text_columns[name], src.text_rows[name] = values.first, values.at
            src.text_values[name] = col
            return
        if values.first in TRUE + FALSE:
            raise InputError(f"{label}, line {lines.line(offset + values.row)}, column {name!r}: expected a "
                             f"boolean (True or False), found {values.value!r} (the lines above hold booleans: a "
                             "column of numbers and booleans is neither)")
        why = (" (the lines above hold numbers: a column of numbers and booleans is neither)"
               if values.value in TRUE + FALSE else src.hint(name, values.value))
        raise InputError(f"{label}, line {lines.line(offset + values.row)}, column {name!r}: expected a "
                         f"number, found {values.value!r}{why}")
    src.columns[name] = as_dtype(values, layout.dtype, lambda row: f"{label}, line {lines.line(offset + row)}, "
                                                                   f"column {name!r}")


def _kind(src: Source, name: str, col, kind: str, values: np.ndarray) -> None:
    """What a column of the block holds, "numbers" or "booleans", where its first present value is
    and how it is written (``src.kinds``: the reader refuses a later block, or shard, of the other
    kind, ``kinds.KindGuard``); nothing when every value is missing."""
    row = first_present(values)
    if row is not None:
        src.of_kind(name, kind, row, str(col[row].as_py()).strip() if not isinstance(col, np.ndarray)
                    else repr(float(col[row])))