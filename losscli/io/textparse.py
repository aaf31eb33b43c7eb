"""Delimited text parsed on a thread pool, in file order.

A file is cut into pieces of about ``PIECE_BYTES`` at line ends (never inside a quoted field,
never before a run of blank lines that may turn out to be the end of the file); each piece is
parsed by pandas' C tokenizer on a small pool of threads while the caller works on the pieces
before it. pandas (3.1 and later) tokenises and converts a byte buffer it is handed without
holding the GIL (``TextReader.load_buffer``, what its own parallel ``read_csv`` uses), so the
pieces of one file, or of the two files of a ``compute`` run, are parsed on every core of one
process. Where that interface is missing or misbehaves (checked once, on a small sample), each
piece goes through ``pd.read_csv`` on a BytesIO instead: the same parser and the same values,
on one core at a time.

``readers.py`` decides what a file is (delimiter, header, names); this module only turns bytes
into columns.
"""

from __future__ import annotations

import io
import mmap
import os
import re
import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Iterator

import numpy as np

#: bytes per parsed piece: large enough to amortise a parse call (~50,000 rows of one number),
#: small enough that the pieces in flight (``AHEAD`` per file) and each thread's tokenizer
#: buffers stay a few MB (4 MB pieces: as fast, ~55 MB more peak memory for two files)
PIECE_BYTES = 2**20
#: pieces of one file parsed ahead of the one being consumed
AHEAD = 4
QUOTE = b'"'
_BLANK = b" \t\r\n"
_READ = dict(header=None, engine="c", skip_blank_lines=False, low_memory=False)
_exact: bool | None = None

_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None
_local = threading.local()
_fast_ok: bool | None = None


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _lock:
        if _pool is None:
            # before pandas 3.1 the exact converter takes the GIL for every value: threads would
            # only contend for it (two: ~1.5x the wall of one), so one thread parses
            workers = max(1, min(os.cpu_count() or 1, 8)) if exact_floats() else 1
            _pool = ThreadPoolExecutor(max_workers=workers,
                                       thread_name_prefix="losscli-parse")
        return _pool


def exact_floats() -> bool:
    """Whether this pandas' default float converter is round-trip exact (3.1 and later). Before
    3.1 about half of all 17-digit values come back 1 ulp off, in read_csv and to_numeric alike."""
    global _exact
    if _exact is None:
        import pandas as pd

        m = re.match(r"(\d+)\.(\d+)", pd.__version__)
        _exact = m is None or (int(m.group(1)), int(m.group(2))) >= (3, 1)
    return _exact


def _read() -> dict:
    """read_csv's keywords for a piece: before pandas 3.1, with its round-trip float converter
    (exact, but it takes the GIL per value; 3.1 deprecates the option, its default is exact)."""
    return _READ if exact_floats() else dict(_READ, float_precision="round_trip")


def _names(ncols: int) -> list[str]:
    return [f"c{i}" for i in range(ncols)]


def _as_columns(cols) -> list[np.ndarray]:
    """Numeric columns as they are; anything else (strings, mixed) as an object array."""
    out = []
    for c in cols:
        kind = getattr(c, "dtype", np.dtype(object)).kind
        out.append(c if isinstance(c, np.ndarray) and kind in "biuf" else np.asarray(c, dtype=object))
    return out


def _parse_slow(piece, sep: str, ncols: int, spaces: bool = True) -> list[np.ndarray]:
    import pandas as pd

    frame = pd.read_csv(io.BytesIO(bytes(piece)), sep=sep, names=_names(ncols), skipinitialspace=spaces, **_read())
    if not isinstance(frame.index, pd.RangeIndex):
        # a first line with more fields than the table has columns became an "implicit index":
        # the ragged row that the buffer parser reports
        raise pd.errors.ParserError(f"Error tokenizing data. C error: Expected {ncols} fields in "
                                    f"line 1, saw {ncols + frame.index.nlevels}")
    return _as_columns(frame[c].to_numpy() for c in frame.columns)


def _engine(key: tuple):
    """This thread's pandas C parser for (sep, ncols, spaces): reused from piece to piece."""
    engines = _local.__dict__.setdefault("engines", {})
    eng = engines.get(key)
    if eng is None:
        import pandas as pd

        sep, ncols, spaces = key
        eng = pd.read_csv(io.BytesIO(b""), sep=sep, names=_names(ncols), skipinitialspace=spaces,
                          iterator=True, **_read())._engine
        eng._reader.trim_after_read = False  # keep the buffers: the next piece is the same size
        engines[key] = eng
    return eng


