"""Devices: where a tensor's data lives, spelled as in torch (``'cpu'``, ``'cuda'``, ``'cuda:1'``).

Code written for torch passes ``device=`` around; convforge accepts the same spellings, so
that code runs unchanged on the CPU. :func:`check_available` is the one place that decides
whether a device can be used: everything that takes ``device=`` (``cf.tensor``,
``Tensor.to``, ``Module.to``, ``convforge train --device``) calls it before touching data.
This release computes on the CPU (NumPy) only; a CUDA device is a valid name that is refused
with a clear :class:`DeviceUnavailableError`.
"""

from __future__ import annotations

__all__ = [
    "Device",
    "DeviceUnavailableError",
    "check_available",
    "cuda_device",
    "cuda_is_available",
    "device",
    "parse_to_args",
]

TYPES = ("cpu", "cuda")


class DeviceUnavailableError(RuntimeError):
    """A valid device that this installation or machine cannot compute on."""


class Device:
    """A device type and optional index, as ``torch.device``; compares equal to its string."""

    __slots__ = ("type", "index")

    def __init__(self, type: str, index: int | None = None) -> None:  # noqa: A002 - torch's name
        self.type = type
        self.index = index

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self) -> str:
        index = "" if self.index is None else f", index={self.index}"
        return f"device(type={self.type!r}{index})"

    def __eq__(self, other) -> bool:
        if isinstance(other, str):
            try:
                other = device(other)
            except ValueError:
                return False
        if not isinstance(other, Device):
            return NotImplemented
        return (self.type, self.index) == (other.type, other.index)

    def __hash__(self) -> int:
        return hash((self.type, self.index))


CPU = Device("cpu")


def device(spec, index: int | None = None, op: str = "device") -> Device:
    """Parse ``spec`` (a Device, ``'cpu'``, ``'cuda'``, ``'cuda:N'``) into a :class:`Device`."""
    if isinstance(spec, Device):
        if index is not None:
            raise ValueError(f"{op}: index must not be given with a Device, but got index={index!r}")
        return spec
    if not isinstance(spec, str):
        raise TypeError(
            f"{op}: device must be a string such as 'cpu' or 'cuda:0', or a Device, "
            f"but got {spec!r} of type {type(spec).__name__}"
        )
    kind, sep, number = spec.partition(":")
    if kind not in TYPES:
        raise ValueError(f"{op}: device type must be one of {', '.join(TYPES)}, but got device={spec!r}")
    if sep:
        if index is not None:
            raise ValueError(
                f"{op}: give the index in the string or as index=, not both: {spec!r}, {index!r}"
            )
        if not number.isdigit():
            raise ValueError(f"{op}: device index must be a non-negative integer, but got device={spec!r}")
        index = int(number)
    elif index is not None and (not isinstance(index, int) or isinstance(index, bool) or index < 0):
        raise ValueError(f"{op}: device index must be a non-negative integer, but got index={index!r}")
    if kind == "cpu" and index not in (None, 0):
        raise ValueError(f"{op}: the cpu device has only index 0, but got device={spec!r}, index={index!r}")
    return Device(kind, None if kind == "cpu" else index)


def cuda_device(index_or_device=None, op: str = "cuda") -> Device:
    """The device meant by ``.cuda(x)``: None -> 'cuda', an int -> 'cuda:N', else parsed."""
    if index_or_device is None:
        return Device("cuda")
    if isinstance(index_or_device, int) and not isinstance(index_or_device, bool):
        return device("cuda", index_or_device, op)
    dev = device(index_or_device, op=op)
    if dev.type != "cuda":
        raise ValueError(f"{op}: expected a CUDA device, but got device={index_or_device!r}")
    return dev


def cuda_is_available() -> bool:
    """Whether convforge can compute on a CUDA GPU (``torch.cuda.is_available``): not in this
    release, whatever the machine has."""
    return False


def check_available(spec, op: str = "device") -> Device:
    """The parsed device if convforge can compute on it; else a :class:`DeviceUnavailableError`.

    ``'cpu'`` always works. This release computes on the CPU only, so a CUDA device is refused
    with an error that says so, before any data is touched.
    """
    dev = device(spec, op=op)
    if dev.type != "cpu":
        raise DeviceUnavailableError(
            f"{op}: device={str(dev)!r} is not available: this convforge release computes on the CPU "
            "only (use device='cpu')"
        )
    return dev


def parse_to_args(op: str, args: tuple, dtype=None, device_=None):
    """Sort ``.to(...)``'s arguments as torch does: ``to(dtype)``, ``to(device)``,
    ``to(device, dtype)``, ``to(other)`` (another tensor's dtype and device), plus the
    ``dtype=``/``device=`` keywords. Returns ``(dtype or None, checked Device or None)``."""
    if len(args) > 2:
        raise TypeError(f"{op}: expected at most 2 positional arguments (device, dtype), but got {len(args)}")
    for arg in args:
        if isinstance(arg, (str, Device)):
            if device_ is not None:
                raise TypeError(f"{op}: device given twice: {device_!r} and {arg!r}")
            device_ = arg
        elif hasattr(arg, "dtype") and hasattr(arg, "device") and not isinstance(arg, type):
            dtype, device_ = arg.dtype, arg.device  # another tensor
        elif arg is not None:
            if dtype is not None:
                raise TypeError(f"{op}: dtype given twice: {dtype!r} and {arg!r}")
            dtype = arg
    return dtype, (None if device_ is None else check_available(device_, op))
