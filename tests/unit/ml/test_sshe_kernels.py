"""hetero_sshe_lr building blocks: multi-exponentiation kernels, packing, fixed point, params."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from chaihuo.crypto.paillier import generate_keypair, matrix_power_products
from chaihuo.crypto.paillier._kernels import few_bases, many_bases
from chaihuo.ml.sshe import SsheParams
from chaihuo.ml.sshe._fixed import Rational, quantize, quantize_like, rescale
from chaihuo.ml.sshe._plain import epoch_stop
from chaihuo.ml.vertical import batches, exposes_residuals, he, smallest_batch

KEYS = generate_keypair(512, allow_insecure_test_key=True)  # kernels are key-size agnostic
RNG = np.random.default_rng(5)


def _bases(count: int) -> list:
    values = [int(v) for v in RNG.integers(0, 2**40, count)]
    return he.encrypt(KEYS.public_key, values, None).values


@pytest.mark.parametrize(("bases", "outputs"), [(1, 1), (7, 5), (30, 64), (3, 200)])
def test_few_bases_kernel_equals_the_reference_multi_exponentiation(
    bases: int, outputs: int
) -> None:
    exponents = RNG.integers(-(2**12), 2**12, size=(bases, outputs)).astype(np.int64)
    ciphertexts = _bases(bases)
    nsq = KEYS.public_key.nsquare
    assert few_bases(ciphertexts, exponents, nsq) == matrix_power_products(
        ciphertexts, exponents, nsq
    )


@pytest.mark.parametrize(("bases", "outputs"), [(2, 1), (9, 3), (300, 7), (500, 25)])
def test_many_bases_kernel_equals_the_reference_multi_exponentiation(
    bases: int, outputs: int
) -> None:
    exponents = RNG.integers(-(2**12), 2**12, size=(bases, outputs)).astype(np.int64)
    exponents[0] = 0  # zero rows and columns are legal too
    ciphertexts = _bases(bases)
    nsq = KEYS.public_key.nsquare
    assert many_bases(ciphertexts, exponents, nsq) == matrix_power_products(
        ciphertexts, exponents, nsq
    )


def test_matvec_computes_integer_products_exactly() -> None:
    x = RNG.integers(-4000, 4000, size=(20, 6)).astype(np.int64)
    w = [int(v) for v in RNG.integers(-(2**50), 2**50, 6)] + []
    w[0] = 2**120 + 7  # shares are big integers
    enc = he.encrypt(KEYS.private_key, w, None)
    forward = he.matvec(x, enc, None).decrypt_int(KEYS.private_key)
    assert forward == [sum(int(a) * b for a, b in zip(row, w, strict=True)) for row in x]
    v = [int(t) for t in RNG.integers(-(2**40), 2**40, 20)]
    backward = he.matvec(np.ascontiguousarray(x.T), he.encrypt(KEYS.private_key, v, None), None)
    assert (
        backward.decrypt_int(KEYS.private_key)
        == (x.T.astype(object) @ np.array(v, object)).tolist()
    )


@settings(max_examples=15, deadline=None)
@given(st.lists(st.integers(-(2**59), 2**59), min_size=1, max_size=40), st.booleans())
def test_masked_packing_round_trips(values: list[int], masked: bool) -> None:
    enc = he.encrypt(KEYS.public_key, values, None)
    packed, drawn = he.mask_pack(enc, 60, 40 if masked else 0, None)
    assert packed.ciphertexts.fresh and len(packed) == math.ceil(len(values) / packed.width)
    opened = he.open_packed(packed, KEYS.private_key, len(values), 60, 40 if masked else 0,
                            None, "test")  # fmt: skip
    assert opened == [v + r for v, r in zip(values, drawn, strict=True)]
    assert all(0 <= r < 2**100 for r in drawn) and (masked or not any(drawn))


def test_a_packed_vector_of_another_layout_is_refused() -> None:
    enc = he.encrypt(KEYS.public_key, [1, 2, 3], None)
    packed, _ = he.mask_pack(enc, 60, 40, None)
    with pytest.raises(Exception, match="expected 3 values of 90 bits"):
        he.open_packed(packed, KEYS.private_key, 3, 48, 40, None, "test")


def test_inner_product_with_long_signed_coefficients() -> None:
    x = [int(v) for v in RNG.integers(-(2**40), 2**40, 30)]
    c = [int(v) * 2**60 + 12345 for v in RNG.integers(-(2**40), 2**40, 30)]
    result = he.inner(he.encrypt(KEYS.public_key, x, None), c, None)
    assert result.decrypt_int(KEYS.private_key) == [sum(a * b for a, b in zip(x, c, strict=True))]


def test_quantize_keeps_bits_per_column_and_validation_rows_reuse_the_scales() -> None:
    x = np.column_stack([RNG.normal(size=50) * 70, RNG.normal(size=50) * 0.01, np.zeros(50)])
    q = quantize(x, 12)
    assert np.abs(q.values).max() < 2**12 and q.values.dtype == np.int64
    assert np.all(np.abs(q.reals - x)[:, :2] <= np.ldexp(0.5, -q.shifts[:2]))
    assert q.shifts.tolist()[2] == 12 and not q.values[:, 2].any()  # zeros: any scale
    again = quantize_like(x[:5] * 2, q.shifts)
    np.testing.assert_array_equal(again.shifts, q.shifts)
    with pytest.raises(ValueError, match="outside its training-time range"):
        quantize_like(np.full((1, 3), 1e30), q.shifts)


def test_each_party_rounding_its_share_keeps_the_sum_within_one_unit() -> None:
    factor = Rational(0.15 / 1234.0)
    for _ in range(200):
        secret = int(RNG.integers(-(2**40), 2**40))
        other = he.masks(1, 128)[0]
        mine = secret - other
        total = rescale([mine], factor)[0] + rescale([other], factor)[0]
        assert abs(total - factor.numerator * secret / 2**factor.shift) <= 1.0
    assert Rational(0.0).apply(10**30) == 0


def test_masks_are_uniform_below_the_bound() -> None:
    drawn = he.masks(4000, 13)
    assert min(drawn) >= 0 and max(drawn) < 2**13 and len(set(drawn)) > 3000


def test_parameters_refuse_what_shared_weights_cannot_do() -> None:
    with pytest.raises(ValidationError, match="needs reveal_every_iter: true"):
        SsheParams(optimizer="adam")
    with pytest.raises(ValidationError, match="linear in the shares"):
        SsheParams(penalty="L1")
    with pytest.raises(ValidationError, match="taylor_at_guest needs reveal_every_iter"):
        SsheParams(sigmoid="taylor_at_guest")
    with pytest.raises(ValidationError, match="encrypted_reveal_in_host"):
        SsheParams(reveal_every_iter=True, reveal_strategy="encrypted_reveal_in_host")
    with pytest.raises(ValidationError, match="batch_size"):
        SsheParams(batch_size=0)
    ok = SsheParams(reveal_every_iter=True, optimizer="ADAM", penalty="l1", max_iter=3)
    assert ok.epochs == 3 and "learning_rate" not in ok.protocol()
    assert "learning_rate" in SsheParams().protocol()


def test_batches_cover_every_row_once_and_agree_across_parties() -> None:
    parts = batches(103, 20, seed=4, epoch=2, shuffle=True)
    assert sorted(np.concatenate(parts).tolist()) == list(range(103))
    # near-equal parts (the shared schedule): no 3-row remainder for a party to solve
    assert sorted(len(b) for b in parts) == [17] * 5 + [18]
    again = batches(103, 20, seed=4, epoch=2, shuffle=True)
    assert all(np.array_equal(a, b) for a, b in zip(parts, again, strict=True))
    assert smallest_batch(103, 20) == 17 and smallest_batch(100, -1) == 100
    assert exposes_residuals(103, 20, 17) and not exposes_residuals(103, 20, 16)


def test_convergence_rules() -> None:
    diff = epoch_stop(SsheParams(tol=0.01), validating=False)
    assert diff.update(1.0, None) == (False, False) and diff.update(0.995, None)[1]
    rounds = epoch_stop(SsheParams(tol=0, early_stopping_rounds=2), validating=True)
    steps = [rounds.update(None, v) for v in (0.5, 0.4, 0.45, 0.41)]
    assert steps == [(True, False), (True, False), (False, False), (False, True)]
    assert rounds.best_epoch == 1
