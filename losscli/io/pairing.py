"""How rows are paired by position, and the checks that refuse it when the inputs say their rows
are not the same samples: row counts (:func:`row_count_mismatch`, :func:`shard_mismatch`), id and
key columns that disagree, a pandas index out of order (:class:`IdGuard`), and the integer columns
two tables share by name, which are keys and not data (:func:`shared_keys`). Pairing by a key
column instead (``--on``) is ``join.py``'s."""

from __future__ import annotations

import numpy as np

from ..errors import InputError
from .buffers import floats
from .join import arrow_instants, blank_missing, comparable, is_time_type
from .rules import BY_REASON, GUESSED_INTEGERS, GUESSES, NUMBERS
from .table import Source, resolve_columns


def named_columns(reader, readers: list, parsed, block: Source) -> set[str]:
    """The columns of one reader's block that its selectors name (data, whatever their names)."""
    if block.arrays is not None:
        return set()
    return {n for r, (_, sel) in zip(readers, parsed) if r is reader and sel is not None
            for n in resolve_columns(sel, block.order, block.label)}


def shard_mismatch(small: str, few: int, big: str, many: int) -> InputError:
    """With --engine dask sharded inputs are paired shard by shard; two that are not cut alike."""
    return InputError(f"shards do not line up: {small} has {few} rows but {big} has {many} (with --engine dask, "
                      "sharded inputs are paired shard by shard: every input must be cut into shards of the same "
                      "sizes, in sorted order, and an input that is one file is one shard; the local engine pairs "
                      "rows by their place in the whole input)")


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
    hint = ""
    if small.header in GUESSES and big.header == NUMBERS and big_rows == small.row_offset + small.rows + 1 \
            and _integers_first(big):
        hint = (f"; {small.label}'s first line was read as pandas' header of numbered columns and {big.label}'s as "
                "data: --header yes reads both as headers, --header no both as data")
    elif small.header in GUESSES:
        hint = f"; {small.label}'s first line was read as pandas' header of numbered columns (--header no reads it as data"
        # (--header is every input's: when the other's first line is a guess too, it would be read as data as well)
        hint += f", and {big.label}'s too: write {small.label} with a header line, e.g. np.savetxt(f, y, fmt='%d', " \
                "header='y', comments=''))" if big.header in GUESSES else ")"
    if not hint and small.header and small.header.startswith("yes (a field") and small.order and \
            all(n in small.text_columns for n in small.order) and big_rows == small.row_offset + small.rows + 1:
        # (cat above dog, bird: class names written without a header)
        hint = f"; {small.label}'s first line, text, was read as its header (--header no reads it as data)"
    if not hint and big.header == NUMBERS and big_rows == small.row_offset + small.rows + 1:
        hint += (f"; {big.label}'s first line, all numbers, was read as data (--header yes reads it as a header, "
                 "as pandas writes numbered column names: 0.1,0.5,0.9)")
    return InputError(f"{small.label} has {small.row_offset + small.rows} rows but {big.label} has "
                      f"{big_rows} (every input needs one row per sample){hint}")


def _integers_first(block: Source) -> bool:
    """Whether a block's first row holds integers only in its numeric columns (``1,2,3``: a line that
    may be a header of numbered columns as well as data; ``0.25,1.5`` is data)."""
    firsts = [block.columns[n][:1] for n in block.order if n in block.columns]
    return bool(firsts) and all(v.size and np.all(v == np.round(v)) for v in firsts)


def first_difference(a, b, known: bool = False) -> int | None:
    """The first row where two key arrays of the same length differ (missing equals missing), or,
    ``known``, where both hold a value and the values differ (a missing one tells nothing)."""
    import pyarrow.compute as pc

    from .buffers import bits

    if known:
        differ = bits(pc.not_equal(a, b), null=False)
    else:
        differ = ~(bits(pc.equal(a, b), null=False) | bits(pc.and_(pc.is_null(a), pc.is_null(b))))
    rows = np.flatnonzero(differ)
    return int(rows[0]) if rows.size else None


