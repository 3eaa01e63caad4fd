"""Shared Paillier keys and a worker pool for the crypto unit tests (built once per session)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from chaihuo.crypto.paillier import PaillierKeyPair, PaillierPool, generate_keypair


@pytest.fixture(scope="session")
def keys2048() -> PaillierKeyPair:
    return generate_keypair(2048)


@pytest.fixture(scope="session")
def keys3072() -> PaillierKeyPair:
    return generate_keypair(3072)


@pytest.fixture(scope="session", params=[2048, 3072], ids=["2048", "3072"])
def keys(request: pytest.FixtureRequest) -> PaillierKeyPair:
    return request.getfixturevalue(f"keys{request.param}")


@pytest.fixture(scope="session")
def other_keys() -> PaillierKeyPair:
    return generate_keypair(2048)


@pytest.fixture(scope="session")
def pool() -> Iterator[PaillierPool]:
    with PaillierPool(workers=2) as workers:
        yield workers
