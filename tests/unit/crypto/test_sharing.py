"""Ring arithmetic, fixed-point encoding and additive sharing over Z_2^64."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from chaihuo.crypto._errors import EncodingOverflowError, InvalidCryptoInputError
from chaihuo.crypto.sharing import (
    FixedPointEncoding,
    Shareholder,
    add,
    add_public,
    deal_truncation_pairs,
    decode_int64,
    encode_int64,
    mul_public,
    mul_public_fixed,
    neg,
    reconstruct,
    ring_matmul,
    share,
    sub,
    sub_public,
    truncation_combine,
    truncation_mask,
)

MOD = 1 << 64
ring_arrays = hnp.arrays(
    np.uint64, hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=5)
)
party_counts = st.integers(min_value=2, max_value=5)


def _same_shape_pair(shape: tuple[int, ...]) -> st.SearchStrategy[tuple[np.ndarray, np.ndarray]]:
    return st.tuples(hnp.arrays(np.uint64, shape), hnp.arrays(np.uint64, shape))


ring_pairs = hnp.array_shapes(min_dims=0, max_dims=3, max_side=5).flatmap(_same_shape_pair)


@given(ring_arrays, party_counts)
def test_reconstruct_inverts_share(x: np.ndarray, n: int) -> None:
    shares = share(x, n)
    assert len(shares) == n
    assert all(s.dtype == np.uint64 and s.shape == x.shape for s in shares)
    assert np.array_equal(reconstruct(shares), x)


@given(ring_pairs, party_counts)
def test_local_linear_ops_match_plaintext(pair: tuple[np.ndarray, np.ndarray], n: int) -> None:
    x, y = pair
    xs, ys = share(x, n), share(y, n)
    assert np.array_equal(reconstruct([add(a, b) for a, b in zip(xs, ys, strict=True)]), x + y)
    assert np.array_equal(reconstruct([sub(a, b) for a, b in zip(xs, ys, strict=True)]), x - y)
    assert np.array_equal(reconstruct([neg(a) for a in xs]), np.negative(x))


@given(ring_pairs, party_counts)
def test_public_constant_is_added_once(pair: tuple[np.ndarray, np.ndarray], n: int) -> None:
    x, c = pair
    xs = share(x, n)
    holders = [Shareholder(i, n) for i in range(n)]
    plus = [add_public(s, c, h) for s, h in zip(xs, holders, strict=True)]
    minus = [sub_public(s, c, h) for s, h in zip(xs, holders, strict=True)]
    assert np.array_equal(reconstruct(plus), x + c)
    assert np.array_equal(reconstruct(minus), x - c)
    for i in range(1, n):
        assert np.array_equal(plus[i], xs[i])


@given(ring_arrays, party_counts, st.integers(min_value=-(2**70), max_value=2**70))
def test_mul_public_integer(x: np.ndarray, n: int, k: int) -> None:
    shares = [mul_public(s, k) for s in share(x, n)]
    expected = np.array([(int(v) * k) % MOD for v in x.reshape(-1)], dtype=np.uint64)
    assert np.array_equal(reconstruct(shares).reshape(-1), expected)


def test_mul_public_integer_array_broadcasts_over_share() -> None:
    x = encode_int64(np.arange(12).reshape(3, 4) - 6)
    k = np.array([1, -2, 3, -4], dtype=np.int64)
    shares = [mul_public(s, k) for s in share(x, 3)]
    assert np.array_equal(decode_int64(reconstruct(shares)), (np.arange(12).reshape(3, 4) - 6) * k)
    with pytest.raises(InvalidCryptoInputError, match="enlarge"):
        mul_public(x[0], k.reshape(4, 1))


def test_mul_public_fixed_then_truncate_is_close_to_float_product() -> None:
    fp = FixedPointEncoding()
    x = np.linspace(-50.0, 50.0, 1001)
    scalar = -3.14159
    shares = share(fp.encode(x), 2)
    prods = [mul_public_fixed(s, scalar, fp) for s in shares]
    pairs = deal_truncation_pairs(x.shape, fp.frac_bits, 2)
    holders = [Shareholder(0, 2), Shareholder(1, 2)]
    masked = [truncation_mask(p, t, h) for p, t, h in zip(prods, pairs, holders, strict=True)]
    opened = reconstruct(masked)
    truncated = [truncation_combine(t, opened, h) for t, h in zip(pairs, holders, strict=True)]
    # encoding error 2^-17 per operand, scaled by the other; truncation ≤ 1 ulp = 2^-16.
    tolerance = (np.abs(x) + abs(scalar)) * 2.0**-17 + 2.0**-16 + 2.0**-34
    assert np.all(np.abs(fp.decode(reconstruct(truncated)) - x * scalar) <= tolerance)


def test_shares_look_uniform_and_fresh() -> None:
    x = np.zeros(20_000, dtype=np.uint64)
    for n in (2, 3):
        shares = share(x, n)
        for s in shares:
            # 1.28M bits, standard deviation 0.00044 around 1/2.
            bits = np.unpackbits(s.view(np.uint8))
            assert abs(bits.mean() - 0.5) < 0.005
            assert np.count_nonzero(s == x) < 5
        assert not np.array_equal(shares[0], share(x, n)[0])


def test_share_and_reconstruct_reject_bad_input() -> None:
    x = np.arange(4, dtype=np.uint64)
    with pytest.raises(InvalidCryptoInputError, match="n_parties"):
        share(x, 1)
    with pytest.raises(InvalidCryptoInputError, match="uint64"):
        share(np.arange(4, dtype=np.int64), 2)  # type: ignore[arg-type]
    with pytest.raises(InvalidCryptoInputError, match=">= 2 shares"):
        reconstruct([x])
    with pytest.raises(InvalidCryptoInputError, match="shapes differ"):
        reconstruct([x, x[:3]])
    with pytest.raises(InvalidCryptoInputError, match="shapes differ"):
        add(x, x.reshape(2, 2))


@pytest.mark.parametrize(("index", "n"), [(-1, 2), (2, 2), (0, 1), (True, 2)])
def test_shareholder_validates(index: int, n: int) -> None:
    with pytest.raises(InvalidCryptoInputError):
        Shareholder(index, n)


# ---- fixed point and integer encodings ------------------------------------------------------


@given(
    hnp.arrays(np.float64, hnp.array_shapes(min_dims=0, max_dims=2), elements=st.floats(-1e9, 1e9))
)
def test_fixed_point_round_trip_within_half_ulp(x: np.ndarray) -> None:
    fp = FixedPointEncoding()
    decoded = fp.decode(fp.encode(x))
    assert decoded.shape == x.shape
    assert np.all(np.abs(decoded - x) <= 2.0**-17 + np.abs(x) * 2.0**-52)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf, 2.0**47, -(2.0**47), 1e300])
def test_fixed_point_overflow_raises(bad: float) -> None:
    fp = FixedPointEncoding()
    with pytest.raises(EncodingOverflowError, match="not encodable"):
        fp.encode(np.array([0.0, bad, 1.0]))


def test_fixed_point_range_and_parameters() -> None:
    fp = FixedPointEncoding(20)
    assert fp.max_abs == 2.0**43 and fp.product_max_abs == 2.0**23
    edge = 2.0**43 - 1.0
    assert fp.decode(fp.encode(edge)) == edge
    assert fp.decode(fp.encode(-edge)) == -edge
    with pytest.raises(InvalidCryptoInputError):
        FixedPointEncoding(63)
    with pytest.raises(InvalidCryptoInputError):
        fp.encode(["a"])


@given(hnp.arrays(np.int64, hnp.array_shapes(min_dims=0, max_dims=2)))
def test_int64_round_trip(x: np.ndarray) -> None:
    assert np.array_equal(decode_int64(encode_int64(x)), x)


def test_int64_encoding_limits() -> None:
    assert int(encode_int64(-1)) == MOD - 1
    assert np.array_equal(encode_int64([2**63 - 1, -(2**63)]).view(np.int64), [2**63 - 1, -(2**63)])
    with pytest.raises(EncodingOverflowError):
        encode_int64([2**63])
    with pytest.raises(EncodingOverflowError):
        encode_int64(np.array([2**63], dtype=np.uint64))
    with pytest.raises(InvalidCryptoInputError, match="integers"):
        encode_int64(np.array([1.5]))


# ---- ring matmul ----------------------------------------------------------------------------


def _python_matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    rows = [
        [
            sum(int(a[i, t]) * int(b[t, j]) for t in range(a.shape[1])) % MOD
            for j in range(b.shape[1])
        ]
        for i in range(a.shape[0])
    ]
    return np.array(rows, dtype=np.uint64).reshape(a.shape[0], b.shape[1])


@settings(max_examples=30)
@given(st.integers(1, 6), st.integers(1, 6), st.integers(1, 6), st.data())
def test_numpy_uint64_matmul_wraps_like_python_ints(
    m: int, k: int, n: int, data: st.DataObject
) -> None:
    a = data.draw(hnp.arrays(np.uint64, (m, k)))
    b = data.draw(hnp.arrays(np.uint64, (k, n)))
    assert np.array_equal(ring_matmul(a, b), _python_matmul(a, b))


def test_blas_limb_matmul_is_exact() -> None:
    a = share(np.zeros((130, 300), dtype=np.uint64), 2)[0]
    b = share(np.zeros((300, 120), dtype=np.uint64), 2)[0]
    a[0, :] = np.uint64(MOD - 1)
    b[:, 0] = np.uint64(MOD - 1)
    fast = ring_matmul(a, b)  # 4.7M multiply-adds: takes the float64 limb path
    assert np.array_equal(fast, np.matmul(a, b))
    assert np.array_equal(fast[:3, :3], _python_matmul(a[:3], b[:, :3]))


def test_matmul_rejects_misaligned_shapes() -> None:
    a = np.zeros((2, 3), dtype=np.uint64)
    with pytest.raises(InvalidCryptoInputError, match="do not align"):
        ring_matmul(a, a)
    with pytest.raises(InvalidCryptoInputError, match="at least one dimension"):
        ring_matmul(a[0, 0], a)
    vec = ring_matmul(a, np.ones(3, dtype=np.uint64))
    assert vec.shape == (2,)
