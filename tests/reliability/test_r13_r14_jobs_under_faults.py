"""R13/R14 at job level: MPC and PSI under 30 % drops, 20 % duplicates and resends."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from chaihuo.core import Role
from chaihuo.federation import FaultPlan, Party
from chaihuo.mpc import DealerTriples, Session, ecdh_psi_guest, ecdh_psi_host, serve_triples
from chaihuo.runtime import Context
from chaihuo.testing import run_parties

ROLES = {"guest": 9999, "host": 10000, "arbiter": 10001}
HOSTILE = FaultPlan(drop=0.3, duplicate=0.2, resend_after_ack=0.2, seed=7)


def _job(ctx: Context) -> dict[str, Any] | None:
    """A small vertical-style workload: PSI, then a dealer-assisted secret-shared dot product."""
    if ctx.role == Role.ARBITER:
        serve_triples([ctx.guest.sub("ss"), ctx.hosts[0].sub("ss")])
        return None
    index = 0 if ctx.role == Role.GUEST else 1
    ids = [f"u{i}" for i in (range(300) if index == 0 else range(100, 400))]
    if index == 0:
        common = ecdh_psi_guest(list(ctx.hosts.sub("psi")), ids, domain=b"r13", send_result=True)
    else:
        common = ecdh_psi_host(ctx.guest.sub("psi"), ids, domain=b"r13", send_result=True)
    rng = np.random.default_rng(index)  # test data only
    peer = ctx.hosts[0] if index == 0 else ctx.guest
    with Session(
        index, {1 - index: peer.sub("ss")}, triples=DealerTriples(ctx.arbiter.sub("ss"))
    ) as s:
        mine = rng.integers(-1000, 1000, size=200)
        x = s.input(0, mine if index == 0 else None, integer=True, shape=(200,))
        y = s.input(1, mine if index == 1 else None, integer=True, shape=(200,))
        dot = int(np.asarray((x * y).sum().reveal()).reshape(-1)[0])
    faults = getattr(ctx.federation, "faults", None)
    injected = 0 if faults is None else faults.stats.dropped + faults.stats.duplicated
    return {"common": sorted(map(str, common or [])), "dot": dot, "injected": injected}


def _guest(results: dict[Party, Any]) -> dict[str, Any]:
    return next(value for party, value in results.items() if party.role == Role.GUEST)


@pytest.mark.parametrize("transport", ["memory", "grpc"])
def test_r13_r14_job_results_equal_the_clean_run_under_faults(transport: str) -> None:
    clean = _guest(run_parties(_job, ROLES, transport=transport))  # type: ignore[arg-type]
    faulty = _guest(
        run_parties(_job, ROLES, transport=transport, faults=HOSTILE, timeout_s=120)  # type: ignore[arg-type]
    )
    assert faulty["injected"] > 0 and clean["injected"] == 0
    assert faulty["common"] == clean["common"] and len(clean["common"]) == 200
    # Shares are fresh each run, but integer ring arithmetic is exact: same inputs, same value.
    assert (
        faulty["dot"]
        == clean["dot"]
        == int(
            np.random.default_rng(0).integers(-1000, 1000, 200)
            @ np.random.default_rng(1).integers(-1000, 1000, 200)
        )
    )
