"""The tensor routines of the top-level namespace, as torch's.

Creation (``zeros``, ``ones``, ``empty``, ``full``, ``arange``, ``eye``, ``linspace``,
``logspace``, ``rand``, ``randn``, ``randint``, ``normal`` and the ``*_like`` forms; float32
unless told otherwise, random ones from the generator of :mod:`convforge.random`) and
differentiable combination (``cat``, ``stack``, ``where``, ``maximum``, ``minimum``,
``meshgrid``).
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np

from .. import random as cf_random
from ..backend import DEFAULT_DTYPE
from ..device import check_available
from .ops import shape as shape_ops
from .ops import where as where_ops
from .tensor import Tensor, as_tensor

__all__ = [
    "arange",
    "cat",
    "concat",
    "empty",
    "empty_like",
    "eye",
    "full",
    "full_like",
    "linspace",
    "logspace",
    "maximum",
    "meshgrid",
    "minimum",
    "normal",
    "ones",
    "ones_like",
    "rand",
    "rand_like",
    "randint",
    "randn",
    "randn_like",
    "stack",
    "where",
    "zeros",
    "zeros_like",
]


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _size(op: str, size: tuple, keyword=None) -> tuple[int, ...]:
    """``f(2, 3)``, ``f((2, 3))``, ``f([2, 3])`` and ``f(size=(2, 3))`` all mean the shape (2, 3)."""
    if keyword is not None:
        if size:
            raise TypeError(f"{op}: give the size positionally or as size=, not both")
        size = (keyword,)
    if len(size) == 1 and isinstance(size[0], Sequence) and not isinstance(size[0], str):
        size = tuple(size[0])
    if not all(_is_int(s) for s in size):
        raise TypeError(f"{op}: size must be ints, but got size={size!r}")
    if any(s < 0 for s in size):
        raise ValueError(f"{op}: size must be non-negative, but got size={size!r}")
    return tuple(int(s) for s in size)


def _float_dtype(op: str, dtype) -> np.dtype:
    dtype = np.dtype(DEFAULT_DTYPE if dtype is None else dtype)
    if not np.issubdtype(dtype, np.floating):
        raise TypeError(f"{op}: dtype must be a floating dtype, but got dtype={dtype}")
    return dtype


def _check_device(op: str, device) -> None:
    """Creation routines take torch's ``device=``; only devices we compute on pass."""
    if device is not None:
        check_available(device, op)


def _make(array: np.ndarray, requires_grad: bool) -> Tensor:
    return Tensor(array, requires_grad=requires_grad)


