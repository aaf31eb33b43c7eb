"""Losses written in PyTorch or JAX: the bridge between a framework's tensors and losscli's numpy.

``register_loss(..., backend="torch")`` (or ``"jax"``) wraps the user's function of tensors in a
:class:`Bridge`: called with numpy arrays it evaluates in float64 (float inputs become float64
tensors, integer inputs int64) and returns numpy (in the dtype the function returned: a loss that
casts down to float32 is seen as one); its gradient is the framework's own backward
(``torch.autograd.grad`` of the weighted sum, ``jax.vjp``), so a custom ``torch.autograd.Function``
or ``jax.custom_vjp`` is exactly what gradcheck checks; its Hessian-vector products are the
framework's double backward, which ``gradcheck --order 2`` checks against differences of gradients.

The frameworks are imported only when a backend loss is registered or evaluated: ``losscli --help``
and numpy losses never import them. Without the framework installed, the error names the extra.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Callable

from ..errors import LossCliError

if TYPE_CHECKING:
    import numpy as np

#: backend name -> (the module it imports, the extra that installs it)
BACKENDS: dict[str, tuple[str, str]] = {"numpy": ("numpy", ""), "torch": ("torch", "torch"), "jax": ("jax", "jax")}


def missing_message(backend: str) -> str:
    module, extra = BACKENDS[backend]
    return (f"backend={backend!r} needs {module}, which is not installed: "
            f"pip install 'losscli[{extra}]'")


def require(backend: str):
    """The framework's module, imported now; a :class:`LossCliError` naming the extra when missing."""
    module, _ = BACKENDS[backend]
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise LossCliError(missing_message(backend)) from exc


def missing_module_hint(exc: BaseException) -> str | None:
    """For a plugin that failed to import a framework itself (``import torch`` at its top): the
    line that names the extra, or None when ``exc`` is about something else."""
    name = getattr(exc, "name", None) or ""
    if not isinstance(exc, ImportError):
        return None
    root = name.split(".")[0]
    for backend, (module, extra) in BACKENDS.items():
        if extra and root in (module, module + "lib"):  # jaxlib comes with jax
            return missing_message(backend)
    return None


def make_bridge(backend: str, loss_name: str, fn: Callable, roles: tuple[str, ...],
                diff_roles: tuple[str, ...], diff_params: tuple[str, ...]) -> "Bridge":
    """The bridge for ``fn``; imports the framework now (the error names the extra)."""
    require(backend)
    if backend == "torch":
        from .torch import TorchBridge

        return TorchBridge(loss_name, fn, roles, diff_roles, diff_params)
    from .jax import JaxBridge

    return JaxBridge(loss_name, fn, roles, diff_roles, diff_params)


class Bridge(ABC):
    """A framework function of tensors seen as numpy functions: values, gradients, HVPs.

    Arrays go in role order (as ``Loss.fn`` takes them); ``params`` are the loss's keyword
    parameters. The differentiable parameters (``diff_params``) are passed to the function as
    0-d float64 tensors, so that the framework can differentiate them; the others as given.
    """

    backend = ""

    def __init__(self, loss_name: str, fn: Callable, roles: tuple[str, ...], diff_roles: tuple[str, ...],
                 diff_params: tuple[str, ...]):
        self.loss_name, self.fn, self.roles = loss_name, fn, roles
        self.diff_roles, self.diff_params = diff_roles, diff_params
        self.__name__ = getattr(fn, "__name__", loss_name)
        self.__doc__ = getattr(fn, "__doc__", None)
        #: the dtype of the last evaluation's result, before it became float64 ("float32": casts down)
        self.output_dtype = "float64"

    # numpy-facing API (what Loss.fn and Loss.grad_fn are) -----------------------------------
    def __call__(self, *arrays, **params) -> np.ndarray:
        """Per-sample losses (N,) as numpy, in the dtype the function returned (float64 unless it casts
        down; bfloat16 as float32)."""
        return self._call(arrays, params)

    def gradient(self, *arrays, cotangent=None, **params) -> dict:
        """The framework's gradient of Σ c_i l_i w.r.t. each differentiable role (c = cotangent,
        default ones): role -> float64 array of the role's shape."""
        return self.gradients(dict(zip(self.roles, arrays)), params, self.diff_roles, cotangent)

    def precision(self, arrays: dict, params: dict) -> str:
        """The dtype the function returns for float64 inputs ("float64" unless it casts down)."""
        self._call([arrays[r] for r in self.roles if r in arrays], params)
        return self.output_dtype

    # implemented per framework ---------------------------------------------------------------
    @abstractmethod
    def _call(self, arrays, params: dict):
        """The function at ``arrays`` (in the roles' order) as numpy, its dtype kept."""

    @abstractmethod
    def gradients(self, arrays: dict, params: dict, wrt: tuple[str, ...], cotangent=None) -> dict:
        """Gradient of Σ c_i l_i w.r.t. the names in ``wrt`` (roles and differentiable parameters;
        a parameter's gradient is a float)."""

    @abstractmethod
    def hvp(self, arrays: dict, params: dict, wrt: tuple[str, ...], direction: dict) -> tuple[dict, list[str]]:
        """The framework's Hessian-vector product of the total Σ l_i along ``direction`` (name ->
        array over ``wrt``), by differentiating its own gradient; and notes (e.g. a gradient that
        does not depend on the inputs through the framework's autodiff)."""

    def _failed(self, exc: BaseException, what: str) -> LossCliError:
        return LossCliError(f"{self.loss_name} ({self.backend}): {what} raised "
                            f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}")

    def _check_output(self, shape: tuple, n: int) -> None:
        if tuple(shape) != (n,):
            raise LossCliError(f"{self.loss_name} ({self.backend}): the loss function returned shape {tuple(shape)}, "
                               f"expected one value per sample ({n},)")


def as_float64(a) -> np.ndarray:
    """A numpy array to hand a framework: floats in float64, integers in int64, complex in complex128."""
    import numpy as np

    a = np.asarray(a)
    wide = {"f": np.float64, "c": np.complex128, "i": np.int64, "u": np.int64}.get(a.dtype.kind, a.dtype)
    return np.asarray(a, dtype=wide, order="C")  # (0-d stays 0-d, unlike ascontiguousarray)
