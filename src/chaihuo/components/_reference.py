"""The component reference: each spec's parameters, roles, inputs and outputs, as data or text."""

from __future__ import annotations

import enum
import json
import types
import typing
from dataclasses import asdict, dataclass
from typing import Any

from annotated_types import Ge, Gt, Le, Lt, MaxLen, MinLen
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from chaihuo.components._spec import ComponentSpec, Registry
from chaihuo.core import Role

__all__ = [
    "ComponentInfo",
    "ParamInfo",
    "describe_component",
    "describe_type",
    "render_markdown",
]

REQUIRED = "required"
"""The `default` shown for a parameter that has none."""


@dataclass(frozen=True)
class ParamInfo:
    """One parameter: its name, readable type, default (JSON text), description, constraints."""

    name: str
    type: str
    default: str
    description: str
    constraints: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()

    @property
    def required(self) -> bool:
        """True when a job file must set it."""
        return self.default == REQUIRED


@dataclass(frozen=True)
class ComponentInfo:
    """Everything a job file author needs to know about one component."""

    name: str
    version: str
    description: str
    roles: tuple[str, ...]
    required_roles: tuple[str, ...]
    inputs: tuple[str, ...]
    optional_inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    params: tuple[ParamInfo, ...]
    outputs_note: str = ""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form (`chaihuo component show --json`)."""
        data = asdict(self)
        for param, info in zip(data["params"], self.params, strict=True):
            param["required"] = info.required
        return data


def _bound(constraint: object) -> tuple[str, str] | None:
    """(side, text) of one numeric bound: ("low", "1 ≤") or ("high", "≤ 10")."""
    if isinstance(constraint, Ge):
        return "low", f"{constraint.ge} ≤"
    if isinstance(constraint, Gt):
        return "low", f"{constraint.gt} <"
    if isinstance(constraint, Le):
        return "high", f"≤ {constraint.le}"
    if isinstance(constraint, Lt):
        return "high", f"< {constraint.lt}"
    return None


def _constraints(metadata: list[Any]) -> list[str]:
    """Readable constraints: `≥ 1`, `< 1`, `at least 1 item`."""
    texts = []
    for item in metadata:
        bound = _bound(item)
        if bound is not None:
            side, text = bound
            if side == "low":  # "1 ≤" reads as "≥ 1" on its own
                number, sign = text.rsplit(" ", 1)
                text = f"{'≥' if sign == '≤' else '>'} {number}"
            texts.append(text)
        elif isinstance(item, MinLen):
            texts.append(f"at least {item.min_length} item{'s' if item.min_length != 1 else ''}")
        elif isinstance(item, MaxLen):
            texts.append(f"at most {item.max_length} items")
    return texts


def _with_bounds(name: str, metadata: list[Any]) -> str:
    """`int ≥ 1`, `0 < float < 1`, `1 ≤ int ≤ 1024`: a type with its numeric bounds."""
    low = [t for t in (_bound(m) for m in metadata) if t and t[0] == "low"]
    high = [t for t in (_bound(m) for m in metadata) if t and t[0] == "high"]
    if low and high:
        return f"{low[0][1]} {name} {high[0][1]}"
    if low:
        number, sign = low[0][1].rsplit(" ", 1)
        return f"{name} {'≥' if sign == '≤' else '>'} {number}"
    if high:
        return f"{name} {high[0][1]}"
    return name


def describe_type(annotation: Any, metadata: list[Any] | None = None) -> str:
    """A readable type: `int ≥ 1`, `"ecdh" | "rsa"`, `float | None`, `list[str]`."""
    metadata = list(metadata or [])
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        inner = [a for a in args[1:] if not isinstance(a, FieldInfo)]
        for extra in args[1:]:
            if isinstance(extra, FieldInfo):
                inner.extend(extra.metadata)
        return describe_type(args[0], metadata + inner)
    if origin in (typing.Union, types.UnionType):
        members = [a for a in args if a is not type(None)]
        parts = [describe_type(a, metadata) for a in members]
        return " | ".join(parts + (["None"] if len(members) < len(args) else []))
    if origin is typing.Literal:
        return " | ".join(json.dumps(a.value if isinstance(a, enum.Enum) else a) for a in args)
    if origin in (list, tuple, dict, set, frozenset):
        inner_types = ", ".join("..." if a is Ellipsis else describe_type(a) for a in args)
        return f"{origin.__name__}[{inner_types}]" if args else origin.__name__
    if annotation is type(None):
        return "None"
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return " | ".join(json.dumps(m.value) for m in annotation)
    name = getattr(annotation, "__name__", str(annotation))
    return _with_bounds(name, metadata) if name in ("int", "float") else name


def _json(value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return repr(value)


def _default(info: FieldInfo) -> str:
    if info.default_factory is not None:
        return _json(info.default_factory())  # type: ignore[call-arg]
    if info.default is PydanticUndefined:
        return REQUIRED
    return _json(info.default)


def _aliases(name: str, info: FieldInfo) -> tuple[str, ...]:
    choices = getattr(info.validation_alias, "choices", ())
    return tuple(c for c in choices if isinstance(c, str) and c != name)


def _param(name: str, info: FieldInfo) -> ParamInfo:
    return ParamInfo(
        name=name,
        type=describe_type(info.annotation, list(info.metadata)),
        default=_default(info),
        description=" ".join((info.description or "").split()),
        constraints=tuple(_constraints(list(info.metadata))),
        aliases=_aliases(name, info),
    )


def _in_role_order(roles: frozenset[Role]) -> tuple[str, ...]:
    return tuple(r.value for r in sorted(roles, key=list(Role).index))


def describe_component(spec: ComponentSpec) -> ComponentInfo:
    """The structured description of one spec, read from its pydantic parameter model."""
    return ComponentInfo(
        name=spec.name,
        version=spec.version,
        description=" ".join(spec.description.split()),
        roles=_in_role_order(spec.roles),
        required_roles=_in_role_order(spec.required_roles),
        inputs=spec.inputs,
        optional_inputs=spec.optional_inputs,
        outputs=spec.outputs,
        params=tuple(_param(n, i) for n, i in spec.params.model_fields.items()),
        outputs_note=spec.produces_hint,
    )


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _names(names: tuple[str, ...]) -> str:
    return ", ".join(f"`{n}`" for n in names) if names else "—"


def _section(info: ComponentInfo) -> list[str]:
    roles = ", ".join(f"{r} (required)" if r in info.required_roles else r for r in info.roles)
    lines = [
        f"## `{info.name}`",
        "",
        f"{info.description} (version {info.version})",
        "",
        f"- roles: {roles}",
        f"- inputs: {_names(info.inputs)}; optional: {_names(info.optional_inputs)}",
        f"- outputs: {_names(info.outputs)}"
        + (f" ({info.outputs_note})" if info.outputs_note else ""),
        "",
        "| parameter | type | default | description |",
        "|---|---|---|---|",
    ]
    for p in info.params:
        name = f"`{p.name}`" + "".join(f" (or `{a}`)" for a in p.aliases)
        default = "**required**" if p.required else f"`{p.default}`"
        lines.append(f"| {name} | `{_cell(p.type)}` | {default} | {_cell(p.description)} |")
    return [*lines, ""]


def render_markdown(registry: Registry) -> str:
    """The reference page (`docs/components.md`): one section per registered component."""
    specs = [registry.get(name) for name in registry.names()]
    lines = [
        "# Components",
        "",
        "<!-- Generated by `python scripts/component_docs.py` from the component registry; "
        "do not edit by hand. -->",
        "",
        "Every component a job file can name, with its parameters. `params` apply to every "
        "role, `by_role.<role>` and `by_party.<party id>` override them "
        "(docs/architecture.md §6); unknown parameters are errors. `chaihuo component show "
        "NAME` prints the same.",
        "",
        "| component | roles | what it does |",
        "|---|---|---|",
    ]
    infos = [describe_component(spec) for spec in specs]
    lines += [
        f"| [`{i.name}`](#{i.name}) | {', '.join(i.roles)} | {_cell(i.description)} |"
        for i in infos
    ]
    lines.append("")
    for info in infos:
        lines += _section(info)
    return "\n".join(lines).rstrip("\n") + "\n"
