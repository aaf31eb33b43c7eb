"""The shape language of input roles, read in one place.

A shape is comma-separated dimensions: ``N`` is the sample count, other capitalised symbols
(``C``, ``D``) must agree across the roles of a loss, ``...`` means any trailing dimensions,
``=role`` means "the same shape as that role", and ``|`` separates alternatives (``"N|N,C"``:
class indices or rows). A lowercase letter before a symbol is a whole multiple of it: ``kN``
is k·N rows, k >= 1 (mnrl's hard negatives: k per anchor); the symbol (N) must be fixed by an
earlier role, and the multiplier (k), like any symbol, agrees across the roles that name it.
A role whose rows are such a multiple holds several rows per sample: it is read whole, never
paired row by row with the others (:func:`multiple_rows`). The registry checks declarations
with :func:`valid`, the validator checks data with :func:`check_shapes`, the sampler draws
data with :func:`concrete`.
"""

from __future__ import annotations

import re

import numpy as np

from .errors import InputError

_DIM = re.compile(r"^(\.\.\.|[a-z]?[A-Z][A-Za-z0-9_]*|=[a-z][a-z0-9_]*)$")
_MULTIPLE = re.compile(r"^([a-z])([A-Z][A-Za-z0-9_]*)$")

#: the multiplier a sampler uses for ``kN`` when it is not given (two rows per sample)
DEFAULT_MULTIPLIER = 2


def alternatives_of(shape: str) -> list[tuple[str, ...]]:
    return [tuple(d.strip() for d in alt.split(",")) for alt in shape.split("|")]


def valid(shape: str) -> bool:
    return all(_DIM.match(d) for alt in alternatives_of(shape) for d in alt)


def multiple_of(dim: str) -> tuple[str, str] | None:
    """(multiplier, symbol) of a ``kN`` dimension, or None."""
    m = _MULTIPLE.match(dim)
    return (m.group(1), m.group(2)) if m else None


def multiple_rows(shape: str) -> bool:
    """Whether a role's rows are a multiple of the sample count in every alternative (``kN,D``):
    several rows per sample, read whole and never paired row by row with the other inputs."""
    return all(multiple_of(alt[0]) is not None for alt in alternatives_of(shape))


def whole_inputs(losses, count: int) -> frozenset[int]:
    """The positions, of ``count`` inputs given in role order, that every one of ``losses`` declares
    with several rows per sample (:func:`multiple_rows`): a reader pairs the other inputs row by row
    and reads these whole beside them."""
    return frozenset(i for i in range(count)
                     if losses and all(i < len(l.inputs) and multiple_rows(l.inputs[i].shape) for l in losses))


def class_label_inputs(losses, count: int) -> frozenset[int]:
    """The positions, of ``count`` inputs given in role order, that every one of ``losses`` declares
    as class labels (``domains.CLASS_LABELS``): a reader maps class names there."""
    from .domains import CLASS_LABELS

    return frozenset(i for i in range(count)
                     if losses and all(i < len(l.inputs) and l.inputs[i].domain in CLASS_LABELS for l in losses))


def class_axis_inputs(losses, count: int) -> frozenset[int]:
    """The positions, of ``count`` inputs given in role order, that one of ``losses`` declares with a
    class axis (``C``: class scores, one-hot or soft targets; ``=logits`` of a role that has one): a
    table read there without a selector is one column per class (``roles.refuse_whole_numbers``)."""
    def has_c(loss, shape: str, seen: frozenset = frozenset()) -> bool:
        for alt in alternatives_of(shape):
            if len(alt) == 1 and alt[0].startswith("=") and alt[0][1:] not in seen:
                ref = next((r for r in loss.inputs if r.name == alt[0][1:]), None)
                if ref is not None and has_c(loss, ref.shape, seen | {alt[0][1:]}):
                    return True
            elif "C" in alt:
                return True
        return False

    return frozenset(i for i in range(count) if any(i < len(l.inputs) and has_c(l, l.inputs[i].shape) for l in losses))


