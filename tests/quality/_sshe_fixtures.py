"""Data, runners and references of the hetero_sshe_lr tests (quality, unit, privacy)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import _pairs as pairs
import numpy as np
from _pairs import Pair

from chaihuo.computing import Dataset, LocalComputing
from chaihuo.core import Role
from chaihuo.federation import Party
from chaihuo.ml import dataset_arrays
from chaihuo.ml.sshe import SsheParams, plain_fit, run_guest, run_host
from chaihuo.runtime import Context, SecurityPolicy
from chaihuo.serde import dumps, loads
from chaihuo.testing import local_sessions, recording_context, run_parties

TEST_KEYS = SecurityPolicy(paillier_bits=1024, allow_insecure_test_keys=True)
"""1024-bit keys: unit tests only (protocol logic); quality tests use the 2048-bit default."""


def hetero_pair(name: str) -> Pair:
    """`<name>_hetero_guest.csv` (label `y`) joined with `<name>_hetero_host.csv` on id."""
    return pairs.hetero_pair(f"{name}_hetero_guest.csv", f"{name}_hetero_host.csv", "y")


def synthetic(rows: int, guest: int, host: int, seed: int = 0, classes: int = 2) -> Pair:
    """A small separable-ish pair for protocol tests."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, guest + host)) * rng.uniform(0.2, 3.0, size=guest + host)
    w = rng.normal(size=(guest + host, classes))
    y = np.argmax(x @ w + rng.gumbel(size=(rows, classes)), axis=1).astype(np.int64)
    ids = np.array([f"u{i:05d}" for i in range(rows)], dtype=object)
    names = tuple(f"x{j}" for j in range(guest + host))
    return Pair(ids, x[:, :guest], names[:guest], y, x[:, guest:], names[guest:])


def dataset(
    computing: LocalComputing, ids: np.ndarray, x: np.ndarray, y: np.ndarray | None
) -> Dataset:
    """A dataset built from arrays (what reader + psi would produce), two partitions."""
    return pairs.dataset(computing, ids, x, tuple(f"x{j}" for j in range(x.shape[1])), y)


def lingering(fn: Callable[[Context], Any], seconds: float = 1.5) -> Callable[[Context], Any]:
    """`fn`, but a party that fails waits before raising: run_parties closes every other
    party's federation on the first error, which in a real deployment (one process per
    party) does not happen, so this lets the peer read the failing party's last message."""

    def run(ctx: Context) -> Any:
        try:
            return fn(ctx)
        except BaseException:
            time.sleep(seconds)
            raise

    return run


@dataclass
class Outcome:
    """Both parties' outputs, the protocol's training row order, the received messages."""

    guest: dict[str, Any]
    host: dict[str, Any]
    order: np.ndarray
    received: dict[str, list[tuple[str, object]]] = field(default_factory=dict)
    keys: dict[str, list[Any]] = field(default_factory=dict)
    """Key pairs each party generated (recorded runs), to read what it can decrypt."""


def run_sshe(
    tmp: Path,
    params: SsheParams | dict[str, Any],
    train: Pair | None,
    *,
    validate: Pair | None = None,
    test: Pair | None = None,
    models: tuple[Any, Any] | None = None,
    security: SecurityPolicy | None = None,
    transport: str = "memory",
    record: bool = False,
    host_label: bool = False,
    timeout_s: float = 600.0,
) -> Outcome:
    """One guest + one host run (2048-bit keys unless `security` says otherwise)."""
    spec = params if isinstance(params, SsheParams) else SsheParams(**params)
    logs: dict[str, list[tuple[str, object]]] = {"guest": [], "host": []}
    keys: dict[str, list[Any]] = {"guest": [], "host": []}

    def party(ctx: Context) -> Any:
        guest = ctx.role == Role.GUEST
        if record:
            generate, made = ctx.cipher.paillier, keys[ctx.role.value]

            def paillier(key_bits: int | None = None) -> Any:
                made.append(generate(key_bits))
                return made[-1]

            ctx.cipher.paillier = paillier  # type: ignore[method-assign]
            log, keyring = logs[ctx.role.value], ctx.cipher.keyring

            def keep(tag: str, sender: Party, obj: object) -> None:
                # decoded again from its wire bytes: exactly what crossed the boundary
                log.append((tag, loads(dumps(obj), keyring=keyring)))

            ctx = recording_context(ctx, keep)
        inputs: dict[str, Any] = {}
        for usage, pair in (("train", train), ("validate", validate), ("test", test)):
            if pair is not None:
                x = pair.guest_x if guest else pair.host_x
                labels = pair.y if guest or host_label else None
                inputs[usage] = dataset(ctx.computing, pair.ids, x, labels)
        if models is not None:
            inputs["model"] = models[0] if guest else models[1]
        order = dataset_arrays(inputs["train"]).ids if "train" in inputs else None
        run = run_guest if guest else run_host
        return run(ctx.sub("sshe"), spec, inputs), order

    with local_sessions(tmp) as computing:
        results = run_parties(
            lingering(party), {"guest": 9999, "host": 10000}, security=security or SecurityPolicy(),
            computing=computing, timeout_s=timeout_s, transport=transport,  # type: ignore[arg-type]
        )  # fmt: skip
    guest, order = next(v for p, v in results.items() if p.role == Role.GUEST)
    host, _ = next(v for p, v in results.items() if p.role == Role.HOST)
    positions = np.zeros(0, dtype=np.int64)
    if train is not None and order is not None:
        where = {key: i for i, key in enumerate(train.ids.tolist())}
        positions = np.array([where[key] for key in order.tolist()], dtype=np.int64)
    return Outcome(guest, host, positions, logs, keys)


def reference(params: SsheParams | dict[str, Any], train: Pair, order: np.ndarray,
              validate: Pair | None = None) -> Any:  # fmt: skip
    """The plaintext reference of the same algorithm, on the protocol's row order."""
    spec = params if isinstance(params, SsheParams) else SsheParams(**params)
    rows = train.rows(order)
    val = (
        None if validate is None else (validate.guest_x, validate.host_x, validate.y.astype(float))
    )
    seed = spec.random_seed if spec.random_seed is not None else 0
    classes = np.unique(rows.y)
    targets = [(rows.y == classes[1]).astype(float)] if len(classes) == 2 else [
        (rows.y == c).astype(float) for c in classes
    ]  # fmt: skip
    return [plain_fit(rows.guest_x, rows.host_x, t, spec, seed=seed, validate=val) for t in targets]


def model_weights(outcome: Outcome, k: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(guest weights with the intercept last, host weights) of model k."""
    guest = outcome.guest["model"]
    weights = np.append(guest.arrays["weights"][k], guest.arrays["intercept"][k])
    return weights, outcome.host["model"].arrays["weights"][k]


def auc(y: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve (Mann–Whitney, ties counted half)."""
    order = np.argsort(score, kind="mergesort")
    ranks = np.empty(len(score))
    sorted_scores = score[order]
    position = 0
    while position < len(score):
        end = position
        while end + 1 < len(score) and sorted_scores[end + 1] == sorted_scores[position]:
            end += 1
        ranks[order[position : end + 1]] = (position + end) / 2 + 1
        position = end + 1
    positives = y == 1
    count = int(positives.sum())
    return float((ranks[positives].sum() - count * (count + 1) / 2) / (count * (len(y) - count)))
