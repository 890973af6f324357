"""``torchvision.datasets.MNIST`` / ``FashionMNIST`` / ``KMNIST``: IDX files under ``root``.

torchvision's layout: ``root/<ClassName>/raw/train-images-idx3-ubyte`` (and
``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte``), each
file also accepted gzip-compressed (``.gz``, as downloaded). convforge never downloads:
``download=True`` with missing files raises an error that says which files to put where.
The bundled 5,000-image sample is such a root: ``MNIST(cf.data.MNIST_SAMPLE_ROOT)``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

from ...autograd import Tensor
from ...data.idx import read_idx
from .vision import VisionDataset

_FILES = {
    True: ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    False: ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


class MNIST(VisionDataset):
    """MNIST handwritten digits from IDX files, as ``torchvision.datasets.MNIST``.

    Parameters
    ----------
    root : str or PathLike
        The directory holding ``MNIST/raw/`` (e.g. ``cf.data.MNIST_SAMPLE_ROOT``).
    train : bool
        The training files (``train-*``) or the test files (``t10k-*``).
    transform, target_transform : callable, optional
        Applied to the PIL image (mode ``L``) and to the int label.
    download : bool
        Accepted for torchvision's code; convforge cannot download, so missing files raise.

    Attributes
    ----------
    data : Tensor of uint8, shape (N, 28, 28)
    targets : Tensor of int64, shape (N,)
    classes : list of str
    class_to_idx : dict
    """

    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four",
               "5 - five", "6 - six", "7 - seven", "8 - eight", "9 - nine"]  # fmt: skip
    source = "https://yann.lecun.com/exdb/mnist/"

    def __init__(
        self,
        root: str | os.PathLike,
        train: bool = True,
        transform: Callable | None = None,
        target_transform: Callable | None = None,
        download: bool = False,
    ) -> None:
        if root is None:
            raise TypeError(
                f"{type(self).__name__}: root must be a directory, but got None "
                "(the bundled MNIST sample is root=cf.data.MNIST_SAMPLE_ROOT)"
            )
        super().__init__(root, transform=transform, target_transform=target_transform)
        self.train = bool(train)
        images_path, labels_path = (self._locate(name, download) for name in _FILES[self.train])
        images, labels = read_idx(images_path), read_idx(labels_path)
        if images.ndim != 3 or images.dtype != np.uint8:
            raise ValueError(
                f"{images_path} must hold uint8 images (N, H, W), but holds {images.dtype} {images.shape}"
            )
        if labels.ndim != 1 or len(labels) != len(images):
            raise ValueError(
                f"{labels_path} must hold one label per image of {images_path} ({len(images)}), "
                f"but holds shape {labels.shape}"
            )
        self.data = Tensor(images)
        self.targets = Tensor(labels.astype(np.int64))

    @property
    def raw_folder(self) -> Path:
        return self.root / type(self).__name__ / "raw"

    @property
    def class_to_idx(self) -> dict[str, int]:
        return {name: i for i, name in enumerate(self.classes)}

    def _locate(self, name: str, download: bool) -> Path:
        for candidate in (self.raw_folder / name, self.raw_folder / f"{name}.gz"):
            if candidate.is_file():
                return candidate
        wanted = ", ".join(f"{n}[.gz]" for n in _FILES[self.train])
        if download:
            raise RuntimeError(
                f"{type(self).__name__}: download=True cannot download: convforge works offline. "
                f"Put {wanted} (from {self.source}) in {self.raw_folder}"
            )
        raise RuntimeError(
            f"Dataset not found: {type(self).__name__} needs {wanted} in {self.raw_folder} "
            f"(convforge does not download; get the files from {self.source})"
        )

    def __getitem__(self, index: int):
        image = Image.fromarray(self.data.array[index])  # a 2-D uint8 array is mode 'L'
        return self._apply(image, int(self.targets.array[index]))

    def __len__(self) -> int:
        return len(self.data.array)

    def extra_repr(self) -> str:
        return f"Split: {'Train' if self.train else 'Test'}"


class FashionMNIST(MNIST):
    """Zalando's Fashion-MNIST (the MNIST file format), under ``root/FashionMNIST/raw/``."""

    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
               "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]  # fmt: skip
    source = "https://github.com/zalandoresearch/fashion-mnist"


class KMNIST(MNIST):
    """Kuzushiji-MNIST (the MNIST file format), under ``root/KMNIST/raw/``."""

    classes = ["o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"]
    source = "https://github.com/rois-codh/kmnist"
