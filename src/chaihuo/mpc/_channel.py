"""What an MPC protocol needs from the runtime: a namespaced, blocking channel to each peer."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

__all__ = ["Channel"]


@runtime_checkable
class Channel(Protocol):
    """A two-way channel to one peer, scoped to a namespace shared by both ends.

    `put(name, obj)` sends `obj` under tag <namespace>.<name>; `get(name)` blocks until the
    peer's object with that tag arrives. Sending one name twice in one namespace is an error,
    so protocols open a child scope with `sub(name)` per step or round. Objects must be
    encodable by `chaihuo.serde`. The runtime's peer handles (`ctx.guest`, `ctx.hosts[i]`, …)
    implement this protocol; tests may use any object with these three methods.
    """

    def put(self, name: str, obj: object) -> None:
        """Send `obj` to the peer under `name` in this namespace."""

    def get(self, name: str) -> object:
        """Receive the peer's object sent under `name` in this namespace."""

    def sub(self, name: str) -> Channel:
        """The same peer, one namespace level deeper."""
