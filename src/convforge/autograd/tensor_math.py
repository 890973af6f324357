"""Tensor methods for arithmetic, comparisons, elementwise math, reductions and products.

Each method has torch's name and arguments and, where torch has one, its gradient (through
the Functions of :mod:`.ops`). Comparisons, ``argmax``/``argmin`` and the indices of
``max``/``min`` are plain, non-differentiable tensors, as in torch.
"""

from __future__ import annotations

import collections
import numbers

import numpy as np

from . import dtypes
from .ops import elementwise as ew
from .ops import nn as nn_ops
from .ops import reduction as red
from .ops import where as where_ops

# torch.return_types.max / min: a named (values, indices) pair
max_result = collections.namedtuple("max", ["values", "indices"])
min_result = collections.namedtuple("min", ["values", "indices"])


def _plain(array):
    """A Tensor outside the graph (comparisons, indices)."""
    from .tensor import Tensor

    return Tensor._from_op(np.asarray(array), None)


def _raw(value):
    from .tensor import Tensor

    return value._array if isinstance(value, Tensor) else value


def _is_tensor(value) -> bool:
    from .tensor import Tensor

    return isinstance(value, Tensor)


def _one_dim(op: str, dim, ndim: int) -> int:
    if not isinstance(dim, numbers.Integral) or isinstance(dim, bool):
        raise TypeError(f"{op}: dim must be an int, but got dim={dim!r}")
    if not -max(ndim, 1) <= dim < max(ndim, 1):
        raise IndexError(
            f"Dimension out of range (expected to be in range of [{-max(ndim, 1)}, {max(ndim, 1) - 1}], "
            f"but got {dim})"
        )
    return int(dim) % max(ndim, 1)


def _dim_alias(op: str, dim, axis):
    """torch accepts numpy's ``axis=`` for ``dim=``."""
    if axis is not None:
        if dim is not None:
            raise TypeError(f"{op}: pass dim or axis, not both")
        return axis
    return dim


