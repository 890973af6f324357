"""cf.io.save_onnx / cf.onnx.export: the zoo and Sequential models run in onnxruntime with the same outputs."""

from __future__ import annotations

import io

import numpy as np
import onnx
import onnxruntime as ort
import pytest

import convforge as cf
from convforge import models


def ort_run(data: bytes, *inputs: np.ndarray) -> list[np.ndarray]:
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    return session.run(None, dict(zip(names, inputs)))


def cf_run(model, *inputs):
    model.eval()
    with cf.no_grad():
        out = model(*(cf.tensor(x) for x in inputs))
    return [np.asarray(o.array) for o in (out if isinstance(out, tuple) else (out,))]


ZOO = [
    ("lenet", lambda: models.LeNet5(), (2, 1, 28, 28)),
    ("resnet_small", lambda: models.ResNet(num_classes=10, in_channels=3), (2, 3, 32, 32)),
    ("resnet18", lambda: models.resnet18(num_classes=10), (1, 3, 64, 64)),
    ("mobilenet", lambda: models.MobileNet(num_classes=10, in_channels=3), (2, 3, 32, 32)),
    ("shufflenet", lambda: models.ShuffleNet(num_classes=10, in_channels=3), (2, 3, 32, 32)),
    ("fcn", lambda: models.FCN(in_channels=3, num_classes=4), (2, 3, 16, 16)),
]


def with_running_stats(model):
    """Train-mode passes so BatchNorm's running statistics are not the initial 0 and 1."""
    model.train()
    rng = np.random.default_rng(7)
    for module in model.modules():
        if isinstance(module, cf.nn.BatchNorm2d):
            module.running_mean.array[...] = rng.uniform(-0.2, 0.2, module.running_mean.shape)
            module.running_var.array[...] = rng.uniform(0.5, 1.5, module.running_var.shape)
    return model.eval()


@pytest.mark.parametrize("name, build, shape", ZOO, ids=[z[0] for z in ZOO])
def test_zoo_models_run_in_onnxruntime_with_the_same_outputs(tmp_path, name, build, shape):
    cf.manual_seed(0)
    model = with_running_stats(build())
    x = np.random.default_rng(0).normal(size=shape).astype(np.float32)
    path = cf.io.save_onnx(model, tmp_path / f"{name}.onnx", cf.tensor(x))
    onnx.checker.check_model(onnx.load(str(path)))
    (expected,) = cf_run(model, x)
    (y,) = ort_run(path.read_bytes(), x)
    np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name, build, shape", ZOO[:4], ids=[z[0] for z in ZOO[:4]])
def test_convforge_onnx_convforge_round_trip_keeps_outputs_and_parameters(name, build, shape):
    cf.manual_seed(1)
    model = with_running_stats(build())
    x = np.random.default_rng(1).normal(size=shape).astype(np.float32)
    imported = cf.io.load_onnx(cf.onnx.export(model, (cf.tensor(x),), None))
    np.testing.assert_allclose(cf_run(imported, x)[0], cf_run(model, x)[0], rtol=1e-5, atol=1e-6)
    count = sum(p.numel() for p in model.parameters())
    assert sum(p.numel() for p in imported.parameters()) == count


