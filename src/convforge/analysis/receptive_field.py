"""Receptive fields: which input cells one output cell of a layer can see.

Per spatial dimension a layer's outputs see windows described by three numbers, updated
layer by layer (Dumoulin & Visin; Araujo et al., *Computing Receptive Fields of CNNs*):

* ``size``  - input cells one output sees: ``size + (k_eff - 1) * jump``
* ``jump``  - input cells between two neighbouring outputs: ``jump * stride``
* ``start`` - input coordinate of the centre of the first output's field:
  ``start + ((k_eff - 1) / 2 - pad_before) * jump``

with ``k_eff = dilation * (kernel - 1) + 1``. Input cell ``i`` has coordinate ``i``, so a
``start`` of ``-0.5`` means the first window is centred between the padding and cell 0.
Element-wise layers keep the field; flattening, fully connected layers and global pooling
see the whole input (:meth:`ReceptiveField.whole`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from ..spec import Pads, effective_kernel_size

__all__ = ["ReceptiveField", "receptive_fields"]


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.3g}"


@dataclass(frozen=True)
class ReceptiveField:
    """Receptive field geometry per spatial dimension (see the module docstring).

    ``whole`` is True once a layer mixes every position (flatten, linear, global pool);
    ``size`` then holds the input's spatial size.
    """

    size: tuple[float, ...]
    jump: tuple[float, ...]
    start: tuple[float, ...]
    whole: bool = False

    @classmethod
    def of_input(cls, ndim: int) -> ReceptiveField:
        """The input itself: every cell sees one cell."""
        return cls((1,) * ndim, (1,) * ndim, (0,) * ndim)

    @property
    def ndim(self) -> int:
        return len(self.size)

    def conv(
        self, kernel: Sequence[int], stride: Sequence[int], padding: Pads, dilation: Sequence[int]
    ) -> ReceptiveField:
        """After a convolution or pooling window (padding as ``(before, after)`` pairs)."""
        if self.whole:
            return self
        k_eff = [effective_kernel_size(k, d) for k, d in zip(kernel, dilation)]
        return ReceptiveField(
            tuple(r + (k - 1) * j for r, k, j in zip(self.size, k_eff, self.jump)),
            tuple(j * s for j, s in zip(self.jump, stride)),
            tuple(
                st + ((k - 1) / 2 - p[0]) * j for st, k, p, j in zip(self.start, k_eff, padding, self.jump)
            ),
        )

    def transposed(
        self, kernel: Sequence[int], stride: Sequence[int], padding: Pads, dilation: Sequence[int]
    ) -> ReceptiveField:
        """After a transposed convolution: outputs are ``stride`` times denser.

        An output reads input cells up to ``floor((k_eff - 1) / stride)`` cells apart (the
        widest over output positions), so ``size`` grows by that many jumps; ``jump``
        divides by the stride. ``start`` and ``jump`` are then an evenly spaced fit: the
        outputs of one stride period read windows whose centres are unevenly spaced (with a
        2x2 kernel of stride 2, outputs 0 and 1 read the same input cell), each within
        ``jump * (stride - 1) / (2 * stride)`` of the fit and exact on average.
        """
        if self.whole:
            return self
        k_eff = [effective_kernel_size(k, d) for k, d in zip(kernel, dilation)]
        return ReceptiveField(
            tuple(r + ((k - 1) // s) * j for r, k, s, j in zip(self.size, k_eff, stride, self.jump)),
            tuple(j / s for j, s in zip(self.jump, stride)),
            tuple(
                st + (p[0] - (k - 1) / 2) / s * j
                for st, k, s, p, j in zip(self.start, k_eff, stride, padding, self.jump)
            ),
        )

    def whole_input(self, input_spatial: Sequence[int]) -> ReceptiveField:
        """After a layer that mixes all positions: the field is the whole input."""
        spatial = tuple(input_spatial)
        centre = tuple((s - 1) / 2 for s in spatial)
        return ReceptiveField(spatial, tuple(float(s) for s in spatial), centre, whole=True)

    def describe(self) -> str:
        """``size 11, jump 4, start -0.5`` (per-dimension tuples when they differ)."""
        if self.whole:
            return "whole input"

        def show(values: tuple[float, ...]) -> str:
            if len(set(values)) == 1:
                return _number(values[0])
            return "x".join(_number(v) for v in values)

        return f"size {show(self.size)}, jump {show(self.jump)}, start {show(self.start)}"


def receptive_fields(layers: Sequence[tuple], ndim: int = 2) -> list[ReceptiveField]:
    """Receptive field after each layer of a plain stack.

    Each layer is ``(kernel, stride, padding, dilation)``; ints apply to every dimension
    and ``padding`` is symmetric. Two 3x3 convolutions see 5x5, three see 7x7:

    >>> [rf.size for rf in receptive_fields([(3, 1, 1, 1)] * 3)]
    [(3, 3), (5, 5), (7, 7)]
    """
    field = ReceptiveField.of_input(ndim)
    result = []
    for layer in layers:
        if len(layer) != 4:
            raise ValueError(
                f"receptive_fields: each layer must be (kernel, stride, padding, dilation), but got {layer!r}"
            )
        kernel, stride, padding, dilation = ((v,) * ndim if isinstance(v, int) else tuple(v) for v in layer)
        if any(len(v) != ndim for v in (kernel, stride, padding, dilation)):
            raise ValueError(f"receptive_fields: layer {layer!r} does not have {ndim} spatial dimensions")
        field = field.conv(kernel, stride, tuple((p, p) for p in padding), dilation)
        result.append(field)
    return result


def field_area(field: ReceptiveField) -> float:
    """Input cells in the field (the product of its sizes)."""
    return math.prod(field.size)
