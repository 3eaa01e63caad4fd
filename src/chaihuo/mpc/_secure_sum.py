"""Secure sum across n clients with pairwise masks: the aggregator learns only the total."""

# Bonawitz et al., "Practical Secure Aggregation for Privacy-Preserving Machine Learning"
# (CCS 2017), the semi-honest core without dropout recovery:
#
#     client i → aggregator   "public_key"   fresh X25519 key pk_i (per call, per round)
#     aggregator → client i   "roster"       (i, [pk_0, ..., pk_{n-1}])
#     client i → aggregator   "masked"       y_i = enc(x_i) + Σ_{j>i} m_ij − Σ_{j<i} m_ij  (Z_2^64)
#
# with m_ij = m_ji = AES-256-CTR_{s_ij}(0) read as uint64 words and s_ij = HKDF-SHA256 of the
# X25519 secret, bound to the domain separator, the pair (i, j) and both public keys. The masks
# cancel in Σ y_i = Σ enc(x_i); each y_i alone is uniform to the aggregator (it lacks s_ij,
# CDH), and any coalition of the aggregator with up to n − 2 clients learns only the sum of
# the others' inputs. The aggregator relays the keys, so against an active aggregator the keys
# would need signatures (not covered; semi-honest). Dropout tolerance (Shamir shares of the
# seeds, the second round of Bonawitz et al.) is not covered: every client must send.
# Fixed point: the encoded sum must stay below 2^(63−f) in magnitude (not detectable here).

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import numpy as np
import numpy.typing as npt
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from chaihuo.crypto.sharing import FixedPointEncoding, RingArray, decode_int64, encode_int64
from chaihuo.mpc._channel import Channel
from chaihuo.mpc._checks import expect_bytes, expect_int, expect_list, expect_ring, expect_tuple
from chaihuo.mpc._errors import InvalidInputError, ProtocolError, local_input
from chaihuo.mpc._masks import KEY_BYTES, mask_stream, pair_seed, public_bytes

__all__ = ["secure_sum_aggregator", "secure_sum_client"]

_REALS: Final = FixedPointEncoding()
_LABEL: Final = b"chaihuo/mpc/secure-sum/v1"


def _check_domain(domain: bytes) -> bytes:
    if not isinstance(domain, bytes) or not domain:
        raise InvalidInputError("the secure-sum domain separator must be non-empty bytes")
    return domain


def _pair_mask(
    secret: X25519PrivateKey, keys: list[bytes], *, mine: int, other: int, size: int, domain: bytes
) -> RingArray:
    """m_ij: the AES-CTR stream under the HKDF seed of the pair, as `size` uint64 words."""
    context = _LABEL + len(domain).to_bytes(4, "big") + domain
    return mask_stream(pair_seed(secret, dict(enumerate(keys)), mine, other, context), size)


def secure_sum_client(
    aggregator: Channel,
    values: npt.ArrayLike,
    *,
    domain: bytes,
    encoding: FixedPointEncoding | None = _REALS,
) -> None:
    """Client side: contribute `values` (reals, f = 16 by default; int64 if encoding is None).

    Every client of the round must pass the same `domain` and `encoding` as the aggregator.
    """
    _check_domain(domain)
    with local_input("secure-sum values"):
        ring = encode_int64(values) if encoding is None else encoding.encode(values)
    secret = X25519PrivateKey.generate()
    mine_pk = public_bytes(secret)
    aggregator.put("public_key", mine_pk)
    index_raw, keys_raw = expect_tuple(aggregator.get("roster"), 2, "roster")
    keys = expect_list(keys_raw, bytes, "roster keys")
    if len(keys) < 2 or len(set(keys)) != len(keys):
        raise ProtocolError("roster must list at least 2 distinct client keys")
    mine = expect_int(index_raw, "roster index", 0, len(keys))
    if keys[mine] != mine_pk or any(len(key) != KEY_BYTES for key in keys):
        raise ProtocolError("roster does not hold this client's key at its index")
    flat = np.array(ring, dtype=np.uint64).reshape(-1)
    for other in range(len(keys)):
        if other == mine:
            continue
        mask = _pair_mask(secret, keys, mine=mine, other=other, size=flat.size, domain=domain)
        if other > mine:
            flat += mask
        else:
            flat -= mask
    aggregator.put("masked", flat.reshape(np.shape(ring)))


def secure_sum_aggregator(
    clients: Sequence[Channel],
    *,
    domain: bytes,
    encoding: FixedPointEncoding | None = _REALS,
    shape: Sequence[int] | None = None,
) -> npt.NDArray[np.float64] | npt.NDArray[np.int64]:
    """Aggregator side: the element-wise sum of all clients' values, and nothing else.

    `clients[i]` is the channel to client i (at least two). Returns floats decoded with
    `encoding`, or int64 when `encoding` is None; `shape`, if given, is enforced.
    """
    _check_domain(domain)
    if len(clients) < 2:
        raise InvalidInputError("secure sum needs at least 2 clients (one would be revealed)")
    keys = [
        expect_bytes(client.get("public_key"), f"client {i} public key", KEY_BYTES)
        for i, client in enumerate(clients)
    ]
    if len(set(keys)) != len(keys):
        raise ProtocolError("two clients sent the same public key")
    for index, client in enumerate(clients):
        client.put("roster", (index, keys))
    total: RingArray | None = None
    for index, client in enumerate(clients):
        expected = shape if shape is not None else (None if total is None else total.shape)
        masked = expect_ring(client.get("masked"), expected, f"client {index} masked values")
        total = masked.copy() if total is None else total + masked
    assert total is not None
    if encoding is None:
        return decode_int64(total).copy()
    return encoding.decode(total)
