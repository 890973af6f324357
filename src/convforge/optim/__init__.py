"""Optimizers and learning-rate schedulers with torch's API: ``cf.optim.SGD(model.parameters(), lr=0.1)``."""

from . import lr_scheduler
from .adam import Adam, AdamW
from .optimizer import Optimizer
from .sgd import SGD

__all__ = ["SGD", "Adam", "AdamW", "Optimizer", "lr_scheduler"]
