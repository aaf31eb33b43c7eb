"""Slices (``--by COLUMN[,COLUMN...]``): the rows grouped by the values of key columns, read from
the inputs' tables or from a file of their own (``--by-file``), as one integer code per row.

A slice's key is the tuple of its columns' values as the file holds them (integers, text, booleans;
a missing value is a key of its own, ``None``), compared exactly: the slices are those of pandas'
``groupby(..., dropna=False)``. Codes are numbered in the order keys are first met and shared by
every block and every evaluation of a run (``compare``'s two models see the same codes). Memory is
the distinct keys: more than ``MAX_SLICES`` of them is an error naming the columns, so a float
column given by mistake does not fill the machine.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import InputError, LossCliError

#: the most distinct slice keys a run holds
MAX_SLICES = 1_000_000


@dataclass(frozen=True)
class SliceSpec:
    """What a run groups by: key columns, and the file that holds them (None: the inputs)."""

    columns: tuple[str, ...]
    file: str | None = None

    @classmethod
    def parse(cls, by: str | list | None, by_file: str | None = None, where: str = "--by") -> "SliceSpec | None":
        """``--by a,b`` (or a gate's ``by``, a string or list) and ``--by-file FILE[:SEL]``: the
        selector names the columns when ``--by`` does not. None when neither is given."""
        from .spec import split_spec

        if by is None and by_file is None:
            return None
        sel = split_spec(by_file)[1] if by_file else None
        if by is not None and sel and sel != (by if isinstance(by, str) else ",".join(map(str, by))):
            file_option = "--by-file" if where == "--by" else "key 'by_file'"
            raise LossCliError(f"{where} {by if isinstance(by, str) else ','.join(map(str, by))} and {file_option} "
                               f"{by_file} name different columns; name them once (in {file_option}'s selector, "
                               f"or in {where})")
        if by is None:
            if not sel:
                file_option = "--by-file" if where == "--by" else "key 'by_file'"
                raise LossCliError(f"{file_option} {by_file}: name the columns to group by: {where} COLUMN, or "
                                   f"{by_file}:COLUMN[,COLUMN...]")
            by = sel
        names = [c.strip() if isinstance(c, str) else c for c in (by.split(",") if isinstance(by, str) else by)]
        if not names or not all(isinstance(c, str) and c for c in names):
            raise LossCliError(f"{where} {by!r}: expected column names, none of them empty")
        repeated = [c for c in names if names.count(c) > 1]
        if repeated:
            raise LossCliError(f"{where}: the column {repeated[0]!r} is named twice")
        return cls(tuple(names), by_file)

    @property
    def path(self) -> str | None:
        from .spec import split_spec

        return None if self.file is None else split_spec(self.file)[0]

    def text(self) -> str:
        return ",".join(self.columns)


class SliceKeys:
    """The run's dictionary of slice keys: key tuple -> code, codes in the order keys are met."""

    def __init__(self, spec: SliceSpec):
        self.spec = spec
        self.keys: list[tuple] = []  # each code's key as shown (``code_of``)
        self._code: dict[tuple, int] = {}  # each key as compared (``_canonical``) -> its code
        # one key column: the values met so far as an Arrow array, looked up by Arrow (None: none
        # yet; False: the column's type changed between blocks, so Python compares them)
        self._known: Any = None
        self._known_codes = np.empty(0, dtype=np.int64)  # the code of each entry of the lookup
        self._known_text: bool | None = None  # whether the lookup's values were read from text (NA spellings)

    def codes(self, columns: list, labels: list[str], texts: list[bool] | None = None) -> np.ndarray:
        """One block's key columns (Arrow arrays, one per ``spec.columns``; ``labels``: the files
        they come from; ``texts``: whether each was read from a text file, where pandas' NA spellings
        are missing values: in Parquet, ``'NA'`` is text like any other) as int64 codes. One column:
        looked up by Arrow (``index_in``) in the keys met so far, each dictionary of a categorical
        column as a whole; in Python only the distinct values of a block that holds new keys."""
        import pyarrow as pa

        from .textparse import plain_text

        for name, col, label in zip(self.spec.columns, columns, labels):
            _check_key_type(name, col, label)
        texts = texts or [True] * len(columns)
        if len(columns) == 1:
            col = columns[0]
            if self._known_text is not None and self._known_text != texts[0]:
                self._known = False  # (text and typed files mixed: Python compares, each as its file reads)
            self._known_text = texts[0]
            parts = [self._chunk_codes(c, labels, texts[0])
                     for c in (col.chunks if isinstance(col, pa.ChunkedArray) else [col])]
            return parts[0] if len(parts) == 1 else np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)
        local, dictionaries = _factorize([plain_text(c) for c in columns])
        values = _combinations(local, dictionaries)
        local = values.pop()  # (the row codes of the combinations, last)
        lut = np.array([self.code_of(key, labels, texts) for key in values], dtype=np.int64)
        return lut[local]

    def _chunk_codes(self, chunk, labels: list[str], text: bool = True) -> np.ndarray:
        import pyarrow as pa
        import pyarrow.compute as pc

        if not pa.types.is_dictionary(chunk.type):
            found = self._lookup(chunk)
            if found is not None:
                return found
            chunk = pc.dictionary_encode(chunk, null_encoding="encode")
        lut = self._dictionary_codes(chunk.dictionary, labels, text)
        idx = chunk.indices
        width = {pa.int8(): np.int8, pa.int16(): np.int16, pa.int32(): np.int32, pa.int64(): np.int64}.get(idx.type)
        if width is None:  # (unsigned indices)
            idx, width = idx.cast(pa.int64()), np.int64
        local = np.frombuffer(idx.buffers()[1], dtype=width, count=idx.offset + len(idx))[idx.offset:]
        if idx.null_count:  # a missing value: the key None
            from .buffers import validity

            local = np.where(validity(idx), local, lut.size)
            lut = np.append(lut, self.code_of((None,), labels))
        return lut[local]

    def _dictionary_codes(self, dictionary, labels: list[str], text: bool = True) -> np.ndarray:
        """The codes of distinct values (an Arrow array), new ones given codes (and added to the
        Arrow lookup)."""
        import pyarrow as pa

        found = self._lookup(dictionary)
        if found is not None:
            return found
        lut = np.array([self.code_of((v,), labels, [text]) for v in dictionary.to_pylist()], dtype=np.int64)
        if self._known is not False:  # the values the lookup did not find join it, with their codes
            unknown = self._positions(dictionary)
            missing = np.ones(lut.size, dtype=bool) if unknown is None else unknown < 0
            new = dictionary.filter(_bools(missing))
            if self._known is None:
                self._known, self._known_codes = new, lut[missing]
            elif self._known.type == new.type:
                self._known = pa.concat_arrays([self._known, new])
                self._known_codes = np.concatenate([self._known_codes, lut[missing]])
            else:  # (key types that differ between blocks: Python compares them)
                self._known = False
        return lut

    def _positions(self, values) -> np.ndarray | None:
        """Each value's position in the Arrow lookup (-1: not there); None when it cannot look."""
        import pyarrow.compute as pc

        known = self._known
        if known is None or known is False or known.type != values.type:
            return None
        found = pc.index_in(values, value_set=known, skip_nulls=False).cast("int64")
        out = np.frombuffer(found.buffers()[1], dtype=np.int64, count=found.offset + len(found))[found.offset:]
        if found.null_count:
            from .buffers import validity

            out = np.where(validity(found), out, -1)
        return out

    def _lookup(self, values) -> np.ndarray | None:
        """The codes of ``values`` (Arrow) when every one is in the lookup, else None."""
        positions = self._positions(values)
        if positions is None or (positions < 0).any():
            return None
        return self._known_codes[positions]

    def code_of(self, key: tuple, labels: list[str], texts: list[bool] | None = None) -> int:
        """A key's code, given to it when it is new (``labels``: where keys are read, for the error;
        ``texts``: as for :meth:`codes`)."""
        raw, key = key, tuple(_canonical(v, t) for v, t in zip(key, texts or [True] * len(key)))
        code = self._code.get(key)
        if code is None:
            if len(self.keys) >= MAX_SLICES:
                files = ", ".join(dict.fromkeys(labels))
                raise InputError(f"--by {self.spec.text()} ({files}): more than {MAX_SLICES:,} distinct keys; "
                                 "slices are groups of rows that share a value (a country, a device, a "
                                 "class), not a value per row: is it the column you meant?")
            code = self._code[key] = len(self.keys)
            # shown as first met: a float as the float (1.0, as pandas shows a float column), else as compared
            self.keys.append(tuple(r if c is not None and isinstance(r, float) else c for r, c in zip(raw, key)))
        return code

    def remap(self, keys: list[tuple], labels: list[str]) -> np.ndarray:
        """Codes of another dictionary's ``keys`` (in its code order) in this one (canonical already:
        its NA spellings are missing where they were, text where they were)."""
        return np.array([self.code_of(k, labels, [False] * len(k)) for k in keys], dtype=np.int64)

    def key_values(self, code: int) -> tuple:
        """A slice's key values as JSON values, in the order of the --by columns."""
        return tuple(_json_value(v) for v in self.keys[code])

    def key_record(self, code: int) -> dict:
        """A slice's key as JSON: {column: value}; values JSON has no type for (dates, bytes,
        decimals) as text."""
        return {c: _json_value(v) for c, v in zip(self.spec.columns, self.keys[code])}


