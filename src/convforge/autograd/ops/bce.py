"""Binary cross-entropy on probabilities, as one Function (torch's clamped logs and gradient)."""

from __future__ import annotations

import math

import numpy as np

from ..function import Function
from .elementwise import unbroadcast
from .nn import _loss_scale, _reduce

# torch clamps each log at -100 so that p = 0 or 1 gives a finite loss, and bounds the
# gradient's denominator p (1 - p) below by this epsilon
_LOG_FLOOR = -100.0
_GRAD_EPS = 1e-12


class BinaryCrossEntropy(Function):
    """``loss = -w [y max(log p, -100) + (1 - y) max(log(1 - p), -100)]``.

    ``d loss / d p = w (p - y) / max(p (1 - p), 1e-12)`` (torch's form, finite at 0 and 1);
    ``d loss / d y = w (max(log(1 - p), -100) - max(log p, -100))``.
    """

    def forward(self, p, y, weight, reduction):
        with np.errstate(divide="ignore"):
            log_p = np.maximum(np.log(p), _LOG_FLOOR)
            log_q = np.maximum(np.log1p(-p), _LOG_FLOOR)
        self.save_for_backward(p, y, log_p, log_q)
        self.weight, self.reduction = weight, reduction
        losses = -(y * log_p + (1 - y) * log_q)
        if weight is not None:
            losses = losses * weight
        self.loss_shape = losses.shape
        return _reduce(losses.astype(p.dtype, copy=False), reduction, losses.size)

    def backward(self, g):
        p, y, log_p, log_q = self.saved
        scale = _loss_scale(g, self.reduction, math.prod(self.loss_shape), self.loss_shape)
        if self.weight is not None:
            scale = scale * self.weight
        gp = gy = None
        if self.needs_input_grad[0]:
            gp = unbroadcast(scale * (p - y) / np.maximum(p * (1 - p), _GRAD_EPS), p.shape).astype(p.dtype)
        if self.needs_input_grad[1]:
            gy = unbroadcast(scale * (log_q - log_p), y.shape).astype(y.dtype)
        return gp, gy, None, None
