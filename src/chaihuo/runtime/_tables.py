"""Tables across parties: a table goes partition by partition, rebuilt in the receiver's backend."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chaihuo.federation import ProtocolViolationError
from chaihuo.serde import TableMeta

if TYPE_CHECKING:
    from chaihuo.runtime._context import Peer

__all__ = ["get_table", "put_table"]

# Each message carries one whole partition (a list of (key, value) pairs, both encodable by
# chaihuo.serde); the federation streams large messages in chunks, so partitions of any size
# pass. The metadata message comes first and fixes the partition count.


def put_table(peer: Peer, name: str, table: Any) -> None:
    """Send `table` to `peer` under `name`: metadata, then each partition in index order."""
    scope = peer.sub(name)
    partitions = sorted(table.glom().collect(), key=lambda item: item[0])
    count = sum(len(pairs) for _, pairs in partitions)
    scope.put("meta", TableMeta("remote", name, table.partitions, count, {}))
    for index, pairs in partitions:
        scope.put(f"part-{index}", [(key, value) for key, value in pairs])


def get_table(peer: Peer, name: str, computing: Any) -> Any:
    """Receive a table sent with `put_table` into this party's computing backend."""
    scope = peer.sub(name)
    meta = scope.get("meta")
    if not isinstance(meta, TableMeta):
        raise ProtocolViolationError(f"table {name!r}: expected table metadata first")
    items: list[tuple[Any, Any]] = []
    for index in range(meta.partitions):
        part = scope.get(f"part-{index}")
        if not isinstance(part, list) or not all(
            isinstance(pair, tuple) and len(pair) == 2 for pair in part
        ):
            raise ProtocolViolationError(f"table {name!r}: partition {index} is not a pair list")
        items.extend(part)
    if len(items) != meta.count:
        raise ProtocolViolationError(
            f"table {name!r}: {len(items)} entries received, metadata announced {meta.count}"
        )
    return computing.parallelize(items, partitions=meta.partitions, include_key=True)
