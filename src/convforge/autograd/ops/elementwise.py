"""Elementwise Functions with NumPy broadcasting; gradients are summed back to each shape."""

from __future__ import annotations

import numpy as np

from ...backend import DEFAULT_DTYPE
from ..function import Function, is_grad_enabled


def unbroadcast(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum ``grad`` over the axes that broadcasting added or stretched to reach it."""
    if grad.shape == tuple(shape):
        return grad
    extra = grad.ndim - len(shape)
    if extra > 0:
        grad = grad.sum(axis=tuple(range(extra)))
    stretched = tuple(i for i, s in enumerate(shape) if s == 1 and grad.shape[i] != 1)
    if stretched:
        grad = grad.sum(axis=stretched, keepdims=True)
    return grad


def _shape(value) -> tuple[int, ...]:
    return np.shape(value)


_KIND_CATEGORY = {"b": 0, "i": 1, "u": 1, "f": 2, "c": 3}


def _category(dtype: np.dtype) -> int:
    """torch's type categories: bool < integer < floating < complex."""
    return _KIND_CATEGORY.get(dtype.kind, 3)


_SCALAR_DTYPES = {
    0: np.dtype(np.bool_),
    1: np.dtype(np.int64),
    2: np.dtype(DEFAULT_DTYPE),
    3: np.dtype(np.complex64),
}


def _scalar_category(value) -> int:
    if isinstance(value, (bool, np.bool_)):
        return 0
    if isinstance(value, np.generic):
        return _category(value.dtype)
    return 1 if isinstance(value, int) else 2 if isinstance(value, float) else 3


def torch_result_dtype(operands: tuple, at_least: int = 0) -> np.dtype:
    """The dtype torch gives a binary op, which NumPy's rules do not (int64 * float32 tensors
    are float32 in torch, float64 in NumPy; an int tensor / 2 is float32, not float64).

    Operands rank as tensors with dimensions, then 0-d tensors, then Python (and NumPy)
    scalars; the highest category present decides, and the first rank holding that category
    picks the dtype among its operands of it (a scalar alone: float32 / int64 / bool).
    """
    ranks: tuple[list, list, list] = ([], [], [])
    for value in operands:
        if isinstance(value, np.ndarray):
            ranks[0 if value.ndim else 1].append(value.dtype)
        else:
            ranks[2].append(_SCALAR_DTYPES[_scalar_category(value)])
    top = max([at_least] + [_category(d) for rank in ranks for d in rank])
    for rank in ranks:
        found = [d for d in rank if _category(d) == top]
        if found:
            return found[0] if len(found) == 1 else np.result_type(*found)
    return _SCALAR_DTYPES[top]


def _as_torch(result: np.ndarray, operands: tuple, at_least: int = 0) -> np.ndarray:
    a, b = operands
    if (
        type(a) is np.ndarray
        and type(b) is np.ndarray
        and a.dtype == b.dtype
        and _category(a.dtype) >= at_least
    ):
        return result  # the common case: NumPy and torch agree
    dtype = torch_result_dtype(operands, at_least)
    return result if result.dtype == dtype else result.astype(dtype)


class Add(Function):
    _operands = 2

    def forward(self, a, b):
        self.shapes = (_shape(a), _shape(b))
        return _as_torch(np.add(a, b), (a, b))

    def backward(self, g):
        return unbroadcast(g, self.shapes[0]), unbroadcast(g, self.shapes[1])


class Sub(Function):
    _operands = 2

    def forward(self, a, b):
        self.shapes = (_shape(a), _shape(b))
        return _as_torch(np.subtract(a, b), (a, b))

    def backward(self, g):
        return unbroadcast(g, self.shapes[0]), unbroadcast(-g, self.shapes[1])


class Mul(Function):
    _operands = 2

    def forward(self, a, b):
        self.save_for_backward(a, b)
        return _as_torch(np.multiply(a, b), (a, b))

    def backward(self, g):
        a, b = self.saved
        ga = unbroadcast(g * b, _shape(a)) if self.needs_input_grad[0] else None
        gb = unbroadcast(g * a, _shape(b)) if self.needs_input_grad[1] else None
        return ga, gb


class Div(Function):
    _operands = 2

    def forward(self, a, b):
        self.save_for_backward(a, b)
        with np.errstate(divide="ignore", invalid="ignore"):  # inf and nan, silently, as torch
            return _as_torch(np.divide(a, b), (a, b), at_least=2)  # true division: floating

    def backward(self, g):
        a, b = self.saved
        ga = unbroadcast(g / b, _shape(a)) if self.needs_input_grad[0] else None
        gb = unbroadcast(-g * a / (b * b), _shape(b)) if self.needs_input_grad[1] else None
        return ga, gb


class Pow(Function):
    _operands = 2

    def forward(self, a, b):
        y = _as_torch(np.power(a, b), (a, b))
        self.save_for_backward(a, b, y)
        return y

    def backward(self, g):
        a, b, y = self.saved
        ga = unbroadcast(g * b * np.power(a, b - 1), _shape(a)) if self.needs_input_grad[0] else None
        gb = None
        if self.needs_input_grad[1]:
            with np.errstate(divide="ignore", invalid="ignore"):
                log_a = np.where(a > 0, np.log(np.where(a > 0, a, 1)), 0)
            gb = unbroadcast(g * y * log_a, _shape(b))
        return ga, gb


class Neg(Function):
    def forward(self, a):
        return np.negative(a)

    def backward(self, g):
        return (-g,)


class Exp(Function):
    def forward(self, a):
        self.y = np.exp(a)
        return self.y

    def backward(self, g):
        return (g * self.y,)


class Log(Function):
    def forward(self, a):
        self.save_for_backward(a)
        with np.errstate(divide="ignore", invalid="ignore"):  # -inf and nan, silently, as torch
            return np.log(a)

    def backward(self, g):
        (a,) = self.saved
        return (g / a,)


class Sqrt(Function):
    def forward(self, a):
        with np.errstate(invalid="ignore"):  # nan for negatives, silently, as torch
            self.y = np.sqrt(a)
        return self.y

    def backward(self, g):
        return (g / (2 * self.y),)


class Abs(Function):
    def forward(self, a):
        self.save_for_backward(a)
        return np.abs(a)

    def backward(self, g):
        (a,) = self.saved
        return (g * np.sign(a),)


class ReLU(Function):
    saves_output = True  # as torch's, whose backward reads the result

    def forward(self, a):
        y = np.maximum(a, a.dtype.type(0))  # one pass; NaN passes through, as torch's
        if is_grad_enabled():  # under no_grad no graph is recorded: no mask
            self.mask = y > 0
        return y

    def backward(self, g):
        return (g * self.mask,)


class Sigmoid(Function):
    def forward(self, a):
        # split by sign so exp never overflows
        e = np.exp(-np.abs(a))
        self.y = np.where(a >= 0, 1 / (1 + e), e / (1 + e)).astype(a.dtype, copy=False)
        return self.y

    def backward(self, g):
        return (g * self.y * (1 - self.y),)


class Tanh(Function):
    def forward(self, a):
        self.y = np.tanh(a)
        return self.y

    def backward(self, g):
        return (g * (1 - self.y * self.y),)


class Clamp(Function):
    def forward(self, a, low, high):
        self.mask = np.ones(a.shape, dtype=bool)
        if low is not None:
            self.mask &= a >= low
        if high is not None:
            self.mask &= a <= high
        return np.clip(a, low, high)

    def backward(self, g):
        return g * self.mask, None, None


class Sin(Function):
    def forward(self, a):
        self.save_for_backward(a)
        return np.sin(a)

    def backward(self, g):
        (a,) = self.saved
        return (g * np.cos(a),)


class Cos(Function):
    def forward(self, a):
        self.save_for_backward(a)
        return np.cos(a)

    def backward(self, g):
        (a,) = self.saved
        return (-g * np.sin(a),)


class Sinh(Function):
    def forward(self, a):
        self.save_for_backward(a)
        return np.sinh(a)

    def backward(self, g):
        (a,) = self.saved
        return (g * np.cosh(a),)


class Cosh(Function):
    def forward(self, a):
        self.save_for_backward(a)
        return np.cosh(a)

    def backward(self, g):
        (a,) = self.saved
        return (g * np.sinh(a),)


class Cast(Function):
    """A dtype conversion; the gradient is converted back."""

    def forward(self, a, dtype):
        self.dtype = a.dtype
        return a.astype(dtype)

    def backward(self, g):
        return g.astype(self.dtype), None


class Clone(Function):
    """A copy (``clone``, ``contiguous`` of a strided tensor): the gradient passes through."""

    def forward(self, a):
        return np.array(a, copy=True, order="C")

    def backward(self, g):
        return (g,)


class Log1p(Function):
    def forward(self, a):
        self.save_for_backward(a)
        return np.log1p(a)

    def backward(self, g):
        (a,) = self.saved
        return (g / (1 + a),)


class Erf(Function):
    def forward(self, a):
        from scipy.special import erf

        self.save_for_backward(a)
        return erf(a).astype(a.dtype, copy=False)

    def backward(self, g):
        (a,) = self.saved
        return (g * (2 / np.sqrt(np.pi)) * np.exp(-a * a),)


class Stepwise(Function):
    """A piecewise-constant function (floor, ceil, round, trunc, sign): zero gradient, as torch."""

    def forward(self, a, fn):
        return fn(a)

    def backward(self, g):
        return np.zeros_like(g), None
