"""RAdam (Liu et al., 2019): Adam with a rectified adaptive learning rate, as torch's."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from ..autograd import Tensor
from .optimizer import Optimizer, decayed_gradient, start_state


class RAdam(Optimizer):
    r"""RAdam, with torch's update rule and state names.

    For each parameter :math:`\theta` with gradient :math:`g` (negated if ``maximize``), at
    step :math:`t`::

        (weight decay as NAdam: decoupled, or added to g)
        m = beta1 * m + (1 - beta1) * g                        state "exp_avg"
        v = beta2 * v + (1 - beta2) * g**2                     state "exp_avg_sq"
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 t beta2**t / (1 - beta2**t)
        if rho_t > 5:   (the variance of the adaptive rate is tractable)
            r = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))
            theta -= lr * m / (1 - beta1**t) * r * sqrt(1 - beta2**t) / (sqrt(v) + eps)
        else:           (SGD with momentum)
            theta -= lr * m / (1 - beta1**t)

    Parameters
    ----------
    params : iterable of Tensor or dict
        Parameters to optimize or parameter groups.
    lr, eps, weight_decay : float
        As above; all >= 0.
    betas : (float, float)
        Each in [0, 1).
    decoupled_weight_decay : bool
        Decay the weights directly instead of through the gradient.
    foreach, capturable, differentiable
        torch's execution options: ``foreach`` is accepted, the others refused when True.
    maximize : bool
        Maximize the objective instead of minimizing it.
    """

    _numbers = ("lr", "eps", "weight_decay")
    _pairs = ("betas",)

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
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
            start_state(state, theta, "exp_avg", "exp_avg_sq")
        lr, (beta1, beta2) = group["lr"], group["betas"]
        grad = decayed_gradient(grad, theta, group)
        state["step"] += 1
        step = state["step"]
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        exp_avg += (1 - beta1) * (grad - exp_avg)
        exp_avg_sq *= beta2
        exp_avg_sq += (1 - beta2) * grad * grad
        bias_correction1, bias_correction2 = 1 - beta1**step, 1 - beta2**step
        corrected = exp_avg / bias_correction1
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * step * (beta2**step) / bias_correction2
        if rho_t > 5.0:
            rect = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
            adaptive = bias_correction2**0.5 / (np.sqrt(exp_avg_sq) + group["eps"])
            theta -= corrected * lr * adaptive * rect
        else:
            theta -= corrected * lr
