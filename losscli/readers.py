"""Input formats: where ``PATH[:SELECTOR]`` becomes blocks of float64 rows.

Add a format: write a ``_xxx_blocks(opener, label, chunk_rows, dtype)`` generator of
:class:`Source` blocks and list it in ``READERS`` (by file suffix) and, if it has a magic number,
in ``_MAGIC``. Everything else (selectors, shards, stdin, lockstep reading, caching) is shared.

- CSV/TSV/TXT: delimiter sniffed (comma, tab, semicolon, pipe, whitespace), header detected
  (a first line with any non-numeric field is a header), UTF-8 with or without BOM, CRLF; cut
  into pieces at line ends and parsed on a thread pool by pandas' C parser (``textparse.py``),
  then regrouped into blocks of exactly the rows asked for. Without a selector a table
  contributes its numeric columns; a column is *text* when its first value is not a number, and
  a column that starts numeric but holds a non-number is an error naming the line and column.
  Blank lines inside the data are missing values; blank lines at the end are not data.
- NPY: the header read with ``allow_pickle=False``, then blocks of rows as views of a memory
  map whose pages are released block by block; object arrays are refused, never unpickled.
- NPZ: one array per selector (``out.npz:logits``), loaded whole (NPZ members cannot be mapped).
- Parquet (``pip install 'losscli[parquet]'``): columns like CSV, read in record batches.
- ``-``: standard input (CSV, or NPY/NPZ recognised by their magic bytes).
- A directory, or a path with ``*``/``?``/``[``, is a sharded input: its files in sorted order,
  read as one input.

A selector picks columns by name or 0-based index (``pred``, ``p0,p1``, ``2-11``), the same for
the columns of a 2-D NPY, or the array of an NPZ.
"""

from __future__ import annotations

import glob
import io
import os
import re
import sys
import zipfile
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from .errors import InputError

NPY_MAGIC = b"\x93NUMPY"
ZIP_MAGIC = b"PK\x03\x04"
PARQUET_MAGIC = b"PAR1"
_DELIMITERS = (",", "\t", ";", "|")
#: bytes of one block of all inputs together; rows per block = this / bytes per row, at least
#: MIN_BLOCK_ROWS. Small blocks stay in the CPU caches (two 10M-row inputs: 16 MB blocks took the
#: same time with 50 MB more peak memory); wide rows keep enough rows to amortise a block's overhead
BLOCK_BYTES = 2 * 2**20
MIN_BLOCK_ROWS = 16384


@dataclass
class Array:
    """A selected input (or one block of it): data plus what is needed to point at a cell."""

    data: np.ndarray
    label: str
    columns: tuple[str, ...] | None = None  # names of the selected table columns
    first_line: int | None = None  # file line of data row 0 of the file (tables only)
    row_offset: int = 0  # row of the file (or shard) that this block's row 0 is

    def where(self, row: int, col: int | None = None) -> str:
        """'preds.csv, line 4, column "p1"' or 'x.npy, index [3, 1]' (row: within the block)."""
        row = row + self.row_offset
        if self.first_line is not None:
            text = f"{self.label}, line {row + self.first_line}"
            if self.columns and (self.data.ndim == 1 or col is not None):
                name = self.columns[col] if self.data.ndim > 1 else self.columns[0]
                text += f", column {name!r}"
            return text
        if col is None or self.data.ndim == 1:
            return f"{self.label}, row {row}"
        return f"{self.label}, index [{row}, {col}]"


