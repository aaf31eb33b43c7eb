"""The shape language of input roles, read in one place.

A shape is comma-separated dimensions: ``N`` is the sample count, other capitalised symbols
(``C``, ``D``) must agree across the roles of a loss, ``...`` means any trailing dimensions,
``=role`` means "the same shape as that role", and ``|`` separates alternatives (``"N|N,C"``:
class indices or rows). The registry checks declarations with :func:`valid`, the validator
checks data with :func:`check_shapes`, the sampler draws data with :func:`concrete`.
"""

from __future__ import annotations

import re

import numpy as np

from .errors import InputError

_DIM = re.compile(r"^(\.\.\.|[A-Z][A-Za-z0-9_]*|=[a-z][a-z0-9_]*)$")


def alternatives_of(shape: str) -> list[tuple[str, ...]]:
    return [tuple(d.strip() for d in alt.split(",")) for alt in shape.split("|")]


def valid(shape: str) -> bool:
    return all(_DIM.match(d) for alt in alternatives_of(shape) for d in alt)


def shape_text(shape: str) -> str:
    """Readable shape: ``(N, C)``, ``(N,) or (N, C)``, ``same as predictions``."""
    out = []
    for alt in alternatives_of(shape):
        if len(alt) == 1 and alt[0].startswith("="):
            out.append(f"same as {alt[0][1:]}")
        else:
            out.append("(" + ", ".join(alt) + ("," if len(alt) == 1 else "") + ")")
    return " or ".join(out)


def is_class_table(shape: str) -> bool:
    """A role of shape (N, C) only: one column per class."""
    return alternatives_of(shape) == [("N", "C")]


def concrete(shape: str, sizes: dict, resolved: dict, *, last: bool = False, trailing: tuple = (),
             default: int = 3) -> tuple:
    """A concrete shape for random data: ``sizes`` of symbols (others get ``default``),
    ``resolved`` shapes of earlier roles (for ``=role``), ``last``: the last alternative,
    ``trailing``: what ``...`` stands for."""
    alts = alternatives_of(shape)
    alt = alts[-1] if last and len(alts) > 1 else alts[0]
    if len(alt) == 1 and alt[0].startswith("="):
        return tuple(resolved[alt[0][1:]])
    out: tuple = ()
    for d in alt:
        out += tuple(trailing) if d == "..." else (sizes.get(d, default),)
    return out


def check_shapes(loss_name: str, roles, bound: dict) -> dict[str, np.ndarray]:
    """Every bound input's shape against its role's declaration: symbols agree across roles,
    ``=role`` is that role's shape ((N,) and (N, 1) count as the same). Returns the arrays,
    reshaped where (N,) met (N, 1); raises InputError naming the file and both sizes."""
    symbols: dict[str, tuple[int, str]] = {}  # symbol -> (size, which input fixed it)
    out: dict[str, np.ndarray] = {}
    for role in roles:
        if role.name not in bound:
            continue
        arr = bound[role.name]
        data = arr.data
        what = f"{arr.label} ({loss_name} {role.name})"
        if data.ndim == 0 or data.shape[0] == 0:
            raise InputError(f"{what}: no samples, expected at least one row")
        alternatives = alternatives_of(role.shape)
        errors = []
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
                    errors.append(f"has shape {data.shape} but {other} has {ref.shape} (expected the same shape)")
                continue
            fixed = [d for d in alt if d != "..."]
            if ("..." in alt and data.ndim < len(fixed)) or ("..." not in alt and data.ndim != len(alt)):
                errors.append(f"expected shape {shape_text(','.join(alt))}, got {data.shape}")
                continue
            mismatch = None
            for axis, sym in enumerate(fixed):
                if sym in symbols and symbols[sym][0] != data.shape[axis]:
                    size, by = symbols[sym]
                    noun = "rows" if axis == 0 else "columns" if axis == 1 else f"entries on axis {axis}"
                    mismatch = f"has {data.shape[axis]} {noun} but {by} has {size}"
                    break
            if mismatch:
                errors.append(mismatch)
                continue
            for axis, sym in enumerate(fixed):
                symbols.setdefault(sym, (data.shape[axis], arr.label))
            break
        else:
            raise InputError(f"{what}: {'; or '.join(dict.fromkeys(errors))}")
        out[role.name] = data
    return out
