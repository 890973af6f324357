"""torch.nn.functional-compatible functions (also ``cf.nn.functional``).

Each function takes ndarrays or Tensors, validates its arguments through ``spec.py``
before any array work, calls one differentiable Function and returns a Tensor. Names,
signatures and defaults are torch's; convforge's extensions are keyword-only:

* ``padding_mode=`` on the conv functions ('zeros', 'reflect', 'replicate', 'circular'),
* ``flip=True`` for true (flipped-kernel) convolution instead of cross-correlation,
* ``algorithm=`` to force one algorithm of ``kernels/select.py`` ('auto' picks),
* ``output_size=`` on the transposed conv functions (as the torch modules' forward).

Padding of the conv functions may be an int, one int per dimension, ``2n`` ints in
``F.pad`` order (last dimension first: ``(left, right, top, bottom)`` in 2-D), ``n``
``(before, after)`` pairs in dimension order, ``'valid'`` or ``'same'`` (at stride > 1,
TensorFlow's SAME: ``out = ceil(in / stride)``, the odd extra pad at the end).
"""

from __future__ import annotations

import warnings

import numpy as np

from . import random as cf_random
from . import spec as sp
from .autograd.ops import conv as conv_ops
from .autograd.ops import elementwise as ew
from .autograd.ops import nn as nn_ops
from .autograd.ops import pool as pool_ops
from .autograd.ops import shape as shape_ops
from .autograd.tensor import Tensor, as_tensor
from .kernels import select

__all__ = [
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
    "adaptive_avg_pool3d",
    "adaptive_max_pool1d",
    "adaptive_max_pool2d",
    "adaptive_max_pool3d",
    "avg_pool1d",
    "avg_pool2d",
    "avg_pool3d",
    "batch_norm",
    "binary_cross_entropy_with_logits",
    "channel_shuffle",
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
    "cross_entropy",
    "dropout",
    "fold",
    "gelu",
    "leaky_relu",
    "linear",
    "log_softmax",
    "max_pool1d",
    "max_pool2d",
    "max_pool3d",
    "max_unpool1d",
    "max_unpool2d",
    "max_unpool3d",
    "mse_loss",
    "nll_loss",
    "pad",
    "relu",
    "sigmoid",
    "softmax",
    "tanh",
    "unfold",
]


# --------------------------------------------------------------------------------------
# argument helpers
# --------------------------------------------------------------------------------------
def _tensor(op: str, name: str, value) -> Tensor:
    if isinstance(value, Tensor):
        return value
    if isinstance(value, (np.ndarray, list, tuple, float, int, np.generic)):
        return as_tensor(value)
    raise TypeError(
        f"{op}: {name} must be a Tensor or an ndarray, but got {name} of type {type(value).__name__}"
    )


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


# --------------------------------------------------------------------------------------
# convolution
# --------------------------------------------------------------------------------------
def _conv(op, n, input, weight, bias, stride, padding, dilation, groups, padding_mode, flip, algorithm):
    x, w, b = _conv_operands(op, input, weight, bias)
    _check_flag(op, "flip", flip)
    batched = sp.batched_ndim(op, x.shape, n)
    in_shape = x.shape if batched else (1, *x.shape)
    spec = sp.conv_spec(op, in_shape, w.shape, n, stride, padding, dilation, groups, padding_mode)
    _check_bias(op, b, spec.out_channels)
    kernel = select.kernel_for(spec.zero_padded(), algorithm, op)
    # ---- array work from here on
    x = _batched(x, batched)
    if flip:
        w = w.flip(_spatial_axes(n))
    if spec.padding_mode != "zeros":
        mode = sp.PAD_MODES[sp.PADDING_MODES.index(spec.padding_mode)]
        x = shape_ops.Pad.apply(x, spec.padding, mode, 0.0)
        spec = spec.zero_padded()
    y = conv_ops.Conv.apply(x, w, b, spec, kernel)
    return _unbatched(y, batched)


def conv1d(
    input,
    weight,
    bias=None,
    stride=1,
    padding=0,
    dilation=1,
    groups=1,
    *,
    padding_mode="zeros",
    flip=False,
    algorithm="auto",
) -> Tensor:
    """1-D cross-correlation over an input of shape (N, C_in, L) or (C_in, L).

    Shape: weight (C_out, C_in/groups, K); output (N, C_out, L_out) with
    ``L_out = floor((L + pad_lo + pad_hi - dilation*(K-1) - 1) / stride) + 1``.
    """
    return _conv(
        "conv1d", 1, input, weight, bias, stride, padding, dilation, groups, padding_mode, flip, algorithm
    )


