"""More activations, composed from the differentiable elementwise ops (tinygrad style).

Each function is written in terms of ``relu``/``clamp``/``exp``/``log``/``sigmoid``/
``tanh``/``where``, so its gradient comes from theirs; the branches that are not taken
are fed clamped arguments, so that an ``exp`` on the unused side never overflows into
a ``0 * inf = nan`` gradient. ``inplace=True`` writes the result into the input and returns
it, with torch's in-place rules (refused on a leaf that requires grad); see :func:`in_place`.
"""

from __future__ import annotations

import numpy as np

from .. import random as cf_random
from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ..kernels import clip as clip_kernels
from ._common import _float_tensor, _tensor, in_place
from .activation import leaky_relu, relu, softmax

__all__ = [
    "celu",
    "elu",
    "glu",
    "gumbel_softmax",
    "hardshrink",
    "hardsigmoid",
    "hardswish",
    "hardtanh",
    "logsigmoid",
    "mish",
    "celu_",
    "elu_",
    "hardtanh_",
    "leaky_relu_",
    "prelu",
    "relu6",
    "relu_",
    "rrelu",
    "rrelu_",
    "selu_",
    "threshold_",
    "selu",
    "silu",
    "softmin",
    "softplus",
    "softshrink",
    "softsign",
    "tanhshrink",
    "threshold",
]

