"""Delimited text parsed on a thread pool, in file order, with public parser APIs only.

A file is cut into pieces of about ``PIECE_BYTES`` at line ends (never inside a quoted field,
never before a run of blank lines that may turn out to be the end of the file); each piece is
parsed by Apache Arrow's CSV reader (``pyarrow.csv.read_csv``, which converts every value with a
correctly rounded parser and releases the GIL) on a small pool of threads while the caller works
on the pieces before it: the pieces of one file, or of the two files of a ``compute`` run, are
parsed on every core of one process. Whitespace-delimited text (``\\s+``, which Arrow has no
delimiter for) is read with one space as the delimiter, runs of spaces and tabs made one first
where there are any. A large file of one column skips the tokeniser while its pieces are plain
numbers, one a line: each line goes through the same float parser by Arrow's cast
(``_number_lines``), from the ``SHORTCUT_AFTER``-th piece on.

What a piece gives, per column: a float64 array when every value is a number or missing, else
the column as an Arrow string array, which ``textvalues.classify`` turns into numbers (quoted numbers,
``True``/``False``), a text column (its first value is not a number) or the first cell that is
not a number. Missing: an empty field, whitespace, or one of pandas' NA spellings
(``NA_VALUES``). A blank line inside the data is a row of missing values; a row with too few or
too many fields is an error (``textlocate.ParseError``, its line counted from the piece).

``csv.py`` decides what a file is (delimiter, header, names); this module only turns bytes into
columns.
"""

from __future__ import annotations

import io
import mmap
import os
import re
import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Iterator

import numpy as np

from .buffers import floats
from .textlines import quoted_line_ends
from .textlocate import QUOTE, WHITESPACE, locate
from .textvalues import NA_VALUES

#: bytes per parsed piece: large enough to amortise a parse call (~100,000 rows of one number),
#: small enough that the pieces in flight (``AHEAD`` per file) stay a few MB (10M-row pair: 1 MB
#: pieces 1.50 s / 110 MB, 2 MB 1.33 s / 127 MB, 4 MB 1.29 s / 185 MB)
PIECE_BYTES = 2 * 2**20
#: pieces of one file parsed ahead of the one being consumed
AHEAD = 4
#: pieces of a file read by the CSV reader before one number a line may take the shortcut
#: (``_number_lines``): it imports pyarrow.compute (50 ms, 8 MB), and saves ~1.7 ms a piece
SHORTCUT_AFTER = 16
_BLANK = b" \t\r\n"
#: in the set of a file's text columns: its pieces look up every NA spelling, not only ""
ALL_NA = "(all NA spellings)"
#: in the set of a file's text columns: a piece was not plain numbers, one per line (``_number_lines``)
NOT_PLAIN = "(not plain numbers)"

_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None
_threads: int | None = None  # the pool's size (see use_threads)

#: a piece of text (ending at a line end) and whether it holds a quote character
Piece = tuple[memoryview, bool]


class Utf8Error(Exception):
    """A piece that is not UTF-8 text (the caller finds the byte and its line)."""


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=_threads or max(1, min(os.cpu_count() or 1, 8)),
                                       thread_name_prefix="losscli-parse")
        return _pool


def use_threads(n: int | None) -> None:
    """Parse on ``n`` threads from now on (None: one per core, up to 8): a Dask worker's share."""
    global _pool, _threads
    with _lock:
        if n != _threads:
            if _pool is not None:
                _pool.shutdown(wait=False)
            _pool, _threads = None, n


def _names(ncols: int) -> list[str]:
    return [f"c{i}" for i in range(ncols)]


