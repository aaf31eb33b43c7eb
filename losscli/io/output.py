"""Writing outputs without harming what the user owns.

- ``-`` is standard output.
- A regular file (or a new name) is written to a temporary file of its own first; the target is
  touched only when everything has been written and flushed to disk, so a failure, Ctrl-C, SIGTERM
  or SIGHUP part-way leaves the previous file and no temporary one. Then:

  - replaced: the temporary file, beside the target, is renamed over it, and carries the target's
    owner, group, extended attributes (ACLs included) and mode, set in that order (a change of
    owner clears the setuid/setgid bits, so the mode comes last). A new file gets the mode the
    umask gives (0666 & ~umask).
  - copied in place, as a shell's ``>`` would write it, where a rename would lose something: a file
    with other hard links (they would keep the old content), a file whose owner or group this user
    cannot give to a new file (another user's, writable by this one), a file whose extended
    attributes cannot all be set on a new file, a file in a directory this user cannot create files
    in (or a sticky one, such as /tmp, where another user's file cannot be renamed over). Its
    length is reserved on the disk first, so a full disk leaves it as it was.

- A file this user may not write (``os.access``: root may, as with the shell) is refused.
- A symbolic link is followed: its target is written, the link stays a link.
- A path naming a stream this process already has open (``/dev/stdout``, ``/dev/stderr``,
  ``/dev/fd/N``, ``/proc/self/fd/N``, or a link to one) is written through that stream, as ``-``
  is: at its position, appending if the shell opened it with ``>>``; the file behind it is never
  renamed over or truncated. ``/dev/stdout`` is standard output: it cannot carry a second output.
- Anything else (a device such as ``/dev/null``, a FIFO, a socket) is written in place as it
  comes: it is a stream, not a file with a previous content.
- :func:`together`: the files of one run are committed (renamed or copied into place) only once
  every one of them has been written, back to back; a failure or a signal before that leaves every
  previous file.
- Which paths a command may not write (its own inputs, standard input's file, its other outputs,
  an empty path, a file it may not write) is decided before anything runs: :func:`refuse_clobbering`.
"""

from __future__ import annotations

import errno
import os
import stat
import sys
from contextlib import contextmanager
from typing import IO, BinaryIO, Callable, Iterable, Iterator, cast

from ..errors import LossCliError
from .streams import named_stdout

STDOUT = "-"
#: temporary files being written, removed by :func:`abandon` when a signal ends the process
_IN_FLIGHT: set[str] = set()
#: the outputs of the current :func:`together` block written and waiting to be committed (None:
#: outside one, each output is committed as soon as it is written)
_PENDING: list[_Commit] | None = None
#: commits under way: a signal handler's :func:`abandon` completes them rather than leave the
#: outputs of one run half old, half new
_COMMITTING: list[_Commit] = []
#: bytes copied at a time into a file written in place
COPY_BYTES = 2**20


def write_output(path: str, write: Callable[[BinaryIO], object]) -> None:
    """Call ``write(binary_file)`` for ``path`` by the rules above."""
    with output_file(path) as fh:
        write(fh)


@contextmanager
def output_file(path: str) -> Iterator[BinaryIO]:
    """The binary file to write ``path`` through, by the rules above: what is written inside the
    ``with`` reaches the target when it ends without an exception (at the end of the
    :func:`together` block around it, if any), and is thrown away otherwise.
    :func:`staged` says beforehand whether it is a temporary file of its own."""
    if path == STDOUT:
        try:
            out = sys.stdout.buffer
            yield out
            out.flush()
        except OSError as exc:
            raise named_stdout(exc) from None
        return
    fd = open_stream(path)
    if fd is not None:  # the stream itself, at its position: not the file the shell opened for it
        if fd in (1, 2):
            (sys.stdout if fd == 1 else sys.stderr).flush()
        with os.fdopen(os.dup(fd), "wb") as stream:
            yield stream
        return
    st = _target_stat(path)
    if not staged(path, st):
        try:
            with open(path, "wb") as fh:
                yield fh
        except OSError as exc:
            raise _cannot_write(path, exc) from None
        return
    _refuse_unwritable(path, st)  # (again: it may have changed while the run went on)
    with _staging(path, st) as fh:
        yield fh


def _cannot_write(path: str, exc: OSError) -> LossCliError:
    return LossCliError(f"{path}: cannot write: {write_failure(exc)}")


def write_failure(exc: OSError) -> str:
    """Why a write failed, for the user: the system's words, and for 'File too large' the limit
    that refused it (the process's file size limit, ``ulimit -f``, when one is set)."""
    text = exc.strerror or str(exc)
    if exc.errno == errno.EFBIG:
        import resource

        limit = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
        if limit != resource.RLIM_INFINITY:
            return (f"{text}: this process may write files of at most {limit:,} bytes (the shell's ulimit -f); "
                    "raise that limit, or write less")
    return text


