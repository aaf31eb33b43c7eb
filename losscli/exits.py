"""The exit-code contract, in one place: which exception ends a run with which code and which one
line on stderr. The CLI (``cli.py``) calls :func:`classify` for anything a command raises.

| code | meaning |
|---|---|
| 0 | success |
| 1 | a check failed (``--fail-above``, ``gradcheck``, ``compare --fail-if-worse``, a ``check`` gate) |
| 2 | usage or input error, including what the environment refused (permissions, a full disk, an
|   | output encoding that cannot print the result) and an exception raised by the user's own loss code |
| 3 | internal error: a bug, please report it (``--debug`` shows the traceback) |
| 130 | interrupted (Ctrl-C) |
| 141 | the reader of standard output went away (a closed pipe, as ``| head``): nothing more to say |
| 128 + N | ended by signal N (SIGTERM 143, SIGHUP 129, SIGQUIT 131, SIGUSR1 138, ...), temporary files removed |
"""

from __future__ import annotations

import errno
import re

from .errors import LossCliError

OK = 0
CHECK_FAILED = 1
USAGE = 2
INTERNAL = 3
INTERRUPTED = 130
BROKEN_PIPE = 141

#: a message longer than this is cut in the middle (echoed content can be any size)
MESSAGE_LIMIT = 1000
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """Text with its control characters escaped (``\\x1b``): a name or a value from the data, printed
    where a terminal would act on them (an escape sequence in a column name or a slice's key)."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def one_line(text: str, limit: int = MESSAGE_LIMIT) -> str:
    """A message as one printable line: line breaks folded, control characters escaped
    (``\\x1b``), cut in the middle beyond ``limit`` characters."""
    text = " ".join(part.strip() for part in str(text).splitlines() if part.strip())
    text = printable(text)
    if len(text) > limit:
        head, tail = text[: limit * 2 // 3], text[-(limit // 3):]
        text = f"{head} … [{len(text) - len(head) - len(tail)} characters cut] … {tail}"
    return text


def classify(exc: BaseException) -> tuple[int, str | None]:
    """(exit code, the line for stderr or None) for an exception a command raised."""
    if isinstance(exc, LossCliError):
        return exc.exit_code, f"Error: {exc}"
    if isinstance(exc, KeyboardInterrupt):
        return INTERRUPTED, "Aborted."
    if isinstance(exc, BrokenPipeError) or (isinstance(exc, OSError) and exc.errno == errno.EPIPE):
        return BROKEN_PIPE, None
    if isinstance(exc, UnicodeEncodeError):
        return USAGE, (f"Error: the output cannot be written in the {exc.encoding} encoding (it holds "
                       f"{exc.object[exc.start:exc.end]!r}): set PYTHONIOENCODING=utf-8, or write a file with -o")
    if isinstance(exc, OSError):
        where = f"{exc.filename}: " if exc.filename is not None else ""
        return USAGE, f"Error: {where}{exc.strerror or exc}"
    if isinstance(exc, MemoryError):
        return USAGE, "Error: out of memory: the inputs or options ask for more memory than this machine has"
    from .plugins import user_code_line

    raised_at = user_code_line(exc)
    if raised_at is not None:  # the user's loss raised it: not a bug of losscli's
        # (numpy's words for a write into a read-only array: the inputs a loss is given)
        hint = ("; a loss's inputs are read-only (every loss reads the same arrays): write into a copy "
                "(predictions = predictions * 2, not *=)") if isinstance(exc, ValueError) and "read-only" in str(exc) else ""
        return USAGE, (f"Error: your loss code raised {type(exc).__name__}: {exc} ({raised_at[0]}, line {raised_at[1]}"
                       f"{hint}; rerun as losscli --debug COMMAND ... for a traceback)")
    return INTERNAL, (f"Error: internal error: {type(exc).__name__}: {exc} "
                      "(rerun as losscli --debug COMMAND ... for a traceback)")


#: the signals whose default action ends the process, besides SIGINT (Ctrl-C: KeyboardInterrupt);
#: not the faults (SIGSEGV, SIGBUS, ...: a Python handler runs too late for them) nor SIGPIPE and
#: SIGXFSZ, which Python ignores (a write fails instead); the real-time signals are added to them
ENDING_SIGNALS = ("SIGTERM", "SIGHUP", "SIGQUIT", "SIGALRM", "SIGUSR1", "SIGUSR2", "SIGXCPU", "SIGVTALRM",
                  "SIGPROF", "SIGIO", "SIGPWR", "SIGSTKFLT")


def ending_signals() -> list:
    """:data:`ENDING_SIGNALS` this platform has, and its real-time signals."""
    import signal

    named = [getattr(signal, name) for name in ENDING_SIGNALS if hasattr(signal, name)]
    low, high = getattr(signal, "SIGRTMIN", 0), getattr(signal, "SIGRTMAX", -1)
    return [*named, *range(low, high + 1)]


def terminate_on_signals() -> None:
    """A signal that would end the process (:func:`ending_signals`: SIGTERM, SIGHUP, SIGQUIT,
    SIGUSR1, ...) ends it at once, with one line and exit 128 + the signal number, after removing
    the temporary files of outputs being written (their targets keep their previous content).
    Raising instead could land anywhere, even inside a library's constructor. A signal the
    process was started ignoring (``nohup``: SIGHUP) stays ignored."""
    import os
    import signal

    def handler(signum, frame):
        from .io.replace import abandon

        abandon()
        try:
            os.write(2, f"losscli: terminated by {_signal_name(signum)}\n".encode())
        except OSError:  # (standard error full, or gone: the exit code still says it)
            pass
        os._exit(128 + signum)

    for sig in ending_signals():
        if signal.getsignal(sig) == signal.SIG_DFL:
            signal.signal(sig, handler)


def _signal_name(signum: int) -> str:
    """SIGTERM; a real-time signal as SIGRTMIN+N (it has no name of its own)."""
    import signal

    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"SIGRTMIN+{signum - signal.SIGRTMIN}"
