"""Input formats: where ``PATH[:SELECTOR]`` becomes a float64 array.

Add a format: write a ``_read_xxx(raw, label) -> Source`` function and list it in ``READERS``
(by file suffix) and, if it has a magic number, in ``_MAGIC``.

- CSV/TSV/TXT: delimiter sniffed (comma, tab, semicolon, pipe, whitespace), header detected
  (a first line with any non-numeric field is a header), UTF-8 with or without BOM, CRLF.
  Without a selector a table contributes its numeric columns; a column is *text* when its first
  value is not a number, and a column that starts numeric but holds a non-number is an error
  naming the line and column.
- NPY: ``np.load(allow_pickle=False)``, memory-mapped; object arrays are refused, never unpickled.
- NPZ: one array per selector (``out.npz:logits``).
- ``-``: standard input (CSV, or NPY/NPZ recognised by their magic bytes).

A selector picks CSV columns by name or 0-based index (``pred``, ``p0,p1``, ``2-11``), the same
for the columns of a 2-D NPY, or the array of an NPZ.
"""

from __future__ import annotations

import io
import os
import re
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import InputError

NPY_MAGIC = b"\x93NUMPY"
ZIP_MAGIC = b"PK\x03\x04"
_DELIMITERS = (",", "\t", ";", "|")


@dataclass
class Array:
    """A selected input: float64 data plus what is needed to point at a cell in an error."""

    data: np.ndarray
    label: str
    columns: tuple[str, ...] | None = None  # names of the selected table columns
    first_line: int | None = None  # file line of data row 0 (tables only)

    def where(self, row: int, col: int | None = None) -> str:
        """'preds.csv, line 4, column "p1"' or 'x.npy, index [3, 1]'."""
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
    """A file as read once: a table of named columns or a mapping of named arrays."""

    label: str
    columns: dict[str, np.ndarray] = field(default_factory=dict)  # tables: numeric columns
    text_columns: dict[str, str] = field(default_factory=dict)  # tables: name -> first value
    order: list[str] = field(default_factory=list)  # tables: every column name, in file order
    first_line: int | None = None
    arrays: dict[str, np.ndarray] | None = None  # NPY ("" key) / NPZ

    def select(self, selector: str | None) -> Array:
        if self.arrays is not None:
            return self._select_array(selector)
        return self._select_columns(selector)

    # -- tables ------------------------------------------------------------------------------
    def _select_columns(self, selector: str | None) -> Array:
        order = self.order
        if selector is None:
            chosen = [n for n in order if n in self.columns]
            if not chosen:
                first = order[0]
                raise InputError(f"{self.label}: no numeric columns (columns: {_names(order)}); line "
                                 f"{self.first_line}, column {first!r} holds {self.text_columns[first]!r}"
                                 f"{_decimal_comma_hint(self.text_columns[first])}")
        else:
            chosen = _resolve_columns(selector, order, self.label)
        for n in chosen:
            if n in self.text_columns:
                raise InputError(
                    f"{self.label}, line {self.first_line}, column {n!r}: expected a number, "
                    f"found {self.text_columns[n]!r} (the column is text)"
                    f"{_decimal_comma_hint(self.text_columns[n])}")
        data = self.columns[chosen[0]] if len(chosen) == 1 else np.column_stack(
            [self.columns[n] for n in chosen])
        label = self.label if selector is None else f"{self.label}:{selector}"
        return Array(data, label, tuple(chosen), self.first_line)

    # -- arrays ------------------------------------------------------------------------------
    def _select_array(self, selector: str | None) -> Array:
        arrays = self.arrays
        if "" in arrays:  # NPY: the selector, if any, picks columns of a 2-D array
            data = arrays[""]
            if selector is None:
                return Array(data, self.label)
            if data.ndim != 2:
                raise InputError(f"{self.label}: a column selector needs a 2-D array, "
                                 f"this one has shape {data.shape}")
            names = [str(i) for i in range(data.shape[1])]
            idx = [int(c) for c in _resolve_columns(selector, names, self.label)]
            picked = data[:, idx[0]] if len(idx) == 1 else data[:, idx]
            return Array(picked, f"{self.label}:{selector}")
        if selector is None:
            if len(arrays) == 1:
                return Array(next(iter(arrays.values())), self.label)
            raise InputError(f"{self.label}: holds several arrays, name one as "
                             f"{self.label}:KEY (keys: {_names(arrays)})")
        if selector not in arrays:
            raise InputError(f"{self.label}: no array named {selector!r} (keys: {_names(arrays)})")
        return Array(arrays[selector], f"{self.label}:{selector}")


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


# ------------------------------------------------------------------------------------------------
#: ``-:SEL`` on the command line looks like an option to click; the CLI rewrites it to this.
STDIN_PREFIX = "\x00stdin"


def split_spec(spec: str) -> tuple[str, str | None]:
    """``PATH[:SELECTOR]`` -> (path, selector). A path that exists as given is never split."""
    if spec.startswith(STDIN_PREFIX):
        spec = "-" + spec[len(STDIN_PREFIX):]
    if spec == "-" or os.path.exists(spec) or ":" not in spec:
        return spec, None
    path, selector = spec.rsplit(":", 1)
    return path, (selector if selector != "" else None)


class InputCache:
    """Reads each file once, however many roles select from it (``-`` included)."""

    def __init__(self, stdin=None):
        self._sources: dict[str, Source] = {}
        self._stdin = stdin

    def load(self, spec: str) -> Array:
        path, selector = split_spec(spec)
        key = "-" if path == "-" else os.path.realpath(path)
        if key not in self._sources:
            self._sources[key] = read_source(path, self._stdin)
        return self._sources[key].select(selector)

    def paths(self) -> set[str]:
        return {k for k in self._sources if k != "-"}


