"""Losses written in JAX, registered with ``backend="jax"`` (needs ``pip install 'losscli[jax]'``).

    losscli --plugin examples/jax_losses.py gradcheck jax_focal
    losscli --plugin examples/jax_losses.py gradcheck jax_logistic --order 2
    losscli --plugin examples/jax_losses.py compute jax_focal logits.npy labels.npy
    losscli --plugin examples/jax_losses.py gradcheck jax_bug_infonce_row queries.npy keys.npy

losscli calls each function with float64 jax arrays (in a scoped ``jax.enable_x64``) and checks
JAX's own backward (``jax.vjp``; a ``jax.custom_vjp`` rule when there is one) against its numeric
derivatives. ``jax_focal``, ``jax_logistic``, ``jax_rowmax`` (a kink with a valid subgradient at
ties) and ``jax_infonce`` (batch-coupled) are right; every loss named ``jax_bug_*`` carries one
deliberate bug (the tests in tests/test_backends.py rely on each one):

- ``positives``: the focal backward forgets the focusing term for positives;
- ``sign``: the sign of one element flipped;
- ``relative``, ``relative_1e_4``, ``relative_1e_3``: one element off by 1e-5, 1e-4, 1e-3 relative;
- ``mean``: the gradient of the batch mean for a per-sample loss (divided by N);
- ``column``: one class column off by 1%;
- ``layout``: the gradient transposed, then put back in the input's shape;
- ``branch``: a rare branch (logits above 2.5) halves the gradient;
- ``temperature``: the derivative w.r.t. a parameter has the wrong sign;
- ``second_order``: a backward that is right but hides its own derivative (``--order 2``);
- ``tied_max``: the row max's backward gives 1 to every tied maximum (sums to 2: no subgradient);
- ``infonce_row``, ``infonce_element``: a batch-coupled InfoNCE whose key gradient is off by 1e-3
  relative in one row (7), or in one element ([5, 3]).

Each planted index is clipped to the array it is planted in (flat element 3, class column 1, key
row 7, key element [5, 3]; the last one where the array is smaller: key element [5, 2] at the
default ``--dim 3``), so that the bug exists at every size gradcheck may use.

``jax_float32`` computes in float32 (reported, and its right gradient passes).
"""

from functools import partial

import jax
import jax.numpy as jnp

from losscli import Input, Param, register_loss

#: the relative error of one gradient element (flat index 3), per bug
_RELATIVE = {"relative": 1e-5, "relative_1e_4": 1e-4, "relative_1e_3": 1e-3}


def _at(index: int, size: int) -> int:
    """A planted bug's ``index`` along an axis of ``size``, clipped to the last one: the bug stays
    at every size (--samples, --dim) instead of being dropped (JAX drops an out-of-range update)."""
    return min(index, size - 1)


_LOGITS = Input("logits", "N,...", "real", description="unnormalised scores (logits)")
_LABELS = Input("labels", "=logits", "probability", description="targets in [0, 1] (usually {0, 1})")
_FOCAL = dict(inputs=(_LOGITS, _LABELS), category="classification", coupling="elementwise",
              params={"alpha": Param(0.25, constraint="<=1"), "gamma": Param(2.0, constraint=">=0")})


def _per_sample(l):
    """Mean over each sample's trailing elements: one value per sample, as losscli's focal."""
    return l.reshape(l.shape[0], -1).mean(axis=1)


def _focal_terms(logits, labels, alpha, gamma):
    """optax/torchvision sigmoid focal loss, elementwise: α_t (1 - p_t)^γ CE."""
    p = jax.nn.sigmoid(logits)
    ce = jax.nn.softplus(logits) - labels * logits  # binary cross-entropy on logits
    p_t = p * labels + (1 - p) * (1 - labels)
    alpha_t = alpha * labels + (1 - alpha) * (1 - labels)
    return alpha_t * ce * (1 - p_t) ** gamma


@register_loss("jax_focal", differentiable=("logits", "gamma"), backend="jax", **_FOCAL)
def jax_focal(logits, labels, alpha=0.25, gamma=2.0):
    """Sigmoid focal loss in plain JAX, differentiable in logits and gamma (Lin et al. 2017).

    α_t (1 - p_t)^γ CE as optax.losses.sigmoid_focal_loss, arXiv:1708.02002; JAX's own derivatives."""
    return _per_sample(_focal_terms(logits, labels, alpha, gamma))


@jax.custom_vjp
def _logistic(x, y):
    return jax.nn.softplus(x) - y * x


def _logistic_fwd(x, y):
    return _logistic(x, y), (x, y)


def _logistic_bwd(res, g):
    x, y = res
    return g * (jax.nn.sigmoid(x) - y), jnp.zeros_like(y)  # jax ops on the residual x: differentiable again


_logistic.defvjp(_logistic_fwd, _logistic_bwd)


