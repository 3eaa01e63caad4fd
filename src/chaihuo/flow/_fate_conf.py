"""A FATE 1.x runtime conf read per party: roles, v1 / v2 parameter blocks, job settings."""

# DSL v1 (`role_parameters` + `algorithm_parameters`) gives each role's parameters as lists
# indexed by the party's position in `role.<role>` (nested dicts hold lists too); DSL v2
# (`component_parameters` with `common` and `role.<role>.<index>`) keys party blocks by index:
# "0", "0|2" or "all". FATE 1.5 wrote v2-style index keys under `role_parameters`; both are
# read. A party's parameters are the common block overridden by its role block, merged
# key by key inside nested dicts, as FATE-Flow does.

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

from chaihuo.flow._dsl import JobInvalidError
from chaihuo.flow._fate_params import FateParams

__all__ = ["FateConf", "mapping"]

_ROLES = ("guest", "host", "arbiter")
_INDEX = re.compile(r"^(all|\d+(\|\d+)*)$")

_JOB_SETTINGS = {
    "work_mode": "chaihuo has no standalone / cluster switch: `chaihuo run` starts every party "
    "on this machine, a node runs its own party",
    "backend": "chaihuo picks each party's computing itself (local processes or Spark)",
    "computing_engine": "chaihuo picks each party's computing itself (local processes or Spark)",
    "federation_engine": "chaihuo federates over gRPC with mutual TLS",
    "storage_engine": "chaihuo reads files or node tables",
    "timeout": "chaihuo's timeout_s is a per-message deadline, not a job limit",
}


