"""Optimizer: parameter groups, per-parameter state, ``zero_grad`` and state dicts, as torch.

An optimizer holds ``param_groups``, a list of dicts each with a ``"params"`` list and that
group's options (``lr``, ``momentum``, ...), and ``state``, a dict from parameter to that
parameter's buffers (``momentum_buffer``, ``exp_avg``, ...). ``state_dict()`` has torch's
structure, parameters replaced by their running index over the groups::

    {"state": {0: {"momentum_buffer": ndarray}, ...},
     "param_groups": [{"lr": 0.1, "momentum": 0.9, ..., "params": [0, 1]}, ...]}

so a state dict saved by ``torch.optim.SGD`` (tensors converted with ``np.asarray``) loads
into ``cf.optim.SGD`` and the other way round.
"""

from __future__ import annotations

import copy
import numbers
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from ..autograd import Tensor, no_grad


def check_number(owner: str, name: str, value, low: float | None = 0.0, high: float | None = None) -> None:
    """Raise TypeError unless ``value`` is a real number, ValueError unless low <= value (< high)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{owner}: {name} must be a real number, but got {name}={value!r}")
    if low is not None and not value >= low:  # `not >=` also rejects NaN
        raise ValueError(f"{owner}: {name} must be >= {low}, but got {name}={value!r}")
    if high is not None and not value < high:
        raise ValueError(f"{owner}: {name} must be < {high}, but got {name}={value!r}")


def check_betas(owner: str, betas) -> None:
    """``betas`` must be a pair of numbers, each in [0, 1)."""
    if not isinstance(betas, tuple) or len(betas) != 2:
        raise TypeError(f"{owner}: betas must be a pair of floats, but got betas={betas!r}")
    check_number(owner, "betas[0]", betas[0], high=1.0)
    check_number(owner, "betas[1]", betas[1], high=1.0)


def check_unsupported_flags(owner: str, group: dict[str, Any]) -> None:
    """Refuse torch's ``capturable=True`` (CUDA graphs) and ``differentiable=True`` (autograd
    through the step): these optimizers update the arrays in place, outside autograd."""
    for name in ("capturable", "differentiable"):
        if group.get(name):
            raise ValueError(
                f"{owner}: {name}=True is not supported (the step updates arrays in place, outside "
                f"autograd), but got {name}={group[name]!r}; use {name}=False"
            )


def start_state(state: dict[str, Any], like: np.ndarray, *zeros: str, **scalars: float) -> None:
    """Fill an empty per-parameter state as torch's first step does: ``step`` 0, then
    ``scalars`` (``mu_product=1.0``, ...), then a zero buffer of ``like``'s shape and dtype for
    each name in ``zeros`` (``"exp_avg"``, ...).

    Shape: like (the parameter's); each zero buffer the same.
    """
    state["step"] = 0.0
    state.update(scalars)
    for name in zeros:
        state[name] = np.zeros_like(like)


def decayed_gradient(grad: np.ndarray, theta: np.ndarray, group: dict[str, Any]) -> np.ndarray:
    """The gradient a step's rule sees, as torch's optimizers start a step: negated if
    ``maximize``; with a non-zero ``weight_decay``, either the weights decayed in place
    (``theta *= 1 - lr * weight_decay``, where ``decoupled_weight_decay``) or
    ``weight_decay * theta`` added to the gradient (L2). ``grad`` itself is never changed.

    Shape: grad, theta (the parameter's); returned as grad.
    """
    if group["maximize"]:
        grad = -grad
    weight_decay = group["weight_decay"]
    if weight_decay != 0:
        if group.get("decoupled_weight_decay"):
            theta *= 1 - group["lr"] * weight_decay
        else:
            grad = grad + weight_decay * theta
    return grad


def to_array(value) -> np.ndarray:
    """An ndarray from an ndarray, a cf.Tensor or a torch tensor (without importing torch)."""
    if isinstance(value, Tensor):
        return value.array
    if hasattr(value, "detach"):
        return np.asarray(value.detach().cpu())
    return np.asarray(value)


class Optimizer:
    """Base class of all optimizers.

    Parameters
    ----------
    params : iterable of Tensor, of (name, Tensor) or of dict
        The tensors to optimize (``model.parameters()``), or parameter groups: dicts with a
        ``"params"`` entry and options that override ``defaults`` for that group.
    defaults : dict
        The default value of each option.

    Subclasses implement ``step`` reading ``group[option]`` for each group and keeping the
    buffers of parameter ``p`` in ``self.state[p]``. They declare their options' checks in the
    class attributes below, which the base ``_check_group`` applies (subclasses override it
    for rules of their own, calling ``super()._check_group`` first), and build ``defaults``
    with :meth:`_defaults` from their ``__init__``'s ``locals()``.
    """

    #: options that must be real numbers, checked in this order; >= 0 unless in ``_signed``
    _numbers: tuple[str, ...] = ()
    #: options of ``_numbers`` that may be negative
    _signed: tuple[str, ...] = ()
    #: options that are pairs (torch stores them as tuples; lists are accepted); ``"betas"``
    #: is also checked as a pair of numbers in [0, 1)
    _pairs: tuple[str, ...] = ()

    def __init__(self, params: Iterable, defaults: dict[str, Any]) -> None:
        if isinstance(params, Tensor):
            raise TypeError(
                f"{type(self).__name__}: params must be an iterable of Tensors or dicts, "
                f"but got a single Tensor of shape {params.shape}"
            )
        if isinstance(params, (dict, str)) or not isinstance(params, Iterable):
            raise TypeError(
                f"{type(self).__name__}: params must be an iterable of Tensors or dicts, "
                f"but got {type(params).__name__}"
            )
        if isinstance(params, (set, frozenset)):
            raise TypeError(
                f"{type(self).__name__}: params must be an ordered collection (list, tuple), not a set"
            )
        self.defaults = dict(defaults)
        self.state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        groups = list(params)
        if not groups:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {key}: {group[key]}" for key in sorted(group) if key != "params"]
        return "\n".join(lines) + "\n)"

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters with its own options (unset options take the defaults)."""
        owner = type(self).__name__
        if not isinstance(param_group, dict):
            raise TypeError(f"{owner}: a param group must be a dict, but got {type(param_group).__name__}")
        if "params" not in param_group:
            raise ValueError(
                f"{owner}: a param group must have a 'params' entry, but got keys {list(param_group)}"
            )
        group = dict(param_group)
        params = group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError(f"{owner}: params must be an ordered collection (list, tuple), not a set")
        params = list(params)
        names = [p[0] for p in params if isinstance(p, tuple)]
        params = [p[1] if isinstance(p, tuple) else p for p in params]
        if names and len(names) != len(params):
            raise ValueError(f"{owner}: either all params or none must be given with names")
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(
                    f"{owner}: can only optimize Tensors, but one of the params is {type(p).__name__}"
                )
            if not p.is_leaf:
                raise ValueError(f"{owner}: can't optimize a non-leaf Tensor (shape {p.shape})")
        if len({id(p) for p in params}) != len(params):
            raise ValueError(f"{owner}: a parameter group contains the same parameter twice")
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in params):
            raise ValueError(f"{owner}: some parameters appear in more than one parameter group")
        group["params"] = params
        if names:
            group["param_names"] = names
        for name, default in self.defaults.items():
            group.setdefault(name, default)
        self._check_group(group)
        self.param_groups.append(group)

    def _defaults(self, arguments: dict[str, Any]) -> dict[str, Any]:
        """The defaults dict from ``__init__``'s ``locals()``: every argument but ``self`` and
        ``params``, the ``_pairs`` given as lists made tuples."""
        return {
            name: tuple(value) if name in self._pairs and isinstance(value, (list, tuple)) else value
            for name, value in arguments.items()
            if name not in ("self", "params", "__class__")  # __class__: the cell of super()
        }

    def _check_group(self, group: dict[str, Any]) -> None:
        """Validate one group's options as the class attributes declare, raising
        ValueError/TypeError naming the option; torch's execution options ``capturable`` and
        ``differentiable`` are refused when True where the optimizer takes either."""
        owner = type(self).__name__
        for name in self._numbers:
            check_number(owner, name, group[name], low=None if name in self._signed else 0.0)
        if "betas" in self._pairs:
            check_betas(owner, group["betas"])
        if "capturable" in self.defaults or "differentiable" in self.defaults:
            check_unsupported_flags(owner, group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all optimized tensors: to None (default) or to zeros."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    p.grad.array[...] = 0

    def step(self, closure: Callable[[], Any] | None = None):
        """Update the parameters once from their ``.grad``; returns ``closure()`` if given."""
        loss = None
        if closure is not None:
            loss = closure()
        with no_grad():
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is not None:
                        self._update(p, p.grad.array, group, self.state[p])
        return loss

    def _update(self, param: Tensor, grad: np.ndarray, group: dict[str, Any], state: dict[str, Any]) -> None:
        """Update ``param.array`` in place from ``grad``; subclasses implement the rule."""
        raise NotImplementedError

    # ---- state dicts ------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """The optimizer's state with torch's structure: ``{"state": ..., "param_groups": ...}``.

        Parameters are replaced by their index in the order of the groups; arrays are copies.
        """
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {k: copy.deepcopy(v) for k, v in group.items() if k != "params"}
            for p in group["params"]:
                index.setdefault(id(p), len(index))
            packed["params"] = [index[id(p)] for p in group["params"]]
            groups.append(packed)
        state = {
            index[id(p)]: {k: v.copy() if isinstance(v, np.ndarray) else v for k, v in s.items()}
            for p, s in self.state.items()
            if id(p) in index and s
        }
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load a state from :meth:`state_dict` (of this class or of the torch equivalent).

        Everything is checked before anything is assigned: the number of groups, their sizes
        and the shape of every buffer. Buffers are cast to the dtype of their parameter,
        except the step counter.
        """
        owner = f"{type(self).__name__}.load_state_dict"
        if not isinstance(state_dict, dict) or not {"state", "param_groups"} <= set(state_dict):
            raise ValueError(
                f"{owner}: expected a dict with 'state' and 'param_groups', but got {_describe(state_dict)}"
            )
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                f"{owner}: the state has {len(saved_groups)} parameter groups, "
                f"but the optimizer has {len(self.param_groups)}"
            )
        for i, (saved, group) in enumerate(zip(saved_groups, self.param_groups)):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(
                    f"{owner}: parameter group {i} has {len(saved['params'])} parameters in the state, "
                    f"but {len(group['params'])} in the optimizer"
                )
        id_map = {
            saved_id: p
            for saved, group in zip(saved_groups, self.param_groups)
            for saved_id, p in zip(saved["params"], group["params"])
        }
        new_state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        for key, buffers in state_dict["state"].items():
            if key not in id_map:
                raise ValueError(
                    f"{owner}: the state has an entry for parameter {key!r}, which no group lists"
                )
            param = id_map[key]
            new_state[param] = {
                name: _cast_buffer(owner, key, name, value, param) for name, value in buffers.items()
            }
        new_groups = []
        for saved, group in zip(saved_groups, self.param_groups):
            new_group = {k: copy.deepcopy(v) for k, v in saved.items() if k != "params"}
            new_group["params"] = group["params"]
            if "param_names" in group and "param_names" not in new_group:
                new_group["param_names"] = group["param_names"]
            for name, default in self.defaults.items():
                new_group.setdefault(name, default)
            for name, default in self.defaults.items():  # JSON turns tuples (betas, etas) into lists
                if isinstance(default, tuple) and isinstance(new_group.get(name), list):
                    new_group[name] = tuple(new_group[name])
            self._check_group(new_group)
            new_groups.append(new_group)
        self.state = new_state
        self.param_groups = new_groups


def _cast_buffer(owner: str, key, name: str, value, param: Tensor):
    """A copy of one saved buffer, as an ndarray of the parameter's dtype (``step``: a float)."""
    if name == "step" or (name in ("mu_product", "eta", "mu") and np.ndim(to_array(value)) == 0):
        return float(to_array(value))  # scalars of the schedule (torch keeps 0-d tensors)
    if not (isinstance(value, np.ndarray) or hasattr(value, "detach") or isinstance(value, Tensor)):
        return copy.deepcopy(value)
    array = to_array(value)
    if array.shape != param.shape:
        raise ValueError(
            f"{owner}: buffer {name!r} of parameter {key!r} has shape {array.shape}, "
            f"but the parameter has shape {param.shape}"
        )
    return np.array(array, dtype=param.dtype, copy=True)


def _describe(value) -> str:
    if isinstance(value, dict):
        return f"a dict with keys {list(value)}"
    return type(value).__name__