@register_loss("jax_logistic", inputs=(_LOGITS, _LABELS), category="classification", coupling="elementwise",
               backend="jax")
def jax_logistic(logits, labels):
    """Binary cross-entropy on logits with a jax.custom_vjp backward whose own derivative is right."""
    return _per_sample(_logistic(logits, labels))


# -- deliberate bugs, one per loss --------------------------------------------------------------
@jax.custom_vjp
def _detached_logistic(x, y):
    return jax.nn.softplus(x) - y * x


def _detached_fwd(x, y):
    return _detached_logistic(x, y), (jax.nn.sigmoid(x), y)


def _detached_bwd(res, g):
    s, y = res
    # BUG (second order): stop_gradient hides σ'(x) from whoever differentiates this backward
    return g * (jax.lax.stop_gradient(s) - y), jnp.zeros_like(y)


_detached_logistic.defvjp(_detached_fwd, _detached_bwd)


@register_loss("jax_bug_second_order", inputs=(_LOGITS, _LABELS), coupling="elementwise", backend="jax")
def jax_bug_second_order(logits, labels):
    """Logistic loss whose custom backward hides its own derivative (gradcheck --order 2 fails)."""
    return _per_sample(_detached_logistic(logits, labels))


def _focal_with_bug(bug):
    @partial(jax.custom_vjp, nondiff_argnums=(2, 3))
    def focal(x, y, alpha, gamma):
        return _focal_terms(x, y, alpha, gamma)

    def fwd(x, y, alpha, gamma):
        return focal(x, y, alpha, gamma), (x, y)

    def bwd(alpha, gamma, res, g):
        x, y = res
        s = jax.nn.sigmoid(x)
        q = s * (1 - y) + (1 - s) * y  # 1 - p_t
        ce = jax.nn.softplus(x) - y * x
        alpha_t = alpha * y + (1 - alpha) * (1 - y)
        focusing = gamma * ce * q ** (gamma - 1) * (1 - 2 * y) * s * (1 - s)
        if bug == "positives":  # BUG: the focusing term forgotten for positives (y > 0.5)
            focusing = jnp.where(y > 0.5, 0.0, focusing)
        grad = alpha_t * ((s - y) * q ** gamma + focusing)
        if bug == "sign":  # BUG: the sign of one element flipped
            flat, i = grad.reshape(-1), _at(3, grad.size)
            grad = flat.at[i].set(-flat[i]).reshape(grad.shape)
        if bug == "mean":  # BUG: divided by N, as if the loss were the batch mean
            grad = grad / x.shape[0]
        if bug in _RELATIVE:  # BUG: one element off by 1e-5 (1e-4, 1e-3) relative
            flat, i = grad.reshape(-1), _at(3, grad.size)
            grad = flat.at[i].set(flat[i] * (1 + _RELATIVE[bug])).reshape(grad.shape)
        if bug == "column":  # BUG: one class column (1) scaled by 1.01
            # (N, C, rest): a 1-D input, (N,), is one column
            columns = grad.reshape(len(grad), grad.shape[1] if grad.ndim > 1 else 1, -1)
            grad = columns.at[:, _at(1, columns.shape[1])].multiply(1.01).reshape(grad.shape)
        if bug == "layout":  # BUG: transposed, then put back in the input's shape
            grad = grad.T.reshape(grad.shape)
        if bug == "branch":  # BUG: a rare branch (logits above 2.5) halves the gradient
            grad = jnp.where(x > 2.5, 0.5 * grad, grad)
        return g * grad, jnp.zeros_like(y)

    focal.defvjp(fwd, bwd)

    def fn(logits, labels, alpha=0.25, gamma=2.0):
        return _per_sample(focal(logits, labels, alpha, gamma))

    fn.__doc__ = f"Focal loss with a jax.custom_vjp backward carrying the bug {bug!r}."
    return fn


register_loss("jax_bug_positives", backend="jax", **_FOCAL)(_focal_with_bug("positives"))
register_loss("jax_bug_sign", backend="jax", **_FOCAL)(_focal_with_bug("sign"))
register_loss("jax_bug_mean", backend="jax", **_FOCAL)(_focal_with_bug("mean"))
for _bug in (*_RELATIVE, "column", "layout", "branch"):
    register_loss(f"jax_bug_{_bug}", backend="jax", **_FOCAL)(_focal_with_bug(_bug))


@register_loss("jax_float32", backend="jax", **_FOCAL)
def jax_float32(logits, labels, alpha=0.25, gamma=2.0):
    """Focal loss computed in float32 (JAX's default precision), whatever it is given."""
    return _per_sample(_focal_terms(logits.astype(jnp.float32), labels.astype(jnp.float32), alpha, gamma))


@jax.custom_vjp
def _softplus_t(x, t):
    return jax.nn.softplus(x / t)


def _softplus_t_fwd(x, t):
    return _softplus_t(x, t), (x, t)


