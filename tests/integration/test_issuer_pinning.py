"""Per-organisation CAs: a partner's certificate must come from its own CA, not any trusted one."""

# Two organisations, each with its own CA: A (party 9999) and B (party 10000). Each node pins
# the other's CA. A rogue certificate naming 10000 but signed by A's CA is what a dishonest A
# (or anyone holding A's CA key) could mint to speak for B; the pins refuse it as a client of
# A's node and as the server A's node dials, while the honest pair still talks both ways.

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from chaihuo.core import ConfigError, PartyId, Role
from chaihuo.federation import (
    FederationSettings,
    Party,
    PeerUnreachableError,
    PermissionDeniedError,
    RetryPolicy,
    TlsConfig,
    init_ca,
    issue_party_cert,
)

A, B = Party(Role.GUEST, PartyId("9999")), Party(Role.HOST, PartyId("10000"))
PAIR = [A, B]
SHORT = FederationSettings(
    send_timeout_s=1.5, receive_timeout_s=5, retry=RetryPolicy(initial_backoff_s=0.05)
)


@pytest.fixture
def orgs(tmp_path: Path) -> dict[str, Any]:
    ca_a, ca_b = init_ca(tmp_path / "ca-a").cert, init_ca(tmp_path / "ca-b").cert
    a = issue_party_cert(tmp_path / "ca-a", "9999", tmp_path / "a")
    b = issue_party_cert(tmp_path / "ca-b", "10000", tmp_path / "b")
    rogue = issue_party_cert(tmp_path / "ca-a", "10000", tmp_path / "rogue")  # A's CA, B's name
    both = tmp_path / "both-cas.pem"  # what a node without pins must trust to reach both
    both.write_bytes(ca_a.read_bytes() + ca_b.read_bytes())
    return {
        "a": TlsConfig(ca_cert=ca_a, cert=a.cert, key=a.key, issuers={"10000": ca_b}),
        "b": TlsConfig(ca_cert=ca_b, cert=b.cert, key=b.key, issuers={"9999": ca_a}),
        "rogue": TlsConfig(ca_cert=both, cert=rogue.cert, key=rogue.key),
        "a_unpinned": TlsConfig(ca_cert=both, cert=a.cert, key=a.key),
    }


def _pair(sender: Any, receiver: Any, frm: Party, to: Party) -> Any:
    """One job's endpoints on two nodes: (sender's as `frm`, receiver's as `to`)."""
    addresses = {str(frm.party_id): sender.address, str(to.party_id): receiver.address}
    return sender.federation("job-pins", frm, PAIR, addresses), receiver.federation(
        "job-pins", to, PAIR, addresses
    )


def test_partners_with_their_own_cas_talk_both_ways(start_node: Any, orgs: dict[str, Any]) -> None:
    a = start_node("9999", SHORT, tls=orgs["a"])
    b = start_node("10000", SHORT, tls=orgs["b"])
    a_side, b_side = _pair(a, b, A, B)
    a_side.remote("from A", "hello", [B])
    assert b_side.get("hello", [A]) == ["from A"]
    b_side.remote("from B", "reply", [A])
    assert a_side.get("reply", [B]) == ["from B"]


def test_a_certificate_naming_a_partner_but_signed_by_another_ca_is_refused(
    start_node: Any, orgs: dict[str, Any]
) -> None:
    rogue = start_node("10000", SHORT, tls=orgs["rogue"])
    unpinned = start_node("9999", SHORT, tls=orgs["a_unpinned"])
    pinned = start_node("9999", SHORT, tls=orgs["a"])
    # without a pin, both CAs are trusted roots and the rogue passes for 10000
    rogue_side, unpinned_side = _pair(rogue, unpinned, B, A)
    rogue_side.remote("I am B", "claim", [A])
    assert unpinned_side.get("claim", [B]) == ["I am B"]
    # with B's CA pinned, the same certificate is refused as a client ...
    rogue_side, pinned_side = _pair(rogue, pinned, B, A)
    with pytest.raises(PermissionDeniedError, match="not issued by that party's CA"):
        rogue_side.remote("I am B", "claim", [A])
    assert pinned.stats("job-pins").applied == 0
    # ... and as the server the pinned node dials for 10000: the handshake fails
    pinned_side.close()
    addresses = {"9999": pinned.address, "10000": rogue.address}
    with (
        pinned.federation("job-dial", A, PAIR, addresses) as dial,
        pytest.raises(PeerUnreachableError, match="TLS handshake failed"),
    ):
        dial.remote("secret for B", "leak", [B])
    assert rogue.stats("job-dial").applied == 0


def test_a_pinned_file_that_is_not_a_ca_is_a_config_error(
    start_node: Any, orgs: dict[str, Any]
) -> None:
    tls = orgs["a"].model_copy(update={"issuers": {"10000": orgs["b"].cert}})
    with pytest.raises(ConfigError, match="not a CA"):
        start_node("9999", SHORT, tls=tls)
