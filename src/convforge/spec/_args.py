"""Argument normalization shared by the convolution and pooling specs: int-or-tuple helpers,
positive counts, the padding forms, output-size formulas, dtype and batching checks, and
:class:`WindowSweep`, what both spec classes derive from their fields. Pure Python."""

from __future__ import annotations

import numbers
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import NamedTuple, TypeVar

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")
PAD_MODES = ("constant", "reflect", "replicate", "circular")
FLOAT_DTYPES = ("float16", "float32", "float64")
_ACCEPTED_DTYPES: set = set()  # dtype objects that passed check_dtype

Pads = tuple[tuple[int, int], ...]


class Operand(NamedTuple):
    """The shape and dtype of an array: what a spec needs of an operand.

    Tensors, ndarrays and dask arrays carry both; tools that reason about shapes only
    (``analysis``, ``viz``) resolve a spec with an ``Operand`` instead of data.
    """

    shape: tuple[int, ...]
    dtype: str = "float32"


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def ntuple(
    value,
    n: int,
    name: str,
    op: str,
    *,
    minimum: int | None = None,
    broadcast_single: bool = False,
) -> tuple[int, ...]:
    """Normalize an int or a length-``n`` sequence of ints to an ``n``-tuple.

    Unlike torch's ``_ntuple`` the length is checked, and so is ``minimum``. With
    ``broadcast_single`` a one-element sequence stands for every dimension, as torch's
    ``expand_param_if_needed`` allows for the arguments of convolutions and pools.
    """
    if _is_int(value):
        values = (int(value),) * n
    elif isinstance(value, Sequence) and not isinstance(value, str):
        if broadcast_single and len(value) == 1:
            value = tuple(value) * n
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


def _padding_pairs(items: list, n: int) -> Pads | None:
    """The explicit padding forms: n ints, 2n ints (F.pad order), n pairs; one int for all."""
    if len(items) == 1 and _is_int(items[0]):  # torch broadcasts a one-element padding
        return ((int(items[0]), int(items[0])),) * n
    if len(items) == n and all(_is_int(p) for p in items):
        return tuple((int(p), int(p)) for p in items)
    if len(items) == 2 * n and all(_is_int(p) for p in items):
        return pad_pairs_from_torch_order(items, n)
    if len(items) == n and all(
        isinstance(p, Sequence) and len(p) == 2 and all(_is_int(q) for q in p) for p in items
    ):
        return tuple((int(p[0]), int(p[1])) for p in items)
    return None


def resolve_padding(padding, n: int, op: str) -> Pads | str:
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
        pads = _padding_pairs(list(padding), n)
        if pads is None:
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
    try:
        if dtype in _ACCEPTED_DTYPES:
            return  # seen to pass: str(dtype) costs ~2 us a call, a few % of a batch-1 model
    except TypeError:  # unhashable: the check below names it
        pass
    if str(dtype) not in FLOAT_DTYPES:
        raise TypeError(
            f"{op}: {name} must be a floating array ({', '.join(FLOAT_DTYPES)}), "
            f"but got {name} of dtype {dtype}"
        )
    if len(_ACCEPTED_DTYPES) < 64:
        _ACCEPTED_DTYPES.add(dtype)


def check_operand_dtypes(op: str, x, w, b=None) -> None:
    """Input and weight (and bias) of a convolution or linear map: one floating dtype."""
    check_dtype(op, "input", x.dtype)
    check_dtype(op, "weight", w.dtype)
    if str(w.dtype) != str(x.dtype):
        raise TypeError(
            f"{op}: input and weight must have the same dtype, but got input {x.dtype} and weight {w.dtype}"
        )
    if b is not None and str(b.dtype) != str(x.dtype):
        raise TypeError(f"{op}: bias must have the input's dtype {x.dtype}, but got bias {b.dtype}")


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


def batched_shape(op: str, shape: Sequence[int], n: int) -> tuple[tuple[int, ...], bool]:
    """An input's shape with a batch of 1 added if it had none, and whether it had one."""
    shape = tuple(shape)
    batched = batched_ndim(op, shape, n)
    return (shape if batched else (1, *shape)), batched


def positive_int(op: str, name: str, value) -> int:
    """Validate a channel count, groups or a similar positive integer argument."""
    if not _is_int(value):
        raise TypeError(f"{op}: {name} must be an int, but got {name}={value!r}")
    if value < 1:
        raise ValueError(f"{op}: {name} must be positive, but got {name}={value}")
    return int(value)


_Sweep = TypeVar("_Sweep", bound="WindowSweep")


class WindowSweep:
    """What the convolution and pooling specs share: a window swept over a batched input.

    A mixin for frozen dataclasses with ``in_shape`` (batched), ``kernel_size``, ``stride``,
    ``padding`` (``(before, after)`` pairs) and ``dilation``.
    """

    def per_dimension(self) -> Iterator[tuple[int, int, int, tuple[int, int], int]]:
        """``(input size, kernel, stride, (before, after), dilation)`` per spatial dimension."""
        return zip(self.in_shape[2:], self.kernel_size, self.stride, self.padding, self.dilation)

    def with_batch(self: _Sweep, n: int) -> _Sweep:
        """The same spec for a batch of ``n``."""
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


def check_flag(op: str, name: str, value) -> bool:
    """A bool argument (``ceil_mode``, ``return_indices``, ...); NumPy bools count."""
    if not isinstance(value, bool) and type(value).__name__ != "bool_":
        raise TypeError(f"{op}: {name} must be a bool, but got {name}={value!r}")
    return bool(value)
