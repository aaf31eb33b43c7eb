"""Writing outputs without harming what the user owns.

- ``-`` is standard output.
- A regular file (or a new name) is written to a temporary file of its own first; the target is
  touched only when everything has been written and flushed to disk, so a failure, Ctrl-C, SIGTERM
  or SIGHUP part-way leaves the previous file and no temporary one. Then:

  - replaced: the temporary file, beside the target, is renamed over it, and carries the target's
    owner, group, extended attributes (ACLs included), inode flags (``chattr``: no dump, no atime,
    synchronous, ...) and mode, set in that order (a change of owner clears the setuid/setgid bits,
    so the mode comes last). A new file gets the mode the
    shell's ``>`` gives it (0666 less the umask, or what the directory's default ACL says).
  - copied in place, as a shell's ``>`` would write it, where a rename would lose something: a file
    with other hard links (they would keep the old content), a file whose owner or group this user
    cannot give to a new file (another user's, writable by this one), a file whose extended
    attributes or inode flags cannot all be set on a new file, a file mounted on its name (a bind
    mount: ``docker run -v $PWD/r.json:/w/r.json``), a file in a directory this user cannot create files
    in (or a sticky one, such as /tmp, where another user's file cannot be renamed over), a file in
    a directory that is append only (``chattr +a``: a new file is created there in place). Its
    new content's blocks are reserved on the disk first (a sparse file's holes too), its length
    unchanged, so a full disk leaves it as it was; on a copy-on-write file system it shares the new
    content's blocks in one step (``FICLONE``), and is refused when the space a rewrite takes is not free.

- A file this user may not write (``os.access``: root may, as with the shell), or that is
  immutable or append only (``chattr +i``, ``+a``: not even root may replace it), is refused.
- A symbolic link is followed: its target is written, the link stays a link.
- A path naming a stream this process already has open (``/dev/stdout``, ``/dev/stderr``,
  ``/dev/fd/N``, ``/proc/self/fd/N``, or a link to one) is written through that stream, as ``-``
  is: at its position, appending if the shell opened it with ``>>``; the file behind it is never
  renamed over or truncated. ``/dev/stdout`` is standard output: it cannot carry a second output.
- Anything else (a character device such as ``/dev/null``, a FIFO, a socket) is written in place as
  it comes: it is a stream, not a file with a previous content. A block device (a disk, a
  partition) is refused: written from its first byte, it would lose its partition table.
- ``replace.together``: the files of one run are committed (renamed or copied into place) only
  once every one of them has been written, back to back; a failure or a signal before that leaves
  every previous file. How a file is replaced (its temporary file, metadata, commit) is
  ``replace.py``.
- Which paths a command may not write (its own inputs, standard input's file, its other outputs,
  an empty path, a file it may not write) is decided before anything runs: :func:`refuse_clobbering`.
"""

from __future__ import annotations

import errno
import io
import os
import stat
import sys
from contextlib import contextmanager
from typing import BinaryIO, Callable, Iterable, Iterator, cast

from ..errors import LossCliError
from .attributes import locked
from .replace import cannot_write, staging, writable
from ..stdio import CLOSED, STANDARD, inherited
from .streams import named_stdout

STDOUT = "-"


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
            yield as_it_comes(out)
            out.flush()
        except OSError as exc:
            raise named_stdout(exc) from None
        return
    fd = open_stream(path)
    if fd is not None:  # the stream itself, at its position: not the file the shell opened for it
        if fd in (1, 2):
            (sys.stdout if fd == 1 else sys.stderr).flush()
        try:
            with os.fdopen(os.dup(fd), "wb") as stream:
                yield as_it_comes(stream)
        except OSError as exc:  # (a descriptor opened for reading: 3< file, a pipe's read end)
            if exc.errno == errno.EPIPE:
                raise  # (its reader went away, as with -: nothing more to say)
            raise cannot_write(path, exc) from None
        return
    st = _target_stat(path)
    if not staged(path, st):
        try:
            with open(path, "wb") as fh:
                yield as_it_comes(fh)
        except OSError as exc:
            raise cannot_write(path, exc) from None
        return
    _refuse_unwritable(path, st)  # (again: it may have changed while the run went on)
    with staging(path, st) as fh:
        yield fh


