"""Weight initialization, as ``torch.nn.init``: in place, from the seeded default generator.

Fan computation is torch's: for a weight of shape ``(out, in, *kernel)``,
``fan_in = in * prod(kernel)`` and ``fan_out = out * prod(kernel)`` (for a transposed
convolution, whose weight is ``(in, out/groups, *kernel)``, the roles follow the shape, as
in torch). ``cf.manual_seed(n)`` makes every initializer reproducible.
"""

from __future__ import annotations

import math

import numpy as np

from .. import random as cf_random
from ..autograd.tensor import Tensor

__all__ = [
    "calculate_gain",
    "constant_",
    "kaiming_normal_",
    "kaiming_uniform_",
    "normal_",
    "ones_",
    "uniform_",
    "xavier_normal_",
    "xavier_uniform_",
    "zeros_",
]

_LINEAR_GAINS = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
                 "conv_transpose3d", "sigmoid")  # fmt: skip


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain for a nonlinearity (torch's table).

    linear/conv/sigmoid 1, tanh 5/3, relu sqrt(2), leaky_relu sqrt(2 / (1 + slope^2)) with
    slope ``param`` (default 0.01), selu 3/4.
    """
    if nonlinearity in _LINEAR_GAINS:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "selu":
        return 3.0 / 4
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = float(param)
        else:
            raise ValueError(f"calculate_gain: negative_slope {param!r} is not a valid number")
        return math.sqrt(2.0 / (1 + slope**2))
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}")


def _data(op: str, tensor) -> np.ndarray:
    if isinstance(tensor, Tensor):
        return tensor.array
    if isinstance(tensor, np.ndarray):
        return tensor
    raise TypeError(f"{op}: tensor must be a Tensor or an ndarray, but got {type(tensor).__name__}")


def _fill(tensor, values: np.ndarray):
    data = _data("init", tensor)
    data[...] = values
    return tensor


def calculate_fan_in_and_fan_out(tensor) -> tuple[int, int]:
    """``(size(1) * receptive field, size(0) * receptive field)`` of a >= 2-D weight."""
    shape = _data("calculate_fan_in_and_fan_out", tensor).shape
    if len(shape) < 2:
        raise ValueError(
            f"Fan in and fan out can not be computed for a tensor with fewer than 2 dimensions, "
            f"but got shape {shape}"
        )
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


_calculate_fan_in_and_fan_out = calculate_fan_in_and_fan_out  # torch's private name


def _fan(tensor, mode: str) -> int:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out', but got mode={mode!r}")
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def uniform_(tensor, a: float = 0.0, b: float = 1.0, generator=None):
    """Fill with samples of U(a, b)."""
    data = _data("uniform_", tensor)
    rng = cf_random.resolve_generator(generator, "uniform_")
    return _fill(tensor, rng.uniform(a, b, data.shape))


def normal_(tensor, mean: float = 0.0, std: float = 1.0, generator=None):
    """Fill with samples of N(mean, std^2)."""
    data = _data("normal_", tensor)
    rng = cf_random.resolve_generator(generator, "normal_")
    return _fill(tensor, rng.normal(mean, std, data.shape))


def constant_(tensor, val: float):
    return _fill(tensor, val)


def zeros_(tensor):
    return _fill(tensor, 0)


def ones_(tensor):
    return _fill(tensor, 1)


def xavier_uniform_(tensor, gain: float = 1.0, generator=None):
    """U(-a, a) with ``a = gain * sqrt(6 / (fan_in + fan_out))`` (Glorot & Bengio)."""
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    bound = math.sqrt(3.0) * gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return uniform_(tensor, -bound, bound, generator)


def xavier_normal_(tensor, gain: float = 1.0, generator=None):
    """N(0, std^2) with ``std = gain * sqrt(2 / (fan_in + fan_out))``."""
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / float(fan_in + fan_out)), generator)


def kaiming_uniform_(
    tensor, a: float = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu", generator=None
):
    """U(-bound, bound) with ``bound = gain * sqrt(3 / fan)`` (He et al.).

    ``a`` is the negative slope of a following leaky ReLU; torch's layers use
    ``a=sqrt(5)``, which gives ``bound = 1 / sqrt(fan_in)``.
    """
    fan = _fan(tensor, mode)
    if fan == 0:
        return tensor
    bound = math.sqrt(3.0) * calculate_gain(nonlinearity, a) / math.sqrt(fan)
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(
    tensor, a: float = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu", generator=None
):
    """N(0, std^2) with ``std = gain / sqrt(fan)`` (He et al.)."""
    fan = _fan(tensor, mode)
    if fan == 0:
        return tensor
    return normal_(tensor, 0.0, calculate_gain(nonlinearity, a) / math.sqrt(fan), generator)


def default_layer_init_(weight, bias=None) -> None:
    """torch's default for Linear and Conv layers: weight ``kaiming_uniform_(a=sqrt(5))``,
    bias ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))`` (0 for an empty fan-in)."""
    kaiming_uniform_(weight, a=math.sqrt(5))
    if bias is not None:
        fan_in, _ = calculate_fan_in_and_fan_out(weight)
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
        uniform_(bias, -bound, bound)
