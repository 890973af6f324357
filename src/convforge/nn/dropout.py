"""Dropout."""

from __future__ import annotations

from .. import functional as F
from ..autograd.tensor import Tensor
from .module import Module

__all__ = ["Dropout"]


class Dropout(Module):
    """In training, zero each element with probability ``p`` and scale the rest by
    ``1/(1-p)``; in eval mode, the identity. Masks come from the seeded default generator.

    Shape: any.
    """

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        if not isinstance(p, (int, float)) or isinstance(p, bool) or not 0 <= p <= 1:
            raise ValueError(f"Dropout: p must be a probability in [0, 1], but got p={p!r}")
        self.p, self.inplace = p, inplace

    def forward(self, input) -> Tensor:
        return F.dropout(input, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"
