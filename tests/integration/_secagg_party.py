"""One party of the multi-process secure-aggregation test: its own process, node and mTLS."""

# Run as `python _secagg_party.py CONFIG PARTY`. The server writes its result to the config's
# `result` file; a client listed in `die_after` kills its own process (SIGKILL: no clean-up,
# no goodbye) right after it sent that step's message.

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

import numpy as np

from chaihuo.core import Role
from chaihuo.federation import (
    FederationSettings,
    GrpcNode,
    NodeConfig,
    Party,
    SerdeCodec,
    TlsConfig,
)
from chaihuo.mpc import secagg_client, secagg_server
from chaihuo.runtime import CipherSuite, Context, MetricsSink, Roster, SecurityPolicy

DOMAIN = b"multi-process-secagg"


class _KilledAfter:
    """A client's channel to the server that kills this process after sending `stage`."""

    def __init__(self, channel: Any, stage: str) -> None:
        self.channel, self.stage = channel, stage

    def put(self, name: str, obj: object) -> None:
        self.channel.put(name, obj)
        if name == self.stage:
            os.kill(os.getpid(), signal.SIGKILL)

    def get(self, name: str) -> object:
        return self.channel.get(name)

    def sub(self, name: str) -> Any:
        return _KilledAfter(self.channel.sub(name), self.stage)


def inputs(seed: int, party_id: str, shape: list[int]) -> np.ndarray:
    """A client's vector (test data, reproducible by the test from the same seed)."""
    return np.random.default_rng([seed, int(party_id)]).normal(scale=100.0, size=shape)


def main(config_path: str, party_id: str) -> None:
    config = json.loads(Path(config_path).read_text())
    roster = Roster.from_mapping(config["roster"])
    role = Role.SERVER if party_id == str(config["roster"]["server"]) else Role.CLIENT
    local = Party(role, party_id)
    settings = FederationSettings(send_timeout_s=20, receive_timeout_s=60)
    node = GrpcNode(NodeConfig(
        party_id=party_id, listen=config["addresses"][party_id], settings=settings,
        tls=TlsConfig.model_validate_json(config["tls"][party_id]),
    )).start()  # fmt: skip
    cipher = CipherSuite(SecurityPolicy())
    federation = node.federation(
        config["job_id"], local, list(roster), config["addresses"],
        codec=SerdeCodec(keyring=cipher.keyring), settings=settings,
    )  # fmt: skip
    ctx = Context(local=local, roster=roster, federation=federation, computing=None,
                  cipher=cipher, metrics=MetricsSink())  # fmt: skip
    try:
        if role is Role.SERVER:
            result = secagg_server(
                list(ctx.peers(Role.CLIENT).sub("agg")), domain=DOMAIN, shape=config["shape"],
                threshold=config["threshold"], deadline_s=config["deadline_s"],
            )  # fmt: skip
            Path(config["result"]).write_text(json.dumps({
                "total": np.asarray(result.total).tolist(), "survivors": list(result.survivors),
                "dropped": list(result.dropped),
            }))  # fmt: skip
        else:
            channel: Any = ctx.peers(Role.SERVER)[0].sub("agg")
            stage = config["die_after"].get(party_id)
            if stage is not None:
                channel = _KilledAfter(channel, stage)
            secagg_client(channel, inputs(config["seed"], party_id, config["shape"]), domain=DOMAIN)
    finally:
        federation.close()
        node.stop(grace=0)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
