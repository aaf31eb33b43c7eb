"""Printing and writing: rich renderables through a console (colour only on a terminal and never
with NO_COLOR), text as it is; ``-o FILE`` written as plain text (``io/output.py``)."""

from __future__ import annotations

import errno
import io
import os
import sys


def console(file=None, width: int | None = None):
    """A rich Console: colour only on a terminal and never with NO_COLOR; files get plain text."""
    from rich.console import Console

    if file is not None:
        return Console(file=file, width=width or 120, color_system=None, highlight=False,
                       force_terminal=False, soft_wrap=False)
    if width is None and not sys.stdout.isatty():
        width = 160  # a pipe or file has no width; 80 columns would wrap the tables
    return Console(highlight=False, width=width, no_color="NO_COLOR" in os.environ or None)


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

        text = rendered if isinstance(rendered, str) else render_rich(rendered, width=160)
        write_text(output, text)
        return
    try:
        _print(rendered)
    except OSError as exc:
        if exc.errno == errno.EPIPE or exc.filename is not None:
            raise
        raise OSError(exc.errno, exc.strerror, "standard output") from None


def _print(rendered) -> None:
    if isinstance(rendered, str):
        sys.stdout.write(rendered)
        sys.stdout.flush()
        return
    con = console()
    for r in rendered:
        con.print(r)
    con.file.flush()
