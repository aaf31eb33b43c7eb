"""Reference vectors for the regression losses, from scikit-learn, PyTorch, Keras and optax.

    KERAS_BACKEND=jax /tmp/refvenv/bin/python tests/reference/generate_regression_reference.py

(torch 2.13.0 CPU, scikit-learn 1.9.1, jax 0.10.2 + optax 0.2.8, keras 3.15.1 on jax) writes
tests/data/regression_reference.{npz,json} in the common format (tests/reference/reference_files.py);
tests/test_library_references.py checks losscli against them without the libraries.

Per library:
- scikit-learn has values only. A sample's value is scikit-learn's function called on that sample
  alone (its elements as the outputs of one sample, or as a 1-D array for the deviances, which take
  no multi-output): the mean over the sample's elements, losscli's per-sample convention. The mean
  is scikit-learn's value on the whole arrays ((N, M) with uniform_average; flattened for the
  deviances). The gradient is torch autograd of a line-by-line torch transcription of
  scikit-learn's formula (``_sklearn_torch``), said in each case's "source".
- PyTorch (poisson_nll and gaussian_nll with full=True): F.*(reduction="none") averaged per row,
  autograd, and torch's own mean.
- Keras (jax backend, float64): keras.losses.<fn> per sample (mean over the last axis of (N, M)
  inputs), jax.grad of their sum, and the Keras loss object's default reduction as the mean.
  Keras 3.15.1 averages float64 tensors in float32 (its type rules map float64 to float32), so its
  values as shipped agree with any float64 implementation to ~1e-7 only; the references are
  computed with that one promotion rule switched off (``_KerasInFloat64``), which leaves Keras's
  formulas as they are, and each case's "source" gives the as-shipped deviation.
- optax (elementwise functions): averaged per row (summed for l2_loss), jax.grad; optax has no
  reduction of its own, so no mean.

Cases where a library's clamps or cancellation differ from losscli beyond 1e-12 are left out here
and tested at the boundary in tests/test_regression_losses.py (Keras MSLE below 1e-7, Keras and
optax log-cosh at |d| < 1e-3, scikit-learn's deviances at μ ≈ y).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("KERAS_BACKEND", "jax")

import reference_files  # noqa: E402

MAPE_EPS = float(np.finfo(np.float64).eps)
SK_GRAD = "gradient: torch autograd of a torch transcription of scikit-learn's formula"


# -- scikit-learn --------------------------------------------------------------------------------
def _sklearn_fn(loss: str, params: dict):
    """(scikit-learn function of (y_true, y_pred), whether it takes (n, outputs) arrays)."""
    from sklearn import metrics as m

    if loss == "tweedie_deviance":
        return (lambda t, p: m.mean_tweedie_deviance(t, p, power=params["power"])), False
    return {
        "mse": (m.mean_squared_error, True),
        "mae": (m.mean_absolute_error, True),
        "msle": (m.mean_squared_log_error, True),
        "mape": (m.mean_absolute_percentage_error, True),
        "quantile": ((lambda t, p: m.mean_pinball_loss(t, p, alpha=params.get("tau", 0.5))), True),
        "poisson_deviance": (m.mean_poisson_deviance, False),
        "gamma_deviance": (m.mean_gamma_deviance, False),
    }[loss]


def _sklearn_torch(loss: str, p, t, params: dict):
    """scikit-learn's elementwise formula, transcribed to torch for autograd."""
    import torch

    if loss == "mse":
        return (t - p) ** 2
    if loss == "mae":
        return torch.abs(t - p)
    if loss == "msle":
        return (torch.log1p(t) - torch.log1p(p)) ** 2
    if loss == "mape":
        return torch.abs(p - t) / torch.clamp(torch.abs(t), min=MAPE_EPS)
    if loss == "quantile":
        alpha = params.get("tau", 0.5)
        diff = t - p
        sign = (diff >= 0).to(diff.dtype)
        return alpha * sign * diff - (1 - alpha) * (1 - sign) * diff
    power = {"poisson_deviance": 1.0, "gamma_deviance": 2.0}.get(loss, params.get("power"))
    if power < 0:
        return 2 * (torch.pow(torch.where(t > 0, t, 0.0), 2 - power) / ((1 - power) * (2 - power))
                    - t * torch.pow(p, 1 - power) / (1 - power) + torch.pow(p, 2 - power) / (2 - power))
    if power == 0:
        return (t - p) ** 2
    if power == 1:  # xlogy(t, t/p), with 0·log 0 = 0 kept out of autograd's way (double where)
        ratio = torch.where(t > 0, t / p, torch.ones_like(p))
        return 2 * (torch.where(t > 0, t * torch.log(ratio), torch.zeros_like(p)) - t + p)
    if power == 2:
        return 2 * (torch.log(p / t) + t / p - 1)
    return 2 * (torch.pow(t, 2 - power) / ((1 - power) * (2 - power))
                - t * torch.pow(p, 1 - power) / (1 - power) + torch.pow(p, 2 - power) / (2 - power))


