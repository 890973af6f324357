"""Shape Functions: reshape, permute, indexing, flip, concatenation and padding."""

from __future__ import annotations

import numpy as np

from ...spec import Pads
from ..function import Function


class Reshape(Function):
    is_view = True

    def forward(self, a, shape):
        self.shape = a.shape
        return np.reshape(a, shape)

    def backward(self, g):
        return np.reshape(g, self.shape), None


class Permute(Function):
    is_view = True

    def forward(self, a, axes):
        self.axes = axes
        return np.transpose(a, axes)

    def backward(self, g):
        return np.transpose(g, np.argsort(self.axes)), None


class Expand(Function):
    is_view = True

    def forward(self, a, shape):
        self.shape = a.shape
        return np.broadcast_to(a, shape)

    def backward(self, g):
        from .elementwise import unbroadcast

        return unbroadcast(g, self.shape), None


class GetItem(Function):
    is_view = True

    def forward(self, a, index):
        self.shape, self.index = a.shape, index
        out = a[index]
        if not isinstance(out, np.ndarray):  # all-int index: a 0-d view, not a scalar copy
            out = a[(*index, Ellipsis) if isinstance(index, tuple) else (index, Ellipsis)]
        return out

    def backward(self, g):
        grad = np.zeros(self.shape, dtype=g.dtype)
        np.add.at(grad, self.index, g)  # repeated advanced indices accumulate
        return grad, None


class Flip(Function):
    def forward(self, a, axes):
        self.axes = axes
        return np.flip(a, axes)

    def backward(self, g):
        return np.flip(g, self.axes), None


class Concat(Function):
    """``cat`` of several arrays along one axis (``stack`` is cat of unsqueezed arrays)."""

    def forward(self, axis, *arrays):
        self.axis = axis
        self.splits = np.cumsum([a.shape[axis] for a in arrays])[:-1]
        return np.concatenate(arrays, axis=axis)

    def backward(self, g):
        return (None, *np.split(g, self.splits, axis=self.axis))


_NUMPY_MODE = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def _source_index(size: int, lo: int, hi: int, mode: str) -> np.ndarray:
    """For each cell of the padded axis, the input cell it copies."""
    return np.pad(np.arange(size), (lo, hi), mode=_NUMPY_MODE[mode])


class Pad(Function):
    """Pad the trailing ``len(pads)`` axes.

    ``constant`` accepts negative pads (they crop, as in torch). The other modes copy input
    cells; their backward adds each padded cell's gradient back to the cell it copied, one
    axis at a time, so the cost is the interior slice plus one slice per padded cell.
    """

    def forward(self, a, pads: Pads, mode: str, value: float):
        self.shape, self.pads, self.mode = a.shape, pads, mode
        first = a.ndim - len(pads)
        if mode == "constant":
            crop = tuple(
                slice(max(-lo, 0), a.shape[first + i] - max(-hi, 0)) for i, (lo, hi) in enumerate(pads)
            )
            a = a[(Ellipsis, *crop)]
            grow = ((0, 0),) * first + tuple((max(lo, 0), max(hi, 0)) for lo, hi in pads)
            return np.pad(a, grow, mode="constant", constant_values=value)
        return np.pad(a, ((0, 0),) * first + tuple(pads), mode=_NUMPY_MODE[mode])

    def backward(self, g):
        first = len(self.shape) - len(self.pads)
        if self.mode == "constant":
            # undo the growth (crop) and the crop (zero-fill)
            keep = tuple(
                slice(max(lo, 0), g.shape[first + i] - max(hi, 0)) for i, (lo, hi) in enumerate(self.pads)
            )
            g = g[(Ellipsis, *keep)]
            back = ((0, 0),) * first + tuple((max(-lo, 0), max(-hi, 0)) for lo, hi in self.pads)
            return np.pad(g, back), None, None, None
        for i, (lo, hi) in enumerate(self.pads):
            axis = first + i
            size = self.shape[axis]
            source = _source_index(size, lo, hi, self.mode)
            moved = np.moveaxis(g, axis, 0)
            grad = moved[lo : lo + size].copy()
            for j in [*range(lo), *range(lo + size, lo + size + hi)]:
                grad[source[j]] += moved[j]
            g = np.moveaxis(grad, 0, axis)
        return np.ascontiguousarray(g), None, None, None
