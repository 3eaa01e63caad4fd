"""`sample`: random or stratified sampling without replacement, decided by the guest, synced."""

# Random: exactly `count` rows, or round(fraction·rows). Stratified (by the guest's integral
# label): per class, `class_counts[c]` rows or round(f·n_c) with f from `class_fractions`
# (falling back to `fraction`). The guest draws with a seeded generator and sends each
# aligned host one keep/drop code per row (see chaihuo.ml.feature.rows.guest for what that
# reveals). Sampling with replacement (up-sampling) is not offered: it would need new ids.

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from pydantic import Field, model_validator

from chaihuo.components._spec import ComponentParams, ComponentSpec
from chaihuo.computing import Dataset
from chaihuo.core import InvalidInputError, Role
from chaihuo.ml.feature import keep_rows, row_ids_and_labels
from chaihuo.ml.feature.rows import (
    notify_on_error,
    receive_row_codes,
    sample_mask,
    send_row_codes,
)
from chaihuo.runtime import Context

__all__ = ["SAMPLE"]


class SampleParams(ComponentParams):
    """How many rows to keep, overall or per class (the guest's parameters decide)."""

    method: Literal["random", "stratified"] = "random"
    fraction: float | None = Field(None, ge=0, le=1, description="Share of rows (per class).")
    count: int | None = Field(None, ge=0, description="Exact number of rows (random).")
    class_fractions: dict[int, float] | None = Field(None, description="label → fraction.")
    class_counts: dict[int, int] | None = Field(None, description="label → rows.")
    seed: int | None = Field(None, ge=0, description="Seed of the guest's draw (None: fresh).")

    @model_validator(mode="after")
    def _consistent(self) -> SampleParams:
        if self.method == "random":
            if (self.fraction is None) == (self.count is None):
                raise ValueError("random sampling needs exactly one of fraction and count")
            if self.class_fractions or self.class_counts:
                raise ValueError("class_fractions/class_counts need method: stratified")
        elif self.count is not None:
            raise ValueError("stratified sampling takes class_counts, not count")
        return self


def _plan(params: SampleParams, labels: npt.NDArray[Any] | None, rows: int) -> npt.NDArray[Any]:
    rng = np.random.default_rng(params.seed)
    if params.method == "random":
        return sample_mask(None, rows, rng, fraction=params.fraction, count=params.count)
    if labels is None or labels.dtype.kind not in "biu":
        raise InvalidInputError("stratified sampling needs the guest's integral (class) label")
    return sample_mask(
        labels.astype(np.int64),
        rows,
        rng,
        fraction=params.fraction,
        class_fractions=params.class_fractions,
        class_counts=params.class_counts,
    )


def _guest(ctx: Context, params: SampleParams, inputs: Mapping[str, Any]) -> dict[str, Any]:
    dataset: Dataset = inputs["data"]
    ids, labels = row_ids_and_labels(dataset)
    mask = notify_on_error(ctx, "rows", lambda: _plan(params, labels, len(ids)))
    send_row_codes(ctx, ids, mask.astype(np.uint8))
    ctx.metrics.log("sampled_rows", int(mask.sum()))
    return {"data": keep_rows(dataset, mask)}


def _host(ctx: Context, params: SampleParams, inputs: Mapping[str, Any]) -> dict[str, Any]:
    dataset: Dataset = inputs["data"]
    ids, _ = row_ids_and_labels(dataset)
    mask = receive_row_codes(ctx, ids) == 1
    ctx.metrics.log("sampled_rows", int(mask.sum()))
    return {"data": keep_rows(dataset, mask)}


SAMPLE = ComponentSpec(
    name="sample",
    version="1.0",
    description="Random or stratified sample of aligned rows, decided by the guest, synced.",
    params=SampleParams,
    runners={Role.GUEST: _guest, Role.HOST: _host},
    inputs=("data",),
    outputs=("data",),
)
