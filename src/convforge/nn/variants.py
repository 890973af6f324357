"""The convolution variants of the seeds as modules, composed from Conv2d and core ops.

No variant has a kernel of its own; each is a few standard convolutions (grouped,
1x1, k x 1, 1 x k) or, for dynamic convolution, one grouped convolution with
per-sample weights. Parameter counts (no biases; ``C_in``, ``C_out`` channels, ``k x k``
kernel):

============================  ===================================================
standard ``Conv2d``           ``C_in * C_out * k * k``
grouped (``groups=g``)        ``C_in * C_out * k * k / g``
depthwise separable           ``C_in * k * k + C_in * C_out`` (depth multiplier 1)
spatially separable           ``C_in * C_out * k + C_out * k``; ``k + k`` for one channel
flattened                     ``C_in * C_out + 2 * C_out * k``
dynamic (K kernels)           ``K * C_in * C_out * k * k / g + C_in * K + K`` (attention)
============================  ===================================================
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from .. import functional as F
from .. import spec as sp
from ..autograd.tensor import Tensor
from ..functional.conv import conv_nd
from . import init
from .conv import (
    Conv2d,
    add_weight_and_bias,
    conv_channels,
    conv_extra_repr,
    factory_dtype,
    module_padding,
    positive_int,
)
from .linear import Linear
from .module import Module

__all__ = [
    "ChannelShuffle",
    "DepthwiseSeparableConv2d",
    "DynamicConv2d",
    "FlattenedConv2d",
    "SpatiallySeparableConv2d",
    "separable_factors",
]


def _pair(op: str, name: str, value, minimum: int) -> tuple[int, int]:
    return sp.ntuple(value, 2, name, op, minimum=minimum)  # type: ignore[return-value]


def _axis_padding(op: str, padding) -> tuple:
    """Padding of the (k x 1) and (1 x k) steps: rows only, then columns only."""
    if isinstance(padding, str):
        if padding not in ("same", "valid"):
            raise ValueError(
                f"{op}: padding must be 'same', 'valid', an int or a pair, but got padding={padding!r}"
            )
        return padding, padding
    ph, pw = _pair(op, "padding", padding, 0)
    return (ph, 0), (0, pw)


def _axis_steps(op: str, kernel_size, stride, padding, dilation=1) -> tuple[dict, dict]:
    """A k x k convolution's sizes split into the Conv2d arguments of a (kH x 1) step over the
    rows and a (1 x kW) step over the columns."""
    kh, kw = _pair(op, "kernel_size", kernel_size, 1)
    sh, sw = _pair(op, "stride", stride, 1)
    dh, dw = _pair(op, "dilation", dilation, 1)
    pad_rows, pad_cols = _axis_padding(op, padding)
    rows = {"kernel_size": (kh, 1), "stride": (sh, 1), "padding": pad_rows, "dilation": (dh, 1)}
    columns = {"kernel_size": (1, kw), "stride": (1, sw), "padding": pad_cols, "dilation": (1, dw)}
    return rows, columns


class DepthwiseSeparableConv2d(Module):
    """Depthwise convolution (one k x k filter per input channel, ``groups=C_in``) then a
    1 x 1 pointwise convolution mixing the channels (MobileNet).

    Parameters: ``C_in*m*k*k + C_in*m*C_out`` weights (+ ``C_in*m + C_out`` biases) with
    depth multiplier ``m``, against ``C_in*C_out*k*k`` for a standard convolution.

    Shape: (N, C_in, H, W) -> (N, C_out, H_out, W_out), sizes as Conv2d with the same
    kernel_size, stride and padding.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=0,
        depth_multiplier: int = 1,
        bias: bool = True,
    ) -> None:
        super().__init__()
        op = type(self).__name__
        in_channels = positive_int(op, "in_channels", in_channels)
        positive_int(op, "out_channels", out_channels)
        multiplier = positive_int(op, "depth_multiplier", depth_multiplier)
        mid = in_channels * multiplier
        self.depthwise = Conv2d(in_channels, mid, kernel_size, stride, padding, groups=in_channels, bias=bias)
        self.pointwise = Conv2d(mid, out_channels, 1, bias=bias)

    def forward(self, input) -> Tensor:
        return self.pointwise(self.depthwise(input))


