"""Resizing: ``interpolate`` (nearest, nearest-exact, linear, bilinear, bicubic, trilinear,
area; ``align_corners``, antialiasing) and the sub-pixel ``pixel_shuffle``/``pixel_unshuffle``.

``interpolate`` builds, for each spatial axis, the (out, in) matrix of the 1-D resampling
torch performs along it, with torch's coordinate rules, and applies them with one
differentiable :class:`~convforge.autograd.ops.resample.Resample`. For an axis of input
size ``n``, output size ``m`` and output index ``o``:

* scale ``s = n / m``, or ``1 / scale_factor`` when a scale factor is given (and not
  recomputed); with ``align_corners=True``, ``s = (n - 1) / (m - 1)``;
* nearest: ``i = min(floor(o s), n - 1)`` (in the input's precision, as torch); nearest-exact:
  ``i = min(floor((o + 0.5) s), n - 1)``;
* linear: source ``x = s (o + 0.5) - 0.5`` clamped at 0 (``x = s o`` with aligned corners),
  taps ``floor(x)`` and the next one (clamped), weights ``1 - t`` and ``t``, ``t = x - floor(x)``;
* cubic: the same source without the clamp, taps ``floor(x) - 1 .. floor(x) + 2`` clamped to
  the edge, Keys' cubic convolution weights with ``A = -0.75``;
* area: the adaptive average pool's bins ``[floor(o n / m), ceil((o + 1) n / m))``;
* antialias (bilinear/bicubic, when shrinking): the linear or cubic (``A = -0.5``) filter
  stretched by ``s``, normalized to sum 1 (Pillow's rule, as torch).
"""

from __future__ import annotations

import functools
import math
import warnings

import numpy as np
from scipy import sparse

from .. import spec as sp
from ..autograd.ops.resample import Resample
from ..autograd.tensor import Tensor
from ._common import _float_tensor, _tensor

__all__ = [
    "interpolate",
    "pixel_shuffle",
    "pixel_unshuffle",
    "upsample",
    "upsample_bilinear",
    "upsample_nearest",
]

