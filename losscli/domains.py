"""Input domains: what values an input role accepts, declared once per domain.

Each :class:`Domain` carries its text (shown by ``losscli info`` and in error messages), its check
(the validator calls it on every block: refuse, or return the values the loss receives, e.g. 0/1
labels read as ±1) and its sampler (random valid values for ``gradcheck`` and the registry-driven
tests; typical values, and values near its bounds for boundary sampling: see
:mod:`losscli.domain_samplers`). Add a domain here, once, as a row of ``_DOMAINS``; a loss names it
in ``Input(..., domain="name")``.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Callable

import numpy as np

from . import domain_samplers as S
from .domain_hints import logits_hint, two_labels_hint, whole_column_hint
from .errors import InputError, value_text

if TYPE_CHECKING:
    from .arrays import Array

from .vocabulary import ROW_SUM_TOL

#: Rows within ROW_SUM_TOL (``--prob-tol``) of 1 but further than this are divided by their sum,
#: with one warning.
RENORMALISE_ABOVE = 1e-12


class _ByIdentity:
    """Facts about arrays this module returned, keyed by the array object itself (held weakly:
    an entry goes when its array goes). Nothing is copied between the validation of a block and
    the loss's validate hook or gradient, so the object is the key."""

    def __init__(self) -> None:
        self._entries: dict[int, tuple] = {}

    def put(self, array: np.ndarray, fact) -> None:
        key = id(array)

        def forget(_ref: weakref.ref) -> None:
            self._entries.pop(key, None)

        self._entries[key] = (weakref.ref(array, forget), fact)

    def get(self, array):
        entry = self._entries.get(id(array))
        return entry[1] if entry is not None and entry[0]() is array else None


#: original row sums (1.0 where a row was left alone) of each array ``prob_rows`` renormalised
_RENORMALISED = _ByIdentity()


def read_only(array):
    """A read-only view of a validated array, the loss's code reads it (a loss that wrote into its
    inputs changed what every later loss read: review 101 #3), carrying what this module knows of
    the array (its rows' sums before renormalisation, its pending domain), which is keyed by the
    object itself."""
    if not isinstance(array, np.ndarray) or not array.flags.writeable:
        return array
    view = array.view()
    view.flags.writeable = False
    for facts in (_RENORMALISED, _PENDING):
        fact = facts.get(array)
        if fact is not None:
            facts.put(view, fact)
    return view


def renormalised_sums(array: np.ndarray) -> np.ndarray | None:
    """The row sums (N,) a ``prob_rows`` input had before validation divided the rows that drifted
    from 1 by them (1.0 for rows left alone); None if no row of ``array`` was renormalised."""
    return _RENORMALISED.get(array)


def through_renormalisation(grad: np.ndarray, rows: np.ndarray, sums: np.ndarray) -> np.ndarray:
    """The gradient w.r.t. the input p given, from the gradient g w.r.t. q = p / Σp (the rows the
    loss saw): J^T g = (g - (g·q)) / Σp on renormalised rows (Σp != 1), g on the others. Along
    the simplex the two agree; they differ by a multiple of the all-ones direction."""
    moved = sums != 1.0
    if not moved.any():
        return grad
    chained = (grad - np.sum(grad * rows, axis=1, keepdims=True)) / sums[:, None]
    return np.where(moved[:, None], chained, grad)


def as_given(grads: dict, arrays: dict) -> dict:
    """Gradients w.r.t. the validated arrays turned into gradients w.r.t. the inputs as the user
    gave them: through the renormalisation of the rows validation divided by their sums."""
    out = dict(grads)
    for role, g in grads.items():
        sums = renormalised_sums(arrays[role]) if role in arrays else None
        if sums is not None:
            out[role] = through_renormalisation(g, arrays[role], sums)
    return out


#: the validation context of each input whose domain depends on a parameter (ignore_index,
#: log_target, from_logits): the domain check passes the values on and the loss's validate hook,
#: which knows the parameter, judges them with :func:`judge` and the file positions kept here
_PENDING = _ByIdentity()


def _deferred(data, where, domain):
    view = data.view()
    _PENDING.put(view, where)
    return view


