"""One block of rows: the step every engine runs (this process, a Dask worker, the Python API).

Bind the inputs to the loss's roles, validate them, evaluate the per-sample losses (and, when
asked, the gradient), and refuse a non-finite result of finite inputs with an error naming the
row. Also: how many rows a block holds, and the warnings gathered over blocks.
"""

from __future__ import annotations

import math

import sys
from typing import TYPE_CHECKING

import numpy as np

from .. import domains
from ..errors import InputError
from ..io.cache import BLOCK_BYTES, MIN_BLOCK_ROWS
from ..io.spec import split_spec
from ..stats.accumulator import Accumulator, Evaluation
from ..validation import Validated, bind, nothing_left, validate_inputs
from ..vocabulary import ROW_SUM_TOL

if TYPE_CHECKING:
    from ..io.cache import InputCache
    from ..loss import Loss


def require_finite(loss: Loss, values: np.ndarray, what: str, rows: np.ndarray | range,
                   computed_in: np.dtype | None = None, read_narrow: bool = False) -> None:
    """``computed_in``: the precision the loss returned its values in (float32 under --dtype float32:
    1e40 overflows it, not float64); ``read_narrow``: the inputs were read in a narrower float (--dtype)."""
    bad = ~np.isfinite(values)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        narrow = computed_in is not None and computed_in.kind == "f" and computed_in.itemsize < 8
        if narrow:  # (inputs of --dtype float32, or a plugin's float32 code on float64 inputs)
            kind = ("is infinite in " if np.isinf(values[i]) else "is undefined (NaN) in ") + f"{computed_in}"
            if read_narrow:
                kind, why = kind + " (--dtype float32 computes per-sample losses in it)", "--dtype float64 computes it"
            else:
                kind, why = kind + ", the precision the loss's code returned", "compute it in float64"
        elif not np.isinf(values[i]):
            kind, why = "is undefined (NaN)", "the values are too extreme for this loss"
        elif loss.source == "built-in":  # (their code takes logs and quotients only inside their domains)
            kind, why = "overflows float64", "the values are too extreme for this loss"
        else:  # (a user's -log(p) at p = 0 is no overflow)
            kind, why = "is infinite", "an overflow beyond float64, or a log or a division at 0 in the loss's code"
        raise InputError(f"{loss.name}: the {what} {kind} at row {int(rows[i])} ({int(bad.sum())} of "
                         f"{values.size} rows) although the inputs are finite: {why}")


def require_numbers(loss: Loss, values) -> None:
    """A loss function given real inputs returns real numbers: text, objects, None or complex
    values are refused, naming what came back (a user's loss code, not losscli, made them)."""
    array = np.asarray(values)
    if array.dtype.kind not in "biuf":
        what = "None" if values is None or (array.dtype == object and array.ndim == 0 and array.item() is None) \
            else f"values of dtype {array.dtype}"
        raise InputError(f"{loss.name}: the loss function returned {what}, expected one real number per sample")


def require_per_sample(loss: Loss, per_sample: np.ndarray, n: int) -> None:
    """A loss function returns one value per sample: anything else is refused, naming the shape."""
    if np.shape(per_sample) != (n,):
        raise InputError(f"{loss.name}: the loss function returned shape {np.shape(per_sample)}, "
                         f"expected one value per sample ({n},)")


