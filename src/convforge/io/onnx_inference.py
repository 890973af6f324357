"""Inference without autograd: ONNX steps that write into their input's buffer instead of a new one.

When an imported model runs in eval mode with gradients off, no graph keeps intermediate
values, so a Relu, a BatchNormalization or an Add whose input is used by nothing else may
overwrite that input: the allocation and one pass over the memory are saved (these elementwise
steps were a quarter of ResNet-50's time). :func:`plan` marks such steps once, at import:

* the input must be a value a previous step made in a buffer of its own (a convolution, a
  pool, an elementwise result; never a graph input, a constant or a view like Reshape's), and
* it must have exactly one consumer (this step) and not be a graph output.

The in-place kernels compute what the Functions compute (BatchNormalization as one scale and
shift per channel); :class:`convforge.io.onnx_import.OnnxModel` uses them only when no forward
hook could see the overwritten value.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from .onnx_ops import as_array

# steps whose output is a buffer of their own (or, run in place, the input buffer they owned)
OWN_BUFFER = frozenset(
    {"Conv", "ConvTranspose", "BatchNormalization", "Gemm", "MatMul", "Add", "Sum", "Sub", "Mul", "Div"}
    | {"Relu", "Concat", "MaxPool", "AveragePool", "GlobalAveragePool", "LeakyRelu", "Sigmoid", "Tanh"}
)


def _relu(step, args):
    x = args[0]
    np.maximum(x.array, 0, out=x.array)
    return x


def _add(step, args):
    x = args[0]
    for other in args[1:]:
        b = as_array(other)
        if b.dtype != x.dtype or np.broadcast_shapes(x.shape, b.shape) != x.shape:
            return None  # the sum would not fit the buffer: run the Function
    for other in args[1:]:
        np.add(x.array, as_array(other), out=x.array)
    return x


def _batch_norm(step, args):
    """``x * scale + shift`` per channel, ``scale = weight / sqrt(var + eps)``."""
    x, norm = args[0], step.call.module
    scale = norm.weight.array / np.sqrt(norm.running_var.array + norm.eps)  # (C,)
    shift = norm.bias.array - norm.running_mean.array * scale
    shape = (1, -1) + (1,) * (x.ndim - 2)
    x.array *= scale.astype(x.dtype, copy=False).reshape(shape)
    x.array += shift.astype(x.dtype, copy=False).reshape(shape)
    return x


KERNELS = {"Relu": _relu, "Add": _add, "Sum": _add, "BatchNormalization": _batch_norm}


def plan(steps, output_names) -> None:
    """Set ``step.inplace`` to the in-place kernel of every step that may overwrite its input."""
    consumers = Counter(ref for step in steps for kind, ref in step.inputs if kind == "env")
    consumers.update(output_names)
    owned: set[str] = set()
    for step in steps:
        kind, first = step.inputs[0] if step.inputs else ("none", None)
        exclusive = kind == "env" and first in owned and consumers[first] == 1
        step.inplace = KERNELS.get(step.op_type) if exclusive else None
        if step.op_type in OWN_BUFFER:
            owned.add(step.output)


def hooked(model) -> bool:
    """True if a forward hook on any module could see a value an in-place step overwrites."""
    return any(
        getattr(m, "_forward_hooks", None) or getattr(m, "_forward_pre_hooks", None) for m in model.modules()
    )
