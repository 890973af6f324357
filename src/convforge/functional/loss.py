"""Losses: cross-entropy, NLL, MSE and the logistic loss on logits."""

from __future__ import annotations

import warnings

import numpy as np

from ..autograd.ops import nn as nn_ops
from ..autograd.tensor import Tensor, as_tensor
from ._common import (
    TensorLike,
    _broadcast_weight,
    _computed,
    _float_tensor,
    _in_dtype_of,
    _raw_array,
    _tensor,
    _warn_if_broadcast,
)

__all__ = ["binary_cross_entropy_with_logits", "cross_entropy", "mse_loss", "nll_loss"]


_REDUCTIONS = ("none", "mean", "sum")


def _reduction(op: str, size_average, reduce, reduction: str) -> str:
    """torch's legacy ``size_average``/``reduce`` flags, when given, decide the reduction."""
    if size_average is not None or reduce is not None:
        warnings.warn(
            f"{op}: size_average and reduce are deprecated; use reduction=", DeprecationWarning, stacklevel=3
        )
        size_average = True if size_average is None else size_average
        reduce = True if reduce is None else reduce
        reduction = "none" if not reduce else ("mean" if size_average else "sum")
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{op}: reduction must be 'none', 'mean' or 'sum', but got reduction={reduction!r}")
    return reduction


def _class_weight(op: str, weight, classes: int) -> np.ndarray | None:
    w = _raw_array(weight)
    if w is not None and w.shape != (classes,):
        raise ValueError(
            f"{op}: weight must have shape ({classes},) (one value per class), but got weight of shape {w.shape}"
        )
    return w


def _class_target(op: str, x: Tensor, target, ignore_index: int, soft_allowed: bool):
    """The target of a class loss, validated: class indices (an array) or probabilities."""
    if x.ndim == 0:
        raise ValueError(f"{op}: input must have a class dimension, but got a 0-d input")
    t = target if isinstance(target, Tensor) else as_tensor(target)
    classes = x.shape[1] if x.ndim > 1 else x.shape[0]
    index_shape = (x.shape[0], *x.shape[2:]) if x.ndim > 1 else ()
    if np.issubdtype(t.dtype, np.integer):
        if t.shape != index_shape:
            raise ValueError(
                f"{op}: target of class indices must have shape {index_shape} (the input's shape "
                f"{x.shape} without the class dimension), but got target of shape {t.shape}"
            )
        bad = (t.array != ignore_index) & ((t.array < 0) | (t.array >= classes))
        if bad.any():
            raise ValueError(
                f"{op}: target holds class index {int(t.array[bad].flat[0])}, but the input has "
                f"{classes} classes (valid: 0..{classes - 1}, or ignore_index={ignore_index})"
            )
        return t.array
    if soft_allowed and np.issubdtype(t.dtype, np.floating):
        if t.shape != x.shape:
            raise ValueError(
                f"{op}: a floating target holds class probabilities and must have the input's "
                f"shape {x.shape}, but got target of shape {t.shape} (class indices must be ints)"
            )
        return t.to(x.dtype)
    kinds = (
        "integer class indices or floating class probabilities" if soft_allowed else "integer class indices"
    )
    raise TypeError(f"{op}: target must hold {kinds}, but got target of dtype {t.dtype}")


