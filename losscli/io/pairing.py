"""How rows are paired by position, and the checks that refuse it when the inputs say their rows
are not the same samples: row counts (:func:`row_count_mismatch`, :func:`shard_mismatch`), id and
key columns that disagree, a pandas index out of order (:class:`IdGuard`; whether two label columns
agree is ``labels.py``'s), and the columns two tables share by name, which are keys and not data
(``sharedkeys.py``); first lines that the inputs together cannot tell a header from a sample by
(``firstlines.py``). ``--positional`` says the rows are in one order: nothing is compared. Text labels of rows are ``textkeys.py``'s, Hive partitions
``partitions.py``'s; pairing by a key column instead (``--on``) is ``join.py``'s."""

from __future__ import annotations

import numpy as np

from ..errors import InputError
from .buffers import floats
from .join import arrow_instants, as_labels, comparable, is_interval, is_time_type
from .labels import (POSITIONAL, as_written, cell, first_difference, first_other_number, first_other_time,
                     refuse_labels_written_alike, shared_labels, texts_or_times)
from .firstlines import refuse_first_lines_alike
from .rules import BY_REASON, GUESSES, NUMBERS
from .sharedkeys import data_columns, fractional_ids, is_index, shared_keys
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
    big_rows, last = big.row_offset + big.rows, big
    for block in it:  # count the rest of the longer file / shard
        if block.label != big.label:
            break
        big_rows, last = block.row_offset + block.rows, block
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
    if not hint:
        hint = _missing_tail(last, big_rows - small.row_offset - small.rows)
    return InputError(f"{small.label} has {small.row_offset + small.rows} rows but {big.label} has "
                      f"{big_rows} (every input needs one row per sample){hint}")


def _missing_tail(last: Source, extra: int) -> str:
    """A text file of one column that ends in at least ``extra`` missing values: its blank last
    lines (an editor's, a ``print`` too many) are rows, as polars and DuckDB write a missing value."""
    if last.sep is None or len(last.order) != 1 or last.order[0] not in last.columns:
        return ""
    values = last.columns[last.order[0]]
    if values.dtype.kind != "f" or extra > values.size:
        return ""
    tail = np.isnan(values[::-1])
    missing = int(tail.argmin()) if not tail.all() else values.size
    if missing < extra:
        return ""
    many = f"last {missing} rows are missing values" if missing > 1 else "last row is a missing value"
    return (f"; {last.label}'s {many} (in a file of one column an empty line is a row, "
            "as polars and DuckDB write a missing value): delete the blank lines at its end if they are not rows")


def _integers_first(block: Source) -> bool:
    """Whether a block's first row holds integers only in its numeric columns (``1,2,3``: a line that
    may be a header of numbered columns as well as data; ``0.25,1.5`` is data)."""
    firsts = [block.columns[n][:1] for n in block.order if n in block.columns]
    return bool(firsts) and all(v.size and np.all(v == np.round(v)) for v in firsts)


