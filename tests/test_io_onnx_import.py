"""cf.io.load_onnx: ONNX's own model tests (the light zoo and the converted torch layers), torch exports, errors.

The oracles: the expected outputs that ship inside the ``onnx`` package (what its backend
runner compares with), onnxruntime on the same graph, and torch for models exported from it.
"""

from __future__ import annotations

import glob
import io
import os

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from onnx import helper, numpy_helper

import convforge as cf
from convforge.io import onnx_layers as layers
from convforge.io.onnx_import import OnnxModel

# torch's TorchScript exporter (dynamo=False: the dynamo one needs onnxscript) warns that it is legacy
pytestmark = pytest.mark.filterwarnings("ignore:You are using the legacy TorchScript:DeprecationWarning")
DATA = os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "data")
LIGHT = os.path.join(DATA, "light")
FAST_LIGHT = ["bvlc_alexnet", "resnet50", "squeezenet", "zfnet512", "inception_v1"]
SLOW_LIGHT = ["densenet121", "inception_v2", "shufflenet", "vgg19"]


def graph_input(model: onnx.ModelProto):
    initializers = {init.name for init in model.graph.initializer}
    produced = {name for node in model.graph.node for name in node.output}
    return [i for i in model.graph.input if i.name not in initializers and i.name not in produced]


def backend_runner_input(value_info) -> np.ndarray:
    """The input onnx's backend runner feeds the light models: arange(n) / n in the declared shape."""
    shape = tuple(
        d.dim_value if d.HasField("dim_value") else 1 for d in value_info.type.tensor_type.shape.dim
    )
    n = int(np.prod(shape))
    return (np.arange(n).reshape(shape) / n).astype(np.float32)


def run(model, *inputs):
    with cf.no_grad(), np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        out = model(*inputs)
    return [np.asarray(o.array) for o in (out if isinstance(out, tuple) else (out,))]


# ---- the light model zoo shipped with onnx ------------------------------------------------
def light_params():
    fast = [pytest.param(name, id=name) for name in FAST_LIGHT]
    return fast + [pytest.param(name, id=name, marks=pytest.mark.slow) for name in SLOW_LIGHT]


@pytest.mark.parametrize("name", light_params())
def test_light_zoo_models_give_the_backend_runners_expected_outputs(name):
    path = os.path.join(LIGHT, f"light_{name}.onnx")
    proto = onnx.load(path)
    x = backend_runner_input(graph_input(proto)[0])
    expected = numpy_helper.to_array(onnx.load_tensor(os.path.join(LIGHT, f"light_{name}_output_0.pb")))
    if name == "squeezenet":
        # its constant weights give logits of 9.5e9, where one float32 ulp is 1024: summation
        # order alone moves the softmax, so the logits are compared, to float32 round-off
        logits, x_name = without_final_softmax(proto), graph_input(proto)[0].name
        session = ort.InferenceSession(logits.SerializeToString(), providers=["CPUExecutionProvider"])
        (y,) = run(cf.io.load_onnx(logits.SerializeToString()), x)
        np.testing.assert_allclose(y, session.run(None, {x_name: x})[0], rtol=1e-5)
        return
    model = cf.io.load_onnx(path)
    (y,) = run(model, x)
    np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-6)


def without_final_softmax(proto: onnx.ModelProto) -> onnx.ModelProto:
    """The graph with its last node (a Softmax) removed: its input becomes the output."""
    out = onnx.ModelProto()
    out.CopyFrom(proto)
    last = out.graph.node[-1]
    assert last.op_type == "Softmax"
    del out.graph.node[-1]
    del out.graph.output[:]
    out.graph.output.append(helper.make_tensor_value_info(last.input[0], onnx.TensorProto.FLOAT, None))
    return out


