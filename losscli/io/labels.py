"""Whether two columns of row labels hold the same labels row by row: text as written, then times as
instants (:func:`first_other_time`), numbers at the precision each file writes them
(:func:`first_other_number`), and a refusal where one file writes alike the rows the other tells
apart. ``pairing.IdGuard`` decides which columns are labels; this module compares them."""

from __future__ import annotations

import numpy as np

from ..errors import InputError
from .buffers import floats
from .join import arrow_instants, blank_missing, comparable, is_time_type

#: the way out every refusal of rows out of order names: the user knows they are in one order
POSITIONAL = "--positional pairs them as they stand if you know they are in one order"


def first_difference(a, b, known: bool = False) -> int | None:
    """The first row where two key arrays of the same length differ (missing equals missing), or,
    ``known``, where both hold a value and the values differ (a missing one tells nothing)."""
    import pyarrow.compute as pc

    from .buffers import bits

    if known:
        differ = bits(pc.not_equal(a, b), null=False)
    else:
        differ = ~(bits(pc.equal(a, b), null=False) | bits(pc.and_(pc.is_null(a), pc.is_null(b))))
    rows = np.flatnonzero(differ)
    return int(rows[0]) if rows.size else None


def first_other_time(a, b) -> int | None:
    """The first row where two columns of times written as text (``pairing._text_labels``) differ:
    as instants, so the same one written by pandas (``2024-01-01 06:00:00+00:00``) and by polars
    (``2024-01-01T06:00:00.000000+0000``) is the same label; a time missing on either side tells
    nothing. Times Arrow's ISO 8601 parser does not read (``2024/01/31``, periods of a week,
    quarters, times of day) are compared as text, and only where the two columns spell some time
    alike: ``2024/01/31`` against ``2024-01-31`` is one label in two spellings, not rows out of
    order. Times spelled alike (one writer) are told apart as text first, cheaply. Times a file
    keeps as times (Parquet's timestamps and dates) are compared as instants with times in text;
    times with a zone against times without one (which zone was meant is not known) by
    :func:`_first_other_zone`."""
    import pyarrow.compute as pc

    typed = is_time_type(a.type) or is_time_type(b.type)
    row = 0 if typed else first_difference(a, b)
    if row is None:
        return None
    a, b = a.slice(row), b.slice(row)
    for unit in ("ns", "us"):  # (9999-12-31, a sentinel date, is beyond nanoseconds)
        times = [arrow_instants(x, unit) for x in (a, b)]
        if times[0] is not None and times[1] is not None:
            if times[0][1] != times[1][1]:
                other = _first_other_zone(times[0][0], times[1][0], unit)
                return None if other is None else row + other
            other = first_difference(times[0][0], times[1][0], known=True)
            return None if other is None else row + other
    if typed:  # a time against text Arrow does not read as times: nothing to tell; against numbers, they differ
        import pyarrow as pa

        texts = [pa.types.is_string(x.type) or pa.types.is_large_string(x.type) for x in (a, b)]
        if any(texts):
            return None
        a, b = comparable([a, b])
        other = first_difference(a, b, known=True)
        return None if other is None else row + other
    a, b = _padded(blank_missing(a)), _padded(blank_missing(b))
    if not pc.any(pc.is_in(a, value_set=b.drop_null())).as_py():
        return None
    other = first_difference(a, b, known=True)
    return None if other is None else row + other


def _first_other_zone(a, b, unit: str) -> int | None:
    """Times with a zone against times without one (as UTC instants, int64 counts of ``unit``): the
    same rows where the zoneless ones are the others' clock in one zone, whichever: every row apart
    by one offset of at most 15 hours, or by two that differ by a daylight-saving step (30 or 60
    minutes). Else the first row apart by another offset (or row 0, where every row is further
    apart: other times). Rows missing a time tell nothing. (Not comparing them paired a pandas
    index in UTC with a polars column without a zone in another order: review 100 #2.)"""
    import pyarrow.compute as pc

    from .buffers import bits

    minute = 60 * {"ns": 10**9, "us": 10**6}[unit]
    known = np.flatnonzero(bits(pc.and_(pc.is_valid(a), pc.is_valid(b)), null=False))
    if known.size == 0:
        return None
    a, b = (pc.fill_null(x, 0).to_numpy(zero_copy_only=False).astype(np.int64)[known] for x in (a, b))
    apart = b - a
    offsets = np.unique(apart)
    if np.abs(offsets).max() <= 15 * 60 * minute and (
            offsets.size == 1 or offsets.size == 2 and offsets[1] - offsets[0] in (30 * minute, 60 * minute)):
        return None
    if abs(apart[0]) > 15 * 60 * minute:
        return int(known[0])
    return int(known[np.flatnonzero(apart != apart[0])[0]])


