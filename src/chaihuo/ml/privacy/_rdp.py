"""Rényi-DP accounting of the Poisson-subsampled Gaussian mechanism, converted to (ε, δ)-DP."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

import numpy as np
from numpy.typing import NDArray

from chaihuo.core import InvalidInputError

__all__ = ["DEFAULT_ORDERS", "RdpAccountant", "noise_multiplier_for"]

# Rényi DP (Mironov, "Rényi Differential Privacy", CSF 2017). A mechanism M is (α, ρ)-RDP when
# D_α(M(D) ‖ M(D')) ≤ ρ for all neighbouring D, D'. Two facts make it an accountant:
#   - composition is additive at each order (Prop. 1): k steps of ρ(α) give k·ρ(α), and steps
#     with different σ or q add their own vectors — so the state is one vector ρ(α) over a
#     fixed grid of orders;
#   - the Gaussian mechanism of L2 sensitivity 1 and noise N(0, σ²) is (α, α/(2σ²))-RDP for
#     every α > 1 (Prop. 7, Cor. 3). In client-level FL the sensitivity is the clip norm C and the
#     noise std σ·C, so σ is the "noise multiplier".
#
# Sampled Gaussian mechanism (Mironov, Talwar, Zhang, "Rényi Differential Privacy of the
# Sampled Gaussian Mechanism", arXiv 1908.10530, 2019 — "MTZ19"): each client takes part in a
# round independently with probability q (Poisson sampling), the server sees the sum of the
# clipped updates plus N(0, σ²C²). For add/remove-one neighbours the worst case is one
# dimension (MTZ19 §3): with μ0 = N(0, σ²), μ1 = N(1, σ²) and r(z) = μ1(z)/μ0(z),
#     ρ(α) = log(A_α) / (α − 1),   A_α = E_{z∼μ0}[((1 − q) + q·r(z))^α].
# q = 1 is the plain Gaussian, ρ = α/(2σ²); q = 0 releases nothing about anyone, ρ = 0.
#
# Integer α (MTZ19 §3.3; Abadi et al., "Deep Learning with Differential Privacy", CCS 2016):
# expand the power binomially; E_{μ0}[r^i] = exp((i² − i)/(2σ²)), so
#     A_α = Σ_{i=0}^{α} C(α, i) · (1 − q)^{α−i} · q^i · exp((i² − i)/(2σ²)).
# Every term is positive. Each is formed as a logarithm and the sum as a log-sum-exp, so
# α = 1024 at σ = 0.5 (exponents near 10⁶) neither overflows nor loses the small terms.
#
# Fractional α (MTZ19 §3.3): a binomial series of a non-integer power converges only for a
# ratio below 1, so split the line at z0, where (1 − q)·μ0 = q·μ1:
#     z0 = σ²·log(1/q − 1) + 1/2.
# Below z0 expand in powers of q·r/(1 − q), above z0 in powers of (1 − q)/(q·r). Restricted to
# a half-line, μ0·r^i = exp((i² − i)/(2σ²))·N(i, σ²), whose mass is a Gaussian tail, so with
# j = α − i and the generalised binomial coefficient C(α, i) = Γ(α+1)/(Γ(i+1)·Γ(j+1)):
#     A_α ≤ Σ_{i≥0} |C(α, i)| · [ q^i (1−q)^j e^{(i²−i)/(2σ²)} · ½erfc((i − z0)/(√2σ))
#                               + q^j (1−q)^i e^{(j²−j)/(2σ²)} · ½erfc((z0 − j)/(√2σ)) ].
# Past i > α the coefficients alternate in sign; summing their absolute values bounds A_α
# from above, which is sound for privacy and is what the reference accountants report (TF
# Privacy, Opacus, Google's dp_accounting). The exponentials cancel against the erfc tails,
# so terms decay only polynomially in i (about i^{−α−2}). As the references do, at most
# _SERIES_TERMS terms are summed, stopping once both series are falling and the newest terms
# are below e^{−30} of the running total (the falling tail then adds under ~10⁻¹⁰ relative);
# an order whose series has not settled by then is reported as ρ = ∞ — unusable, never an
# underestimate.
#
# (α, ρ)-RDP → (ε, δ)-DP. Mironov's Prop. 3 gives ε = ρ + log(1/δ)/(α − 1). The tighter
#     ε = ρ + log((α − 1)/α) − (log δ + log α)/(α − 1)
# is Canonne, Kamath, Steinke ("The Discrete Gaussian for Differential Privacy", NeurIPS 2020,
# Prop. 12), also Balle et al. ("Hypothesis Testing Interpretations and Rényi DP", AISTATS
# 2020, Thm. 21) and Asoodeh et al. (arXiv 2001.05990, 2020); it holds at each order, so
# ε is the minimum over the grid. Orders α ≤ 1.01 are skipped there: the bound is
# numerically unstable near 1 and never the minimum. Independently, Bretagnolle–Huber gives
# TV ≤ √(1 − e^{−KL}) ≤ √(1 − e^{−ρ(α)}) (D_α grows with α), and TV ≤ δ is (0, δ)-DP: when
# δ² ≥ 1 − e^{−ρ(α)} at some order, ε = 0. The inverse solves the same bound for δ:
#     log δ = (α − 1)·(ρ − ε + log(1 − 1/α)) − log α,   δ ≤ √(1 − e^{−ρ}) as well.

DEFAULT_ORDERS: Final[tuple[float, ...]] = (
    *(1.0 + k / 10.0 for k in range(1, 100)),
    *(float(a) for a in range(11, 64)),
    128.0,
    256.0,
    512.0,
    1024.0,
)
"""The usual grid of the reference accountants: 1.1 … 10.9 by 0.1, 11 … 63, then 128 … 1024."""

_SERIES_TERMS: Final = 1000  # terms of the fractional-order series before giving up
_SERIES_CHUNK: Final = 100  # terms formed at once (numpy) between convergence checks
_NEGLIGIBLE: Final = 30.0  # a term below e^{−30} of the total no longer matters
_MIN_CONVERSION_ORDER: Final = 1.01
_ASYMPTOTIC_ERFC_FROM: Final = 20.0
_LOG_HALF: Final = math.log(0.5)


def _log_erfc(x: NDArray[np.float64]) -> NDArray[np.float64]:
    """log(erfc(x)), accurate where erfc(x) underflows (x ≳ 26.5)."""
    # Below 20 the C library's erfc keeps full relative precision (erfc(20) ≈ 5e−176). Above,
    # the asymptotic series erfc(x) = e^{−x²}/(x√π) · Σ_n (−1)^n (2n−1)!!/(2x²)^n, here to
    # n = 6; its first omitted term is 135135/(2x²)^7 < 10⁻¹⁵ at x ≥ 20.
    out = np.empty_like(x)
    small = x < _ASYMPTOTIC_ERFC_FROM
    out[small] = np.log(np.fromiter(map(math.erfc, x[small].tolist()), np.float64))
    big = x[~small]
    a = 1.0 / (2.0 * big * big)
    series = 1 - a * (1 - 3 * a * (1 - 5 * a * (1 - 7 * a * (1 - 9 * a * (1 - 11 * a)))))
    out[~small] = -big * big - np.log(big) - 0.5 * math.log(math.pi) + np.log(series)
    return out


def _lgamma(x: NDArray[np.float64]) -> NDArray[np.float64]:
    """log|Γ(x)| elementwise (numpy has no lgamma)."""
    return np.fromiter(map(math.lgamma, x.tolist()), np.float64, count=x.size)


def _log_a_integer(q: float, sigma: float, alpha: int) -> float:
    """log A_α for integer α ≥ 2 and 0 < q < 1: the finite binomial sum."""
    i = np.arange(alpha + 1, dtype=np.float64)
    log_terms = (
        math.lgamma(alpha + 1)
        - _lgamma(i + 1)
        - _lgamma(alpha - i + 1)
        + i * math.log(q)
        + (alpha - i) * math.log1p(-q)
        + (i * i - i) / (2 * sigma * sigma)
    )
    top = float(log_terms.max())
    return top + math.log(float(np.exp(log_terms - top).sum()))


def _log_a_fractional(q: float, sigma: float, alpha: float) -> float:
    """log A_α for fractional α and 0 < q < 1: the two series of MTZ19 §3.3, or ∞."""
    z0 = sigma * sigma * math.log(1 / q - 1) + 0.5
    log_q, log_1mq = math.log(q), math.log1p(-q)
    scale = math.sqrt(2) * sigma
    sum_below = sum_above = last_below = last_above = -math.inf
    for start in range(0, _SERIES_TERMS, _SERIES_CHUNK):
        i = np.arange(start, min(start + _SERIES_CHUNK, _SERIES_TERMS), dtype=np.float64)
        j = alpha - i
        log_binom = math.lgamma(alpha + 1) - _lgamma(i + 1) - _lgamma(j + 1)
        below = (log_binom + i * log_q + j * log_1mq + (i * i - i) / (2 * sigma * sigma)) + (
            _LOG_HALF + _log_erfc((i - z0) / scale)
        )
        above = (log_binom + j * log_q + i * log_1mq + (j * j - j) / (2 * sigma * sigma)) + (
            _LOG_HALF + _log_erfc((z0 - j) / scale)
        )
        # Running sums after each term, so the stopping test sees the total at that term.
        sums_below = np.logaddexp.accumulate(np.concatenate(([sum_below], below)))[1:]
        sums_above = np.logaddexp.accumulate(np.concatenate(([sum_above], above)))[1:]
        totals = np.logaddexp(sums_below, sums_above)
        falling = (below < np.concatenate(([last_below], below[:-1]))) & (
            above < np.concatenate(([last_above], above[:-1]))
        )
        settled = falling & (np.maximum(below, above) < totals - _NEGLIGIBLE)
        if settled.any():
            return float(totals[int(np.argmax(settled))])
        sum_below, sum_above = float(sums_below[-1]), float(sums_above[-1])
        last_below, last_above = float(below[-1]), float(above[-1])
    return math.inf


def _step_rdp(
    noise_multiplier: float, sample_rate: float, orders: NDArray[np.float64]
) -> NDArray[np.float64]:
    """ρ(α) of one step of the sampled Gaussian mechanism, at every order."""
    if sample_rate == 0:
        return np.zeros_like(orders)
    if sample_rate == 1:
        return orders / (2 * noise_multiplier * noise_multiplier)
    rdp = np.empty_like(orders)
    for k, alpha in enumerate(orders.tolist()):
        if alpha.is_integer():
            log_a = _log_a_integer(sample_rate, noise_multiplier, int(alpha))
        else:
            log_a = _log_a_fractional(sample_rate, noise_multiplier, alpha)
        # A_α ≥ 1 by Jensen; a log a rounding step below 0 is clamped back to 0.
        rdp[k] = max(log_a / (alpha - 1), 0.0)
    return rdp


def _epsilons(
    orders: NDArray[np.float64], rdp: NDArray[np.float64], delta: float
) -> NDArray[np.float64]:
    """ε at each order for the given δ (∞ where an order cannot convert)."""
    eps = np.full_like(orders, math.inf)
    with np.errstate(invalid="ignore"):  # ρ = ∞ stays ∞
        usable = orders > _MIN_CONVERSION_ORDER
        a = orders[usable]
        eps[usable] = rdp[usable] + np.log1p(-1 / a) - (math.log(delta) + np.log(a)) / (a - 1)
        eps[delta * delta >= -np.expm1(-rdp)] = 0.0  # Bretagnolle–Huber: TV ≤ δ
    return np.maximum(eps, 0.0)


def _log_deltas(
    orders: NDArray[np.float64], rdp: NDArray[np.float64], epsilon: float
) -> NDArray[np.float64]:
    """log δ at each order for the given ε."""
    with np.errstate(divide="ignore", invalid="ignore"):  # ρ = 0 gives log 0 = −∞
        log_delta = 0.5 * np.log(-np.expm1(-rdp))
        usable = orders > _MIN_CONVERSION_ORDER
        a = orders[usable]
        bound = (a - 1) * (rdp[usable] - epsilon + np.log1p(-1 / a)) - np.log(a)
        log_delta[usable] = np.minimum(log_delta[usable], bound)
    return np.nan_to_num(log_delta, nan=math.inf, posinf=math.inf)


def invalid_argument(argument: str, requirement: str, value: object) -> InvalidInputError:
    """The error for a bad argument: names it, what it must be and what it was."""
    return InvalidInputError(
        f"{argument} must be {requirement}, got {value!r}", argument=argument, public=True
    )


def check_number(
    argument: str,
    value: object,
    low: float = 0.0,
    high: float = math.inf,
    *,
    with_low: bool = False,
    with_high: bool = False,
) -> float:
    """`value` as a float between `low` and `high` (ends included as flagged; ∞ never),
    else InvalidInputError naming `argument`."""
    requirement = (
        f"a number in {'[' if with_low else '('}{low:g}, {high:g}{']' if with_high else ')'}"
    )
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise invalid_argument(argument, requirement, value)
    x = float(value)
    inside = (low <= x if with_low else low < x) and (x <= high if with_high else x < high)
    if not (inside and math.isfinite(x)):
        raise invalid_argument(argument, requirement, value)
    return x


def _check_sigma(value: object) -> float:
    return check_number("noise_multiplier", value)


def _check_rate(value: object) -> float:
    return check_number("sample_rate", value, 0.0, 1.0, with_low=True, with_high=True)


def _check_delta(value: object) -> float:
    return check_number("delta", value, 0.0, 1.0)


def _check_steps(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise invalid_argument("steps", "an integer ≥ 0", value)
    return int(value)


def _check_orders(value: object) -> tuple[float, ...]:
    requirement = "a non-empty sequence of distinct numbers in (1, inf)"
    if not isinstance(value, Sequence) or isinstance(value, str) or not value:
        raise invalid_argument("orders", requirement, value)
    orders = tuple(check_number("orders", a, low=1.0) for a in value)
    if len(set(orders)) != len(orders):
        raise invalid_argument("orders", requirement, value)
    return orders


@dataclass(eq=False)
class RdpAccountant:
    """The privacy spent so far, as RDP at each order; steps compose by addition.

    `step(σ, q, k)` records k rounds in which each client took part with probability q and
    the aggregate carried Gaussian noise of std σ·C for clip norm C. `epsilon(δ)` is the
    resulting (ε, δ)-DP guarantee for any one client (add/remove-one neighbours);
    `to_dict`/`from_dict` carry the state through a checkpoint."""

    orders: tuple[float, ...] = DEFAULT_ORDERS
    _rdp: NDArray[np.float64] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.orders = _check_orders(self.orders)
        self._rdp = np.zeros(len(self.orders), dtype=np.float64)

    @property
    def rdp(self) -> tuple[float, ...]:
        """The accumulated ρ(α), one per order (∞ where an order is unusable)."""
        return tuple(self._rdp.tolist())

    def step(self, noise_multiplier: float, sample_rate: float, steps: int = 1) -> None:
        """Compose `steps` rounds of the sampled Gaussian mechanism (σ, q)."""
        sigma, rate, count = (
            _check_sigma(noise_multiplier),
            _check_rate(sample_rate),
            _check_steps(steps),
        )
        if count:
            self._rdp = self._rdp + count * _step_rdp(sigma, rate, self._orders())

    def epsilon(self, delta: float) -> float:
        """The smallest ε over the orders such that the rounds so far are (ε, δ)-DP."""
        return float(_epsilons(self._orders(), self._rdp, _check_delta(delta)).min())

    def best_order(self, delta: float) -> float:
        """The order at which `epsilon(delta)` is attained."""
        eps = _epsilons(self._orders(), self._rdp, _check_delta(delta))
        return self.orders[int(np.argmin(eps))]

    def delta(self, epsilon: float) -> float:
        """The smallest δ over the orders such that the rounds so far are (ε, δ)-DP."""
        eps = check_number("epsilon", epsilon, with_low=True)
        return min(math.exp(float(_log_deltas(self._orders(), self._rdp, eps).min())), 1.0)

    def to_dict(self) -> dict[str, list[float | None]]:
        """The state as plain JSON: orders and accumulated ρ, with ∞ written as null."""
        rdp = [None if math.isinf(r) else r for r in self._rdp.tolist()]
        return {"orders": list(self.orders), "rdp": rdp}

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> RdpAccountant:
        """An accountant resuming from `to_dict`'s output; malformed state is refused."""
        if not isinstance(data, Mapping) or set(data) != {"orders", "rdp"}:
            raise invalid_argument(
                "data", "a mapping with exactly the keys 'orders' and 'rdp'", data
            )
        accountant = cls(orders=_check_orders(data["orders"]))
        raw = data["rdp"]
        if not isinstance(raw, Sequence) or len(raw) != len(accountant.orders):
            raise invalid_argument("rdp", "a sequence with one value per order", raw)
        accountant._rdp = np.array(
            [math.inf if r is None else check_number("rdp", r, with_low=True) for r in raw],
            dtype=np.float64,
        )
        return accountant

    def _orders(self) -> NDArray[np.float64]:
        return np.asarray(self.orders, dtype=np.float64)


