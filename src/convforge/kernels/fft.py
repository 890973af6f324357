"""FFT convolution (``scipy.fft``) for large kernels.

With ``xp`` the zero-padded input (spatial size ``P``) and ``wd`` the kernel with its
dilation written out (extent ``k_eff``), every direction is one elementwise product of
spectra of size ``F = next_fast_len(P)`` per dimension, contracted over channels at each
frequency:

* forward, a correlation: ``Y = sum_c X_c * conj(W_oc)``; the stride-1 output
  ``y1[i] = sum_t xp[i + t] wd[t]`` never wraps around because ``i + t < P <= F``; the
  strided output is ``y1[::s]``.
* grad_input, a full convolution: ``GXP = sum_o GY_o * W_oc`` with ``gy`` spread onto the
  stride-1 output grid (``gy1[i*s] = gy[i]``); its length ``P`` fits ``F``; crop the padding.
* grad_weight, a correlation of ``xp`` with ``gy1``: ``GW = sum_n conj(GY_no) * X_nc``,
  whose first ``k_eff`` coefficients (at the dilation's steps) are the weight gradient.

Real FFTs (``rfftn``) halve the spectra; ``next_fast_len`` rounds each size up to a
5-smooth length. Costs ``O(F log F)`` per channel plus ``F`` multiply-adds per channel
pair, independent of the kernel size: it wins for large kernels (7x7 and up, long 1-D
filters), depthwise or dense.

Error: round-off of the transforms, relative to the largest output, ~1e-6 in float32 and
~1e-15 in float64 on the benchmark layers; :data:`ERROR_BOUND` is the tested bound.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.fft

from ..backend import batch_chunk, get_num_threads
from ..spec import ConvSpec

NAME = "fft"

# tested bound on max|ours - exact| / max(max|exact|, 1), per dtype
ERROR_BOUND = {np.dtype(np.float32): 1e-4, np.dtype(np.float64): 1e-11}


def supports(spec: ConvSpec) -> bool:
    return spec.padding_mode == "zeros"


def _compute_dtype(*arrays) -> np.dtype:
    return np.promote_types(np.result_type(*arrays), np.float32)


def _sizes(spec: ConvSpec):
    """(FFT sizes, dilated kernel extents, stride-1 output sizes)."""
    padded = spec.padded_in_spatial
    k_eff = tuple((k - 1) * d + 1 for k, d in zip(spec.kernel_size, spec.dilation))
    full_out = tuple(p - k + 1 for p, k in zip(padded, k_eff))
    sizes = tuple(scipy.fft.next_fast_len(p, real=True) for p in padded)
    return sizes, k_eff, full_out


def _axes(spec: ConvSpec) -> tuple[int, ...]:
    return tuple(range(-spec.ndim, 0))


def _rfft(a: np.ndarray, sizes, spec: ConvSpec) -> np.ndarray:
    return scipy.fft.rfftn(a, s=sizes, axes=_axes(spec), workers=get_num_threads())


def _irfft(a: np.ndarray, sizes, spec: ConvSpec) -> np.ndarray:
    return scipy.fft.irfftn(a, s=sizes, axes=_axes(spec), workers=get_num_threads())


def _kernel_spectrum(w: np.ndarray, spec: ConvSpec, sizes, dtype) -> np.ndarray:
    """Spectrum of the dilated kernel: (O, Cg, *k) -> (G, Og, Cg, *F')."""
    g = spec.groups
    o, c_g = w.shape[:2]
    k_eff = tuple((k - 1) * d + 1 for k, d in zip(spec.kernel_size, spec.dilation))
    wd = np.zeros((o, c_g, *k_eff), dtype=dtype)
    wd[(slice(None), slice(None), *(slice(None, None, d) for d in spec.dilation))] = w
    spectrum = _rfft(wd, sizes, spec)
    return spectrum.reshape(g, o // g, c_g, *spectrum.shape[2:])


def _contract(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``out[n, g, b] = sum_a a[n, g, a] * b[g, b, a]`` at every frequency.

    Shape: a (N, G, A, *F'), b (G, B, A, *F') -> (N, G, B, *F'); a batched matrix product
    with the frequencies as the batch, or a broadcast product when ``A == 1`` (depthwise).
    """
    n, g, a_len = a.shape[:3]
    b_len = b.shape[1]
    freq = a.shape[3:]
    if a_len == 1:
        return a * b[None, :, :, 0]  # (N, G, 1, F') * (1, G, B, F')
    f = math.prod(freq)
    a_f = np.ascontiguousarray(a.reshape(n, g, a_len, f).transpose(3, 1, 0, 2))  # (F, G, N, A)
    b_f = np.ascontiguousarray(b.reshape(g, b_len, a_len, f).transpose(3, 0, 2, 1))  # (F, G, A, B)
    out = np.matmul(a_f, b_f)  # (F, G, N, B)
    return out.transpose(2, 1, 3, 0).reshape(n, g, b_len, *freq)


def _padded(x: np.ndarray, spec: ConvSpec, dtype) -> np.ndarray:
    pads = ((0, 0), (0, 0), *spec.padding)
    return np.pad(x.astype(dtype, copy=False), pads)


def _spread(gy: np.ndarray, spec: ConvSpec, full_out, dtype) -> np.ndarray:
    """``gy`` on the stride-1 output grid: ``gy1[..., i*s] = gy[..., i]``, zeros elsewhere."""
    if all(s == 1 for s in spec.stride):
        return gy.astype(dtype, copy=False)
    gy1 = np.zeros((*gy.shape[:2], *full_out), dtype=dtype)
    gy1[(slice(None), slice(None), *(slice(None, None, s) for s in spec.stride))] = gy
    return gy1


def _chunk(spec: ConvSpec, sizes, itemsize: int) -> int:
    bins = math.prod(sizes[:-1]) * (sizes[-1] // 2 + 1)
    per_sample = 2 * itemsize * bins * (spec.in_channels + spec.out_channels) * 2
    return batch_chunk(spec.in_shape[0], per_sample)


def forward(x: np.ndarray, w: np.ndarray, spec: ConvSpec) -> np.ndarray:
    """Shape: x (N, C_in, *in), w (C_out, C_in/G, *k) -> y (N, C_out, *out)."""
    dtype = _compute_dtype(x, w)
    sizes, _, full_out = _sizes(spec)
    g = spec.groups
    w_f = np.conj(_kernel_spectrum(w, spec, sizes, dtype))
    n_all = x.shape[0]
    y = np.empty(spec.out_shape, dtype=np.result_type(x, w))
    pick = tuple(slice(0, (o - 1) * s + 1, s) for o, s in zip(spec.out_spatial, spec.stride))
    step = _chunk(spec, sizes, np.dtype(dtype).itemsize)
    for start in range(0, n_all, step):
        xs = _padded(x[start : start + step], spec, dtype)
        x_f = _rfft(xs, sizes, spec)
        n = xs.shape[0]
        y_f = _contract(x_f.reshape(n, g, -1, *x_f.shape[2:]), w_f)
        y1 = _irfft(y_f.reshape(n, spec.out_channels, *y_f.shape[3:]), sizes, spec)
        y[start : start + n] = y1[(slice(None), slice(None), *pick)]
    return y


def grad_input(gy: np.ndarray, w: np.ndarray, spec: ConvSpec, x_shape) -> np.ndarray:
    """Shape: gy (N, C_out, *out), w (C_out, C_in/G, *k) -> gx (N, C_in, *in)."""
    dtype = _compute_dtype(gy, w)
    sizes, _, full_out = _sizes(spec)
    g = spec.groups
    # (G, Og, Cg, F') -> (G, Cg, Og, F'): contract over the output channels
    w_f = _kernel_spectrum(w, spec, sizes, dtype).swapaxes(1, 2)
    n_all = gy.shape[0]
    gx = np.empty((n_all, spec.in_channels, *spec.in_shape[2:]), dtype=np.result_type(gy, w))
    crop = tuple(slice(lo, lo + i) for (lo, _), i in zip(spec.padding, spec.in_shape[2:]))
    step = _chunk(spec, sizes, np.dtype(dtype).itemsize)
    for start in range(0, n_all, step):
        gy1 = _spread(gy[start : start + step], spec, full_out, dtype)
        n = gy1.shape[0]
        gy_f = _rfft(gy1, sizes, spec)
        gx_f = _contract(gy_f.reshape(n, g, -1, *gy_f.shape[2:]), w_f)
        gxp = _irfft(gx_f.reshape(n, spec.in_channels, *gx_f.shape[3:]), sizes, spec)
        gx[start : start + n] = gxp[(slice(None), slice(None), *crop)]
    return gx.reshape(x_shape)


def grad_weight(x: np.ndarray, gy: np.ndarray, spec: ConvSpec, w_shape) -> np.ndarray:
    """Shape: x (N, C_in, *in), gy (N, C_out, *out) -> gw (C_out, C_in/G, *k)."""
    dtype = _compute_dtype(x, gy)
    sizes, k_eff, full_out = _sizes(spec)
    g = spec.groups
    o, c_g = w_shape[:2]
    bins = (*sizes[:-1], sizes[-1] // 2 + 1)
    gw_f = np.zeros((g, o // g, c_g, *bins), dtype=np.result_type(dtype, np.complex64))
    n_all = x.shape[0]
    step = _chunk(spec, sizes, np.dtype(dtype).itemsize)
    for start in range(0, n_all, step):
        x_f = _rfft(_padded(x[start : start + step], spec, dtype), sizes, spec)
        gy_f = np.conj(_rfft(_spread(gy[start : start + step], spec, full_out, dtype), sizes, spec))
        n = x_f.shape[0]
        # sum over the batch: (G, Og, Cg, F') += sum_n conj(GY) (n, G, Og, F') * X (n, G, Cg, F')
        gy_f = gy_f.reshape(n, g, o // g, *bins)
        x_f = x_f.reshape(n, g, c_g, *bins)
        if n == 1 or c_g == 1 or o // g == 1:
            gw_f += np.einsum("ngo...,ngc...->goc...", gy_f, x_f)
        else:
            f = math.prod(bins)
            a = np.ascontiguousarray(gy_f.reshape(n, g, o // g, f).transpose(3, 1, 2, 0))  # (F,G,Og,n)
            b = np.ascontiguousarray(x_f.reshape(n, g, c_g, f).transpose(3, 1, 0, 2))  # (F,G,n,Cg)
            gw_f += np.matmul(a, b).transpose(1, 2, 3, 0).reshape(g, o // g, c_g, *bins)
    gwd = _irfft(gw_f.reshape(o, c_g, *bins), sizes, spec)
    taps = tuple(slice(0, k, d) for k, d in zip(k_eff, spec.dilation))
    return (
        np.ascontiguousarray(gwd[(slice(None), slice(None), *taps)])
        .astype(np.result_type(x, gy), copy=False)
        .reshape(w_shape)
    )
