"""Pooling, max-unpooling, unfold and fold: array in, array out, on (N, C, *spatial).

Any number of spatial dimensions; the geometry comes from a valid :class:`~convforge.spec.PoolSpec`
(``spec.window_padding`` already holds the padding plus the cells ``ceil_mode`` windows reach
past it). Sliding windows are :func:`~convforge.kernels.windows.window_view` of the padded
input, and every backward that adds window values back is
:func:`~convforge.kernels.windows.accumulate_windows` (col2im) followed by a crop.

Max pooling follows torch's CPU kernel exactly: the scan visits a window's taps in C order and
keeps a value when ``value > best or isnan(value)``, starting from ``best = -inf`` at the
window's first tap inside the input. Hence the index of the *first* maximum, of the *last* NaN
when the window holds one (NaN propagates), and of the first tap inside the input when every
value is ``-inf``. Indices are flat positions in each (n, c) plane of the unpadded input.

Max and average pooling run as the compiled loops of :mod:`.pool_loops` (torch's kernels
written out) for float32/float64 when Numba is present; the NumPy window code here is the
fallback and computes the same values and indices.
"""

from __future__ import annotations

import math
from functools import reduce

import numpy as np

from ..spec import PoolSpec, adaptive_bounds
from . import pool_loops
from .windows import accumulate_windows, crop, window_view, zero_pad


# --------------------------------------------------------------------------------------
# shared window helpers
# --------------------------------------------------------------------------------------
def _windows(x: np.ndarray, spec: PoolSpec, fill: float) -> np.ndarray:
    """View ``(N, C, *out, *kernel)`` of ``x`` padded with ``fill`` by ``spec.window_padding``."""
    padded = zero_pad(x, spec.window_padding, value=fill)
    return window_view(padded, spec.kernel_size, spec.stride, spec.dilation, spec.out_spatial)


def _add_back(cols: np.ndarray, spec: PoolSpec) -> np.ndarray:
    """Adjoint of :func:`_windows`: ``cols (N, C, *kernel, *out)`` -> ``(N, C, *in)``."""
    in_spatial = spec.in_shape[2:]
    padded_spatial = tuple(i + lo + hi for i, (lo, hi) in zip(in_spatial, spec.window_padding))
    padded = accumulate_windows(cols, padded_spatial, spec.kernel_size, spec.stride, spec.dilation)
    return np.ascontiguousarray(crop(padded, spec.window_padding))


def _outer(per_dim: list[np.ndarray], combine=np.multiply) -> np.ndarray:
    """Combine 1-D arrays, one per spatial dimension, into an ``(*out)`` grid."""
    return reduce(combine, np.ix_(*per_dim)) if per_dim else np.ones(())


