"""Hetero dataset pairs of the quality tests: FATE's files joined on id, splits, datasets."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from chaihuo.computing import Dataset, LocalComputing, Schema

__all__ = [
    "DATA",
    "Pair",
    "dataset",
    "epsilon_pair",
    "hetero_pair",
    "read_csv",
    "stratified_split",
]

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
