"""A user's own losses, registered through the same door as losscli's built-ins.

    losscli --plugin examples/my_losses.py info pseudo_huber
    losscli --plugin examples/my_losses.py gradcheck pseudo_huber cauchy
    losscli --plugin examples/my_losses.py compute pseudo_huber sample_data/regression/preds.csv sample_data/regression/labels.csv

``cauchy`` carries a deliberate bug in its gradient (a factor 2 where there is none), so you can
see what a failing gradcheck looks like: exit code 1 and the offending elements listed.
"""

import numpy as np

from losscli import Input, Param, register_loss


@register_loss(
    "pseudo_huber",
    inputs=(Input("predictions", "N,...", "real"), Input("labels", "=predictions", "real")),
    params={"delta": Param(1.0, constraint=">0")},
    category="regression", coupling="elementwise",
    formula="l_i = mean_j δ²(sqrt(1 + (d_ij/δ)²) - 1),  d = p - t",
    gradient_formula="∂L/∂p_ij = d_ij / sqrt(1 + (d_ij/δ)²) / M",
    references=("Charbonnier et al., Two deterministic half-quadratic regularization algorithms "
                "for computed imaging, ICIP 1994",),
)
def pseudo_huber(predictions, labels, delta=1.0):
    """Pseudo-Huber: δ²(sqrt(1 + (d/δ)²) - 1), a smooth Huber (Charbonnier et al. 1994)."""
    d = predictions - labels
    return (delta**2 * (np.sqrt(1.0 + (d / delta) ** 2) - 1.0)).reshape(len(d), -1).mean(axis=1)


@pseudo_huber.gradient
def _(predictions, labels, delta=1.0):
    d = predictions - labels
    m = d[0].size if d.ndim > 1 else 1
    return {"predictions": d / np.sqrt(1.0 + (d / delta) ** 2) / m}


@register_loss(
    "cauchy", category="regression", coupling="elementwise",
    params={"c": Param(1.0, constraint=">0")},
    formula="l_i = mean_j (c²/2) log(1 + (d_ij/c)²)",
    references=("Black & Anandan, The robust estimation of multiple motions, CVIU 63(1), 1996",),
)
def cauchy(predictions, labels, c=1.0):
    """Cauchy (Lorentzian) loss: (c²/2) log(1 + (d/c)²) (Black & Anandan 1996), averaged over a row."""
    d = predictions - labels
    return (0.5 * c**2 * np.log1p((d / c) ** 2)).reshape(len(d), -1).mean(axis=1)


@cauchy.gradient
def _(predictions, labels, c=1.0):
    d = predictions - labels
    m = d[0].size if d.ndim > 1 else 1
    return {"predictions": 2 * d / (1.0 + (d / c) ** 2) / m}  # BUG on purpose: the 2 should not be there


@register_loss(
    "sqrt_gap", category="regression", coupling="elementwise",
    formula="l_i = mean_j sqrt(p_ij - t_ij)  (defined for p >= t only)",
    references=("A loss whose declaration leaves out its domain: at p = t, gradcheck cannot step both ways",),
)
def sqrt_gap(predictions, labels):
    """sqrt(p - t): defined only where p >= t, which the declared inputs (real numbers) do not say,
    so at p = t a step either way leaves it; gradcheck says inconclusive there, not FAIL."""
    d = predictions - labels
    with np.errstate(invalid="ignore"):
        return np.sqrt(d).reshape(len(d), -1).mean(axis=1)


@sqrt_gap.gradient
def _(predictions, labels):
    d = predictions - labels
    m = d[0].size if d.ndim > 1 else 1
    with np.errstate(divide="ignore"):
        return {"predictions": 0.5 / np.sqrt(d) / m}
