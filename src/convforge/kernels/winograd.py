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
product over channels, and over all tiles ``T`` of the batch one GEMM::

    M[e] (O, T) = U[e] (O, C) @ V[e] (C, T)      U = G g G^T,  V = B^T d B

``(alpha/m)^2 * 9 / alpha^2`` fewer multiplications than direct: 2.25x for F(2x2) and 4x
for F(4x4), paid for with transforms (compiled with Numba, parallel over channel planes,
zero padding read as zeros at the borders so nothing is padded in memory) and round-off.

**Gradients.** ``grad_input`` is the same algorithm on ``gy`` with the kernel flipped and
its channel axes swapped (the full correlation; origin ``pad - 2``). ``grad_weight``
differentiates the tile formula: ``dU = sum_tiles (A dY A^T) * V`` (one GEMM per ``e`` with
the tiles as inner dimension), ``dg = G^T dU G``.

**Error.** The transforms grow with ``m``: measured relative error (max abs error over max
abs value of the result) in float32 is ~1e-6 for F(2x2) and ~1e-5 for F(4x4) on ResNet
layers (direct: ~1e-7). :data:`ERROR_BOUND` is the tested bound.
"""

from __future__ import annotations

import numpy as np

from ..backend import batch_chunk
from ..spec import ConvSpec
from . import jit as _jit

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
# tile transforms over whole arrays, parallel over (sample, channel) planes
#
# Each works on one row of tiles at a time: the transform along the rows is applied to the
# whole ``alpha x width`` strip (the 1-D helpers loop over the columns, so that inner loop
# is a plain vectorizable sweep), the transform along the columns to all tiles of the row at
# once (inner loop over the tiles, which are contiguous in ``v``/``mm``).
# --------------------------------------------------------------------------------------
@_jit.jit(parallel=True)
def _input_transform(x, origin_h, origin_w, tiles_h, tiles_w, m, v):
    """``v[e, c, tile] = (B^T d B)[e]`` for every ``alpha x alpha`` input tile ``d``.

    Shape: x (N, C, H, W) -> v (alpha^2, C, N*tiles_h*tiles_w). Tile ``(ty, tx)`` starts at
    ``(origin_h + m*ty, origin_w + m*tx)``; cells outside ``x`` read as zero.
    """
    n_img, channels, height, width = x.shape
    alpha = m + 2
    span = m * tiles_w + 2  # strip columns covered by the row of tiles
    for plane in prange(n_img * channels):
        n = plane // channels
        c = plane - n * channels
        strip = np.zeros((alpha, span), dtype=v.dtype)
        rows = np.empty((alpha, span), dtype=v.dtype)
        cols = np.empty((alpha, tiles_w), dtype=v.dtype)
        done = np.empty((alpha, tiles_w), dtype=v.dtype)
        lo = max(0, -origin_w)  # strip columns [lo, hi) lie inside x
        hi = min(span, width - origin_w)
        for ty in range(tiles_h):
            h0 = origin_h + m * ty
            for a in range(alpha):
                h = h0 + a
                if 0 <= h < height:
                    for j in range(lo, hi):
                        strip[a, j] = x[n, c, h, origin_w + j]
                else:
                    for j in range(lo, hi):
                        strip[a, j] = 0
            _apply_bt(m, strip, rows)  # rows = B^T strip: (alpha, span)
            base = (n * tiles_h + ty) * tiles_w
            for e in range(alpha):
                for b in range(alpha):
                    for tx in range(tiles_w):
                        cols[b, tx] = rows[e, m * tx + b]
                _apply_bt(m, cols, done)  # done[f, tile] = (rows_e B)[f]
                for f in range(alpha):
                    for tx in range(tiles_w):
                        v[e * alpha + f, c, base + tx] = done[f, tx]


@_jit.jit(parallel=True)
def _output_transform(mm, m, tiles_h, tiles_w, y):
    """``y`` tiles ``= A^T M A``, cropped to ``y``'s size.

    Shape: mm (alpha^2, O, N*tiles_h*tiles_w) -> y (N, O, OH, OW).
    """
    n_img, out_ch, out_h, out_w = y.shape
    alpha = m + 2
    for plane in prange(n_img * out_ch):
        n = plane // out_ch
        o = plane - n * out_ch
        tile_m = np.empty((alpha, tiles_w), dtype=mm.dtype)
        tile_r = np.empty((m, tiles_w), dtype=mm.dtype)
        half = np.empty((alpha, m * tiles_w), dtype=mm.dtype)  # (M A) rows, tiles side by side
        full = np.empty((m, m * tiles_w), dtype=mm.dtype)
        for ty in range(tiles_h):
            base = (n * tiles_h + ty) * tiles_w
            for e in range(alpha):
                for f in range(alpha):
                    for tx in range(tiles_w):
                        tile_m[f, tx] = mm[e * alpha + f, o, base + tx]
                _apply_at(m, tile_m, tile_r)  # tile_r[j, tile] = (M_e A)[j]
                for j in range(m):
                    for tx in range(tiles_w):
                        half[e, m * tx + j] = tile_r[j, tx]
            _apply_at(m, half, full)  # full = A^T (M A): m output rows
            rows = min(m, out_h - m * ty)
            for i in range(rows):
                for j in range(out_w):
                    y[n, o, m * ty + i, j] = full[i, j]


@_jit.jit(parallel=True)
def _output_adjoint(gy, m, tiles_h, tiles_w, dm):
    """The adjoint of :func:`_output_transform`: ``dm[e, o, tile] = (A dY A^T)[e]``.

    Shape: gy (N, O, OH, OW) -> dm (alpha^2, O, N*tiles_h*tiles_w); ``dY`` is the ``m x m``
    tile of ``gy``, zero past its edge.
    """
    n_img, out_ch, out_h, out_w = gy.shape
    alpha = m + 2
    for plane in prange(n_img * out_ch):
        n = plane // out_ch
        o = plane - n * out_ch
        strip = np.zeros((m, m * tiles_w), dtype=dm.dtype)
        rows = np.empty((alpha, m * tiles_w), dtype=dm.dtype)
        cols = np.empty((m, tiles_w), dtype=dm.dtype)
        done = np.empty((alpha, tiles_w), dtype=dm.dtype)
        for ty in range(tiles_h):
            for i in range(m):
                h = m * ty + i
                if h < out_h:
                    for j in range(out_w):
                        strip[i, j] = gy[n, o, h, j]
                else:
                    for j in range(out_w):
                        strip[i, j] = 0
            _apply_a(m, strip, rows)  # rows = A strip: (alpha, m*tiles_w)
            base = (n * tiles_h + ty) * tiles_w
            for e in range(alpha):
                for j in range(m):
                    for tx in range(tiles_w):
                        cols[j, tx] = rows[e, m * tx + j]
                _apply_a(m, cols, done)  # done[f, tile] = (rows_e A^T)[f]
                for f in range(alpha):
                    for tx in range(tiles_w):
                        dm[e * alpha + f, o, base + tx] = done[f, tx]


@_jit.jit(parallel=True)
def _weight_transform_kernel(w, g_mat, u):
    """``u[e*alpha + f, o, c] = (G w[o, c] G^T)[e, f]``, summed in float64.

    Shape: w (O, Cg, 3, 3), g_mat (alpha, 3) -> u (alpha^2, O, Cg).
    """
    out_ch, c_g = w.shape[0], w.shape[1]
    alpha = g_mat.shape[0]
    for o in prange(out_ch):
        half = np.empty((alpha, 3))
        for c in range(c_g):
            for e in range(alpha):
                for b in range(3):
                    half[e, b] = (
                        g_mat[e, 0] * w[o, c, 0, b]
                        + g_mat[e, 1] * w[o, c, 1, b]
                        + g_mat[e, 2] * w[o, c, 2, b]
                    )
            for e in range(alpha):
                for f in range(alpha):
                    total = half[e, 0] * g_mat[f, 0] + half[e, 1] * g_mat[f, 1] + half[e, 2] * g_mat[f, 2]
                    u[e * alpha + f, o, c] = total


# --------------------------------------------------------------------------------------
# the algorithm
# --------------------------------------------------------------------------------------
def _compute_dtype(*arrays) -> np.dtype:
    """float32 or float64: float16 is computed in float32."""
    return np.promote_types(np.result_type(*arrays), np.float32)


def _weight_transform(w: np.ndarray, m: int, groups: int, dtype) -> np.ndarray:
    """``U = G g G^T`` for every (out, in) channel pair: (O, Cg, 3, 3) -> (alpha^2, G, Og, Cg)."""
    _, g_mat, _ = MATRICES[m]
    o, c_g = w.shape[:2]
    alpha = m + 2
    u = np.empty((alpha * alpha, o, c_g), dtype=dtype)
    _weight_transform_kernel(np.ascontiguousarray(w, dtype=dtype), g_mat, u)
    return u.reshape(alpha * alpha, groups, o // groups, c_g)


def _tiles(size: int, m: int) -> int:
    return -(-size // m)


def _winograd_correlate(x, u, out_hw, origin, m, out_dtype):
    """``y[n,o,i,j] = sum_{c,a,b} g[o,c,a,b] x[n, c, origin+i+a, origin+j+b]`` (zero outside x).

    Shape: x (N, C, H, W), u = transformed weights (alpha^2, G, Og, Cg) -> y (N, O, *out_hw).
    """
    alpha2, groups, o_g, c_g = u.shape
    n_all, c = x.shape[:2]
    th, tw = _tiles(out_hw[0], m), _tiles(out_hw[1], m)
    y = np.empty((n_all, groups * o_g, *out_hw), dtype=u.dtype)
    step = batch_chunk(n_all, alpha2 * (c + groups * o_g) * th * tw * u.itemsize)
    for start in range(0, n_all, step):
        xs = np.ascontiguousarray(x[start : start + step], dtype=u.dtype)
        n = xs.shape[0]
        v = np.empty((alpha2, c, n * th * tw), dtype=u.dtype)
        _input_transform(xs, origin[0], origin[1], th, tw, m, v)
        # (alpha^2, G, Og, T) = (alpha^2, G, Og, Cg) @ (alpha^2, G, Cg, T)
        mm = np.matmul(u, v.reshape(alpha2, groups, c_g, n * th * tw))
        _output_transform(mm.reshape(alpha2, groups * o_g, -1), m, th, tw, y[start : start + n])
    return y.astype(out_dtype, copy=False)


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
        u = _weight_transform(w, self.m, spec.groups, dtype)
        origin = (-spec.padding[0][0], -spec.padding[1][0])
        return _winograd_correlate(x, u, spec.out_spatial, origin, self.m, np.result_type(x, w))

    def grad_input(self, gy: np.ndarray, w: np.ndarray, spec: ConvSpec, x_shape) -> np.ndarray:
        """The full correlation of ``gy`` with the flipped, channel-swapped kernel."""
        dtype = _compute_dtype(gy, w)
        g = spec.groups
        o, c_g = w.shape[:2]
        # (G*Og, Cg, 3, 3) -> (G*Cg, Og, 3, 3), flipped: gx = correlate(gy, w') at origin pad-2
        w_t = w.reshape(g, o // g, c_g, 3, 3).transpose(0, 2, 1, 3, 4).reshape(g * c_g, o // g, 3, 3)
        u = _weight_transform(w_t[:, :, ::-1, ::-1], self.m, g, dtype)
        origin = (spec.padding[0][0] - 2, spec.padding[1][0] - 2)
        gx = _winograd_correlate(gy, u, spec.in_shape[2:], origin, self.m, np.result_type(gy, w))
        return gx.reshape(x_shape)

    def grad_weight(self, x: np.ndarray, gy: np.ndarray, spec: ConvSpec, w_shape) -> np.ndarray:
        """``dU = sum_tiles (A dY A^T) * (B^T d B)``, then ``dg = G^T dU G``."""
        m, g = self.m, spec.groups
        dtype = _compute_dtype(x, gy)
        alpha2 = (m + 2) ** 2
        n_all, c = x.shape[:2]
        o = gy.shape[1]
        th, tw = _tiles(spec.out_spatial[0], m), _tiles(spec.out_spatial[1], m)
        origin = (-spec.padding[0][0], -spec.padding[1][0])
        grad_u = np.zeros((alpha2, g, o // g, c // g), dtype=dtype)
        step = batch_chunk(n_all, alpha2 * (c + o) * th * tw * np.dtype(dtype).itemsize)
        for start in range(0, n_all, step):
            xs = np.ascontiguousarray(x[start : start + step], dtype=dtype)
            gys = np.ascontiguousarray(gy[start : start + step], dtype=dtype)
            tiles = xs.shape[0] * th * tw
            v = np.empty((alpha2, c, tiles), dtype=dtype)
            _input_transform(xs, origin[0], origin[1], th, tw, m, v)
            dm = np.empty((alpha2, o, tiles), dtype=dtype)
            _output_adjoint(gys, m, th, tw, dm)
            # (alpha^2, G, Og, Cg) += (alpha^2, G, Og, T) @ (alpha^2, G, T, Cg)
            grad_u += np.matmul(
                dm.reshape(alpha2, g, o // g, tiles),
                v.reshape(alpha2, g, c // g, tiles).transpose(0, 1, 3, 2),
            )
        _, g_mat, _ = MATRICES[m]
        grad_u = grad_u.reshape(m + 2, m + 2, o, c // g).astype(np.float64)
        # gw[o, c, a, b] = sum_{e, f} G[e, a] dU[e, f, o, c] G[f, b], as two GEMMs
        half = np.tensordot(g_mat, grad_u, axes=([0], [0]))  # (a, alpha_f, O, Cg)
        gw = np.tensordot(half, g_mat, axes=([1], [0])).transpose(1, 2, 0, 3)  # (O, Cg, a, b)
        return gw.astype(np.result_type(x, gy)).reshape(w_shape)


F2 = WinogradVariant(2)
F4 = WinogradVariant(4)
