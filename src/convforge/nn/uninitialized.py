"""UninitializedParameter and UninitializedBuffer: placeholders of lazy layers, as torch's.

A lazy layer (``LazyLinear``, ``LazyConv2d``, ...) does not know its input size until it
sees its first input, so its weights start as placeholders with a dtype but no shape. An
optimizer may already hold them (torch allows it): :meth:`materialize` gives the same object
its shape and turns it into a plain :class:`Parameter` (or buffer Tensor), so every holder
sees the real weight. Asking a placeholder for its shape or values is an error, as in torch.
"""

from __future__ import annotations

import numpy as np

from ..autograd.tensor import Tensor
from ..backend import DEFAULT_DTYPE
from ..device import check_available
from .parameter import Parameter

__all__ = ["UninitializedBuffer", "UninitializedParameter", "is_lazy"]

_SHAPE_ERROR = (
    "Can't access the shape of an uninitialized parameter or buffer. Call `forward` (or "
    "`load_state_dict`) to initialize the parameters of a lazy module before accessing their attributes."
)


class UninitializedTensorMixin:
    """Shared by the placeholders: a dtype, no shape, :meth:`materialize` to become real."""

    cls_to_become: type = Tensor

    def materialize(self, shape, device=None, dtype=None) -> None:
        """Give the placeholder ``shape`` (uninitialized values) and make it a ``cls_to_become``."""
        if device is not None:
            check_available(device, "materialize")
        dtype = np.dtype(self.array.dtype if dtype is None else dtype)
        self.array = np.empty(tuple(int(s) for s in shape), dtype=dtype)
        self.__class__ = self.cls_to_become

    @property
    def shape(self):
        raise RuntimeError(_SHAPE_ERROR)

    @property
    def ndim(self):
        raise RuntimeError(_SHAPE_ERROR)

    def size(self, dim=None):
        raise RuntimeError(_SHAPE_ERROR)

    def numel(self) -> int:
        _refuse("numel")

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"


def _refuse(name: str):
    raise ValueError(
        f"Attempted to use an uninitialized parameter in {name}. When using lazy modules, call `forward` "
        "with a dummy batch to initialize the parameters first"
    )


def _refusing(name: str):
    def method(self, *args, **kwargs):
        _refuse(name)

    method.__name__ = name
    return method


# arithmetic and conversions on a placeholder would silently work on its empty array: refused, as torch
for _name in ("__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__", "__truediv__", "__rtruediv__",
              "__matmul__", "__rmatmul__", "__pow__", "__neg__", "__array__", "numpy", "item", "tolist", "sum",
              "mean", "reshape", "view", "t", "__getitem__", "__len__", "__iter__"):  # fmt: skip
    setattr(UninitializedTensorMixin, _name, _refusing(_name))


def _placeholder(dtype) -> np.ndarray:
    return np.empty(0, dtype=np.dtype(DEFAULT_DTYPE if dtype is None else dtype))


class UninitializedParameter(UninitializedTensorMixin, Parameter):
    """A parameter whose shape is not known yet; becomes a :class:`Parameter` on ``materialize``."""

    cls_to_become = Parameter

    def __init__(self, requires_grad: bool = True, device=None, dtype=None) -> None:
        if device is not None:
            check_available(device, "UninitializedParameter")
        super().__init__(_placeholder(dtype), requires_grad=requires_grad)


class UninitializedBuffer(UninitializedTensorMixin, Tensor):
    """A buffer whose shape is not known yet; becomes a Tensor on ``materialize``."""

    cls_to_become = Tensor

    def __init__(self, requires_grad: bool = False, device=None, dtype=None) -> None:
        if device is not None:
            check_available(device, "UninitializedBuffer")
        super().__init__(_placeholder(dtype), requires_grad=requires_grad)


def is_lazy(value) -> bool:
    """True for a placeholder that has not been materialized (torch's ``nn.parameter.is_lazy``)."""
    return isinstance(value, UninitializedTensorMixin)
