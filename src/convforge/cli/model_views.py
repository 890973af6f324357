"""``convforge summary | features``: what a model of the zoo costs, and what a trained one sees."""

from __future__ import annotations

import argparse
from pathlib import Path

from ._common import CommandError, _positive_int, _shape
from .training import load_trained, model_input


def _summary_model(name: str, shape: tuple[int, ...], num_classes: int | None):
    """The model ``convforge summary`` describes, built for a ``(C, H, W)`` sample."""
    from .. import models

    if name.endswith(".onnx"):  # an ONNX file: its graph, imported as convforge layers
        from ..io import load_onnx

        try:
            return load_onnx(name)
        except (OSError, ValueError) as error:
            raise CommandError(f"summary: {error}") from None
    channels, spatial = shape[0], shape[1:]
    if name == "resnet18":
        return models.resnet18(num_classes=num_classes or 1000, in_channels=channels)
    if name == "lenet" and len(set(spatial)) != 1:
        raise CommandError(f"--input: lenet needs a square image, but got {'x'.join(map(str, spatial))}")
    return models.create(name, num_classes=num_classes or 10, in_channels=channels, input_size=spatial[0])


def _summary_model_name(value: str) -> str:
    from ..models import MODELS

    if value.endswith(".onnx") or value in ("resnet18", *MODELS):
        return value
    names = ", ".join(("resnet18", *sorted(MODELS)))
    raise argparse.ArgumentTypeError(f"invalid choice: {value!r} (choose from {names}, or a FILE.onnx)")


def _default_summary_shape(name: str) -> tuple[int, ...]:
    if name.endswith(".onnx"):  # the graph's declared input, unknown sizes as 1
        from ..io.onnx_import import declared_input_shape

        try:
            return declared_input_shape(name)
        except (OSError, ValueError) as error:
            raise CommandError(f"summary: {error}") from None
    return (3, 224, 224) if name == "resnet18" else (1, 28, 28)


def cmd_summary(args: argparse.Namespace) -> int:
    from ..analysis import summary

    shape = args.input or _default_summary_shape(args.model)
    if len(shape) == 4:
        if shape[0] != 1:
            raise CommandError(
                f"--input: the summary counts one sample, so N must be 1, but got N={shape[0]}"
            )
        shape = shape[1:]
    if len(shape) != 3 or min(shape) < 1:
        raise CommandError(
            f"--input must be CxHxW or 1xCxHxW of positive sizes, but got {'x'.join(map(str, shape))}"
        )
    print(summary(_summary_model(args.model, shape, args.num_classes), shape))
    return 0


def cmd_features(args: argparse.Namespace) -> int:
    from .. import nn
    from ..train import predict_logits
    from ..viz.features import feature_maps, plot_features

    model, metadata = load_trained(args.checkpoint)
    x = model_input(args.image, metadata, args.invert)
    maps = feature_maps(model, x)
    first_conv = next((m for m in model.modules() if isinstance(m, nn.Conv2d)), None)
    if first_conv is None or not maps:
        raise CommandError(f"checkpoint {args.checkpoint!r}: the model has no 2-D convolution to show")
    label = int(predict_logits(model, x[None]).argmax())
    title = f"{metadata['model']} sees {Path(args.image).name} and predicts {label}"
    figure = plot_features(x, first_conv.weight.array, maps, args.out, max_maps=args.max_maps, title=title)
    layers = ", ".join(f"{name} {fmap.shape[0]}x{fmap.shape[1]}x{fmap.shape[2]}" for name, fmap in maps)
    print(
        f"{metadata['model']} predicts {label} for {args.image}; first-layer kernels and the maps of "
        f"{layers} -> {args.out} ({figure.image.width}x{figure.image.height})"
    )
    return 0


# --------------------------------------------------------------------------------------
# registration
# --------------------------------------------------------------------------------------


def add_summary(commands) -> None:
    from ..models import MODELS

    summary = commands.add_parser(
        "summary",
        help="per-layer output shapes, parameters, MACs and receptive fields of a model",
        description="Run one random sample through a model of the zoo and print, per layer, the output "
        "shape, the parameters, the multiply-accumulates, the receptive field (size, jump, start) and "
        "the parameters of the fully connected layer with the same input and output; then the totals.",
    )
    summary.add_argument(
        "model",
        metavar="MODEL",
        type=_summary_model_name,
        help=f"resnet18 (ImageNet ResNet-18), one of the zoo: {', '.join(sorted(MODELS))}, or a FILE.onnx",
    )
    summary.add_argument(
        "--input",
        type=_shape,
        default=None,
        metavar="[1x]CxHxW",
        help="one sample's shape (default: 3x224x224 for resnet18, else 1x28x28)",
    )
    summary.add_argument(
        "--num-classes", type=_positive_int, default=None, help="outputs (default: 1000 resnet18, else 10)"
    )
    summary.set_defaults(handler=cmd_summary)


def add_features(commands) -> None:
    features = commands.add_parser(
        "features",
        help="PNG of a trained model's first-layer kernels and the feature maps of each conv layer",
        description="Run one image through a model saved by 'convforge train' (preprocessed as "
        "'convforge predict' does) and draw the input, the first-layer kernels (red > 0 > blue) and the "
        "output of every 2-D convolution, each map stretched from its minimum (dark) to its maximum "
        "(yellow).",
    )
    features.add_argument(
        "checkpoint",
        metavar="CKPT",
        help="a model.safetensors written by 'convforge train' (or a 0.1 model.npz)",
    )
    features.add_argument("image", metavar="IMAGE", help="PNG or JPEG file")
    features.add_argument(
        "--max-maps", type=_positive_int, default=16, help="feature maps shown per layer (default 16)"
    )
    features.add_argument(
        "--invert",
        choices=("auto", "yes", "no"),
        default="auto",
        help="invert gray levels, as in predict (auto: when the image is mostly light)",
    )
    features.add_argument("-o", "--out", default="features.png", help="PNG to write (default features.png)")
    features.set_defaults(handler=cmd_features)


COMMANDS = (add_summary, add_features)
