"""Activations, softmax and dropout (the functions behind the nn activation layers)."""

from __future__ import annotations

import warnings

import numpy as np

from .. import random as cf_random
from .. import spec as sp
from ..autograd.ops import elementwise as ew
from ..autograd.ops import nn as nn_ops
from ..autograd.tensor import Tensor
from ._common import TensorLike, _computed, _float_tensor, _in_dtype_of, _tensor, in_place

__all__ = ["dropout", "gelu", "leaky_relu", "log_softmax", "relu", "sigmoid", "softmax", "tanh"]


def relu(input: TensorLike, inplace: bool = False) -> Tensor:
    """max(0, x) elementwise; ``inplace=True`` overwrites ``input`` (torch's in-place rules).

    Shape: any; the output has the input's shape (as every elementwise activation here).
    """
    x = _tensor("relu", "input", input)
    return x.relu_() if inplace else ew.ReLU.apply(x)


def leaky_relu(input: TensorLike, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """``x`` where positive, else ``negative_slope * x``; ``inplace=True`` writes into ``input``.

    Shape: any, kept.
    """
    if not isinstance(negative_slope, (int, float)) or isinstance(negative_slope, bool):
        raise TypeError(
            f"leaky_relu: negative_slope must be a number, but got negative_slope={negative_slope!r}"
        )
    x = _float_tensor("leaky_relu", "input", input)
    return in_place(x, lambda t: nn_ops.LeakyReLU.apply(t, float(negative_slope)), inplace)


def gelu(input: TensorLike, approximate: str = "none") -> Tensor:
    """``x * Phi(x)`` with the normal CDF ``Phi`` (``approximate='tanh'``: its tanh form).

    Shape: any, kept.
    """
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', but got approximate={approximate!r}")
    x = _float_tensor("gelu", "input", input)
    (computed,) = _computed("gelu", x)
    return _in_dtype_of(nn_ops.GELU.apply(computed, approximate), x)


def sigmoid(input: TensorLike) -> Tensor:
    """``1 / (1 + exp(-x))``, computed without overflow. Shape: any, kept."""
    x = _float_tensor("sigmoid", "input", input)
    return _in_dtype_of(ew.Sigmoid.apply(*_computed("sigmoid", x)), x)


def tanh(input: TensorLike) -> Tensor:
    """The hyperbolic tangent, elementwise. Shape: any, kept."""
    x = _float_tensor("tanh", "input", input)
    return _in_dtype_of(ew.Tanh.apply(*_computed("tanh", x)), x)


def _softmax_axis(op: str, x: Tensor, dim) -> int:
    if dim is None:  # torch's legacy implicit choice
        warnings.warn(
            f"{op}: implicit dimension choice is deprecated; pass dim explicitly", UserWarning, stacklevel=3
        )
        dim = 0 if x.ndim in (0, 1, 3) else 1
    if not sp._is_int(dim):
        raise TypeError(f"{op}: dim must be an int, but got dim={dim!r}")
    if not -max(x.ndim, 1) <= dim < max(x.ndim, 1):
        raise IndexError(f"{op}: dim must be in [{-x.ndim}, {x.ndim - 1}], but got dim={dim}")
    return int(dim) % max(x.ndim, 1)


def _softmax_input(op: str, input, dtype) -> Tensor:
    x = _float_tensor(op, "input", input)
    return x if dtype is None else x.to(dtype)


def softmax(input: TensorLike, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """``exp(x) / sum(exp(x))`` along ``dim`` (stable: shifted by the maximum). Shape: any, kept."""
    x = _softmax_input("softmax", input, dtype)
    (computed,) = _computed("softmax", x)
    return _in_dtype_of(nn_ops.Softmax.apply(computed, _softmax_axis("softmax", x, dim)), x)


def log_softmax(input: TensorLike, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """``x - logsumexp(x)`` along ``dim`` (stable; never takes the log of a softmax).

    Shape: any, kept.
    """
    x = _softmax_input("log_softmax", input, dtype)
    (computed,) = _computed("log_softmax", x)
    return _in_dtype_of(nn_ops.LogSoftmax.apply(computed, _softmax_axis("log_softmax", x, dim)), x)


def dropout(input: TensorLike, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by ``1/(1-p)``.

    The mask comes from the default generator (``cf.manual_seed``); with
    ``training=False`` the input is returned unchanged. Shape: any, kept.
    """
    if not isinstance(p, (int, float)) or isinstance(p, bool) or not 0 <= p <= 1:
        raise ValueError(f"dropout: p must be a probability in [0, 1], but got p={p!r}")
    x = _float_tensor("dropout", "input", input)
    if not training or p == 0:
        return x
    if p == 1:
        return in_place(x, lambda t: t * np.zeros((), dtype=x.dtype), inplace)
    keep = cf_random.default_generator().random(x.shape) >= p  # kept with probability 1 - p
    return in_place(x, lambda t: t * (keep.astype(x.dtype) / x.dtype.type(1 - p)), inplace)
