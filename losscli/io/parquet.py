"""Parquet inputs: columns like CSV (list columns as ``(N, C)``), read in record batches and
regrouped into blocks of the rows asked for (``arrow.table_blocks``)."""

from __future__ import annotations

import os
from typing import Iterator

from ..errors import InputError
from .arrow import table_blocks
from .table import Source

PARQUET_MAGIC = b"PAR1"


def parquet_blocks(opener, label, chunk_rows, dtype, head) -> Iterator[Source]:
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(label if os.path.isfile(label) else opener())
        batches = pf.iter_batches(batch_size=chunk_rows or 1_000_000)
        yield from table_blocks(batches, label, chunk_rows, dtype)
    except InputError:
        raise
    except Exception as exc:
        raise InputError(f"{label}: not a readable Parquet file ({type(exc).__name__}: {exc})") from None
