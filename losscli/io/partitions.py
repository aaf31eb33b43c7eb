"""Hive partitions (``key=value/`` folders) of a dataset directory, against the inputs its rows are
paired with by position. A dataset is read in the order of its partition folders (``spec.dataset_files``),
which groups its rows by key: a file that is not partitioned so is in that order only if somebody
sorted it so. Its rows are checked against a column of the key's name where it holds one; where it
holds none, nothing can check them, and the run is refused (:class:`PartitionGuard`)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote

import numpy as np

from ..errors import InputError
from .table import Source

#: Spark's and Hive's folder name for a missing key (pyarrow writes it too)
DEFAULT_PARTITION = "__HIVE_DEFAULT_PARTITION__"


def hive_partitions(label: str, root: str | None) -> dict[str, str]:
    """The partitions (key, value) a file of a dataset directory ``root`` lies in, below the root."""
    if root is None:
        return {}
    try:
        folders = Path(label).relative_to(root).parts[:-1]
    except ValueError:  # (a glob's files)
        return {}
    found: dict[str, str] = {}
    for folder in folders:
        key, eq, value = folder.partition("=")
        if eq and key:
            found[key] = unquote(value)
    return found


class PartitionGuard:
    """Rows paired by position across a Hive-partitioned dataset and an input not partitioned by its
    keys: the input's column of a key's name is the key, checked row by row against the partition
    each row was read from (and not read as data); an input without such a column is refused, as
    are two datasets whose paired rows lie in partitions of other values."""

    def __init__(self) -> None:
        self.checked: list[tuple[int, int, str]] | None = None  # (dataset, other input, key)

    def check(self, inputs: list[tuple[str, str | None, Source]], start: int, shards: list,
              compare: bool = True) -> None:
        """``inputs``: (input label, its dataset directory or None, its block) of the inputs paired;
        ``shards``: the files of each (None for a file); ``compare``: False under --positional (a key
        column of another file is still no data, but nothing is compared or refused)."""
        parts = [hive_partitions(block.label, root) for _, root, block in inputs]
        if self.checked is None:
            self._plan(inputs, parts, shards, compare)
        if not compare:
            return
        for i, j, key in self.checked or ():
            self._compare(inputs[i], inputs[j], parts[i], key, start)
        for i in range(len(inputs)):
            for j in range(i + 1, len(inputs)):
                for key in parts[i].keys() & parts[j].keys():
                    if parts[i][key] != parts[j][key]:
                        raise InputError(
                            f"{inputs[i][0]} and {inputs[j][0]}: paired by position, row {start} of one is in the "
                            f"partition {key}={parts[i][key]} ({inputs[i][2].label}) and of the other in "
                            f"{key}={parts[j][key]} ({inputs[j][2].label}): their partitions hold other rows; pair "
                            "them by a key both hold (--on COLUMN), or --positional if you know they are in one order")

    def _plan(self, inputs, parts, shards, refuse: bool = True) -> None:
        """Which keys of which dataset each other input is checked against: those whose folders hold
        more than one value (one value groups nothing)."""
        self.checked = []
        for i, (label, root, _) in enumerate(inputs):
            values = [hive_partitions(f, root) for f in shards[i] or ()]
            grouping = [k for k in parts[i] if len({v.get(k) for v in values}) > 1]
            for j, (other, _, block) in enumerate(inputs):
                for key in [k for k in grouping if i != j and k not in parts[j]]:
                    if key not in block.order:
                        if not refuse:
                            continue
                        raise InputError(
                            f"{label} is read in the order of its Hive partitions ({key}=... folders, in natural "
                            f"order), and {other} is not partitioned by {key} and holds no column {key!r} to check "
                            f"that its rows are in that order: pair them by a key both hold (--on COLUMN), keep a "
                            f"column {key!r} in {other} (it is then checked row by row, not read as data), write "
                            f"{other} partitioned by {key} too, or --positional if its rows are in that order")
                    block.index.setdefault(key, f"the Hive partition key of {label}")
                    self.checked.append((i, j, key))

    @staticmethod
    def _compare(dataset, other, parts: dict[str, str], key: str, start: int) -> None:
        (label, _, block), (_, _, theirs), value = dataset, other, parts.get(key)
        if value is None:  # (a file of the dataset outside the partitions: nothing to compare)
            return
        if key in theirs.pending:  # (a key column, read as numbers when named)
            theirs.pending.pop(key)()
        missing = value == DEFAULT_PARTITION
        if key in theirs.columns:
            column = theirs.columns[key]
            wanted: float | None
            try:
                wanted = np.nan if missing else float(value)
            except ValueError:  # (text folders, a column of numbers: every row differs; but g=true is 1)
                wanted = {"true": 1.0, "false": 0.0}.get(value.strip().lower())
            with np.errstate(invalid="ignore"):
                wrong = np.ones(len(column), dtype=bool) if wanted is None else \
                    ~((column == wanted) | (np.isnan(column) & np.isnan(wanted)))

            def shown(k: int) -> str:
                return "a missing value" if np.isnan(column[k]) else f"{column[k]:g}"
        elif key in theirs.text_values or key in theirs.keys:
            import pyarrow.compute as pc

            from .buffers import bits

            values = theirs.text_values.get(key, theirs.keys.get(key)).cast("string")
            wrong = ~bits(pc.is_null(values)) if missing else \
                ~bits(pc.equal(pc.utf8_trim_whitespace(values), value), null=False)
            if wrong.any() and not missing:  # (one value in two spellings: g=false and False, a date and its midnight)
                wrong &= ~_spelled_otherwise(values, value)

            def shown(k: int) -> str:
                cell = values[k].as_py()
                return "a missing value" if cell is None else repr(cell.strip())
        else:  # (a selector named other columns of that file: this one was not read)
            raise InputError(
                f"{label} is read in the order of its Hive partitions ({key}=... folders, in natural order), and "
                f"{theirs.selects}'s column {key!r}, which would check that its rows are in that order, is not read (a "
                f"selector names other columns): give {theirs.selects} without a selector (its column {key!r} is then "
                "checked row by row, not read as data), pair them by a key both hold (--on COLUMN), or --positional "
                "if its rows are in that order")
        if wrong.any():
            k = int(np.flatnonzero(wrong)[0])
            raise InputError(
                f"{label} and {theirs.selects}: paired by position, row {start + k} of {label} is in the partition "
                f"{key}={value} ({block.label}), where {theirs.selects}'s column {key!r} holds {shown(k)}: the rows "
                f"are in other orders; pair them by a key both hold (--on COLUMN), sort {theirs.selects} by {key} "
                "as the partition folders are, or --positional if you know they are in one order")


def _spelled_otherwise(values, value: str) -> np.ndarray:
    """Where text cells hold the partition's ``value`` in another spelling: a boolean in another case
    (pyarrow writes g=false, pandas' CSV False), or the same instant (g=2023-12-31 00:00:00.000000 of
    a date column, 2023-12-31 in a CSV)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from .buffers import bits
    from .join import arrow_instants

    trimmed = pc.utf8_trim_whitespace(values)
    if value.strip().lower() in ("true", "false"):
        return bits(pc.equal(pc.utf8_lower(trimmed), value.strip().lower()), null=False)
    for unit in ("ns", "us"):
        mine, cells = arrow_instants(pa.array([value]), unit), arrow_instants(trimmed, unit)
        if mine is not None and cells is not None and mine[1] == cells[1]:
            return bits(pc.equal(cells[0], mine[0][0]), null=False)
    return np.zeros(len(values), dtype=bool)
