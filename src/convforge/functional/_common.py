"""Operand helpers shared by every family of :mod:`convforge.functional`.

They turn the ``input``/``weight``/``bias`` a caller passes (ndarrays, Python numbers or
Tensors) into Tensors, check the flags every family takes, cast through the backend's dtype
policy (:func:`_computed`) and hold the checks the losses share (element-wise weights, the
broadcast-target warning); argument normalization and shape rules live in
:mod:`convforge.spec`.
"""

from __future__ import annotations

import warnings

import numpy as np

from .. import backend
from .. import spec as sp
from ..autograd.tensor import Tensor, as_tensor

# the annotations of the public functions: what torch's signatures take
TensorLike = Tensor | np.ndarray  # also Python numbers and nested lists, converted by as_tensor
Size = int | tuple[int, ...]  # one int for every dimension, or one per dimension
Padding = int | tuple[int, ...] | tuple[tuple[int, int], ...] | str  # see functional.conv


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


def _broadcast_weight(op: str, name: str, value, x: Tensor) -> np.ndarray | None:
    """An element-wise loss weight (``weight``, ``pos_weight``) as an array in ``x``'s dtype,
    after checking that it broadcasts to ``x``'s shape; ``None`` stays ``None``."""
    array = _raw_array(value)
    if array is None:
        return None
    try:
        np.broadcast_shapes(array.shape, x.shape)
    except ValueError as e:
        raise ValueError(
            f"{op}: {name} of shape {array.shape} must broadcast to the input's shape {x.shape}"
        ) from e
    return array.astype(x.dtype, copy=False)


def _warn_if_broadcast(op: str, target_shape, input_shape, stacklevel: int = 2) -> None:
    """torch's warning when a loss's target shape differs from the input's (it broadcasts).
    ``stacklevel`` counts from the loss function that calls this, as ``warnings.warn``'s does."""
    if tuple(target_shape) != tuple(input_shape):
        warnings.warn(
            f"{op}: using a target size {tuple(target_shape)} that is different to the input size "
            f"{tuple(input_shape)}; it broadcasts, which is likely not what you want",
            UserWarning,
            stacklevel=stacklevel + 1,
        )


def _conv_operands(op: str, input, weight, bias):
    """Input, weight and bias as Tensors (their dtypes and shapes are the spec's to check)."""
    x = _tensor(op, "input", input)
    w = _tensor(op, "weight", weight)
    b = None if bias is None else _tensor(op, "bias", bias)
    return x, w, b


def _check_bias(op: str, b: Tensor | None, channels: int) -> None:
    if b is not None and b.shape != (channels,):
        raise ValueError(
            f"{op}: bias must have shape ({channels},) (one value per output channel), "
            f"but got bias of shape {b.shape}"
        )


def _check_flag(op: str, name: str, value) -> None:
    sp.check_flag(op, name, value)


def _computed(op: str, x: Tensor, *others: Tensor | None) -> tuple[Tensor, ...]:
    """``x`` and ``others`` in the dtype the backend's policy computes ``x.dtype`` in
    (float16 -> float32, differentiably; torch's CPU kernels accumulate half in float too),
    after refusing an op torch does not compute in that dtype. Cast the result back with
    ``.to(x.dtype)``."""
    backend.check_computable(op, x.dtype)
    target = backend.compute_dtype(x.dtype)
    return tuple(None if t is None else t.to(target) for t in (x, *others))


def _in_dtype_of(y: Tensor, x: Tensor) -> Tensor:
    """The result in the caller's dtype again (a no-op unless the policy cast it)."""
    return y.to(x.dtype) if np.issubdtype(y.dtype, np.floating) else y


def _batched(x: Tensor, batched: bool) -> Tensor:
    return x if batched else x.unsqueeze(0)


def _unbatched(y: Tensor, batched: bool) -> Tensor:
    return y if batched else y.squeeze(0)


def _spatial_axes(n: int) -> tuple[int, ...]:
    return tuple(range(2, 2 + n))


def in_place(x: Tensor, result_of, inplace: bool) -> Tensor:
    """``result_of(x)``, or with ``inplace`` that result written into ``x`` (``x.copy_``).

    In place, the result is computed from a clone of ``x`` when ``x`` requires grad: the
    nodes of the computation then hold the clone's memory, which the write does not touch,
    and the gradient reaches the old ``x`` through the clone (torch saves the original
    values of such in-place ops the same way).
    """
    if not inplace:
        return result_of(x)
    return x.copy_(result_of(x.clone() if x.requires_grad else x))
