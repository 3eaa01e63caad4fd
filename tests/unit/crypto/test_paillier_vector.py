"""EncryptedVector operations against numpy, overflow policy (R25) and the worker pool."""

from __future__ import annotations

import numpy as np
import pytest

from chaihuo.crypto import EncodingOverflowError, ExponentMismatchError, KeyMismatchError
from chaihuo.crypto.paillier import (
    EncryptedVector,
    FixedPoint,
    PaillierKeyPair,
    PaillierPool,
    decode_signed,
)

RNG = np.random.default_rng(7)


def test_float_arithmetic_matches_numpy(keys2048: PaillierKeyPair) -> None:
    pk, sk = keys2048
    a, b, w = RNG.normal(size=30), RNG.normal(size=30), RNG.normal(size=30)
    enc_a, enc_b = EncryptedVector.encrypt(pk, a), EncryptedVector.encrypt(pk, b)
    tol = 2.0**-20  # exponent 24: 2^-25 per operand, summed over a few operations
    np.testing.assert_allclose((enc_a + enc_b).decrypt(sk), a + b, atol=tol)
    np.testing.assert_allclose((enc_a - enc_b).decrypt(sk), a - b, atol=tol)
    np.testing.assert_allclose((enc_a - b).decrypt(sk), a - b, atol=tol)
    np.testing.assert_allclose((1.5 - enc_a).decrypt(sk), 1.5 - a, atol=tol)
    np.testing.assert_allclose((-enc_a).decrypt(sk), -a, atol=tol)
    np.testing.assert_allclose((enc_a * w).decrypt(sk), a * w, atol=tol)
    np.testing.assert_allclose((enc_a * 2.5).decrypt(sk), a * 2.5, atol=tol)
    np.testing.assert_allclose(enc_a.sum().decrypt(sk), [a.sum()], atol=tol)
    np.testing.assert_allclose(enc_a.dot(w).decrypt(sk), [a @ w], atol=tol)
    assert (enc_a * w).exponent == 48


def test_matrix_times_encrypted_vector_matches_numpy(keys: PaillierKeyPair) -> None:
    pk, sk = keys
    x, d = RNG.normal(size=(120, 9)), RNG.normal(size=120)
    result = x.T @ EncryptedVector.encrypt(pk, d)
    # X encoded with 2^-24 steps: |error| ≤ Σ_i (|x_i|·2^-25 + |d_i|·2^-25) ≈ 120·4·2^-25.
    np.testing.assert_allclose(result.decrypt(sk), x.T @ d, atol=1e-5)
    short = EncryptedVector.encrypt(pk, d).rmatmul(x.T, exponent=16)
    np.testing.assert_allclose(short.decrypt(sk), x.T @ d, atol=120 * 4 * 2.0**-17)


@pytest.mark.parametrize("columns", [1, 3, 40])
def test_integer_matvec_is_exact_for_both_algorithms(
    keys2048: PaillierKeyPair, columns: int
) -> None:
    pk, sk = keys2048
    x = RNG.integers(-(2**20), 2**20, size=(64, columns))
    d = RNG.integers(-(2**30), 2**30, size=64)
    result = x.T @ EncryptedVector.encrypt(pk, d, FixedPoint(0))
    assert result.decrypt_int(sk) == [int(v) for v in (x.T.astype(object) @ d.astype(object))]


def test_sparse_non_negative_matrix_is_exact(keys2048: PaillierKeyPair) -> None:
    pk, sk = keys2048
    x = (RNG.random((80, 12)) < 0.1).astype(np.int64)
    d = RNG.integers(-1000, 1000, size=80)
    result = x.T @ EncryptedVector.encrypt(pk, d, FixedPoint(0))
    assert result.decrypt_int(sk) == (x.T @ d).tolist()


