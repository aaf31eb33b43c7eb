"""Rows matched by a key column (``--on NAME``) instead of by position, and the guard that
refuses positional pairing when the inputs' id columns disagree row by row.

Keys are compared as text, exactly as written (a CSV's ``007`` is not ``7``); integer columns of
Parquet/Arrow files as their decimal digits, so a Parquet ``int64`` id meets a CSV's. Matching is
a hash join in Arrow (``pyarrow.compute.index_in``): memory is the keys plus the selected values
of every input, held whole; the rows come out in the order of the first input.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InputError


def key_text(arr):
    """An Arrow array of keys as comparable strings (see the module's docstring)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if pa.types.is_floating(arr.type):
        whole = pc.fill_null(pc.equal(pc.floor(arr), arr), True)
        if pc.all(whole).as_py():  # 3.0 as "3": a float column of integer ids (pandas with NaN)
            arr = arr.cast(pa.int64(), safe=False)
    if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
        return pc.utf8_trim_whitespace(arr.cast(pa.string()))
    return arr.cast(pa.string())


def _shown(keys, n: int = 5) -> str:
    return ", ".join(repr(k) for k in keys[:n]) + (", ..." if len(keys) > n else "")


def first_difference(a, b) -> int | None:
    """The first row where two key arrays of the same length differ (missing equals missing)."""
    import pyarrow.compute as pc

    from .arrow import bits

    same = pc.fill_null(pc.equal(a, b), False)
    both_null = pc.and_(pc.is_null(a), pc.is_null(b))
    differ = ~(bits(same) | bits(both_null))
    rows = np.flatnonzero(differ)
    return int(rows[0]) if rows.size else None


def check_unique(keys, label: str, on: str) -> None:
    """Duplicate or missing keys are an error naming the first one and its rows."""
    import pyarrow.compute as pc

    if keys.null_count:
        row = int(np.flatnonzero(~_valid(keys))[0])
        raise InputError(f"{label}, row {row}, column {on!r}: a missing key (every row needs one to be matched "
                         "with --on)")
    if len(pc.unique(keys)) == len(keys):
        return
    counts = pc.value_counts(keys)
    repeated = counts.field("values").filter(pc.greater(counts.field("counts"), 1))
    rows = np.flatnonzero(_bits(pc.is_in(keys, value_set=repeated)))
    first = keys[int(rows[0])].as_py()
    same = np.flatnonzero(_bits(pc.equal(keys, first)))
    raise InputError(f"{label}, column {on!r}: the key {first!r} is in rows {int(same[0])} and {int(same[1])} "
                     "(--on needs each key once per input)")


def _bits(arr) -> np.ndarray:
    from .arrow import bits

    return bits(arr)


def _valid(arr) -> np.ndarray:
    import pyarrow.compute as pc

    return _bits(pc.is_valid(arr))


@dataclass
class Matched:
    """Each input's rows in the order of the first input's keys; ``dropped``: per input, the rows
    that had no partner (only with ``--on-missing drop``)."""

    rows: list[np.ndarray]
    dropped: list[int]


def match(keys: list, labels: list[str], on: str, drop: bool) -> Matched:
    """Row indices that put every input's rows in the order of the first's, by key."""
    import pyarrow.compute as pc

    for k, label in zip(keys, labels):
        check_unique(k, label, on)
    ref = keys[0]
    keep = np.ones(len(ref), dtype=bool)
    positions = []
    for k, label in zip(keys[1:], labels[1:]):
        pos = pc.index_in(ref, value_set=k)
        found = _valid(pos)
        extra = ~_bits(pc.is_in(k, value_set=ref))
        if not drop and (not found.all() or extra.any()):
            only_ref = [ref[int(i)].as_py() for i in np.flatnonzero(~found)[:5]]
            only_k = [k[int(i)].as_py() for i in np.flatnonzero(extra)[:5]]
            parts = []
            if not found.all():
                parts.append(f"{int((~found).sum())} keys only in {labels[0]} ({_shown(only_ref)})")
            if extra.any():
                parts.append(f"{int(extra.sum())} only in {label} ({_shown(only_k)})")
            raise InputError(f"--on {on}: the inputs hold different keys: {'; '.join(parts)}. "
                             "--on-missing drop evaluates the keys they share")
        keep &= found
        positions.append(pos)
    from .arrow import floats

    rows = [np.flatnonzero(keep)] + [floats(pos)[keep].astype(np.intp) for pos in positions]
    dropped = [len(k) - len(rows[0]) for k in keys]
    if not len(rows[0]):
        raise InputError(f"--on {on}: the inputs share no key ({labels[0]}: {_shown(ref.to_pylist())}; "
                         f"{labels[1]}: {_shown(keys[1].to_pylist())})")
    return Matched(rows, dropped)
