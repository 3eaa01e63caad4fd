"""run_parties: every role of a job from one test, over the in-memory or the gRPC federation."""

from __future__ import annotations

import contextlib
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Literal

from chaihuo.federation import (
    FaultPlan,
    Federation,
    FederationSettings,
    MemoryHub,
    Party,
    SerdeCodec,
    local_grpc_nodes,
    make_local_pki,
)
from chaihuo.runtime import CipherSuite, Context, MetricsSink, Roster, SecurityPolicy

__all__ = ["PartyFailedError", "run_parties"]

Transport = Literal["memory", "grpc"]


class PartyFailedError(Exception):
    """Raised by run_parties: the first party's error, with every party's error attached."""

    def __init__(self, party: Party, error: BaseException, others: dict[Party, BaseException]):
        super().__init__(f"{party} failed: {type(error).__name__}: {error}")
        self.party, self.error, self.others = party, error, others


@contextlib.contextmanager
def _federations(
    job_id: str,
    roster: Roster,
    transport: Transport,
    settings: FederationSettings,
    faults: FaultPlan | None,
) -> Iterator[Callable[[Party, CipherSuite], Federation]]:
    members = list(roster)
    if transport == "memory":
        hub = MemoryHub(settings)
        yield lambda party, cipher: hub.federation(
            job_id,
            party,
            members,
            codec=SerdeCodec(keyring=cipher.keyring),
            settings=settings,
            faults=_seeded(faults, party),
        )
        return
    with tempfile.TemporaryDirectory(prefix="chaihuo-pki-") as pki:
        tls = make_local_pki(pki, roster.party_ids)
        with local_grpc_nodes(tls, settings=settings) as (nodes, addresses):
            yield lambda party, cipher: nodes[party.party_id].federation(
                job_id,
                party,
                members,
                addresses,
                codec=SerdeCodec(keyring=cipher.keyring),
                settings=settings,
                faults=_seeded(faults, party),
            )


def _seeded(faults: FaultPlan | None, party: Party) -> FaultPlan | None:
    # One fault stream per sender, so parties do not replay each other's fault pattern.
    if faults is None:
        return None
    members = f"{party.role.value}:{party.party_id}".encode()
    return faults.model_copy(update={"seed": faults.seed * 1_000_003 + sum(members)})


def run_parties(
    fn: Callable[[Context], Any],
    roles: Mapping[str, object],
    *,
    transport: Transport = "memory",
    security: SecurityPolicy | None = None,
    computing: Callable[[Party], Any] | None = None,
    timeout_s: float = 120.0,
    faults: FaultPlan | None = None,
) -> dict[Party, Any]:
    """Run `fn(ctx)` for every (role, party) of `roles` in its own thread; return their results.

    `roles` is the job-file form, e.g. {"guest": 9999, "host": [10000], "arbiter": 10000}.
    If any party raises, the others are cancelled and PartyFailedError carries the first error.
    `faults` injects drops, duplicates and resends into every party's outgoing messages.
    """
    roster = Roster.from_mapping(roles)
    policy = security or SecurityPolicy()
    settings = FederationSettings(receive_timeout_s=timeout_s, send_timeout_s=timeout_s)
    job_id = f"test-{uuid.uuid4().hex[:12]}"
    results: dict[Party, Any] = {}
    errors: dict[Party, BaseException] = {}
    with _federations(job_id, roster, transport, settings, faults) as make_federation:
        contexts: list[Context] = []
        for party in roster:
            cipher = CipherSuite(policy)
            contexts.append(
                Context(
                    local=party,
                    roster=roster,
                    federation=make_federation(party, cipher),
                    computing=computing(party) if computing else None,
                    cipher=cipher,
                    metrics=MetricsSink(),
                )
            )

        def run(ctx: Context) -> None:
            try:
                results[ctx.local] = fn(ctx)
            except BaseException as exc:  # reported to the caller below
                errors[ctx.local] = exc
                for other in contexts:
                    if other is not ctx:
                        other.federation.close()

        threads = [threading.Thread(target=run, args=(c,), name=str(c.local)) for c in contexts]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for ctx in contexts:
            ctx.federation.close()
            ctx.cipher.close()
    if errors:
        first = min(errors, key=lambda p: list(roster).index(p))
        raise PartyFailedError(first, errors[first], errors)
    return results
