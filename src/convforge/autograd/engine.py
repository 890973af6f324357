"""Backward: walk the graph of nodes once, in reverse topological order.

The sort is iterative, so deep networks do not hit Python's recursion limit. Gradients
reaching an :class:`~convforge.autograd.function.AccumulateGrad` are added (``+=``) to its
leaf's ``.grad``; tensor hooks run on the gradient of their tensor before it is used; what
the nodes saved is freed afterwards unless ``retain_graph=True``.
"""

from __future__ import annotations

import numpy as np

from .function import AccumulateGrad, Function, Node


def run_backward(root, gradient: np.ndarray, retain_graph: bool) -> None:
    """Propagate ``gradient`` (d loss / d root, root's shape) from ``root`` to the leaves."""
    run_graph([(root._grad_edge(), gradient)], retain_graph)


def run_graph(seeds: list, retain_graph: bool, capture: dict | None = None) -> None:
    """Propagate the gradients ``seeds`` [(node, gradient), ...] through the graph.

    Without ``capture`` the gradients reaching leaves accumulate into their ``.grad``. With
    it (``autograd.grad``), the gradient reaching each node named in ``capture`` (by id) is
    stored there instead, and no ``.grad`` changes.
    """
    grads: dict[int, np.ndarray] = {}
    for node, gradient in seeds:
        grads[id(node)] = grads[id(node)] + gradient if id(node) in grads else gradient
    for node in _reverse_topological([node for node, _ in seeds]):
        grad = grads.pop(id(node), None)
        if grad is None:
            continue
        grad = _run_hooks(node._pre_hooks, grad)
        if capture is not None and id(node) in capture:
            capture[id(node)] = grad
        if isinstance(node, AccumulateGrad):
            if capture is None:
                node.variable._accumulate(grad)
            continue
        retained = node._retain_for() if node._retain_for is not None else None
        if capture is None and retained is not None and retained.grad_fn is node:
            retained._accumulate(grad)
        _propagate(node, grad, grads)
        if not retain_graph:
            node.release()


def _propagate(node: Function, grad: np.ndarray, grads: dict) -> None:
    """Run one node's backward and add what it returns to the gradients of its edges."""
    if node.released:
        raise RuntimeError(
            "Trying to backward through the graph a second time (or directly access saved "
            "tensors after they have already been freed). Specify retain_graph=True if you "
            "need to backward through the graph a second time."
        )
    node._check_versions()
    input_grads = node.backward(grad)
    if not isinstance(input_grads, tuple):
        input_grads = (input_grads,)
    for edge, edge_grad in zip(node._edges, input_grads):
        if edge is None or edge_grad is None:
            continue
        edge_grad = np.asarray(edge_grad, dtype=_dtype_of(edge))
        if id(edge) in grads:
            grads[id(edge)] = grads[id(edge)] + edge_grad
        else:
            grads[id(edge)] = edge_grad


def _dtype_of(node: Node):
    return node.variable.dtype if isinstance(node, AccumulateGrad) else node._out_dtype


def _run_hooks(hooks: list, grad: np.ndarray) -> np.ndarray:
    """Tensor hooks take and may replace the gradient (a Tensor), as torch's."""
    if not hooks:
        return grad
    from .tensor import Tensor

    for hook in hooks:
        result = hook(Tensor(grad))
        if result is not None:
            grad = result._array if isinstance(result, Tensor) else np.asarray(result)
    return grad


def _reverse_topological(roots: list[Node]) -> list[Node]:
    """Nodes reachable from ``roots`` through their edges, each after all its consumers."""
    order: list[Node] = []
    visited: set[int] = set()
    stack: list[tuple[Node, bool]] = [(root, False) for root in reversed(roots)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in visited:
            continue
        visited.add(id(node))
        stack.append((node, True))
        if isinstance(node, Function):
            for edge in node._edges:
                if edge is not None and id(edge) not in visited:
                    stack.append((edge, False))
    order.reverse()
    return order