class IdGuard:
    """Positional pairing is refused when two inputs carry id columns that disagree row by row:
    an id or index column of the same name (case aside) in both, or the one id column of each
    (``sample_id`` and ``id``). A column a selector names, or a file's only column, is data, not
    an id (a label column ``class_id``). And an input whose pandas index is out of order, beside
    inputs without one, was reordered after it was numbered: its row i is not theirs."""

    def __init__(self, inputs: int = 2, shards: bool = False):
        self.inputs = inputs  # the inputs (selectors) paired: two from one file are two
        self.each_a_shard = shards  # an engine's partition: each file is a shard of a larger input
        self.pairs: list | None = None
        self.ordered: list = []  # (input, column) of pandas indexes that must not go down
        self.last: dict = {}
        self.counted: list = []  # per input: columns that count like an index, data by another input
        self.shards: dict = {}  # (input, column) -> every shard's index from 0 so far, the last shard's run, this one's
        self.shard_log: list[tuple] = []  # every _shard_rows call: an engine's partitions are checked in order by
        # replaying theirs (:func:`check_shards_in_order`), one partition seeing a few of a dataset's shards

    def _plan(self, blocks: list[tuple[str, Source, set]], start: int = 0) -> None:
        refuse_first_lines_alike(blocks, self.inputs)
        fractional_ids(blocks)
        # a column that counts like a named index is data where another input holds data of that
        # name (x = 1, 2, ... of a grid beside predicted coordinates): so in every later block
        data = [set(named) or set(d) for d, (_, _, named) in zip(data_columns(blocks), blocks)]  # (a selector's too)
        self.counted = [{n for n in b.suspects if n in data[i] and any(n in d for k, d in enumerate(data) if k != i)}
                        for i, (_, b, _) in enumerate(blocks)]
        shared = shared_keys(blocks)
        skips = [b.skipped() for _, b, _ in blocks]
        # (a named RangeIndex a Parquet file keeps in its metadata, no column: an id of its rows too, unless it
        # counts 0, 1, 2, ... as a fresh frame's positions do, which tell nothing beside labels)
        ids = [{n.lower(): n for n in b.keys if (skips[i].get(n, BY_REASON) != BY_REASON or
                                                 n == b.range_index and b.dataset is None
                                                 and b.pandas_range not in (None, (start, 1))) and n not in named}
               for i, (_, b, named) in enumerate(blocks)]
        self.pairs = []
        for i in range(len(blocks)):
            for j in range(i + 1, len(blocks)):
                common = [(ids[i][k], ids[j][k]) for k in ids[i] if k in ids[j]]
                if not common and len(ids[i]) == len(ids[j]) == 1:
                    # (the one id column of each; pandas' index under two names, Unnamed: 0 of a CSV and
                    # __index_level_0__ of Parquet, index of reset_index(), when both label the rows with
                    # text or times: a RangeIndex's positions beside another file's labels are no labels)
                    (na,), (nb,) = ids[i].values(), ids[j].values()
                    if not (is_index(blocks[i][1], na) or is_index(blocks[j][1], nb)) or \
                            (_labels(blocks[i], na) and _labels(blocks[j], nb) and _numbers_alike(blocks[i], na,
                                                                                                blocks[j], nb)) or \
                            _same_integer_labels(blocks[i], na, blocks[j], nb, start):
                        common = [(na, nb)]
                self.pairs += [(i, j, a, b) for a, b in common]
        self.pairs += [(i, j, n, n) for i, j, names in shared for n in names]
        self.pairs += [(i, j, n, n) for i, j, n in _text_labels(blocks)]
        paired = {(i, a) for i, _, a, _ in self.pairs} | {(j, b) for _, j, _, b in self.pairs}
        # (of a MultiIndex, its outer level: the inner ones start again under each outer value)
        self.ordered = [next(iter(group)) for group in (
            [(i, n) for n in ids[i].values() if is_index(b, n) and (i, n) not in paired]
            for i, (_, b, _) in enumerate(blocks)) if group] if len(blocks) > 1 else []

    def compared(self) -> set:
        """(input, column) of every column this guard compares (the text label guard leaves them)."""
        return {(i, a) for i, _, a, _ in self.pairs or ()} | {(j, b) for _, j, _, b in self.pairs or ()}

    def check(self, blocks: list[tuple[str, Source, set]], start: int, compare: bool = True) -> None:
        """``compare``: False under --positional (the columns' roles are planned, nothing compared)."""
        import shlex

        import pyarrow as pa

        if self.pairs is None:  # fixed by the first blocks
            self._plan(blocks, start)
        for (_, block, _), names in zip(blocks, self.counted):
            if names:
                block.suspects = {n: v for n, v in block.suspects.items() if n not in names}
        if not compare:
            return
        for i, j, na, nb in self.pairs or ():
            (la, a, _), (lb, b, _) = blocks[i], blocks[j]
            digits = False  # (number labels written with other digits: --on matches keys exactly)
            if na in a.text_values:  # (times as text: told apart as written, then as instants)
                ka, kb = as_labels(_key_values(a, na, la)), as_labels(_key_values(b, nb, lb))
                if not all(texts_or_times(k.type) for k in (ka, kb)):  # ('00766' of Feather against a CSV's 766)
                    ka, kb = comparable([ka, kb])
                    row, shown = first_difference(ka, kb), (ka, kb)
                else:
                    row, shown = first_other_time(ka, kb), (ka, kb)
            else:
                va, vb = _key_values(a, na, la), _key_values(b, nb, lb)
                ka, kb = comparable([va, vb])
                row, shown = first_difference(ka, kb), (ka, kb)
                if row is not None and not pa.types.is_integer(ka.type):  # (63.696 of float_format, 63.696169)
                    # (each column as written judged whole, then compared from the first row that differs)
                    wa, wb = (as_written(v, from_text=k.sep is not None and n in k.columns)
                              for v, k, n in ((va, a, na), (vb, b, nb)))
                    if wa is not None and wb is not None:
                        numbers = [(w[0][row:], w[1][row:]) for w in (wa, wb)]
                        other, shown = first_other_number(*numbers), (va, vb)
                        if other is None:
                            refuse_labels_written_alike(
                                numbers, [(la, na, va.slice(row)), (lb, nb, vb.slice(row))], start + row)
                        # (--on matches keys as numbers: advice where only their digits as written match)
                        digits = other is not None and \
                            shared_labels(*numbers) > int(np.isin(numbers[0][0], numbers[1][0]).sum())
                        row = None if other is None else row + other
                if row is not None and all(arrow_instants(v, "us") is not None for v in (va, vb)):
                    row = first_other_time(va, vb)  # (times as text in pandas' index: as instants, 00:00+01:00 is 23:00Z)
            if row is not None:
                import pyarrow.compute as pc

                on = f"--on {shlex.quote(na)} pairs them by key" if na == nb else \
                    f"--on NAME, once the key column has one name in every input ({na!r}, {nb!r}) pairs them by key"
                if digits:
                    on += " once every input writes it with the same digits (one of them with a float_format)"
                zoned = {t[1] for t in (arrow_instants(k, "us") for k in (ka, kb)) if t is not None}
                if len(zoned) == 2:  # (--on matches instants: a time without a zone is none of them)
                    on += (" once its times have a zone in every input, or none (pandas' tz_localize, polars' "
                           "replace_time_zone)")
                if pc.count_distinct(ka).as_py() < len(ka):  # (a key repeated: --on would refuse it)
                    on = "sort every input by the same columns (no one of them is unique, for --on)"
                fresh = [lbl for lbl, k in ((la, ka), (lb, kb)) if _counts_from(k, start)]
                if len(fresh) == 1 and is_index(a, na) and is_index(b, nb):  # (0, 1, 2, ... beside labels)
                    on = (f"{on} only if the other numbers the same rows (a frame shuffled after pandas numbered "
                          f"it): {fresh[0]}'s index counts 0, 1, 2, ... as a new frame's does, and a test split's "
                          "(y_test.to_csv()) labels rows of the whole frame")
                what = "key" if na in a.index and a.index[na].startswith("a key") else \
                    "row-label" if na in a.text_values else "id"
                raise InputError(
                    f"{la} and {lb}: their {what} columns disagree at row {start + row} ({la} {na} "
                    f"{cell(shown[0][row].as_py())}, {lb} {nb} {cell(shown[1][row].as_py())}): rows are paired by position, "
                    f"so these are not the same samples; {on} (if these columns are data, name them in a selector; "
                    f"{POSITIONAL})")
        _refuse_a_range_counting_down(blocks)
        _refuse_ranges_that_disagree(blocks)
        for i, (label, block, _) in enumerate(blocks):  # (a RangeIndex the shards' metadata keeps)
            if block.pandas_range is None or (block.label == label and not self.each_a_shard) or not block.rows or \
                    all(other == label for other, _, _ in blocks):  # (one dataset's columns: one order)
                continue
            first, step = block.pandas_range
            self._shard_rows(i, "", label, block.label, first, first + step * (block.rows - 1), block.rows, step)
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
                    f"write them with this column too, or this file without it ({POSITIONAL})")
            if len(values) and (block.label != label or self.each_a_shard):
                v = floats(values)
                self._shard_rows(i, name, label, block.label, v[0], v[-1], len(v), 1)
            if len(seq):
                self.last[(i, name, block.label)] = seq[-1]

    def _shard_rows(self, i: int, name: str, label: str, shard: str, first, last, rows: int, step) -> None:
        """A block of a dataset's shard whose pandas index runs from ``first`` to ``last``. A shard
        may count from 0 again (each shard a frame of its own) or hold any labels of one frame (one
        file per group); but a shard whose index starts below the previous shard's, where that one
        held a run of consecutive labels (a slice of one frame, 20 to 29), is out of order:
        write_to_dataset, called once a batch, names each file by a random id, and the files' order
        is not the rows'."""
        self.shard_log.append((i, name, label, shard, first, last, rows, step))
        state = self.shards.setdefault((i, name), {"fresh": True, "prev": None, "cur": None})
        cur = state["cur"]
        if cur is not None and cur[4] == shard:  # (the shard's next block)
            state["cur"] = [min(cur[0], first), max(cur[1], last), cur[2] + rows, step, shard]
            return
        prev = state["prev"] = cur
        if prev is not None and prev[3] and prev[1] - prev[0] == prev[3] * (prev[2] - 1) and first < prev[0] and \
                not (first == 0 and state["fresh"]):
            what = f"column {name!r}" if name else "a RangeIndex in the files' metadata"
            raise InputError(
                f"{label}: the pandas index ({what}) of shard {shard} starts at {int(first)}, below shard {prev[4]}, "
                f"which held its rows {int(prev[0])} to {int(prev[1])}: the shards are not read in the order pandas "
                "numbered the rows (files are read in the order of their names, and write_to_dataset, called once a "
                "batch, names each one by a random id); name the files in order (basename_template="
                "'part-00001-{i}.parquet', ...), or write the other inputs with the index too and pair them with --on "
                f"({POSITIONAL})")
        state["fresh"] = state["fresh"] and first == 0
        state["cur"] = [first, last, rows, step, shard]


