"""The catalogue: the built-in losses (``losscli/losses/``) and users' installed plugins, loaded
into the registry on first use, and looked up by name."""

from __future__ import annotations

import functools

from . import registry
from .errors import LossCliError, UnknownLossError
from .loss import Loss
from .vocabulary import CATEGORIES

_loaded = False


def load_catalogue() -> None:
    """Register the built-in losses and the installed plugins' (once per process)."""
    global _loaded
    if not _loaded:
        _loaded = True
        from . import losses  # noqa: F401  (registers the built-ins)
        from .plugins import load_entry_points

        load_entry_points()


@functools.wraps(registry.register_loss)
def register_loss(name: str, **kwargs):
    # (the public ``losscli.register_loss``: the built-ins and installed plugins are registered first,
    # so a user's loss named as one of them is refused, or replaces it with ``replace=True``; one
    # registered before them took a built-in's name and half the catalogue failed to load)
    load_catalogue()
    return registry.register_loss(name, **kwargs)


def get_loss(name: str | Loss) -> Loss:
    """The loss registered as ``name`` or as an alias of it (a :class:`Loss`: the one registered
    under its name); the error lists close matches."""
    load_catalogue()
    if isinstance(name, Loss):
        name = name.name
    if not isinstance(name, str):
        raise UnknownLossError(f"a loss name is text (or a Loss), got {name!r}")
    return registry.lookup(name)


def list_losses(category: str | None = None) -> list[Loss]:
    """Every registered loss, built-ins first in catalogue order, then users' own; ``category``:
    those of one (``vocabulary.CATEGORIES``)."""
    if category is not None and category not in CATEGORIES:
        raise LossCliError(f"category: expected one of {', '.join(CATEGORIES)}, got {category!r}")
    load_catalogue()
    return [l for l in registry.registered() if category is None or l.category == category]


def unregister_loss(name: str | Loss) -> None:
    """Remove a loss and its aliases (for tests and interactive use)."""
    registry.remove(get_loss(name))
