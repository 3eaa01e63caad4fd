"""Protobuf envelopes and chunk streams of the gRPC backend: encoding and strict decoding."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from typing import Final

from google.protobuf.message import DecodeError

from chaihuo.core import InvalidInputError
from chaihuo.federation._envelope import DIGEST_BYTES, Envelope, MessageKey, parse_party
from chaihuo.federation._proto import federation_pb2 as pb

__all__ = [
    "SEND_METHOD",
    "SERVICE",
    "chunk_count",
    "data_chunk",
    "encode_chunks",
    "parse_chunk",
    "to_envelope",
]

SERVICE: Final = "chaihuo.federation.v1.FederationNode"
SEND_METHOD: Final = f"/{SERVICE}/Send"
_INDEX_KEY: Final = bytes([(2 << 3) | 0])  # Chunk.index, varint
_DATA_KEY: Final = bytes([(3 << 3) | 2])  # Chunk.data, length-delimited
_DIGEST_KEY: Final = bytes([(4 << 3) | 2])  # Chunk.digest, length-delimited


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        out.append(low | (0x80 if value else 0))
        if not value:
            return bytes(out)


def chunk_count(size: int, chunk_bytes: int) -> int:
    """Chunks needed for `size` bytes; an empty payload still sends one (it carries the header)."""
    return max(1, -(-size // chunk_bytes))


def _envelope_proto(envelope: Envelope, chunks: int) -> pb.Envelope:
    key = envelope.key
    return pb.Envelope(
        job_id=key.job_id,
        tag=key.tag,
        src=pb.PartyRef(role=key.src.role.value, party_id=key.src.party_id),
        dst=pb.PartyRef(role=key.dst.role.value, party_id=key.dst.party_id),
        seq=envelope.seq,
        chunk_count=chunks,
        payload_size=envelope.size,
        digest=envelope.digest or b"",
    )


def encode_chunks(envelope: Envelope, payload: bytes, chunk_bytes: int) -> Iterator[bytes]:
    """Serialized Chunk messages for a client stream, made lazily as gRPC pulls them.

    Data chunks are framed by hand (index, then data): one copy of each slice into the
    message instead of two through a protobuf object. Concatenated protobuf encodings merge,
    so chunk 0 is the encoded envelope followed by the same framing.
    """
    count = chunk_count(len(payload), chunk_bytes)
    view = memoryview(payload)
    head = pb.Chunk(envelope=_envelope_proto(envelope, count)).SerializeToString()
    hasher = None if envelope.digest is not None else _Hasher(payload)
    for index in range(count):
        part = view[index * chunk_bytes : (index + 1) * chunk_bytes]
        frame: list[bytes | memoryview] = [_INDEX_KEY, _varint(index)] if index else []
        frame += [_DATA_KEY, _varint(len(part)), part]
        if hasher is not None and index == count - 1:
            frame += [_DIGEST_KEY, _varint(DIGEST_BYTES), hasher.result()]
        yield b"".join([head, *frame]) if index == 0 else b"".join(frame)


class _Hasher(threading.Thread):
    """SHA-256 of a payload computed beside the stream (hashlib releases the GIL)."""

    def __init__(self, payload: bytes) -> None:
        super().__init__(name="payload-sha256", daemon=True)
        self._payload = payload
        self._digest = b""
        self.start()

    def run(self) -> None:
        self._digest = hashlib.sha256(self._payload).digest()

    def result(self) -> bytes:
        self.join()
        return self._digest


def _read_varint(raw: bytes, pos: int) -> tuple[int, int]:
    value, shift = 0, 0
    while pos < len(raw) and shift < 64:
        byte = raw[pos]
        value |= (byte & 0x7F) << shift
        pos += 1
        if not byte & 0x80:
            return value, pos
        shift += 7
    return -1, pos


def data_chunk(raw: bytes) -> tuple[int, memoryview, bytes] | None:
    """(index, data view) of a chunk framed exactly as encode_chunks frames data chunks.

    The fast path of the receiver: it skips one copy of every 4 MiB chunk that a protobuf
    object would make. Anything else, including every valid but differently framed Chunk,
    returns None and goes through protobuf parsing.
    """
    if not isinstance(raw, bytes):
        return None
    index, pos = 0, 0
    if raw[:1] == _INDEX_KEY:
        index, pos = _read_varint(raw, 1)
    if index < 0 or raw[pos : pos + 1] != _DATA_KEY:
        return None
    length, start = _read_varint(raw, pos + 1)
    if length < 0 or start + length != len(raw):
        return None
    return index, memoryview(raw)[start:], b""


def parse_chunk(raw: bytes) -> pb.Chunk:
    """Decode one Chunk; malformed bytes (e.g. a pickle, R02) are InvalidInputError."""
    if not isinstance(raw, bytes):
        raise InvalidInputError("chunk must be bytes")
    chunk = pb.Chunk()
    try:
        chunk.ParseFromString(raw)
    except DecodeError as exc:
        raise InvalidInputError(f"malformed chunk: {exc}") from exc
    return chunk


def to_envelope(message: pb.Envelope) -> Envelope:
    """Validate every field of a received envelope (R02) and build the shared header."""
    if not message.HasField("src") or not message.HasField("dst"):
        raise InvalidInputError("envelope lacks its source or destination")
    key = MessageKey(
        message.job_id,
        message.tag,
        parse_party(message.src.role, message.src.party_id),
        parse_party(message.dst.role, message.dst.party_id),
    )
    if message.chunk_count < 1 or message.chunk_count > message.payload_size + 1:
        raise InvalidInputError("chunk count inconsistent with the payload size")
    return Envelope(key, message.seq, message.payload_size, bytes(message.digest) or None)
