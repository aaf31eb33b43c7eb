"""The catalogue: the built-in losses (``losscli/losses/``) and users' installed plugins, loaded
into the registry on first use, and looked up by name."""

from __future__ import annotations

from . import registry
from .loss import Loss

_loaded = False


def load_catalogue() -> None:
    """Register the built-in losses and the installed plugins' (once per process)."""
    global _loaded
    if not _loaded:
        _loaded = True
        from . import losses  # noqa: F401  (registers the built-ins)
        from .plugins import load_entry_points

        load_entry_points()


def get_loss(name: str) -> Loss:
    """The loss registered as ``name`` or as an alias of it; the error lists close matches."""
    load_catalogue()
    return registry.lookup(name)


def list_losses(category: str | None = None) -> list[Loss]:
    """Every registered loss, built-ins first in catalogue order, then users' own."""
    load_catalogue()
    return [l for l in registry.registered() if category is None or l.category == category]


def unregister_loss(name: str) -> None:
    """Remove a loss and its aliases (for tests and interactive use)."""
    registry.remove(get_loss(name))
