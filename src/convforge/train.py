"""The training loop behind ``convforge train``: fit, evaluate, predict."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

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
