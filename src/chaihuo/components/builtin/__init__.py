"""The components chaihuo ships, gathered into the default registry."""

from chaihuo.components._spec import ComponentSpec, Registry

__all__ = ["BUILTIN_SPECS", "default_registry"]

BUILTIN_SPECS: tuple[ComponentSpec, ...] = ()


def default_registry() -> Registry:
    """A fresh registry holding every built-in component."""
    return Registry(list(BUILTIN_SPECS))
