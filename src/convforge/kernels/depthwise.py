"""Depthwise convolution (``groups == C_in``, any channel multiplier), compiled with Numba.

Output channel ``o`` reads only input channel ``c = o // mult`` (``mult = C_out / C_in``)::

    y[n, o, i, j] = sum_{a, b} w[o, 0, a, b] * xpad[n, c, i*sh + a*dh, j*sw + b*dw]

Two multiply-adds per weight and output cell: the work is memory-bound and BLAS does not
help, so these are direct loops, parallel over (sample, channel) planes. To make the inner
loop long and unit-stride, each plane is first copied into a zero-padded scratch buffer
split into its ``sh x sw`` stride phases (``phase(p, q)[u, v] = xpad[u*sh + p, v*sw + q]``,
so nothing but that one copy is padded), and the output is computed on the phase grid
(``out_h`` rows of ``q_w`` columns; the columns past ``out_w`` are computed and dropped).
Tap ``(a, b)`` then reads phase ``(a*dh mod sh, b*dw mod sw)`` at the fixed flat offset
``(a*dh div sh)*q_w + (b*dw div sw)``: one ``acc[k] += w * phase[k + offset]`` sweep over the
whole plane per tap (the gemm module's shift-and-accumulate, with a scalar weight).
``grad_input`` scatters the same way into phase buffers and interleaves them back;
``grad_weight`` is one dot product per tap. 1-D convolutions run as 2-D with a height of one.

Determinism: every output element (and every weight-gradient element) is computed by one
thread in a fixed order (a weight-gradient dot product is summed in vector lanes, as the
compiled code fixes once), so results do not depend on the thread count.
"""

from __future__ import annotations

import numpy as np

from ..spec import ConvSpec
from . import jit as _jit

NAME = "depthwise"

prange = range  # numba.prange once compiled (see kernels/jit.py)

BLOCKS = 64  # the planes are split into this many parallel blocks, each with its own scratch


def supports(spec: ConvSpec) -> bool:
    return (
        _jit.available()
        and spec.padding_mode == "zeros"
        and spec.ndim in (1, 2)
        and spec.groups == spec.in_channels
    )