def separable_factors(kernel, rtol: float = 1e-6) -> tuple[np.ndarray, np.ndarray]:
    """Factor a rank-1 2-D kernel as ``column[:, None] * row[None, :]`` by SVD.

    ``kernel = U S V^T``; it is separable when every singular value but the first
    vanishes, and then ``column = sqrt(s_1) u_1``, ``row = sqrt(s_1) v_1`` (signs chosen
    so the column's largest entry is positive). Sobel's x kernel gives multiples of
    ``[1, 2, 1]`` and ``[-1, 0, 1]``.

    Raises
    ------
    ValueError
        If ``s_2 / s_1 > rtol``: the message names this residual.
    """
    op = "separable_factors"
    k = np.asarray(kernel.array if isinstance(kernel, Tensor) else kernel, dtype=np.float64)
    if k.ndim != 2 or k.size == 0:
        raise ValueError(f"{op}: kernel must be a non-empty 2-D array, but got kernel of shape {k.shape}")
    if not np.isfinite(k).all():
        raise ValueError(f"{op}: kernel must be finite, but it holds inf or nan")
    u, s, vt = np.linalg.svd(k)
    if s[0] == 0:
        return np.zeros(k.shape[0]), np.zeros(k.shape[1])
    residual = s[1] / s[0] if len(s) > 1 else 0.0
    if residual > rtol:
        raise ValueError(
            f"{op}: the {k.shape[0]}x{k.shape[1]} kernel is not separable (rank > 1): its second "
            f"singular value is {residual:.3g} of the first (residual {residual:.3g} > rtol={rtol:g}); "
            "a separable kernel is the outer product of a column and a row"
        )
    column, row = u[:, 0] * math.sqrt(s[0]), vt[0] * math.sqrt(s[0])
    if column[np.argmax(np.abs(column))] < 0:
        column, row = -column, -row
    return column, row


class SpatiallySeparableConv2d(Module):
    """A k x k convolution as a (kH x 1) convolution then a (1 x kW) depthwise one.

    The output channel ``o`` sees, from input channel ``i``, the rank-1 kernel
    ``vertical[o, i] (outer) horizontal[o]``; for one channel that is any separable
    kernel, with ``kH + kW`` weights instead of ``kH * kW``. Stride, padding and dilation
    apply to rows in the first step and to columns in the second, so the result equals
    Conv2d with the full kernel. A bias, if any, is added once, after the second step.

    Shape: (N, C_in, H, W) -> (N, C_out, H_out, W_out), sizes as Conv2d.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=0,
        dilation=1,
        bias: bool = True,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        op = type(self).__name__
        rows, columns = _axis_steps(op, kernel_size, stride, padding, dilation)
        out_channels = positive_int(op, "out_channels", out_channels)
        factory = {"device": device, "dtype": dtype}
        self.vertical = Conv2d(in_channels, out_channels, **rows, bias=False, **factory)
        self.horizontal = Conv2d(
            out_channels, out_channels, **columns, groups=out_channels, bias=bias, **factory
        )

    @classmethod
    def from_kernel(
        cls, kernel, stride=1, padding=0, dilation=1, rtol: float = 1e-6, dtype=None
    ) -> SpatiallySeparableConv2d:
        """The one-channel layer computing ``conv2d(x, kernel)`` for a separable 2-D kernel.

        Raises ``ValueError`` naming the residual (second over first singular value) when
        the kernel is not rank 1; see :func:`separable_factors`.
        """
        column, row = separable_factors(kernel, rtol)
        layer = cls(1, 1, (len(column), len(row)), stride, padding, dilation, bias=False, dtype=dtype)
        layer.vertical.weight.array[...] = column.reshape(1, 1, -1, 1)
        layer.horizontal.weight.array[...] = row.reshape(1, 1, 1, -1)
        return layer

    def full_kernel(self) -> np.ndarray:
        """The equivalent Conv2d weight, shape (C_out, C_in, kH, kW)."""
        vertical = self.vertical.weight.array[..., 0]  # (C_out, C_in, kH)
        horizontal = self.horizontal.weight.array[:, 0, 0, :]  # (C_out, kW)
        return vertical[..., :, None] * horizontal[:, None, None, :]

    def forward(self, input) -> Tensor:
        return self.horizontal(self.vertical(input))


class FlattenedConv2d(Module):
    """Flattened convolution (Jin et al., 2014): a 1 x 1 channel filter, then a (kH x 1)
    and a (1 x kW) depthwise filter, so each output channel's 3-D filter is the outer
    product of a channel, a column and a row vector.

    Parameters: ``C_in*C_out + C_out*(kH + kW)`` (+ ``C_out`` bias), against
    ``C_in*C_out*kH*kW`` for Conv2d.

    Shape: (N, C_in, H, W) -> (N, C_out, H_out, W_out), sizes as Conv2d.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=0,
        bias: bool = True,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        op = type(self).__name__
        rows, columns = _axis_steps(op, kernel_size, stride, padding)
        out_channels = positive_int(op, "out_channels", out_channels)
        factory = {"device": device, "dtype": dtype}
        self.channel = Conv2d(in_channels, out_channels, 1, bias=False, **factory)
        depthwise = {"groups": out_channels, **factory}
        self.vertical = Conv2d(out_channels, out_channels, **rows, bias=False, **depthwise)
        self.horizontal = Conv2d(out_channels, out_channels, **columns, bias=bias, **depthwise)

    def full_kernel(self) -> np.ndarray:
        """The equivalent Conv2d weight, shape (C_out, C_in, kH, kW)."""
        channel = self.channel.weight.array[:, :, 0, 0]  # (C_out, C_in)
        column = self.vertical.weight.array[:, 0, :, 0]  # (C_out, kH)
        row = self.horizontal.weight.array[:, 0, 0, :]  # (C_out, kW)
        return channel[:, :, None, None] * column[:, None, :, None] * row[:, None, None, :]

    def forward(self, input) -> Tensor:
        return self.horizontal(self.vertical(self.channel(input)))