LAYERS = [
    (
        "conv_stride_dilation",
        lambda: cf.nn.Sequential(cf.nn.Conv2d(3, 4, 3, stride=2, padding=2, dilation=2)),
    ),
    ("conv_asymmetric_pad", lambda: cf.nn.Sequential(cf.nn.Conv2d(3, 4, (3, 1), padding=(2, 0), bias=False))),
    ("conv_reflect", lambda: cf.nn.Sequential(cf.nn.Conv2d(3, 2, 3, padding=1, padding_mode="reflect"))),
    ("conv_replicate", lambda: cf.nn.Sequential(cf.nn.Conv2d(3, 2, 3, padding=2, padding_mode="replicate"))),
    ("conv_same", lambda: cf.nn.Sequential(cf.nn.Conv2d(3, 2, 4, padding="same"))),
    ("depthwise", lambda: cf.nn.Sequential(cf.nn.Conv2d(3, 6, 3, groups=3), cf.nn.ReLU())),
    (
        "conv_transpose",
        lambda: cf.nn.Sequential(cf.nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1, output_padding=1)),
    ),
    ("conv1d", lambda: cf.nn.Sequential(cf.nn.Flatten(2), cf.nn.Conv1d(3, 2, 5, padding=2))),
    (
        "pools",
        lambda: cf.nn.Sequential(
            cf.nn.MaxPool2d(3, 2, 1, ceil_mode=True), cf.nn.AvgPool2d(2, count_include_pad=False)
        ),
    ),
    (
        "adaptive",
        lambda: cf.nn.Sequential(cf.nn.AdaptiveAvgPool2d((2, 2)), cf.nn.Flatten(), cf.nn.Linear(12, 3)),
    ),
    (
        "activations",
        lambda: cf.nn.Sequential(cf.nn.LeakyReLU(0.3), cf.nn.Sigmoid(), cf.nn.Tanh(), cf.nn.GELU()),
    ),
    ("softmax", lambda: cf.nn.Sequential(cf.nn.Flatten(), cf.nn.Linear(3 * 64, 5), cf.nn.LogSoftmax(dim=1))),
    ("batchnorm_dropout", lambda: cf.nn.Sequential(cf.nn.BatchNorm2d(3), cf.nn.Dropout(0.5), cf.nn.ReLU())),
]


@pytest.mark.parametrize("name, build", LAYERS, ids=[layer[0] for layer in LAYERS])
def test_sequential_models_of_convforge_layers_match_onnxruntime(name, build):
    cf.manual_seed(2)
    model = with_running_stats(build())
    x = np.random.default_rng(2).normal(size=(2, 3, 8, 8)).astype(np.float32)
    data = cf.onnx.export(model, (cf.tensor(x),), None)
    np.testing.assert_allclose(ort_run(data, x)[0], cf_run(model, x)[0], rtol=1e-4, atol=1e-5)


class TwoHeads(cf.nn.Module):
    """Functional code outside layers: residual sum, slicing, concatenation, clamp, two outputs."""

    def __init__(self):
        super().__init__()
        self.conv = cf.nn.Conv2d(3, 4, 3, padding=1)

    def forward(self, x, y):
        z = self.conv(x) + y
        half = cf.cat([z[:, :2], z[:, 2:] * 0.5], dim=1).clamp(-1.0, 1.0)
        return half.mean(dim=(2, 3)), (z**2).sum(dim=1, keepdim=True)


def test_functional_code_and_several_inputs_and_outputs_export():
    cf.manual_seed(3)
    model = TwoHeads()
    x = np.random.default_rng(3).normal(size=(2, 3, 5, 5)).astype(np.float32)
    y = np.random.default_rng(4).normal(size=(2, 4, 5, 5)).astype(np.float32)
    buffer = io.BytesIO()
    cf.onnx.export(
        model, (cf.tensor(x), cf.tensor(y)), buffer, input_names=["x", "y"], output_names=["m", "s"]
    )
    proto = onnx.load_from_string(buffer.getvalue())
    assert [i.name for i in proto.graph.input] == ["x", "y"]
    assert [o.name for o in proto.graph.output] == ["m", "s"]
    for got, expected in zip(ort_run(buffer.getvalue(), x, y), cf_run(model, x, y)):
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def test_the_weights_and_running_statistics_keep_their_state_dict_names():
    model = models.ResNet(num_classes=10, in_channels=3)
    data = cf.onnx.export(model, (cf.randn(1, 3, 16, 16),), None)
    names = {init.name for init in onnx.load_from_string(data).graph.initializer}
    expected = {k for k in model.state_dict() if not k.endswith("num_batches_tracked")}  # not used in eval
    assert expected <= names and "layer1.0.bn1.running_var" in names


