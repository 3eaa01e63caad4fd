"""Correlated randomness from a dealer (the arbiter): Beaver triples and truncation pairs."""

# The dealer is a third role that holds no share of any secret. For each request it draws
# fresh a, b and c = a·b (or r, r >> f and msb(r)) and gives party i its additive share;
# shares of a uniform value are uniform, so each party learns nothing. To keep the dealer's
# traffic small (the pseudorandom-seed trick of SPDZ-style preprocessing, e.g. Keller et al.,
# "MASCOT", CCS 2016), party i gets a 256-bit seed from which it expands its shares of a, b
# and c with AES-CTR; only the last party's shares of the derived values (c, or r >> f and
# msb(r)), which must make the shares add up, are sent in full. Security assumes the
# dealer does not collude with a share holder: dealer plus one party would learn x from the
# opened e = x − a. Requests come from party 0 only (every party asks for the same thing in
# the same order, so one copy suffices), one numbered sub-scope per request.

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Final

import numpy as np

from chaihuo.crypto._random import SEED_BYTES, expand_uint64, random_seed
from chaihuo.crypto.sharing import (
    BeaverTriple,
    MatrixTriple,
    RingArray,
    TruncationPair,
    ring_matmul,
    truncation_pair_values,
)
from chaihuo.mpc._channel import Channel
from chaihuo.mpc._checks import expect_bytes, expect_int, expect_list, expect_ring, expect_tuple
from chaihuo.mpc._errors import InvalidInputError, ProtocolError
from chaihuo.mpc._session import Session

__all__ = ["MAX_DEALT_ELEMENTS", "DealerTriples", "serve_triples"]

MAX_DEALT_ELEMENTS: Final = 1 << 25
"""Most ring elements (a + b + c, or r and its two derived values) dealt for one request."""


class DealerTriples:
    """A share holder's triple source backed by a dealer reached over `dealer`."""

    def __init__(self, dealer: Channel) -> None:
        self._dealer = dealer
        self._count = 0
        self._closed = False

    def _request(
        self, session: Session, request: tuple[object, ...], shapes: Sequence[tuple[int, ...]]
    ) -> list[RingArray]:
        if self._closed:
            raise InvalidInputError("the dealer of this session has been stopped")
        step = self._dealer.sub(f"t{self._count}")
        self._count += 1
        if session.index == 0:
            step.put("request", request)
        what = f"dealer reply {self._count - 1}"
        derived = _derived_count(str(request[0]))
        last = session.index == session.n_parties - 1
        reply = expect_tuple(step.get("dealt"), 1 + derived if last else 1, what)
        seed = expect_bytes(reply[0], f"{what} seed", SEED_BYTES)
        parts = _expand(seed, shapes)
        if last:
            for k in range(1, derived + 1):
                index = len(shapes) - derived + k - 1
                parts[index] = expect_ring(reply[k], shapes[index], f"{what} correction {k}")
        return parts

    def beaver(self, session: Session, scope: str, shape: tuple[int, ...]) -> BeaverTriple:
        """Shares of a fresh element-wise triple from the dealer."""
        del scope
        a, b, c = self._request(session, ("beaver", list(shape)), [shape] * 3)
        return BeaverTriple(a, b, c)

    def matrix(
        self, session: Session, scope: str, rows: int, inner: int, cols: int
    ) -> MatrixTriple:
        """Shares of a fresh matrix triple from the dealer."""
        del scope
        shapes = [(rows, inner), (inner, cols), (rows, cols)]
        a, b, c = self._request(session, ("matrix", [rows, inner, cols]), shapes)
        return MatrixTriple(a, b, c)

    def truncation(
        self, session: Session, scope: str, shape: tuple[int, ...], frac_bits: int
    ) -> TruncationPair:
        """Shares of a fresh truncation pair from the dealer."""
        del scope
        request = ("truncation", list(shape), frac_bits)
        r, shifted, top = self._request(session, request, [shape] * 3)
        return TruncationPair(r, shifted, top, frac_bits)

    def close(self, session: Session) -> None:
        """Party 0 tells the dealer to stop; every party marks the source closed."""
        if self._closed:
            return
        self._closed = True
        if session.index == 0:
            self._dealer.sub(f"t{self._count}").put("request", ("stop",))


