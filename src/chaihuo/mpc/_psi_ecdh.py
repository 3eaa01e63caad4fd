"""ECDH PSI between a guest and one or more hosts on the ed25519 prime-order subgroup."""

# Diffie–Hellman PSI (Meadows 1986; Huberman–Franklin–Hogg 1999), semi-honest, with fresh
# per-job scalars and a per-job domain separator in the hash to the curve:
#
#     guest (a)                                            host (b), one run per host
#     A = {a·H(x)}  in its own order      ── "guest_points" ──▶
#                                         ◀── "host_points" ──  B = shuffle{b·H(y)}
#                                         ◀── "guest_digests" ─ digests of b·A, in A's order
#     match x  ⇔  digest(ab·H(x)) ∈ {digest(a·B)}
#
# Under DDH a·H(x) and b·H(y) are pseudorandom, so the host learns only |X|; the guest learns
# |Y| and which of its own ids are in Y (the host shuffles, so positions in B say nothing).
# Every received point is checked to be a canonical, non-identity element of the order-L
# subgroup before the guest's or host's scalar touches it (a small-order component would leak
# the scalar mod 8). The last message carries 16-byte digests, not points, so nobody
# multiplies by them. With several hosts the guest uses one scalar a for the job and takes the
# intersection over hosts; note that it learns each pairwise X ∩ Y_i (as FATE's multi-host
# PSI does), not only the common part. Optionally it sends the final ids to the hosts.
#
# The group work (hash, validate, multiply: ≈ 120 µs per point in libsodium, holding the GIL)
# runs in chunks on an optional party-local `executor` (e.g. a ProcessPoolExecutor) so one
# party can use all its cores; only this party's own data and scalar go to its own workers.
# An optional `progress(stage, done, total)` hears, after each chunk, how many ids of the
# stage are done: "blind" (own ids hashed and multiplied), "exchange" (the peer's points
# multiplied; on the guest once per host), "intersect" (guest: own ids matched, all hosts).

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Executor
from functools import partial

from chaihuo.crypto.psi import (
    DIGEST_BYTES,
    POINT_BYTES,
    EcdhScalar,
    hash_to_points,
    point_digests,
    random_scalar,
    scalar_mult_batch,
    scalar_mult_received,
)
from chaihuo.mpc._channel import Channel
from chaihuo.mpc._checks import expect_blob, split_blob
from chaihuo.mpc._errors import InvalidInputError, local_input, peer_data
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

__all__ = ["ecdh_psi_guest", "ecdh_psi_host"]


def _hash_and_blind(keys: list[bytes], *, scalar: EcdhScalar, domain: bytes) -> bytes:
    """a·H(id) for a chunk of ids, as one blob (a worker task)."""
    return b"".join(scalar_mult_batch(scalar, hash_to_points(keys, domain)))


def _blind_received(points: list[bytes], *, scalar: EcdhScalar) -> bytes:
    """Digests of a·P for a chunk of received points (the multiplication validates each)."""
    return b"".join(point_digests(scalar_mult_received(scalar, points)))


def _blind_own(
    executor: Executor | None,
    scalar: EcdhScalar,
    own: IdSet,
    domain: bytes,
    progress: Progress | None,
) -> list[bytes]:
    """This party's a·H(id), one 32-byte point per id, in id order."""
    if not isinstance(domain, bytes) or not domain:
        raise InvalidInputError("the PSI domain separator must be non-empty bytes (per job)")
    task = partial(_hash_and_blind, scalar=scalar, domain=domain)
    report = stage(progress, "blind", len(own))
    with local_input("PSI ids"):
        blob = b"".join(map_chunks(executor, task, own.keys, report))
    return split_blob(blob, POINT_BYTES)


def _digests_of_received(
    executor: Executor | None,
    scalar: EcdhScalar,
    raw: object,
    what: str,
    progress: Progress | None,
) -> list[bytes]:
    """Check a peer's point blob, validate each point, multiply by our scalar and digest."""
    points = split_blob(expect_blob(raw, POINT_BYTES, what), POINT_BYTES)
    task = partial(_blind_received, scalar=scalar)
    report = stage(progress, "exchange", len(points))
    with peer_data(what):
        digests = b"".join(map_chunks(executor, task, points, report))
    return split_blob(digests, DIGEST_BYTES)


def ecdh_psi_guest(
    hosts: Sequence[Channel],
    ids: Sequence[Id],
    *,
    domain: bytes,
    send_result: bool = False,
    executor: Executor | None = None,
    progress: Progress | None = None,
) -> list[Id]:
    """Guest side: the guest's ids held by every host, in the guest's order (deduplicated).

    `hosts` holds one channel per host; `domain` is the per-job separator both sides pass.
    With `send_result` the hosts receive the final intersection too (they must say so too).
    `executor` (optional, party-local) spreads the group operations over processes;
    `progress` (optional) hears how far each stage is (see the module comment).
    """
    if not hosts:
        raise InvalidInputError("PSI needs at least one host")
    own = IdSet(ids)
    scalar = random_scalar()
    blinded = b"".join(_blind_own(executor, scalar, own, domain, progress))
    for host in hosts:
        host.put("guest_points", blinded)
    common: set[int] | None = None
    matched = stage(progress, "intersect", len(own) * len(hosts))
    for number, host in enumerate(hosts):
        what = f"host {number} points"
        received = host.get("host_points")
        theirs = set(_digests_of_received(executor, scalar, received, what, progress))
        raw = host.get("guest_digests")
        mine = expect_blob(raw, DIGEST_BYTES, f"host {number} digests", len(own))
        hits = intersect_positions(split_blob(mine, DIGEST_BYTES), theirs)
        common = hits if common is None else common & hits
        if matched is not None:
            matched((number + 1) * len(own))
    result = [own.items[i] for i in sorted(common or ())]
    if send_result:
        deliver_result(hosts, result)
    return result


def ecdh_psi_host(
    guest: Channel,
    ids: Sequence[Id],
    *,
    domain: bytes,
    send_result: bool = False,
    executor: Executor | None = None,
    progress: Progress | None = None,
) -> list[Id] | None:
    """Host side: learns only |X|; returns the intersection if `send_result`, else None."""
    own = IdSet(ids)
    scalar = random_scalar()
    points = _blind_own(executor, scalar, own, domain, progress)
    guest.put("host_points", b"".join(shuffled(points)))
    received = guest.get("guest_points")
    digests = _digests_of_received(executor, scalar, received, "guest points", progress)
    guest.put("guest_digests", b"".join(digests))
    return receive_result(guest, own) if send_result else None
