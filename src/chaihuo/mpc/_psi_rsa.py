"""RSA blind-signature PSI: the host signs, the guest blinds and unblinds, digests are compared."""

# De Cristofaro–Tsudik (FC 2010), as in FATE's RSA intersection, semi-honest:
#
#     host (N, e, d)                                        guest
#     ── "rsa_public" (N, e) ─────────────────────────────▶ policy check (|N| ≥ 2048)
#     ── "host_digests" shuffle{H'(FDH(y)^d)} ────────────▶
#                         ◀── "guest_blinded" FDH(x)·r^e ── fresh unit r per id
#     ── "guest_signed" (FDH(x)·r^e)^d ───────────────────▶ s = that·r^-1 = FDH(x)^d,
#                                                            check s^e = FDH(x), compare H'(s)
#
# FDH(x)·r^e is uniform in Z_N* whatever x, so the host learns only |X|; the guest learns |Y|
# and which of its ids have a matching digest (H'(FDH(y)^d) cannot be computed without d, so
# the host's other ids stay hidden — RSA assumption in the random-oracle model). Integers
# travel as fixed-width big-endian records; each is checked to lie in [0, N). The host's key
# is fresh per job unless the caller passes one; the domain separator enters the FDH.
# An optional `progress(stage, done, total)` hears, after each chunk, how many ids of the
# stage are done: host "sign" (its own ids) and "exchange" (the guest's blinded ids); guest
# "blind", "unblind" and "intersect", each counted over all hosts (one RSA key per host).

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Executor
from functools import partial
from typing import TypeVar

from chaihuo.crypto.psi import (
    DIGEST_BYTES,
    MIN_RSA_BITS,
    RSA_PUBLIC_EXPONENT,
    RSAPrivateKey,
    RSAPublicKey,
    generate_rsa_key,
    rsa_blind,
    rsa_full_domain_hash,
    rsa_sign,
    rsa_signature_digests,
    rsa_unblind,
    rsa_verify,
)
from chaihuo.mpc._channel import Channel
from chaihuo.mpc._checks import expect_blob, expect_tuple, split_blob
from chaihuo.mpc._errors import InvalidInputError, ProtocolError, local_input, peer_data
from chaihuo.mpc._psi_common import (
    Id,
    IdSet,
    Progress,
    deliver_result,
    intersect_positions,
    map_chunks,
    receive_result,
    shuffled,
    stage,
)

__all__ = ["rsa_psi_guest", "rsa_psi_host"]

_T = TypeVar("_T")


def _check_domain(domain: bytes) -> bytes:
    if not isinstance(domain, bytes) or not domain:
        raise InvalidInputError("the PSI domain separator must be non-empty bytes (per job)")
    return domain


def _to_blob(values: list[int], width: int) -> bytes:
    return b"".join(value.to_bytes(width, "big") for value in values)


def _from_blob(raw: object, public: RSAPublicKey, count: int | None, what: str) -> list[int]:
    blob = expect_blob(raw, public.byte_length, what, count)
    values = [int.from_bytes(record, "big") for record in split_blob(blob, public.byte_length)]
    if any(value >= public.n for value in values):
        raise ProtocolError(f"{what}: a value is not below the RSA modulus")
    return values


def _sign_own(keys: list[bytes], *, private: RSAPrivateKey, domain: bytes) -> list[bytes]:
    """H'(FDH(y)^d) for a chunk of the host's ids (a worker task)."""
    public = private.public
    signatures = rsa_sign(rsa_full_domain_hash(keys, public, domain), private)
    return rsa_signature_digests(signatures, public)


def _blind(keys: list[bytes], *, public: RSAPublicKey, domain: bytes) -> list[tuple[int, ...]]:
    """(FDH(x), FDH(x)·r^e, r^-1) for a chunk of the guest's ids (a worker task)."""
    messages = rsa_full_domain_hash(keys, public, domain)
    blinded, unblinders = rsa_blind(messages, public)
    return list(zip(messages, blinded, unblinders, strict=True))


def _unblind(rows: list[tuple[int, int, int]], *, public: RSAPublicKey) -> tuple[list[bytes], bool]:
    """Digests H'(s) of s = signed·r^-1, and whether every s^e = FDH(x) (a worker task)."""
    messages, signed, unblinders = (list(column) for column in zip(*rows, strict=True))
    signatures = rsa_unblind(signed, unblinders, public)
    valid = all(rsa_verify(messages, signatures, public))
    return rsa_signature_digests(signatures, public), valid


def _flat(parts: list[list[_T]]) -> list[_T]:
    return [item for part in parts for item in part]


