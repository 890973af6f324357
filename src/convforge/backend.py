"""The array namespace, dtype policy, workspace and thread settings.

Everything in ``kernels/`` gets its arrays from here, so a second namespace (CuPy) can be
plugged in without touching the layers above.
"""

from __future__ import annotations

import os

import numpy as np

from .backend_flags import CudaFlags, CudnnFlags, MpsFlags

xp = np

DEFAULT_DTYPE = np.float32

_MIB = 1 << 20


class _Backends:
    """Run-time knobs, as ``cf.backends``.

    ``workspace_limit``: bytes a kernel may allocate for temporaries (im2col columns,
    transformed tiles); larger problems are processed in batch chunks. At least one sample
    is always processed at a time, so a single huge sample may exceed it.

    ``autotune``: when True, ``algorithm='auto'`` times the candidate algorithms once per
    convolution geometry (each direction: forward, grad input, grad weight) and caches the
    fastest (``kernels/select.py``). ``autotune_file``: a JSON file the cache is read from
    and written to, so the timings survive the process (None: in memory only).
    """

    def __init__(self) -> None:
        self.workspace_limit = 256 * _MIB
        self.autotune = False
        self.autotune_file: str | None = None
        # torch.backends' GPU flags, which scripts set; they change nothing on the CPU
        self.cudnn = CudnnFlags()
        self.cuda = CudaFlags()
        self.mps = MpsFlags()

    def __repr__(self) -> str:
        return (
            f"backends(workspace_limit={self.workspace_limit}, autotune={self.autotune}, "
            f"autotune_file={self.autotune_file!r})"
        )


backends = _Backends()


def batch_chunk(batch: int, bytes_per_sample: int) -> int:
    """How many samples fit the workspace limit at once (at least one)."""
    if bytes_per_sample <= 0:
        return max(batch, 1)
    return max(1, min(batch, backends.workspace_limit // bytes_per_sample))


_num_threads: int | None = None


def get_num_threads() -> int:
    """Threads the kernels use (``set_num_threads``; default: every CPU)."""
    return _num_threads or os.cpu_count() or 1


def set_num_threads(n: int) -> None:
    """Set the threads used by BLAS (if threadpoolctl is present), Numba and scipy.fft."""
    global _num_threads
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"set_num_threads: n must be a positive int, but got n={n!r}")
    _num_threads = n
    os.environ["OMP_NUM_THREADS"] = str(n)
    try:  # optional: threadpoolctl ships with scikit-learn and scipy's test deps
        from threadpoolctl import threadpool_limits

        threadpool_limits(n)
    except ImportError:
        pass
    try:
        import numba

        numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))
    except ImportError:
        pass
