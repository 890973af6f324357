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

import numpy as np

from . import spec as sp
from .autograd.ops import conv as conv_ops
from .autograd.ops import elementwise as ew
from .autograd.ops import shape as shape_ops
from .autograd.tensor import Tensor, as_tensor
from .kernels import select

__all__ = [
    "channel_shuffle",
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
    "pad",
    "relu",
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
