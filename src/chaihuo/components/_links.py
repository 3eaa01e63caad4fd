"""How a party's worker reaches its peers: a gRPC node of its own, or its node's gateway."""

# `chaihuo run` starts every party on one machine: each worker opens a gRPC node of its own on
# a port the launcher chose, with certificates made for the run (DirectLink). On a node
# (`chaihuo node`), a task's worker opens no port: it talks to the node's gateway over a local
# socket with a per-task token, and the node's long-lived gRPC server carries its messages to
# the partners (GatewayLink; see chaihuo.federation's gateway). Either way the worker gets one
# Federation per role it plays.

from __future__ import annotations

import threading
from typing import Protocol

from chaihuo.components._task import PartyTask
from chaihuo.core import ChaihuoError
from chaihuo.federation import (
    Codec,
    Federation,
    FederationSettings,
    GrpcNode,
    NodeConfig,
    Party,
    RelayFederation,
    TlsConfig,
)
from chaihuo.runtime import Roster

__all__ = ["DirectLink", "GatewayLink", "Link", "open_link"]


class Link(Protocol):
    """A worker's way to its peers."""

    announces_failures: bool
    """Whether this worker tells its peers itself when it fails (the node does otherwise)."""

    def federation(self, local: Party, roster: Roster, codec: Codec) -> Federation:
        """The federation of one role this party plays."""

    def cancel(self, reason: str) -> None:
        """Make every pending receive and send raise (the job stops here)."""

    def close(self) -> None:
        """Release the link (after every federation was closed)."""


class DirectLink:
    """A gRPC node of the worker's own (`chaihuo run`)."""

    announces_failures = True

    def __init__(self, task: PartyTask, settings: FederationSettings) -> None:
        plan = task.federation
        tls = None
        if not plan.insecure:
            if plan.ca_cert is None or plan.cert is None or plan.key is None:
                raise ChaihuoError("mutual TLS needs ca_cert, cert and key for this party")
            tls = TlsConfig(ca_cert=plan.ca_cert, cert=plan.cert, key=plan.key)
        config = NodeConfig(
            party_id=task.party_id,
            listen=plan.listen,
            tls=tls,
            insecure=plan.insecure,
            profile=task.profile,
            settings=settings,
        )
        self._task, self._settings = task, settings
        self.node = GrpcNode(config).start()

    def federation(self, local: Party, roster: Roster, codec: Codec) -> Federation:
        return self.node.federation(
            self._task.job_id, local, list(roster), self._task.federation.addresses,
            codec=codec, settings=self._settings,
        )  # fmt: skip

    def cancel(self, reason: str) -> None:
        self.node.cancel_job(self._task.job_id, reason)

    def close(self) -> None:
        self.node.stop(grace=1.0)


class GatewayLink:
    """The node's gateway, with this task's token (`chaihuo node`)."""

    announces_failures = False

    def __init__(self, task: PartyTask, settings: FederationSettings) -> None:
        plan = task.federation
        if plan.gateway is None or plan.token is None:
            raise ChaihuoError("a gateway task needs the gateway's address and its token")
        self._task, self._settings = task, settings
        self._address, self._token = plan.gateway, plan.token
        self._lock = threading.Lock()
        self._open: list[Federation] = []

    def federation(self, local: Party, roster: Roster, codec: Codec) -> Federation:
        federation: Federation = RelayFederation(
            self._address, self._token, job_id=self._task.job_id, local=local,
            parties=list(roster), codec=codec, settings=self._settings,
        )  # fmt: skip
        with self._lock:
            self._open.append(federation)
        return federation

    def cancel(self, reason: str) -> None:
        with self._lock:
            federations = list(self._open)
        for federation in federations:
            federation.close()

    def close(self) -> None:
        self.cancel("closed")


def open_link(task: PartyTask, settings: FederationSettings) -> Link:
    """The link the task's plan asks for."""
    if task.federation.gateway is not None:
        return GatewayLink(task, settings)
    return DirectLink(task, settings)
