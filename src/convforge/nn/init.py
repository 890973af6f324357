"""Weight initialization, as ``torch.nn.init``: in place, from the seeded default generator.

Fan computation is torch's: for a weight of shape ``(out, in, *kernel)``,
``fan_in = in * prod(kernel)`` and ``fan_out = out * prod(kernel)`` (for a transposed
convolution, whose weight is ``(in, out/groups, *kernel)``, the roles follow the shape, as
in torch). ``cf.manual_seed(n)`` makes every initializer reproducible.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from scipy import special

from .. import random as cf_random
from ..autograd.tensor import Tensor

__all__ = [
    "calculate_gain",
    "constant",
    "constant_",
    "dirac",
    "dirac_",
    "eye",
    "eye_",
    "kaiming_normal",
    "kaiming_normal_",
    "kaiming_uniform",
    "kaiming_uniform_",
    "normal",
    "normal_",
    "ones_",
    "orthogonal",
    "orthogonal_",
    "sparse",
    "sparse_",
    "trunc_normal_",
    "uniform",
    "uniform_",
    "xavier_normal",
    "xavier_normal_",
    "xavier_uniform",
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


def affine_init_(weight, bias=None) -> None:
    """torch's default for the affine parameters of normalization layers: weight ones, bias
    zeros; either may be None (no affine part, no bias), and is then skipped."""
    if weight is not None:
        ones_(weight)
    if bias is not None:
        zeros_(bias)


def trunc_normal_(
    tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0, b: float = 2.0, generator=None
):
    """Fill with N(mean, std^2) truncated to [a, b], by the inverse CDF (as torch).

    ``U(cdf(a), cdf(b))`` samples mapped through the normal quantile, then clamped to [a, b]
    against round-off. Warns when ``mean`` is more than 2 std outside [a, b].
    """
    data = _data("trunc_normal_", tensor)
    if not a < b:
        raise ValueError(f"trunc_normal_: a must be less than b, but got a={a}, b={b}")
    if mean < a - 2 * std or mean > b + 2 * std:
        warnings.warn(
            "trunc_normal_: mean is more than 2 std from [a, b]; the distribution of values may be incorrect",
            UserWarning,
            stacklevel=2,
        )
    rng = cf_random.resolve_generator(generator, "trunc_normal_")
    low, high = (special.ndtr((v - mean) / std) for v in (a, b))
    values = special.ndtri(rng.uniform(low, high, data.shape)) * std + mean
    return _fill(tensor, np.clip(values, a, b))


def _check_2d(op: str, data: np.ndarray) -> None:
    if data.ndim != 2:
        raise ValueError(f"{op}: only 2-D tensors are supported, but got a tensor of shape {data.shape}")


def orthogonal_(tensor, gain: float = 1, generator=None):
    """Fill with a (semi-)orthogonal matrix: the Q of a QR of a standard normal sample, signs
    fixed by R's diagonal (Saxe et al.), times ``gain``. A tensor of 3 or more dimensions is
    viewed as ``(size(0), numel / size(0))``."""
    data = _data("orthogonal_", tensor)
    if data.ndim < 2:
        raise ValueError(
            f"orthogonal_: only tensors with 2 or more dimensions are supported, but got shape {data.shape}"
        )
    if data.size == 0:
        return tensor  # nothing to fill (torch warns and returns)
    rows = data.shape[0]
    cols = data.size // rows
    rng = cf_random.resolve_generator(generator, "orthogonal_")
    flat = rng.normal(0.0, 1.0, (rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)  # q: (max, min) with orthonormal columns
    q = q * np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return _fill(tensor, (q * gain).reshape(data.shape))


def sparse_(tensor, sparsity: float, std: float = 0.01, generator=None):
    """Fill a 2-D tensor with N(0, std^2) and zero ``ceil(sparsity * rows)`` random rows of each
    column (Martens, 2010)."""
    data = _data("sparse_", tensor)
    _check_2d("sparse_", data)
    if not 0 <= sparsity <= 1:
        raise ValueError(f"sparse_: sparsity must be in [0, 1], but got sparsity={sparsity}")
    rows, cols = data.shape
    zeros_per_column = math.ceil(sparsity * rows)
    rng = cf_random.resolve_generator(generator, "sparse_")
    values = rng.normal(0.0, std, (rows, cols))
    for column in range(cols):
        values[rng.permutation(rows)[:zeros_per_column], column] = 0
    return _fill(tensor, values)


def eye_(tensor):
    """Fill a 2-D tensor with the identity (ones on the main diagonal of a rectangle)."""
    data = _data("eye_", tensor)
    _check_2d("eye_", data)
    return _fill(tensor, np.eye(*data.shape))


def dirac_(tensor, groups: int = 1):
    """Fill a 3/4/5-D conv weight with the Dirac delta: a convolution with it copies its input
    channels (per group: output ``g*out_per_group + d`` takes input ``d`` at the kernel centre)."""
    data = _data("dirac_", tensor)
    if data.ndim not in (3, 4, 5):
        raise ValueError(
            f"dirac_: only tensors with 3, 4, or 5 dimensions are supported, but got shape {data.shape}"
        )
    if not isinstance(groups, int) or groups < 1 or data.shape[0] % groups:
        raise ValueError(f"dirac_: groups must divide dim 0 ({data.shape[0]}), but got groups={groups!r}")
    out_per_group = data.shape[0] // groups
    values = np.zeros(data.shape)
    centre = tuple(k // 2 for k in data.shape[2:])
    for g in range(groups):
        for d in range(min(out_per_group, data.shape[1])):
            values[(g * out_per_group + d, d, *centre)] = 1
    return _fill(tensor, values)


def _deprecated(new):
    """torch's old spellings without the trailing underscore: warn, then call ``new``."""
    old_name = new.__name__[:-1]

    def old(*args, **kwargs):
        warnings.warn(
            f"nn.init.{old_name} is now deprecated in favor of nn.init.{new.__name__}",
            FutureWarning,
            stacklevel=2,
        )
        return new(*args, **kwargs)

    old.__name__ = old.__qualname__ = old_name
    old.__doc__ = f"Deprecated: use :func:`{new.__name__}`."
    return old


uniform = _deprecated(uniform_)
normal = _deprecated(normal_)
constant = _deprecated(constant_)
eye = _deprecated(eye_)
dirac = _deprecated(dirac_)
xavier_uniform = _deprecated(xavier_uniform_)
xavier_normal = _deprecated(xavier_normal_)
kaiming_uniform = _deprecated(kaiming_uniform_)
kaiming_normal = _deprecated(kaiming_normal_)
orthogonal = _deprecated(orthogonal_)
sparse = _deprecated(sparse_)
