"""Normalization: ``batch_norm`` (the function behind ``nn.BatchNorm1d/2d/3d``).

The work is a few sweeps over memory (see :mod:`convforge.kernels.affine`): in eval mode
one, ``y = x * scale + shift`` with ``scale = weight / sqrt(var + eps)`` and
``shift = bias - mean * scale`` computed once per call per channel (torch's CPU kernel
folds it the same way); in training two for the statistics and one for the output, and
backward two (the per-channel sums, then the input gradient). Backward keeps ``x`` itself
(not a normalized copy) and the per-channel vectors.
"""

from __future__ import annotations

import numpy as np

from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ..kernels import affine
from ._common import TensorLike, _computed, _float_tensor, _in_dtype_of, _raw_array, _tensor

__all__ = ["batch_norm"]


class BatchNorm(Function):
    """``y = (x - mean) / sqrt(var + eps) * weight + bias`` per channel (axis 1).

    In training ``mean`` and ``var`` are the batch's, which the input gradient accounts
    for: with ``xhat`` the normalized input and means over the reduced axes,
    ``gx = weight * invstd * (g - mean(g) - xhat * mean(g * xhat))``. (The arguments are the
    ONNX exporter's, which reads them to write a BatchNormalization node.)
    """

    def forward(self, x, weight, bias, mean, var, eps, training):
        invstd = (1 / np.sqrt(var + x.dtype.type(eps))).astype(x.dtype, copy=False)
        scale = invstd if weight is None else invstd * weight
        shift = -mean * scale if bias is None else bias - mean * scale
        self.x, self.weight, self.mean, self.invstd, self.training = x, weight, mean, invstd, training
        return affine.scale_shift(x, scale, shift)

    def backward(self, g):
        x, mean, invstd = self.x, self.mean, self.invstd
        gx = gw = gb = None
        needs = self.needs_input_grad
        scale = invstd if self.weight is None else invstd * self.weight
        if self.training or needs[1] or needs[2]:
            sum_g, sum_gx = affine.grad_sums(g, x, mean)  # float64
            if needs[1]:
                gw = (sum_gx * invstd).astype(x.dtype)
            if needs[2]:
                gb = sum_g.astype(x.dtype)
        if needs[0]:
            if self.training:
                count = x.size // x.shape[1]
                a = sum_g / count
                b = sum_gx / count * invstd.astype(np.float64) ** 2
                gx = affine.train_input_grad(g, x, mean, scale, a, b)
            else:
                gx = affine.scale_shift(g, scale, None)
        return gx, gw, gb, None, None, None, None


def _check(op: str, x: Tensor, stats: dict, training: bool) -> int:
    """The count of values per channel, after torch's checks of the shapes."""
    if x.ndim < 2:
        raise ValueError(f"{op}: input must be (N, C) or (N, C, *), but got input of shape {x.shape}")
    channels = x.shape[1]
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
    if not training and (stats["running_mean"] is None or stats["running_var"] is None):
        raise ValueError(f"{op}: running_mean and running_var are required when training=False")
    return count


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
    stats = {"running_mean": running_mean, "running_var": running_var, "weight": weight, "bias": bias}
    count = _check(op, x, stats, training)
    if training:
        mean, var = affine.channel_moments(x.array)  # float64
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
    return _in_dtype_of(BatchNorm.apply(x, w, b, mean, var, float(eps), bool(training)), given)
