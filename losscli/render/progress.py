"""Progress bars on stderr: only when stderr is a terminal and not in CI (a pipe or a log gets
nothing at all), without colour under NO_COLOR, gone when the run ends (results stay alone on
the screen).

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

    def __enter__(self) -> Bar:
        if shown():
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

            console = Console(stderr=True, color_system=None if "NO_COLOR" in os.environ else "auto")
            self.progress = Progress(TextColumn(self.label), BarColumn(), *_columns(self.unit, self.estimated),
                                     TimeRemainingColumn(), TextColumn("{task.fields[note]}"), transient=True,
                                     console=console)
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

    def __exit__(self, *exc) -> None:
        if self.progress is not None:
            self.progress.__exit__(*exc)


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
