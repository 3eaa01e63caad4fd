"""Dropout-tolerant secure aggregation: the server learns the sum of the survivors' vectors only."""

# Bonawitz et al., "Practical Secure Aggregation for Privacy-Preserving Machine Learning"
# (CCS 2017), semi-honest variant, four rounds over the server (clients never talk directly):
#
#   keys     client i → server  (c_pk_i, s_pk_i): fresh X25519 keys, for share encryption and
#                                mask agreement; the server keeps U1 = those that answered
#            server → i ∈ U1     (i, t, U1, their keys)
#   shares   i → server          [Enc_{c_ij}(i, j, ⟨b_i⟩_j, ⟨s_sk_i⟩_j)] for j ∈ U1: Shamir
#                                t-of-|U1| shares of the self-mask seed b_i and of s_sk_i, each
#                                AES-GCM encrypted for j; the server keeps U2 and forwards
#   masked   i → server          y_i = x_i + PRG(b_i) + Σ_{j∈U2, j>i} PRG(s_ij) − Σ_{j<i} PRG(s_ij)
#                                in Z_2^64; the server keeps U3 = those whose y arrived
#   unmask   server → i ∈ U3     U3; client i answers ⟨b_j⟩_i for j ∈ U3 and ⟨s_sk_j⟩_i for
#                                j ∈ U2 \ U3 (never both for one j); the server needs t answers
#
# The server rebuilds b_j of every survivor and s_sk_d of every client that dropped after
# sharing, then Σ_{U3} y_j − Σ_{U3} PRG(b_j) − Σ_{d, k∈U3} ±PRG(s_kd) = Σ_{U3} x_j: pairwise
# masks between survivors cancel, the self masks and the dropped clients' dangling pair masks
# are removed. A client that answers late is treated as dropped at that round. Any t − 1
# clients' shares reveal nothing (Shamir), so with t > |U1| / 2 the server cannot obtain both
# b_j and s_sk_j of one client from honest answers within one run; clients refuse a smaller t.
# Not covered: an actively malicious server that lies about U3 to different clients (the
# paper's consistency-check round with signatures) and SecAgg+'s sparse k-regular graph
# (Bell et al., CCS 2020): every pair of clients shares a mask, O(n²) PRG work in all.
#
# Fixed point: values are encoded with f fractional bits (default 16) in Z_2^64, rounding to
# nearest, so the decoded sum of n clients is off by at most n · 2^−(f+1) per element; the
# encoded sum must stay below 2^(63−f) in magnitude (2^47 ≈ 1.4e14 at f = 16), which callers
# guarantee by clipping their inputs (see chaihuo.ml.homo).

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Final, Protocol, TypeVar

import numpy as np
import numpy.typing as npt
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from chaihuo.core import ChaihuoError
from chaihuo.crypto import CryptoError
from chaihuo.crypto.sharing import (
    SHARE_BYTES,
    FixedPointEncoding,
    RingArray,
    decode_int64,
    encode_int64,
    shamir_combine,
    shamir_split,
)
from chaihuo.mpc._channel import Channel
from chaihuo.mpc._checks import expect_bytes, expect_int, expect_list, expect_ring, expect_tuple
from chaihuo.mpc._errors import InvalidInputError, ProtocolError, local_input
from chaihuo.mpc._masks import KEY_BYTES, derive_seed, mask_stream, pair_seed, public_bytes

__all__ = [
    "SecAggResult",
    "TimedChannel",
    "TooFewClientsError",
    "gather_replies",
    "secagg_client",
    "secagg_server",
    "secagg_threshold",
]

_LOG = logging.getLogger(__name__)
_REALS: Final = FixedPointEncoding()
_TIMEOUT_CODE: Final = "FEDERATION_TIMEOUT"
_LABEL: Final = b"chaihuo/mpc/secagg/v1"
_SEED_BYTES: Final = 32
_RECORD_BYTES: Final = 8 + 2 * SHARE_BYTES
_SEALED_BYTES: Final = _RECORD_BYTES + 16  # AES-GCM tag
_T = TypeVar("_T")
Keys = dict[int, bytes]


