"""`psi`: private set intersection of guest and host ids (ECDH by default, or RSA-blind)."""

# What each role learns: the guest (the learner) learns the intersection with each host and
# every host's set size; hosts learn the guest's set size, and the intersection only when
# `share_with_hosts` is on. Raw ids never leave their owner: only blinded group elements
# (ECDH) or blinded integers and signatures (RSA) cross the wire, under fresh per-job keys
# and a per-job domain separator. After the protocol the guest tells every host one bit:
# whether the intersection reached the guest's `min_intersection` (so that a job over
# disjoint id sets fails on every party with the cause, instead of training on nothing or
# waiting for a deadline).
#
# `share_with_hosts` left unset ("auto") is resolved once per job, before any party starts:
# on when a later component reads this psi's `data` on a host (the vertical pipeline: the
# hosts must train on the aligned rows, as FATE's intersection does by default), off when
# only the guest uses the result. Set it to false to keep the intersection from the hosts;
# a host component reading it is then refused at plan time, naming this setting.
#
# `min_intersection` (default 100) guards against probing: a partner who brings a handful of
# ids of its choosing could otherwise learn, from what the job does with them (a training
# check failing on a single-class label, say), something about each of those rows. With
# fewer common ids the job stops on every party right after psi. The guest's value governs
# the job; a host that learns the intersection also holds it to its own value. Lower it
# only for tiny test sets.
#
# From PARALLEL_FROM ids on, each party spreads its group operations over its own crypto
# worker processes (ctx.cipher.pool; `crypto_workers` in the job's security block).

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import Executor
from typing import Any, Literal

from pydantic import Field

from chaihuo.components._spec import ComponentParams, ComponentSpec, ParamsByParty
from chaihuo.computing import Dataset
from chaihuo.core import InvalidInputError, Role
from chaihuo.mpc import ecdh_psi_guest, ecdh_psi_host, rsa_psi_guest, rsa_psi_host
from chaihuo.runtime import Context

__all__ = ["PSI"]


MIN_INTERSECTION = 100
"""Default smallest intersection a job may run on."""


class PsiParams(ComponentParams):
    """Protocol and who learns the result."""

    protocol: Literal["ecdh", "rsa"] = "ecdh"
    share_with_hosts: bool | None = Field(
        None,
        description="Give each host its aligned table (needed to train on it); unset: on "
        "exactly when a later host component reads this psi's data.",
    )
    min_intersection: int = Field(
        MIN_INTERSECTION,
        ge=0,
        description="Stop the job on every party if fewer ids are common (0: never); a guard "
        "against partners probing with a handful of chosen ids.",
    )


PARALLEL_FROM = 20_000
"""Below this many ids one process is faster than starting the worker pool."""


def _executor(ctx: Context, ids: list[str | bytes]) -> Executor | None:
    return ctx.cipher.pool.executor if len(ids) >= PARALLEL_FROM else None


class PsiIntersectionError(InvalidInputError):
    """The parties' id sets have (almost) nothing in common: nothing to train on.

    `common_verdict`: raised by a host on the guest's verdict, which every party of the job
    received or decided. Such a host tells no peer it stopped: the guest, which decided,
    already knows, and the host's notice would reach the guest while it is still sending the
    verdict to the other hosts, cutting those sends off."""

    common_verdict = False


def _too_small(found: int | None, minimum: int, *, verdict: bool = False) -> PsiIntersectionError:
    if found == 0 or (found is None and minimum == 1):
        cause = "no common ids between the guest and the host(s): the intersection is empty"
    elif found is None:
        cause = f"the guest found fewer than min_intersection={minimum} common ids"
    else:
        cause = f"only {found} common ids, fewer than min_intersection={minimum}"
    error = PsiIntersectionError(
        f"psi: {cause}; check that every party's id column holds the same kind of ids"
    )
    error.common_verdict = verdict
    return error


def _ids(dataset: Dataset) -> list[str | bytes]:
    return [key if isinstance(key, bytes) else str(key) for key, _ in dataset.ids().collect()]


