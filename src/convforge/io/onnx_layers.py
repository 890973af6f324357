"""ONNX nodes that become convforge layers (Conv, ConvTranspose, pools, Gemm, BatchNormalization), and Resize.

An imported Conv is a ``cf.nn.Conv2d`` (1-D, 3-D alike) holding the node's weights as its
Parameters, so summaries, receptive fields and feature maps see the layer they know.
ONNX's padding is more general than a layer's: ``pads`` may differ at the two ends of a
dimension and ``auto_pad='SAME_UPPER'|'SAME_LOWER'`` depends on the input size. A
:class:`Layer` keeps that rule and, per call, either sets the layer's (symmetric) padding or
pads the input explicitly first (``-inf`` for max pooling; for average pooling that excludes
the padding, the window sums are divided by the window sums of ones).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import functional as F
from .. import nn
from ..autograd import Tensor
from .onnx_ops import as_array, as_tensor, ints

CONV = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}
CONV_TRANSPOSE = {1: nn.ConvTranspose1d, 2: nn.ConvTranspose2d, 3: nn.ConvTranspose3d}
MAX_POOL = {1: nn.MaxPool1d, 2: nn.MaxPool2d, 3: nn.MaxPool3d}
AVG_POOL = {1: nn.AvgPool1d, 2: nn.AvgPool2d, 3: nn.AvgPool3d}
GLOBAL_AVG = {1: nn.AdaptiveAvgPool1d, 2: nn.AdaptiveAvgPool2d, 3: nn.AdaptiveAvgPool3d}
GLOBAL_MAX = {1: nn.AdaptiveMaxPool1d, 2: nn.AdaptiveMaxPool2d, 3: nn.AdaptiveMaxPool3d}


class BatchNormalization(nn.BatchNorm2d):
    """ONNX's BatchNormalization: a BatchNorm over axis 1 of an input of any rank from 2 to 5."""

    _input_ndims = (2, 3, 4, 5)


class UnsupportedNode(ValueError):
    """A node convforge cannot run (raised at import, before any compute)."""


def _decode(value):
    return value.decode() if isinstance(value, bytes) else value


def _torch_order(pairs) -> tuple[int, ...]:
    flat: list[int] = []
    for lo, hi in reversed(pairs):
        flat += [lo, hi]
    return tuple(flat)