def judge(name: str, data: np.ndarray, values: np.ndarray | None = None, *, loss: str = "",
          role: str = "") -> np.ndarray:
    """Check ``values`` (default: ``data``) against domain ``name``, with the file, rows and class
    count recorded when ``data`` went through a parameter-dependent domain: for a loss's validate
    hook. Errors read as the domain's own ("y.csv, line 4, column 'y': found -2 (...)"); for an
    array that did not come through validation, they name the role and row."""
    where = _PENDING.get(data)
    if where is None:
        from .arrays import Array

        where = Where(Array(data, role or "input"), loss, role)
    return check(name, data if values is None else values, where)


@dataclass
class Where:
    """What a domain check needs to report a bad value: the input, the loss and role, the rows
    kept by ``--nan-policy omit``, the class count, and a list to add warnings to."""

    array: Array  # .label and .where(row, col)
    loss: str
    role: str
    kept: np.ndarray | None = None
    num_classes: int | None = None
    warnings: list | None = None
    prob_tol: float = ROW_SUM_TOL  # --prob-tol

    def at(self, r: int, c: int | None = None) -> str:
        """File position of row r (of the kept rows), column c."""
        return self.array.where(int(self.kept[r]) if self.kept is not None else r, c)

    def fail(self, data: np.ndarray, mask: np.ndarray, domain: "Domain", found: str | None = None):
        # (a finite value first; else ±inf, which --nan-policy propagate lets through to here: 1e999 of
        # a text file, inf among probabilities; else whatever the mask holds)
        flat = mask.reshape(data.shape[0], -1)
        for kept in (np.isfinite(data), ~np.isnan(data)):
            if (flat & kept.reshape(flat.shape)).any():
                flat = flat & kept.reshape(flat.shape)
                break
        r, c = (int(i) for i in np.argwhere(flat)[0])
        value = data.reshape(data.shape[0], -1)[r, c]
        probabilities = domain.name in ("probability", "prob_rows", "prob_rows_as_given")
        hint = logits_hint(data, self.loss, self.role) if probabilities else ""
        if domain.name in ("probability", "binary") and self.role in ("labels", "label", "targets", "target"):
            hint = two_labels_hint(data) or hint
        raise InputError(f"{self.at(r, c if data.ndim > 1 else None)}: found "
                         f"{found or value_text(value)} ({self.loss} {self.role} expects {domain.text}){hint}")


#: a sampler: (shape, rng, classes) -> random values (see domain_samplers)
#: (the Generator named as a string: evaluated, it would import numpy.random, which compute does not use)
Sampler = Callable[[tuple, "np.random.Generator", int], np.ndarray]


@dataclass(frozen=True)
class Domain:
    name: str
    text: str
    check: Callable[[np.ndarray, Where, "Domain"], np.ndarray]
    sample: Sampler
    #: values near the domain's bounds (where clamps and cancellation live), drawn for a share of
    #: the rows of boundary sampling; None: nothing to draw there
    edge: Sampler | None = None


def _range(lo: float, hi: float, lo_open: bool = False):
    def check(data, where, domain):
        bad = (data <= lo if lo_open else data < lo) | (data > hi)
        if bad.any():
            where.fail(data, bad, domain)
        return data

    return check


def _row_sums_within_tolerance(data, where, domain):
    bad = (data < 0) | (data > 1)
    if bad.any():
        where.fail(data, bad, domain)
    sums = data.sum(axis=1)
    # (a few ulps of slack: three values rounded to 3 decimals that sum to 0.999 are within 1e-3)
    off = (np.abs(sums - 1.0) > where.prob_tol + 1e-12) & np.isfinite(sums)
    if off.any():
        r = int(np.flatnonzero(off)[0])
        hint = (whole_column_hint(data, r, where.array.columns, where.array.label, where.prob_tol)
                or logits_hint(data, where.loss, where.role))
        raise InputError(f"{where.at(r)}: row sums to {sums[r]:.6g} ({where.loss} {where.role} "
                         f"expects {domain.text}; tolerance {where.prob_tol:g}, --prob-tol sets it){hint}")
    return sums


def _prob_rows(data, where, domain):
    sums = _row_sums_within_tolerance(data, where, domain)
    drift = np.abs(sums - 1.0) > RENORMALISE_ABOVE
    if drift.any():
        if where.warnings is not None:
            where.warnings.append((where.array.label, int(drift.sum()), float(np.max(np.abs(sums - 1.0))),
                                   where.prob_tol))
        data = np.where(drift[:, None], data / np.where(drift, sums, 1.0)[:, None], data)
        _RENORMALISED.put(data, np.where(drift, sums, 1.0))
    return data


