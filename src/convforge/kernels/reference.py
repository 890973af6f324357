"""The direct definition of convolution: the oracle every other kernel is tested against.

For the spec's zero padding ``P``, stride ``s``, dilation ``d`` and ``G`` groups, with
``c`` running over the ``C_in/G`` input channels of the output channel's group ``g``::

    y[n, o, i] = sum_{c, t} w[o, c, t] * xpad[n, g*C_in/G + c, i*s + t*d]

(``i`` and ``t`` are multi-indices over the spatial dimensions). The code loops over the
kernel taps ``t`` and is vectorized over everything else, so it reads as the formula.
The two gradients are written from the same formula:

    grad_x[n, g*C_in/G + c, i*s + t*d] += sum_o w[o, c, t] * grad_y[n, o, i]
    grad_w[o, c, t] = sum_{n, i} xpad[n, g*C_in/G + c, i*s + t*d] * grad_y[n, o, i]
"""

from __future__ import annotations

import math

import numpy as np

from ..spec import ConvSpec
from .windows import crop, tap_slices, taps, zero_pad

NAME = "reference"


def supports(spec: ConvSpec) -> bool:
    return spec.padding_mode == "zeros"


def _grouped(spec: ConvSpec, n: int):
    """Shapes with the group axis split out: input (N,G,Cg,...), weight (G,Og,Cg,...)."""
    g = spec.groups
    c_g = spec.in_channels // g
    o_g = spec.out_channels // g
    return (n, g, c_g), (g, o_g, c_g)


def forward(x: np.ndarray, w: np.ndarray, spec: ConvSpec) -> np.ndarray:
    n = x.shape[0]
    (_, g, c_g), (_, o_g, _) = _grouped(spec, n)
    out = spec.out_spatial
    xg = zero_pad(x, spec.padding).reshape(n, g, c_g, *spec.padded_in_spatial)
    wg = w.reshape(g, o_g, c_g, *spec.kernel_size)
    y = np.zeros((n, g, o_g, *out), dtype=np.result_type(x, w))
    for tap in taps(spec.kernel_size):
        patch = xg[(Ellipsis, *tap_slices(tap, spec.stride, spec.dilation, out))]  # (N,G,Cg,*out)
        y += np.einsum("ngc...,goc->ngo...", patch, wg[(Ellipsis, *tap)])
    return y.reshape(n, spec.out_channels, *out)


def grad_input(gy: np.ndarray, w: np.ndarray, spec: ConvSpec, x_shape) -> np.ndarray:
    n = gy.shape[0]
    (_, g, c_g), (_, o_g, _) = _grouped(spec, n)
    out = spec.out_spatial
    gyg = gy.reshape(n, g, o_g, *out)
    wg = w.reshape(g, o_g, c_g, *spec.kernel_size)
    gx = np.zeros((n, g, c_g, *spec.padded_in_spatial), dtype=np.result_type(gy, w))
    for tap in taps(spec.kernel_size):
        cells = (Ellipsis, *tap_slices(tap, spec.stride, spec.dilation, out))
        gx[cells] += np.einsum("ngo...,goc->ngc...", gyg, wg[(Ellipsis, *tap)])
    gx = gx.reshape(n, spec.in_channels, *spec.padded_in_spatial)
    return np.ascontiguousarray(crop(gx, spec.padding)).reshape(x_shape)


def grad_weight(x: np.ndarray, gy: np.ndarray, spec: ConvSpec, w_shape) -> np.ndarray:
    n = x.shape[0]
    (_, g, c_g), (_, o_g, _) = _grouped(spec, n)
    out = spec.out_spatial
    xg = zero_pad(x, spec.padding).reshape(n, g, c_g, *spec.padded_in_spatial)
    gyg = gy.reshape(n, g, o_g, *out)
    gw = np.zeros((g, o_g, c_g, *spec.kernel_size), dtype=np.result_type(x, gy))
    length = math.prod(out)
    for tap in taps(spec.kernel_size):
        patch = xg[(Ellipsis, *tap_slices(tap, spec.stride, spec.dilation, out))]
        # sum over the batch and every output position
        gw[(Ellipsis, *tap)] = np.einsum(
            "ngcl,ngol->goc", patch.reshape(n, g, c_g, length), gyg.reshape(n, g, o_g, length)
        )
    return gw.reshape(w_shape)
