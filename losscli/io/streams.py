"""Bytes that can be read once (standard input, a FIFO, ``<(cmd)``), made to look re-openable
while their first bytes are sniffed (:class:`Stream`), and compressed files decompressed as they
are read (:func:`decompressing`), damage reported as an input error."""

from __future__ import annotations

import errno
import io
import os
import stat
from typing import Callable

from ..errors import InputError
from .filtered import Filtered


def named_stdout(exc: OSError) -> OSError:
    """A failed write to standard output named as such (a full disk, a closed descriptor); a
    closed pipe, or an error that names its file already, as it is."""
    if exc.errno == errno.EPIPE or exc.filename is not None:
        return exc
    return OSError(exc.errno, exc.strerror, "standard output")


def is_stream(path: str) -> bool:
    """A named pipe, a character device or a socket (``<(cmd)``, ``/dev/stdin`` on a pipe): bytes
    that can be read once only."""
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISCHR(mode) or stat.S_ISSOCK(mode)


class Stream:
    """A stream opened once. Each ``open()`` starts from its first byte again, as long as no
    more than ``REPLAY`` bytes have been taken from it (looking at the head, the header, a
    compressed head); the last reader streams on from there, holding nothing."""

    REPLAY = 16 << 20  # (what sniffing the first lines of a very wide table may read)

    def __init__(self, source, label: str):
        self.source, self.label = source, label
        self.kept = bytearray()  # the first bytes taken, while there are at most REPLAY of them
        self.taken = 0  # bytes taken from the source so far
        self.spent = False  # more than REPLAY taken: no new start

    def open(self) -> "_Replay":
        if self.spent:
            raise InputError(f"{self.label}: a pipe or standard input can be read only once, and a second "
                             "read was needed; save it to a file first")
        return _Replay(self)

    def whole(self) -> io.BytesIO:
        """All of it, in memory (for formats that need random access: NPY, NPZ, Parquet)."""
        with self.open() as fh:
            return io.BytesIO(fh.read())

    def take(self, n: int) -> bytes:
        data = self.source.read(n)
        data = data.encode() if isinstance(data, str) else (data or b"")
        self.taken += len(data)
        if not self.spent:
            if self.taken <= self.REPLAY:
                self.kept += data
            else:
                self.spent, self.kept = True, bytearray()
        return data


class _Replay(io.RawIOBase):
    """One reading of a Stream: its kept bytes, then on into the stream (only the reading that
    is at the front may take more)."""

    def __init__(self, stream: Stream):
        self.stream, self.pos = stream, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        """As many bytes as asked for, short only at the end: readers that take a short read for the
        end (pyarrow's IPC stream reader) must not stop where the kept bytes give way to the stream."""
        stream = self.stream
        n = 0
        if self.pos < stream.taken:
            if stream.spent:
                raise InputError(f"{stream.label}: a pipe or standard input can be read only once, and two "
                                 "reads were needed; save it to a file first")
            n = min(len(buffer), stream.taken - self.pos)
            buffer[:n] = stream.kept[self.pos:self.pos + n]
        if n < len(buffer):  # (at the front of the stream now: on into it)
            data = stream.take(len(buffer) - n)
            buffer[n:n + len(data)] = data
            n += len(data)
        self.pos += n
        return n


def decompressing(opener: Callable, label: str, name: str, wrap: Callable) -> tuple[Callable, bytes]:
    """An opener that decompresses as it reads (a damaged or cut archive is an InputError naming
    the file, wherever the damage is), and the first decompressed bytes."""

    def open_decompressed():
        return Filtered(wrap(opener()), _checked(f"{label}: not a readable {name} file"))

    with open_decompressed() as fh:
        head = fh.read(65536)
    if not head:
        raise InputError(f"{label}: empty file (nothing after decompressing it)")
    return open_decompressed, head


def _checked(what: str) -> Callable:
    """A read whose errors (EOFError for a cut archive, OSError, zlib/lzma/bz2 and Arrow errors
    for damaged bytes) become an InputError saying ``what``."""

    def read(inner, n: int) -> bytes:
        try:
            return inner.read(n)
        except InputError:
            raise
        except Exception as exc:  # noqa: BLE001 - any codec's complaint about the bytes
            raise InputError(f"{what} ({type(exc).__name__}: {exc})") from None

    return read