def _factorize(columns: list) -> tuple[list[np.ndarray], list]:
    """Key columns (plain Arrow arrays): per column, the local code of each row and the Arrow
    dictionary of its distinct values."""
    import pyarrow as pa
    import pyarrow.compute as pc

    indices, dictionaries = [], []
    for arr in columns:
        enc = pc.dictionary_encode(arr, null_encoding="encode")
        idx = enc.indices.cast(pa.int64())
        indices.append(np.frombuffer(idx.buffers()[1], dtype=np.int64, count=idx.offset + len(idx))[idx.offset:])
        dictionaries.append(enc.dictionary)
    return indices, dictionaries


def _combinations(indices: list[np.ndarray], dictionaries: list) -> list:
    """Several key columns: the key tuple of each combination met, then (last) each row's
    combination."""
    values = [d.to_pylist() for d in dictionaries]
    sizes = [max(1, len(d)) for d in values]
    if float(np.prod(np.array(sizes, dtype=np.float64))) < 2.0**62:  # one integer per combination
        combined = np.zeros_like(indices[0])
        for idx, size in zip(indices, sizes):
            combined = combined * size + idx
        found, local = np.unique(combined, return_inverse=True)
        parts = []
        for size in reversed(sizes):
            parts.append(found % size)
            found = found // size
        parts.reverse()
    else:  # (too many combinations for one integer: rows of codes)
        rows, local = np.unique(np.column_stack(indices), axis=0, return_inverse=True)
        parts = [rows[:, j] for j in range(rows.shape[1])]
    keys: list = [tuple(d[int(i)] for d, i in zip(values, combo)) for combo in zip(*parts)]
    return keys + [local.reshape(-1).astype(np.int64, copy=False)]


