"""Conv, ConvTranspose and BatchNormalization whose weights are computed at run time.

An imported node with constant weights becomes a convforge layer (:mod:`.onnx_layers`); when
a weight is itself a graph input or the output of other nodes, the node runs as these
functions instead, on the functional API, with the same ONNX padding rules.
"""

from __future__ import annotations

from .. import functional as F
from . import onnx_layers as layers
from .onnx_ops import as_array, as_tensor

CONV_F = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
CONV_TRANSPOSE_F = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}


def _bias(inputs):
    return as_tensor(inputs[2]) if len(inputs) > 2 and inputs[2] is not None else None


def run_conv(inputs, attrs, opset):
    x, w = inputs[0], as_tensor(inputs[1])
    kernel, stride, dilation = layers._geometry(attrs, w.shape[2:])
    pairs = layers._padding(attrs, kernel, stride, dilation).pairs(tuple(x.shape[2:]))
    conv = CONV_F[len(kernel)]
    return conv(x, w, _bias(inputs), stride, tuple(pairs), dilation, int(attrs.get("group", 1)))


class _Transposed:
    """A transposed convolution with given weights that ``_TransposedPadding`` can drive."""

    def __init__(self, weight, bias, stride, dilation, groups) -> None:
        self.weight, self.bias, self.stride, self.dilation, self.groups = (
            weight,
            bias,
            stride,
            dilation,
            groups,
        )
        self.padding = self.output_padding = 0

    def __call__(self, x):
        conv = CONV_TRANSPOSE_F[len(self.stride)]
        return conv(
            x,
            self.weight,
            self.bias,
            self.stride,
            self.padding,
            self.output_padding,
            self.groups,
            self.dilation,
        )


def run_conv_transpose(inputs, attrs, opset):
    x, w = inputs[0], as_tensor(inputs[1])
    kernel, stride, dilation = layers._geometry(attrs, w.shape[2:])
    conv = _Transposed(w, _bias(inputs), stride, dilation, int(attrs.get("group", 1)))
    return layers._TransposedPadding(conv, attrs, kernel, stride, dilation)(x)


def run_batch_norm(inputs, attrs, opset):
    x, scale, shift, mean, var = inputs[:5]
    eps = float(attrs.get("epsilon", 1e-5))
    return F.batch_norm(x, as_array(mean), as_array(var), as_tensor(scale), as_tensor(shift), False, 0.0, eps)
