"""Pooling and sliding windows: max/avg/adaptive pools, max-unpooling, unfold and fold."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .. import spec as sp
from ..autograd.ops import pool as pool_ops
from ..autograd.tensor import Tensor
from ._common import Size, TensorLike, _batched, _check_flag, _computed, _in_dtype_of, _tensor, _unbatched

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
    "fold",
    "max_pool1d",
    "max_pool2d",
    "max_pool3d",
    "max_unpool1d",
    "max_unpool2d",
    "max_unpool3d",
    "unfold",
]


def _pool_input(op: str, input, n: int) -> tuple[Tensor, bool, tuple[int, ...]]:
    """The input as a Tensor, whether it is batched, and its batched shape."""
    x = _tensor(op, "input", input)
    in_shape, batched = sp.pool_operand(op, x, n)
    return x, batched, in_shape


def _with_indices(y: Tensor, indices: np.ndarray, batched: bool, return_indices):
    """``y`` or ``(y, indices)`` as torch's max pools return them (indices an int64 Tensor)."""
    y = _unbatched(y, batched)
    if not return_indices:
        return y
    return y, Tensor(indices if batched else indices[0])


def max_pool_nd(
    args: sp.PoolArgs, input: TensorLike, *, op: str | None = None, return_indices: bool = False
) -> Tensor | tuple[Tensor, Tensor]:
    """Max pooling of parsed arguments: the entry behind ``max_pool1d/2d/3d`` and the
    ``MaxPool*d`` modules (which parse their arguments once and keep them).

    ``args.resolve`` checks the input, then one differentiable Function runs; ``op`` names the
    call in errors (default ``args.op``).

    Shape: as the ``max_pool*d`` function of ``args.ndim`` dimensions.
    """
    op = op or args.op
    _check_flag(op, "return_indices", return_indices)
    x = _tensor(op, "input", input)
    spec = args.resolve(x, op=op)
    indices: list = []
    y = pool_ops.MaxPool.apply(_batched(x, spec.batched), spec, indices)
    return _with_indices(y, indices[0], spec.batched, return_indices)


def _max_pool(op: str, n: int, input, *, return_indices, **arguments):
    args = sp.PoolArgs.parse(op, n, **arguments)
    return max_pool_nd(args, input, return_indices=return_indices)


