"""Separable resampling: one (out, in) matrix per spatial axis, as one Function.

Every mode of ``interpolate`` (nearest, linear, cubic, area, antialiased) is a linear map
that acts on each spatial axis independently: output position ``o`` of an axis is
``sum_i M[o, i] * x[i]`` for a small set of taps ``i`` with weights ``M[o, i]``. Applying the
axis matrices one after the other is the same sum as torch's product of 1-D weights, and the
gradient is the same chain with the transposed matrices. The matrices are dense: an axis of
n inputs and m outputs costs m * n numbers, so a 1024 -> 2048 axis is 2M entries (8 MiB in
float32) and the work is one BLAS product per axis.
"""

from __future__ import annotations

import math

import numpy as np

from ..function import Function


def _apply_axis(x: np.ndarray, matrix: np.ndarray, axis: int) -> np.ndarray:
    """``x`` with ``axis`` of length n replaced by ``matrix @ x`` along it (matrix: (m, n)).

    The axis is moved last with one copy and the product is a single GEMM: numpy's
    broadcast ``matmul`` over the leading indices measured 10x slower here.
    """
    shape = x.shape
    before, n, after = math.prod(shape[:axis]), shape[axis], math.prod(shape[axis + 1 :])
    blocks = np.ascontiguousarray(x).reshape(before, n, after)
    if after == 1:
        y = blocks.reshape(before, n) @ matrix.T  # (before, m) = (before, n) @ (n, m)
    else:
        rows = np.ascontiguousarray(blocks.transpose(0, 2, 1)).reshape(before * after, n)
        y = (rows @ matrix.T).reshape(before, after, -1).transpose(0, 2, 1)  # (before, m, after)
    return y.reshape(*shape[:axis], matrix.shape[0], *shape[axis + 1 :])


class Resample(Function):
    """``y = x ×_2 M_0 ×_3 M_1 ...``: the axis matrices applied to axes 2, 3, ... of (N, C, *)."""

    def forward(self, x, matrices):
        self.matrices = tuple(m.astype(x.dtype, copy=False) for m in matrices)
        y = x
        for d, matrix in enumerate(self.matrices):
            y = _apply_axis(y, matrix, 2 + d)
        return np.ascontiguousarray(y)

    def backward(self, g):
        for d in reversed(range(len(self.matrices))):
            g = _apply_axis(g, self.matrices[d].T, 2 + d)
        return np.ascontiguousarray(g), None
