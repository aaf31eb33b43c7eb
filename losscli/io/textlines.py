"""Which rows of a parsed piece of CSV text span several lines: a quoted field holding a line end
(a note, a prompt, pandas quotes it) makes one row of several, and the lines a message names below
it count them (``arrays.Lines``)."""

from __future__ import annotations

import io

import numpy as np

from .textlocate import QUOTE, WHITESPACE


def quoted_line_ends(piece, sep: str, rows: int) -> tuple[np.ndarray, np.ndarray] | None:
    """The rows of a parsed piece of ``rows`` rows (0-based in it) that hold line ends inside quoted
    fields, and how many each holds; None if none does. A piece with as many lines as rows has none
    (the commonest case, text quoted for its commas: one count). Where every quote character stands
    at a field's edge (after a delimiter or a line end, before one, or doubled), as pandas writes
    them, a line end between an odd and an even quote is inside; else (a quote inside a field, ``5"
    screen``, is a character like any other) the csv module reads the rows as the parser does."""
    raw = np.frombuffer(piece, dtype=np.uint8)
    if raw.size == 0 or int(np.count_nonzero(raw == 10)) + int(raw[-1] != 10) == rows:
        return None
    quotes = np.flatnonzero(raw == ord(QUOTE))
    edges = (b",", b"\t", b";", b"|", b" ") if sep == WHITESPACE else (sep.encode(),)
    edge = np.zeros(256, dtype=bool)
    edge[[ord(QUOTE), 10, 13, *(e[0] for e in edges)]] = True
    before = raw[np.maximum(quotes - 1, 0)]  # (the byte before each quote; a line end before the first)
    before[quotes == 0] = 10
    after = raw[np.minimum(quotes + 1, raw.size - 1)]
    after[quotes == raw.size - 1] = 10
    if not (edge[before] | edge[after]).all():
        return _csv_line_ends(bytes(piece), " " if sep == WHITESPACE else sep, rows)
    ends = np.flatnonzero(raw == 10)
    inside = np.searchsorted(quotes, ends) % 2 == 1
    if not inside.any():
        return None
    at = np.flatnonzero(inside)
    found, counts = np.unique(at - np.arange(at.size), return_counts=True)  # (the row ends above each)
    return found, counts


def _csv_line_ends(data: bytes, sep: str, rows: int) -> tuple[np.ndarray, np.ndarray] | None:
    """``quoted_line_ends`` by the csv module's rules (a quote opens a field only at its start, as
    the parser has it); None where its rows are not the parser's (the lines then count as rows)."""
    import csv

    reader = csv.reader(io.StringIO(data.decode("utf-8", errors="replace"), newline=""), delimiter=sep,
                        skipinitialspace=sep == " ")
    found, counts, at, row = [], [], 1, -1
    try:
        for row, _ in enumerate(reader):
            if reader.line_num > at:
                found.append(row)
                counts.append(reader.line_num - at)
            at = reader.line_num + 1
    except csv.Error:
        return None
    if row + 1 != rows or not found:
        return None
    return np.asarray(found, dtype=np.int64), np.asarray(counts, dtype=np.int64)
