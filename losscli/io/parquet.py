"""Parquet inputs: columns like CSV (list columns as ``(N, C)``), read in record batches and
regrouped into blocks of the rows asked for (``arrow.table_blocks``)."""

from __future__ import annotations

import os
from typing import Iterator

from ..errors import InputError
from .arrow import table_blocks
from .table import Source, wanted_columns

PARQUET_MAGIC = b"PAR1"


def parquet_blocks(opener, label, chunk_rows, dtype, head, wanted=None) -> Iterator[Source]:
    """Only the columns the selectors name (``wanted``) are read and decompressed."""
    import pyarrow.parquet as pq

    try:
        # pre_buffer (pyarrow's default) keeps every column chunk read so far: 945 MB for a 50M-row
        # file, against 125 MB without it, and slower
        pf = pq.ParquetFile(label if os.path.isfile(label) else opener(), pre_buffer=False)
        names = pf.schema_arrow.names
        columns = None if wanted is None else wanted_columns(wanted, names, label)
        batches = pf.iter_batches(batch_size=chunk_rows or 1_000_000, columns=columns)
        yield from table_blocks(batches, label, chunk_rows, dtype, names, wanted)
    except InputError:
        raise
    except Exception as exc:
        raise InputError(f"{label}: not a readable Parquet file ({type(exc).__name__}: {exc})") from None
