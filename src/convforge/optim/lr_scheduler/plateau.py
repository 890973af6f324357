"""ReduceLROnPlateau: lower the learning rate when a metric stops improving."""

from __future__ import annotations

import math
from typing import Any, SupportsFloat

from ..optimizer import Optimizer, check_number
from .base import LRScheduler, check_int, check_optimizer


class ReduceLROnPlateau(LRScheduler):
    """Multiply the learning rate by ``factor`` after ``patience`` epochs without improvement.

    ``step(metrics)`` is called once per epoch with the monitored value (a float, a NumPy
    scalar or a one-element tensor). A value is an improvement over ``best`` when it is below
    ``best * (1 - threshold)`` ("min", "rel"), below ``best - threshold`` ("min", "abs"),
    above ``best * (1 + threshold)`` ("max", "rel") or above ``best + threshold`` ("max",
    "abs"). After ``patience`` + 1 bad epochs each group's lr becomes ``max(lr * factor,
    min_lr)`` (unless that changes it by no more than ``eps``), and the next ``cooldown``
    epochs count no bad epochs.

    Parameters
    ----------
    optimizer : Optimizer
        The optimizer.
    mode : {"min", "max"}
        Whether the metric should fall (a loss) or rise (an accuracy). Default "min".
    factor : float
        In [0, 1); default 0.1.
    patience : int
        Bad epochs tolerated before reducing; default 10.
    threshold : float
        The least change that counts as an improvement; default 1e-4.
    threshold_mode : {"rel", "abs"}
        Default "rel".
    cooldown : int
        Epochs to wait after a reduction; default 0.
    min_lr : float or list of float
        The floor, one for all groups or one per group. Default 0.
    eps : float
        Smaller reductions are skipped; default 1e-8.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        mode: str = "min",
        factor: float = 0.1,
        patience: int = 10,
        threshold: float = 1e-4,
        threshold_mode: str = "rel",
        cooldown: int = 0,
        min_lr: list[float] | float = 0,
        eps: float = 1e-8,
    ) -> None:
        owner = "ReduceLROnPlateau"
        check_number(owner, "factor", factor, high=1.0)
        check_optimizer(owner, optimizer)
        check_int(owner, "patience", patience, low=0)
        check_int(owner, "cooldown", cooldown, low=0)
        check_number(owner, "eps", eps)
        n_groups = len(optimizer.param_groups)
        if isinstance(min_lr, (list, tuple)):
            if len(min_lr) != n_groups:
                raise ValueError(
                    f"{owner}: expected {n_groups} min_lrs (one per param group), but got {len(min_lr)}"
                )
            for value in min_lr:
                check_number(owner, "min_lr", value)
            self.default_min_lr = None
            self.min_lrs = list(min_lr)
        else:
            check_number(owner, "min_lr", min_lr)
            self.default_min_lr = min_lr
            self.min_lrs = [min_lr] * n_groups
        self.factor = factor
        self.optimizer = optimizer
        self.patience = patience
        self.cooldown = cooldown
        self.eps = eps
        self.last_epoch = 0
        self._last_lr = self._current_lrs()
        self._init_is_better(mode=mode, threshold=threshold, threshold_mode=threshold_mode)
        self._reset()

    def _init_is_better(self, mode: str, threshold: float, threshold_mode: str) -> None:
        owner = "ReduceLROnPlateau"
        if mode not in ("min", "max"):
            raise ValueError(f"{owner}: mode must be 'min' or 'max', but got mode={mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(
                f"{owner}: threshold_mode must be 'rel' or 'abs', but got threshold_mode={threshold_mode!r}"
            )
        check_number(owner, "threshold", threshold, low=None)
        self.mode_worse = math.inf if mode == "min" else -math.inf
        self.mode = mode
        self.threshold = threshold
        self.threshold_mode = threshold_mode

    def _reset(self) -> None:
        self.best = self.mode_worse
        self.cooldown_counter = 0
        self.num_bad_epochs = 0

    @property
    def in_cooldown(self) -> bool:
        return self.cooldown_counter > 0

    def _is_better(self, a: float, best: float) -> bool:
        """Whether metric ``a`` improves on ``best`` by more than the threshold."""
        if self.mode == "min" and self.threshold_mode == "rel":
            return a < best * (1.0 - self.threshold)
        if self.mode == "min":
            return a < best - self.threshold
        if self.threshold_mode == "rel":
            return a > best * (self.threshold + 1.0)
        return a > best + self.threshold

    def step(self, metrics: SupportsFloat, epoch: int | None = None) -> None:  # type: ignore[override]
        """Record this epoch's metric; reduce the learning rates after too many bad epochs."""
        current = float(metrics)
        self.last_epoch = self.last_epoch + 1 if epoch is None else epoch
        if self._is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.in_cooldown:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad epochs in cooldown do not count
        if self.num_bad_epochs > self.patience:
            self._reduce_lr()
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = self._current_lrs()

    def _reduce_lr(self) -> None:
        n_groups = len(self.optimizer.param_groups)
        if n_groups != len(self.min_lrs):
            if self.default_min_lr is None:
                raise RuntimeError(
                    f"ReduceLROnPlateau: the optimizer has {n_groups} param groups but min_lr was given "
                    f"for {len(self.min_lrs)} (a group was added after construction); set min_lrs to "
                    f"a list of {n_groups} values"
                )
            self.min_lrs = [self.default_min_lr] * n_groups
        for group, min_lr in zip(self.optimizer.param_groups, self.min_lrs):
            old_lr = float(group["lr"])
            new_lr = max(old_lr * self.factor, min_lr)
            if old_lr - new_lr > self.eps:
                group["lr"] = new_lr

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.__dict__.update(state_dict)
        self._init_is_better(mode=self.mode, threshold=self.threshold, threshold_mode=self.threshold_mode)
