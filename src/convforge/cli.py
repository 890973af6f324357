"""The ``convforge`` command line.

    convforge train                      train LeNet on the bundled digits (the main job)
    convforge evaluate CKPT              accuracy of a saved model on its test set
    convforge predict CKPT IMAGE...      classify PNG/JPEG images with a saved model
    convforge shape | explain | animate | filter | summary | features
                                         see what a convolution does (shapes, sums, GIFs, images)

Bad arguments end the program with a one-line message and exit status 2; errors found
while running (a corrupt file, say) with a one-line message and exit status 1.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

DIGITS_SPLIT = {"test_fraction": 0.2, "seed": 0}
# The 8x8 digits are shown to the network at 16x16 (each pixel as a 2x2 block): LeNet's two
# 2x2 poolings would otherwise leave a 2x2 map, and the test accuracy stalls near 97 %.
DIGITS_UPSCALE = 2


class CommandError(Exception):
    """A problem to report as one line, without a traceback."""


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive integer, but got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, but got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive number, but got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, but got {value}")
    return value


# --------------------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------------------
def _load_dataset(data_dir: str | None, upscale: int = 1):
    """(train_x, train_y, test_x, test_y, description): digits, or MNIST IDX files.

    ``upscale`` repeats every pixel ``upscale`` x ``upscale`` times (nearest neighbour).
    """
    from . import data

    if data_dir is None:
        train_x, train_y, test_x, test_y = data.digits_split(**DIGITS_SPLIT)
        source = "digits"
    else:
        directory = Path(data_dir)
        if not directory.is_dir():
            raise CommandError(f"--data: {data_dir!r} is not a directory of MNIST IDX files")
        train_x, train_y = data.load_mnist(directory, split="train")
        test_x, test_y = data.load_mnist(directory, split="test")
        source = f"mnist:{directory}"
    if upscale > 1:
        train_x, test_x = (_upscale(images, upscale) for images in (train_x, test_x))
    return train_x, train_y, test_x, test_y, source


def _upscale(images: np.ndarray, factor: int) -> np.ndarray:
    return images.repeat(factor, axis=-2).repeat(factor, axis=-1)


def _standardize(images: np.ndarray, mean: float, std: float) -> np.ndarray:
    return ((images - mean) / std).astype(np.float32)


# --------------------------------------------------------------------------------------
# commands
# --------------------------------------------------------------------------------------
def _build_model(name: str, in_channels: int, input_size: int, num_classes: int):
    from . import models

    return models.create(name, num_classes=num_classes, in_channels=in_channels, input_size=input_size)


def _make_optimizer(name: str, parameters, lr: float):
    from . import optim

    if name == "sgd":
        return optim.SGD(parameters, lr=lr, momentum=0.9)
    return optim.Adam(parameters, lr=lr)


def cmd_train(args: argparse.Namespace) -> int:
    import convforge as cf

    from . import io, optim, viz
    from .data import DataLoader, TensorDataset
    from .device import DeviceUnavailableError, check_available
    from .train import evaluate, fit

    try:
        check_available(args.device, "--device")
    except (ValueError, DeviceUnavailableError) as error:
        raise CommandError(str(error)) from None
    cf.manual_seed(args.seed)
    upscale = DIGITS_UPSCALE if args.data is None else 1
    train_x, train_y, test_x, test_y, source = _load_dataset(args.data, upscale)
    mean, std = float(train_x.mean()), float(train_x.std()) or 1.0
    train_x, test_x = _standardize(train_x, mean, std), _standardize(test_x, mean, std)
    num_classes = int(max(train_y.max(), test_y.max())) + 1
    in_channels, input_size = train_x.shape[1], train_x.shape[-1]
    model = _build_model(args.model, in_channels, input_size, num_classes)
    lr = args.lr if args.lr is not None else (0.05 if args.optimizer == "sgd" else 2e-3)
    optimizer = _make_optimizer(args.optimizer, model.parameters(), lr)
    scheduler = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs)
    loader = DataLoader(
        TensorDataset(train_x, train_y), batch_size=args.batch_size, shuffle=True, seed=args.seed
    )
    out = Path(args.out or Path("runs") / time.strftime("%Y%m%d-%H%M%S"))
    out.mkdir(parents=True, exist_ok=True)

    n_params = sum(p.numel() for p in model.parameters())
    print(
        f"training {args.model} ({n_params:,} parameters) on {source}: "
        f"{len(train_x)} train / {len(test_x)} test images of {in_channels}x{input_size}x{input_size}"
    )
    history = fit(
        model, optimizer, loader, test_x, test_y, args.epochs, scheduler, progress=not args.no_progress
    )
    _, accuracy, predictions = evaluate(model, test_x, test_y)
    metadata = {
        "model": args.model,
        "in_channels": int(in_channels),
        "input_size": int(input_size),
        "num_classes": num_classes,
        "mean": mean,
        "std": std,
        "upscale": upscale,
        "dataset": source,
        "split": DIGITS_SPLIT if source == "digits" else None,
        "test_accuracy": accuracy,
        "epochs": args.epochs,
        "seconds": history.seconds,
    }
    checkpoint = out / "model.npz"
    io.save_checkpoint(checkpoint, model, optimizer, epoch=args.epochs, metadata=metadata)
    viz.plot_curves(history.series(), out / "curves.png")
    matrix = viz.training.confusion_matrix(test_y, predictions, num_classes)
    viz.plot_confusion(matrix, out / "confusion.png")
    first_conv = next(m for m in model.modules() if isinstance(m, cf.nn.Conv2d))
    viz.plot_kernels(first_conv.weight.data, out / "kernels.png", title="first-layer kernels")
    print(f"test accuracy: {accuracy:.2%} ({int(matrix.trace())}/{len(test_y)}) in {history.seconds:.1f} s")
    print(f"saved {checkpoint}, curves.png, confusion.png, kernels.png in {out}")
    return 0


def _load_trained(path: str):
    from . import io

    if not Path(path).is_file():
        raise CommandError(f"checkpoint {path!r} does not exist")
    metadata = io.checkpoint_metadata(path)
    for key in ("model", "in_channels", "input_size", "num_classes", "mean", "std"):
        if key not in metadata:
            raise CommandError(f"checkpoint {path!r} was not written by 'convforge train' (no {key!r})")
    model = _build_model(
        metadata["model"], metadata["in_channels"], metadata["input_size"], metadata["num_classes"]
    )
    io.load_checkpoint(path, model)
    model.eval()
    return model, metadata


def cmd_evaluate(args: argparse.Namespace) -> int:
    from .train import evaluate

    model, metadata = _load_trained(args.checkpoint)
    data_dir = args.data
    if data_dir is None and str(metadata.get("dataset", "digits")).startswith("mnist:"):
        data_dir = metadata["dataset"].split(":", 1)[1]
    # the recorded upscale belongs to the training data; the user's own IDX files are taken as they are
    upscale = int(metadata.get("upscale", 1)) if args.data is None else 1
    _, _, test_x, test_y, source = _load_dataset(data_dir, upscale)
    if test_x.shape[1:] != (metadata["in_channels"], metadata["input_size"], metadata["input_size"]):
        raise CommandError(
            f"{source} images have shape {test_x.shape[1:]}, but the model was trained on "
            f"{(metadata['in_channels'], metadata['input_size'], metadata['input_size'])}"
        )
    test_x = _standardize(test_x, metadata["mean"], metadata["std"])
    loss, accuracy, _ = evaluate(model, test_x, test_y)
    print(f"{source}: test accuracy {accuracy:.2%} on {len(test_y)} images (loss {loss:.4f})")
    return 0


def _read_image(path: str, size: int, channels: int, invert: str, upscale: int = 1) -> np.ndarray:
    """An image as the model saw its training data: resized (box filter) to the dataset's
    resolution ``size // upscale``, then each pixel repeated ``upscale`` times per axis."""
    from PIL import Image, UnidentifiedImageError

    native = size // upscale
    try:
        with Image.open(path) as image:
            image = image.convert("L" if channels == 1 else "RGB")
            image = image.resize((native, native), Image.Resampling.BOX)
            pixels = np.asarray(image, dtype=np.float32) / 255.0
    except FileNotFoundError:
        raise CommandError(f"image {path!r} does not exist") from None
    except (UnidentifiedImageError, OSError) as error:
        raise CommandError(f"image {path!r} could not be read as PNG/JPEG: {error}") from None
    pixels = pixels[None] if channels == 1 else pixels.transpose(2, 0, 1)
    if upscale > 1:
        pixels = _upscale(pixels, upscale)
    # training digits are light ink on a dark background; a typical scan is the opposite
    if invert == "yes" or (invert == "auto" and pixels.mean() > 0.5):
        pixels = 1.0 - pixels
    return pixels


