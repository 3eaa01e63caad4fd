"""Data and runners of the GLM quality tests: hetero pairs joined on id, federated runs."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from chaihuo.computing import Dataset, LocalComputing, Schema
from chaihuo.core import Role
from chaihuo.federation import Party
from chaihuo.ml import dataset_arrays
from chaihuo.ml.glm import Family, GlmParams, run_arbiter, run_guest, run_host
from chaihuo.runtime import Context
from chaihuo.testing import run_parties

DATA = Path(__file__).resolve().parents[2] / "data" / "fate-examples"


@dataclass
class Pair:
    """A hetero pair joined on id: guest features + label, host features (same row order)."""

    ids: np.ndarray
    guest_x: np.ndarray
    guest_names: tuple[str, ...]
    y: np.ndarray
    host_x: np.ndarray
    host_names: tuple[str, ...]

    def rows(self, index: np.ndarray) -> Pair:
        """The pair restricted to some rows."""
        return Pair(
            self.ids[index], self.guest_x[index], self.guest_names, self.y[index],
            self.host_x[index], self.host_names,
        )  # fmt: skip

    @property
    def joined(self) -> np.ndarray:
        """guest ⋈ host features, the centralized design matrix."""
        return np.hstack([self.guest_x, self.host_x])


def read_csv(name: str) -> tuple[list[str], list[str], np.ndarray]:
    """(ids, column names after the id, float matrix) of a FATE example CSV."""
    lines = (DATA / name).read_text().splitlines()
    header = lines[0].split(",")
    cells = [line.split(",") for line in lines[1:] if line]
    return [c[0] for c in cells], header[1:], np.array([[float(v) for v in c[1:]] for c in cells])


def hetero_pair(guest: str, host: str, label: str, *, integer_label: bool = True) -> Pair:
    """Join a guest file (with `label`) and a host file on their id column."""
    guest_ids, guest_cols, guest_rows = read_csv(guest)
    host_ids, host_cols, host_rows = read_csv(host)
    position = {key: i for i, key in enumerate(host_ids)}
    keep = [i for i, key in enumerate(guest_ids) if key in position]
    column = guest_cols.index(label)
    features = [j for j in range(len(guest_cols)) if j != column]
    y = guest_rows[keep, column]
    return Pair(
        np.array([guest_ids[i] for i in keep], dtype=object),
        guest_rows[keep][:, features],
        tuple(guest_cols[j] for j in features),
        y.astype(np.int64) if integer_label else y,
        host_rows[[position[guest_ids[i]] for i in keep]],
        tuple(host_cols),
    )


def epsilon_pair() -> Pair:
    """epsilon_5k: the guest file, and the host part rebuilt as x21..x100 of the three homo
    files (data/README.md: they hold the same 5000 rows with all 100 features)."""
    guest_ids, guest_cols, guest_rows = read_csv("epsilon_5k_hetero_guest.csv")
    by_id: dict[str, np.ndarray] = {}
    for name in ("guest", "host", "test"):
        ids, cols, rows = read_csv(f"epsilon_5k_homo_{name}.csv")
        first = cols.index("x21")
        for key, row in zip(ids, rows, strict=True):
            by_id[key] = row[first:]
    host_cols = tuple(f"x{j}" for j in range(21, 101))
    y = guest_rows[:, guest_cols.index("y")].astype(np.int64)
    features = [j for j, c in enumerate(guest_cols) if c != "y"]
    return Pair(
        np.array(guest_ids, dtype=object), guest_rows[:, features],
        tuple(guest_cols[j] for j in features), y,
        np.array([by_id[key] for key in guest_ids]), host_cols,
    )  # fmt: skip


def stratified_split(y: np.ndarray, test: float = 0.2, seed: int = 0) -> tuple[np.ndarray, ...]:
    """(train rows, test rows): `test` of each class (or of the value quartiles) held out."""
    rng = np.random.default_rng(seed)
    strata = (
        y
        if np.issubdtype(y.dtype, np.integer)
        else np.digitize(y, np.quantile(y, [0.25, 0.5, 0.75]))
    )
    held = []
    for value in np.unique(strata):
        rows = rng.permutation(np.flatnonzero(strata == value))
        held.append(rows[: round(len(rows) * test)])
    test_rows = np.sort(np.concatenate(held))
    return np.setdiff1d(np.arange(len(y)), test_rows), test_rows


def dataset(
    computing: LocalComputing, ids: np.ndarray, x: np.ndarray, names: tuple[str, ...],
    y: np.ndarray | None,
) -> Dataset:  # fmt: skip
    """A dataset built from arrays (as a reader + psi would produce it)."""
    label_dtype = None
    if y is not None:
        label_dtype = "int64" if np.issubdtype(y.dtype, np.integer) else "float64"
    schema = Schema("id", None if y is None else "y", names, ("float64",) * len(names), label_dtype)
    rows = [(str(key), (x[i], None if y is None else y[i].item())) for i, key in enumerate(ids)]
    return Dataset.from_rows(schema, computing.parallelize(rows, partitions=2, include_key=True))


@contextmanager
def sessions(tmp: Path) -> Iterator[Any]:
    sessions: list[LocalComputing] = []

    def make(party: Party) -> LocalComputing:
        session = LocalComputing(tmp / f"{party.role.value}-{party.party_id}", workers=1)
        sessions.append(session)
        return session

    try:
        yield make
    finally:
        for session in sessions:
            session.stop()


@dataclass
class Outcome:
    """Guest predictions (on `test` if given, else train) and every party's model."""

    predictions: Any
    guest_model: Any
    host_model: Any
    order: np.ndarray
    """Positions in the scored arrays of the predicted rows (the protocol's row order)."""
    train_order: np.ndarray
    """Positions in the training arrays of the rows in the protocol's row order."""


def federated(
    tmp: Path,
    family: Family,
    params: GlmParams,
    train: Pair,
    test: Pair | None = None,
    *,
    exposure_colname: str | None = None,
    timeout_s: float = 600.0,
) -> Outcome:
    """One guest + one host + arbiter run on 2048-bit keys (the job default)."""

    def party(ctx: Context) -> Any:
        sub = ctx.sub("glm")
        if ctx.role == Role.ARBITER:
            return run_arbiter(sub, family, params, {})
        guest = ctx.role == Role.GUEST
        inputs = {}
        for usage, pair in (("train", train), ("test", test)):
            if pair is not None:
                x, names = (
                    (pair.guest_x, pair.guest_names) if guest else (pair.host_x, pair.host_names)
                )
                inputs[usage] = dataset(
                    ctx.computing, pair.ids, x, names, pair.y if guest else None
                )
        if guest:
            out = run_guest(sub, family, params, inputs, exposure_colname=exposure_colname)
            return out, dataset_arrays(inputs["train"]).ids
        return run_host(sub, family, params, inputs)

    with sessions(tmp) as computing:
        results = run_parties(
            party, {"guest": 9999, "host": 10000, "arbiter": 10001},
            computing=computing, timeout_s=timeout_s,
        )  # fmt: skip
    guest, train_ids = next(v for p, v in results.items() if p.role == Role.GUEST)
    host = next(v for p, v in results.items() if p.role == Role.HOST)
    scored = test if test is not None else train
    return Outcome(
        guest["predictions"], guest["model"], host["model"],
        positions(scored.ids, guest["predictions"].ids), positions(train.ids, train_ids),
    )  # fmt: skip


def positions(ids: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Index into `ids` of every key of `wanted`, in order."""
    position = {key: i for i, key in enumerate(ids.tolist())}
    return np.array([position[key] for key in wanted.tolist()])
