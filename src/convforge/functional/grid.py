"""Spatial transformers: ``affine_grid`` (the sampling points of an affine map) and
``grid_sample`` (the input read at those points), as torch's, in 2-D and 3-D."""

from __future__ import annotations

import warnings

import numpy as np

from .. import spec as sp
from ..autograd.ops.grid import GridSample
from ..autograd.tensor import Tensor
from ._common import _float_tensor

__all__ = ["affine_grid", "grid_sample"]

_ALIGN_WARNING = (
    "Default grid_sample and affine_grid behavior has changed to align_corners=False since 1.3.0. "
    "Please specify align_corners=True if the old behavior is desired."
)


def _align(align_corners) -> bool:
    if align_corners is None:
        warnings.warn(_ALIGN_WARNING, UserWarning, stacklevel=3)
        return False
    return bool(align_corners)


def _base_coords(size: int, align_corners: bool, dtype) -> np.ndarray:
    """The normalized centres of ``size`` pixels: from -1 to 1 (aligned) or half a pixel in."""
    if size == 1:
        return np.zeros(1, dtype=dtype)
    coords = np.linspace(-1.0, 1.0, size)
    return (coords if align_corners else coords * (size - 1) / size).astype(dtype)


def affine_grid(theta, size, align_corners: bool | None = None) -> Tensor:
    """The points ``theta @ (x, y[, z], 1)`` for every output pixel's normalized centre.

    Differentiable in ``theta``. Shape: theta (N, 2, 3) with size (N, C, H, W) -> grid
    (N, H, W, 2); theta (N, 3, 4) with size (N, C, D, H, W) -> grid (N, D, H, W, 3).
    """
    op = "affine_grid"
    t = _float_tensor(op, "theta", theta)
    aligned = _align(align_corners)
    if not isinstance(size, (tuple, list)) or not all(sp._is_int(s) for s in size):
        raise TypeError(f"{op}: size must be a sequence of ints (N, C, H, W), but got size={size!r}")
    if len(size) not in (4, 5):
        raise ValueError(f"{op}: size must be (N, C, H, W) or (N, C, D, H, W), but got size={list(size)}")
    n, spatial = int(size[0]), [int(s) for s in size[2:]]
    k = len(spatial)
    if t.shape != (n, k, k + 1):
        raise ValueError(
            f"{op}: expected theta of shape ({n}, {k}, {k + 1}) for size {list(size)}, but got {t.shape}"
        )
    if min(size) <= 0:
        raise ValueError(f"{op}: size must be positive, but got size={list(size)}")
    if aligned and min(spatial) == 1:
        warnings.warn(
            "affine_grid: with align_corners=True a unit-size grid axis is the point 0 (as torch since "
            "1.3.0), which is not an intended use of affine_grid",
            UserWarning,
            stacklevel=2,
        )
    # coordinates fastest axis first: x over the last spatial axis, then y, then z
    axes = [_base_coords(s, aligned, t.dtype) for s in reversed(spatial)]
    mesh = np.meshgrid(*[axes[j] for j in reversed(range(k))], indexing="ij")  # each of shape spatial
    base = np.stack([*reversed(mesh), np.ones(spatial, t.dtype)], axis=-1)  # (*spatial, k + 1)
    flat = Tensor(base.reshape(1, -1, k + 1))
    return (flat @ t.permute(0, 2, 1)).reshape(n, *spatial, k)  # (N, P, k+1) @ (N, k+1, k)


def grid_sample(
    input, grid, mode: str = "bilinear", padding_mode: str = "zeros", align_corners: bool | None = None
) -> Tensor:
    """Read ``input`` at the normalized points of ``grid`` (x along the width, y along the height).

    ``mode`` 'bilinear' or 'nearest' (ties to even, as torch); ``padding_mode`` 'zeros',
    'border' or 'reflection'. Differentiable in the input and, for bilinear, in the grid.

    Shape: input (N, C, H, W), grid (N, Ho, Wo, 2) -> (N, C, Ho, Wo); input (N, C, D, H, W),
    grid (N, Do, Ho, Wo, 3) -> (N, C, Do, Ho, Wo) ('bilinear' is then trilinear, as torch).
    """
    op = "grid_sample"
    x, g = _float_tensor(op, "input", input), _float_tensor(op, "grid", grid)
    if mode not in ("bilinear", "nearest", "bicubic"):
        raise ValueError(f"{op}: mode must be 'bilinear', 'nearest' or 'bicubic', but got mode={mode!r}")
    if mode == "bicubic":
        raise ValueError(f"{op}: mode='bicubic' is not provided by convforge; use 'bilinear' or 'nearest'")
    if x.ndim not in (4, 5):
        raise ValueError(
            f"{op}: input must be (N, C, H, W) or (N, C, D, H, W), but got input of shape {x.shape}"
        )
    if padding_mode not in ("zeros", "border", "reflection"):
        raise ValueError(
            f"{op}: padding_mode must be 'zeros', 'border' or 'reflection', but got padding_mode={padding_mode!r}"
        )
    aligned = _align(align_corners)
    k = x.ndim - 2
    if g.ndim != x.ndim or g.shape[-1] != k or g.shape[0] != x.shape[0]:
        raise ValueError(
            f"{op}: grid must have shape ({x.shape[0]}, *out, {k}) for input of shape {x.shape}, "
            f"but got grid of shape {g.shape}"
        )
    if g.dtype != x.dtype:
        raise TypeError(f"{op}: input and grid must have the same dtype, but got {x.dtype} and {g.dtype}")
    return GridSample.apply(x, g, mode, padding_mode, aligned)
