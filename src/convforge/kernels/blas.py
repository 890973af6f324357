"""Raw BLAS ``?gemm`` on strided views, with ``beta`` (accumulate in place).

NumPy's ``matmul`` always overwrites its output; shift-and-accumulate convolution needs
``C += A @ B`` on matrices that are offset views into a larger buffer (a leading dimension
larger than the row length). :func:`gemm` calls BLAS through ``ctypes`` with byte offsets
instead of array views (no view objects, no copies), on row-major operands described by
(buffer, element offset, row stride).

**Which BLAS.** NumPy's own OpenBLAS when it is the ``scipy-openblas64`` build that NumPy's
wheels bundle (its CBLAS ``cblas_?gemm``, 64-bit integers, row-major): then ``np.matmul`` and
these calls share one library and one pool of threads. SciPy's ``cython_blas`` is a second
OpenBLAS with its own threads; alternating between the two pools made each product wait for
the other pool's idle workers to stop spinning (measured on 2 cores, 36 products of
(1568, 64) @ (64, 64): 2.4 ms each library alone, 3.5-4.0 ms alternating). SciPy's Fortran
``?gemm`` is the fallback (a row-major product ``C = A @ B`` is the column-major call
``C^T = B^T @ A^T`` there).
"""

from __future__ import annotations

import ctypes
import glob
import os

import numpy as np

_c_int = ctypes.c_int
_ptr = ctypes.c_void_p


def _load_scipy(name: str, real):
    """SciPy's Fortran ``?gemm`` from ``cython_blas``, as ``(function, real type, 'fortran')``."""
    from scipy.linalg import cython_blas

    capsule = cython_blas.__pyx_capi__[name]
    get_name = ctypes.pythonapi.PyCapsule_GetName
    get_name.restype, get_name.argtypes = ctypes.c_char_p, [ctypes.py_object]
    get_pointer = ctypes.pythonapi.PyCapsule_GetPointer
    get_pointer.restype, get_pointer.argtypes = ctypes.c_void_p, [ctypes.py_object, ctypes.c_char_p]
    address = get_pointer(capsule, get_name(capsule))
    # void gemm(char *transa, char *transb, int *m, int *n, int *k, real *alpha, real *a,
    #           int *lda, real *b, int *ldb, real *beta, real *c, int *ldc)
    prototype = ctypes.CFUNCTYPE(None, ctypes.c_char_p, ctypes.c_char_p, *([_ptr] * 11))
    return prototype(address), real, "fortran"


def _numpy_openblas():
    """The ``scipy-openblas64`` library NumPy's wheels bundle (already loaded), or None."""
    folder = os.path.join(os.path.dirname(np.__file__), os.pardir, "numpy.libs")
    for path in sorted(glob.glob(os.path.join(folder, "libscipy_openblas64_*"))):
        try:
            return ctypes.CDLL(path)
        except OSError:
            continue
    return None


# CBLAS enums (cblas.h)
_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112


def _load_numpy(name: str, real):
    """NumPy's CBLAS ``cblas_?gemm`` (64-bit integers), as ``(function, real, 'cblas')``."""
    library = _numpy_openblas()
    function = getattr(library, f"scipy_cblas_{name}64_", None) if library is not None else None
    if function is None:
        return None
    i64, enum = ctypes.c_int64, ctypes.c_int
    # cblas_?gemm(order, transa, transb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
    function.restype = None
    function.argtypes = [enum, enum, enum, i64, i64, i64, real, _ptr, i64, _ptr, i64, real, _ptr, i64]
    return function, real, "cblas"


_GEMM: dict = {}


def _gemm_for(dtype: np.dtype):
    key = np.dtype(dtype).char
    if key not in _GEMM:
        if key not in "fd":
            raise TypeError(f"gemm: only float32 and float64 are supported, got {dtype}")
        name, real = ("sgemm", ctypes.c_float) if key == "f" else ("dgemm", ctypes.c_double)
        _GEMM[key] = _load_numpy(name, real) or _load_scipy(name, real)
    return _GEMM[key]


def library() -> str:
    """Which BLAS :func:`gemm` calls: ``'numpy'`` (NumPy's OpenBLAS) or ``'scipy'``."""
    return "numpy" if _gemm_for(np.float32)[2] == "cblas" else "scipy"


def supports_dtype(dtype) -> bool:
    return np.dtype(dtype).char in "fd"


def gemm(
    m: int,
    n: int,
    k: int,
    a: np.ndarray,
    a_offset: int,
    lda: int,
    b: np.ndarray,
    b_offset: int,
    ldb: int,
    c: np.ndarray,
    c_offset: int,
    ldc: int,
    *,
    beta: float = 0.0,
    trans_a: bool = False,
    trans_b: bool = False,
) -> None:
    """``C = A @ B + beta * C`` on row-major matrices inside flat buffers.

    ``A`` is the ``(m, k)`` matrix whose row ``i`` starts at element ``a_offset + i*lda`` of
    ``a`` (C-contiguous); with ``trans_a`` the stored matrix is ``(k, m)`` and is used
    transposed. Likewise ``B`` ``(k, n)`` and ``C`` ``(m, n)``. The caller guarantees that
    every element lies inside its buffer; nothing is checked here (this is the hot loop).
    """
    if m == 0 or n == 0:
        return
    func, real, kind = _gemm_for(c.dtype)
    size = c.itemsize
    a_ptr = _ptr(a.ctypes.data + a_offset * size)
    b_ptr = _ptr(b.ctypes.data + b_offset * size)
    c_ptr = _ptr(c.ctypes.data + c_offset * size)
    if kind == "cblas":  # row-major as it lies
        func(
            _ROW_MAJOR, _TRANS if trans_a else _NO_TRANS, _TRANS if trans_b else _NO_TRANS,
            m, n, k, 1.0, a_ptr, lda, b_ptr, ldb, beta, c_ptr, ldc,
        )  # fmt: skip
        return
    # column-major: C^T (n, m) = op(B)^T (n, k) @ op(A)^T (k, m)
    func(
        b"T" if trans_b else b"N",
        b"T" if trans_a else b"N",
        ctypes.byref(_c_int(n)),
        ctypes.byref(_c_int(m)),
        ctypes.byref(_c_int(k)),
        ctypes.byref(real(1.0)),
        b_ptr,
        ctypes.byref(_c_int(ldb)),
        a_ptr,
        ctypes.byref(_c_int(lda)),
        ctypes.byref(real(beta)),
        c_ptr,
        ctypes.byref(_c_int(ldc)),
    )
