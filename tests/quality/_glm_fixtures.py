"""Data and runners of the GLM quality tests: hetero pairs joined on id, federated runs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from _pairs import (
    Pair,
    dataset,
)

from chaihuo.core import Role
from chaihuo.ml import dataset_arrays
from chaihuo.ml.glm import Family, GlmParams, run_arbiter, run_guest, run_host
from chaihuo.runtime import Context
from chaihuo.testing import local_sessions, run_parties


@dataclass
class Outcome:
    """Guest predictions (on `test` if given, else train) and every party's model."""

    predictions: Any
    guest_model: Any
    host_model: Any
    order: np.ndarray
    """Positions in the scored arrays of the predicted rows (the protocol's row order)."""
    train_order: np.ndarray
    """Positions in the training arrays of the rows in the protocol's row order."""


def federated(
    tmp: Path,
    family: Family,
    params: GlmParams,
    train: Pair,
    test: Pair | None = None,
    *,
    exposure_colname: str | None = None,
    timeout_s: float = 600.0,
) -> Outcome:
    """One guest + one host + arbiter run on 2048-bit keys (the job default)."""

    def party(ctx: Context) -> Any:
        sub = ctx.sub("glm")
        if ctx.role == Role.ARBITER:
            return run_arbiter(sub, family, params, {})
        guest = ctx.role == Role.GUEST
        inputs = {}
        for usage, pair in (("train", train), ("test", test)):
            if pair is not None:
                x, names = (
                    (pair.guest_x, pair.guest_names) if guest else (pair.host_x, pair.host_names)
                )
                inputs[usage] = dataset(
                    ctx.computing, pair.ids, x, names, pair.y if guest else None
                )
        if guest:
            out = run_guest(sub, family, params, inputs, exposure_colname=exposure_colname)
            return out, dataset_arrays(inputs["train"]).ids
        return run_host(sub, family, params, inputs)

    with local_sessions(tmp) as computing:
        results = run_parties(
            party, {"guest": 9999, "host": 10000, "arbiter": 10001},
            computing=computing, timeout_s=timeout_s,
        )  # fmt: skip
    guest, train_ids = next(v for p, v in results.items() if p.role == Role.GUEST)
    host = next(v for p, v in results.items() if p.role == Role.HOST)
    scored = test if test is not None else train
    return Outcome(
        guest["predictions"], guest["model"], host["model"],
        positions(scored.ids, guest["predictions"].ids), positions(train.ids, train_ids),
    )  # fmt: skip


def positions(ids: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Index into `ids` of every key of `wanted`, in order."""
    position = {key: i for i, key in enumerate(ids.tolist())}
    return np.array([position[key] for key in wanted.tolist()])
