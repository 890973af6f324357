"""The pooling spec in two stages (:class:`PoolArgs` -> :class:`PoolSpec`), and the window
geometries of adaptive pooling, unfold/fold and max-unpooling."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from ._args import (
    Pads,
    WindowSweep,
    _is_int,
    batched_shape,
    check_dtype,
    check_flag,
    check_nonempty,
    effective_kernel_size,
    ntuple,
    pool_out_size,
)


@dataclass(frozen=True)
class PoolSpec(WindowSweep):
    """Geometry and dtype of one N-d pooling window sweep, normalized and validated.

    ``padding`` is symmetric per dimension as in torch, stored as ``(before, after)``
    pairs; ``extra_end`` adds the cells that ``ceil_mode`` windows reach past the padded
    input (they are never counted in averages and never win a max). ``in_shape`` is
    batched; ``batched`` says whether the caller's input was.
    """

    in_shape: tuple[int, ...]  # (N, C, *spatial)
    kernel_size: tuple[int, ...]
    stride: tuple[int, ...]
    padding: Pads
    dilation: tuple[int, ...]
    ceil_mode: bool = False
    count_include_pad: bool = True
    divisor_override: int | None = None
    dtype: str = "float32"
    batched: bool = True

    @property
    def ndim(self) -> int:
        return len(self.kernel_size)

    @property
    def out_spatial(self) -> tuple[int, ...]:
        return tuple(pool_out_size(*sizes, self.ceil_mode) for sizes in self.per_dimension())

    @property
    def out_shape(self) -> tuple[int, ...]:
        return (*self.in_shape[:2], *self.out_spatial)

    @property
    def extra_end(self) -> tuple[int, ...]:
        """Cells past the padded input that the last window reaches (ceil_mode)."""
        return tuple(
            max((o - 1) * s + effective_kernel_size(k, d) - (i + lo + hi), 0)
            for o, (i, k, s, (lo, hi), d) in zip(self.out_spatial, self.per_dimension())
        )

    @property
    def window_padding(self) -> Pads:
        """Padding that makes every window lie inside the array: padding + extra_end."""
        return tuple((lo, hi + e) for (lo, hi), e in zip(self.padding, self.extra_end))


def pool_operand(op: str, x, n: int) -> tuple[tuple[int, ...], bool]:
    """A pooled input's dtype (floating), and its batched shape with whether it was batched."""
    check_dtype(op, "input", x.dtype)
    return batched_shape(op, x.shape, n)


@dataclass(frozen=True)
class PoolArgs:
    """The operand-independent arguments of a max or average pool, normalized.

    ``kernel_within_input``: also require every input size >= the kernel, padding aside, as
    torch's avg_pool3d (only) does.
    """

    op: str
    kernel_size: tuple[int, ...]
    stride: tuple[int, ...]
    padding: tuple[int, ...]
    dilation: tuple[int, ...]
    ceil_mode: bool = False
    count_include_pad: bool = True
    divisor_override: int | None = None
    kernel_within_input: bool = False

    @property
    def ndim(self) -> int:
        return len(self.kernel_size)

    @classmethod
    def parse(
        cls,
        op: str,
        ndim: int,
        *,
        kernel_size,
        stride=None,
        padding=0,
        dilation=1,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
        divisor_override: int | None = None,
        kernel_within_input: bool = False,
    ) -> PoolArgs:
        """Validate a pool's arguments; ``stride=None`` (or ``()``) is the kernel size.
        One-element tuples stand for every dimension, as torch's pools accept them."""
        n = ndim
        kernel = ntuple(kernel_size, n, "kernel_size", op, minimum=1, broadcast_single=True)
        if stride is None or (isinstance(stride, Sequence) and len(stride) == 0):
            stride = kernel
        stride = ntuple(stride, n, "stride", op, minimum=1, broadcast_single=True)
        padding = ntuple(padding, n, "padding", op, minimum=0, broadcast_single=True)
        dilation = ntuple(dilation, n, "dilation", op, minimum=1, broadcast_single=True)
        for dim, (k, p) in enumerate(zip(kernel, padding)):
            if p > k // 2:
                raise ValueError(
                    f"{op}: padding should be at most half of the kernel size, but got "
                    f"padding={p} for kernel_size={k} in spatial dimension {dim}"
                )
        if divisor_override is not None:
            if not _is_int(divisor_override):
                raise TypeError(
                    f"{op}: divisor_override must be an int or None, but got {divisor_override!r}"
                )
            if divisor_override == 0:
                raise ValueError(f"{op}: divisor_override must be non-zero, but got divisor_override=0")
            divisor_override = int(divisor_override)
        ceil_mode = check_flag(op, "ceil_mode", ceil_mode)
        count_include_pad = check_flag(op, "count_include_pad", count_include_pad)
        return cls(
            op,
            kernel,
            stride,
            padding,
            dilation,
            ceil_mode,
            count_include_pad,
            divisor_override,
            kernel_within_input,
        )

    def resolve(self, x, *, op: str | None = None) -> PoolSpec:
        """Check the arguments against the input (anything with ``shape`` and ``dtype``)."""
        op = op or self.op
        in_shape, batched = pool_operand(op, x, self.ndim)
        check_nonempty(op, in_shape)
        kernel = self.kernel_size
        if self.kernel_within_input and any(i < k for i, k in zip(in_shape[2:], kernel)):
            raise ValueError(
                f"{op}: input must be at least as large as the kernel in every spatial dimension "
                f"(padding aside), but got spatial size {in_shape[2:]} and kernel_size={kernel}"
            )
        spec = PoolSpec(
            in_shape=in_shape,
            kernel_size=kernel,
            stride=self.stride,
            padding=tuple((p, p) for p in self.padding),
            dilation=self.dilation,
            ceil_mode=self.ceil_mode,
            count_include_pad=self.count_include_pad,
            divisor_override=self.divisor_override,
            dtype=str(x.dtype),
            batched=batched,
        )
        for dim, (o, i) in enumerate(zip(spec.out_spatial, in_shape[2:])):
            if o < 1:
                raise ValueError(
                    f"{op}: output size is too small: spatial dimension {dim} of size {i} with "
                    f"kernel_size={kernel[dim]}, stride={self.stride[dim]}, padding={self.padding[dim]}, "
                    f"dilation={self.dilation[dim]} gives {o} outputs"
                )
        return spec


