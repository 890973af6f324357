"""Embedding lookup as one Function: rows of a weight matrix gathered by index."""

from __future__ import annotations

import numpy as np

from ..function import Function


class Embedding(Function):
    """``out[...] = weight[index[...]]``; the weight's gradient is the scatter-sum of the output
    gradient into the looked-up rows, 0 for ``padding_idx``, each row divided by how often it
    was looked up when ``scale_grad_by_freq`` (torch's rule)."""

    def forward(self, weight, index, padding_idx, scale_grad_by_freq):
        self.weight_shape, self.index = weight.shape, index
        self.padding_idx, self.scale_grad_by_freq = padding_idx, scale_grad_by_freq
        return weight[index]  # (*index.shape, D)

    def backward(self, g):
        flat_index = self.index.reshape(-1)
        rows = g.reshape(flat_index.size, -1)  # (number of lookups, D)
        if self.scale_grad_by_freq:
            counts = np.bincount(flat_index, minlength=self.weight_shape[0])
            rows = rows / counts[flat_index][:, None]
        grad = np.zeros(self.weight_shape, dtype=g.dtype)
        np.add.at(grad, flat_index, rows)
        if self.padding_idx is not None:
            grad[self.padding_idx] = 0
        return grad, None, None, None
