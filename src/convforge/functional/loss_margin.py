"""Margin, embedding and likelihood losses, composed from differentiable ops: margin ranking,
hinge embedding, soft margin, multi-label soft margin, cosine embedding, triplet margin,
multi-class margin, Poisson and Gaussian negative log-likelihood — torch's signatures,
formulas and reductions."""

from __future__ import annotations

import math

import numpy as np

from ..autograd.tensor import Tensor
from ._common import _float_tensor, _raw_array, _tensor
from .activation_extra import logsigmoid
from .loss import _reduction
from .similarity import pairwise_distance

__all__ = [
    "cosine_embedding_loss",
    "gaussian_nll_loss",
    "hinge_embedding_loss",
    "margin_ranking_loss",
    "multi_margin_loss",
    "multilabel_margin_loss",
    "multilabel_soft_margin_loss",
    "poisson_nll_loss",
    "soft_margin_loss",
    "triplet_margin_loss",
    "triplet_margin_with_distance_loss",
]


def _reduce(losses: Tensor, reduction: str) -> Tensor:
    if reduction == "none":
        return losses
    return losses.sum() if reduction == "sum" else losses.mean()


def _same_shape(op: str, **tensors: Tensor) -> None:
    shapes = {name: t.shape for name, t in tensors.items()}
    if len(set(shapes.values())) > 1:
        listed = ", ".join(f"{name} {shape}" for name, shape in shapes.items())
        raise ValueError(f"{op}: the inputs must have the same shape, but got {listed}")


def _operand(op: str, name: str, value, like: Tensor) -> Tensor:
    t = _tensor(op, name, value)
    return t if t.dtype == like.dtype else t.to(like.dtype)


def margin_ranking_loss(
    input1, input2, target, margin: float = 0, size_average=None, reduce=None, reduction: str = "mean"
) -> Tensor:
    """``max(0, -y (x1 - x2) + margin)`` with y in {1, -1} saying which input ranks higher. Shape: (N) or ()."""
    op = "margin_ranking_loss"
    reduction = _reduction(op, size_average, reduce, reduction)
    x1 = _float_tensor(op, "input1", input1)
    x2, y = _operand(op, "input2", input2, x1), _operand(op, "target", target, x1)
    _same_shape(op, input1=x1, input2=x2, target=y)
    return _reduce((-y * (x1 - x2) + margin).relu(), reduction)


def hinge_embedding_loss(
    input, target, margin: float = 1.0, size_average=None, reduce=None, reduction: str = "mean"
) -> Tensor:
    """``x`` where y = 1, ``max(0, margin - x)`` where y = -1 (x: a distance). Shape: (*)."""
    op = "hinge_embedding_loss"
    reduction = _reduction(op, size_average, reduce, reduction)
    x = _float_tensor(op, "input", input)
    y = _raw_array(_operand(op, "target", target, x))
    zero = np.zeros((), dtype=x.dtype)
    losses = (margin - x).relu().where(y != 1, zero) + x.where(y != -1, zero)
    return _reduce(losses, reduction)


