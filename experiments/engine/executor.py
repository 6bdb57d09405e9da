"""Executors: where runs are computed. joblib's loky processes here, or a Dask cluster.

An executor is a context manager whose ``map_unordered(function, tasks)``
yields ``(index, result)`` pairs as tasks finish, in any order. The function
must be a picklable top-level callable that never raises for a run's own
errors (``experiments.engine.execute`` wraps every run so); when the machinery
itself fails for a task (a Dask worker lost twice, say) the pair carries the
exception instead of a result. Which executor runs a study never changes its
numbers: every run depends only on its parameters and its seed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from joblib import Parallel, delayed

from experiments.errors import UsageError

BACKENDS: tuple[str, ...] = ("loky", "dask")

_DASK_WINDOW = 4  # tasks in flight per Dask worker: enough to keep workers busy


class TaskFailed(Exception):
    """The executor could not compute a task (its worker died); wraps the cause."""


class LokyExecutor:
    """joblib's loky worker processes on this machine; ``jobs=1`` runs in this process."""

    def __init__(self, jobs: int = 1) -> None:
        self.jobs = jobs
        self.workers = jobs

    def __enter__(self) -> LokyExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def map_unordered(self, function: Callable[..., Any],
                      tasks: Sequence[tuple[Any, ...]]) -> Iterator[tuple[int, Any]]:
        """Yield ``(index, function(*tasks[index]))`` as tasks finish."""
        if self.jobs == 1 or len(tasks) <= 1:
            for index, args in enumerate(tasks):
                yield index, function(*args)
            return
        parallel = Parallel(n_jobs=min(self.jobs, len(tasks)), backend="loky",
                            return_as="generator_unordered")
        yield from parallel(delayed(_indexed)(function, i, args) for i, args in enumerate(tasks))


def _indexed(function: Callable[..., Any], index: int, args: tuple[Any, ...]) -> tuple[int, Any]:
    return index, function(*args)


class DaskExecutor:
    """A Dask distributed cluster: the scheduler at ``scheduler``, or a local one of ``jobs``.

    Tasks are submitted a few per worker at a time, so a study of many runs does not
    put all of them on the scheduler at once.
    """

    def __init__(self, jobs: int = 1, scheduler: str | None = None) -> None:
        self.jobs = jobs
        self.scheduler = scheduler
        self.workers = jobs
        self._stack = contextlib.ExitStack()
        self.client: Any = None

    def __enter__(self) -> DaskExecutor:
        from distributed import Client, LocalCluster

        try:
            if self.scheduler is None:
                cluster = self._stack.enter_context(LocalCluster(
                    n_workers=self.jobs, threads_per_worker=1, processes=True,
                    host="127.0.0.1", dashboard_address=None))
                self.client = self._stack.enter_context(Client(cluster))
            else:
                self.client = self._stack.enter_context(Client(self.scheduler, timeout="20s"))
        except (OSError, TimeoutError, ValueError, TypeError) as exc:
            self._stack.close()
            where = (f"the Dask scheduler at {self.scheduler!r}" if self.scheduler
                     else "a local Dask cluster")
            message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise UsageError(f"--scheduler: cannot reach {where}: {message}") from None
        self.workers = max(1, len(self.client.scheduler_info().get("workers", {})) or self.jobs)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def map_unordered(self, function: Callable[..., Any],
                      tasks: Sequence[tuple[Any, ...]]) -> Iterator[tuple[int, Any]]:
        """Yield ``(index, result)`` as tasks finish; a lost task yields a ``TaskFailed``."""
        from distributed import as_completed

        window = max(1, self.workers * _DASK_WINDOW)
        pending = iter(enumerate(tasks))
        index_of: dict[str, int] = {}
        futures = as_completed()

        def submit_next() -> bool:
            item = next(pending, None)
            if item is None:
                return False
            index, args = item
            future = self.client.submit(function, *args, pure=False)
            index_of[future.key] = index
            futures.add(future)
            return True

        for _ in range(window):
            if not submit_next():
                break
        try:
            for future in futures:
                index = index_of.pop(future.key)
                try:
                    result = future.result()
                except Exception as exc:  # noqa: BLE001 - e.g. KilledWorker: the task is lost
                    result = TaskFailed(f"{type(exc).__name__}: {exc}")
                future.release()
                submit_next()
                yield index, result
        finally:
            futures.clear()


def make_executor(backend: str = "loky", jobs: int = 1,
                  scheduler: str | None = None) -> LokyExecutor | DaskExecutor:
    """The executor of ``backend`` (``loky`` or ``dask``), not yet entered.

    Raises:
        UsageError: unknown backend, or a scheduler address without ``dask``.
    """
    if backend not in BACKENDS:
        raise UsageError(f"--backend: got {backend!r}; allowed: one of {', '.join(BACKENDS)}")
    if scheduler is not None and backend != "dask":
        raise UsageError("--scheduler: needs --backend dask")
    if backend == "dask":
        return DaskExecutor(jobs, scheduler)
    return LokyExecutor(jobs)
