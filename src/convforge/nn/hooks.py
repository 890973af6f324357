"""Module hooks: forward pre-hooks and hooks (with kwargs, prepend, always_call) and torch's
full backward hooks, as a mixin of :class:`~convforge.nn.module.Module`.

A full backward hook ``hook(module, grad_input, grad_output)`` runs when the gradients with
respect to the module's tensor inputs are known (Grad-CAM reads ``grad_output`` here); a
backward pre-hook ``hook(module, grad_output)`` runs when those of its outputs are. To see
exactly this module's input gradients, each input that requires grad passes through one
identity node (a copy) made for the call; tensor hooks on those nodes and on the outputs
collect the gradients.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Callable

from ..autograd.function import is_grad_enabled
from ..autograd.ops import elementwise as ew
from ..autograd.tensor import Tensor

__all__ = ["HookMixin", "RemovableHandle"]


class RemovableHandle:
    """Returned by the ``register_*_hook`` methods; ``remove()`` unregisters the hook."""

    _ids = itertools.count()

    def __init__(self, hooks: dict, *extra: set) -> None:
        self.hooks = hooks
        self.extra = extra  # the with_kwargs / always_call id sets that may hold this hook
        self.id = next(self._ids)

    def remove(self) -> None:
        self.hooks.pop(self.id, None)
        for ids in self.extra:
            ids.discard(self.id)

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc) -> None:
        self.remove()


class HookMixin:
    """The hook registries and the call protocol that runs them (state set by Module.__init__)."""

    def __call__(self, *args, **kwargs):
        if self._backward_hooks or self._backward_pre_hooks:
            return _BackwardHookCall(self).run(args, kwargs)
        return self._call_with_forward_hooks(args, kwargs)

    def _call_with_forward_hooks(self, args: tuple, kwargs: dict):
        for hook_id, hook in list(self._forward_pre_hooks.items()):
            if hook_id in self._forward_pre_hooks_with_kwargs:
                result = hook(self, args, kwargs)
                if result is not None:
                    if not (isinstance(result, tuple) and len(result) == 2):
                        raise RuntimeError(
                            f"forward pre-hook must return None or a tuple of (new_args, new_kwargs), but got {result!r}"
                        )
                    args, kwargs = result
            else:
                result = hook(self, args)
                if result is not None:
                    args = result if isinstance(result, tuple) else (result,)
        try:
            output = self.forward(*args, **kwargs)
        except Exception:
            for hook_id, hook in list(self._forward_hooks.items()):
                if hook_id in self._forward_hooks_always_called:
                    self._call_forward_hook(hook_id, hook, args, kwargs, None)
            raise
        for hook_id, hook in list(self._forward_hooks.items()):
            result = self._call_forward_hook(hook_id, hook, args, kwargs, output)
            if result is not None:
                output = result
        return output

    def _call_forward_hook(self, hook_id: int, hook: Callable, args: tuple, kwargs: dict, output):
        if hook_id in self._forward_hooks_with_kwargs:
            return hook(self, args, kwargs, output)
        return hook(self, args, output)

    def register_forward_hook(
        self, hook: Callable, *, prepend: bool = False, with_kwargs: bool = False, always_call: bool = False
    ) -> RemovableHandle:
        """``hook(module, args, output)`` after each forward (``hook(module, args, kwargs, output)``
        with ``with_kwargs``); a non-None result replaces the output. ``prepend`` runs it before
        the hooks already registered; ``always_call`` runs it (with output None) when forward raises."""
        handle = RemovableHandle(
            self._forward_hooks, self._forward_hooks_with_kwargs, self._forward_hooks_always_called
        )
        self._forward_hooks[handle.id] = hook
        if with_kwargs:
            self._forward_hooks_with_kwargs.add(handle.id)
        if always_call:
            self._forward_hooks_always_called.add(handle.id)
        if prepend:
            self._forward_hooks.move_to_end(handle.id, last=False)
        return handle

    def register_forward_pre_hook(
        self, hook: Callable, *, prepend: bool = False, with_kwargs: bool = False
    ) -> RemovableHandle:
        """``hook(module, args)`` before each forward; a non-None result replaces the args. With
        ``with_kwargs``: ``hook(module, args, kwargs)`` returning None or ``(args, kwargs)``."""
        handle = RemovableHandle(self._forward_pre_hooks, self._forward_pre_hooks_with_kwargs)
        self._forward_pre_hooks[handle.id] = hook
        if with_kwargs:
            self._forward_pre_hooks_with_kwargs.add(handle.id)
        if prepend:
            self._forward_pre_hooks.move_to_end(handle.id, last=False)
        return handle

    def register_full_backward_pre_hook(self, hook: Callable, prepend: bool = False) -> RemovableHandle:
        """``hook(module, grad_output)`` once the gradients of the outputs are known; a tuple it
        returns replaces ``grad_output`` (one tensor output only)."""
        handle = RemovableHandle(self._backward_pre_hooks)
        self._backward_pre_hooks[handle.id] = hook
        if prepend:
            self._backward_pre_hooks.move_to_end(handle.id, last=False)
        return handle

    def register_full_backward_hook(self, hook: Callable, prepend: bool = False) -> RemovableHandle:
        """``hook(module, grad_input, grad_output)`` once the gradients of the tensor inputs are
        known (None for inputs that do not require grad); a tuple it returns replaces
        ``grad_input`` (one tensor input only)."""
        handle = RemovableHandle(self._backward_hooks)
        self._backward_hooks[handle.id] = hook
        if prepend:
            self._backward_hooks.move_to_end(handle.id, last=False)
        return handle

    def register_backward_hook(self, hook: Callable) -> RemovableHandle:
        """torch's deprecated non-full backward hook, run as a full one (with a FutureWarning).

        ``grad_output`` is torch's (what Grad-CAM reads); ``grad_input`` holds the gradients of
        the module's inputs, where torch's deprecated hook gives those of the inputs of the
        module's last operation (for a convolution: input, weight and bias).
        """
        warnings.warn(
            "register_backward_hook is deprecated (as in torch): it runs as register_full_backward_hook, "
            "whose grad_input holds the gradients of the module's inputs",
            FutureWarning,
            stacklevel=2,
        )
        return self.register_full_backward_hook(hook)


class _BackwardHookCall:
    """One call of a module with backward hooks: wrap the inputs, run, hook the outputs."""

    def __init__(self, module) -> None:
        self.module = module
        self.grad_output: list = []
        self.grad_input: list = []

    def run(self, args: tuple, kwargs: dict):
        if not is_grad_enabled():
            return self.module._call_with_forward_hooks(args, kwargs)
        positions = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        watched = [i for i in positions if args[i].requires_grad]
        args = tuple(ew.Clone.apply(a) if i in watched else a for i, a in enumerate(args))
        self.slots = {i: k for k, i in enumerate(positions)}
        self.grad_input = [None] * len(positions)
        self.pending_inputs = len(watched)
        for i in watched:
            args[i].register_hook(self._input_hook(i, len(watched)))
        output = self.module._call_with_forward_hooks(args, kwargs)
        outputs = [o for o in (output if isinstance(output, tuple) else (output,)) if isinstance(o, Tensor)]
        self.outputs = [o for o in outputs if o.requires_grad]
        self.grad_output = [None] * len(self.outputs)
        self.pending_outputs = len(self.outputs)
        for k, o in enumerate(self.outputs):
            o.register_hook(self._output_hook(k))
        return output

    def _output_hook(self, k: int):
        def hook(grad: Tensor):
            self.grad_output[k] = grad
            self.pending_outputs -= 1
            if self.pending_outputs:
                return None
            replaced = None
            for pre_hook in list(self.module._backward_pre_hooks.values()):
                result = pre_hook(self.module, tuple(self.grad_output))
                if result is not None:
                    if len(self.outputs) != 1:
                        raise RuntimeError(
                            "a backward pre-hook may replace grad_output only of a single-output module"
                        )
                    self.grad_output = list(result)
                    replaced = self.grad_output[0]
            if self.pending_inputs == 0 and self.module._backward_hooks:  # no input requires grad
                warnings.warn(
                    "Full backward hook is firing when gradients are computed with respect to module "
                    "outputs since no inputs require gradients (grad_input holds None), as torch's",
                    UserWarning,
                    stacklevel=2,
                )
                self._run_backward_hooks()
            return replaced

        return hook

    def _input_hook(self, position: int, watched: int):
        def hook(grad: Tensor):
            self.grad_input[self.slots[position]] = grad
            self.pending_inputs -= 1
            if self.pending_inputs:
                return None
            result = self._run_backward_hooks()
            if result is None:
                return None
            if watched != 1:
                raise RuntimeError(
                    "a full backward hook may replace grad_input only of a single-input module"
                )
            return result[self.slots[position]]

        return hook

    def _run_backward_hooks(self):
        replaced = None
        for hook in list(self.module._backward_hooks.values()):
            result = hook(self.module, tuple(self.grad_input), tuple(self.grad_output))
            if result is not None:
                self.grad_input = list(result)
                replaced = result
        return replaced