def soft_margin_loss(input, target, size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    """Logistic loss ``log(1 + exp(-y x))`` with y in {1, -1}. Shape: (*), same as target."""
    op = "soft_margin_loss"
    reduction = _reduction(op, size_average, reduce, reduction)
    x = _float_tensor(op, "input", input)
    y = _operand(op, "target", target, x)
    return _reduce(-logsigmoid(y * x), reduction)


def multilabel_soft_margin_loss(
    input, target, weight=None, size_average=None, reduce=None, reduction: str = "mean"
) -> Tensor:
    """Per sample, the mean over C classes of ``-(y log sigmoid(x) + (1 - y) log sigmoid(-x))``
    (times ``weight``). Shape: input and target (N, C); output (N) for 'none'."""
    op = "multilabel_soft_margin_loss"
    reduction = _reduction(op, size_average, reduce, reduction)
    x = _float_tensor(op, "input", input)
    y = _operand(op, "target", target, x)
    losses = -(y * logsigmoid(x) + (1 - y) * logsigmoid(-x))
    if weight is not None:
        losses = losses * _operand(op, "weight", weight, x)
    return _reduce(losses.sum(dim=x.ndim - 1) / x.shape[-1], reduction)


def cosine_embedding_loss(
    input1, input2, target, margin: float = 0, size_average=None, reduce=None, reduction: str = "mean"
) -> Tensor:
    """``1 - cos(x1, x2)`` where y = 1, ``max(0, cos(x1, x2) - margin)`` where y = -1.

    The cosine is torch's: ``sum(x1 x2) / sqrt((|x1|^2 + 1e-12)(|x2|^2 + 1e-12))``.
    Shape: x1, x2 (N, D) or (D); target (N) or ().
    """
    op = "cosine_embedding_loss"
    reduction = _reduction(op, size_average, reduce, reduction)
    x1 = _float_tensor(op, "input1", input1)
    x2 = _operand(op, "input2", input2, x1)
    y = _raw_array(_operand(op, "target", target, x1))
    _same_shape(op, input1=x1, input2=x2)
    axis = x1.ndim - 1
    eps = 1e-12
    cos = (x1 * x2).sum(dim=axis) / (((x1 * x1).sum(dim=axis) + eps) * ((x2 * x2).sum(dim=axis) + eps)).sqrt()
    zero = np.zeros((), dtype=x1.dtype)
    losses = (1 - cos).where(y == 1, zero) + (cos - margin).relu().where(y == -1, zero)
    return _reduce(losses, reduction)


def triplet_margin_loss(
    anchor,
    positive,
    negative,
    margin: float = 1.0,
    p: float = 2,
    eps: float = 1e-6,
    swap: bool = False,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """``max(d(a, p) - d(a, n) + margin, 0)`` with the p-norm distance ``pairwise_distance``;
    ``swap`` uses ``min(d(a, n), d(p, n))`` (Balntas et al.). Shape: (N, D) or (D)."""
    op = "triplet_margin_loss"
    reduction = _reduction(op, size_average, reduce, reduction)
    a = _float_tensor(op, "anchor", anchor)
    pos, neg = _operand(op, "positive", positive, a), _operand(op, "negative", negative, a)
    d_pos = pairwise_distance(a, pos, p, eps)
    d_neg = pairwise_distance(a, neg, p, eps)
    if swap:
        d_neg = d_neg.minimum(pairwise_distance(pos, neg, p, eps))
    return _reduce((margin + d_pos - d_neg).relu(), reduction)


def multi_margin_loss(
    input,
    target,
    p: int = 1,
    margin: float = 1.0,
    weight=None,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """Per sample, ``sum over j != y of max(0, margin - x[y] + x[j])^p / C`` (times ``weight[y]``).

    Shape: input (N, C) or (C); target (N) or () of class indices; output (N) for 'none'.
    """
    op = "multi_margin_loss"
    reduction = _reduction(op, size_average, reduce, reduction)
    if p not in (1, 2):
        raise ValueError(f"{op}: only p == 1 and p == 2 are supported, but got p={p!r}")
    x = _float_tensor(op, "input", input)
    rows = x if x.ndim == 2 else x.reshape(1, -1)
    index = np.asarray(_raw_array(_tensor(op, "target", target))).reshape(-1).astype(np.int64)
    n, classes = rows.shape
    if index.shape != (n,) or (index < 0).any() or (index >= classes).any():
        raise ValueError(
            f"{op}: target must hold {n} class indices in [0, {classes}), but got {index.tolist()}"
        )
    correct = rows[np.arange(n), index].reshape(n, 1)  # x[y] per sample
    hinge = (rows - correct + margin).relu()
    if p == 2:
        hinge = hinge * hinge
    others = np.ones((n, classes), dtype=x.dtype)
    others[np.arange(n), index] = 0  # the target class itself does not count
    losses = (hinge * others).sum(dim=1) / classes
    if weight is not None:
        losses = losses * _raw_array(_operand(op, "weight", weight, x))[index]
    return _reduce(losses if x.ndim == 2 else losses.reshape(()), reduction)


def poisson_nll_loss(
    input,
    target,
    log_input: bool = True,
    full: bool = False,
    size_average=None,
    eps: float = 1e-8,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """Poisson negative log-likelihood: ``exp(x) - y x`` (``log_input``) or ``x - y log(x + eps)``;
    ``full`` adds Stirling's ``y log y - y + log(2 pi y) / 2`` where y > 1. Shape: (*)."""
    op = "poisson_nll_loss"
    reduction = _reduction(op, size_average, reduce, reduction)
    x = _float_tensor(op, "input", input)
    y = _operand(op, "target", target, x)
    losses = x.exp() - y * x if log_input else x - y * (x + eps).log()
    if full:
        t = y.array
        safe = np.where(t > 1, t, 1.0)
        stirling = np.where(t > 1, safe * np.log(safe) - safe + 0.5 * np.log(2 * math.pi * safe), 0.0)
        losses = losses + stirling.astype(x.dtype)
    return _reduce(losses, reduction)


def gaussian_nll_loss(
    input, target, var, full: bool = False, eps: float = 1e-6, reduction: str = "mean"
) -> Tensor:
    """Gaussian negative log-likelihood ``(log(max(var, eps)) + (x - y)^2 / max(var, eps)) / 2``
    (+ ``log(2 pi) / 2`` with ``full``). The clamp is outside autograd, as torch: the gradient
    reaches ``var`` unchanged.

    Shape: input (N, *) or (*); target as input; var as input, or one fewer trailing dimension
    or a last dimension of 1 (one variance per sample), or a number.
    """
    op = "gaussian_nll_loss"
    reduction = _reduction(op, None, None, reduction)
    x = _float_tensor(op, "input", input)
    y = _operand(op, "target", target, x)
    v = (
        _operand(op, "var", var, x)
        if not isinstance(var, (int, float))
        else Tensor(np.full(x.shape, var, x.dtype))
    )
    if v.shape != x.shape:
        if x.shape[:-1] == v.shape or (x.ndim and v.shape == (*x.shape[:-1], 1)):
            v = v.reshape(*x.shape[:-1], 1)
        else:
            raise ValueError(f"{op}: var of shape {v.shape} does not fit the input of shape {x.shape}")
    if (v.array < 0).any():
        raise ValueError(f"{op}: var has negative entries")
    # var + (clamped - var) detached: the value max(var, eps), the gradient of var itself
    clamped = v + Tensor((np.maximum(v.array, eps) - v.array).astype(x.dtype))
    diff = x - y
    losses = (clamped.log() + diff * diff / clamped) * 0.5
    if full:
        losses = losses + 0.5 * math.log(2 * math.pi)
    return _reduce(losses, reduction)


def triplet_margin_with_distance_loss(
    anchor,
    positive,
    negative,
    *,
    distance_function=None,
    margin: float = 1.0,
    swap: bool = False,
    reduction: str = "mean",
) -> Tensor:
    """``max(d(a, p) - d(a, n) + margin, 0)`` with any ``distance_function(x, y)`` (default
    ``pairwise_distance``); ``swap`` as :func:`triplet_margin_loss`. Shape: (N, D) or (D)."""
    op = "triplet_margin_with_distance_loss"
    reduction = _reduction(op, None, None, reduction)
    if margin <= 0:
        raise ValueError(f"{op}: margin must be greater than 0, but got margin={margin!r}")
    distance = pairwise_distance if distance_function is None else distance_function
    a = _float_tensor(op, "anchor", anchor)
    pos, neg = _operand(op, "positive", positive, a), _operand(op, "negative", negative, a)
    d_pos, d_neg = distance(a, pos), distance(a, neg)
    if swap:
        d_neg = d_neg.minimum(distance(pos, neg))
    return _reduce((margin + d_pos - d_neg).relu(), reduction)


def multilabel_margin_loss(input, target, size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    """Per sample, ``sum over target classes j and other classes i of max(0, 1 - (x[j] - x[i])) / C``;
    the target lists class indices, ended by the first -1 (torch's format).

    Shape: input (N, C) or (C); target of the same shape, int64; output (N) for 'none'.
    """
    op = "multilabel_margin_loss"
    reduction = _reduction(op, size_average, reduce, reduction)
    x = _float_tensor(op, "input", input)
    index = np.asarray(_raw_array(_tensor(op, "target", target)))
    if index.shape != x.shape or not np.issubdtype(index.dtype, np.integer):
        raise ValueError(
            f"{op}: target must be integer class indices of the input's shape {x.shape}, got {index.shape}"
        )
    rows, targets = (x, index) if x.ndim == 2 else (x.reshape(1, -1), index.reshape(1, -1))
    n, classes = rows.shape
    is_target = np.zeros((n, classes), dtype=bool)
    for r in range(n):
        listed = targets[r]
        end = int(np.argmax(listed == -1)) if (listed == -1).any() else classes
        is_target[r, listed[:end]] = True
    # pairs (j target, i not target): hinge of x[j] - x[i], summed, over C
    margins = (1 - (rows.reshape(n, classes, 1) - rows.reshape(n, 1, classes))).relu()  # [r, j, i]
    pairs = (is_target[:, :, None] & ~is_target[:, None, :]).astype(x.dtype)
    losses = (margins * pairs).sum(dim=(1, 2)) / classes
    return _reduce(losses if x.ndim == 2 else losses.reshape(()), reduction)
