"""Party-to-party channels: the Federation interface; in-memory, gRPC (mTLS) and relay backends."""

from chaihuo.federation._codec import BytesCodec, Codec, RawCodec, SerdeCodec
from chaihuo.federation._denylist import Denylist
from chaihuo.federation._endpoint import Endpoint
from chaihuo.federation._envelope import Envelope, MessageKey
from chaihuo.federation._faults import FaultPlan, FaultStats, FaultyTransport
from chaihuo.federation._gateway import Gateway
from chaihuo.federation._grpc_node import GrpcFederation, GrpcNode, NodeConfig, TlsConfig
from chaihuo.federation._interface import (
    DuplicateSendError,
    Federation,
    FederationError,
    JobCancelledError,
    MessageTooLargeError,
    Party,
    PeerUnreachableError,
    PermissionDeniedError,
    ProtocolViolationError,
    ReceiveTimeoutError,
    UnknownPartyError,
)
from chaihuo.federation._issuers import IssuerPins
from chaihuo.federation._local import local_grpc_nodes, make_local_pki
from chaihuo.federation._mailbox import Inbox, ReceiveStats
from chaihuo.federation._memory import MemoryFederation, MemoryHub
from chaihuo.federation._relay import RelayFederation
from chaihuo.federation._roster import Roster
from chaihuo.federation._settings import FederationSettings, KeepaliveSettings, RetryPolicy
from chaihuo.federation._tls import (
    CaFiles,
    PartyCertFiles,
    certificate_party_id,
    certificate_serial,
    init_ca,
    issue_party_cert,
    party_server_name,
    revoke,
)
from chaihuo.federation._transport import TransientSendError, Transport

__all__ = [
    "BytesCodec",
    "CaFiles",
    "Codec",
    "Denylist",
    "DuplicateSendError",
    "Endpoint",
    "Envelope",
    "FaultPlan",
    "FaultStats",
    "FaultyTransport",
    "Federation",
    "FederationError",
    "FederationSettings",
    "Gateway",
    "GrpcFederation",
    "GrpcNode",
    "Inbox",
    "IssuerPins",
    "JobCancelledError",
    "KeepaliveSettings",
    "MemoryFederation",
    "MemoryHub",
    "MessageKey",
    "MessageTooLargeError",
    "NodeConfig",
    "Party",
    "PartyCertFiles",
    "PeerUnreachableError",
    "PermissionDeniedError",
    "ProtocolViolationError",
    "RawCodec",
    "ReceiveStats",
    "ReceiveTimeoutError",
    "RelayFederation",
    "RetryPolicy",
    "Roster",
    "SerdeCodec",
    "TlsConfig",
    "TransientSendError",
    "Transport",
    "UnknownPartyError",
    "certificate_party_id",
    "certificate_serial",
    "init_ca",
    "issue_party_cert",
    "local_grpc_nodes",
    "make_local_pki",
    "party_server_name",
    "revoke",
]
