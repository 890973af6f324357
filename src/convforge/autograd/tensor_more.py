"""More Tensor methods torch has: rounding, predicates, sorting and top-k, cumulative sums,
selection by index or mask, triangular parts, and the memory-layout queries.

Rounding functions have torch's zero gradient; ``sort``/``topk`` values, selections and
``tril``/``triu`` route the gradient to the elements they took.
"""

from __future__ import annotations

import collections
import math
import numbers

import numpy as np

from .ops import elementwise as ew
from .ops import index as index_ops
from .ops import reduction as red
from .ops import shape as sh
from .tensor_math import _one_dim, _plain, _raw

sort_result = collections.namedtuple("sort", ["values", "indices"])
topk_result = collections.namedtuple("topk", ["values", "indices"])


def _axes(op: str, dim, ndim: int):
    if dim is None:
        return None
    dims = (dim,) if isinstance(dim, numbers.Integral) else tuple(dim)
    return tuple(_one_dim(op, d, ndim) for d in dims)


class MoreMixin:
    """Rounding, predicates, sorting, cumulative and selection methods of :class:`Tensor`."""

    # ---- rounding (zero gradient) -----------------------------------------------------
    def floor(self):
        return ew.Stepwise.apply(self, np.floor)

    def ceil(self):
        return ew.Stepwise.apply(self, np.ceil)

    def trunc(self):
        return ew.Stepwise.apply(self, np.trunc)

    def round(self, *, decimals: int = 0):
        return ew.Stepwise.apply(self, lambda a: np.round(a, decimals))

    def sign(self):
        return ew.Stepwise.apply(self, np.sign)

    def remainder(self, other):
        """``self - floor(self / other) * other`` (the sign of ``other``, as Python's %)."""
        if not np.issubdtype(self.dtype, np.inexact):
            return _plain(np.mod(self._array, _raw(other)))
        return self - (self / other).floor() * other

    def fmod(self, other):
        """``self - trunc(self / other) * other`` (the sign of ``self``, as C's fmod)."""
        if not np.issubdtype(self.dtype, np.inexact):
            return _plain(np.fmod(self._array, _raw(other)))
        return self - (self / other).trunc() * other

    # ---- more math --------------------------------------------------------------------
    def log1p(self):
        return ew.Log1p.apply(self)

    def log2(self):
        return self.log() * (1 / math.log(2))

    def log10(self):
        return self.log() * (1 / math.log(10))

    def rsqrt(self):
        return 1 / self.sqrt()

    def erf(self):
        return ew.Erf.apply(self)

    def lerp(self, end, weight):
        return self + (end - self) * weight

    def lerp_(self, end, weight):
        return self.add_((end - self) * weight)

    def cumsum(self, dim: int, *, dtype=None):
        source = self if dtype is None else self._cast(np.dtype(dtype))
        return red.CumSum.apply(source, _one_dim("cumsum", dim, self.ndim))

    def logsumexp(self, dim, keepdim: bool = False):
        return red.LogSumExp.apply(self, _axes("logsumexp", dim, self.ndim), keepdim)

    # ---- predicates (plain boolean tensors) -------------------------------------------
    def isnan(self):
        return _plain(np.isnan(self._array))

    def isinf(self):
        return _plain(np.isinf(self._array))

    def isfinite(self):
        return _plain(np.isfinite(self._array))

    def all(self, dim=None, keepdim: bool = False):
        return _plain(np.all(self._array, axis=_axes("all", dim, self.ndim), keepdims=keepdim))

    def any(self, dim=None, keepdim: bool = False):
        return _plain(np.any(self._array, axis=_axes("any", dim, self.ndim), keepdims=keepdim))

    def nonzero(self, *, as_tuple: bool = False):
        """Indices of the non-zero elements: an (n, ndim) int64 tensor, or one tensor per dim."""
        found = np.nonzero(self._array if self.ndim else self._array.reshape(1))
        if as_tuple:
            return tuple(_plain(i.astype(np.int64)) for i in found)
        return _plain(np.stack(found, axis=1).astype(np.int64))

    # ---- sorting ----------------------------------------------------------------------
    def argsort(self, dim: int = -1, descending: bool = False, *, stable: bool = False):
        axis = _one_dim("argsort", dim, self.ndim)
        if self.ndim == 0:
            return _plain(np.zeros((), np.int64))
        # descending by negated keys keeps ties in index order; unsigned and bool cannot negate
        negatable = np.issubdtype(self.dtype, np.signedinteger) or np.issubdtype(self.dtype, np.inexact)
        keys = -self._array if descending and negatable else self._array
        order = np.argsort(keys, axis=axis, kind="stable")
        return _plain((np.flip(order, axis) if descending and not negatable else order).astype(np.int64))

    def sort(self, dim: int = -1, descending: bool = False, *, stable: bool = False):
        """Sorted values and their indices along ``dim`` (the values are differentiable)."""
        indices = self.argsort(dim, descending)
        if self.ndim == 0:
            return sort_result(self.clone(), indices)
        values = index_ops.Gather.apply(self, _one_dim("sort", dim, self.ndim), indices._array)
        return sort_result(values, indices)

    def topk(self, k: int, dim: int = -1, largest: bool = True, sorted: bool = True):  # noqa: A002
        """The ``k`` largest (or smallest) values along ``dim`` and their indices."""
        axis = _one_dim("topk", dim, self.ndim)
        size = self.shape[axis] if self.ndim else 1
        if not 0 <= k <= size:
            raise RuntimeError("selected index k out of range")
        order = self.argsort(axis, descending=largest)._array
        indices = np.take(order, np.arange(k), axis=axis) if self.ndim else order
        values = index_ops.Gather.apply(self, axis, indices) if self.ndim else self.clone()
        return topk_result(values, _plain(indices))

    def unique(
        self, sorted: bool = True, return_inverse: bool = False, return_counts: bool = False, dim=None
    ):  # noqa: A002
        if dim is not None:
            raise NotImplementedError("unique: dim= is not supported by convforge")
        values, inverse, counts = np.unique(self._array, return_inverse=True, return_counts=True)
        result = [_plain(values)]
        if return_inverse:
            result.append(_plain(inverse.reshape(self.shape).astype(np.int64)))
        if return_counts:
            result.append(_plain(counts.astype(np.int64)))
        return result[0] if len(result) == 1 else tuple(result)

    # ---- selection --------------------------------------------------------------------
    def index_select(self, dim: int, index):
        index = np.asarray(_raw(index))
        if index.ndim > 1 or not np.issubdtype(index.dtype, np.integer):
            raise RuntimeError("index_select(): Index is supposed to be a vector of integers")
        axis = _one_dim("index_select", dim, self.ndim)
        return sh.GetItem.apply(self, (slice(None),) * axis + (index.reshape(-1),))

    def masked_select(self, mask):
        mask = np.asarray(_raw(mask))
        if mask.dtype != np.bool_:
            raise RuntimeError(f"masked_select: expected BoolTensor for mask, but got {mask.dtype}")
        shape = np.broadcast_shapes(self.shape, mask.shape)
        return sh.GetItem.apply(self.expand(shape), np.broadcast_to(mask, shape))

    def select(self, dim: int, index: int):
        return self[(slice(None),) * _one_dim("select", dim, self.ndim) + (index,)]

    def repeat_interleave(self, repeats, dim=None):
        """Each element repeated ``repeats`` times along ``dim`` (flattened when None)."""
        source = self.reshape(-1) if dim is None else self
        axis = 0 if dim is None else _one_dim("repeat_interleave", dim, self.ndim)
        counts = np.asarray(_raw(repeats))
        index = np.repeat(np.arange(source.shape[axis]), counts)
        return sh.GetItem.apply(source, (slice(None),) * axis + (index,))

    def tril(self, diagonal: int = 0):
        return self * np.tril(np.ones(self.shape[-2:], dtype=self.dtype), diagonal)

    def triu(self, diagonal: int = 0):
        return self * np.triu(np.ones(self.shape[-2:], dtype=self.dtype), diagonal)

    def diag(self, diagonal: int = 0):
        """A 1-D tensor as the diagonal of a square matrix, or a matrix's diagonal as 1-D."""
        if self.ndim == 1:
            n = self.shape[0] + abs(diagonal)
            rows = np.arange(self.shape[0]) + max(-diagonal, 0)
            cols = np.arange(self.shape[0]) + max(diagonal, 0)
            matrix = self.new_zeros(n, n)
            matrix[rows, cols] = self  # differentiable item assignment
            return matrix
        if self.ndim != 2:
            raise RuntimeError("diag(): Supports 1D or 2D tensors. Got " + f"{self.ndim}D")
        return self.diagonal(diagonal)

    def diagonal(self, offset: int = 0, dim1: int = 0, dim2: int = 1):
        if (dim1, dim2) != (0, 1) or self.ndim != 2:
            raise NotImplementedError("diagonal: only the diagonals of a matrix are supported by convforge")
        rows, cols = self.shape
        count = max(min(rows + min(offset, 0), cols - max(offset, 0)), 0)
        start_row, start_col = max(-offset, 0), max(offset, 0)
        return self[np.arange(count) + start_row, np.arange(count) + start_col]

    # ---- memory layout ----------------------------------------------------------------
    def stride(self, dim: int | None = None):
        strides = tuple(s // self._array.itemsize for s in self._array.strides)
        return strides if dim is None else strides[dim]

    def data_ptr(self) -> int:
        return int(self._array.__array_interface__["data"][0])

    def ndimension(self) -> int:
        return self.ndim

    def pin_memory(self, device=None):
        return self  # CPU memory is what every array already lives in

    def is_pinned(self, device=None) -> bool:
        return False
