"""Schedulers made of schedulers: one after another (SequentialLR) or all at once
(ChainedScheduler). Their state dicts hold their children's, under ``_schedulers``."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from typing import Any

from ..optimizer import Optimizer
from .base import LRScheduler
from .plateau import ReduceLROnPlateau


def _check_children(owner: str, optimizer, schedulers: Sequence[LRScheduler]) -> None:
    """At least one child, each a scheduler of ``optimizer`` that steps without arguments."""
    if len(schedulers) < 1:
        raise ValueError(f"{owner}: expects at least one scheduler, but got schedulers={list(schedulers)!r}")
    for i, scheduler in enumerate(schedulers):
        if not hasattr(scheduler, "optimizer"):
            raise TypeError(
                f"{owner}: schedulers[{i}] must be a scheduler with an `optimizer` attribute, "
                f"but got {type(scheduler).__name__}"
            )
        if isinstance(scheduler, ReduceLROnPlateau):
            raise ValueError(
                f"{owner}: schedulers[{i}] is a ReduceLROnPlateau, which is not supported: its step() "
                "needs the metric"
            )
        if scheduler.optimizer is not optimizer:
            raise ValueError(
                f"{owner}: every scheduler must belong to the same optimizer, but schedulers[{i}] "
                f"({type(scheduler).__name__}) has a different one"
            )


def _composite_state(scheduler: LRScheduler) -> dict[str, Any]:
    state = {k: v for k, v in scheduler.__dict__.items() if k not in ("optimizer", "_schedulers")}
    state["_schedulers"] = [child.state_dict() for child in scheduler._schedulers]
    return state


def _load_composite_state(scheduler: LRScheduler, state_dict: dict[str, Any]) -> None:
    state = dict(state_dict)
    children = state.pop("_schedulers")
    scheduler.__dict__.update(state)
    for child, child_state in zip(scheduler._schedulers, children, strict=True):
        child.load_state_dict(child_state)


class SequentialLR(LRScheduler):
    """Run ``schedulers[0]`` until ``milestones[0]``, then ``schedulers[1]``, and so on.

    At construction the learning rates go back to ``initial_lr`` and every child's
    construction step is undone; only ``schedulers[0]`` takes its first step. At a milestone
    the next child starts from its epoch 0 (its closed form at 0, where it has one), so a
    warm-up followed by a decay is ``SequentialLR(opt, [LinearLR(...), CosineAnnealingLR(...)],
    milestones=[5])``. ``step()`` takes no epoch.

    Parameters
    ----------
    optimizer : Optimizer
        The optimizer every child schedules.
    schedulers : list of LRScheduler
        The children, in order (no ReduceLROnPlateau).
    milestones : list of int
        ``len(schedulers) - 1`` increasing epochs at which the next child takes over.
    last_epoch : int
        Default -1.
    """

    def __init__(
        self, optimizer: Optimizer, schedulers: list[LRScheduler], milestones: list[int], last_epoch: int = -1
    ) -> None:
        owner = "SequentialLR"
        _check_children(owner, optimizer, schedulers)
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(
                f"{owner}: expects one milestone fewer than schedulers, but got {len(schedulers)} schedulers "
                f"and milestones={list(milestones)!r}"
            )
        self._schedulers = list(schedulers)
        self._milestones = list(milestones)
        self.last_epoch = last_epoch + 1
        self.optimizer = optimizer
        for group in optimizer.param_groups:
            group["lr"] = group["initial_lr"]
        self.recursive_undo()
        first = self._schedulers[bisect_right(self._milestones, 0)]
        first._initial_step()
        self._last_lr = first.get_last_lr()

    def recursive_undo(self, sched=None) -> None:
        """Take back the construction step of every scheduler inside (nested ones too)."""
        scheduler = self if sched is None else sched
        if hasattr(scheduler, "_schedulers"):
            for child in scheduler._schedulers:
                self.recursive_undo(child)
        elif hasattr(scheduler, "last_epoch"):
            scheduler.last_epoch -= 1

    def step(self) -> None:  # type: ignore[override]
        """Advance one epoch with the child whose turn it is."""
        self.last_epoch += 1
        idx = bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[idx]
        if idx > 0 and self._milestones[idx - 1] == self.last_epoch:
            scheduler._update_lr(0)  # the child starts over at its epoch 0
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()

    def state_dict(self) -> dict[str, Any]:
        """Own attributes, and each child's state dict under ``_schedulers``."""
        return _composite_state(self)

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        _load_composite_state(self, state_dict)


class ChainedScheduler(LRScheduler):
    """Step every scheduler in ``schedulers`` at each ``step()``; their factors multiply.

    Parameters
    ----------
    schedulers : sequence of LRScheduler
        The children (no ReduceLROnPlateau), all of one optimizer; they were already
        constructed, so nothing is stepped here.
    optimizer : Optimizer, optional
        Default: the first child's optimizer.
    """

    def __init__(self, schedulers: Sequence[LRScheduler], optimizer: Optimizer | None = None) -> None:
        if len(schedulers) > 0 and optimizer is None:
            optimizer = schedulers[0].optimizer if hasattr(schedulers[0], "optimizer") else None
        _check_children("ChainedScheduler", optimizer, schedulers)
        self._schedulers = schedulers
        self.optimizer = optimizer
        self._last_lr = self._current_lrs()

    def step(self) -> None:  # type: ignore[override]
        """Step every child, in order."""
        for scheduler in self._schedulers:
            scheduler.step()
        self._last_lr = self._current_lrs()

    def state_dict(self) -> dict[str, Any]:
        """Own attributes, and each child's state dict under ``_schedulers``."""
        return _composite_state(self)

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        _load_composite_state(self, state_dict)
