"""ONNX models as trainable convforge Modules: :func:`load_onnx`.

The graph is parsed with the ``onnx`` package (``onnx.load``, ``onnx.numpy_helper``) and
checked whole before anything is computed: its default-domain opset must lie between 9 and
the newest the installed ``onnx`` knows, and every node's op and attributes must be in
:data:`OPS`; otherwise a ``ValueError`` names the node, its op and what is unsupported.

Then the importer

1. evaluates at import what depends on constants only (``Constant``, ``ConstantOfShape``,
   shape arithmetic on initializers ...), once;
2. turns the nodes that are layers into convforge layers holding their weights
   (:mod:`convforge.io.onnx_layers`: Conv, ConvTranspose, pools, BatchNormalization, Gemm
   as Linear), named after the node;
3. registers the remaining constant floating-point operands of computing nodes (a MatMul's
   matrix, an Add's bias) as Parameters, named after the ONNX value.

The Module runs the remaining nodes in graph order on the inputs it is called with (the
graph's inputs that are not initializers, in order) and returns the graph's output, a tuple
for several. It starts in eval mode (BatchNormalization uses the running statistics,
Dropout passes through); ``.train()`` and an optimizer fine-tune it like any model.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from .. import functional as F
from .. import nn
from ..autograd import Tensor, no_grad
from ..autograd.function import is_grad_enabled
from ..autograd.routines import maximum, minimum
from . import onnx_functional as functional
from . import onnx_inference as inference
from . import onnx_layers as layers
from . import onnx_ops as ops
from .onnx_ops import Op

MIN_OPSET = 9
_POOL = {"auto_pad", "kernel_shape", "pads", "strides", "ceil_mode"}
_ARITH = frozenset()
_REDUCE = frozenset({"axes", "keepdims", "noop_with_empty_axes"})


def _numpy_max(a: np.ndarray, axis, keepdims: bool) -> np.ndarray:
    """ReduceMax of integers and booleans; over nothing it is the dtype's lowest value."""
    lowest = False if a.dtype == np.bool_ else np.iinfo(a.dtype).min
    return np.max(a, axis=axis, keepdims=keepdims, initial=lowest)


def _reduce_max(x, axes, keep):
    if x.numel() == 0:  # the maximum of nothing is -inf
        empty = np.max(x.array, axis=axes, keepdims=keep, initial=-np.inf)
        return Tensor(empty.astype(x.dtype) if x.dtype.kind == "f" else empty)
    for axis in sorted(axes, reverse=True):  # Tensor.max reduces one axis at a time
        x = x.max(dim=axis, keepdim=keep)
        x = x[0] if isinstance(x, tuple) else x
    return x


def _relu(inputs, attrs, opset):
    return F.relu(inputs[0])


def _leaky(inputs, attrs, opset):
    return F.leaky_relu(inputs[0], attrs.get("alpha", 0.01))


def _sigmoid(inputs, attrs, opset):
    return F.sigmoid(inputs[0])


def _tanh(inputs, attrs, opset):
    return F.tanh(inputs[0])


def _unary(method):
    return lambda inputs, attrs, opset: method(ops.as_tensor(inputs[0]))