def serve_triples(parties: Sequence[Channel]) -> int:
    """Dealer side: answer party 0's requests until it says stop; returns requests served.

    `parties[i]` is the channel to share holder i (the same namespace as their DealerTriples).
    """
    if len(parties) < 2:
        raise InvalidInputError(f"a dealer serves at least 2 parties, got {len(parties)}")
    count = 0
    while True:
        steps = [party.sub(f"t{count}") for party in parties]
        request = _parse_request(steps[0].get("request"), count)
        if request is None:
            return count
        for step, dealt in zip(steps, _deal(request, len(parties)), strict=True):
            step.put("dealt", dealt)
        count += 1


def _parse_request(raw: object, count: int) -> tuple[str, list[int], int] | None:
    what = f"dealer request {count}"
    if not isinstance(raw, tuple | list) or not raw or not isinstance(raw[0], str):
        raise ProtocolError(f"{what}: expected a (kind, ...) tuple, got {type(raw).__name__}")
    kind = raw[0]
    if kind == "stop" and len(raw) == 1:
        return None
    if kind in ("beaver", "matrix"):
        _, dims = expect_tuple(raw, 2, what)
        frac_bits = 0
    elif kind == "truncation":
        _, dims, frac = expect_tuple(raw, 3, what)
        frac_bits = expect_int(frac, f"{what} fractional bits", 1, 63)
    else:
        raise ProtocolError(f"{what}: unknown kind {kind!r:.40}")
    shape = expect_list(dims, int, f"{what} shape")
    if any(d < 0 for d in shape) or (kind == "matrix" and len(shape) != 3):
        raise ProtocolError(f"{what}: bad dimensions {shape}")
    elements = _dealt_elements(kind, shape)
    if elements > MAX_DEALT_ELEMENTS:
        raise ProtocolError(f"{what}: {elements} elements exceed {MAX_DEALT_ELEMENTS}")
    return kind, shape, frac_bits


def _dealt_elements(kind: str, shape: list[int]) -> int:
    if kind == "matrix":
        rows, inner, cols = shape
        return rows * inner + inner * cols + rows * cols
    return 3 * math.prod(shape)


def _derived_count(kind: str) -> int:
    """How many of a request's values are derived from the others (sent to the last party)."""
    return 2 if kind == "truncation" else 1


def _ring_sum(arrays: Iterable[RingArray]) -> RingArray:
    iterator = iter(arrays)
    total = np.array(next(iterator), dtype=np.uint64, copy=True)
    for array in iterator:
        total += array
    return total


def _expand(seed: bytes, shapes: Sequence[tuple[int, ...]]) -> list[RingArray]:
    return [expand_uint64(seed, f"dealt-{i}", shape) for i, shape in enumerate(shapes)]


def _shapes(kind: str, shape: list[int]) -> list[tuple[int, ...]]:
    if kind == "matrix":
        rows, inner, cols = shape
        return [(rows, inner), (inner, cols), (rows, cols)]
    return [tuple(shape)] * 3


def _deal(request: tuple[str, list[int], int], n_parties: int) -> list[tuple[object, ...]]:
    """Seeds for every party and the last party's correcting shares of the derived values."""
    kind, shape, frac_bits = request
    shapes = _shapes(kind, shape)
    seeds = [random_seed() for _ in range(n_parties)]
    expanded = [_expand(seed, shapes) for seed in seeds]
    totals = [_ring_sum(parts[k] for parts in expanded) for k in range(len(shapes))]
    if kind == "beaver":
        targets = [totals[0] * totals[1]]
    elif kind == "matrix":
        targets = [ring_matmul(totals[0], totals[1])]
    else:
        targets = list(truncation_pair_values(totals[0], frac_bits)[1:])
    first = len(shapes) - len(targets)
    corrections = tuple(
        np.asarray(target - _ring_sum(p[first + k] for p in expanded[:-1]), dtype=np.uint64)
        for k, target in enumerate(targets)
    )
    return [(seed,) for seed in seeds[:-1]] + [(seeds[-1], *corrections)]
