"""DataLoader, as ``torch.utils.data.DataLoader``: batches of Tensors from a dataset.

The arguments, their defaults, the batches and the errors for bad combinations are torch's.
Workers (``num_workers > 0``) are threads (:mod:`convforge.data.worker`); the batches and
their order equal those of ``num_workers=0``. A dataset that draws random numbers (random
transforms) draws, in a worker, from that worker's own generator, as in torch: reproducible,
but not the draws of ``num_workers=0``. Every iteration first draws a base seed from
``generator`` (or the default generator), as torch does, then the sampler draws its order;
so after ``cf.manual_seed(n)`` every epoch's order is reproducible, whatever the number of
workers.
"""

from __future__ import annotations

import multiprocessing
import numbers
import warnings
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np

from .. import random as cf_random
from ..autograd import Tensor
from .collate import default_collate, default_convert
from .dataset import IterableDataset, batch_fetcher, generator_source
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler
from .worker import WorkerPool

_FROZEN_AFTER_INIT = ("batch_size", "batch_sampler", "sampler", "drop_last", "dataset", "persistent_workers")


def _check_workers(num_workers, timeout, prefetch_factor, persistent_workers, multiprocessing_context) -> int:
    """torch's checks of the worker arguments; returns the prefetch factor to use."""
    if isinstance(num_workers, bool) or not isinstance(num_workers, numbers.Integral):
        raise TypeError(f"DataLoader: num_workers must be an int, but got num_workers={num_workers!r}")
    if num_workers < 0:
        raise ValueError(
            "num_workers option should be non-negative; use num_workers=0 to disable multiprocessing."
        )
    if not isinstance(timeout, numbers.Real) or timeout < 0:
        raise ValueError("timeout option should be non-negative")
    if num_workers == 0 and prefetch_factor is not None:
        raise ValueError(
            "prefetch_factor option could only be specified in multiprocessing."
            "let num_workers > 0 to enable multiprocessing, otherwise set prefetch_factor to None."
        )
    if prefetch_factor is not None and prefetch_factor < 0:
        raise ValueError("prefetch_factor option should be non-negative")
    if persistent_workers and num_workers == 0:
        raise ValueError("persistent_workers option needs num_workers > 0")
    if multiprocessing_context is not None:
        if num_workers == 0:
            raise ValueError(
                "multiprocessing_context can only be used with multi-process loading (num_workers > 0), "
                f"but got num_workers={num_workers}"
            )
        methods = multiprocessing.get_all_start_methods()
        if isinstance(multiprocessing_context, str) and multiprocessing_context not in methods:
            raise ValueError(
                f"multiprocessing_context option should specify a valid start method in {methods!r}, "
                f"but got multiprocessing_context={multiprocessing_context!r}"
            )
    return 2 if prefetch_factor is None else int(prefetch_factor)


def _iterable_style_checks(shuffle, sampler, batch_sampler) -> None:
    if shuffle not in (False, None):
        raise ValueError(
            f"DataLoader with IterableDataset: expected unspecified shuffle option, but got shuffle={shuffle}"
        )
    if sampler is not None:
        raise ValueError(
            f"DataLoader with IterableDataset: expected unspecified sampler option, but got sampler={sampler}"
        )
    if batch_sampler is not None:
        raise ValueError(
            "DataLoader with IterableDataset: expected unspecified "
            f"batch_sampler option, but got batch_sampler={batch_sampler}"
        )