_SIGMA_BRACKET: Final = 40  # halvings or doublings of σ from 1 before giving up
_SIGMA_TOLERANCE: Final = 1e-6  # relative width of the final bisection bracket


def noise_multiplier_for(
    target_epsilon: float,
    delta: float,
    sample_rate: float,
    steps: int,
    *,
    orders: Sequence[float] = DEFAULT_ORDERS,
) -> float:
    """The smallest noise multiplier σ (within 10⁻⁶ relative) whose `steps` rounds at rate
    `sample_rate` stay (target_epsilon, delta)-DP; the σ returned always meets the target."""
    target = check_number("target_epsilon", target_epsilon)
    delta = _check_delta(delta)
    rate = _check_rate(sample_rate)
    count = _check_steps(steps)
    grid = np.asarray(_check_orders(orders), dtype=np.float64)
    if rate == 0 or count == 0:
        raise invalid_argument(
            "sample_rate and steps", "> 0 (else any σ gives ε = 0)", (rate, count)
        )

    # ε(σ) falls as σ grows — ρ(α) does at every order and the conversion is monotone in ρ —
    # so the σ meeting the target form a half-line, found by bracketing then bisection.
    def meets(sigma: float) -> bool:
        return float(_epsilons(grid, count * _step_rdp(sigma, rate, grid), delta).min()) <= target

    low, high = _bracket(meets, target)
    while high - low > _SIGMA_TOLERANCE * high:
        middle = 0.5 * (low + high)
        low, high = (low, middle) if meets(middle) else (middle, high)
    return high


def _bracket(meets: Callable[[float], bool], target: float) -> tuple[float, float]:
    """(low, high) with meets(high), not meets(low) and high = 2·low, from σ = 1 outward."""
    if meets(1.0):
        high = 1.0
        for _ in range(_SIGMA_BRACKET):
            if not meets(high / 2):
                return high / 2, high
            high /= 2
        raise invalid_argument("target_epsilon", "reachable only with σ < 2^-40", target)
    low = 1.0
    for _ in range(_SIGMA_BRACKET):
        if meets(low * 2):
            return low, low * 2
        low *= 2
    raise invalid_argument("target_epsilon", "reachable with σ ≤ 2^40", target)
