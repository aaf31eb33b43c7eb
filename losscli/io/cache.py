"""Reading inputs: :class:`InputCache` reads each file once (a :class:`~losscli.io.files.FileReader`
per file, shard set or stdin), however many selectors use it, and advances several inputs in
lockstep blocks so that row i of every block is the same sample (by position, or by key with
``--on``); with ``--by``, each block also carries its rows' slice codes."""

from __future__ import annotations

import os
import sys
from dataclasses import replace
from typing import Any, Iterator

import numpy as np

from ..arrays import Array
from ..errors import InputError
from .files import FileReader
from .pairing import named_columns, row_count_mismatch
from .sharedkeys import shared_keys
from .rules import GUESSES, ReadRules
from .slices import SliceKeys, SliceSpec, block_codes
from .spec import is_url, split_spec
from .streams import is_stream
from .classes import Classes, column_classes, label_reading, refuse_other_readings
from .roles import column_order, refuse_one_table_twice, select_locked
from .table import Source, names_text

__all__ = ["BLOCK_BYTES", "MIN_BLOCK_ROWS", "FileReader", "InputCache"]

#: bytes of one block of all inputs together; rows per block = this / bytes per row, at least
#: MIN_BLOCK_ROWS. Small blocks stay in the CPU caches (two 10M-row inputs: 16 MB blocks took the
#: same time with 50 MB more peak memory); wide rows keep enough rows to amortise a block's overhead
BLOCK_BYTES = 2 * 2**20
MIN_BLOCK_ROWS = 16384


