"""One party's gRPC node (server + channel pool, mTLS by default) and its per-job endpoints."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Literal

import grpc
from pydantic import BaseModel, ConfigDict, Field

from chaihuo.core import ConfigError, PartyId, parse_party_id
from chaihuo.federation._codec import Codec, SerdeCodec
from chaihuo.federation._denylist import Denylist
from chaihuo.federation._endpoint import Endpoint
from chaihuo.federation._faults import FaultPlan, FaultyTransport
from chaihuo.federation._gateway import Gateway
from chaihuo.federation._grpc_client import ChannelPool, ClientCredentials, GrpcTransport
from chaihuo.federation._grpc_server import FederationService
from chaihuo.federation._interface import Party, UnknownPartyError
from chaihuo.federation._issuers import IssuerPins
from chaihuo.federation._mailbox import Inbox, ReceiveStats
from chaihuo.federation._security_log import SecurityEvents
from chaihuo.federation._settings import FederationSettings
from chaihuo.federation._tls import PartyCertFiles, certificate_party_id
from chaihuo.federation._transport import Transport

__all__ = ["GrpcFederation", "GrpcNode", "NodeConfig", "TlsConfig"]

_log = logging.getLogger("chaihuo.federation")


class TlsConfig(BaseModel):
    """A party's mutual-TLS material: the federation CA, its certificate and key, a denylist."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ca_cert: Path = Field(description="PEM of the federation CA every party trusts.")
    cert: Path = Field(description="PEM certificate of this party (CN = party id).")
    key: Path = Field(description="PEM private key of this party (mode 0600).")
    denylist: Path | None = Field(None, description="Revoked serials, hex, one per line.")
    issuers: dict[str, Path] = Field(
        default_factory=dict,
        description="Party id → PEM of the CA that must have issued its certificate "
        "(per-organisation CAs; each is trusted in addition to ca_cert).",
    )

    @classmethod
    def from_files(cls, files: PartyCertFiles, denylist: Path | None = None) -> TlsConfig:
        """From what issue_party_cert wrote."""
        return cls(ca_cert=files.ca_cert, cert=files.cert, key=files.key, denylist=denylist)