#: the names of roles that hold what the predictions are compared with
TARGET_ROLES = frozenset({"labels", "label", "targets", "target", "truth", "y_true"})


def target_inputs(losses, count: int) -> frozenset[int]:
    """The positions, of ``count`` inputs given in role order, that every one of ``losses`` names as
    the targets (``TARGET_ROLES``): one table read whole there and for another role compares its
    columns with themselves (``roles.refuse_one_table_twice``)."""
    return frozenset(i for i in range(count)
                     if losses and all(i < len(l.inputs) and l.inputs[i].name in TARGET_ROLES for l in losses))


def binary_target_inputs(losses, count: int) -> frozenset[int]:
    """The target positions (``target_inputs``) every one of ``losses`` declares as 0/1 labels or
    probabilities (bce, bce_logits): ``--classes -1,1`` reads two integer labels there as 0 and 1."""
    return frozenset(i for i in target_inputs(losses, count)
                     if all(l.inputs[i].domain in ("probability", "binary") for l in losses))


def _dim_text(d: str) -> str:
    m = multiple_of(d)
    return f"{m[0]}·{m[1]}" if m else d


def shape_text(shape: str) -> str:
    """Readable shape: ``(N, C)``, ``(N,) or (N, C)``, ``same as predictions``, ``(k·N, D)``."""
    out = []
    for alt in alternatives_of(shape):
        if len(alt) == 1 and alt[0].startswith("="):
            out.append(f"same as {alt[0][1:]}")
        else:
            out.append("(" + ", ".join(map(_dim_text, alt)) + ("," if len(alt) == 1 else "") + ")")
    return " or ".join(out)


def is_class_table(shape: str) -> bool:
    """A role of shape (N, C) only: one column per class."""
    return alternatives_of(shape) == [("N", "C")]


def concrete(shape: str, sizes: dict, resolved: dict, *, last: bool = False, trailing: tuple = (),
             default: int = 3) -> tuple:
    """A concrete shape for random data: ``sizes`` of symbols (others get ``default``; a
    multiplier ``k`` of ``kN`` gets DEFAULT_MULTIPLIER), ``resolved`` shapes of earlier roles
    (for ``=role``), ``last``: the last alternative, ``trailing``: what ``...`` stands for."""
    alts = alternatives_of(shape)
    alt = alts[-1] if last and len(alts) > 1 else alts[0]
    if len(alt) == 1 and alt[0].startswith("="):
        return tuple(resolved[alt[0][1:]])
    out: tuple = ()
    for d in alt:
        m = multiple_of(d)
        if d == "...":
            out += tuple(trailing)
        elif m:
            out += (sizes.get(m[0], DEFAULT_MULTIPLIER) * sizes.get(m[1], default),)
        else:
            out += (sizes.get(d, default),)
    return out


def _columns(arr) -> str:
    """The table columns an input was read from, when there are several (what a shape error is about)."""
    cols = getattr(arr, "columns", None)
    return f" (columns {', '.join(repr(c) for c in cols)})" if cols and len(cols) > 1 else ""


def _noun(axis: int) -> str:
    return "rows" if axis == 0 else "columns" if axis == 1 else f"entries on axis {axis}"


