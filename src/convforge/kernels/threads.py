"""BLAS threads for small products: run them on the calling thread.

OpenBLAS splits every GEMM above about 262,144 multiply-adds across all its threads. For
the products of a small model (LeNet's ``Linear`` layers: 64x400 @ 400x120, 3 million
multiply-adds, ~0.1 ms) the hand-off costs more than the second core gives, and after it
the idle worker spins for ~0.1 s (measured: 20-50 ms of CPU in the next 50 ms idle), taking
a core from the next kernel and from the user's other code. On the 2-core machine, under
load, the 64x400 @ 400x120 product took 104-147 us on one thread and 217-477 us on two; a
LeNet-5 epoch took 3.6 s with two BLAS threads and 1.07 s with one.

:func:`matmul` runs a product below :data:`SMALL_PRODUCT` multiply-adds with one BLAS
thread and restores the previous count after it; larger products keep every thread. The
count is set through threadpoolctl (NumPy's and SciPy's OpenBLAS are two libraries, each
with its own pool); without threadpoolctl products run as BLAS decides. Changing the count
is process-wide, so a large product running at the same moment on another Python thread may
run on one thread too. That changes its speed, and its last bits: OpenBLAS's result for a
given shape depends on its thread count (measured: 64x400x120 to 1000^3 products all differed
between one and two threads, at float32 round-off). A small product here always runs on one
thread, so its result does not depend on the machine's thread count.
"""

from __future__ import annotations

import contextlib
import functools
import math
import threading

import numpy as np

SMALL_PRODUCT = 1 << 22  # multiply-adds: below this a product runs on one BLAS thread

_lock = threading.Lock()
_depth = [0]  # nested or concurrent one-thread sections: restore when the last one ends
_saved: list[int] = []


@functools.cache
def _controllers() -> tuple:
    """threadpoolctl's controllers of the loaded BLAS libraries (loads SciPy's BLAS first)."""
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return ()
    import scipy.linalg  # noqa: F401  (its OpenBLAS is a second library with its own threads)

    controller = ThreadpoolController()
    return tuple(c for c in controller.lib_controllers if c.user_api == "blas")


@contextlib.contextmanager
def one_blas_thread():
    """Run the block with one BLAS thread; the previous counts come back when the last
    (nested or concurrent) block ends."""
    controllers = _controllers()
    if not controllers:
        yield
        return
    with _lock:
        if _depth[0] == 0:
            _saved[:] = [c.num_threads for c in controllers]
            for c in controllers:
                c.set_num_threads(1)
        _depth[0] += 1
    try:
        yield
    finally:
        with _lock:
            _depth[0] -= 1
            if _depth[0] == 0:
                for c, n in zip(controllers, _saved):
                    c.set_num_threads(n)


def product_size(a_shape: tuple[int, ...], b_shape: tuple[int, ...]) -> int:
    """Multiply-adds of ``a @ b`` (NumPy's matmul broadcasting over leading axes)."""
    if len(a_shape) < 2 or len(b_shape) < 2:
        return math.prod(a_shape) * (b_shape[-1] if len(b_shape) >= 2 else 1)
    batch = np.broadcast_shapes(a_shape[:-2], b_shape[:-2])
    return math.prod(batch) * a_shape[-2] * a_shape[-1] * b_shape[-1]


def matmul(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``np.matmul(a, b)``, on one BLAS thread when the product is small.

    Shape: as ``np.matmul``.
    """
    if product_size(a.shape, b.shape) < SMALL_PRODUCT:
        with one_blas_thread():
            return np.matmul(a, b, out=out)
    return np.matmul(a, b, out=out)
