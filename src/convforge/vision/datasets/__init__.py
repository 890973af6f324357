"""``torchvision.datasets`` for convforge: MNIST-format, CIFAR, folders of images, fake data.

Nothing is downloaded: the readers take the files torchvision would have downloaded, in
torchvision's layout under ``root``. ``MNIST(cf.data.MNIST_SAMPLE_ROOT)`` reads the bundled
5,000-image MNIST sample.
"""

from .cifar import CIFAR10, CIFAR100
from .fakedata import FakeData
from .folder import DatasetFolder, ImageFolder
from .mnist import KMNIST, MNIST, FashionMNIST
from .vision import VisionDataset

__all__ = [
    "CIFAR10",
    "CIFAR100",
    "KMNIST",
    "MNIST",
    "DatasetFolder",
    "FakeData",
    "FashionMNIST",
    "ImageFolder",
    "VisionDataset",
]
