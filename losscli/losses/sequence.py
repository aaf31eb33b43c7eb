"""Sequence losses: connectionist temporal classification (CTC) over per-frame
log-probabilities, computed by the forward-backward recursion in log space.

Conventions (``losscli info ctc`` repeats them):
- one row per sample: log-probabilities are (N, T, C), sample-major; PyTorch's time-major
  (T, N, C) array is ``log_probs.transpose(1, 0, 2)`` of it;
- targets are padded (N, S) class indices; a sample's labels are its first target-length
  entries, the rest is ignored;
- the gradient is the true derivative of the value with respect to the log-probabilities as
  given (-posterior occupancy), not PyTorch's backward, which adds exp(log_probs).
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError, ParameterError, value_text
from ..registry import Input, Param, register_loss

#: elements of the (N, T, U) forward variables the gradient keeps at once; a larger batch is
#: evaluated in chunks of samples (each sample's loss depends on its own row only)
CHUNK_ELEMENTS = 2 ** 22


# -- lengths and extended label sequences ------------------------------------------------------------
def _targets_2d(targets: np.ndarray) -> np.ndarray:
    """(N, S) targets: a 1-D array is one label per sample."""
    return targets.reshape(targets.shape[0], -1)


def _padding_lengths(targets: np.ndarray, padding: int) -> np.ndarray:
    """Target lengths when none are given: the entries before the first padding value."""
    is_pad = targets == padding
    return np.where(is_pad.any(axis=1), np.argmax(is_pad, axis=1), targets.shape[1])


def _lengths(log_probs, targets, input_lengths, target_lengths, padding):
    """(input lengths, target lengths) as integer arrays, defaults filled in: every frame, and
    the labels before the first padding value."""
    n, t = log_probs.shape[:2]
    il = np.full(n, t, dtype=np.intp) if input_lengths is None else np.asarray(input_lengths).reshape(n).astype(np.intp)
    tl = (_padding_lengths(targets, padding) if target_lengths is None
          else np.asarray(target_lengths).reshape(n).astype(np.intp))
    return il, tl


def _repeats(targets: np.ndarray, tl: np.ndarray) -> np.ndarray:
    """Adjacent equal labels within each target: each needs a blank frame between them."""
    if targets.shape[1] < 2:
        return np.zeros(targets.shape[0], dtype=np.intp)
    same = targets[:, 1:] == targets[:, :-1]
    inside = np.arange(1, targets.shape[1])[None, :] < tl[:, None]
    return np.sum(same & inside, axis=1)


def _extended(targets, tl, blank):
    """Blank-interleaved labels l' (N, U), U = 2·max(S_i) + 1, the states each sample has
    (u < 2 S_i + 1), and where the skip u-2 -> u is allowed (l'_u ≠ l'_{u-2}, as PyTorch)."""
    n = targets.shape[0]
    s_max = int(tl.max(initial=0))
    u = 2 * s_max + 1
    ext = np.full((n, u), blank, dtype=np.intp)
    labels = targets[:, :s_max]
    inside = np.arange(s_max)[None, :] < tl[:, None]
    ext[:, 1::2] = np.where(inside, labels, blank).astype(np.intp)
    valid = np.arange(u)[None, :] < (2 * tl + 1)[:, None]
    skip = np.zeros((n, u), dtype=bool)
    skip[:, 2:] = ext[:, 2:] != ext[:, :-2]
    return ext, valid, skip


def _lse(*xs: np.ndarray) -> np.ndarray:
    """log Σ exp over a few arrays, -inf where all are -inf, with no warning (PyTorch's form:
    the maximum subtracted, 0 in its place when it is -inf)."""
    m = xs[0]
    for x in xs[1:]:
        m = np.maximum(m, x)
    finite = m > -np.inf
    ms = np.where(finite, m, 0.0)
    s = sum(np.exp(x - ms) for x in xs)
    return np.where(finite, np.log(np.where(finite, s, 1.0)) + ms, -np.inf)


def _shift(x: np.ndarray, k: int) -> np.ndarray:
    """x[:, u - k] (u >= k), -inf below: the states k steps back."""
    out = np.full_like(x, -np.inf)
    out[:, k:] = x[:, :-k] if k else x
    return out


def _unshift(x: np.ndarray, k: int) -> np.ndarray:
    """x[:, u + k], -inf beyond the last state."""
    out = np.full_like(x, -np.inf)
    out[:, :x.shape[1] - k] = x[:, k:]
    return out


def _emissions(log_probs_t: np.ndarray, ext: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """log y_t(l'_u) for every state (N, U) at one frame; -inf beyond a sample's states."""
    return np.where(valid, np.take_along_axis(log_probs_t, ext, axis=1), -np.inf)


# -- the forward-backward recursion ----------------------------------------------------------------
def _forward(log_probs, ext, valid, skip, il, tl, keep: bool):
    """log p(l_i | x_i) for every sample (N,), -inf where no alignment exists, and with ``keep``
    the forward variables log α_t(u) (N, T, U) (α includes frame t's emission; (N, 0, U) without)."""
    n, u = ext.shape
    steps = int(il.max(initial=0))
    rows_ = np.arange(n)
    last = 2 * tl  # the final blank; the final label is last - 1
    log_p = np.where(tl == 0, 0.0, -np.inf)  # input length 0: only the empty target is emitted
    alpha = np.full((n, steps if keep else 0, u), -np.inf)
    a = np.empty((n, u))
    for t in range(steps):
        em = _emissions(log_probs[:, t, :], ext, valid)
        if t == 0:
            a = np.full((n, u), -np.inf)
            a[:, 0] = em[:, 0]
            if u > 1:
                a[:, 1] = em[:, 1]
        else:
            a = em + _lse(a, _shift(a, 1), np.where(skip, _shift(a, 2), -np.inf))
        if keep:
            alpha[:, t] = a
        ends = il == t + 1
        if ends.any():
            end = a[rows_, last]
            before = np.where(last > 0, a[rows_, np.maximum(last - 1, 0)], -np.inf)
            log_p = np.where(ends, _lse(end, before), log_p)
    return log_p, alpha


def _occupancy_gradient(log_probs, ext, valid, skip, il, tl, log_p, alpha):
    """∂(-log p_i)/∂x_{i,t,c} = -γ_{i,t,c}: minus the posterior probability that frame t emits
    class c, Σ_{u: l'_u = c} exp(log α_t(u) + log β_t(u) - log p), with β excluding frame t's
    emission (so nothing is subtracted in log space). 0 for t >= L_i and for samples with
    log p = -inf (no alignment)."""
    n, t_max, c = log_probs.shape
    steps = alpha.shape[1]
    rows_ = np.arange(n)
    last = 2 * tl
    grad = np.zeros((n, t_max, c))
    feasible = log_p > -np.inf
    log_p_safe = np.where(feasible, log_p, 0.0)[:, None]
    start = np.full(ext.shape, -np.inf)  # log β at a sample's last frame: 0 at its two final states
    start[rows_, last] = 0.0
    start[rows_[last > 0], last[last > 0] - 1] = 0.0
    b = np.full(ext.shape, -np.inf)
    cell = rows_[:, None] * c + ext  # the (sample, class) cell of each state
    for t in range(steps - 1, -1, -1):
        if t < steps - 1:
            nxt = b + _emissions(log_probs[:, t + 1, :], ext, valid)
            b = _lse(nxt, _unshift(nxt, 1), np.where(_unshift(skip, 2), _unshift(nxt, 2), -np.inf))
        b = np.where((il == t + 1)[:, None], start, np.where((il > t + 1)[:, None], b, -np.inf))
        # (a sample without an alignment has no state with finite α and β: its occupancy is 0)
        occ = np.exp(alpha[:, t] + b - log_p_safe)
        # the states' occupancies summed onto their classes
        grad[:, t, :] = -np.bincount(cell.ravel(), weights=occ.ravel(), minlength=n * c).reshape(n, c)
    return grad


def _chunks(n: int, per_sample: int):
    size = max(1, CHUNK_ELEMENTS // max(per_sample, 1))
    for lo in range(0, n, size):
        yield slice(lo, min(n, lo + size))


def _scale(tl, normalize):
    return 1.0 / np.maximum(tl, 1) if normalize == "target_length" else np.ones(tl.shape)


# -- validation and sampling -----------------------------------------------------------------------------
def _refuse(role: str, row: int, col: int | None, text: str, at=None):
    """The hook's error about one cell of one role, at its place in the file (``at``, given by
    the validator); without it (a direct call of the hook) by its row in the arrays."""
    if at is not None:
        place = at(role, row, col)
    else:
        place = f"ctc {role}, " + (f"row {row}" if col is None else f"index [{row}, {col}]")
    raise InputError(f"{place}: {text}")


def _ctc_validate(arrays, params, at=None):
    """Constraints no domain expresses: blank < C, lengths within the arrays, labels within each
    target length in 0..C-1 other than the blank, and (without zero_infinity) an alignment."""
    lp = arrays["log_probs"]
    n, t, c = lp.shape
    blank, padding = params["blank"], params["padding"]
    if blank >= c:
        raise ParameterError(f"parameter ctc.blank: is {blank} but log_probs has {c} classes (expected 0..{c - 1})")
    targets = _targets_2d(arrays["targets"])
    s = targets.shape[1]
    for role, limit, what in (("input_lengths", t, f"the {t} frames of log_probs"),
                              ("target_lengths", s, f"the {s} target columns")):
        if role in arrays:
            lengths = arrays[role].reshape(n)
            bad = (lengths < 0) | (lengths > limit)
            if bad.any():
                r = int(np.flatnonzero(bad)[0])
                more = f", more than {what}" if lengths[r] > limit else ""
                _refuse(role, r, None, f"found {value_text(lengths[r])}{more} (expected a length in 0..{limit})", at=at)
    il, tl = _lengths(lp, targets, arrays.get("input_lengths"), arrays.get("target_lengths"), padding)
    inside = np.arange(s)[None, :] < tl[:, None]
    if "target_lengths" not in arrays:
        late = ~inside & (targets != padding)
        if late.any():
            r, j = (int(v) for v in np.argwhere(late)[0])
            _refuse("targets", r, j, f"found {value_text(targets[r, j])} after the padding value {padding} at position "
                                     f"{int(tl[r])}; padding must only follow a sample's labels (or give target_lengths)", at=at)
    labels = f"class indices in 0..{c - 1} other than the blank {blank}"
    out = inside & ((targets < 0) | (targets >= c))
    if out.any():
        r, j = (int(v) for v in np.argwhere(out)[0])
        _refuse("targets", r, j, f"found {value_text(targets[r, j])} (expected {labels}; the padding value is {padding})", at=at)
    blanks = inside & (targets == blank)
    if blanks.any():
        r, j = (int(v) for v in np.argwhere(blanks)[0])
        _refuse("targets", r, j, f"found {blank}, the blank index (expected {labels} within the target length "
                                 f"{int(tl[r])}; pad with {padding} or give target_lengths)", at=at)
    if not params["zero_infinity"]:
        need = tl + _repeats(targets, tl)
        short = need > il
        if short.any():
            r = int(np.flatnonzero(short)[0])
            repeats = int(need[r] - tl[r])
            _refuse("input_lengths" if "input_lengths" in arrays else "log_probs", r, None,
                    f"{int(il[r])} frames cannot align the {int(tl[r])} target labels, which with "
                    f"{repeats} repeat{'s' if repeats != 1 else ''} need at least {int(need[r])}: the loss "
                    "is +inf (-p zero_infinity=true counts such rows as 0, as torch's zero_infinity)", at=at)
    return arrays


def _ctc_sampler(*, rng, samples, classes, dim, optional=False, **_):
    """Random valid CTC inputs: N = samples, C = max(classes, 2) with blank 0, S = max(dim, 1)
    target columns padded with -1, T = 2S + 2 frames; every target has an alignment (labels
    1..C-1, at least S + repeats frames). With ``optional``, explicit lengths (input lengths
    between the minimum and T, padding beyond target lengths set to arbitrary values)."""
    n, c, s = samples, max(classes, 2), max(dim, 1)
    t = 2 * s + 2
    tl = rng.integers(0, s + 1, n)
    tl[0] = s  # at least one full-length target
    labels = rng.integers(1, c, (n, s))
    inside = np.arange(s)[None, :] < tl[:, None]
    z = 1.5 * rng.standard_normal((n, t, c))
    m = z.max(axis=-1, keepdims=True)
    log_probs = z - m - np.log(np.exp(z - m).sum(axis=-1, keepdims=True))
    if not optional:
        return {"log_probs": log_probs, "targets": np.where(inside, labels, -1).astype(np.float64)}
    need = tl + _repeats(labels, tl)
    il = rng.integers(need, t + 1)
    junk = rng.integers(-1, c, (n, s))  # ignored beyond the target lengths
    return {"log_probs": log_probs, "targets": np.where(inside, labels, junk).astype(np.float64),
            "input_lengths": il.astype(np.float64), "target_lengths": tl.astype(np.float64)}


# -- the loss ------------------------------------------------------------------------------------------------
@register_loss(
    "ctc", aliases=("connectionist_temporal_classification", "ctc_loss"),
    inputs=(Input("log_probs", "N,T,C", "log_probability",
                  description="per-frame log-probabilities, one row per sample (sample-major; "
                              "torch's (T, N, C) transposed)"),
            Input("targets", "N,S|N", "integer",
                  description="label sequences padded to S columns; labels 0..C-1 other than the blank"),
            Input("input_lengths", "N", "integer", optional=True,
                  description="frames used per sample, 0..T (default: all T)"),
            Input("target_lengths", "N", "integer", optional=True,
                  description="labels per sample, 0..S (default: the entries before the first padding value)")),
    differentiable=("log_probs",), category="sequence", coupling="row", nonnegative=False,
    params={"blank": Param(0, constraint=">=0", help="index of the blank class"),
            "zero_infinity": Param(False, help="a sample with no alignment (loss +inf) counts as 0, gradient 0"),
            "padding": Param(-1, help="value marking unused target positions when target_lengths is not given"),
            "normalize": Param("none", choices=("none", "target_length"),
                               help="target_length: each loss divided by max(1, its target length), "
                                    "so the mean is torch's reduction='mean'")},
    validate=_ctc_validate, sampler=_ctc_sampler,
    summary="Connectionist temporal classification loss over per-frame log-probabilities",
    formula="l_i = -log Σ_{π ∈ B⁻¹(y_i)} Π_{t<L_i} exp(x_{i,t,π_t}),  B: merge repeats, then drop blanks; "
            "by the forward recursion α_t(u) = x_{t,l'_u} + log Σ_{v ∈ {u, u-1, u-2 if l'_u ≠ l'_{u-2}}} "
            "e^{α_{t-1}(v)} over l' = (blank, y_1, blank, ..., y_S, blank),  l_i = -log(e^{α_{L-1}(2S)} + "
            "e^{α_{L-1}(2S-1)});  normalize=target_length: l_i / max(1, S_i)",
    gradient_formula="∂l_i/∂x_{i,t,c} = -γ_{i,t,c} = -Σ_{u: l'_u = c} exp(α_t(u) + β_t(u) + l_i) for t < L_i, "
                     "0 for t >= L_i (β_t excludes frame t's emission): minus the posterior occupancy. "
                     "torch's backward returns exp(x_{i,t,c}) - γ_{i,t,c} instead",
    conventions=(
        "Layout: log_probs is (N, T, C), one row per sample as every losscli input; torch's time-major "
        "(T, N, C) array x is x.transpose(1, 0, 2) here. A (T, N, C) file is refused when T ≠ N (its rows "
        "are not samples) and cannot be told apart when T = N: transpose before saving.",
        "Targets: padded (N, S) class indices (a 1-D file: one label per sample); entries beyond a "
        "sample's target length are ignored. Without target_lengths a sample's labels are the entries "
        "before the first padding value (-1 by default; -p padding=0 reads blank-padded targets), and "
        "padding may only trail the labels. Within the target length a label is in 0..C-1 and not the "
        "blank. Empty CSV cells are missing values, not padding: pad ragged rows with -1.",
        "Lengths: input_lengths defaults to T for every sample (frames t >= L_i are ignored, gradient "
        "0); target_lengths to the padding rule. Inputs are positional: give input_lengths to give "
        "target_lengths.",
        "A sample that cannot be aligned (S_i plus its adjacent repeats exceeds L_i) has loss +inf, as "
        "in torch; losscli refuses it with an error naming the row unless zero_infinity=true, which "
        "counts it as 0 with gradient 0 (torch's zero_infinity). Input length 0 with target length 0 "
        "is loss 0. The unvalidated function (loss.fn) returns +inf with gradient 0 (torch: NaN).",
        "Gradient: the true derivative of the value with respect to the log-probabilities as given, "
        "-γ (minus the posterior occupancy); frames need not be normalised. torch's CTC backward "
        "returns exp(log_probs) - γ for t < L_i, the gradient it would pass on through a log_softmax: "
        "with respect to logits both give softmax - γ, with respect to log_probs as a leaf tensor "
        "they differ by exp(log_probs).",
        "Reduction: normalize=none (default) gives torch's reduction='none' per sample, and the mean "
        "is Σ l_i / N (torch's 'sum' / N); normalize=target_length divides each loss by max(1, S_i) "
        "first, and then the mean is torch's reduction='mean'.",
        "Values are >= 0 when each frame's probabilities sum to at most 1; unnormalised frames can "
        "give negative values.",
        "blank (default 0) must be < C. No clipping or eps: the recursion stays in log space "
        "(PyTorch's max-subtracted log-sum-exp), so log-probabilities of -1e4 are exact to rounding; a "
        "loss beyond float64 (log-probabilities near -1e308) is +inf, refused as an overflow.",
    ),
    references=("Graves, Fernández, Gomez & Schmidhuber, Connectionist Temporal Classification: "
                "Labelling Unsegmented Sequence Data with Recurrent Neural Networks, ICML 2006",
                "Graves, Supervised Sequence Labelling with Recurrent Neural Networks, Springer 2012, ch. 7",
                "PyTorch torch.nn.CTCLoss / torch.nn.functional.ctc_loss"),
    matches=("PyTorch torch.nn.CTCLoss (per-sample values as reduction='none'; reduction='mean' with "
             "normalize=target_length; zero_infinity; gradient = torch's backward minus exp(log_probs))",),
)
def ctc(log_probs, targets, input_lengths=None, target_lengths=None, *, blank=0, zero_infinity=False,
        padding=-1, normalize="none"):
    """CTC loss (Graves, Fernández, Gomez & Schmidhuber, ICML 2006): l_i = -log p(y_i | x_i) with
    p(y | x) = Σ_{π ∈ B⁻¹(y)} Π_{t<L} exp(x_{t,π_t}), B merging repeats and dropping blanks; by the
    forward recursion over l' = (blank, y_1, blank, ..., y_S, blank) in log space,
    α_t(u) = x_{t,l'_u} + logsumexp(α_{t-1}(u), α_{t-1}(u-1), α_{t-1}(u-2) if l'_u ≠ l'_{u-2}),
    l = -logsumexp(α_{L-1}(2S), α_{L-1}(2S-1)). Vectorised over samples, a loop over frames."""
    targets = _targets_2d(targets)
    il, tl = _lengths(log_probs, targets, input_lengths, target_lengths, padding)
    out = np.empty(log_probs.shape[0])
    u = 2 * int(tl.max(initial=0)) + 1
    for rows_ in _chunks(log_probs.shape[0], u):
        ext, valid, skip = _extended(targets[rows_], tl[rows_], blank)
        with np.errstate(over="ignore"):  # log p below -1.8e308 (log-probabilities near -1e308): -inf
            log_p, _ = _forward(log_probs[rows_], ext, valid, skip, il[rows_], tl[rows_], keep=False)
        out[rows_] = np.where(log_p > -np.inf, -log_p, 0.0 if zero_infinity else np.inf)
    return out * _scale(tl, normalize)


@ctc.gradient
def _ctc_grad(log_probs, targets, input_lengths=None, target_lengths=None, *, blank=0, zero_infinity=False,
              padding=-1, normalize="none"):
    """-γ: forward variables kept, then the backward recursion, frame by frame."""
    targets = _targets_2d(targets)
    il, tl = _lengths(log_probs, targets, input_lengths, target_lengths, padding)
    grad = np.zeros(log_probs.shape)
    u = 2 * int(tl.max(initial=0)) + 1
    for rows_ in _chunks(log_probs.shape[0], u * max(int(il.max(initial=0)), 1)):
        lp = log_probs[rows_]
        ext, valid, skip = _extended(targets[rows_], tl[rows_], blank)
        with np.errstate(over="ignore"):  # as in ctc: an overflowing log p is -inf, its row gradient 0
            log_p, alpha = _forward(lp, ext, valid, skip, il[rows_], tl[rows_], keep=True)
            grad[rows_] = _occupancy_gradient(lp, ext, valid, skip, il[rows_], tl[rows_], log_p, alpha)
    return {"log_probs": grad * _scale(tl, normalize)[:, None, None]}