class TooFewClientsError(ProtocolError):
    """Fewer clients than the threshold answered a round: the sum cannot be recovered."""

    code = "FEDERATION_PROTOCOL"


class TimedChannel(Channel, Protocol):
    """A channel whose `get` takes a timeout in seconds (the server's view of a client).

    On expiry `get` raises a ChaihuoError whose code is FEDERATION_TIMEOUT (the federation's
    ReceiveTimeoutError); any other error, e.g. the job being cancelled, passes through.
    """

    def get(self, name: str, timeout: float | None = None) -> object:
        """Receive the peer's object sent under `name`, or raise after `timeout` seconds."""


@dataclass(frozen=True)
class SecAggResult:
    """The sum over `survivors` (client indices); `dropped` left after sharing their keys."""

    total: npt.NDArray[np.float64] | npt.NDArray[np.int64]
    survivors: tuple[int, ...]
    dropped: tuple[int, ...]


def secagg_threshold(clients: int, dropout: float) -> int:
    """t for `clients` when up to a `dropout` fraction may drop: n − ⌊n·dropout⌋, above n / 2."""
    if clients < 2:
        raise InvalidInputError("secure aggregation needs at least 2 clients")
    if not 0.0 <= dropout < 0.5:
        raise InvalidInputError(f"dropout must be in [0, 0.5), got {dropout}")
    return max(clients - int(clients * dropout), clients // 2 + 1, 2)


def _context(domain: bytes, purpose: bytes) -> bytes:
    if not isinstance(domain, bytes) or not domain:
        raise InvalidInputError("the secure-aggregation domain separator must be non-empty bytes")
    return b"|".join((_LABEL, purpose, len(domain).to_bytes(4, "big") + domain))


def _sealer(secret: X25519PrivateKey, keys: Keys, mine: int, other: int, domain: bytes) -> AESGCM:
    return AESGCM(pair_seed(secret, keys, mine, other, _context(domain, b"shares")))


def _nonce(sender: int) -> bytes:
    return sender.to_bytes(12, "big")  # one key per pair: each direction has its own nonce


def _self_mask(seed: bytes, size: int, domain: bytes) -> RingArray:
    return mask_stream(derive_seed(seed, _context(domain, b"self")), size)


def _pair_masks(
    secret: X25519PrivateKey, keys: Keys, mine: int, others: Sequence[int], *, size: int,
    domain: bytes,
) -> RingArray:  # fmt: skip
    """Σ_{j>i} PRG(s_ij) − Σ_{j<i} PRG(s_ij) over j in `others` (i = `mine`)."""
    total = np.zeros(size, dtype=np.uint64)
    context = _context(domain, b"masks")
    for other in others:
        if other != mine:
            stream = mask_stream(pair_seed(secret, keys, mine, other, context), size)
            total = total + stream if other > mine else total - stream
    return total


# ---- client ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Roster:
    mine: int
    threshold: int
    members: list[int]
    share_keys: Keys
    mask_keys: Keys


def secagg_client(
    server: Channel,
    values: npt.ArrayLike,
    *,
    domain: bytes,
    encoding: FixedPointEncoding | None = _REALS,
) -> None:
    """Client side: contribute `values` (reals with `encoding`, int64 when it is None)."""
    _context(domain, b"")
    with local_input("secure-aggregation values"):
        ring = encode_int64(values) if encoding is None else encoding.encode(values)
    flat = np.array(ring, dtype=np.uint64).reshape(-1)
    share_secret, mask_secret = X25519PrivateKey.generate(), X25519PrivateKey.generate()
    mine_keys = (public_bytes(share_secret), public_bytes(mask_secret))
    server.put("keys", mine_keys)
    roster = _roster(server.get("roster"))
    if (roster.share_keys[roster.mine], roster.mask_keys[roster.mine]) != mine_keys:
        raise ProtocolError("roster does not hold this client's keys at its index")
    seed = secrets.token_bytes(_SEED_BYTES)
    holders = max(roster.members) + 1
    seed_shares = shamir_split(seed, roster.threshold, holders)
    key_shares = shamir_split(mask_secret.private_bytes_raw(), roster.threshold, holders)
    sealed = []
    for other in roster.members:
        record = _address(roster.mine, other) + seed_shares[other] + key_shares[other]
        sealer = _sealer(share_secret, roster.share_keys, roster.mine, other, domain)
        sealed.append(sealer.encrypt(_nonce(roster.mine), record, domain))
    server.put("shares", sealed)
    senders, received = _forwarded(server.get("forwarded"), roster)
    masked = flat + _self_mask(seed, flat.size, domain)
    masked += _pair_masks(
        mask_secret, roster.mask_keys, roster.mine, senders, size=flat.size, domain=domain
    )
    server.put("masked", masked.reshape(np.shape(ring)))
    survivors = _survivors(server.get("survivors"), senders, roster)
    opened = {
        sender: _open(_sealer(share_secret, roster.share_keys, roster.mine, sender, domain),
                      blob, sender, roster.mine, domain)
        for sender, blob in zip(senders, received, strict=True)
    }  # fmt: skip
    seeds = [opened[j][0] for j in survivors]
    keys = [opened[j][1] for j in sorted(set(senders) - set(survivors))]
    server.put("unmask", (seeds, keys))


def _address(sender: int, receiver: int) -> bytes:
    return sender.to_bytes(4, "big") + receiver.to_bytes(4, "big")


def _roster(raw: object) -> _Roster:
    mine_raw, threshold_raw, members_raw, shares_raw, masks_raw = expect_tuple(raw, 5, "roster")
    members = expect_list(members_raw, int, "roster members")
    if len(members) < 2 or len(set(members)) != len(members) or min(members) < 0:
        raise ProtocolError("roster must list at least 2 distinct client indices")
    if max(members) >= 1 << 16:
        raise ProtocolError("roster client indices must be below 65536")
    mine = expect_int(mine_raw, "roster index", 0, max(members) + 1)
    threshold = expect_int(threshold_raw, "threshold", 2, len(members) + 1)
    if mine not in members or 2 * threshold <= len(members):
        raise ProtocolError("roster leaves this client out or sets a threshold of half or less")
    keys = []
    for what, raw_keys in (("share keys", shares_raw), ("mask keys", masks_raw)):
        listed = expect_list(raw_keys, bytes, f"roster {what}")
        if len(listed) != len(members) or any(len(key) != KEY_BYTES for key in listed):
            raise ProtocolError(f"roster {what} do not match its members")
        keys.append(dict(zip(members, listed, strict=True)))
    return _Roster(mine, threshold, members, keys[0], keys[1])


def _forwarded(raw: object, roster: _Roster) -> tuple[list[int], list[bytes]]:
    senders_raw, blobs_raw = expect_tuple(raw, 2, "forwarded shares")
    senders = expect_list(senders_raw, int, "share senders")
    blobs = expect_list(blobs_raw, bytes, "shares")
    if len(set(senders)) != len(senders) or not set(senders) <= set(roster.members):
        raise ProtocolError("forwarded shares come from clients outside the roster")
    if len(senders) != len(blobs) or len(senders) < roster.threshold:
        raise ProtocolError("forwarded shares are fewer than the threshold")
    if roster.mine not in senders:
        raise ProtocolError("forwarded shares leave this client out")
    return senders, blobs


def _survivors(raw: object, senders: list[int], roster: _Roster) -> list[int]:
    survivors = expect_list(raw, int, "survivors")
    if len(set(survivors)) != len(survivors) or not set(survivors) <= set(senders):
        raise ProtocolError("survivors must be distinct clients that shared their keys")
    if len(survivors) < roster.threshold or roster.mine not in survivors:
        raise ProtocolError("the survivors are fewer than the threshold or leave this client out")
    return survivors


def _open(
    sealer: AESGCM, blob: bytes, sender: int, mine: int, domain: bytes
) -> tuple[bytes, bytes]:
    """This client's (seed share, key share) of `sender`, authenticated and addressed here."""
    try:
        record = sealer.decrypt(_nonce(sender), blob, domain)
    except InvalidTag as exc:
        raise ProtocolError(f"the shares from client {sender} do not authenticate") from exc
    if len(record) != _RECORD_BYTES or record[:8] != _address(sender, mine):
        raise ProtocolError(f"the shares from client {sender} are addressed to someone else")
    return record[8 : 8 + SHARE_BYTES], record[8 + SHARE_BYTES :]


# ---- server ----------------------------------------------------------------------------------


def gather_replies(
    channels: Sequence[TimedChannel], indices: Sequence[int], name: str,
    deadline_s: float | None, check: Callable[[object, int], _T],
) -> dict[int, _T]:  # fmt: skip
    """What `channels[i]` sent under `name`, for i in `indices`, by one deadline for all
    (None: each channel's own receive deadline).

    A peer whose message has not arrived when the deadline passes is left out (logged); each
    message that did arrive is checked by `check(obj, i)`, which raises on a malformed one.
    """
    ends = None if deadline_s is None else time.monotonic() + deadline_s
    replies: dict[int, _T] = {}
    for index in indices:
        try:
            wait = None if ends is None else max(ends - time.monotonic(), 0.001)
            raw = channels[index].get(name, wait)
        except ChaihuoError as exc:
            if exc.code != _TIMEOUT_CODE:
                raise
            _LOG.info("client %d sent no %r within %g s: %s", index, name, deadline_s, exc)
            continue
        replies[index] = check(raw, index)
    return replies


class _Rounds:
    """The server's rounds: best-effort sends and replies gathered before one deadline each."""

    def __init__(
        self, clients: Sequence[TimedChannel], threshold: int, deadline_s: float | None
    ) -> None:
        self.clients, self.threshold, self.deadline_s = clients, threshold, deadline_s
        # A send to a client that died may retry until the federation's send deadline; it
        # must not hold up the round, so sends run beside it and a failure only logs.
        self._senders = ThreadPoolExecutor(max_workers=8, thread_name_prefix="secagg-send")

    def send(self, name: str, payloads: Mapping[int, object]) -> None:
        for index, payload in payloads.items():
            self._senders.submit(self._send_one, index, name, payload)

    def _send_one(self, index: int, name: str, payload: object) -> None:
        try:
            self.clients[index].put(name, payload)
        except ChaihuoError as exc:  # the client is gone or the job is stopping
            _LOG.info("secure aggregation: client %d not reached with %s: %s", index, name, exc)

    def gather(self, name: str, indices: Sequence[int], check: Callable[[object, int], _T]
               ) -> dict[int, _T]:  # fmt: skip
        """Replies to `name` from `indices` that arrive before the deadline, checked."""
        replies = gather_replies(self.clients, indices, name, self.deadline_s, check)
        when = "in time" if self.deadline_s is None else f"within {self.deadline_s:g} s"
        if len(replies) < self.threshold:
            raise TooFewClientsError(
                f"secure aggregation: {len(replies)} of {len(indices)} clients answered "
                f"'{name}' {when}, fewer than the threshold {self.threshold}; the sum "
                "cannot be recovered"
            )
        return replies

    def close(self) -> None:
        self._senders.shutdown(wait=False)


def secagg_server(
    clients: Sequence[TimedChannel],
    *,
    domain: bytes,
    shape: Sequence[int],
    threshold: int,
    deadline_s: float | None = 60.0,
    encoding: FixedPointEncoding | None = _REALS,
) -> SecAggResult:
    """Server side: the sum of the surviving clients' values, and nothing else about them.

    `clients[i]` is the channel to client i; at least `threshold` (> n / 2) clients must
    answer every step within `deadline_s` seconds (None: the channels' own receive deadline),
    else TooFewClientsError.
    """
    _context(domain, b"")
    if not 2 <= threshold <= len(clients) or 2 * threshold <= len(clients):
        raise InvalidInputError(
            f"threshold must be in ({len(clients) // 2}, {len(clients)}] and at least 2, "
            f"got {threshold}"
        )
    rounds = _Rounds(clients, threshold, deadline_s)
    try:
        return _serve(rounds, domain, tuple(shape), encoding)
    finally:
        rounds.close()


def _serve(
    rounds: _Rounds, domain: bytes, shape: tuple[int, ...], encoding: FixedPointEncoding | None
) -> SecAggResult:
    keys = rounds.gather("keys", range(len(rounds.clients)), _check_keys)
    members = sorted(keys)
    share_keys = [keys[i][0] for i in members]
    mask_keys = {i: keys[i][1] for i in members}
    if len({*share_keys, *mask_keys.values()}) != 2 * len(members):
        raise ProtocolError("two clients sent the same public key")
    listed = [keys[i][0] for i in members], [keys[i][1] for i in members]
    rounds.send("roster", {i: (i, rounds.threshold, members, *listed) for i in members})
    sealed = rounds.gather("shares", members, lambda raw, i: _check_sealed(raw, i, len(members)))
    sharers = sorted(sealed)
    column = {j: members.index(j) for j in sharers}
    rounds.send(
        "forwarded", {j: (sharers, [sealed[i][column[j]] for i in sharers]) for j in sharers}
    )
    masked = rounds.gather(
        "masked", sharers, lambda raw, i: expect_ring(raw, shape, f"client {i} masked values")
    )
    survivors = sorted(masked)
    dropped = sorted(set(sharers) - set(survivors))
    rounds.send("survivors", dict.fromkeys(survivors, survivors))
    answers = rounds.gather(
        "unmask", survivors, lambda raw, i: _check_answer(raw, i, len(survivors), len(dropped))
    )
    total = np.zeros(int(np.prod(shape, dtype=np.int64)), dtype=np.uint64)
    for slot, index in enumerate(survivors):
        total += masked[index].reshape(-1)
        seed = _recover(answers, (0, slot), rounds.threshold, _SEED_BYTES, index)
        total -= _self_mask(seed, total.size, domain)
    for position, gone in enumerate(dropped):
        raw_key = _recover(answers, (1, position), rounds.threshold, KEY_BYTES, gone)
        secret = X25519PrivateKey.from_private_bytes(raw_key)
        if public_bytes(secret) != mask_keys[gone]:
            raise ProtocolError(f"the shares of dropped client {gone} rebuild a wrong key")
        # Survivor k added ±PRG(s_kd) for the dropped d; d's own key rebuilds each of them.
        total += _pair_masks(secret, mask_keys, gone, survivors, size=total.size, domain=domain)
    ring = total.reshape(shape)
    summed = decode_int64(ring).copy() if encoding is None else encoding.decode(ring)
    return SecAggResult(summed, tuple(survivors), tuple(dropped))


Answer = tuple[list[bytes], list[bytes]]


def _recover(
    answers: Mapping[int, Answer], where: tuple[int, int], threshold: int, size: int, owner: int
) -> bytes:
    """Client `owner`'s `size`-byte secret from the share at `where` (part, slot) of each answer."""
    part, slot = where
    shares = {holder + 1: answer[part][slot] for holder, answer in answers.items()}
    try:
        return shamir_combine(shares, threshold, size)
    except CryptoError as exc:
        raise ProtocolError(f"the shares held for client {owner} do not combine: {exc}") from exc


def _check_keys(raw: object, index: int) -> tuple[bytes, bytes]:
    share_key, mask_key = expect_tuple(raw, 2, f"client {index} keys")
    return (
        expect_bytes(share_key, f"client {index} share key", KEY_BYTES),
        expect_bytes(mask_key, f"client {index} mask key", KEY_BYTES),
    )


def _check_sealed(raw: object, index: int, count: int) -> list[bytes]:
    sealed = expect_list(raw, bytes, f"client {index} shares")
    if len(sealed) != count or any(len(blob) != _SEALED_BYTES for blob in sealed):
        raise ProtocolError(f"client {index} shares: expected {count} sealed shares")
    return sealed


def _check_answer(raw: object, index: int, seeds: int, keys: int) -> Answer:
    seed_raw, key_raw = expect_tuple(raw, 2, f"client {index} unmasking shares")
    answer = (
        expect_list(seed_raw, bytes, f"client {index} seed shares"),
        expect_list(key_raw, bytes, f"client {index} key shares"),
    )
    if [len(part) for part in answer] != [seeds, keys] or any(
        len(share) != SHARE_BYTES for part in answer for share in part
    ):
        raise ProtocolError(f"client {index} unmasking shares: wrong count or size")
    return answer
