"""The curves ``plot`` draws: a loss and its derivative over the natural axis of its family.

- regression losses against the residual r = y - f(x) (labels = r, predictions = 0);
- margin losses (hinge, squared hinge, exponential, logistic = bce_logits, 0-1) against the
  margin m = y·f(x) (labels = +1, scores = m);
- bce against the predicted probability p, one curve for y = 1 and one for y = 0;
- focal loss against p_t, the probability of the true class (logit log(p/(1-p)), label 1).

Derivatives come from the registry's analytic gradients through the chain rule, so the picture
shows the gradient a model would receive. Drawing them is ``render/chart.py``'s job.
"""

from __future__ import annotations

import numpy as np

from .errors import LossCliError
from .registry import Loss

#: the axis each family is drawn against; anything else is refused with the list of what works
AXES = {"bce": "probability", "focal": "pt", "bce_logits": "margin", "zero_one": "margin"}
AXIS_LABELS = {"residual": "residual y - f(x)", "margin": "margin y·f(x)",
               "probability": "predicted probability p", "pt": "probability of the true class p_t"}
DEFAULT_RANGES = {"residual": (-3.0, 3.0), "margin": (-3.0, 3.0), "probability": (0.001, 0.999),
                  "pt": (0.001, 0.999)}


def axis_of(loss: Loss) -> str | None:
    if loss.name in AXES:
        return AXES[loss.name]
    names = loss.input_names
    if loss.category == "regression" and names[:2] == ("predictions", "labels") and len(loss.required_inputs) == 2:
        return "residual"
    if names[:2] == ("scores", "labels"):
        return "margin"
    return None


def curves(loss: Loss, params: dict, x: np.ndarray) -> list[tuple[str, np.ndarray, np.ndarray | None]]:
    """[(label, loss values, derivative or None)] along x for this loss's axis."""
    axis = axis_of(loss)
    if axis is None:
        plottable = ", ".join(sorted(l.name for l in _all() if axis_of(l)))
        raise LossCliError(f"plot: {loss.name} has no 1-D natural axis (plottable: {plottable})")
    params = loss.resolve_params(params)
    if loss.name == "zero_one":
        params = {**params, "mode": "sign"}
    out = []
    with np.errstate(all="ignore"):
        if axis == "residual":
            zero = np.zeros_like(x)
            v = loss.fn(zero, x, **params)
            g = -_grad(loss, (zero, x), params)["predictions"] if loss.has_gradient else None  # L(p - r)
            out.append((loss.name, v, g))
        elif axis == "margin":
            ones = np.ones_like(x)
            v = loss.fn(x, ones, **params)
            g = None
            if loss.has_gradient:
                g = next(iter(_grad(loss, (x, ones), params).values()))
            out.append((loss.name if loss.name != "bce_logits" else "logistic (bce_logits)", v, g))
        elif axis == "probability":
            for y in (1.0, 0.0):
                labels = np.full_like(x, y)
                v = loss.fn(x, labels, **params)
                g = _grad(loss, (x, labels), params)["predictions"] if loss.has_gradient else None
                out.append((f"{loss.name} y={y:g}", v, g))
        else:  # pt: focal on the logit of p_t with label 1
            logits = np.log(x) - np.log1p(-x)
            ones = np.ones_like(x)
            v = loss.fn(logits, ones, **params)
            g = _grad(loss, (logits, ones), params)["logits"] / (x * (1 - x))
            out.append((loss.name, v, g))
    return out


def _grad(loss: Loss, arrays: tuple, params: dict) -> dict:
    return loss.gradient_of(dict(zip(loss.input_names, arrays)), params)


def _all():
    from .catalogue import list_losses

    return list_losses()


def sample(losses: list[Loss], by_loss: dict, sweep: tuple[str, list] | None, lo: float | None,
           hi: float | None, points: int) -> dict:
    """The sampled points of every curve, as plain data (the CSV/JSON output and the charts)."""
    axes = {axis_of(l) for l in losses}
    if None not in axes and len(axes) > 1:
        raise LossCliError("plot: these losses live on different axes ("
                           + ", ".join(f"{l.name}: {axis_of(l)}" for l in losses) + "); plot them separately")
    series = []
    for loss in losses:
        settings = [dict(by_loss.get(loss.name, {}))]
        if sweep is not None:
            name, values = sweep
            if name not in loss.params:
                raise LossCliError(f"--sweep: {loss.name} has no parameter {name!r} "
                                   f"(valid: {', '.join(loss.params) or 'none'})")
            settings = [{**settings[0], name: loss.params[name].parse(v, f"--sweep {loss.name}.{name}")}
                        for v in values]
        axis = axis_of(loss)
        a, b = DEFAULT_RANGES.get(axis, (-3, 3)) if axis else (-3, 3)
        a, b = (a if lo is None else lo), (b if hi is None else hi)
        if axis in ("probability", "pt"):
            a, b = max(a, 1e-6), min(b, 1 - 1e-6)
        x = np.linspace(a, b, points)
        for st in settings:
            for label, v, g in curves(loss, st, x):
                suffix = f" {sweep[0]}={st[sweep[0]]:g}" if sweep is not None else ""
                series.append({"loss": loss.name, "label": label + suffix, "params": st, "axis": axis,
                               "x": x.tolist(), "loss_values": np.asarray(v, float).tolist(),
                               "derivative": None if g is None else np.asarray(g, float).tolist()})
    drawn = next(iter(axes))
    assert drawn is not None  # curves() refused every loss without an axis
    return {"axis": AXIS_LABELS[drawn], "series": series}
