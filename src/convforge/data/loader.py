"""DataLoader: batches of Tensors from a dataset, optionally shuffled with a seed."""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from ..autograd import Tensor
from .dataset import _resolve_rng, batch_fetcher


def default_collate(samples: list) -> Any:
    """Stack a list of samples into a batch, field by field, as torch's ``default_collate``.

    Tensors and arrays are stacked along a new first axis into a Tensor; Python ints become
    int64, floats float64 and bools bool; tuples/lists and dicts are collated per field.
    """
    first = samples[0]
    if isinstance(first, (tuple, list)):
        if any(len(s) != len(first) for s in samples):
            raise ValueError("default_collate: all samples must have the same number of fields")
        fields = [default_collate(list(field)) for field in zip(*samples)]
        return tuple(fields) if isinstance(first, tuple) else fields
    if isinstance(first, dict):
        return {key: default_collate([s[key] for s in samples]) for key in first}
    if isinstance(first, bool):
        return Tensor(np.array(samples, dtype=bool))
    if isinstance(first, numbers.Integral) and not isinstance(first, np.generic):
        return Tensor(np.array(samples, dtype=np.int64))
    if isinstance(first, numbers.Real) and not isinstance(first, np.generic):
        return Tensor(np.array(samples, dtype=np.float64))
    if isinstance(first, (Tensor, np.ndarray, np.generic)):
        return Tensor(np.stack([s.array if isinstance(s, Tensor) else np.asarray(s) for s in samples]))
    if isinstance(first, (str, bytes)):
        return list(samples)
    raise TypeError(f"default_collate: cannot batch samples of type {type(first).__name__}")


class DataLoader:
    """Iterate over a dataset in batches of Tensors.

    Parameters
    ----------
    dataset : Dataset
        Anything with ``__len__`` and ``__getitem__``.
    batch_size : int
        Samples per batch (the last one may be smaller unless ``drop_last``).
    shuffle : bool
        Visit the samples in a new random order every epoch (every ``iter``).
    drop_last : bool
        Drop the last incomplete batch.
    seed : int, optional
        Seed of the shuffling: two loaders with the same seed give the same batches, epoch
        after epoch, while each epoch's order differs from the previous one.
    generator : numpy.random.Generator, optional
        Draw the orders from this generator instead (exclusive with ``seed``).
    collate_fn : callable, optional
        Turns a list of samples into a batch; default :func:`default_collate`.

    Yields
    ------
    batch
        For a :class:`TensorDataset` of images and labels: ``(images, labels)``, Tensors
        with the arrays' dtypes (float32 images and int64 labels from ``cf.data``).
    """

    def __init__(
        self,
        dataset,
        batch_size: int = 1,
        shuffle: bool = False,
        drop_last: bool = False,
        *,
        seed: int | None = None,
        generator: np.random.Generator | None = None,
        collate_fn: Callable[[list], Any] | None = None,
    ) -> None:
        if not (hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__")):
            raise TypeError(
                f"DataLoader: dataset must have __len__ and __getitem__, but got {type(dataset).__name__}"
            )
        if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) or batch_size < 1:
            raise ValueError(
                f"DataLoader: batch_size must be a positive int, but got batch_size={batch_size!r}"
            )
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.collate_fn = collate_fn
        self._rng = _resolve_rng("DataLoader", seed, generator)

    def __len__(self) -> int:
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self) -> Iterator:
        n = len(self.dataset)
        order = self._rng.permutation(n) if self.shuffle else np.arange(n)
        fetch_batch = batch_fetcher(self.dataset) if self.collate_fn is None else None
        collate = self.collate_fn or default_collate
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            indices = order[start : start + self.batch_size]
            if fetch_batch is not None:
                yield tuple(Tensor(a) for a in fetch_batch(indices))
            else:
                yield collate([self.dataset[int(i)] for i in indices])

    def __repr__(self) -> str:
        return (
            f"DataLoader({type(self.dataset).__name__} of {len(self.dataset)}, batch_size={self.batch_size}, "
            f"shuffle={self.shuffle}, drop_last={self.drop_last})"
        )