def _refuse_one_first_line_of_integers(blocks: list[tuple[str, Source, set]]) -> None:
    """Inputs of several columns whose first lines, read as data, are the same distinct integers
    (``2021,2022`` above counts: pandas' header of columns named by integers, ``index=False``): as a
    sample, it is one predicted exactly, and nothing tells that from a header; refused, naming
    --header yes and --header no."""
    files = {label: b for label, b, _ in blocks}  # (two selectors of one file: the same line)
    if len(files) < 2 or any(b.header != NUMBERS or b.row_offset or not b.rows or len(b.columns) < 2
                             or len(b.columns) != len(b.order) for b in files.values()):
        return
    rows = [tuple(float(b.columns[n][0]) for n in b.order) for b in files.values()]
    first = rows[0]
    if any(r != first for r in rows) or len(set(first)) != len(first) or \
            not all(np.isfinite(v) and v == round(v) for v in first):
        return
    shown = ",".join(str(int(v)) for v in first)
    raise InputError(
        f"{' and '.join(files)}: the first line of each is {shown}, distinct integers above "
        "numbers: pandas' header of columns named by integers (years, horizons; to_csv(index=False)), or one sample "
        "predicted exactly, and the files cannot tell which: --header yes, or --header no")


class IdGuard:
    """Positional pairing is refused when two inputs carry id columns that disagree row by row:
    an id or index column of the same name (case aside) in both, or the one id column of each
    (``sample_id`` and ``id``). A column a selector names, or a file's only column, is data, not
    an id (a label column ``class_id``). And an input whose pandas index is out of order, beside
    inputs without one, was reordered after it was numbered: its row i is not theirs."""

    def __init__(self, inputs: int = 2, labels=None):
        self.inputs = inputs  # the inputs (selectors) paired: two from one file are two
        # (indexlabels.IndexLabels: refusals of pandas indexes held until every row is read; None: at once)
        self.labels = labels
        self.pairs: list | None = None
        self.ordered: list = []  # (input, column) of pandas indexes that must not go down
        self.last: dict = {}
        self.counted: list = []  # per input: columns that count like an index, data by another input

    def _plan(self, blocks: list[tuple[str, Source, set]]) -> None:
        if blocks and all(b.header == GUESSED_INTEGERS for _, b, _ in blocks) and \
                (len(blocks) > 1 or self.inputs > 1):
            which = "the first line of each" if len(blocks) > 1 else "its first line"
            files = "the files cannot" if len(blocks) > 1 else "the file cannot"
            raise InputError(
                f"{' and '.join(label for label, _, _ in blocks)}: {which}, 0 (or 0,1,...) above "
                "integers, may be pandas' header of numbered columns (pd.Series(y).to_csv(index=False)) or a row of "
                f"data (np.savetxt(y, fmt='%d')), and {files} tell which: --header yes, or --header no")
        _refuse_one_first_line_of_integers(blocks)
        # a column that counts like a named index is data where another input holds data of that
        # name (x = 1, 2, ... of a grid beside predicted coordinates): so in every later block
        data = [set(named) or set(d) for d, (_, _, named) in zip(data_columns(blocks), blocks)]  # (a selector's too)
        self.counted = [{n for n in b.suspects if n in data[i] and any(n in d for k, d in enumerate(data) if k != i)}
                        for i, (_, b, _) in enumerate(blocks)]
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
        self.pairs += [(i, j, n, n) for i, j, n in _text_labels(blocks)]
        paired = {(i, a) for i, _, a, _ in self.pairs} | {(j, b) for _, j, _, b in self.pairs}
        # (of a MultiIndex, its outer level: the inner ones start again under each outer value)
        self.ordered = [next(iter(group)) for group in (
            [(i, n) for n in ids[i].values() if _is_index(b, n) and (i, n) not in paired]
            for i, (_, b, _) in enumerate(blocks)) if group] if len(blocks) > 1 else []

    def _track(self, blocks: list[tuple[str, Source, set]], start: int) -> set:
        """The pandas index columns of integers this guard compares or orders, each block's values
        told to ``labels`` (which decides, once every row is read, what they are)."""
        if self.labels is None:
            return set()
        keys = {(i, a) for i, j, a, b in self.pairs or () if _is_index(blocks[i][1], a) and _is_index(blocks[j][1], b)}
        keys |= {(j, b) for i, j, a, b in self.pairs or () if _is_index(blocks[i][1], a) and _is_index(blocks[j][1], b)}
        keys |= set(self.ordered)
        tracked = set()
        for i, name in keys:
            label, block, _ = blocks[i]
            values = comparable([_key_values(block, name, label)])[0]
            if str(values.type) == "int64":
                self.labels.track((i, name), floats(values), start)
                tracked.add((i, name))
        return tracked

    def compared(self) -> set:
        """(input, column) of every column this guard compares (the text label guard leaves them)."""
        return {(i, a) for i, _, a, _ in self.pairs or ()} | {(j, b) for _, j, _, b in self.pairs or ()}

    def check(self, blocks: list[tuple[str, Source, set]], start: int, whole: bool = False) -> None:
        """``whole``: the blocks hold every row of their inputs (a refusal held is judged at once)."""
        import shlex

        if self.pairs is None:  # fixed by the first blocks
            self._plan(blocks)
        for (_, block, _), names in zip(blocks, self.counted):
            if names:
                block.suspects = {n: v for n, v in block.suspects.items() if n not in names}
        indexes = self._track(blocks, start)
        for i, j, na, nb in self.pairs or ():
            (la, a, _), (lb, b, _) = blocks[i], blocks[j]
            if na in a.text_values:  # (times as text: told apart as written, then as instants)
                ka, kb = _key_values(a, na, la), _key_values(b, nb, lb)
                row = _first_other_time(ka, kb)
            else:
                ka, kb = comparable([_key_values(a, na, la), _key_values(b, nb, lb)])
                row = first_difference(ka, kb)
            if row is not None:
                import pyarrow.compute as pc

                on = f"--on {shlex.quote(na)} pairs them by key" if na == nb else \
                    f"--on NAME, once the key column has one name in every input ({na!r}, {nb!r}) pairs them by key"
                if pc.count_distinct(ka).as_py() < len(ka):  # (a key repeated: --on would refuse it)
                    on = "sort every input by the same columns (no one of them is unique, for --on)"
                what = "key" if na in a.index and a.index[na].startswith("a key") else \
                    "row-label" if na in a.text_values else "id"
                message = (f"{la} and {lb}: their {what} columns disagree at row {start + row} ({la} {na} "
                           f"{_cell(ka[row].as_py())}, {lb} {nb} {_cell(kb[row].as_py())}): rows are paired by "
                           f"position, so these are not the same samples; {on} (if these columns are data, name them "
                           "in a selector)")
                if (i, na) in indexes and (j, nb) in indexes and self.labels.counting((i, na)) != \
                        self.labels.counting((j, nb)):  # (a fresh frame's 0, 1, 2, ... against labels)
                    fresh, deciding = ((i, na), (j, nb)) if self.labels.counting((i, na)) else ((j, nb), (i, na))
                    self.labels.hold(message, deciding, fresh, blocks[deciding[0]][0], whole)
                    continue
                raise InputError(message)
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
                message = (
                    f"{label}, row {start + k + 1 - (prev is not None)}: its pandas index (column {name!r}) goes down "
                    f"from {int(seq[k])} to {int(seq[k + 1])}: the rows are not in the order pandas numbered them, "
                    "and the other inputs carry no index of that name to pair them by; write every input in the same "
                    "order (or each with its index, and pair them with --on); if the others are in this file's order, "
                    "write them with this column too, or this file without it")
                if self.labels is None:
                    raise InputError(message)
                self.labels.hold(message, (i, name), None, label, whole)
            if len(seq):
                self.last[(i, name, block.label)] = seq[-1]