MODES = ("nearest", "linear", "bilinear", "bicubic", "trilinear", "area", "nearest-exact")
_LINEAR_MODES = {"linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3}
CUBIC_A = -0.75  # Keys' cubic convolution parameter torch uses for bicubic
CUBIC_A_ANTIALIAS = -0.5  # and for antialiased bicubic (Pillow's)


# ---- one axis ---------------------------------------------------------------------------
def _scale(n: int, m: int, align_corners: bool, scale_factor: float | None) -> float:
    """torch's ``area_pixel_compute_scale``: output-to-input coordinate ratio."""
    if align_corners:
        return (n - 1) / (m - 1) if m > 1 else 0.0
    return 1.0 / scale_factor if scale_factor is not None and scale_factor > 0 else n / m


def _nearest_matrix(n: int, m: int, scale_factor: float | None, exact: bool, dtype: np.dtype) -> np.ndarray:
    """One tap per output; the scale and the products in ``dtype`` (float32 for float32 input,
    as torch: the float64 floor picks a different index for some sizes, e.g. 26 -> 22)."""
    one = dtype.type(1)
    scale = one / dtype.type(scale_factor) if scale_factor else dtype.type(n) / dtype.type(m)
    o = np.arange(m, dtype=dtype)
    src = np.floor((o + dtype.type(0.5)) * scale if exact else o * scale).astype(np.int64)
    matrix = np.zeros((m, n))
    matrix[np.arange(m), np.minimum(src, n - 1)] = 1.0
    return matrix


def _cubic_near(d, a: float):
    """Keys' cubic convolution kernel for a tap at distance ``d <= 1``."""
    return ((a + 2) * d - (a + 3)) * d * d + 1


def _cubic_far(d, a: float):
    """... and for a tap at distance ``1 < d < 2``."""
    return ((a * d - 5 * a) * d + 8 * a) * d - 4 * a


def _cubic_weights(t: np.ndarray, a: float) -> list[np.ndarray]:
    """The weights of the four taps at distances 1 + t, t, 1 - t, 2 - t from the source point."""
    return [_cubic_far(t + 1, a), _cubic_near(t, a), _cubic_near(1 - t, a), _cubic_far(2 - t, a)]


def _interp_matrix(n: int, m: int, scale: float, align_corners: bool, cubic: bool, dtype) -> np.ndarray:
    """Linear (2 taps) or cubic (4 taps) interpolation without antialiasing, in ``dtype`` as torch."""
    o = np.arange(m, dtype=dtype)
    scale = dtype.type(scale)
    src = scale * o if align_corners else scale * (o + dtype.type(0.5)) - dtype.type(0.5)
    if not cubic:
        src = np.maximum(src, 0)
    base = np.floor(src).astype(np.int64)
    t = src - base
    matrix = np.zeros((m, n), dtype=np.float64)
    rows = np.arange(m)
    if cubic:
        taps, weights = [base - 1, base, base + 1, base + 2], _cubic_weights(t, CUBIC_A)
    else:
        taps, weights = [base, base + (base < n - 1)], [1 - t, t]
    for tap, weight in zip(taps, weights):
        np.add.at(matrix, (rows, np.clip(tap, 0, n - 1)), weight.astype(np.float64))
    return matrix


def _antialias_matrix(n: int, m: int, scale: float, cubic: bool) -> np.ndarray:
    """torch's antialiased weights (Pillow's rule): output ``o`` is centred at ``c = s (o + 0.5)``;
    the filter (linear, or cubic with A = -0.5) is widened by ``s`` when shrinking (s > 1), its
    taps are ``int(c - support + 0.5) .. int(c + support + 0.5) - 1`` inside the axis, and
    the weights are normalized to sum 1."""
    support = (2.0 if cubic else 1.0) * (scale if scale >= 1 else 1.0)
    inv = 1.0 / scale if scale >= 1 else 1.0
    matrix = np.zeros((m, n))
    for o in range(m):
        center = scale * (o + 0.5)
        lo, hi = max(int(center - support + 0.5), 0), min(int(center + support + 0.5), n)
        d = np.abs((np.arange(lo, hi) - center + 0.5) * inv)
        if cubic:
            w = np.where(
                d < 1,
                _cubic_near(d, CUBIC_A_ANTIALIAS),
                np.where(d < 2, _cubic_far(d, CUBIC_A_ANTIALIAS), 0.0),
            )
        else:
            w = np.maximum(1 - d, 0.0)
        total = w.sum()
        matrix[o, lo:hi] = w / total if total != 0 else w
    return matrix


def _area_matrix(n: int, m: int) -> np.ndarray:
    matrix = np.zeros((m, n))
    for o in range(m):
        start, end = (o * n) // m, -((-(o + 1) * n) // m)
        matrix[o, start:end] = 1.0 / (end - start)
    return matrix


def axis_matrix(
    n: int, m: int, mode: str, align_corners: bool, scale_factor, antialias: bool, dtype
) -> sparse.csr_matrix:
    """The (m, n) resampling matrix of one axis for ``mode`` (see the module docstring).

    A scipy CSR matrix, cached (a training loop resizes the same shapes every step); shared,
    so callers must not modify it.
    """
    return _cached_axis_matrix(n, m, mode, align_corners, scale_factor, antialias, np.dtype(dtype))


@functools.lru_cache(maxsize=128)
def _cached_axis_matrix(n, m, mode, align_corners, scale_factor, antialias, dtype):
    # built dense (clear index arithmetic), kept sparse: a few taps per output row
    return sparse.csr_matrix(_build_axis_matrix(n, m, mode, align_corners, scale_factor, antialias, dtype))


def _build_axis_matrix(n, m, mode, align_corners, scale_factor, antialias, dtype) -> np.ndarray:
    # torch's "opmath" type: coordinates in float64 for float64 input, float32 otherwise
    compute = np.dtype(np.float64) if dtype == np.float64 else np.dtype(np.float32)
    if mode in ("nearest", "nearest-exact"):
        return _nearest_matrix(n, m, scale_factor, mode == "nearest-exact", compute)
    if mode == "area":
        return _area_matrix(n, m)
    cubic = mode == "bicubic"
    scale = _scale(n, m, align_corners, scale_factor)
    if antialias:
        return _antialias_matrix(n, m, scale, cubic)
    return _interp_matrix(n, m, scale, align_corners, cubic, compute)


# ---- interpolate ------------------------------------------------------------------------
def _per_axis(op: str, name: str, value, dims: int, spatial: tuple[int, ...], check) -> list:
    """``size``/``scale_factor``: one value for every spatial axis, or one per axis."""
    if isinstance(value, (list, tuple)):
        if len(value) != dims:
            raise ValueError(
                f"{op}: input and {name} must have the same number of spatial dimensions, but got input with "
                f"spatial dimensions of {list(spatial)} and {name} of {list(value)}; give input as (N, C, d1, "
                f"..., dK) and {name} as K values"
            )
        values = list(value)
    else:
        values = [value] * dims
    for v in values:
        check(v)
    return values


def _check_size(op: str):
    def check(v) -> None:
        if not sp._is_int(v):
            raise TypeError(f"{op}: size must be an int or a sequence of ints, but got {v!r}")
        if v <= 0:
            raise ValueError(f"{op}: input and output sizes must be greater than 0, but got output size {v}")

    return check


def _check_scale(op: str):
    def check(v) -> None:
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
            raise TypeError(f"{op}: scale_factor must be a number or a sequence of numbers, but got {v!r}")
        if not v > 0:
            raise ValueError(f"{op}: scale_factor must be positive, but got scale_factor={v!r}")

    return check


def _check_mode(op: str, x: Tensor, mode: str, align_corners, antialias: bool):
    """Validate ``mode`` against the input's rank; returns the effective ``align_corners``."""
    if mode not in MODES:
        raise ValueError(f"{op}: mode must be one of {', '.join(map(repr, MODES))}, but got mode={mode!r}")
    if x.ndim not in (3, 4, 5):
        raise ValueError(
            f"{op}: input must be 3D, 4D or 5D (N, C, *spatial), but got input of shape {x.shape}"
        )
    if mode in _LINEAR_MODES and x.ndim - 2 != _LINEAR_MODES[mode]:
        raise ValueError(
            f"{op}: mode={mode!r} needs {_LINEAR_MODES[mode] + 2}D input, but got {x.ndim}D input of shape {x.shape}"
        )
    if antialias and mode not in ("bilinear", "bicubic"):
        raise ValueError(
            f"{op}: antialias=True is restricted to the bilinear and bicubic modes, but got mode={mode!r}"
        )
    if mode in ("nearest", "nearest-exact", "area"):
        if align_corners is not None:
            raise ValueError(
                f"{op}: align_corners can only be set with the interpolating modes linear, bilinear, bicubic "
                f"and trilinear, but got align_corners={align_corners!r} with mode={mode!r}"
            )
        return False
    return bool(align_corners) if align_corners is not None else False


def _output_geometry(op: str, x: Tensor, size, scale_factor, mode: str, recompute_scale_factor):
    """(output sizes, scale factors for the coordinates or None per axis), as torch resolves them."""
    spatial, dims = x.shape[2:], x.ndim - 2
    if size is not None and scale_factor is not None:
        raise ValueError(f"{op}: only one of size or scale_factor should be defined")
    if size is None and scale_factor is None:
        raise ValueError(f"{op}: either size or scale_factor should be defined")
    if size is not None:
        if recompute_scale_factor:
            raise ValueError(f"{op}: recompute_scale_factor is not meaningful with an explicit size")
        return [int(v) for v in _per_axis(op, "size", size, dims, spatial, _check_size(op))], [None] * dims
    scales = [float(v) for v in _per_axis(op, "scale_factor", scale_factor, dims, spatial, _check_scale(op))]
    sizes = [math.floor(float(n) * s) for n, s in zip(spatial, scales)]
    if any(m <= 0 for m in sizes):
        raise ValueError(f"{op}: input and output sizes must be greater than 0, but got output size {sizes}")
    if recompute_scale_factor or mode == "area":  # area always works from the output size
        return sizes, [None] * dims
    return sizes, scales


def interpolate(
    input,
    size=None,
    scale_factor=None,
    mode: str = "nearest",
    align_corners: bool | None = None,
    recompute_scale_factor: bool | None = None,
    antialias: bool = False,
) -> Tensor:
    """Resize the spatial axes of ``input`` to ``size`` or by ``scale_factor``, as torch.

    See the module docstring for the coordinate rule of every mode. Differentiable in the
    input (the backward applies the transposed axis matrices).

    Shape: input (N, C, *spatial) with 1 (linear), 2 (bilinear, bicubic) or 3 (trilinear)
    spatial axes, any 1 to 3 for nearest, nearest-exact and area; output (N, C, *size) with
    ``size = floor(spatial * scale_factor)`` when a scale factor is given.
    """
    op = "interpolate"
    x = _float_tensor(op, "input", input)
    align_corners = _check_mode(op, x, mode, align_corners, antialias)
    sizes, scales = _output_geometry(op, x, size, scale_factor, mode, recompute_scale_factor)
    matrices = tuple(
        axis_matrix(n, m, mode, align_corners, s, antialias, x.dtype)
        for n, m, s in zip(x.shape[2:], sizes, scales)
    )
    return Resample.apply(x, matrices)


def upsample(input, size=None, scale_factor=None, mode: str = "nearest", align_corners=None) -> Tensor:
    """Deprecated alias of :func:`interpolate` (warns, as torch)."""
    warnings.warn("upsample is deprecated; use interpolate instead", UserWarning, stacklevel=2)
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input, size=None, scale_factor=None) -> Tensor:
    """Deprecated: ``interpolate(mode='nearest')`` (warns, as torch)."""
    warnings.warn("upsample_nearest is deprecated; use interpolate instead", UserWarning, stacklevel=2)
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input, size=None, scale_factor=None) -> Tensor:
    """Deprecated: ``interpolate(mode='bilinear', align_corners=True)`` (warns, as torch)."""
    warnings.warn("upsample_bilinear is deprecated; use interpolate instead", UserWarning, stacklevel=2)
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


