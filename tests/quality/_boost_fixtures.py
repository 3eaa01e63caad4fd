"""Data, runner and comparisons of the hetero_secureboost tests (quality, protocol, privacy)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from _pairs import Pair, dataset, hetero_pair, read_csv
from _sshe_fixtures import lingering

from chaihuo.core import PartyId, Role
from chaihuo.federation import Party
from chaihuo.ml import ModelArtifact
from chaihuo.ml.boost import BoostParams, GuestModel, HostModel, PlainBoost, run_guest, run_host
from chaihuo.ml.boost._bins import bin_columns
from chaihuo.ml.boost._tree import GUEST
from chaihuo.runtime import Context, SecurityPolicy
from chaihuo.serde import dumps, loads
from chaihuo.testing import local_sessions, recording_context, run_parties

GUEST_ID = 9999
HOST_IDS = (10000, 10001, 10002)


@dataclass
class Parts:
    """Rows split by columns: the guest's (with the label) and each host's."""

    ids: np.ndarray
    guest_x: np.ndarray
    guest_names: tuple[str, ...]
    y: np.ndarray
    hosts: list[tuple[np.ndarray, tuple[str, ...]]]

    @classmethod
    def of(cls, pair: Pair, hosts: int = 1) -> Parts:
        """The pair's host columns dealt to `hosts` hosts in contiguous blocks."""
        blocks = np.array_split(np.arange(pair.host_x.shape[1]), hosts)
        return cls(
            pair.ids, pair.guest_x, pair.guest_names, pair.y,
            [(pair.host_x[:, b], tuple(pair.host_names[j] for j in b)) for b in blocks],
        )  # fmt: skip

    def rows(self, index: np.ndarray) -> Parts:
        """The same parties restricted to some rows."""
        return Parts(
            self.ids[index], self.guest_x[index], self.guest_names, self.y[index],
            [(x[index], names) for x, names in self.hosts],
        )  # fmt: skip

    @property
    def host_xs(self) -> list[np.ndarray]:
        """Each host's matrix."""
        return [x for x, _ in self.hosts]

    @property
    def joined(self) -> np.ndarray:
        """Every party's columns side by side (the centralised design matrix)."""
        return np.hstack([self.guest_x, *self.host_xs])


@dataclass
class BoostRun:
    """Every party's outputs and (recorded runs) what each party received."""

    guest: dict[str, Any]
    hosts: list[dict[str, Any]]
    seconds: float
    received: dict[str, list[tuple[str, object]]] = field(default_factory=dict)


def run_boost(
    tmp: Path,
    params: BoostParams | dict[str, Any],
    train: Parts | None,
    *,
    validate: Parts | None = None,
    test: Parts | None = None,
    models: list[Any] | None = None,
    security: SecurityPolicy | None = None,
    record: bool = False,
    host_label: bool = False,
    host_rows: Parts | None = None,
    host_params: dict[str, Any] | None = None,
) -> BoostRun:
    """One guest and len(train.hosts) hosts; `models` = [guest part, host parts...];
    `host_rows` replaces the hosts' training rows, `host_params` their parameters."""
    spec = params if isinstance(params, BoostParams) else BoostParams(**params)
    spec_of_hosts = BoostParams(**host_params) if host_params is not None else spec
    shape = train if train is not None else test
    assert shape is not None
    count = len(shape.hosts)
    received: dict[str, list[tuple[str, object]]] = {}

    def party(ctx: Context) -> Any:
        guest = ctx.role == Role.GUEST
        index = 0 if guest else HOST_IDS.index(int(ctx.local.party_id))
        if record:
            log, keyring = received.setdefault(str(ctx.local), []), ctx.cipher.keyring

            def keep(tag: str, sender: Party, obj: object) -> None:
                log.append((tag, loads(dumps(obj), keyring=keyring)))

            ctx = recording_context(ctx, keep)
        inputs: dict[str, Any] = {}
        for usage, given in (("train", train), ("validate", validate), ("test", test)):
            parts = host_rows if usage == "train" and not guest and host_rows else given
            if parts is None:
                continue
            x, names = (parts.guest_x, parts.guest_names) if guest else parts.hosts[index]
            labels = parts.y if guest or host_label else None
            inputs[usage] = dataset(ctx.computing, parts.ids, x, names, labels)
        if models is not None:
            inputs["model"] = models[0] if guest else models[1 + index]
        if guest:
            return run_guest(ctx.sub("boost"), spec, inputs)
        return run_host(ctx.sub("boost"), spec_of_hosts, inputs)

    roles: dict[str, Any] = {"guest": GUEST_ID, "host": list(HOST_IDS[:count])}
    start = time.perf_counter()
    with local_sessions(tmp) as computing:
        results = run_parties(
            lingering(party), roles, security=security or SecurityPolicy(), computing=computing,
            timeout_s=3600,
        )  # fmt: skip
    seconds = time.perf_counter() - start
    guest = next(v for p, v in results.items() if p.role == Role.GUEST)
    hosts = [results[Party(Role.HOST, PartyId(str(h)))] for h in HOST_IDS[:count]]
    return BoostRun(guest, hosts, seconds, received)


