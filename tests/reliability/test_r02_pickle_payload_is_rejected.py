"""R02: a pickle-RCE payload in every bytes/string field of the Send RPC is refused, never run."""

from __future__ import annotations

import hashlib
import os
import pickle
import time
from pathlib import Path

import grpc
import pytest

from chaihuo.core import PartyId, Role
from chaihuo.federation import Party
from chaihuo.serde import SerdeError

GUEST = Party(Role.GUEST, PartyId("9999"))
HOST = Party(Role.HOST, PartyId("10000"))
JOB = "job-r02"


class _Exploit:
    """Unpickling this runs `touch <marker>` (the classic pickle RCE)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, (f"touch {self.marker}",))


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        out.append(low | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _field(number: int, value: bytes | int) -> bytes:
    if isinstance(value, int):
        return _varint(number << 3) + _varint(value)
    return _varint(number << 3 | 2) + _varint(len(value)) + value


def _chunk(fields: dict[str, bytes], payload: bytes) -> bytes:
    """A Chunk with an envelope whose fields are raw bytes (valid UTF-8 or not)."""
    digest = fields.get("digest", hashlib.sha256(payload).digest())
    src = _field(1, fields.get("src_role", b"guest")) + _field(2, fields.get("src_id", b"9999"))
    dst = _field(1, fields.get("dst_role", b"host")) + _field(2, fields.get("dst_id", b"10000"))
    envelope = (
        _field(1, fields.get("job_id", JOB.encode()))
        + _field(2, fields.get("tag", b"r02.tag"))
        + _field(3, src)
        + _field(4, dst)
        + _field(5, 1)
        + _field(6, 1)
        + _field(7, len(payload))
        + _field(8, digest)
    )
    return _field(1, envelope) + _field(3, payload)


FIELDS = ["job_id", "tag", "src_role", "src_id", "dst_role", "dst_id", "digest"]


@pytest.fixture
def r02(node_factory, pki, tmp_path: Path):
    guest_node, host_node = node_factory("9999"), node_factory("10000")
    addresses = {"9999": guest_node.address, "10000": host_node.address}
    guest = guest_node.federation(JOB, GUEST, [GUEST, HOST], addresses)
    host = host_node.federation(JOB, HOST, [GUEST, HOST], addresses)
    marker = tmp_path / "pwned"
    payloads = [pickle.dumps(_Exploit(marker), protocol=p) for p in (0, pickle.HIGHEST_PROTOCOL)]
    yield guest, host, host_node, marker, payloads
    guest.close()
    host.close()


def _legit_round_trip(guest, host, tag: str) -> float:
    started = time.monotonic()
    guest.remote({"ok": tag}, tag, [HOST])
    assert host.get(tag, [GUEST], timeout=5) == [{"ok": tag}]
    return time.monotonic() - started


def test_r02_exploit_payload_is_live(tmp_path: Path) -> None:
    # Control: the payload used below really does run code when unpickled.
    marker = tmp_path / "control"
    pickle.loads(pickle.dumps(_Exploit(marker)))
    assert marker.exists()


@pytest.mark.parametrize("field", FIELDS)
def test_r02_pickle_in_envelope_field_is_rejected(r02, raw_send, pki, field: str) -> None:
    guest, host, host_node, marker, payloads = r02
    for index, evil in enumerate(payloads):
        chunk = _chunk({field: evil}, b"CHS\x01\x00")
        with pytest.raises(grpc.RpcError) as info:
            raw_send(host_node.address, [chunk], tls=pki["9999"], server_party="10000")
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT, info.value.details()
        assert not marker.exists()
        assert _legit_round_trip(guest, host, f"after.{field}.{index}") < 1.0


def test_r02_pickle_as_payload_is_rejected(r02, raw_send, pki) -> None:
    guest, host, host_node, marker, payloads = r02
    for index, evil in enumerate(payloads):
        tag = f"evil.payload.{index}"
        chunk = _chunk({"tag": tag.encode()}, evil)
        with pytest.raises(grpc.RpcError) as info:
            raw_send(host_node.address, [chunk], tls=pki["9999"], server_party="10000")
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "chaihuo payload" in (info.value.details() or "")
        with pytest.raises(SerdeError):  # the receiving party learns why, instead of waiting
            host.get(tag, [GUEST], timeout=1)
        assert not marker.exists()
        assert _legit_round_trip(guest, host, f"after.payload.{index}") < 1.0


def test_r02_pickle_as_whole_request_is_rejected(r02, raw_send, pki) -> None:
    guest, host, host_node, marker, payloads = r02
    for index, evil in enumerate(payloads):
        with pytest.raises(grpc.RpcError) as info:
            raw_send(host_node.address, [evil], tls=pki["9999"], server_party="10000")
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        valid_head = _chunk({"tag": f"two.{index}".encode()}, b"")
        with pytest.raises(grpc.RpcError) as info:  # a pickle as a follow-up chunk
            raw_send(host_node.address, [valid_head, evil], tls=pki["9999"], server_party="10000")
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert not marker.exists()
        assert _legit_round_trip(guest, host, f"after.whole.{index}") < 1.0
    assert host_node.stats(JOB).applied == len(payloads)  # only the legitimate messages
