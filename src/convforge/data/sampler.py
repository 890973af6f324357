"""Samplers as in ``torch.utils.data.sampler``: which indices a DataLoader visits, in what order.

A sampler is an iterable of dataset indices (a :class:`BatchSampler` one of lists of indices).
The random samplers draw, at each ``iter``, from their ``generator`` or, without one, from
convforge's default generator, so ``cf.manual_seed(n)`` fixes the order of every epoch.
The error messages are torch's.
"""

from __future__ import annotations

import itertools
import numbers
from collections.abc import Iterable, Iterator, Sequence, Sized

import numpy as np

from .. import random as cf_random


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


class Sampler:
    """Base class: subclasses define ``__iter__`` (indices) and usually ``__len__``."""

    def __init__(self, data_source: Sized | None = None) -> None:
        # torch accepts (and ignores) a data_source here for backward compatibility
        pass

    def __iter__(self) -> Iterator:
        raise NotImplementedError(f"{type(self).__name__} must implement __iter__")


class SequentialSampler(Sampler):
    """Indices ``0, 1, ..., len(data_source) - 1``."""

    def __init__(self, data_source: Sized) -> None:
        self.data_source = data_source

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler):
    """Indices in a random order (a new one every ``iter``), or drawn with replacement.

    Parameters
    ----------
    data_source : Sized
        The dataset.
    replacement : bool
        Draw ``num_samples`` indices independently instead of permuting.
    num_samples : int, optional
        How many indices per epoch; default ``len(data_source)``. Without replacement a
        larger number repeats whole permutations, then part of one.
    generator : Generator or numpy.random.Generator, optional
        Draw from this instead of the default generator.
    """

    def __init__(
        self,
        data_source: Sized,
        replacement: bool = False,
        num_samples: int | None = None,
        generator=None,
    ) -> None:
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator
        if not isinstance(replacement, bool):
            raise TypeError(f"replacement should be a boolean value, but got replacement={replacement}")
        if not _is_int(self.num_samples) or self.num_samples <= 0:
            raise ValueError(
                f"num_samples should be a positive integer value, but got num_samples={self.num_samples}"
            )
        cf_random.resolve_generator(generator, "RandomSampler")  # type check now, not at iter

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self) -> Iterator[int]:
        rng = cf_random.resolve_generator(self.generator, "RandomSampler")
        n, total = len(self.data_source), self.num_samples
        if self.replacement:
            return iter(rng.integers(0, n, size=total).tolist())
        whole, rest = divmod(total, n)
        orders = [rng.permutation(n) for _ in range(whole)] + [rng.permutation(n)[:rest]]
        return iter(np.concatenate(orders).tolist())

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given indices in a random order, a new one every ``iter``."""

    def __init__(self, indices: Sequence[int], generator=None) -> None:
        self.indices = indices
        self.generator = generator
        cf_random.resolve_generator(generator, "SubsetRandomSampler")

    def __iter__(self) -> Iterator[int]:
        rng = cf_random.resolve_generator(self.generator, "SubsetRandomSampler")
        return iter([self.indices[i] for i in rng.permutation(len(self.indices))])

    def __len__(self) -> int:
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """``num_samples`` indices of ``weights`` drawn with probabilities proportional to them.

    Parameters
    ----------
    weights : sequence of float
        Non-negative, not necessarily summing to one.
    num_samples : int
        Indices per epoch.
    replacement : bool
        Without replacement each index is drawn at most once (``num_samples`` must then not
        exceed the number of non-zero weights).
    generator : Generator or numpy.random.Generator, optional
    """

    def __init__(
        self, weights: Sequence[float], num_samples: int, replacement: bool = True, generator=None
    ) -> None:
        if not _is_int(num_samples) or num_samples <= 0:
            raise ValueError(
                f"num_samples should be a positive integer value, but got num_samples={num_samples}"
            )
        if not isinstance(replacement, bool):
            raise ValueError(f"replacement should be a boolean value, but got replacement={replacement}")
        weights_array = np.asarray(weights.array if hasattr(weights, "array") else weights, dtype=np.float64)
        if weights_array.ndim != 1:
            raise ValueError(
                f"weights should be a 1d sequence but given weights have shape {tuple(weights_array.shape)}"
            )
        if not np.all(np.isfinite(weights_array)) or (weights_array < 0).any() or weights_array.sum() <= 0:
            raise ValueError("WeightedRandomSampler: weights must be finite, non-negative and not all zero")
        if not replacement and num_samples > np.count_nonzero(weights_array):
            raise ValueError(
                f"WeightedRandomSampler: cannot draw num_samples={num_samples} without replacement "
                f"from {np.count_nonzero(weights_array)} non-zero weights"
            )
        cf_random.resolve_generator(generator, "WeightedRandomSampler")
        self.weights = weights_array
        self.num_samples = num_samples
        self.replacement = replacement
        self.generator = generator

    def __iter__(self) -> Iterator[int]:
        rng = cf_random.resolve_generator(self.generator, "WeightedRandomSampler")
        probabilities = self.weights / self.weights.sum()
        drawn = rng.choice(
            len(probabilities), size=self.num_samples, replace=self.replacement, p=probabilities
        )
        return iter(drawn.tolist())

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler):
    """Lists of ``batch_size`` consecutive indices of ``sampler`` (the last may be shorter).

    Examples
    --------
    >>> list(BatchSampler(SequentialSampler(range(10)), batch_size=3, drop_last=False))
    [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]
    """

    def __init__(self, sampler: Sampler | Iterable[int], batch_size: int, drop_last: bool) -> None:
        if not _is_int(batch_size) or batch_size <= 0:
            raise ValueError(
                f"batch_size should be a positive integer value, but got batch_size={batch_size}"
            )
        if not isinstance(drop_last, bool):
            raise ValueError(f"drop_last should be a boolean value, but got drop_last={drop_last}")
        self.sampler = sampler
        self.batch_size = int(batch_size)
        self.drop_last = drop_last

    def __iter__(self) -> Iterator[list[int]]:
        indices = iter(self.sampler)
        while batch := list(itertools.islice(indices, self.batch_size)):
            if self.drop_last and len(batch) < self.batch_size:
                return
            yield batch

    def __len__(self) -> int:
        n = len(self.sampler)  # type: ignore[arg-type]
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