def max_pool1d(
    input: TensorLike,
    kernel_size: Size,
    stride: Size | None = None,
    padding: Size = 0,
    dilation: Size = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Tensor | tuple[Tensor, Tensor]:
    """1-D max pooling over an input of shape (N, C, L) or (C, L).

    Shape: output (N, C, L_out) with
    ``L_out = floor((L + 2*padding - dilation*(kernel_size-1) - 1) / stride) + 1`` (``ceil``
    with ``ceil_mode``, less one if the last window would start in the right padding).
    ``stride`` defaults to ``kernel_size``; ``padding`` is at most half the kernel and pads
    with ``-inf``. With ``return_indices`` also the int64 flat index of each maximum in its
    (n, c) row, as ``max_unpool1d`` takes it. NaN propagates.
    """
    sizes = {"kernel_size": kernel_size, "stride": stride, "padding": padding, "dilation": dilation}
    return _max_pool("max_pool1d", 1, input, ceil_mode=ceil_mode, return_indices=return_indices, **sizes)


def max_pool2d(
    input: TensorLike,
    kernel_size: Size,
    stride: Size | None = None,
    padding: Size = 0,
    dilation: Size = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Tensor | tuple[Tensor, Tensor]:
    """2-D max pooling over an input of shape (N, C, H, W) or (C, H, W).

    Shape: output (N, C, H_out, W_out), per dimension as max_pool1d. Indices are flat
    positions ``h*W + w`` in each (n, c) plane of the unpadded input.
    """
    sizes = {"kernel_size": kernel_size, "stride": stride, "padding": padding, "dilation": dilation}
    return _max_pool("max_pool2d", 2, input, ceil_mode=ceil_mode, return_indices=return_indices, **sizes)


def max_pool3d(
    input: TensorLike,
    kernel_size: Size,
    stride: Size | None = None,
    padding: Size = 0,
    dilation: Size = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Tensor | tuple[Tensor, Tensor]:
    """3-D max pooling over an input of shape (N, C, D, H, W) or (C, D, H, W).

    Shape: output (N, C, D_out, H_out, W_out), per dimension as max_pool1d; indices
    ``(d*H + h)*W + w``.
    """
    sizes = {"kernel_size": kernel_size, "stride": stride, "padding": padding, "dilation": dilation}
    return _max_pool("max_pool3d", 3, input, ceil_mode=ceil_mode, return_indices=return_indices, **sizes)


def avg_pool_args(op: str, n: int, **arguments) -> sp.PoolArgs:
    """``PoolArgs.parse`` of an average pool of ``n`` spatial dimensions: torch's avg_pool3d
    (only) also refuses inputs smaller than the kernel."""
    return sp.PoolArgs.parse(op, n, kernel_within_input=n == 3, **arguments)


def avg_pool_nd(args: sp.PoolArgs, input: TensorLike, *, op: str | None = None) -> Tensor:
    """Average pooling of parsed arguments (from :func:`avg_pool_args`): the entry behind
    ``avg_pool1d/2d/3d`` and the ``AvgPool*d`` modules.

    ``op`` names the call in errors and in the dtype policy (``'avg_pool3d'`` refuses
    float16, as torch on the CPU); default ``args.op``.

    Shape: as the ``avg_pool*d`` function of ``args.ndim`` dimensions.
    """
    op = op or args.op
    x = _tensor(op, "input", input)
    spec = args.resolve(x, op=op)
    (computed,) = _computed(op, x)
    y = pool_ops.AvgPool.apply(_batched(computed, spec.batched), spec)
    return _in_dtype_of(_unbatched(y, spec.batched), x)


def _avg_pool(op: str, n: int, input, **arguments) -> Tensor:
    return avg_pool_nd(avg_pool_args(op, n, **arguments), input)


def avg_pool1d(
    input: TensorLike,
    kernel_size: Size,
    stride: Size | None = None,
    padding: Size = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> Tensor:
    """1-D average pooling over an input of shape (N, C, L) or (C, L).

    Shape: output (N, C, L_out), ``L_out`` as max_pool1d with dilation 1. The divisor is the
    window clipped to the padded input, or to the input alone if not ``count_include_pad``.
    """
    sizes = {"kernel_size": kernel_size, "stride": stride, "padding": padding}
    return _avg_pool(
        "avg_pool1d", 1, input, ceil_mode=ceil_mode, count_include_pad=count_include_pad, **sizes
    )


def avg_pool2d(
    input: TensorLike,
    kernel_size: Size,
    stride: Size | None = None,
    padding: Size = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Tensor:
    """2-D average pooling over an input of shape (N, C, H, W) or (C, H, W).

    Shape: output (N, C, H_out, W_out), per dimension as avg_pool1d. ``divisor_override``
    (a non-zero int) replaces every divisor.
    """
    sizes = {"kernel_size": kernel_size, "stride": stride, "padding": padding}
    flags = {
        "ceil_mode": ceil_mode,
        "count_include_pad": count_include_pad,
        "divisor_override": divisor_override,
    }
    return _avg_pool("avg_pool2d", 2, input, **sizes, **flags)


def avg_pool3d(
    input: TensorLike,
    kernel_size: Size,
    stride: Size | None = None,
    padding: Size = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Tensor:
    """3-D average pooling over an input of shape (N, C, D, H, W) or (C, D, H, W).

    Shape: output (N, C, D_out, H_out, W_out), per dimension as avg_pool1d.
    """
    sizes = {"kernel_size": kernel_size, "stride": stride, "padding": padding}
    flags = {
        "ceil_mode": ceil_mode,
        "count_include_pad": count_include_pad,
        "divisor_override": divisor_override,
    }
    return _avg_pool("avg_pool3d", 3, input, **sizes, **flags)


def _adaptive_input(op, n, input, output_size, spatial_nonempty_only: bool):
    x, batched, in_shape = _pool_input(op, input, n)
    sp.check_nonempty(op, x.shape, first=x.ndim - n if spatial_nonempty_only else 1)
    return _batched(x, batched), batched, sp.adaptive_output_size(op, output_size, in_shape[2:])


def _adaptive_avg_pool(op, n, input, output_size):
    # torch's 1-D and 2-D versions check only the spatial sizes (empty channels pool to empty
    # channels), its 3-D version the input as given from dimension 1 on
    x, batched, out_spatial = _adaptive_input(op, n, input, output_size, spatial_nonempty_only=n < 3)
    (computed,) = _computed(op, x)
    return _in_dtype_of(_unbatched(pool_ops.AdaptiveAvgPool.apply(computed, out_spatial), batched), x)


def _adaptive_max_pool(op, n, input, output_size, return_indices):
    _check_flag(op, "return_indices", return_indices)
    # torch checks the input as given from dimension 1 on (an unbatched input's channels
    # may be empty)
    x, batched, out_spatial = _adaptive_input(op, n, input, output_size, spatial_nonempty_only=False)
    indices: list = []
    y = pool_ops.AdaptiveMaxPool.apply(x, out_spatial, indices)
    return _with_indices(y, indices[0], batched, return_indices)


def adaptive_avg_pool1d(input: TensorLike, output_size: int | tuple[int | None, ...]) -> Tensor:
    """Average over ``output_size`` windows covering an input of shape (N, C, L) or (C, L).

    Shape: output (N, C, output_size); window ``i`` is
    ``[floor(i*L/out), ceil((i+1)*L/out))``.
    """
    return _adaptive_avg_pool("adaptive_avg_pool1d", 1, input, output_size)


def adaptive_avg_pool2d(input: TensorLike, output_size: int | tuple[int | None, ...]) -> Tensor:
    """Adaptive average pooling over (N, C, H, W) or (C, H, W).

    Shape: output (N, C, *output_size); windows per dimension as adaptive_avg_pool1d. An
    entry ``None`` keeps that input size.
    """
    return _adaptive_avg_pool("adaptive_avg_pool2d", 2, input, output_size)


def adaptive_avg_pool3d(input: TensorLike, output_size: int | tuple[int | None, ...]) -> Tensor:
    """Adaptive average pooling over (N, C, D, H, W) or (C, D, H, W).

    Shape: output (N, C, *output_size); windows per dimension as adaptive_avg_pool1d.
    """
    return _adaptive_avg_pool("adaptive_avg_pool3d", 3, input, output_size)


def adaptive_max_pool1d(
    input: TensorLike, output_size: int | tuple[int | None, ...], return_indices: bool = False
) -> Tensor | tuple[Tensor, Tensor]:
    """Max over ``output_size`` windows covering an input of shape (N, C, L) or (C, L).

    Shape: output (N, C, output_size), windows as adaptive_avg_pool1d; indices as max_pool1d.
    """
    return _adaptive_max_pool("adaptive_max_pool1d", 1, input, output_size, return_indices)


def adaptive_max_pool2d(
    input: TensorLike, output_size: int | tuple[int | None, ...], return_indices: bool = False
) -> Tensor | tuple[Tensor, Tensor]:
    """Adaptive max pooling over (N, C, H, W) or (C, H, W).

    Shape: output (N, C, *output_size); indices as max_pool2d.
    """
    return _adaptive_max_pool("adaptive_max_pool2d", 2, input, output_size, return_indices)


def adaptive_max_pool3d(
    input: TensorLike, output_size: int | tuple[int | None, ...], return_indices: bool = False
) -> Tensor | tuple[Tensor, Tensor]:
    """Adaptive max pooling over (N, C, D, H, W) or (C, D, H, W).

    Shape: output (N, C, *output_size); indices as max_pool3d.
    """
    return _adaptive_max_pool("adaptive_max_pool3d", 3, input, output_size, return_indices)


def _max_unpool(op, n, input, indices, kernel_size, stride, padding, output_size):
    x, batched, in_shape = _pool_input(op, input, n)
    if isinstance(indices, Tensor):
        indices = indices.array
    if not isinstance(indices, np.ndarray):
        raise TypeError(
            f"{op}: indices must be a Tensor or an ndarray, but got indices of type {type(indices).__name__}"
        )
    if indices.dtype != np.int64:
        raise TypeError(f"{op}: indices must be int64, but got indices of dtype {indices.dtype}")
    sp.check_nonempty(op, x.shape)  # as torch: even an unbatched input's channels may be empty
    indices_shape = indices.shape if batched else (1, *indices.shape)
    out_spatial = sp.unpool_output_size(
        op,
        in_shape,
        indices_shape,
        n,
        kernel_size=kernel_size,
        stride=stride,
        padding=padding,
        output_size=output_size,
    )
    if indices.size:
        sp.check_unpool_indices(op, int(indices.min()), int(indices.max()), out_spatial)
    y = pool_ops.MaxUnpool.apply(_batched(x, batched), indices.reshape(indices_shape), out_spatial)
    return _unbatched(y, batched)


def max_unpool1d(
    input: TensorLike,
    indices: TensorLike,
    kernel_size: Size,
    stride: Size | None = None,
    padding: Size = 0,
    output_size: Sequence[int] | None = None,
) -> Tensor:
    """Partial inverse of max_pool1d: values go to ``indices``, every other cell is 0.

    Shape: input, indices (N, C, L) or (C, L); output (N, C, L_out) with
    ``L_out = (L - 1)*stride - 2*padding + kernel_size`` unless ``output_size`` (1 or 3
    entries, strictly within ``stride`` of it) says otherwise.
    """
    return _max_unpool("max_unpool1d", 1, input, indices, kernel_size, stride, padding, output_size)


def max_unpool2d(
    input: TensorLike,
    indices: TensorLike,
    kernel_size: Size,
    stride: Size | None = None,
    padding: Size = 0,
    output_size: Sequence[int] | None = None,
) -> Tensor:
    """Partial inverse of max_pool2d. Shape: (N, C, H, W) or (C, H, W) -> sizes as max_unpool1d."""
    return _max_unpool("max_unpool2d", 2, input, indices, kernel_size, stride, padding, output_size)


def max_unpool3d(
    input: TensorLike,
    indices: TensorLike,
    kernel_size: Size,
    stride: Size | None = None,
    padding: Size = 0,
    output_size: Sequence[int] | None = None,
) -> Tensor:
    """Partial inverse of max_pool3d. Shape: (N, C, D, H, W) or (C, D, H, W) -> as max_unpool1d."""
    return _max_unpool("max_unpool3d", 3, input, indices, kernel_size, stride, padding, output_size)


def unfold(
    input: TensorLike, kernel_size: Size, dilation: Size = 1, padding: Size = 0, stride: Size = 1
) -> Tensor:
    """Extract sliding blocks (im2col): torch's layout, any number of spatial dimensions.

    Shape: input (N, C, *spatial) or (C, *spatial) -> (N, C*prod(kernel_size), L), ``L`` the
    number of blocks, ``prod_d floor((in_d + 2*padding_d - dilation_d*(k_d-1) - 1)/stride_d + 1)``;
    rows are channel-major then kernel taps in C order. The spatial rank is the length of
    ``kernel_size`` if it is a tuple, else 2 (torch supports only that case).
    """
    op = "unfold"
    n = sp.fold_ndim(kernel_size)
    x, batched, in_shape = _pool_input(op, input, n)
    spec = sp.unfold_spec(
        op, in_shape, n, kernel_size=kernel_size, dilation=dilation, padding=padding, stride=stride
    )
    return _unbatched(pool_ops.Unfold.apply(_batched(x, batched), spec), batched)


def fold(
    input: TensorLike,
    output_size: Size,
    kernel_size: Size,
    dilation: Size = 1,
    padding: Size = 0,
    stride: Size = 1,
) -> Tensor:
    """Sum sliding blocks into an array (col2im), the adjoint of :func:`unfold`.

    Shape: input (N, C*prod(kernel_size), L) or (C*prod(kernel_size), L) -> (N, C,
    *output_size); ``L`` must be unfold's block count for ``output_size``. The spatial rank is
    the length of ``output_size`` (or of ``kernel_size``) if a tuple, else 2.
    """
    op = "fold"
    x, batched, in_shape = _pool_input(op, input, 1)  # (N, C*K, L) like a 1-D signal
    spec = sp.fold_spec(
        op,
        in_shape,
        output_size=output_size,
        kernel_size=kernel_size,
        dilation=dilation,
        padding=padding,
        stride=stride,
    )
    return _unbatched(pool_ops.Fold.apply(_batched(x, batched), spec), batched)
