"""ResNet with basic blocks (He et al., 2016): ResNet-18 and small variants."""

from __future__ import annotations

from collections.abc import Sequence

from .. import nn


class BasicBlock(nn.Module):
    """Two 3x3 conv + BN layers with an identity (or 1x1 projection) shortcut.

    Shape: (N, in_channels, H, W) -> (N, channels, ceil(H/stride), ceil(W/stride))
    """

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


class ResNet(nn.Module):
    """A ResNet of basic blocks.

    ``stem='imagenet'`` is the 7x7/2 convolution + 3x3/2 max pool of the paper;
    ``stem='small'`` (default) is one 3x3 convolution, for small images (CIFAR, digits).
    Each stage after the first halves the resolution. The state_dict keys equal
    torchvision's ResNet for the same configuration.

    Shape: (N, in_channels, H, W) -> (N, num_classes)
    """

    def __init__(
        self,
        num_classes: int = 10,
        in_channels: int = 1,
        blocks: Sequence[int] = (1, 1, 1),
        widths: Sequence[int] = (16, 32, 64),
        stem: str = "small",
        input_size: int | None = None,
    ) -> None:
        super().__init__()
        if len(blocks) != len(widths) or not blocks:
            raise ValueError(
                f"ResNet: blocks and widths must be non-empty and of equal length, "
                f"but got blocks={tuple(blocks)}, widths={tuple(widths)}"
            )
        if stem not in ("small", "imagenet"):
            raise ValueError(f"ResNet: stem must be 'small' or 'imagenet', but got stem={stem!r}")
        self.input_size = input_size  # unused: the network adapts through global pooling
        if stem == "imagenet":
            self.conv1 = nn.Conv2d(in_channels, widths[0], 7, stride=2, padding=3, bias=False)
            self.bn1 = nn.BatchNorm2d(widths[0])
            self.relu = nn.ReLU()
            self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        else:
            self.conv1 = nn.Conv2d(in_channels, widths[0], 3, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(widths[0])
            self.relu = nn.ReLU()
            self.maxpool = nn.Identity()
        channels = widths[0]
        for index, (count, width) in enumerate(zip(blocks, widths)):
            stride = 1 if index == 0 else 2
            layer = [BasicBlock(channels, width, stride)]
            layer += [BasicBlock(width, width) for _ in range(count - 1)]
            setattr(self, f"layer{index + 1}", nn.Sequential(*layer))
            channels = width
        self.num_stages = len(blocks)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(channels, num_classes)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        for index in range(self.num_stages):
            x = getattr(self, f"layer{index + 1}")(x)
        return self.fc(self.avgpool(x).flatten(1))


def resnet18(num_classes: int = 1000, in_channels: int = 3) -> ResNet:
    """ResNet-18 as in the paper and torchvision (11,689,512 parameters for 1000 classes)."""
    return ResNet(num_classes, in_channels, (2, 2, 2, 2), (64, 128, 256, 512), stem="imagenet")
