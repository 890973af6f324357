"""Cosine annealing, without restarts (CosineAnnealingLR) and with them (SGDR,
CosineAnnealingWarmRestarts)."""

from __future__ import annotations

import math
import numbers

from ..optimizer import Optimizer, check_number
from .base import LRScheduler, check_int, check_positive_int


def _cosine(base_lr: float, eta_min: float, t: float, period: float) -> float:
    """``eta_min + (base_lr - eta_min) * (1 + cos(pi * t / period)) / 2``: base_lr at t = 0, eta_min
    at t = period (evaluated in torch's order, so the values agree to the last bit)."""
    return eta_min + (base_lr - eta_min) * (1 + math.cos(math.pi * t / period)) / 2


class CosineAnnealingLR(LRScheduler):
    r"""Cosine annealing from ``base_lr`` to ``eta_min`` over ``T_max`` epochs (no restarts).

    Closed form: ``lr = eta_min + (base_lr - eta_min) * (1 + cos(pi * epoch / T_max)) / 2``.
    ``step()`` applies torch's recursive form, which follows the closed form when the
    scheduler alone changes the learning rate, and past ``T_max`` keeps following the cosine
    (it rises again, with period ``2 * T_max``).
    """

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0, last_epoch: int = -1) -> None:
        check_positive_int("CosineAnnealingLR", "T_max", T_max)
        check_number("CosineAnnealingLR", "eta_min", eta_min)
        self.T_max = int(T_max)
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        eta_min, t_max, epoch = self.eta_min, self.T_max, self.last_epoch
        if self._is_initial:
            return self._current_lrs()
        if self._step_count == 1 and epoch > 0:  # resumed: start from the closed form
            return [
                eta_min + (base_lr - eta_min) * (1 + math.cos(epoch * math.pi / t_max)) / 2
                for base_lr in self.base_lrs
            ]
        if (epoch - 1 - t_max) % (2 * t_max) == 0:  # at the trough the ratio below is 0/0
            return [
                lr + (base_lr - eta_min) * (1 - math.cos(math.pi / t_max)) / 2
                for lr, base_lr in zip(self._current_lrs(), self.base_lrs)
            ]
        ratio = (1 + math.cos(math.pi * epoch / t_max)) / (1 + math.cos(math.pi * (epoch - 1) / t_max))
        return [ratio * (lr - eta_min) + eta_min for lr in self._current_lrs()]

    def _get_closed_form_lr(self) -> list[float]:
        return [_cosine(base_lr, self.eta_min, self.last_epoch, self.T_max) for base_lr in self.base_lrs]


class CosineAnnealingWarmRestarts(LRScheduler):
    r"""Cosine annealing that restarts at ``base_lr`` (SGDR, Loshchilov & Hutter 2017).

    ``lr = eta_min + (base_lr - eta_min) * (1 + cos(pi * T_cur / T_i)) / 2``, where ``T_cur``
    counts the epochs since the last restart and the ``i``-th period lasts ``T_i = T_0 *
    T_mult**i`` epochs. ``step()`` advances ``T_cur`` by one; ``step(epoch)`` accepts a
    fractional epoch (``epoch + batch / batches_per_epoch``) and finds its period: with
    ``T_mult > 1`` restarts happen at ``T_0 * (T_mult**n - 1) / (T_mult - 1)``, so
    ``n = floor(log_{T_mult}(epoch / T_0 * (T_mult - 1) + 1))``.

    Parameters
    ----------
    optimizer : Optimizer
        The optimizer.
    T_0 : int
        Positive; the length of the first period.
    T_mult : int
        ``>= 1``; each period is ``T_mult`` times the one before. Default 1.
    eta_min : float
        The lowest learning rate. Default 0.
    last_epoch : int
        See :class:`LRScheduler`.
    """

    def __init__(
        self, optimizer: Optimizer, T_0: int, T_mult: int = 1, eta_min: float = 0.0, last_epoch: int = -1
    ) -> None:
        owner = "CosineAnnealingWarmRestarts"
        check_positive_int(owner, "T_0", T_0)
        check_int(owner, "T_mult", T_mult, low=1)
        if isinstance(eta_min, bool) or not isinstance(eta_min, numbers.Real):
            # torch raises ValueError here, not TypeError; scripts may catch that
            raise ValueError(f"{owner}: eta_min must be a float or an int, but got eta_min={eta_min!r}")
        self.T_0 = int(T_0)
        self.T_i = int(T_0)
        self.T_mult = int(T_mult)
        self.eta_min = eta_min
        self.T_cur = last_epoch
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        return [_cosine(base_lr, self.eta_min, self.T_cur, self.T_i) for base_lr in self.base_lrs]

    def step(self, epoch: float | None = None) -> None:
        """Advance one epoch, or go to ``epoch`` (a float allowed); torch leaves ``_step_count`` alone here."""
        if epoch is None and self.last_epoch < 0:
            epoch = 0
        if epoch is None:
            epoch = self.last_epoch + 1
            self.T_cur = self.T_cur + 1
            if self.T_cur >= self.T_i:
                self.T_cur = self.T_cur % self.T_i
                self.T_i = self.T_i * self.T_mult
        else:
            self._go_to_epoch(epoch)
        self.last_epoch = math.floor(epoch)
        self._set_lrs(self.get_lr())

    def _go_to_epoch(self, epoch: float) -> None:
        """Set ``T_cur`` and ``T_i`` for an arbitrary (fractional) epoch."""
        if isinstance(epoch, bool) or not isinstance(epoch, numbers.Real):
            raise TypeError(f"CosineAnnealingWarmRestarts: epoch must be a number, but got epoch={epoch!r}")
        if epoch < 0:
            raise ValueError(
                f"CosineAnnealingWarmRestarts: epoch must be non-negative, but got epoch={epoch!r}"
            )
        if epoch < self.T_0:
            self.T_i = self.T_0
            self.T_cur = epoch
        elif self.T_mult == 1:
            self.T_cur = epoch % self.T_0
        else:
            n = int(math.log(epoch / self.T_0 * (self.T_mult - 1) + 1, self.T_mult))
            self.T_cur = epoch - self.T_0 * (self.T_mult**n - 1) / (self.T_mult - 1)
            self.T_i = self.T_0 * self.T_mult**n
