"""What a file carries beside its bytes, as a replacement must keep it (``replace.py``):
extended attributes (ACLs, security labels, user attributes), inode flags (``chattr``: no dump,
no atime, synchronous; immutable and append only, which no output may be written over), and
whether the file is a mount point (a bind mount, which no rename may replace), and the type of
file system it is on (copy-on-write or not)."""

from __future__ import annotations

import os
import sys
from typing import cast


#: inode flags (``chattr``, ``lsattr``) a replacement takes from the file it replaces: s u c S d A
#: E m j t C x (secure deletion, undeletable, compressed, synchronous, no dump, no access times,
#: encrypted-compression, no compression, data journalled, no tail merging, no copy-on-write,
#: direct access: DAX)
KEPT_FLAGS = 0x1 | 0x2 | 0x4 | 0x8 | 0x40 | 0x80 | 0x200 | 0x400 | 0x4000 | 0x8000 | 0x800000 | 0x2000000
#: flags no output may be written over: immutable (i) and append only (a)
APPEND_ONLY = 0x20
#: chattr +C: a file whose blocks are rewritten where they are, even on a copy-on-write file system
NO_COPY_ON_WRITE = 0x800000
LOCKED_FLAGS = {0x10: "immutable (chattr +i)", APPEND_ONLY: "append only (chattr +a)"}


def _flags_ioctl(write: bool) -> int | None:
    """Linux's FS_IOC_GETFLAGS / FS_IOC_SETFLAGS request numbers (``_IOR``/``_IOW('f', 1|2, long)``
    in the generic encoding; None where this is not Linux or its ioctl numbers are encoded otherwise)."""
    import platform
    import struct

    if not sys.platform.startswith("linux") or platform.machine().startswith(("ppc", "powerpc", "mips", "sparc",
                                                                                "alpha")):
        return None
    return (0x40000000 if write else 0x80000000) | struct.calcsize("l") << 16 | ord("f") << 8 | (2 if write else 1)


def inode_flags(fd: int) -> int:
    """The inode flags of an open file (0 where the file system or system has none)."""
    request = _flags_ioctl(False)
    if request is None:
        return 0
    import fcntl
    import struct

    try:
        return struct.unpack("i", fcntl.ioctl(fd, request, bytes(4)))[0]
    except OSError:
        return 0


def locked(path: str) -> str | None:
    """What makes ``path`` a file no output may replace (immutable, append only), or None."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return None
    try:
        flags = inode_flags(fd)
    finally:
        os.close(fd)
    return next((text for bit, text in LOCKED_FLAGS.items() if flags & bit), None)


def copy_inode_flags(target: str, fd: int) -> bool:
    """Give ``fd`` the target's :data:`KEPT_FLAGS`; False when they cannot be set as they are."""
    try:
        source = os.open(target, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return True
    try:
        want = inode_flags(source) & KEPT_FLAGS
    finally:
        os.close(source)
    have = inode_flags(fd)
    if have & KEPT_FLAGS == want:
        return True
    import fcntl
    import struct

    try:
        fcntl.ioctl(fd, cast(int, _flags_ioctl(True)), struct.pack("i", have & ~KEPT_FLAGS | want))
    except OSError:
        return False
    return inode_flags(fd) & KEPT_FLAGS == want


def _mounts() -> list[tuple[bytes, bytes]] | None:
    """(mount point, file system type) of each line of /proc/self/mountinfo, whose mount points
    escape a space, tab, newline and backslash in octal; None where there is none."""
    import re

    try:
        with open("/proc/self/mountinfo", "rb") as fh:
            table = fh.read()
    except OSError:
        return None
    out = []
    for line in table.splitlines():
        fields = line.split(b" ")
        if len(fields) > 4 and b"-" in fields[5:]:
            kind = fields[fields.index(b"-", 5) + 1:][:1]
            out.append((re.sub(rb"\\([0-7]{3})", lambda m: bytes([int(m.group(1), 8)]), fields[4]),
                        kind[0] if kind else b""))
    return out


def mount_point(path: str) -> bool:
    """Whether ``path`` (a real path) is mounted on, as a file bind-mounted into a container is
    (``docker run -v $PWD/r.json:/w/r.json``): renaming over it fails (EBUSY). Where there is no
    mount table, ``os.path.ismount``."""
    mounts = _mounts()
    if mounts is None:
        return os.path.ismount(path)
    want = os.fsencode(path)
    return any(point == want for point, _ in mounts)


#: file systems that write every changed block anew (copy-on-write): rewriting a file in place
#: needs as much free space as is rewritten
COPY_ON_WRITE = frozenset({"btrfs", "zfs", "bcachefs"})


def filesystem_type(path: str) -> str:
    """The type of the file system ``path`` is on (``ext4``, ``btrfs``, ``tmpfs``), from the mount
    whose point is the longest that holds its real path; '' where that cannot be told."""
    mounts = _mounts() or []
    want = os.fsencode(os.path.realpath(path))
    best, kind = b"", b""
    for point, fstype in mounts:
        inside = want == point or want.startswith(point.rstrip(b"/") + b"/")
        if inside and len(point) >= len(best):
            best, kind = point, fstype
    return os.fsdecode(kind)


def copy_xattrs(target: str, fd: int) -> bool:
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
