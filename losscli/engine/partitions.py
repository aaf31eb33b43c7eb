"""What the Dask engine's partitions read: :func:`plan` turns the inputs into partitions, each a
list of files (one per input) and, for a large file, the range of its rows (a
:class:`~losscli.io.windows.Window`).

- Paths are made absolute, and checked readable, here on the client: workers resolve relative
  paths in their own working directory, which is not the user's.
- Shard i of every sharded input (a directory or a glob) forms group i; all inputs need as many
  shards.
- A group larger than ``PARTITION_BYTES`` is cut into row ranges of about that many bytes, so
  that every worker shares the work of one large file: Parquet and NPY by rows (their sizes are
  in their headers); uncompressed local text by lines, counted per chunk by tasks on the workers,
  as long as quotes pair up on every line (a quoted field may hold a line end). Any
  other input (compressed text, a URL, NPZ, Arrow) keeps its group whole.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field, replace

from ..errors import InputError, LossCliError
from ..io.rules import ReadRules
from ..io.spec import is_url, split_spec
from ..io.windows import SCAN_BYTES, Window

#: bytes of input (all files of a group together) per partition when a large group is cut
PARTITION_BYTES = 64 * 2**20


@dataclass
class Part:
    """One partition: its files (in input order) and, when cut, the rows it reads."""

    shard: int  # the group (shard) it belongs to
    files: list[str]
    sharded: bool  # the inputs are shard sets (directories, globs): messages say "shards"
    first_row: int = 0  # the first row it reads, in its shard's files
    windows: dict[str, Window] = field(default_factory=dict)  # path -> rows read (empty: all of them)
    #: path -> --header its reader takes: a later shard's, as its set's first shard decided it
    headers: dict[str, str] = field(default_factory=dict)


def absolute(spec: str) -> str:
    """A local input (path[:selector]) as an absolute path; URLs and '-' as they are."""
    path, selector = split_spec(spec)
    if path == "-":
        raise LossCliError("--engine dask reads files or shards, not standard input")
    if is_url(path) or os.path.isabs(path):
        return spec
    return os.path.abspath(path) + ("" if selector is None else f":{selector}")


def shard_groups(specs: list[str]) -> tuple[list[list[str]], bool]:
    """Group i: shard i of every spec (a plain file is one shard), absolute and readable; and
    whether any spec is a shard set."""
    from ..io.cache import FileReader

    lists = []
    sharded = False
    for spec in specs:
        path, selector = split_spec(absolute(spec))
        shards = FileReader(path).shards
        sharded = sharded or shards is not None
        files = shards or [path]
        for f in files:
            if not is_url(f) and not os.access(f, os.R_OK):
                raise InputError(f"{f}: permission denied (cannot read the file)")
        lists.append([f if selector is None else f"{f}:{selector}" for f in files])
    counts = {len(x) for x in lists}
    if len(counts) > 1:
        desc = ", ".join(f"{s} has {len(x)}" for s, x in zip(specs, lists))
        raise InputError(f"shards do not line up: {desc} shards (with --engine dask every input needs the same "
                         "number; the local engine pairs rows by their place in the whole input)")
    return [list(g) for g in zip(*lists)], sharded


def plan(specs: list[str], rules: ReadRules, dtype, session=None, partition_bytes: int = PARTITION_BYTES,
         later: list[str | None] | None = None, named: list[str | None] | None = None) -> list[Part]:
    """The partitions of a run (see the module's docstring); ``session`` runs the line counts
    of text files to be cut (None: nothing is cut); ``later``: per spec, the --header of its
    later shards (``FileReader.later_header``: the first shard's line of numbers decides them all);
    ``named``: per spec, the selector its later shards are read with (``FileReader.later_selector``:
    the names the first shard's positions pick)."""
    parts: list[Part] = []
    groups, sharded = shard_groups(specs)
    for shard, files in enumerate(groups):
        headers = {split_spec(f)[0]: h for f, h in zip(files, later or []) if h is not None and shard > 0}
        if shard > 0 and named:
            files = [_by_name(f, n, replace(rules, header=headers.get(split_spec(f)[0], rules.header)), dtype)
                     for f, n in zip(files, named + [None] * len(files))]
        paths = list(dict.fromkeys(split_spec(f)[0] for f in files))
        size = sum(_size(p) for p in paths)
        n = math.ceil(size / partition_bytes)
        layouts = ([_layout(p, replace(rules, header=headers[p]) if p in headers else rules, dtype) for p in paths]
                   if n > 1 and session is not None else None)
        cut = (None if layouts is None or any(x is None for x in layouts)
               else _cut(dict(zip(paths, layouts)), n, session, partition_bytes, sharded))  # type: ignore[arg-type]
        if cut is None:
            parts.append(Part(shard, files, sharded, headers=headers))
            continue
        for first, windows in cut:
            parts.append(Part(shard, files, sharded, first, windows, headers))
    return parts


def _by_name(spec: str, named: str | None, rules: ReadRules, dtype) -> str:
    """A later shard's spec with its selector ``named`` (the names its first shard's positions
    pick), where the shard has those columns; as it is otherwise (a header in the first file only:
    positions there, as the local engine reads them)."""
    path, selector = split_spec(spec)
    if named is None or named == selector:
        return spec
    from ..io.files import FileReader

    try:
        order = next(iter(FileReader(path, dtype=dtype, rules=rules).blocks(1))).order
    except (LossCliError, OSError):  # (the partition reads it and says what is wrong)
        return spec
    return f"{path}:{named}" if set(named.split(",")) <= set(order) else spec


def _size(path: str) -> int:
    try:
        return 0 if is_url(path) else os.path.getsize(path)
    except OSError:
        return 0


@dataclass
class _Layout:
    kind: str  # "text", "rows" (Parquet, NPY: rows known)
    rows: int = 0
    first_line: int = 1  # text: the 1-based line of data row 0
    data_start: int = 0  # text: the byte where it begins
    data_end: int = 0  # text: the byte after the last line with data (blank lines after it are not data)
    tail_lines: int = 0  # text: the line ends from there to the end of the file
    blank_rows: int = 0  # text of one column: the blank lines at its end, rows of missing values


def _layout(path: str, rules: ReadRules, dtype) -> _Layout | None:
    """How a file can be cut, or None when it cannot (compressed, a URL, NPZ, Arrow...)."""
    from ..io.formats import codec_of, reader_for
    from ..io.csv import text_blocks
    from ..io.files import FileReader
    from ..io.npy import _npy_layout, npy_blocks
    from ..io.parquet import parquet_blocks

    if is_url(path):
        return None
    try:
        with open(path, "rb") as fh:
            head = fh.read(65536)
    except OSError:
        return None
    if not head or codec_of(head) is not None:
        return None
    reader = reader_for(head, os.path.splitext(path)[1].lower())
    if reader is npy_blocks:
        layout = _npy_layout(path)
        return None if layout is None else _Layout("rows", int(layout[0][0]))
    if reader is parquet_blocks:
        import pyarrow.parquet as pq

        try:
            return _Layout("rows", pq.ParquetFile(path).metadata.num_rows)
        except Exception:
            return None  # (the partition's reader says what is wrong with it)
    if reader is not text_blocks:
        return None
    try:  # the reader's own idea of where the data begins (header, blank lines, BOM)
        first = next(FileReader(path, dtype=dtype, rules=rules).blocks(1024), None)
    except InputError:
        return None  # (the partition's reader says so, with the same message)
    if first is None or first.first_line is None:
        return None
    import mmap

    from ..io.windows import line_start

    from ..io.textparse import _body_end

    with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as m:
        start = line_start(m, first.first_line.first - 1, (0, 0))
        view = memoryview(m)
        end = start + _body_end(view[start:])
        tail = m[end:].count(b"\n")  # (blank lines only: short)
        del view
    # (a file of one column: each blank line after the data is a missing value, as its reader has it)
    blank_rows = (max(tail - 1, 0) if end > start else tail) if len(first.order) == 1 else 0
    return _Layout("text", first_line=first.first_line.first, data_start=start, data_end=end, tail_lines=tail,
                   blank_rows=blank_rows)


def _cut(layouts: dict[str, _Layout], n: int, session, chunk: int, sharded: bool = False
         ) -> list[tuple[int, dict[str, Window]]] | None:
    """n row ranges of the files (their windows), or None when a text file cannot be cut; an
    error when the files hold different numbers of rows."""
    from ..io.windows import count_lines

    texts = [p for p, x in layouts.items() if x.kind == "text"]
    counted: dict[str, list[tuple[int, int, int]]] = {}  # text path -> [(start, line ends before, in it)]
    if texts:
        jobs = [(p, s, min(s + chunk, _size(p))) for p in texts
                for s in range(layouts[p].data_start, max(_size(p), layouts[p].data_start + 1), chunk)]
        futures = session.client.map(count_lines, [j[0] for j in jobs], [j[1] for j in jobs], [j[2] for j in jobs],
                                     pure=False)
        results = session.run(futures, "line count")
        odd: dict[str, bool] = {}  # per file: the quote parity of the line being read (it begins even)
        for (p, s, _), c in zip(jobs, results):
            if c.lone_cr:
                return None  # CR line ends (from some line on): lines counted by LF are not rows
            if c.lines:
                if odd.get(p, False) ^ c.head_odd or not c.paired:
                    return None  # a quoted field across a line end: lines are not rows
                odd[p] = c.tail_odd
            else:
                odd[p] = odd.get(p, False) ^ c.tail_odd
            starts = counted.setdefault(p, [])
            for i, lines in enumerate(c.marks):  # (every SCAN_BYTES: a window's first line is near one)
                before = starts[-1][1] + starts[-1][2] if starts else layouts[p].first_line - 1
                starts.append((s + i * SCAN_BYTES, before, lines))
        for p in texts:
            x = layouts[p]
            total = sum(c[2] for c in counted[p])
            if total < n:
                return None  # fewer line ends than partitions (CR line ends, or a few long lines)
            # one row a line, up to the last line with data (which may lack its line end)
            x.rows = (total - x.tail_lines + 1 if x.data_end > x.data_start else 0) + x.blank_rows
    sizes = {p: x.rows for p, x in layouts.items()}
    if len(set(sizes.values())) > 1:  # said here, with the sizes of the whole files
        (small, few), (big, many) = min(sizes.items(), key=lambda t: t[1]), max(sizes.items(), key=lambda t: t[1])
        if sharded:
            from ..io.pairing import shard_mismatch

            raise shard_mismatch(small, few, big, many)
        raise InputError(f"{small} has {few} rows but {big} has {many} (every input needs one row per sample)")
    rows = min(sizes.values())
    if rows < n:
        return None
    bounds = [round(k * rows / n) for k in range(n + 1)]
    out = []
    for k in range(n):
        first, last = bounds[k], None if k == n - 1 else bounds[k + 1]
        windows = {}
        for p, x in layouts.items():
            hints = None
            if x.kind == "text":
                hints = (_hint(counted[p], x.first_line - 1 + first),
                         None if last is None else _hint(counted[p], x.first_line - 1 + last))
            windows[p] = Window(first, last, hints)
        out.append((first, windows))
    return out


def _hint(chunks: list[tuple[int, int, int]], line: int) -> tuple[int, int]:
    """(a byte, the line ends before it) at or before where 0-based ``line`` begins: the last
    counted chunk with fewer line ends before it than ``line`` (the first chunk begins at the
    data, a line start)."""
    best = chunks[0][:2]
    for start, before, _ in chunks:
        if before < line:
            best = (start, before)
        else:
            break
    return best
