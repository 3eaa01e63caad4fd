"""Horizontal SecureBoost: XGBoost's trees from the clients' securely summed histograms."""

from chaihuo.ml.homoboost._model import HomoBoostModel
from chaihuo.ml.homoboost._params import HomoBoostParams
from chaihuo.ml.homoboost.client import run_client
from chaihuo.ml.homoboost.server import run_server

__all__ = ["HomoBoostModel", "HomoBoostParams", "run_client", "run_server"]
