"""One input file (or shard set, or standard input) as blocks of rows, read once however many
selectors use it: :class:`FileReader`. The format of a file is chosen in ``formats.py``."""

from __future__ import annotations

import io
import os
import sys
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from ..errors import InputError
from .csv import text_blocks
from .kinds import KindGuard
from .sniff import sniff_delimiter, split_fields
from .formats import (STREAMED, WINDOWED, codec_of, foreign_format, magic_reader, reader_for, unzip_one,
                      zipped_text)
from .ipc import ARROW_MAGIC, ipc_blocks, ipc_rows
from .npy import NPY_MAGIC, ZIP_MAGIC
from .parquet import PARQUET_MAGIC, parquet_blocks
from .rules import LATER, NUMERIC_HEADERS, ReadRules
from .spec import check_file, is_url, shards_of
from .streams import Stream, decompressing, is_stream
from .table import Source, resolve_columns
from .windows import Window


class FileReader:
    """One input file (or shard set, or stdin), read once however many selectors use it."""

    def __init__(self, path: str, stdin=None, dtype=np.float64, rules: ReadRules = ReadRules(),
                 memoize: bool = False, window: Window | None = None):
        self.path, self.dtype, self.rules = path, dtype, rules
        self.window = window  # only these rows of the (one, local) file: an engine's partition
        self.memoize = memoize  # whole reads are kept (check: many gates, same files)
        self._memo: list[Source] | None = None
        self._stdin = stdin
        self._stream: Stream | None = None  # standard input, a FIFO, a /dev/fd/N pipe: opened once
        self._whole: list[Source] | None = None  # such a stream's blocks when it was read whole
        self.shards = None if path == "-" else shards_of(path)
        #: one shard of a larger input (an engine's partition): it may be empty, as Dask writes a
        #: partition a filter emptied; the client says when the whole input is
        self.a_shard = False
        if path != "-" and self.shards is None and not is_url(path):
            check_file(path)
        self.locked_columns: list[str] | None = None  # "all numeric columns" fixed by block 1, as written
        #: the orders its columns were read in, said in a note (``roles.in_order``): once each; an
        #: engine's partition (``quiet``) has nothing to say (its client said it)
        self.said_orders: set = set()
        self.quiet = False
        # block 1 of a table of class scores held a column of whole numbers only (roles.select_locked;
        # True until block 1 says: an engine's partition, whose columns its client fixed, looks in each)
        self.whole_columns = True
        self.label_columns: list[str] = []  # row labels compared with another input's, read beside the data
        # a shard set read with a guessed header: --header for its later shards, once the first
        # shard decided (``_as_first_shard``; an engine's partitions read them with it)
        self.later_header: str | None = None
        # a shard set: its first shard's columns, in order, and where they were read (what a
        # column chosen by position is in every shard: ``later_selector``)
        self.first_order: list[str] | None = None
        self.first_label: str | None = None
        # each column's kind, numbers or booleans, as its first block held it: a later block or shard
        # of the other kind is refused (an engine's partition reports it: the client compares them)
        self.kinds = KindGuard()

    def later_selector(self, selector: str, order: list[str] | None = None) -> str:
        """``selector`` as the later shards of a shard set read it: the names it picks in the first
        shard (``:0`` is the first shard's column 0 in every shard: a dataset's files may order
        their columns differently, part-1 written y, p). Unchanged outside a shard set, before
        the first shard was read, where a name holds a comma, or where a later shard's columns
        (``order``) lack one of the names (a header in the first file only: positions there)."""
        if self.first_order is None or not self.shards or len(self.shards) < 2:
            return selector
        names = resolve_columns(selector, self.first_order, self.first_label or self.label)
        if any("," in n for n in names) or (order is not None and not set(names) <= set(order)):
            return selector
        return ",".join(names)

    @property
    def label(self) -> str:
        return "<stdin>" if self.path == "-" else self.path

    def rereadable(self) -> bool:
        """Local files (not standard input, pipes or URLs): a second pass can read them again."""
        return all(p != "-" and not is_url(p) and not is_stream(p) for p in self.shards or [self.path])

    def row_estimate(self) -> int | None:
        """Rows of the input: exact for NPY, Parquet and Arrow, estimated from the file size for
        text; None if unknown."""
        return self.rows()[0]

    def rows(self) -> tuple[int | None, bool]:
        """(``row_estimate()``, whether it is exact)."""
        total, exact = 0, True
        for path in self.shards or [self.path]:
            if path == "-" or is_stream(path):  # (a look at a pipe would take its bytes)
                return None, False
            try:
                with open(path, "rb") as fh:
                    head = fh.read(65536)
                if head.startswith(NPY_MAGIC):
                    total += np.load(path, mmap_mode="r", allow_pickle=False).shape[0]
                    continue
                reader = magic_reader(head)
                if reader is parquet_blocks:
                    import pyarrow.parquet as pq

                    total += pq.ParquetFile(path).metadata.num_rows
                    continue
                if reader is ipc_blocks and head.startswith(ARROW_MAGIC):
                    total += ipc_rows(path)
                    continue
                if b"\x00" in head[:8192]:
                    return None, False  # another binary format: unknown
                lines = head.count(b"\n")
                total += int(os.path.getsize(path) / (len(head) / max(lines, 1)))
                exact = False
            except Exception:
                return None, False
        return total, exact

    def row_width(self) -> int:
        """Numbers per row, from the first file's header (to size blocks); 1 when unknown."""
        path = (self.shards or [self.path])[0]
        try:
            if path == "-" or is_stream(path):
                return 1
            with open(path, "rb") as fh:
                head = fh.read(65536)
            if head.startswith(NPY_MAGIC):
                shape = np.load(path, mmap_mode="r", allow_pickle=False).shape
                return int(np.prod(shape[1:])) if len(shape) > 1 else 1
            if head.startswith((ZIP_MAGIC, PARQUET_MAGIC)) or b"\x00" in head[:8192]:
                return 1
            lines = [ln for ln in head.decode("utf-8-sig", errors="ignore").splitlines()[:20] if ln.strip()]
            sep = sniff_delimiter(lines) or ","
            return max(1, len(split_fields(lines[0], sep)))
        except Exception:  # the real read reports what is wrong with the file
            return 1

    def blocks(self, chunk_rows: int | None, wanted: frozenset | None = None) -> Iterator[Source]:
        """Blocks of at most chunk_rows rows (None: whole files), shard after shard. A block's
        label and row_offset are those of its own file, so errors point into the right shard."""
        if self.memoize and chunk_rows is None:
            if self._memo is None:
                self.memoize = False
                try:
                    self._memo = list(self.blocks(None))
                finally:
                    self.memoize = True
            yield from self._memo
            return
        files = self.shards or [self.path]
        produced = False
        rules = self.rules
        for f in files:
            # (a later shard read by position in the first shard: all of it, its names are not known yet)
            own = wanted if f == files[0] or wanted is None or all(self.later_selector(s) == s for s in wanted) \
                else None
            for block in self._file_blocks(f, chunk_rows, len(files) > 1 or self.a_shard, own, rules):
                if len(files) > 1 and rules is self.rules and rules.header == "auto" and block.header:
                    rules = replace(rules, header=_as_first_shard(block.header))
                    self.later_header = rules.header
                if len(files) > 1 and self.first_order is None and block.arrays is None:
                    self.first_order, self.first_label = list(block.order), block.label
                produced = True
                if len(files) > 1:
                    block.dataset = self.label
                self.kinds.check(block)
                yield block
        if not produced and self.window is None and not self.a_shard:  # (every shard of a dataset had a header only)
            raise InputError(f"{self.label}: has a header but no data rows")

    def _file_blocks(self, path: str, chunk_rows: int | None, empty_ok: bool = False,
                     wanted: frozenset | None = None, rules: ReadRules | None = None) -> Iterator[Source]:
        """One file's blocks; a shard of a dataset may hold a header only (an empty partition).
        ``wanted``: the selectors it is read with (None: all of it); ``rules``: the run's, or a
        later shard's (its header read as the first shard's was)."""
        rules = self.rules if rules is None else rules
        stream: Stream | None = None
        if path == "-" or is_stream(path):  # read once, as it comes: never opened twice
            if self._stream is None:
                if path == "-":
                    source = self._stdin if self._stdin is not None else sys.stdin.buffer
                else:
                    try:
                        source = open(path, "rb")
                    except OSError as exc:
                        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
                self._stream = Stream(source, self.label)
            elif chunk_rows is None and self._whole is not None:
                yield from self._whole  # a stream read whole once already (several selectors)
                return
            stream = self._stream
            wanted = None  # (read once: everything in it, for whatever selects from it later)
            opener: Callable = stream.open
            label, suffix = self.label, "" if path == "-" else Path(path).suffix.lower()
        else:
            if is_url(path):
                import fsspec

                # (the opener keeps the OpenFile, and with it its filesystem: an archive's (zip://,
                # tar://) closes the archive when it is collected, under the files read from it)
                opener = fsspec.open(path, "rb").open
            else:
                opener = lambda: open(path, "rb")  # noqa: E731
            label, suffix = path, Path(path).suffix.lower()
        try:
            with opener() as fh:
                head = fh.read(65536)
        except PermissionError:
            raise InputError(f"{label}: permission denied (cannot read the file)") from None
        except OSError as exc:
            raise InputError(f"{label}: cannot read: {exc.strerror or exc}") from None
        if not head:
            raise InputError(f"{label}: empty file")
        codec = codec_of(head)
        if codec is not None:
            opener, head = decompressing(opener, label, *codec)
            suffix = Path(path).with_suffix("").suffix.lower() if path != "-" else ""
        elif zipped_text(head) is not None:  # pandas' to_csv('x.zip'): one text file in a ZIP
            if stream is not None:  # (a ZIP is read from its end: held in memory)
                data = stream.whole().getvalue()
                opener = lambda: io.BytesIO(data)  # noqa: E731
            codec = ("zip", partial(unzip_one, label))
            opener, head = decompressing(opener, label, *codec)
            suffix = Path(path).with_suffix("").suffix.lower() if path != "-" else ""
        reader = reader_for(head, suffix)
        if reader is text_blocks and (foreign := foreign_format(head)) is not None:
            raise InputError(f"{label}: {foreign}")
        if codec is not None and reader is not text_blocks:
            raise InputError(f"{label}: a {codec[0]}-compressed binary file; only text (CSV, TSV) is read "
                             "compressed: NPY/NPZ/Parquet/Arrow files carry their own compression")
        if stream is not None and reader not in STREAMED:  # needs random access: held in memory
            opener = stream.whole
        keep = stream is not None and chunk_rows is None
        kept: list[Source] = []
        produced = False
        if self.window is not None:  # (the planner windows only files these readers read)
            if reader not in WINDOWED or codec is not None:
                raise InputError(f"{label}: cannot read a range of its rows (a compressed file, or a format "
                                 "read whole); read it whole")
            reader = partial(reader, window=self.window)
            empty_ok = True  # (a window past the end: the lockstep read says which input is short)
        for block in reader(opener, label, chunk_rows, self.dtype, head, wanted, rules):
            produced = True
            if keep:
                kept.append(block)
            yield block
        if not produced and not empty_ok:
            what = "has a header but no data rows" if getattr(reader, "func", reader) is text_blocks else \
                "holds no rows (0 samples)"
            raise InputError(f"{label}: {what}")
        if keep:
            self._whole = kept


def _as_first_shard(decision: str) -> str:
    """``--header`` for the later shards of a dataset, from its first shard's header decision.
    Spark, Dask and pandas write the same header in every part file or in none: a first line of
    numbers in a later shard is a header only where the first shard's line of numbers was one
    (``0`` above integers in part-00001 of np.savetxt shards is data; its own guess dropped it).
    After a header of text, a later line of numbers is data (files written in chunks, the header
    in the first); a later line of text is a header whatever this says."""
    return "yes" if decision in NUMERIC_HEADERS else LATER
