"""N-d convolution of a Dask array, chunked over space, equal to the in-memory convolution.

Per spatial dimension (``K = d*(k-1) + 1`` the dilated kernel extent, ``s`` the stride,
``lo`` the padding before): output ``j`` reads the padded cells ``[j*s, j*s + K)``, so an
output chunk ``[a, b)`` reads ``[a*s, (b-1)*s + K)`` — its own ``(b-a)*s`` cells plus a halo
of ``h = K - s`` cells (when positive). Padded cell ``p`` holds input cell ``p - lo`` or, past
the border, the cell ``padding_mode`` copies there: mirrored without the edge (reflect),
clamped (replicate), modulo the size (circular), or a zero.

1. **Output chunks.** The input's chunk boundaries divided by the stride (a ``'same'``
   filter keeps the input's chunks), merged where a chunk would be shorter than
   ``ceil(h / s)``: then no block reads more than about twice its own size.
2. **One task per output block.** It takes the input chunks its window touches — near the
   border with reflect or circular padding also those the padding copies from, at the far
   end for circular — cut to the cells it needs, and builds its padded, haloed piece with
   one index map per dimension (the map above: the same cells ``F.pad`` would put there,
   copied, so the values are exact). Reflection is of the array's border, never of a
   chunk's own edge.
3. **The in-memory kernel.** The piece is convolved by ``convforge.functional`` with
   padding 0. The algorithm is the one ``kernels/select.plan`` gives for the largest
   block's convolution with a workspace of :data:`BLOCK_WORKSPACE` (or
   ``backends.workspace_limit`` if smaller): im2col, whose column matrix is ``C_in * taps``
   values per output cell, is turned away for large kernels on large tiles. A piece
   ``c*s + h`` long gives exactly ``c`` outputs.

Per-tap algorithms (reference, gemm, depthwise) give the in-memory result bit for bit
when the in-memory call runs the same one; im2col, whose single GEMM BLAS blocks by matrix
size, and Winograd/FFT, which transform whole tiles, agree to round-off. Channels are
summed over, so a block holds all of them; batch chunks are kept (samples are
independent).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import partial

import dask.array as da
import numpy as np
from dask.base import tokenize
from dask.highlevelgraph import HighLevelGraph

from .. import spec as sp
from ..autograd.tensor import Tensor
from ..backend import backends
from ..functional.conv import conv_nd
from ..kernels import select

# the scratch memory per sample one block may allocate (select.plan turns im2col away past it).
# Dask workers get a few hundred MiB per thread, and a block holds its input, its haloed
# piece and its output besides.
BLOCK_WORKSPACE = 64 << 20


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
        return value.array
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


def _block_plan(spec: sp.ConvSpec, out_chunks, batch: int, algorithm: str, op: str) -> select.Plan:
    """The plan of the largest block: its padded piece convolved with padding 0, chosen by
    ``select.plan`` within :data:`BLOCK_WORKSPACE` (or ``backends.workspace_limit``)."""
    block_out = [max(c) for c in out_chunks]
    piece = tuple(
        (o - 1) * s + sp.effective_kernel_size(k, d)
        for o, s, k, d in zip(block_out, spec.stride, spec.kernel_size, spec.dilation)
    )
    block = replace(
        spec,
        in_shape=(batch, spec.in_channels, *piece),
        padding=((0, 0),) * spec.ndim,
        padding_mode="zeros",
    )
    workspace = min(BLOCK_WORKSPACE, backends.workspace_limit)
    return select.plan(block, algorithm=algorithm, workspace=workspace, op=op)


def _out_chunks(in_chunks: Sequence[int], stride: int, extent: int, out: int) -> tuple[int, ...]:
    """Output chunk sizes of one spatial dimension (see the module docstring, step 1).

    Boundaries are the input chunk boundaries divided by the stride; a chunk is at least
    ``ceil(halo / stride)`` (and 1) outputs long, so that it reads at most about twice the
    cells it owns.
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