def _arrow_piece(piece, quoted: bool, sep: str, ncols: int, text: set, include=None, keys=frozenset(),
                 categories=frozenset()) -> list[Any]:
    """One piece through Arrow: every column read as float64 except those known to hold text
    (``text``, shared by the pieces of a file); a column that turns out to hold text is read
    again as strings, and remembered. ``include``: the indices of the columns to convert (None:
    all); the others are only counted. ``keys``: names of key columns, read as int64 (an Arrow
    array) unless they hold something else, then as strings; those among ``categories`` (slice
    keys, few distinct values) always as text, exactly as written, in Arrow dictionaries (which the
    parser builds faster than strings): one key reads the same in every piece and shard."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    names = _names(ncols)
    data = piece  # parsed where it lies (a memory map's pages, a read buffer): no copy
    if quoted and bytes(piece).count(QUOTE) % 2:  # only the last piece can end inside quotes
        raise locate(bytes(piece), sep, ncols)
    read = pacsv.ReadOptions(column_names=names, use_threads=False, block_size=max(len(piece) + 1, 1 << 20))
    # (a piece without quotes is tokenised without looking for them: ~8% faster)
    parse = pacsv.ParseOptions(delimiter=sep, ignore_empty_lines=False, newlines_in_values=quoted,
                               quote_char='"' if quoted else False)
    blanks_filled = False
    as_text = set(text)  # this piece's own view: other pieces of the file may add to ``text`` meanwhile
    while True:
        # only "" is looked up as missing at first (each lookup costs every value ~10%; "nan" is a
        # number to Arrow); a value that is not a number brings in pandas' other NA spellings
        # (``ALL_NA`` in ``text``), and only then is the column read as strings
        kept = names if include is None else [names[i] for i in include]
        types = {n: (_category() if n in categories else pa.string() if n in as_text else pa.int64() if n in keys
                     else pa.float64()) for n in kept}
        convert = pacsv.ConvertOptions(column_types=types, null_values=list(NA_VALUES if ALL_NA in as_text else ("",)),
                                       strings_can_be_null=True, quoted_strings_can_be_null=True,
                                       include_columns=None if include is None else kept)
        try:
            table = pacsv.read_csv(pa.py_buffer(data), read_options=read, parse_options=parse,
                                   convert_options=convert)
            break
        except pa.ArrowInvalid as exc:
            message = str(exc)
        m = re.search(r"column #(\d+): (?:Row #\d+: )?CSV conversion error to (double|int64)", message)
        if m and names[int(m.group(1))] not in as_text:
            name = names[int(m.group(1))]
            learned = ALL_NA if ALL_NA not in as_text and name not in keys else name
            as_text.add(learned)
            text.add(learned)  # later pieces start from what this one learned
            continue
        if "conversion error" in message and ("double" in message or "int64" in message) \
                and not as_text.issuperset(kept):
            as_text.update((ALL_NA, *kept))  # an Arrow that does not say which column
            continue
        if "UTF8" in message or "UTF-8" in message:
            raise Utf8Error()
        if not blanks_filled and ncols > 1 and re.search(r"Expected \d+ columns, got 1\b", message):
            filled = _fill_blank_lines(bytes(piece), sep, ncols)
            blanks_filled = True
            if filled is not None:
                data = filled
                continue
        raise locate(bytes(piece), sep, ncols)
    return [c.combine_chunks() if c.type in (pa.string(), pa.int64()) else c if pa.types.is_dictionary(c.type)
            else floats(c) for c in table.columns]


def _fill_blank_lines(data: bytes, sep: str, ncols: int) -> bytes | None:
    """The piece with each blank line (outside quotes) given ncols empty fields, so that it reads
    as a row of missing values, as pandas reads it; None if there is no blank line."""
    lines = data.split(b"\n")
    quoted, changed = False, False
    filler = (sep * (ncols - 1)).encode()
    for i, line in enumerate(lines[:-1]):  # the piece ends with a line end: the last item is b""
        if not quoted and not line.strip(_BLANK):
            lines[i] = filler + (b"\r" if line.endswith(b"\r") else b"")
            changed = True
        quoted ^= line.count(QUOTE) % 2 == 1
    return b"\n".join(lines) if changed else None


def _single_spaced(piece) -> bytes | memoryview:
    """Whitespace-delimited text as Arrow can read it: fields one space apart, no space at the
    start or end of a line (``np.savetxt`` output already is, and is not copied)."""
    data = bytes(piece)
    if b"  " not in data and b"\t" not in data and b" \n" not in data and b"\n " not in data \
            and b" \r" not in data and not data.startswith(b" "):
        return piece
    data = _AROUND_LINE_ENDS.sub(rb"\1", data)
    return _RUNS.sub(b" ", data).lstrip(b" \t")


_AROUND_LINE_ENDS = re.compile(rb"[ \t]*(\r?\n)[ \t]*")
_RUNS = re.compile(rb"[ \t]+")


def _category():
    import pyarrow as pa

    return pa.dictionary(pa.int32(), pa.string())


def concat(parts: list) -> Any:
    """Pieces of one column joined: float64 arrays, Arrow string (or int64 key) arrays, or (a
    column that turned to text part-way) a mix, as strings (Arrow writes float64 in shortest
    round-trip form)."""
    if all(isinstance(p, np.ndarray) for p in parts):
        return parts[0] if len(parts) == 1 else np.concatenate(parts)
    import pyarrow as pa

    arrays = [pa.array(p) if isinstance(p, np.ndarray) else p for p in parts]
    if len({a.type for a in arrays}) > 1:
        arrays = [plain_text(a).cast(pa.string()) for a in arrays]
    if pa.types.is_dictionary(arrays[0].type):  # (each piece has its own dictionary)
        return pa.chunked_array([c for a in arrays for c in (a.chunks if isinstance(a, pa.ChunkedArray) else [a])],
                                type=arrays[0].type)
    return arrays[0] if len(arrays) == 1 else pa.concat_arrays(arrays)


def plain_text(arr):
    """An Arrow column (chunked, or a dictionary of a slice key) as one plain array of its values."""
    import pyarrow as pa

    chunks = arr.chunks if isinstance(arr, pa.ChunkedArray) else [arr]
    chunks = [c.dictionary_decode() if pa.types.is_dictionary(c.type) else c for c in chunks]
    if not chunks:
        return pa.array([], type=arr.type.value_type if pa.types.is_dictionary(arr.type) else arr.type)
    return chunks[0] if len(chunks) == 1 else pa.concat_arrays(chunks)


def _parse_and_count(piece, quoted: bool, sep: str, *args) -> tuple[list[Any], tuple[np.ndarray, np.ndarray] | None]:
    cols = _parse_piece(piece, quoted, sep, *args)
    return cols, quoted_line_ends(piece, sep, len(cols[0])) if quoted else None


def _parse_piece(piece, quoted: bool, sep: str, ncols: int, text: set, include, keys, categories,
                 shortcut: bool) -> list[Any]:
    if sep == WHITESPACE:
        piece, sep = _single_spaced(piece), " "
    if shortcut and ncols == 1 and not (quoted or keys or categories or text):
        values = _number_lines(piece)
        if values is not None:
            return [values]
        text.add(NOT_PLAIN)  # this file's pieces go through the CSV reader from now on
    return _arrow_piece(piece, quoted, sep, ncols, text, include, keys, categories)


def _number_lines(piece) -> np.ndarray | None:
    """A piece of one number per line (the commonest file: ``np.savetxt``, ``to_csv(index=False)``)
    read by Arrow's cast of each line to float64, the parser its CSV reader converts fields with,
    without tokenising for delimiters and quotes first (~20% less time); None unless every line is
    a number as that parser reads it (a blank line, a space, NA, text: the CSV reader decides)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    raw = np.frombuffer(piece, dtype=np.uint8)
    if raw.size >= 2**31:  # (beyond an Arrow string array's int32 offsets: one line that long)
        return None
    ends = np.flatnonzero(raw == 10)
    lines = ends.size + int(raw[-1] != 10)  # (the last line of a file may have no line end)
    offsets = np.empty(lines + 1, dtype=np.int32)
    offsets[0], offsets[1:ends.size + 1], offsets[-1] = 0, ends + 1, raw.size
    each = pa.StringArray.from_buffers(lines, pa.py_buffer(offsets), pa.py_buffer(piece))
    try:  # (a CR is not part of a number: CRLF text goes to the CSV reader)
        return floats(pc.cast(pc.utf8_rtrim(each, characters="\n"), pa.float64()))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None