OPS: dict[str, Op] = {
    "Conv": Op(
        frozenset({"auto_pad", "dilations", "group", "kernel_shape", "pads", "strides"}),
        build=layers.build_conv,
        run=functional.run_conv,
        weights=(1, 2),
    ),
    "ConvTranspose": Op(
        frozenset(
            {
                "auto_pad",
                "dilations",
                "group",
                "kernel_shape",
                "output_padding",
                "output_shape",
                "pads",
                "strides",
            }
        ),
        build=layers.build_conv_transpose,
        run=functional.run_conv_transpose,
        weights=(1, 2),
    ),
    "MaxPool": Op(frozenset(_POOL | {"dilations", "storage_order"}), build=layers.build_max_pool),
    "AveragePool": Op(frozenset(_POOL | {"count_include_pad", "dilations"}), build=layers.build_avg_pool),
    "GlobalAveragePool": Op(frozenset(), build=layers.build_global_avg),
    "GlobalMaxPool": Op(frozenset(), build=layers.build_global_max),
    "BatchNormalization": Op(
        frozenset({"epsilon", "momentum", "training_mode"}),
        build=layers.build_batch_norm,
        run=functional.run_batch_norm,
        weights=(1, 2),
        buffers=(3, 4),
    ),
    "Gemm": Op(
        frozenset({"alpha", "beta", "transA", "transB"}),
        run=ops._run_gemm,
        build=layers.build_gemm,
        weights=(0, 1, 2),
    ),
    "MatMul": Op(frozenset(), run=ops._run_matmul, weights=(0, 1)),
    "Relu": Op(frozenset(), run=_relu),
    "LeakyRelu": Op(frozenset({"alpha"}), run=_leaky),
    "Elu": Op(frozenset({"alpha"}), run=ops._run_elu),
    "Sigmoid": Op(frozenset(), run=_sigmoid),
    "Tanh": Op(frozenset(), run=_tanh),
    "Clip": Op(frozenset({"min", "max"}), run=ops._run_clip),
    "HardSigmoid": Op(frozenset({"alpha", "beta"}), run=ops._run_hard_sigmoid),
    "HardSwish": Op(frozenset(), run=ops._run_hard_swish),
    "Softmax": Op(frozenset({"axis"}), run=ops._run_softmax),
    "LRN": Op(frozenset({"alpha", "beta", "bias", "size"}), run=ops._run_lrn),
    "Dropout": Op(frozenset({"ratio", "seed"}), build=layers.build_dropout),
    "Identity": Op(frozenset(), run=ops._run_identity),
    "Add": Op(_ARITH, run=ops._binary(np.add, lambda a, b: a + b), weights=(0, 1)),
    "Sub": Op(_ARITH, run=ops._binary(np.subtract, lambda a, b: a - b), weights=(0, 1)),
    "Mul": Op(_ARITH, run=ops._binary(np.multiply, lambda a, b: a * b), weights=(0, 1)),
    "Div": Op(_ARITH, run=ops._binary(ops._div_arrays, lambda a, b: a / b), weights=(0, 1)),
    "Sum": Op(frozenset(), run=ops._run_sum, weights=tuple(range(8))),
    "Exp": Op(frozenset(), run=_unary(lambda t: t.exp())),
    "Log": Op(frozenset(), run=_unary(lambda t: t.log())),
    "Sqrt": Op(frozenset(), run=_unary(lambda t: t.sqrt())),
    "Neg": Op(frozenset(), run=_unary(lambda t: -t)),
    "Abs": Op(frozenset(), run=_unary(lambda t: t.abs())),
    "ReduceMean": Op(
        _REDUCE, run=ops._run_reduce(lambda x, axes, keep: x.mean(dim=axes, keepdim=keep), 18, np.mean)
    ),
    "ReduceSum": Op(
        _REDUCE, run=ops._run_reduce(lambda x, axes, keep: x.sum(dim=axes, keepdim=keep), 13, np.sum)
    ),
    "ReduceMax": Op(_REDUCE, run=ops._run_reduce(_reduce_max, 18, _numpy_max)),
    "LogSoftmax": Op(frozenset({"axis"}), run=ops._run_log_softmax),
    "Max": Op(frozenset(), run=ops._variadic(maximum, np.maximum), weights=tuple(range(8))),
    "Min": Op(frozenset(), run=ops._variadic(minimum, np.minimum), weights=tuple(range(8))),
    "Pow": Op(frozenset(), run=ops._run_pow, weights=(0,)),
    "PRelu": Op(frozenset(), run=ops._run_prelu, weights=(1,)),
    "Expand": Op(frozenset(), run=ops._run_expand),
    "Concat": Op(frozenset({"axis"}), run=ops._run_concat, weights=tuple(range(64))),
    "Flatten": Op(frozenset({"axis"}), run=ops._run_flatten),
    "Reshape": Op(frozenset({"allowzero"}), run=ops._run_reshape),
    "Transpose": Op(frozenset({"perm"}), run=ops._run_transpose),
    "Squeeze": Op(frozenset({"axes"}), run=ops._run_squeeze),
    "Unsqueeze": Op(frozenset({"axes"}), run=ops._run_unsqueeze),
    "Slice": Op(frozenset({"starts", "ends", "axes"}), run=ops._run_slice),
    "Pad": Op(frozenset({"mode", "pads", "value"}), run=ops._run_pad),
    "Resize": Op(
        frozenset(
            {
                "mode",
                "coordinate_transformation_mode",
                "nearest_mode",
                "cubic_coeff_a",
                "exclude_outside",
                "axes",
                "antialias",
                "keep_aspect_ratio_policy",
            }
        ),
        run=layers.run_resize,
    ),
    "Upsample": Op(frozenset({"mode"}), run=layers.run_resize),
    "Constant": Op(frozenset({"value", "value_float", "value_floats", "value_int", "value_ints"})),
    "ConstantOfShape": Op(frozenset({"value"}), run=ops._run_constant_of_shape),
    "Shape": Op(frozenset({"start", "end"}), run=ops._run_shape),
    "Gather": Op(frozenset({"axis"}), run=ops._run_gather),
    "Cast": Op(frozenset({"to", "saturate", "round_mode"}), run=ops._run_cast),
}
# attribute values outside these are refused at import
_ALLOWED_VALUES = {
    ("Resize", "mode"): layers.RESIZE_MODES,
    ("Upsample", "mode"): layers.RESIZE_MODES,
    ("Resize", "coordinate_transformation_mode"): tuple(layers._COORDINATES),
    ("Resize", "nearest_mode"): tuple(layers._NEAREST),
    ("Resize", "antialias"): (0,),
    ("Resize", "keep_aspect_ratio_policy"): ("stretch",),
    ("Pad", "mode"): ("constant", "reflect", "edge", "wrap"),
    ("Conv", "auto_pad"): ("NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"),
    ("ConvTranspose", "auto_pad"): ("NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"),
    ("MaxPool", "auto_pad"): ("NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"),
    ("AveragePool", "auto_pad"): ("NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"),
    ("BatchNormalization", "training_mode"): (0,),
    ("MaxPool", "storage_order"): (0,),
    ("Cast", "to"): (1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13),  # the types NumPy has
}
SUPPORTED_OPS = tuple(sorted(OPS))


