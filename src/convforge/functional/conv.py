"""Convolutions: ``conv1d/2d/3d`` and ``conv_transpose1d/2d/3d``.

Names, signatures and defaults are torch's; convforge's extensions are keyword-only:

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

from .. import spec as sp
from ..autograd.ops import conv as conv_ops
from ..autograd.ops import shape as shape_ops
from ..autograd.tensor import Tensor
from ..kernels import select
from ._common import _batched, _check_bias, _check_flag, _conv_operands, _spatial_axes, _unbatched

__all__ = [
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
]


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
