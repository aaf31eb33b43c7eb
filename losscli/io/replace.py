"""Replacing a file without harming it (the rules are in ``output.py``): the temporary file
beside the target, the target's owner, group, extended attributes, inode flags and mode given to
it (what a file carries is ``attributes.py``), the copy in place where a rename would lose
something (its blocks reserved, shared or refused: ``inplace.py``), the files of one run committed
together, and what a signal leaves (every target as it was, no temporary file)."""

from __future__ import annotations

import errno
import os
import stat
from contextlib import contextmanager
from typing import IO, BinaryIO, Iterator, cast

from ..errors import LossCliError
from .attributes import APPEND_ONLY, LOCKED_FLAGS, copy_inode_flags, copy_xattrs, locked, mount_point
from .inplace import clone, refuse_short, refuse_short_copy_on_write, reserve_blocks

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


def cannot_write(path: str, exc: OSError) -> LossCliError:
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


def writable(path: str, mode: int = os.W_OK) -> bool:
    """``os.access`` by the effective user (root may write a read-only file, as with the shell)."""
    return os.access(path, mode, effective_ids=os.access in os.supports_effective_ids)


def _renamable(target: str, st: os.stat_result) -> bool:
    """Whether a new file may be renamed over ``target``: it is the file's only name, not a mount
    point, and this user can create files in its directory and rename over it there (in a sticky
    directory, such as /tmp, only the directory's and the file's owner can). Whether the new file
    can also have the target's owner, group, attributes and mode is learnt by trying
    (:func:`_keep_metadata`)."""
    if st.st_nlink != 1 or mount_point(target):
        return False
    directory = os.path.dirname(target) or "."
    if not writable(directory, os.W_OK | os.X_OK):
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
    """A temporary file beside the target, renamed over it. ``unnamed``: the file, open, has no
    name yet (``O_TMPFILE``): it is given ``tmp`` only when it is put in place, so that a process
    killed before (SIGKILL, the out-of-memory killer, a CI step's timeout) leaves nothing."""

    def __init__(self, path: str, tmp: str, target: str, unnamed: IO[bytes] | None = None):
        self.path, self.tmp, self.target, self.unnamed = path, tmp, target, unnamed

    def commit(self) -> None:
        if self.unnamed is not None:
            _IN_FLIGHT.add(self.tmp)  # (before it has the name: a signal at any moment finds it)
            if not _names(self.tmp, self.unnamed.fileno()):  # (a commit run again after a signal: linked once)
                fds = os.open("/proc/self/fd", os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_CLOEXEC", 0))
                try:  # (linkat through /proc with AT_SYMLINK_FOLLOW: os.link calls link(2), which does not
                    # follow the descriptor's link, unless a directory descriptor is given)
                    os.link(str(self.unnamed.fileno()), self.tmp, src_dir_fd=fds, follow_symlinks=True)
                finally:
                    os.close(fds)
            fh, self.unnamed = self.unnamed, None
            fh.close()
        os.replace(self.tmp, self.target)
        _IN_FLIGHT.discard(self.tmp)

    def discard(self) -> None:
        if self.unnamed is not None:
            fh, self.unnamed = self.unnamed, None
            try:
                fh.close()
            except OSError:
                pass
            return
        _unlink(self.tmp)


def _give_back(fd: int) -> None:
    """Free the blocks reserved past a file's end (a reservation given back, or one that failed
    part-way: a truncation to the length it has now, so a writer that appended meanwhile keeps its
    bytes), and close it."""
    try:
        os.ftruncate(fd, os.fstat(fd).st_size)
    except OSError:
        pass
    finally:
        os.close(fd)


def _names(path: str, fd: int) -> bool:
    """Whether ``path`` names the file open as ``fd``."""
    try:
        a, b = os.stat(path), os.fstat(fd)
    except OSError:
        return False
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


class _CopyIn(_Commit):
    """A temporary file copied into the target in place (which keeps its inode: its other names,
    owner, group, mode and attributes). The blocks of the target's new content are reserved on
    the disk before a byte of it changes, without changing its length (a process killed then
    leaves it as it was), so a full disk leaves it as it was."""

    def __init__(self, path: str, source: IO[bytes], target: str, tmp: str | None = None, create: bool = False):
        self.path, self.source, self.target, self.tmp = path, source, target, tmp
        self.create = create  # a new file (in an append-only directory): made when it is written
        self.size = os.fstat(source.fileno()).st_size
        self.fd: int | None = None  # the target, open and its new content's blocks reserved (:meth:`reserve`)
        self.reserved = False
        self.before = 0  # its length before

    def reserve(self) -> None:
        """Open the target and reserve its new content's blocks, not a byte of it, nor its length,
        changed: a full disk fails here. The files of one run are all reserved before any is
        written (:func:`_commit`), and before anything goes to standard output. A new file (in an
        append-only directory, where nothing once made can be removed) is made only when it is
        written: here the free space is looked at."""
        if self.reserved:
            return
        if self.create:
            refuse_short(os.path.dirname(self.target) or ".", self.size)
            self.reserved = True
            return
        fd = os.open(self.target, os.O_WRONLY | getattr(os, "O_CLOEXEC", 0))
        try:
            self.before = os.fstat(fd).st_size
            # (even where the new content's blocks could be shared, clone: a clone on a nearly full
            # copy-on-write file system fails for want of room too, and the copy after it would stop part-way)
            refuse_short_copy_on_write(fd, self.target, self.size)
            reserve_blocks(fd, self.size)
        except BaseException:
            _give_back(fd)
            raise
        self.fd, self.reserved = fd, True

    def release(self) -> None:
        """Give a reservation back (:func:`_give_back`)."""
        fd, self.fd = self.fd, None
        self.reserved = False
        if fd is not None:
            _give_back(fd)

    def commit(self) -> None:
        self.reserve()
        fd, self.fd = self.fd, None
        if fd is None:  # (a new file: made now, its blocks reserved first)
            fd = os.open(self.target, os.O_WRONLY | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o666)
            try:
                reserve_blocks(fd, self.size)
            except BaseException:
                _give_back(fd)
                raise
        try:
            if clone(fd, self.source, self.size, self.before):
                os.fsync(fd)
                os.close(fd)
                fd = -1
                self.discard()
                return
            refuse_short_copy_on_write(fd, self.target, self.size)  # (again: the space may have gone since)
            self.source.seek(0)
            while chunk := self.source.read(COPY_BYTES):
                view = memoryview(chunk)
                while view:
                    view = view[os.write(fd, view):]
            os.ftruncate(fd, self.size)
            os.fsync(fd)
        finally:
            if fd >= 0:
                os.close(fd)
        self.discard()

    def discard(self) -> None:
        try:
            self.release()
        except OSError:
            pass
        try:
            self.source.close()
        except OSError:
            pass
        if self.tmp is not None:
            _unlink(self.tmp)


def _unlink(tmp: str) -> None:
    try:
        os.unlink(tmp)
    except OSError:
        pass
    _IN_FLIGHT.discard(tmp)


@contextmanager
def staging(path: str, st: os.stat_result | None) -> Iterator[BinaryIO]:
    """The temporary file an output is written to; at the end it is flushed to disk, given the
    target's metadata and committed (or left for :func:`together` to commit)."""
    target = os.path.realpath(path)
    directory = os.path.dirname(target) or "."
    # (a directory that is append only, chattr +a, takes new names but lets none be renamed over or
    # removed: the file is written in place, from a temporary file elsewhere)
    append_only = locked(directory) == LOCKED_FLAGS[APPEND_ONLY]
    rename = not append_only and (st is None or _renamable(target, st))
    tmp: str | None = None
    unnamed = False
    fh: IO[bytes] | None = None
    try:
        if rename:
            # (a new file is created with the mode the shell's > gives it, 0666 less the umask or
            # as the directory's default ACL says; a replacement is private until it has the target's)
            fd, tmp, unnamed = _create_temporary(directory, os.path.basename(target), path,
                                                 0o666 if st is None else 0o600)
            fh = os.fdopen(fd, "w+b")
        else:  # (copied in place at the end: an unnamed file, which no signal can leave behind)
            import tempfile

            here = writable(directory, os.W_OK | os.X_OK) and not append_only
            fh = tempfile.TemporaryFile(dir=directory if here else None)
        yield cast(BinaryIO, fh)
        fh.flush()
        if tmp is None:
            done: _Commit = _CopyIn(path, fh, target, create=st is None)
        elif _keep_metadata(fh.fileno(), target, st):
            os.fsync(fh.fileno())
            if unnamed:
                done = _Rename(path, tmp, target, fh)
            else:
                fh.close()
                done = _Rename(path, tmp, target)
        else:  # (an attribute a new file cannot have: the target is written in place instead)
            done = _CopyIn(path, fh, target, None if unnamed else tmp)
        fh = None
        tmp = None
    except BaseException as exc:
        if fh is not None:
            try:
                fh.close()
            except OSError:
                pass
        if tmp is not None and not unnamed:
            _unlink(tmp)
        if isinstance(exc, OSError):
            raise cannot_write(path, exc) from None
        raise
    if _PENDING is not None:
        _PENDING.append(done)
    else:
        _commit([done])


def _keep_metadata(fd: int, target: str, st: os.stat_result | None) -> bool:
    """Give the new file ``fd`` the target's owner and group, extended attributes, inode flags and
    mode, in that order (a change of owner clears the setuid/setgid bits and file capabilities; this is done after
    the data are written, which would clear them too). False when one of them cannot be given (the
    file is another user's, its group not one of this user's, an attribute cannot be set): the
    target is then written in place."""
    if st is None:
        return True  # (created with its mode)
    try:
        now = os.fstat(fd)
        if (now.st_uid, now.st_gid) != (st.st_uid, st.st_gid):
            os.fchown(fd, st.st_uid, st.st_gid)
        if not (copy_xattrs(target, fd) and copy_inode_flags(target, fd)):
            return False
        os.fchmod(fd, stat.S_IMODE(st.st_mode))
    except PermissionError:
        return False
    now = os.fstat(fd)  # (chmod may drop the setgid bit silently, for a group this user is not in)
    return (now.st_uid, now.st_gid, now.st_mode) == (st.st_uid, st.st_gid, st.st_mode)


#: the longest file name most file systems take (ext4, XFS, btrfs, tmpfs: 255 bytes)
NAME_MAX = 255


def _create_temporary(directory: str, name: str, path: str, mode: int) -> tuple[int, str, bool]:
    """A new file for the target, opened with ``mode`` (less the umask, or as the directory's
    default ACL says), and the name ``.NAME.<8 hex digits>.tmp`` beside the target it is renamed
    from (NAME cut to fit in NAME_MAX bytes: a target's name of 250 is legal); and whether it is
    unnamed until then (``O_TMPFILE``, where the file system and /proc allow it: nothing is left
    behind by a process killed while writing it). Otherwise it is created under that name,
    exclusively, the name registered *before* it is created, so a signal at any moment finds it
    (a signal handler runs between any two steps, whichever thread the kernel delivered it to)."""
    stem = os.fsdecode(os.fsencode(name)[:NAME_MAX - len(".12345678.tmp") - 1])
    # (os.urandom(4).hex() is secrets.token_hex(4) without importing secrets: hmac, hashlib, 8 ms)
    if hasattr(os, "O_TMPFILE") and os.path.isdir("/proc/self/fd"):
        try:
            fd = os.open(directory, os.O_TMPFILE | os.O_RDWR | getattr(os, "O_CLOEXEC", 0), mode)
            return fd, os.path.join(directory, f".{stem}.{os.urandom(4).hex()}.tmp"), True
        except OSError as exc:
            if exc.errno not in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL, errno.ENOENT):
                raise cannot_write(path, exc) from None
    for _ in range(100):
        tmp = os.path.join(directory, f".{stem}.{os.urandom(4).hex()}.tmp")
        _IN_FLIGHT.add(tmp)
        try:
            return os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), mode), tmp, False
        except FileExistsError:
            _IN_FLIGHT.discard(tmp)
        except OSError as exc:
            _IN_FLIGHT.discard(tmp)
            raise cannot_write(path, exc) from None
    raise LossCliError(f"{path}: cannot write: no free temporary name in {directory}")


