"""psi on every hetero pair of FATE's data: the intersection equals the plain set intersection.

Pairs: each `<name>_hetero_guest.csv` with its `_hetero_host.csv` (and motor's two extra host
files as a three-party run), the sample-id and mini variants, and epsilon_5k with its host
part rebuilt by `make` (scripts/rebuild_epsilon_host.py). ECDH for all, RSA-blind for the
smaller ones; guest and hosts in threads over the in-memory federation.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from chaihuo.core import Role
from chaihuo.federation import Party
from chaihuo.mpc import ecdh_psi_guest, ecdh_psi_host, rsa_psi_guest, rsa_psi_host
from chaihuo.runtime import Context
from chaihuo.testing import run_parties

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data" / "fate-examples"
REBUILT = ROOT / ".derived-data"
PAIRS = {
    "breast": ("breast_hetero_guest.csv", ["breast_hetero_host.csv"]),
    "breast_sample_id": ("breast_hetero_guest_sample_id.csv",
                         ["breast_hetero_host_sample_id.csv"]),
    "breast_mini": ("breast_hetero_mini_guest.csv", ["breast_hetero_mini_host.csv"]),
    "default_credit": ("default_credit_hetero_guest.csv", ["default_credit_hetero_host.csv"]),
    "dvisits": ("dvisits_hetero_guest.csv", ["dvisits_hetero_host.csv"]),
    "ionosphere_scale": ("ionosphere_scale_hetero_guest.csv",
                         ["ionosphere_scale_hetero_host.csv"]),
    "motor": ("motor_hetero_guest.csv", ["motor_hetero_host.csv"]),
    "motor_two_hosts": ("motor_hetero_guest.csv",
                        ["motor_hetero_host_1.csv", "motor_hetero_host_2.csv"]),
    "motor_mini": ("motor_hetero_mini_guest.csv", ["motor_hetero_mini_host.csv"]),
    "student": ("student_hetero_guest.csv", ["student_hetero_host.csv"]),
    "vehicle_scale": ("vehicle_scale_hetero_guest.csv", ["vehicle_scale_hetero_host.csv"]),
    "epsilon_5k": ("epsilon_5k_hetero_guest.csv", [str(REBUILT / "epsilon_5k_hetero_host.csv")]),
}  # fmt: skip


def _ids(name: str) -> list[str]:
    """The `id` column (ionosphere: its first column `sid`); the sample-id fixtures repeat ids
    on several rows under a unique mock id, and are matched on `id` as FATE does."""
    lines = (DATA / name).read_text().splitlines()  # an absolute `name` replaces DATA
    header = lines[0].split(",")
    column = header.index("id") if "id" in header else 0
    return [line.split(",")[column] for line in lines[1:] if line]


@pytest.mark.slow
@pytest.mark.parametrize("pair", sorted(PAIRS))
def test_psi_equals_the_set_intersection(pair: str) -> None:
    guest_file, host_files = PAIRS[pair]
    guest, hosts = _ids(guest_file), [_ids(name) for name in host_files]
    small = len(guest) <= 2_000
    domain = f"quality/{pair}".encode()

    def party(ctx: Context) -> object:
        run_guest, run_host = (rsa_psi_guest, rsa_psi_host) if small else (
            ecdh_psi_guest, ecdh_psi_host)  # fmt: skip
        if ctx.role == Role.GUEST:
            return run_guest(list(ctx.hosts), guest, domain=domain, send_result=True)
        index = ctx.roster.members(Role.HOST).index(ctx.local)
        return run_host(ctx.guest, hosts[index], domain=domain, send_result=True)

    roles = {"guest": 9999, "host": [10000 + h for h in range(len(hosts))]}
    results = run_parties(party, roles, timeout_s=600)
    expected = set(guest).intersection(*map(set, hosts))
    assert expected, pair
    assert set(results[Party(Role.GUEST, "9999")]) == expected  # type: ignore[arg-type]
    for h in range(len(hosts)):
        assert set(results[Party(Role.HOST, str(10000 + h))]) == expected  # type: ignore[arg-type]
    print(f"{pair}: {len(guest)} × {[len(ids) for ids in hosts]} ids, {len(expected)} common")
