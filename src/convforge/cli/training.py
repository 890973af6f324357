"""``convforge train | evaluate | predict``: the training recipe of :mod:`convforge.train` on the
command line, and the use of a saved checkpoint."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from ._common import CommandError, _positive_float, _positive_int


def cmd_train(args: argparse.Namespace) -> int:
    import convforge as cf

    from .. import train
    from ..data import DataLoader, TensorDataset
    from ..device import DeviceUnavailableError, check_available

    try:
        check_available(args.device, "--device")
    except (ValueError, DeviceUnavailableError) as error:
        raise CommandError(str(error)) from None
    cf.manual_seed(args.seed)
    if args.dataset == "mnist" and args.data is not None:
        raise CommandError("--dataset mnist (the bundled sample) and --data DIR exclude each other")
    data_dir = cf.data.MNIST_SAMPLE_FILES if args.dataset == "mnist" else args.data
    try:
        prepared = train.prepare_data(data_dir)
    except NotADirectoryError as error:
        raise CommandError(f"--data: {error}") from None
    in_channels, input_size = prepared.train_x.shape[1], prepared.train_x.shape[-1]
    model = train.build_model(args.model, in_channels, input_size, prepared.num_classes)
    optimizer = train.make_optimizer(args.optimizer, model.parameters(), args.lr)
    scheduler = train.make_scheduler(optimizer, args.epochs)
    dataset = TensorDataset(prepared.train_x, prepared.train_y)
    loader = DataLoader(dataset, batch_size=args.batch_size, shuffle=True, seed=args.seed)
    out = Path(args.out or Path("runs") / time.strftime("%Y%m%d-%H%M%S"))
    out.mkdir(parents=True, exist_ok=True)

    n_params = sum(p.numel() for p in model.parameters())
    print(
        f"training {args.model} ({n_params:,} parameters) on {prepared.source}: "
        f"{len(prepared.train_x)} train / {len(prepared.test_x)} test images of "
        f"{in_channels}x{input_size}x{input_size}"
    )
    history = train.fit(
        model,
        optimizer,
        loader,
        prepared.test_x,
        prepared.test_y,
        args.epochs,
        scheduler,
        progress=not args.no_progress,
    )
    _save_run(args, out, model, optimizer, prepared, history)
    return 0


def _save_run(args: argparse.Namespace, out: Path, model, optimizer, prepared, history) -> None:
    """Checkpoint (with what predict needs to prepare an image), curves, confusion, kernels."""
    import convforge as cf

    from .. import io, train, viz

    _, accuracy, predictions = train.evaluate(model, prepared.test_x, prepared.test_y)
    metadata = {
        "model": args.model,
        "in_channels": int(prepared.train_x.shape[1]),
        "input_size": int(prepared.train_x.shape[-1]),
        "num_classes": prepared.num_classes,
        "mean": prepared.mean,
        "std": prepared.std,
        "upscale": prepared.upscale,
        "dataset": prepared.source,
        "split": train.DIGITS_SPLIT if prepared.source == "digits" else None,
        "test_accuracy": accuracy,
        "epochs": args.epochs,
        "seconds": history.seconds,
    }
    checkpoint = out / "model.safetensors"
    io.save_checkpoint(checkpoint, model, optimizer, epoch=args.epochs, metadata=metadata)
    viz.plot_curves(history.series(), out / "curves.png")
    matrix = viz.training.confusion_matrix(prepared.test_y, predictions, prepared.num_classes)
    viz.plot_confusion(matrix, out / "confusion.png")
    first_conv = next(m for m in model.modules() if isinstance(m, cf.nn.Conv2d))
    viz.plot_kernels(first_conv.weight.array, out / "kernels.png", title="first-layer kernels")
    print(
        f"test accuracy: {accuracy:.2%} ({int(matrix.trace())}/{len(prepared.test_y)}) "
        f"in {history.seconds:.1f} s"
    )
    print(f"saved {checkpoint}, curves.png, confusion.png, kernels.png in {out}")


def load_trained(path: str):
    """(model in eval mode, metadata) of a checkpoint written by ``convforge train``."""
    from .. import io, train

    if not Path(path).is_file():
        raise CommandError(f"checkpoint {path!r} does not exist")
    metadata = io.checkpoint_metadata(path)
    for key in ("model", "in_channels", "input_size", "num_classes", "mean", "std"):
        if key not in metadata:
            raise CommandError(f"checkpoint {path!r} was not written by 'convforge train' (no {key!r})")
    model = train.build_model(
        metadata["model"], metadata["in_channels"], metadata["input_size"], metadata["num_classes"]
    )
    io.load_checkpoint(path, model)
    model.eval()
    return model, metadata


def cmd_evaluate(args: argparse.Namespace) -> int:
    from .. import train

    model, metadata = load_trained(args.checkpoint)
    data_dir = args.data
    if data_dir is None and str(metadata.get("dataset", "digits")).startswith("mnist:"):
        data_dir = metadata["dataset"].split(":", 1)[1]
    # the recorded upscale belongs to the training data; the user's own IDX files are taken as they are
    upscale = int(metadata.get("upscale", 1)) if args.data is None else 1
    try:
        _, _, test_x, test_y, source = train.load_dataset(data_dir, upscale)
    except NotADirectoryError as error:
        raise CommandError(f"--data: {error}") from None
    if test_x.shape[1:] != (metadata["in_channels"], metadata["input_size"], metadata["input_size"]):
        raise CommandError(
            f"{source} images have shape {test_x.shape[1:]}, but the model was trained on "
            f"{(metadata['in_channels'], metadata['input_size'], metadata['input_size'])}"
        )
    test_x = train.standardize(test_x, metadata["mean"], metadata["std"])
    loss, accuracy, _ = train.evaluate(model, test_x, test_y)
    print(f"{source}: test accuracy {accuracy:.2%} on {len(test_y)} images (loss {loss:.4f})")
    return 0


def _read_image(path: str, size: int, channels: int, invert: str, upscale: int = 1) -> np.ndarray:
    """An image as the model saw its training data: resized (box filter) to the dataset's
    resolution ``size // upscale``, then each pixel repeated ``upscale`` times per axis."""
    from PIL import Image, UnidentifiedImageError

    from ..train import upscale_images

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
        pixels = upscale_images(pixels, upscale)
    # training digits are light ink on a dark background; a typical scan is the opposite
    if invert == "yes" or (invert == "auto" and pixels.mean() > 0.5):
        pixels = 1.0 - pixels
    return pixels


