"""Every check, block by block, that rows paired by position are the same samples: id and key
columns and pandas indexes (``pairing.IdGuard``), Hive partitions (``partitions.py``) and text
labels of rows (``textkeys.py``). ``cache.InputCache.lockstep`` runs them on each block of the
inputs it pairs, and :meth:`RowGuards.finish` once every row was read. Under ``--positional`` the
user says the rows are in one order: the columns' roles are still planned, nothing is compared."""

from __future__ import annotations

from .pairing import IdGuard
from .partitions import PartitionGuard
from .textkeys import TextLabelGuard


class RowGuards:
    """``inputs``: the inputs (selectors) paired; ``positional``: --positional; ``shards``: each file
    is a shard of a larger input (an engine's partition)."""

    def __init__(self, inputs: int, positional: bool = False, shards: bool = False):
        self.ids, self.positional = IdGuard(inputs=inputs, shards=shards), positional
        self.partitions, self.labels = PartitionGuard(), TextLabelGuard()

    def check(self, readers: list, blocks: dict, named: dict, start: int, whole: bool = False) -> None:
        """One block of each paired input (``blocks`` and ``named``, the columns selectors name, by
        ``id(reader)``; ``whole``: these blocks hold every row). The columns compared are added to
        each reader's ``label_columns``: an engine's partition reads them beside the data."""
        rows = [(r.label, blocks[id(r)], named[id(r)]) for r in readers]
        if start == 0 and not self.positional and len({r.path for r in readers}) > 1:
            _refuse_unordered_writes(readers)
        self.ids.check(rows, start, compare=not self.positional)
        self.partitions.check([(r.label, r.path if r.shards else None, blocks[id(r)]) for r in readers], start,
                              [r.shards for r in readers], compare=not self.positional)
        if self.positional:
            return
        self.labels.check(rows, start, self.ids.compared(), whole)
        compared = self.labels.columns() + [(k, n) for i, j, na, _ in self.ids.pairs or ()
                                            if na in blocks[id(readers[i])].text_values
                                            for k, n in ((i, na), (j, na))]
        for i, name in compared:  # (text compared: a Dask worker reads it too)
            readers[i].label_columns = sorted({*readers[i].label_columns, name})

    def finish(self) -> None:
        """Every row was read: a refusal held until then (text labels of a short file)."""
        if not self.positional:
            self.labels.finish()


def _refuse_unordered_writes(readers: list) -> None:
    """A dataset paired by position with another input whose files name several writes by random
    ids (``spec.unordered_writes``): its rows are read in an order nobody wrote (review 100 #1: the
    batches of ``write_to_dataset`` paired with a labels file, exit 0)."""
    from ..errors import InputError
    from .labels import POSITIONAL
    from .spec import unordered_writes

    for r in readers:
        found = unordered_writes(r.shards) if r.shards else None
        if found is not None:
            raise InputError(
                f"{r.label}: its files {found[0]} and {found[1]} are named by the random ids of two writes "
                "(write_to_dataset called once a batch, an appending job), so the order of their names is not the "
                "order of its rows: name the files in order (write_to_dataset(..., basename_template="
                "'part-00001-{i}.parquet'), one number a batch), or write a key beside the values in every input and "
                f"pair them with --on ({POSITIONAL})")