def _restrict(dataset: Dataset, keep: list[Any]) -> Dataset:
    wanted = frozenset(str(k) if not isinstance(k, bytes) else k for k in keep)
    rows = dataset.rows().filter(_Member(wanted))
    return Dataset.from_rows(dataset.schema, rows)


class _Member:
    """Picklable membership predicate for the computing backend's workers."""

    def __init__(self, wanted: frozenset[Any]) -> None:
        self.wanted = wanted

    def __call__(self, key: Any, value: Any) -> bool:
        return (key if isinstance(key, bytes) else str(key)) in self.wanted


def _domain(ctx: Context) -> bytes:
    return f"chaihuo-psi|{ctx.job_id}|{'.'.join(ctx.namespace)}".encode()


def _guest(ctx: Context, params: PsiParams, inputs: Mapping[str, Any]) -> dict[str, Any]:
    dataset: Dataset = inputs["data"]
    ids = _ids(dataset)
    hosts = list(ctx.hosts)
    run = ecdh_psi_guest if params.protocol == "ecdh" else rsa_psi_guest
    common = run(
        hosts, ids, domain=_domain(ctx), send_result=bool(params.share_with_hosts),
        executor=_executor(ctx, ids), progress=ctx.progress,
    )  # fmt: skip
    ctx.metrics.log("guest_ids", len(ids))
    ctx.metrics.log("intersection", len(common))
    ctx.metrics.log("intersection_rate", len(common) / max(len(ids), 1))
    enough = len(common) >= params.min_intersection
    ctx.hosts.put("enough", (enough, params.min_intersection))
    if not enough:
        raise _too_small(len(common), params.min_intersection)
    return {"data": _restrict(dataset, list(common))}


def _host(ctx: Context, params: PsiParams, inputs: Mapping[str, Any]) -> dict[str, Any]:
    dataset: Dataset = inputs["data"]
    ids = _ids(dataset)
    run = ecdh_psi_host if params.protocol == "ecdh" else rsa_psi_host
    common = run(
        ctx.guest, ids, domain=_domain(ctx), send_result=bool(params.share_with_hosts),
        executor=_executor(ctx, ids), progress=ctx.progress,
    )  # fmt: skip
    ctx.metrics.log("host_ids", len(ids))
    verdict = ctx.guest.get("enough")
    if (
        not isinstance(verdict, (tuple, list))
        or len(verdict) != 2
        or not isinstance(verdict[1], int)
    ):
        raise InvalidInputError("psi: the guest's intersection verdict is malformed")
    if verdict[0] is not True:
        raise _too_small(len(common) if common is not None else None, verdict[1], verdict=True)
    if common is None:
        return {}
    if len(common) < params.min_intersection:  # this host's own guard, when it knows
        raise _too_small(len(common), params.min_intersection)
    ctx.metrics.log("intersection", len(common))
    return {"data": _restrict(dataset, list(common))}


def _plan(params: ParamsByParty, consumed: frozenset[tuple[Role, str]]) -> ParamsByParty:
    """Resolve an unset `share_with_hosts` once for every party; refuse disagreement."""
    auto = (Role.HOST, "data") in consumed
    resolved = {
        key: {**raw, "share_with_hosts": auto} if raw.get("share_with_hosts") is None else raw
        for key, raw in params.items()
    }
    if len({bool(raw["share_with_hosts"]) for raw in resolved.values()}) > 1:
        raise InvalidInputError(
            "psi: share_with_hosts must be the same on the guest and every host"
        )
    return resolved


def _produces(role: Role, raw: Mapping[str, Any]) -> frozenset[str]:
    return frozenset({"data"}) if role is Role.GUEST or raw.get("share_with_hosts") else frozenset()


PSI = ComponentSpec(
    name="psi",
    version="1.0",
    description="Private set intersection of ids; aligned datasets out.",
    params=PsiParams,
    runners={Role.GUEST: _guest, Role.HOST: _host},
    inputs=("data",),
    outputs=("data",),
    required_roles=frozenset({Role.GUEST, Role.HOST}),
    produces=_produces,
    produces_hint="psi gives hosts the aligned table only with share_with_hosts: true, or "
    "left unset",
    plan=_plan,
)
