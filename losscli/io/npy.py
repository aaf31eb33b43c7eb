"""NPY and NPZ inputs, read with ``allow_pickle=False``: object arrays are refused, never unpickled.

- NPY: the header read first, then blocks of rows as views of a memory map whose pages are
  released block by block.
- NPZ: one array per selector (``out.npz:logits``): only the selected members are read, each
  whole (NPZ members cannot be mapped), then cut into blocks of rows.
"""

from __future__ import annotations

import io
import os
from typing import Iterator

import numpy as np

from ..errors import InputError
from .buffers import as_dtype
from .table import Source, names_text, npz_member

NPY_MAGIC = b"\x93NUMPY"
ZIP_MAGIC = b"PK\x03\x04"


def _numeric(array: np.ndarray, label: str, dtype, start: int = 0) -> np.ndarray:
    if array.dtype.kind not in "biuf":
        kind = "an object (pickled) array" if array.dtype.kind == "O" else f"dtype {array.dtype}"
        # (np.save(y_test) of a classifier's string classes: as text, the class names read them)
        text = "; if it holds class names (np.save of string labels), write them as text, e.g. " \
            "pd.Series(np.load(f)).to_csv('labels.csv', index=False), and --classes NAME,... (or predictions " \
            "whose columns are named after the classes) reads them" if array.dtype.kind in "US" else ""
        raise InputError(f"{label}: holds {kind}, expected a numeric array{text}")
    if array.ndim == 0:
        raise InputError(f"{label}: holds a scalar, expected an array with one row per sample")
    return as_dtype(np.asarray(array), dtype, lambda row: f"{label}, row {start + row}")


def _npy_error(label: str, exc: Exception) -> InputError:
    text = str(exc)
    if "allow_pickle" in text or "Object arrays" in text or "Python objects" in text:
        return InputError(f"{label}: holds an object (pickled) array; refused, losscli never "
                          "unpickles (save a numeric array instead)")
    return InputError(f"{label}: not a valid NPY array ({text.splitlines()[0] if text else type(exc).__name__})")


def _what_it_looks_like(head: bytes) -> str:
    """What a file named .npy without NumPy's magic bytes looks like: text (UTF-8 without a NUL
    byte: a CSV), or raw numbers (``arr.tofile()``, which keeps no dtype or shape), or another format."""
    if b"\x00" not in head:
        try:
            head.decode("utf-8")
        except UnicodeDecodeError as exc:
            if exc.start < len(head) - 3:  # (not only a character cut at the end of the head)
                return ("raw binary, no header: arr.tofile() writes numbers without their dtype or shape; save "
                        "them with np.save(path, np.fromfile(raw, dtype=...)), naming the dtype they were written in")
        else:
            return "text, CSV perhaps: name it .csv"
    return "some other binary format (arr.tofile() writes numbers without their dtype or shape: save them with " \
           "np.save(path, np.fromfile(raw, dtype=...)))"


def npy_blocks(opener, label, chunk_rows, dtype, head, wanted=None, rules=None, window=None) -> Iterator[Source]:
    """``window``: only those rows (``windows.py``; the planner windows plain local files only)."""
    if head and not head.startswith(NPY_MAGIC):  # (named .npy: numpy's own errors would misname it)
        raise InputError(f"{label}: not an NPY file (it does not start with NumPy's magic bytes; it looks like "
                         f"{_what_it_looks_like(head[:4096])})")
    local = label != "<stdin>" and os.path.isfile(label)
    if local and (chunk_rows or window is not None):
        plain = _npy_layout(label)
        if plain is not None:  # read block by block: memory is one block, not the whole file
            yield from _npy_file_blocks(label, *plain, chunk_rows, dtype, window)
            return
    try:
        if not local:  # stdin or a URL: read through the opener
            with opener() as fh:
                buffer = io.BytesIO(fh.read())
            array = np.load(buffer, allow_pickle=False)
            _refuse_trailing(label, array, buffer.tell(), len(buffer.getvalue()), buffer.read(len(NPY_MAGIC)))
        else:  # memory-mapped: a block is read from disk when it is converted
            array = np.load(label, mmap_mode="r", allow_pickle=False)
            if isinstance(array, np.memmap):
                end = array.offset + array.nbytes
                with open(label, "rb") as fh:
                    fh.seek(end)
                    _refuse_trailing(label, array, end, os.fstat(fh.fileno()).st_size, fh.read(len(NPY_MAGIC)))
    except InputError:
        raise
    except Exception as exc:  # numpy raises ValueError, EOFError, OSError... for corrupt files
        raise _npy_error(label, exc) from None
    if array.dtype.names is not None and array.ndim == 1:
        yield from _structured_blocks(array, label, chunk_rows, dtype, wanted, rules)
        return
    if array.dtype.kind not in "biuf" or array.ndim == 0:
        _numeric(array, label, dtype)
    n = array.shape[0]
    step = n if not chunk_rows else chunk_rows
    for start in range(0, max(n, 1), max(step, 1)):
        block = _numeric(array[start:start + step], label, dtype, start)
        yield Source(label, block.shape[0], arrays={"": block}, row_offset=start)


