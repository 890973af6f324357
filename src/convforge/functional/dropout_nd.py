"""Channel-wise (feature) dropout and alpha dropout, as torch's dropout1d/2d/3d,
alpha_dropout and feature_alpha_dropout. Masks come from the seeded default generator;
``inplace=True`` writes the result into the input (see ``_common.in_place``)."""

from __future__ import annotations

import warnings

import numpy as np

from .. import random as cf_random
from ..autograd.tensor import Tensor
from ._common import _float_tensor, in_place
from .activation_extra import SELU_ALPHA, SELU_SCALE

__all__ = ["alpha_dropout", "dropout1d", "dropout2d", "dropout3d", "feature_alpha_dropout"]

# alpha dropout sets dropped units to SELU's negative saturation value
_ALPHA_PRIME = -SELU_SCALE * SELU_ALPHA


def _check_p(op: str, p) -> float:
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p <= 1:
        raise ValueError(f"{op}: dropout probability p has to be between 0 and 1, but got p={p!r}")
    return float(p)


def _channel_keep(x: Tensor, p: float, batched: bool) -> np.ndarray:
    """A keep mask with one draw per (sample, channel), broadcast over the positions."""
    leading = 2 if batched else 1
    shape = x.shape[:leading] + (1,) * (x.ndim - leading)
    return cf_random.default_generator().random(shape) >= p  # kept with probability 1 - p


def _feature_dropout(x: Tensor, p: float, training: bool, batched: bool, inplace: bool) -> Tensor:
    if not training or p == 0:
        return x
    if p == 1:
        return in_place(x, lambda t: t * np.zeros((), dtype=t.dtype), inplace)
    scale = _channel_keep(x, p, batched).astype(x.dtype) / x.dtype.type(1 - p)
    return in_place(x, lambda t: t * scale, inplace)


def dropout1d(input, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero whole channels with probability ``p``, scale the rest by ``1/(1-p)``.

    Shape: (N, C, L) or (C, L), unchanged.
    """
    p = _check_p("dropout1d", p)
    x = _float_tensor("dropout1d", "input", input)
    if x.ndim not in (2, 3):
        raise ValueError(f"dropout1d: expected 2D or 3D input, but got a {x.ndim}D input of shape {x.shape}")
    return _feature_dropout(x, p, training, x.ndim == 3, inplace)


def dropout2d(input, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero whole channels with probability ``p``, scale the rest by ``1/(1-p)``.

    Shape: (N, C, H, W) or (C, H, W), unchanged. As torch 2.13, a 3-D input is taken as
    (N, C, L) with a warning, and other ranks warn and drop per (N, C).
    """
    p = _check_p("dropout2d", p)
    x = _float_tensor("dropout2d", "input", input)
    if x.ndim == 3:
        warnings.warn(
            "dropout2d: received a 3D input; as torch, it is interpreted as shape (N, C, L) (channel-wise "
            "1D dropout). Use dropout1d for that, or add a batch dimension to an unbatched (C, H, W) input.",
            UserWarning,
            stacklevel=2,
        )
    elif x.ndim != 4:
        warnings.warn(
            f"dropout2d: received a {x.ndim}-D input, which is deprecated (torch will refuse it); "
            "dropout2d expects 3D or 4D input",
            UserWarning,
            stacklevel=2,
        )
    return _feature_dropout(x, p, training, x.ndim >= 2, inplace)


def dropout3d(input, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero whole channels with probability ``p``, scale the rest by ``1/(1-p)``.

    Shape: (N, C, D, H, W) or (C, D, H, W), unchanged.
    """
    p = _check_p("dropout3d", p)
    x = _float_tensor("dropout3d", "input", input)
    if x.ndim not in (4, 5):
        warnings.warn(
            f"dropout3d: received a {x.ndim}-D input, which is deprecated (torch will refuse it); "
            "dropout3d expects 4D or 5D input",
            UserWarning,
            stacklevel=2,
        )
    return _feature_dropout(x, p, training, x.ndim != 4, inplace)


def _alpha(x: Tensor, p: float, training: bool, keep_fn, inplace: bool) -> Tensor:
    """Alpha dropout: dropped units become SELU's saturation ``alpha'``, then ``a * x + b``
    restores zero mean and unit variance (Klambauer et al., 2017):
    ``a = ((1 - p)(1 + p alpha'^2))^(-1/2)``, ``b = -a alpha' p``."""
    if not training or p == 0:
        return x
    if p == 1:
        return in_place(x, lambda t: t * np.zeros((), dtype=t.dtype), inplace)
    keep = keep_fn().astype(x.dtype)
    a = ((1 - p) * (1 + p * _ALPHA_PRIME**2)) ** -0.5
    b = -a * _ALPHA_PRIME * p
    dropped_value = ((1 - keep) * (a * _ALPHA_PRIME + b) + keep * b).astype(x.dtype)
    return in_place(x, lambda t: t * (keep * a).astype(t.dtype) + dropped_value, inplace)


def alpha_dropout(input, p: float = 0.5, training: bool = False, inplace: bool = False) -> Tensor:
    """Dropout for SELU networks: keeps the mean and variance of its input. Shape: any, unchanged.

    Note torch's default ``training=False`` here (the layer passes its mode).
    """
    p = _check_p("alpha_dropout", p)
    x = _float_tensor("alpha_dropout", "input", input)
    return _alpha(x, p, training, lambda: cf_random.default_generator().random(x.shape) >= p, inplace)


def feature_alpha_dropout(input, p: float = 0.5, training: bool = False, inplace: bool = False) -> Tensor:
    """Alpha dropout of whole channels (one draw per sample and channel).

    Shape: (N, C, *), unchanged.
    """
    p = _check_p("feature_alpha_dropout", p)
    x = _float_tensor("feature_alpha_dropout", "input", input)
    if x.ndim < 2:
        raise ValueError(f"feature_alpha_dropout: input must be (N, C, *), but got input of shape {x.shape}")
    return _alpha(x, p, training, lambda: _channel_keep(x, p, batched=True), inplace)