@dataclass
class Source:
    """One block of rows of a file: a table of named columns or a mapping of named arrays."""

    label: str
    rows: int
    columns: dict[str, np.ndarray] = field(default_factory=dict)  # tables: numeric columns
    text_columns: dict[str, str] = field(default_factory=dict)  # tables: name -> first value
    order: list[str] = field(default_factory=list)  # tables: every column name, in file order
    first_line: int | None = None
    arrays: dict[str, np.ndarray] | None = None  # NPY ("" key) / NPZ
    row_offset: int = 0

    def _at_first_row(self) -> str:
        if self.first_line is not None:
            return f"line {self.first_line + self.row_offset}"
        return f"row {self.row_offset}"

    def select(self, selector: str | None) -> Array:
        if self.arrays is not None:
            return self._select_array(selector)
        return self._select_columns(selector)

    def _select_columns(self, selector: str | None) -> Array:
        order = self.order
        if selector is None:
            chosen = [n for n in order if n in self.columns]
            if not chosen:
                first = order[0]
                raise InputError(f"{self.label}: no numeric columns (columns: {_names(order)}); "
                                 f"{self._at_first_row()}, column {first!r} holds "
                                 f"{self.text_columns[first]!r}{_decimal_comma_hint(self.text_columns[first])}")
        else:
            chosen = _resolve_columns(selector, order, self.label)
        for n in chosen:
            if n in self.text_columns:
                raise InputError(
                    f"{self.label}, {self._at_first_row()}, column {n!r}: expected a "
                    f"number, found {self.text_columns[n]!r} (the column is text)"
                    f"{_decimal_comma_hint(self.text_columns[n])}")
        data = self.columns[chosen[0]] if len(chosen) == 1 else np.column_stack(
            [self.columns[n] for n in chosen])
        label = self.label if selector is None else f"{self.label}:{selector}"
        return Array(data, label, tuple(chosen), self.first_line, self.row_offset)

    def _select_array(self, selector: str | None) -> Array:
        arrays = self.arrays
        if "" in arrays:  # NPY: the selector, if any, picks columns of a 2-D array
            data = arrays[""]
            if selector is None:
                return Array(data, self.label, row_offset=self.row_offset)
            if data.ndim != 2:
                raise InputError(f"{self.label}: a column selector needs a 2-D array, "
                                 f"this one has shape {data.shape}")
            names = [str(i) for i in range(data.shape[1])]
            idx = [int(c) for c in _resolve_columns(selector, names, self.label)]
            picked = data[:, idx[0]] if len(idx) == 1 else data[:, idx]
            return Array(picked, f"{self.label}:{selector}", row_offset=self.row_offset)
        if selector is None:
            if len(arrays) == 1:
                return Array(next(iter(arrays.values())), self.label, row_offset=self.row_offset)
            raise InputError(f"{self.label}: holds several arrays, name one as "
                             f"{self.label}:KEY (keys: {_names(arrays)})")
        if selector not in arrays:
            raise InputError(f"{self.label}: no array named {selector!r} (keys: {_names(arrays)})")
        return Array(arrays[selector], f"{self.label}:{selector}", row_offset=self.row_offset)


def _decimal_comma_hint(value: str) -> str:
    if re.fullmatch(r"\s*[-+]?\d+,\d+\s*", value):
        return "; it looks like a decimal comma: losscli reads '.' as the decimal separator"
    return ""


def _names(items) -> str:
    items = list(items)
    shown = ", ".join(items[:20])
    return shown + (f", ... ({len(items)} in all)" if len(items) > 20 else "")


def _resolve_columns(selector: str, names: list[str], label: str) -> list[str]:
    """Column names for ``a,b``, ``0,2``, ``2-11`` (inclusive range); names win over indices."""
    chosen: list[str] = []
    for part in selector.split(","):
        part = part.strip()
        if part in names:
            chosen.append(part)
            continue
        m = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if m:
            lo = int(m.group(1))
            hi = int(m.group(2)) if m.group(2) is not None else lo
            if lo <= hi < len(names):
                chosen.extend(names[lo:hi + 1])
                continue
            raise InputError(f"{label}: column index {part} is out of range "
                             f"(the file has {len(names)} columns, 0-{len(names) - 1})")
        raise InputError(f"{label}: no column {part!r} (columns: {_names(names)})")
    return chosen


# -- specs, files, shards ------------------------------------------------------------------------------
#: ``-:SEL`` on the command line looks like an option to click; the CLI rewrites it to this.
STDIN_PREFIX = "\x00stdin"
_GLOB_CHARS = re.compile(r"[*?\[]")


def split_spec(spec: str) -> tuple[str, str | None]:
    """``PATH[:SELECTOR]`` -> (path, selector). A path that exists as given is never split."""
    if spec.startswith(STDIN_PREFIX):
        spec = "-" + spec[len(STDIN_PREFIX):]
    if spec == "-" or os.path.exists(spec) or ":" not in spec:
        return spec, None
    if is_url(spec) and ":" not in spec.split("://", 1)[1]:
        return spec, None  # s3://bucket/x.csv: the scheme's colon is not a selector
    path, selector = spec.rsplit(":", 1)
    return path, (selector if selector != "" else None)


