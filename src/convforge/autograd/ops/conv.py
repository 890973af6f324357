"""Convolution and transposed convolution as single differentiable Functions.

Both are built from the kernel contract of ``kernels/`` (``forward``, ``grad_input``,
``grad_weight``): the backward of a convolution is its transposed convolution (for the
input) and a correlation of input and output gradient (for the weight); a transposed
convolution is the ``grad_input`` map, so its backward is ``forward`` and ``grad_weight``
with the roles of input and output gradient swapped. Whatever algorithm the selector
picked speeds up both directions.
"""

from __future__ import annotations

from types import ModuleType

import numpy as np

from ...spec import ConvSpec
from ..function import Function


def _add_bias(y: np.ndarray, bias: np.ndarray | None, ndim: int) -> np.ndarray:
    """``y + bias`` per channel, in place in ``y`` (the kernel's fresh output).

    Shape: y (N, C, *spatial) with ``ndim`` spatial dimensions; bias (C,) or None.
    """
    if bias is not None:
        y += bias.reshape((1, bias.shape[0]) + (1,) * ndim)
    return y


def _grad_bias(g: np.ndarray, ndim: int) -> np.ndarray:
    return g.sum(axis=(0, *range(2, 2 + ndim)))


class Conv(Function):
    """``y = conv(x, w) + b`` for a ``ConvSpec`` with zero padding."""

    def forward(self, x, w, b, spec: ConvSpec, kernel: ModuleType):
        spec = spec.with_batch(x.shape[0])
        self.spec, self.kernel = spec, kernel
        self.save_for_backward(x, w)
        return _add_bias(kernel.forward(x, w, spec), b, spec.ndim)

    def backward(self, g):
        x, w = self.saved
        spec, kernel = self.spec, self.kernel
        gx = kernel.grad_input(g, w, spec, x.shape) if self.needs_input_grad[0] else None
        gw = kernel.grad_weight(x, g, spec, w.shape) if self.needs_input_grad[1] else None
        gb = _grad_bias(g, spec.ndim) if self.needs_input_grad[2] else None
        return gx, gw, gb, None, None


class ConvTranspose(Function):
    """``y = conv_transpose(x, w) + b``: the input-gradient map of the convolution ``spec``.

    ``x`` plays the convolution's output gradient, ``y`` its input gradient. When
    ``output_padding >= stride`` (allowed while it is below the dilation) the matching
    convolution has more outputs than ``x`` has cells; ``x`` is zero-filled up to them.
    """

    def forward(self, x, w, b, spec: ConvSpec, kernel: ModuleType):
        spec = spec.with_batch(x.shape[0])
        self.spec, self.kernel = spec, kernel
        self.x_shape = x.shape
        fill = tuple(o - i for o, i in zip(spec.out_spatial, x.shape[2:]))
        if any(fill):
            x = np.pad(x, ((0, 0), (0, 0), *((0, f) for f in fill)))
        self.save_for_backward(x, w)
        return _add_bias(kernel.grad_input(x, w, spec, spec.in_shape), b, spec.ndim)

    def backward(self, g):
        x, w = self.saved
        spec, kernel = self.spec, self.kernel
        gx = gw = gb = None
        if self.needs_input_grad[0]:
            gx = kernel.forward(g, w, spec)
            gx = gx[(Ellipsis, *(slice(0, s) for s in self.x_shape[2:]))]
        if self.needs_input_grad[1]:
            gw = kernel.grad_weight(g, x, spec, w.shape)
        if self.needs_input_grad[2]:
            gb = _grad_bias(g, spec.ndim)
        return gx, gw, gb, None, None
