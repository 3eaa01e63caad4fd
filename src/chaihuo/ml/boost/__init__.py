"""hetero_secureboost: vertical gradient boosting on Paillier-encrypted gradients (SecureBoost)."""

# Protocol: Cheng et al., "SecureBoost: A Lossless Federated Learning Framework" (IEEE
# Intelligent Systems 2021, arXiv 1901.08755), with SecureBoost+'s packing of g and h (and
# the row count) into one plaintext and of many candidates per ciphertext. Lossless: every
# split is chosen on the exact integer sums the plaintext reference (`fit_plaintext`) uses,
# so both grow the same trees. Module map: _params, _bins (each party's cut points),
# _gradients (objectives, integer coding and packing), _split (histogram sums, gains,
# leaves), _grow (the level loop over split sources), _remote (the per-depth exchange: the
# guest's view of a host, and the host's encrypted histograms), _messages (typed records),
# _model (model parts, one-shot prediction), _setup (inputs, hand-shake), guest / host.
# What each role learns: module comments of `guest`, `host` and `_model`.

from chaihuo.ml.boost._model import KIND, GuestModel, HostModel
from chaihuo.ml.boost._params import BoostParams
from chaihuo.ml.boost._plain import PlainBoost, fit_plaintext
from chaihuo.ml.boost.guest import run_guest
from chaihuo.ml.boost.host import run_host

__all__ = [
    "KIND",
    "BoostParams",
    "GuestModel",
    "HostModel",
    "PlainBoost",
    "fit_plaintext",
    "run_guest",
    "run_host",
]
