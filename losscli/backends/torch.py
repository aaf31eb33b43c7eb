"""PyTorch losses: values under ``torch.no_grad``, gradients from ``torch.autograd.grad`` (so a custom
``torch.autograd.Function.backward`` is what is checked), Hessian-vector products by double backward
(what ``torch.autograd.gradgradcheck`` differentiates)."""

from __future__ import annotations

import numpy as np

from ..errors import LossCliError
from . import Bridge, as_float64, require


class TorchBridge(Bridge):
    backend = "torch"

    def _tensor(self, a, grad: bool = False):
        torch = require("torch")
        t = torch.tensor(as_float64(a))  # a copy: in-place operations of the loss never reach our arrays
        return t.requires_grad_(True) if grad else t

    def _param(self, name: str, value, grad: bool = False):
        if name not in self.diff_params:
            return value
        torch = require("torch")
        dtype = torch.complex128 if isinstance(value, complex) else torch.float64
        return torch.tensor(value, dtype=dtype, requires_grad=grad)

    def _numpy(self, t) -> np.ndarray:
        torch = require("torch")
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"the loss function returned {type(t).__name__}, not a torch.Tensor")
        t = t.detach()
        self.output_dtype = str(t.dtype).removeprefix("torch.")
        if t.dtype == torch.bfloat16:  # (numpy has no bfloat16: float32 holds it exactly)
            t = t.to(torch.float32)
        elif not (t.is_floating_point() or t.is_complex()):
            t = t.to(torch.float64)
        return t.cpu().numpy()  # in the precision it was computed in: check.py measures it

    def _run(self, tensors: dict, params: dict, grads: set):
        """The per-sample losses as a tensor, with ``grads`` names (roles, parameters) requiring grad."""
        args = [tensors[r] for r in self.roles if r in tensors]
        kw = {k: self._param(k, v, k in grads) for k, v in params.items()}
        return args, kw, self.fn(*args, **kw)

    def _call(self, arrays, params: dict):
        torch = require("torch")
        tensors = {r: self._tensor(a) for r, a in zip(self.roles, arrays)}
        try:
            with torch.no_grad():
                _, _, out = self._run(tensors, params, set())
            values = self._numpy(out)
        except Exception as exc:
            raise self._failed(exc, "the loss function") from exc
        self._check_output(values.shape, len(arrays[0]))
        return values

    def _leaves(self, arrays: dict, params: dict, wrt) -> tuple[dict, dict, list]:
        """Tensors for the roles (those in ``wrt`` requiring grad), the keyword parameters, and the
        leaves to differentiate in ``wrt`` order."""
        tensors = {r: self._tensor(a, r in wrt) for r, a in arrays.items()}
        kw = {k: self._param(k, v, k in wrt) for k, v in params.items()}
        leaves = [tensors[n] if n in tensors else kw[n] for n in wrt]
        for n, leaf in zip(wrt, leaves):
            if not leaf.is_floating_point() and not leaf.is_complex():
                raise LossCliError(f"{self.loss_name} (torch): {n} holds integers: it cannot be differentiable")
        return tensors, kw, leaves

    def _forward(self, tensors: dict, kw: dict):
        args = [tensors[r] for r in self.roles if r in tensors]
        out = self.fn(*args, **kw)
        torch = require("torch")
        if not isinstance(out, torch.Tensor):
            raise TypeError(f"the loss function returned {type(out).__name__}, not a torch.Tensor")
        self._check_output(tuple(out.shape), int(args[0].shape[0]))
        return out

    def gradients(self, arrays: dict, params: dict, wrt: tuple[str, ...], cotangent=None) -> dict:
        torch = require("torch")
        try:
            with torch.enable_grad():
                tensors, kw, leaves = self._leaves(arrays, params, wrt)
                out = self._forward(tensors, kw)
                c = torch.ones_like(out) if cotangent is None else torch.tensor(as_float64(cotangent)).to(out.dtype)
                grads = torch.autograd.grad(out, leaves, grad_outputs=c, allow_unused=True)
        except LossCliError:
            raise
        except Exception as exc:
            raise self._failed(exc, "the gradient (torch.autograd.grad)") from exc
        return {n: self._grad_numpy(g, leaf, n) for n, g, leaf in zip(wrt, grads, leaves)}

    def _grad_numpy(self, g, leaf, name: str):
        """An unused input has gradient 0; a parameter's gradient is a float."""
        torch = require("torch")
        g = torch.zeros_like(leaf) if g is None else g.detach()
        wide = torch.complex128 if g.is_complex() else torch.float64
        # (force: a double backward of abs gives its second derivatives as a ZeroTensor, no storage)
        value = g.to(wide).cpu().numpy(force=True)
        return float(value) if name in self.diff_params and not g.is_complex() else value

    def hvp(self, arrays: dict, params: dict, wrt: tuple[str, ...], direction: dict) -> tuple[dict, list[str]]:
        torch = require("torch")
        notes: list[str] = []
        try:
            with torch.enable_grad():
                tensors, kw, leaves = self._leaves(arrays, params, wrt)
                out = self._forward(tensors, kw)
                grads = torch.autograd.grad(out.sum(), leaves, create_graph=True, allow_unused=True)
                dot = None
                for n, g in zip(wrt, grads):
                    if g is None or not g.requires_grad:
                        notes.append(f"torch's gradient w.r.t. {n} does not depend on the inputs through autograd "
                                     "(its backward detaches them): its second derivatives are taken as 0")
                        continue
                    term = (g * torch.as_tensor(as_float64(direction[n]), dtype=g.dtype)).sum()
                    dot = term if dot is None else dot + term
                hv = (torch.autograd.grad(dot, leaves, allow_unused=True) if dot is not None
                      else (None,) * len(leaves))
        except LossCliError:
            raise
        except Exception as exc:
            raise self._failed(exc, "the second derivative (torch double backward)") from exc
        return {n: self._grad_numpy(h, leaf, n) for n, h, leaf in zip(wrt, hv, leaves)}, notes

