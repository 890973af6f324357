"""Convolution layers: Conv1d/2d/3d and ConvTranspose1d/2d/3d on one ``_ConvNd`` base.

``_ConvNd`` validates and normalizes the arguments once (:meth:`ConvArgs.parse
<convforge.spec.ConvArgs.parse>`, kept as :meth:`_ConvNd.conv_args`), creates the weight (shape
``(C_out, C_in/groups, *kernel)``, or ``(C_in, C_out/groups, *kernel)`` when transposed),
initializes it as torch does (``kaiming_uniform_(a=sqrt(5))``, bias ``U(-1/sqrt(fan_in),
1/sqrt(fan_in))``) and prints itself as you would write it. The subclasses only say how
many spatial dimensions they have; ``forward`` runs the kept arguments through
``functional.conv.conv_nd``, the entry the ``conv*d`` functions share.
"""

from __future__ import annotations

import numpy as np

from .. import spec as sp
from ..autograd.tensor import Tensor
from ..backend import DEFAULT_DTYPE
from ..device import check_available
from ..functional.conv import conv_nd
from ..spec import positive_int  # the nn layers validate their counts with it (from here)
from . import init
from .module import Module
from .parameter import Parameter

__all__ = ["Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d"]


def factory_dtype(op: str, device, dtype) -> np.dtype:
    """torch's ``device=``/``dtype=`` factory arguments: a device we compute on, floating dtypes."""
    if device is not None:
        check_available(device, op)
    dtype = np.dtype(DEFAULT_DTYPE if dtype is None else dtype)
    sp.check_dtype(op, "dtype", dtype)
    return dtype


def module_padding(op: str, padding, n: int, transposed: bool):
    """The padding as stored on the module: 'same'/'valid', an n-tuple, or an explicit form."""
    if isinstance(padding, str) and transposed:
        raise ValueError(f"{op}: padding must be an int or a tuple, but got padding={padding!r}")
    sp.resolve_padding(padding, n, op)  # validates every accepted form
    if isinstance(padding, str):
        return padding
    if sp._is_int(padding):
        return (int(padding),) * n
    items = tuple(padding)
    if all(sp._is_int(p) for p in items):
        return tuple(int(p) for p in items)
    return tuple(tuple(int(q) for q in p) for p in items)


def conv_channels(op: str, in_channels, out_channels, groups) -> tuple[int, int, int]:
    """Validate a convolution layer's channel counts and groups (groups divide both)."""
    in_channels = positive_int(op, "in_channels", in_channels)
    out_channels = positive_int(op, "out_channels", out_channels)
    groups = positive_int(op, "groups", groups)
    for name, channels in (("in_channels", in_channels), ("out_channels", out_channels)):
        if channels % groups:
            raise ValueError(f"{op}: groups must divide {name}, but got groups={groups}, {name}={channels}")
    return in_channels, out_channels, groups


def add_weight_and_bias(
    layer: Module, weight_shape: tuple[int, ...], bias_shape: tuple[int, ...], bias: bool, dtype
) -> None:
    """Give ``layer`` an (uninitialized) ``weight`` and a ``bias``, or ``bias=None``."""
    layer.weight = Parameter(np.empty(weight_shape, dtype=dtype))
    if bias:
        layer.bias = Parameter(np.empty(bias_shape, dtype=dtype))
    else:
        layer.register_parameter("bias", None)


def conv_extra_repr(layer: Module, n: int) -> str:
    """A convolution layer's arguments as torch prints them: the sizes that differ from the
    defaults (``output_padding`` and ``padding_mode`` where the layer has them)."""
    s = f"{layer.in_channels}, {layer.out_channels}, kernel_size={layer.kernel_size}, stride={layer.stride}"
    if layer.padding != (0,) * n:
        s += f", padding={layer.padding}"
    if layer.dilation != (1,) * n:
        s += f", dilation={layer.dilation}"
    if getattr(layer, "output_padding", (0,) * n) != (0,) * n:
        s += f", output_padding={layer.output_padding}"
    if layer.groups != 1:
        s += f", groups={layer.groups}"
    if layer.bias is None:
        s += ", bias=False"
    if getattr(layer, "padding_mode", "zeros") != "zeros":
        s += f", padding_mode={layer.padding_mode}"
    return s


