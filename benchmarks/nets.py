"""The benchmark's networks, written once for any ``nn`` namespace (``torch.nn`` or ``cf.nn``).

The torch references are built from the same source as the convforge side, so the two
mirror each other by construction; their state-dict keys equal those of ``cf.models``
(ResNet-18, LeNet-5) and torchvision's (ResNet-18, MobileNetV2), which the benchmark checks
by loading one side's state dict into the other with ``strict=True``.

- :func:`resnet18` mirrors ``cf.models.resnet18`` (and torchvision's ``resnet18``).
- :func:`mobilenet_v2` is torchvision's MobileNetV2 (inverted residuals, ReLU6, width 1.0).
  ``cf.models`` has no MobileNetV2, so the convforge side is built by this function from
  ``cf.nn`` modules as a user would, unless ``cf.models.mobilenet_v2`` exists.
- :func:`lenet5` mirrors ``cf.models.LeNet5`` with ReLU.
"""

from __future__ import annotations

# MobileNetV2's inverted-residual settings: (expansion t, channels c, repeats n, stride s)
MOBILENET_V2_SETTINGS = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)


def _relu6(nn):
    """``nn.ReLU6``, or for a namespace without one a module computing ``clamp(x, 0, 6)``."""
    if hasattr(nn, "ReLU6"):
        return nn.ReLU6

    class ReLU6(nn.Module):
        def forward(self, x):
            return x.clamp(0.0, 6.0)

    return ReLU6


def resnet18(nn, num_classes: int = 1000):
    """ResNet-18 with the layout and attribute names of ``cf.models.resnet18``."""

    class BasicBlock(nn.Module):
        def __init__(self, in_channels: int, channels: int, stride: int = 1) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(in_channels, channels, 3, stride=stride, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(channels)
            self.relu = nn.ReLU()
            self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(channels)
            self.downsample = None
            if stride != 1 or in_channels != channels:
                self.downsample = nn.Sequential(
                    nn.Conv2d(in_channels, channels, 1, stride=stride, bias=False), nn.BatchNorm2d(channels)
                )

        def forward(self, x):
            identity = x if self.downsample is None else self.downsample(x)
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            return self.relu(out + identity)

    class ResNet18(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)
            self.bn1 = nn.BatchNorm2d(64)
            self.relu = nn.ReLU()
            self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
            channels = 64
            for index, width in enumerate((64, 128, 256, 512)):
                stride = 1 if index == 0 else 2
                blocks = [BasicBlock(channels, width, stride), BasicBlock(width, width)]
                setattr(self, f"layer{index + 1}", nn.Sequential(*blocks))
                channels = width
            self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
            self.fc = nn.Linear(512, num_classes)

        def forward(self, x):
            x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
            x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
            return self.fc(self.avgpool(x).flatten(1))

    return ResNet18()


def mobilenet_v2(nn, num_classes: int = 1000, dropout: float = 0.2):
    """torchvision's MobileNetV2 (width 1.0): the same modules, names and state-dict keys."""
    relu6 = _relu6(nn)

    def conv_bn_act(in_channels: int, out_channels: int, kernel: int = 3, stride: int = 1, groups: int = 1):
        padding = (kernel - 1) // 2
        return nn.Sequential(
            nn.Conv2d(in_channels, out_channels, kernel, stride, padding, groups=groups, bias=False),
            nn.BatchNorm2d(out_channels),
            relu6(),
        )

    class InvertedResidual(nn.Module):
        def __init__(self, inp: int, oup: int, stride: int, expand_ratio: int) -> None:
            super().__init__()
            hidden = inp * expand_ratio
            self.use_res_connect = stride == 1 and inp == oup
            layers = [conv_bn_act(inp, hidden, kernel=1)] if expand_ratio != 1 else []
            layers += [
                conv_bn_act(hidden, hidden, stride=stride, groups=hidden),
                nn.Conv2d(hidden, oup, 1, 1, 0, bias=False),
                nn.BatchNorm2d(oup),
            ]
            self.conv = nn.Sequential(*layers)

        def forward(self, x):
            return x + self.conv(x) if self.use_res_connect else self.conv(x)

    class MobileNetV2(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            channels = 32
            features = [conv_bn_act(3, channels, stride=2)]
            for t, c, n, s in MOBILENET_V2_SETTINGS:
                for i in range(n):
                    features.append(InvertedResidual(channels, c, s if i == 0 else 1, t))
                    channels = c
            features.append(conv_bn_act(channels, 1280, kernel=1))
            self.features = nn.Sequential(*features)
            self.pool = nn.AdaptiveAvgPool2d((1, 1))
            self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(1280, num_classes))

        def forward(self, x):
            return self.classifier(self.pool(self.features(x)).flatten(1))

    return MobileNetV2()


def lenet5(nn, num_classes: int = 10, in_channels: int = 1, input_size: int = 28):
    """``cf.models.LeNet5`` (ReLU): its layers, padding rule and keys."""
    pad2 = 0 if input_size // 2 >= 9 else 2
    size = (input_size + 4 - 4) // 2
    size = (size + 2 * pad2 - 4) // 2

    class LeNet5(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.features = nn.Sequential(
                nn.Conv2d(in_channels, 6, kernel_size=5, padding=2),
                nn.ReLU(),
                nn.MaxPool2d(2),
                nn.Conv2d(6, 16, kernel_size=5, padding=pad2),
                nn.ReLU(),
                nn.MaxPool2d(2),
            )
            self.classifier = nn.Sequential(
                nn.Flatten(),
                nn.Linear(16 * size * size, 120),
                nn.ReLU(),
                nn.Linear(120, 84),
                nn.ReLU(),
                nn.Linear(84, num_classes),
            )

        def forward(self, x):
            return self.classifier(self.features(x))

    return LeNet5()
