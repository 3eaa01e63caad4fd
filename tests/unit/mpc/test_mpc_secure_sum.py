"""Secure sum with pairwise X25519 masks: the aggregator gets the exact sum and nothing else."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from chaihuo.core import InvalidInputError
from chaihuo.crypto.sharing import FixedPointEncoding
from chaihuo.mpc import ProtocolError, secure_sum_aggregator, secure_sum_client

DOMAIN = b"job-7/fedavg/round-3"
RNG = np.random.default_rng(3)  # test data only


def _run(
    hub: Any, inputs: list[Any], encoding: FixedPointEncoding | None, collect: bool = False
) -> dict[str, Any]:
    names = [f"c{i}" for i in range(len(inputs))]
    parties: dict[str, Callable[[], Any]] = {
        "agg": lambda: secure_sum_aggregator(
            [hub.channel("agg", name) for name in names], domain=DOMAIN, encoding=encoding
        )
    }
    for name, values in zip(names, inputs, strict=True):
        parties[name] = lambda name=name, values=values: secure_sum_client(
            hub.channel(name, "agg"), values, domain=DOMAIN, encoding=encoding
        )
    return hub.run_collect(parties) if collect else hub.run(parties)


@pytest.mark.parametrize("n", [2, 3, 5])
def test_sum_of_reals_within_rounding(hub: Any, n: int) -> None:
    inputs = [RNG.normal(scale=100, size=(4, 6)) for _ in range(n)]
    total = _run(hub, inputs, FixedPointEncoding())["agg"]
    # each client's encoding rounds by at most 2^-17
    assert np.abs(total - sum(inputs)).max() <= n * 2.0**-17


def test_sum_of_integers_is_exact(hub: Any) -> None:
    inputs = [RNG.integers(-(2**40), 2**40, size=1000) for _ in range(3)]
    total = _run(hub, inputs, None)["agg"]
    np.testing.assert_array_equal(total, sum(inputs))
    assert total.dtype == np.int64


def test_aggregator_sees_only_masked_values(hub: Any) -> None:
    inputs = [RNG.integers(2**30, 2**40, size=64) for _ in range(3)]
    _run(hub, inputs, None)
    for values in inputs:
        raw = values.astype("<i8").tobytes()
        for payload in hub.payloads("agg"):
            assert all(raw[8 * i : 8 * i + 8] not in payload for i in range(64))


def test_wrong_shape_is_rejected(hub: Any) -> None:
    hub.tamper[("c1", "masked")] = lambda masked: masked[:-1]
    results = _run(hub, [np.ones(4), np.ones(4)], FixedPointEncoding(), collect=True)
    assert isinstance(results["agg"], ProtocolError)


def test_tampered_roster_is_rejected(hub: Any) -> None:
    hub.tamper[("agg", "roster")] = lambda roster: (roster[0], roster[1][::-1])
    results = _run(hub, [np.array([1, 2]), np.array([3, 4])], None, collect=True)
    assert isinstance(results["c0"], ProtocolError)


def test_low_order_key_is_rejected(hub: Any) -> None:
    hub.tamper[("c1", "public_key")] = lambda key: bytes(32)
    results = _run(hub, [np.array([1, 2]), np.array([3, 4])], None, collect=True)
    assert isinstance(results["c0"], ProtocolError)


def test_short_key_is_rejected(hub: Any) -> None:
    hub.tamper[("c1", "public_key")] = lambda key: key[:31]
    results = _run(hub, [np.array([1, 2]), np.array([3, 4])], None, collect=True)
    assert isinstance(results["agg"], ProtocolError)


def test_local_arguments_are_checked(hub: Any) -> None:
    with pytest.raises(InvalidInputError):
        secure_sum_aggregator([hub.channel("agg", "c0")], domain=DOMAIN)
    with pytest.raises(InvalidInputError):
        secure_sum_client(hub.channel("c0", "agg"), [1.0], domain=b"")
    with pytest.raises(InvalidInputError):
        secure_sum_client(
            hub.channel("c0", "agg"), [np.nan], domain=DOMAIN, encoding=FixedPointEncoding()
        )
