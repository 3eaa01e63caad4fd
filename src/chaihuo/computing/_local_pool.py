"""The local backend's process pool: runs per-partition tasks on all cores, or inline."""

from __future__ import annotations

import functools
import multiprocessing
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

import cloudpickle  # type: ignore[import-untyped]

from chaihuo.computing._errors import ComputingError
from chaihuo.computing._local_tasks import guarded

__all__ = ["TaskRunner", "pickle_function"]

R = TypeVar("R")


def pickle_function(func: Callable[..., Any]) -> bytes:
    """Serialise a user function for this party's own workers (by value where needed)."""
    try:
        blob: bytes = cloudpickle.dumps(func)
    except Exception as exc:
        raise ComputingError(
            f"cannot ship {func!r} to worker processes: {exc}",
            error_type=type(exc).__name__,
            error=str(exc),
        ) from exc
    return blob


class TaskRunner:
    """Runs lists of tasks: in a process pool when ``workers > 1``, else in this process.

    Tasks are ``functools.partial`` objects over module-level functions of `_local_tasks`,
    so the stdlib pickle that multiprocessing uses can send them; user functions inside them
    are already cloudpickled bytes. Both modes run the same code on the same bytes, so a
    pool run returns exactly what a sequential run returns. The pool uses the ``spawn``
    start method: forking a process that also hosts JVM or gRPC threads can deadlock.
    """

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def _executor(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(
                    max_workers=self.workers, mp_context=multiprocessing.get_context("spawn")
                )
            return self._pool

    def run(self, tasks: Sequence[Callable[[], R]]) -> list[R]:
        """Results of ``tasks`` in order; the first failure is raised after all have ended."""
        if self.workers <= 1 or len(tasks) <= 1:
            return [guarded(task) for task in tasks]
        pool = self._executor()
        try:
            futures: list[Future[R]] = [pool.submit(guarded, task) for task in tasks]
        except BrokenProcessPool as exc:
            self._reset()
            raise ComputingError("the worker pool is broken", error=str(exc)) from exc
        return self._results(futures)

    def _results(self, futures: list[Future[R]]) -> list[R]:
        failure: BaseException | None = None
        results: list[R] = []
        for future in futures:
            try:
                results.append(future.result())
            except BrokenProcessPool as exc:
                self._reset()
                failure = failure or ComputingError(
                    "a worker process died: killed, out of memory, or it could not start "
                    "(a script using the local backend needs an "
                    "`if __name__ == '__main__':` guard)",
                    error=str(exc),
                )
            except BaseException as exc:
                failure = failure or exc
        if failure is not None:
            raise failure
        return results

    def _reset(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        """Stop the worker processes."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def task(func: Callable[..., R], **kwargs: Any) -> Callable[[], R]:
    """A picklable zero-argument task."""
    return functools.partial(func, **kwargs)
