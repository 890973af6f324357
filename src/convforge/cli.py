"""The ``convforge`` command line.

    convforge train                      train LeNet on the bundled digits (the main job)
    convforge evaluate CKPT              accuracy of a saved model on its test set
    convforge predict CKPT IMAGE...      classify PNG/JPEG images with a saved model

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
def _load_dataset(data_dir: str | None):
    """(train_x, train_y, test_x, test_y, description): digits, or MNIST IDX files."""
    from . import data

    if data_dir is None:
        train_x, train_y, test_x, test_y = data.digits_split(**DIGITS_SPLIT)
        return train_x, train_y, test_x, test_y, "digits"
    directory = Path(data_dir)
    if not directory.is_dir():
        raise CommandError(f"--data: {data_dir!r} is not a directory of MNIST IDX files")
    train_x, train_y = data.load_mnist(directory, split="train")
    test_x, test_y = data.load_mnist(directory, split="test")
    return train_x, train_y, test_x, test_y, f"mnist:{directory}"


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
    from .train import evaluate, fit

    cf.manual_seed(args.seed)
    train_x, train_y, test_x, test_y, source = _load_dataset(args.data)
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
    _, _, test_x, test_y, source = _load_dataset(data_dir)
    test_x = _standardize(test_x, metadata["mean"], metadata["std"])
    loss, accuracy, _ = evaluate(model, test_x, test_y)
    print(f"{source}: test accuracy {accuracy:.2%} on {len(test_y)} images (loss {loss:.4f})")
    return 0


def _read_image(path: str, size: int, channels: int, invert: str) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            image = image.convert("L" if channels == 1 else "RGB")
            image = image.resize((size, size), Image.Resampling.BOX)
            pixels = np.asarray(image, dtype=np.float32) / 255.0
    except FileNotFoundError:
        raise CommandError(f"image {path!r} does not exist") from None
    except (UnidentifiedImageError, OSError) as error:
        raise CommandError(f"image {path!r} could not be read as PNG/JPEG: {error}") from None
    pixels = pixels[None] if channels == 1 else pixels.transpose(2, 0, 1)
    # training digits are light ink on a dark background; a typical scan is the opposite
    if invert == "yes" or (invert == "auto" and pixels.mean() > 0.5):
        pixels = 1.0 - pixels
    return pixels


def cmd_predict(args: argparse.Namespace) -> int:
    from .train import predict_logits

    model, metadata = _load_trained(args.checkpoint)
    images = np.stack(
        [_read_image(p, metadata["input_size"], metadata["in_channels"], args.invert) for p in args.images]
    )
    logits = predict_logits(model, _standardize(images, metadata["mean"], metadata["std"]))
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    probabilities = shifted / shifted.sum(axis=1, keepdims=True)
    for path, p in zip(args.images, probabilities):
        label = int(p.argmax())
        print(f"{path}: {label} (probability {p[label]:.3f})")
    return 0


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
    train.add_argument("--epochs", type=_positive_int, default=15, help="passes over the data (default: 15)")
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