class InputCache:
    """Reads each file once, however many roles select from it (``-`` included), by the run's
    ``rules`` (header, key column, class names); keeps what it read of each input for the JSON
    (``inputs``) and says on stderr what it left out."""

    def __init__(self, stdin=None, dtype=np.float64, memoize: bool = False, as_shards: bool = False,
                 rules: ReadRules = ReadRules(), order_by: str | None = None, companions: tuple[str, ...] = (),
                 slices: SliceSpec | None = None, windows: dict | None = None, quiet: bool = False):
        if slices is not None:  # the readers keep the --by columns exactly, not as data
            rules = replace(rules, by=slices.columns)
        # --by: the run's slice keys; lockstep adds each block's codes after its arrays
        self.slice_keys = None if slices is None else SliceKeys(slices)
        self.as_shards = as_shards  # the files are shards of larger inputs (an engine's partition)
        self.quiet = quiet  # a worker's partition: its notes are the client's, said once
        self.windows = windows or {}  # path -> the rows of it read (io.windows.Window; an engine's partition)
        self._readers: dict[str, FileReader] = {}
        self._stdin = stdin
        self.dtype = dtype
        self.memoize = memoize  # keep whole inputs for reuse (check: many gates, same files)
        # positions of the inputs that are class labels (shapes.class_label_inputs), where integer labels
        # are read through integer class names, and that have a class axis (shapes.class_axis_inputs),
        # where a table read without a selector is one column per class: set by the engine (read_for)
        self.class_labels: frozenset[int] = frozenset()
        self.class_axes: frozenset[int] = frozenset()
        self.roles_known = False  # (read_for was called: class_labels, class_axes and targets hold)
        self.targets: frozenset[int] = frozenset()  # positions of the targets (shapes.target_inputs)
        self.rules = rules
        self.order_by = order_by  # with rules.on: the input whose order matched rows come in (default the first)
        # with rules.on: inputs whose keys every join is restricted to, read or not (compare: both models,
        # so that --on-missing drop evaluates them on the same keys)
        self.companions = companions
        self.inputs: dict[str, dict] = {}  # spec -> what was read of it (provenance)
        self._row_keys: tuple | None = None  # with rules.on: the first input's keys, and its row of each row
        self.matched_rows: dict[str, np.ndarray] = {}  # with rules.on: per input, its file's row of each row
        self._noted: set = set()
        self._label_readings: dict[str, tuple] = {}  # predictions' spec -> (column names, how labels were read)
        self.row_guards: Any = None  # the last lockstep's RowGuards: an engine's partition reports what they saw

    def reader(self, path: str) -> FileReader:
        key = "-" if path == "-" or _is_standard_input(path) else path if is_url(path) else os.path.realpath(path)
        if key not in self._readers:
            reader = FileReader(path, self._stdin, self.dtype, self.rules, self.memoize, self.windows.get(path))
            if self.as_shards and reader.shards is None:
                reader.shards, reader.a_shard = [path], True
            reader.quiet = self.quiet
            self._readers[key] = reader
        return self._readers[key]

    def load(self, spec: str) -> Array:
        """The whole input as one Array (blocks concatenated)."""
        path, selector = split_spec(spec)
        wanted = None if selector is None else frozenset([selector])
        reader = self.reader(path)
        parts: list[Array] = []
        for b in reader.blocks(None, wanted):
            parts.append(select_locked(reader, b, selector))
            self._record(spec, reader, b, parts[-1], sum(p.data.shape[0] for p in parts))
        if len(parts) == 1:
            return parts[0]
        first = parts[0]
        try:
            data = np.concatenate([p.data for p in parts])
        except ValueError:
            shapes = ", ".join(f"{p.label} {p.data.shape}" for p in parts[:4])
            raise InputError(f"{path}: the shards' shapes do not stack ({shapes})") from None
        return Array(data, path if selector is None else f"{path}:{selector}", first.columns, None, 0)

    def key_of(self, row: int):
        """With ``rules.on``: the key of an evaluated row (as the first input holds it; a time, a date
        or a decimal as its text: ``slices.json_scalar``); else None."""
        if self._row_keys is None:
            return None
        keys, rows = self._row_keys
        from .slices import json_scalar

        return json_scalar(keys[int(rows[row])].as_py())

    def name_rows(self, records: list[dict]) -> None:
        """With ``rules.on``: each record's evaluated row (``index``) as the first input's row, with
        its ``key`` beside it (in place); else nothing to do."""
        if self._row_keys is not None:
            for r in records:
                r["key"], r["index"] = self.key_of(r["index"]), self.file_row(r["index"])

    def file_row(self, row: int) -> int:
        """With ``rules.on``: the row of the first input an evaluated row is (rows come in its
        order, less those ``--on-missing drop`` dropped); else ``row`` itself."""
        return row if self._row_keys is None else int(self._row_keys[1][row])

    def _say(self, line: str) -> None:
        """A note on stderr, unless this cache reads a Dask partition (``quiet``: the client said it)."""
        if not self.quiet:
            print(line, file=sys.stderr, flush=True)

    def read_for(self, losses, count: int) -> None:
        """The roles of the ``count`` inputs, given in role order, as ``losses`` declare them."""
        from ..shapes import binary_target_inputs, class_axis_inputs, class_label_inputs, target_inputs

        self.roles_known = True
        self.class_labels = class_label_inputs(losses, count) | \
            (binary_target_inputs(losses, count) if self.rules.classes else frozenset())  # (--classes -1,1 for bce)
        self.class_axes = class_axis_inputs(losses, count)
        self.targets = target_inputs(losses, count)

    def _classes(self, first: Array | None, position: int) -> Classes | None:
        """The class names the labels of the input at ``position`` are read with: --classes, else
        the predictions' columns (``first``; ``table.column_classes``). Integer labels are read
        through integer names only at the positions of class labels (``class_labels``, which the
        engine sets from the losses' roles: not weights, norms or group ids). The predictions'
        columns name classes only where they are class scores (a class axis: not supcon's embedding
        dimensions e0, e1, ...), when the roles are known."""
        named = column_classes(first) if not self.roles_known or 0 in self.class_axes else None
        classes = named
        if self.rules.classes:
            classes = Classes(tuple(self.rules.classes), "--classes")
            if named is not None and named.differs(classes) and not named.positions(classes):
                raise InputError(f"--classes {','.join(self.rules.classes)}: {named.source} name the "
                                 f"classes otherwise ({', '.join(named.names)}); give the classes in the "
                                 "order of the columns, or leave --classes out")
        if classes is None:
            return None
        integers = position in self.class_labels and classes.as_integers() is not None
        return replace(classes, integers=integers) if integers or classes.text else None

    def _record(self, spec: str, reader: FileReader, block: Source, arr: Array, rows: int,
                classes: Classes | None = None) -> str | None:
        """What was read of an input (for the JSON; ``rows``: read so far in this pass, the same
        in every pass), and a note on stderr for each column left out that is not text (an index,
        an id), once per file, and for integer labels read as class names (``classes``), once."""
        how = None if classes is None else classes.reads(block, arr.columns or ()) if block.arrays is None else \
            "integers" if classes.integers and arr.data.ndim == 1 else None
        if how == "integers" and (reader.label, classes) not in self._noted:
            assert classes is not None
            self._noted.add((reader.label, classes))
            what = f"column {(arr.columns or ('',))[0]!r}" if block.arrays is None else f"array {arr.label!r}"
            named = "named v" if classes.numbers is None else \
                f"whose name ends in the number v (class {classes.numbers[0]} is {classes.names[0]!r})"
            self._say(f"losscli: note: {reader.label}: {what}: integer labels read as "
                      f"class names {names_text(classes.names)} ({classes.source}): a label v is the class {named}, "
                      "not class index v")
        rec = self.inputs.get(spec)
        if rec is None:
            path, selector = split_spec(spec)
            used = set(arr.columns or ())
            skipped = {n: why for n, why in block.skipped().items() if n not in used} \
                if selector is None and block.arrays is None else {}
            rec = self.inputs[spec] = {
                "path": reader.label, "selector": selector,
                "format": "table" if block.arrays is None else "arrays",
                "columns": list(arr.columns) if arr.columns else None,
                "skipped": skipped, "rows": 0, "shape": list(arr.data.shape[1:]),
                "dtype": np.dtype(self.dtype).name, "header": block.header, "on": self.rules.on}
            if how is not None and classes is not None:  # labels read through class names
                rec["classes"] = {"names": list(classes.names), "from": classes.source, "labels": how}
            if block.header in GUESSES and (reader.label, None) not in self._noted:
                self._noted.add((reader.label, None))
                self._say(f"losscli: note: {reader.label}: its first line, all numbers, is read as pandas' header of "
                          "numbered columns; --header no reads it as data, --header yes says it is a header")
            for name, why in skipped.items():
                if why == "the --on key" or name in self.rules.by or (reader.label, name) in self._noted:
                    continue
                self._noted.add((reader.label, name))
                if why == "text":
                    self._say(f"losscli: note: {reader.label}: column {name!r} holds {block.kind(name)} "
                              f"({block.text_columns[name]!r}), not numbers: it is not read")
                else:
                    self._say(f"losscli: note: {reader.label}: column {name!r} is not read as data: {why}; a "
                              "selector naming it reads it")
        rec["rows"] = max(rec["rows"], rows)
        return how

    def _note_readings(self, specs: list[str], arrays: list[Array], hows: list[str | None]) -> None:
        """How these inputs' class labels met the predictions' columns (``refuse_other_class_readings``)."""
        self._label_readings[specs[0]] = label_reading(arrays, hows, self.class_labels)

    def refuse_other_class_readings(self, baseline: str, candidate: str) -> None:
        """compare: the two models' scores must meet the labels as the same classes
        (``classes.refuse_other_readings``)."""
        a, b = self._label_readings.get(baseline), self._label_readings.get(candidate)
        if a is not None and b is not None:
            refuse_other_readings(a, b, *(self.inputs.get(s, {}).get("path", split_spec(s)[0])
                                          for s in (baseline, candidate)))

    def lockstep(self, specs: list[str], chunk_rows: int | None, first_row: int = 0,
                 whole: frozenset[int] = frozenset()) -> Iterator[tuple[int, list[Array]]]:
        """(first global row, one block of every spec), advanced together: row i of each block
        is the same sample (by position, or by key with ``rules.on``). A row-count mismatch, or
        id columns that disagree, is an error naming the files or shards. ``first_row``: the
        row the inputs begin at (windows of files, read by an engine's partition). ``whole``: the
        positions of specs whose rows are not samples (roles of shape kN, several rows per sample:
        ``shapes.whole_inputs``); their files are read beside the others but not paired with them
        row by row, and the validator checks their row counts (only batch-coupled losses declare
        such roles, and those are read in one block, chunk_rows None)."""
        if self.rules.on:
            yield from self._joined(specs, chunk_rows)
            return
        parsed = [split_spec(s) for s in specs]
        readers = [self.reader(path) for path, _ in parsed]
        distinct = list({id(r): r for r in readers}.values())
        # files read only for such roles: their row counts are the validator's to check
        unpaired = {id(r) for r in readers} - {id(r) for i, r in enumerate(readers) if i not in whole}
        by_file = self._by_file()
        if by_file is not None and by_file not in distinct:  # read in lockstep, for its --by columns only
            distinct.append(by_file)
        # text inputs are parsed ahead on textparse's thread pool while this loop evaluates
        iters = {id(r): r.blocks(chunk_rows, self._wanted(r, readers, parsed)) for r in distinct}
        start = first_row
        shapes: dict[int, tuple] = {}
        from .guards import RowGuards

        guards = self.row_guards = RowGuards(sum(1 for r in readers if id(r) not in unpaired), self.rules.positional,
                                             self.as_shards)
        named: dict | None = None
        carried: dict[int, Source] = {}  # the rest of a block cut to pair it with a shard of another input
        while True:
            next_blocks = {k: carried.pop(k) if k in carried else next(it, None)
                           for k, it in iters.items()}  # None: that reader ended
            ended = [r for r in distinct if next_blocks[id(r)] is None]
            if len(ended) == len(distinct):
                guards.finish()
                return
            if ended:
                longer = next(r for r in distinct if next_blocks[id(r)] is not None)
                raise InputError(f"{ended[0].label} ends after {start} rows but {longer.label} has "
                                 "more (inputs must have the same number of rows)")
            blocks = {k: b for k, b in next_blocks.items() if b is not None}  # all of them
            paired = [r for r in distinct if id(r) not in unpaired]
            if any(r.shards for r in paired) and len({blocks[id(r)].rows for r in paired}) > 1:
                # a dataset's shards end its blocks where they end: the blocks of the other inputs are
                # cut there too, and rows pair by their place in the whole input (shards in order)
                n = min(blocks[id(r)].rows for r in paired)
                for r in paired:
                    if blocks[id(r)].rows > n:
                        blocks[id(r)], carried[id(r)] = blocks[id(r)].cut(n)
            first = blocks[id(distinct[0])]
            for r in distinct[1:]:
                b = blocks[id(r)]
                if b.rows != first.rows and id(r) not in unpaired:
                    raise row_count_mismatch(first, iters[id(distinct[0])], b, iters[id(r)],
                                             bool(distinct[0].shards or r.shards))
            if named is None:  # the columns selectors name, from the first blocks (the guard plans once)
                named = {id(r): named_columns(r, readers, parsed, blocks[id(r)]) for r in distinct}
            checked = [r for r in distinct if id(r) not in unpaired]
            every_row = start == first_row and (chunk_rows is None or first.rows < chunk_rows) and \
                not any(r.shards for r in checked) and not self.windows  # (inputs of one block)
            guards.check(checked, blocks, named, start, every_row)
            arrays = self._select(specs, readers, parsed, blocks, start)
            if self.slice_keys is not None:
                holders = [by_file] if by_file is not None else distinct
                arrays.append(Array(block_codes(self.slice_keys, [blocks[id(r)] for r in holders]), "--by"))
                if by_file is not None:
                    self._record_by_file(blocks[id(by_file)], start + first.rows)
            for i, a in enumerate(arrays):  # a row's shape is the same in every block and shard
                if shapes.setdefault(i, (a.data.shape[1:], a.label))[0] != a.data.shape[1:]:
                    shape, where = shapes[i]
                    raise InputError(f"{a.label}: rows of shape {a.data.shape[1:]} from row {start} on, where "
                                     f"{where} has rows of shape {shape} (one input has one row shape)")
            yield start, arrays
            start += first.rows

    def _select(self, specs, readers, parsed, blocks, start: int) -> list[Array]:
        arrays: list[Array] = []
        hows: list[str | None] = []
        for spec, r, (_, sel) in zip(specs, readers, parsed):
            block = blocks[id(r)]
            classes = self._classes(arrays[0] if arrays else None, len(arrays))
            arrays.append(select_locked(r, block, sel, classes, len(arrays) in self.class_axes,
                                         column_order(arrays[0] if arrays else None, classes)))
            hows.append(self._record(spec, r, block, arrays[-1], start + block.rows, classes))
        refuse_one_table_twice(readers, parsed, arrays, self.targets, self.class_axes)
        self._note_readings(specs, arrays, hows)
        return arrays

    def _joined(self, specs: list[str], chunk_rows: int | None) -> Iterator[tuple[int, list[Array]]]:
        """The inputs read whole, their rows matched by the key column ``rules.on``, in blocks."""
        from .join import concat_keys, match

        on = self.rules.on
        assert on is not None
        parsed = [split_spec(s) for s in specs]
        readers = [self.reader(path) for path, _ in parsed]
        distinct = list({id(r): r for r in readers}.values())
        if self.order_by is not None:  # the reference order first
            ref = self.reader(split_spec(self.order_by)[0])
            distinct.sort(key=lambda r: r is not ref)
        keys, parts = {}, {}
        others = [self.reader(split_spec(c)[0]) for c in self.companions]
        by_file = self._by_file()
        if by_file is not None:  # matched by key too, read for its --by columns only
            others.append(by_file)
        matched_by = distinct + [r for r in dict.fromkeys(others) if r not in distinct]
        for r in matched_by:
            blocks = list(r.blocks(None, self._wanted(r, readers, parsed) if r in distinct or r is by_file
                                   else frozenset()))
            found = [b.keys.get(on) for b in blocks]
            if any(k is None for k in found):
                b = blocks[0]
                if b.arrays is not None:
                    raise InputError(f"{r.label}: --on {on} matches the rows of tables (CSV, Parquet, Arrow); "
                                     "this input has no columns")
                raise InputError(f"{b.label}: no column {on!r} to match rows by (--on; columns: "
                                 f"{', '.join(b.order[:20])})")
            keys[id(r)] = concat_keys(found)
            parts[id(r)] = blocks
        matched = match([keys[id(r)] for r in matched_by], [r.label for r in matched_by], on,
                        self.rules.on_missing == "drop")
        rows = {id(r): m for r, m in zip(matched_by, matched.rows)}
        self._row_keys = (keys[id(distinct[0])], matched.rows[0])
        counts = {id(r): len(keys[id(r)]) for r in matched_by}
        codes = None
        if self.slice_keys is not None:  # each matched row's slice, from the whole of the file that holds it
            holders = [by_file] if by_file is not None else distinct
            whole_blocks = [_joined_keys(parts[id(r)], self.slice_keys.spec.columns) for r in holders]
            codes = block_codes(self.slice_keys, whole_blocks, [rows[id(r)] for r in holders])
            if by_file is not None:
                self._record_by_file(whole_blocks[0], len(codes))
        # integer columns the tables share by name beside the --on key (user,item,...): keys, not data
        shared_keys([(r.label, parts[id(r)][0], named_columns(r, readers, parsed, parts[id(r)][0])) for r in distinct])
        for r in matched_by:  # the keys are not needed any more (but the first input's, to name rows)
            named = set().union(*(named_columns(r, readers, parsed, b) for b in parts[id(r)][:1]))
            if r._memo is not None or r._whole is not None:  # (blocks kept for the next read: keep them whole)
                continue
            for b in parts[id(r)]:
                b.keys.clear()
                if on not in named:
                    b.pending.pop(on, None)
        del keys
        told = ("dropped", frozenset((r.label, n) for r, n in zip(matched_by, matched.dropped)))
        if any(matched.dropped) and told not in self._noted:  # (once: compare joins twice)
            self._noted.add(told)
            dropped = "; ".join(f"{n} of {counts[id(r)]} rows of {r.label}" for r, n in zip(matched_by, matched.dropped))
            self._say(f"losscli: note: --on {on}: dropped the rows whose key is not in every input: {dropped}")
        whole: list[Array] = []
        hows: list[str | None] = []
        for spec, r, (_, sel) in zip(specs, readers, parsed):
            blocks = parts[id(r)]
            classes = self._classes(whole[0] if whole else None, len(whole))
            order = column_order(whole[0] if whole else None, classes)
            pieces = [select_locked(r, b, sel, classes, len(whole) in self.class_axes, order) for b in blocks]
            hows.append([self._record(spec, r, b, p, 0, classes) for b, p in zip(blocks, pieces)][0])
            data = pieces[0].data if len(pieces) == 1 else np.concatenate([p.data for p in pieces])
            take = rows[id(r)]
            single = len(blocks) == 1
            whole.append(Array(data[take], pieces[0].label, pieces[0].columns,
                               pieces[0].first_line if single else None, 0, take))
            rec = self.inputs[spec]
            rec["on"] = on
            rec["unmatched"] = dict(zip((id(x) for x in matched_by), matched.dropped))[id(r)]
            self.matched_rows[spec] = take
            rec["rows"] = int(take.shape[0])
        refuse_one_table_twice(readers, parsed, whole, self.targets, self.class_axes)
        self._note_readings(specs, whole, hows)
        del parts, pieces, data, blocks  # (the generator's frame lives on while the blocks are used)
        n = whole[0].data.shape[0]
        step = chunk_rows or n
        for start in range(0, n, step):
            stop = min(n, start + step)
            arrays = [Array(a.data[start:stop], a.label, a.columns, a.first_line, 0,
                            None if a.file_rows is None else a.file_rows[start:stop]) for a in whole]
            if codes is not None:
                arrays.append(Array(codes[start:stop], "--by"))
            yield start, arrays

    def _record_by_file(self, block: Source, rows: int) -> None:
        assert self.slice_keys is not None
        spec = self.slice_keys.spec
        assert spec.file is not None and spec.path is not None
        self._record(spec.file, self.reader(spec.path), block, Array(np.empty(0), block.label, spec.columns), rows)
        self.inputs[spec.file]["rows"] = rows

    def _wanted(self, reader: FileReader, readers: list[FileReader], parsed) -> frozenset | None:
        """The selectors a reader is read with; the --by-file's names the --by columns (a
        missing one is an error naming the file's columns)."""
        if reader is self._by_file() and reader not in readers:
            assert self.slice_keys is not None
            return frozenset([self.slice_keys.spec.text()])
        return _wanted(reader, readers, parsed)

    def _by_file(self) -> FileReader | None:
        spec = None if self.slice_keys is None else self.slice_keys.spec
        return None if spec is None or spec.path is None else self.reader(spec.path)


