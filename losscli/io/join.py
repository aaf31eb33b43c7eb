"""How rows are paired: by a key column (``--on NAME``, :func:`match`) instead of by position,
and the guard that refuses positional pairing when the inputs' id columns say the rows are not
the same samples (:class:`IdGuard`).

Keys are compared as integers when every input's key column holds integers (as pandas, polars
and DuckDB read a CSV: ``007`` is 7; a float column of whole numbers, as pandas writes ids with
NaN, counts), else as text, trimmed, exactly as written. Integer keys are matched in numpy:
through a table indexed by the key when they span a narrow range (``DENSE_SPAN``), else by
sorting; text keys by one Arrow hash table of the first input's keys (``index_in``), probed by
each other input's. Memory is the keys and the selected values of every input, held whole, and one row
index per input; the rows come out in the order of the first input.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from .buffers import floats
from .rules import BY_REASON, GUESSED_INTEGERS, GUESSES, NUMBERS
from .table import Source, resolve_columns


def key_text(arr):
    """An Arrow array of keys as comparable text (integers in decimal digits)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    ints = _as_int(arr)
    if ints is not None:
        return ints.cast(pa.string())
    if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
        return pc.utf8_trim_whitespace(arr.cast(pa.string()))
    if pa.types.is_dictionary(arr.type):
        return key_text(arr.dictionary_decode())
    return arr.cast(pa.string())


def _as_int(arr):
    """The keys as int64 when they are integers (an integer column, or a float or text column of
    whole numbers: ``2518.0``, as pandas writes ids beside a NaN); None when they are not, or
    when they cannot be exact in int64 (uint64 beyond it; text beyond 2**53, which a float64 on
    the way would round: two ids could become one)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_integer(arr.type):
        try:
            return arr.cast(pa.int64())
        except pa.ArrowInvalid:  # uint64 beyond int64: compared as text
            return None
    limit = 2.0**63
    if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
        try:
            arr = pc.utf8_trim_whitespace(arr).cast(pa.float64())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return None
        limit = 2.0**53
    # (numpy, not pc.all: Arrow's first aggregate call cost 0.3 s of start-up)
    if pa.types.is_floating(arr.type):
        v = floats(arr)
        with np.errstate(invalid="ignore"):
            if np.all(np.isnan(v) | ((np.floor(v) == v) & (np.abs(v) < limit))):  # whole, exact in int64
                return arr.cast(pa.int64())
    return None


def comparable(arrays: list) -> list:
    """Every input's keys in one type: int64 when all of them are integers, else text."""
    ints = [_as_int(a) for a in arrays]
    return ints if all(i is not None for i in ints) else [key_text(a) for a in arrays]


def named_columns(reader, readers: list, parsed, block: Source) -> set[str]:
    """The columns of one reader's block that its selectors name (data, whatever their names)."""
    if block.arrays is not None:
        return set()
    return {n for r, (_, sel) in zip(readers, parsed) if r is reader and sel is not None
            for n in resolve_columns(sel, block.order, block.label)}


def shard_mismatch(small: str, few: int, big: str, many: int) -> InputError:
    """Sharded inputs are paired shard by shard; two that are not cut alike."""
    return InputError(f"shards do not line up: {small} has {few} rows but {big} has {many} (sharded inputs are "
                      "paired shard by shard: every input must be cut into shards of the same sizes, in sorted "
                      "order, and an input that is one file is one shard)")


def row_count_mismatch(a: Source, ita, b: Source, itb, sharded: bool) -> InputError:
    """Positional pairing, two blocks of different sizes: say which file (or shard) is short and
    both sizes (the longer one is read on to its end, or to the end of its shard, to count it)."""
    (small, _), (big, it) = sorted([(a, ita), (b, itb)], key=lambda t: t[0].rows)
    big_rows = big.row_offset + big.rows
    for block in it:  # count the rest of the longer file / shard
        if block.label != big.label:
            break
        big_rows = block.row_offset + block.rows
    if sharded:
        return shard_mismatch(small.label, small.row_offset + small.rows, big.label, big_rows)
    hint = "".join(f"; {s.label}'s first line was read as pandas' header of numbered columns (--header no reads "
                   "it as data)" for s in (small,) if s.header in GUESSES)
    if not hint and big.header == NUMBERS and big_rows == small.row_offset + small.rows + 1:
        hint += (f"; {big.label}'s first line, all numbers, was read as data (--header yes reads it as a header, "
                 "as pandas writes numbered column names: 0.1,0.5,0.9)")
    return InputError(f"{small.label} has {small.row_offset + small.rows} rows but {big.label} has "
                      f"{big_rows} (every input needs one row per sample){hint}")


