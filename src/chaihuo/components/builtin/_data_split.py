"""`data_split`: train / validate / test parts, stratified by the guest's label, synced to hosts."""

# The guest decides: it checks every host is row-aligned (id digest), draws the assignment
# with a seeded generator (stratified by its label when asked) and sends each host one code
# per row. What each role learns: see chaihuo.ml.feature.rows.guest (hosts learn which
# aligned rows go to which part, nothing about labels beyond that). Every party outputs
# `train`, `validate` and `test` with the same partition count as its input, so the parts
# stay row-aligned across parties. Sizes: an int is a row count, a float a fraction of the
# rows; with none given the split is 0.8 / 0 / 0.2. Rows no part takes are dropped.
# Stratified parts hold each class in proportion (largest-remainder rounding per part).

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
from pydantic import Field

from chaihuo.components._spec import ComponentParams, ComponentSpec
from chaihuo.computing import Dataset
from chaihuo.core import InvalidInputError, Role
from chaihuo.ml.feature import keep_rows, row_ids_and_labels
from chaihuo.ml.feature.rows import (
    notify_on_error,
    receive_row_codes,
    resolve_size,
    send_row_codes,
    split_codes,
)
from chaihuo.runtime import Context

__all__ = ["DATA_SPLIT"]

_PARTS = ("train", "validate", "test")


class DataSplitParams(ComponentParams):
    """Part sizes (count if int, fraction if float), stratification and seed (guest's count)."""

    train_size: int | float | None = Field(None, ge=0, description="Rows (int) or fraction.")
    validate_size: int | float | None = Field(None, ge=0, description="Rows (int) or fraction.")
    test_size: int | float | None = Field(None, ge=0, description="Rows (int) or fraction.")
    stratified: bool | None = Field(
        None, description="Stratify by the guest's label; None: when the label is integral."
    )
    seed: int | None = Field(None, ge=0, description="Seed of the guest's draw (None: fresh).")


def _sizes(params: DataSplitParams, rows: int) -> list[int]:
    given = (params.train_size, params.validate_size, params.test_size)
    if all(size is None for size in given):
        given = (0.8, None, 0.2)
    return [
        resolve_size(size, rows, f"{part}_size") for size, part in zip(given, _PARTS, strict=True)
    ]


def _strata(params: DataSplitParams, labels: npt.NDArray[Any] | None) -> npt.NDArray[Any] | None:
    if params.stratified is False:
        return None
    if labels is None or labels.dtype.kind not in "biu":
        if params.stratified:
            raise InvalidInputError(
                "stratified split needs the guest's integral (class) label; "
                "set stratified: false for regression labels"
            )
        return None
    return labels


def _outputs(ctx: Context, dataset: Dataset, codes: npt.NDArray[np.uint8]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for index, part in enumerate(_PARTS, start=1):
        mask = codes == index
        out[part] = keep_rows(dataset, mask)
        ctx.metrics.log(f"{part}_rows", int(mask.sum()))
    return out


def _guest(ctx: Context, params: DataSplitParams, inputs: Mapping[str, Any]) -> dict[str, Any]:
    dataset: Dataset = inputs["data"]
    ids, labels = row_ids_and_labels(dataset)

    def plan() -> npt.NDArray[np.uint8]:
        sizes = _sizes(params, len(ids))
        rng = np.random.default_rng(params.seed)
        return split_codes(_strata(params, labels), len(ids), sizes, rng)

    codes = notify_on_error(ctx, "rows", plan)
    send_row_codes(ctx, ids, codes)
    return _outputs(ctx, dataset, codes)


def _host(ctx: Context, params: DataSplitParams, inputs: Mapping[str, Any]) -> dict[str, Any]:
    dataset: Dataset = inputs["data"]
    ids, _ = row_ids_and_labels(dataset)
    return _outputs(ctx, dataset, receive_row_codes(ctx, ids))


DATA_SPLIT = ComponentSpec(
    name="data_split",
    version="1.0",
    description="Split aligned data into train/validate/test (stratified), synced by the guest.",
    params=DataSplitParams,
    runners={Role.GUEST: _guest, Role.HOST: _host},
    inputs=("data",),
    outputs=_PARTS,
)
