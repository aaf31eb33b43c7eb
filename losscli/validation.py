"""One validation layer, driven by each loss's declared input roles, shapes and domains.

Every check here produces a single-line :class:`InputError` that names the file, the row/column
(or line/column of a CSV), what was found and what was expected. Losses never validate their
own inputs; they can add a ``validate`` hook for constraints no domain expresses (GE2E groups).
"""

from __future__ import annotations

import inspect

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Protocol, Sequence

import numpy as np

from . import domains
from .errors import InputError, LossCliError, value_text
from .shapes import check_shapes, multiple_rows
from .vocabulary import ROW_SUM_TOL

if TYPE_CHECKING:
    from .arrays import Array


class Role(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def shape(self) -> str: ...

    @property
    def domain(self) -> str: ...

    @property
    def optional(self) -> bool: ...


class Loss(Protocol):
    """What the validator reads of a loss's declaration (``registry.Loss`` has it): the validator
    depends on the declarations, not on the registry that holds them."""

    @property
    def name(self) -> str: ...

    @property
    def inputs(self) -> Sequence[Role]: ...

    @property
    def validate(self) -> Callable | None: ...

    @property
    def required_inputs(self) -> Sequence[Role]: ...

    def describe_inputs(self) -> str: ...

    def resolve_params(self, given: dict) -> dict[str, Any]: ...


@dataclass
class Validated:
    arrays: dict[str, np.ndarray]  # role -> float64 (or intp class indices)
    kept: np.ndarray | None  # original row numbers kept after --nan-policy omit (None: all)
    omitted: int
    n_rows: int  # rows in the files, before any were omitted
    warnings: list = field(default_factory=list)  # (label, rows renormalised, largest deviation) for stderr
    notes: list = field(default_factory=list)  # other warnings for stderr, once each (probabilities given as logits)

    def rows_given(self, values) -> np.ndarray:
        """Per-row results of the kept rows (losses, a gradient) for every row given: the rows
        --nan-policy omit dropped hold NaN (a role of several rows a sample is left as it is)."""
        values = np.asarray(values, dtype=np.float64)
        if self.kept is None or values.shape[:1] != self.kept.shape:
            return values
        full = np.full((self.n_rows,) + values.shape[1:], np.nan)
        full[self.kept] = values
        return full


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


def _num_classes(loss: Loss, shaped: dict[str, np.ndarray]) -> int | None:
    """C for class-index checks: the column count of the first (N, C) input."""
    for role in loss.inputs:
        data = shaped.get(role.name)
        if data is not None and data.ndim == 2 and role.domain not in ("class_index", "target", "sign_or_class"):
            return data.shape[1]
    return None


def validate_inputs(loss: Loss, bound: dict[str, Array], nan_policy: str = "raise",
                    params: dict | None = None, finite: set | None = None,
                    prob_tol: float = ROW_SUM_TOL, block: bool = False) -> Validated:
    """Shapes, non-finite values and domains of every role; returns arrays ready for the loss.
    ``finite``: ids of input blocks already known to be all finite (several losses on the same
    block check each input once); this call adds the ones it finds. ``prob_tol``: how far a
    probability row's sum may be from 1. ``block``: the inputs are one block of a run, so a block
    whose every row --nan-policy omit drops is no error (it has no rows to validate; the run is
    refused at its end if no block had any: ``engine.block.finish``)."""
    params = loss.resolve_params(params or {})
    shaped = check_shapes(loss.name, loss.inputs, bound)
    # roles of several rows per sample (shape kN: mnrl's hard negatives) are not cut into samples
    several = [r.name for r in loss.inputs if r.name in shaped and multiple_rows(r.shape)]
    n = next(v for k, v in shaped.items() if k not in several).shape[0]
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
        rows_ = data.shape[0]
        if nan_policy == "raise" or (nan_policy == "omit" and several):
            r, c = _first(nonfinite.reshape(rows_, -1))
            v = data.reshape(rows_, -1)[r, c]
            kind = "NaN (an empty or missing value)" if np.isnan(v) else f"{v} (an infinite value)"
            hint = "--nan-policy omit drops such rows" if not several else \
                f"--nan-policy omit cannot drop rows of {loss.name} while {several[0]} holds several rows per sample"
            raise InputError(f"{bound[name].where(r, c if data.ndim > 1 else None)}: found {kind}, "
                             f"expected a finite number ({hint})")
        bad_rows |= nonfinite.reshape(n, -1).any(axis=1)
    kept = None
    omitted = 0
    if nan_policy == "omit" and bad_rows.any():
        kept = np.flatnonzero(~bad_rows)
        omitted = n - kept.size
        if kept.size == 0 and block:
            return Validated({k: v[:0] for k, v in shaped.items()}, kept, omitted, n)
        if kept.size == 0:
            raise nothing_left(n)
        shaped = {k: v[kept] for k, v in shaped.items()}  # (no role of several rows per sample here)
    num_classes = _num_classes(loss, shaped)
    arrays = {}
    warnings: list = []
    for role in loss.inputs:
        if role.name in shaped:
            where = domains.Where(bound[role.name], loss.name, role.name, kept, num_classes, warnings, prob_tol)
            arrays[role.name] = domains.check(role.domain, shaped[role.name], where)
    notes = [_probabilities_as_logits(loss.name, bound[r.name].label, arrays[r.name]) for r in loss.inputs
             if r.name == "logits" and r.name in arrays]
    if loss.validate is not None:
        if "at" in inspect.signature(loss.validate).parameters:
            def at(role: str, row: int, col: int | None = None) -> str:
                """Where row ``row`` (of the arrays the hook sees) of a role is in its file."""
                return bound[role].where(int(kept[row]) if kept is not None else row, col)

            arrays = loss.validate(arrays, params, at=at) or arrays
        else:
            arrays = loss.validate(arrays, params) or arrays
    return Validated(arrays, kept, omitted, n, warnings, [note for note in notes if note])


def _probabilities_as_logits(loss: str, label: str, x: np.ndarray) -> str:
    """A warning when a table of logits holds probability rows only (each in [0, 1], summing to 1):
    the softmax of them is not them (softmax_ce of p = (0.7, 0.2, 0.1) against class 0 is 0.79,
    -log 0.7 is 0.36); their logarithm is logits whose softmax is them."""
    if x.ndim != 2 or x.shape[1] < 2 or not x.size or not x.min() >= 0:  # (logits: one pass, and done)
        return ""
    with np.errstate(invalid="ignore"):
        rows = np.all((x >= 0) & (x <= 1), axis=1) & (np.abs(x.sum(axis=1) - 1) <= 1e-6)
    if not rows.all():
        return ""
    return (f"{label}: every row is a probability distribution (in [0, 1], summing to 1), where {loss} takes logits: "
            "give np.log(p) (log-probabilities are logits whose softmax is p), or a loss that takes probabilities "
            "(ce)")


def nothing_left(rows: int) -> InputError:
    return InputError(f"every one of the {rows} rows has a NaN or infinite value; nothing is left to evaluate "
                      "after --nan-policy omit")


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
        how = ("; to leave the row out, give it weight 0 (--nan-policy omit drops rows whose inputs are NaN, not "
               "whose weight is)" if np.isnan(w[r]) else "")
        raise InputError(f"{arr.where(r)}: found {w[r]} (weights must be finite and >= 0){how}")
    neg = w < 0
    if neg.any():
        r = int(np.flatnonzero(neg)[0])
        raise InputError(f"{arr.where(r)}: found {value_text(w[r])} (weights must be finite and >= 0)")
    return w if kept is None else w[kept]  # all-zero weights are judged once all blocks are in
