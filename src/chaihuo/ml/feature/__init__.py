"""Feature engineering: split/sample sync, scaling, statistics, one-hot, binning, selection."""

from chaihuo.ml.feature._dataset import (
    ColumnTransform,
    UnknownColumnError,
    column_indices,
    keep_rows,
    map_features,
    row_ids_and_labels,
    select_columns,
    with_features,
)
from chaihuo.ml.feature._fill import FillMethod, LabelType, cast_labels, fill_missing, fill_values
from chaihuo.ml.feature._inputs import model_input
from chaihuo.ml.feature._onehot import ONE_HOT_KIND, OneHotModel, encode_dataset, fit_one_hot
from chaihuo.ml.feature._scale import SCALE_KIND, ScaleConfig, Scaler, fit_scaler, scale_dataset
from chaihuo.ml.feature._statistics import describe_column, describe_features, describe_label

__all__ = [
    "ONE_HOT_KIND",
    "SCALE_KIND",
    "ColumnTransform",
    "FillMethod",
    "LabelType",
    "OneHotModel",
    "ScaleConfig",
    "Scaler",
    "UnknownColumnError",
    "cast_labels",
    "column_indices",
    "describe_column",
    "describe_features",
    "describe_label",
    "encode_dataset",
    "fill_missing",
    "fill_values",
    "fit_one_hot",
    "fit_scaler",
    "keep_rows",
    "map_features",
    "model_input",
    "row_ids_and_labels",
    "scale_dataset",
    "select_columns",
    "with_features",
]
