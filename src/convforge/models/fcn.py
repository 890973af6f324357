"""A small fully convolutional U-Net that upsamples with transposed convolution."""

from __future__ import annotations

from .. import cat, nn
from ._layers import conv_bn_relu


def _double_conv(in_channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(*conv_bn_relu(in_channels, out_channels), *conv_bn_relu(out_channels, out_channels))


class FCN(nn.Module):
    """Encoder (two 2x down-samplings), decoder (two 2x2/2 transposed convolutions) with
    skip connections concatenated as in U-Net, and a 1x1 classifier per pixel.

    Shape: (N, in_channels, H, W) -> (N, num_classes, H, W), H and W divisible by 4.
    """

    def __init__(self, num_classes: int = 2, in_channels: int = 1, width: int = 8) -> None:
        super().__init__()
        self.enc1 = _double_conv(in_channels, width)
        self.enc2 = _double_conv(width, 2 * width)
        self.bottom = _double_conv(2 * width, 4 * width)
        self.pool = nn.MaxPool2d(2)
        self.up2 = nn.ConvTranspose2d(4 * width, 2 * width, 2, stride=2)
        self.dec2 = _double_conv(4 * width, 2 * width)
        self.up1 = nn.ConvTranspose2d(2 * width, width, 2, stride=2)
        self.dec1 = _double_conv(2 * width, width)
        self.head = nn.Conv2d(width, num_classes, 1)

    def forward(self, x):
        if x.shape[-1] % 4 or x.shape[-2] % 4:
            raise ValueError(f"FCN: height and width must be divisible by 4, but got input shape {x.shape}")
        skip1 = self.enc1(x)
        skip2 = self.enc2(self.pool(skip1))
        bottom = self.bottom(self.pool(skip2))
        up2 = self.dec2(cat([self.up2(bottom), skip2], dim=1))
        up1 = self.dec1(cat([self.up1(up2), skip1], dim=1))
        return self.head(up1)