def model_input(path: str, metadata: dict, invert: str) -> np.ndarray:
    """An image file prepared exactly as the checkpoint's training data: read, resized,
    upscaled and standardized (what predict and features feed the model)."""
    from ..train import standardize

    image = _read_image(
        path, metadata["input_size"], metadata["in_channels"], invert, int(metadata.get("upscale", 1))
    )
    return standardize(image, metadata["mean"], metadata["std"])


def cmd_predict(args: argparse.Namespace) -> int:
    from ..train import predict_logits

    model, metadata = load_trained(args.checkpoint)
    images = np.stack([model_input(path, metadata, args.invert) for path in args.images])
    logits = predict_logits(model, images)
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    probabilities = shifted / shifted.sum(axis=1, keepdims=True)
    for path, p in zip(args.images, probabilities):
        label = int(p.argmax())
        print(f"{path}: {label} (probability {p[label]:.3f})")
    return 0


# --------------------------------------------------------------------------------------
# registration
# --------------------------------------------------------------------------------------
def add_train(commands) -> None:
    from ..models import MODELS
    from ..train import OPTIMIZERS

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
        "--optimizer", choices=OPTIMIZERS, default="sgd", help="sgd with momentum 0.9, or adam"
    )
    train.add_argument(
        "--data", metavar="DIR", help="directory of MNIST-format IDX files instead of the digits"
    )
    train.add_argument(
        "--dataset",
        choices=("digits", "mnist"),
        default="digits",
        help="bundled data: the 8x8 digits (default) or the MNIST sample (4,000 train / 1,000 test at 28x28)",
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


def add_evaluate(commands) -> None:
    evaluate = commands.add_parser("evaluate", help="test accuracy of a saved model")
    evaluate.add_argument(
        "checkpoint",
        metavar="CKPT",
        help="a model.safetensors written by 'convforge train' (or a 0.1 model.npz)",
    )
    evaluate.add_argument("--data", metavar="DIR", help="evaluate on these MNIST IDX files instead")
    evaluate.set_defaults(handler=cmd_evaluate)


def add_predict(commands) -> None:
    predict = commands.add_parser("predict", help="classify images with a saved model")
    predict.add_argument(
        "checkpoint",
        metavar="CKPT",
        help="a model.safetensors written by 'convforge train' (or a 0.1 model.npz)",
    )
    predict.add_argument("images", metavar="IMAGE", nargs="+", help="PNG or JPEG files")
    predict.add_argument(
        "--invert",
        choices=("auto", "yes", "no"),
        default="auto",
        help="invert gray levels (auto: when the image is mostly light, i.e. dark ink on white)",
    )
    predict.set_defaults(handler=cmd_predict)


COMMANDS = (add_train, add_evaluate, add_predict)