def data_columns(blocks: list[tuple[str, Source, set]]) -> list[list[str]]:
    """The data columns of each whole table (no selector), as its rules read them so far."""
    return [[n for n in b.order if n in b.columns and n not in skip] if not named and b.arrays is None else []
            for (_, b, named), skip in zip(blocks, (b.skipped() for _, b, _ in blocks))]


def shared_keys(blocks: list[tuple[str, Source, set]]) -> list[tuple[int, int, list[str]]]:
    """Columns of integers two whole tables (no selector) both hold under one name, beside data
    columns that differ (``user,item,pred`` against ``user,item,rating``; two frames with an index
    named ``sample``): keys, not data (read as data, they would pair the keys with each other). Marked as
    such in both blocks (their index columns, which every later block of the file shares); returns
    (i, j, names) for each pair of inputs. Tables whose columns all share names (``y_pred`` and
    ``y_true`` frames) are data, but for leading integer columns equal in both (:func:`_equal_keys`)
    and a first column of row labels (:func:`_row_labels`)."""
    data = data_columns(blocks)
    found = []
    for i in range(len(blocks)):
        for j in range(i + 1, len(blocks)):
            a, b = blocks[i][1].columns, blocks[j][1].columns
            same = [n for n in data[i] if n in data[j]]
            # (keys are integers or text, or numbers equal row by row: an index of times, t = 0, 0.5, ...;
            # or a first column of such numbers in another order, each once: the same labels)
            keys = [n for n in same if (_whole(a[n]) and _whole(b[n])) or np.array_equal(a[n], b[n])
                    or n == data[i][0] == data[j][0] and _relabelled(a[n], b[n])]
            if keys and any(n not in same for n in data[i]) and any(n not in same for n in data[j]):
                found.append((i, j, keys))
            elif equal := _equal_keys(a, b, data[i], data[j]):
                if equal[0] == "?":
                    refuse_keys_or_data(blocks[i], blocks[j], equal[1:], data[i], data[j])
                found.append((i, j, equal))
            elif len(same) > 1 and same[0] == data[i][0] == data[j][0] and _row_labels(a, b, same):
                found.append((i, j, same[:1]))
            elif name := _index_of_one(blocks[i][1], blocks[j][1], data[i], data[j]):
                found.append((i, j, [name]))
    for i, j, same in found:
        for k, other in ((i, j), (j, i)):
            for n in same:
                blocks[k][1].index.setdefault(n, f"a key (a column of the same name in {blocks[other][0]}, beside "
                                                 "data columns that differ)")
    return found


