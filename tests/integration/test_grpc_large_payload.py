"""Slow tier: a 3 GiB payload crosses the gRPC backend and reassembles bit-exact (R04)."""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import pytest

from chaihuo.core import PartyId, Role
from chaihuo.federation import BytesCodec, FederationSettings, Party

GUEST = Party(Role.GUEST, PartyId("9999"))
HOST = Party(Role.HOST, PartyId("10000"))
GiB = 1 << 30


@pytest.mark.slow
def test_three_gib_payload_is_streamed_and_reassembled(start_node: Any) -> None:
    roomy = FederationSettings(max_payload_bytes=4 * GiB, job_buffer_bytes=4 * GiB)
    guest, host = start_node("9999", roomy), start_node("10000", roomy)
    addresses = {"9999": guest.address, "10000": host.address}
    block = np.random.default_rng(3).integers(0, 256, 1 << 20, dtype=np.uint8).tobytes()
    payload = b"".join(block[i:] + block[:i] for i in range(3 * 1024))  # 3 GiB, no two MiB alike
    digest = hashlib.sha256(payload).digest()
    with (
        guest.federation("job", GUEST, [GUEST, HOST], addresses, codec=BytesCodec()) as g,
        host.federation("job", HOST, [GUEST, HOST], addresses, codec=BytesCodec()) as h,
    ):
        g.remote(payload, "huge", [HOST])
        del payload
        (got,) = h.get("huge", [GUEST])
    assert isinstance(got, bytes | bytearray) and len(got) == 3 * GiB
    assert hashlib.sha256(got).digest() == digest
