"""The loss registry: one place that maps canonical names and aliases to loss definitions.

Built-in losses (``losscli/losses/*.py``) and users' own losses go through the same door,
:func:`register_loss`::

    @register_loss("my_l2", inputs=("predictions", "labels"), params={"scale": 1.0})
    def my_l2(predictions, labels, scale=1.0):          # per-sample losses, shape (N,)
        return scale * ((predictions - labels) ** 2).reshape(len(predictions), -1).sum(axis=1)

    @my_l2.gradient
    def _(predictions, labels, scale=1.0):              # gradient of the SUM of per-sample losses
        return {"predictions": 2 * scale * (predictions - labels)}

A definition declares everything the rest of the tool needs: input roles with their shapes and
domains (the validator reads them), which roles are differentiable, typed parameters with
constraints (the CLI parses and checks them), and how the loss couples elements (gradcheck uses
it to choose how many evaluations it needs).
"""

from __future__ import annotations

import inspect
import re
from typing import Callable


from . import shapes
from .backends import BACKENDS
from .domains import DOMAIN_TEXT
from .errors import RegistrationError, UnknownLossError
from .loss import Input, Loss
from .params import Param
from .stdio import printing_to_stderr
from .vocabulary import CATEGORIES, COUPLINGS


# ---------------------------------------------------------------------------------------------
_LOSSES: dict[str, Loss] = {}
_ALIASES: dict[str, str] = {}


def _normalise(name: str) -> str:
    return name.strip().lower().replace("-", "_")


def _as_input(spec) -> Input:
    if isinstance(spec, Input):
        return spec
    if isinstance(spec, str):
        return Input(spec)
    raise RegistrationError(f"an input role must be a name or an Input, got {spec!r}")


def _as_param(value) -> Param:
    return value if isinstance(value, Param) else Param(value)


