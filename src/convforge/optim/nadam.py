"""NAdam (Dozat, 2016): Adam with Nesterov momentum and a momentum schedule, as torch's."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from ..autograd import Tensor
from .optimizer import Optimizer, decayed_gradient, start_state


class NAdam(Optimizer):
    r"""NAdam, with torch's update rule and state names.

    For each parameter :math:`\theta` with gradient :math:`g` (negated if ``maximize``), at
    step :math:`t`::

        theta = theta * (1 - lr * weight_decay)     if decoupled_weight_decay
        g = g + weight_decay * theta                 otherwise, if weight_decay != 0
        mu_t = beta1 * (1 - 0.5 * 0.96**(t * momentum_decay))
        P_t = P_{t-1} * mu_t                         state "mu_product", P_0 = 1
        m = beta1 * m + (1 - beta1) * g              state "exp_avg"
        v = beta2 * v + (1 - beta2) * g**2           state "exp_avg_sq"
        d = sqrt(v / (1 - beta2**t)) + eps
        theta = theta - lr * (1 - mu_t) / (1 - P_t) * g / d
                      - lr * mu_{t+1} / (1 - P_t * mu_{t+1}) * m / d

    Parameters
    ----------
    params : iterable of Tensor or dict
        Parameters to optimize or parameter groups.
    lr, eps, weight_decay, momentum_decay : float
        As above; all >= 0.
    betas : (float, float)
        Each in [0, 1).
    decoupled_weight_decay : bool
        Decay the weights directly (NAdamW) instead of through the gradient.
    foreach, capturable, differentiable
        torch's execution options: ``foreach`` is accepted, the others refused when True.
    maximize : bool
        Maximize the objective instead of minimizing it.
    """

    _numbers = ("lr", "eps", "weight_decay", "momentum_decay")
    _pairs = ("betas",)

    def __init__(
        self,
        params: Iterable,
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum_decay: float = 4e-3,
        decoupled_weight_decay: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
    ) -> None:
        super().__init__(params, self._defaults(locals()))

    def _update(self, param: Tensor, grad: np.ndarray, group: dict[str, Any], state: dict[str, Any]) -> None:
        theta = param.array
        if not state:
            start_state(state, theta, "exp_avg", "exp_avg_sq", mu_product=1.0)
        lr, (beta1, beta2) = group["lr"], group["betas"]
        grad = decayed_gradient(grad, theta, group)
        state["step"] += 1
        step = state["step"]
        mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * group["momentum_decay"])))
        mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * group["momentum_decay"])))
        state["mu_product"] *= mu
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        exp_avg += (1 - beta1) * (grad - exp_avg)
        exp_avg_sq *= beta2
        exp_avg_sq += (1 - beta2) * grad * grad
        denom = np.sqrt(exp_avg_sq / (1 - beta2**step)) + group["eps"]
        mu_product = state["mu_product"]
        theta -= lr * (1.0 - mu) / (1.0 - mu_product) * grad / denom
        theta -= lr * mu_next / (1.0 - mu_product * mu_next) * exp_avg / denom
