"""Schedulers that also cycle the momentum: CyclicLR (Smith 2017) and OneCycleLR (Smith &
Topin 2018).

Both are stepped once per *batch*. With ``cycle_momentum`` they move the momentum opposite
to the learning rate: ``group["momentum"]`` for optimizers with momentum (SGD, RMSprop),
``betas[0]`` for those with betas (Adam and its kin).
"""

from __future__ import annotations

import math
import types
from collections.abc import Callable
from typing import Any

from ..optimizer import Optimizer, check_number
from .base import LRScheduler, check_optimizer, check_positive_int, per_group


def _uses_beta1(owner: str, optimizer: Optimizer) -> bool:
    """Whether momentum is ``betas[0]`` (True) or ``momentum`` (False); ValueError if neither."""
    if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
        raise ValueError(
            f"{owner}: cycle_momentum=True needs an optimizer with 'momentum' or 'betas', but "
            f"{type(optimizer).__name__} has neither; pass cycle_momentum=False"
        )
    return "betas" in optimizer.defaults


def _set_momentum(group: dict[str, Any], momentum: float, use_beta1: bool) -> None:
    if use_beta1:
        group["betas"] = (momentum, *group["betas"][1:])
    else:
        group["momentum"] = momentum


def _init_momentum_bounds(
    optimizer: Optimizer, *, base_momentums: list, max_momentums: list, use_beta1: bool
) -> None:
    """A new schedule starts at ``max_momentum``; both bounds are kept in each group, as torch does."""
    for group, base_momentum, max_momentum in zip(optimizer.param_groups, base_momentums, max_momentums):
        _set_momentum(group, max_momentum, use_beta1)
        group["max_momentum"] = max_momentum
        group["base_momentum"] = base_momentum


def _check_cycle_options(*, step_size_up, step_size_down, mode, gamma, scale_fn, scale_mode) -> None:
    """CyclicLR's shape of a cycle and its scale policy (torch checks only ``mode``)."""
    owner = "CyclicLR"
    check_number(owner, "step_size_up", step_size_up, low=None)
    if not step_size_up > 0:
        raise ValueError(f"{owner}: step_size_up must be > 0, but got step_size_up={step_size_up!r}")
    check_number(owner, "step_size_down", step_size_down)
    if mode not in ("triangular", "triangular2", "exp_range") and scale_fn is None:
        raise ValueError(
            f"{owner}: mode must be 'triangular', 'triangular2' or 'exp_range' when scale_fn is "
            f"None, but got mode={mode!r}"
        )
    if scale_fn is not None and not callable(scale_fn):
        raise TypeError(f"{owner}: scale_fn must be callable or None, but got scale_fn={scale_fn!r}")
    if scale_mode not in ("cycle", "iterations"):
        raise ValueError(
            f"{owner}: scale_mode must be 'cycle' or 'iterations', but got scale_mode={scale_mode!r}"
        )
    check_number(owner, "gamma", gamma, low=None)


