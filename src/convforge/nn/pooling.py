"""Pooling layers: max, average, adaptive and max-unpooling in 1, 2 and 3 dimensions.

Each family is one base class holding torch's signature, argument checks and repr; the
public classes only set the number of spatial dimensions. Max and average pools parse their
arguments once in ``__init__`` (:meth:`PoolArgs.parse <convforge.spec.PoolArgs.parse>`, kept
as :meth:`_PoolNd.pool_args`) and ``forward`` runs them through ``functional.pool.max_pool_nd``
/ ``avg_pool_nd``, the entries the ``max_pool*d`` / ``avg_pool*d`` functions share; the other
layers call the matching ``cf.nn.functional`` function.
"""

from __future__ import annotations

from .. import functional as F
from .. import spec as sp
from ..autograd.tensor import Tensor
from ..functional.pool import avg_pool_args, avg_pool_nd, max_pool_nd
from .module import Module

__all__ = [
    "AdaptiveAvgPool1d",
    "AdaptiveAvgPool2d",
    "AdaptiveAvgPool3d",
    "AdaptiveMaxPool1d",
    "AdaptiveMaxPool2d",
    "AdaptiveMaxPool3d",
    "AvgPool1d",
    "AvgPool2d",
    "AvgPool3d",
    "MaxPool1d",
    "MaxPool2d",
    "MaxPool3d",
    "MaxUnpool1d",
    "MaxUnpool2d",
    "MaxUnpool3d",
]


class _PoolNd(Module):
    """What max and average pooling layers share: their parsed arguments, kept.

    ``_ARGS`` names the attributes the arguments are parsed from (as ``PoolArgs.parse``'s
    keywords); torch code sometimes reassigns one (``pool.ceil_mode = True``), so
    :meth:`pool_args` parses again when an attribute no longer holds what was parsed.
    """

    _ndim: int = 0
    _ARGS: tuple[str, ...] = ()

    def _parse(self) -> sp.PoolArgs:
        raise NotImplementedError  # each family parses its own way

    def _keep_args(self, args: sp.PoolArgs | None = None) -> None:
        """Parse the attributes now (at construction: a malformed window fails here), or keep
        ``args`` already parsed from what they hold."""
        self._args_given = tuple(getattr(self, name) for name in self._ARGS)
        self._args = args if args is not None else self._parse()

    def _given(self) -> dict:
        return {name: getattr(self, name) for name in self._ARGS}

    def pool_args(self) -> sp.PoolArgs:
        """The layer's parsed arguments (parsed again only if an attribute was reassigned)."""
        if tuple(getattr(self, name) for name in self._ARGS) != self._args_given:
            self._keep_args()
        return self._args


class _MaxPoolNd(_PoolNd):
    """Maximum over each window.

    Shape: (N, C, *in) -> (N, C, *out), per dimension
    ``out = floor((in + 2*padding - dilation*(kernel-1) - 1)/stride) + 1`` (``ceil`` with
    ``ceil_mode``); ``return_indices`` also returns the flat argmax per window (for MaxUnpool).
    """

    _ARGS = ("kernel_size", "stride", "padding", "dilation", "ceil_mode")

    def __init__(
        self,
        kernel_size,
        stride=None,
        padding=0,
        dilation=1,
        return_indices: bool = False,
        ceil_mode: bool = False,
    ) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.dilation = dilation
        self.return_indices = return_indices
        self.ceil_mode = ceil_mode
        self._keep_args()

    def _parse(self) -> sp.PoolArgs:
        return sp.PoolArgs.parse(type(self).__name__, self._ndim, **self._given())

    def extra_repr(self) -> str:
        return (
            f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
            f"dilation={self.dilation}, ceil_mode={self.ceil_mode}"
        )

    def forward(self, input):
        op = f"max_pool{self._ndim}d"
        return max_pool_nd(self.pool_args(), input, op=op, return_indices=self.return_indices)


class MaxPool1d(_MaxPoolNd):
    """1-D max pooling, as ``torch.nn.MaxPool1d``; input (N, C, L) or (C, L)."""

    _ndim = 1


class MaxPool2d(_MaxPoolNd):
    """2-D max pooling, as ``torch.nn.MaxPool2d``; input (N, C, H, W) or (C, H, W)."""

    _ndim = 2


class MaxPool3d(_MaxPoolNd):
    """3-D max pooling, as ``torch.nn.MaxPool3d``; input (N, C, D, H, W) or (C, D, H, W)."""

    _ndim = 3


class _AvgPoolNd(_PoolNd):
    """Mean over each window (padding counted unless ``count_include_pad=False``).

    Shape: as max pooling, without dilation.
    """

    _ARGS = ("kernel_size", "stride", "padding", "ceil_mode", "count_include_pad", "divisor_override")

    def __init__(
        self,
        kernel_size,
        stride=None,
        padding=0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
        divisor_override: int | None = None,
    ) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad
        self.divisor_override = divisor_override
        self._keep_args()

    def _parse(self) -> sp.PoolArgs:
        return avg_pool_args(type(self).__name__, self._ndim, **self._given())

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"

    def forward(self, input):
        return avg_pool_nd(self.pool_args(), input, op=f"avg_pool{self._ndim}d")


