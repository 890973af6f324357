"""Data: the bundled handwritten digits, MNIST-format IDX files, datasets and loaders.

``cf.data.load_digits()`` gives 1,797 real 8x8 handwritten digits (UCI optdigits, CC BY 4.0,
bundled: no download, no scikit-learn; see :mod:`convforge.data.digits` for attribution);
``cf.data.digits_split()`` a reproducible stratified train/test split of them.
``cf.data.load_mnist(directory)`` reads users' own MNIST / Fashion-MNIST IDX files.
``Dataset``, ``TensorDataset``, ``Subset``, ``random_split`` and ``DataLoader`` follow
``torch.utils.data``.
"""

from .dataset import Dataset, Subset, TensorDataset, random_split
from .digits import digits_split, load_digits
from .idx import load_mnist, read_idx, write_idx
from .loader import DataLoader, default_collate

__all__ = [
    "DataLoader",
    "Dataset",
    "Subset",
    "TensorDataset",
    "default_collate",
    "digits_split",
    "load_digits",
    "load_mnist",
    "random_split",
    "read_idx",
    "write_idx",
]
