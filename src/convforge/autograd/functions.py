"""torch's top-level tensor functions (``torch.max(x, 1)``, ``torch.flatten(x, 1)`` ...).

Each is the Tensor method of the same name applied to ``input`` (made a Tensor first if it
is an array or a number), so the function and the method cannot disagree.
"""

from __future__ import annotations

from .tensor import Tensor, as_tensor

__all__ = [
    "abs",
    "allclose",
    "amax",
    "amin",
    "argmax",
    "argmin",
    "bmm",
    "chunk",
    "clamp",
    "clip",
    "clone",
    "cos",
    "cosh",
    "dot",
    "eq",
    "equal",
    "exp",
    "flatten",
    "gather",
    "ge",
    "gt",
    "is_floating_point",
    "is_tensor",
    "le",
    "log",
    "lt",
    "masked_fill",
    "matmul",
    "max",
    "mean",
    "min",
    "mm",
    "ne",
    "neg",
    "norm",
    "numel",
    "permute",
    "pow",
    "prod",
    "relu",
    "reshape",
    "scatter",
    "scatter_add",
    "sigmoid",
    "sin",
    "sinh",
    "split",
    "sqrt",
    "square",
    "squeeze",
    "std",
    "sum",
    "t",
    "tanh",
    "transpose",
    "unbind",
    "unsqueeze",
    "var",
]


def _t(input) -> Tensor:
    return input if isinstance(input, Tensor) else as_tensor(input)


def is_tensor(obj) -> bool:
    """True if ``obj`` is a convforge Tensor (``torch.is_tensor``)."""
    return isinstance(obj, Tensor)


def numel(input) -> int:
    return _t(input).numel()


def is_floating_point(input) -> bool:
    return _t(input).is_floating_point()


# ---- math ----------------------------------------------------------------------------
def abs(input):  # noqa: A001 - torch's name
    return _t(input).abs()


def exp(input):
    return _t(input).exp()


def log(input):
    return _t(input).log()


def sqrt(input):
    return _t(input).sqrt()


def square(input):
    return _t(input).square()


def neg(input):
    return -_t(input)


def pow(input, exponent):  # noqa: A001
    if not isinstance(input, Tensor):
        return as_tensor(exponent).__rpow__(input)
    return input**exponent


def sin(input):
    return _t(input).sin()


def cos(input):
    return _t(input).cos()


def sinh(input):
    return _t(input).sinh()


def cosh(input):
    return _t(input).cosh()


def tanh(input):
    return _t(input).tanh()


def sigmoid(input):
    return _t(input).sigmoid()


def relu(input):
    return _t(input).relu()


def clamp(input, min=None, max=None):  # noqa: A002
    return _t(input).clamp(min, max)


clip = clamp


def clone(input):
    return _t(input).clone()


# ---- comparisons ---------------------------------------------------------------------
def eq(input, other):
    return _t(input).eq(other)


def ne(input, other):
    return _t(input).ne(other)


def lt(input, other):
    return _t(input).lt(other)


def le(input, other):
    return _t(input).le(other)


def gt(input, other):
    return _t(input).gt(other)


def ge(input, other):
    return _t(input).ge(other)


def equal(input, other) -> bool:
    return _t(input).equal(other)


def allclose(input, other, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> bool:
    return _t(input).allclose(other, rtol, atol, equal_nan)


# ---- reductions ----------------------------------------------------------------------
def sum(input, dim=None, keepdim: bool = False, *, dtype=None):  # noqa: A001
    return _t(input).sum(dim, keepdim, dtype=dtype)


def mean(input, dim=None, keepdim: bool = False, *, dtype=None):
    return _t(input).mean(dim, keepdim, dtype=dtype)


def prod(input, dim=None, keepdim: bool = False, *, dtype=None):
    return _t(input).prod(dim, keepdim, dtype=dtype)


def std(input, dim=None, unbiased=None, keepdim: bool = False, *, correction=None):
    return _t(input).std(dim, unbiased, keepdim, correction=correction)


def var(input, dim=None, unbiased=None, keepdim: bool = False, *, correction=None):
    return _t(input).var(dim, unbiased, keepdim, correction=correction)


def norm(input, p="fro", dim=None, keepdim: bool = False):
    return _t(input).norm(p, dim, keepdim)


def max(input, dim=None, keepdim: bool = False):  # noqa: A001
    """``max(x)``: the largest value; ``max(x, dim)``: (values, indices); ``max(a, b)``: elementwise."""
    return _t(input).max(dim, keepdim)


def min(input, dim=None, keepdim: bool = False):  # noqa: A001
    """``min(x)``: the smallest value; ``min(x, dim)``: (values, indices); ``min(a, b)``: elementwise."""
    return _t(input).min(dim, keepdim)


def amax(input, dim=(), keepdim: bool = False):
    return _t(input).amax(dim, keepdim)


def amin(input, dim=(), keepdim: bool = False):
    return _t(input).amin(dim, keepdim)


def argmax(input, dim=None, keepdim: bool = False, *, axis=None):
    return _t(input).argmax(dim, keepdim, axis=axis)


def argmin(input, dim=None, keepdim: bool = False, *, axis=None):
    return _t(input).argmin(dim, keepdim, axis=axis)


# ---- products ------------------------------------------------------------------------
def matmul(input, other):
    return _t(input).matmul(other)


def mm(input, mat2):
    return _t(input).mm(mat2)


def bmm(input, mat2):
    return _t(input).bmm(mat2)


def dot(input, other):
    return _t(input).dot(other)


# ---- shape ---------------------------------------------------------------------------
def flatten(input, start_dim: int = 0, end_dim: int = -1):
    return _t(input).flatten(start_dim, end_dim)


def reshape(input, shape):
    return _t(input).reshape(shape)


def squeeze(input, dim=None):
    return _t(input).squeeze(dim)


def unsqueeze(input, dim: int):
    return _t(input).unsqueeze(dim)


def permute(input, dims):
    return _t(input).permute(dims)


def transpose(input, dim0: int, dim1: int):
    return _t(input).transpose(dim0, dim1)


def t(input):
    return _t(input).t()


def chunk(input, chunks: int, dim: int = 0):
    return _t(input).chunk(chunks, dim)


def split(tensor, split_size_or_sections, dim: int = 0):
    return _t(tensor).split(split_size_or_sections, dim)


def unbind(input, dim: int = 0):
    return _t(input).unbind(dim)


def masked_fill(input, mask, value):
    return _t(input).masked_fill(mask, value)


def gather(input, dim: int, index):
    return _t(input).gather(dim, index)


def scatter(input, dim: int, index, src=None, *, value=None):
    return _t(input).scatter(dim, index, src, value=value)


def scatter_add(input, dim: int, index, src):
    return _t(input).scatter_add(dim, index, src)
