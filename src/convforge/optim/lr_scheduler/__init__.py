"""Learning-rate schedulers with torch's semantics: ``cf.optim.lr_scheduler.StepLR(optimizer, 10)``."""

from .base import CosineAnnealingLR, ExponentialLR, LambdaLR, LRScheduler, MultiStepLR, StepLR

__all__ = ["CosineAnnealingLR", "ExponentialLR", "LRScheduler", "LambdaLR", "MultiStepLR", "StepLR"]
