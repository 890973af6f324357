"""Stochastic gradient descent with momentum, dampening, Nesterov and weight decay, as torch."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from ..autograd import Tensor
from ..kernels import jit as _jit
from .optimizer import Optimizer


class SGD(Optimizer):
    r"""Stochastic gradient descent (optionally with momentum), with torch's update rule.

    For each parameter :math:`\theta` with gradient :math:`g` (negated if ``maximize``)::

        g = g + weight_decay * theta                      if weight_decay != 0
        b = g                      (first step)           if momentum != 0
        b = momentum * b + (1 - dampening) * g   (later steps)
        g = g + momentum * b  if nesterov  else  b
        theta = theta - lr * g

    The buffer starts at the first gradient (not at zero), so dampening only applies from
    the second step on: torch's convention, which differs from Sutskever et al.

    Parameters
    ----------
    params : iterable of Tensor or dict
        Parameters to optimize or parameter groups.
    lr : float
        Learning rate (>= 0).
    momentum : float
        Momentum factor (>= 0).
    dampening : float
        Dampening for momentum.
    weight_decay : float
        L2 penalty (>= 0).
    nesterov : bool
        Nesterov momentum; needs momentum > 0 and dampening = 0.
    maximize : bool
        Maximize the objective instead of minimizing it.
    """

    _numbers = ("lr", "momentum", "dampening", "weight_decay")
    _signed = ("dampening",)

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        super().__init__(params, self._defaults(locals()))

    def _check_group(self, group: dict[str, Any]) -> None:
        super()._check_group(group)
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError(
                "SGD: nesterov=True requires momentum > 0 and dampening = 0, but got "
                f"momentum={group['momentum']!r}, dampening={group['dampening']!r}"
            )

    def _update(self, param: Tensor, grad: np.ndarray, group: dict[str, Any], state: dict[str, Any]) -> None:
        # in place, without temporaries: the sign of maximize goes into the axpy coefficients;
        # only weight decay makes one array (g + wd * theta), as torch's does
        sign = -1.0 if group["maximize"] else 1.0
        if group["weight_decay"] != 0:
            raw, grad = grad, np.multiply(param.array, group["weight_decay"], dtype=param.dtype)
            axpy(sign, raw, grad)
            sign = 1.0
        momentum, lr = group["momentum"], group["lr"]
        if momentum == 0:
            axpy(-lr * sign, grad, param.array)
            return
        buffer = state.get("momentum_buffer")
        if buffer is None:
            buffer = state["momentum_buffer"] = np.multiply(grad, sign, dtype=param.dtype)
        else:
            buffer *= momentum
            axpy((1 - group["dampening"]) * sign, grad, buffer)
        if group["nesterov"]:  # theta -= lr * (g + momentum * b)
            axpy(-lr * sign, grad, param.array)
            axpy(-lr * momentum, buffer, param.array)
        else:
            axpy(-lr, buffer, param.array)


@_jit.jit()
def _axpy_loop(alpha, x, y):
    for i in range(y.shape[0]):  # product rounded to y's dtype, then added: NumPy's y += a * x
        y[i] += alpha * x[i]


def axpy(alpha: float, x: np.ndarray, y: np.ndarray) -> None:
    """``y += alpha * x`` in place, without a temporary, where ``x`` and ``y`` are contiguous
    arrays of one float dtype and shape (a compiled loop on the calling thread); NumPy
    otherwise. Not BLAS ``?axpy``: OpenBLAS splits one of 10,000 elements and up across its
    threads, whose workers then spin for ~0.1 s (measured: a LeNet epoch 2.8 s -> 8 s of wall
    time and 0.7 -> 2.5 s of CPU on the busy 2-core machine).

    Shape: x, y (any, equal).
    """
    if (
        _jit.available()
        and x.shape == y.shape
        and x.dtype == y.dtype
        and y.dtype.char in "fd"
        and x.flags.c_contiguous
        and y.flags.c_contiguous
    ):
        _axpy_loop(y.dtype.type(alpha), x.reshape(-1), y.reshape(-1))
        return
    y += alpha * x