def _model_input(path: str, metadata: dict, invert: str) -> np.ndarray:
    """An image file prepared exactly as the checkpoint's training data: read, resized,
    upscaled and standardized (what predict and features feed the model)."""
    image = _read_image(
        path, metadata["input_size"], metadata["in_channels"], invert, int(metadata.get("upscale", 1))
    )
    return _standardize(image, metadata["mean"], metadata["std"])


def cmd_predict(args: argparse.Namespace) -> int:
    from .train import predict_logits

    model, metadata = _load_trained(args.checkpoint)
    images = np.stack([_model_input(path, metadata, args.invert) for path in args.images])
    logits = predict_logits(model, images)
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    probabilities = shifted / shifted.sum(axis=1, keepdims=True)
    for path, p in zip(args.images, probabilities):
        label = int(p.argmax())
        print(f"{path}: {label} (probability {p[label]:.3f})")
    return 0


# --------------------------------------------------------------------------------------
# understanding convolution: shape, explain, animate, filter, summary, features
# --------------------------------------------------------------------------------------
def _sizes(text: str) -> int | tuple[int, ...]:
    """``3`` -> 3, ``3x5`` -> (3, 5): one value for every dimension, or one per dimension."""
    try:
        values = tuple(int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be an integer or integers joined by 'x' (3x5), but got {text!r}"
        ) from None
    return values[0] if len(values) == 1 else values


