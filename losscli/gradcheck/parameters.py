"""What gradcheck adds for losses written in PyTorch or JAX (``backend=``): the precision the loss
computes in, and the derivative w.r.t. each parameter named in ``differentiable`` (a temperature,
a margin), checked like one more element against a numeric derivative of the total."""

from __future__ import annotations

import numpy as np

from ..loss import Loss
from . import Options
from .result import LossCheck, RoleResult, classify
from .methods import EPS, richardson_from
from .steps import EPS_OF

#: the precision of each dtype a framework may return (complex: that of its parts)
_PRECISION_OF = {"float64": "float64", "complex128": "float64", "float32": "float32", "complex64": "float32",
                 "float16": "float16", "bfloat16": "bfloat16"}


def loss_epsilon(precision: str) -> float:
    """The machine epsilon of the precision a loss computes in (float64's for anything else)."""
    return EPS_OF.get(precision, EPS)


def precision_note(loss: Loss, arrays: dict, params: dict, result: LossCheck) -> str:
    """The precision a backend loss computes in: the coarser of what check.py measured and the dtype
    the framework returns for float64 tensors; a note and ``result.precision`` when the dtype says
    more than the measurement (bfloat16 reaches numpy as float32)."""
    measured = result.precision
    if loss.bridge is None:
        return measured
    dtype = loss.bridge.precision(arrays, loss.resolve_params(params))
    returned = _PRECISION_OF.get(dtype, "float64")
    if loss_epsilon(returned) > loss_epsilon(measured):
        result.precision = returned
        result.notes.append(f"the loss computes in {returned}: given float64 {loss.backend} tensors it returns "
                            f"{dtype}, so its values and gradients carry {returned} rounding (about "
                            f"{loss_epsilon(returned):.0e} relative)")
        return returned
    return measured


def check_parameters(loss: Loss, arrays: dict, params: dict, opts: Options, result: LossCheck,
                     precision: str = "float64") -> None:
    """Append one element per differentiable parameter to ``result``: the framework's derivative of
    the total Σ l_i w.r.t. it against Richardson-extrapolated central differences."""
    names = loss.differentiable_params
    if not names or loss.bridge is None:
        return
    params = loss.resolve_params(params)
    args = [arrays[r.name] for r in loss.inputs if r.name in arrays]
    with np.errstate(all="ignore"):
        analytic = loss.bridge.gradients(arrays, params, names)
        eps = loss_epsilon(precision)
        for name in names:
            theta = float(params[name])

            def total(delta: float, name=name, theta=theta) -> np.ndarray:
                return np.array([float(np.sum(loss.fn(*args, **{**params, name: theta + delta})))])

            h = eps ** (1.0 / 3.0) * max(1.0, abs(theta))
            f0 = total(0.0)
            g = float(analytic[name])
            est, err, left, right, kink = richardson_from(f0, total(h), total(-h), total(h / 2), total(-h / 2),
                                                          np.array([h]), abs(theta * g), eps=eps)
            result.evaluations += 5
            rr = RoleResult(name, (), np.array([0]), np.array([g]), est, err, left, right, step=np.array([h]))
            classify(rr, kink, opts)
            result.roles.append(rr)
            result.total_elements += 1
            result.checked += 1
    result.notes.append(f"{', '.join(names)} (parameter{'s' if len(names) > 1 else ''}): {loss.backend}'s derivative "
                        "of the total checked as one element, against differences of the total")
