"""Printing and writing: rich renderables through a console (colour only on a terminal and never
with NO_COLOR), text as it is; ``-o FILE`` written as plain text (``io/output.py``)."""

from __future__ import annotations

import errno
import functools
import io
import os
import sys


def console(file=None, width: int | None = None):
    """A rich Console for results. Styles (colour, bold, italic) only on a terminal without
    NO_COLOR; a pipe or a file gets plain text, ``PIPE_WIDTH`` columns wide unless COLUMNS says
    otherwise (tables fit whatever width: ``sheet.py``)."""
    Console = _console_type()
    if file is not None:
        return Console(file=file, width=width or PIPE_WIDTH, color_system=None, highlight=False,
                       force_terminal=False, soft_wrap=False)
    if width is None and not sys.stdout.isatty():
        width = _columns() or PIPE_WIDTH
    # (FORCE_COLOR, or rich's TTY_COMPATIBLE, asks for a terminal's styles in a pipe too: a CI log that
    # shows colour; rich reads them)
    return Console(highlight=False, width=width, color_system=None if "NO_COLOR" in os.environ else "auto")


#: the width of text written to a pipe or a file: tables wider than 80 columns stay one table
PIPE_WIDTH = 160


def _columns() -> int | None:
    """COLUMNS from the environment, when it holds a usable width."""
    try:
        value = int(os.environ.get("COLUMNS", ""))
    except ValueError:
        return None
    return value if value >= 20 else None


@functools.lru_cache(maxsize=None)
def _console_type():
    """rich's Console (imported on first use), answering a closed pipe as the contract says."""
    from rich.console import Console

    class Quiet(Console):
        """rich's own answer to a closed pipe is ``SystemExit(1)`` (1 means a failed check here):
        raise the error instead, for the exit-code contract to answer (``exits.py``)."""

        def on_broken_pipe(self) -> None:
            raise BrokenPipeError(errno.EPIPE, "Broken pipe")

    return Quiet


def render_rich(renderables, width: int | None = None) -> str:
    """Render rich objects to plain text (for ``--output`` files and tests)."""
    buf = io.StringIO()
    con = console(buf, width)
    for r in renderables:
        con.print(r)
    return buf.getvalue()


def emit(rendered, output: str | None = None) -> None:
    """Print to stdout (rich objects through a console: colour only on a terminal), or write
    ``output`` as plain text (``-`` is standard output)."""
    if output is not None and output != "-":
        from ..io.output import write_text

        text = rendered if isinstance(rendered, str) else render_rich(rendered)
        write_text(output, text)
        return
    try:
        _print(rendered)
    except OSError as exc:
        from ..io.streams import named_stdout

        raise named_stdout(exc) from None


#: text goes out in pieces: a reader that went away is noticed at the next piece (one huge write
#: can be taken whole by the kernel however little of it the reader read)
CHUNK = 1 << 16


def _print(rendered) -> None:
    if isinstance(rendered, str):
        for i in range(0, len(rendered), CHUNK):
            sys.stdout.write(rendered[i:i + CHUNK])
            sys.stdout.flush()
        return
    con = console()
    for r in rendered:
        con.print(r)
    con.file.flush()
