"""GEMM convolution without im2col: one in-place GEMM per kernel tap on offset views.

**Stride 1.** Lay the zero-padded input out flat per channel. Output position ``i`` (a
multi-index) reads padded position ``i + t*d`` for tap ``t``; computing the output on the
*padded* grid (``i`` running over every padded row, not only the first ``out`` columns)
makes that read a fixed flat offset ``off(t) = sum_k t_k*d_k*P_k`` (``P_k`` the padded
grid's strides). So each tap is one GEMM on a plain strided matrix view, accumulated in
place with BLAS ``beta = 1``::

    y_grid (O, M) += w_t (O, C) @ x_flat[:, off(t) : off(t) + M]   (leading dim: plane size)

and the real output is the ``[:out]`` corner of ``y_grid`` (the extra columns, at most one
padded row's worth per row, are computed and dropped). Nothing is materialized.

**Stride s > 1** is reduced to stride 1 by polyphase decomposition: the padded input is
split into ``prod(s)`` phases ``x[..., a::s]`` (one copy of the input); tap ``t`` reads
phase ``(t*d) mod s`` at offset ``(t*d) div s``, a stride-1 read again.

**Gradients** use the same views. ``grad_input`` scatters each tap's
``w_t^T (C, O) @ gy_grid (O, M)`` into the phase of ``x`` it came from at ``off(t)``
(``gy`` zero-filled on the padded grid so the extra columns add nothing), then the phases
are interleaved back: a transposed convolution without zero insertion and without
``np.add.at``. ``grad_weight`` is one GEMM per tap with the long axis as inner dimension::

    gw_t (O, C) += gy_grid (O, M) @ x_flat[:, off(t) : off(t) + M]^T

Groups are a pointer offset: each group is its own set of GEMMs. The batch is either
folded into the GEMM's long axis (layout ``(C, N, *grid)``, few large GEMMs; used for small
planes) or looped over (layout ``(N, C, *grid)``, no transposes; used for large planes).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from ..backend import batch_chunk
from ..spec import ConvSpec
from . import blas

NAME = "gemm"

# planes with at least this many grid cells are processed one sample at a time
FOLD_BATCH_BELOW = 1024


def supports(spec: ConvSpec) -> bool:
    # the BLAS calls take float32 and float64 only (float16 is computed in float32: backend policy)
    return spec.padding_mode == "zeros" and spec.dtype in ("float32", "float64")


@dataclass(frozen=True)
class _Grid:
    """Where every tap reads, for a batch of ``n`` samples.

    Arrays live in a flat buffer indexed ``n*ns + p*ps + c*cs + flat(grid)``, ``p`` the
    phase. ``m`` is the number of grid columns one GEMM covers (up to the last output).
    """

    phases: int
    grid: tuple[int, ...]  # per-phase spatial grid, ceil(padded / stride)
    tap_phase: tuple[int, ...]
    tap_offset: tuple[int, ...]
    fold: bool

    @property
    def plane(self) -> int:
        return math.prod(self.grid)


def _grid(spec: ConvSpec) -> _Grid:
    stride, dilation = spec.stride, spec.dilation
    grid = tuple(-(-p // s) for p, s in zip(spec.padded_in_spatial, stride))
    grid_strides = [math.prod(grid[k + 1 :]) for k in range(len(grid))]
    phase_strides = [math.prod(stride[k + 1 :]) for k in range(len(stride))]
    tap_phase, tap_offset = [], []
    for tap in itertools.product(*(range(k) for k in spec.kernel_size)):
        reach = [t * d for t, d in zip(tap, dilation)]
        tap_phase.append(sum((r % s) * ps for r, s, ps in zip(reach, stride, phase_strides)))
        tap_offset.append(sum((r // s) * gs for r, s, gs in zip(reach, stride, grid_strides)))
    fold = math.prod(grid) < FOLD_BATCH_BELOW
    return _Grid(math.prod(stride), grid, tuple(tap_phase), tuple(tap_offset), fold)


def _span(spec: ConvSpec, g: _Grid, n: int) -> int:
    """Grid columns from the first to the last output (+1) that one GEMM covers."""
    grid_strides = [math.prod(g.grid[k + 1 :]) for k in range(len(g.grid))]
    last = sum((o - 1) * gs for o, gs in zip(spec.out_spatial, grid_strides)) + 1
    return (n - 1) * g.plane + last if g.fold else last


def _strides(g: _Grid, channels: int, n: int) -> tuple[int, int, int]:
    """(sample, phase, channel) strides of the flat phase buffer."""
    if g.fold:  # (P, C, N, *grid)
        return g.plane, channels * n * g.plane, n * g.plane
    return g.phases * channels * g.plane, channels * g.plane, g.plane  # (N, P, C, *grid)


def _to_phases(x: np.ndarray, spec: ConvSpec, g: _Grid) -> np.ndarray:
    """Padded input split into phases, flat, in the layout of :func:`_strides`."""
    n, c, nd = x.shape[0], x.shape[1], spec.ndim
    full = tuple(q * s for q, s in zip(g.grid, spec.stride))
    if g.phases == 1 and not g.fold and not any(lo or hi for lo, hi in spec.padding):
        return np.ascontiguousarray(x).reshape(-1)
    pads = tuple((lo, f - i - lo) for (lo, _), f, i in zip(spec.padding, full, x.shape[2:]))
    padded = np.zeros((n, c, *full), dtype=x.dtype)
    padded[(slice(None), slice(None), *(slice(lo, lo + i) for (lo, _), i in zip(pads, x.shape[2:])))] = x
    # (N, C, q1, s1, q2, s2, ...) -> (N, s1, s2, ..., C, q1, q2, ...) or (s..., C, N, q...)
    split = padded.reshape(n, c, *itertools.chain.from_iterable(zip(g.grid, spec.stride)))
    phase_axes = tuple(3 + 2 * k for k in range(nd))
    grid_axes = tuple(2 + 2 * k for k in range(nd))
    order = (*phase_axes, 1, 0, *grid_axes) if g.fold else (0, *phase_axes, 1, *grid_axes)
    return np.ascontiguousarray(split.transpose(order)).reshape(-1)


def _from_phases(flat: np.ndarray, spec: ConvSpec, g: _Grid, n: int, c: int) -> np.ndarray:
    """Inverse of :func:`_to_phases`: interleave, crop the padding -> (N, C, *in)."""
    nd = spec.ndim
    lead = (*spec.stride, c, n) if g.fold else (n, *spec.stride, c)
    arr = flat.reshape(*lead, *g.grid)
    if g.fold:  # (s..., C, N, q...) -> (N, C, q1, s1, q2, s2, ...)
        order = (nd + 1, nd, *itertools.chain.from_iterable((nd + 2 + k, k) for k in range(nd)))
    else:  # (N, s..., C, q...)
        order = (0, nd + 1, *itertools.chain.from_iterable((nd + 2 + k, 1 + k) for k in range(nd)))
    full = arr.transpose(order).reshape(n, c, *(q * s for q, s in zip(g.grid, spec.stride)))
    crop = tuple(slice(lo, lo + i) for (lo, _), i in zip(spec.padding, spec.in_shape[2:]))
    return np.ascontiguousarray(full[(slice(None), slice(None), *crop)])


def _grid_array_strides(g: _Grid, channels: int, n: int) -> tuple[int, int]:
    """(sample, channel) strides of an output-side array on the grid (one phase)."""
    return (g.plane, n * g.plane) if g.fold else (channels * g.plane, g.plane)


def _out_from_grid(flat: np.ndarray, spec: ConvSpec, g: _Grid, n: int) -> np.ndarray:
    """``y`` on the grid -> ``(N, O, *out)``."""
    o = spec.out_channels
    arr = flat.reshape((o, n, *g.grid) if g.fold else (n, o, *g.grid))
    arr = arr[(slice(None), slice(None), *(slice(0, s) for s in spec.out_spatial))]
    return arr.transpose(1, 0, *range(2, 2 + spec.ndim)) if g.fold else arr


def _gy_to_grid(gy: np.ndarray, spec: ConvSpec, g: _Grid) -> np.ndarray:
    """Output gradient zero-filled onto the grid (so the extra columns add nothing)."""
    n, o = gy.shape[:2]
    if not g.fold and g.grid == tuple(spec.out_spatial):
        return np.ascontiguousarray(gy).reshape(-1)
    arr = np.zeros((o, n, *g.grid) if g.fold else (n, o, *g.grid), dtype=gy.dtype)
    corner = (slice(None), slice(None), *(slice(0, s) for s in spec.out_spatial))
    arr[corner] = gy.transpose(1, 0, *range(2, 2 + spec.ndim)) if g.fold else gy
    return arr.reshape(-1)


def _taps_weight(w: np.ndarray, spec: ConvSpec) -> np.ndarray:
    """(O, Cg, *k) -> (K, O, Cg): each tap's (Og, Cg) block of group ``gi`` at ``gi*Og*Cg``."""
    o, c_g = w.shape[:2]
    return np.ascontiguousarray(w.reshape(o, c_g, -1).transpose(2, 0, 1))


