"""The process's own standard streams, held for the run (``runs.Group.main`` calls
:func:`standard_streams` first): a closed descriptor 0, 1 or 2 kept by /dev/null so that no file
the run opens takes its number, stand-ins that say so when a closed one is used, standard error
whose failures never end a run, and the descriptors open at the start (a path ``/dev/fd/N`` names
one of those only). Imported on every start, ``--help`` included: the standard library's ``os``
and ``io`` only."""

from __future__ import annotations

import errno
import io
import os


class ClosedStandard(io.TextIOBase):
    """``sys.stdin`` / ``sys.stdout`` of a process started with that descriptor closed (``<&-``,
    ``>&-``), where Python leaves None: reading or writing it is an OSError that says so (exit 2
    with one line, as a full disk is), not an AttributeError of losscli's. Nothing written is
    dropped silently."""

    def __init__(self, name: str, label: str, hint: str):
        super().__init__()
        self.name, self.label, self.hint = name, label, hint

    def _closed(self, *args):
        raise OSError(errno.EBADF, f"it is closed ({self.hint})", self.label)

    read = readline = write = fileno = _closed

    @property
    def buffer(self) -> "ClosedStandard":  # (binary reads and writes go the same way)
        return self

    def readable(self) -> bool:
        return self.name == "stdin"

    def writable(self) -> bool:
        return self.name == "stdout"

    def isatty(self) -> bool:
        return False

    def flush(self) -> None:
        pass


class Diagnostics(io.TextIOBase):
    """Standard error as losscli writes its notes, warnings and errors to it: a write that fails
    (``2>/dev/full``, a descriptor gone) is dropped, and the run goes on to the exit code it would
    have had; one line of stderr never decides whether a result is written."""

    def __init__(self, stream):
        super().__init__()
        self.stream = stream

    def write(self, text) -> int:  # type: ignore[override]
        try:
            return self.stream.write(text)
        except (OSError, ValueError):
            return len(text)

    def flush(self) -> None:
        try:
            self.stream.flush()
        except (OSError, ValueError):
            pass

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        try:
            return self.stream.isatty()
        except (OSError, ValueError):
            return False

    def fileno(self) -> int:
        return self.stream.fileno()

    def __getattr__(self, name):  # (encoding, errors, buffer, ... as the stream has them)
        return getattr(self.stream, name)


#: the descriptors open when the run started, with the identity (device, inode) of what each is
#: open on; None where the system does not list them. A path naming one (``/dev/fd/N``) is written
#: through it only while it is still that: a descriptor closed at the start has its number taken
#: by the next file opened, such as an output's temporary file.
STARTED: dict[int, tuple[int, int]] | None = None
#: standard descriptors the run was started with closed (``<&-``, ``>&-``, ``2>&-``): /dev/null
#: holds their numbers, so that no file losscli opens takes them
CLOSED: dict[int, str] = {}
#: each standard descriptor's name and the shell's way of closing it
STANDARD = {0: ("standard input", "<&-"), 1: ("standard output", ">&-"), 2: ("standard error", "2>&-")}


def _identity(fd: int) -> tuple[int, int] | None:
    try:
        st = os.fstat(fd)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def standard_streams() -> None:
    """At the start of a run: the standard descriptors held (a closed one gets /dev/null under
    its number, and :data:`CLOSED` remembers it), the open descriptors listed (:data:`STARTED`),
    stand-ins for a closed standard input and output (:class:`ClosedStandard`), and standard error
    as :class:`Diagnostics`."""
    import sys

    global STARTED
    CLOSED.clear()
    for fd in (0, 1, 2):
        if _identity(fd) is None:
            held = os.open(os.devnull, os.O_RDWR)
            if held != fd:
                os.dup2(held, fd)
                os.close(held)
            CLOSED[fd] = STANDARD[fd][0]
    try:
        names = os.listdir("/proc/self/fd")
    except OSError:
        STARTED = None
    else:
        STARTED = {fd: ident for fd in map(int, names) if fd not in CLOSED and (ident := _identity(fd)) is not None}
    if sys.stdin is None:
        sys.stdin = ClosedStandard("stdin", "standard input", "<&-: there is nothing to read as '-'; give a file instead")
    if sys.stdout is None:
        sys.stdout = ClosedStandard("stdout", "standard output",
                                    ">&-: write the output to a file with -o, or send it to /dev/null")
    if sys.stderr is None:
        sys.stderr = open(os.devnull, "w")
    if not isinstance(sys.stderr, Diagnostics):
        sys.stderr = Diagnostics(sys.stderr)


def inherited(fd: int) -> bool:
    """Whether descriptor ``fd`` is one the run was started with, open on the same file still
    (True where the system does not list descriptors)."""
    if STARTED is None:
        return fd not in CLOSED
    return fd in STARTED and _identity(fd) == STARTED[fd]


def printing_to_stderr(fn):
    """A user's function (a plugin's loss, gradient, hook) whose prints go to standard error:
    standard output carries results only (a plugin's print() before the JSON made it unreadable;
    review 101 #4)."""
    if fn is None:
        return None
    import contextlib
    import functools
    import sys

    @functools.wraps(fn)
    def call(*args, **kwargs):
        with contextlib.redirect_stdout(sys.stderr):
            return fn(*args, **kwargs)

    call.user_code = fn  # type: ignore[attr-defined]  # (plugins.user_code_files: the user's file, not this one)
    return call