#: rows of a structured array made into one Arrow record batch at a time (memory: one batch, not the file)
STRUCTURED_BATCH_ROWS = 65536


def _structured_blocks(array: np.ndarray, label: str, chunk_rows, dtype, wanted, rules) -> Iterator[Source]:
    """A structured array (``np.save`` of a record array, ``df.to_records()``) is a table: its
    fields are columns, selected by name like a Parquet file's (a field of numbers, of text, of
    times, or of a fixed-length vector of numbers: one list column, ``(N, C)``)."""
    import pyarrow as pa

    from .arrow import read_columns, table_blocks
    from .rules import ReadRules

    names = list(array.dtype.names or ())
    for name in names:
        field = array.dtype[name]
        base = field.base
        if field.names is not None or len(field.shape) > 1 or base.kind not in "biufUSMm" or \
                (field.shape and base.kind not in "biuf"):
            raise InputError(f"{label}: field {name!r} of the structured array holds {field}, which losscli does not "
                             "read (numbers, text, times, or one vector of numbers a row); save the fields to read "
                             "as a table, e.g. pd.DataFrame({name: a[name] for name in fields}).to_parquet(out)")

    def batch(part: np.ndarray):
        columns = []
        for name in names:
            values = part[name]
            if values.dtype.kind == "f" and values.dtype.itemsize not in (4, 8):
                values = values.astype(np.float64)  # (long double: Arrow has no such type; half: older Arrow casts none)
            elif not values.dtype.isnative:  # (a big-endian field, as FITS and other instruments write them)
                values = values.astype(values.dtype.newbyteorder("="))
            values = np.ascontiguousarray(values)
            if values.ndim == 2:  # a vector a row: a fixed-size list column
                columns.append(pa.FixedSizeListArray.from_arrays(pa.array(values.reshape(-1)), values.shape[1]))
            else:
                columns.append(pa.array(values))
        return pa.RecordBatch.from_arrays(columns, names=names)

    first = batch(array[:0])
    columns, index, keys = read_columns(first.schema, label, wanted, rules or ReadRules())
    batches = (batch(array[start:start + STRUCTURED_BATCH_ROWS])
               for start in range(0, len(array), STRUCTURED_BATCH_ROWS))
    yield from table_blocks(batches, label, chunk_rows, dtype, names, columns, index, keys,
                            features=bool(rules and rules.features))


def _npy_layout(path: str) -> tuple[tuple[int, ...], np.dtype, int] | None:
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
    if os.path.getsize(path) != offset + shape[0] * rowbytes:
        return None  # truncated, or more after the data: np.load says so (npy_blocks)
    return shape, dtype, offset


def _refuse_trailing(label: str, array: np.ndarray, end: int, size: int, following: bytes) -> None:
    """Bytes after an NPY's data (``size`` bytes in all, ``following`` the first of those after
    ``end``) are an error: np.load reads the first array and ignores the rest, so a file that
    ``np.save`` wrote twice into (one open file, an array a batch) would be read as its first batch."""
    if size <= end:
        return
    if following.startswith(NPY_MAGIC):
        what = ("another NPY array follows it (np.save called again on the same open file?); losscli reads one "
                "array a file: save the arrays as one (np.concatenate) or as the members of an NPZ")
    else:
        what = (f"{size - end} more bytes follow it (np.load ignores them); losscli reads a file holding one array "
                "and nothing else: save the array alone (np.save to a new file)")
    raise InputError(f"{label}: holds an array of shape {array.shape} ending at byte {end}, and {what}")


