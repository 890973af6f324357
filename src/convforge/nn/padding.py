"""Padding layers, one per mode and rank, as torch's: ZeroPad, ConstantPad, ReflectionPad,
ReplicationPad and CircularPad in 1d/2d/3d. Each holds ``padding`` as the 2n-tuple
``F.pad`` takes (last dimension first: ``(left, right, top, bottom, front, back)``)."""

from __future__ import annotations

from .. import functional as F
from .. import spec as sp
from ..autograd.tensor import Tensor
from .module import Module

__all__ = [
    "CircularPad1d",
    "CircularPad2d",
    "CircularPad3d",
    "ConstantPad1d",
    "ConstantPad2d",
    "ConstantPad3d",
    "ReflectionPad1d",
    "ReflectionPad2d",
    "ReflectionPad3d",
    "ReplicationPad1d",
    "ReplicationPad2d",
    "ReplicationPad3d",
    "ZeroPad1d",
    "ZeroPad2d",
    "ZeroPad3d",
]


def _padding_tuple(op: str, padding, n: int) -> tuple[int, ...]:
    """An int pads every side; otherwise exactly 2n ints in F.pad order."""
    if sp._is_int(padding):
        return (int(padding),) * (2 * n)
    if isinstance(padding, (tuple, list)) and all(sp._is_int(p) for p in padding):
        if len(padding) != 2 * n:
            raise ValueError(
                f"{op}: padding must be an int or {2 * n} ints, but got padding={tuple(padding)}"
            )
        return tuple(int(p) for p in padding)
    raise TypeError(f"{op}: padding must be an int or a tuple of {2 * n} ints, but got padding={padding!r}")


class _PadNd(Module):
    """What every mode shares: ``padding`` as F.pad's 2n-tuple; the forward of the
    non-constant modes (torch's rank check, then ``F.pad`` in ``_mode``)."""

    _n = 0
    _mode = "constant"

    def __init__(self, padding) -> None:
        super().__init__()
        self.padding = _padding_tuple(type(self).__name__, padding, self._n)

    def forward(self, input) -> Tensor:
        ndim = len(input.shape)
        if ndim not in (self._n + 1, self._n + 2):
            raise ValueError(
                f"{type(self).__name__}: expected {self._n + 1}D (unbatched) or {self._n + 2}D (batched) "
                f"input, but got {ndim}D input"
            )
        return F.pad(input, self.padding, self._mode)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class _ConstantPadNd(_PadNd):
    """ConstantPad1d/2d/3d (and ZeroPad): any rank, filled with ``value``."""

    def __init__(self, padding, value: float) -> None:
        super().__init__(padding)
        self.value = value

    def forward(self, input) -> Tensor:
        return F.pad(input, self.padding, "constant", self.value)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class _ReflectionPadNd(_PadNd):
    """ReflectionPad1d/2d/3d."""

    _mode = "reflect"


class _ReplicationPadNd(_PadNd):
    """ReplicationPad1d/2d/3d."""

    _mode = "replicate"


class _CircularPadNd(_PadNd):
    """CircularPad1d/2d/3d."""

    _mode = "circular"


class ConstantPad1d(_ConstantPadNd):
    """Pad the last dimension with ``value`` (negative padding crops). Shape: (*, W) -> (*, W + l + r)."""

    _n = 1


class ConstantPad2d(_ConstantPadNd):
    """Pad the last 2 dimensions with ``value``. Shape: (*, H, W) -> (*, H + t + b, W + l + r)."""

    _n = 2


class ConstantPad3d(_ConstantPadNd):
    """Pad the last 3 dimensions with ``value``. Shape: (*, D, H, W) -> each grown by its two pads."""

    _n = 3


class _ZeroPadNd(_ConstantPadNd):
    def __init__(self, padding) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ZeroPad1d(_ZeroPadNd):
    """Pad the last dimension with zeros. Shape: (*, W) -> (*, W + l + r)."""

    _n = 1


class ZeroPad2d(_ZeroPadNd):
    """Pad the last 2 dimensions with zeros. Shape: (*, H, W) -> (*, H + t + b, W + l + r)."""

    _n = 2


class ZeroPad3d(_ZeroPadNd):
    """Pad the last 3 dimensions with zeros. Shape: (*, D, H, W) -> each grown by its two pads."""

    _n = 3


class ReflectionPad1d(_ReflectionPadNd):
    """Mirror the last dimension at its edges (edge not repeated); pads < size. Shape: (C, W) or (N, C, W)."""

    _n = 1


class ReflectionPad2d(_ReflectionPadNd):
    """Mirror the last 2 dimensions. Shape: (C, H, W) or (N, C, H, W) -> grown by the pads."""

    _n = 2


class ReflectionPad3d(_ReflectionPadNd):
    """Mirror the last 3 dimensions. Shape: (C, D, H, W) or (N, C, D, H, W) -> grown by the pads."""

    _n = 3


class ReplicationPad1d(_ReplicationPadNd):
    """Repeat the edge values of the last dimension. Shape: (C, W) or (N, C, W) -> grown by the pads."""

    _n = 1


class ReplicationPad2d(_ReplicationPadNd):
    """Repeat the edge values of the last 2 dimensions. Shape: (C, H, W) or (N, C, H, W)."""

    _n = 2


class ReplicationPad3d(_ReplicationPadNd):
    """Repeat the edge values of the last 3 dimensions. Shape: (C, D, H, W) or (N, C, D, H, W)."""

    _n = 3


class CircularPad1d(_CircularPadNd):
    """Wrap the last dimension around (periodic padding). Shape: (C, W) or (N, C, W)."""

    _n = 1


class CircularPad2d(_CircularPadNd):
    """Wrap the last 2 dimensions around. Shape: (C, H, W) or (N, C, H, W)."""

    _n = 2


class CircularPad3d(_CircularPadNd):
    """Wrap the last 3 dimensions around. Shape: (C, D, H, W) or (N, C, D, H, W)."""

    _n = 3
