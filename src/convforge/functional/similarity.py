"""Vector norms and similarities along one axis (normalize, cosine_similarity,
pairwise_distance) and the one-hot encoding of class indices."""

from __future__ import annotations

import math

import numpy as np

from .. import spec as sp
from ..autograd.ops.reduction import Extreme
from ..autograd.tensor import Tensor
from ._common import _float_tensor, _tensor

__all__ = ["cosine_similarity", "normalize", "one_hot", "pairwise_distance", "pdist"]


def _p_norm(x: Tensor, p: float, dim: int | None, keepdim: bool, floor: float = 0.0) -> Tensor:
    """``max((sum |x|^p)^(1/p), floor)`` along ``dim`` (``max |x|`` for p = inf), differentiably.

    The floor is applied to the sum before the root (``max(s, floor^p)^(1/p)`` is the same
    value), so the root never sees a zero sum: the gradient of a zero vector is 0, not nan.
    """
    if math.isinf(p):
        return Extreme.apply(x.abs(), dim, keepdim, True).clamp(min=floor)
    if p == 1:
        return x.abs().sum(dim=dim, keepdim=keepdim).clamp(min=floor)
    powered = x * x if p == 2 else x.abs() ** p
    total = powered.sum(dim=dim, keepdim=keepdim).clamp(min=floor**p)
    return total.sqrt() if p == 2 else total ** (1.0 / p)


def _order(op: str, p) -> float:
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not p > 0:
        raise ValueError(f"{op}: p must be a positive number (or inf), but got p={p!r}")
    return float(p)


def _axis(op: str, dim, ndim: int) -> int:
    if not sp._is_int(dim):
        raise TypeError(f"{op}: dim must be an int, but got dim={dim!r}")
    if not -max(ndim, 1) <= dim < max(ndim, 1):
        raise ValueError(f"{op}: dim must be in [{-max(ndim, 1)}, {max(ndim, 1) - 1}], but got dim={dim}")
    return dim % max(ndim, 1)


def normalize(input, p: float = 2.0, dim: int = 1, eps: float = 1e-12, out=None) -> Tensor:
    """``x / max(||x||_p, eps)`` along ``dim``. Shape: any, unchanged."""
    op = "normalize"
    if out is not None:
        raise TypeError(f"{op}: out= is not supported (convforge returns new tensors), but got out={out!r}")
    x = _float_tensor(op, "input", input)
    return x / _p_norm(x, _order(op, p), _axis(op, dim, x.ndim), keepdim=True, floor=eps)


def cosine_similarity(x1, x2, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """``sum(x1 / max(||x1||, eps) * x2 / max(||x2||, eps))`` along ``dim`` (torch's form).

    Shape: x1 and x2 broadcast to a common shape (*, D, *); output that shape without ``dim``.
    """
    op = "cosine_similarity"
    a, b = _float_tensor(op, "x1", x1), _float_tensor(op, "x2", x2)
    try:
        shape = np.broadcast_shapes(a.shape, b.shape)
    except ValueError as e:
        raise ValueError(f"{op}: x1 of shape {a.shape} and x2 of shape {b.shape} do not broadcast") from e
    axis = _axis(op, dim, len(shape))
    a, b = a.expand(*shape), b.expand(*shape)
    a_unit = a / _p_norm(a, 2, axis, keepdim=True, floor=eps)
    b_unit = b / _p_norm(b, 2, axis, keepdim=True, floor=eps)
    return (a_unit * b_unit).sum(dim=axis)


def pairwise_distance(x1, x2, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> Tensor:
    """``||x1 - x2 + eps||_p`` along the last dimension.

    Shape: x1 and x2 broadcast to (*, D); output (*) (or (*, 1) with ``keepdim``).
    """
    op = "pairwise_distance"
    a, b = _float_tensor(op, "x1", x1), _float_tensor(op, "x2", x2)
    try:
        np.broadcast_shapes(a.shape, b.shape)
    except ValueError as e:
        raise ValueError(f"{op}: x1 of shape {a.shape} and x2 of shape {b.shape} do not broadcast") from e
    diff = a - b + eps
    return _p_norm(diff, _order(op, p), -1 if diff.ndim else None, keepdim=keepdim)


def pdist(input, p: float = 2) -> Tensor:
    """The p-norm distances between every pair of rows ``i < j``, in row-major order.

    The gradient of a zero distance is 0 (as torch's), not the root's infinity.
    Shape: (N, M) -> (N (N - 1) / 2,).
    """
    op = "pdist"
    x = _float_tensor(op, "input", input)
    if x.ndim != 2:
        raise ValueError(f"{op}: input must be 2-D (N, M), but got shape {x.shape}")
    p = _order(op, p)
    first, second = np.triu_indices(x.shape[0], k=1)
    diff = x[first] - x[second]  # (pairs, M)
    if math.isinf(p):
        return Extreme.apply(diff.abs(), 1, False, True)
    total = (diff * diff if p == 2 else diff.abs() ** p).sum(dim=1)
    positive = total.array > 0
    safe = total.where(positive, np.ones((), dtype=x.dtype))  # the root is taken away from 0
    root = safe.sqrt() if p == 2 else safe ** (1.0 / p)
    return root * positive.astype(x.dtype)


def one_hot(tensor, num_classes: int = -1) -> Tensor:
    """Class indices as one-hot rows: ``out[..., c] = 1`` where ``tensor[...] == c`` (int64).

    ``num_classes=-1`` takes ``max + 1``. Not differentiable (the output is integer).
    Shape: (*) -> (*, num_classes).
    """
    op = "one_hot"
    t = _tensor(op, "tensor", tensor)
    if not np.issubdtype(t.dtype, np.integer):
        raise TypeError(f"{op}: tensor must hold integer class indices, but got dtype {t.dtype}")
    if not sp._is_int(num_classes) or num_classes < -1:
        raise ValueError(
            f"{op}: num_classes must be -1 or a non-negative int, but got num_classes={num_classes!r}"
        )
    index = t.array
    if num_classes == -1:
        if index.size == 0:
            raise ValueError(
                f"{op}: can not infer the number of classes from an empty tensor; pass num_classes"
            )
        num_classes = int(index.max()) + 1
    if index.size and index.min() < 0:
        raise ValueError(f"{op}: class values must be non-negative, but got {int(index.min())}")
    if index.size and index.max() >= num_classes:
        raise ValueError(
            f"{op}: class values must be smaller than num_classes={num_classes}, but got {int(index.max())}"
        )
    out = np.zeros((*index.shape, num_classes), dtype=np.int64)
    np.put_along_axis(out, index[..., None].astype(np.intp), 1, axis=-1)
    return Tensor(out)
