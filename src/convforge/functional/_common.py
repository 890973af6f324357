"""Operand helpers shared by every family of :mod:`convforge.functional`.

They turn the ``input``/``weight``/``bias`` a caller passes (ndarrays, Python numbers or
Tensors) into Tensors and check the flags every family takes; argument normalization and
shape rules live in :mod:`convforge.spec`.
"""

from __future__ import annotations

import numpy as np

from .. import spec as sp
from ..autograd.tensor import Tensor, as_tensor


def _tensor(op: str, name: str, value) -> Tensor:
    if isinstance(value, Tensor):
        return value
    if isinstance(value, (np.ndarray, list, tuple, float, int, np.generic)):
        return as_tensor(value)
    raise TypeError(
        f"{op}: {name} must be a Tensor or an ndarray, but got {name} of type {type(value).__name__}"
    )


def _float_tensor(op: str, name: str, value) -> Tensor:
    x = _tensor(op, name, value)
    sp.check_dtype(op, name, x.dtype)
    return x


def _raw_array(value) -> np.ndarray | None:
    if value is None:
        return None
    return value.array if isinstance(value, Tensor) else np.asarray(value)


def _conv_operands(op: str, input, weight, bias):
    x = _tensor(op, "input", input)
    w = _tensor(op, "weight", weight)
    b = None if bias is None else _tensor(op, "bias", bias)
    sp.check_dtype(op, "input", x.dtype)
    sp.check_dtype(op, "weight", w.dtype)
    if w.dtype != x.dtype:
        raise TypeError(
            f"{op}: input and weight must have the same dtype, but got input {x.dtype} and weight {w.dtype}"
        )
    if b is not None and b.dtype != x.dtype:
        raise TypeError(f"{op}: bias must have the input's dtype {x.dtype}, but got bias {b.dtype}")
    return x, w, b


def _check_bias(op: str, b: Tensor | None, channels: int) -> None:
    if b is not None and b.shape != (channels,):
        raise ValueError(
            f"{op}: bias must have shape ({channels},) (one value per output channel), "
            f"but got bias of shape {b.shape}"
        )


def _check_flag(op: str, name: str, value) -> None:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{op}: {name} must be a bool, but got {name}={value!r}")


def _batched(x: Tensor, batched: bool) -> Tensor:
    return x if batched else x.unsqueeze(0)


def _unbatched(y: Tensor, batched: bool) -> Tensor:
    return y if batched else y.squeeze(0)


def _spatial_axes(n: int) -> tuple[int, ...]:
    return tuple(range(2, 2 + n))