def _target_stat(path: str) -> os.stat_result | None:
    try:
        st: os.stat_result | None = os.stat(path)  # through symbolic links
    except FileNotFoundError:
        st = None  # a new file (or a link to one that does not exist yet)
    except OSError as exc:
        raise _cannot_write(path, exc) from None
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise LossCliError(f"{path}: is a directory, expected a file name to write")
    return st


def staged(path: str, st: os.stat_result | None | bool = False) -> bool:
    """Whether :func:`output_file` writes ``path`` to a temporary file of its own (seekable, put in
    place at the end): a regular file or a new name, not standard output, a device or a FIFO."""
    if path == STDOUT or open_stream(path) is not None:
        return False
    if st is False:
        st = _target_stat(path)
    assert st is not True
    return st is None or stat.S_ISREG(st.st_mode)


#: the folders whose entries name this process's open descriptors
_FD_FOLDERS = ("/dev/fd", "/proc/self/fd")


def open_stream(path: str) -> int | None:
    """The descriptor of this process that ``path`` names, if it is open: ``/dev/stdout`` (1),
    ``/dev/stderr``, ``/dev/fd/N``, ``/proc/self/fd/N``, ``/proc/PID/fd/N``, or a link to one.
    (Following such a path to its end would give the file the shell redirected the stream to.)"""
    if path == STDOUT or not path:
        return None
    folders = {*_FD_FOLDERS, f"/proc/{os.getpid()}/fd"}
    here = os.path.abspath(path)
    for _ in range(40):  # (links to links, as the system follows them)
        folder, name = os.path.split(here)
        if name.isdigit() and (folder in folders or os.path.realpath(folder) in folders):
            try:
                os.fstat(int(name))
            except OSError:
                return None
            return int(name)
        if not os.path.islink(here):
            return None
        here = os.path.normpath(os.path.join(folder, os.readlink(here)))
    return None


def _writable(path: str, mode: int = os.W_OK) -> bool:
    """``os.access`` by the effective user (root may write a read-only file, as with the shell)."""
    return os.access(path, mode, effective_ids=os.access in os.supports_effective_ids)


def _refuse_unwritable(path: str, st: os.stat_result | None) -> None:
    """A regular file this user may not write, or a new file in a directory that is missing or
    that this user cannot create files in: refused, as the shell's ``>`` would fail."""
    if st is not None:
        if stat.S_ISREG(st.st_mode) and not _writable(path):
            raise LossCliError(f"{path}: cannot write: {os.strerror(errno.EACCES)}")
        return
    directory = os.path.dirname(os.path.realpath(path))
    if not os.path.isdir(directory):
        raise LossCliError(f"{path}: cannot write, directory {directory} does not exist")
    if not _writable(directory, os.W_OK | os.X_OK):
        raise LossCliError(f"{path}: cannot write: {os.strerror(errno.EACCES)}")


def _renamable(target: str, st: os.stat_result) -> bool:
    """Whether a new file may be renamed over ``target``: it is the file's only name, and this user
    can create files in its directory and rename over it there (in a sticky directory, such as
    /tmp, only the directory's and the file's owner can). Whether the new file can also have the
    target's owner, group, attributes and mode is learnt by trying (:func:`_keep_metadata`)."""
    if st.st_nlink != 1:
        return False
    directory = os.path.dirname(target) or "."
    if not _writable(directory, os.W_OK | os.X_OK):
        return False
    dir_st = os.stat(directory)
    euid = os.geteuid()
    return not (dir_st.st_mode & stat.S_ISVTX and euid not in (st.st_uid, dir_st.st_uid))


class _Commit:
    """One output written and flushed, waiting to be put in place: :meth:`commit` may run again
    after an interruption (a signal handler completing it), :meth:`discard` throws it away."""

    path: str

    def commit(self) -> None:
        raise NotImplementedError

    def discard(self) -> None:
        raise NotImplementedError


class _Rename(_Commit):
    """A temporary file beside the target, renamed over it."""

    def __init__(self, path: str, tmp: str, target: str):
        self.path, self.tmp, self.target = path, tmp, target

    def commit(self) -> None:
        os.replace(self.tmp, self.target)
        _IN_FLIGHT.discard(self.tmp)

    def discard(self) -> None:
        _unlink(self.tmp)


