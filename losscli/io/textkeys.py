"""Text columns that label the rows of two tables paired by position (``image``, ``filename``,
``sentence``, ``house``): a submission and its truth file keyed by file names, the submission
shuffled. Such a column is not compared as id columns are (one writer spells a label otherwise than
another: a path, a case), but where a label of one table stands at another row of the other, the
rows are not the same samples, and the run is refused (:class:`TextLabelGuard`)."""

from __future__ import annotations

import numpy as np

from ..errors import InputError
from .table import Source


def _texts(block: Source, name: str):
    """A text column's values as Arrow strings (as written: :func:`_elsewhere` trims where they
    differ), or None if it is not text here."""
    values = block.text_values.get(name, block.keys.get(name))
    if values is None:
        return None
    import pyarrow as pa

    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if pa.types.is_dictionary(values.type):  # (a categorical column, a --by column)
        values = values.dictionary_decode()
    if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
        return None
    return values.cast(pa.string())


#: rows in which a column's labels must all differ before a label found at another row is refused
#: at once (a file that ends sooner is judged on all its rows): 7 categories in a block of 7 rows
#: are not labels of rows
DISTINCT_ROWS = 49


class _Pair:
    """Two same-named text columns of two inputs, while their labels are told apart."""

    def __init__(self, i: int, j: int, na: str, nb: str):
        self.i, self.j, self.na, self.nb = i, j, na, nb
        self.seen: tuple[set, set] = (set(), set())
        self.rows = 0
        self.pending: str | None = None  # a refusal found before DISTINCT_ROWS rows were seen

    def distinct(self, ta, tb) -> bool:
        """Whether the labels still all differ (tracked over the first DISTINCT_ROWS rows)."""
        need = DISTINCT_ROWS - self.rows
        if need <= 0:
            return True
        for seen, texts in zip(self.seen, (ta, tb)):
            present = [t.strip() for t in texts.slice(0, need).to_pylist() if t and t.strip()]
            if len(set(present)) < len(present) or seen & set(present):
                return False
            seen.update(present)
        self.rows += min(need, len(ta))
        return True


class TextLabelGuard:
    """Text columns two tables hold under one name (case aside), not named by a selector and not
    compared by another rule, whose values all differ (in the first ``DISTINCT_ROWS`` rows, or in
    all of a shorter file): labels of the rows. A row whose label in one table is another row's in
    the other is refused, naming --on."""

    def __init__(self) -> None:
        self.pairs: list[_Pair] | None = None

    def check(self, blocks: list[tuple[str, Source, set]], start: int, skip: set, whole: bool = False) -> None:
        """``blocks``: (input label, block, the columns selectors name); ``skip``: (input, column)
        pairs another rule compares already (id columns, times); ``whole``: the blocks hold every
        row (a refusal is said at once, before the notes of the rows' selection)."""
        if self.pairs is None:
            self.pairs = []
            for i in range(len(blocks)):
                for j in range(i + 1, len(blocks)):
                    (_, a, na), (_, b, nb) = blocks[i], blocks[j]
                    theirs = {n.lower(): n for n in b.order if n not in nb and (j, n) not in skip}
                    for name in (n for n in a.order if n not in na and (i, n) not in skip and a is not b):
                        other = theirs.get(name.lower())
                        if other is not None and _texts(a, name) is not None and _texts(b, other) is not None:
                            self.pairs.append(_Pair(i, j, name, other))
        for pair in list(self.pairs):
            (la, a, _), (lb, b, _) = blocks[pair.i], blocks[pair.j]
            ta, tb = _texts(a, pair.na), _texts(b, pair.nb)
            if ta is None or tb is None or not pair.distinct(ta, tb):
                self.pairs.remove(pair)  # (repeated text: categories, not labels of rows)
                continue
            found = _elsewhere(ta, tb)
            if found is not None and pair.pending is None:
                k, at = found
                how = (f"--on {pair.na} pairs them by that column" if pair.na == pair.nb else
                       "give the column one name in both, and --on NAME pairs them by it") + \
                    " (--positional pairs them as they stand)"
                pair.pending = (f"{la} and {lb}: paired by position, row {start + k} of {lb} is labelled "
                                f"{tb[k].as_py().strip()!r} in column {pair.nb!r}, which labels row {start + at} of {la} "
                                f"(column {pair.na!r}): the rows are in other orders; {how}")
            if pair.pending is not None and (pair.rows >= DISTINCT_ROWS or whole):
                raise InputError(pair.pending)

    def columns(self) -> list[tuple[int, str]]:
        """(input, column) of the labels compared."""
        return [(p.i, p.na) for p in self.pairs or ()] + [(p.j, p.nb) for p in self.pairs or ()]

    def finish(self) -> None:
        """Every row was read: a refusal found in a file of fewer than DISTINCT_ROWS rows."""
        for pair in self.pairs or ():
            if pair.pending is not None:
                raise InputError(pair.pending)


def _elsewhere(ta, tb) -> tuple[int, int] | None:
    """The first row whose label in ``tb`` is, in ``ta``, another row's: (that row, the other)."""
    import pyarrow.compute as pc

    from .buffers import bits, floats

    differ = np.flatnonzero(bits(pc.not_equal(ta, tb), null=False))
    if differ.size == 0:  # (the usual case, compared as written: nothing is trimmed)
        return None
    import pyarrow as pa

    ta = pc.utf8_trim_whitespace(ta)
    theirs = pc.utf8_trim_whitespace(tb.take(pa.array(differ)))
    differ = differ[bits(pc.not_equal(ta.take(pa.array(differ)), theirs), null=False)]
    if differ.size == 0:
        return None
    at = pc.index_in(pc.utf8_trim_whitespace(tb.take(pa.array(differ))), value_set=ta.drop_null())
    valid = np.flatnonzero(bits(pc.is_valid(at)))
    if valid.size == 0:
        return None
    positions = floats(at.drop_null()).astype(np.int64)
    # (index_in counts positions among ta's present values: map them back to ta's rows)
    rows = np.flatnonzero(bits(pc.is_valid(ta)))
    k = int(valid[0])
    return int(differ[k]), int(rows[positions[0]])
