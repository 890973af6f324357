"""Adam and AdamW (decoupled weight decay), with torch's update rule and state names."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from ..autograd import Tensor
from .optimizer import Optimizer, start_state
from .sgd import axpy


class Adam(Optimizer):
    r"""Adam (Kingma & Ba), optionally AMSGrad, with torch's update rule.

    For each parameter :math:`\theta` with gradient :math:`g` (negated if ``maximize``), at
    step :math:`t = 1, 2, \ldots`::

        theta = theta * (1 - lr * weight_decay)    if decoupled_weight_decay   (AdamW)
        g = g + weight_decay * theta                otherwise, if weight_decay != 0
        m = beta1 * m + (1 - beta1) * g             state "exp_avg"
        v = beta2 * v + (1 - beta2) * g**2          state "exp_avg_sq"
        v_max = max(v_max, v)                       state "max_exp_avg_sq", if amsgrad
        theta = theta - lr / (1 - beta1**t) * m / (sqrt(v or v_max) / sqrt(1 - beta2**t) + eps)

    Parameters
    ----------
    params : iterable of Tensor or dict
        Parameters to optimize or parameter groups.
    lr : float
        Learning rate (>= 0).
    betas : (float, float)
        Decay rates of the first and second moment averages, each in [0, 1).
    eps : float
        Added to the denominator for numerical stability (>= 0).
    weight_decay : float
        L2 penalty (>= 0), or the decoupled decay rate if ``decoupled_weight_decay``.
    amsgrad : bool
        Use the maximum of the past second moments (AMSGrad).
    maximize : bool
        Maximize the objective instead of minimizing it.
    decoupled_weight_decay : bool
        Decay the weights directly instead of through the gradient (that is AdamW).
    """

    _numbers = ("lr", "eps", "weight_decay")
    _pairs = ("betas",)

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        decoupled_weight_decay: bool = False,
    ) -> None:
        super().__init__(params, self._defaults(locals()))

    def _update(self, param: Tensor, grad: np.ndarray, group: dict[str, Any], state: dict[str, Any]) -> None:
        if not state:
            amsgrad_buffer = ("max_exp_avg_sq",) if group["amsgrad"] else ()
            start_state(state, param.array, "exp_avg", "exp_avg_sq", *amsgrad_buffer)
        lr, (beta1, beta2), weight_decay = group["lr"], group["betas"], group["weight_decay"]
        if group["maximize"]:
            grad = -grad
        state["step"] += 1
        step = state["step"]
        if weight_decay != 0:
            if group["decoupled_weight_decay"]:
                param.array *= 1 - lr * weight_decay
            else:
                grad = grad + weight_decay * param.array
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        # one scratch array for the whole update (torch's in-place ops), the rest in place
        scratch = np.subtract(grad, exp_avg, dtype=exp_avg.dtype)
        axpy(1 - beta1, scratch, exp_avg)  # torch's lerp: m += (1 - beta1) * (g - m)
        exp_avg_sq *= beta2
        np.multiply(grad, grad, out=scratch)
        axpy(1 - beta2, scratch, exp_avg_sq)
        second_moment = exp_avg_sq
        if group["amsgrad"]:
            np.maximum(state["max_exp_avg_sq"], exp_avg_sq, out=state["max_exp_avg_sq"])
            second_moment = state["max_exp_avg_sq"]
        step_size = lr / (1 - beta1**step)
        denom = np.sqrt(second_moment, out=scratch)
        denom /= (1 - beta2**step) ** 0.5
        denom += group["eps"]
        axpy(-step_size, np.divide(exp_avg, denom, out=denom), param.array)  # torch's addcdiv_


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter); ``weight_decay`` defaults to 1e-2.

    Same as ``Adam(..., decoupled_weight_decay=True)``; see :class:`Adam` for the rule.
    """

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        super().__init__(
            params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize, decoupled_weight_decay=True
        )

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        super().load_state_dict(state_dict)
        for group in self.param_groups:
            group["decoupled_weight_decay"] = True
