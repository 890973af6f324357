r"""Winograd minimal filtering F(m x m, 3 x 3) for stride-1, dilation-1 3x3 convolutions.

**1-D F(m, r).** ``m`` outputs of an ``r``-tap correlation, ``y_i = sum_k d_{i+k} g_k``,
from ``alpha = m + r - 1`` inputs with only ``alpha`` multiplications::

    y = A^T [ (G g) * (B^T d) ]

Derivation (Toom-Cook / Chinese remainder theorem, Lavin & Gray 2016): read the
correlation as the product of polynomials ``g(x)`` (degree ``r-1``) and ``d(x)`` (degree
``alpha-1``) sampled at ``alpha`` points. Evaluating both factors at the points
``0, +-1, +-2, ...`` and "infinity" (the leading coefficient) is ``G g`` and ``B^T d``; the
pointwise products are the samples of the product polynomial, and ``A^T`` interpolates the
``m`` coefficients we need from them. The rows of ``G`` carry the scale factors of the
Lagrange interpolation (``1/2`` for ``F(2,3)``; ``1/4, 1/6, 1/12, 1/24`` for ``F(4,3)``),
so ``B^T`` and ``A^T`` stay small integers. The matrices below are Lavin's, points
``(0, 1, -1, inf)`` for ``F(2,3)`` and ``(0, 1, -1, 2, -2, inf)`` for ``F(4,3)``; the tests
check ``A^T[(Gg)*(B^T d)]`` against the direct correlation.

**2-D.** Nesting the 1-D algorithm along both axes: an ``alpha x alpha`` input tile ``d``
gives the ``m x m`` output tile ``Y = A^T [ (G g G^T) * (B^T d B) ] A``. Over channels the
pointwise product becomes, for each of the ``alpha^2`` tile positions ``e``, a matrix
product over channels, and over all tiles ``T`` of a chunk of the batch one GEMM::

    M[e] (T, O) = V[e] (T, C) @ U[e] (C, O)      U = G g G^T,  V = B^T d B

``(alpha/m)^2 * 9 / alpha^2`` fewer multiplications than direct: 2.25x for F(2x2) and 4x
for F(4x4), paid for with transforms and round-off. The tiles are laid out channel-last,
``(alpha^2, T, C)``, so the long dimension of every GEMM runs over the tiles (this
orientation ran fastest here) and the transforms, compiled with Numba and parallel over
(sample, tile row, channel block), sweep contiguous runs of channels with the sparse
integer rows of ``B^T`` and ``A^T`` written out (no 6x6 matrix loops). Zero padding is read
as zeros at the borders, so nothing is padded in memory. The batch goes through in chunks
of at most :data:`CHUNK_BYTES` of tiles, from buffers allocated once per call, so the
GEMMs and the output transform read tiles still in cache (one thread, 64@56 batch 8: 13.6
ms forward in one chunk, 9.1 ms in 8 MiB chunks). Each chunk hands the cores from Numba's
threads to BLAS's and back; with two threads on a heavily loaded machine (load 8-13 on 2
cores) 8 MiB chunks ran 1.7-5x slower than one chunk under the spinning omp layer, a
measurement too noisy to decide on; unmeasured on a quiet machine.

**Gradients.** ``grad_input`` is the same algorithm on ``gy`` with the kernel flipped and
its channel axes swapped (the full correlation; origin ``pad - 2``). ``grad_weight``
differentiates the tile formula: ``dU = sum_tiles V^T (A dY A^T)`` (one GEMM per ``e`` with
the tiles as inner dimension), ``dg = G^T dU G``.

**The weight transform is cached** per weight array and value (:mod:`.weight_cache`:
compared with a copy on every call, so in-place updates are seen): inference reuses it; in
training the weights change every step and it is recomputed (measured, one thread: the
transform is 2 % of a 64@56 batch-8 forward, 38 % of a 128@28 batch-1 one).

**Error.** The transforms grow with ``m``: measured relative error (max abs error over max
abs value of the result) in float32 is ~1e-6 for F(2x2) and ~1e-5 for F(4x4) on ResNet
layers (direct: ~1e-7). :data:`ERROR_BOUND` is the tested bound.
"""

