"""R24: homomorphic properties of Paillier on 10,000 random cases per property and key size."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chaihuo.crypto.paillier import EncryptedVector, FixedPoint, PaillierKeyPair, PaillierPool

# 100 hypothesis examples × 100 values = 10,000 cases per property and key size (R24).
CASES = st.lists(st.integers(-(2**62), 2**62 - 1), min_size=100, max_size=100)
SETTINGS = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=False,
)
EXACT = FixedPoint(exponent=0, value_bits=64)


@SETTINGS
@given(a=CASES, b=CASES)
def test_decrypt_of_ciphertext_sum_is_plaintext_sum(
    keys: PaillierKeyPair, pool: PaillierPool, a: list[int], b: list[int]
) -> None:
    pk, sk = keys
    enc_a = EncryptedVector.encrypt(pk, np.array(a, dtype=object), EXACT, pool=pool)
    enc_b = EncryptedVector.encrypt(pk, np.array(b, dtype=object), EXACT, pool=pool)
    assert (enc_a + enc_b).decrypt_int(sk, pool=pool) == [x + y for x, y in zip(a, b, strict=True)]


@SETTINGS
@given(a=CASES, k=CASES)
def test_decrypt_of_scalar_product_is_plaintext_product(
    keys: PaillierKeyPair, pool: PaillierPool, a: list[int], k: list[int]
) -> None:
    pk, sk = keys
    enc_a = EncryptedVector.encrypt(pk, np.array(a, dtype=object), EXACT, pool=pool)
    product = enc_a.mul(np.array(k, dtype=np.int64), pool=pool)
    assert product.decrypt_int(sk, pool=pool) == [x * y for x, y in zip(a, k, strict=True)]


@SETTINGS
@given(a=CASES, b=CASES)
def test_decrypt_of_ciphertext_plus_plaintext_is_sum(
    keys: PaillierKeyPair, pool: PaillierPool, a: list[int], b: list[int]
) -> None:
    pk, sk = keys
    enc_a = EncryptedVector.encrypt(pk, np.array(a, dtype=object), EXACT, pool=pool)
    total = enc_a + np.array(b, dtype=np.int64)
    assert total.decrypt_int(sk, pool=pool) == [x + y for x, y in zip(a, b, strict=True)]


FLOATS = st.lists(
    st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False), min_size=20, max_size=20
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(a=FLOATS, b=FLOATS)
def test_fixed_point_floats_within_relative_1e9(
    keys2048: PaillierKeyPair, a: list[float], b: list[float]
) -> None:
    # Exponent 40: absolute error ≤ 2^-41 per encoded operand, so |error| ≤ 1e-9·max(1, |x|).
    pk, sk = keys2048
    codec = FixedPoint(exponent=40, value_bits=64)
    total = EncryptedVector.encrypt(pk, a, codec) + EncryptedVector.encrypt(pk, b, codec)
    expected = np.array(a) + np.array(b)
    np.testing.assert_allclose(total.decrypt(sk), expected, rtol=1e-9, atol=1e-9)
