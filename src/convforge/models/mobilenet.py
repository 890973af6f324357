"""MobileNet-style network (Howard et al., 2017): depthwise separable blocks."""

from __future__ import annotations

from collections.abc import Sequence

from .. import nn
from ._layers import conv_bn_relu


class MobileNetBlock(nn.Module):
    """Depthwise 3x3 conv + BN + ReLU, then pointwise 1x1 conv + BN + ReLU.

    Parameters: ``9*C_in`` (depthwise) + ``C_in*C_out`` (pointwise) + BN affine terms,
    against ``9*C_in*C_out`` for a dense 3x3 convolution.

    Shape: (N, in_channels, H, W) -> (N, out_channels, ceil(H/stride), ceil(W/stride))
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__()
        self.depthwise = nn.Conv2d(
            in_channels, in_channels, 3, stride=stride, padding=1, groups=in_channels, bias=False
        )
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.pointwise = nn.Conv2d(in_channels, out_channels, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU()

    def forward(self, x):
        x = self.relu(self.bn1(self.depthwise(x)))
        return self.relu(self.bn2(self.pointwise(x)))


class MobileNet(nn.Module):
    """A stem convolution and a stack of :class:`MobileNetBlock`, then global pooling.

    ``stages`` lists ``(out_channels, stride)`` per block.

    Shape: (N, in_channels, H, W) -> (N, num_classes)
    """

    def __init__(
        self,
        num_classes: int = 10,
        in_channels: int = 1,
        stages: Sequence[tuple[int, int]] = ((32, 1), (64, 2), (128, 1), (128, 2)),
        stem_channels: int = 16,
        input_size: int | None = None,
    ) -> None:
        super().__init__()
        self.stem = nn.Sequential(*conv_bn_relu(in_channels, stem_channels))
        blocks, channels = [], stem_channels
        for out_channels, stride in stages:
            blocks.append(MobileNetBlock(channels, out_channels, stride))
            channels = out_channels
        self.blocks = nn.Sequential(*blocks)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(channels, num_classes)

    def forward(self, x):
        return self.fc(self.pool(self.blocks(self.stem(x))).flatten(1))
