"""``torchvision.datasets.CIFAR10`` / ``CIFAR100``: the python-pickle batches, read safely.

The batches (``root/cifar-10-batches-py/data_batch_1`` ... ``_5``, ``test_batch``,
``batches.meta``) are pickles of dicts of lists, strings and one NumPy uint8 array. They
are read with an unpickler that resolves only the globals such a file contains (NumPy's
array reconstructor, ``ndarray``, ``dtype``, and ``_codecs.encode`` for bytes written by
Python 3), so a tampered file cannot run code: any other global is a ValueError naming it.
With ``download=True`` a ``cifar-10-python.tar.gz`` already in ``root`` is extracted (with
tarfile's ``data`` filter); nothing is ever downloaded.
"""

from __future__ import annotations

import os
import pickle
import tarfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

from .vision import VisionDataset

# (module, name) of every global a CIFAR batch may reference; NumPy 2 renamed numpy.core
_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("_codecs", "encode"),
}


class _BatchUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module, name) not in _ALLOWED_GLOBALS:
            raise pickle.UnpicklingError(f"global {module}.{name} is not allowed in a CIFAR batch")
        return super().find_class(module, name)


def load_batch(path: Path) -> dict:
    """One CIFAR pickle as a dict with str keys (Python 2 strings decoded as latin-1, as torchvision)."""
    try:
        with open(path, "rb") as file:
            content = _BatchUnpickler(file, encoding="latin1").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError) as error:
        raise ValueError(f"{path} is not a valid CIFAR batch: {error}") from error
    if not isinstance(content, dict):
        raise ValueError(
            f"{path} is not a valid CIFAR batch: it holds a {type(content).__name__}, not a dict"
        )
    return {key.decode("latin1") if isinstance(key, bytes) else key: value for key, value in content.items()}


class CIFAR10(VisionDataset):
    """CIFAR-10: 32x32 RGB images of 10 classes, as ``torchvision.datasets.CIFAR10``.

    Parameters
    ----------
    root : str or PathLike
        The directory holding ``cifar-10-batches-py/`` (or ``cifar-10-python.tar.gz``).
    train : bool
        The five training batches (50,000 images) or the test batch (10,000).
    transform, target_transform : callable, optional
        Applied to the PIL image (RGB) and to the int label.
    download : bool
        Extract the archive if it is in ``root``; convforge never downloads.

    Attributes
    ----------
    data : ndarray of uint8, shape (N, 32, 32, 3)
        HWC, as torchvision.
    targets : list of int
    classes : list of str
    class_to_idx : dict
    """

    base_folder = "cifar-10-batches-py"
    archive = "cifar-10-python.tar.gz"
    train_list = ["data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5"]
    test_list = ["test_batch"]
    meta = {"filename": "batches.meta", "key": "label_names"}
    labels_key = "labels"
    source = "https://www.cs.toronto.edu/~kriz/cifar.html"

    def __init__(
        self,
        root: str | os.PathLike,
        train: bool = True,
        transform: Callable | None = None,
        target_transform: Callable | None = None,
        download: bool = False,
    ) -> None:
        super().__init__(root, transform=transform, target_transform=target_transform)
        self.train = bool(train)
        if download and not self._complete():
            self._extract()
        if not self._complete():
            raise RuntimeError(
                f"Dataset not found: {type(self).__name__} needs {', '.join(self._files())} in "
                f"{self.root / self.base_folder} (or {self.archive} in {self.root} with download=True); "
                f"convforge does not download: get the python version from {self.source}"
            )
        arrays, self.targets = [], []
        for name in self.train_list if self.train else self.test_list:
            path = self.root / self.base_folder / name
            entry = load_batch(path)
            if "data" not in entry or self.labels_key not in entry:
                raise ValueError(
                    f"{path} is not a CIFAR batch: it has no 'data' and {self.labels_key!r} entries"
                )
            arrays.append(np.asarray(entry["data"], dtype=np.uint8).reshape(-1, 3, 32, 32))
            self.targets.extend(int(label) for label in entry[self.labels_key])
        self.data = np.concatenate(arrays).transpose(0, 2, 3, 1)  # (N, 3, 32, 32) -> HWC
        if len(self.data) != len(self.targets):
            raise ValueError(
                f"{self.root / self.base_folder}: {len(self.data)} images but {len(self.targets)} labels"
            )
        meta = load_batch(self.root / self.base_folder / self.meta["filename"])
        self.classes = list(meta[self.meta["key"]])
        self.class_to_idx = {name: i for i, name in enumerate(self.classes)}

    def _files(self) -> list[str]:
        return [*self.train_list, *self.test_list, self.meta["filename"]]

    def _complete(self) -> bool:
        return all((self.root / self.base_folder / name).is_file() for name in self._files())

    def _extract(self) -> None:
        archive = self.root / self.archive
        if not archive.is_file():
            raise RuntimeError(
                f"{type(self).__name__}: download=True cannot download: convforge works offline. "
                f"Put {self.archive} (from {self.source}) in {self.root}, or its extracted "
                f"{self.base_folder}/ folder"
            )
        with tarfile.open(archive, "r:gz") as tar:
            tar.extractall(self.root, filter="data")  # no absolute paths, links out, or devices

    def __getitem__(self, index: int):
        return self._apply(Image.fromarray(self.data[index]), self.targets[index])

    def __len__(self) -> int:
        return len(self.data)

    def extra_repr(self) -> str:
        return f"Split: {'Train' if self.train else 'Test'}"


class CIFAR100(CIFAR10):
    """CIFAR-100 (``cifar-100-python/train``, ``test``, ``meta``), with its 100 fine labels."""

    base_folder = "cifar-100-python"
    archive = "cifar-100-python.tar.gz"
    train_list = ["train"]
    test_list = ["test"]
    meta = {"filename": "meta", "key": "fine_label_names"}
    labels_key = "fine_labels"