def is_url(path: str) -> bool:
    """A URL for fsspec (s3://, gs://, memory://, file://...): opened through fsspec."""
    return re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]+://", path) is not None


def _fs(path: str):
    try:
        from fsspec.core import url_to_fs
    except ImportError:
        raise InputError(f"{path}: URLs are read through fsspec: pip install fsspec (and the filesystem's "
                         "package, e.g. s3fs)") from None
    try:
        return url_to_fs(path)
    except (ImportError, ValueError) as exc:
        raise InputError(f"{path}: no fsspec filesystem for this URL ({exc})") from None


def _url_shards(path: str):
    fs, inner = _fs(path)
    proto = path.split("://", 1)[0]

    def url(f: str) -> str:
        return f"{proto}://{f.split('://', 1)[-1]}"

    if _GLOB_CHARS.search(inner):
        files = sorted(f for f in fs.glob(inner) if fs.isfile(f))
        if not files:
            raise InputError(f"{path}: no files match this pattern")
        return [url(f) for f in files]
    if fs.isdir(inner):
        files = sorted(f for f in fs.ls(inner, detail=False) if fs.isfile(f))
        if not files:
            raise InputError(f"{path}: is a directory with no files (a sharded input needs at least one)")
        return [url(f) for f in files]
    if not fs.exists(inner):
        raise InputError(f"{path}: no such file")
    return None


def _shards(path: str) -> list[str] | None:
    """The files of a sharded input (a directory or a glob), sorted; None for a plain path."""
    if is_url(path):
        return _url_shards(path)
    if os.path.isdir(path):
        files = sorted(str(p) for p in Path(path).iterdir() if p.is_file() and not p.name.startswith("."))
        if not files:
            raise InputError(f"{path}: is a directory with no files (a sharded input needs at least one)")
        return files
    if _GLOB_CHARS.search(path) and not os.path.exists(path):
        files = sorted(f for f in glob.glob(path) if os.path.isfile(f))
        if not files:
            raise InputError(f"{path}: no files match this pattern")
        return files
    return None


