"""Parquet inputs: columns like CSV (list columns as ``(N, C)``), read in record batches and
regrouped into blocks of the rows asked for (``arrow.table_blocks``)."""

from __future__ import annotations

import os
from typing import Iterator

from ..errors import InputError
from .arrow import read_columns, table_blocks
from .rules import ReadRules
from .table import Source

PARQUET_MAGIC = b"PAR1"


def parquet_blocks(opener, label, chunk_rows, dtype, head, wanted=None, rules: ReadRules = ReadRules()
                   ) -> Iterator[Source]:
    """Only the columns the selectors name (``wanted``) are read and decompressed."""
    import pyarrow.parquet as pq

    try:
        # pre_buffer (pyarrow's default) keeps every column chunk read so far: 945 MB for a 50M-row
        # file, against 125 MB without it, and slower
        pf = pq.ParquetFile(label if os.path.isfile(label) else opener(), pre_buffer=False)
        schema = pf.schema_arrow
        columns, index, keys = read_columns(schema, label, wanted, rules)
        batches = pf.iter_batches(batch_size=chunk_rows or 1_000_000, columns=columns)
        yield from table_blocks(batches, label, chunk_rows, dtype, schema.names, columns, index, keys)
    except InputError:
        raise
    except Exception as exc:
        raise InputError(f"{label}: not a readable Parquet file ({type(exc).__name__}: {exc})") from None
