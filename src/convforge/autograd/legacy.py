"""torch's legacy typed constructors: ``FloatTensor([...])``, ``LongTensor(labels)``,
``FloatTensor(2, 3)`` (a shape; torch leaves it uninitialized, here it is zeros).

They return ordinary :class:`~convforge.autograd.tensor.Tensor` objects of the named dtype;
``isinstance(t, cf.FloatTensor)`` is not supported (torch's own spelling for that is
``t.type() == 'torch.FloatTensor'``, which is).
"""

from __future__ import annotations

import numbers

import numpy as np

from .tensor import Tensor, tensor

__all__ = [
    "BoolTensor",
    "ByteTensor",
    "CharTensor",
    "DoubleTensor",
    "FloatTensor",
    "HalfTensor",
    "IntTensor",
    "LongTensor",
    "ShortTensor",
]


def _constructor(name: str, dtype):
    def make(*args) -> Tensor:
        if all(isinstance(a, numbers.Integral) and not isinstance(a, bool) for a in args):
            return Tensor(np.zeros(tuple(int(a) for a in args), dtype=dtype))  # a shape
        if len(args) != 1:
            raise TypeError(f"{name}: give one sequence of values or the sizes as ints, but got {args!r}")
        return tensor(args[0], dtype=dtype)

    make.__name__ = make.__qualname__ = name
    make.__doc__ = f"A {np.dtype(dtype).name} tensor from values, or of zeros from sizes (torch.{name})."
    return make


FloatTensor = _constructor("FloatTensor", np.float32)
DoubleTensor = _constructor("DoubleTensor", np.float64)
HalfTensor = _constructor("HalfTensor", np.float16)
LongTensor = _constructor("LongTensor", np.int64)
IntTensor = _constructor("IntTensor", np.int32)
ShortTensor = _constructor("ShortTensor", np.int16)
CharTensor = _constructor("CharTensor", np.int8)
ByteTensor = _constructor("ByteTensor", np.uint8)
BoolTensor = _constructor("BoolTensor", np.bool_)