def _padded(values):
    """Times as text with their lone digits padded (1.2.2024 is 01.02.2024, 6:00 is 06:00): one
    writer pads days and months, another does not."""
    import pyarrow.compute as pc

    return pc.replace_substring_regex(values, pattern=r"\b(\d)\b", replacement=r"0\1")


def texts_or_times(type_) -> bool:
    import pyarrow as pa

    return pa.types.is_string(type_) or is_time_type(type_)


#: a number as text: the digits after its point, and its exponent, tell how precisely it is written
_WRITTEN = r"^\s*[+-]?\d*(?:\.(?P<fraction>\d*))?(?:[eE](?P<exponent>[+-]?\d+))?\s*$"


def as_written(values, from_text: bool = False):
    """Numbers with the half unit of their last place as written (None where the column is not
    numbers): text, half a unit of its last digit (``63.697`` of ``float_format='%.3f'``: 0.0005;
    ``1.5e-07``: 5e-09); a float32 (or float16), half its spacing (the float64 it was cast from
    rounds to it); float64 and integers, exact. ``from_text``: floats a text file's reader parsed
    (the text not kept), taken as written in their shortest form (``93.91`` of ``%.2f``; ``93.9`` of
    ``93.90`` is judged with its column, :func:`_column_place`)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from .join import as_float

    values = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    if from_text and pa.types.is_floating(values.type):
        values = values.cast(pa.string())  # (Arrow writes a double's shortest text that reads back to it)
    parsed = as_float(values, pa.float64())
    if parsed is None:
        return None
    x = floats(parsed)
    if pa.types.is_string(values.type) or pa.types.is_large_string(values.type):
        text = pc.utf8_trim_whitespace(values.cast(pa.string()))
        exponent: np.ndarray | float
        if pc.any(pc.match_substring_regex(text, "[eE]")).as_py():
            parts = pc.extract_regex(text, pattern=_WRITTEN)
            digits = floats(pc.utf8_length(parts.field("fraction")))
            exponent = floats(pc.if_else(pc.equal(parts.field("exponent"), ""), "0", parts.field("exponent"))
                              .cast(pa.float64()))
        else:  # (no exponent: the digits after the point, 4x faster than the pattern)
            point = floats(pc.find_substring(text, "."))
            digits, exponent = np.where(point < 0, 0.0, floats(pc.binary_length(text)) - point - 1), 0.0
        place = _column_place(x, exponent - digits)
        with np.errstate(over="ignore", invalid="ignore"):
            half = np.nan_to_num(0.5 * np.power(10.0, place), nan=0.0, posinf=np.inf)
    elif pa.types.is_floating(values.type) and values.type.bit_width < 64:
        width = np.float32 if values.type.bit_width == 32 else np.float16
        with np.errstate(invalid="ignore"):
            half = np.abs(np.spacing(x.astype(width)).astype(np.float64)) / 2
        half = np.nan_to_num(half, nan=0.0)
    else:
        half = np.zeros_like(x)
    return x, half


def _column_place(x: np.ndarray, place: np.ndarray) -> np.ndarray:
    """The place of each number's last digit (10**place: its unit), as its column is written. With a
    fixed number of decimals (``float_format='%.2f'``: ``10.10``) each number says it; where trailing
    zeros are left out (Python's shortest repr, ``%g``: ``10.1`` beside ``10.11``) a short number is
    written to the column's finest digit where many numbers end there (decimals, their zeros left out:
    np.round(t, 2) by repr), else to as many significant digits as its longest number has (%g), and
    never coarser than its own last digit (10.1 of a column in full is not 10.05 to 10.15: neighbours
    10.10 and 10.11 swapped were taken for one order; nor is 0.0 or 1.0 beside 0.99)."""
    place = np.broadcast_to(np.asarray(place, dtype=np.float64), x.shape)
    known = np.isfinite(x) & (x != 0) & np.isfinite(place)
    if not known.any() or np.unique(place[known]).size == 1:
        return place
    with np.errstate(divide="ignore", invalid="ignore"):
        magnitude = np.floor(np.log10(np.abs(x)))
    finest = np.min(place[known])
    significant = magnitude - (np.max(magnitude[known] - place[known]) + 1) + 1
    # (which the column is, by the numbers whose last digit says it: rounded to decimals, np.round(t, 2)
    # written by repr, 1.99 beside 10.55, 12.3 and 1.0, is to 0.01 everywhere; written to significant
    # digits, %g, 63.7 beside 4.1 and 0.123, each to its own; never coarser than a number's own digits)
    # (numbers between 0.1 and 1 end alike either way: decimals unless significant digits explain far more)
    decimals = np.mean(place[known] == finest) >= 0.5 * np.mean(place[known] == significant[known])
    target = np.where(np.isfinite(x) & (x == 0), finest, finest if decimals else significant)
    return np.where(np.isfinite(place) & np.isfinite(x), np.minimum(place, target), place)


def first_other_number(a: tuple, b: tuple) -> int | None:
    """The first row where two columns of numbers (:func:`_as_written`) hold other numbers: where
    the coarser one's rounding does not hold the other (``63.697`` of ``float_format='%.3f'`` is
    63.69616873214543; a float32 is the float64 it was cast from; ``63.697`` is not ``4.097``);
    missing equals missing."""
    (xa, ha), (xb, hb) = a, b
    rows = np.flatnonzero(~(_alike(xa, ha, xb, hb) | (np.isnan(xa) & np.isnan(xb))))
    return int(rows[0]) if rows.size else None


def _alike(xa: np.ndarray, ha: np.ndarray, xb: np.ndarray, hb: np.ndarray) -> np.ndarray:
    """Where two numbers written with half units ``ha`` and ``hb`` are one label: the coarser one's
    rounding holds the other. (A tie at half a unit rounds either way: 0.335 written '0.34'; labels a
    few ulps apart, i*0.1 and i/10, or one file's float32 of the other's float64, are one label computed
    or kept otherwise.)"""
    with np.errstate(invalid="ignore", over="ignore"):
        slack = np.maximum(ha, hb) * (1 + 1e-9) + 4 * np.finfo(np.float64).eps * np.fmax(np.abs(xa), np.abs(xb))
        return (xa == xb) | (np.abs(xa - xb) <= slack) | (xa.astype(np.float32) == xb.astype(np.float32))


def shared_labels(a: tuple, b: tuple) -> int:
    """How many of ``a``'s numbers (:func:`as_written`) ``b`` holds at the precision either is written
    with (a float index written with ``float_format='%.2f'`` by one file, in full by the other: the
    same labels, in these rows or others)."""
    (xa, ha), (xb, hb) = a, b
    keep = np.isfinite(xb)
    order = np.argsort(xb[keep], kind="stable")
    xs, hs = xb[keep][order], hb[keep][order]
    if not xs.size:
        return 0
    at = np.searchsorted(xs, xa)
    found = np.zeros(xa.shape, dtype=bool)
    for k in (np.clip(at - 1, 0, xs.size - 1), np.clip(at, 0, xs.size - 1)):  # (b's nearest below, above)
        found |= _alike(xa, ha, xs[k], hs[k])
    return int(found.sum())


def refuse_labels_written_alike(numbers: list, columns: list, start: int) -> None:
    """Two columns of numbers that agree as written (:func:`_first_other_number`), where one of
    them writes alike a tenth of the rows or more that the other tells apart (an index of 1e-07s
    written with ``float_format='%.3f'``: every label 0.000; readings three to a bucket of %.2f):
    the order of those rows cannot be checked, and a reordering among them pairs other samples.
    (A few rows alike, 2 of 2 million to 6 decimals, still tell a reordering apart: allowed.)"""
    (xa, _), (xb, _) = numbers
    for (x, y), ((label, name, values), (other, oname, _)) in (((xa, xb), columns), ((xb, xa), columns[::-1])):
        finite = np.isfinite(x) & np.isfinite(y)
        kept, told = np.unique(x[finite]).size, np.unique(y[finite]).size
        if told < 2 or kept >= 0.9 * told:
            continue
        order = np.lexsort((y, x))
        alike = np.flatnonzero((x[order][1:] == x[order][:-1]) & (y[order][1:] != y[order][:-1]))
        i, j = sorted(int(r) for r in order[alike[0]:alike[0] + 2])
        raise InputError(
            f"{label} and {other}: {label} labels alike rows that {other} tells apart (rows {start + i} and "
            f"{start + j}: {name} {cell(values[i].as_py())}; {kept} labels for {told} in {other}'s column {oname!r}): "
            "written with fewer digits, the labels cannot tell whether the rows are in one order; write the inputs "
            f"with the same float_format (or none), or pair them by a key with --on ({POSITIONAL})")


def cell(value) -> str:
    """A label as a message shows it."""
    return "a missing value" if value is None else repr(str(value))
