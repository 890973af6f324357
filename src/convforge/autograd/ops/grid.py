"""Sampling an image at arbitrary points (``grid_sample``), as one Function.

For input (N, C, H, W) and a grid (N, Ho, Wo, 2) of normalized points (x, y) in [-1, 1]
(x along W), each output pixel is the input read at that point: bilinearly from the four
neighbours, or from the nearest pixel. The point is first mapped to pixel coordinates
(``align_corners``: -1 and 1 are the centres of the corner pixels, or their outer edges)
and then, for ``padding_mode`` 'border' or 'reflection', clipped or reflected into the
image; 'zeros' reads 0 outside it. The gradient flows to the input (scatter of the
weights) and, for bilinear sampling, to the grid (the slopes between the neighbours times
the derivative of the coordinate map).
"""

from __future__ import annotations

import numpy as np

from ..function import Function


def _unnormalize(coord: np.ndarray, size: int, align_corners: bool) -> tuple[np.ndarray, float]:
    """Pixel coordinate of a normalized one, and d(pixel)/d(normalized)."""
    if align_corners:
        return (coord + 1) / 2 * (size - 1), (size - 1) / 2
    return ((coord + 1) * size - 1) / 2, size / 2


def _reflect(coord: np.ndarray, twice_low: float, twice_high: float) -> tuple[np.ndarray, np.ndarray]:
    """torch's ``reflect_coordinates``: fold ``coord`` into [low, high]; also d(out)/d(in) = +-1."""
    if twice_low == twice_high:
        return np.zeros_like(coord), np.zeros_like(coord)
    low, span = twice_low / 2, (twice_high - twice_low) / 2
    shifted = coord - low
    sign = np.where(shifted < 0, -1.0, 1.0)
    distance = np.abs(shifted)
    extra = np.fmod(distance, span)
    flips = np.floor(distance / span)
    even = flips % 2 == 0
    out = np.where(even, extra + low, span - extra + low)
    return out, np.where(even, sign, -sign)


def _source(coord, size: int, padding_mode: str, align_corners: bool) -> tuple[np.ndarray, np.ndarray]:
    """Pixel coordinates of normalized ``coord`` after padding, and their derivative."""
    pixel, scale = _unnormalize(coord, size, align_corners)
    slope = np.full_like(pixel, scale)
    if padding_mode == "reflection":
        twice = (0.0, 2.0 * (size - 1)) if align_corners else (-1.0, 2.0 * size - 1)
        pixel, flip = _reflect(pixel, *twice)
        slope = slope * flip
    if padding_mode in ("border", "reflection"):
        inside = (pixel > 0) & (pixel < size - 1)
        pixel = np.clip(pixel, 0, size - 1)
        slope = slope * inside
    return pixel, slope


class GridSample2d(Function):
    """``out[n, c, i, j] = input[n, c]`` read at ``grid[n, i, j]`` (see the module docstring)."""

    def forward(self, x, grid, mode, padding_mode, align_corners):
        n, c, h, w = x.shape
        ix, self.dx = _source(grid[..., 0].astype(np.float64), w, padding_mode, align_corners)
        iy, self.dy = _source(grid[..., 1].astype(np.float64), h, padding_mode, align_corners)
        self.mode, self.x_shape, self.grid_dtype = mode, x.shape, grid.dtype
        if mode == "nearest":
            taps = [(np.rint(iy).astype(np.int64), np.rint(ix).astype(np.int64), np.ones_like(ix))]
        else:
            x0, y0 = np.floor(ix).astype(np.int64), np.floor(iy).astype(np.int64)
            tx, ty = ix - x0, iy - y0
            taps = [(y0, x0, (1 - ty) * (1 - tx)), (y0, x0 + 1, (1 - ty) * tx),
                    (y0 + 1, x0, ty * (1 - tx)), (y0 + 1, x0 + 1, ty * tx)]  # fmt: skip
            self.tx, self.ty = tx, ty
        batch = np.arange(n)[:, None, None]
        self.taps = []
        out = np.zeros((n, c, *grid.shape[1:3]), dtype=np.float64)
        for yy, xx, weight in taps:
            valid = (yy >= 0) & (yy < h) & (xx >= 0) & (xx < w)
            yc, xc = np.clip(yy, 0, h - 1), np.clip(xx, 0, w - 1)
            weight = weight * valid
            out += x[batch, :, yc, xc].transpose(0, 3, 1, 2) * weight[:, None]  # (N, C, Ho, Wo)
            self.taps.append((yc, xc, weight))
        if self.needs_input_grad[1] and mode == "bilinear":
            self.save_for_backward(x)
        return out.astype(x.dtype, copy=False)

    def backward(self, g):
        n = g.shape[0]
        batch = np.arange(n)[:, None, None]
        gx = ggrid = None
        if self.needs_input_grad[0]:
            gx = np.zeros(self.x_shape, dtype=np.float64)
            moved = np.moveaxis(gx, 1, -1)  # (N, H, W, C) view: one C-vector per pixel
            for yc, xc, weight in self.taps:
                np.add.at(moved, (batch, yc, xc), (g * weight[:, None]).transpose(0, 2, 3, 1))
            gx = gx.astype(g.dtype, copy=False)
        if self.needs_input_grad[1] and self.mode == "bilinear":
            ggrid = self._grid_grad(g, batch)
        elif self.needs_input_grad[1]:
            ggrid = np.zeros((*g.shape[:1], *g.shape[2:], 2), dtype=self.grid_dtype)
        return gx, ggrid, None, None, None

    def _grid_grad(self, g: np.ndarray, batch: np.ndarray) -> np.ndarray:
        """d out / d(ix, iy) from the four corners, summed over channels, times d(i)/d(grid)."""
        (x,) = self.saved
        v = [
            x[batch, :, yc, xc].transpose(0, 3, 1, 2) * (weight != 0)[:, None] for yc, xc, weight in self.taps
        ]
        v00, v01, v10, v11 = v  # (N, C, Ho, Wo): (y0, x0), (y0, x1), (y1, x0), (y1, x1)
        tx, ty = self.tx[:, None], self.ty[:, None]
        d_ix = ((v01 - v00) * (1 - ty) + (v11 - v10) * ty) * g
        d_iy = ((v10 - v00) * (1 - tx) + (v11 - v01) * tx) * g
        grid_grad = np.stack([d_ix.sum(axis=1) * self.dx, d_iy.sum(axis=1) * self.dy], axis=-1)
        return grid_grad.astype(self.grid_dtype, copy=False)
