"""Lazy Numba compilation for the compiled kernels (Winograd transforms, depthwise).

Importing convforge must not import Numba or compile anything: :func:`jit` returns a
wrapper that imports Numba and compiles the function (``cache=True``, so later processes
load the machine code from ``__pycache__``) on its first call. Kernels write their
parallel loops with ``prange``, a module global of theirs that is the builtin ``range``
until compilation swaps in ``numba.prange``.

Numba is a dependency, but the library still works without it: :func:`available` is
``False`` then, the compiled algorithms' ``supports()`` says no, and the selector falls
back to the NumPy/BLAS algorithms.
"""

from __future__ import annotations

import functools
import importlib.util


@functools.cache
def available() -> bool:
    """Whether Numba can be imported (checked without importing it)."""
    return importlib.util.find_spec("numba") is not None


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
