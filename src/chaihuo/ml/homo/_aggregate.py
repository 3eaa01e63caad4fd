"""One aggregation of a round: the clients' vectors summed, securely by default."""

# Secure: chaihuo.mpc's dropout-tolerant secure aggregation (the server learns the sum over
# the clients that stayed, nothing else). In the clear (`secure_aggregation: false`, for
# comparison and trusted servers): each client sends its vector and the server adds them.
# Either way the round goes on without the clients that miss the deadline, as long as at
# least t of them answer, t = n − ⌊n · dropout⌋ (and more than half): the same rule, so the
# two modes fail alike.

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from chaihuo.crypto.sharing import FixedPointEncoding
from chaihuo.federation import ProtocolViolationError
from chaihuo.mpc import (
    TooFewClientsError,
    gather_replies,
    secagg_client,
    secagg_server,
    secagg_threshold,
)
from chaihuo.runtime import Peer

__all__ = ["Aggregation", "aggregate", "contribute"]

_REALS = FixedPointEncoding()


@dataclass(frozen=True)
class Aggregation:
    """How one round's vectors are summed: securely or not, dropout tolerance, deadline."""

    secure: bool
    dropout: float
    deadline_s: float
    domain: bytes
    integers: bool = False

    @property
    def encoding(self) -> FixedPointEncoding | None:
        """Fixed point with 16 fractional bits for reals; exact int64 for counts."""
        return None if self.integers else _REALS


def contribute(server: Peer, vector: npt.NDArray[Any], how: Aggregation) -> None:
    """A client's part: send `vector` to be summed."""
    if how.secure:
        secagg_client(server, vector, domain=how.domain, encoding=how.encoding)
    else:
        dtype = np.int64 if how.integers else np.float64
        server.put("update", np.asarray(vector, dtype=dtype))


def aggregate(
    clients: list[Peer], size: int, how: Aggregation
) -> tuple[npt.NDArray[Any], list[int]]:
    """The server's part: the sum of the vectors and the indices of the clients in it."""
    threshold = secagg_threshold(len(clients), how.dropout)
    if how.secure:
        result = secagg_server(
            clients, domain=how.domain, shape=(size,), threshold=threshold,
            deadline_s=how.deadline_s, encoding=how.encoding,
        )  # fmt: skip
        return np.asarray(result.total), list(result.survivors)
    dtype = np.dtype(np.int64 if how.integers else np.float64)

    def check(raw: object, index: int) -> npt.NDArray[Any]:
        if not isinstance(raw, np.ndarray) or raw.dtype != dtype or raw.shape != (size,):
            raise ProtocolViolationError(f"client {index} sent a malformed update")
        if dtype.kind == "f" and not np.all(np.isfinite(raw)):
            raise ProtocolViolationError(f"client {index} sent a non-finite update")
        return raw

    replies = gather_replies(clients, range(len(clients)), "update", how.deadline_s, check)
    if len(replies) < threshold:
        raise TooFewClientsError(
            f"{len(replies)} of {len(clients)} clients sent their update within "
            f"{how.deadline_s:g} s, fewer than the {threshold} the round needs"
        )
    total = np.asarray(np.sum(list(replies.values()), axis=0, dtype=dtype))
    return total, sorted(replies)
