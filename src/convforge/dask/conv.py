"""N-d convolution of a Dask array, chunked over space, equal to the in-memory convolution.

How a chunked convolution stays exact (per spatial dimension; ``K = d*(k-1) + 1`` the
dilated kernel extent, ``s`` the stride, ``P = in + pad_lo + pad_hi`` the padded size):

1. **Pad once, globally.** The whole array is padded with ``padding_mode`` (``da.pad``:
   zeros, reflect, edge = replicate, wrap = circular), so the border values are those of
   the in-memory ``F.pad`` and not the reflection of a chunk's own edge.
2. **Align chunks to the stride grid.** Output ``j`` reads padded cells
   ``[j*s, j*s + K)``. Output chunk ``[a, b)`` therefore owns the padded cells
   ``[a*s, b*s)`` and needs a halo of ``h = max(K - s, 0)`` cells of the next chunk. The
   padded array is rechunked so every chunk starts at a multiple of ``s`` (the last one
   runs to ``P``), each at least ``h`` wide. The output boundaries are the input's own
   chunk boundaries divided by the stride (``a = b_in // s``; a 'same' filter keeps the
   input's chunks), merged where a chunk would be narrower than the halo.
3. **One-sided overlap, one kernel call per chunk.** ``da.overlap.overlap`` with depth
   ``(0, h)`` appends the halo; each block is then convolved in memory with padding 0
   (a chunk ``c*s + h`` wide gives exactly ``c`` outputs; the last chunk gives the rest).

Channels are summed over, so the channel axis is rechunked whole; batch chunks are kept
(samples are independent). Every block runs the algorithm the in-memory call would pick
for the whole array, so the same kernel computes both.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import dask.array as da
import numpy as np

from .. import functional as F
from .. import spec as sp
from ..autograd.tensor import Tensor
from ..backend import backends
from ..kernels import select

# convforge padding_mode -> numpy/dask pad mode
_PAD_MODES = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


# --------------------------------------------------------------------------------------
# arguments
# --------------------------------------------------------------------------------------
def check_dask_array(op: str, name: str, value) -> da.Array:
    """``value`` must be a dask array of known shape."""
    if not isinstance(value, da.Array):
        raise TypeError(
            f"{op}: {name} must be a dask.array.Array (wrap NumPy data with dask.array.from_array), "
            f"but got {name} of type {type(value).__name__}"
        )
    if any(math.isnan(size) for size in value.shape):
        raise ValueError(
            f"{op}: {name} must have a known shape (call compute_chunk_sizes() first), "
            f"but got {name} of shape {value.shape}"
        )
    return value


def _ndarray(op: str, name: str, value) -> np.ndarray:
    if isinstance(value, Tensor):
        return value.data
    if isinstance(value, np.ndarray):
        return value
    raise TypeError(
        f"{op}: {name} must be a NumPy array or a convforge Tensor, "
        f"but got {name} of type {type(value).__name__}"
    )


def _layout(op: str, shape: tuple[int, ...], n: int) -> str:
    """'batched' (N, C, *spatial), 'unbatched' (C, *spatial) or 'plain' (*spatial)."""
    layouts = {n + 2: "batched", n + 1: "unbatched", n: "plain"}
    if len(shape) not in layouts:
        raise ValueError(
            f"{op}: input must be {n}-D (one single-channel image), {n + 1}-D (C, *spatial) or "
            f"{n + 2}-D (N, C, *spatial) for a {n + 2}-D weight, but got input of shape {shape}"
        )
    return layouts[len(shape)]


def _forward_algorithm(spec: sp.ConvSpec, algorithm: str, op: str) -> str:
    """The algorithm the in-memory call would run forward for ``spec`` (zero-padded)."""
    if algorithm == "auto" and getattr(backends, "autotune", False):
        # autotuning times the whole-array geometry; every block tunes its own instead
        select.check_algorithm(op, algorithm)
        return "auto"
    kernel = select.kernel_for(spec, algorithm, op)
    return getattr(kernel, "forward_algorithm", None) or kernel.NAME


def _out_chunks(in_chunks: Sequence[int], stride: int, extent: int, out: int) -> tuple[int, ...]:
    """Output chunk sizes of one spatial dimension (see the module docstring, step 2).

    Boundaries are the input chunk boundaries divided by the stride; a chunk is at least
    ``ceil(halo / stride)`` (and 1) outputs long so that its padded input, ``c*s`` cells,
    holds the previous chunk's whole halo.
    """
    halo = max(extent - stride, 0)
    smallest = max(-(-halo // stride), 1)
    cuts, previous, boundary = [], 0, 0
    for size in in_chunks[:-1]:
        boundary += size
        cut = boundary // stride
        if cut - previous >= smallest and cut < out:
            cuts.append(cut)
            previous = cut
    edges = [0, *cuts, out]
    return tuple(b - a for a, b in zip(edges[:-1], edges[1:]))


def _padded_chunks(out_chunks: tuple[int, ...], stride: int, padded_size: int) -> tuple[int, ...]:
    """Padded-input chunk sizes: ``c*s`` per output chunk, the last one up to the end."""
    widths = [c * stride for c in out_chunks[:-1]]
    return (*widths, padded_size - sum(widths))


# --------------------------------------------------------------------------------------
# blocks
# --------------------------------------------------------------------------------------
def _conv_block(block, weight, bias, *, n, stride, dilation, groups, algorithm):
    """Convolve one haloed block (N, C, *spatial) with padding 0: the in-memory kernel."""
    conv_nd = (F.conv1d, F.conv2d, F.conv3d)[n - 1]
    return conv_nd(block, weight, bias, stride, 0, dilation, groups, algorithm=algorithm).data


# --------------------------------------------------------------------------------------
# the public function
# --------------------------------------------------------------------------------------
def conv(
    x: da.Array,
    weight,
    bias=None,
    stride=1,
    padding=0,
    dilation=1,
    groups: int = 1,
    padding_mode: str = "zeros",
    *,
    algorithm: str = "auto",
) -> da.Array:
    """Convolve a dask array chunk by chunk; equal to ``conv1d/2d/3d`` on the whole array.

    Parameters are those of :func:`convforge.functional.conv2d` (stride, padding as an int,
    per-dimension tuple, ``2n`` ints in ``F.pad`` order, ``(before, after)`` pairs,
    ``'same'`` or ``'valid'``; dilation; groups; ``padding_mode`` zeros, reflect, replicate
    or circular; ``algorithm`` to force a kernel). The number of spatial dimensions is
    ``weight.ndim - 2``. ``weight`` and ``bias`` are NumPy arrays (or Tensors); they travel
    with the graph.

    Shape: input (N, C_in, *spatial), (C_in, *spatial), or (*spatial) for one
    single-channel image; weight (C_out, C_in/groups, *kernel); output (N, C_out, *out),
    (C_out, *out), or for a plain image (*out) when C_out = 1 and (C_out, *out) otherwise.
    Per dimension ``out = floor((in + pad_lo + pad_hi - dilation*(k-1) - 1) / stride) + 1``.

    Output chunks follow the input's spatial chunks divided by the stride (merged where a
    chunk is narrower than the kernel's halo); the channel axis becomes one chunk.
    """
    x = check_dask_array("dask.conv", "input", x)
    w = _ndarray("dask.conv", "weight", weight)
    n = w.ndim - 2
    if n not in (1, 2, 3):
        raise ValueError(
            f"dask.conv: weight must be 3-D, 4-D or 5-D (C_out, C_in/groups, *kernel), "
            f"but got weight of shape {w.shape}"
        )
    op = f"conv{n}d"
    sp.check_dtype(op, "input", x.dtype)
    sp.check_dtype(op, "weight", w.dtype)
    if w.dtype != x.dtype:
        raise TypeError(
            f"{op}: input and weight must have the same dtype, but got input {x.dtype} and weight {w.dtype}"
        )
    b = None if bias is None else _ndarray(op, "bias", bias)
    if b is not None and b.dtype != x.dtype:
        raise TypeError(f"{op}: bias must have the input's dtype {x.dtype}, but got bias {b.dtype}")
    layout = _layout(op, tuple(x.shape), n)
    lead = {"batched": (), "unbatched": (1,), "plain": (1, 1)}[layout]
    in_shape = (*lead, *x.shape)
    spec = sp.conv_spec(op, in_shape, w.shape, n, stride, padding, dilation, groups, padding_mode)
    if b is not None and b.shape != (spec.out_channels,):
        raise ValueError(
            f"{op}: bias must have shape ({spec.out_channels},) (one value per output channel), "
            f"but got bias of shape {b.shape}"
        )
    algorithm_name = _forward_algorithm(spec.zero_padded(), algorithm, op)

    # ---- graph building from here on
    xb = x.reshape(in_shape) if lead else x  # (N, C, *spatial)
    xb = xb.rechunk({1: -1})
    extents = [sp.effective_kernel_size(k, d) for k, d in zip(spec.kernel_size, spec.dilation)]
    out_chunks = [
        _out_chunks(xb.chunks[2 + i], spec.stride[i], extents[i], spec.out_spatial[i]) for i in range(n)
    ]
    xp = _pad(xb, spec)
    xp = xp.rechunk({2 + i: _padded_chunks(out_chunks[i], spec.stride[i], xp.shape[2 + i]) for i in range(n)})
    halos = {2 + i: (0, max(extents[i] - spec.stride[i], 0)) for i in range(n)}
    if any(hi for _, hi in halos.values()):
        xp = da.overlap.overlap(xp, depth=halos, boundary="none", allow_rechunk=False)
    y = xp.map_blocks(
        _conv_block,
        w,
        b,
        n=n,
        stride=spec.stride,
        dilation=spec.dilation,
        groups=spec.groups,
        algorithm=algorithm_name,
        chunks=(xb.chunks[0], (spec.out_channels,), *out_chunks),
        dtype=x.dtype,
        meta=np.empty((0,) * (n + 2), dtype=x.dtype),
        token=f"convforge-{op}",
    )
    if layout == "unbatched":
        return y[0]
    if layout == "plain":
        return y[0, 0] if spec.out_channels == 1 else y[0]
    return y


def _pad(x: da.Array, spec: sp.ConvSpec) -> da.Array:
    """Pad the spatial axes once, globally, as the in-memory ``F.pad`` does."""
    if all(lo == 0 and hi == 0 for lo, hi in spec.padding):
        return x
    widths = ((0, 0), (0, 0), *spec.padding)
    if spec.padding_mode == "zeros":
        return da.pad(x, widths, mode="constant", constant_values=0)
    return da.pad(x, widths, mode=_PAD_MODES[spec.padding_mode])
