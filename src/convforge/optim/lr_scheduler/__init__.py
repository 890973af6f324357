"""Learning-rate schedulers with torch's semantics: ``cf.optim.lr_scheduler.StepLR(optimizer, 10)``.

``base``: LRScheduler and the shared checks; ``simple``: a factor of the epoch (LambdaLR,
MultiplicativeLR, StepLR, MultiStepLR, ConstantLR, LinearLR, ExponentialLR, PolynomialLR);
``cosine``: CosineAnnealingLR, CosineAnnealingWarmRestarts; ``cyclic``: CyclicLR and
OneCycleLR, which also cycle the momentum; ``plateau``: ReduceLROnPlateau; ``composite``:
SequentialLR and ChainedScheduler.
"""

from .base import LRScheduler, _LRScheduler
from .composite import ChainedScheduler, SequentialLR
from .cosine import CosineAnnealingLR, CosineAnnealingWarmRestarts
from .cyclic import CyclicLR, OneCycleLR
from .plateau import ReduceLROnPlateau
from .simple import (
    ConstantLR,
    ExponentialLR,
    LambdaLR,
    LinearLR,
    MultiplicativeLR,
    MultiStepLR,
    PolynomialLR,
    StepLR,
)

__all__ = [
    "ChainedScheduler",
    "ConstantLR",
    "CosineAnnealingLR",
    "CosineAnnealingWarmRestarts",
    "CyclicLR",
    "ExponentialLR",
    "LRScheduler",
    "LambdaLR",
    "LinearLR",
    "MultiStepLR",
    "MultiplicativeLR",
    "OneCycleLR",
    "PolynomialLR",
    "ReduceLROnPlateau",
    "SequentialLR",
    "StepLR",
    "_LRScheduler",
]
