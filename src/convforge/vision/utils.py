"""``torchvision.utils``: ``make_grid`` (a batch of images as one image) and ``save_image``."""

from __future__ import annotations

import math
import os
from typing import BinaryIO

import numpy as np
from PIL import Image

from ..autograd import Tensor


def _as_batch(tensor) -> np.ndarray:
    """(B, C, H, W) float array from a Tensor/array of 2-4 dims or a list of (C, H, W) images."""
    if isinstance(tensor, (list, tuple)):
        arrays = [t.array if isinstance(t, Tensor) else np.asarray(t) for t in tensor]
        if len({a.shape for a in arrays}) > 1:
            raise ValueError(
                f"make_grid: all images must have the same shape, got {[a.shape for a in arrays]}"
            )
        array = np.stack(arrays)
    elif isinstance(tensor, (Tensor, np.ndarray)):
        array = tensor.array if isinstance(tensor, Tensor) else tensor
    else:
        raise TypeError(f"tensor or list of tensors expected, got {type(tensor)}")
    if array.ndim == 2:
        array = array[None]
    if array.ndim == 3:
        array = array[None]
    if array.ndim != 4:
        raise ValueError(f"make_grid: expected 2-D, 3-D or 4-D images, got shape {array.shape}")
    if array.shape[1] == 1:  # single-channel images become 3 equal channels, as torchvision
        array = np.repeat(array, 3, axis=1)
    return array


def _normalize(array: np.ndarray, value_range) -> np.ndarray:
    low, high = (float(array.min()), float(array.max())) if value_range is None else value_range
    return (np.clip(array, low, high) - low) / max(high - low, 1e-5)


def make_grid(
    tensor,
    nrow: int = 8,
    padding: int = 2,
    normalize: bool = False,
    value_range: tuple[float, float] | None = None,
    scale_each: bool = False,
    pad_value: float = 0.0,
) -> Tensor:
    """Lay a batch of images out in a grid of ``nrow`` columns, ``padding`` pixels apart.

    Parameters
    ----------
    tensor : Tensor (B, C, H, W) or list of (C, H, W) Tensors
        2-D and 3-D inputs are one image; 1-channel images become 3 equal channels.
    nrow : int
        Images per row.
    padding : int
        Pixels between images and around the grid, filled with ``pad_value``.
    normalize : bool
        Shift and scale to [0, 1] by ``value_range`` (default: the min and max).
    scale_each : bool
        With ``normalize``, each image by its own min and max.

    Shape:
        ``(B, C, H, W)`` -> ``(C, rows * (H + padding) + padding, cols * (W + padding) + padding)``
        with ``cols = min(nrow, B)``, ``rows = ceil(B / cols)``; a single image is returned as is.
    """
    array = _as_batch(tensor)
    if normalize:
        array = array.astype(np.result_type(array.dtype, np.float32))
        if scale_each:
            array = np.stack([_normalize(image, value_range) for image in array])
        else:
            array = _normalize(array, value_range)
    count, channels, height, width = array.shape
    if count == 1:
        return Tensor(array[0].copy())
    columns = min(nrow, count)
    rows = math.ceil(count / columns)
    cell_h, cell_w = height + padding, width + padding
    grid = np.full(
        (channels, rows * cell_h + padding, columns * cell_w + padding), pad_value, dtype=array.dtype
    )
    for k in range(count):
        top, left = (k // columns) * cell_h + padding, (k % columns) * cell_w + padding
        grid[:, top : top + height, left : left + width] = array[k]
    return Tensor(grid)


def save_image(tensor, fp: str | os.PathLike | BinaryIO, format: str | None = None, **kwargs) -> None:
    """Save a tensor (or a batch, as :func:`make_grid` lays it out) as an image file.

    Values are taken as in [0, 1]: pixel = clamp(x * 255 + 0.5, 0, 255) as uint8, as
    torchvision. ``kwargs`` go to :func:`make_grid`; ``format`` to PIL (else from the name).
    """
    grid = make_grid(tensor, **kwargs).array
    if grid.ndim == 2:
        grid = grid[None]
    pixels = np.clip(grid * 255 + 0.5, 0, 255).astype(np.uint8).transpose(1, 2, 0)  # (H, W, C)
    if pixels.shape[2] == 1:
        pixels = pixels[:, :, 0]
    Image.fromarray(np.ascontiguousarray(pixels)).save(fp, format=format)
