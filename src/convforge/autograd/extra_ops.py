"""More of torch's top-level tensor functions, composed from convforge's differentiable ops.

``tan``, ``expm1``, ``outer``, ``hstack``/``vstack``, ``broadcast_to``, ``tile``, ``cumprod``,
``isclose``, the ``logical_*`` family, ``median``, ``kron``, ``addmm``, ``tensordot`` and
``einsum``. Where a gradient exists it comes from the ops these are built of (or, for
``expm1`` and ``einsum``, from a small torch-style Function), so it follows the same graph
rules as the rest of the library. The Tensor methods torch has for them are attached at the
end of the module.
"""

from __future__ import annotations

import collections
import string

import numpy as np

from .custom import apply_torch_style
from .routines import cat, stack
from .tensor import Tensor, as_tensor

__all__ = [
    "addmm",
    "broadcast_to",
    "cumprod",
    "einsum",
    "expm1",
    "hstack",
    "isclose",
    "kron",
    "logical_and",
    "logical_not",
    "logical_or",
    "logical_xor",
    "median",
    "outer",
    "tan",
    "tensordot",
    "tile",
    "vstack",
]

median_result = collections.namedtuple("median", ["values", "indices"])


def _t(input) -> Tensor:
    return input if isinstance(input, Tensor) else as_tensor(input)


def _raw(value):
    return value._array if isinstance(value, Tensor) else np.asarray(value)


def _plain(array) -> Tensor:
    return Tensor(np.asarray(array))


# ---- elementwise ------------------------------------------------------------------------
def tan(input) -> Tensor:
    """Elementwise tangent, as ``sin / cos`` (its gradient is ``1 / cos**2``).

    Shape: any; the output has the input's shape.
    """
    x = _t(input)
    if not x.is_floating_point():
        x = x.float()  # integers give the default float dtype, as in torch
    return x.sin() / x.cos()


class _Expm1:
    """``exp(x) - 1`` computed without the cancellation of ``exp(x) - 1`` near 0."""

    @staticmethod
    def forward(ctx, x):
        out = Tensor(np.expm1(x._array))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * (out + 1)


def expm1(input) -> Tensor:
    """Elementwise ``exp(x) - 1``, exact for small ``x``.

    Shape: any; the output has the input's shape.
    """
    x = _t(input)
    if not x.is_floating_point():
        x = x.float()
    return apply_torch_style(_Expm1, x)


def isclose(input, other, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> Tensor:
    """Elementwise ``|input - other| <= atol + rtol * |other|`` as a bool tensor.

    Shape: ``input`` and ``other`` broadcast; the output has the broadcast shape.
    """
    a, b = _raw(input), _raw(other)
    if a.dtype != b.dtype and isinstance(other, Tensor) and isinstance(input, Tensor):
        raise RuntimeError(f"{a.dtype} did not match {b.dtype}")
    if rtol < 0:
        raise RuntimeError(f"rtol must be greater than or equal to zero, but got {rtol}")
    if atol < 0:
        raise RuntimeError(f"atol must be greater than or equal to zero, but got {atol}")
    return _plain(np.isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan))


def logical_and(input, other) -> Tensor:
    """Elementwise logical and (nonzero is true) as a bool tensor. Shape: broadcast."""
    return _plain(np.logical_and(_raw(input), _raw(other)))


def logical_or(input, other) -> Tensor:
    """Elementwise logical or (nonzero is true) as a bool tensor. Shape: broadcast."""
    return _plain(np.logical_or(_raw(input), _raw(other)))


def logical_xor(input, other) -> Tensor:
    """Elementwise logical exclusive or (nonzero is true) as a bool tensor. Shape: broadcast."""
    return _plain(np.logical_xor(_raw(input), _raw(other)))


def logical_not(input) -> Tensor:
    """Elementwise logical not (zero becomes true) as a bool tensor. Shape: the input's."""
    return _plain(np.logical_not(_raw(input)))


# ---- shapes -----------------------------------------------------------------------------
def _sequence(op: str, tensors) -> list[Tensor]:
    if isinstance(tensors, Tensor) or not isinstance(tensors, (list, tuple)):
        raise TypeError(
            f"{op}(): argument 'tensors' must be a tuple or list of Tensors, not {type(tensors).__name__}"
        )
    if not tensors:
        raise RuntimeError(f"{op} expects a non-empty TensorList")
    return [_t(t) for t in tensors]


def hstack(tensors) -> Tensor:
    """Concatenate along dim 1 (dim 0 for 1-D tensors), as ``torch.hstack``.

    Shape: the inputs (made at least 1-D) joined along their second (or only) dim.
    """
    items = [t.reshape(1) if t.ndim == 0 else t for t in _sequence("hstack", tensors)]
    return cat(items, 0 if items[0].ndim == 1 else 1)