def rsa_psi_host(
    guest: Channel,
    ids: Sequence[Id],
    *,
    domain: bytes,
    key: RSAPrivateKey | None = None,
    key_bits: int = MIN_RSA_BITS,
    send_result: bool = False,
    executor: Executor | None = None,
    progress: Progress | None = None,
) -> list[Id] | None:
    """Host side (holds the RSA key): learns only |X|; the intersection if `send_result`.

    `key` defaults to a fresh `key_bits` key for this job; `executor` (optional,
    party-local) spreads the signing over processes; `progress` (optional) hears how far
    each stage is (see the module comment).
    """
    own = IdSet(ids)
    _check_domain(domain)
    with local_input("RSA key"):
        private = key or generate_rsa_key(key_bits)
    public = private.public
    guest.put("rsa_public", (public.n, public.e))
    task = partial(_sign_own, private=private, domain=domain)
    with local_input("PSI ids"):
        digests = _flat(map_chunks(executor, task, own.keys, stage(progress, "sign", len(own))))
    guest.put("host_digests", b"".join(shuffled(digests)))
    blinded = _from_blob(guest.get("guest_blinded"), public, None, "blinded ids")
    report = stage(progress, "exchange", len(blinded))
    with peer_data("blinded ids"):
        signed = _flat(map_chunks(executor, partial(rsa_sign, private=private), blinded, report))
    guest.put("guest_signed", _to_blob(signed, public.byte_length))
    return receive_result(guest, own) if send_result else None


def rsa_psi_guest(
    hosts: Sequence[Channel],
    ids: Sequence[Id],
    *,
    domain: bytes,
    send_result: bool = False,
    allow_insecure_test_key: bool = False,
    executor: Executor | None = None,
    progress: Progress | None = None,
) -> list[Id]:
    """Guest side: its ids signed-matched with every host, in its own order (deduplicated).

    Host keys below 2048 bits are refused unless `allow_insecure_test_key` (tests only);
    `executor` (optional, party-local) spreads blinding and unblinding over processes;
    `progress` (optional) hears how far each stage is (see the module comment).
    """
    if not hosts:
        raise InvalidInputError("PSI needs at least one host")
    own = IdSet(ids)
    _check_domain(domain)
    total = len(own) * len(hosts)
    pending = []
    for number, host in enumerate(hosts):
        public = _receive_key(host.get("rsa_public"), number, allow_insecure_test_key)
        task = partial(_blind, public=public, domain=domain)
        report = stage(progress, "blind", total, number * len(own))
        rows = _flat(map_chunks(executor, task, own.keys, report))
        host.put("guest_blinded", _to_blob([row[1] for row in rows], public.byte_length))
        pending.append((public, rows))
    common: set[int] | None = None
    matched = stage(progress, "intersect", total)
    for number, (host, (public, rows)) in enumerate(zip(hosts, pending, strict=True)):
        theirs = expect_blob(host.get("host_digests"), DIGEST_BYTES, f"host {number} digests")
        signed = _from_blob(host.get("guest_signed"), public, len(own), f"host {number} replies")
        work = [(row[0], s, row[2]) for row, s in zip(rows, signed, strict=True)]
        report = stage(progress, "unblind", total, number * len(own))
        with peer_data(f"host {number} signatures"):
            parts = map_chunks(executor, partial(_unblind, public=public), work, report)
        if not all(valid for _, valid in parts):
            raise ProtocolError(f"host {number} returned a signature that does not verify")
        mine = _flat([digests for digests, _ in parts])
        hits = intersect_positions(mine, set(split_blob(theirs, DIGEST_BYTES)))
        common = hits if common is None else common & hits
        if matched is not None:
            matched((number + 1) * len(own))
    result = [own.items[i] for i in sorted(common or ())]
    if send_result:
        deliver_result(hosts, result)
    return result


def _receive_key(raw: object, number: int, allow_insecure: bool) -> RSAPublicKey:
    n, e = expect_tuple(raw, 2, f"host {number} RSA key")
    if (
        isinstance(n, bool)
        or isinstance(e, bool)
        or not isinstance(n, int)
        or not isinstance(e, int)
    ):
        raise ProtocolError(f"host {number} RSA key must be two integers")
    if e != RSA_PUBLIC_EXPONENT:
        raise ProtocolError(f"host {number} RSA key: public exponent must be {RSA_PUBLIC_EXPONENT}")
    with peer_data(f"host {number} RSA key"):
        return RSAPublicKey(n, e, insecure_test_key=allow_insecure)
