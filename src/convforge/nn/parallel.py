"""``nn.parallel``: DataParallel and data_parallel on the one device this release computes on.

torch splits a batch along ``dim`` over several GPUs, runs a replica on each and gathers
the outputs on ``output_device``. convforge computes on the CPU only, where torch's own
DataParallel keeps no devices (``device_ids == []``) and calls the wrapped module directly:
so does this one, and the wrapper still adds torch's ``module.`` prefix to the state dict
keys, so checkpoints saved from a wrapped model load here and the other way round.
``data_parallel`` runs the module on the CPU too (torch's raises "device type could not be
determined" without a GPU).
"""

from __future__ import annotations

from typing import Any

from ..device import Device, device
from .module import Module

__all__ = ["DataParallel", "data_parallel"]


def _check_devices(op: str, device_ids, output_device) -> None:
    """Device ids must be valid spellings (ints, 'cuda:0', devices); none is used on the CPU."""
    for value in list(device_ids or []) + ([] if output_device is None else [output_device]):
        if isinstance(value, bool) or not isinstance(value, (int, str, Device)):
            raise TypeError(f"{op}: device ids must be ints or devices, but got {value!r}")
        if isinstance(value, int) and value < 0:
            raise ValueError(f"{op}: device ids must be non-negative, but got {value}")
        if isinstance(value, str):
            device(value, op=op)


class DataParallel(Module):
    """Wraps ``module``; ``forward`` calls it on the CPU (no replicas: there is one device).

    Parameters
    ----------
    module : Module
        The module to run; its state dict keys get the prefix ``module.``, as torch's.
    device_ids, output_device, dim
        torch's arguments, checked and accepted; ``device_ids`` is ``[]`` as on a
        CPU-only torch.

    Shape: as ``module``.
    """

    def __init__(self, module: Module, device_ids=None, output_device=None, dim: int = 0) -> None:
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DataParallel: module must be a Module, but got {type(module).__name__}")
        _check_devices("DataParallel", device_ids, output_device)
        self.module = module
        self.device_ids: list = []
        self.dim = dim

    def forward(self, *inputs, **kwargs) -> Any:
        return self.module(*inputs, **kwargs)


def data_parallel(
    module: Module, inputs, device_ids=None, output_device=None, dim: int = 0, module_kwargs=None
):
    """Evaluate ``module(*inputs, **module_kwargs)`` (one device: no scatter and gather).

    ``inputs`` may be one input or a tuple of inputs, as torch's.
    """
    if not isinstance(module, Module):
        raise TypeError(f"data_parallel: module must be a Module, but got {type(module).__name__}")
    _check_devices("data_parallel", device_ids, output_device)
    if not isinstance(inputs, tuple):
        inputs = (inputs,) if inputs is not None else ()
    return module(*inputs, **(module_kwargs or {}))