from __future__ import annotations

import math

import numpy as np

from ..backend import batch_chunk
from ..spec import ConvSpec
from . import jit as _jit
from .weight_cache import WeightCache

prange = range  # numba.prange once compiled (see kernels/jit.py)

# F(2, 3): points 0, 1, -1, inf
BT_F2 = np.array(
    [
        [1, 0, -1, 0],
        [0, 1, 1, 0],
        [0, -1, 1, 0],
        [0, 1, 0, -1],
    ],
    dtype=np.float64,
)
G_F2 = np.array(
    [
        [1, 0, 0],
        [1 / 2, 1 / 2, 1 / 2],
        [1 / 2, -1 / 2, 1 / 2],
        [0, 0, 1],
    ]
)
AT_F2 = np.array(
    [
        [1, 1, 1, 0],
        [0, 1, -1, -1],
    ],
    dtype=np.float64,
)

# F(4, 3): points 0, 1, -1, 2, -2, inf
BT_F4 = np.array(
    [
        [4, 0, -5, 0, 1, 0],
        [0, -4, -4, 1, 1, 0],
        [0, 4, -4, -1, 1, 0],
        [0, -2, -1, 2, 1, 0],
        [0, 2, -1, -2, 1, 0],
        [0, 4, 0, -5, 0, 1],
    ],
    dtype=np.float64,
)
G_F4 = np.array(
    [
        [1 / 4, 0, 0],
        [-1 / 6, -1 / 6, -1 / 6],
        [-1 / 6, 1 / 6, -1 / 6],
        [1 / 24, 1 / 12, 1 / 6],
        [1 / 24, -1 / 12, 1 / 6],
        [0, 0, 1],
    ]
)
AT_F4 = np.array(
    [
        [1, 1, 1, 1, 1, 0],
        [0, 1, -1, 2, -2, 0],
        [0, 1, 1, 4, 4, 0],
        [0, 1, -1, 8, -8, 1],
    ],
    dtype=np.float64,
)

MATRICES = {2: (BT_F2, G_F2, AT_F2), 4: (BT_F4, G_F4, AT_F4)}

# tested bound on max|ours - exact| / max(max|exact|, 1), per output tile size and dtype
ERROR_BOUND = {
    2: {np.dtype(np.float32): 2e-5, np.dtype(np.float64): 1e-13},
    4: {np.dtype(np.float32): 1e-4, np.dtype(np.float64): 1e-12},
}


# --------------------------------------------------------------------------------------
# the 1-D transforms, written out from the matrices above (the tests compare them)
# --------------------------------------------------------------------------------------
@_jit.jit()
def _apply_bt(m, src, dst):
    """``dst = B^T @ src`` for ``src`` (alpha, k)."""
    for j in range(src.shape[1]):
        if m == 2:
            s0, s1, s2, s3 = src[0, j], src[1, j], src[2, j], src[3, j]
            dst[0, j] = s0 - s2
            dst[1, j] = s1 + s2
            dst[2, j] = s2 - s1
            dst[3, j] = s1 - s3
        else:
            s0, s1, s2, s3, s4, s5 = src[0, j], src[1, j], src[2, j], src[3, j], src[4, j], src[5, j]
            dst[0, j] = 4 * s0 - 5 * s2 + s4
            dst[1, j] = s3 + s4 - 4 * (s1 + s2)
            dst[2, j] = 4 * (s1 - s2) + s4 - s3
            dst[3, j] = 2 * (s3 - s1) + s4 - s2
            dst[4, j] = 2 * (s1 - s3) + s4 - s2
            dst[5, j] = 4 * s1 - 5 * s3 + s5


