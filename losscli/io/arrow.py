"""Parquet and Arrow IPC tables as blocks of rows (:func:`table_blocks`): numeric columns as
float arrays, list columns as ``(N, C)``, text kept for messages, keys and class names; the
columns a run reads (:func:`read_columns`)."""

from __future__ import annotations

from typing import Iterator

import numpy as np

from ..errors import InputError
from .buffers import as_dtype, floats, int64s, is_numeric, validity
from .kinds import first_present
from .rules import (ReadRules, column_names, counting_values, key_columns, level_columns, pandas_index_columns,
                    pandas_range, reset_index_columns, slice_columns, unnamed_index)
from .table import Source, wanted_columns

def wide_integers(exc: Exception) -> str:
    """The way out of pyarrow's refusal of a whole file for one column of 128-bit integers
    (polars' Int128), which no selector gets past, or nothing."""
    if "more than 64 bits" not in str(exc):
        return ""
    return ("; a column of 128-bit integers (polars' Int128) makes the file unreadable to pyarrow, whatever is "
            "selected: cast it to Int64 or Float64 before writing, or drop it")


def schema_names(schema) -> list[str]:
    """The names a file's columns are selected by: the schema's, a repeated one made unique as in a
    CSV header (``p, p`` is p, p.1: pyarrow writes such files without a word)."""
    names = list(schema.names)
    return names if len(set(names)) == len(names) else column_names(names)


def renamed(batches, names: list[str], schema) -> Iterator:
    """Record batches under ``names`` (:func:`schema_names`), where they differ from the schema's."""
    import pyarrow as pa

    if names == list(schema.names):
        return iter(batches)
    return (pa.RecordBatch.from_arrays(b.columns, names=names) for b in batches)


def read_columns(schema, label: str, wanted, rules: ReadRules) -> tuple[list[str], dict[str, str], set[str]]:
    """What a Parquet/Arrow file is read with: the columns to convert (those the selectors name,
    and id and key columns; by :func:`schema_names`), the index columns pandas recorded in its
    metadata, and the key columns (kept exactly as well)."""
    names = schema_names(schema)
    index = {n: "pandas' index (recorded in the file's metadata)" for n in pandas_index_columns(schema.metadata)
             if n in names}
    index.update({n: "pandas' index (an unnamed column)" for n in unnamed_index(names) if n not in index})
    index = index or reset_index_columns(names)
    index.update({n: why for n, why in level_columns(names).items() if n not in index})
    if rules.on is not None and rules.on in names:
        index[rules.on] = "the --on key"
    index.update(slice_columns(names, rules, index))
    keys = set(key_columns(names, index))
    return wanted_columns(wanted, names, label, extra=sorted(keys)), index, keys


def table_blocks(batches, label: str, chunk_rows: int | None, dtype, names: list[str],
                 columns: list[str], index: dict | None = None, keys: set | None = None,
                 offset: int = 0, schema=None, features: bool = False) -> Iterator[Source]:
    """:func:`_table_blocks`, with a first column that counts like pandas' index marked in every
    block (``rules.counting_values``), decided on the file's first rows whatever the block size, as
    a CSV's is on its first lines."""
    held: list[Source] = []
    suspects: dict | None = None
    for src in _table_blocks(batches, label, chunk_rows, dtype, names, columns, index, keys, offset, schema):
        if suspects is None:
            held.append(src)
            if sum(b.rows for b in held) < SAMPLE_ROWS:
                continue
            suspects = _suspects(held, names, index, features)
        for block in held or [src]:
            block.suspects = dict(suspects)
            yield block
        held = []
    if held:
        suspects = _suspects(held, names, index, features)
        for block in held:
            block.suspects = dict(suspects)
            yield block


#: the first rows a Parquet/Arrow file's column that counts is judged on (a CSV's: its first lines)
SAMPLE_ROWS = 49


def _suspects(held: list[Source], names: list[str], index: dict | None, features: bool) -> dict:
    if index:
        return {}
    first = held[0]
    columns = [None if n in first.text_columns or n not in first.columns else
               np.concatenate([b.columns[n] for b in held])[:SAMPLE_ROWS] for n in names]
    counts = counting_values(names, columns, features)
    return {names[0]: counts} if counts else {}


def _table_blocks(batches, label: str, chunk_rows: int | None, dtype, names: list[str],
                  columns: list[str], index: dict | None = None, keys: set | None = None,
                  offset: int = 0, schema=None) -> Iterator[Source]:
    """Arrow record batches (Parquet row groups, IPC batches: any sizes) as blocks of exactly
    ``chunk_rows`` rows (the last shorter; None: one block), so that they advance in lockstep
    with any other input. ``names``: every column of the file, in order (what selectors count
    in); only the columns the ``wanted`` selectors name are converted. Numeric columns become
    float arrays, list and fixed-size-list columns of numbers ``(N, C)`` arrays (one length per
    column in the whole file, else an error naming the row), any other column is text.
    ``offset``: the file row of the first batch's first row (a window of the file). A named
    RangeIndex the ``schema``'s pandas metadata holds is a key of every block (its values, made),
    to pair by as the column another file holds under that name (``pairing._index_of_one``)."""
    import pyarrow as pa

    counted = None if schema is None else pandas_range(schema.metadata)
    # (a named one no column has is a key of every block)
    ranged = counted if counted is not None and isinstance(counted[0], str) and counted[0] not in names else None

    widths: dict[str, tuple[int, int]] = {}  # list column -> (its width, the row that set it)
    pending: list = []
    have = 0
    for batch in batches:
        if batch.num_rows == 0:
            continue
        pending.append(batch)
        have += batch.num_rows
        while chunk_rows and have >= chunk_rows:
            table = pa.Table.from_batches(pending)
            yield _source(table.slice(0, chunk_rows), label, offset, dtype, names, columns, widths, index, keys, ranged,
                          counted)
            rest = table.slice(chunk_rows)
            pending = rest.to_batches() if rest.num_rows else []
            have -= chunk_rows
            offset += chunk_rows
    if have:
        yield _source(pa.Table.from_batches(pending), label, offset, dtype, names, columns, widths, index, keys, ranged,
                      counted)


