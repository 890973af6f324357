"""``nn.Buffer``: mark a tensor to be registered as a buffer on assignment (torch >= 2.5)."""

from __future__ import annotations

import numpy as np

from ..autograd.tensor import Tensor
from ..backend import DEFAULT_DTYPE

__all__ = ["Buffer", "buffer_persistence"]


class Buffer:
    """``self.name = nn.Buffer(tensor, persistent=True)`` in a Module registers ``name`` as a
    buffer, as ``register_buffer(name, tensor, persistent)``. As torch's, the call returns a
    plain Tensor (carrying the mark), not an instance of this class.
    """

    def __new__(cls, data=None, *, persistent: bool = True) -> Tensor:
        if data is None:
            data = np.empty(0, dtype=DEFAULT_DTYPE)
        tensor = data.detach() if isinstance(data, Tensor) else Tensor(np.asarray(data))
        tensor._buffer_persistent = bool(persistent)  # read (and removed) by Module.__setattr__
        return tensor


def buffer_persistence(value) -> bool | None:
    """``persistent`` of a tensor made by :class:`Buffer` (the mark is removed), else None."""
    persistent = getattr(value, "_buffer_persistent", None) if isinstance(value, Tensor) else None
    if persistent is not None:
        del value._buffer_persistent
    return persistent
