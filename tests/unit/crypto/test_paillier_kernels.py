"""The one Paillier matrix × encrypted-vector kernel: every method and both pool splits agree."""

from __future__ import annotations

import numpy as np
import pytest

from chaihuo.crypto.paillier import (
    PaillierKeyPair,
    PaillierPool,
    matrix_power_products,
    pooled_power_products,
    power_products,
)
from chaihuo.crypto.paillier import _parallel as paillier_parallel

RNG = np.random.default_rng(17)


def _case(keys: PaillierKeyPair, rows: int, cols: int, bits: int) -> tuple[list, np.ndarray]:
    values = [int(v) for v in RNG.integers(0, 2**40, rows)]
    bases = keys.public_key.raw_encrypt(values)
    exponents = RNG.integers(-(2 ** (bits - 1)), 2 ** (bits - 1), size=(rows, cols))
    exponents[:, 0] = 0  # a zero column is legal
    return bases, exponents.astype(np.int64)


@pytest.mark.parametrize(
    ("rows", "cols", "bits"),
    [(600, 7, 17), (9, 300, 17), (40, 40, 17), (200, 3, 40), (0, 4, 8), (1, 1, 2)],
    ids=["many-bases", "few-bases", "square", "long-exponents", "empty", "single"],
)
def test_every_method_equals_the_reference(
    keys2048: PaillierKeyPair, rows: int, cols: int, bits: int
) -> None:
    bases, exponents = _case(keys2048, rows, cols, bits)
    nsq = keys2048.public_key.nsquare
    assert power_products(bases, exponents, nsq) == matrix_power_products(bases, exponents, nsq)


@pytest.mark.parametrize(("rows", "cols"), [(900, 5), (6, 500)], ids=["row-split", "column-split"])
def test_the_pool_splits_rows_or_columns_and_agrees(
    keys2048: PaillierKeyPair,
    pool: PaillierPool,
    monkeypatch: pytest.MonkeyPatch,
    rows: int,
    cols: int,
) -> None:
    bases, exponents = _case(keys2048, rows, cols, 17)
    nsq = keys2048.public_key.nsquare
    expected = power_products(bases, exponents, nsq)
    monkeypatch.setattr(paillier_parallel, "POOL_MIN_CELLS", 0)
    assert pooled_power_products(bases, exponents, nsq, pool) == expected
    decrypted = [keys2048.private_key.raw_decrypt([c])[0] for c in expected[1:3]]
    plain = np.array([int(v) for v in keys2048.private_key.raw_decrypt(bases)], dtype=object)
    n = int(keys2048.public_key.n)
    assert [int(d) for d in decrypted] == [
        int(exponents[:, k].astype(object) @ plain) % n for k in (1, 2)
    ]


def test_rows_and_bases_must_match(keys2048: PaillierKeyPair) -> None:
    bases, exponents = _case(keys2048, 5, 2, 8)
    with pytest.raises(ValueError, match="4 exponent rows for 5 bases"):
        power_products(bases, exponents[:4], keys2048.public_key.nsquare)