class CyclicLR(LRScheduler):
    """Cycle the learning rate between ``base_lr`` and ``max_lr`` (and the momentum the other way).

    A cycle rises for ``step_size_up`` steps and falls for ``step_size_down``. At step ``t``,
    ``cycle = floor(1 + t / total)`` and ``x = 1 + t / total - cycle`` in [0, 1); the height is
    ``x / ratio`` while rising (``ratio = step_size_up / total``), ``(x - 1) / (ratio - 1)``
    after, and ``lr = base_lr + (max_lr - base_lr) * height * scale``. ``scale`` is
    ``scale_fn(cycle)`` or ``scale_fn(t)`` (``scale_mode``): 1 ("triangular"), ``1 / 2**(cycle
    - 1)`` ("triangular2"), ``gamma**t`` ("exp_range"). The momentum is ``max_momentum -
    (max_momentum - base_momentum) * height * scale``. Everything follows from ``t`` alone:
    ``step(epoch)`` jumps there.

    Parameters
    ----------
    optimizer : Optimizer
        The optimizer; its ``lr`` is set to ``base_lr`` at construction.
    base_lr, max_lr : float or list of float
        The bounds, one for all groups or one per group.
    step_size_up : float
        Positive; steps in the rising half of a cycle. Default 2000.
    step_size_down : float, optional
        Non-negative; steps in the falling half; default ``step_size_up``.
    mode : {"triangular", "triangular2", "exp_range"}
        The built-in scale policy, ignored when ``scale_fn`` is given.
    gamma : float
        The base of "exp_range". Default 1.
    scale_fn : callable, optional
        A custom scale policy ``scale_fn(x) -> float``, with ``scale_mode`` saying whether x is
        the cycle number ("cycle", default) or the step ("iterations").
    cycle_momentum : bool
        Cycle ``momentum`` (or ``betas[0]``) between ``base_momentum`` (default 0.8) and
        ``max_momentum`` (default 0.9); default True.
    last_epoch : int
        See :class:`LRScheduler`.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        base_lr: float | list[float],
        max_lr: float | list[float],
        step_size_up: float = 2000,
        step_size_down: float | None = None,
        mode: str = "triangular",
        gamma: float = 1.0,
        scale_fn: Callable[[float], float] | None = None,
        scale_mode: str = "cycle",
        cycle_momentum: bool = True,
        base_momentum: float | list[float] = 0.8,
        max_momentum: float | list[float] = 0.9,
        last_epoch: int = -1,
    ) -> None:
        owner = "CyclicLR"
        check_optimizer(owner, optimizer)
        base_lrs = per_group(owner, "base_lr", optimizer, base_lr)
        self.max_lrs = per_group(owner, "max_lr", optimizer, max_lr)
        step_size_down = step_size_up if step_size_down is None else step_size_down
        _check_cycle_options(
            step_size_up=step_size_up,
            step_size_down=step_size_down,
            mode=mode,
            gamma=gamma,
            scale_fn=scale_fn,
            scale_mode=scale_mode,
        )
        self.optimizer = optimizer
        if last_epoch == -1:
            for group, lr in zip(optimizer.param_groups, base_lrs):
                group["lr"] = lr
        self.total_size = float(step_size_up) + float(step_size_down)
        self.step_ratio = float(step_size_up) / self.total_size
        self.mode = mode
        self.gamma = gamma
        self._scale_fn_custom = scale_fn
        self.scale_mode = scale_mode
        self._init_scale_fn()
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            self.use_beta1 = _uses_beta1(owner, optimizer)
            self.base_momentums = per_group(owner, "base_momentum", optimizer, base_momentum)
            self.max_momentums = per_group(owner, "max_momentum", optimizer, max_momentum)
            if last_epoch == -1:
                _init_momentum_bounds(
                    optimizer,
                    base_momentums=self.base_momentums,
                    max_momentums=self.max_momentums,
                    use_beta1=self.use_beta1,
                )
        super().__init__(optimizer, last_epoch)
        self.base_lrs = base_lrs

    def _init_scale_fn(self) -> None:
        """The built-in modes fix ``scale_mode`` ("cycle" for the triangles, "iterations" for exp_range)."""
        if self._scale_fn_custom is None:
            self.scale_mode = "iterations" if self.mode == "exp_range" else "cycle"

    def scale_fn(self, x: float) -> float:
        """The scale of the amplitude at cycle (or step) ``x``."""
        if self._scale_fn_custom is not None:
            return self._scale_fn_custom(x)
        if self.mode == "triangular2":
            return 1 / (2.0 ** (x - 1))
        if self.mode == "exp_range":
            return self.gamma**x
        return 1.0

    def get_lr(self) -> list[float]:
        cycle = math.floor(1 + self.last_epoch / self.total_size)
        x = 1.0 + self.last_epoch / self.total_size - cycle
        if x <= self.step_ratio:
            height = x / self.step_ratio
        else:
            height = (x - 1) / (self.step_ratio - 1)
        scale = self.scale_fn(cycle if self.scale_mode == "cycle" else self.last_epoch)
        lrs = [
            base_lr + (max_lr - base_lr) * height * scale
            for base_lr, max_lr in zip(self.base_lrs, self.max_lrs)
        ]
        if self.cycle_momentum:
            bounds = zip(self.optimizer.param_groups, self.base_momentums, self.max_momentums, strict=True)
            for group, base_momentum, max_momentum in bounds:
                momentum = max_momentum - (max_momentum - base_momentum) * height * scale
                _set_momentum(group, momentum, self.use_beta1)
        return lrs

    def state_dict(self) -> dict[str, Any]:
        """As the base, but a custom ``scale_fn`` is saved only as a callable object's ``__dict__``."""
        state = super().state_dict()
        fn = state.pop("_scale_fn_custom")
        state["_scale_fn_custom"] = None
        if fn is not None and not isinstance(fn, types.FunctionType):
            state["_scale_fn_custom"] = dict(fn.__dict__)
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        state = dict(state_dict)
        saved_fn = state.pop("_scale_fn_custom", None)
        state.pop("_scale_fn_ref", None)  # torch's weak method, present in old torch state dicts
        super().load_state_dict(state)
        if saved_fn is not None and self._scale_fn_custom is not None:
            self._scale_fn_custom.__dict__.update(saved_fn)
        self._init_scale_fn()