@contextmanager
def together() -> Iterator[None]:
    """The files written inside (by :func:`output_file`) are committed together at the end, once
    every one of them has been written and flushed: copies in place first (the step a full disk
    could still stop), then the renames, back to back. An exception or a signal before that
    leaves every previous file, but a closed pipe (the reader of standard output went away): the
    files written by then are committed. (Nested: the outermost block commits.)"""
    global _PENDING
    if _PENDING is not None:
        yield
        return
    _PENDING = []
    try:
        yield
    except BaseException as exc:
        pending, _PENDING = _PENDING, None
        if isinstance(exc, OSError) and exc.errno == errno.EPIPE:
            # (standard output's reader went away, `| head`: what it wanted is read, and the files the run
            # finished are its results; kept back, a CI step would read the previous run's report as this one's)
            _commit(pending)
            raise
        for done in pending:
            done.discard()
        raise
    pending, _PENDING = _PENDING, None
    _commit(pending)


def reserve_written() -> None:
    """Inside :func:`together`, reserve the new lengths of the files written so far that are copied
    in place (the one step a full disk can still stop): before the result goes to standard output,
    so that a file that could not be put in place ends the run with nothing there (exit 2 means
    nothing on standard output). They are put in place at the end of the block, as before; a
    failure or a signal before that gives the reservations back."""
    for done in _PENDING or ():
        if isinstance(done, _CopyIn):
            try:
                done.reserve()
            except OSError as exc:
                raise cannot_write(done.path, exc) from None


