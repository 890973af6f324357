"""What the fair benchmark times: the layer cases, the models, the training runs, the targets.

Plain data, no torch and no convforge imports: the driver and both worker processes read it.
The targets are those of issue 12, section 2 (ratio = torch time / our time, 2 threads).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

# layer groups and their geomean targets (forward and forward+backward alike)
LAYER_TARGETS = {
    "3x3": 1.5,  # ResNet-18's 3x3 stride-1 layers
    "strided": 1.0,
    "1x1": 1.0,
    "stem": 1.0,
    "grouped": 1.0,
    "depthwise": 1.5,
    "dilated": 1.0,
    "3-D": 1.0,
    "transposed": 1.0,
    "large": 3.0,
}
WORST_LAYER = 0.7  # no single layer below this
MODEL_TARGET = 1.0
TRAIN_TARGET = 1.0
CONTROL_TOLERANCE = 0.05  # torch block A / torch block B must be 1.00 +/- this
LAYER_TOLERANCE = 1e-4  # max |ours - torch| / max |torch|, per output
MODEL_TOLERANCE = 1e-3
BATCHES = (1, 8)
MODES = ("forward", "fwd+bwd")  # forward under no_grad; forward+backward through autograd


@dataclass(frozen=True)
class Layer:
    """One convolution as torch's ``F.conv*d`` / ``F.conv_transpose*d`` takes it.

    ``c_in`` / ``c_out`` are the channels of the input and of the output.
    """

    group: str
    name: str
    spatial: tuple[int, ...]
    c_in: int
    c_out: int
    kernel: int
    stride: int | tuple[int, ...] = 1
    padding: int = 0
    dilation: int = 1
    groups: int = 1
    transposed: bool = False
    quick: bool = False

    @property
    def dims(self) -> int:
        return len(self.spatial)

    def weight_shape(self) -> tuple[int, ...]:
        k = (self.kernel,) * self.dims
        if self.transposed:  # (C_in, C_out / groups, *k)
            return (self.c_in, self.c_out // self.groups, *k)
        return (self.c_out, self.c_in // self.groups, *k)

    def input_shape(self, batch: int) -> tuple[int, ...]:
        return (batch, self.c_in, *self.spatial)

    def _strides(self) -> tuple[int, ...]:
        return (self.stride,) * self.dims if isinstance(self.stride, int) else tuple(self.stride)

    def output_shape(self, batch: int) -> tuple[int, ...]:
        k, d, p = self.kernel, self.dilation, self.padding
        if self.transposed:
            sizes = [(n - 1) * s - 2 * p + d * (k - 1) + 1 for n, s in zip(self.spatial, self._strides())]
        else:
            sizes = [(n + 2 * p - d * (k - 1) - 1) // s + 1 for n, s in zip(self.spatial, self._strides())]
        return (batch, self.c_out, *sizes)

    def macs(self, batch: int) -> int:
        """Multiply-adds of the forward pass."""
        taps = self.kernel**self.dims
        if self.transposed:  # every input pixel scatters its taps to c_out / groups channels
            pixels = 1
            for size in self.spatial:
                pixels *= size
            return batch * pixels * self.c_in * (self.c_out // self.groups) * taps
        out = 1
        for size in self.output_shape(batch)[2:]:
            out *= size
        return batch * out * self.c_out * (self.c_in // self.groups) * taps

    def as_dict(self) -> dict:
        return asdict(self)


def layers() -> list[Layer]:
    """The layer grid of issue 12: ResNet-18, ResNeXt, MobileNetV2 and odd layers."""
    cases = [
        Layer("3x3", "3x3 64 @56", (56, 56), 64, 64, 3, 1, 1, quick=True),
        Layer("3x3", "3x3 128 @28", (28, 28), 128, 128, 3, 1, 1),
        Layer("3x3", "3x3 256 @14", (14, 14), 256, 256, 3, 1, 1, quick=True),
        Layer("3x3", "3x3 512 @7", (7, 7), 512, 512, 3, 1, 1),
        Layer("strided", "3x3/2 64->128 @56", (56, 56), 64, 128, 3, 2, 1),
        Layer("strided", "3x3/2 128->256 @28", (28, 28), 128, 256, 3, 2, 1),
        Layer("strided", "3x3/2 256->512 @14", (14, 14), 256, 512, 3, 2, 1),
        Layer("1x1", "1x1/2 64->128 @56", (56, 56), 64, 128, 1, 2),
        Layer("1x1", "1x1/2 256->512 @14", (14, 14), 256, 512, 1, 2),
        Layer("1x1", "pw1x1 24->144 @56", (56, 56), 24, 144, 1, quick=True),
        Layer("1x1", "pw1x1 960->160 @7", (7, 7), 960, 160, 1),
        Layer("stem", "stem 7x7/2 3->64 @224", (224, 224), 3, 64, 7, 2, 3, quick=True),
        Layer("grouped", "resnext 3x3 g32 128 @56", (56, 56), 128, 128, 3, 1, 1, groups=32),
        Layer("grouped", "resnext 3x3 g32 256 @28", (28, 28), 256, 256, 3, 1, 1, groups=32, quick=True),
        Layer("grouped", "resnext 3x3 g32 512 @14", (14, 14), 512, 512, 3, 1, 1, groups=32),
        Layer("grouped", "resnext 3x3 g32 1024 @7", (7, 7), 1024, 1024, 3, 1, 1, groups=32),
    ]
    depthwise = [(32, 112, 1), (96, 112, 2), (144, 56, 1), (192, 28, 1), (576, 14, 1), (960, 7, 1)]
    cases += [
        Layer("depthwise", f"dw3x3/{s} {c} @{size}", (size, size), c, c, 3, s, 1, groups=c, quick=c == 144)
        for c, size, s in depthwise
    ]
    cases += [
        Layer("dilated", "3x3 d2 128 @28", (28, 28), 128, 128, 3, 1, 2, dilation=2),
        Layer("dilated", "3x3 d4 256 @14", (14, 14), 256, 256, 3, 1, 4, dilation=4),
        Layer("3-D", "3x3x3 64 @16x28x28", (16, 28, 28), 64, 64, 3, 1, 1),
        Layer("3-D", "3x3x3 32 @8x56x56", (8, 56, 56), 32, 32, 3, 1, 1),
        Layer("transposed", "convT 4x4/2 512->256 @4", (4, 4), 512, 256, 4, 2, 1, transposed=True),
        Layer(
            "transposed", "convT 4x4/2 256->128 @8", (8, 8), 256, 128, 4, 2, 1, transposed=True, quick=True
        ),
        Layer("transposed", "convT 4x4/2 128->64 @16", (16, 16), 128, 64, 4, 2, 1, transposed=True),
        Layer("transposed", "convT1d 16/8 64->32 @1024", (1024,), 64, 32, 16, 8, 4, transposed=True),
        Layer("large", "dw31x31 128 @56", (56, 56), 128, 128, 31, 1, 15, groups=128),
        Layer("large", "dw13x13 128 @56", (56, 56), 128, 128, 13, 1, 6, groups=128, quick=True),
        Layer("large", "dense 11x11 32 @56", (56, 56), 32, 32, 11, 1, 5),
    ]
    return cases


# the model level: (model, batch, mode, in --quick); mode "inference" (eval, no_grad) or "train" (one SGD step)
MODELS = (
    ("resnet18", 1, "inference", True),
    ("resnet18", 8, "inference", False),
    ("resnet18", 8, "train", False),
    ("mobilenet_v2", 1, "inference", True),
    ("mobilenet_v2", 8, "inference", False),
    ("mobilenet_v2", 8, "train", False),
)