def _body_end(data) -> int:
    """Length of data without its trailing blank characters (looking at a growing window from
    the end: stripping the whole buffer would copy it)."""
    n, window = len(data), 256
    while True:
        lo = max(0, n - window)
        kept = len(bytes(data[lo:n]).rstrip(_BLANK))
        if kept or lo == 0:
            return lo + kept
        window *= 16


def _line_cut(data, lo: int, hi: int) -> int:
    """In data[lo:hi] (data: bytes, bytearray or mmap): the position after the last line end that
    is followed by something other than blank lines (those wait: at the end of the file they are
    not data); lo when there is none yet."""
    body = lo + _body_end(memoryview(data)[lo:hi])
    if body == lo:
        return lo
    cut = data.find(b"\n", body, hi) + 1  # the line end of the last line with data...
    if cut == 0:  # ...unless that line is not complete yet
        cut = data.rfind(b"\n", lo, body) + 1
    return max(cut, lo)


def _cut(data: bytes | bytearray) -> int:
    """_line_cut of a whole buffer, stepped back to a line end outside quotes; 0 when there is
    no such place yet."""
    cut = _line_cut(data, 0, len(data))
    if cut == 0 or data.find(QUOTE, 0, cut) < 0 or data.count(QUOTE, 0, cut) % 2 == 0:
        return cut
    odd = True  # the cut is inside a quoted field: step back line by line until the quotes pair up
    while cut > 0:
        prev = data.rfind(b"\n", 0, cut - 1) + 1
        odd ^= data.count(QUOTE, prev, cut) % 2 == 1
        cut = prev
        if not odd:
            return cut
    return 0


