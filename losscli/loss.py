"""A loss's definition: its input roles (:class:`Input`: shape, domain) and the :class:`Loss`
itself (the per-sample function, its gradient, parameters, formula, references, conventions),
with what a definition does (call, gradient, parameters resolved, help text). ``registry.py``
makes them (:func:`~losscli.registry.register_loss`) and finds them by name."""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from . import shapes
from .domains import DOMAIN_TEXT
from .errors import ParameterError, RegistrationError
from .params import Param
from .stdio import printing_to_stderr


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
        raises :class:`losscli.InputError` (no silent broadcasting). Rows that
        ``nan_policy="omit"`` drops are NaN in the result (one value per row given)."""
        from .errors import in_python_words

        with in_python_words():
            checked, params = self._checked(arrays, params, nan_policy)
            return checked.rows_given(self.fn(*checked.arrays.values(), **params))

    def grad(self, *arrays, cotangent=None, nan_policy: str = "raise", **params) -> dict:
        """Gradient of ``sum(cotangent * per_sample)`` (cotangent defaults to ones) w.r.t. each
        differentiable role, of validated inputs (as for calling the loss; rows that
        ``nan_policy="omit"`` drops are NaN, and ``cotangent`` has one value per row given)."""
        from .errors import in_python_words

        with in_python_words():
            checked, params = self._checked(arrays, params, nan_policy)
        c = None if cotangent is None else np.asarray(cotangent, dtype=np.float64)
        if c is not None and checked.kept is not None and c.shape[:1] == (checked.n_rows,):
            c = c[checked.kept]
        from .domains import as_given

        grads = as_given(self.gradient_of(checked.arrays, params, c), checked.arrays)
        return {role: checked.rows_given(g) for role, g in grads.items()}

    def validated(self, arrays, params: dict, nan_policy: str = "raise") -> tuple[dict, dict]:
        """(role -> validated array, resolved parameters) for a Python caller's inputs (rows that
        ``nan_policy="omit"`` drops left out)."""
        checked, params = self._checked(arrays, params, nan_policy)
        return checked.arrays, params

    def _checked(self, arrays, params: dict, nan_policy: str):
        from .frames import as_inputs, params_by_index
        from .validation import bind, validate_inputs

        params = self.resolve_params(params_by_index(params, list(arrays)))
        checked = validate_inputs(self, bind(self, as_inputs(self, arrays)), nan_policy, params)
        return checked, params

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

