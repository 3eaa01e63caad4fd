"""Helpers of the GLM tests: datasets from arrays and one federated run of every party."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from chaihuo.computing import Dataset, LocalComputing, Schema
from chaihuo.core import Role
from chaihuo.federation import Party
from chaihuo.ml.glm import Family, GlmParams, run_arbiter, run_guest, run_host
from chaihuo.runtime import Context, SecurityPolicy
from chaihuo.testing import local_sessions, run_parties

SMALL_KEYS = SecurityPolicy(paillier_bits=512, allow_insecure_test_keys=True)
"""512-bit Paillier keys: protocol logic only (quality tests use the 2048-bit default)."""


def make_dataset(
    computing: LocalComputing,
    ids: np.ndarray,
    x: np.ndarray,
    y: np.ndarray | None = None,
    *,
    names: tuple[str, ...] | None = None,
    partitions: int = 3,
) -> Dataset:
    """Rows keyed by `ids` with features `x` (and label `y`: int64 if integral, else float)."""
    names = names or tuple(f"x{j}" for j in range(x.shape[1]))
    label_dtype = None
    if y is not None:
        label_dtype = "int64" if np.issubdtype(np.asarray(y).dtype, np.integer) else "float64"
    schema = Schema("id", None if y is None else "y", names, ("float64",) * len(names), label_dtype)
    rows = [
        (str(key), (np.asarray(x[i], dtype=np.float64), None if y is None else y[i].item()))
        for i, key in enumerate(ids)
    ]
    table = computing.parallelize(rows, partitions=partitions, include_key=True)
    return Dataset.from_rows(schema, table)


@dataclass
class PartyInputs:
    """Arrays one party turns into its component inputs (train / validate / test)."""

    train: tuple[np.ndarray, np.ndarray, np.ndarray | None] | None = None
    validate: tuple[np.ndarray, np.ndarray, np.ndarray | None] | None = None
    test: tuple[np.ndarray, np.ndarray, np.ndarray | None] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    names: tuple[str, ...] | None = None


def inputs_of(ctx: Context, data: PartyInputs) -> dict[str, Any]:
    """Component inputs of one party built in its own computing session."""
    out: dict[str, Any] = dict(data.extra)
    for usage in ("train", "validate", "test"):
        arrays = getattr(data, usage)
        if arrays is not None:
            ids, x, y = arrays
            out[usage] = make_dataset(ctx.computing, ids, x, y, names=data.names)
    return out


def run_glm(
    tmp: Path,
    family: Family,
    params: GlmParams | Mapping[Role, GlmParams],
    guest: PartyInputs,
    hosts: list[PartyInputs],
    *,
    security: SecurityPolicy | None = SMALL_KEYS,
    timeout_s: float = 60.0,
    exposure_colname: str | None = None,
    transport: str = "memory",
    wrap: Callable[[Context], Context] | None = None,
    catch: bool = False,
) -> dict[Party, Any]:
    """Run guest, hosts and arbiter; returns each party's outputs (or, with `catch`, the
    exception each party raised, so no party's failure cuts the others short)."""
    roles: dict[str, object] = {"guest": 1, "host": [10 + i for i in range(len(hosts))]}
    roles["arbiter"] = 99
    by_host = {str(10 + i): data for i, data in enumerate(hosts)}

    def chosen(role: Role) -> GlmParams:
        return params[role] if isinstance(params, Mapping) else params

    def party(ctx: Context) -> Any:
        if not catch:
            return play(ctx)
        try:
            return play(ctx)
        except Exception as exc:  # returned to the test, which inspects every party's error
            return exc

    def play(ctx: Context) -> Any:
        ctx = wrap(ctx) if wrap is not None else ctx
        role = ctx.role
        if role == Role.ARBITER:
            return run_arbiter(ctx.sub("glm"), family, chosen(role), {})
        if role == Role.GUEST:
            inputs = inputs_of(ctx, guest)
            return run_guest(
                ctx.sub("glm"), family, chosen(role), inputs, exposure_colname=exposure_colname
            )
        inputs = inputs_of(ctx, by_host[str(ctx.local.party_id)])
        return run_host(ctx.sub("glm"), family, chosen(role), inputs)

    with local_sessions(tmp) as computing:
        return run_parties(
            party,
            roles,
            security=security,
            computing=computing,
            timeout_s=timeout_s,
            transport=transport,  # type: ignore[arg-type]
        )


def by_role(results: dict[Party, Any], role: Role, index: int = 0) -> Any:
    """The outputs of the index-th party of `role`."""
    return [value for party, value in sorted(results.items()) if party.role == role][index]


def synthetic(
    rows: int, guest_features: int, host_features: list[int], seed: int = 0
) -> tuple[np.ndarray, np.ndarray, list[np.ndarray], np.ndarray]:
    """(ids, guest x, host xs, linear predictor) of standard-normal features."""
    rng = np.random.default_rng(seed)
    ids = np.array([f"u{i:05d}" for i in range(rows)], dtype=object)
    guest_x = rng.normal(size=(rows, guest_features))
    host_xs = [rng.normal(size=(rows, m)) for m in host_features]
    u = guest_x @ rng.normal(size=guest_features) * 0.5
    for x in host_xs:
        u = u + x @ rng.normal(size=x.shape[1]) * 0.5
    return ids, guest_x, host_xs, u
