"""Context: roster, peers by role, namespaced tags, duplicate sends, metrics, cipher policy."""

from __future__ import annotations

import numpy as np
import pytest

from chaihuo.core import ConfigError, InvalidInputError, Role
from chaihuo.crypto.paillier import EncryptedVector
from chaihuo.federation import DuplicateSendError, Party
from chaihuo.runtime import Context, Roster, SecurityPolicy
from chaihuo.testing import PartyFailedError, run_parties

ROLES = {"guest": 9999, "host": [10000, 10001], "arbiter": 10000}


def test_roster_parses_the_job_file_form() -> None:
    roster = Roster.from_mapping(ROLES)
    assert [str(p) for p in roster] == ["guest:9999", "host:10000", "host:10001", "arbiter:10000"]
    assert roster.party_ids == ["9999", "10000", "10001"]
    assert roster.roles_of("10000") == [Role.HOST, Role.ARBITER]
    with pytest.raises(InvalidInputError):
        Roster.from_mapping({"guest": [1, 2]})
    with pytest.raises(InvalidInputError):
        Roster.from_mapping({"chef": 1})
    with pytest.raises(InvalidInputError):
        Roster.from_mapping({"host": [3, 3]})


@pytest.mark.parametrize("transport", ["memory", "grpc"])
def test_peers_exchange_objects_by_role_and_namespace(transport: str) -> None:
    def party(ctx: Context) -> object:
        if ctx.role == Role.GUEST:
            ctx.hosts.put("hello", {"from": "guest"})
            with ctx.sub("epoch").indexed(3) as epoch:
                epoch.arbiter.put("x", np.arange(3))
            return ctx.hosts.get("reply")
        if ctx.role == Role.HOST:
            greeting = ctx.guest.get("hello")
            ctx.guest.put("reply", [ctx.local.party_id, greeting])
            return greeting
        return ctx.sub("epoch").indexed(3).guest.get("x")

    results = run_parties(party, ROLES, transport=transport)  # type: ignore[arg-type]
    guest = results[Party(Role.GUEST, "9999")]
    assert guest == [["10000", {"from": "guest"}], ["10001", {"from": "guest"}]]
    np.testing.assert_array_equal(results[Party(Role.ARBITER, "10000")], [0, 1, 2])


def test_tags_are_derived_from_the_namespace() -> None:
    def party(ctx: Context) -> str:
        return ctx.sub("lr_0").sub("epoch").indexed(2).tag("grad")

    results = run_parties(party, {"guest": 1, "host": 2})
    assert set(results.values()) == {"lr_0.epoch.2.grad"}


def test_bad_tag_names_are_refused() -> None:
    def party(ctx: Context) -> None:
        ctx.sub("a.b")

    with pytest.raises(PartyFailedError) as info:
        run_parties(party, {"guest": 1})
    assert isinstance(info.value.error, InvalidInputError)


def test_sending_one_tag_twice_to_one_peer_fails() -> None:
    def party(ctx: Context) -> None:
        if ctx.role == Role.GUEST:
            ctx.hosts.put("x", 1)
            ctx.hosts.put("x", 2)
        else:
            ctx.guest.get("x")

    with pytest.raises(PartyFailedError) as info:
        run_parties(party, {"guest": 1, "host": 2}, timeout_s=10)
    assert isinstance(info.value.error, DuplicateSendError)


def test_metrics_are_recorded_under_the_namespace() -> None:
    def party(ctx: Context) -> dict[str, float]:
        for step in range(3):
            ctx.sub("lr_0").metrics.log("loss", 1.0 / (step + 1), step=step)
        return ctx.metrics_sink.latest("lr_0")

    assert run_parties(party, {"guest": 1})[Party(Role.GUEST, "1")] == {"loss": 1 / 3}


def test_encrypted_vectors_cross_with_the_job_keyring() -> None:
    policy = SecurityPolicy(paillier_bits=2048)

    def party(ctx: Context) -> object:
        if ctx.role == Role.GUEST:
            keys = ctx.cipher.paillier()
            ctx.hosts.put("pk", keys.public_key)
            ctx.hosts.put("enc", EncryptedVector.encrypt(keys.public_key, [1.5, -2.0]))
            total = ctx.hosts[0].get("sum")
            assert isinstance(total, EncryptedVector)
            return total.decrypt(keys.private_key).tolist()
        pk = ctx.guest.get("pk")
        enc = ctx.guest.get("enc")
        assert isinstance(enc, EncryptedVector) and enc.public_key is pk
        ctx.guest.put("sum", enc.sum() * 2)
        return None

    results = run_parties(party, {"guest": 1, "host": 2}, security=policy)
    assert results[Party(Role.GUEST, "1")] == [-1.0]


def test_security_policy_refuses_small_keys_and_test_keys_in_prod() -> None:
    with pytest.raises(ConfigError):
        SecurityPolicy(paillier_bits=1024).check_profile("dev")
    SecurityPolicy(paillier_bits=1024, allow_insecure_test_keys=True).check_profile("dev")
    with pytest.raises(ConfigError):
        SecurityPolicy(paillier_bits=1024, allow_insecure_test_keys=True).check_profile("prod")
