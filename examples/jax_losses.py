"""Losses written in JAX, registered with ``backend="jax"`` (needs ``pip install 'losscli[jax]'``).

    losscli --plugin examples/jax_losses.py gradcheck jax_focal
    losscli --plugin examples/jax_losses.py gradcheck jax_logistic --order 2
    losscli --plugin examples/jax_losses.py compute jax_focal logits.npy labels.npy

losscli calls each function with float64 jax arrays (in a scoped ``jax.enable_x64``) and checks
JAX's own backward (``jax.vjp``; a ``jax.custom_vjp`` rule when there is one) against its numeric
derivatives. ``jax_focal`` and ``jax_logistic`` are right; every loss named ``jax_bug_*`` carries
one deliberate bug (the tests in tests/test_backends.py rely on each one).
"""

from functools import partial

import jax
import jax.numpy as jnp

from losscli import Input, Param, register_loss

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
            flat = grad.reshape(-1)
            grad = flat.at[3].set(-flat[3]).reshape(grad.shape)
        if bug == "mean":  # BUG: divided by N, as if the loss were the batch mean
            grad = grad / x.shape[0]
        if bug == "relative":  # BUG: one element off by 1e-5 relative
            flat = grad.reshape(-1)
            grad = flat.at[3].set(flat[3] * (1 + 1e-5)).reshape(grad.shape)
        if bug == "column":  # BUG: one class column (1) scaled by 1.01
            grad = grad.at[:, 1].multiply(1.01)
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
for _bug in ("relative", "column", "layout", "branch"):
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