class FileReader:
    """One input file (or shard set, or stdin), read once however many selectors use it."""

    def __init__(self, path: str, stdin=None, dtype=np.float64):
        self.path, self.dtype = path, dtype
        self._stdin = stdin
        self._raw: bytes | None = None
        self.shards = None if path == "-" else _shards(path)
        if path != "-" and self.shards is None and not is_url(path):
            _check_file(path)
        self.locked_columns: list[str] | None = None  # "all numeric columns" fixed by block 1

    @property
    def label(self) -> str:
        return "<stdin>" if self.path == "-" else self.path

    def rereadable(self) -> bool:
        """Local files (not standard input, not URLs): a second pass can read them again."""
        return all(p != "-" and not is_url(p) for p in self.shards or [self.path])

    def row_estimate(self) -> int | None:
        """Rows of the input: exact for NPY, estimated from the file size for text; None if unknown."""
        total = 0
        for path in self.shards or [self.path]:
            if path == "-":
                return None
            try:
                with open(path, "rb") as fh:
                    head = fh.read(65536)
                if head.startswith(NPY_MAGIC):
                    total += np.load(path, mmap_mode="r", allow_pickle=False).shape[0]
                    continue
                if head.startswith(PARQUET_MAGIC):
                    import pyarrow.parquet as pq

                    total += pq.ParquetFile(path).metadata.num_rows
                    continue
                lines = head.count(b"\n")
                total += int(os.path.getsize(path) / (len(head) / max(lines, 1)))
            except Exception:
                return None
        return total

    def row_width(self) -> int:
        """Numbers per row, from the first file's header (to size blocks); 1 when unknown."""
        path = (self.shards or [self.path])[0]
        try:
            if path == "-":
                return 1
            with open(path, "rb") as fh:
                head = fh.read(65536)
            if head.startswith(NPY_MAGIC):
                shape = np.load(path, mmap_mode="r", allow_pickle=False).shape
                return int(np.prod(shape[1:])) if len(shape) > 1 else 1
            if head.startswith((ZIP_MAGIC, PARQUET_MAGIC)) or b"\x00" in head[:8192]:
                return 1
            lines = [ln for ln in head.decode("utf-8-sig", errors="ignore").splitlines()[:20] if ln.strip()]
            sep = _sniff_delimiter(lines) or ","
            return max(1, len(re.split(sep, lines[0].strip()) if sep == r"\s+" else lines[0].split(sep)))
        except Exception:  # the real read reports what is wrong with the file
            return 1

    def blocks(self, chunk_rows: int | None) -> Iterator[Source]:
        """Blocks of at most chunk_rows rows (None: whole files), shard after shard. A block's
        label and row_offset are those of its own file, so errors point into the right shard."""
        for f in self.shards or [self.path]:
            yield from self._file_blocks(f, chunk_rows)

    def _file_blocks(self, path: str, chunk_rows: int | None) -> Iterator[Source]:
        if path == "-":
            if self._raw is None:
                stream = self._stdin if self._stdin is not None else sys.stdin.buffer
                raw = stream.read()
                self._raw = raw.encode() if isinstance(raw, str) else raw
            raw = self._raw
            opener: Callable = lambda: io.BytesIO(raw)  # noqa: E731
            label, suffix = "<stdin>", ""
        else:
            if is_url(path):
                import fsspec

                opener = lambda: fsspec.open(path, "rb").open()  # noqa: E731
            else:
                opener = lambda: open(path, "rb")  # noqa: E731
            label, suffix = path, Path(path).suffix.lower()
        try:
            with opener() as fh:
                head = fh.read(65536)
        except PermissionError:
            raise InputError(f"{label}: permission denied (cannot read the file)") from None
        except OSError as exc:
            raise InputError(f"{label}: cannot read: {exc.strerror or exc}") from None
        if not head:
            raise InputError(f"{label}: empty file")
        reader = next((r for magic, r in _MAGIC if head.startswith(magic)), None) or READERS.get(
            suffix, _text_blocks)
        produced = False
        for block in reader(opener, label, chunk_rows, self.dtype, head):
            produced = True
            yield block
        if not produced:
            raise InputError(f"{label}: has a header but no data rows")


def _check_file(path: str) -> None:
    p = Path(path)
    if not p.exists():
        raise InputError(f"{path}: no such file")
    if p.is_dir():
        raise InputError(f"{path}: is a directory, expected a file")


class InputCache:
    """Reads each file once, however many roles select from it (``-`` included)."""

    def __init__(self, stdin=None, dtype=np.float64, memoize: bool = False, as_shards: bool = False):
        self.as_shards = as_shards  # the files are shards of larger inputs (an engine's partition)
        self._readers: dict[str, FileReader] = {}
        self._stdin = stdin
        self.dtype = dtype
        self.memoize = memoize  # keep whole inputs for reuse (check: many gates, same files)
        self._memo: dict[str, Array] = {}

    def reader(self, path: str) -> FileReader:
        key = "-" if path == "-" else path if is_url(path) else os.path.realpath(path)
        if key not in self._readers:
            reader = FileReader(path, self._stdin, self.dtype)
            if self.as_shards and reader.shards is None:
                reader.shards = [path]
            self._readers[key] = reader
        return self._readers[key]

    def load(self, spec: str) -> Array:
        """The whole input as one Array (blocks concatenated)."""
        path, selector = split_spec(spec)
        parts = [b.select(selector) for b in self.reader(path).blocks(None)]
        if len(parts) == 1:
            return parts[0]
        first = parts[0]
        try:
            data = np.concatenate([p.data for p in parts])
        except ValueError:
            shapes = ", ".join(f"{p.label} {p.data.shape}" for p in parts[:4])
            raise InputError(f"{path}: the shards' shapes do not stack ({shapes})") from None
        return Array(data, path if selector is None else f"{path}:{selector}", first.columns, None, 0)

    def lockstep(self, specs: list[str], chunk_rows: int | None) -> Iterator[tuple[int, list[Array]]]:
        """(first global row, one block of every spec), advanced together: row i of each block
        is the same sample. A row-count mismatch is an error naming the files or shards."""
        if self.memoize and chunk_rows is None:
            for s in specs:
                if s not in self._memo:
                    self._memo[s] = self.load(s)
            arrays = [self._memo[s] for s in specs]
            for a in arrays[1:]:
                if a.data.shape[0] != arrays[0].data.shape[0]:
                    raise InputError(f"{a.label} has {a.data.shape[0]} rows but {arrays[0].label} has "
                                     f"{arrays[0].data.shape[0]} (every input needs one row per sample)")
            yield 0, arrays
            return
        parsed = [split_spec(s) for s in specs]
        readers = [self.reader(path) for path, _ in parsed]
        distinct = list({id(r): r for r in readers}.values())
        # text inputs are parsed ahead on textparse's thread pool while this loop evaluates
        iters = {id(r): r.blocks(chunk_rows) for r in distinct}
        done = object()
        start = 0
        while True:
            blocks = {k: next(it, done) for k, it in iters.items()}
            ended = [r for r in distinct if blocks[id(r)] is done]
            if len(ended) == len(distinct):
                return
            if ended:
                longer = next(r for r in distinct if blocks[id(r)] is not done)
                raise InputError(f"{ended[0].label} ends after {start} rows but {longer.label} has "
                                 "more (inputs must have the same number of rows)")
            first = blocks[id(distinct[0])]
            for r in distinct[1:]:
                b = blocks[id(r)]
                if b.rows != first.rows:
                    raise _mismatch(distinct[0], first, iters[id(distinct[0])], r, b, iters[id(r)], start)
            yield start, [_select_locked(r, blocks[id(r)], sel) for r, (_, sel) in zip(readers, parsed)]
            start += first.rows


