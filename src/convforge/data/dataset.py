"""Datasets as in ``torch.utils.data``: Dataset, TensorDataset, Subset, random_split.

A dataset is anything with ``__len__`` and ``__getitem__(i)`` returning one sample. For
TensorDatasets (and Subsets of them) :func:`batch_fetcher` fetches a whole batch in one
fancy-indexing step, which :class:`~convforge.data.DataLoader` uses instead of collating
samples one by one.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence

import numpy as np

from ..autograd import Tensor


class Dataset:
    """Base class of map-style datasets: subclasses define ``__getitem__`` and ``__len__``."""

    def __getitem__(self, index: int):
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__")

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must implement __len__")


def _array_of(value) -> np.ndarray:
    return value.array if isinstance(value, Tensor) else np.asarray(value)


class TensorDataset(Dataset):
    """Samples are the rows of arrays that share their first dimension.

    Parameters
    ----------
    *tensors : Tensor or array-like
        E.g. ``TensorDataset(images, labels)``; sample ``i`` is ``(images[i], labels[i])``.
    """

    def __init__(self, *tensors) -> None:
        if not tensors:
            raise ValueError("TensorDataset: needs at least one tensor")
        arrays = tuple(_array_of(t) for t in tensors)
        if any(a.ndim == 0 for a in arrays):
            raise ValueError(
                f"TensorDataset: tensors must have a first dimension, but got shapes {[a.shape for a in arrays]}"
            )
        sizes = [len(a) for a in arrays]
        if len(set(sizes)) != 1:
            raise ValueError(
                f"TensorDataset: all tensors must have the same first dimension, but got sizes {sizes}"
            )
        self.tensors = tuple(Tensor(a) for a in arrays)

    def __getitem__(self, index: int) -> tuple[Tensor, ...]:
        return tuple(Tensor(t.array[index]) for t in self.tensors)

    def __len__(self) -> int:
        return len(self.tensors[0].array)


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order.

    Parameters
    ----------
    dataset : Dataset
        The whole dataset.
    indices : sequence of int
        Positions in ``dataset``, each in ``[-len(dataset), len(dataset))``.
    """

    def __init__(self, dataset, indices: Sequence[int]) -> None:
        index_array = np.asarray(indices)
        if index_array.size == 0:
            index_array = index_array.astype(np.int64)
        if index_array.ndim != 1 or not np.issubdtype(index_array.dtype, np.integer):
            raise TypeError(f"Subset: indices must be a 1-D sequence of ints, but got {indices!r}")
        n = len(dataset)
        if index_array.size and (index_array.min() < -n or index_array.max() >= n):
            raise ValueError(f"Subset: indices must be in [-{n}, {n}) for a dataset of {n} samples")
        self.dataset = dataset
        self.indices = [int(i) for i in index_array]

    def __getitem__(self, index: int):
        return self.dataset[self.indices[index]]

    def __len__(self) -> int:
        return len(self.indices)


def batch_fetcher(dataset) -> Callable[[np.ndarray], tuple[np.ndarray, ...]] | None:
    """A function from an index array to a whole batch of arrays, if ``dataset`` has one.

    TensorDatasets (and Subsets of them) fetch a batch with one fancy index per array
    instead of one ``__getitem__`` per sample; subclasses that override ``__getitem__``
    keep their own per-sample path.
    """
    if isinstance(dataset, TensorDataset) and type(dataset).__getitem__ is TensorDataset.__getitem__:
        return lambda indices: tuple(t.array[indices] for t in dataset.tensors)
    if isinstance(dataset, Subset) and type(dataset).__getitem__ is Subset.__getitem__:
        inner = batch_fetcher(dataset.dataset)
        if inner is not None:
            positions = np.asarray(dataset.indices, dtype=np.int64)
            return lambda indices: inner(positions[indices])
    return None


def _resolve_rng(owner: str, seed, generator) -> np.random.Generator:
    if seed is not None and generator is not None:
        raise ValueError(f"{owner}: give seed or generator, not both")
    if generator is not None:
        if not isinstance(generator, np.random.Generator):
            raise TypeError(
                f"{owner}: generator must be a numpy.random.Generator, but got {type(generator).__name__}"
            )
        return generator
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)):
        raise TypeError(f"{owner}: seed must be an int or None, but got seed={seed!r}")
    return np.random.default_rng(seed)


def _split_lengths(lengths: Sequence[float], n: int) -> list[int]:
    """torch's rule: ints that sum to n, or fractions that sum to 1 (the remainder round-robin)."""
    lengths = list(lengths)
    if all(isinstance(x, numbers.Integral) and not isinstance(x, bool) for x in lengths):
        if any(x < 0 for x in lengths) or sum(lengths) != n:
            raise ValueError(
                f"random_split: lengths must be non-negative and sum to the dataset size {n}, but got {lengths}"
            )
        return [int(x) for x in lengths]
    if not all(isinstance(x, numbers.Real) and 0 <= x <= 1 for x in lengths) or not math.isclose(
        sum(lengths), 1
    ):
        raise ValueError(
            f"random_split: lengths must be ints summing to {n} or fractions in [0, 1] summing to 1, but got {lengths}"
        )
    sizes = [int(math.floor(n * f)) for f in lengths]
    for i in range(n - sum(sizes)):
        sizes[i % len(sizes)] += 1
    return sizes


def random_split(
    dataset, lengths: Sequence[float], seed: int | None = None, generator: np.random.Generator | None = None
) -> list[Subset]:
    """Split ``dataset`` into non-overlapping random subsets.

    Parameters
    ----------
    dataset : Dataset
        The dataset to split.
    lengths : sequence of int or of float
        The sizes (summing to ``len(dataset)``) or fractions (summing to 1) of the parts.
    seed, generator : optional
        An int seed or a ``numpy.random.Generator``; the same seed gives the same split.

    Returns
    -------
    list of Subset
    """
    rng = _resolve_rng("random_split", seed, generator)
    sizes = _split_lengths(lengths, len(dataset))
    order = rng.permutation(len(dataset))
    bounds = np.cumsum([0, *sizes])
    return [Subset(dataset, order[start:stop]) for start, stop in zip(bounds[:-1], bounds[1:])]
