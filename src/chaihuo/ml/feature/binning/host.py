"""Host side of hetero feature binning: local bins, per-bin sums of the guest's encrypted labels."""

# What the host sends and learns: see chaihuo.ml.feature.binning.guest for the protocol. The
# host never sees a label: it holds only ciphertexts under the guest's key. It sends the
# encrypted event count and the row count of each bin of each binned feature, under
# anonymous positions (shuffled with `shuffle_host_features`), never its values, split
# points or column names. The WOE per bin comes back only when both sides ask for a WOE
# transform.

from __future__ import annotations

import secrets
from typing import Any

import numpy as np
import numpy.typing as npt

from chaihuo.computing import Dataset
from chaihuo.crypto.paillier import EncryptedVector
from chaihuo.federation import ProtocolViolationError
from chaihuo.ml._artifacts import ModelArtifact
from chaihuo.ml._data import dataset_arrays
from chaihuo.ml.feature._dataset import column_indices
from chaihuo.ml.feature.binning._bins import assign_bins, bin_counts
from chaihuo.ml.feature.binning._model import (
    KIND,
    BinningConfig,
    FeatureBins,
    apply_bins,
    config_json,
    fit_points,
)
from chaihuo.ml.feature.binning.guest import BinningResult, host_feature_name
from chaihuo.ml.feature.rows import best_effort, send_id_digest
from chaihuo.runtime import Context

__all__ = ["encrypted_bin_sums", "fit_binning_host", "host_exchange"]


def encrypted_bin_sums(
    labels: EncryptedVector, indices: list[npt.NDArray[np.int64]], sizes: list[int]
) -> EncryptedVector:
    """[[Σ_{i: b_i = k} y_i]] for every bin k of every feature, concatenated feature by feature.

    Each sum is the product of the bin's ciphertexts mod n² (Paillier's additive
    homomorphism); an empty bin gives [[0]]. Cost: one modular multiplication per row and
    feature, whatever the number of bins.
    """
    sums = []
    for index, size in zip(indices, sizes, strict=True):
        order = np.argsort(index, kind="stable")
        bounds = np.searchsorted(index[order], np.arange(size + 1), side="left")
        for k in range(size):
            sums.append(labels[order[bounds[k] : bounds[k + 1]]].sum())
    return EncryptedVector.concat(sums)


def _received_labels(ctx: Context, rows: int) -> EncryptedVector:
    message = ctx.guest.get("labels")
    if isinstance(message, dict) and isinstance(message.get("error"), str):
        raise ProtocolViolationError(f"the guest failed: {message['error']}")
    labels = message.get("labels") if isinstance(message, dict) else None
    if not isinstance(labels, EncryptedVector) or len(labels) != rows:
        raise ProtocolViolationError(f"the guest sent no encrypted labels for {rows} rows")
    return labels


def host_exchange(
    ctx: Context,
    ids: npt.NDArray[Any],
    features: npt.NDArray[np.float64],
    *,
    columns: list[int],
    bins: list[FeatureBins],
    config: BinningConfig,
) -> None:
    """Run the host's part; records each feature's anonymous name (and WOE, if shared)."""
    send_id_digest(ctx, ids)
    labels = _received_labels(ctx, len(ids))
    order = list(range(len(bins)))
    if config.shuffle_host_features:
        secrets.SystemRandom().shuffle(order)
    indices = [assign_bins(features[:, columns[k]], bins[k].points) for k in order]
    sizes = [bins[k].size for k in order]
    rows = np.concatenate(
        [bin_counts(index, size) for index, size in zip(indices, sizes, strict=True)]
        or [np.zeros(0, dtype=np.int64)]
    )
    try:
        sums = encrypted_bin_sums(labels, indices, sizes) if sizes else None
    except Exception as exc:
        notice = {"error": f"{type(exc).__name__} on {ctx.local}"}
        best_effort(lambda: ctx.guest.put("bin_sums", notice))
        raise
    ctx.guest.put(
        "bin_sums",
        {
            "events": sums,
            "rows": rows,
            "sizes": np.asarray(sizes, dtype=np.int64),
            "want_woe": config.transform == "woe",
        },
    )
    for position, k in enumerate(order):
        bins[k].extra["anonymous"] = host_feature_name(ctx.local.party_id, position)
    _receive_woe(ctx, [bins[k] for k in order], config)


def _receive_woe(ctx: Context, ordered: list[FeatureBins], config: BinningConfig) -> None:
    reply = ctx.guest.get("woe")
    if isinstance(reply, dict) and isinstance(reply.get("error"), str):
        raise ProtocolViolationError(f"the guest failed: {reply['error']}")
    woe = reply.get("woe") if isinstance(reply, dict) else None
    if config.transform != "woe":
        return
    if not isinstance(woe, list) or len(woe) != len(ordered):
        raise ProtocolViolationError(
            "transform: woe needs the guest's WOE, and the guest did not share it "
            "(set transform: woe on the guest too)"
        )
    for fitted, values in zip(ordered, woe, strict=True):
        if not isinstance(values, np.ndarray) or values.shape != (fitted.size,):
            raise ProtocolViolationError("the guest sent a WOE table of the wrong size")
        fitted.woe = np.asarray(values, dtype=np.float64).copy()


def fit_binning_host(ctx: Context, dataset: Dataset, config: BinningConfig) -> BinningResult:
    """Bin the host's columns locally and take part in the guest's WOE/IV computation."""
    arrays = dataset_arrays(dataset)
    try:
        bins = fit_points(dataset, arrays.features, config)
        columns = column_indices(dataset.schema, [b.name for b in bins])
    except Exception as exc:
        notice = {"error": f"{type(exc).__name__} on {ctx.local}"}

        def tell() -> None:
            send_id_digest(ctx, arrays.ids)
            ctx.guest.get("labels")
            ctx.guest.put("bin_sums", notice)

        best_effort(tell)
        raise
    host_exchange(ctx, arrays.ids, arrays.features, columns=columns, bins=bins, config=config)
    model = ModelArtifact(
        KIND,
        "host",
        meta={"config": config_json(config), "features": {b.name: b.to_json() for b in bins}},
    )
    return BinningResult(model, apply_bins(dataset, bins, config.transform), {})
