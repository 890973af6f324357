"""torch's top-level tensor functions (``torch.max(x, 1)``, ``torch.flatten(x, 1)`` ...).

Each is the Tensor method of the same name applied to ``input`` (made a Tensor first if it
is an array or a number), so the function and the method cannot disagree.
"""

from __future__ import annotations

import numpy as np

from .tensor import Tensor, as_tensor

__all__ = [
    "abs",
    "add",
    "all",
    "allclose",
    "amax",
    "amin",
    "any",
    "argmax",
    "argmin",
    "argsort",
    "bmm",
    "ceil",
    "chunk",
    "clamp",
    "clip",
    "clone",
    "cos",
    "cosh",
    "cumsum",
    "diag",
    "div",
    "dot",
    "eq",
    "equal",
    "erf",
    "exp",
    "flatten",
    "flip",
    "floor",
    "floor_divide",
    "fmod",
    "gather",
    "ge",
    "gt",
    "index_select",
    "is_floating_point",
    "is_tensor",
    "isfinite",
    "isinf",
    "isnan",
    "le",
    "lerp",
    "log",
    "log10",
    "log1p",
    "log2",
    "log_softmax",
    "logsumexp",
    "lt",
    "masked_fill",
    "masked_select",
    "matmul",
    "max",
    "mean",
    "min",
    "mm",
    "mul",
    "narrow",
    "ne",
    "neg",
    "nonzero",
    "norm",
    "numel",
    "permute",
    "pow",
    "prod",
    "relu",
    "remainder",
    "repeat_interleave",
    "reshape",
    "round",
    "rsqrt",
    "scatter",
    "scatter_add",
    "select",
    "sigmoid",
    "sign",
    "sin",
    "sinh",
    "softmax",
    "sort",
    "split",
    "sqrt",
    "square",
    "squeeze",
    "std",
    "sub",
    "sum",
    "t",
    "tanh",
    "topk",
    "transpose",
    "tril",
    "triu",
    "true_divide",
    "trunc",
    "unbind",
    "unique",
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


# ---- more: rounding, predicates, sorting, selection, cumulative ----------------------
def add(input, other, *, alpha=1):
    return _t(input).add(other, alpha=alpha)


def sub(input, other, *, alpha=1):
    return _t(input).sub(other, alpha=alpha)


def mul(input, other):
    return _t(input) * other


def div(input, other, *, rounding_mode=None):
    return _t(input).div(other, rounding_mode=rounding_mode)


def true_divide(input, other):
    return _t(input) / other


def floor_divide(input, other):
    return _t(input) // other


def remainder(input, other):
    return _t(input).remainder(other)


def fmod(input, other):
    return _t(input).fmod(other)


def flip(input, dims):
    return _t(input).flip(dims)


def softmax(input, dim, dtype=None):
    return (_t(input) if dtype is None else _t(input)._cast(np.dtype(dtype))).softmax(dim)


def log_softmax(input, dim, dtype=None):
    return (_t(input) if dtype is None else _t(input)._cast(np.dtype(dtype))).log_softmax(dim)


def floor(input):
    return _t(input).floor()


def ceil(input):
    return _t(input).ceil()


def round(input, *, decimals: int = 0):  # noqa: A001
    return _t(input).round(decimals=decimals)


def trunc(input):
    return _t(input).trunc()


def sign(input):
    return _t(input).sign()


def rsqrt(input):
    return _t(input).rsqrt()


def log1p(input):
    return _t(input).log1p()


def log2(input):
    return _t(input).log2()


def log10(input):
    return _t(input).log10()


def erf(input):
    return _t(input).erf()


def lerp(input, end, weight):
    return _t(input).lerp(end, weight)


def isnan(input):
    return _t(input).isnan()


def isinf(input):
    return _t(input).isinf()


def isfinite(input):
    return _t(input).isfinite()


def all(input, dim=None, keepdim: bool = False):  # noqa: A001
    return _t(input).all(dim, keepdim)


def any(input, dim=None, keepdim: bool = False):  # noqa: A001
    return _t(input).any(dim, keepdim)


def nonzero(input, *, as_tuple: bool = False):
    return _t(input).nonzero(as_tuple=as_tuple)


def argsort(input, dim: int = -1, descending: bool = False, *, stable: bool = False):
    return _t(input).argsort(dim, descending)


def sort(input, dim: int = -1, descending: bool = False, *, stable: bool = False):
    return _t(input).sort(dim, descending)


def topk(input, k: int, dim: int = -1, largest: bool = True, sorted: bool = True):
    return _t(input).topk(k, dim, largest, sorted)


def unique(input, sorted: bool = True, return_inverse: bool = False, return_counts: bool = False, dim=None):
    return _t(input).unique(sorted, return_inverse, return_counts, dim)


def index_select(input, dim: int, index):
    return _t(input).index_select(dim, index)


def masked_select(input, mask):
    return _t(input).masked_select(mask)


def select(input, dim: int, index: int):
    return _t(input).select(dim, index)


def narrow(input, dim: int, start: int, length: int):
    return _t(input).narrow(dim, start, length)


def repeat_interleave(input, repeats, dim=None):
    return _t(input).repeat_interleave(repeats, dim)


def tril(input, diagonal: int = 0):
    return _t(input).tril(diagonal)


def triu(input, diagonal: int = 0):
    return _t(input).triu(diagonal)


def diag(input, diagonal: int = 0):
    return _t(input).diag(diagonal)


def cumsum(input, dim: int, *, dtype=None):
    return _t(input).cumsum(dim, dtype=dtype)


def logsumexp(input, dim, keepdim: bool = False):
    return _t(input).logsumexp(dim, keepdim)