def randomized(proto: onnx.ModelProto, seed: int = 0) -> onnx.ModelProto:
    """The light model with its ConstantOfShape weights replaced by random initializers.

    The shipped weights are constants (all outputs equal); random ones make every layer count.
    Matrices get N(0, 1/fan_in), vectors U(0.5, 1.5) (valid scales, shifts and variances).
    """
    rng = np.random.default_rng(seed)
    shapes = {init.name: numpy_helper.to_array(init) for init in proto.graph.initializer}
    kept, added = [], []
    for node in proto.graph.node:
        if node.op_type == "ConstantOfShape" and node.input[0] in shapes:
            shape = tuple(int(d) for d in shapes[node.input[0]])
            if len(shape) >= 2:
                value = rng.normal(0, 1 / np.sqrt(np.prod(shape[1:])), shape)
            else:
                value = rng.uniform(0.5, 1.5, shape)
            added.append(numpy_helper.from_array(value.astype(np.float32), node.output[0]))
        else:
            kept.append(node)
    out = onnx.ModelProto()
    out.CopyFrom(proto)
    del out.graph.node[:]
    out.graph.node.extend(kept)
    out.graph.initializer.extend(added)
    return out


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("resnet50", id="resnet50"),
        pytest.param("inception_v1", id="inception_v1"),
        pytest.param("squeezenet", id="squeezenet"),
        pytest.param("densenet121", id="densenet121", marks=pytest.mark.slow),
        pytest.param("shufflenet", id="shufflenet", marks=pytest.mark.slow),
        pytest.param("inception_v2", id="inception_v2", marks=pytest.mark.slow),
    ],
)
def test_light_zoo_models_with_random_weights_match_onnxruntime(name):
    proto = randomized(onnx.load(os.path.join(LIGHT, f"light_{name}.onnx")))
    x = np.random.default_rng(1).normal(size=(1, 3, 224, 224)).astype(np.float32)
    data = proto.SerializeToString()
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    (expected,) = session.run(None, {graph_input(proto)[0].name: x})
    (y,) = run(cf.io.load_onnx(data), x)
    assert expected.std() > 1e-4  # the outputs differ between classes: the weights matter
    np.testing.assert_allclose(y, expected, rtol=2e-3, atol=2e-5)


# ---- onnx's converted torch layers and operators ------------------------------------------
# models whose ops convforge does not run: load_onnx must refuse them naming the op
REFUSED = {
    "test_GLU": "Split",
    "test_GLU_dim": "Split",
    "test_SELU": "Selu",
    "test_Softplus": "Softplus",
    "test_operator_chunk": "Split",
    "test_operator_repeat": "Tile",
    "test_operator_repeat_dim_overflow": "Tile",
    "test_operator_selu": "Selu",
    "test_operator_symbolic_override": "InstanceNormalization",
}


def converted_cases():
    cases = []
    for kind in ("pytorch-converted", "pytorch-operator"):
        for folder in sorted(glob.glob(os.path.join(DATA, kind, "test_*"))):
            cases.append(pytest.param(folder, id=f"{kind}/{os.path.basename(folder)}"))
    assert len(cases) > 100, "onnx's backend test data are missing"
    return cases


def at_least_opset_9(proto: onnx.ModelProto) -> onnx.ModelProto:
    """Most of these files are opset 6; ONNX's own version converter lifts them to 13."""
    opset = max(o.version for o in proto.opset_import if o.domain in ("", "ai.onnx"))
    return proto if opset >= 9 else onnx.version_converter.convert_version(proto, 13)


@pytest.mark.parametrize("folder", converted_cases())
def test_onnx_converted_torch_layer_tests_give_their_expected_outputs(folder):
    proto = at_least_opset_9(onnx.load(os.path.join(folder, "model.onnx")))
    name = os.path.basename(folder)
    if name in REFUSED:
        with pytest.raises(ValueError, match=f"op {REFUSED[name]}\\) is not supported"):
            cf.io.load_onnx(proto.SerializeToString())
        return
    model = cf.io.load_onnx(proto.SerializeToString())
    data_set = os.path.join(folder, "test_data_set_0")
    inputs = [numpy_helper.to_array(onnx.load_tensor(f)) for f in sorted(glob.glob(f"{data_set}/input_*.pb"))]
    expected = [
        numpy_helper.to_array(onnx.load_tensor(f)) for f in sorted(glob.glob(f"{data_set}/output_*.pb"))
    ]
    for y, e in zip(run(model, *inputs), expected):
        np.testing.assert_allclose(y, e, rtol=1e-4, atol=1e-5)