class _AsItComes(io.RawIOBase):
    """A device, FIFO or socket written as the bytes come: never seeked, whatever it says of itself
    (``/dev/null`` says it is seekable and tells 0: an NPZ written to it ended in zipfile's
    'argument out of range', exit 3)."""

    def __init__(self, fh: BinaryIO):
        super().__init__()
        self.fh = fh

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:  # type: ignore[override]
        self.fh.write(data)
        return memoryview(data).nbytes

    def flush(self) -> None:
        self.fh.flush()


def as_it_comes(fh: BinaryIO) -> BinaryIO:
    """``fh`` where it is a regular file; otherwise written without seeking (:class:`_AsItComes`)."""
    try:
        regular = stat.S_ISREG(os.fstat(fh.fileno()).st_mode)
    except (OSError, ValueError, AttributeError):  # (not a file: a test runner's buffer)
        regular = False
    return fh if regular else cast(BinaryIO, _AsItComes(fh))


def _target_stat(path: str) -> os.stat_result | None:
    try:
        st: os.stat_result | None = os.stat(path)  # through symbolic links
    except FileNotFoundError:
        st = None  # a new file (or a link to one that does not exist yet)
    except OSError as exc:
        raise cannot_write(path, exc) from None
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
    """The descriptor of this process that ``path`` names: ``/dev/stdout`` (1), ``/dev/stderr``,
    ``/dev/fd/N``, ``/proc/self/fd/N``, ``/proc/PID/fd/N``, or a link to one. (Following such a path
    to its end would give the file the shell redirected the stream to.) One the run was not started
    with (closed by the shell; its number is the next file's opened) is refused."""
    if path == STDOUT or not path:
        return None
    folders = {*_FD_FOLDERS, f"/proc/{os.getpid()}/fd"}
    here = os.path.abspath(path)
    for _ in range(40):  # (links to links, as the system follows them)
        folder, name = os.path.split(here)
        if name.isdigit() and (folder in folders or os.path.realpath(folder) in folders):
            fd = int(name)
            if fd in CLOSED:  # (held by /dev/null since the start: the shell closed it)
                raise LossCliError(f"{path}: cannot write: {CLOSED[fd]} is closed ({STANDARD[fd][1]}); name a file, "
                                   "or send it to /dev/null")
            if not inherited(fd):  # (closed at the start: its number may be a file of losscli's now)
                raise LossCliError(f"{path}: cannot write: descriptor {fd} was not open when losscli started")
            return fd
        if not os.path.islink(here):
            return None
        here = os.path.normpath(os.path.join(folder, os.readlink(here)))
    return None


def _refuse_unwritable(path: str, st: os.stat_result | None) -> None:
    """A regular file this user may not write, or a new file in a directory that is missing or
    that this user cannot create files in: refused, as the shell's ``>`` would fail (in its
    words: 'Read-only file system' where that is why)."""
    if st is not None:
        if stat.S_ISREG(st.st_mode) and (lock := locked(path)):
            raise LossCliError(f"{path}: cannot write: the file is {lock}; lift that with chattr, or write elsewhere")
        if stat.S_ISREG(st.st_mode) and not writable(path):
            raise LossCliError(f"{path}: cannot write: {_why_not(path)}")
        return
    directory = os.path.dirname(os.path.realpath(path))
    if not os.path.isdir(directory):
        raise LossCliError(f"{path}: cannot write, directory {directory} does not exist")
    if not writable(directory, os.W_OK | os.X_OK):
        raise LossCliError(f"{path}: cannot write: {_why_not(directory)}")


def _why_not(path: str) -> str:
    """Why ``path`` may not be written: its file system is mounted read-only, or permission."""
    try:
        read_only = bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):
        read_only = False
    return os.strerror(errno.EROFS if read_only else errno.EACCES)


