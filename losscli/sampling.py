"""Random valid inputs for any registered loss, generated from its declared shapes and domains.

Used by ``gradcheck`` when no files are given, and by the registry-driven tests, so that a loss
added to the registry is exercised the moment it exists. A loss whose inputs obey a constraint
no domain expresses (GE2E's equal groups) declares a ``sampler`` of its own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from . import domains
from .errors import InputError
from .shapes import concrete

if TYPE_CHECKING:
    from .loss import Loss


def random_inputs(loss: Loss, *, samples: int = 8, classes: int = 4, dim: int = 3,
                  seed: int | np.random.Generator = 0, label_rows: bool = False,
                  optional: bool = False, trailing: tuple[int, ...] = (),
                  boundary: float = 0.0, params: dict | None = None) -> dict[str, np.ndarray]:
    """Inputs for every role: N = ``samples``, C = ``classes``, D (and any other symbol) = ``dim``.

    ``label_rows`` picks the (N, C) alternative of class targets; ``optional`` includes optional
    roles; ``trailing`` is what ``...`` in a shape stands for (gradcheck passes ``(dim,)``: dice
    and tversky get D pixels per sample, not one). ``boundary`` is the share of rows drawn near
    the bounds of each role's domain (``domains.sample``): gradcheck samples the whole domain, the
    registry-driven tests keep 0. ``params`` (``-p``) choose the domain of a role whose domain
    depends on one, where the declared domain's values are not in it (rates >= 0 for poisson_nll's
    log_input=false). A loss with a ``sampler`` hook gets it called with the same
    arguments instead (without ``boundary`` and ``trailing``, which it does not take)."""
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    sampler = getattr(loss, "sampler", None)
    if sampler is not None:
        return sampler(rng=rng, samples=samples, classes=classes, dim=dim,
                       label_rows=label_rows, optional=optional)
    sizes = {"N": samples, "C": classes}
    out: dict[str, np.ndarray] = {}
    for role in loss.inputs:
        if role.optional and not optional:
            continue
        shape = concrete(role.shape, sizes, {k: v.shape for k, v in out.items()}, last=label_rows,
                         trailing=trailing, default=dim)
        with_classes = any(v.ndim == 2 for v in out.values())  # class indices next to (N, C) scores
        # values of the declared domain where the one a parameter chooses accepts them (probabilities are
        # logits too), else that domain's (log_input=false: rates >= 0, not log-rates)
        values = domains.sample(role.domain, shape, rng, classes, with_classes, boundary)
        chosen = domains.of_role(loss, role.name, params or {})
        if chosen != role.domain and not _accepts(chosen, values):
            values = domains.sample(chosen, shape, rng, classes, with_classes, boundary)
        out[role.name] = values
    return out


def _accepts(name: str, values: np.ndarray) -> bool:
    """Whether domain ``name`` takes ``values`` as they are (its check refuses none)."""
    try:
        return domains.judge(name, values) is not None
    except InputError:
        return False
