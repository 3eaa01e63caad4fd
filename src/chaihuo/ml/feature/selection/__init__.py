"""Hetero feature selection: manual, statistics and IV rules; host columns stay anonymous."""

from chaihuo.ml.feature.selection._filters import SelectionConfig, iv_keep, local_filters
from chaihuo.ml.feature.selection.guest import (
    SELECTION_KIND,
    SelectionResult,
    fit_selection_guest,
    guest_iv,
    selected_columns,
)
from chaihuo.ml.feature.selection.host import anonymous_names, fit_selection_host

__all__ = [
    "SELECTION_KIND",
    "SelectionConfig",
    "SelectionResult",
    "anonymous_names",
    "fit_selection_guest",
    "fit_selection_host",
    "guest_iv",
    "iv_keep",
    "local_filters",
    "selected_columns",
]