def _shape(text: str) -> tuple[int, ...]:
    value = _sizes(text)
    return value if isinstance(value, tuple) else (value,)


def _padding(text: str):
    return text if text in ("same", "valid") else _sizes(text)


def _matrix(text: str) -> np.ndarray:
    """A .npy file, or numbers with rows separated by ';' (``"0 1 2; 3 4 5"``)."""
    if text.endswith(".npy"):
        try:
            return np.load(text, allow_pickle=False).astype(np.float64)
        except (OSError, ValueError) as error:
            raise argparse.ArgumentTypeError(f"cannot read {text!r} as a .npy array: {error}") from None
    rows = [row.replace(",", " ").split() for row in text.replace("\n", ";").split(";") if row.strip()]
    if not rows or len({len(row) for row in rows}) != 1:
        raise argparse.ArgumentTypeError(f"rows must all have the same length, but got {text!r}")
    try:
        matrix = np.array([[float(v) for v in row] for row in rows])
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be numbers with rows separated by ';', but got {text!r}"
        ) from None
    return matrix


def cmd_shape(args: argparse.Namespace) -> int:
    from .analysis import conv_output_shape, pool_output_shape

    if args.pool:
        conflicts = [
            flag
            for flag, set_ in (
                ("--transposed", args.transposed),
                ("--out-channels", args.out_channels is not None),
                ("--groups", args.groups != 1),
            )
            if set_
        ]
        if conflicts:
            raise CommandError(f"--pool does not take {', '.join(conflicts)}")
        if isinstance(args.padding, str):
            raise CommandError(f"--pool takes int padding, not {args.padding!r}")
        # stride defaults to the kernel for pools, as in torch
        report = pool_output_shape(
            args.input, args.kernel, args.stride, args.padding, args.dilation, args.ceil_mode, args.pool
        )
    else:
        if args.ceil_mode:
            raise CommandError("--ceil-mode applies to --pool only")
        report = conv_output_shape(
            args.input,
            args.kernel,
            args.out_channels,
            1 if args.stride is None else args.stride,
            args.padding,
            args.dilation,
            args.groups,
            args.transposed,
            args.output_padding,
        )
    print(report)
    return 0


