"""DataLoader workers as threads, with torch's worker semantics where they can be observed.

Worker ``w`` of ``W`` handles tasks ``w, w + W, w + 2W, ...`` in order, each worker with its
own task and result queue, so the main thread reads task ``k`` from worker ``k % W`` and the
batches come back in the order of ``num_workers=0`` however the threads are scheduled.
Each worker thread draws from a default generator of its own seeded ``base_seed + w`` (torch
seeds its worker processes the same way), so random transforms in a worker are reproducible
too. NumPy and PIL release the GIL in their heavy loops, which is where threads gain.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .. import random as cf_random

_local = threading.local()  # .info: the WorkerInfo of the current worker thread


@dataclass(frozen=True)
class WorkerInfo:
    """What :func:`get_worker_info` tells code running in a worker (torch's fields)."""

    id: int
    num_workers: int
    seed: int
    dataset: Any


def get_worker_info() -> WorkerInfo | None:
    """The current worker's :class:`WorkerInfo`; None outside DataLoader workers."""
    return getattr(_local, "info", None)


class _Failure:
    """An exception raised in a worker, carried to the main thread to be raised there."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


class WorkerPool:
    """``num_workers`` threads, each running the closures sent to it, in order.

    Parameters
    ----------
    num_workers : int
    base_seed : int
        Worker ``w`` seeds its default generator with ``base_seed + w``.
    dataset : Dataset
        Given to :class:`WorkerInfo`.
    worker_init_fn : callable, optional
        Called with the worker id in each worker thread, after seeding, before any task.
    timeout : float
        Seconds to wait for a result (0: forever).
    """

    def __init__(
        self,
        num_workers: int,
        base_seed: int,
        dataset,
        worker_init_fn: Callable[[int], None] | None,
        timeout: float,
    ) -> None:
        self.num_workers = num_workers
        self.timeout = timeout
        self._tasks: list[queue.SimpleQueue] = [queue.SimpleQueue() for _ in range(num_workers)]
        self._results: list[queue.Queue] = [queue.Queue() for _ in range(num_workers)]
        self.pending = [0] * num_workers
        self._threads = [
            threading.Thread(
                target=self._run,
                args=(w, WorkerInfo(w, num_workers, base_seed + w, dataset), worker_init_fn),
                name=f"convforge-DataLoader-worker-{w}",
                daemon=True,  # a forgotten iterator must not keep the interpreter alive
            )
            for w in range(num_workers)
        ]
        for thread in self._threads:
            thread.start()

    def _run(self, worker: int, info: WorkerInfo, worker_init_fn) -> None:
        _local.info = info
        cf_random.set_thread_generator(cf_random.Generator().manual_seed(info.seed))
        failure = None
        if worker_init_fn is not None:
            try:
                worker_init_fn(worker)
            except BaseException as error:  # reported with the first result, as torch does
                failure = _Failure(error)
        while (task := self._tasks[worker].get()) is not None:
            if failure is not None:
                self._results[worker].put(failure)
                continue
            try:
                self._results[worker].put(task())
            except BaseException as error:
                self._results[worker].put(_Failure(error))

    def submit(self, worker: int, task: Callable[[], Any]) -> None:
        """Queue ``task`` on ``worker``; its result is the worker's next unread :meth:`result`."""
        self.pending[worker] += 1
        self._tasks[worker].put(task)

    def result(self, worker: int) -> Any:
        """The result of ``worker``'s oldest unread task (its exception is raised here)."""
        try:
            outcome = self._results[worker].get(timeout=self.timeout or None)
        except queue.Empty:
            raise RuntimeError(f"DataLoader timed out after {self.timeout} seconds") from None
        self.pending[worker] -= 1
        if isinstance(outcome, _Failure):
            raise outcome.error
        return outcome

    def drain(self) -> None:
        """Wait for and drop every unread result, so the next epoch starts clean."""
        for worker in range(self.num_workers):
            while self.pending[worker]:
                self._results[worker].get()
                self.pending[worker] -= 1

    def close(self) -> None:
        """Let the threads finish their queued tasks and exit."""
        for tasks in self._tasks:
            tasks.put(None)