def _max_and_tap(windows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Max over the last axis and the tap torch's scan keeps (first max, last NaN).

    Shape: windows (..., K) -> values (...), taps (...) in ``[0, K)``.
    """
    values = windows.max(axis=-1)  # NaN propagates
    taps = np.argmax(windows == values[..., None], axis=-1)
    has_nan = np.isnan(values)
    if has_nan.any():
        last_nan = windows.shape[-1] - 1 - np.argmax(np.isnan(windows[..., ::-1]), axis=-1)
        taps = np.where(has_nan, last_nan, taps)
    return values, taps


def _input_index(
    origins: list[np.ndarray], taps: np.ndarray, kernel: tuple[int, ...], steps: tuple[int, ...], spatial
) -> np.ndarray:
    """Flat input position of tap ``taps`` of the window starting at ``origins``.

    ``origins[d]`` (out_d,) is where each window starts in dimension ``d`` (negative inside
    the left padding); tap coordinate ``t_d`` lies at ``origin + t_d*steps[d]``. Computed as
    torch does, ``(p_1*in_2 + p_2)*in_3 + ...``, without bounds checks.
    """
    coords = np.unravel_index(taps, kernel)
    index = np.zeros(taps.shape, dtype=np.int64)
    for origin, coord, step, size in zip(np.ix_(*origins), coords, steps, spatial):
        index = index * size + origin + coord * step
    return index


# --------------------------------------------------------------------------------------
# max pooling
# --------------------------------------------------------------------------------------
def _window_origins(spec: PoolSpec) -> list[np.ndarray]:
    """Start of every window in unpadded coordinates, per dimension: ``o*s - pad_lo``."""
    return [np.arange(o) * s - lo for o, s, (lo, _) in zip(spec.out_spatial, spec.stride, spec.padding)]


def _first_inside_taps(spec: PoolSpec, origins: list[np.ndarray]) -> np.ndarray:
    """Flat tap where torch's scan starts: per dimension the first tap at a position >= 0.

    A window starting at ``origin < 0`` skips ``ceil(-origin / dilation)`` taps; this is the
    index torch reports for a window whose values are all ``-inf``. Shape: ``(*out)``.
    """
    skipped = [-(np.minimum(origin, 0) // d) for origin, d in zip(origins, spec.dilation)]
    return np.ravel_multi_index(np.ix_(*skipped), spec.kernel_size)


def max_pool(x: np.ndarray, spec: PoolSpec) -> tuple[np.ndarray, np.ndarray]:
    """Max pooling with torch's indices (compiled loops where Numba handles the dtype).

    Shape: x (N, C, *in) -> values (N, C, *out), indices (N, C, *out) int64 flat positions in
    each (n, c) plane of ``x``.
    """
    if pool_loops.supports(x):
        return pool_loops.max_pool(x, spec)
    n_batch, channels = x.shape[:2]
    windows = _windows(x, spec, -np.inf)
    # (N, C, *out, K): one row per window, taps in C order
    flat = windows.reshape(n_batch, channels, *spec.out_spatial, math.prod(spec.kernel_size))
    values, taps = _max_and_tap(flat)
    origins = _window_origins(spec)
    # all -inf: the first hit may be a padding tap; torch keeps its first tap inside the input
    taps = np.where(np.isneginf(values), _first_inside_taps(spec, origins), taps)
    indices = _input_index(origins, taps, spec.kernel_size, spec.dilation, spec.in_shape[2:])
    return values, indices


def _reads_input(spec: PoolSpec) -> np.ndarray:
    """``(*out)`` bool: whether a window has a tap inside the input (dilation and padding
    can put every tap of a window in the padding)."""
    per_dim = []
    for origin, i, k, d in zip(_window_origins(spec), spec.in_shape[2:], spec.kernel_size, spec.dilation):
        first = origin + (-(np.minimum(origin, 0) // d)) * d
        per_dim.append((first < np.minimum(origin + (k - 1) * d + 1, i)).astype(np.int8))
    return _outer(per_dim).astype(bool)  # as 0/1 ints: np.ix_ reads boolean arrays as masks


def max_pool_backward(grad: np.ndarray, indices: np.ndarray, spec: PoolSpec) -> np.ndarray:
    """Route each output gradient to its window's maximum, adding up in output order where
    windows share a cell (as torch); a window that reads no input passes nothing on.

    Shape: grad, indices (N, C, *out) -> (N, C, *in).
    """
    if pool_loops.supports(grad):
        return pool_loops.max_pool_backward(grad, indices, spec)
    kept = np.where(_reads_input(spec), grad, np.zeros((), grad.dtype))
    total = _scatter_add(kept, np.where(_reads_input(spec), indices, 0), math.prod(spec.in_shape[2:]))
    return total.reshape(*grad.shape[:2], *spec.in_shape[2:])


# --------------------------------------------------------------------------------------
# average pooling
# --------------------------------------------------------------------------------------
def _avg_divisor(spec: PoolSpec, dtype) -> np.ndarray:
    """torch's divisor per output, ``(*out)``.

    Per dimension a window ``[start, start + k)`` is first clipped to the padded input
    ``[-pad, in + pad)`` (ceil_mode windows overhang it); ``count_include_pad`` counts that
    extent, otherwise only its part inside ``[0, in)``. Windows are boxes, so the divisor
    is the product over dimensions; ``divisor_override`` replaces it. (No dilation here.)
    """
    if spec.divisor_override is not None:
        return np.asarray(spec.divisor_override, dtype=dtype)
    lengths = []
    for origin, i, k, (_, hi) in zip(
        _window_origins(spec), spec.in_shape[2:], spec.kernel_size, spec.padding
    ):
        end = np.minimum(origin + k, i + hi)
        if spec.count_include_pad:
            lengths.append(end - origin)
        else:
            lengths.append(np.minimum(end, i) - np.maximum(origin, 0))
    return _outer(lengths).astype(dtype)


def avg_pool(x: np.ndarray, spec: PoolSpec) -> np.ndarray:
    """Average pooling. Shape: (N, C, *in) -> (N, C, *out)."""
    if pool_loops.supports(x):
        return pool_loops.avg_pool(x, spec)
    windows = _windows(x, spec, 0.0)
    total = windows.sum(axis=tuple(range(-spec.ndim, 0)))
    return total / _avg_divisor(spec, x.dtype)


def avg_pool_backward(grad: np.ndarray, spec: PoolSpec) -> np.ndarray:
    """Each window spreads ``grad / divisor`` evenly over its cells (col2im adds overlaps).

    Shape: grad (N, C, *out) -> (N, C, *in).
    """
    if pool_loops.supports(grad):
        return pool_loops.avg_pool_backward(grad, spec)
    n_batch, channels = grad.shape[:2]
    share = grad / _avg_divisor(spec, grad.dtype)
    share = share.reshape(n_batch, channels, *(1,) * spec.ndim, *spec.out_spatial)
    cols = np.broadcast_to(share, (n_batch, channels, *spec.kernel_size, *spec.out_spatial))
    return _add_back(cols, spec)


# --------------------------------------------------------------------------------------
# adaptive pooling: torch's windows [floor(i*in/out), ceil((i+1)*in/out)) per dimension
# --------------------------------------------------------------------------------------
def _bounds(in_spatial, out_spatial) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Window starts and lengths per dimension, each ``(out_d,)`` int64."""
    starts, lengths = [], []
    for i, o in zip(in_spatial, out_spatial):
        bounds = np.array(adaptive_bounds(i, o), dtype=np.int64).reshape(o, 2)
        starts.append(bounds[:, 0])
        lengths.append(bounds[:, 1] - bounds[:, 0])
    return starts, lengths


def _window_sums_matrix(in_size: int, out_size: int, dtype) -> np.ndarray:
    """``(out, in)`` 0/1 matrix: row ``o`` sums adaptive window ``o``."""
    matrix = np.zeros((out_size, in_size), dtype=dtype)
    for o, (start, end) in enumerate(adaptive_bounds(in_size, out_size)):
        matrix[o, start:end] = 1
    return matrix


def _contract(x: np.ndarray, matrix: np.ndarray, axis: int) -> np.ndarray:
    """Apply ``matrix (m, x.shape[axis])`` along ``axis``: that axis becomes size ``m``."""
    return np.moveaxis(np.tensordot(matrix, x, axes=([1], [axis])), 0, axis)


def adaptive_avg_pool(x: np.ndarray, out_spatial: tuple[int, ...]) -> np.ndarray:
    """Adaptive average pooling.

    Box windows make the window sums separable: one 0/1 matrix product per dimension, then
    one division by the window volumes (torch's ``sum / (len_1*len_2*...)``).

    Shape: (N, C, *in) -> (N, C, *out_spatial).
    """
    total = x
    for axis, (i, o) in enumerate(zip(x.shape[2:], out_spatial), start=2):
        total = _contract(total, _window_sums_matrix(i, o, x.dtype), axis)
    _, lengths = _bounds(x.shape[2:], out_spatial)
    return total / _outer(lengths).astype(x.dtype)


def adaptive_avg_pool_backward(grad: np.ndarray, in_spatial: tuple[int, ...]) -> np.ndarray:
    """Transpose of :func:`adaptive_avg_pool`. Shape: (N, C, *out) -> (N, C, *in_spatial)."""
    _, lengths = _bounds(in_spatial, grad.shape[2:])
    result = grad / _outer(lengths).astype(grad.dtype)
    for axis, (i, o) in enumerate(zip(in_spatial, grad.shape[2:]), start=2):
        result = _contract(result, _window_sums_matrix(i, o, grad.dtype).T, axis)
    return np.ascontiguousarray(result)


def adaptive_max_pool(x: np.ndarray, out_spatial: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Adaptive max pooling with torch's indices (see the module docstring).

    Windows differ in length, so each is gathered into a box of the longest length per
    dimension, the missing cells filled with ``-inf``; a window's first tap is always inside
    it, so the ``-inf`` filler never wins.

    Shape: (N, C, *in) -> values, indices (N, C, *out_spatial).
    """
    nd = len(out_spatial)
    n_batch, channels, *in_spatial = x.shape
    starts, lengths = _bounds(in_spatial, out_spatial)
    longest = tuple(int(length.max(initial=1)) for length in lengths)
    cells, inside = [], []
    for d, (start, length, k, size) in enumerate(zip(starts, lengths, longest, in_spatial)):
        tap = np.arange(k)
        # (out_d, k_d) placed on axes d and nd + d of a 2*nd-axis grid
        grid_shape = [1] * (2 * nd)
        grid_shape[d], grid_shape[nd + d] = len(start), k
        cells.append(np.minimum(start[:, None] + tap, size - 1).reshape(grid_shape))
        inside.append((tap < length[:, None]).reshape(grid_shape))
    gathered = x[(slice(None), slice(None), *cells)]  # (N, C, *out, *longest)
    windows = np.where(reduce(np.logical_and, inside), gathered, np.array(-np.inf, dtype=x.dtype))
    values, taps = _max_and_tap(windows.reshape(n_batch, channels, *out_spatial, math.prod(longest)))
    indices = _input_index(starts, taps, longest, (1,) * nd, in_spatial)
    return values, indices


def _scatter_add(values: np.ndarray, indices: np.ndarray, plane: int) -> np.ndarray:
    """Sum ``values`` into cells ``indices`` of each (n, c) plane of ``plane`` cells.

    Shape: values, indices (N, C, *) -> (N, C, plane).
    """
    n_batch, channels = values.shape[:2]
    plane_offsets = (np.arange(n_batch * channels) * plane).reshape(
        n_batch, channels, *(1,) * (values.ndim - 2)
    )
    totals = np.bincount(
        (indices + plane_offsets).ravel(), weights=values.ravel(), minlength=n_batch * channels * plane
    )
    return totals.astype(values.dtype).reshape(n_batch, channels, plane)


def adaptive_max_pool_backward(
    grad: np.ndarray, indices: np.ndarray, in_spatial: tuple[int, ...]
) -> np.ndarray:
    """Route each output gradient to its argmax; windows may overlap (and repeat when
    upsampling), so gradients meeting in a cell add up.

    Shape: grad, indices (N, C, *out) -> (N, C, *in_spatial).
    """
    total = _scatter_add(grad, indices, math.prod(in_spatial))
    return total.reshape(*grad.shape[:2], *in_spatial)


# --------------------------------------------------------------------------------------
# max unpooling
# --------------------------------------------------------------------------------------
def max_unpool(x: np.ndarray, indices: np.ndarray, out_spatial: tuple[int, ...]) -> np.ndarray:
    """Scatter ``x`` into zeros at ``indices`` (flat, per (n, c) plane); where indices repeat
    the last write wins (torch leaves that order unspecified).

    Shape: x, indices (N, C, *in) -> (N, C, *out_spatial).
    """
    n_batch, channels = x.shape[:2]
    result = np.zeros((n_batch, channels, math.prod(out_spatial)), dtype=x.dtype)
    np.put_along_axis(
        result, indices.reshape(n_batch, channels, -1), x.reshape(n_batch, channels, -1), axis=-1
    )
    return result.reshape(n_batch, channels, *out_spatial)


def max_unpool_backward(grad: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """Gather the output gradient at ``indices``. Shape: (N, C, *out) -> indices.shape."""
    n_batch, channels = grad.shape[:2]
    gathered = np.take_along_axis(
        grad.reshape(n_batch, channels, -1), indices.reshape(n_batch, channels, -1), axis=-1
    )
    return gathered.reshape(indices.shape)


# --------------------------------------------------------------------------------------
# unfold / fold
# --------------------------------------------------------------------------------------
def unfold(x: np.ndarray, spec: PoolSpec) -> np.ndarray:
    """im2col in torch's layout: rows are (channel, tap) channel-major, columns the blocks.

    Shape: (N, C, *in) -> (N, C*prod(kernel), L) with ``L = prod(spec.out_spatial)``.
    """
    n_batch, channels = x.shape[:2]
    nd = spec.ndim
    windows = _windows(x, spec, 0.0)
    # (N, C, *out, *K) -> (N, C, *K, *out)
    order = (0, 1, *range(2 + nd, 2 + 2 * nd), *range(2, 2 + nd))
    return windows.transpose(order).reshape(
        n_batch, channels * math.prod(spec.kernel_size), math.prod(spec.out_spatial)
    )


def fold(cols: np.ndarray, spec: PoolSpec) -> np.ndarray:
    """col2im, the adjoint of :func:`unfold`: overlapping blocks add up.

    Shape: (N, C*prod(kernel), L) -> (N, C, *spec.in_shape[2:]).
    """
    n_batch, channels = cols.shape[0], spec.in_shape[1]
    return _add_back(cols.reshape(n_batch, channels, *spec.kernel_size, *spec.out_spatial), spec)
