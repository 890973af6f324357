"""Datasets as in ``torch.utils.data``: Dataset, IterableDataset, TensorDataset, Subset,
ConcatDataset, ChainDataset and random_split.

A map-style dataset is anything with ``__len__`` and ``__getitem__(i)`` returning one sample;
an iterable-style one (:class:`IterableDataset`) yields its samples from ``__iter__``. For
TensorDatasets (and Subsets of them) :func:`batch_fetcher` fetches a whole batch in one
fancy-indexing step, which :class:`~convforge.data.DataLoader` uses instead of collating
samples one by one.
"""

from __future__ import annotations

import bisect
import math
import numbers
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence

import numpy as np

from .. import random as cf_random
from ..autograd import Tensor


class Dataset:
    """Base class of map-style datasets: subclasses define ``__getitem__`` and ``__len__``.

    ``a + b`` is ``ConcatDataset([a, b])``, as in torch.
    """

    def __getitem__(self, index: int):
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__")

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must implement __len__")

    def __add__(self, other: Dataset) -> ConcatDataset:
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """Base class of iterable-style datasets: subclasses define ``__iter__`` (a stream of samples).

    A DataLoader with workers iterates one copy per worker, as torch does: shard the stream
    in ``__iter__`` with :func:`~convforge.data.get_worker_info` to avoid duplicates.
    ``a + b`` is ``ChainDataset([a, b])``.
    """

    def __iter__(self) -> Iterator:
        raise NotImplementedError(f"{type(self).__name__} must implement __iter__")

    def __add__(self, other: IterableDataset) -> ChainDataset:
        return ChainDataset([self, other])


class ChainDataset(IterableDataset):
    """The samples of several iterable datasets, one after the other."""

    def __init__(self, datasets: Iterable[IterableDataset]) -> None:
        self.datasets = list(datasets)
        for dataset in self.datasets:
            if not isinstance(dataset, IterableDataset):
                raise TypeError(
                    f"ChainDataset only supports IterableDataset, but got {type(dataset).__name__}"
                )

    def __iter__(self) -> Iterator:
        for dataset in self.datasets:
            yield from dataset

    def __len__(self) -> int:
        return sum(len(d) for d in self.datasets)


class ConcatDataset(Dataset):
    """Map-style datasets joined end to end: index ``i`` runs through each in turn.

    Attributes
    ----------
    datasets : list
    cumulative_sizes : list of int
        ``cumulative_sizes[k]`` is the total length of ``datasets[: k + 1]``.
    """

    def __init__(self, datasets: Iterable[Dataset]) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("datasets should not be an empty iterable")
        for dataset in self.datasets:
            if isinstance(dataset, IterableDataset):
                raise TypeError("ConcatDataset does not support IterableDataset")
        self.cumulative_sizes = np.cumsum([len(d) for d in self.datasets]).tolist()

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, index: int):
        if index < 0:
            if -index > len(self):
                raise ValueError("absolute value of index should not exceed dataset length")
            index += len(self)
        if index >= len(self):
            raise IndexError(f"ConcatDataset: index {index} is out of range for {len(self)} samples")
        which = bisect.bisect_right(self.cumulative_sizes, index)
        start = self.cumulative_sizes[which - 1] if which else 0
        return self.datasets[which][index - start]


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


def generator_source(owner: str, seed, generator):
    """What to draw from, given ``seed=`` (a convforge extension) or torch's ``generator=``.

    A seed becomes a new :class:`~convforge.Generator` seeded with it; a generator is checked
    and kept; neither gives None: draw from convforge's default generator at the time of the
    draw, so ``cf.manual_seed`` decides, as torch's global generator does.
    """
    if seed is not None and generator is not None:
        raise ValueError(f"{owner}: give seed or generator, not both")
    if seed is not None:
        if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
            raise TypeError(f"{owner}: seed must be an int or None, but got seed={seed!r}")
        return cf_random.Generator().manual_seed(int(seed))
    cf_random.resolve_generator(generator, owner)  # the type check
    return generator


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
    for i, size in enumerate(sizes):
        if size == 0:
            warnings.warn(
                f"Length of split at index {i} is 0. This might result in an empty dataset.", stacklevel=3
            )
    return sizes


def random_split(
    dataset, lengths: Sequence[float], generator=None, *, seed: int | None = None
) -> list[Subset]:
    """Split ``dataset`` into non-overlapping random subsets.

    Parameters
    ----------
    dataset : Dataset
        The dataset to split.
    lengths : sequence of int or of float
        The sizes (summing to ``len(dataset)``) or fractions (summing to 1) of the parts.
    generator : Generator or numpy.random.Generator, optional
        Draw the permutation from it; by default from convforge's default generator
        (``cf.manual_seed``), as torch does.
    seed : int, optional
        A convforge extension: the same seed always gives the same split.

    Returns
    -------
    list of Subset
    """
    rng = cf_random.resolve_generator(generator_source("random_split", seed, generator), "random_split")
    sizes = _split_lengths(lengths, len(dataset))
    order = rng.permutation(len(dataset))
    bounds = np.cumsum([0, *sizes])
    return [Subset(dataset, order[start:stop]) for start, stop in zip(bounds[:-1], bounds[1:])]
