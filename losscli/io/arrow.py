"""Arrow arrays as numpy, from their buffers: ``Array.to_numpy`` goes through pyarrow's pandas
conversion and imports pandas (0.3 s) on the first call; reading the buffers costs nothing and
copies nothing for a float64 column without nulls."""

from __future__ import annotations

from typing import Iterator

import numpy as np

from ..errors import InputError
from .rules import ReadRules, key_columns, pandas_index_columns
from .table import Source, wanted_columns

#: Arrow types read as numbers (cast to float64); anything else is text
NUMERIC_PREFIXES = ("int", "uint", "float", "double", "halffloat", "bool", "decimal")


def is_numeric(type_) -> bool:
    return str(type_).startswith(NUMERIC_PREFIXES) or str(type_) == "null"


def floats(arr) -> np.ndarray:
    """A numeric Arrow array (or chunked array) as float64 numpy, NaN where null."""
    import pyarrow as pa

    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks() if arr.num_chunks != 1 else arr.chunk(0)
    if arr.type != pa.float64():
        if pa.types.is_null(arr.type):
            return np.full(len(arr), np.nan)
        if pa.types.is_decimal(arr.type):  # (Arrow's decimal -> float64 cast is not correctly rounded;
            arr = arr.cast(pa.string())    # its string -> float64 parse is)
        # ints beyond 2**53 round to the nearest float64 (a "safe" cast would refuse them)
        arr = arr.cast(pa.float64(), safe=False)
    values = np.frombuffer(arr.buffers()[1], dtype=np.float64, count=arr.offset + len(arr))[arr.offset:]
    if arr.null_count:
        values = np.where(_validity(arr), values, np.nan)
    return values


def strings(values) -> object:
    """Python strings as an Arrow string array, from buffers (``pa.array`` of Python objects
    imports pandas to look for its types)."""
    import pyarrow as pa

    encoded = [v.encode() for v in values]
    offsets = np.cumsum([0] + [len(b) for b in encoded], dtype=np.int32)
    return pa.StringArray.from_buffers(len(encoded), pa.py_buffer(offsets.tobytes()), pa.py_buffer(b"".join(encoded)))


def bits(arr, null: bool = False) -> np.ndarray:
    """A boolean Arrow array as a numpy bool array, ``null`` where it is null."""
    packed = np.frombuffer(arr.buffers()[1], dtype=np.uint8)
    values = np.unpackbits(packed, bitorder="little")[arr.offset:arr.offset + len(arr)].astype(bool)
    if arr.null_count:
        values = np.where(_validity(arr), values, null)
    return values


def _validity(arr) -> np.ndarray:
    packed = np.frombuffer(arr.buffers()[0], dtype=np.uint8)
    return np.unpackbits(packed, bitorder="little")[arr.offset:arr.offset + len(arr)].astype(bool)


def read_columns(schema, label: str, wanted, rules: ReadRules) -> tuple[list[str], dict[str, str], set[str]]:
    """What a Parquet/Arrow file is read with: the columns to convert (those the selectors name,
    and id and key columns), the index columns pandas recorded in its metadata, and the key
    columns (kept exactly as well)."""
    names = list(schema.names)
    index = {n: "pandas' index (recorded in the file's metadata)" for n in pandas_index_columns(schema.metadata)
             if n in names}
    if rules.on is not None and rules.on in names:
        index[rules.on] = "the --on key"
    keys = set(key_columns(names, index))
    return wanted_columns(wanted, names, label, extra=sorted(keys)), index, keys


def table_blocks(batches, label: str, chunk_rows: int | None, dtype, names: list[str],
                 columns: list[str], index: dict | None = None, keys: set | None = None) -> Iterator[Source]:
    """Arrow record batches (Parquet row groups, IPC batches: any sizes) as blocks of exactly
    ``chunk_rows`` rows (the last shorter; None: one block), so that they advance in lockstep
    with any other input. ``names``: every column of the file, in order (what selectors count
    in); only the columns the ``wanted`` selectors name are converted. Numeric columns become
    float arrays, list and fixed-size-list columns of numbers ``(N, C)`` arrays (one length per
    column in the whole file, else an error naming the row), any other column is text."""
    import pyarrow as pa

    widths: dict[str, tuple[int, int]] = {}  # list column -> (its width, the row that set it)
    pending: list = []
    have = offset = 0
    for batch in batches:
        if batch.num_rows == 0:
            continue
        pending.append(batch)
        have += batch.num_rows
        while chunk_rows and have >= chunk_rows:
            table = pa.Table.from_batches(pending)
            yield _source(table.slice(0, chunk_rows), label, offset, dtype, names, columns, widths, index, keys)
            rest = table.slice(chunk_rows)
            pending = rest.to_batches() if rest.num_rows else []
            have -= chunk_rows
            offset += chunk_rows
    if have:
        yield _source(pa.Table.from_batches(pending), label, offset, dtype, names, columns, widths, index, keys)


def _source(table, label: str, offset: int, dtype, names, columns, widths, index, keys) -> Source:
    src = Source(label, table.num_rows, order=list(names), first_line=None, row_offset=offset, index=index or {})
    for name in columns:
        col = table.column(name)
        if keys and name in keys:
            src.keys[name] = col.combine_chunks() if col.num_chunks != 1 else col.chunk(0)
        if is_numeric(col.type):
            src.columns[name] = floats(col).astype(dtype, copy=False)
        elif _is_list_of_numbers(col.type):
            src.columns[name] = _matrix(col, label, name, offset, widths).astype(dtype, copy=False)
        else:  # text: its first present value, and where it is
            arr = col.combine_chunks() if col.num_chunks != 1 else col.chunk(0)
            present = np.flatnonzero(_validity(arr)) if arr.null_count else np.arange(min(len(arr), 1))
            row = int(present[0]) if present.size else 0
            src.text_columns[name] = str(arr[row].as_py()) if present.size else ""
            src.text_rows[name] = row
            src.text_values[name] = arr
    return src


def _is_list_of_numbers(type_) -> bool:
    import pyarrow as pa

    return (pa.types.is_list(type_) or pa.types.is_large_list(type_) or pa.types.is_fixed_size_list(type_)) \
        and is_numeric(type_.value_type)


def _matrix(col, label: str, name: str, offset: int, widths: dict) -> np.ndarray:
    """A list column as (N, C): every row of the file a list of the same length C, none missing."""
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = col.combine_chunks() if col.num_chunks != 1 else col.chunk(0)
    if arr.null_count:
        row = int(np.flatnonzero(~_validity(arr))[0])
        raise InputError(f"{label}, row {offset + row}, column {name!r}: a missing list (expected a list of "
                         "numbers in every row)")
    if pa.types.is_fixed_size_list(arr.type):
        lengths = np.full(len(arr), arr.type.list_size)
    else:
        lengths = floats(pc.list_value_length(arr))
    width, first = widths.setdefault(name, (int(lengths[0]) if len(lengths) else 0, offset))
    ragged = np.flatnonzero(lengths != width)
    if ragged.size:
        row = int(ragged[0])
        raise InputError(f"{label}, row {offset + row}, column {name!r}: a list of {int(lengths[row])} values "
                         f"where row {first} has {width} (a list column must have one length to be read "
                         "as an (N, C) array)")
    return floats(arr.flatten()).reshape(len(arr), width)
