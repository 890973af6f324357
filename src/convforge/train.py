"""Training as a library: the recipe behind ``convforge train``, and the loop itself.

* data: :func:`load_dataset` (bundled digits or MNIST IDX files), :func:`upscale_images`,
  :func:`standardize`, and :func:`prepare_data` doing all three as ``convforge train`` does;
* model and optimization: :func:`build_model`, :func:`make_optimizer` (SGD with momentum
  or Adam, default learning rates :data:`DEFAULT_LR`), :func:`make_scheduler` (cosine);
* the loop: :func:`fit`, :func:`evaluate`, :func:`predict_logits`.

The CLI and the benchmarks (``benchmarks/side_ours.py``) train through these functions, so a
change of the recipe shows in both.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import nn
from .autograd import Tensor, no_grad


@dataclass
class History:
    """Per-epoch metrics of :func:`fit`."""

    train_loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    test_loss: list[float] = field(default_factory=list)
    test_acc: list[float] = field(default_factory=list)
    seconds: float = 0.0

    def series(self) -> dict[str, list[float]]:
        return {
            "train loss": self.train_loss,
            "test loss": self.test_loss,
            "train acc": self.train_acc,
            "test acc": self.test_acc,
        }


def predict_logits(model: nn.Module, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Logits of ``model`` in eval mode for an array of images, in batches."""
    was_training = model.training
    model.eval()
    outputs = []
    with no_grad():
        for start in range(0, len(images), batch_size):
            outputs.append(model(Tensor(images[start : start + batch_size])).array)
    model.train(was_training)
    return np.concatenate(outputs) if outputs else np.zeros((0, 0), dtype=np.float32)


def evaluate(model: nn.Module, images: np.ndarray, labels: np.ndarray) -> tuple[float, float, np.ndarray]:
    """(mean cross-entropy, accuracy, predictions) of ``model`` on a labelled set."""
    logits = predict_logits(model, images)
    loss = nn.functional.cross_entropy(Tensor(logits), Tensor(labels)).item()
    predictions = logits.argmax(axis=1)
    return loss, float(np.mean(predictions == labels)), predictions


