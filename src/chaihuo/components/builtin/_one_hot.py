"""`one_hot`: one-hot encoding of each party's integer-valued columns; model for new data."""

# Local to each party: nothing crosses the wire. Categories are learnt from the data being
# fitted (or taken from a `model` input); unseen categories and missing values encode as all
# zeros. See chaihuo.ml.feature._onehot.

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field

from chaihuo.components._spec import ComponentParams, ComponentSpec
from chaihuo.computing import Dataset
from chaihuo.core import Role
from chaihuo.ml import dataset_arrays
from chaihuo.ml.feature import ONE_HOT_KIND, OneHotModel, encode_dataset, fit_one_hot, model_input
from chaihuo.runtime import Context

__all__ = ["ONE_HOT"]


class OneHotParams(ComponentParams):
    """Which columns to encode (this party's), or auto-detection of categorical ones."""

    columns: list[str] | None = Field(
        None, description="Columns to encode; None: every whole-number column with few values."
    )
    max_categories: int = Field(
        10, ge=1, le=10_000, description="Most categories per column (auto: the detection bound)."
    )


def _encode(ctx: Context, params: OneHotParams, inputs: Mapping[str, Any]) -> dict[str, Any]:
    dataset: Dataset = inputs["data"]
    role = ctx.role.value
    fitted = model_input(inputs.get("model"), ONE_HOT_KIND, role)
    if fitted is not None:
        model = OneHotModel.from_artifact(fitted)
    else:
        features = dataset_arrays(dataset).features
        model = fit_one_hot(dataset.schema, features, params.columns, params.max_categories)
    encoded = encode_dataset(dataset, model)
    ctx.metrics.log("encoded_columns", len(model.categories))
    ctx.metrics.log("output_columns", encoded.schema.num_features)
    return {"data": encoded, "model": model.to_artifact(role)}


ONE_HOT = ComponentSpec(
    name="one_hot",
    version="1.0",
    description="One-hot encode each party's categorical (integer) columns, with a model.",
    params=OneHotParams,
    runners=dict.fromkeys((Role.GUEST, Role.HOST), _encode),
    inputs=("data",),
    outputs=("data", "model"),
    optional_inputs=("model",),
)
