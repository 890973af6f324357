"""The model zoo: classic CNNs built from convforge's layers.

Every model takes ``num_classes`` and ``in_channels``; those that depend on the input size
take ``input_size`` too. :func:`create` builds one by name (the names of ``MODELS``), which
is what the CLI and checkpoints use.
"""

from __future__ import annotations

from .fcn import FCN
from .lenet import LeNet5
from .mobilenet import MobileNet, MobileNetBlock
from .resnet import BasicBlock, ResNet, resnet18
from .shufflenet import ShuffleNet, ShuffleUnit

MODELS = {
    "lenet": LeNet5,
    "resnet": ResNet,
    "mobilenet": MobileNet,
    "shufflenet": ShuffleNet,
}


def create(name: str, **kwargs):
    """Build a classifier of the zoo by name, e.g. ``create('lenet', input_size=8)``."""
    if name not in MODELS:
        raise ValueError(f"create: unknown model {name!r}; choose one of {', '.join(sorted(MODELS))}")
    return MODELS[name](**kwargs)


__all__ = [
    "FCN",
    "MODELS",
    "BasicBlock",
    "LeNet5",
    "MobileNet",
    "MobileNetBlock",
    "ResNet",
    "ShuffleNet",
    "ShuffleUnit",
    "create",
    "resnet18",
]
