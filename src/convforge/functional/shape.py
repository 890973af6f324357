"""Shape operations: ``pad`` and ShuffleNet's ``channel_shuffle``."""

from __future__ import annotations

from collections.abc import Sequence

from .. import spec as sp
from ..autograd.ops import shape as shape_ops
from ..autograd.tensor import Tensor
from ._common import TensorLike, _tensor

__all__ = ["channel_shuffle", "pad"]


def pad(input: TensorLike, pad: Sequence[int], mode: str = "constant", value: float | None = None) -> Tensor:
    """Pad the last ``len(pad)//2`` dimensions, ``pad`` in torch order (last dim first).

    ``mode`` is 'constant' (negative pads crop), 'reflect', 'replicate' or 'circular'.

    Shape: (*, S_1, ..., S_k) -> (*, S_1 + lo_1 + hi_1, ..., S_k + lo_k + hi_k) for ``k = len(pad)//2``.
    """
    op = "pad"
    x = _tensor(op, "input", input)
    if not isinstance(pad, (tuple, list)) or not all(sp._is_int(p) for p in pad):
        raise TypeError(f"{op}: pad must be a tuple of ints, but got pad={pad!r}")
    if len(pad) % 2 or len(pad) // 2 > x.ndim:
        raise ValueError(
            f"{op}: pad must have an even length of at most 2*input.ndim={2 * x.ndim}, but got pad={pad!r}"
        )
    if mode not in sp.PAD_MODES:
        raise ValueError(
            f"{op}: mode must be one of {', '.join(map(repr, sp.PAD_MODES))}, but got mode={mode!r}"
        )
    n = len(pad) // 2
    pads = sp.pad_pairs_from_torch_order(pad, n)
    if mode != "constant":
        if value not in (None, 0):
            raise ValueError(f"{op}: value is only meaningful with mode='constant', but got value={value!r}")
        sp.check_nonnegative_pads(pads, "pad", pad, op)
        sp.check_pad_fits(op, mode, pads, x.shape[x.ndim - n :])
    else:
        for dim, ((lo, hi), size) in enumerate(zip(pads, x.shape[x.ndim - n :])):
            if size + lo + hi < 0:
                raise ValueError(
                    f"{op}: pad {pad!r} crops more than the size {size} of dimension {x.ndim - n + dim}"
                )
    return shape_ops.Pad.apply(x, pads, mode, 0.0 if value is None else value)


def channel_shuffle(input: TensorLike, groups: int) -> Tensor:
    """ShuffleNet's channel shuffle: view C as (groups, C/groups), transpose, flatten.

    Shape: (N, C, *) -> (N, C, *); channel ``g*(C/groups) + i`` moves to ``i*groups + g``.
    """
    op = "channel_shuffle"
    x = _tensor(op, "input", input)
    if not sp._is_int(groups):
        raise TypeError(f"{op}: groups must be an int, but got groups={groups!r}")
    if x.ndim < 3:
        raise ValueError(f"{op}: input must be at least 3-D (N, C, *), but got shape {x.shape}")
    if groups < 1 or x.shape[1] % groups:
        raise ValueError(
            f"{op}: groups must be positive and divide the {x.shape[1]} channels, but got groups={groups}"
        )
    n, c, rest = x.shape[0], x.shape[1], x.shape[2:]
    y = x.reshape(n, groups, c // groups, *rest).transpose(1, 2)
    return y.reshape(n, c, *rest)
