"""Per-channel affine passes of batch normalization, one sweep over the data each.

Batch normalization spends its time streaming memory, not computing: NumPy's composition
``((x - mean) * invstd) * weight + bias`` makes four passes and three temporaries the size of
``x``. Here each function is one pass over ``(N, C, P)`` data (``P`` the flattened plane),
compiled by Numba (parallel over the ``N * C`` planes or over the channels), with a NumPy
fallback of at most two passes when Numba is missing or the array is not C-contiguous:

- :func:`scale_shift`: ``y = x * scale[c] + shift[c]`` (eval-mode forward, and the eval-mode
  input gradient ``g * scale[c]``);
- :func:`channel_moments`: per channel ``sum(x)`` then ``sum((x - mean)^2)`` (two sweeps,
  float64 accumulators, so the variance does not lose digits to cancellation);
- :func:`grad_sums`: per channel ``sum(g)`` and ``sum(g * (x - mean))`` in one sweep (the
  training backward's reductions and the weight/bias gradients);
- :func:`train_input_grad`: ``gx = k[c] * (g - a[c] - (x - mean[c]) * b[c])``.

Shape: every array argument is (N, C, *) and is treated as (N, C, P); per-channel vectors (C,).
"""

from __future__ import annotations

import numpy as np

from . import jit as _jit

__all__ = ["channel_moments", "grad_sums", "scale_shift", "train_input_grad"]

prange = range  # numba.prange once compiled (see kernels/jit.py)

# below this many elements the parallel region's hand-off costs more than the sweep
_PARALLEL_MIN = 1 << 15


def _compiled_ok(*arrays: np.ndarray) -> bool:
    return _jit.available() and all(a.flags.c_contiguous for a in arrays) and arrays[0].ndim >= 2


def _planes(a: np.ndarray) -> np.ndarray:
    return a.reshape(a.shape[0], a.shape[1], -1)


def _per_channel(v: np.ndarray, ndim: int) -> np.ndarray:
    return v.reshape((1, v.shape[0]) + (1,) * (ndim - 2))


@_jit.jit(parallel=True)
def _scale_shift_kernel(x, scale, shift, out):  # pragma: no cover - compiled
    n, c, p = x.shape
    for k in prange(n * c):
        i, j = k // c, k % c
        s, t = scale[j], shift[j]
        for q in range(p):
            out[i, j, q] = x[i, j, q] * s + t


@_jit.jit(parallel=False)
def _scale_shift_serial(x, scale, shift, out):  # pragma: no cover - compiled
    n, c, p = x.shape
    for i in range(n):
        for j in range(c):
            s, t = scale[j], shift[j]
            for q in range(p):
                out[i, j, q] = x[i, j, q] * s + t


def scale_shift(x: np.ndarray, scale: np.ndarray, shift: np.ndarray | None, out=None) -> np.ndarray:
    """``x * scale[c] + shift[c]`` per channel (axis 1), in ``x``'s dtype, in one pass.

    ``shift=None`` adds nothing. ``out`` (optional) receives the result; it may be ``x``.
    The layout of a non-contiguous ``x`` is kept (NumPy's ``order='K'``).

    Shape: x (N, C, *); scale, shift (C,) -> (N, C, *).
    """
    scale = scale.astype(x.dtype, copy=False)
    shift = np.zeros_like(scale) if shift is None else shift.astype(x.dtype, copy=False)
    if out is None:
        out = np.empty_like(x)
    if _compiled_ok(x, out) and x.size:
        kernel = _scale_shift_kernel if x.size >= _PARALLEL_MIN else _scale_shift_serial
        kernel(_planes(x), np.ascontiguousarray(scale), np.ascontiguousarray(shift), _planes(out))
        return out
    np.multiply(x, _per_channel(scale, x.ndim), out=out)
    np.add(out, _per_channel(shift, x.ndim), out=out)
    return out


