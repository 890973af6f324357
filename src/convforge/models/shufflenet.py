"""ShuffleNet-style network (Zhang et al., 2018): grouped 1x1 + channel shuffle + depthwise."""

from __future__ import annotations

from collections.abc import Sequence

from .. import cat, nn
from ._layers import conv_bn_relu


class ShuffleUnit(nn.Module):
    """The ShuffleNet unit.

    grouped 1x1 (bottleneck) + BN + ReLU -> channel shuffle -> depthwise 3x3 (stride) + BN ->
    grouped 1x1 + BN, then ``relu(x + branch)`` at stride 1, or at stride 2
    ``relu(cat(avgpool3x3/2(x), branch))`` with the branch producing ``out - in`` channels.

    Shape: (N, in_channels, H, W) -> (N, out_channels, H/stride, W/stride)
    """

    def __init__(self, in_channels: int, out_channels: int, groups: int = 2, stride: int = 1) -> None:
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f"ShuffleUnit: stride must be 1 or 2, but got stride={stride}")
        branch_out = out_channels - in_channels if stride == 2 else out_channels
        if stride == 1 and in_channels != out_channels:
            raise ValueError(
                f"ShuffleUnit: at stride 1 in_channels must equal out_channels, "
                f"but got {in_channels} and {out_channels}"
            )
        bottleneck = max(groups, (out_channels // 4) // groups * groups)
        if branch_out < 1 or branch_out % groups or in_channels % groups:
            raise ValueError(
                f"ShuffleUnit: groups={groups} must divide in_channels={in_channels} and the "
                f"branch's {branch_out} output channels"
            )
        self.stride = stride
        self.compress = nn.Conv2d(in_channels, bottleneck, 1, groups=groups, bias=False)
        self.bn1 = nn.BatchNorm2d(bottleneck)
        self.shuffle = nn.ChannelShuffle(groups)
        self.depthwise = nn.Conv2d(
            bottleneck, bottleneck, 3, stride=stride, padding=1, groups=bottleneck, bias=False
        )
        self.bn2 = nn.BatchNorm2d(bottleneck)
        self.expand = nn.Conv2d(bottleneck, branch_out, 1, groups=groups, bias=False)
        self.bn3 = nn.BatchNorm2d(branch_out)
        self.relu = nn.ReLU()
        self.shortcut_pool = nn.AvgPool2d(3, stride=2, padding=1) if stride == 2 else None

    def forward(self, x):
        branch = self.shuffle(self.relu(self.bn1(self.compress(x))))
        branch = self.bn3(self.expand(self.bn2(self.depthwise(branch))))
        if self.stride == 1:
            return self.relu(x + branch)
        return self.relu(cat([self.shortcut_pool(x), branch], dim=1))


class ShuffleNet(nn.Module):
    """A stem convolution, stages of :class:`ShuffleUnit` (the first of each at stride 2).

    Shape: (N, in_channels, H, W) -> (N, num_classes)
    """

    def __init__(
        self,
        num_classes: int = 10,
        in_channels: int = 1,
        stages: Sequence[tuple[int, int]] = ((48, 2), (96, 2)),
        groups: int = 2,
        stem_channels: int = 16,
        input_size: int | None = None,
    ) -> None:
        super().__init__()
        self.stem = nn.Sequential(*conv_bn_relu(in_channels, stem_channels))
        units, channels = [], stem_channels
        for out_channels, repeats in stages:
            units.append(ShuffleUnit(channels, out_channels, groups, stride=2))
            units += [ShuffleUnit(out_channels, out_channels, groups) for _ in range(repeats - 1)]
            channels = out_channels
        self.units = nn.Sequential(*units)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(channels, num_classes)

    def forward(self, x):
        return self.fc(self.pool(self.units(self.stem(x))).flatten(1))