def _node_label(node, index: int) -> str:
    return (
        f"node {index} {node.name!r} (op {node.op_type})"
        if node.name
        else f"node {index} (op {node.op_type})"
    )


def attributes(node) -> dict:
    """A node's attributes as Python values (tensors as ndarrays, strings as str)."""
    from onnx import AttributeProto, helper, numpy_helper

    values = {}
    for attribute in node.attribute:
        value = helper.get_attribute_value(attribute)
        if attribute.type == AttributeProto.TENSOR:
            value = numpy_helper.to_array(value)
        elif isinstance(value, bytes):
            value = value.decode()
        elif attribute.type in (AttributeProto.INTS, AttributeProto.FLOATS):
            value = list(value)
        values[attribute.name] = value
    return values


def _parse(f):
    import onnx

    if isinstance(f, (bytes, bytearray)):
        source = "the given bytes"
        try:
            return onnx.load_from_string(bytes(f)), source
        except Exception as e:  # protobuf raises its own DecodeError
            raise ValueError(f"load_onnx: {source} are not an ONNX model ({e})") from e
    if isinstance(f, (str, os.PathLike)):
        path = Path(f)
        if not path.is_file():
            raise FileNotFoundError(f"load_onnx: {path} does not exist")
        try:
            return onnx.load(str(path)), str(path)
        except Exception as e:
            raise ValueError(f"load_onnx: {path} is not an ONNX model or is truncated ({e})") from e
    raise TypeError(f"load_onnx: f must be a path or bytes, but got {type(f).__name__}")


