"""The chunked wire format: framing, the receiver's fast path, strict envelope validation."""

from __future__ import annotations

import hashlib

import pytest

from chaihuo.core import InvalidInputError, PartyId, Role
from chaihuo.federation import Envelope, MessageKey, Party
from chaihuo.federation._proto import federation_pb2 as pb
from chaihuo.federation._wire import (
    chunk_count,
    data_chunk,
    encode_chunks,
    parse_chunk,
    to_envelope,
)

GUEST = Party(Role.GUEST, PartyId("9999"))
HOST = Party(Role.HOST, PartyId("10000"))


def _envelope(payload: bytes) -> Envelope:
    key = MessageKey("job-1", "round.0.grad", GUEST, HOST)
    return Envelope(key, 3, len(payload), hashlib.sha256(payload).digest())


@pytest.mark.parametrize("size", [0, 1, 999, 1000, 1001, 5000])
def test_chunks_reassemble_to_the_payload(size: int) -> None:
    payload = bytes(range(256)) * (size // 256) + bytes(size % 256)
    chunks = list(encode_chunks(_envelope(payload), payload, 1000))
    assert len(chunks) == chunk_count(size, 1000) == max(1, -(-size // 1000))
    first = parse_chunk(chunks[0])
    assert to_envelope(first.envelope) == _envelope(payload)
    data = first.data
    for index, raw in enumerate(chunks[1:], start=1):
        fast = data_chunk(raw)
        slow = parse_chunk(raw)
        assert fast is not None and fast[0] == slow.index == index
        assert bytes(fast[1]) == slow.data
        data += slow.data
    assert data == payload


def test_fast_path_declines_anything_unusual() -> None:
    assert data_chunk(pb.Chunk(index=1, data=b"x").SerializeToString()) is not None
    assert data_chunk(pb.Chunk(data=b"x").SerializeToString()) == (0, memoryview(b"x"), b"")
    framed = pb.Chunk(index=1, data=b"xy").SerializeToString()
    assert data_chunk(framed[:-1]) is None  # truncated
    assert data_chunk(framed + b"\x10\x02") is None  # trailing fields
    assert data_chunk(b"\x80\x04\x95") is None  # a pickle header


def test_digest_can_follow_the_payload() -> None:
    payload = b"z" * 2500
    streamed = Envelope(_envelope(payload).key, 1, len(payload), None)
    chunks = list(encode_chunks(streamed, payload, 1000))
    head = parse_chunk(chunks[0])
    assert head.envelope.digest == b"" and to_envelope(head.envelope).digest is None
    assert data_chunk(chunks[1]) is not None and data_chunk(chunks[-1]) is None
    assert parse_chunk(chunks[-1]).digest == hashlib.sha256(payload).digest()


def test_malformed_bytes_are_invalid_input() -> None:
    with pytest.raises(InvalidInputError, match="malformed"):
        parse_chunk(b"\x0a\xff\xff\xff\xff\x0f")


def _proto(**changes: object) -> pb.Envelope:
    fields: dict[str, object] = {
        "job_id": "job-1",
        "tag": "t",
        "src": pb.PartyRef(role="guest", party_id="9999"),
        "dst": pb.PartyRef(role="host", party_id="10000"),
        "chunk_count": 1,
        "payload_size": 0,
        "digest": bytes(32),
    }
    fields.update(changes)
    return pb.Envelope(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "changes",
    [
        {"job_id": ""},
        {"job_id": "a b"},
        {"tag": "x\ny"},
        {"tag": "x" * 513},
        {"src": pb.PartyRef(role="emperor", party_id="9999")},
        {"dst": pb.PartyRef(role="host", party_id="../../etc")},
        {"digest": b"short"},
        {"chunk_count": 0},
        {"chunk_count": 5, "payload_size": 2},
    ],
)
def test_envelope_fields_are_validated(changes: dict[str, object]) -> None:
    with pytest.raises(InvalidInputError):
        to_envelope(_proto(**changes))


def test_envelope_needs_both_parties() -> None:
    message = _proto()
    message.ClearField("dst")
    with pytest.raises(InvalidInputError, match="destination"):
        to_envelope(message)