def _refuse_a_range_counting_down(blocks: list[tuple[str, Source, set]]) -> None:
    """A RangeIndex that counts down, kept in a Parquet/Arrow file's metadata (``df.iloc[::-1]
    .to_parquet()``: its rows in the reverse of the order pandas numbered them), beside inputs whose
    rows do not count down alike (none of them an index, or one that counts up): refused, as an
    index column that goes down is (the metadata was not read for it: 9.0 for 1.0, exit 0)."""
    ranges = [(label, b.pandas_range) for label, b, _ in blocks if b.pandas_range is not None and b.rows > 1]
    files = {label for label, _, _ in blocks}
    for label, (first, step) in ranges:
        if step < 0 and len(files) > 1 and sum(r == (first, step) for _, r in ranges) < len(files):
            raise InputError(
                f"{label}: its pandas index (a RangeIndex in the file's metadata) counts down from {first} by "
                f"{-step}: the rows are in the reverse of the order pandas numbered them, and the other inputs do "
                "not count down alike; write every input in the same order (or each with its index, and pair them "
                f"with --on) ({POSITIONAL})")


def _refuse_ranges_that_disagree(blocks: list[tuple[str, Source, set]]) -> None:
    """Files that each keep an unnamed RangeIndex in their metadata only (``df.iloc[40:80]
    .to_parquet()``: pandas' index, which a CSV writes as its first column and which is compared
    there) whose ranges differ: not the same rows of one frame (``iloc[40:80]`` against
    ``iloc[80:120]``, or ``iloc[0::2]`` against ``iloc[1::2]``, were paired, exit 0). A dataset's
    shards each count on their own (``IdGuard._shard_rows``); a named RangeIndex is a key, compared.
    One that counts 0, 1, 2, ... is a new frame's positions (predictions made from ``test =
    df.iloc[800:]``), which tell nothing: not compared."""
    ranged = [(label, (b.pandas_range[0] - b.row_offset * b.pandas_range[1], b.pandas_range[1]))
              for label, b, _ in blocks if b.pandas_range is not None and b.range_index is None and b.dataset is None
              and b.rows]
    ranged = [(label, r) for label, r in ranged if r != (0, 1)]
    for (la, (fa, sa)), (lb, (fb, sb)) in zip(ranged, ranged[1:]):
        if la != lb and (fa, sa) != (fb, sb):
            raise InputError(
                f"{la} and {lb}: their pandas indexes (RangeIndexes kept in the files' metadata) disagree: {la}'s counts "
                f"from {fa} by {sa}, {lb}'s from {fb} by {sb}: rows are paired by position, so these are not the "
                "same samples; write each with its index as a column (df.reset_index()) and pair them with --on "
                f"index ({POSITIONAL})")


