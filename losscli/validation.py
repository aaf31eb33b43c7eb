"""One validation layer, driven by each loss's declared input roles, shapes and domains.

Every check here produces a single-line :class:`InputError` that names the file, the row/column
(or line/column of a CSV), what was found and what was expected. Losses never validate their
own inputs; they can add a ``validate`` hook for constraints no domain expresses (GE2E groups).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import InputError, LossCliError
from .readers import Array
from .registry import DOMAINS, Input, Loss

#: How far a probability row's sum may be from 1 (absolute): values written with 6 decimals
#: over 100 classes stay inside it, a row that is not a distribution does not. Rows inside it
#: but further than RENORMALISE_ABOVE from 1 are divided by their sum, with one warning.
ROW_SUM_TOL = 1e-4
RENORMALISE_ABOVE = 1e-12


@dataclass
class Validated:
    arrays: dict[str, np.ndarray]  # role -> float64 (or intp class indices)
    kept: np.ndarray | None  # original row numbers kept after --nan-policy omit (None: all)
    omitted: int
    n_rows: int  # rows in the files, before any were omitted
    warnings: list = None  # (label, rows renormalised, largest deviation) for stderr


def bind(loss: Loss, inputs: list[Array]) -> dict[str, Array]:
    """Match positional inputs to the loss's roles, in order; optional roles may be left out."""
    roles = loss.inputs
    need = len(loss.required_inputs)
    if not need <= len(inputs) <= len(roles):
        count = str(need) if need == len(roles) else f"{need} to {len(roles)}"
        raise LossCliError(
            f"{loss.name} takes {count} inputs ({loss.describe_inputs()}), got {len(inputs)}")
    return {role.name: arr for role, arr in zip(roles, inputs)}


def _first(mask: np.ndarray) -> tuple[int, int | None]:
    idx = np.argwhere(mask)[0]
    return int(idx[0]), (int(idx[1]) if len(idx) > 1 else None)


def _check_shapes(loss: Loss, bound: dict[str, Array]) -> dict[str, np.ndarray]:
    symbols: dict[str, tuple[int, str]] = {}  # symbol -> (size, which input fixed it)
    out: dict[str, np.ndarray] = {}
    for role in loss.inputs:
        if role.name not in bound:
            continue
        arr = bound[role.name]
        data = arr.data
        what = f"{arr.label} ({loss.name} {role.name})"
        if data.ndim == 0 or data.shape[0] == 0:
            raise InputError(f"{what}: no samples, expected at least one row")
        alternatives = role.alternatives()
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
                errors.append(f"expected shape {Input(role.name, ','.join(alt)).shape_text()}, got {data.shape}")
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


def _check_domain(loss: Loss, role_name: str, domain: str, arr: Array, data: np.ndarray,
                  num_classes: int | None, kept: np.ndarray | None, warnings: list) -> np.ndarray:
    expected = DOMAINS[domain]
    what = f"({loss.name} {role_name} expects {expected})"
    finite = np.isfinite(data)

    def where(r: int, c: int | None = None) -> str:  # row numbers of the file, not of the kept rows
        return arr.where(int(kept[r]) if kept is not None else r, c)

    def fail(mask: np.ndarray, found: str | None = None):
        flat = (mask & finite).reshape(data.shape[0], -1)
        r, c = _first(flat)
        value = data.reshape(data.shape[0], -1)[r, c]
        raise InputError(f"{where(r, c if data.ndim > 1 else None)}: found "
                         f"{found or f'{float(value):g}'} {what}")

    if domain == "real":
        return data
    if domain == "probability":
        bad = (data < 0) | (data > 1)
        if bad.any():
            fail(bad)
        return data
    if domain == "unit_interval_signed":
        bad = (data < -1) | (data > 1)
        if bad.any():
            fail(bad)
        return data
    if domain in ("nonnegative", "positive"):
        bad = data < 0 if domain == "nonnegative" else data <= 0
        if bad.any():
            fail(bad)
        return data
    if domain == "prob_rows" or (domain == "target" and data.ndim == 2):
        sub = "prob_rows"
        bad = (data < 0) | (data > 1)
        if bad.any():
            fail(bad)
        sums = data.sum(axis=1)
        off = np.abs(sums - 1.0) > ROW_SUM_TOL
        off &= np.isfinite(sums)
        if off.any():
            r = int(np.flatnonzero(off)[0])
            raise InputError(f"{where(r)}: row sums to {sums[r]:.6g} ({loss.name} {role_name} "
                             f"expects {DOMAINS[sub if domain == 'prob_rows' else 'target']}; "
                             f"tolerance {ROW_SUM_TOL:g})")
        drift = np.abs(sums - 1.0) > RENORMALISE_ABOVE
        if drift.any():
            warnings.append((arr.label, int(drift.sum()), float(np.max(np.abs(sums - 1.0)))))
            data = np.where(drift[:, None], data / np.where(drift, sums, 1.0)[:, None], data)
        return data
    if domain == "sign_or_class":
        domain = "class_index" if num_classes is not None else "sign_or_binary"
    if domain == "integer":
        bad = data != np.round(data)
        if bad.any():
            fail(bad)
        return data
    if domain in ("class_index", "target"):
        bad = (data != np.round(data)) | (data < 0)
        if num_classes is not None:
            bad |= data >= num_classes
        if bad.any():
            rng = f"0..{num_classes - 1}" if num_classes is not None else "0, 1, 2, ..."
            r, c = _first(bad & finite)
            raise InputError(f"{where(r, c)}: found {float(data[r]):g} ({loss.name} {role_name} "
                             f"expects an integer class index in {rng})")
        return np.where(finite, data, 0).astype(np.intp) if finite.all() else data
    if domain == "binary":
        bad = (data != 0) & (data != 1)
        if bad.any():
            fail(bad)
        return data
    if domain in ("sign", "sign_or_binary"):
        is_sign = (data == -1) | (data == 1)
        if is_sign[finite].all():
            return data
        is_binary = (data == 0) | (data == 1)
        if domain == "sign_or_binary" and is_binary[finite].all():
            return np.where(data == 0, -1.0, data)
        if domain == "sign_or_binary" and (is_sign | is_binary)[finite].all():
            fail(data == 0, "a mix of -1 and 0 labels")
        fail(~is_sign if domain == "sign" else ~(is_sign | is_binary))
    raise AssertionError(f"domain {domain} has no check")  # registry refuses unknown domains