def concat_keys(parts: list):
    """One Arrow array of a key column's blocks (as strings when the blocks differ in type)."""
    import pyarrow as pa

    from .textparse import plain_text

    parts = [plain_text(p) for p in parts]
    if len({p.type for p in parts}) > 1:
        parts = [key_text(p) for p in parts]
    return parts[0] if len(parts) == 1 else pa.concat_arrays(parts)


def first_difference(a, b) -> int | None:
    """The first row where two key arrays of the same length differ (missing equals missing)."""
    import pyarrow.compute as pc

    from .buffers import bits

    same = bits(pc.equal(a, b), null=False)
    both_null = bits(pc.and_(pc.is_null(a), pc.is_null(b)))
    differ = ~(same | both_null)
    rows = np.flatnonzero(differ)
    return int(rows[0]) if rows.size else None


def _count(n: int) -> str:
    return "1 key" if n == 1 else f"{n} keys"


def _shown(keys, n: int = 5) -> str:
    return ", ".join(repr(str(k)) for k in keys[:n]) + (", ..." if len(keys) > n else "")


def _first_repeat(keys, label: str, on: str) -> None:
    """A repeated key is an error naming the first one (in file order) and two of its rows."""
    import pyarrow.compute as pc

    if len(pc.unique(keys)) == len(keys):
        return
    pos = _ints(pc.index_in(keys, value_set=keys))  # each row: the first row holding its key
    row = int(np.flatnonzero(pos != np.arange(len(keys)))[0])
    raise _repeated(keys[row].as_py(), int(pos[row]), row, label, on)


def _missing(keys, label: str, on: str) -> None:
    if keys.null_count:
        row = int(np.flatnonzero(~_valid(keys))[0])
        raise InputError(f"{label}, row {row}, column {on!r}: a missing key (every row needs one to be matched "
                         "with --on)")


def _ints(arr) -> np.ndarray:
    """An Arrow array of row numbers (nulls as -1) as int64 numpy. (No Python scalar goes into
    Arrow's compute functions: converting one imports pandas.)"""
    values = floats(arr)  # (int32 row numbers are exact in float64)
    return np.where(np.isnan(values), -1, values).astype(np.int64)


def _valid(arr, fill: bool | None = None) -> np.ndarray:
    """Where an Arrow array is not null; with ``fill``, a boolean array's values, ``fill`` where
    it is null."""
    import pyarrow.compute as pc

    from .buffers import bits

    return bits(pc.is_valid(arr)) if fill is None else bits(arr, null=fill)


@dataclass
class Matched:
    """Each input's rows in the order of the first input's keys; ``dropped``: per input, the rows
    that had no partner (only with ``--on-missing drop``)."""

    rows: list[np.ndarray]
    dropped: list[int]


def _int64(arr) -> np.ndarray:
    """An int64 Arrow array without nulls as numpy (its buffer, no copy)."""
    return np.frombuffer(arr.buffers()[1], dtype=np.int64, count=arr.offset + len(arr))[arr.offset:]


def _repeated(key, first: int, second: int, label: str, on: str) -> InputError:
    return InputError(f"{label}, column {on!r}: the key {str(key)!r} is in rows {first} and {second} "
                      "(--on needs each key once per input)")


def _repeated_int(keys: np.ndarray, key, label: str, on: str) -> InputError:
    rows = np.flatnonzero(keys == key)[:2]
    return _repeated(key, int(rows[0]), int(rows[1]), label, on)


#: integer keys spanning at most this many values per row are looked up in a table indexed by
#: the key itself (4 bytes a value: at most 16 bytes a row); others are sorted
DENSE_SPAN = 4


