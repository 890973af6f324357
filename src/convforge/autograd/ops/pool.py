"""Pooling, max-unpooling, unfold and fold as differentiable Functions.

Each wraps the matching pair of ``kernels/pool.py``. A Function has one output, so the max
pools hand their int64 indices (not differentiable) to the caller through a list argument,
``indices_out``, which the functional layer turns into a plain Tensor.
"""

from __future__ import annotations

from ...kernels import pool
from ...spec import PoolSpec
from ..function import Function


class MaxPool(Function):
    """Max pooling over a ``PoolSpec``; the argmax indices are kept to route the gradient."""

    def forward(self, x, spec: PoolSpec, indices_out: list):
        self.spec = spec.with_batch(x.shape[0])
        y, self.indices = pool.max_pool(x, self.spec)
        indices_out.append(self.indices)
        return y

    def backward(self, g):
        return pool.max_pool_backward(g, self.indices, self.spec), None, None


class AvgPool(Function):
    """Average pooling with torch's divisor (ceil_mode, count_include_pad, divisor_override)."""

    def forward(self, x, spec: PoolSpec):
        self.spec = spec.with_batch(x.shape[0])
        return pool.avg_pool(x, self.spec)

    def backward(self, g):
        return pool.avg_pool_backward(g, self.spec), None


class AdaptiveAvgPool(Function):
    """Average over torch's adaptive windows, to ``out_spatial``."""

    def forward(self, x, out_spatial: tuple[int, ...]):
        self.in_spatial = x.shape[2:]
        return pool.adaptive_avg_pool(x, out_spatial)

    def backward(self, g):
        return pool.adaptive_avg_pool_backward(g, self.in_spatial), None


class AdaptiveMaxPool(Function):
    """Max over torch's adaptive windows; indices as :class:`MaxPool`."""

    def forward(self, x, out_spatial: tuple[int, ...], indices_out: list):
        self.in_spatial = x.shape[2:]
        y, self.indices = pool.adaptive_max_pool(x, out_spatial)
        indices_out.append(self.indices)
        return y

    def backward(self, g):
        return pool.adaptive_max_pool_backward(g, self.indices, self.in_spatial), None, None


class MaxUnpool(Function):
    """Scatter ``x`` to ``indices`` of a zero ``out_spatial`` plane; the backward gathers."""

    def forward(self, x, indices, out_spatial: tuple[int, ...]):
        self.indices = indices
        return pool.max_unpool(x, indices, out_spatial)

    def backward(self, g):
        return pool.max_unpool_backward(g, self.indices), None, None


class Unfold(Function):
    """Sliding blocks ``(N, C*K, L)`` of the input (im2col); the backward is :class:`Fold`."""

    def forward(self, x, spec: PoolSpec):
        self.spec = spec.with_batch(x.shape[0])
        return pool.unfold(x, self.spec)

    def backward(self, g):
        return pool.fold(g, self.spec), None


class Fold(Function):
    """Sum sliding blocks back into an array (col2im); the backward is :class:`Unfold`.

    ``spec`` is the geometry of the unfold whose adjoint this is.
    """

    def forward(self, cols, spec: PoolSpec):
        self.spec = spec.with_batch(cols.shape[0])
        return pool.fold(cols, self.spec)

    def backward(self, g):
        return pool.unfold(g, self.spec), None