def vstack(tensors) -> Tensor:
    """Concatenate along dim 0, 0-D and 1-D inputs made rows first, as ``torch.vstack``.

    Shape: the inputs (made at least 2-D) joined along their first dim.
    """
    items = [t.reshape(1, -1) if t.ndim < 2 else t for t in _sequence("vstack", tensors)]
    return cat(items, 0)


def broadcast_to(input, size) -> Tensor:
    """``input`` expanded to ``size`` (``-1`` keeps a dim) without copying its values.

    Shape: ``size``.
    """
    return _t(input).expand(tuple(size))


def tile(input, dims) -> Tensor:
    """``input`` repeated ``dims`` times per dim; fewer ``dims`` than dims are padded with 1.

    Shape: the input's shape (or ``dims``' length, padded with 1) times ``dims``.
    """
    x = _t(input)
    dims = tuple(dims)
    if len(dims) < x.ndim:
        dims = (1,) * (x.ndim - len(dims)) + dims
    return x.repeat(dims)


# ---- reductions -------------------------------------------------------------------------
def _dim(op: str, dim, ndim: int) -> int:
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
        raise TypeError(f"{op}(): argument 'dim' must be int, not {type(dim).__name__}")
    low, high = (-1, 0) if ndim == 0 else (-ndim, ndim - 1)
    if not low <= dim <= high:
        raise IndexError(
            f"Dimension out of range (expected to be in range of [{low}, {high}], but got {dim})"
        )
    return int(dim) % max(ndim, 1)


def cumprod(input, dim: int, *, dtype=None) -> Tensor:
    """Cumulative product along ``dim``; integers and bools accumulate as int64, as in torch.

    Built as a running product of slices so that zeros get the right gradient.

    Shape: the input's shape.
    """
    x = _t(input)
    axis = _dim("cumprod", dim, x.ndim)
    if dtype is not None:
        x = x._cast(np.dtype(dtype))
    elif x.dtype.kind in "biu":
        x = x._cast(np.dtype(np.int64))
    if x.ndim == 0 or x.shape[axis] == 0:
        return x.clone()
    parts = [x.select(axis, 0)]
    for i in range(1, x.shape[axis]):
        parts.append(parts[-1] * x.select(axis, i))
    return stack(parts, axis)


