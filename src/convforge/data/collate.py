"""Turning samples into batches, as ``torch.utils.data.default_collate`` / ``default_convert``.

The rules (torch's): Tensors, arrays and NumPy scalars are stacked along a new first axis and
keep their dtype; Python ints become int64, floats float64 and bools bool; strings stay a
list; dicts are collated key by key, namedtuples field by field, and other sequences field by
field into a list (so a ``(image, label)`` sample gives a ``[images, labels]`` batch).
"""

from __future__ import annotations

import collections.abc
import numbers
from typing import Any

import numpy as np

from ..autograd import Tensor

_UNBATCHABLE = "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; found {}"


def _is_namedtuple(value) -> bool:
    return isinstance(value, tuple) and hasattr(value, "_fields")


def _stack(samples: list) -> Tensor:
    arrays = [s.array if isinstance(s, Tensor) else np.asarray(s) for s in samples]
    if arrays[0].dtype.kind in "OSUV":
        raise TypeError(_UNBATCHABLE.format(arrays[0].dtype))
    shapes = {a.shape for a in arrays}
    if len(shapes) > 1:
        wrong = next(i for i, a in enumerate(arrays) if a.shape != arrays[0].shape)
        raise RuntimeError(
            f"stack expects each tensor to be equal size, but got {list(arrays[0].shape)} at entry 0 "
            f"and {list(arrays[wrong].shape)} at entry {wrong}"
        )
    return Tensor(np.stack(arrays))


def default_collate(batch: list) -> Any:
    """Stack a list of samples into a batch, field by field, with torch's rules (module doc).

    Parameters
    ----------
    batch : list
        Samples as a dataset returns them, all of the same structure.

    Returns
    -------
    The batch: a Tensor (shape ``(len(batch), *sample_shape)``), or a list/dict/namedtuple
    of batches.
    """
    first = batch[0]
    if isinstance(first, (Tensor, np.ndarray, np.generic)):
        return _stack(batch)
    if isinstance(first, bool):
        return Tensor(np.array(batch, dtype=bool))
    if isinstance(first, numbers.Integral):
        return Tensor(np.array(batch, dtype=np.int64))
    if isinstance(first, numbers.Real):
        return Tensor(np.array(batch, dtype=np.float64))
    if isinstance(first, (str, bytes)):
        return list(batch)
    if isinstance(first, collections.abc.Mapping):
        collated = {key: default_collate([sample[key] for sample in batch]) for key in first}
        return collated if type(first) is dict else _rebuild(type(first), collated)
    if isinstance(first, collections.abc.Sequence):
        if any(len(sample) != len(first) for sample in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        fields = [default_collate(list(field)) for field in zip(*batch)]
        return type(first)(*fields) if _is_namedtuple(first) else fields
    raise TypeError(_UNBATCHABLE.format(type(first)))


def _rebuild(mapping_type, collated: dict):
    # torch keeps the sample's mapping type when it can be built from a dict, else a dict
    try:
        return mapping_type(collated)
    except TypeError:
        return collated


def default_convert(data: Any) -> Any:
    """What a DataLoader with ``batch_size=None`` returns per sample: arrays become Tensors.

    NumPy arrays (of numbers) and NumPy scalars become Tensors of their dtype; dicts,
    namedtuples and sequences are converted element by element; anything else is returned
    unchanged.
    """
    if isinstance(data, Tensor):
        return data
    if isinstance(data, (np.ndarray, np.generic)):
        return data if data.dtype.kind in "OSUV" else Tensor(np.asarray(data))
    if isinstance(data, collections.abc.Mapping):
        converted = {key: default_convert(value) for key, value in data.items()}
        return converted if type(data) is dict else _rebuild(type(data), converted)
    if _is_namedtuple(data):
        return type(data)(*(default_convert(value) for value in data))
    if isinstance(data, tuple):
        return [default_convert(value) for value in data]
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        return [default_convert(value) for value in data]
    return data
