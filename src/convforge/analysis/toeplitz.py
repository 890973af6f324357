"""Convolution as a matrix: the Toeplitz (doubly block circulant) view and im2col.

A convolution is linear in its input, so it is a matrix: ``T @ x.ravel() ==
conv(x).ravel()``. Row ``(o, i)`` of ``T`` holds the weights of output channel ``o`` at the
columns of the input cells that output position ``i`` reads, so every row is the
previous one shifted by the stride: constant along diagonals (Toeplitz), blocks of
blocks in 2-D. Its transpose is the transposed convolution, which is why the input
gradient of a convolution is a transposed convolution (the CMU lecture's "adjoint").

im2col is the other matrix form: the input's patches as columns, so that the
convolution is ``weight_matrix @ patches``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import scipy.sparse

from .. import spec as sp
from ..kernels.im2col import columns
from .windows import ZERO_PAD, window_indices

__all__ = ["conv_transpose_toeplitz", "im2col_labels", "im2col_view", "toeplitz"]


def _weight_array(op: str, weight) -> np.ndarray:
    array = np.asarray(weight)
    if array.ndim < 3:
        raise ValueError(
            f"{op}: weight must be (C_out, C_in/groups, *kernel) with 1 to 3 spatial dimensions, "
            f"but got weight of shape {array.shape}"
        )
    if not np.issubdtype(array.dtype, np.number):
        raise TypeError(f"{op}: weight must be numeric, but got dtype {array.dtype}")
    return array


def _split_batch(op: str, input_shape: Sequence[int], n: int) -> tuple[int, tuple[int, ...]]:
    """(batch, (C, *spatial)) from an unbatched ``(C, *spatial)`` or batched shape."""
    shape = tuple(int(s) for s in input_shape)
    if len(shape) == n + 1:
        return 1, shape
    if len(shape) == n + 2:
        return shape[0], shape[1:]
    raise ValueError(
        f"{op}: input_shape must be (C, *spatial) or (N, C, *spatial) with {n} spatial "
        f"dimensions (the weight's), but got input_shape={shape}"
    )


def _matrix(weight: np.ndarray, spec: sp.ConvSpec) -> scipy.sparse.csr_matrix:
    """The Toeplitz matrix of one sample: ``(C_out * L, C_in * prod(spatial))``."""
    g = spec.groups
    o_g = spec.out_channels // g
    c_g = spec.in_channels // g
    length = math.prod(spec.out_spatial)
    taps = math.prod(spec.kernel_size)
    index = window_indices(spec)  # (G, Cg, L, K)
    cols = np.broadcast_to(index[:, None], (g, o_g, c_g, length, taps))
    # row of output channel g*Og + og at position l: (g*Og + og)*L + l
    channel = np.arange(g * o_g).reshape(g, o_g, 1, 1, 1)
    rows = np.broadcast_to(channel * length + np.arange(length).reshape(1, 1, 1, length, 1), cols.shape)
    values = np.broadcast_to(weight.reshape(g, o_g, c_g, 1, taps), cols.shape)
    keep = cols != ZERO_PAD
    shape = (spec.out_channels * length, spec.in_channels * math.prod(spec.in_shape[2:]))
    # duplicates (reflect/circular padding reading one cell twice) are summed
    matrix = scipy.sparse.coo_matrix((values[keep], (rows[keep], cols[keep])), shape=shape)
    return matrix.tocsr()


def _batched(matrix: scipy.sparse.csr_matrix, batch: int) -> scipy.sparse.csr_matrix:
    if batch == 1:
        return matrix
    return scipy.sparse.kron(scipy.sparse.identity(batch, dtype=matrix.dtype), matrix, format="csr")


def toeplitz(
    weight,
    input_shape: Sequence[int],
    stride=1,
    padding=0,
    dilation=1,
    groups: int = 1,
    padding_mode: str = "zeros",
) -> scipy.sparse.csr_matrix:
    """The sparse matrix ``T`` of a convolution: ``T @ x.ravel() == conv(x).ravel()``.

    Arguments mean what they mean in ``conv1d/2d/3d`` (padding may be ``'same'``,
    ``'valid'`` or asymmetric; any ``padding_mode``). ``T.T`` is the matching transposed
    convolution: ``T.T @ y.ravel() == conv_transpose(y, weight, stride, padding, ...)``
    when no ``output_padding`` is needed (see :func:`conv_transpose_toeplitz`).

    Parameters
    ----------
    weight : array_like
        ``(C_out, C_in/groups, *kernel)``, 1 to 3 spatial dimensions.
    input_shape : sequence of int
        ``(C_in, *spatial)``, or ``(N, C_in, *spatial)`` for a block-diagonal matrix
        acting on the whole batch.

    Returns
    -------
    scipy.sparse.csr_matrix
        Shape ``(N * C_out * prod(out_spatial), N * C_in * prod(spatial))``, the weight's
        dtype; row and column order are those of ``ravel()`` on the output and input.

    Examples
    --------
    The CMU lecture's 1-D example, ``[w1, w2, w3]`` over five inputs with padding 1:

    >>> toeplitz(np.array([[[1.0, 2.0, 3.0]]]), (1, 5), padding=1).toarray()
    array([[2., 3., 0., 0., 0.],
           [1., 2., 3., 0., 0.],
           [0., 1., 2., 3., 0.],
           [0., 0., 1., 2., 3.],
           [0., 0., 0., 1., 2.]])
    """
    op = "toeplitz"
    w = _weight_array(op, weight)
    n = w.ndim - 2
    batch, sample = _split_batch(op, input_shape, n)
    args = sp.ConvArgs.parse(
        op, n, stride=stride, padding=padding, dilation=dilation, groups=groups, padding_mode=padding_mode
    )
    spec = args.resolve(sp.Operand((1, *sample)), sp.Operand(w.shape))  # any numeric weight
    return _batched(_matrix(w, spec), batch)


def conv_transpose_toeplitz(
    weight,
    input_shape: Sequence[int],
    stride=1,
    padding=0,
    output_padding=0,
    groups: int = 1,
    dilation=1,
) -> scipy.sparse.csr_matrix:
    """The sparse matrix ``M`` of a transposed convolution: ``M @ x.ravel() ==
    conv_transpose(x).ravel()``; arguments in ``conv_transpose*d``'s order.

    ``M`` is the transpose of the Toeplitz matrix of the convolution whose input gradient
    the transposed convolution is (weight ``(C_in, C_out/groups, *kernel)`` read as a
    convolution weight from ``C_out`` to ``C_in`` channels). With ``output_padding`` that
    convolution may produce more positions than ``x`` has; those rows are dropped.
    """
    op = "conv_transpose_toeplitz"
    w = _weight_array(op, weight)
    n = w.ndim - 2
    batch, sample = _split_batch(op, input_shape, n)
    sizes = {"stride": stride, "padding": padding, "dilation": dilation, "output_padding": output_padding}
    args = sp.ConvArgs.parse(op, n, groups=groups, transposed=True, **sizes)
    spec = args.resolve(sp.Operand((1, *sample)), sp.Operand(w.shape))  # any numeric weight
    matrix = _matrix(w, spec)
    # keep the rows of the convolution's outputs that x actually has
    rows = np.arange(matrix.shape[0]).reshape(spec.out_channels, *spec.out_spatial)
    rows = rows[(slice(None), *(slice(0, s) for s in sample[1:]))].ravel()
    return _batched(matrix[rows].T.tocsr(), batch)


# --------------------------------------------------------------------------------------
# im2col
# --------------------------------------------------------------------------------------
def _window_spec(op: str, sample_shape: tuple[int, ...], kernel_size, stride, padding, dilation):
    n = len(sample_shape) - 1
    if n < 1:
        raise ValueError(f"{op}: input must be (C, *spatial), but got shape {sample_shape}")
    kernel = sp.ntuple(kernel_size, n, "kernel_size", op, minimum=1)
    args = sp.ConvArgs.parse(op, n, stride=stride, padding=padding, dilation=dilation)
    return args.resolve(sp.Operand((1, *sample_shape)), sp.Operand((1, sample_shape[0], *kernel)))


def im2col_view(x, kernel_size, stride=1, padding=0, dilation=1) -> np.ndarray:
    """The patch matrix of one input: column ``l`` is the window of output position ``l``.

    Shape: ``x`` is ``(C, *spatial)``; the result is ``(C * prod(kernel_size), L)`` with
    rows ordered (channel, tap) and ``L = prod(out_spatial)``, the layout of
    ``F.unfold``. A convolution is then ``weight.reshape(C_out, -1) @ im2col_view(x)``.
    The CMU lecture writes its transpose (one row per output).
    """
    x = np.asarray(x)
    spec = _window_spec("im2col_view", x.shape, kernel_size, stride, padding, dilation)
    # (1, 1, C*K, L) -> (C*K, L)
    return columns(x[None], spec)[0, 0].copy()


def im2col_labels(input_shape: Sequence[int], kernel_size, stride=1, padding=0, dilation=1) -> np.ndarray:
    """:func:`im2col_view` with names instead of values: ``'x[i,j]'``, or ``'0'`` for padding.

    ``input_shape`` is ``(C, *spatial)``; the channel appears in the names only when
    ``C > 1``. Indices are 0-based.
    """
    sample = tuple(int(s) for s in input_shape)
    spec = _window_spec("im2col_labels", sample, kernel_size, stride, padding, dilation)
    index = window_indices(spec)[0]  # (C, L, K)
    channels, spatial = sample[0], sample[1:]
    names = np.empty(index.shape, dtype=object)
    for position, flat in np.ndenumerate(index):
        if flat == ZERO_PAD:
            names[position] = "0"
            continue
        c, *cell = np.unravel_index(flat, (channels, *spatial))
        coords = ([c] if channels > 1 else []) + list(cell)
        names[position] = "x[" + ",".join(str(int(v)) for v in coords) + "]"
    # (C, L, K) -> (C, K, L) -> (C*K, L): rows (channel, tap) as im2col_view
    return names.transpose(0, 2, 1).reshape(-1, index.shape[1])
