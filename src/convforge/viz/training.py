"""Figures written by ``convforge train``: curves, confusion matrix, first-layer kernels."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only; never needs a display
    import matplotlib.pyplot as plt

    return plt


def plot_curves(history: dict[str, Sequence[float]], path: str | Path) -> Path:
    """Loss (left) and accuracy (right) per epoch; ``history`` maps names to series.

    Names containing 'loss' go to the left axes, 'acc' to the right.
    """
    plt = _pyplot()
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(9, 3.6))
    for name, values in history.items():
        epochs = np.arange(1, len(values) + 1)
        if "loss" in name:
            ax_loss.plot(epochs, values, marker="o", label=name)
        elif "acc" in name:
            ax_acc.plot(epochs, np.asarray(values) * 100, marker="o", label=name)
    ax_loss.set(xlabel="epoch", ylabel="loss", title="loss")
    ax_acc.set(xlabel="epoch", ylabel="accuracy (%)", title="accuracy")
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)


def confusion_matrix(labels: np.ndarray, predictions: np.ndarray, num_classes: int) -> np.ndarray:
    """``m[i, j]`` = number of samples of class ``i`` predicted as ``j``."""
    pairs = np.asarray(labels, dtype=np.int64) * num_classes + np.asarray(predictions, dtype=np.int64)
    return np.bincount(pairs, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def plot_confusion(matrix: np.ndarray, path: str | Path, class_names: Sequence[str] | None = None) -> Path:
    """The confusion matrix as a heat map with the counts printed in the cells."""
    plt = _pyplot()
    k = matrix.shape[0]
    names = list(class_names) if class_names is not None else [str(i) for i in range(k)]
    fig, ax = plt.subplots(figsize=(0.5 * k + 2.5, 0.5 * k + 2))
    image = ax.imshow(matrix, cmap="Blues")
    fig.colorbar(image, ax=ax, fraction=0.046)
    ax.set(xticks=range(k), yticks=range(k), xticklabels=names, yticklabels=names)
    ax.set(xlabel="predicted", ylabel="true", title=f"confusion ({matrix.trace()}/{matrix.sum()} correct)")
    threshold = matrix.max() / 2 if matrix.size else 0
    for i in range(k):
        for j in range(k):
            color = "white" if matrix[i, j] > threshold else "black"
            ax.text(j, i, str(matrix[i, j]), ha="center", va="center", color=color, fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)


def plot_kernels(weight: np.ndarray, path: str | Path, title: str = "learned kernels") -> Path:
    """Every (output, input) 2-D kernel of a conv weight ``(C_out, C_in, kH, kW)`` as a tile.

    Each tile uses a diverging colormap centered on zero, so sign is visible.
    """
    plt = _pyplot()
    weight = np.asarray(weight)
    if weight.ndim != 4:
        raise ValueError(
            f"plot_kernels: weight must be 4-D (C_out, C_in, kH, kW), but got shape {weight.shape}"
        )
    tiles = weight.reshape(-1, *weight.shape[2:])
    cols = min(len(tiles), 8)
    rows = math.ceil(len(tiles) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(1.3 * cols, 1.3 * rows + 0.4), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, tile in zip(axes.ravel(), tiles):
        bound = float(np.abs(tile).max()) or 1.0
        ax.imshow(tile, cmap="RdBu_r", vmin=-bound, vmax=bound)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)
