"""Compiled max and average pooling loops (Numba), forward and backward, 1-D to 3-D.

The loops are torch's CPU kernels written out, so values, indices and the order in which
gradients add up are the same: every spatial problem is run as 3-D (missing leading
dimensions have size one), one (n, c) plane at a time. Per output cell, per dimension, a
max-pool window starts at ``o*stride - pad``, steps forward by ``dilation`` while it lies
in the padding and ends at ``min(start + (k-1)*dilation + 1, size)``; the scan visits its
taps in C order and keeps a value when ``value > best or isnan(value)`` from
``best = -inf``, with the first tap inside the input as the index until then. An
average-pool window is clipped to the padded input for ``count_include_pad``'s divisor,
then to the input for the sum.

The backward passes visit the output cells in C order and add each gradient to its input
cells, as torch's do. A max-pool window that reads no input cell (possible with dilation
and padding) passes no gradient on (torch would write it to a wrong cell).

Planes are independent: large inputs split them into blocks run in parallel (``prange``);
small ones run on the calling thread (a parallel region costs more than the work, and
leaves worker threads spinning after it).
"""

from __future__ import annotations

import math

import numpy as np

from ..spec import PoolSpec
from . import jit as _jit

prange = range  # numba.prange once compiled (see kernels/jit.py)

PARALLEL_CELLS = 1 << 19  # input cells from which planes are split across threads
BLOCKS = 64


def supports(x: np.ndarray) -> bool:
    """Whether the compiled loops handle ``x`` (float32/float64 with Numba present)."""
    return _jit.available() and x.dtype in (np.float32, np.float64)


