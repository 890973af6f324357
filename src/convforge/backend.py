"""The array namespace, dtype policy, workspace and thread settings.

Everything in ``kernels/`` gets its arrays from here, so a second namespace (CuPy) can be
plugged in without touching the layers above.
"""

from __future__ import annotations

import os

import numpy as np

xp = np

DEFAULT_DTYPE = np.float32

_MIB = 1 << 20


class _Backends:
    """Run-time knobs, as ``cf.backends``.

    ``workspace_limit``: bytes a kernel may allocate for temporaries (im2col columns,
    transformed tiles); larger problems are processed in batch chunks. At least one sample
    is always processed at a time, so a single huge sample may exceed it.
    """

    def __init__(self) -> None:
        self.workspace_limit = 256 * _MIB

    def __repr__(self) -> str:
        return f"backends(workspace_limit={self.workspace_limit})"


backends = _Backends()


def batch_chunk(batch: int, bytes_per_sample: int) -> int:
    """How many samples fit the workspace limit at once (at least one)."""
    if bytes_per_sample <= 0:
        return max(batch, 1)
    return max(1, min(batch, backends.workspace_limit // bytes_per_sample))


def set_num_threads(n: int) -> None:
    """Set the threads used by BLAS (if threadpoolctl is present) and Numba."""
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"set_num_threads: n must be a positive int, but got n={n!r}")
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
