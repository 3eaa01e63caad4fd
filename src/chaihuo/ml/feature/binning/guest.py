"""Guest side of hetero feature binning: WOE/IV of its own and (encrypted) hosts' features."""

# Protocol (per job; the guest holds the Paillier private key, made fresh for this run):
#   1. host → guest: SHA-256 digest of its ordered ids (rows must be aligned by psi).
#   2. guest → host: [[y_i]] for every row, y_i ∈ {0, 1} encrypted under the guest's key
#      (exponent 0: exact integers; each ciphertext freshly randomised).
#   3. host → guest: for each of its binned features, in an order the host chooses (shuffled
#      with `shuffle_host_features`): the encrypted event count of every bin,
#      [[Σ_{i ∈ bin} y_i]] = Π_{i ∈ bin} [[y_i]] (re-randomised before sending), and the
#      plaintext row count of every bin.
#   4. guest → host: the host's WOE per bin, only if the host asked for a WOE transform AND
#      the guest's own parameters say transform: woe; otherwise nothing usable.
# What each role learns. The host: the number of rows and ciphertexts it cannot decrypt; with
# a WOE transform, the WOE of each of its bins (a function of the event rate per bin, which
# the transform needs by definition). The guest: per anonymous host feature
# ("host_<party>_f<k>"), the number of bins and the event and row count of each bin, hence
# WOE and IV — never a host value, split point, column name or which row fell in which bin.
# (The row counts include the missing-value bin, so the guest learns how many values each
# anonymous host feature lacks; with very small bins, counts narrow down which of its own
# rows could share a bin — the same exposure as FATE's protocol, which sends both counts.)
# Packing (y, 1 − y) per row is unnecessary: non-events are row count − events.

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from chaihuo.computing import Dataset
from chaihuo.core import InvalidInputError
from chaihuo.crypto.paillier import EncryptedVector, FixedPoint, PaillierPrivateKey
from chaihuo.federation import Party, ProtocolViolationError
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
from chaihuo.ml.feature.binning._woe import WoeTable, woe_table
from chaihuo.ml.feature.rows import check_hosts_aligned, notify_on_error
from chaihuo.runtime import Context

__all__ = [
    "BinningResult",
    "HostFeature",
    "binary_labels",
    "fit_binning_guest",
    "guest_tables",
    "host_feature_name",
    "host_tables",
]

POOL_THRESHOLD = 2048
"""Below this many rows, encrypting in this process is faster than starting the worker pool."""


@dataclass(frozen=True)
class HostFeature:
    """What the guest knows of one host feature: its anonymous name and WOE table."""

    name: str
    party: Party
    table: WoeTable


def host_feature_name(party_id: str, index: int) -> str:
    """The anonymous name of a host's k-th reported feature, e.g. host_10000_f3."""
    return f"host_{party_id}_f{index}"


def binary_labels(labels: npt.NDArray[Any] | None) -> npt.NDArray[np.int64]:
    """Labels as int64 0/1, or a typed error naming what was found."""
    if labels is None:
        raise InvalidInputError("WOE/IV need the guest's label: read the data with `label`")
    values = np.unique(labels)
    if not np.all(np.isin(values, (0, 1))):
        shown = values[:10].tolist()
        raise InvalidInputError(f"WOE/IV need binary labels 0/1; the label has values {shown}")
    return np.asarray(labels).astype(np.int64)


def guest_tables(
    features: npt.NDArray[np.float64],
    columns: list[int],
    bins: list[FeatureBins],
    labels: npt.NDArray[np.int64],
    adjustment: float,
) -> list[WoeTable]:
    """Plain WOE/IV of the guest's own binned columns (fills in each FeatureBins.woe)."""
    tables = []
    for j, fitted in zip(columns, bins, strict=True):
        index = assign_bins(features[:, j], fitted.points)
        table = woe_table(
            bin_counts(index, fitted.size, labels), bin_counts(index, fitted.size), adjustment
        )
        fitted.woe = table.woe
        tables.append(table)
    return tables


