"""Inference of a trained model over a Dask array of samples, chunk by chunk along the batch."""

from __future__ import annotations

import numbers

import dask
import dask.array as da
import numpy as np

from ..autograd import no_grad
from ..autograd.tensor import Tensor
from ..nn import Module
from .conv import check_dask_array


def _predict_block(block: np.ndarray, model: Module) -> np.ndarray:
    with no_grad():
        return model(Tensor(block)).array


def _check_batch_size(op: str, batch_size) -> None:
    if batch_size is None:
        return
    if not isinstance(batch_size, numbers.Integral) or isinstance(batch_size, bool):
        raise TypeError(f"{op}: batch_size must be a positive int or None, but got batch_size={batch_size!r}")
    if batch_size < 1:
        raise ValueError(f"{op}: batch_size must be positive, but got batch_size={batch_size}")


def predict(model: Module, x: da.Array, batch_size: int | None = None) -> da.Array:
    """Run ``model`` (in eval mode, without gradients) over the samples of ``x``.

    ``x`` holds one sample per index of its first axis; every other axis is rechunked
    whole, so each task runs the model on one batch of whole samples. ``batch_size``
    rechunks the batch axis (None keeps the input's batch chunks). The model is put in
    eval mode (BatchNorm running statistics, no Dropout) and shipped with the graph.

    Shape: x (N, *sample); output (N, *out) with ``out`` what the model gives one sample
    (found by running it once on a zero sample while building the graph).
    """
    op = "dask.predict"
    if not isinstance(model, Module):
        raise TypeError(
            f"{op}: model must be a convforge.nn.Module, but got model of type {type(model).__name__}"
        )
    x = check_dask_array(op, "x", x)
    if x.ndim < 2:
        raise ValueError(
            f"{op}: x must have a batch axis and at least one sample axis (N, *sample), "
            f"but got x of shape {x.shape}"
        )
    _check_batch_size(op, batch_size)
    model.eval()
    probe = _predict_block(np.zeros((1, *x.shape[1:]), dtype=x.dtype), model)  # (1, *out)

    # ---- graph building from here on
    x = x.rechunk({0: batch_size or x.chunks[0], **dict.fromkeys(range(1, x.ndim), -1)})
    in_index = ("n", *(f"in{axis}" for axis in range(1, x.ndim)))
    out_index = ("n", *(f"out{axis}" for axis in range(1, probe.ndim)))
    return da.blockwise(
        _predict_block,
        out_index,
        x,
        in_index,
        dask.delayed(model, pure=False),
        None,
        new_axes={f"out{axis}": probe.shape[axis] for axis in range(1, probe.ndim)},
        concatenate=True,
        dtype=probe.dtype,
        meta=np.empty((0,) * probe.ndim, dtype=probe.dtype),
        token="convforge-predict",
    )