def cross_entropy(
    input: TensorLike,
    target: TensorLike,
    weight: TensorLike | None = None,
    size_average: bool | None = None,
    ignore_index: int = -100,
    reduce: bool | None = None,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """Cross-entropy of the logits ``input`` against class indices (or class probabilities).

    One stable Function: ``log_softmax`` over the class dimension, then the weighted
    negative log-likelihood. With label smoothing ``eps`` the target mixes the class with
    the uniform distribution: ``(1 - eps) * nll + eps * mean over classes of -w_c log p_c``.
    ``'mean'`` divides by the summed weights of the non-ignored targets (as torch).

    Shape: input (N, C) or (N, C, *) or (C,); target (N) or (N, *) or () of class
    indices, or the input's shape of probabilities; output () or, with
    ``reduction='none'``, the target's index shape.
    """
    op = "cross_entropy"
    given = _float_tensor(op, "input", input)
    (x,) = _computed(op, given)  # the dtype policy: float16 computes in float32
    reduction = _reduction(op, size_average, reduce, reduction)
    if not isinstance(label_smoothing, (int, float)) or not 0 <= label_smoothing <= 1:
        raise ValueError(
            f"{op}: label_smoothing must be in [0, 1], but got label_smoothing={label_smoothing!r}"
        )
    t = _class_target(op, x, target, ignore_index, soft_allowed=True)
    w = _class_weight(op, weight, x.shape[1] if x.ndim > 1 else x.shape[0])
    loss = nn_ops.CrossEntropy.apply(x, t, w, int(ignore_index), float(label_smoothing), reduction)
    return _in_dtype_of(loss, given)


def nll_loss(
    input: TensorLike,
    target: TensorLike,
    weight: TensorLike | None = None,
    size_average: bool | None = None,
    ignore_index: int = -100,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """Negative log-likelihood of log-probabilities ``input`` at the target classes.

    ``loss_i = -weight[t_i] * input[i, t_i]``; ``'mean'`` divides by ``sum weight[t_i]``
    over the targets that are not ``ignore_index``.

    Shape: input (N, C) or (N, C, *) or (C,); target (N) or (N, *) or () of class indices.
    """
    op = "nll_loss"
    given = _float_tensor(op, "input", input)
    (x,) = _computed(op, given)  # the dtype policy: float16 computes in float32
    reduction = _reduction(op, size_average, reduce, reduction)
    t = _class_target(op, x, target, ignore_index, soft_allowed=False)
    w = _class_weight(op, weight, x.shape[1] if x.ndim > 1 else x.shape[0])
    return _in_dtype_of(nn_ops.NLLLoss.apply(x, t, w, int(ignore_index), reduction), given)


def mse_loss(
    input: TensorLike,
    target: TensorLike,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    weight: TensorLike | None = None,
) -> Tensor:
    """Squared error ``(input - target)^2``, optionally weighted per element.

    ``'mean'`` divides by the number of elements, or by ``sum(weight)`` when weighted (as
    torch). Shape: input and target (*) of the same shape (a differing target broadcasts,
    with a warning, as in torch).
    """
    op = "mse_loss"
    given = _float_tensor(op, "input", input)
    (x,) = _computed(op, given)  # the dtype policy: float16 computes in float32
    t = _tensor(op, "target", target)
    reduction = _reduction(op, size_average, reduce, reduction)
    _warn_if_broadcast(op, t.shape, x.shape)
    w = None if weight is None else _tensor(op, "weight", weight)
    if w is not None and w.shape != x.shape:
        raise ValueError(
            f"{op}: weight must have the input's shape {x.shape}, but got weight of shape {w.shape}"
        )
    if given.dtype != x.dtype and np.issubdtype(t.dtype, np.floating):
        t, w = (None if v is None else v.to(x.dtype) for v in (t, w))  # float16 computed in float32
    diff = x - t
    squared = diff * diff if w is None else diff * diff * w
    if reduction == "none":
        return _in_dtype_of(squared, given)
    if reduction == "sum":
        return _in_dtype_of(squared.sum(), given)
    return _in_dtype_of(squared.mean() if w is None else squared.sum() / w.sum(), given)


def binary_cross_entropy_with_logits(
    input: TensorLike,
    target: TensorLike,
    weight: TensorLike | None = None,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    pos_weight: TensorLike | None = None,
) -> Tensor:
    """Logistic loss on logits, stable for any logit size.

    ``loss = -w [pw * y * log sigmoid(x) + (1 - y) log(1 - sigmoid(x))]`` with ``weight``
    ``w`` broadcast to the input and ``pos_weight`` ``pw`` broadcast along the last
    (class) dimension.

    Shape: input and target (*) of the same shape; output () or (*) for 'none'.
    """
    op = "binary_cross_entropy_with_logits"
    given = _float_tensor(op, "input", input)
    (x,) = _computed(op, given)  # the dtype policy: float16 computes in float32
    t = _tensor(op, "target", target)
    reduction = _reduction(op, size_average, reduce, reduction)
    if t.shape != x.shape:
        raise ValueError(f"{op}: target size {t.shape} must be the same as input size {x.shape}")
    if t.dtype != x.dtype:
        t = t.to(x.dtype) if np.issubdtype(t.dtype, np.floating) else Tensor(t.array.astype(x.dtype))
    w, pos_w = _broadcast_weight(op, "weight", weight, x), _broadcast_weight(op, "pos_weight", pos_weight, x)
    loss = nn_ops.BCEWithLogits.apply(x, t, w, pos_w, reduction)
    return _in_dtype_of(loss, given)
