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
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from . import shapes
from .backends import BACKENDS
from .domains import DOMAIN_TEXT
from .errors import ParameterError, RegistrationError, UnknownLossError
from .params import Param
from .stdio import printing_to_stderr
from .vocabulary import CATEGORIES, COUPLINGS


@dataclass(frozen=True)
class Input:
    """One input role of a loss.

    ``shape`` is a small language: comma-separated dimensions, where ``N`` is the sample
    count, other capitalised symbols (``C``, ``D``) must agree across roles, ``...`` means any
    trailing dimensions; ``=role`` means "the same shape as that role"; ``|`` separates
    alternatives (``"N|N,C"``: class indices or rows). A lowercase letter before a symbol is a
    whole multiple of it: ``kN`` is k·N rows (k >= 1; mnrl's hard negatives, row j·N + i the j-th
    negative of sample i), N fixed by an earlier role; such a role holds several rows per sample,
    so it is read whole rather than paired row by row, and only a batch-coupled loss may declare it.
    """

    name: str
    shape: str = "N,..."
    domain: str = "real"
    optional: bool = False
    description: str = ""

    def shape_text(self) -> str:
        """Readable shape: ``(N, C)``, ``(N,) or (N, C)``, ``same as predictions``."""
        return shapes.shape_text(self.shape)

    @property
    def expects(self) -> str:
        """The declared domain, in words."""
        return DOMAIN_TEXT[self.domain]


