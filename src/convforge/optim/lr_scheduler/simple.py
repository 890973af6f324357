"""Schedulers whose learning rate is ``base_lr`` times a factor of the epoch alone.

Each has torch's recursive ``get_lr`` (the factor from one epoch to the next, applied to the
current ``group["lr"]``, so it composes with other schedulers) and, where torch has one, the
closed form ``_get_closed_form_lr`` that ``step(epoch)`` uses.
"""

from __future__ import annotations

import numbers
import types
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from ..optimizer import Optimizer, check_number
from .base import LRScheduler, check_positive_int

LrLambda = Callable[[int], float]


def _check_total_iters(owner: str, total_iters, integral: bool) -> None:
    """A positive number of epochs; torch also runs with a float (``integral=False``), and for
    ConstantLR with an integral one only (its factor is lifted when ``epoch == total_iters``)."""
    check_number(owner, "total_iters", total_iters, low=None)
    if not total_iters > 0 or (integral and total_iters != int(total_iters)):
        kind = "a positive int" if integral else "a positive number"
        raise ValueError(f"{owner}: total_iters must be {kind}, but got total_iters={total_iters!r}")


def _lambdas_per_group(owner: str, optimizer: Optimizer, lr_lambda) -> list[LrLambda]:
    """One function per param group: a list as given (length checked), else the one repeated."""
    n_groups = len(optimizer.param_groups) if isinstance(optimizer, Optimizer) else 1
    lambdas = list(lr_lambda) if isinstance(lr_lambda, (list, tuple)) else [lr_lambda] * n_groups
    if len(lambdas) != n_groups:
        raise ValueError(
            f"{owner}: expected {n_groups} lr_lambdas (one per param group), but got {len(lambdas)}"
        )
    for fn in lambdas:
        if not callable(fn):
            raise TypeError(f"{owner}: lr_lambda must be callable, but got {fn!r}")
    return lambdas


class _LambdaState:
    """state_dict without the functions (they do not pickle); a callable object's ``__dict__`` is
    kept, as torch does."""

    lr_lambdas: list[LrLambda]

    def state_dict(self) -> dict[str, Any]:
        state = {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "lr_lambdas")}
        state["lr_lambdas"] = [
            None if isinstance(fn, types.FunctionType) else dict(fn.__dict__) for fn in self.lr_lambdas
        ]
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        state = dict(state_dict)
        saved_lambdas = state.pop("lr_lambdas", [None] * len(self.lr_lambdas))
        self.__dict__.update(state)
        for fn, saved in zip(self.lr_lambdas, saved_lambdas):
            if saved is not None:
                fn.__dict__.update(saved)


class LambdaLR(_LambdaState, LRScheduler):
    """``lr = base_lr * lr_lambda(epoch)``; one function for all groups or one per group.

    Parameters
    ----------
    optimizer : Optimizer
        The optimizer.
    lr_lambda : callable or list of callables
        Maps the epoch (int) to a multiplicative factor.
    last_epoch : int
        See :class:`LRScheduler`.
    """

    def __init__(
        self, optimizer: Optimizer, lr_lambda: LrLambda | list[LrLambda], last_epoch: int = -1
    ) -> None:
        self.lr_lambdas = _lambdas_per_group("LambdaLR", optimizer, lr_lambda)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        return [base_lr * fn(self.last_epoch) for fn, base_lr in zip(self.lr_lambdas, self.base_lrs)]


class MultiplicativeLR(_LambdaState, LRScheduler):
    """Multiply the learning rate by ``lr_lambda(epoch)`` at every epoch after the first.

    ``lr(epoch) = lr(epoch - 1) * lr_lambda(epoch)``; there is no closed form (``step(epoch)``
    applies the factor of ``epoch`` once, as torch does).

    Parameters
    ----------
    optimizer : Optimizer
        The optimizer.
    lr_lambda : callable or list of callables
        Maps the epoch (int) to the factor of that epoch; one for all groups or one per group.
    last_epoch : int
        See :class:`LRScheduler`.
    """

    def __init__(
        self, optimizer: Optimizer, lr_lambda: LrLambda | list[LrLambda], last_epoch: int = -1
    ) -> None:
        self.lr_lambdas = _lambdas_per_group("MultiplicativeLR", optimizer, lr_lambda)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self._is_initial:
            return self._current_lrs()
        return [lr * fn(self.last_epoch) for fn, lr in zip(self.lr_lambdas, self._current_lrs())]


