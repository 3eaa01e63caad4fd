"""ChaihuoClient: the typed, synchronous httpx client of one node's REST API."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import time
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Final, Self, TypeVar

import httpx
from pydantic import BaseModel, TypeAdapter

from chaihuo import __version__
from chaihuo.client._errors import (
    ContentMismatchError,
    NodeUnreachableError,
    error_from_response,
)
from chaihuo.core import InvalidInputError
from chaihuo.flow.api._schemas import (
    DagView,
    Health,
    Identity,
    JobSubmit,
    JobView,
    LogChunk,
    MetricView,
    ModelView,
    NodeStatus,
    TableFormat,
    TableView,
    TokenCreate,
    TokenCreated,
    TokenView,
    UserCreate,
    UserView,
)

__all__ = ["ChaihuoClient", "Progress"]

M = TypeVar("M", bound=BaseModel)
Progress = Callable[[int], None]
"""Called with the bytes moved so far, during an upload or a download."""
CHUNK: Final = 1 << 20
SHA256_HEADER: Final = "X-Content-SHA256"


def _segment(value: str) -> str:
    return urllib.parse.quote(value, safe="")


def _model_path(model_id: str) -> str:
    job_id, sep, component = model_id.partition("/")
    if not sep or not job_id or not component or "/" in component:
        raise InvalidInputError(f"a model id is JOB_ID/COMPONENT, got {model_id!r}")
    return f"/models/{_segment(job_id)}/{_segment(component)}"


def _chunks(source: IO[bytes], on_progress: Progress | None) -> Iterator[bytes]:
    sent = 0
    while chunk := source.read(CHUNK):
        sent += len(chunk)
        if on_progress is not None:
            on_progress(sent)
        yield chunk


class ChaihuoClient:
    """One node's REST API as typed methods; errors are `ChaihuoApiError` subclasses.

    Requests are checked by the node, not here (bodies are built unvalidated), so a bad
    argument is the node's 400 with its message, one behaviour for every client.

    `transport` replaces the network (an `httpx.ASGITransport` over the app in tests, an
    `httpx.MockTransport`). Use as a context manager, or call `close()`.
    """

    def __init__(
        self,
        base_url: str,
        token: str | None,
        *,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        headers = {"User-Agent": f"chaihuo-client/{__version__}"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.base_url = base_url
        self._http = httpx.Client(
            base_url=base_url, headers=headers, timeout=timeout, transport=transport
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    # -- plumbing ---------------------------------------------------------------------------

    def _send(self, request: httpx.Request, *, stream: bool = False) -> httpx.Response:
        try:
            response = self._http.send(request, stream=stream)
        except httpx.TransportError as exc:
            raise NodeUnreachableError(
                f"no answer from the node at {self.base_url}: {exc}", status_code=0
            ) from exc
        if response.is_error:
            if stream:
                response.read()
                response.close()
            raise error_from_response(response)
        return response

    def _call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: BaseModel | None = None,
        content: bytes | Iterator[bytes] | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        body = json.model_dump(mode="json") if json is not None else None
        kept = {k: v for k, v in (params or {}).items() if v is not None}
        request = self._http.build_request(
            method, path, params=kept, json=body, content=content, headers=headers
        )
        return self._send(request)

    def _one(self, model: type[M], method: str, path: str, **kwargs: Any) -> M:
        return model.model_validate_json(self._call(method, path, **kwargs).content)

    def _many(self, model: type[M], method: str, path: str, **kwargs: Any) -> list[M]:
        adapter = TypeAdapter(list[model])  # type: ignore[valid-type]
        result: list[M] = adapter.validate_json(self._call(method, path, **kwargs).content)
        return result

    def _download(self, path: str, dest: Path | IO[bytes], on_progress: Progress | None) -> int:
        """Stream `path` into `dest`; a Path is written whole or not at all."""
        request = self._http.build_request("GET", path)
        response = self._send(request, stream=True)
        with contextlib.ExitStack() as stack:
            stack.callback(response.close)
            if isinstance(dest, Path):
                fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", dir=dest.parent)
                stack.callback(lambda: Path(tmp).unlink(missing_ok=True))  # after the close
                out: IO[bytes] = stack.enter_context(os.fdopen(fd, "wb"))
            else:
                out = dest
            digest, size = hashlib.sha256(), 0
            try:
                for chunk in response.iter_bytes(CHUNK):
                    out.write(chunk)
                    digest.update(chunk)
                    size += len(chunk)
                    if on_progress is not None:
                        on_progress(size)
            except httpx.TransportError as exc:
                raise NodeUnreachableError(
                    f"the download from {self.base_url} broke off after {size} bytes: {exc}",
                    status_code=0,
                ) from exc
            expected = response.headers.get(SHA256_HEADER)
            if expected is not None and expected != digest.hexdigest():
                raise ContentMismatchError(
                    f"downloaded {size} bytes whose sha256 differs from the node's",
                    status_code=response.status_code,
                )
            if isinstance(dest, Path):
                out.close()
                os.replace(tmp, dest)
        return size

    # -- node -------------------------------------------------------------------------------

    def health(self) -> Health:
        """Liveness (no token needed)."""
        return self._one(Health, "GET", "/health")

    def status(self) -> NodeStatus:
        """The node's party id, version, uptime, peers and work."""
        return self._one(NodeStatus, "GET", "/status")

    def me(self) -> Identity:
        """Who this client's token belongs to."""
        return self._one(Identity, "GET", "/me")

    # -- jobs -------------------------------------------------------------------------------

    def submit_job(self, job_yaml: str, *, request_id: str | None = None) -> JobView:
        """Submit a job file's text; the same `request_id` returns the first job again."""
        body = JobSubmit.model_construct(job=job_yaml, request_id=request_id)
        return self._one(JobView, "POST", "/jobs", json=body)

    def list_jobs(
        self, *, limit: int = 50, offset: int = 0, states: Sequence[str] | None = None
    ) -> list[JobView]:
        """The node's jobs, newest first."""
        params = {"limit": limit, "offset": offset, "state": list(states) if states else None}
        return self._many(JobView, "GET", "/jobs", params=params)

    def get_job(self, job_id: str) -> JobView:
        """One job with every party's tasks."""
        return self._one(JobView, "GET", f"/jobs/{_segment(job_id)}")

    def stop_job(self, job_id: str) -> JobView:
        """Stop a job on every party."""
        return self._one(JobView, "POST", f"/jobs/{_segment(job_id)}/stop")

    def rerun_job(self, job_id: str) -> JobView:
        """Rerun a failed or canceled job from its unfinished components."""
        return self._one(JobView, "POST", f"/jobs/{_segment(job_id)}/rerun")

    def job_logs(
        self, job_id: str, *, component: str | None = None, offset: int = 0, limit: int = 65_536
    ) -> LogChunk:
        """A chunk of this party's task logs; continue from `next_offset`."""
        params = {"component": component, "offset": offset, "limit": limit}
        return self._one(LogChunk, "GET", f"/jobs/{_segment(job_id)}/logs", params=params)

    def job_metrics(self, job_id: str) -> list[MetricView]:
        """The metrics this party's tasks logged."""
        return self._many(MetricView, "GET", f"/jobs/{_segment(job_id)}/metrics")

    def job_dag(self, job_id: str) -> DagView:
        """The job's DAG with each component's state per party."""
        return self._one(DagView, "GET", f"/jobs/{_segment(job_id)}/dag")

    def wait_for_job(
        self,
        job_id: str,
        on_update: Callable[[JobView], None] | None = None,
        poll_s: float = 1.0,
        *,
        timeout_s: float | None = None,
        max_missed: int = 5,
    ) -> JobView:
        """Poll until the job ends; `on_update` sees every view. TimeoutError past `timeout_s`.

        Up to `max_missed` polls in a row may find the node unreachable (a restart) before
        NodeUnreachableError ends the wait.
        """
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        missed = 0
        while True:
            try:
                job = self.get_job(job_id)
            except NodeUnreachableError:
                missed += 1
                if missed > max_missed:
                    raise
                time.sleep(poll_s)
                continue
            missed = 0
            if on_update is not None:
                on_update(job)
            if job.done:
                return job
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(f"job {job_id} still {job.state} after {timeout_s} s")
            time.sleep(poll_s)

    # -- data -------------------------------------------------------------------------------

    def upload_table(
        self,
        namespace: str,
        name: str,
        source: Path | IO[bytes],
        *,
        id_column: str | None = None,
        label_column: str | None = None,
        format: TableFormat | None = None,
        replace: bool = False,
        on_progress: Progress | None = None,
    ) -> TableView:
        """Stream a CSV or Parquet file to the node (never whole in memory on either side)."""
        filename = (
            source.name if isinstance(source, Path) else Path(getattr(source, "name", "")).name
        )
        params = {
            "id": id_column,
            "label": label_column,
            "format": format,
            "replace": replace,
            "filename": filename or None,
        }
        path = f"/data/{_segment(namespace)}/{_segment(name)}"
        with contextlib.ExitStack() as stack:
            headers = {"Content-Type": "application/octet-stream"}
            if isinstance(source, Path):
                headers["Content-Length"] = str(source.stat().st_size)
                source = stack.enter_context(source.open("rb"))
            body = _chunks(source, on_progress)
            return self._one(TableView, "PUT", path, params=params, content=body, headers=headers)

    def list_tables(self, namespace: str | None = None) -> list[TableView]:
        """Every table of the node, or those of one namespace."""
        return self._many(TableView, "GET", "/data", params={"namespace": namespace})

    def get_table(self, namespace: str, name: str) -> TableView:
        """One table's record."""
        return self._one(TableView, "GET", f"/data/{_segment(namespace)}/{_segment(name)}")

    def download_table(
        self,
        namespace: str,
        name: str,
        dest: Path | IO[bytes],
        *,
        on_progress: Progress | None = None,
    ) -> int:
        """Stream a table's file into `dest`, checking its sha256; the bytes written."""
        path = f"/data/{_segment(namespace)}/{_segment(name)}/download"
        return self._download(path, dest, on_progress)

    def delete_table(self, namespace: str, name: str) -> TableView:
        """Remove a table; the record it had."""
        return self._one(TableView, "DELETE", f"/data/{_segment(namespace)}/{_segment(name)}")

    # -- models -----------------------------------------------------------------------------

    def list_models(self) -> list[ModelView]:
        """Every model of the node's registry."""
        return self._many(ModelView, "GET", "/models")

    def get_model(self, model_id: str) -> ModelView:
        """One model by JOB_ID/COMPONENT."""
        return self._one(ModelView, "GET", _model_path(model_id))

    def export_model(self, model_id: str, dest: Path | IO[bytes]) -> int:
        """Write the model's portable archive (zip of JSON and .npz) to `dest`; its size."""
        return self._download(f"{_model_path(model_id)}/export", dest, None)

    def import_model(self, source: Path | bytes) -> ModelView:
        """Register a model from an archive made by export."""
        archive = source.read_bytes() if isinstance(source, Path) else source
        headers = {"Content-Type": "application/zip"}
        return self._one(ModelView, "POST", "/models/import", content=archive, headers=headers)

    # -- users and tokens (admin) -----------------------------------------------------------

    def create_user(self, name: str, *, admin: bool = False) -> UserView:
        """Add a user to the node."""
        return self._one(
            UserView, "POST", "/users", json=UserCreate.model_construct(name=name, admin=admin)
        )

    def list_users(self) -> list[UserView]:
        """Every user of the node."""
        return self._many(UserView, "GET", "/users")

    def delete_user(self, name: str) -> None:
        """Remove a user and its tokens."""
        self._call("DELETE", f"/users/{_segment(name)}")

    def create_token(
        self, user: str, *, expires_in_s: int = 30 * 86_400, label: str = ""
    ) -> TokenCreated:
        """A new token for `user`; `.secret` is shown only in this answer."""
        body = TokenCreate.model_construct(expires_in_s=expires_in_s, label=label)
        return self._one(TokenCreated, "POST", f"/users/{_segment(user)}/tokens", json=body)

    def list_tokens(self, user: str | None = None) -> list[TokenView]:
        """Every token's record, or one user's."""
        return self._many(TokenView, "GET", "/tokens", params={"user": user})

    def revoke_token(self, token_id: str) -> TokenView:
        """Revoke a token now."""
        return self._one(TokenView, "DELETE", f"/tokens/{_segment(token_id)}")
