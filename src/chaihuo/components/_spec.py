"""Declarative component specs: typed parameters, inputs, outputs, roles, version, and registry."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from chaihuo.core import ChaihuoError, Role

__all__ = [
    "ComponentError",
    "ComponentParams",
    "ComponentSpec",
    "ParamsByParty",
    "PlanParams",
    "Produces",
    "Registry",
    "RoleRunner",
    "learner_outputs",
    "validate_params",
]


class ComponentError(ChaihuoError):
    """A component definition or invocation that cannot be used."""

    code = "JOB_INVALID"


class ComponentParams(BaseModel):
    """Base of every component's parameter model: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


RoleRunner = Callable[[Any, Any, Mapping[str, Any]], Mapping[str, Any]]
"""(ctx, params of the spec's model, inputs by name) → outputs by name, for one role."""

Produces = Callable[[Role, Mapping[str, Any]], frozenset[str]]
"""(role, that role's raw params) → the outputs the role hands to later components."""

ParamsByParty = dict[tuple[Role, str], dict[str, Any]]
"""One component's raw parameters for each (role, party id) it runs on."""

PlanParams = Callable[[ParamsByParty, frozenset[tuple[Role, str]]], ParamsByParty]
"""(params by party, (role, output) pairs later components read) → the params to run with.

The launcher calls it once per job before any party starts, so that a setting left to
"auto" resolves to the same value on every party (e.g. `psi` giving hosts the aligned
table when a host component consumes it)."""


@dataclass(frozen=True)
class ComponentSpec:
    """A registered, versioned component: what it needs and produces, and how each role runs."""

    name: str
    version: str
    description: str
    params: type[ComponentParams]
    runners: Mapping[Role, RoleRunner]
    inputs: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()
    optional_inputs: tuple[str, ...] = field(default=())
    required_roles: frozenset[Role] = field(default=frozenset())
    produces: Produces | None = None
    produces_hint: str = field(default="", metadata={"doc": "How to get an output to a role."})
    plan: PlanParams | None = None

    @property
    def roles(self) -> frozenset[Role]:
        """Roles this component runs on."""
        return frozenset(self.runners)

    def outputs_of(self, role: Role, raw_params: Mapping[str, Any]) -> frozenset[str]:
        """The outputs `role` produces with these params (all of `outputs` unless declared)."""
        if role not in self.runners:
            return frozenset()
        if self.produces is None:
            return frozenset(self.outputs)
        return self.produces(role, raw_params)


def learner_outputs(role: Role, raw_params: Mapping[str, Any]) -> frozenset[str]:
    """A vertical learner's outputs: every role keeps its model part, the guest the predictions."""
    return frozenset({"model", "predictions"} if role is Role.GUEST else {"model"})


def validate_params(spec: ComponentSpec, raw: Mapping[str, Any], where: str) -> ComponentParams:
    """Validate one role's merged parameters; errors name the component, role and field."""
    import difflib  # noqa: PLC0415 - only on the error path

    try:
        return spec.params.model_validate(dict(raw))
    except ValidationError as exc:
        errors = exc.errors()
        fields = spec.params.model_fields
        valid = sorted(fields)
        aliases = {
            alias: name
            for name, info in fields.items()
            for alias in getattr(info.validation_alias, "choices", ())
            if isinstance(alias, str) and alias != name
        }
        problems = []
        for err in errors:
            if err["type"] != "extra_forbidden" or len(err["loc"]) != 1:
                continue
            unknown = str(err["loc"][0])
            close = difflib.get_close_matches(unknown, [*valid, *aliases], n=1, cutoff=0.6)
            hint = ""
            if close:
                alias_of = f" (= {aliases[close[0]]!r})" if close[0] in aliases else ""
                hint = f"did you mean {close[0]!r}{alias_of}? "
            problems.append(
                f"unknown parameter {unknown!r} for {spec.name}; {hint}valid: {', '.join(valid)}"
            )
        invalid = [e for e in errors if e["type"] != "extra_forbidden" or len(e["loc"]) != 1]
        if invalid:
            details = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or '(params)'}: {err['msg']}"
                for err in invalid
            )
            problems.append(f"invalid parameters for {spec.name}: {details}")
        raise ComponentError(f"{where}: {'; '.join(problems)}") from exc


class Registry:
    """Name → spec. Built explicitly (no import-time registration side effects)."""

    def __init__(self, specs: list[ComponentSpec] | None = None) -> None:
        self._specs: dict[str, ComponentSpec] = {}
        for spec in specs or []:
            self.add(spec)

    def add(self, spec: ComponentSpec) -> None:
        """Register a spec; a name may be registered once."""
        if spec.name in self._specs:
            raise ComponentError(f"component {spec.name!r} is registered twice")
        self._specs[spec.name] = spec

    def get(self, name: str) -> ComponentSpec:
        """The spec for `name`, or a ComponentError listing what exists."""
        spec = self._specs.get(name)
        if spec is None:
            known = ", ".join(sorted(self._specs))
            raise ComponentError(f"unknown component {name!r}; known components: {known}")
        return spec

    def names(self) -> list[str]:
        """Registered component names, sorted."""
        return sorted(self._specs)