def block_losses(loss: Loss, arrays: dict, params: dict, rows: np.ndarray | range, strict: bool = True,
                 with_gradient: bool = False):
    """Per-sample losses of one block, the loss's mean normaliser for it (or None), and, with
    ``with_gradient``, the gradient of their sum from the same call where the loss computes the
    two together (:meth:`Loss.value_and_gradient`; None otherwise: see :func:`block_gradient`).

    ``strict``: the inputs are finite here, so a non-finite loss means the values are beyond
    float64 for this loss (exp(1e4) in the exponential loss): an InputError naming the row,
    never a silent inf/NaN. ``--nan-policy propagate`` turns it off."""
    args = [arrays[r.name] for r in loss.inputs if r.name in arrays]
    grads = None
    with np.errstate(all="ignore"):  # judged by the results, row by row
        if with_gradient and loss.value_and_grad_fn is not None and loss.has_gradient:
            values, grads = loss.value_and_grad_fn(*args, **params)
        else:
            values = loss.fn(*args, **params)
        require_numbers(loss, values)
        computed_in = np.asarray(values).dtype
        per_sample = np.asarray(values, dtype=np.float64)
        # a signed zero (-cos of zero vectors, a perfect ctc alignment) reads 0, not -0.0
        if per_sample.flags.writeable:
            np.add(per_sample, 0.0, out=per_sample)  # (in place: a new array per block cost 6% of a 10M-row run)
        else:
            per_sample = per_sample + 0.0
    require_per_sample(loss, per_sample, args[0].shape[0])
    if strict:
        require_finite(loss, per_sample, "loss", rows, computed_in,
                       any(getattr(a, "dtype", None) == np.float32 for a in args))
    normaliser = loss.mean_normaliser(arrays, params) if loss.mean_normaliser is not None else None
    return per_sample, normaliser, grads


def block_gradient(loss: Loss, arrays: dict, params: dict, cotangent: np.ndarray | None,
                   rows: np.ndarray | range, strict: bool = True, computed: dict | None = None) -> dict:
    """Gradient of Σ c_i l_i over one block (c = cotangent, default ones); ``computed``: the
    gradient of Σ l_i that :func:`block_losses` already has."""
    with np.errstate(all="ignore"):  # (w.r.t. the rows as given, not as renormalised)
        if computed is None:
            raw = loss.gradient_of(arrays, params, cotangent)
        else:
            raw = computed if cotangent is None else loss.times_cotangent(computed, cotangent)
        grads = domains.as_given(raw, arrays)
    out = {}
    for role, g in grads.items():
        g = np.asarray(g, dtype=np.float64)
        if role not in arrays or g.shape != arrays[role].shape:
            raise InputError(f"{loss.name}: the gradient for {role!r} has shape {g.shape}, "
                             f"expected the input's shape {arrays.get(role, np.empty(0)).shape}")
        if strict:  # (a row's finiteness, not its sum: +inf and -inf in one row would make a NaN and a warning)
            finite_rows = np.isfinite(g).reshape(g.shape[0], int(np.prod(g.shape[1:]))).all(axis=1)  # (0 rows too)
            require_finite(loss, np.where(finite_rows, 0.0, np.inf), f"gradient w.r.t. {role}", rows)
        out[role] = g
    return out


def evaluate_block(loss: Loss, arrays: list, start: int, params: dict, nan_policy: str, finite: set,
                   prob_tol: float = ROW_SUM_TOL, with_gradient: bool = False):
    """One loss on one block of inputs (in role order): bind, validate, evaluate. Returns (bound
    inputs, validated ones, file rows, per-sample losses, the loss's mean normaliser, the gradient
    of the losses' sum when ``with_gradient`` and the loss computes it with them, else None).
    ``finite``: input blocks already checked, shared by the losses of one block. Every engine
    (this process, a Dask worker, the Python API) evaluates through here."""
    bound = bind(loss, arrays)
    checked = validate_inputs(loss, bound, nan_policy, params, finite, prob_tol, block=True)
    # read-only to the loss's code: a loss that wrote into its inputs (a plugin's predictions *= 2)
    # changed what every loss after it read (review 101 #3)
    checked.arrays = {role: domains.read_only(a) for role, a in checked.arrays.items()}
    rows = range(start, start + checked.n_rows) if checked.kept is None else start + checked.kept
    if checked.kept is not None and checked.kept.size == 0:  # every row dropped: nothing to evaluate here
        return bound, checked, rows, np.empty(0), None, None
    values, normaliser, grads = block_losses(loss, checked.arrays, params, rows, nan_policy != "propagate",
                                             with_gradient)
    return bound, checked, rows, values, normaliser, grads