def conv2d(
    input,
    weight,
    bias=None,
    stride=1,
    padding=0,
    dilation=1,
    groups=1,
    *,
    padding_mode="zeros",
    flip=False,
    algorithm="auto",
) -> Tensor:
    """2-D cross-correlation over an input of shape (N, C_in, H, W) or (C_in, H, W).

    Shape: weight (C_out, C_in/groups, kH, kW); output (N, C_out, H_out, W_out) with, per
    dimension, ``out = floor((in + pad_lo + pad_hi - dilation*(k-1) - 1) / stride) + 1``.
    With ``flip=True`` the kernel is flipped first: true convolution.
    """
    return _conv(
        "conv2d", 2, input, weight, bias, stride, padding, dilation, groups, padding_mode, flip, algorithm
    )


def conv3d(
    input,
    weight,
    bias=None,
    stride=1,
    padding=0,
    dilation=1,
    groups=1,
    *,
    padding_mode="zeros",
    flip=False,
    algorithm="auto",
) -> Tensor:
    """3-D cross-correlation over an input of shape (N, C_in, D, H, W) or (C_in, D, H, W).

    Shape: weight (C_out, C_in/groups, kD, kH, kW); output size per dimension as conv2d.
    """
    return _conv(
        "conv3d", 3, input, weight, bias, stride, padding, dilation, groups, padding_mode, flip, algorithm
    )


def _conv_transpose(
    op,
    n,
    input,
    weight,
    bias,
    stride,
    padding,
    output_padding,
    groups,
    dilation,
    output_size,
    flip,
    algorithm,
):
    x, w, b = _conv_operands(op, input, weight, bias)
    _check_flag(op, "flip", flip)
    batched = sp.batched_ndim(op, x.shape, n)
    in_shape = x.shape if batched else (1, *x.shape)
    spec = sp.conv_transpose_spec(
        op, in_shape, w.shape, n, stride, padding, output_padding, groups, dilation, output_size
    )
    _check_bias(op, b, spec.in_channels)
    kernel = select.kernel_for(spec, algorithm, op)
    x = _batched(x, batched)
    if flip:
        w = w.flip(_spatial_axes(n))
    y = conv_ops.ConvTranspose.apply(x, w, b, spec, kernel)
    return _unbatched(y, batched)


def conv_transpose1d(
    input,
    weight,
    bias=None,
    stride=1,
    padding=0,
    output_padding=0,
    groups=1,
    dilation=1,
    *,
    output_size=None,
    flip=False,
    algorithm="auto",
) -> Tensor:
    """1-D transposed convolution (the input gradient of conv1d).

    Shape: input (N, C_in, L); weight (C_in, C_out/groups, K); output (N, C_out, L_out) with
    ``L_out = (L-1)*stride - 2*padding + dilation*(K-1) + output_padding + 1``.
    """
    return _conv_transpose(
        "conv_transpose1d",
        1,
        input,
        weight,
        bias,
        stride,
        padding,
        output_padding,
        groups,
        dilation,
        output_size,
        flip,
        algorithm,
    )


def conv_transpose2d(
    input,
    weight,
    bias=None,
    stride=1,
    padding=0,
    output_padding=0,
    groups=1,
    dilation=1,
    *,
    output_size=None,
    flip=False,
    algorithm="auto",
) -> Tensor:
    """2-D transposed convolution (the input gradient of conv2d).

    Shape: input (N, C_in, H, W); weight (C_in, C_out/groups, kH, kW); per dimension
    ``out = (in-1)*stride - 2*padding + dilation*(k-1) + output_padding + 1``. A 2x2 input
    with a 3x3 kernel at stride 1 gives 4x4.
    """
    return _conv_transpose(
        "conv_transpose2d",
        2,
        input,
        weight,
        bias,
        stride,
        padding,
        output_padding,
        groups,
        dilation,
        output_size,
        flip,
        algorithm,
    )


def conv_transpose3d(
    input,
    weight,
    bias=None,
    stride=1,
    padding=0,
    output_padding=0,
    groups=1,
    dilation=1,
    *,
    output_size=None,
    flip=False,
    algorithm="auto",
) -> Tensor:
    """3-D transposed convolution (the input gradient of conv3d); sizes as conv_transpose2d."""
    return _conv_transpose(
        "conv_transpose3d",
        3,
        input,
        weight,
        bias,
        stride,
        padding,
        output_padding,
        groups,
        dilation,
        output_size,
        flip,
        algorithm,
    )


