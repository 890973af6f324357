"""Pointwise regression and probability losses: binary cross-entropy on probabilities, L1,
smooth L1, Huber and the Kullback-Leibler divergence, with torch's signatures and reductions."""

from __future__ import annotations

import warnings

import numpy as np

from ..autograd.ops import bce as bce_ops
from ..autograd.tensor import Tensor
from ._common import _broadcast_weight, _float_tensor, _tensor, _warn_if_broadcast
from .loss import _reduction

__all__ = ["binary_cross_entropy", "huber_loss", "kl_div", "l1_loss", "smooth_l1_loss"]


def _operands(op: str, input, target) -> tuple[Tensor, Tensor]:
    """input and target as Tensors of the input's dtype; a differing shape broadcasts with torch's warning."""
    x = _float_tensor(op, "input", input)
    t = _tensor(op, "target", target)
    _warn_if_broadcast(op, t.shape, x.shape, stacklevel=3)  # 3: past this helper, at the loss's caller
    if t.dtype != x.dtype:
        t = t.to(x.dtype)
    return x, t


def _weighted_reduce(op: str, losses: Tensor, reduction: str, weight, mean_by_weight: bool = True) -> Tensor:
    """Apply an elementwise ``weight`` (input-shaped), then reduce.

    A weighted 'mean' divides by ``sum(weight)`` for l1_loss (and mse_loss) but by the number
    of elements for huber_loss: torch 2.13 does each, so ``mean_by_weight`` says which.
    """
    w = None if weight is None else _tensor(op, "weight", weight)
    if w is not None and w.shape != losses.shape:
        raise ValueError(
            f"{op}: weight must have the input's shape {losses.shape}, but got weight of shape {w.shape}"
        )
    if w is not None:
        losses = losses * w
    if reduction == "none":
        return losses
    if reduction == "sum":
        return losses.sum()
    return losses.mean() if w is None or not mean_by_weight else losses.sum() / w.sum()


def binary_cross_entropy(
    input, target, weight=None, size_average=None, reduce=None, reduction: str = "mean"
) -> Tensor:
    """Binary cross-entropy of probabilities ``input`` in [0, 1] against ``target``.

    ``loss = -w [y log p + (1 - y) log(1 - p)]``, each log clamped at -100 as torch, so a
    probability of exactly 0 or 1 gives a finite loss and gradient. ``weight`` broadcasts
    to the input.

    Shape: input and target (*) of the same shape; output () or (*) for 'none'.
    """
    op = "binary_cross_entropy"
    x = _float_tensor(op, "input", input)
    t = _tensor(op, "target", target)
    reduction = _reduction(op, size_average, reduce, reduction)
    if t.shape != x.shape:
        raise ValueError(
            f"{op}: target size {t.shape} must be the same as input size {x.shape} "
            "(a differing size is not broadcast)"
        )
    p = x.array
    if p.size and not ((p >= 0) & (p <= 1)).all():
        raise ValueError(
            f"{op}: all elements of input must be probabilities in [0, 1], but got values in "
            f"[{np.nanmin(p)}, {np.nanmax(p)}] (use binary_cross_entropy_with_logits for logits)"
        )
    if t.dtype != x.dtype:
        t = t.to(x.dtype)
    w = _broadcast_weight(op, "weight", weight, x)
    return bce_ops.BinaryCrossEntropy.apply(x, t, w, reduction)


def l1_loss(input, target, size_average=None, reduce=None, reduction: str = "mean", weight=None) -> Tensor:
    """Absolute error ``|input - target|``, optionally weighted per element.

    Shape: input and target (*) of the same shape; output () or (*) for 'none'.
    """
    op = "l1_loss"
    x, t = _operands(op, input, target)
    reduction = _reduction(op, size_average, reduce, reduction)
    return _weighted_reduce(op, (x - t).abs(), reduction, weight)


def _check_threshold(op: str, name: str, value, allow_zero: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{op}: {name} must be a number, but got {name}={value!r}")
    if value < 0 or (value == 0 and not allow_zero):
        allowed = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{op}: {name} must be {allowed}, but got {name}={value!r}")
    return float(value)


def smooth_l1_loss(
    input, target, size_average=None, reduce=None, reduction: str = "mean", beta: float = 1.0
) -> Tensor:
    """``0.5 d^2 / beta`` where ``|d| < beta``, else ``|d| - 0.5 beta`` (``d = input - target``).

    ``beta=0`` is the L1 loss, as torch. Shape: input and target (*); output () or (*).
    """
    op = "smooth_l1_loss"
    beta = _check_threshold(op, "beta", beta, allow_zero=True)
    x, t = _operands(op, input, target)
    reduction = _reduction(op, size_average, reduce, reduction)
    diff = x - t
    size = diff.abs()
    if beta == 0:
        return _weighted_reduce(op, size, reduction, None)
    losses = (diff * diff * (0.5 / beta)).where(size.array < beta, size - 0.5 * beta)
    return _weighted_reduce(op, losses, reduction, None)


def huber_loss(input, target, reduction: str = "mean", delta: float = 1.0, weight=None) -> Tensor:
    """``0.5 d^2`` where ``|d| < delta``, else ``delta (|d| - 0.5 delta)``; optionally weighted.

    Equal to ``delta * smooth_l1_loss(beta=delta)``. Shape: input and target (*); output () or (*).
    """
    op = "huber_loss"
    delta = _check_threshold(op, "delta", delta, allow_zero=False)
    x, t = _operands(op, input, target)
    reduction = _reduction(op, None, None, reduction)
    diff = x - t
    size = diff.abs()
    losses = (diff * diff * 0.5).where(size.array < delta, (size - 0.5 * delta) * delta)
    return _weighted_reduce(op, losses, reduction, weight, mean_by_weight=False)


def kl_div(
    input,
    target,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
    log_target: bool = False,
) -> Tensor:
    """Kullback-Leibler divergence of ``target`` from the log-probabilities ``input``.

    ``loss = target (log target - input)``, 0 where ``target = 0``; with ``log_target`` the
    target is given as log-probabilities: ``exp(target) (target - input)``. ``'batchmean'``
    divides the sum by the batch size (the mathematical KL divergence); ``'mean'`` divides by
    the number of elements and warns, as torch.

    Shape: input and target (*) of the same shape; output () or (*) for 'none'.
    """
    op = "kl_div"
    if reduction == "batchmean" and size_average is None and reduce is None:
        reduction_used = "batchmean"
    else:
        reduction_used = _reduction(op, size_average, reduce, reduction)
        if reduction_used == "mean":
            warnings.warn(
                f"{op}: reduction='mean' divides the total loss by both the batch size and the support "
                "size; 'batchmean' divides only by the batch size, which is the KL divergence",
                UserWarning,
                stacklevel=2,
            )
    x, t = _operands(op, input, target)
    if log_target:
        losses = t.exp() * (t - x)
    else:
        # log(1) = 0 where target = 0: torch's xlogy(0, 0) = 0, and its gradient there is 0
        safe = t.where(t.array > 0, np.ones((), dtype=t.dtype))
        losses = t * safe.log() - t * x
    if reduction_used == "batchmean":
        return losses.sum() / (x.shape[0] if x.ndim else 1)
    return _weighted_reduce(op, losses, reduction_used, None)