def _read_after(fh, rest, want: int) -> bytearray:
    """rest followed by up to ``want`` more bytes of fh, read straight into one buffer."""
    buf = bytearray(len(rest) + want)
    buf[: len(rest)] = rest
    readinto = getattr(fh, "readinto", None)
    if readinto is None:  # a file object without readinto (some fsspec ones)
        more = fh.read(want)
        buf[len(rest):len(rest) + len(more)] = more
        got = len(more)
    else:
        with memoryview(buf) as view, view[len(rest):] as free:
            got = readinto(free) or 0
    if got < want:
        del buf[len(rest) + got:]
    return buf


def _blank_tail(data, start: int) -> int:
    """Where the blank lines from ``start`` to the end of ``data`` end: after the last line end
    (a blank line without one, the file's last, is not a line)."""
    return max(start, data.rfind(b"\n", start) + 1)


def line_pieces(fh, rest: bytes | bytearray = b"", size: int | None = None, blank_tail: bool = False
                ) -> Iterator[Piece]:
    """``rest`` and then the rest of ``fh`` in pieces that each end at a line end; blank lines at
    the very end of the file are dropped, unless ``blank_tail`` (a file of one column: each is a
    missing value, as polars and DuckDB write one), when they are the last piece."""
    size = size or PIECE_BYTES
    want = size
    while True:
        data = _read_after(fh, rest, want)
        if len(data) == len(rest):  # end of file
            body = _body_end(rest)
            end = (rest.find(b"\n", body) + 1 or len(rest)) if body else 0
            if body:
                yield memoryview(rest)[:end], rest.find(QUOTE, 0, end) >= 0
            if blank_tail and _blank_tail(rest, end) > end:
                yield memoryview(rest)[end:_blank_tail(rest, end)], False
            return
        cut = _cut(data)
        if cut == 0:  # one line longer than a piece, or a quoted field across it: read on
            rest, want = data, max(size, len(data))
            continue
        want = size
        yield memoryview(data)[:cut], data.find(QUOTE, 0, cut) >= 0
        rest = data[cut:]