def cmd_explain(args: argparse.Namespace) -> int:
    from .analysis import explain

    kernel = args.kernel
    if isinstance(kernel, str):
        from .viz.filters import image_filter

        kernels = image_filter(kernel).kernels
        if len(kernels) != 1:
            raise CommandError(
                f"--kernel {kernel!r} is two kernels (a gradient magnitude); pick its -x or -y"
            )
        kernel = kernels[0]
    bias = None if args.bias is None else [args.bias]
    index = tuple(int(v) for v in args.at.split(","))
    print(
        explain(
            args.input,
            kernel,
            index,
            bias,
            args.stride,
            args.padding,
            args.dilation,
            padding_mode=args.padding_mode,
        )
    )
    return 0


def _kernel_or_matrix(text: str):
    """--kernel of explain: a named filter kernel, a .npy file or a matrix."""
    from .viz.filters import KERNELS

    if text in KERNELS or text.startswith(("gaussian:", "box:")):
        return text
    return _matrix(text)


def cmd_animate(args: argparse.Namespace) -> int:
    from .viz.animate import animate_conv

    animation = animate_conv(
        args.input,
        args.kernel,
        args.stride,
        args.padding,
        args.dilation,
        args.transposed,
        args.output_padding,
        values=False if args.no_values else None,
        seed=args.seed,
        cell=args.cell,
    )
    out = animation.save(args.out)
    rows, cols = animation.output_shape
    print(f"{animation.title}: {len(animation.frames)} frames ({rows}x{cols} outputs) -> {out}")
    if args.frames:
        paths = animation.save_frames(args.frames)
        print(f"wrote {len(paths)} PNG frames to {args.frames}")
    return 0


def _vector(values: np.ndarray, limit: int = 9) -> str:
    from .analysis.explain import format_number

    if len(values) > limit:
        return f"[{len(values)} taps: {format_number(values[0])} ... {format_number(values[len(values) // 2])} ...]"
    return "[" + ", ".join(format_number(v) for v in values) + "]"


def _filter_chunked(args: argparse.Namespace) -> int:
    """``filter --chunks/--scheduler``: stream the image tile by tile through Dask."""
    try:
        from .dask import stream

        summary = stream.filter_file(
            args.image,
            args.out,
            args.kernel,
            args.padding_mode,
            args.separable,
            args.scale,
            args.chunks or 2048,
            args.scheduler or "threads",
        )
    except ImportError as error:  # dask, distributed, tifffile or zarr missing
        hint = "" if "convforge[dask]" in str(error) else " (pip install convforge[dask])"
        raise CommandError(f"{error}{hint}") from None
    print(summary)
    return 0


def cmd_filter(args: argparse.Namespace) -> int:
    from .viz import filters

    image_filter = filters.image_filter(args.kernel)
    if args.separable:
        for kernel in image_filter.kernels:
            try:
                column, row = filters.separate(kernel)
            except ValueError as error:
                raise CommandError(f"--separable: kernel {args.kernel!r}: {error}") from None
            kh, kw = kernel.shape
            print(
                f"separable: {_vector(column)}ᵀ · {_vector(row)}: {kh} + {kw} instead of {kh * kw} "
                f"multiplies per pixel"
            )
    if args.chunks is not None or args.scheduler is not None:
        return _filter_chunked(args)
    if args.scale == "none":
        raise CommandError("--scale none writes the float response: add --chunks and a .zarr or .tif output")
    image = filters.read_image(args.image)
    response = filters.filter_image(image, image_filter, args.padding_mode, args.separable)
    scale = args.scale if args.scale != "auto" else ("abs" if image_filter.signed else "clip")
    out = filters.write_image(args.out, filters.to_uint8(response, scale))
    kind = "gray" if image.ndim == 2 else "color"
    kh, kw = image_filter.shape
    print(
        f"{image_filter.name} ({kh}x{kw}) on a {image.shape[1]}x{image.shape[0]} {kind} image, "
        f"{args.padding_mode} padding, scaled by {scale} -> {out}"
    )
    return 0


