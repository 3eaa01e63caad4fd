"""One party's view of a secret-sharing computation: peers, index, encoding and triple source."""

# Every party runs the same program (SPMD): it calls the same session operations in the same
# order, so the per-operation scope names ("mul7", "ltz8", ...) drawn from a counter agree on
# all parties without any coordination, and each message tag is used exactly once.

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Protocol

import numpy as np
import numpy.typing as npt

from chaihuo.crypto.gc import Circuit
from chaihuo.crypto.sharing import (
    BeaverTriple,
    FixedPointEncoding,
    MatrixTriple,
    RingArray,
    Shareholder,
    TruncationPair,
    encode_int64,
    share,
)
from chaihuo.mpc._channel import Channel
from chaihuo.mpc._checks import expect_ring, expect_tuple
from chaihuo.mpc._errors import InvalidInputError, local_input

if TYPE_CHECKING:
    from chaihuo.mpc._shared import SharedTensor

__all__ = ["Session", "TripleSource"]


class TripleSource(Protocol):
    """Where a session's correlated randomness comes from (a dealer, or Paillier for 2 parties).

    Every party calls the same method with the same arguments in the same order; `scope` is a
    fresh per-operation name the source may use for its own messages between the parties.
    """

    def beaver(self, session: Session, scope: str, shape: tuple[int, ...]) -> BeaverTriple:
        """This party's shares of a fresh element-wise triple c = a·b of `shape`."""

    def matrix(
        self, session: Session, scope: str, rows: int, inner: int, cols: int
    ) -> MatrixTriple:
        """This party's shares of a fresh matrix triple C = A@B, A (rows×inner), B (inner×cols)."""

    def truncation(
        self, session: Session, scope: str, shape: tuple[int, ...], frac_bits: int
    ) -> TruncationPair:
        """This party's shares of a truncation pair (needed by three or more parties only)."""

    def close(self, session: Session) -> None:
        """Release the source (a dealer is told to stop)."""


