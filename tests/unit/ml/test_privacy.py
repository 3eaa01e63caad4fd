"""Client-level DP: RDP accounting against dp_accounting and quadrature; noise; clipping."""

from __future__ import annotations

import json
import math
from collections.abc import Callable

import dp_accounting
import numpy as np
import pytest
from dp_accounting.rdp import RdpAccountant as ReferenceAccountant
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from chaihuo.core import InvalidInputError
from chaihuo.ml.privacy import (
    DEFAULT_ORDERS,
    RdpAccountant,
    clip_by_l2,
    distributed_noise_std,
    gaussian_noise,
    noise_multiplier_for,
)

# (σ, q, steps, δ). The first is TF Privacy's MNIST tutorial (batch 256 of 60 000, 60
# epochs); the last two put the optimum at an order whose series dp_accounting and we both
# give up on (ρ = ∞ at α ≤ 1.6), and at a tiny q where A_α − 1 is ~1e-7.
SETTINGS = [
    (1.1, 256 / 60_000, 14_063, 1e-5),
    (1.0, 0.01, 10_000, 1e-5),
    (0.7, 0.1, 100, 1e-5),
    (4.0, 1.0, 50, 1e-5),
    (1.3, 0.05, 1_000, 1e-5),
    (0.5, 0.3, 10, 1e-6),
    (10.0, 0.001, 100_000, 1e-5),
]
RELATIVE = 1e-6


def reference(sigma: float, q: float, steps: int) -> ReferenceAccountant:
    accountant = ReferenceAccountant(orders=list(DEFAULT_ORDERS))
    event = dp_accounting.PoissonSampledDpEvent(q, dp_accounting.GaussianDpEvent(sigma))
    accountant.compose(event, steps)
    return accountant


def spent(sigma: float, q: float, steps: int) -> RdpAccountant:
    accountant = RdpAccountant()
    accountant.step(sigma, q, steps)
    return accountant


@pytest.mark.parametrize(("sigma", "q", "steps", "delta"), SETTINGS)
def test_epsilon_equals_dp_accounting(sigma: float, q: float, steps: int, delta: float) -> None:
    ours, theirs = spent(sigma, q, steps), reference(sigma, q, steps)
    assert ours.epsilon(delta) == pytest.approx(theirs.get_epsilon(delta), rel=RELATIVE)
    rdp, ref_rdp = np.array(ours.rdp), np.array(theirs._rdp)  # their RDP vector: no public getter
    np.testing.assert_array_equal(np.isinf(rdp), np.isinf(ref_rdp))
    finite = np.isfinite(ref_rdp)
    np.testing.assert_allclose(rdp[finite], ref_rdp[finite], rtol=RELATIVE)
    epsilon = ours.epsilon(delta)
    assert ours.delta(epsilon) == pytest.approx(theirs.get_delta(epsilon), rel=RELATIVE)
    assert ours.delta(epsilon) == pytest.approx(delta, rel=RELATIVE)


def test_mixed_rounds_compose_as_dp_accounting_does() -> None:
    ours, theirs = RdpAccountant(), ReferenceAccountant(orders=list(DEFAULT_ORDERS))
    for sigma, q, steps in [(1.1, 0.01, 500), (0.8, 0.05, 20), (2.0, 1.0, 3)]:
        ours.step(sigma, q, steps)
        event = dp_accounting.PoissonSampledDpEvent(q, dp_accounting.GaussianDpEvent(sigma))
        theirs.compose(event, steps)
    assert ours.epsilon(1e-5) == pytest.approx(theirs.get_epsilon(1e-5), rel=RELATIVE)


def log_a_by_quadrature(q: float, sigma: float, alpha: float) -> float:
    """log E_{z∼N(0,σ²)}[(1 − q + q·N(1,σ²)(z)/N(0,σ²)(z))^α] by the trapezoid rule."""
    z = np.linspace(-40 * sigma, 40 * sigma + alpha + 1, 400_001)
    log_mix = np.logaddexp(math.log1p(-q), math.log(q) + (2 * z - 1) / (2 * sigma**2))
    log_f = -(z**2) / (2 * sigma**2) - 0.5 * math.log(2 * math.pi * sigma**2) + alpha * log_mix
    top = float(log_f.max())
    return top + math.log(float(np.trapezoid(np.exp(log_f - top), z)))