# ---- sub-pixel shuffles -----------------------------------------------------------------
def _factor(op: str, name: str, value) -> int:
    if not sp._is_int(value):
        raise TypeError(f"{op}: {name} must be an int, but got {name}={value!r}")
    if value < 1:
        raise ValueError(f"{op}: {name} must be positive, but got {name}={value}")
    return int(value)


def pixel_shuffle(input, upscale_factor: int) -> Tensor:
    """Move ``r^2`` channel blocks into ``r x r`` pixel blocks (sub-pixel convolution's output).

    ``out[..., c, h*r + i, w*r + j] = in[..., c*r*r + i*r + j, h, w]``.
    Shape: (*, C r^2, H, W) -> (*, C, H r, W r).
    """
    op = "pixel_shuffle"
    x = _tensor(op, "input", input)
    r = _factor(op, "upscale_factor", upscale_factor)
    if x.ndim < 3:
        raise ValueError(f"{op}: input must have at least 3 dimensions (*, C, H, W), but got shape {x.shape}")
    *batch, channels, h, w = x.shape
    if channels % (r * r):
        raise ValueError(
            f"{op}: the channel dimension {channels} must be divisible by upscale_factor^2 = {r * r}"
        )
    c, k = channels // (r * r), len(batch)
    y = x.reshape(*batch, c, r, r, h, w)  # (*, C, i, j, H, W)
    y = y.permute(*range(k), k, k + 3, k + 1, k + 4, k + 2)  # (*, C, H, i, W, j)
    return y.reshape(*batch, c, h * r, w * r)


def pixel_unshuffle(input, downscale_factor: int) -> Tensor:
    """The inverse of :func:`pixel_shuffle`: ``r x r`` pixel blocks into ``r^2`` channels.

    Shape: (*, C, H r, W r) -> (*, C r^2, H, W).
    """
    op = "pixel_unshuffle"
    x = _tensor(op, "input", input)
    r = _factor(op, "downscale_factor", downscale_factor)
    if x.ndim < 3:
        raise ValueError(f"{op}: input must have at least 3 dimensions (*, C, H, W), but got shape {x.shape}")
    *batch, c, height, width = x.shape
    if height % r or width % r:
        raise ValueError(f"{op}: height {height} and width {width} must be divisible by downscale_factor={r}")
    h, w, k = height // r, width // r, len(batch)
    y = x.reshape(*batch, c, h, r, w, r)  # (*, C, H, i, W, j)
    y = y.permute(*range(k), k, k + 2, k + 4, k + 1, k + 3)  # (*, C, i, j, H, W)
    return y.reshape(*batch, c * r * r, h, w)
