"""Columns two tables share by name: keys of their rows or data. Integer columns beside data that
differ (``user,item,pred`` against ``user,item,rating``), leading integer columns equal in both
that label rows once or in order (``day``, ``store,item``), a first column of the same labels (a
named index): keys, compared row by row (``pairing.IdGuard``). Leading integers equal in both in no
order and with repeats are as likely a target predicted exactly, and refused."""

from __future__ import annotations

import numpy as np

from ..errors import InputError
from .labels import as_written, shared_labels
from .table import Source


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
            elif order := _headerless_labels(blocks[i][1], blocks[j][1], data[i], data[j]):
                refuse_headerless_labels(blocks[i][1], blocks[j][1], data[i], data[j], order)
    for i, j, same in found:
        for k, other in ((i, j), (j, i)):
            for n in same:
                blocks[k][1].index.setdefault(n, f"a key (a column of the same name in {blocks[other][0]}, beside "
                                                 "data columns that differ)")
    return found


def fractional_ids(blocks: list[tuple[str, Source, set]]) -> None:
    """Id-named columns (``id``, ``ID``, ``sample_id``) that hold fractions are data where one input
    has them (a gene ``ID1``: ``Source.skipped``), but two whole tables that each hold one of distinct
    numbers, most of them the other's (the same labels, in these rows or others: a float index named ``id``
    that both files were written with), label their rows: read as data they pair the labels with each
    other (mse halved, exit 0). Marked as id columns in both, which the guard compares row by row.
    Tables whose columns all share names are data (a gene ID3 predicted exactly), but for a first
    column of such labels (pd.Series(y, index=ids).rename_axis('id').to_csv() of both), or pandas' index
    (which Parquet keeps last). Numbers are shared as written (``labels.shared_labels``) under names
    without a digit (``id``, not ``ID1``: a gene's column predicted within the other's rounding is data)."""
    from .rules import is_id_name

    data = data_columns(blocks)
    names: list[dict[str, str]] = []
    for _, b, named in blocks:
        skip = b.skipped() if not named and b.arrays is None else None
        # (or pandas' index named so, which a Parquet file keeps: an id-named column of the other's labels is one too)
        names.append({} if skip is None else {n.lower(): n for n in b.order if is_id_name(n) and
                                              (n not in skip or is_index(b, n)) and (n in b.columns or n in b.keys)})
    for i in range(len(blocks)):
        for j in range(i + 1, len(blocks)):
            pairs = [(names[i][k], names[j][k]) for k in names[i] if k in names[j]]
            if not pairs and len(names[i]) == len(names[j]) == 1:  # (the one id column of each: sample_id, id)
                pairs = [(next(iter(names[i].values())), next(iter(names[j].values())))]
            shared = set(data[i]) == set(data[j])
            if len(blocks[i][1].order) < 2 or len(blocks[j][1].order) < 2:
                continue  # (a file's only column is its data, whatever its name)
            for na, nb in pairs:
                # (pandas' index is first, wherever the file keeps it: Parquet keeps it last)
                indexed = is_index(blocks[i][1], na) or is_index(blocks[j][1], nb)
                if shared and not indexed and not (blocks[i][1].order[:1] == [na] and blocks[j][1].order[:1] == [nb]):
                    continue
                wa, wb = _written(blocks[i][1], na), _written(blocks[j][1], nb)
                if wa is None or wb is None:
                    continue
                if any(c.isdigit() for c in na + nb):  # (as floats: a gene's ID1 predicted well lies within the
                    # truth's float_format='%.1f' of it, as a label so written does)
                    wa, wb = (wa[0], 0 * wa[1]), (wb[0], 0 * wb[1])
                # (each once, as labels are: targets rounded to a decimal repeat, and share values by chance;
                # shared as written, an id beside other data: one file's float32 labels, or its
                # float_format='%.2f', and the other's in full are the same labels)
                fa, fb = (w[0][np.isfinite(w[0])].astype(np.float32) for w in (wa, wb))
                if np.unique(fa).size == fa.size > 1 and np.unique(fb).size == fb.size > 1 and \
                        min(shared_labels(wa, wb), shared_labels(wb, wa)) >= 0.5 * min(fa.size, fb.size):
                    for (label, block, _), name, other, oname in ((blocks[i], na, blocks[j][0], nb),
                                                                  (blocks[j], nb, blocks[i][0], na)):
                        block.index.setdefault(name, f"an id column (numbers with fractions, most of them the labels "
                                                     f"of {other}'s column {oname!r}; --on NAME pairs them by key)")