class Session:
    """One party's handle on an n-party additive sharing over Z_2^64.

    `peers` maps every other party's index (0..n-1) to a `Channel` to it. Party 0 is the leader
    (adds public constants). `triples` is needed for multiplication of two shared values and,
    with three or more parties, for truncation; `encoding` fixes the fixed-point precision f
    for the whole computation. Use it as a context manager so a dealer is stopped at the end.

    Operation tags are numbered from 1 in each session, so give every session its own
    namespace (`channel.sub(...)`) on every peer channel and on the dealer channel.
    """

    def __init__(
        self,
        index: int,
        peers: Mapping[int, Channel],
        *,
        triples: TripleSource | None = None,
        encoding: FixedPointEncoding | None = None,
    ) -> None:
        n_parties = len(peers) + 1
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < n_parties:
            raise InvalidInputError(
                f"party index must be an int in [0, {n_parties}), got {index!r}"
            )
        expected = set(range(n_parties)) - {index}
        if set(peers) != expected:
            raise InvalidInputError(
                f"peers must be keyed by {sorted(expected)}, got {sorted(peers)}"
            )
        for peer, channel in peers.items():
            if not isinstance(channel, Channel):
                raise InvalidInputError(f"peer {peer} is not a Channel (put/get/sub)")
        self._peers = dict(peers)
        self.holder = Shareholder(index, n_parties)
        self.encoding = encoding or FixedPointEncoding()
        self._triples = triples
        self._counter = 0
        self.circuits: dict[int, Circuit] = {}
        """Garbled-circuit layouts built by this session, by lane count (built once each)."""

    # -- identity and plumbing -----------------------------------------------------------

    @property
    def index(self) -> int:
        """This party's index 0..n-1."""
        return self.holder.index

    @property
    def n_parties(self) -> int:
        """Number of share holders."""
        return self.holder.n_parties

    @property
    def frac_bits(self) -> int:
        """Fractional bits f of this computation's fixed-point values."""
        return self.encoding.frac_bits

    def peer(self, index: int) -> Channel:
        """The channel to party `index`."""
        return self._peers[index]

    def scope(self, kind: str) -> str:
        """A fresh operation name, identical on every party (see the module comment)."""
        self._counter += 1
        return f"{kind}{self._counter}"

    @property
    def triples(self) -> TripleSource:
        """The triple source; raises if the session was created without one."""
        if self._triples is None:
            raise InvalidInputError("this operation needs a triple source (dealer or Paillier)")
        return self._triples

    def close(self) -> None:
        """Stop the triple source (tells a dealer to finish); call once, on every party."""
        if self._triples is not None:
            self._triples.close(self)

    def __enter__(self) -> Session:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if kind is None:
            self.close()

    # -- openings ------------------------------------------------------------------------

    def open_many(self, scope: str, values: Sequence[RingArray]) -> list[RingArray]:
        """Open several sharings in one round: all-to-all exchange of shares, summed."""
        payload = tuple(values)
        for channel in self._peers.values():
            channel.sub(scope).put("open", payload)
        totals = [np.array(value, dtype=np.uint64, copy=True) for value in payload]
        for peer, channel in self._peers.items():
            parts = expect_tuple(channel.sub(scope).get("open"), len(payload), f"open {scope}")
            for total, part in zip(totals, parts, strict=True):
                np.add(total, expect_ring(part, total.shape, f"share of {peer}"), out=total)
        return totals

    def open_to(self, scope: str, value: RingArray, target: int) -> RingArray | None:
        """Open one sharing to party `target` only; the others get None."""
        if self.index != target:
            self._peers[target].sub(scope).put("reveal", value)
            return None
        total = np.array(value, dtype=np.uint64, copy=True)
        for peer, channel in self._peers.items():
            part = channel.sub(scope).get("reveal")
            total += expect_ring(part, total.shape, f"share of party {peer} in {scope}")
        return total

    # -- entering values -----------------------------------------------------------------

    def input(
        self,
        owner: int,
        value: npt.ArrayLike | None = None,
        *,
        integer: bool = False,
        shape: Sequence[int] | None = None,
    ) -> SharedTensor:
        """Secret-share `owner`'s value: the owner passes `value`, everyone else None.

        Reals are encoded with f fractional bits; `integer=True` embeds integers exactly (all
        parties must pass the same flag). The owner sends each other party one uniform share.
        `shape`, if given, is checked against what arrives.
        """
        from chaihuo.mpc._shared import SharedTensor  # noqa: PLC0415 - _shared imports this

        self.check_party(owner, "owner")
        scope = self.scope("input")
        frac = 0 if integer else self.frac_bits
        if self.index == owner:
            if value is None:
                raise InvalidInputError("the owner must pass the value it shares")
            with local_input("shared value"):
                ring = encode_int64(value) if integer else self.encoding.encode(value)
            parts = share(np.asarray(ring, dtype=np.uint64), self.n_parties)
            for peer, channel in self._peers.items():
                channel.sub(scope).put("share", parts[peer])
            mine = parts[owner]
        else:
            if value is not None:
                raise InvalidInputError(f"only the owner (party {owner}) passes a value")
            raw = self._peers[owner].sub(scope).get("share")
            mine = expect_ring(raw, shape, f"share from party {owner}").copy()
        return SharedTensor(self, mine, frac)

    def from_share(self, share_: npt.ArrayLike, *, integer: bool = False) -> SharedTensor:
        """Wrap a share this party already holds (from another protocol) as a SharedTensor."""
        from chaihuo.mpc._shared import SharedTensor  # noqa: PLC0415 - _shared imports this

        array = np.asarray(share_)
        if array.dtype != np.uint64:
            raise InvalidInputError(f"a share is a uint64 array, got {array.dtype}")
        return SharedTensor(self, array.copy(), 0 if integer else self.frac_bits)

    def check_party(self, party: int, what: str) -> None:
        """Raise InvalidInputError unless `party` is an index of this session."""
        if isinstance(party, bool) or not isinstance(party, int):
            raise InvalidInputError(f"{what} must be a party index, got {party!r}")
        if not 0 <= party < self.n_parties:
            raise InvalidInputError(f"{what} {party} out of range for {self.n_parties} parties")
