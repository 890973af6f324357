"""Module: the base class of every layer and network, as ``torch.nn.Module``.

Assigning a :class:`Parameter`, a Module or (to a registered name) a buffer to an
attribute registers it, so ``parameters()``, ``state_dict()``, ``train()``/``eval()`` and
``repr`` find it. Names in ``state_dict`` are the dotted attribute paths torch uses
(``features.0.weight``, ``bn.running_mean``), so a torch state dict of the same
architecture loads as it is.
"""

from __future__ import annotations

import itertools
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NamedTuple

import numpy as np

from ..autograd.function import no_grad
from ..autograd.tensor import Tensor
from ..device import check_available, cuda_device, parse_to_args
from .buffer import buffer_persistence
from .hooks import HookMixin, RemovableHandle
from .parameter import Parameter
from .uninitialized import is_lazy

__all__ = ["IncompatibleKeys", "Module", "RemovableHandle", "StateDictError"]


class IncompatibleKeys(NamedTuple):
    """What ``load_state_dict`` returns: the keys it did not find and did not use."""

    missing_keys: list[str]
    unexpected_keys: list[str]

    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return f"IncompatibleKeys(missing_keys={self.missing_keys}, unexpected_keys={self.unexpected_keys})"


class StateDictError(ValueError, RuntimeError):
    """A state dict that does not fit the module (a ValueError, and a RuntimeError as in torch)."""


def _addindent(text: str, spaces: int) -> str:
    """Indent every line but the first (torch's layout for nested reprs)."""
    lines = text.split("\n")
    if len(lines) == 1:
        return text
    return lines[0] + "\n" + "\n".join((" " * spaces + line) if line.strip() else "" for line in lines[1:])


def _to_array(value) -> np.ndarray:
    """A state-dict value as an ndarray: cf.Tensor, ndarray, torch tensor or array-like."""
    if isinstance(value, Tensor):
        return value.array
    if hasattr(value, "detach") and hasattr(value, "cpu") and hasattr(value, "numpy"):
        return value.detach().cpu().numpy()  # a torch tensor, without importing torch
    return np.asarray(value)


def _checked_value(key: str, target: Tensor, value) -> tuple[np.ndarray | None, str | None]:
    """One state-dict value as an ndarray that fits ``target``, or the error that says why not."""
    try:
        array = _to_array(value)
    except Exception as e:  # noqa: BLE001 - reported with the key
        return None, f"could not read the value of {key}: {e}"
    if array.dtype.kind not in "biuf":
        return None, f"value of {key} must be numeric, but has dtype {array.dtype}"
    if not is_lazy(target) and array.shape != target.shape:
        return None, (
            f"size mismatch for {key}: copying a param with shape {array.shape} from "
            f"checkpoint, the shape in current model is {target.shape}."
        )
    return array, None


def _check_name(kind: str, name, owner: Module) -> None:
    if not isinstance(name, str):
        raise TypeError(f"{kind} name should be a string, but got {type(name).__name__}")
    if name == "":
        raise KeyError(f'{kind} name can\'t be empty string ""')
    if "." in name:
        raise KeyError(f'{kind} name can\'t contain ".", but got name={name!r}')


