"""Dtype policy, workspace and thread settings: what every layer asks about the machine.

Arrays are NumPy arrays throughout (kernels use ``numpy``, ``scipy.fft`` and Numba on them
directly); there is no array-namespace indirection. How a second array library would come
in is described in ``docs/design.md``.

Dtype policy (one place, used by ``functional`` and ``kernels/select.py``):

* float32 (the default, :data:`DEFAULT_DTYPE`) and float64 compute in their own precision;
* float16 is stored in float16 and computed in float32, rounded once at the end, as
  PyTorch 2.13 computes float16 on the CPU (its kernels accumulate half in float); results
  and gradients come back as float16;
* ops PyTorch 2.13 refuses in float16 on the CPU (:data:`HALF_REFUSED`) raise a
  ``TypeError`` before any array work, so a kernel never sees an unsupported dtype.
"""

from __future__ import annotations

import os

import numpy as np

from .backend_flags import CudaFlags, CudnnFlags, MpsFlags

DEFAULT_DTYPE = np.float32

# operand dtype -> the dtype it is computed in
COMPUTE_DTYPES = {"float16": "float32", "float32": "float32", "float64": "float64"}
# ops torch 2.13 does not implement for float16 on the CPU ("avg_pool3d_out_frame" not implemented for 'Half')
HALF_REFUSED = ("avg_pool3d",)


def compute_dtype(dtype) -> np.dtype:
    """The dtype an operand of ``dtype`` is computed in (float16 -> float32; others unchanged)."""
    return np.dtype(COMPUTE_DTYPES.get(str(np.dtype(dtype)), np.dtype(dtype).name))


def check_computable(op: str, dtype) -> None:
    """Refuse, before any array work, an op torch does not compute in this dtype on the CPU."""
    if np.dtype(dtype) == np.float16 and op in HALF_REFUSED:
        raise TypeError(
            f"{op}: input must be float32 or float64, but got input of dtype float16 "
            "(PyTorch 2.13 does not compute it in float16 on the CPU either)"
        )


_MIB = 1 << 20


class _Backends:
    """Run-time knobs, as ``cf.backends``.

    ``workspace_limit``: bytes a kernel may allocate for temporaries (im2col columns,
    transformed tiles); larger problems are processed in batch chunks. At least one sample
    is always processed at a time, so a single huge sample may exceed it.

    ``autotune``: when True, ``algorithm='auto'`` times the candidate algorithms once per
    convolution geometry and dtype (each direction: forward, grad input, grad weight) and caches the
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

        from .kernels.jit import configure_threading  # before numba starts its threads (TBB)

        configure_threading()
        numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))
    except ImportError:
        pass
