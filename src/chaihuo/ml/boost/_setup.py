"""What SecureBoost's guest and hosts agree on before the first tree, and each party's rows."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from chaihuo.core import InvalidInputError
from chaihuo.crypto.paillier import PaillierPool
from chaihuo.ml._artifacts import ModelArtifact
from chaihuo.ml._data import PartyData, check_features, id_digest, training_arrays
from chaihuo.ml.boost._model import KIND
from chaihuo.ml.boost._params import PROTOCOL_FIELDS, BoostParams
from chaihuo.ml.vertical import load_part, scoring_input
from chaihuo.runtime import Context

__all__ = ["PartySetup", "crypto_pool", "local_setup", "protocol_of"]

POOL_FROM_ROWS = 4096
"""From this many rows a party spreads its Paillier work over its crypto workers."""


@dataclass
class PartySetup:
    """One party's inputs, checked: mode, its data sets by usage, its model part."""

    mode: str
    data: dict[str, PartyData]
    model: ModelArtifact | None
    plan: dict[str, Any] = field(default_factory=dict)

    @property
    def score_usage(self) -> str:
        """The data set predictions are made for: `test` when given, else `train`."""
        return "test" if "test" in self.data else "train"

    @property
    def digests(self) -> dict[str, bytes]:
        """Row digests per usage (equal on every party iff the rows line up)."""
        return {usage: data.digest for usage, data in self.data.items()}


def protocol_of(params: BoostParams) -> dict[str, Any]:
    """The parameters every party must agree on."""
    return {name: getattr(params, name) for name in PROTOCOL_FIELDS}


def _party_data(dataset: object, host: bool, usage: str, missing: bool) -> PartyData:
    arrays = training_arrays(dataset, host=host, usage=usage, component=KIND)
    if not missing:
        check_features(arrays.feature_names, arrays.features, usage)
    elif np.isinf(arrays.features).any():
        raise InvalidInputError(f"`{usage}` data has infinite feature values", public=True)
    return PartyData(
        arrays.ids, arrays.features, arrays.labels, arrays.feature_names, id_digest(arrays.ids)
    )


def local_setup(params: BoostParams, inputs: Mapping[str, Any], role: str) -> PartySetup:
    """Read and check this party's inputs (raises with a data-free public reason)."""
    model = load_part(inputs.get("model"), KIND, role)
    host = role == "host"
    if params.predicts:
        model, usage = scoring_input(model, inputs, "num_trees")
        return PartySetup(
            "predict", {usage: _party_data(inputs[usage], host, usage, params.use_missing)}, model
        )
    if inputs.get("train") is None:
        raise InvalidInputError(f"{KIND} needs a `train` input (or a model to predict)",
                                public=True)  # fmt: skip
    data = {
        usage: _party_data(inputs[usage], host, usage, params.use_missing)
        for usage in ("train", "validate", "test")
        if inputs.get(usage) is not None
    }
    return PartySetup("fit", data, model)  # with a model: continue it (warm start)


def crypto_pool(ctx: Context, rows: int) -> PaillierPool | None:
    """The party's crypto workers when `rows` make them pay off, else None."""
    if rows < POOL_FROM_ROWS:
        return None
    pool: PaillierPool = ctx.cipher.pool
    return pool
