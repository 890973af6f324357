"""Pictures: training curves, confusion matrices, kernels and feature maps (matplotlib).

Animations of the sliding window are in :mod:`convforge.viz.animate`, classic image
filters in :mod:`convforge.viz.filters`.
"""

from .features import feature_maps, plot_features
from .training import plot_confusion, plot_curves, plot_kernels

__all__ = ["feature_maps", "plot_confusion", "plot_curves", "plot_features", "plot_kernels"]