def _softplus_t_bwd(res, g):
    x, t = res
    s = jax.nn.sigmoid(x / t)
    return g * s / t, jnp.sum(g * s * x / t**2)  # BUG: dL/dT is -Σ g·s·x/t²


_softplus_t.defvjp(_softplus_t_fwd, _softplus_t_bwd)


@register_loss("jax_bug_temperature", inputs=(_LOGITS,), differentiable=("logits", "temperature"),
               params={"temperature": Param(2.0, constraint=">0")}, coupling="elementwise", backend="jax")
def jax_bug_temperature(logits, temperature=2.0):
    """softplus(x / T) whose custom backward gets dL/dT's sign wrong."""
    return _per_sample(_softplus_t(logits, temperature))


# -- a kink: the row max at ties --------------------------------------------------------------
_ROWS = Input("x", "N,D", "real", description="scores; the loss is each row's maximum")


def _rowmax_with(ties):
    """max_j x_ij with a jax.custom_vjp backward; at a tie the gradient must be a subgradient (a
    convex combination of the tied one-hot vectors)."""

    @jax.custom_vjp
    def rowmax(x):
        return x.max(axis=1)

    def fwd(x):
        return rowmax(x), x

    def bwd(x, g):
        if ties:  # BUG: 1 on every tied maximum: at a tie of two it sums to 2, not a subgradient
            onehot = (x == x.max(axis=1, keepdims=True)).astype(x.dtype)
        else:  # one-hot at the first maximum: a subgradient
            onehot = jax.nn.one_hot(x.argmax(axis=1), x.shape[1], dtype=x.dtype)
        return (g[:, None] * onehot,)

    rowmax.defvjp(fwd, bwd)
    return rowmax


_rowmax_one_hot, _rowmax_every_tie = _rowmax_with(False), _rowmax_with(True)


@register_loss("jax_rowmax", inputs=(_ROWS,), coupling="row", backend="jax")
def jax_rowmax(x):
    """Each row's maximum; the custom backward is one-hot at the first maximum (valid at ties)."""
    return _rowmax_one_hot(x)


@register_loss("jax_bug_tied_max", inputs=(_ROWS,), coupling="row", backend="jax")
def jax_bug_tied_max(x):
    """Each row's maximum; the custom backward gives 1 to every tied maximum (wrong at ties)."""
    return _rowmax_every_tie(x)


# -- batch-coupled: in-batch contrastive (InfoNCE) ----------------------------------------------
_VEC = {"shape": "N,D", "domain": "real"}
_INFONCE = {"inputs": (Input("query", **_VEC), Input("key", **_VEC, description="positive key of each query")),
            "differentiable": ("query", "key"), "category": "embedding", "coupling": "batch",
            "params": {"temperature": Param(0.5, constraint=">0")}}


def _infonce_with(bug):
    """l_i = -log softmax_j(q_i·k_j / τ)_i with a jax.custom_vjp backward: every other key in the
    batch is a negative, so each key's gradient gathers every query's term (the loss couples the batch)."""

    @partial(jax.custom_vjp, nondiff_argnums=(2,))
    def infonce(q, k, t):
        logits = q @ k.mT / t  # (mT, axis=-1: a stacked (..., N, D) input, as gradcheck may try, stays right)
        return jax.nn.logsumexp(logits, axis=-1) - jnp.diagonal(logits, axis1=-2, axis2=-1)

    def fwd(q, k, t):
        return infonce(q, k, t), (q, k)

    def bwd(t, res, g):
        q, k = res
        p = jax.nn.softmax(q @ k.T / t, axis=1)
        G = g[:, None] * (p - jnp.eye(len(q), dtype=q.dtype)) / t  # ∂(Σ g_i l_i)/∂(q_i·k_j)
        dq, dk = G @ k, G.T @ q
        if bug == "row":  # BUG: key row 7 off by 1e-3 relative
            dk = dk.at[_at(7, len(dk))].multiply(1 + 1e-3)
        if bug == "element":  # BUG: one key element, [5, 3], off by 1e-3 relative
            dk = dk.at[_at(5, dk.shape[0]), _at(3, dk.shape[1])].multiply(1 + 1e-3)
        return dq, dk

    infonce.defvjp(fwd, bwd)

    def fn(query, key, temperature=0.5):
        return infonce(query, key, temperature)

    fn.__doc__ = ("InfoNCE on dot products, q·kᵀ/τ, with a jax.custom_vjp backward"
                  + (f" carrying the bug {bug!r}." if bug else " (right)."))
    return fn


register_loss("jax_infonce", backend="jax", **_INFONCE)(_infonce_with(None))
register_loss("jax_bug_infonce_row", backend="jax", **_INFONCE)(_infonce_with("row"))
register_loss("jax_bug_infonce_element", backend="jax", **_INFONCE)(_infonce_with("element"))
