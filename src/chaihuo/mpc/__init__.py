"""Interactive MPC protocols over channels: sharing, comparison, Yao, PSI, secure aggregation."""

from chaihuo.mpc._channel import Channel
from chaihuo.mpc._compare import CHUNK_LANES, less_than_zero, msb_circuit
from chaihuo.mpc._dealer import MAX_DEALT_ELEMENTS, DealerTriples, serve_triples
from chaihuo.mpc._errors import ProtocolError
from chaihuo.mpc._paillier_triples import STATISTICAL_BITS, PaillierTriples
from chaihuo.mpc._psi_common import Id
from chaihuo.mpc._psi_ecdh import ecdh_psi_guest, ecdh_psi_host
from chaihuo.mpc._psi_rsa import rsa_psi_guest, rsa_psi_host
from chaihuo.mpc._secagg import (
    SecAggResult,
    TimedChannel,
    TooFewClientsError,
    gather_replies,
    secagg_client,
    secagg_server,
    secagg_threshold,
)
from chaihuo.mpc._session import Session, TripleSource
from chaihuo.mpc._shared import SharedTensor
from chaihuo.mpc._yao import Role, millionaires, run_garbled

__all__ = [
    "CHUNK_LANES",
    "MAX_DEALT_ELEMENTS",
    "STATISTICAL_BITS",
    "Channel",
    "DealerTriples",
    "Id",
    "PaillierTriples",
    "ProtocolError",
    "Role",
    "SecAggResult",
    "Session",
    "SharedTensor",
    "TimedChannel",
    "TooFewClientsError",
    "TripleSource",
    "ecdh_psi_guest",
    "ecdh_psi_host",
    "gather_replies",
    "less_than_zero",
    "millionaires",
    "msb_circuit",
    "rsa_psi_guest",
    "rsa_psi_host",
    "run_garbled",
    "secagg_client",
    "secagg_server",
    "secagg_threshold",
    "serve_triples",
]