def _opset(model, source: str, strict: bool = True) -> int:
    """The default-domain opset; one newer than onnx knows is read as the newest when not strict."""
    import onnx

    newest = onnx.defs.onnx_opset_version()
    versions = [entry.version for entry in model.opset_import if entry.domain in ("", "ai.onnx")]
    if not versions:
        raise ValueError(f"load_onnx: {source} imports no default-domain opset")
    opset = max(versions)
    if opset > newest and not strict:
        return newest
    if not MIN_OPSET <= opset <= newest:
        raise ValueError(
            f"load_onnx: {source} uses opset {opset}; supported are opsets {MIN_OPSET} to {newest}"
        )
    return opset


def check_graph(graph, opset: int, source: str) -> None:
    """Refuse what cannot be run, before anything is computed: ValueError naming the node."""
    consumed = {name for node in graph.node for name in node.input} | {o.name for o in graph.output}
    for index, node in enumerate(graph.node):
        label = _node_label(node, index)
        if node.domain not in ("", "ai.onnx"):
            raise ValueError(
                f"load_onnx: {source}: {label} is in domain {node.domain!r}; only the default domain is supported"
            )
        if node.op_type not in OPS:
            raise ValueError(
                f"load_onnx: {source}: {label} is not supported; supported ops: {', '.join(SUPPORTED_OPS)}"
            )
        op = OPS[node.op_type]
        values = attributes(node)
        for name, value in values.items():
            if name not in op.attributes:
                raise ValueError(f"load_onnx: {source}: {label} has the unsupported attribute {name!r}")
            allowed = _ALLOWED_VALUES.get((node.op_type, name))
            if allowed is not None and value not in allowed:
                raise ValueError(
                    f"load_onnx: {source}: {label} has {name}={value!r}; supported: {', '.join(map(str, allowed))}"
                )
        used = [name for name in node.output[op.outputs :] if name and name in consumed]
        if used:
            raise ValueError(
                f"load_onnx: {source}: {label}: its output(s) {used} are not supported (only the first)"
            )


# --------------------------------------------------------------------------------------
# the Module
# --------------------------------------------------------------------------------------
def _python_name(name: str, taken) -> str:
    """An attribute name for an ONNX value or node name: word characters only, unique."""
    base = re.sub(r"\W", "_", name) or "value"
    base = base if not base[0].isdigit() else f"_{base}"
    candidate, n = base, 1
    while candidate in taken:
        candidate, n = f"{base}_{n}", n + 1
    return candidate


def _runtime_value(array: np.ndarray):
    """Constants flow as the runtime would see them: floats as Tensors, integers as arrays."""
    return Tensor(array) if array.dtype.kind in "fc" else array


def _constant(attrs: dict) -> np.ndarray:
    if "value" in attrs:
        return attrs["value"]
    if "value_float" in attrs:
        return np.array(attrs["value_float"], dtype=np.float32)
    if "value_floats" in attrs:
        return np.array(attrs["value_floats"], dtype=np.float32)
    if "value_int" in attrs:
        return np.array(attrs["value_int"], dtype=np.int64)
    return np.array(attrs["value_ints"], dtype=np.int64)


def _graph_input(value):
    """Floating inputs run as Tensors; integer and boolean ones as arrays (shape arithmetic, indices)."""
    array = value.array if isinstance(value, Tensor) else np.asarray(value)
    if array.dtype.kind in "fc":
        return value if isinstance(value, Tensor) else Tensor(array)
    return array


