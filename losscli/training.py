"""Gradient descent for ``fit``: a linear model (regression losses) or a linear classifier (classification losses)
to a CSV by full-batch gradient descent on any registered loss, with its analytic gradient.

The loop every course describes: initialise (zeros), predict f = Xw + b, compute the loss,
back-propagate (∂L/∂w = Xᵀg/D, ∂L/∂b = Σg/D, D = N or the loss's own mean denominator, g = the
loss's gradient w.r.t. its predictions), step w -= lr(t)·∂L/∂w, repeat. Features are standardised
internally (zero mean, unit variance) so one learning rate suits every column; the reported
coefficients are mapped back to the original units. An optional penalty λ₁‖w‖₁ + λ₂·½‖w‖² applies
to the standardised weights (not the intercept), as scikit-learn does after a StandardScaler and
glmnet with ``standardize=TRUE``; the L1 part by proximal steps (each step's soft threshold
lr·λ₁, ISTA), so a weight whose optimum is 0 is exactly 0, where subgradient steps swung around it.
A column holding one value in every row is left out of the descent (its spread, 0, would be a
rounding error's: 1e-17 scaled coefficients to 1e16): its coefficient is 0, said in a warning.

Learning-rate schedules: ``schedules.py``.

A run whose loss has not improved since its first tenth and ends above its best (steps that
overshoot back and forth) ends with a warning saying so; so does one still falling at its end (more
than ``STILL_FALLING`` of its fall in its last tenth: bounded gradients move a far intercept by at
most lr an epoch), and one whose learning rate reached 0 before its end (a schedule's factor 0).

A run that diverges is stopped early, with the way out (a lower --lr): at a non-finite loss, or
when the objective (risk + penalty) has grown for ``DIVERGENCE_EPOCHS`` epochs in a row and is
above where it started; a run shorter than that whose every epoch grew it above its start is one
too (5 epochs at a diverging lr ended at 208756 from 40.57, exit 0). Both together: a converging run's noise (subgradient steps, a step
schedule's restarts) goes up and down, or up for a while below its start; a run with too large
a step grows geometrically from its first epochs, and passes its start within a few of them.

The history kept is bounded (``HISTORY_LIMIT`` entries, evenly spaced, the first and the last
epoch always in): a curve of 200,000 epochs is no better drawn than one of 1,000, its JSON was
20 MB, and its memory grew with --epochs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .errors import LossCliError
from .loss import Loss
from .penalty import Penalty
from .schedules import learning_rate
from .shapes import is_class_table

#: consecutive epochs of a growing objective (above its start) after which a run is diverging
DIVERGENCE_EPOCHS = 20
#: the most entries a fit's history keeps (JSON, CSV, the charts): epochs 0 to 1,000 kept whole
HISTORY_LIMIT = 1001
#: the share of a run's fall in its last tenth of epochs above which it was still falling (a
#: converging run's fall shrinks geometrically: 1e-2 of it in the last tenth is far from settled)
STILL_FALLING = 0.01


@dataclass
class FitResult:
    loss: str
    features: list
    coef: np.ndarray  # (F,) or (F, C), original units
    intercept: np.ndarray
    history: list = field(default_factory=list)  # (epoch, lr, risk, penalty), every history_every-th epoch
    epochs: int = 0  # epochs run (the last is always in the history)
    history_every: int = 1
    warnings: list = field(default_factory=list)  # a run that stopped improving long before its end


def require_fittable(loss: Loss) -> None:
    if not loss.has_gradient:
        raise LossCliError(f"fit: {loss.no_gradient_message()}")
    if loss.coupling == "batch" or len(loss.required_inputs) != 2:
        raise LossCliError(f"fit: {loss.name} is not a prediction/label loss (inputs: {loss.describe_inputs()})")
    from .shapes import alternatives_of

    shape = loss.inputs[0].shape
    if not is_class_table(shape) and not {("N",), ("N", "...")} & set(alternatives_of(shape)):
        raise LossCliError(f"fit: {loss.name} takes {loss.inputs[0].name} of shape ({shape}), and fit's linear model "
                           "gives one output a sample (or one a class): fit a loss of predictions and labels")
    if loss.ranked_by == "magnitude":  # (mbe: the descent lowered it to -45 and on, exit 0)
        raise LossCliError(f"fit: {loss.name} is a signed measure, bad either way, with no minimum (a descent lowers "
                           "it without end): fit a loss of the residual's size, such as mse or mae")


def history_every(epochs: int) -> int:
    """The smallest spacing k with which epochs 0, k, 2k, ... and the last one fit in HISTORY_LIMIT."""
    k = max(1, epochs // HISTORY_LIMIT)
    while epochs // k + 1 + (epochs % k != 0) > HISTORY_LIMIT:
        k += 1
    return k


def fit(loss: Loss, X: np.ndarray, y: np.ndarray, params: dict, *, lr: float = 0.1, epochs: int = 200,
        schedule: str = "constant", step_size: int = 10, factor: float = 0.1, decay: float = 0.01,
        l1: float = 0.0, l2: float = 0.0, features=None, progress=None) -> FitResult:
    require_fittable(loss)
    params = loss.resolve_params(params)
    n, f = X.shape
    # (each feature scaled by a power of two near its largest value first: exact, and 1e200s no longer
    # overflow the variance's squares, which made the spread inf and the feature all zeros: coef 0)
    big = np.max(np.abs(X), axis=0)
    scale = np.where((big > 0) & np.isfinite(big), np.ldexp(1.0, np.frexp(big)[1] - 1), 1.0)  # (<= big: finite)
    scaled = X / scale
    constant = np.ptp(X, axis=0) == 0 if n else np.ones(f, dtype=bool)  # (one value: 0 spread, exactly)
    m, s = np.where(constant, scaled[0] if n else 0.0, scaled.mean(axis=0)), scaled.std(axis=0)
    s = np.where(~constant & (s > 0), s, 1.0)
    Z = (scaled - m) / s  # (a constant column: 0 exactly, its weight never moves from 0)
    mu, sd = m * scale, s * scale
    multiclass = is_class_table(loss.inputs[0].shape)
    W: np.ndarray  # (F,) or (F, C)
    b: np.ndarray | float
    if multiclass:
        classes = int(y.max()) + 1
        W, b = np.zeros((f, classes)), np.zeros(classes)
    else:
        W, b = np.zeros(f), 0.0
    role = loss.inputs[0].name
    # the reported mean's denominator: N, or the loss's own (Σ class_weights[y_i]; the rows an
    # ignore_index leaves counted), as compute reports it; it depends on the labels alone
    normaliser = None if loss.mean_normaliser is None else loss.mean_normaliser(
        {role: Z @ W + b, loss.inputs[1].name: y}, params)
    denominator = float(n if normaliser is None else np.sum(normaliser))
    if not denominator > 0:
        raise LossCliError(f"fit: no row counts in {loss.name}'s mean (every label ignored or weighted 0)")
    history = []
    every = history_every(epochs)
    watch = _Divergence(lr, epochs)
    g2 = 0.0  # |g|² at the start (the first step's first-order decrease of the objective is lr·|g|²)
    for t in range(epochs + 1):
        with np.errstate(all="ignore"):
            pred = Z @ W + b
            mean = float(np.sum(loss.fn(pred, y, **params))) / denominator
            risk = math.sqrt(mean) if loss.root else mean  # (rmse: the root of the mean is the risk)
            pen = Penalty(l1, l2, W, "").value
        rate = learning_rate(schedule, lr, t, step_size=step_size, factor=factor, decay=decay)
        watch.check(t, risk + pen, rate)
        if t % every == 0 or t == epochs:
            history.append((t, rate, risk, pen))
        if progress:
            progress(t, risk + pen)
        if t == epochs:
            break
        with np.errstate(all="ignore"):
            g = loss.gradient_of({role: pred, loss.inputs[1].name: y}, params)[role] / denominator
            if loss.root:  # d√m = dm / (2√m); 0 where every residual is 0
                g = g / (2.0 * risk) if risk > 0 else np.zeros_like(g)
            gW = Z.T @ g + l2 * W
            gb = g.sum(axis=0)
            if t == 0:
                g2 = float(np.sum(gW * gW) + np.sum(np.square(gb)))
            W = W - rate * gW
            if l1:  # (the L1 part's proximal step: shrink by lr·λ₁, to 0 exactly where it would cross it)
                W = np.sign(W) * np.maximum(np.abs(W) - rate * l1, 0.0)
            b = b - rate * gb
    names = list(features or range(f))
    with np.errstate(all="ignore"):
        coef = (W.T / sd).T
        intercept = np.asarray(b - (mu / sd) @ W)
    _refuse_overflow(coef, intercept, names, sd)
    notes = [f"fit: column {names[j]!r} holds one value in every row ({X[0, j]:g}): its coefficient is 0 (the "
             "intercept carries it)" for j in np.flatnonzero(constant)] if n > 1 else []
    return FitResult(loss.name, names, coef, intercept, history, epochs, every,
                     notes + watch.stalled(epochs, g2, loss.nonnegative))


def _refuse_overflow(coef: np.ndarray, intercept: np.ndarray, names: list, sd: np.ndarray) -> None:
    """Coefficients in a column's units beyond float64 (a column of values near 1e-309: its weight
    over its spread overflows): refused, naming the column, where they were inf or NaN, exit 0."""
    bad = np.flatnonzero(~np.isfinite(coef.reshape(coef.shape[0], -1)).all(axis=1))
    if bad.size:
        j = int(bad[0])
        raise LossCliError(f"fit: the coefficient of column {names[j]!r} is beyond float64's range in its units "
                           f"(the column spreads {sd[j]:.3g} around its mean): rescale it (multiply it by a power "
                           "of ten)")
    if not np.isfinite(intercept).all():
        raise LossCliError("fit: the intercept is beyond float64's range (the columns' means over their spreads "
                           "overflow it): rescale the features (subtract their means)")


class _Divergence:
    """Watches the objective epoch by epoch; raises the one-line error of a diverging run."""

    def __init__(self, lr: float, epochs: int):
        self.lr, self.epochs, self.start, self.last, self.growing = lr, epochs, math.nan, math.nan, 0
        self.best, self.best_epoch = math.inf, 0
        self.tenth_left = math.nan  # the objective where the run's last tenth begins
        self.halted: int | None = None  # the first epoch whose learning rate is 0 (a schedule's factor 0)

    def stalled(self, epochs: int, g2: float, nonnegative: bool) -> list[str]:
        """A run that has not improved since its first tenth and ends above its best, or that ends
        where it started though its first step should have moved it (lr·|g|², ``g2`` = |g|² at the
        start, beyond 1e-9 of the loss: steps of exactly 2/λ overshoot to a mirror image and back, the
        loss neither grows nor falls), gets a warning, not silence; one whose steps are too small to
        move it (lr 1e-12) is told so. A start at a stationary point (|g|² within 1e-9 of the loss: the
        zero model is at the optimum, or within 1e-10 of it) or at a floor of 0 has nothing to say.
        "Above" and "where" are judged at 1e-9 of the larger of the best and the start."""
        near = 1e-9 * max(abs(self.best), abs(self.start)) + 1e-300
        overshoot = f"the steps overshoot; lower --lr (it is {self.lr:g}) or let a --schedule decay it"
        # (its best early on; or most of what it gained lost again by its end: steps that overshoot)
        lost = self.last - self.best > max(near, 0.5 * (self.start - self.best))
        if epochs >= 20 and self.last - self.best > near and (self.best_epoch < epochs / 10 or lost):
            return [f"fit: the loss has not improved since epoch {self.best_epoch} ({self.best:.6g}; "
                    f"{self.last:.6g} at the end, {self.start:.6g} at the start): {overshoot}"]
        if 0 < epochs < 20 and self.last - self.start > near:  # (too short for the test above; worse than its start)
            return [f"fit: the loss ended above its start ({self.last:.6g}; {self.start:.6g} at the start, "
                    f"{self.best:.6g} at its best, epoch {self.best_epoch}): {overshoot}"]
        if self.halted is not None and self.halted < epochs:
            return [f"fit: the learning rate is 0 from epoch {self.halted} on (the --schedule's --factor or --decay "
                    f"took it there): the fit stopped at epoch {self.halted}, loss {self.last:.6g}"]
        fall, tail = self.start - self.last, self.tenth_left - self.last
        if epochs >= 20 and fall > near and tail > STILL_FALLING * fall:
            return [f"fit: the loss was still falling at the end: {tail / fall:.0%} of its fall came in the last "
                    f"tenth of the epochs ({self.start:.6g} at the start, {self.tenth_left:.6g} at epoch "
                    f"{epochs - epochs // 10}, {self.last:.6g} at the end); more --epochs or a larger --lr would "
                    "lower it further"]
        stationary = g2 <= near  # (no step lowers it by more than ~|g|²/2 at unit curvature: not beyond `near`)
        if epochs < 1 or abs(self.last - self.start) > near or stationary or nonnegative and self.start == 0:
            return []
        step = self.lr * g2
        moved = (f"the loss did not move in {epochs} epoch{'s' if epochs > 1 else ''} ({self.start:.6g} at the "
                 f"start, {self.last:.6g} at the end)")
        if step <= near:
            return [f"fit: {moved}: its steps are too small to move it (the first would lower it by {step:.3g}); "
                    f"raise --lr (it is {self.lr:g})"]
        return [f"fit: {moved}, though its first step should have lowered it by {step:.3g}: {overshoot}"]

    def check(self, t: int, objective: float, rate: float = math.nan) -> None:
        if t == 0:
            self.start = objective
        if t == self.epochs - self.epochs // 10:
            self.tenth_left = objective
        if rate == 0 and self.halted is None:
            self.halted = t
        if objective < self.best:
            self.best, self.best_epoch = objective, t
        self.growing = self.growing + 1 if objective > self.last else 0
        self.last = objective
        if t == 0 and not math.isfinite(objective):  # the model at zero: no step taken, the data overflow
            raise LossCliError(f"fit: the loss is {objective} at the start, before any step: the target's "
                               "values overflow it; rescale the target")
        if not math.isfinite(objective):
            why = f"the loss became {objective}"
        elif self.growing >= DIVERGENCE_EPOCHS and objective > self.start:
            why = f"the loss grew for {DIVERGENCE_EPOCHS} epochs in a row"
        elif t == self.epochs and 0 < self.growing == t and objective > self.start:  # (a run shorter than that)
            why = f"the loss grew in every one of the {t} epoch{'s' if t > 1 else ''} run"
        else:
            return
        raise LossCliError(f"fit: diverging at epoch {t}: {why} (loss {self.start:.6g} at the start, "
                           f"{objective:.6g} now); lower --lr (it is {self.lr:g})")


