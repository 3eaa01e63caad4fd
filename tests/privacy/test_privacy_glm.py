"""Traffic of a hetero_lr run on breast: every message each party receives, decoded and checked.

- hosts receive only ciphertexts under the arbiter's key, protocol metadata and their own
  masked gradients: no label vector, no residual d, no guest feature, no plaintext gradient;
- the guest receives no host feature column and no host gradient (its own gradient arrives
  masked; host partial scores arrive only for the final predictions, FATE's behaviour);
- the arbiter receives only ciphertexts (masked gradients, the encrypted loss) and flags;
- every masked gradient value differs from the true fixed-point gradient by more than 2^30.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from chaihuo.computing import Dataset, LocalComputing, Schema
from chaihuo.core import Role
from chaihuo.crypto.paillier import EncryptedVector, FixedPoint, PackedVector, PaillierPublicKey
from chaihuo.federation import Party
from chaihuo.ml import dataset_arrays
from chaihuo.ml.glm import LOGISTIC, GlmParams, fit_plaintext, run_arbiter, run_guest, run_host
from chaihuo.ml.glm._secure import quantize
from chaihuo.runtime import Context, SecurityPolicy
from chaihuo.testing import recording_context, run_parties

DATA = Path(__file__).resolve().parents[2] / "data" / "fate-examples"
PARAMS = GlmParams(epochs=2, batch_size=-1, learning_rate=0.5, random_seed=1, tol=0.0)


def _read(name: str) -> tuple[list[str], list[str], np.ndarray]:
    lines = (DATA / name).read_text().splitlines()
    cells = [line.split(",") for line in lines[1:]]
    return (
        [c[0] for c in cells],
        lines[0].split(",")[1:],
        np.array([[float(v) for v in c[1:]] for c in cells]),
    )


def _dataset(computing: LocalComputing, name: str, label: bool) -> Dataset:
    ids, columns, rows = _read(name)
    names = tuple(columns[1:] if label else columns)
    schema = Schema("id", "y" if label else None, names, ("float64",) * len(names),
                    "int64" if label else None)  # fmt: skip
    items = [
        (key, (row[1:] if label else row, int(row[0]) if label else None))
        for key, row in zip(ids, rows, strict=True)
    ]
    return Dataset.from_rows(schema, computing.parallelize(items, partitions=2, include_key=True))


def _run(tmp_path: Path) -> tuple[dict[Role, Any], dict[Role, list[tuple[str, Party, object]]]]:
    received: dict[Role, list[tuple[str, Party, object]]] = {}
    sessions: list[LocalComputing] = []

    def computing(party: Party) -> LocalComputing:
        sessions.append(LocalComputing(tmp_path / party.role.value, workers=1))
        return sessions[-1]

    def party(ctx: Context) -> Any:
        log = received.setdefault(ctx.role, [])
        ctx = recording_context(ctx, lambda tag, sender, obj: log.append((tag, sender, obj)))
        if ctx.role == Role.ARBITER:
            return run_arbiter(ctx, LOGISTIC, PARAMS, {})
        if ctx.role == Role.GUEST:
            data = _dataset(ctx.computing, "breast_hetero_guest.csv", True)
            return run_guest(ctx, LOGISTIC, PARAMS, {"train": data}), dataset_arrays(data)
        data = _dataset(ctx.computing, "breast_hetero_host.csv", False)
        return run_host(ctx, LOGISTIC, PARAMS, {"train": data}), dataset_arrays(data)

    security = SecurityPolicy(paillier_bits=1024, allow_insecure_test_keys=True)
    try:
        results = run_parties(party, {"guest": 9999, "host": 10000, "arbiter": 10001},
                              computing=computing, security=security)  # fmt: skip
    finally:
        for session in sessions:
            session.stop()
    by_role = {p.role: v for p, v in results.items()}
    return by_role, received


def _flatten(obj: object, out: dict[str, list[Any]]) -> None:
    """Sort what a message carries: ciphertexts, plaintext vectors, plaintext scalars."""
    if isinstance(obj, EncryptedVector | PackedVector | PaillierPublicKey):
        out["crypto"].append(obj)
    elif isinstance(obj, np.ndarray):
        out["vectors"].append(np.asarray(obj, dtype=np.float64).ravel())
    elif isinstance(obj, dict):
        for key, value in obj.items():
            if key != "epoch_offsets":  # the plan's public count of a warm model's epochs
                _flatten(value, out)
    elif isinstance(obj, list | tuple):
        if obj and all(isinstance(v, int | float) and not isinstance(v, bool) for v in obj):
            small = all(abs(v) < 2**53 for v in obj)  # huge integers stay exact (objects)
            out["vectors"].append(np.array(obj, dtype=np.float64 if small else object))
        else:
            for value in obj:
                _flatten(value, out)
    elif isinstance(obj, int | float) and not isinstance(obj, bool):
        out["scalars"].append(obj)


def _contents(messages: list[tuple[str, Party, object]], skip: tuple[str, ...] = ()) -> dict:
    out: dict[str, list[Any]] = {"crypto": [], "vectors": [], "scalars": []}
    for tag, _, obj in messages:
        if not (skip and tag.endswith(skip)):
            _flatten(obj, out)
    return out


def _matches(vector: np.ndarray, forbidden: np.ndarray) -> bool:
    if len(vector) != len(forbidden) or vector.dtype == object:
        return False
    return bool(np.allclose(np.sort(vector), np.sort(forbidden), rtol=1e-6, atol=1e-9))


def _true_gradients(guest_x, y, host_x, weights) -> tuple[list[int], list[int]]:
    """Fixed-point X^T[[4d]] of guest (with intercept) and host for the given weights."""
    guest_w, intercept, host_w = weights
    codec = FixedPoint(24)
    u_g, u_h = guest_x @ guest_w + intercept, host_x @ host_w
    d = np.array(codec.encode(u_h), dtype=object) + np.array(
        codec.encode(u_g + 2 - 4 * y), dtype=object
    )
    ones = np.hstack([guest_x, np.ones((len(y), 1))])
    guest = quantize(ones, PARAMS.floating_point_precision).values.T.astype(object) @ d
    host = quantize(host_x, PARAMS.floating_point_precision).values.T.astype(object) @ d
    return [int(v) for v in guest], [int(v) for v in host]


def test_what_each_party_receives_in_a_hetero_lr_run(tmp_path: Path) -> None:
    results, received = _run(tmp_path)
    (guest_out, guest_arrays), (_, host_arrays) = results[Role.GUEST], results[Role.HOST]
    y = guest_arrays.labels.astype(np.float64)
    guest_x, host_x = guest_arrays.features, host_arrays.features
    keys = [o for _, _, o in received[Role.GUEST] if isinstance(o, PaillierPublicKey)]
    fingerprint = keys[0].fingerprint

    # Every ciphertext anyone receives is under the arbiter's key.
    for role in Role.GUEST, Role.HOST, Role.ARBITER:
        for item in _contents(received[role])["crypto"]:
            key = item if isinstance(item, PaillierPublicKey) else (
                item.ciphertexts.public_key if isinstance(item, PackedVector) else item.public_key
            )  # fmt: skip
            assert key.fingerprint == fingerprint, role

    # Forbidden plaintext: labels, residuals of every epoch, raw features, gradients.
    epochs = []
    for count in range(PARAMS.epochs):
        fit = fit_plaintext(LOGISTIC, PARAMS.model_copy(update={"epochs": count}), guest_x, y,
                            [host_x], seed=1, classes=[0, 1])  # fmt: skip
        epochs.append((fit.guest[0], fit.intercept[0], fit.hosts[0][0]))
    residuals = [LOGISTIC.residual(guest_x @ g + b + host_x @ h, y) for g, b, h in epochs]
    residuals += [r / 4 for r in residuals]  # 4d is carried; d itself is forbidden too
    host_view = _contents(received[Role.HOST])
    assert not any(_matches(v, y) for v in host_view["vectors"]), "host got the labels"
    for d in residuals:
        assert not any(_matches(v, d) for v in host_view["vectors"]), "host got d"
    for column in guest_x.T:
        assert not any(_matches(v, column) for v in host_view["vectors"]), "host got a feature"
    assert not any(isinstance(v, np.ndarray) and v.dtype != object for v in host_view["vectors"])

    guest_view = _contents(received[Role.GUEST], skip=("scores",))
    for column in host_x.T:
        assert not any(_matches(v, column) for v in guest_view["vectors"]), "guest got a feature"

    arbiter_view = _contents(received[Role.ARBITER])
    assert not arbiter_view["vectors"], "the arbiter received plaintext vectors"

    # Masked gradients: what the arbiter decrypted and returned is far from the truth.
    for role, arrays_index in ((Role.GUEST, 0), (Role.HOST, 1)):
        returned = [o for tag, _, o in received[role] if tag.endswith("gradient_plain")]
        assert len(returned) == PARAMS.epochs
        for epoch, values in enumerate(returned):
            true = _true_gradients(guest_x, y, host_x, epochs[epoch])[arrays_index]
            assert len(values) == len(true)
            assert min(abs(v - t) for v in values for t in true) > 2**30, role
    assert guest_out["predictions"].scores.shape == y.shape
