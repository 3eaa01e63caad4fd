"""Homomorphic steps of the GLM protocol: quantisation, X^T[[d]] (pooled or not), masks."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chaihuo.crypto import EncodingOverflowError
from chaihuo.crypto.paillier import (
    EncryptedVector,
    FixedPoint,
    PackedVector,
    PaillierPool,
    generate_keypair,
)
from chaihuo.crypto.paillier import _parallel as paillier_parallel
from chaihuo.ml.glm._secure import (
    decrypt_masked,
    encrypted_matvec,
    mask_gradient,
    quantize,
    unmask,
)
from chaihuo.ml.vertical import batches, smallest_batch

KEYS = generate_keypair(512, allow_insecure_test_key=True)


@settings(max_examples=40, deadline=None)
@given(
    st.integers(4, 30),
    st.floats(1e-6, 1e6),
    st.integers(1, 40),
)
def test_quantize_keeps_bits_per_column_whatever_the_scale(
    bits: int, scale: float, rows: int
) -> None:
    x = np.random.default_rng(rows).normal(size=(rows, 3)) * np.array([scale, 1.0, 0.0])
    q = quantize(x, bits)
    assert np.abs(q.values).max() <= 2**bits
    restored = np.ldexp(q.values.astype(np.float64), -q.shifts[np.newaxis, :].astype(np.int32))
    peak = np.abs(x).max(axis=0)
    assert np.all(np.abs(restored - x) <= peak * 2.0**-bits + 1e-300)


def _encrypted(values: np.ndarray) -> EncryptedVector:
    return EncryptedVector.encrypt(KEYS.public_key, values, FixedPoint(24))


def test_matvec_is_exact_and_the_pool_splits_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(0)
    d = rng.normal(size=300)
    q = quantize(rng.normal(size=(300, 7)), 12)
    vector = _encrypted(d)
    encoded = np.array(FixedPoint(24).encode(d), dtype=object)
    expected = [int(v) for v in q.values.T.astype(object) @ encoded]
    plain = encrypted_matvec(vector, q.values, None)
    assert plain.decrypt_int(KEYS.private_key) == expected
    monkeypatch.setattr(paillier_parallel, "POOL_MIN_CELLS", 0)
    with PaillierPool(2) as pool:
        pooled = encrypted_matvec(vector, q.values, pool)
    assert pooled.decrypt_int(KEYS.private_key) == expected
    assert pooled.exponent == vector.exponent and pooled.bound_bits == plain.bound_bits


def test_masked_gradient_is_packed_and_unmasks_exactly() -> None:
    rng = np.random.default_rng(1)
    d = rng.normal(size=50)
    q = quantize(rng.normal(size=(50, 9)), 10)
    gradient = encrypted_matvec(_encrypted(d), q.values, None)
    masked, masks = mask_gradient(gradient)
    assert isinstance(masked, PackedVector) and len(masked) < 9
    seen = decrypt_masked(masked, KEYS.private_key, None)
    true = gradient.decrypt_int(KEYS.private_key)
    assert all(abs(s - t) > 2**20 for s, t in zip(seen, true, strict=True))  # hidden
    result = unmask(seen, masks, gradient.exponent, q.shifts)
    reference = (q.values.T @ d) * np.ldexp(1.0, -q.shifts.astype(np.int32))
    np.testing.assert_allclose(result, reference, rtol=1e-6, atol=1e-6)


def test_a_single_gradient_value_is_masked_without_packing() -> None:
    gradient = encrypted_matvec(_encrypted(np.array([0.5, -0.25])), np.array([[3], [4]]), None)
    masked, masks = mask_gradient(gradient)
    assert isinstance(masked, EncryptedVector)
    values = decrypt_masked(masked, KEYS.private_key, None)
    assert unmask(values, masks, gradient.exponent, np.zeros(1, np.int64))[0] == 0.5


def test_matvec_refuses_what_the_key_cannot_decode() -> None:
    vector = EncryptedVector.encrypt(KEYS.public_key, np.ones(4), FixedPoint(24, 480))
    with pytest.raises(EncodingOverflowError, match="floating_point_precision"):
        encrypted_matvec(vector, np.full((4, 2), 2**40), None)
    with pytest.raises(EncodingOverflowError):
        mask_gradient(encrypted_matvec(vector, np.ones((4, 2), np.int64), None))


@given(st.integers(1, 500), st.integers(-1, 600), st.integers(0, 5))
def test_batches_cover_every_row_once_and_are_near_equal(rows: int, size: int, epoch: int) -> None:
    size = -1 if size <= 0 else size
    parts = batches(rows, size, 7, epoch, shuffle=True)
    joined = np.sort(np.concatenate(parts))
    assert np.array_equal(joined, np.arange(rows))
    assert min(len(p) for p in parts) == smallest_batch(rows, size)
    assert max(len(p) for p in parts) - min(len(p) for p in parts) <= 1