def _summary_model(name: str, shape: tuple[int, ...], num_classes: int | None):
    """The model ``convforge summary`` describes, built for a ``(C, H, W)`` sample."""
    from . import models

    channels, spatial = shape[0], shape[1:]
    if name == "resnet18":
        return models.resnet18(num_classes=num_classes or 1000, in_channels=channels)
    if name == "lenet" and len(set(spatial)) != 1:
        raise CommandError(f"--input: lenet needs a square image, but got {'x'.join(map(str, spatial))}")
    return models.create(name, num_classes=num_classes or 10, in_channels=channels, input_size=spatial[0])


def cmd_summary(args: argparse.Namespace) -> int:
    from .analysis import summary

    shape = args.input or ((3, 224, 224) if args.model == "resnet18" else (1, 28, 28))
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
    from . import nn
    from .train import predict_logits
    from .viz.features import feature_maps, plot_features

    model, metadata = _load_trained(args.checkpoint)
    x = _model_input(args.image, metadata, args.invert)
    maps = feature_maps(model, x)
    first_conv = next((m for m in model.modules() if isinstance(m, nn.Conv2d)), None)
    if first_conv is None or not maps:
        raise CommandError(f"checkpoint {args.checkpoint!r}: the model has no 2-D convolution to show")
    label = int(predict_logits(model, x[None]).argmax())
    title = f"{metadata['model']} sees {Path(args.image).name} and predicts {label}"
    figure = plot_features(x, first_conv.weight.data, maps, args.out, max_maps=args.max_maps, title=title)
    layers = ", ".join(f"{name} {fmap.shape[0]}x{fmap.shape[1]}x{fmap.shape[2]}" for name, fmap in maps)
    print(
        f"{metadata['model']} predicts {label} for {args.image}; first-layer kernels and the maps of "
        f"{layers} -> {args.out} ({figure.image.width}x{figure.image.height})"
    )
    return 0