def _median_index(array: np.ndarray, axis: int) -> np.ndarray:
    """Index of the lower median along ``axis`` (of the first NaN where there is one, as torch)."""
    order = np.argsort(array, axis=axis, kind="stable")
    index = np.take(order, [(array.shape[axis] - 1) // 2], axis=axis)
    nan = np.isnan(array) if array.dtype.kind in "fc" else np.zeros(array.shape, bool)
    first_nan = np.argmax(nan, axis=axis, keepdims=True)
    return np.where(nan.any(axis=axis, keepdims=True), first_nan, index).astype(np.int64)


def median(input, dim=None, keepdim: bool = False):
    """The lower median (no ``dim``), or ``(values, indices)`` of it along ``dim``, as torch.

    NaN propagates as in torch; the gradient flows to the element chosen.

    Shape: a 0-D tensor without ``dim``; else the input's shape without ``dim`` (kept as 1 with
    ``keepdim``).
    """
    x = _t(input)
    if dim is None:
        if x.numel() == 0:
            if not x.is_floating_point():
                raise IndexError("median() input tensor cannot be empty")
            return Tensor(np.array(np.nan, dtype=x.dtype))
        flat = x.reshape(-1)
        return flat[int(_median_index(flat._array, 0)[0])]
    axis = _dim("median", dim, x.ndim)
    if x.ndim == 0:
        return median_result(x.clone(), _plain(np.array(0, dtype=np.int64)))
    if x.shape[axis] == 0:
        raise IndexError(f"median(): Expected reduction dim {dim} to have non-zero size.")
    index = _median_index(x._array, axis)
    values, indices = x.gather(axis, Tensor(index)), _plain(index)
    if not keepdim:
        values, indices = values.squeeze(axis), indices.squeeze(axis)
    return median_result(values, indices)


# ---- products ---------------------------------------------------------------------------
def outer(input, vec2) -> Tensor:
    """Outer product of two 1-D tensors.

    Shape: ``(n,)`` and ``(m,)`` give ``(n, m)``.
    """
    a, b = _t(input), _t(vec2)
    for name, v in (("self", a), ("vec2", b)):
        if v.ndim != 1:
            raise RuntimeError(f"outer: Expected 1-D argument {name}, but got {v.ndim}-D")
    return a.reshape(-1, 1) * b.reshape(1, -1)


def kron(input, other) -> Tensor:
    """Kronecker product: every element of ``input`` times the whole of ``other``.

    Shape: both padded to the same number of dims; the output's dims are their products.
    """
    a, b = _t(input), _t(other)
    ndim = max(a.ndim, b.ndim)
    sa = (1,) * (ndim - a.ndim) + a.shape
    sb = (1,) * (ndim - b.ndim) + b.shape
    left = a.reshape(tuple(s for n in sa for s in (n, 1)))
    right = b.reshape(tuple(s for n in sb for s in (1, n)))
    return (left * right).reshape(tuple(x * y for x, y in zip(sa, sb)))


def addmm(input, mat1, mat2, *, beta=1, alpha=1) -> Tensor:
    """``beta * input + alpha * (mat1 @ mat2)``; with ``beta=0`` ``input`` is ignored (nan too).

    Shape: ``mat1`` ``(n, m)``, ``mat2`` ``(m, p)``, ``input`` broadcastable to ``(n, p)``.
    """
    a, m1, m2 = _t(input), _t(mat1), _t(mat2)
    for name, m in (("mat1", m1), ("mat2", m2)):
        if m.ndim != 2:
            raise RuntimeError(f"{name} must be a matrix, got {m.ndim}-D tensor")
    if m1.shape[1] != m2.shape[0]:
        raise RuntimeError(
            f"mat1 and mat2 shapes cannot be multiplied ({m1.shape[0]}x{m1.shape[1]} and "
            f"{m2.shape[0]}x{m2.shape[1]})"
        )
    for name, m in (("mat1", m1), ("mat2", m2)):
        if m.dtype != a.dtype:
            raise RuntimeError(f"self and {name} must have the same dtype, but got {a.dtype} and {m.dtype}")
    product = m1.mm(m2)
    product = product if alpha == 1 else product * alpha
    if beta == 0:
        return product
    bias = a.expand(product.shape)
    return product + (bias if beta == 1 else bias * beta)


def _dims_pair(dims, a: Tensor, b: Tensor) -> tuple[list[int], list[int]]:
    if isinstance(dims, (int, np.integer)) and not isinstance(dims, bool):
        if dims < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
        if dims > min(a.ndim, b.ndim):
            raise RuntimeError(f"tensordot expects dims < ndim_a or ndim_b, but got dims={dims}")
        return list(range(a.ndim - dims, a.ndim)), list(range(dims))
    if isinstance(dims, Tensor):
        return _dims_pair(dims.tolist(), a, b)
    if not isinstance(dims, (list, tuple)) or len(dims) != 2:
        raise TypeError(
            f"tensordot(): argument 'dims' must be an int or a pair of lists of ints, not {dims!r}"
        )
    da, db = ([d] if isinstance(d, int) else list(d) for d in dims)
    if len(da) != len(db):
        raise RuntimeError("both dimension lists should have same length")
    da = [_dim("tensordot", d, a.ndim) for d in da]
    db = [_dim("tensordot", d, b.ndim) for d in db]
    for i, j in zip(da, db):
        if a.shape[i] != b.shape[j]:
            raise RuntimeError(
                f"contracted dimensions need to match, but first has size {a.shape[i]} in dim {i} "
                f"and second has size {b.shape[j]} in dim {j}"
            )
    return da, db


def tensordot(a, b, dims=2, out=None) -> Tensor:
    """Sum of products over the ``dims`` of ``a`` and ``b`` (an int: ``a``'s last and ``b``'s first).

    Shape: ``a``'s free dims followed by ``b``'s free dims.
    """
    if out is not None:
        raise TypeError("tensordot(): the 'out' argument is not supported by convforge")
    x, y = _t(a), _t(b)
    da, db = _dims_pair(dims, x, y)
    free_a = [i for i in range(x.ndim) if i not in da]
    free_b = [i for i in range(y.ndim) if i not in db]
    k = int(np.prod([x.shape[i] for i in da]))
    left = x.permute(free_a + da).reshape(-1, k)
    right = y.permute(db + free_b).reshape(k, -1)
    shape = tuple(x.shape[i] for i in free_a) + tuple(y.shape[i] for i in free_b)
    return left.mm(right).reshape(shape)


# ---- einsum -----------------------------------------------------------------------------
def _expand_ellipsis(equation: str, ndims: list[int]) -> tuple[list[str], str]:
    """The equation with ``...`` written out as fresh letters, and an explicit output."""
    equation = equation.replace(" ", "")
    lhs, arrow, rhs = equation.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(ndims):
        raise ValueError(
            f"einsum(): equation {equation!r} has {len(terms)} operands, but {len(ndims)} were given"
        )
    spare = [c for c in string.ascii_letters if c not in equation]
    widest = max([n - len(t.replace("...", "")) for t, n in zip(terms, ndims) if "..." in t], default=0)
    fresh = "".join(spare[:widest])
    subs = []
    for term, n in zip(terms, ndims):
        width = n - len(term.replace("...", ""))
        term = term.replace("...", fresh[widest - width :] if width else "")
        if not term.isalpha() and term or len(term) != n:
            raise ValueError(f"einsum(): subscripts {term!r} do not fit an operand with {n} dims")
        if len(set(term)) != len(term):
            raise ValueError(
                f"einsum(): subscript repeated within one operand ({term!r}) is not supported by "
                "convforge; take the diagonal first (torch.diagonal)"
            )
        subs.append(term)
    if arrow:
        out = rhs.replace("...", fresh)
    else:
        letters = "".join(subs)
        out = fresh + "".join(sorted(c for c in set(letters) if letters.count(c) == 1 and c not in fresh))
    return subs, out


def _einsum_grad(subs: list[str], out: str, grad: np.ndarray, arrays: list[np.ndarray], i: int):
    """Gradient of operand ``i``: einsum of the output gradient with the other operands."""
    others = [s for j, s in enumerate(subs) if j != i]
    seen = set(out).union(*others)
    kept = "".join(c for c in subs[i] if c in seen)
    rest = [a for j, a in enumerate(arrays) if j != i]
    part = np.einsum(",".join([out, *others]) + "->" + kept, grad, *rest)
    sizes = {c: n for s, a in zip(subs, arrays) for c, n in zip(s, a.shape) if n != 1}
    full = tuple(sizes.get(c, 1) for c in subs[i])
    # letters only this operand has were summed away: its gradient is the same along them
    lookup = dict(zip(kept, part.shape))
    part = part.reshape(tuple(lookup.get(c, 1) for c in subs[i]))
    part = np.broadcast_to(part, full)
    # size-1 dims that broadcast against larger ones sum their gradient back
    shape = arrays[i].shape
    axes = tuple(k for k, n in enumerate(shape) if n == 1 and full[k] != 1)
    return np.ascontiguousarray(part.sum(axis=axes, keepdims=True) if axes else part)


class _Einsum:
    @staticmethod
    def forward(ctx, subs, out, *operands):
        ctx.subs, ctx.out = subs, out
        ctx.save_for_backward(*operands)
        equation = ",".join(subs) + "->" + out
        return Tensor(np.asarray(np.einsum(equation, *[o._array for o in operands], optimize=True)))

    @staticmethod
    def backward(ctx, grad):
        arrays = [t._array for t in ctx.saved_tensors]
        grads = [
            Tensor(_einsum_grad(ctx.subs, ctx.out, grad._array, arrays, i).astype(arrays[i].dtype))
            if ctx.needs_input_grad[i + 2]
            else None
            for i in range(len(arrays))
        ]
        return (None, None, *grads)


def einsum(equation: str, *operands) -> Tensor:
    """Einstein summation over ``operands`` as ``equation`` says (``"ij,jk->ik"``, ``...`` too).

    The gradient of each operand is the einsum of the output gradient with the others. An
    index repeated within one operand (a diagonal, ``"ii->i"``) raises ValueError.

    Shape: as the equation's output subscripts (implicit output: letters used once, sorted).
    """
    if not isinstance(equation, str):
        raise TypeError(f"einsum(): argument 'equation' must be str, not {type(equation).__name__}")
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not operands:
        raise RuntimeError("einsum(): must provide at least one operand")
    tensors = [_t(o) for o in operands]
    for t in tensors[1:]:
        if t.dtype != tensors[0].dtype:
            raise RuntimeError(f"einsum(): expected scalar type {tensors[0].dtype} but found {t.dtype}")
    subs, out = _expand_ellipsis(equation, [t.ndim for t in tensors])
    return apply_torch_style(_Einsum, subs, out, *tensors)


# ---- Tensor methods torch has for these -------------------------------------------------
def _attach() -> None:
    methods = {
        "addmm": lambda self, mat1, mat2, *, beta=1, alpha=1: addmm(self, mat1, mat2, beta=beta, alpha=alpha),
        "broadcast_to": broadcast_to,
        "cumprod": cumprod,
        "expm1": expm1,
        "isclose": isclose,
        "kron": kron,
        "logical_xor": logical_xor,
        "median": median,
        "outer": outer,
        "tan": tan,
        "tile": lambda self, *dims: tile(
            self, dims[0] if len(dims) == 1 and not isinstance(dims[0], int) else dims
        ),
    }
    for name, fn in methods.items():
        if name not in vars(Tensor) and not any(name in vars(k) for k in Tensor.__mro__[1:]):
            setattr(Tensor, name, fn)


_attach()
