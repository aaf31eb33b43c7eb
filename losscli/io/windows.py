"""Reading a range of a file's rows (a :class:`Window`), so that one large file can be shared
by several workers (``--engine dask``): text by byte ranges cut at line ends, Parquet by the row
groups that hold the range, NPY by rows of its memory map. Rows keep their numbers in the whole
file, so every message names the file's own row and line.

For text the planner counts line ends per byte chunk (:func:`count_lines`, one task per chunk
on the workers); a window then finds its first and last line from the nearest counted chunk
(:func:`line_start`) instead of from the top of the file. Text is cut this way only when the
quote characters after the header pair up on every line (pandas quotes an empty field, a text
with a comma): a quoted field across a line end makes a line that is not a row. A file cut this
way holds one row per line (blank lines inside the data are rows of missing values, as the
reader has them).
"""

from __future__ import annotations

import mmap
from dataclasses import dataclass

import numpy as np

from .textparse import QUOTE

#: bytes scanned at a time for line ends; the counts are kept per this many bytes, so that a
#: window finds its first line within this many bytes of a counted place
SCAN_BYTES = 4 * 2**20


@dataclass(frozen=True)
class Window:
    """Data rows [start, stop) of one file (stop None: to the end). For text, ``hints`` are
    (byte, line ends before that byte) at or before the first and the last line."""

    start: int
    stop: int | None
    hints: tuple[tuple[int, int], tuple[int, int] | None] | None = None


@dataclass(frozen=True)
class LineCount:
    """What a chunk of a text file holds: its line ends, and the parity of the quote characters
    on the line it begins inside (before its first line end) and on the line it ends inside;
    ``paired``: every line wholly inside it has its quotes in pairs. A file whose quotes pair up
    on every line has no quoted field across a line end: each line is a row."""

    lines: int
    head_odd: bool
    tail_odd: bool
    paired: bool
    marks: tuple[int, ...] = ()  # line ends in each SCAN_BYTES of the chunk, in order
    lone_cr: bool = False  # a CR not followed by LF: a line end the counts of LF do not see


def count_lines(path: str, start: int, stop: int) -> LineCount:
    """The :class:`LineCount` of bytes [start, stop) of a file."""
    with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as m:
        stop = min(stop, len(m))
        lines, odd, head, paired, pos, lone_cr = 0, False, None, True, start, False
        marks: list[int] = []
        while pos < stop:
            end = min(stop, pos + SCAN_BYTES)
            lone_cr = lone_cr or _lone_cr(m, pos, end)
            if m.find(QUOTE, pos, end) < 0:  # (the common case: line ends counted, 3 GB/s)
                n = int(np.count_nonzero(np.frombuffer(m, dtype=np.uint8, count=end - pos, offset=pos) == 10))
                if n:
                    if head is None:
                        head = odd
                    elif odd:
                        paired = False
                    odd = False
                lines += n
                marks.append(n)
                pos = end
                continue
            buf = np.frombuffer(m, dtype=np.uint8, count=end - pos, offset=pos)
            ends = np.flatnonzero(buf == 10)
            quotes = np.flatnonzero(buf == QUOTE[0])
            del buf  # (the map closes only once no array looks into it)
            if ends.size:
                per_line = np.bincount(np.searchsorted(ends, quotes), minlength=ends.size + 1) % 2 == 1
                first = odd ^ bool(per_line[0])  # the line this window began inside ends at its first line end
                if head is None:
                    head = first
                elif first:
                    paired = False
                paired = paired and not per_line[1:-1].any()
                odd = bool(per_line[-1])
            else:
                odd ^= quotes.size % 2 == 1
            lines += int(ends.size)
            marks.append(int(ends.size))
            pos = end
        return LineCount(lines, bool(head) if head is not None else odd, odd, paired, tuple(marks), lone_cr)


def _lone_cr(m, pos: int, end: int) -> bool:
    """Whether bytes [pos, end) of the map hold a CR that no LF follows (old Mac line ends, from some
    line on): the reader ends lines there, so counting LF would count rows wrong."""
    if m.find(b"\r", pos, end) < 0:
        return False
    buf = np.frombuffer(m, dtype=np.uint8, count=end - pos, offset=pos)
    cr = np.flatnonzero(buf == 13)
    after = cr + 1
    inside = after < buf.size
    followed = np.zeros(cr.size, dtype=bool)
    followed[inside] = buf[after[inside]] == 10
    del buf  # (the map closes only once no array looks into it)
    if not inside[-1]:  # (the chunk's last byte: the next one is in the map)
        followed[-1] = end >= len(m) or m[end] == 10
    return not followed.all()


def line_start(m, line: int, hint: tuple[int, int]) -> int:
    """The byte where 0-based ``line`` begins in the mapped file ``m`` (its length when the file
    has fewer lines), from ``hint`` = (a byte, the line ends before it), which lies at or
    before that line."""
    if line == 0:
        return 0
    pos, before = hint
    need = line - before  # the line begins after this many more line ends (0: at the hint)
    n = len(m)
    step = 1 << 20  # (counted first; positions only in the step that holds the line)
    while pos < n and need > 0:
        end = min(n, pos + step)
        found = np.frombuffer(m, dtype=np.uint8, count=end - pos, offset=pos) == 10
        count = int(np.count_nonzero(found))
        if count >= need:
            return pos + int(np.flatnonzero(found)[need - 1]) + 1
        need -= count
        pos = end
    return pos if need <= 0 else n


def byte_range(fh, window: Window, first_line: int) -> tuple[int, int | None]:
    """The bytes of a text file that hold ``window``'s rows (``first_line``: the 1-based line
    of data row 0)."""
    assert window.hints is not None
    start_hint, stop_hint = window.hints
    with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as m:
        begin = line_start(m, first_line - 1 + window.start, start_hint)
        end = None if window.stop is None or stop_hint is None else \
            line_start(m, first_line - 1 + window.stop, stop_hint)
    return begin, end