def _written(block: Source, name: str) -> tuple[np.ndarray, np.ndarray] | None:
    """A column's numbers and the half unit of each as written (``labels.as_written``: a CSV's key
    column is text until a selector names it, its data columns floats parsed from text); None where
    it is not numbers."""
    import pyarrow as pa

    if name in block.columns:
        return as_written(pa.array(np.asarray(block.columns[name], dtype=np.float64)), from_text=block.sep is not None)
    return as_written(block.keys[name])


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


def _headerless_labels(a: Source, b: Source, first: list[str], second: list[str]) -> str:
    """Two text files without a header whose first columns hold the same numbers, beside columns
    that differ: "row by row" or "in another order" (each value once, most of them in both, most of
    those in other rows), else "". pandas' index written by ``to_csv(header=False)`` (a float index,
    or integers with repeats, which the index rules do not take for one), or an output predicted
    exactly: nothing in the files tells, and read as data it halved a mean (or paired shuffled rows)."""
    if not (a.header or "").startswith("no") or not (b.header or "").startswith("no") or \
            len(first) < 2 or len(second) < 2 or first[0] != second[0]:
        return ""
    x, y = a.columns[first[0]], b.columns[first[0]]
    if all(n in b.columns and np.array_equal(a.columns[n], b.columns[n]) for n in first[1:]) and first == second:
        return ""  # (copies of one file: data, alike)
    n = min(x.size, y.size)
    if n > 2 and np.unique(x[:n]).size > 2 and np.array_equal(x[:n], y[:n]):
        return "row by row"
    if n < _REORDERED_ROWS:  # (a few rows of data share values in another order by chance: 0.5, 1.5, ...)
        return ""
    if _relabelled(x, y):
        return "in another order"
    # (integers with repeats, the same ones: a groupby's or a MultiIndex's outer level, rows shuffled)
    if x.size == y.size and np.unique(x).size > 2 and _whole(x) and np.array_equal(np.sort(x), np.sort(y)):
        return "in another order, with repeats"
    return ""


#: the rows two headerless first columns need before the same values in another order are taken for
#: an index's (review 84's grid: 12 rows; review 103's data of 3 to 5 rows shared them by chance)
_REORDERED_ROWS = 10


def refuse_headerless_labels(a: Source, b: Source, first: list[str], second: list[str], order: str) -> None:
    """:func:`_headerless_labels`' refusal, naming the selectors of either reading (and ``--on``)."""
    rest_a, rest_b = ",".join(first[1:]), ",".join(second[1:])
    pair = f"{a.selects}:{rest_a} {b.selects}:{rest_b}"
    raise InputError(
        f"{a.label} and {b.label} have no header, and their first columns hold the same numbers {order}: pandas' index "
        "(written by to_csv(header=False)), or "
        + {"row by row": f"an output predicted exactly? Name the data columns ({pair}); ",
           "in another order": f"data? If it labels the rows, pair them by it ({pair} --on {first[0]}); ",
           "in another order, with repeats": "data? Labels that repeat cannot pair rows written in another order: "
                                             "write both files in one order; "}[order]
        + f"if it is data, name every column ({a.selects}:{','.join(first)} {b.selects}:{','.join(second)})")


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
        indexed = is_index(x, name) or x.range_index == name and x.dataset is None
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
    Integers in no order, with repeats, beside other whole numbers only, are as likely a target of
    counts predicted exactly as keys: refused by :func:`shared_keys`, naming the selectors (returned
    with a ``?`` first). Beside values with fractions they are keys (``store`` before forecasts)."""
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
        rest = [n for n in first if n not in out] + [n for n in second if n not in out]
        # (beside values with fractions, integers copied alike into both are keys: store, family)
        if not ordered and len(np.unique(rows, axis=0)) < len(rows) and \
                all(_whole(a[n]) for n in rest if n in a) and all(_whole(b[n]) for n in rest if n in b):
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


def is_index(block: Source, name: str) -> bool:
    return block.index.get(name, "").startswith("pandas' index")
