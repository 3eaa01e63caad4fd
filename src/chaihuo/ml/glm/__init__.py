"""Vertical GLMs with an arbiter (FATE's hetero LR / LinR / Poisson): one protocol, three losses."""

# The protocol (Hardy et al. 2017, "Private federated learning on vertically partitioned data
# via entity resolution and additively homomorphic encryption"; FATE's hetero_lr with arbiter).
# Parties: one guest (labels, its features, the intercept), hosts (their features), an
# arbiter (the Paillier key). Rows are aligned beforehand (psi with share_with_hosts); every
# party checks it through SHA-256 digests of its ordered ids at start-up.
#
# Start-up: the guest sends its plan (mode, shared protocol parameters, batch seed, row
# counts); hosts and arbiter answer with their own checks (label column on a host, missing
# values, parameters that differ from the guest's, rows not aligned, a batch smaller than a
# host's feature count); the guest broadcasts the verdict, so a refusal ends the run with
# the same reason on every party. The arbiter then makes a 2048-bit (job policy) key pair and
# sends the public key.
#
# Per mini-batch (indices from the guest's seed; near-equal batch sizes):
#   host h:  [[u_h]] = Enc(X_h w_h) — plus [[Σ u_h²]] (logistic, linear) or [[exp(u_h)]]
#            (Poisson) — to the guest.
#   guest:   [[d]] from Σ_h [[u_h]] and its plaintext u_g = X_g w_g + b, y:
#              logistic (Taylor expansion of the log-loss at u = 0): 4d = u + 2 − 4y,
#              linear: d = u − y, Poisson: d = e·exp(u_g)·[[exp(u_h)]] − y;
#            re-randomised and sent to every host.
#   each party p: [[X_p^T d]] (fixed point: each column of X_p rounded to
#            `floating_point_precision` bits after its own power-of-two scaling), masked by
#            r_p uniform on [0, 2^(B+48)) for a public bound B on |X_p^T d|, packed into few
#            ciphertexts, sent to the arbiter, who returns X_p^T d + r_p in plaintext; p removes
#            r_p and steps its own weights (sgd/adam/rmsprop/adagrad, L1/L2) with the gradient
#            X_p^T d / n (× 1/4 for logistic).
#   guest:   [[batch loss]] = P + Σ c_i [[U_i]] + q [[Σ U²]] (U = Σ_h u_h; with several hosts
#            host k adds the cross term from [[Σ_{j<k} u_hj]] the guest relays), summed over
#            the epoch with every party's encrypted penalty and sent to the arbiter.
# Per epoch: the arbiter decrypts the loss (and ‖Δw‖² for weight_diff), applies the rule
# (diff / abs / weight_diff with tol) together with the guest's validation verdict (hosts
# send plaintext validation scores, FATE's behaviour) and broadcasts continue/stop.
# Multi-class: one-vs-rest, one binary model per class under the same keys.
# Prediction: hosts send plaintext partial scores X_h w_h to the guest (as FATE does).
#
# What each role learns:
# - guest: its own gradients; each host's partial scores on validation and predicted rows;
#   the epoch losses; nothing else of the hosts (only ciphertexts under the arbiter's key).
# - host:  its own gradients (X_h^T d / n; batches larger than its feature count keep d
#   underdetermined); nothing of labels or other parties (only ciphertexts).
# - arbiter: epoch losses and ‖Δw‖²; masked gradients that are statistically independent of
#   the gradients; the row count and each party's feature count.

from chaihuo.ml.glm._family import FAMILIES, LINEAR, LOGISTIC, POISSON, Family
from chaihuo.ml.glm._params import PROTOCOL_FIELDS, GlmParams
from chaihuo.ml.glm._phases import Phases
from chaihuo.ml.glm._plain import PlainFit, fit_plaintext
from chaihuo.ml.glm._session import GlmSetupError
from chaihuo.ml.glm.arbiter import run_arbiter
from chaihuo.ml.glm.guest import run_guest
from chaihuo.ml.glm.host import run_host

__all__ = [
    "FAMILIES",
    "LINEAR",
    "LOGISTIC",
    "POISSON",
    "PROTOCOL_FIELDS",
    "Family",
    "GlmParams",
    "GlmSetupError",
    "Phases",
    "PlainFit",
    "fit_plaintext",
    "run_arbiter",
    "run_guest",
    "run_host",
]
