"""Tensor methods that change shape or pick elements: view, permute, expand, split, gather.

Views (``view``, ``reshape`` when possible, ``permute``/``transpose``, ``squeeze``,
``unsqueeze``, ``expand``, basic indexing, ``chunk``/``split``) share memory with their input,
as torch's; ``view`` refuses a shape the memory layout cannot give without a copy.
"""

from __future__ import annotations

import numbers

import numpy as np

from .ops import elementwise as ew
from .ops import index as index_ops
from .ops import shape as sh
from .ops import where as where_ops
from .tensor_math import _one_dim, _plain, _raw


def _shape_args(shape: tuple) -> tuple:
    """``f(2, 3)``, ``f((2, 3))`` and ``f([2, 3])`` (and a torch.Size) mean the same."""
    if len(shape) == 1 and not isinstance(shape[0], numbers.Integral):
        shape = tuple(shape[0])
    return tuple(int(s) for s in shape)


def _resolve_shape(shape: tuple, size: int, old: tuple) -> tuple:
    """Fill in one -1 and check the element count, with torch's error."""
    if shape.count(-1) > 1:
        raise RuntimeError("only one dimension can be inferred")
    known = int(np.prod([s for s in shape if s != -1]))
    if -1 in shape:
        if known == 0 or size % known:
            raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {size}")
        shape = tuple(size // known if s == -1 else s for s in shape)
    elif known != size:
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {size}")
    return shape


class Size(tuple):
    """``torch.Size``: a tuple of ints that also answers ``numel()``."""

    def numel(self) -> int:
        return int(np.prod(self, dtype=np.int64))

    def __repr__(self) -> str:
        return f"Size({list(self)})"


class ShapeMixin:
    """Shape and indexing methods of :class:`Tensor`."""

    @property
    def T(self):
        return self.permute(*reversed(range(self.ndim)))

    @property
    def mT(self):
        return self.transpose(-2, -1)

    def reshape(self, *shape):
        shape = _resolve_shape(_shape_args(shape), self._array.size, self.shape)
        return sh.Reshape.apply(self, shape)

    def view(self, *shape):
        """The same memory with another shape; an error where that needs a copy (use reshape)."""
        if len(shape) == 1 and not isinstance(shape[0], (numbers.Integral, tuple, list)):
            # view(dtype): the same bytes read as another dtype, as torch's (no gradient)
            dtype = np.dtype(shape[0])
            if dtype == self.dtype:
                return self
            out = _plain(self._array.view(dtype))
            out._become_view_of(self)
            return out
        shape = _resolve_shape(_shape_args(shape), self._array.size, self.shape)
        try:
            np.reshape(self._array, shape, copy=False)
        except ValueError:
            raise RuntimeError(
                "view size is not compatible with input tensor's size and stride (at least one dimension "
                "spans across two contiguous subspaces). Use .reshape(...) instead."
            ) from None
        return sh.Reshape.apply(self, shape)

    def view_as(self, other):
        return self.view(other.shape)

    def reshape_as(self, other):
        return self.reshape(other.shape)

    def flatten(self, start_dim: int = 0, end_dim: int = -1):
        if self.ndim == 0:
            return self.reshape(1)
        start, end = _one_dim("flatten", start_dim, self.ndim), _one_dim("flatten", end_dim, self.ndim)
        if start > end:
            raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
        return self.reshape((*self.shape[:start], -1, *self.shape[end + 1 :]))

    def unflatten(self, dim: int, sizes):
        dim = _one_dim("unflatten", dim, self.ndim)
        sizes = _resolve_shape(tuple(int(s) for s in sizes), self.shape[dim], ())
        return self.reshape((*self.shape[:dim], *sizes, *self.shape[dim + 1 :]))

    def permute(self, *dims):
        dims = _shape_args(dims)
        if len(dims) != self.ndim:
            raise RuntimeError(
                "permute(sparse_coo): number of dimensions in the tensor input does not match the length "
                f"of the desired ordering of dimensions i.e. input.dim() = {self.ndim} is not equal to "
                f"len(dims) = {len(dims)}"
            )
        axes = tuple(_one_dim("permute", d, self.ndim) for d in dims)
        if len(set(axes)) != len(axes):
            raise RuntimeError("permute(): duplicate dims are not allowed.")
        return sh.Permute.apply(self, axes)

    def transpose(self, dim0: int, dim1: int):
        if self.ndim == 0:
            return self
        axes = list(range(self.ndim))
        a, b = _one_dim("transpose", dim0, self.ndim), _one_dim("transpose", dim1, self.ndim)
        axes[a], axes[b] = axes[b], axes[a]
        return sh.Permute.apply(self, tuple(axes))

    swapaxes = swapdims = transpose

    def t(self):
        if self.ndim > 2:
            raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {self.ndim}D")
        return self.transpose(0, 1) if self.ndim == 2 else self

    def unsqueeze(self, dim: int):
        dim = _one_dim("unsqueeze", dim, self.ndim + 1)
        return sh.Reshape.apply(self, (*self.shape[:dim], 1, *self.shape[dim:]))

    def squeeze(self, dim=None):
        if dim is None:
            axes = [i for i, s in enumerate(self.shape) if s == 1]
        else:
            dims = (dim,) if isinstance(dim, numbers.Integral) else tuple(dim)
            axes = [_one_dim("squeeze", d, self.ndim) for d in dims]
            axes = [a for a in axes if self.ndim and self.shape[a] == 1]
        if not axes:
            return sh.Reshape.apply(self, self.shape)
        return sh.Reshape.apply(self, tuple(s for i, s in enumerate(self.shape) if i not in axes))

    def expand(self, *sizes):
        sizes = _shape_args(sizes)
        if len(sizes) < self.ndim:
            raise RuntimeError(
                f"expand: the number of sizes provided ({len(sizes)}) must be greater or equal to the "
                f"number of dimensions in the tensor ({self.ndim})"
            )
        old = (1,) * (len(sizes) - self.ndim) + self.shape
        shape = tuple(s if t == -1 else t for s, t in zip(old, sizes))
        for i, (s, t) in enumerate(zip(old, shape)):
            if s != 1 and s != t:
                raise RuntimeError(
                    f"The expanded size of the tensor ({t}) must match the existing size ({s}) at "
                    f"non-singleton dimension {i}.  Target sizes: {list(sizes)}.  Tensor sizes: {list(self.shape)}"
                )
        return sh.Expand.apply(self, shape)

    def expand_as(self, other):
        return self.expand(other.shape)

    def repeat(self, *sizes):
        sizes = _shape_args(sizes)
        if len(sizes) < self.ndim:
            raise RuntimeError(
                "Number of dimensions of repeat dims can not be smaller than number of dimensions of tensor"
            )
        return index_ops.Repeat.apply(self, sizes)

    def flip(self, *dims):
        dims = _shape_args(dims)
        return sh.Flip.apply(self, tuple(_one_dim("flip", d, self.ndim) for d in dims))

    def contiguous(self, memory_format=None):
        """``self`` if its memory is C-ordered, else a C-ordered copy (differentiable)."""
        return self if self._array.flags.c_contiguous else ew.Clone.apply(self)

    def __getitem__(self, index):
        index = tuple(_raw(i) for i in index) if isinstance(index, tuple) else _raw(index)
        return sh.GetItem.apply(self, index)

    # ---- splitting --------------------------------------------------------------------
    def narrow(self, dim: int, start: int, length: int):
        dim = _one_dim("narrow", dim, self.ndim)
        return self[(slice(None),) * dim + (slice(start, start + length),)]

    def split(self, split_size_or_sections, dim: int = 0):
        """Pieces along ``dim``: of ``split_size`` each (the last may be smaller) or of the given sizes."""
        dim = _one_dim("split", dim, self.ndim)
        size = self.shape[dim]
        if isinstance(split_size_or_sections, numbers.Integral):
            step = int(split_size_or_sections)
            sections = [min(step, size - start) for start in range(0, size, step)] if step else [size]
        else:
            sections = [int(s) for s in split_size_or_sections]
            if sum(sections) != size:
                raise RuntimeError(
                    f"split_with_sizes expects split_sizes to sum exactly to {size} (input tensor's size at "
                    f"dimension {dim}), but got split_sizes={sections}"
                )
        starts = np.cumsum([0, *sections[:-1]])
        return tuple(self.narrow(dim, int(s), n) for s, n in zip(starts, sections))

    def chunk(self, chunks: int, dim: int = 0):
        """At most ``chunks`` pieces of ``ceil(n / chunks)`` along ``dim``, as torch."""
        if chunks <= 0:
            raise RuntimeError("chunk expects `chunks` to be greater than 0, got: " + str(chunks))
        size = self.shape[_one_dim("chunk", dim, self.ndim)]
        return self.split(max(-(-size // chunks), 1), dim)

    def unbind(self, dim: int = 0):
        dim = _one_dim("unbind", dim, self.ndim)
        return tuple(self[(slice(None),) * dim + (i,)] for i in range(self.shape[dim]))

    # ---- indexed copies ---------------------------------------------------------------
    def masked_fill(self, mask, value):
        """``value`` where ``mask`` (bool, broadcast to self) holds, else self."""
        mask = np.asarray(_raw(mask))
        if mask.dtype != np.bool_:
            raise RuntimeError(
                f"masked_fill_ only supports boolean masks, but got mask with dtype {mask.dtype}"
            )
        fill = value if not hasattr(value, "_array") else value
        if np.ndim(_raw(fill)) != 0:
            raise RuntimeError(
                "masked_fill_ only supports a 0-dimensional value tensor, but got tensor with "
                f"{np.ndim(_raw(fill))} dimension(s)."
            )
        if not hasattr(fill, "_array"):
            fill = np.asarray(fill, dtype=self.dtype)
        return where_ops.Where.apply(np.broadcast_to(mask, self.shape), fill, self)

    def gather(self, dim: int, index):
        index = np.asarray(_raw(index))
        if not np.issubdtype(index.dtype, np.integer):
            raise RuntimeError("gather(): Expected dtype int64 for index")
        return index_ops.Gather.apply(self, _one_dim("gather", dim, self.ndim), index)

    def scatter(self, dim: int, index, src=None, *, value=None, reduce=None):
        """A copy with ``src`` (a tensor, or the number ``value``) written at ``index`` along ``dim``."""
        if reduce is not None:
            raise NotImplementedError("scatter: reduce= is not supported by convforge; use scatter_add")
        return self._scatter(dim, index, value if src is None else src, add=False)

    def scatter_add(self, dim: int, index, src):
        return self._scatter(dim, index, src, add=True)

    def _scatter(self, dim: int, index, src, add: bool):
        index = np.asarray(_raw(index))
        if not np.issubdtype(index.dtype, np.integer):
            raise RuntimeError("scatter(): Expected dtype int64 for index")
        if src is None:
            raise TypeError("scatter: give src (a tensor) or value (a number)")
        if not hasattr(src, "_array"):
            src = np.asarray(src, dtype=self.dtype)
        return index_ops.Scatter.apply(self, _one_dim("scatter", dim, self.ndim), index, src, add)
