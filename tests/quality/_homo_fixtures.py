"""Horizontal splits of the quality tests: FATE's homo files as client parts, runs, references."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from _pairs import dataset, read_csv
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from chaihuo.computing import LocalComputing
from chaihuo.core import Role
from chaihuo.federation import Party
from chaihuo.ml import homo
from chaihuo.runtime import Context
from chaihuo.testing import recording_context, run_parties

__all__ = [
    "Dropped", "HomoRun", "Part", "client_scores", "federated", "homo_file", "score",
    "sklearn_reference", "split_rows",
]  # fmt: skip


@dataclass(frozen=True)
class Part:
    """One client's rows (or a test split): ids, features, integer labels."""

    ids: np.ndarray
    x: np.ndarray
    y: np.ndarray
    names: tuple[str, ...]


def homo_file(name: str) -> Part:
    """A homo CSV of FATE's examples (every party's file has the label `y`)."""
    ids, columns, data = read_csv(name)
    label = columns.index("y")
    names = tuple(c for c in columns if c != "y")
    return Part(np.array(ids), np.delete(data, label, axis=1), data[:, label].astype(np.int64),
                names)  # fmt: skip


def split_rows(part: Part, shares: list[float], seed: int = 0) -> list[Part]:
    """`part` cut into disjoint random row sets of the given fractions (test data only)."""
    order = np.random.default_rng(seed).permutation(len(part.ids))
    cuts = np.cumsum([round(share * len(order)) for share in shares])[:-1]
    return [Part(part.ids[i], part.x[i], part.y[i], part.names) for i in np.split(order, cuts)]


@dataclass
class HomoRun:
    """What every party returned."""

    server: dict[str, Any]
    clients: list[dict[str, Any]]

    def series(self, name: str) -> list[float]:
        """The server's logged values of metric `name`, in round order."""
        records = [r for r in self.server["metrics"] if r.name == name]
        return [r.value for r in sorted(records, key=lambda r: r.step or 0)]

    @property
    def weights(self) -> np.ndarray:
        """The global model's weights (the server's copy)."""
        return np.asarray(self.server["model"].arrays["weights"])


class Dropped(Exception):
    """A client leaving the job (its thread ends; the federation is not told)."""


def federated(
    clients: list[Part], test: Part, params: Any, *,
    received: dict[str, list[tuple[str, object]]] | None = None,
    drop_at: dict[int, str] | None = None, server_inputs: dict[str, Any] | None = None,
    learner: Any = homo, **run: Any,
) -> HomoRun:  # fmt: skip
    """homo_lr over the in-memory federation: one server, one client per part.

    `params` may differ per party (server first, then the clients). `received` collects what
    each party receives (keyed "role:id"); `drop_at[i]` makes client i leave when a message
    whose tag contains that text arrives (it returns {"dropped": True}). `learner` is the
    package with `run_server` and `run_client` (homo_lr's by default).
    """
    per_party = params if isinstance(params, list) else [params] * (len(clients) + 1)
    with tempfile.TemporaryDirectory(prefix="chaihuo-homo-") as folder:
        computing = LocalComputing(Path(folder) / "computing")
        try:

            def party(ctx: Context) -> Any:
                index = -1 if ctx.role is Role.SERVER else int(ctx.local.party_id) - 100
                log = None if received is None else received.setdefault(str(ctx.local), [])
                leave = (drop_at or {}).get(index)

                def watch(tag: str, sender: Party, obj: object) -> None:
                    if log is not None:
                        log.append((tag, obj))
                    if leave is not None and leave in tag:
                        raise Dropped

                ctx = recording_context(ctx, watch)
                if ctx.role is Role.SERVER:
                    outputs = learner.run_server(ctx, per_party[0], server_inputs or {})
                    return {**outputs, "metrics": ctx.metrics_sink.records()}
                mine = clients[index]
                inputs = {
                    "train": dataset(computing, mine.ids, mine.x, mine.names, mine.y),
                    "test": dataset(computing, test.ids, test.x, test.names, test.y),
                }
                try:
                    return learner.run_client(ctx, per_party[1 + index], inputs)
                except Dropped:
                    return {"dropped": True}

            roles = {"server": 1, "client": [100 + i for i in range(len(clients))]}
            results = run_parties(party, roles, **run)
        finally:
            computing.stop()
    ordered = sorted(results.items(), key=lambda item: item[0].party_id)
    return HomoRun(
        next(v for p, v in ordered if p.role is Role.SERVER),
        [v for p, v in ordered if p.role is Role.CLIENT],
    )


def sklearn_reference(clients: list[Part], alpha: float) -> LogisticRegression:
    """scikit-learn on the union of the clients' rows, the same penalty: C = 1 / (α · rows)."""
    x = np.vstack([c.x for c in clients])
    y = np.concatenate([c.y for c in clients])
    return LogisticRegression(C=1.0 / (alpha * len(y)), max_iter=10_000).fit(x, y)


def score(probabilities: np.ndarray, truth: np.ndarray) -> float:
    """AUC for two classes (P(y = 1) given), accuracy for more (one column per class)."""
    if probabilities.ndim == 1:
        return float(roc_auc_score(truth, probabilities))
    return float(np.mean(np.argmax(probabilities, axis=1) == truth))


def client_scores(run: HomoRun, test: Part) -> np.ndarray:
    """The first client's scores on `test`, in `test`'s row order."""
    predictions = run.clients[0]["predictions"]
    where = {key: row for row, key in enumerate(predictions.ids.tolist())}
    return np.asarray(predictions.scores)[[where[str(key)] for key in test.ids]]
