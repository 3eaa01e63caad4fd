"""Horizontal federated learning: clients with the same features train one model by rounds."""

from chaihuo.ml.homo._family import LOGISTIC, MLP, Family
from chaihuo.ml.homo._mlp import Layer
from chaihuo.ml.homo._params import HomoLrParams, HomoNnParams, Strategy
from chaihuo.ml.homo.client import run_client
from chaihuo.ml.homo.server import run_server

__all__ = [
    "LOGISTIC", "MLP", "Family", "HomoLrParams", "HomoNnParams", "Layer", "Strategy",
    "run_client", "run_server",
]  # fmt: skip
