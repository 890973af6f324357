"""torchvision's pieces that CNN scripts import, as ``cf.vision``.

``cf.vision.datasets`` (MNIST, FashionMNIST, KMNIST, CIFAR10, CIFAR100, FakeData,
ImageFolder), ``cf.vision.transforms`` (Compose, ToTensor, Normalize, Resize, CenterCrop,
RandomCrop, RandomResizedCrop, RandomHorizontalFlip, Grayscale, Pad, Lambda, ...) and ``cf.vision.utils``
(make_grid, save_image), laid out as torchvision's modules so that ``torchvision`` can be
mapped onto ``convforge.vision`` module for module. Datasets are read offline from files.
"""

from . import datasets, transforms, utils

__all__ = ["datasets", "transforms", "utils"]
