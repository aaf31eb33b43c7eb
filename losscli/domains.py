"""Input domains: what values an input role accepts, declared once per domain.

Each :class:`Domain` carries its text (shown by ``losscli info`` and in error messages), its check
(the validator calls it on every block: refuse, or return the values the loss receives, e.g. 0/1
labels read as ±1) and its sampler (random valid values for ``gradcheck`` and the registry-driven
tests). Add a domain here, once; a loss names it in ``Input(..., domain="name")``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

import numpy as np

from .errors import InputError

if TYPE_CHECKING:
    from .arrays import Array

from .vocabulary import ROW_SUM_TOL

#: Rows within ROW_SUM_TOL (``--prob-tol``) of 1 but further than this are divided by their sum,
#: with one warning.
RENORMALISE_ABOVE = 1e-12


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
        finite = np.isfinite(data)
        flat = (mask & finite).reshape(data.shape[0], -1)
        r, c = (int(i) for i in np.argwhere(flat)[0])
        value = data.reshape(data.shape[0], -1)[r, c]
        hint = _logits_hint(data, self) if domain.name in ("probability", "prob_rows") else ""
        raise InputError(f"{self.at(r, c if data.ndim > 1 else None)}: found "
                         f"{found or f'{float(value):g}'} ({self.loss} {self.role} expects {domain.text}){hint}")


#: the loss that takes logits where a loss takes probabilities as its predictions, for the hint
#: when it is given values outside [0, 1]
LOGIT_FORMS = {"ce": "softmax_ce (logits, one row per sample)", "bce": "bce_logits (logits)"}


def _logits_hint(data: np.ndarray, where: Where) -> str:
    """When predictions given to a loss that has a logit form hold values outside [0, 1]."""
    form = LOGIT_FORMS.get(where.loss) if where.role == "predictions" else None
    finite = data[np.isfinite(data)]
    if form is None or not ((finite < 0) | (finite > 1)).any():
        return ""
    return f"; these look like logits: {form} takes them"


@dataclass(frozen=True)
class Domain:
    name: str
    text: str
    check: Callable[[np.ndarray, Where, "Domain"], np.ndarray]
    sample: Callable[[tuple, np.random.Generator, int], np.ndarray]


def _range(lo: float, hi: float, lo_open: bool = False):
    def check(data, where, domain):
        bad = (data <= lo if lo_open else data < lo) | (data > hi)
        if bad.any():
            where.fail(data, bad, domain)
        return data

    return check


def _prob_rows(data, where, domain):
    bad = (data < 0) | (data > 1)
    if bad.any():
        where.fail(data, bad, domain)
    sums = data.sum(axis=1)
    # (a few ulps of slack: three values rounded to 3 decimals that sum to 0.999 are within 1e-3)
    off = (np.abs(sums - 1.0) > where.prob_tol + 1e-12) & np.isfinite(sums)
    if off.any():
        r = int(np.flatnonzero(off)[0])
        raise InputError(f"{where.at(r)}: row sums to {sums[r]:.6g} ({where.loss} {where.role} "
                         f"expects {domain.text}; tolerance {where.prob_tol:g}, --prob-tol sets it)"
                         f"{_logits_hint(data, where)}")
    drift = np.abs(sums - 1.0) > RENORMALISE_ABOVE
    if drift.any():
        if where.warnings is not None:
            where.warnings.append((where.array.label, int(drift.sum()), float(np.max(np.abs(sums - 1.0))),
                                   where.prob_tol))
        data = np.where(drift[:, None], data / np.where(drift, sums, 1.0)[:, None], data)
    return data


def _integer(data, where, domain):
    bad = data != np.round(data)
    if bad.any():
        where.fail(data, bad, domain)
    return data


def _class_index(data, where, domain):
    finite = np.isfinite(data)
    if not finite.all():  # only --nan-policy propagate lets a missing label get this far
        idx = np.argwhere(~finite)[0]
        r, c = int(idx[0]), (int(idx[1]) if len(idx) > 1 else None)
        raise InputError(f"{where.at(r, c)}: found {data.reshape(data.shape[0], -1)[r, c or 0]}, a missing class "
                         f"label ({where.loss} {where.role} expects {domain.text}; --nan-policy propagate cannot "
                         "pass it on: --nan-policy omit drops such rows)")
    bad = (data != np.round(data)) | (data < 0)
    if where.num_classes is not None:
        bad |= data >= where.num_classes
    if bad.any():
        rng = f"0..{where.num_classes - 1}" if where.num_classes is not None else "0, 1, 2, ..."
        idx = np.argwhere(bad & finite)[0]
        r, c = int(idx[0]), (int(idx[1]) if len(idx) > 1 else None)
        raise InputError(f"{where.at(r, c)}: found {float(data[r]):g} "
                         f"({where.loss} {where.role} expects an integer class index in {rng})")
    return np.where(finite, data, 0).astype(np.intp) if finite.all() else data


def _binary(data, where, domain):
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


def _softmax_rows(shape, rng, classes):
    z = rng.standard_normal(shape)
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _log_softmax_last(shape, rng, classes):
    """log-probabilities: log-softmax over the last axis (the classes)."""
    z = rng.standard_normal(shape)
    m = z.max(axis=-1, keepdims=True)
    return z - m - np.log(np.exp(z - m).sum(axis=-1, keepdims=True))


def _indices(shape, rng, classes):
    return rng.integers(0, classes, shape).astype(np.intp)


def _one_of(values):
    return lambda shape, rng, classes: rng.choice(values, shape)


def _uniform(lo, hi):
    return lambda shape, rng, classes: rng.uniform(lo, hi, shape)


_DOMAINS = (
    Domain("real", "finite real numbers", lambda d, w, dom: d, lambda s, rng, c: rng.standard_normal(s)),
    Domain("probability", "probabilities in [0, 1]", _range(0.0, 1.0), _uniform(0.05, 0.95)),
    Domain("prob_rows", "rows of probabilities in [0, 1] that sum to 1", _prob_rows, _softmax_rows),
    Domain("binary", "labels in {0, 1}", _binary, lambda s, rng, c: rng.integers(0, 2, s).astype(np.float64)),
    Domain("sign", "labels in {-1, +1}", _signs(False), _one_of([-1.0, 1.0])),
    Domain("sign_or_binary", "labels in {-1, +1} (or {0, 1}, read as 0 -> -1)", _signs(True),
           _one_of([-1.0, 1.0])),
    Domain("class_index", "integer class indices in [0, C)", _class_index, _indices),
    Domain("integer", "integer ids", _integer,
           lambda s, rng, c: rng.integers(0, max(c, 2), s).astype(np.float64)),
    Domain("unit_interval_signed", "values in [-1, 1]", _range(-1.0, 1.0), _uniform(-0.9, 0.9)),
    Domain("nonnegative", "values >= 0", _range(0.0, np.inf), _uniform(0.1, 2.0)),
    Domain("positive", "values > 0", _range(0.0, np.inf, lo_open=True), _uniform(0.1, 2.0)),
    Domain("log_probability", "log-probabilities (values <= 0)", _range(-np.inf, 0.0), _log_softmax_last),
)
#: Domains that stand for one of the above, chosen by the data: name -> (text, choose(ndim, has (N, C) input))
_CHOICES = {
    "target": ("class indices (N,) or probability rows (N, C) (one-hot or soft)",
               lambda ndim, with_classes: "prob_rows" if ndim == 2 else "class_index"),
    "sign_or_class": ("labels in {-1, +1} (or {0, 1}) for (N,) scores; class indices for (N, C) scores",
                      lambda ndim, with_classes: "class_index" if with_classes else "sign_or_binary"),
}

DOMAINS: dict[str, Domain] = {d.name: d for d in _DOMAINS}
#: name -> text, for every name an Input may declare
DOMAIN_TEXT: dict[str, str] = {**{d.name: d.text for d in _DOMAINS}, **{k: v[0] for k, v in _CHOICES.items()}}


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
        domain = Domain(domain.name, DOMAIN_TEXT[name], domain.check, domain.sample)
    return domain.check(data, where, domain)


def sample(name: str, shape: tuple, rng: np.random.Generator, classes: int, with_classes: bool) -> np.ndarray:
    """Random valid values of a domain."""
    if name == "sign_or_class" and not with_classes:
        return DOMAINS["sign"].sample(shape, rng, classes)  # ±1 only: 0/1 would be read as ±1 anyway
    return resolve(name, len(shape), with_classes).sample(shape, rng, classes)