def source_indices(start: int, stop: int, size: int, pad_lo: int, mode: str) -> np.ndarray:
    """The input cell that padded cells ``[start, stop)`` hold (``-1``: a zero), as ``F.pad``."""
    cells = np.arange(start, stop) - pad_lo
    if mode == "zeros":
        return np.where((cells >= 0) & (cells < size), cells, -1)
    if mode == "replicate":
        return np.clip(cells, 0, size - 1)
    if mode == "circular":
        return np.mod(cells, size)
    cells = np.abs(cells)  # reflect: mirror about cell 0 and cell size-1, not repeating them
    return np.where(cells >= size, 2 * (size - 1) - cells, cells)


@dataclass(frozen=True)
class _Gather:
    """How one output block reads one spatial dimension of the input.

    ``chunks``: the input chunks it needs (ascending); ``cuts``: the slice of each it keeps;
    ``take``: per padded cell of the block, the cell of the concatenated cuts (the length of
    the cuts stands for a zero), or a slice when that is a contiguous run.
    """

    chunks: tuple[int, ...]
    cuts: tuple[slice, ...]
    take: slice | np.ndarray
    zero: bool


def _gathers(
    in_chunks: Sequence[int], out_chunks: Sequence[int], stride: int, extent: int, pad_lo: int, mode: str
) -> list[_Gather]:
    """One :class:`_Gather` per output chunk of one spatial dimension."""
    sizes = np.asarray(in_chunks)
    ends = np.cumsum(sizes)
    starts = ends - sizes
    gathers, first = [], 0
    for count in out_chunks:
        cells = source_indices(
            first * stride, (first + count - 1) * stride + extent, int(ends[-1]), pad_lo, mode
        )
        first += count
        real = cells >= 0
        owner = np.searchsorted(ends, np.where(real, cells, 0), side="right")  # input chunk per cell
        ids = np.unique(owner[real]) if real.any() else np.array([0])
        lows = np.array([cells[real & (owner == i)].min(initial=starts[i]) for i in ids]) - starts[ids]
        highs = np.array([cells[real & (owner == i)].max(initial=starts[i]) for i in ids]) - starts[ids] + 1
        offsets = np.concatenate([[0], np.cumsum(highs - lows)])
        position = np.minimum(np.searchsorted(ids, owner), len(ids) - 1)  # index into ids
        take = np.where(real, offsets[position] + cells - starts[owner] - lows[position], offsets[-1])
        run = take[0] + np.arange(len(take))
        gathers.append(
            _Gather(
                tuple(int(i) for i in ids),
                tuple(slice(int(lo), int(hi)) for lo, hi in zip(lows, highs)),
                slice(int(take[0]), int(take[0]) + len(take)) if np.array_equal(take, run) else take,
                not real.all(),
            )
        )
    return gathers


# --------------------------------------------------------------------------------------
# blocks
# --------------------------------------------------------------------------------------
def _assemble(pieces, gathers: Sequence[_Gather], cuts: tuple[slice, ...] = ()) -> np.ndarray:
    """Concatenate the nested input chunks, each first cut to the cells it contributes."""
    depth = len(cuts)
    if depth == len(gathers):
        return pieces[(slice(None), slice(None), *cuts)]
    parts = [_assemble(piece, gathers, (*cuts, cut)) for piece, cut in zip(pieces, gathers[depth].cuts)]
    return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=2 + depth)


def _padded_piece(pieces, gathers: Sequence[_Gather]) -> np.ndarray:
    """The block's padded, haloed input (N, C, *window): cells copied as ``F.pad`` would."""
    x = _assemble(pieces, gathers)
    for dim, gather in enumerate(gathers):
        axis = 2 + dim
        if gather.zero:
            zeros = np.zeros((*x.shape[:axis], 1, *x.shape[axis + 1 :]), dtype=x.dtype)
            x = np.concatenate([x, zeros], axis=axis)
        if isinstance(gather.take, slice):
            x = x[(slice(None),) * axis + (gather.take,)]
        else:
            x = np.take(x, gather.take, axis=axis)
    return x