def refuse_keys_or_data(x: tuple, y: tuple, equal: list[str], first: list[str], second: list[str]) -> None:
    """Leading integer columns two tables hold alike, in no order and with repeats: keys, or targets
    predicted exactly; nothing tells, so the run is refused with the selectors of either reading."""
    (la, a, _), (lb, b, _) = x, y
    names = ", ".join(map(repr, equal))
    rest_a, rest_b = [n for n in first if n not in equal], [n for n in second if n not in equal]
    raise InputError(
        f"{la} and {lb}: {'columns' if len(equal) > 1 else 'column'} {names} {'hold' if len(equal) > 1 else 'holds'} "
        "the same integers row by row, in no order "
        f"and with repeats: keys of the rows, or values predicted exactly? Name the data columns "
        f"({a.selects}:{','.join(rest_a)} {b.selects}:{','.join(rest_b)}), or every column "
        f"({a.selects}:{','.join(first)} {b.selects}:{','.join(second)})")


def _index_of_one(a: Source, b: Source, first: list[str], second: list[str]) -> str | None:
    """A column of integers that one table's rules took for its pandas index and the other holds
    as its first data column under the same name, beside another (``sample,0,1,2`` of a frame and
    ``sample,label`` of a series, both with the index named ``sample``; a Parquet file keeps its
    index last): a key in both."""
    for x, y, data in ((a, b, second), (b, a, first)):
        if len(data) < 2:
            continue
        name = data[0]
        # (a RangeIndex of a shard's metadata counts in that shard, from 0 or on: not the dataset's rows)
        indexed = _is_index(x, name) or x.range_index == name and x.dataset is None
        if indexed and name in x.keys and _whole(y.columns[name]):
            return name
    return None


