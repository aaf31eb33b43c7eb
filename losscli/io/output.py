"""Writing outputs without harming what the user owns.

- ``-`` is standard output.
- A regular file is replaced atomically: written to a temporary file in the target's directory,
  flushed to disk, then renamed over it; a failure, Ctrl-C, SIGTERM or SIGHUP part-way leaves the
  previous file and no temporary one. An existing file keeps its mode (and, when losscli runs as
  root, its owner); a new file is created with the mode the umask gives (0666 & ~umask).
- A symbolic link is followed: its target is replaced, the link stays a link.
- Anything that is not a regular file (a device such as ``/dev/null``, a FIFO, a socket,
  ``/dev/stdout``) and a file with other hard links is written in place, as a shell's ``>`` would:
  replacing it would destroy the device or cut the other names off.
- Which paths a command may not write (its own inputs, its other outputs) is decided before
  anything runs: :func:`refuse_clobbering`.
"""

from __future__ import annotations

import os
import stat
import sys
from contextlib import contextmanager
from typing import BinaryIO, Callable, Iterable, Iterator

from ..errors import LossCliError

STDOUT = "-"
#: temporary files being written, removed by :func:`abandon` when a signal ends the process
_IN_FLIGHT: set[str] = set()


def write_output(path: str, write: Callable[[BinaryIO], object]) -> None:
    """Call ``write(binary_file)`` for ``path`` by the rules above."""
    with output_file(path) as fh:
        write(fh)


@contextmanager
def output_file(path: str) -> Iterator[BinaryIO]:
    """The binary file to write ``path`` through, by the rules above: what is written inside the
    ``with`` replaces the target when it ends without an exception, and is thrown away otherwise.
    :func:`replaced_atomically` says beforehand which kind of file it will be."""
    if path == STDOUT:
        out = sys.stdout.buffer
        yield out
        out.flush()
        return
    st = _target_stat(path)
    if not replaced_atomically(path, st):
        try:
            with open(path, "wb") as fh:
                yield fh
        except OSError as exc:
            raise LossCliError(f"{path}: cannot write: {exc.strerror or exc}") from None
        return
    with _replacing(os.path.realpath(path), path, st) as fh:
        yield fh


def _target_stat(path: str) -> os.stat_result | None:
    try:
        st: os.stat_result | None = os.stat(path)  # through symbolic links
    except FileNotFoundError:
        st = None  # a new file (or a link to one that does not exist yet)
    except OSError as exc:
        raise LossCliError(f"{path}: cannot write: {exc.strerror or exc}") from None
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise LossCliError(f"{path}: is a directory, expected a file name to write")
    return st


def replaced_atomically(path: str, st: os.stat_result | None | bool = False) -> bool:
    """Whether :func:`output_file` writes ``path`` to a temporary file of its own (seekable,
    renamed over the target at the end), rather than standard output, a device, a FIFO or a file
    with other hard links, written in place."""
    if path == STDOUT:
        return False
    if st is False:
        st = _target_stat(path)
    assert st is not True
    return st is None or (stat.S_ISREG(st.st_mode) and st.st_nlink == 1)


@contextmanager
def _replacing(target: str, path: str, st: os.stat_result | None) -> Iterator[BinaryIO]:
    directory = os.path.dirname(target) or "."
    if not os.path.isdir(directory):
        raise LossCliError(f"{path}: cannot write, directory {directory} does not exist")
    tmp: str | None = None
    try:
        fd, tmp = _create_temporary(directory, os.path.basename(target), path)
        if st is not None:
            os.fchmod(fd, stat.S_IMODE(st.st_mode))
            if os.geteuid() == 0 and (st.st_uid, st.st_gid) != (0, 0):
                os.fchown(fd, st.st_uid, st.st_gid)
        else:
            os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "w+b") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
        _IN_FLIGHT.discard(tmp)
    except BaseException as exc:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            _IN_FLIGHT.discard(tmp)
        if isinstance(exc, OSError):
            raise LossCliError(f"{path}: cannot write: {exc.strerror or exc}") from None
        raise


def _create_temporary(directory: str, name: str, path: str) -> tuple[int, str]:
    """A new file ``.NAME.<8 hex digits>.tmp`` beside the target, opened exclusively. Its name is
    registered *before* it is created, so a signal at any moment finds it (a signal handler runs
    between any two steps, whichever thread the kernel delivered it to)."""
    for _ in range(100):
        # (os.urandom(4).hex() is secrets.token_hex(4) without importing secrets: hmac, hashlib, 8 ms)
        tmp = os.path.join(directory, f".{name}.{os.urandom(4).hex()}.tmp")
        _IN_FLIGHT.add(tmp)
        try:
            return os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o600), tmp
        except FileExistsError:
            _IN_FLIGHT.discard(tmp)
        except OSError as exc:
            _IN_FLIGHT.discard(tmp)
            raise LossCliError(f"{path}: cannot write: {exc.strerror or exc}") from None
    raise LossCliError(f"{path}: cannot write: no free temporary name in {directory}")


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def abandon() -> None:
    """Remove the temporary files of writes under way (a signal handler's last act before the
    process exits): the targets keep their previous content."""
    for tmp in list(_IN_FLIGHT):
        try:
            os.unlink(tmp)
        except OSError:
            pass
    _IN_FLIGHT.clear()


def write_text(path: str, text: str) -> None:
    write_output(path, lambda fh: fh.write(text.encode("utf-8")))


def _identity(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino) if stat.S_ISREG(st.st_mode) else None


def refuse_clobbering(outputs: Iterable[tuple[str, str | None]], inputs: Iterable[tuple[str, str]]) -> None:
    """Refuse, before anything runs, an output that is one of the inputs (the same file by its
    path, a symbolic link or a hard link) or the same file or stream as another output.
    ``outputs``: (option, path, ``-`` for standard output, or None when not asked for);
    ``inputs``: (what the user wrote, a path it reads)."""
    ins = [(label, _identity(p)) for label, p in inputs]
    seen: dict[object, tuple[str, str]] = {}
    for option, path in outputs:
        if path is None:
            continue
        if path == STDOUT:  # one stream cannot carry two outputs (a report and an NPZ, say)
            if STDOUT in seen:
                first_option = seen[STDOUT][0]
                raise LossCliError(f"{option} -: standard output is already taken by {first_option}; send one "
                                   "of them to a file")
            seen[STDOUT] = (option, path)
            continue
        ident: object = _identity(path)
        if ident is not None:
            for label, other in ins:
                if other == ident:
                    raise LossCliError(f"{path}: is also an input ({label}); refusing to overwrite an input")
        elif not os.path.exists(path):
            ident = os.path.realpath(path)  # two outputs about to create the same new file
        else:
            continue  # a device, a FIFO: written in place, nobody reads it back as a file
        if ident in seen:
            first_option, first_path = seen[ident]
            raise LossCliError(f"{option} {path}: is the same file as {first_option} {first_path}; "
                               "give two different files")
        seen[ident] = (option, path)