def _log_prob_rows(data, where, domain):
    """Rows of log-probabilities: values <= 0 whose exponentials sum to 1 within --prob-tol; rows
    that drift are shifted by log Σ exp (the log of renormalising), with the same warning."""
    bad = data > 0
    if bad.any():
        where.fail(data, bad, domain)
    sums = np.exp(data).sum(axis=1)
    off = (np.abs(sums - 1.0) > where.prob_tol + 1e-12) & np.isfinite(sums)
    if off.any():
        r = int(np.flatnonzero(off)[0])
        raise InputError(f"{where.at(r)}: row's exponentials sum to {sums[r]:.6g} ({where.loss} {where.role} "
                         f"expects {domain.text}; tolerance {where.prob_tol:g}, --prob-tol sets it)")
    drift = np.abs(sums - 1.0) > RENORMALISE_ABOVE
    if drift.any():
        if where.warnings is not None:
            where.warnings.append((where.array.label, int(drift.sum()), float(np.max(np.abs(sums - 1.0))),
                                   where.prob_tol))
        data = np.where(drift[:, None], data - np.log(np.where(drift, sums, 1.0))[:, None], data)
    return data


def _prob_rows_as_given(data, where, domain):
    """Probability rows checked as ``prob_rows`` (range, sums within --prob-tol) but passed on as
    given, never divided by their sums: scikit-learn's log_loss and brier_score_loss (1.9.1) use
    the rows as given, and the gradient is then simply that of the input."""
    if data.shape[1] == 1:
        raise InputError(f"{where.array.label} ({where.loss} {where.role}): one column of probabilities; give "
                         "the probabilities of the positive class as (N,) (a 1-D array or one selected column), "
                         "or rows of C >= 2 class probabilities")
    _row_sums_within_tolerance(data, where, domain)
    return data


def _one_hot(data, where, domain):
    bad = (data != 0) & (data != 1)
    if bad.any():
        where.fail(data, bad, domain)
    ones = data.sum(axis=1)
    off = ones != 1
    if off.any():
        r = int(np.flatnonzero(off)[0])
        raise InputError(f"{where.at(r)}: found a row with {int(ones[r])} ones ({where.loss} {where.role} "
                         f"expects {domain.text})")
    return data


def _refuse_missing(data, where, domain, what: str) -> np.ndarray:
    """Labels no loss can pass a NaN through (only --nan-policy propagate lets one get this far):
    an error at the first missing one. Returns the mask of finite values."""
    finite = np.isfinite(data)
    if not finite.all():
        idx = np.argwhere(~finite)[0]
        r, c = int(idx[0]), (int(idx[1]) if len(idx) > 1 else None)
        raise InputError(f"{where.at(r, c)}: found {data.reshape(data.shape[0], -1)[r, c or 0]}, a missing {what} "
                         f"({where.loss} {where.role} expects {domain.text}; --nan-policy propagate cannot "
                         "pass it on: --nan-policy omit drops such rows)")
    return finite


def _integer(data, where, domain):
    _refuse_missing(data, where, domain, "id")
    bad = data != np.round(data)
    if bad.any():
        where.fail(data, bad, domain)
    return data


def _class_index(data, where, domain):
    finite = _refuse_missing(data, where, domain, "class label")
    bad = (data != np.round(data)) | (data < 0)
    if where.num_classes is not None:
        bad |= data >= where.num_classes
    if bad.any():
        rng = f"0..{where.num_classes - 1}" if where.num_classes is not None else "0, 1, 2, ..."
        idx = np.argwhere(bad & finite)[0]
        r, c = int(idx[0]), (int(idx[1]) if len(idx) > 1 else None)
        k = where.num_classes
        labels = data[finite]
        # (1-based labels, 1..K: what the predictions' places p1, p2, p3 or R's factors count)
        based = k is not None and labels.size and (labels == np.round(labels)).all() and labels.min() >= 1 and \
            labels.max() == k
        hint = f"; if the labels count from 1 (1 to {k}), --classes {','.join(map(str, range(1, k + 1)))} " \
            "reads label v as the v-th class" if based else ""
        raise InputError(f"{where.at(r, c)}: found {value_text(data[r])} "
                         f"({where.loss} {where.role} expects an integer class index in {rng}){hint}")
    return np.where(finite, data, 0).astype(np.intp) if finite.all() else data


