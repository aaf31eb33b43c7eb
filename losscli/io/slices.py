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

from dataclasses import dataclass

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
        if by is None:
            sel = split_spec(by_file)[1] if by_file else None
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
        self.keys: list[tuple] = []
        self._code: dict[tuple, int] = {}

    def __len__(self) -> int:
        return len(self.keys)

    def codes(self, columns: list, labels: list[str]) -> np.ndarray:
        """One block's key columns (Arrow arrays, one per ``spec.columns``; ``labels``: the files
        they come from) as int64 codes."""
        local, values = _factorize(columns)
        lut = np.array([self.code_of(key, labels) for key in values], dtype=np.int64)
        return lut[local]

    def code_of(self, key: tuple, labels: list[str]) -> int:
        """A key's code, given to it when it is new (``labels``: where keys are read, for the error)."""
        code = self._code.get(key)
        if code is None:
            if len(self.keys) >= MAX_SLICES:
                files = ", ".join(dict.fromkeys(labels))
                raise InputError(f"--by {self.spec.text()} ({files}): more than {MAX_SLICES:,} distinct keys; "
                                 "slices are groups of rows that share a value (a country, a device, a "
                                 "class), not a value per row: is it the column you meant?")
            code = self._code[key] = len(self.keys)
            self.keys.append(key)
        return code

    def remap(self, keys: list[tuple], labels: list[str]) -> np.ndarray:
        """Codes of another dictionary's ``keys`` (in its code order) in this one."""
        return np.array([self.code_of(k, labels) for k in keys], dtype=np.int64)

    def key_record(self, code: int) -> dict:
        """A slice's key as JSON: {column: value}."""
        return dict(zip(self.spec.columns, self.keys[code]))


def _factorize(columns: list) -> tuple[np.ndarray, list[tuple]]:
    """(local code of each row, the key tuple of each local code) for one block."""
    import pyarrow as pa
    import pyarrow.compute as pc

    indices, dictionaries = [], []
    for arr in columns:
        if isinstance(arr, pa.ChunkedArray):
            arr = arr.combine_chunks()
        if pa.types.is_dictionary(arr.type):
            arr = arr.dictionary_decode()
        enc = pc.dictionary_encode(arr, null_encoding="encode")
        idx = enc.indices.cast(pa.int64())
        indices.append(np.frombuffer(idx.buffers()[1], dtype=np.int64, count=idx.offset + len(idx))[idx.offset:])
        dictionaries.append(enc.dictionary.to_pylist())
    if len(columns) == 1:
        return indices[0], [(v,) for v in dictionaries[0]]
    sizes = [max(1, len(d)) for d in dictionaries]
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
    keys = [tuple(d[int(i)] for d, i in zip(dictionaries, combo)) for combo in zip(*parts)]
    return local.reshape(-1).astype(np.int64, copy=False), keys


def block_codes(keys: SliceKeys, blocks: list, taken=None) -> np.ndarray:
    """The codes of rows read together: each ``--by`` column from the first of ``blocks``
    (:class:`~losscli.io.table.Source`; the ``--by-file`` first, then the inputs in order) that
    holds it. ``taken``: per block, the rows to take (``--on``: matched rows), or None."""
    columns, labels = [], []
    for name in keys.spec.columns:
        at = next((i for i, b in enumerate(blocks) if name in b.keys), None)
        if at is None:
            raise missing_column(name, blocks, keys.spec)
        col = blocks[at].keys[name]
        if taken is not None and taken[at] is not None:
            from .buffers import int64s

            col = col.take(int64s(taken[at]))
        columns.append(col)
        labels.append(blocks[at].label)
    return keys.codes(columns, labels)


def missing_column(name: str, blocks: list, spec: SliceSpec) -> InputError:
    from .table import names_text

    tables = [b for b in blocks if b.arrays is None]
    seen = "; ".join(f"{b.label}: {names_text(b.order)}" for b in tables) or "the inputs are arrays, without columns"
    where = f"--by-file {spec.file}" if spec.file else "the inputs"
    return InputError(f"--by {name}: no column {name!r} in {where} ({seen}); --by-file FILE[:COLUMN] groups by a "
                      "column of another file with one row per sample")
