"""Functions that copy by index: repeat, gather, scatter, item assignment (``x[i] = v``)."""

from __future__ import annotations

import numpy as np

from ..function import Function
from .elementwise import unbroadcast


class Repeat(Function):
    """``np.tile``: the gradient of each input cell sums its copies."""

    def forward(self, a, repeats: tuple[int, ...]):
        self.shape = (1,) * (len(repeats) - a.ndim) + a.shape
        self.in_shape, self.repeats = a.shape, repeats
        return np.tile(a, repeats)

    def backward(self, g):
        # (r0, s0, r1, s1, ...): the copies of one cell differ only in the r axes
        split = [n for pair in zip(self.repeats, self.shape) for n in pair]
        summed = g.reshape(split).sum(axis=tuple(range(0, 2 * len(self.shape), 2)))
        return summed.reshape(self.in_shape), None


def _full_index(index: np.ndarray, dim: int) -> tuple[np.ndarray, ...]:
    """The N-d index of each element of ``index`` with axis ``dim`` replaced by its value."""
    grid = list(np.indices(index.shape, sparse=True))
    grid[dim] = index
    return tuple(grid)


class Gather(Function):
    """``out[i][j] = a[i][index[i][j]]`` along ``dim`` (torch.gather)."""

    def forward(self, a, dim: int, index: np.ndarray):
        self.shape, self.dim, self.index = a.shape, dim, index
        return a[_full_index(index, dim)]

    def backward(self, g):
        grad = np.zeros(self.shape, dtype=g.dtype)
        np.add.at(grad, _full_index(self.index, self.dim), g)  # repeated indices accumulate
        return grad, None, None


class Scatter(Function):
    """``out = a`` with ``out[i][index[i][j]] = src[i][j]`` along ``dim`` (torch.scatter).

    ``src`` is a tensor (only its first ``index.shape`` cells are read) or a number; with
    ``add=True`` the values are added instead (torch.scatter_add)."""

    def forward(self, a, dim: int, index: np.ndarray, src, add: bool):
        self.dim, self.index, self.add = dim, index, add
        self.src_shape = np.shape(src)
        where = _full_index(index, dim)
        values = src
        if np.ndim(src):
            values = src[tuple(slice(0, n) for n in index.shape)]
        out = np.array(a, copy=True)
        if add:
            np.add.at(out, where, values)
        else:
            out[where] = values
        return out

    def backward(self, g):
        where = _full_index(self.index, self.dim)
        ga = gs = None
        if self.needs_input_grad[0]:
            ga = g.copy()
            if not self.add:
                ga[where] = 0
        if self.needs_input_grad[3]:
            gs = np.zeros(self.src_shape, dtype=g.dtype)
            gs[tuple(slice(0, n) for n in self.index.shape)] = g[where]
        return ga, None, None, gs, None


class SetItem(Function):
    """``a[index] = value`` as a new array (the in-place engine writes it back into ``a``)."""

    def forward(self, a, index, value):
        self.index, self.value_shape = index, np.shape(value)
        out = np.array(a, copy=True)
        out[index] = value
        return out

    def backward(self, g):
        ga = gv = None
        if self.needs_input_grad[0]:
            ga = g.copy()
            ga[self.index] = 0
        if self.needs_input_grad[2]:
            part = np.asarray(g[self.index])
            if part.ndim < len(self.value_shape):  # numpy drops the value's leading 1s
                part = part.reshape((1,) * (len(self.value_shape) - part.ndim) + part.shape)
            gv = unbroadcast(part, self.value_shape)
        return ga, None, gv
