"""Atomic output: write to a temporary file in the target's directory, then rename.

A failure or Ctrl-C part-way leaves any previous file intact and no partial file behind."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Callable

from ..errors import LossCliError


def write_atomic(path: str, write: Callable) -> None:
    """Call ``write(binary_file)`` on a temporary file, then move it onto ``path``."""
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    if not directory.is_dir():
        raise LossCliError(f"{path}: cannot write, directory {directory} does not exist")
    if target.is_dir():
        raise LossCliError(f"{path}: is a directory, expected a file name to write")
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as exc:
        raise LossCliError(f"{path}: cannot write: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_text_atomic(path: str, text: str) -> None:
    write_atomic(path, lambda fh: fh.write(text.encode("utf-8")))


def write_npz_atomic(path: str, arrays: dict) -> None:
    """An NPZ (uncompressed) whose members are arrays or lists of row blocks; blocks are written
    one after another and released, so no concatenated copy is ever made."""
    import zipfile

    import numpy as np
    from numpy.lib import format as npformat

    def write(fh):
        with zipfile.ZipFile(fh, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
            for name, blocks in arrays.items():
                blocks = blocks if isinstance(blocks, list) else [blocks]
                first = blocks[0]
                shape = (sum(b.shape[0] for b in blocks),) + first.shape[1:]
                header = {"descr": npformat.dtype_to_descr(first.dtype), "fortran_order": False, "shape": shape}
                with zf.open(name + ".npy", "w", force_zip64=True) as member:
                    npformat.write_array_header_2_0(member, header)
                    while blocks:
                        member.write(np.ascontiguousarray(blocks.pop(0)).data)

    write_atomic(path, write)
