"""Parquet inputs: columns like CSV, read in record batches."""

from __future__ import annotations

import os
from typing import Iterator

from ..errors import InputError
from .table import Source

PARQUET_MAGIC = b"PAR1"


def parquet_blocks(opener, label, chunk_rows, dtype, head) -> Iterator[Source]:
    import pyarrow.parquet as pq
    try:
        pf = pq.ParquetFile(label if os.path.isfile(label) else opener())
        names = pf.schema_arrow.names
        offset = 0
        for batch in pf.iter_batches(batch_size=chunk_rows or 1_000_000):
            src = Source(label, batch.num_rows, order=list(names), first_line=None, row_offset=offset)
            for name, col in zip(batch.schema.names, batch.columns):
                if col.type.num_fields == 0 and (str(col.type).startswith(("int", "uint", "float", "double",
                                                                           "bool", "halffloat"))):
                    src.columns[name] = col.to_numpy(zero_copy_only=False).astype(dtype)
                else:
                    src.text_columns[name] = str(col[0]) if len(col) else ""
            offset += batch.num_rows
            yield src
    except InputError:
        raise
    except Exception as exc:
        raise InputError(f"{label}: not a readable Parquet file ({type(exc).__name__}: {exc})") from None