class _CopyIn(_Commit):
    """A temporary file copied into the target in place (which keeps its inode: its other names,
    owner, group, mode and attributes). The target's new length is reserved on the disk before a
    byte of it changes, so a full disk leaves it as it was."""

    def __init__(self, path: str, source: IO[bytes], target: str, tmp: str | None = None):
        self.path, self.source, self.target, self.tmp = path, source, target, tmp
        self.size = os.fstat(source.fileno()).st_size

    def commit(self) -> None:
        fd = os.open(self.target, os.O_WRONLY | getattr(os, "O_CLOEXEC", 0))
        try:
            _reserve(fd, self.size)
            self.source.seek(0)
            while chunk := self.source.read(COPY_BYTES):
                view = memoryview(chunk)
                while view:
                    view = view[os.write(fd, view):]
            os.ftruncate(fd, self.size)
            os.fsync(fd)
        finally:
            os.close(fd)
        self.discard()

    def discard(self) -> None:
        try:
            self.source.close()
        except OSError:
            pass
        if self.tmp is not None:
            _unlink(self.tmp)


def _reserve(fd: int, size: int) -> None:
    """Allocate ``size`` bytes of the file before writing it: a full disk fails here, with the
    file as it was (its length put back if the failed allocation changed it)."""
    before = os.fstat(fd).st_size
    if size <= before or not hasattr(os, "posix_fallocate"):
        return
    try:
        os.posix_fallocate(fd, 0, size)
    except OSError as exc:
        if os.fstat(fd).st_size != before:
            os.ftruncate(fd, before)
        if exc.errno not in (errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS):  # (no allocation on this file system)
            raise


def _unlink(tmp: str) -> None:
    try:
        os.unlink(tmp)
    except OSError:
        pass
    _IN_FLIGHT.discard(tmp)


@contextmanager
def _staging(path: str, st: os.stat_result | None) -> Iterator[BinaryIO]:
    """The temporary file an output is written to; at the end it is flushed to disk, given the
    target's metadata and committed (or left for :func:`together` to commit)."""
    target = os.path.realpath(path)
    directory = os.path.dirname(target) or "."
    rename = st is None or _renamable(target, st)
    tmp: str | None = None
    fh: IO[bytes] | None = None
    try:
        if rename:
            fd, tmp = _create_temporary(directory, os.path.basename(target), path)
            fh = os.fdopen(fd, "w+b")
        else:  # (copied in place at the end: an unnamed file, which no signal can leave behind)
            import tempfile

            fh = tempfile.TemporaryFile(dir=directory if _writable(directory, os.W_OK | os.X_OK) else None)
        yield cast(BinaryIO, fh)
        fh.flush()
        if tmp is None:
            done: _Commit = _CopyIn(path, fh, target)
        elif _keep_metadata(fh.fileno(), target, st):
            os.fsync(fh.fileno())
            fh.close()
            done = _Rename(path, tmp, target)
        else:  # (an attribute a new file cannot have: the target is written in place instead)
            done = _CopyIn(path, fh, target, tmp)
        fh = None
        tmp = None
    except BaseException as exc:
        if fh is not None:
            try:
                fh.close()
            except OSError:
                pass
        if tmp is not None:
            _unlink(tmp)
        if isinstance(exc, OSError):
            raise _cannot_write(path, exc) from None
        raise
    if _PENDING is not None:
        _PENDING.append(done)
    else:
        _commit([done])


def _keep_metadata(fd: int, target: str, st: os.stat_result | None) -> bool:
    """Give the new file ``fd`` the target's owner and group, extended attributes and mode, in that
    order (a change of owner clears the setuid/setgid bits and file capabilities; this is done after
    the data are written, which would clear them too). False when one of them cannot be given (the
    file is another user's, its group not one of this user's, an attribute cannot be set): the
    target is then written in place."""
    if st is None:
        os.fchmod(fd, 0o666 & ~_umask())
        return True
    try:
        now = os.fstat(fd)
        if (now.st_uid, now.st_gid) != (st.st_uid, st.st_gid):
            os.fchown(fd, st.st_uid, st.st_gid)
        if not _copy_xattrs(target, fd):
            return False
        os.fchmod(fd, stat.S_IMODE(st.st_mode))
    except PermissionError:
        return False
    now = os.fstat(fd)  # (chmod may drop the setgid bit silently, for a group this user is not in)
    return (now.st_uid, now.st_gid, now.st_mode) == (st.st_uid, st.st_gid, st.st_mode)


