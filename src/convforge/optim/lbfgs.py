"""L-BFGS (Liu & Nocedal, 1989) with a fixed step, as torch's ``LBFGS(line_search_fn=None)``.

Used with a closure that re-evaluates the loss (the neural style transfer tutorial's
``optimizer.step(closure)``). Each ``step`` runs up to ``max_iter`` quasi-Newton iterations:
the two-loop recursion over the last ``history_size`` curvature pairs ``(s, y)`` (kept only
when ``y.s > 1e-10``) gives the direction ``d``; the parameters move by ``t d`` with
``t = lr`` (``min(1, 1/|g|_1) * lr`` on the very first iteration); the loop stops on torch's
tests (gradient, change of loss or step below the tolerances, ``max_eval`` evaluations).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from ..autograd import enable_grad, no_grad
from .optimizer import Optimizer


class LBFGS(Optimizer):
    """L-BFGS on all parameters as one flat vector (one parameter group only, as torch).

    Parameters
    ----------
    params : iterable of Tensor
        Parameters to optimize.
    lr : float
        Step length (>= 0).
    max_iter : int
        Iterations per ``step``.
    max_eval : int, optional
        Closure evaluations per ``step`` (default ``max_iter * 5 // 4``).
    tolerance_grad, tolerance_change : float
        Stop when ``max |g| <= tolerance_grad``, or the loss or the step change less than
        ``tolerance_change``.
    history_size : int
        Number of curvature pairs kept.
    line_search_fn : None
        torch's ``'strong_wolfe'`` line search is not provided: refused with a ValueError.
    """

    _numbers = ("lr",)

    def __init__(
        self,
        params: Iterable,
        lr: float = 1,
        max_iter: int = 20,
        max_eval: int | None = None,
        tolerance_grad: float = 1e-7,
        tolerance_change: float = 1e-9,
        history_size: int = 100,
        line_search_fn: str | None = None,
    ) -> None:
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        super().__init__(params, self._defaults(locals()))
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        self._params = self.param_groups[0]["params"]

    def _check_group(self, group: dict[str, Any]) -> None:
        super()._check_group(group)
        if group["line_search_fn"] is not None:
            raise ValueError(
                f"LBFGS: line_search_fn={group['line_search_fn']!r} is not provided by convforge; use None"
            )

    def _flat_grad(self) -> np.ndarray:
        parts = [np.zeros(p.numel()) if p.grad is None else p.grad.array.reshape(-1) for p in self._params]
        return np.concatenate(parts).astype(np.float64)

    def _add_to_params(self, t: float, direction: np.ndarray) -> None:
        offset = 0
        with no_grad():
            for p in self._params:
                n = p.numel()
                p.array[...] += (t * direction[offset : offset + n]).reshape(p.shape).astype(p.dtype)
                offset += n

    def _direction(self, state: dict, flat_grad: np.ndarray, history_size: int) -> np.ndarray:
        """The two-loop recursion: ``-H g`` from the stored curvature pairs (adds the newest one)."""
        y = flat_grad - state["prev_flat_grad"]
        s = state["d"] * state["t"]
        ys = float(y @ s)
        if ys > 1e-10:
            if len(state["old_dirs"]) == history_size:
                for key in ("old_dirs", "old_stps", "ro"):
                    state[key].pop(0)
            state["old_dirs"].append(y)
            state["old_stps"].append(s)
            state["ro"].append(1.0 / ys)
            state["H_diag"] = ys / float(y @ y)
        old_dirs, old_stps, ro = state["old_dirs"], state["old_stps"], state["ro"]
        al = state.setdefault("al", [None] * history_size)
        q = -flat_grad
        for i in range(len(old_dirs) - 1, -1, -1):
            al[i] = float(old_stps[i] @ q) * ro[i]
            q = q - al[i] * old_dirs[i]
        r = q * state["H_diag"]
        for i in range(len(old_dirs)):
            be_i = float(old_dirs[i] @ r) * ro[i]
            r = r + (al[i] - be_i) * old_stps[i]
        return r

    def step(self, closure: Callable[[], Any] | None = None):
        """Run up to ``max_iter`` iterations; ``closure`` re-evaluates the loss (required)."""
        if closure is None:
            raise ValueError("LBFGS: step needs a closure that re-evaluates the model and returns the loss")
        group = self.param_groups[0]
        state = self.state[self._params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)
        with enable_grad():
            orig_loss = closure()
        loss = float(orig_loss)
        current_evals = 1
        state["func_evals"] += 1
        flat_grad = self._flat_grad()
        if np.abs(flat_grad).max() <= group["tolerance_grad"]:
            return orig_loss
        n_iter = 0
        while n_iter < group["max_iter"]:
            n_iter += 1
            state["n_iter"] += 1
            if state["n_iter"] == 1:
                state.update(d=-flat_grad, old_dirs=[], old_stps=[], ro=[], H_diag=1.0)
            else:
                state["d"] = self._direction(state, flat_grad, group["history_size"])
            state["prev_flat_grad"] = flat_grad.copy()
            prev_loss = state["prev_loss"] = loss
            if state["n_iter"] == 1:
                state["t"] = min(1.0, 1.0 / np.abs(flat_grad).sum()) * group["lr"]
            else:
                state["t"] = group["lr"]
            if float(flat_grad @ state["d"]) > -group["tolerance_change"]:
                break
            self._add_to_params(state["t"], state["d"])
            evals = 0
            if n_iter != group["max_iter"]:
                with enable_grad():
                    loss = float(closure())
                flat_grad = self._flat_grad()
                evals = 1
            current_evals += evals
            state["func_evals"] += evals
            if n_iter == group["max_iter"] or current_evals >= group["max_eval"]:
                break
            if np.abs(flat_grad).max() <= group["tolerance_grad"]:
                break
            if np.abs(state["d"] * state["t"]).max() <= group["tolerance_change"]:
                break
            if abs(loss - prev_loss) < group["tolerance_change"]:
                break
        return orig_loss
