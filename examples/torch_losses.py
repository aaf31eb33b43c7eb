"""Losses written in PyTorch, registered with ``backend="torch"`` (needs ``pip install 'losscli[torch]'``).

    losscli --plugin examples/torch_losses.py gradcheck torch_focal
    losscli --plugin examples/torch_losses.py gradcheck torch_logistic --order 2
    losscli --plugin examples/torch_losses.py compute torch_focal logits.npy labels.npy
    losscli --plugin examples/torch_losses.py gradcheck torch_bug_infonce_row queries.npy keys.npy

losscli hands each function float64 tensors and checks torch's own backward (autograd, or a custom
``torch.autograd.Function``) against its numeric derivatives. ``torch_focal``, ``torch_logistic``,
``torch_rowmax`` (a kink with a valid subgradient at ties) and ``torch_infonce`` (batch-coupled) are
right; every loss named ``torch_bug_*`` carries one deliberate bug, so that you can see what
gradcheck reports for it (the tests in tests/test_backends.py rely on each one):

- ``positives``: the focal backward forgets the focusing term for positives;
- ``sign``: the sign of one element flipped;
- ``relative``, ``relative_1e_4``, ``relative_1e_3``: one element off by 1e-5, 1e-4, 1e-3 relative;
- ``mean``: the gradient of the batch mean for a per-sample loss (divided by N);
- ``column``: one class column off by 1%;
- ``layout``: the gradient transposed, then put back in the input's shape;
- ``branch``: a rare branch (logits above 2.5) halves the gradient;
- ``temperature``: the derivative w.r.t. a parameter has the wrong sign;
- ``second_order``: a backward that is right but not differentiable again (``--order 2``);
- ``tied_max``: the row max's backward gives 1 to every tied maximum (sums to 2: no subgradient);
- ``infonce_row``, ``infonce_element``: a batch-coupled InfoNCE whose key gradient is off by 1e-3
  relative in one row (7), or in one element ([5, 3]).

Each planted index is clipped to the array it is planted in (flat element 3, class column 1, key
row 7, key element [5, 3]; the last one where the array is smaller: key element [5, 2] at the
default ``--dim 3``), so that the bug exists at every size gradcheck may use.

``torch_float32`` computes in float32 (reported, and its right gradient passes).
"""

import torch
import torch.nn.functional as F

from losscli import Input, Param, register_loss

#: the relative error of one gradient element (flat index 3), per bug
_RELATIVE = {"relative": 1e-5, "relative_1e_4": 1e-4, "relative_1e_3": 1e-3}


def _at(index: int, size: int) -> int:
    """A planted bug's ``index`` along an axis of ``size``, clipped to the last one: the bug stays
    at every size (--samples, --dim) instead of raising IndexError on a smaller array."""
    return min(index, size - 1)


_LOGITS = Input("logits", "N,...", "real", description="unnormalised scores (logits)")
_LABELS = Input("labels", "=logits", "probability", description="targets in [0, 1] (usually {0, 1})")
_FOCAL = dict(inputs=(_LOGITS, _LABELS), category="classification", coupling="elementwise",
              params={"alpha": Param(0.25, constraint="<=1"), "gamma": Param(2.0, constraint=">=0")})


def _per_sample(l):
    """Mean over each sample's trailing elements: one value per sample, as losscli's focal."""
    return l.reshape(l.shape[0], -1).mean(dim=1)


def _focal_terms(logits, labels, alpha, gamma):
    """torchvision.ops.sigmoid_focal_loss, elementwise: α_t (1 - p_t)^γ CE."""
    p = torch.sigmoid(logits)
    ce = F.binary_cross_entropy_with_logits(logits, labels, reduction="none")
    p_t = p * labels + (1 - p) * (1 - labels)
    alpha_t = alpha * labels + (1 - alpha) * (1 - labels)
    return alpha_t * ce * (1 - p_t) ** gamma


@register_loss("torch_focal", differentiable=("logits", "gamma"), backend="torch", **_FOCAL)
def torch_focal(logits, labels, alpha=0.25, gamma=2.0):
    """Sigmoid focal loss in plain torch, differentiable in logits and gamma (Lin et al. 2017).

    α_t (1 - p_t)^γ CE as torchvision.ops.sigmoid_focal_loss, arXiv:1708.02002; autograd's backward."""
    return _per_sample(_focal_terms(logits, labels, alpha, gamma))


@register_loss("torch_logistic", inputs=(_LOGITS, _LABELS), category="classification", coupling="elementwise",
               backend="torch")
def torch_logistic(logits, labels):
    """Binary cross-entropy on logits with a hand-written backward that is differentiable again.

    Its second derivatives are right: gradcheck --order 2 passes."""
    return _per_sample(_Logistic.apply(logits, labels))


