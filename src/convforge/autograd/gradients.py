"""``autograd.grad`` and ``autograd.backward``: torch's functional entry points to backward.

``grad(outputs, inputs)`` returns d(outputs)/d(inputs) without touching any ``.grad``;
``backward(tensors, grad_tensors)`` accumulates like ``Tensor.backward`` for several roots.
First order only (``create_graph=True`` is refused with a clear error).
"""

from __future__ import annotations

import numpy as np

from .engine import run_graph
from .tensor import Tensor

__all__ = ["backward", "grad"]


def _as_list(value, name: str) -> list:
    items = list(value) if isinstance(value, (list, tuple)) else [value]
    for item in items:
        if not isinstance(item, Tensor):
            raise TypeError(f"{name} must be Tensors, but got {type(item).__name__}")
    return items


def _seeds(op: str, outputs: list, grad_outputs) -> list:
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    grad_outputs = list(grad_outputs) if isinstance(grad_outputs, (list, tuple)) else [grad_outputs]
    if len(grad_outputs) != len(outputs):
        raise RuntimeError(f"{op}: got {len(grad_outputs)} gradients for {len(outputs)} outputs")
    seeds = []
    for i, (out, g) in enumerate(zip(outputs, grad_outputs)):
        if not out.requires_grad:
            raise RuntimeError(f"element {i} of tensors does not require grad and does not have a grad_fn")
        if g is None:
            if out.numel() != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            g = np.ones_like(out.array)
        g = np.asarray(g.array if isinstance(g, Tensor) else g, dtype=out.dtype)
        if g.shape != out.shape:
            raise RuntimeError(
                f"Mismatch in shape: grad_output[{i}] has a shape of {g.shape} and output[{i}] has a shape "
                f"of {out.shape}."
            )
        seeds.append((out._grad_edge(), g))
    return seeds


def grad(
    outputs,
    inputs,
    grad_outputs=None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    allow_unused: bool | None = None,
    materialize_grads: bool = False,
) -> tuple:
    """The gradients of ``outputs`` with respect to each of ``inputs`` (a tuple, as torch).

    An input the outputs do not depend on raises unless ``allow_unused`` (then None, or
    zeros with ``materialize_grads``).
    """
    if create_graph:
        raise NotImplementedError(
            "autograd.grad: create_graph=True (higher order) is not supported by convforge"
        )
    outputs, inputs = _as_list(outputs, "outputs"), _as_list(inputs, "inputs")
    for i, t in enumerate(inputs):
        if not t.requires_grad:
            raise RuntimeError(f"One of the differentiated Tensors (index {i}) does not require grad")
    edges = [t._grad_edge() for t in inputs]
    capture = {id(edge): None for edge in edges}
    run_graph(_seeds("grad", outputs, grad_outputs), bool(retain_graph), capture)
    results = []
    for i, (t, edge) in enumerate(zip(inputs, edges)):
        found = capture[id(edge)]
        if found is None:
            if not (allow_unused or materialize_grads):
                raise RuntimeError(
                    f"The differentiated Tensor at index {i} appears to not have been used in the graph. "
                    "Set allow_unused=True if this is the desired behavior."
                )
            results.append(Tensor(np.zeros(t.shape, t.dtype)) if materialize_grads else None)
        else:
            results.append(Tensor(np.array(np.broadcast_to(found, t.shape), dtype=t.dtype)))
    return tuple(results)


def backward(
    tensors, grad_tensors=None, retain_graph: bool | None = None, create_graph: bool = False
) -> None:
    """``Tensor.backward`` for several roots at once: their gradients add up in the leaves."""
    if create_graph:
        raise NotImplementedError("autograd.backward: create_graph=True is not supported by convforge")
    outputs = _as_list(tensors, "tensors")
    run_graph(_seeds("backward", outputs, grad_tensors), bool(retain_graph))
