"""Client-level differential privacy for horizontal FL: clipping, Gaussian noise, RDP accounting."""

# DP-FedAvg (McMahan et al., "Learning Differentially Private Recurrent Language Models",
# ICLR 2018): each round samples clients with probability q, clips each client's update to
# L2 norm C (`clip_by_l2`), and the aggregate carries N(0, (σC)²) per coordinate — added once
# by a trusted server (central DP), or split over the clients under secure aggregation
# (distributed DP: `distributed_noise_std`, `gaussian_noise`; see `_gaussian`). The
# `RdpAccountant` turns the rounds run so far into the (ε, δ) each client is protected by;
# `noise_multiplier_for` picks σ for a target ε before training. Module map: _rdp (RDP of the
# sampled Gaussian mechanism, conversion to (ε, δ)), _gaussian (clipping and noise).

from chaihuo.ml.privacy._gaussian import clip_by_l2, distributed_noise_std, gaussian_noise
from chaihuo.ml.privacy._rdp import DEFAULT_ORDERS, RdpAccountant, noise_multiplier_for

__all__ = [
    "DEFAULT_ORDERS",
    "RdpAccountant",
    "clip_by_l2",
    "distributed_noise_std",
    "gaussian_noise",
    "noise_multiplier_for",
]
