"""Whether the inputs' first lines are headers or data where one file cannot tell and only the inputs
together can, or cannot: a first line of numbers that pandas may have written as column names
(``0``, ``0.5``, ``2021,2022``) or that may be a sample. ``rules.header_decision`` decides each file
alone; these refuse, naming --header yes and --header no, where the inputs leave it open
(``pairing.IdGuard`` calls :func:`refuse_first_lines_alike` with the first block of each input)."""

from __future__ import annotations

import numpy as np

from ..errors import InputError
from .rules import GUESSED, GUESSED_INTEGERS, NUMBERS
from .table import Source


def refuse_first_lines_alike(blocks: list[tuple[str, Source, set]], inputs: int) -> None:
    """The first blocks of the ``inputs`` inputs paired (two selectors of one file are two)."""
    if blocks and all(b.header == GUESSED_INTEGERS for _, b, _ in blocks) and (len(blocks) > 1 or inputs > 1):
        which = "the first line of each" if len(blocks) > 1 else "its first line"
        files = "the files cannot" if len(blocks) > 1 else "the file cannot"
        raise InputError(
            f"{' and '.join(label for label, _, _ in blocks)}: {which}, 0 (or 0,1,...) above "
            "integers, may be pandas' header of numbered columns (pd.Series(y).to_csv(index=False)) or a row of "
            f"data (np.savetxt(y, fmt='%d')), and {files} tell which: --header yes, or --header no")
    _refuse_the_same_numbers_above_numbers(blocks)
    _refuse_whole_first_lines(blocks)


def _refuse_the_same_numbers_above_numbers(blocks: list[tuple[str, Source, set]]) -> None:
    """Inputs of several columns whose first lines, read as data, are the same distinct numbers
    (``2021,2022`` above counts, quantiles ``0.1,0.5,0.9``, wavelengths ``400.0,400.5``: pandas' header
    of columns named by numbers, ``index=False``), or of one column the same number with a fraction
    written with fewer digits than the numbers below it (``0.5`` of ``df[0.5].to_csv(index=False)``, a
    quantile's, above predictions in full): as a sample, it is one predicted exactly, and nothing tells
    that from a header; refused, naming --header yes and --header no. (One column's integer, ``3`` in
    both, or a number written as those below it, ``3.5`` among halves, is as likely a sample predicted
    exactly: read as data; files that are copies are read.)"""
    files = {label: b for label, b, _ in blocks}  # (two selectors of one file: the same line)
    if len(files) < 2 or any(b.header != NUMBERS or b.row_offset or not b.rows or not b.columns
                             or len(b.columns) != len(b.order) for b in files.values()):
        return
    rows = [tuple(float(b.columns[n][0]) for n in b.order) for b in files.values()]
    first = rows[0]
    if any(r != first for r in rows) or len(set(first)) != len(first) or not all(np.isfinite(v) for v in first):
        return
    whole = all(v == round(v) for v in first)
    if len(first) < 2 and (whole or not all(_fewer_digits(first, [b.columns[n][1:] for n in b.order])
                                            for b in files.values())):
        return  # (one column: 3 in both, or 3.5 among halves, is as likely a sample predicted exactly)
    if not whole:  # (numbers with fractions, the same in each: unless the files are copies)
        nexts = {tuple(tuple(b.columns[n][1:6]) for n in b.order) for b in files.values()}
        if len(nexts) == 1:
            return
    shown = ",".join(str(int(v)) for v in first) if whole else \
        ",".join(f"{v:g}" for v in first[:6]) + (",..." if len(first) > 6 else "")
    what = "integers" if whole else "numbers"
    example = "years, horizons" if whole else "quantiles, wavelengths"
    line = f"distinct {what}" if len(first) > 1 else "a number"
    raise InputError(
        f"{' and '.join(files)}: the first line of each is {shown}, {line} above "
        f"numbers: pandas' header of columns named by {what} ({example}; to_csv(index=False)), or one sample "
        "predicted exactly, and the files cannot tell which: --header yes, or --header no")


def _fewer_digits(first, columns: list[np.ndarray]) -> bool:
    """Whether a first line's numbers are written with fewer significant digits than most of the numbers
    below them, as columns' names (0.5, 400.5) stand above predictions in full; not a first sample of data
    written alike (3.5 above 4.0 and 2.5, values rounded to halves; a row of np.savetxt's 17 digits)."""
    def digits(v: float) -> int:
        mantissa = repr(abs(v)).split("e")[0].replace(".", "").strip("0")
        return len(mantissa) or 1

    below = sorted(digits(float(v)) for c in columns for v in c[:100] if np.isfinite(v))
    return bool(below) and max(digits(float(v)) for v in first) + 1 < below[len(below) // 2]


def _refuse_whole_first_lines(blocks: list[tuple[str, Source, set]]) -> None:
    """Inputs whose first lines are whole numbers above numbers with a fraction (``rules.GUESSED``),
    none of them pandas' numbering of unnamed columns (``0``, ``0,1,...``), that differ from input to
    input: a header of columns named by other integers in each, or a sample whose values are whole
    (``np.savetxt(fmt='%g')`` writes 3.0 as ``3``), read as a header it was dropped (exit 0); refused,
    naming --header yes and --header no. (The same line in every input, columns named 1, 2, 3, or a
    Series named 3, is a header; beside an input whose first line is not such a guess, the row counts
    tell: ``row_count_mismatch``.)"""
    files = {label: b for label, b, _ in blocks}
    if len(files) < 2 or any(b.header != GUESSED or b.row_offset or
                             b.order == [str(i) for i in range(len(b.order))] for b in files.values()) or \
            len({tuple(b.order) for b in files.values()}) == 1:
        return
    shown = " and ".join(f"{label}'s is {','.join(b.order[:6])}{',...' if len(b.order) > 6 else ''}"
                         for label, b in files.items())
    raise InputError(
        f"{' and '.join(files)}: the first line of each holds whole numbers above numbers with a fraction ({shown}): "
        "a header of columns named by integers, or a sample whose values are whole (np.savetxt(y, fmt='%g') writes "
        "3.0 as 3), and the files cannot tell which: --header yes, or --header no")