class _DenseKeys:
    """Integer keys in a narrow range (ids 0..N-1, 1..N, ...): a table from key to reference row,
    looked up directly (0.1 s for 10M keys where sorting them takes 2 s)."""

    def __init__(self, keys: np.ndarray, lo: int, hi: int, label: str, on: str):
        self.lo, self.n, self.on = lo, len(keys), on
        self.table = np.full(hi - lo + 1, -1, dtype=np.int32)
        self.table[keys - lo] = np.arange(len(keys), dtype=np.int32)
        kept = self.table[keys - lo]  # a key twice: its slot holds its last row only
        clash = np.flatnonzero(kept != np.arange(len(keys)))
        if clash.size:
            raise _repeated_int(keys, keys[clash[0]], label, on)

    def partners(self, keys: np.ndarray, label: str) -> tuple[np.ndarray, np.ndarray]:
        """(for each reference row, the row of ``keys`` with its key, -1 for none; the rows of
        ``keys`` whose key the reference does not hold). A key twice in ``keys`` is an error."""
        at = keys - self.lo
        where = np.full(self.n, -1, dtype=np.int64)
        if len(keys) == self.n and at.min() >= 0 and at.max() < len(self.table):
            ref_rows = self.table[at]
            del at
            where[ref_rows] = np.arange(len(keys))
            if (where >= 0).all() and (ref_rows >= 0).all():  # the same keys: a one-to-one map
                return where, np.empty(0, dtype=np.int64)
            where[:] = -1
            at = keys - self.lo
        inside = np.flatnonzero((at >= 0) & (at < len(self.table)))
        ref_rows = self.table[at[inside]]
        hit = ref_rows >= 0
        rows, ref_rows = inside[hit], ref_rows[hit]
        where[ref_rows] = rows
        twice = np.flatnonzero(where[ref_rows] != rows)
        if twice.size:
            raise _repeated_int(keys, keys[rows[twice[0]]], label, self.on)
        extra = np.ones(len(keys), dtype=bool)
        extra[rows] = False
        return where, np.flatnonzero(extra)


class _SortedKeys:
    """Integer keys found by sorting (numpy): the reference keys sorted once, each other input's
    sorted too and merged in by a binary search that walks the sorted array in order (a random
    probe of a hash table of 10M keys cost 3x more here)."""

    def __init__(self, keys: np.ndarray, label: str, on: str):
        self.on = on
        self.order = np.argsort(keys)
        self.sorted = keys[self.order]
        same = np.flatnonzero(self.sorted[1:] == self.sorted[:-1])
        if same.size:
            raise _repeated_int(keys, self.sorted[same[0]], label, on)

    def partners(self, keys: np.ndarray, label: str) -> tuple[np.ndarray, np.ndarray]:
        """As ``_DenseKeys.partners``."""
        order = np.argsort(keys)
        wanted = keys[order]
        where = np.full(len(self.sorted), -1, dtype=np.int64)
        if len(wanted) == len(self.sorted) and np.array_equal(wanted, self.sorted):  # the same keys
            where[self.order] = order
            return where, np.empty(0, dtype=np.int64)
        same = np.flatnonzero(wanted[1:] == wanted[:-1])
        if same.size:
            raise _repeated_int(keys, wanted[same[0]], label, self.on)
        at = np.minimum(np.searchsorted(self.sorted, wanted), len(self.sorted) - 1)
        hit = self.sorted[at] == wanted
        del wanted
        where[self.order[at[hit]]] = order[hit]
        return where, np.sort(order[~hit])


def _hashed_partners(ref, keys, label: str, on: str) -> tuple[np.ndarray, np.ndarray]:
    """``_DenseKeys.partners`` for text keys: one Arrow hash table of the reference keys."""
    import pyarrow.compute as pc

    pos = _ints(pc.index_in(keys, value_set=ref))  # each row of keys: the reference row with its key
    found = np.flatnonzero(pos >= 0)
    if (np.bincount(pos[found], minlength=len(ref)) > 1).any():  # a key twice in this input
        _first_repeat(keys, label, on)
    where = np.full(len(ref), -1, dtype=np.int64)
    where[pos[found]] = found
    return where, np.flatnonzero(pos < 0)


def _integer_index(keys: np.ndarray, label: str, on: str):
    lo, hi = int(keys.min()), int(keys.max())
    if hi - lo < DENSE_SPAN * len(keys) and len(keys) < 2**31:
        return _DenseKeys(keys, lo, hi, label, on)
    return _SortedKeys(keys, label, on)


