"""Direct convolution for few channels per group (LeNet's 1->6 and 6->16 5x5), compiled.

With one to a few input channels per group, im2col's column matrix has a short inner
dimension (``Cg * taps``: 25 or 150) and the GEMM is thin, so the copy and the product's
overheads dominate. Here each output plane is a sum of shifted input planes, one
multiply-add sweep per (input channel, tap), as the depthwise kernel does::

    y[n, o, i, j] = sum_{c, a, b} w[o, c, a, b] * xpad[n, g*Cg + c, i + a*dh, j + b*dw]

Every input plane is zero-padded once into a flat buffer of row length ``q_w`` (the padded
width), and the output is computed on that grid (``out_h`` rows of ``q_w`` cells; the cells
past ``out_w`` in a row are computed and dropped), so tap ``(a, b)`` reads the buffer at the
fixed offset ``a*dh*q_w + b*dw``: a unit-stride loop Numba vectorizes. ``grad_input`` is
the same sweep scattered (output gradients on the grid, zero past ``out_w``), ``grad_weight``
one dot product per (n, o, c, tap). Stride 1 only (strided few-channel layers, such as a
7x7/2 stem, stay with im2col). 1-D runs as 2-D with a height of one.

Parallel over (sample, output channel) planes, (sample, input channel) planes for the input
gradient, and output channels for the weight gradient; each result element is computed by
one thread in a fixed order, so results do not depend on the thread count.
"""

from __future__ import annotations

import numpy as np

from ..spec import ConvSpec
from . import jit as _jit

NAME = "direct"

prange = range  # numba.prange once compiled (see kernels/jit.py)

MAX_CHANNELS = 16  # input channels per group this kernel is meant for


def supports(spec: ConvSpec) -> bool:
    return (
        _jit.available()
        and spec.padding_mode == "zeros"
        and spec.ndim in (1, 2)
        and all(s == 1 for s in spec.stride)
        and spec.in_channels // spec.groups <= MAX_CHANNELS
    )


@_jit.jit(parallel=True)
def _pad_planes(x, pt, pl, q_h, q_w, extra, xp):
    """xp (N, C, q_h*q_w + extra) = x (N, C, H, W) zero-padded (``pt`` rows, ``pl`` columns
    before), flat; the ``extra`` cells past the last row stay zero (sweeps may read them)."""
    n_img, channels, height, width = x.shape
    for plane in prange(n_img * channels):
        n = plane // channels
        c = plane - n * channels
        dst = xp[n, c]
        dst[:] = 0
        src = x[n, c]
        for i in range(height):
            row = dst[(i + pt) * q_w + pl : (i + pt) * q_w + pl + width]
            s_row = src[i]
            for j in range(width):
                row[j] = s_row[j]


@_jit.jit(parallel=True)
def _to_grid(gy, q_w, grid):
    """grid (N, O, out_h*q_w) = gy (N, O, out_h, out_w), rows ``q_w`` apart, zero between."""
    n_img, out_ch, out_h, out_w = gy.shape
    for plane in prange(n_img * out_ch):
        n = plane // out_ch
        o = plane - n * out_ch
        dst = grid[n, o]
        dst[:] = 0
        for i in range(out_h):
            row = dst[i * q_w : i * q_w + out_w]
            s_row = gy[n, o, i]
            for j in range(out_w):
                row[j] = s_row[j]


@_jit.jit()
def _row5(acc, src_plane, base, dw, span, w_row):
    """``acc[k] += sum_b w_row[b] * src_plane[base + b*dw + k]`` for a row of five taps."""
    w0, w1, w2, w3, w4 = w_row[0], w_row[1], w_row[2], w_row[3], w_row[4]
    s0, s1 = src_plane[base : base + span], src_plane[base + dw : base + dw + span]
    s2, s3 = src_plane[base + 2 * dw : base + 2 * dw + span], src_plane[base + 3 * dw : base + 3 * dw + span]
    s4 = src_plane[base + 4 * dw : base + 4 * dw + span]
    dst = acc[:span]
    for k in range(span):
        dst[k] += w0 * s0[k] + w1 * s1[k] + w2 * s2[k] + w3 * s3[k] + w4 * s4[k]