def read_source(path: str, stdin=None) -> Source:
    if path == "-":
        stream = stdin if stdin is not None else sys.stdin.buffer
        raw = stream.read()
        if isinstance(raw, str):
            raw = raw.encode()
        return _dispatch(raw, "<stdin>", suffix="")
    p = Path(path)
    if not p.exists():
        raise InputError(f"{path}: no such file")
    if p.is_dir():
        raise InputError(f"{path}: is a directory, expected a file")
    try:
        with open(p, "rb") as fh:
            raw = fh.read()
    except PermissionError:
        raise InputError(f"{path}: permission denied (cannot read the file)") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    return _dispatch(raw, path, suffix=p.suffix.lower())


def _dispatch(raw: bytes, label: str, suffix: str) -> Source:
    if not raw:
        raise InputError(f"{label}: empty file")
    for magic, reader in _MAGIC:
        if raw.startswith(magic):
            return reader(raw, label)
    reader = READERS.get(suffix, _read_text_table)
    return reader(raw, label)


# -- NPY / NPZ -----------------------------------------------------------------------------------
def _numeric(array: np.ndarray, label: str) -> np.ndarray:
    if array.dtype.kind not in "biuf":
        kind = "an object (pickled) array" if array.dtype.kind == "O" else f"dtype {array.dtype}"
        raise InputError(f"{label}: holds {kind}, expected a numeric array")
    if array.ndim == 0:
        raise InputError(f"{label}: holds a scalar, expected an array with one row per sample")
    return np.asarray(array, dtype=np.float64)


def _npy_error(label: str, exc: Exception) -> InputError:
    text = str(exc)
    if "allow_pickle" in text or "Object arrays" in text:
        return InputError(f"{label}: holds an object (pickled) array; refused, losscli never "
                          "unpickles (save a numeric array instead)")
    return InputError(f"{label}: not a valid NPY array ({text.splitlines()[0] if text else type(exc).__name__})")


def _read_npy(raw: bytes, label: str) -> Source:
    try:
        array = np.load(io.BytesIO(raw), allow_pickle=False)
    except Exception as exc:  # numpy raises ValueError, EOFError, OSError... for corrupt files
        raise _npy_error(label, exc) from None
    return Source(label, arrays={"": _numeric(array, label)})


def _read_npz(raw: bytes, label: str) -> Source:
    arrays = {}
    try:
        with np.load(io.BytesIO(raw), allow_pickle=False) as npz:
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
    return Source(label, arrays={k: _numeric(v, f"{label}:{k}") for k, v in arrays.items()})


# -- CSV / TSV -----------------------------------------------------------------------------------
def _decode(raw: bytes, label: str) -> str:
    if b"\x00" in raw[:8192]:
        raise InputError(f"{label}: looks like a binary file (NUL bytes), expected CSV text")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError(f"{label}, line {line}: not UTF-8 text (byte 0x{raw[exc.start]:02x}); "
                         "expected a UTF-8 CSV file") from None


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


def _read_text_table(raw: bytes, label: str) -> Source:
    import pandas as pd  # heavy: imported only when a text table is read

    text = _decode(raw, label)
    head = [ln for ln in text.splitlines()[:50] if ln.strip()]
    if not head:
        raise InputError(f"{label}: empty file (no data rows)")
    sep = _sniff_delimiter(head) or ","
    first = re.split(sep, head[0].strip()) if sep == r"\s+" else head[0].split(sep)
    has_header = any(f.strip() != "" and not _is_number(f.strip()) for f in first)
    try:
        # blank lines inside the data are missing values (and keep line numbers right);
        # blank lines at the end are not data
        frame = pd.read_csv(io.StringIO(text.rstrip() + "\n"), sep=sep, header=0 if has_header else None,
                            engine="c" if sep != r"\s+" else "python", skipinitialspace=True,
                            skip_blank_lines=False)
    except pd.errors.EmptyDataError:
        raise InputError(f"{label}: empty file (no data rows)") from None
    except pd.errors.ParserError as exc:
        m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
        if m:
            raise InputError(f"{label}, line {m.group(2)}: expected {m.group(1)} fields, found "
                             f"{m.group(3)} (ragged rows, or a delimiter other than {sep!r})") from None
        raise InputError(f"{label}: cannot parse as CSV ({str(exc).strip()})") from None
    if len(frame) == 0:
        raise InputError(f"{label}: has a header but no data rows")
    first_line = 2 if has_header else 1
    names = [str(c).strip() for c in frame.columns] if has_header else [str(i) for i in range(frame.shape[1])]
    source = Source(label, first_line=first_line, order=names)
    for name, col in zip(names, (frame.iloc[:, i] for i in range(frame.shape[1]))):
        if col.dtype.kind in "biuf":
            source.columns[name] = col.to_numpy(dtype=np.float64)
            continue
        values = pd.to_numeric(col, errors="coerce")
        bad = values.isna().to_numpy() & col.notna().to_numpy()
        present = np.flatnonzero(col.notna().to_numpy())
        if present.size and bad[present[0]]:  # starts with a non-number: a text column
            source.text_columns[name] = str(col.iloc[present[0]])
            continue
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise InputError(f"{label}, line {row + first_line}, column {name!r}: expected a "
                             f"number, found {str(col.iloc[row])!r}")
        source.columns[name] = values.to_numpy(dtype=np.float64)
    return source


READERS = {
    ".csv": _read_text_table,
    ".tsv": _read_text_table,
    ".txt": _read_text_table,
    ".npy": _read_npy,
    ".npz": _read_npz,
}
_MAGIC = ((NPY_MAGIC, _read_npy), (ZIP_MAGIC, _read_npz))
