"""Declarative components: typed specs and their registry, party tasks, and the party worker."""

from chaihuo.components._outputs import save_outputs
from chaihuo.components._spec import (
    ComponentError,
    ComponentParams,
    ComponentSpec,
    Registry,
    RoleRunner,
    validate_params,
)
from chaihuo.components._task import (
    ComponentTask,
    FederationPlan,
    PartyResult,
    PartyTask,
    RoleOutcome,
)
from chaihuo.components._worker import check_security

__all__ = [
    "ComponentError",
    "ComponentParams",
    "ComponentSpec",
    "ComponentTask",
    "FederationPlan",
    "PartyResult",
    "PartyTask",
    "Registry",
    "RoleOutcome",
    "RoleRunner",
    "check_security",
    "save_outputs",
    "validate_params",
]
