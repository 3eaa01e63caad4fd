"""What homo_lr and homo_nn differ in: their network, penalty, start, and stored model."""

# homo_lr folds the standardisation into its weights (the model is on the raw features'
# scale; the penalty α/s_j² keeps scikit-learn's optimum, chaihuo.ml.homo._scaling); homo_nn
# keeps the scaling beside its parameters and standardises inputs before its first layer
# (its L2 α applies to the weights on standardised inputs, biases unpenalised). Both store
# JSON + arrays (chaihuo.ml.ModelArtifact), never pickle; every party holds the same model.

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from chaihuo.core import InvalidInputError
from chaihuo.ml._artifacts import ModelArtifact
from chaihuo.ml.homo._logistic import LogisticNetwork
from chaihuo.ml.homo._mlp import Layer, MlpNetwork
from chaihuo.ml.homo._network import Network
from chaihuo.ml.homo._params import HomoLrParams
from chaihuo.ml.homo._scaling import Scaling
from chaihuo.ml.vertical import load_part

__all__ = ["LOGISTIC", "MLP", "Family", "Scorer"]

Matrix = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Scorer:
    """A stored model, ready to score raw rows."""

    network: Network
    weights: Matrix
    scaling: Scaling
    classes: list[int]

    def probabilities(self, features: Matrix) -> Matrix:
        """P(class) per raw row."""
        return self.network.probabilities(self.weights, self.scaling.standardise(features))


@dataclass(frozen=True)
class Family:
    """One horizontal learner's model kind."""

    kind: str
    folds_scaling: bool

    def network(self, classes: int, features: int, layers: tuple[Layer, ...]) -> Network:
        """The network for `classes` classes over `features` columns (`layers`: homo_nn's)."""
        outputs = 1 if classes == 2 else classes
        if self.folds_scaling:
            return LogisticNetwork(outputs, features)
        return MlpNetwork(features, layers, outputs)

    def alpha(self, params: HomoLrParams, network: Network, scaling: Scaling) -> Matrix:
        """L2 strength per parameter (0 on intercepts and biases)."""
        alpha = params.alpha if params.penalty == "l2" else 0.0
        mask = network.penalised()
        if self.folds_scaling:
            return np.asarray(mask * np.append(scaling.penalty(alpha), 0.0)[None, :])
        return np.asarray(mask * alpha)

    def initial(self, network: Network, seed: int | None) -> Matrix:
        """Starting parameters: zeros (logistic) or Glorot-uniform, drawn here on the server
        (from `seed` when given, else fresh)."""
        if self.folds_scaling:
            return np.zeros(network.shape)
        assert isinstance(network, MlpNetwork)
        return network.initial(
            np.random.default_rng(secrets.randbits(128) if seed is None else seed)
        )

    def model(  # noqa: PLR0917 - the model's parts
        self, role: str, network: Network, weights: Matrix, scaling: Scaling,
        classes: list[int], features: tuple[str, ...], meta: dict[str, Any],
    ) -> ModelArtifact:  # fmt: skip
        """The model as every party stores it (weights on the standardised scale given)."""
        info: dict[str, Any] = {"classes": classes, "features": list(features), **meta}
        if isinstance(network, MlpNetwork):
            info["layers"] = [layer.model_dump() for layer in network.layers]
        if self.folds_scaling:
            return ModelArtifact(self.kind, role, info, {"weights": scaling.to_original(weights)})
        arrays = {"weights": weights, "mean": scaling.mean, "scale": scaling.scale}
        return ModelArtifact(self.kind, role, info, arrays)

    def scorer(self, source: object, role: str) -> Scorer | None:
        """A `model` input as a scorer, checked; None without one."""
        model = load_part(source, self.kind, role)
        if model is None:
            return None
        try:
            classes = [int(c) for c in model.meta["classes"]]
            features = [str(f) for f in model.meta["features"]]
            layers = tuple(Layer.model_validate(item) for item in model.meta.get("layers", []))
            weights = np.asarray(model.arrays["weights"], dtype=np.float64)
            scaling = Scaling.identity(len(features))
            if not self.folds_scaling:
                scaling = Scaling(np.asarray(model.arrays["mean"], dtype=np.float64),
                                  np.asarray(model.arrays["scale"], dtype=np.float64))  # fmt: skip
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInputError(f"`model` input is not a {self.kind} model: {exc}") from exc
        network = self.network(len(classes), len(features), layers)
        if weights.shape != network.shape or scaling.mean.shape != (len(features),):
            raise InvalidInputError("`model` input's weights do not match its network")
        return Scorer(network, weights, scaling, classes)

    def warm(self, scorer: Scorer, scaling: Scaling) -> Matrix:
        """A stored model's parameters on this run's standardised scale."""
        return scaling.to_standard(scorer.weights) if self.folds_scaling else scorer.weights


LOGISTIC = Family("homo_lr", folds_scaling=True)
MLP = Family("homo_nn", folds_scaling=False)
