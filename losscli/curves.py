"""The curves ``plot`` draws: a loss and its derivative over the natural axis of its family.

- regression losses against the residual r = y - f(x) (labels = r, predictions = 0); a root loss
  (rmse) as the value one sample gets, the root of its per-sample value (|r|);
- margin losses (hinge, squared hinge, exponential, logistic = bce_logits, 0-1) against the
  margin m = y·f(x) (labels = +1, scores = m);
- bce against the predicted probability p, one curve for y = 1 and one for y = 0;
- focal loss against p_t, the probability of the true class (logit log(p/(1-p)), label 1, so
  its α weight is α itself). bce drawn beside focal is drawn against p_t too: -log p_t, the
  same curve for either label (Lin et al. 2017, fig. 1 compares them so).

Derivatives come from the registry's analytic gradients through the chain rule, so the picture
shows the gradient a model would receive; ``DERIVATIVE_LABELS`` says w.r.t. what, sign included.
Drawing them is ``render/chart.py``'s job; what the picture says (title, legends with the
parameters used, the derivative's y view) is decided here, once, for the terminal and the image.
"""

from __future__ import annotations

import numpy as np

from .errors import LossCliError, value_text
from .loss import Loss

#: the axis each family is drawn against; anything else is refused with the list of what works
AXES = {"bce": "probability", "focal": "pt", "bce_logits": "margin", "zero_one": "margin"}
#: axes a loss can also be drawn against, to share a chart with losses of that axis (its own first)
ALSO_ON = {"bce": ("pt",)}
AXIS_LABELS = {"residual": "residual r = y - f(x)", "margin": "margin m = y·f(x)",
               "probability": "predicted probability p", "pt": "probability of the true class p_t"}
#: the variable of each axis, in the panels' y labels: L(r), dL/dr
SYMBOLS = {"residual": "r", "margin": "m", "probability": "p", "pt": "p_t"}
#: the derivative panel's y label says w.r.t. what exactly: dL/dr is minus the gradient w.r.t.
#: the prediction f (r = y - f); dL/dm is the gradient w.r.t. the score f at y = +1
DERIVATIVE_LABELS = {"residual": "dL/dr w.r.t. the residual r (= -dL/df)",
                     "margin": "dL/dm w.r.t. the margin m (= dL/df at y = +1)",
                     "probability": "dL/dp w.r.t. the predicted probability p",
                     "pt": "dL/dp_t w.r.t. p_t"}
DEFAULT_RANGES = {"residual": (-3.0, 3.0), "margin": (-3.0, 3.0), "probability": (0.001, 0.999),
                  "pt": (0.001, 0.999)}
#: the derivative panel's y view is clipped to these quantiles of all its finite values ...
CLIP_QUANTILES = (0.05, 0.95)
#: ... when its whole range is more than this many times wider: bce's 1/p reaches ±1000 at the
#: ends of the axis (focal's -α/p_t, -250) and would flatten every curve to a line on zero
CLIP_RATIO = 3.0
#: the clipped view is widened by this fraction of its height on each side (no curve on the frame),
#: then rounded outward to a multiple of a round step, about 1/CLIP_STEPS of its height
CLIP_MARGIN = 0.05
CLIP_STEPS = 20


def axis_of(loss: Loss) -> str | None:
    if loss.name in AXES:
        return AXES[loss.name]
    names = loss.input_names
    if not _one_d(loss):
        return None
    if loss.category == "regression" and names[:2] == ("predictions", "labels"):
        return "residual" if _of_residual(loss) is not False else None  # (cannot tell here: the range decides)
    if names[:2] == ("scores", "labels"):
        return "margin"
    return None


def _one_d(loss: Loss) -> bool:
    """Whether the loss takes two inputs of one value a sample ((N,) or (N, ...)): a curve is drawn
    from 1-D arrays; multi_margin's (N, C) rows of class scores are not."""
    from .shapes import alternatives_of

    return len(loss.required_inputs) == 2 and any(
        alt in (("N",), ("N", "...")) for alt in alternatives_of(loss.inputs[0].shape))


#: residuals, and shifts of prediction and label together, at which a loss of the residual alone is
#: seen to be one: L(c, r + c) = L(0, r). msle, mape and the Poisson and Gamma losses depend on the
#: label or the prediction themselves, and drawn at prediction 0 their curves were not theirs
SHIFT_PROBE = (np.linspace(-3.0, 3.0, 13), (0.5, 2.0, 7.0))


