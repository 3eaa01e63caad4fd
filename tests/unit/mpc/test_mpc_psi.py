"""ECDH and RSA PSI: exact intersections for 1 and 2 hosts, guest-only output, bad data fails."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any

import pytest

import chaihuo.mpc._psi_common as psi_common
from chaihuo.core import InvalidInputError
from chaihuo.crypto.psi import generate_rsa_key
from chaihuo.mpc import ProtocolError, ecdh_psi_guest, ecdh_psi_host, rsa_psi_guest, rsa_psi_host

DOMAIN = b"job-42/psi_0"


def _ids(count: int) -> list[str]:
    return [secrets.token_hex(12) for _ in range(count)]


def _sets(hosts: int) -> tuple[list[str], list[list[str]]]:
    common, guest_only = _ids(30), _ids(40)
    guest = guest_only[:20] + common + guest_only[20:]
    host_sets = []
    for h in range(hosts):
        extra = _ids(25)
        partial = common[: 25 - 5 * h]  # host h lacks some of the common ids
        host_sets.append(extra + partial + guest_only[:2] * (h == 0) + extra[:3])  # duplicates
    return guest, host_sets


def _run_psi(
    hub: Any, kind: str, guest: list[Any], hosts: list[list[Any]], *, send_result: bool = False
) -> dict[str, Any]:
    names = [f"host{h}" for h in range(len(hosts))]
    channels = [hub.channel("guest", name) for name in names]
    parties: dict[str, Callable[[], Any]] = {}
    if kind == "ecdh":
        parties["guest"] = lambda: ecdh_psi_guest(
            channels, guest, domain=DOMAIN, send_result=send_result
        )
        for name, ids in zip(names, hosts, strict=True):
            parties[name] = lambda name=name, ids=ids: ecdh_psi_host(
                hub.channel(name, "guest"), ids, domain=DOMAIN, send_result=send_result
            )
    else:
        parties["guest"] = lambda: rsa_psi_guest(
            channels, guest, domain=DOMAIN, send_result=send_result, allow_insecure_test_key=True
        )
        for name, ids in zip(names, hosts, strict=True):
            key = generate_rsa_key(1024, allow_insecure_test_key=True)  # speed: tests only
            parties[name] = lambda name=name, ids=ids, key=key: rsa_psi_host(
                hub.channel(name, "guest"), ids, domain=DOMAIN, key=key, send_result=send_result
            )
    return hub.run(parties)


def _expected(guest: list[str], hosts: list[list[str]]) -> list[str]:
    common = set(guest).intersection(*map(set, hosts))
    return [x for x in dict.fromkeys(guest) if x in common]


@pytest.mark.parametrize("kind", ["ecdh", "rsa"])
@pytest.mark.parametrize("n_hosts", [1, 2])
def test_intersection_is_exact_and_only_on_the_guest(hub: Any, kind: str, n_hosts: int) -> None:
    guest, hosts = _sets(n_hosts)
    result = _run_psi(hub, kind, guest, hosts)
    assert result["guest"] == _expected(guest, hosts)
    assert all(result[f"host{h}"] is None for h in range(n_hosts))
    # The guest never receives a host's raw id, nor a host the guest's.
    for h, ids in enumerate(hosts):
        for raw in ids:
            assert all(raw.encode() not in payload for payload in hub.payloads("guest"))
        for raw in guest:
            assert all(raw.encode() not in payload for payload in hub.payloads(f"host{h}"))


@pytest.mark.parametrize("kind", ["ecdh", "rsa"])
def test_result_sent_back_to_hosts_when_configured(hub: Any, kind: str) -> None:
    guest, hosts = _sets(2)
    result = _run_psi(hub, kind, guest, hosts, send_result=True)
    expected = _expected(guest, hosts)
    assert result["guest"] == expected
    assert result["host0"] == expected and result["host1"] == expected


def test_bytes_ids_and_empty_sets(hub: Any) -> None:
    result = _run_psi(hub, "ecdh", [b"\x00a", b"b", "c"], [[b"b", "c", "z"]])
    assert result["guest"] == [b"b", "c"]
    assert _run_psi(type(hub)(), "ecdh", [], [["x"]])["guest"] == []


def _ecdh_pair(hub: Any) -> dict[str, Any]:
    return hub.run_collect(
        {
            "guest": lambda: ecdh_psi_guest([hub.channel("guest", "h")], ["a", "b"], domain=DOMAIN),
            "h": lambda: ecdh_psi_host(hub.channel("h", "guest"), ["b", "c"], domain=DOMAIN),
        }
    )


@pytest.mark.parametrize(
    "bad",
    [
        bytes(32),  # the identity-like all-zero encoding
        b"\x01" + bytes(31),  # the identity
        bytes.fromhex(
            "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05"
        ),  # order 8
        b"\xff" * 32,  # non-canonical
    ],
)
def test_invalid_points_are_rejected(hub: Any, bad: bytes) -> None:
    hub.tamper[("h", "host_points")] = lambda blob: bad + blob[32:]
    assert isinstance(_ecdh_pair(hub)["guest"], ProtocolError)


def test_malformed_blobs_are_rejected(hub: Any) -> None:
    hub.tamper[("guest", "guest_points")] = lambda blob: blob[:-1]
    assert isinstance(_ecdh_pair(hub)["h"], ProtocolError)


def test_wrong_digest_count_is_rejected(hub: Any) -> None:
    hub.tamper[("h", "guest_digests")] = lambda blob: blob[:16]
    assert isinstance(_ecdh_pair(hub)["guest"], ProtocolError)


def test_points_sent_as_a_list_are_rejected(hub: Any) -> None:
    hub.tamper[("h", "host_points")] = lambda blob: [blob[:32], blob[32:]]
    assert isinstance(_ecdh_pair(hub)["guest"], ProtocolError)


def test_foreign_id_in_returned_intersection_is_rejected(hub: Any) -> None:
    hub.tamper[("guest", "intersection")] = lambda ids: [*ids, "not-mine"]
    results = hub.run_collect(
        {
            "guest": lambda: ecdh_psi_guest(
                [hub.channel("guest", "h")], ["a", "b"], domain=DOMAIN, send_result=True
            ),
            "h": lambda: ecdh_psi_host(
                hub.channel("h", "guest"), ["b"], domain=DOMAIN, send_result=True
            ),
        }
    )
    assert isinstance(results["h"], ProtocolError)


def _rsa_pair(hub: Any, allow_small: bool = True) -> dict[str, Any]:
    key = generate_rsa_key(1024, allow_insecure_test_key=True)
    return hub.run_collect(
        {
            "guest": lambda: rsa_psi_guest(
                [hub.channel("guest", "h")],
                ["a", "b"],
                domain=DOMAIN,
                allow_insecure_test_key=allow_small,
            ),
            "h": lambda: rsa_psi_host(hub.channel("h", "guest"), ["b"], domain=DOMAIN, key=key),
        }
    )


def test_rsa_small_key_refused_by_default(hub: Any) -> None:
    assert isinstance(_rsa_pair(hub, allow_small=False)["guest"], ProtocolError)


def test_rsa_forged_signature_is_rejected(hub: Any) -> None:
    hub.tamper[("h", "guest_signed")] = lambda blob: bytes(len(blob) - 1) + b"\x02"
    assert isinstance(_rsa_pair(hub)["guest"], ProtocolError)


def test_rsa_value_above_modulus_is_rejected(hub: Any) -> None:
    hub.tamper[("guest", "guest_blinded")] = lambda blob: b"\xff" * len(blob)
    assert isinstance(_rsa_pair(hub)["h"], ProtocolError)


def test_rsa_key_of_wrong_type_is_rejected(hub: Any) -> None:
    hub.tamper[("h", "rsa_public")] = lambda key: (str(key[0]), key[1])
    assert isinstance(_rsa_pair(hub)["guest"], ProtocolError)


def test_rsa_full_size_key(hub: Any, rsa_key: Any) -> None:
    results = hub.run(
        {
            "guest": lambda: rsa_psi_guest([hub.channel("guest", "h")], ["a", "b"], domain=DOMAIN),
            "h": lambda: rsa_psi_host(hub.channel("h", "guest"), ["b"], domain=DOMAIN, key=rsa_key),
        }
    )
    assert results["guest"] == ["b"]


def test_local_arguments_are_checked(hub: Any) -> None:
    channel = hub.channel("guest", "h")
    with pytest.raises(InvalidInputError):
        ecdh_psi_guest([channel], ["a"], domain=b"")
    with pytest.raises(InvalidInputError):
        ecdh_psi_guest([channel], [1, 2], domain=DOMAIN)  # type: ignore[list-item]
    with pytest.raises(InvalidInputError):
        ecdh_psi_guest([], ["a"], domain=DOMAIN)
    with pytest.raises(InvalidInputError):
        rsa_psi_guest([channel], "abc", domain=DOMAIN)


@pytest.mark.parametrize("pool", [ThreadPoolExecutor, ProcessPoolExecutor])
def test_executor_spreads_work_in_chunks(
    hub: Any, monkeypatch: pytest.MonkeyPatch, pool: type[Executor]
) -> None:
    monkeypatch.setattr(psi_common, "CHUNK", 7)
    guest, hosts = _sets(1)
    with pool(2) as executor:
        result = hub.run(
            {
                "guest": lambda: ecdh_psi_guest(
                    [hub.channel("guest", "h")], guest, domain=DOMAIN, executor=executor
                ),
                "h": lambda: ecdh_psi_host(
                    hub.channel("h", "guest"), hosts[0], domain=DOMAIN, executor=executor
                ),
            }
        )
    assert result["guest"] == _expected(guest, hosts)


def test_rsa_with_process_pool(hub: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(psi_common, "CHUNK", 9)
    guest, hosts = _sets(1)
    key = generate_rsa_key(1024, allow_insecure_test_key=True)
    with ProcessPoolExecutor(2) as executor:
        result = hub.run(
            {
                "guest": lambda: rsa_psi_guest(
                    [hub.channel("guest", "h")],
                    guest,
                    domain=DOMAIN,
                    allow_insecure_test_key=True,
                    executor=executor,
                ),
                "h": lambda: rsa_psi_host(
                    hub.channel("h", "guest"), hosts[0], domain=DOMAIN, key=key, executor=executor
                ),
            }
        )
    assert result["guest"] == _expected(guest, hosts)


STAGES = {  # stage -> whose ids it counts, in the order the stages run
    "ecdh": {
        "guest": {"blind": "guest", "exchange": "h", "intersect": "guest"},
        "h": {"blind": "h", "exchange": "guest"},
    },
    "rsa": {
        "guest": {"blind": "guest", "unblind": "guest", "intersect": "guest"},
        "h": {"sign": "h", "exchange": "guest"},
    },
}


@pytest.mark.parametrize("kind", ["ecdh", "rsa"])
def test_progress_counts_rise_chunk_by_chunk_to_the_total(
    hub: Any, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    monkeypatch.setattr(psi_common, "CHUNK", 16)
    guest, hosts = _sets(1)  # 70 guest ids, 57 distinct host ids: 4 or 5 chunks a stage
    heard: dict[str, list[tuple[str, int, int | None]]] = {"guest": [], "h": []}

    def recorder(party: str) -> Callable[[str, int, int | None], None]:
        def progress(stage: str, done: int, total: int | None) -> None:
            heard[party].append((stage, done, total))

        return progress

    to_host, to_guest = [hub.channel("guest", "h")], hub.channel("h", "guest")
    parties: dict[str, Callable[[], Any]] = {}
    if kind == "ecdh":
        parties["guest"] = lambda: ecdh_psi_guest(
            to_host, guest, domain=DOMAIN, progress=recorder("guest")
        )
        parties["h"] = lambda: ecdh_psi_host(
            to_guest, hosts[0], domain=DOMAIN, progress=recorder("h")
        )
    else:
        key = generate_rsa_key(1024, allow_insecure_test_key=True)
        parties["guest"] = lambda: rsa_psi_guest(
            to_host, guest, domain=DOMAIN, allow_insecure_test_key=True, progress=recorder("guest")
        )
        parties["h"] = lambda: rsa_psi_host(
            to_guest, hosts[0], domain=DOMAIN, key=key, progress=recorder("h")
        )
    assert hub.run(parties)["guest"] == _expected(guest, hosts)
    sizes = {"guest": len(set(guest)), "h": len(set(hosts[0]))}
    for party, reports in heard.items():
        expected = STAGES[kind][party]
        assert list(dict.fromkeys(stage for stage, _, _ in reports)) == list(expected)
        for stage, owner in expected.items():
            counts = [done for name, done, _ in reports if name == stage]
            totals = {total for name, _, total in reports if name == stage}
            assert totals == {sizes[owner]}
            assert counts == sorted(set(counts)), (party, stage, counts)  # strictly rising
            assert counts[-1] == sizes[owner]
            if stage != "intersect":  # one report before the first chunk, one after each
                assert counts[0] == 0 and len(counts) == 1 + -(-sizes[owner] // 16)