def test_dynamic_axes_let_onnxruntime_run_other_batch_sizes():
    cf.manual_seed(4)
    model = with_running_stats(models.ResNet(num_classes=10, in_channels=3))
    x = cf.randn(2, 3, 16, 16)
    data = cf.onnx.export(
        model,
        (x,),
        None,
        input_names=["images"],
        output_names=["logits"],
        dynamic_axes={"images": {0: "batch"}, "logits": [0]},
    )
    proto = onnx.load_from_string(data)
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    for batch in (1, 5):
        xb = np.random.default_rng(batch).normal(size=(batch, 3, 16, 16)).astype(np.float32)
        np.testing.assert_allclose(ort_run(data, xb)[0], cf_run(model, xb)[0], rtol=1e-4, atol=1e-5)


def test_export_params_false_makes_the_weights_graph_inputs():
    model = cf.nn.Sequential(cf.nn.Linear(4, 3))
    proto = onnx.load_from_string(cf.onnx.export(model, (cf.randn(2, 4),), None, export_params=False))
    assert len(proto.graph.initializer) == 0
    assert {i.name for i in proto.graph.input} == {"input", "0.weight", "0.bias"}


def test_a_torch_style_export_call_runs_unchanged(tmp_path, capsys):
    model = models.LeNet5()
    dummy = cf.randn(1, 1, 28, 28)
    cf.onnx.export(
        model,
        dummy,
        str(tmp_path / "lenet.onnx"),
        export_params=True,
        verbose=True,
        input_names=["input"],
        output_names=["output"],
        opset_version=13,
        do_constant_folding=True,
        dynamic_axes={"input": {0: "batch_size"}, "output": {0: "batch_size"}},
    )
    assert "convforge (float[batch_size,1,28,28] input)" in capsys.readouterr().out
    proto = onnx.load(str(tmp_path / "lenet.onnx"))
    assert proto.opset_import[0].version == 13
    np.testing.assert_allclose(
        ort_run(proto.SerializeToString(), dummy.array)[0], cf_run(model, dummy.array)[0], atol=1e-5
    )


def test_the_model_mode_is_restored_after_export():
    model = models.LeNet5().train()
    cf.onnx.export(model, (cf.randn(1, 1, 28, 28),), None)
    assert model.training


def test_operations_without_an_onnx_translation_are_named():
    class Flipper(cf.nn.Module):
        def forward(self, x):
            return x.flip(1)

    with pytest.raises(ValueError, match="the operation Flip has no ONNX translation"):
        cf.onnx.export(Flipper(), (cf.randn(1, 2, 3),), None)


def test_bad_arguments_are_refused():
    with pytest.raises(TypeError, match="model must be a cf.nn.Module"):
        cf.onnx.export(object(), (cf.randn(1),), None)
    with pytest.raises(ValueError, match="opset_version must be from 13"):
        cf.onnx.export(models.LeNet5(), (cf.randn(1, 1, 28, 28),), None, opset_version=9)
    with pytest.raises(TypeError, match=r"args\[0\] must be a Tensor"):
        cf.onnx.export(models.LeNet5(), ("image",), None)
    with pytest.raises(ValueError, match="dynamic_axes names 'nope'"):
        cf.onnx.export(models.LeNet5(), (cf.randn(1, 1, 28, 28),), None, dynamic_axes={"nope": [0]})


@pytest.mark.parametrize("opset", [13, 18, 21, onnx.defs.onnx_opset_version()])
def test_every_export_opset_reimports_with_the_same_outputs(opset):
    cf.manual_seed(5)
    model = with_running_stats(models.ShuffleNet(num_classes=10, in_channels=3))
    x = np.random.default_rng(5).normal(size=(2, 3, 32, 32)).astype(np.float32)
    data = cf.onnx.export(model, (cf.tensor(x),), None, opset_version=opset)
    assert onnx.load_from_string(data).opset_import[0].version == opset
    np.testing.assert_allclose(cf_run(cf.io.load_onnx(data), x)[0], cf_run(model, x)[0], rtol=1e-5, atol=1e-6)