class DynamicConv2d(Module):
    """Dynamic convolution (Chen et al., 2020): an input-conditioned mixture of K kernels.

    ``attention = softmax(Linear(global_avg_pool(x)) / temperature)`` gives each sample
    ``n`` weights ``pi[n, k]``; its kernel is ``sum_k pi[n, k] W_k`` (and bias likewise).
    The N per-sample convolutions run as one grouped convolution: the batch is folded
    into the channels, ``(1, N*C_in, H, W)`` with ``groups = N*groups``.

    Shape: (N, C_in, H, W) -> (N, C_out, H_out, W_out), sizes as Conv2d; weight
    (K, C_out, C_in/groups, kH, kW); bias (K, C_out).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=0,
        dilation=1,
        groups: int = 1,
        bias: bool = True,
        num_kernels: int = 4,
        temperature: float = 1.0,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        op = type(self).__name__
        self.in_channels, self.out_channels, self.groups = conv_channels(
            op, in_channels, out_channels, groups
        )
        self.num_kernels = positive_int(op, "num_kernels", num_kernels)
        if not isinstance(temperature, (int, float)) or isinstance(temperature, bool) or temperature <= 0:
            raise ValueError(
                f"{op}: temperature must be a positive number, but got temperature={temperature!r}"
            )
        # the per-sample convolution's arguments, parsed once as Conv2d's are
        self._args = sp.ConvArgs.parse(
            op, 2, stride=stride, padding=padding, dilation=dilation, groups=groups
        )
        self.kernel_size = _pair(op, "kernel_size", kernel_size, 1)
        self.stride, self.dilation = self._args.stride, self._args.dilation
        self.padding = module_padding(op, padding, 2, transposed=False)
        self.temperature = float(temperature)
        dtype = factory_dtype(op, device, dtype)
        shape = (num_kernels, out_channels, in_channels // groups, *self.kernel_size)
        add_weight_and_bias(self, shape, (num_kernels, out_channels), bias, dtype)
        self.attention = Linear(in_channels, num_kernels, dtype=dtype)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Each of the K kernels as a Conv2d's weight and bias."""
        fan_in = (self.in_channels // self.groups) * math.prod(self.kernel_size)
        for k in range(self.num_kernels):
            init.kaiming_uniform_(self.weight.array[k], a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(fan_in)
            init.uniform_(self.bias, -bound, bound)

    def attention_weights(self, x: Tensor) -> Tensor:
        """``pi``, shape (N, K): softmax over the K kernels for each sample."""
        pooled = x.mean(dim=(2, 3))  # (N, C_in)
        return F.softmax(self.attention(pooled) / self.temperature, dim=1)

    def forward(self, input) -> Tensor:
        x = input if isinstance(input, Tensor) else Tensor(input)
        # one sample's convolution checked through the front door: dtype, batching, channels, sizes
        one_kernel = sp.Operand(self.weight.shape[1:], str(self.weight.dtype))
        spec = self._args.resolve(x, one_kernel, op=type(self).__name__)
        if not spec.batched:
            x = x.unsqueeze(0)
        n, c, h, w = x.shape
        pi = self.attention_weights(x)  # (N, K)
        kernels = self.weight.reshape(self.num_kernels, -1)  # (K, C_out*C_in/g*kH*kW)
        weight = (pi @ kernels).reshape(n * self.out_channels, c // self.groups, *self.kernel_size)
        bias = None if self.bias is None else (pi @ self.bias).reshape(n * self.out_channels)
        # (1, N*C_out, H', W') = grouped conv of (1, N*C_in, H, W), one group block per sample
        folded = replace(self._args, groups=n * self.groups)
        y = conv_nd(folded, x.reshape(1, n * c, h, w), weight, bias, op="conv2d")
        y = y.reshape(n, self.out_channels, *y.shape[2:])
        return y if spec.batched else y.squeeze(0)

    def extra_repr(self) -> str:
        return conv_extra_repr(self, 2) + f", num_kernels={self.num_kernels}, temperature={self.temperature}"


class ChannelShuffle(Module):
    """ShuffleNet's channel shuffle: interleave the channels of ``groups`` groups.

    Shape: (N, C, *) -> (N, C, *); channel ``g*(C/groups) + i`` moves to ``i*groups + g``.
    """

    def __init__(self, groups: int) -> None:
        super().__init__()
        self.groups = positive_int("ChannelShuffle", "groups", groups)

    def forward(self, input) -> Tensor:
        return F.channel_shuffle(input, self.groups)

    def extra_repr(self) -> str:
        return f"groups={self.groups}"