def is_terminal(path: str) -> bool:
    """Whether writing ``path`` writes to a terminal: ``-`` or ``/dev/stdout`` on one, ``/dev/tty``,
    ``/dev/pts/N``."""
    if path == STDOUT:
        return sys.stdout.isatty()
    fd = open_stream(path)
    if fd is not None:
        return os.isatty(fd)
    try:
        if not stat.S_ISCHR(os.stat(path).st_mode):
            return False
        fd = os.open(path, os.O_WRONLY | os.O_NOCTTY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return False
    try:
        return os.isatty(fd)
    finally:
        os.close(fd)


def write_text(path: str, text: str) -> None:
    write_output(path, lambda fh: fh.write(text.encode("utf-8")))


def _identity(path: str | int) -> tuple[int, int] | None:
    """A regular file's (device, inode), by its path or an open descriptor; None for anything else."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino) if stat.S_ISREG(st.st_mode) else None


def _fifo(path: str | int) -> tuple | None:
    """A FIFO's identity, by its path or an open descriptor; None for anything else."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return ("fifo", st.st_dev, st.st_ino) if stat.S_ISFIFO(st.st_mode) else None


def _named_fifo(fd: int) -> tuple | None:
    """The FIFO a descriptor is on, where it has a name (``> ff``); None for a shell's pipe
    (``2>&1 | tee log``: what both streams write reaches its one reader, as the user asked)."""
    try:
        if os.readlink(f"/proc/self/fd/{fd}").startswith("pipe:"):
            return None
    except OSError:
        pass
    return _fifo(fd)


def _new_file(path: str) -> object:
    """The file a new name will be: its directory's (device, inode) and its name, which two paths
    through a bind mount or a symbolic link to the directory share; its real path where the
    directory cannot be looked at."""
    real = os.path.realpath(path)
    try:
        st = os.stat(os.path.dirname(real) or ".")
    except OSError:
        return real
    return ("new", st.st_dev, st.st_ino, os.path.basename(real))


def _refuse_stderr_on_an_input(ins: list) -> None:
    """Standard error that the shell opened on an input (``2>> preds.csv``): every note, warning or
    error of the run would be written into it. Refused, and the refusal, which would land there
    too, is said on the terminal if there is one, else nowhere (exit 2 says it)."""
    err = _identity(2)
    label = next((label for label, ident in ins if err is not None and ident == err and label != "standard input"),
                 None)
    if label is None:
        return
    refuse_standard_error(label)


def refuse_standard_error(label: str) -> None:
    """Standard error is the input ``label``: the refusal, which would land there too, is said on
    the terminal if there is one, else nowhere (exit 2 says it), and standard error goes nowhere."""
    message = (f"Error: standard error is an input ({label}): refusing to write notes or errors into an input; send "
               "standard error elsewhere\n")
    try:
        with open("/dev/tty", "w") as tty:
            tty.write(message)
    except OSError:
        pass
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)
    raise LossCliError(message.strip()[len("Error: "):])


def _inside(path: str, root: str, trees: dict | None = None) -> bool:
    """Whether a file ``path`` is inside the directory ``root`` (by the paths as the system
    resolves them; or by the (device, inode) of its directories, as a dataset's reader walks them:
    through a symbolic link to a folder elsewhere, or a bind mount of one; or a hard link of one
    of its files), or is a name the glob ``root`` matches."""
    import fnmatch

    if os.path.isdir(root):
        top = os.path.realpath(root)
        if os.path.commonpath([os.path.realpath(path), top]) == top:
            return True
        trees = {} if trees is None else trees  # (a dataset walked once for every output)
        if root not in trees:
            trees[root] = _tree(root)
        folders, files = trees[root]
        try:
            parent = os.stat(os.path.dirname(os.path.realpath(path)) or ".")
        except OSError:
            return False
        return (parent.st_dev, parent.st_ino) in folders or _identity(path) in files
    return any(fnmatch.fnmatchcase(f(path), f(root)) for f in (os.path.abspath, os.path.realpath))


def _tree(root: str) -> tuple[frozenset, frozenset]:
    """The (device, inode) of every directory of the dataset ``root`` and of every file in them that
    may hold data, following symbolic links to directories (each once), as ``spec.dataset_files``
    walks it (names starting with ``.`` or ``_`` are not data: not walked)."""
    from .spec import is_data_name

    folders: set = set()
    files: set = set()
    for here, subdirs, names in os.walk(root, followlinks=True):
        try:
            st = os.stat(here)
        except OSError:
            continue
        if (st.st_dev, st.st_ino) in folders:
            subdirs[:] = []
            continue
        folders.add((st.st_dev, st.st_ino))
        subdirs[:] = [d for d in subdirs if is_data_name(d)]
        files.update(filter(None, (_identity(os.path.join(here, n)) for n in names if is_data_name(n))))
    return frozenset(folders), frozenset(files)


def _named(option: str, path: str) -> str:
    """An output as the user wrote it: ``--output FILE``, ``--report json:FILE`` (``path`` empty:
    ``option`` says it all)."""
    return option if not path or option.endswith(f":{path}") else f"{option} {path}"