@_jit.jit()
def _phase_span(pad, step, phase, size, cells):
    """For phase ``phase`` of a padded axis: grid cells ``[lo, hi)`` whose padded position
    ``u*step + phase`` holds a real cell ``u*step + phase - pad`` in ``[0, size)``."""
    first = pad - phase  # padded position of real cell 0, relative to the phase
    lo = max(0, (first + step - 1) // step)
    hi = min(cells, (size - 1 + pad - phase) // step + 1)
    return lo, max(lo, hi)


@_jit.jit()
def _pad_plane(plane, pt, pl, q_h, q_w, buf):
    """``buf[u*q_w + v] = xpad[u, v]`` for stride 1 (zero where ``xpad`` is padding); the
    cells at and past the padded plane's end, up to ``buf``'s length, are zeroed too."""
    height, width = plane.shape
    rows = min(height, q_h - pt)
    cols = max(0, min(width, q_w - pl))
    buf[: pt * q_w] = 0
    for u in range(rows):
        dst = buf[(u + pt) * q_w : (u + pt + 1) * q_w]
        dst[:pl] = 0
        src = plane[u, :cols]
        out = dst[pl : pl + cols]
        for v in range(cols):
            out[v] = src[v]
        dst[pl + cols :] = 0
    buf[(rows + pt) * q_w :] = 0


@_jit.jit()
def _to_phases(plane, pt, pl, sh, sw, q_h, q_w, buf):
    """``buf[phase, u, v] = xpad[u*sh + p, v*sw + q]`` (flat), zero where ``xpad`` is padding.

    Shape: plane (H, W) -> buf (sh*sw*q_h*q_w,), phase = p*sw + q. Copied row by row with
    strided slices (no division per element: this copy is a real share of a 3x3 layer).
    """
    height, width = plane.shape
    if sh == 1 and sw == 1:  # one phase: contiguous row copies, only the padding zeroed
        _pad_plane(plane, pt, pl, q_h, q_w, buf)
        return
    buf[:] = 0
    for p in range(sh):
        u_lo, u_hi = _phase_span(pt, sh, p, height, q_h)
        for q in range(sw):
            v_lo, v_hi = _phase_span(pl, sw, q, width, q_w)
            base = (p * sw + q) * q_h * q_w
            for u in range(u_lo, u_hi):
                src = plane[u * sh + p - pt, v_lo * sw + q - pl :: sw]
                dst = buf[base + u * q_w + v_lo : base + u * q_w + v_hi]
                for v in range(v_hi - v_lo):
                    dst[v] = src[v]


@_jit.jit()
def _from_phases(buf, pt, pl, sh, sw, q_h, q_w, plane):
    """The inverse of :func:`_to_phases` on the cells of ``plane`` (padding dropped)."""
    height, width = plane.shape
    for p in range(sh):
        u_lo, u_hi = _phase_span(pt, sh, p, height, q_h)
        for q in range(sw):
            v_lo, v_hi = _phase_span(pl, sw, q, width, q_w)
            base = (p * sw + q) * q_h * q_w
            for u in range(u_lo, u_hi):
                dst = plane[u * sh + p - pt, v_lo * sw + q - pl :: sw]
                src = buf[base + u * q_w + v_lo : base + u * q_w + v_hi]
                for v in range(v_hi - v_lo):
                    dst[v] = src[v]


@_jit.jit()
def _to_grid(plane, q_w, grid):
    """Rows of ``plane`` (OH, OW) at ``q_w`` apart in ``grid``; the cells between stay put."""
    out_h, out_w = plane.shape
    for i in range(out_h):
        row = grid[i * q_w : i * q_w + out_w]
        src = plane[i]
        for j in range(out_w):
            row[j] = src[j]


@_jit.jit()
def _tap_offset(a, b, sh, sw, dh, dw, q_h, q_w):
    """Flat offset in the phase buffer that tap ``(a, b)`` reads output cell ``(0, 0)`` from."""
    rh, rw = a * dh, b * dw
    return (((rh % sh) * sw + rw % sw) * q_h + rh // sh) * q_w + rw // sw


@_jit.jit()
def _forward_plane(plane, w, c, mult, sh, sw, dh, dw, pt, pl, q_h, q_w, buf, acc, y_n):
    """The ``mult`` output channels of input channel ``c``, one sample: -> y_n[c*mult : ...]."""
    _, kh_n, kw_n = w.shape
    out_h, out_w = y_n.shape[1], y_n.shape[2]
    span = (out_h - 1) * q_w + out_w  # grid cells up to the last output
    dst = acc[:span]
    _to_phases(plane, pt, pl, sh, sw, q_h, q_w, buf)
    for o in range(c * mult, (c + 1) * mult):
        acc[:] = 0
        for a in range(kh_n):
            for b in range(kw_n):
                off = _tap_offset(a, b, sh, sw, dh, dw, q_h, q_w)
                wv = w[o, a, b]
                src = buf[off : off + span]
                for k in range(span):  # indices from range: no wraparound test, vectorized
                    dst[k] += wv * src[k]
        for i in range(out_h):
            row = acc[i * q_w : i * q_w + out_w]
            y_row = y_n[o, i]
            for j in range(out_w):
                y_row[j] = row[j]


@_jit.jit()
def _grid_3x3(buf, span, o0, o1, o2, o3, o4, o5, o6, o7, o8, w_o, acc):
    """``acc[k] = sum_t w_o[t] * buf[o_t + k]`` for ``k < span``, taps summed in C order."""
    w0, w1, w2 = w_o[0, 0], w_o[0, 1], w_o[0, 2]
    w3, w4, w5 = w_o[1, 0], w_o[1, 1], w_o[1, 2]
    w6, w7, w8 = w_o[2, 0], w_o[2, 1], w_o[2, 2]
    s0, s1, s2 = buf[o0 : o0 + span], buf[o1 : o1 + span], buf[o2 : o2 + span]
    s3, s4, s5 = buf[o3 : o3 + span], buf[o4 : o4 + span], buf[o5 : o5 + span]
    s6, s7, s8 = buf[o6 : o6 + span], buf[o7 : o7 + span], buf[o8 : o8 + span]
    dst = acc[:span]
    for k in range(span):
        total = w0 * s0[k] + w1 * s1[k] + w2 * s2[k] + w3 * s3[k] + w4 * s4[k]
        dst[k] = total + w5 * s5[k] + w6 * s6[k] + w7 * s7[k] + w8 * s8[k]


@_jit.jit()
def _forward_plane_3x3(plane, w, c, mult, sh, sw, dh, dw, pt, pl, q_h, q_w, buf, acc, y_n):
    """:func:`_forward_plane` for a 3x3 kernel: the nine taps in registers, one pass per output
    row with nine unit-stride reads (no accumulator written back to memory per tap). Rows
    shorter than a vector (14x14 planes and smaller) are computed in one pass over the whole
    grid into ``acc`` instead, then copied out: one long loop rather than many short ones."""
    out_h, out_w = y_n.shape[1], y_n.shape[2]
    _to_phases(plane, pt, pl, sh, sw, q_h, q_w, buf)
    o0, o1, o2 = (
        _tap_offset(0, 0, sh, sw, dh, dw, q_h, q_w),
        _tap_offset(0, 1, sh, sw, dh, dw, q_h, q_w),
        _tap_offset(0, 2, sh, sw, dh, dw, q_h, q_w),
    )
    o3, o4, o5 = (
        _tap_offset(1, 0, sh, sw, dh, dw, q_h, q_w),
        _tap_offset(1, 1, sh, sw, dh, dw, q_h, q_w),
        _tap_offset(1, 2, sh, sw, dh, dw, q_h, q_w),
    )
    o6, o7, o8 = (
        _tap_offset(2, 0, sh, sw, dh, dw, q_h, q_w),
        _tap_offset(2, 1, sh, sw, dh, dw, q_h, q_w),
        _tap_offset(2, 2, sh, sw, dh, dw, q_h, q_w),
    )
    for o in range(c * mult, (c + 1) * mult):
        w0, w1, w2 = w[o, 0, 0], w[o, 0, 1], w[o, 0, 2]
        w3, w4, w5 = w[o, 1, 0], w[o, 1, 1], w[o, 1, 2]
        w6, w7, w8 = w[o, 2, 0], w[o, 2, 1], w[o, 2, 2]
        if out_w < 16:
            _grid_3x3(buf, (out_h - 1) * q_w + out_w, o0, o1, o2, o3, o4, o5, o6, o7, o8, w[o], acc)
            for i in range(out_h):
                row, y_row = acc[i * q_w : i * q_w + out_w], y_n[o, i]
                for j in range(out_w):
                    y_row[j] = row[j]
            continue
        for i in range(out_h):
            k = i * q_w
            s0, s1, s2 = (
                buf[k + o0 : k + o0 + out_w],
                buf[k + o1 : k + o1 + out_w],
                buf[k + o2 : k + o2 + out_w],
            )
            s3, s4, s5 = (
                buf[k + o3 : k + o3 + out_w],
                buf[k + o4 : k + o4 + out_w],
                buf[k + o5 : k + o5 + out_w],
            )
            s6, s7, s8 = (
                buf[k + o6 : k + o6 + out_w],
                buf[k + o7 : k + o7 + out_w],
                buf[k + o8 : k + o8 + out_w],
            )
            y_row = y_n[o, i]
            for j in range(out_w):  # taps summed in C order, as the general kernel does
                total = w0 * s0[j] + w1 * s1[j] + w2 * s2[j] + w3 * s3[j] + w4 * s4[j]
                y_row[j] = total + w5 * s5[j] + w6 * s6[j] + w7 * s7[j] + w8 * s8[j]


@_jit.jit(parallel=True)
def _forward(x, w, sh, sw, dh, dw, pt, pl, q_h, q_w, y):
    """Shape: x (N, C, H, W), w (C*mult, KH, KW) -> y (N, C*mult, OH, OW)."""
    n_img, channels = x.shape[0], x.shape[1]
    mult = w.shape[0] // channels
    planes = n_img * channels
    per_block = -(-planes // BLOCKS)
    for block in prange(BLOCKS):  # scratch allocated once per block of planes, not per plane
        buf = np.empty(sh * sw * q_h * q_w, dtype=y.dtype)
        acc = np.empty(y.shape[2] * q_w, dtype=y.dtype)
        for plane in range(block * per_block, min(planes, (block + 1) * per_block)):
            n = plane // channels
            c = plane - n * channels
            if w.shape[1] == 3 and w.shape[2] == 3:
                _forward_plane_3x3(x[n, c], w, c, mult, sh, sw, dh, dw, pt, pl, q_h, q_w, buf, acc, y[n])
            else:
                _forward_plane(x[n, c], w, c, mult, sh, sw, dh, dw, pt, pl, q_h, q_w, buf, acc, y[n])


@_jit.jit()
def _grad_input_plane(gy_n, w, c, mult, sh, sw, dh, dw, pt, pl, q_h, q_w, buf, grid, gx_plane):
    """Input channel ``c`` of one sample from its ``mult`` output gradients: -> gx_plane (H, W).

    ``grid`` must be zero past column ``out_w`` of every row (only the cells are written).
    """
    _, kh_n, kw_n = w.shape
    out_h, out_w = gy_n.shape[1], gy_n.shape[2]
    span = (out_h - 1) * q_w + out_w
    src = grid[:span]
    buf[:] = 0
    for o in range(c * mult, (c + 1) * mult):
        _to_grid(gy_n[o], q_w, grid)
        for a in range(kh_n):
            for b in range(kw_n):
                off = _tap_offset(a, b, sh, sw, dh, dw, q_h, q_w)
                wv = w[o, a, b]
                dst = buf[off : off + span]
                for k in range(span):
                    dst[k] += wv * src[k]
    _from_phases(buf, pt, pl, sh, sw, q_h, q_w, gx_plane)


@_jit.jit(parallel=True)
def _grad_input(gy, w, sh, sw, dh, dw, pt, pl, q_h, q_w, gx):
    """Shape: gy (N, C*mult, OH, OW), w (C*mult, KH, KW) -> gx (N, C, H, W)."""
    n_img, channels = gx.shape[0], gx.shape[1]
    mult = w.shape[0] // channels
    planes = n_img * channels
    per_block = -(-planes // BLOCKS)
    for block in prange(BLOCKS):
        buf = np.empty(sh * sw * q_h * q_w, dtype=gx.dtype)
        grid = np.zeros(gy.shape[2] * q_w, dtype=gx.dtype)  # gy on the grid: zero past out_w
        for plane in range(block * per_block, min(planes, (block + 1) * per_block)):
            n = plane // channels
            c = plane - n * channels
            _grad_input_plane(gy[n], w, c, mult, sh, sw, dh, dw, pt, pl, q_h, q_w, buf, grid, gx[n, c])


@_jit.jit(fastmath={"reassoc"})
def _dots_3x3(g_s, buf, sh, sw, dh, dw, q_h, q_w, gw_o):
    """``gw_o[a, b] += g_s . buf[offset(a, b) :]`` for the nine taps in one pass over ``g_s``
    (nine accumulators, each summed in vector lanes: the same order every run)."""
    span = g_s.shape[0]
    o0, o1 = _tap_offset(0, 0, sh, sw, dh, dw, q_h, q_w), _tap_offset(0, 1, sh, sw, dh, dw, q_h, q_w)
    o2, o3 = _tap_offset(0, 2, sh, sw, dh, dw, q_h, q_w), _tap_offset(1, 0, sh, sw, dh, dw, q_h, q_w)
    o4, o5 = _tap_offset(1, 1, sh, sw, dh, dw, q_h, q_w), _tap_offset(1, 2, sh, sw, dh, dw, q_h, q_w)
    o6, o7 = _tap_offset(2, 0, sh, sw, dh, dw, q_h, q_w), _tap_offset(2, 1, sh, sw, dh, dw, q_h, q_w)
    o8 = _tap_offset(2, 2, sh, sw, dh, dw, q_h, q_w)
    x0, x1, x2 = buf[o0 : o0 + span], buf[o1 : o1 + span], buf[o2 : o2 + span]
    x3, x4, x5 = buf[o3 : o3 + span], buf[o4 : o4 + span], buf[o5 : o5 + span]
    x6, x7, x8 = buf[o6 : o6 + span], buf[o7 : o7 + span], buf[o8 : o8 + span]
    zero = gw_o[0, 0] * 0  # gw starts at zero: a finite zero of its dtype
    t0 = t1 = t2 = t3 = t4 = t5 = t6 = t7 = t8 = zero
    for k in range(span):
        g = g_s[k]
        t0 += g * x0[k]
        t1 += g * x1[k]
        t2 += g * x2[k]
        t3 += g * x3[k]
        t4 += g * x4[k]
        t5 += g * x5[k]
        t6 += g * x6[k]
        t7 += g * x7[k]
        t8 += g * x8[k]
    gw_o[0, 0] += t0
    gw_o[0, 1] += t1
    gw_o[0, 2] += t2
    gw_o[1, 0] += t3
    gw_o[1, 1] += t4
    gw_o[1, 2] += t5
    gw_o[2, 0] += t6
    gw_o[2, 1] += t7
    gw_o[2, 2] += t8


@_jit.jit(parallel=True, fastmath={"reassoc"})
def _grad_weight(x, gy, sh, sw, dh, dw, pt, pl, q_h, q_w, gw):
    """Shape: x (N, C, H, W), gy (N, C*mult, OH, OW) -> gw (C*mult, KH, KW), zero-initialized."""
    n_img, channels = x.shape[0], x.shape[1]
    out_ch, kh_n, kw_n = gw.shape
    out_h, out_w = gy.shape[2], gy.shape[3]
    mult = out_ch // channels
    span = (out_h - 1) * q_w + out_w
    for o in prange(out_ch):
        c = o // mult
        buf = np.empty(sh * sw * q_h * q_w, dtype=gw.dtype)
        grid = np.zeros(out_h * q_w, dtype=gw.dtype)
        for n in range(n_img):
            _to_phases(x[n, c], pt, pl, sh, sw, q_h, q_w, buf)
            _to_grid(gy[n, o], q_w, grid)
            g_s = grid[:span]
            if kh_n == 3 and kw_n == 3:
                _dots_3x3(g_s, buf, sh, sw, dh, dw, q_h, q_w, gw[o])
                continue
            for a in range(kh_n):
                for b in range(kw_n):
                    off = _tap_offset(a, b, sh, sw, dh, dw, q_h, q_w)
                    x_s = buf[off : off + span]
                    total = gw[o, a, b] * 0
                    for k in range(span):  # summed in vector lanes ('reassoc'), same order every run
                        total += g_s[k] * x_s[k]
                    gw[o, a, b] += total


def _as_2d(spec: ConvSpec):
    """(stride, dilation, (pad_top, pad_left), (q_h, q_w)) of the 2-D problem (1-D: height
    one); ``q`` is the phase grid, ``ceil(padded size / stride)`` per dimension."""
    stride, dilation, pads, padded = spec.stride, spec.dilation, spec.padding, spec.padded_in_spatial
    if spec.ndim == 1:
        stride, dilation, pads, padded = (1, *stride), (1, *dilation), ((0, 0), *pads), (1, *padded)
    grid = tuple(-(-p // s) for p, s in zip(padded, stride))
    return stride, dilation, (pads[0][0], pads[1][0]), grid


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
    (sh, sw), (dh, dw), (pt, pl), (q_h, q_w) = _as_2d(spec)
    out = spec.out_spatial
    y = np.empty((x.shape[0], spec.out_channels, *((1,) if spec.ndim == 1 else ()), *out), dtype=dtype)
    _forward(_planes(x, dtype), _weights(w, dtype), sh, sw, dh, dw, pt, pl, q_h, q_w, y)
    return y.reshape(x.shape[0], spec.out_channels, *out).astype(np.result_type(x, w), copy=False)


def grad_input(gy: np.ndarray, w: np.ndarray, spec: ConvSpec, x_shape) -> np.ndarray:
    """Shape: gy (N, C*mult, *out), w (C*mult, 1, *k) -> gx (N, C, *in)."""
    dtype = _compute_dtype(gy, w)
    (sh, sw), (dh, dw), (pt, pl), (q_h, q_w) = _as_2d(spec)
    in_sp = spec.in_shape[2:]
    gx = np.empty((gy.shape[0], spec.in_channels, *((1,) if spec.ndim == 1 else ()), *in_sp), dtype=dtype)
    flipped = _as_correlation(spec)
    if flipped is not None:  # stride 1, multiplier 1: the forward kernel on gy, taps reversed
        (ft, fl), (fq_h, fq_w) = flipped
        w_flip = np.ascontiguousarray(_weights(w, dtype)[:, ::-1, ::-1])
        _forward(_planes(gy, dtype), w_flip, 1, 1, dh, dw, ft, fl, fq_h, fq_w, gx)
    else:
        _grad_input(_planes(gy, dtype), _weights(w, dtype), sh, sw, dh, dw, pt, pl, q_h, q_w, gx)
    return gx.reshape(x_shape).astype(np.result_type(gy, w), copy=False)


def _as_correlation(spec: ConvSpec):
    """For stride 1 and one output channel per input channel, the input gradient is the
    correlation of ``gy`` padded by ``dilation*(k-1) - pad`` per side with the reversed
    kernel: its (top, left) padding and padded grid; None where that does not apply."""
    if any(s != 1 for s in spec.stride) or spec.out_channels != spec.in_channels:
        return None
    pads = [
        (d * (k - 1) - lo, d * (k - 1) - hi)
        for d, k, (lo, hi) in zip(spec.dilation, spec.kernel_size, spec.padding)
    ]
    if any(p < 0 for pair in pads for p in pair):
        return None
    grid = [o + lo + hi for o, (lo, hi) in zip(spec.out_spatial, pads)]
    if spec.ndim == 1:
        pads, grid = [(0, 0), *pads], [1, *grid]
    return (pads[0][0], pads[1][0]), (grid[0], grid[1])


def grad_weight(x: np.ndarray, gy: np.ndarray, spec: ConvSpec, w_shape) -> np.ndarray:
    """Shape: x (N, C, *in), gy (N, C*mult, *out) -> gw (C*mult, 1, *k)."""
    dtype = _compute_dtype(x, gy)
    (sh, sw), (dh, dw), (pt, pl), (q_h, q_w) = _as_2d(spec)
    k = spec.kernel_size
    gw = np.zeros((spec.out_channels, *((1,) if spec.ndim == 1 else ()), *k), dtype=dtype)
    _grad_weight(_planes(x, dtype), _planes(gy, dtype), sh, sw, dh, dw, pt, pl, q_h, q_w, gw)
    return gw.reshape(w_shape).astype(np.result_type(x, gy), copy=False)
