"""SSHE LR models: each party's artifact (JSON + arrays), loading, and the predict protocol."""

# Prediction (FATE's behaviour): with `respectively` the host sends its partial scores
# X_h·w_h in plaintext to the guest, which adds its own and applies the exact sigmoid. With
# `encrypted_reveal_in_host` the host only holds [[w̃_h]] under the guest's key: it computes
# [[X̃_h·w̃_h]] homomorphically and sends it packed; the guest decrypts the same partial
# scores. Either way the guest learns u_h = X_h·w_h per predicted row and nothing else; the
# host learns nothing.

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from chaihuo.core import InvalidInputError
from chaihuo.crypto.paillier import (
    EncryptedVector,
    PaillierKeyPair,
    PaillierPrivateKey,
    PaillierPublicKey,
)
from chaihuo.federation import ProtocolViolationError
from chaihuo.ml._artifacts import ModelArtifact
from chaihuo.ml._predictions import Predictions
from chaihuo.ml.sshe._fixed import V_BITS, F
from chaihuo.ml.vertical import he as _he
from chaihuo.runtime import Peer

__all__ = [
    "KIND",
    "GuestPart",
    "HostPart",
    "ciphertext_bytes",
    "guest_predict",
    "host_predict",
]

KIND = "hetero_sshe_lr"
_EXTRA = 12
"""Extra fractional bits of the host's features when it predicts with encrypted weights."""
Matrix = npt.NDArray[np.float64]


def ciphertext_bytes(vector: EncryptedVector) -> npt.NDArray[np.uint8]:
    """Fixed-width big-endian ciphertexts as a (len × width) byte matrix."""
    width = vector.public_key.ciphertext_bytes
    raw = b"".join(int(c).to_bytes(width, "big") for c in vector.values)
    return np.frombuffer(raw, dtype=np.uint8).reshape(len(vector), width).copy()


