"""Argument normalization, output shapes and every validation error.

A user call such as ``conv2d(x, w, stride=2, padding='same')`` is turned into one frozen
:class:`ConvSpec` (or :class:`PoolSpec`) here, before any array work. Kernels receive only
valid specs with padding already resolved to explicit ``(before, after)`` pairs per spatial
dimension, so they never re-check arguments.

Pure Python: this module imports no array library.

Output-size rules (per spatial dimension, ``k_eff = d*(k-1) + 1`` the dilated kernel extent):

* convolution:            ``out = floor((in + pad_lo + pad_hi - k_eff) / s) + 1``
* transposed convolution: ``out = (in - 1)*s - pad_lo - pad_hi + k_eff + output_padding``
* pooling:                as convolution, with ``ceil`` instead of ``floor`` when
  ``ceil_mode``, minus one if the last window would start in the right padding.

Error grammar: ``"<op>: <argument> <what is wrong>, but got <argument>=<value>"``;
``TypeError`` for a wrong type, ``ValueError`` for a wrong value.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass, replace

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")
PAD_MODES = ("constant", "reflect", "replicate", "circular")
FLOAT_DTYPES = ("float16", "float32", "float64")

Pads = tuple[tuple[int, int], ...]


# --------------------------------------------------------------------------------------
# small argument helpers
# --------------------------------------------------------------------------------------
def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def ntuple(value, n: int, name: str, op: str, *, minimum: int | None = None) -> tuple[int, ...]:
    """Normalize an int or a length-``n`` sequence of ints to an ``n``-tuple.

    Unlike torch's ``_ntuple`` the length is checked, and so is ``minimum``.
    """
    if _is_int(value):
        values = (int(value),) * n
    elif isinstance(value, Sequence) and not isinstance(value, str):
        if len(value) != n or not all(_is_int(v) for v in value):
            raise ValueError(f"{op}: {name} must be an int or a tuple of {n} ints, but got {name}={value!r}")
        values = tuple(int(v) for v in value)
    else:
        raise TypeError(
            f"{op}: {name} must be an int or a tuple of {n} ints, "
            f"but got {name}={value!r} of type {type(value).__name__}"
        )
    if minimum is not None and any(v < minimum for v in values):
        what = "positive" if minimum == 1 else f"at least {minimum}"
        raise ValueError(f"{op}: {name} must be {what}, but got {name}={value!r}")
    return values


def check_nonnegative_pads(pads: Pads, name: str, value, op: str) -> None:
    if any(lo < 0 or hi < 0 for lo, hi in pads):
        raise ValueError(f"{op}: {name} must be non-negative, but got {name}={value!r}")


def pad_pairs_from_torch_order(pad: Sequence[int], n: int) -> Pads:
    """``(last_lo, last_hi, prev_lo, prev_hi, ...)`` as in ``F.pad`` -> per-dim pairs.

    The result has ``n`` pairs in spatial order (first spatial dimension first); missing
    leading dimensions get ``(0, 0)``.
    """
    pairs = [(int(pad[i]), int(pad[i + 1])) for i in range(0, len(pad), 2)]
    pairs.reverse()  # F.pad lists the last dimension first
    return ((0, 0),) * (n - len(pairs)) + tuple(pairs)


def pads_to_torch_order(pads: Pads) -> tuple[int, ...]:
    """Inverse of :func:`pad_pairs_from_torch_order` (for ``n`` pairs)."""
    flat: list[int] = []
    for lo, hi in reversed(pads):
        flat += [lo, hi]
    return tuple(flat)


def same_pads(in_size: int, k: int, s: int, d: int) -> tuple[int, int]:
    """Padding for ``'same'``: ``out = ceil(in / s)``, the odd extra pad at the end.

    At stride 1 this is torch's rule (total ``d*(k-1)``, split with the extra on the
    right); at stride > 1 it is TensorFlow's SAME.
    """
    out = -(-in_size // s)
    total = max((out - 1) * s + d * (k - 1) + 1 - in_size, 0)
    return total // 2, total - total // 2


def effective_kernel_size(k: int, d: int) -> int:
    """Extent of a dilated kernel: ``k + (k-1)(d-1)``."""
    return k + (k - 1) * (d - 1)


def conv_out_size(in_size: int, k: int, s: int, pad: tuple[int, int], d: int) -> int:
    return (in_size + pad[0] + pad[1] - effective_kernel_size(k, d)) // s + 1


def conv_transpose_out_size(
    in_size: int, k: int, s: int, pad: tuple[int, int], d: int, output_padding: int
) -> int:
    return (in_size - 1) * s - pad[0] - pad[1] + effective_kernel_size(k, d) + output_padding


def pool_out_size(in_size: int, k: int, s: int, pad: tuple[int, int], d: int, ceil_mode: bool) -> int:
    span = in_size + pad[0] + pad[1] - effective_kernel_size(k, d)
    out = (-(-span // s) if ceil_mode else span // s) + 1
    # torch: the last window must start inside the input or the left padding
    if ceil_mode and (out - 1) * s >= in_size + pad[0]:
        out -= 1
    return out


def _resolve_padding(padding, n: int, op: str) -> Pads | str:
    """int | n ints | 2n ints (F.pad order) | n (lo, hi) pairs | 'same' | 'valid'."""
    if isinstance(padding, str):
        if padding not in ("same", "valid"):
            raise ValueError(
                f"{op}: padding must be 'same', 'valid', an int or a tuple, but got padding={padding!r}"
            )
        return padding
    if _is_int(padding):
        pads = ((int(padding), int(padding)),) * n
    elif isinstance(padding, Sequence):
        items = list(padding)
        if len(items) == n and all(_is_int(p) for p in items):
            pads = tuple((int(p), int(p)) for p in items)
        elif len(items) == 2 * n and all(_is_int(p) for p in items):
            pads = pad_pairs_from_torch_order(items, n)
        elif len(items) == n and all(
            isinstance(p, Sequence) and len(p) == 2 and all(_is_int(q) for q in p) for p in items
        ):
            pads = tuple((int(p[0]), int(p[1])) for p in items)
        else:
            raise ValueError(
                f"{op}: padding must be an int, {n} ints (one per dimension), {2 * n} ints "
                f"(before/after, last dimension first as in F.pad) or {n} (before, after) "
                f"pairs, but got padding={padding!r}"
            )
    else:
        raise TypeError(
            f"{op}: padding must be an int, a tuple or 'same'/'valid', "
            f"but got padding={padding!r} of type {type(padding).__name__}"
        )
    check_nonnegative_pads(pads, "padding", padding, op)
    return pads


def check_dtype(op: str, name: str, dtype) -> None:
    """Convolution and pooling work on floating arrays only, as in torch."""
    if str(dtype) not in FLOAT_DTYPES:
        raise TypeError(
            f"{op}: {name} must be a floating array ({', '.join(FLOAT_DTYPES)}), "
            f"but got {name} of dtype {dtype}"
        )


def batched_ndim(op: str, shape: tuple[int, ...], n: int, name: str = "input") -> bool:
    """True if ``shape`` is batched (N, C, *spatial), False if unbatched (C, *spatial)."""
    if len(shape) == n + 2:
        return True
    if len(shape) == n + 1:
        return False
    raise ValueError(
        f"{op}: {name} must be {n + 1}-D (unbatched) or {n + 2}-D (batched), "
        f"but got {name} of shape {tuple(shape)}"
    )


# --------------------------------------------------------------------------------------
# convolution
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ConvSpec:
    """Geometry of one N-d convolution, normalized and validated.

    ``padding`` holds explicit ``(before, after)`` pairs, one per spatial dimension; for a
    ``padding_mode`` other than ``'zeros'`` the caller pads with that mode first and hands
    the kernel :meth:`zero_padded`. For a transposed convolution the spec describes the
    *forward* convolution whose input gradient it is (so ``in_shape`` is the transposed
    op's output and ``out_shape`` its input).
    """

    in_shape: tuple[int, ...]  # (N, C_in, *spatial) of the convolution's input
    weight_shape: tuple[int, ...]  # (C_out, C_in/groups, *kernel)
    stride: tuple[int, ...]
    padding: Pads
    dilation: tuple[int, ...]
    groups: int = 1
    padding_mode: str = "zeros"

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
        return tuple(
            conv_out_size(i, k, s, p, d)
            for i, k, s, p, d in zip(
                self.in_shape[2:], self.kernel_size, self.stride, self.padding, self.dilation
            )
        )

    @property
    def out_shape(self) -> tuple[int, ...]:
        return (self.in_shape[0], self.out_channels, *self.out_spatial)

    def with_batch(self, n: int) -> ConvSpec:
        return replace(self, in_shape=(n, *self.in_shape[1:]))

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
    def macs(self) -> int:
        """Multiply-accumulates of the forward pass."""
        return math.prod(self.out_shape) * (self.in_channels // self.groups) * math.prod(self.kernel_size)


def _check_conv_shapes(op, in_shape, weight_shape, groups, n, transposed) -> None:
    if len(weight_shape) != n + 2:
        layout = "(C_in, C_out/groups, *kernel)" if transposed else "(C_out, C_in/groups, *kernel)"
        raise ValueError(
            f"{op}: weight must be {n + 2}-D {layout}, but got weight of shape {tuple(weight_shape)}"
        )
    if not _is_int(groups):
        raise TypeError(f"{op}: groups must be an int, but got groups={groups!r}")
    if groups < 1:
        raise ValueError(f"{op}: groups must be positive, but got groups={groups}")
    c_in = in_shape[1]
    if transposed:
        if weight_shape[0] != c_in:
            raise ValueError(
                f"{op}: input has {c_in} channels but weight expects {weight_shape[0]} "
                f"(weight.shape[0] must equal in_channels)"
            )
        if c_in % groups:
            raise ValueError(
                f"{op}: groups must divide in_channels, but got groups={groups}, in_channels={c_in}"
            )
    else:
        if c_in % groups:
            raise ValueError(
                f"{op}: groups must divide in_channels, but got groups={groups}, in_channels={c_in}"
            )
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


def _check_padding_mode(op: str, padding_mode: str, pads: Pads, spatial) -> None:
    if not isinstance(padding_mode, str) or padding_mode not in PADDING_MODES:
        raise ValueError(
            f"{op}: padding_mode must be one of {', '.join(map(repr, PADDING_MODES))}, "
            f"but got padding_mode={padding_mode!r}"
        )
    check_pad_fits(op, PAD_MODES[PADDING_MODES.index(padding_mode)], pads, spatial)


def check_pad_fits(op: str, mode: str, pads: Pads, spatial) -> None:
    """reflect needs pad < size; circular needs pad <= size (as torch)."""
    for dim, ((lo, hi), size) in enumerate(zip(pads, spatial)):
        if mode == "reflect" and (lo >= size or hi >= size) and (lo or hi):
            raise ValueError(
                f"{op}: reflect padding must be smaller than the input size, but got "
                f"padding ({lo}, {hi}) for spatial dimension {dim} of size {size}"
            )
        if mode == "circular" and (lo > size or hi > size):
            raise ValueError(
                f"{op}: circular padding must be at most the input size, but got "
                f"padding ({lo}, {hi}) for spatial dimension {dim} of size {size}"
            )
        if mode == "replicate" and size == 0 and (lo or hi):
            raise ValueError(f"{op}: replicate padding needs a non-empty spatial dimension {dim}")


def conv_spec(
    op: str,
    in_shape: Sequence[int],
    weight_shape: Sequence[int],
    n: int,
    stride=1,
    padding=0,
    dilation=1,
    groups: int = 1,
    padding_mode: str = "zeros",
) -> ConvSpec:
    """Validate a convolution call and return its spec (``in_shape`` batched)."""
    in_shape, weight_shape = tuple(in_shape), tuple(weight_shape)
    _check_conv_shapes(op, in_shape, weight_shape, groups, n, transposed=False)
    stride = ntuple(stride, n, "stride", op, minimum=1)
    dilation = ntuple(dilation, n, "dilation", op, minimum=1)
    kernel = weight_shape[2:]
    spatial = in_shape[2:]
    pads = _resolve_padding(padding, n, op)
    if pads == "valid":
        pads = ((0, 0),) * n
    elif pads == "same":
        pads = tuple(same_pads(i, k, s, d) for i, k, s, d in zip(spatial, kernel, stride, dilation))
    _check_padding_mode(op, padding_mode, pads, spatial)
    for dim, (i, k, p, d) in enumerate(zip(spatial, kernel, pads, dilation)):
        if i + p[0] + p[1] < effective_kernel_size(k, d):
            raise ValueError(
                f"{op}: kernel size can't be greater than the padded input size: spatial "
                f"dimension {dim} has padded size {i + p[0] + p[1]} (input {i}, padding {p}) "
                f"but the dilated kernel spans {effective_kernel_size(k, d)} "
                f"(kernel {k}, dilation {d})"
            )
    return ConvSpec(in_shape, weight_shape, stride, pads, dilation, int(groups), padding_mode)


def conv_transpose_spec(
    op: str,
    in_shape: Sequence[int],
    weight_shape: Sequence[int],
    n: int,
    stride=1,
    padding=0,
    output_padding=0,
    groups: int = 1,
    dilation=1,
    output_size: Sequence[int] | None = None,
) -> ConvSpec:
    """Validate a transposed convolution and return the spec of the matching convolution.

    ``padding`` means what it means in torch: the forward convolution's padding, which the
    transposed op crops from its full output. ``output_padding`` (or ``output_size``) adds
    rows/columns at the end to pick among the input sizes a strided convolution maps to
    the same output size.
    """
    in_shape, weight_shape = tuple(in_shape), tuple(weight_shape)
    _check_conv_shapes(op, in_shape, weight_shape, groups, n, transposed=True)
    stride = ntuple(stride, n, "stride", op, minimum=1)
    dilation = ntuple(dilation, n, "dilation", op, minimum=1)
    if isinstance(padding, str):
        raise ValueError(
            f"{op}: padding must be an int or a tuple for a transposed convolution, "
            f"but got padding={padding!r}"
        )
    pads = _resolve_padding(padding, n, op)
    kernel = weight_shape[2:]
    spatial = in_shape[2:]
    if output_size is not None:
        output_padding = _output_padding_from_size(
            op, output_size, spatial, kernel, stride, pads, dilation, in_shape[0]
        )
    output_padding = ntuple(output_padding, n, "output_padding", op, minimum=0)
    for dim, (op_, s, d) in enumerate(zip(output_padding, stride, dilation)):
        if output_size is None and op_ >= s and op_ >= d:
            raise ValueError(
                f"{op}: output_padding must be smaller than either stride or dilation, but got "
                f"output_padding={op_}, stride={s}, dilation={d} in spatial dimension {dim}"
            )
    out_spatial = tuple(
        conv_transpose_out_size(i, k, s, p, d, o)
        for i, k, s, p, d, o in zip(spatial, kernel, stride, pads, dilation, output_padding)
    )
    if any(o < 1 for o in out_spatial):
        raise ValueError(
            f"{op}: padding must not crop the whole output, but got padding={padding!r} "
            f"(the output size would be {out_spatial})"
        )
    conv_in = (in_shape[0], weight_shape[1] * groups, *out_spatial)
    conv_w = (weight_shape[0], weight_shape[1], *kernel)
    # When output_padding >= stride (allowed while it is < dilation) the matching
    # convolution produces more outputs than the transposed op has inputs; the autograd
    # op pads its input with zeros up to spec.out_spatial (those positions add nothing).
    return ConvSpec(conv_in, conv_w, stride, pads, dilation, int(groups), "zeros")


def _output_padding_from_size(op, output_size, spatial, kernel, stride, pads, dilation, batch):
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
# pooling and windows (unfold)
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PoolSpec:
    """Geometry of one N-d pooling window sweep, normalized and validated.

    ``padding`` is symmetric per dimension as in torch, stored as ``(before, after)``
    pairs; ``extra_end`` adds the cells that ``ceil_mode`` windows reach past the padded
    input (they are never counted in averages and never win a max).
    """

    in_shape: tuple[int, ...]  # (N, C, *spatial)
    kernel_size: tuple[int, ...]
    stride: tuple[int, ...]
    padding: Pads
    dilation: tuple[int, ...]
    ceil_mode: bool = False
    count_include_pad: bool = True
    divisor_override: int | None = None

    @property
    def ndim(self) -> int:
        return len(self.kernel_size)

    @property
    def out_spatial(self) -> tuple[int, ...]:
        return tuple(
            pool_out_size(i, k, s, p, d, self.ceil_mode)
            for i, k, s, p, d in zip(
                self.in_shape[2:], self.kernel_size, self.stride, self.padding, self.dilation
            )
        )

    @property
    def out_shape(self) -> tuple[int, ...]:
        return (*self.in_shape[:2], *self.out_spatial)

    @property
    def extra_end(self) -> tuple[int, ...]:
        """Cells past the padded input that the last window reaches (ceil_mode)."""
        return tuple(
            max((o - 1) * s + effective_kernel_size(k, d) - (i + lo + hi), 0)
            for o, i, k, s, (lo, hi), d in zip(
                self.out_spatial,
                self.in_shape[2:],
                self.kernel_size,
                self.stride,
                self.padding,
                self.dilation,
            )
        )

    @property
    def window_padding(self) -> Pads:
        """Padding that makes every window lie inside the array: padding + extra_end."""
        return tuple((lo, hi + e) for (lo, hi), e in zip(self.padding, self.extra_end))

    def with_batch(self, n: int) -> PoolSpec:
        return replace(self, in_shape=(n, *self.in_shape[1:]))


def check_nonempty(op: str, shape: Sequence[int], name: str = "input", first: int = 1) -> None:
    """Dimensions ``first`` on must be non-empty, as torch checks them.

    Pools and unfold pass the batched shape (only the batch may be empty); torch's adaptive
    pools and max_unpool check the shape as given from its dimension 1 on (so an unbatched
    input's channels may be empty), adaptive_avg_pool1d/2d only its spatial dimensions.
    """
    if any(size < 1 for size in shape[first:]):
        raise ValueError(
            f"{op}: {name} must have non-zero sizes from dimension {first} on, "
            f"but got {name} of shape {tuple(shape)}"
        )


def pool_spec(
    op: str,
    in_shape: Sequence[int],
    n: int,
    kernel_size,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
    kernel_within_input: bool = False,
) -> PoolSpec:
    """Validate a max/avg pooling call and return its spec (``in_shape`` batched).

    ``kernel_within_input``: also require every input size >= the kernel, padding aside, as
    torch's avg_pool3d (only) does.
    """
    in_shape = tuple(in_shape)
    check_nonempty(op, in_shape)
    kernel = ntuple(kernel_size, n, "kernel_size", op, minimum=1)
    if stride is None or (isinstance(stride, Sequence) and len(stride) == 0):
        stride = kernel
    stride = ntuple(stride, n, "stride", op, minimum=1)
    padding_t = ntuple(padding, n, "padding", op, minimum=0)
    dilation = ntuple(dilation, n, "dilation", op, minimum=1)
    for dim, (k, p) in enumerate(zip(kernel, padding_t)):
        if p > k // 2:
            raise ValueError(
                f"{op}: padding should be at most half of the kernel size, but got "
                f"padding={p} for kernel_size={k} in spatial dimension {dim}"
            )
    if divisor_override is not None:
        if not _is_int(divisor_override):
            raise TypeError(f"{op}: divisor_override must be an int or None, but got {divisor_override!r}")
        if divisor_override == 0:
            raise ValueError(f"{op}: divisor_override must be non-zero, but got divisor_override=0")
    if kernel_within_input and any(i < k for i, k in zip(in_shape[2:], kernel)):
        raise ValueError(
            f"{op}: input must be at least as large as the kernel in every spatial dimension "
            f"(padding aside), but got spatial size {in_shape[2:]} and kernel_size={kernel}"
        )
    pads = tuple((p, p) for p in padding_t)
    spec = PoolSpec(
        in_shape,
        kernel,
        stride,
        pads,
        dilation,
        bool(ceil_mode),
        bool(count_include_pad),
        None if divisor_override is None else int(divisor_override),
    )
    for dim, (o, i) in enumerate(zip(spec.out_spatial, in_shape[2:])):
        if o < 1:
            raise ValueError(
                f"{op}: output size is too small: spatial dimension {dim} of size {i} with "
                f"kernel_size={kernel[dim]}, stride={stride[dim]}, padding={padding_t[dim]}, "
                f"dilation={dilation[dim]} gives {o} outputs"
            )
    return spec


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


def unfold_spec(
    op: str, in_shape: Sequence[int], n: int, kernel_size, dilation=1, padding=0, stride=1
) -> PoolSpec:
    """Windows of ``unfold``/``fold``: a pooling geometry with no ceil mode."""
    check_nonempty(op, tuple(in_shape))
    kernel = ntuple(kernel_size, n, "kernel_size", op, minimum=1)
    stride = ntuple(stride, n, "stride", op, minimum=1)
    dilation = ntuple(dilation, n, "dilation", op, minimum=1)
    padding_t = ntuple(padding, n, "padding", op, minimum=0)
    spec = PoolSpec(tuple(in_shape), kernel, stride, tuple((p, p) for p in padding_t), dilation)
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
    op: str, in_shape: Sequence[int], output_size, kernel_size, dilation=1, padding=0, stride=1
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
    spec = unfold_spec(op, (in_shape[0], in_shape[1] // taps, *size), n, kernel, dilation, padding, stride)
    blocks = math.prod(spec.out_spatial)
    if in_shape[2] != blocks:
        raise ValueError(
            f"{op}: input.shape[2] must equal the number of sliding blocks "
            f"{' * '.join(map(str, spec.out_spatial))} = {blocks} for output_size={size}, "
            f"kernel_size={kernel}, dilation={spec.dilation}, padding={spec.padding}, "
            f"stride={spec.stride}, but got input.shape[2]={in_shape[2]}"
        )
    return spec


def unpool_output_size(
    op: str,
    in_shape: Sequence[int],
    indices_shape: Sequence[int],
    n: int,
    kernel_size,
    stride=None,
    padding=0,
    output_size=None,
) -> tuple[int, ...]:
    """Validate a ``max_unpool`` call and return its output's spatial size.

    The default is the input size of the max pooling it inverts,
    ``(in - 1)*stride - 2*padding + kernel``; ``output_size`` (``n`` or ``n + 2`` entries) may
    pick any size strictly within ``stride`` of it, as torch. Stricter than torch: kernel and
    stride must be positive and padding non-negative.
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
    if output_size is None:
        size = default
    else:
        if not isinstance(output_size, Sequence) or not all(_is_int(v) for v in output_size):
            raise TypeError(
                f"{op}: output_size must be a sequence of {n} or {n + 2} ints, "
                f"but got output_size={output_size!r}"
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