def _commit(pending: list[_Commit]) -> None:
    """Put each output in place; Ctrl-C or a signal handler's :func:`abandon` part-way completes
    the rest (they are all written: a run half old, half new would be the only harm left). The
    copies in place have their new lengths reserved first, all of them: a full disk then stops
    the run before any file changed (one reserved and written before the next failed left the
    run's outputs half new)."""
    _COMMITTING[:] = sorted(pending, key=lambda done: isinstance(done, _Rename))
    current: _Commit | None = None
    try:
        for current in [done for done in _COMMITTING if isinstance(done, _CopyIn)]:
            current.reserve()
        while _COMMITTING:
            current = _COMMITTING[0]
            current.commit()
            del _COMMITTING[0]
    except KeyboardInterrupt:
        _complete()
        raise
    except OSError as exc:
        for done in _COMMITTING:  # (reservations given back: every target as it was)
            done.discard()
        _COMMITTING.clear()
        raise cannot_write(current.path if current is not None else "output", exc) from None


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
    for done in _PENDING or ():  # (lengths reserved before standard output was written: given back)
        if isinstance(done, _CopyIn):
            try:
                done.release()
            except OSError:
                pass
    for tmp in list(_IN_FLIGHT):
        _unlink(tmp)
    _IN_FLIGHT.clear()