@dataclass
class Loss:
    """A registered loss. Call it for per-sample losses; ``.grad`` for the analytic gradient."""

    name: str
    fn: Callable
    aliases: tuple[str, ...] = ()
    category: str = "custom"
    summary: str = ""
    inputs: tuple[Input, ...] = ()
    differentiable: tuple[str, ...] = ()
    params: dict[str, Param] = field(default_factory=dict)
    coupling: str = "row"
    formula: str = ""
    gradient_formula: str = ""
    references: tuple[str, ...] = ()
    conventions: tuple[str, ...] = ()
    matches: tuple[str, ...] = ()
    root: bool = False
    nonnegative: bool = True
    #: "value": the worst samples and slices are the largest losses; "magnitude": the largest |l|
    #: (a signed measure whose either sign is bad: mbe's bias)
    ranked_by: str = "value"
    not_differentiable_reason: str = ""
    validate: Callable | None = None
    sampler: Callable | None = None
    mean_normaliser: Callable | None = None
    grad_checks: tuple[str, ...] = ()
    grad_fn: Callable | None = None
    #: per-sample losses and the gradient of their sum from one call (see :meth:`value_and_gradient`)
    value_and_grad_fn: Callable | None = None
    source: str = "built-in"
    #: "numpy", or the framework whose tensors ``fn`` takes ("torch", "jax"); see losscli/backends
    backend: str = "numpy"
    #: parameters named in ``differentiable`` (a temperature, a margin): the framework's gradient
    #: w.r.t. them is checked like an input's (backend losses only)
    differentiable_params: tuple[str, ...] = ()
    #: the framework bridge of a backend loss (``fn`` itself); None for numpy losses
    bridge: Any = None

    def __repr__(self) -> str:
        return f"<Loss {self.name} ({self.describe_inputs()})>"

    # -- user-facing -------------------------------------------------------------------------
    def __call__(self, *arrays, nan_policy: str = "raise", **params):
        """Per-sample losses, shape (N,), of validated inputs (numpy arrays, lists, pandas or
        pyarrow objects, in role order); hyper-parameters by keyword, defaults for the rest.
        Shapes, domains and non-finite values are checked as the CLI checks files: a mismatch
        raises :class:`losscli.InputError` (no silent broadcasting)."""
        checked, params = self.validated(arrays, params, nan_policy)
        return self.fn(*checked.values(), **params)

    def grad(self, *arrays, cotangent=None, nan_policy: str = "raise", **params) -> dict:
        """Gradient of ``sum(cotangent * per_sample)`` (cotangent defaults to ones) w.r.t. each
        differentiable role, of validated inputs (as for calling the loss)."""
        checked, params = self.validated(arrays, params, nan_policy)
        c = None if cotangent is None else np.asarray(cotangent, dtype=np.float64)
        from .domains import as_given

        return as_given(self.gradient_of(checked, params, c), checked)

    def validated(self, arrays, params: dict, nan_policy: str = "raise") -> tuple[dict, dict]:
        """(role -> validated array, resolved parameters) for a Python caller's inputs."""
        from .arrays import as_array
        from .validation import bind, validate_inputs

        params = self.resolve_params(params)
        labelled = [as_array(a, role.name) for a, role in zip(arrays, self.inputs)]
        checked = validate_inputs(self, bind(self, labelled + list(arrays[len(labelled):])), nan_policy, params)
        return checked.arrays, params

    def gradient(self, fn: Callable) -> Callable:
        """Decorator: register the analytic gradient (of the SUM of per-sample losses).

        The function takes the same arguments as the loss and returns a dict mapping each
        differentiable role to an array of that input's shape. It may also accept a keyword
        ``cotangent`` (shape (N,)) and then return the gradient of ``sum(cotangent * losses)``;
        batch-coupled losses need that for weighted reductions.
        """
        if self.backend != "numpy":
            raise RegistrationError(
                f"{self.name}: a {self.backend} loss's gradient is {self.backend}'s own backward; define a custom "
                f"one inside the function ({'torch.autograd.Function' if self.backend == 'torch' else 'jax.custom_vjp'})")
        self.grad_fn = printing_to_stderr(fn) if self.source != "built-in" else fn
        return fn

    def value_and_gradient(self, fn: Callable) -> Callable:
        """Decorator: register the per-sample losses and the gradient of their SUM computed in one
        call, ``fn(*inputs, **params) -> (losses, {role: gradient})``, for a loss whose value and
        gradient share their costliest work (softmax_ce's e^x). ``compute --save-grad`` then
        calls it once per block instead of the loss and its gradient; it must return what those
        two return. Row-local losses only: a weight multiplies each row's gradient afterwards."""
        if self.backend != "numpy":
            raise RegistrationError(f"{self.name}: a {self.backend} loss's gradient is {self.backend}'s own backward")
        if self.coupling == "batch":
            raise RegistrationError(f"{self.name}: a batch-coupled loss's weighted gradient needs its cotangent; "
                                    "register its gradient with .gradient (taking 'cotangent')")
        self.value_and_grad_fn = printing_to_stderr(fn) if self.source != "built-in" else fn
        return fn

    def times_cotangent(self, grads: dict, cotangent: np.ndarray) -> dict:
        """The gradient of Σ c_i l_i from that of Σ l_i, row by row: for losses whose rows are
        their samples (a batch-coupled loss takes the cotangent itself)."""
        if self.coupling == "batch":
            raise ParameterError(
                f"{self.name}: weights need a gradient that accepts 'cotangent'; this loss couples "
                "samples across the batch, so per-sample weights cannot be applied row by row")
        return {role: g * cotangent.reshape((-1,) + (1,) * (g.ndim - 1)) for role, g in grads.items()}

    @property
    def has_gradient(self) -> bool:
        return self.grad_fn is not None and bool(self.differentiable)

    def gradient_of(self, arrays: dict, params: dict, cotangent=None) -> dict:
        """The analytic gradient at inputs already validated (role -> array) with resolved
        parameters: of ``sum(cotangent * per_sample)``, cotangent defaulting to ones."""
        grad_fn = self.grad_fn
        if not self.has_gradient or grad_fn is None:  # (has_gradient implies a grad_fn)
            raise ParameterError(self.no_gradient_message())
        args = [arrays[r.name] for r in self.inputs if r.name in arrays]
        if cotangent is not None and self._grad_takes_cotangent():
            return self._a_dict(grad_fn(*args, cotangent=cotangent, **params))
        grads = self._a_dict(grad_fn(*args, **params))
        return grads if cotangent is None else self.times_cotangent(grads, cotangent)

    def _a_dict(self, grads) -> dict:
        """What a gradient function returned, refused unless a dict (role -> array; shapes are
        checked where they are used) whose differentiable inputs hold real numbers: a user's
        function returning an array, None, or complex or text values is told so."""
        from collections.abc import Mapping

        if not isinstance(grads, Mapping):
            raise RegistrationError(
                f"{self.name}: the gradient function returned {type(grads).__name__}, expected a dict of one array "
                f"per differentiable input ({', '.join(repr(r) for r in self.differentiable)})")
        for role in self.differentiable + self.differentiable_params:
            if role in grads:
                kind = np.asarray(grads[role]).dtype.kind if grads[role] is not None else "None"
                if kind not in "biuf":
                    what = "None" if kind == "None" else f"values of dtype {np.asarray(grads[role]).dtype}"
                    raise RegistrationError(f"{self.name}: the gradient function returned {what} for {role!r}, "
                                            "expected real numbers")
        return dict(grads)

    def no_gradient_message(self) -> str:
        if self.not_differentiable_reason:
            return f"{self.name} is not differentiable: {self.not_differentiable_reason}"
        return f"{self.name} has no analytic gradient registered"

    def _grad_takes_cotangent(self) -> bool:
        assert self.grad_fn is not None  # asked only of a loss with a gradient
        return "cotangent" in inspect.signature(self.grad_fn).parameters

    # -- declarations ------------------------------------------------------------------------
    @property
    def input_names(self) -> tuple[str, ...]:
        return tuple(i.name for i in self.inputs)

    @property
    def required_inputs(self) -> tuple[Input, ...]:
        return tuple(i for i in self.inputs if not i.optional)

    def resolve_params(self, given: dict) -> dict:
        """Defaults filled in, unknown names refused, every value type- and range-checked."""
        unknown = [k for k in given if k not in self.params]
        if unknown:
            valid = ", ".join(self.params) or "none"
            raise ParameterError(
                f"{self.name}: unknown parameter {unknown[0]!r} (valid parameters: {valid})")
        out = {}
        for name, spec in self.params.items():
            if name in given:
                out[name] = spec.check(given[name], f"parameter {self.name}.{name}")
            else:
                out[name] = spec.default
        return out

    def help_text(self) -> str:
        """What ``help(loss)`` shows: formula, gradient, inputs, parameters, conventions, references."""
        lines = [f"{self.name}: {self.summary}", ""]
        if self.backend != "numpy":
            lines += [f"Backend: {self.backend} (evaluated in float64; the gradient is {self.backend}'s own backward)", ""]
        if self.aliases:
            lines += [f"Aliases: {', '.join(self.aliases)}", ""]
        lines += [f"Formula:  {self.formula or '-'}",
                  f"Gradient: {self.gradient_formula or ('-' if self.has_gradient else self.no_gradient_message())}",
                  "", "Inputs (in order):"]
        lines += [f"    {i.name}{' (optional)' if i.optional else ''}: {i.shape_text()}, {i.expects}"
                  + (f" -- {i.description}" if i.description else "") for i in self.inputs]
        lines += ["", "Parameters (keyword-only):" if self.params else "Parameters: none"]
        lines += [f"    {k} = {p.default!r} ({p.describe()})" + (f": {p.help}" if p.help else "")
                  for k, p in self.params.items()]
        if self.matches:
            lines += ["", "Matches: " + "; ".join(self.matches)]
        if self.conventions:
            lines += ["", "Conventions:"] + [f"    - {c}" for c in self.conventions]
        if self.references:
            lines += ["", "References:"] + [f"    - {r}" for r in self.references]
        sig = ", ".join(self.input_names) + "".join(f", {k}={p.default!r}" for k, p in self.params.items())
        lines += ["", f"Call: loss({sig}) -> per-sample losses (N,), validated as the CLI validates files;",
                  "      loss.grad(...) -> {role: gradient of the sum}; losscli.evaluate(loss, ...) for everything."]
        return "\n".join(lines)

    def describe_inputs(self) -> str:
        return ", ".join(i.name + ("?" if i.optional else "") for i in self.inputs)


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
            raise RegistrationError(f"loss name {n!r} is already registered (by {owner})")
    previous = _LOSSES.get(loss.name)
    if previous is not None and previous.source == "built-in" and loss.source != "built-in":
        if not ALLOW_OVERRIDE:
            raise RegistrationError(f"{loss.source} replaces the built-in loss {loss.name!r}; "
                                    "allow it with losscli --allow-override")
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