def _add_understanding_commands(commands) -> None:
    """Parsers of the commands that show what a convolution does."""
    shape = commands.add_parser(
        "shape",
        help="output shape of a convolution, transposed convolution or pooling, with its formula",
        description="Print the output shape of one layer and the formula with the numbers substituted. "
        "An impossible configuration prints why and exits with status 1.",
    )
    shape.add_argument(
        "--input", type=_shape, required=True, metavar="NxCxHxW", help="input shape, e.g. 1x3x32x32"
    )
    shape.add_argument("--kernel", type=_sizes, required=True, metavar="K", help="kernel size: 3 or 3x5")
    shape.add_argument(
        "--stride", type=_sizes, default=None, metavar="S", help="stride (default 1; pools: the kernel)"
    )
    shape.add_argument(
        "--padding", type=_padding, default=0, metavar="P", help="padding: 1, 1x2, same or valid"
    )
    shape.add_argument("--dilation", type=_sizes, default=1, metavar="D", help="dilation (default 1)")
    shape.add_argument(
        "--out-channels", type=_positive_int, default=None, help="output channels (default: input's)"
    )
    shape.add_argument("--groups", type=_positive_int, default=1, help="groups (default 1)")
    shape.add_argument("--transposed", action="store_true", help="transposed convolution")
    shape.add_argument(
        "--output-padding", type=_sizes, default=0, metavar="P", help="transposed: extra output rows/cols"
    )
    shape.add_argument("--pool", choices=("max", "avg"), help="a pooling layer instead of a convolution")
    shape.add_argument("--ceil-mode", action="store_true", help="pooling: round the output size up")
    shape.set_defaults(handler=cmd_shape)

    explain = commands.add_parser(
        "explain",
        help="write one output element as its sum of products",
        description="Write one output element of a 2-D (or any N-d, from .npy) convolution as its sum of "
        "products, term by term. Without arguments: the d2l example (3x3 input 0..8, 2x2 kernel 0..3).",
    )
    explain.add_argument(
        "--input",
        type=_matrix,
        default=np.arange(9.0).reshape(3, 3),
        metavar="MATRIX",
        help="'0 1 2; 3 4 5; 6 7 8' or FILE.npy of shape (C, H, W)",
    )
    explain.add_argument(
        "--kernel",
        type=_kernel_or_matrix,
        default=np.arange(4.0).reshape(2, 2),
        metavar="MATRIX",
        help="'0 1; 2 3', FILE.npy of shape (C_out, C_in, kH, kW), or sobel-x, gaussian:1, ...",
    )
    explain.add_argument(
        "--at", default="0,0", metavar="I,J", help="output position (o,i,j with channels); default 0,0"
    )
    explain.add_argument("--stride", type=_sizes, default=1, metavar="S")
    explain.add_argument("--padding", type=_padding, default=0, metavar="P", help="1, 1x2, same or valid")
    explain.add_argument("--dilation", type=_sizes, default=1, metavar="D")
    explain.add_argument(
        "--padding-mode", choices=("zeros", "reflect", "replicate", "circular"), default="zeros"
    )
    explain.add_argument("--bias", type=float, default=None, help="a bias added to the sum")
    explain.set_defaults(handler=cmd_explain)

    animate = commands.add_parser(
        "animate",
        help="GIF of the kernel sliding over the input (padding, stride, dilation, transposed)",
        description="Draw a 2-D convolution as a GIF in the style of the convolution-arithmetic figures: "
        "one frame per output cell. A transposed convolution is drawn as the stride-1 convolution over "
        "the zero-inserted, padded input.",
    )
    animate.add_argument("--input", type=_sizes, default=5, metavar="H[xW]", help="input size (default 5)")
    animate.add_argument("--kernel", type=_sizes, default=3, metavar="K", help="kernel size (default 3)")
    animate.add_argument("--stride", type=_sizes, default=1, metavar="S")
    animate.add_argument("--padding", type=_padding, default=0, metavar="P", help="1, 1x2, same or valid")
    animate.add_argument("--dilation", type=_sizes, default=1, metavar="D")
    animate.add_argument("--transposed", action="store_true", help="transposed convolution")
    animate.add_argument("--output-padding", type=_sizes, default=0, metavar="P")
    animate.add_argument("--seed", type=int, default=0, help="seed of the random small-integer values")
    animate.add_argument("--no-values", action="store_true", help="do not print values in the cells")
    animate.add_argument("--cell", type=_positive_int, default=36, help="cell size in pixels (default 36)")
    animate.add_argument("--frames", metavar="DIR", help="also write every frame as a PNG into DIR")
    animate.add_argument(
        "-o", "--out", default="convolution.gif", help="GIF to write (default convolution.gif)"
    )
    animate.set_defaults(handler=cmd_animate)

    filter_ = commands.add_parser(
        "filter",
        help="filter a PNG/JPEG image with a classic kernel (blur, sharpen, edges)",
        description="Convolve an image (gray, or color per channel) with a classic kernel and save it "
        "as 8 bits: edge filters as |response| scaled to 0..255, the others clipped.",
    )
    filter_.add_argument(
        "image", metavar="IMAGE", help="PNG or JPEG file (with --chunks also a TIFF or a .zarr store)"
    )
    filter_.add_argument(
        "--kernel",
        required=True,
        metavar="NAME",
        help="sobel-x, sobel-y, sobel, prewitt(-x/-y), gaussian:SIGMA, box:K, sharpen, "
        "laplacian, emboss or FILE.npy",
    )
    filter_.add_argument(
        "--padding-mode",
        choices=("reflect", "replicate", "circular", "zeros"),
        default="reflect",
        help="how the border is filled (default reflect)",
    )
    filter_.add_argument(
        "--separable", action="store_true", help="run as a column then a row pass (rank-1 kernels only)"
    )
    filter_.add_argument(
        "--scale",
        choices=("auto", "clip", "abs", "minmax", "none"),
        default="auto",
        help="to 8 bits: auto (abs for edge kernels, else clip), clip, abs or minmax; "
        "none: the float32 response (with --chunks)",
    )
    filter_.add_argument("-o", "--out", required=True, help="image to write (format from the suffix)")
    filter_.add_argument(
        "--chunks",
        type=_positive_int,
        default=None,
        metavar="N",
        help="stream the image through Dask in NxN tiles (default 2048 with --scheduler) and write "
        "a .zarr store or a .tif file without holding the image in memory",
    )
    filter_.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS|local|threads",
        help="where the tiles run: a Dask scheduler address (tcp://host:8786), 'local' (a "
        "LocalCluster on this machine) or 'threads' (the default with --chunks)",
    )
    filter_.set_defaults(handler=cmd_filter)

    from .models import MODELS

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
        choices=("resnet18", *sorted(MODELS)),
        help=f"resnet18 (ImageNet ResNet-18) or one of the zoo: {', '.join(sorted(MODELS))}",
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

    features = commands.add_parser(
        "features",
        help="PNG of a trained model's first-layer kernels and the feature maps of each conv layer",
        description="Run one image through a model saved by 'convforge train' (preprocessed as "
        "'convforge predict' does) and draw the input, the first-layer kernels (red > 0 > blue) and the "
        "output of every 2-D convolution, each map stretched from its minimum (dark) to its maximum "
        "(yellow).",
    )
    features.add_argument("checkpoint", metavar="CKPT", help="a model.npz written by 'convforge train'")
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


