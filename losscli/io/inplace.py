"""Writing a file in place without harm (``replace._CopyIn`` does it): the blocks of its new
content reserved first, its length unchanged (``fallocate(FALLOC_FL_KEEP_SIZE)``), so a full disk
stops the write before a byte changes; on a copy-on-write file system (btrfs, ZFS), where every
rewritten block takes a new one, the new content's blocks shared in one step (``FICLONE``), and a
rewrite that needs more free space than there is refused before it starts."""

from __future__ import annotations

import errno
import os
import sys
from typing import IO

from .attributes import COPY_ON_WRITE, NO_COPY_ON_WRITE, filesystem_type, inode_flags


#: Linux's fallocate(2) mode that allocates blocks without changing the file's length
_KEEP_SIZE = 1


def reserve_blocks(fd: int, size: int) -> None:
    """Allocate the blocks of the file's first ``size`` bytes before writing them (a sparse file's
    holes too), its length unchanged (``fallocate(FALLOC_FL_KEEP_SIZE)``): a full disk fails here,
    with the file as it was, and a process killed after it leaves the file as it was. Where there
    is no such call (not Linux, not glibc), ``posix_fallocate`` of a longer file, its length put
    back when it fails; nothing where the file system has no allocation (ext2, NFSv3, FUSE)."""
    if not size:
        return
    fallocate = _fallocate()
    if fallocate is not None:
        import ctypes

        if fallocate(fd, _KEEP_SIZE, ctypes.c_int64(0), ctypes.c_int64(size)) == 0:
            return
        err = ctypes.get_errno()
        if err in (errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS, errno.EBADF):  # (no allocation on this file system)
            return
        raise OSError(err, os.strerror(err))
    before = os.fstat(fd).st_size
    if size <= before or not hasattr(os, "posix_fallocate"):
        return
    try:
        os.posix_fallocate(fd, 0, size)
    except OSError as exc:
        if os.fstat(fd).st_size != before:
            os.ftruncate(fd, before)
        # (EBADF: glibc's emulation, where the file system has no fallocate, reads the file opened to write)
        if exc.errno not in (errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS, errno.EBADF):
            raise


def _fallocate():
    """libc's ``fallocate`` (Linux), or None."""
    global _FALLOCATE
    if _FALLOCATE is False:
        if not sys.platform.startswith("linux"):
            _FALLOCATE = None
        else:
            import ctypes

            try:
                fn = ctypes.CDLL(None, use_errno=True).fallocate
                fn.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64]
                fn.restype = ctypes.c_int
                _FALLOCATE = fn
            except (OSError, AttributeError):
                _FALLOCATE = None
    return _FALLOCATE


_FALLOCATE: object = False  # (looked up once)


#: Linux's FICLONE (``_IOW(0x94, 9, int)``): the target shares the source's blocks, in one step
_FICLONE = 0x40049409


def clone(fd: int, source: IO[bytes], size: int, before: int) -> bool:
    """Give the target ``fd`` the source's content by sharing its blocks (a copy-on-write file
    system: btrfs, XFS with reflinks), where rewriting it in place would need a new block for each
    block written, which ``posix_fallocate`` does not reserve there: a full disk then stopped the
    copy half-way. One step that changes the whole file or nothing; False where the file system
    cannot (ext4, tmpfs, another file system than the source's), and the copy goes on as before.
    (The source is lengthened with a hole to the target's length first: a clone whose unaligned
    end falls inside the target is refused.)"""
    if not sys.platform.startswith("linux"):
        return False
    import fcntl

    src = source.fileno()
    try:
        if before > size:
            os.ftruncate(src, before)
        fcntl.ioctl(fd, _FICLONE, src)
    except OSError:
        return False
    finally:
        if before > size:
            os.ftruncate(src, size)
    os.ftruncate(fd, size)
    return True


def refuse_short_copy_on_write(fd: int, path: str, size: int) -> None:
    """On a copy-on-write file system (btrfs, ZFS, bcachefs) whose free space is less than the new
    content, a copy in place would fail part-way: refused before a byte changes (a file that is
    not copied on write, ``chattr +C``, rewrites its own blocks: not refused)."""
    if filesystem_type(path) not in COPY_ON_WRITE or inode_flags(fd) & NO_COPY_ON_WRITE:
        return
    refuse_short(path, size, " (a copy-on-write file system: rewriting the file in place takes as much free "
                              "space as it holds)")


def refuse_short(where: str, size: int, why: str = "") -> None:
    """Refused before a byte changes: fewer than ``size`` bytes free on the file system of ``where``."""
    st = os.statvfs(where)
    free = st.f_bavail * st.f_frsize
    if free < size:
        raise OSError(errno.ENOSPC, f"{os.strerror(errno.ENOSPC)}{why}: {size:,} bytes to write, {free:,} free")
