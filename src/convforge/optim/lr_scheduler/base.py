"""LRScheduler, the base of every scheduler, and the argument checks they share.

A scheduler sets ``group["lr"]`` of every parameter group of its optimizer. It is created
after the optimizer (which it immediately puts at epoch 0) and stepped once per epoch, after
``optimizer.step()``. ``step()`` uses each scheduler's *recursive* form, which composes with
other changes to the learning rate; ``step(epoch)`` jumps to ``epoch`` with the *closed* form
computed from ``base_lrs`` where torch has one. Both agree with ``torch.optim.lr_scheduler``
step for step, and the state dicts use torch's attribute names, so a state dict saved by
torch's scheduler (tensors converted) continues in ours.
"""

from __future__ import annotations

import numbers
from typing import Any

from ..optimizer import Optimizer


def check_optimizer(owner: str, optimizer) -> None:
    """TypeError unless ``optimizer`` is a convforge Optimizer (torch raises TypeError too)."""
    if not isinstance(optimizer, Optimizer):
        raise TypeError(
            f"{owner}: optimizer must be a convforge Optimizer, but got {type(optimizer).__name__}"
        )


def check_int(owner: str, name: str, value, low: int) -> None:
    """ValueError unless ``value`` is an int (not a bool) and ``value >= low``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        kind = "a positive int" if low == 1 else f"an int >= {low}"
        raise ValueError(f"{owner}: {name} must be {kind}, but got {name}={value!r}")


def check_positive_int(owner: str, name: str, value) -> None:
    check_int(owner, name, value, low=1)


def per_group(owner: str, name: str, optimizer: Optimizer, value) -> list:
    """One value per param group: a list or tuple as given (its length checked), else ``value``
    repeated (torch's ``_format_param``)."""
    n_groups = len(optimizer.param_groups)
    if isinstance(value, (list, tuple)):
        if len(value) != n_groups:
            raise ValueError(
                f"{owner}: {name} must have one value per param group ({n_groups}), "
                f"but got {len(value)} values: {name}={value!r}"
            )
        return list(value)
    return [value] * n_groups


class MissingInitialLR(KeyError, ValueError):
    """Resuming (``last_epoch >= 0``) without ``initial_lr`` in a param group. A KeyError as in
    torch (scripts catch that) and a ValueError by our error grammar; it prints its message
    plainly, not quoted as a KeyError does."""

    def __str__(self) -> str:
        return str(self.args[0])


class LRScheduler:
    """Base class: keeps ``base_lrs``, ``last_epoch`` and the learning rates last set.

    Parameters
    ----------
    optimizer : Optimizer
        The optimizer whose learning rates are scheduled.
    last_epoch : int
        The index of the last epoch; -1 (default) starts a new schedule, a value >= 0 resumes
        one and needs ``initial_lr`` in every param group (restore the optimizer first).

    Subclasses implement :meth:`get_lr` (the recursive rule) and, where torch has one,
    :meth:`_get_closed_form_lr`.
    """

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        owner = type(self).__name__
        check_optimizer(owner, optimizer)
        check_int(owner, "last_epoch", last_epoch, low=-1)
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise MissingInitialLR(
                        f"{owner}: resuming with last_epoch={last_epoch} needs 'initial_lr' in "
                        f"param_groups[{i}]; load the optimizer's state dict first"
                    )
        self.base_lrs: list[float] = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = int(last_epoch)
        self._initial_step()

    def _initial_step(self) -> None:
        """Put the optimizer at the schedule's first epoch (also used by SequentialLR)."""
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def get_lr(self) -> list[float]:
        """The learning rates for ``last_epoch`` by the recursive rule (called by ``step``)."""
        raise NotImplementedError

    def _get_closed_form_lr(self) -> list[float] | None:
        """The learning rates at ``last_epoch`` from ``base_lrs``, or None if there is no closed form."""
        return None

    def get_last_lr(self) -> list[float]:
        """The learning rate of each param group as last set by this scheduler."""
        return self._last_lr

    def step(self, epoch: int | None = None) -> None:
        """Advance one epoch (recursive form), or jump to ``epoch`` (closed form where there is one)."""
        self._step_count += 1
        self._update_lr(epoch)

    def _update_lr(self, epoch: int | None = None) -> None:
        if epoch is None:
            self.last_epoch += 1
            values = self.get_lr()
        else:
            self.last_epoch = epoch
            values = self._get_closed_form_lr()
            if values is None:
                values = self.get_lr()
        self._set_lrs(values)

    def _set_lrs(self, values: list[float]) -> None:
        for group, lr in zip(self.optimizer.param_groups, values, strict=True):
            group["lr"] = lr
        self._last_lr = self._current_lrs()

    def _current_lrs(self) -> list[float]:
        return [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self) -> dict[str, Any]:
        """Every attribute but the optimizer (torch's keys)."""
        return {key: value for key, value in self.__dict__.items() if key != "optimizer"}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore the attributes saved by :meth:`state_dict`."""
        self.__dict__.update(state_dict)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(last_epoch={self.last_epoch}, last_lr={self.get_last_lr()})"


class _LRScheduler(LRScheduler):
    """The old name of :class:`LRScheduler`, which scripts written for torch < 2.0 subclass."""
