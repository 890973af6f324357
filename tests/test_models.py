"""The model zoo: output shapes, gradient flow, and equality with a torch twin."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn as tnn

import convforge as cf
from conftest import assert_close, to_torch
from convforge import models


# ---- torch twins: the same architectures written in torch, parameter names identical ----
class TorchLeNet5(tnn.Module):
    def __init__(self, num_classes, in_channels, input_size):
        super().__init__()
        pad2 = 0 if input_size // 2 >= 9 else 2
        size = ((input_size // 2) + 2 * pad2 - 4) // 2
        self.features = tnn.Sequential(
            tnn.Conv2d(in_channels, 6, 5, padding=2),
            tnn.ReLU(),
            tnn.MaxPool2d(2),
            tnn.Conv2d(6, 16, 5, padding=pad2),
            tnn.ReLU(),
            tnn.MaxPool2d(2),
        )
        self.classifier = tnn.Sequential(
            tnn.Flatten(),
            tnn.Linear(16 * size * size, 120),
            tnn.ReLU(),
            tnn.Linear(120, 84),
            tnn.ReLU(),
            tnn.Linear(84, num_classes),
        )

    def forward(self, x):
        return self.classifier(self.features(x))


class TorchBasicBlock(tnn.Module):
    def __init__(self, cin, c, stride=1):
        super().__init__()
        self.conv1 = tnn.Conv2d(cin, c, 3, stride, 1, bias=False)
        self.bn1 = tnn.BatchNorm2d(c)
        self.relu = tnn.ReLU()
        self.conv2 = tnn.Conv2d(c, c, 3, 1, 1, bias=False)
        self.bn2 = tnn.BatchNorm2d(c)
        self.downsample = None
        if stride != 1 or cin != c:
            self.downsample = tnn.Sequential(tnn.Conv2d(cin, c, 1, stride, bias=False), tnn.BatchNorm2d(c))

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x))))) + identity)


class TorchResNet(tnn.Module):
    def __init__(self, num_classes, in_channels, blocks, widths, stem):
        super().__init__()
        if stem == "imagenet":
            self.conv1 = tnn.Conv2d(in_channels, widths[0], 7, 2, 3, bias=False)
            self.maxpool = tnn.MaxPool2d(3, 2, 1)
        else:
            self.conv1 = tnn.Conv2d(in_channels, widths[0], 3, 1, 1, bias=False)
            self.maxpool = tnn.Identity()
        self.bn1 = tnn.BatchNorm2d(widths[0])
        self.relu = tnn.ReLU()
        channels = widths[0]
        self.stages = len(blocks)
        for i, (count, width) in enumerate(zip(blocks, widths)):
            stride = 1 if i == 0 else 2
            layer = [TorchBasicBlock(channels, width, stride)] + [
                TorchBasicBlock(width, width) for _ in range(count - 1)
            ]
            setattr(self, f"layer{i + 1}", tnn.Sequential(*layer))
            channels = width
        self.avgpool = tnn.AdaptiveAvgPool2d((1, 1))
        self.fc = tnn.Linear(channels, num_classes)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        for i in range(self.stages):
            x = getattr(self, f"layer{i + 1}")(x)
        return self.fc(torch.flatten(self.avgpool(x), 1))


class TorchMobileNetBlock(tnn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.depthwise = tnn.Conv2d(cin, cin, 3, stride, 1, groups=cin, bias=False)
        self.bn1 = tnn.BatchNorm2d(cin)
        self.pointwise = tnn.Conv2d(cin, cout, 1, bias=False)
        self.bn2 = tnn.BatchNorm2d(cout)
        self.relu = tnn.ReLU()

    def forward(self, x):
        return self.relu(self.bn2(self.pointwise(self.relu(self.bn1(self.depthwise(x))))))


class TorchMobileNet(tnn.Module):
    def __init__(self, num_classes, in_channels, stages, stem_channels):
        super().__init__()
        self.stem = tnn.Sequential(
            tnn.Conv2d(in_channels, stem_channels, 3, padding=1, bias=False),
            tnn.BatchNorm2d(stem_channels),
            tnn.ReLU(),
        )
        blocks, channels = [], stem_channels
        for cout, stride in stages:
            blocks.append(TorchMobileNetBlock(channels, cout, stride))
            channels = cout
        self.blocks = tnn.Sequential(*blocks)
        self.pool = tnn.AdaptiveAvgPool2d(1)
        self.fc = tnn.Linear(channels, num_classes)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(self.blocks(self.stem(x))), 1))


class TorchShuffleUnit(tnn.Module):
    def __init__(self, cin, cout, groups, stride):
        super().__init__()
        branch_out = cout - cin if stride == 2 else cout
        bottleneck = max(groups, (cout // 4) // groups * groups)
        self.stride = stride
        self.compress = tnn.Conv2d(cin, bottleneck, 1, groups=groups, bias=False)
        self.bn1 = tnn.BatchNorm2d(bottleneck)
        self.shuffle = tnn.ChannelShuffle(groups)
        self.depthwise = tnn.Conv2d(bottleneck, bottleneck, 3, stride, 1, groups=bottleneck, bias=False)
        self.bn2 = tnn.BatchNorm2d(bottleneck)
        self.expand = tnn.Conv2d(bottleneck, branch_out, 1, groups=groups, bias=False)
        self.bn3 = tnn.BatchNorm2d(branch_out)
        self.relu = tnn.ReLU()
        self.shortcut_pool = tnn.AvgPool2d(3, 2, 1) if stride == 2 else None

    def forward(self, x):
        branch = self.shuffle(self.relu(self.bn1(self.compress(x))))
        branch = self.bn3(self.expand(self.bn2(self.depthwise(branch))))
        if self.stride == 1:
            return self.relu(x + branch)
        return self.relu(torch.cat([self.shortcut_pool(x), branch], 1))


class TorchShuffleNet(tnn.Module):
    def __init__(self, num_classes, in_channels, stages, groups, stem_channels):
        super().__init__()
        self.stem = tnn.Sequential(
            tnn.Conv2d(in_channels, stem_channels, 3, padding=1, bias=False),
            tnn.BatchNorm2d(stem_channels),
            tnn.ReLU(),
        )
        units, channels = [], stem_channels
        for cout, repeats in stages:
            units.append(TorchShuffleUnit(channels, cout, groups, 2))
            units += [TorchShuffleUnit(cout, cout, groups, 1) for _ in range(repeats - 1)]
            channels = cout
        self.units = tnn.Sequential(*units)
        self.pool = tnn.AdaptiveAvgPool2d(1)
        self.fc = tnn.Linear(channels, num_classes)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(self.units(self.stem(x))), 1))


def _torch_double_conv(cin, cout):
    return tnn.Sequential(
        tnn.Conv2d(cin, cout, 3, padding=1, bias=False),
        tnn.BatchNorm2d(cout),
        tnn.ReLU(),
        tnn.Conv2d(cout, cout, 3, padding=1, bias=False),
        tnn.BatchNorm2d(cout),
        tnn.ReLU(),
    )


class TorchFCN(tnn.Module):
    def __init__(self, num_classes, in_channels, width):
        super().__init__()
        self.enc1 = _torch_double_conv(in_channels, width)
        self.enc2 = _torch_double_conv(width, 2 * width)
        self.bottom = _torch_double_conv(2 * width, 4 * width)
        self.pool = tnn.MaxPool2d(2)
        self.up2 = tnn.ConvTranspose2d(4 * width, 2 * width, 2, stride=2)
        self.dec2 = _torch_double_conv(4 * width, 2 * width)
        self.up1 = tnn.ConvTranspose2d(2 * width, width, 2, stride=2)
        self.dec1 = _torch_double_conv(2 * width, width)
        self.head = tnn.Conv2d(width, num_classes, 1)

    def forward(self, x):
        s1 = self.enc1(x)
        s2 = self.enc2(self.pool(s1))
        b = self.bottom(self.pool(s2))
        u2 = self.dec2(torch.cat([self.up2(b), s2], 1))
        return self.head(self.dec1(torch.cat([self.up1(u2), s1], 1)))


# (convforge model, torch twin, input shape, output shape)
CASES = {
    "lenet-8": (
        lambda: models.LeNet5(10, 1, 8),
        lambda: TorchLeNet5(10, 1, 8),
        (4, 1, 8, 8),
        (4, 10),
    ),
    "lenet-28": (
        lambda: models.LeNet5(10, 1, 28),
        lambda: TorchLeNet5(10, 1, 28),
        (2, 1, 28, 28),
        (2, 10),
    ),
    "resnet-small": (
        lambda: models.ResNet(10, 1, (2, 1), (8, 16)),
        lambda: TorchResNet(10, 1, (2, 1), (8, 16), "small"),
        (2, 1, 12, 12),
        (2, 10),
    ),
    "resnet-imagenet-stem": (
        lambda: models.ResNet(5, 3, (1, 1), (8, 16), stem="imagenet"),
        lambda: TorchResNet(5, 3, (1, 1), (8, 16), "imagenet"),
        (2, 3, 32, 32),
        (2, 5),
    ),
    "mobilenet": (
        lambda: models.MobileNet(10, 1, ((16, 1), (24, 2)), 8),
        lambda: TorchMobileNet(10, 1, ((16, 1), (24, 2)), 8),
        (2, 1, 12, 12),
        (2, 10),
    ),
    "shufflenet": (
        lambda: models.ShuffleNet(10, 1, ((24, 2), (48, 1)), 2, 8),
        lambda: TorchShuffleNet(10, 1, ((24, 2), (48, 1)), 2, 8),
        (2, 1, 16, 16),
        (2, 10),
    ),
    "fcn": (
        lambda: models.FCN(3, 1, 4),
        lambda: TorchFCN(3, 1, 4),
        (2, 1, 16, 12),
        (2, 3, 16, 12),
    ),
}


def _twins(name):
    make_ours, make_torch, in_shape, out_shape = CASES[name]
    cf.manual_seed(0)
    ours, theirs = make_ours(), make_torch().double()
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    for p in ours.parameters():
        p.array = p.array.astype(np.float64)
    for _, buffer in ours.named_buffers():
        if buffer is not None and np.issubdtype(buffer.dtype, np.floating):
            buffer.array = buffer.array.astype(np.float64)
    return ours, theirs, in_shape, out_shape


@pytest.mark.parametrize("name", sorted(CASES))
def test_model_output_shape(name):
    make_ours, _, in_shape, out_shape = CASES[name]
    model = make_ours()
    y = model(cf.tensor(np.random.default_rng(0).standard_normal(in_shape), dtype=np.float32))
    assert y.shape == out_shape
    assert y.dtype == np.float32


@pytest.mark.parametrize("name", sorted(CASES))
def test_model_state_dict_keys_equal_torch_twin(name):
    make_ours, make_torch, _, _ = CASES[name]
    ours, theirs = make_ours().state_dict(), make_torch().state_dict()
    assert list(ours) == list(theirs)
    assert all(ours[k].shape == tuple(theirs[k].shape) for k in ours)


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("training", [True, False])
def test_model_matches_torch_twin_with_same_weights(name, training, rng):
    ours, theirs, in_shape, _ = _twins(name)
    ours.train(training)
    theirs.train(training)
    x = rng.standard_normal(in_shape)
    xt = to_torch(x, requires_grad=True)
    x_ours = cf.tensor(x, requires_grad=True)
    y_theirs, y_ours = theirs(xt), ours(x_ours)
    assert_close(y_ours, y_theirs, rtol=1e-9)
    g = rng.standard_normal(y_ours.shape)
    y_theirs.backward(torch.tensor(g))
    y_ours.backward(g)
    assert_close(x_ours.grad, xt.grad, rtol=1e-9)
    torch_params = dict(theirs.named_parameters())
    for key, p in ours.named_parameters():
        assert_close(p.grad, torch_params[key].grad, rtol=1e-9)


@pytest.mark.parametrize("name", sorted(CASES))
def test_model_gradient_reaches_every_parameter(name, rng):
    make_ours, _, in_shape, _ = CASES[name]
    model = make_ours()
    model(cf.tensor(rng.standard_normal(in_shape), dtype=np.float32)).sum().backward()
    for key, p in model.named_parameters():
        assert p.grad is not None, key
        assert np.all(np.isfinite(p.grad.array)), key
        assert np.any(p.grad.array != 0), key


def test_resnet18_has_torchvision_parameter_count():
    model = models.resnet18()
    assert sum(p.numel() for p in model.parameters()) == 11_689_512


def test_lenet_rejects_unknown_activation():
    with pytest.raises(ValueError, match="activation"):
        models.LeNet5(activation="swish")


def test_create_names_the_choices_for_an_unknown_model():
    with pytest.raises(ValueError, match="lenet"):
        models.create("alexnet")


def test_shuffle_unit_rejects_groups_not_dividing_channels():
    with pytest.raises(ValueError, match="groups"):
        models.ShuffleUnit(10, 30, groups=3, stride=2)


def test_fcn_rejects_sizes_not_divisible_by_four():
    with pytest.raises(ValueError, match="divisible by 4"):
        models.FCN()(cf.tensor(np.zeros((1, 1, 10, 12), dtype=np.float32)))