@dataclass
class Padding:
    """ONNX's padding rule of one node: explicit ``pads`` or ``auto_pad``."""

    auto_pad: str
    pads: list[int] | None
    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    dilation: tuple[int, ...]

    def pairs(self, spatial: tuple[int, ...]) -> list[tuple[int, int]]:
        n = len(self.kernel)
        if self.auto_pad in ("SAME_UPPER", "SAME_LOWER"):
            pairs = []
            for size, k, s, d in zip(spatial, self.kernel, self.stride, self.dilation):
                out = -(-size // s)
                total = max((out - 1) * s + (k - 1) * d + 1 - size, 0)
                small, large = total // 2, total - total // 2
                pairs.append((small, large) if self.auto_pad == "SAME_UPPER" else (large, small))
            return pairs
        if self.auto_pad == "VALID" or not self.pads:
            return [(0, 0)] * n
        return list(zip(self.pads[:n], self.pads[n:]))


def _padding(attrs, kernel, stride, dilation) -> Padding:
    return Padding(_decode(attrs.get("auto_pad", "NOTSET")), attrs.get("pads"), kernel, stride, dilation)


@dataclass
class Layer:
    """A convforge layer plus the ONNX padding it needs per call; ``kind`` picks the call."""

    module: nn.Module
    kind: str  # 'conv', 'max', 'avg', 'plain'
    padding: Padding | None = None
    count_include_pad: bool = True

    def __call__(self, x: Tensor) -> Tensor:
        if self.kind == "max" and x.dtype.kind in "iub":  # pools run on floats: exact for <= 53 bits
            integers = x.array if isinstance(x, Tensor) else np.asarray(x)
            return Tensor(np.asarray(self(Tensor(integers.astype(np.float64))).array).astype(integers.dtype))
        if self.padding is None:
            return self.module(x)
        pairs = self.padding.pairs(tuple(x.shape[2:]))
        symmetric = all(lo == hi for lo, hi in pairs)
        if self.kind == "conv":  # a convolution takes (before, after) pairs itself
            self._set_padding(tuple(lo for lo, _ in pairs) if symmetric else tuple(pairs))
            return self.module(x)
        if symmetric and all(lo <= k // 2 for (lo, _), k in zip(pairs, self.padding.kernel)):
            self._set_padding(tuple(lo for lo, _ in pairs))  # what torch's pools accept
            return self.module(x)
        self._set_padding((0,) * len(pairs))
        if self.kind == "max":
            low = float("-inf") if x.dtype.kind == "f" else np.iinfo(x.dtype).min
            return self.module(F.pad(x, _torch_order(pairs), value=low))
        padded = F.pad(x, _torch_order(pairs))
        if self.count_include_pad:
            return self.module(padded)
        ones = F.pad(Tensor(np.ones((1, 1, *x.shape[2:]), dtype=x.dtype)), _torch_order(pairs))
        return self.module(padded) / self.module(ones).array

    def _set_padding(self, padding: tuple) -> None:
        if self.module.padding != padding:  # Module.__setattr__ is slow; usually nothing changes
            self.module.padding = padding


def _weights(module_param, value: np.ndarray) -> None:
    module_param.array = np.array(value, dtype=np.float32 if value.dtype != np.float64 else np.float64)


def _geometry(attrs, kernel_from_weight):
    kernel = tuple(attrs.get("kernel_shape") or kernel_from_weight)
    n = len(kernel)
    stride = tuple(attrs.get("strides") or (1,) * n)
    dilation = tuple(attrs.get("dilations") or (1,) * n)
    return kernel, stride, dilation


def _conv_node(attrs, constants, layers: dict):
    """What Conv and ConvTranspose read alike: the constant weight (and bias), the window and
    the groups, checked against the rank ``layers`` (a table by rank) provides."""
    weight, bias = constants[1], constants[2] if len(constants) > 2 else None
    if weight is None:
        raise UnsupportedNode("the weight is computed at run time; only constant weights are supported")
    kernel, stride, dilation = _geometry(attrs, weight.shape[2:])
    groups = int(attrs.get("group", 1))
    if kernel != tuple(weight.shape[2:]) or len(kernel) not in layers:
        raise UnsupportedNode(
            f"kernel_shape {kernel} does not match the weight {weight.shape} (1-3 spatial dims)"
        )
    return weight, bias, kernel, stride, dilation, groups


def _load_weight_and_bias(layer, weight, bias) -> None:
    _weights(layer.weight, weight)
    if bias is not None:
        _weights(layer.bias, bias)


def build_conv(attrs, constants, opset) -> Layer:
    weight, bias, kernel, stride, dilation, groups = _conv_node(attrs, constants, CONV)
    layer = CONV[len(kernel)](
        weight.shape[1] * groups, weight.shape[0], kernel, stride, 0, dilation, groups, bias=bias is not None
    )
    _load_weight_and_bias(layer, weight, bias)
    return Layer(layer, "conv", _padding(attrs, kernel, stride, dilation))


class _TransposedPadding:
    """ConvTranspose's crop: run with no padding, then cut ``pads`` off (or as ``output_shape`` asks)."""

    def __init__(self, layer, attrs, kernel, stride, dilation) -> None:
        self.layer, self.kernel, self.stride, self.dilation = layer, kernel, stride, dilation
        n = len(kernel)
        self.output_padding = tuple(attrs.get("output_padding") or (0,) * n)
        self.output_shape = attrs.get("output_shape")
        self.auto_pad = _decode(attrs.get("auto_pad", "NOTSET"))
        self.pads = attrs.get("pads") or [0] * 2 * n

    def __call__(self, x: Tensor) -> Tensor:
        n = len(self.kernel)
        spatial = x.shape[2:]
        full = [
            (i - 1) * s + (k - 1) * d + 1
            for i, k, s, d in zip(spatial, self.kernel, self.stride, self.dilation)
        ]
        if self.output_shape is not None or self.auto_pad in ("SAME_UPPER", "SAME_LOWER"):
            wanted = (
                self.output_shape[-n:]
                if self.output_shape is not None
                else [i * s for i, s in zip(spatial, self.stride)]
            )
            pairs = []
            for f, out, extra in zip(full, wanted, self.output_padding):
                total = f + extra - out
                small, large = total // 2, total - total // 2
                # ONNX: SAME_UPPER puts the odd cell at the end, otherwise at the start
                pairs.append((small, large) if self.auto_pad == "SAME_UPPER" else (large, small))
        else:
            pairs = list(zip(self.pads[:n], self.pads[n:]))
        symmetric = all(lo == hi for lo, hi in pairs)
        if symmetric and all(
            e < max(s, d) for e, s, d in zip(self.output_padding, self.stride, self.dilation)
        ):
            self.layer.padding = tuple(lo for lo, _ in pairs)  # the layer's own arithmetic, as torch's
            self.layer.output_padding = self.output_padding
            return self.layer(x)
        self.layer.padding, self.layer.output_padding = (0,) * n, (0,) * n
        y = self.layer(x)  # (N, C_out, *full)
        sizes = [f - lo - hi + extra for f, (lo, hi), extra in zip(full, pairs, self.output_padding)]
        before = [max(-lo, 0) for lo, _ in pairs]  # negative pads and output_padding past the end
        after = [max(lo + size - f, 0) for f, (lo, _), size in zip(full, pairs, sizes)]
        if any(before) or any(after):  # grow: the cells no input reaches hold the bias alone
            y = self._grow(y, before, after)
            pairs = [(lo + b, hi) for (lo, hi), b in zip(pairs, before)]
        return y[(slice(None), slice(None), *(slice(lo, lo + size) for (lo, _), size in zip(pairs, sizes)))]

    def _grow(self, y: Tensor, before, after) -> Tensor:
        bias = getattr(self.layer, "bias", None)
        shape = (1, -1) + (1,) * len(before)
        flat = [amount for b, a in zip(reversed(before), reversed(after)) for amount in (b, a)]
        if bias is None:
            return F.pad(y, tuple(flat))
        return F.pad(y - bias.reshape(*shape), tuple(flat)) + bias.reshape(*shape)


def build_conv_transpose(attrs, constants, opset):
    weight, bias, kernel, stride, dilation, groups = _conv_node(attrs, constants, CONV_TRANSPOSE)
    layer = CONV_TRANSPOSE[len(kernel)](
        weight.shape[0], weight.shape[1] * groups, kernel, stride, 0, 0, groups, bias is not None, dilation
    )
    _load_weight_and_bias(layer, weight, bias)
    return _TransposedLayer(layer, _TransposedPadding(layer, attrs, kernel, stride, dilation))


@dataclass
class _TransposedLayer:
    module: nn.Module
    call: _TransposedPadding

    def __call__(self, x):
        return self.call(x)


def build_max_pool(attrs, constants, opset) -> Layer:
    if int(attrs.get("storage_order", 0)) != 0:
        raise UnsupportedNode("storage_order=1 (column-major indices) is not supported")
    kernel, stride, dilation = _geometry(attrs, ())
    module = MAX_POOL[len(kernel)](kernel, stride, 0, dilation, ceil_mode=bool(attrs.get("ceil_mode", 0)))
    return Layer(module, "max", _padding(attrs, kernel, stride, dilation))


def build_avg_pool(attrs, constants, opset) -> Layer:
    kernel, stride, dilation = _geometry(attrs, ())
    if any(d != 1 for d in dilation):
        raise UnsupportedNode(f"dilations {list(dilation)}: average pooling has no dilation in convforge")
    include = bool(attrs.get("count_include_pad", 0))
    module = AVG_POOL[len(kernel)](kernel, stride, 0, bool(attrs.get("ceil_mode", 0)), include)
    return Layer(module, "avg", _padding(attrs, kernel, stride, dilation), count_include_pad=include)


class _GlobalPool:
    """GlobalAveragePool / GlobalMaxPool: the adaptive pool to 1 of the input's rank."""

    def __init__(self, kinds) -> None:
        self.kinds, self.module = kinds, kinds[2](1)

    def __call__(self, x: Tensor) -> Tensor:
        if type(self.module) is not self.kinds[x.ndim - 2]:
            self.module = self.kinds[x.ndim - 2](1)
        return self.module(x)


def build_global_avg(attrs, constants, opset):
    return _GlobalPool(GLOBAL_AVG)


def build_global_max(attrs, constants, opset):
    return _GlobalPool(GLOBAL_MAX)


def build_batch_norm(attrs, constants, opset) -> Layer:
    if int(attrs.get("training_mode", 0)):
        raise UnsupportedNode(
            "training_mode=1 is not supported (import runs inference; call .train() to train)"
        )
    if any(c is None for c in constants[1:5]):
        raise UnsupportedNode("scale, B, mean and var must be constants")
    scale, shift, mean, var = constants[1:5]
    module = BatchNormalization(scale.shape[0], eps=float(attrs.get("epsilon", 1e-5)))
    module.momentum = 1.0 - float(attrs.get("momentum", 0.9))  # ONNX weighs the old value by momentum
    for param, value in ((module.weight, scale), (module.bias, shift)):
        _weights(param, value)
    module.running_mean.array = np.array(mean, dtype=np.float32)
    module.running_var.array = np.array(var, dtype=np.float32)
    return Layer(module, "plain")


def build_dropout(attrs, constants, opset) -> Layer:
    """A ``cf.nn.Dropout``: the identity in eval mode, dropping at ``ratio`` after ``.train()``."""
    ratio = attrs.get("ratio", 0.5)
    if len(constants) > 2 and (constants[2] is None or bool(np.asarray(constants[2]).reshape(-1)[0])):
        raise UnsupportedNode("training_mode must be a constant False (call .train() to drop while training)")
    if opset >= 12 and len(constants) > 1 and constants[1] is not None:
        ratio = float(np.asarray(constants[1]).reshape(-1)[0])
    return Layer(nn.Dropout(ratio), "plain")


def build_gemm(attrs, constants, opset):
    """Gemm of a runtime A by a constant B (+ constant C) is a Linear; anything else runs as a Gemm."""
    b = constants[1]
    c = constants[2] if len(constants) > 2 else None
    if attrs.get("transA", 0) or b is None or b.ndim != 2:
        return None
    weight = b if attrs.get("transB", 0) else b.T
    out_features = weight.shape[0]
    if c is not None and (
        c.size not in (1, out_features) or c.shape[-1] not in (1, out_features) or c.ndim > 2
    ):
        return None  # a C of one value per row (or per element) is no Linear bias
    if c is not None and c.ndim == 2 and c.shape[0] != 1:
        return None
    module = nn.Linear(weight.shape[1], out_features, bias=c is not None)
    _weights(module.weight, weight * attrs.get("alpha", 1.0))
    if c is not None:
        _weights(module.bias, np.broadcast_to(c.reshape(-1), (out_features,)) * attrs.get("beta", 1.0))
    return Layer(module, "plain")


# --------------------------------------------------------------------------------------
# Resize / Upsample
# --------------------------------------------------------------------------------------
_COORDINATES = {
    "half_pixel": lambda x, s, i, o: (x + 0.5) / s - 0.5,
    "pytorch_half_pixel": lambda x, s, i, o: (x + 0.5) / s - 0.5 if o > 1 else np.zeros_like(x),
    "align_corners": lambda x, s, i, o: x * (i - 1) / (i * s - 1) if o > 1 else np.zeros_like(x),
    "asymmetric": lambda x, s, i, o: x / s,
    "tf_half_pixel_for_nn": lambda x, s, i, o: (x + 0.5) / s,
}
_NEAREST = {
    "round_prefer_floor": lambda x: np.ceil(x - 0.5),
    "round_prefer_ceil": lambda x: np.floor(x + 0.5),
    "floor": np.floor,
    "ceil": np.ceil,
}
RESIZE_MODES = ("nearest", "linear")


def _resize_axis(x: Tensor, axis: int, out: int, scale: float, mode: str, coordinates: str, nearest: str):
    size = x.shape[axis]
    source = _COORDINATES[coordinates](np.arange(out, dtype=np.float64), scale, size, out)
    lead = (slice(None),) * axis
    if mode == "nearest":
        index = np.clip(_NEAREST[nearest](source), 0, size - 1).astype(np.int64)
        return x[(*lead, index)]
    source = np.clip(source, 0, size - 1)
    low = np.floor(source).astype(np.int64)
    high = np.minimum(low + 1, size - 1)
    weight = (source - low).astype(x.dtype).reshape((out,) + (1,) * (x.ndim - axis - 1))
    a, b = x[(*lead, low)], x[(*lead, high)]
    return a + (b - a) * weight


def run_resize(inputs, attrs, opset):
    x = as_tensor(inputs[0])
    mode = _decode(attrs.get("mode", "nearest"))
    if opset < 11:  # Upsample (opset 9) and Resize-10: (X, scales), asymmetric, floor
        scales, sizes = as_array(inputs[1]).astype(np.float64), None
        coordinates, nearest = "asymmetric", "floor"
    else:
        coordinates = _decode(attrs.get("coordinate_transformation_mode", "half_pixel"))
        nearest = _decode(attrs.get("nearest_mode", "round_prefer_floor"))
        scales = inputs[2] if len(inputs) > 2 else None
        scales = None if scales is None or as_array(scales).size == 0 else as_array(scales).astype(np.float64)
        sizes = ints(inputs[3]) if len(inputs) > 3 and inputs[3] is not None else None
    axes = attrs.get("axes") or list(range(x.ndim))
    axes = [a + x.ndim if a < 0 else a for a in axes]
    for i, axis in enumerate(axes):
        size = x.shape[axis]
        out = sizes[i] if sizes is not None else int(np.floor(size * scales[i] + 1e-9))
        scale = out / size if sizes is not None else float(scales[i])
        if out == size and scale == 1.0:
            continue
        x = _resize_axis(x, axis, out, scale, mode, coordinates, nearest)
    return x