def _num_classes(loss: Loss, shaped: dict[str, np.ndarray]) -> int | None:
    """C for class-index checks: the column count of the first (N, C) input."""
    for role in loss.inputs:
        data = shaped.get(role.name)
        if data is not None and data.ndim == 2 and role.domain not in ("class_index", "target", "sign_or_class"):
            return data.shape[1]
    return None


def validate_inputs(loss: Loss, bound: dict[str, Array], nan_policy: str = "raise",
                    params: dict | None = None, finite: set | None = None) -> Validated:
    """Shapes, non-finite values and domains of every role; returns arrays ready for the loss.
    ``finite``: ids of input blocks already known to be all finite (several losses on the same
    block check each input once); this call adds the ones it finds."""
    params = loss.resolve_params(params or {})
    shaped = _check_shapes(loss, bound)
    n = next(iter(shaped.values())).shape[0]
    bad_rows = np.zeros(n, dtype=bool)
    for name, data in shaped.items():
        if finite is not None and id(bound[name]) in finite:
            continue
        ok = np.isfinite(data)
        if ok.all():
            if finite is not None:
                finite.add(id(bound[name]))
            continue
        nonfinite = ~ok
        if nan_policy == "raise":
            r, c = _first(nonfinite.reshape(n, -1))
            v = data.reshape(n, -1)[r, c]
            kind = "NaN (an empty or missing value)" if np.isnan(v) else f"{v} (an infinite value)"
            raise InputError(f"{bound[name].where(r, c if data.ndim > 1 else None)}: found {kind}, "
                             f"expected a finite number (--nan-policy omit drops such rows)")
        bad_rows |= nonfinite.reshape(n, -1).any(axis=1)
    kept = None
    omitted = 0
    if nan_policy == "omit" and bad_rows.any():
        kept = np.flatnonzero(~bad_rows)
        omitted = n - kept.size
        if kept.size == 0:
            raise InputError(f"every one of the {n} rows has a NaN or infinite value; "
                             "nothing is left to evaluate after --nan-policy omit")
        shaped = {k: v[kept] for k, v in shaped.items()}
    num_classes = _num_classes(loss, shaped)
    arrays = {}
    warnings: list[str] = []
    for role in loss.inputs:
        if role.name in shaped:
            arrays[role.name] = _check_domain(loss, role.name, role.domain, bound[role.name],
                                              shaped[role.name], num_classes, kept, warnings)
    if loss.validate is not None:
        arrays = loss.validate(arrays, params) or arrays
    return Validated(arrays, kept, omitted, n, warnings)


def validate_weights(arr: Array, n: int, kept: np.ndarray | None) -> np.ndarray:
    """Sample weights for n file rows: shape (n,), finite, >= 0, not all zero (of the kept rows)."""
    w = arr.data
    if w.ndim == 2 and w.shape[1] == 1:
        w = w[:, 0]
    if w.ndim != 1:
        raise InputError(f"{arr.label} (weights): expected one weight per sample, shape ({n},), got {w.shape}")
    if w.shape[0] != n:
        raise InputError(f"{arr.label} (weights): has {w.shape[0]} rows but the inputs have {n}")
    bad = ~np.isfinite(w)
    if bad.any():
        r = int(np.flatnonzero(bad)[0])
        raise InputError(f"{arr.where(r)}: found {w[r]} (weights must be finite and >= 0)")
    neg = w < 0
    if neg.any():
        r = int(np.flatnonzero(neg)[0])
        raise InputError(f"{arr.where(r)}: found {w[r]:g} (weights must be finite and >= 0)")
    return w if kept is None else w[kept]  # all-zero weights are judged once all blocks are in
