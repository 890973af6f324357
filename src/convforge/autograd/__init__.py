"""Reverse-mode automatic differentiation: Tensor, Function, no_grad, gradcheck."""

from .function import (
    Function,
    enable_grad,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)
from .gradcheck import GradcheckError, gradcheck
from .gradients import backward, grad
from .tensor import Tensor, Variable, as_tensor, from_numpy, tensor

__all__ = [
    "Function",
    "GradcheckError",
    "Tensor",
    "Variable",
    "as_tensor",
    "backward",
    "enable_grad",
    "from_numpy",
    "grad",
    "gradcheck",
    "inference_mode",
    "is_grad_enabled",
    "is_inference_mode_enabled",
    "no_grad",
    "set_grad_enabled",
    "tensor",
]
