"""A table that fits the width it is printed at, whatever that is: never an elided value.

A ``Sheet`` is declared once (its key columns, its other columns in groups, its rows) and laid
out when rich prints it, at the console's width:

1. every column in one table, when they fit;
2. else the groups side by side as far as they fit, the rest in further tables below, each
   repeating the key columns (``compute``'s statistics go to a second table);
3. else, when even the key columns and one column do not fit, or when more than two tables
   would take more lines than that, one small two-column table per row (field, value): a
   vertical layout.

A cell never loses a character: columns fold (wrap at any character) rather than end in "…",
and text columns (``wrap=True``) wrap at spaces. Rules are box-drawing characters on a terminal
and plain ASCII elsewhere (a pipe, a file).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Iterator

from ..exits import printable

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions, RenderResult
    from rich.table import Table
    from rich.text import Text

#: a text column is laid out at least this wide, and at least as wide as its longest word up to
#: MAX_WORD (a longer word, a path or a list of 40 numbers, folds rather than widening the column)
MIN_TEXT = 12
MAX_WORD = 24


@dataclass(frozen=True)
class Column:
    name: str
    justify: str = "right"
    key: bool = False  # repeated in every part of a split sheet
    group: str = ""  # columns of one group stay together when the sheet is split
    wrap: bool = False  # text: wraps at spaces (else kept on one line while it fits)


@dataclass
class Sheet:
    """Rows of cells (text) under ``columns``; ``styles`` per row (``"dim"``), ``None`` for none."""

    title: str
    columns: list[Column]
    rows: list[list[str]] = field(default_factory=list)
    styles: list[str | None] = field(default_factory=list)

    def __post_init__(self) -> None:  # (names and cells from the data: escape sequences printed, not acted on)
        self.title = printable(self.title)
        self.columns = [replace(c, name=printable(c.name)) for c in self.columns]

    def add_row(self, *cells: str, style: str | None = None) -> None:
        self.rows.append([printable(str(c)) for c in cells])
        self.styles.append(style)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield from self.parts(options.max_width, ascii_rules=not console.is_terminal)

    def parts(self, width: int, ascii_rules: bool = False) -> Iterator[Table | Text]:
        """The tables this sheet is printed as at ``width`` columns, each under its title."""
        keys = [i for i, c in enumerate(self.columns) if c.key]
        groups: dict[str, list[int]] = {}
        for i, c in enumerate(self.columns):
            if not c.key:
                groups.setdefault(c.group, []).append(i)
        need = [self._width(i) for i in range(len(self.columns))]

        def fits(cols: list[int]) -> bool:
            return sum(need[i] + 3 for i in cols) + 1 <= width  # a cell's padding and rule; the left rule

        parts: list[list[int]] = []
        for members in groups.values():  # whole groups while they fit, else column by column
            if parts and fits(parts[-1] + members):
                parts[-1] += members
                continue
            if fits(keys + members):
                parts.append(keys + members)
                continue
            for i in members:
                if parts and len(parts[-1]) > len(keys) and fits(parts[-1] + [i]):
                    parts[-1].append(i)
                else:
                    parts.append(keys + [i])
        if not parts or not all(fits(p) for p in parts) or self._shorter_vertical(len(parts), len(keys)):
            yield from self._vertical(width, ascii_rules)
            return
        seen: set[str] = set()
        for n, cols in enumerate(parts):
            held = ", ".join(dict.fromkeys(self.columns[i].group or "continued" for i in cols
                                           if not self.columns[i].key))
            title = self.title if n == 0 else f"{self.title} ({held})"
            if n and title in seen:  # (a group split over several tables: each says it goes on)
                title = f"{self.title} ({held}, continued)"
            seen.add(title)
            yield self._title(title)
            yield self._table(cols, ascii_rules)

    def _shorter_vertical(self, parts: int, keys: int) -> bool:
        """A split into several tables that takes more lines than one small table per row (a few
        rows of many columns at a narrow width: each table a column or two, titles repeated)."""
        if parts <= 2:
            return False
        split = parts * (len(self.rows) + 5)  # a title, three rules and a header per table
        vertical = len(self.rows) * (len(self.columns) - keys + 4)
        return vertical < split

    def _width(self, i: int) -> int:
        from rich.cells import cell_len

        col = self.columns[i]
        cells = [r[i] for r in self.rows]
        if col.wrap:  # the longest word within [MIN_TEXT, MAX_WORD] (or the longest cell, when shorter)
            words = [w for text in cells + [col.name] for w in text.split()]
            longest = max((cell_len(c) for c in cells + [col.name]), default=0)
            return min(longest, max(MIN_TEXT, min(MAX_WORD, max((cell_len(w) for w in words), default=0))))
        return max((cell_len(c) for c in cells + [col.name]), default=0)

    @staticmethod
    def _title(title: str) -> Text:
        """A table's title, on a line of its own (it wraps at the screen's width, not the table's)."""
        from rich.text import Text

        return Text(title, style="table.title")

    @staticmethod
    def _new(ascii_rules: bool) -> Table:
        from rich import box
        from rich.table import Table

        return Table(box=box.ASCII if ascii_rules else box.HEAVY_HEAD)

    def _table(self, cols: list[int], ascii_rules: bool) -> Table:
        from rich.text import Text

        t = self._new(ascii_rules)
        for i in cols:
            c = self.columns[i]
            t.add_column(Text(c.name, style="table.header"), justify=c.justify, overflow="fold",  # type: ignore[arg-type]
                         min_width=None if c.wrap else self._width(i), no_wrap=not c.wrap)
        for row, style in zip(self.rows, self.styles):
            t.add_row(*(Text(row[i]) for i in cols), style=style)
        return t

    def _vertical(self, width: int, ascii_rules: bool) -> Iterator[Table | Text]:
        """One table per row: a field per line (the key columns name the row in its title)."""
        from rich.text import Text

        keys = [i for i, c in enumerate(self.columns) if c.key]
        for row, style in zip(self.rows, self.styles):
            name = ", ".join(f"{self.columns[i].name}={row[i]}" for i in keys)
            yield self._title(f"{self.title}: {name}" if name else self.title)
            t = self._new(ascii_rules)
            t.add_column("field", overflow="fold")
            t.add_column("value", overflow="fold")
            for i, c in enumerate(self.columns):
                if i not in keys:
                    t.add_row(Text(c.name), Text(row[i]), style=style)
            yield t
