"""Progress bars on stderr: only when stderr is a terminal and not in CI (a pipe or a log gets
nothing at all), gone when the run ends (results stay alone on the screen). Under NO_COLOR the
bar is one line redrawn after a carriage return: no colour, no style, no cursor codes.

One bar for every long loop: rows read (with rows/s and the time left), partitions done,
epochs run; ``note`` is free text beside it (a Dask run's partitions, ``fit``'s current loss).
"""

from __future__ import annotations

import os
import sys
from typing import Any


def shown() -> bool:
    """Whether a progress bar is drawn: stderr is a terminal and this is not a CI job (``CI`` set,
    and not to ``0`` or ``false``)."""
    return sys.stderr.isatty() and os.environ.get("CI", "").lower() in ("", "0", "false")


class Bar:
    """``with Bar("rows", total) as bar: bar.update(done, note=...)``; ``total`` may be an
    estimate (``estimated=True`` shows it as ``~N``) or None (unknown)."""

    def __init__(self, label: str, total: int | None, unit: str = "rows", estimated: bool = False):
        self.label, self.total, self.unit, self.estimated = label, total, unit, estimated
        self.progress: Any = None
        self.plain: _PlainLine | None = None

    def __enter__(self) -> Bar:
        if shown():
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

            columns = (TextColumn(self.label), BarColumn(), *_columns(self.unit, self.estimated),
                       TimeRemainingColumn(), TextColumn("{task.fields[note]}"))
            if "NO_COLOR" in os.environ:
                self.progress = Progress(*columns, auto_refresh=False, console=_PlainLine.console())
                self.plain = _PlainLine(self.progress)
            else:
                self.progress = Progress(*columns, transient=True, console=Console(stderr=True))
                self.progress.__enter__()
            self.task = self.progress.add_task(self.label, total=self.total, note="")
        return self

    @property
    def visible(self) -> bool:
        return self.progress is not None

    def update(self, completed: int, note: str | None = None) -> None:
        if self.progress is not None:
            if self.total is not None and completed > self.total:  # (an estimate that fell short)
                self.progress.update(self.task, total=completed)
            fields = {} if note is None else {"note": note}
            self.progress.update(self.task, completed=completed, **fields)
            if self.plain is not None:
                self.plain.draw()

    def draw(self) -> None:
        """Draw the bar now (rich redraws it about 10 times a second: the last state of a run
        that ends at once might never be seen)."""
        if self.progress is not None and self.plain is None:
            self.progress.refresh()

    def __exit__(self, *exc) -> None:
        if self.plain is not None:
            self.plain.clear()
        elif self.progress is not None:
            self.progress.__exit__(*exc)


class _PlainLine:
    """rich's columns drawn as plain text on one line of stderr, redrawn after a carriage return
    at most every ``INTERVAL`` seconds and wiped at the end (NO_COLOR: no escape code at all)."""

    INTERVAL = 0.1

    def __init__(self, progress):
        self.progress, self.width, self.last = progress, 0, 0.0

    @staticmethod
    def console():
        import io
        import shutil

        from rich.console import Console

        # (one column short of the terminal: a full line would wrap on some terminals)
        width = max(20, shutil.get_terminal_size((80, 24)).columns - 1)
        return Console(file=io.StringIO(), width=width, color_system=None, force_terminal=False, highlight=False)

    def draw(self) -> None:
        import time

        now = time.monotonic()
        if now - self.last < self.INTERVAL:
            return
        self.last = now
        con = self.progress.console
        con.file.seek(0)
        con.file.truncate()
        con.print(self.progress.get_renderable())
        line = con.file.getvalue().rstrip()
        sys.stderr.write("\r" + line.ljust(self.width))
        sys.stderr.flush()
        self.width = max(self.width, len(line))

    def clear(self) -> None:
        if self.width:
            sys.stderr.write("\r" + " " * self.width + "\r")
            sys.stderr.flush()


def _columns(unit: str, estimated: bool) -> tuple:
    """The columns rich draws: ``1,234,567/~50,000,000 rows`` and ``2.1M rows/s`` (blank until
    rich has measured a speed)."""
    from rich.progress import ProgressColumn
    from rich.text import Text

    class Count(ProgressColumn):
        def render(self, task):
            total = "?" if task.total is None else f"{'~' if estimated else ''}{int(task.total):,}"
            return Text(f"{int(task.completed):,}/{total} {unit}")

    class Rate(ProgressColumn):
        def render(self, task):
            speed = task.speed
            if not speed:
                return Text("")
            for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
                if speed >= scale:
                    return Text(f"{speed / scale:.1f}{suffix} {unit}/s")
            return Text(f"{speed:.0f} {unit}/s")

    return Count(), Rate()
