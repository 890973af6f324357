"""``torch.nn.utils``: gradient clipping and flattening parameters to one vector.

All of them work on the Tensors' arrays in place, as torch does under ``no_grad``:
``clip_grad_norm_`` scales every ``.grad`` by ``min(1, max_norm / (total_norm + 1e-6))``,
where ``total_norm`` is the ``norm_type``-norm of all the gradients taken together.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable

import numpy as np

from ..autograd.tensor import Tensor

__all__ = ["clip_grad_norm_", "clip_grad_value_", "parameters_to_vector", "vector_to_parameters"]


def _tensors(op: str, parameters) -> list[Tensor]:
    items = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    for item in items:
        if not isinstance(item, Tensor):
            raise TypeError(
                f"{op}: parameters must be Tensors, but got an item of type {type(item).__name__}"
            )
    return items


def _norm_type(op: str, norm_type) -> float:
    if isinstance(norm_type, str) and norm_type == "inf":
        return math.inf
    if not isinstance(norm_type, numbers.Real) or isinstance(norm_type, bool) or norm_type <= 0:
        raise ValueError(
            f"{op}: norm_type must be a positive number or 'inf', but got norm_type={norm_type!r}"
        )
    return float(norm_type)


def _total_norm(grads: list[np.ndarray], p: float) -> float:
    if not grads:
        return 0.0
    if math.isinf(p):
        return float(max(np.abs(g).max(initial=0.0) for g in grads))
    per_tensor = [float(np.linalg.norm(g.ravel().astype(np.float64), ord=p)) for g in grads]
    return float(np.linalg.norm(np.array(per_tensor), ord=p))


def clip_grad_norm_(
    parameters: Tensor | Iterable[Tensor],
    max_norm: float,
    norm_type: float | str = 2.0,
    error_if_nonfinite: bool = False,
    foreach: bool | None = None,
) -> Tensor:
    """Scale the gradients so their joint ``norm_type``-norm is at most ``max_norm``.

    Returns the total norm before clipping (a 0-d float32 Tensor). Parameters without a
    gradient are skipped. ``foreach`` is accepted for torch compatibility (no effect).
    """
    op = "clip_grad_norm_"
    p = _norm_type(op, norm_type)
    grads = [t.grad.array for t in _tensors(op, parameters) if t.grad is not None]
    total = _total_norm(grads, p)
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(
            f"{op}: the total norm of order {p} for gradients from `parameters` is non-finite, so it "
            "cannot be clipped. To disable this error and scale the gradients by the non-finite norm "
            "anyway, set `error_if_nonfinite=False`"
        )
    scale = min(1.0, float(max_norm) / (total + 1e-6))
    if scale < 1.0 or not math.isfinite(total):
        for g in grads:
            g *= g.dtype.type(scale)
    return Tensor(np.array(total, dtype=np.float32))


def clip_grad_value_(
    parameters: Tensor | Iterable[Tensor], clip_value: float, foreach: bool | None = None
) -> None:
    """Clip every gradient element to ``[-clip_value, clip_value]`` in place."""
    if not isinstance(clip_value, numbers.Real) or isinstance(clip_value, bool):
        raise TypeError(f"clip_grad_value_: clip_value must be a number, but got clip_value={clip_value!r}")
    for t in _tensors("clip_grad_value_", parameters):
        if t.grad is not None:
            np.clip(t.grad.array, -clip_value, clip_value, out=t.grad.array)


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """All parameters flattened and joined into one 1-D Tensor (differentiable, as torch).

    Shape: ``(sum of numel,)``.
    """
    from ..autograd.routines import cat

    return cat([t.reshape(-1) for t in _tensors("parameters_to_vector", parameters)])


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Copy consecutive slices of the 1-D ``vec`` into the parameters, in order, in place."""
    op = "vector_to_parameters"
    if not isinstance(vec, Tensor):
        raise TypeError(f"{op}: expected vec to be a Tensor, but got {type(vec).__name__}")
    if vec.ndim != 1:
        raise ValueError(f"{op}: vec must be 1-D, but got vec of shape {tuple(vec.shape)}")
    targets = _tensors(op, parameters)
    needed = sum(t.array.size for t in targets)
    if needed != vec.array.size:
        raise ValueError(f"{op}: vec has {vec.array.size} elements but the parameters hold {needed}")
    offset = 0
    for t in targets:
        size = t.array.size
        t.array[...] = vec.array[offset : offset + size].reshape(t.array.shape)
        offset += size
