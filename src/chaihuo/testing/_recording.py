"""A pass-through federation that reports every object its party receives (privacy tests)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from chaihuo.federation import Federation, Party
from chaihuo.runtime import Context

__all__ = ["RecordingFederation", "recording_context"]

OnReceive = Callable[[str, Party, object], None]


class RecordingFederation(Federation):
    """Sends and receives through `inner`; calls `on_receive(tag, sender, obj)` per object."""

    def __init__(self, inner: Federation, on_receive: OnReceive) -> None:
        self.inner, self.on_receive = inner, on_receive

    @property
    def job_id(self) -> str:
        return self.inner.job_id

    @property
    def local(self) -> Party:
        return self.inner.local

    def remote(self, obj: object, tag: str, to: Sequence[Party]) -> None:
        self.inner.remote(obj, tag, to)

    def get(self, tag: str, frm: Sequence[Party], timeout: float | None = None) -> list[object]:
        objects = self.inner.get(tag, frm, timeout)
        for party, obj in zip(frm, objects, strict=True):
            self.on_receive(tag, party, obj)
        return objects

    def close(self) -> None:
        self.inner.close()


def recording_context(ctx: Context, on_receive: OnReceive) -> Context:
    """`ctx` with its federation wrapped in a RecordingFederation."""
    recorder = RecordingFederation(ctx.federation, on_receive)
    return Context(
        local=ctx.local, roster=ctx.roster, federation=recorder, computing=ctx.computing,
        cipher=ctx.cipher, metrics=ctx.metrics_sink,
    )  # fmt: skip
