"""Horizontal federated learning: clients with the same features train one model by rounds."""

from chaihuo.ml.homo._params import HomoLrParams, Strategy
from chaihuo.ml.homo.client import run_client
from chaihuo.ml.homo.server import run_server

__all__ = ["HomoLrParams", "Strategy", "run_client", "run_server"]
