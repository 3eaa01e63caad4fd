"""The guest's inputs for a GLM run: its data sets, a saved model, its standardisation."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from chaihuo.core import InvalidInputError
from chaihuo.ml._artifacts import ModelArtifact
from chaihuo.ml.glm._data import PartyData, encode_labels, models_for, party_data
from chaihuo.ml.glm._family import Family
from chaihuo.ml.glm._model import load_model, model_weights
from chaihuo.ml.glm._params import GlmParams
from chaihuo.ml.glm._standardize import Standardizer
from chaihuo.ml.vertical import scoring_input

__all__ = ["GuestSetup", "guest_setup"]

Vector = npt.NDArray[np.float64]


@dataclass
class GuestSetup:
    """What the guest runs on: data (standardised), classes, seed, a model to reopen."""

    mode: str
    score: PartyData
    classes: list[Any]
    models: int
    seed: int
    train: PartyData | None = None
    validate: PartyData | None = None
    init: tuple[Vector, Vector] | None = None
    digests: dict[str, bytes] = field(default_factory=dict)
    model: ModelArtifact | None = None
    std: Standardizer | None = None


def guest_setup(
    family: Family, params: GlmParams, inputs: Mapping[str, Any], exposure: str | None
) -> GuestSetup:
    """Check and load the guest's inputs: to predict with a saved model, or to fit (from
    scratch or warm), every data set standardised as the model was or will be trained."""
    model = load_model(inputs.get("model"), family, "guest")
    if params.predicts:
        model, usage = scoring_input(model, inputs, "epochs")
        score = party_data(inputs[usage], host=False, usage=usage, exposure_colname=exposure)
        std = Standardizer.of_model(model, len(score.feature_names))
        meta = model.meta
        return GuestSetup(
            "predict", std.apply(score), list(meta.get("classes", [])),
            int(meta.get("models", 1)), 0, init=_reopened(model, score.feature_names, std),
            digests={usage: score.digest}, model=model, std=std,
        )  # fmt: skip
    if inputs.get("train") is None:
        raise InvalidInputError(
            f"{family.component} needs a `train` input (or a model to predict)", public=True
        )
    train = party_data(inputs["train"], host=False, usage="train", exposure_colname=exposure)
    classes = encode_labels(family, train.labels)
    setup = GuestSetup(
        "fit", train, classes, models_for(family, classes),
        params.random_seed if params.random_seed is not None else secrets.randbits(62),
        train=train, digests={"train": train.digest},
    )  # fmt: skip
    for usage in ("validate", "test"):
        if inputs.get(usage) is not None:
            data = party_data(inputs[usage], host=False, usage=usage, exposure_colname=exposure)
            if data.feature_names != train.feature_names:
                raise InvalidInputError(
                    f"the guest's `{usage}` data has other columns than `train`", public=True
                )
            if usage == "validate" and data.labels is None:
                raise InvalidInputError(
                    "the guest's `validate` data needs the label column", public=True
                )
            setup.digests[usage] = data.digest
            setup.validate = data if usage == "validate" else setup.validate
            setup.score = data if usage == "test" else setup.score
    if model is not None:
        _check_warm(model, setup)
        setup.std = Standardizer.of_model(model, len(train.feature_names))
        setup.init = _reopened(model, train.feature_names, setup.std)
        setup.model = model
    elif params.standardize:
        setup.std = Standardizer.fit(train.features)
    else:
        setup.std = Standardizer.identity(len(train.feature_names))
    std = setup.std
    setup.train = std.apply(train)
    setup.validate = None if setup.validate is None else std.apply(setup.validate)
    setup.score = setup.train if setup.score is train else std.apply(setup.score)
    return setup


def _reopened(
    model: ModelArtifact, names: tuple[str, ...], std: Standardizer
) -> tuple[Vector, Vector]:
    """A saved model's (weights, intercepts) in the space it was trained in: the saved
    intercept has the guest's offset taken out (see _standardize)."""
    saved = model_weights(model, names)
    intercepts = np.asarray(model.arrays.get("intercept", np.zeros(saved.shape[0])), np.float64)
    return std.to_trained(saved), intercepts + saved @ std.mean


def _check_warm(model: ModelArtifact, setup: GuestSetup) -> None:
    if list(model.meta.get("classes", [])) != setup.classes:
        raise InvalidInputError("warm start: the model's classes differ from the label's")
    if int(model.meta.get("models", 1)) != setup.models:
        raise InvalidInputError("warm start: the model has another number of OvR models")
