"""convforge: convolution, exact and fast, with a PyTorch-compatible API on NumPy.

import convforge as cf
import convforge.nn.functional as F

x = cf.tensor(image, requires_grad=True)
y = F.conv2d(x, weight, stride=2, padding="same")
y.sum().backward()
"""

from __future__ import annotations

import numpy as _np

from . import accelerator, cuda, data, functional, io, nn, optim, spec, utils, vision
from .autograd import Function, Tensor, as_tensor, enable_grad, gradcheck, no_grad, tensor
from .autograd.routines import (
    arange,
    cat,
    concat,
    full,
    full_like,
    maximum,
    minimum,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randn,
    randn_like,
    stack,
    where,
    zeros,
    zeros_like,
)
from .backend import backends, set_num_threads
from .device import Device, DeviceUnavailableError, cuda_is_available, device
from .random import Generator, initial_seed, manual_seed, seed

# isort: split
# the tool layers import the names above from convforge itself, so they come last
from . import analysis, models, onnx, viz
from .io import load, save

__version__ = "0.1.0"

float16 = _np.float16
float32 = _np.float32
float64 = _np.float64
int64 = _np.int64

__all__ = [
    "Device",
    "DeviceUnavailableError",
    "Function",
    "Generator",
    "Tensor",
    "accelerator",
    "arange",
    "as_tensor",
    "backends",
    "cat",
    "concat",
    "cuda",
    "cuda_is_available",
    "analysis",
    "data",
    "device",
    "enable_grad",
    "float16",
    "float32",
    "float64",
    "full",
    "full_like",
    "functional",
    "gradcheck",
    "initial_seed",
    "int64",
    "io",
    "load",
    "manual_seed",
    "maximum",
    "minimum",
    "models",
    "nn",
    "onnx",
    "no_grad",
    "optim",
    "viz",
    "ones",
    "ones_like",
    "rand",
    "rand_like",
    "randint",
    "randn",
    "randn_like",
    "save",
    "set_num_threads",
    "seed",
    "spec",
    "stack",
    "tensor",
    "utils",
    "vision",
    "where",
    "zeros",
    "zeros_like",
]


def __getattr__(name: str):
    # cf.dask loads Dask only when asked for: ``import convforge`` must stay light
    if name == "dask":
        import importlib

        return importlib.import_module(".dask", __name__)
    raise AttributeError(f"module 'convforge' has no attribute {name!r}")
