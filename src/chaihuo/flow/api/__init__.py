"""The node's REST API: FastAPI routes over the node's services, with token authentication."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from chaihuo.flow.api._services import NodeServices

if TYPE_CHECKING:
    from chaihuo.flow.api._app import ApiLimits, create_app
    from chaihuo.flow.api._auth import AccountStore, Principal

__all__ = ["AccountStore", "ApiLimits", "NodeServices", "Principal", "create_app"]

# FastAPI loads on first use, so the client can import the schemas without the server.
_LAZY = {
    "ApiLimits": "chaihuo.flow.api._app",
    "create_app": "chaihuo.flow.api._app",
    "AccountStore": "chaihuo.flow.api._auth",
    "Principal": "chaihuo.flow.api._auth",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
