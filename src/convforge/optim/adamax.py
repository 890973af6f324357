"""Adamax (Kingma & Ba, 2014, section 7): Adam with the infinity norm, with torch's rule."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from ..autograd import Tensor
from .optimizer import Optimizer, decayed_gradient, start_state


class Adamax(Optimizer):
    r"""Adamax, with torch's update rule and state names.

    For each parameter :math:`\theta` with gradient :math:`g` (negated if ``maximize``), at
    step :math:`t`::

        g = g + weight_decay * theta                       if weight_decay != 0
        m = beta1 * m + (1 - beta1) * g                    state "exp_avg"
        u = max(beta2 * u, |g| + eps)                      state "exp_inf"
        theta = theta - lr / (1 - beta1**t) * m / u

    Parameters
    ----------
    params : iterable of Tensor or dict
        Parameters to optimize or parameter groups.
    lr, eps, weight_decay : float
        As above; all >= 0.
    betas : (float, float)
        Each in [0, 1).
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
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        foreach: bool | None = None,
        *,
        maximize: bool = False,
        differentiable: bool = False,
        capturable: bool = False,
    ) -> None:
        super().__init__(params, self._defaults(locals()))

    def _update(self, param: Tensor, grad: np.ndarray, group: dict[str, Any], state: dict[str, Any]) -> None:
        theta = param.array
        if not state:
            start_state(state, theta, "exp_avg", "exp_inf")
        beta1, beta2 = group["betas"]
        grad = decayed_gradient(grad, theta, group)
        state["step"] += 1
        exp_avg, exp_inf = state["exp_avg"], state["exp_inf"]
        exp_avg += (1 - beta1) * (grad - exp_avg)  # torch's lerp
        np.maximum(exp_inf * beta2, np.abs(grad) + group["eps"], out=exp_inf)
        theta -= group["lr"] / (1 - beta1 ** state["step"]) * exp_avg / exp_inf
