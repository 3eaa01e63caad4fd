"""The Gaussian mechanism's pieces for client updates: L2 clipping and (distributed) noise."""

from __future__ import annotations

import math
import secrets

import numpy as np
from numpy.typing import ArrayLike, NDArray

from chaihuo.ml.privacy._rdp import check_number, invalid_argument

__all__ = ["clip_by_l2", "distributed_noise_std", "gaussian_noise"]

# Sensitivity. Clipping every client's update to L2 norm ≤ C bounds what adding or removing
# one client changes the sum by: C. Gaussian noise of std σ·C on each coordinate of the sum is
# then the Gaussian mechanism with noise multiplier σ, which `RdpAccountant` accounts for
# (McMahan et al., "Learning Differentially Private Recurrent Language Models", ICLR 2018).
#
# Two places to add that noise:
#   - Central DP: a trusted server (among chaihuo's roles, the arbiter) adds N(0, (σC)²)
#     once to the sum. It must be trusted to add it and, unless the sum came from secure
#     aggregation, it sees every client's clipped update in the clear.
#   - Distributed DP with secure aggregation (Kairouz, Liu, Steinke, "The Distributed Discrete
#     Gaussian Mechanism for Federated Learning with Secure Aggregation", ICML 2021; here its
#     continuous version): each of n clients adds N(0, (σC)²/n) to its own clipped update
#     before masking. Independent Gaussians add variances, so the sum the server unmasks
#     carries N(0, n·(σC)²/n) = N(0, (σC)²): the central guarantee, and no party ever sees a
#     less noisy value. `distributed_noise_std` is that per-client std σC/√n.
# Caveats of the distributed form, which the caller must carry into the accounting:
#   - Dropouts. If only m of the n clients that drew noise survive to the sum, its noise std
#     is σC·√(m/n): the accountant must be given the effective multiplier σ·√(m/n), not σ.
#     Clients may instead plan for the worst case by dividing by the least number of
#     survivors the secure-aggregation threshold allows, t: std σC/√t each, so any m ≥ t
#     survivors leave at least σC.
#   - Collusion. A client knows its own noise; if k clients collude with the server, only the
#     n − k honest shares protect a victim: effective multiplier σ·√((n − k)/n).
#   - Finite group. Secure aggregation sums fixed-point integers in Z_2^64, so values are
#     rounded to a grid of step 2^−f. Round the clipped update g first (it moves by at most
#     √d·2^−(f+1) in L2 for d coordinates: clip to C minus that, or account with C plus it),
#     then add the noise: round(g + z) = g + round(z), so rounding touches only the noise,
#     which stays independent of the data. A sum of rounded Gaussians is only nearly
#     Gaussian — negligibly so for σC/√n ≫ 2^−f; Kairouz et al. treat it exactly with
#     discrete Gaussians and their own accounting.
#
# Floating point. These samples are IEEE doubles, not the real-valued Gaussian the proof
# assumes, and they are not a discrete Gaussian (Canonne, Kamath, Steinke, "The Discrete
# Gaussian for Differential Privacy", NeurIPS 2020). Added in floating point to a real
# update x, the doubles x + z can land on depend on x, so some outputs are possible from one
# input and impossible from its neighbour: Mironov ("On Significance of the Least
# Significant Bits for Differential Privacy", CCS 2012) breaks textbook Laplace noise this
# way, and central DP at a server inherits the exposure. The grid recipe above removes the
# data from that addition (g + round(z) is integer arithmetic); what remains is the
# sampler's inexactness far in the tails. The generator is numpy's PCG64 seeded with 128
# bits from `secrets`: statistically sound, not cryptographic, so its state must never
# leave the client.


def clip_by_l2(update: ArrayLike, max_norm: float) -> tuple[NDArray[np.float64], float]:
    """A copy of `update` scaled to L2 norm ≤ `max_norm` (over all its entries), and the
    norm it had before; updates already inside the ball are copied unchanged."""
    bound = check_number("max_norm", max_norm)
    try:
        values = np.array(update, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise invalid_argument("update", "an array of numbers", type(update).__name__) from exc
    if not np.isfinite(values).all():
        raise invalid_argument("update", "finite everywhere", "an array with NaN or ∞")
    norm = _l2_norm(values)
    if norm <= bound:
        return values, norm
    # Rounding can leave the scaled norm a few ulps above C, the more the longer the vector;
    # shrink by a doubling margin until the bound holds as computed — by the overflow-safe
    # norm here and by numpy's plain one — not only on paper.
    margin = 0.0
    clipped = values * (bound / norm)
    while _computed_norm(clipped) > bound:
        margin = max(2 * margin, 2.0**-52)
        clipped = values * (bound / norm * (1.0 - margin))
    return clipped, norm


def _l2_norm(values: NDArray[np.float64]) -> float:
    """‖values‖₂, scaled by the largest entry first so that 1e200-sized entries cannot overflow."""
    top = float(np.max(np.abs(values))) if values.size else 0.0
    if top == 0.0:
        return 0.0
    return top * float(np.linalg.norm((values / top).ravel()))


def _computed_norm(values: NDArray[np.float64]) -> float:
    """The larger of the two ways to compute ‖values‖₂ (numpy's is skipped if it overflows)."""
    plain = float(np.linalg.norm(values.ravel()))
    return max(_l2_norm(values), plain if math.isfinite(plain) else 0.0)


def gaussian_noise(
    shape: int | tuple[int, ...], std: float, rng: np.random.Generator | None = None
) -> NDArray[np.float64]:
    """Independent N(0, std²) samples of the given shape; a fresh generator seeded from
    `secrets` unless `rng` is given (tests pass a seeded one)."""
    scale = check_number("std", std, with_low=True)
    dims = (shape,) if isinstance(shape, int) else shape
    if not isinstance(dims, tuple) or not all(
        isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in dims
    ):
        raise invalid_argument("shape", "an integer ≥ 0 or a tuple of them", shape)
    generator = rng if rng is not None else np.random.default_rng(secrets.randbits(128))
    return generator.normal(0.0, scale, size=dims).astype(np.float64, copy=False)


def distributed_noise_std(noise_multiplier: float, max_norm: float, clients: int) -> float:
    """σ·C/√n: the std each of n clients adds so that their securely aggregated sum carries
    N(0, (σC)²), the noise of the central Gaussian mechanism with multiplier σ."""
    sigma = check_number("noise_multiplier", noise_multiplier)
    bound = check_number("max_norm", max_norm)
    if not isinstance(clients, int) or isinstance(clients, bool) or clients < 1:
        raise invalid_argument("clients", "an integer ≥ 1", clients)
    return sigma * bound / math.sqrt(clients)
