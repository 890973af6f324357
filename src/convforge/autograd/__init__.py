"""Reverse-mode automatic differentiation: Tensor, Function, no_grad, gradcheck."""

from .function import Function, enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .gradcheck import GradcheckError, gradcheck
from .tensor import Tensor, as_tensor, tensor

__all__ = [
    "Function",
    "GradcheckError",
    "Tensor",
    "as_tensor",
    "enable_grad",
    "gradcheck",
    "is_grad_enabled",
    "no_grad",
    "set_grad_enabled",
    "tensor",
]