def sklearn_result(case: dict) -> dict:
    import torch

    p, t = case["inputs"]["predictions"], case["inputs"]["labels"]
    fn, multioutput = _sklearn_fn(case["loss"], case["params"])
    n = p.shape[0]
    if multioutput:
        shaped = (lambda x: x.reshape(x.shape[0], -1)) if p.ndim > 1 else (lambda x: x)
        per = [fn(shaped(t[i:i + 1]), shaped(p[i:i + 1])) for i in range(n)]
        mean = fn(shaped(t), shaped(p))
    else:
        per = [fn(t[i].reshape(-1), p[i].reshape(-1)) for i in range(n)]
        mean = fn(t.reshape(-1), p.reshape(-1))
    leaf = torch.tensor(p, dtype=torch.float64, requires_grad=True)
    elem = _sklearn_torch(case["loss"], leaf, torch.tensor(t, dtype=torch.float64), case["params"])
    elem.reshape(n, -1).mean(dim=1).sum().backward()
    return {"per_sample": np.array(per, dtype=np.float64), "grads": {"predictions": leaf.grad.numpy()},
            "mean": float(mean)}


# -- PyTorch -------------------------------------------------------------------------------------
def torch_result(case: dict) -> dict:
    import torch
    import torch.nn.functional as F

    x, prm = case["inputs"], case["params"]
    if case["loss"] == "poisson_nll":
        leaf = torch.tensor(x["predictions"], requires_grad=True)
        kw = dict(log_input=prm.get("log_input", True), full=prm.get("full", False), eps=prm.get("eps", 1e-8))
        elem = F.poisson_nll_loss(leaf, torch.tensor(x["labels"]), reduction="none", **kw)
        mean = F.poisson_nll_loss(leaf, torch.tensor(x["labels"]), **kw)
        leaves = {"predictions": leaf}
    else:
        mu, var = torch.tensor(x["mean"], requires_grad=True), torch.tensor(x["var"], requires_grad=True)
        kw = dict(full=prm.get("full", False), eps=prm.get("eps", 1e-6))
        elem = F.gaussian_nll_loss(mu, torch.tensor(x["target"]), var, reduction="none", **kw)
        mean = F.gaussian_nll_loss(mu, torch.tensor(x["target"]), var, **kw)
        leaves = {"mean": mu, "var": var}
    per = elem.reshape(elem.shape[0], -1).mean(dim=1)
    per.sum().backward()
    return {"per_sample": per.detach().numpy(), "grads": {k: v.grad.numpy() for k, v in leaves.items()},
            "mean": mean.item()}


# -- Keras and optax (jax) -----------------------------------------------------------------------
def _keras(loss: str, params: dict):
    """(per-sample function of (y_true, y_pred) on (N, M) arrays, the loss object)."""
    import keras

    L = keras.losses
    if loss == "huber":
        d = params.get("delta", 1.0)
        return (lambda t, p: L.huber(t, p, delta=d)), L.Huber(delta=d)
    return {
        "mse": (L.mean_squared_error, L.MeanSquaredError()),
        "mae": (L.mean_absolute_error, L.MeanAbsoluteError()),
        "log_cosh": (L.log_cosh, L.LogCosh()),
        "msle": (L.mean_squared_logarithmic_error, L.MeanSquaredLogarithmicError()),
        "poisson_nll": (L.poisson, L.Poisson()),
    }[loss]


def _optax(loss: str, params: dict):
    """(elementwise function of (predictions, targets), reduction over a sample's elements)."""
    import optax

    if loss == "huber":
        return (lambda p, t: optax.losses.huber_loss(p, t, delta=params.get("delta", 1.0))), "mean"
    return {"mse": (optax.losses.squared_error, "mean"), "log_cosh": (optax.losses.log_cosh, "mean"),
            "l2": (optax.losses.l2_loss, "sum")}[loss]


