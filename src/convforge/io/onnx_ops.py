"""The ONNX operators :func:`convforge.io.load_onnx` runs, on convforge Tensors.

Each operator is an :class:`Op`: the attributes it accepts (anything else is refused at
import, naming the node), how many inputs it takes, which of its inputs are weights (a
constant there becomes a trainable Parameter) and either

* ``run(inputs, attrs, opset)``: a function of the runtime values, or
* ``build(attrs, constants, opset)``: a convforge layer (Conv2d, MaxPool2d, Linear,
  BatchNorm ...) built once at import, so that the imported model's layers are the layers
  convforge's tools (summary, receptive fields, feature maps) know; the layer is then
  called by :func:`convforge.io.onnx_layers.call_layer`.

Runtime values are Tensors for data and int64 ndarrays for shape arithmetic (Shape,
Gather, Concat, Unsqueeze ... of shapes run in NumPy). Elu, HardSwish and LRN call
``F.elu``, ``F.hardswish`` and ``F.local_response_norm``; HardSigmoid (ONNX's has free alpha
and beta) is composed here, and so is Resize (in :mod:`.onnx_layers`: ONNX's coordinate
modes and rounding rules go beyond ``F.interpolate``'s), from Tensor ops autograd
differentiates.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .. import functional as F
from ..autograd import Tensor
from ..autograd.routines import cat, where


@dataclass(frozen=True)
class Op:
    attributes: frozenset[str]
    run: Callable | None = None
    build: Callable | None = None
    weights: tuple[int, ...] = ()  # inputs whose constant values become Parameters
    buffers: tuple[int, ...] = ()  # inputs whose constant values become (non-trainable) buffers
    outputs: int = 1  # outputs that may be consumed


def is_data(value) -> bool:
    return isinstance(value, Tensor)


def is_float(value) -> bool:
    return is_data(value) and value.dtype.kind in "fc"


def as_tensor(value) -> Tensor:
    return value if isinstance(value, Tensor) else Tensor(np.asarray(value))


def as_array(value) -> np.ndarray:
    return value.array if isinstance(value, Tensor) else np.asarray(value)


def ints(value) -> list[int]:
    return [int(v) for v in np.asarray(as_array(value)).reshape(-1)]


def _axis(axis: int, ndim: int) -> int:
    return axis + ndim if axis < 0 else axis


# --------------------------------------------------------------------------------------
# elementwise
# --------------------------------------------------------------------------------------
def _binary(numpy_op, tensor_op):
    def run(inputs, attrs, opset):
        a, b = inputs
        if not is_float(a) and not is_float(b):  # integers (shape arithmetic) keep ONNX's integer rules
            return numpy_op(as_array(a), as_array(b))
        return tensor_op(as_tensor(a), b if is_data(b) else as_tensor(b).astype(as_tensor(a).dtype))

    return run


def _div_arrays(a, b):
    """ONNX's Div: integers divide truncating toward zero (as C), floats as floats."""
    if a.dtype.kind in "iu" and b.dtype.kind in "iu":
        quotient = np.floor_divide(a, b)
        inexact = (np.remainder(a, b) != 0) & ((a < 0) != (b < 0))
        return (quotient + inexact).astype(np.result_type(a, b))
    return a / b


def _run_sum(inputs, attrs, opset):
    total = inputs[0]
    for item in inputs[1:]:
        total = total + item
    return total


def _run_clip(inputs, attrs, opset):
    x = inputs[0]
    if opset < 11:
        low, high = attrs.get("min", -np.inf), attrs.get("max", np.inf)
    else:
        low = float(as_array(inputs[1])) if len(inputs) > 1 and inputs[1] is not None else None
        high = float(as_array(inputs[2])) if len(inputs) > 2 and inputs[2] is not None else None
    low = None if low is None or low == -np.inf else low
    high = None if high is None or high == np.inf else high
    if not is_data(x):  # integers: NumPy keeps the dtype
        return np.clip(np.asarray(x), low, high).astype(np.asarray(x).dtype)
    return x.clamp(low, high) if low is not None or high is not None else x


def _run_elu(inputs, attrs, opset):
    return F.elu(inputs[0], attrs.get("alpha", 1.0))


def _hard_sigmoid(x: Tensor, alpha: float, beta: float) -> Tensor:
    return (x * alpha + beta).clamp(0.0, 1.0)


def _run_hard_sigmoid(inputs, attrs, opset):
    return _hard_sigmoid(inputs[0], attrs.get("alpha", 0.2), attrs.get("beta", 0.5))


def _run_hard_swish(inputs, attrs, opset):
    return F.hardswish(inputs[0])


def _softmax_like(softmax):
    """Softmax and LogSoftmax's run: ``softmax`` over ``axis``, from opset 13 on; before it,
    over the input coerced to 2-D (``axis`` splits the dimensions into rows and columns)."""

    def run(inputs, attrs, opset):
        x = inputs[0]
        axis = _axis(attrs.get("axis", 1 if opset < 13 else -1), x.ndim)
        if opset >= 13:
            return softmax(x, dim=axis)
        rows = int(np.prod(x.shape[:axis], dtype=np.int64))
        return softmax(x.reshape(rows, -1), dim=1).reshape(*x.shape)

    return run