class _Step:
    """One node to run: its function, where each input comes from, and its output's name."""

    __slots__ = ("call", "inputs", "output", "label", "op_type", "inplace", "takes_one")

    def __init__(self, call, inputs, output, label, op_type: str = "") -> None:
        self.call, self.inputs, self.output, self.label = call, inputs, output, label
        self.op_type, self.inplace = op_type, None  # see convforge.io.onnx_inference
        self.takes_one = isinstance(call, (layers.Layer, layers._TransposedLayer, layers._GlobalPool))


class OnnxModel(nn.Module):
    """An imported ONNX graph (see the module docstring); build it with :func:`load_onnx`.

    Shape: the graph's inputs -> its outputs (a tuple when there are several).
    """

    def __init__(self, graph, opset: int, source: str) -> None:
        super().__init__()
        from onnx import numpy_helper

        self.opset, self.source, self.graph_name = opset, source, graph.name
        constants = {init.name: numpy_helper.to_array(init) for init in graph.initializer}
        produced = {name for node in graph.node for name in node.output}
        # graph inputs with an initializer (or, in some old files, a producing node) are constants
        self.input_names = [v.name for v in graph.input if v.name not in constants and v.name not in produced]
        self.output_names = [value.name for value in graph.output]
        self._constants: dict[str, np.ndarray] = {}
        self._steps: list[_Step] = []
        self._attribute_of: dict[str, str] = {}  # ONNX value -> Parameter or buffer attribute
        for index, node in enumerate(graph.node):
            self._add_node(index, node, constants)
        self._constants = {name: constants[name] for name in self.output_names if name in constants}
        inference.plan(self._steps, self.output_names)
        self.eval()

    # ---- import ------------------------------------------------------------------------
    def _add_node(self, index: int, node, constants: dict[str, np.ndarray]) -> None:
        op, attrs, label = OPS[node.op_type], attributes(node), _node_label(node, index)
        if node.op_type == "Constant":
            constants[node.output[0]] = _constant(attrs)
            return
        names = list(node.input)
        if op.build is None and all(not name or name in constants for name in names):
            values = [_runtime_value(constants[name]) if name else None for name in names]
            with no_grad():
                result = self._run(op, values, attrs, label)
            constants[node.output[0]] = ops.as_array(result)
            return
        layer = self._layer(op, node, attrs, names, constants, label) if op.build is not None else None
        if layer is not None:
            self._steps.append(_Step(layer, [("env", names[0])], node.output[0], label, node.op_type))
            return
        if op.run is None:
            raise ValueError(f"load_onnx: {self.source}: {label}: its data input must not be a constant")
        refs = [self._input_ref(op, slot, name, constants) for slot, name in enumerate(names)]
        run = op.run
        self._steps.append(
            _Step(
                lambda inputs, a=attrs, r=run: r(inputs, a, self.opset),
                refs,
                node.output[0],
                label,
                node.op_type,
            )
        )

    def _layer(self, op: Op, node, attrs, names, constants, label):
        present = [slot for slot in (*op.weights, *op.buffers) if slot < len(names) and names[slot]]
        runtime = [names[slot] for slot in present if names[slot] not in constants and slot != 0]
        if runtime and op.run is not None:
            return None
        if not names[0] or names[0] in constants:
            raise ValueError(f"load_onnx: {self.source}: {label}: its data input must not be a constant")
        present = list(names)
        while present and not present[-1]:  # optional trailing inputs given as ''
            present.pop()
        values = [constants.get(name) if name else None for name in present]
        try:
            layer = op.build(attrs, values, self.opset)
        except layers.UnsupportedNode as e:
            raise ValueError(f"load_onnx: {self.source}: {label}: {e}") from e
        if layer is None:
            return None
        module_name = _python_name(
            node.name or f"{node.op_type.lower()}{len(self._steps)}", dict(self.named_children())
        )
        self.add_module(module_name, layer.module)
        return layer

    def _input_ref(self, op: Op, slot: int, name: str, constants):
        if not name:
            return ("none", None)
        if name not in constants:
            return ("env", name)
        array = constants[name]
        if array.dtype.kind != "f" or slot not in (*op.weights, *op.buffers):
            return ("const", _runtime_value(array))
        if name not in self._attribute_of:
            attribute = _python_name(
                name, set(self._attribute_of.values()) | set(dict(self.named_children()))
            )
            if slot in op.buffers:
                self.register_buffer(attribute, Tensor(np.array(array)))
            else:
                self.register_parameter(attribute, nn.Parameter(np.array(array)))
            self._attribute_of[name] = attribute
        return ("attr", self._attribute_of[name])

    def _run(self, op: Op, values, attrs, label):
        try:
            return op.run(values, attrs, self.opset)
        except (ValueError, TypeError, IndexError, KeyError) as e:
            raise ValueError(f"{self.source}: {label} failed: {e}") from e

    # ---- run ---------------------------------------------------------------------------
    def forward(self, *inputs):
        if len(inputs) != len(self.input_names):
            raise TypeError(
                f"OnnxModel: the graph takes {len(self.input_names)} inputs ({', '.join(self.input_names)}), "
                f"but got {len(inputs)}"
            )
        env = {name: _graph_input(value) for name, value in zip(self.input_names, inputs)}
        in_place = not self.training and not is_grad_enabled() and not inference.hooked(self)
        for step in self._steps:
            args = []
            for kind, ref in step.inputs:
                if kind == "env":
                    args.append(env[ref])
                elif kind == "attr":
                    args.append(getattr(self, ref))
                else:
                    args.append(ref)
            try:
                result = step.inplace(step, args) if in_place and step.inplace is not None else None
                if result is None:
                    result = step.call(args[0]) if step.takes_one else step.call(args)
                env[step.output] = result
            except (ValueError, TypeError, IndexError) as e:
                raise ValueError(f"{self.source}: {step.label} failed: {e}") from e
        values = [env[name] if name in env else self._constants[name] for name in self.output_names]
        outputs = [v if isinstance(v, Tensor) else Tensor(np.asarray(v)) for v in values]  # integers too
        return outputs[0] if len(outputs) == 1 else tuple(outputs)

    def extra_repr(self) -> str:
        return f"opset={self.opset}, inputs={self.input_names}, outputs={self.output_names}"