def file_pieces(fh, start: int, size: int | None = None, stop: int | None = None, blank_tail: bool = False
                ) -> Iterator[Piece]:
    """line_pieces of a local file from byte ``start``, cut from a read-only memory map instead
    of read into buffers (no copy; pages already parsed are released from this process), as
    long as no quote character turns up; from there on, line_pieces. ``stop``: a line start
    where the pieces end (``windows.py``): every line before it is data, blank ones too."""
    size = size or PIECE_BYTES
    try:
        if not isinstance(fh, (io.BufferedReader, io.FileIO)):
            raise ValueError  # a decompressing file: its fileno() is the compressed file's
        m = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError, AttributeError):  # empty, or not a mappable local file
        fh.seek(start)
        yield from line_pieces(fh, b"", size, blank_tail)
        return
    inside = stop is not None and stop < len(m)  # a window that ends before the file does
    view, n, pos, want = memoryview(m), min(len(m), stop) if stop is not None else len(m), start, size
    starts: deque = deque()
    while pos < n:
        end = min(n, pos + want)
        quoted = m.find(QUOTE, pos, end) >= 0
        if inside:  # (no quote after the header, where the planner cut the file: it looked)
            cut = n if end == n else m.rfind(b"\n", pos, end) + 1
        elif quoted:  # quoted fields: cut with quote parity, from buffers
            fh.seek(pos)
            yield from line_pieces(fh, b"", size, blank_tail)
            return
        else:
            cut = _line_cut(m, pos, end)
            if end == n and _body_end(view[cut:n]):  # the last line, without a line end
                cut = n
        if cut <= pos:
            if end == n:  # only blank lines are left: not data, but in a file of one column
                if blank_tail and not inside and _blank_tail(m, pos) > pos:
                    yield view[pos:_blank_tail(m, pos)], False
                return
            want *= 2  # one line longer than a piece: look further
            continue
        yield view[pos:cut], quoted
        starts.append(pos)
        if len(starts) > AHEAD + 1:  # pieces that far back are parsed: drop their pages from RSS
            done = starts.popleft() // mmap.PAGESIZE * mmap.PAGESIZE
            upto = starts[0] // mmap.PAGESIZE * mmap.PAGESIZE
            if upto > done and hasattr(m, "madvise"):
                m.madvise(mmap.MADV_DONTNEED, done, upto - done)
        pos, want = cut, size


def parse_pieces(pieces: Iterator, sep: str, ncols: int, include=None, keys=(), categories=()
                 ) -> Iterator[tuple[list[Any], tuple[np.ndarray, np.ndarray] | None]]:
    """The columns of each piece, in order (float64 arrays, or Arrow strings), parsed ``AHEAD``
    pieces ahead on the pool; only those at ``include`` (indices; None: all); those at ``keys``
    (indices) as Arrow int64 when they hold integers, else as strings exactly as written (those
    at ``categories`` as Arrow dictionaries). Beside them, the piece's rows that hold line ends
    inside quotes and how many (:func:`quoted_line_ends`). A parse error is raised when its
    piece's turn comes."""
    pool = _executor()
    key_names = frozenset(_names(ncols)[i] for i in keys)
    category_names = frozenset(_names(ncols)[i] for i in categories)
    text: set = set()  # the columns found to hold text so far: later pieces read them as strings
    pending: deque = deque()
    try:
        for i, (piece, quoted) in enumerate(pieces):
            pending.append(pool.submit(_parse_and_count, piece, quoted, sep, ncols, text, include, key_names,
                                       category_names, i >= SHORTCUT_AFTER))
            if len(pending) >= AHEAD:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        for f in pending:
            f.cancel()
