"""The input formats, in one table: add a format by writing a block generator
``blocks(opener, label, chunk_rows, dtype, head, wanted, rules) -> Iterator[Source]`` in a module of
its own (``wanted``: the selectors the command reads the file with, None for all of it; a reader may
read only those; ``rules``: the run's ``rules.ReadRules``, for tables: header, key column)
and listing it here, by file suffix and (if it has one) by magic number; a compression, in
``CODECS``. Selectors, shards, standard input, lockstep reading and caching are shared
(``cache.py``)."""

from __future__ import annotations

import struct
from typing import BinaryIO, Callable

from ..errors import InputError
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
    return magic_reader(head) or READERS.get(suffix, text_blocks)


#: magic numbers that are also text (a CSV whose header begins PAR1, ARROW1 or FEA1 is text): a
#: file that starts with one is that format only when its first bytes are not text (a NUL byte,
#: which every such file has near its start and no text file has)
_TEXT_LIKE = (PARQUET_MAGIC, ARROW_MAGIC, FEATHER_V1_MAGIC)


def magic_reader(head: bytes) -> Callable | None:
    """The reader a file's first bytes name (whatever its suffix), or None."""
    for magic, reader in MAGIC:
        if head.startswith(magic) and (magic not in _TEXT_LIKE or b"\x00" in head):
            return reader
    return None


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


def zipped_text(head: bytes) -> str | None:
    """The name of the first member of a ZIP archive that pandas' ``to_csv('x.zip')`` may have
    written (one file at the top, not an ``.npy`` of an NPZ nor a pickle of a torch.save
    checkpoint, whose messages the NPZ reader gives); None otherwise."""
    if not head.startswith(ZIP_MAGIC) or len(head) < 30:
        return None
    n = struct.unpack_from("<H", head, 26)[0]
    name = head[30:30 + n].decode("utf-8", "replace")
    return None if "/" in name or name.endswith((".npy", ".pkl")) else name


def unzip_one(label: str, fh: BinaryIO) -> BinaryIO:
    """The one file of a ZIP archive, decompressed as it is read (pandas' ``to_csv('x.zip')``)."""
    import zipfile

    try:
        archive = zipfile.ZipFile(fh)
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise InputError(f"{label}: not a readable ZIP archive ({exc})") from None
    files = [i for i in archive.infolist() if not i.is_dir()]
    names = [i.filename for i in files]
    if "[Content_Types].xml" in names:
        raise InputError(f"{label}: an Office document (an Excel workbook?), which losscli does not read; save "
                         "the sheet as CSV, e.g. pandas: pd.read_excel(f).to_csv(out, index=False)")
    if len(files) != 1:
        shown = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")
        raise InputError(f"{label}: a ZIP archive of {len(files)} files ({shown}); losscli reads a ZIP that holds "
                         "one text file (pandas' to_csv('x.zip')) or .npy arrays (NPZ): extract the file to read")
    member = archive.open(files[0])
    close = member.close

    def closing() -> None:  # (the member, then the archive)
        close()
        archive.close()

    member.close = closing  # type: ignore[method-assign]
    return member  # type: ignore[return-value]


#: what a file that is not read looks like, and how to convert it: (test on its first bytes, text)
_FOREIGN: tuple[tuple[Callable[[bytes], bool], str], ...] = (
    (lambda h: h[:2] in (b"\xff\xfe", b"\xfe\xff") or _utf16_without_mark(h[:64]),
     "text in UTF-16 (a byte-order mark, or a NUL byte after every character): losscli reads UTF-8; "
     "re-encode it, e.g. iconv -f UTF-16 -t UTF-8, or pandas: pd.read_csv(f, encoding='utf-16')"
     ".to_csv(out, index=False)"),
    (lambda h: h[:1] == b"\x80" and h[1:2] in b"\x02\x03\x04\x05",
     "a Python pickle (pandas' to_pickle?), which losscli does not read (loading one runs code); write "
     "the data as Parquet or CSV, e.g. pd.read_pickle(f).to_parquet(out)"),
    (lambda h: h[257:262] == b"ustar",
     "a tar archive (pandas' to_csv('x.tar.gz') writes one); extract its file, or write x.csv.gz"),
    (lambda h: h.startswith(b"ORC") and b"\x00" in h, "an ORC file, which losscli does not read; convert it, e.g. pyarrow: "
     "pyarrow.parquet.write_table(pyarrow.orc.read_table(f), out)"),
    (lambda h: h.startswith(b"\x89HDF\r\n\x1a\n"), "an HDF5 file (pandas' to_hdf, h5py), which losscli does "
     "not read; write the arrays as NPY/NPZ or the table as Parquet"),
    (lambda h: h.startswith(b"<stata_dta>") or (len(h) > 3 and h[0] in (113, 114, 115) and h[1] in (1, 2)
                                                  and h[2] == 1), "a Stata file, which losscli does not read; convert it, e.g. "
     "pd.read_stata(f).to_parquet(out)"),
    (lambda h: h.startswith(b"SQLite format 3\x00"), "an SQLite database, which losscli does not read; export "
     "the table as CSV"),
    (lambda h: h.startswith(b"\xd0\xcf\x11\xe0"), "an Office document (an .xls workbook?), which losscli does "
     "not read; save the sheet as CSV"),
    (lambda h: h.startswith(b"Obj\x01"), "an Avro file, which losscli does not read; convert it to Parquet"),
    (lambda h: h.lstrip()[:2] in (b'{"', b"[{", b"[["),
     "JSON (pandas' to_json?), which losscli does not read; write CSV or Parquet, e.g. "
     "pd.read_json(f).to_csv(out, index=False) (lines=True for one object a line)"),
)


def _utf16_without_mark(h: bytes) -> bool:
    """ASCII text in UTF-16 without a byte-order mark: every other byte NUL, the others printable."""
    if len(h) < 64:
        return False
    for zeros, chars in ((h[1::2], h[0::2]), (h[0::2], h[1::2])):
        if zeros.count(0) >= 30 and sum(9 <= c <= 126 for c in chars) >= 30:
            return True
    return False


def foreign_format(head: bytes) -> str | None:
    """What a file that would be read as text is instead (a format losscli does not read, and how
    to convert it), from its first bytes; None for text."""
    return next((what for test, what in _FOREIGN if test(head)), None)