def test_slicing_and_concatenation(keys2048: PaillierKeyPair) -> None:
    pk, sk = keys2048
    vector = EncryptedVector.encrypt(pk, np.arange(10), FixedPoint(0))
    assert vector[2:5].decrypt_int(sk) == [2, 3, 4]
    assert vector[[9, 0]].decrypt_int(sk) == [9, 0]
    assert vector[np.arange(10) % 3 == 0].decrypt_int(sk) == [0, 3, 6, 9]
    assert vector[4].decrypt_int(sk) == [4]
    joined = EncryptedVector.concat([vector[:2], vector[8:]])
    assert joined.decrypt_int(sk) == [0, 1, 8, 9]
    assert (vector + vector[0]).decrypt_int(sk) == list(range(10))


def test_operations_under_two_keys_are_refused(
    keys2048: PaillierKeyPair, other_keys: PaillierKeyPair
) -> None:
    mine = EncryptedVector.encrypt(keys2048.public_key, [1.0])
    theirs = EncryptedVector.encrypt(other_keys.public_key, [1.0])
    with pytest.raises(KeyMismatchError):
        _ = mine + theirs
    with pytest.raises(KeyMismatchError):
        theirs.decrypt(keys2048.private_key)


def test_adding_different_exponents_is_refused(keys2048: PaillierKeyPair) -> None:
    pk = keys2048.public_key
    with pytest.raises(ExponentMismatchError):
        _ = EncryptedVector.encrypt(pk, [1.0]) + EncryptedVector.encrypt(pk, [1.0], FixedPoint(8))


def test_encoding_beyond_value_bits_raises() -> None:
    codec = FixedPoint(exponent=0, value_bits=16)
    assert codec.encode([2**16 - 1, -(2**16) + 1]) == [2**16 - 1, -(2**16) + 1]
    with pytest.raises(EncodingOverflowError):
        codec.encode([2**16])
    with pytest.raises(EncodingOverflowError):
        FixedPoint().encode([float("nan")])
    with pytest.raises(EncodingOverflowError):
        FixedPoint().encode([float("inf")])


def test_decoding_the_overflow_band_raises(keys2048: PaillierKeyPair) -> None:
    pk, sk = keys2048
    n = int(pk.n)
    assert decode_signed([n // 3, n - n // 3], n) == [n // 3, -(n // 3)]
    wrapped = EncryptedVector(
        pk, pk.raw_encrypt([n // 2]), exponent=0, bound_bits=1, codec=FixedPoint(0)
    )
    with pytest.raises(EncodingOverflowError, match="overflow band"):
        wrapped.decrypt_int(sk)


def test_a_sum_that_could_cross_max_int_is_refused(keys2048: PaillierKeyPair) -> None:
    pk = keys2048.public_key
    limit = int(pk.max_int).bit_length() - 1
    big = EncryptedVector.encrypt(pk, [2**1000], FixedPoint(0, limit))
    with pytest.raises(EncodingOverflowError, match="bits"):
        _ = big + big


def test_two_hundred_chained_scalar_multiplications_are_refused_in_time(
    keys2048: PaillierKeyPair,
) -> None:
    pk, sk = keys2048
    vector = EncryptedVector.encrypt(pk, [3], FixedPoint(0))
    steps = 0
    with pytest.raises(EncodingOverflowError):
        for _ in range(200):
            vector = vector * (2**62 + 1)
            steps += 1
    assert 0 < steps < 200
    assert vector.decrypt_int(sk) == [3 * (2**62 + 1) ** steps]


def test_pool_results_equal_single_process_results(
    keys2048: PaillierKeyPair, pool: PaillierPool
) -> None:
    sk = keys2048.private_key
    values = RNG.integers(-(2**40), 2**40, size=300)
    encrypted = EncryptedVector.encrypt(sk, values, FixedPoint(0), pool=pool)
    assert encrypted.decrypt_int(sk, pool=pool) == values.tolist()
    matrix = RNG.integers(-50, 50, size=(300, 20))
    by_pool = encrypted.rmatmul(matrix.T, pool=pool)
    assert by_pool.decrypt_int(sk) == (matrix.T.astype(object) @ values.astype(object)).tolist()
    fresh = encrypted.rerandomize(pool=pool)
    assert fresh.decrypt_int(sk, pool=pool) == values.tolist()
    scaled = encrypted.mul(np.full(300, -3), pool=pool)
    assert scaled.decrypt_int(sk, pool=pool) == (values * -3).tolist()
