"""The convolution spec in two stages, and the specs of its two gradients.

1. :meth:`ConvArgs.parse` normalizes the arguments that do not depend on the operands
   (stride, padding, dilation, groups, padding_mode, output_padding) once: a module keeps
   the result, a function call makes it on the spot.
2. :meth:`ConvArgs.resolve` checks them against the operands (anything with ``shape`` and
   ``dtype``: Tensors, ndarrays, dask arrays, :class:`~convforge.spec.Operand`) and returns
   the frozen :class:`ConvSpec` a kernel runs: shapes, explicit pads, dtype, batching.

The only place a convolution call can fail is one of these two; a kernel never sees an
invalid spec. As in JAX's ``conv_general_dilated``, the shape rule lives apart from the
array work, and the gradients are convolutions again (:func:`grad_input_spec`,
:func:`grad_weight_spec`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

from ._args import (
    PAD_MODES,
    PADDING_MODES,
    Pads,
    WindowSweep,
    _is_int,
    batched_shape,
    check_operand_dtypes,
    check_pad_fits,
    conv_out_size,
    conv_transpose_out_size,
    effective_kernel_size,
    ntuple,
    positive_int,
    resolve_padding,
    same_pads,
)


@dataclass(frozen=True)
class ConvSpec(WindowSweep):
    """Geometry and dtype of one N-d convolution, normalized and validated.

    ``padding`` holds explicit ``(before, after)`` pairs, one per spatial dimension; for a
    ``padding_mode`` other than ``'zeros'`` the caller pads with that mode first and hands
    the kernel :meth:`zero_padded`. For a transposed convolution the spec describes the
    *forward* convolution whose input gradient it is (so ``in_shape`` is the transposed
    op's output and ``out_shape`` its input). ``in_shape`` is always batched; ``batched``
    says whether the caller's input was (False: the caller adds and removes the batch of 1).
    ``dtype`` is the operands' dtype name (what the caller gets back; the backend's dtype
    policy says what it is computed in).
    """

    in_shape: tuple[int, ...]  # (N, C_in, *spatial) of the convolution's input
    weight_shape: tuple[int, ...]  # (C_out, C_in/groups, *kernel)
    stride: tuple[int, ...]
    padding: Pads
    dilation: tuple[int, ...]
    groups: int = 1
    padding_mode: str = "zeros"
    dtype: str = "float32"
    batched: bool = True

    @property
    def ndim(self) -> int:
        return len(self.stride)

    @property
    def kernel_size(self) -> tuple[int, ...]:
        return tuple(self.weight_shape[2:])

    @property
    def in_channels(self) -> int:
        return self.in_shape[1]

    @property
    def out_channels(self) -> int:
        return self.weight_shape[0]

    @property
    def padded_in_spatial(self) -> tuple[int, ...]:
        return tuple(i + lo + hi for i, (lo, hi) in zip(self.in_shape[2:], self.padding))

    @property
    def out_spatial(self) -> tuple[int, ...]:
        return tuple(conv_out_size(*sizes) for sizes in self.per_dimension())

    @property
    def out_shape(self) -> tuple[int, ...]:
        return (self.in_shape[0], self.out_channels, *self.out_spatial)

    def with_dtype(self, dtype) -> ConvSpec:
        return replace(self, dtype=str(dtype))

    def zero_padded(self) -> ConvSpec:
        """The spec to run after the input was padded with ``padding_mode``."""
        if self.padding_mode == "zeros":
            return self
        return replace(
            self,
            in_shape=(*self.in_shape[:2], *self.padded_in_spatial),
            padding=((0, 0),) * self.ndim,
            padding_mode="zeros",
        )

    @property
    def pad_mode(self) -> str:
        """``padding_mode`` in ``F.pad``'s words ('zeros' -> 'constant')."""
        return PAD_MODES[PADDING_MODES.index(self.padding_mode)]

    @property
    def macs(self) -> int:
        """Multiply-accumulates of the forward pass."""
        return math.prod(self.out_shape) * (self.in_channels // self.groups) * math.prod(self.kernel_size)


# --------------------------------------------------------------------------------------
# stage 1: the arguments
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ConvArgs:
    """The operand-independent arguments of a (transposed) convolution, normalized.

    ``padding`` is ``'same'``/``'valid'`` or explicit ``(before, after)`` pairs; it is
    resolved against the input size by :meth:`resolve`.
    """

    op: str
    ndim: int
    stride: tuple[int, ...]
    padding: Pads | str
    dilation: tuple[int, ...]
    groups: int = 1
    padding_mode: str = "zeros"
    transposed: bool = False
    output_padding: tuple[int, ...] = ()

    @classmethod
    def parse(
        cls,
        op: str,
        ndim: int,
        *,
        stride=1,
        padding=0,
        dilation=1,
        groups=1,
        padding_mode: str = "zeros",
        transposed: bool = False,
        output_padding=0,
    ) -> ConvArgs:
        """Validate the arguments of ``op``; one-element tuples stand for every dimension,
        as torch's convolutions accept them."""
        n = ndim
        stride = ntuple(stride, n, "stride", op, minimum=1, broadcast_single=True)
        groups = positive_int(op, "groups", groups)
        dilation = ntuple(dilation, n, "dilation", op, minimum=1, broadcast_single=True)
        if transposed and isinstance(padding, str):
            raise ValueError(
                f"{op}: padding must be an int or a tuple for a transposed convolution, "
                f"but got padding={padding!r}"
            )
        pads = resolve_padding(padding, n, op)
        if not isinstance(padding_mode, str) or padding_mode not in PADDING_MODES:
            raise ValueError(
                f"{op}: padding_mode must be one of {', '.join(map(repr, PADDING_MODES))}, "
                f"but got padding_mode={padding_mode!r}"
            )
        if transposed and padding_mode != "zeros":
            raise ValueError(
                f"{op}: only padding_mode='zeros' is supported, but got padding_mode={padding_mode!r}"
            )
        extra = ntuple(output_padding, n, "output_padding", op, minimum=0, broadcast_single=True)
        return cls(
            op,
            n,
            stride,
            pads,
            dilation,
            int(groups),
            padding_mode,
            bool(transposed),
            extra,
        )

    def resolve(self, x, w, b=None, *, op: str | None = None, output_size=None) -> ConvSpec:
        """Check the arguments against the operands; the spec of the (matching) convolution.

        ``x``, ``w``, ``b``: anything with ``shape`` and ``dtype``. ``op`` names the call in
        errors (default: the one given to :meth:`parse`; a module parses under its own name
        and resolves under its function's). ``output_size`` (transposed only) picks the output
        size instead of ``output_padding``.
        """
        op = op or self.op
        in_shape, batched = _operand_layout(op, x, w, b, self.ndim)
        weight_shape = tuple(w.shape)
        _check_conv_shapes(op, in_shape, weight_shape, self.groups, self.ndim, self.transposed)
        out_channels = weight_shape[1] * self.groups if self.transposed else weight_shape[0]
        if b is not None and tuple(b.shape) != (out_channels,):
            raise ValueError(
                f"{op}: bias must have shape ({out_channels},) (one value per output channel), "
                f"but got bias of shape {tuple(b.shape)}"
            )
        if self.transposed:
            spec = _transposed_spec(self, op, in_shape, weight_shape, output_size)
        else:
            if output_size is not None:
                raise ValueError(f"{op}: output_size applies to transposed convolutions only")
            spec = _forward_spec(self, op, in_shape, weight_shape)
        return replace(spec, dtype=str(x.dtype), batched=batched)


def _operand_layout(op: str, x, w, b, n: int) -> tuple[tuple[int, ...], bool]:
    """Dtypes of the operands, and the batched input shape with whether it was batched."""
    check_operand_dtypes(op, x, w, b)
    return batched_shape(op, x.shape, n)


def _check_conv_shapes(op, in_shape, weight_shape, groups, n, transposed) -> None:
    if len(weight_shape) != n + 2:
        layout = "(C_in, C_out/groups, *kernel)" if transposed else "(C_out, C_in/groups, *kernel)"
        raise ValueError(
            f"{op}: weight must be {n + 2}-D {layout}, but got weight of shape {tuple(weight_shape)}"
        )
    c_in = in_shape[1]
    if transposed and weight_shape[0] != c_in:
        raise ValueError(
            f"{op}: input has {c_in} channels but weight expects {weight_shape[0]} "
            f"(weight.shape[0] must equal in_channels)"
        )
    if c_in % groups:
        raise ValueError(f"{op}: groups must divide in_channels, but got groups={groups}, in_channels={c_in}")
    if not transposed:
        if weight_shape[0] % groups:
            raise ValueError(
                f"{op}: groups must divide out_channels, but got groups={groups}, "
                f"out_channels={weight_shape[0]}"
            )
        if weight_shape[1] * groups != c_in:
            raise ValueError(
                f"{op}: input has {c_in} channels but weight expects "
                f"{weight_shape[1] * groups} (weight.shape[1]={weight_shape[1]}, groups={groups})"
            )
    if any(k < 1 for k in weight_shape[2:]) or weight_shape[0] < 1 or weight_shape[1] < 1:
        raise ValueError(f"{op}: weight must not be empty, but got weight of shape {tuple(weight_shape)}")


# --------------------------------------------------------------------------------------
# stage 2: the shape rules
# --------------------------------------------------------------------------------------
def _forward_spec(args: ConvArgs, op: str, in_shape, weight_shape) -> ConvSpec:
    n, spatial, kernel = args.ndim, in_shape[2:], weight_shape[2:]
    pads = args.padding
    if pads == "valid":
        pads = ((0, 0),) * n
    elif pads == "same":
        pads = tuple(same_pads(i, k, s, d) for i, k, s, d in zip(spatial, kernel, args.stride, args.dilation))
    check_pad_fits(op, PAD_MODES[PADDING_MODES.index(args.padding_mode)], pads, spatial)
    for dim, (i, k, p, d) in enumerate(zip(spatial, kernel, pads, args.dilation)):
        if i + p[0] + p[1] < effective_kernel_size(k, d):
            raise ValueError(
                f"{op}: kernel size can't be greater than the padded input size: spatial "
                f"dimension {dim} has padded size {i + p[0] + p[1]} (input {i}, padding {p}) "
                f"but the dilated kernel spans {effective_kernel_size(k, d)} "
                f"(kernel {k}, dilation {d})"
            )
    return ConvSpec(
        in_shape=in_shape,
        weight_shape=weight_shape,
        stride=args.stride,
        padding=pads,
        dilation=args.dilation,
        groups=args.groups,
        padding_mode=args.padding_mode,
    )


def _transposed_spec(args: ConvArgs, op: str, in_shape, weight_shape, output_size) -> ConvSpec:
    """``padding`` means what it means in torch: the forward convolution's padding, which the
    transposed op crops from its full output. ``output_padding`` (or ``output_size``) adds
    rows/columns at the end to pick among the input sizes a strided convolution maps to
    the same output size."""
    stride, dilation, pads = args.stride, args.dilation, args.padding
    kernel, spatial = weight_shape[2:], in_shape[2:]
    output_padding = args.output_padding
    if output_size is not None:
        output_padding = _output_padding_from_size(op, output_size, spatial, kernel, stride, pads, dilation)
    for dim, (extra, s, d) in enumerate(zip(output_padding, stride, dilation)):
        if output_size is None and extra >= s and extra >= d:
            raise ValueError(
                f"{op}: output_padding must be smaller than either stride or dilation, but got "
                f"output_padding={extra}, stride={s}, dilation={d} in spatial dimension {dim}"
            )
    out_spatial = tuple(
        conv_transpose_out_size(i, k, s, p, d, o)
        for i, k, s, p, d, o in zip(spatial, kernel, stride, pads, dilation, output_padding)
    )
    if any(o < 1 for o in out_spatial):
        padding = tuple(lo for lo, _ in pads) if all(lo == hi for lo, hi in pads) else pads
        shown = padding[0] if len(set(padding)) == 1 else padding
        raise ValueError(
            f"{op}: padding must not crop the whole output, but got padding={shown!r} "
            f"(the output size would be {out_spatial})"
        )
    # When output_padding >= stride (allowed while it is < dilation) the matching
    # convolution produces more outputs than the transposed op has inputs; the autograd
    # op pads its input with zeros up to spec.out_spatial (those positions add nothing).
    return ConvSpec(
        in_shape=(in_shape[0], weight_shape[1] * args.groups, *out_spatial),
        weight_shape=(weight_shape[0], weight_shape[1], *kernel),
        stride=stride,
        padding=pads,
        dilation=dilation,
        groups=args.groups,
    )


def _output_padding_from_size(op, output_size, spatial, kernel, stride, pads, dilation):
    n = len(spatial)
    if not isinstance(output_size, Sequence) or not all(_is_int(v) for v in output_size):
        raise TypeError(f"{op}: output_size must be a sequence of ints, but got output_size={output_size!r}")
    size = tuple(int(v) for v in output_size)
    if len(size) == n + 2:
        size = size[2:]
    elif len(size) == n + 1:
        size = size[1:]
    if len(size) != n:
        raise ValueError(
            f"{op}: output_size must have {n} (or {n + 2}) elements, but got output_size={output_size!r}"
        )
    result = []
    for dim, (want, i, k, s, p, d) in enumerate(zip(size, spatial, kernel, stride, pads, dilation)):
        smallest = conv_transpose_out_size(i, k, s, p, d, 0)
        largest = smallest + s - 1
        if not smallest <= want <= largest:
            raise ValueError(
                f"{op}: output_size must lie between {smallest} and {largest} in spatial "
                f"dimension {dim} (for an input of {tuple(spatial)}), but got output_size={output_size!r}"
            )
        result.append(want - smallest)
    return tuple(result)


# --------------------------------------------------------------------------------------
# the gradients as convolutions
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class GradSpec:
    """A gradient of a convolution, written as another convolution (JAX's transpose rules).

    Run it as: insert ``input_dilation - 1`` zeros between the elements of its input along
    every spatial axis, pad by ``pads`` (a negative pad crops), then convolve with ``spec``
    (zero padding, so ``spec.padding`` is all zeros). ``spec.in_shape`` is the shape after
    dilation and padding.
    """

    spec: ConvSpec
    input_dilation: tuple[int, ...]
    pads: tuple[tuple[int, int], ...]


def grad_input_spec(spec: ConvSpec) -> GradSpec:
    """The input gradient of ``spec`` as a stride-1 convolution of the output gradient.

    Derivation, per spatial dimension (``k`` taps, stride ``s``, dilation ``d``, padding
    ``(lo, hi)``): ``y[o] = sum_t w[t] x[o*s + t*d - lo]``, so
    ``gx[i] = sum_{o, t: o*s + t*d - lo = i} gy[o] w[t]``. With ``gy_s`` the output gradient
    with ``s - 1`` zeros between its elements (``gy_s[o*s] = gy[o]``) and the kernel flipped
    (``t -> k-1-t``), ``gx[i] = sum_t w_flip[t] gy_s[i + t*d - (d*(k-1) - lo)]``: a
    convolution with dilation ``d``, stride 1 and padding before ``d*(k-1) - lo``; the
    padding after, ``in - 1 + lo - (out-1)*s``, makes ``in`` outputs. The weight is the
    flipped kernel with in and out channels swapped within each group:
    ``(C_in, C_out/groups, *k)``.
    """
    n, spatial, kernel = spec.ndim, spec.in_shape[2:], spec.kernel_size
    out = spec.out_spatial
    pads = tuple(
        (d * (k - 1) - lo, i - 1 + lo - (o - 1) * s)
        for i, o, k, s, d, (lo, _) in zip(spatial, out, kernel, spec.stride, spec.dilation, spec.padding)
    )
    dilated = tuple((o - 1) * s + 1 for o, s in zip(out, spec.stride))
    c_in, c_out, g = spec.in_channels, spec.out_channels, spec.groups
    conv = ConvSpec(
        in_shape=(
            spec.in_shape[0],
            c_out,
            *(L + lo + hi for L, (lo, hi) in zip(dilated, pads)),
        ),
        weight_shape=(c_in, c_out // g, *kernel),
        stride=(1,) * n,
        padding=((0, 0),) * n,
        dilation=spec.dilation,
        groups=g,
        dtype=spec.dtype,
    )
    return GradSpec(conv, spec.stride, pads)


def grad_weight_spec(spec: ConvSpec) -> GradSpec:
    """The weight gradient of ``spec`` as a convolution of the input by the output gradient.

    Derivation, per spatial dimension: ``gw[t] = sum_{n, o} gy[n, o] x_pad[n, o*s + t*d]``, a
    convolution over ``t`` of the padded input with the output gradient as its kernel:
    stride ``d`` (the forward dilation), dilation ``s`` (the forward stride), the batch as the
    summed channel axis. The input is cropped at the end to ``s*(out-1) + d*(k-1) + 1`` cells
    so exactly ``k`` taps come out. Layout: the input as ``(C_in/groups, groups*N, *spatial)``
    (group-major channels), the kernel as ``(C_out, N, *out)``, ``groups`` groups; the result
    ``(C_in/groups, C_out, *k)`` is the weight gradient with its first two axes swapped.
    """
    n, spatial, kernel, out = (
        spec.ndim,
        spec.in_shape[2:],
        spec.kernel_size,
        spec.out_spatial,
    )
    pads = tuple(
        (lo, s * (o - 1) + d * (k - 1) + 1 - i - lo)
        for i, o, k, s, d, (lo, _) in zip(spatial, out, kernel, spec.stride, spec.dilation, spec.padding)
    )
    batch, g = spec.in_shape[0], spec.groups
    conv = ConvSpec(
        in_shape=(
            spec.in_channels // g,
            g * batch,
            *(i + lo + hi for i, (lo, hi) in zip(spatial, pads)),
        ),
        weight_shape=(spec.out_channels, batch, *out),
        stride=spec.dilation,
        padding=((0, 0),) * n,
        dilation=spec.stride,
        groups=g,
        dtype=spec.dtype,
    )
    return GradSpec(conv, (1,) * n, pads)
