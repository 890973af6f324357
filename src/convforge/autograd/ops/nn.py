"""Neural-network Functions: linear map, activations, softmax family, losses, batch norm.

Each is one node with its own backward, written for numerical stability: the softmax
family shifts by the maximum before ``exp``; cross-entropy works on ``log_softmax`` and
never forms ``log(softmax)``; the logistic loss uses ``softplus`` via ``logaddexp``.

Losses reduce inside the Function (``'none'``, ``'sum'`` or ``'mean'``); ``'mean'``
divides by a denominator the loss chooses (the summed target weights for the weighted
class losses, as torch does).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import erf

from ...kernels.threads import matmul
from ..function import Function
from .elementwise import unbroadcast

_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_INV_SQRT_2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_GELU_CUBIC = 0.044715  # the tanh approximation's cubic coefficient (Hendrycks & Gimpel)


class Linear(Function):
    """``y = x @ w.T + b`` over the last axis of ``x`` (any leading axes)."""

    def forward(self, x, w, b):
        self.save_for_backward(x, w)
        y = matmul(x, w.T)  # (*, out) = (*, in) @ (in, out); small products on one BLAS thread
        if b is not None:
            y += b
        return y

    def backward(self, g):
        x, w = self.saved
        g2 = g.reshape(-1, g.shape[-1])  # (M, out)
        gx = matmul(g, w) if self.needs_input_grad[0] else None  # (*, in) = (*, out) @ (out, in)
        gw = matmul(g2.T, x.reshape(-1, x.shape[-1])) if self.needs_input_grad[1] else None  # (out, in)
        gb = g2.sum(axis=0) if self.needs_input_grad[2] else None
        return gx, gw, gb


# --------------------------------------------------------------------------------------
# activations
# --------------------------------------------------------------------------------------
class LeakyReLU(Function):
    def forward(self, a, negative_slope):
        self.positive, self.slope = a > 0, negative_slope
        return np.where(self.positive, a, a * negative_slope)

    def backward(self, g):
        return np.where(self.positive, g, g * self.slope), None


class GELU(Function):
    """``x * Phi(x)`` (exact, with erf) or its tanh approximation.

    Derivatives: exact ``Phi(x) + x * phi(x)``; tanh form with ``t = tanh(u)``,
    ``u = sqrt(2/pi) (x + c x^3)``: ``(1 + t)/2 + x (1 - t^2) sqrt(2/pi) (1 + 3 c x^2) / 2``.
    """

    def forward(self, a, approximate):
        self.save_for_backward(a)
        self.approximate = approximate
        if approximate == "tanh":
            self.t = np.tanh(_SQRT_2_OVER_PI * (a + _GELU_CUBIC * a * a * a))
            return 0.5 * a * (1 + self.t)
        self.cdf = 0.5 * (1 + erf(a * _INV_SQRT_2))
        return a * self.cdf

    def backward(self, g):
        (a,) = self.saved
        if self.approximate == "tanh":
            t = self.t
            du = _SQRT_2_OVER_PI * (1 + 3 * _GELU_CUBIC * a * a)
            slope = 0.5 * (1 + t) + 0.5 * a * (1 - t * t) * du
        else:
            slope = self.cdf + a * _INV_SQRT_2PI * np.exp(-0.5 * a * a)
        return g * slope, None


def log_softmax_array(a: np.ndarray, axis: int) -> np.ndarray:
    """``log(softmax(a))`` without overflow: shift by the maximum first."""
    shifted = a - a.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


class Softmax(Function):
    """``exp(a) / sum(exp(a))`` along ``axis``; backward ``y * (g - sum(g * y))``."""

    def forward(self, a, axis):
        self.axis = axis
        e = np.exp(a - a.max(axis=axis, keepdims=True))
        self.y = e / e.sum(axis=axis, keepdims=True)
        return self.y

    def backward(self, g):
        y = self.y
        return y * (g - (g * y).sum(axis=self.axis, keepdims=True)), None


class LogSoftmax(Function):
    """``a - logsumexp(a)`` along ``axis``; backward ``g - softmax * sum(g)``."""

    def forward(self, a, axis):
        self.axis = axis
        self.y = log_softmax_array(a, axis)
        return self.y

    def backward(self, g):
        return g - np.exp(self.y) * g.sum(axis=self.axis, keepdims=True), None


# --------------------------------------------------------------------------------------
# losses
# --------------------------------------------------------------------------------------
def _reduce(losses: np.ndarray, reduction: str, denominator) -> np.ndarray:
    if reduction == "none":
        return losses
    total = losses.sum(dtype=losses.dtype)
    if reduction == "sum":
        return np.asarray(total)
    with np.errstate(invalid="ignore", divide="ignore"):  # all targets ignored: nan, as torch
        return np.asarray(total / losses.dtype.type(denominator))


def _loss_scale(g: np.ndarray, reduction: str, denominator, shape) -> np.ndarray:
    """d(reduced loss)/d(per-element loss) times the incoming gradient, shape ``shape``."""
    if reduction == "none":
        return g
    if reduction == "mean":
        g = g / g.dtype.type(denominator) if denominator else np.zeros_like(g)
    return np.broadcast_to(g, shape)


def class_weights(target, weight, ignore_index: int, label_smoothing: float, n_classes: int, dtype):
    """The matrix Q of ``loss = -sum_c Q[.., c] * log p[.., c]`` and the 'mean' denominator.

    Class-index targets of shape (*): ``Q = (1-eps) w[y] onehot(y) + eps/C w`` on the
    samples that are not ``ignore_index`` (zero rows for those), denominator ``sum w[y]``
    over them (torch's rule, also with label smoothing). Probability targets of shape
    (*, C): ``Q = w ((1-eps) t + eps/C)``, denominator the number of samples.
    """
    w = np.ones(n_classes, dtype=dtype) if weight is None else weight.astype(dtype, copy=False)
    if np.issubdtype(target.dtype, np.integer):
        valid = target != ignore_index
        safe = np.where(valid, target, 0)
        picked = w[safe] * valid  # (*,) weight of each sample's class, 0 where ignored
        q = (label_smoothing / n_classes) * w * valid[..., None].astype(dtype)  # (*, C)
        onehot = np.zeros_like(q)
        np.put_along_axis(onehot, safe[..., None], picked[..., None], axis=-1)
        q += (1 - label_smoothing) * onehot
        return q.astype(dtype, copy=False), float(picked.sum())
    t = target.astype(dtype, copy=False)
    q = w * ((1 - label_smoothing) * t + label_smoothing / n_classes)
    return q.astype(dtype, copy=False), float(math.prod(t.shape[:-1]))


def _class_last(a: np.ndarray) -> np.ndarray:
    """(N, C, *d) -> (N, *d, C); an unbatched (C,) stays."""
    return np.moveaxis(a, 1, -1) if a.ndim > 1 else a


def _class_back(a: np.ndarray) -> np.ndarray:
    return np.moveaxis(a, -1, 1) if a.ndim > 1 else a


class CrossEntropy(Function):
    """``log_softmax`` over the class axis (1, or 0 for an unbatched input) then the
    weighted negative log-likelihood, in one node.

    With ``Q`` from :func:`class_weights` and ``p = softmax(z)``, a sample's loss is
    ``-sum_c Q_c log p_c`` and its gradient ``(sum_c Q_c) p - Q``.
    """

    def forward(self, logits, target, weight, ignore_index, label_smoothing, reduction):
        z = _class_last(logits)  # (*, C)
        soft = np.issubdtype(target.dtype, np.floating)
        t = _class_last(target) if soft else target
        self.logp = log_softmax_array(z, -1)
        self.q, self.denominator = class_weights(
            t, weight, ignore_index, label_smoothing, z.shape[-1], z.dtype
        )
        self.reduction, self.smoothing, self.weight = reduction, label_smoothing, weight
        losses = -(self.q * self.logp).sum(axis=-1)  # (*,)
        return _reduce(losses, reduction, self.denominator)

    def backward(self, g):
        logp, q = self.logp, self.q
        scale = _loss_scale(g, self.reduction, self.denominator, logp.shape[:-1])[..., None]
        gz = gt = None
        if self.needs_input_grad[0]:
            gz = _class_back(scale * (q.sum(axis=-1, keepdims=True) * np.exp(logp) - q))
        if self.needs_input_grad[1]:  # probability targets only
            w = 1 if self.weight is None else self.weight
            gt = _class_back(-(1 - self.smoothing) * w * logp * scale)
        return gz, gt, None, None, None, None


class NLLLoss(Function):
    """``-sum_c Q_c * input_c`` per sample (input holds log-probabilities); Q as above."""

    def forward(self, logp, target, weight, ignore_index, reduction):
        lp = _class_last(logp)
        self.q, self.denominator = class_weights(target, weight, ignore_index, 0.0, lp.shape[-1], lp.dtype)
        self.reduction = reduction
        return _reduce(-(self.q * lp).sum(axis=-1), reduction, self.denominator)

    def backward(self, g):
        scale = _loss_scale(g, self.reduction, self.denominator, self.q.shape[:-1])[..., None]
        return _class_back(-self.q * scale), None, None, None, None


class BCEWithLogits(Function):
    """Logistic loss on logits ``x`` with targets ``y``, weight ``w``, positive weight ``pw``.

    ``loss = w [(1 - y) x + (1 + (pw - 1) y) softplus(-x)]``, the stable form of
    ``-w [pw y log sigmoid(x) + (1 - y) log(1 - sigmoid(x))]``.
    """

    def forward(self, x, y, weight, pos_weight, reduction):
        self.save_for_backward(x, y)
        self.weight, self.pos_weight, self.reduction = weight, pos_weight, reduction
        self.softplus_neg = np.logaddexp(0, -x)  # softplus(-x) = -log sigmoid(x)
        log_weight = 1 if pos_weight is None else 1 + (pos_weight - 1) * y
        losses = (1 - y) * x + log_weight * self.softplus_neg
        if weight is not None:
            losses = losses * weight
        self.loss_shape = losses.shape
        return _reduce(losses, reduction, losses.size)

    def backward(self, g):
        x, y = self.saved
        scale = _loss_scale(g, self.reduction, math.prod(self.loss_shape), self.loss_shape)
        if self.weight is not None:
            scale = scale * self.weight
        pw = self.pos_weight
        gx = gy = None
        if self.needs_input_grad[0]:
            log_weight = 1 if pw is None else 1 + (pw - 1) * y
            sigmoid_neg = np.exp(-np.logaddexp(0, x))  # sigmoid(-x) = 1 - sigmoid(x)
            gx = unbroadcast(scale * ((1 - y) - log_weight * sigmoid_neg), x.shape)
        if self.needs_input_grad[1]:
            dy = -x if pw is None else -x + (pw - 1) * self.softplus_neg
            gy = unbroadcast(scale * dy, y.shape)
        return gx, gy, None, None, None


# --------------------------------------------------------------------------------------
# batch normalization
# --------------------------------------------------------------------------------------
class BatchNorm(Function):
    """``y = (x - mean) / sqrt(var + eps) * weight + bias`` per channel (axis 1).

    ``mean`` and ``var`` are given: the batch's (biased) statistics when ``training``,
    the running ones otherwise. In training they depend on ``x``, which the input gradient
    accounts for: with ``xhat`` the normalized input and means over the reduced axes,
    ``gx = weight / sqrt(var + eps) * (g - mean(g) - xhat * mean(g * xhat))``.
    """

    def forward(self, x, weight, bias, mean, var, eps, training):
        self.axes = (0, *range(2, x.ndim))
        shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
        self.shape, self.training, self.weight = shape, training, weight
        self.invstd = (1 / np.sqrt(var + eps)).astype(x.dtype, copy=False)  # (C,)
        self.xhat = (x - mean.reshape(shape)) * self.invstd.reshape(shape)
        y = self.xhat if weight is None else self.xhat * weight.reshape(shape)
        if bias is not None:
            y = y + bias.reshape(shape)
        return y

    def backward(self, g):
        xhat, axes = self.xhat, self.axes
        gx = gw = gb = None
        if self.needs_input_grad[0]:
            scale = self.invstd if self.weight is None else self.invstd * self.weight
            scale = scale.reshape(self.shape)
            if self.training:
                centered = g - g.mean(axis=axes, keepdims=True)
                gx = scale * (centered - xhat * (g * xhat).mean(axis=axes, keepdims=True))
            else:
                gx = scale * g
        if self.needs_input_grad[1]:
            gw = (g * xhat).sum(axis=axes)
        if self.needs_input_grad[2]:
            gb = g.sum(axis=axes)
        return gx, gw, gb, None, None, None, None