def _annealing_cos(start: float, end: float, pct: float) -> float:
    """From ``start`` at pct 0 to ``end`` at pct 1 along half a cosine."""
    cos_out = math.cos(math.pi * pct) + 1
    return end + (start - end) / 2.0 * cos_out


def _annealing_linear(start: float, end: float, pct: float) -> float:
    return (end - start) * pct + start


_PHASE_KEYS = ("end_step", "start_lr", "end_lr", "start_momentum", "end_momentum")


def _one_cycle_phases(total_steps: int, pct_start: float, three_phase: bool) -> list[dict[str, Any]]:
    """torch's phase table: each phase ends at ``end_step`` and anneals between two group keys."""
    warmup_end = float(pct_start * total_steps) - 1
    last = total_steps - 1
    if three_phase:
        rows = [  # end_step, start_lr, end_lr, start_momentum, end_momentum
            (warmup_end, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
            (float(2 * pct_start * total_steps) - 2, "max_lr", "initial_lr", "base_momentum", "max_momentum"),
            (last, "initial_lr", "min_lr", "max_momentum", "max_momentum"),
        ]
    else:
        rows = [
            (warmup_end, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
            (last, "max_lr", "min_lr", "base_momentum", "max_momentum"),
        ]
    return [dict(zip(_PHASE_KEYS, row, strict=True)) for row in rows]


def _check_phase_lengths(phases: list[dict[str, Any]], total_steps: int, pct_start: float) -> None:
    """A phase of zero length would divide 0 by 0 (torch raises ZeroDivisionError on reaching it)."""
    start_step = 0.0
    for i, phase in enumerate(phases):
        if phase["end_step"] == start_step:
            raise ValueError(
                f"OneCycleLR: phase {i} of the schedule has no steps with pct_start={pct_start!r} and "
                f"total_steps={total_steps}; pick pct_start so that pct_start * total_steps != 1"
            )
        start_step = phase["end_step"]


def _one_cycle_total_steps(total_steps, epochs, steps_per_epoch) -> int:
    owner = "OneCycleLR"
    if total_steps is not None:
        check_positive_int(owner, "total_steps", total_steps)
        return int(total_steps)
    if epochs is None or steps_per_epoch is None:
        raise ValueError(
            f"{owner}: give total_steps, or both epochs and steps_per_epoch, but got total_steps=None, "
            f"epochs={epochs!r}, steps_per_epoch={steps_per_epoch!r}"
        )
    check_positive_int(owner, "epochs", epochs)
    check_positive_int(owner, "steps_per_epoch", steps_per_epoch)
    return int(epochs) * int(steps_per_epoch)


class OneCycleLR(LRScheduler):
    """The 1cycle policy: warm up from ``max_lr / div_factor`` to ``max_lr``, then anneal to
    ``max_lr / div_factor / final_div_factor`` over ``total_steps`` steps.

    The warm-up lasts ``pct_start * total_steps`` steps; with ``three_phase`` the learning rate
    first returns symmetrically to the initial value and the last phase anneals to the minimum.
    Within a phase ending at step ``e`` and starting at ``s``, ``pct = (t - s) / (e - s)`` and
    the value is ``anneal(start, end, pct)`` (half a cosine, or linear). The momentum moves
    opposite to the learning rate, between ``max_momentum`` and ``base_momentum``. Each group
    keeps ``initial_lr``, ``max_lr``, ``min_lr`` (and ``max_momentum``, ``base_momentum``), as
    in torch. Stepping past ``total_steps`` raises ValueError.

    Parameters
    ----------
    optimizer : Optimizer
        The optimizer.
    max_lr : float or list of float
        The peak learning rate, one for all groups or one per group.
    total_steps : int, optional
        Positive; or give ``epochs`` and ``steps_per_epoch`` (total = their product).
    pct_start : float
        A float in [0, 1]: the share of the steps spent warming up. Default 0.3.
    anneal_strategy : {"cos", "linear"}
        Default "cos".
    cycle_momentum : bool
        Default True; ``base_momentum`` (0.85) and ``max_momentum`` (0.95), one or per group.
    div_factor, final_div_factor : float
        ``initial_lr = max_lr / div_factor`` (25), ``min_lr = initial_lr / final_div_factor`` (1e4).
    three_phase : bool
        Default False.
    last_epoch : int
        See :class:`LRScheduler`; here it counts batches.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        max_lr: float | list[float],
        total_steps: int | None = None,
        epochs: int | None = None,
        steps_per_epoch: int | None = None,
        pct_start: float = 0.3,
        anneal_strategy: str = "cos",
        cycle_momentum: bool = True,
        base_momentum: float | list[float] = 0.85,
        max_momentum: float | list[float] = 0.95,
        div_factor: float = 25.0,
        final_div_factor: float = 1e4,
        three_phase: bool = False,
        last_epoch: int = -1,
    ) -> None:
        owner = "OneCycleLR"
        check_optimizer(owner, optimizer)
        self.optimizer = optimizer
        self.total_steps = _one_cycle_total_steps(total_steps, epochs, steps_per_epoch)
        # torch insists on a float here (pct_start=0 is refused): the same rule keeps scripts portable
        if not isinstance(pct_start, float) or not 0 <= pct_start <= 1:
            raise ValueError(f"{owner}: pct_start must be a float in [0, 1], but got pct_start={pct_start!r}")
        self._schedule_phases = _one_cycle_phases(self.total_steps, pct_start, three_phase)
        _check_phase_lengths(self._schedule_phases, self.total_steps, pct_start)
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(
                f"{owner}: anneal_strategy must be 'cos' or 'linear', but got anneal_strategy={anneal_strategy!r}"
            )
        self._anneal_func_type = anneal_strategy
        check_number(owner, "div_factor", div_factor, low=None)
        check_number(owner, "final_div_factor", final_div_factor, low=None)
        max_lrs = per_group(owner, "max_lr", optimizer, max_lr)
        if last_epoch == -1:
            for group, group_max_lr in zip(optimizer.param_groups, max_lrs):
                group["initial_lr"] = group_max_lr / div_factor
                group["max_lr"] = group_max_lr
                group["min_lr"] = group["initial_lr"] / final_div_factor
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            self.use_beta1 = _uses_beta1(owner, optimizer)
            max_momentums = per_group(owner, "max_momentum", optimizer, max_momentum)
            base_momentums = per_group(owner, "base_momentum", optimizer, base_momentum)
            if last_epoch == -1:
                _init_momentum_bounds(
                    optimizer,
                    base_momentums=base_momentums,
                    max_momentums=max_momentums,
                    use_beta1=self.use_beta1,
                )
        super().__init__(optimizer, last_epoch)

    def _anneal(self, start: float, end: float, pct: float) -> float:
        if self._anneal_func_type == "cos":
            return _annealing_cos(start, end, pct)
        return _annealing_linear(start, end, pct)

    def get_lr(self) -> list[float]:
        step_num = self.last_epoch
        if step_num > self.total_steps:
            raise ValueError(
                f"OneCycleLR: stepped {step_num} times, but total_steps={self.total_steps}; "
                "make total_steps (or epochs * steps_per_epoch) cover every scheduler.step()"
            )
        lrs = []
        for group in self.optimizer.param_groups:
            phase, pct = self._phase_at(step_num)
            lrs.append(self._anneal(group[phase["start_lr"]], group[phase["end_lr"]], pct))
            if self.cycle_momentum:
                momentum = self._anneal(group[phase["start_momentum"]], group[phase["end_momentum"]], pct)
                _set_momentum(group, momentum, self.use_beta1)
        return lrs

    def _phase_at(self, step_num: float) -> tuple[dict[str, Any], float]:
        """The phase holding ``step_num`` (the last one past its end) and the progress within it."""
        start_step = 0.0
        last = len(self._schedule_phases) - 1
        for i, phase in enumerate(self._schedule_phases):
            end_step = phase["end_step"]
            if step_num <= end_step or i == last:
                return phase, (step_num - start_step) / (end_step - start_step)
            start_step = end_step
        raise AssertionError("unreachable: the last phase always matches")