def _binary(data, where, domain):
    _refuse_missing(data, where, domain, "label")
    bad = (data != 0) & (data != 1)
    if bad.any():
        where.fail(data, bad, domain)
    return data


def _signs(accept_binary: bool):
    def check(data, where, domain):
        finite = np.isfinite(data)
        is_sign = (data == -1) | (data == 1)
        if is_sign[finite].all():
            return data
        is_binary = (data == 0) | (data == 1)
        if accept_binary and is_binary[finite].all():
            return np.where(data == 0, -1.0, data)
        if accept_binary and (is_sign | is_binary)[finite].all():
            where.fail(data, data == 0, domain, "a mix of -1 and 0 labels")
        where.fail(data, ~is_sign if not accept_binary else ~(is_sign | is_binary), domain)

    return check


_DOMAINS = (
    Domain("real", "finite real numbers", lambda d, w, dom: d, S.standard_normal, S.extreme_reals),
    Domain("probability", "probabilities in [0, 1]", _range(0.0, 1.0), S.uniform(0.05, 0.95), S.near_zero_or_one),
    Domain("prob_rows", "rows of probabilities in [0, 1] that sum to 1", _prob_rows, S.softmax_rows, S.peaked_rows),
    Domain("binary", "labels in {0, 1}", _binary, S.binary),
    Domain("sign", "labels in {-1, +1}", _signs(False), S.one_of([-1.0, 1.0])),
    Domain("sign_or_binary", "labels in {-1, +1} (or {0, 1}, read as 0 -> -1)", _signs(True),
           S.one_of([-1.0, 1.0])),
    Domain("class_index", "integer class indices in [0, C)", _class_index, S.indices),
    Domain("integer", "integer ids", _integer, S.integer_ids),
    Domain("unit_interval_signed", "values in [-1, 1]", _range(-1.0, 1.0), S.uniform(-0.9, 0.9),
           S.near_plus_minus_one),
    Domain("nonnegative", "values >= 0", _range(0.0, np.inf), S.uniform(0.1, 2.0), S.near_zero),
    Domain("positive", "values > 0", _range(0.0, np.inf, lo_open=True), S.uniform(0.1, 2.0), S.near_zero),
    Domain("log_probability", "log-probabilities (values <= 0)", _range(-np.inf, 0.0), S.log_softmax_last,
           S.peaked_log_rows),
    Domain("log_prob_rows", "rows of log-probabilities (values <= 0) whose exponentials sum to 1", _log_prob_rows,
           S.log_softmax_last, S.peaked_log_rows),
    Domain("prob_rows_as_given", "rows of probabilities in [0, 1] that sum to 1 (used as given, not renormalised)",
           _prob_rows_as_given, S.softmax_rows, S.peaked_rows),
    Domain("one_hot", "one-hot rows (one 1 per row, the rest 0)", _one_hot, S.one_hot_rows),
    # domains that depend on a parameter: checked by the loss's validate hook (see judge)
    Domain("class_index_or_ignored", "integer class indices in [0, C); a label equal to ignore_index is skipped",
           _deferred, S.indices),
    Domain("prob_or_log_rows", "rows of probabilities in [0, 1] that sum to 1 (log_target=false), or "
           "log-probabilities <= 0 (log_target=true)", _deferred, S.softmax_rows),
    Domain("probability_or_logit", "probabilities in [0, 1] (from_logits=false), or logits (from_logits=true)",
           _deferred, S.uniform(0.05, 0.95), S.near_zero_or_one),
    Domain("rate_or_log_rate", "log-rates (log_input=true), or rates >= 0 (log_input=false)", _deferred,
           S.standard_normal, S.extreme_reals),
)
#: Domains a parameter chooses between: name -> (the parameter, {its value: the domain}); the loss's
#: validate hook checks them (see judge), random inputs and gradcheck's steps keep to them (chosen)
BY_PARAM = {
    "prob_or_log_rows": ("log_target", {False: "prob_rows", True: "log_prob_rows"}),
    "probability_or_logit": ("from_logits", {False: "probability", True: "real"}),
    "rate_or_log_rate": ("log_input", {True: "real", False: "nonnegative"}),
}
#: Domains that stand for one of the above, chosen by the data: name -> (text, choose(ndim, has (N, C) input))
_CHOICES = {
    "target": ("class indices (N,) or probability rows (N, C) (one-hot or soft)",
               lambda ndim, with_classes: "prob_rows" if ndim == 2 else "class_index"),
    "sign_or_class": ("labels in {-1, +1} (or {0, 1}) for (N,) scores; class indices for (N, C) scores",
                      lambda ndim, with_classes: "class_index" if with_classes else "sign_or_binary"),
    "target_or_ignored": ("class indices (N,) (a label equal to ignore_index is skipped) or probability rows "
                          "(N, C) (one-hot or soft)",
                          lambda ndim, with_classes: "prob_rows" if ndim == 2 else "class_index_or_ignored"),
    "probability_or_rows": ("probabilities of the positive class (N,), or rows of class probabilities (N, C) "
                            "that sum to 1 (used as given, not renormalised)",
                            lambda ndim, with_classes: "prob_rows_as_given" if ndim == 2 else "probability"),
    "binary_or_class": ("labels in {0, 1} for (N,) probabilities; class indices (N,) or one-hot rows (N, C) "
                        "for (N, C) rows",
                        lambda ndim, with_classes: "one_hot" if ndim == 2 else (
                            "class_index" if with_classes else "binary")),
}