@pytest.mark.parametrize(
    ("q", "sigma", "alpha"),
    [(0.01, 1.0, 5.0), (0.1, 0.7, 12.0), (0.5, 2.0, 20.5), (0.01, 1.0, 4.1), (0.1, 0.7, 2.1)],
)
def test_rdp_is_the_divergence_integral(q: float, sigma: float, alpha: float) -> None:
    # Integer orders are exact. Fractional orders sum |C(α, i)|, an upper bound on A_α that
    # is sound for privacy; it exceeds the integral by ≈ 0.3 % at α = 2.1 (MTZ19 §3.3).
    accountant = RdpAccountant(orders=(alpha,))
    accountant.step(sigma, q)
    expected = log_a_by_quadrature(q, sigma, alpha) / (alpha - 1)
    if alpha.is_integer():
        assert accountant.rdp[0] == pytest.approx(expected, rel=1e-9)
    else:
        assert expected * (1 - 1e-9) <= accountant.rdp[0] <= expected * 1.01


@pytest.mark.parametrize("sigma", [0.5, 1.0, 4.0])
def test_full_participation_is_the_gaussian_mechanism(sigma: float) -> None:
    orders = np.array(DEFAULT_ORDERS)
    closed = 7 * orders / (2 * sigma**2)  # Mironov 2017, Prop. 7, composed 7 times
    np.testing.assert_allclose(spent(sigma, 1.0, 7).rdp, closed, rtol=1e-15)
    # The subsampled series tends to it as q → 1, at integer and fractional orders alike.
    nearly = np.array(spent(sigma, 1 - 1e-9, 7).rdp)
    np.testing.assert_allclose(nearly[orders <= 64], closed[orders <= 64], rtol=1e-6)
    delta = 1e-5
    by_hand = closed + np.log1p(-1 / orders) - (math.log(delta) + np.log(orders)) / (orders - 1)
    assert spent(sigma, 1.0, 7).epsilon(delta) == pytest.approx(by_hand[orders > 1.01].min())


def test_no_sampling_or_no_steps_spends_nothing() -> None:
    for accountant in (spent(1.0, 0.0, 1000), spent(1.0, 0.5, 0), RdpAccountant()):
        assert accountant.rdp == (0.0,) * len(DEFAULT_ORDERS)
        assert accountant.epsilon(1e-5) == 0.0
        assert accountant.delta(0.0) == 0.0


def test_composition_adds() -> None:
    once, many = spent(1.1, 0.02, 20), RdpAccountant()
    for _ in range(20):
        many.step(1.1, 0.02)
    np.testing.assert_allclose(once.rdp, many.rdp, rtol=1e-12)
    assert once.epsilon(1e-5) == pytest.approx(many.epsilon(1e-5), rel=1e-12)


def test_epsilon_grows_with_steps_and_rate_and_falls_with_noise() -> None:
    by_steps = [spent(1.0, 0.01, t).epsilon(1e-5) for t in (10, 100, 1000, 10_000)]
    by_rate = [spent(1.0, q, 100).epsilon(1e-5) for q in (0.001, 0.01, 0.1, 1.0)]
    by_noise = [spent(s, 0.01, 1000).epsilon(1e-5) for s in (0.6, 0.8, 1.0, 2.0, 5.0)]
    assert by_steps == sorted(by_steps) and len(set(by_steps)) == 4
    assert by_rate == sorted(by_rate) and len(set(by_rate)) == 4
    assert by_noise == sorted(by_noise, reverse=True) and len(set(by_noise)) == 5
    accountant = spent(1.0, 0.01, 1000)
    eps = [accountant.epsilon(d) for d in (1e-9, 1e-7, 1e-5, 1e-3)]
    assert eps == sorted(eps, reverse=True)


