"""Normalizations over other axes than batch norm's: layer, group, instance, RMS and local
response normalization, composed from differentiable mean/variance/elementwise ops.

All of them compute ``(x - mean) / sqrt(var + eps)`` with the biased variance over some axes
(RMS norm: ``x / sqrt(mean(x^2) + eps)``), then an optional per-element or per-channel
affine map; which axes is what tells them apart:

* layer norm: the trailing ``normalized_shape`` axes of each sample,
* group norm: each group of ``C / num_groups`` channels of each sample, with all its positions,
* instance norm: each channel of each sample, over its positions.
"""

from __future__ import annotations

import numpy as np

from .. import spec as sp
from ..autograd.tensor import Tensor
from ._common import _float_tensor, _raw_array, _tensor
from .shape import pad

__all__ = ["group_norm", "instance_norm", "layer_norm", "local_response_norm", "rms_norm"]


def _standardize(x: Tensor, axes: tuple[int, ...], eps: float) -> Tensor:
    """``(x - mean) / sqrt(var + eps)`` over ``axes``, biased variance (as every torch norm)."""
    centered = x - x.mean(dim=axes, keepdim=True)
    var = (centered * centered).mean(dim=axes, keepdim=True)
    return centered / (var + eps).sqrt()


def _normalized_shape(op: str, normalized_shape) -> tuple[int, ...]:
    if sp._is_int(normalized_shape):
        return (int(normalized_shape),)
    if isinstance(normalized_shape, (tuple, list)) and all(sp._is_int(s) for s in normalized_shape):
        return tuple(int(s) for s in normalized_shape)
    raise TypeError(
        f"{op}: normalized_shape must be an int or a sequence of ints, but got normalized_shape={normalized_shape!r}"
    )


def _check_trailing(op: str, x: Tensor, shape: tuple[int, ...]) -> None:
    if not shape or x.shape[x.ndim - len(shape) :] != shape or len(shape) > x.ndim:
        raise ValueError(
            f"{op}: input of shape {x.shape} must end with normalized_shape {shape} (expected input of "
            f"shape [*, {', '.join(map(str, shape))}])"
        )


def _affine_operand(op: str, name: str, value, shape: tuple[int, ...]) -> Tensor | None:
    if value is None:
        return None
    t = _tensor(op, name, value)
    if t.shape != shape:
        raise ValueError(f"{op}: {name} must have shape {shape}, but got {name} of shape {t.shape}")
    return t


def _check_eps(op: str, eps) -> float:
    if isinstance(eps, bool) or not isinstance(eps, (int, float)) or eps < 0:
        raise ValueError(f"{op}: eps must be a non-negative number, but got eps={eps!r}")
    return float(eps)


def layer_norm(input, normalized_shape, weight=None, bias=None, eps: float = 1e-5) -> Tensor:
    """Normalize each sample over its trailing ``normalized_shape`` axes, then ``* weight + bias``.

    Shape: input (*, *normalized_shape); weight and bias ``normalized_shape``; output as input.
    """
    op = "layer_norm"
    x = _float_tensor(op, "input", input)
    shape = _normalized_shape(op, normalized_shape)
    _check_trailing(op, x, shape)
    w = _affine_operand(op, "weight", weight, shape)
    b = _affine_operand(op, "bias", bias, shape)
    y = _standardize(x, tuple(range(x.ndim - len(shape), x.ndim)), _check_eps(op, eps))
    if w is not None:
        y = y * w
    return y if b is None else y + b


def rms_norm(input, normalized_shape, weight=None, eps: float | None = None) -> Tensor:
    """``x / sqrt(mean(x^2) + eps) * weight`` over the trailing ``normalized_shape`` axes.

    ``eps=None`` is the machine epsilon of the input's dtype, as torch.
    Shape: input (*, *normalized_shape); weight ``normalized_shape``; output as input.
    """
    op = "rms_norm"
    x = _float_tensor(op, "input", input)
    shape = _normalized_shape(op, normalized_shape)
    _check_trailing(op, x, shape)
    w = _affine_operand(op, "weight", weight, shape)
    eps = float(np.finfo(x.dtype).eps) if eps is None else _check_eps(op, eps)
    axes = tuple(range(x.ndim - len(shape), x.ndim))
    y = x / ((x * x).mean(dim=axes, keepdim=True) + eps).sqrt()
    return y if w is None else y * w


def _channel_affine(y: Tensor, weight: Tensor | None, bias: Tensor | None) -> Tensor:
    """``y * weight + bias`` with (C,) weight and bias along axis 1."""
    view = (1, y.shape[1]) + (1,) * (y.ndim - 2)
    if weight is not None:
        y = y * weight.reshape(*view)
    return y if bias is None else y + bias.reshape(*view)


