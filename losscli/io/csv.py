"""Delimited text (CSV, TSV, TXT): delimiter sniffed (comma, tab, semicolon, pipe, whitespace),
header detected (a first line with any non-numeric field is a header), UTF-8 with or without BOM,
CRLF; cut into pieces at line ends and parsed on a thread pool by pandas' C parser
(``textparse.py``), then regrouped into blocks of exactly the rows asked for. Without a selector
a table contributes its numeric columns; a column is *text* when its first value is not a number,
and a column that starts numeric but holds a non-number is an error naming the line and column.
Blank lines inside the data are missing values; blank lines at the end are not data.
"""

from __future__ import annotations

import io
import re
from collections import deque
from typing import Iterator

import numpy as np

from ..errors import InputError
from .table import Source

_DELIMITERS = (",", "\t", ";", "|")


def _decode_error(raw: bytes, label: str) -> InputError | None:
    try:
        raw.decode("utf-8-sig")
        return None
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return InputError(f"{label}, line {line}: not UTF-8 text (byte 0x{raw[exc.start]:02x}); "
                          "expected a UTF-8 CSV file")


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def sniff_delimiter(lines: list[str]) -> str | None:
    """The delimiter that splits the first lines into the same number (> 1) of fields."""
    best, best_fields = None, 1
    for d in _DELIMITERS:
        counts = {line.count(d) for line in lines}
        if len(counts) == 1 and (n := counts.pop()) + 1 > best_fields:
            best, best_fields = d, n + 1
    if best is None:
        if all(len(line.split()) == len(lines[0].split()) > 1 for line in lines):
            return r"\s+"
        for d in _DELIMITERS:  # inconsistent counts: let the parser report the ragged line
            if d in lines[0]:
                return d
    return best


def text_blocks(opener, label, chunk_rows, dtype, head) -> Iterator[Source]:
    import pandas as pd  # heavy: imported only when a text table is read

    from . import textparse

    if b"\x00" in head[:8192]:
        raise InputError(f"{label}: looks like a binary file (NUL bytes), expected CSV text")
    text = head.decode("utf-8-sig", errors="ignore")  # for sniffing only
    lines = text.splitlines()
    if len(head) == 65536:
        lines = lines[:-1]  # the last line may be cut
    lines = [ln for ln in lines[:50] if ln.strip()]
    if not lines:
        raise InputError(f"{label}: empty file (no data rows)")
    sep = sniff_delimiter(lines) or ","
    first = re.split(sep, lines[0].strip()) if sep == r"\s+" else lines[0].split(sep)
    has_header = any(f.strip() != "" and not _is_number(f.strip()) for f in first)
    try:
        with opener() as fh:
            names, first_line, rest = _text_preamble(fh, label, sep, has_header)
            pieces = textparse.parse_pieces(textparse.file_pieces(fh, fh.tell() - len(rest)), sep, len(names))
            yield from _row_blocks(pieces, chunk_rows, names, label, first_line, dtype, sep)
    except InputError:
        raise
    except pd.errors.EmptyDataError:
        raise InputError(f"{label}: empty file (no data rows)") from None
    except UnicodeDecodeError:
        with opener() as fh:
            err = _decode_error(fh.read(), label)
        raise err or InputError(f"{label}: not UTF-8 text; expected a UTF-8 CSV file") from None


