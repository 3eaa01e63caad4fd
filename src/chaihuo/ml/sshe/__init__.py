"""hetero_sshe_lr: arbiter-free two-party vertical LR by secret sharing + Paillier (CAESAR)."""

# Protocol: Chen et al., "When Homomorphic Encryption Marries Secret Sharing: Secure
# Large-Scale Sparse Logistic Regression and Applications in Risk Control", KDD 2021
# (arXiv 2008.08753), as FATE's hetero_sshe_lr runs it: both weight vectors stay additively
# shared between guest and host; cross products X·⟨w⟩ and X^T·⟨e⟩ go through Paillier under
# the key of the party that does not hold the matrix. The sigmoid (`sigmoid`):
# taylor_clipped (default) σ(z) ≈ clip(½ + z/4, 0, 1), the clip by a garbled circuit on the
# shares (_clip); taylor σ(z) ≈ ½ + z/4 (FATE's; its training converges to the least-squares
# fit, 0.6 % AUC below logistic regression on default_credit); taylor_at_guest σ exact at the
# guest's partial score, first order in the host's (with reveal_every_iter).
# Module map: _link (one batch's messages), _clip (the clipped sigmoid), _train (the loop,
# updates), _fixed (integer fixed point and masks), _expansion (taylor_at_guest), _messages
# (set-up and per-epoch messages as typed records), _model (artifacts, predict), _plain (the
# plaintext reference), guest / host (roles, set-up); the Paillier kernels and the records'
# field checks are the shared toolkit's (chaihuo.ml.vertical.he, chaihuo.ml.vertical.wire).
# What each role learns: module comments of `guest` and `host`.

from chaihuo.ml.sshe._errors import TrainingDivergedError
from chaihuo.ml.sshe._model import KIND, GuestPart, HostPart
from chaihuo.ml.sshe._params import SsheParams
from chaihuo.ml.sshe._plain import PlainFit, plain_fit
from chaihuo.ml.sshe.guest import run_guest
from chaihuo.ml.sshe.host import run_host

__all__ = [
    "KIND",
    "GuestPart",
    "HostPart",
    "PlainFit",
    "SsheParams",
    "TrainingDivergedError",
    "plain_fit",
    "run_guest",
    "run_host",
]