class _KerasInFloat64:
    """Keras 3.15.1 promotes float64 to float32 in its type rules (``BIT64_TO_BIT32_DTYPE``), so
    ``keras.ops.mean`` of float64 tensors accumulates in float32 and every loss's mean over the last
    axis is rounded to ~1e-7 even with floatx float64 and jax x64. Inside this block that one
    entry is removed, so Keras's own loss functions run in float64 from end to end."""

    def __enter__(self):
        from keras.src.backend.common import dtypes

        self.table = dtypes.BIT64_TO_BIT32_DTYPE
        self.saved = self.table.pop("float64", None)

    def __exit__(self, *exc):
        if self.saved is not None:
            self.table["float64"] = self.saved


def jax_result(case: dict) -> dict:
    import jax.numpy as jnp

    p, t = case["inputs"]["predictions"], case["inputs"]["labels"]
    n = p.shape[0]
    p2, t2 = jnp.asarray(p.reshape(n, -1)), jnp.asarray(t.reshape(n, -1))
    if case["library"] == "keras":
        fn, obj = _keras(case["loss"], case["params"])

        def per_sample(x):
            return fn(t2, x)

        as_shipped = np.asarray(per_sample(p2), dtype=np.float64)
        with _KerasInFloat64():
            result = _jax_values(per_sample, p, p2)
            result["mean"] = float(obj(t2, p2))
        scale = np.max(np.abs(result["per_sample"]))
        case["source"] += (f"; float64 throughout (unpatched Keras averages in float32: "
                           f"{np.max(np.abs(as_shipped - result['per_sample'])) / scale:.0e} relative here)")
        return result
    fn, how = _optax(case["loss"], case["params"])

    def elementwise_reduced(x):
        elem = fn(x, t2)
        return elem.mean(axis=1) if how == "mean" else elem.sum(axis=1)

    return _jax_values(elementwise_reduced, p, p2)


def _jax_values(per_sample, p, p2) -> dict:
    import jax
    import jax.numpy as jnp

    per = np.asarray(per_sample(p2), dtype=np.float64)
    grad = np.asarray(jax.grad(lambda x: jnp.sum(per_sample(x)))(p2), dtype=np.float64).reshape(p.shape)
    return {"per_sample": per, "grads": {"predictions": grad}, "mean": None}


