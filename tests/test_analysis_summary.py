"""cf.analysis.summary: per-layer shapes, parameters, MACs, receptive fields, FC equivalents.

The oracles: torch (the same ResNet-18 built from torch.nn, counted with torch's hooks; the
support of an input gradient for receptive fields) and numbers worked out by hand (LeNet).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import convforge as cf
from convforge import models
from convforge.analysis import ModelSummary, summary

F = cf.nn.functional


# ---- ResNet-18 against the same network built in torch -------------------------------
class TorchBasicBlock(torch.nn.Module):
    def __init__(self, in_channels: int, channels: int, stride: int) -> None:
        super().__init__()
        self.conv1 = torch.nn.Conv2d(in_channels, channels, 3, stride, 1, bias=False)
        self.bn1 = torch.nn.BatchNorm2d(channels)
        self.conv2 = torch.nn.Conv2d(channels, channels, 3, 1, 1, bias=False)
        self.bn2 = torch.nn.BatchNorm2d(channels)
        self.downsample = None
        if stride != 1 or in_channels != channels:
            self.downsample = torch.nn.Sequential(
                torch.nn.Conv2d(in_channels, channels, 1, stride, bias=False), torch.nn.BatchNorm2d(channels)
            )

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(out)) + identity)


def torch_resnet18() -> torch.nn.Module:
    """torchvision's resnet18 layout, written out (torchvision is not installed)."""
    layers = [
        torch.nn.Conv2d(3, 64, 7, 2, 3, bias=False),
        torch.nn.BatchNorm2d(64),
        torch.nn.ReLU(),
        torch.nn.MaxPool2d(3, 2, 1),
    ]
    channels = 64
    for index, width in enumerate((64, 128, 256, 512)):
        layers += [TorchBasicBlock(channels, width, 1 if index == 0 else 2), TorchBasicBlock(width, width, 1)]
        channels = width
    layers += [torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(512, 1000)]
    return torch.nn.Sequential(*layers)


