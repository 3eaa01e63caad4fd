"""Context: one party's view of one job — peers by role, namespaced tags, computing, crypto."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from chaihuo.core import InvalidInputError, Role
from chaihuo.federation import Federation, Party, Roster, UnknownPartyError
from chaihuo.runtime._cipher import CipherSuite
from chaihuo.runtime._metrics import MetricsSink
from chaihuo.runtime._tables import get_table, put_table

__all__ = ["Context", "Peer", "PeerGroup"]

_NAME = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")


def _check_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidInputError(
            "tag names are 1-64 letters, digits, '_' or '-' (the dot separates levels)",
            name=name,
        )
    return name


class Peer:
    """A channel to one other party in the namespace of the context that made it."""

    def __init__(self, ctx: Context, party: Party) -> None:
        self._ctx, self.party = ctx, party

    def put(self, name: str, obj: object) -> None:
        """Send `obj` under <namespace>.<name>."""
        self._ctx.federation.remote(obj, self._ctx.tag(name), [self.party])

    def get(self, name: str, timeout: float | None = None) -> object:
        """Receive the object this peer sent under <namespace>.<name> (`timeout` in seconds)."""
        return self._ctx.federation.get(self._ctx.tag(name), [self.party], timeout)[0]

    def sub(self, name: str) -> Peer:
        """The same peer one namespace level deeper."""
        return Peer(self._ctx.sub(name), self.party)

    def put_table(self, name: str, table: Any) -> None:
        """Send a computing table, one message per partition."""
        put_table(self, name, table)

    def get_table(self, name: str) -> Any:
        """Receive a table the peer sent with `put_table`, into this party's backend."""
        return get_table(self, name, self._ctx.computing)

    def __repr__(self) -> str:
        return f"Peer({self.party}, ns={self._ctx.namespace!r})"


class PeerGroup:
    """All parties of one role: `put` sends to every one, `get` returns their objects in order."""

    def __init__(self, ctx: Context, parties: Sequence[Party]) -> None:
        self._ctx, self.parties = ctx, list(parties)

    def put(self, name: str, obj: object) -> None:
        """Send the same `obj` to every party of the group."""
        if self.parties:
            self._ctx.federation.remote(obj, self._ctx.tag(name), self.parties)

    def get(self, name: str) -> list[object]:
        """One object from each party of the group, in roster order."""
        if not self.parties:
            return []
        return self._ctx.federation.get(self._ctx.tag(name), self.parties)

    def sub(self, name: str) -> PeerGroup:
        """The same parties one namespace level deeper."""
        return PeerGroup(self._ctx.sub(name), self.parties)

    def __getitem__(self, index: int) -> Peer:
        return Peer(self._ctx, self.parties[index])

    def __len__(self) -> int:
        return len(self.parties)

    def __iter__(self) -> Iterator[Peer]:
        return (Peer(self._ctx, party) for party in self.parties)


class Context:
    """What an algorithm sees (docs/architecture.md §4). Cheap to copy: `sub`/`indexed` share
    everything but the namespace, which prefixes every tag identically on every party."""

    def __init__(
        self,
        *,
        local: Party,
        roster: Roster,
        federation: Federation,
        computing: Any,
        cipher: CipherSuite,
        metrics: MetricsSink,
        namespace: tuple[str, ...] = (),
        base_dir: Path | None = None,
    ) -> None:
        if local not in roster:
            raise UnknownPartyError(f"{local} is not in this job's roster")
        self.local, self.roster, self.federation = local, roster, federation
        self.computing, self.cipher, self.metrics_sink = computing, cipher, metrics
        self.namespace = namespace
        self.base_dir = base_dir or Path.cwd()
        """Relative data paths in component parameters resolve against this directory."""

    @property
    def job_id(self) -> str:
        """The job this context belongs to."""
        return self.federation.job_id

    @property
    def role(self) -> Role:
        """The role this context plays."""
        return self.local.role

    def tag(self, name: str) -> str:
        """Full message tag for `name` in this namespace."""
        return ".".join((*self.namespace, _check_name(name)))

    def sub(self, name: str) -> Context:
        """A child context one namespace level deeper."""
        return self._with_namespace((*self.namespace, _check_name(name)))

    def indexed(self, index: int) -> Context:
        """A child context for iteration `index` (e.g. an epoch)."""
        if isinstance(index, bool) or not isinstance(index, int) or index < 0:
            raise InvalidInputError("context index must be a non-negative integer", index=index)
        return self._with_namespace((*self.namespace, str(index)))

    def _with_namespace(self, namespace: tuple[str, ...]) -> Context:
        return Context(
            local=self.local,
            roster=self.roster,
            federation=self.federation,
            computing=self.computing,
            cipher=self.cipher,
            metrics=self.metrics_sink,
            namespace=namespace,
            base_dir=self.base_dir,
        )

    def __enter__(self) -> Context:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def resolve(self, path: str | Path) -> Path:
        """A parameter path made absolute against `base_dir`."""
        candidate = Path(path).expanduser()
        return candidate if candidate.is_absolute() else self.base_dir / candidate

    def peers(self, role: Role) -> PeerGroup:
        """Every party of `role` except this one."""
        return PeerGroup(self, [p for p in self.roster.members(role) if p != self.local])

    def _single(self, role: Role) -> Peer:
        members = self.roster.members(role)
        if not members:
            raise UnknownPartyError(f"this job has no {role.value}")
        return Peer(self, members[0])

    @property
    def guest(self) -> Peer:
        """The guest (holds labels)."""
        return self._single(Role.GUEST)

    @property
    def arbiter(self) -> Peer:
        """The arbiter (holds keys / aggregates)."""
        return self._single(Role.ARBITER)

    @property
    def hosts(self) -> PeerGroup:
        """Every host, in roster order (excluding this party if it is a host)."""
        return self.peers(Role.HOST)

    @property
    def metrics(self) -> _BoundMetrics:
        """`ctx.metrics.log(name, value, step=i)`, recorded under this namespace."""
        return _BoundMetrics(self.metrics_sink, ".".join(self.namespace))

    def progress(self, stage: str, done: int, total: int | None) -> None:
        """Report `done` of `total` items of `stage` under this namespace (throttled; the
        final report, done == total, always goes through): see `MetricsSink.progress`."""
        self.metrics_sink.progress(".".join(self.namespace), stage, done, total)


class _BoundMetrics:
    def __init__(self, sink: MetricsSink, namespace: str) -> None:
        self._sink, self._namespace = sink, namespace

    def log(self, name: str, value: float, step: int | None = None) -> None:
        """Record a metric value for this context's namespace."""
        self._sink.log(self._namespace, name, value, step)
