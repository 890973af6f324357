"""Depthwise convolution (``groups == C_in``, any channel multiplier), compiled with Numba.

Output channel ``o`` reads only input channel ``c = o // mult`` (``mult = C_out / C_in``)::

    y[n, o, i, j] = sum_{a, b} w[o, 0, a, b] * xpad[n, c, i*sh + a*dh, j*sw + b*dw]

Two multiply-adds per weight and output cell: the work is memory-bound and BLAS does not
help, so these are direct loops, parallel over (sample, channel) planes. Each tap
``(a, b)`` updates a whole output row over the range of ``j`` whose input column lies
inside ``x`` (computed once per tap, so the zero padding is never materialized and the
inner loop is a plain vectorizable ``y += w * x`` at stride 1). 1-D convolutions run as
2-D with a height of one.

Determinism: every output element (and every weight-gradient element) is computed by one
thread in a fixed order, so results do not depend on the thread count.
"""

from __future__ import annotations

import numpy as np

from ..spec import ConvSpec
from . import jit as _jit

NAME = "depthwise"

prange = range  # numba.prange once compiled (see kernels/jit.py)


def supports(spec: ConvSpec) -> bool:
    return (
        _jit.available()
        and spec.padding_mode == "zeros"
        and spec.ndim in (1, 2)
        and spec.groups == spec.in_channels
    )


