"""A job's plan-time checks: components, roles, parameters and the data flow between them."""

# Everything here runs before any party starts, so that a mistake costs nothing: a component
# that needs a role the job does not have (hetero_lr without an arbiter), parameters that do
# not validate, and a component reading an output its producer does not give that role
# (a host scaler reading a psi that keeps the intersection from the hosts). Settings left to
# "auto" are resolved here once for every party (ComponentSpec.plan), so that all parties of
# a job run a component with the same choice.

from __future__ import annotations

from collections.abc import Mapping

from chaihuo.components import ComponentError, ComponentSpec, ParamsByParty, Registry
from chaihuo.components import validate_params as validate_role_params
from chaihuo.core import ChaihuoError, Role
from chaihuo.flow._dsl import ComponentEntry, JobFile, JobInvalidError, topological_order

__all__ = ["resolve_job", "runs_on", "validate_job"]

RosterRoles = Mapping[Role, list[str]]


def runs_on(
    entry: ComponentEntry, spec: ComponentSpec, roles: RosterRoles
) -> list[tuple[Role, str]]:
    """The (role, party id) pairs that run this component, in role order."""
    return [
        (role, pid)
        for role in (entry.roles or sorted(spec.roles, key=list(Role).index))
        if role in spec.roles
        for pid in roles.get(role, [])
    ]


def _spec(registry: Registry, cid: str, entry: ComponentEntry) -> ComponentSpec:
    try:
        return registry.get(entry.component)
    except ComponentError as exc:
        raise JobInvalidError(f"component {cid!r}: {exc}") from exc


def _check_wiring(job: JobFile, registry: Registry, cid: str, spec: ComponentSpec) -> None:
    entry = job.components[cid]
    for role in entry.roles or []:
        if role not in spec.roles:
            known = ", ".join(sorted(r.value for r in spec.roles))
            raise JobInvalidError(
                f"component {cid!r} ({spec.name}) does not run on {role.value!r} (roles: {known})"
            )
    for name, ref in entry.inputs.items():
        source_id, output = ref.split(".")
        source = _spec(registry, source_id, job.components[source_id])
        if name not in spec.inputs + spec.optional_inputs:
            raise JobInvalidError(f"component {cid!r} ({spec.name}) has no input {name!r}")
        if output not in source.outputs:
            raise JobInvalidError(f"component {source_id!r} has no output {output!r}")
    if entry.model is not None:
        if "model" not in spec.inputs + spec.optional_inputs:
            raise JobInvalidError(f"component {cid!r} ({spec.name}) takes no model")
        if "model" in entry.inputs:
            raise JobInvalidError(
                f"component {cid!r}: give its model either as `model:` or as an input"
            )
    for required in spec.inputs:
        if required not in entry.inputs:
            raise JobInvalidError(f"component {cid!r} ({spec.name}) needs input {required!r}")


def _check_roles(cid: str, spec: ComponentSpec, roles: RosterRoles) -> None:
    for role in sorted(spec.required_roles, key=list(Role).index):
        if not roles.get(role):
            raise JobInvalidError(
                f"component {cid!r} ({spec.name}) needs a party in the role {role.value!r}, "
                f"and the job has none: add '{role.value}: <party id>' under parties"
            )


def _consumed(
    job: JobFile, registry: Registry, roles: RosterRoles
) -> dict[str, set[tuple[Role, str]]]:
    """For each component, the (role, output) pairs that later components read from it."""
    consumed: dict[str, set[tuple[Role, str]]] = {cid: set() for cid in job.components}
    for entry in job.components.values():
        spec = registry.get(entry.component)
        for ref in entry.inputs.values():
            source_id, output = ref.split(".")
            consumed[source_id].update((role, output) for role, _ in runs_on(entry, spec, roles))
    return consumed


def _resolve(
    cid: str, spec: ComponentSpec, params: ParamsByParty, consumed: set[tuple[Role, str]]
) -> ParamsByParty:
    if spec.plan is None:
        return params
    try:
        return spec.plan(params, frozenset(consumed))
    except ChaihuoError as exc:
        raise JobInvalidError(f"component {cid!r}: {exc}") from exc


def _check_flow(
    job: JobFile,
    registry: Registry,
    cid: str,
    resolved: Mapping[str, ParamsByParty],
    roles: RosterRoles,
) -> None:
    """Every role that runs `cid` gets each input it names from a producer that gives it."""
    entry = job.components[cid]
    spec = registry.get(entry.component)
    for name, ref in entry.inputs.items():
        source_id, output = ref.split(".")
        source = registry.get(job.components[source_id].component)
        for role, pid in runs_on(entry, spec, roles):
            where = f"component {cid!r} ({spec.name}) on {role.value}:{pid} reads {ref}"
            produced = resolved[source_id].get((role, pid))
            if produced is None:
                if name in spec.inputs:
                    raise JobInvalidError(
                        f"{where}, but {source_id!r} ({source.name}) does not run on the "
                        f"{role.value}; read {name!r} from a component that runs there"
                    )
                continue  # an optional input this role simply does not get (the arbiter)
            if output not in source.outputs_of(role, produced):
                hint = f" ({source.produces_hint})" if source.produces_hint else ""
                raise JobInvalidError(
                    f"{where}, but {source_id!r} ({source.name}) gives the {role.value} no "
                    f"{output!r} with these parameters{hint}"
                )


def resolve_job(job: JobFile, registry: Registry, roles: RosterRoles) -> dict[str, ParamsByParty]:
    """Check the whole job and return each component's raw params per (role, party id).

    Raises JobInvalidError naming the component, the role and what to change."""
    order = topological_order(job)
    consumed = _consumed_or_raise(job, registry, roles, order)
    resolved: dict[str, ParamsByParty] = {}
    for cid in order:
        entry = job.components[cid]
        spec = _spec(registry, cid, entry)
        _check_roles(cid, spec, roles)
        raw = {
            (role, pid): entry.params_for(role, pid) for role, pid in runs_on(entry, spec, roles)
        }
        for (role, pid), params in raw.items():
            validate_role_params(spec, params, f"{cid} on {role.value}:{pid}")
        resolved[cid] = _resolve(cid, spec, raw, consumed[cid])
    for cid in order:
        _check_flow(job, registry, cid, resolved, roles)
    return resolved


def _consumed_or_raise(
    job: JobFile, registry: Registry, roles: RosterRoles, order: list[str]
) -> dict[str, set[tuple[Role, str]]]:
    for cid in order:
        _check_wiring(job, registry, cid, _spec(registry, cid, job.components[cid]))
    return _consumed(job, registry, roles)


def validate_job(job: JobFile, registry: Registry, roster_roles: RosterRoles) -> None:
    """Check components, roles, inputs, every role's params and the data flow (see module)."""
    resolve_job(job, registry, roster_roles)