def _conv_block(pieces, weight, bias, *, gathers, args: sp.ConvArgs, algorithm: str):
    """Convolve one block's padded piece with padding 0: the in-memory kernel."""
    x = _padded_piece(pieces, gathers)
    return conv_nd(args, x, weight, bias, algorithm=algorithm).array


def _nested_keys(name: str, batch: int, gathers: Sequence[_Gather]) -> list:
    """The keys of the input chunks a block reads, nested one list per spatial dimension."""

    def nest(prefix: tuple[int, ...], depth: int):
        if depth == len(gathers):
            return (name, batch, 0, *prefix)
        return [nest((*prefix, i), depth + 1) for i in gathers[depth].chunks]

    return nest((), 0)


def _graph(xb: da.Array, w, b, spec: sp.ConvSpec, args: sp.ConvArgs, algorithm: str, op: str) -> da.Array:
    """The (N, C_out, *out) dask array of one task per output block of ``xb`` (N, C, *spatial)."""
    n = spec.ndim
    extents = [sp.effective_kernel_size(k, d) for k, d in zip(spec.kernel_size, spec.dilation)]
    out_chunks = [
        _out_chunks(xb.chunks[2 + i], spec.stride[i], extents[i], spec.out_spatial[i]) for i in range(n)
    ]
    gathers = [
        _gathers(
            xb.chunks[2 + i], out_chunks[i], spec.stride[i], extents[i], spec.padding[i][0], spec.padding_mode
        )
        for i in range(n)
    ]
    algorithm_name = _block_plan(spec, out_chunks, max(xb.chunks[0]), algorithm, op).forward_algorithm
    block_args = replace(args, padding=((0, 0),) * n, padding_mode="zeros")
    name = f"convforge-{op}-{tokenize(xb, w, b, spec, algorithm_name)}"
    weight_key, bias_key = (f"{name}-weight",), (f"{name}-bias",)
    graph: dict = {weight_key: w, bias_key: b}
    for batch in range(xb.numblocks[0]):
        for index in itertools.product(*(range(len(c)) for c in out_chunks)):
            block_gathers = tuple(gathers[i][j] for i, j in enumerate(index))
            keys = _nested_keys(xb.name, batch, block_gathers)
            block = partial(_conv_block, gathers=block_gathers, args=block_args, algorithm=algorithm_name)
            graph[(name, batch, 0, *index)] = (block, keys, weight_key, bias_key)
    layer = HighLevelGraph.from_collections(name, graph, dependencies=[xb])
    chunks = (xb.chunks[0], (spec.out_channels,), *out_chunks)
    return da.Array(layer, name, chunks, meta=np.empty((0,) * (n + 2), dtype=xb.dtype))


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
    ``algorithm='auto'`` runs in every block what ``kernels/select.plan`` picks for the
    largest block within :data:`BLOCK_WORKSPACE` (64 MiB, or ``cf.backends.workspace_limit``
    if smaller) of scratch memory per sample.
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
    b = None if bias is None else _ndarray(op, "bias", bias)
    layout = _layout(op, tuple(x.shape), n)
    lead = {"batched": (), "unbatched": (1,), "plain": (1, 1)}[layout]
    in_shape = (*lead, *x.shape)
    args = sp.ConvArgs.parse(
        op, n, stride=stride, padding=padding, dilation=dilation, groups=groups, padding_mode=padding_mode
    )
    spec = args.resolve(sp.Operand(in_shape, str(x.dtype)), w, b)
    select.check_algorithm(op, algorithm)
    # ---- graph building from here on
    xb = x.reshape(in_shape) if lead else x  # (N, C, *spatial)
    y = _graph(xb.rechunk({1: -1}), w, b, spec, args, algorithm, op)
    if layout == "unbatched":
        return y[0]
    if layout == "plain":
        return y[0, 0] if spec.out_channels == 1 else y[0]
    return y