_run_softmax = _softmax_like(F.softmax)
_run_log_softmax = _softmax_like(F.log_softmax)


def _run_lrn(inputs, attrs, opset):
    """``y = x / (bias + alpha/size * sum of x^2 over size neighbouring channels)^beta``: torch's LRN."""
    alpha, beta, bias = attrs.get("alpha", 1e-4), attrs.get("beta", 0.75), attrs.get("bias", 1.0)
    return F.local_response_norm(inputs[0], int(attrs["size"]), alpha, beta, bias)


# --------------------------------------------------------------------------------------
# shapes
# --------------------------------------------------------------------------------------
def _run_shape(inputs, attrs, opset):
    shape = np.array(inputs[0].shape, dtype=np.int64)
    start, end = attrs.get("start", 0), attrs.get("end", None)
    return shape[start:end]


def _run_constant_of_shape(inputs, attrs, opset):
    value = attrs.get("value", np.zeros(1, dtype=np.float32))
    filled = np.full(ints(inputs[0]), value.reshape(-1)[0], dtype=value.dtype)
    return Tensor(filled) if filled.dtype.kind == "f" else filled


def _run_gather(inputs, attrs, opset):
    data, indices = inputs
    index = as_array(indices).astype(np.int64)
    axis = _axis(attrs.get("axis", 0), len(data.shape))
    index = np.where(index < 0, index + data.shape[axis], index)
    if not is_data(data):
        return np.take(np.asarray(data), index, axis=axis)
    return data[(slice(None),) * axis + (index,)]


def _axes(inputs, attrs, opset, since: int):
    if opset >= since:
        return ints(inputs[1]) if len(inputs) > 1 and inputs[1] is not None else None
    return attrs.get("axes")


def _run_unsqueeze(inputs, attrs, opset):
    x, axes = inputs[0], _axes(inputs, attrs, opset, 13)
    rank = len(x.shape) + len(axes)
    shape = list(x.shape)
    for axis in sorted(_axis(a, rank) for a in axes):
        shape.insert(axis, 1)
    return x.reshape(*shape) if is_data(x) else np.asarray(x).reshape(shape)


def _run_squeeze(inputs, attrs, opset):
    x, axes = inputs[0], _axes(inputs, attrs, opset, 13)
    drop = (
        {i for i, n in enumerate(x.shape) if n == 1}
        if axes is None
        else {_axis(a, len(x.shape)) for a in axes}
    )
    shape = [n for i, n in enumerate(x.shape) if i not in drop]
    return x.reshape(*shape) if is_data(x) else np.asarray(x).reshape(shape)


def _run_reshape(inputs, attrs, opset):
    x, target = inputs[0], ints(inputs[1])
    if not attrs.get("allowzero", 0):  # 0 copies the input's dimension
        target = [x.shape[i] if n == 0 else n for i, n in enumerate(target)]
    return x.reshape(*target) if is_data(x) else np.asarray(x).reshape(target)


def _run_flatten(inputs, attrs, opset):
    x = inputs[0]
    axis = _axis(attrs.get("axis", 1), len(x.shape))
    rows = int(np.prod(x.shape[:axis], dtype=np.int64))
    return x.reshape(rows, -1) if is_data(x) else np.asarray(x).reshape(rows, -1)


def _run_transpose(inputs, attrs, opset):
    x = inputs[0]
    perm = attrs.get("perm") or list(reversed(range(len(x.shape))))
    return x.permute(*perm) if is_data(x) else np.transpose(np.asarray(x), perm)


def _run_concat(inputs, attrs, opset):
    given = [item for item in inputs if item is not None]
    parts = [item for item in given if np.prod(item.shape) > 0] or given[:1]  # empty inputs add nothing
    axis = _axis(attrs["axis"], len(parts[0].shape))
    if not any(is_data(p) for p in parts):
        return np.concatenate([np.asarray(p) for p in parts], axis=axis)
    dtype = next(p.dtype for p in parts if is_data(p))
    return cat([p if is_data(p) else Tensor(np.asarray(p, dtype=dtype)) for p in parts], dim=axis)


def _run_slice(inputs, attrs, opset):
    x = inputs[0]
    if opset < 10:
        starts, ends, axes, steps = attrs["starts"], attrs["ends"], attrs.get("axes"), None
    else:
        starts, ends = ints(inputs[1]), ints(inputs[2])
        axes = ints(inputs[3]) if len(inputs) > 3 and inputs[3] is not None else None
        steps = ints(inputs[4]) if len(inputs) > 4 and inputs[4] is not None else None
    axes = list(range(len(starts))) if axes is None else axes
    steps = [1] * len(starts) if steps is None else steps
    index = [slice(None)] * len(x.shape)
    for start, end, axis, step in zip(starts, ends, axes, steps):
        size = x.shape[_axis(axis, len(x.shape))]
        start, end = max(min(start, size), -size - 1), max(min(end, size), -size - 1)
        index[_axis(axis, len(x.shape))] = slice(start, None if step < 0 and end < -size else end, step)
    return x[tuple(index)] if is_data(x) else np.asarray(x)[tuple(index)]


