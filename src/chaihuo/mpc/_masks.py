"""Pairwise mask seeds from X25519 key agreement and their AES-CTR mask streams in Z_2^64."""

# s_ij = HKDF-SHA256(X25519(sk_i, pk_j), info = context ‖ min(i,j) ‖ max(i,j) ‖ pk_min ‖ pk_max):
# both ends derive the same 32-byte seed, bound to the protocol's context (label and domain),
# the pair and both public keys; without sk_i or sk_j it is pseudorandom (CDH on Curve25519).
# The mask is AES-256-CTR under that seed from a zero counter, read as little-endian uint64
# words: a fresh key per pair and per run, so the zero nonce never repeats under one key.

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import numpy as np
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from chaihuo.crypto.sharing import RingArray
from chaihuo.mpc._errors import ProtocolError

__all__ = ["KEY_BYTES", "derive_seed", "mask_stream", "pair_seed", "public_bytes"]

KEY_BYTES: Final = 32


def public_bytes(secret: X25519PrivateKey) -> bytes:
    """The raw 32-byte public key of `secret`."""
    return secret.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def derive_seed(material: bytes, info: bytes) -> bytes:
    """A 32-byte seed: HKDF-SHA256 of `material` bound to `info`."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(material)


def pair_seed(
    secret: X25519PrivateKey, keys: Mapping[int, bytes], mine: int, other: int, context: bytes
) -> bytes:
    """s_ij for this client (`mine`, holding `secret`) and `other`, whose key is keys[other]."""
    try:
        shared = secret.exchange(X25519PublicKey.from_public_bytes(keys[other]))
    except (ValueError, UnsupportedAlgorithm) as exc:  # e.g. a low-order point
        raise ProtocolError(f"roster key of client {other} is unusable: {exc}") from exc
    low, high = min(mine, other), max(mine, other)
    info = b"".join(
        (context, low.to_bytes(4, "big"), high.to_bytes(4, "big"), keys[low], keys[high])
    )
    return derive_seed(shared, info)


def mask_stream(seed: bytes, size: int) -> RingArray:
    """`size` uint64 words of AES-256-CTR keystream under `seed`."""
    stream = Cipher(algorithms.AES(seed), modes.CTR(bytes(16))).encryptor()
    return np.frombuffer(stream.update(bytes(8 * size)), dtype="<u8").astype(np.uint64)
