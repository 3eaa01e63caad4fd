"""The node's REST application: routes, token authentication, limits and error mapping."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any, Final

from fastapi import FastAPI

from chaihuo import __version__
from chaihuo.flow.api._auth import AccountStore, make_authenticator
from chaihuo.flow.api._errors import (
    BodyLimitMiddleware,
    InternalErrorMiddleware,
    install_error_handlers,
)
from chaihuo.flow.api._routes_admin import admin_router
from chaihuo.flow.api._routes_data import data_router, models_router
from chaihuo.flow.api._routes_jobs import jobs_router
from chaihuo.flow.api._schemas import ErrorBody, Health
from chaihuo.flow.api._services import NodeServices

__all__ = ["ApiLimits", "create_app"]

LOGGER: Final = logging.getLogger("chaihuo.flow.api")
# The routes whose body is a raw stream; they enforce their own, larger limits as they read.
_STREAMING: Final = (
    ("PUT", re.compile(r"/data/[^/]+/[^/]+$")),
    ("POST", re.compile(r"/models/import$")),
)


_ERROR_RESPONSES: Final[dict[int | str, dict[str, Any]]] = {
    status: {"model": ErrorBody, "description": text}
    for status, text in (
        (400, "Input rejected (INVALID_INPUT, JOB_INVALID, DATA_INVALID, ...)"),
        (401, "No valid token; `reason` says why (missing, unknown, expired, revoked)"),
        (403, "The node's policy does not allow this caller"),
        (404, "No such job, table, model, user or token"),
        (409, "Conflicts with the current state"),
        (413, "Body over the node's limit"),
        (500, "The node failed; its log has the incident"),
    )
}


@dataclass(frozen=True, slots=True)
class ApiLimits:
    """Request size limits, in bytes."""

    json_body: int = 2 * 1024 * 1024
    upload: int = 64 * 1024**3
    model_archive: int = 1024**3


def create_app(
    services: NodeServices,
    store: AccountStore,
    *,
    auth: bool = True,
    title: str = "chaihuo node",
    limits: ApiLimits | None = None,
) -> FastAPI:
    """The REST API of one node, over its services and its store's users and tokens.

    Every route but `/health` (and the OpenAPI document at `/openapi.json`, shown at `/docs`)
    needs `Authorization: Bearer <token>`: 401 without a valid one, the reason in the body.
    Users and tokens are for admins (403 otherwise); stopping or rerunning a job for its
    submitter or an admin; everything else for any user of this node. `auth=False` makes
    every caller an admin named "dev": for the dev profile only (the node refuses it in prod).
    """
    limits = limits or ApiLimits()
    if not auth:
        LOGGER.warning("REST authentication is off (dev profile): every caller is an admin")
    app = FastAPI(
        title=f"{title} (party {services.party_id})",
        version=__version__,
        description="One chaihuo node: its jobs, data, models, users and tokens.",
        docs_url="/docs",
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    install_error_handlers(app)
    app.add_middleware(BodyLimitMiddleware, limit=limits.json_body, streaming=_STREAMING)
    app.add_middleware(InternalErrorMiddleware)

    @app.get("/health", tags=["node"])
    def health() -> Health:
        """Liveness; needs no token."""
        return Health(version=__version__)

    authenticate = make_authenticator(store, enabled=auth)
    routers = (
        jobs_router(services, authenticate),
        data_router(services, authenticate, max_upload_bytes=limits.upload),
        models_router(services, authenticate, max_model_bytes=limits.model_archive),
        admin_router(store, authenticate),
    )
    for router in routers:
        app.include_router(router, responses=_ERROR_RESPONSES)
    return app
