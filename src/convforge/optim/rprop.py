"""Rprop (Riedmiller & Braun, 1993): sign-based steps with per-coordinate adaptive sizes, as torch."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from ..autograd import Tensor
from .optimizer import Optimizer, start_state


class Rprop(Optimizer):
    r"""Resilient backpropagation with torch's update rule and state names.

    For each coordinate, with gradient :math:`g` (negated if ``maximize``) and the previous
    step's gradient :math:`g'` (state "prev")::

        s = s * eta_plus   if g g' > 0      (the same sign again: longer steps)
        s = s * eta_minus  if g g' < 0      (the sign flipped: shorter, and skip this step: g = 0)
        s = clamp(s, step_size_min, step_size_max)           state "step_size", from lr
        theta = theta - sign(g) * s

    Parameters
    ----------
    params : iterable of Tensor or dict
        Parameters to optimize or parameter groups.
    lr : float
        Initial step size (>= 0).
    etas : (float, float)
        ``(eta_minus, eta_plus)`` with ``0 < eta_minus < 1 < eta_plus``.
    step_sizes : (float, float)
        ``(min, max)`` bounds of the step size.
    capturable, foreach, differentiable
        torch's execution options: ``foreach`` is accepted, the others refused when True.
    maximize : bool
        Maximize the objective instead of minimizing it.
    """

    _numbers = ("lr",)
    _pairs = ("etas", "step_sizes")

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-2,
        etas: tuple[float, float] = (0.5, 1.2),
        step_sizes: tuple[float, float] = (1e-6, 50),
        *,
        capturable: bool = False,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        super().__init__(params, self._defaults(locals()))

    def _check_group(self, group: dict[str, Any]) -> None:
        super()._check_group(group)
        etas, sizes = group["etas"], group["step_sizes"]
        if not isinstance(etas, tuple) or len(etas) != 2 or not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(
                f"Rprop: etas must be (eta_minus, eta_plus) with 0 < eta_minus < 1 < eta_plus, but got etas={etas!r}"
            )
        if not isinstance(sizes, tuple) or len(sizes) != 2:
            raise TypeError(f"Rprop: step_sizes must be a pair (min, max), but got step_sizes={sizes!r}")

    def _update(self, param: Tensor, grad: np.ndarray, group: dict[str, Any], state: dict[str, Any]) -> None:
        theta = param.array
        if not state:
            start_state(state, theta, "prev")
            state["step_size"] = np.full_like(theta, group["lr"])
        (eta_minus, eta_plus), (size_min, size_max) = group["etas"], group["step_sizes"]
        if group["maximize"]:
            grad = -grad
        state["step"] += 1
        agreement = np.sign(grad * state["prev"])
        factor = np.where(agreement > 0, eta_plus, np.where(agreement < 0, eta_minus, 1.0))
        step_size = state["step_size"]
        np.clip(step_size * factor, size_min, size_max, out=step_size)
        grad = np.where(agreement < 0, 0.0, grad).astype(theta.dtype, copy=False)
        theta -= np.sign(grad) * step_size
        state["prev"][...] = grad
