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

from collections.abc import Sequence

from .. import spec as sp
from ..autograd.ops import conv as conv_ops
from ..autograd.ops import shape as shape_ops
from ..autograd.tensor import Tensor
from ..kernels import select
from ._common import (
    Padding,
    Size,
    TensorLike,
    _batched,
    _check_flag,
    _conv_operands,
    _spatial_axes,
    _unbatched,
)

__all__ = [
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
]


def conv_nd(
    args: sp.ConvArgs,
    input: TensorLike,
    weight: TensorLike,
    bias: TensorLike | None = None,
    *,
    op: str | None = None,
    flip: bool = False,
    algorithm: str = "auto",
    output_size: Sequence[int] | None = None,
) -> Tensor:
    """Run a convolution (or, for ``args.transposed``, a transposed one) of parsed arguments.

    The one entry behind ``conv1d/2d/3d``, ``conv_transpose1d/2d/3d`` and the nn modules
    (which parse their arguments once and keep them): ``args.resolve`` checks the operands,
    ``select.plan`` picks the algorithm, then one differentiable Function runs. ``op`` names
    the call in errors (default ``args.op``).

    Shape: as the ``conv*d`` (or ``conv_transpose*d``) function of ``args.ndim`` dimensions.
    """
    op = op or args.op
    x, w, b = _conv_operands(op, input, weight, bias)
    _check_flag(op, "flip", flip)
    spec = args.resolve(x, w, b, op=op, output_size=output_size)
    kernel = select.plan(spec.zero_padded(), algorithm=algorithm, op=op)
    # ---- array work from here on
    x = _batched(x, spec.batched)
    if flip:
        w = w.flip(_spatial_axes(args.ndim))
    if args.transposed:
        return _unbatched(conv_ops.ConvTranspose.apply(x, w, b, spec, kernel), spec.batched)
    if spec.padding_mode != "zeros":
        x = shape_ops.Pad.apply(x, spec.padding, spec.pad_mode, 0.0)
        spec = spec.zero_padded()
    return _unbatched(conv_ops.Conv.apply(x, w, b, spec, kernel), spec.batched)


def conv1d(
    input: TensorLike,
    weight: TensorLike,
    bias: TensorLike | None = None,
    stride: Size = 1,
    padding: Padding = 0,
    dilation: Size = 1,
    groups: int = 1,
    *,
    padding_mode: str = "zeros",
    flip: bool = False,
    algorithm: str = "auto",
) -> Tensor:
    """1-D cross-correlation over an input of shape (N, C_in, L) or (C_in, L).

    Shape: weight (C_out, C_in/groups, K); output (N, C_out, L_out) with
    ``L_out = floor((L + pad_lo + pad_hi - dilation*(K-1) - 1) / stride) + 1``.
    """
    sizes = {"stride": stride, "padding": padding, "dilation": dilation}
    args = sp.ConvArgs.parse("conv1d", 1, groups=groups, padding_mode=padding_mode, **sizes)
    return conv_nd(args, input, weight, bias, flip=flip, algorithm=algorithm)


def conv2d(
    input: TensorLike,
    weight: TensorLike,
    bias: TensorLike | None = None,
    stride: Size = 1,
    padding: Padding = 0,
    dilation: Size = 1,
    groups: int = 1,
    *,
    padding_mode: str = "zeros",
    flip: bool = False,
    algorithm: str = "auto",
) -> Tensor:
    """2-D cross-correlation over an input of shape (N, C_in, H, W) or (C_in, H, W).

    Shape: weight (C_out, C_in/groups, kH, kW); output (N, C_out, H_out, W_out) with, per
    dimension, ``out = floor((in + pad_lo + pad_hi - dilation*(k-1) - 1) / stride) + 1``.
    With ``flip=True`` the kernel is flipped first: true convolution.
    """
    sizes = {"stride": stride, "padding": padding, "dilation": dilation}
    args = sp.ConvArgs.parse("conv2d", 2, groups=groups, padding_mode=padding_mode, **sizes)
    return conv_nd(args, input, weight, bias, flip=flip, algorithm=algorithm)