# --------------------------------------------------------------------------------------
# pooling, max-unpooling, unfold and fold
# --------------------------------------------------------------------------------------
def _pool_input(op: str, input, n: int) -> tuple[Tensor, bool, tuple[int, ...]]:
    """The input as a Tensor, whether it is batched, and its batched shape."""
    x = _tensor(op, "input", input)
    sp.check_dtype(op, "input", x.dtype)
    batched = sp.batched_ndim(op, x.shape, n)
    return x, batched, x.shape if batched else (1, *x.shape)


def _with_indices(y: Tensor, indices: np.ndarray, batched: bool, return_indices):
    """``y`` or ``(y, indices)`` as torch's max pools return them (indices an int64 Tensor)."""
    y = _unbatched(y, batched)
    if not return_indices:
        return y
    return y, Tensor(indices if batched else indices[0])


def _max_pool(op, n, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    x, batched, in_shape = _pool_input(op, input, n)
    _check_flag(op, "ceil_mode", ceil_mode)
    _check_flag(op, "return_indices", return_indices)
    spec = sp.pool_spec(op, in_shape, n, kernel_size, stride, padding, dilation, ceil_mode)
    indices: list = []
    y = pool_ops.MaxPool.apply(_batched(x, batched), spec, indices)
    return _with_indices(y, indices[0], batched, return_indices)


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """1-D max pooling over an input of shape (N, C, L) or (C, L).

    Shape: output (N, C, L_out) with
    ``L_out = floor((L + 2*padding - dilation*(kernel_size-1) - 1) / stride) + 1`` (``ceil``
    with ``ceil_mode``, less one if the last window would start in the right padding).
    ``stride`` defaults to ``kernel_size``; ``padding`` is at most half the kernel and pads
    with ``-inf``. With ``return_indices`` also the int64 flat index of each maximum in its
    (n, c) row, as ``max_unpool1d`` takes it. NaN propagates.
    """
    return _max_pool(
        "max_pool1d", 1, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices
    )


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """2-D max pooling over an input of shape (N, C, H, W) or (C, H, W).

    Shape: output (N, C, H_out, W_out), per dimension as max_pool1d. Indices are flat
    positions ``h*W + w`` in each (n, c) plane of the unpadded input.
    """
    return _max_pool(
        "max_pool2d", 2, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices
    )


def max_pool3d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """3-D max pooling over an input of shape (N, C, D, H, W) or (C, D, H, W).

    Shape: output (N, C, D_out, H_out, W_out), per dimension as max_pool1d; indices
    ``(d*H + h)*W + w``.
    """
    return _max_pool(
        "max_pool3d", 3, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices
    )


def _avg_pool(op, n, input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override):
    x, batched, in_shape = _pool_input(op, input, n)
    _check_flag(op, "ceil_mode", ceil_mode)
    _check_flag(op, "count_include_pad", count_include_pad)
    spec = sp.pool_spec(
        op,
        in_shape,
        n,
        kernel_size,
        stride,
        padding,
        1,
        ceil_mode,
        count_include_pad,
        divisor_override,
        kernel_within_input=n == 3,  # torch's avg_pool3d (only) refuses inputs smaller than the kernel
    )
    return _unbatched(pool_ops.AvgPool.apply(_batched(x, batched), spec), batched)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    """1-D average pooling over an input of shape (N, C, L) or (C, L).

    Shape: output (N, C, L_out), ``L_out`` as max_pool1d with dilation 1. The divisor is the
    window clipped to the padded input, or to the input alone if not ``count_include_pad``.
    """
    return _avg_pool("avg_pool1d", 1, input, kernel_size, stride, padding, ceil_mode, count_include_pad, None)


def avg_pool2d(
    input,
    kernel_size,
    stride=None,
    padding=0,
    ceil_mode=False,
    count_include_pad=True,
    divisor_override=None,
):
    """2-D average pooling over an input of shape (N, C, H, W) or (C, H, W).

    Shape: output (N, C, H_out, W_out), per dimension as avg_pool1d. ``divisor_override``
    (a non-zero int) replaces every divisor.
    """
    return _avg_pool(
        "avg_pool2d", 2, input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override
    )


def avg_pool3d(
    input,
    kernel_size,
    stride=None,
    padding=0,
    ceil_mode=False,
    count_include_pad=True,
    divisor_override=None,
):
    """3-D average pooling over an input of shape (N, C, D, H, W) or (C, D, H, W).

    Shape: output (N, C, D_out, H_out, W_out), per dimension as avg_pool1d.
    """
    return _avg_pool(
        "avg_pool3d", 3, input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override
    )


def _adaptive_input(op, n, input, output_size, spatial_nonempty_only: bool):
    x, batched, in_shape = _pool_input(op, input, n)
    sp.check_nonempty(op, x.shape, first=x.ndim - n if spatial_nonempty_only else 1)
    return _batched(x, batched), batched, sp.adaptive_output_size(op, output_size, in_shape[2:])


def _adaptive_avg_pool(op, n, input, output_size):
    # torch's 1-D and 2-D versions check only the spatial sizes (empty channels pool to empty
    # channels), its 3-D version the input as given from dimension 1 on
    x, batched, out_spatial = _adaptive_input(op, n, input, output_size, spatial_nonempty_only=n < 3)
    return _unbatched(pool_ops.AdaptiveAvgPool.apply(x, out_spatial), batched)


def _adaptive_max_pool(op, n, input, output_size, return_indices):
    _check_flag(op, "return_indices", return_indices)
    # torch checks the input as given from dimension 1 on (an unbatched input's channels
    # may be empty)
    x, batched, out_spatial = _adaptive_input(op, n, input, output_size, spatial_nonempty_only=False)
    indices: list = []
    y = pool_ops.AdaptiveMaxPool.apply(x, out_spatial, indices)
    return _with_indices(y, indices[0], batched, return_indices)


def adaptive_avg_pool1d(input, output_size) -> Tensor:
    """Average over ``output_size`` windows covering an input of shape (N, C, L) or (C, L).

    Shape: output (N, C, output_size); window ``i`` is
    ``[floor(i*L/out), ceil((i+1)*L/out))``.
    """
    return _adaptive_avg_pool("adaptive_avg_pool1d", 1, input, output_size)


def adaptive_avg_pool2d(input, output_size) -> Tensor:
    """Adaptive average pooling over (N, C, H, W) or (C, H, W).

    Shape: output (N, C, *output_size); windows per dimension as adaptive_avg_pool1d. An
    entry ``None`` keeps that input size.
    """
    return _adaptive_avg_pool("adaptive_avg_pool2d", 2, input, output_size)


def adaptive_avg_pool3d(input, output_size) -> Tensor:
    """Adaptive average pooling over (N, C, D, H, W) or (C, D, H, W).

    Shape: output (N, C, *output_size); windows per dimension as adaptive_avg_pool1d.
    """
    return _adaptive_avg_pool("adaptive_avg_pool3d", 3, input, output_size)


def adaptive_max_pool1d(input, output_size, return_indices=False):
    """Max over ``output_size`` windows covering an input of shape (N, C, L) or (C, L).

    Shape: output (N, C, output_size), windows as adaptive_avg_pool1d; indices as max_pool1d.
    """
    return _adaptive_max_pool("adaptive_max_pool1d", 1, input, output_size, return_indices)


def adaptive_max_pool2d(input, output_size, return_indices=False):
    """Adaptive max pooling over (N, C, H, W) or (C, H, W).

    Shape: output (N, C, *output_size); indices as max_pool2d.
    """
    return _adaptive_max_pool("adaptive_max_pool2d", 2, input, output_size, return_indices)


def adaptive_max_pool3d(input, output_size, return_indices=False):
    """Adaptive max pooling over (N, C, D, H, W) or (C, D, H, W).

    Shape: output (N, C, *output_size); indices as max_pool3d.
    """
    return _adaptive_max_pool("adaptive_max_pool3d", 3, input, output_size, return_indices)


def _max_unpool(op, n, input, indices, kernel_size, stride, padding, output_size):
    x, batched, in_shape = _pool_input(op, input, n)
    if isinstance(indices, Tensor):
        indices = indices.data
    if not isinstance(indices, np.ndarray):
        raise TypeError(
            f"{op}: indices must be a Tensor or an ndarray, but got indices of type {type(indices).__name__}"
        )
    if indices.dtype != np.int64:
        raise TypeError(f"{op}: indices must be int64, but got indices of dtype {indices.dtype}")
    sp.check_nonempty(op, x.shape)  # as torch: even an unbatched input's channels may be empty
    indices_shape = indices.shape if batched else (1, *indices.shape)
    out_spatial = sp.unpool_output_size(
        op, in_shape, indices_shape, n, kernel_size, stride, padding, output_size
    )
    if indices.size:
        sp.check_unpool_indices(op, int(indices.min()), int(indices.max()), out_spatial)
    y = pool_ops.MaxUnpool.apply(_batched(x, batched), indices.reshape(indices_shape), out_spatial)
    return _unbatched(y, batched)


def max_unpool1d(input, indices, kernel_size, stride=None, padding=0, output_size=None) -> Tensor:
    """Partial inverse of max_pool1d: values go to ``indices``, every other cell is 0.

    Shape: input, indices (N, C, L) or (C, L); output (N, C, L_out) with
    ``L_out = (L - 1)*stride - 2*padding + kernel_size`` unless ``output_size`` (1 or 3
    entries, strictly within ``stride`` of it) says otherwise.
    """
    return _max_unpool("max_unpool1d", 1, input, indices, kernel_size, stride, padding, output_size)


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None) -> Tensor:
    """Partial inverse of max_pool2d. Shape: (N, C, H, W) or (C, H, W) -> sizes as max_unpool1d."""
    return _max_unpool("max_unpool2d", 2, input, indices, kernel_size, stride, padding, output_size)