@_jit.jit()
def _apply_at(m, src, dst):
    """``dst = A^T @ src`` for ``src`` (alpha, k)."""
    for j in range(src.shape[1]):
        if m == 2:
            s0, s1, s2, s3 = src[0, j], src[1, j], src[2, j], src[3, j]
            dst[0, j] = s0 + s1 + s2
            dst[1, j] = s1 - s2 - s3
        else:
            s0, s1, s2, s3, s4, s5 = src[0, j], src[1, j], src[2, j], src[3, j], src[4, j], src[5, j]
            dst[0, j] = s0 + (s1 + s2) + (s3 + s4)
            dst[1, j] = (s1 - s2) + 2 * (s3 - s4)
            dst[2, j] = (s1 + s2) + 4 * (s3 + s4)
            dst[3, j] = (s1 - s2) + 8 * (s3 - s4) + s5


@_jit.jit()
def _apply_a(m, src, dst):
    """``dst = A @ src`` for ``src`` (m, k): the adjoint of :func:`_apply_at`."""
    for j in range(src.shape[1]):
        if m == 2:
            q0, q1 = src[0, j], src[1, j]
            dst[0, j] = q0
            dst[1, j] = q0 + q1
            dst[2, j] = q0 - q1
            dst[3, j] = -q1
        else:
            q0, q1, q2, q3 = src[0, j], src[1, j], src[2, j], src[3, j]
            dst[0, j] = q0
            dst[1, j] = (q0 + q2) + (q1 + q3)
            dst[2, j] = (q0 + q2) - (q1 + q3)
            dst[3, j] = (q0 + 4 * q2) + 2 * (q1 + 4 * q3)
            dst[4, j] = (q0 + 4 * q2) - 2 * (q1 + 4 * q3)
            dst[5, j] = q3