@pytest.mark.parametrize(("sigma", "q", "steps", "delta"), SETTINGS[:5])
def test_noise_multiplier_for_round_trips(sigma: float, q: float, steps: int, delta: float) -> None:
    target = spent(sigma, q, steps).epsilon(delta)
    found = noise_multiplier_for(target, delta, q, steps)
    assert found == pytest.approx(sigma, rel=1e-5)
    assert spent(found, q, steps).epsilon(delta) <= target
    assert spent(found * (1 - 1e-5), q, steps).epsilon(delta) > target


def test_noise_multiplier_for_small_and_large_targets() -> None:
    for target in (0.1, 50.0):
        found = noise_multiplier_for(target, 1e-5, 0.01, 1000)
        assert spent(found, 0.01, 1000).epsilon(1e-5) <= target
        assert spent(found * (1 - 1e-5), 0.01, 1000).epsilon(1e-5) > target


def test_state_survives_a_json_checkpoint() -> None:
    accountant = spent(0.5, 0.3, 10)  # some fractional orders are ∞: written as null
    assert math.inf in accountant.rdp
    text = json.dumps(accountant.to_dict(), allow_nan=False)
    resumed = RdpAccountant.from_dict(json.loads(text))
    assert resumed.orders == accountant.orders and resumed.rdp == accountant.rdp
    accountant.step(1.2, 0.01, 40)
    resumed.step(1.2, 0.01, 40)
    assert resumed.rdp == accountant.rdp
    assert resumed.epsilon(1e-5) == accountant.epsilon(1e-5)
    custom = RdpAccountant(orders=(1.5, 2.0, 32.0))
    custom.step(1.0, 0.1, 5)
    assert RdpAccountant.from_dict(custom.to_dict()).rdp == custom.rdp


@pytest.mark.parametrize(
    ("state", "argument"),
    [
        ({"orders": [2.0, 3.0]}, "data"),
        ({"orders": [2.0, 3.0], "rdp": [0.1], "x": 1}, "data"),
        ({"orders": [2.0, 3.0], "rdp": [0.1]}, "rdp"),
        ({"orders": [2.0, 3.0], "rdp": [0.1, -0.2]}, "rdp"),
        ({"orders": [2.0, 3.0], "rdp": [0.1, "0.2"]}, "rdp"),
        ({"orders": [1.0, 3.0], "rdp": [0.1, 0.2]}, "orders"),
        ({"orders": [], "rdp": []}, "orders"),
        ({"orders": "23", "rdp": [0.1, 0.2]}, "orders"),
    ],
)
def test_malformed_checkpoints_are_refused(state: dict[str, object], argument: str) -> None:
    with pytest.raises(InvalidInputError, match=argument):
        RdpAccountant.from_dict(state)


@pytest.mark.parametrize(
    ("call", "argument"),
    [
        (lambda a: a.step(0.0, 0.1), "noise_multiplier"),
        (lambda a: a.step(-1.0, 0.1), "noise_multiplier"),
        (lambda a: a.step(math.nan, 0.1), "noise_multiplier"),
        (lambda a: a.step(math.inf, 0.1), "noise_multiplier"),
        (lambda a: a.step(1.0, -0.1), "sample_rate"),
        (lambda a: a.step(1.0, 1.5), "sample_rate"),
        (lambda a: a.step(1.0, 0.1, -1), "steps"),
        (lambda a: a.step(1.0, 0.1, 2.5), "steps"),
        (lambda a: a.step(1.0, 0.1, True), "steps"),
        (lambda a: a.epsilon(0.0), "delta"),
        (lambda a: a.epsilon(1.0), "delta"),
        (lambda a: a.best_order(-1e-5), "delta"),
        (lambda a: a.delta(-1.0), "epsilon"),
        (lambda a: RdpAccountant(orders=(0.5, 2.0)), "orders"),
        (lambda a: RdpAccountant(orders=(2.0, 2.0)), "orders"),
        (lambda a: noise_multiplier_for(0.0, 1e-5, 0.01, 100), "target_epsilon"),
        (lambda a: noise_multiplier_for(1.0, 2.0, 0.01, 100), "delta"),
        (lambda a: noise_multiplier_for(1.0, 1e-5, 0.0, 100), "sample_rate"),
        (lambda a: noise_multiplier_for(1.0, 1e-5, 0.01, 0), "steps"),
        (lambda a: distributed_noise_std(0.0, 1.0, 10), "noise_multiplier"),
        (lambda a: distributed_noise_std(1.0, -1.0, 10), "max_norm"),
        (lambda a: distributed_noise_std(1.0, 1.0, 0), "clients"),
        (lambda a: gaussian_noise(3, -1.0), "std"),
        (lambda a: gaussian_noise((3, -1), 1.0), "shape"),
        (lambda a: clip_by_l2(np.ones(3), 0.0), "max_norm"),
        (lambda a: clip_by_l2(np.array([1.0, math.nan]), 1.0), "update"),
    ],
)
def test_bad_arguments_name_the_argument(
    call: Callable[[RdpAccountant], object], argument: str
) -> None:
    with pytest.raises(InvalidInputError, match=argument):
        call(RdpAccountant())


