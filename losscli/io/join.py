"""How rows are paired by a key column (``--on NAME``, :func:`match`) instead of by position
(``pairing.py``).

Keys are compared as integers when every input's key column holds integers (as pandas, polars
and DuckDB read a CSV: ``007`` is 7; a float column of whole numbers, as pandas writes ids with
NaN, counts), else as text, trimmed, exactly as written. Integer keys are matched in numpy:
through a table indexed by the key when they span a narrow range (``DENSE_SPAN``), else by
sorting; text keys by one Arrow hash table of the first input's keys (``index_in``), probed by
each other input's. Memory is the keys and the selected values of every input, held whole, and one row
index per input; the rows come out in the order of the first input.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from .buffers import floats


def as_labels(values):
    """A key column of a type no text or time comparison takes, as one it does: a dictionary
    (pandas' categories) decoded, large text as text, durations as integers of nanoseconds, and
    anything else (an IntervalIndex's structs) as its text."""
    import pyarrow as pa

    values = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    if pa.types.is_dictionary(values.type):
        values = values.dictionary_decode()
    if pa.types.is_large_string(values.type):
        return values.cast(pa.string())
    if pa.types.is_duration(values.type):
        return values.cast(pa.duration("ns")).cast(pa.int64())
    if is_interval(values.type):  # (as pandas writes an Interval, closed on the right by default: "(0.0, 1.5]")
        return pa.array([None if v is None else f"({v['left']!r}, {v['right']!r}]" for v in values.to_pylist()],
                        pa.string())
    if isinstance(values.type, pa.ExtensionType):
        return as_labels(values.storage)
    if pa.types.is_fixed_size_binary(values.type) and values.type.byte_width == 16 and not _printable(values):
        import uuid  # (DuckDB's UUID, Parquet's 16 bytes: pandas and polars write its text)

        return pa.array([None if v is None else str(uuid.UUID(bytes=v)) for v in values.to_pylist()], pa.string())
    if pa.types.is_binary(values.type) or pa.types.is_large_binary(values.type) or \
            pa.types.is_fixed_size_binary(values.type):
        try:  # (text kept as bytes: numpy's 'S' ids, h5py's, Hive's strings written as binary)
            return values.cast(pa.binary()).cast(pa.string())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return pa.array([None if v is None else v.hex() for v in values.to_pylist()], pa.string())
    if pa.types.is_nested(values.type):
        return pa.array([None if v is None else str(v) for v in values.to_pylist()], pa.string())
    return values


def _printable(values) -> bool:
    """Whether every value of a binary column is printable UTF-8 text (ids of 16 characters kept as
    16 bytes: text, not a uuid's bytes, which are that with odds of 1e-6; review 103 #4)."""
    try:
        return all(v is None or v.decode("utf-8").isprintable() for v in values.to_pylist())
    except UnicodeDecodeError:
        return False


def is_interval(type_) -> bool:
    """An IntervalIndex as pyarrow keeps it: a struct of left and right."""
    import pyarrow as pa

    return pa.types.is_struct(type_) and [type_.field(i).name for i in range(type_.num_fields)] == ["left", "right"]


def key_text(arr):
    """An Arrow array of keys as comparable text (integers in decimal digits)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = as_labels(arr)  # (categories, durations, structs: as text or integers)
    ints = _as_int(arr)
    if ints is not None:
        return ints.cast(pa.string())
    if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
        return pc.utf8_trim_whitespace(arr.cast(pa.string()))
    if pa.types.is_dictionary(arr.type):
        return key_text(arr.dictionary_decode())
    return arr.cast(pa.string())


def _as_int(arr):
    """The keys as int64 when they are integers (an integer column, or a float or text column of
    whole numbers: ``2518.0``, as pandas writes ids beside a NaN); None when they are not, or
    when they cannot be exact in int64 (uint64 beyond it; text beyond 2**53, which a float64 on
    the way would round: two ids could become one)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_integer(arr.type):
        try:
            return arr.cast(pa.int64())
        except pa.ArrowInvalid:  # uint64 beyond int64: compared as text
            return None
    limit = 2.0**63
    if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
        try:
            arr = pc.utf8_trim_whitespace(arr).cast(pa.float64())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return None
        limit = 2.0**53
    # (numpy, not pc.all: Arrow's first aggregate call cost 0.3 s of start-up)
    if pa.types.is_floating(arr.type):
        v = floats(arr)
        with np.errstate(invalid="ignore"):
            if np.all(np.isnan(v) | ((np.floor(v) == v) & (np.abs(v) < limit))):  # whole, exact in int64
                return arr.cast(pa.int64())
    return None


def comparable(arrays: list) -> list:
    """Every input's keys in one type: int64 when all of them are integers; instants (int64) when
    one of them is a column of times or dates (Parquet's) and every other one reads as times with
    or without a zone alike; float64 when one is a column of floats and every other one reads as
    numbers; else text."""
    import pyarrow as pa

    ints = [_as_int(a) for a in arrays]
    if all(i is not None for i in ints):
        return ints
    if any(is_time_type(a.type) for a in arrays):
        for unit in ("ns", "us"):  # (9999-12-31, a sentinel date, is beyond nanoseconds)
            times = [arrow_instants(_whole(a), unit) for a in arrays]
            if all(t is not None for t in times) and len({zoned for _, zoned in times}) == 1:
                return [t for t, _ in times]
    floating = [a.type for a in arrays if pa.types.is_floating(a.type)]
    if floating:  # (0.5 of Parquet, "0.5" of a CSV's text; in the narrowest float: a float32 is its own text)
        width = pa.float64() if all(t == pa.float64() for t in floating) else pa.float32()
        numbers = [as_float(a, width) for a in arrays]
        if all(x is not None for x in numbers):
            return numbers
    return [key_text(a) for a in arrays]


def as_float(arr, width):
    """The keys as floats of ``width`` (numbers, or text that reads as numbers); None where they do
    not. (A float32's shortest text, '0.1', read as a float64 is not the float32 widened.)"""
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = _whole(arr)
    try:
        if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
            return pc.utf8_trim_whitespace(arr).cast(width)
        if pa.types.is_floating(arr.type) or pa.types.is_integer(arr.type):
            return arr.cast(width, safe=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    return None


def _whole(arr):
    import pyarrow as pa

    return arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr


def blank_missing(values):
    """Text trimmed, a blank cell missing."""
    import pyarrow as pa
    import pyarrow.compute as pc

    trimmed = pc.utf8_trim_whitespace(values)
    return pc.if_else(pc.equal(trimmed, ""), pa.scalar(None, trimmed.type), trimmed)


def is_time_type(type_) -> bool:
    import pyarrow as pa

    return pa.types.is_timestamp(type_) or pa.types.is_date(type_)


def arrow_instants(values, unit: str):
    """Times as (int64 counts of ``unit``, whether they carry a zone): read by Arrow's cast from
    text (a zone's offset taken off; blank cells missing), with no zone in any or with one in
    every, or from a column of times or dates; None where they cannot all be read."""
    import pyarrow as pa

    if is_time_type(values.type):
        zone = getattr(values.type, "tz", None)
        try:
            return values.cast(pa.timestamp(unit, zone)).cast(pa.int64()), zone is not None
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return None
    if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
        return None  # (integers, numbers: no times, whatever they count)
    trimmed = blank_missing(values)
    for type_ in (pa.timestamp(unit), pa.timestamp(unit, "UTC")):
        try:
            return trimmed.cast(type_).cast(pa.int64()), type_.tz is not None
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
    return None


def concat_keys(parts: list):
    """One Arrow array of a key column's blocks (as strings when the blocks differ in type)."""
    import pyarrow as pa

    from .textparse import plain_text

    parts = [plain_text(p) for p in parts]
    if len({p.type for p in parts}) > 1:
        parts = [key_text(p) for p in parts]
    return parts[0] if len(parts) == 1 else pa.concat_arrays(parts)


def _count(n: int) -> str:
    return "1 key" if n == 1 else f"{n} keys"


def _shown(keys, n: int = 5) -> str:
    return ", ".join(repr(str(k)) for k in keys[:n]) + (", ..." if len(keys) > n else "")


def _first_repeat(keys, label: str, on: str) -> None:
    """A repeated key is an error naming the first one (in file order) and two of its rows."""
    import pyarrow.compute as pc

    if len(pc.unique(keys)) == len(keys):
        return
    pos = _ints(pc.index_in(keys, value_set=keys))  # each row: the first row holding its key
    row = int(np.flatnonzero(pos != np.arange(len(keys)))[0])
    raise _repeated(keys[row].as_py(), int(pos[row]), row, label, on)


def _missing(keys, label: str, on: str) -> None:
    if keys.null_count:
        row = int(np.flatnonzero(~_valid(keys))[0])
        raise InputError(f"{label}, row {row}, column {on!r}: a missing key (every row needs one to be matched "
                         "with --on)")


def _ints(arr) -> np.ndarray:
    """An Arrow array of row numbers (nulls as -1) as int64 numpy. (No Python scalar goes into
    Arrow's compute functions: converting one imports pandas.)"""
    values = floats(arr)  # (int32 row numbers are exact in float64)
    return np.where(np.isnan(values), -1, values).astype(np.int64)


def _valid(arr, fill: bool | None = None) -> np.ndarray:
    """Where an Arrow array is not null; with ``fill``, a boolean array's values, ``fill`` where
    it is null."""
    import pyarrow.compute as pc

    from .buffers import bits

    return bits(pc.is_valid(arr)) if fill is None else bits(arr, null=fill)


@dataclass
class Matched:
    """Each input's rows in the order of the first input's keys; ``dropped``: per input, the rows
    that had no partner (only with ``--on-missing drop``)."""

    rows: list[np.ndarray]
    dropped: list[int]


def _int64(arr) -> np.ndarray:
    """An int64 Arrow array without nulls as numpy (its buffer, no copy)."""
    return np.frombuffer(arr.buffers()[1], dtype=np.int64, count=arr.offset + len(arr))[arr.offset:]


def _repeated(key, first: int, second: int, label: str, on: str) -> InputError:
    return InputError(f"{label}, column {on!r}: the key {str(key)!r} is in rows {first} and {second} "
                      "(--on needs each key once per input)")


def _repeated_int(keys: np.ndarray, key, label: str, on: str) -> InputError:
    rows = np.flatnonzero(keys == key)[:2]
    return _repeated(key, int(rows[0]), int(rows[1]), label, on)


#: integer keys spanning at most this many values per row are looked up in a table indexed by
#: the key itself (4 bytes a value: at most 16 bytes a row); others are sorted
DENSE_SPAN = 4


class _DenseKeys:
    """Integer keys in a narrow range (ids 0..N-1, 1..N, ...): a table from key to reference row,
    looked up directly (0.1 s for 10M keys where sorting them takes 2 s)."""

    def __init__(self, keys: np.ndarray, lo: int, hi: int, label: str, on: str):
        self.lo, self.n, self.on = lo, len(keys), on
        self.table = np.full(hi - lo + 1, -1, dtype=np.int32)
        self.table[keys - lo] = np.arange(len(keys), dtype=np.int32)
        kept = self.table[keys - lo]  # a key twice: its slot holds its last row only
        clash = np.flatnonzero(kept != np.arange(len(keys)))
        if clash.size:
            raise _repeated_int(keys, keys[clash[0]], label, on)

    def partners(self, keys: np.ndarray, label: str) -> tuple[np.ndarray, np.ndarray]:
        """(for each reference row, the row of ``keys`` with its key, -1 for none; the rows of
        ``keys`` whose key the reference does not hold). A key twice in ``keys`` is an error."""
        at = keys - self.lo
        where = np.full(self.n, -1, dtype=np.int64)
        if len(keys) == self.n and at.min() >= 0 and at.max() < len(self.table):
            ref_rows = self.table[at]
            del at
            where[ref_rows] = np.arange(len(keys))
            if (where >= 0).all() and (ref_rows >= 0).all():  # the same keys: a one-to-one map
                return where, np.empty(0, dtype=np.int64)
            where[:] = -1
            at = keys - self.lo
        inside = np.flatnonzero((at >= 0) & (at < len(self.table)))
        ref_rows = self.table[at[inside]]
        hit = ref_rows >= 0
        rows, ref_rows = inside[hit], ref_rows[hit]
        where[ref_rows] = rows
        twice = np.flatnonzero(where[ref_rows] != rows)
        if twice.size:
            raise _repeated_int(keys, keys[rows[twice[0]]], label, self.on)
        extra = np.ones(len(keys), dtype=bool)
        extra[rows] = False
        return where, np.flatnonzero(extra)


class _SortedKeys:
    """Integer keys found by sorting (numpy): the reference keys sorted once, each other input's
    sorted too and merged in by a binary search that walks the sorted array in order (a random
    probe of a hash table of 10M keys cost 3x more here)."""

    def __init__(self, keys: np.ndarray, label: str, on: str):
        self.on = on
        self.order = np.argsort(keys)
        self.sorted = keys[self.order]
        same = np.flatnonzero(self.sorted[1:] == self.sorted[:-1])
        if same.size:
            raise _repeated_int(keys, self.sorted[same[0]], label, on)

    def partners(self, keys: np.ndarray, label: str) -> tuple[np.ndarray, np.ndarray]:
        """As ``_DenseKeys.partners``."""
        order = np.argsort(keys)
        wanted = keys[order]
        where = np.full(len(self.sorted), -1, dtype=np.int64)
        if len(wanted) == len(self.sorted) and np.array_equal(wanted, self.sorted):  # the same keys
            where[self.order] = order
            return where, np.empty(0, dtype=np.int64)
        same = np.flatnonzero(wanted[1:] == wanted[:-1])
        if same.size:
            raise _repeated_int(keys, wanted[same[0]], label, self.on)
        at = np.minimum(np.searchsorted(self.sorted, wanted), len(self.sorted) - 1)
        hit = self.sorted[at] == wanted
        del wanted
        where[self.order[at[hit]]] = order[hit]
        return where, np.sort(order[~hit])


def _hashed_partners(ref, keys, label: str, on: str) -> tuple[np.ndarray, np.ndarray]:
    """``_DenseKeys.partners`` for text keys: one Arrow hash table of the reference keys."""
    import pyarrow.compute as pc

    pos = _ints(pc.index_in(keys, value_set=ref))  # each row of keys: the reference row with its key
    found = np.flatnonzero(pos >= 0)
    if (np.bincount(pos[found], minlength=len(ref)) > 1).any():  # a key twice in this input
        _first_repeat(keys, label, on)
    where = np.full(len(ref), -1, dtype=np.int64)
    where[pos[found]] = found
    return where, np.flatnonzero(pos < 0)


def _integer_index(keys: np.ndarray, label: str, on: str):
    lo, hi = int(keys.min()), int(keys.max())
    if hi - lo < DENSE_SPAN * len(keys) and len(keys) < 2**31:
        return _DenseKeys(keys, lo, hi, label, on)
    return _SortedKeys(keys, label, on)


def match(keys: list, labels: list[str], on: str, drop: bool) -> Matched:
    """Row indices that put every input's rows in the order of the first's, by key: integer
    keys by a table (``_DenseKeys``) or sorted (``_SortedKeys``), text keys through one Arrow hash
    table of the first input's keys, probed by each other input's."""
    import pyarrow as pa

    for k, label in zip(keys, labels):
        _missing(k, label, on)
    keys = comparable(keys)
    ref = keys[0]
    n = len(ref)
    index = _integer_index(_int64(ref), labels[0], on) if pa.types.is_integer(ref.type) and len(keys) > 1 else None
    keep = np.ones(n, dtype=bool)
    inverse = []  # per other input: for each reference row, its row there (-1: none)
    for k, label in zip(keys[1:], labels[1:]):
        where, extra = index.partners(_int64(k), label) if index is not None else _hashed_partners(ref, k, label, on)
        found = where >= 0
        if not found.all() and index is None:  # (a reference key twice leaves its second row
            _first_repeat(ref, labels[0], on)  # unfound: every row found means they are distinct)
        if not drop and (not found.all() or extra.size):
            parts = []
            if not found.all():
                parts.append(f"{_count(int((~found).sum()))} of {labels[0]} not in {label} "
                             f"({_shown([ref[int(i)].as_py() for i in np.flatnonzero(~found)[:6]])})")
            if extra.size:
                parts.append(f"{_count(extra.size)} of {label} not in {labels[0]} "
                             f"({_shown([k[int(i)].as_py() for i in extra[:6]])})")
            raise InputError(f"--on {on}: the inputs hold different keys: {'; '.join(parts)}. "
                             "--on-missing drop evaluates the keys they share")
        inverse.append(where)
        keep &= found
    rows = [np.flatnonzero(keep)] + [w[keep] for w in inverse]
    dropped = [len(k) - len(rows[0]) for k in keys]
    if not len(rows[0]):
        raise InputError(f"--on {on}: the inputs share no key ({labels[0]}: {_shown(ref[:6].to_pylist())}; "
                         f"{labels[1]}: {_shown(keys[1][:6].to_pylist())})")
    return Matched(rows, dropped)
