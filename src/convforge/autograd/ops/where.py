"""Functions that pick elementwise between two arrays: ``where``, ``maximum``, ``minimum``."""

from __future__ import annotations

import numpy as np

from ..function import Function
from .elementwise import unbroadcast


class Where(Function):
    """``condition ? a : b`` with broadcasting; each branch gets the gradient where chosen."""

    def forward(self, condition, a, b):
        self.condition = condition
        self.shapes = (np.shape(a), np.shape(b))
        return np.where(condition, a, b)

    def backward(self, g):
        zero = np.zeros((), dtype=g.dtype)
        ga = (
            unbroadcast(np.where(self.condition, g, zero), self.shapes[0])
            if self.needs_input_grad[1]
            else None
        )
        gb = (
            unbroadcast(np.where(self.condition, zero, g), self.shapes[1])
            if self.needs_input_grad[2]
            else None
        )
        return None, ga, gb


class Extremum(Function):
    """``maximum(a, b)`` (or ``minimum``) elementwise; ties split the gradient in halves, as torch."""

    def forward(self, a, b, largest):
        self.save_for_backward(a, b)
        self.largest = largest
        return np.maximum(a, b) if largest else np.minimum(a, b)

    def backward(self, g):
        a, b = self.saved
        wins = (a > b) if self.largest else (a < b)
        share = np.where(a == b, 0.5, wins).astype(g.dtype)  # a's share of the gradient
        ga = unbroadcast(g * share, np.shape(a)) if self.needs_input_grad[0] else None
        gb = unbroadcast(g * (1 - share), np.shape(b)) if self.needs_input_grad[1] else None
        return ga, gb, None
