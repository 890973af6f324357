"""convforge: convolution, exact and fast, with a PyTorch-compatible API on NumPy.

import convforge as cf
import convforge.nn.functional as F

x = cf.tensor(image, requires_grad=True)
y = F.conv2d(x, weight, stride=2, padding="same")
y.sum().backward()
"""

from __future__ import annotations

import numpy as _np

from . import data, functional, io, optim, spec
from .autograd import Function, Tensor, as_tensor, enable_grad, gradcheck, no_grad, tensor
from .backend import backends, set_num_threads

__version__ = "0.1.0"

float16 = _np.float16
float32 = _np.float32
float64 = _np.float64
int64 = _np.int64

__all__ = [
    "Function",
    "Tensor",
    "as_tensor",
    "backends",
    "data",
    "enable_grad",
    "float16",
    "float32",
    "float64",
    "functional",
    "gradcheck",
    "int64",
    "io",
    "no_grad",
    "optim",
    "set_num_threads",
    "spec",
    "tensor",
]