def match(keys: list, labels: list[str], on: str, drop: bool) -> Matched:
    """Row indices that put every input's rows in the order of the first's, by key: integer
    keys by a table (``_DenseKeys``) or sorted (``_SortedKeys``), text keys through one Arrow hash
    table of the first input's keys, probed by each other input's."""
    import pyarrow as pa

    for k, label in zip(keys, labels):
        _missing(k, label, on)
    keys = comparable(keys)
    ref = keys[0]
    n = len(ref)
    index = _integer_index(_int64(ref), labels[0], on) if pa.types.is_integer(ref.type) and len(keys) > 1 else None
    keep = np.ones(n, dtype=bool)
    inverse = []  # per other input: for each reference row, its row there (-1: none)
    for k, label in zip(keys[1:], labels[1:]):
        where, extra = index.partners(_int64(k), label) if index is not None else _hashed_partners(ref, k, label, on)
        found = where >= 0
        if not found.all() and index is None:  # (a reference key twice leaves its second row
            _first_repeat(ref, labels[0], on)  # unfound: every row found means they are distinct)
        if not drop and (not found.all() or extra.size):
            parts = []
            if not found.all():
                parts.append(f"{_count(int((~found).sum()))} of {labels[0]} not in {label} "
                             f"({_shown([ref[int(i)].as_py() for i in np.flatnonzero(~found)[:6]])})")
            if extra.size:
                parts.append(f"{_count(extra.size)} of {label} not in {labels[0]} "
                             f"({_shown([k[int(i)].as_py() for i in extra[:6]])})")
            raise InputError(f"--on {on}: the inputs hold different keys: {'; '.join(parts)}. "
                             "--on-missing drop evaluates the keys they share")
        inverse.append(where)
        keep &= found
    rows = [np.flatnonzero(keep)] + [w[keep] for w in inverse]
    dropped = [len(k) - len(rows[0]) for k in keys]
    if not len(rows[0]):
        raise InputError(f"--on {on}: the inputs share no key ({labels[0]}: {_shown(ref[:6].to_pylist())}; "
                         f"{labels[1]}: {_shown(keys[1][:6].to_pylist())})")
    return Matched(rows, dropped)


class IdGuard:
    """Positional pairing is refused when two inputs carry id columns that disagree row by row:
    an id or index column of the same name (case aside) in both, or the one id column of each
    (``sample_id`` and ``id``). A column a selector names, or a file's only column, is data, not
    an id (a label column ``class_id``). And an input whose pandas index is out of order, beside
    inputs without one, was reordered after it was numbered: its row i is not theirs."""

    def __init__(self):
        self.pairs: list | None = None
        self.ordered: list = []  # (input, column) of pandas indexes that must not go down
        self.last: dict = {}

    def _plan(self, blocks: list[tuple[str, Source, set]]) -> None:
        if len(blocks) > 1 and all(b.header == GUESSED_INTEGERS for _, b, _ in blocks):
            raise InputError(
                f"{' and '.join(label for label, _, _ in blocks)}: the first line of each, 0 (or 0,1,...) above "
                "integers, may be pandas' header of numbered columns (pd.Series(y).to_csv(index=False)) or a row of "
                "data (np.savetxt(y, fmt='%d')), and the files cannot tell which: --header yes, or --header no")
        shared = shared_keys(blocks)
        skips = [b.skipped() for _, b, _ in blocks]
        ids = [{n.lower(): n for n in b.keys if skips[i].get(n, BY_REASON) != BY_REASON and n not in named}
               for i, (_, b, named) in enumerate(blocks)]
        self.pairs = []
        for i in range(len(blocks)):
            for j in range(i + 1, len(blocks)):
                common = [(ids[i][k], ids[j][k]) for k in ids[i] if k in ids[j]]
                if not common and len(ids[i]) == len(ids[j]) == 1 and not _is_index(blocks[i][1], *ids[i].values()) \
                        and not _is_index(blocks[j][1], *ids[j].values()):
                    common = [(next(iter(ids[i].values())), next(iter(ids[j].values())))]
                self.pairs += [(i, j, a, b) for a, b in common]
        self.pairs += [(i, j, n, n) for i, j, names in shared for n in names]
        paired = {(i, a) for i, _, a, _ in self.pairs} | {(j, b) for _, j, _, b in self.pairs}
        self.ordered = [(i, n) for i, (_, b, _) in enumerate(blocks) for n in ids[i].values()
                        if _is_index(b, n) and (i, n) not in paired] if len(blocks) > 1 else []

    def check(self, blocks: list[tuple[str, Source, set]], start: int) -> None:
        import shlex

        if self.pairs is None:  # fixed by the first blocks
            self._plan(blocks)
        for i, j, na, nb in self.pairs or ():
            (la, a, _), (lb, b, _) = blocks[i], blocks[j]
            ka, kb = comparable([_key_values(a, na, la), _key_values(b, nb, lb)])
            row = first_difference(ka, kb)
            if row is not None:
                import pyarrow.compute as pc

                on = f"--on {shlex.quote(na)} pairs them by key" if na == nb else \
                    f"--on NAME, once the key column has one name in every input ({na!r}, {nb!r}) pairs them by key"
                if pc.count_distinct(ka).as_py() < len(ka):  # (a key repeated: --on would refuse it)
                    on = "sort every input by the same columns (no one of them is unique, for --on)"
                what = "key" if na in a.index and a.index[na].startswith("a key") else "id"
                raise InputError(
                    f"{la} and {lb}: their {what} columns disagree at row {start + row} ({la} {na} "
                    f"{_cell(ka[row].as_py())}, {lb} {nb} {_cell(kb[row].as_py())}): rows are paired by position, "
                    f"so these are not the same samples; {on} (if these columns are data, name them in a selector)")
        for i, name in self.ordered:
            label, block, _ = blocks[i]
            values = comparable([_key_values(block, name, label)])[0]
            if str(values.type) != "int64":  # text: nothing to order by
                continue
            prev = self.last.get((i, name, block.label))  # (each shard numbers its rows from 0)
            seq = floats(values) if prev is None else np.r_[prev, floats(values)]
            down = np.flatnonzero(seq[1:] < seq[:-1])
            if down.size:
                k = int(down[0])
                raise InputError(
                    f"{label}, row {start + k + 1 - (prev is not None)}: its pandas index (column {name!r}) goes down "
                    f"from {int(seq[k])} to {int(seq[k + 1])}: the rows are not in the order pandas numbered them, "
                    "and the other inputs carry no index of that name to pair them by; write every input in the same "
                    "order (or each with its index, and pair them with --on); if the others are in this file's order, "
                    "write them with this column too, or this file without it")
            if len(seq):
                self.last[(i, name, block.label)] = seq[-1]


