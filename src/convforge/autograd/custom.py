"""torch-style custom Functions: ``forward(ctx, ...)`` and ``backward(ctx, grad)`` staticmethods.

A subclass of :class:`~convforge.autograd.function.Function` written as torch's
(``@staticmethod def forward(ctx, x)``, ``ctx.save_for_backward(x)``, ``ctx.saved_tensors``,
``MyFn.apply(x)``) runs through :func:`apply_torch_style`: its forward gets Tensors and runs
without recording a graph, its backward gets and returns Tensors, and the node it leaves in
the graph is a ``<Name>Backward`` context that holds what forward saved. One Tensor output
(torch allows tuples; refused here with a clear error).
"""

from __future__ import annotations

import inspect

import numpy as np

from .function import Function, is_grad_enabled, no_grad, saved_entry

_STYLE_CACHE: dict[type, bool] = {}


def is_torch_style(cls: type) -> bool:
    """True if ``cls.forward`` is a staticmethod (torch's ``forward(ctx, ...)`` protocol)."""
    if cls not in _STYLE_CACHE:
        _STYLE_CACHE[cls] = isinstance(inspect.getattr_static(cls, "forward"), staticmethod)
    return _STYLE_CACHE[cls]


class BackwardContext(Function):
    """``ctx`` of a torch-style Function, and its node in the graph."""

    fn_cls: type

    def __init__(self) -> None:
        super().__init__()
        self._non_differentiable: list = []

    @property
    def saved_tensors(self) -> tuple:
        if self.released:
            raise RuntimeError(
                "Trying to backward through the graph a second time (or directly access saved tensors "
                "after they have already been freed)."
            )
        return self.saved

    def mark_non_differentiable(self, *tensors) -> None:
        self._non_differentiable.extend(tensors)

    def mark_dirty(self, *tensors) -> None:
        raise NotImplementedError(
            "ctx.mark_dirty: in-place custom Functions are not supported by convforge; return a new tensor"
        )

    def set_materialize_grads(self, value: bool) -> None:
        if not value:
            raise NotImplementedError("ctx.set_materialize_grads(False) is not supported by convforge")

    def name(self) -> str:
        return f"{self.fn_cls.__name__}Backward"

    def backward(self, grad_output):
        from .tensor import Tensor

        with no_grad():
            grads = self.fn_cls.backward(self, Tensor(grad_output))
        grads = grads if isinstance(grads, tuple) else (grads,)
        return tuple(
            None if g is None else np.asarray(g._array if isinstance(g, Tensor) else g) for g in grads
        )


_CONTEXTS: dict[type, type] = {}


def _context_class(cls: type) -> type:
    if cls not in _CONTEXTS:
        _CONTEXTS[cls] = type(f"{cls.__name__}Backward", (BackwardContext,), {"fn_cls": cls})
    return _CONTEXTS[cls]


def apply_torch_style(cls: type, *args, **kwargs):
    """Run a torch-style Function and record its node (see the module docstring)."""
    from .tensor import Tensor, as_tensor

    ctx = _context_class(cls)()
    ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
    with no_grad():
        result = cls.forward(ctx, *args, **kwargs)
    if isinstance(result, (tuple, list)):
        raise NotImplementedError(
            f"{cls.__name__}.forward returned {len(result)} outputs; convforge's custom Functions return one Tensor"
        )
    result = result if isinstance(result, Tensor) else as_tensor(result)
    record = is_grad_enabled() and any(ctx.needs_input_grad)
    if not record or any(t is result for t in ctx._non_differentiable):
        return Tensor._from_op(result._array, None)
    ctx.inputs = tuple(a if isinstance(a, Tensor) else None for a in args)
    ctx._edges = tuple(a._grad_edge() if isinstance(a, Tensor) else None for a in args)
    ctx._listed = tuple(isinstance(a, Tensor) for a in args)
    out = Tensor._from_op(result._array, ctx)
    ctx._out_dtype = out.dtype
    ctx._saved_versions = tuple(
        saved_entry(out if t is result else t, is_output=t is result, force=True)
        for t in ctx.saved
        if isinstance(t, Tensor)
    )
    return out