class _ConvNd(Module):
    """What every convolution layer shares: arguments, weight, initialization, repr.

    Shape (convolution), per spatial dimension:
    ``out = floor((in + 2*padding - dilation*(kernel-1) - 1) / stride) + 1``;
    (transposed): ``out = (in-1)*stride - 2*padding + dilation*(kernel-1) + output_padding + 1``.
    """

    _ndim: int = 0  # spatial dimensions, set by each public subclass

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size,
        stride,
        padding,
        dilation,
        transposed: bool,
        output_padding,
        groups: int,
        bias: bool,
        padding_mode: str,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        op, n = type(self).__name__, self._ndim
        in_channels, out_channels, groups = conv_channels(op, in_channels, out_channels, groups)
        args = sp.ConvArgs.parse(
            op,
            n,
            stride=stride,
            padding=padding,
            dilation=dilation,
            groups=groups,
            padding_mode=padding_mode,
            transposed=transposed,
            output_padding=output_padding,
        )
        self.in_channels, self.out_channels = in_channels, out_channels
        # torch's modules take no one-element kernel_size in 2-D and 3-D (their other sizes, yes)
        self.kernel_size = sp.ntuple(kernel_size, n, "kernel_size", op, minimum=1)
        self.stride = args.stride
        self.padding = module_padding(op, padding, n, transposed)
        self.dilation = args.dilation
        self.transposed = bool(transposed)
        self.output_padding = args.output_padding
        self.groups = groups
        self.padding_mode = padding_mode
        self._args, self._padding_given = args, self.padding
        dtype = factory_dtype(op, device, dtype)
        if transposed:
            shape = (in_channels, out_channels // groups, *self.kernel_size)
        else:
            shape = (out_channels, in_channels // groups, *self.kernel_size)
        add_weight_and_bias(self, shape, (out_channels,), bias, dtype)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.default_layer_init_(self.weight, self.bias)

    def conv_args(self) -> sp.ConvArgs:
        """The layer's parsed arguments (parsed again only if an attribute was reassigned,
        as torch code sometimes does: ``conv.padding = (2, 2)``)."""
        current = (
            self.stride,
            self.padding,
            self.dilation,
            self.groups,
            self.padding_mode,
            self.output_padding,
        )
        args = self._args
        kept = (
            args.stride,
            self._padding_given,
            args.dilation,
            args.groups,
            args.padding_mode,
            args.output_padding,
        )
        if current != kept:
            args = sp.ConvArgs.parse(
                type(self).__name__,
                self._ndim,
                stride=self.stride,
                padding=self.padding,
                dilation=self.dilation,
                groups=self.groups,
                padding_mode=self.padding_mode,
                transposed=self.transposed,
                output_padding=self.output_padding,
            )
            self._args, self._padding_given = args, self.padding
        return args

    def extra_repr(self) -> str:
        return conv_extra_repr(self, self._ndim)


class _ConvLayerNd(_ConvNd):
    """Conv1d/2d/3d: cross-correlation layers with torch's signature."""

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
        padding_mode: str = "zeros",
        device=None,
        dtype=None,
    ) -> None:
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            dilation,
            False,
            0,
            groups,
            bias,
            padding_mode,
            device,
            dtype,
        )

    def _conv_forward(self, input, weight, bias) -> Tensor:
        return conv_nd(self.conv_args(), input, weight, bias, op=f"conv{self._ndim}d")

    def forward(self, input) -> Tensor:
        return self._conv_forward(input, self.weight, self.bias)


class Conv1d(_ConvLayerNd):
    """1-D convolution layer (cross-correlation), as ``torch.nn.Conv1d``.

    Shape: input (N, C_in, L) or (C_in, L); weight (C_out, C_in/groups, K); output
    (N, C_out, L_out), ``L_out = floor((L + 2*padding - dilation*(K-1) - 1)/stride) + 1``.
    ``padding`` may also be 'same', 'valid' or an explicit (before, after) form.
    """

    _ndim = 1


class Conv2d(_ConvLayerNd):
    """2-D convolution layer (cross-correlation), as ``torch.nn.Conv2d``.

    Shape: input (N, C_in, H, W) or (C_in, H, W); weight (C_out, C_in/groups, kH, kW);
    output (N, C_out, H_out, W_out) with, per dimension,
    ``out = floor((in + 2*padding - dilation*(k-1) - 1)/stride) + 1``. ``padding='same'``
    at stride > 1 is TensorFlow's SAME (``out = ceil(in/stride)``), a convforge extension.
    """

    _ndim = 2


class Conv3d(_ConvLayerNd):
    """3-D convolution layer (cross-correlation), as ``torch.nn.Conv3d``.

    Shape: input (N, C_in, D, H, W) or (C_in, D, H, W); weight (C_out, C_in/groups, kD,
    kH, kW); output size per dimension as Conv2d.
    """

    _ndim = 3


class _ConvTransposeNd(_ConvNd):
    """ConvTranspose1d/2d/3d: the input-gradient map of a convolution, as a layer."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=0,
        output_padding=0,
        groups: int = 1,
        bias: bool = True,
        dilation=1,
        padding_mode: str = "zeros",
        device=None,
        dtype=None,
    ) -> None:
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            dilation,
            True,
            output_padding,
            groups,
            bias,
            padding_mode,
            device,
            dtype,
        )

    def forward(self, input, output_size=None) -> Tensor:
        """``output_size`` picks among the sizes a strided convolution maps to one size."""
        op = f"conv_transpose{self._ndim}d"
        return conv_nd(self.conv_args(), input, self.weight, self.bias, op=op, output_size=output_size)


class ConvTranspose1d(_ConvTransposeNd):
    """1-D transposed convolution layer, as ``torch.nn.ConvTranspose1d``.

    Shape: input (N, C_in, L); weight (C_in, C_out/groups, K); output (N, C_out, L_out),
    ``L_out = (L-1)*stride - 2*padding + dilation*(K-1) + output_padding + 1``.
    """

    _ndim = 1


class ConvTranspose2d(_ConvTransposeNd):
    """2-D transposed convolution layer, as ``torch.nn.ConvTranspose2d``.

    Shape: input (N, C_in, H, W); weight (C_in, C_out/groups, kH, kW); per dimension
    ``out = (in-1)*stride - 2*padding + dilation*(k-1) + output_padding + 1``.
    """

    _ndim = 2


class ConvTranspose3d(_ConvTransposeNd):
    """3-D transposed convolution layer, as ``torch.nn.ConvTranspose3d``; sizes as ConvTranspose2d."""

    _ndim = 3
