"""Adadelta (Zeiler, 2012) with torch's update rule and state names."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from ..autograd import Tensor
from .optimizer import Optimizer, decayed_gradient, start_state


class Adadelta(Optimizer):
    r"""Adadelta: a per-coordinate step size from running averages of squared gradients and steps.

    For each parameter :math:`\theta` with gradient :math:`g` (negated if ``maximize``)::

        g = g + weight_decay * theta                  if weight_decay != 0
        v = rho * v + (1 - rho) * g**2                state "square_avg"
        delta = sqrt(u + eps) / sqrt(v + eps) * g
        u = rho * u + (1 - rho) * delta**2            state "acc_delta"
        theta = theta - lr * delta

    Parameters
    ----------
    params : iterable of Tensor or dict
        Parameters to optimize or parameter groups.
    lr : float
        Scale of the step (>= 0; torch's default 1.0 is Zeiler's rule unscaled).
    rho : float
        Decay rate of both running averages, in [0, 1].
    eps : float
        Added inside both square roots (>= 0); it also sets the size of the first steps.
    weight_decay : float
        L2 penalty (>= 0).
    foreach, capturable, differentiable : bool
        torch's execution options. ``foreach`` is accepted; ``capturable`` and
        ``differentiable`` are refused with a ValueError when True (the step updates arrays
        in place, outside autograd).
    maximize : bool
        Maximize the objective instead of minimizing it.
    """

    _numbers = ("lr", "rho", "eps", "weight_decay")

    def __init__(
        self,
        params: Iterable,
        lr: float = 1.0,
        rho: float = 0.9,
        eps: float = 1e-6,
        weight_decay: float = 0,
        foreach: bool | None = None,
        *,
        capturable: bool = False,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        super().__init__(params, self._defaults(locals()))

    def _check_group(self, group: dict[str, Any]) -> None:
        super()._check_group(group)
        if group["rho"] > 1:
            raise ValueError(f"Adadelta: rho must be in [0, 1], but got rho={group['rho']!r}")

    def _update(self, param: Tensor, grad: np.ndarray, group: dict[str, Any], state: dict[str, Any]) -> None:
        theta = param.array
        if not state:
            start_state(state, theta, "square_avg", "acc_delta")
        rho, eps = group["rho"], group["eps"]
        grad = decayed_gradient(grad, theta, group)
        state["step"] += 1
        square_avg, acc_delta = state["square_avg"], state["acc_delta"]
        square_avg *= rho
        square_avg += (1 - rho) * grad * grad
        delta = np.sqrt(acc_delta + eps) / np.sqrt(square_avg + eps) * grad
        acc_delta *= rho
        acc_delta += (1 - rho) * delta * delta
        theta -= group["lr"] * delta
