"""Sliding-window views and their adjoint, shared by im2col, unfold and pooling.

``window_view`` returns a zero-copy strided view with one axis per output position and one
per kernel tap; ``accumulate_windows`` is its adjoint (col2im): it adds per-tap values back
into the array the windows were taken from, one strided slice per tap, so overlapping
windows add up without ``np.add.at``.
"""

from __future__ import annotations

import itertools

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ..spec import Pads


def zero_pad(x: np.ndarray, pads: Pads, value: float = 0.0) -> np.ndarray:
    """Pad the trailing ``len(pads)`` axes of ``x`` with a constant (no copy if no pad)."""
    if not any(lo or hi for lo, hi in pads):
        return x
    lead = ((0, 0),) * (x.ndim - len(pads))
    return np.pad(x, lead + tuple(pads), mode="constant", constant_values=value)


def crop(x: np.ndarray, pads: Pads) -> np.ndarray:
    """Inverse of :func:`zero_pad`: drop ``pads`` from the trailing axes (a view)."""
    if not any(lo or hi for lo, hi in pads):
        return x
    lead = (slice(None),) * (x.ndim - len(pads))
    return x[lead + tuple(slice(lo, x.shape[x.ndim - len(pads) + i] - hi) for i, (lo, hi) in enumerate(pads))]


def window_view(
    x: np.ndarray,
    kernel: tuple[int, ...],
    stride: tuple[int, ...],
    dilation: tuple[int, ...],
    out: tuple[int, ...],
) -> np.ndarray:
    """Read-only view ``(*lead, *out, *kernel)`` of the windows over the last axes of ``x``.

    Element ``[..., o_1..o_n, t_1..t_n]`` is ``x[..., o_1*s_1 + t_1*d_1, ...]``. The caller
    guarantees that every window lies inside ``x`` (pad first).
    """
    n = len(kernel)
    lead_strides = x.strides[: x.ndim - n]
    spatial_strides = x.strides[x.ndim - n :]
    shape = (*x.shape[: x.ndim - n], *out, *kernel)
    strides = (
        *lead_strides,
        *(st * s for st, s in zip(spatial_strides, stride)),
        *(st * d for st, d in zip(spatial_strides, dilation)),
    )
    return as_strided(x, shape=shape, strides=strides, writeable=False)


def tap_slices(
    tap: tuple[int, ...], stride: tuple[int, ...], dilation: tuple[int, ...], out: tuple[int, ...]
) -> tuple[slice, ...]:
    """Slices selecting the input cells that kernel tap ``tap`` reads, one per output."""
    return tuple(slice(t * d, t * d + s * (o - 1) + 1, s) for t, s, d, o in zip(tap, stride, dilation, out))


def taps(kernel: tuple[int, ...]):
    """All kernel tap positions in C order."""
    return itertools.product(*(range(k) for k in kernel))


def accumulate_windows(
    cols: np.ndarray,
    spatial: tuple[int, ...],
    kernel: tuple[int, ...],
    stride: tuple[int, ...],
    dilation: tuple[int, ...],
) -> np.ndarray:
    """col2im: the adjoint of :func:`window_view`.

    ``cols`` has shape ``(*lead, *kernel, *out)``; returns ``(*lead, *spatial)`` where every
    window's values were added back at the cells they came from.
    """
    n = len(kernel)
    lead = cols.shape[: cols.ndim - 2 * n]
    out = cols.shape[cols.ndim - n :]
    result = np.zeros((*lead, *spatial), dtype=cols.dtype)
    keep_lead = (slice(None),) * len(lead)
    for tap in taps(kernel):
        # (*lead, *out) values of this tap go to a strided slice of the input
        result[keep_lead + tap_slices(tap, stride, dilation, out)] += cols[keep_lead + tap]
    return result
