"""Algorithms: shared pieces (data arrays, optimizers, predictions, model artifacts) and models."""

from chaihuo.ml._artifacts import ModelArtifact
from chaihuo.ml._data import DataArrays, check_aligned, dataset_arrays, id_digest
from chaihuo.ml._diverged import TrainingDivergedError
from chaihuo.ml._optim import Optimizer, OptimizerParams, make_optimizer
from chaihuo.ml._predictions import Predictions, TaskKind

__all__ = [
    "DataArrays",
    "ModelArtifact",
    "Optimizer",
    "OptimizerParams",
    "Predictions",
    "TaskKind",
    "TrainingDivergedError",
    "check_aligned",
    "dataset_arrays",
    "id_digest",
    "make_optimizer",
]
