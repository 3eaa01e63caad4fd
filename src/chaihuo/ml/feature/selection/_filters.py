"""Column filters of feature selection: manual lists, statistics thresholds, IV rules."""

# Filters run in this order, each on the columns the previous one kept:
#   1. manual: `keep` (if given) then `drop`, names of this party's columns;
#   2. statistics, on the data being fitted: missing ratio ≤ max_missing_ratio, population
#      std > min_std (so min_std: 0 drops constant columns), at least min_unique distinct
#      non-missing values;
#   3. IV (needs a binning model): IV ≥ iv_threshold, then the iv_top_k highest IVs over
#      every party's remaining binned columns together (ties broken by name). Columns that
#      were not binned have no IV and are not touched by the IV rules.

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from chaihuo.core import InvalidInputError
from chaihuo.ml.feature._dataset import UnknownColumnError

__all__ = ["SelectionConfig", "iv_keep", "local_filters"]


@dataclass(frozen=True)
class SelectionConfig:
    """The selection rules (each None/empty rule is off)."""

    keep: tuple[str, ...] | None = None
    drop: tuple[str, ...] = ()
    max_missing_ratio: float | None = None
    min_std: float | None = None
    min_unique: int | None = None
    iv_threshold: float | None = None
    iv_top_k: int | None = None

    @property
    def uses_iv(self) -> bool:
        """Whether an IV rule is on (the guest then needs the binning model)."""
        return self.iv_threshold is not None or self.iv_top_k is not None


def _check_names(names: Sequence[str], available: Sequence[str], what: str) -> None:
    missing = [n for n in names if n not in available]
    if missing:
        raise UnknownColumnError(
            f"{what}: no feature column named {', '.join(map(repr, missing))}",
            available=list(available),
        )


def local_filters(
    names: Sequence[str], features: npt.NDArray[np.float64], config: SelectionConfig
) -> tuple[list[str], dict[str, str]]:
    """This party's columns kept by the manual and statistics rules, and why others went."""
    reasons: dict[str, str] = {}
    _check_names(config.keep or (), names, "selection keep list")
    _check_names(config.drop, names, "selection drop list")
    for j, name in enumerate(names):
        if config.keep is not None and name not in config.keep:
            reasons[name] = "not in keep list"
        elif name in config.drop:
            reasons[name] = "in drop list"
        else:
            reason = _statistics_reason(features[:, j], config)
            if reason:
                reasons[name] = reason
    return [n for n in names if n not in reasons], reasons


def _statistics_reason(column: npt.NDArray[np.float64], config: SelectionConfig) -> str | None:
    present = column[~np.isnan(column)]
    missing = 1.0 - len(present) / len(column) if len(column) else 0.0
    if config.max_missing_ratio is not None and missing > config.max_missing_ratio:
        return f"missing ratio {missing:.4g} > {config.max_missing_ratio}"
    if config.min_std is not None:
        std = float(present.std()) if len(present) else 0.0
        if not std > config.min_std:
            return f"std {std:.4g} ≤ {config.min_std}"
    if config.min_unique is not None:
        unique = len(np.unique(present))
        if unique < config.min_unique:
            return f"{unique} unique values < {config.min_unique}"
    return None


def iv_keep(
    candidates: Sequence[str], iv: Mapping[str, float], config: SelectionConfig
) -> tuple[set[str], dict[str, str]]:
    """Candidates kept by the IV rules (those without an IV always stay), and why others went."""
    if config.iv_top_k is not None and config.iv_top_k < 0:
        raise InvalidInputError("iv_top_k must be non-negative", iv_top_k=config.iv_top_k)
    reasons: dict[str, str] = {}
    scored = [c for c in candidates if c in iv]
    if config.iv_threshold is not None:
        for name in scored:
            if iv[name] < config.iv_threshold:
                reasons[name] = f"IV {iv[name]:.4g} < {config.iv_threshold}"
    if config.iv_top_k is not None:
        ranked = sorted((c for c in scored if c not in reasons), key=lambda c: (-iv[c], c))
        for name in ranked[config.iv_top_k :]:
            reasons[name] = f"IV {iv[name]:.4g} not in the top {config.iv_top_k}"
    return {c for c in candidates if c not in reasons}, reasons


def config_json(config: SelectionConfig) -> dict[str, Any]:
    """The rules as recorded in a model."""
    return {
        "keep": None if config.keep is None else list(config.keep),
        "drop": list(config.drop),
        "max_missing_ratio": config.max_missing_ratio,
        "min_std": config.min_std,
        "min_unique": config.min_unique,
        "iv_threshold": config.iv_threshold,
        "iv_top_k": config.iv_top_k,
    }
