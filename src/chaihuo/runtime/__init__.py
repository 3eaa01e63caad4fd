"""The runtime: the Context an algorithm sees, where federation meets computing and crypto."""

from chaihuo.federation import Roster
from chaihuo.runtime._cipher import CipherSuite, SecurityPolicy
from chaihuo.runtime._context import Context, Peer, PeerGroup
from chaihuo.runtime._metrics import MetricRecord, MetricsSink, ProgressListener, ProgressRecord

__all__ = [
    "CipherSuite",
    "Context",
    "MetricRecord",
    "MetricsSink",
    "Peer",
    "PeerGroup",
    "ProgressListener",
    "ProgressRecord",
    "Roster",
    "SecurityPolicy",
]
