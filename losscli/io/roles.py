"""What the roles of a loss ask of the tables read for them, beyond their columns' names: a table
of class scores is one column per class (a column of whole numbers beside fractions is refused:
:func:`refuse_whole_numbers`); an input after the predictions with their column names in another
order is read in their order (:func:`in_order`, :func:`column_order`); one table read whole for
the targets and another role is refused (:func:`refuse_one_table_twice`); :func:`select_locked`
selects a block's columns by those rules, the columns of a table read whole fixed by its first
block. The positions these apply at come from the losses' declarations (``shapes.py``,
``InputCache.read_for``)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import numpy as np

from ..arrays import Array
from ..errors import InputError
from .classes import Classes, class_numbers
from .table import Source, names_text, refuse_name_or_position

if TYPE_CHECKING:
    from .files import FileReader


def in_order(src: Source, arr: Array, names: tuple[str, ...], source: str, said: set | None = None,
             quiet: bool = False) -> Array:
    """A table read whole whose columns are ``names`` in another order (the predictions' columns, or
    the classes ``--classes`` gives: ``source`` says which) is read in that order, with a note: by
    position its columns were others (``pd.get_dummies`` sorts the class names; two frames of one
    multi-output model with their columns in another order). So are columns named by the same numbers
    (``y_1,y_0`` after ``p_0,p_1``; ``1,0`` after ``class_0,class_1``), read by their numbers. The note
    is said once per order (``said``: the orders said of this file; None: said every time), and not
    with ``quiet`` (an engine's partition: its client said it)."""
    if not arr.columns or len(names) < 2 or tuple(arr.columns) == names:
        return arr
    if sorted(arr.columns) != sorted(names):
        ours, theirs = class_numbers(arr.columns), class_numbers(names)
        if ours is None or theirs is None or sorted(ours) != sorted(theirs) or ours == theirs:
            return arr
        names = tuple(arr.columns[ours.index(n)] for n in theirs)
    if not quiet and (said is None or (names, source) not in said):
        print(f"losscli: note: {src.label}: columns read in the order of {source} ({', '.join(names)}), not as "
              f"written ({', '.join(arr.columns)})", file=sys.stderr, flush=True)
        if said is not None:
            said.add((names, source))
    picked = src.select(",".join(names))
    return Array(picked.data, src.label, picked.columns, picked.first_line, picked.row_offset)


#: whole numbers at least this large (in magnitude) in every row of a column of class scores are a
#: masked or absent class's logit (-1e9, -10000), not a fold, a count or a label
MASKED = 100.0


def refuse_whole_numbers(src: Source, arr: Array) -> bool:
    """Every numeric column of a table read, without a selector, for a role with one column per
    class: a column of whole numbers only, one of them outside [0, 1] (a fold, a count, the
    label itself), beside columns with fractions (the scores) is refused rather than read as one
    more class, naming the selectors either way. 0/1 columns stay classes (one-hot targets, a
    probability rounded to 0), and so do columns of large whole numbers (a masked class's -1e9) and
    a file of whole numbers only (quantised logits, label indices). A column written as booleans
    (True/False: a flag, ``is_correct``) beside scores with fractions is refused too: no model
    writes a class's score so; and so is a column of both 0 and 1 beside scores outside [0, 1]
    (logits, cosines: a flag ``is_holdout``, a 2-fold ``fold``, the label), where it is no
    probability (a constant 0 stays: a baseline class's logit). Returns whether a column holds
    whole numbers only here: a column with a fraction in one block is never refused in a later one
    (``select_locked`` looks again only where one may be)."""
    data = arr.data
    if data.ndim != 2 or not arr.columns or len(arr.columns) != data.shape[1] or data.shape[1] < 2:
        return False
    finite = np.isfinite(data)
    with np.errstate(invalid="ignore"):
        integral = np.where(finite, data == np.round(data), True).all(axis=0)
        whole = integral & finite.any(axis=0) & \
            np.where(finite, (data < 0) | (data > 1), False).any(axis=0) & \
            ~np.where(finite, np.abs(data) >= MASKED, True).all(axis=0)  # (a masked class: -1e9 a row)
        fraction = (finite & (data != np.round(data))).any(axis=0)
        scores = np.where(finite[:, fraction], (data[:, fraction] < 0) | (data[:, fraction] > 1), False).any()
        binary = np.where(finite, (data == 0) | (data == 1), True).all(axis=0) & \
            (finite & (data == 0)).any(axis=0) & (finite & (data == 1)).any(axis=0)
    flags = np.array([n in src.booleans for n in arr.columns])
    whole |= flags | (binary & bool(scores))
    if not whole.any() or not fraction.any():
        return bool(integral.any())
    found = [n for n, w in zip(arr.columns, whole) if w]
    rest = [n for n, w in zip(arr.columns, whole) if not w]
    first = int(np.flatnonzero(whole)[0])
    values = data[finite[:, first], first]
    which = f"column {found[0]!r} holds" if len(found) == 1 else \
        f"columns {', '.join(map(repr, found))} hold"
    span = f"{values.min():g} to {values.max():g}" if len(found) == 1 else f"{found[0]!r}: {values.min():g} to " \
        f"{values.max():g}"
    what, like = ("booleans only (True/False)", "a flag") if flags[first] and len(found) == 1 else \
        (f"whole numbers only ({span})", "a fold, a count or the label")
    raise InputError(
        f"{src.label}: {which} {what} beside "
        f"class scores with fractions ({', '.join(map(repr, rest))}), as {like} does: "
        f"name the score columns ({src.selects}:{','.join(rest)}), or every column if "
        f"{'it is' if len(found) == 1 else 'they are'} a class's score too ({src.selects}:{','.join(arr.columns)})")


def column_order(first: Array | None, classes: Classes | None) -> tuple | None:
    """The order an input after the predictions (``first``, None for the predictions themselves) is
    read in when its columns have the same names: the predictions' columns, else the class names
    ``--classes`` gives; None for the predictions."""
    if first is None:
        return None
    if first.columns and len(first.columns) > 1 and not first.positional and first.data.ndim == 2:
        return tuple(first.columns), f"the columns of {first.label}"
    if classes is not None and classes.text and classes.source == "--classes":
        return classes.names, "the classes (--classes)"
    return None


def refuse_one_table_twice(readers, parsed, arrays: list[Array], targets: frozenset[int],
                            class_axes: frozenset[int]) -> None:
    """One table (one file, however named: ``./eval.csv``, a link) given, without a selector, for
    the targets and another input (``mse eval.csv eval.csv``): both read the same columns, and the
    loss compares them with themselves (0.0 whatever they hold). Refused where it reads several
    columns (a file of one column given twice may be a check of 0 on purpose); targets with a
    column per class (ce of p against p: its entropy) and two embeddings of one table
    (cosine_embedding's x1, x2) are left alone."""
    seen: dict[int, int] = {}
    for i, (reader, (path, sel)) in enumerate(zip(readers, parsed)):
        columns = arrays[i].columns if i < len(arrays) else None
        if sel is not None or not columns or len(columns) < 2:
            continue
        j = seen.setdefault(id(reader), i)
        if j != i and (i in targets) != (j in targets) and not {i, j} & targets & class_axes:
            pair = f"{path}:{columns[0]} and {path}:{columns[1]}" if len(columns) == 2 else \
                f"{path}:COLUMNS for each, from {names_text(columns)}"
            raise InputError(f"{path} is given for two inputs without a selector: both read its columns "
                             f"{names_text(columns)}, so the loss would compare them with themselves; name each "
                             f"one's columns ({pair})")


def select_locked(reader: FileReader, block: Source, selector: str | None, classes: Classes | None = None,
                   class_axis: bool = False, order: tuple | None = None) -> Array:
    """Selecting "all numeric columns" is fixed by the first block, so a text cell later on is
    an error at its line rather than a silently dropped column. ``class_axis``: the input's role
    has one column per class (``roles.refuse_whole_numbers``); ``order``: (names, what names them) an
    input after the predictions is read in when its columns are those names in another order
    (``roles.in_order``)."""
    if selector is None and block.arrays is None:
        # the columns are fixed as the file has them; the order each read wants is applied to every
        # block (the labels of compare's two models, or of two gates, whose columns are in two orders:
        # fixed in the first model's order, the second was scored against the wrong targets)
        if reader.locked_columns is None:
            arr = block.select(None, classes)
            assert arr.columns is not None  # a table's selection names its columns
            reader.whole_columns = class_axis and refuse_whole_numbers(block, arr)
            reader.locked_columns = list(arr.columns or ())
        else:
            arr = block.select(",".join(reader.locked_columns), classes)
            if class_axis and reader.whole_columns:  # (a flag all 0 in the first block, sorted by it, shows 1 later)
                refuse_whole_numbers(block, arr)
            arr = Array(arr.data, block.label, arr.columns, arr.first_line, arr.row_offset)
        return arr if order is None else in_order(block, arr, order[0], order[1], said=reader.said_orders,
                                                      quiet=reader.quiet)
    if selector is not None:
        refuse_name_or_position(selector, block)
        if reader.first_label not in (None, block.label):  # a later shard: what its first shard's positions name
            selector = reader.later_selector(selector, block.order)
    return block.select(selector, classes)
