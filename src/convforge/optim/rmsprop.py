"""RMSprop (Hinton's lecture 6e), optionally centered and with momentum, with torch's rule."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from ..autograd import Tensor
from .optimizer import Optimizer, decayed_gradient, start_state


class RMSprop(Optimizer):
    r"""RMSprop with torch's update rule and state names.

    For each parameter :math:`\theta` with gradient :math:`g` (negated if ``maximize``)::

        g = g + weight_decay * theta                 if weight_decay != 0
        v = alpha * v + (1 - alpha) * g**2           state "square_avg"
        m = alpha * m + (1 - alpha) * g              state "grad_avg", if centered
        d = sqrt(v - m**2) + eps   if centered   else   sqrt(v) + eps
        b = momentum * b + g / d                     state "momentum_buffer", if momentum > 0
        theta = theta - lr * b     if momentum > 0   else   theta - lr * g / d

    Parameters
    ----------
    params : iterable of Tensor or dict
        Parameters to optimize or parameter groups.
    lr : float
        Learning rate (>= 0).
    alpha : float
        Smoothing constant of the squared-gradient average (>= 0).
    eps : float
        Added to the denominator for numerical stability (>= 0).
    weight_decay : float
        L2 penalty (>= 0).
    momentum : float
        Momentum factor (>= 0).
    centered : bool
        Normalize by the estimated variance of the gradient instead of its second moment.
    capturable, foreach, differentiable : bool
        torch's execution options. ``foreach`` only selects torch's implementation and is
        accepted; ``capturable`` (CUDA graphs) and ``differentiable`` (autograd through the
        step) are refused with a ValueError when True: this optimizer updates arrays in place.
    maximize : bool
        Maximize the objective instead of minimizing it.
    """

    _numbers = ("lr", "eps", "momentum", "weight_decay", "alpha")

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum: float = 0,
        centered: bool = False,
        capturable: bool = False,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        super().__init__(params, self._defaults(locals()))

    def _update(self, param: Tensor, grad: np.ndarray, group: dict[str, Any], state: dict[str, Any]) -> None:
        theta = param.array
        if not state:
            start_state(state, theta, "square_avg")
            if group["momentum"] > 0:
                state["momentum_buffer"] = np.zeros_like(theta)
            if group["centered"]:
                state["grad_avg"] = np.zeros_like(theta)
        alpha = group["alpha"]
        grad = decayed_gradient(grad, theta, group)
        state["step"] += 1
        square_avg = state["square_avg"]
        square_avg *= alpha
        square_avg += (1 - alpha) * grad * grad
        if group["centered"]:
            grad_avg = state["grad_avg"]
            grad_avg += (1 - alpha) * (grad - grad_avg)  # torch's lerp
            denom = np.sqrt(square_avg - grad_avg * grad_avg)
        else:
            denom = np.sqrt(square_avg)
        denom += group["eps"]
        if group["momentum"] > 0:
            buffer = state["momentum_buffer"]
            buffer *= group["momentum"]
            buffer += grad / denom
            theta -= group["lr"] * buffer
        else:
            theta -= group["lr"] * grad / denom