# --------------------------------------------------------------------------------------
# creation
# --------------------------------------------------------------------------------------
def zeros(*size_args, size=None, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A tensor of zeros, float32 by default: ``zeros(2, 3)`` or ``zeros((2, 3))``."""
    _check_device("zeros", device)
    return _make(np.zeros(_size("zeros", size_args, size), dtype=dtype or DEFAULT_DTYPE), requires_grad)


def ones(*size_args, size=None, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A tensor of ones, float32 by default."""
    _check_device("ones", device)
    return _make(np.ones(_size("ones", size_args, size), dtype=dtype or DEFAULT_DTYPE), requires_grad)


def empty(*size_args, size=None, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """An uninitialized tensor (float32 by default), as ``torch.empty``."""
    _check_device("empty", device)
    return _make(np.empty(_size("empty", size_args, size), dtype=dtype or DEFAULT_DTYPE), requires_grad)


def eye(n: int, m: int | None = None, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """The n x m identity matrix (m = n by default), float32 unless ``dtype`` says otherwise."""
    _check_device("eye", device)
    rows, cols = _size("eye", (n, n if m is None else m))
    return _make(np.eye(rows, cols, dtype=dtype or DEFAULT_DTYPE), requires_grad)


def linspace(start, end, steps: int, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end`` (both included)."""
    _check_device("linspace", device)
    (count,) = _size("linspace", (steps,))
    values = np.linspace(float(start), float(end), count, dtype=np.float64)
    return _make(values.astype(dtype or DEFAULT_DTYPE), requires_grad)


def logspace(
    start, end, steps: int, base: float = 10.0, *, dtype=None, device=None, requires_grad: bool = False
) -> Tensor:
    """``base ** linspace(start, end, steps)``."""
    _check_device("logspace", device)
    (count,) = _size("logspace", (steps,))
    values = np.power(float(base), np.linspace(float(start), float(end), count, dtype=np.float64))
    return _make(values.astype(dtype or DEFAULT_DTYPE), requires_grad)


def full(size, fill_value, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A tensor filled with ``fill_value``; the dtype follows it (float -> float32, int -> int64)."""
    _check_device("full", device)
    shape = _size("full", (size,))
    if dtype is None:
        if isinstance(fill_value, bool):
            dtype = np.bool_
        elif _is_int(fill_value):
            dtype = np.int64
        else:
            dtype = DEFAULT_DTYPE
    return _make(np.full(shape, fill_value, dtype=dtype), requires_grad)


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Values from ``start`` to ``end`` (excluded) by ``step``: int64 if all are ints, else float32."""
    _check_device("arange", device)
    if end is None:
        start, end = 0, start
    if step == 0:
        raise ValueError("arange: step must be non-zero, but got step=0")
    if dtype is None:
        dtype = np.int64 if all(_is_int(v) for v in (start, end, step)) else DEFAULT_DTYPE
    return _make(np.arange(start, end, step).astype(dtype), requires_grad)


def rand(
    *size_args, size=None, generator=None, dtype=None, device=None, requires_grad: bool = False
) -> Tensor:
    """Uniform samples on [0, 1) from the default (seeded) generator."""
    _check_device("rand", device)
    rng = cf_random.resolve_generator(generator, "rand")
    dtype = _float_dtype("rand", dtype)
    return _make(rng.random(_size("rand", size_args, size), dtype=np.float64).astype(dtype), requires_grad)


def randn(
    *size_args, size=None, generator=None, dtype=None, device=None, requires_grad: bool = False
) -> Tensor:
    """Standard normal samples from the default (seeded) generator."""
    _check_device("randn", device)
    rng = cf_random.resolve_generator(generator, "randn")
    dtype = _float_dtype("randn", dtype)
    return _make(rng.standard_normal(_size("randn", size_args, size)).astype(dtype), requires_grad)


def randint(low, high=None, size=(), generator=None, dtype=None, device=None) -> Tensor:
    """Integers uniform on [low, high) (``randint(high, size)`` means low 0), int64 by default."""
    _check_device("randint", device)
    if high is None or (isinstance(high, Sequence) and size == ()):
        low, high, size = 0, low, (() if high is None else high)
    if not _is_int(low) or not _is_int(high):
        raise TypeError(f"randint: low and high must be ints, but got low={low!r}, high={high!r}")
    if high <= low:
        raise ValueError(f"randint: high must be greater than low, but got low={low}, high={high}")
    rng = cf_random.resolve_generator(generator, "randint")
    shape = _size("randint", (size,))
    return Tensor(rng.integers(low, high, shape).astype(dtype or np.int64))


def normal(mean, std=1.0, size=None, *, generator=None, dtype=None, device=None, requires_grad: bool = False):
    """Normal samples with the given mean and std, as ``torch.normal``'s forms: a tensor of
    means and/or of stds (broadcast; the output has their shape and dtype), or two numbers
    and a ``size``."""
    _check_device("normal", device)
    rng = cf_random.resolve_generator(generator, "normal")
    tensors = [v for v in (mean, std) if isinstance(v, Tensor)]
    if not tensors:
        if size is None:
            raise TypeError(
                "normal: with a number mean and std, give size (e.g. normal(0.0, 1.0, size=(2, 3)))"
            )
        shape = _size("normal", (size,))
        samples = rng.normal(float(mean), float(std), shape)
        return _make(samples.astype(_float_dtype("normal", dtype)), requires_grad)
    if size is not None:
        raise TypeError("normal: size is only taken with a number mean and std")
    mean_a, std_a = (v.array if isinstance(v, Tensor) else v for v in (mean, std))
    if np.any(np.asarray(std_a) < 0):
        raise RuntimeError("normal expects all elements of std >= 0.0")
    shape = np.broadcast_shapes(np.shape(mean_a), np.shape(std_a))
    out_dtype = np.result_type(*(t.dtype for t in tensors))
    samples = mean_a + std_a * rng.standard_normal(shape)
    return Tensor(np.asarray(samples).astype(out_dtype))


def _like(input) -> Tensor:
    return input if isinstance(input, Tensor) else as_tensor(input)


def zeros_like(input, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Zeros with the shape (and dtype, unless given) of ``input``."""
    _check_device("zeros_like", device)
    x = _like(input)
    return _make(np.zeros(x.shape, dtype=dtype or x.dtype), requires_grad)


def ones_like(input, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    _check_device("ones_like", device)
    x = _like(input)
    return _make(np.ones(x.shape, dtype=dtype or x.dtype), requires_grad)


def full_like(input, fill_value, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    _check_device("full_like", device)
    x = _like(input)
    return _make(np.full(x.shape, fill_value, dtype=dtype or x.dtype), requires_grad)


def empty_like(input, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    _check_device("empty_like", device)
    x = _like(input)
    return _make(np.empty(x.shape, dtype=dtype or x.dtype), requires_grad)


def rand_like(input, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    _check_device("rand_like", device)
    x = _like(input)
    return rand(x.shape, dtype=dtype or x.dtype, requires_grad=requires_grad)


def randn_like(input, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    _check_device("randn_like", device)
    x = _like(input)
    return randn(x.shape, dtype=dtype or x.dtype, requires_grad=requires_grad)


# --------------------------------------------------------------------------------------
# combination
# --------------------------------------------------------------------------------------
def _tensor_list(op: str, tensors) -> list[Tensor]:
    if isinstance(tensors, (Tensor, np.ndarray)) or not isinstance(tensors, Sequence):
        raise TypeError(
            f"{op}: tensors must be a sequence of tensors, but got tensors of type {type(tensors).__name__}"
        )
    if len(tensors) == 0:
        raise ValueError(f"{op}: tensors must be a non-empty sequence, but got an empty one")
    return [t if isinstance(t, Tensor) else as_tensor(t) for t in tensors]


def _dim(op: str, dim, ndim: int) -> int:
    if not _is_int(dim):
        raise TypeError(f"{op}: dim must be an int, but got dim={dim!r}")
    if not -ndim <= dim < ndim:
        raise IndexError(f"{op}: dim must be in [{-ndim}, {ndim - 1}], but got dim={dim}")
    return int(dim) % ndim


def cat(tensors, dim: int = 0) -> Tensor:
    """Concatenate along an existing dimension (differentiable).

    Shape: tensors (*, n_i, *) with equal other dimensions -> (*, sum n_i, *).
    """
    items = _tensor_list("cat", tensors)
    first = items[0]
    axis = _dim("cat", dim, max(first.ndim, 1))
    for t in items[1:]:
        if t.ndim != first.ndim or any(
            a != b for i, (a, b) in enumerate(zip(t.shape, first.shape)) if i != axis
        ):
            raise ValueError(
                f"cat: tensors must have the same shape except in dimension {axis}, "
                f"but got shapes {first.shape} and {t.shape}"
            )
    return shape_ops.Concat.apply(axis, *items)


concat = cat


def stack(tensors, dim: int = 0) -> Tensor:
    """Join equally shaped tensors along a new dimension (differentiable).

    Shape: k tensors of shape S -> S with k inserted at ``dim``.
    """
    items = _tensor_list("stack", tensors)
    axis = _dim("stack", dim, items[0].ndim + 1)
    for t in items[1:]:
        if t.shape != items[0].shape:
            raise ValueError(
                f"stack: tensors must all have the same shape, but got shapes {items[0].shape} and {t.shape}"
            )
    return shape_ops.Concat.apply(axis, *(t.unsqueeze(axis) for t in items))


def where(condition, input=None, other=None) -> Tensor:
    """``input`` where ``condition`` holds, else ``other`` (broadcast; differentiable in both).

    ``where(condition)`` alone is ``nonzero(condition, as_tuple=True)``, as torch's.
    """
    if input is None and other is None:
        return as_tensor(condition).nonzero(as_tuple=True)
    if input is None or other is None:
        raise TypeError("where: give both input and other, or neither")
    cond = condition.array if isinstance(condition, Tensor) else np.asarray(condition)
    if cond.dtype != np.bool_:
        raise TypeError(f"where: condition must be a bool tensor, but got condition of dtype {cond.dtype}")
    try:
        np.broadcast_shapes(cond.shape, np.shape(_raw(input)), np.shape(_raw(other)))
    except ValueError as e:
        raise ValueError(
            f"where: condition, input and other must broadcast together, but got shapes "
            f"{cond.shape}, {np.shape(_raw(input))} and {np.shape(_raw(other))}"
        ) from e
    return where_ops.Where.apply(cond, _operand(input), _operand(other))


def _raw(value):
    return value.array if isinstance(value, Tensor) else value


def _operand(value):
    """Tensors stay (they may need gradients); numbers stay scalars so dtypes follow the tensor."""
    if isinstance(value, (Tensor, numbers.Number)):
        return value
    return as_tensor(value)


def _extremum(op: str, input, other, largest: bool) -> Tensor:
    try:
        np.broadcast_shapes(np.shape(_raw(input)), np.shape(_raw(other)))
    except ValueError as e:
        raise ValueError(
            f"{op}: input and other must broadcast together, but got shapes "
            f"{np.shape(_raw(input))} and {np.shape(_raw(other))}"
        ) from e
    return where_ops.Extremum.apply(_operand(input), _operand(other), largest)


def maximum(input, other) -> Tensor:
    """Elementwise maximum (ties share the gradient equally, as torch)."""
    return _extremum("maximum", input, other, True)


def minimum(input, other) -> Tensor:
    """Elementwise minimum (ties share the gradient equally, as torch)."""
    return _extremum("minimum", input, other, False)


def meshgrid(*tensors, indexing: str | None = None) -> tuple[Tensor, ...]:
    """Coordinate grids from 1-D tensors (differentiable), as ``torch.meshgrid``.

    ``indexing='ij'`` (the default, as torch's) gives outputs of shape (n1, n2, ...);
    ``'xy'`` swaps the first two dimensions (NumPy's default).

    Shape: k tensors of sizes n1..nk -> k tensors of shape (n1, ..., nk) ('ij').
    """
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing is None:
        indexing = "ij"
    if indexing not in ("ij", "xy"):
        raise ValueError(f"meshgrid: indexing must be 'ij' or 'xy', but got indexing={indexing!r}")
    items = _tensor_list("meshgrid", list(tensors))
    for t in items:
        if t.ndim > 1:
            raise RuntimeError(
                f"torch.meshgrid: Expected 0D or 1D tensor in the tensor list but got: {t.ndim}D"
            )
    items = [t.reshape(-1) for t in items]
    shape = tuple(t.shape[0] for t in items)
    grids = []
    for axis, t in enumerate(items):
        view = [1] * len(items)
        view[axis] = shape[axis]
        grid = t.reshape(view).expand(shape)
        grids.append(grid.transpose(0, 1) if indexing == "xy" and len(items) >= 2 else grid)
    return tuple(grids)