class DataLoader:
    """Iterate over a dataset in batches of Tensors (``torch.utils.data.DataLoader``).

    Parameters
    ----------
    dataset : Dataset or IterableDataset
        Map-style (``__len__`` and ``__getitem__``) or iterable-style.
    batch_size : int or None
        Samples per batch; None turns batching off (each sample through ``default_convert``).
    shuffle : bool, optional
        A new random order every epoch (a :class:`RandomSampler`).
    sampler, batch_sampler : Sampler or iterable, optional
        The indices (or lists of indices) to visit; exclusive with ``shuffle`` (and, for
        ``batch_sampler``, with ``batch_size``, ``sampler`` and ``drop_last``).
    num_workers : int
        Worker threads loading batches ahead (0: in the main thread).
    collate_fn : callable, optional
        List of samples -> batch; default :func:`default_collate`.
    pin_memory : bool
        Accepted; there is no device memory to pin, so it has no effect (torch warns too).
    drop_last : bool
        Drop the last incomplete batch.
    timeout : float
        Seconds to wait for a worker's batch before a RuntimeError (0: forever).
    worker_init_fn : callable, optional
        Called with the worker id in each worker, after it is seeded.
    multiprocessing_context : str or context, optional
        Checked as torch does; workers are threads, so it selects nothing.
    generator : Generator or numpy.random.Generator, optional
        Draws the base seed and the shuffling order instead of the default generator.
    prefetch_factor : int, optional
        Batches each worker loads ahead (default 2 with workers).
    persistent_workers : bool
        Keep the worker threads (and what ``worker_init_fn`` set up) from epoch to epoch.
    pin_memory_device, in_order : optional
        Accepted as torch does; batches always come in order.
    seed : int, optional
        A convforge extension, keyword-only: shuffle with ``Generator().manual_seed(seed)``.

    Yields
    ------
    batch
        For a :class:`TensorDataset` of images and labels: ``[images, labels]``, Tensors
        with the arrays' dtypes (float32 images and int64 labels from ``cf.data``).
    """

    def __init__(
        self,
        dataset,
        batch_size: int | None = 1,
        shuffle: bool | None = None,
        sampler: Sampler | Iterable | None = None,
        batch_sampler: Sampler | Iterable | None = None,
        num_workers: int = 0,
        collate_fn: Callable[[list], Any] | None = None,
        pin_memory: bool = False,
        drop_last: bool = False,
        timeout: float = 0,
        worker_init_fn: Callable[[int], None] | None = None,
        multiprocessing_context=None,
        generator=None,
        *,
        prefetch_factor: int | None = None,
        persistent_workers: bool = False,
        pin_memory_device: str = "",
        in_order: bool = True,
        seed: int | None = None,
    ) -> None:
        self._initialized = False
        self._iterable = isinstance(dataset, IterableDataset)
        if not self._iterable and not (hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__")):
            raise TypeError(
                "DataLoader: dataset must have __len__ and __getitem__ (or be an IterableDataset), "
                f"but got {type(dataset).__name__}"
            )
        self.prefetch_factor = _check_workers(
            num_workers, timeout, prefetch_factor, persistent_workers, multiprocessing_context
        )
        if num_workers == 0:
            self.prefetch_factor = None
        # resolved at every iteration, so a later cf.manual_seed still decides the order
        self._generator = generator_source("DataLoader", seed, generator)
        self.generator = generator
        if self._iterable:
            _iterable_style_checks(shuffle, sampler, batch_sampler)
        elif sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError(
                    "batch_sampler option is mutually exclusive with batch_size, shuffle, sampler, and drop_last"
                )
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError(
                "batch_size=None option disables auto-batching and is mutually exclusive with drop_last"
            )
        if sampler is None and not self._iterable:
            sampler = (
                RandomSampler(dataset, generator=self._generator) if shuffle else SequentialSampler(dataset)
            )
        if batch_size is not None and batch_sampler is None and not self._iterable:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        elif batch_size is not None and self._iterable:
            BatchSampler([], batch_size, drop_last)  # the same checks of batch_size and drop_last
        self.dataset = dataset
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.num_workers = int(num_workers)
        self._auto_collation = batch_sampler is not None or (self._iterable and batch_size is not None)
        self.collate_fn = collate_fn or (default_collate if self._auto_collation else default_convert)
        self.pin_memory = bool(pin_memory)
        self.pin_memory_device = pin_memory_device
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.persistent_workers = bool(persistent_workers)
        self.in_order = in_order
        self._pool: WorkerPool | None = None
        self._initialized = True

    def __setattr__(self, name: str, value) -> None:
        if name in _FROZEN_AFTER_INIT and getattr(self, "_initialized", False):
            raise ValueError(f"{name} attribute should not be set after {type(self).__name__} is initialized")
        super().__setattr__(name, value)

    def __len__(self) -> int:
        if not self._iterable:
            return len(self.batch_sampler if self.batch_sampler is not None else self.sampler)
        n = len(self.dataset)  # TypeError for a stream without a length, as in torch
        if self.batch_size is None:
            return n
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self) -> Iterator:
        if self.pin_memory:
            warnings.warn(
                "'pin_memory' argument is set as true but no accelerator is found, "
                "then device pinned memory won't be used.",
                stacklevel=2,
            )
        rng = cf_random.resolve_generator(self._generator, "DataLoader")
        base_seed = int(rng.integers(0, 2**63))  # drawn before the order, as in torch
        if self.num_workers == 0:
            return self._single_thread_batches()
        pool = self._worker_pool(base_seed)
        batches = self._iterable_from_workers(pool) if self._iterable else self._map_from_workers(pool)
        return self._closing(batches, pool)

    # ---- fetching ---------------------------------------------------------------------
    def _fetch(self, indices) -> Any:
        """One batch (or, without auto-collation, one sample) of a map-style dataset."""
        if not self._auto_collation:
            return self.collate_fn(self.dataset[indices])
        fast = batch_fetcher(self.dataset) if self.collate_fn is default_collate else None
        if fast is not None:  # one fancy index per array instead of one __getitem__ per sample
            return [Tensor(array) for array in fast(np.asarray(indices, dtype=np.int64))]
        return self.collate_fn([self.dataset[i] for i in indices])

    def _index_stream(self) -> Iterator:
        return iter(self.batch_sampler if self._auto_collation else self.sampler)

    def _stream_batches(self, samples: Iterator) -> Iterator:
        """Batches of an iterable-style dataset's sample stream."""
        if self.batch_size is None:
            for sample in samples:
                yield self.collate_fn(sample)
            return
        while chunk := [sample for _, sample in zip(range(self.batch_size), samples)]:
            if self.drop_last and len(chunk) < self.batch_size:
                return
            yield self.collate_fn(chunk)

    def _single_thread_batches(self) -> Iterator:
        if self._iterable:
            yield from self._stream_batches(iter(self.dataset))
            return
        for indices in self._index_stream():
            yield self._fetch(indices)

    # ---- workers ----------------------------------------------------------------------
    def _worker_pool(self, base_seed: int) -> WorkerPool:
        if self._pool is not None:
            self._pool.drain()
            return self._pool
        pool = WorkerPool(self.num_workers, base_seed, self.dataset, self.worker_init_fn, self.timeout)
        if self.persistent_workers:
            self._pool = pool
        return pool

    def _map_from_workers(self, pool: WorkerPool) -> Iterator:
        """Batch k is fetched by worker k % W; at most prefetch_factor * W are in flight."""
        workers = self.num_workers
        index_batches = self._index_stream()
        sent = received = 0
        for indices in index_batches:
            pool.submit(sent % workers, lambda indices=indices: self._fetch(indices))
            sent += 1
            if sent - received >= self.prefetch_factor * workers:
                yield pool.result(received % workers)
                received += 1
        while received < sent:
            yield pool.result(received % workers)
            received += 1

    def _iterable_from_workers(self, pool: WorkerPool) -> Iterator:
        """Each worker batches its own copy of the stream; batches taken round-robin, as torch."""
        streams: dict[int, Iterator] = {}
        done = object()

        def start(worker: int) -> None:
            streams[worker] = self._stream_batches(iter(self.dataset))

        def next_batch(worker: int):
            return next(streams[worker], done)

        for worker in range(self.num_workers):
            pool.submit(worker, lambda worker=worker: start(worker))
            pool.result(worker)
            for _ in range(max(self.prefetch_factor, 1)):
                pool.submit(worker, lambda worker=worker: next_batch(worker))
        active = list(range(self.num_workers))
        turn = 0
        while active:
            worker = active[turn % len(active)]
            batch = pool.result(worker)
            if batch is done:
                active.remove(worker)
                continue
            pool.submit(worker, lambda worker=worker: next_batch(worker))
            turn += 1
            yield batch

    def _closing(self, batches: Iterator, pool: WorkerPool) -> Iterator:
        try:
            yield from batches
        finally:
            if pool is not self._pool:
                pool.close()

    def __repr__(self) -> str:
        size = "" if self._iterable else f" of {len(self.dataset)}"
        return (
            f"DataLoader({type(self.dataset).__name__}{size}, batch_size={self.batch_size}, "
            f"num_workers={self.num_workers}, drop_last={self.drop_last})"
        )