# --------------------------------------------------------------------------------------
# adaptive pooling
# --------------------------------------------------------------------------------------
def adaptive_output_size(op: str, output_size, spatial: Sequence[int]) -> tuple[int, ...]:
    """Normalize an adaptive pool's ``output_size``: an int or ``n`` entries, each an int >= 0.

    As in torch, an entry may be ``None`` ('keep the input size') in 2-D and 3-D but not in
    1-D, and ``output_size=None`` as a whole is refused.
    """
    n = len(spatial)
    if _is_int(output_size):
        output_size = (output_size,) * n
    if not isinstance(output_size, Sequence) or isinstance(output_size, str):
        raise TypeError(
            f"{op}: output_size must be an int or a tuple of {n} ints, "
            f"but got output_size={output_size!r} of type {type(output_size).__name__}"
        )
    if len(output_size) != n:
        raise ValueError(
            f"{op}: output_size must be an int or a tuple of {n} ints, but got output_size={output_size!r}"
        )
    result = []
    for o, i in zip(output_size, spatial):
        if o is None and n > 1:
            o = i
        if not _is_int(o):
            allowed = "ints or None" if n > 1 else "ints"
            raise TypeError(f"{op}: output_size must hold {allowed}, but got output_size={output_size!r}")
        if o < 0:
            raise ValueError(f"{op}: output_size must be non-negative, but got output_size={output_size!r}")
        result.append(int(o))
    return tuple(result)


