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
count is set on the BLAS NumPy calls (found through threadpoolctl; SciPy's OpenBLAS is a
second library with its own pool, which matmul never uses); without threadpoolctl products
run as BLAS decides. Changing the count
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


def _functions(controller) -> tuple:
    """(get, set) thread-count functions of one BLAS library.

    For OpenBLAS on its own pthreads the library's C functions themselves (a ctypes call,
    well under a microsecond; threadpoolctl's ``set_num_threads`` costs several and acts only
    from the first Python thread that used it); threadpoolctl's methods otherwise.
    """
    symbol = getattr(controller, "_get_symbol", None)
    pthreads = getattr(controller, "threading_layer", None) == "pthreads"
    if controller.internal_api == "openblas" and symbol is not None and pthreads:
        get, set_ = symbol("openblas_get_num_threads"), symbol("openblas_set_num_threads")
        if get is not None and set_ is not None:
            return get, set_
    return controller.get_num_threads, controller.set_num_threads


@functools.cache
def _controllers() -> tuple:
    """(get, set) pairs of the BLAS that ``np.matmul`` calls: NumPy's own (the wheels bundle
    one; SciPy's is a second library that matmul never uses), else every BLAS loaded."""
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return ()
    blas = [c for c in ThreadpoolController().lib_controllers if c.user_api == "blas"]
    numpy_own = [c for c in blas if "numpy" in str(c.filepath)]
    return tuple(_functions(c) for c in (numpy_own or blas))


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
            _saved[:] = [get() for get, _ in controllers]
            for _, set_ in controllers:
                set_(1)
        _depth[0] += 1
    try:
        yield
    finally:
        with _lock:
            _depth[0] -= 1
            if _depth[0] == 0:
                for (_, set_), n in zip(controllers, _saved):
                    set_(n)


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
