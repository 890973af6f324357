"""``torch.cuda`` as it answers on a machine without a usable GPU (``cf.cuda``).

PyTorch scripts probe the GPU before they pick a device::

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.cuda.manual_seed_all(0)

convforge computes on the CPU, so these answer exactly as a CPU-only torch build does: the
queries say "no GPU" (``False``, ``0``), the seeding and cache calls do nothing, and only the
calls that need a GPU to exist (``current_device``, ``synchronize``, ...) raise
:class:`~convforge.device.DeviceUnavailableError` (a ``RuntimeError``) with a message that
says so. The one place that decides whether CUDA can be used stays
:func:`convforge.device.check_available`.
"""

from __future__ import annotations

from .device import DeviceUnavailableError, cuda_is_available
from .random import _check_seed

__all__ = [
    "current_device",
    "device_count",
    "empty_cache",
    "get_device_capability",
    "get_device_name",
    "get_device_properties",
    "ipc_collect",
    "is_available",
    "is_bf16_supported",
    "is_initialized",
    "manual_seed",
    "manual_seed_all",
    "max_memory_allocated",
    "max_memory_reserved",
    "memory_allocated",
    "memory_reserved",
    "reset_peak_memory_stats",
    "seed",
    "seed_all",
    "set_device",
    "synchronize",
]


def is_available() -> bool:
    """Whether a CUDA GPU can be used: never in this release (``torch.cuda.is_available``)."""
    return cuda_is_available()


def device_count() -> int:
    """Number of usable CUDA GPUs: 0."""
    return 0


def is_initialized() -> bool:
    """Whether CUDA has been initialized: never."""
    return False


def is_bf16_supported(including_emulation: bool = True) -> bool:
    """Whether bfloat16 is supported on the current GPU: there is none, so False."""
    return False


def manual_seed(seed: int) -> None:
    """Seed the current GPU's generator: with no GPU, nothing to seed (as torch, lazily)."""
    _check_seed(seed, "cuda.manual_seed")


def manual_seed_all(seed: int) -> None:
    """Seed every GPU's generator: with no GPU, nothing to seed."""
    _check_seed(seed, "cuda.manual_seed_all")


def seed() -> None:
    """Seed the current GPU's generator from entropy: nothing to do without a GPU."""


def seed_all() -> None:
    """Seed every GPU's generator from entropy: nothing to do without a GPU."""


def empty_cache() -> None:
    """Release cached GPU memory: there is none."""


def memory_allocated(device=None) -> int:
    """Bytes of GPU memory held by tensors: 0."""
    return 0


def max_memory_allocated(device=None) -> int:
    """Peak bytes of GPU memory held by tensors: 0."""
    return 0


def memory_reserved(device=None) -> int:
    """Bytes of GPU memory held by the caching allocator: 0."""
    return 0


def max_memory_reserved(device=None) -> int:
    """Peak bytes of GPU memory held by the caching allocator: 0."""
    return 0


def reset_peak_memory_stats(device=None) -> None:
    """Reset the peak memory counters: they stay 0."""


def _no_gpu(op: str) -> DeviceUnavailableError:
    return DeviceUnavailableError(
        f"{op}: no CUDA device is available: this convforge release computes on the CPU only "
        "(check cuda.is_available() first, as on a CPU-only PyTorch build)"
    )


def current_device() -> int:
    """Index of the current GPU; raises: there is none."""
    raise _no_gpu("cuda.current_device")


def set_device(device) -> None:
    """Select a GPU; raises: there is none."""
    raise _no_gpu("cuda.set_device")


def synchronize(device=None) -> None:
    """Wait for the GPU's queued work; raises: there is none."""
    raise _no_gpu("cuda.synchronize")


def get_device_name(device=None) -> str:
    """Name of a GPU; raises: there is none."""
    raise _no_gpu("cuda.get_device_name")


def get_device_capability(device=None) -> tuple[int, int]:
    """Compute capability of a GPU; raises: there is none."""
    raise _no_gpu("cuda.get_device_capability")


def get_device_properties(device=None):
    """Properties of a GPU; raises: there is none."""
    raise _no_gpu("cuda.get_device_properties")


def ipc_collect() -> None:
    """Free CUDA IPC memory; raises: there is no GPU."""
    raise _no_gpu("cuda.ipc_collect")