def finish(acc: Accumulator, omitted: int, weights: str | None) -> Evaluation:
    """An accumulator's results, once every block is in; all-zero weights are refused here (a
    block of zeros is fine, a weighted mean over zeros only is undefined)."""
    if acc.count == 0 and omitted:
        raise nothing_left(omitted)
    if acc.reduction.reduction == "mean" and acc.reduction.num and acc.denominator == 0:  # (rows evaluated, none counts)
        if weights:
            raise InputError(f"{weights} (weights): all weights are zero; the weighted mean is undefined")
        raise InputError(f"{acc.loss.name if acc.loss else 'the loss'}: the mean's denominator is 0 (every sample's "
                         "share of it, such as the class weight of its class, is 0); the mean is undefined: "
                         "give non-zero weights, or use --reduction sum")
    value = acc.reduction.value()
    if value is not None and math.isinf(value) and math.isfinite(acc.moments.lo) and math.isfinite(acc.moments.hi):
        raise InputError(f"{acc.loss.name if acc.loss else 'the loss'}: the {acc.reduction.reduction} of the "
                         "per-sample losses overflows float64 (beyond 1.8e308) although each of them is finite; "
                         "use --reduction mean, or none for the per-sample values")
    return acc.finish(omitted)


def block_rows(losses: list[Loss], cache: InputCache, specs) -> int | None:
    """Rows per block: None (everything at once) when a loss couples the whole batch; else as
    many rows as keep one block of all inputs near io.cache.BLOCK_BYTES."""
    if any(l.coupling == "batch" for l in losses):
        return None
    width = sum(cache.reader(split_spec(s)[0]).row_width() for s in dict.fromkeys(specs))
    itemsize = np.dtype(cache.dtype).itemsize
    return int(min(max(BLOCK_BYTES // max(1, width * itemsize), MIN_BLOCK_ROWS), 1_000_000))


class Warnings:
    """Warnings that are not errors: gathered over all blocks and losses, printed once each."""

    def __init__(self) -> None:
        self.renormalised: dict[str, dict] = {}  # label -> {block start: (rows, deviation)}
        self.omitted: dict[str, list] = {}
        self.notes: dict[str, None] = {}  # other warnings, once each, in the order first seen

    def add(self, loss: Loss, checked: Validated, start: int = 0) -> None:
        for label, count, dev, tol in checked.warnings or ():
            self.renormalised.setdefault(label, {})[start] = (count, dev, tol)  # once per block, any loss
        o = self.omitted.setdefault(loss.name, [0, 0])
        o[0] += checked.omitted
        o[1] += checked.n_rows
        self.notes.update(dict.fromkeys(checked.notes))

    def merge(self, other: "Warnings", tag) -> None:
        """Fold in another reader's warnings (a Dask partition's); ``tag`` tells its blocks apart
        from this one's."""
        for label, blocks in other.renormalised.items():
            mine = self.renormalised.setdefault(label, {})
            for start, found in blocks.items():
                mine[(tag, start)] = found
        for name, (dropped, total) in other.omitted.items():
            o = self.omitted.setdefault(name, [0, 0])
            o[0] += dropped
            o[1] += total
        self.notes.update(other.notes)

    def messages(self) -> list[str]:
        out = []
        for label, blocks in self.renormalised.items():
            count = sum(c for c, _, _ in blocks.values())
            dev = max(d for _, d, _ in blocks.values())
            tol = next(iter(blocks.values()))[2]
            out.append(f"{label}: renormalised {count} probability rows whose sums differed from 1 by up "
                       f"to {dev:.2g} (within the tolerance {tol:g})")
        for dropped, total in dict.fromkeys(tuple(v) for v in self.omitted.values()):
            if dropped:
                out.append(f"--nan-policy omit dropped {dropped} of {total} rows with NaN or infinite values")
        return out + list(self.notes)

    def print(self, *others: "Warnings", prefix: str = "", words=lambda m: m) -> None:
        """Each message once (of this run's and ``others``', evaluations of the same rows: compare's
        two models), after ``prefix`` and in ``words`` (check's gate, its keys for the options)."""
        for message in dict.fromkeys(m for w in (self, *others) for m in w.messages()):
            print(f"losscli: warning: {prefix}{words(message)}", file=sys.stderr, flush=True)


