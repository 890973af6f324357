"""Normalization: ``batch_norm`` (the function behind ``nn.BatchNorm1d/2d/3d``)."""

from __future__ import annotations

import numpy as np

from ..autograd.ops import nn as nn_ops
from ..autograd.tensor import Tensor
from ._common import TensorLike, _computed, _float_tensor, _in_dtype_of, _raw_array, _tensor

__all__ = ["batch_norm"]


def batch_norm(
    input: TensorLike,
    running_mean: TensorLike | None,
    running_var: TensorLike | None,
    weight: TensorLike | None = None,
    bias: TensorLike | None = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Normalize each channel (axis 1) to zero mean, unit variance, then scale and shift.

    With ``training`` the batch's statistics normalize (biased variance) and the running
    ones, when given, are updated in place: ``running = (1 - momentum) * running +
    momentum * batch`` (the unbiased variance, as torch). Otherwise the running
    statistics normalize.

    Shape: input (N, C) or (N, C, *); running_mean, running_var, weight, bias (C,).
    """
    op = "batch_norm"
    given = _float_tensor(op, "input", input)
    (x,) = _computed(op, given)  # the dtype policy: float16 computes in float32
    if x.ndim < 2:
        raise ValueError(f"{op}: input must be (N, C) or (N, C, *), but got input of shape {x.shape}")
    channels = x.shape[1]
    stats = {"running_mean": running_mean, "running_var": running_var, "weight": weight, "bias": bias}
    for name, value in stats.items():
        if value is not None and np.shape(_raw_array(value)) != (channels,):
            raise ValueError(
                f"{op}: {name} must have shape ({channels},) (one value per channel), "
                f"but got {name} of shape {np.shape(_raw_array(value))}"
            )
    count = x.array.size // max(channels, 1)
    if training and count <= 1:
        raise ValueError(
            f"{op}: expected more than 1 value per channel when training, but got input of shape {x.shape}"
        )
    if not training and (running_mean is None or running_var is None):
        raise ValueError(f"{op}: running_mean and running_var are required when training=False")
    axes = (0, *range(2, x.ndim))
    if training:
        mean, var = x.array.mean(axis=axes), x.array.var(axis=axes)
        if running_mean is not None:
            target = _raw_array(running_mean)
            target[...] = (1 - momentum) * target + momentum * mean
        if running_var is not None:
            target = _raw_array(running_var)
            target[...] = (1 - momentum) * target + momentum * var * (count / (count - 1))
    else:
        mean, var = _raw_array(running_mean), _raw_array(running_var)
    w = None if weight is None else _tensor(op, "weight", weight)
    b = None if bias is None else _tensor(op, "bias", bias)
    if given.dtype != x.dtype:
        w, b = (None if v is None else v.to(x.dtype) for v in (w, b))
    mean, var = mean.astype(x.dtype, copy=False), var.astype(x.dtype, copy=False)
    return _in_dtype_of(nn_ops.BatchNorm.apply(x, w, b, mean, var, float(eps), bool(training)), given)