class NodeConfig(BaseModel):
    """How one party's node listens and authenticates."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    party_id: str = Field(description="This party's id; must equal its certificate's CN.")
    listen: str = Field("127.0.0.1:0", description="host:port to bind; port 0 picks a free one.")
    tls: TlsConfig | None = Field(
        None, description="Mutual TLS material (required unless insecure)."
    )
    insecure: bool = Field(False, description="Plaintext, unauthenticated: development only.")
    profile: Literal["dev", "prod"] = Field("prod", description="'prod' refuses insecure.")
    settings: FederationSettings = FederationSettings()


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read the {what} {path}: {exc}") from exc


class GrpcNode:
    """A party's federation service: receives for every job, sends through pooled channels.

    Construct, `start()`, then open one endpoint per (job, local role) with `federation()`.
    """

    def __init__(
        self,
        config: NodeConfig,
        *,
        client_interceptors: Sequence[grpc.StreamUnaryClientInterceptor] = (),
    ) -> None:
        self.config = config
        self.party_id: PartyId = parse_party_id(config.party_id)
        self.settings = config.settings
        self.security = SecurityEvents(
            self.party_id,
            burst=self.settings.security_log_burst,
            window_s=self.settings.security_log_window_s,
        )
        self.inbox = Inbox(self.party_id, self.settings, self.security)
        tls = config.tls
        self.issuers = IssuerPins.from_files(tls.issuers if tls is not None else {})
        self._credentials, self._server_credentials, denylist = self._security()
        self.pool = ChannelPool(
            self.settings, self._credentials, client_interceptors, self.security
        )
        self._service = FederationService(
            self.inbox,
            denylist,
            authenticate=self._credentials is not None,
            security=self.security,
            issuers=self.issuers,
        )
        self._server: grpc.Server | None = None
        self._handlers: list[grpc.GenericRpcHandler] = []
        self._gateway: Gateway | None = None
        self._gateway_lock = threading.Lock()
        self.port = 0

    def _security(
        self,
    ) -> tuple[ClientCredentials | None, grpc.ServerCredentials | None, Denylist | None]:
        """Mutual TLS unless explicitly insecure in the dev profile (invariant 2, R11)."""
        config = self.config
        if config.insecure:
            if config.profile == "prod":
                raise ConfigError(
                    "insecure (plaintext, unauthenticated) federation is refused in the prod "
                    "profile; configure mutual TLS or use the dev profile"
                )
            _log.warning(
                "party %s federation runs WITHOUT TLS or authentication: development only",
                self.party_id,
            )
            return None, None, None
        if config.tls is None:
            raise ConfigError("federation needs mutual TLS: set tls (ca_cert, cert, key)")
        tls = config.tls
        ca, cert, key = (
            _read(tls.ca_cert, "CA certificate"),
            _read(tls.cert, "certificate"),
            _read(tls.key, "key"),
        )
        if certificate_party_id(cert) != self.party_id:
            raise ConfigError(
                f"certificate {tls.cert} names party {certificate_party_id(cert)}, "
                f"not {self.party_id}"
            )
        server = grpc.ssl_server_credentials(
            [(key, cert)], root_certificates=self.issuers.server_roots(ca), require_client_auth=True
        )
        denylist = Denylist(tls.denylist, self.settings.denylist_refresh_s)
        return ClientCredentials(ca, cert, key, self.issuers), server, denylist

    def _server_options(self) -> list[tuple[str, object]]:
        keep = self.settings.keepalive
        return [
            ("grpc.max_send_message_length", self.settings.max_grpc_message_bytes),
            ("grpc.max_receive_message_length", self.settings.max_grpc_message_bytes),
            ("grpc.keepalive_time_ms", keep.server_time_ms),
            ("grpc.keepalive_timeout_ms", keep.server_timeout_ms),
            ("grpc.keepalive_permit_without_calls", 1),
            # Tolerate the client's idle pings so the server never sends GOAWAY (R17).
            ("grpc.http2.min_ping_interval_without_data_ms", keep.server_min_ping_interval_ms),
            ("grpc.so_reuseport", 0),
        ]

    def start(self) -> GrpcNode:
        """Bind and serve; `port` holds the bound port (useful with port 0)."""
        if self._server is not None:
            return self
        server = grpc.server(
            ThreadPoolExecutor(
                self.settings.server_workers, thread_name_prefix=f"node-{self.party_id}"
            ),
            handlers=[self._service.handler(), *self._handlers],
            options=self._server_options(),
        )
        try:
            if self._server_credentials is None:
                self.port = server.add_insecure_port(self.config.listen)
            else:
                self.port = server.add_secure_port(self.config.listen, self._server_credentials)
        except RuntimeError as exc:
            raise ConfigError(f"cannot listen on {self.config.listen}: {exc}") from exc
        server.start()
        self._server = server
        return self

    def add_handlers(self, handlers: Sequence[grpc.GenericRpcHandler]) -> None:
        """Serve more services (e.g. the node's control service) on this server; before start."""
        if self._server is not None:
            raise ConfigError("add handlers before the node starts")
        self._handlers.extend(handlers)

    def gateway(self, listen: str | None = None) -> Gateway:
        """The node's gateway for its task processes, started on first use.

        `listen`: a `unix:PATH` or loopback host:port; None picks a Unix socket in a fresh
        0700 folder (loopback where the platform has none). Stopped with the node.
        """
        with self._gateway_lock:
            if self._gateway is None:
                self._gateway = Gateway(self, listen=listen).start()
            return self._gateway

    @property
    def address(self) -> str:
        """host:port peers use to reach this node (after start)."""
        host = self.config.listen.rsplit(":", 1)[0]
        return f"{host}:{self.port}"

    def stop(self, grace: float | None = 1.0) -> None:
        """Stop serving, close every outgoing channel and cancel the jobs still open here."""
        server, self._server = self._server, None
        if server is not None:
            server.stop(grace).wait()
        self.pool.close()
        for job_id in self.inbox.jobs():
            self.inbox.cancel(job_id, "the node stopped")
        with self._gateway_lock:
            gateway, self._gateway = self._gateway, None
        if gateway is not None:  # after the cancel, so its waiting task processes hear why
            gateway.stop(grace)
        self.security.flush()

    def __enter__(self) -> GrpcNode:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def cancel_job(self, job_id: str, reason: str = "cancelled") -> None:
        """Make pending and later `get`s and sends of `job_id` here raise JobCancelledError."""
        self.inbox.cancel(job_id, reason)

    def release_job(self, job_id: str) -> None:
        """Free a finished job's buffers and dedup state; later messages for it are refused."""
        self.inbox.release(job_id)

    def stats(self, job_id: str | None = None) -> ReceiveStats:
        """Receive counters (R13, R14) of one job or of every live job."""
        return self.inbox.stats(job_id)

    def federation(
        self,
        job_id: str,
        local: Party,
        parties: Iterable[Party],
        addresses: Mapping[str, str],
        *,
        codec: Codec | None = None,
        faults: FaultPlan | None = None,
        settings: FederationSettings | None = None,
    ) -> GrpcFederation:
        """An endpoint for `local` in `job_id`; `addresses` maps every party id to host:port."""
        return GrpcFederation(
            self, job_id, local, parties, addresses, codec=codec, faults=faults, settings=settings
        )


class GrpcFederation(Endpoint):
    """A Federation endpoint on a GrpcNode."""

    def __init__(
        self,
        node: GrpcNode,
        job_id: str,
        local: Party,
        parties: Iterable[Party],
        addresses: Mapping[str, str],
        *,
        codec: Codec | None = None,
        faults: FaultPlan | None = None,
        settings: FederationSettings | None = None,
    ) -> None:
        members = list(parties)
        if local.party_id != node.party_id:
            raise UnknownPartyError(f"node of party {node.party_id} cannot speak for {local}")
        missing = sorted({p.party_id for p in [*members, local]} - set(addresses))
        if missing:
            raise UnknownPartyError(f"no address for parties {missing}", missing=missing)
        transport: Transport = GrpcTransport(node.pool, addresses)
        self.faults = None if faults is None else FaultyTransport(transport, faults)
        self.node = node
        super().__init__(
            job_id=job_id,
            local=local,
            parties=members,
            inbox=node.inbox,
            transport=self.faults or transport,
            codec=codec or SerdeCodec(),
            settings=settings or node.settings,
        )