class Module(HookMixin):
    """Base class of all layers and networks.

    Subclasses call ``super().__init__()`` first, assign their parameters, buffers and
    submodules as attributes, and implement ``forward``; calling the module runs the
    forward pre-hooks, ``forward`` and the forward hooks.
    """

    training: bool

    def __init__(self) -> None:
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent_buffers_set", set())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_forward_hooks", OrderedDict())
        object.__setattr__(self, "_forward_pre_hooks", OrderedDict())
        # ids of the hooks registered with_kwargs=True / always_call=True (torch's bookkeeping)
        object.__setattr__(self, "_forward_hooks_with_kwargs", set())
        object.__setattr__(self, "_forward_pre_hooks_with_kwargs", set())
        object.__setattr__(self, "_forward_hooks_always_called", set())
        object.__setattr__(self, "_backward_hooks", OrderedDict())
        object.__setattr__(self, "_backward_pre_hooks", OrderedDict())

    def forward(self, *args, **kwargs):
        raise NotImplementedError(
            f'Module [{type(self).__name__}] is missing the required "forward" function'
        )

    # ---- registration -----------------------------------------------------------------
    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Add a parameter (or a None placeholder, as torch's ``bias=False``) named ``name``."""
        if "_parameters" not in self.__dict__:
            raise AttributeError("cannot assign parameter before Module.__init__() call")
        _check_name("parameter", name, self)
        if hasattr(self, name) and name not in self._parameters:
            raise KeyError(f"attribute '{name}' already exists")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(
                f"cannot assign '{type(param).__name__}' object to parameter '{name}' "
                "(convforge.nn.Parameter or None required)"
            )
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor, persistent: bool = True) -> None:
        """Add a buffer: state that is not learned (BatchNorm's running statistics).

        Persistent buffers are part of ``state_dict()``. An ndarray is wrapped in a Tensor.
        """
        if "_buffers" not in self.__dict__:
            raise AttributeError("cannot assign buffer before Module.__init__() call")
        _check_name("buffer", name, self)
        if hasattr(self, name) and name not in self._buffers:
            raise KeyError(f"attribute '{name}' already exists")
        if isinstance(tensor, np.ndarray):
            tensor = Tensor(tensor)
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(
                f"cannot assign '{type(tensor).__name__}' object to buffer '{name}' (Tensor or None required)"
            )
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers_set.discard(name)
        else:
            self._non_persistent_buffers_set.add(name)

    def add_module(self, name: str, module: Module | None) -> None:
        """Add a child module, reachable as an attribute named ``name``."""
        if "_modules" not in self.__dict__:
            raise AttributeError("cannot assign module before Module.__init__() call")
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        _check_name("module", name, self)
        if hasattr(self, name) and name not in self._modules:
            raise KeyError(f"attribute '{name}' already exists")
        self._modules[name] = module

    register_module = add_module

    def __getattr__(self, name: str) -> Any:
        state = self.__dict__
        for store in ("_parameters", "_buffers", "_modules"):
            if store in state and name in state[store]:
                return state[store][name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __setattr__(self, name: str, value: Any) -> None:
        state = self.__dict__
        params, buffers, modules = (state.get(s) for s in ("_parameters", "_buffers", "_modules"))

        def forget(*stores) -> None:
            for store in stores:
                if store is not None and name in store:
                    del store[name]

        persistent = buffer_persistence(value)
        if persistent is not None:  # nn.Buffer(...): a buffer, whatever the name held before
            forget(state, params, modules)
            self.register_buffer(name, value, persistent=persistent)
        elif isinstance(value, Parameter):
            if params is None:
                raise AttributeError("cannot assign parameters before Module.__init__() call")
            forget(state, buffers, modules)
            self._non_persistent_buffers_set.discard(name)
            self.register_parameter(name, value)
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(
                    f"cannot assign '{type(value).__name__}' as parameter '{name}' "
                    "(convforge.nn.Parameter or None expected)"
                )
            params[name] = None
        elif isinstance(value, Module):
            if modules is None:
                raise AttributeError("cannot assign module before Module.__init__() call")
            forget(state, params, buffers)
            self._non_persistent_buffers_set.discard(name)
            modules[name] = value
        elif modules is not None and name in modules:
            if value is not None:
                raise TypeError(
                    f"cannot assign '{type(value).__name__}' as child module '{name}' (Module or None expected)"
                )
            modules[name] = None
        elif buffers is not None and name in buffers:
            if isinstance(value, np.ndarray):
                value = Tensor(value)
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(
                    f"cannot assign '{type(value).__name__}' as buffer '{name}' (Tensor or None expected)"
                )
            buffers[name] = value
        else:
            object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        for store in (self._parameters, self._buffers, self._modules):
            if name in store:
                del store[name]
                self._non_persistent_buffers_set.discard(name)
                return
        object.__delattr__(self, name)

    def __dir__(self):
        return sorted(
            set(super().__dir__()) | set(self._parameters) | set(self._buffers) | set(self._modules)
        )

    # ---- traversal --------------------------------------------------------------------
    def named_modules(
        self, memo: set | None = None, prefix: str = "", remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Module]]:
        """(dotted name, module) for this module and every descendant, each once."""
        if memo is None:
            memo = set()
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, module in self._modules.items():
            if module is None:
                continue
            child_prefix = prefix + ("." if prefix else "") + name
            yield from module.named_modules(memo, child_prefix, remove_duplicate)

    def modules(self, remove_duplicate: bool = True) -> Iterator[Module]:
        for _, module in self.named_modules(remove_duplicate=remove_duplicate):
            yield module

    def named_children(self) -> Iterator[tuple[str, Module]]:
        seen: set[int] = set()
        for name, module in self._modules.items():
            if module is not None and id(module) not in seen:
                seen.add(id(module))
                yield name, module

    def children(self) -> Iterator[Module]:
        for _, module in self.named_children():
            yield module

    def _named_members(self, store: str, prefix: str, recurse: bool, remove_duplicate: bool):
        seen: set[int] = set()
        modules = (
            self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate)
            if recurse
            else [(prefix, self)]
        )
        for module_prefix, module in modules:
            for name, value in getattr(module, store).items():
                if value is None or (remove_duplicate and id(value) in seen):
                    continue
                seen.add(id(value))
                yield module_prefix + ("." if module_prefix else "") + name, value

    def named_parameters(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Parameter]]:
        """(dotted name, parameter); a parameter shared by two modules appears once."""
        yield from self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_buffers(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Tensor]]:
        yield from self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, buffer in self.named_buffers(recurse=recurse):
            yield buffer

    def get_submodule(self, target: str) -> Module:
        """The descendant at the dotted path ``target`` ('' is this module)."""
        module: Module = self
        for part in target.split(".") if target else []:
            child = module._modules.get(part)
            if not isinstance(child, Module):
                raise AttributeError(f"{type(module).__name__} has no submodule '{part}' (in '{target}')")
            module = child
        return module

    def _get_member(self, kind: str, store: str, target: str):
        module_path, _, name = target.rpartition(".")
        module = self.get_submodule(module_path)
        if name not in getattr(module, store):
            raise AttributeError(f"{type(module).__name__} has no {kind} '{name}' (in '{target}')")
        return getattr(module, store)[name]

    def get_parameter(self, target: str) -> Parameter:
        """The parameter at the dotted path ``target`` (``'features.0.weight'``)."""
        return self._get_member("parameter", "_parameters", target)

    def get_buffer(self, target: str) -> Tensor:
        """The buffer at the dotted path ``target`` (``'bn.running_mean'``)."""
        return self._get_member("buffer", "_buffers", target)

    def share_memory(self) -> Module:
        """torch moves the tensors to shared memory for multiprocessing; arrays here are
        shared by the threads that run data loading, so there is nothing to move."""
        return self

    # ---- modes and gradients ----------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        """Set training mode (Dropout active, BatchNorm uses batch statistics) recursively."""
        if not isinstance(mode, bool):
            raise ValueError(f"train: mode must be a bool, but got mode={mode!r}")
        self.training = mode
        for module in self.children():
            module.train(mode)
        return self

    def eval(self) -> Module:
        """Evaluation mode: ``train(False)``."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        for param in self.parameters():
            param.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear the gradients of all parameters (set them to None, or fill with zeros)."""
        for param in self.parameters():
            if param.grad is None:
                continue
            if set_to_none:
                param.grad = None
            else:
                param.grad.array[...] = 0

    def apply(self, fn: Callable[[Module], None]) -> Module:
        """Call ``fn`` on every submodule (children first) and on this module."""
        for module in self.children():
            module.apply(fn)
        fn(self)
        return self

    # ---- dtype ------------------------------------------------------------------------
    def _cast_floating(self, dtype) -> Module:
        dtype = np.dtype(dtype)
        for tensor in itertools.chain(self.parameters(), self.buffers()):
            if np.issubdtype(tensor.dtype, np.floating):
                tensor.array = tensor.array.astype(dtype)
                if tensor.grad is not None:
                    tensor.grad.array = tensor.grad.array.astype(dtype)
        return self

    def to(self, *args, dtype=None, device=None) -> Module:
        """Move and/or cast floating parameters and buffers, as torch: ``to(cf.float64)``,
        ``to('cpu')``, ``to(device, dtype)``, ``to(tensor)``. A device this installation cannot
        compute on raises :class:`~convforge.device.DeviceUnavailableError` (nothing changes)."""
        dtype, _ = parse_to_args("Module.to", args, dtype, device)
        return self if dtype is None else self._cast_floating(dtype)

    def double(self) -> Module:
        return self._cast_floating(np.float64)

    def float(self) -> Module:
        return self._cast_floating(np.float32)

    def half(self) -> Module:
        return self._cast_floating(np.float16)

    def cpu(self) -> Module:
        return self

    def cuda(self, device=None) -> Module:
        """Move to a CUDA GPU, as torch; refused with a clear error in this CPU-only release."""
        check_available(cuda_device(device, "Module.cuda"), "Module.cuda")
        return self

    # ---- state dict -------------------------------------------------------------------
    def _state_tensors(self, prefix: str = "") -> OrderedDict[str, Tensor]:
        """Parameters and persistent buffers by state-dict key, in torch's order."""
        entries: OrderedDict[str, Tensor] = OrderedDict()
        for name, param in self._parameters.items():
            if param is not None:
                entries[prefix + name] = param
        for name, buffer in self._buffers.items():
            if buffer is not None and name not in self._non_persistent_buffers_set:
                entries[prefix + name] = buffer
        for name, module in self._modules.items():
            if module is not None:
                entries.update(module._state_tensors(prefix + name + "."))
        return entries

    def state_dict(self, destination=None, prefix: str = "", keep_vars: bool = False):
        """Parameters and persistent buffers by dotted name, as torch's keys.

        Returns an ``OrderedDict[str, np.ndarray]`` of copies (torch's tensors share
        storage; copies make a saved state safe from later training steps). With
        ``keep_vars=True`` the values are the Parameters and buffer Tensors themselves.
        """
        destination = OrderedDict() if destination is None else destination
        for key, tensor in self._state_tensors(prefix).items():
            # a lazy layer's placeholder is given as it is (torch's UninitializedParameter)
            destination[key] = tensor if keep_vars or is_lazy(tensor) else tensor.array.copy()
        return destination

    def load_state_dict(
        self, state_dict: Mapping[str, Any], strict: bool = True, assign: bool = False
    ) -> IncompatibleKeys:
        """Copy values from ``state_dict`` into the parameters and buffers, in place.

        With ``assign=True`` each parameter and buffer takes a copy of the saved array as it
        is, with its dtype (torch's ``assign``), instead of casting into the existing array;
        the Parameter objects stay the same, so an optimizer built on them keeps working.

        Values may be ndarrays, cf.Tensors, torch tensors or anything ``np.asarray`` takes;
        they are cast to each parameter's dtype. Nothing is changed unless every value
        fits: shape mismatches always raise; missing and unexpected keys raise when
        ``strict`` (:class:`StateDictError`, both a ValueError and torch's RuntimeError).

        Returns
        -------
        IncompatibleKeys
            ``(missing_keys, unexpected_keys)``.
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"load_state_dict: expected a mapping, but got {type(state_dict).__name__}")
        targets = self._state_tensors()
        missing = [key for key in targets if key not in state_dict]
        unexpected = [key for key in state_dict if key not in targets]
        errors: list[str] = []
        arrays: dict[str, np.ndarray] = {}
        for key, target in targets.items():
            if key in state_dict:
                array, error = _checked_value(key, target, state_dict[key])
                if error is None:
                    arrays[key] = array
                else:
                    errors.append(error)
        if strict and unexpected:
            errors.insert(
                0, "Unexpected key(s) in state_dict: " + ", ".join(f'"{k}"' for k in unexpected) + "."
            )
        if strict and missing:
            errors.insert(0, "Missing key(s) in state_dict: " + ", ".join(f'"{k}"' for k in missing) + ".")
        if errors:
            raise StateDictError(
                f"Error(s) in loading state_dict for {type(self).__name__}:\n\t" + "\n\t".join(errors)
            )
        with no_grad():
            for key, array in arrays.items():
                if is_lazy(targets[key]):  # a lazy layer's placeholder takes the saved shape
                    targets[key].materialize(array.shape)
                if assign:
                    targets[key].array = np.array(array, copy=True)
                else:
                    targets[key].array[...] = array
        for module in self.modules():
            if getattr(module, "_sizes_from_state", None) and not module.has_uninitialized_params():
                module._sizes_from_state()  # a lazy layer learns in_features etc. from the loaded weights
        return IncompatibleKeys(missing, unexpected)

    # ---- repr -------------------------------------------------------------------------
    def extra_repr(self) -> str:
        """The layer's arguments as shown inside its repr; subclasses override it."""
        return ""

    def _get_name(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = [f"({name}): " + _addindent(repr(module), 2) for name, module in self._modules.items()]
        lines = extra_lines + child_lines
        body = ""
        if lines:
            if len(extra_lines) == 1 and not child_lines:
                body = extra_lines[0]
            else:
                body = "\n  " + "\n  ".join(lines) + "\n"
        return f"{self._get_name()}({body})"