def _mismatch(ra: FileReader, a: Source, ita, rb: FileReader, b: Source, itb, start: int) -> InputError:
    """A row-count mismatch found in one block: say which file (or shard) is short and both sizes
    (the longer one is read on to its end, or to the end of its shard, to count it)."""
    (rs, small, _), (rl, big, it) = sorted([(ra, a, ita), (rb, b, itb)], key=lambda t: t[1].rows)
    big_rows = big.row_offset + big.rows
    for block in it:  # count the rest of the longer file / shard
        if block.label != big.label:
            break
        big_rows = block.row_offset + block.rows
    if ra.shards or rb.shards:
        return InputError(f"shards do not line up: {small.label} has {small.row_offset + small.rows} rows "
                          f"but {big.label} has {big_rows} (the shards of sharded inputs must have the "
                          "same sizes, in sorted order)")
    return InputError(f"{small.label} has {small.row_offset + small.rows} rows but {big.label} has "
                      f"{big_rows} (every input needs one row per sample)")


def _select_locked(reader: FileReader, block: Source, selector: str | None) -> Array:
    """Selecting "all numeric columns" is fixed by the first block, so a text cell later on is
    an error at its line rather than a silently dropped column."""
    if selector is None and block.arrays is None:
        if reader.locked_columns is None:
            arr = block.select(None)
            reader.locked_columns = list(arr.columns)
            return arr
        arr = block.select(",".join(reader.locked_columns))
        return Array(arr.data, block.label, arr.columns, arr.first_line, arr.row_offset)
    return block.select(selector)


# -- NPY / NPZ -----------------------------------------------------------------------------------------
def _numeric(array: np.ndarray, label: str, dtype) -> np.ndarray:
    if array.dtype.kind not in "biuf":
        kind = "an object (pickled) array" if array.dtype.kind == "O" else f"dtype {array.dtype}"
        raise InputError(f"{label}: holds {kind}, expected a numeric array")
    if array.ndim == 0:
        raise InputError(f"{label}: holds a scalar, expected an array with one row per sample")
    return np.asarray(array, dtype=dtype)


def _npy_error(label: str, exc: Exception) -> InputError:
    text = str(exc)
    if "allow_pickle" in text or "Object arrays" in text or "Python objects" in text:
        return InputError(f"{label}: holds an object (pickled) array; refused, losscli never "
                          "unpickles (save a numeric array instead)")
    return InputError(f"{label}: not a valid NPY array ({text.splitlines()[0] if text else type(exc).__name__})")


