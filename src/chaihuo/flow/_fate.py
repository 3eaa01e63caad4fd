"""FATE 1.x jobs (DSL + runtime conf, or a KubeFATE FateJob) translated into chaihuo job files."""

# The DAG keeps FATE's component ids. A DataIO / DataTransform is folded into the reader it
# reads (chaihuo's reader types the label and fills missing cells itself), so references to
# the transform point at that reader; DSL v1's `args.<name>` inputs become readers too.
# Data slots map to chaihuo inputs (train_data → train, validate_data / eval_data →
# validate, test_data or a learner's plain data → test, model / isometric_model → model;
# evaluation's list → data, data_2, ...), a learner's data output to its predictions.
# Each party's chaihuo parameters are then written as `params` (shared by all), `by_role`
# and `by_party`; a party that plays two roles (the seed's guest and host 9999) is told
# apart by role. What cannot be carried over is listed with its path in `unmapped`.

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from chaihuo.components import ComponentSpec, Registry
from chaihuo.core import ChaihuoError, Role
from chaihuo.flow._dsl import JobFile, JobInvalidError
from chaihuo.flow._fate_conf import FateConf, mapping
from chaihuo.flow._fate_params import MODULES, FateParams, MapContext, Module
from chaihuo.flow._plan import validate_job

__all__ = ["FateTranslation", "load_kubefate", "read_fate_files", "translate_fate"]

_LEARNER_SLOTS = {
    "data.train_data": "train",
    "data.validate_data": "validate",
    "data.eval_data": "validate",
    "data.test_data": "test",
    "data.data": "test",
    "model": "model",
    "isometric_model": "model",
}
_TRANSFORMS = ("dataio", "datatransform")


@dataclass(frozen=True)
class FateTranslation:
    """A translated FATE job: the validated job, its YAML text, and what was not carried over."""

    job: JobFile
    yaml: str
    unmapped: list[str]


@dataclass
class _Node:
    cid: str
    key: str  # MODULES key
    module: Module
    refs: list[tuple[str, str, str, str]]  # (slot, source id, source output, dsl path)
    outputs: Mapping[str, Any]


@dataclass
class _Reader:
    """A chaihuo reader: a FATE Reader (or DSL v1 args input) with its data transform."""

    source: str  # reader component id, or "args.<name>"
    transform: str | None  # the transform whose parameters apply