class StepLR(LRScheduler):
    """Multiply the learning rate by ``gamma`` every ``step_size`` epochs.

    Closed form: ``lr = base_lr * gamma ** (epoch // step_size)``.
    """

    def __init__(
        self, optimizer: Optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1
    ) -> None:
        check_positive_int("StepLR", "step_size", step_size)
        check_number("StepLR", "gamma", gamma, low=None)
        self.step_size = int(step_size)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return self._current_lrs()
        return [lr * self.gamma for lr in self._current_lrs()]

    def _get_closed_form_lr(self) -> list[float]:
        return [base_lr * self.gamma ** (self.last_epoch // self.step_size) for base_lr in self.base_lrs]


class MultiStepLR(LRScheduler):
    """Multiply the learning rate by ``gamma`` at each milestone epoch (twice if listed twice).

    Closed form: ``lr = base_lr * gamma ** (number of milestones <= epoch)``.
    """

    def __init__(
        self, optimizer: Optimizer, milestones: Iterable[int], gamma: float = 0.1, last_epoch: int = -1
    ) -> None:
        milestones = list(milestones)
        for m in milestones:
            if isinstance(m, bool) or not isinstance(m, numbers.Integral) or m < 0:
                raise ValueError(
                    f"MultiStepLR: milestones must be non-negative ints, but got milestones={milestones!r}"
                )
        check_number("MultiStepLR", "gamma", gamma, low=None)
        self.milestones = Counter(int(m) for m in milestones)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch not in self.milestones:
            return self._current_lrs()
        return [lr * self.gamma ** self.milestones[self.last_epoch] for lr in self._current_lrs()]

    def _get_closed_form_lr(self) -> list[float]:
        milestones = sorted(self.milestones.elements())
        return [
            base_lr * self.gamma ** bisect_right(milestones, self.last_epoch) for base_lr in self.base_lrs
        ]


class ConstantLR(LRScheduler):
    """``lr = base_lr * factor`` for the first ``total_iters`` epochs, then ``base_lr``.

    Closed form: ``base_lr * (factor if epoch < total_iters else 1)``. With ``factor=0`` the
    recursive step at ``total_iters`` restores ``base_lr`` (torch divides by the factor there
    and raises ZeroDivisionError).

    Parameters
    ----------
    optimizer : Optimizer
        The optimizer.
    factor : float
        In [0, 1]; default 1/3.
    total_iters : int
        Positive (an integral float too); the epoch at which the factor is lifted. Default 5.
    last_epoch : int
        See :class:`LRScheduler`.
    """

    def __init__(
        self, optimizer: Optimizer, factor: float = 1.0 / 3, total_iters: int = 5, last_epoch: int = -1
    ) -> None:
        check_number("ConstantLR", "factor", factor, low=0.0)
        if factor > 1.0:
            raise ValueError(f"ConstantLR: factor must be between 0 and 1, but got factor={factor!r}")
        _check_total_iters("ConstantLR", total_iters, integral=True)
        self.factor = factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch == 0:
            return [lr * self.factor for lr in self._current_lrs()]
        if self.last_epoch != self.total_iters:
            return self._current_lrs()
        if self.factor == 0:
            return list(self.base_lrs)
        return [lr * (1.0 / self.factor) for lr in self._current_lrs()]

    def _get_closed_form_lr(self) -> list[float]:
        lifted = self.last_epoch >= self.total_iters
        return [base_lr * (self.factor + lifted * (1 - self.factor)) for base_lr in self.base_lrs]


class LinearLR(LRScheduler):
    """Scale the learning rate linearly from ``start_factor`` to ``end_factor`` over ``total_iters``.

    Closed form: ``base_lr * (start + (end - start) * min(epoch, total_iters) / total_iters)``;
    ``step()`` multiplies by the ratio of consecutive factors, as torch does.

    Parameters
    ----------
    optimizer : Optimizer
        The optimizer.
    start_factor : float
        In (0, 1]; default 1/3.
    end_factor : float
        In [0, 1]; default 1.
    total_iters : int or float
        Positive; default 5.
    last_epoch : int
        See :class:`LRScheduler`.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        start_factor: float = 1.0 / 3,
        end_factor: float = 1.0,
        total_iters: int = 5,
        last_epoch: int = -1,
    ) -> None:
        check_number("LinearLR", "start_factor", start_factor)
        check_number("LinearLR", "end_factor", end_factor)
        if not 0 < start_factor <= 1:
            raise ValueError(
                f"LinearLR: start_factor must be in (0, 1], but got start_factor={start_factor!r}"
            )
        if end_factor > 1:
            raise ValueError(f"LinearLR: end_factor must be in [0, 1], but got end_factor={end_factor!r}")
        _check_total_iters("LinearLR", total_iters, integral=False)
        self.start_factor = start_factor
        self.end_factor = end_factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch == 0:
            return [lr * self.start_factor for lr in self._current_lrs()]
        if self._is_initial or self.last_epoch > self.total_iters:
            return self._current_lrs()
        # factor(e) / factor(e-1) with factor(e) = start + (end - start) * e / T, times T/T
        slope = self.end_factor - self.start_factor
        ratio = 1.0 + slope / (self.total_iters * self.start_factor + (self.last_epoch - 1) * slope)
        return [lr * ratio for lr in self._current_lrs()]

    def _get_closed_form_lr(self) -> list[float]:
        progress = min(self.total_iters, self.last_epoch) / self.total_iters
        factor = self.start_factor + (self.end_factor - self.start_factor) * progress
        return [base_lr * factor for base_lr in self.base_lrs]


class ExponentialLR(LRScheduler):
    """Multiply the learning rate by ``gamma`` every epoch: ``lr = base_lr * gamma ** epoch``."""

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1) -> None:
        check_number("ExponentialLR", "gamma", gamma, low=None)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self._is_initial:
            return self._current_lrs()
        return [lr * self.gamma for lr in self._current_lrs()]

    def _get_closed_form_lr(self) -> list[float]:
        return [base_lr * self.gamma**self.last_epoch for base_lr in self.base_lrs]


class PolynomialLR(LRScheduler):
    """Decay the learning rate to 0 over ``total_iters`` epochs by a polynomial of ``power``.

    Closed form: ``lr = base_lr * (1 - min(epoch, total_iters) / total_iters) ** power``.

    Parameters
    ----------
    optimizer : Optimizer
        The optimizer.
    total_iters : int or float
        Positive; default 5.
    power : float
        Non-negative; default 1 (linear decay).
    last_epoch : int
        See :class:`LRScheduler`.
    """

    def __init__(
        self, optimizer: Optimizer, total_iters: int = 5, power: float = 1.0, last_epoch: int = -1
    ) -> None:
        _check_total_iters("PolynomialLR", total_iters, integral=False)
        check_number("PolynomialLR", "power", power)
        self.total_iters = total_iters
        self.power = power
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self._is_initial or self.last_epoch > self.total_iters:
            return self._current_lrs()
        remaining, before = (
            1.0 - self.last_epoch / self.total_iters,
            1.0 - (self.last_epoch - 1) / self.total_iters,
        )
        decay = (remaining / before) ** self.power
        return [lr * decay for lr in self._current_lrs()]

    def _get_closed_form_lr(self) -> list[float]:
        remaining = 1.0 - min(self.total_iters, self.last_epoch) / self.total_iters
        return [base_lr * remaining**self.power for base_lr in self.base_lrs]
