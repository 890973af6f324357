"""Image filtering in one pass: a compiled stride-1 correlation, one output row at a time.

For a few channel pairs on a large plane (a grey or color image through ``cf.dask.filter``
or ``convforge filter``) the work per pixel is only ``taps`` multiply-adds, so the cost is
memory traffic. ``gemm`` makes one pass over the image per tap (nine for a 3x3) and im2col
copies it ``taps`` times; here every output row is computed once, from the ``KH`` input rows
it reads, while they sit in L1::

    y[n, o, i, j] = sum_{c, a, b} w[o, c, a, b] * xpad[n, g*Cg + c, i + a, j + b]

For 3x3 and 5x5 kernels all taps of one channel are scalars held in registers and the row
loop is one fused expression (9 or 25 multiply-adds per output, read from shifted
unit-stride views of the rows: Numba vectorizes it); 7x7 and other widths run one fused
pass per kernel row (the ``KW`` taps of that row in registers), any other kernel one pass per
tap, all on the output row held in L1. Zero padding is applied first (one copy of the input;
other padding modes are padded by the caller, as for every kernel). Parallel over output
rows of every (sample, output channel) plane (``prange``: Numba's threads, as
``backend.set_num_threads`` sets them); each output element is computed by one thread in a
fixed order, so results do not depend on the thread count. 1-D runs as 2-D with a height of one.

Both gradients are derived from this forward (:mod:`.derived`): the input gradient is a
stride-1 correlation too (the flipped kernel over the padded output gradient), the weight
gradient one whose "kernel" is the output gradient (correct, not fast: :func:`select.rule`
keeps the weight gradient with the other algorithms).

Measured 2026-12-01 on the 2-core AMD EPYC shared with other engineers' jobs (load 3-8, so
noisy: each library timed alone in its own block, best of 5, scipy's block before and after
ours), one 4096x4096 float32 plane, 'same' size, reflect border, ``F.conv2d(...,
padding_mode='reflect')`` (the reflect pad is a copy, ~10 ms) against
``scipy.ndimage.correlate(mode='mirror')``, ms (scipy time / ours):

    3x3: scipy 81, filter2d 19 (4.2x), before: im2col 72 (1.1x, 0.6x in another run), gemm 70
    5x5: scipy 177, filter2d 16 (10.9x), before: gemm 52 (3.4x, 0.6-0.9x in other runs)
    7x7: scipy 368, filter2d 20 (18x),   before: gemm 393 (0.94x)

The kernel alone is ~9 ms for a 3x3 over 4096^2 on one thread and no faster on two: about
14 GB/s of reads and writes, the memory bandwidth. The input gradient (3x3 / 5x5 / 7x7 at
4096^2): 26 / 27 / 47 ms against gemm's 122 / 332 / 613. Chunked (``cf.dask.filter``) the
kernel is a small part of a block's time: see ``benchmarks/RESULTS_DASK.md``. Command:
``python benchmarks/bench_dask.py --in-memory --size 4096 --kernels 3,5,7 --also filter2d,gemm,im2col
--repeats 5``.
"""

from __future__ import annotations

import numpy as np

from ..spec import ConvSpec
from . import derived
from . import jit as _jit

NAME = "filter2d"

prange = range  # numba.prange once compiled (see kernels/jit.py)


def supports(spec: ConvSpec) -> bool:
    return (
        _jit.available()
        and spec.padding_mode == "zeros"
        and spec.ndim in (1, 2)
        and spec.dtype in ("float32", "float64")
        and all(s == 1 for s in spec.stride)
        and all(d == 1 for d in spec.dilation)  # so the weight gradient is stride 1 too
    )


@_jit.jit()
def _taps3x3(acc, r0, r1, r2, w, width):
    """acc[j] += the 3x3 correlation of rows r0..r2 at column j ."""
    w00, w01, w02 = w[0, 0], w[0, 1], w[0, 2]
    w10, w11, w12 = w[1, 0], w[1, 1], w[1, 2]
    w20, w21, w22 = w[2, 0], w[2, 1], w[2, 2]
    a0, a1, a2 = r0[0:width], r0[1 : 1 + width], r0[2 : 2 + width]
    b0, b1, b2 = r1[0:width], r1[1 : 1 + width], r1[2 : 2 + width]
    c0, c1, c2 = r2[0:width], r2[1 : 1 + width], r2[2 : 2 + width]
    for j in range(width):  # unit stride, indices from range: vectorized
        acc[j] += (
            w00 * a0[j] + w01 * a1[j] + w02 * a2[j]
            + w10 * b0[j] + w11 * b1[j] + w12 * b2[j]
            + w20 * c0[j] + w21 * c1[j] + w22 * c2[j]
        )  # fmt: skip


@_jit.jit()
def _taps1x5(acc, r, w, width):
    """acc[j] += the five taps w[0..4] over row r at column j."""
    w0, w1, w2, w3, w4 = w[0], w[1], w[2], w[3], w[4]
    s0, s1, s2 = r[0:width], r[1 : 1 + width], r[2 : 2 + width]
    s3, s4 = r[3 : 3 + width], r[4 : 4 + width]
    for j in range(width):
        acc[j] += w0 * s0[j] + w1 * s1[j] + w2 * s2[j] + w3 * s3[j] + w4 * s4[j]