def _source(table, label: str, offset: int, dtype, names, columns, widths, index, keys, ranged=None,
            counted=None) -> Source:
    import pyarrow as pa

    src = Source(label, table.num_rows, order=list(names), first_line=None, row_offset=offset, index=index or {})
    if counted is not None:
        src.pandas_range = (counted[1] + counted[2] * offset, counted[2])
    if ranged is not None:
        name, start, step = ranged
        src.range_index = name
        src.keys[name] = pa.array(start + step * np.arange(offset, offset + table.num_rows, dtype=np.int64))
    for name in columns:
        col = _plain(table.column(name))
        if keys and name in keys:
            src.keys[name] = col.combine_chunks() if col.num_chunks != 1 else col.chunk(0)
        def where(row: int, name: str = name) -> str:
            return f"{label}, row {offset + row}, column {name!r}"

        if is_numeric(col.type):
            src.columns[name] = as_dtype(floats(col), dtype, where)
            if pa.types.is_boolean(col.type):
                src.booleans.add(name)
            if (row := first_present(src.columns[name])) is not None:  # (a dataset's shards: one kind)
                src.of_kind(name, "booleans" if name in src.booleans else "numbers", row, str(col[row].as_py()))
        elif _is_list_of_numbers(col.type):
            src.columns[name] = as_dtype(_matrix(col, label, name, offset, widths), dtype, where)
        else:  # text: its first present value, and where it is
            arr = col.combine_chunks() if col.num_chunks != 1 else col.chunk(0)
            present = np.flatnonzero(validity(arr)) if arr.null_count else np.arange(min(len(arr), 1))
            row = int(present[0]) if present.size else 0
            src.text_columns[name] = str(arr[row].as_py()) if present.size else ""
            src.text_rows[name] = row
            src.text_values[name] = arr
    return src


def _plain(col):
    """A column as the values it encodes: a categorical of numbers decoded, run-end-encoded runs
    expanded, a list view as a list, an extension type (``fixed_shape_tensor`` of one dimension: a
    list of numbers a row) as its storage."""
    import pyarrow as pa
    import pyarrow.compute as pc

    type_ = col.type
    if pa.types.is_dictionary(type_) and is_numeric(type_.value_type):  # a categorical of numbers
        return pa.chunked_array([c.dictionary_decode() for c in col.chunks], type=type_.value_type)
    if pa.types.is_run_end_encoded(type_):
        return _plain(pa.chunked_array([pc.run_end_decode(c) for c in col.chunks], type=type_.value_type))
    views = getattr(pa.types, "is_list_view", None)  # (pyarrow >= 16)
    if views is not None and (views(type_) or pa.types.is_large_list_view(type_)):
        return pa.chunked_array([_view_as_list(c) for c in col.chunks], type=pa.large_list(type_.value_type))
    if isinstance(type_, pa.BaseExtensionType) and len(getattr(type_, "shape", None) or [0]) == 1:
        return _plain(pa.chunked_array([c.storage for c in col.chunks], type=type_.storage_type))
    text = _unviewed(type_.value_type if pa.types.is_dictionary(type_) else type_)
    if text is not None and pa.types.is_dictionary(type_):  # (polars' Categorical and Enum in IPC)
        chunks = [pa.DictionaryArray.from_arrays(c.indices, c.dictionary.cast(text)) for c in col.chunks]
        return pa.chunked_array(chunks, type=pa.dictionary(type_.index_type, text))
    if text is not None:
        return col.cast(text)
    return col  # (a tensor of more dimensions is not numbers as a row is read: its type is named if selected)


def _unviewed(type_):
    """The type a string or binary view column is read as (Arrow's kernels for take, filter and
    dictionaries have no views: polars writes its String columns to IPC as views), else None."""
    import pyarrow as pa

    for kind, plain in (("string_view", pa.large_string()), ("binary_view", pa.large_binary())):
        check = getattr(pa.types, f"is_{kind}", None)  # (pyarrow >= 16)
        if check is not None and check(type_):
            return plain
    return None


def _view_as_list(arr):
    """A list view (each row an offset and a size into the values, in any order) as a large list of
    the same rows: its values gathered in row order (Arrow's own cast from list_view to list builds
    offsets too short for the array, pyarrow 26)."""
    import pyarrow as pa

    sizes = np.where(validity(arr), floats(arr.sizes), 0) if arr.null_count else floats(arr.sizes)
    sizes = sizes.astype(np.int64)
    ends = np.cumsum(sizes)
    gather = np.repeat(floats(arr.offsets).astype(np.int64) - (ends - sizes), sizes) + np.arange(ends[-1] if
                                                                                                 len(ends) else 0)
    return pa.LargeListArray.from_arrays(int64s(np.concatenate([[0], ends])), arr.values.take(int64s(gather)),
                                         mask=arr.is_null() if arr.null_count else None)


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
        row = int(np.flatnonzero(~validity(arr))[0])
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
