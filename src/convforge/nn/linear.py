"""Linear, Bilinear, Identity, Flatten and Unflatten."""

from __future__ import annotations

import math

import numpy as np

from .. import functional as F
from .. import spec as sp
from ..autograd.tensor import Tensor
from . import init
from .conv import factory_dtype, positive_int
from .module import Module
from .parameter import Parameter

__all__ = ["Bilinear", "Flatten", "Identity", "Linear", "Unflatten"]


class Identity(Module):
    """Returns its input; any constructor arguments are ignored (as torch)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__()

    def forward(self, input):
        return input


class Linear(Module):
    """``y = x @ weight.T + bias``, as ``torch.nn.Linear``.

    Initialization as torch: weight ``kaiming_uniform_(a=sqrt(5))`` (``U(+-1/sqrt(in))``),
    bias ``U(+-1/sqrt(in_features))``.

    Shape: input (*, in_features); weight (out_features, in_features); output
    (*, out_features).
    """

    def __init__(
        self, in_features: int, out_features: int, bias: bool = True, device=None, dtype=None
    ) -> None:
        super().__init__()
        op = type(self).__name__
        self.in_features = positive_int(op, "in_features", in_features)
        self.out_features = positive_int(op, "out_features", out_features)
        dtype = factory_dtype(op, device, dtype)
        self.weight = Parameter(np.empty((out_features, in_features), dtype=dtype))
        if bias:
            self.bias = Parameter(np.empty(out_features, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.default_layer_init_(self.weight, self.bias)

    def forward(self, input) -> Tensor:
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"
        )


class Bilinear(Module):
    """``y = x1^T A x2 + b`` per output feature, as ``torch.nn.Bilinear``; see ``F.bilinear``.

    Initialization as torch: weight and bias ``U(+-1/sqrt(in1_features))``.

    Shape: input1 (*, in1_features), input2 (*, in2_features) -> (*, out_features); weight
    (out_features, in1_features, in2_features).
    """

    def __init__(
        self,
        in1_features: int,
        in2_features: int,
        out_features: int,
        bias: bool = True,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        op = "Bilinear"
        self.in1_features = positive_int(op, "in1_features", in1_features)
        self.in2_features = positive_int(op, "in2_features", in2_features)
        self.out_features = positive_int(op, "out_features", out_features)
        dtype = factory_dtype(op, device, dtype)
        self.weight = Parameter(np.empty((out_features, in1_features, in2_features), dtype=dtype))
        if bias:
            self.bias = Parameter(np.empty(out_features, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1 / math.sqrt(self.in1_features)
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input1, input2) -> Tensor:
        return F.bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (
            f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
            f"out_features={self.out_features}, bias={self.bias is not None}"
        )


class Flatten(Module):
    """Flatten dimensions ``start_dim..end_dim`` into one.

    Shape: (*, S_start, ..., S_end, *) -> (*, S_start * ... * S_end, *).
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        for name, value in (("start_dim", start_dim), ("end_dim", end_dim)):
            if not sp._is_int(value):
                raise TypeError(f"Flatten: {name} must be an int, but got {name}={value!r}")
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, input: Tensor) -> Tensor:
        return input.flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Split dimension ``dim`` into ``unflattened_size`` (one entry may be -1).

    Shape: (*, S_dim, *) -> (*, U_1, ..., U_k, *) with ``prod(U) = S_dim``.
    """

    def __init__(self, dim: int, unflattened_size) -> None:
        super().__init__()
        if not sp._is_int(dim):
            raise TypeError(f"Unflatten: dim must be an int, but got dim={dim!r}")
        if not isinstance(unflattened_size, (tuple, list)) or not all(
            sp._is_int(s) for s in unflattened_size
        ):
            raise TypeError(
                f"Unflatten: unflattened_size must be a tuple of ints, but got unflattened_size={unflattened_size!r}"
            )
        self.dim, self.unflattened_size = dim, unflattened_size

    def forward(self, input: Tensor) -> Tensor:
        dim = self.dim % input.ndim
        sizes = tuple(self.unflattened_size)
        known = math.prod(s for s in sizes if s != -1)
        if (-1 not in sizes and known != input.shape[dim]) or (
            -1 in sizes and input.shape[dim] % max(known, 1)
        ):
            raise ValueError(
                f"Unflatten: unflattened_size {sizes} does not match the size {input.shape[dim]} "
                f"of dimension {self.dim} of the input of shape {input.shape}"
            )
        return input.reshape(*input.shape[:dim], *sizes, *input.shape[dim + 1 :])

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