def _of_residual(loss: Loss, params: dict | None = None, at: np.ndarray | None = None) -> bool | str:
    """Whether a regression loss, with these parameters (default: its defaults), may be a function
    of the residual y - f alone: False where the probe sees two finite values of one residual
    differ, True where every value it could compare agrees (a loss undefined at some of the
    probe's points, a barrier, a root of a negative, is drawn NaN where it is undefined), and why
    it cannot tell where it compared nothing: the loss raised, or gave no finite value. A probe
    that cannot run is not a yes: a loss of the label itself drew at prediction 0 a curve not its own."""
    r, shifts = SHIFT_PROBE
    if at is not None:  # (the residuals drawn: a loss defined only there, sqrt(y - f) at 0.5:3, is probed there)
        r = np.unique(at[np.linspace(0, at.size - 1, min(at.size, 13)).astype(int)])
    params = loss.resolve_params(params or {})
    with np.errstate(all="ignore"):
        try:
            at0 = np.asarray(loss.fn(np.zeros_like(r), r, **params), dtype=np.float64)
            moved = [np.asarray(loss.fn(np.full_like(r, c), r + c, **params), dtype=np.float64) for c in shifts]
        except Exception as exc:
            return f"it raised {type(exc).__name__}: {exc}"
    seen = [at0, *moved]
    compared = 0
    for i, a in enumerate(seen):  # (every pair: at prediction 0 a loss of y, f > 0 is defined nowhere)
        for b in seen[i + 1:]:
            if a.shape != b.shape or a.shape != r.shape:
                return f"it gave {a.shape[0] if a.ndim else 1} values for {r.size} samples"
            both = np.isfinite(a) & np.isfinite(b)
            compared += int(both.sum())
            if not np.allclose(a[both], b[both], rtol=1e-9, atol=1e-12):
                return False
    return True if compared else "it gave no finite value"


def _cannot_tell(loss: Loss, why: str, at: np.ndarray) -> LossCliError:
    return LossCliError(f"plot: cannot tell whether {loss.name} is a function of the residual y - f alone: at "
                        f"prediction c, label c + r (r from {at[0]:g} to {at[-1]:g}) {why}")


def axes_of(loss: Loss) -> tuple[str, ...]:
    """Every axis the loss can be drawn against, its own first (none: not plottable)."""
    own = axis_of(loss)
    return () if own is None else (own, *ALSO_ON.get(loss.name, ()))


def shared_axis(losses: list[Loss]) -> str:
    """The axis every loss can be drawn against: the first loss's own axis when possible."""
    for loss in losses:
        if axis_of(loss) is None:
            regression = loss.category == "regression" and loss.input_names[:2] == ("predictions", "labels")
            plottable = ", ".join(sorted(l.name for l in _all() if axis_of(l)))
            why = " (it is not a function of the residual y - f alone)" if regression and _one_d(loss) else ""
            takes = " takes (N, C) rows of class scores: it" if loss.input_names[:1] == ("scores",) and \
                not _one_d(loss) else ""
            raise LossCliError(f"plot: {loss.name}{takes} has no 1-D natural axis{why} (plottable: {plottable})")
    for axis in axes_of(losses[0]):
        if all(axis in axes_of(l) for l in losses):
            return axis
    raise LossCliError("plot: these losses live on different axes ("
                       + ", ".join(f"{l.name}: {axis_of(l)}" for l in losses) + "); plot them separately")


def drawn_params(loss: Loss, params: dict) -> dict:
    """The parameters the curve is computed with: defaults filled in, zero_one thresholding the
    sign of the margin (its threshold and its other modes apply to probabilities or class rows: a
    value given for them is refused, not drawn as mode=sign)."""
    if loss.name == "zero_one":  # (threshold and argmax read probabilities and class rows, not margins)
        for k, v in params.items():
            if k == "threshold" or (k == "mode" and v not in ("auto", "sign")):
                raise LossCliError(f"plot: zero_one is drawn against the margin, with mode=sign; -p {k}={_value(v)} "
                                   "does not apply to a margin: leave it out")
    params = loss.resolve_params(params)
    return {**params, "mode": "sign"} if loss.name == "zero_one" else params


