"""Sampling an image at arbitrary points (``grid_sample``), as one Function.

For input (N, C, H, W) and a grid (N, Ho, Wo, 2) of normalized points (x, y) in [-1, 1]
(x along W), each output pixel is the input read at that point: bilinearly from the four
neighbours, or from the nearest pixel (and trilinearly from eight for (N, C, D, H, W)
input and a (N, Do, Ho, Wo, 3) grid of (x, y, z)). The point is first mapped to pixel coordinates
(``align_corners``: -1 and 1 are the centres of the corner pixels, or their outer edges)
and then, for ``padding_mode`` 'border' or 'reflection', clipped or reflected into the
image; 'zeros' reads 0 outside it. The gradient flows to the input (scatter of the
weights) and, for bilinear sampling, to the grid (the slopes between the neighbours times
the derivative of the coordinate map).
"""

from __future__ import annotations

import itertools

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


class GridSample(Function):
    """``out[n, c, *o] = input[n, c]`` read at ``grid[n, *o]`` for 2 or 3 spatial axes.

    The grid's last axis lists the coordinates fastest axis first (x along W, y along H, z
    along D). Linear interpolation multiplies one 1-D weight per axis over the 2^k corners
    of the cell around the point.
    """

    def forward(self, x, grid, mode, padding_mode, align_corners):
        n, c, *spatial = x.shape
        k = len(spatial)
        self.mode, self.x_shape, self.grid_dtype = mode, x.shape, grid.dtype
        coords, self.slopes = [], []
        for axis in range(k):  # axis 0 = D (or H), grid component k-1-axis
            pixel, slope = _source(
                grid[..., k - 1 - axis].astype(np.float64), spatial[axis], padding_mode, align_corners
            )
            coords.append(pixel)
            self.slopes.append(slope)
        if mode == "nearest":
            corners = [([np.rint(p).astype(np.int64) for p in coords], np.ones_like(coords[0]))]
        else:
            base = [np.floor(p).astype(np.int64) for p in coords]
            self.fractions = [p - b for p, b in zip(coords, base)]
            corners = []
            for offsets in itertools.product((0, 1), repeat=k):
                weight = np.ones_like(coords[0])
                for t, o in zip(self.fractions, offsets):
                    weight = weight * (t if o else 1 - t)
                corners.append(([b + o for b, o in zip(base, offsets)], weight))
            self.offsets = list(itertools.product((0, 1), repeat=k))
        self.batch = np.arange(n).reshape(n, *([1] * k))
        self.taps, out = [], np.zeros((n, c, *grid.shape[1:-1]), dtype=np.float64)
        for index, weight in corners:
            valid = np.ones(weight.shape, dtype=bool)
            for i, size in zip(index, spatial):
                valid &= (i >= 0) & (i < size)
            clipped = tuple(np.clip(i, 0, size - 1) for i, size in zip(index, spatial))
            weight = weight * valid
            out += np.moveaxis(x[(self.batch, slice(None), *clipped)], -1, 1) * weight[:, None]
            self.taps.append((clipped, weight))
        if self.needs_input_grad[1] and mode == "bilinear":
            self.save_for_backward(x)
        return out.astype(x.dtype, copy=False)

    def backward(self, g):
        gx = ggrid = None
        if self.needs_input_grad[0]:
            gx = np.zeros(self.x_shape, dtype=np.float64)
            moved = np.moveaxis(gx, 1, -1)  # (N, *spatial, C) view: one C-vector per pixel
            for clipped, weight in self.taps:
                np.add.at(moved, (self.batch, *clipped), np.moveaxis(g * weight[:, None], 1, -1))
            gx = gx.astype(g.dtype, copy=False)
        if self.needs_input_grad[1]:
            ggrid = (
                self._grid_grad(g)
                if self.mode == "bilinear"
                else np.zeros((*g.shape[:1], *g.shape[2:], len(self.slopes)))
            )
            ggrid = ggrid.astype(self.grid_dtype, copy=False)
        return gx, ggrid, None, None, None

    def _grid_grad(self, g: np.ndarray) -> np.ndarray:
        """d out / d coordinate of each axis: the corners' values times the derivative of their
        weight (+-1 along that axis times the other axes' weights), summed over channels, times
        the derivative of the coordinate map."""
        (x,) = self.saved
        k = len(self.slopes)
        per_axis = [np.zeros(g.shape, dtype=np.float64) for _ in range(k)]
        for (clipped, weight), offsets in zip(self.taps, self.offsets):
            value = np.moveaxis(x[(self.batch, slice(None), *clipped)], -1, 1) * (weight != 0)[:, None]
            for axis in range(k):
                others = np.ones_like(self.fractions[0])
                for j, (t, o) in enumerate(zip(self.fractions, offsets)):
                    if j != axis:
                        others = others * (t if o else 1 - t)
                sign = 1.0 if offsets[axis] else -1.0
                per_axis[axis] += value * (sign * others)[:, None]
        # grid component j is axis k-1-j (x first)
        return np.stack(
            [(per_axis[k - 1 - j] * g).sum(axis=1) * self.slopes[k - 1 - j] for j in range(k)], axis=-1
        )
