"""Adagrad (Duchi et al., 2011) with torch's update rule and state names."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from ..autograd import Tensor
from .optimizer import Optimizer, decayed_gradient


class Adagrad(Optimizer):
    r"""Adagrad: each coordinate's step divided by the root of its summed squared gradients.

    For each parameter :math:`\theta` with gradient :math:`g` (negated if ``maximize``), at
    step :math:`t = 1, 2, \ldots`::

        g = g + weight_decay * theta                  if weight_decay != 0
        lr_t = lr / (1 + (t - 1) * lr_decay)
        s = s + g**2                                  state "sum", from initial_accumulator_value
        theta = theta - lr_t * g / (sqrt(s) + eps)

    As torch, the state of every parameter is created with the optimizer (so a state dict
    taken before the first step already holds ``sum``).

    Parameters
    ----------
    params : iterable of Tensor or dict
        Parameters to optimize or parameter groups.
    lr, lr_decay, weight_decay, initial_accumulator_value, eps : float
        As above; all >= 0.
    foreach, fused, differentiable
        torch's execution options: ``foreach`` is accepted, ``fused=True`` and
        ``differentiable=True`` are refused with a ValueError.
    maximize : bool
        Maximize the objective instead of minimizing it.
    """

    _numbers = ("lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps")

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-2,
        lr_decay: float = 0,
        weight_decay: float = 0,
        initial_accumulator_value: float = 0,
        eps: float = 1e-10,
        foreach: bool | None = None,
        *,
        maximize: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        super().__init__(params, self._defaults(locals()))
        for group in self.param_groups:
            for p in group["params"]:
                self._init_state(p, group, self.state[p])

    def _check_group(self, group: dict[str, Any]) -> None:
        super()._check_group(group)
        if group.get("fused"):
            raise ValueError("Adagrad: fused=True is not supported (no fused kernels here); use fused=None")

    @staticmethod
    def _init_state(param: Tensor, group: dict[str, Any], state: dict[str, Any]) -> None:
        state["step"] = 0.0
        state["sum"] = np.full_like(param.array, group["initial_accumulator_value"])

    def _update(self, param: Tensor, grad: np.ndarray, group: dict[str, Any], state: dict[str, Any]) -> None:
        theta = param.array
        if not state:
            self._init_state(param, group, state)
        grad = decayed_gradient(grad, theta, group)
        state["step"] += 1
        lr_t = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
        total = state["sum"]
        total += grad * grad
        theta -= lr_t * grad / (np.sqrt(total) + group["eps"])