def curves(loss: Loss, params: dict, x: np.ndarray, axis: str | None = None
           ) -> list[tuple[str, np.ndarray, np.ndarray | None]]:
    """[(label, loss values, derivative or None)] along x for this loss on ``axis`` (default: its own)."""
    axis = axis or shared_axis([loss])
    params = drawn_params(loss, params)
    out = []
    with np.errstate(all="ignore"):
        if axis == "residual":
            verdict = _of_residual(loss, params)
            if isinstance(verdict, str):  # (the probe's residuals told nothing: the drawn ones may)
                verdict = _of_residual(loss, params, x)
            if isinstance(verdict, str):
                raise _cannot_tell(loss, verdict, x)
            if not verdict:
                raise LossCliError(f"plot: {legend(loss.name, params)} is not a function of the residual y - f alone: "
                                   "it has no curve of the residual with these parameters")
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
            out.append((loss.name if loss.name != "bce_logits" else "logistic = bce_logits", v, g))
        elif axis == "probability":
            for y in (1.0, 0.0):
                labels = np.full_like(x, y)
                v = loss.fn(x, labels, **params)
                g = _grad(loss, (x, labels), params)["predictions"] if loss.has_gradient else None
                out.append((f"{loss.name} y={y:g}", v, g))
        elif loss.input_names[0] == "logits":  # pt: focal on the logit of p_t with label 1
            logits = np.log(x) - np.log1p(-x)
            ones = np.ones_like(x)
            v = loss.fn(logits, ones, **params)
            g = _grad(loss, (logits, ones), params)["logits"] / (x * (1 - x))
            out.append((loss.name, v, g))
        else:  # pt: a loss of probabilities (bce) at p = p_t with label 1, the same as 1 - p_t with label 0
            ones = np.ones_like(x)
            v = loss.fn(x, ones, **params)
            g = _grad(loss, (x, ones), params)["predictions"] if loss.has_gradient else None
            out.append((loss.name, v, g))
        if loss.root:
            out = [(label, *_rooted(v, g)) for label, v, g in out]
    return out


def _rooted(v, g):
    """A root loss's curve (rmse: the reported value is the root of the mean of the per-sample
    values): the value one sample gets, √l (|r| for rmse), and its derivative l' / (2√l), 0 where
    l = 0, as compute's gradient of the root (sign(r) for rmse, 0 at r = 0)."""
    root = np.sqrt(np.asarray(v, dtype=np.float64))
    if g is None:
        return root, None
    # (where l overflows, √l is inf and l'/(2√l) would be 0: not a number float64 has, so NaN, not 0)
    fine = np.isfinite(root) & (root > 0)
    return root, np.where(fine, np.asarray(g, dtype=np.float64) / np.where(fine, 2 * root, 1.0),
                          np.where(root == 0, 0.0, np.nan))


def _grad(loss: Loss, arrays: tuple, params: dict) -> dict:
    return loss.gradient_of(dict(zip(loss.input_names, arrays)), params)


def _all():
    from .catalogue import list_losses

    return list_losses()


def legend(label: str, params: dict, first: str | None = None) -> str:
    """``huber (delta=1)``: a curve's label with the parameter values it was computed with (a
    swept parameter ``first``), so a figure says what it shows without its command line."""
    names = sorted(params, key=lambda k: k != first)
    shown = ", ".join(f"{k}={_value(params[k])}" for k in names)
    return f"{label} ({shown})" if shown else label


def _value(v) -> str:
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_value(e) for e in v) + "]"
    return str(v)


def clipped_view(series: list[dict], key: str = "derivative") -> list[float] | None:
    """The y view [a, b] of a panel whose few extreme values would hide the shape of every curve
    (see ``CLIP_QUANTILES``, ``CLIP_RATIO``), or None: the whole range is drawn."""
    values = [np.asarray(s[key], dtype=np.float64) for s in series if s[key] is not None]
    finite = np.concatenate(values) if values else np.zeros(0)
    finite = finite[np.isfinite(finite)]
    if finite.size == 0:
        return None
    lo, hi = np.quantile(finite, CLIP_QUANTILES)
    with np.errstate(all="ignore"):  # (halved: the width of values near ±1.8e308 is beyond float64)
        if not hi > lo or finite.max() / 2 - finite.min() / 2 <= CLIP_RATIO * (hi / 2 - lo / 2):
            return None
        pad = CLIP_MARGIN * 2 * (hi / 2 - lo / 2)
        step = nice_step(2 * (hi / 2 - lo / 2) / CLIP_STEPS)
        view = [float(np.floor((lo - pad) / step) * step), float(np.ceil((hi + pad) / step) * step)]
    return view if all(np.isfinite(view)) and step > 0 else None