def _int_bytes(value: int) -> npt.NDArray[np.uint8]:
    return np.frombuffer(value.to_bytes((value.bit_length() + 7) // 8, "big"), np.uint8).copy()


def _from_bytes(array: npt.NDArray[Any]) -> int:
    return int.from_bytes(np.asarray(array, dtype=np.uint8).tobytes(), "big")


@dataclass
class GuestPart:
    """The guest's weights (K × d) and intercepts, and its key when the host's are encrypted."""

    weights: Matrix
    intercepts: npt.NDArray[np.float64]
    classes: list[Any]
    feature_names: tuple[str, ...]
    keys: PaillierKeyPair | None = None

    def artifact(self, meta: dict[str, Any]) -> ModelArtifact:
        """The guest's model artifact (the private key, if any, is the guest's own)."""
        arrays: dict[str, npt.NDArray[Any]] = {
            "weights": self.weights,
            "intercept": self.intercepts,
        }
        if self.keys is not None:
            arrays["paillier_p"] = _int_bytes(int(self.keys.private_key.p))
            arrays["paillier_q"] = _int_bytes(int(self.keys.private_key.q))
        full = {"feature_names": list(self.feature_names), "classes": self.classes, **meta}
        return ModelArtifact(KIND, "guest", full, arrays)

    @classmethod
    def from_artifact(cls, model: ModelArtifact) -> GuestPart:
        """Rebuild from a saved artifact."""
        keys = None
        if "paillier_p" in model.arrays:
            p, q = _from_bytes(model.arrays["paillier_p"]), _from_bytes(model.arrays["paillier_q"])
            public = PaillierPublicKey(p * q)
            keys = PaillierKeyPair(public, PaillierPrivateKey(public, p, q))
        weights = np.atleast_2d(np.asarray(model.arrays["weights"], dtype=np.float64))
        return cls(
            weights,
            np.asarray(model.arrays["intercept"], dtype=np.float64).reshape(-1),
            list(model.meta.get("classes", [])),
            tuple(model.meta.get("feature_names", [])),
            keys,
        )


@dataclass
class HostPart:
    """The host's weights (K × d), or [[w̃]] under the guest's key with the feature scales."""

    weights: Matrix | None
    feature_names: tuple[str, ...]
    encrypted: list[EncryptedVector] | None = None
    shifts: npt.NDArray[np.int64] | None = None

    @property
    def models(self) -> int:
        """Number of (one-vs-rest) models."""
        if self.encrypted is not None:
            return len(self.encrypted)
        return 0 if self.weights is None else int(self.weights.shape[0])

    def artifact(self, meta: dict[str, Any]) -> ModelArtifact:
        """The host's model artifact."""
        full = {"feature_names": list(self.feature_names), **meta}
        if self.encrypted is None:
            assert self.weights is not None
            return ModelArtifact(KIND, "host", full, {"weights": self.weights})
        assert self.shifts is not None
        key = self.encrypted[0].public_key
        arrays: dict[str, npt.NDArray[Any]] = {
            "encrypted_weights": np.stack([ciphertext_bytes(v) for v in self.encrypted]),
            "feature_shifts": self.shifts,
            "guest_key": _int_bytes(int(key.n)),
        }
        return ModelArtifact(KIND, "host", full, arrays)

    @classmethod
    def from_artifact(cls, model: ModelArtifact, allow_test_keys: bool = False) -> HostPart:
        """Rebuild from a saved artifact (ciphertexts checked against the stored key)."""
        names = tuple(model.meta.get("feature_names", []))
        if "weights" in model.arrays:
            return cls(np.atleast_2d(np.asarray(model.arrays["weights"], np.float64)), names)
        n = _from_bytes(model.arrays["guest_key"])
        key = PaillierPublicKey.from_bytes(
            n.to_bytes((n.bit_length() + 7) // 8, "big"), allow_insecure_test_key=allow_test_keys
        )
        vectors = []
        for rows in np.asarray(model.arrays["encrypted_weights"], dtype=np.uint8):
            values = key.check_ciphertexts(int.from_bytes(bytes(row), "big") for row in rows)
            vectors.append(
                EncryptedVector(key, values, exponent=0, bound_bits=V_BITS, codec=_he.CODEC)
            )
        shifts = np.asarray(model.arrays["feature_shifts"], dtype=np.int64)
        return cls(None, names, vectors, shifts)


def host_predict(peer: Peer, part: HostPart, features: Matrix) -> None:
    """Send the guest the partial scores X_h·w_h of every model (see the module comment)."""
    if part.encrypted is None:
        assert part.weights is not None
        peer.put("host_scores", np.ascontiguousarray(part.weights @ features.T))
        return
    assert part.shifts is not None
    shifts = part.shifts + _EXTRA  # finer than in training: the scores are final
    scaled = np.rint(np.ldexp(features, shifts[np.newaxis, :].astype(np.int32)))
    if np.abs(scaled).max(initial=0) >= 2.0**62:
        raise InvalidInputError("a host feature is too large for its training-time scale")
    x = scaled.astype(np.int64)
    packed = []
    for weights in part.encrypted:
        product = _he.matvec(x, weights, None)
        packed.append(_he.mask_pack(product, V_BITS + _EXTRA, 0, None)[0])
    peer.put("host_scores", packed)


def guest_scores(peer: Peer, part: GuestPart, features: Matrix) -> Matrix:
    """Logits (K × rows): the guest's own plus the host's partial scores."""
    models, rows = part.weights.shape[0], features.shape[0]
    own = part.weights @ features.T + part.intercepts[:, np.newaxis]
    received = peer.get("host_scores")
    if part.keys is None:
        if not isinstance(received, np.ndarray) or received.shape != (models, rows):
            raise ProtocolViolationError(f"host scores: expected a {models} × {rows} array")
        logits: Matrix = own + np.asarray(received, dtype=np.float64)
        return logits
    if not isinstance(received, list) or len(received) != models:
        raise ProtocolViolationError(f"host scores: expected {models} packed vectors")
    private = part.keys.private_key
    host = [
        np.ldexp(np.array(_he.open_packed(item, private, rows, V_BITS + _EXTRA, 0, None,
                                          "host scores"), dtype=np.float64), -F - _EXTRA)
        for item in received
    ]  # fmt: skip
    combined: Matrix = own + np.stack(host)
    return combined


def guest_predict(  # noqa: PLR0917
    peer: Peer, part: GuestPart, features: Matrix, ids: npt.NDArray[Any],
    labels: npt.NDArray[Any] | None, threshold: float,
) -> Predictions:  # fmt: skip
    """Predictions on the guest: σ of the logits, one-vs-rest normalised for K > 2."""
    logits = guest_scores(peer, part, features)
    probabilities = 0.5 * (1.0 + np.tanh(0.5 * logits))
    if len(part.classes) <= 2:
        return Predictions(
            "binary", ids, probabilities[0], labels, list(part.classes), threshold=threshold
        )
    scores = probabilities.T / probabilities.T.sum(axis=1, keepdims=True)
    return Predictions("multiclass", ids, scores, labels, list(part.classes))