def register_loss(
    name: str,
    *,
    inputs=("predictions", "labels"),
    differentiable=None,
    params: dict | None = None,
    aliases=(),
    category: str = "custom",
    coupling: str = "row",
    summary: str = "",
    formula: str = "",
    gradient_formula: str = "",
    references=(),
    conventions=(),
    matches=(),
    root: bool = False,
    nonnegative: bool = True,
    ranked_by: str = "value",
    not_differentiable_reason: str = "",
    validate: Callable | None = None,
    sampler: Callable | None = None,
    mean_normaliser: Callable | None = None,
    grad_checks=(),
    replace: bool = False,
    backend: str = "numpy",
) -> Callable[[Callable], Loss]:
    """Register a loss under ``name`` (and ``aliases``); used as a decorator on the per-sample
    function. Returns the :class:`Loss`, whose ``.gradient`` decorator attaches the gradient.

    ``inputs`` are role names or :class:`Input` objects; ``differentiable`` defaults to the
    first role; ``params`` maps names to defaults or :class:`Param` objects. ``validate``
    ``(arrays, params) -> arrays`` (raising InputError) checks what no domain expresses; a hook
    that takes a keyword ``at`` gets ``at(role, row, col=None)``, the file, line and column of an
    element it refuses (its rows are the block's, after --nan-policy omit);
    ``sampler`` draws valid random inputs when the domains alone cannot (see
    ``losscli/sampling.py``); ``mean_normaliser`` ``(arrays, params) -> (N,) or None`` gives
    each sample's share of the ``mean`` denominator (PyTorch's class-weighted mean divides by
    Σ w[y_i], not by N). ``grad_checks`` declares identities the gradient must satisfy, which
    gradcheck verifies without a tolerance: ``rows_sum_to_zero:ROLE`` (softmax-type losses are
    invariant to adding a constant to a row), ``roles_sum_to_zero:R1,R2,...`` (invariance to
    translating all those inputs together). ``matches`` names the outside functions whose values
    and gradients this loss reproduces under its defaults (``"PyTorch torch.nn.MSELoss"``), each
    checked against reference vectors in ``tests/data``; the README catalogue lists them.
    ``ranked_by``: ``"magnitude"`` for a signed measure whose either sign is bad (mbe): its worst
    samples and slices are the largest |l|, not the largest l.
    ``root``: the reported value is the square root of the reduction (rmse: per-sample values
    are squared errors, the value √mean; its gradient, confidence intervals and comparisons are
    those of the root).
    ``backend``: ``"torch"`` or ``"jax"`` for a function of tensors (or jax arrays) returning
    per-sample losses: losscli evaluates it in float64 and its gradient is the framework's own
    backward (no ``.gradient`` to write); ``differentiable`` may then also name float parameters,
    whose gradients gradcheck checks too. The framework is imported at registration: without
    it, the error names the extra to install (``pip install 'losscli[torch]'``).
    """

    def decorator(fn: Callable) -> Loss:
        canonical = _normalise(name)
        if not re.fullmatch(r"[a-z][a-z0-9_]*", canonical):
            raise RegistrationError(f"loss name {name!r}: use letters, digits and underscores")
        if category not in CATEGORIES:
            raise RegistrationError(f"{name}: category must be one of {', '.join(CATEGORIES)}")
        if ranked_by not in ("value", "magnitude"):
            raise RegistrationError(f"{name}: ranked_by must be 'value' or 'magnitude'")
        if coupling not in COUPLINGS:
            raise RegistrationError(f"{name}: coupling must be one of {', '.join(COUPLINGS)}")
        roles = tuple(_as_input(i) for i in inputs)
        role_names = [r.name for r in roles]
        if len(set(role_names)) != len(role_names) or not roles:
            raise RegistrationError(f"{name}: input roles must be distinct and non-empty")
        for r in roles:
            if r.domain not in DOMAIN_TEXT:
                raise RegistrationError(f"{name}: role {r.name}: unknown domain {r.domain!r} "
                                        f"(domains: {', '.join(DOMAIN_TEXT)})")
            if not shapes.valid(r.shape):
                raise RegistrationError(f"{name}: role {r.name}: bad shape {r.shape!r}")
            if shapes.multiple_rows(r.shape) and coupling != "batch":
                raise RegistrationError(f"{name}: role {r.name}: a shape of several rows per sample "
                                        f"({r.shape!r}) needs coupling='batch' (its rows are not samples)")
        if backend not in BACKENDS:
            raise RegistrationError(f"{name}: backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
        diff = (role_names[0],) if differentiable is None else tuple(differentiable)
        if not_differentiable_reason:
            diff = ()
        param_specs = {k: _as_param(v) for k, v in (params or {}).items()}
        for d in diff:
            if d in role_names:
                continue
            if d not in param_specs:
                raise RegistrationError(f"{name}: differentiable role {d!r} is not an input"
                                        + (" or a parameter" if backend != "numpy" else ""))
            if backend == "numpy":
                raise RegistrationError(f"{name}: differentiable names the parameter {d!r}: only a loss with "
                                        "backend='torch' or 'jax' can differentiate a parameter (the framework's "
                                        "gradient w.r.t. it)")
            if param_specs[d].kind != "float":
                raise RegistrationError(f"{name}: differentiable parameter {d!r} must be a float, "
                                        f"not {param_specs[d].kind}")
        diff_params = tuple(d for d in diff if d not in role_names)
        diff = tuple(d for d in diff if d in role_names)
        sig = inspect.signature(fn).parameters
        for k in param_specs:
            if k not in sig:
                raise RegistrationError(f"{name}: parameter {k!r} is not an argument of {fn.__name__}")
        doc = inspect.getdoc(fn) or ""
        user = not fn.__module__.startswith("losscli.")
        run = printing_to_stderr if user else (lambda f: f)
        bridge = None
        if backend != "numpy":
            from .backends import make_bridge

            bridge = make_bridge(backend, canonical, run(fn), tuple(role_names), diff, diff_params)
        loss = Loss(
            name=canonical, fn=bridge or run(fn), aliases=tuple(_normalise(a) for a in aliases), category=category,
            summary=summary or (doc.splitlines()[0] if doc else ""), inputs=roles,
            differentiable=diff, params=param_specs, coupling=coupling, formula=formula,
            gradient_formula=gradient_formula, references=tuple(references),
            conventions=tuple(conventions), matches=tuple(matches), root=root, nonnegative=nonnegative, ranked_by=ranked_by,
            not_differentiable_reason=not_differentiable_reason, validate=run(validate), sampler=run(sampler),
            mean_normaliser=run(mean_normaliser), grad_checks=tuple(grad_checks),
            source=fn.__module__ if user else "built-in",
            backend=backend, differentiable_params=diff_params, bridge=bridge,
            grad_fn=bridge.gradient if bridge is not None else None,
        )
        # each loss is an instance of its own subclass, so help(loss) shows its own text
        type_ = type(canonical, (Loss,), {"__module__": fn.__module__, "__qualname__": canonical})
        loss.__class__ = type_
        type_.__doc__ = loss.help_text()
        _add(loss, replace)
        return loss

    return decorator


#: whether a user's loss may replace a built-in one (``--allow-override``); each replacement is
#: recorded in ``OVERRIDES`` (name -> the module that replaced it) for stderr and the JSON
ALLOW_OVERRIDE = False
OVERRIDES: dict[str, str] = {}


def _add(loss: Loss, replace: bool) -> None:
    names = (loss.name,) + loss.aliases
    for n in names:
        owner = _LOSSES[n].name if n in _LOSSES else _ALIASES.get(n)
        if owner is not None and not (replace and owner == loss.name):
            builtin = n == loss.name and owner == n and _LOSSES[n].source == "built-in"
            mine = (" (replace=True replaces the built-in one, with losscli --allow-override)" if builtin else
                    " (replace=True replaces a loss of yours)" if n == loss.name and owner == n else "")
            raise RegistrationError(f"loss name {n!r} is already registered (by {owner}): choose another name{mine}")
    previous = _LOSSES.get(loss.name)
    if previous is not None and previous.source == "built-in" and loss.source != "built-in":
        if not ALLOW_OVERRIDE:
            raise RegistrationError(f"{loss.source} replaces the built-in loss {loss.name!r}; "
                                    "allow it with losscli --allow-override, or choose another name")
        OVERRIDES[loss.name] = loss.source
    if replace and loss.name in _LOSSES:
        for a in _LOSSES[loss.name].aliases:
            _ALIASES.pop(a, None)
    _LOSSES[loss.name] = loss
    for a in loss.aliases:
        _ALIASES[a] = loss.name


def lookup(name: str) -> Loss:
    """The loss registered as ``name`` or as an alias of it (of those registered so far); the
    error lists close matches. ``losscli.get_loss`` loads the catalogue first."""
    key = _normalise(name)
    if key in _LOSSES:
        return _LOSSES[key]
    if key in _ALIASES:
        return _LOSSES[_ALIASES[key]]
    import difflib  # (only a name that is not found needs it)

    candidates = list(_LOSSES) + list(_ALIASES)
    close = difflib.get_close_matches(key, candidates, n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise UnknownLossError(
        f"unknown loss {name!r}{hint} (run 'losscli list' for all {len(_LOSSES)} losses)")


def registered() -> list[Loss]:
    """Every registered loss, in registration order."""
    return list(_LOSSES.values())


def remove(loss: Loss) -> None:
    _LOSSES.pop(loss.name, None)
    for a in loss.aliases:
        _ALIASES.pop(a, None)
