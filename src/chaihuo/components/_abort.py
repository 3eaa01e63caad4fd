"""The one message a failing party sends its peers: a code and a component, never its text."""

# Why not the error text: a party's error may quote its data. "the label has a single class
# [0]" after a host brought one id of its choosing is that id's label; a reader error quotes
# the cell and the file path. So what crosses on failure is a closed record, checked on
# arrival, from which the receiver writes its own sentence:
#
#     {"code": "DATA_INVALID", "component": "reader_0"}
#     → "cancelled because host:10000 failed: DATA_INVALID in reader_0"
#
# The sender is the authenticated peer the notice came from (not a claim inside it), the code
# must be a catalog code, the component a job-file name; anything else arrives as INTERNAL /
# "?". The same sentence is the reason a party's node cancels the job with, because the node
# answers later messages of a cancelled job with that reason (it crosses too).

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass

from chaihuo.core import CATALOG, ChaihuoError
from chaihuo.federation import Party
from chaihuo.runtime import Context

__all__ = ["AbortNotice", "tell_peers", "watch_peers"]

_TAG = "chaihuo-control.abort"
_SEND_S = 5.0
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_\-]{0,63}$")


@dataclass(frozen=True, slots=True)
class AbortNotice:
    """Why a party stopped, as much as its peers may know: a catalog code and a component."""

    code: str
    component: str | None

    def to_wire(self) -> dict[str, str]:
        """The payload sent to peers."""
        return {"code": self.code, "component": self.component or ""}

    @classmethod
    def from_wire(cls, payload: object) -> AbortNotice:
        """Parse a received notice; anything unexpected becomes INTERNAL / unknown component."""
        fields = payload if isinstance(payload, dict) else {}
        code, component = fields.get("code"), fields.get("component")
        return cls(
            code=code if isinstance(code, str) and code in CATALOG else "INTERNAL",
            component=component if isinstance(component, str) and _NAME.match(component) else None,
        )

    def reason(self, party: Party | str) -> str:
        """The sentence every party may read: `guest:9999 failed: DATA_INVALID in reader_0`."""
        where = f" in {self.component}" if self.component else " while starting"
        return f"{party} failed: {self.code}{where}"


def _remote_parties(ctx: Context) -> list[Party]:
    return [p for p in ctx.roster if p.party_id != ctx.local.party_id]


def tell_peers(ctx: Context, notice: AbortNotice) -> None:
    """Best effort: tell every other party that this one stopped, so they stop with the cause
    instead of waiting for their receive deadline (bounded: a dead peer must not hold us)."""
    targets = {p.party_id: p for p in reversed(_remote_parties(ctx))}
    if not targets:
        return

    def send() -> None:
        try:
            ctx.federation.remote(notice.to_wire(), _TAG, list(targets.values()))
        except ChaihuoError:  # a peer gone or the job cancelled already: nobody left to tell
            return

    sender = threading.Thread(target=send, name="abort-notice", daemon=True)
    sender.start()
    sender.join(_SEND_S)


def watch_peers(ctx: Context, cancel: Callable[[str], None]) -> None:
    """One daemon thread per remote party: its abort notice cancels this party's job with
    "cancelled because <peer> failed: <code> in <component>"."""
    firsts: dict[str, Party] = {}
    for party in ctx.roster:
        firsts.setdefault(party.party_id, party)
    if firsts.get(ctx.local.party_id) != ctx.local:
        return

    def watch(peer: Party) -> None:
        try:
            payload = ctx.federation.get(_TAG, [peer])[0]
        except BaseException:  # the job ended (federation closed) or was cancelled
            return
        cancel(f"cancelled because {AbortNotice.from_wire(payload).reason(peer)}")

    for peer in _remote_parties(ctx):
        threading.Thread(target=watch, args=(peer,), name=f"watch-{peer}", daemon=True).start()
