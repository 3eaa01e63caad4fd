"""Traffic of hetero_sshe_lr runs on breast: every message each party receives, decoded again
from its wire bytes — and every ciphertext under the receiver's own key decrypted, since that
is what the receiver learns — then checked.

What may cross (module comments of chaihuo.ml.sshe.guest / host): ciphertexts, set-up and
decision messages, and integers masked by ≥ 40 bits of fresh randomness (shares, masked
scores and gradients, the loss terms); the loss itself to the guest; with `respectively`, the
host's partial scores of the rows the guest predicts (FATE's behaviour). The checks:

1. outside set-up, decisions, the revealed loss and prediction, every plaintext the receiver
   sees or can decrypt is an integer of at least 2^32 in magnitude — so no label (0/1), no
   fixed-point feature (< 2^13) and no float;
2. run twice with identical data, parameters and seeds, every such integer differs between
   the runs by at least 2^32 — so none is a function of the data (a weight, a gradient, a
   score, a feature or a label would repeat, up to the last bits that the per-party rounding
   of shares perturbs); only fresh randomness makes them;
3. neither party ever receives the other's raw feature values or the label vector;
4. the clip of `taylor_clipped` (the default) sends only byte strings — OT messages, garbled
   tables, wire labels — each at least 128 bits and different in the two runs.
Mutation checks (no masks, a leaked gradient) fail test 1/2; see the report of the change.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "quality"))
from _sshe_fixtures import TEST_KEYS, hetero_pair, run_sshe

from chaihuo.crypto.paillier import EncryptedVector, PackedVector, PaillierPublicKey

PAIR = hetero_pair("breast").rows(np.arange(0, 569, 4))  # 143 rows: keeps the test quick
ALLOWED = ("setup.", ".decision", ".predict.", ".loss_term", ".overflow")
"""Set-up, decisions, prediction scores, taylor_at_guest's loss term (= the loss) and the
clip's one range bit per batch (some |z| ≥ 2^16: training diverged)."""
GARBLED = ".clip.gc"
"""taylor_clipped's garbled circuit (guest garbles, host evaluates; inputs by OT)."""
MODES = {
    "shared": {"epochs": 2, "batch_size": 50},
    "revealed": {"epochs": 2, "batch_size": 50, "reveal_every_iter": True,
                 "sigmoid": "taylor_at_guest"},
    "encrypted": {"epochs": 1, "batch_size": 50, "reveal_strategy": "encrypted_reveal_in_host"},
}  # fmt: skip


def _leaves(obj: object, keys: list[Any]) -> tuple[list[object], int]:
    """Plaintext leaves the receiver sees or can decrypt, and how many ciphertexts it cannot."""
    if isinstance(obj, PaillierPublicKey):
        return [], 0
    if isinstance(obj, EncryptedVector | PackedVector):
        vector = obj.ciphertexts if isinstance(obj, PackedVector) else obj
        for pair in keys:
            if pair.public_key.fingerprint == vector.public_key.fingerprint:
                return list(obj.decrypt_int(pair.private_key)), 0
        return [], len(vector)
    items: list[object] = []
    if isinstance(obj, dict):
        items = list(obj.values())
    elif isinstance(obj, list | tuple):
        items = list(obj)
    elif isinstance(obj, np.ndarray):
        return obj.ravel().tolist(), 0
    else:
        return [obj], 0
    leaves: list[object] = []
    opaque = 0
    for item in items:
        more, hidden = _leaves(item, keys)
        leaves += more
        opaque += hidden
    return leaves, opaque


def _views(outcome: Any, role: str) -> list[tuple[str, list[object], int]]:
    keys = outcome.keys[role]
    return [
        (tag, *_leaves(obj, keys))
        for tag, obj in outcome.received[role]
        if not any(s in tag for s in ALLOWED)
    ]


def _run(tmp: Path, mode: str) -> Any:
    params = {"random_seed": 3, "tol": 0, **MODES[mode]}
    return run_sshe(tmp, params, PAIR, security=TEST_KEYS, record=True)


@pytest.mark.parametrize("mode", sorted(MODES))
def test_only_ciphertexts_and_fresh_masks_cross(tmp_path: Path, mode: str) -> None:
    first, second = _run(tmp_path / "a", mode), _run(tmp_path / "b", mode)
    for role in ("guest", "host"):
        one, two = _views(first, role), _views(second, role)
        assert [tag for tag, *_ in one] == [tag for tag, *_ in two]
        assert sum(opaque for *_, opaque in one) > 0  # ciphertexts it cannot open do cross
        decrypted = 0
        for (tag, leaves, _), (_, again, _) in zip(one, two, strict=True):
            decrypted += len(leaves)
            for value, other in zip(leaves, again, strict=True):
                if isinstance(value, bytes) and GARBLED in tag:
                    # OT messages, garbled tables and wire labels: fresh 128-bit randomness
                    assert len(value) >= 16 and value != other, (role, tag, "repeats")
                    continue
                assert isinstance(value, int) and not isinstance(value, bool), (role, tag, value)
                assert abs(value) >= 2**32, (role, tag, "small plaintext integer")
                assert abs(value - other) >= 2**32, (role, tag, "repeats across runs")
        assert decrypted > 0


@pytest.mark.parametrize("mode", ["shared", "revealed"])
def test_no_raw_feature_or_label_reaches_the_other_party(tmp_path: Path, mode: str) -> None:
    outcome = _run(tmp_path, mode)
    forbidden = {
        "host": (set(PAIR.guest_x.ravel().tolist()), PAIR.y.tolist()),
        "guest": (set(PAIR.host_x.ravel().tolist()), None),
    }
    for role, (features, labels) in forbidden.items():
        for tag, obj in outcome.received[role]:
            if ".predict." in tag:  # host partial scores for the predictions (documented)
                assert role == "guest"
                continue
            leaves, _ = _leaves(obj, outcome.keys[role])
            numbers = [v for v in leaves if isinstance(v, int | float)]
            assert not features & {v for v in numbers if isinstance(v, float)}, (role, tag)
            if labels is not None and len(numbers) >= len(labels):
                assert numbers[: len(labels)] != labels, (role, tag)