def _chunk(spec: ConvSpec, g: _Grid, itemsize: int) -> int:
    per_sample = (g.phases * spec.in_channels + spec.out_channels) * g.plane * itemsize
    return batch_chunk(spec.in_shape[0], per_sample)


def _samples(g: _Grid, n: int):
    """Sample indices each GEMM starts at: one call covering all when folded."""
    return range(1) if g.fold else range(n)


def forward(x: np.ndarray, w: np.ndarray, spec: ConvSpec) -> np.ndarray:
    """Shape: x (N, C_in, *in), w (C_out, C_in/G, *k) -> y (N, C_out, *out)."""
    dtype = np.result_type(x, w)
    g = _grid(spec)
    groups, n_all = spec.groups, x.shape[0]
    c, o = spec.in_channels, spec.out_channels
    c_g, o_g = c // groups, o // groups
    wk = _taps_weight(w.astype(dtype, copy=False), spec)
    y = np.empty((n_all, o, *spec.out_spatial), dtype=dtype)
    step = _chunk(spec, g, x.itemsize)
    for start in range(0, n_all, step):
        xs = x[start : start + step].astype(dtype, copy=False)
        n = xs.shape[0]
        xf = _to_phases(xs, spec, g)
        x_ns, x_ps, x_cs = _strides(g, c, n)
        y_ns, y_cs = _grid_array_strides(g, o, n)
        yf = np.empty(o * n * g.plane, dtype=dtype)
        m = _span(spec, g, n)
        for s in _samples(g, n):
            for gi in range(groups):
                for t, (phase, off) in enumerate(zip(g.tap_phase, g.tap_offset)):
                    # (Og, m) (+)= (Og, Cg) @ (Cg, m), rows of x one channel plane apart
                    blas.gemm(
                        o_g, m, c_g,
                        wk, (t * o + gi * o_g) * c_g, c_g,
                        xf, s * x_ns + phase * x_ps + gi * c_g * x_cs + off, x_cs,
                        yf, s * y_ns + gi * o_g * y_cs, y_cs,
                        beta=0.0 if t == 0 else 1.0,
                    )  # fmt: skip
        y[start : start + n] = _out_from_grid(yf, spec, g, n)
    return y