def torch_counts(model: torch.nn.Module, shape) -> tuple[list[tuple[int, ...]], int]:
    """Output shapes of the convolutions in execution order, and the MACs of conv + linear."""
    shapes, macs = [], []

    def count(module, args, output):
        if isinstance(module, torch.nn.Conv2d):
            shapes.append(tuple(output.shape))
            kh, kw = module.kernel_size
            macs.append(output.numel() * module.in_channels // module.groups * kh * kw)
        else:
            macs.append(output.numel() * module.in_features)

    for module in model.modules():
        if isinstance(module, (torch.nn.Conv2d, torch.nn.Linear)):
            module.register_forward_hook(count)
    with torch.no_grad():
        model.eval()(torch.zeros(1, *shape))
    return shapes, sum(macs)


@pytest.fixture(scope="module")
def resnet18_summary() -> ModelSummary:
    return summary(models.resnet18(), (3, 224, 224))


def test_resnet18_has_torchvisions_parameter_count(resnet18_summary):
    assert resnet18_summary.total_params == 11_689_512
    assert resnet18_summary.trainable_params == 11_689_512
    assert sum(p.numel() for p in torch_resnet18().parameters()) == 11_689_512
    assert sum(layer.params for layer in resnet18_summary.layers) == 11_689_512


def test_resnet18_macs_and_shapes_match_torch(resnet18_summary):
    shapes, macs = torch_counts(torch_resnet18(), (3, 224, 224))
    convs = [layer.output_shape for layer in resnet18_summary.layers if layer.kind == "Conv2d"]
    assert convs == shapes
    assert resnet18_summary.total_macs == macs == 1_814_073_344
    assert resnet18_summary.total_macs == pytest.approx(1.82e9, rel=0.005)  # the usual "1.82 GMACs"
    assert resnet18_summary.output_shape == (1, 1000)


def test_resnet18_receptive_field_is_435(resnet18_summary):
    last_conv = [layer for layer in resnet18_summary.layers if layer.kind == "Conv2d"][-1]
    assert last_conv.name == "layer4.1.conv2"
    field = last_conv.receptive_field
    assert (field.size, field.jump, field.start) == ((435, 435), (32, 32), (0, 0))
    assert resnet18_summary.layers[-1].receptive_field.whole


def test_resnet18_table_prints_totals(resnet18_summary):
    text = str(resnet18_summary)
    assert text.splitlines()[0] == "ResNet on a 3x224x224 input"
    assert "total: 11,689,512 parameters (11,689,512 trainable), 1,814,073,344 MACs = 1.81 GMACs" in text
    assert "layer4.1.conv2" in text and "size 435, jump 32, start 0" in text


# ---- LeNet by hand --------------------------------------------------------------------
# 1x28x28 input. conv 5x5 pad 2 -> 6 maps, pool 2, conv 5x5 -> 16 maps, pool 2, 400-120-84-10.
# params: conv1 6*(1*5*5)+6 = 156; conv2 16*(6*5*5)+16 = 2,416; fc 400*120+120 = 48,120,
#         120*84+84 = 10,164, 84*10+10 = 850.
# MACs:   conv1 (6*28*28 outputs) * 25 = 117,600; conv2 (16*10*10) * 6*25 = 240,000;
#         fc 48,000 + 10,080 + 840.
# receptive field (size, jump, start): conv1 (5, 1, 0 + (2 - 2)*1 = 0); pool (5 + 1*1 = 6, 2,
#         0 + 0.5*1 = 0.5); conv2 (6 + 4*2 = 14, 2, 0.5 + 2*2 = 4.5); pool (14 + 1*2 = 16, 4,
#         4.5 + 0.5*2 = 5.5); then the whole input.
# FC equivalent: conv1 784 -> 6*28*28 = 4,704: 784*4,704 + 4,704 = 3,692,640;
#         conv2 6*14*14 = 1,176 -> 1,600: 1,176*1,600 + 1,600 = 1,883,200.
LENET_28 = [
    # name, kind, output shape, params, MACs, (size, jump, start) or "whole", FC equivalent
    ("features.0", "Conv2d", (1, 6, 28, 28), 156, 117_600, (5, 1, 0), 3_692_640),
    ("features.1", "ReLU", (1, 6, 28, 28), 0, 0, (5, 1, 0), None),
    ("features.2", "MaxPool2d", (1, 6, 14, 14), 0, 0, (6, 2, 0.5), None),
    ("features.3", "Conv2d", (1, 16, 10, 10), 2_416, 240_000, (14, 2, 4.5), 1_883_200),
    ("features.4", "ReLU", (1, 16, 10, 10), 0, 0, (14, 2, 4.5), None),
    ("features.5", "MaxPool2d", (1, 16, 5, 5), 0, 0, (16, 4, 5.5), None),
    ("classifier.0", "Flatten", (1, 400), 0, 0, "whole", None),
    ("classifier.1", "Linear", (1, 120), 48_120, 48_000, "whole", None),
    ("classifier.2", "ReLU", (1, 120), 0, 0, "whole", None),
    ("classifier.3", "Linear", (1, 84), 10_164, 10_080, "whole", None),
    ("classifier.4", "ReLU", (1, 84), 0, 0, "whole", None),
    ("classifier.5", "Linear", (1, 10), 850, 840, "whole", None),
]


def test_lenet_numbers_worked_out_by_hand():
    result = summary(models.LeNet5(input_size=28), (1, 28, 28))
    assert len(result.layers) == len(LENET_28)
    for layer, (name, kind, shape, params, macs, field, dense) in zip(result.layers, LENET_28):
        assert (layer.name, layer.kind, layer.output_shape) == (name, kind, shape)
        assert (layer.params, layer.macs, layer.dense_params) == (params, macs, dense), name
        rf = layer.receptive_field
        if field == "whole":
            assert rf.whole and rf.size == (28, 28), name
        else:
            assert (rf.size, rf.jump, rf.start) == tuple((v, v) for v in field), name
    assert result.total_params == 156 + 2_416 + 48_120 + 10_164 + 850 == 61_706
    assert result.total_macs == 117_600 + 240_000 + 48_000 + 10_080 + 840 == 416_520


def test_lenet_table_lists_every_layer():
    lines = str(summary(models.LeNet5(input_size=28), (1, 28, 28))).splitlines()
    row = next(line for line in lines if line.startswith("features.3 "))
    expected = "features.3  Conv2d  16x10x10  2,416  240,000  size 14, jump 2, start 4.5  1,883,200"
    assert " ".join(row.split()) == " ".join(expected.split())
    assert "total: 61,706 parameters (61,706 trainable), 416,520 MACs = 416.52 kMACs" in "\n".join(lines)


# ---- receptive fields against the support of torch's input gradient ------------------
# Layers: ("conv", kernel, stride, padding, dilation), ("avg", kernel, stride, padding),
# ("convT", kernel, stride, padding, output_padding). Kernels and strides may be (h, w).
PLAIN_STACKS = {
    "three 3x3": [("conv", 3, 1, 1, 1)] * 3,
    "strided, dilated, pooled": [
        ("conv", 3, 2, 1, 1),
        ("conv", 3, 1, 2, 2),
        ("avg", 2, 2, 0),
        ("conv", 5, 1, 0, 1),
    ],
    "per-dimension": [("conv", (3, 5), (2, 1), (1, 2), 1), ("conv", 3, (1, 2), 0, (2, 1))],
    "even kernels": [("conv", 4, 2, 1, 1), ("avg", 3, 1, 1), ("conv", 2, 1, 0, 1)],
}
TRANSPOSED_STACKS = {
    "upsample x2 (k3 s2 p1 op1)": [("conv", 3, 2, 1, 1), ("convT", 3, 2, 1, 1), ("conv", 3, 1, 1, 1)],
    "FCN-like (k2 s2)": [("conv", 3, 1, 1, 1), ("avg", 2, 2, 0), ("conv", 3, 1, 1, 1), ("convT", 2, 2, 0, 0)],
}


def _pair(value) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else tuple(value)


def build(layers) -> tuple[cf.nn.Module, torch.nn.Module]:
    """The stack as one-channel convforge and torch networks (torch: all weights 1, no bias,
    so no term cancels and the gradient's support is exactly the receptive field)."""
    ours, theirs = [], []
    for kind, kernel, stride, padding, extra in (
        layer if len(layer) == 5 else (*layer, 1) for layer in layers
    ):
        kernel, stride, padding = _pair(kernel), _pair(stride), _pair(padding)
        if kind == "conv":
            dilation = _pair(extra)
            ours.append(cf.nn.Conv2d(1, 1, kernel, stride, padding, dilation, bias=False))
            theirs.append(torch.nn.Conv2d(1, 1, kernel, stride, padding, dilation, bias=False))
        elif kind == "avg":
            ours.append(cf.nn.AvgPool2d(kernel, stride, padding))
            theirs.append(torch.nn.AvgPool2d(kernel, stride, padding))
        else:
            output_padding = _pair(extra)
            ours.append(cf.nn.ConvTranspose2d(1, 1, kernel, stride, padding, output_padding, bias=False))
            theirs.append(torch.nn.ConvTranspose2d(1, 1, kernel, stride, padding, output_padding, bias=False))
    net = torch.nn.Sequential(*theirs)
    for module in net.modules():
        if hasattr(module, "weight"):
            torch.nn.init.ones_(module.weight)
    return cf.nn.Sequential(*ours), net


def gradient_supports(net: torch.nn.Module, size: int, axis: int) -> list[tuple[int, int] | None]:
    """Per output position along ``axis`` (the other axis in the middle): the first and last
    input index with a nonzero gradient along ``axis``."""
    x = torch.ones(1, 1, size, size, requires_grad=True)
    y = net(x)
    supports = []
    middle = y.shape[3 - axis] // 2
    for o in range(y.shape[2 + axis]):
        index = (0, 0, o, middle) if axis == 0 else (0, 0, middle, o)
        (grad,) = torch.autograd.grad(y[index], x, retain_graph=True)
        hit = np.flatnonzero(grad[0, 0].abs().sum(dim=1 - axis).numpy() > 0)
        supports.append((int(hit[0]), int(hit[-1])) if len(hit) else None)
    return supports


def predicted_window(field, axis: int, o: int, size: int) -> tuple[float, float]:
    centre = field.start[axis] + o * field.jump[axis]
    half = (field.size[axis] - 1) / 2
    return max(0, centre - half), min(size - 1, centre + half)


@pytest.mark.parametrize("name", sorted(PLAIN_STACKS))
@pytest.mark.parametrize("axis", [0, 1])
def test_receptive_field_is_the_support_of_the_input_gradient(name, axis):
    ours, theirs = build(PLAIN_STACKS[name])
    size = 29
    field = summary(ours, (1, size, size)).layers[-1].receptive_field
    supports = gradient_supports(theirs, size, axis)
    for o, support in enumerate(supports):
        assert support == predicted_window(field, axis, o, size), (name, axis, o)


@pytest.mark.parametrize("name", sorted(TRANSPOSED_STACKS))
@pytest.mark.parametrize("axis", [0, 1])
def test_receptive_field_of_transposed_stacks_bounds_the_gradient_support(name, axis):
    """After a transposed convolution of stride s the outputs of one period read windows that
    are not evenly spaced: (start, jump) is the evenly spaced fit, each real window within
    jump_before * (s - 1) / (2s) of it, and the widest window has the field's size."""
    ours, theirs = build(TRANSPOSED_STACKS[name])
    size = 24
    layers = summary(ours, (1, size, size)).layers
    index = next(i for i, layer in enumerate(layers) if layer.kind == "ConvTranspose2d")
    stride = _pair(TRANSPOSED_STACKS[name][index][2])[axis]
    slack = layers[index - 1].receptive_field.jump[axis] * (stride - 1) / (2 * stride)
    field = layers[-1].receptive_field
    widest = 0
    for o, (first, last) in enumerate(gradient_supports(theirs, size, axis)):
        low, high = predicted_window(field, axis, o, size)
        assert low - slack <= first and last <= high + slack, (name, axis, o)
        widest = max(widest, last - first + 1)
    assert widest == field.size[axis]


# ---- what the walk through the autograd graph does ------------------------------------
class FunctionalPool(cf.nn.Module):
    """A pooling outside any module: its geometry is unknown to the summary."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = cf.nn.Conv2d(1, 2, 3, padding=1)
        self.relu = cf.nn.ReLU()

    def forward(self, x):
        return self.relu(F.max_pool2d(self.conv(x), 2))


def test_geometry_changed_outside_modules_is_reported_unknown_not_wrong():
    layers = summary(FunctionalPool(), (1, 8, 8)).layers
    assert [layer.name for layer in layers] == ["conv", "relu"]
    assert layers[0].receptive_field.size == (3, 3)
    assert layers[1].receptive_field is None
    assert "?" in str(summary(FunctionalPool(), (1, 8, 8)))


class SharedConv(cf.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = cf.nn.Conv2d(2, 2, 3, padding=1)

    def forward(self, x):
        return self.conv(self.conv(x))


def test_a_layer_called_twice_counts_its_parameters_once_and_its_macs_twice():
    result = summary(SharedConv(), (2, 6, 6))
    assert [layer.params for layer in result.layers] == [2 * 2 * 9 + 2, 0]
    assert [layer.macs for layer in result.layers] == [2 * 36 * 2 * 9] * 2
    assert result.total_params == 38
    assert [layer.receptive_field.size for layer in result.layers] == [(3, 3), (5, 5)]


def test_residual_sum_sees_its_widest_branch():
    result = summary(models.BasicBlock(4, 8, stride=2), (4, 9, 9))
    last = result.layers[-1]
    assert last.kind == "ReLU" and last.output_shape == (1, 8, 5, 5)
    # conv1 3x3/2 then conv2 3x3: 3 + 2*2 = 7 cells; the 1x1/2 shortcut sees 1
    assert last.receptive_field.size == (7, 7) and last.receptive_field.jump == (2, 2)


def test_transposed_convolution_macs_and_fc_equivalent():
    # 2x2 -> 4x4 with a 3x3 kernel: each of the 3*2*2 inputs spreads over 9 taps into 5 channels
    layer = summary(cf.nn.ConvTranspose2d(3, 5, 3), (3, 2, 2)).layers[0]
    assert layer.output_shape == (1, 5, 4, 4)
    assert layer.macs == 3 * 2 * 2 * 5 * 9
    assert layer.params == 3 * 5 * 9 + 5
    assert layer.dense_params == (3 * 4) * (5 * 16) + 5 * 16


def test_summary_restores_training_mode():
    model = models.LeNet5(input_size=16)
    summary(model, (1, 16, 16))
    assert model.training


# ---- errors ----------------------------------------------------------------------------
def test_summary_rejects_what_is_not_a_module():
    with pytest.raises(TypeError, match="summary: model must be a convforge.nn.Module, but got Conv2d"):
        summary(torch.nn.Conv2d(1, 1, 3), (1, 8, 8))


@pytest.mark.parametrize("shape", [(28,), (1, 0, 28), (1, 28.0, 28), ()])
def test_summary_rejects_a_bad_input_shape(shape):
    with pytest.raises(ValueError, match=r"summary: input_shape must be one sample's \(C, \*spatial\)"):
        summary(models.LeNet5(input_size=28), shape)


def test_summary_passes_on_the_layers_error_for_a_mismatched_input():
    with pytest.raises(ValueError, match="channels"):
        summary(models.LeNet5(input_size=28), (3, 28, 28))


def test_macs_are_per_sample():
    result = summary(cf.nn.Conv2d(2, 4, 3), (2, 5, 5))
    assert result.total_macs == 4 * 9 * 2 * 9 == math.prod((4, 3, 3)) * 2 * 9