def load_onnx(f, *, strict_opset: bool = True) -> OnnxModel:
    """An ONNX model as a convforge Module whose weights are Parameters.

    Parameters
    ----------
    f : str, PathLike or bytes
        An ``.onnx`` file or its serialized bytes.
    strict_opset : bool
        Refuse opsets outside 9 .. the installed ``onnx``'s newest (default). With False, a
        newer opset is tried as the newest known.

    Returns
    -------
    OnnxModel
        Called on the graph's inputs in order; returns its output (a tuple for several).
        In eval mode.

    Shape: the graph's declared inputs -> its outputs (batch and other sizes as the graph allows).

    Raises
    ------
    ValueError
        For an op, attribute or attribute value convforge does not run (naming the node and
        the op), an opset out of range, or a file that is no ONNX model; all before any
        compute.
    """
    model, source = _parse(f)
    opset = _opset(model, source, strict_opset)
    check_graph(model.graph, opset, source)
    return OnnxModel(model.graph, opset, source)


def declared_input_shape(f) -> tuple[int, ...]:
    """The first graph input's declared shape, unknown sizes as 1 (what ``convforge summary`` feeds)."""
    model, source = _parse(f)
    initializers = {init.name for init in model.graph.initializer}
    produced = {name for node in model.graph.node for name in node.output}
    inputs = [v for v in model.graph.input if v.name not in initializers and v.name not in produced]
    if not inputs:
        raise ValueError(f"load_onnx: {source} has no graph input")
    dims = inputs[0].type.tensor_type.shape.dim
    return tuple(d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else 1 for d in dims)