def grad_input(gy: np.ndarray, w: np.ndarray, spec: ConvSpec, x_shape) -> np.ndarray:
    """Shape: gy (N, C_out, *out), w (C_out, C_in/G, *k) -> gx (N, C_in, *in)."""
    dtype = np.result_type(gy, w)
    g = _grid(spec)
    groups, n_all = spec.groups, gy.shape[0]
    c, o = spec.in_channels, spec.out_channels
    c_g, o_g = c // groups, o // groups
    wk = _taps_weight(w.astype(dtype, copy=False), spec)
    gx = np.empty((n_all, c, *spec.in_shape[2:]), dtype=dtype)
    step = _chunk(spec, g, gy.itemsize)
    for start in range(0, n_all, step):
        gys = gy[start : start + step].astype(dtype, copy=False)
        n = gys.shape[0]
        gyf = _gy_to_grid(gys, spec, g)
        gxf = np.zeros(g.phases * c * n * g.plane, dtype=dtype)
        x_ns, x_ps, x_cs = _strides(g, c, n)
        y_ns, y_cs = _grid_array_strides(g, o, n)
        m = _span(spec, g, n)
        for s in _samples(g, n):
            for gi in range(groups):
                for t, (phase, off) in enumerate(zip(g.tap_phase, g.tap_offset)):
                    # x phase (Cg, m) += w_t^T (Cg, Og) @ gy (Og, m), shifted by the tap
                    blas.gemm(
                        c_g, m, o_g,
                        wk, (t * o + gi * o_g) * c_g, c_g,
                        gyf, s * y_ns + gi * o_g * y_cs, y_cs,
                        gxf, s * x_ns + phase * x_ps + gi * c_g * x_cs + off, x_cs,
                        beta=1.0, trans_a=True,
                    )  # fmt: skip
        gx[start : start + n] = _from_phases(gxf, spec, g, n, c)
    return gx.reshape(x_shape)


def grad_weight(x: np.ndarray, gy: np.ndarray, spec: ConvSpec, w_shape) -> np.ndarray:
    """Shape: x (N, C_in, *in), gy (N, C_out, *out) -> gw (C_out, C_in/G, *k)."""
    dtype = np.result_type(x, gy)
    g = _grid(spec)
    groups, n_all = spec.groups, x.shape[0]
    c, o = spec.in_channels, spec.out_channels
    c_g, o_g = c // groups, o // groups
    taps = len(g.tap_offset)
    gwk = np.zeros(taps * o * c_g, dtype=dtype)  # (K, O, Cg)
    step = _chunk(spec, g, x.itemsize)
    for start in range(0, n_all, step):
        xs = x[start : start + step].astype(dtype, copy=False)
        n = xs.shape[0]
        xf = _to_phases(xs, spec, g)
        gyf = _gy_to_grid(gy[start : start + n].astype(dtype, copy=False), spec, g)
        x_ns, x_ps, x_cs = _strides(g, c, n)
        y_ns, y_cs = _grid_array_strides(g, o, n)
        m = _span(spec, g, n)
        for s in _samples(g, n):
            for gi in range(groups):
                for t, (phase, off) in enumerate(zip(g.tap_phase, g.tap_offset)):
                    # gw_t (Og, Cg) += gy (Og, m) @ x_t (Cg, m)^T
                    blas.gemm(
                        o_g, c_g, m,
                        gyf, s * y_ns + gi * o_g * y_cs, y_cs,
                        xf, s * x_ns + phase * x_ps + gi * c_g * x_cs + off, x_cs,
                        gwk, (t * o + gi * o_g) * c_g, c_g,
                        beta=1.0, trans_b=True,
                    )  # fmt: skip
    return gwk.reshape(taps, o, c_g).transpose(1, 2, 0).reshape(w_shape).copy()