def _relabelled(a: np.ndarray, b: np.ndarray) -> bool:
    """Two columns of distinct numbers (each value once) of which most of one's values are the
    other's, most of those in other rows: the same row labels in another order (``t`` = 0.5, 1.0,
    ... of two frames sorted otherwise), where two columns of data share hardly a value, and one
    column written with fewer digits in one file (0.3333 for 0.3333333333333333) shares its values
    in the same rows."""
    if a.size < 2 or b.size < 2 or np.unique(a).size != a.size or np.unique(b).size != b.size:
        return False
    common, at_a, at_b = np.intersect1d(a, b, assume_unique=True, return_indices=True)
    return bool(common.size >= 0.5 * min(a.size, b.size) and np.mean(at_a != at_b) > 0.5)


def _whole(values: np.ndarray) -> bool:
    """Integers only (what a key read as numbers holds)."""
    with np.errstate(invalid="ignore"):
        return bool(np.all(np.isfinite(values)) and np.all(values == np.round(values)))


def _row_labels(a: dict, b: dict, names: list[str]) -> bool:
    """A first column of distinct integers in both tables, beside a column that is not integers in
    one of them: the labels of the rows (a named index, as ``y_pred.rename_axis('sample').to_csv()``
    writes it; ``day`` of a forecast against whole sales), not an output."""
    firsts = [a[names[0]], b[names[0]]]
    return all(_whole(f) and len(np.unique(f)) == len(f) > 1 for f in firsts) and \
        not all(_whole(t[n]) for t in (a, b) for n in names[1:])


def _equal_keys(a: dict, b: dict, first: list[str], second: list[str]) -> list[str]:
    """The leading columns two tables share by name and position that hold the same integers row by
    row, with more than two distinct values (``day``, ``store,item`` of a submission and its truth), before a
    column that is not so: keys, where they label rows as keys do: each row once (``store,item``), or
    in order (``day``, grouped). (Not a 0/1 column predicted exactly: one-hot rows stay data.)
    Integers in no order, with repeats, are as likely a target predicted exactly (counts, a rating)
    as keys: refused by :func:`shared_keys`, naming the selectors (returned with a ``?`` first)."""
    equal = []
    for n, m in zip(first, second):
        if n != m or not (_whole(a[n]) and _whole(b[n]) and np.array_equal(a[n], b[n])):
            break
        equal.append(n)
    out = []
    for n in equal:
        if len(np.unique(a[n])) <= 2:
            break
        out.append(n)
    if out:
        rows = np.stack([a[n] for n in out], axis=1)
        ordered = bool((np.lexsort(rows.T[::-1]) == np.arange(len(rows))).all())
        if not ordered and len(np.unique(rows, axis=0)) < len(rows):
            return ["?", *out] if len(out) < min(len(first), len(second)) else []
    # the levels of a MultiIndex (grp with two values, k counting under each) are keys together: the
    # shortest run of them whose rows are in strictly increasing order, as a groupby writes them (data
    # predicted exactly is not in order: 0,5 / 1,3 / 0,7), one of them with more than two values
    for k in range(1, len(equal) + 1) if not out and equal and len(a[equal[0]]) > 3 else ():
        rows = np.stack([a[n] for n in equal[:k]], axis=1)
        if any(len(np.unique(a[n])) > 2 for n in equal[:k]) and _increasing(rows):
            out = equal[:k]
            break
    return out if len(out) < min(len(first), len(second)) else []


def _increasing(rows: np.ndarray) -> bool:
    """Whether the rows of ``rows`` (N, K) are in strictly increasing lexicographic order."""
    later = np.zeros(len(rows) - 1, dtype=bool)  # (row r + 1 already after row r by an earlier column)
    for col in rows.T:
        step = np.sign(col[1:] - col[:-1])
        if np.any(~later & (step < 0)):
            return False
        later |= step > 0
    return bool(later.all())


