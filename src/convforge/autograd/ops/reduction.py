"""Reductions (sum, mean, max/min over axes) and matrix products."""

from __future__ import annotations

import numpy as np

from ..function import Function
from .elementwise import unbroadcast


def normalize_axes(axis, ndim: int) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    result = []
    for a in axes:
        if not -ndim <= a < max(ndim, 1):
            raise IndexError(f"dimension out of range (expected in [{-ndim}, {ndim - 1}], but got {a})")
        result.append(int(a) % max(ndim, 1))
    return tuple(result)


def _expand(g: np.ndarray, shape: tuple[int, ...], axes: tuple[int, ...], keepdims: bool):
    if not keepdims:
        g = np.expand_dims(g, axes) if axes else g
    return np.broadcast_to(g, shape)


class Sum(Function):
    def forward(self, a, axis, keepdims):
        self.shape = a.shape
        self.axes = normalize_axes(axis, a.ndim)
        self.keepdims = keepdims
        return np.sum(a, axis=self.axes, keepdims=keepdims)

    def backward(self, g):
        return _expand(g, self.shape, self.axes, self.keepdims).copy(), None, None


class Mean(Function):
    def forward(self, a, axis, keepdims):
        self.shape = a.shape
        self.axes = normalize_axes(axis, a.ndim)
        self.keepdims = keepdims
        self.count = int(np.prod([a.shape[i] for i in self.axes])) if self.axes else 1
        return np.mean(a, axis=self.axes, keepdims=keepdims)

    def backward(self, g):
        return _expand(g / self.count, self.shape, self.axes, self.keepdims).copy(), None, None


class Extreme(Function):
    """max or min over one axis: the gradient goes to the element whose index is returned.

    Over all elements (``axis=None``) ties share the gradient equally, as torch's ``max()``.
    """

    def forward(self, a, axis, keepdims, largest):
        self.shape = a.shape
        self.axis = axis
        self.keepdims = keepdims
        flat = a.reshape(-1) if axis is None else a
        pick = np.argmax if largest else np.argmin
        index = pick(flat, axis=0 if axis is None else axis)
        self.index = index
        if axis is None:
            self.ties = a == flat[index]
            return flat[index]
        values = np.take_along_axis(a, np.expand_dims(index, axis), axis)
        return values if keepdims else np.squeeze(values, axis)

    def backward(self, g):
        grad = np.zeros(self.shape, dtype=g.dtype)
        if self.axis is None:
            grad = (self.ties * (g / self.ties.sum())).astype(g.dtype, copy=False)
        else:
            g = g if self.keepdims else np.expand_dims(g, self.axis)
            np.put_along_axis(grad, np.expand_dims(self.index, self.axis), g, self.axis)
        return grad, None, None, None


class MatMul(Function):
    """``a @ b`` with NumPy's rules for 1-D operands and broadcast batch dimensions."""

    def forward(self, a, b):
        self.save_for_backward(a, b)
        return np.matmul(a, b)

    def backward(self, g):
        a, b = self.saved
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        # restore the axes matmul dropped for 1-D operands: n (last) first, then m
        g2 = g
        if b.ndim == 1:
            g2 = np.expand_dims(g2, -1)
        if a.ndim == 1:
            g2 = np.expand_dims(g2, -2)
        ga = gb = None
        if self.needs_input_grad[0]:
            ga = g2 @ np.swapaxes(b2, -1, -2)
            ga = unbroadcast(ga, a2.shape).reshape(a.shape)
        if self.needs_input_grad[1]:
            gb = np.swapaxes(a2, -1, -2) @ g2
            gb = unbroadcast(gb, b2.shape).reshape(b.shape)
        return ga, gb


class Prod(Function):
    """Product over axes; d/da_i is the product of the others, formed without dividing (zeros
    are allowed) from exclusive cumulative products taken from both ends."""

    def forward(self, a, axis, keepdims):
        self.save_for_backward(a)
        self.axes = normalize_axes(axis, a.ndim)
        self.keepdims = keepdims
        return np.prod(a, axis=self.axes, keepdims=keepdims)

    def backward(self, g):
        (a,) = self.saved
        rest = [i for i in range(a.ndim) if i not in self.axes]
        moved = np.transpose(a, rest + list(self.axes))
        flat = moved.reshape(*moved.shape[: len(rest)], -1)  # (*rest, n)
        ones = np.ones_like(flat[..., :1])
        before = np.cumprod(np.concatenate([ones, flat[..., :-1]], axis=-1), axis=-1)
        after = np.cumprod(np.concatenate([ones, flat[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]
        others = (before * after).reshape(moved.shape)
        others = np.transpose(others, np.argsort(rest + list(self.axes)))
        return _expand(g, a.shape, self.axes, self.keepdims) * others, None, None


class CumSum(Function):
    """Running sum along an axis; the gradient is the running sum of ``g`` from the other end."""

    def forward(self, a, axis: int):
        self.axis = axis
        return np.cumsum(a, axis=axis)

    def backward(self, g):
        flipped = np.flip(g, self.axis)
        return np.flip(np.cumsum(flipped, axis=self.axis), self.axis), None


class LogSumExp(Function):
    """``log(sum(exp(a)))`` over axes, shifted by the maximum; the gradient is the softmax."""

    def forward(self, a, axis, keepdims: bool):
        self.axes = normalize_axes(axis, a.ndim)
        self.shape, self.keepdims = a.shape, keepdims
        shift = np.max(a, axis=self.axes, keepdims=True) if a.size else np.zeros((1,) * a.ndim, a.dtype)
        shift = np.where(np.isfinite(shift), shift, 0)
        total = np.log(np.sum(np.exp(a - shift), axis=self.axes, keepdims=True)) + shift
        self.weights = np.exp(a - total)  # the softmax over the axes
        return total if keepdims else np.squeeze(total, self.axes)

    def backward(self, g):
        return _expand(g, self.shape, self.axes, self.keepdims) * self.weights, None, None