class _Logistic(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return F.softplus(x) - y * x

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        return g * (torch.sigmoid(x) - y), None  # torch ops on saved inputs: differentiable again


# -- deliberate bugs, one per loss --------------------------------------------------------------
class _DetachedLogistic(torch.autograd.Function):
    """BUG (second order): σ(x) is kept from the forward pass, where autograd does not record, so
    the backward is right but its own derivative misses σ'(x)."""

    @staticmethod
    def forward(ctx, x, y):
        ctx.sigma = torch.sigmoid(x)
        ctx.save_for_backward(y)
        return F.softplus(x) - y * x

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * (ctx.sigma - y), None


@register_loss("torch_bug_second_order", inputs=(_LOGITS, _LABELS), coupling="elementwise", backend="torch")
def torch_bug_second_order(logits, labels):
    """Logistic loss whose custom backward is not differentiable again (gradcheck --order 2 fails)."""
    return _per_sample(_DetachedLogistic.apply(logits, labels))


class _FocalBackward(torch.autograd.Function):
    """Focal loss with a hand-written backward; ``bug`` selects a deliberate mistake."""

    @staticmethod
    def forward(ctx, x, y, alpha, gamma, bug):
        ctx.save_for_backward(x, y)
        ctx.alpha, ctx.gamma, ctx.bug = alpha, gamma, bug
        return _focal_terms(x, y, alpha, gamma)

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        a, gamma = ctx.alpha, ctx.gamma
        s = torch.sigmoid(x)
        q = s * (1 - y) + (1 - s) * y  # 1 - p_t
        ce = F.binary_cross_entropy_with_logits(x, y, reduction="none")
        alpha_t = a * y + (1 - a) * (1 - y)
        focusing = gamma * ce * q ** (gamma - 1) * (1 - 2 * y) * s * (1 - s)
        if ctx.bug == "positives":  # BUG: the focusing term forgotten for positives (y > 0.5)
            focusing = torch.where(y > 0.5, torch.zeros_like(focusing), focusing)
        grad = alpha_t * ((s - y) * q ** gamma + focusing)
        if ctx.bug == "sign":  # BUG: the sign of one element flipped
            grad = grad.clone()
            i = _at(3, grad.numel())
            grad.view(-1)[i] = -grad.view(-1)[i]
        if ctx.bug == "mean":  # BUG: divided by N, as if the loss were the batch mean
            grad = grad / x.shape[0]
        if ctx.bug in _RELATIVE:  # BUG: one element off by 1e-5 (1e-4, 1e-3) relative
            grad = grad.clone()
            i = _at(3, grad.numel())
            grad.view(-1)[i] = grad.view(-1)[i] * (1 + _RELATIVE[ctx.bug])
        if ctx.bug == "column":  # BUG: one class column (1) scaled by 1.01
            # (N, C, rest): a 1-D input, (N,), is one column
            columns = grad.reshape(len(grad), grad.shape[1] if grad.dim() > 1 else 1, -1).clone()
            c = _at(1, columns.shape[1])
            columns[:, c] = columns[:, c] * 1.01
            grad = columns.reshape(grad.shape)
        if ctx.bug == "layout":  # BUG: transposed, then put back in the input's shape
            grad = grad.T.reshape(grad.shape)
        if ctx.bug == "branch":  # BUG: a rare branch (logits above 2.5) halves the gradient
            grad = torch.where(x > 2.5, 0.5 * grad, grad)
        return g * grad, None, None, None, None


def _focal_with_bug(bug):
    def fn(logits, labels, alpha=0.25, gamma=2.0):
        return _per_sample(_FocalBackward.apply(logits, labels, alpha, gamma, bug))

    fn.__doc__ = f"Focal loss with a custom backward carrying the bug {bug!r}."
    return fn


register_loss("torch_bug_positives", backend="torch", **_FOCAL)(_focal_with_bug("positives"))
register_loss("torch_bug_sign", backend="torch", **_FOCAL)(_focal_with_bug("sign"))
register_loss("torch_bug_mean", backend="torch", **_FOCAL)(_focal_with_bug("mean"))
for _bug in (*_RELATIVE, "column", "layout", "branch"):
    register_loss(f"torch_bug_{_bug}", backend="torch", **_FOCAL)(_focal_with_bug(_bug))


@register_loss("torch_float32", backend="torch", **_FOCAL)
def torch_float32(logits, labels, alpha=0.25, gamma=2.0):
    """Focal loss computed in float32, as PyTorch code does by default (``.float()``)."""
    return _per_sample(_focal_terms(logits.float(), labels.float(), alpha, gamma))


class _TemperatureBug(torch.autograd.Function):
    """BUG (parameter): the gradient w.r.t. the temperature has the wrong sign."""

    @staticmethod
    def forward(ctx, x, t):
        ctx.save_for_backward(x, t)
        return F.softplus(x / t)

    @staticmethod
    def backward(ctx, g):
        x, t = ctx.saved_tensors
        s = torch.sigmoid(x / t)
        return g * s / t, (g * s * x / t**2).sum()  # right: -(g·s·x/t²).sum()


@register_loss("torch_bug_temperature", inputs=(_LOGITS,), differentiable=("logits", "temperature"),
               params={"temperature": Param(2.0, constraint=">0")}, coupling="elementwise", backend="torch")
def torch_bug_temperature(logits, temperature=2.0):
    """softplus(x / T) whose custom backward gets dL/dT's sign wrong."""
    return _per_sample(_TemperatureBug.apply(logits, temperature))


# -- a kink: the row max at ties --------------------------------------------------------------
_ROWS = Input("x", "N,D", "real", description="scores; the loss is each row's maximum")


class _RowMax(torch.autograd.Function):
    """max_j x_ij with a hand-written backward; at a tie the gradient must be a subgradient (a
    convex combination of the tied one-hot vectors)."""

    @staticmethod
    def forward(ctx, x, ties):
        ctx.save_for_backward(x)
        ctx.ties = ties
        return x.max(dim=1).values

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        if ctx.ties:  # BUG: 1 on every tied maximum: at a tie of two it sums to 2, not a subgradient
            onehot = (x == x.max(dim=1, keepdim=True).values).to(x.dtype)
        else:  # one-hot at the first maximum: a subgradient
            onehot = F.one_hot(x.argmax(dim=1), x.shape[1]).to(x.dtype)
        return g[:, None] * onehot, None


@register_loss("torch_rowmax", inputs=(_ROWS,), coupling="row", backend="torch")
def torch_rowmax(x):
    """Each row's maximum; the custom backward is one-hot at the first maximum (valid at ties)."""
    return _RowMax.apply(x, False)


@register_loss("torch_bug_tied_max", inputs=(_ROWS,), coupling="row", backend="torch")
def torch_bug_tied_max(x):
    """Each row's maximum; the custom backward gives 1 to every tied maximum (wrong at ties)."""
    return _RowMax.apply(x, True)


# -- batch-coupled: in-batch contrastive (InfoNCE) ----------------------------------------------
_VEC = {"shape": "N,D", "domain": "real"}
_INFONCE = {"inputs": (Input("query", **_VEC), Input("key", **_VEC, description="positive key of each query")),
            "differentiable": ("query", "key"), "category": "embedding", "coupling": "batch",
            "params": {"temperature": Param(0.5, constraint=">0")}}


class _InfoNCE(torch.autograd.Function):
    """l_i = -log softmax_j(q_i·k_j / τ)_i: every other key in the batch is a negative, so each
    key's gradient gathers every query's term (the loss couples the batch)."""

    @staticmethod
    def forward(ctx, q, k, t, bug):
        ctx.save_for_backward(q, k)
        ctx.t, ctx.bug = t, bug
        logits = q @ k.mT / t  # (mT, dim=-1: a stacked (..., N, D) input, as gradcheck may try, stays right)
        return torch.logsumexp(logits, dim=-1) - logits.diagonal(dim1=-2, dim2=-1)

    @staticmethod
    def backward(ctx, g):
        q, k = ctx.saved_tensors
        p = torch.softmax(q @ k.T / ctx.t, dim=1)
        G = g[:, None] * (p - torch.eye(len(q), dtype=q.dtype)) / ctx.t  # ∂(Σ g_i l_i)/∂(q_i·k_j)
        dq, dk = G @ k, G.T @ q
        if ctx.bug == "row":  # BUG: key row 7 off by 1e-3 relative
            dk = dk.clone()
            i = _at(7, len(dk))
            dk[i] = dk[i] * (1 + 1e-3)
        if ctx.bug == "element":  # BUG: one key element, [5, 3], off by 1e-3 relative
            dk = dk.clone()
            i, j = _at(5, dk.shape[0]), _at(3, dk.shape[1])
            dk[i, j] = dk[i, j] * (1 + 1e-3)
        return dq, dk, None, None


def _infonce_with(bug):
    def fn(query, key, temperature=0.5):
        return _InfoNCE.apply(query, key, temperature, bug)

    fn.__doc__ = ("InfoNCE on dot products, q·kᵀ/τ, with a custom backward"
                  + (f" carrying the bug {bug!r}." if bug else " (right)."))
    return fn


register_loss("torch_infonce", backend="torch", **_INFONCE)(_infonce_with(None))
register_loss("torch_bug_infonce_row", backend="torch", **_INFONCE)(_infonce_with("row"))
register_loss("torch_bug_infonce_element", backend="torch", **_INFONCE)(_infonce_with("element"))