def _text_labels(blocks: list[tuple[str, Source, set]]) -> list[tuple[int, int, str]]:
    """A first column (or pandas' index) of times written as text (``rules.TIME``) that two whole tables (no
    selector) hold under one name, each time once in the first rows: the labels of the rows (an
    index of dates: ``date,0.5`` of a quantile series), which must agree row by row as integer ids
    must; so is a first column a Parquet/Arrow file keeps as times or dates. Other text is not
    compared: class names repeat, and names of files or cities are spelled otherwise by one writer
    than by another (a path, a case) where they label the same rows."""
    import pyarrow as pa

    from .rules import TIME

    def label(block: Source, named: set) -> str:
        # (the first column, or pandas' index wherever the file keeps it: Parquet keeps it last)
        first = next((n for n in block.order if _is_index(block, n)), block.order[0]) \
            if not named and block.arrays is None and block.order else ""
        values = block.text_values.get(first)
        if values is not None and is_time_type(values.type):
            import pyarrow.compute as pc  # (a table of times only: a small CSV does not pay its import)

            present = values.drop_null()
            return first if len(present) > 1 and len(pc.unique(present)) == len(present) else ""
        if values is None or not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
            return ""
        present = [v.strip() for v in values.to_pylist() if v is not None and v.strip()]
        return first if len(present) > 1 and len(set(present)) == len(present) and \
            all(TIME.fullmatch(v) for v in present) else ""

    firsts = [label(b, named) for _, b, named in blocks]
    return [(i, j, firsts[i]) for i in range(len(blocks)) for j in range(i + 1, len(blocks))
            if firsts[i] and firsts[i] == firsts[j]]


def _first_other_time(a, b) -> int | None:
    """The first row where two columns of times written as text (:func:`_text_labels`) differ:
    as instants, so the same one written by pandas (``2024-01-01 06:00:00+00:00``) and by polars
    (``2024-01-01T06:00:00.000000+0000``) is the same label; a time missing on either side tells
    nothing. Times Arrow's ISO 8601 parser does not read (``2024/01/31``, periods of a week,
    quarters, times of day) are compared as text, and only where the two columns spell some time
    alike: ``2024/01/31`` against ``2024-01-31`` is one label in two spellings, not rows out of
    order. Times spelled alike (one writer) are told apart as text first, cheaply. Times a file
    keeps as times (Parquet's timestamps and dates) are compared as instants with times in text;
    times with a zone are not compared with times without one (which zone was meant is not known)."""
    import pyarrow.compute as pc

    typed = is_time_type(a.type) or is_time_type(b.type)
    row = 0 if typed else first_difference(a, b)
    if row is None:
        return None
    a, b = a.slice(row), b.slice(row)
    for unit in ("ns", "us"):  # (9999-12-31, a sentinel date, is beyond nanoseconds)
        times = [arrow_instants(x, unit) for x in (a, b)]
        if times[0] is not None and times[1] is not None:
            if times[0][1] != times[1][1]:
                return None
            other = first_difference(times[0][0], times[1][0], known=True)
            return None if other is None else row + other
    if typed:  # a time against text Arrow does not read as times: nothing to tell; against numbers, they differ
        import pyarrow as pa

        texts = [pa.types.is_string(x.type) or pa.types.is_large_string(x.type) for x in (a, b)]
        if any(texts):
            return None
        a, b = comparable([a, b])
        other = first_difference(a, b, known=True)
        return None if other is None else row + other
    a, b = _padded(blank_missing(a)), _padded(blank_missing(b))
    if not pc.any(pc.is_in(a, value_set=b.drop_null())).as_py():
        return None
    other = first_difference(a, b, known=True)
    return None if other is None else row + other


def _padded(values):
    """Times as text with their lone digits padded (1.2.2024 is 01.02.2024, 6:00 is 06:00): one
    writer pads days and months, another does not."""
    import pyarrow.compute as pc

    return pc.replace_substring_regex(values, pattern=r"\b(\d)\b", replacement=r"0\1")


def _key_values(block: Source, name: str, label: str):
    """A key column of a block: its exact text, or (a shared key read as numbers) its values."""
    import pyarrow as pa

    if name in block.keys:
        return block.keys[name]
    if name in block.text_values:
        return block.text_values[name]
    if name in block.columns:
        return pa.array(block.columns[name])
    raise InputError(f"{label}: column {name!r} is a key in the first rows (or shard) but not here: write every "
                     "shard with the same columns, or name the data columns in a selector")


def _cell(value) -> str:
    return "a missing value" if value is None else repr(str(value))


def _is_index(block: Source, name: str) -> bool:
    return block.index.get(name, "").startswith("pandas' index")