@_jit.jit(parallel=True, fastmath={"reassoc"})
def _moments_kernel(x, mean, var):  # pragma: no cover - compiled
    n, c, p = x.shape
    count = n * p
    for j in prange(c):
        s = 0.0
        for i in range(n):
            for q in range(p):
                s += np.float64(x[i, j, q])
        m = s / count
        d = 0.0
        for i in range(n):
            for q in range(p):
                e = np.float64(x[i, j, q]) - m
                d += e * e
        mean[j] = m
        var[j] = d / count


def channel_moments(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and biased variance over every axis but 1, as float64.

    Shape: x (N, C, *) -> mean (C,), var (C,).
    """
    axes = (0, *range(2, x.ndim))
    if _compiled_ok(x) and x.size:
        channels = x.shape[1]
        mean, var = np.empty(channels), np.empty(channels)
        _moments_kernel(_planes(x), mean, var)
        return mean, var
    mean = x.mean(axis=axes, dtype=np.float64)
    centered = x - _per_channel(mean, x.ndim)
    return mean, np.mean(np.square(centered, out=centered), axis=axes, dtype=np.float64)


@_jit.jit(parallel=True, fastmath={"reassoc"})
def _grad_sums_kernel(g, x, mean, sum_g, sum_gx):  # pragma: no cover - compiled
    n, c, p = x.shape
    for j in prange(c):
        m = np.float64(mean[j])
        s = 0.0
        t = 0.0
        for i in range(n):
            for q in range(p):
                gq = np.float64(g[i, j, q])
                s += gq
                t += gq * (np.float64(x[i, j, q]) - m)
        sum_g[j] = s
        sum_gx[j] = t


def grad_sums(g: np.ndarray, x: np.ndarray, mean: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per channel ``sum(g)`` and ``sum(g * (x - mean[c]))`` over every axis but 1, as float64.

    Shape: g, x (N, C, *); mean (C,) -> (C,), (C,).
    """
    axes = (0, *range(2, x.ndim))
    if _compiled_ok(g, x) and x.size:
        channels = x.shape[1]
        sum_g, sum_gx = np.empty(channels), np.empty(channels)
        _grad_sums_kernel(_planes(g), _planes(x), np.ascontiguousarray(mean, dtype=np.float64), sum_g, sum_gx)
        return sum_g, sum_gx
    centered = x - _per_channel(mean.astype(x.dtype, copy=False), x.ndim)
    centered *= g
    return g.sum(axis=axes, dtype=np.float64), centered.sum(axis=axes, dtype=np.float64)


@_jit.jit(parallel=True)
def _train_grad_kernel(g, x, mean, k, a, b, out):  # pragma: no cover - compiled
    n, c, p = x.shape
    for r in prange(n * c):
        i, j = r // c, r % c
        mj, kj, aj, bj = mean[j], k[j], a[j], b[j]
        for q in range(p):
            out[i, j, q] = kj * (g[i, j, q] - aj - (x[i, j, q] - mj) * bj)


def train_input_grad(
    g: np.ndarray, x: np.ndarray, mean: np.ndarray, k: np.ndarray, a: np.ndarray, b: np.ndarray
) -> np.ndarray:
    """``k[c] * (g - a[c] - (x - mean[c]) * b[c])`` in ``x``'s dtype: the training-mode batch
    norm input gradient with ``k = weight * invstd``, ``a = mean(g)``,
    ``b = mean(g * (x - mean)) * invstd^2``.

    Shape: g, x (N, C, *); mean, k, a, b (C,) -> (N, C, *).
    """
    mean, k, a, b = (np.ascontiguousarray(v, dtype=x.dtype) for v in (mean, k, a, b))
    if _compiled_ok(g, x) and x.size:
        out = np.empty(x.shape, dtype=x.dtype)
        _train_grad_kernel(_planes(g), _planes(x), mean, k, a, b, _planes(out))
        return out
    out = x - _per_channel(mean, x.ndim)
    out *= _per_channel(b, x.ndim)
    np.subtract(g, out, out=out)
    out -= _per_channel(a, x.ndim)
    out *= _per_channel(k, x.ndim)
    return out