def fit(
    model: nn.Module,
    optimizer,
    loader,
    test_images: np.ndarray,
    test_labels: np.ndarray,
    epochs: int,
    scheduler=None,
    progress: bool = True,
) -> History:
    """Train ``model`` with cross-entropy for ``epochs`` passes over ``loader``.

    Shows one tqdm bar per epoch with the running loss and accuracy (``progress=False``
    silences it) and evaluates on the test set after each epoch.
    """
    from tqdm.auto import tqdm

    loss_fn = nn.CrossEntropyLoss()
    history = History()
    started = time.perf_counter()
    for epoch in range(1, epochs + 1):
        model.train()
        seen = correct = 0
        total_loss = 0.0
        bar = tqdm(loader, desc=f"epoch {epoch}/{epochs}", unit="batch", disable=not progress, leave=True)
        for images, labels in bar:
            logits = model(images)
            loss = loss_fn(logits, labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            count = len(labels)
            seen += count
            total_loss += loss.item() * count
            correct += int((logits.array.argmax(axis=1) == labels.array).sum())
            bar.set_postfix(loss=f"{total_loss / seen:.4f}", acc=f"{correct / seen:.3f}", refresh=False)
        if scheduler is not None:
            scheduler.step()
        test_loss, test_acc, _ = evaluate(model, test_images, test_labels)
        history.train_loss.append(total_loss / max(seen, 1))
        history.train_acc.append(correct / max(seen, 1))
        history.test_loss.append(test_loss)
        history.test_acc.append(test_acc)
        if progress:
            bar.write(f"epoch {epoch}: test loss {test_loss:.4f}, test accuracy {test_acc:.2%}")
    history.seconds = time.perf_counter() - started
    return history


# --------------------------------------------------------------------------------------
# the recipe: data, model, optimizer and schedule of ``convforge train``
# --------------------------------------------------------------------------------------
DIGITS_SPLIT = {"test_fraction": 0.2, "seed": 0}
# The 8x8 digits are shown to the network at 16x16 (each pixel as a 2x2 block): LeNet's two
# 2x2 poolings would otherwise leave a 2x2 map, and the test accuracy stalls near 97 %.
DIGITS_UPSCALE = 2
DEFAULT_LR = {"sgd": 0.05, "adam": 2e-3}
OPTIMIZERS = tuple(DEFAULT_LR)


@dataclass(frozen=True)
class PreparedData:
    """A labelled train/test split, standardized with the training set's statistics.

    Shape: ``train_x`` (N, C, H, W) and ``test_x`` (M, C, H, W) float32; ``train_y`` (N,)
    and ``test_y`` (M,) int64. ``mean``/``std`` standardized them; ``upscale`` is the
    pixel repetition applied before (what a checkpoint must record to prepare new images).
    """

    train_x: np.ndarray
    train_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray
    source: str
    mean: float
    std: float
    upscale: int

    @property
    def num_classes(self) -> int:
        return int(max(self.train_y.max(), self.test_y.max())) + 1


def load_dataset(data_dir: str | Path | None = None, upscale: int = 1):
    """(train_x, train_y, test_x, test_y, source): the bundled digits, or MNIST IDX files.

    ``data_dir=None`` splits the bundled digits with :data:`DIGITS_SPLIT` (source
    ``'digits'``); a directory is read as MNIST IDX files (source ``'mnist:<dir>'``).
    ``upscale`` repeats every pixel ``upscale`` x ``upscale`` times (nearest neighbour).

    Shape: images (N, 1, H*upscale, W*upscale) float32 in [0, 1], labels (N,) int64.
    """
    from . import data

    if data_dir is None:
        train_x, train_y, test_x, test_y = data.digits_split(**DIGITS_SPLIT)
        source = "digits"
    else:
        directory = Path(data_dir)
        if not directory.is_dir():
            raise NotADirectoryError(
                f"load_dataset: data_dir must be a directory of MNIST IDX files, but got "
                f"data_dir={str(data_dir)!r}, which is not a directory"
            )
        train_x, train_y = data.load_mnist(directory, split="train")
        test_x, test_y = data.load_mnist(directory, split="test")
        source = f"mnist:{directory}"
    if upscale > 1:
        train_x, test_x = (upscale_images(images, upscale) for images in (train_x, test_x))
    return train_x, train_y, test_x, test_y, source


def upscale_images(images: np.ndarray, factor: int) -> np.ndarray:
    """Repeat every pixel ``factor`` times along each of the last two axes.

    Shape: (*, H, W) -> (*, H*factor, W*factor).
    """
    return images.repeat(factor, axis=-2).repeat(factor, axis=-1)


def standardize(images: np.ndarray, mean: float, std: float) -> np.ndarray:
    """``(images - mean) / std`` as float32. Shape: any, unchanged."""
    return ((images - mean) / std).astype(np.float32)


def prepare_data(data_dir: str | Path | None = None, upscale: int | None = None) -> PreparedData:
    """The data of ``convforge train``: loaded, upscaled, standardized by the train statistics.

    ``upscale=None`` picks :data:`DIGITS_UPSCALE` for the bundled digits and 1 for IDX files.
    """
    if upscale is None:
        upscale = DIGITS_UPSCALE if data_dir is None else 1
    train_x, train_y, test_x, test_y, source = load_dataset(data_dir, upscale)
    mean, std = float(train_x.mean()), float(train_x.std()) or 1.0
    return PreparedData(
        standardize(train_x, mean, std),
        train_y,
        standardize(test_x, mean, std),
        test_y,
        source,
        mean,
        std,
        upscale,
    )


def build_model(name: str, in_channels: int, input_size: int, num_classes: int) -> nn.Module:
    """A model of the zoo (``convforge.models.MODELS``) for square ``input_size`` images."""
    from . import models

    return models.create(name, num_classes=num_classes, in_channels=in_channels, input_size=input_size)


def make_optimizer(name: str, parameters, lr: float | None = None):
    """``'sgd'`` (momentum 0.9) or ``'adam'``; ``lr=None`` takes :data:`DEFAULT_LR`."""
    from . import optim

    if name not in OPTIMIZERS:
        raise ValueError(
            f"make_optimizer: name must be one of {', '.join(OPTIMIZERS)}, but got name={name!r}"
        )
    lr = DEFAULT_LR[name] if lr is None else lr
    if name == "sgd":
        return optim.SGD(parameters, lr=lr, momentum=0.9)
    return optim.Adam(parameters, lr=lr)


def make_scheduler(optimizer, epochs: int):
    """The default schedule: cosine annealing of the learning rate to 0 over ``epochs``."""
    from . import optim

    return optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