_DECIMAL = re.compile(r"-?(?:0|[1-9][0-9]*)")


def _canonical(v, text: bool = True):
    """A key's value as it is compared: missing (None) for NaN and, in a text file (``text``), for
    the text pandas reads as missing (``NA``, ``nan``, ``null``, ...); an integer, and a float that
    is one (a shard's integer column that pandas made float for its NaN: 1.0 beside 1), as its
    decimal text, so that 7 from a Parquet column and ``7`` from a CSV are one key (``007`` stays
    another)."""
    from .textvalues import NA_VALUES

    if isinstance(v, float) and v != v or text and isinstance(v, str) and v in NA_VALUES:
        return None
    if isinstance(v, int) and not isinstance(v, bool):
        return str(v)
    if isinstance(v, float) and v.is_integer():  # (exact at any size: 2.0**53 is 9007199254740992)
        return str(int(v))
    return v


def _check_key_type(name: str, col, label: str) -> None:
    """Keys are scalars Arrow can hash: text, integers, booleans, floats (but half floats), dates,
    times, decimals, bytes; a list or struct column is an error naming it."""
    import pyarrow as pa

    t = col.type.value_type if pa.types.is_dictionary(col.type) else col.type
    if pa.types.is_nested(t) or pa.types.is_float16(t):
        raise InputError(f"--by {name} ({label}): a column of {t} cannot be a slice key; slices are keyed by "
                         "text, integers, booleans, floats, dates or decimals")


def _json_value(v):
    if isinstance(v, str) and _DECIMAL.fullmatch(v):  # (an integer, as pandas would read it)
        return int(v)
    return json_scalar(v)