def _parse_json(text: str, where: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise JobInvalidError(f"{where}: not valid JSON: {exc}") from exc
    return dict(mapping(value, where))


def read_fate_files(dsl_path: Path, conf_path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """The DSL and conf JSON files of a FATE job (`--fate-dsl`, `--fate-conf`)."""
    try:
        texts = dsl_path.read_text(encoding="utf-8"), conf_path.read_text(encoding="utf-8")
    except OSError as exc:
        raise JobInvalidError(f"cannot read FATE job file: {exc}") from exc
    return _parse_json(texts[0], str(dsl_path)), _parse_json(texts[1], str(conf_path))


def load_kubefate(text: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A KubeFATE FateJob YAML → (dsl, conf) from spec.jobConf.pipeline / modulesConfig."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise JobInvalidError(f"FateJob: not valid YAML: {exc}") from exc
    doc = mapping(doc, "FateJob")
    if doc.get("kind") != "FateJob":
        raise JobInvalidError(f"kind: expected FateJob, got {doc.get('kind')!r}")
    job_conf = mapping(mapping(doc.get("spec"), "spec").get("jobConf"), "spec.jobConf")
    parts = []
    for key in ("pipeline", "modulesConfig"):
        where = f"spec.jobConf.{key}"
        value = job_conf.get(key)
        if value is None:
            raise JobInvalidError(f"{where}: missing")
        parts.append(
            _parse_json(value, where) if isinstance(value, str) else dict(mapping(value, where))
        )
    return parts[0], parts[1]


def _nodes(dsl: Mapping[str, Any], notes: dict[str, None]) -> dict[str, _Node]:
    dsl = mapping(dsl, "dsl")
    for key in dsl:
        if key != "components":
            notes.setdefault(f"dsl.{key}: not a part of the DSL chaihuo translates: left out")
    components = mapping(dsl.get("components"), "dsl.components")
    if not components:
        raise JobInvalidError("dsl.components: a FATE job needs at least one component")
    nodes = {}
    for cid, given in components.items():
        path = f"dsl.components.{cid}"
        raw = mapping(given, path)
        module_name = raw.get("module")
        key = str(module_name).lower()
        if not isinstance(module_name, str) or key not in MODULES:
            known = ", ".join(module.fate for module in MODULES.values())
            raise JobInvalidError(
                f"{path}.module: {module_name!r} has no chaihuo counterpart (translated: {known})"
            )
        for extra in sorted(set(raw) - {"module", "input", "output", "need_deploy"}):
            notes.setdefault(f"{path}.{extra}: not translated: left out")
        refs = _refs(mapping(raw.get("input"), f"{path}.input"), f"{path}.input")
        nodes[cid] = _Node(cid, key, MODULES[key], refs, mapping(raw.get("output"), path))
    return nodes


def _refs(inputs: Mapping[str, Any], path: str) -> list[tuple[str, str, str, str]]:
    slots: list[tuple[str, Any]] = []
    for name, value in inputs.items():
        if name == "data":
            slots += [(f"data.{k}", v) for k, v in mapping(value, f"{path}.data").items()]
        else:
            slots.append((name, value))
    refs = []
    for slot, items in slots:
        where = f"{path}.{slot}"
        if not isinstance(items, list):
            raise JobInvalidError(f"{where}: a list of '<component>.<output>' references")
        for ref in items:
            if not isinstance(ref, str) or ref.count(".") != 1:
                raise JobInvalidError(f"{where}: {ref!r} is not '<component>.<output>'")
            source, output = ref.split(".")
            refs.append((slot, source, output, where))
    return refs


def _kind(nodes: Mapping[str, _Node], source: str, output: str, where: str) -> str:
    """The FATE output kind ("data" / "model") that `source.output` names."""
    if source == "args":
        return "data"
    if source not in nodes:
        raise JobInvalidError(f"{where}: reads {source}.{output}, and there is no {source!r}")
    declared = nodes[source].outputs
    for kind in ("data", "model"):
        if output in (declared.get(kind) or []):
            return kind
    if output in ("data", "model") and output not in {
        n for names in declared.values() if isinstance(names, list) for n in names
    }:
        return output
    raise JobInvalidError(f"{where}: {source!r} declares no output {output!r}")


class _Translator:
    """One translation: the DSL's nodes, the conf, the registry, and notes gathered on the way."""

    def __init__(self, dsl: Mapping[str, Any], conf: Mapping[str, Any], registry: Registry) -> None:
        self.notes: dict[str, None] = {}
        self.conf = FateConf(conf, self.notes)
        self.conf.note_settings()
        self.nodes = _nodes(dsl, self.notes)
        self.registry = registry
        self.security: dict[str, Any] = {}
        self.alias: dict[str, str] = {}
        self.readers: dict[str, _Reader] = {}
        self._fold_transforms()

    def _fold_transforms(self) -> None:
        for node in self.nodes.values():
            if node.key not in _TRANSFORMS:
                continue
            data = [r for r in node.refs if r[0] == "data.data"]
            models = [r for r in node.refs if r[0] == "model"]
            where = f"dsl.components.{node.cid}.input.data.data"
            if len(data) == 1:
                _kind(self.nodes, data[0][1], data[0][2], data[0][3])
            if len(data) != 1 or (data[0][1] != "args" and self.nodes[data[0][1]].key != "reader"):
                raise JobInvalidError(f"{where}: a data transform reads one Reader's data")
            settings = node.cid
            if models:  # FATE reuses that transform's settings; chaihuo copies them
                settings = models[0][1]
                if settings not in self.nodes or self.nodes[settings].key not in _TRANSFORMS:
                    raise JobInvalidError(f"{models[0][3]}: names no data transform's model")
            source = data[0][1] if data[0][1] != "args" else f"args.{data[0][2]}"
            claimed = source in self.readers or source.startswith("args.")
            target = node.cid if claimed else source
            self.readers[target] = _Reader(source, settings)
            self.alias[node.cid] = target
        for node in self.nodes.values():
            if node.key == "reader" and node.cid not in self.readers:
                self.readers[node.cid] = _Reader(node.cid, None)

    def _inputs(self, node: _Node, spec: ComponentSpec) -> dict[str, str]:
        inputs: dict[str, str] = {}
        evaluated = 0
        for slot, source, output, where in node.refs:
            kind = _kind(self.nodes, source, output, where)
            if source == "args":
                raise JobInvalidError(f"{where}: chaihuo reads args.{output} through a DataIO")
            if spec.name == "evaluation" and slot == "data.data":
                evaluated += 1
                name = "data" if evaluated == 1 else f"data_{evaluated}"
            elif spec.name == "psi" and slot == "data.data":
                name = "data"
            elif spec.name.startswith("hetero_") and slot in _LEARNER_SLOTS:
                name = _LEARNER_SLOTS[slot]
            else:
                raise JobInvalidError(f"{where}: {spec.name} takes no such input in chaihuo")
            if name in inputs or name not in spec.inputs + spec.optional_inputs:
                raise JobInvalidError(f"{where}: {spec.name} takes one {name!r} input")
            target = self.alias.get(source, source)
            module = self.nodes[source].module
            if kind not in module.outputs:
                raise JobInvalidError(f"{where}: {source}'s {kind} output has no counterpart")
            inputs[name] = f"{target}.{module.outputs[kind]}"
        return inputs

    def _party_params(
        self, cids: list[str], spec: ComponentSpec, role: str, index: int, predicting: bool
    ) -> dict[str, Any]:
        """One party's chaihuo parameters, from each FATE component folded into this entry."""
        out: dict[str, Any] = {}
        for cid in cids:
            if cid.startswith("args."):
                found = self.conf.args_table(cid.removeprefix("args."), role, index)
                params = found or FateParams({}, {}, f"{self.conf.role_path}.{role}.args")
                module = MODULES["reader"]
            else:
                params, module = self.conf.params(cid, role, index), self.nodes[cid].module
            pid = self.conf.party(role, index)
            ctx = MapContext(Role(role), pid, spec, self.notes, self.security, predicting)
            if params.values.get("need_run", True) is False:
                ctx.note(params.where("need_run"), f"chaihuo runs {spec.name} on every {role}")
            out.update(module.mapper(params, ctx))
        return out

    def _note_idle_roles(self, cids: list[str], spec: ComponentSpec) -> None:
        for role, ids in self.conf.roles.items():
            if Role(role) in spec.roles:
                continue
            for cid in cids:
                for index in range(len(ids)):
                    for key, path in self.conf.role_keys(cid, role, index).items():
                        if key != "need_run":
                            reason = f"{spec.name} does not run on the {role} in chaihuo"
                            self.notes.setdefault(f"{path}: {reason}")

    def _entry(
        self, cid: str, component: str, cids: list[str], inputs: dict[str, str]
    ) -> dict[str, Any]:
        spec = self.registry.get(component)
        predicting = "model" in inputs and "train" not in inputs
        wanted: dict[tuple[str, str], dict[str, Any]] = {
            (role, self.conf.party(role, index)): self._party_params(
                cids, spec, role, index, predicting
            )
            for role in (r.value for r in sorted(spec.roles, key=list(Role).index))
            if role in self.conf.roles
            for index in range(len(self.conf.roles[role]))
        }
        self._note_idle_roles([c for c in cids if not c.startswith("args.")], spec)
        entry: dict[str, Any] = {"component": component}
        if inputs:
            entry["inputs"] = inputs
        entry.update(_factor(cid, wanted))
        return entry

    def components(self) -> dict[str, dict[str, Any]]:
        """The chaihuo components, in the DSL's order."""
        out: dict[str, dict[str, Any]] = {}
        for node in self.nodes.values():
            if node.cid in self.readers:
                out[node.cid] = self._reader_entry(node.cid, self.readers[node.cid])
            elif node.key not in _TRANSFORMS and node.key != "reader":
                spec = self.registry.get(node.module.component)
                inputs = self._inputs(node, spec)
                out[node.cid] = self._entry(node.cid, spec.name, [node.cid], inputs)
        for cid in sorted(self.conf.component_ids() - set(self.nodes)):
            self.notes.setdefault(f"{self.conf.common_path}.{cid}: no component {cid!r} in the DSL")
        return out

    def _reader_entry(self, cid: str, reader: _Reader) -> dict[str, Any]:
        cids = [reader.source] + ([reader.transform] if reader.transform else [])
        return self._entry(cid, "reader", cids, {})


def _factor(cid: str, wanted: Mapping[tuple[str, str], dict[str, Any]]) -> dict[str, Any]:
    """`params` (equal on all), `by_role` (equal within a role), `by_party` (the rest)."""
    runs = list(wanted.values())
    params = (
        {k: v for k, v in runs[0].items() if all(k in w and w[k] == v for w in runs)}
        if runs
        else {}
    )
    by_role: dict[str, dict[str, Any]] = {}
    for role in dict.fromkeys(r for r, _ in wanted):
        members = [w for (r, _), w in wanted.items() if r == role]
        shared = {
            k: v for k, v in members[0].items()
            if k not in params and all(k in w and w[k] == v for w in members)
        }  # fmt: skip
        if shared:
            by_role[role] = shared
    by_party: dict[str, dict[str, Any]] = {}
    for (role, pid), values in wanted.items():
        for key, value in values.items():
            if key not in params and key not in by_role.get(role, {}):
                by_party.setdefault(pid, {})[key] = value
    for (role, pid), values in wanted.items():
        merged = {**params, **by_role.get(role, {}), **by_party.get(pid, {})}
        if merged != values:
            raise JobInvalidError(
                f"component {cid!r}: party {pid} plays several roles with parameters a chaihuo "
                "job file cannot tell apart (by_party applies to each of its roles)"
            )
    factored: dict[str, Any] = {"params": params, "by_role": by_role, "by_party": by_party}
    return {key: value for key, value in factored.items() if value}


def _parties(roles: Mapping[str, list[Any]]) -> dict[str, Any]:
    return {role: ids if role == "host" else ids[0] for role, ids in roles.items()}


def _render(job: dict[str, Any], unmapped: list[str]) -> str:
    head = ["# Translated from a FATE 1.x job by chaihuo."]
    if unmapped:
        head.append("# Not carried over:")
        head += [f"#   {line}" for line in unmapped]
    body = yaml.safe_dump(job, sort_keys=False, allow_unicode=True, width=100)
    return "\n".join(head) + "\n" + body


def translate_fate(
    dsl: Mapping[str, Any],
    conf: Mapping[str, Any],
    *,
    name: str = "fate-job",
    registry: Registry | None = None,
) -> FateTranslation:
    """Translate a FATE 1.x DSL (v1 or v2) and runtime conf into a validated chaihuo job.

    Raises JobInvalidError naming the path (`dsl.components.x.module`, `conf.role`, ...)
    of what makes the documents untranslatable."""
    if registry is None:
        from chaihuo.components.builtin import default_registry  # noqa: PLC0415 - on demand

        registry = default_registry()
    translator = _Translator(dsl, conf, registry)
    components = translator.components()
    raw: dict[str, Any] = {"name": name, "parties": _parties(translator.conf.roles)}
    if translator.security:
        raw["security"] = dict(translator.security)
    raw["components"] = components
    unmapped = list(translator.notes)
    try:
        job = JobFile.model_validate(raw)
        roles = {role: [str(pid) for pid in ids] for role, ids in job.roster.roles}
        validate_job(job, registry, roles)
    except ValidationError as exc:
        raise JobInvalidError(f"translated FATE job: {exc}") from exc
    except JobInvalidError:
        raise
    except ChaihuoError as exc:
        raise JobInvalidError(f"translated FATE job: {exc}") from exc
    return FateTranslation(job=job, yaml=_render(raw, unmapped), unmapped=unmapped)
