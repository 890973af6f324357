"""Pictures: training curves, confusion matrices, kernels and feature maps (matplotlib)."""

from .training import plot_confusion, plot_curves, plot_kernels

__all__ = ["plot_confusion", "plot_curves", "plot_kernels"]
