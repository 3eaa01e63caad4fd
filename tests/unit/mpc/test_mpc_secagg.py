"""Dropout-tolerant secure aggregation: the server gets the survivors' exact sum and no input."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from chaihuo.core import InvalidInputError, Role
from chaihuo.federation import Party
from chaihuo.mpc import (
    TooFewClientsError,
    _secagg,
    secagg_client,
    secagg_server,
    secagg_threshold,
)
from chaihuo.runtime import Context
from chaihuo.testing import PartyFailedError, run_parties

DOMAIN = b"job-9/homo/round-2"
SHAPE = (3, 5)
BOUND_PER_CLIENT = 2.0**-17  # fixed point f = 16, rounding to nearest
SERVER = Party(Role.SERVER, "1")  # type: ignore[arg-type]


class _Dropped(Exception):
    """A client leaving the protocol right after sending `stage`."""


class _DiesAfter:
    """The server channel of a client that drops out after it sent `stage` (None: at once)."""

    def __init__(self, channel: Any, stage: str | None) -> None:
        self.channel, self.stage = channel, stage
        if stage is None:
            raise _Dropped

    def put(self, name: str, obj: object) -> None:
        self.channel.put(name, obj)
        if name == self.stage:
            raise _Dropped

    def get(self, name: str) -> object:
        return self.channel.get(name)

    def sub(self, name: str) -> Any:
        return _DiesAfter(self.channel.sub(name), self.stage)


def _inputs(clients: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(11)  # test data only
    return {str(100 + i): rng.normal(scale=50.0, size=SHAPE) for i in range(clients)}


def _run(
    clients: int, drops: dict[str, str | None], *, threshold: int | None = None,
    transport: str = "memory",
) -> tuple[dict[Party, Any], dict[str, np.ndarray]]:  # fmt: skip
    inputs = _inputs(clients)
    t = threshold or secagg_threshold(clients, 0.3)

    def party(ctx: Context) -> Any:
        if ctx.role is Role.SERVER:
            channels = list(ctx.peers(Role.CLIENT).sub("agg"))
            return secagg_server(channels, domain=DOMAIN, shape=SHAPE, threshold=t, deadline_s=3)
        me = ctx.local.party_id
        try:
            server = ctx.peers(Role.SERVER)[0].sub("agg")
            channel = _DiesAfter(server, drops[me]) if me in drops else server
            secagg_client(channel, inputs[me], domain=DOMAIN)
        except _Dropped:
            return "dropped"
        return "sent"

    roles = {"server": 1, "client": [int(p) for p in inputs]}
    return run_parties(party, roles, transport=transport, timeout_s=30), inputs  # type: ignore[arg-type]


def _server_result(results: dict[Party, Any]) -> Any:
    return next(value for party, value in results.items() if party.role is Role.SERVER)


@pytest.mark.parametrize("transport", ["memory", "grpc"])
def test_sum_of_all_clients_within_the_quantisation_bound(transport: str) -> None:
    results, inputs = _run(5, {}, transport=transport)
    result = _server_result(results)
    assert result.survivors == (0, 1, 2, 3, 4) and result.dropped == ()
    error = np.abs(result.total - sum(inputs.values())).max()
    assert error <= len(inputs) * BOUND_PER_CLIENT


@pytest.mark.parametrize(
    ("stage", "counted"),
    [
        (None, False),  # never sent its keys: not in the roster at all
        ("keys", False),  # left before sharing: excluded, nothing to unmask
        ("shares", False),  # left after sharing, before its masked input: pair masks rebuilt
        ("masked", True),  # left after its masked input: counted, its self mask rebuilt
    ],
)
def test_thirty_percent_of_clients_drop_and_the_survivors_sum_is_exact(
    stage: str | None, counted: bool
) -> None:
    # 10 clients, threshold 7: three drop at the same step of the round.
    dropping = {"101": stage, "104": stage, "108": stage}
    results, inputs = _run(10, dropping)
    result = _server_result(results)
    kept = {p: v for p, v in inputs.items() if counted or p not in dropping}
    assert len(result.survivors) == (10 if stage == "masked" else 7)
    assert result.dropped == ((1, 4, 8) if stage == "shares" else ())
    error = np.abs(result.total - sum(kept.values())).max()
    assert error <= len(kept) * BOUND_PER_CLIENT


def test_drops_at_different_steps_in_one_round() -> None:
    dropping = {"100": "shares", "103": "masked", "105": "keys"}
    results, inputs = _run(10, dropping)
    result = _server_result(results)
    kept = {p: v for p, v in inputs.items() if p not in {"100", "105"}}
    assert result.dropped == (0,)
    assert np.abs(result.total - sum(kept.values())).max() <= len(kept) * BOUND_PER_CLIENT


def test_below_the_threshold_the_round_aborts_with_a_clear_error() -> None:
    dropping = dict.fromkeys(("100", "101", "102", "103"), "shares")
    with pytest.raises(PartyFailedError) as failed:
        _run(10, dropping)
    server_error = failed.value.others[Party(Role.SERVER, "1")]  # type: ignore[arg-type]
    assert isinstance(server_error, TooFewClientsError)
    assert "6 of 10 clients answered 'masked'" in str(server_error)
    assert "fewer than the threshold 7" in str(server_error)


def test_a_threshold_of_half_the_clients_or_less_is_refused() -> None:
    with pytest.raises(PartyFailedError) as failed:
        _run(4, {}, threshold=2)
    server_error = failed.value.others[Party(Role.SERVER, "1")]  # type: ignore[arg-type]
    assert "threshold must be in (2, 4]" in str(server_error)


def test_dropout_fraction_sets_the_threshold() -> None:
    assert secagg_threshold(10, 0.3) == 7
    assert secagg_threshold(3, 0.3) == 3
    assert secagg_threshold(100, 0.45) == 55
    with pytest.raises(InvalidInputError, match="dropout"):
        secagg_threshold(10, 0.5)


def test_the_server_sees_no_client_input(monkeypatch: pytest.MonkeyPatch) -> None:
    """Everything the server receives, decoded as the sum is decoded, is far from every input."""
    seen: list[np.ndarray] = []
    original = _secagg.expect_ring

    def spy(raw: object, shape: Any, what: str) -> Any:
        seen.append(np.array(raw))
        return original(raw, shape, what)

    monkeypatch.setattr(_secagg, "expect_ring", spy)
    _results, inputs = _run(5, {"102": "masked"})
    assert len(seen) == 5
    encoded = {p: np.round(v * 2**16).astype(np.int64).view(np.uint64) for p, v in inputs.items()}
    for masked in seen:
        for values in encoded.values():
            # uniform in Z_2^64: not one of 15 words lands within 2^40 of the encoded input
            assert not np.any(np.abs((masked - values).view(np.int64)) < 2**40)


class _Reshaped(_DiesAfter):
    """A client channel that sends its masked vector one entry short."""

    def __init__(self, channel: Any) -> None:
        self.channel, self.stage = channel, "never"

    def put(self, name: str, obj: object) -> None:
        self.channel.put(name, obj[:, :-1] if name == "masked" else obj)  # type: ignore[index]

    def sub(self, name: str) -> Any:
        return _Reshaped(self.channel.sub(name))


def test_a_vector_of_the_wrong_shape_is_refused_by_the_server() -> None:
    def party(ctx: Context) -> Any:
        if ctx.role is Role.SERVER:
            channels = list(ctx.peers(Role.CLIENT).sub("agg"))
            return secagg_server(channels, domain=DOMAIN, shape=SHAPE, threshold=2, deadline_s=3)
        server = ctx.peers(Role.SERVER)[0].sub("agg")
        channel = _Reshaped(server) if ctx.local.party_id == "101" else server
        return secagg_client(channel, np.ones(SHAPE), domain=DOMAIN)

    with pytest.raises(PartyFailedError) as failed:
        run_parties(party, {"server": 1, "client": [100, 101]}, timeout_s=30)
    assert "client 1 masked values: expected shape (3, 5)" in str(failed.value.others[SERVER])