# -- the cases -----------------------------------------------------------------------------------
def cases() -> list[dict]:
    rng = np.random.default_rng(20240518)
    out: list[dict] = []

    def add(library, loss, inputs, source, **params):
        out.append({"id": f"{loss}-{library}-{len(out)}", "library": library, "loss": loss, "params": params,
                    "inputs": {k: np.asarray(v, dtype=np.float64) for k, v in inputs.items()},
                    "grads": ["predictions"], "source": source})

    def sk(loss, p, t, fn_name, **params):
        add("sklearn", loss, {"predictions": p, "labels": t},
            f"sklearn.metrics.{fn_name} per sample and on the whole arrays; {SK_GRAD}", **params)

    shapes = [(7,), (5, 3), (4, 2, 3)]
    # scikit-learn: mse, mae, quantile (pinball): the existing losses it verifies
    for shape in shapes:
        p, t = rng.normal(size=shape), rng.normal(size=shape)
        sk("mse", p, t, "mean_squared_error")
        sk("mae", p, t, "mean_absolute_error")
        for tau in (0.1, 0.5, 0.9):
            sk("quantile", p, t, f"mean_pinball_loss(alpha={tau})", tau=tau)
    for scale in (1e-150, 1e-8, 1e6, 1e150):
        p, t = rng.normal(0, scale, 6), rng.normal(0, scale, 6)
        sk("mse", p, t, "mean_squared_error")
        sk("mae", p, t, "mean_absolute_error")
        sk("quantile", p, t, "mean_pinball_loss(alpha=0.3)", tau=0.3)

    # msle: (-1, ∞), log1p form
    for shape in shapes:
        sk("msle", rng.uniform(0, 5, shape), rng.uniform(0, 5, shape), "mean_squared_log_error")
        sk("msle", rng.uniform(-0.99, 2, shape), rng.uniform(-0.99, 2, shape), "mean_squared_log_error")
    sk("msle", [-1 + 1e-12, -0.5, 0.0, 1e-300, 1e-20, 3.0, 1e300, -1 + 1e-9],
       [0.0, -0.999999, 1e-10, 0.0, 0.0, -1 + 1e-15, 1.0, 5.0], "mean_squared_log_error")
    sk("msle", [1e300, 1e200, 1e10, 7.5], [1e100, 1e250, 1e-10, 1e300], "mean_squared_log_error")
    sk("msle", rng.lognormal(0, 3, 9), rng.lognormal(0, 3, 9), "mean_squared_log_error")

    # mape: max(|t|, eps) in the denominator
    for shape in shapes:
        sk("mape", rng.normal(size=shape), rng.normal(size=shape), "mean_absolute_percentage_error")
    sk("mape", [0.3, -2.0, 1e-20, 5.0, 1.0, 3e-16, 2.0, 0.0, 4.0],
       [0.0, 0.0, 1e-20, -1e-17, MAPE_EPS, -MAPE_EPS, 2.0, 1e-300, -4.0], "mean_absolute_percentage_error")
    sk("mape", [1e300, -1e250, 3e-300, 1.0], [2e300, 1e249, 1e-300, 1e-16], "mean_absolute_percentage_error")
    sk("mape", rng.normal(0, 1e6, 8), rng.normal(0, 1e-6, 8), "mean_absolute_percentage_error")

    # the deviances
    for shape in shapes:
        mu = rng.uniform(0.1, 5, shape)
        sk("poisson_deviance", mu, rng.poisson(2.0, shape), "mean_poisson_deviance")
        sk("gamma_deviance", mu, rng.gamma(2.0, 1.0, shape), "mean_gamma_deviance")
    sk("poisson_deviance", [0.5, 1e-10, 3.0, 1e6, 2.0, 1e-150, 40.0, 1e-300],
       [0.0, 0.0, 0.0, 2e6, 7.0, 1e-145, 0.0, 0.0], "mean_poisson_deviance")
    sk("poisson_deviance", [1e-8, 5e5, 1e100], [3.0, 1e6, 2e100], "mean_poisson_deviance")
    sk("gamma_deviance", [1e-100, 3e-100, 1e100, 2.0, 1e-5], [2e-100, 1e-100, 5e99, 1e3, 3.0],
       "mean_gamma_deviance")
    powers = (0.0, 1.0, 1.5, 2.0, 3.0, -1.0, -0.5, 1.2, 2.5)
    for power in powers:
        for shape in ((8,), (4, 3)):
            mu, y = rng.uniform(0.1, 4, shape), rng.uniform(0.1, 4, shape)
            if power == 0.0:
                mu, y = rng.normal(size=shape), rng.normal(size=shape)
            sk("tweedie_deviance", mu, y, f"mean_tweedie_deviance(power={power:g})", power=power)
        if power < 2:  # y = 0 is allowed; for power < 0 negative y too
            y = [0.0, 0.0, 2.0, 0.5, 0.0, 7.0] if power >= 0 else [0.0, -1.5, 2.0, -3.0, 0.0, 7.0]
            sk("tweedie_deviance", [0.3, 2.0, 1e-3, 4.0, 1e-8, 6.0], y,
               f"mean_tweedie_deviance(power={power:g})", power=power)
        # tiny and huge scales, the predictions far from the labels
        sk("tweedie_deviance", [1e-8, 3e-6, 2e3, 0.7], [2e-8, 1e-6, 5e3, 9.0],
           f"mean_tweedie_deviance(power={power:g})", power=power)
        sk("tweedie_deviance", rng.lognormal(0, 2, 6), rng.lognormal(0, 2, 6),
           f"mean_tweedie_deviance(power={power:g})", power=power)

    # PyTorch: full=True
    for shape in ((9,), (4, 3)):
        z = rng.normal(0, 1.5, shape)
        counts = rng.choice([0.0, 1.0, 0.5, 2.0, 3.0, 7.0, 40.0, 1e6], shape)
        add("torch", "poisson_nll", {"predictions": z, "labels": counts},
            "torch.nn.functional.poisson_nll_loss(full=True)", full=True)
        add("torch", "poisson_nll", {"predictions": np.exp(z), "labels": counts},
            "torch.nn.functional.poisson_nll_loss(log_input=False, full=True)", full=True, log_input=False)
        add("torch", "poisson_nll", {"predictions": np.exp(z), "labels": counts},
            "torch.nn.functional.poisson_nll_loss(log_input=False, full=True, eps=1e-3)",
            full=True, log_input=False, eps=1e-3)
        m, tg = rng.normal(size=shape), rng.normal(size=shape)
        add("torch", "gaussian_nll", {"mean": m, "target": tg, "var": rng.uniform(0.05, 3, shape)},
            "torch.nn.functional.gaussian_nll_loss(full=True)", full=True)
        add("torch", "gaussian_nll", {"mean": m, "target": tg, "var": rng.uniform(0.5, 3, shape)},
            "torch.nn.functional.gaussian_nll_loss(full=True, eps=0.1)", full=True, eps=0.1)
    for case in out:
        if case["library"] == "torch" and case["loss"] == "gaussian_nll":
            case["grads"] = ["mean", "var"]

    # Keras (jax backend) and optax, where they are the same function
    for shape in shapes:
        p, t = rng.normal(size=shape), rng.normal(size=shape)
        for loss in ("mse", "mae", "log_cosh"):
            add("keras", loss, {"predictions": 3 * p, "labels": t}, f"keras.losses ({loss}), jax.grad")
        for delta in (1.0, 0.4, 2.5):
            add("keras", "huber", {"predictions": 2 * p, "labels": t}, f"keras.losses.huber(delta={delta})",
                delta=delta)
            add("optax", "huber", {"predictions": 2 * p, "labels": t}, f"optax.losses.huber_loss(delta={delta})",
                delta=delta)
        add("optax", "mse", {"predictions": p, "labels": t}, "optax.losses.squared_error, row mean")
        add("optax", "log_cosh", {"predictions": 3 * p, "labels": t}, "optax.losses.log_cosh, row mean")
        add("optax", "l2", {"predictions": p, "labels": t}, "optax.losses.l2_loss, row sum", half=True)
        add("keras", "msle", {"predictions": rng.uniform(1e-3, 5, shape), "labels": rng.uniform(1e-3, 5, shape)},
            "keras.losses.mean_squared_logarithmic_error (all values >= 1e-3, above its 1e-7 clip)")
        add("keras", "poisson_nll", {"predictions": rng.uniform(0.1, 4, shape), "labels": rng.poisson(2.0, shape)},
            "keras.losses.poisson (= poisson_nll with log_input=false, eps=1e-7)", log_input=False, eps=1e-7)
    big, tiny = rng.normal(0, 1e4, 6), rng.normal(0, 1e4, 6)
    for loss in ("mse", "mae", "huber", "log_cosh"):
        add("keras", loss, {"predictions": big, "labels": tiny}, f"keras.losses ({loss}) at |d| ~ 1e4")
    for loss in ("mse", "huber", "log_cosh"):
        add("optax", loss, {"predictions": big, "labels": tiny}, f"optax.losses ({loss}) at |d| ~ 1e4")
    # Huber at |d| = δ exactly (the kink: both sides give δ·sign(d)) and d = 0
    p = np.array([1.0, -1.0, 0.0, 2.0, 0.5])
    t = np.array([0.0, 0.0, 0.0, 2.5, 0.5])
    add("keras", "huber", {"predictions": p, "labels": t}, "keras.losses.huber at |d| = δ and d = 0")
    add("optax", "huber", {"predictions": p, "labels": t}, "optax.losses.huber_loss at |d| = δ and d = 0")
    # (no Keras MAE at d = 0: jax differentiates |x| at 0 as 1, PyTorch as 0; losscli takes PyTorch's 0)
    return out


def compute(all_cases: list[dict]) -> list[tuple[dict, dict]]:
    import torch

    torch.set_num_threads(1)  # reductions in a fixed order: reproducible output
    done = []
    for case in all_cases:
        lib = case["library"]
        result = (sklearn_result if lib == "sklearn" else torch_result if lib == "torch" else jax_result)(case)
        done.append((case, result))
    return done


def main() -> None:
    import jax

    jax.config.update("jax_enable_x64", True)
    import keras
    import optax
    import sklearn
    import torch

    keras.config.set_floatx("float64")
    versions = {"scikit-learn": sklearn.__version__, "torch": torch.__version__, "jax": jax.__version__,
                "optax": optax.__version__, "keras": keras.__version__}
    reference_files.write("regression", compute(cases()),
                          generator="tests/reference/generate_regression_reference.py",
                          library_versions=versions)


if __name__ == "__main__":
    main()