def nice_step(v: float) -> float:
    """The smallest of 1, 2, 5 × 10^k at least v: a view whose ends a reader can quote."""
    scale = 10.0 ** np.floor(np.log10(v))
    return float(next(m * scale for m in (1, 2, 5, 10) if m * scale >= v * (1 - 1e-9)))


def axis_points(a: float, b: float, points: int) -> np.ndarray:
    """``points`` points from a to b (finite, a < b), evenly spaced, every one in [a, b], both ends
    exact: computed in halves where b - a is beyond float64 (-1e308:1.7e308), so no point is inf
    or NaN."""
    with np.errstate(all="ignore"):
        if np.isfinite(b - a):
            x = np.linspace(a, b, points)
        else:
            x = 2.0 * np.linspace(a / 2, b / 2, points)
    x = np.clip(x, a, b)
    x[0], x[-1] = a, b
    return x


def sample(losses: list[Loss], by_loss: dict, sweep: tuple[str, list] | None, lo: float | None,
           hi: float | None, points: int) -> dict:
    """The sampled points of every curve, as plain data (the CSV/JSON output and the charts),
    with what a figure of them says: title, panel labels, legends, the derivative's y view."""
    axis = shared_axis(losses)
    series = []
    swept: list = []
    for loss in losses:
        settings = [dict(by_loss.get(loss.name, {}))]
        if sweep is not None:
            name, values = sweep
            if name not in loss.params:
                raise LossCliError(f"--sweep: {loss.name} has no parameter {name!r} "
                                   f"(valid: {', '.join(loss.params) or 'none'})")
            settings = [{**settings[0], name: loss.params[name].parse(v, f"--sweep {loss.name}.{name}")}
                        for v in values]
        a, b = DEFAULT_RANGES[axis]
        a, b = (a if lo is None else lo), (b if hi is None else hi)
        if axis in ("probability", "pt"):
            if a < 0 or b > 1:
                raise LossCliError(f"--range: {loss.name} is drawn against a probability, in [0, 1] "
                                   f"(its ends as 1e-6 and 1 - 1e-6); got {_value(a)}:{_value(b)}")
            a, b = max(a, 1e-6), min(b, 1 - 1e-6)
            if not a < b:  # (0:1e-7 was drawn from 1e-6 down to 1e-7: outside the range, reversed)
                raise LossCliError(f"--range: {loss.name} is drawn against a probability, from 1e-06 to 1 - 1e-06; "
                                   f"{value_text(lo)}:{value_text(hi)} has no point there: give LO < HI with HI > 1e-06 "
                                   "and LO < 1 - 1e-06")
        x = axis_points(a, b, points)
        for st in settings:
            used = drawn_params(loss, st)
            if sweep is not None and used[sweep[0]] not in swept:
                swept.append(used[sweep[0]])
            for label, v, g in curves(loss, st, x, axis):
                suffix = f" {sweep[0]}={_value(st[sweep[0]])}" if sweep is not None else ""
                series.append({"loss": loss.name, "label": label + suffix,
                               "legend": legend(label, used, sweep[0] if sweep else None), "params": used,
                               "axis": axis, "x": x.tolist(), "loss_values": np.asarray(v, np.float64).tolist(),
                               "derivative": None if g is None else np.asarray(g, np.float64).tolist()})
    names = ", ".join(l.name for l in losses)
    if sweep is not None:
        names += f" for {sweep[0]} = " + ", ".join(_value(v) for v in swept)
    return {"axis": AXIS_LABELS[axis], "title": f"{names} against the {AXIS_LABELS[axis]}",
            "loss_label": f"loss L({SYMBOLS[axis]})", "loss_symbol": f"L({SYMBOLS[axis]})",
            "derivative_label": f"derivative {DERIVATIVE_LABELS[axis]}", "derivative_symbol": f"dL/d{SYMBOLS[axis]}",
            "derivative_view": clipped_view(series), "series": series}