# --------------------------------------------------------------------------------------
# tile transforms, parallel over blocks of (sample, tile row, channel block)
#
# Tiles live in ``(alpha^2, T, C)``: for each of the ``alpha^2`` tile positions a (tiles,
# channels) matrix, channels contiguous, so each GEMM is ``(T, C) @ (C, K)`` (the layout that
# ran fastest here) and each transform step sweeps a contiguous run of one channel block.
# A work item is one tile row of one sample for ``block`` channels: its ``alpha x width``
# strip is gathered channel-last into a small buffer (it stays in L1/L2), transformed along
# the rows as one long contiguous sweep, then along the columns, and copied out in runs of
# ``block`` channels. Nothing is scattered and nothing outside the buffers is padded.
#
# Every innermost loop indexes a 1-D view with its own ``range`` counter: an index such as
# ``c0 + cc`` could be negative as far as the compiler knows, so Numba's wraparound check
# stays in the loop and it is not vectorized (measured: the copy into ``v`` ran 3x slower).
# --------------------------------------------------------------------------------------
@_jit.jit(parallel=True)
def _input_transform(x, origin_h, origin_w, tiles_h, tiles_w, m, block, v):
    """``v[e, tile, c] = (B^T d B)[e]`` for every ``alpha x alpha`` input tile ``d``.

    Shape: x (N, C, H, W) -> v (alpha^2, N*tiles_h*tiles_w, C). Tile ``(ty, tx)`` starts at
    ``(origin_h + m*ty, origin_w + m*tx)``; cells outside ``x`` read as zero.
    """
    n_img, channels, height, width = x.shape
    alpha = m + 2
    span = m * tiles_w + 2  # strip columns covered by the row of tiles
    blocks = -(-channels // block)
    lo = max(0, -origin_w)  # strip columns [lo, hi) lie inside x
    hi = min(span, width - origin_w)
    for item in prange(n_img * tiles_h * blocks):
        n = item // (tiles_h * blocks)
        ty = (item // blocks) % tiles_h
        c0 = (item % blocks) * block
        cb = min(block, channels - c0)
        strip = np.zeros((alpha, span, cb), dtype=v.dtype)  # the rows, channel-last
        rows = np.empty((alpha, span, cb), dtype=v.dtype)
        cols = np.empty((alpha, tiles_w, cb), dtype=v.dtype)
        done = np.empty((alpha, tiles_w, cb), dtype=v.dtype)
        for a in range(alpha):
            h = origin_h + m * ty + a
            if 0 <= h < height:
                for cc in range(cb):
                    src = x[n, c0 + cc, h, origin_w + lo : origin_w + hi]
                    dst = strip[a, lo:hi, cc]
                    for j in range(hi - lo):
                        dst[j] = src[j]
        _apply_bt(m, strip.reshape(alpha, span * cb), rows.reshape(alpha, span * cb))
        base = (n * tiles_h + ty) * tiles_w
        for e in range(alpha):
            for b in range(alpha):  # cols[b, tile] = column b of the tile in row e of B^T d
                for tx in range(tiles_w):
                    src = rows[e, m * tx + b]
                    dst = cols[b, tx]
                    for cc in range(cb):
                        dst[cc] = src[cc]
            _apply_bt(m, cols.reshape(alpha, tiles_w * cb), done.reshape(alpha, tiles_w * cb))
            for f in range(alpha):
                for tx in range(tiles_w):
                    src = done[f, tx]
                    dst = v[e * alpha + f, base + tx, c0 : c0 + cb]
                    for cc in range(cb):
                        dst[cc] = src[cc]


@_jit.jit(parallel=True)
def _output_transform(mm, m, tiles_h, tiles_w, block, y):
    """``y`` tiles ``= A^T M A``, cropped to ``y``'s size.

    Shape: mm (alpha^2, N*tiles_h*tiles_w, O) -> y (N, O, OH, OW).
    """
    n_img, out_ch, out_h, out_w = y.shape
    alpha = m + 2
    span = m * tiles_w
    blocks = -(-out_ch // block)
    for item in prange(n_img * tiles_h * blocks):
        n = item // (tiles_h * blocks)
        ty = (item // blocks) % tiles_h
        k0 = (item % blocks) * block
        kb = min(block, out_ch - k0)
        tile_m = np.empty((alpha, tiles_w, kb), dtype=mm.dtype)
        tile_r = np.empty((m, tiles_w, kb), dtype=mm.dtype)
        half = np.empty((alpha, span, kb), dtype=mm.dtype)  # (M A) rows, tiles side by side
        full = np.empty((m, span, kb), dtype=mm.dtype)
        base = (n * tiles_h + ty) * tiles_w
        for e in range(alpha):
            for f in range(alpha):
                for tx in range(tiles_w):
                    src = mm[e * alpha + f, base + tx, k0 : k0 + kb]
                    dst = tile_m[f, tx]
                    for kk in range(kb):
                        dst[kk] = src[kk]
            _apply_at(m, tile_m.reshape(alpha, tiles_w * kb), tile_r.reshape(m, tiles_w * kb))
            for j in range(m):
                for tx in range(tiles_w):
                    src = tile_r[j, tx]
                    dst = half[e, m * tx + j]
                    for kk in range(kb):
                        dst[kk] = src[kk]
        _apply_at(m, half.reshape(alpha, span * kb), full.reshape(m, span * kb))
        for i in range(min(m, out_h - m * ty)):
            for kk in range(kb):
                src = full[i, :, kk]
                dst = y[n, k0 + kk, m * ty + i]
                for j in range(out_w):
                    dst[j] = src[j]


@_jit.jit(parallel=True)
def _output_adjoint(gy, m, tiles_h, tiles_w, block, dm):
    """The adjoint of :func:`_output_transform`: ``dm[e, tile, o] = (A dY A^T)[e]``.

    Shape: gy (N, O, OH, OW) -> dm (alpha^2, N*tiles_h*tiles_w, O); ``dY`` is the ``m x m``
    tile of ``gy``, zero past its edge.
    """
    n_img, out_ch, out_h, out_w = gy.shape
    alpha = m + 2
    span = m * tiles_w
    blocks = -(-out_ch // block)
    for item in prange(n_img * tiles_h * blocks):
        n = item // (tiles_h * blocks)
        ty = (item // blocks) % tiles_h
        k0 = (item % blocks) * block
        kb = min(block, out_ch - k0)
        strip = np.zeros((m, span, kb), dtype=dm.dtype)
        rows = np.empty((alpha, span, kb), dtype=dm.dtype)
        cols = np.empty((m, tiles_w, kb), dtype=dm.dtype)
        done = np.empty((alpha, tiles_w, kb), dtype=dm.dtype)
        for i in range(min(m, out_h - m * ty)):
            for kk in range(kb):
                src = gy[n, k0 + kk, m * ty + i]
                dst = strip[i, :, kk]
                for j in range(out_w):
                    dst[j] = src[j]
        _apply_a(m, strip.reshape(m, span * kb), rows.reshape(alpha, span * kb))
        base = (n * tiles_h + ty) * tiles_w
        for e in range(alpha):
            for j in range(m):
                for tx in range(tiles_w):
                    src = rows[e, m * tx + j]
                    dst = cols[j, tx]
                    for kk in range(kb):
                        dst[kk] = src[kk]
            _apply_a(m, cols.reshape(m, tiles_w * kb), done.reshape(alpha, tiles_w * kb))
            for f in range(alpha):
                for tx in range(tiles_w):
                    src = done[f, tx]
                    dst = dm[e * alpha + f, base + tx, k0 : k0 + kb]
                    for kk in range(kb):
                        dst[kk] = src[kk]


@_jit.jit(parallel=True)
def _weight_transform_kernel(w, g_mat, block, u):
    """``u[g, c, e*alpha + f, o] = (G w[g*Og + o, c] G^T)[e, f]``, summed in float64.

    Shape: w (O, Cg, 3, 3) (any strides), g_mat (alpha, 3) -> u (G, Cg, alpha^2, Og). A work
    item is a block of input channels; every sum is a sweep over the output channels, and
    one channel's ``alpha^2`` rows lie side by side (rows ``Cg*Og`` apart, 1 MiB at 512
    channels, all fell in the same cache sets: 512 channels took 22 ms, one thread).
    """
    groups, c_g, o_g = u.shape[0], u.shape[1], u.shape[3]
    alpha = g_mat.shape[0]
    blocks = -(-c_g // block)
    for item in prange(groups * blocks):
        gi = item // blocks
        c0 = (item - gi * blocks) * block
        cb = min(block, c_g - c0)
        taps = np.empty((cb, 3, 3, o_g))  # the block's kernels, output channel last
        for o in range(o_g):
            for cc in range(cb):
                for a in range(3):
                    for b in range(3):
                        taps[cc, a, b, o] = w[gi * o_g + o, c0 + cc, a, b]
        half = np.empty((alpha, 3, o_g))
        for cc in range(cb):
            for e in range(alpha):  # half = G g
                for b in range(3):
                    for o in range(o_g):
                        half[e, b, o] = (
                            g_mat[e, 0] * taps[cc, 0, b, o]
                            + g_mat[e, 1] * taps[cc, 1, b, o]
                            + g_mat[e, 2] * taps[cc, 2, b, o]
                        )
            for e in range(alpha):  # U = (G g) G^T
                for f in range(alpha):
                    for o in range(o_g):
                        u[gi, c0 + cc, e * alpha + f, o] = (
                            half[e, 0, o] * g_mat[f, 0]
                            + half[e, 1, o] * g_mat[f, 1]
                            + half[e, 2, o] * g_mat[f, 2]
                        )


@_jit.jit(parallel=True)
def _weight_adjoint_kernel(grad_u, g_mat, block, gw):
    """``gw[g*Og + o, c] = G^T dU[g, c, :, o] G`` (``dU`` read as alpha x alpha), in float64.

    Shape: grad_u (G, Cg, alpha^2, Og), g_mat (alpha, 3) -> gw (O, Cg, 3, 3). The sums sweep
    the output channels (rows of ``dU``, one channel's side by side); a block of channels is
    written back along ``gw``'s rows.
    """
    groups, c_g, o_g = grad_u.shape[0], grad_u.shape[1], grad_u.shape[3]
    alpha = g_mat.shape[0]
    blocks = -(-c_g // block)
    for item in prange(groups * blocks):
        gi = item // blocks
        c0 = (item - gi * blocks) * block
        cb = min(block, c_g - c0)
        taps = np.zeros((cb, 3, 3, o_g))
        half = np.empty((3, alpha, o_g))
        for cc in range(cb):
            half[:] = 0.0
            for e in range(alpha):  # half = G^T dU
                for a in range(3):
                    if g_mat[e, a] != 0.0:
                        for f in range(alpha):
                            for o in range(o_g):
                                half[a, f, o] += g_mat[e, a] * grad_u[gi, c0 + cc, e * alpha + f, o]
            for a in range(3):  # taps = (G^T dU) G
                for b in range(3):
                    for f in range(alpha):
                        for o in range(o_g):
                            taps[cc, a, b, o] += half[a, f, o] * g_mat[f, b]
        for o in range(o_g):
            for cc in range(cb):
                for a in range(3):
                    for b in range(3):
                        gw[gi * o_g + o, c0 + cc, a, b] = taps[cc, a, b, o]


# --------------------------------------------------------------------------------------
# the algorithm
# --------------------------------------------------------------------------------------
# channels per transform work item (a run of 256 bytes in float32; 16 and 32 ran slower)
CHANNEL_BLOCK = 64
# bytes of transformed tiles (input and products) per chunk of samples
CHUNK_BYTES = 8 << 20


def _compute_dtype(*arrays) -> np.dtype:
    """float32 or float64: float16 is computed in float32."""
    return np.promote_types(np.result_type(*arrays), np.float32)


def _weight_transform(w: np.ndarray, m: int, groups: int, dtype) -> np.ndarray:
    """``U = G g G^T`` for every (out, in) channel pair: (O, Cg, 3, 3) -> (alpha^2, G, Cg, Og),
    a view of a (G, Cg, alpha^2, Og) array (each ``U[e, g]`` a BLAS matrix with a long row stride)."""
    _, g_mat, _ = MATRICES[m]
    o, c_g = w.shape[:2]
    pairs = np.empty((groups, c_g, (m + 2) ** 2, o // groups), dtype=dtype)
    _weight_transform_kernel(w.astype(dtype, copy=False), g_mat, 1, pairs)
    return pairs.transpose(2, 0, 1, 3)


def _flipped_transform(w: np.ndarray, m: int, groups: int, dtype) -> np.ndarray:
    """``U`` of the kernel ``grad_input`` correlates with: flipped, channel axes swapped."""
    o, c_g = w.shape[:2]
    # (G*Og, Cg, 3, 3) -> (G*Cg, Og, 3, 3), flipped (a view): gx = correlate(gy, w') at pad-2
    w_t = w.reshape(groups, o // groups, c_g, 3, 3).transpose(0, 2, 1, 3, 4)
    w_t = w_t.reshape(groups * c_g, o // groups, 3, 3)
    return _weight_transform(w_t[:, :, ::-1, ::-1], m, groups, dtype)


def _tiles(size: int, m: int) -> int:
    return -(-size // m)


def _tile_products(v: np.ndarray, u: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``M[e] = V[e] @ U[e]`` per group, into ``out``.

    Shape: v (alpha^2, T, G*Cg), u (alpha^2, G, Cg, Og) -> out (alpha^2, T, G*Og).
    """
    alpha2, tiles = v.shape[:2]
    _, groups, c_g, o_g = u.shape
    if groups == 1:
        return np.matmul(v, u[:, 0], out=out)  # (alpha^2, T, Og) = (alpha^2, T, Cg) @ (alpha^2, Cg, Og)
    # (alpha^2, G, T, Og) = (alpha^2, G, T, Cg) @ (alpha^2, G, Cg, Og), groups as column ranges
    np.matmul(
        v.reshape(alpha2, tiles, groups, c_g).transpose(0, 2, 1, 3),
        u,
        out=out.reshape(alpha2, tiles, groups, o_g).transpose(0, 2, 1, 3),
    )
    return out


def _samples_per_chunk(n_all: int, bytes_per_sample: int) -> int:
    """Samples transformed and multiplied at a time: within the workspace limit and
    :data:`CHUNK_BYTES` (see the module docstring)."""
    return max(1, min(batch_chunk(n_all, bytes_per_sample), CHUNK_BYTES // bytes_per_sample))


class _Scratch:
    """Flat buffers sized for the largest chunk; ``take`` returns a C-contiguous view."""

    def __init__(self, size: int, dtype) -> None:
        self.flat = np.empty(size, dtype=dtype)

    def take(self, *shape: int) -> np.ndarray:
        return self.flat[: math.prod(shape)].reshape(shape)


def _winograd_correlate(x, u, out_hw, origin, m, out_dtype):
    """``y[n,o,i,j] = sum_{c,a,b} g[o,c,a,b] x[n, c, origin+i+a, origin+j+b]`` (zero outside x).

    Shape: x (N, C, H, W), u = transformed weights (alpha^2, G, Cg, Og) -> y (N, O, *out_hw).
    """
    alpha2, groups, _, o_g = u.shape
    n_all, c = x.shape[:2]
    o = groups * o_g
    th, tw = _tiles(out_hw[0], m), _tiles(out_hw[1], m)
    y = np.empty((n_all, o, *out_hw), dtype=u.dtype)
    step = _samples_per_chunk(n_all, alpha2 * (c + o) * th * tw * u.itemsize)
    v_buf = _Scratch(alpha2 * step * th * tw * c, u.dtype)
    m_buf = _Scratch(alpha2 * step * th * tw * o, u.dtype)
    for start in range(0, n_all, step):
        xs = x[start : start + step].astype(u.dtype, copy=False)  # Numba reads any strides
        n = xs.shape[0]
        v = v_buf.take(alpha2, n * th * tw, c)
        _input_transform(xs, origin[0], origin[1], th, tw, m, CHANNEL_BLOCK, v)
        mm = _tile_products(v, u, m_buf.take(alpha2, n * th * tw, o))
        _output_transform(mm, m, th, tw, CHANNEL_BLOCK, y[start : start + n])
    return y.astype(out_dtype, copy=False)


_TRANSFORMS = WeightCache()  # U of the weights seen lately, per direction and tile size


class WinogradVariant:
    """One tile size as an algorithm of the kernel contract (``select.ALGORITHMS``)."""

    def __init__(self, m: int) -> None:
        self.m = m
        self.NAME = f"winograd_f{m}"
        self.ERROR_BOUND = ERROR_BOUND[m]
        self.__doc__ = f"Winograd F({m}x{m}, 3x3); see the module docstring."

    def __repr__(self) -> str:
        return f"<algorithm {self.NAME}>"

    def supports(self, spec: ConvSpec) -> bool:
        return (
            _jit.available()
            and spec.padding_mode == "zeros"
            and spec.ndim == 2
            and spec.kernel_size == (3, 3)
            and spec.stride == (1, 1)
            and spec.dilation == (1, 1)
        )

    def forward(self, x: np.ndarray, w: np.ndarray, spec: ConvSpec) -> np.ndarray:
        """Shape: x (N, C_in, H, W), w (C_out, C_in/G, 3, 3) -> y (N, C_out, OH, OW)."""
        dtype = _compute_dtype(x, w)
        g, m = spec.groups, self.m
        u = _TRANSFORMS.get(("forward", m, g, dtype), w, lambda w: _weight_transform(w, m, g, dtype))
        origin = (-spec.padding[0][0], -spec.padding[1][0])
        return _winograd_correlate(x, u, spec.out_spatial, origin, self.m, np.result_type(x, w))

    def grad_input(self, gy: np.ndarray, w: np.ndarray, spec: ConvSpec, x_shape) -> np.ndarray:
        """The full correlation of ``gy`` with the flipped, channel-swapped kernel."""
        dtype = _compute_dtype(gy, w)
        g, m = spec.groups, self.m
        u = _TRANSFORMS.get(("grad_input", m, g, dtype), w, lambda w: _flipped_transform(w, m, g, dtype))
        origin = (spec.padding[0][0] - 2, spec.padding[1][0] - 2)
        gx = _winograd_correlate(gy, u, spec.in_shape[2:], origin, self.m, np.result_type(gy, w))
        return gx.reshape(x_shape)

    def grad_weight(self, x: np.ndarray, gy: np.ndarray, spec: ConvSpec, w_shape) -> np.ndarray:
        """``dU = sum_tiles (B^T d B)^T (A dY A^T)`` per tile position, then ``dg = G^T dU G``."""
        m, g = self.m, spec.groups
        dtype = _compute_dtype(x, gy)
        alpha2 = (m + 2) ** 2
        n_all, c = x.shape[:2]
        o = gy.shape[1]
        th, tw = _tiles(spec.out_spatial[0], m), _tiles(spec.out_spatial[1], m)
        origin = (-spec.padding[0][0], -spec.padding[1][0])
        grad_pairs = np.empty((g, c // g, alpha2, o // g), dtype=dtype)
        grad_u = grad_pairs.transpose(2, 0, 1, 3)  # (alpha^2, G, Cg, Og), each (Cg, Og) a BLAS matrix
        step = _samples_per_chunk(n_all, alpha2 * (c + o) * th * tw * np.dtype(dtype).itemsize)
        v_buf = _Scratch(alpha2 * step * th * tw * c, dtype)
        m_buf = _Scratch(alpha2 * step * th * tw * o, dtype)
        for start in range(0, n_all, step):
            xs = x[start : start + step].astype(dtype, copy=False)
            gys = gy[start : start + step].astype(dtype, copy=False)
            tiles = xs.shape[0] * th * tw
            v = v_buf.take(alpha2, tiles, c)
            _input_transform(xs, origin[0], origin[1], th, tw, m, CHANNEL_BLOCK, v)
            dm = m_buf.take(alpha2, tiles, o)
            _output_adjoint(gys, m, th, tw, CHANNEL_BLOCK, dm)
            # (alpha^2, G, Cg, Og) += (alpha^2, G, Cg, T) @ (alpha^2, G, T, Og): the tiles are the
            # long inner dimension; V^T is a transposed view BLAS reads as it lies
            v_t = v.reshape(alpha2, tiles, g, c // g).transpose(0, 2, 3, 1)
            dm_g = dm.reshape(alpha2, tiles, g, o // g).transpose(0, 2, 1, 3)
            if start == 0:
                np.matmul(v_t, dm_g, out=grad_u)
            else:
                grad_u += np.matmul(v_t, dm_g)
        _, g_mat, _ = MATRICES[m]
        gw = np.empty(w_shape, dtype=np.float64)
        _weight_adjoint_kernel(grad_pairs, g_mat, 4, gw)
        return gw.astype(np.result_type(x, gy), copy=False)


F2 = WinogradVariant(2)
F4 = WinogradVariant(4)