def mapping(value: Any, path: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise JobInvalidError(f"{path}: expected a JSON object, got {type(value).__name__}")
    return value


def _merge(base: dict[str, Any], extra: Mapping[str, Any]) -> None:
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = copy.deepcopy(value)


class FateConf:
    """The roster and each party's parameter blocks of one FATE runtime conf."""

    def __init__(self, conf: Mapping[str, Any], notes: dict[str, None]) -> None:
        self.conf, self.notes = mapping(conf, "conf"), notes
        self.roles = self._roles()
        if "component_parameters" in self.conf:
            if "role_parameters" in self.conf or "algorithm_parameters" in self.conf:
                raise JobInvalidError(
                    "conf: both component_parameters (DSL v2) and role_parameters / "
                    "algorithm_parameters (DSL v1); give one form"
                )
            block = mapping(self.conf["component_parameters"], "conf.component_parameters")
            self.common_path, self.role_path = (
                "conf.component_parameters.common",
                "conf.component_parameters.role",
            )
            self.common = mapping(block.get("common"), self.common_path)
            self.by_role = mapping(block.get("role"), self.role_path)
            self.indexed = True
        else:
            self.common_path, self.role_path = "conf.algorithm_parameters", "conf.role_parameters"
            self.common = mapping(self.conf.get("algorithm_parameters"), self.common_path)
            self.by_role = mapping(self.conf.get("role_parameters"), self.role_path)
            self.indexed = self._index_keyed()
        for role in self.by_role:
            if role not in self.roles:
                raise JobInvalidError(
                    f"{self.role_path}.{role}: the conf's role block names no {role} parties"
                )

    def _roles(self) -> dict[str, list[Any]]:
        if "role" not in self.conf:
            raise JobInvalidError("conf.role: missing; list each role's party ids")
        raw = mapping(self.conf["role"], "conf.role")
        roles: dict[str, list[Any]] = {}
        for role, ids in raw.items():
            if role not in _ROLES:
                raise JobInvalidError(
                    f"conf.role.{role}: chaihuo translates {', '.join(_ROLES)} only"
                )
            if not isinstance(ids, list) or not ids:
                raise JobInvalidError(f"conf.role.{role}: a non-empty list of party ids")
            if len({str(i) for i in ids}) != len(ids):
                raise JobInvalidError(f"conf.role.{role}: lists a party twice")
            roles[role] = ids
        if len(roles.get("guest", [])) != 1:
            raise JobInvalidError("conf.role.guest: a FATE job needs exactly one guest party")
        return roles

    def _index_keyed(self) -> bool:
        blocks = [b for b in self.by_role.values() if isinstance(b, Mapping) and b]
        return bool(blocks) and all(all(_INDEX.match(str(k)) for k in b) for b in blocks)

    def party(self, role: str, index: int) -> str:
        """The party id at `index` of `role`, as text."""
        return str(self.roles[role][index])

    def params(self, cid: str, role: str, index: int) -> FateParams:
        """Component `cid`'s parameters for the `index`-th party of `role`."""
        base = f"{self.common_path}.{cid}"
        values = copy.deepcopy(dict(mapping(self.common.get(cid), base)))
        paths = {key: f"{base}.{key}" for key in values}
        for path, block in self._role_blocks(cid, role, index):
            _merge(values, block)
            paths.update({key: f"{path}.{key}" for key in block})
        return FateParams(values, paths, base)

    def role_keys(self, cid: str, role: str, index: int) -> dict[str, str]:
        """The keys `role`'s own blocks set for `cid` (key → path)."""
        return {
            key: f"{path}.{key}"
            for path, block in self._role_blocks(cid, role, index)
            for key in block
        }

    def _role_blocks(self, cid: str, role: str, index: int) -> list[tuple[str, dict[str, Any]]]:
        role_block = mapping(self.by_role.get(role), f"{self.role_path}.{role}")
        if not self.indexed:
            path = f"{self.role_path}.{role}.{cid}"
            raw = mapping(role_block.get(cid), path)
            picked = _pick(raw, index, len(self.roles[role]), path)
            return [(path, picked)] if picked else []
        found = []
        count = len(self.roles[role])
        for spec in sorted(role_block, key=lambda s: s != "all"):  # "all" first, then indices
            path = f"{self.role_path}.{role}.{spec}"
            if not _INDEX.match(str(spec)):
                raise JobInvalidError(f"{path}: party blocks are keyed '0', '0|1' or 'all'")
            chosen = range(count) if spec == "all" else [int(i) for i in str(spec).split("|")]
            if any(i >= count for i in chosen):
                raise JobInvalidError(
                    f"{path}: {role} has {count} part{'y' if count == 1 else 'ies'}"
                )
            block = mapping(role_block[spec], path).get(cid)
            if index in chosen and block is not None:
                found.append((f"{path}.{cid}", dict(mapping(block, f"{path}.{cid}"))))
        return found

    def args_table(self, name: str, role: str, index: int) -> FateParams | None:
        """DSL v1's `args.<name>` input: role_parameters.<role>.args.data.<name>[index]."""
        path = f"{self.role_path}.{role}.args.data.{name}"
        args = mapping(mapping(self.by_role.get(role), path).get("args"), path)
        tables = mapping(args.get("data"), path).get(name)
        if tables is None:
            return None
        picked = _pick({"table": tables}, index, len(self.roles[role]), path.rsplit(".", 1)[0])
        return FateParams(picked, {"table": path}, path)

    def component_ids(self) -> set[str]:
        """Every component id the conf gives parameters to."""
        ids = set(self.common)
        for block in self.by_role.values():
            if self.indexed:
                for party_block in mapping(block, self.role_path).values():
                    ids.update(mapping(party_block, self.role_path))
            else:
                ids.update(mapping(block, self.role_path))
        return ids - {"args"}

    def note_settings(self) -> None:
        """Record the conf's job-level settings that chaihuo does not carry over."""
        initiator = mapping(self.conf.get("initiator"), "conf.initiator")
        if initiator.get("role", "guest") != "guest":
            self._note("conf.initiator.role", "chaihuo's guest starts and drives the job")
        jobs = mapping(self.conf.get("job_parameters"), "conf.job_parameters")
        flat = dict(jobs) if not {"common", "role"} & set(jobs) else {}
        if not flat:
            common = mapping(jobs.get("common"), "conf.job_parameters.common")
            flat = {f"common.{k}": v for k, v in common.items()}
            if jobs.get("role"):
                self._note("conf.job_parameters.role", "per-party FATE-Flow settings: left out")
        for key, value in flat.items():
            name = key.removeprefix("common.")
            if name == "dsl_version" or (name == "job_type" and value == "train"):
                continue
            if name == "job_type":
                raise JobInvalidError(
                    f"conf.job_parameters.{key}: only train jobs are translated; a FATE "
                    "predict job becomes a chaihuo job with a `model` input"
                )
            reason = _JOB_SETTINGS.get(name, "a FATE-Flow setting: left out")
            self._note(f"conf.job_parameters.{key}", reason)
        known = {"initiator", "job_parameters", "role", "role_parameters", "dsl_version",
                 "algorithm_parameters", "component_parameters"}  # fmt: skip
        for key in self.conf:
            if key not in known:
                self._note(f"conf.{key}", "not a setting chaihuo translates: left out")

    def _note(self, path: str, reason: str) -> None:
        self.notes.setdefault(f"{path}: {reason}")


def _pick(value: Mapping[str, Any], index: int, count: int, path: str) -> dict[str, Any]:
    """DSL v1: each list holds one value per party of the role; take the `index`-th."""
    picked: dict[str, Any] = {}
    for key, item in value.items():
        where = f"{path}.{key}"
        if isinstance(item, Mapping):
            picked[key] = _pick(item, index, count, where)
        elif isinstance(item, list):
            if index >= len(item):
                raise JobInvalidError(
                    f"{where}: {len(item)} value(s) for {count} parties; DSL v1 lists one "
                    "value per party of the role"
                )
            picked[key] = copy.deepcopy(item[index])
        else:
            picked[key] = copy.deepcopy(item)
    return picked
