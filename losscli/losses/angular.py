"""Angular-margin softmax losses for face and speaker embeddings (CosFace, SphereFace,
sub-center ArcFace): cosine logits between embeddings and class centres, a margin on the
target class, and a scaled softmax cross-entropy.

Conventions (``losscli info NAME`` repeats them):
- the inputs are the cosines cos θ_ij = x̂_i·ŵ_j themselves (as ``arcface``), not the embeddings
  and the class-centre matrix: every input then has one row per sample, so files stream and slice
  like any other loss. pytorch-metric-learning learns W inside the loss; its cosines are
  ``normalize(emb) @ normalize(W)`` (W of shape (D, C)), and those are what losscli takes;
- the mean reduction is the plain mean over samples, as pytorch-metric-learning's MeanReducer;
- where a derivative with respect to cos θ is unbounded (|cos θ| = 1 in ArcFace's cos(θ + m)),
  sin θ is floored at ``SIN_FLOOR`` (1e-12, as ``arcface``).
"""

from __future__ import annotations

import functools
import math

import numpy as np

from ..errors import InputError
from ..numerics import nll_at, softmax_minus_onehot
from ..registry import Input, Param, register_loss
from .embedding import SIN_FLOOR

_COSINE = Input("cosine", "N,C", "unit_interval_signed",
                description="cosines cos θ_ij between the normalised embedding i and class centre j")
_LABELS = Input("labels", "N", "class_index", description="class indices")


def quiet_overflow(fn):
    """Run a loss (or its gradient) with float64 overflow left to the result: a value or gradient
    beyond float64 (a scale near 1e308, a zero embedding's gradient through the 1e-12 norm floor at
    an extreme scale) comes out inf or NaN without a RuntimeWarning, and compute / gradcheck report
    the loss as too extreme for those inputs. Division by zero and logs of 0 still warn."""

    @functools.wraps(fn)
    def run(*args, **kwargs):
        with np.errstate(over="ignore", invalid="ignore"):
            return fn(*args, **kwargs)

    return run