def _run_cast(inputs, attrs, opset):
    from onnx import helper

    dtype = np.dtype(helper.tensor_dtype_to_np_dtype(attrs["to"]))
    x = inputs[0]
    if dtype.kind == "f":
        return as_tensor(x).astype(dtype)
    return as_array(x).astype(dtype)


def _run_pad(inputs, attrs, opset):
    x, mode = inputs[0], attrs.get("mode", "constant")
    if isinstance(mode, bytes):
        mode = mode.decode()
    if opset < 11:
        pads, value = attrs["pads"], attrs.get("value", 0.0)
    else:
        pads = ints(inputs[1])
        value = (
            float(as_array(inputs[2]).reshape(-1)[0]) if len(inputs) > 2 and inputs[2] is not None else 0.0
        )
    rank = len(x.shape)
    axes = list(range(rank))
    if len(inputs) > 3 and inputs[3] is not None:
        axes = [_axis(a, rank) for a in ints(inputs[3])]
    pairs = {axis: (pads[i], pads[i + len(axes)]) for i, axis in enumerate(axes)}
    torch_order = []
    for axis in reversed(range(rank)):
        torch_order += list(pairs.get(axis, (0, 0)))
    modes = {"constant": "constant", "reflect": "reflect", "edge": "replicate", "wrap": "circular"}
    if any(p < 0 for p in torch_order):  # negative pads crop
        crop = tuple(
            slice(max(-lo, 0), n - max(-hi, 0))
            for n, (lo, hi) in zip(x.shape, (pairs.get(a, (0, 0)) for a in range(rank)))
        )
        x = x[crop]
        torch_order = [max(p, 0) for p in torch_order]
    return F.pad(x, tuple(torch_order), mode=modes[mode], value=value if mode == "constant" else None)


def _run_identity(inputs, attrs, opset):
    return inputs[0]


def _run_matmul(inputs, attrs, opset):
    return as_tensor(inputs[0]) @ as_tensor(inputs[1])


def _run_gemm(inputs, attrs, opset):
    a, b = as_tensor(inputs[0]), as_tensor(inputs[1])
    a = a.T if attrs.get("transA", 0) else a
    b = b.T if attrs.get("transB", 0) else b
    y = (a @ b) * attrs.get("alpha", 1.0)
    if len(inputs) > 2 and inputs[2] is not None:
        y = y + as_tensor(inputs[2]) * attrs.get("beta", 1.0)
    return y


def _variadic(pick, numpy_pick):
    def run(inputs, attrs, opset):
        if not any(is_float(item) for item in inputs):
            return numpy_pick.reduce([as_array(item) for item in inputs])
        result = as_tensor(inputs[0])
        for item in inputs[1:]:
            result = pick(result, as_tensor(item))
        return result

    return run


def _run_reduce(method, since: int, numpy_method=None):
    """A Reduce* op; integer and boolean arrays reduce in NumPy (``numpy_method``)."""

    def run(inputs, attrs, opset):
        x = inputs[0]
        axes = _axes(inputs, attrs, opset, since)
        if not axes:  # absent or empty: all axes, unless noop_with_empty_axes
            if attrs.get("noop_with_empty_axes", 0):
                return x
            axes = None
        axes = tuple(range(np.ndim(x))) if axes is None else tuple(_axis(a, np.ndim(x)) for a in axes)
        keep = bool(attrs.get("keepdims", 1))
        if not is_data(x) and numpy_method is not None:
            return numpy_method(np.asarray(x), axis=axes, keepdims=keep)
        return method(as_tensor(x), axes, keep)

    return run


def _run_prelu(inputs, attrs, opset):
    x, slope = inputs[0], as_tensor(inputs[1])
    if slope.ndim == 1 and x.ndim > 2 and slope.shape[0] == x.shape[1] != x.shape[-1]:
        slope = slope.reshape(-1, *(1,) * (x.ndim - 2))  # one slope per channel, as torch's PReLU
    return where(x > 0, x, x * slope)


def _run_expand(inputs, attrs, opset):
    x, shape = inputs[0], ints(inputs[1])
    target = np.broadcast_shapes(tuple(x.shape), tuple(shape))
    return as_tensor(x).expand(*target) if is_data(x) else np.broadcast_to(np.asarray(x), target).copy()


def _run_pow(inputs, attrs, opset):
    base, exponent = inputs
    if not is_data(base) and not is_data(exponent):
        return np.power(np.asarray(base), np.asarray(exponent))
    return as_tensor(base) ** (
        exponent
        if is_data(exponent)
        else float(np.asarray(exponent))
        if np.ndim(exponent) == 0
        else as_tensor(exponent)
    )