@_jit.jit()
def _taps5x5(acc, r0, r1, r2, r3, r4, w, width):
    """acc[j] += the 5x5 correlation of rows r0..r4, two passes over acc (rows 0-2, 3-4)."""
    v0, v1, v2, v3, v4 = w[0, 0], w[0, 1], w[0, 2], w[0, 3], w[0, 4]
    u0, u1, u2, u3, u4 = w[1, 0], w[1, 1], w[1, 2], w[1, 3], w[1, 4]
    t0, t1, t2, t3, t4 = w[2, 0], w[2, 1], w[2, 2], w[2, 3], w[2, 4]
    a0, a1, a2 = r0[0:width], r0[1 : 1 + width], r0[2 : 2 + width]
    a3, a4 = r0[3 : 3 + width], r0[4 : 4 + width]
    b0, b1, b2 = r1[0:width], r1[1 : 1 + width], r1[2 : 2 + width]
    b3, b4 = r1[3 : 3 + width], r1[4 : 4 + width]
    c0, c1, c2 = r2[0:width], r2[1 : 1 + width], r2[2 : 2 + width]
    c3, c4 = r2[3 : 3 + width], r2[4 : 4 + width]
    for j in range(width):  # 15 taps in registers; more would spill them
        acc[j] += (
            v0 * a0[j] + v1 * a1[j] + v2 * a2[j] + v3 * a3[j] + v4 * a4[j]
            + u0 * b0[j] + u1 * b1[j] + u2 * b2[j] + u3 * b3[j] + u4 * b4[j]
            + t0 * c0[j] + t1 * c1[j] + t2 * c2[j] + t3 * c3[j] + t4 * c4[j]
        )  # fmt: skip
    _taps1x5(acc, r3, w[3], width)
    _taps1x5(acc, r4, w[4], width)


@_jit.jit()
def _taps1x7(acc, r, w, width):
    """acc[j] += the seven taps w[0..6] over row r at column j."""
    w0, w1, w2, w3, w4, w5, w6 = w[0], w[1], w[2], w[3], w[4], w[5], w[6]
    s0, s1, s2 = r[0:width], r[1 : 1 + width], r[2 : 2 + width]
    s3, s4 = r[3 : 3 + width], r[4 : 4 + width]
    s5, s6 = r[5 : 5 + width], r[6 : 6 + width]
    for j in range(width):
        acc[j] += w0 * s0[j] + w1 * s1[j] + w2 * s2[j] + w3 * s3[j] + w4 * s4[j] + w5 * s5[j] + w6 * s6[j]


@_jit.jit()
def _taps_row(acc, r, w, width):
    """acc[j] += sum_b w[b] * r[j + b]: one unit-stride pass per tap (any width)."""
    for b in range(w.shape[0]):
        wv = w[b]
        src = r[b : b + width]
        for j in range(width):
            acc[j] += wv * src[j]


@_jit.jit(parallel=True)
def _correlate(xp, w, groups, y):
    """y (N, O, OH, OW) = the stride-1 correlation of xp (N, C, H', W') with w (O, Cg, KH, KW)."""
    n_img, out_ch, out_h, out_w = y.shape
    _, c_g, kh_n, kw_n = w.shape
    o_g = out_ch // groups
    for row in prange(n_img * out_ch * out_h):  # static blocks of consecutive rows per thread
        plane = row // out_h
        i = row - plane * out_h
        n = plane // out_ch
        o = plane - n * out_ch
        first = (o // o_g) * c_g
        acc = y[n, o, i]
        for j in range(out_w):
            acc[j] = 0
        for c in range(c_g):
            x_c = xp[n, first + c]
            w_c = w[o, c]
            if kh_n == 3 and kw_n == 3:
                _taps3x3(acc, x_c[i], x_c[i + 1], x_c[i + 2], w_c, out_w)
            elif kh_n == 5 and kw_n == 5:
                r0, r1, r2 = x_c[i], x_c[i + 1], x_c[i + 2]
                _taps5x5(acc, r0, r1, r2, x_c[i + 3], x_c[i + 4], w_c, out_w)
            elif kw_n == 7:
                for a in range(kh_n):
                    _taps1x7(acc, x_c[i + a], w_c[a], out_w)
            elif kw_n == 5:
                for a in range(kh_n):
                    _taps1x5(acc, x_c[i + a], w_c[a], out_w)
            else:
                for a in range(kh_n):
                    _taps_row(acc, x_c[i + a], w_c[a], out_w)


def _dtype(*arrays) -> np.dtype:
    return np.promote_types(np.result_type(*arrays), np.float32)


def forward(x: np.ndarray, w: np.ndarray, spec: ConvSpec) -> np.ndarray:
    """Shape: x (N, C, *in), w (O, Cg, *k) -> y (N, O, *out) (1-D or 2-D, stride 1)."""
    dtype = _dtype(x, w)
    pads = spec.padding
    x4 = np.ascontiguousarray(x, dtype=dtype)
    w4 = np.ascontiguousarray(w, dtype=dtype)
    if spec.ndim == 1:  # as 2-D with a height of one
        x4, w4 = x4[:, :, None], w4[:, :, None]
        pads = ((0, 0), *pads)
    if any(p for pair in pads for p in pair):
        x4 = np.pad(x4, ((0, 0), (0, 0), *pads))
    out_h, out_w = (1, *spec.out_spatial) if spec.ndim == 1 else spec.out_spatial
    y = np.empty((x.shape[0], spec.out_channels, out_h, out_w), dtype=dtype)
    if y.size:
        _correlate(x4, w4, spec.groups, y)
    return y.reshape(spec.out_shape).astype(np.result_type(x, w), copy=False)


grad_input = derived.grad_input(forward)
grad_input.__doc__ = "Shape: gy (N, O, *out), w (O, Cg, *k) -> gx (N, C, *in) (derived from forward)."
grad_weight = derived.grad_weight(forward)
grad_weight.__doc__ = "Shape: x (N, C, *in), gy (N, O, *out) -> gw (O, Cg, *k) (derived from forward)."
