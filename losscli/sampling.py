"""Random valid inputs for any registered loss, generated from its declared shapes and domains.

Used by ``gradcheck`` when no files are given, and by the registry-driven tests, so that a loss
added to the registry is exercised the moment it exists. A loss whose inputs obey a constraint
no domain expresses (GE2E's equal groups) declares a ``sampler`` of its own.
"""

from __future__ import annotations

import numpy as np

from .registry import Loss


def _draw(domain: str, shape: tuple[int, ...], rng: np.random.Generator, num_classes: int) -> np.ndarray:
    if domain == "real":
        return rng.standard_normal(shape)
    if domain == "probability":
        return rng.uniform(0.05, 0.95, shape)
    if domain in ("prob_rows", "target") and len(shape) == 2:
        z = rng.standard_normal(shape)
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)
    if domain in ("class_index", "target"):
        return rng.integers(0, num_classes, shape).astype(np.intp)
    if domain == "binary":
        return rng.integers(0, 2, shape).astype(np.float64)
    if domain in ("sign", "sign_or_binary"):
        return rng.choice([-1.0, 1.0], shape)
    if domain == "unit_interval_signed":
        return rng.uniform(-0.9, 0.9, shape)
    if domain in ("nonnegative", "positive"):
        return rng.uniform(0.1, 2.0, shape)
    if domain == "integer":
        return rng.integers(0, max(num_classes, 2), shape).astype(np.float64)
    raise ValueError(f"no sampler for domain {domain!r}")


def random_inputs(loss: Loss, *, samples: int = 8, classes: int = 4, dim: int = 3,
                  seed: int | np.random.Generator = 0, label_rows: bool = False,
                  optional: bool = False, trailing: tuple[int, ...] = ()) -> dict[str, np.ndarray]:
    """Inputs for every role: N = ``samples``, C = ``classes``, D (and any other symbol) = ``dim``.

    ``label_rows`` picks the (N, C) alternative of class targets; ``optional`` includes optional
    roles; ``trailing`` is what ``...`` in a shape stands for. A loss with a ``sampler`` hook
    gets it called with the same arguments instead."""
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    if getattr(loss, "sampler", None) is not None:
        return loss.sampler(rng=rng, samples=samples, classes=classes, dim=dim,
                            label_rows=label_rows, optional=optional)
    sizes = {"N": samples, "C": classes}
    out: dict[str, np.ndarray] = {}
    for role in loss.inputs:
        if role.optional and not optional:
            continue
        alts = role.alternatives()
        alt = alts[-1] if label_rows and len(alts) > 1 else alts[0]
        if len(alt) == 1 and alt[0].startswith("="):
            shape = out[alt[0][1:]].shape
        else:
            shape = ()
            for d in alt:
                shape += tuple(trailing) if d == "..." else (sizes.get(d, dim),)
        domain = role.domain
        if domain == "sign_or_class":  # class indices next to (N, C) scores, else ±1
            domain = "class_index" if any(v.ndim == 2 for v in out.values()) else "sign"
        out[role.name] = _draw(domain, shape, rng, classes)
    return out