def assert_same_trees(run: BoostRun, reference: PlainBoost, tol: float = 1e-9) -> None:
    """The protocol's trees are the reference's: same owners, same columns and cuts (a host's
    read from its own model part), leaf values within `tol`."""
    guest = GuestModel.from_artifact(run.guest["model"])
    hosts = [HostModel.from_artifact(h["model"]) for h in run.hosts]
    assert len(guest.trees) == len(reference.trees)
    np.testing.assert_allclose(guest.init_scores, reference.init_scores, rtol=0, atol=tol)
    for t, (ours, theirs) in enumerate(zip(guest.trees, reference.trees, strict=True)):
        assert sorted(ours.nodes) == sorted(theirs.nodes), f"tree {t}: other nodes"
        for k, node in ours.nodes.items():
            want = theirs.nodes[k]
            assert node.owner == want.owner and node.leaf == want.leaf, f"tree {t} node {k}"
            if node.leaf:
                assert node.value is not None and want.value is not None
                assert abs(node.value - want.value) <= tol, f"tree {t} leaf {k}"
                continue
            assert abs(node.gain - want.gain) <= tol * max(1.0, abs(want.gain)), f"gain {k}"
            if node.owner == GUEST:
                assert (node.split, node.threshold) == (want.split, want.threshold)
            else:
                assert hosts[node.owner].nodes[(t, k)] == reference.host_split(
                    want.owner, want.split
                ), f"tree {t} node {k}: host split"


def saved(directory: Path, run: BoostRun) -> list[ModelArtifact]:
    """Every party's model part, written to disk and read back (what a predict job loads)."""
    parts = [run.guest["model"], *(h["model"] for h in run.hosts)]
    return [ModelArtifact.load(part.save(directory, f"part{i}")) for i, part in enumerate(parts)]


def in_order(predictions: Any, ids: np.ndarray) -> np.ndarray:
    """Prediction scores in the order of `ids` (a job's rows come in partition order)."""
    where = {key: i for i, key in enumerate(predictions.ids.tolist())}
    return np.asarray(predictions.scores)[[where[str(key)] for key in ids.tolist()]]


# -- FATE's datasets as parties, and XGBoost's view of the same bins ---------------------------


def fate_pair(name: str, hosts: int = 1) -> Parts:
    """`<name>_hetero_guest.csv` (label `y`) and its host file(s), joined on id."""
    return Parts.of(hetero_pair(f"{name}_hetero_guest.csv", f"{name}_hetero_host.csv", "y"),
                    hosts)  # fmt: skip


def give_credit() -> Parts:
    """give_credit_homo_test.csv split by columns: guest x0–x4 + label, host x5–x9."""
    ids, names, rows = read_csv("give_credit_homo_test.csv")
    label = names.index("y")
    columns = [j for j in range(len(names)) if j != label]
    guest, host = columns[:5], columns[5:]
    return Parts(
        np.array(ids, dtype=object), rows[:, guest], tuple(names[j] for j in guest),
        rows[:, label].astype(np.int64), [(rows[:, host], tuple(names[j] for j in host))],
    )  # fmt: skip


def regression_pair(name: str, label: str, hosts: int = 1) -> Parts:
    """A hetero pair with a real-valued label."""
    guest_file = f"{name}_hetero_guest.csv"
    pair = hetero_pair(guest_file, f"{name}_hetero_host.csv", label, integer_label=False)
    return Parts.of(pair, hosts)


def motor_pair() -> Parts:
    """motor: the guest and its two hosts."""
    join = hetero_pair  # two host files, joined one by one
    first = join("motor_hetero_guest.csv", "motor_hetero_host_1.csv", "motor_speed",
                 integer_label=False)  # fmt: skip
    second = join("motor_hetero_guest.csv", "motor_hetero_host_2.csv", "motor_speed",
                  integer_label=False)  # fmt: skip
    assert (first.ids == second.ids).all()
    hosts = [(first.host_x, first.host_names), (second.host_x, second.host_names)]
    return Parts(first.ids, first.guest_x, first.guest_names, first.y, hosts)


def vehicle_pair() -> Parts:
    """vehicle_scale with its 4 classes as indices 0..3 (multi:softmax's labels)."""
    parts = fate_pair("vehicle_scale")
    parts.y = np.searchsorted(np.unique(parts.y), parts.y)
    return parts


def binned_like(reference: Any, parts: Parts) -> np.ndarray:
    """Every party's columns as the reference's bin indices (XGBoost's input "same bins")."""
    sources = [(reference.guest, parts.guest_x)]
    sources += [(host, x) for host, x in zip(reference.hosts, parts.host_xs, strict=True)]
    return np.hstack([bin_columns(x, source.bins.cuts) for source, x in sources]).astype(float)


def xgboost_margin(reference: Any, rows: int) -> np.ndarray:
    """The reference's initial scores as XGBoost's base margin."""
    init = np.tile(reference.init_scores, (rows, 1))
    return init if init.shape[1] > 1 else init[:, 0]
