"""A readable binary file made of another one, byte for byte through a function: decompressing
files whose errors name the input, CR line ends read as LF."""

from __future__ import annotations

import io
from typing import BinaryIO, Callable


class Filtered(io.RawIOBase):
    """Each read is ``read(inner, n)``; closing it closes the inner file."""

    def __init__(self, inner: BinaryIO, read: Callable[[BinaryIO, int], bytes]):
        self.inner, self._read = inner, read

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self._read(self.inner, len(buffer))
        buffer[:len(data)] = data
        return len(data)

    def close(self) -> None:
        try:
            self.inner.close()
        finally:
            super().close()
