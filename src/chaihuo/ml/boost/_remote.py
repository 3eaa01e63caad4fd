"""Both ends of one tree's per-depth exchange: the guest's view of a host, and the host's side."""

# Per tree the guest sends each host [[m_i]] (m_i = g_i·2^(HB+CB) + h_i·2^CB + 1, fresh
# encryptions under the guest's key). Per depth:
#   guest → host  LevelRequest   each row's node, the nodes to split, the nodes just split
#   host → guest  HostSums       for every node asked for and every candidate (by split
#                                id): [[Σ m_i]] over the node's rows left of the
#                                cut, packed many per ciphertext and re-randomised
#   guest → host  Chosen         the nodes this host's splits won, and which split ids
#   host → guest  Directions     for those nodes, which rows go left
# The host builds a node's encrypted histogram (one ciphertext product per row and column)
# only for the smaller child of each split node; the larger is the parent's divided by it.

from __future__ import annotations

import itertools
from collections.abc import Callable

import gmpy2
import numpy as np
import numpy.typing as npt
from gmpy2 import mpz

from chaihuo.crypto.paillier import (
    EncryptedVector,
    PaillierKeyPair,
    PaillierPool,
    PaillierPublicKey,
)
from chaihuo.federation import ProtocolViolationError
from chaihuo.ml.boost._bins import Bins, ColumnSampler, goes_left
from chaihuo.ml.boost._grow import Level
from chaihuo.ml.boost._messages import (
    Chosen,
    Directions,
    Gradients,
    HostSums,
    LevelRequest,
)
from chaihuo.ml.boost._params import BoostParams
from chaihuo.ml.boost._split import Split, best_split
from chaihuo.ml.vertical import he
from chaihuo.runtime import Peer

__all__ = ["HISTOGRAM_POOL_FROM", "PACK_POOL_FROM", "HostSource", "HostTrees", "histogram_block"]

PACK_POOL_FROM = 100_000
"""Squarings of one depth's packing from which the host spreads it over its crypto workers."""
HISTOGRAM_POOL_FROM = 400_000
"""Cells (rows × columns) of one histogram from which the host builds it over its workers."""

Ints = npt.NDArray[np.int64]
Mask = npt.NDArray[np.bool_]
Histogram = list[list[mpz]]


class HostSource:
    """The guest's view of one host: candidates arrive encrypted, split ids only."""

    def __init__(
        self, owner: int, peer: Peer, keys: PaillierKeyPair, candidates: int,
        pool: PaillierPool | None,
    ) -> None:  # fmt: skip
        self.owner = owner
        self.peer = peer
        self.keys = keys
        self.candidates = candidates
        self.pool = pool
        self._channel = peer
        self._next_depth = 0
        self._derived: dict[int, tuple[int, int]] = {}
        self._previous: dict[int, tuple[Ints, Ints, Ints]] = {}

    def start_tree(self, tree: int, gradients: Gradients) -> None:
        """Send this tree's encrypted gradients."""
        self._channel = self.peer.sub(f"tree{tree}")
        self._channel.put("gradients", gradients.to_wire())
        self._next_depth = 0

    def request(self, level: Level) -> None:
        """Send the level, naming the nodes whose sums the host must send."""
        self._derived = _derived(level)
        send = [n for n in level.active if n not in self._derived]
        lists = (level.active, level.parents, send)
        message = LevelRequest(level.positions, *(np.array(v, dtype=np.int64) for v in lists))
        self._channel.put(f"level{level.depth}", message.to_wire())
        self._next_depth = level.depth + 1

    def answer(self, level: Level, params: BoostParams) -> dict[int, Split]:
        """Decrypt the host's sums (deriving the larger siblings), pick its best split ids."""
        received = HostSums.from_wire(self._channel.get(f"sums{level.depth}"))
        send = [n for n in level.active if n not in self._derived]
        opened = he.open_packed(
            received.packed, self.keys.private_key, len(send) * self.candidates,
            level.coding.slot_bits, 0, self.pool, f"host {self.owner} candidate sums",
        )  # fmt: skip
        grad, hess, rows = level.coding.unpack(opened)
        sums: dict[int, tuple[Ints, Ints, Ints]] = {}
        for i, node in enumerate(send):
            part = slice(i * self.candidates, (i + 1) * self.candidates)
            sums[node] = (grad[part], hess[part], rows[part])
        for node, (parent, sibling) in self._derived.items():
            above, beside = self._previous[parent], sums[sibling]
            sums[node] = (above[0] - beside[0], above[1] - beside[1], above[2] - beside[2])
        self._previous = sums
        scale = 2.0**-level.coding.precision
        best: dict[int, Split] = {}
        for node in level.active:
            split = best_split(level.sums[node], *sums[node], level.coding.offset, scale, params)
            if split is not None:
                best[node] = split
        return best

    def choose(self, level: Level, chosen: dict[int, int]) -> None:
        """Tell the host which of its split ids won which nodes."""
        nodes = sorted(chosen)
        message = Chosen(
            np.array(nodes, dtype=np.int64), np.array([chosen[n] for n in nodes], dtype=np.int64)
        )
        self._channel.put(f"chosen{level.depth}", message.to_wire())

    def directions(self, level: Level, chosen: dict[int, int]) -> dict[int, Mask]:
        """The host's left/right bits for the rows of each node it won."""
        nodes = sorted(chosen)
        sizes = [len(level.members[n]) for n in nodes]
        bits = Directions.from_wire(self._channel.get(f"directions{level.depth}"), sum(sizes))
        bounds = np.cumsum([0, *sizes])
        return {n: bits.bits[bounds[i] : bounds[i + 1]] for i, n in enumerate(nodes)}

    def close_tree(self) -> None:
        """An empty level: the host's tree loop ends."""
        empty = np.zeros(0, dtype=np.int64)
        done = LevelRequest(empty, empty, empty, empty)
        self._channel.put(f"level{self._next_depth}", done.to_wire())


