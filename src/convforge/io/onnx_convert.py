"""Traced convforge Functions as ONNX nodes: :class:`GraphBuilder` (used by :mod:`.onnx_export`).

Each converter takes the builder, the Function's recorded arguments and its output, and
emits the nodes that compute the same output. Functions are matched by class name (the
autograd ops are being reorganised across modules; the names are their stable identity).
"""

from __future__ import annotations

import numpy as np

from ..autograd import Tensor


class GraphBuilder:
    """Collects nodes, initializers and value names while the trace is converted."""

    def __init__(self, model, opset: int, dynamic: dict[str, dict[int, str]]) -> None:
        self.opset, self.dynamic = opset, dynamic
        self.nodes: list = []
        self.initializers: dict[str, np.ndarray] = {}
        self.inputs: list = []
        self.outputs: list = []
        self.names: dict[int, str] = {}  # id(Tensor) -> value name
        self.keep: list = []  # the traced tensors stay alive, so their ids stay unique
        self.state_names = {id(t): name for name, t in model.state_dict(keep_vars=True).items()}
        self.state_names.update(
            {
                id(t.array): name
                for name, t in model.state_dict(keep_vars=True).items()
                if isinstance(t, Tensor)
            }
        )
        self.counter = 0
        self.batch_dynamic = any(0 in axes for axes in dynamic.values())

    # ---- values ----------------------------------------------------------------------
    def fresh(self, hint: str) -> str:
        self.counter += 1
        return f"/{hint}_{self.counter}"

    def constant(self, value, dtype=None, hint: str = "const") -> str:
        array = np.asarray(value, dtype=dtype)
        name = self.fresh(hint)
        self.initializers[name] = array
        return name

    def ints(self, values, hint: str = "ints") -> str:
        return self.constant(np.asarray(values, dtype=np.int64), hint=hint)

    def value(self, item, like: Tensor | None = None) -> str:
        """The name of an argument: a traced tensor, a parameter, an array or a number."""
        if item is None:
            return ""
        if isinstance(item, Tensor):
            if id(item) in self.names:
                return self.names[id(item)]
            state = self.state_names.get(id(item)) or self.state_names.get(id(item.array))
            array = item.array
        else:
            state = self.state_names.get(id(item)) if isinstance(item, np.ndarray) else None
            dtype = like.dtype if like is not None and not isinstance(item, np.ndarray) else None
            array = np.asarray(item, dtype=dtype)
        if state is not None:
            if state not in self.initializers:
                self.initializers[state] = np.array(array)
            return state
        return self.constant(np.array(array))

    def bind(self, tensor: Tensor, name: str) -> None:
        self.names[id(tensor)] = name
        self.keep.append(tensor)

    def node(self, op_type: str, inputs, outputs=None, **attrs) -> str:
        from onnx import helper

        output = outputs or self.fresh(op_type)
        self.nodes.append(helper.make_node(op_type, list(inputs), [output], **attrs))
        return output

    # ---- graph ends -------------------------------------------------------------------
    def _value_info(self, name: str, tensor: Tensor):
        from onnx import helper

        axes = self.dynamic.get(name, {})
        shape = [axes.get(i, n) for i, n in enumerate(tensor.shape)]
        return helper.make_tensor_value_info(name, helper.np_dtype_to_tensor_dtype(tensor.dtype), shape)

    def add_inputs(self, inputs, names) -> None:
        for tensor, name in zip(inputs, names):
            self.bind(tensor, name)
            self.inputs.append(self._value_info(name, tensor))

    def add_outputs(self, outputs, names) -> None:
        for tensor, name in zip(outputs, names):
            source = self.value(tensor)
            self.node("Identity", [source], name)
            self.outputs.append(self._value_info(name, tensor))

    def convert(self, cls, args, kwargs, out) -> None:
        converter = CONVERTERS.get(cls.__name__)
        if converter is None:
            raise ValueError(
                f"export: the operation {cls.__name__} has no ONNX translation; exportable operations: "
                f"{', '.join(sorted(CONVERTERS))}"
            )
        self.bind(out, converter(self, args, kwargs, out))

    def model_proto(self, export_params: bool):
        import onnx
        from onnx import helper, numpy_helper

        initializers = [
            numpy_helper.from_array(np.ascontiguousarray(a), name) for name, a in self.initializers.items()
        ]
        inputs = list(self.inputs)
        if not export_params:
            inputs += [helper.make_tensor_value_info(t.name, t.data_type, list(t.dims)) for t in initializers]
            initializers = []
        graph = helper.make_graph(self.nodes, "convforge", inputs, self.outputs, initializers)
        model = helper.make_model(
            graph, opset_imports=[helper.make_opsetid("", self.opset)], producer_name="convforge"
        )
        model.ir_version = min(model.ir_version, 10)  # what current onnxruntime releases read
        onnx.checker.check_model(model)
        return model