def shared_keys(blocks: list[tuple[str, Source, set]]) -> list[tuple[int, int, list[str]]]:
    """Columns of integers two whole tables (no selector) both hold under one name, beside data
    columns that differ (``user,item,pred`` against ``user,item,rating``; two frames with an index
    named ``sample``): keys, not data (read as data, they would pair the keys with each other). Marked as
    such in both blocks (their index columns, which every later block of the file shares); returns
    (i, j, names) for each pair of inputs. Tables whose columns all share names (``y_pred`` and
    ``y_true`` frames) are data, but for a first column of row labels (:func:`_row_labels`)."""
    skips = [b.skipped() for _, b, _ in blocks]
    data = [[n for n in b.order if n in b.columns and n not in skip] if not named and b.arrays is None else []
            for (_, b, named), skip in zip(blocks, skips)]
    found = []
    for i in range(len(blocks)):
        for j in range(i + 1, len(blocks)):
            a, b = blocks[i][1].columns, blocks[j][1].columns
            same = [n for n in data[i] if n in data[j]]
            keys = [n for n in same if _whole(a[n]) and _whole(b[n])]  # (keys are integers or text)
            if keys and any(n not in same for n in data[i]) and any(n not in same for n in data[j]):
                found.append((i, j, keys))
            elif len(same) > 1 and same[0] == data[i][0] == data[j][0] and _row_labels(a, same) and \
                    _row_labels(b, same):
                found.append((i, j, same[:1]))
    for i, j, same in found:
        for k, other in ((i, j), (j, i)):
            for n in same:
                blocks[k][1].index.setdefault(n, f"a key (a column of the same name in {blocks[other][0]}, beside "
                                                 "data columns that differ)")
    return found


def _whole(values: np.ndarray) -> bool:
    """Integers only (what a key read as numbers holds)."""
    with np.errstate(invalid="ignore"):
        return bool(np.all(np.isfinite(values)) and np.all(values == np.round(values)))


def _row_labels(columns: dict, names: list[str]) -> bool:
    """A first column of distinct integers beside a column that is not integers: the labels of the
    rows (a named index, as ``y_pred.rename_axis('sample').to_csv()`` writes it), not an output."""
    first = columns[names[0]]
    return _whole(first) and not all(_whole(columns[n]) for n in names[1:]) and len(np.unique(first)) == len(first) > 1


def _key_values(block: Source, name: str, label: str):
    """A key column of a block: its exact text, or (a shared key read as numbers) its values."""
    import pyarrow as pa

    if name in block.keys:
        return block.keys[name]
    if name in block.columns:
        return pa.array(block.columns[name])
    raise InputError(f"{label}: column {name!r} is a key in the first rows (or shard) but not here: write every "
                     "shard with the same columns, or name the data columns in a selector")


def _cell(value) -> str:
    return "a missing value" if value is None else repr(str(value))


def _is_index(block: Source, name: str) -> bool:
    return block.index.get(name, "").startswith("pandas' index")