@_jit.jit(fastmath={"reassoc"})
def _dots5(g_s, src_plane, base, dw, span, gw_row):
    """``gw_row[b] += g_s . src_plane[base + b*dw :]`` for five taps in one pass (five
    accumulators, each summed in vector lanes: the same order every run)."""
    s0, s1 = src_plane[base : base + span], src_plane[base + dw : base + dw + span]
    s2, s3 = src_plane[base + 2 * dw : base + 2 * dw + span], src_plane[base + 3 * dw : base + 3 * dw + span]
    s4 = src_plane[base + 4 * dw : base + 4 * dw + span]
    t0 = t1 = t2 = t3 = t4 = gw_row[0] * 0  # gw starts at zero: a finite zero of its dtype
    for k in range(span):
        g = g_s[k]
        t0 += g * s0[k]
        t1 += g * s1[k]
        t2 += g * s2[k]
        t3 += g * s3[k]
        t4 += g * s4[k]
    gw_row[0] += t0
    gw_row[1] += t1
    gw_row[2] += t2
    gw_row[3] += t3
    gw_row[4] += t4


@_jit.jit(parallel=True)
def _forward(xp, w, groups, dh, dw, q_w, y):
    """y (N, O, OH, OW) from xp (N, C, q_h*q_w + extra) and w (O, Cg, KH, KW)."""
    n_img, out_ch, out_h, out_w = y.shape
    _, c_g, kh_n, kw_n = w.shape
    o_g = out_ch // groups
    span = (out_h - 1) * q_w + out_w
    for plane in prange(n_img * out_ch):
        n = plane // out_ch
        o = plane - n * out_ch
        first = (o // o_g) * c_g
        acc = np.zeros(span, dtype=y.dtype)
        for c in range(c_g):
            src_plane = xp[n, first + c]
            for a in range(kh_n):
                if kw_n == 5:  # LeNet's 5x5: a kernel row's taps in registers, one pass
                    _row5(acc, src_plane, a * dh * q_w, dw, span, w[o, c, a])
                    continue
                for b in range(kw_n):
                    wv = w[o, c, a, b]
                    off = a * dh * q_w + b * dw
                    src = src_plane[off : off + span]
                    for k in range(span):  # unit stride, indices from range: vectorized
                        acc[k] += wv * src[k]
        for i in range(out_h):
            row = acc[i * q_w : i * q_w + out_w]
            y_row = y[n, o, i]
            for j in range(out_w):
                y_row[j] = row[j]


@_jit.jit(parallel=True)
def _grad_input(grid, w, groups, dh, dw, pt, pl, q_h, q_w, out_h, out_w, gx):
    """gx (N, C, H, W) from the output gradients on the grid (N, O, out_h*q_w)."""
    n_img, channels, height, width = gx.shape
    out_ch, c_g, kh_n, kw_n = w.shape
    o_g = out_ch // groups
    span = (out_h - 1) * q_w + out_w
    for plane in prange(n_img * channels):
        n = plane // channels
        ch = plane - n * channels
        group = ch // c_g
        c = ch - group * c_g
        buf = np.zeros(q_h * q_w + kw_n * dw, dtype=gx.dtype)
        for o in range(group * o_g, (group + 1) * o_g):
            src = grid[n, o, :span]
            for a in range(kh_n):
                for b in range(kw_n):
                    wv = w[o, c, a, b]
                    off = a * dh * q_w + b * dw
                    dst = buf[off : off + span]
                    for k in range(span):
                        dst[k] += wv * src[k]
        for i in range(height):
            row = buf[(i + pt) * q_w + pl : (i + pt) * q_w + pl + width]
            g_row = gx[n, ch, i]
            for j in range(width):
                g_row[j] = row[j]


@_jit.jit(parallel=True, fastmath={"reassoc"})
def _grad_weight(xp, grid, groups, dh, dw, q_w, out_h, out_w, gw):
    """gw (O, Cg, KH, KW), zero-initialized, from xp and the output-gradient grid."""
    n_img = xp.shape[0]
    out_ch, c_g, kh_n, kw_n = gw.shape
    o_g = out_ch // groups
    span = (out_h - 1) * q_w + out_w
    for o in prange(out_ch):
        first = (o // o_g) * c_g
        for n in range(n_img):
            g_s = grid[n, o, :span]
            for c in range(c_g):
                src_plane = xp[n, first + c]
                for a in range(kh_n):
                    if kw_n == 5:
                        _dots5(g_s, src_plane, a * dh * q_w, dw, span, gw[o, c, a])
                        continue
                    for b in range(kw_n):
                        off = a * dh * q_w + b * dw
                        x_s = src_plane[off : off + span]
                        total = gw[o, c, a, b] * 0
                        for k in range(span):  # summed in vector lanes ('reassoc'), same order every run
                            total += g_s[k] * x_s[k]
                        gw[o, c, a, b] += total


# array wrappers -------------------------------------------------------------------------
def _geometry(spec: ConvSpec):
    """((dh, dw), (pt, pl), (q_h, q_w), (out_h, out_w)) of the 2-D problem (1-D: height one)."""
    dil, pads, padded, out = spec.dilation, spec.padding, spec.padded_in_spatial, spec.out_spatial
    if spec.ndim == 1:
        dil, pads, padded, out = (1, *dil), ((0, 0), *pads), (1, *padded), (1, *out)
    return dil, (pads[0][0], pads[1][0]), padded, out


def _as_4d(a: np.ndarray, dtype) -> np.ndarray:
    a = np.ascontiguousarray(a, dtype=dtype)
    return a.reshape(a.shape[0], a.shape[1], 1, a.shape[2]) if a.ndim == 3 else a


def _padded(x: np.ndarray, spec: ConvSpec, dtype) -> tuple[np.ndarray, int]:
    """The zero-padded flat input planes and their row length ``q_w``."""
    (_, dw), (pt, pl), (q_h, q_w), _ = _geometry(spec)
    kw_n = spec.kernel_size[-1]
    extra = (kw_n - 1) * dw + 1  # the last row's sweep may run past the padded plane
    xp = np.empty((x.shape[0], x.shape[1], q_h * q_w + extra), dtype=dtype)
    _pad_planes(_as_4d(x, dtype), pt, pl, q_h, q_w, extra, xp)
    return xp, q_w


def _grid(gy: np.ndarray, q_w: int, dtype) -> np.ndarray:
    g4 = _as_4d(gy, dtype)
    grid = np.empty((g4.shape[0], g4.shape[1], g4.shape[2] * q_w), dtype=dtype)
    _to_grid(g4, q_w, grid)
    return grid


def _weights(w: np.ndarray, dtype) -> np.ndarray:
    w = np.ascontiguousarray(w, dtype=dtype)
    return w.reshape(w.shape[0], w.shape[1], 1, w.shape[2]) if w.ndim == 3 else w


def _dtype(*arrays) -> np.dtype:
    return np.promote_types(np.result_type(*arrays), np.float32)


def forward(x: np.ndarray, w: np.ndarray, spec: ConvSpec) -> np.ndarray:
    """Shape: x (N, C, *in), w (O, Cg, *k) -> y (N, O, *out)."""
    dtype = _dtype(x, w)
    (dh, dw), _, _, (out_h, out_w) = _geometry(spec)
    xp, q_w = _padded(x, spec, dtype)
    y = np.empty((x.shape[0], spec.out_channels, out_h, out_w), dtype=dtype)
    _forward(xp, _weights(w, dtype), spec.groups, dh, dw, q_w, y)
    y = y.reshape(x.shape[0], spec.out_channels, *spec.out_spatial)
    return y.astype(np.result_type(x, w), copy=False)


def grad_input(gy: np.ndarray, w: np.ndarray, spec: ConvSpec, x_shape) -> np.ndarray:
    """Shape: gy (N, O, *out), w (O, Cg, *k) -> gx (N, C, *in)."""
    dtype = _dtype(gy, w)
    (dh, dw), (pt, pl), (q_h, q_w), (out_h, out_w) = _geometry(spec)
    in_sp = spec.in_shape[2:]
    gx = np.empty((gy.shape[0], spec.in_channels, *((1,) if spec.ndim == 1 else ()), *in_sp), dtype=dtype)
    grid = _grid(gy, q_w, dtype)
    _grad_input(grid, _weights(w, dtype), spec.groups, dh, dw, pt, pl, q_h, q_w, out_h, out_w, gx)
    return gx.reshape(x_shape).astype(np.result_type(gy, w), copy=False)


def grad_weight(x: np.ndarray, gy: np.ndarray, spec: ConvSpec, w_shape) -> np.ndarray:
    """Shape: x (N, C, *in), gy (N, O, *out) -> gw (O, Cg, *k)."""
    dtype = _dtype(x, gy)
    (dh, dw), _, _, (out_h, out_w) = _geometry(spec)
    xp, q_w = _padded(x, spec, dtype)
    grid = _grid(gy, q_w, dtype)
    k = spec.kernel_size
    gw = np.zeros((spec.out_channels, w_shape[1], *((1,) if spec.ndim == 1 else ()), *k), dtype=dtype)
    _grad_weight(xp, grid, spec.groups, dh, dw, q_w, out_h, out_w, gw)
    return gw.reshape(w_shape).astype(np.result_type(x, gy), copy=False)