# --------------------------------------------------------------------------------------
# parser
# --------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    from .models import MODELS

    parser = argparse.ArgumentParser(
        prog="convforge", description="Convolution, exact and fast: train and inspect CNNs on NumPy."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    train = commands.add_parser(
        "train",
        help="train a CNN (LeNet on the bundled digits by default)",
        description="Train a CNN on the bundled 8x8 handwritten digits (or MNIST IDX files) and save "
        "the checkpoint, training curves, confusion matrix and first-layer kernels.",
    )
    train.add_argument(
        "--model", choices=sorted(MODELS), default="lenet", help="architecture (default: lenet)"
    )
    train.add_argument("--epochs", type=_positive_int, default=30, help="passes over the data (default: 30)")
    train.add_argument("--batch-size", type=_positive_int, default=32, help="samples per step (default: 32)")
    train.add_argument(
        "--lr", type=_positive_float, default=None, help="learning rate (default: 0.05 sgd, 2e-3 adam)"
    )
    train.add_argument(
        "--optimizer", choices=("sgd", "adam"), default="sgd", help="sgd with momentum 0.9, or adam"
    )
    train.add_argument(
        "--data", metavar="DIR", help="directory of MNIST-format IDX files instead of the digits"
    )
    train.add_argument(
        "--seed", type=int, default=0, help="seed for initialization and shuffling (default: 0)"
    )
    train.add_argument(
        "--device", default="cpu", metavar="DEVICE", help="where to compute: cpu (default), cuda, cuda:N"
    )
    train.add_argument("--out", metavar="DIR", help="output directory (default: runs/<timestamp>)")
    train.add_argument("--no-progress", action="store_true", help="no progress bars")
    train.set_defaults(handler=cmd_train)

    evaluate = commands.add_parser("evaluate", help="test accuracy of a saved model")
    evaluate.add_argument("checkpoint", metavar="CKPT", help="a model.npz written by 'convforge train'")
    evaluate.add_argument("--data", metavar="DIR", help="evaluate on these MNIST IDX files instead")
    evaluate.set_defaults(handler=cmd_evaluate)

    predict = commands.add_parser("predict", help="classify images with a saved model")
    predict.add_argument("checkpoint", metavar="CKPT", help="a model.npz written by 'convforge train'")
    predict.add_argument("images", metavar="IMAGE", nargs="+", help="PNG or JPEG files")
    predict.add_argument(
        "--invert",
        choices=("auto", "yes", "no"),
        default="auto",
        help="invert gray levels (auto: when the image is mostly light, i.e. dark ink on white)",
    )
    predict.set_defaults(handler=cmd_predict)
    _add_understanding_commands(commands)
    return parser


def _version() -> str:
    from . import __version__

    return __version__


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except CommandError as error:
        print(f"convforge {args.command}: error: {error}", file=sys.stderr)
        return 1
    except (ValueError, TypeError, OSError) as error:
        print(f"convforge {args.command}: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