def _derived(level: Level) -> dict[int, tuple[int, int]]:
    """Active nodes whose sums the guest derives as parent − sibling: the larger child of each
    node split at the previous depth when both children are active (ties: the right one)."""
    out = {}
    active = set(level.active)
    for parent in level.parents:
        left, right = 2 * parent + 1, 2 * parent + 2
        if left in active and right in active:
            if level.sums[left].count <= level.sums[right].count:
                out[right] = (parent, left)
            else:
                out[left] = (parent, right)
    return out


def histogram_block(
    nsq: mpz, counts: list[int], binned: npt.NDArray[np.int32], ciphertexts: list[mpz]
) -> Histogram:
    """Per column, per bin: the product of the ciphertexts of the rows in that bin (worker
    task: module-level, picklable)."""
    histogram = []
    for j, count in enumerate(counts):
        bins = [mpz(1)] * count
        for c, b in zip(ciphertexts, binned[:, j].tolist(), strict=True):
            bins[b] = bins[b] * c % nsq
        histogram.append(bins)
    return histogram


class HostTrees:
    """The host's side of every tree: encrypted histograms, its split table."""

    def __init__(
        self, peer: Peer, key: PaillierPublicKey, bins: Bins, max_depth: int,
        pool: Callable[[], PaillierPool], *, sampler: ColumnSampler | None = None,
    ) -> None:  # fmt: skip
        self.sampler = sampler
        self.peer = peer
        self.key = key
        self.bins = bins
        self.max_depth = max_depth
        self.pool = pool
        self.split_ids = bins.candidates
        """split id → (column, bin), column by column: the guest sees only the id. Ties
        between candidates (equal sums: the same rows, or on the first tree the same label
        counts) go to the lowest id, as in the reference, so both keep the same threshold."""
        self.nodes: dict[tuple[int, int], tuple[int, float, bool]] = {}

    @property
    def rows(self) -> int:
        """Training rows."""
        return int(self.bins.binned.shape[0])

    def tree(self, index: int) -> None:
        """Serve one tree from its gradients to its last level."""
        channel = self.peer.sub(f"tree{index}")
        gradients = Gradients.from_wire(channel.get("gradients"), self.key, self.rows)
        ciphertexts = gradients.values.values
        previous: dict[int, Histogram] = {}
        for depth in range(self.max_depth + 1):
            level = LevelRequest.from_wire(
                channel.get(f"level{depth}"), self.rows, 2 ** (self.max_depth + 1) - 1
            )
            if not len(level.active):
                return  # the tree is complete
            members = {int(k): np.flatnonzero(level.positions == k) for k in level.active}
            histograms = self._histograms(level, members, previous, ciphertexts)
            sums = self._sums(level, histograms, gradients.slot_bits, index)
            channel.put(f"sums{depth}", sums)
            chosen = Chosen.from_wire(
                channel.get(f"chosen{depth}"), level.active, len(self.split_ids)
            )
            bits = []
            for node, split in zip(chosen.nodes.tolist(), chosen.splits.tolist(), strict=True):
                candidate = self.split_ids[split]
                column = candidate.column
                threshold = self.bins.threshold(candidate)
                self.nodes[(index, node)] = (column, threshold, candidate.missing_left)
                missing_bin = len(self.bins.cuts[column]) + 1
                bits.append(goes_left(self.bins.binned[members[node], column], candidate,
                                      missing_bin))  # fmt: skip
            mask = np.concatenate(bits) if bits else np.zeros(0, dtype=bool)
            channel.put(f"directions{depth}", Directions(mask).to_wire())
            previous = histograms
        raise ProtocolViolationError(f"tree {index}: the guest went past depth {self.max_depth}")

    def _histograms(
        self, level: LevelRequest, members: dict[int, Ints], previous: dict[int, Histogram],
        ciphertexts: list[mpz],
    ) -> dict[int, Histogram]:  # fmt: skip
        """Every active node's histogram: the smaller sibling built, the larger derived."""
        nsq = self.key.nsquare
        out: dict[int, Histogram] = {}
        for parent in level.parents.tolist():
            left, right = 2 * parent + 1, 2 * parent + 2
            if left not in members or right not in members or parent not in previous:
                continue
            small, large = sorted((left, right), key=lambda k: len(members[k]))
            out[small] = self._build(members[small], ciphertexts)
            out[large] = [
                [p * gmpy2.invert(s, nsq) % nsq for p, s in zip(pc, sc, strict=True)]
                for pc, sc in zip(previous[parent], out[small], strict=True)
            ]
        for node, rows in members.items():
            if node not in out:
                out[node] = self._build(rows, ciphertexts)
        return out

    def _build(self, rows: Ints, ciphertexts: list[mpz]) -> Histogram:
        """One product of ciphertexts per column and bin over `rows`: in this process, or
        from HISTOGRAM_POOL_FROM cells on over the crypto workers, each taking a block of
        rows (only those rows' ciphertexts travel) and the blocks' histograms multiplied."""
        nsq, counts = self.key.nsquare, self.bins.counts
        binned = self.bins.binned[rows]
        chosen = [ciphertexts[r] for r in rows.tolist()]
        if len(rows) * len(counts) < HISTOGRAM_POOL_FROM:
            return histogram_block(nsq, counts, binned, chosen)
        pool = self.pool()
        bounds = np.linspace(0, len(rows), pool.workers + 1).astype(int).tolist()
        futures = [
            pool.executor.submit(histogram_block, nsq, counts, binned[lo:hi], chosen[lo:hi])
            for lo, hi in itertools.pairwise(bounds)
            if hi > lo
        ]
        partials = [future.result() for future in futures]
        out = partials[0]
        for partial in partials[1:]:
            out = [
                [a * b % nsq for a, b in zip(mine, theirs, strict=True)]
                for mine, theirs in zip(out, partial, strict=True)
            ]
        return out

    def _sums(
        self, level: LevelRequest, histograms: dict[int, Histogram], slot_bits: int, tree: int
    ) -> dict[str, object]:
        """Left-of-cut sums of every candidate of each node the guest asked for, packed; a
        candidate of a column this tree does not draw is an encryption of 0 (count 0: the
        guest cannot choose it, and learns only that it is invalid)."""
        nsq = self.key.nsquare
        drawn = self.sampler.candidates(tree).tolist() if self.sampler is not None else None
        values: list[mpz] = []
        for node in level.send.tolist():
            sums = self.bins.left_values(histograms[node], lambda a, b: a * b % nsq, mpz(1))
            if drawn is not None:
                sums = [v if keep else mpz(1) for v, keep in zip(sums, drawn, strict=True)]
            values.extend(sums)
        vector = EncryptedVector(self.key, values, exponent=0, bound_bits=slot_bits, codec=he.CODEC)
        work = len(values) * slot_bits  # squarings of the packing, spread when they pay
        pool = self.pool() if work >= PACK_POOL_FROM else None
        packed, _ = he.mask_pack(vector, slot_bits, 0, pool)
        return HostSums(packed).to_wire()
