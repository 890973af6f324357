"""The bundled handwritten digits: 1,797 real 8x8 images, usable offline.

The file ``digits.csv.gz`` next to this module is the copy of the UCI "Optical Recognition
of Handwritten Digits" test set that scikit-learn ships (``sklearn/datasets/data``): one
row per image, 64 pixel counts in 0..16 (row-major 8x8) and the digit as the 65th column.
It is bundled so that neither scikit-learn nor a download is needed at run time.

Attribution (the data set is licensed under CC BY 4.0):
    E. Alpaydin and C. Kaynak, "Optical Recognition of Handwritten Digits", UCI Machine
    Learning Repository, 1998. https://doi.org/10.24432/C50P49
    Bitmaps extracted with NIST's preprocessing programs from forms filled in by 43
    people; 32x32 bitmaps are reduced to 8x8 by counting the on pixels in each 4x4 block.
"""

from __future__ import annotations

import functools
import gzip
import numbers
from importlib import resources

import numpy as np

N_DIGITS = 1797
_PIXEL_MAX = 16.0


@functools.lru_cache(maxsize=1)
def _digits_table() -> np.ndarray:
    """The raw (1797, 65) int table; read once per process."""
    with (
        resources.files(__package__).joinpath("digits.csv.gz").open("rb") as raw,
        gzip.open(raw, "rt") as text,
    ):
        table = np.loadtxt(text, delimiter=",", dtype=np.int64)
    table.flags.writeable = False
    return table


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """All 1,797 bundled digits as images and labels.

    Returns
    -------
    images : ndarray of float32, shape (1797, 1, 8, 8)
        Pixel counts 0..16 divided by 16, so in [0, 1]; NCHW with one channel.
    labels : ndarray of int64, shape (1797,)
        The digit 0..9 of each image.
    """
    table = _digits_table()
    images = (table[:, :64] / _PIXEL_MAX).astype(np.float32).reshape(-1, 1, 8, 8)
    return images, table[:, 64].copy()


def digits_split(
    test_fraction: float = 0.2, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A reproducible, stratified train/test split of :func:`load_digits`.

    Each class contributes ``round(test_fraction * n_class)`` images to the test set, so the
    class proportions of both parts match the whole; both parts are shuffled.

    Parameters
    ----------
    test_fraction : float
        Fraction of each class put in the test set, in (0, 1).
    seed : int
        Seed of the permutation; the same seed always gives the same split.

    Returns
    -------
    train_x, train_y, test_x, test_y : ndarray
        Images (float32, (N, 1, 8, 8)) and labels (int64, (N,)) of each part.
    """
    if isinstance(test_fraction, bool) or not isinstance(test_fraction, numbers.Real):
        raise TypeError(
            f"digits_split: test_fraction must be a float, but got test_fraction={test_fraction!r}"
        )
    if not 0 < test_fraction < 1:
        raise ValueError(
            f"digits_split: test_fraction must be in (0, 1), but got test_fraction={test_fraction!r}"
        )
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"digits_split: seed must be an int, but got seed={seed!r}")
    images, labels = load_digits()
    rng = np.random.default_rng(seed)
    train_parts, test_parts = [], []
    for digit in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == digit))
        n_test = int(round(test_fraction * len(members)))
        test_parts.append(members[:n_test])
        train_parts.append(members[n_test:])
    train = rng.permutation(np.concatenate(train_parts))
    test = rng.permutation(np.concatenate(test_parts))
    return images[train], labels[train], images[test], labels[test]
