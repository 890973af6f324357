"""Backward directions derived from an algorithm's ``forward``: the gradients as convolutions.

An algorithm that provides only ``forward(x, w, spec)`` still runs both backward
directions: :func:`convforge.spec.grad_input_spec` and :func:`convforge.spec.grad_weight_spec`
describe each gradient as a convolution (JAX's transpose rules), and the functions here lay
the arrays out for it (zero insertion, padding or cropping, the flipped and group-transposed
kernel) and call that ``forward``. ``kernels/select.py`` uses them for any registered
algorithm without its own ``grad_input``/``grad_weight``; the hand-written directions of
im2col, gemm and the others stay where the benchmarks favour them.
"""

from __future__ import annotations

import numpy as np

from ..spec import ConvSpec, GradSpec, grad_input_spec, grad_weight_spec

__all__ = ["direction_spec", "grad_input", "grad_weight"]


def direction_spec(spec: ConvSpec, direction: str) -> ConvSpec:
    """The convolution that ``direction`` ('grad_input' or 'grad_weight') of ``spec`` runs."""
    rule = grad_input_spec if direction == "grad_input" else grad_weight_spec
    return rule(spec).spec


def _prepare(a: np.ndarray, grad: GradSpec) -> np.ndarray:
    """Insert ``input_dilation - 1`` zeros between elements, then pad (or crop, if negative)."""
    if any(s > 1 for s in grad.input_dilation):
        spatial = tuple((size - 1) * s + 1 for size, s in zip(a.shape[2:], grad.input_dilation))
        dilated = np.zeros((*a.shape[:2], *spatial), dtype=a.dtype)
        dilated[(Ellipsis, *(slice(None, None, s) for s in grad.input_dilation))] = a
        a = dilated
    crop = tuple(slice(max(-lo, 0), a.shape[2 + i] - max(-hi, 0)) for i, (lo, hi) in enumerate(grad.pads))
    a = a[(Ellipsis, *crop)]
    pads = ((0, 0), (0, 0), *((max(lo, 0), max(hi, 0)) for lo, hi in grad.pads))
    return np.pad(a, pads) if any(p for pair in pads[2:] for p in pair) else a


def grad_input(forward):
    """``grad_input(gy, w, spec, x_shape)`` computed by ``forward`` (see :func:`grad_input_spec`)."""

    def run(gy: np.ndarray, w: np.ndarray, spec: ConvSpec, x_shape) -> np.ndarray:
        grad = grad_input_spec(spec.with_batch(gy.shape[0]))
        g, n = spec.groups, spec.ndim
        o_g, c_g = spec.out_channels // g, spec.in_channels // g
        # (C_in, C_out/G, *k): per group the (O_g, C_g) kernel transposed, taps reversed
        flipped = w[(Ellipsis, *(slice(None, None, -1),) * n)]
        w_t = flipped.reshape(g, o_g, c_g, *spec.kernel_size).swapaxes(1, 2)
        w_t = np.ascontiguousarray(w_t.reshape(g * c_g, o_g, *spec.kernel_size))
        gx = forward(np.ascontiguousarray(_prepare(gy, grad)), w_t, grad.spec)
        return gx.reshape(x_shape)

    return run


def grad_weight(forward):
    """``grad_weight(x, gy, spec, w_shape)`` computed by ``forward`` (see :func:`grad_weight_spec`)."""

    def run(x: np.ndarray, gy: np.ndarray, spec: ConvSpec, w_shape) -> np.ndarray:
        grad = grad_weight_spec(spec.with_batch(x.shape[0]))
        g, batch = spec.groups, x.shape[0]
        c_g = spec.in_channels // g
        padded = _prepare(x, grad)  # (N, C_in, *spatial')
        spatial = padded.shape[2:]
        # (C_in/G, G*N, *spatial'): the batch becomes the summed channel axis, group-major
        x_t = padded.reshape(batch, g, c_g, *spatial)
        x_t = np.ascontiguousarray(np.moveaxis(x_t, (0, 1, 2), (2, 1, 0)).reshape(c_g, g * batch, *spatial))
        gy_t = np.ascontiguousarray(np.swapaxes(gy, 0, 1))  # (C_out, N, *out)
        gw = forward(x_t, gy_t, grad.spec)  # (C_in/G, C_out, *k)
        return np.ascontiguousarray(np.swapaxes(gw, 0, 1)).reshape(w_shape)

    return run
