"""Function: one differentiable operation, its forward and backward side by side.

A subclass writes ``forward(self, *args)`` on plain arrays (any argument may also be a
non-array setting: a spec, an axis, None) and ``backward(self, grad_output)`` returning one
gradient per positional argument of ``forward`` (``None`` where there is none or where
``self.needs_input_grad[i]`` is False: only needed gradients are computed).
``Function.apply(*args)`` unwraps Tensors, runs ``forward`` and, when gradients are
enabled and some input requires them, records the node in the graph.
"""

from __future__ import annotations

import contextlib
import threading

_state = threading.local()


def is_grad_enabled() -> bool:
    return getattr(_state, "grad_enabled", True)


def set_grad_enabled(mode: bool) -> None:
    _state.grad_enabled = bool(mode)


class _GradMode(contextlib.ContextDecorator):
    enabled: bool

    def __enter__(self):
        self._previous = is_grad_enabled()
        set_grad_enabled(self.enabled)
        return self

    def __exit__(self, *exc):
        set_grad_enabled(self._previous)
        return False


class no_grad(_GradMode):
    """Context manager / decorator: operations inside record no graph."""

    enabled = False


class enable_grad(_GradMode):
    enabled = True


class Function:
    """Base of every differentiable operation (see the module docstring)."""

    def __init__(self) -> None:
        self.inputs: tuple = ()
        self.needs_input_grad: tuple[bool, ...] = ()
        self.saved: tuple = ()
        self.released = False

    # subclasses implement these two
    def forward(self, *args):  # pragma: no cover - abstract
        raise NotImplementedError

    def backward(self, grad_output):  # pragma: no cover - abstract
        raise NotImplementedError

    def save_for_backward(self, *arrays) -> None:
        self.saved = arrays

    def release(self) -> None:
        """Free what forward saved; a second backward through this node then fails."""
        self.saved = ()
        self.released = True
        for name in list(vars(self)):
            if name not in ("inputs", "needs_input_grad", "saved", "released"):
                delattr(self, name)

    @property
    def name(self) -> str:
        return type(self).__name__

    @classmethod
    def apply(cls, *args, **kwargs):
        from .tensor import Tensor

        node = cls()
        node.needs_input_grad = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        raw = tuple(a.data if isinstance(a, Tensor) else a for a in args)
        result = node.forward(*raw, **kwargs)
        requires_grad = is_grad_enabled() and any(node.needs_input_grad)
        if requires_grad:
            node.inputs = tuple(a if isinstance(a, Tensor) else None for a in args)
            return Tensor._from_op(result, node)
        return Tensor._from_op(result, None)

    def __repr__(self) -> str:
        return f"<{self.name}Backward>"
