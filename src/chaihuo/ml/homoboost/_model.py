"""homo_secureboost's model: the trees every party holds, and predicting with them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from chaihuo.core import InvalidInputError
from chaihuo.federation import ProtocolViolationError
from chaihuo.ml._artifacts import ModelArtifact
from chaihuo.ml.boost._objectives import Objective, objective
from chaihuo.ml.boost._tree import Node, Tree, margins, route
from chaihuo.ml.homoboost._messages import TREE_FIELDS, tree_arrays, tree_from_arrays
from chaihuo.ml.vertical import load_part

__all__ = ["KIND", "HomoBoostModel"]

KIND = "homo_secureboost"
Matrix = npt.NDArray[np.float64]


@dataclass
class HomoBoostModel:
    """Trees (one per class per round for softmax), initial scores, classes and columns."""

    objective_name: str
    classes: list[int]
    features: list[str]
    init_scores: Matrix
    trees: list[Tree]

    @property
    def objective(self) -> Objective:
        """The loss and its link."""
        outputs = len(self.classes) if self.objective_name == "multi:softmax" else 1
        return objective(self.objective_name, outputs)

    def decision_function(self, features: Matrix) -> Matrix:
        """Raw scores (rows × outputs)."""

        def decide(tree: int, node_id: int, node: Node, rows: npt.NDArray[np.int64]) -> Any:
            return node.left(features[rows, node.split])

        leaves = route(self.trees, features.shape[0], decide)
        return margins(self.trees, leaves, self.init_scores)

    def predict(self, features: Matrix) -> Matrix:
        """P(y = classes[1]) (binary) or class probabilities (rows × classes)."""
        return self.objective.link(self.decision_function(features))

    def artifact(self, role: str, meta: dict[str, Any]) -> ModelArtifact:
        """The model as stored by every party (JSON + arrays, no pickle)."""
        arrays: dict[str, npt.NDArray[Any]] = {"init_scores": self.init_scores}
        for t, tree in enumerate(self.trees):
            for name, values in tree_arrays(tree).items():
                arrays[f"tree{t}_{name}"] = values
        head = {"objective": self.objective_name, "classes": self.classes,
                "features": self.features, "trees": len(self.trees)}  # fmt: skip
        return ModelArtifact(KIND, role, {**head, **meta}, arrays)

    @classmethod
    def load(cls, source: object, role: str) -> HomoBoostModel | None:
        """A `model` input as a model, checked; None without one."""
        model = load_part(source, KIND, role)
        if model is None:
            return None
        meta = model.meta
        try:
            features = [str(f) for f in meta["features"]]
            trees = [
                tree_from_arrays(
                    {k: model.arrays[f"tree{t}_{k}"] for k in TREE_FIELDS},
                    len(features),
                )
                for t in range(int(meta["trees"]))
            ]
            init = np.asarray(model.arrays["init_scores"], dtype=np.float64)
            return cls(str(meta["objective"]), [int(c) for c in meta["classes"]], features,
                       init, trees)  # fmt: skip
        except (KeyError, TypeError, ValueError, ProtocolViolationError) as exc:
            raise InvalidInputError(
                f"`model` input is not a homo_secureboost model: {exc}"
            ) from exc
