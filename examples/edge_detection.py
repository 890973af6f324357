"""d2l's image-convolution example: detect vertical edges, then learn the kernel back.

python examples/edge_detection.py
"""

from __future__ import annotations

import numpy as np

import convforge as cf
import convforge.nn.functional as F
from convforge import nn


def band_image() -> np.ndarray:
    """A 6x8 image: white (1) on the sides, a black (0) band in columns 2-5."""
    image = np.ones((6, 8), dtype=np.float32)
    image[:, 2:6] = 0
    return image


EDGE_KERNEL = np.array([[1.0, -1.0]], dtype=np.float32)  # responds to a left-to-right change


def correlate(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """d2l's ``corr2d``: the cross-correlation of a 2-D image with a 2-D kernel."""
    return F.conv2d(image[None, None], kernel[None, None])[0, 0].numpy()


def learn_kernel(
    image: np.ndarray, target: np.ndarray, steps: int = 10, learning_rate: float = 3e-2, seed: int = 0
) -> tuple[list[float], np.ndarray]:
    """Learn a 1x2 kernel from ``image`` and its edge map ``target`` alone: a Conv2d without
    bias, squared loss, plain gradient descent. Returns the loss of every step and the kernel."""
    cf.manual_seed(seed)
    conv = nn.Conv2d(1, 1, kernel_size=(1, 2), bias=False)
    inputs, targets = cf.tensor(image[None, None]), cf.tensor(target[None, None])
    losses = []
    for _ in range(steps):
        loss = ((conv(inputs) - targets) ** 2).sum()
        conv.zero_grad()
        loss.backward()
        conv.weight.data -= learning_rate * conv.weight.grad.data
        losses.append(loss.item())
    return losses, conv.weight.array.reshape(1, 2).copy()


def main() -> None:
    X = band_image()
    Y = correlate(X, EDGE_KERNEL)
    print("input X:\n", X)
    print("Y = corr2d(X, K): 1 at the white->black edge, -1 at black->white\n", Y)
    print(
        "corr2d(X.T, K): the edges are horizontal now, and K sees none\n", correlate(X.T.copy(), EDGE_KERNEL)
    )
    losses, kernel = learn_kernel(X, Y)
    for step in range(2, len(losses) + 1, 2):
        print(f"step {step:2d}, loss {losses[step - 1]:.3f}")
    print("learned kernel:", kernel, "(true kernel [[1, -1]])")


if __name__ == "__main__":
    main()