def test_best_order_is_where_epsilon_is_attained() -> None:
    accountant = spent(1.1, 256 / 60_000, 14_063)
    order = accountant.best_order(1e-5)
    alone = RdpAccountant(orders=(order,))
    alone.step(1.1, 256 / 60_000, 14_063)
    assert alone.epsilon(1e-5) == pytest.approx(accountant.epsilon(1e-5), rel=1e-12)


finite_floats = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)


@settings(max_examples=200, deadline=None)
@given(
    update=hnp.arrays(
        np.float64, hnp.array_shapes(max_dims=3, max_side=20), elements=finite_floats
    ),
    max_norm=st.floats(1e-3, 1e3),
)
def test_clipping_bounds_the_norm_and_keeps_the_direction(
    update: np.ndarray, max_norm: float
) -> None:
    before = update.copy()
    clipped, norm = clip_by_l2(update, max_norm)
    np.testing.assert_array_equal(update, before)  # the input is not touched
    assert clipped is not update and clipped.shape == update.shape
    assert norm == pytest.approx(float(np.linalg.norm(update)), rel=1e-12)
    assert float(np.linalg.norm(clipped)) <= max_norm
    if norm <= max_norm:
        np.testing.assert_array_equal(clipped, update)
    else:
        np.testing.assert_allclose(clipped, update * (max_norm / norm), rtol=1e-12, atol=0)


def test_clipping_huge_updates_does_not_overflow() -> None:
    clipped, norm = clip_by_l2(np.full(4, 1e200), 2.0)
    assert norm == pytest.approx(2e200)
    np.testing.assert_allclose(clipped, np.ones(4), rtol=1e-12)
    assert clip_by_l2(np.zeros(0), 1.0)[1] == 0.0


def test_distributed_noise_sums_to_the_central_noise() -> None:
    # Standard errors for d samples of N(0, s²): the mean s/√d, the sample std s/√(2d)
    # (0.16 % at d = 2·10⁵). The 1 % tolerance is over six of them.
    sigma, clip, clients, d = 1.1, 0.5, 10, 200_000
    rng = np.random.default_rng(20240601)
    shares = [
        gaussian_noise(d, distributed_noise_std(sigma, clip, clients), rng) for _ in range(clients)
    ]
    total = np.sum(shares, axis=0)
    assert float(total.std()) == pytest.approx(sigma * clip, rel=0.01)
    assert abs(float(total.mean())) < 6 * sigma * clip / math.sqrt(d)
    # Four drop out after drawing: the survivors' sum carries σC·√(6/10).
    survivors = np.sum(shares[:6], axis=0)
    assert float(survivors.std()) == pytest.approx(sigma * clip * math.sqrt(0.6), rel=0.01)
    assert distributed_noise_std(sigma, clip, 1) == sigma * clip


def test_default_noise_is_fresh_and_shaped() -> None:
    a, b = gaussian_noise((300, 400), 2.0), gaussian_noise((300, 400), 2.0)
    assert a.shape == (300, 400) and a.dtype == np.float64
    assert not np.array_equal(a, b)
    assert float(a.std()) == pytest.approx(2.0, rel=0.02)  # > 9 standard errors at 1.2·10⁵
    np.testing.assert_array_equal(gaussian_noise(5, 0.0), np.zeros(5))
