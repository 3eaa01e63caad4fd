"""REST routes of the node's data registry (streamed upload and download) and model registry."""

# No `from __future__ import annotations`: FastAPI reads these routes' annotations at
# definition time, and they name the closure's `Auth` dependency.

import functools
import io
from collections.abc import Callable
from typing import Annotated, Any, Final

import anyio.to_thread
from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, Response

from chaihuo.core import ChaihuoError
from chaihuo.flow.api._auth import Principal
from chaihuo.flow.api._errors import ApiConflictError, PayloadTooLargeError
from chaihuo.flow.api._schemas import NAME_PATTERN, ModelView, TableFormat, TableView
from chaihuo.flow.api._services import NodeServices
from chaihuo.flow.api._stream import BodyReader, read_limited

__all__ = ["SHA256_HEADER", "data_router", "models_router"]

SHA256_HEADER: Final = "X-Content-SHA256"
_READ_BUFFER: Final = 1 << 16
_RAW_BODY: Final[dict[str, Any]] = {
    "requestBody": {
        "required": True,
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    }
}
Namespace = Annotated[str, PathParam(pattern=NAME_PATTERN)]
Name = Annotated[str, PathParam(pattern=NAME_PATTERN)]
Column = Annotated[str | None, Query(min_length=1, max_length=256)]


def _check_declared(request: Request, limit: int) -> None:
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise PayloadTooLargeError(f"body over the limit of {limit} bytes")


def _exists(services: NodeServices, namespace: str, name: str) -> bool:
    try:
        services.get_table(namespace, name)
    except ChaihuoError as exc:
        if exc.code == "NOT_FOUND":
            return False
        raise
    return True


def data_router(
    services: NodeServices, authenticate: Callable[..., Principal], *, max_upload_bytes: int
) -> APIRouter:
    """The routes under /data, each behind `authenticate`."""
    router = APIRouter(prefix="/data", tags=["data"])
    Auth = Annotated[Principal, Depends(authenticate)]

    @router.put("/{namespace}/{name}", status_code=201, openapi_extra=_RAW_BODY)
    async def upload_table(
        request: Request,
        *,
        namespace: Namespace,
        name: Name,
        principal: Auth,
        id_column: Annotated[str | None, Query(alias="id", min_length=1, max_length=256)] = None,
        label_column: Annotated[
            str | None, Query(alias="label", min_length=1, max_length=256)
        ] = None,
        format: TableFormat | None = None,
        replace: bool = False,
        filename: Annotated[str | None, Query(max_length=255)] = None,
    ) -> TableView:
        """Store the request body (the raw CSV or Parquet file), streamed to the node's disk."""
        _check_declared(request, max_upload_bytes)
        if not replace and await anyio.to_thread.run_sync(_exists, services, namespace, name):
            # Answer before the body streams in; the services check again (a race).
            raise ApiConflictError(f"table {namespace}/{name} exists (upload with replace)")
        reader = BodyReader(request.stream(), limit=max_upload_bytes)
        call = functools.partial(
            services.upload_table,
            namespace,
            name,
            io.BufferedReader(reader, buffer_size=_READ_BUFFER),
            filename=filename or f"{name}.{format or 'csv'}",
            format=format,
            id_column=id_column,
            label_column=label_column,
            replace=replace,
        )
        try:
            return await anyio.to_thread.run_sync(call)
        except Exception as exc:
            await reader.drain()
            if reader.too_large and not isinstance(exc, PayloadTooLargeError):
                raise PayloadTooLargeError(f"upload over the limit of {max_upload_bytes}") from exc
            raise

    @router.get("")
    def list_tables(
        principal: Auth, namespace: Annotated[str | None, Query(pattern=NAME_PATTERN)] = None
    ) -> list[TableView]:
        """Every table of this node, or those of one namespace."""
        return services.list_tables(namespace)

    @router.get("/{namespace}/{name}")
    def get_table(namespace: Namespace, name: Name, principal: Auth) -> TableView:
        """One table: schema, id and label columns, rows, size, sha256."""
        return services.get_table(namespace, name)

    @router.get("/{namespace}/{name}/download", response_class=FileResponse)
    def download_table(namespace: Namespace, name: Name, principal: Auth) -> FileResponse:
        """The table's file as uploaded, streamed; its sha256 in X-Content-SHA256."""
        table = services.get_table(namespace, name)
        return FileResponse(
            services.table_path(namespace, name),
            media_type="text/csv" if table.format == "csv" else "application/octet-stream",
            filename=f"{namespace}.{name}.{table.format}",
            headers={SHA256_HEADER: table.sha256},
        )

    @router.delete("/{namespace}/{name}")
    def delete_table(namespace: Namespace, name: Name, principal: Auth) -> TableView:
        """Remove a table; answers the record it had."""
        return services.delete_table(namespace, name)

    return router


def models_router(
    services: NodeServices, authenticate: Callable[..., Principal], *, max_model_bytes: int
) -> APIRouter:
    """The routes under /models, each behind `authenticate`."""
    router = APIRouter(prefix="/models", tags=["models"])
    Auth = Annotated[Principal, Depends(authenticate)]

    @router.get("")
    def list_models(principal: Auth) -> list[ModelView]:
        """Every model of this node's registry."""
        return services.list_models()

    @router.get("/{job_id}/{component}")
    def get_model(job_id: Name, component: Name, principal: Auth) -> ModelView:
        """One model: the output of `component` in job `job_id`."""
        return services.get_model(f"{job_id}/{component}")

    @router.get("/{job_id}/{component}/export", response_class=Response)
    def export_model(job_id: Name, component: Name, principal: Auth) -> Response:
        """A portable archive of the model (zip of JSON and .npz; never a pickle)."""
        archive = services.export_model(f"{job_id}/{component}")
        return Response(
            archive,
            media_type="application/zip",
            headers={"Content-Disposition": f'attachment; filename="{job_id}.{component}.zip"'},
        )

    @router.post("/import", status_code=201, openapi_extra=_RAW_BODY)
    async def import_model(request: Request, principal: Auth) -> ModelView:
        """Register a model from an archive made by export (the request body)."""
        _check_declared(request, max_model_bytes)
        archive = await read_limited(request.stream(), limit=max_model_bytes)
        return await anyio.to_thread.run_sync(services.import_model, archive)

    return router