def check_shards_in_order(logs: list[list[tuple]], inputs: dict[str, str]) -> None:
    """The shard-order check of :meth:`IdGuard._shard_rows` across an engine's partitions: each
    partition's log of the shards it read (``IdGuard.shard_log``), in the partitions' order;
    ``inputs``: each shard's path -> the input it is a shard of."""
    guard = IdGuard()
    for log in logs:
        for i, name, label, shard, *rest in log:
            guard._shard_rows(i, name, inputs.get(label, label), shard, *rest)


def _counts_from(values, start: int) -> bool:
    """Whether a key column of integers counts start, start + 1, ... (a fresh frame's index)."""
    if str(values.type) != "int64":
        return False
    return bool((floats(values) == np.arange(start, start + len(values))).all())


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
        first = next((n for n in block.order if is_index(block, n)), block.order[0]) \
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


def _labels(block: tuple[str, Source, set], name: str) -> bool:
    """Whether pandas' index holds labels that two files write alike: text, times or floats (each
    compared at the precision it is written with: ``labels.first_other_number``), not integers (a
    RangeIndex's positions) or durations (Parquet's 0 against a CSV's '0 days 00:00:00')."""
    import pyarrow as pa

    label, source, _ = block
    kind = _key_values(source, name, label).type
    if pa.types.is_dictionary(kind):  # (a CategoricalIndex: its categories)
        kind = kind.value_type
    return pa.types.is_string(kind) or pa.types.is_large_string(kind) or is_time_type(kind) or \
        pa.types.is_floating(kind) or is_interval(kind)


