"""What a Python caller passes, lined up as the CLI lines up files: pandas objects paired by their
indexes, the columns of tables with the same names in one order, id columns refused as data,
class labels read through the predictions' column names, and a parameter given as a pandas Series
read by its index. ``losscli.evaluate`` and a loss called directly both come here, before
``arrays.as_array`` makes each value a labelled array.

Every rule is the CLI's: rows are paired by place unless keys say otherwise (a file's index
column, ``--on``), an id column is no value, columns named alike are met by name, and integer
labels beside columns named 1, 2, 3 name those columns."""

from __future__ import annotations

from typing import Any

import numpy as np

from .errors import InputError, ParameterError


def _is_pandas(value: Any) -> bool:
    return type(value).__module__.split(".")[0] == "pandas" and hasattr(value, "index")


def _columns(value: Any) -> list | None:
    """A table's column names (pandas, polars, pyarrow), or None."""
    if hasattr(value, "column_names") and hasattr(value, "select"):  # pyarrow Table / RecordBatch
        return list(value.column_names)
    if hasattr(value, "columns") and hasattr(value, "to_numpy"):  # pandas or polars DataFrame
        return list(value.columns)
    return None


def _select(value: Any, names: list) -> Any:
    if hasattr(value, "column_names") and hasattr(value, "select"):
        return value.select(names)
    if _is_pandas(value):
        return value.loc[:, names]
    return value.select(names)  # polars


def _shown(label: Any) -> str:
    return repr(label.item() if hasattr(label, "item") else label)


def line_up(values: list, labels: list[str]) -> list:
    """``values`` (inputs, and weights if given; ``labels`` their names) with pandas objects
    reordered to the first one's index when their indexes hold the same labels, each once (pandas'
    own alignment); refused when they hold others. Id columns beside data are refused; tables whose
    columns have the same names in another order are read in the first one's order."""
    for value, label in zip(values, labels):
        _refuse_id_columns(value, label)
    values = _align_indexes(values, labels)
    return _same_column_order(values, labels)


def _refuse_id_columns(value: Any, label: str) -> None:
    from .io.rules import is_id_name

    names = _columns(value)
    if not names or len(names) < 2:
        return
    ids = [n for n in names if isinstance(n, str) and is_id_name(n)]
    if ids:
        raise InputError(f"{label}: the column {ids[0]!r} is an id, not a value (the CLI keeps it as a key): "
                         f"pass the value columns only (frame.drop(columns={ids[0]!r})), make it the index "
                         f"(frame.set_index({ids[0]!r})) to pair the inputs by it, or pass frame.to_numpy() if it "
                         "holds values")


def _align_indexes(values: list, labels: list[str]) -> list:
    indexed = [i for i, v in enumerate(values) if _is_pandas(v)]
    if len(indexed) < 2:
        return values
    first = indexed[0]
    base = values[first].index
    out = list(values)
    for i in indexed[1:]:
        other = values[i].index
        if other.equals(base):
            continue
        a, b = labels[first], labels[i]
        if base.is_unique and other.is_unique and len(base) == len(other):
            at = other.get_indexer(base)
            if (at >= 0).all():
                out[i] = values[i].iloc[at]  # (pandas' alignment: the rows of the same labels)
                continue
        if not base.is_unique or not other.is_unique:
            which, index = (a, base) if not base.is_unique else (b, other)
            raise InputError(f"{which}: its pandas index holds {_shown(index[index.duplicated()][0])} twice, so "
                             f"its rows cannot be paired with {b if which == a else a}'s by index: pass "
                             f".to_numpy() to pair rows by position, or give each row its own label")
        missing = other.difference(base) if len(other.difference(base)) else base.difference(other)
        holder, lacking = (b, a) if len(other.difference(base)) else (a, b)
        raise InputError(f"{a} and {b}: their pandas indexes hold different labels ({holder} has "
                         f"{_shown(missing[0])}, {lacking} has not; {len(base)} and {len(other)} rows): pass "
                         f".to_numpy() to pair rows by position, or align them ({b}.reindex({a}.index))")
    return out


def _same_column_order(values: list, labels: list[str]) -> list:
    first = None
    out = list(values)
    for i, value in enumerate(values):
        names = _columns(value)
        if not names or len(names) < 2:
            continue
        if first is None:
            first = names
        elif names != first and sorted(map(str, names)) == sorted(map(str, first)) and len(set(names)) == len(names):
            out[i] = _select(value, [n for f in first for n in names if str(n) == str(f)])
    return out