def group_norm(input, num_groups: int, weight=None, bias=None, eps: float = 1e-5) -> Tensor:
    """Normalize each group of ``C / num_groups`` channels of each sample, then a per-channel affine.

    Shape: input (N, C, *); weight and bias (C,); output as input.
    """
    op = "group_norm"
    x = _float_tensor(op, "input", input)
    if x.ndim < 2:
        raise ValueError(f"{op}: input must be (N, C, *), but got input of shape {x.shape}")
    if not sp._is_int(num_groups) or num_groups < 1:
        raise ValueError(f"{op}: num_groups must be a positive int, but got num_groups={num_groups!r}")
    channels = x.shape[1]
    if channels % num_groups:
        raise ValueError(
            f"{op}: num_groups must divide the number of channels, but got num_groups={num_groups}, "
            f"channels={channels}"
        )
    w = _affine_operand(op, "weight", weight, (channels,))
    b = _affine_operand(op, "bias", bias, (channels,))
    grouped = x.reshape(x.shape[0], num_groups, -1)  # (N, G, C/G * positions)
    y = _standardize(grouped, (2,), _check_eps(op, eps)).reshape(*x.shape)
    return _channel_affine(y, w, b)


def _update_running(running, stats: np.ndarray, momentum: float) -> None:
    target = _raw_array(running)
    target[...] = (1 - momentum) * target + momentum * stats.astype(target.dtype, copy=False)


def instance_norm(
    input,
    running_mean=None,
    running_var=None,
    weight=None,
    bias=None,
    use_input_stats: bool = True,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Normalize each channel of each sample over its positions, then a per-channel affine.

    With ``use_input_stats`` the instance statistics normalize and the running ones, when
    given, move towards their batch average (unbiased variance, as torch); otherwise the
    running statistics normalize.

    Shape: input (N, C, *) with at least one position axis; running stats, weight, bias (C,).
    """
    op = "instance_norm"
    x = _float_tensor(op, "input", input)
    if x.ndim < 3:
        raise ValueError(f"{op}: input must be (N, C, L, ...), but got input of shape {x.shape}")
    channels, axes = x.shape[1], tuple(range(2, x.ndim))
    w = _affine_operand(op, "weight", weight, (channels,))
    b = _affine_operand(op, "bias", bias, (channels,))
    for name, value in (("running_mean", running_mean), ("running_var", running_var)):
        if value is not None and np.shape(_raw_array(value)) != (channels,):
            raise ValueError(
                f"{op}: {name} must have shape ({channels},), but got {np.shape(_raw_array(value))}"
            )
    eps = _check_eps(op, eps)
    if not use_input_stats:
        if running_mean is None or running_var is None:
            raise ValueError(f"{op}: running_mean and running_var are required when use_input_stats=False")
        view = (1, channels) + (1,) * len(axes)
        mean = _raw_array(running_mean).reshape(view).astype(x.dtype)
        var = _raw_array(running_var).reshape(view).astype(x.dtype)
        return _channel_affine((x - mean) / np.sqrt(var + eps), w, b)
    positions = int(np.prod([x.shape[a] for a in axes]))
    if positions <= 1:
        raise ValueError(
            f"{op}: expected more than 1 spatial element when training, but got input of shape {x.shape}"
        )
    data = x.array
    if running_mean is not None:
        _update_running(running_mean, data.mean(axis=axes).mean(axis=0), momentum)
    if running_var is not None:
        _update_running(running_var, data.var(axis=axes, ddof=1).mean(axis=0), momentum)
    return _channel_affine(_standardize(x, axes, eps), w, b)


def local_response_norm(input, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0) -> Tensor:
    """``x / (k + alpha * mean of x^2 over a window of size channels)^beta`` (AlexNet).

    The window of channel c covers ``c - size//2 .. c + (size-1)//2``, zero outside, and the
    mean divides by ``size`` always (as torch's average pool with zero padding).

    Shape: input (N, C, *) with at least one position axis; output as input.
    """
    op = "local_response_norm"
    x = _float_tensor(op, "input", input)
    if x.ndim < 3:
        raise ValueError(f"{op}: input must be (N, C, *) with at least 3 dimensions, but got shape {x.shape}")
    if not sp._is_int(size) or size < 1:
        raise ValueError(f"{op}: size must be a positive int, but got size={size!r}")
    if x.shape[1] == 0:
        return x
    channels = x.shape[1]
    # zeros before and after the channel axis (F.pad lists the last axis first)
    padded = pad(x * x, (0, 0) * (x.ndim - 2) + (size // 2, (size - 1) // 2))  # (N, C + size - 1, *)
    window = padded[:, 0:channels]
    for offset in range(1, size):
        window = window + padded[:, offset : offset + channels]
    return x / ((window * (alpha / size)) + k) ** beta