def _numbers_alike(x: tuple[str, Source, set], na: str, y: tuple[str, Source, set], nb: str) -> bool:
    """Where one of two label columns holds floats, whether the other reads as numbers too (a CSV
    written with decimal=',' holds '0,5' for Parquet's 0.5: not other labels, a file the reader's
    own message explains)."""
    import pyarrow as pa

    from .join import as_float

    kinds = [_key_values(source, name, label) for (label, source, _), name in ((x, na), (y, nb))]
    if not any(pa.types.is_floating(k.type) for k in kinds):
        return True
    return all(as_float(k, pa.float64()) is not None for k in kinds)


def _same_integer_labels(x: tuple[str, Source, set], na: str, y: tuple[str, Source, set], nb: str,
                         start: int) -> bool:
    """Whether pandas' index and another input's id (or index) column hold the same integer labels:
    integers that do not count start, start + 1, ... (a fresh frame's positions tell nothing), most of
    one's values the other's (a test split's ids, y_test.to_csv(), against the same ids under
    index_label='id': compared; a filtered frame's index beside a truth file's customer_id, other
    numbers, is not)."""
    found = []
    for (label, source, _), name in ((x, na), (y, nb)):
        values = comparable([_key_values(source, name, label)])[0]
        if str(values.type) != "int64" or len(values) < 2 or _counts_from(values, start):
            return False
        found.append(np.unique(floats(values)))
    return bool(np.intersect1d(found[0], found[1]).size >= 0.5 * min(v.size for v in found))


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