def _copy_xattrs(target: str, fd: int) -> bool:
    """Make the extended attributes of ``fd`` those of ``target`` (user attributes, ACLs, security
    labels); False when one cannot be set or removed."""
    if not hasattr(os, "listxattr"):
        return True
    try:
        names = os.listxattr(target)
    except OSError:
        return True  # (a file system without them)
    try:
        for name in set(os.listxattr(fd)) - set(names):  # (a default ACL of the directory, a label given the new file)
            os.removexattr(fd, name)
        for name in names:
            value = os.getxattr(target, name)
            try:
                if os.getxattr(fd, name) == value:
                    continue
            except OSError:
                pass
            os.setxattr(fd, name, value)
    except OSError:
        return False
    return True


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
            raise _cannot_write(path, exc) from None
    raise LossCliError(f"{path}: cannot write: no free temporary name in {directory}")


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextmanager
def together() -> Iterator[None]:
    """The files written inside (by :func:`output_file`) are committed together at the end, once
    every one of them has been written and flushed: copies in place first (the step a full disk
    could still stop), then the renames, back to back. An exception or a signal before that
    leaves every previous file. (Nested: the outermost block commits.)"""
    global _PENDING
    if _PENDING is not None:
        yield
        return
    _PENDING = []
    try:
        yield
    except BaseException:
        pending, _PENDING = _PENDING, None
        for done in pending:
            done.discard()
        raise
    pending, _PENDING = _PENDING, None
    _commit(pending)


def _commit(pending: list[_Commit]) -> None:
    """Put each output in place; Ctrl-C or a signal handler's :func:`abandon` part-way completes
    the rest (they are all written: a run half old, half new would be the only harm left)."""
    _COMMITTING[:] = sorted(pending, key=lambda done: isinstance(done, _Rename))
    try:
        while _COMMITTING:
            _COMMITTING[0].commit()
            del _COMMITTING[0]
    except KeyboardInterrupt:
        _complete()
        raise
    except OSError as exc:
        failed = _COMMITTING.pop(0)
        for done in [failed, *_COMMITTING]:
            done.discard()
        _COMMITTING.clear()
        raise _cannot_write(failed.path, exc) from None


def _complete() -> None:
    while _COMMITTING:
        done = _COMMITTING.pop(0)
        try:
            done.commit()
        except (OSError, ValueError):  # (a rename already done: its temporary file is gone)
            done.discard()


def abandon() -> None:
    """A signal handler's last act before the process exits: complete the commits under way, and
    remove the temporary files of the writes under way (their targets keep their previous
    content)."""
    _complete()
    for tmp in list(_IN_FLIGHT):
        _unlink(tmp)
    _IN_FLIGHT.clear()


def write_text(path: str, text: str) -> None:
    write_output(path, lambda fh: fh.write(text.encode("utf-8")))


def _identity(path: str | int) -> tuple[int, int] | None:
    """A regular file's (device, inode), by its path or an open descriptor; None for anything else."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino) if stat.S_ISREG(st.st_mode) else None


def _named(option: str, path: str) -> str:
    """An output as the user wrote it: ``--output FILE``, ``--report json:FILE``."""
    return option if option.endswith(f":{path}") else f"{option} {path}"


def refuse_clobbering(outputs: Iterable[tuple[str, str | None]], inputs: Iterable[tuple[str, str]]) -> None:
    """Refuse, before anything runs, an output that is an empty path, one of the inputs (the same
    file by its path, a symbolic link or a hard link), the file standard input was redirected from
    (``< FILE``: whether the command reads it or not), the same file or stream as another output,
    or a file this user may not write.
    ``outputs``: (option, path, ``-`` for standard output, or None when not asked for);
    ``inputs``: (what the user wrote, a path it reads)."""
    ins = [(label, _identity(p)) for label, p in inputs] + [("standard input", _identity(0))]
    seen: dict[object, tuple[str, str]] = {}
    for option, path in outputs:
        if path is None:
            continue
        if not path:
            raise LossCliError(f"{option}: an empty path; name a file to write, or - for standard output")
        fd = 1 if path == STDOUT else open_stream(path)
        # one stream cannot carry two outputs (a report and an NPZ, say); standard input's file,
        # by /dev/stdin, is refused below as the input it is
        if fd:
            if ("fd", fd) in seen:
                first_option, first_path = seen[("fd", fd)]
                stream = "standard output" if fd == 1 else "standard error" if fd == 2 else f"descriptor {fd}"
                first = first_option if first_path == STDOUT else _named(first_option, first_path)
                raise LossCliError(f"{_named(option, path)}: {stream} is already taken by {first}; send one of "
                                   "them to a file")
            seen[("fd", fd)] = (option, path)
            continue
        st = _target_stat(path)
        ident: object = _identity(path)
        if ident is not None:
            for label, other in ins:
                if other == ident:
                    raise LossCliError(f"{path}: is also an input ({label}); refusing to overwrite an input")
        elif st is None:
            ident = os.path.realpath(path)  # two outputs about to create the same new file
        else:
            continue  # a device, a FIFO: written in place, nobody reads it back as a file
        if ident in seen:
            first_option, first_path = seen[ident]
            raise LossCliError(f"{_named(option, path)}: is the same file as {_named(first_option, first_path)}; "
                               "give two different files")
        seen[ident] = (option, path)
        _refuse_unwritable(path, st)