@_jit.jit()
def _col_range(col0, stride, width, out_w):
    """Output columns ``j`` with ``0 <= j*stride + col0 < width``: ``[lo, hi)``."""
    lo = 0 if col0 >= 0 else (-col0 + stride - 1) // stride
    hi = min(out_w, (width - 1 - col0) // stride + 1) if width - 1 - col0 >= 0 else 0
    return lo, max(lo, hi)


@_jit.jit(parallel=True)
def _forward(x, w, sh, sw, dh, dw, pt, pl, y):
    """Shape: x (N, C, H, W), w (C*mult, KH, KW) -> y (N, C*mult, OH, OW), zero-initialized."""
    n_img, channels, height, width = x.shape
    out_ch, kh_n, kw_n = w.shape
    out_h, out_w = y.shape[2], y.shape[3]
    mult = out_ch // channels
    for plane in prange(n_img * out_ch):
        n = plane // out_ch
        o = plane - n * out_ch
        c = o // mult
        for i in range(out_h):
            for a in range(kh_n):
                r = i * sh + a * dh - pt
                if r < 0 or r >= height:
                    continue
                for b in range(kw_n):
                    col0 = b * dw - pl
                    lo, hi = _col_range(col0, sw, width, out_w)
                    wv = w[o, a, b]
                    for j in range(lo, hi):
                        y[n, o, i, j] += wv * x[n, c, r, j * sw + col0]


@_jit.jit(parallel=True)
def _grad_input(gy, w, sh, sw, dh, dw, pt, pl, gx):
    """Shape: gy (N, C*mult, OH, OW), w (C*mult, KH, KW) -> gx (N, C, H, W), zero-initialized."""
    n_img, channels, height, width = gx.shape
    out_ch, kh_n, kw_n = w.shape
    out_h, out_w = gy.shape[2], gy.shape[3]
    mult = out_ch // channels
    for plane in prange(n_img * channels):
        n = plane // channels
        c = plane - n * channels
        for o in range(c * mult, (c + 1) * mult):
            for i in range(out_h):
                for a in range(kh_n):
                    r = i * sh + a * dh - pt
                    if r < 0 or r >= height:
                        continue
                    for b in range(kw_n):
                        col0 = b * dw - pl
                        lo, hi = _col_range(col0, sw, width, out_w)
                        wv = w[o, a, b]
                        for j in range(lo, hi):
                            gx[n, c, r, j * sw + col0] += wv * gy[n, o, i, j]


@_jit.jit(parallel=True)
def _grad_weight(x, gy, sh, sw, dh, dw, pt, pl, gw):
    """Shape: x (N, C, H, W), gy (N, C*mult, OH, OW) -> gw (C*mult, KH, KW).

    Partial sums are kept per output column (``acc[a, b, j]``) so the inner loop is an
    elementwise, vectorizable update; they are summed over ``j`` at the end, in order.
    """
    n_img, channels, height, width = x.shape
    out_ch, kh_n, kw_n = gw.shape
    out_h, out_w = gy.shape[2], gy.shape[3]
    mult = out_ch // channels
    for o in prange(out_ch):
        c = o // mult
        acc = np.zeros((kh_n, kw_n, out_w), dtype=gw.dtype)
        for n in range(n_img):
            for i in range(out_h):
                for a in range(kh_n):
                    r = i * sh + a * dh - pt
                    if r < 0 or r >= height:
                        continue
                    for b in range(kw_n):
                        col0 = b * dw - pl
                        lo, hi = _col_range(col0, sw, width, out_w)
                        for j in range(lo, hi):
                            acc[a, b, j] += gy[n, o, i, j] * x[n, c, r, j * sw + col0]
        for a in range(kh_n):
            for b in range(kw_n):
                total = acc[a, b, 0] * 0
                for j in range(out_w):
                    total += acc[a, b, j]
                gw[o, a, b] = total


def _as_2d(spec: ConvSpec):
    """(stride, dilation, (pad_top, pad_left)) of the 2-D problem (1-D: height one)."""
    if spec.ndim == 1:
        return (1, spec.stride[0]), (1, spec.dilation[0]), (0, spec.padding[0][0])
    return spec.stride, spec.dilation, (spec.padding[0][0], spec.padding[1][0])


def _planes(a: np.ndarray, dtype) -> np.ndarray:
    """(N, C, *spatial) as a contiguous 4-D array of ``dtype`` (1-D gets a height of one)."""
    a = np.ascontiguousarray(a, dtype=dtype)
    return a.reshape(a.shape[0], a.shape[1], 1, a.shape[2]) if a.ndim == 3 else a


def _weights(w: np.ndarray, dtype) -> np.ndarray:
    """(C*mult, 1, *k) -> (C*mult, KH, KW)."""
    w = np.ascontiguousarray(w, dtype=dtype)
    return w.reshape(w.shape[0], 1, w.shape[2]) if w.ndim == 3 else w.reshape(w.shape[0], *w.shape[2:])


def _compute_dtype(*arrays) -> np.dtype:
    return np.promote_types(np.result_type(*arrays), np.float32)


def forward(x: np.ndarray, w: np.ndarray, spec: ConvSpec) -> np.ndarray:
    """Shape: x (N, C, *in), w (C*mult, 1, *k) -> y (N, C*mult, *out)."""
    dtype = _compute_dtype(x, w)
    (sh, sw), (dh, dw), (pt, pl) = _as_2d(spec)
    out = spec.out_spatial
    y = np.zeros((x.shape[0], spec.out_channels, *((1,) if spec.ndim == 1 else ()), *out), dtype=dtype)
    _forward(_planes(x, dtype), _weights(w, dtype), sh, sw, dh, dw, pt, pl, y)
    return y.reshape(x.shape[0], spec.out_channels, *out).astype(np.result_type(x, w), copy=False)


def grad_input(gy: np.ndarray, w: np.ndarray, spec: ConvSpec, x_shape) -> np.ndarray:
    """Shape: gy (N, C*mult, *out), w (C*mult, 1, *k) -> gx (N, C, *in)."""
    dtype = _compute_dtype(gy, w)
    (sh, sw), (dh, dw), (pt, pl) = _as_2d(spec)
    in_sp = spec.in_shape[2:]
    gx = np.zeros((gy.shape[0], spec.in_channels, *((1,) if spec.ndim == 1 else ()), *in_sp), dtype=dtype)
    _grad_input(_planes(gy, dtype), _weights(w, dtype), sh, sw, dh, dw, pt, pl, gx)
    return gx.reshape(x_shape).astype(np.result_type(gy, w), copy=False)


def grad_weight(x: np.ndarray, gy: np.ndarray, spec: ConvSpec, w_shape) -> np.ndarray:
    """Shape: x (N, C, *in), gy (N, C*mult, *out) -> gw (C*mult, 1, *k)."""
    dtype = _compute_dtype(x, gy)
    (sh, sw), (dh, dw), (pt, pl) = _as_2d(spec)
    k = spec.kernel_size
    gw = np.zeros((spec.out_channels, *((1,) if spec.ndim == 1 else ()), *k), dtype=dtype)
    _grad_weight(_planes(x, dtype), _planes(gy, dtype), sh, sw, dh, dw, pt, pl, gw)
    return gw.reshape(w_shape).astype(np.result_type(x, gy), copy=False)