def max_unpool3d(input, indices, kernel_size, stride=None, padding=0, output_size=None) -> Tensor:
    """Partial inverse of max_pool3d. Shape: (N, C, D, H, W) or (C, D, H, W) -> as max_unpool1d."""
    return _max_unpool("max_unpool3d", 3, input, indices, kernel_size, stride, padding, output_size)


def unfold(input, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """Extract sliding blocks (im2col): torch's layout, any number of spatial dimensions.

    Shape: input (N, C, *spatial) or (C, *spatial) -> (N, C*prod(kernel_size), L), ``L`` the
    number of blocks, ``prod_d floor((in_d + 2*padding_d - dilation_d*(k_d-1) - 1)/stride_d + 1)``;
    rows are channel-major then kernel taps in C order. The spatial rank is the length of
    ``kernel_size`` if it is a tuple, else 2 (torch supports only that case).
    """
    op = "unfold"
    n = sp.fold_ndim(kernel_size)
    x, batched, in_shape = _pool_input(op, input, n)
    spec = sp.unfold_spec(op, in_shape, n, kernel_size, dilation, padding, stride)
    return _unbatched(pool_ops.Unfold.apply(_batched(x, batched), spec), batched)


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """Sum sliding blocks into an array (col2im), the adjoint of :func:`unfold`.

    Shape: input (N, C*prod(kernel_size), L) or (C*prod(kernel_size), L) -> (N, C,
    *output_size); ``L`` must be unfold's block count for ``output_size``. The spatial rank is
    the length of ``output_size`` (or of ``kernel_size``) if a tuple, else 2.
    """
    op = "fold"
    x, batched, in_shape = _pool_input(op, input, 1)  # (N, C*K, L) like a 1-D signal
    spec = sp.fold_spec(op, in_shape, output_size, kernel_size, dilation, padding, stride)
    return _unbatched(pool_ops.Fold.apply(_batched(x, batched), spec), batched)


# --------------------------------------------------------------------------------------
# padding, activation, channel shuffle
# --------------------------------------------------------------------------------------
def pad(input, pad, mode: str = "constant", value: float | None = None) -> Tensor:
    """Pad the last ``len(pad)//2`` dimensions, ``pad`` in torch order (last dim first).

    ``mode`` is 'constant' (negative pads crop), 'reflect', 'replicate' or 'circular'.
    """
    op = "pad"
    x = _tensor(op, "input", input)
    if not isinstance(pad, (tuple, list)) or not all(sp._is_int(p) for p in pad):
        raise TypeError(f"{op}: pad must be a tuple of ints, but got pad={pad!r}")
    if len(pad) % 2 or len(pad) // 2 > x.ndim:
        raise ValueError(
            f"{op}: pad must have an even length of at most 2*input.ndim={2 * x.ndim}, but got pad={pad!r}"
        )
    if mode not in sp.PAD_MODES:
        raise ValueError(
            f"{op}: mode must be one of {', '.join(map(repr, sp.PAD_MODES))}, but got mode={mode!r}"
        )
    n = len(pad) // 2
    pads = sp.pad_pairs_from_torch_order(pad, n)
    if mode != "constant":
        if value not in (None, 0):
            raise ValueError(f"{op}: value is only meaningful with mode='constant', but got value={value!r}")
        sp.check_nonnegative_pads(pads, "pad", pad, op)
        sp.check_pad_fits(op, mode, pads, x.shape[x.ndim - n :])
    else:
        for dim, ((lo, hi), size) in enumerate(zip(pads, x.shape[x.ndim - n :])):
            if size + lo + hi < 0:
                raise ValueError(
                    f"{op}: pad {pad!r} crops more than the size {size} of dimension {x.ndim - n + dim}"
                )
    return shape_ops.Pad.apply(x, pads, mode, 0.0 if value is None else value)


def relu(input, inplace: bool = False) -> Tensor:
    """max(0, x) elementwise (``inplace`` is accepted for compatibility; never in place)."""
    return ew.ReLU.apply(_tensor("relu", "input", input))


def channel_shuffle(input, groups: int) -> Tensor:
    """ShuffleNet's channel shuffle: view C as (groups, C/groups), transpose, flatten.

    Shape: (N, C, *) -> (N, C, *); channel ``g*(C/groups) + i`` moves to ``i*groups + g``.
    """
    op = "channel_shuffle"
    x = _tensor(op, "input", input)
    if not sp._is_int(groups):
        raise TypeError(f"{op}: groups must be an int, but got groups={groups!r}")
    if x.ndim < 3:
        raise ValueError(f"{op}: input must be at least 3-D (N, C, *), but got shape {x.shape}")
    if groups < 1 or x.shape[1] % groups:
        raise ValueError(
            f"{op}: groups must be positive and divide the {x.shape[1]} channels, but got groups={groups}"
        )
    n, c, rest = x.shape[0], x.shape[1], x.shape[2:]
    y = x.reshape(n, groups, c // groups, *rest).transpose(1, 2)
    return y.reshape(n, c, *rest)


# --------------------------------------------------------------------------------------
# linear, activations, softmax, dropout, batch norm (the functions behind the nn layers)
# --------------------------------------------------------------------------------------
def _float_tensor(op: str, name: str, value) -> Tensor:
    x = _tensor(op, name, value)
    sp.check_dtype(op, name, x.dtype)
    return x


def _raw_array(value) -> np.ndarray | None:
    if value is None:
        return None
    return value.data if isinstance(value, Tensor) else np.asarray(value)


def linear(input, weight, bias=None) -> Tensor:
    """``input @ weight.T + bias``, as ``torch.nn.functional.linear``.

    Shape: input (*, in_features); weight (out_features, in_features); bias
    (out_features,); output (*, out_features).
    """
    op = "linear"
    x, w, b = _conv_operands(op, input, weight, bias)
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
    return nn_ops.Linear.apply(x, w, b)


def leaky_relu(input, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """``x`` where positive, else ``negative_slope * x`` (never in place)."""
    if not isinstance(negative_slope, (int, float)) or isinstance(negative_slope, bool):
        raise TypeError(
            f"leaky_relu: negative_slope must be a number, but got negative_slope={negative_slope!r}"
        )
    return nn_ops.LeakyReLU.apply(_float_tensor("leaky_relu", "input", input), float(negative_slope))


def gelu(input, approximate: str = "none") -> Tensor:
    """``x * Phi(x)`` with the normal CDF ``Phi`` (``approximate='tanh'``: its tanh form)."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', but got approximate={approximate!r}")
    return nn_ops.GELU.apply(_float_tensor("gelu", "input", input), approximate)


def sigmoid(input) -> Tensor:
    """``1 / (1 + exp(-x))``, computed without overflow."""
    return ew.Sigmoid.apply(_float_tensor("sigmoid", "input", input))


def tanh(input) -> Tensor:
    return ew.Tanh.apply(_float_tensor("tanh", "input", input))


def _softmax_axis(op: str, x: Tensor, dim) -> int:
    if dim is None:  # torch's legacy implicit choice
        warnings.warn(
            f"{op}: implicit dimension choice is deprecated; pass dim explicitly", UserWarning, stacklevel=3
        )
        dim = 0 if x.ndim in (0, 1, 3) else 1
    if not sp._is_int(dim):
        raise TypeError(f"{op}: dim must be an int, but got dim={dim!r}")
    if not -max(x.ndim, 1) <= dim < max(x.ndim, 1):
        raise IndexError(f"{op}: dim must be in [{-x.ndim}, {x.ndim - 1}], but got dim={dim}")
    return int(dim) % max(x.ndim, 1)


def _softmax_input(op: str, input, dtype) -> Tensor:
    x = _float_tensor(op, "input", input)
    return x if dtype is None else x.to(dtype)


def softmax(input, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """``exp(x) / sum(exp(x))`` along ``dim`` (stable: shifted by the maximum)."""
    x = _softmax_input("softmax", input, dtype)
    return nn_ops.Softmax.apply(x, _softmax_axis("softmax", x, dim))


def log_softmax(input, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """``x - logsumexp(x)`` along ``dim`` (stable; never takes the log of a softmax)."""
    x = _softmax_input("log_softmax", input, dtype)
    return nn_ops.LogSoftmax.apply(x, _softmax_axis("log_softmax", x, dim))


def dropout(input, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by ``1/(1-p)``.

    The mask comes from the default generator (``cf.manual_seed``); with
    ``training=False`` the input is returned unchanged.
    """
    if not isinstance(p, (int, float)) or isinstance(p, bool) or not 0 <= p <= 1:
        raise ValueError(f"dropout: p must be a probability in [0, 1], but got p={p!r}")
    x = _float_tensor("dropout", "input", input)
    if not training or p == 0:
        return x
    if p == 1:
        return x * np.zeros((), dtype=x.dtype)
    keep = cf_random.default_generator().random(x.shape) >= p  # kept with probability 1 - p
    return x * (keep.astype(x.dtype) / x.dtype.type(1 - p))


def batch_norm(
    input,
    running_mean,
    running_var,
    weight=None,
    bias=None,
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
    x = _float_tensor(op, "input", input)
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
    count = x.data.size // max(channels, 1)
    if training and count <= 1:
        raise ValueError(
            f"{op}: expected more than 1 value per channel when training, but got input of shape {x.shape}"
        )
    if not training and (running_mean is None or running_var is None):
        raise ValueError(f"{op}: running_mean and running_var are required when training=False")
    axes = (0, *range(2, x.ndim))
    if training:
        mean, var = x.data.mean(axis=axes), x.data.var(axis=axes)
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
    mean, var = mean.astype(x.dtype, copy=False), var.astype(x.dtype, copy=False)
    return nn_ops.BatchNorm.apply(x, w, b, mean, var, float(eps), bool(training))


# --------------------------------------------------------------------------------------
# losses
# --------------------------------------------------------------------------------------
_REDUCTIONS = ("none", "mean", "sum")


def _reduction(op: str, size_average, reduce, reduction: str) -> str:
    """torch's legacy ``size_average``/``reduce`` flags, when given, decide the reduction."""
    if size_average is not None or reduce is not None:
        warnings.warn(
            f"{op}: size_average and reduce are deprecated; use reduction=", DeprecationWarning, stacklevel=3
        )
        size_average = True if size_average is None else size_average
        reduce = True if reduce is None else reduce
        reduction = "none" if not reduce else ("mean" if size_average else "sum")
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{op}: reduction must be 'none', 'mean' or 'sum', but got reduction={reduction!r}")
    return reduction


def _class_weight(op: str, weight, classes: int) -> np.ndarray | None:
    w = _raw_array(weight)
    if w is not None and w.shape != (classes,):
        raise ValueError(
            f"{op}: weight must have shape ({classes},) (one value per class), but got weight of shape {w.shape}"
        )
    return w


def _class_target(op: str, x: Tensor, target, ignore_index: int, soft_allowed: bool):
    """The target of a class loss, validated: class indices (an array) or probabilities."""
    if x.ndim == 0:
        raise ValueError(f"{op}: input must have a class dimension, but got a 0-d input")
    t = target if isinstance(target, Tensor) else as_tensor(target)
    classes = x.shape[1] if x.ndim > 1 else x.shape[0]
    index_shape = (x.shape[0], *x.shape[2:]) if x.ndim > 1 else ()
    if np.issubdtype(t.dtype, np.integer):
        if t.shape != index_shape:
            raise ValueError(
                f"{op}: target of class indices must have shape {index_shape} (the input's shape "
                f"{x.shape} without the class dimension), but got target of shape {t.shape}"
            )
        bad = (t.data != ignore_index) & ((t.data < 0) | (t.data >= classes))
        if bad.any():
            raise ValueError(
                f"{op}: target holds class index {int(t.data[bad].flat[0])}, but the input has "
                f"{classes} classes (valid: 0..{classes - 1}, or ignore_index={ignore_index})"
            )
        return t.data
    if soft_allowed and np.issubdtype(t.dtype, np.floating):
        if t.shape != x.shape:
            raise ValueError(
                f"{op}: a floating target holds class probabilities and must have the input's "
                f"shape {x.shape}, but got target of shape {t.shape} (class indices must be ints)"
            )
        return t.to(x.dtype)
    kinds = (
        "integer class indices or floating class probabilities" if soft_allowed else "integer class indices"
    )
    raise TypeError(f"{op}: target must hold {kinds}, but got target of dtype {t.dtype}")


def cross_entropy(
    input,
    target,
    weight=None,
    size_average=None,
    ignore_index: int = -100,
    reduce=None,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """Cross-entropy of the logits ``input`` against class indices (or class probabilities).

    One stable Function: ``log_softmax`` over the class dimension, then the weighted
    negative log-likelihood. With label smoothing ``eps`` the target mixes the class with
    the uniform distribution: ``(1 - eps) * nll + eps * mean over classes of -w_c log p_c``.
    ``'mean'`` divides by the summed weights of the non-ignored targets (as torch).

    Shape: input (N, C) or (N, C, *) or (C,); target (N) or (N, *) or () of class
    indices, or the input's shape of probabilities; output () or, with
    ``reduction='none'``, the target's index shape.
    """
    op = "cross_entropy"
    x = _float_tensor(op, "input", input)
    reduction = _reduction(op, size_average, reduce, reduction)
    if not isinstance(label_smoothing, (int, float)) or not 0 <= label_smoothing <= 1:
        raise ValueError(
            f"{op}: label_smoothing must be in [0, 1], but got label_smoothing={label_smoothing!r}"
        )
    t = _class_target(op, x, target, ignore_index, soft_allowed=True)
    w = _class_weight(op, weight, x.shape[1] if x.ndim > 1 else x.shape[0])
    return nn_ops.CrossEntropy.apply(x, t, w, int(ignore_index), float(label_smoothing), reduction)


def nll_loss(
    input,
    target,
    weight=None,
    size_average=None,
    ignore_index: int = -100,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """Negative log-likelihood of log-probabilities ``input`` at the target classes.

    ``loss_i = -weight[t_i] * input[i, t_i]``; ``'mean'`` divides by ``sum weight[t_i]``
    over the targets that are not ``ignore_index``.

    Shape: input (N, C) or (N, C, *) or (C,); target (N) or (N, *) or () of class indices.
    """
    op = "nll_loss"
    x = _float_tensor(op, "input", input)
    reduction = _reduction(op, size_average, reduce, reduction)
    t = _class_target(op, x, target, ignore_index, soft_allowed=False)
    w = _class_weight(op, weight, x.shape[1] if x.ndim > 1 else x.shape[0])
    return nn_ops.NLLLoss.apply(x, t, w, int(ignore_index), reduction)


def mse_loss(input, target, size_average=None, reduce=None, reduction: str = "mean", weight=None) -> Tensor:
    """Squared error ``(input - target)^2``, optionally weighted per element.

    ``'mean'`` divides by the number of elements, or by ``sum(weight)`` when weighted (as
    torch). Shape: input and target (*) of the same shape (a differing target broadcasts,
    with a warning, as in torch).
    """
    op = "mse_loss"
    x = _float_tensor(op, "input", input)
    t = _tensor(op, "target", target)
    reduction = _reduction(op, size_average, reduce, reduction)
    if t.shape != x.shape:
        warnings.warn(
            f"{op}: using a target size {t.shape} that is different to the input size {x.shape}; "
            "it broadcasts, which is likely not what you want",
            UserWarning,
            stacklevel=2,
        )
    w = None if weight is None else _tensor(op, "weight", weight)
    if w is not None and w.shape != x.shape:
        raise ValueError(
            f"{op}: weight must have the input's shape {x.shape}, but got weight of shape {w.shape}"
        )
    diff = x - t
    squared = diff * diff if w is None else diff * diff * w
    if reduction == "none":
        return squared
    if reduction == "sum":
        return squared.sum()
    return squared.mean() if w is None else squared.sum() / w.sum()


def binary_cross_entropy_with_logits(
    input, target, weight=None, size_average=None, reduce=None, reduction: str = "mean", pos_weight=None
) -> Tensor:
    """Logistic loss on logits, stable for any logit size.

    ``loss = -w [pw * y * log sigmoid(x) + (1 - y) log(1 - sigmoid(x))]`` with ``weight``
    ``w`` broadcast to the input and ``pos_weight`` ``pw`` broadcast along the last
    (class) dimension.

    Shape: input and target (*) of the same shape; output () or (*) for 'none'.
    """
    op = "binary_cross_entropy_with_logits"
    x = _float_tensor(op, "input", input)
    t = _tensor(op, "target", target)
    reduction = _reduction(op, size_average, reduce, reduction)
    if t.shape != x.shape:
        raise ValueError(f"{op}: target size {t.shape} must be the same as input size {x.shape}")
    if t.dtype != x.dtype:
        t = t.to(x.dtype) if np.issubdtype(t.dtype, np.floating) else Tensor(t.data.astype(x.dtype))
    extras = {}
    for name, value in (("weight", weight), ("pos_weight", pos_weight)):
        array = _raw_array(value)
        if array is not None:
            try:
                np.broadcast_shapes(array.shape, x.shape)
            except ValueError as e:
                raise ValueError(
                    f"{op}: {name} of shape {array.shape} must broadcast to the input's shape {x.shape}"
                ) from e
            array = array.astype(x.dtype, copy=False)
        extras[name] = array
    return nn_ops.BCEWithLogits.apply(x, t, extras["weight"], extras["pos_weight"], reduction)
