"""One output element of a convolution written out as its sum of products.

For output channel ``o`` at position ``i`` (a multi-index), with stride ``s``, dilation
``d`` and the padded input ``xpad``::

    y[o, i] = b[o] + sum_{c, t} xpad[g*C_in/G + c, i*s + t*d] * w[o, c, t]

:func:`explain` lists those terms one by one, naming the input cell each kernel tap
reads (or the padding it reads instead), so the d2l example reads
``0×0 + 1×1 + 3×2 + 4×3 = 19``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .. import spec as sp
from .windows import ZERO_PAD, padded_indices

__all__ = ["Explanation", "Term", "explain", "format_number"]


def format_number(value: float) -> str:
    """A number as a person writes it: ``3``, ``-0.5``, ``0.1235``."""
    value = float(value)
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.4g}"


def _index(values: Sequence[int]) -> str:
    return "[" + ", ".join(str(int(v)) for v in values) + "]"


def _factor(value: float) -> str:
    """A factor of a product: negative numbers in parentheses, ``2×(-1)``."""
    text = format_number(value)
    return f"({text})" if text.startswith("-") else text


def _signed_sum(values: Sequence[float]) -> str:
    """``1 - 2 + 3`` rather than ``1 + -2 + 3``."""
    text = format_number(values[0]) if values else "0"
    for value in values[1:]:
        number = format_number(value)
        text += f" - {number[1:]}" if number.startswith("-") else f" + {number}"
    return text


def _compact(values: Sequence[int]) -> str:
    """``2`` for ``(2, 2)``, ``(2, 1)`` otherwise."""
    return str(values[0]) if len(set(values)) == 1 else "(" + ", ".join(map(str, values)) + ")"


def _compact_pads(pads: sp.Pads) -> str:
    """``1`` for symmetric equal pads, else ``(before, after)`` pairs per dimension."""
    if len(set(pads)) == 1 and pads[0][0] == pads[0][1]:
        return str(pads[0][0])
    return ", ".join(f"({lo}, {hi})" for lo, hi in pads)


_AXIS_NAMES = {1: ["cells"], 2: ["rows", "cols"], 3: ["planes", "rows", "cols"]}


@dataclass(frozen=True)
class Term:
    """One product of the sum: an input (or padding) cell times a kernel weight.

    ``source`` is the ``(c, *spatial)`` index of the input cell read, ``None`` for zero
    padding; ``padded`` is the cell's ``(c, *spatial)`` index in the padded input (it
    differs from ``source`` in the padding of reflect/replicate/circular modes).
    """

    source: tuple[int, ...] | None
    padded: tuple[int, ...]
    weight_index: tuple[int, ...]
    x: float
    w: float

    @property
    def product(self) -> float:
        return self.x * self.w


@dataclass(frozen=True)
class Explanation:
    """The terms of one output element; ``str()`` writes the sum out for a person."""

    index: tuple[int, ...]  # (o, *spatial) of the output element
    terms: tuple[Term, ...]
    bias: float | None
    spec: sp.ConvSpec
    input: np.ndarray = field(repr=False, compare=False)  # (C_in, *spatial)

    @property
    def value(self) -> float:
        total = math.fsum(t.product for t in self.terms)
        return total + (self.bias or 0.0)

    @property
    def window(self) -> tuple[tuple[int, int], ...]:
        """Per spatial dimension, the first and last padded-input cell the window covers."""
        out = self.index[1:]
        return tuple(
            (o * s, o * s + sp.effective_kernel_size(k, d) - 1)
            for o, s, k, d in zip(out, self.spec.stride, self.spec.kernel_size, self.spec.dilation)
        )

    def _show_channels(self) -> tuple[bool, bool]:
        """Whether names need the input channel and the output channel."""
        return self.spec.in_channels > 1, self.spec.out_channels > 1

    def _x_name(self, term: Term) -> str:
        show_c, _ = self._show_channels()
        if term.source is None:
            return "0"  # zero padding
        index = term.source if show_c else term.source[1:]
        return "x" + _index(index)

    def _w_name(self, term: Term) -> str:
        _, show_o = self._show_channels()
        show_c = self.spec.in_channels // self.spec.groups > 1
        index = term.weight_index[(0 if show_o else 1) :]
        if not show_c:
            index = index[:1] + index[2:] if show_o else index[1:]
        return "w" + _index(index)

    def _y_name(self) -> str:
        _, show_o = self._show_channels()
        return "y" + _index(self.index if show_o else self.index[1:])

    def header(self) -> str:
        s = self.spec
        sizes = "x".join(map(str, s.in_shape[2:]))
        channels = f"{s.out_channels}x" if s.out_channels > 1 else ""
        parts = [
            f"input {s.in_channels}x{sizes}" if s.in_channels > 1 else f"input {sizes}",
            f"kernel {'x'.join(map(str, s.kernel_size))}",
            f"stride {_compact(s.stride)}",
            f"padding {_compact_pads(s.padding)}"
            + (f" ({s.padding_mode})" if s.padding_mode != "zeros" else ""),
            f"dilation {_compact(s.dilation)}",
        ]
        if s.groups > 1:
            parts.append(f"groups {s.groups}")
        return ", ".join(parts) + f" -> output {channels}{'x'.join(map(str, s.out_spatial))}"

    def window_line(self) -> str:
        """Where the window lies in the padded input: it starts at ``index * stride``."""
        names = _AXIS_NAMES.get(self.spec.ndim, [f"axis {i}" for i in range(self.spec.ndim)])
        parts = []
        for name, (lo, hi), o, st, d in zip(
            names, self.window, self.index[1:], self.spec.stride, self.spec.dilation
        ):
            every = f", every {d} cells" if d > 1 else ""
            parts.append(f"{name} {lo}..{hi} (starts at {o}×{st}{every})")
        return "window in the padded input: " + ", ".join(parts)

    def grid_lines(self, max_width: int = 16) -> list[str]:
        """The padded 2-D input with the cells the window reads in brackets (empty if it
        is not 2-D or is wider than ``max_width``); ``.`` marks zero padding."""
        s = self.spec
        if s.ndim != 2 or s.padded_in_spatial[1] > max_width:
            return []
        source = padded_indices(s)  # flat input index per padded cell, -1 for zero padding
        flat_x = self.input.reshape(-1)
        read = {t.padded for t in self.terms}
        channels = sorted({t.padded[0] for t in self.terms})
        texts = {
            cell: "." if flat == ZERO_PAD else format_number(flat_x[flat])
            for cell, flat in np.ndenumerate(source[channels])
        }
        width = max(len(t) for t in texts.values()) + 3
        lines = []
        for k, c in enumerate(channels):
            if s.in_channels > 1:
                lines.append(f"  channel {c}:")
            for i in range(s.padded_in_spatial[0]):
                row = []
                for j in range(s.padded_in_spatial[1]):
                    text = texts[(k, i, j)]
                    row.append(f"{'[' + text + ']' if (c, i, j) in read else text:^{width}}")
                lines.append("  " + "".join(row).rstrip())
        return lines

    def term_lines(self) -> list[str]:
        """One line per product: ``x[0, 1] = 1  ×  w[0, 1] = 1  ->  1``."""
        x_names = [self._x_name(t) for t in self.terms]
        w_names = [self._w_name(t) for t in self.terms]
        x_text = [
            f"{n} = {format_number(t.x)}" if t.source is not None else "0 (padding)"
            for n, t in zip(x_names, self.terms)
        ]
        w_text = [f"{n} = {format_number(t.w)}" for n, t in zip(w_names, self.terms)]
        x_width = max(map(len, x_text), default=0)
        w_width = max(map(len, w_text), default=0)
        return [
            f"  {xt:<{x_width}}  ×  {wt:<{w_width}}  ->  {format_number(t.product)}"
            for xt, wt, t in zip(x_text, w_text, self.terms)
        ]

    def sum_lines(self) -> list[str]:
        """The compact sum: names, then numbers, then products, then the result."""
        y = self._y_name()
        pad = " " * len(y)
        bias_name = ""
        bias_value = ""
        if self.bias is not None:
            _, show_o = self._show_channels()
            bias_name = " + b" + (_index(self.index[:1]) if show_o else "")
            bias_value = f" + {_factor(self.bias)}"
        names = " + ".join(f"{self._x_name(t)}·{self._w_name(t)}" for t in self.terms) + bias_name
        numbers = " + ".join(f"{_factor(t.x)}×{_factor(t.w)}" for t in self.terms) + bias_value
        products = _signed_sum(
            [t.product for t in self.terms] + ([self.bias] if self.bias is not None else [])
        )
        lines = [f"{y} = {names}", f"{pad} = {numbers}"]
        if products != numbers:
            lines.append(f"{pad} = {products}")
        lines.append(f"{pad} = {format_number(self.value)}")
        return lines

    def __str__(self) -> str:
        return "\n".join(
            [self.header(), self.window_line(), *self.grid_lines(), *self.term_lines(), *self.sum_lines()]
        )


def _array(op: str, name: str, value) -> np.ndarray:
    array = np.asarray(value, dtype=np.float64)
    if array.ndim == 0:
        raise ValueError(f"{op}: {name} must be an array, but got a scalar")
    return array


def explain(
    input,
    weight,
    index: Sequence[int],
    bias=None,
    stride=1,
    padding=0,
    dilation=1,
    groups: int = 1,
    padding_mode: str = "zeros",
) -> Explanation:
    """Write output element ``index`` of ``conv(input, weight)`` as its sum of products.

    Parameters
    ----------
    input : array_like
        ``(C_in, *spatial)``, or just ``(*spatial)`` for one channel (then ``weight`` may
        be just the kernel).
    weight : array_like
        ``(C_out, C_in/groups, *kernel)``, or ``(*kernel)`` for one channel.
    index : sequence of int
        ``(o, *position)``; for single-channel outputs ``(*position)`` is enough.
        Negative entries count from the end.
    bias, stride, padding, dilation, groups, padding_mode
        As in ``conv2d`` (``padding`` may be ``'same'``).

    Returns
    -------
    Explanation
        Its ``terms``, ``value`` (equal to the convolution's output) and ``str()``.
    """
    op = "explain"
    x = _array(op, "input", input)
    w = _array(op, "weight", weight)
    if w.ndim == x.ndim:  # a bare kernel for a bare single-channel input
        x, w = x[None], w[None, None]
    n = w.ndim - 2
    if n < 1 or x.ndim != n + 1:
        raise ValueError(
            f"{op}: input must be (C_in, *spatial) with as many spatial dimensions as the kernel "
            f"(weight {w.shape}), but got input of shape {x.shape}"
        )
    b = None if bias is None else np.asarray(bias, dtype=np.float64).reshape(-1)
    args = sp.ConvArgs.parse(
        op, n, stride=stride, padding=padding, dilation=dilation, groups=groups, padding_mode=padding_mode
    )
    spec = args.resolve(x[None], w, b)
    position = _output_index(op, index, spec)
    terms = _terms(x, w, spec, position)
    return Explanation(position, terms, None if b is None else float(b[position[0]]), spec, x)


def _output_index(op: str, index: Sequence[int], spec: sp.ConvSpec) -> tuple[int, ...]:
    if isinstance(index, (int, np.integer)):
        index = (index,)
    given = tuple(int(i) for i in index)
    shape = (spec.out_channels, *spec.out_spatial)
    full = (0, *given) if len(given) == len(shape) - 1 and spec.out_channels == 1 else given
    if len(full) != len(shape) or not all(-size <= i < size for i, size in zip(full, shape)):
        where = f"(C_out, *spatial) = {shape}" if spec.out_channels > 1 else str(tuple(spec.out_spatial))
        raise ValueError(
            f"{op}: index must address a cell of the output of shape {where}, but got index={given}"
        )
    return tuple(i % size for i, size in zip(full, shape))


def _terms(x: np.ndarray, w: np.ndarray, spec: sp.ConvSpec, position: tuple[int, ...]) -> tuple[Term, ...]:
    o, out = position[0], position[1:]
    c_g = spec.in_channels // spec.groups
    group = o // (spec.out_channels // spec.groups)
    source = padded_indices(spec)  # (C_in, *padded): flat input index or -1
    flat_x = x.reshape(-1)
    terms = []
    for c in range(c_g):
        channel = group * c_g + c
        for tap in np.ndindex(*spec.kernel_size):
            cell = tuple(i * s + t * d for i, s, t, d in zip(out, spec.stride, tap, spec.dilation))
            flat = int(source[(channel, *cell)])
            read = None if flat == ZERO_PAD else tuple(int(v) for v in np.unravel_index(flat, x.shape))
            value = 0.0 if read is None else float(flat_x[flat])
            terms.append(Term(read, (channel, *cell), (o, c, *tap), value, float(w[(o, c, *tap)])))
    return tuple(terms)
