"""The components chaihuo ships, gathered into the default registry."""

from chaihuo.components._spec import ComponentSpec, Registry
from chaihuo.components.builtin._evaluation import EVALUATION
from chaihuo.components.builtin._millionaires import MILLIONAIRES
from chaihuo.components.builtin._psi import PSI
from chaihuo.components.builtin._reader import READER
from chaihuo.components.builtin._secure_add import SECURE_ADD
from chaihuo.components.builtin._secure_aggregate import SECURE_AGGREGATE

__all__ = ["BUILTIN_SPECS", "default_registry"]

BUILTIN_SPECS: tuple[ComponentSpec, ...] = (
    READER,
    PSI,
    SECURE_ADD,
    SECURE_AGGREGATE,
    MILLIONAIRES,
    EVALUATION,
)


def default_registry() -> Registry:
    """A fresh registry holding every built-in component."""
    return Registry(list(BUILTIN_SPECS))
