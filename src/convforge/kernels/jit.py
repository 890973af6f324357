"""Lazy Numba compilation for the compiled kernels (Winograd transforms, depthwise).

Importing convforge must not import Numba or compile anything: :func:`jit` returns a
wrapper that imports Numba and compiles the function (``cache=True``, so later processes
load the machine code from ``__pycache__``) on its first call. Kernels write their
parallel loops with ``prange``, a module global of theirs that is the builtin ``range``
until compilation swaps in ``numba.prange``.

Numba is a dependency, but the library still works without it: :func:`available` is
``False`` then, the compiled algorithms' ``supports()`` says no, and the selector falls
back to the NumPy/BLAS algorithms.

Threading layer: before the first compilation, :func:`configure_threading` selects Numba's
TBB layer when the ``tbb`` package is installed (unless ``NUMBA_THREADING_LAYER`` says
otherwise). Measured on the 2-core machine: under the default OpenMP layer the workers spin
after a parallel region (8 ms of CPU in the next 50 ms idle) and slow the next OpenBLAS GEMM
1.6-2.4x; on a busy machine a 0.2 ms region took 8-28 ms, because OpenMP waits for every
thread of its gang to be scheduled. ``workqueue`` does not spin but aborts the process when
two Python threads run a parallel kernel at once. TBB is thread-safe, leaves no spinning
worker (~1 ms of CPU after a region) and steals work, so a descheduled worker costs nothing:
the same region took 0.3 ms under that load.
"""

from __future__ import annotations

import ctypes
import functools
import importlib.metadata
import importlib.util
import os
import sys
import threading

_TBB_NAMES = {"linux": "libtbb.so.12", "darwin": "libtbb.12.dylib", "win32": "tbb12.dll"}
_configured: list[str | None] = []
_lock = threading.Lock()


@functools.cache
def available() -> bool:
    """Whether Numba can be imported (checked without importing it)."""
    return importlib.util.find_spec("numba") is not None


def _tbb_importable() -> bool:
    """Whether Numba's TBB layer loads, preloading the ``tbb`` wheel's library if needed.

    pip puts ``libtbb`` in ``<prefix>/lib``, where Numba's extension does not look; loading it
    by path first (``RTLD_GLOBAL``) lets the extension find it by its soname.
    """
    try:
        import numba.np.ufunc.tbbpool  # noqa: F401

        return True
    except ImportError:
        pass
    name = _TBB_NAMES.get(sys.platform)
    try:
        files = importlib.metadata.files("tbb") or []
    except importlib.metadata.PackageNotFoundError:
        return False
    for file in files:
        if name is not None and file.name == name:
            try:
                ctypes.CDLL(str(file.locate()), mode=getattr(ctypes, "RTLD_GLOBAL", 0))
                import numba.np.ufunc.tbbpool  # noqa: F401, F811

                return True
            except (OSError, ImportError):
                return False
    return False


def configure_threading() -> str | None:
    """Choose Numba's threading layer once, before any parallel kernel is compiled or run.

    Returns the layer asked for: ``'tbb'`` when it loads, ``None`` when Numba's own choice
    stands (``NUMBA_THREADING_LAYER`` set by the user, or no TBB: then Numba's default,
    OpenMP here, which is thread-safe but spins). Idempotent and thread-safe.
    """
    with _lock:
        if not _configured:
            import numba

            choice = None
            if "NUMBA_THREADING_LAYER" not in os.environ and _tbb_importable():
                numba.config.THREADING_LAYER = choice = "tbb"
            _configured.append(choice)
        return _configured[0]


class _Lazy:
    """A function compiled by Numba on its first call."""

    def __init__(self, function, parallel: bool, fastmath) -> None:
        self.python_function = function
        self.parallel = parallel
        self.fastmath = fastmath
        self._compiled = None
        functools.update_wrapper(self, function)

    def compiled(self):
        if self._compiled is None:
            configure_threading()
            import numba

            namespace = self.python_function.__globals__
            if "prange" in namespace:
                namespace["prange"] = numba.prange
            for name in self.python_function.__code__.co_names:  # helpers it calls
                if isinstance(namespace.get(name), _Lazy):
                    namespace[name] = namespace[name].compiled()
            compile_ = numba.njit(cache=True, parallel=self.parallel, nogil=True, fastmath=self.fastmath)
            self._compiled = compile_(self.python_function)
        return self._compiled

    def __call__(self, *args):
        return self.compiled()(*args)


def jit(parallel: bool = False, fastmath=False):
    """Decorator: compile lazily with Numba (``parallel`` enables ``prange``; ``fastmath`` as
    Numba's, e.g. ``{'reassoc'}`` to let a dot product be summed in vector lanes)."""

    def wrap(function):
        return _Lazy(function, parallel, fastmath)

    return wrap