def _joined_keys(blocks: list[Source], columns: tuple[str, ...]) -> Source:
    """A file's blocks as one, for its ``--by`` columns: each column's keys concatenated."""
    from .join import concat_keys

    first = blocks[0]
    keys = {n: concat_keys([b.keys[n] for b in blocks]) for n in columns if n in first.keys}
    return Source(first.label, sum(b.rows for b in blocks), order=first.order, arrays=first.arrays, keys=keys)


def _wanted(reader: FileReader, readers: list[FileReader], parsed) -> frozenset | None:
    """The selectors one reader is read with (None: all of its columns; once "all numeric
    columns" was fixed, by an earlier read of the file, those)."""
    sels = {sel for r, (_, sel) in zip(readers, parsed) if r is reader}
    if None in sels and reader.locked_columns is not None:
        sels = (sels - {None}) | {",".join(reader.locked_columns)} | set(reader.label_columns)
    return None if None in sels else frozenset(sels)


def _is_standard_input(path: str) -> bool:
    """``/dev/stdin`` (``/dev/fd/0``, ``/proc/self/fd/0``) on a pipe: the stream ``-`` names, which
    can be read once: one reader for both names."""
    if is_url(path) or not is_stream(path):
        return False
    try:
        a, b = os.stat(path), os.fstat(0)
    except (OSError, ValueError):
        return False
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)