class InPlace(cf.nn.Module):
    """In-place writes: the later operations must see the written values."""

    def __init__(self):
        super().__init__()
        self.conv = cf.nn.Conv2d(3, 4, 3)
        self.relu = cf.nn.ReLU(inplace=True)

    def forward(self, x):
        y = self.relu(self.conv(x))
        y.mul_(2.0)
        y.add_(-1.0)
        return y.clamp_(-0.5, 1.5) + 0.0


def test_in_place_operations_export_the_values_they_write():
    cf.manual_seed(6)
    model = InPlace()
    x = np.random.default_rng(6).normal(size=(2, 3, 6, 6)).astype(np.float32)
    data = cf.onnx.export(model, (cf.tensor(x),), None)
    np.testing.assert_allclose(ort_run(data, x)[0], cf_run(model, x)[0], rtol=1e-5, atol=1e-6)


def test_an_exported_and_reimported_model_shows_the_same_feature_maps():
    from convforge.viz.features import feature_maps

    cf.manual_seed(7)
    model = models.LeNet5()
    imported = cf.io.load_onnx(cf.onnx.export(model, (cf.randn(1, 1, 28, 28),), None))
    x = np.random.default_rng(7).random((1, 28, 28)).astype(np.float32)
    ours, theirs = feature_maps(imported, x), feature_maps(model, x)
    assert (
        [fmap.shape for _, fmap in ours] == [fmap.shape for _, fmap in theirs] == [(6, 28, 28), (16, 10, 10)]
    )
    for (_, a), (_, b) in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


MORE_LAYERS = {
    "activations_a": lambda: cf.nn.Sequential(
        cf.nn.ELU(), cf.nn.CELU(), cf.nn.SELU(), cf.nn.SiLU(), cf.nn.Mish()
    ),
    "activations_b": lambda: cf.nn.Sequential(
        cf.nn.Hardswish(), cf.nn.Hardsigmoid(), cf.nn.Hardtanh(), cf.nn.ReLU6()
    ),
    "activations_c": lambda: cf.nn.Sequential(
        cf.nn.Softplus(), cf.nn.Softsign(), cf.nn.LogSigmoid(), cf.nn.PReLU()
    ),
    "shrinks": lambda: cf.nn.Sequential(cf.nn.Hardshrink(), cf.nn.Softshrink(), cf.nn.Tanhshrink()),
    "glu": lambda: cf.nn.GLU(dim=1),
    "norms": lambda: cf.nn.Sequential(
        cf.nn.GroupNorm(2, 4), cf.nn.InstanceNorm2d(4, affine=True), cf.nn.LayerNorm([8, 8])
    ),
    "lrn_pads": lambda: cf.nn.Sequential(
        cf.nn.LocalResponseNorm(3), cf.nn.ZeroPad2d(1), cf.nn.ReflectionPad2d(2)
    ),
    "shuffles": lambda: cf.nn.Sequential(cf.nn.ChannelShuffle(2), cf.nn.PixelShuffle(2)),
    "upsample_nearest": lambda: cf.nn.Upsample(scale_factor=2),
    "upsample_bilinear": lambda: cf.nn.Upsample(scale_factor=(2, 3), mode="bilinear"),
    "upsample_bicubic": lambda: cf.nn.Upsample(size=(5, 7), mode="bicubic", align_corners=True),
}


@pytest.mark.parametrize("name", MORE_LAYERS)
def test_more_convforge_layers_export_to_onnxruntime(name):
    cf.manual_seed(8)
    model = MORE_LAYERS[name]()
    x = np.random.default_rng(8).normal(size=(2, 4, 8, 8)).astype(np.float32)
    data = cf.onnx.export(model, (cf.tensor(x),), None)
    np.testing.assert_allclose(ort_run(data, x)[0], cf_run(model, x)[0], rtol=1e-5, atol=1e-6)
