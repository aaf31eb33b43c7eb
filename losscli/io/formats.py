"""The input formats, in one table: add a format by writing a block generator
``blocks(opener, label, chunk_rows, dtype, head, wanted, rules) -> Iterator[Source]`` in a module of
its own (``wanted``: the selectors the command reads the file with, None for all of it; a reader may
read only those; ``rules``: the run's ``rules.ReadRules``, for tables: header, key column)
and listing it here, by file suffix and (if it has one) by magic number; a compression, in
``CODECS``. Selectors, shards, standard input, lockstep reading and caching are shared
(``cache.py``)."""

from __future__ import annotations

from typing import BinaryIO, Callable

from .csv import text_blocks
from .ipc import ARROW_MAGIC, FEATHER_V1_MAGIC, STREAM_MAGIC, ipc_blocks
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
    ".arrow": ipc_blocks,
    ".arrows": ipc_blocks,
    ".feather": ipc_blocks,
    ".ipc": ipc_blocks,
}
#: magic numbers win over the suffix (and identify binary data on standard input)
MAGIC: tuple[tuple[bytes, Callable], ...] = (
    (NPY_MAGIC, npy_blocks), (ZIP_MAGIC, npz_blocks), (PARQUET_MAGIC, parquet_blocks), (ARROW_MAGIC, ipc_blocks),
    (FEATHER_V1_MAGIC, ipc_blocks), (STREAM_MAGIC, ipc_blocks))

#: readers that read their file front to back: standard input and pipes are streamed to them
#: (the others get such an input's bytes in memory: NPY, NPZ and Parquet need random access)
STREAMED: tuple[Callable, ...] = (text_blocks, ipc_blocks)

#: readers that read a range of rows (a ``windows.Window``) without the rest of the file
WINDOWED: tuple[Callable, ...] = (text_blocks, parquet_blocks, npy_blocks)


def reader_for(head: bytes, suffix: str) -> Callable:
    """The block generator for a file that starts with ``head`` and ends in ``suffix``."""
    return next((r for magic, r in MAGIC if head.startswith(magic)), None) or READERS.get(suffix, text_blocks)


def _gzip(fh: BinaryIO) -> BinaryIO:
    import gzip

    return gzip.GzipFile(fileobj=fh, mode="rb")  # type: ignore[return-value]


def _bzip2(fh: BinaryIO) -> BinaryIO:
    import bz2

    return bz2.BZ2File(fh, "rb")  # type: ignore[return-value]


def _xz(fh: BinaryIO) -> BinaryIO:
    import lzma

    return lzma.LZMAFile(fh, "rb")  # type: ignore[return-value]


def _zstd(fh: BinaryIO) -> BinaryIO:
    import pyarrow as pa

    return pa.CompressedInputStream(pa.PythonFile(fh, mode="r"), "zstd")


#: compressed text, recognised by magic bytes whatever the suffix: (magic, name, a function that
#: wraps a binary file in a decompressing one, read as a stream: never unpacked whole). The
#: decompressed bytes are read as text; binary formats carry their own compression.
CODECS: tuple[tuple[bytes, str, Callable[[BinaryIO], BinaryIO]], ...] = (
    (b"\x1f\x8b\x08", "gzip", _gzip),
    (b"BZh", "bzip2", _bzip2),  # (with a block signature, checked by codec_of)
    (b"\xfd7zXZ\x00", "xz", _xz),
    (b"\x28\xb5\x2f\xfd", "zstd", _zstd),
)


def codec_of(head: bytes) -> tuple[str, Callable[[BinaryIO], BinaryIO]] | None:
    """The compression a file that starts with ``head`` is in, if any."""
    for magic, name, wrap in CODECS:
        if head.startswith(magic) and (name != "bzip2" or head[3:4] in b"123456789" and
                                       head[4:10] == b"\x31\x41\x59\x26\x53\x59"):
            return name, wrap
    return None
