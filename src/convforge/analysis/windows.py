"""Which input cell each kernel tap reads: the index arithmetic behind every analysis view.

The trick: pad an array of flat input indices (instead of values) with the convolution's
padding mode and take its sliding windows. Each window entry is then the flat index of
the input cell that tap reads, or ``-1`` for a zero-padding cell. ``reflect``,
``replicate`` and ``circular`` padding simply repeat input indices, so the Toeplitz
matrix, the im2col labels and ``explain`` handle every padding mode with one code path.
"""

from __future__ import annotations

import math

import numpy as np

from ..kernels.windows import window_view
from ..spec import ConvSpec

ZERO_PAD = -1  # index of a zero-padding cell

_NUMPY_PAD_MODES = {"zeros": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def padded_indices(spec: ConvSpec) -> np.ndarray:
    """Flat input indices ``(C_in, *padded_spatial)`` of the padded input of one sample.

    Entry ``[c, *p]`` is ``c * prod(spatial) + flat(i)`` of the input cell that padded
    cell ``p`` holds, or :data:`ZERO_PAD`.
    """
    spatial = spec.in_shape[2:]
    index = np.arange(spec.in_channels * math.prod(spatial), dtype=np.int64)
    index = index.reshape(spec.in_channels, *spatial)
    pads = ((0, 0), *spec.padding)
    mode = _NUMPY_PAD_MODES[spec.padding_mode]
    if mode == "constant":
        return np.pad(index, pads, mode="constant", constant_values=ZERO_PAD)
    return np.pad(index, pads, mode=mode)


def window_indices(spec: ConvSpec) -> np.ndarray:
    """Flat input index read by each (group, channel, output position, tap).

    Shape ``(G, C_in/G, L, K)`` with ``L = prod(out_spatial)`` output positions in C order
    and ``K = prod(kernel_size)`` taps in C order; ``-1`` marks zero padding.
    """
    g = spec.groups
    c_g = spec.in_channels // g
    index = padded_indices(spec).reshape(g, c_g, *spec.padded_in_spatial)
    view = window_view(index, spec.kernel_size, spec.stride, spec.dilation, spec.out_spatial)
    # (G, Cg, *out, *kernel) -> (G, Cg, L, K)
    return view.reshape(g, c_g, math.prod(spec.out_spatial), math.prod(spec.kernel_size))
