"""Arrow arrays as numpy, from their buffers: ``Array.to_numpy`` goes through pyarrow's pandas
conversion and imports pandas (0.3 s) on the first call; reading the buffers costs nothing and
copies nothing for a float64 column without nulls."""

from __future__ import annotations

from typing import Iterator

import numpy as np

from ..errors import InputError
from .table import Source

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
        arr = arr.cast(pa.float64())  # ints, bools, float32, decimals: exact or correctly rounded
    values = np.frombuffer(arr.buffers()[1], dtype=np.float64, count=arr.offset + len(arr))[arr.offset:]
    if arr.null_count:
        values = np.where(_validity(arr), values, np.nan)
    return values


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


def table_blocks(batches, label: str, chunk_rows: int | None, dtype) -> Iterator[Source]:
    """Arrow record batches (Parquet row groups, IPC batches: any sizes) as blocks of exactly
    ``chunk_rows`` rows (the last shorter; None: one block), so that they advance in lockstep
    with any other input. Numeric columns become float arrays, list and fixed-size-list columns
    of numbers ``(N, C)`` arrays (one length per column, else an error naming the row), any
    other column is text."""
    import pyarrow as pa

    pending: list = []
    have = offset = 0
    for batch in batches:
        if batch.num_rows == 0:
            continue
        pending.append(batch)
        have += batch.num_rows
        while chunk_rows and have >= chunk_rows:
            table = pa.Table.from_batches(pending)
            yield _source(table.slice(0, chunk_rows), label, offset, dtype)
            rest = table.slice(chunk_rows)
            pending = rest.to_batches() if rest.num_rows else []
            have -= chunk_rows
            offset += chunk_rows
    if have:
        yield _source(pa.Table.from_batches(pending), label, offset, dtype)


def _source(table, label: str, offset: int, dtype) -> Source:
    src = Source(label, table.num_rows, order=list(table.column_names), first_line=None, row_offset=offset)
    for name, col in zip(table.column_names, table.columns):
        if is_numeric(col.type):
            src.columns[name] = floats(col).astype(dtype, copy=False)
        elif _is_list_of_numbers(col.type):
            src.columns[name] = _matrix(col, label, name, offset).astype(dtype, copy=False)
        else:
            first = next((v for v in col.chunk(0).to_pylist()[:1] if v is not None), None) if col.num_chunks else None
            src.text_columns[name] = "" if first is None else str(first)
    return src


def _is_list_of_numbers(type_) -> bool:
    import pyarrow as pa

    return (pa.types.is_list(type_) or pa.types.is_large_list(type_) or pa.types.is_fixed_size_list(type_)) \
        and is_numeric(type_.value_type)


def _matrix(col, label: str, name: str, offset: int) -> np.ndarray:
    """A list column as (N, C): every row a list of the same length C, none missing."""
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = col.combine_chunks() if col.num_chunks != 1 else col.chunk(0)
    if arr.null_count:
        row = int(np.flatnonzero(~_validity(arr))[0])
        raise InputError(f"{label}, row {offset + row}, column {name!r}: a missing list (expected a list of "
                         "numbers in every row)")
    if pa.types.is_fixed_size_list(arr.type):
        width = arr.type.list_size
    else:
        lengths = floats(pc.list_value_length(arr))
        width = int(lengths[0]) if len(lengths) else 0
        ragged = np.flatnonzero(lengths != width)
        if ragged.size:
            row = int(ragged[0])
            raise InputError(f"{label}, row {offset + row}, column {name!r}: a list of {int(lengths[row])} values "
                             f"where row {offset} has {width} (a list column must have one length to be read "
                             "as an (N, C) array)")
    return floats(arr.flatten()).reshape(len(arr), width)