# ---- models exported from torch -------------------------------------------------------------
class TorchBlock(torch.nn.Module):
    """Exercises what torch exporters emit for CNNs: padding, pools, BN, residual, resize, head."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.bn = torch.nn.BatchNorm2d(8)
        self.dw = torch.nn.Conv2d(8, 8, 3, padding=2, dilation=2, groups=8, bias=False)
        self.up = torch.nn.ConvTranspose2d(8, 4, 3, stride=2, padding=1, output_padding=1)
        self.pool = torch.nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True)
        self.avg = torch.nn.AvgPool2d(2, count_include_pad=False)
        self.fc = torch.nn.Linear(4, 5)

    def forward(self, x):
        y = torch.relu(self.bn(self.conv(x)))
        y = torch.nn.functional.hardswish(self.dw(y)) + y
        y = torch.nn.functional.interpolate(y, scale_factor=2, mode="nearest")
        y = torch.nn.functional.leaky_relu(self.up(self.pool(y)), 0.2)
        y = torch.nn.functional.interpolate(y, size=(9, 7), mode="bilinear", align_corners=False)
        y = torch.nn.functional.pad(self.avg(y), (1, 0, 0, 1), mode="reflect")
        y = torch.nn.functional.adaptive_avg_pool2d(y, 1).flatten(1)
        return torch.softmax(self.fc(torch.nn.functional.hardsigmoid(y)), dim=-1)


def torch_export(module, x, opset, **options) -> bytes:
    buffer = io.BytesIO()
    module.eval()
    torch.onnx.export(module, (torch.from_numpy(x),), buffer, opset_version=opset, dynamo=False, **options)
    return buffer.getvalue()


def test_a_torch_exported_cnn_at_opset_9_gives_torchs_outputs():
    torch.manual_seed(0)
    module = torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3, padding=1),
        torch.nn.BatchNorm2d(4),
        torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Upsample(scale_factor=2, mode="nearest"),
        torch.nn.AvgPool2d(3, stride=2, padding=1),
        torch.nn.Flatten(),
        torch.nn.Linear(4 * 16, 3),
    )
    x = np.random.default_rng(0).normal(size=(2, 3, 8, 8)).astype(np.float32)
    with torch.no_grad():
        expected = module.eval()(torch.from_numpy(x)).numpy()
    (y,) = run(cf.io.load_onnx(torch_export(module, x, 9)), x)
    np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("opset", [11, 13, 17])
def test_a_torch_exported_cnn_gives_torchs_outputs(opset):
    torch.manual_seed(0)
    module = TorchBlock()
    with torch.no_grad():  # running statistics away from 0/1
        module.bn.running_mean.uniform_(-0.5, 0.5)
        module.bn.running_var.uniform_(0.5, 2.0)
    x = np.random.default_rng(0).normal(size=(2, 3, 20, 18)).astype(np.float32)
    data = torch_export(module, x, opset)
    (y,) = run(cf.io.load_onnx(data), x)
    with torch.no_grad():
        expected = module(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-6)


def test_dynamic_batch_from_torch_runs_other_batch_sizes():
    torch.manual_seed(0)
    module = torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(4 * 36, 3)
    )
    x = np.random.default_rng(0).normal(size=(2, 1, 8, 8)).astype(np.float32)
    data = torch_export(module, x, 13, input_names=["x"], dynamic_axes={"x": {0: "batch"}})
    model = cf.io.load_onnx(data)
    for batch in (1, 5):
        xb = np.random.default_rng(batch).normal(size=(batch, 1, 8, 8)).astype(np.float32)
        with torch.no_grad():
            expected = module(torch.from_numpy(xb)).numpy()
        np.testing.assert_allclose(run(model, xb)[0], expected, rtol=1e-5, atol=1e-6)


# ---- the Module ----------------------------------------------------------------------------
def tiny_graph(nodes, initializers=(), opset=13, inputs=None, outputs=None):
    inputs = inputs or [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 2, 4, 4])]
    outputs = outputs or [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, None)]
    graph = helper.make_graph(nodes, "g", inputs, outputs, list(initializers))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)]).SerializeToString()


def conv_graph():
    rng = np.random.default_rng(0)
    w = numpy_helper.from_array(rng.normal(size=(3, 2, 3, 3)).astype(np.float32), "w")
    b = numpy_helper.from_array(rng.normal(size=3).astype(np.float32), "b")
    m = numpy_helper.from_array(rng.normal(size=(48, 2)).astype(np.float32), "m")
    shape = numpy_helper.from_array(np.array([1, 48], dtype=np.int64), "shape")
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["c"], name="conv", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"]),
        helper.make_node("Reshape", ["r", "shape"], ["f"]),
        helper.make_node("MatMul", ["f", "m"], ["y"]),
    ]
    return tiny_graph(nodes, [w, b, m, shape])


def test_weights_are_trainable_parameters_and_layers_are_convforge_layers():
    model = cf.io.load_onnx(conv_graph())
    assert isinstance(model, OnnxModel) and isinstance(model, cf.nn.Module)
    assert isinstance(model.conv, cf.nn.Conv2d)
    names = dict(model.named_parameters())
    assert set(names) == {"conv.weight", "conv.bias", "m"}
    x = cf.tensor(np.random.default_rng(1).normal(size=(1, 2, 4, 4)).astype(np.float32))
    optimizer = cf.optim.SGD(model.parameters(), lr=0.1)
    before = model.m.array.copy()
    loss = (model(x) ** 2).sum()
    loss.backward()
    assert all(p.grad is not None for p in model.parameters())
    optimizer.step()
    assert not np.array_equal(model.m.array, before)
    state = model.state_dict()
    assert set(state) == {"conv.weight", "conv.bias", "m"}


def test_the_summary_sees_the_imported_layers():
    from convforge.analysis import summary

    table = summary(cf.io.load_onnx(conv_graph()), (2, 4, 4))
    conv = next(layer for layer in table.layers if layer.kind == "Conv2d")
    assert conv.params == 3 * 2 * 9 + 3 and conv.macs == 3 * 2 * 9 * 16
    assert table.total_params == 3 * 2 * 9 + 3 + 48 * 2


def test_several_outputs_come_back_as_a_tuple_in_graph_order():
    nodes = [helper.make_node("Relu", ["x"], ["a"]), helper.make_node("Neg", ["x"], ["b"])]
    outputs = [helper.make_tensor_value_info(n, onnx.TensorProto.FLOAT, None) for n in ("a", "b")]
    model = cf.io.load_onnx(tiny_graph(nodes, outputs=outputs))
    x = np.random.default_rng(0).normal(size=(1, 2, 4, 4)).astype(np.float32)
    a, b = model(x)
    np.testing.assert_array_equal(a.array, np.maximum(x, 0))
    np.testing.assert_array_equal(b.array, -x)


def test_an_unsupported_op_is_named_before_anything_runs():
    nodes = [helper.make_node("Relu", ["x"], ["r"]), helper.make_node("Erf", ["r"], ["y"], name="the_erf")]
    with pytest.raises(
        ValueError, match=r"node 1 'the_erf' \(op Erf\) is not supported; supported ops: .*Conv"
    ):
        cf.io.load_onnx(tiny_graph(nodes))


def test_an_unsupported_attribute_or_value_is_named():
    w = numpy_helper.from_array(np.ones((1, 2, 1, 1), dtype=np.float32), "w")
    bad = helper.make_node("Conv", ["x", "w"], ["y"], name="c", kernel_shape=[1, 1], foo=3)
    with pytest.raises(ValueError, match=r"node 0 'c' \(op Conv\) has the unsupported attribute 'foo'"):
        cf.io.load_onnx(tiny_graph([bad], [w]))
    cubic = helper.make_node("Resize", ["x", "", "s"], ["y"], mode="cubic")
    scales = numpy_helper.from_array(np.array([1, 1, 2, 2], dtype=np.float32), "s")
    with pytest.raises(ValueError, match=r"\(op Resize\) has mode='cubic'; supported: nearest, linear"):
        cf.io.load_onnx(tiny_graph([cubic], [scales]))


def test_opsets_out_of_range_and_other_domains_are_refused():
    with pytest.raises(ValueError, match="uses opset 8; supported are opsets 9 to"):
        cf.io.load_onnx(tiny_graph([helper.make_node("Relu", ["x"], ["y"])], opset=8))
    custom = helper.make_node("Relu", ["x"], ["y"], domain="com.example")
    with pytest.raises(ValueError, match="is in domain 'com.example'"):
        cf.io.load_onnx(tiny_graph([custom]))


def test_files_that_are_not_onnx_models(tmp_path):
    (tmp_path / "junk.onnx").write_bytes(b"\x00\x01 not a protobuf at all \xff" * 10)
    with pytest.raises(ValueError, match="not an ONNX model"):
        cf.io.load_onnx(tmp_path / "junk.onnx")
    with pytest.raises(FileNotFoundError):
        cf.io.load_onnx(tmp_path / "missing.onnx")
    with pytest.raises(TypeError, match="must be a path or bytes"):
        cf.io.load_onnx(42)


def test_the_wrong_number_of_inputs_is_a_type_error():
    model = cf.io.load_onnx(tiny_graph([helper.make_node("Relu", ["x"], ["y"])]))
    with pytest.raises(TypeError, match=r"takes 1 inputs \(x\), but got 2"):
        model(np.zeros((1, 2, 4, 4), np.float32), np.zeros(1, np.float32))


@pytest.mark.parametrize("auto_pad", ["SAME_UPPER", "SAME_LOWER", "VALID"])
@pytest.mark.parametrize("op", ["Conv", "MaxPool", "AveragePool"])
def test_auto_pad_matches_onnxruntime(auto_pad, op):
    rng = np.random.default_rng(0)
    inits = []
    inputs = ["x"]
    attrs = {"kernel_shape": [3, 2], "strides": [2, 3], "auto_pad": auto_pad}
    if op == "Conv":
        inits = [numpy_helper.from_array(rng.normal(size=(3, 2, 3, 2)).astype(np.float32), "w")]
        inputs.append("w")
    shape = [1, 2, 7, 8]
    node = helper.make_node(op, inputs, ["y"], **attrs)
    data = tiny_graph(
        [node], inits, inputs=[helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, shape)]
    )
    x = rng.normal(size=shape).astype(np.float32)
    (expected,) = ort.InferenceSession(data, providers=["CPUExecutionProvider"]).run(None, {"x": x})
    np.testing.assert_allclose(run(cf.io.load_onnx(data), x)[0], expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("include", [0, 1])
@pytest.mark.parametrize("op", ["MaxPool", "AveragePool"])
def test_asymmetric_pool_pads_match_onnxruntime(op, include):
    attrs = {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [0, 1, 2, 1]}
    if op == "AveragePool":
        attrs["count_include_pad"] = include
    data = tiny_graph(
        [helper.make_node(op, ["x"], ["y"], **attrs)],
        inputs=[helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 2, 6, 7])],
    )
    x = np.random.default_rng(0).normal(size=(1, 2, 6, 7)).astype(np.float32)
    (expected,) = ort.InferenceSession(data, providers=["CPUExecutionProvider"]).run(None, {"x": x})
    np.testing.assert_allclose(run(cf.io.load_onnx(data), x)[0], expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("mode", ["nearest", "linear"])
@pytest.mark.parametrize(
    "coordinates", ["half_pixel", "asymmetric", "align_corners", "pytorch_half_pixel", "tf_half_pixel_for_nn"]
)
def test_resize_matches_onnxruntime(mode, coordinates):
    if mode == "linear" and coordinates == "tf_half_pixel_for_nn":
        pytest.skip("tf_half_pixel_for_nn is defined for nearest only")
    sizes = numpy_helper.from_array(np.array([1, 2, 7, 3], dtype=np.int64), "sizes")
    node = helper.make_node(
        "Resize", ["x", "", "", "sizes"], ["y"], mode=mode, coordinate_transformation_mode=coordinates
    )
    data = tiny_graph([node], [sizes], opset=13)
    x = np.random.default_rng(0).normal(size=(1, 2, 4, 4)).astype(np.float32)
    (expected,) = ort.InferenceSession(data, providers=["CPUExecutionProvider"]).run(None, {"x": x})
    np.testing.assert_allclose(run(cf.io.load_onnx(data), x)[0], expected, rtol=1e-5, atol=1e-6)


def test_lrn_elu_clip_and_softmax_match_onnxruntime():
    nodes = [
        helper.make_node("LRN", ["x"], ["l"], size=3, alpha=1e-2, beta=0.7, bias=2.0),
        helper.make_node("Elu", ["l"], ["e"], alpha=0.5),
        helper.make_node("Clip", ["e", "lo", "hi"], ["c"]),
        helper.make_node("Softmax", ["c"], ["y"], axis=1),
    ]
    bounds = [
        numpy_helper.from_array(np.array(v, dtype=np.float32), n) for n, v in (("lo", -0.3), ("hi", 0.8))
    ]
    data = tiny_graph(nodes, bounds)
    x = np.random.default_rng(0).normal(size=(1, 2, 4, 4)).astype(np.float32)
    (expected,) = ort.InferenceSession(data, providers=["CPUExecutionProvider"]).run(None, {"x": x})
    np.testing.assert_allclose(run(cf.io.load_onnx(data), x)[0], expected, rtol=1e-5, atol=1e-6)


def test_convforge_summary_prints_an_onnx_file(tmp_path, capsys):
    from convforge.cli import main

    path = tmp_path / "net.onnx"
    path.write_bytes(conv_graph())
    assert main(["summary", str(path)]) == 0  # the declared input 1x2x4x4 by default
    out = capsys.readouterr().out
    assert "conv" in out and "Conv2d" in out and "total: 153 parameters" in out


def test_summary_of_a_broken_onnx_file_is_one_error_line(tmp_path, capsys):
    from convforge.cli import main

    (tmp_path / "bad.onnx").write_bytes(b"garbage")
    assert main(["summary", str(tmp_path / "bad.onnx")]) != 0
    assert "not an ONNX model" in capsys.readouterr().err


def test_dropout_drops_only_after_train():
    nodes = [helper.make_node("Dropout", ["x", "ratio"], ["y"])]
    ratio = numpy_helper.from_array(np.array(0.5, dtype=np.float32), "ratio")
    model = cf.io.load_onnx(tiny_graph(nodes, [ratio]))
    x = np.ones((1, 2, 4, 4), dtype=np.float32)
    np.testing.assert_array_equal(run(model, x)[0], x)
    model.train()
    cf.manual_seed(0)
    dropped = run(model, x)[0]
    assert set(np.unique(dropped)) == {0.0, 2.0}


def test_a_newer_opset_loads_when_not_strict():
    import onnx.defs

    data = tiny_graph([helper.make_node("Relu", ["x"], ["y"])], opset=onnx.defs.onnx_opset_version() + 1)
    with pytest.raises(ValueError, match="supported are opsets 9 to"):
        cf.io.load_onnx(data)
    assert cf.io.load_onnx(data, strict_opset=False).opset == onnx.defs.onnx_opset_version()


def residual_graph():
    """conv -> BN -> relu -> (+ the conv's output) -> relu: the BN must not overwrite the conv's output."""
    rng = np.random.default_rng(3)
    inits = [
        numpy_helper.from_array(rng.normal(size=(2, 2, 3, 3)).astype(np.float32), "w"),
        *(
            numpy_helper.from_array(rng.uniform(0.5, 1.5, 2).astype(np.float32), n)
            for n in ("s", "b", "m", "v")
        ),
    ]
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
        helper.make_node("BatchNormalization", ["c", "s", "b", "m", "v"], ["n"]),
        helper.make_node("Relu", ["n"], ["r"]),
        helper.make_node("Add", ["r", "c"], ["a"]),
        helper.make_node("Relu", ["a"], ["y"]),
    ]
    return tiny_graph(nodes, inits)


def test_inference_in_place_gives_the_autograd_result_and_leaves_inputs_alone():
    data = residual_graph()
    x = np.random.default_rng(4).normal(size=(1, 2, 4, 4)).astype(np.float32)
    kept = x.copy()
    (expected,) = ort_run_bytes(data, x)
    model = cf.io.load_onnx(data)
    # the conv's output feeds the BN and the Add: the BN computes a new buffer, the rest reuse theirs
    assert [s.inplace is not None for s in model._steps] == [False, False, True, True, True]
    (fast,) = run(model, x)  # no_grad, eval: in place
    with cf.enable_grad():
        slow = model(cf.tensor(x)).array  # recording the graph: never in place
    np.testing.assert_allclose(fast, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(slow, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(x, kept)


def test_a_forward_hook_sees_the_values_as_they_were_produced():
    model = cf.io.load_onnx(residual_graph())
    seen = {}

    def keep(module, args, out):
        seen[type(module).__name__] = (out, out.array.copy())  # the tensor and its values then

    for module in model.modules():
        if isinstance(module, layers.BatchNormalization):
            module.register_forward_hook(keep)
    x = np.random.default_rng(5).normal(size=(1, 2, 4, 4)).astype(np.float32)
    run(model, x)
    tensor, values = seen["BatchNormalization"]
    np.testing.assert_array_equal(tensor.array, values)  # the relu after it did not overwrite it


def ort_run_bytes(data, *inputs):
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    return session.run(None, {i.name: x for i, x in zip(session.get_inputs(), inputs)})
