"""Separable resampling: one (out, in) matrix per spatial axis, as one Function.

Every mode of ``interpolate`` (nearest, linear, cubic, area, antialiased) is a linear map
that acts on each spatial axis independently: output position ``o`` of an axis is
``sum_i M[o, i] * x[i]`` for a small set of taps ``i`` with weights ``M[o, i]``. Applying the
axis matrices one after the other is the same sum as torch's product of 1-D weights, and the
gradient is the same chain with the transposed matrices. The matrices are sparse (CSR): an
output has 1 (nearest), 2 (linear), 4 (cubic) or a few more (antialiased, area) taps, so
the work per axis is proportional to the output size times the taps.
"""

from __future__ import annotations

import numpy as np

from ..function import Function


def _apply_axis(x: np.ndarray, matrix, axis: int) -> np.ndarray:
    """``x`` with ``axis`` of length n replaced by ``matrix @ x`` along it (matrix: (m, n), sparse).

    The axis is moved first with one copy, so the product is one sparse-times-dense call
    whose cost is the matrix's few taps per output times the other axes' size.
    """
    rest = x.shape[:axis] + x.shape[axis + 1 :]
    columns = np.moveaxis(x, axis, 0).reshape(x.shape[axis], -1)  # (n, prod(rest))
    y = np.asarray(matrix @ columns)  # (m, prod(rest))
    return np.moveaxis(y.reshape(matrix.shape[0], *rest), 0, axis)


def _work_dtype(dtype: np.dtype) -> np.dtype:
    """scipy's sparse products have no float16: half precision is computed in float32."""
    return np.dtype(np.float32) if dtype == np.float16 else dtype


class Resample(Function):
    """``y = x ×_2 M_0 ×_3 M_1 ...``: the axis matrices applied to axes 2, 3, ... of (N, C, *)."""

    def forward(self, x, matrices):
        work = _work_dtype(x.dtype)
        self.matrices = tuple(m.astype(work) for m in matrices)
        y = x.astype(work, copy=False)
        for d, matrix in enumerate(self.matrices):
            y = _apply_axis(y, matrix, 2 + d)
        return np.ascontiguousarray(y, dtype=x.dtype)

    def backward(self, g):
        out_dtype = g.dtype
        g = g.astype(_work_dtype(g.dtype), copy=False)
        for d in reversed(range(len(self.matrices))):
            g = _apply_axis(g, self.matrices[d].T, 2 + d)
        return np.ascontiguousarray(g, dtype=out_dtype), None
