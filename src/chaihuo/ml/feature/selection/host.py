"""Host side of hetero feature selection: local rules on its columns, IV rules from the guest."""

# What the host sends and learns: see chaihuo.ml.feature.selection.guest. The host offers
# only anonymous names of its binned columns; the mapping back to its column names comes
# from its own binning model and never leaves it.

from __future__ import annotations

from chaihuo.computing import Dataset
from chaihuo.core import InvalidInputError
from chaihuo.federation import ProtocolViolationError
from chaihuo.ml._artifacts import ModelArtifact
from chaihuo.ml._data import dataset_arrays
from chaihuo.ml.feature._dataset import select_columns
from chaihuo.ml.feature.binning import KIND as BINNING_KIND
from chaihuo.ml.feature.rows import best_effort
from chaihuo.ml.feature.selection._filters import SelectionConfig, config_json, local_filters
from chaihuo.ml.feature.selection.guest import SELECTION_KIND, SelectionResult
from chaihuo.runtime import Context

__all__ = ["anonymous_names", "fit_selection_host"]


def anonymous_names(binning: ModelArtifact | None) -> dict[str, str]:
    """This host's column name → anonymous name, from its binning model (empty without one)."""
    if binning is None:
        return {}
    if binning.kind != BINNING_KIND or binning.role != "host":
        raise InvalidInputError(f"binning_model must be this host's {BINNING_KIND} model")
    return {
        name: str(entry["anonymous"])
        for name, entry in binning.meta["features"].items()
        if "anonymous" in entry
    }


def fit_selection_host(
    ctx: Context, dataset: Dataset, config: SelectionConfig, binning: ModelArtifact | None
) -> SelectionResult:
    """Apply the local rules, offer the anonymous survivors, keep what the guest decides."""
    arrays = dataset_arrays(dataset)
    names = list(dataset.schema.feature_names)
    try:
        survivors, reasons = local_filters(names, arrays.features, config)
        anonymous = anonymous_names(binning)
    except Exception as exc:
        notice = {"error": f"{type(exc).__name__} on {ctx.local}"}
        best_effort(lambda: ctx.guest.put("candidates", notice))
        raise
    offered = [anonymous[n] for n in survivors if n in anonymous]
    ctx.guest.put("candidates", {"names": offered if binning is not None else None})
    reply = ctx.guest.get("keep")
    if isinstance(reply, dict) and isinstance(reply.get("error"), str):
        raise ProtocolViolationError(f"the guest failed: {reply['error']}")
    keep = reply.get("keep") if isinstance(reply, dict) else None
    if keep is not None and not (
        isinstance(keep, list) and all(isinstance(k, str) and k in offered for k in keep)
    ):
        raise ProtocolViolationError("the guest sent an invalid keep list")
    chosen = set(offered if keep is None else keep)
    kept = [n for n in survivors if n not in anonymous or anonymous[n] in chosen]
    for name in survivors:
        if name not in kept:
            reasons[name] = "dropped by the guest's IV rules"
    model = ModelArtifact(
        SELECTION_KIND,
        "host",
        meta={"config": config_json(config), "kept": kept, "dropped": reasons},
    )
    return SelectionResult(model, select_columns(dataset, kept), reasons)
