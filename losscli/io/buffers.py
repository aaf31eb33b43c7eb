"""Arrow arrays as numpy, and numpy as Arrow, through their buffers: ``Array.to_numpy`` goes
through pyarrow's pandas conversion and imports pandas (0.3 s) on the first call, and so does
``pa.array`` of Python or numpy values; reading the buffers costs nothing and copies nothing for a
float64 column without nulls."""

from __future__ import annotations

from typing import Callable

import numpy as np

from ..errors import InputError

#: Arrow types read as numbers (cast to float64); anything else is text
NUMERIC_PREFIXES = ("int", "uint", "float", "double", "halffloat", "bool", "decimal")


def is_numeric(type_) -> bool:
    return str(type_).startswith(NUMERIC_PREFIXES) or str(type_) == "null"


def as_dtype(values: np.ndarray, dtype, where: Callable[[int], str]) -> np.ndarray:
    """``values`` as ``dtype`` (``--dtype``); a finite value beyond a narrower float's range is an
    error naming where it is (``where(row)``: the file, its line or row, the column), not an inf
    that the NaN policy would then report as the file's or drop."""
    target = np.dtype(dtype)
    if values.dtype == target:
        return values
    with np.errstate(over="ignore"):
        out = np.asarray(values, dtype=target)
    if target.kind == values.dtype.kind == "f" and target.itemsize < values.dtype.itemsize:
        beyond = (np.isinf(out) & np.isfinite(values)).reshape(len(values), -1) if values.ndim else None
        if beyond is not None and beyond.any():
            row = int(np.flatnonzero(beyond.any(axis=1))[0])
            value = float(values.reshape(len(values), -1)[row][beyond[row]][0])
            raise InputError(f"{where(row)}: {value!r} is beyond {target}'s range (±{np.finfo(target).max:.4g}); "
                             f"--dtype float64 reads it")
    return out


def floats(arr) -> np.ndarray:
    """A numeric Arrow array (or chunked array) as float64 numpy, NaN where null."""
    import pyarrow as pa

    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks() if arr.num_chunks != 1 else arr.chunk(0)
    if arr.type != pa.float64():
        if pa.types.is_null(arr.type):
            return np.full(len(arr), np.nan)
        if pa.types.is_decimal(arr.type):  # (Arrow's decimal -> float64 cast is not correctly rounded;
            arr = arr.cast(pa.string())    # its string -> float64 parse is)
        # ints beyond 2**53 round to the nearest float64 (a "safe" cast would refuse them)
        arr = arr.cast(pa.float64(), safe=False)
    values = np.frombuffer(arr.buffers()[1], dtype=np.float64, count=arr.offset + len(arr))[arr.offset:]
    if arr.null_count:
        values = np.where(validity(arr), values, np.nan)
    return values


def strings(values) -> object:
    """Python strings as an Arrow string array, from buffers (``pa.array`` of Python objects
    imports pandas to look for its types)."""
    import pyarrow as pa

    encoded = [v.encode() for v in values]
    offsets = np.cumsum([0] + [len(b) for b in encoded], dtype=np.int32)
    return pa.StringArray.from_buffers(len(encoded), pa.py_buffer(offsets.tobytes()), pa.py_buffer(b"".join(encoded)))


def bits(arr, null: bool = False) -> np.ndarray:
    """A boolean Arrow array as a numpy bool array, ``null`` where it is null."""
    packed = np.frombuffer(arr.buffers()[1], dtype=np.uint8)
    values = np.unpackbits(packed, bitorder="little")[arr.offset:arr.offset + len(arr)].astype(bool)
    if arr.null_count:
        values = np.where(validity(arr), values, null)
    return values


def validity(arr) -> np.ndarray:
    packed = np.frombuffer(arr.buffers()[0], dtype=np.uint8)
    return np.unpackbits(packed, bitorder="little")[arr.offset:arr.offset + len(arr)].astype(bool)


def int64s(values: np.ndarray):
    """A numpy integer array as an Arrow int64 array, from its buffer (``take`` indices)."""
    import pyarrow as pa

    data = np.ascontiguousarray(values, dtype=np.int64)
    return pa.Array.from_buffers(pa.int64(), data.shape[0], [None, pa.py_buffer(data)])
