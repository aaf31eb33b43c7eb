"""Parquet inputs: columns like CSV (list columns as ``(N, C)``), read in record batches and
regrouped into blocks of the rows asked for (``arrow.table_blocks``)."""

from __future__ import annotations

import os
from itertools import accumulate
from typing import Iterator

from ..errors import InputError
from .arrow import read_columns, renamed, schema_names, table_blocks, wide_integers
from .rules import ReadRules
from .table import Source

PARQUET_MAGIC = b"PAR1"


def parquet_blocks(opener, label, chunk_rows, dtype, head, wanted=None, rules: ReadRules = ReadRules(),
                   window=None) -> Iterator[Source]:
    """Only the columns the selectors name (``wanted``) are read and decompressed; with a
    ``window`` (``windows.py``), only the row groups that hold its rows."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        # pre_buffer (pyarrow's default) keeps every column chunk read so far: 945 MB for a 50M-row
        # file, against 125 MB without it, and slower
        pf = pq.ParquetFile(label if os.path.isfile(label) else opener(), pre_buffer=False)
        schema = pf.schema_arrow
        names = schema_names(schema)
        columns, index, keys = read_columns(schema, label, wanted, rules)
        read = columns if names == schema.names else None  # (a repeated name: every column, renamed)
        if window is None:
            batches = pf.iter_batches(batch_size=chunk_rows or 1_000_000, columns=read)
            yield from table_blocks(renamed(batches, names, schema), label, chunk_rows, dtype, names, columns, index,
                                    keys, schema=schema, features=rules.features)
            return
        sizes = [pf.metadata.row_group(i).num_rows for i in range(pf.metadata.num_row_groups)]
        ends = list(accumulate(sizes))
        stop = ends[-1] if ends and window.stop is None else min(window.stop or 0, ends[-1] if ends else 0)
        groups = [i for i, e in enumerate(ends) if e > window.start and e - sizes[i] < stop]
        if not groups:
            return
        skip = window.start - (ends[groups[0]] - sizes[groups[0]])
        batches = pf.iter_batches(batch_size=chunk_rows or 1_000_000, columns=read, row_groups=groups)
        yield from table_blocks(_rows(renamed(batches, names, schema), skip, stop - window.start), label, chunk_rows,
                                dtype, names, columns, index, keys, offset=window.start, schema=schema,
                                features=rules.features)
    except (pa.ArrowException, OSError) as exc:  # pyarrow's word on the bytes (a bug of ours stays a bug: exit 3)
        raise InputError(f"{label}: not a readable Parquet file ({type(exc).__name__}: {exc}){wide_integers(exc)}") \
            from None


def _rows(batches, skip: int, take: int):
    """The record batches less their first ``skip`` rows, ``take`` rows in all."""
    for batch in batches:
        if skip >= batch.num_rows:
            skip -= batch.num_rows
            continue
        batch = batch.slice(skip, take)
        skip, take = 0, take - batch.num_rows
        yield batch
        if take <= 0:
            return
