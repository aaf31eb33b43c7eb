"""The input formats, in one table: add a format by writing a block generator
``blocks(opener, label, chunk_rows, dtype, head) -> Iterator[Source]`` in a module of its own
and listing it here, by file suffix and (if it has one) by magic number. Selectors, shards,
standard input, lockstep reading and caching are shared (``cache.py``)."""

from __future__ import annotations

from typing import Callable

from .csv import text_blocks
from .npy import NPY_MAGIC, ZIP_MAGIC, npy_blocks, npz_blocks
from .parquet import PARQUET_MAGIC, parquet_blocks

#: by file suffix; anything else (and standard input) is read as delimited text
READERS: dict[str, Callable] = {
    ".csv": text_blocks,
    ".tsv": text_blocks,
    ".txt": text_blocks,
    ".npy": npy_blocks,
    ".npz": npz_blocks,
    ".parquet": parquet_blocks,
    ".pq": parquet_blocks,
}
#: magic numbers win over the suffix (and identify binary data on standard input)
MAGIC: tuple[tuple[bytes, Callable], ...] = (
    (NPY_MAGIC, npy_blocks), (ZIP_MAGIC, npz_blocks), (PARQUET_MAGIC, parquet_blocks))


def reader_for(head: bytes, suffix: str) -> Callable:
    """The block generator for a file that starts with ``head`` and ends in ``suffix``."""
    return next((r for magic, r in MAGIC if head.startswith(magic)), None) or READERS.get(suffix, text_blocks)
