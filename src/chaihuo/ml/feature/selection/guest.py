"""Guest side of hetero feature selection: its own columns, and the IV decision for hosts."""

# Protocol: each host sends the anonymous names (from the binning model, e.g.
# host_10000_f3) of its binned columns that survived its local rules; the guest applies the
# IV rules to its own and those anonymous columns together and sends each host the
# anonymous names it keeps. What each role learns: the guest, which anonymous host features
# passed the host's local rules; a host, which of its own binned columns the IV rules keep.
# No values, statistics or IVs cross the wire; column names stay with their owner.

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chaihuo.computing import Dataset
from chaihuo.core import InvalidInputError
from chaihuo.federation import ProtocolViolationError
from chaihuo.ml._artifacts import ModelArtifact
from chaihuo.ml._data import dataset_arrays
from chaihuo.ml.feature._dataset import select_columns
from chaihuo.ml.feature.binning import KIND as BINNING_KIND
from chaihuo.ml.feature.rows import notify_on_error
from chaihuo.ml.feature.selection._filters import (
    SelectionConfig,
    config_json,
    iv_keep,
    local_filters,
)
from chaihuo.runtime import Context

__all__ = ["SELECTION_KIND", "SelectionResult", "fit_selection_guest", "selected_columns"]

SELECTION_KIND = "hetero_feature_selection"


@dataclass
class SelectionResult:
    """A party's selection output: its model part, its selected data and why columns went."""

    model: ModelArtifact
    data: Dataset
    dropped: dict[str, str]


def guest_iv(binning: ModelArtifact | None) -> dict[str, float]:
    """IV of the guest's own and the hosts' anonymous features from the guest's binning model."""
    if binning is None:
        return {}
    if binning.kind != BINNING_KIND or binning.role != "guest":
        raise InvalidInputError(f"binning_model must be the guest's {BINNING_KIND} model")
    iv = {name: float(entry["iv"]) for name, entry in binning.meta["features"].items()}
    iv.update({name: float(e["iv"]) for name, e in binning.meta.get("host_features", {}).items()})
    return iv


def selected_columns(model: ModelArtifact) -> list[str]:
    """The columns a fitted selection model keeps on this party."""
    if model.kind != SELECTION_KIND:
        raise InvalidInputError(f"expected a {SELECTION_KIND} model, got {model.kind!r}")
    return [str(name) for name in model.meta["kept"]]


def fit_selection_guest(
    ctx: Context, dataset: Dataset, config: SelectionConfig, binning: ModelArtifact | None
) -> SelectionResult:
    """Select the guest's columns and decide the IV rules for every host's columns."""
    arrays = dataset_arrays(dataset)
    names = list(dataset.schema.feature_names)

    def local() -> tuple[list[str], dict[str, str], dict[str, float]]:
        if config.uses_iv and binning is None:
            raise InvalidInputError("IV rules need the guest's binning model (binning_model)")
        survivors, reasons = local_filters(names, arrays.features, config)
        return survivors, reasons, guest_iv(binning)

    survivors, reasons, iv = notify_on_error(ctx, "keep", local)
    replies = ctx.hosts.get("candidates")

    def decide() -> tuple[set[str], dict[str, list[str] | None]]:
        offered: dict[str, list[str] | None] = {}
        for party, reply in zip(ctx.hosts.parties, replies, strict=True):
            offered[party.party_id] = _candidates(str(party), reply, config)
        pool = survivors + [n for names_ in offered.values() for n in names_ or []]
        kept, dropped = iv_keep(pool, iv, config) if config.uses_iv else (set(pool), {})
        reasons.update(dropped)
        return kept, offered

    kept, offered = notify_on_error(ctx, "keep", decide)
    host_kept: dict[str, list[str] | None] = {}
    for peer in ctx.hosts:
        names_ = offered[peer.party.party_id]
        host_kept[peer.party.party_id] = (
            None if names_ is None else [n for n in names_ if n in kept]
        )
        peer.put("keep", {"keep": host_kept[peer.party.party_id]})
    mine = [n for n in survivors if n in kept]
    meta: dict[str, Any] = {
        "config": config_json(config),
        "kept": mine,
        "host_kept": host_kept,
        "dropped": {n: r for n, r in reasons.items() if n in names},
        "host_dropped": {n: r for n, r in reasons.items() if n not in names},
    }
    model = ModelArtifact(SELECTION_KIND, "guest", meta=meta)
    return SelectionResult(model, select_columns(dataset, mine), meta["dropped"])


def _candidates(party: str, reply: object, config: SelectionConfig) -> list[str] | None:
    if isinstance(reply, dict) and isinstance(reply.get("error"), str):
        raise ProtocolViolationError(f"{party} failed: {reply['error']}")
    names = reply.get("names") if isinstance(reply, dict) else None
    if names is None:
        if config.uses_iv:
            raise InvalidInputError(
                f"{party} has no binning model: IV rules need binning_model on every party"
            )
        return None
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ProtocolViolationError(f"{party} sent malformed selection candidates")
    return names
