"""``torch.accelerator`` as it answers on a machine without one (``cf.accelerator``).

PyTorch 2.6+ scripts write ``device = torch.accelerator.current_accelerator() or "cpu"``.
convforge computes on the CPU, so there is no accelerator: the queries answer ``False``,
``None`` and ``0`` as a CPU-only torch build does, and the calls that need one raise
:class:`~convforge.device.DeviceUnavailableError` (a ``RuntimeError``, as torch's).
"""

from __future__ import annotations

from .device import Device, DeviceUnavailableError

__all__ = [
    "current_accelerator",
    "current_device_index",
    "device_count",
    "empty_cache",
    "is_available",
    "memory_allocated",
    "set_device_index",
    "synchronize",
]


def is_available() -> bool:
    """Whether an accelerator can be used: never in this release."""
    return False


def current_accelerator(check_available: bool = False) -> Device | None:
    """The accelerator device, or None when there is none (always None here)."""
    return None


def device_count() -> int:
    """Number of accelerator devices: 0."""
    return 0


def _none(op: str) -> DeviceUnavailableError:
    return DeviceUnavailableError(
        f"{op}: cannot access an accelerator device when none is available "
        "(this convforge release computes on the CPU only)"
    )


def current_device_index() -> int:
    """Index of the current accelerator; raises: there is none."""
    raise _none("accelerator.current_device_index")


def set_device_index(device) -> None:
    """Select an accelerator; raises: there is none."""
    raise _none("accelerator.set_device_index")


def synchronize(device=None) -> None:
    """Wait for queued accelerator work; raises: there is none."""
    raise _none("accelerator.synchronize")


def empty_cache() -> None:
    """Release cached accelerator memory; raises: there is none."""
    raise _none("accelerator.empty_cache")


def memory_allocated(device_index=None) -> int:
    """Bytes held on the accelerator; raises: there is none."""
    raise _none("accelerator.memory_allocated")
