"""The in-memory backend's network controls: partitions heal within the deadline or fail clearly."""

from __future__ import annotations

import threading
import time

import pytest

from chaihuo.core import PartyId, Role
from chaihuo.federation import (
    BytesCodec,
    FederationError,
    FederationSettings,
    MemoryHub,
    Party,
    PeerUnreachableError,
    RetryPolicy,
)

GUEST = Party(Role.GUEST, PartyId("9999"))
HOST = Party(Role.HOST, PartyId("10000"))
QUICK = FederationSettings(send_timeout_s=5, retry=RetryPolicy(max_backoff_s=0.05))


def test_a_partition_shorter_than_the_deadline_is_ridden_out() -> None:
    hub = MemoryHub(QUICK)
    guest, host = hub.federation("job", GUEST, [HOST]), hub.federation("job", HOST, [GUEST])
    hub.set_reachable(HOST.party_id, False)
    threading.Timer(0.4, hub.set_reachable, args=(HOST.party_id, True)).start()
    started = time.monotonic()
    guest.remote("through", "t", [HOST])
    assert 0.3 < time.monotonic() - started < 3
    assert host.get("t", [GUEST]) == ["through"]


def test_a_longer_partition_fails_naming_the_peer() -> None:
    hub = MemoryHub(FederationSettings(send_timeout_s=0.3))
    guest = hub.federation("job", GUEST, [HOST])
    hub.set_reachable(HOST.party_id, False)
    with pytest.raises(PeerUnreachableError, match=r"host:10000 at memory://10000") as info:
        guest.remote(1, "t", [HOST])
    assert "UNAVAILABLE" in str(info.value)
    hub.set_reachable(HOST.party_id, True)
    guest.remote(1, "t", [HOST])  # the failed tag may be sent again


def test_close_interrupts_a_retrying_send() -> None:
    hub = MemoryHub(FederationSettings(send_timeout_s=30))
    guest = hub.federation("job", GUEST, [HOST], codec=BytesCodec())
    hub.set_reachable(HOST.party_id, False)
    errors: list[BaseException] = []

    def send() -> None:
        try:
            guest.remote(b"x", "t", [HOST])
        except BaseException as exc:
            errors.append(exc)

    sender = threading.Thread(target=send)
    sender.start()
    time.sleep(0.2)
    guest.close()
    sender.join(2)
    assert len(errors) == 1 and type(errors[0]) is FederationError
    assert "closed" in str(errors[0])
