"""Declarative components: typed specs and their registry, party tasks, and the party worker."""

from chaihuo.components._outputs import save_outputs
from chaihuo.components._spec import (
    ComponentError,
    ComponentParams,
    ComponentSpec,
    ParamsByParty,
    Registry,
    RoleRunner,
    validate_params,
)
from chaihuo.components._task import (
    ComponentTask,
    ComputingPlan,
    FederationPlan,
    PartyResult,
    PartyTask,
    RoleOutcome,
)
from chaihuo.components._worker import check_security
from chaihuo.computing import remove_stale_spill

__all__ = [
    "ComponentError",
    "ComponentParams",
    "ComponentSpec",
    "ComponentTask",
    "ComputingPlan",
    "FederationPlan",
    "ParamsByParty",
    "PartyResult",
    "PartyTask",
    "Registry",
    "RoleOutcome",
    "RoleRunner",
    "check_security",
    "remove_stale_spill",
    "save_outputs",
    "validate_params",
]