@_jit.jit()
def _start(o, stride, pad, dilation):
    """First tap position inside the input (>= 0) of the window of output ``o``."""
    start = o * stride - pad
    if start < 0:
        start += ((-start + dilation - 1) // dilation) * dilation
    return start


@_jit.jit()
def _max_planes(x, geo, lo, hi, y, idx):
    """Planes ``[lo, hi)``: x (P, D, H, W) -> y, idx (P, OD, OH, OW); ``geo`` (4, 3) rows
    kernel, stride, pad, dilation per dimension."""
    depth, height, width = x.shape[1], x.shape[2], x.shape[3]
    o_d, o_h, o_w = y.shape[1], y.shape[2], y.shape[3]
    kd, kh, kw = geo[0, 0], geo[0, 1], geo[0, 2]
    sd, sh, sw = geo[1, 0], geo[1, 1], geo[1, 2]
    pd, ph, pw = geo[2, 0], geo[2, 1], geo[2, 2]
    dd, dh, dw = geo[3, 0], geo[3, 1], geo[3, 2]
    for p in range(lo, hi):
        plane = x[p]
        for od in range(o_d):
            d0 = _start(od, sd, pd, dd)
            d1 = min(od * sd - pd + (kd - 1) * dd + 1, depth)
            for oh in range(o_h):
                h0 = _start(oh, sh, ph, dh)
                h1 = min(oh * sh - ph + (kh - 1) * dh + 1, height)
                for ow in range(o_w):
                    w0 = _start(ow, sw, pw, dw)
                    w1 = min(ow * sw - pw + (kw - 1) * dw + 1, width)
                    best = -np.inf
                    best_at = (d0 * height + h0) * width + w0
                    for d in range(d0, d1, dd):
                        for h in range(h0, h1, dh):
                            row = plane[d, h]
                            for w in range(w0, w1, dw):
                                value = row[w]
                                if value > best or np.isnan(value):
                                    best = value
                                    best_at = (d * height + h) * width + w
                    y[p, od, oh, ow] = best
                    idx[p, od, oh, ow] = best_at


@_jit.jit()
def _max_planes_2d(x, geo, lo, hi, y, idx):
    """:func:`_max_planes` for a depth of one without dilation (the common 2-D pool): the same
    scan with unit-step loops, which compile to far tighter code than the general one."""
    height, width = x.shape[2], x.shape[3]
    o_h, o_w = y.shape[2], y.shape[3]
    kh, kw, sh, sw, ph, pw = geo[0, 1], geo[0, 2], geo[1, 1], geo[1, 2], geo[2, 1], geo[2, 2]
    for p in range(lo, hi):
        plane = x[p, 0]
        for oh in range(o_h):
            h0 = max(oh * sh - ph, 0)
            h1 = min(oh * sh - ph + kh, height)
            y_row = y[p, 0, oh]
            i_row = idx[p, 0, oh]
            for ow in range(o_w):
                w0 = max(ow * sw - pw, 0)
                w1 = min(ow * sw - pw + kw, width)
                best = plane[h0, w0]  # as torch's -inf start: the first tap is kept either way
                best_at = h0 * width + w0
                for h in range(h0, h1):
                    row = plane[h]
                    for w in range(w0, w1):
                        value = row[w]
                        if value > best or np.isnan(value):
                            best = value
                            best_at = h * width + w
                y_row[ow] = best
                i_row[ow] = best_at


@_jit.jit()
def _reads_input(o, size, kernel, stride, pad, dilation):
    """Whether the max window of output ``o`` has a tap inside ``[0, size)``."""
    return _start(o, stride, pad, dilation) < min(o * stride - pad + (kernel - 1) * dilation + 1, size)


@_jit.jit()
def _max_back_planes(g, idx, geo, lo, hi, gx):
    """Planes ``[lo, hi)``: g, idx (P, OD, OH, OW) -> gx (P, D*H*W), zero-initialized."""
    depth, height, width = geo[4, 0], geo[4, 1], geo[4, 2]
    o_d, o_h, o_w = g.shape[1], g.shape[2], g.shape[3]
    for p in range(lo, hi):
        dst = gx[p]
        for od in range(o_d):
            if not _reads_input(od, depth, geo[0, 0], geo[1, 0], geo[2, 0], geo[3, 0]):
                continue
            for oh in range(o_h):
                if not _reads_input(oh, height, geo[0, 1], geo[1, 1], geo[2, 1], geo[3, 1]):
                    continue
                for ow in range(o_w):
                    if _reads_input(ow, width, geo[0, 2], geo[1, 2], geo[2, 2], geo[3, 2]):
                        dst[idx[p, od, oh, ow]] += g[p, od, oh, ow]


@_jit.jit()
def _avg_window(o, kernel, stride, pad, size):
    """(start, end, padded extent) of the average window of output ``o``, clipped to the input."""
    start = o * stride - pad
    end = min(start + kernel, size + pad)
    extent = end - start
    return max(start, 0), min(end, size), extent


@_jit.jit()
def _avg_planes(x, geo, lo, hi, include_pad, divisor, zero, y):
    """Planes ``[lo, hi)``: x (P, D, H, W) -> y (P, OD, OH, OW); a ``divisor`` other than 0
    overrides; ``zero`` of y's dtype starts each sum (so it is summed in that dtype, as torch)."""
    depth, height, width = x.shape[1], x.shape[2], x.shape[3]
    o_d, o_h, o_w = y.shape[1], y.shape[2], y.shape[3]
    for p in range(lo, hi):
        plane = x[p]
        for od in range(o_d):
            d0, d1, ed = _avg_window(od, geo[0, 0], geo[1, 0], geo[2, 0], depth)
            for oh in range(o_h):
                h0, h1, eh = _avg_window(oh, geo[0, 1], geo[1, 1], geo[2, 1], height)
                for ow in range(o_w):
                    w0, w1, ew = _avg_window(ow, geo[0, 2], geo[1, 2], geo[2, 2], width)
                    if d0 >= d1 or h0 >= h1 or w0 >= w1:
                        y[p, od, oh, ow] = 0
                        continue
                    total = zero
                    for d in range(d0, d1):
                        for h in range(h0, h1):
                            row = plane[d, h]
                            for w in range(w0, w1):
                                total += row[w]
                    if divisor != 0:
                        count = divisor
                    elif include_pad:
                        count = ed * eh * ew
                    else:
                        count = (d1 - d0) * (h1 - h0) * (w1 - w0)
                    y[p, od, oh, ow] = total / count


@_jit.jit()
def _avg_back_planes(g, geo, lo, hi, include_pad, divisor, gx):
    """Planes ``[lo, hi)``: g (P, OD, OH, OW) -> gx (P, D, H, W), zero-initialized."""
    depth, height, width = gx.shape[1], gx.shape[2], gx.shape[3]
    o_d, o_h, o_w = g.shape[1], g.shape[2], g.shape[3]
    share = np.empty(1, dtype=gx.dtype)  # the quotient rounded to gx's dtype, as torch adds it
    for p in range(lo, hi):
        dst = gx[p]
        for od in range(o_d):
            d0, d1, ed = _avg_window(od, geo[0, 0], geo[1, 0], geo[2, 0], depth)
            for oh in range(o_h):
                h0, h1, eh = _avg_window(oh, geo[0, 1], geo[1, 1], geo[2, 1], height)
                for ow in range(o_w):
                    w0, w1, ew = _avg_window(ow, geo[0, 2], geo[1, 2], geo[2, 2], width)
                    if d0 >= d1 or h0 >= h1 or w0 >= w1:
                        continue
                    if divisor != 0:
                        count = divisor
                    elif include_pad:
                        count = ed * eh * ew
                    else:
                        count = (d1 - d0) * (h1 - h0) * (w1 - w0)
                    share[0] = g[p, od, oh, ow] / count
                    for d in range(d0, d1):
                        for h in range(h0, h1):
                            row = dst[d, h]
                            for w in range(w0, w1):
                                row[w] += share[0]


# parallel drivers: the same loops over blocks of planes ---------------------------------
@_jit.jit(parallel=True)
def _max_parallel(x, geo, flat, y, idx):
    per = -(-x.shape[0] // BLOCKS)
    for b in prange(BLOCKS):
        lo, hi = b * per, min(x.shape[0], (b + 1) * per)
        if flat:
            _max_planes_2d(x, geo, lo, hi, y, idx)
        else:
            _max_planes(x, geo, lo, hi, y, idx)


@_jit.jit(parallel=True)
def _max_back_parallel(g, idx, geo, gx):
    per = -(-g.shape[0] // BLOCKS)
    for b in prange(BLOCKS):
        _max_back_planes(g, idx, geo, b * per, min(g.shape[0], (b + 1) * per), gx)


@_jit.jit(parallel=True)
def _avg_parallel(x, geo, include_pad, divisor, zero, y):
    per = -(-x.shape[0] // BLOCKS)
    for b in prange(BLOCKS):
        _avg_planes(x, geo, b * per, min(x.shape[0], (b + 1) * per), include_pad, divisor, zero, y)


@_jit.jit(parallel=True)
def _avg_back_parallel(g, geo, include_pad, divisor, gx):
    per = -(-g.shape[0] // BLOCKS)
    for b in prange(BLOCKS):
        _avg_back_planes(g, geo, b * per, min(g.shape[0], (b + 1) * per), include_pad, divisor, gx)


# array wrappers -------------------------------------------------------------------------
def _geometry(spec: PoolSpec) -> np.ndarray:
    """(5, 3) int64: kernel, stride, pad before, dilation, input size, as 3-D (leading ones)."""
    lead = 3 - spec.ndim
    rows = (
        spec.kernel_size,
        spec.stride,
        tuple(lo for lo, _ in spec.padding),
        spec.dilation,
        spec.in_shape[2:],
    )
    fill = (1, 1, 0, 1, 1)
    return np.array([(f,) * lead + tuple(r) for f, r in zip(fill, rows)], dtype=np.int64)


def _as_3d(a: np.ndarray, planes: int) -> np.ndarray:
    """(N, C, *spatial) -> contiguous (N*C, D, H, W)."""
    spatial = a.shape[2:]
    return np.ascontiguousarray(a).reshape(planes, *(1,) * (3 - len(spatial)), *spatial)


def _parallel(cells: int, planes: int) -> bool:
    return cells >= PARALLEL_CELLS and planes > 1


def max_pool(x: np.ndarray, spec: PoolSpec) -> tuple[np.ndarray, np.ndarray]:
    """Shape: x (N, C, *in) -> values, int64 indices (N, C, *out) (torch's flat plane positions)."""
    planes = x.shape[0] * x.shape[1]
    out_shape = (*x.shape[:2], *spec.out_spatial)
    x3, geo = _as_3d(x, planes), _geometry(spec)
    y = np.empty((planes, *_out3(spec)), dtype=x.dtype)
    idx = np.empty(y.shape, dtype=np.int64)
    flat = spec.ndim < 3 and all(d == 1 for d in spec.dilation)  # depth one, no dilation
    if _parallel(x.size, planes):
        _max_parallel(x3, geo, flat, y, idx)
    elif flat:
        _max_planes_2d(x3, geo, 0, planes, y, idx)
    else:
        _max_planes(x3, geo, 0, planes, y, idx)
    return y.reshape(out_shape), idx.reshape(out_shape)


def _out3(spec: PoolSpec) -> tuple[int, int, int]:
    return (*(1,) * (3 - spec.ndim), *spec.out_spatial)


def max_pool_backward(grad: np.ndarray, indices: np.ndarray, spec: PoolSpec) -> np.ndarray:
    """Shape: grad, indices (N, C, *out) -> (N, C, *in)."""
    planes = grad.shape[0] * grad.shape[1]
    gx = np.zeros((planes, math.prod(spec.in_shape[2:])), dtype=grad.dtype)
    g3 = np.ascontiguousarray(grad).reshape(planes, *_out3(spec))
    i3 = np.ascontiguousarray(indices).reshape(g3.shape)
    geo = _geometry(spec)
    if _parallel(gx.size, planes):
        _max_back_parallel(g3, i3, geo, gx)
    else:
        _max_back_planes(g3, i3, geo, 0, planes, gx)
    return gx.reshape(*grad.shape[:2], *spec.in_shape[2:])


def _avg_options(spec: PoolSpec) -> tuple[bool, int]:
    return bool(spec.count_include_pad), int(spec.divisor_override or 0)


def avg_pool(x: np.ndarray, spec: PoolSpec) -> np.ndarray:
    """Shape: x (N, C, *in) -> (N, C, *out)."""
    planes = x.shape[0] * x.shape[1]
    y = np.empty((planes, *_out3(spec)), dtype=x.dtype)
    x3, geo = _as_3d(x, planes), _geometry(spec)
    include_pad, divisor = _avg_options(spec)
    if _parallel(x.size, planes):
        _avg_parallel(x3, geo, include_pad, divisor, x.dtype.type(0), y)
    else:
        _avg_planes(x3, geo, 0, planes, include_pad, divisor, x.dtype.type(0), y)
    return y.reshape(*x.shape[:2], *spec.out_spatial)


def avg_pool_backward(grad: np.ndarray, spec: PoolSpec) -> np.ndarray:
    """Shape: grad (N, C, *out) -> (N, C, *in)."""
    planes = grad.shape[0] * grad.shape[1]
    in3 = (*(1,) * (3 - spec.ndim), *spec.in_shape[2:])
    gx = np.zeros((planes, *in3), dtype=grad.dtype)
    g3 = np.ascontiguousarray(grad).reshape(planes, *_out3(spec))
    geo = _geometry(spec)
    include_pad, divisor = _avg_options(spec)
    if _parallel(gx.size, planes):
        _avg_back_parallel(g3, geo, include_pad, divisor, gx)
    else:
        _avg_back_planes(g3, geo, 0, planes, include_pad, divisor, gx)
    return gx.reshape(*grad.shape[:2], *spec.in_shape[2:])
