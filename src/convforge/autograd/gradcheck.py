"""Finite-difference gradient checking, as ``torch.autograd.gradcheck``."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from .tensor import Tensor


class GradcheckError(AssertionError):
    """Raised by :func:`gradcheck` when analytic and numerical gradients disagree."""


def _output_tensors(result) -> list[Tensor]:
    items = result if isinstance(result, (tuple, list)) else (result,)
    return [t for t in items if isinstance(t, Tensor) and t.requires_grad]


def numerical_jacobian(fn: Callable, inputs: Sequence, wrt: int, eps: float) -> np.ndarray:
    """d(flattened outputs)/d(inputs[wrt]) by central differences, shape (n_out, n_in)."""
    x = inputs[wrt].array
    columns = []
    for i in range(x.size):
        flat = x.reshape(-1)
        original = flat[i]
        flat[i] = original + eps
        plus = np.concatenate([t.array.ravel() for t in _output_tensors(fn(*inputs))])
        flat[i] = original - eps
        minus = np.concatenate([t.array.ravel() for t in _output_tensors(fn(*inputs))])
        flat[i] = original
        columns.append((plus - minus) / (2 * eps))
    return np.stack(columns, axis=1) if columns else np.zeros((0, 0))


def analytic_jacobian(fn: Callable, inputs: Sequence, wrt: int) -> np.ndarray:
    """The same Jacobian from ``backward``, one output element at a time."""
    outputs = _output_tensors(fn(*inputs))
    n_out = sum(t.array.size for t in outputs)
    rows = []
    for k in range(n_out):
        for t in inputs:
            if isinstance(t, Tensor):
                t.grad = None
        outputs = _output_tensors(fn(*inputs))
        offset = 0
        total = None
        for out in outputs:
            seed = np.zeros(out.array.size, dtype=out.dtype)
            if offset <= k < offset + out.array.size:
                seed[k - offset] = 1
            offset += out.array.size
            term = (out * Tensor(seed.reshape(out.shape))).sum()
            total = term if total is None else total + term
        total.backward()
        grad = inputs[wrt].grad
        rows.append(np.zeros(inputs[wrt].array.size) if grad is None else grad.array.ravel().copy())
    return np.stack(rows, axis=0) if rows else np.zeros((0, 0))


def gradcheck(
    fn: Callable,
    inputs: Sequence,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
) -> bool:
    """Compare ``backward`` with central finite differences for every input requiring grad.

    Parameters
    ----------
    fn : callable
        Takes ``*inputs`` and returns a Tensor or a tuple of Tensors.
    inputs : sequence
        Arguments of ``fn``; Tensors with ``requires_grad=True`` are checked. Use float64.
    eps, atol, rtol : float
        Perturbation and tolerances: ``|analytic - numerical| <= atol + rtol*|numerical|``.

    Returns
    -------
    bool
        True if all gradients agree; otherwise raises :class:`GradcheckError`
        (or returns False with ``raise_exception=False``).
    """
    inputs = tuple(inputs)
    checked = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input has requires_grad=True")
    for i in checked:
        if inputs[i].dtype != np.float64:
            raise TypeError(
                f"gradcheck: input {i} has dtype {inputs[i].dtype}; finite differences need float64"
            )
    for i in checked:
        numerical = numerical_jacobian(fn, inputs, i, eps)
        analytic = analytic_jacobian(fn, inputs, i)
        if not np.allclose(analytic, numerical, atol=atol, rtol=rtol):
            worst = np.unravel_index(np.argmax(np.abs(analytic - numerical)), analytic.shape)
            message = (
                f"gradcheck: Jacobian mismatch for input {i}: at (output, input) index {worst} "
                f"analytic {analytic[worst]:.6g} vs numerical {numerical[worst]:.6g}; "
                f"max abs difference {np.max(np.abs(analytic - numerical)):.3g}"
            )
            if raise_exception:
                raise GradcheckError(message)
            return False
    return True