def _parse_fast(piece, sep: str, ncols: int, spaces: bool = True) -> list[np.ndarray]:
    key = (sep, ncols, spaces)
    eng = _engine(key)
    try:
        eng._reader.load_buffer(piece)
        eng._first_chunk = True
        _, names, data = eng.read()
    except Exception:
        # a reused parser counts lines across pieces: drop it, and let a fresh one say what is
        # wrong with line numbers counted from this piece
        _local.engines.pop(key, None)
        return _parse_slow(piece, sep, ncols, spaces)
    return _as_columns(data[n] for n in names)


def _parse_piece(parse: Callable, piece, sep: str, ncols: int, state: dict) -> list[np.ndarray]:
    """Parse as pandas does with ``skipinitialspace=True`` (spaces after a delimiter are not part
    of a value). Skipping them costs the tokenizer ~7%, and only matters when a column does not
    come out numeric; so a piece is parsed without it first, and again with it if any column is
    not numeric (from then on, the whole file is parsed with it)."""
    if not state["spaces"]:
        cols = parse(piece, sep, ncols, False)
        if all(c.dtype.kind in "biuf" for c in cols):
            return cols
        state["spaces"] = True
    return parse(piece, sep, ncols, True)


_SAMPLE = b'1,x\n\n2.5,"3"\n-inf,nan\n'


def parser() -> Callable:
    """The piece parser: the GIL-free one if this pandas has it and it agrees with read_csv on a
    sample (blank line, quotes, text, inf, NaN), else read_csv per piece."""
    global _fast_ok
    if _fast_ok is None:
        try:
            a, b = _parse_fast(memoryview(_SAMPLE), ",", 2), _parse_slow(_SAMPLE, ",", 2)
            _fast_ok = all(x.dtype == y.dtype and x.shape == y.shape and
                           all(u == v or (u != u and v != v) for u, v in zip(x.tolist(), y.tolist()))
                           for x, y in zip(a, b))
        except Exception:  # noqa: BLE001 - a private interface that changed: use the public one
            _fast_ok = False
    return _parse_fast if _fast_ok else _parse_slow


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


def line_pieces(fh, rest: bytes | bytearray = b"", size: int | None = None) -> Iterator[memoryview]:
    """``rest`` and then the rest of ``fh`` in pieces that each end at a line end; blank lines at
    the very end of the file are dropped."""
    size = size or PIECE_BYTES
    want = size
    while True:
        data = _read_after(fh, rest, want)
        if len(data) == len(rest):  # end of file
            body = _body_end(rest)
            if body:
                yield memoryview(rest)[: rest.find(b"\n", body) + 1 or len(rest)]
            return
        cut = _cut(data)
        if cut == 0:  # one line longer than a piece, or a quoted field across it: read on
            rest, want = data, max(size, len(data))
            continue
        want = size
        yield memoryview(data)[:cut]
        rest = data[cut:]


def file_pieces(fh, start: int, size: int | None = None) -> Iterator[memoryview]:
    """line_pieces of a local file from byte ``start``, cut from a read-only memory map instead
    of read into buffers (no copy; pages already parsed are released from this process), as
    long as no quote character turns up; from there on, line_pieces."""
    size = size or PIECE_BYTES
    try:
        m = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError, AttributeError):  # empty, or not a mappable local file
        fh.seek(start)
        yield from line_pieces(fh, b"", size)
        return
    view, n, pos, want = memoryview(m), len(m), start, size
    starts: deque = deque()
    while pos < n:
        end = min(n, pos + want)
        if m.find(QUOTE, pos, end) >= 0:  # quoted fields: cut with quote parity, from buffers
            fh.seek(pos)
            yield from line_pieces(fh, b"", size)
            return
        cut = _line_cut(m, pos, end)
        if end == n and _body_end(view[cut:n]):  # the last line, without a line end
            cut = n
        if cut <= pos:
            if end == n:  # only blank lines are left: not data
                return
            want *= 2  # one line longer than a piece: look further
            continue
        yield view[pos:cut]
        starts.append(pos)
        if len(starts) > AHEAD + 1:  # pieces that far back are parsed: drop their pages from RSS
            done = starts.popleft() // mmap.PAGESIZE * mmap.PAGESIZE
            upto = starts[0] // mmap.PAGESIZE * mmap.PAGESIZE
            if upto > done and hasattr(m, "madvise"):
                m.madvise(mmap.MADV_DONTNEED, done, upto - done)
        pos, want = cut, size


def parse_pieces(pieces: Iterator, sep: str, ncols: int) -> Iterator[list[np.ndarray]]:
    """The columns of each piece, in order, parsed ``AHEAD`` pieces ahead on the pool. A parse
    error is raised when its piece's turn comes."""
    parse, pool = parser(), _executor()
    state = {"spaces": False}
    pending: deque = deque()
    try:
        for piece in pieces:
            pending.append(pool.submit(_parse_piece, parse, piece, sep, ncols, state))
            if len(pending) >= AHEAD:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        for f in pending:
            f.cancel()