class MathMixin:
    """Arithmetic, comparison, math and reduction methods of :class:`Tensor`."""

    # ---- arithmetic -------------------------------------------------------------------
    def __add__(self, other):
        return ew.Add.apply(self, other)

    def __radd__(self, other):
        return ew.Add.apply(other, self)

    def __sub__(self, other):
        return ew.Sub.apply(self, other)

    def __rsub__(self, other):
        return ew.Sub.apply(other, self)

    def __mul__(self, other):
        return ew.Mul.apply(self, other)

    def __rmul__(self, other):
        return ew.Mul.apply(other, self)

    def __truediv__(self, other):
        return ew.Div.apply(self, other)

    def __rtruediv__(self, other):
        return ew.Div.apply(other, self)

    def __pow__(self, other):
        return ew.Pow.apply(self, other)

    def __rpow__(self, other):
        return ew.Pow.apply(other, self)

    def __neg__(self):
        return ew.Neg.apply(self)

    def __matmul__(self, other):
        return red.MatMul.apply(self, other)

    def __rmatmul__(self, other):
        return red.MatMul.apply(other, self)

    def add(self, other, *, alpha=1):
        return self + (other if alpha == 1 else other * alpha)

    def sub(self, other, *, alpha=1):
        return self - (other if alpha == 1 else other * alpha)

    def mul(self, other):
        return self * other

    def div(self, other, *, rounding_mode=None):
        if rounding_mode is not None:
            raise NotImplementedError("div: rounding_mode is not supported by convforge")
        return self / other

    multiply, divide, subtract = mul, div, sub

    def pow(self, exponent):
        return self**exponent

    def neg(self):
        return -self

    negative = neg

    def square(self):
        return self * self

    def reciprocal(self):
        return 1 / self

    def __abs__(self):
        return ew.Abs.apply(self)

    def __pos__(self):
        return self

    # integer and logical operators: plain tensors, outside the graph
    def __floordiv__(self, other):
        return _plain(np.floor_divide(self._array, _raw(other)))

    def __rfloordiv__(self, other):
        return _plain(np.floor_divide(_raw(other), self._array))

    def __mod__(self, other):
        return _plain(np.mod(self._array, _raw(other)))

    def __and__(self, other):
        return _plain(self._array & _raw(other))

    __rand__ = __and__

    def __or__(self, other):
        return _plain(self._array | _raw(other))

    __ror__ = __or__

    def __xor__(self, other):
        return _plain(self._array ^ _raw(other))

    __rxor__ = __xor__

    def __invert__(self):
        return _plain(~self._array)

    def logical_not(self):
        return _plain(np.logical_not(self._array))

    def logical_and(self, other):
        return _plain(np.logical_and(self._array, _raw(other)))

    def logical_or(self, other):
        return _plain(np.logical_or(self._array, _raw(other)))

    # comparisons give plain (non-differentiable) boolean tensors
    def __eq__(self, other):  # type: ignore[override]
        return False if other is None else _plain(self._array == _raw(other))

    def __ne__(self, other):  # type: ignore[override]
        return True if other is None else _plain(self._array != _raw(other))

    def __lt__(self, other):
        return _plain(self._array < _raw(other))

    def __le__(self, other):
        return _plain(self._array <= _raw(other))

    def __gt__(self, other):
        return _plain(self._array > _raw(other))

    def __ge__(self, other):
        return _plain(self._array >= _raw(other))

    def eq(self, other):
        return _plain(self._array == _raw(other))

    def ne(self, other):
        return _plain(self._array != _raw(other))

    def lt(self, other):
        return _plain(self._array < _raw(other))

    def le(self, other):
        return _plain(self._array <= _raw(other))

    def gt(self, other):
        return _plain(self._array > _raw(other))

    def ge(self, other):
        return _plain(self._array >= _raw(other))

    def equal(self, other) -> bool:
        """True if both have the same shape and values (``torch.equal``)."""
        other = _raw(other)
        return self.shape == np.shape(other) and bool(np.array_equal(self._array, other))

    def allclose(self, other, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> bool:
        return bool(np.allclose(self._array, _raw(other), rtol=rtol, atol=atol, equal_nan=equal_nan))

    # ---- elementwise functions --------------------------------------------------------
    def exp(self):
        return ew.Exp.apply(self)

    def log(self):
        return ew.Log.apply(self)

    def sqrt(self):
        return ew.Sqrt.apply(self)

    def abs(self):
        return ew.Abs.apply(self)

    absolute = abs

    def sin(self):
        return ew.Sin.apply(self)

    def cos(self):
        return ew.Cos.apply(self)

    def sinh(self):
        return ew.Sinh.apply(self)

    def cosh(self):
        return ew.Cosh.apply(self)

    def relu(self):
        return ew.ReLU.apply(self)

    def sigmoid(self):
        return ew.Sigmoid.apply(self)

    def tanh(self):
        return ew.Tanh.apply(self)

    def clamp(self, min=None, max=None):  # noqa: A002 - torch's names
        if min is None and max is None:
            raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
        return ew.Clamp.apply(self, min, max)

    clip = clamp

    def softmax(self, dim: int):
        return nn_ops.Softmax.apply(self, red.normalize_axes(dim, self.ndim)[0])

    def log_softmax(self, dim: int):
        return nn_ops.LogSoftmax.apply(self, red.normalize_axes(dim, self.ndim)[0])

    def maximum(self, other):
        return where_ops.Extremum.apply(self, other, True)

    def minimum(self, other):
        return where_ops.Extremum.apply(self, other, False)

    def where(self, condition, other):
        """``self`` where ``condition`` holds, else ``other`` (as ``torch.Tensor.where``)."""
        return where_ops.Where.apply(np.asarray(_raw(condition), dtype=bool), self, other)

    # ---- reductions -------------------------------------------------------------------
    def sum(self, dim=None, keepdim: bool = False, *, dtype=None, axis=None):
        source = self if dtype is None else self._cast(np.dtype(dtype))
        return red.Sum.apply(source, _dim_alias("sum", dim, axis), keepdim)

    def mean(self, dim=None, keepdim: bool = False, *, dtype=None, axis=None):
        source = self if dtype is None else self._cast(np.dtype(dtype))
        if not np.issubdtype(source.dtype, np.inexact):
            raise RuntimeError(
                "mean(): could not infer output dtype. Input dtype must be either a floating point or "
                f"complex dtype. Got: {dtypes.scalar_name(source.dtype)}"
            )
        return red.Mean.apply(source, _dim_alias("mean", dim, axis), keepdim)

    def prod(self, dim=None, keepdim: bool = False, *, dtype=None):
        source = self if dtype is None else self._cast(np.dtype(dtype))
        return red.Prod.apply(source, dim, keepdim)

    def _extreme(self, op: str, dim, keepdim: bool, largest: bool):
        if dim is None:
            return red.Extreme.apply(self, None, False, largest)
        if _is_tensor(dim):  # max(a, b): elementwise
            return where_ops.Extremum.apply(self, dim, largest)
        axis = _one_dim(op, dim, self.ndim)
        if self.ndim == 0:
            return (max_result if largest else min_result)(self.clone(), _plain(np.array(0)))
        values = red.Extreme.apply(self, axis, keepdim, largest)
        pick = np.argmax if largest else np.argmin
        indices = _plain(pick(self._array, axis=axis, keepdims=keepdim))
        return (max_result if largest else min_result)(values, indices)

    def max(self, dim=None, keepdim: bool = False):
        """Largest value; with ``dim`` a ``(values, indices)`` pair; with a tensor, elementwise."""
        return self._extreme("max", dim, keepdim, True)

    def min(self, dim=None, keepdim: bool = False):
        """Smallest value; with ``dim`` a ``(values, indices)`` pair; with a tensor, elementwise."""
        return self._extreme("min", dim, keepdim, False)

    def amax(self, dim=(), keepdim: bool = False):
        return self._amax_amin(dim, keepdim, True)

    def amin(self, dim=(), keepdim: bool = False):
        return self._amax_amin(dim, keepdim, False)

    def _amax_amin(self, dim, keepdim: bool, largest: bool):
        axes = red.normalize_axes(None if dim == () else dim, self.ndim)
        result = self
        for axis in sorted(axes, reverse=True):
            result = red.Extreme.apply(result, axis, True, largest)
        return result if keepdim else result.reshape([s for i, s in enumerate(result.shape) if i not in axes])

    def _arg(self, op: str, dim, keepdim: bool, axis, largest: bool):
        dim = _dim_alias(op, dim, axis)
        pick = np.argmax if largest else np.argmin
        if dim is None:
            flat = pick(self._array.reshape(-1))
            return _plain(np.reshape(flat, (1,) * self.ndim) if keepdim else np.asarray(flat))
        return _plain(pick(self._array, axis=_one_dim(op, dim, self.ndim), keepdims=keepdim))

    def argmax(self, dim=None, keepdim: bool = False, *, axis=None):
        """Index of the largest value (over all, flattened, or along ``dim``; ``axis`` alias)."""
        return self._arg("argmax", dim, keepdim, axis, True)

    def argmin(self, dim=None, keepdim: bool = False, *, axis=None):
        """Index of the smallest value (over all, flattened, or along ``dim``; ``axis`` alias)."""
        return self._arg("argmin", dim, keepdim, axis, False)

    def var(self, dim=None, unbiased: bool | None = None, keepdim: bool = False, *, correction=None):
        """Variance over ``dim``, divided by ``n - correction`` (default 1: unbiased), as torch."""
        if correction is None:
            correction = 0 if unbiased is False else 1
        elif unbiased is not None:
            raise ValueError("var: pass either unbiased or correction, not both")
        axes = red.normalize_axes(dim, self.ndim)
        count = int(np.prod([self.shape[a] for a in axes])) if axes else 1
        centered = self - self.mean(axes, keepdim=True)
        # n <= correction gives nan (as torch), without a division-by-zero warning
        factor = 1.0 / (count - correction) if count > correction else float("nan")
        return (centered * centered).sum(axes, keepdim) * factor

    def std(self, dim=None, unbiased: bool | None = None, keepdim: bool = False, *, correction=None):
        return self.var(dim, unbiased, keepdim, correction=correction).sqrt()

    def norm(self, p="fro", dim=None, keepdim: bool = False):
        """The p-norm over ``dim`` (all elements by default): p = 2 / 'fro', 1, or inf."""
        if p in ("fro", 2, 2.0):
            return (self * self).sum(dim, keepdim).sqrt()
        if p in (1, 1.0):
            return self.abs().sum(dim, keepdim)
        if p == float("inf"):
            return self.abs().amax(() if dim is None else dim, keepdim)
        return (self.abs() ** p).sum(dim, keepdim) ** (1.0 / p)

    # ---- matrix products --------------------------------------------------------------
    def matmul(self, other):
        return red.MatMul.apply(self, other)

    def mm(self, mat2):
        if self.ndim != 2:
            raise RuntimeError("self must be a matrix")
        if np.ndim(_raw(mat2)) != 2:
            raise RuntimeError("mat2 must be a matrix")
        return red.MatMul.apply(self, mat2)

    def bmm(self, mat2):
        if self.ndim != 3:
            raise RuntimeError("batch1 must be a 3D tensor")
        if np.ndim(_raw(mat2)) != 3:
            raise RuntimeError("batch2 must be a 3D tensor")
        return red.MatMul.apply(self, mat2)

    def dot(self, other):
        if self.ndim != 1 or np.ndim(_raw(other)) != 1:
            raise RuntimeError(
                f"1D tensors expected, but got {self.ndim}D and {np.ndim(_raw(other))}D tensors"
            )
        return red.MatMul.apply(self, other)