def _npy_blocks(opener, label, chunk_rows, dtype, head) -> Iterator[Source]:
    local = label != "<stdin>" and os.path.isfile(label)
    if local and chunk_rows:
        plain = _npy_layout(label)
        if plain is not None:  # read block by block: memory is one block, not the whole file
            yield from _npy_file_blocks(label, *plain, chunk_rows, dtype)
            return
    try:
        if not local:  # stdin or a URL: read through the opener
            with opener() as fh:
                array = np.load(io.BytesIO(fh.read()), allow_pickle=False)
        else:  # memory-mapped: a block is read from disk when it is converted
            array = np.load(label, mmap_mode="r", allow_pickle=False)
    except Exception as exc:  # numpy raises ValueError, EOFError, OSError... for corrupt files
        raise _npy_error(label, exc) from None
    if array.dtype.kind not in "biuf" or array.ndim == 0:
        _numeric(array, label, dtype)
    n = array.shape[0]
    step = n if not chunk_rows else chunk_rows
    for start in range(0, max(n, 1), max(step, 1)):
        block = _numeric(array[start:start + step], label, dtype)
        yield Source(label, block.shape[0], arrays={"": block}, row_offset=start)


def _npy_layout(path: str):
    """(shape, dtype, data offset) of a C-ordered numeric NPY file, or None (then np.load
    handles it, including its errors)."""
    from numpy.lib import format as npformat

    try:
        with open(path, "rb") as fh:
            version = npformat.read_magic(fh)
            read_header = {(1, 0): npformat.read_array_header_1_0,
                           (2, 0): npformat.read_array_header_2_0}.get(version)
            if read_header is None:
                return None
            shape, fortran, dtype = read_header(fh)
            offset = fh.tell()
    except Exception:
        return None
    if fortran or dtype.kind not in "biuf" or len(shape) == 0 or dtype.hasobject:
        return None
    rowbytes = int(np.prod(shape[1:], dtype=np.int64)) * dtype.itemsize
    if os.path.getsize(path) < offset + shape[0] * rowbytes:
        return None  # truncated: np.load says so
    return shape, dtype, offset


def _npy_file_blocks(path, shape, file_dtype, offset, chunk_rows, dtype) -> Iterator[Source]:
    """chunk_rows rows at a time, as read-only views of a memory map (no copy); the pages of a
    block are released from this process once the next one is asked for, so peak memory stays
    a block, not the file. (As with any memory map, a file truncated by another process while
    it is read ends this one with SIGBUS.)"""
    import mmap

    width = int(np.prod(shape[1:], dtype=np.int64))
    rowbytes = width * file_dtype.itemsize
    with open(path, "rb") as fh:
        mapped = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) if shape[0] and rowbytes else None
    for start in range(0, shape[0], chunk_rows):
        n = min(chunk_rows, shape[0] - start)
        if mapped is None:
            block = np.zeros((n,) + tuple(shape[1:]), dtype=file_dtype)
        else:
            block = np.frombuffer(mapped, dtype=file_dtype, count=n * width, offset=offset + start * rowbytes)
        yield Source(path, n, arrays={"": np.asarray(block.reshape((n,) + tuple(shape[1:])), dtype=dtype)},
                     row_offset=start)
        if mapped is not None and hasattr(mapped, "madvise"):
            lo = (offset + start * rowbytes) // mmap.PAGESIZE * mmap.PAGESIZE
            hi = (offset + (start + n) * rowbytes) // mmap.PAGESIZE * mmap.PAGESIZE
            if hi > lo:
                mapped.madvise(mmap.MADV_DONTNEED, lo, hi - lo)


def _npz_blocks(opener, label, chunk_rows, dtype, head) -> Iterator[Source]:
    arrays = {}
    try:
        with opener() as fh, np.load(fh, allow_pickle=False) as npz:
            for key in npz.files:
                try:
                    arrays[key] = npz[key]
                except Exception as exc:
                    raise _npy_error(f"{label}:{key}", exc) from None
    except InputError:
        raise
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        raise InputError(f"{label}: not a valid NPZ archive ({exc})") from None
    if not arrays:
        raise InputError(f"{label}: the NPZ archive holds no arrays")
    arrays = {k: _numeric(v, f"{label}:{k}", dtype) for k, v in arrays.items()}
    # NPZ members may differ in length (hard negatives): one block, the whole archive
    yield Source(label, max(v.shape[0] for v in arrays.values()), arrays=arrays)


