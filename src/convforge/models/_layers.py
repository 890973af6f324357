"""Layer groups the models of the zoo share."""

from __future__ import annotations

from .. import nn


def conv_bn_relu(in_channels: int, out_channels: int) -> tuple[nn.Module, nn.Module, nn.Module]:
    """A 3x3 convolution (padding 1; no bias, the batch norm has one), batch norm and ReLU.

    Returned as three modules to splice into an ``nn.Sequential``, so the parameter names
    (``0.weight``, ``1.running_mean``, ...) are those of the modules written out.

    Shape: (N, in_channels, H, W) -> (N, out_channels, H, W)
    """
    return (
        nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(),
    )
