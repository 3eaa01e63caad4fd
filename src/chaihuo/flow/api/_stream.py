"""A request body as a blocking file for a worker thread, read chunk by chunk, with a size limit."""

from __future__ import annotations

import contextlib
import io
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Final

import anyio.from_thread
from starlette.requests import ClientDisconnect

from chaihuo.flow.api._errors import PayloadTooLargeError

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

__all__ = ["DRAIN_MAX", "BodyReader", "read_limited"]


DRAIN_MAX: Final = 64 * 1024 * 1024


class BodyReader(io.RawIOBase):
    """Reads the request stream as the consumer asks, never holding more than one chunk.

    Use from a thread started by `anyio.to_thread.run_sync`: each refill runs one step of the
    request's async stream on the event loop. Past `limit` bytes a read raises
    PayloadTooLargeError and `too_large` stays set, so the route answers 413 even when the
    consumer wraps the error in its own.
    """

    def __init__(self, chunks: AsyncIterator[bytes], *, limit: int) -> None:
        super().__init__()
        self._chunks = chunks
        self._limit = limit
        self._pending = memoryview(b"")
        self._eof = False
        self.received = 0
        self.too_large = False

    def readable(self) -> bool:
        return True

    async def _next_chunk(self) -> bytes:
        try:
            return await anext(self._chunks)
        except StopAsyncIteration:
            return b""

    def _refill(self) -> None:
        while not self._pending and not self._eof:
            chunk = anyio.from_thread.run(self._next_chunk)
            if not chunk:
                self._eof = True
                return
            self.received += len(chunk)
            if self.received > self._limit:
                self.too_large = True
                raise PayloadTooLargeError(f"upload over the limit of {self._limit} bytes")
            self._pending = memoryview(chunk)

    async def drain(self, most: int = DRAIN_MAX) -> None:
        """Discard up to `most` bytes the consumer left unread, so the client reads the answer
        (past that the connection closes; httpx still reads an answer sent early)."""
        with contextlib.suppress(ClientDisconnect):
            stop = self.received + most
            async for chunk in self._chunks:
                self.received += len(chunk)
                if self.received > self._limit:
                    self.too_large = True
                    return
                if self.received > stop:
                    return

    def readinto(self, buffer: WriteableBuffer, /) -> int:
        if self.too_large:
            raise PayloadTooLargeError(f"upload over the limit of {self._limit} bytes")
        self._refill()
        view = memoryview(buffer).cast("B")
        size = min(len(view), len(self._pending))
        view[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


async def read_limited(chunks: AsyncIterator[bytes], *, limit: int) -> bytes:
    """A whole (bounded) body: for routes whose consumer takes bytes."""
    parts: list[bytes] = []
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise PayloadTooLargeError(f"body over the limit of {limit} bytes")
        parts.append(chunk)
    return b"".join(parts)
