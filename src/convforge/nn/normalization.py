"""Batch normalization layers: BatchNorm1d/2d/3d on one ``_BatchNorm`` base."""

from __future__ import annotations

import numpy as np

from .. import functional as F
from ..autograd.tensor import Tensor
from . import init
from .conv import factory_dtype, positive_int
from .module import Module
from .parameter import Parameter

__all__ = ["BatchNorm1d", "BatchNorm2d", "BatchNorm3d"]


class _BatchNorm(Module):
    """Per-channel normalization with running statistics, as torch's ``_BatchNorm``.

    In training, the batch's mean and (biased) variance normalize, and the running
    statistics move towards the batch's (unbiased variance):
    ``running = (1 - momentum) * running + momentum * batch``, or with ``momentum=None``
    the cumulative average over ``num_batches_tracked`` batches. In eval mode the running
    statistics normalize (the batch's when ``track_running_stats=False``).
    """

    _input_ndims: tuple[int, ...] = ()

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        device=None,
        dtype=None,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__()
        op = type(self).__name__
        self.num_features = positive_int(op, "num_features", num_features)
        if not isinstance(eps, (int, float)) or eps < 0:
            raise ValueError(f"{op}: eps must be a non-negative number, but got eps={eps!r}")
        if momentum is not None and (not isinstance(momentum, (int, float)) or not 0 <= momentum <= 1):
            raise ValueError(f"{op}: momentum must be in [0, 1] or None, but got momentum={momentum!r}")
        self.eps, self.momentum = eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        dtype = factory_dtype(op, device, dtype)
        if affine:
            self.weight = Parameter(np.empty(num_features, dtype=dtype))
            if bias:
                self.bias = Parameter(np.empty(num_features, dtype=dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", Tensor(np.zeros(num_features, dtype=dtype)))
            self.register_buffer("running_var", Tensor(np.ones(num_features, dtype=dtype)))
            self.register_buffer("num_batches_tracked", Tensor(np.array(0, dtype=np.int64)))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        self.reset_parameters()

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            self.running_mean.array[...] = 0
            self.running_var.array[...] = 1
            self.num_batches_tracked.array[...] = 0

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def _check_input_dim(self, input) -> None:
        ndim = len(np.shape(input.array if isinstance(input, Tensor) else input))
        if ndim not in self._input_ndims:
            expected = " or ".join(f"{d}D" for d in self._input_ndims)
            raise ValueError(f"{type(self).__name__}: expected {expected} input, but got {ndim}D input")

    def forward(self, input) -> Tensor:
        self._check_input_dim(input)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked.array[...] += 1
            if self.momentum is None:  # cumulative moving average
                factor = 1.0 / float(self.num_batches_tracked.array)
        use_batch_stats = self.training or (self.running_mean is None and self.running_var is None)
        # the running statistics are passed when they are updated or used to normalize
        keep = not self.training or self.track_running_stats
        return F.batch_norm(
            input,
            self.running_mean if keep else None,
            self.running_var if keep else None,
            self.weight,
            self.bias,
            use_batch_stats,
            factor,
            self.eps,
        )

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
            f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}"
        )


class BatchNorm1d(_BatchNorm):
    """Batch normalization over (N, C) or (N, C, L) input, per channel C. Shape: unchanged."""

    _input_ndims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch normalization over (N, C, H, W) input, per channel C. Shape: unchanged."""

    _input_ndims = (4,)


class BatchNorm3d(_BatchNorm):
    """Batch normalization over (N, C, D, H, W) input, per channel C. Shape: unchanged."""

    _input_ndims = (5,)