def adaptive_bounds(in_size: int, out_size: int) -> list[tuple[int, int]]:
    """torch's adaptive windows: ``[floor(i*in/out), ceil((i+1)*in/out))``."""
    return [((i * in_size) // out_size, -(-((i + 1) * in_size) // out_size)) for i in range(out_size)]


# --------------------------------------------------------------------------------------
# unfold and fold
# --------------------------------------------------------------------------------------
def unfold_spec(
    op: str,
    in_shape: Sequence[int],
    n: int,
    *,
    kernel_size,
    dilation=1,
    padding=0,
    stride=1,
) -> PoolSpec:
    """Windows of ``unfold``/``fold``: a pooling geometry with no ceil mode.

    torch's unfold and fold take no one-element tuples: every tuple has ``n`` entries.
    """
    check_nonempty(op, tuple(in_shape))
    kernel = ntuple(kernel_size, n, "kernel_size", op, minimum=1)
    stride = ntuple(stride, n, "stride", op, minimum=1)
    dilation = ntuple(dilation, n, "dilation", op, minimum=1)
    padding_t = ntuple(padding, n, "padding", op, minimum=0)
    spec = PoolSpec(
        in_shape=tuple(in_shape),
        kernel_size=kernel,
        stride=stride,
        padding=tuple((p, p) for p in padding_t),
        dilation=dilation,
    )
    for dim, (o, i) in enumerate(zip(spec.out_spatial, in_shape[2:])):
        if o < 1:
            raise ValueError(
                f"{op}: the sliding blocks do not fit: spatial dimension {dim} of size {i} with "
                f"padding {padding_t[dim]} is smaller than the dilated kernel "
                f"{effective_kernel_size(kernel[dim], dilation[dim])}"
            )
    return spec


def fold_ndim(*sizes) -> int:
    """Spatial dimensions of unfold/fold: the length of the first tuple among ``sizes``,
    else 2 (torch's only case)."""
    for size in sizes:
        if isinstance(size, Sequence) and not isinstance(size, str):
            return len(size)
    return 2


def fold_spec(
    op: str,
    in_shape: Sequence[int],
    *,
    output_size,
    kernel_size,
    dilation=1,
    padding=0,
    stride=1,
) -> PoolSpec:
    """Validate ``fold`` of columns ``(N, C*prod(kernel), L)``; return the spec of the unfold
    whose adjoint it is (its ``in_shape`` is fold's output shape ``(N, C, *output_size)``)."""
    in_shape = tuple(in_shape)
    n = fold_ndim(output_size, kernel_size)
    size = ntuple(output_size, n, "output_size", op, minimum=1)
    kernel = ntuple(kernel_size, n, "kernel_size", op, minimum=1)
    if in_shape[1] < 1 or in_shape[2] < 1:
        raise ValueError(
            f"{op}: input must have non-zero sizes in dimensions 1 and 2 (only the batch may be "
            f"empty), but got input of shape {in_shape}"
        )
    taps = math.prod(kernel)
    if in_shape[1] % taps:
        raise ValueError(
            f"{op}: input.shape[1] must be divisible by the product of kernel_size, but got "
            f"input.shape[1]={in_shape[1]} and kernel_size={kernel}"
        )
    spec = unfold_spec(
        op,
        (in_shape[0], in_shape[1] // taps, *size),
        n,
        kernel_size=kernel,
        dilation=dilation,
        padding=padding,
        stride=stride,
    )
    blocks = math.prod(spec.out_spatial)
    if in_shape[2] != blocks:
        raise ValueError(
            f"{op}: input.shape[2] must equal the number of sliding blocks "
            f"{' * '.join(map(str, spec.out_spatial))} = {blocks} for output_size={size}, "
            f"kernel_size={kernel}, dilation={spec.dilation}, padding={spec.padding}, "
            f"stride={spec.stride}, but got input.shape[2]={in_shape[2]}"
        )
    return spec


# --------------------------------------------------------------------------------------
# max-unpooling
# --------------------------------------------------------------------------------------
def _unpool_size(op: str, output_size, default, stride, n: int) -> tuple[int, ...]:
    if output_size is None:
        return default
    if not isinstance(output_size, Sequence) or not all(_is_int(v) for v in output_size):
        raise TypeError(
            f"{op}: output_size must be a sequence of {n} or {n + 2} ints, but got output_size={output_size!r}"
        )
    size = tuple(int(v) for v in output_size)
    if len(size) == n + 2:
        size = size[2:]
    if len(size) != n:
        raise ValueError(
            f"{op}: output_size must have {n} or {n + 2} elements, but got output_size={output_size!r}"
        )
    for dim, (want, d, s) in enumerate(zip(size, default, stride)):
        if not d - s < want < d + s:
            raise ValueError(
                f"{op}: output_size must lie strictly between {d - s} and {d + s} in spatial "
                f"dimension {dim}, but got output_size={output_size!r}"
            )
    return size


def unpool_output_size(
    op: str,
    in_shape: Sequence[int],
    indices_shape: Sequence[int],
    n: int,
    *,
    kernel_size,
    stride=None,
    padding=0,
    output_size=None,
) -> tuple[int, ...]:
    """Validate a ``max_unpool`` call and return its output's spatial size.

    The default is the input size of the max pooling it inverts,
    ``(in - 1)*stride - 2*padding + kernel``; ``output_size`` (``n`` or ``n + 2`` entries) may
    pick any size strictly within ``stride`` of it, as torch. Stricter than torch: kernel and
    stride must be positive and padding non-negative. No one-element tuples (torch fails on
    them).
    """
    in_shape = tuple(in_shape)
    if tuple(indices_shape) != in_shape:
        raise ValueError(
            f"{op}: indices must have the shape of the input {in_shape}, "
            f"but got indices of shape {tuple(indices_shape)}"
        )
    kernel = ntuple(kernel_size, n, "kernel_size", op, minimum=1)
    if stride is None or (isinstance(stride, Sequence) and len(stride) == 0):
        stride = kernel
    stride = ntuple(stride, n, "stride", op, minimum=1)
    pads = ntuple(padding, n, "padding", op, minimum=0)
    default = tuple((i - 1) * s - 2 * p + k for i, k, s, p in zip(in_shape[2:], kernel, stride, pads))
    size = _unpool_size(op, output_size, default, stride, n)
    if any(o < 1 for o in size):
        raise ValueError(
            f"{op}: the output would be empty: output size {size} for kernel_size={kernel}, "
            f"stride={stride}, padding={pads} and input spatial size {in_shape[2:]}"
        )
    return size


def check_unpool_indices(op: str, smallest: int, largest: int, out_spatial: Sequence[int]) -> None:
    """Every index must address a cell of one output plane ``prod(out_spatial)``."""
    plane = math.prod(out_spatial)
    if smallest < 0 or largest >= plane:
        bad = smallest if smallest < 0 else largest
        raise ValueError(
            f"{op}: indices must lie in [0, {plane}) for an output of spatial size "
            f"{tuple(out_spatial)}, but got an index {bad}"
        )