# the SELU constants of Klambauer et al. (2017), as torch
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def _number(op: str, name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise TypeError(f"{op}: {name} must be a number, but got {name}={value!r}")
    return float(value)


class Hardtanh(Function):
    """``clip(x, low, high)`` in one pass (``np.clip``); the gradient is 1 only strictly inside
    (low, high), 0 at the bounds, outside and at NaN, as torch's hardtanh family
    (``Tensor.clamp`` passes the gradient at the bounds too). Backward reads the input, as
    torch's."""

    def forward(self, a, low, high):
        self.a, self.low, self.high = a, low, high
        return np.clip(a, a.dtype.type(low), a.dtype.type(high))

    def backward(self, g):
        return clip_kernels.open_interval_grad(g, self.a, self.low, self.high), None, None


def _clip_open(x: Tensor, low: float, high: float) -> Tensor:
    """``clamp(x, low, high)`` with the hardtanh gradient (see :class:`Hardtanh`)."""
    return Hardtanh.apply(x, low, high)


def hardtanh(input, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> Tensor:
    """``clamp(x, min_val, max_val)``; the gradient is 1 strictly inside. Shape: any."""
    low, high = _number("hardtanh", "min_val", min_val), _number("hardtanh", "max_val", max_val)
    if low > high:
        raise ValueError(
            f"hardtanh: min_val must be <= max_val, but got min_val={min_val}, max_val={max_val}"
        )
    return in_place(_float_tensor("hardtanh", "input", input), lambda x: _clip_open(x, low, high), inplace)


def relu6(input, inplace: bool = False) -> Tensor:
    """``min(max(0, x), 6)``. Shape: any."""
    return in_place(_float_tensor("relu6", "input", input), lambda x: _clip_open(x, 0.0, 6.0), inplace)


def hardsigmoid(input, inplace: bool = False) -> Tensor:
    """``relu6(x + 3) / 6``, a piecewise-linear sigmoid (MobileNetV3). Shape: any."""
    x = _float_tensor("hardsigmoid", "input", input)
    return in_place(x, lambda t: _clip_open(t + 3.0, 0.0, 6.0) / 6.0, inplace)


def hardswish(input, inplace: bool = False) -> Tensor:
    """``x * relu6(x + 3) / 6`` (MobileNetV3); gradient 0 at -3 and 1 at 3, as torch. Shape: any."""
    x = _float_tensor("hardswish", "input", input)
    return in_place(x, lambda t: t * _clip_open(t + 3.0, 0.0, 6.0) / 6.0, inplace)


def silu(input, inplace: bool = False) -> Tensor:
    """``x * sigmoid(x)`` (also called swish). Shape: any."""
    x = _float_tensor("silu", "input", input)
    return in_place(x, lambda t: t * t.sigmoid(), inplace)


def softplus(input, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """``log(1 + exp(beta x)) / beta``, and ``x`` itself where ``beta x > threshold``. Shape: any."""
    x = _float_tensor("softplus", "input", input)
    beta, limit = _number("softplus", "beta", beta), _number("softplus", "threshold", threshold)
    scaled = x * beta
    return x.where(scaled.array > limit, _log1p_exp(scaled) / beta)


def _log1p_exp(s: Tensor) -> Tensor:
    """``log(1 + exp(s))`` without overflow: ``s + log(1 + exp(-s))`` for s > 0, the direct form
    for s <= 0 (each side fed a clamped argument; the gradient at 0 is sigmoid(0) = 1/2)."""
    positive = s + ((-s.clamp(min=0.0)).exp() + 1.0).log()
    return positive.where(s.array > 0, (s.clamp(max=0.0).exp() + 1.0).log())


def mish(input, inplace: bool = False) -> Tensor:
    """``x * tanh(softplus(x))`` (Misra, 2019). Shape: any."""
    x = _float_tensor("mish", "input", input)
    return in_place(x, lambda t: t * softplus(t).tanh(), inplace)


def elu(input, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """``x`` where ``x > 0``, else ``alpha (exp(x) - 1)``. Shape: any."""
    x = _float_tensor("elu", "input", input)
    alpha = _number("elu", "alpha", alpha)
    return in_place(x, lambda t: t.where(t.array > 0, (t.clamp(max=0.0).exp() - 1.0) * alpha), inplace)


def selu(input, inplace: bool = False) -> Tensor:
    """``scale * elu(x, alpha)`` with the self-normalizing constants of Klambauer et al. Shape: any."""
    return in_place(_float_tensor("selu", "input", input), lambda t: elu(t, SELU_ALPHA) * SELU_SCALE, inplace)


def celu(input, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """``max(0, x) + min(0, alpha (exp(x / alpha) - 1))``. Shape: any."""
    alpha = _number("celu", "alpha", alpha)
    if alpha == 0:
        raise ValueError("celu: alpha must not be 0 (it divides x), but got alpha=0")
    x = _float_tensor("celu", "input", input)
    return in_place(
        x, lambda t: t.where(t.array > 0, ((t.clamp(max=0.0) / alpha).exp() - 1.0) * alpha), inplace
    )


def logsigmoid(input) -> Tensor:
    """``log(sigmoid(x)) = -log(1 + exp(-x))``, stable for any x. Shape: any."""
    return -_log1p_exp(-_float_tensor("logsigmoid", "input", input))


def softsign(input) -> Tensor:
    """``x / (1 + |x|)``. Shape: any."""
    x = _float_tensor("softsign", "input", input)
    return x / (x.abs() + 1.0)


def tanhshrink(input) -> Tensor:
    """``x - tanh(x)``. Shape: any."""
    x = _float_tensor("tanhshrink", "input", input)
    return x - x.tanh()


def threshold(input, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """``x`` where ``x > threshold``, else ``value``. Shape: any."""
    x = _tensor("threshold", "input", input)
    limit, fill = _number("threshold", "threshold", threshold), _number("threshold", "value", value)
    return in_place(x, lambda t: t.where(t.array > limit, np.asarray(fill, dtype=t.dtype)), inplace)


_threshold = threshold  # threshold_'s argument named threshold hides the function


def hardshrink(input, lambd: float = 0.5) -> Tensor:
    """``x`` where ``|x| > lambd``, else 0. Shape: any."""
    x = _float_tensor("hardshrink", "input", input)
    lambd = _number("hardshrink", "lambd", lambd)
    return x.where(np.abs(x.array) > lambd, np.zeros((), dtype=x.dtype))


def softshrink(input, lambd: float = 0.5) -> Tensor:
    """``x - lambd`` above ``lambd``, ``x + lambd`` below ``-lambd``, 0 between. Shape: any."""
    x = _float_tensor("softshrink", "input", input)
    lambd = _number("softshrink", "lambd", lambd)
    if lambd < 0:
        raise ValueError(f"softshrink: lambd must be >= 0, but got lambd={lambd}")
    return (x - lambd).relu() - (-x - lambd).relu()


def glu(input, dim: int = -1) -> Tensor:
    """Gated linear unit: split ``dim`` in halves ``a, b`` and return ``a * sigmoid(b)``.

    Shape: (*, 2M, *) -> (*, M, *) along ``dim``.
    """
    x = _float_tensor("glu", "input", input)
    if x.ndim == 0:
        raise ValueError("glu: input must have at least 1 dimension, but got a 0-d input")
    axis = dim % x.ndim
    size = x.shape[axis]
    if size % 2:
        raise ValueError(f"glu: halving dimension {dim} needs an even size, but got size {size}")
    first = (slice(None),) * axis + (slice(0, size // 2),)
    second = (slice(None),) * axis + (slice(size // 2, size),)
    return x[first] * x[second].sigmoid()


def softmin(input, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """``softmax(-x)`` along ``dim``. Shape: any."""
    x = _float_tensor("softmin", "input", input)
    return softmax(-x, dim, _stacklevel=_stacklevel + 1, dtype=dtype)


def prelu(input, weight) -> Tensor:
    """``x`` where positive, ``weight * x`` elsewhere; ``weight`` has one slope or one per channel.

    Shape: input (N, C, *), or (*) of fewer than 2 dimensions (one channel, as torch); weight
    (1,) or (C,), C along dimension 1.
    """
    x = _float_tensor("prelu", "input", input)
    w = _float_tensor("prelu", "weight", weight)
    if w.ndim != 1:
        raise ValueError(f"prelu: weight must be 1-D, but got weight of shape {w.shape}")
    channels = x.shape[1] if x.ndim >= 2 else 1
    if w.shape[0] not in (1, channels):
        raise ValueError(
            f"prelu: weight must have 1 entry or one per channel ({channels} for input of shape "
            f"{x.shape}), but got weight of shape {w.shape}"
        )
    if w.shape[0] != 1:
        w = w.reshape(1, channels, *([1] * (x.ndim - 2)))
    return x.relu() + w * x.clamp(max=0.0)


def rrelu(
    input, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False, inplace: bool = False
) -> Tensor:
    """Randomized leaky ReLU: ``x`` where positive, else ``a * x`` with ``a ~ U(lower, upper)``
    drawn per element in training (from the seeded generator), ``a = (lower + upper) / 2`` in
    evaluation. Shape: any."""
    op = "rrelu"
    low, high = _number(op, "lower", lower), _number(op, "upper", upper)
    if low > high:
        raise ValueError(f"{op}: lower must be <= upper, but got lower={lower}, upper={upper}")
    x = _float_tensor(op, "input", input)
    if training:
        slope = cf_random.default_generator().uniform(low, high, x.shape).astype(x.dtype)
    else:
        slope = np.asarray((low + high) / 2, dtype=x.dtype)
    return in_place(x, lambda t: t.where(t.array > 0, t * slope), inplace)


# torch's in-place spellings: the function with inplace=True
def relu_(input) -> Tensor:
    """In-place :func:`relu`."""
    return relu(input, inplace=True)


def leaky_relu_(input, negative_slope: float = 0.01) -> Tensor:
    """In-place leaky ReLU (the result written into ``input``)."""
    x = _float_tensor("leaky_relu_", "input", input)
    return in_place(x, lambda t: leaky_relu(t, negative_slope), True)


def elu_(input, alpha: float = 1.0) -> Tensor:
    """In-place :func:`elu`."""
    return elu(input, alpha, inplace=True)


def selu_(input) -> Tensor:
    """In-place :func:`selu`."""
    return selu(input, inplace=True)


def celu_(input, alpha: float = 1.0) -> Tensor:
    """In-place :func:`celu`."""
    return celu(input, alpha, inplace=True)


def hardtanh_(input, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    """In-place :func:`hardtanh`."""
    return hardtanh(input, min_val, max_val, inplace=True)


def threshold_(input, threshold: float, value: float) -> Tensor:
    """In-place :func:`threshold`."""
    return _threshold(input, threshold, value, inplace=True)


def rrelu_(input, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False) -> Tensor:
    """In-place :func:`rrelu`."""
    return rrelu(input, lower, upper, training, inplace=True)


def gumbel_softmax(logits, tau: float = 1, hard: bool = False, eps: float = 1e-10, dim: int = -1) -> Tensor:
    """A differentiable sample of a categorical distribution (Jang et al., Maddison et al.):
    ``softmax((logits + g) / tau)`` with Gumbel noise ``g = -log(E)``, ``E ~ Exp(1)`` from the
    seeded generator; ``hard`` returns the one-hot argmax with the soft sample's gradient
    (straight-through). ``eps`` is accepted (torch no longer uses it).

    Shape: any; the sample lies along ``dim``.
    """
    x = _float_tensor("gumbel_softmax", "logits", logits)
    gumbels = -np.log(cf_random.default_generator().exponential(size=x.shape)).astype(x.dtype)
    soft = softmax((x + gumbels) / tau, dim)
    if not hard:
        return soft
    axis = dim % max(x.ndim, 1)
    index = np.expand_dims(np.argmax(soft.array, axis=axis), axis)
    one_hot = np.zeros(x.shape, dtype=x.dtype)
    np.put_along_axis(one_hot, index, 1, axis=axis)
    return soft - soft.detach() + one_hot  # the value of one_hot, the gradient of soft