def _text_preamble(fh, label: str, sep: str, has_header: bool) -> tuple[list[str], int, bytes]:
    """(column names, file line of the first data row, the bytes read past the header). Names
    come from the header (pandas' rules: duplicates get .1, blanks 'Unnamed: i'), or are the
    0-based indices of the fields of the first non-blank line."""
    import pandas as pd

    data = fh.read(65536)
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    start = len(data) - len(data.lstrip(b" \t\r\n"))  # leading blank lines
    start = data.rfind(b"\n", 0, start) + 1
    while b"\n" not in data[start:]:  # a first line longer than what was read
        more = fh.read(65536)
        if not more:
            break
        data += more
    end = data.find(b"\n", start) + 1 or len(data)
    line = data[start:end]
    kw = dict(sep=sep, engine="c", skipinitialspace=True, encoding="utf-8")
    at = data[:start].count(b"\n") + 1  # the file line of the header / first data line
    try:
        if has_header:
            columns = pd.read_csv(io.BytesIO(line), header=0, nrows=0, **kw).columns
            return [str(c).strip() for c in columns], at + 1, data[end:]
        width = pd.read_csv(io.BytesIO(line), header=None, **kw).shape[1]
    except pd.errors.ParserError as exc:
        raise _parser_error(exc, label, at, sep) from None
    return [str(i) for i in range(width)], 1, data


def _row_blocks(pieces, chunk_rows, names, label, first_line, dtype, sep) -> Iterator[Source]:
    """Parsed pieces regrouped into blocks of exactly chunk_rows rows (the last one shorter;
    None: one block), so every input of a lockstep read cuts its blocks at the same rows."""
    import pandas as pd

    buffered: deque = deque()
    have = offset = parsed = 0

    def take(k: int) -> list[np.ndarray]:
        parts: list[list] = [[] for _ in names]
        while k:
            cols = buffered[0]
            n = cols[0].shape[0]
            if n <= k:
                buffered.popleft()
            else:
                buffered[0] = [c[k:] for c in cols]
                cols = [c[:k] for c in cols]
            for part, c in zip(parts, cols):
                part.append(c)
            k -= min(n, k)
        return [p[0] if len(p) == 1 else np.concatenate(p) for p in parts]

    try:
        for cols in pieces:
            n = cols[0].shape[0]
            parsed += n
            buffered.append(cols)
            have += n
            while chunk_rows and have >= chunk_rows:
                yield _columns_block(take(chunk_rows), names, label, first_line, offset, dtype)
                offset += chunk_rows
                have -= chunk_rows
    except pd.errors.ParserError as exc:
        raise _parser_error(exc, label, first_line + parsed, sep) from None
    if have:
        yield _columns_block(take(have), names, label, first_line, offset, dtype)


def _parser_error(exc, label: str, line0: int, sep: str) -> InputError:
    """pandas' message, with the line counted from the piece that failed (line0 is its first
    line in the file)."""
    text = str(exc)
    m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", text)
    if m:
        return InputError(f"{label}, line {line0 + int(m.group(2)) - 1}: expected {m.group(1)} fields, "
                          f"found {m.group(3)} (ragged rows, or a delimiter other than {sep!r})")
    m = re.search(r"EOF inside string starting at row (\d+)", text)
    if m:
        return InputError(f"{label}, line {line0 + int(m.group(1))}: a quoted field is never closed")
    return InputError(f"{label}: cannot parse as CSV ({text.strip()})")


def _columns_block(cols, names, label, first_line, offset, dtype) -> Source:
    src = Source(label, cols[0].shape[0], first_line=first_line, order=names, row_offset=offset)
    for name, col in zip(names, cols):
        if col.dtype.kind in "biuf":
            src.columns[name] = col.astype(dtype, copy=False)
            continue
        import pandas as pd

        values = np.asarray(pd.to_numeric(col, errors="coerce"), dtype=np.float64)
        present = ~pd.isna(col)
        bad = np.isnan(values) & present
        firsts = np.flatnonzero(present)
        if firsts.size and bad[firsts[0]]:  # starts with a non-number: a text column
            src.text_columns[name] = str(col[firsts[0]])
            continue
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise InputError(f"{label}, line {offset + row + first_line}, column {name!r}: expected a "
                             f"number, found {str(col[row])!r}")
        from .textparse import exact_floats

        if not exact_floats():  # pandas < 3.1: to_numeric's converter is not round-trip, Python's is
            values[present] = [float(v) for v in col[present]]
        src.columns[name] = values.astype(dtype, copy=False)
    return src


