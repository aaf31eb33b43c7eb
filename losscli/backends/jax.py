"""JAX losses: values and gradients in 64-bit mode (``jax.enable_x64`` as a context, so the setting
does not leak into the rest of the process), gradients from ``jax.vjp`` (so a ``jax.custom_vjp``
backward is what is checked), Hessian-vector products as ``jax.jvp`` of ``jax.grad``, or for a
``custom_vjp`` function (which has no forward mode) the reverse-over-reverse product."""

from __future__ import annotations

import numpy as np

from ..errors import LossCliError
from . import Bridge, as_float64, require

_REVERSE_NOTE = ("the loss uses jax.custom_vjp, which has no forward mode: the second derivatives are "
                 "the reverse-over-reverse products (the transpose of the gradient's Jacobian times v)")


class JaxBridge(Bridge):
    backend = "jax"

    def _x64(self):
        jax = require("jax")
        return jax.enable_x64(True)

    def _numpy(self, out) -> np.ndarray:
        jax = require("jax")
        if not isinstance(out, jax.Array):
            raise TypeError(f"the loss function returned {type(out).__name__}, not a jax array")
        self.output_dtype = str(out.dtype)
        values = np.asarray(out)
        if self.output_dtype == "bfloat16" or values.dtype.kind not in "fc":  # (numpy has no bfloat16)
            return values.astype(np.float32 if self.output_dtype == "bfloat16" else np.float64)
        return values  # in the precision it was computed in: check.py measures it

    def _args(self, arrays: dict, params: dict, values: dict):
        """Positional arrays and keyword parameters, with ``values`` (name -> traced value) in place."""
        jnp = require("jax").numpy
        args = [values[r] if r in values else jnp.asarray(as_float64(a)) for r, a in arrays.items()]
        kw = {k: values[k] if k in values else (jnp.asarray(v, dtype=jnp.complex128 if isinstance(v, complex)
                                                            else jnp.float64) if k in self.diff_params else v)
              for k, v in params.items()}
        return args, kw

    def _call(self, arrays, params: dict):
        with self._x64():
            try:
                args, kw = self._args(dict(zip(self.roles, arrays)), params, {})
                values = self._numpy(self.fn(*args, **kw))
            except Exception as exc:
                raise self._failed(exc, "the loss function") from exc
        self._check_output(values.shape, len(arrays[0]))
        return values

    def _primals(self, arrays: dict, params: dict, wrt) -> list:
        jnp = require("jax").numpy
        out = []
        for n in wrt:
            v = arrays[n] if n in arrays else params[n]
            a = as_float64(v)
            if a.dtype.kind not in "fc":
                raise LossCliError(f"{self.loss_name} (jax): {n} holds integers: it cannot be differentiable")
            out.append(jnp.asarray(a))
        return out

    def _per_sample(self, arrays: dict, params: dict, wrt):
        """A function of the ``wrt`` values returning the per-sample losses."""
        ordered = {r: arrays[r] for r in self.roles if r in arrays}

        def f(*values):
            args, kw = self._args(ordered, params, dict(zip(wrt, values)))
            out = self.fn(*args, **kw)
            self._check_output(tuple(np.shape(out)), int(np.shape(args[0])[0]))
            return out

        return f

    def gradients(self, arrays: dict, params: dict, wrt: tuple[str, ...], cotangent=None) -> dict:
        jax = require("jax")
        jnp = require("jax").numpy
        with self._x64():
            try:
                primals = self._primals(arrays, params, wrt)
                out, pullback = jax.vjp(self._per_sample(arrays, params, wrt), *primals)
                c = jnp.ones_like(out) if cotangent is None else jnp.asarray(as_float64(cotangent), dtype=out.dtype)
                grads = pullback(c)
            except LossCliError:
                raise
            except Exception as exc:
                raise self._failed(exc, "the gradient (jax.vjp)") from exc
            return {n: self._out(n, g) for n, g in zip(wrt, grads)}

    def _out(self, name: str, g):
        value = np.asarray(g).astype(np.complex128 if np.iscomplexobj(g) else np.float64)
        return float(value) if name in self.diff_params and value.dtype.kind == "f" else value

    def hvp(self, arrays: dict, params: dict, wrt: tuple[str, ...], direction: dict) -> tuple[dict, list[str]]:
        jax = require("jax")
        jnp = require("jax").numpy
        notes: list[str] = []
        with self._x64():
            try:
                primals = self._primals(arrays, params, wrt)
                per_sample = self._per_sample(arrays, params, wrt)
                grad = jax.grad(lambda *v: jnp.sum(per_sample(*v)), argnums=tuple(range(len(wrt))))
                tangents = tuple(jnp.asarray(as_float64(direction[n]), dtype=p.dtype) for n, p in zip(wrt, primals))
                try:
                    _, hv = jax.jvp(grad, tuple(primals), tangents)
                except TypeError as exc:
                    if "custom_vjp" not in str(exc):
                        raise
                    _, pullback = jax.vjp(grad, *primals)
                    hv = pullback(tangents)
                    notes.append(_REVERSE_NOTE)
            except LossCliError:
                raise
            except Exception as exc:
                raise self._failed(exc, "the second derivative (jax.jvp of jax.grad)") from exc
            return {n: self._out(n, h) for n, h in zip(wrt, hv)}, notes
