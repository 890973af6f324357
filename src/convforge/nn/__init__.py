"""Neural-network building blocks; ``cf.nn.functional`` is :mod:`convforge.functional`."""

from . import functional

__all__ = ["functional"]
