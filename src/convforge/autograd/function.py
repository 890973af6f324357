"""Function: one differentiable operation, its forward and backward side by side.

A subclass writes ``forward(self, *args)`` on plain arrays (any argument may also be a
non-array setting: a spec, an axis, None) and ``backward(self, grad_output)`` returning one
gradient per positional argument of ``forward`` (``None`` where there is none or where
``self.needs_input_grad[i]`` is False: only needed gradients are computed).
``Function.apply(*args)`` unwraps Tensors, runs ``forward`` and, when gradients are
enabled and some input requires them, records the node in the graph. torch's protocol
(``forward(ctx, ...)``/``backward(ctx, grad)`` staticmethods on Tensors) works too: see
:mod:`.custom`.

The graph links nodes, not tensors (as torch's): each node keeps one edge per argument
to the node that produced it (its ``grad_fn``, or the :class:`AccumulateGrad` of a leaf),
so an in-place operation that gives a tensor a new ``grad_fn`` leaves the edges recorded
before it pointing at the old one. A node also notes the version of every tensor it was
given or made; backward refuses to run if one changed since and the node kept its memory
for backward (torch's rule).
"""

from __future__ import annotations

import contextlib
import threading
import weakref

import numpy as np

_state = threading.local()


def is_grad_enabled() -> bool:
    """Whether operations record the graph now (False inside ``no_grad``)."""
    return getattr(_state, "grad_enabled", True)


def is_inference_mode_enabled() -> bool:
    """Whether an ``inference_mode`` block is active."""
    return getattr(_state, "inference", False)


def _set_grad_mode(mode: bool) -> None:
    _state.grad_enabled = bool(mode)


class _GradMode(contextlib.ContextDecorator):
    """Context manager and decorator that sets the grad mode and restores it on exit.

    ``@no_grad`` without parentheses decorates too, as torch allows.
    """

    enabled: bool

    def __new__(cls, *args, **kwargs):
        if cls in (no_grad, enable_grad) and len(args) == 1 and callable(args[0]) and not kwargs:
            return cls()(args[0])  # bare decorator: @no_grad
        return super().__new__(cls)

    def __enter__(self):
        self._previous = is_grad_enabled()
        _set_grad_mode(self.enabled)
        return self

    def __exit__(self, *exc):
        _set_grad_mode(self._previous)
        return False


class no_grad(_GradMode):
    """Context manager / decorator: operations inside record no graph."""

    enabled = False


class enable_grad(_GradMode):
    """Context manager / decorator: operations inside record the graph, even within no_grad."""

    enabled = True


class _Switch(_GradMode):
    def __init__(self, enabled: bool) -> None:
        self.enabled = bool(enabled)


class set_grad_enabled:
    """Set the grad mode, as ``torch.set_grad_enabled``: at once when called, and restored on
    exit when used as a context manager (``with set_grad_enabled(False):``) or a decorator."""

    def __init__(self, mode: bool) -> None:
        if not isinstance(mode, (bool, np.bool_)):
            raise TypeError(f"set_grad_enabled: mode must be a bool, but got {type(mode).__name__}")
        self._previous = is_grad_enabled()
        self.mode = bool(mode)
        _set_grad_mode(self.mode)

    def __enter__(self) -> set_grad_enabled:
        return self

    def __exit__(self, *exc) -> bool:
        _set_grad_mode(self._previous)
        return False

    def __call__(self, func):
        _set_grad_mode(self._previous)  # as a decorator the mode applies inside func only
        switch = _Switch(self.mode)
        return switch(func)


class inference_mode(contextlib.ContextDecorator):
    """``torch.inference_mode``: no graph inside (as ``no_grad``); ``inference_mode(False)``
    records the graph inside, as torch's (its guard sets the grad mode to ``not mode``)."""

    def __new__(cls, mode=True):
        if callable(mode) and not isinstance(mode, bool):
            manager = super().__new__(cls)
            manager.__init__(True)
            return manager(mode)  # bare decorator: @inference_mode
        return super().__new__(cls)

    def __init__(self, mode: bool = True) -> None:
        self.mode = bool(mode) if not callable(mode) else True

    def __enter__(self):
        self._previous = (is_grad_enabled(), is_inference_mode_enabled())
        _set_grad_mode(not self.mode)
        _state.inference = self.mode
        return self

    def __exit__(self, *exc):
        _set_grad_mode(self._previous[0])
        _state.inference = self._previous[1]
        return False


class _Version:
    """A tensor's in-place modification count, shared by the tensors sharing its memory."""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0


def saved_entry(tensor, is_output: bool = False, force: bool = False) -> tuple:
    """What a node notes of a tensor it was given or made: (version box, version now, the
    array, is_output, force). At backward a changed version raises if the node kept that
    array's memory (or ``force``: torch saves it, or a custom Function saved it)."""
    return (tensor._version_box, tensor._version_box.value, tensor._array, is_output, force)


def _label(array: np.ndarray) -> str:
    """torch's name for a tensor in messages: ``torch.FloatTensor [2, 3]``."""
    from .dtypes import type_name

    return f"{type_name(array.dtype)} [{', '.join(str(s) for s in array.shape)}]"


class Node:
    """What backward needs of every graph node: edges, hooks, a torch-style name."""

    def __init__(self) -> None:
        self._edges: tuple = ()
        self._pre_hooks: list = []

    @property
    def next_functions(self) -> tuple:
        return tuple((edge, 0) for edge in self._edges)

    def name(self) -> str:
        return type(self).__name__

    def register_prehook(self, hook) -> None:
        self._pre_hooks.append(hook)

    def __repr__(self) -> str:
        return f"<{self.name()} object at {id(self):#x}>"


