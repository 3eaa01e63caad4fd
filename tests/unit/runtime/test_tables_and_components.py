"""Tables across parties, and the built-in components run in-process on real data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from chaihuo.components.builtin import default_registry
from chaihuo.core import Role
from chaihuo.federation import Party
from chaihuo.runtime import Context
from chaihuo.testing import PartyFailedError, run_parties

DATA = Path(__file__).resolve().parents[3] / "data" / "fate-examples"  # make links data/
REGISTRY = default_registry()


def _component(name: str, ctx: Context, params: dict[str, object], **inputs: object) -> object:
    spec = REGISTRY.get(name)
    return spec.runners[ctx.role](ctx.sub(f"{name}_0"), spec.params(**params), inputs)


def test_tables_travel_partition_by_partition(computing: object) -> None:
    def party(ctx: Context) -> object:
        if ctx.role == Role.GUEST:
            table = ctx.computing.parallelize(
                [(f"id{i}", np.arange(3) * i) for i in range(100)], partitions=4, include_key=True
            )
            ctx.hosts[0].put_table("t", table)
            return None
        received = ctx.guest.get_table("t")
        return received.partitions, sorted((k, v.tolist()) for k, v in received.collect())

    results = run_parties(party, {"guest": 1, "host": 2}, computing=computing)  # type: ignore[arg-type]
    partitions, rows = results[Party(Role.HOST, "2")]
    assert partitions == 4 and len(rows) == 100 and rows[1] == ("id1", [0, 1, 2])


@pytest.mark.parametrize("protocol", ["ecdh", "rsa"])
def test_psi_on_breast_ids_equals_the_set_intersection(computing: object, protocol: str) -> None:
    guest_file, host_file = DATA / "breast_hetero_guest.csv", DATA / "breast_hetero_host.csv"

    def party(ctx: Context) -> object:
        if ctx.role == Role.GUEST:
            data = _component("reader", ctx, {"path": str(guest_file), "id": "id", "label": "y"})
        else:
            data = _component("reader", ctx, {"path": str(host_file), "id": "id"})
        out = _component("psi", ctx, {"protocol": protocol, "share_with_hosts": True}, **data)  # type: ignore[arg-type]
        return sorted(str(i) for i, _ in out["data"].ids().collect())  # type: ignore[index]

    results = run_parties(party, {"guest": 1, "host": 2}, computing=computing)  # type: ignore[arg-type]
    guest_ids = {line.split(",")[0] for line in guest_file.read_text().splitlines()[1:]}
    host_ids = {line.split(",")[0] for line in host_file.read_text().splitlines()[1:]}
    assert results[Party(Role.GUEST, "1")] == sorted(guest_ids & host_ids)
    assert results[Party(Role.HOST, "2")] == sorted(guest_ids & host_ids)


def test_psi_keeps_the_intersection_from_hosts_unless_shared(
    computing: object, tmp_path: Path
) -> None:
    guest_csv, host_csv = tmp_path / "g.csv", tmp_path / "h.csv"
    guest_csv.write_text("id,y,x\n" + "".join(f"u{i},{i % 2},{i}\n" for i in range(60)))
    host_csv.write_text("id,z\n" + "".join(f"u{i},{i}\n" for i in range(40, 100)))

    def party(ctx: Context) -> object:
        path = guest_csv if ctx.role == Role.GUEST else host_csv
        data = _component(
            "reader",
            ctx,
            {"path": str(path), "id": "id", "label": "y" if ctx.role == Role.GUEST else None},
        )
        return _component("psi", ctx, {"min_intersection": 20}, **data)  # type: ignore[arg-type]

    results = run_parties(party, {"guest": 1, "host": 2}, computing=computing)  # type: ignore[arg-type]
    assert results[Party(Role.GUEST, "1")]["data"].count() == 20  # type: ignore[index]
    assert results[Party(Role.HOST, "2")] == {}


@pytest.mark.parametrize(
    ("guest", "host"), [(5, 5), (0, 0), (2**64 - 1, 0), (0, 2**64 - 1), (2**63, 2**63 - 1)]
)
def test_millionaires_component_edge_cases(guest: int, host: int) -> None:
    def party(ctx: Context) -> object:
        value = guest if ctx.role == Role.GUEST else host
        return _component("millionaires", ctx, {"value": value})

    results = run_parties(party, {"guest": 1, "host": 2})
    assert set(map(str, results.values())) == {str({"result": {"guest_richer": guest > host}})}


def test_secure_add_component_checks_itself(computing: object) -> None:
    def party(ctx: Context) -> object:
        seed = 123 if ctx.role == Role.GUEST else 321
        return _component("secure_add", ctx, {"seed": seed, "partition": 10, "data_num": 1000})

    results = run_parties(party, {"guest": 1, "host": 2}, computing=computing)  # type: ignore[arg-type]
    for outcome in results.values():
        result = outcome["result"]  # type: ignore[index]
        assert result["match"] and result["abs_error"] <= 2000 * 2.0**-16


def test_reader_refuses_a_malformed_file_on_the_party_that_owns_it(
    computing: object, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("id,x\na,1\nb,oops\n")

    def party(ctx: Context) -> object:
        return _component("reader", ctx, {"path": str(bad)})

    with pytest.raises(PartyFailedError) as info:
        run_parties(party, {"guest": 1}, computing=computing)  # type: ignore[arg-type]
    assert "bad.csv" in str(info.value.error) and "3" in str(info.value.error)
