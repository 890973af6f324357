"""Output shapes with the formula that produced them, numbers substituted.

Every number comes from ``spec.py`` (the same functions the operations use), so the
calculator can never disagree with the library; an impossible configuration raises the
spec's own ``ValueError`` saying what is wrong.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from .. import spec as sp

__all__ = ["ShapeReport", "conv_output_shape", "pool_output_shape", "transposed_as_conv"]

_DIM_NAMES = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}


@dataclass(frozen=True)
class ShapeReport:
    """The output shape of one layer and how it was computed (``str()`` prints both)."""

    op: str
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    formula: str
    lines: tuple[str, ...]
    notes: tuple[str, ...] = ()

    def __str__(self) -> str:
        head = f"{self.op}: input {self.input_shape} -> output {self.output_shape}"
        return "\n".join([head, f"  {self.formula}", *(f"  {line}" for line in self.lines), *self.notes])


def _split(op: str, input_shape: Sequence[int]) -> tuple[tuple[int, ...], int]:
    shape = tuple(input_shape)
    if not all(sp._is_int(v) for v in shape):
        raise TypeError(f"{op}: input_shape must be a sequence of ints, but got input_shape={input_shape!r}")
    if not 3 <= len(shape) <= 5:
        raise ValueError(
            f"{op}: input_shape must be (N, C, *spatial) with 1 to 3 spatial dimensions, "
            f"but got input_shape={shape}"
        )
    if any(v < 1 for v in shape[1:]):
        raise ValueError(f"{op}: input sizes must be positive, but got input_shape={shape}")
    return tuple(int(v) for v in shape), len(shape) - 2


def transposed_as_conv(spec: sp.ConvSpec, in_spatial: Sequence[int]) -> tuple[tuple[int, int, int], ...]:
    """A transposed convolution as a stride-1 convolution, per spatial dimension.

    ``spec`` is the transposed convolution's spec (the convolution whose input gradient it
    is), ``in_spatial`` its input size. Returns ``(zeros, before, after)`` per dimension:
    insert ``s - 1`` zeros between the input cells, pad ``before`` and ``after`` cells
    (``d*(k-1) - pad`` each, plus ``output_padding`` after; negative means crop), then
    convolve at stride 1 (dilation ``d``) with the flipped kernel. The padding comes from
    :func:`convforge.spec.grad_input_spec`, where it is derived.
    """
    grad = sp.grad_input_spec(spec)
    return tuple(
        # the spec's own input is zero-filled up to its out_spatial: those cells pad after
        (s - 1, before, after + (o - i) * s)
        for (before, after), s, o, i in zip(grad.pads, spec.stride, spec.out_spatial, in_spatial)
    )


def _names(n: int) -> tuple[str, ...]:
    return _DIM_NAMES[n]


def _same_note(in_shape, spec: sp.ConvSpec) -> str:
    parts = []
    for name, i, s, (lo, hi) in zip(_names(spec.ndim), in_shape[2:], spec.stride, spec.padding):
        parts.append(f"{name}: ceil({i} / {s}) = {-(-i // s)} -> pads {lo} before, {hi} after")
    return "  padding 'same': out = ceil(in / stride), the odd extra pad at the end; " + "; ".join(parts)


def conv_output_shape(
    input_shape: Sequence[int],
    kernel_size,
    out_channels: int | None = None,
    stride=1,
    padding=0,
    dilation=1,
    groups: int = 1,
    transposed: bool = False,
    output_padding=0,
) -> ShapeReport:
    """Output shape of a (transposed) convolution over ``input_shape`` = (N, C, *spatial).

    ``out_channels`` defaults to the input's channels. Padding may be an int, per-dimension
    ints, ``(before, after)`` pairs, ``'same'`` or ``'valid'`` (convolution only), as in
    ``conv2d``. Raises the ``ValueError``/``TypeError`` the operation itself would raise.

    Examples
    --------
    >>> print(conv_output_shape((1, 3, 32, 32), 3, 16, stride=2, padding=1).output_shape)
    (1, 16, 16, 16)
    """
    in_shape, n = _split("conv_transpose" if transposed else "conv", input_shape)
    op = f"conv_transpose{n}d" if transposed else f"conv{n}d"
    c_in = in_shape[1]
    c_out = c_in if out_channels is None else out_channels
    if not sp._is_int(c_out) or c_out < 1:
        raise ValueError(f"{op}: out_channels must be a positive int, but got out_channels={out_channels!r}")
    kernel = sp.ntuple(kernel_size, n, "kernel_size", op, minimum=1)
    groups = sp.positive_int(op, "groups", groups)
    if transposed:
        if c_out % groups:
            raise ValueError(
                f"{op}: groups must divide out_channels, but got groups={groups}, out_channels={c_out}"
            )
        weight = (c_in, c_out // groups, *kernel)
        sizes = {"stride": stride, "padding": padding, "dilation": dilation, "output_padding": output_padding}
        args = sp.ConvArgs.parse(op, n, groups=groups, transposed=True, **sizes)
        spec = args.resolve(sp.Operand(in_shape), sp.Operand(weight))
        return _transposed_report(op, in_shape, spec, c_out)
    weight = (c_out, max(c_in // groups, 1), *kernel)
    args = sp.ConvArgs.parse(op, n, stride=stride, padding=padding, dilation=dilation, groups=groups)
    spec = args.resolve(sp.Operand(in_shape), sp.Operand(weight))
    return _conv_report(op, in_shape, spec, padding)


def _conv_report(op: str, in_shape, spec: sp.ConvSpec, padding) -> ShapeReport:
    lines = []
    for name, (i, k, s, (lo, hi), d), o in zip(_names(spec.ndim), spec.per_dimension(), spec.out_spatial):
        span = i + lo + hi - sp.effective_kernel_size(k, d)
        lines.append(
            f"{name}_out = floor(({i} + {lo} + {hi} - {d}·({k}-1) - 1) / {s}) + 1 "
            f"= floor({span} / {s}) + 1 = {o}"
        )
    notes = []
    if padding == "same":
        notes.append(_same_note(in_shape, spec))
    macs = spec.with_batch(1).macs
    notes.append(
        f"  weight {spec.weight_shape}: {math.prod(spec.weight_shape):,} parameters (+ bias), "
        f"{macs:,} multiply-adds per sample"
    )
    formula = "out = floor((in + pad_before + pad_after - dilation·(kernel-1) - 1) / stride) + 1"
    return ShapeReport(op, in_shape, spec.out_shape, formula, tuple(lines), tuple(notes))


def _transposed_report(op: str, in_shape, spec: sp.ConvSpec, c_out: int) -> ShapeReport:
    # spec describes the convolution whose input gradient this is: its input is our output
    out_spatial = spec.in_shape[2:]
    lines, equivalent = [], []
    steps = transposed_as_conv(spec, in_shape[2:])
    for name, i, k, s, pads, d, o, (zeros, before, after) in zip(
        _names(spec.ndim),
        in_shape[2:],
        spec.kernel_size,
        spec.stride,
        spec.padding,
        spec.dilation,
        out_spatial,
        steps,
    ):
        extra = o - sp.conv_transpose_out_size(i, k, s, pads, d, 0)  # output_padding
        lines.append(f"{name}_out = ({i} - 1)·{s} - {pads[0]} - {pads[1]} + {d}·({k}-1) + {extra} + 1 = {o}")
        equivalent.append(f"{name}: {zeros} between cells, pad {before} before / {after} after")
    formula = "out = (in - 1)·stride - pad_before - pad_after + dilation·(kernel-1) + output_padding + 1"
    weight = (in_shape[1], c_out // spec.groups, *spec.kernel_size)
    macs = math.prod(in_shape[1:]) * (c_out // spec.groups) * math.prod(spec.kernel_size)
    notes = (
        "  as a stride-1 convolution with the flipped kernel: insert stride-1 zeros between input "
        "cells, pad dilation·(kernel-1) - padding (+ output_padding after); " + "; ".join(equivalent),
        f"  weight {weight}: {math.prod(weight):,} parameters (+ bias), {macs:,} multiply-adds per sample",
    )
    return ShapeReport(op, in_shape, (in_shape[0], c_out, *out_spatial), formula, tuple(lines), notes)


def pool_output_shape(
    input_shape: Sequence[int],
    kernel_size,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode: bool = False,
    kind: str = "max",
) -> ShapeReport:
    """Output shape of max or average pooling over ``input_shape`` = (N, C, *spatial).

    ``stride`` defaults to ``kernel_size``; ``ceil_mode`` rounds up, dropping a last
    window that would start in the right padding (torch's rule).
    """
    if kind not in ("max", "avg"):
        raise ValueError(f"pool: kind must be 'max' or 'avg', but got kind={kind!r}")
    in_shape, n = _split(f"{kind}_pool", input_shape)
    op = f"{kind}_pool{n}d"
    if kind == "avg" and dilation not in (1, (1,) * n):
        raise ValueError(f"{op}: average pooling has no dilation, but got dilation={dilation!r}")
    args = sp.PoolArgs.parse(
        op, n, kernel_size=kernel_size, stride=stride, padding=padding, dilation=dilation, ceil_mode=ceil_mode
    )
    spec = args.resolve(sp.Operand(in_shape))
    rounding = "ceil" if ceil_mode else "floor"
    lines = []
    notes = []
    for name, (i, k, s, (lo, hi), d), o in zip(_names(n), spec.per_dimension(), spec.out_spatial):
        span = i + lo + hi - sp.effective_kernel_size(k, d)
        rounded = -(-span // s) if ceil_mode else span // s
        text = f"{name}_out = {rounding}(({i} + {lo} + {hi} - {d}·({k}-1) - 1) / {s}) + 1 = {rounding}({span} / {s}) + 1"
        if rounded + 1 != o:
            text += f" = {rounded + 1}, less 1 = {o}"
            notes.append(
                f"  {name}: the last window would start in the right padding (at {rounded * s} >= "
                f"{i} + {lo}), so it is dropped"
            )
        else:
            text += f" = {o}"
        lines.append(text)
    formula = f"out = {rounding}((in + 2·padding - dilation·(kernel-1) - 1) / stride) + 1"
    return ShapeReport(op, in_shape, spec.out_shape, formula, tuple(lines), tuple(notes))