class AccumulateGrad(Node):
    """The node of a leaf that requires grad: backward adds what reaches it to ``.grad``."""

    def __init__(self, variable) -> None:
        super().__init__()
        self.variable = variable


class Function(Node):
    """Base of every differentiable operation (see the module docstring)."""

    # how many leading arguments are operands that torch lists in next_functions even when
    # they are plain numbers (``a * 2``); None: list only the Tensor arguments
    _operands: int | None = None
    # True for operations whose result may be a view of their first input (reshape,
    # permute, basic indexing, expand): the result then shares its version counter
    is_view = False
    # True where torch's backward reads the output (ReLU keeps a mask here, torch the
    # result): later in-place writes to the output are then refused at backward, as torch's
    saves_output = False

    def __init__(self) -> None:
        super().__init__()
        self.inputs: tuple = ()
        self.needs_input_grad: tuple[bool, ...] = ()
        self.saved: tuple = ()
        self.released = False
        self._listed: tuple[bool, ...] = ()
        self._saved_versions: tuple = ()
        self._out_dtype = None
        self._retain_for = None

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
        keep = ("inputs", "needs_input_grad", "saved", "released", "_edges", "_pre_hooks", "_listed")
        keep += ("_out_dtype", "_retain_for")
        for name in list(vars(self)):
            if name not in keep:
                delattr(self, name)

    def name(self) -> str:
        return f"{type(self).__name__}Backward0"

    @property
    def next_functions(self) -> tuple:
        return tuple((edge, 0) for edge, listed in zip(self._edges, self._listed) if listed)

    @classmethod
    def apply(cls, *args, **kwargs):
        Tensor = _late.Tensor or _late.load()
        if cls not in _late.plain_style:
            if _late.is_torch_style(cls):  # forward(ctx, ...) as a staticmethod: torch's protocol
                return _late.apply_torch_style(cls, *args, **kwargs)
            _late.plain_style.add(cls)
        node = cls()
        node.needs_input_grad = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        raw = tuple(a._array if isinstance(a, Tensor) else a for a in args)
        result = node.forward(*raw, **kwargs)
        if not (is_grad_enabled() and any(node.needs_input_grad)):
            out = Tensor._from_op(result, None)
        else:
            node.inputs = tuple(a if isinstance(a, Tensor) else None for a in args)
            node._edges = tuple(a._grad_edge() if isinstance(a, Tensor) else None for a in args)
            operands = len(args) if cls._operands is None else cls._operands
            node._listed = tuple(isinstance(a, Tensor) or i < operands for i, a in enumerate(args))
            out = Tensor._from_op(result, node)
            node._out_dtype = out.dtype
            node._record_saved(args, out)
        if cls.is_view and isinstance(args[0], Tensor):
            out._become_view_of(args[0])
        return out

    def _record_saved(self, args, out) -> None:
        """Note the versions of the tensors given and made; whether this node kept their
        memory is looked at only if one of them changes (see :meth:`_check_versions`)."""
        Tensor = _late.Tensor
        entries = [saved_entry(a) for a in args if isinstance(a, Tensor)]
        entries.append(saved_entry(out, is_output=True, force=self.saves_output))
        self._saved_versions = tuple(entries)

    def kept_output(self, out_array: np.ndarray) -> bool:
        """Whether backward reads this node's output (torch's saved result)."""
        return self.saves_output or any(np.may_share_memory(k, out_array) for k in _kept_arrays(self))

    def _check_versions(self) -> None:
        kept = None
        for box, version, array, is_output, force in self._saved_versions:
            if box.value == version:
                continue
            if not force:
                kept = _kept_arrays(self) if kept is None else kept
                if not any(np.may_share_memory(k, array) for k in kept):
                    continue  # changed, but this node never read it
            which = f", which is output 0 of {self.name()}," if is_output else ""
            raise RuntimeError(
                "one of the variables needed for gradient computation has been modified by an "
                f"inplace operation: [{_label(array)}]{which} is at version {box.value}; "
                f"expected version {version} instead."
            )

    def __repr__(self) -> str:
        return f"<{self.name()}>"


# the bookkeeping attributes every node has: never arrays a forward kept
_BOOKKEEPING = frozenset(
    ("inputs", "saved", "_edges", "_listed", "needs_input_grad", "_pre_hooks", "_saved_versions", "released")
)


def _kept_arrays(node: Function) -> list[np.ndarray]:
    """The ndarrays a node holds after forward: its saved tuple and its array attributes."""
    kept = [v for v in node.saved if type(v) is np.ndarray and v.size]
    for name, value in vars(node).items():
        if name in _BOOKKEEPING:
            continue
        if isinstance(value, np.ndarray):
            if value.size:
                kept.append(value)
        elif isinstance(value, (tuple, list)):
            kept.extend(v for v in value if isinstance(v, np.ndarray) and v.size)
    return kept


class _Late:
    """Names of modules that import this one, looked up once on first use (not per op)."""

    Tensor = None

    def load(self):
        from .custom import apply_torch_style, is_torch_style
        from .tensor import Tensor

        self.apply_torch_style, self.is_torch_style = apply_torch_style, is_torch_style
        self.plain_style: set = set()
        type(self).Tensor = Tensor
        return Tensor


_late = _Late()


def retain_for(node: Function, tensor) -> None:
    """Make backward store the gradient reaching ``node`` in ``tensor.grad`` (retain_grad)."""
    node._retain_for = weakref.ref(tensor)


__all__ = [
    "AccumulateGrad",
    "Function",
    "Node",
    "enable_grad",
    "inference_mode",
    "is_grad_enabled",
    "is_inference_mode_enabled",
    "no_grad",
    "retain_for",
    "set_grad_enabled",
]