def as_inputs(loss, inputs, weights=None) -> list:
    """``inputs`` in role order (named by their roles; extra ones ``input K``) and ``weights`` if
    given (last) as labelled arrays, lined up (:func:`line_up`), class labels read through the
    predictions' column names where they name classes: integers beside columns named by other
    numbers (a ``predict_proba`` frame with ``columns=clf.classes_``: 1, 2, 3), text beside columns
    named by text, as the CLI reads them (``io.classes``)."""
    from .arrays import as_array
    from .domains import CLASS_LABELS
    from .io.classes import column_classes

    roles = len(inputs)
    labels = [role.name for role in loss.inputs][:roles]
    labels += [f"input {i + 1}" for i in range(len(labels), roles)]
    values = [*inputs, *([] if weights is None else [weights])]
    labels += [] if weights is None else ["weights"]
    values = line_up(values, labels)
    arrays: list = []
    for i, (value, label) in enumerate(zip(values, labels)):
        classes = column_classes(arrays[0]) if 0 < i < min(roles, len(loss.inputs)) and \
            loss.inputs[i].domain in CLASS_LABELS else None
        text = _text(value) if classes is not None else None
        if text is not None:
            arrays.append(_text_labels(text, classes, label))
            continue
        arr = as_array(value, label)
        if classes is not None and arr.data.ndim == 1 and classes.as_integers() is not None:
            arr = classes.array_indices(arr, 0, python=True)
        arrays.append(arr)
    return arrays


def _text(value: Any) -> np.ndarray | None:
    """A 1-D value of text (str or object holding str), as an object array; else None."""
    if isinstance(value, (list, tuple)) and any(isinstance(v, str) or v is None for v in value) and \
            all(isinstance(v, str) or v is None or (isinstance(v, float) and np.isnan(v)) for v in value):
        return np.asarray(value, dtype=object)
    if hasattr(value, "to_numpy") and not hasattr(value, "columns"):
        value = value.to_numpy(zero_copy_only=False) if type(value).__module__.startswith("pyarrow") \
            else value.to_numpy()
    if isinstance(value, np.ndarray) and value.ndim == 1 and value.dtype.kind in "OUS" and \
            any(isinstance(v, (str, np.str_, bytes)) for v in value):
        return value.astype(object)
    return None


def _text_labels(text: np.ndarray, classes, label: str):
    """A Python caller's text labels (an object array: str, bytes, None or NaN where missing) as
    class indices, as the CLI reads a column of them (``Classes.text_indices``)."""
    import pyarrow as pa

    from .arrays import Array
    from .io.table import names_text

    try:
        values = pa.array(text, type=pa.string(), from_pandas=True)  # (None and NaN: missing)
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # (bytes, or numbers among the names: as text)
        values = pa.array([None if v is None or (isinstance(v, float) and np.isnan(v)) else
                           v.decode() if isinstance(v, bytes) else str(v) for v in text], type=pa.string())
    found, unknown, shown = classes.text_indices(values)
    if unknown.size:
        row = int(unknown[0])
        raise InputError(f"{label}, row {row}: {shown[row].as_py()!r} is not a class name "
                         f"(classes, {classes.source}: {names_text(classes.names)})")
    return Array(found, label)


def params_by_index(params: dict, values: list) -> dict:
    """Parameters given as pandas Series (``class_weights=1 / y.value_counts()``) read by their
    index (:func:`series_param`), the first input's column names naming the classes."""
    names = _columns(values[0]) if values else None
    return {k: series_param(v, k, tuple(map(str, names)) if names else None) for k, v in params.items()}


def series_param(value: Any, name: str, names: tuple | None) -> Any:
    """A parameter given as a pandas Series (``1 / y.value_counts()``, sorted by count): read by its
    index, the class indices 0..K-1 or the predictions' column names, in class order; any other
    index is refused (by place, class 0 took the weight of the commonest class)."""
    if not _is_pandas(value) or getattr(value, "ndim", 0) != 1:
        return value
    index = list(value.index)
    if names is not None and sorted(map(str, index)) == sorted(map(str, names)):
        order = {str(k): v for k, v in zip(index, value.to_numpy())}
        return np.array([order[str(n)] for n in names])
    if all(isinstance(k, (int, np.integer)) and not isinstance(k, bool) for k in index) and \
            sorted(int(k) for k in index) == list(range(len(index))):
        return value.sort_index().to_numpy()
    shown = ", ".join(map(str, index[:5])) + (", ..." if len(index) > 5 else "")
    raise ParameterError(f"parameter {name}: a pandas Series is read by its index, which holds {shown}: expected "
                         f"the class indices 0 to {len(index) - 1}"
                         + (f" or the classes {', '.join(map(str, names))}" if names else "")
                         + " (or pass a list in class order)")