def _target(labels: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    return np.arange(n), labels.astype(np.intp)


# -- CosFace / AM-Softmax ----------------------------------------------------------------------------
def _cosface_logits(cosine, labels, scale, margin):
    idx = _target(labels, cosine.shape[0])
    logits = scale * cosine
    logits[idx] = scale * (cosine[idx] - margin)
    return logits


@register_loss(
    "cosface", aliases=("am_softmax", "additive_margin_softmax", "large_margin_cosine"),
    inputs=(_COSINE, _LABELS), differentiable=("cosine",), category="embedding", coupling="row",
    params={"scale": Param(64.0, constraint=">0", help="s, multiplies every cosine"),
            "margin": Param(0.35, constraint=">=0", help="m, subtracted from the target cosine")},
    summary="CosFace / AM-Softmax: additive cosine margin on the target class, scaled softmax CE",
    formula="l_i = CE(s·[cos θ_ij (j ≠ y), cos θ_iy - m], y_i) "
            "= -log( e^{s(cos θ_iy - m)} / (e^{s(cos θ_iy - m)} + Σ_{j≠y} e^{s cos θ_ij}) )",
    gradient_formula="∂L/∂cos θ_ij = s·(softmax(z_i)_j - 1[j = y_i]),  z = the margin logits",
    conventions=("Defaults s = 64, m = 0.35 as pytorch-metric-learning CosFaceLoss and the CosFace paper; "
                 "AM-Softmax (Wang, Cheng et al.) uses the same formula with s = 30: give -p scale=30.",
                 "Mean reduction: the plain mean over samples (pytorch-metric-learning's MeanReducer).",
                 "The gradient of each row sums to 0: adding a constant to every cosine of a row changes "
                 "no logit difference."),
    references=("Wang et al., CosFace: Large Margin Cosine Loss for Deep Face Recognition, CVPR 2018, "
                "arXiv:1801.09414",
                "Wang, Cheng, Liu & Liu, Additive Margin Softmax for Face Verification, IEEE SPL 2018, "
                "arXiv:1801.05599",
                "pytorch-metric-learning losses.CosFaceLoss"),
    matches=("pytorch-metric-learning losses.CosFaceLoss (given its cosines normalize(emb) @ normalize(W))",),
)
@quiet_overflow
def cosface(cosine, labels, *, scale=64.0, margin=0.35):
    """CosFace: softmax CE of s·cos θ with target logit s·(cos θ_y - m) (Wang et al. 2018,
    arXiv:1801.09414)."""
    return nll_at(_cosface_logits(cosine, labels, scale, margin), labels)


@cosface.gradient
@quiet_overflow
def _cosface_grad(cosine, labels, *, scale=64.0, margin=0.35):
    return {"cosine": scale * softmax_minus_onehot(_cosface_logits(cosine, labels, scale, margin), labels)}


# -- SphereFace / A-Softmax --------------------------------------------------------------------------
def _chebyshev(c: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray]:
    """T_m(c) = cos(m·arccos c) and its derivative T_m'(c) = m·U_{m-1}(c), by the three-term
    recurrences (polynomials in c: exact at c = ±1, where arccos is ill-conditioned)."""
    t_prev, t = np.ones_like(c), c.copy()  # T_0, T_1
    u_prev, u = np.zeros_like(c), np.ones_like(c)  # U_{-1}, U_0
    for _ in range(1, m):
        t_prev, t = t, 2.0 * c * t - t_prev
        u_prev, u = u, 2.0 * c * u - u_prev
    return t, m * u


def _sphereface_psi(cos_y: np.ndarray, margin: int) -> tuple[np.ndarray, np.ndarray]:
    """ψ(θ) = (-1)^k cos(mθ) - 2k for θ in [kπ/m, (k+1)π/m], and dψ/d cos θ."""
    theta = np.arccos(np.clip(cos_y, -1.0, 1.0))
    # k as pytorch-metric-learning computes it, but at most m - 1 (the paper's range): at θ = π
    # exactly pml's k = m gives the same ψ with the wrong sign of the derivative
    k = np.minimum(np.floor(theta / (math.pi / margin)), margin - 1)
    sign = 1.0 - 2.0 * np.mod(k, 2.0)
    t, dt = _chebyshev(cos_y, margin)
    return sign * t - 2.0 * k, sign * dt


def _sphereface_logits(cosine, norms, labels, scale, margin):
    """z_ij = s·‖x_i‖·t_ij, t = the cosines with ψ(θ_iy) at the target; and t, dψ."""
    idx = _target(labels, cosine.shape[0])
    psi, dpsi = _sphereface_psi(cosine[idx], margin)
    t = cosine.copy()
    t[idx] = psi
    return (scale * norms)[:, None] * t, t, dpsi, idx


@register_loss(
    "sphereface", aliases=("a_softmax", "angular_softmax"),
    inputs=(_COSINE,
            Input("norms", "N", "nonnegative", description="‖x_i‖, the norms of the (unnormalised) embeddings"),
            _LABELS),
    differentiable=("cosine", "norms"), category="embedding", coupling="row",
    params={"margin": Param(4, constraint=">=1", help="m, the integer angular multiplier"),
            "scale": Param(1.0, constraint=">0", help="s, multiplies the logits besides ‖x‖")},
    summary="SphereFace / A-Softmax: multiplicative angular margin, logits scaled by the feature norm",
    formula="l_i = CE(s‖x_i‖·[cos θ_ij (j ≠ y), ψ(θ_iy)], y_i),  ψ(θ) = (-1)^k cos(mθ) - 2k "
            "for θ in [kπ/m, (k+1)π/m], k = 0..m-1",
    gradient_formula="g = softmax(z_i) - onehot(y_i):  ∂L/∂cos θ_ij = s‖x_i‖ g_ij (j ≠ y),  "
                     "s‖x_i‖ g_iy ψ'(cos θ_iy) with ψ' = (-1)^k m U_{m-1}(cos θ);  ∂L/∂‖x_i‖ = s Σ_j g_ij t_ij",
    conventions=("As pytorch-metric-learning SphereFaceLoss: the class centres are normalised, the "
                 "embeddings are not, and every logit is multiplied by s·‖x_i‖ (s = 1, m = 4 by "
                 "default); no λ annealing of ψ with cos θ (the paper's training schedule).",
                 "Inputs are the cosines and the embedding norms ‖x_i‖ (not the embeddings and W): "
                 "pml's logits depend on the embeddings only through them, and both have one row per "
                 "sample. From pml: cosine = normalize(emb) @ normalize(W), norms = ‖emb‖.",
                 "cos(mθ) is the Chebyshev polynomial T_m(cos θ) (pml expands it by the multiple-angle formula, "
                 "L-Softmax's eq. 7; the same polynomial), so ψ and ψ' "
                 "are exact at cos θ = ±1; ψ is continuous and C¹ across the k boundaries.",
                 "At θ = π exactly, k = m - 1 (pml's floor gives k = m there: the same ψ, but the "
                 "derivative with the opposite sign).",
                 "A zero-norm embedding has every logit 0: l = log C, ∂L/∂cos = 0.",
                 "Mean reduction: the plain mean over samples (pml's MeanReducer)."),
    references=("Liu et al., SphereFace: Deep Hypersphere Embedding for Face Recognition, CVPR 2017, "
                "arXiv:1704.08063",
                "Liu et al., Large-Margin Softmax Loss for Convolutional Neural Networks, ICML 2016, "
                "arXiv:1612.02295",
                "pytorch-metric-learning losses.SphereFaceLoss"),
    matches=("pytorch-metric-learning losses.SphereFaceLoss (given its cosines and the embedding norms)",),
)
@quiet_overflow
def sphereface(cosine, norms, labels, *, margin=4, scale=1.0):
    """SphereFace (A-Softmax): CE of s‖x‖·cos θ with target s‖x‖·ψ(θ_y), ψ = (-1)^k cos(mθ) - 2k
    (Liu et al. 2017, arXiv:1704.08063)."""
    z, *_ = _sphereface_logits(cosine, norms, labels, scale, margin)
    return nll_at(z, labels)


@sphereface.gradient
@quiet_overflow
def _sphereface_grad(cosine, norms, labels, *, margin=4, scale=1.0):
    z, t, dpsi, idx = _sphereface_logits(cosine, norms, labels, scale, margin)
    g = softmax_minus_onehot(z, labels)
    g_norms = scale * np.sum(g * t, axis=1)
    g_cos = (scale * norms)[:, None] * g
    g_cos[idx] *= dpsi
    return {"cosine": g_cos, "norms": g_norms}


# -- sub-center ArcFace ------------------------------------------------------------------------------
#: pytorch-metric-learning's ArcFace margin, 28.6 degrees, in radians
PML_ARC_MARGIN = math.radians(28.6)


def _arc_margin(cos_y: np.ndarray, margin: float) -> tuple[np.ndarray, np.ndarray]:
    """cos(θ + m) for θ <= π - m, else cos θ - m·sin m (ArcFace's fallback), and d/d cos θ.
    sin θ = sqrt((1 - c)(1 + c)): no cancellation near |c| = 1, where 1 - c² loses digits."""
    c = np.clip(cos_y, -1.0, 1.0)
    sin = np.sqrt((1.0 - c) * (1.0 + c))
    main = c * math.cos(margin) - sin * math.sin(margin)
    use_main = np.arccos(c) <= math.pi - margin  # the branch test pml makes, on the angle
    phi = np.where(use_main, main, c - margin * math.sin(margin))
    dphi = np.where(use_main, math.cos(margin) + math.sin(margin) * c / np.maximum(sin, SIN_FLOOR), 1.0)
    return phi, dphi


def _subcenter_logits(cosine, labels, scale, margin):
    best = np.argmax(cosine, axis=2)  # the nearest sub-centre of each class (first one at a tie)
    cmax = np.take_along_axis(cosine, best[:, :, None], axis=2)[:, :, 0]
    idx = _target(labels, cosine.shape[0])
    phi, dphi = _arc_margin(cmax[idx], margin)
    logits = scale * cmax
    logits[idx] = scale * phi
    return logits, dphi, best, idx


def _subcenter_validate(arrays, params):
    labels, classes = arrays["labels"], arrays["cosine"].shape[1]
    bad = labels >= classes
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(f"subcenter_arcface labels, row {i}: found {int(labels[i])}; the cosines have shape "
                         f"(N, C, K) = {tuple(arrays['cosine'].shape)}, so labels must be class indices "
                         f"in 0..{classes - 1}")
    return arrays


@register_loss(
    "subcenter_arcface", aliases=("sub_center_arcface",),
    inputs=(Input("cosine", "N,C,K", "unit_interval_signed",
                  description="cosines between embedding i and sub-centre k of class j"),
            Input("labels", "N", "class_index", description="class indices in 0..C-1")),
    differentiable=("cosine",), category="embedding", coupling="row", validate=_subcenter_validate,
    params={"scale": Param(64.0, constraint=">0"),
            "margin": Param(PML_ARC_MARGIN, constraint="[0,1.5]",
                            help="radians; the default is pytorch-metric-learning's 28.6°")},
    summary="Sub-center ArcFace: nearest of K sub-centres per class, then the ArcFace margin",
    formula="c_ij = max_k cos θ_ijk;  l_i = CE(s·[c_ij (j ≠ y), φ(c_iy)], y_i),  "
            "φ(c) = cos(θ + m) if θ <= π - m else c - m·sin m,  θ = arccos c",
    gradient_formula="∂L/∂cos θ_ijk = s·(softmax_j - 1[j = y])·(φ'(c_iy) if j = y else 1) at the arg-max "
                     "sub-centre k, 0 at the others;  φ' = cos m + sin m·cos θ / sin θ (main branch) or 1",
    conventions=("Cosines (N, C, K): one row per sample, K sub-centres per class (so this input comes from "
                 ".npy or another N-d format, not CSV). pytorch-metric-learning's W has C·K columns, "
                 "class-major (column j·K + k): its cosine matrix (N, C·K) reshaped to (N, C, K) is this input.",
                 "margin is in radians, as arcface's; the default 0.49916 = 28.6° is pml's default "
                 "(SubCenterArcFaceLoss takes degrees: margin=28.6). The paper and insightface use 0.5.",
                 "Max over sub-centres: the gradient goes to the first arg-max sub-centre at a tie.",
                 "K = 1 is ArcFace. The branch θ <= π - m (main) / θ > π - m (fallback) is decided on "
                 "θ = arccos c as pml does; φ jumps there (ArcFace's fallback is not continuous).",
                 f"At cos θ_y = 1 the derivative of cos(θ + m) is unbounded: sin θ is floored at {SIN_FLOOR:g} "
                 "(pml's autograd gives inf or NaN there, and NaN at cos θ_y = -1 where the fallback's "
                 "derivative is 1).",
                 "Mean reduction: the plain mean over samples (pml's MeanReducer)."),
    references=("Deng et al., Sub-center ArcFace: Boosting Face Recognition by Large-Scale Noisy Web "
                "Faces, ECCV 2020",
                "Deng et al., ArcFace: Additive Angular Margin Loss for Deep Face Recognition, CVPR 2019, "
                "arXiv:1801.07698",
                "pytorch-metric-learning losses.SubCenterArcFaceLoss"),
    matches=("pytorch-metric-learning losses.SubCenterArcFaceLoss (margin=28.6, sub_centers=K; given its "
             "cosines normalize(emb) @ normalize(W) reshaped to (N, C, K))",),
)
@quiet_overflow
def subcenter_arcface(cosine, labels, *, scale=64.0, margin=PML_ARC_MARGIN):
    """Sub-center ArcFace: max over K sub-centres, then ArcFace's CE with target logit
    s·cos(θ_y + m) (Deng et al., ECCV 2020)."""
    logits, *_ = _subcenter_logits(cosine, labels, scale, margin)
    return nll_at(logits, labels)


@subcenter_arcface.gradient
@quiet_overflow
def _subcenter_arcface_grad(cosine, labels, *, scale=64.0, margin=PML_ARC_MARGIN):
    logits, dphi, best, idx = _subcenter_logits(cosine, labels, scale, margin)
    g_max = scale * softmax_minus_onehot(logits, labels)
    g_max[idx] *= dphi
    g = np.zeros_like(cosine)
    np.put_along_axis(g, best[:, :, None], g_max[:, :, None], axis=2)
    return {"cosine": g}