# --------------------------------------------------------------------------------------
# converters: (builder, args, kwargs, out) -> output name
# --------------------------------------------------------------------------------------
def _pads(pairs) -> list[int]:
    return [int(lo) for lo, _ in pairs] + [int(hi) for _, hi in pairs]


def _window(spec, dilation: bool = True) -> dict:
    """The window attributes Conv, ConvTranspose, MaxPool and AveragePool share, from a spec."""
    attrs = {
        "kernel_shape": list(spec.kernel_size),
        "strides": list(spec.stride),
        "pads": _pads(spec.padding),
    }
    if dilation:
        attrs["dilations"] = list(spec.dilation)
    return attrs


def _conv(g, args, kwargs, out):
    x, w, b, spec = args[:4]
    return g.node(
        "Conv",
        [g.value(x), g.value(w), g.value(b)] if b is not None else [g.value(x), g.value(w)],
        **_window(spec),
        group=int(spec.groups),
    )


def _conv_transpose(g, args, kwargs, out):
    x, w, b, spec = args[:4]
    spatial = x.shape[2:]
    natural = [
        (i - 1) * s - lo - hi + (k - 1) * d + 1
        for i, s, (lo, hi), k, d in zip(spatial, spec.stride, spec.padding, spec.kernel_size, spec.dilation)
    ]
    output_padding = [o - n for o, n in zip(out.shape[2:], natural)]
    inputs = [g.value(x), g.value(w)] + ([g.value(b)] if b is not None else [])
    return g.node(
        "ConvTranspose",
        inputs,
        **_window(spec),
        group=int(spec.groups),
        output_padding=output_padding,
    )


def _max_pool(g, args, kwargs, out):
    x, spec = args[:2]
    return g.node(
        "MaxPool",
        [g.value(x)],
        **_window(spec),
        ceil_mode=int(spec.ceil_mode),
    )


def _avg_pool(g, args, kwargs, out):
    x, spec = args[:2]
    if spec.divisor_override is not None:
        raise ValueError("export: avg_pool with divisor_override has no ONNX translation")
    return g.node(
        "AveragePool",
        [g.value(x)],
        **_window(spec, dilation=False),
        ceil_mode=int(spec.ceil_mode),
        count_include_pad=int(spec.count_include_pad),
    )