def _npy_file_blocks(path, shape, file_dtype, offset, chunk_rows, dtype, window=None) -> Iterator[Source]:
    """chunk_rows rows at a time, as read-only views of a memory map (no copy); the pages of a
    block are released from this process once the next one is asked for, so peak memory stays
    a block, not the file. (As with any memory map, a file truncated by another process while
    it is read ends this one with SIGBUS.)"""
    import mmap

    width = int(np.prod(shape[1:], dtype=np.int64))
    rowbytes = width * file_dtype.itemsize
    with open(path, "rb") as fh:
        mapped = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) if shape[0] and rowbytes else None
    first, last = (0, shape[0]) if window is None else \
        (min(window.start, shape[0]), shape[0] if window.stop is None else min(window.stop, shape[0]))
    step = chunk_rows or max(last - first, 1)
    for start in range(first, last, step):
        n = min(step, last - start)
        if mapped is None:
            block = np.zeros((n,) + tuple(shape[1:]), dtype=file_dtype)
        else:
            block = np.frombuffer(mapped, dtype=file_dtype, count=n * width, offset=offset + start * rowbytes)
        yield Source(path, n, arrays={"": as_dtype(block.reshape((n,) + tuple(shape[1:])), dtype,
                                                   lambda row: f"{path}, row {start + row}")}, row_offset=start)
        if mapped is not None and hasattr(mapped, "madvise"):
            lo = (offset + start * rowbytes) // mmap.PAGESIZE * mmap.PAGESIZE
            hi = (offset + (start + n) * rowbytes) // mmap.PAGESIZE * mmap.PAGESIZE
            if hi > lo:
                mapped.madvise(mmap.MADV_DONTNEED, lo, hi - lo)


def npz_blocks(opener, label, chunk_rows, dtype, head, wanted=None, rules=None) -> Iterator[Source]:
    """The selected members only (``wanted``; None: all of them), each read and decompressed
    when selected and never otherwise; blocks of rows when every selected member has as many."""
    import zipfile  # (only an NPZ input needs it: 7 ms with shutil, bz2 and lzma)

    arrays = {}
    try:
        with opener() as fh, np.load(fh, allow_pickle=False) as npz:
            keys = list(npz.files)
            if not keys:
                raise InputError(f"{label}: the NPZ archive holds no arrays")
            for key in keys if wanted is None else sorted({npz_member(w, keys)[0] for w in wanted}):
                if key not in keys:
                    raise InputError(f"{label}: no array named {key!r} (keys: {names_text(keys)})")
                try:
                    member = npz[key]
                except Exception as exc:
                    raise _npy_error(f"{label}:{key}", exc) from None
                if not isinstance(member, np.ndarray):  # a ZIP member that is not an .npy file
                    raise InputError(f"{label}: not an NPZ archive: its member {key!r} is not an .npy array "
                                     "(a ZIP of other files, such as a torch.save checkpoint?)")
                arrays[key] = _numeric(member, f"{label}:{key}", dtype)
    except InputError:
        raise
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        raise InputError(f"{label}: not a valid NPZ archive ({exc})") from None
    rows = {k: v.shape[0] for k, v in arrays.items()}
    if chunk_rows is None:  # members may differ in length (hard negatives): one block, all of them
        yield Source(label, max(rows.values()), arrays=arrays)
        return
    (a, n), *others = rows.items()
    for b, m in others:
        if m != n:
            raise InputError(f"{label}:{b} has {m} rows but {label}:{a} has {n} (every input needs one row per "
                             "sample)")
    for start in range(0, n, chunk_rows):
        k = min(chunk_rows, n - start)
        yield Source(label, k, arrays={key: v[start:start + k] for key, v in arrays.items()}, row_offset=start)


