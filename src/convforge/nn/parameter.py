"""Parameter: a Tensor that a Module registers as learnable."""

from __future__ import annotations

import numpy as np

from ..autograd.tensor import Tensor
from ..backend import DEFAULT_DTYPE


class Parameter(Tensor):
    """A Tensor that requires grad and that :class:`Module` registers on assignment.

    Parameters
    ----------
    data : array-like or Tensor, optional
        Initial values; an ndarray or a Tensor's array is used without copying (as
        ``torch.nn.Parameter``). None gives an empty float32 parameter.
    requires_grad : bool
        Default True.
    """

    def __init__(self, data=None, requires_grad: bool = True) -> None:
        if data is None:
            data = np.empty(0, dtype=DEFAULT_DTYPE)
        super().__init__(data, requires_grad=requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()
