"""Averaged SGD (Polyak & Juditsky, 1992) with torch's decaying step and state names."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from ..autograd import Tensor
from .optimizer import Optimizer, decayed_gradient, start_state


class ASGD(Optimizer):
    r"""ASGD, with torch's update rule and state names.

    For each parameter :math:`\theta` with gradient :math:`g` (negated if ``maximize``), at
    step :math:`t`, with ``eta`` and ``mu`` the values the previous step left (``lr`` and 1)::

        g = g + weight_decay * theta                       if weight_decay != 0
        theta = theta * (1 - lambd * eta) - eta * g
        ax = ax + mu * (theta - ax)                        state "ax", the running average
        eta = lr / (1 + lambd * lr * t)**alpha             state "eta"
        mu = 1 / max(1, t - t0)                            state "mu" (averaging starts after t0)

    Parameters
    ----------
    params : iterable of Tensor or dict
        Parameters to optimize or parameter groups.
    lr, lambd, alpha, t0, weight_decay : float
        As above (``lr``, ``weight_decay`` >= 0).
    foreach, capturable, differentiable
        torch's execution options: ``foreach`` is accepted, the others refused when True.
    maximize : bool
        Maximize the objective instead of minimizing it.
    """

    _numbers = ("lr", "weight_decay", "lambd", "alpha", "t0")
    _signed = ("lambd", "alpha", "t0")

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-2,
        lambd: float = 1e-4,
        alpha: float = 0.75,
        t0: float = 1e6,
        weight_decay: float = 0,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
        capturable: bool = False,
    ) -> None:
        super().__init__(params, self._defaults(locals()))

    def _update(self, param: Tensor, grad: np.ndarray, group: dict[str, Any], state: dict[str, Any]) -> None:
        theta = param.array
        if not state:
            start_state(state, theta, "ax", eta=_scalar(group["lr"]), mu=1.0)
        lr, lambd = group["lr"], group["lambd"]
        grad = decayed_gradient(grad, theta, group)
        state["step"] += 1
        eta = state["eta"]
        theta *= 1 - lambd * eta
        theta -= eta * grad
        if state["mu"] != 1:
            state["ax"] += (theta - state["ax"]) * state["mu"]
        else:
            state["ax"][...] = theta
        state["eta"] = _scalar(lr / ((1 + lambd * lr * state["step"]) ** group["alpha"]))
        state["mu"] = _scalar(1 / max(1, state["step"] - group["t0"]))


def _scalar(value: float) -> float:
    """torch keeps ``eta`` and ``mu`` as float32 scalar tensors: the same rounding here."""
    return float(np.float32(value))