def _adaptive(global_op: str, window_op: str):
    def convert(g, args, kwargs, out):
        x, out_spatial = args[0], tuple(args[1])
        spatial = x.shape[2:]
        if all(o == 1 for o in out_spatial):
            return g.node(global_op, [g.value(x)])
        if any(i % o for i, o in zip(spatial, out_spatial)):
            raise ValueError(
                f"export: adaptive pooling from {spatial} to {out_spatial} has uneven windows, "
                "which ONNX cannot express"
            )
        kernel = [i // o for i, o in zip(spatial, out_spatial)]
        return g.node(window_op, [g.value(x)], kernel_shape=kernel, strides=kernel)

    return convert


def _batch_norm(g, args, kwargs, out):
    x, w, b, mean, var, eps, training = args[:7]
    if training:
        raise ValueError("export: batch_norm in training mode has no ONNX translation (export in eval mode)")
    channels = x.shape[1]
    scale = g.value(w) if w is not None else g.constant(np.ones(channels, dtype=x.dtype))
    shift = g.value(b) if b is not None else g.constant(np.zeros(channels, dtype=x.dtype))
    return g.node(
        "BatchNormalization", [g.value(x), scale, shift, g.value(mean), g.value(var)], epsilon=float(eps)
    )


def _linear(g, args, kwargs, out):
    x, w, b = args[:3]
    if x.ndim == 2:
        inputs = [g.value(x), g.value(w)] + ([g.value(b)] if b is not None else [])
        return g.node("Gemm", inputs, transB=1)
    product = g.node("MatMul", [g.value(x), g.node("Transpose", [g.value(w)], perm=[1, 0])])
    return product if b is None else g.node("Add", [product, g.value(b)])


def _unary(op_type: str):
    return lambda g, args, kwargs, out: g.node(op_type, [g.value(args[0])])


def _binary(op_type: str):
    def convert(g, args, kwargs, out):
        a, b = args[:2]
        like = a if isinstance(a, Tensor) else b if isinstance(b, Tensor) else None
        return g.node(op_type, [g.value(a, like), g.value(b, like)])

    return convert


def _leaky_relu(g, args, kwargs, out):
    return g.node("LeakyRelu", [g.value(args[0])], alpha=float(args[1]))


def _clamp(g, args, kwargs, out):
    x, low, high = args[:3]
    bound = [g.constant(v, dtype=x.dtype) if v is not None else "" for v in (low, high)]
    return g.node("Clip", [g.value(x), *bound])


def _gelu(g, args, kwargs, out):
    x, approximate = args[0], args[1]
    name, dtype = g.value(x), x.dtype
    if approximate == "tanh":  # 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
        cube = g.node("Mul", [g.node("Mul", [name, name]), name])
        inner = g.node("Add", [name, g.node("Mul", [cube, g.constant(0.044715, dtype)])])
        core = g.node("Tanh", [g.node("Mul", [inner, g.constant(np.sqrt(2 / np.pi), dtype)])])
    else:  # 0.5 x (1 + erf(x / sqrt 2))
        core = g.node("Erf", [g.node("Div", [name, g.constant(np.sqrt(2.0), dtype)])])
    half = g.node("Mul", [name, g.constant(0.5, dtype)])
    return g.node("Mul", [half, g.node("Add", [core, g.constant(1.0, dtype)])])


def _softmax(op_type: str):
    return lambda g, args, kwargs, out: g.node(op_type, [g.value(args[0])], axis=int(args[1]))


def _reshape(g, args, kwargs, out):
    x, target = args[0], list(out.shape)
    if g.batch_dynamic and x.ndim and target and target[0] == x.shape[0]:
        target[0] = 0  # "copy the input's dimension": keeps a symbolic batch symbolic
        if target.count(-1) == 0 and len(target) > 1:
            largest = max(range(1, len(target)), key=lambda i: target[i])
            target[largest] = -1
    return g.node("Reshape", [g.value(x), g.ints(target, "shape")])


def _permute(g, args, kwargs, out):
    return g.node("Transpose", [g.value(args[0])], perm=[int(a) for a in args[1]])


def _expand(g, args, kwargs, out):
    return g.node("Expand", [g.value(args[0]), g.ints(list(out.shape), "shape")])


def _concat(g, args, kwargs, out):
    axis, arrays = args[0], args[1:]
    return g.node("Concat", [g.value(a) for a in arrays], axis=int(axis))


def _pad(g, args, kwargs, out):
    x, pairs, mode, value = args[:4]
    lead = x.ndim - len(pairs)
    full = [(0, 0)] * lead + [tuple(p) for p in pairs]
    modes = {"constant": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}
    if mode == "circular" and g.opset < 19:
        raise ValueError("export: circular padding needs opset_version >= 19 (Pad mode 'wrap')")
    inputs = [g.value(x), g.ints(_pads(full), "pads")]
    if mode == "constant":
        inputs.append(g.constant(0.0 if value is None else value, dtype=x.dtype))
    return g.node("Pad", inputs, mode=modes[mode])


def _reduce(op_type: str):
    def convert(g, args, kwargs, out):
        x, axis, keepdims = args[0], args[1], args[2]
        axes = list(range(x.ndim)) if axis is None else [int(a) for a in np.atleast_1d(axis)]
        # ReduceSum takes axes as an input from opset 13, the others from opset 18
        if op_type == "ReduceSum" or g.opset >= 18:
            return g.node(op_type, [g.value(x), g.ints(axes, "axes")], keepdims=int(bool(keepdims)))
        return g.node(op_type, [g.value(x)], axes=axes, keepdims=int(bool(keepdims)))

    return convert


def _extreme(g, args, kwargs, out):
    x, axis, keepdims, largest = args[:4]
    return _reduce("ReduceMax" if largest else "ReduceMin")(g, (x, axis, keepdims), kwargs, out)


def _extremum(g, args, kwargs, out):
    a, b, largest = args[:3]
    like = a if isinstance(a, Tensor) else b
    return g.node("Max" if largest else "Min", [g.value(a, like), g.value(b, like)])


def _where(g, args, kwargs, out):
    condition, a, b = args[:3]
    like = a if isinstance(a, Tensor) else b
    return g.node("Where", [g.value(np.asarray(condition)), g.value(a, like), g.value(b, like)])


def _cast(g, args, kwargs, out):
    from onnx import helper

    return g.node("Cast", [g.value(args[0])], to=helper.np_dtype_to_tensor_dtype(out.dtype))


def _get_item(g, args, kwargs, out):
    x, index = args[0], args[1]
    index = index if isinstance(index, tuple) else (index,)
    if any(i is Ellipsis for i in index):
        at = index.index(Ellipsis)
        index = index[:at] + (slice(None),) * (x.ndim - len(index) + 1) + index[at + 1 :]
    starts, ends, axes, steps, squeeze = [], [], [], [], []
    for axis, item in enumerate(index):
        if isinstance(item, slice):
            start, stop, step = item.indices(x.shape[axis])
            if (start, stop, step) == (0, x.shape[axis], 1):
                continue
            starts.append(start)
            ends.append(stop if stop >= 0 or step > 0 else -(2**62))
            axes.append(axis)
            steps.append(step)
        elif isinstance(item, (int, np.integer)):
            position = int(item) % x.shape[axis]
            starts.append(position)
            ends.append(position + 1)
            axes.append(axis)
            steps.append(1)
            squeeze.append(axis)
        else:
            raise ValueError(f"export: indexing with {type(item).__name__} has no ONNX translation here")
    name = g.value(x)
    if axes:
        sliced = [
            g.ints(v, hint)
            for v, hint in ((starts, "starts"), (ends, "ends"), (axes, "axes"), (steps, "steps"))
        ]
        name = g.node("Slice", [name, *sliced])
    if squeeze:
        name = g.node("Squeeze", [name, g.ints(squeeze, "axes")])
    return name if name != g.value(x) else g.node("Identity", [name])


def _pow(g, args, kwargs, out):
    a, b = args[:2]
    like = a if isinstance(a, Tensor) else b
    return g.node("Pow", [g.value(a, like), g.value(b, like)])


def _resample(g, args, kwargs, out):
    """``interpolate``'s per-axis (out, in) matrices, each one MatMul with the axis moved last."""
    x, matrices = args[0], args[1]
    name, rank = g.value(x), x.ndim
    for d, matrix in enumerate(matrices):
        axis = 2 + d
        dense = matrix.toarray() if hasattr(matrix, "toarray") else matrix  # interpolate keeps them sparse
        weights = g.constant(np.asarray(dense, dtype=x.dtype).T, hint="resample")  # (in, out)
        if axis == rank - 1:
            name = g.node("MatMul", [name, weights])
            continue
        perm = list(range(rank))
        perm[axis], perm[-1] = perm[-1], perm[axis]
        moved = g.node("MatMul", [g.node("Transpose", [name], perm=perm), weights])
        name = g.node("Transpose", [moved], perm=perm)
    return name if matrices else g.node("Identity", [name])


def _alias(g, args, kwargs, out):
    return g.value(args[0])  # the in-place target is now a name for the value written into it


CONVERTERS = {
    "Alias": _alias,
    "Resample": _resample,
    "Conv": _conv,
    "ConvTranspose": _conv_transpose,
    "MaxPool": _max_pool,
    "AvgPool": _avg_pool,
    "AdaptiveAvgPool": _adaptive("GlobalAveragePool", "AveragePool"),
    "AdaptiveMaxPool": _adaptive("GlobalMaxPool", "MaxPool"),
    "BatchNorm": _batch_norm,
    "Linear": _linear,
    "ReLU": _unary("Relu"),
    "Sigmoid": _unary("Sigmoid"),
    "Tanh": _unary("Tanh"),
    "Exp": _unary("Exp"),
    "Log": _unary("Log"),
    "Sqrt": _unary("Sqrt"),
    "Abs": _unary("Abs"),
    "Neg": _unary("Neg"),
    "LeakyReLU": _leaky_relu,
    "GELU": _gelu,
    "Clamp": _clamp,
    "Hardtanh": _clamp,  # functional.activation_extra: relu6, hardtanh (x, low, high)
    "Softmax": _softmax("Softmax"),
    "LogSoftmax": _softmax("LogSoftmax"),
    "Add": _binary("Add"),
    "Sub": _binary("Sub"),
    "Mul": _binary("Mul"),
    "Div": _binary("Div"),
    "Pow": _pow,
    "MatMul": _binary("MatMul"),
    "Reshape": _reshape,
    "Permute": _permute,
    "Expand": _expand,
    "Concat": _concat,
    "Pad": _pad,
    "GetItem": _get_item,
    "Sum": _reduce("ReduceSum"),
    "Mean": _reduce("ReduceMean"),
    "Extreme": _extreme,
    "Extremum": _extremum,
    "Where": _where,
    "_Cast": _cast,
}
