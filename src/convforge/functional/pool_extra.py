"""Power-average (LP) pooling and torch's ``*_with_indices`` spellings of the max pools.

``lp_pool`` is composed as torch's: ``(avg_pool(x^p) * prod(kernel))^(1/p)``, that is
``(sum over the window of x^p)^(1/p)`` (p = 1: sum pooling; p -> inf: max pooling).
"""

from __future__ import annotations

import math

from .. import spec as sp
from ..autograd.tensor import Tensor
from ._common import _float_tensor
from .pool import (
    adaptive_max_pool1d,
    adaptive_max_pool2d,
    adaptive_max_pool3d,
    avg_pool1d,
    avg_pool2d,
    avg_pool3d,
    max_pool1d,
    max_pool2d,
    max_pool3d,
)

__all__ = [
    "adaptive_max_pool1d_with_indices",
    "adaptive_max_pool2d_with_indices",
    "adaptive_max_pool3d_with_indices",
    "lp_pool1d",
    "lp_pool2d",
    "lp_pool3d",
    "max_pool1d_with_indices",
    "max_pool2d_with_indices",
    "max_pool3d_with_indices",
]


def _lp_pool(op: str, n: int, avg_pool, input, norm_type, kernel_size, stride, ceil_mode) -> Tensor:
    if isinstance(norm_type, bool) or not isinstance(norm_type, (int, float)) or norm_type == 0:
        raise ValueError(f"{op}: norm_type must be a non-zero number, but got norm_type={norm_type!r}")
    x = _float_tensor(op, "input", input)
    kernel = sp.ntuple(kernel_size, n, "kernel_size", op, minimum=1)
    pooled = avg_pool(x**norm_type, kernel, stride, 0, ceil_mode)
    return (pooled * math.prod(kernel)) ** (1.0 / norm_type)


def lp_pool1d(input, norm_type: float, kernel_size, stride=None, ceil_mode: bool = False) -> Tensor:
    """``(sum of x^p over each window)^(1/p)``. Shape: (N, C, L) -> (N, C, L_out), as avg_pool1d."""
    return _lp_pool("lp_pool1d", 1, avg_pool1d, input, norm_type, kernel_size, stride, ceil_mode)


def lp_pool2d(input, norm_type: float, kernel_size, stride=None, ceil_mode: bool = False) -> Tensor:
    """``(sum of x^p over each window)^(1/p)``. Shape: (N, C, H, W) -> as avg_pool2d."""
    return _lp_pool("lp_pool2d", 2, avg_pool2d, input, norm_type, kernel_size, stride, ceil_mode)


def lp_pool3d(input, norm_type: float, kernel_size, stride=None, ceil_mode: bool = False) -> Tensor:
    """``(sum of x^p over each window)^(1/p)``. Shape: (N, C, D, H, W) -> as avg_pool3d."""
    return _lp_pool("lp_pool3d", 3, avg_pool3d, input, norm_type, kernel_size, stride, ceil_mode)


def max_pool1d_with_indices(
    input,
    kernel_size,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode: bool = False,
    return_indices: bool = False,
):
    """``max_pool1d(..., return_indices=True)``: (values, indices), as torch's."""
    return max_pool1d(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices=True)


def max_pool2d_with_indices(
    input,
    kernel_size,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode: bool = False,
    return_indices: bool = False,
):
    """``max_pool2d(..., return_indices=True)``: (values, indices), as torch's."""
    return max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices=True)


def max_pool3d_with_indices(
    input,
    kernel_size,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode: bool = False,
    return_indices: bool = False,
):
    """``max_pool3d(..., return_indices=True)``: (values, indices), as torch's."""
    return max_pool3d(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices=True)


def adaptive_max_pool1d_with_indices(input, output_size, return_indices: bool = False):
    """``adaptive_max_pool1d(..., return_indices=True)``: (values, indices)."""
    return adaptive_max_pool1d(input, output_size, return_indices=True)


def adaptive_max_pool2d_with_indices(input, output_size, return_indices: bool = False):
    """``adaptive_max_pool2d(..., return_indices=True)``: (values, indices)."""
    return adaptive_max_pool2d(input, output_size, return_indices=True)


def adaptive_max_pool3d_with_indices(input, output_size, return_indices: bool = False):
    """``adaptive_max_pool3d(..., return_indices=True)``: (values, indices)."""
    return adaptive_max_pool3d(input, output_size, return_indices=True)