def check_shapes(loss_name: str, roles, bound: dict) -> dict[str, np.ndarray]:
    """Every bound input's shape against its role's declaration: symbols agree across roles,
    ``=role`` is that role's shape ((N,) and (N, 1) count as the same), ``kN`` is a whole
    multiple of N. Returns the arrays, reshaped where (N,) met (N, 1); raises InputError naming
    the file and both sizes."""
    symbols: dict[str, tuple[int, str, str]] = {}  # symbol -> (size, which input fixed it, its role)
    out: dict[str, np.ndarray] = {}
    for role in roles:
        if role.name not in bound:
            continue
        arr = bound[role.name]
        data = arr.data
        what = f"{arr.label} ({loss_name} {role.name})"
        if data.ndim == 0 or data.shape[0] == 0:
            raise InputError(f"{what}: no samples, expected at least one row")
        if data.size == 0:  # (an NPY of shape (N, 0), a list column of empty lists: no number to read)
            raise InputError(f"{what}: rows of no values (shape {data.shape}), expected at least one value a row")
        alternatives = alternatives_of(role.shape)
        errors = []
        alone = None  # the message of a count that is not a multiple: the whole error for one alternative
        for alt in alternatives:
            if len(alt) == 1 and alt[0].startswith("="):
                ref = out[alt[0][1:]]
                if data.shape != ref.shape and data.size == ref.size and data.shape[0] == ref.shape[0] \
                        and [d for d in data.shape if d != 1] == [d for d in ref.shape if d != 1]:
                    data = data.reshape(ref.shape)  # (N,) vs (N, 1): the same values
                if data.shape == ref.shape:
                    break
                other = bound[alt[0][1:]].label
                if data.shape[0] != ref.shape[0]:
                    errors.append(f"has {data.shape[0]} rows but {other} has {ref.shape[0]}")
                else:
                    mine, theirs = _columns(arr), _columns(bound[alt[0][1:]])
                    hint = "; a selector, FILE:COLUMN, reads the columns it names" if mine or theirs else ""
                    errors.append(f"has shape {data.shape}{mine} but {other} has {ref.shape}{theirs} "
                                  f"(expected the same shape{hint})")
                continue
            fixed = [d for d in alt if d != "..."]
            if ("..." in alt and data.ndim < len(fixed)) or ("..." not in alt and data.ndim != len(alt)):
                errors.append(f"expected shape {shape_text(','.join(alt))}, got {data.shape}")
                continue
            mismatch = None
            found: dict[str, int] = {}  # what this alternative fixes
            for axis, sym in enumerate(fixed):
                size = int(data.shape[axis])
                multiple = multiple_of(sym)
                if multiple:
                    k, base = multiple
                    if base not in symbols:  # (no earlier role fixed the symbol: nothing to check against)
                        continue
                    n, _, by_role = symbols[base]
                    if size % n:
                        expects = f"a multiple of the {n} {by_role}"
                        mismatch = f"has {size} {_noun(axis)}, expected {expects}"
                        alone = (f"{arr.label} has {size} {_noun(axis)}; {loss_name} {role.name} expects {expects}"
                                 + (f" ({role.description})" if getattr(role, "description", "") else ""))
                        break
                    sym, size = k, size // n
                    if sym in symbols and symbols[sym][0] != size:
                        mismatch = (f"has {data.shape[axis]} {_noun(axis)}, {size} per {base}, but {symbols[sym][1]} "
                                    f"has {symbols[sym][0]} per {base}")
                        break
                elif sym in symbols and symbols[sym][0] != size:
                    size_, by, _ = symbols[sym]
                    mismatch = f"has {size} {_noun(axis)} but {by} has {size_}"
                    break
                found.setdefault(sym, size)
            if mismatch:
                errors.append(mismatch)
                continue
            for sym, size in found.items():
                symbols.setdefault(sym, (size, arr.label, role.name))
            break
        else:
            if alone is not None and len(alternatives) == 1:
                raise InputError(alone)
            hint = (f" (read from columns {', '.join(repr(c) for c in arr.columns)}: a selector, FILE:COLUMN, reads "
                    "the ones it names)") if _columns(arr) and data.ndim > 1 and not any("a selector" in e for e in errors) \
                else ""
            if not hint and data.ndim == 2 and data.shape[1] == 1 and arr.columns is None and \
                    any(len(alt) == 1 and not alt[0].startswith("=") for alt in alternatives):
                hint = f" ({arr.label}:0 reads its one column as shape (N,))"
            raise InputError(f"{what}: {'; or '.join(dict.fromkeys(errors))}{hint}")
        out[role.name] = data
    return out
