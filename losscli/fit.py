"""``fit``: fit a linear model (regression losses) or a linear classifier (classification losses)
to a CSV by full-batch gradient descent on any registered loss, with its analytic gradient.

The loop every course describes: initialise (zeros), predict f = Xw + b, compute the loss,
back-propagate (∂L/∂w = Xᵀg/N, ∂L/∂b = Σg/N, g = the loss's gradient w.r.t. its predictions),
step w -= lr(t)·∂L/∂w, repeat. Features are standardised internally (zero mean, unit variance) so
one learning rate suits every column; the reported coefficients are mapped back to the original
units. An optional penalty λ₁‖w‖₁ + λ₂·½‖w‖² applies to the standardised weights (not the
intercept), as scikit-learn does after a StandardScaler.

Learning-rate schedules (t = epoch, from 0):
    constant     lr = base
    step         lr = base · factor^floor(t / step_size)
    exponential  lr = base · e^(-k t)
    inverse      lr = base / (1 + k t)
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field

import numpy as np

from .errors import InputError, LossCliError
from .registry import Loss

SCHEDULES = ("constant", "step", "exponential", "inverse")


def learning_rate(schedule: str, base: float, t: int, *, step_size: int = 10, factor: float = 0.1,
                  decay: float = 0.01) -> float:
    if schedule == "constant":
        return base
    if schedule == "step":
        return base * factor ** (t // step_size)
    if schedule == "exponential":
        return base * math.exp(-decay * t)
    if schedule == "inverse":
        return base / (1.0 + decay * t)
    raise LossCliError(f"--schedule: expected one of {', '.join(SCHEDULES)}, got {schedule!r}")


@dataclass
class FitResult:
    loss: str
    features: list
    coef: np.ndarray  # (F,) or (F, C), original units
    intercept: np.ndarray
    history: list = field(default_factory=list)  # (epoch, lr, risk, penalty)

    @property
    def final_loss(self) -> float:
        return self.history[-1][2] + self.history[-1][3]


def _target_kind(loss: Loss) -> str:
    first = loss.inputs[0]
    if first.shape == "N,C":
        return "multiclass"
    return "scores"


def _require_fittable(loss: Loss) -> None:
    if not loss.has_gradient:
        raise LossCliError(f"fit: {loss.no_gradient_message()}")
    if loss.coupling == "batch" or len(loss.required_inputs) != 2:
        raise LossCliError(f"fit: {loss.name} is not a prediction/label loss (inputs: {loss.describe_inputs()})")


def fit(loss: Loss, X: np.ndarray, y: np.ndarray, params: dict, *, lr: float = 0.1, epochs: int = 200,
        schedule: str = "constant", step_size: int = 10, factor: float = 0.1, decay: float = 0.01,
        l1: float = 0.0, l2: float = 0.0, features=None, progress=None) -> FitResult:
    _require_fittable(loss)
    params = loss.resolve_params(params)
    n, f = X.shape
    mu, sd = X.mean(axis=0), X.std(axis=0)
    sd = np.where(sd > 0, sd, 1.0)
    Z = (X - mu) / sd
    multiclass = _target_kind(loss) == "multiclass"
    if multiclass:
        classes = int(y.max()) + 1
        W, b = np.zeros((f, classes)), np.zeros(classes)
    else:
        W, b = np.zeros(f), 0.0
    role = loss.inputs[0].name
    history = []
    for t in range(epochs + 1):
        pred = Z @ W + b
        with np.errstate(all="ignore"):
            risk = float(np.mean(loss.fn(pred, y, **params)))
        pen = float(l1 * np.abs(W).sum() + l2 * 0.5 * (W * W).sum())
        rate = learning_rate(schedule, lr, t, step_size=step_size, factor=factor, decay=decay)
        if not math.isfinite(risk):
            raise LossCliError(f"fit: the loss diverged at epoch {t} (lr {rate:g}); lower --lr or use a schedule")
        history.append((t, rate, risk, pen))
        if progress:
            progress(t)
        if t == epochs:
            break
        with np.errstate(all="ignore"):
            g = loss.grad(pred, y, **params)[role] / n
        gW = Z.T @ g + l1 * np.sign(W) + l2 * W
        gb = g.sum(axis=0)
        W = W - rate * gW
        b = b - rate * gb
    coef = (W.T / sd).T
    intercept = np.asarray(b - (mu / sd) @ W)
    return FitResult(loss.name, list(features or range(f)), coef, intercept, history)


def load_data(spec: str, target: str | None, feature_sel: str | None, loss: Loss, params: dict):
    """Features X (N, F) and validated labels y from one CSV/NPY table."""
    from .readers import Array, InputCache, split_spec
    from .validation import bind, validate_inputs

    cache = InputCache()
    path, _ = split_spec(spec)
    block = next(cache.reader(path).blocks(None))
    if block.arrays is not None:
        raise InputError(f"{path}: fit needs a table with named columns (CSV or Parquet)")
    names = [n for n in block.order if n in block.columns]
    tgt = target or names[-1]
    if tgt not in block.order:
        raise InputError(f"{path}: no target column {tgt!r} (columns: {', '.join(block.order)})")
    feats = feature_sel.split(",") if feature_sel else [n for n in names if n != tgt]
    whole = cache.load(f"{path}:{','.join(feats)}")
    X = whole.data.reshape(whole.data.shape[0], -1)
    labels = cache.load(f"{path}:{tgt}")
    if not np.all(np.isfinite(X)):
        r = int(np.argwhere(~np.isfinite(X))[0][0])
        raise InputError(f"{whole.where(r)}: a feature is NaN or infinite")
    first = loss.inputs[0]
    if first.shape == "N,C":
        classes = int(np.nanmax(labels.data)) + 1 if labels.data.size else 1
        dummy = np.zeros((X.shape[0], max(classes, 2)))
    else:
        dummy = np.zeros(X.shape[0])
    checked = validate_inputs(loss, bind(loss, [Array(dummy, "predictions"), labels]), "raise", params)
    return X, checked.arrays[loss.inputs[1].name], list(whole.columns or feats)


def run_fit(loss_name: str, data: str, *, target=None, features=None, params=(), lr=0.1, epochs=200,
            schedule="constant", step_size=10, factor=0.1, decay=0.01, l1=0.0, l2=0.0, fmt="table",
            output=None) -> int:
    from .compute import parse_param_options, select_losses
    from .formats import FIT_FORMATS, emit

    losses = select_losses(loss_name)
    if len(losses) != 1:
        raise LossCliError("fit takes one loss")
    loss = losses[0]
    _require_fittable(loss)
    by_loss = parse_param_options(losses, params)[loss.name]
    X, y, names = load_data(data, target, features, loss, by_loss)
    progress = _progress(epochs)
    with progress as tick:
        result = fit(loss, X, y, by_loss, lr=lr, epochs=epochs, schedule=schedule, step_size=step_size,
                     factor=factor, decay=decay, l1=l1, l2=l2, features=names, progress=tick)
    payload = fit_record(result, schedule, lr)
    if output and output.rsplit(".", 1)[-1].lower() in ("png", "svg", "pdf"):
        save_curve(payload, output)
        emit(FIT_FORMATS[fmt](payload))
    elif output and output.lower().endswith(".csv"):
        emit(FIT_FORMATS["csv"](payload), output)
        emit(FIT_FORMATS[fmt](payload))
    else:
        emit(FIT_FORMATS[fmt](payload), output)
    return 0


def fit_record(r: FitResult, schedule: str, lr: float) -> dict:
    coef = r.coef.tolist()
    return {"loss": r.loss, "features": r.features, "coef": coef, "intercept": r.intercept.tolist(),
            "final_loss": r.final_loss, "epochs": len(r.history) - 1, "schedule": schedule, "lr": lr,
            "history": [{"epoch": t, "lr": rate, "risk": risk, "penalty": pen} for t, rate, risk, pen in r.history]}


class _progress:
    """A rich progress bar over epochs on stderr, only on a terminal."""

    def __init__(self, epochs: int):
        self.epochs = epochs

    def __enter__(self):
        if not sys.stderr.isatty():
            return None
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.bar = Progress(TextColumn("epochs"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                            transient=True, console=Console(stderr=True))
        self.bar.__enter__()
        task = self.bar.add_task("fit", total=self.epochs)
        return lambda t: self.bar.update(task, completed=t)

    def __exit__(self, *exc):
        if hasattr(self, "bar"):
            self.bar.__exit__(*exc)
        return False


def save_curve(payload: dict, path: str) -> None:
    from .plot import save_image

    h = payload["history"]
    save_image({"axis": "epoch", "series": [{
        "label": f"{payload['loss']} ({payload['schedule']})", "x": [e["epoch"] for e in h],
        "loss_values": [e["risk"] + e["penalty"] for e in h], "derivative": [e["lr"] for e in h]}]}, path,
        titles=("loss", "learning rate"))
