"""Secure aggregation across real processes over gRPC + mTLS, with 30 % of clients killed."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from _secagg_party import inputs

from chaihuo.federation import make_local_pki
from chaihuo.mpc import secagg_threshold

PARTY = Path(__file__).with_name("_secagg_party.py")
SHAPE = [4, 25]
CLIENTS = [str(10_000 + i) for i in range(10)]


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for sock in sockets:
        sock.bind(("127.0.0.1", 0))
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


@pytest.mark.parametrize("stage", ["shares", "masked"])
def test_killing_thirty_percent_of_clients_mid_round_keeps_the_survivors_sum(
    tmp_path: Path, stage: str
) -> None:
    parties = ["9999", *CLIENTS]
    tls = make_local_pki(tmp_path / "pki", parties)
    addresses = {p: f"127.0.0.1:{port}" for p, port in zip(parties, _free_ports(11), strict=True)}
    killed = {CLIENTS[2], CLIENTS[5], CLIENTS[9]}
    config = {
        "job_id": f"secagg-processes-{stage}",
        "roster": {"server": 9999, "client": [int(c) for c in CLIENTS]},
        "addresses": addresses,
        "tls": {p: tls[p].model_dump_json() for p in parties},  # type: ignore[index]
        "die_after": dict.fromkeys(killed, stage),
        "seed": 5,
        "shape": SHAPE,
        "threshold": secagg_threshold(10, 0.3),
        "deadline_s": 15,
        "result": str(tmp_path / "result.json"),
    }
    (tmp_path / "config.json").write_text(json.dumps(config))
    processes = {
        p: subprocess.Popen(
            [sys.executable, str(PARTY), str(tmp_path / "config.json"), p],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for p in parties
    }
    outputs = {p: proc.communicate(timeout=240)[0] for p, proc in processes.items()}
    for party, proc in processes.items():
        expected = -signal.SIGKILL if party in killed else 0
        assert proc.returncode == expected, f"{party}: {outputs[party][-3000:]}"
    result = json.loads((tmp_path / "result.json").read_text())
    # Killed after sharing their keys but before their masked input: left out of the sum,
    # their pair masks rebuilt from the survivors' shares. Killed after their masked input:
    # counted, their self masks rebuilt from the others' shares.
    counted = CLIENTS if stage == "masked" else [c for c in CLIENTS if c not in killed]
    expected = sum(inputs(5, c, SHAPE) for c in counted)
    assert len(result["survivors"]) == len(counted)
    assert len(result["dropped"]) == (3 if stage == "shares" else 0)
    bound = len(counted) * 2.0**-17  # each client's fixed-point rounding
    assert np.abs(np.array(result["total"]) - expected).max() <= bound