def conv3d(
    input: TensorLike,
    weight: TensorLike,
    bias: TensorLike | None = None,
    stride: Size = 1,
    padding: Padding = 0,
    dilation: Size = 1,
    groups: int = 1,
    *,
    padding_mode: str = "zeros",
    flip: bool = False,
    algorithm: str = "auto",
) -> Tensor:
    """3-D cross-correlation over an input of shape (N, C_in, D, H, W) or (C_in, D, H, W).

    Shape: weight (C_out, C_in/groups, kD, kH, kW); output size per dimension as conv2d.
    """
    sizes = {"stride": stride, "padding": padding, "dilation": dilation}
    args = sp.ConvArgs.parse("conv3d", 3, groups=groups, padding_mode=padding_mode, **sizes)
    return conv_nd(args, input, weight, bias, flip=flip, algorithm=algorithm)


def conv_transpose1d(
    input: TensorLike,
    weight: TensorLike,
    bias: TensorLike | None = None,
    stride: Size = 1,
    padding: Padding = 0,
    output_padding: Size = 0,
    groups: int = 1,
    dilation: Size = 1,
    *,
    output_size: Sequence[int] | None = None,
    flip: bool = False,
    algorithm: str = "auto",
) -> Tensor:
    """1-D transposed convolution (the input gradient of conv1d).

    Shape: input (N, C_in, L); weight (C_in, C_out/groups, K); output (N, C_out, L_out) with
    ``L_out = (L-1)*stride - 2*padding + dilation*(K-1) + output_padding + 1``.
    """
    sizes = {"stride": stride, "padding": padding, "dilation": dilation, "output_padding": output_padding}
    args = sp.ConvArgs.parse("conv_transpose1d", 1, groups=groups, transposed=True, **sizes)
    return conv_nd(args, input, weight, bias, flip=flip, algorithm=algorithm, output_size=output_size)


def conv_transpose2d(
    input: TensorLike,
    weight: TensorLike,
    bias: TensorLike | None = None,
    stride: Size = 1,
    padding: Padding = 0,
    output_padding: Size = 0,
    groups: int = 1,
    dilation: Size = 1,
    *,
    output_size: Sequence[int] | None = None,
    flip: bool = False,
    algorithm: str = "auto",
) -> Tensor:
    """2-D transposed convolution (the input gradient of conv2d).

    Shape: input (N, C_in, H, W); weight (C_in, C_out/groups, kH, kW); per dimension
    ``out = (in-1)*stride - 2*padding + dilation*(k-1) + output_padding + 1``. A 2x2 input
    with a 3x3 kernel at stride 1 gives 4x4.
    """
    sizes = {"stride": stride, "padding": padding, "dilation": dilation, "output_padding": output_padding}
    args = sp.ConvArgs.parse("conv_transpose2d", 2, groups=groups, transposed=True, **sizes)
    return conv_nd(args, input, weight, bias, flip=flip, algorithm=algorithm, output_size=output_size)


def conv_transpose3d(
    input: TensorLike,
    weight: TensorLike,
    bias: TensorLike | None = None,
    stride: Size = 1,
    padding: Padding = 0,
    output_padding: Size = 0,
    groups: int = 1,
    dilation: Size = 1,
    *,
    output_size: Sequence[int] | None = None,
    flip: bool = False,
    algorithm: str = "auto",
) -> Tensor:
    """3-D transposed convolution (the input gradient of conv3d).

    Shape: input (N, C_in, D, H, W); weight (C_in, C_out/groups, kD, kH, kW); output sizes per
    dimension as conv_transpose2d.
    """
    sizes = {"stride": stride, "padding": padding, "dilation": dilation, "output_padding": output_padding}
    args = sp.ConvArgs.parse("conv_transpose3d", 3, groups=groups, transposed=True, **sizes)
    return conv_nd(args, input, weight, bias, flip=flip, algorithm=algorithm, output_size=output_size)