class AvgPool1d(_AvgPoolNd):
    """1-D average pooling, as ``torch.nn.AvgPool1d`` (no ``divisor_override``; sizes stored as tuples)."""

    _ndim = 1
    _ARGS = ("kernel_size", "stride", "padding", "ceil_mode", "count_include_pad")

    def __init__(
        self, kernel_size, stride=None, padding=0, ceil_mode: bool = False, count_include_pad: bool = True
    ) -> None:
        super().__init__(kernel_size, stride, padding, ceil_mode, count_include_pad)
        args = self._args
        self.kernel_size, self.stride, self.padding = args.kernel_size, args.stride, args.padding
        self._keep_args(args)  # the normalized attributes parse to the same arguments


class AvgPool2d(_AvgPoolNd):
    """2-D average pooling, as ``torch.nn.AvgPool2d``."""

    _ndim = 2


class AvgPool3d(_AvgPoolNd):
    """3-D average pooling, as ``torch.nn.AvgPool3d``."""

    _ndim = 3


class _AdaptivePoolNd(Module):
    """What adaptive pools share: an ``output_size`` checked at construction, and the repr.

    Window ``i`` of a dimension spans ``[floor(i*in/out), ceil((i+1)*in/out))``.
    Shape: (N, C, *in) -> (N, C, *output_size).
    """

    _ndim: int = 0

    def __init__(self, output_size) -> None:
        super().__init__()
        sp.adaptive_output_size(type(self).__name__, output_size, (1,) * self._ndim)
        self.output_size = output_size

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class _AdaptiveAvgPoolNd(_AdaptivePoolNd):
    """Average pooling to a fixed output size (``None`` entries keep the input size).

    Shape: (N, C, *in) -> (N, C, *output_size), windows as :class:`_AdaptivePoolNd`.
    """

    def forward(self, input) -> Tensor:
        return getattr(F, f"adaptive_avg_pool{self._ndim}d")(input, self.output_size)


class AdaptiveAvgPool1d(_AdaptiveAvgPoolNd):
    """1-D adaptive average pooling, as ``torch.nn.AdaptiveAvgPool1d``."""

    _ndim = 1


class AdaptiveAvgPool2d(_AdaptiveAvgPoolNd):
    """2-D adaptive average pooling; ``AdaptiveAvgPool2d(1)`` is global average pooling."""

    _ndim = 2


class AdaptiveAvgPool3d(_AdaptiveAvgPoolNd):
    """3-D adaptive average pooling, as ``torch.nn.AdaptiveAvgPool3d``."""

    _ndim = 3


class _AdaptiveMaxPoolNd(_AdaptivePoolNd):
    """Max pooling to a fixed output size; windows as adaptive average pooling.

    Shape: (N, C, *in) -> (N, C, *output_size).
    """

    def __init__(self, output_size, return_indices: bool = False) -> None:
        super().__init__(output_size)
        self.return_indices = return_indices

    def forward(self, input):
        pool = getattr(F, f"adaptive_max_pool{self._ndim}d")
        return pool(input, self.output_size, return_indices=self.return_indices)


class AdaptiveMaxPool1d(_AdaptiveMaxPoolNd):
    """1-D adaptive max pooling, as ``torch.nn.AdaptiveMaxPool1d``."""

    _ndim = 1


class AdaptiveMaxPool2d(_AdaptiveMaxPoolNd):
    """2-D adaptive max pooling, as ``torch.nn.AdaptiveMaxPool2d``."""

    _ndim = 2


class AdaptiveMaxPool3d(_AdaptiveMaxPoolNd):
    """3-D adaptive max pooling, as ``torch.nn.AdaptiveMaxPool3d``."""

    _ndim = 3


class _MaxUnpoolNd(Module):
    """Partial inverse of max pooling: each value goes back to its argmax, zeros elsewhere.

    Shape: (N, C, *in) -> (N, C, *out), ``out = (in-1)*stride - 2*padding + kernel``
    unless ``output_size`` is given to forward.
    """

    _ndim: int = 0

    def __init__(self, kernel_size, stride=None, padding=0) -> None:
        super().__init__()
        op, n = type(self).__name__, self._ndim
        self.kernel_size = sp.ntuple(kernel_size, n, "kernel_size", op, minimum=1)
        self.stride = sp.ntuple(stride if stride is not None else kernel_size, n, "stride", op, minimum=1)
        self.padding = sp.ntuple(padding, n, "padding", op, minimum=0)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"

    def forward(self, input, indices, output_size=None) -> Tensor:
        unpool = getattr(F, f"max_unpool{self._ndim}d")
        return unpool(input, indices, self.kernel_size, self.stride, self.padding, output_size)


class MaxUnpool1d(_MaxUnpoolNd):
    """1-D max-unpooling, as ``torch.nn.MaxUnpool1d``."""

    _ndim = 1


class MaxUnpool2d(_MaxUnpoolNd):
    """2-D max-unpooling, as ``torch.nn.MaxUnpool2d``."""

    _ndim = 2


class MaxUnpool3d(_MaxUnpoolNd):
    """3-D max-unpooling, as ``torch.nn.MaxUnpool3d``."""

    _ndim = 3