def refuse_clobbering(outputs: Iterable[tuple[str, str | None]], inputs: Iterable[tuple[str, str]],
                      datasets: Iterable[tuple[str, str]] = ()) -> None:
    """Refuse, before anything runs, an output that is an empty path, one of the inputs (the same
    file by its path, a symbolic link or a hard link), a file inside a sharded input (its
    directory, or a name its glob matches: from then on read as one of its shards), the file
    standard input was redirected from (``< FILE``: whether the command reads it or not), the same
    file or stream as another output, or a file this user may not write.
    ``outputs``: (option, path, ``-`` for standard output, or None when not asked for);
    ``inputs``: (what the user wrote, a path it reads); ``datasets``: (what the user wrote, the
    directory or glob of a sharded input)."""
    datasets = list(datasets)
    trees: dict = {}
    ins = [(label, _identity(p)) for label, p in inputs] + [("standard input", _identity(0))]
    _refuse_stderr_on_an_input(ins)
    seen: dict[object, tuple[str, str]] = {}
    for option, path in outputs:
        if path is None:
            continue
        if not path:
            raise LossCliError(f"{option}: an empty path; name a file to write, or - for standard output")
        if path.endswith("/"):  # (open() would drop the slash and write a file of that name)
            raise LossCliError(f"{_named(option, path)}: names a directory (it ends with /); expected a file name")
        fd = 1 if path == STDOUT else open_stream(path)
        # one stream cannot carry two outputs (a report and an NPZ, say); standard input's file,
        # by /dev/stdin, is refused below as the input it is
        if fd:
            stream = "standard output" if fd == 1 else "standard error" if fd == 2 else f"descriptor {fd}"
            named = _named(option, path) if option.startswith("-") else option  # (not "the report (...) -")
            if ("fd", fd) in seen:
                first_option, first_path = seen[("fd", fd)]
                first = first_option if first_path == STDOUT else _named(first_option, first_path)
                raise LossCliError(f"{named}: {stream} is already taken by {first}; send one of them to a file")
            seen[("fd", fd)] = (option, path)
            # a stream the shell opened on an input (>> preds.csv, 3<> preds.csv): written at its
            # position, it would corrupt the input, as `cat f >> f` would
            stream_file = _identity(fd)
            for label, other in ins:
                if stream_file is not None and other == stream_file and label != "standard input":
                    raise LossCliError(f"{named}: {stream} is an input ({label}): refusing to write into an input; "
                                       "send the output to another file")
            # (and it may be the file or FIFO another output names: `--report json:r.json >> r.json`,
            # `--report json:ff > ff`)
            stream_file = stream_file or _named_fifo(fd)
            if stream_file is not None:
                if stream_file in seen:
                    raise LossCliError(f"{named}: {stream} is redirected to the same file as "
                                       f"{_named(*seen[stream_file])}; give two different files")
                seen[stream_file] = (f"{stream} ({named}), which the shell redirected to it", "")
            continue
        joined = next((label for label, root in datasets if _inside(path, root, trees)), None)
        if joined is not None:
            raise LossCliError(f"{_named(option, path)}: is inside a sharded input ({joined}): written there, it "
                               "would be read as one of its shards from then on; write it elsewhere")
        st = _target_stat(path)
        if st is not None and stat.S_ISBLK(st.st_mode):  # (-o /dev/sdb: a typo or a completion away from a disk)
            raise LossCliError(f"{_named(option, path)}: is a block device (a disk or a partition): refusing to write "
                               "over it; name a file")
        ident: object = _identity(path)
        if ident is not None:
            for label, other in ins:
                if other == ident:
                    raise LossCliError(f"{path}: is also an input ({label}); refusing to overwrite an input")
            # (the file the shell sends a stream to, `-o run.log 2>> run.log`: replaced, it would lose
            # what the stream writes into it, the notes and warnings of the run)
            for fd, stream in ((2, "standard error"), (1, "standard output")):
                if ident == _identity(fd) and ("fd", fd) not in seen:
                    raise LossCliError(f"{_named(option, path)}: {stream} is redirected to this file, which the "
                                       f"output replaces (what {stream} says would be lost); give two different files")
        elif st is None:  # two outputs about to create the same new file (by its directory: a bind mount too)
            ident = _new_file(path)
        elif stat.S_ISFIFO(st.st_mode):
            ident = _fifo(path)  # (two outputs on one: its reader takes the first and goes)
        else:
            continue  # a device: written in place, nobody reads it back as a file
        if ident in seen:
            raise LossCliError(f"{_named(option, path)}: is the same file as {_named(*seen[ident])}; "
                               "give two different files")
        seen[ident] = (option, path)
        if not isinstance(ident, tuple) or ident[0] != "fifo":
            _refuse_unwritable(path, st)