def json_scalar(v):
    """A key's value as JSON holds it: a time or a date in ISO 8601, a decimal as its text."""
    if v is None or isinstance(v, (bool, int, str)):
        return v
    if isinstance(v, float):
        return v if v == v and abs(v) != float("inf") else str(v)
    if isinstance(v, bytes):
        return v.decode("utf-8", errors="backslashreplace")
    return v.isoformat() if hasattr(v, "isoformat") else str(v)


def _bools(mask: np.ndarray):
    """A numpy bool array as an Arrow boolean array (a filter), from its bits."""
    import pyarrow as pa

    bits = np.packbits(mask, bitorder="little")
    return pa.Array.from_buffers(pa.bool_(), mask.size, [None, pa.py_buffer(bits)])


def block_codes(keys: SliceKeys, blocks: list, taken=None) -> np.ndarray:
    """The codes of rows read together: each ``--by`` column from the first of ``blocks``
    (:class:`~losscli.io.table.Source`; the ``--by-file``, or the inputs in order) that holds
    it, and the others that hold it must agree row by row. ``taken``: per block, the rows to
    take (``--on``: matched rows), or None."""
    from .buffers import int64s

    def column(i: int, name: str):
        col = blocks[i].keys[name]
        return col if taken is None or taken[i] is None else col.take(int64s(taken[i]))

    columns, labels, texts = [], [], []
    for name in keys.spec.columns:
        holders = [i for i, b in enumerate(blocks) if name in b.keys]
        if not holders:
            raise missing_column(name, blocks, keys.spec)
        columns.append(column(holders[0], name))
        labels.append(blocks[holders[0]].label)
        texts.append(_from_text(blocks[holders[0]]))
        for other in holders[1:]:  # several inputs hold the column: they must agree row by row (as keys)
            _same_keys(keys, name, blocks[holders[0]], columns[-1], blocks[other], column(other, name),
                       taken is not None)
    return keys.codes(columns, labels, texts)


def _from_text(block) -> bool:
    """Whether a block was read from a text file (CSV, TSV: a delimiter), where pandas' NA spellings
    are missing values; in Parquet or Arrow, ``'NA'`` is text (pandas reads both so)."""
    return getattr(block, "sep", None) is not None


def _same_keys(keys: SliceKeys, name: str, a, ka, b, kb, matched: bool) -> None:
    from .textparse import plain_text

    ca, cb = keys.codes([ka], [a.label], [_from_text(a)]), keys.codes([kb], [b.label], [_from_text(b)])
    differ = np.flatnonzero(ca != cb)
    if differ.size:
        row = int(differ[0])
        where = f"matched row {row}" if matched else f"row {a.row_offset + row}"
        va, vb = plain_text(ka)[row].as_py(), plain_text(kb)[row].as_py()
        why = ""
        if va == vb and _from_text(a) != _from_text(b):  # ('NA' in a CSV and in a Parquet file)
            text_file, typed = (a, b) if _from_text(a) else (b, a)
            why = (f": {text_file.label}, a text file, reads {va!r} as a missing value, as pandas does, and "
                   f"{typed.label} holds it as text")
        raise InputError(f"--by {name}: {a.label} and {b.label} both hold column {name!r} and disagree at {where} "
                         f"({va!r} and {vb!r}{why}); name the file the slices come from (--by-file FILE:{name}, "
                         "by_file in a gate)")


class MissingSliceColumn(InputError):
    """A ``--by`` column none of a run's inputs holds: ``name``, ``seen`` (each input's columns) and
    ``hint`` (a partition key of that name, if one is)."""

    def __init__(self, message: str, name: str = "", seen: str = "", hint: str = ""):  # (copied, pickled: a message)
        super().__init__(message)
        self.name, self.seen, self.hint = name, seen, hint


def missing_column(name: str, blocks: list, spec: SliceSpec) -> InputError:
    from .spec import partition_key_hint
    from .table import names_text

    tables = [b for b in blocks if b.arrays is None]
    seen = "; ".join(f"{b.label}: {names_text(b.order)}" for b in tables) or \
        ("it holds arrays, not columns" if spec.file else "the inputs are arrays, without columns")
    where = f"--by-file {spec.file}" if spec.file else "the inputs"
    hint = next((h for b in tables if (h := partition_key_hint(b.label, name))), "")
    message = (f"--by {name}: no column {name!r} in {where} ({seen}); --by-file FILE[:COLUMN] groups by a column of "
               f"another file with one row per sample{hint}")
    return MissingSliceColumn(message, name, seen, hint) if not spec.file else InputError(message)