DOMAINS: dict[str, Domain] = {d.name: d for d in _DOMAINS}
#: the domains of class labels: what class names (text, or the integers naming the predictions'
#: columns) are read as (``io.table.Classes``; ``shapes.class_label_inputs``)
CLASS_LABELS = frozenset({"class_index", "class_index_or_ignored", "target", "target_or_ignored", "sign_or_class",
                          "binary_or_class"})
#: name -> text, for every name an Input may declare
DOMAIN_TEXT: dict[str, str] = {**{d.name: d.text for d in _DOMAINS}, **{k: v[0] for k, v in _CHOICES.items()}}


def chosen(name: str, params: dict) -> str:
    """The domain a ``BY_PARAM`` one stands for under ``params`` (defaults in them); others as they are."""
    return BY_PARAM[name][1][bool(params[BY_PARAM[name][0]])] if name in BY_PARAM else name


def of_role(loss, role: str, params: dict) -> str:
    """The domain of ``loss``'s input ``role`` under ``params`` (-p; defaults for the rest)."""
    decl = next((r.domain for r in loss.inputs if r.name == role), "real")
    return chosen(decl, loss.resolve_params(params)) if decl in BY_PARAM else decl


def resolve(name: str, ndim: int, with_classes: bool) -> Domain:
    """The concrete domain of a declared one, for data of ``ndim`` dimensions; ``with_classes``:
    another input of the loss is an (N, C) table of class scores."""
    if name in _CHOICES:
        return DOMAINS[_CHOICES[name][1](ndim, with_classes)]
    return DOMAINS[name]


def check(name: str, data: np.ndarray, where: Where) -> np.ndarray:
    """Values of a role checked against its declared domain; returns what the loss receives.
    Errors quote the declared domain's text (``target`` reads "class indices (N,) or ...")."""
    domain = resolve(name, data.ndim, where.num_classes is not None)
    if name in _CHOICES:  # messages name what the loss declared
        domain = replace(domain, text=DOMAIN_TEXT[name])
    return domain.check(data, where, domain)


def sample(name: str, shape: tuple, rng: np.random.Generator, classes: int, with_classes: bool,
           boundary: float = 0.0) -> np.ndarray:
    """Random valid values of a domain. ``boundary``: the share of rows drawn near the domain's
    bounds instead (probabilities within 1e-8..1e-2 of 0 or 1, variances near 0, large logits,
    confident softmax rows): the whole declared domain, where clamps and cancellation live."""
    if name == "sign_or_class" and not with_classes:
        return DOMAINS["sign"].sample(shape, rng, classes)  # ±1 only: 0/1 would be read as ±1 anyway
    domain = resolve(name, len(shape), with_classes)
    values = domain.sample(shape, rng, classes)
    edge = domain.edge
    if boundary > 0 and edge is not None and len(shape) and shape[0] > 0:
        rows = rng.random(shape[0]) < boundary
        if rows.any():
            values = np.array(values, dtype=np.float64)
            values[rows] = edge((int(rows.sum()),) + tuple(shape[1:]), rng, classes)
    return values