# -- Parquet -------------------------------------------------------------------------------------------
def _parquet_blocks(opener, label, chunk_rows, dtype, head) -> Iterator[Source]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise InputError(f"{label}: reading Parquet needs pyarrow: pip install 'losscli[parquet]'") from None
    try:
        pf = pq.ParquetFile(label if os.path.isfile(label) else opener())
        names = pf.schema_arrow.names
        offset = 0
        for batch in pf.iter_batches(batch_size=chunk_rows or 1_000_000):
            src = Source(label, batch.num_rows, order=list(names), first_line=None, row_offset=offset)
            for name, col in zip(batch.schema.names, batch.columns):
                if col.type.num_fields == 0 and (str(col.type).startswith(("int", "uint", "float", "double",
                                                                           "bool", "halffloat"))):
                    src.columns[name] = col.to_numpy(zero_copy_only=False).astype(dtype)
                else:
                    src.text_columns[name] = str(col[0]) if len(col) else ""
            offset += batch.num_rows
            yield src
    except InputError:
        raise
    except Exception as exc:
        raise InputError(f"{label}: not a readable Parquet file ({type(exc).__name__}: {exc})") from None


# -- CSV / TSV -----------------------------------------------------------------------------------------
def _decode_error(raw: bytes, label: str) -> InputError | None:
    try:
        raw.decode("utf-8-sig")
        return None
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return InputError(f"{label}, line {line}: not UTF-8 text (byte 0x{raw[exc.start]:02x}); "
                          "expected a UTF-8 CSV file")


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def _sniff_delimiter(lines: list[str]) -> str | None:
    """The delimiter that splits the first lines into the same number (> 1) of fields."""
    best, best_fields = None, 1
    for d in _DELIMITERS:
        counts = {line.count(d) for line in lines}
        if len(counts) == 1 and (n := counts.pop()) + 1 > best_fields:
            best, best_fields = d, n + 1
    if best is None:
        if all(len(line.split()) == len(lines[0].split()) > 1 for line in lines):
            return r"\s+"
        for d in _DELIMITERS:  # inconsistent counts: let the parser report the ragged line
            if d in lines[0]:
                return d
    return best


def _text_blocks(opener, label, chunk_rows, dtype, head) -> Iterator[Source]:
    import pandas as pd  # heavy: imported only when a text table is read

    from . import textparse

    if b"\x00" in head[:8192]:
        raise InputError(f"{label}: looks like a binary file (NUL bytes), expected CSV text")
    text = head.decode("utf-8-sig", errors="ignore")  # for sniffing only
    lines = text.splitlines()
    if len(head) == 65536:
        lines = lines[:-1]  # the last line may be cut
    lines = [ln for ln in lines[:50] if ln.strip()]
    if not lines:
        raise InputError(f"{label}: empty file (no data rows)")
    sep = _sniff_delimiter(lines) or ","
    first = re.split(sep, lines[0].strip()) if sep == r"\s+" else lines[0].split(sep)
    has_header = any(f.strip() != "" and not _is_number(f.strip()) for f in first)
    try:
        with opener() as fh:
            names, first_line, rest = _text_preamble(fh, label, sep, has_header)
            pieces = textparse.parse_pieces(textparse.file_pieces(fh, fh.tell() - len(rest)), sep, len(names))
            yield from _row_blocks(pieces, chunk_rows, names, label, first_line, dtype, sep)
    except InputError:
        raise
    except pd.errors.EmptyDataError:
        raise InputError(f"{label}: empty file (no data rows)") from None
    except UnicodeDecodeError:
        with opener() as fh:
            err = _decode_error(fh.read(), label)
        raise err or InputError(f"{label}: not UTF-8 text; expected a UTF-8 CSV file") from None