def host_tables(
    ctx: Context, ids: npt.NDArray[Any], labels: npt.NDArray[Any] | None, config: BinningConfig
) -> list[HostFeature]:
    """Run the encrypted protocol with every host; WOE tables of their anonymous features."""
    if not len(ctx.hosts):
        return []

    def prepare() -> tuple[PaillierPrivateKey, EncryptedVector]:
        problem = check_hosts_aligned(ctx, ids)
        if problem is not None:
            raise ProtocolViolationError(problem)
        y = binary_labels(labels)
        keys = ctx.cipher.paillier()
        pool = ctx.cipher.pool if len(y) >= POOL_THRESHOLD else None
        encrypted = EncryptedVector.encrypt(keys.private_key, y, FixedPoint(0), pool=pool)
        return keys.private_key, encrypted

    private_key, encrypted = notify_on_error(ctx, "labels", prepare)
    ctx.hosts.put("labels", {"labels": encrypted})
    replies = ctx.hosts.get("bin_sums")

    def decode() -> tuple[list[HostFeature], list[bool]]:
        found: list[HostFeature] = []
        asked: list[bool] = []
        for peer, reply in zip(ctx.hosts, replies, strict=True):
            features, want = _decode_reply(
                ctx, peer.party, reply, private_key, config.adjustment_factor
            )
            found.extend(features)
            asked.append(want)
        return found, asked

    out, wants = notify_on_error(ctx, "woe", decode)
    for peer, want in zip(ctx.hosts, wants, strict=True):
        mine = [f.table.woe for f in out if f.party == peer.party]
        share = want and config.transform == "woe"
        peer.put("woe", {"woe": mine if share else None})
    return out


def _decode_reply(
    ctx: Context, party: Party, reply: object, private_key: PaillierPrivateKey, adjustment: float
) -> tuple[list[HostFeature], bool]:
    if isinstance(reply, dict) and isinstance(reply.get("error"), str):
        raise ProtocolViolationError(f"{party} failed: {reply['error']}")
    if not isinstance(reply, dict):
        raise ProtocolViolationError(f"{party} sent no bin sums")
    events, rows, sizes = reply.get("events"), reply.get("rows"), reply.get("sizes")
    if isinstance(sizes, np.ndarray) and sizes.shape == (0,):
        return [], bool(reply.get("want_woe", False))
    if not (
        isinstance(events, EncryptedVector)
        and isinstance(rows, np.ndarray)
        and isinstance(sizes, np.ndarray)
        and rows.ndim == sizes.ndim == 1
        and len(events) == len(rows) == int(sizes.sum())
        and np.all(sizes >= 1)
    ):
        raise ProtocolViolationError(f"{party} sent malformed bin sums")
    pool = ctx.cipher.pool if len(events) >= POOL_THRESHOLD else None
    counts = np.array(events.decrypt_int(private_key, pool=pool), dtype=np.int64)
    bounds = np.cumsum(sizes)[:-1]
    features = []
    for k, (e, r) in enumerate(
        zip(np.split(counts, bounds), np.split(rows.astype(np.int64), bounds), strict=True)
    ):
        if np.any(e < 0) or np.any(e > r):
            raise ProtocolViolationError(f"{party} sent event counts outside [0, rows]")
        name = host_feature_name(party.party_id, k)
        features.append(HostFeature(name, party, woe_table(e, r, adjustment)))
    return features, bool(reply.get("want_woe", False))


@dataclass
class BinningResult:
    """A party's binning output: its model part, its (transformed) data and the IVs it knows."""

    model: ModelArtifact
    data: Dataset
    iv: dict[str, float]


def _table_json(table: WoeTable) -> dict[str, Any]:
    return {
        "iv": table.iv,
        "events": table.events.tolist(),
        "non_events": table.non_events.tolist(),
        "woe": [float(v) for v in table.woe],
    }


def fit_binning_guest(ctx: Context, dataset: Dataset, config: BinningConfig) -> BinningResult:
    """Bin the guest's columns with plain WOE/IV, and get WOE/IV of every host feature."""
    arrays = dataset_arrays(dataset)

    def local() -> tuple[list[FeatureBins], list[WoeTable]]:
        bins = fit_points(dataset, arrays.features, config)
        columns = column_indices(dataset.schema, [b.name for b in bins])
        labels = binary_labels(arrays.labels)
        return bins, guest_tables(arrays.features, columns, bins, labels, config.adjustment_factor)

    bins, tables = notify_on_error(ctx, "labels", local)
    hosts = host_tables(ctx, arrays.ids, arrays.labels, config)
    features = {
        b.name: {**b.to_json(), **_table_json(t)} for b, t in zip(bins, tables, strict=True)
    }
    host_features = {h.name: {"party": h.party.party_id, **_table_json(h.table)} for h in hosts}
    model = ModelArtifact(
        KIND,
        "guest",
        meta={
            "config": config_json(config),
            "features": features,
            "host_features": host_features,
        },
    )
    iv = {b.name: t.iv for b, t in zip(bins, tables, strict=True)}
    iv.update({h.name: h.table.iv for h in hosts})
    return BinningResult(model, apply_bins(dataset, bins, config.transform), iv)
