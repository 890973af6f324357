"""The affine map behind ``nn.Linear``."""

from __future__ import annotations

from .. import spec as sp
from ..autograd.ops import nn as nn_ops
from ..autograd.tensor import Tensor
from ._common import TensorLike, _check_bias, _computed, _conv_operands, _in_dtype_of

__all__ = ["linear"]


def linear(input: TensorLike, weight: TensorLike, bias: TensorLike | None = None) -> Tensor:
    """``input @ weight.T + bias``, as ``torch.nn.functional.linear``.

    Shape: input (*, in_features); weight (out_features, in_features); bias
    (out_features,); output (*, out_features).
    """
    op = "linear"
    x, w, b = _conv_operands(op, input, weight, bias)
    sp.check_operand_dtypes(op, x, w, b)
    if w.ndim != 2:
        raise ValueError(
            f"{op}: weight must be 2-D (out_features, in_features), but got weight of shape {w.shape}"
        )
    if x.ndim < 1 or x.shape[-1] != w.shape[1]:
        raise ValueError(
            f"{op}: input has {x.shape[-1] if x.ndim else 0} features (last dimension of shape "
            f"{x.shape}) but weight expects {w.shape[1]} (weight of shape {w.shape})"
        )
    _check_bias(op, b, w.shape[0])
    return _in_dtype_of(nn_ops.Linear.apply(*_computed(op, x, w, b)), x)