def _text_preamble(fh, label: str, sep: str, has_header: bool) -> tuple[list[str], int, bytes]:
    """(column names, file line of the first data row, the bytes read past the header). Names
    come from the header (pandas' rules: duplicates get .1, blanks 'Unnamed: i'), or are the
    0-based indices of the fields of the first non-blank line."""
    import pandas as pd

    data = fh.read(65536)
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    start = len(data) - len(data.lstrip(b" \t\r\n"))  # leading blank lines
    start = data.rfind(b"\n", 0, start) + 1
    while b"\n" not in data[start:]:  # a first line longer than what was read
        more = fh.read(65536)
        if not more:
            break
        data += more
    end = data.find(b"\n", start) + 1 or len(data)
    line = data[start:end]
    kw = dict(sep=sep, engine="c", skipinitialspace=True, encoding="utf-8")
    at = data[:start].count(b"\n") + 1  # the file line of the header / first data line
    try:
        if has_header:
            columns = pd.read_csv(io.BytesIO(line), header=0, nrows=0, **kw).columns
            return [str(c).strip() for c in columns], at + 1, data[end:]
        width = pd.read_csv(io.BytesIO(line), header=None, **kw).shape[1]
    except pd.errors.ParserError as exc:
        raise _parser_error(exc, label, at, sep) from None
    return [str(i) for i in range(width)], 1, data


def _row_blocks(pieces, chunk_rows, names, label, first_line, dtype, sep) -> Iterator[Source]:
    """Parsed pieces regrouped into blocks of exactly chunk_rows rows (the last one shorter;
    None: one block), so every input of a lockstep read cuts its blocks at the same rows."""
    import pandas as pd

    buffered: deque = deque()
    have = offset = parsed = 0

    def take(k: int) -> list[np.ndarray]:
        parts: list[list] = [[] for _ in names]
        while k:
            cols = buffered[0]
            n = cols[0].shape[0]
            if n <= k:
                buffered.popleft()
            else:
                buffered[0] = [c[k:] for c in cols]
                cols = [c[:k] for c in cols]
            for part, c in zip(parts, cols):
                part.append(c)
            k -= min(n, k)
        return [p[0] if len(p) == 1 else np.concatenate(p) for p in parts]

    try:
        for cols in pieces:
            n = cols[0].shape[0]
            parsed += n
            buffered.append(cols)
            have += n
            while chunk_rows and have >= chunk_rows:
                yield _columns_block(take(chunk_rows), names, label, first_line, offset, dtype)
                offset += chunk_rows
                have -= chunk_rows
    except pd.errors.ParserError as exc:
        raise _parser_error(exc, label, first_line + parsed, sep) from None
    if have:
        yield _columns_block(take(have), names, label, first_line, offset, dtype)


def _parser_error(exc, label: str, line0: int, sep: str) -> InputError:
    """pandas' message, with the line counted from the piece that failed (line0 is its first
    line in the file)."""
    text = str(exc)
    m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", text)
    if m:
        return InputError(f"{label}, line {line0 + int(m.group(2)) - 1}: expected {m.group(1)} fields, "
                          f"found {m.group(3)} (ragged rows, or a delimiter other than {sep!r})")
    m = re.search(r"EOF inside string starting at row (\d+)", text)
    if m:
        return InputError(f"{label}, line {line0 + int(m.group(1))}: a quoted field is never closed")
    return InputError(f"{label}: cannot parse as CSV ({text.strip()})")


def _columns_block(cols, names, label, first_line, offset, dtype) -> Source:
    src = Source(label, cols[0].shape[0], first_line=first_line, order=names, row_offset=offset)
    for name, col in zip(names, cols):
        if col.dtype.kind in "biuf":
            src.columns[name] = col.astype(dtype, copy=False)
            continue
        import pandas as pd

        values = np.asarray(pd.to_numeric(col, errors="coerce"), dtype=np.float64)
        present = ~pd.isna(col)
        bad = np.isnan(values) & present
        firsts = np.flatnonzero(present)
        if firsts.size and bad[firsts[0]]:  # starts with a non-number: a text column
            src.text_columns[name] = str(col[firsts[0]])
            continue
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise InputError(f"{label}, line {offset + row + first_line}, column {name!r}: expected a "
                             f"number, found {str(col[row])!r}")
        src.columns[name] = values.astype(dtype, copy=False)
    return src


READERS = {
    ".csv": _text_blocks,
    ".tsv": _text_blocks,
    ".txt": _text_blocks,
    ".npy": _npy_blocks,
    ".npz": _npz_blocks,
    ".parquet": _parquet_blocks,
    ".pq": _parquet_blocks,
}
_MAGIC = ((NPY_MAGIC, _npy_blocks), (ZIP_MAGIC, _npz_blocks), (PARQUET_MAGIC, _parquet_blocks))
